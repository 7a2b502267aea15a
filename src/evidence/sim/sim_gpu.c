/*
 * sim_gpu.c - the simulated GPU's report as an evidence format ("sim-gpu").
 *
 * The simulated GPU answers like an NVIDIA GPU in confidential-computing
 * mode: an SPDM 1.1 GET_MEASUREMENTS transcript with the caller's nonce,
 * measurement blocks, NVIDIA-style opaque data (project "veil-sim") and an
 * ECDSA P-384 signature, read by the same strict parser as real reports
 * (nvidia/nv_spdm.c). Its certificate chain (GPU certificate, sim root)
 * travels as device collateral, as an NVIDIA chain does. What differs is
 * trust: the root must be one the caller named (sim_trust.h), there are no
 * RIMs, and every result says "insecure": true.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/nvidia/nv_report.h"
#include "evidence/nvidia/nv_verify.h"
#include "evidence/sim/sim_report.h"
#include "evidence/sim/sim_trust.h"
#include "veil/claims.h"
#include "veil/crypto.h"
#include "veil/evidence.h"
#include "veil/x509.h"

/* The parsed report, and what verify found (written through the pointer,
 * so verify can take the evidence const). */
typedef struct sim_gpu {
	nv_report *report;
	struct sim_gpu_found {
		bool root_found;
		uint8_t root_sha256[32];
	} * found;
} sim_gpu;

static void sim_gpu_free(void *ev)
{
	sim_gpu *g = ev;

	if (g == NULL)
		return;
	nv_report_free(g->report);
	free(g->found);
	free(g);
}

static bool sim_gpu_detect(const uint8_t *buf, size_t len)
{
	/* Shaped like an NVIDIA report on purpose: never guessed, always
	 * named (--tee sim-gpu, or the bundle's device type). */
	(void)buf;
	(void)len;
	return false;
}

static veil_err sim_gpu_parse(const uint8_t *buf, size_t len, void **out)
{
	sim_gpu *g = calloc(1, sizeof *g);
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(g != NULL, VEIL_E_NOMEM, "out of memory");
	g->found = calloc(1, sizeof *g->found);
	CHECK_THAT(g->found != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(nv_report_parse(buf, len, &g->report));
	CHECK_THAT(strcmp(g->report->project, SIM_GPU_PROJECT) == 0, VEIL_E_MALFORMED,
		   "not a simulated GPU report (project \"%s\", expected \"%s\")",
		   g->report->project, SIM_GPU_PROJECT);
	*out = g;
	g = NULL;
out:
	sim_gpu_free(g);
	return err;
}

static bool leaf_signed_report(X509 *leaf, const nv_report *r)
{
	EVP_PKEY *pub = X509_get0_pubkey(leaf);

	return pub != NULL &&
	       veil_ecdsa_verify_be(pub, EVP_sha384(), r->raw, r->signed_len, r->sig,
				    r->sig + NV_SIG_LEN / 2, NV_SIG_LEN / 2) == VEIL_OK;
}

/*
 * The chain is the collateral blob holding exactly two certificates whose
 * second is a trusted sim root and whose first signed the report. Blobs that
 * are not certificates (RIMs, other evidence's collateral) are skipped.
 */
static X509 *find_chain(const sim_gpu *g, const veil_verify_ctx *ctx, X509 **root_out,
			size_t *candidates)
{
	const veil_collateral *coll = ctx->collateral;

	*candidates = 0;
	for (size_t i = 0; coll != NULL && i < coll->count; i++) {
		STACK_OF(X509) *certs = NULL;
		uint8_t fp[32];

		if (veil_certs_parse(coll->blob[i].data, coll->blob[i].len, &certs) != VEIL_OK)
			continue;
		if (sk_X509_num(certs) == 2 &&
		    veil_cert_sha256(sk_X509_value(certs, 1), fp) == VEIL_OK &&
		    sim_root_trusted(ctx, fp)) {
			X509 *leaf = sk_X509_value(certs, 0), *root = sk_X509_value(certs, 1);
			(*candidates)++;
			if (leaf_signed_report(leaf, g->report)) {
				X509_up_ref(leaf);
				X509_up_ref(root);
				*root_out = root;
				sk_X509_pop_free(certs, X509_free);
				return leaf;
			}
		}
		sk_X509_pop_free(certs, X509_free);
	}
	return NULL;
}

static veil_err sim_gpu_verify(const void *ev, const veil_verify_ctx *ctx, void **cache,
			       veil_checks *checks)
{
	const sim_gpu *g = ev;
	X509 *leaf, *root = NULL;
	size_t candidates;

	(void)cache;
	veil_checks_add(checks, "report.parse", true, "simulated GPU, %zu measurement blocks",
			g->report->block_count);
	leaf = find_chain(g, ctx, &root, &candidates);
	if (leaf == NULL) {
		if (candidates == 0)
			veil_checks_add(checks, "sim.root", false,
					"no GPU certificate chain ending in a trusted sim root "
					"among the collateral%s",
					ctx->sim_root_count == 0 ? " (no sim root is trusted)"
								 : "");
		else
			veil_checks_add(checks, "report.signature", false,
					"none of %zu chains to a trusted sim root has the key "
					"that signed the report",
					candidates);
		return VEIL_E_VERIFY;
	}
	g->found->root_found = veil_cert_sha256(root, g->found->root_sha256) == VEIL_OK;
	if (g->found->root_found)
		(void)sim_root_check(ctx, g->found->root_sha256, checks);
	else
		veil_checks_add(checks, "sim.root", false, "cannot fingerprint the root");
	(void)sim_chain_check(ctx, leaf, root, "GPU", checks);
	veil_checks_add(checks, "report.signature", true,
			"ECDSA P-384/SHA-384 over [0x000, 0x%zX) by the GPU certificate's key",
			g->report->signed_len);
	X509_free(leaf);
	X509_free(root);
	return veil_checks_passed(checks) ? VEIL_OK : VEIL_E_VERIFY;
}

static veil_err sim_gpu_claims(const void *ev, json_t *claims)
{
	const sim_gpu *g = ev;

	TRY(veil_claim_bool(claims, "insecure", true));
	TRY(veil_claim_str(claims, "arch", "sim"));
	TRY(nv_report_claims_fields(g->report, claims));
	if (g->found->root_found)
		TRY(veil_claim_hex(claims, "sim_root", g->found->root_sha256, 32));
	return VEIL_OK;
}

static void sim_gpu_report_data(const void *ev, const uint8_t **p, size_t *len)
{
	const sim_gpu *g = ev;

	*p = g->report->nonce;
	*len = NV_NONCE_LEN;
}

static void sim_gpu_cache_free(void *cache)
{
	(void)cache;
}

const veil_evidence_format veil_sim_gpu_format = {
    .tee = VEIL_TEE_SIM_GPU,
    .name = "sim-gpu",
    .device = true,
    .detect = sim_gpu_detect,
    .parse = sim_gpu_parse,
    .verify = sim_gpu_verify,
    .claims = sim_gpu_claims,
    .report_data = sim_gpu_report_data,
    .free = sim_gpu_free,
    .cache_free = sim_gpu_cache_free,
};

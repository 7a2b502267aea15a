/*
 * sim_format.c - the simulated TEE as an evidence format ("sim").
 *
 * Verified genuinely, like hardware evidence: the root inside the report
 * must be one the caller trusts (sim_trust.h), the platform certificate must
 * chain to it at the verification time, the report's platform_id must name
 * that certificate's key, and the signature must verify. What it cannot
 * prove is that anything ran in protected memory, so every result carries
 * the claim "insecure": true and appraisal keeps it (docs/evidence-sim.md).
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/sim/sim_report.h"
#include "evidence/sim/sim_trust.h"
#include "evidence/snp/snp_report.h"
#include "veil/claims.h"
#include "veil/crypto.h"
#include "veil/evidence.h"
#include "veil/x509.h"

static veil_err sim_format_parse(const uint8_t *buf, size_t len, void **out)
{
	sim_report *r = NULL;

	TRY(sim_report_parse(buf, len, &r));
	*out = r;
	return VEIL_OK;
}

static void check_signature(const sim_report *r, X509 *platform, veil_checks *checks)
{
	EVP_PKEY *pub = X509_get0_pubkey(platform);
	veil_err err = VEIL_E_VERIFY;

	if (pub != NULL)
		err = veil_ecdsa_verify_be(pub, EVP_sha384(), r->raw, r->signed_len, r->sig,
					   r->sig + SIM_SIG_LEN / 2, SIM_SIG_LEN / 2);
	veil_checks_add(checks, "report.signature", err == VEIL_OK,
			"ECDSA P-384/SHA-384 over [0x000, 0x%zX) by the platform key%s%s",
			r->signed_len, err == VEIL_OK ? "" : ": ",
			err == VEIL_OK ? "" : veil_err_detail());
}

static veil_err sim_format_verify(const void *ev, const veil_verify_ctx *ctx, void **cache,
				  veil_checks *checks)
{
	const sim_report *r = ev;
	X509 *platform = NULL, *root = NULL;
	uint8_t id[32];
	bool chain_ok = false;

	(void)cache;
	veil_checks_add(checks, "report.parse", true, "sim report version %u", r->version);
	if (veil_cert_parse_der(r->root_cert, r->root_cert_len, &root) != VEIL_OK) {
		veil_checks_add(checks, "sim.root", false, "root certificate: %s",
				veil_err_detail());
		goto out;
	}
	if (veil_cert_parse_der(r->platform_cert, r->platform_cert_len, &platform) != VEIL_OK) {
		veil_checks_add(checks, "sim.chain", false, "platform certificate: %s",
				veil_err_detail());
		goto out;
	}
	if (sim_root_check(ctx, root, checks))
		chain_ok = sim_chain_check(ctx, platform, root, "platform", checks);
	if (sim_platform_id(platform, id) == VEIL_OK)
		veil_checks_add(
		    checks, "sim.platform_id", memcmp(id, r->platform_id, sizeof id) == 0,
		    "PLATFORM_ID %s the platform certificate's key",
		    memcmp(id, r->platform_id, sizeof id) == 0 ? "names" : "does not name");
	else
		veil_checks_add(checks, "sim.platform_id", false, "%s", veil_err_detail());
	if (chain_ok)
		check_signature(r, platform, checks);
out:
	X509_free(platform);
	X509_free(root);
	return veil_checks_passed(checks) ? VEIL_OK : VEIL_E_VERIFY;
}

static veil_err sim_format_claims(const void *ev, json_t *claims)
{
	const sim_report *r = ev;
	struct snp_tcb t;
	uint8_t root_fp[32];
	X509 *root = NULL;
	json_t *tcb;

	TRY(veil_claim_bool(claims, "insecure", true));
	TRY(veil_claim_uint(claims, "version", r->version));
	TRY(veil_claim_hex(claims, "measurement", r->measurement, SIM_MEASUREMENT_LEN));
	TRY(veil_claim_hex(claims, "report_data", r->report_data, SIM_REPORT_DATA_LEN));
	TRY(veil_claim_hex(claims, "host_data", r->host_data, SIM_HOST_DATA_LEN));
	TRY(veil_claim_bool(claims, "debug", (r->flags & SIM_FLAG_DEBUG) != 0));
	TRY(veil_claim_u64hex(claims, "tcb", r->tcb));
	/* The sim platform uses the Milan/Genoa TCB_VERSION layout. */
	snp_tcb_decode(r->tcb, SNP_PRODUCT_MILAN, &t);
	tcb = json_pack("{s:I, s:I, s:I, s:I}", "bootloader", (json_int_t)t.bootloader, "tee",
			(json_int_t)t.tee, "snp", (json_int_t)t.snp, "microcode",
			(json_int_t)t.microcode);
	ENSURE(tcb != NULL, VEIL_E_NOMEM, "claims: out of memory");
	TRY(veil_claim_json(claims, "tcb_decoded", tcb));
	TRY(veil_claim_uint(claims, "generated_at", r->generated_at));
	TRY(veil_claim_hex(claims, "platform_id", r->platform_id, SIM_PLATFORM_ID_LEN));
	/* The same fingerprint the trust check computes (sim_trust.c). */
	TRY(veil_cert_parse_der(r->root_cert, r->root_cert_len, &root));
	veil_err err = veil_cert_sha256(root, root_fp);
	X509_free(root);
	TRY(err);
	return veil_claim_hex(claims, "sim_root", root_fp, sizeof root_fp);
}

static void sim_format_report_data(const void *ev, const uint8_t **p, size_t *len)
{
	const sim_report *r = ev;

	*p = r->report_data;
	*len = SIM_REPORT_DATA_LEN;
}

static void sim_format_free(void *ev)
{
	sim_report_free(ev);
}

static void sim_cache_free(void *cache)
{
	(void)cache;
}

const veil_evidence_format veil_sim_format = {
    .tee = VEIL_TEE_SIM,
    .name = "sim",
    .device = false,
    .detect = sim_report_detect,
    .parse = sim_format_parse,
    .verify = sim_format_verify,
    .claims = sim_format_claims,
    .report_data = sim_format_report_data,
    .free = sim_format_free,
    .cache_free = sim_cache_free,
};

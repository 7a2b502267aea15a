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

/*
 * The verifier's cache for sim reports: platform chains that verified,
 * keyed by SHA-256 of the two certificates' bytes, with the parsed
 * platform certificate, the root's fingerprint, the platform id and the
 * window in which both certificates are valid. A hit re-checks the root
 * against the caller's trusted roots (they vary per call), the window at
 * ctx->at and the platform id, and verifies the report signature: the same
 * checks, without parsing and verifying the chain again.
 */
#define SIM_CACHE_MAX 16

typedef struct sim_chain {
	uint8_t key[32];
	X509 *platform;
	uint8_t root_fp[32];
	uint8_t platform_id[32];
	int64_t not_before, not_after;
} sim_chain;

typedef struct sim_cache {
	sim_chain entries[SIM_CACHE_MAX];
	size_t count, next; /* next: the slot to replace when full */
} sim_cache;

static veil_err chain_key(const sim_report *r, uint8_t key[32])
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	unsigned int n = 0;
	uint8_t len[8];
	int ok;

	if (mc == NULL)
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	/* Length-prefixed, so two certificates cannot pass for another two. */
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)((uint64_t)r->root_cert_len >> (8 * i));
	ok = EVP_DigestInit_ex(mc, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(mc, len, sizeof len) == 1 &&
	     EVP_DigestUpdate(mc, r->root_cert, r->root_cert_len) == 1 &&
	     EVP_DigestUpdate(mc, r->platform_cert, r->platform_cert_len) == 1 &&
	     EVP_DigestFinal_ex(mc, key, &n) == 1;
	EVP_MD_CTX_free(mc);
	return ok ? VEIL_OK : veil_openssl_fail(VEIL_E_CRYPTO, "SHA-256");
}

static const sim_chain *cache_find(const sim_cache *c, const uint8_t key[32])
{
	for (size_t i = 0; c != NULL && i < c->count; i++)
		if (memcmp(c->entries[i].key, key, 32) == 0)
			return &c->entries[i];
	return NULL;
}

/* Remembers a chain that verified; takes a reference to platform. */
static void cache_put(void **slot, const uint8_t key[32], X509 *platform, X509 *root,
		      const uint8_t platform_id[32], const uint8_t root_fp[32])
{
	sim_cache *c = *slot;
	sim_chain e = {0};
	int64_t nb1, na1, nb2, na2;

	if (veil_cert_validity(platform, &nb1, &na1) != VEIL_OK ||
	    veil_cert_validity(root, &nb2, &na2) != VEIL_OK) {
		veil_err_clear();
		return;
	}
	if (c == NULL) {
		c = calloc(1, sizeof *c);
		if (c == NULL)
			return;
		*slot = c;
	}
	memcpy(e.key, key, 32);
	memcpy(e.platform_id, platform_id, 32);
	memcpy(e.root_fp, root_fp, 32);
	e.not_before = nb1 > nb2 ? nb1 : nb2;
	e.not_after = na1 < na2 ? na1 : na2;
	if (X509_up_ref(platform) != 1)
		return;
	e.platform = platform;
	if (c->count < SIM_CACHE_MAX) {
		c->entries[c->count++] = e;
	} else {
		X509_free(c->entries[c->next].platform);
		c->entries[c->next] = e;
		c->next = (c->next + 1) % SIM_CACHE_MAX;
	}
}

static veil_err verify_cached(const sim_report *r, const veil_verify_ctx *ctx, const sim_chain *e,
			      veil_checks *checks)
{
	bool trusted = sim_root_trusted(ctx, e->root_fp);
	bool in_window = ctx->at >= e->not_before && ctx->at <= e->not_after;
	bool id_ok = memcmp(e->platform_id, r->platform_id, 32) == 0;

	veil_checks_add(checks, "report.parse", true, "sim report version %u", r->version);
	veil_checks_add(checks, "sim.root", trusted,
			trusted ? "the root is one the caller trusts"
				: "the root is not among the sim roots the caller trusts");
	veil_checks_add(checks, "sim.chain", in_window,
			in_window ? "platform certificate -> sim root (verified before)"
				  : "platform certificate: not valid at the verification time");
	veil_checks_add(checks, "sim.platform_id", id_ok,
			"PLATFORM_ID %s the platform certificate's key",
			id_ok ? "names" : "does not name");
	if (trusted && in_window)
		check_signature(r, e->platform, checks);
	return veil_checks_passed(checks) ? VEIL_OK : VEIL_E_VERIFY;
}

static veil_err sim_format_verify(const void *ev, const veil_verify_ctx *ctx, void **cache,
				  veil_checks *checks)
{
	const sim_report *r = ev;
	X509 *platform = NULL, *root = NULL;
	uint8_t id[32], key[32], root_fp[32];
	bool chain_ok = false, id_ok = false, have_key;
	const sim_chain *hit;

	have_key = cache != NULL && chain_key(r, key) == VEIL_OK;
	hit = have_key ? cache_find(*cache, key) : NULL;
	if (hit != NULL)
		return verify_cached(r, ctx, hit, checks);
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
	/* The root is named by the SHA-256 of the bytes the report carries
	 * (the file `veil sim init` wrote): the claims below can say which
	 * root it was without parsing it again, and a re-encoded copy of a
	 * trusted root is not that root. */
	if (veil_sha256(r->root_cert, r->root_cert_len, root_fp) != VEIL_OK)
		veil_checks_add(checks, "sim.root", false, "cannot fingerprint the root");
	else if (sim_root_check(ctx, root_fp, checks))
		chain_ok = sim_chain_check(ctx, platform, root, "platform", checks);
	if (sim_platform_id(platform, id) == VEIL_OK) {
		id_ok = memcmp(id, r->platform_id, sizeof id) == 0;
		veil_checks_add(checks, "sim.platform_id", id_ok,
				"PLATFORM_ID %s the platform certificate's key",
				id_ok ? "names" : "does not name");
	} else {
		veil_checks_add(checks, "sim.platform_id", false, "%s", veil_err_detail());
	}
	if (chain_ok)
		check_signature(r, platform, checks);
	/* Only a chain that verified under a trusted root is remembered. */
	if (chain_ok && id_ok && have_key)
		cache_put(cache, key, platform, root, id, root_fp);
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
	/* The same fingerprint the trust check computes (sim_format_verify). */
	TRY(veil_sha256(r->root_cert, r->root_cert_len, root_fp));
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
	sim_cache *c = cache;

	for (size_t i = 0; c != NULL && i < c->count; i++)
		X509_free(c->entries[i].platform);
	free(c);
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

/*
 * snp_format.c - the SEV-SNP entry of the evidence format table.
 *
 * Binds the module's parse, verify, claims and free functions to the one
 * interface every evidence format exports (include/veil/evidence.h), so the
 * rest of Veil reaches SNP only through veil_snp_format.
 */
#include "evidence/snp/snp_report.h"
#include "veil/evidence.h"

static bool snp_format_detect(const uint8_t *buf, size_t len)
{
	return snp_detect(buf, len);
}

static veil_err snp_format_parse(const uint8_t *buf, size_t len, void **out)
{
	struct snp_evidence *ev = NULL;

	*out = NULL;
	TRY(snp_evidence_parse(buf, len, &ev));
	*out = ev;
	return VEIL_OK;
}

static veil_err snp_format_verify(const void *ev, const veil_verify_ctx *ctx, void **cache,
				  veil_checks *checks)
{
	return snp_verify(ev, ctx, cache, checks);
}

/* SEV-SNP ABI, ATTESTATION_REPORT offset 0x50 REPORT_DATA, 64 bytes. */
static void snp_format_report_data(const void *ev, const uint8_t **p, size_t *len)
{
	const struct snp_evidence *e = ev;

	*p = e->report.report_data;
	*len = sizeof e->report.report_data;
}

static void snp_format_free(void *ev)
{
	snp_evidence_free(ev);
}

const veil_evidence_format veil_snp_format = {
    .tee = VEIL_TEE_SNP,
    .name = "snp",
    .detect = snp_format_detect,
    .parse = snp_format_parse,
    .verify = snp_format_verify,
    .claims = snp_claims,
    .report_data = snp_format_report_data,
    .free = snp_format_free,
    .cache_free = snp_cache_free,
};

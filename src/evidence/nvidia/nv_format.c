/*
 * nv_format.c - the NVIDIA GPU report module's entry in the evidence format table.
 *
 * Adapts nv_report.h and nv_verify.h to the generic veil_evidence_format
 * interface. The "report data" of a GPU report is the requester's 32-byte
 * nonce: the value the caller binds (directly, or as the first 32 bytes of
 * the SHA-384 of the device runtime data, DESIGN.md section 5).
 */
#include "evidence/nvidia/nv_verify.h"

static veil_err nv_format_parse(const uint8_t *buf, size_t len, void **out)
{
	nv_report *r = NULL;

	TRY(nv_report_parse(buf, len, &r));
	*out = r;
	return VEIL_OK;
}

static veil_err nv_format_verify(const void *ev, const veil_verify_ctx *ctx, void **cache,
				 veil_checks *checks)
{
	return nv_report_verify(ev, ctx, cache, checks);
}

static veil_err nv_format_claims(const void *ev, json_t *claims)
{
	return nv_report_claims(ev, claims);
}

static void nv_format_report_data(const void *ev, const uint8_t **p, size_t *len)
{
	const nv_report *r = ev;

	*p = r->nonce;
	*len = NV_NONCE_LEN;
}

static void nv_format_free(void *ev)
{
	nv_report_free(ev);
}

const veil_evidence_format veil_nvidia_format = {
    .tee = VEIL_TEE_NVIDIA,
    .name = "nvidia",
    .device = true,
    .detect = nv_report_detect,
    .parse = nv_format_parse,
    .verify = nv_format_verify,
    .claims = nv_format_claims,
    .report_data = nv_format_report_data,
    .free = nv_format_free,
    .cache_free = nv_cache_free,
};

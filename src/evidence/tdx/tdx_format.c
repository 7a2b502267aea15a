/*
 * tdx_format.c - the TDX quote module's entry in the evidence format table.
 *
 * Adapts the typed functions of tdx_quote.h to the generic
 * veil_evidence_format interface (evidence.h), so callers dispatch through
 * one table and never name TDX.
 */
#include "evidence/tdx/tdx_quote.h"
#include "veil/evidence.h"

static veil_err tdx_format_parse(const uint8_t *buf, size_t len, void **out)
{
	tdx_quote *q = NULL;

	TRY(tdx_quote_parse(buf, len, &q));
	*out = q;
	return VEIL_OK;
}

static veil_err tdx_format_verify(const void *ev, const veil_verify_ctx *ctx, void **cache,
				  veil_checks *checks)
{
	return tdx_quote_verify(ev, ctx, cache, checks);
}

static veil_err tdx_format_claims(const void *ev, json_t *claims)
{
	return tdx_quote_claims(ev, claims);
}

static void tdx_format_report_data(const void *ev, const uint8_t **p, size_t *len)
{
	const tdx_quote *q = ev;

	*p = q->body.report_data;
	*len = sizeof q->body.report_data;
}

static void tdx_format_free(void *ev)
{
	tdx_quote_free(ev);
}

const veil_evidence_format veil_tdx_format = {
    .tee = VEIL_TEE_TDX,
    .name = "tdx",
    .detect = tdx_quote_detect,
    .parse = tdx_format_parse,
    .verify = tdx_format_verify,
    .claims = tdx_format_claims,
    .report_data = tdx_format_report_data,
    .free = tdx_format_free,
    .cache_free = tdx_cache_free,
};

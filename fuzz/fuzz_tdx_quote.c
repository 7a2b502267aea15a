/*
 * fuzz_tdx_quote.c - the TDX quote parser, the claims, the verifier (at a
 * fixed time, without collateral) and the PCK SGX extension reader.
 *
 * Beyond "no crash": every offset the parser records must lie inside the
 * bytes it kept, and the kept bytes plus the trailing ones must add up to
 * the input.
 */
#include <jansson.h>
#include <stdlib.h>

#include "evidence/tdx/tdx_quote.h"
#include "veil/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tdx_quote *q = NULL;
	tdx_pck_ext ext;

	if (tdx_pck_ext_parse(data, size, &ext) == VEIL_OK && ext.sgx_type > 2)
		abort();
	(void)tdx_quote_detect(data, size);
	if (tdx_quote_parse(data, size, &q) != VEIL_OK)
		return 0;
	if (q->raw_len + q->trailing != size || q->signed_len > q->raw_len ||
	    q->qe_report_off + TDX_QE_REPORT_LEN > q->raw_len ||
	    q->qe_auth_off + q->qe_auth_len > q->raw_len || q->pck_off + q->pck_len > q->raw_len)
		abort();

	json_t *claims = json_object();
	if (claims == NULL || tdx_quote_claims(q, claims) != VEIL_OK)
		abort(); /* claims of a parsed quote never fail */
	json_decref(claims);

	veil_checks checks;
	veil_verify_ctx ctx = {.at = 1700000000}; /* 2023-11-14 */
	veil_checks_init(&checks);
	if (tdx_quote_verify(q, &ctx, NULL, &checks) == VEIL_OK && !veil_checks_passed(&checks))
		abort();
	tdx_quote_free(q);
	return 0;
}

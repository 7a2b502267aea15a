/*
 * fuzz_snp_report.c - libFuzzer target for the SEV-SNP report parser.
 *
 * Runs detection, the parser (raw 1184-byte reports and Azure HCL
 * envelopes), the claims and a verification without collateral (which must
 * fail closed at vek.found) on every input. Seeds: fuzz_snp_report.seeds.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const veil_evidence_format *f = &veil_snp_format;
	veil_verify_ctx ctx = {.at = 1700000000};
	veil_checks checks;
	void *ev = NULL;
	json_t *claims;
	const uint8_t *rd;
	size_t rd_len;

	(void)f->detect(data, size);
	if (f->parse(data, size, &ev) != VEIL_OK)
		return 0;
	claims = json_object();
	if (claims != NULL && f->claims(ev, claims) != VEIL_OK)
		__builtin_trap();
	json_decref(claims);
	f->report_data(ev, &rd, &rd_len);
	if (rd_len != 64)
		__builtin_trap();
	veil_checks_init(&checks);
	if (f->verify(ev, &ctx, NULL, &checks) == VEIL_OK)
		__builtin_trap(); /* no VEK: must never pass */
	f->free(ev);
	return 0;
}

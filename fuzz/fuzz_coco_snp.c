/*
 * fuzz_coco_snp.c - libFuzzer target for CoCo's SNP evidence JSON
 * (veil_coco_snp_evidence, src/evidence/snp/snp_coco.c).
 *
 * Parses the input with Veil's strict JSON reader and rebuilds the report.
 * Beyond "no crash, no leak", checks what the function promises: on success
 * the report is one snp_report_parse accepts and the certificates are an
 * array of strings; on failure *certs is NULL. Seeds:
 * fuzz_coco_snp.seeds (the trustee end-to-end evidence).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/snp/snp_report.h"
#include "veil/coco.h"
#include "veil/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	struct snp_report parsed;
	json_t *ev = NULL, *certs = NULL, *v;
	size_t i;

	if (veil_json_parse(data, size, &ev) != VEIL_OK)
		return 0;
	if (veil_coco_snp_evidence(ev, report, &certs) != VEIL_OK) {
		if (certs != NULL)
			__builtin_trap(); /* an error leaves nothing behind */
		json_decref(ev);
		return 0;
	}
	if (snp_report_parse(report, sizeof report, &parsed) != VEIL_OK || !json_is_array(certs))
		__builtin_trap();
	json_array_foreach(certs, i, v)
	{
		if (!json_is_string(v))
			__builtin_trap();
	}
	json_decref(certs);
	json_decref(ev);
	return 0;
}

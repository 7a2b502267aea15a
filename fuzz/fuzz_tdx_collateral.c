/*
 * fuzz_tdx_collateral.c - libFuzzer target for the TDX collateral parsers,
 * the blob scanner and the TCB status algorithm.
 *
 * Each input is tried three ways: as one collateral blob handed to
 * tdx_collateral_load (PCS JSON, Phala JSON, PEM, DER CRL or noise; its
 * signatures rarely verify, so this mostly exercises the scanner and the
 * failure paths), as a TCB Info / QE Identity body, and, when it is a PCS response,
 * as the tcbInfo value it wraps. A TCB Info that parses is evaluated against
 * a fixed TD_QE identity with platform values taken from the input, so the
 * level matching and convergence run on hostile documents. Beyond "no
 * crash", the result must be in range. Seeds: fuzz_tdx_collateral.seeds.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_collateral.h"
#include "evidence/tdx/tdx_qeidentity.h"
#include "veil/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_qe[] =
    "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"2023-06-08T07:24:59Z\","
    "\"nextUpdate\":\"2023-07-08T07:24:59Z\",\"tcbEvaluationDataNumber\":15,"
    "\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
    "\"attributes\":\"11000000000000000000000000000000\","
    "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
    "\"mrsigner\":\"DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5\","
    "\"isvprodid\":2,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},"
    "\"tcbDate\":\"2023-02-15T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}";

static const uint8_t qe_mrsigner[32] = {
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
};

static void evaluate(const tdx_tcbinfo *t, const uint8_t *data, size_t size)
{
	static tdx_qeidentity *qe;
	tdx_tcb_input in;
	tdx_tcb_result res;

	if (qe == NULL &&
	    tdx_qeidentity_parse((const uint8_t *)fixed_qe, sizeof fixed_qe - 1, &qe) != VEIL_OK)
		__builtin_trap();
	memset(&in, 0, sizeof in);
	memcpy(in.fmspc, t->fmspc, 6);
	memcpy(in.pceid, t->pceid, 2);
	/* Platform values from the input's last bytes, so levels vary. */
	for (size_t i = 0; i < 16 && i < size; i++) {
		in.cpusvn[i] = data[size - 1 - i];
		in.tee_tcb_svn[i] = data[i];
	}
	in.pcesvn = size > 1 ? (uint16_t)(data[0] | data[1] << 8) : 0;
	memcpy(in.qe_mrsigner, qe_mrsigner, 32);
	in.qe_attributes[0] = 0x11;
	in.qe_isvprodid = 2;
	in.qe_isvsvn = size > 2 ? data[2] : 4;
	if (tdx_tcb_evaluate_docs(t, qe, &in, &res) != VEIL_OK)
		return;
	if (res.status > TDX_TCB_NOT_SUPPORTED || res.advisory_count > VEIL_TDX_ADVISORIES_MAX)
		__builtin_trap();
	for (size_t i = 0; i < res.advisory_count; i++)
		if (memchr(res.advisory[i], '\0', sizeof res.advisory[i]) == NULL)
			__builtin_trap();
	if (strcmp(tdx_tcb_status_str(res.status), "?") == 0)
		__builtin_trap();
}

static void parse_bodies(const uint8_t *data, size_t size)
{
	tdx_tcbinfo *t = NULL;
	tdx_qeidentity *q = NULL;

	if (tdx_tcbinfo_parse(data, size, &t) == VEIL_OK) {
		evaluate(t, data, size);
		tdx_tcbinfo_free(t);
	} else if (t != NULL) {
		__builtin_trap(); /* no output on failure */
	}
	if (tdx_qeidentity_parse(data, size, &q) == VEIL_OK)
		tdx_qeidentity_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static veil_collateral coll;
	const uint8_t fmspc[6] = {0x50, 0x80, 0x6f, 0x00, 0x00, 0x00};
	tdx_collateral *col = NULL;
	const uint8_t *raw;
	size_t raw_len;

	veil_collateral_init(&coll);
	if (veil_collateral_add(&coll, data, size, "fuzz") == VEIL_OK) {
		/* 2023-07-01T01:00:00Z, inside the go-tdx-guest sample's window. */
		/* A Phala JSON can carry a whole verifying set; then check the
		 * loaded object's own invariants. */
		if (tdx_collateral_load(&coll, tdx_intel_root(), fmspc, 1688173200, NULL, &col) ==
		    VEIL_OK) {
			if (col == NULL || tdx_collateral_check_time(col, 1688173200) != VEIL_OK)
				__builtin_trap();
			tdx_collateral_free(col);
		} else if (col != NULL) {
			__builtin_trap();
		}
		veil_collateral_clear(&coll);
	}
	parse_bodies(data, size);
	if (veil_json_raw_member(data, size, "tcbInfo", &raw, &raw_len) == VEIL_OK)
		parse_bodies(raw, raw_len);
	if (veil_json_raw_member(data, size, "enclaveIdentity", &raw, &raw_len) == VEIL_OK)
		parse_bodies(raw, raw_len);
	return 0;
}

/*
 * tdx_qeidentity.c - parses Intel's Enclave Identity v2 for the TDX QE
 * (see tdx_qeidentity.h).
 *
 * Like the TCB Info parser, the input is the enclaveIdentity object exactly
 * as signed, counts are capped before allocation and SVNs range-checked.
 * Field names follow the Intel SGX and Intel TDX PCS API specification
 * (v4), "Enclave Identity" v2; the id must be "TD_QE" because the SGX QE's
 * identity ("QE") describes a different enclave.
 */
#include "evidence/tdx/tdx_qeidentity.h"

#include <stdlib.h>
#include <string.h>

#include "veil/json.h"
#include "veil/limits.h"

static veil_err parse_qe_level(const json_t *lv, tdx_qe_level *out)
{
	json_t *tcb;
	int64_t isvsvn;

	ENSURE(json_is_object(lv), VEIL_E_MALFORMED, "QE TCB level must be an object");
	TRY(veil_json_get_object(lv, "tcb", &tcb));
	TRY(veil_json_get_int(tcb, "isvsvn", 0, 65535, &isvsvn));
	out->isvsvn = (uint16_t)isvsvn;
	TRY(tdx_json_time(lv, "tcbDate", &out->tcb_date));
	TRY(tdx_json_status(lv, &out->status));
	/* PCS API v4, Enclave Identity v2: UpToDate, OutOfDate, Revoked. QVL's
	 * EnclaveReportVerifier reads anything else that is not Revoked as
	 * OutOfDate; so do we, rather than fail on a future status name. */
	if (out->status != TDX_TCB_UP_TO_DATE && out->status != TDX_TCB_REVOKED)
		out->status = TDX_TCB_OUT_OF_DATE;
	TRY(tdx_json_advisories(lv, &out->advisories));
	return VEIL_OK;
}

static veil_err parse_identity(const json_t *id_obj, tdx_qeidentity *q)
{
	const char *id;
	int64_t version, prodid;
	json_t *levels;
	size_t i;
	json_t *lv;

	ENSURE(json_is_object(id_obj), VEIL_E_MALFORMED, "enclaveIdentity must be a JSON object");
	TRY(veil_json_get_string(id_obj, "id", &id));
	ENSURE(strcmp(id, "TD_QE") == 0, VEIL_E_UNSUPPORTED,
	       "enclaveIdentity id is \"%.16s\", not \"TD_QE\"; this is not the TDX QE's identity",
	       id);
	TRY(veil_json_get_int(id_obj, "version", 0, 1000, &version));
	ENSURE(version == 2, VEIL_E_UNSUPPORTED,
	       "TD_QE identity version %lld is not supported (only 2)", (long long)version);
	TRY(tdx_json_time(id_obj, "issueDate", &q->issue_date));
	TRY(tdx_json_time(id_obj, "nextUpdate", &q->next_update));
	ENSURE(q->issue_date <= q->next_update, VEIL_E_MALFORMED,
	       "enclaveIdentity nextUpdate is before its issueDate");
	TRY(veil_json_get_int(id_obj, "tcbEvaluationDataNumber", 0, UINT32_MAX, &q->eval_number));
	TRY(tdx_json_hex(id_obj, "miscselect", q->miscselect, sizeof q->miscselect));
	TRY(tdx_json_hex(id_obj, "miscselectMask", q->miscselect_mask, sizeof q->miscselect_mask));
	TRY(tdx_json_hex(id_obj, "attributes", q->attributes, sizeof q->attributes));
	TRY(tdx_json_hex(id_obj, "attributesMask", q->attributes_mask, sizeof q->attributes_mask));
	TRY(tdx_json_hex(id_obj, "mrsigner", q->mrsigner, sizeof q->mrsigner));
	TRY(veil_json_get_int(id_obj, "isvprodid", 0, 65535, &prodid));
	q->isvprodid = (uint16_t)prodid;

	TRY(veil_json_get_array(id_obj, "tcbLevels", &levels));
	size_t n = json_array_size(levels);
	ENSURE(n > 0 && n <= VEIL_TDX_TCB_LEVELS_MAX, VEIL_E_LIMIT,
	       "enclaveIdentity has %zu TCB levels; expected 1..%d", n, VEIL_TDX_TCB_LEVELS_MAX);
	q->level = calloc(n, sizeof *q->level);
	ENSURE(q->level != NULL, VEIL_E_NOMEM, "out of memory for QE TCB levels");
	q->level_count = n;
	json_array_foreach(levels, i, lv)
	{
		veil_err err = parse_qe_level(lv, &q->level[i]);
		if (err != VEIL_OK)
			return veil_fail_context(err, "tcbLevels[%zu]", i);
	}
	return VEIL_OK;
}

veil_err tdx_qeidentity_parse(const uint8_t *body, size_t len, tdx_qeidentity **out)
{
	tdx_qeidentity *q;
	veil_err err;

	*out = NULL;
	q = calloc(1, sizeof *q);
	ENSURE(q != NULL, VEIL_E_NOMEM, "out of memory for QE Identity");
	err = veil_json_parse(body, len, &q->doc);
	if (err == VEIL_OK)
		err = parse_identity(q->doc, q);
	if (err != VEIL_OK) {
		tdx_qeidentity_free(q);
		return veil_fail_context(err, "TD_QE identity");
	}
	*out = q;
	return VEIL_OK;
}

void tdx_qeidentity_free(tdx_qeidentity *q)
{
	if (q == NULL)
		return;
	free(q->level);
	json_decref(q->doc);
	free(q);
}

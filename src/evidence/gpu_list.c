/*
 * gpu_list.c - verifying GPU reports as NVIDIA's attestation SDK serializes them.
 *
 * NVIDIA's SDKs hand evidence around as a JSON array, one entry per GPU:
 * {"arch", "nonce", "evidence": base64 report, "certificate": base64 PEM
 * chain} (some versions add "driver_version", "vbios_version", "version").
 * Veil verifies each entry as an NVIDIA report with its own chain, against
 * the caller's expected nonce when given. The entry's "nonce" and version
 * members are what the sender says, not evidence: they are checked for
 * consistency with the signed report and never trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/bundle_util.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define GPU_LIST_MAX 16

static const char *const entry_members[] = {
    "arch", "nonce", "evidence", "certificate", "driver_version", "vbios_version", "version", NULL};

/* Compares the entry's declared nonce with the signed one (a check on the
 * top level: a mismatch means the entry was assembled wrongly). */
static void check_declared_nonce(const json_t *entry, const uint8_t *report, size_t len, size_t i,
				 veil_checks *top)
{
	const char *hex = json_string_value(json_object_get(entry, "nonce"));
	uint8_t declared[32];
	size_t n = 0;

	if (hex == NULL)
		return;
	/* The nonce sits at bytes 4..35 of the request (nv_report.h); a report
	 * too short to hold it fails its own parse check. */
	if (len < 36)
		return;
	bool same = veil_hex_decode(hex, strlen(hex), declared, sizeof declared, &n) == VEIL_OK &&
		    n == sizeof declared && veil_ct_equal(declared, report + 4, sizeof declared);
	veil_err_clear();
	veil_checks_add(top, "declared_nonce", same, "GPU-%zu: the entry's \"nonce\" %s", i,
			same ? "equals the signed nonce" : "differs from the signed nonce");
}

veil_err veil_gpu_list_verify(const uint8_t *buf, size_t len, const veil_verify_ctx *ctx,
			      const uint8_t *expected_nonce, json_t **result)
{
	const veil_evidence_format *fmt = veil_evidence_format_find("nvidia");
	json_t *doc = NULL, *submods = NULL;
	veil_collateral *coll = NULL;
	veil_checks *top = NULL;
	bool all_ok = true;
	veil_err err = VEIL_OK;
	size_t count;

	*result = NULL;
	CHECK_THAT(fmt != NULL, VEIL_E_UNSUPPORTED, "no NVIDIA format");
	CHECK_THAT(len <= VEIL_JSON_MAX_BYTES, VEIL_E_LIMIT, "GPU evidence list over %d bytes",
		   VEIL_JSON_MAX_BYTES);
	CHECK(veil_json_parse(buf, len, &doc));
	CHECK_THAT(json_is_array(doc), VEIL_E_MALFORMED, "GPU evidence list is not an array");
	count = json_array_size(doc);
	CHECK_THAT(count > 0, VEIL_E_MALFORMED, "GPU evidence list is empty");
	CHECK_THAT(count <= GPU_LIST_MAX, VEIL_E_LIMIT, "more than %d GPUs in one list",
		   GPU_LIST_MAX);

	/* Every chain joins one collateral set, so RIMs are read once; each
	 * report picks its own chain by FWID and signature. */
	coll = malloc(sizeof *coll);
	top = malloc(sizeof *top);
	submods = json_object();
	CHECK_THAT(coll != NULL && top != NULL && submods != NULL, VEIL_E_NOMEM, "out of memory");
	veil_collateral_init(coll);
	veil_checks_init(top);
	for (size_t i = 0; ctx->collateral != NULL && i < ctx->collateral->count; i++)
		CHECK(veil_collateral_add(coll, ctx->collateral->blob[i].data,
					  ctx->collateral->blob[i].len,
					  ctx->collateral->blob[i].origin));
	for (size_t i = 0; i < count; i++) {
		json_t *entry = json_array_get(doc, i);
		uint8_t *chain = NULL;
		size_t chain_len = 0;
		char origin[32];

		CHECK(veil_json_only_members(entry, "a GPU evidence entry", entry_members));
		CHECK(bundle_b64_member(entry, "certificate", VEIL_COLLATERAL_FILE_MAX_BYTES,
					&chain, &chain_len));
		snprintf(origin, sizeof origin, "GPU-%zu certificate", i);
		err = veil_collateral_add(coll, chain, chain_len, origin);
		free(chain);
		CHECK(err);
	}

	veil_verify_ctx gctx = *ctx;
	gctx.collateral = coll;
	for (size_t i = 0; i < count; i++) {
		json_t *entry = json_array_get(doc, i), *part = NULL;
		uint8_t *report = NULL;
		size_t report_len = 0;
		bool ok = false;
		char name[24];

		CHECK(bundle_b64_member(entry, "evidence", VEIL_EVIDENCE_MAX_BYTES, &report,
					&report_len));
		check_declared_nonce(entry, report, report_len, i, top);
		err = bundle_verify_part(fmt, report, report_len, &gctx, expected_nonce,
					 expected_nonce != NULL ? 32 : 0, &part, &ok);
		free(report);
		CHECK(err);
		snprintf(name, sizeof name, "GPU-%zu", i);
		CHECK_THAT(json_object_set_new(submods, name, part) == 0, VEIL_E_NOMEM,
			   "out of memory");
		veil_checks_add(top, "device", ok, "%s %s", name,
				ok ? "verified" : "not verified (see its submodule)");
		all_ok = all_ok && ok;
	}
	bundle_check_distinct(submods, top);
	*result = veil_result_json("nvidia", all_ok && veil_checks_passed(top), top, NULL, ctx->at);
	CHECK_THAT(*result != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK_THAT(json_object_set(*result, "submods", submods) == 0, VEIL_E_NOMEM,
		   "out of memory");
out:
	json_decref(submods);
	json_decref(doc);
	free(top);
	if (coll != NULL) {
		veil_collateral_clear(coll);
		free(coll);
	}
	return err;
}

/*
 * bundle.c - verifying composite evidence (a CPU report and its GPUs) and
 * lists of GPU reports, with one result and a submodule per device.
 *
 * Bundle (docs/evidence-bundle.md):
 *   {"version": 1, "tee": "snp"|"tdx", "primary_evidence": "<base64>",
 *    "runtime_data": {"nonce": "...", "tee-pubkey": ...,
 *                     "additional-evidence": [{"type": "nvidia",
 *                        "evidence": "<base64>", "certificate": "<base64>"}]},
 *    "collateral": ["<base64>", ...]}
 * "additional-evidence" may also be a JSON string, the KBS protocol 0.4.0's
 * form, whose text REPORT_DATA binds as it is: "" for no devices, that
 * array, or Confidential Containers' map {"nvidia": {"device_evidence_list":
 * [...]}}, which veil_coco_devices reads into the same device entries.
 * Every part is verified with the same time, policy and collateral (the
 * caller's plus what the bundle carries; modules pick what they need by
 * content), and every binding is a recorded check: the CPU report's
 * REPORT_DATA against the runtime data digest, each GPU's nonce against the
 * device nonce derived from the same runtime data. Unknown members are
 * refused: a verifier must not skip what it does not understand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/bundle_util.h"
#include "veil/coco.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "veil/timeutil.h"

json_t *veil_result_json(const char *tee, bool verified, const veil_checks *checks, json_t *claims,
			 int64_t at)
{
	json_t *o = json_object(), *list = json_array();
	char when[21];

	veil_time_format(at, when);
	if (o == NULL || list == NULL)
		goto fail;
	for (size_t i = 0; i < checks->count; i++) {
		json_t *c = json_pack("{s:s, s:b, s:s}", "name", checks->item[i].name, "ok",
				      checks->item[i].ok, "detail", checks->item[i].detail);
		if (c == NULL || json_array_append_new(list, c) != 0)
			goto fail;
	}
	if (checks->overflow &&
	    json_array_append_new(list, json_pack("{s:s, s:b, s:s}", "name", "checks", "ok", 0,
						  "detail", "more checks than can be listed")) != 0)
		goto fail;
	if (json_object_set_new(o, "tee", json_string(tee)) != 0 ||
	    json_object_set_new(o, "verified", json_boolean(verified)) != 0 ||
	    json_object_set_new(o, "at", json_string(when)) != 0 ||
	    json_object_set_new(o, "checks", list) != 0)
		goto fail_o;
	if ((claims != NULL ? json_object_set(o, "claims", claims)
			    : json_object_set_new(o, "claims", json_object())) != 0)
		goto fail_o;
	return o;
fail:
	json_decref(list);
fail_o:
	json_decref(o);
	return NULL;
}

static veil_err digest_json(const json_t *v, uint8_t out[48])
{
	uint8_t *jcs = NULL;
	size_t n = 0;
	veil_err err = veil_jcs_encode(v, &jcs, &n);

	if (err == VEIL_OK)
		err = veil_sha384(jcs, n, out);
	free(jcs);
	return err;
}

veil_err veil_runtime_data_digest(const json_t *runtime_data, uint8_t rd[64])
{
	memset(rd, 0, 64);
	return digest_json(runtime_data, rd);
}

veil_err veil_device_nonce(const json_t *runtime_data, uint8_t nonce[32])
{
	json_t *nonce_v = json_object_get(runtime_data, "nonce");
	json_t *key_v = json_object_get(runtime_data, "tee-pubkey");
	uint8_t digest[48];
	veil_err err;

	ENSURE(json_is_object(runtime_data), VEIL_E_MALFORMED, "runtime_data is not an object");
	ENSURE(nonce_v != NULL && key_v != NULL, VEIL_E_MALFORMED,
	       "runtime_data needs \"nonce\" and \"tee-pubkey\" to bind device evidence");
	json_t *device_rd = json_pack("{s:O, s:O}", "nonce", nonce_v, "tee-pubkey", key_v);
	ENSURE(device_rd != NULL, VEIL_E_NOMEM, "out of memory");
	err = digest_json(device_rd, digest);
	json_decref(device_rd);
	TRY(err);
	memcpy(nonce, digest, 32);
	return VEIL_OK;
}

veil_err bundle_b64_member(const json_t *obj, const char *key, size_t max, uint8_t **out,
			   size_t *len)
{
	const char *s;
	uint8_t *buf;
	size_t cap;
	veil_err err;

	TRY(veil_json_get_string(obj, key, &s));
	cap = veil_base64_decoded_max(strlen(s));
	ENSURE(cap <= max + 3, VEIL_E_LIMIT, "\"%s\" is over %zu bytes", key, max);
	buf = malloc(cap > 0 ? cap : 1);
	ENSURE(buf != NULL, VEIL_E_NOMEM, "out of memory");
	err = veil_base64_decode(s, strlen(s), buf, cap, len);
	if (err == VEIL_OK && *len > max)
		err = veil_fail(VEIL_E_LIMIT, "\"%s\" is over %zu bytes", key, max);
	if (err != VEIL_OK) {
		free(buf);
		return veil_fail_context(err, "\"%s\"", key);
	}
	*out = buf;
	return VEIL_OK;
}

/* Copies every blob of src into dst. */
static veil_err collateral_copy(veil_collateral *dst, const veil_collateral *src)
{
	for (size_t i = 0; src != NULL && i < src->count; i++)
		TRY(veil_collateral_add(dst, src->blob[i].data, src->blob[i].len,
					src->blob[i].origin));
	return VEIL_OK;
}

veil_err bundle_verify_part(const veil_evidence_format *fmt, const uint8_t *buf, size_t len,
			    const veil_verify_ctx *ctx, const uint8_t *expected,
			    size_t expected_len, json_t **out, bool *verified)
{
	veil_checks *checks = malloc(sizeof *checks);
	json_t *claims = NULL;
	void *ev = NULL;
	veil_err err;

	*out = NULL;
	*verified = false;
	ENSURE(checks != NULL, VEIL_E_NOMEM, "out of memory");
	veil_checks_init(checks);
	veil_err_clear();
	err = veil_evidence_verify(fmt, buf, len, ctx, expected, expected_len, checks, &ev);
	*verified = err == VEIL_OK && veil_checks_passed(checks);
	claims = json_object();
	if (ev != NULL && claims != NULL && fmt->claims(ev, claims) != VEIL_OK) {
		json_decref(claims);
		claims = json_object();
		*verified = false;
		veil_checks_add(checks, "claims", false, "%s", veil_err_detail());
	}
	*out = veil_result_json(fmt->name, *verified, checks, claims, ctx->at);
	if (ev != NULL)
		fmt->free(ev);
	json_decref(claims);
	free(checks);
	ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

void bundle_check_distinct(const json_t *submods, veil_checks *top)
{
	const char *a_name, *b_name;
	json_t *a, *b;
	size_t devices = 0;

	json_object_foreach((json_t *)submods, a_name, a)
	{
		const char *ua =
		    json_string_value(json_object_get(json_object_get(a, "claims"), "ueid"));
		if (ua == NULL)
			continue;
		devices++;
		json_object_foreach((json_t *)submods, b_name, b)
		{
			const char *ub = json_string_value(
			    json_object_get(json_object_get(b, "claims"), "ueid"));
			if (a != b && ub != NULL && strcmp(ua, ub) == 0 &&
			    strcmp(a_name, b_name) < 0) {
				veil_checks_add(top, "devices.distinct", false,
						"%s and %s are the same device (ueid %.64s): one "
						"report counted twice",
						a_name, b_name, ua);
				return;
			}
		}
	}
	if (devices > 1)
		veil_checks_add(top, "devices.distinct", true, "%zu different devices", devices);
}

static const char *const bundle_members[] = {"version",      "tee",        "primary_evidence",
					     "runtime_data", "collateral", NULL};
static const char *const device_members[] = {"type", "evidence", "certificate", "state", NULL};
static const char *const state_members[] = {"cc_mode", "cc_environment", "devtools", "ready", NULL};

typedef struct bundle_run {
	json_t *doc, *rd, *devices;
	json_t *devices_owned; /* read from the string form, or NULL */
	const veil_evidence_format *fmt;
	veil_collateral *coll;
	uint8_t *primary;
	size_t primary_len;
	size_t ndev;
	const veil_evidence_format *dev_fmt[VEIL_BUNDLE_DEVICES_MAX];
	uint8_t *dev_report[VEIL_BUNDLE_DEVICES_MAX];
	size_t dev_report_len[VEIL_BUNDLE_DEVICES_MAX];
	const json_t *dev_state[VEIL_BUNDLE_DEVICES_MAX]; /* borrowed from doc, or NULL */
} bundle_run;

/* Reads the bundle in b->doc (a reference the run holds). */
static veil_err bundle_read(bundle_run *b, const veil_collateral *extra)
{
	const char *tee;
	int64_t version;
	json_t *list;

	TRY(veil_json_only_members(b->doc, "the bundle", bundle_members));
	TRY(veil_json_get_int(b->doc, "version", 1, 1, &version));
	TRY(veil_json_get_string(b->doc, "tee", &tee));
	b->fmt = veil_evidence_format_find(tee);
	ENSURE(b->fmt != NULL && !b->fmt->device, VEIL_E_UNSUPPORTED,
	       "bundle \"tee\" \"%.32s\" is not a CPU TEE format Veil knows", tee);
	TRY(bundle_b64_member(b->doc, "primary_evidence", VEIL_EVIDENCE_MAX_BYTES, &b->primary,
			      &b->primary_len));
	TRY(veil_json_get_object(b->doc, "runtime_data", &b->rd));

	b->coll = malloc(sizeof *b->coll);
	ENSURE(b->coll != NULL, VEIL_E_NOMEM, "out of memory");
	veil_collateral_init(b->coll);
	TRY(collateral_copy(b->coll, extra));
	list = json_object_get(b->doc, "collateral");
	if (list != NULL) {
		size_t i;
		json_t *item;
		ENSURE(json_is_array(list), VEIL_E_MALFORMED, "\"collateral\" is not an array");
		json_array_foreach(list, i, item)
		{
			json_t *wrap = json_pack("{s:O}", "collateral", item);
			uint8_t *blob = NULL;
			size_t n = 0;
			char origin[40];
			veil_err err =
			    wrap != NULL
				? bundle_b64_member(wrap, "collateral",
						    VEIL_COLLATERAL_FILE_MAX_BYTES, &blob, &n)
				: VEIL_E_NOMEM;
			json_decref(wrap);
			if (err != VEIL_OK)
				return veil_fail_context(err, "bundle collateral[%zu]", i);
			snprintf(origin, sizeof origin, "bundle collateral[%zu]", i);
			err = veil_collateral_add(b->coll, blob, n, origin);
			free(blob);
			TRY(err);
		}
	}
	b->devices = json_object_get(b->rd, "additional-evidence");
	/* The KBS protocol 0.4.0 carries additional evidence as a JSON string
	 * (tee-evidence.additional_evidence), and binds that string itself
	 * into REPORT_DATA; the devices are what it holds ("" for none):
	 * Veil's array of device entries, or CoCo's attestation agent's map
	 * of TEE to evidence, read into that array. */
	if (json_is_string(b->devices)) {
		const char *text = json_string_value(b->devices);
		size_t n = json_string_length(b->devices);
		json_t *parsed = NULL;
		b->devices = NULL;
		if (n > 0) {
			TRY(veil_json_parse((const uint8_t *)text, n, &parsed));
			if (json_is_object(parsed)) {
				veil_err err = veil_coco_devices(parsed, &b->devices_owned);
				json_decref(parsed);
				if (err != VEIL_OK)
					return veil_fail_context(
					    err, "runtime_data \"additional-evidence\"");
			} else {
				b->devices_owned = parsed;
			}
			b->devices = b->devices_owned;
		}
	}
	if (b->devices != NULL) {
		ENSURE(json_is_array(b->devices), VEIL_E_MALFORMED,
		       "runtime_data \"additional-evidence\" is not an array (or a string "
		       "holding one, or CoCo's map)");
		ENSURE(json_array_size(b->devices) <= VEIL_BUNDLE_DEVICES_MAX, VEIL_E_LIMIT,
		       "more than %d devices in one bundle", VEIL_BUNDLE_DEVICES_MAX);
	}
	return VEIL_OK;
}

/*
 * The GPU state the attester read from the driver inside the CVM (CC mode,
 * DEVTOOLS, ready). The GPU's report does not carry it; it is covered by the
 * CPU report through runtime_data, so it is as trustworthy as the measured
 * software that wrote it, and appraisal reads it as such.
 */
static veil_err device_state_read(const json_t *state, const json_t **out)
{
	const char *mode;
	json_t *env;

	*out = NULL;
	if (state == NULL)
		return VEIL_OK;
	TRY(veil_json_only_members(state, "a device \"state\"", state_members));
	TRY(veil_json_get_string(state, "cc_mode", &mode));
	ENSURE(strcmp(mode, "on") == 0 || strcmp(mode, "off") == 0, VEIL_E_MALFORMED,
	       "device state \"cc_mode\" must be \"on\" or \"off\"");
	ENSURE(json_is_boolean(json_object_get(state, "devtools")) &&
		   json_is_boolean(json_object_get(state, "ready")),
	       VEIL_E_MALFORMED, "device state \"devtools\" and \"ready\" must be true or false");
	env = json_object_get(state, "cc_environment");
	ENSURE(env == NULL || (json_is_string(env) && json_string_length(env) <= 16),
	       VEIL_E_MALFORMED, "device state \"cc_environment\" must be a short string");
	*out = state;
	return VEIL_OK;
}

/* Adds a device's state to its result's claims. */
static veil_err device_state_claims(const json_t *state, json_t *part)
{
	json_t *claims = json_object_get(part, "claims");

	if (state == NULL)
		return VEIL_OK;
	ENSURE(json_is_object(claims), VEIL_E_NOMEM, "out of memory");
	ENSURE(json_object_update_missing(claims, (json_t *)state) == 0, VEIL_E_NOMEM,
	       "out of memory");
	return VEIL_OK;
}

/* Reads device i's report and adds its certificate chain to the collateral. */
static veil_err device_read(bundle_run *b, size_t i, const veil_evidence_format **fmt,
			    uint8_t **report, size_t *report_len)
{
	json_t *dev = json_array_get(b->devices, i);
	const char *type;
	uint8_t *chain = NULL;
	size_t chain_len = 0;
	char origin[40];
	veil_err err;

	TRY(veil_json_only_members(dev, "a device evidence entry", device_members));
	TRY(veil_json_get_string(dev, "type", &type));
	*fmt = veil_evidence_format_find(type);
	ENSURE(*fmt != NULL && (*fmt)->device, VEIL_E_UNSUPPORTED,
	       "device evidence type \"%.32s\" is not a device format Veil knows", type);
	TRY(device_state_read(json_object_get(dev, "state"), &b->dev_state[i]));
	TRY(bundle_b64_member(dev, "evidence", VEIL_EVIDENCE_MAX_BYTES, report, report_len));
	err = bundle_b64_member(dev, "certificate", VEIL_COLLATERAL_FILE_MAX_BYTES, &chain,
				&chain_len);
	if (err == VEIL_OK) {
		snprintf(origin, sizeof origin, "device %zu certificate", i);
		err = veil_collateral_add(b->coll, chain, chain_len, origin);
	}
	free(chain);
	if (err != VEIL_OK) {
		free(*report);
		*report = NULL;
	}
	return err;
}

static veil_err bundle_devices(bundle_run *b, const veil_verify_ctx *dctx, json_t *submods,
			       veil_checks *top, bool *all_ok)
{
	uint8_t nonce[32];

	if (b->ndev == 0)
		return VEIL_OK;
	TRY(veil_device_nonce(b->rd, nonce));
	for (size_t i = 0; i < b->ndev; i++) {
		json_t *part = NULL;
		bool ok = false;
		char name[24];

		TRY(bundle_verify_part(b->dev_fmt[i], b->dev_report[i], b->dev_report_len[i], dctx,
				       nonce, sizeof nonce, &part, &ok));
		if (device_state_claims(b->dev_state[i], part) != VEIL_OK) {
			json_decref(part);
			return veil_fail(VEIL_E_NOMEM, "out of memory");
		}
		snprintf(name, sizeof name, "gpu%zu", i);
		if (json_object_set_new(submods, name, part) != 0)
			return veil_fail(VEIL_E_NOMEM, "out of memory");
		veil_checks_add(top, "binding.device", ok, "%s: %s", name,
				ok ? "verified, its nonce bound to the runtime data"
				   : "not verified (see its submodule)");
		*all_ok = *all_ok && ok;
	}
	return VEIL_OK;
}

veil_err veil_bundle_verify(const uint8_t *buf, size_t len, const veil_verify_ctx *ctx,
			    json_t **result)
{
	json_t *doc;
	veil_err err;

	*result = NULL;
	ENSURE(len <= VEIL_JSON_MAX_BYTES, VEIL_E_LIMIT, "bundle over %d bytes",
	       VEIL_JSON_MAX_BYTES);
	TRY(veil_json_parse(buf, len, &doc));
	err = veil_bundle_verify_json(doc, ctx, result);
	json_decref(doc);
	return err;
}

veil_err veil_bundle_verify_json(json_t *doc, const veil_verify_ctx *ctx, json_t **result)
{
	bundle_run b = {.doc = json_incref(doc)};
	json_t *cpu = NULL, *submods = NULL, *claims = NULL;
	veil_checks *top = NULL;
	uint8_t rd[64];
	bool cpu_ok = false, all_ok;
	veil_err err = VEIL_OK;

	*result = NULL;
	CHECK(bundle_read(&b, ctx->collateral));
	/* Read every device first: all their chains join the collateral
	 * before any part is verified. */
	for (size_t i = 0; b.devices != NULL && i < json_array_size(b.devices); i++) {
		err = device_read(&b, i, &b.dev_fmt[i], &b.dev_report[i], &b.dev_report_len[i]);
		if (err != VEIL_OK) {
			err = veil_fail_context(err, "additional-evidence[%zu]", i);
			goto out;
		}
		b.ndev++;
	}
	veil_verify_ctx dctx = *ctx;
	dctx.collateral = b.coll;

	CHECK(veil_runtime_data_digest(b.rd, rd));
	CHECK(bundle_verify_part(b.fmt, b.primary, b.primary_len, &dctx, rd, sizeof rd, &cpu,
				 &cpu_ok));
	top = malloc(sizeof *top);
	submods = json_object();
	CHECK_THAT(top != NULL && submods != NULL, VEIL_E_NOMEM, "out of memory");
	veil_checks_init(top);
	veil_checks_add(top, "binding.primary", cpu_ok, "%s",
			cpu_ok ? "CPU report verified; REPORT_DATA = SHA-384(JCS(runtime_data))"
			       : "CPU report not verified (see the cpu submodule)");
	all_ok = cpu_ok;
	CHECK(bundle_devices(&b, &dctx, submods, top, &all_ok));
	bundle_check_distinct(submods, top);
	CHECK_THAT(json_object_set_new(submods, "cpu", cpu) == 0, VEIL_E_NOMEM, "out of memory");
	cpu = NULL;
	/* The runtime data is what the caller compares with its own challenge
	 * and key: the binding proves the parts belong to it, not that it is
	 * fresh. */
	claims = json_pack("{s:O}", "runtime_data", b.rd);
	CHECK_THAT(claims != NULL, VEIL_E_NOMEM, "out of memory");
	*result =
	    veil_result_json("bundle", all_ok && veil_checks_passed(top), top, claims, ctx->at);
	CHECK_THAT(*result != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK_THAT(json_object_set(*result, "submods", submods) == 0, VEIL_E_NOMEM,
		   "out of memory");
out:
	if (err != VEIL_OK && b.doc != NULL)
		err = veil_fail_context(err, "evidence bundle");
	json_decref(cpu);
	json_decref(submods);
	json_decref(claims);
	free(top);
	json_decref(b.devices_owned);
	json_decref(b.doc);
	free(b.primary);
	for (size_t i = 0; i < b.ndev; i++)
		free(b.dev_report[i]);
	if (b.coll != NULL) {
		veil_collateral_clear(b.coll);
		free(b.coll);
	}
	return err;
}

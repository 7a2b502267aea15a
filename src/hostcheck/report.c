/*
 * report.c - the host report as JSON, read back strictly, and signed as a
 * compact JWS (docs/host-check.md "Report").
 *
 * A signed report travels from the operator to whoever deploys the
 * workload (and to `veil launch` on the host itself), so it has one
 * meaning for every reader: exactly the documented members with their
 * types, text within the same caps the checks write, check ids unique, a
 * remedy only on a failure, and a verdict that follows from the checks
 * by the rule hc_verdict() applies (a "pass" over a failed required check
 * is refused, not believed). The signature is the strict profile Veil's
 * receipts and tree heads use (include/veil/jose.h, src/jose/profile.c):
 * ES256 only (RFC 7518 section 3.4), an explicit "typ" (RFC 8725 section
 * 3.11) of "veil-host-report+jws", and a "kid" that must be the RFC 7638
 * thumbprint of the verifying key. The payload is the RFC 8785 (JCS)
 * encoding of the JSON, so one report has one byte string to sign.
 */
#include <stdlib.h>
#include <string.h>

#include "hostcheck/hostcheck_internal.h"
#include "veil/json.h"
#include "veil/limits.h"

#define HC_INT_MAX 9007199254740991LL /* I-JSON: 2^53 - 1 (RFC 7493 section 2.2) */

static const veil_jws_profile report_profile = {"host report", VEIL_HC_REPORT_TYP,
						VEIL_HC_REPORT_MAX_BYTES};
static const char *const report_members[] = {"version", "host",    "kernel", "cpu", "tee",
					     "time",    "verdict", "checks", NULL};
static const char *const check_members[] = {"id",       "title",  "status", "required",
					    "evidence", "remedy", NULL};

static bool tee_ok(const char *tee)
{
	return strcmp(tee, "snp") == 0 || strcmp(tee, "tdx") == 0 || strcmp(tee, "none") == 0;
}

/* A NUL-terminated field of cap bytes holding report text. */
static bool text_ok(const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap);

	return end != NULL && hc_text_ok(s, (size_t)(end - s));
}

/* Sets a member; a NULL value (a string jansson refused) is an error. */
static veil_err put(json_t *obj, const char *key, json_t *v)
{
	ENSURE(v != NULL, VEIL_E_MALFORMED, "report member \"%s\" cannot be written as JSON", key);
	ENSURE(json_object_set_new(obj, key, v) == 0, VEIL_E_NOMEM, "report member \"%s\"", key);
	return VEIL_OK;
}

static veil_err check_json(const veil_hc_check *c, json_t **out)
{
	json_t *o = json_object();
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(o != NULL, VEIL_E_NOMEM, "report check");
	/* Only what the reader takes back is written (veil_hc_add makes
	 * checks like that; a report filled in by hand may not be). */
	CHECK_THAT(memchr(c->id, '\0', sizeof c->id) != NULL && hc_id_ok(c->id), VEIL_E_USAGE,
		   "check id \"%.47s\" is not a check id", c->id);
	CHECK_THAT(c->status == VEIL_HC_PASS || c->status == VEIL_HC_FAIL ||
		       c->status == VEIL_HC_NA,
		   VEIL_E_USAGE, "check %s has status %d", c->id, (int)c->status);
	CHECK_THAT(
	    text_ok(c->title, sizeof c->title) && c->title[0] != '\0' &&
		text_ok(c->evidence, sizeof c->evidence) && text_ok(c->remedy, sizeof c->remedy),
	    VEIL_E_USAGE, "check %s: a title, evidence or remedy that is not report text", c->id);
	CHECK_THAT(c->status == VEIL_HC_FAIL || c->remedy[0] == '\0', VEIL_E_USAGE,
		   "check %s has a remedy but did not fail", c->id);
	CHECK(put(o, "id", json_string(c->id)));
	CHECK(put(o, "title", json_string(c->title)));
	CHECK(put(o, "status", json_string(veil_hc_status_name(c->status))));
	CHECK(put(o, "required", json_boolean(c->required)));
	CHECK(put(o, "evidence", json_string(c->evidence)));
	CHECK(put(o, "remedy", json_string(c->remedy)));
	*out = o;
	o = NULL;
out:
	json_decref(o);
	return err;
}

veil_err veil_hostcheck_json(const veil_hc_report *r, json_t **out)
{
	json_t *o = NULL, *checks = NULL;
	veil_err err = VEIL_OK;

	ENSURE(r != NULL && out != NULL, VEIL_E_USAGE, "veil_hostcheck_json: NULL argument");
	*out = NULL;
	ENSURE(r->count <= VEIL_HC_CHECKS_MAX, VEIL_E_USAGE, "report of %zu checks", r->count);
	ENSURE(memchr(r->tee, '\0', sizeof r->tee) != NULL && tee_ok(r->tee), VEIL_E_USAGE,
	       "report TEE \"%.7s\" is not snp, tdx or none", r->tee);
	ENSURE(text_ok(r->host, sizeof r->host) && text_ok(r->kernel, sizeof r->kernel) &&
		   text_ok(r->cpu, sizeof r->cpu),
	       VEIL_E_USAGE, "the report's host, kernel or cpu is not report text");
	for (size_t i = 0; i < r->count; i++)
		for (size_t k = 0; k < i; k++)
			ENSURE(strncmp(r->checks[i].id, r->checks[k].id, VEIL_HC_ID_MAX) != 0,
			       VEIL_E_USAGE, "check id %.47s appears twice", r->checks[i].id);
	ENSURE(r->time >= 0 && r->time <= HC_INT_MAX, VEIL_E_USAGE,
	       "report time %lld is not in 0..2^53-1", (long long)r->time);
	/* A report whose verdict its own checks contradict is never written:
	 * no reader would take it. */
	ENSURE(r->pass == hc_verdict(r), VEIL_E_USAGE, "the report says %s but its checks give %s",
	       r->pass ? "pass" : "fail", r->pass ? "fail" : "pass");
	o = json_object();
	checks = json_array();
	CHECK_THAT(o != NULL && checks != NULL, VEIL_E_NOMEM, "report");
	/* jansson keeps insertion order: the documented order. */
	CHECK(put(o, "version", json_integer(VEIL_HC_REPORT_VER)));
	CHECK(put(o, "host", json_string(r->host)));
	CHECK(put(o, "kernel", json_string(r->kernel)));
	CHECK(put(o, "cpu", json_string(r->cpu)));
	CHECK(put(o, "tee", json_string(r->tee)));
	CHECK(put(o, "time", json_integer((json_int_t)r->time)));
	CHECK(put(o, "verdict", json_string(r->pass ? "pass" : "fail")));
	for (size_t i = 0; i < r->count; i++) {
		json_t *c = NULL;

		CHECK(check_json(&r->checks[i], &c));
		CHECK_THAT(json_array_append_new(checks, c) == 0, VEIL_E_NOMEM, "report checks");
	}
	err = put(o, "checks", checks);
	checks = NULL;
	CHECK(err);
	*out = o;
	o = NULL;
out:
	json_decref(checks);
	json_decref(o);
	return err;
}

/* ---- Reading ---- */

/* A string member of at most cap - 1 bytes of report text into dst. */
static veil_err get_text(const json_t *obj, const char *what, const char *key, char *dst,
			 size_t cap, bool nonempty)
{
	const json_t *v = json_object_get(obj, key);
	size_t n;

	ENSURE(v != NULL, VEIL_E_MALFORMED, "%s has no \"%s\"", what, key);
	ENSURE(json_is_string(v), VEIL_E_MALFORMED, "%s \"%s\" is not a string", what, key);
	n = json_string_length(v);
	ENSURE(n < cap, VEIL_E_MALFORMED, "%s \"%s\" is %zu bytes, over %zu", what, key, n,
	       cap - 1);
	ENSURE(!nonempty || n > 0, VEIL_E_MALFORMED, "%s \"%s\" is empty", what, key);
	/* jansson has refused bad UTF-8 and \u0000 already. */
	ENSURE(hc_text_ok(json_string_value(v), n), VEIL_E_MALFORMED,
	       "%s \"%s\" has a control character", what, key);
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
	return VEIL_OK;
}

static veil_err get_check(const json_t *j, size_t i, veil_hc_report *r)
{
	veil_hc_check *c = &r->checks[i];
	char what[48], status[8];
	const json_t *req;

	snprintf(what, sizeof what, "check %zu", i);
	ENSURE(json_is_object(j), VEIL_E_MALFORMED, "%s is not an object", what);
	TRY(veil_json_only_members(j, what, check_members));
	TRY(get_text(j, what, "id", c->id, sizeof c->id, true));
	ENSURE(hc_id_ok(c->id), VEIL_E_MALFORMED, "%s id \"%s\" is not a check id", what, c->id);
	for (size_t k = 0; k < i; k++)
		ENSURE(strcmp(r->checks[k].id, c->id) != 0, VEIL_E_MALFORMED,
		       "check id %s appears twice", c->id);
	TRY(get_text(j, what, "title", c->title, sizeof c->title, true));
	TRY(get_text(j, what, "status", status, sizeof status, true));
	if (strcmp(status, "pass") == 0)
		c->status = VEIL_HC_PASS;
	else if (strcmp(status, "fail") == 0)
		c->status = VEIL_HC_FAIL;
	else if (strcmp(status, "n/a") == 0)
		c->status = VEIL_HC_NA;
	else
		return veil_fail(VEIL_E_MALFORMED, "%s status \"%s\" is not pass, fail or n/a",
				 what, status);
	req = json_object_get(j, "required");
	ENSURE(json_is_boolean(req), VEIL_E_MALFORMED, "%s \"required\" is not true or false",
	       what);
	c->required = json_is_true(req);
	TRY(get_text(j, what, "evidence", c->evidence, sizeof c->evidence, false));
	TRY(get_text(j, what, "remedy", c->remedy, sizeof c->remedy, false));
	ENSURE(c->status == VEIL_HC_FAIL || c->remedy[0] == '\0', VEIL_E_MALFORMED,
	       "%s (%s) has a remedy but did not fail", what, c->id);
	return VEIL_OK;
}

static veil_err parse_into(const json_t *j, veil_hc_report *r)
{
	const json_t *ver, *time, *checks;
	char v[8];

	ENSURE(json_is_object(j), VEIL_E_MALFORMED, "the host report is not a JSON object");
	TRY(veil_json_only_members(j, "the host report", report_members));
	ver = json_object_get(j, "version");
	ENSURE(json_is_integer(ver), VEIL_E_MALFORMED, "host report has no integer \"version\"");
	ENSURE(json_integer_value(ver) == VEIL_HC_REPORT_VER, VEIL_E_UNSUPPORTED,
	       "host report version %lld; this reads version %d",
	       (long long)json_integer_value(ver), VEIL_HC_REPORT_VER);
	TRY(get_text(j, "host report", "host", r->host, sizeof r->host, false));
	TRY(get_text(j, "host report", "kernel", r->kernel, sizeof r->kernel, false));
	TRY(get_text(j, "host report", "cpu", r->cpu, sizeof r->cpu, false));
	TRY(get_text(j, "host report", "tee", r->tee, sizeof r->tee, true));
	ENSURE(tee_ok(r->tee), VEIL_E_MALFORMED, "host report tee \"%s\" is not snp, tdx or none",
	       r->tee);
	time = json_object_get(j, "time");
	/* veil_json_parse keeps 1.0 and 1e3 as reals: refused here. */
	ENSURE(json_is_integer(time), VEIL_E_MALFORMED, "host report has no integer \"time\"");
	ENSURE(json_integer_value(time) >= 0 && json_integer_value(time) <= HC_INT_MAX,
	       VEIL_E_MALFORMED, "host report time %lld is not in 0..2^53-1",
	       (long long)json_integer_value(time));
	r->time = (int64_t)json_integer_value(time);
	TRY(get_text(j, "host report", "verdict", v, sizeof v, true));
	ENSURE(strcmp(v, "pass") == 0 || strcmp(v, "fail") == 0, VEIL_E_MALFORMED,
	       "host report verdict \"%s\" is not pass or fail", v);
	checks = json_object_get(j, "checks");
	ENSURE(json_is_array(checks), VEIL_E_MALFORMED, "host report has no \"checks\" array");
	ENSURE(json_array_size(checks) <= VEIL_HC_CHECKS_MAX, VEIL_E_LIMIT,
	       "host report has %zu checks, over %d", json_array_size(checks), VEIL_HC_CHECKS_MAX);
	for (size_t i = 0; i < json_array_size(checks); i++) {
		TRY(get_check(json_array_get(checks, i), i, r));
		r->count = i + 1;
	}
	r->pass = strcmp(v, "pass") == 0;
	ENSURE(r->pass == hc_verdict(r), VEIL_E_MISMATCH,
	       "host report says %s but its checks give %s", v, r->pass ? "fail" : "pass");
	return VEIL_OK;
}

veil_err veil_hostcheck_parse(const json_t *j, veil_hc_report *r)
{
	veil_hc_report *tmp;
	veil_err err;

	ENSURE(j != NULL && r != NULL, VEIL_E_USAGE, "veil_hostcheck_parse: NULL argument");
	memset(r, 0, sizeof *r);
	/* Built aside, so a report that fails halfway leaves *r empty. */
	tmp = calloc(1, sizeof *tmp);
	ENSURE(tmp != NULL, VEIL_E_NOMEM, "out of memory reading a host report");
	err = parse_into(j, tmp);
	if (err == VEIL_OK)
		*r = *tmp;
	free(tmp);
	return err;
}

/* ---- Signing ---- */

veil_err veil_hostcheck_sign(const veil_jwk *key, const veil_hc_report *r, char **jws)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1], *tok = NULL;
	json_t *doc = NULL, *header = NULL;
	uint8_t *payload = NULL;
	size_t payload_len = 0, tok_len = 0;
	veil_err err;

	ENSURE(jws != NULL && r != NULL, VEIL_E_USAGE, "veil_hostcheck_sign: NULL argument");
	*jws = NULL;
	TRY(veil_jws_profile_key(&report_profile, key, true));
	TRY(veil_jwk_thumbprint_b64(key, kid));
	CHECK(veil_hostcheck_json(r, &doc));
	CHECK(veil_jcs_encode(doc, &payload, &payload_len));
	/* veil_jws_sign writes "alg" first, then these in this order. */
	header = json_pack("{s:s, s:s}", "typ", VEIL_HC_REPORT_TYP, "kid", kid);
	CHECK_THAT(header != NULL, VEIL_E_NOMEM, "host report header");
	CHECK(veil_jws_sign(key, header, payload, payload_len, &tok, &tok_len));
	/* Only a report of almost 96 checks with every text at its cap and
	 * full of characters JSON escapes could reach this; one that no
	 * verifier takes must not be handed out. */
	CHECK_THAT(tok_len <= VEIL_HC_REPORT_MAX_BYTES, VEIL_E_LIMIT,
		   "signed host report of %zu bytes is over the %d-byte limit", tok_len,
		   VEIL_HC_REPORT_MAX_BYTES);
	*jws = tok;
	tok = NULL;
out:
	free(tok);
	free(payload);
	json_decref(doc);
	json_decref(header);
	return err;
}

veil_err veil_hostcheck_verify(const veil_jwk *pub, const char *jws, size_t len, veil_hc_report *r)
{
	json_t *payload = NULL;
	veil_err err;

	ENSURE(r != NULL, VEIL_E_USAGE, "veil_hostcheck_verify: NULL output");
	memset(r, 0, sizeof *r);
	CHECK(veil_jws_profile_verify(&report_profile, pub, jws, len, &payload));
	CHECK(veil_hostcheck_parse(payload, r));
out:
	json_decref(payload);
	return err;
}

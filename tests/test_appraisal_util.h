/*
 * test_appraisal_util.h - helpers shared by the appraisal tests (header-only,
 * static): test_appraisal.c (SNP, TDX, bundles, reference values),
 * test_appraisal_gpu.c (NVIDIA and simulated GPUs) and
 * test_appraisal_policy.c (policy and reference-value parsing, sim).
 *
 * Real evidence is verified through the library entry points the CLI and
 * the daemons use (veil_evidence_verify, veil_result_json,
 * veil_gpu_list_verify), then appraised; the helpers read an EAR back so a
 * test can assert the exact claim, value and reason.
 */
#ifndef VEIL_TEST_APPRAISAL_UTIL_H
#define VEIL_TEST_APPRAISAL_UTIL_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "test_nv_util.h"
#include "veil/appraisal.h"
#include "veil/bundle.h"
#include "veil/json.h"

/* Parses a policy written in the test; NULL (and a test failure) if it does
 * not parse. */
static inline veil_policy *appr_policy(const char *json)
{
	veil_policy *p = NULL;

	if (veil_policy_parse((const uint8_t *)json, strlen(json), "test policy", &p) != VEIL_OK) {
		fprintf(stderr, "policy does not parse: %s\n%s\n", veil_err_detail(), json);
		harness_fail(__FILE__, __LINE__, "appr_policy");
		return NULL;
	}
	return p;
}

/* Reference values from one JSON text (NULL and a failure if refused). */
static inline veil_refvals *appr_refvals(const char *json)
{
	veil_refvals *rv = NULL;

	if (veil_refvals_new(&rv) != VEIL_OK ||
	    veil_refvals_load(rv, (const uint8_t *)json, strlen(json), "test.json") != VEIL_OK) {
		fprintf(stderr, "reference values refused: %s\n", veil_err_detail());
		harness_fail(__FILE__, __LINE__, "appr_refvals");
		veil_refvals_free(rv);
		return NULL;
	}
	return rv;
}

/*
 * Verifies one evidence file of format fmt_name with the collateral files
 * (NULL-terminated, may be NULL; names ending in '/' are folders) at time
 * `at`, and returns the result object as `veil verify --json` prints it.
 * hex: the file holds the report as hex (the NVIDIA reports).
 */
static inline json_t *appr_verify(const char *fmt_name, const char *file, bool hex,
				  const char *const *coll_files, const char *at,
				  veil_revocation_policy revocation, const char *nonce_hex)
{
	const veil_evidence_format *fmt = veil_evidence_format_find(fmt_name);
	static const char *const none[] = {NULL};
	veil_collateral coll;
	veil_checks checks;
	veil_verify_ctx ctx = {.at = td_time(at), .revocation = revocation};
	uint8_t nonce[32];
	size_t len, n = 0;
	void *ev = NULL;
	json_t *claims = json_object(), *res;
	uint8_t *buf = hex ? nv_test_report(file, &len) : td_read(file, &len);

	if (fmt == NULL || claims == NULL) {
		harness_fail(__FILE__, __LINE__, "appr_verify setup");
		exit(2);
	}
	nv_test_coll(&coll, coll_files != NULL ? coll_files : none);
	ctx.collateral = &coll;
	if (nonce_hex != NULL &&
	    (veil_hex_decode(nonce_hex, strlen(nonce_hex), nonce, sizeof nonce, &n) != VEIL_OK ||
	     n != 32))
		harness_fail(__FILE__, __LINE__, "bad nonce in test");
	veil_checks_init(&checks);
	veil_err_clear();
	veil_err err = veil_evidence_verify(fmt, buf, len, &ctx, nonce_hex != NULL ? nonce : NULL,
					    nonce_hex != NULL ? 32 : 0, &checks, &ev);
	if (ev != NULL && fmt->claims(ev, claims) != VEIL_OK)
		harness_fail(__FILE__, __LINE__, "claims");
	res = veil_result_json(fmt->name, err == VEIL_OK && veil_checks_passed(&checks), &checks,
			       claims, ctx.at);
	if (ev != NULL)
		fmt->free(ev);
	json_decref(claims);
	veil_collateral_clear(&coll);
	free(buf);
	return res;
}

/* Appraises and returns the EAR (NULL and a failure on error). */
static inline json_t *appr_run_policy(const veil_policy *p, const veil_refvals *rv,
				      const json_t *res, const char *now)
{
	json_t *ear = NULL;

	if (p == NULL || res == NULL) {
		harness_fail(__FILE__, __LINE__, "appr_run_policy: no policy or result");
		return NULL;
	}
	if (veil_appraise(p, rv, res, td_time(now), &ear) != VEIL_OK || ear == NULL) {
		fprintf(stderr, "veil_appraise failed: %s\n", veil_err_detail());
		harness_fail(__FILE__, __LINE__, "veil_appraise");
		return NULL;
	}
	return ear;
}

static inline json_t *ear_sub(const json_t *ear, const char *sub)
{
	return json_object_get(json_object_get(ear, "submods"), sub);
}

static inline const char *appr_status(const json_t *ear, const char *sub)
{
	const char *s = json_string_value(json_object_get(ear_sub(ear, sub), "ear.status"));
	return s != NULL ? s : "(absent)";
}

/* The value of one trustworthiness claim of submodule sub; -128 if absent. */
static inline int appr_tv(const json_t *ear, const char *sub, const char *claim)
{
	json_t *v = json_object_get(
	    json_object_get(ear_sub(ear, sub), "ear.trustworthiness-vector"), claim);
	return json_is_integer(v) ? (int)json_integer_value(v) : -128;
}

/* Whether submodule sub lists a reason {claim, value, why} whose why
 * contains `needle`. */
static inline bool appr_reason(const json_t *ear, const char *sub, const char *claim, int value,
			       const char *needle)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(ear_sub(ear, sub), "veil.reasons"), i, r)
	{
		const char *c = json_string_value(json_object_get(r, "claim"));
		const char *why = json_string_value(json_object_get(r, "why"));
		if (c != NULL && why != NULL && strcmp(c, claim) == 0 &&
		    json_integer_value(json_object_get(r, "value")) == value &&
		    strstr(why, needle) != NULL)
			return true;
	}
	return false;
}

static inline size_t appr_reason_count(const json_t *ear, const char *sub)
{
	return json_array_size(json_object_get(ear_sub(ear, sub), "veil.reasons"));
}

/* Prints an EAR when a test needs to show why it failed. */
static inline void appr_dump(const json_t *ear)
{
	char *s = json_dumps(ear, JSON_INDENT(1) | JSON_SORT_KEYS);
	fprintf(stderr, "%s\n", s != NULL ? s : "(null)");
	free(s);
}

#endif

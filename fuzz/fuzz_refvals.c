/*
 * fuzz_refvals.c - reference-value file parsing.
 *
 * Beyond "no crash, no leak": a file that loads cannot load a second time
 * into the same set (every set name would be defined twice), a file that
 * fails adds nothing (a policy matching against its first set name still
 * finds no set), and appraisal against whatever loaded never fails.
 */
#include <string.h>

#include "appraisal/appraisal_int.h"
#include "veil/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy[] = "{\"version\":1,\"id\":\"f\",\"snp\":{\"match\":{\"measurement\":"
			     "\"a\",\"host_data\":\"b\"}}}";
static const char result[] =
    "{\"tee\":\"snp\",\"verified\":true,\"checks\":[{\"name\":\"report.signature\",\"ok\":true,"
    "\"detail\":\"\"}],\"claims\":{\"debug\":false,\"vmpl\":0,\"measurement\":\"00ff\","
    "\"host_data\":\"0x00\"}}";

/* The first set name in the document, if it is one. */
static bool first_set(const uint8_t *data, size_t size, char *name, size_t cap)
{
	json_t *doc = NULL;
	bool found = false;

	if (veil_json_parse(data, size, &doc) != VEIL_OK)
		return false;
	json_t *sets = json_object_get(doc, "sets");
	void *it = json_object_iter(sets);
	if (it != NULL && strlen(json_object_iter_key(it)) < cap) {
		memcpy(name, json_object_iter_key(it), strlen(json_object_iter_key(it)) + 1);
		found = true;
	}
	json_decref(doc);
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_refvals *rv = NULL;
	veil_policy *p = NULL;
	json_t *res = NULL, *ear = NULL;
	char name[VEIL_POLICY_NAME_MAX + 2], why[256];

	if (veil_refvals_new(&rv) != VEIL_OK)
		return 0;
	if (veil_refvals_load(rv, data, size, "fuzz") == VEIL_OK) {
		if (veil_refvals_load(rv, data, size, "again") == VEIL_OK)
			abort(); /* every set would be defined twice */
	} else if (first_set(data, size, name, sizeof name) &&
		   refvals_check(rv, name, "x", 0, why, sizeof why) != RV_NO_SET) {
		abort(); /* a failed load added a set */
	}
	if (veil_policy_parse((const uint8_t *)policy, sizeof policy - 1, NULL, &p) != VEIL_OK ||
	    (res = json_loads(result, 0, NULL)) == NULL)
		abort();
	if (veil_appraise(p, rv, res, 1767225600, &ear) != VEIL_OK)
		abort();
	json_decref(ear);
	json_decref(res);
	veil_policy_free(p);
	veil_refvals_free(rv);
	return 0;
}

/*
 * policy.c - the resource policy: which appraisal results may receive which
 * resources. Declarative JSON, read strictly, default deny:
 *
 *   {"version": 1,
 *    "rules": [{"resources": "models/llama/...",    exact path, or a prefix
 *                                                  ending in an asterisk
 *               "status": ["affirming"],           overall EAR status allowed
 *               "tee": ["snp", "tdx"],              optional: CPU TEE types
 *               "allow_insecure": false,            optional: sim, sample
 *               "min_gpus": 1}]}                    optional: affirming GPUs
 *
 * A resource is released only when some rule naming its path admits the
 * session's EAR; no rule, no release. Every condition a rule omits is the
 * strict choice (insecure results refused, no GPU requirement is the only
 * lenient default, since a CPU-only model is legitimate).
 */
#include <stdio.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/json.h"
#include "veil/limits.h"

static const char *const policy_members[] = {"version", "rules", NULL};
static const char *const rule_members[] = {"resources",      "status",   "tee",
					   "allow_insecure", "min_gpus", NULL};

static veil_err strings_check(const json_t *rule, const char *key, bool required,
			      const char *const *allowed)
{
	json_t *list = json_object_get(rule, key), *item;
	size_t i;

	if (list == NULL) {
		ENSURE(!required, VEIL_E_MALFORMED, "a rule has no \"%s\"", key);
		return VEIL_OK;
	}
	ENSURE(json_is_array(list) && json_array_size(list) > 0 &&
		   json_array_size(list) <= VEIL_POLICY_LIST_MAX,
	       VEIL_E_MALFORMED, "\"%s\" must be a list of 1 to %d strings", key,
	       VEIL_POLICY_LIST_MAX);
	json_array_foreach(list, i, item)
	{
		bool ok = false;
		ENSURE(json_is_string(item), VEIL_E_MALFORMED, "\"%s\"[%zu] is not a string", key,
		       i);
		for (size_t j = 0; allowed != NULL && allowed[j] != NULL && !ok; j++)
			ok = strcmp(json_string_value(item), allowed[j]) == 0;
		ENSURE(allowed == NULL || ok, VEIL_E_MALFORMED,
		       "\"%s\"[%zu] \"%.32s\" is not known", key, i, json_string_value(item));
	}
	return VEIL_OK;
}

veil_err kbs_policy_parse(const uint8_t *json, size_t len, json_t **out)
{
	static const char *const statuses[] = {"affirming", "warning", "contraindicated", NULL};
	static const char *const tees[] = {"snp", "tdx", "sim", "sample", NULL};
	json_t *doc = NULL, *rules, *rule;
	int64_t version;
	size_t i;
	veil_err err;

	*out = NULL;
	CHECK(veil_json_parse(json, len, &doc));
	CHECK(veil_json_only_members(doc, "the resource policy", policy_members));
	CHECK(veil_json_get_int(doc, "version", 1, 1, &version));
	CHECK(veil_json_get_array(doc, "rules", &rules));
	CHECK_THAT(json_array_size(rules) <= VEIL_POLICY_MATCH_MAX, VEIL_E_LIMIT,
		   "the resource policy has more than %d rules", VEIL_POLICY_MATCH_MAX);
	json_array_foreach(rules, i, rule)
	{
		const char *pattern;
		json_t *v;
		err = veil_json_only_members(rule, "a resource rule", rule_members);
		if (err == VEIL_OK)
			err = veil_json_get_string(rule, "resources", &pattern);
		if (err == VEIL_OK && (strlen(pattern) == 0 || strlen(pattern) > 256))
			err = veil_fail(VEIL_E_MALFORMED, "\"resources\" must be 1 to 256 bytes");
		if (err == VEIL_OK)
			err = strings_check(rule, "status", true, statuses);
		if (err == VEIL_OK)
			err = strings_check(rule, "tee", false, tees);
		v = json_object_get(rule, "allow_insecure");
		if (err == VEIL_OK && v != NULL && !json_is_boolean(v))
			err =
			    veil_fail(VEIL_E_MALFORMED, "\"allow_insecure\" must be true or false");
		v = json_object_get(rule, "min_gpus");
		if (err == VEIL_OK && v != NULL &&
		    (!json_is_integer(v) || json_integer_value(v) < 0 ||
		     json_integer_value(v) > 16))
			err = veil_fail(VEIL_E_MALFORMED, "\"min_gpus\" must be 0 to 16");
		if (err != VEIL_OK) {
			err = veil_fail_context(err, "resource policy rules[%zu]", i);
			goto out;
		}
	}
	*out = doc;
	doc = NULL;
out:
	json_decref(doc);
	return err;
}

static bool pattern_matches(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);
	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(path, pattern, n - 1) == 0;
	return strcmp(path, pattern) == 0;
}

static bool list_has(const json_t *list, const char *value)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i,
			   item) if (strcmp(json_string_value(item), value) == 0) return true;
	return false;
}

/* Affirming GPU submodules of the EAR (gpu0, gpu1, ...). */
static int affirming_gpus(const json_t *ear)
{
	const char *name;
	json_t *sub;
	int n = 0;

	json_object_foreach((json_t *)json_object_get(ear, "submods"), name, sub)
	{
		const char *st = json_string_value(json_object_get(sub, "ear.status"));
		if (strncmp(name, "gpu", 3) == 0 && st != NULL && strcmp(st, "affirming") == 0)
			n++;
	}
	return n;
}

bool kbs_policy_allows(const json_t *resource_policy, const char *path, const json_t *ear,
		       char *why, size_t why_len)
{
	const char *status = veil_ear_status(ear);
	const json_t *cpu = json_object_get(json_object_get(ear, "submods"), "cpu0");
	const char *tee = json_string_value(json_object_get(cpu, "veil.tee"));
	bool insecure = json_is_true(json_object_get(ear, "veil.insecure"));
	json_t *rule;
	size_t i;

	snprintf(why, why_len, "no rule of the resource policy names %s", path);
	if (resource_policy == NULL) {
		snprintf(why, why_len, "no resource policy is configured: nothing is released");
		return false;
	}
	json_array_foreach(json_object_get(resource_policy, "rules"), i, rule)
	{
		json_t *tees = json_object_get(rule, "tee"),
		       *min = json_object_get(rule, "min_gpus");
		if (!pattern_matches(json_string_value(json_object_get(rule, "resources")), path))
			continue;
		if (!list_has(json_object_get(rule, "status"), status)) {
			snprintf(why, why_len, "rules[%zu]: status %s is not allowed", i, status);
			continue;
		}
		if (tees != NULL && (tee == NULL || !list_has(tees, tee))) {
			snprintf(why, why_len, "rules[%zu]: TEE %s is not allowed", i,
				 tee != NULL ? tee : "(none)");
			continue;
		}
		if (insecure && !json_is_true(json_object_get(rule, "allow_insecure"))) {
			snprintf(why, why_len,
				 "rules[%zu]: the result is insecure (simulated TEE) and the rule "
				 "does not allow that",
				 i);
			continue;
		}
		if (min != NULL && affirming_gpus(ear) < json_integer_value(min)) {
			snprintf(why, why_len, "rules[%zu]: %d affirming GPUs, %lld required", i,
				 affirming_gpus(ear), (long long)json_integer_value(min));
			continue;
		}
		snprintf(why, why_len, "rules[%zu] allows it", i);
		return true;
	}
	return false;
}

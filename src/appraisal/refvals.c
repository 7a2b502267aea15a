/*
 * refvals.c - reference values: named sets of accepted claim values.
 *
 * A policy says which claim must be in which set ("match": {"measurement":
 * "my-workloads"}); the sets come from separate files, because they change
 * with every release of the workload while the policy does not, and are
 * often published by someone else (the workload's build pipeline). A file:
 *
 *   {"version": 1, "expires": "2026-01-01T00:00:00Z",
 *    "sets": {"my-workloads": ["b07af962...", ...]}}
 *
 * Every file carries an expiry so stale reference values stop matching on
 * their own (checked at appraisal time, so a long-running relying party
 * needs no reload to notice). Sets are exact-value allowlists: minimum
 * versions are the policy's business (gpu.min_driver_version, min_tcb).
 * Values that look hexadecimal compare case-insensitively, since claims
 * are lower-case hex and tools print digests in either case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appraisal/appraisal_int.h"
#include "veil/json.h"
#include "veil/timeutil.h"

typedef struct rv_set {
	char *name;
	char **values;
	size_t count;
	int64_t expires;
	char origin[96];
} rv_set;

struct veil_refvals {
	rv_set set[VEIL_REFVALS_SETS_MAX];
	size_t count;
};

static void set_clear(rv_set *s)
{
	for (size_t i = 0; s->values != NULL && i < s->count; i++)
		free(s->values[i]);
	free(s->values);
	free(s->name);
	memset(s, 0, sizeof *s);
}

veil_err veil_refvals_new(veil_refvals **out)
{
	ENSURE(out != NULL, VEIL_E_USAGE, "veil_refvals_new: NULL argument");
	*out = calloc(1, sizeof **out);
	ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

void veil_refvals_free(veil_refvals *rv)
{
	if (rv == NULL)
		return;
	for (size_t i = 0; i < rv->count; i++)
		set_clear(&rv->set[i]);
	free(rv);
}

static const rv_set *set_find(const veil_refvals *rv, const char *name)
{
	for (size_t i = 0; rv != NULL && i < rv->count; i++)
		if (strcmp(rv->set[i].name, name) == 0)
			return &rv->set[i];
	return NULL;
}

static bool set_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VEIL_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static veil_err set_read(const char *name, const json_t *list, rv_set *s)
{
	size_t i;
	json_t *v;

	ENSURE(set_name_ok(name), VEIL_E_MALFORMED,
	       "set name \"%.64s\" must be 1 to %d characters of [A-Za-z0-9._-]", name,
	       VEIL_POLICY_NAME_MAX);
	ENSURE(json_is_array(list) && json_array_size(list) > 0, VEIL_E_MALFORMED,
	       "set \"%s\" must be a non-empty array of strings", name);
	ENSURE(json_array_size(list) <= VEIL_REFVALS_VALUES_MAX, VEIL_E_LIMIT,
	       "set \"%s\" has more than %d values", name, VEIL_REFVALS_VALUES_MAX);
	s->name = strdup(name);
	s->values = calloc(json_array_size(list), sizeof *s->values);
	ENSURE(s->name != NULL && s->values != NULL, VEIL_E_NOMEM, "out of memory");
	json_array_foreach(list, i, v)
	{
		const char *str = json_string_value(v);
		size_t n = str != NULL ? strlen(str) : 0;
		ENSURE(str != NULL && n > 0 && n <= VEIL_REFVALS_VALUE_MAX_LEN, VEIL_E_MALFORMED,
		       "set \"%s\"[%zu] must be a string of 1 to %d characters", name, i,
		       VEIL_REFVALS_VALUE_MAX_LEN);
		for (size_t k = 0; k < n; k++)
			ENSURE((unsigned char)str[k] >= 0x20 && (unsigned char)str[k] < 0x7f,
			       VEIL_E_MALFORMED, "set \"%s\"[%zu] must be printable ASCII", name,
			       i);
		s->values[i] = strdup(str);
		ENSURE(s->values[i] != NULL, VEIL_E_NOMEM, "out of memory");
		s->count = i + 1;
	}
	return VEIL_OK;
}

static veil_err refvals_read(veil_refvals *rv, const json_t *doc, const char *origin, rv_set *fresh,
			     size_t *fresh_count)
{
	static const char *const members[] = {"version", "expires", "sets", NULL};
	const char *expires_text, *name;
	json_t *sets, *list;
	int64_t version, expires;

	TRY(policy_only_members(doc, "reference values", members));
	TRY(veil_json_get_int(doc, "version", 1, 1, &version));
	TRY(veil_json_get_string(doc, "expires", &expires_text));
	ENSURE(veil_time_parse(expires_text, &expires) == VEIL_OK, VEIL_E_MALFORMED,
	       "\"expires\" must be an RFC 3339 time such as 2026-01-01T00:00:00Z");
	TRY(veil_json_get_object(doc, "sets", &sets));
	ENSURE(json_object_size(sets) > 0, VEIL_E_MALFORMED, "\"sets\" is empty");
	ENSURE(rv->count + json_object_size(sets) <= VEIL_REFVALS_SETS_MAX, VEIL_E_LIMIT,
	       "more than %d reference-value sets in all", VEIL_REFVALS_SETS_MAX);
	json_object_foreach(sets, name, list)
	{
		rv_set *s = &fresh[*fresh_count];
		const rv_set *old = set_find(rv, name);
		ENSURE(old == NULL, VEIL_E_MALFORMED,
		       "set \"%.64s\" is already defined (in %s): a set name may be defined once",
		       name, old != NULL ? old->origin : "");
		(*fresh_count)++;
		TRY(set_read(name, list, s));
		s->expires = expires;
		snprintf(s->origin, sizeof s->origin, "%s", origin);
		veil_text_sanitize(s->origin);
	}
	return VEIL_OK;
}

veil_err veil_refvals_load(veil_refvals *rv, const uint8_t *json, size_t len, const char *origin)
{
	rv_set *fresh = NULL;
	size_t fresh_count = 0;
	json_t *doc = NULL;
	veil_err err;

	ENSURE(rv != NULL && (json != NULL || len == 0), VEIL_E_USAGE,
	       "veil_refvals_load: NULL argument");
	if (origin == NULL)
		origin = "reference values";
	CHECK_THAT(len <= VEIL_REFVALS_MAX_BYTES, VEIL_E_LIMIT,
		   "reference values of %zu bytes are over the %d-byte limit", len,
		   VEIL_REFVALS_MAX_BYTES);
	CHECK(veil_json_parse(json, len, &doc));
	CHECK_THAT(json_is_object(doc), VEIL_E_MALFORMED, "not a JSON object");
	fresh = calloc(VEIL_REFVALS_SETS_MAX, sizeof *fresh);
	CHECK_THAT(fresh != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(refvals_read(rv, doc, origin, fresh, &fresh_count));
	/* All or nothing: a file that fails half-way adds no set. */
	memcpy(&rv->set[rv->count], fresh, fresh_count * sizeof *fresh);
	rv->count += fresh_count;
	fresh_count = 0;
out:
	if (err != VEIL_OK)
		err = veil_fail_context(err, "%.200s", origin);
	for (size_t i = 0; fresh != NULL && i < fresh_count; i++)
		set_clear(&fresh[i]);
	free(fresh);
	json_decref(doc);
	return err;
}

/* Optional "0x", then only hex digits. */
static bool hexish(const char *s)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

static bool value_equal(const char *ref, const char *claim)
{
	if (hexish(ref) && hexish(claim))
		return strcasecmp(ref, claim) == 0;
	return strcmp(ref, claim) == 0;
}

rv_outcome refvals_check(const veil_refvals *rv, const char *set, const char *value, int64_t now,
			 char *why, size_t cap)
{
	const rv_set *s = set_find(rv, set);
	char when[21];

	if (s == NULL) {
		snprintf(why, cap, "reference-value set \"%s\" is not loaded%s", set,
			 rv == NULL ? " (no reference values given)" : "");
		return RV_NO_SET;
	}
	/* The expiry is exclusive: at the instant it names, the set is stale. */
	if (now >= s->expires) {
		veil_time_format(s->expires, when);
		snprintf(why, cap, "reference-value set \"%s\" (%s) expired at %s", set, s->origin,
			 when);
		return RV_EXPIRED;
	}
	for (size_t i = 0; i < s->count; i++)
		if (value_equal(s->values[i], value))
			return RV_MATCH;
	snprintf(why, cap, "\"%.120s\" is not in reference-value set \"%s\" (%s)", value, set,
		 s->origin);
	return RV_MISMATCH;
}

/*
 * json.c - strict JSON parsing and typed getters (see json.h).
 *
 * jansson does the parsing with JSON_REJECT_DUPLICATES (two values for one
 * key are how a signed document gets read two ways) and without
 * JSON_ALLOW_NUL. The size cap applies before parsing and the depth cap after,
 * since jansson's own depth limit (2048) is far above what Veil accepts.
 */
#include "veil/json.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "veil/limits.h"
#include "veil/secret.h"

static veil_err json_check_depth(const json_t *v, int depth)
{
	if (depth > VEIL_JSON_MAX_DEPTH)
		return veil_fail(VEIL_E_LIMIT, "JSON nested deeper than %d levels",
				 VEIL_JSON_MAX_DEPTH);
	if (json_is_object(v)) {
		const char *key;
		json_t *child;
		json_object_foreach((json_t *)v, key, child)
		    TRY(json_check_depth(child, depth + 1));
	} else if (json_is_array(v)) {
		size_t i;
		json_t *child;
		json_array_foreach(v, i, child) TRY(json_check_depth(child, depth + 1));
	}
	return VEIL_OK;
}

veil_err veil_json_parse(const uint8_t *buf, size_t len, json_t **out)
{
	return veil_json_parse_max(buf, len, VEIL_JSON_MAX_BYTES, out);
}

veil_err veil_json_parse_max(const uint8_t *buf, size_t len, size_t max, json_t **out)
{
	json_error_t jerr;
	json_t *v;
	veil_err err;

	if (len > max)
		return veil_fail(VEIL_E_LIMIT,
				 "JSON document of %zu bytes is over the %zu-byte limit", len, max);
	v = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL)
		return veil_fail(VEIL_E_MALFORMED, "JSON: %s at line %d column %d", jerr.text,
				 jerr.line, jerr.column);
	err = json_check_depth(v, 1);
	if (err != VEIL_OK) {
		json_decref(v);
		return err;
	}
	*out = v;
	return VEIL_OK;
}

veil_err veil_json_get_object(const json_t *obj, const char *key, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	ENSURE(v != NULL, VEIL_E_MALFORMED, "JSON: missing \"%s\"", key);
	ENSURE(json_is_object(v), VEIL_E_MALFORMED, "JSON: \"%s\" must be an object", key);
	*out = v;
	return VEIL_OK;
}

veil_err veil_json_get_array(const json_t *obj, const char *key, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	ENSURE(v != NULL, VEIL_E_MALFORMED, "JSON: missing \"%s\"", key);
	ENSURE(json_is_array(v), VEIL_E_MALFORMED, "JSON: \"%s\" must be an array", key);
	*out = v;
	return VEIL_OK;
}

veil_err veil_json_get_string(const json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);
	ENSURE(v != NULL, VEIL_E_MALFORMED, "JSON: missing \"%s\"", key);
	ENSURE(json_is_string(v), VEIL_E_MALFORMED, "JSON: \"%s\" must be a string", key);
	*out = json_string_value(v);
	return VEIL_OK;
}

veil_err veil_json_get_int(const json_t *obj, const char *key, int64_t min, int64_t max,
			   int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	ENSURE(v != NULL, VEIL_E_MALFORMED, "JSON: missing \"%s\"", key);
	ENSURE(json_is_integer(v), VEIL_E_MALFORMED, "JSON: \"%s\" must be an integer", key);
	json_int_t i = json_integer_value(v);
	ENSURE(i >= min && i <= max, VEIL_E_MALFORMED,
	       "JSON: \"%s\" is %" PRId64 ", outside %" PRId64 "..%" PRId64, key, (int64_t)i, min,
	       max);
	*out = (int64_t)i;
	return VEIL_OK;
}

veil_err veil_json_only_members(const json_t *obj, const char *what, const char *const *allowed)
{
	const char *key;
	json_t *v;

	ENSURE(json_is_object(obj), VEIL_E_MALFORMED, "%s is not a JSON object", what);
	json_object_foreach((json_t *)obj, key, v)
	{
		bool known = false;
		for (size_t i = 0; allowed[i] != NULL && !known; i++)
			known = strcmp(key, allowed[i]) == 0;
		(void)v;
		ENSURE(known, VEIL_E_MALFORMED, "%s has an unknown member \"%.64s\"", what, key);
	}
	return VEIL_OK;
}

static void *json_alloc(size_t n)
{
	return malloc(n);
}

static void json_release(void *p)
{
	if (p != NULL)
		veil_wipe(p, malloc_usable_size(p));
	free(p);
}

void veil_json_wipe_on_free(void)
{
	json_set_alloc_funcs(json_alloc, json_release);
}

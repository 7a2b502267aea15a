/*
 * test_result_util.h - reading a verification result (veil_result_json's
 * shape: {tee, verified, at, checks: [{name, ok, detail}], claims,
 * submods}) in tests.
 */
#ifndef VEIL_TEST_RESULT_UTIL_H
#define VEIL_TEST_RESULT_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

/* Whether result res has a check `name` with this outcome. */
static inline bool result_has_check(const json_t *res, const char *name, bool ok)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(res, "checks"), i, c)
	{
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n != NULL && strcmp(n, name) == 0 &&
		    json_is_true(json_object_get(c, "ok")) == ok)
			return true;
	}
	return false;
}

#endif

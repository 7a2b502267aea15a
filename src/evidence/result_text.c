/*
 * result_text.c - a verification result's failed checks in one line
 * ("bundle.binding.primary, cpu0.report_data"), for a refusal's detail:
 * the key broker's attest error and the gateway's admission refusal say
 * which checks failed, not only that verification did.
 */
#include <stdio.h>

#include "veil/bundle.h"

/* Appends "<part>.<check>" for each failed check of one result part. */
static void failed_in(const json_t *part, const char *name, char *out, size_t len, size_t *used)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(part, "checks"), i, c)
	{
		int n;
		if (json_is_true(json_object_get(c, "ok")) || *used + 1 >= len)
			continue;
		n = snprintf(out + *used, len - *used, "%s%s.%s", *used > 0 ? ", " : "", name,
			     json_string_value(json_object_get(c, "name")) != NULL
				 ? json_string_value(json_object_get(c, "name"))
				 : "?");
		*used = n < 0 || (size_t)n >= len - *used ? len - 1 : *used + (size_t)n;
	}
}

/* The failed checks of a result and its submodules, for the refusal's
 * detail ("bundle.binding.primary, cpu.report_data"). */
void veil_result_failed_checks(const json_t *result, char *out, size_t len)
{
	const char *name;
	json_t *part;
	size_t used = 0;

	if (len == 0)
		return;
	out[0] = '\0';
	failed_in(result, "bundle", out, len, &used);
	json_object_foreach(json_object_get(result, "submods"), name, part)
	    failed_in(part, name, out, len, &used);
}

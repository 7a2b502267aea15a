/*
 * fuzz_json.c - strict JSON parsing, JCS and the raw member scanner.
 *
 * Beyond "no crash", checks one property: JCS is idempotent, so
 * JCS(parse(JCS(x))) must equal JCS(x) byte for byte; and any span the raw
 * scanner returns lies inside the input. One exception: a real of
 * magnitude 2^53 or more with no fraction is written by JCS (ES6 number
 * formatting) in integer form below 1e21, which parses back as an integer
 * that Veil's parser refuses (beyond 64 bits) or JCS itself refuses
 * (beyond 2^53, where an integer has no exact double). Those refusals are
 * strictness, not JCS being wrong.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "veil/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether v holds a real that JCS writes as an integer beyond 2^53. */
static int has_huge_real(const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_real(v))
		return fabs(json_real_value(v)) >= 9007199254740992.0;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item)
		{
			if (has_huge_real(item))
				return 1;
		}
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
		{
			if (has_huge_real(item))
				return 1;
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *again = NULL;
	uint8_t *c1 = NULL, *c2 = NULL;
	size_t n1, n2;
	const uint8_t *span;
	size_t span_len;

	if (veil_json_raw_member(data, size, "tcbInfo", &span, &span_len) == VEIL_OK &&
	    (span < data || span + span_len > data + size))
		abort();
	if (veil_json_parse(data, size, &v) != VEIL_OK)
		return 0;
	if (veil_jcs_encode(v, &c1, &n1) == VEIL_OK) {
		/* Canonical output must parse and be a fixed point. */
		if (veil_json_parse(c1, n1, &again) != VEIL_OK ||
		    veil_jcs_encode(again, &c2, &n2) != VEIL_OK) {
			if (!has_huge_real(v))
				abort();
		} else if (n1 != n2 || memcmp(c1, c2, n1) != 0) {
			abort();
		}
	}
	free(c1);
	free(c2);
	json_decref(again);
	json_decref(v);
	return 0;
}

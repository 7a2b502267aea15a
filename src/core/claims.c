/*
 * claims.c - typed setters for the flat claims object (see claims.h).
 */
#include "veil/claims.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "veil/codec.h"

/* Largest integer JSON consumers (and JCS) can hold exactly: 2^53 - 1. */
#define CLAIM_MAX_SAFE_INT 9007199254740991ULL

static veil_err claim_put(json_t *claims, const char *key, json_t *v)
{
	if (v == NULL)
		return veil_fail(VEIL_E_NOMEM, "claim %s: out of memory", key);
	if (json_object_set_new(claims, key, v) != 0)
		return veil_fail(VEIL_E_NOMEM, "claim %s: cannot store", key);
	return VEIL_OK;
}

veil_err veil_claim_hex(json_t *claims, const char *key, const uint8_t *p, size_t n)
{
	char *hex = malloc(2 * n + 1);
	veil_err err;

	if (hex == NULL)
		return veil_fail(VEIL_E_NOMEM, "claim %s: out of memory", key);
	veil_hex_encode(p, n, hex);
	err = claim_put(claims, key, json_string(hex));
	free(hex);
	return err;
}

veil_err veil_claim_uint(json_t *claims, const char *key, uint64_t v)
{
	if (v > CLAIM_MAX_SAFE_INT)
		return veil_claim_u64hex(claims, key, v);
	return claim_put(claims, key, json_integer((json_int_t)v));
}

veil_err veil_claim_u64hex(json_t *claims, const char *key, uint64_t v)
{
	char buf[19];
	snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
	return claim_put(claims, key, json_string(buf));
}

veil_err veil_claim_bool(json_t *claims, const char *key, bool v)
{
	return claim_put(claims, key, json_boolean(v));
}

veil_err veil_claim_str(json_t *claims, const char *key, const char *s)
{
	return claim_put(claims, key, json_string(s));
}

veil_err veil_claim_json(json_t *claims, const char *key, json_t *v)
{
	return claim_put(claims, key, v);
}

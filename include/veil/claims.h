/*
 * claims.h - helpers that put evidence claims into a flat JSON object.
 *
 * Each evidence format documents its claim keys (docs/claims.md). Values are
 * one of: lower-case hex strings for byte strings, JSON integers for numbers
 * that fit in 53 bits, "0x"-prefixed hex strings for 64-bit words, booleans,
 * and plain strings. Claims are what appraisal reads; nothing else is.
 */
#ifndef VEIL_CLAIMS_H
#define VEIL_CLAIMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

VEIL_MUST_CHECK veil_err veil_claim_hex(json_t *claims, const char *key, const uint8_t *p,
					size_t n);
VEIL_MUST_CHECK veil_err veil_claim_uint(json_t *claims, const char *key, uint64_t v);
VEIL_MUST_CHECK veil_err veil_claim_u64hex(json_t *claims, const char *key, uint64_t v);
VEIL_MUST_CHECK veil_err veil_claim_bool(json_t *claims, const char *key, bool v);
VEIL_MUST_CHECK veil_err veil_claim_str(json_t *claims, const char *key, const char *s);
/* Takes over the reference to v. */
VEIL_MUST_CHECK veil_err veil_claim_json(json_t *claims, const char *key, json_t *v);

#endif

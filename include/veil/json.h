/*
 * json.h - strict JSON in, canonical JSON (RFC 8785, JCS) out.
 *
 * All JSON Veil reads comes through veil_json_parse: size capped before
 * parsing, duplicate object keys rejected, NUL characters rejected, nesting
 * depth capped after. veil_json_raw_member finds the exact bytes of one
 * top-level member's value without re-serialising, because Intel signs the
 * tcbInfo / enclaveIdentity object exactly as served.
 */
#ifndef VEIL_JSON_H
#define VEIL_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"
#include "veil/error.h"

/* Parses len bytes (no NUL needed) as one JSON value; *out is owned by the
 * caller (json_decref). Numbers without fraction or exponent become jansson
 * integers when they fit in int64; integers that do not fit are an error. */
VEIL_MUST_CHECK veil_err veil_json_parse(const uint8_t *buf, size_t len, json_t **out);
/* The same with another size cap, for documents whose own limit differs
 * from VEIL_JSON_MAX_BYTES (a JWE carrying a 1 MiB resource). */
VEIL_MUST_CHECK veil_err veil_json_parse_max(const uint8_t *buf, size_t len, size_t max,
					     json_t **out);

/* Finds the value of member `key` of the top-level object in buf and returns
 * its exact byte span (borrowed). Fails if buf is not one object, if the key
 * is absent or appears twice. Does not validate the value beyond its syntax. */
VEIL_MUST_CHECK veil_err veil_json_raw_member(const uint8_t *buf, size_t len, const char *key,
					      const uint8_t **value, size_t *value_len);

/* RFC 8785: appends the canonical form of v to w. Integers beyond +-(2^53-1)
 * and non-finite reals are rejected (they have no exact I-JSON form). */
VEIL_MUST_CHECK veil_err veil_jcs_write(const json_t *v, veil_writer *w);
/* Convenience: canonical bytes in a new buffer the caller frees. */
VEIL_MUST_CHECK veil_err veil_jcs_encode(const json_t *v, uint8_t **out, size_t *out_len);

/* Typed getters that fail with a message naming the key. */
VEIL_MUST_CHECK veil_err veil_json_get_object(const json_t *obj, const char *key, json_t **out);
VEIL_MUST_CHECK veil_err veil_json_get_array(const json_t *obj, const char *key, json_t **out);
VEIL_MUST_CHECK veil_err veil_json_get_string(const json_t *obj, const char *key, const char **out);
VEIL_MUST_CHECK veil_err veil_json_get_int(const json_t *obj, const char *key, int64_t min,
					   int64_t max, int64_t *out);
/* Fails unless obj is an object whose members are all in the NULL-ended
 * list `allowed`; `what` names it in the message ("the bundle"). */
VEIL_MUST_CHECK veil_err veil_json_only_members(const json_t *obj, const char *what,
						const char *const *allowed);

/* Makes jansson wipe every block it frees (json_set_alloc_funcs): its
 * allocations hold request bodies while they are parsed and answers while
 * they are written, scratch buffers included, so a process that handles
 * prompts or completions calls this once, before any thread uses jansson,
 * and no prompt or completion lingers in freed memory. */
void veil_json_wipe_on_free(void);

#endif

/*
 * bhttp_internal.h - the rules that Binary HTTP decoding and encoding share.
 *
 * A message the decoder accepts must be one the encoder can write, and the
 * encoder must never write one the decoder refuses, so both sides check
 * control data, field lines and status codes with the same functions. The
 * only difference is the error they report: VEIL_E_MALFORMED for bytes that
 * came from a peer, VEIL_E_USAGE for a struct the caller filled in.
 */
#ifndef VEIL_OHTTP_BHTTP_INTERNAL_H
#define VEIL_OHTTP_BHTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bhttp.h"
#include "veil/error.h"

/* The four request control data strings (RFC 9292 section 3.4), as bytes:
 * the decoder checks them before it makes NUL-terminated copies. */
typedef struct bhttp_control {
	const uint8_t *p[4];
	size_t n[4];
} bhttp_control;

enum { BHTTP_METHOD, BHTTP_SCHEME, BHTTP_AUTHORITY, BHTTP_PATH };

/* Where a field section sits: pseudo-fields may not appear in trailers. */
typedef struct bhttp_section_state {
	const char *what; /* "header section", "trailer section", ... */
	bool trailer;
	bool seen_regular; /* a regular field was seen: no pseudo-field after */
	size_t index;      /* field lines checked so far */
} bhttp_section_state;

/* Checks request control data against the rules RFC 9292 section 3.4
 * imports from RFC 9113 section 8.3.1; `bad` is the error to report. */
VEIL_MUST_CHECK veil_err bhttp_check_control(const bhttp_control *c, veil_err bad);
/* Checks the next field line of a section (RFC 9292 section 3.6): the name
 * is a token or an allowed pseudo-field in an allowed place, the value is
 * one RFC 9113 section 8.2.1 accepts, both within VEIL_BHTTP_FIELD_MAX. */
VEIL_MUST_CHECK veil_err bhttp_check_field(bhttp_section_state *st, const uint8_t *name,
					   size_t name_len, const uint8_t *value, size_t value_len,
					   veil_err bad);
/* Appends copies of a name and value to f, within VEIL_BHTTP_FIELDS_MAX. */
VEIL_MUST_CHECK veil_err bhttp_fields_push(veil_bhttp_fields *f, const uint8_t *name,
					   size_t name_len, const uint8_t *value, size_t value_len);
/* Appends an informational response with the given (already checked)
 * status and an empty header section to m, within
 * VEIL_BHTTP_INFORMATIONAL_MAX, and points *fields at that section. */
VEIL_MUST_CHECK veil_err bhttp_informational_push(veil_bhttp_msg *m, uint16_t status,
						  veil_bhttp_fields **fields);
/* RFC 9292 section 3.5: 100..199 informational, 200..599 final. */
bool bhttp_status_informational(uint64_t status);
bool bhttp_status_final(uint64_t status);
/* A NUL-terminated copy of n bytes (n + 1 allocated, never NULL on
 * success), or NULL when out of memory. */
uint8_t *bhttp_dup(const uint8_t *p, size_t n);
/* Wipes and frees a field section; leaves it empty. */
void bhttp_fields_clear(veil_bhttp_fields *f);

#endif

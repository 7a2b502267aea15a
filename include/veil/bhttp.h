/*
 * bhttp.h - Binary HTTP messages (RFC 9292), the plaintext inside every
 * Oblivious HTTP request and response.
 *
 * Decoding reads through the bounded reader, accepts the known-length
 * (framing 0 and 1) and indeterminate-length (2 and 3) forms, truncated
 * messages (section 3.8) and zero padding, and caps every count and size
 * (limits.h: VEIL_BHTTP_*). A decoded message owns copies of everything it
 * holds, because indeterminate-length content arrives in pieces that must be
 * joined; veil_bhttp_msg_clear() wipes the content and fields before freeing
 * them, since they are a user's prompt or a model's answer.
 *
 * Encoding writes either form; the known-length form is the default, and the
 * indeterminate form is what a streaming sender uses when it does not know
 * the content length in advance.
 */
#ifndef VEIL_BHTTP_H
#define VEIL_BHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"
#include "veil/error.h"

/* RFC 9292 section 3.3 framing indicators. */
#define VEIL_BHTTP_KNOWN_REQUEST          0
#define VEIL_BHTTP_KNOWN_RESPONSE         1
#define VEIL_BHTTP_INDETERMINATE_REQUEST  2
#define VEIL_BHTTP_INDETERMINATE_RESPONSE 3

typedef struct veil_bhttp_field {
	char *name; /* NUL-terminated for convenience; name_len excludes it */
	size_t name_len;
	uint8_t *value;
	size_t value_len;
} veil_bhttp_field;

typedef struct veil_bhttp_fields {
	veil_bhttp_field *items;
	size_t count;
} veil_bhttp_fields;

/* An informational (1xx) response ahead of the final one (section 3.5). */
typedef struct veil_bhttp_informational {
	uint16_t status;
	veil_bhttp_fields fields;
} veil_bhttp_informational;

typedef struct veil_bhttp_msg {
	bool request;
	/* Decode: the framing was indeterminate-length. Encode: write that form. */
	bool indeterminate;
	/* Request control data (section 3.4); NUL-terminated copies. */
	char *method;
	char *scheme;
	char *authority;
	char *path;
	/* Response control data: the final status, and any 1xx before it. */
	uint16_t status;
	veil_bhttp_informational *informational;
	size_t informational_count;
	veil_bhttp_fields header;
	uint8_t *content;
	size_t content_len;
	veil_bhttp_fields trailer;
	/* Decode: zero bytes of padding after the message (section 3.8). */
	size_t padding;
} veil_bhttp_msg;

/* Decodes one whole message. VEIL_E_TRUNCATED if it ends inside a field,
 * VEIL_E_MALFORMED for a bad framing indicator, status, varint or non-zero
 * padding, VEIL_E_LIMIT past a cap. On failure *m is left cleared. */
VEIL_MUST_CHECK veil_err veil_bhttp_decode(const uint8_t *p, size_t n, veil_bhttp_msg *m);
/* Appends the encoding of m to w. VEIL_E_USAGE for a message that cannot be
 * encoded (a request without method, a status outside 200..599, a 1xx on a
 * request). */
VEIL_MUST_CHECK veil_err veil_bhttp_encode(const veil_bhttp_msg *m, veil_writer *w);
/* Wipes and frees everything m owns; leaves m zeroed. */
void veil_bhttp_msg_clear(veil_bhttp_msg *m);

/* Building a message to encode: copies of the given strings and bytes. */
VEIL_MUST_CHECK veil_err veil_bhttp_request_init(veil_bhttp_msg *m, const char *method,
						 const char *scheme, const char *authority,
						 const char *path);
VEIL_MUST_CHECK veil_err veil_bhttp_response_init(veil_bhttp_msg *m, uint16_t status);
/* Appends an informational response (status 100..199) to a response being
 * built; *fields receives its field section, to fill with fields_add (valid
 * until the next informational_add, which may move the array). */
VEIL_MUST_CHECK veil_err veil_bhttp_informational_add(veil_bhttp_msg *m, uint16_t status,
						      veil_bhttp_fields **fields);
VEIL_MUST_CHECK veil_err veil_bhttp_fields_add(veil_bhttp_fields *f, const char *name,
					       const uint8_t *value, size_t value_len);
VEIL_MUST_CHECK veil_err veil_bhttp_set_content(veil_bhttp_msg *m, const uint8_t *p, size_t n);
/* The first field named `name` (field names are compared case-insensitively),
 * or NULL. */
const veil_bhttp_field *veil_bhttp_fields_find(const veil_bhttp_fields *f, const char *name);

/* QUIC variable-length integers (RFC 9000 section 16), as BHTTP and chunked
 * OHTTP frame their lengths. Reading rejects nothing but truncation: every
 * encoding of a value is valid (RFC 9292 section 3.1 does not require the
 * shortest). Writing uses the shortest form; values above 2^62 - 1 are
 * VEIL_E_USAGE. */
VEIL_MUST_CHECK veil_err veil_reader_varint(veil_reader *r, uint64_t *out);
VEIL_MUST_CHECK veil_err veil_writer_varint(veil_writer *w, uint64_t v);
/* The shortest encoding's length, 0 for a value above 2^62 - 1. */
size_t veil_varint_len(uint64_t v);
/* Writes the shortest encoding of v to out and returns its length (0, and
 * nothing written, for a value above 2^62 - 1). */
size_t veil_varint_encode(uint64_t v, uint8_t out[8]);

#endif

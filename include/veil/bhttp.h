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

/*
 * An indeterminate-length BHTTP response (framing indicator 3) read
 * incrementally, as a client reads the plaintext of a chunked OHTTP
 * response (draft-ietf-ohai-chunked-ohttp): bytes arrive in pieces of any
 * size. Varints and field lines are gathered in a bounded buffer (within
 * VEIL_BHTTP_FIELD_MAX); content is handed on without being buffered. The
 * trailer section is checked and dropped. Same caps and rules as
 * veil_bhttp_decode, except that the stream is complete only once the
 * content terminator was seen (see docs/bhttp.md).
 */
typedef struct veil_bhttp_stream veil_bhttp_stream;
typedef struct veil_bhttp_stream_cb {
	/* Informational (1xx) responses are checked and skipped; called once
	 * with the final status and its header fields (valid during the call
	 * only). May be NULL. */
	veil_err (*on_head)(void *user, uint16_t status, const veil_bhttp_fields *fields);
	/* Each piece of content as it becomes available (may be called with
	 * parts of one BHTTP content chunk; never with n == 0). May be NULL. */
	veil_err (*on_content)(void *user, const uint8_t *p, size_t n);
	void *user;
} veil_bhttp_stream_cb;
VEIL_MUST_CHECK veil_err veil_bhttp_stream_new(const veil_bhttp_stream_cb *cb,
					       veil_bhttp_stream **out);
/* Feeds n bytes (any split). Errors: VEIL_E_MALFORMED (framing indicator
 * other than 3, bad status, bad field, non-zero padding), VEIL_E_LIMIT (over
 * the caps), or what a callback returned. Any error fails the stream: later
 * feeds and finish return the same error. */
VEIL_MUST_CHECK veil_err veil_bhttp_stream_feed(veil_bhttp_stream *s, const uint8_t *p, size_t n);
/* At the end of input: VEIL_OK only if the content terminator was seen and
 * the trailer section is complete, or absent (the input ended right after
 * the content terminator, section 3.8); VEIL_E_TRUNCATED otherwise. */
VEIL_MUST_CHECK veil_err veil_bhttp_stream_finish(veil_bhttp_stream *s);
/* Wipes buffered bytes and frees s; NULL is a no-op. */
void veil_bhttp_stream_free(veil_bhttp_stream *s);

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

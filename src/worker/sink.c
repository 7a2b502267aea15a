/*
 * sink.c - where a response goes (docs/worker.md "One handler, two
 * forms"). A completion is produced the same way whether the request came
 * in plain or through Oblivious HTTP; only its last step differs:
 *
 *   plain          the status, headers and body go to the HTTP client as
 *                  they are, streamed or whole (a deferred reply, since
 *                  the engine runs on a thread of its own);
 *   ohttp          the inner response is one Binary HTTP message (RFC 9292,
 *                  known length) encapsulated as message/ohttp-res (RFC
 *                  9458 section 4.4); a stream is gathered and sealed whole
 *                  at its end, which is what a client that asked for
 *                  message/ohttp-req has to get;
 *   ohttp chunked  the inner response is an indeterminate-length Binary
 *                  HTTP message (RFC 9292 section 3.2) sealed piece by
 *                  piece as chunked OHTTP (draft-ietf-ohai-chunked-ohttp
 *                  section 5): the framing, status and header fields
 *                  sealed with the first streamed piece, then one chunk
 *                  per piece, and the content terminator and an empty
 *                  trailer section in the final chunk.
 *
 * The outer response of the OHTTP forms is always 200 with the
 * encapsulated media type: the real status is inside, where only the
 * client can read it.
 */
#include <stdlib.h>
#include <string.h>

#include "veil/bhttp.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "worker/worker_internal.h"

/* The most content one chunked-OHTTP chunk carries, leaving room in
 * VEIL_OHTTP_CHUNK_MAX for the BHTTP framing (the head travels with the
 * first piece). */
#define WK_PIECE_MAX (VEIL_OHTTP_CHUNK_MAX - 8192)

/* ---- plain ---- */

typedef struct plain_sink {
	wk_sink base;
	veil_http_deferred *d;
} plain_sink;

static veil_err plain_header(wk_sink *s, const char *name, const char *value)
{
	return veil_http_deferred_add_header(((plain_sink *)s)->d, name, value);
}

static void plain_reply(wk_sink *s, int status, const char *type, const void *body, size_t len)
{
	veil_http_deferred_reply(((plain_sink *)s)->d, status, type, body, len);
	free(s);
}

static void plain_begin(wk_sink *s, int status, const char *type)
{
	veil_http_deferred_begin(((plain_sink *)s)->d, status, type);
}

static bool plain_write(wk_sink *s, const void *p, size_t n)
{
	return veil_http_deferred_write(((plain_sink *)s)->d, p, n);
}

static void plain_end(wk_sink *s)
{
	veil_http_deferred_end(((plain_sink *)s)->d);
	free(s);
}

static bool plain_gone(const wk_sink *s)
{
	return veil_http_deferred_gone(((const plain_sink *)s)->d);
}

static const wk_sink_ops plain_ops = {plain_header, plain_reply, plain_begin,
				      plain_write,  plain_end,   plain_gone};

wk_sink *wk_sink_plain(veil_http_deferred *d)
{
	plain_sink *s = calloc(1, sizeof *s);

	if (s == NULL) {
		veil_http_deferred_reply(d, 500, "text/plain", "internal error\n", 15);
		return NULL;
	}
	s->base.ops = &plain_ops;
	s->d = d;
	return &s->base;
}

/* ---- OHTTP ---- */

typedef struct ohttp_sink {
	wk_sink base;
	veil_http_deferred *d;
	veil_ohttp_exchange x;
	bool chunked;
	bool begun;
	bool failed;
	veil_bhttp_msg msg; /* status and header fields gathered before the body */
	veil_writer body;   /* whole form: the content gathered */
	veil_writer out;    /* chunked form: scratch for one sealed chunk */
	veil_writer inner;  /* chunked form: scratch for one inner piece */
} ohttp_sink;

static void ohttp_free(wk_sink *base)
{
	ohttp_sink *s = (ohttp_sink *)base;

	veil_ohttp_exchange_clear(&s->x);
	veil_bhttp_msg_clear(&s->msg);
	veil_writer_clear(&s->body);
	veil_writer_clear(&s->out);
	veil_writer_clear(&s->inner);
	free(s);
}

static veil_err ohttp_header(wk_sink *base, const char *name, const char *value)
{
	ohttp_sink *s = (ohttp_sink *)base;
	char lower[64];
	size_t n = strlen(name);

	ENSURE(!s->begun, VEIL_E_USAGE, "header %s after the response began", name);
	ENSURE(n > 0 && n < sizeof lower, VEIL_E_USAGE, "header name of %zu bytes", n);
	/* Field names in lowercase, as HTTP/2 and HTTP/3 carry them (RFC 9113
	 * section 8.2.1), so decoders that expect that form read ours. */
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	return veil_bhttp_fields_add(&s->msg.header, lower, (const uint8_t *)value, strlen(value));
}

/* The whole form: one BHTTP response sealed as message/ohttp-res. */
static void whole_send(ohttp_sink *s, int status, const void *body, size_t len)
{
	veil_writer bhttp, sealed;
	veil_err err;

	veil_writer_init(&bhttp, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&sealed, VEIL_OHTTP_MESSAGE_MAX);
	s->msg.status = (uint16_t)status;
	err = veil_bhttp_set_content(&s->msg, body, len);
	if (err == VEIL_OK)
		err = veil_bhttp_encode(&s->msg, &bhttp);
	if (err == VEIL_OK)
		err = veil_ohttp_response_encap(&s->x, bhttp.data, bhttp.len, &sealed);
	if (err == VEIL_OK)
		veil_http_deferred_reply(s->d, 200, VEIL_OHTTP_RES_TYPE, sealed.data, sealed.len);
	else
		veil_http_deferred_reply(s->d, 500, "text/plain", "cannot seal the response\n", 25);
	veil_writer_clear(&bhttp);
	veil_writer_clear(&sealed);
}

/* The chunked form: seals s->inner as the next chunk and sends it. */
static bool chunk_send(ohttp_sink *s, bool final)
{
	veil_err err;

	if (s->failed)
		return false;
	/* s->out may already hold the response nonce (chunked_start): it
	 * leaves with the first chunk, in one write. */
	err = veil_ohttp_chunk_seal(&s->x, s->inner.data, s->inner.len, final, &s->out);
	s->inner.len = 0;
	if (err != VEIL_OK || !veil_http_deferred_write(s->d, s->out.data, s->out.len)) {
		s->failed = true;
		return false;
	}
	s->out.len = 0;
	return true;
}

/* RFC 9292 section 3.2: an indeterminate-length response starts with
 * framing indicator 3, the status, and the header field lines ended by a
 * zero-length name (the content terminator of a field section). */
static veil_err chunked_head(ohttp_sink *s, int status)
{
	veil_writer *w = &s->inner;

	TRY(veil_writer_varint(w, VEIL_BHTTP_INDETERMINATE_RESPONSE));
	TRY(veil_writer_varint(w, (uint64_t)status));
	for (size_t i = 0; i < s->msg.header.count; i++) {
		const veil_bhttp_field *f = &s->msg.header.items[i];
		TRY(veil_writer_varint(w, f->name_len));
		TRY(veil_writer_put(w, f->name, f->name_len));
		TRY(veil_writer_varint(w, f->value_len));
		TRY(veil_writer_put(w, f->value, f->value_len));
	}
	return veil_writer_varint(w, 0);
}

/* The response nonce and the BHTTP head wait in s->out and s->inner and
 * leave with the first piece of content, sealed into the same chunk: one
 * write instead of three before the first token, which is what the client
 * waits for. */
static void chunked_start(ohttp_sink *s, int status)
{
	s->begun = true;
	/* The buffering hint on the outer response, where proxies see it. */
	if (veil_http_deferred_add_header(s->d, "X-Accel-Buffering", "no") != VEIL_OK) {
		/* Only a hint; the stream works without it. */
	}
	veil_http_deferred_begin(s->d, 200, VEIL_OHTTP_CHUNKED_RES_TYPE);
	s->out.len = 0;
	if (veil_ohttp_chunked_response_begin(&s->x, &s->out) != VEIL_OK ||
	    chunked_head(s, status) != VEIL_OK)
		s->failed = true;
}

static bool chunked_piece(ohttp_sink *s, const void *p, size_t n)
{
	if (s->failed)
		return false;
	if (n == 0)
		return true;
	if (veil_writer_varint(&s->inner, n) != VEIL_OK ||
	    veil_writer_put(&s->inner, p, n) != VEIL_OK) {
		s->failed = true;
		return false;
	}
	return chunk_send(s, false);
}

/* The last chunk: the content's terminating zero-length chunk and an empty
 * trailer section (RFC 9292 section 3.2). */
static void chunked_finish(ohttp_sink *s)
{
	if (!s->failed && veil_writer_varint(&s->inner, 0) == VEIL_OK &&
	    veil_writer_varint(&s->inner, 0) == VEIL_OK)
		chunk_send(s, true);
	veil_http_deferred_end(s->d);
}

static void ohttp_reply(wk_sink *base, int status, const char *type, const void *body, size_t len)
{
	ohttp_sink *s = (ohttp_sink *)base;

	if (type != NULL && veil_bhttp_fields_add(&s->msg.header, "content-type",
						  (const uint8_t *)type, strlen(type)) != VEIL_OK)
		s->failed = true;
	if (!s->chunked) {
		whole_send(s, status, body, len);
	} else {
		const uint8_t *p = body;

		/* A whole body in pieces that fit one chunk each. */
		chunked_start(s, status);
		for (size_t off = 0, n; off < len && !s->failed; off += n) {
			n = len - off < WK_PIECE_MAX ? len - off : WK_PIECE_MAX;
			chunked_piece(s, p + off, n);
		}
		chunked_finish(s);
	}
	ohttp_free(base);
}

static void ohttp_begin(wk_sink *base, int status, const char *type)
{
	ohttp_sink *s = (ohttp_sink *)base;

	if (type != NULL && veil_bhttp_fields_add(&s->msg.header, "content-type",
						  (const uint8_t *)type, strlen(type)) != VEIL_OK)
		s->failed = true;
	s->msg.status = (uint16_t)status;
	if (s->chunked)
		chunked_start(s, status);
	else
		s->begun = true;
}

static bool ohttp_write(wk_sink *base, const void *p, size_t n)
{
	ohttp_sink *s = (ohttp_sink *)base;

	if (s->chunked)
		return chunked_piece(s, p, n);
	if (veil_http_deferred_gone(s->d))
		return false;
	return veil_writer_put(&s->body, p, n) == VEIL_OK;
}

static void ohttp_end(wk_sink *base)
{
	ohttp_sink *s = (ohttp_sink *)base;

	if (s->chunked) {
		chunked_finish(s);
	} else if (veil_writer_status(&s->body) != VEIL_OK) {
		veil_http_deferred_reply(s->d, 500, "text/plain", "response too large\n", 19);
	} else {
		whole_send(s, s->msg.status, s->body.data, s->body.len);
	}
	ohttp_free(base);
}

static bool ohttp_gone(const wk_sink *base)
{
	const ohttp_sink *s = (const ohttp_sink *)base;

	return s->failed || veil_http_deferred_gone(s->d);
}

static const wk_sink_ops ohttp_ops = {ohttp_header, ohttp_reply, ohttp_begin,
				      ohttp_write,  ohttp_end,   ohttp_gone};

wk_sink *wk_sink_ohttp(veil_http_deferred *d, veil_ohttp_exchange *x, bool chunked)
{
	ohttp_sink *s = calloc(1, sizeof *s);

	if (s == NULL || veil_bhttp_response_init(&s->msg, 200) != VEIL_OK) {
		free(s);
		veil_ohttp_exchange_clear(x);
		veil_http_deferred_reply(d, 500, "text/plain", "internal error\n", 15);
		return NULL;
	}
	s->base.ops = &ohttp_ops;
	s->base.ohttp = true;
	s->d = d;
	veil_ohttp_exchange_move(&s->x, x);
	s->chunked = chunked;
	veil_writer_init(&s->body, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&s->out, VEIL_OHTTP_CHUNK_MAX + 64);
	veil_writer_init(&s->inner, VEIL_OHTTP_CHUNK_MAX);
	return &s->base;
}

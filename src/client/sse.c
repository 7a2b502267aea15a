/*
 * sse.c - reading an OpenAI event stream as it is decrypted
 * (include/veil/client.h, docs/client.md "Event streams").
 *
 * A streamed answer arrives as server-sent events (WHATWG HTML, "Server-
 * sent events", section 9.2.6 "Interpreting an event stream"): lines ended
 * by LF, CRLF or CR; a "data" field whose value loses one leading space;
 * the data lines of one event joined by LF; a blank line dispatching the
 * event; lines starting with ':' are comments (the worker pads its chunks
 * with them, docs/worker.md) and other fields carry nothing here. The
 * bytes come in pieces of any size (OHTTP chunks, TCP reads), so the
 * reader keeps the unfinished line and event between calls and gives the
 * same events whatever the boundaries.
 *
 * For each event it does what the receipt check needs (docs/receipt.md
 * "Response, stream"): it hashes the generated text, the UTF-8 of
 * choices[0].delta.content (chat) or choices[0].text (completions) decoded
 * from JSON, into a running SHA-256, exactly as the worker hashes what it
 * sends (src/worker/sched.c, upstream.c); events without that text (the
 * usage chunk, an error event) add nothing. And it keeps the last
 * "veil_receipt" member, which the worker puts in the last event before
 * "[DONE]". Nothing may follow "[DONE]".
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "veil/client.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

struct veil_sse {
	veil_writer line; /* the current line, without its end */
	veil_writer data; /* the current event's data lines, each ended by LF */
	bool cr;          /* the last line ended with CR: skip an LF that follows */
	bool first_line;  /* a byte-order mark may start the stream */
	bool done;        /* "[DONE]" was dispatched */
	bool finished;
	veil_err failed; /* sticky: the first failure */
	EVP_MD_CTX *md;  /* the generated text */
	uint8_t digest[32];
	char *receipt; /* the last veil_receipt, NUL-terminated */
};

veil_err veil_sse_new(veil_sse **out)
{
	veil_sse *s;

	ENSURE(out != NULL, VEIL_E_USAGE, "veil_sse_new: NULL argument");
	*out = NULL;
	s = calloc(1, sizeof *s);
	ENSURE(s != NULL, VEIL_E_NOMEM, "out of memory");
	veil_writer_init(&s->line, VEIL_SSE_LINE_MAX);
	veil_writer_init(&s->data, VEIL_SSE_EVENT_MAX);
	s->first_line = true;
	s->md = EVP_MD_CTX_new();
	if (s->md == NULL || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
		veil_sse_free(s);
		return veil_fail(VEIL_E_CRYPTO, "cannot start SHA-256");
	}
	*out = s;
	return VEIL_OK;
}

void veil_sse_free(veil_sse *s)
{
	if (s == NULL)
		return;
	/* Both buffers held generated text: wiped. */
	veil_writer_clear(&s->line);
	veil_writer_clear(&s->data);
	EVP_MD_CTX_free(s->md);
	free(s->receipt);
	free(s);
}

/* The text an event adds to the digest, or NULL. The object type says
 * which member a worker hashes (chat chunks: delta.content; completion
 * chunks: text); without it, whichever is a string. */
static const json_t *event_text(const json_t *ev)
{
	const char *object = json_string_value(json_object_get(ev, "object"));
	json_t *c = json_array_get(json_object_get(ev, "choices"), 0);
	json_t *content = json_object_get(json_object_get(c, "delta"), "content");
	json_t *text = json_object_get(c, "text");

	if (object != NULL && strcmp(object, "chat.completion.chunk") == 0)
		text = NULL;
	else if (object != NULL && strcmp(object, "text_completion") == 0)
		content = NULL;
	return json_is_string(content) ? content : json_is_string(text) ? text : NULL;
}

/* One dispatched event's data (NUL-terminated, len bytes). */
static veil_err event(veil_sse *s, const char *data, size_t len,
		      bool (*on_event)(void *user, const char *data, size_t len), void *user)
{
	json_t *ev = NULL, *receipt;
	const json_t *text;
	veil_err err = VEIL_OK;

	ENSURE(!s->done, VEIL_E_MALFORMED, "an event follows [DONE]: the stream had ended");
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		s->done = true;
		return VEIL_OK;
	}
	/* Not veil_json_parse: generated text may hold U+0000 (a model can
	 * emit a NUL token; the worker escapes it and hashes the byte), and
	 * the parser's message would quote the text, which must never reach
	 * an error detail. Duplicates are still refused; the event cap bounds
	 * the size. */
	{
		json_error_t jerr;
		ev = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
		if (ev == NULL)
			return veil_fail(VEIL_E_MALFORMED,
					 "an event's data is not JSON (at byte %d of %zu)",
					 jerr.position, len);
	}
	CHECK_THAT(json_is_object(ev), VEIL_E_MALFORMED, "an event's data is not a JSON object");
	text = event_text(ev);
	if (text != NULL && json_string_length(text) > 0 &&
	    EVP_DigestUpdate(s->md, json_string_value(text), json_string_length(text)) != 1) {
		err = veil_fail(VEIL_E_CRYPTO, "SHA-256 failed");
		goto out;
	}
	receipt = json_object_get(ev, "veil_receipt");
	if (receipt != NULL) {
		char *copy;
		CHECK_THAT(json_is_string(receipt), VEIL_E_MALFORMED,
			   "an event's veil_receipt is not a string");
		copy = strdup(json_string_value(receipt));
		CHECK_THAT(copy != NULL, VEIL_E_NOMEM, "out of memory");
		free(s->receipt);
		s->receipt = copy;
	}
	CHECK_THAT(on_event == NULL || on_event(user, data, len), VEIL_E_IO,
		   "the reader of the stream stopped it");
out:
	json_decref(ev);
	return err;
}

/* WHATWG "dispatch the event": nothing when no data line came. */
static veil_err dispatch(veil_sse *s, bool (*on_event)(void *user, const char *data, size_t len),
			 void *user)
{
	veil_writer *d = &s->data;
	veil_err err;

	if (d->len == 0)
		return VEIL_OK;
	d->len--; /* the LF after the last data line becomes a NUL */
	TRY(veil_writer_putc(d, '\0'));
	d->len--;
	err = event(s, (const char *)d->data, d->len, on_event, user);
	veil_wipe(d->data, d->len);
	d->len = 0;
	return err;
}

/* One complete line (without its end). */
static veil_err line(veil_sse *s, bool (*on_event)(void *user, const char *data, size_t len),
		     void *user)
{
	const uint8_t *p = s->line.data, *colon;
	size_t n = s->line.len, field;

	/* WHATWG: one U+FEFF at the start of the stream is ignored. */
	if (s->first_line && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3, n -= 3;
	s->first_line = false;
	if (n == 0)
		return dispatch(s, on_event, user);
	if (p[0] == ':')
		return VEIL_OK;
	colon = memchr(p, ':', n);
	field = colon != NULL ? (size_t)(colon - p) : n;
	if (field != 4 || memcmp(p, "data", 4) != 0)
		return VEIL_OK; /* event, id, retry and unknown fields */
	p += field, n -= field;
	if (n > 0) /* the colon, then one optional space */
		p++, n--;
	if (n > 0 && p[0] == ' ')
		p++, n--;
	ENSURE(s->data.len + n + 1 <= VEIL_SSE_EVENT_MAX, VEIL_E_LIMIT,
	       "an event's data is over %d bytes", VEIL_SSE_EVENT_MAX);
	TRY(veil_writer_put(&s->data, p, n));
	return veil_writer_putc(&s->data, '\n');
}

static veil_err feed(veil_sse *s, const uint8_t *p, size_t n,
		     bool (*on_event)(void *user, const char *data, size_t len), void *user)
{
	while (n > 0) {
		size_t k = 0;

		if (s->cr) { /* CRLF is one line end */
			s->cr = false;
			if (p[0] == '\n') {
				p++, n--;
				continue;
			}
		}
		while (k < n && p[k] != '\n' && p[k] != '\r')
			k++;
		ENSURE(s->line.len + k <= VEIL_SSE_LINE_MAX, VEIL_E_LIMIT,
		       "a line of the event stream is over %d bytes", VEIL_SSE_LINE_MAX);
		TRY(veil_writer_put(&s->line, p, k));
		if (k == n)
			return VEIL_OK; /* the line goes on in the next bytes */
		s->cr = p[k] == '\r';
		p += k + 1, n -= k + 1;
		TRY(line(s, on_event, user));
		veil_wipe(s->line.data, s->line.len);
		s->line.len = 0;
	}
	return VEIL_OK;
}

veil_err veil_sse_feed(veil_sse *s, const uint8_t *p, size_t n,
		       bool (*on_event)(void *user, const char *data, size_t len), void *user)
{
	ENSURE(s != NULL && (p != NULL || n == 0), VEIL_E_USAGE, "veil_sse_feed: NULL argument");
	ENSURE(!s->finished, VEIL_E_USAGE, "veil_sse_feed: the stream was finished");
	if (s->failed != VEIL_OK)
		return veil_fail(s->failed, "the event stream failed before");
	s->failed = feed(s, p, n, on_event, user);
	return s->failed;
}

veil_err veil_sse_finish(veil_sse *s, bool *done, uint8_t text_sha256[32], const char **receipt)
{
	unsigned len = 0;

	ENSURE(s != NULL && done != NULL && text_sha256 != NULL && receipt != NULL, VEIL_E_USAGE,
	       "veil_sse_finish: NULL argument");
	*done = false;
	*receipt = NULL;
	memset(text_sha256, 0, 32);
	if (s->failed != VEIL_OK)
		return veil_fail(s->failed, "the event stream failed before");
	/* Bytes of a line, or data lines, without the blank line that
	 * dispatches them: the stream was cut inside an event. */
	if (s->line.len > 0 || s->data.len > 0) {
		s->failed = veil_fail(VEIL_E_TRUNCATED, "the event stream ended inside an event");
		return s->failed;
	}
	if (!s->finished) {
		if (EVP_DigestFinal_ex(s->md, s->digest, &len) != 1 || len != 32) {
			s->failed = veil_fail(VEIL_E_CRYPTO, "SHA-256 failed");
			return s->failed;
		}
		s->finished = true;
	}
	*done = s->done;
	memcpy(text_sha256, s->digest, 32);
	*receipt = s->receipt;
	return VEIL_OK;
}

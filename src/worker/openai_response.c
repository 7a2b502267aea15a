/*
 * openai_response.c - the bodies veil-worker sends in the OpenAI wire
 * format: whole responses, stream chunks as server-sent events, the model
 * list, error objects, and response ids (docs/openai-api.md).
 *
 * The JSON is written straight into the caller's veil_writer rather than
 * built as a jansson tree and dumped: the completion text is as secret as
 * the prompt, and a writer is wiped when cleared while jansson's buffers
 * are not. Member order and shape follow the OpenAI API reference (chat
 * completion object, chat completion chunk object, completion object), so
 * the official clients parse them unchanged. Every string is checked to be
 * UTF-8 before anything is written, so a refused call appends nothing.
 */
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "veil/secret.h"
#include "worker/openai.h"

/* RFC 3629 section 4: the length of the UTF-8 character at s (at most n
 * bytes), or 0 when it is not one: overlong forms, surrogates
 * (U+D800..DFFF) and code points above U+10FFFF are refused. */
static size_t utf8_char_len(const uint8_t *s, size_t n)
{
	uint8_t b = s[0];

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (b >= 0xe0 && b <= 0xef) {
		uint8_t lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
		return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (b >= 0xf0 && b <= 0xf4) {
		uint8_t lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
		return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
			       (s[3] & 0xc0) == 0x80
			   ? 4
			   : 0;
	}
	return 0;
}

static bool utf8_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_char_len(p + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* Checks one string argument of a builder (name is for the message). */
static veil_err check_text(const char *what, const char *s, size_t n)
{
	ENSURE(s != NULL || n == 0, VEIL_E_USAGE, "OpenAI response: %s is NULL", what);
	ENSURE(s == NULL || utf8_valid(s, n), VEIL_E_MALFORMED,
	       "OpenAI response: the %s is not valid UTF-8", what);
	return VEIL_OK;
}

static veil_err check_str(const char *what, const char *s)
{
	ENSURE(s != NULL, VEIL_E_USAGE, "OpenAI response: %s is NULL", what);
	return check_text(what, s, strlen(s));
}

/* The writer's error is sticky: these ignore it, and each builder returns
 * veil_writer_status() once at the end. */
static void w_put(veil_writer *w, const void *p, size_t n)
{
	if (veil_writer_put(w, p, n) != VEIL_OK)
		return;
}

static void w_puts(veil_writer *w, const char *s)
{
	w_put(w, s, strlen(s));
}

static void w_putc(veil_writer *w, char c)
{
	w_put(w, &c, 1);
}

static void w_i64(veil_writer *w, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof b, "%" PRId64, v);
	w_put(w, b, (size_t)n);
}

static void w_u64(veil_writer *w, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof b, "%" PRIu64, v);
	w_put(w, b, (size_t)n);
}

/*
 * A JSON string (RFC 8259 section 7): '"' and '\\' escaped, control
 * characters as \n \r \t \b \f or \u00XX, everything else as is. With
 * lossy, a byte that does not start a UTF-8 character becomes U+FFFD
 * instead of being refused (the callers that are not lossy checked first).
 */
static void put_string(veil_writer *w, const char *s, size_t n, bool lossy)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, run = 0;

	if (p == NULL) { /* NULL + 0 is still undefined */
		p = (const uint8_t *)"";
		n = 0;
	}
	w_putc(w, '"');
	while (i < n) {
		uint8_t c = p[i];
		const char *esc = NULL;
		char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		size_t k = 1;

		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\b')
			esc = "\\b";
		else if (c == '\f')
			esc = "\\f";
		else if (c >= 0x80 && (k = utf8_char_len(p + i, n - i)) == 0 && lossy)
			esc = "\xef\xbf\xbd";
		if (esc == NULL && c >= 0x20) {
			i += k == 0 ? 1 : k;
			run += k == 0 ? 1 : k;
			continue;
		}
		/* Flush the plain bytes before this one, then its escape. */
		w_put(w, p + i - run, run);
		run = 0;
		if (esc != NULL)
			w_puts(w, esc);
		else
			w_put(w, u, sizeof u);
		i++;
	}
	w_put(w, p + n - run, run);
	w_putc(w, '"');
}

static void put_cstr(veil_writer *w, const char *s)
{
	put_string(w, s, strlen(s), false);
}

static void put_usage(veil_writer *w, const oai_usage *u)
{
	w_puts(w, "{\"prompt_tokens\":");
	w_u64(w, u->prompt_tokens);
	w_puts(w, ",\"completion_tokens\":");
	w_u64(w, u->completion_tokens);
	w_puts(w, ",\"total_tokens\":");
	w_u64(w, u->prompt_tokens + u->completion_tokens);
	w_putc(w, '}');
}

/* {"id":..,"object":..,"created":..,"model":.., (the start every body shares) */
static void put_head(veil_writer *w, const char *id, const char *object, int64_t created,
		     const char *model)
{
	w_puts(w, "{\"id\":");
	put_cstr(w, id);
	w_puts(w, ",\"object\":\"");
	w_puts(w, object);
	w_puts(w, "\",\"created\":");
	w_i64(w, created);
	w_puts(w, ",\"model\":");
	put_cstr(w, model);
}

static void put_finish(veil_writer *w, const char *finish_reason)
{
	w_puts(w, ",\"logprobs\":null,\"finish_reason\":");
	if (finish_reason == NULL)
		w_puts(w, "null");
	else
		put_cstr(w, finish_reason);
	w_putc(w, '}');
}

const char *oai_finish_reason(veil_stop_reason r)
{
	return r == VEIL_STOP_LENGTH || r == VEIL_STOP_CONTEXT ? "length" : "stop";
}

veil_err oai_response_body(oai_kind kind, const char *id, int64_t created, const char *model,
			   const char *text, size_t len, const char *finish_reason,
			   const oai_usage *u, veil_writer *out)
{
	ENSURE(out != NULL && u != NULL, VEIL_E_USAGE, "oai_response_body: bad arguments");
	TRY(check_str("id", id));
	TRY(check_str("model", model));
	TRY(check_str("finish_reason", finish_reason));
	TRY(check_text("text", text, len));

	if (kind == OAI_CHAT) {
		put_head(out, id, "chat.completion", created, model);
		w_puts(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":"
			    "\"assistant\",\"content\":");
		put_string(out, text, len, false);
		w_putc(out, '}');
	} else {
		put_head(out, id, "text_completion", created, model);
		w_puts(out, ",\"choices\":[{\"index\":0,\"text\":");
		put_string(out, text, len, false);
	}
	put_finish(out, finish_reason);
	w_puts(out, "],\"usage\":");
	put_usage(out, u);
	w_putc(out, '}');
	return veil_writer_status(out);
}

/* The one choice of a content chunk. */
static void put_chunk_choice(oai_kind kind, const oai_chunk *c, veil_writer *w)
{
	bool has_text = c->text != NULL && c->len > 0;

	w_puts(w, "{\"index\":0,");
	if (kind == OAI_CHAT) {
		/* OpenAI's first chunk carries the role and an empty content;
		 * later ones only what is new; the finishing one may be {}. */
		w_puts(w, "\"delta\":{");
		if (c->first)
			w_puts(w, "\"role\":\"assistant\",");
		/* The role's comma is always followed: first implies content. */
		if (has_text || c->first) {
			w_puts(w, "\"content\":");
			put_string(w, has_text ? c->text : "", has_text ? c->len : 0, false);
		}
		w_putc(w, '}');
	} else {
		w_puts(w, "\"text\":");
		put_string(w, has_text ? c->text : "", has_text ? c->len : 0, false);
	}
	put_finish(w, c->finish_reason);
}

veil_err oai_chunk_sse(oai_kind kind, const oai_chunk *c, veil_writer *out)
{
	ENSURE(out != NULL && c != NULL, VEIL_E_USAGE, "oai_chunk_sse: bad arguments");
	TRY(check_str("id", c->id));
	TRY(check_str("model", c->model));
	TRY(check_text("text", c->text, c->text != NULL ? c->len : 0));
	if (c->finish_reason != NULL)
		TRY(check_str("finish_reason", c->finish_reason));
	if (c->receipt != NULL)
		TRY(check_str("receipt", c->receipt));

	/* SSE (WHATWG HTML, "Server-sent events"): one "data:" line; the
	 * compact JSON has no raw line breaks, and a blank line ends the event. */
	w_puts(out, "data: ");
	put_head(out, c->id, kind == OAI_CHAT ? "chat.completion.chunk" : "text_completion",
		 c->created, c->model);
	w_puts(out, ",\"choices\":[");
	if (c->usage == NULL)
		put_chunk_choice(kind, c, out);
	w_putc(out, ']');
	/* stream_options.include_usage: "usage" is null in every chunk but the
	 * last, which has no choices and the counts of the whole request. */
	if (c->usage != NULL) {
		w_puts(out, ",\"usage\":");
		put_usage(out, c->usage);
	} else if (c->usage_null) {
		w_puts(out, ",\"usage\":null");
	}
	if (c->receipt != NULL) {
		w_puts(out, ",\"veil_receipt\":");
		put_cstr(out, c->receipt);
	}
	w_puts(out, "}\n\n");
	return veil_writer_status(out);
}

veil_err oai_sse_done(veil_writer *out)
{
	ENSURE(out != NULL, VEIL_E_USAGE, "oai_sse_done: no writer");
	w_puts(out, "data: [DONE]\n\n");
	return veil_writer_status(out);
}

veil_err oai_models_body(const char *model, int64_t created, const char *owned_by, veil_writer *out)
{
	ENSURE(out != NULL, VEIL_E_USAGE, "oai_models_body: no writer");
	TRY(check_str("model", model));
	TRY(check_str("owned_by", owned_by));
	w_puts(out, "{\"object\":\"list\",\"data\":[{\"id\":");
	put_cstr(out, model);
	w_puts(out, ",\"object\":\"model\",\"created\":");
	w_i64(out, created);
	w_puts(out, ",\"owned_by\":");
	put_cstr(out, owned_by);
	w_puts(out, "}]}");
	return veil_writer_status(out);
}

/* ---- errors ---- */

void oai_error_set(oai_error *e, int status, const char *type, const char *param, const char *code,
		   const char *fmt, ...)
{
	va_list ap;

	memset(e, 0, sizeof *e);
	e->status = status;
	snprintf(e->type, sizeof e->type, "%s", type != NULL ? type : "");
	snprintf(e->param, sizeof e->param, "%s", param != NULL ? param : "");
	snprintf(e->code, sizeof e->code, "%s", code != NULL ? code : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	veil_text_sanitize(e->message);
}

/* A member that is null when empty (OpenAI sends "param": null, "code": null). */
static void put_or_null(veil_writer *w, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == 0)
		w_puts(w, "null");
	else
		put_string(w, s, n, true);
}

veil_err oai_error_body(const oai_error *e, veil_writer *out)
{
	ENSURE(out != NULL && e != NULL, VEIL_E_USAGE, "oai_error_body: bad arguments");
	/* The fields are fixed arrays that oai_error_set always terminates;
	 * strnlen keeps a hand-filled one without its NUL inside its array. */
	w_puts(out, "{\"error\":{\"message\":");
	put_string(out, e->message, strnlen(e->message, sizeof e->message), true);
	w_puts(out, ",\"type\":");
	put_string(out, e->type, strnlen(e->type, sizeof e->type), true);
	w_puts(out, ",\"param\":");
	put_or_null(out, e->param, sizeof e->param);
	w_puts(out, ",\"code\":");
	put_or_null(out, e->code, sizeof e->code);
	w_puts(out, "}}");
	return veil_writer_status(out);
}

/* ---- ids ---- */

#define OAI_ID_CHARS 24

veil_err oai_response_id(const char *prefix, char *buf, size_t buflen)
{
	static const char base62[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[32];
	size_t plen, at = 0;

	ENSURE(prefix != NULL && buf != NULL, VEIL_E_USAGE, "oai_response_id: bad arguments");
	plen = strlen(prefix);
	ENSURE(buflen > plen && buflen - plen > OAI_ID_CHARS, VEIL_E_USAGE,
	       "oai_response_id: %zu bytes cannot hold the %zu-byte prefix, %d characters and NUL",
	       buflen, plen, OAI_ID_CHARS);
	memcpy(buf, prefix, plen);
	/* Rejection sampling: only bytes below 248 = 4 * 62 are used, so every
	 * character is equally likely (143 bits of randomness in all). */
	while (at < OAI_ID_CHARS) {
		ENSURE(RAND_bytes(rnd, sizeof rnd) == 1, VEIL_E_CRYPTO,
		       "oai_response_id: RAND_bytes failed");
		for (size_t i = 0; i < sizeof rnd && at < OAI_ID_CHARS; i++)
			if (rnd[i] < 248)
				buf[plen + at++] = base62[rnd[i] % 62];
	}
	buf[plen + at] = '\0';
	veil_wipe(rnd, sizeof rnd);
	return VEIL_OK;
}

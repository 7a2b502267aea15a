/*
 * request.c - a handler's view of one HTTP request and its reply (see
 * http.h): the request line, headers, cookies and body evhttp parsed, and
 * the reply, whole or streamed.
 *
 * Every reply goes through here so that the rules hold in one place: each
 * request is answered exactly once (a second reply is ignored, a missing
 * one becomes a 500 when the handler returns), every response carries
 * Cache-Control: no-store (key broker answers hold secrets and session
 * state that no cache may keep), a failure to allocate the body turns
 * into a 500 rather than a short answer under a success status, and a
 * reply to HEAD carries no body. Deferred replies (deferred.c) use the
 * same helpers.
 */
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

const char *veil_http_path(const veil_http_request *r)
{
	return r->path;
}

const char *veil_http_header(const veil_http_request *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

bool veil_http_cookie(const veil_http_request *r, const char *name, char *buf, size_t buflen)
{
	const char *h = veil_http_header(r, "Cookie");
	size_t n = strlen(name);

	/* RFC 6265 section 4.2.1: cookie-string = cookie-pair *( ";" SP
	 * cookie-pair ), cookie-pair = cookie-name "=" cookie-value. Names
	 * are compared whole: "sid" does not match "sid2=...". */
	while (n > 0 && h != NULL && *h != '\0') {
		const char *end;
		while (*h == ' ' || *h == '\t' || *h == ';')
			h++;
		end = strchr(h, ';');
		if (end == NULL)
			end = h + strlen(h);
		if ((size_t)(end - h) > n && strncmp(h, name, n) == 0 && h[n] == '=') {
			size_t vlen = (size_t)(end - h) - n - 1;
			if (vlen >= buflen)
				return false;
			memcpy(buf, h + n + 1, vlen);
			buf[vlen] = '\0';
			return true;
		}
		h = end;
	}
	return false;
}

const uint8_t *veil_http_body(veil_http_request *r, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	const uint8_t *p;

	*len = evbuffer_get_length(in);
	if (*len == 0)
		return (const uint8_t *)"";
	/* evhttp keeps the body in pieces as it arrived; one pullup makes it
	 * contiguous (at most max_body_bytes). */
	p = evbuffer_pullup(in, -1);
	if (p == NULL)
		*len = 0;
	return p != NULL ? p : (const uint8_t *)"";
}

const char *veil_http_peer(const veil_http_request *r)
{
	return r->peer;
}

bool veil_http_request_tls(const veil_http_request *r)
{
	return r->server->tls != NULL;
}

veil_err veil_http_add_header(veil_http_request *r, const char *name, const char *value)
{
	ENSURE(r->state == HTTP_REPLY_NONE, VEIL_E_USAGE,
	       "HTTP: header %s added after the reply started", name);
	ENSURE(evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value) == 0,
	       VEIL_E_USAGE, "HTTP: header %s cannot be added (CR or LF in it?)", name);
	return VEIL_OK;
}

void http_set_common_headers(struct evhttp_request *req, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (content_type != NULL) {
		evhttp_remove_header(h, "Content-Type");
		evhttp_add_header(h, "Content-Type", content_type);
	}
	if (evhttp_find_header(h, "Cache-Control") == NULL)
		evhttp_add_header(h, "Cache-Control", "no-store");
}

bool http_set_body(struct evhttp_request *req, const void *body, size_t len)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	/* RFC 9110 section 9.3.2: a response to HEAD has no content. evhttp
	 * 2.1 would send the body anyway, and a keep-alive client would
	 * read it as the start of the next response; Content-Length says
	 * what a GET would get (section 8.6). */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);
		char n[24];
		snprintf(n, sizeof n, "%zu", len);
		evhttp_remove_header(h, "Content-Length");
		return evhttp_add_header(h, "Content-Length", n) == 0;
	}
	if (len > 0 && evbuffer_add(out, body, len) != 0) {
		evbuffer_drain(out, evbuffer_get_length(out));
		return false;
	}
	return true;
}

void http_stream_start(struct evhttp_request *req, int status)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *c;

	/* RFC 9112 section 7.1: without a Content-Length evhttp frames the
	 * body with chunked transfer coding for HTTP/1.1 clients; an HTTP/1.0
	 * client gets a body ended by closing the connection (section 6.3).
	 * But to an HTTP/1.0 request with "Connection: keep-alive", evhttp
	 * 2.1 answers "Content-Length: 0", sends the body anyway and keeps
	 * the connection, so the client reads the body as the next response.
	 * Without the token it closes; for HTTP/1.1 the token means nothing
	 * to evhttp (keep-alive is the default there). */
	while ((c = evhttp_find_header(in, "Connection")) != NULL &&
	       strncasecmp(c, "keep-alive", 10) == 0)
		evhttp_remove_header(in, "Connection");
	evhttp_send_reply_start(req, status, NULL);
}

void veil_http_reply(veil_http_request *r, int status, const char *content_type, const void *body,
		     size_t len)
{
	if (r->state != HTTP_REPLY_NONE)
		return;
	r->state = HTTP_REPLY_DONE;
	if (!http_set_body(r->req, body, len)) {
		status = 500;
		content_type = "text/plain";
	}
	http_set_common_headers(r->req, content_type);
	evhttp_send_reply(r->req, status, NULL, NULL);
}

void veil_http_reply_json(veil_http_request *r, int status, json_t *body)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (text == NULL) {
		veil_http_reply(r, 500, "text/plain", "internal error\n", 15);
		return;
	}
	veil_http_reply(r, status, "application/json", text, strlen(text));
	free(text);
}

void veil_http_stream_begin(veil_http_request *r, int status, const char *content_type)
{
	if (r->state != HTTP_REPLY_NONE)
		return;
	r->chunk = evbuffer_new();
	if (r->chunk == NULL) {
		veil_http_reply(r, 500, "text/plain", "internal error\n", 15);
		return;
	}
	r->state = HTTP_REPLY_STREAMING;
	http_set_common_headers(r->req, content_type);
	http_stream_start(r->req, status);
}

void veil_http_stream_write(veil_http_request *r, const void *p, size_t n)
{
	/* An empty chunk would be the last-chunk marker (RFC 9112 section
	 * 7.1) and end the body early. */
	if (r->state != HTTP_REPLY_STREAMING || n == 0)
		return;
	if (evbuffer_add(r->chunk, p, n) != 0)
		return;
	evhttp_send_reply_chunk(r->req, r->chunk);
	evbuffer_drain(r->chunk, evbuffer_get_length(r->chunk));
}

void veil_http_stream_end(veil_http_request *r)
{
	if (r->state != HTTP_REPLY_STREAMING)
		return;
	r->state = HTTP_REPLY_DONE;
	evhttp_send_reply_end(r->req);
}

void http_request_finish(veil_http_request *r)
{
	/* HTTP_REPLY_DEFERRED: the request belongs to its deferred handle
	 * (deferred.c); nothing is sent for it here. */
	if (r->state == HTTP_REPLY_NONE)
		veil_http_reply(r, 500, "text/plain", "the handler sent no reply\n", 26);
	else if (r->state == HTTP_REPLY_STREAMING)
		veil_http_stream_end(r);
	if (r->chunk != NULL)
		evbuffer_free(r->chunk);
	r->chunk = NULL;
}

struct event_base *http_request_base(const veil_http_request *r)
{
	return r->loop->base;
}

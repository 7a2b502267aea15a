/*
 * deferred_producer.c - the calls a producer makes on a deferred reply
 * (http.h, docs/http.md "Deferred replies"), from any thread: headers, a
 * whole reply, or a stream of pieces and its end. None of them touches
 * evhttp or the event loop beyond activating the handle's event; they copy
 * what they are given into the handle's queue under its mutex, and
 * deferred.c sends it from the loop. Once the loop has let go (the client
 * went away, the reply failed, the server was freed) they do nothing, and
 * write says so.
 */
#include <stdlib.h>
#include <string.h>

#include "http/deferred_internal.h"
#include "veil/secret.h"

/* RFC 9110 section 5.6.2: a field name is a token of tchar. */
static bool header_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (!(c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL))
			return false;
	}
	return true;
}

/* RFC 9110 section 5.5: field-value is VCHAR, obs-text, SP and HTAB; no
 * CR or LF, so nothing can start a header or a body of its own. */
static bool header_value_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

veil_err veil_http_deferred_add_header(veil_http_deferred *d, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	http_piece *p;
	bool late;

	ENSURE(header_name_ok(name), VEIL_E_USAGE, "HTTP: \"%.64s\" is not a header name", name);
	ENSURE(header_value_ok(value), VEIL_E_USAGE,
	       "HTTP: the value of header %.64s has a control character", name);
	p = malloc(sizeof *p + nlen + vlen + 2);
	ENSURE(p != NULL, VEIL_E_NOMEM, "HTTP: out of memory for header %.64s", name);
	p->next = NULL;
	p->header = true;
	p->len = nlen + vlen + 2;
	memcpy(p->data, name, nlen + 1);
	memcpy(p->data + nlen + 1, value, vlen + 1);
	pthread_mutex_lock(&d->mu);
	late = d->producer != HTTP_REPLY_NONE;
	if (!late && !d->gone) {
		*d->tail = p;
		d->tail = &p->next;
		p = NULL;
	}
	pthread_mutex_unlock(&d->mu);
	if (p != NULL)
		http_piece_free(p);
	ENSURE(!late, VEIL_E_USAGE, "HTTP: header %.64s added after the reply started", name);
	return VEIL_OK;
}

void veil_http_deferred_reply(veil_http_deferred *d, int status, const char *content_type,
			      const void *body, size_t len)
{
	char *type = content_type != NULL ? strdup(content_type) : NULL;
	uint8_t *copy = len > 0 ? malloc(len) : NULL;
	bool nomem = (content_type != NULL && type == NULL) || (len > 0 && copy == NULL);

	if (copy != NULL)
		memcpy(copy, body, len);
	pthread_mutex_lock(&d->mu);
	if (d->producer == HTTP_REPLY_NONE && nomem) {
		d->failed = FAIL_500;
	} else if (d->producer == HTTP_REPLY_NONE) {
		d->final = FINAL_REPLY;
		d->status = status;
		d->content_type = type;
		d->body = copy;
		d->body_len = len;
		type = NULL;
		copy = NULL;
	} else if (d->producer == HTTP_REPLY_STREAMING) {
		/* A reply on an open stream ends it (the body is dropped):
		 * the handle must end either way. */
		d->final = FINAL_END;
	}
	d->producer = HTTP_REPLY_DONE;
	http_deferred_wake(d);
	pthread_mutex_unlock(&d->mu);
	free(type);
	veil_free_secret(copy, len);
	http_deferred_release(d);
}

void veil_http_deferred_begin(veil_http_deferred *d, int status, const char *content_type)
{
	char *type = content_type != NULL ? strdup(content_type) : NULL;

	pthread_mutex_lock(&d->mu);
	if (d->producer == HTTP_REPLY_NONE) {
		d->producer = HTTP_REPLY_STREAMING;
		if (content_type != NULL && type == NULL) {
			d->failed = FAIL_500;
			d->gone = true;
		} else {
			d->begin = true;
			d->status = status;
			d->content_type = type;
			type = NULL;
		}
		http_deferred_wake(d);
	}
	pthread_mutex_unlock(&d->mu);
	free(type);
}

bool veil_http_deferred_write(veil_http_deferred *d, const void *p, size_t n)
{
	http_piece *piece = n > 0 ? malloc(sizeof *piece + n) : NULL;
	bool ok = false;

	if (piece != NULL) {
		piece->next = NULL;
		piece->header = false;
		piece->len = n;
		memcpy(piece->data, p, n);
	}
	pthread_mutex_lock(&d->mu);
	if (d->gone || d->failed != FAIL_NONE || d->producer != HTTP_REPLY_STREAMING) {
		ok = false;
	} else if (n == 0) {
		/* An empty chunk would be the last-chunk marker (RFC 9112
		 * section 7.1) and end the body early. */
		ok = true;
	} else if (piece == NULL || n > VEIL_HTTP_DEFERRED_QUEUE_MAX ||
		   d->queued + d->unsent > VEIL_HTTP_DEFERRED_QUEUE_MAX - n) {
		/* Over the cap (the client does not read fast enough, or at
		 * all) or out of memory: the reply is cut and the connection
		 * closed. */
		d->failed = FAIL_CLOSE;
		d->gone = true;
		http_deferred_wake(d);
	} else {
		*d->tail = piece;
		d->tail = &piece->next;
		d->queued += n;
		piece = NULL;
		http_deferred_wake(d);
		ok = true;
	}
	pthread_mutex_unlock(&d->mu);
	if (piece != NULL)
		http_piece_free(piece);
	return ok;
}

void veil_http_deferred_end(veil_http_deferred *d)
{
	pthread_mutex_lock(&d->mu);
	if (d->producer == HTTP_REPLY_STREAMING)
		d->final = FINAL_END;
	else if (d->producer == HTTP_REPLY_NONE)
		d->failed = FAIL_500; /* ended without a reply, as dispatch does */
	d->producer = HTTP_REPLY_DONE;
	http_deferred_wake(d);
	pthread_mutex_unlock(&d->mu);
	http_deferred_release(d);
}

bool veil_http_deferred_gone(const veil_http_deferred *d)
{
	/* The mutex is not part of what const promises. */
	veil_http_deferred *m = (veil_http_deferred *)d;
	bool gone;

	pthread_mutex_lock(&m->mu);
	gone = m->gone;
	pthread_mutex_unlock(&m->mu);
	return gone;
}

/*
 * deferred.c - replies that a handler hands to another thread and that are
 * finished later, whole or streamed piece by piece (http.h, docs/http.md
 * "Deferred replies"). The worker runs inference on engine threads for
 * seconds and sends each token as it is made; the loop thread must not
 * wait for it.
 *
 * evhttp is not thread-safe: only the loop that owns a connection may call
 * it. So a producer never does. It appends what it wants sent (headers,
 * pieces) to the handle's queue under the handle's mutex, notes a begin, a
 * reply or an end, and activates the handle's event on the request's loop;
 * event_active is safe from any thread because threads_init (server.c)
 * turned on libevent's locking before any base was made. The event's
 * callback, drain(), runs on the loop and makes the evhttp calls. This
 * file is the loop's side; the producer's calls are in
 * deferred_producer.c, and the handle in deferred_internal.h.
 *
 * Lifetime. A handle has up to three references: the producer's (ended by
 * reply or end), the loop's (ended when the reply has been handed to
 * evhttp, when the connection closes, or when the server is freed), and
 * one that drain() holds while it runs. Whoever drops the last frees it.
 * Once the loop has let go the handle reports gone and the producer's
 * calls do nothing; the event is freed then, so no producer can touch the
 * base of a server that no longer exists.
 *
 * What libevent 2.1 does that this file has to work with (http.c):
 *   - A request whose connection fails (end of file, error, timeout) while
 *     the user still holds it (no reply sent yet, or a stream not ended) is
 *     taken off the connection and not freed: evhttp expects a later
 *     reply, which frees it. Any other freeing of the connection (at
 *     evhttp_free, or ours when a client exceeds the queue cap) frees the
 *     request with it. The connection's close callback runs first in both
 *     cases, and whether the request still points at its connection tells
 *     the two apart (connection_closed below).
 *   - After reading a request evhttp leaves reading enabled (GET) or turns
 *     it off (a body was read), with its read callback in place and the
 *     connection's idle timeout running. With the request out for long,
 *     three things would go wrong: a pipelined byte would reach the read
 *     callback in the "writing" state, which ends the process
 *     (event_errx); the idle read timeout would drop a request whose
 *     answer takes longer than timeout_seconds; and after a body, a client
 *     that goes away would not be noticed until a write failed. So while a
 *     request is deferred its connection reads with no read callback (bytes
 *     wait in the input buffer, at most max_header_bytes of them), with no
 *     read timeout (the write timeout still drops a client that stops
 *     reading), and an end of file fails the request at once. All three
 *     are put back before the reply is handed to evhttp, which then reads
 *     the next request as usual.
 *   - The OpenSSL bufferevent runs its write callback deferred, one loop
 *     iteration after the output drained, without looking at the output
 *     again. evhttp's write callback runs whatever "done" step it last
 *     set; when pieces are written from other events (as here) more may
 *     have been added in between, and the last-chunk would then finish the
 *     request with bytes still unsent: evhttp stops writing and the client
 *     waits for ever (one TLS stream in 40 to 300 in tests before this
 *     was guarded). So after each evhttp write call, the write callback is
 *     wrapped in one that ignores a call while output is pending
 *     (guarded_write); evhttp puts its own back when it reads the next
 *     request.
 */
#include <event2/bufferevent.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "http/deferred_internal.h"
#include "veil/secret.h"

/* evhttp's own write callback (static in libevent's http.c), learnt from
 * the first connection guarded; the same function for every connection. */
static _Atomic(bufferevent_data_cb) evhttp_write_fn;

/* A write callback means "the output drained" (the low watermark is 0);
 * one that comes while bytes wait is stale (see the top of the file). */
static void guarded_write(struct bufferevent *bev, void *arg)
{
	bufferevent_data_cb fn = atomic_load(&evhttp_write_fn);

	if (fn != NULL && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		fn(bev, arg);
}

/* After an evhttp call that (re)set the callbacks: wraps evhttp's write
 * callback, keeping the others and their argument. */
static void guard_write_callback(struct bufferevent *bev)
{
	bufferevent_data_cb on_read, on_write, known = NULL;
	bufferevent_event_cb on_event;
	void *arg;

	bufferevent_getcb(bev, &on_read, &on_write, &on_event, &arg);
	if (on_write == NULL || on_write == guarded_write)
		return;
	atomic_compare_exchange_strong(&evhttp_write_fn, &known, on_write);
	if (atomic_load(&evhttp_write_fn) != on_write)
		return; /* not evhttp's: leave it alone */
	bufferevent_setcb(bev, on_read, guarded_write, on_event, arg);
}

void http_piece_free(http_piece *p)
{
	/* Pieces are completions and receipts in plaintext (plain mode). */
	veil_free_secret(p, sizeof *p + p->len);
}

static void pieces_free(http_piece *p)
{
	while (p != NULL) {
		http_piece *next = p->next;
		http_piece_free(p);
		p = next;
	}
}

static void deferred_destroy(veil_http_deferred *d)
{
	pieces_free(d->head);
	free(d->content_type);
	veil_free_secret(d->body, d->body_len);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

void http_deferred_release(veil_http_deferred *d)
{
	bool last;

	pthread_mutex_lock(&d->mu);
	last = --d->refs == 0;
	pthread_mutex_unlock(&d->mu);
	if (last)
		deferred_destroy(d);
}

void http_deferred_wake(veil_http_deferred *d)
{
	if (d->wake != NULL && !d->woken) {
		d->woken = true;
		event_active(d->wake, EV_TIMEOUT, 0);
	}
}

/* ---- the loop's side ---- */

/* The loop's reference ends: off the loop's list, the event freed (drain
 * may be the caller: libevent allows freeing an event in its own
 * callback), the producer told. Runs once. */
static void loop_let_go(veil_http_deferred *d)
{
	struct event *wake;

	if (d->loop == NULL)
		return;
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		d->loop->deferred = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	d->prev = d->next = NULL;
	d->loop = NULL;
	if (d->conn != NULL)
		evhttp_connection_set_closecb(d->conn, NULL, NULL);
	d->conn = NULL;
	d->req = NULL;
	if (d->chunk != NULL)
		evbuffer_free(d->chunk);
	d->chunk = NULL;
	pthread_mutex_lock(&d->mu);
	wake = d->wake;
	d->wake = NULL;
	d->gone = true;
	d->unsent = 0;
	pthread_mutex_unlock(&d->mu);
	if (wake != NULL)
		event_free(wake);
	http_deferred_release(d);
}

/* The request is no longer ours to answer. If evhttp took it off its
 * connection (the connection failed while we held it), nothing else will
 * free it; if it is still on the connection, evhttp frees it with the
 * connection right after. */
static void forget_request(veil_http_deferred *d)
{
	if (d->req != NULL && evhttp_request_get_connection(d->req) == NULL)
		evhttp_request_free(d->req);
	d->req = NULL;
}

/* evhttp_connection_set_closecb: the connection is being freed. */
static void connection_closed(struct evhttp_connection *conn, void *arg)
{
	veil_http_deferred *d = arg;

	(void)conn;
	forget_request(d);
	loop_let_go(d);
}

/* evhttp_send_reply_chunk_with_cb: the connection's output drained. */
static void output_written(struct evhttp_connection *conn, void *arg)
{
	veil_http_deferred *d = arg;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	pthread_mutex_lock(&d->mu);
	d->unsent = left;
	pthread_mutex_unlock(&d->mu);
}

/* Puts back what veil_http_defer changed on the connection, just before
 * the request goes back to evhttp. */
static void connection_restore(veil_http_deferred *d)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(d->conn);

	evhttp_connection_set_closecb(d->conn, NULL, NULL);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	evhttp_connection_set_timeout(d->conn, d->loop->server->config.timeout_seconds);
}

static void send_whole(veil_http_deferred *d, int status, const char *content_type,
		       const void *body, size_t len)
{
	struct evhttp_request *req = d->req;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(d->conn);

	/* As veil_http_reply: a body that cannot be held is a 500, never a
	 * short answer under a success status; HEAD gets no body. */
	if (!http_set_body(req, body, len)) {
		status = 500;
		content_type = "text/plain";
	}
	http_set_common_headers(req, content_type);
	connection_restore(d);
	d->req = NULL;
	d->conn = NULL;
	/* evhttp_send_reply only queues the reply: the connection is alive
	 * after it. */
	evhttp_send_reply(req, status, NULL, NULL);
	guard_write_callback(bev);
	loop_let_go(d);
}

static void send_end(veil_http_deferred *d)
{
	struct evhttp_request *req = d->req;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(d->conn);
	bool chunked, finished_inside;

	if (d->bodiless)
		http_stream_start(req, d->stream_status);
	/* Without chunked coding (only HTTP/1.0 here) and nothing left to
	 * write, evhttp finishes the request inside evhttp_send_reply_end
	 * and frees the connection (HTTP/1.0 streams always close): it must
	 * not be touched afterwards. */
	chunked =
	    evhttp_find_header(evhttp_request_get_output_headers(req), "Transfer-Encoding") != NULL;
	finished_inside = !chunked && evbuffer_get_length(bufferevent_get_output(bev)) == 0;
	connection_restore(d);
	d->req = NULL;
	d->conn = NULL;
	evhttp_send_reply_end(req);
	if (!finished_inside)
		guard_write_callback(bev);
	loop_let_go(d);
}

/* The reply cannot be finished. FAIL_500 before the reply started: a 500
 * (without the headers the handler or the producer added). Otherwise the
 * connection is closed, without the last-chunk of a stream, so the client
 * sees a cut-off body rather than a complete-looking short one. Freeing
 * the connection runs connection_closed, which lets go. */
static void send_failure(veil_http_deferred *d, deferred_failure how)
{
	if (how == FAIL_500 && !d->started) {
		evhttp_clear_headers(evhttp_request_get_output_headers(d->req));
		send_whole(d, 500, "text/plain", "internal error\n", 15);
		return;
	}
	evhttp_connection_free(d->conn);
	if (d->loop != NULL) /* the close callback did not run */
		loop_let_go(d);
}

static void send_piece(veil_http_deferred *d, const http_piece *p)
{
	if (p->header) {
		/* Checked by veil_http_deferred_add_header; a header that
		 * cannot be stored (out of memory) is dropped, as no one is
		 * left to tell. */
		const char *name = (const char *)p->data;
		const char *value = name + strlen(name) + 1;
		if (!d->started)
			evhttp_add_header(evhttp_request_get_output_headers(d->req), name, value);
		return;
	}
	if (!d->started || d->bodiless)
		return;
	/* One write, one chunk (RFC 9112 section 7.1), as the immediate
	 * stream does; a piece that cannot be queued cuts the reply. */
	if (evbuffer_add(d->chunk, p->data, p->len) != 0) {
		send_failure(d, FAIL_CLOSE);
		return;
	}
	evhttp_send_reply_chunk_with_cb(d->req, d->chunk, output_written, d);
	guard_write_callback(evhttp_connection_get_bufferevent(d->conn));
	/* evhttp keeps no body for HEAD or a bodiless status. */
	evbuffer_drain(d->chunk, evbuffer_get_length(d->chunk));
}

/* The handle's event: does on the loop what the producer queued. Any
 * evhttp call may free the connection and run connection_closed, so
 * d->req is checked before each step, and drain's own reference keeps d
 * alive to the end. */
static void drain(evutil_socket_t fd, short what, void *arg)
{
	veil_http_deferred *d = arg;
	http_piece *pieces, *p;
	deferred_final final;
	deferred_failure failed;
	bool begin;
	int status;
	char *content_type;
	uint8_t *body;
	size_t body_len, taken = 0;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&d->mu);
	d->refs++;
	d->woken = false;
	pieces = d->head;
	d->head = NULL;
	d->tail = &d->head;
	begin = d->begin;
	final = d->final;
	failed = d->failed;
	d->begin = false;
	d->final = FINAL_NONE;
	status = d->status;
	content_type = d->content_type;
	body = d->body;
	body_len = d->body_len;
	d->content_type = NULL;
	d->body = NULL;
	d->body_len = 0;
	pthread_mutex_unlock(&d->mu);

	if (d->req != NULL && failed != FAIL_NONE)
		send_failure(d, failed);
	for (p = pieces; p != NULL && d->req != NULL && failed == FAIL_NONE; p = p->next)
		if (p->header)
			send_piece(d, p);
	if (d->req != NULL && failed == FAIL_NONE && begin) {
		/* RFC 9110 sections 9.3.2 and 15: HEAD, 1xx, 204 and 304 have no
		 * body, so the pieces of such a stream are dropped, and its
		 * headers go out with the end, in one go as from
		 * veil_http_stream_begin: a reply without a body and nothing
		 * left to write would end inside evhttp_send_reply_end, where a
		 * late write callback (top of the file) could still finish the
		 * next request on the connection. */
		enum evhttp_cmd_type m = evhttp_request_get_command(d->req);
		http_set_common_headers(d->req, content_type);
		d->started = true;
		d->stream_status = status;
		d->bodiless =
		    m == EVHTTP_REQ_HEAD || status < 200 || status == 204 || status == 304;
		if (!d->bodiless) {
			http_stream_start(d->req, status);
			guard_write_callback(evhttp_connection_get_bufferevent(d->conn));
		}
	}
	for (p = pieces; p != NULL && d->req != NULL && failed == FAIL_NONE; p = p->next)
		if (!p->header)
			send_piece(d, p);
	if (d->req != NULL && failed == FAIL_NONE && final == FINAL_REPLY)
		send_whole(d, status, content_type, body, body_len);
	else if (d->req != NULL && failed == FAIL_NONE && final == FINAL_END)
		send_end(d);

	for (p = pieces; p != NULL; p = p->next)
		if (!p->header)
			taken += p->len;
	pieces_free(pieces);
	free(content_type);
	veil_free_secret(body, body_len);
	pthread_mutex_lock(&d->mu);
	d->queued -= taken;
	if (d->req != NULL && d->started) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(d->conn);
		d->unsent = evbuffer_get_length(bufferevent_get_output(bev));
	}
	pthread_mutex_unlock(&d->mu);
	http_deferred_release(d);
}

veil_http_deferred *veil_http_defer(veil_http_request *r)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(r->req);
	const veil_http_config *c = &r->server->config;
	struct timeval write_timeout = {c->timeout_seconds, 0};
	bufferevent_data_cb on_write;
	bufferevent_event_cb on_event;
	struct bufferevent *bev;
	veil_http_deferred *d;
	void *cb_arg;

	if (r->state != HTTP_REPLY_NONE || conn == NULL || r->loop == NULL)
		return NULL;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return NULL;
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		free(d);
		return NULL;
	}
	d->wake = event_new(r->loop->base, -1, 0, drain, d);
	d->chunk = evbuffer_new();
	if (d->wake == NULL || d->chunk == NULL) {
		if (d->wake != NULL)
			event_free(d->wake);
		if (d->chunk != NULL)
			evbuffer_free(d->chunk);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return NULL;
	}
	d->refs = 2; /* the producer's and the loop's */
	d->tail = &d->head;
	d->loop = r->loop;
	d->req = r->req;
	d->conn = conn;
	d->next = r->loop->deferred;
	if (d->next != NULL)
		d->next->prev = d;
	r->loop->deferred = d;

	/* The connection while the request is out (see the top of the file):
	 * told when it closes, reading without evhttp's read callback, at
	 * most max_header_bytes buffered, no read timeout, end of file seen. */
	evhttp_connection_set_closecb(conn, connection_closed, d);
	bev = evhttp_connection_get_bufferevent(conn);
	bufferevent_getcb(bev, NULL, &on_write, &on_event, &cb_arg);
	bufferevent_setcb(bev, NULL, on_write, on_event, cb_arg);
	bufferevent_setwatermark(bev, EV_READ, 0, c->max_header_bytes);
	bufferevent_set_timeouts(bev, NULL, &write_timeout);
	bufferevent_enable(bev, EV_READ);
	r->state = HTTP_REPLY_DEFERRED;
	return d;
}

void http_deferred_release_all(http_loop *loop)
{
	/* The loop has ended: each request is still on its connection,
	 * which evhttp_free frees next, with the request. */
	while (loop->deferred != NULL) {
		veil_http_deferred *d = loop->deferred;
		forget_request(d);
		loop_let_go(d);
	}
}

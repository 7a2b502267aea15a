/*
 * forward.c - one request passed to a worker and its answer passed back
 * (docs/gateway.md "Routing"), without leaving the HTTP loop the request
 * arrived on: the outgoing request is libevent's HTTP client on the same
 * event base, so a loop thread serves any number of exchanges at once
 * and no thread waits for a worker.
 *
 * The answer goes back as it arrives. A worker's answer framed with a
 * Content-Length (a whole completion, an error) is gathered and sent with
 * its length; any other (a chunked SSE stream, a chunked OHTTP response)
 * is passed on piece by piece as each piece arrives, through a deferred
 * reply, never gathered. Only these headers pass: Content-Type,
 * X-Veil-Receipt and Retry-After; the gateway adds X-Veil-Worker.
 *
 * Connections to workers are kept alive in a pool per loop thread and
 * worker, so a request costs no TCP handshake; a connection idle for
 * longer than the worker's own idle timeout is dropped rather than
 * reused (a request on a connection the worker is closing would fail).
 *
 * Failures: a worker that cannot be reached or breaks off before
 * answering gives the client 502 with an OpenAI error naming the worker,
 * and the worker leaves routing until a health check passes; one that
 * breaks off mid-stream ends the stream without its [DONE], which the
 * client sees as an incomplete answer. A client that goes away cancels
 * the worker's request, which stops its generation.
 *
 * Metering (meter set): the token counts come from the worker's signed
 * receipt when it verifies under the key the worker's evidence binds and
 * names this worker and this request body (and, for a whole answer, these
 * response bytes), and from the answer's "usage" otherwise, marked
 * unverified. Streams are scanned line by line for the chunks that carry
 * "usage" or "veil_receipt" (the worker puts its receipt on the finish
 * chunk, or on the usage chunk when the client asked for one).
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "gateway/forward.h"
#include "http/http_internal.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/receipt.h"
#include "veil/secret.h"

/* Dropped once idle this long: under the worker's idle timeout
 * (VEIL_HTTP_TIMEOUT_S), so the gateway never reuses a connection the
 * worker is about to close. */
#define POOL_IDLE_MS 5000
/* One SSE line the metering scan keeps (the final chunk with its receipt
 * is well under this). */
#define SSE_LINE_MAX (64 * 1024)

typedef struct gw_px gw_px;

typedef struct pool_conn {
	struct evhttp_connection *conn;
	int64_t idle_since;
} pool_conn;

typedef struct pool_entry {
	gw_worker *w; /* referenced */
	pool_conn idle[VEIL_GW_IDLE_CONNS];
	size_t n;
} pool_entry;

/* One loop thread's connections, and its exchanges in flight: when the
 * loop ends with some still open (the server stopping), the pool's
 * destructor (at the thread's exit, while the event base is still there)
 * ends them, so that nothing they hold outlives the server. */
typedef struct gw_pool {
	struct event_base *base;
	pool_entry *entries;
	size_t count, cap;
	gw_px *live;  /* exchanges not freed yet */
	bool closing; /* in pool_destroy: connections are freed at once */
	/* Connections to free once the callback that let go of them has
	 * returned (conn_put); one event frees them all. */
	struct evhttp_connection **dead;
	size_t ndead, dead_cap;
	bool reap_pending;
} gw_pool;

static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void px_abort(gw_px *px);

static void pool_destroy(void *p)
{
	gw_pool *pool = p;

	pool->closing = true;
	while (pool->live != NULL)
		px_abort(pool->live);
	for (size_t i = 0; i < pool->ndead; i++)
		evhttp_connection_free(pool->dead[i]);
	free(pool->dead);
	for (size_t i = 0; i < pool->count; i++) {
		for (size_t k = 0; k < pool->entries[i].n; k++)
			evhttp_connection_free(pool->entries[i].idle[k].conn);
		gw_worker_unref(pool->entries[i].w);
	}
	free(pool->entries);
	free(pool);
}

static void pool_key_make(void)
{
	if (pthread_key_create(&pool_key, pool_destroy) != 0)
		abort();
}

static gw_pool *pool_get(struct event_base *base)
{
	gw_pool *pool;

	pthread_once(&pool_once, pool_key_make);
	pool = pthread_getspecific(pool_key);
	if (pool != NULL && pool->base != base) {
		/* Another server on this thread (tests): start over. */
		pool_destroy(pool);
		pool = NULL;
		(void)pthread_setspecific(pool_key, NULL);
	}
	if (pool == NULL) {
		pool = calloc(1, sizeof *pool);
		if (pool == NULL || pthread_setspecific(pool_key, pool) != 0) {
			free(pool);
			return NULL;
		}
		pool->base = base;
	}
	return pool;
}

/* The pool entry of w, made when missing; entries of removed workers are
 * dropped on the way. */
static pool_entry *pool_entry_of(gw_pool *pool, gw_worker *w)
{
	for (size_t i = 0; i < pool->count; i++) {
		pool_entry *e = &pool->entries[i];
		if (e->w == w)
			return e;
		if (atomic_load(&e->w->state) == GW_REMOVED) {
			for (size_t k = 0; k < e->n; k++)
				evhttp_connection_free(e->idle[k].conn);
			gw_worker_unref(e->w);
			pool->entries[i--] = pool->entries[--pool->count];
		}
	}
	if (pool->count == pool->cap) {
		size_t cap = pool->cap ? pool->cap * 2 : 8;
		pool_entry *n = realloc(pool->entries, cap * sizeof *n);
		if (n == NULL)
			return NULL;
		pool->entries = n;
		pool->cap = cap;
	}
	pool_entry *e = &pool->entries[pool->count++];
	memset(e, 0, sizeof *e);
	gw_worker_ref(w);
	e->w = w;
	return e;
}

static struct evhttp_connection *conn_take(veil_gateway *g, gw_pool *pool, gw_worker *w)
{
	pool_entry *e = pool_entry_of(pool, w);
	int64_t now = gw_mono_ms();
	struct evhttp_connection *c;

	while (e != NULL && e->n > 0) {
		pool_conn pc = e->idle[--e->n];
		if (now - pc.idle_since < POOL_IDLE_MS)
			return pc.conn;
		evhttp_connection_free(pc.conn);
	}
	c = evhttp_connection_base_new(pool->base, NULL, w->addr, w->port);
	if (c != NULL) {
		evhttp_connection_set_timeout(c, (int)g->config.upstream_s);
		evhttp_connection_set_retries(c, 0);
	}
	return c;
}

static void pool_reap(evutil_socket_t fd, short what, void *arg)
{
	gw_pool *pool = arg;

	(void)fd;
	(void)what;
	pool->reap_pending = false;
	for (size_t i = 0; i < pool->ndead; i++)
		evhttp_connection_free(pool->dead[i]);
	pool->ndead = 0;
}

/* Back to the pool after an exchange; freed (outside the callback that
 * called this, where libevent still uses it) when the pool is full, the
 * worker gone, or the exchange broke. */
static void conn_put(gw_pool *pool, gw_worker *w, struct evhttp_connection *c, bool reusable)
{
	pool_entry *e = reusable && !pool->closing && atomic_load(&w->state) != GW_REMOVED
			    ? pool_entry_of(pool, w)
			    : NULL;
	const struct timeval now = {0, 0};

	if (e != NULL && e->n < VEIL_GW_IDLE_CONNS) {
		e->idle[e->n].conn = c;
		e->idle[e->n++].idle_since = gw_mono_ms();
		return;
	}
	if (pool->closing) {
		/* From pool_destroy, outside any callback of c. */
		evhttp_connection_free(c);
		return;
	}
	if (pool->ndead == pool->dead_cap) {
		size_t cap = pool->dead_cap ? pool->dead_cap * 2 : 8;
		struct evhttp_connection **n = realloc(pool->dead, cap * sizeof *n);
		if (n == NULL)
			return; /* without memory: the connection stays open */
		pool->dead = n;
		pool->dead_cap = cap;
	}
	pool->dead[pool->ndead++] = c;
	if (!pool->reap_pending &&
	    event_base_once(pool->base, -1, EV_TIMEOUT, pool_reap, pool, &now) == 0)
		pool->reap_pending = true;
}

struct gw_px {
	gw_px *prev, *next; /* in pool->live */
	bool linked;
	veil_gateway *g;
	gw_worker *w;
	gw_pool *pool;
	veil_http_deferred *d;
	struct evhttp_connection *conn;
	struct evhttp_request *ureq;
	gw_forward_done done;
	void *user;
	gw_forward_result res;
	double t0;
	bool meter, stream, begun, over_cap, client_gone, cancel_pending, finished;
	bool sse;              /* the stream is text/event-stream */
	bool meter_pending;    /* meter_later will run (it holds a worker reference) */
	struct evbuffer *body; /* a whole answer, gathered */
	char *receipt_header;  /* X-Veil-Receipt of a whole answer */
	uint8_t req_sha[32];
	/* The metering scan of a stream: the current line, and what the
	 * final chunk said. */
	char *line;
	size_t line_len;
	bool line_dropped;
	char *receipt;
	bool usage_seen;
	uint64_t prompt, completion;
};

static void px_link(gw_px *px)
{
	px->prev = NULL;
	px->next = px->pool->live;
	if (px->next != NULL)
		px->next->prev = px;
	px->pool->live = px;
	px->linked = true;
}

static void px_free(gw_px *px)
{
	if (px->linked) {
		if (px->prev != NULL)
			px->prev->next = px->next;
		else
			px->pool->live = px->next;
		if (px->next != NULL)
			px->next->prev = px->prev;
	}
	if (px->body != NULL)
		evbuffer_free(px->body);
	free(px->receipt_header);
	veil_free_secret(px->line, px->line != NULL ? SSE_LINE_MAX : 0);
	free(px->receipt);
	free(px);
}

/* The token counts of a "usage" object. */
static bool usage_read(const json_t *usage, uint64_t *prompt, uint64_t *completion)
{
	json_t *p = json_object_get(usage, "prompt_tokens");
	json_t *c = json_object_get(usage, "completion_tokens");

	if (!json_is_integer(p) || !json_is_integer(c) || json_integer_value(p) < 0 ||
	    json_integer_value(c) < 0)
		return false;
	*prompt = (uint64_t)json_integer_value(p);
	*completion = (uint64_t)json_integer_value(c);
	return true;
}

/* The receipt of the exchange: it must verify under the attested key and
 * name this worker and this request (and the response bytes, when given). */
static void receipt_meter(gw_px *px, const char *jws, const uint8_t *resp, size_t resp_len)
{
	veil_receipt rc;
	uint8_t rsha[32];
	veil_receipt_expect want = {.worker = px->w->id, .request = px->req_sha};

	if (jws == NULL || px->w->att.receipt_key == NULL)
		return;
	if (resp != NULL) {
		if (veil_sha256(resp, resp_len, rsha) != VEIL_OK)
			return;
		want.response = rsha;
	}
	if (veil_receipt_verify(px->w->att.receipt_key, jws, strlen(jws), &rc) != VEIL_OK ||
	    veil_receipt_check(&rc, &want) != VEIL_OK) {
		veil_err_clear();
		return;
	}
	px->res.receipt_ok = true;
	px->res.usage = true;
	px->res.prompt_tokens = rc.prompt_tokens;
	px->res.completion_tokens = rc.completion_tokens;
}

/* One complete SSE line of a stream, for metering: the chunk with
 * "usage" (and the worker's "veil_receipt") is the one that counts. */
static void sse_line(gw_px *px, const char *line, size_t n)
{
	json_t *doc = NULL, *usage;
	const char *r;

	if (n < 6 || memcmp(line, "data:", 5) != 0 ||
	    (memmem(line, n, "\"usage\"", 7) == NULL &&
	     memmem(line, n, "\"veil_receipt\"", 14) == NULL))
		return;
	line += 5;
	n -= 5;
	if (veil_json_parse((const uint8_t *)line, n, &doc) != VEIL_OK) {
		veil_err_clear();
		return;
	}
	usage = json_object_get(doc, "usage");
	if (json_is_object(usage) && usage_read(usage, &px->prompt, &px->completion))
		px->usage_seen = true;
	r = json_string_value(json_object_get(doc, "veil_receipt"));
	if (r != NULL && strlen(r) <= VEIL_RECEIPT_MAX_BYTES) {
		free(px->receipt);
		px->receipt = strdup(r);
	}
	json_decref(doc);
}

static void sse_scan(gw_px *px, const uint8_t *p, size_t n)
{
	if (px->line == NULL && (px->line = malloc(SSE_LINE_MAX)) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (!px->line_dropped)
				sse_line(px, px->line, px->line_len);
			px->line_len = 0;
			px->line_dropped = false;
		} else if (px->line_len < SSE_LINE_MAX) {
			px->line[px->line_len++] = (char)p[i];
		} else {
			px->line_dropped = true;
		}
	}
}

static void finish(gw_px *px);

static void cancel_later(evutil_socket_t fd, short what, void *arg)
{
	gw_px *px = arg;

	(void)fd;
	(void)what;
	if (!px->finished) {
		/* Frees the request without calling its callback and resets
		 * the connection; the exchange ends here. */
		evhttp_cancel_request(px->ureq);
		px->ureq = NULL;
		px->res.failed = true;
		px->cancel_pending = false;
		finish(px);
		return;
	}
	px->cancel_pending = false;
	if (!px->meter_pending)
		px_free(px);
}

/* From pool_destroy: the loop has ended with px still open. Its request
 * is cancelled (no callback runs), the client's reply ends, and px goes
 * with everything it holds. No metering: nothing verified is left. */
static void px_abort(gw_px *px)
{
	if (px->finished) {
		/* Its cancel_later and meter_later will not run. */
		if (px->meter_pending) {
			if (px->done != NULL)
				px->done(px->user, px->w, &px->res);
			gw_worker_unref(px->w);
		}
		px_free(px);
		return;
	}
	if (px->ureq != NULL)
		evhttp_cancel_request(px->ureq);
	px->ureq = NULL;
	px->res.failed = true;
	px->client_gone = true; /* the worker did nothing wrong */
	px->meter = false;
	px->cancel_pending = false;
	finish(px);
}

static void client_gone(gw_px *px)
{
	const struct timeval now = {0, 0};

	if (px->client_gone)
		return;
	px->client_gone = true;
	if (event_base_once(px->pool->base, -1, EV_TIMEOUT, cancel_later, px, &now) == 0)
		px->cancel_pending = true;
}

static bool header_passes(const char *name)
{
	return strcasecmp(name, "X-Veil-Receipt") == 0 || strcasecmp(name, "Retry-After") == 0;
}

static int on_headers(struct evhttp_request *req, void *arg)
{
	gw_px *px = arg;
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ct = evhttp_find_header(h, "Content-Type");
	const char *cl = evhttp_find_header(h, "Content-Length");
	struct evkeyval *kv;

	px->res.status = evhttp_request_get_response_code(req);
	px->res.seconds = gw_metrics_clock() - px->t0;
	px->stream = cl == NULL;
	px->sse = ct != NULL && strncasecmp(ct, "text/event-stream", 17) == 0;
	if (veil_http_deferred_add_header(px->d, "X-Veil-Worker", px->w->id) != VEIL_OK)
		veil_err_clear();
	TAILQ_FOREACH(kv, h, next)
	{
		if (!header_passes(kv->key))
			continue;
		if (strcasecmp(kv->key, "X-Veil-Receipt") == 0 && !px->stream) {
			free(px->receipt_header);
			px->receipt_header = strdup(kv->value);
		}
		if (veil_http_deferred_add_header(px->d, kv->key, kv->value) != VEIL_OK)
			veil_err_clear();
	}
	if (px->stream) {
		veil_http_deferred_begin(px->d, px->res.status,
					 ct != NULL ? ct : "application/octet-stream");
		px->begun = true;
		px->res.stream = true;
	} else if ((px->body = evbuffer_new()) == NULL) {
		return -1;
	}
	return 0;
}

static void on_chunk(struct evhttp_request *req, void *arg)
{
	gw_px *px = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	if (n == 0)
		return;
	if (!px->stream) {
		if (px->body == NULL || px->over_cap ||
		    evbuffer_get_length(px->body) + n > VEIL_GW_RESPONSE_MAX) {
			px->over_cap = true;
			evbuffer_drain(in, n);
			return;
		}
		evbuffer_remove_buffer(in, px->body, n);
		return;
	}
	if (!px->client_gone) {
		/* The worker's chunk, whole and as one piece: libevent hands it
		 * over only once complete, in as many buffer chains as it took
		 * to read (a 256 KiB chunk is dozens). Made contiguous, it is
		 * copied once more only when it spans several. (evbuffer_peek
		 * with a length of -1 fills at most the vectors it is given and
		 * says no more: the chains past them were dropped.) */
		const uint8_t *p = evbuffer_pullup(in, -1);
		if (p != NULL && px->meter)
			sse_scan(px, p, n);
		if (p == NULL || !veil_http_deferred_write(px->d, p, n))
			client_gone(px);
	}
	evbuffer_drain(in, n);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	gw_px *px = arg;

	(void)e;
	px->res.failed = true;
}

static void reply_whole(gw_px *px)
{
	size_t n = evbuffer_get_length(px->body);
	const uint8_t *p = n > 0 ? evbuffer_pullup(px->body, -1) : (const uint8_t *)"";
	struct evkeyvalq *h = px->ureq != NULL ? evhttp_request_get_input_headers(px->ureq) : NULL;
	const char *ct = h != NULL ? evhttp_find_header(h, "Content-Type") : NULL;

	if (px->over_cap || p == NULL) {
		static const char msg[] =
		    "{\"error\":{\"message\":\"the worker's answer is over the gateway's "
		    "cap\",\"type\":\"server_error\",\"code\":\"worker_answer_too_large\"}}";
		veil_http_deferred_reply(px->d, 502, "application/json", msg, sizeof msg - 1);
		px->res.failed = true;
		return;
	}
	veil_http_deferred_reply(px->d, px->res.status, ct, p, n);
}

/* The counts of an exchange (meter set): from the whole answer's usage
 * and receipt, or from what the stream scan kept; a verified receipt's
 * counts replace the answer's. */
static void meter(gw_px *px)
{
	if (px->res.failed || px->over_cap || px->res.status < 200 || px->res.status >= 300)
		return;
	if (px->begun) {
		if (px->usage_seen) {
			px->res.usage = true;
			px->res.prompt_tokens = px->prompt;
			px->res.completion_tokens = px->completion;
		}
		receipt_meter(px, px->receipt, NULL, 0);
	} else if (px->body != NULL) {
		size_t n = evbuffer_get_length(px->body);
		const uint8_t *p = n > 0 ? evbuffer_pullup(px->body, -1) : (const uint8_t *)"";
		json_t *doc = NULL;
		if (p == NULL)
			return;
		if (veil_json_parse(p, n, &doc) == VEIL_OK &&
		    usage_read(json_object_get(doc, "usage"), &px->res.prompt_tokens,
			       &px->res.completion_tokens))
			px->res.usage = true;
		veil_err_clear();
		json_decref(doc);
		receipt_meter(px, px->receipt_header, p, n);
	}
}

/* Metering after the answer has left: the deferred reply's event was
 * activated before this one, so the loop sends the answer first, and the
 * receipt's signature check (the costliest step of an exchange) is off
 * the client's latency. */
static void meter_later(evutil_socket_t fd, short what, void *arg)
{
	gw_px *px = arg;

	(void)fd;
	(void)what;
	meter(px);
	if (px->done != NULL)
		px->done(px->user, px->w, &px->res);
	px->meter_pending = false;
	gw_worker_unref(px->w);
	if (!px->cancel_pending)
		px_free(px);
}

static void on_done(struct evhttp_request *req, void *arg)
{
	gw_px *px = arg;

	if (req == NULL || evhttp_request_get_response_code(req) == 0)
		px->res.failed = true;
	finish(px);
}

/* The end of the exchange, on the loop: the client's answer, the
 * metering, the worker's count, the connection. */
static void finish(gw_px *px)
{
	veil_gateway *g = px->g;

	if (px->finished)
		return;
	px->finished = true;
	if (px->res.failed && !px->begun && px->body == NULL) {
		char msg[256];
		int n =
		    snprintf(msg, sizeof msg,
			     "{\"error\":{\"message\":\"worker %s failed before answering; "
			     "try again\",\"type\":\"server_error\",\"code\":\"worker_failed\"}}",
			     px->w->id);
		veil_http_deferred_reply(px->d, 502, "application/json", msg, (size_t)n);
	} else if (px->begun) {
		px->res.started = true;
		if (px->res.failed && px->sse && !px->client_gone) {
			/* A clean end would make the cut answer look whole (a
			 * stream may end without [DONE]); an error event makes
			 * OpenAI clients raise it. The blank lines first end any
			 * event the worker left half-sent. (A chunked OHTTP
			 * answer needs nothing: without its final chunk the
			 * client's decryption fails.) */
			static const char cut[] =
			    "\n\ndata: {\"error\":{\"message\":\"the worker broke off its "
			    "answer\",\"type\":\"server_error\",\"code\":\"worker_failed\"}}\n\n";
			(void)veil_http_deferred_write(px->d, cut, sizeof cut - 1);
		}
		veil_http_deferred_end(px->d);
	} else if (px->res.failed) {
		/* Headers came, then the exchange broke before the body ended. */
		px->res.started = true;
		static const char msg[] = "{\"error\":{\"message\":\"the worker broke off its "
					  "answer\",\"type\":\"server_error\",\"code\":"
					  "\"worker_failed\"}}";
		veil_http_deferred_reply(px->d, 502, "application/json", msg, sizeof msg - 1);
	} else {
		reply_whole(px);
	}
	if (px->res.failed && !px->client_gone) {
		/* Out of routing until a health check passes. */
		int st = GW_ADMITTED;
		atomic_compare_exchange_strong(&px->w->state, &st, GW_SUSPECT);
	}
	conn_put(px->pool, px->w, px->conn, !px->res.failed && !px->client_gone);
	if (px->meter) {
		const struct timeval now = {0, 0};
		gw_worker_ref(px->w);
		if (event_base_once(px->pool->base, -1, EV_TIMEOUT, meter_later, px, &now) == 0) {
			px->meter_pending = true;
			gw_registry_done(px->w);
			return;
		}
		gw_worker_unref(px->w);
		meter(px);
	}
	if (px->done != NULL)
		px->done(px->user, px->w, &px->res);
	gw_registry_done(px->w);
	(void)g;
	if (!px->cancel_pending)
		px_free(px);
}

void gw_forward(veil_gateway *g, veil_http_request *r, const gw_forward_req *f)
{
	gw_px *px = calloc(1, sizeof *px);
	struct evkeyvalq *out;
	char host[300];
	enum evhttp_cmd_type cmd = strcmp(f->method, "GET") == 0 ? EVHTTP_REQ_GET : EVHTTP_REQ_POST;

	if (px == NULL || (px->pool = pool_get(http_request_base(r))) == NULL) {
		free(px);
		gw_reply_error(r, 500, "server_error", "internal", "out of memory");
		goto fail;
	}
	px->g = g;
	px->w = f->worker;
	px->done = f->done;
	px->user = f->user;
	px->meter = f->meter;
	px->t0 = gw_metrics_clock();
	if (f->meter && veil_sha256(f->body, f->body_len, px->req_sha) != VEIL_OK)
		px->meter = false;
	px->conn = conn_take(g, px->pool, f->worker);
	px->ureq = px->conn != NULL ? evhttp_request_new(on_done, px) : NULL;
	if (px->ureq == NULL) {
		if (px->conn != NULL)
			evhttp_connection_free(px->conn);
		free(px);
		gw_reply_error(r, 500, "server_error", "internal", "out of memory");
		goto fail;
	}
	evhttp_request_set_header_cb(px->ureq, on_headers);
	evhttp_request_set_chunked_cb(px->ureq, on_chunk);
	evhttp_request_set_error_cb(px->ureq, on_error);
	out = evhttp_request_get_output_headers(px->ureq);
	snprintf(host, sizeof host, strchr(f->worker->host, ':') ? "[%s]:%u" : "%s:%u",
		 f->worker->host, f->worker->port);
	evhttp_add_header(out, "Host", host);
	if (f->content_type != NULL)
		evhttp_add_header(out, "Content-Type", f->content_type);
	if (f->accept != NULL)
		evhttp_add_header(out, "Accept", f->accept);
	if (f->body_len > 0)
		evbuffer_add(evhttp_request_get_output_buffer(px->ureq), f->body, f->body_len);
	px->d = veil_http_defer(r);
	if (px->d == NULL) {
		evhttp_request_free(px->ureq);
		conn_put(px->pool, px->w, px->conn, true);
		free(px);
		gw_reply_error(r, 500, "server_error", "internal", "out of memory");
		goto fail;
	}
	/* Linked first: the request may end inside evhttp_make_request. */
	px_link(px);
	if (evhttp_make_request(px->conn, px->ureq, cmd, f->target) != 0) {
		/* libevent freed the request. */
		px->ureq = NULL;
		px->res.failed = true;
		finish(px);
	}
	return;
fail:
	if (f->done != NULL) {
		gw_forward_result res = {.failed = true};
		f->done(f->user, f->worker, &res);
	}
	gw_registry_done(f->worker);
}

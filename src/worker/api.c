/*
 * api.c - veil-worker's routes (docs/worker.md "API"):
 *
 *   POST /v1/chat/completions, POST /v1/completions   OpenAI, plain or OHTTP
 *   GET  /v1/models                                    OpenAI, plain
 *   POST /v1/ohttp                 the OHTTP gateway resource: the inner
 *                                  request's method and path choose the route
 *   GET  /v1/attestation[?nonce=HEX]  a fresh evidence bundle for the
 *                                  nonce (rate-limited), or the published one
 *   GET  /.well-known/ohttp-keys   the key configurations (RFC 9458 section 3)
 *   GET  /healthz
 *
 * A completion request is parsed and checked on the HTTP thread, then
 * becomes a job that the built-in engine's scheduler (sched.c) or the
 * upstream forwarder (upstream.c) runs on a thread of its own; the job
 * answers through a sink (sink.c), so the plain and the encapsulated forms
 * share every step but the last. Every API response carries a receipt:
 * X-Veil-Receipt on whole responses, a "veil_receipt" member in the last
 * chunk of a stream (whose digest is known only at its end).
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "veil/bhttp.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "worker/worker_internal.h"

/* ---- receipts and the end of a job ---- */

static veil_err receipt_make(veil_worker *w, const char *id, bool stream, bool ohttp,
			     const uint8_t request[32], const uint8_t response[32],
			     uint64_t prompt_tokens, uint64_t completion_tokens, char **out)
{
	veil_receipt r;

	memset(&r, 0, sizeof r);
	snprintf(r.worker, sizeof r.worker, "%s", w->id);
	snprintf(r.id, sizeof r.id, "%s", id);
	snprintf(r.model, sizeof r.model, "%s", w->model_name);
	memcpy(r.evidence, w->bundle_digest, 32);
	memcpy(r.model_digest, w->model_digest, 32);
	memcpy(r.request, request, 32);
	memcpy(r.response, response, 32);
	r.prompt_tokens = prompt_tokens;
	r.completion_tokens = completion_tokens;
	r.created = (int64_t)time(NULL);
	r.stream = stream;
	r.ohttp = ohttp;
	return veil_receipt_sign(w->receipt_key, &r, out);
}

/* A whole response with its receipt header. */
static void reply_signed(veil_worker *w, wk_sink *s, const char *id, const uint8_t request[32],
			 int status, const char *type, const uint8_t *body, size_t len,
			 uint64_t prompt_tokens, uint64_t completion_tokens)
{
	uint8_t digest[32];
	char *receipt = NULL;

	if (veil_sha256(body, len, digest) != VEIL_OK ||
	    receipt_make(w, id, false, s->ohttp, request, digest, prompt_tokens, completion_tokens,
			 &receipt) != VEIL_OK ||
	    s->ops->header(s, "X-Veil-Receipt", receipt) != VEIL_OK) {
		free(receipt);
		wk_log(w, "receipt.error", json_pack("{s:s}", "detail", veil_err_detail()));
		s->ops->reply(s, 500, "text/plain", "cannot sign the receipt\n", 24);
		return;
	}
	free(receipt);
	s->ops->reply(s, status, type, body, len);
}

/* An OpenAI error, signed like any other response. */
static void reply_error(veil_worker *w, wk_sink *s, const uint8_t request[32], const oai_error *e)
{
	veil_writer body;
	char id[48];

	veil_writer_init(&body, 4096);
	if (oai_error_body(e, &body) != VEIL_OK ||
	    oai_response_id("err-", id, sizeof id) != VEIL_OK) {
		veil_writer_clear(&body);
		s->ops->reply(s, 500, "text/plain", "internal error\n", 15);
		return;
	}
	if (e->status == 429 || e->status == 503) {
		if (s->ops->header(s, "Retry-After", "1") != VEIL_OK) {
			/* Only an allocation can fail here; the reply goes on. */
		}
	}
	reply_signed(w, s, id, request, e->status, "application/json", body.data, body.len, 0, 0);
	veil_writer_clear(&body);
}

void wk_job_free(wk_job *j)
{
	if (j == NULL)
		return;
	oai_request_clear(&j->req);
	veil_free_secret(j->body, j->body_len);
	veil_wipe(j, sizeof *j);
	free(j);
}

void wk_job_fail(wk_job *j, const oai_error *e)
{
	reply_error(j->w, j->sink, j->request_digest, e);
	j->sink = NULL;
	wk_job_free(j);
}

/* Random padding for a streamed piece (docs/worker.md "Padding"): an SSE
 * comment line, which every SSE parser skips (WHATWG HTML, "Server-sent
 * events", lines starting with a colon), of 0 to pad_max bytes, so the
 * size of each encrypted chunk says less about the token it carries. */
static veil_err pad(veil_writer *out, size_t pad_max)
{
	uint32_t r;
	size_t n;

	if (pad_max == 0)
		return VEIL_OK;
	ENSURE(RAND_bytes((uint8_t *)&r, sizeof r) == 1, VEIL_E_CRYPTO, "no random bytes");
	n = r % (pad_max + 1);
	TRY(veil_writer_putc(out, ':'));
	for (size_t i = 0; i < n; i++)
		TRY(veil_writer_putc(out, ' '));
	return veil_writer_putc(out, '\n');
}

void wk_job_stream_begin(wk_job *j)
{
	wk_sink *s = j->sink;

	if (s->ops->header(s, "X-Accel-Buffering", "no") != VEIL_OK) {
		/* Only a hint for proxies; the stream works without it. */
	}
	s->ops->begin(s, 200, "text/event-stream");
}

static bool send_chunk(wk_job *j, const oai_chunk *c)
{
	veil_writer out;
	bool ok;

	veil_writer_init(&out, VEIL_OHTTP_CHUNK_MAX);
	ok = pad(&out, j->sink->pad_max) == VEIL_OK &&
	     oai_chunk_sse(j->req.kind, c, &out) == VEIL_OK;
	if (ok)
		ok = j->sink->ops->write(j->sink, out.data, out.len);
	veil_writer_clear(&out);
	return ok;
}

bool wk_job_stream_text(wk_job *j, const char *text, size_t len, bool first)
{
	oai_chunk c = {.id = j->id,
		       .created = j->created,
		       .model = j->w->model_name,
		       .first = first,
		       .text = text,
		       .len = len,
		       .usage_null = j->req.include_usage};

	if (len == 0 && !first)
		return !j->sink->ops->gone(j->sink);
	return send_chunk(j, &c);
}

/* A whole event of an upstream engine's stream, passed on in one write,
 * padded like the worker's own. */
bool wk_job_stream_event(wk_job *j, const char *json, size_t len)
{
	veil_writer out;
	bool ok;

	veil_writer_init(&out, VEIL_OHTTP_CHUNK_MAX);
	ok = pad(&out, j->sink->pad_max) == VEIL_OK &&
	     veil_writer_puts(&out, "data: ") == VEIL_OK &&
	     veil_writer_put(&out, json, len) == VEIL_OK &&
	     veil_writer_puts(&out, "\n\n") == VEIL_OK;
	if (ok)
		ok = j->sink->ops->write(j->sink, out.data, out.len);
	veil_writer_clear(&out);
	return ok;
}

void wk_job_stream_end(wk_job *j, const wk_result *r, bool finish_chunk)
{
	veil_worker *w = j->w;
	wk_sink *s = j->sink;
	oai_usage u = {r->prompt_tokens, r->completion_tokens};
	bool usage_chunk = j->req.include_usage || !finish_chunk;
	char *receipt = NULL;
	/* The last content chunk carries finish_reason; the receipt goes in
	 * the last chunk before [DONE]: the usage chunk when there is one,
	 * else the finish chunk itself. */
	oai_chunk fin = {.id = j->id,
			 .created = j->created,
			 .model = w->model_name,
			 .finish_reason = r->finish_reason,
			 .usage_null = j->req.include_usage};
	oai_chunk use = {.id = j->id, .created = j->created, .model = w->model_name, .usage = &u};
	bool ok = r->stream_digest != NULL &&
		  receipt_make(w, j->id, true, s->ohttp, j->request_digest, r->stream_digest,
			       u.prompt_tokens, u.completion_tokens, &receipt) == VEIL_OK;

	if (!ok)
		wk_log(w, "receipt.error",
		       json_pack("{s:s}", "detail",
				 r->stream_digest == NULL ? "no digest" : veil_err_detail()));
	if (usage_chunk)
		use.receipt = receipt;
	else
		fin.receipt = receipt;
	/* A stream whose receipt cannot be made ends without [DONE]: a client
	 * must not take an unsigned stream for a complete one. */
	if (ok && (!finish_chunk || send_chunk(j, &fin)) && (!usage_chunk || send_chunk(j, &use))) {
		veil_writer done;

		veil_writer_init(&done, 64);
		if (oai_sse_done(&done) == VEIL_OK)
			s->ops->write(s, done.data, done.len);
		veil_writer_clear(&done);
	}
	s->ops->end(s);
	free(receipt);
	j->sink = NULL;
	wk_job_free(j);
}

void wk_job_stream_abort(wk_job *j)
{
	j->sink->ops->end(j->sink);
	j->sink = NULL;
	wk_job_free(j);
}

void wk_job_finish(wk_job *j, const wk_result *r)
{
	veil_worker *w = j->w;
	wk_sink *s = j->sink;
	oai_usage u = {r->prompt_tokens, r->completion_tokens};
	veil_writer body;

	if (j->req.stream) {
		wk_job_stream_end(j, r, true);
		return;
	}
	veil_writer_init(&body, VEIL_WORKER_RESPONSE_MAX);
	if (oai_response_body(j->req.kind, j->id, j->created, w->model_name, r->text, r->len,
			      r->finish_reason, &u, &body) != VEIL_OK) {
		oai_error e;
		oai_error_set(&e, 500, "server_error", "", "", "the response could not be made");
		reply_error(w, s, j->request_digest, &e);
	} else {
		reply_signed(w, s, j->id, j->request_digest, 200, "application/json", body.data,
			     body.len, u.prompt_tokens, u.completion_tokens);
	}
	veil_writer_clear(&body);
	j->sink = NULL;
	wk_job_free(j);
}

void wk_job_reply_raw(wk_job *j, int status, const uint8_t *body, size_t len,
		      uint64_t prompt_tokens, uint64_t completion_tokens)
{
	reply_signed(j->w, j->sink, j->id, j->request_digest, status, "application/json", body, len,
		     prompt_tokens, completion_tokens);
	j->sink = NULL;
	wk_job_free(j);
}

/* ---- completions ---- */

/* Parses a completion request and hands it to the engine; every outcome
 * goes to s. */
static void submit(veil_worker *w, wk_sink *s, oai_kind kind, const uint8_t *body, size_t len)
{
	uint8_t digest[32];
	oai_error e;
	wk_job *j;

	if (veil_sha256(body, len, digest) != VEIL_OK) {
		s->ops->reply(s, 500, "text/plain", "internal error\n", 15);
		return;
	}
	if (atomic_load(&w->stopping)) {
		oai_error_set(&e, 503, "server_error", "", "shutting_down",
			      "the worker is stopping");
		reply_error(w, s, digest, &e);
		return;
	}
	j = calloc(1, sizeof *j);
	if (j == NULL) {
		oai_error_set(&e, 500, "server_error", "", "", "out of memory");
		reply_error(w, s, digest, &e);
		return;
	}
	j->w = w;
	j->sink = s;
	memcpy(j->request_digest, digest, 32);
	j->created = (int64_t)time(NULL);
	j->t_start = wk_clock();
	if (oai_request_parse(kind, body, len, &w->limits, &j->req, &e) != VEIL_OK) {
		wk_job_fail(j, &e);
		return;
	}
	if (oai_response_id(kind == OAI_CHAT ? "chatcmpl-" : "cmpl-", j->id, sizeof j->id) !=
	    VEIL_OK) {
		oai_error_set(&e, 500, "server_error", "", "", "no random bytes");
		wk_job_fail(j, &e);
		return;
	}
	if (j->req.model[0] != '\0' && strcmp(j->req.model, w->model_name) != 0) {
		oai_error_set(&e, 404, "invalid_request_error", "model", "model_not_found",
			      "this worker serves the model \"%s\" only", w->model_name);
		wk_job_fail(j, &e);
		return;
	}
	if (w->cfg.pad_stream && j->req.stream)
		s->pad_max = VEIL_WORKER_PAD_MAX;
	if (w->cfg.upstream != NULL) {
		j->body = malloc(len > 0 ? len : 1);
		if (j->body == NULL) {
			oai_error_set(&e, 500, "server_error", "", "", "out of memory");
			wk_job_fail(j, &e);
			return;
		}
		memcpy(j->body, body, len);
		j->body_len = len;
	}
	if (w->cfg.upstream != NULL ? !wk_upstream_submit(w, j) : !wk_sched_submit(w->sched, j)) {
		oai_error_set(&e, 429, "rate_limit_exceeded", "", "queue_full",
			      "the worker is busy; try again shortly");
		wk_log(w, "request.refused", json_pack("{s:s}", "reason", "queue full"));
		wk_job_fail(j, &e);
	}
}

/* GET /v1/models; req is the request's body (normally empty), which the
 * receipt names like any other. */
static void models(veil_worker *w, wk_sink *s, const uint8_t *req, size_t req_len)
{
	uint8_t digest[32];
	veil_writer body;
	char id[48];

	veil_writer_init(&body, 4096);
	if (veil_sha256(req, req_len, digest) != VEIL_OK ||
	    oai_models_body(w->model_name, w->started, "veil", &body) != VEIL_OK ||
	    oai_response_id("models-", id, sizeof id) != VEIL_OK)
		s->ops->reply(s, 500, "text/plain", "internal error\n", 15);
	else
		reply_signed(w, s, id, digest, 200, "application/json", body.data, body.len, 0, 0);
	veil_writer_clear(&body);
}

/* ---- Oblivious HTTP ---- */

static bool is_type(const char *header, const char *type)
{
	size_t n = strlen(type);

	/* Media types compare case-insensitively; parameters are not used. */
	return header != NULL && strncasecmp(header, type, n) == 0 &&
	       (header[n] == '\0' || header[n] == ';' || header[n] == ' ');
}

/* The inner request, decapsulated: routed like a plain one. */
static void ohttp_inner(veil_worker *w, wk_sink *s, const uint8_t *bhttp, size_t len)
{
	veil_bhttp_msg m;
	oai_error e;
	uint8_t digest[32];

	if (veil_bhttp_decode(bhttp, len, &m) != VEIL_OK || !m.request) {
		/* A response decodes too, into fields and content (the
		 * clear is safe on a message the decoder already cleared). */
		veil_bhttp_msg_clear(&m);
		/* The receipt names the bytes that were not a request. */
		if (veil_sha256(bhttp, len, digest) != VEIL_OK) {
			s->ops->reply(s, 500, "text/plain", "internal error\n", 15);
			return;
		}
		oai_error_set(&e, 400, "invalid_request_error", "", "bad_bhttp",
			      "the encapsulated request is not a Binary HTTP request");
		reply_error(w, s, digest, &e);
		return;
	}
	if (strcmp(m.method, "POST") == 0 && strcmp(m.path, "/v1/chat/completions") == 0)
		submit(w, s, OAI_CHAT, m.content, m.content_len);
	else if (strcmp(m.method, "POST") == 0 && strcmp(m.path, "/v1/completions") == 0)
		submit(w, s, OAI_COMPLETION, m.content, m.content_len);
	else if (strcmp(m.method, "GET") == 0 && strcmp(m.path, "/v1/models") == 0)
		models(w, s, m.content, m.content_len);
	else if (veil_sha256(m.content, m.content_len, digest) != VEIL_OK)
		s->ops->reply(s, 500, "text/plain", "internal error\n", 15);
	else {
		oai_error_set(&e, 404, "invalid_request_error", "", "unknown_route",
			      "no route %s %.64s inside OHTTP", m.method, m.path);
		reply_error(w, s, digest, &e);
	}
	veil_bhttp_msg_clear(&m);
}

/* An encapsulated request (RFC 9458 section 4.3, or chunked). Errors of
 * the encapsulation itself are plain (section 5.2): only a request that
 * decrypts can get an encrypted answer. */
static void ohttp_request(veil_worker *w, veil_http_request *r, bool chunked)
{
	veil_ohttp_exchange x = {0};
	veil_writer pt;
	size_t len;
	const uint8_t *body = veil_http_body(r, &len);
	veil_http_deferred *d;
	veil_err err;
	wk_sink *s;

	veil_writer_init(&pt, VEIL_OHTTP_MESSAGE_MAX);
	if (!chunked) {
		err = veil_ohttp_request_decap(&x, w->ohttp, body, len, &pt);
	} else {
		err = veil_ohttp_chunked_request_open(&x, w->ohttp);
		if (err == VEIL_OK)
			err = veil_ohttp_chunked_feed(&x, body, len, &pt);
		if (err == VEIL_OK)
			err = veil_ohttp_chunked_finish(&x, &pt);
	}
	if (err != VEIL_OK) {
		/* RFC 9458 section 5.3: a key configuration the gateway does not
		 * have is a 400 with the problem type "ohttp-key" (RFC 9457), so
		 * the client knows to fetch the keys again. */
		json_t *p =
		    json_pack("{s:s, s:s}", "type",
			      err == VEIL_E_NOT_FOUND
				  ? "https://iana.org/assignments/http-problem-types#ohttp-key"
				  : "about:blank",
			      "title",
			      err == VEIL_E_NOT_FOUND     ? "unknown OHTTP key id"
			      : err == VEIL_E_UNSUPPORTED ? "unsupported OHTTP suite"
							  : "the request does not decrypt");
		char *text = p != NULL ? json_dumps(p, JSON_COMPACT) : NULL;
		json_decref(p);
		wk_log(w, "ohttp.refused",
		       json_pack("{s:s, s:s}", "detail", veil_err_detail(), "peer",
				 veil_http_peer(r)));
		veil_http_reply(r, 400, "application/problem+json", text != NULL ? text : "{}",
				text != NULL ? strlen(text) : 2);
		free(text);
		veil_ohttp_exchange_clear(&x);
		veil_writer_clear(&pt);
		return;
	}
	d = veil_http_defer(r);
	if (d == NULL) {
		veil_ohttp_exchange_clear(&x);
		veil_writer_clear(&pt);
		veil_http_reply(r, 500, "text/plain", "internal error\n", 15);
		return;
	}
	s = wk_sink_ohttp(d, &x, chunked);
	if (s != NULL)
		ohttp_inner(w, s, pt.data, pt.len);
	veil_writer_clear(&pt);
}

/* ---- handlers ---- */

static void completion(veil_http_request *r, veil_worker *w, oai_kind kind)
{
	const char *type = veil_http_header(r, "Content-Type");
	veil_http_deferred *d;
	const uint8_t *body;
	size_t len;
	wk_sink *s;

	if (is_type(type, VEIL_OHTTP_REQ_TYPE) || is_type(type, VEIL_OHTTP_CHUNKED_REQ_TYPE)) {
		ohttp_request(w, r, is_type(type, VEIL_OHTTP_CHUNKED_REQ_TYPE));
		return;
	}
	body = veil_http_body(r, &len);
	d = veil_http_defer(r);
	if (d == NULL) {
		veil_http_reply(r, 500, "text/plain", "internal error\n", 15);
		return;
	}
	s = wk_sink_plain(d);
	if (s != NULL)
		submit(w, s, kind, body, len);
}

static void h_chat(veil_http_request *r, void *user)
{
	completion(r, user, OAI_CHAT);
}

static void h_completions(veil_http_request *r, void *user)
{
	completion(r, user, OAI_COMPLETION);
}

static void h_ohttp(veil_http_request *r, void *user)
{
	const char *type = veil_http_header(r, "Content-Type");

	if (is_type(type, VEIL_OHTTP_REQ_TYPE) || is_type(type, VEIL_OHTTP_CHUNKED_REQ_TYPE))
		ohttp_request(user, r, is_type(type, VEIL_OHTTP_CHUNKED_REQ_TYPE));
	else
		veil_http_reply(r, 415, "text/plain",
				"expected message/ohttp-req or message/ohttp-chunked-req\n", 56);
}

static void h_models(veil_http_request *r, void *user)
{
	veil_http_deferred *d = veil_http_defer(r);
	const uint8_t *body;
	size_t len;
	wk_sink *s;

	if (d == NULL) {
		veil_http_reply(r, 500, "text/plain", "internal error\n", 15);
		return;
	}
	body = veil_http_body(r, &len);
	s = wk_sink_plain(d);
	if (s != NULL)
		models(user, s, body, len);
}

static void h_keys(veil_http_request *r, void *user)
{
	veil_worker *w = user;

	veil_http_reply(r, 200, VEIL_OHTTP_KEYS_TYPE, w->ohttp_keys, w->ohttp_keys_len);
}

static void h_health(veil_http_request *r, void *user)
{
	veil_worker *w = user;
	json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "status",
			      atomic_load(&w->stopping) ? "stopping" : "ok", "worker", w->id,
			      "model", w->model_name, "waiting",
			      (json_int_t)(w->sched != NULL ? wk_sched_waiting(w->sched) : 0));

	veil_http_reply_json(r, 200, j);
}

/* The token bucket behind /v1/attestation?nonce=: making evidence costs a
 * signature (sim) or a trip to the secure processor (hardware). */
static bool rate_take(veil_worker *w)
{
	double rate = w->cfg.attest_per_s;
	double now = wk_clock();
	bool ok;

	pthread_mutex_lock(&w->rate_mu);
	w->rate_tokens += (now - w->rate_at) * rate;
	if (w->rate_tokens > rate)
		w->rate_tokens = rate;
	w->rate_at = now;
	ok = w->rate_tokens >= 1.0;
	if (ok)
		w->rate_tokens -= 1.0;
	pthread_mutex_unlock(&w->rate_mu);
	return ok;
}

static void problem(veil_http_request *r, int status, const char *detail)
{
	json_t *j = json_pack("{s:{s:s, s:s}}", "error", "type", "invalid_request_error", "message",
			      detail);

	veil_http_reply_json(r, status, j);
}

static void h_attestation(veil_http_request *r, void *user)
{
	veil_worker *w = user;
	const char *q = veil_http_query(r);
	char nonce[VEIL_WORKER_NONCE_HEX_MAX + 1];
	uint8_t *bundle = NULL;
	size_t n, len = 0;

	if (q == NULL || q[0] == '\0') {
		veil_http_reply(r, 200, "application/json", w->bundle, w->bundle_len);
		return;
	}
	if (strncmp(q, "nonce=", 6) != 0) {
		problem(r, 400, "the only query parameter is nonce=HEX");
		return;
	}
	q += 6;
	n = strlen(q);
	if (n < VEIL_WORKER_NONCE_HEX_MIN || n > VEIL_WORKER_NONCE_HEX_MAX || n % 2 != 0 ||
	    strspn(q, "0123456789abcdefABCDEF") != n) {
		problem(r, 400,
			"nonce must be 16 to 128 hex digits (8 to 64 bytes), an even count");
		return;
	}
	for (size_t i = 0; i <= n; i++)
		nonce[i] = (char)(q[i] >= 'A' && q[i] <= 'F' ? q[i] - 'A' + 'a' : q[i]);
	if (!rate_take(w)) {
		if (veil_http_add_header(r, "Retry-After", "1") != VEIL_OK) {
			/* Only a hint. */
		}
		problem(r, 429, "too many fresh attestations; try again shortly");
		return;
	}
	if (wk_bundle(w, nonce, &bundle, &len) != VEIL_OK) {
		wk_log(w, "attestation.error", json_pack("{s:s}", "detail", veil_err_detail()));
		problem(r, 500, "the platform could not produce evidence");
		return;
	}
	veil_http_reply(r, 200, "application/json", bundle, len);
	free(bundle);
}

veil_err wk_routes(veil_worker *w, veil_http_server *s)
{
	TRY(veil_http_route(s, "POST", "/v1/chat/completions", h_chat, w));
	TRY(veil_http_route(s, "POST", "/v1/completions", h_completions, w));
	TRY(veil_http_route(s, "POST", "/v1/ohttp", h_ohttp, w));
	TRY(veil_http_route(s, "GET", "/v1/models", h_models, w));
	TRY(veil_http_route(s, "GET", "/v1/attestation", h_attestation, w));
	TRY(veil_http_route(s, "GET", "/.well-known/ohttp-keys", h_keys, w));
	return veil_http_route(s, "GET", "/healthz", h_health, w);
}

/*
 * exchange.c - one request to a verified worker, end to end encrypted,
 * and the checks on its answer (docs/client.md "Exchanges").
 *
 * The request is a Binary HTTP message (RFC 9292) sealed to the worker's
 * attested OHTTP key (RFC 9458): whole (message/ohttp-req) for answers
 * that come whole, chunked (message/ohttp-chunked-req,
 * draft-ietf-ohai-chunked-ohttp-08) when the request asks to stream, so
 * that each event can be opened as it arrives. It goes to the gateway's
 * /v1/ohttp marked X-Veil-Confidential: required; the gateway routes it
 * by key id to the one worker that can open it, and can read neither it
 * nor the answer.
 *
 * The answer is opened in layers, each failure naming its check:
 *   outer HTTP status     not 200: the gateway's own answer (unavailable,
 *                         or a transport error), never the worker's
 *   OHTTP                 decrypt: altered, reordered, cut short
 *   BHTTP                 response: the inner message's framing
 *   SSE (streams)         response: the events, ending in [DONE]
 *   receipt               receipt: signed by the attested receipt key,
 *                         naming this worker, its published bundle (fresh
 *                         mode), the model digest, the request body sent
 *                         and the answer received, OHTTP, streamed or not
 * A stream's events reach the caller as they are opened; the exchange
 * succeeds only once the receipt verified at its end, and until then the
 * caller must not treat the answer as complete (the proxy holds back
 * [DONE]).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "veil/bhttp.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/secret.h"
#include "veil/timeutil.h"

#define ANSWER_MAX    (16u << 20) /* a whole answer, encapsulated */
#define OUTER_ERR_MAX (64u << 10) /* the gateway's own error bodies */
#define IAT_SKEW_S    600         /* receipts signed this far from our clock are refused */

typedef struct xchg {
	veil_client *c;
	const veil_client_worker *w;
	const veil_client_cb *cb;
	veil_client_result *res;
	veil_ohttp_exchange ox;
	veil_bhttp_stream *bs;
	veil_sse *sse;
	veil_writer pt;        /* plaintext opened from the chunks, not yet decoded */
	veil_writer outer_err; /* the gateway's body when it answered itself */
	long outer_status;
	bool head_seen;
	bool stopped; /* a caller's callback returned false: check TRANSPORT */
	/* The first failure inside a callback: its check, and the detail
	 * saved before libcurl's own error replaces it. */
	veil_client_check fail;
	char fail_detail[VEIL_ERR_DETAIL_MAX];
} xchg;

static bool fail_at(xchg *x, veil_client_check check)
{
	if (x->fail == VEIL_CHECK_NONE) {
		x->fail = check;
		snprintf(x->fail_detail, sizeof x->fail_detail, "%s", veil_err_detail());
	}
	return false;
}

void veil_client_result_clear(veil_client_result *r)
{
	if (r == NULL)
		return;
	veil_writer_clear(&r->body);
	free(r->receipt_jws);
	memset(r, 0, sizeof *r);
}

/* ---- the inner response, as the BHTTP decoder hands it over ---- */

static bool sse_event(void *user, const char *data, size_t len)
{
	xchg *x = user;

	if (x->cb != NULL && x->cb->on_event != NULL && !x->cb->on_event(x->cb->user, data, len)) {
		x->stopped = true;
		veil_fail(VEIL_E_IO, "the caller stopped the stream");
		return false;
	}
	return true;
}

static veil_err on_head(void *user, uint16_t status, const veil_bhttp_fields *fields)
{
	xchg *x = user;
	veil_client_result *res = x->res;
	const veil_bhttp_field *ct = veil_bhttp_fields_find(fields, "content-type");
	const veil_bhttp_field *rc = veil_bhttp_fields_find(fields, "x-veil-receipt");

	ENSURE(!x->head_seen, VEIL_E_MALFORMED, "two final responses");
	x->head_seen = true;
	res->status = status;
	if (ct != NULL && ct->value_len < sizeof res->content_type) {
		memcpy(res->content_type, ct->value, ct->value_len);
		res->content_type[ct->value_len] = '\0';
	}
	res->stream = strncmp(res->content_type, "text/event-stream", 17) == 0;
	if (rc != NULL) {
		ENSURE(rc->value_len <= VEIL_RECEIPT_MAX_BYTES, VEIL_E_LIMIT,
		       "the receipt is over %d bytes", VEIL_RECEIPT_MAX_BYTES);
		res->receipt_jws = malloc(rc->value_len + 1);
		ENSURE(res->receipt_jws != NULL, VEIL_E_NOMEM, "out of memory");
		memcpy(res->receipt_jws, rc->value, rc->value_len);
		res->receipt_jws[rc->value_len] = '\0';
	}
	if (res->stream)
		TRY(veil_sse_new(&x->sse));
	if (x->cb != NULL && x->cb->on_head != NULL &&
	    !x->cb->on_head(x->cb->user, status, res->content_type)) {
		x->stopped = true;
		return veil_fail(VEIL_E_IO, "the caller stopped the exchange");
	}
	return VEIL_OK;
}

static veil_err on_content(void *user, const uint8_t *p, size_t n)
{
	xchg *x = user;

	if (x->sse != NULL)
		return veil_sse_feed(x->sse, p, n, sse_event, x);
	return veil_writer_put(&x->res->body, p, n);
}

static veil_err decode_pt(xchg *x)
{
	veil_err err = VEIL_OK;

	if (x->pt.len > 0) {
		err = veil_bhttp_stream_feed(x->bs, x->pt.data, x->pt.len);
		veil_wipe(x->pt.data, x->pt.len);
		x->pt.len = 0;
	}
	return err;
}

/* libcurl's pieces of a chunked answer. */
static bool on_data(void *user, long status, const uint8_t *p, size_t n)
{
	xchg *x = user;

	x->outer_status = status;
	if (status != 200) {
		/* Capped: beyond OUTER_ERR_MAX the rest is dropped, and the
		 * answer is reported from what fit. */
		if (veil_writer_put(&x->outer_err, p, n) != VEIL_OK)
			x->outer_err.err = VEIL_OK;
		return true;
	}
	if (veil_ohttp_chunked_feed(&x->ox, p, n, &x->pt) != VEIL_OK)
		return fail_at(x, VEIL_CHECK_DECRYPT);
	if (decode_pt(x) != VEIL_OK)
		return fail_at(x, x->fail != VEIL_CHECK_NONE ? x->fail : VEIL_CHECK_RESPONSE);
	return true;
}

/* ---- the gateway's own answers ---- */

static veil_err outer_error(xchg *x, long status, const uint8_t *body, size_t len)
{
	json_t *doc = NULL;
	char msg[300] = "";
	const char *m = NULL, *type = NULL;

	if (veil_json_parse_max(body, len, OUTER_ERR_MAX, &doc) == VEIL_OK) {
		json_t *e = json_object_get(doc, "error");
		m = json_string_value(
		    json_object_get(e != NULL ? e : doc, e != NULL ? "message" : "detail"));
		type = json_string_value(json_object_get(doc, "type"));
	}
	if (m != NULL) {
		snprintf(msg, sizeof msg, ": %s", m);
		veil_text_sanitize(msg);
	}
	/* RFC 9458 section 5.3: the key is no longer served there; 503: the
	 * gateway has no admitted worker that holds it. */
	x->res->check =
	    status == 503 || status == 404 || (type != NULL && strstr(type, "#ohttp-key") != NULL)
		? VEIL_CHECK_UNAVAILABLE
		: VEIL_CHECK_TRANSPORT;
	json_decref(doc);
	return veil_fail(VEIL_E_IO, "the gateway answered %ld%s", status, msg);
}

/* ---- the receipt ---- */

static veil_err check_receipt(xchg *x, const char *jws, const uint8_t answer[32])
{
	const veil_client_worker *w = x->w;
	veil_client_result *res = x->res;
	uint8_t model[32];
	size_t n;
	int64_t now = veil_time_now();

	res->check = VEIL_CHECK_RECEIPT;
	ENSURE(jws != NULL, VEIL_E_VERIFY, "the answer carries no receipt");
	TRY(veil_receipt_verify(w->receipt_key, jws, strlen(jws), &res->receipt));
	TRY(veil_hex_decode(w->model_sha256, 64, model, sizeof model, &n));
	memcpy(res->response_sha256, answer, 32);
	/* Logged mode knows the logged bundle, not the published one the
	 * receipt names: the key it verified under is what binds it. */
	veil_receipt_expect want = {.worker = w->id,
				    .evidence = w->log_index < 0 ? w->bundle_sha256 : NULL,
				    .model_digest = model,
				    .request = res->request_sha256,
				    .response = answer};
	TRY(veil_receipt_check(&res->receipt, &want));
	ENSURE(res->receipt.ohttp, VEIL_E_MISMATCH,
	       "the receipt says the exchange was not end-to-end encrypted");
	ENSURE(res->receipt.stream == res->stream, VEIL_E_MISMATCH,
	       "the receipt says the answer was %sa stream", res->receipt.stream ? "" : "not ");
	ENSURE(res->receipt.created > now - IAT_SKEW_S && res->receipt.created < now + IAT_SKEW_S,
	       VEIL_E_MISMATCH, "the receipt was signed %lld seconds from this machine's clock",
	       (long long)(res->receipt.created - now));
	res->receipt_ok = true;
	res->check = VEIL_CHECK_NONE;
	return VEIL_OK;
}

/* The end of the answer: the stream's events, the digest, the receipt. */
static veil_err finish_answer(xchg *x)
{
	veil_client_result *res = x->res;
	uint8_t digest[32];
	const char *receipt = NULL;
	bool done = false;

	res->check = VEIL_CHECK_RESPONSE;
	ENSURE(x->head_seen, VEIL_E_TRUNCATED, "the answer has no status");
	if (x->sse != NULL) {
		TRY(veil_sse_finish(x->sse, &done, digest, &receipt));
		ENSURE(done, VEIL_E_TRUNCATED, "the stream ended without [DONE]");
		if (receipt != NULL) {
			free(res->receipt_jws);
			res->receipt_jws = strdup(receipt);
			ENSURE(res->receipt_jws != NULL, VEIL_E_NOMEM, "out of memory");
		}
	} else {
		TRY(veil_writer_status(&res->body));
		TRY(veil_sha256(res->body.data, res->body.len, digest));
	}
	return check_receipt(x, res->receipt_jws, digest);
}

/* ---- sending ---- */

static veil_err inner_request(const char *method, const char *path, const uint8_t *body, size_t len,
			      veil_writer *out)
{
	veil_bhttp_msg m = {0};
	veil_err err;

	err = veil_bhttp_request_init(&m, method, "https", "veil-worker", path);
	if (err == VEIL_OK && len > 0)
		err = veil_bhttp_fields_add(&m.header, "content-type",
					    (const uint8_t *)"application/json", 16);
	if (err == VEIL_OK && len > 0)
		err = veil_bhttp_set_content(&m, body, len);
	if (err == VEIL_OK)
		err = veil_bhttp_encode(&m, out);
	veil_bhttp_msg_clear(&m);
	return err;
}

static bool wants_stream(const uint8_t *body, size_t len)
{
	json_t *doc = NULL;
	bool s = false;

	if (len > 0 && veil_json_parse(body, len, &doc) == VEIL_OK)
		s = json_is_true(json_object_get(doc, "stream"));
	json_decref(doc);
	return s;
}

static veil_err send_whole(xchg *x, const uint8_t *bhttp, size_t blen)
{
	static const char *const hdrs[] = {"Content-Type: " VEIL_OHTTP_REQ_TYPE,
					   "X-Veil-Confidential: required", NULL};
	veil_http_client_response resp = {0};
	veil_writer enc, plain;
	veil_bhttp_msg m = {0};
	veil_err err;

	veil_writer_init(&enc, ANSWER_MAX);
	veil_writer_init(&plain, ANSWER_MAX);
	x->res->check = VEIL_CHECK_TRANSPORT;
	err = veil_ohttp_request_encap(&x->ox, &x->w->ohttp, bhttp, blen, &enc);
	if (err == VEIL_OK)
		err = client_fetch(x->c, "POST", "/v1/ohttp", hdrs, enc.data, enc.len, NULL,
				   ANSWER_MAX, &resp);
	if (err == VEIL_OK && resp.status != 200)
		err = outer_error(x, resp.status, resp.body.data, resp.body.len);
	else if (err == VEIL_OK) {
		x->res->check = VEIL_CHECK_DECRYPT;
		err = veil_ohttp_response_decap(&x->ox, resp.body.data, resp.body.len, &plain);
		if (err == VEIL_OK) {
			x->res->check = VEIL_CHECK_RESPONSE;
			err = veil_bhttp_decode(plain.data, plain.len, &m);
		}
		if (err == VEIL_OK)
			err = on_head(x, m.status, &m.header);
		if (err == VEIL_OK && m.content_len > 0)
			err = on_content(x, m.content, m.content_len);
		if (err == VEIL_OK)
			err = finish_answer(x);
	}
	veil_bhttp_msg_clear(&m);
	veil_writer_clear(&enc);
	veil_writer_clear(&plain);
	veil_http_client_response_clear(&resp);
	return err;
}

static veil_err send_chunked(xchg *x, const uint8_t *bhttp, size_t blen)
{
	static const char *const hdrs[] = {"Content-Type: " VEIL_OHTTP_CHUNKED_REQ_TYPE,
					   "X-Veil-Confidential: required", NULL};
	veil_bhttp_stream_cb bcb = {.on_head = on_head, .on_content = on_content, .user = x};
	veil_http_client_response resp = {0};
	veil_writer enc;
	veil_err err;

	veil_writer_init(&enc, ANSWER_MAX);
	x->res->check = VEIL_CHECK_TRANSPORT;
	err = veil_bhttp_stream_new(&bcb, &x->bs);
	if (err == VEIL_OK)
		err = veil_ohttp_chunked_request_begin(&x->ox, &x->w->ohttp, &enc);
	if (err == VEIL_OK)
		err = veil_ohttp_chunk_seal(&x->ox, bhttp, blen, true, &enc);
	if (err == VEIL_OK)
		err = veil_ohttp_chunked_response_open(&x->ox);
	if (err != VEIL_OK)
		goto out;
	err = client_fetch_stream(x->c, "POST", "/v1/ohttp", hdrs, enc.data, enc.len, ANSWER_MAX,
				  on_data, x, &resp);
	if (x->fail != VEIL_CHECK_NONE) {
		x->res->check = x->fail;
		err = veil_fail(err != VEIL_OK ? err : VEIL_E_VERIFY, "%s", x->fail_detail);
		goto out;
	}
	if (err != VEIL_OK)
		goto out;
	if (x->outer_status != 200 && resp.status != 200) {
		long st = x->outer_status != 0 ? x->outer_status : resp.status;
		err = outer_error(x, st, x->outer_err.data, x->outer_err.len);
		goto out;
	}
	x->res->check = VEIL_CHECK_DECRYPT;
	err = veil_ohttp_chunked_finish(&x->ox, &x->pt);
	if (err == VEIL_E_TRUNCATED)
		err = veil_fail(err, "the encrypted answer was cut short (no final chunk)");
	if (err == VEIL_OK) {
		x->res->check = VEIL_CHECK_RESPONSE;
		err = decode_pt(x);
	}
	if (err == VEIL_OK)
		err = veil_bhttp_stream_finish(x->bs);
	if (err == VEIL_OK)
		err = finish_answer(x);
out:
	veil_writer_clear(&enc);
	veil_http_client_response_clear(&resp);
	return err;
}

veil_err veil_client_request(veil_client *c, const veil_client_worker *w, const char *method,
			     const char *path, const uint8_t *body, size_t len,
			     const veil_client_cb *cb, veil_client_result *res)
{
	xchg x = {.c = c, .w = w, .cb = cb, .res = res};
	veil_writer bhttp;
	veil_err err;

	memset(res, 0, sizeof *res);
	veil_writer_init(&res->body, ANSWER_MAX);
	snprintf(res->worker, sizeof res->worker, "%s", w->id);
	res->check = VEIL_CHECK_TRANSPORT;
	ENSURE(method != NULL && path != NULL && path[0] == '/', VEIL_E_USAGE,
	       "a request needs a method and a path");
	veil_writer_init(&bhttp, ANSWER_MAX);
	veil_writer_init(&x.pt, ANSWER_MAX);
	veil_writer_init(&x.outer_err, OUTER_ERR_MAX);
	err = veil_sha256(body, len, res->request_sha256);
	if (err == VEIL_OK)
		err = inner_request(method, path, body, len, &bhttp);
	if (err == VEIL_OK)
		err = wants_stream(body, len) ? send_chunked(&x, bhttp.data, bhttp.len)
					      : send_whole(&x, bhttp.data, bhttp.len);
	/* client.h: a callback that stops the exchange says nothing against
	 * the worker's answer, whatever layer it was read in. */
	if (err != VEIL_OK && x.stopped)
		res->check = VEIL_CHECK_TRANSPORT;
	if (err != VEIL_OK && res->check == VEIL_CHECK_NONE)
		res->check = VEIL_CHECK_RESPONSE;
	if (err != VEIL_OK)
		res->receipt_ok = false;
	veil_ohttp_exchange_clear(&x.ox);
	veil_bhttp_stream_free(x.bs);
	veil_sse_free(x.sse);
	veil_writer_clear(&bhttp);
	veil_writer_clear(&x.pt);
	veil_writer_clear(&x.outer_err);
	return err;
}

/*
 * proxy_forward.c - what `veil proxy` does with one request, on a
 * forwarding thread (docs/proxy.md "What happens to a request").
 *
 * A completion: a verified worker for the model (veil_client_pick: from
 * the cache, or its evidence fetched and judged under the user's policy
 * now); none, and the answer is the gateway's own fail-fast 503, so a
 * client cannot tell a proxy that refuses from a gateway that has nobody
 * to offer, and nothing is ever forwarded unverified. Then the exchange
 * (veil_client_request): encrypted to the key that worker's evidence binds,
 * opened as it arrives, its receipt verified.
 *   - A stream is passed on event by event as each is decrypted, and
 *     "data: [DONE]" is written only once the exchange succeeded, that is
 *     once the receipt in the last event verified. A failure after events
 *     went out ends the stream with an error event instead, which OpenAI
 *     clients raise, and no [DONE]: a clean end would make the answer look
 *     whole and verified.
 *   - A whole answer is sent only after its receipt verified (the client
 *     core hands the body over only then); otherwise 502, and never the
 *     unverified bytes.
 * A worker the gateway no longer routes (it left, or its key was rotated)
 * is forgotten and the request tried once more on another, as long as
 * nothing was sent to the client yet.
 *
 * One line per request goes to standard error: route, model, worker,
 * status, and "verified" or the failed check with its detail. The client
 * core's details name checks, workers and digests, never prompts or
 * answers, and nothing here logs a body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/proxy.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define DETAIL_MAX 512

/* The state of one exchange, shared with the client core's callbacks. */
typedef struct fwd_ctx {
	proxy_job *j;
	const veil_client_worker *w;
	int status;
	char content_type[64];
	bool began; /* the stream to the client has begun: no retry, no 502 */
	bool gone;  /* the client went away */
} fwd_ctx;

static void add_header(veil_http_deferred *d, const char *name, const char *value)
{
	/* Fails only for a value no worker id or receipt can have (the core
	 * checked both); the answer is still correct without it. */
	if (veil_http_deferred_add_header(d, name, value) != VEIL_OK)
		veil_err_clear();
}

/* X-Veil-Worker, X-Veil-TEE and X-Veil-Verified (docs/proxy.md "Headers"). */
static void worker_headers(veil_http_deferred *d, const veil_client_worker *w, const char *receipt)
{
	char v[96];

	add_header(d, "X-Veil-Worker", w->id);
	add_header(d, "X-Veil-TEE", w->tee);
	snprintf(v, sizeof v, "evidence=%s; receipt=%s", w->ear_status, receipt);
	add_header(d, "X-Veil-Verified", v);
}

void proxy_log(const char *method, const char *path, const char *model, const char *worker,
	       int status, const char *outcome, const char *detail, double t0)
{
	char m[65], st[16] = "-";

	/* The client's own string: cut, and no control character reaches the log. */
	snprintf(m, sizeof m, "%s", model != NULL && model[0] != '\0' ? model : "-");
	veil_text_sanitize(m);
	if (status > 0)
		snprintf(st, sizeof st, "%d", status);
	fprintf(stderr, "veil proxy: %s %s model=%s worker=%s %s %s%s%s (%.3f s)\n", method, path,
		m, worker != NULL ? worker : "-", st, outcome,
		detail != NULL && detail[0] != '\0' ? ": " : "", detail != NULL ? detail : "",
		proxy_clock() - t0);
}

static void log_line(const proxy_job *j, const char *worker, int status, const char *outcome,
		     const char *detail)
{
	proxy_log(j->kind == PROXY_JOB_MODELS ? "GET" : "POST", j->path, j->model, worker, status,
		  outcome, detail, j->t0);
}

/* The detail of the last failure, copied before anything overwrites it,
 * with control characters replaced (it may quote a worker's text). */
static void detail_copy(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", veil_err_detail());
	veil_text_sanitize(buf);
}

/* ---- the client core's callbacks ---- */

static bool on_head(void *user, int status, const char *content_type)
{
	fwd_ctx *x = user;

	x->status = status;
	snprintf(x->content_type, sizeof x->content_type, "%s",
		 content_type != NULL ? content_type : "");
	/* Nobody to answer: stop the worker's generation now. */
	x->gone = veil_http_deferred_gone(x->j->d);
	return !x->gone;
}

static void stream_begin(fwd_ctx *x)
{
	if (x->began)
		return;
	worker_headers(x->j->d, x->w, "pending");
	veil_http_deferred_begin(x->j->d, x->status != 0 ? x->status : 200,
				 x->content_type[0] != '\0' ? x->content_type
							    : "text/event-stream");
	x->began = true;
}

/* One event as the worker sent it: each line of its data after "data: "
 * (SSE, WHATWG HTML section 9.2.5), then the blank line that ends it,
 * written as one piece. */
static bool on_event(void *user, const char *data, size_t len)
{
	fwd_ctx *x = user;
	size_t lines = 1, n = 0, cap;
	char *buf;
	bool ok;

	stream_begin(x);
	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	cap = len + lines * 6 + 2;
	buf = malloc(cap);
	if (buf == NULL)
		return false;
	memcpy(buf, "data: ", 6);
	n = 6;
	for (size_t i = 0; i < len; i++) {
		buf[n++] = data[i];
		if (data[i] == '\n') {
			memcpy(buf + n, "data: ", 6);
			n += 6;
		}
	}
	buf[n++] = '\n';
	buf[n++] = '\n';
	ok = veil_http_deferred_write(x->j->d, buf, n);
	veil_free_secret(buf, cap); /* generated text */
	if (!ok)
		x->gone = true;
	return ok;
}

/* ---- answers ---- */

/* The checks that mean the gateway no longer routes this worker (it left,
 * was removed, or its OHTTP key is no longer the one the gateway knows,
 * RFC 9458 section 5.3): worth one more pick. */
static bool not_routed(veil_client_check check)
{
	return check == VEIL_CHECK_UNAVAILABLE;
}

/* The checks that mean the worker's answer itself was wrong: its cache
 * entry goes, so the next request judges it afresh. */
static bool answer_failed(veil_client_check check)
{
	return check == VEIL_CHECK_DECRYPT || check == VEIL_CHECK_RESPONSE ||
	       check == VEIL_CHECK_RECEIPT;
}

static void reply_verified(fwd_ctx *x, veil_client_result *res)
{
	veil_http_deferred *d = x->j->d;

	if (x->began || res->stream) {
		stream_begin(x);
		if (!veil_http_deferred_write(d, "data: [DONE]\n\n", 14))
			x->gone = true;
		veil_http_deferred_end(d);
	} else {
		worker_headers(d, x->w, "verified");
		if (res->receipt_jws != NULL)
			add_header(d, "X-Veil-Receipt", res->receipt_jws);
		veil_http_deferred_reply(d, res->status,
					 res->content_type[0] != '\0' ? res->content_type
								      : "application/json",
					 res->body.data, res->body.len);
	}
	log_line(x->j, x->w->id, res->status,
		 res->stream ? (x->gone ? "verified stream, client gone" : "verified stream")
			     : (x->gone ? "verified, client gone" : "verified"),
		 NULL);
}

static void reply_failed(fwd_ctx *x, veil_client_check check, const char *detail)
{
	veil_http_deferred *d = x->j->d;
	const char *name = veil_client_check_name(check);

	if (x->gone) {
		/* Nobody reads: end the handle (the call sends nothing). */
		if (x->began)
			veil_http_deferred_end(d);
		else
			veil_http_deferred_reply(d, 499, "text/plain", "", 0);
		log_line(x->j, x->w->id, x->began ? x->status : 499, "client gone", NULL);
		return;
	}
	if (x->began) {
		/* Whole events only were written, so this one stands alone. */
		char *text = proxy_error_text("veil_verification_failed", name, NULL,
					      "the answer of worker %s failed the %s check: %s",
					      x->w->id, name, detail);
		if (text != NULL) {
			(void)veil_http_deferred_write(d, "data: ", 6);
			(void)veil_http_deferred_write(d, text, strlen(text));
			(void)veil_http_deferred_write(d, "\n\n", 2);
			free(text);
		}
		veil_http_deferred_end(d);
		log_line(x->j, x->w->id, x->status, name, detail);
		return;
	}
	add_header(d, "X-Veil-Worker", x->w->id);
	proxy_deferred_error(d, 502, "veil_verification_failed", name,
			     "the answer of worker %s failed the %s check, and was not passed "
			     "on: %s",
			     x->w->id, name, detail);
	log_line(x->j, x->w->id, 502, name, detail);
}

/* The gateway's fail-fast answer (docs/gateway.md "Routing"), with the
 * check that refused the last candidate in the message. */
static void reply_refused(proxy_job *j, veil_client_check check, const char *detail)
{
	const char *name = veil_client_check_name(check);

	add_header(j->d, "Retry-After", "5");
	proxy_deferred_error(j->d, 503, "confidential_capacity_unavailable",
			     "no_confidential_worker",
			     "no worker for %s passed the client's checks (check %s): %s; the "
			     "request was not sent anywhere",
			     j->model, name, detail);
	log_line(j, NULL, 503, name, detail);
}

static void forward_completion(proxy *p, proxy_job *j)
{
	char detail[DETAIL_MAX];
	veil_client_check check;
	veil_client_result res;

	for (int attempt = 0;; attempt++) {
		fwd_ctx x = {.j = j};
		veil_client_cb cb = {.on_head = on_head, .on_event = on_event, .user = &x};
		veil_err err;

		check = VEIL_CHECK_NONE;
		if (veil_client_pick(p->client, j->model, &x.w, &check) != VEIL_OK) {
			detail_copy(detail, sizeof detail);
			reply_refused(j, check != VEIL_CHECK_NONE ? check : VEIL_CHECK_UNAVAILABLE,
				      detail);
			return;
		}
		err = veil_client_request(p->client, x.w, "POST", j->path, j->body, j->body_len,
					  &cb, &res);
		if (err == VEIL_OK && res.receipt_ok) {
			reply_verified(&x, &res);
		} else {
			check = res.check != VEIL_CHECK_NONE ? res.check : VEIL_CHECK_RECEIPT;
			detail_copy(detail, sizeof detail);
			if (!x.began && !x.gone && attempt == 0 && not_routed(check)) {
				log_line(j, x.w->id, 0, "not routed any more, trying another",
					 detail);
				veil_client_forget(p->client, x.w->id);
				veil_client_release(p->client, x.w);
				veil_client_result_clear(&res);
				continue;
			}
			/* A client that went away stopped the exchange itself:
			 * nothing is known against the worker then. */
			if (!x.gone && (answer_failed(check) || not_routed(check)))
				veil_client_forget(p->client, x.w->id);
			reply_failed(&x, check, detail);
		}
		veil_client_release(p->client, x.w);
		veil_client_result_clear(&res);
		return;
	}
}

/* ---- /v1/models ---- */

static bool policy_names(const proxy *p, const char *model)
{
	for (size_t i = 0; i < p->model_count; i++)
		if (strcmp(p->models[i], model) == 0)
			return true;
	return false;
}

/* The gateway's list, cut to the models the user's policy names and that
 * an admitted worker serves ("confidential": true): the only ones a request
 * through the proxy can reach. Whether a worker for them passes the policy
 * is known only when one is picked. */
static void forward_models(proxy *p, proxy_job *j)
{
	char detail[DETAIL_MAX];
	veil_writer body;
	long status = 0;
	json_t *doc = NULL, *data, *item, *list = NULL, *out;
	size_t i;
	char *text;

	veil_writer_init(&body, VEIL_PROXY_MODELS_MAX);
	if (veil_client_get(p->client, "/v1/models", &status, &body) != VEIL_OK) {
		detail_copy(detail, sizeof detail);
		proxy_deferred_error(j->d, 502, "veil_gateway_error", "gateway_unreachable",
				     "the gateway's /v1/models cannot be read: %s", detail);
		log_line(j, NULL, 502, "gateway unreachable", detail);
		goto out;
	}
	if (status != 200 ||
	    veil_json_parse_max(body.data, body.len, VEIL_PROXY_MODELS_MAX, &doc) != VEIL_OK ||
	    !json_is_array(data = json_object_get(doc, "data"))) {
		veil_err_clear();
		proxy_deferred_error(j->d, 502, "veil_gateway_error", "gateway_error",
				     "the gateway answered /v1/models with status %ld and %s",
				     status, doc == NULL ? "no JSON" : "no model list");
		log_line(j, NULL, 502, "gateway error", NULL);
		goto out;
	}
	list = json_array();
	json_array_foreach(data, i, item)
	{
		const char *id = json_string_value(json_object_get(item, "id"));
		if (id != NULL && json_is_true(json_object_get(item, "confidential")) &&
		    policy_names(p, id) && json_array_append(list, item) != 0)
			break;
	}
	out = json_pack("{s:s, s:O}", "object", "list", "data", list);
	text = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
	json_decref(out);
	if (text == NULL) {
		veil_http_deferred_reply(j->d, 500, "text/plain", "out of memory\n", 14);
		log_line(j, NULL, 500, "out of memory", NULL);
		goto out;
	}
	veil_http_deferred_reply(j->d, 200, "application/json", text, strlen(text));
	log_line(j, NULL, 200, "listed", NULL);
	free(text);
out:
	json_decref(list);
	json_decref(doc);
	veil_writer_clear(&body);
}

void proxy_forward(proxy *p, proxy_job *j)
{
	if (j->kind == PROXY_JOB_MODELS)
		forward_models(p, j);
	else
		forward_completion(p, j);
}

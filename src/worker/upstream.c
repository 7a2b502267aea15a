/*
 * upstream.c - an OpenAI-compatible engine in the same TEE (llama.cpp's
 * server, vLLM, another veil-worker) behind the worker (docs/worker.md
 * "Engines"). The worker keeps doing what makes the answer trustworthy:
 * attestation, OHTTP, request checks and receipts; the upstream only
 * computes. It must be reachable only inside the TEE: loopback or a Unix
 * socket.
 *
 * A whole response is passed on as it came, with a receipt over its bytes
 * and the usage it reports. A stream is read event by event (WHATWG HTML,
 * "Server-sent events"): each event is passed on as it arrives, its text
 * hashed for the receipt; the upstream's own [DONE], any receipt it added
 * and (unless the client asked for one) its usage chunk are held back,
 * because the worker ends the stream itself with its usage and receipt.
 * The forwarded request asks for include_usage so that the receipt can
 * state the token counts.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "veil/http_client.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "worker/worker_internal.h"

typedef struct up_ctx {
	wk_job *job;
	veil_writer events; /* bytes of an incomplete event */
	EVP_MD_CTX *digest; /* the streamed text */
	bool begun, failed, first;
	long status;
	veil_writer error; /* a non-200 answer, gathered */
	uint64_t prompt_tokens, completion_tokens;
	char finish[16];
} up_ctx;

static const char *event_text(const json_t *ev, oai_kind kind, size_t *len)
{
	json_t *c = json_array_get(json_object_get(ev, "choices"), 0);
	json_t *t = kind == OAI_CHAT ? json_object_get(json_object_get(c, "delta"), "content")
				     : json_object_get(c, "text");

	*len = json_is_string(t) ? json_string_length(t) : 0;
	return json_is_string(t) ? json_string_value(t) : NULL;
}

static void usage_read(up_ctx *u, const json_t *doc)
{
	json_t *use = json_object_get(doc, "usage");
	json_int_t p = json_integer_value(json_object_get(use, "prompt_tokens"));
	json_int_t c = json_integer_value(json_object_get(use, "completion_tokens"));

	if (json_is_object(use) && p >= 0 && c >= 0) {
		u->prompt_tokens = (uint64_t)p;
		u->completion_tokens = (uint64_t)c;
	}
}

/* One event of the upstream's stream: passed on, changed, or held back. */
static bool event(up_ctx *u, const char *line, size_t n)
{
	wk_job *j = u->job;
	json_t *ev = NULL, *choices;
	const char *text;
	size_t len;
	char *out;
	bool ok = true;

	if (n < 6 || strncmp(line, "data: ", 6) != 0)
		return true; /* comments, other fields: nothing to pass on */
	line += 6;
	n -= 6;
	if (n == 6 && memcmp(line, "[DONE]", 6) == 0)
		return true;
	if (veil_json_parse((const uint8_t *)line, n, &ev) != VEIL_OK || !json_is_object(ev))
		goto bad;
	json_object_del(ev, "veil_receipt");
	choices = json_object_get(ev, "choices");
	usage_read(u, ev);
	if (json_is_array(choices) && json_array_size(choices) == 0) {
		json_decref(ev);
		return true; /* the usage chunk: the worker sends its own */
	}
	json_t *fin = json_object_get(json_array_get(choices, 0), "finish_reason");
	if (json_is_string(fin))
		snprintf(u->finish, sizeof u->finish, "%s", json_string_value(fin));
	text = event_text(ev, j->req.kind, &len);
	if (text != NULL && len > 0 && EVP_DigestUpdate(u->digest, text, len) != 1)
		goto bad;
	if (!j->req.include_usage)
		json_object_del(ev, "usage");
	out = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (out == NULL)
		return false;
	ok = j->sink->ops->write(j->sink, "data: ", 6) &&
	     j->sink->ops->write(j->sink, out, strlen(out)) &&
	     j->sink->ops->write(j->sink, "\n\n", 2);
	free(out);
	return ok;
bad:
	json_decref(ev);
	return false;
}

static bool on_data(void *user, long status, const uint8_t *p, size_t n)
{
	up_ctx *u = user;
	wk_job *j = u->job;

	u->status = status;
	if (atomic_load(&j->w->stopping) || j->sink->ops->gone(j->sink))
		return false;
	if (status != 200 || !j->req.stream)
		return veil_writer_put(&u->error, p, n) == VEIL_OK;
	if (!u->begun) {
		wk_job_stream_begin(j);
		u->begun = true;
	}
	if (veil_writer_put(&u->events, p, n) != VEIL_OK)
		return false;
	/* Events end with a blank line; LF line ends (what OpenAI-compatible
	 * servers send) and CRLF both. */
	for (;;) {
		uint8_t *d = u->events.data;
		size_t len = u->events.len, end = 0, skip = 0;
		for (size_t i = 0; i + 1 < len; i++) {
			if (d[i] == '\n' && d[i + 1] == '\n') {
				end = i, skip = 2;
				break;
			}
			if (i + 3 < len && memcmp(d + i, "\r\n\r\n", 4) == 0) {
				end = i, skip = 4;
				break;
			}
		}
		if (skip == 0)
			return true;
		/* One event may hold several lines; only data lines matter. */
		size_t start = 0;
		for (size_t i = 0; i <= end; i++) {
			if (i == end || d[i] == '\n') {
				size_t ln = i - start;
				if (ln > 0 && d[start + ln - 1] == '\r')
					ln--;
				if (!event(u, (const char *)d + start, ln)) {
					u->failed = true;
					return false;
				}
				start = i + 1;
			}
		}
		memmove(d, d + end + skip, len - end - skip);
		u->events.len = len - end - skip;
	}
}

/* The upstream's URL for a path: http://HOST:PORT/... or, for
 * unix:/PATH, http://localhost/... through the socket. */
static void upstream_url(const char *base, const char *path, char *url, size_t cap,
			 const char **socket)
{
	if (strncmp(base, "unix:", 5) == 0) {
		*socket = base + 5;
		snprintf(url, cap, "http://localhost%s", path);
	} else {
		*socket = NULL;
		snprintf(url, cap, "%s%s", base, path);
	}
}

static void *upstream_main(void *arg)
{
	wk_job *j = arg;
	veil_worker *w = j->w;
	up_ctx u = {.job = j, .first = true};
	veil_http_client_response resp;
	const char *headers[] = {"Content-Type: application/json", NULL}, *sock;
	char url[1024], *body = NULL;
	json_t *doc = NULL;
	uint8_t digest[32];
	unsigned dlen = 0;
	oai_error e;
	veil_err err;

	veil_writer_init(&u.events, VEIL_OHTTP_CHUNK_MAX);
	veil_writer_init(&u.error, VEIL_WORKER_RESPONSE_MAX);
	memset(&resp, 0, sizeof resp);
	upstream_url(w->cfg.upstream,
		     j->req.kind == OAI_CHAT ? "/v1/chat/completions" : "/v1/completions", url,
		     sizeof url, &sock);
	/* The client's request as it came, but asking for usage in streams. */
	if (veil_json_parse(j->body, j->body_len, &doc) != VEIL_OK ||
	    (j->req.stream && json_object_set_new(doc, "stream_options",
						  json_pack("{s:b}", "include_usage", 1)) != 0) ||
	    (body = json_dumps(doc, JSON_COMPACT)) == NULL) {
		oai_error_set(&e, 500, "server_error", "", "", "the request cannot be forwarded");
		wk_job_fail(j, &e);
		goto out;
	}
	u.digest = EVP_MD_CTX_new();
	if (u.digest == NULL || EVP_DigestInit_ex(u.digest, EVP_sha256(), NULL) != 1) {
		oai_error_set(&e, 500, "server_error", "", "", "out of memory");
		wk_job_fail(j, &e);
		goto out;
	}
	veil_http_client_request req = {
	    .method = "POST",
	    .url = url,
	    .headers = headers,
	    .body = body,
	    .body_len = strlen(body),
	    .timeout_ms = (long)(w->cfg.request_timeout_s > 0 ? w->cfg.request_timeout_s
							      : VEIL_WORKER_REQUEST_TIMEOUT_S) *
			  1000,
	    .max_body = VEIL_WORKER_RESPONSE_MAX,
	    .on_data = on_data,
	    .on_data_user = &u,
	    .unix_socket = sock,
	};
	err = veil_http_client_fetch(&req, &resp);
	if (u.begun) {
		/* A stream under way ends with the worker's own last chunk, or
		 * without [DONE] when the upstream broke off. */
		if (err != VEIL_OK || u.failed) {
			wk_log(w, "upstream.error",
			       json_pack("{s:s}", "detail", veil_err_detail()));
			j->sink->ops->end(j->sink);
			j->sink = NULL;
			wk_job_free(j);
			goto out;
		}
		if (EVP_DigestFinal_ex(u.digest, digest, &dlen) != 1)
			memset(digest, 0, sizeof digest);
		wk_result r = {.finish_reason = u.finish[0] != '\0' ? u.finish : "stop",
			       .prompt_tokens = u.prompt_tokens,
			       .completion_tokens = u.completion_tokens,
			       .stream_digest = digest};
		wk_upstream_stream_end(j, &r);
		goto out;
	}
	if (err != VEIL_OK) {
		wk_log(w, "upstream.error", json_pack("{s:s}", "detail", veil_err_detail()));
		oai_error_set(&e, 502, "server_error", "", "upstream_unavailable",
			      "the inference engine did not answer");
		wk_job_fail(j, &e);
		goto out;
	}
	if (u.status == 200) {
		json_t *ans = NULL;
		if (veil_json_parse(u.error.data, u.error.len, &ans) == VEIL_OK)
			usage_read(&u, ans);
		json_decref(ans);
	}
	wk_job_reply_raw(j, (int)u.status, u.error.data, u.error.len, u.prompt_tokens,
			 u.completion_tokens);
out:
	json_decref(doc);
	free(body);
	EVP_MD_CTX_free(u.digest);
	veil_writer_clear(&u.events);
	veil_writer_clear(&u.error);
	veil_http_client_response_clear(&resp);
	atomic_fetch_sub(&w->upstream_active, 1);
	return NULL;
}

bool wk_upstream_submit(veil_worker *w, wk_job *j)
{
	size_t cap = (size_t)(w->cfg.slots > 0 ? w->cfg.slots : VEIL_WORKER_SLOTS_DEFAULT) +
		     (w->cfg.queue_max > 0 ? w->cfg.queue_max : VEIL_WORKER_QUEUE_DEFAULT);
	pthread_attr_t attr;
	pthread_t t;
	bool ok;

	if (atomic_fetch_add(&w->upstream_active, 1) >= cap) {
		atomic_fetch_sub(&w->upstream_active, 1);
		return false;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ok = pthread_create(&t, &attr, upstream_main, j) == 0;
	pthread_attr_destroy(&attr);
	if (!ok)
		atomic_fetch_sub(&w->upstream_active, 1);
	return ok;
}

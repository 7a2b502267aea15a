/*
 * upstream.c - an OpenAI-compatible engine in the same TEE (llama.cpp's
 * server, vLLM, another veil-worker) behind the worker (docs/worker.md
 * "Engines"). The worker keeps doing what makes the answer trustworthy:
 * attestation, OHTTP, request checks and receipts; the upstream only
 * computes. It must be reachable only inside the TEE: a loopback address
 * or a Unix socket (wk_upstream_check), never through a proxy.
 *
 * The request goes on as the client sent it, with the worker's max_tokens
 * (its default when the client gave none, so the upstream's own default
 * cannot make an answer larger than the worker passes on) and, for
 * streams, stream_options.include_usage so that the receipt can state the
 * token counts. The answer's id, model and created become the worker's,
 * so that the receipt names what the client reads. A whole answer is
 * passed on with a receipt over its bytes as sent. A stream is read event
 * by event (WHATWG HTML, "Server-sent events") and each event passed on
 * as it arrives, its text hashed for the receipt; the upstream's [DONE],
 * any receipt it added and its usage chunk are held back, and the worker
 * ends the stream with its usage chunk and receipt. A stream the upstream
 * does not end with [DONE] ends without one too.
 */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "veil/http_client.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "worker/worker_internal.h"

veil_err wk_upstream_check(const char *url)
{
	const char *host, *end;
	char name[64];
	struct in_addr a4;
	size_t n;

	if (strncmp(url, "unix:", 5) == 0) {
		ENSURE(url[5] == '/' && url[6] != '\0', VEIL_E_USAGE,
		       "--upstream unix:PATH needs an absolute path");
		return VEIL_OK;
	}
	ENSURE(strncmp(url, "http://", 7) == 0, VEIL_E_USAGE,
	       "--upstream must be http://HOST[:PORT] on loopback or unix:/PATH");
	host = url + 7;
	/* RFC 3986 section 3.2: no user information, and the authority ends
	 * the URL (the worker appends the API paths). */
	end = host + strcspn(host, "/?#");
	ENSURE(memchr(host, '@', (size_t)(end - host)) == NULL, VEIL_E_USAGE,
	       "--upstream must not carry user information");
	ENSURE(*end == '\0' || (end[0] == '/' && end[1] == '\0'), VEIL_E_USAGE,
	       "--upstream is scheme, host and port only, without a path");
	if (host[0] == '[') {
		ENSURE(strncmp(host, "[::1]", 5) == 0, VEIL_E_USAGE,
		       "--upstream: the only IPv6 host allowed is [::1]");
		host += 5;
	} else {
		n = strcspn(host, ":/");
		ENSURE(n > 0 && n < sizeof name, VEIL_E_USAGE, "--upstream: no host");
		memcpy(name, host, n);
		name[n] = '\0';
		ENSURE(strcmp(name, "localhost") == 0 ||
			   (inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127),
		       VEIL_E_USAGE,
		       "--upstream host %s is not on loopback (127.0.0.0/8, [::1] or localhost): "
		       "the engine must be inside the TEE",
		       name);
		host += n;
	}
	if (*host == ':') {
		size_t digits = strspn(host + 1, "0123456789");
		ENSURE(digits >= 1 && digits <= 5 &&
			   (host[1 + digits] == '\0' || host[1 + digits] == '/'),
		       VEIL_E_USAGE, "--upstream: a bad port");
	}
	return VEIL_OK;
}

typedef struct up_ctx {
	wk_job *job;
	veil_writer events; /* bytes of an incomplete event */
	EVP_MD_CTX *digest; /* the streamed text */
	bool begun, failed, saw_done;
	veil_writer whole; /* a whole answer, or a non-200 one, gathered */
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

/* The worker's id, model and created in place of the upstream's. */
static bool rename_answer(const wk_job *j, json_t *doc)
{
	return json_object_set_new(doc, "id", json_string(j->id)) == 0 &&
	       json_object_set_new(doc, "model", json_string(j->w->model_name)) == 0 &&
	       json_object_set_new(doc, "created", json_integer(j->created)) == 0;
}

/* One event of the upstream's stream: passed on, changed, or held back. */
static bool event(up_ctx *u, const char *line, size_t n)
{
	wk_job *j = u->job;
	json_t *ev = NULL, *choices, *fin;
	const char *text;
	size_t len;
	char *out;
	bool ok;

	/* WHATWG "Server-sent events": a data field, one space after the
	 * colon being optional; other fields and comments carry nothing. */
	if (n < 5 || strncmp(line, "data:", 5) != 0)
		return true;
	line += 5, n -= 5;
	if (n > 0 && line[0] == ' ')
		line++, n--;
	if (n == 6 && memcmp(line, "[DONE]", 6) == 0) {
		u->saw_done = true;
		return true;
	}
	if (u->saw_done || veil_json_parse((const uint8_t *)line, n, &ev) != VEIL_OK ||
	    !json_is_object(ev))
		goto bad;
	json_object_del(ev, "veil_receipt");
	choices = json_object_get(ev, "choices");
	usage_read(u, ev);
	if (json_is_array(choices) && json_array_size(choices) == 0) {
		json_decref(ev);
		return true; /* the usage chunk: the worker sends its own */
	}
	fin = json_object_get(json_array_get(choices, 0), "finish_reason");
	if (json_is_string(fin))
		snprintf(u->finish, sizeof u->finish, "%s", json_string_value(fin));
	text = event_text(ev, j->req.kind, &len);
	if (text != NULL && len > 0 && EVP_DigestUpdate(u->digest, text, len) != 1)
		goto bad;
	if (!j->req.include_usage)
		json_object_del(ev, "usage");
	if (!rename_answer(j, ev))
		goto bad;
	out = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (out == NULL)
		return false;
	ok = wk_job_stream_event(j, out, strlen(out));
	veil_free_secret(out, strlen(out) + 1);
	return ok;
bad:
	json_decref(ev);
	return false;
}

/* Events end with a blank line; LF line ends (what OpenAI-compatible
 * servers send) and CRLF both. */
static bool events_drain(up_ctx *u)
{
	for (;;) {
		uint8_t *d = u->events.data;
		size_t len = u->events.len, end = 0, skip = 0, start = 0;

		for (size_t i = 0; i + 1 < len && skip == 0; i++) {
			if (d[i] == '\n' && d[i + 1] == '\n')
				end = i, skip = 2;
			else if (i + 3 < len && memcmp(d + i, "\r\n\r\n", 4) == 0)
				end = i, skip = 4;
		}
		if (skip == 0)
			return true;
		for (size_t i = 0; i <= end; i++) {
			if (i == end || d[i] == '\n') {
				size_t ln = i - start;
				if (ln > 0 && d[start + ln - 1] == '\r')
					ln--;
				if (!event(u, (const char *)d + start, ln))
					return false;
				start = i + 1;
			}
		}
		memmove(d, d + end + skip, len - end - skip);
		u->events.len = len - end - skip;
	}
}

static bool on_data(void *user, long status, const uint8_t *p, size_t n)
{
	up_ctx *u = user;
	wk_job *j = u->job;

	if (status != 200 || !j->req.stream)
		return veil_writer_put(&u->whole, p, n) == VEIL_OK;
	if (!u->begun) {
		wk_job_stream_begin(j);
		u->begun = true;
	}
	if (veil_writer_put(&u->events, p, n) != VEIL_OK || !events_drain(u)) {
		u->failed = true;
		return false;
	}
	return true;
}

/* Stops the exchange when the worker stops or the client has gone. */
static bool should_abort(void *user)
{
	up_ctx *u = user;

	return atomic_load(&u->job->w->stopping) || u->job->sink->ops->gone(u->job->sink);
}

/* The client's request as it came, with the worker's max_tokens and, for
 * streams, usage asked for. */
static char *forward_body(const wk_job *j)
{
	json_t *doc = NULL;
	char *body = NULL;

	if (veil_json_parse(j->body, j->body_len, &doc) != VEIL_OK)
		return NULL;
	json_object_del(doc, "max_completion_tokens");
	if (json_object_set_new(doc, "max_tokens", json_integer((json_int_t)j->req.max_tokens)) ==
		0 &&
	    (!j->req.stream || json_object_set_new(doc, "stream_options",
						   json_pack("{s:b}", "include_usage", 1)) == 0))
		body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return body;
}

/* A whole answer: usage read, id, model and created made the worker's. */
static void whole_answer(up_ctx *u, long status)
{
	wk_job *j = u->job;
	json_t *doc = NULL;
	char *text = NULL;

	if (status == 200 && veil_json_parse(u->whole.data, u->whole.len, &doc) == VEIL_OK &&
	    json_is_object(doc) && rename_answer(j, doc))
		text = json_dumps(doc, JSON_COMPACT);
	if (status == 200) {
		usage_read(u, doc);
		if (text == NULL) {
			oai_error e;
			oai_error_set(&e, 502, "server_error", "", "upstream_bad_answer",
				      "the inference engine's answer is not a JSON object");
			wk_job_fail(j, &e);
		} else {
			wk_job_reply_raw(j, 200, (const uint8_t *)text, strlen(text),
					 u->prompt_tokens, u->completion_tokens);
		}
	} else {
		/* The engine's own error, passed on (and signed) as it came;
		 * a status outside HTTP's range becomes a 502. */
		wk_job_reply_raw(j, status >= 200 && status <= 599 ? (int)status : 502,
				 u->whole.data, u->whole.len, 0, 0);
	}
	json_decref(doc);
	if (text != NULL)
		veil_free_secret(text, strlen(text) + 1);
}

static void upstream_run(wk_job *j)
{
	veil_worker *w = j->w;
	up_ctx u = {.job = j};
	veil_http_client_response resp;
	const char *headers[] = {"Content-Type: application/json", NULL}, *sock = NULL;
	const char *path = j->req.kind == OAI_CHAT ? "/v1/chat/completions" : "/v1/completions";
	const char *base = w->cfg.upstream;
	char url[1024], *body = forward_body(j);
	uint8_t digest[32];
	unsigned dlen = 0;
	double t0 = wk_clock();
	oai_error e;
	veil_err err;

	veil_writer_init(&u.events, VEIL_OHTTP_CHUNK_MAX);
	veil_writer_init(&u.whole, VEIL_WORKER_RESPONSE_MAX);
	memset(&resp, 0, sizeof resp);
	if (strncmp(base, "unix:", 5) == 0) {
		sock = base + 5;
		snprintf(url, sizeof url, "http://localhost%s", path);
	} else {
		size_t n = strlen(base);
		snprintf(url, sizeof url, "%.*s%s", (int)(n > 0 && base[n - 1] == '/' ? n - 1 : n),
			 base, path);
	}
	u.digest = EVP_MD_CTX_new();
	if (body == NULL || u.digest == NULL ||
	    EVP_DigestInit_ex(u.digest, EVP_sha256(), NULL) != 1) {
		oai_error_set(&e, 500, "server_error", "", "", "the request cannot be forwarded");
		wk_job_fail(j, &e);
		goto out;
	}
	veil_http_client_request req = {
	    .method = "POST",
	    .url = url,
	    .headers = headers,
	    .body = body,
	    .body_len = strlen(body),
	    .timeout_ms = (long)w->cfg.request_timeout_s * 1000,
	    .max_body = VEIL_WORKER_RESPONSE_MAX,
	    .on_data = on_data,
	    .on_data_user = &u,
	    .unix_socket = sock,
	    .no_proxy = true,
	    .abort = should_abort,
	    .abort_user = &u,
	};
	err = veil_http_client_fetch(&req, &resp);
	wk_log(w, "request.done",
	       json_pack("{s:s, s:s, s:b, s:b, s:I, s:I, s:f, s:s, s:i}", "id", j->id, "kind",
			 j->req.kind == OAI_CHAT ? "chat" : "completion", "stream", j->req.stream,
			 "ohttp", j->sink->ohttp, "prompt_tokens", (json_int_t)u.prompt_tokens,
			 "completion_tokens", (json_int_t)u.completion_tokens, "seconds",
			 wk_clock() - t0, "engine", "upstream", "status", (int)resp.status));
	if (u.begun) {
		/* A stream the upstream broke off, or did not end with [DONE],
		 * ends without the worker's receipt and [DONE] too. */
		if (err != VEIL_OK || u.failed || !u.saw_done || u.events.len != 0) {
			wk_log(w, "upstream.error",
			       json_pack("{s:s}", "detail",
					 err != VEIL_OK ? veil_err_detail()
							: "the stream did not end with [DONE]"));
			wk_job_stream_abort(j);
			goto out;
		}
		wk_result r = {.finish_reason = u.finish,
			       .prompt_tokens = u.prompt_tokens,
			       .completion_tokens = u.completion_tokens,
			       .stream_digest = EVP_DigestFinal_ex(u.digest, digest, &dlen) == 1
						    ? digest
						    : NULL};
		wk_job_stream_end(j, &r, false);
		goto out;
	}
	if (err != VEIL_OK) {
		wk_log(w, "upstream.error", json_pack("{s:s}", "detail", veil_err_detail()));
		oai_error_set(&e, 502, "server_error", "", "upstream_unavailable",
			      "the inference engine did not answer");
		wk_job_fail(j, &e);
		goto out;
	}
	whole_answer(&u, resp.status);
out:
	if (body != NULL)
		veil_free_secret(body, strlen(body) + 1);
	EVP_MD_CTX_free(u.digest);
	veil_writer_clear(&u.events);
	veil_writer_clear(&u.whole);
	veil_http_client_response_clear(&resp);
}

static void *upstream_main(void *arg)
{
	wk_job *j = arg;
	veil_worker *w = j->w;

	upstream_run(j);
	pthread_mutex_lock(&w->up_mu);
	w->up_active--;
	pthread_cond_broadcast(&w->up_cv);
	pthread_mutex_unlock(&w->up_mu);
	return NULL;
}

bool wk_upstream_submit(veil_worker *w, wk_job *j)
{
	pthread_attr_t attr;
	pthread_t t;
	bool ok;

	/* Counted before the check of `stopping`, under the lock that
	 * wk_upstream_wait holds, so no job starts after the wait began. */
	pthread_mutex_lock(&w->up_mu);
	ok = !atomic_load(&w->stopping) && w->up_active < w->cfg.slots + w->cfg.queue_max;
	if (ok)
		w->up_active++;
	pthread_mutex_unlock(&w->up_mu);
	if (!ok)
		return false;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ok = pthread_create(&t, &attr, upstream_main, j) == 0;
	pthread_attr_destroy(&attr);
	if (!ok) {
		pthread_mutex_lock(&w->up_mu);
		w->up_active--;
		pthread_cond_broadcast(&w->up_cv);
		pthread_mutex_unlock(&w->up_mu);
	}
	return ok;
}

void wk_upstream_wait(veil_worker *w)
{
	/* Every exchange polls `stopping` (should_abort), so this ends. */
	pthread_mutex_lock(&w->up_mu);
	while (w->up_active > 0)
		pthread_cond_wait(&w->up_cv, &w->up_mu);
	pthread_mutex_unlock(&w->up_mu);
}

/*
 * join.c - veil-worker's side of joining a veil-gateway (docs/worker.md
 * "Joining a gateway", which has the protocol):
 *
 *   1. POST {gateway}/v1/workers/join {"id", "url", "capacity"}: the
 *      gateway answers a challenge and a nonce;
 *   2. POST {gateway}/v1/workers/join/<challenge> with a fresh evidence
 *      bundle bound to that nonce (what GET /v1/attestation?nonce= would
 *      answer): admitted, with a lease and a re-attestation interval;
 *   3. every reattest_s seconds, GET {gateway}/v1/workers/<id> with the
 *      lease: 404 says the gateway forgot this worker (it restarted, or
 *      dropped the worker), so the worker joins again;
 *   4. at shutdown, POST {gateway}/v1/workers/<id>/leave with the lease,
 *      before the worker stops serving, so no new request is routed here.
 *
 * All of it runs on a thread of its own, which holds no lock that request
 * handling needs: the gateway checks this worker (its attestation and
 * health routes) while the worker waits for the answer to step 2. Every
 * wait is a condition variable with a deadline, and every exchange polls a
 * stop flag, so veil_worker_leave ends the thread within about a second.
 *
 * Everything the gateway sends is untrusted: answers are capped, parsed
 * strictly, the challenge (which goes into a URL) and the lease (which goes
 * into a header) must be exactly the hex the protocol says, and a refusal's
 * message is cut and stripped of control characters before it is logged.
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "veil/http_client.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "worker/worker_internal.h"

#define CHALLENGE_HEX 32
#define NONCE_HEX     64
#define LEASE_HEX     64
#define CAPACITY_MAX  1024

struct wk_join {
	veil_worker *w;
	char gateway[VEIL_WORKER_GATEWAY_URL_MAX + 1]; /* without a trailing '/' */
	pthread_mutex_t mu;                            /* guards stop, for the waits */
	pthread_cond_t cv;
	pthread_mutex_t leave_mu; /* one leave at a time */
	atomic_bool stop;
	pthread_t thread;
	bool started;
	/* The thread's own while it runs; leave's after it has ended. */
	bool admitted;
	char lease[LEASE_HEX + 1];
	unsigned reattest_s;
	double backoff;   /* the next wait after an error, before jitter */
	unsigned expired; /* challenges found expired in a row */
};

/* ---- URLs (checked at start, so a typo fails before any key release) ---- */

static bool has_scheme(const char *url, size_t *rest)
{
	if (strncmp(url, "http://", 7) == 0)
		*rest = 7;
	else if (strncmp(url, "https://", 8) == 0)
		*rest = 8;
	else
		return false;
	return true;
}

static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* RFC 3986 section 3.2: the authority of an advertised URL, host and
 * optional port, no user information (a gateway must reach exactly the
 * host named). */
static bool authority_ok(const char *a)
{
	const char *port;
	size_t host;

	if (a[0] == '[') {
		const char *end = strchr(a, ']');
		if (end == NULL || end == a + 1 ||
		    strspn(a + 1, "0123456789abcdefABCDEF:.") != (size_t)(end - a - 1))
			return false;
		port = end + 1;
	} else {
		host =
		    strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
		if (host == 0)
			return false;
		port = a + host;
	}
	if (*port == '\0')
		return true;
	if (*port != ':' || port[1] == '\0' || strlen(port + 1) > 5 ||
	    strspn(port + 1, "0123456789") != strlen(port + 1))
		return false;
	long n = strtol(port + 1, NULL, 10); /* checked: at most 5 digits, above */
	return n >= 1 && n <= 65535;
}

veil_err wk_join_check(const veil_worker_config *c)
{
	size_t rest;

	if (c->gateway_url == NULL) {
		ENSURE(c->advertise_url == NULL && c->gateway_ca == NULL, VEIL_E_USAGE,
		       "--advertise and --gateway-ca go with --gateway URL");
		return VEIL_OK;
	}
	ENSURE(strlen(c->gateway_url) <= VEIL_WORKER_GATEWAY_URL_MAX &&
		   has_scheme(c->gateway_url, &rest) && c->gateway_url[rest] != '\0' &&
		   c->gateway_url[rest] != '/' && printable(c->gateway_url) &&
		   strpbrk(c->gateway_url, "?#") == NULL,
	       VEIL_E_USAGE,
	       "--gateway must be an http:// or https:// URL of at most %d characters, without "
	       "a query",
	       VEIL_WORKER_GATEWAY_URL_MAX);
	ENSURE(c->advertise_url != NULL, VEIL_E_USAGE,
	       "--gateway needs --advertise URL: where the gateway reaches this worker");
	ENSURE(strlen(c->advertise_url) <= VEIL_WORKER_GATEWAY_URL_MAX &&
		   has_scheme(c->advertise_url, &rest) && printable(c->advertise_url) &&
		   authority_ok(c->advertise_url + rest),
	       VEIL_E_USAGE,
	       "--advertise must be http:// or https:// with a host and an optional port, "
	       "no user information, no path (e.g. https://10.0.0.5:8090)");
	return VEIL_OK;
}

/* ---- waiting ---- */

static bool stopping(const wk_join *g)
{
	return atomic_load(&g->stop) || atomic_load(&g->w->stopping);
}

/* The http client's abort hook: an exchange under way ends with the join. */
static bool abort_hook(void *user)
{
	return stopping(user);
}

/* Waits seconds unless the join stops first; false when it stops. */
static bool join_wait(wk_join *g, double seconds)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)seconds;
	until.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g->mu);
	while (!stopping(g) && pthread_cond_timedwait(&g->cv, &g->mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&g->mu);
	return !stopping(g);
}

/* Half the wait plus a random part of the other half, so workers that lost
 * the gateway at the same moment do not come back at the same moment. */
static double jitter(double seconds)
{
	uint32_t r = 0;

	if (RAND_bytes((uint8_t *)&r, sizeof r) != 1)
		r = UINT32_MAX / 2;
	return seconds / 2 + seconds / 2 * ((double)r / (double)UINT32_MAX);
}

/* The protocol's retry after a network error or a 5xx: 1 s doubling to
 * 30 s, with jitter. */
static double backoff_next(wk_join *g)
{
	double b = g->backoff;

	g->backoff =
	    b * 2 > VEIL_WORKER_JOIN_BACKOFF_MAX_S ? VEIL_WORKER_JOIN_BACKOFF_MAX_S : b * 2;
	return jitter(b);
}

/* ---- one exchange ---- */

typedef struct gw_call {
	const char *method;
	char path[128];
	const void *body;
	size_t len;
	bool lease;      /* send Authorization: Bearer <lease> */
	long timeout_ms; /* 0: VEIL_WORKER_JOIN_TIMEOUT_MS */
	bool abortable;  /* ends when the join stops (not the leave itself) */
} gw_call;

static veil_err gw_fetch(wk_join *g, const gw_call *c, veil_http_client_response *resp)
{
	char url[VEIL_WORKER_GATEWAY_URL_MAX + 160], auth[32 + LEASE_HEX];
	const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
	static const char *const want[] = {"Retry-After", NULL};
	long timeout = c->timeout_ms > 0 ? c->timeout_ms : VEIL_WORKER_JOIN_TIMEOUT_MS;
	veil_err err;

	snprintf(url, sizeof url, "%s%s", g->gateway, c->path);
	if (c->lease) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", g->lease);
		headers[1] = auth;
	}
	veil_http_client_request req = {
	    .method = c->method,
	    .url = url,
	    .headers = headers,
	    .body = c->body,
	    .body_len = c->len,
	    .want_headers = want,
	    .ca_file = g->w->cfg.gateway_ca,
	    .timeout_ms = timeout,
	    .connect_timeout_ms = timeout,
	    .max_body = VEIL_WORKER_JOIN_BODY_MAX,
	    .abort = c->abortable ? abort_hook : NULL,
	    .abort_user = g,
	};
	err = veil_http_client_fetch(&req, resp);
	veil_wipe(auth, sizeof auth);
	return err;
}

/* The gateway's answer as JSON (NULL when it is not). */
static json_t *answer_json(const veil_http_client_response *resp)
{
	json_t *j = NULL;

	if (veil_json_parse_max(resp->body.data, resp->body.len, VEIL_WORKER_JOIN_BODY_MAX, &j) !=
	    VEIL_OK)
		return NULL;
	return j;
}

/* A string member that must be exactly n lower-case hex digits. */
static bool hex_member(const json_t *j, const char *key, size_t n, char *out)
{
	const char *s = json_string_value(json_object_get(j, key));

	if (s == NULL || strlen(s) != n || strspn(s, "0123456789abcdef") != n)
		return false;
	memcpy(out, s, n + 1);
	return true;
}

/* A refusal's code and message: untrusted text, so cut (at a character
 * boundary, to stay UTF-8) and with control characters replaced. */
static void refusal_text(const veil_http_client_response *resp, char *code, size_t code_cap,
			 char *msg, size_t msg_cap)
{
	json_t *j = answer_json(resp);
	json_t *e = json_object_get(j, "error");
	const char *srcs[2] = {json_string_value(json_object_get(e, "code")),
			       json_string_value(json_object_get(e, "message"))};
	char *dsts[2] = {code, msg};
	size_t caps[2] = {code_cap, msg_cap};

	for (int i = 0; i < 2; i++) {
		size_t n = srcs[i] != NULL ? strlen(srcs[i]) : 0;
		if (n > caps[i] - 1) {
			n = caps[i] - 1;
			while (n > 0 && ((unsigned char)srcs[i][n] & 0xC0) == 0x80)
				n--;
		}
		if (n > 0)
			memcpy(dsts[i], srcs[i], n);
		dsts[i][n] = '\0';
		veil_text_sanitize(dsts[i]);
	}
	json_decref(j);
}

/* Seconds a 429 asks to wait (Retry-After in seconds, RFC 9110 section
 * 10.2.3; a date or nonsense: the normal backoff). */
static double retry_after(wk_join *g, const veil_http_client_response *resp)
{
	const char *v = resp->headers[0];
	size_t n = v != NULL ? strlen(v) : 0;

	if (n == 0 || n > 6 || strspn(v, "0123456789") != n)
		return backoff_next(g);
	long s = strtol(v, NULL, 10); /* checked: at most 6 digits, above */
	if (s < VEIL_WORKER_JOIN_BACKOFF_MIN_S)
		s = VEIL_WORKER_JOIN_BACKOFF_MIN_S;
	return s > VEIL_WORKER_RETRY_AFTER_MAX_S ? VEIL_WORKER_RETRY_AFTER_MAX_S : (double)s;
}

/* ---- the protocol ---- */

static void log_join(wk_join *g, const char *outcome, json_t *fields)
{
	if (fields == NULL)
		return;
	if (json_object_set_new(fields, "outcome", json_string(outcome)) != 0 ||
	    json_object_set_new(fields, "gateway", json_string(g->gateway)) != 0) {
		json_decref(fields);
		return;
	}
	wk_log(g->w, "gateway.join", fields);
}

/* A failed exchange or an answer that makes no sense: retried with backoff. */
static double join_error(wk_join *g, const char *step, long status, const char *detail)
{
	double wait = backoff_next(g);

	log_join(g, "error",
		 json_pack("{s:s, s:I, s:s, s:f}", "step", step, "status", (json_int_t)status,
			   "detail", detail, "retry_in", wait));
	return wait;
}

/* 403, or another 4xx: the evidence (or the request) does not satisfy the
 * gateway, and will not by itself in the next seconds. */
static double join_refused(wk_join *g, const char *step, const veil_http_client_response *resp)
{
	char code[64], msg[VEIL_WORKER_JOIN_MESSAGE_MAX + 1];
	double wait = jitter(VEIL_WORKER_JOIN_REFUSED_WAIT_S * 2.0);

	refusal_text(resp, code, sizeof code, msg, sizeof msg);
	log_join(g, "refused",
		 json_pack("{s:s, s:I, s:s, s:s, s:f}", "step", step, "status",
			   (json_int_t)resp->status, "code", code, "message", msg, "retry_in",
			   wait));
	return wait;
}

/* Step 2: the evidence for the gateway's nonce; the wait before the next
 * step comes back. */
static double join_answer(wk_join *g, const char *challenge, const char *nonce)
{
	veil_http_client_response resp;
	uint8_t *bundle = NULL;
	size_t len = 0;
	gw_call c = {.method = "POST", .abortable = true};
	double wait;
	json_t *j;
	int64_t index = 0, reattest = 0;

	if (wk_bundle(g->w, nonce, &bundle, &len) != VEIL_OK) {
		wk_log(g->w, "attestation.error", json_pack("{s:s}", "detail", veil_err_detail()));
		return join_error(g, "evidence", 0, "the platform could not produce evidence");
	}
	snprintf(c.path, sizeof c.path, "/v1/workers/join/%s", challenge);
	c.body = bundle;
	c.len = len;
	if (gw_fetch(g, &c, &resp) != VEIL_OK) {
		wait = stopping(g) ? 0 : join_error(g, "answer", resp.status, veil_err_detail());
		goto out;
	}
	if (resp.status == 404) {
		/* The challenge expired, or the gateway restarted in between:
		 * at once from step 1, then with backoff if it keeps happening. */
		wait = g->expired++ == 0 ? 0 : backoff_next(g);
		log_join(g, "expired", json_pack("{s:f}", "retry_in", wait));
		goto out;
	}
	if (resp.status == 429 || resp.status >= 500 || resp.status < 200) {
		wait = resp.status == 429 ? retry_after(g, &resp)
					  : join_error(g, "answer", resp.status, "gateway error");
		goto out;
	}
	if (resp.status != 200) {
		wait = join_refused(g, "answer", &resp);
		goto out;
	}
	j = answer_json(&resp);
	if (j == NULL || !json_is_true(json_object_get(j, "admitted")) ||
	    !hex_member(j, "lease", LEASE_HEX, g->lease) ||
	    !json_is_string(json_object_get(j, "worker")) ||
	    strcmp(json_string_value(json_object_get(j, "worker")), g->w->id) != 0 ||
	    veil_json_get_int(j, "log_index", 0, INT64_MAX, &index) != VEIL_OK ||
	    veil_json_get_int(j, "reattest_s", 1, INT32_MAX, &reattest) != VEIL_OK) {
		json_decref(j);
		veil_wipe(g->lease, sizeof g->lease);
		wait = join_error(g, "answer", resp.status, "the admission does not parse");
		goto out;
	}
	json_decref(j);
	/* The protocol: poll at the gateway's interval, at least every 5 s. */
	g->reattest_s = reattest < VEIL_WORKER_REATTEST_MIN_S   ? VEIL_WORKER_REATTEST_MIN_S
			: reattest > VEIL_WORKER_REATTEST_MAX_S ? VEIL_WORKER_REATTEST_MAX_S
								: (unsigned)reattest;
	g->admitted = true;
	g->backoff = VEIL_WORKER_JOIN_BACKOFF_MIN_S;
	g->expired = 0;
	log_join(g, "admitted",
		 json_pack("{s:I, s:i}", "log_index", (json_int_t)index, "reattest_s",
			   (int)g->reattest_s));
	wait = g->reattest_s;
out:
	veil_http_client_response_clear(&resp);
	free(bundle);
	return wait;
}

/* Step 1, then step 2. */
static double join_once(wk_join *g)
{
	const veil_worker *w = g->w;
	char challenge[CHALLENGE_HEX + 1], nonce[NONCE_HEX + 1];
	veil_http_client_response resp;
	gw_call c = {.method = "POST", .path = "/v1/workers/join", .abortable = true};
	unsigned capacity = w->cfg.slots < CAPACITY_MAX ? w->cfg.slots : CAPACITY_MAX;
	json_t *req = json_pack("{s:s, s:s, s:i}", "id", w->id, "url", w->cfg.advertise_url,
				"capacity", (int)(capacity > 0 ? capacity : 1));
	char *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	double wait;
	json_t *j;

	json_decref(req);
	if (body == NULL)
		return join_error(g, "join", 0, "out of memory");
	c.body = body;
	c.len = strlen(body);
	if (gw_fetch(g, &c, &resp) != VEIL_OK) {
		wait = stopping(g) ? 0 : join_error(g, "join", resp.status, veil_err_detail());
		goto out;
	}
	if (resp.status == 429 || resp.status >= 500 || resp.status < 200) {
		wait = resp.status == 429 ? retry_after(g, &resp)
					  : join_error(g, "join", resp.status, "gateway error");
		goto out;
	}
	if (resp.status != 200) {
		wait = join_refused(g, "join", &resp);
		goto out;
	}
	j = answer_json(&resp);
	if (j == NULL || !hex_member(j, "challenge", CHALLENGE_HEX, challenge) ||
	    !hex_member(j, "nonce", NONCE_HEX, nonce)) {
		json_decref(j);
		wait = join_error(g, "join", resp.status, "the challenge does not parse");
		goto out;
	}
	json_decref(j);
	wait = join_answer(g, challenge, nonce);
out:
	veil_http_client_response_clear(&resp);
	free(body);
	return wait;
}

/* Step 3: does the gateway still know this worker? */
static double poll_once(wk_join *g)
{
	veil_http_client_response resp;
	gw_call c = {.method = "GET", .lease = true, .abortable = true};
	const char *why = NULL;

	snprintf(c.path, sizeof c.path, "/v1/workers/%s", g->w->id);
	if (gw_fetch(g, &c, &resp) != VEIL_OK)
		why = stopping(g) ? NULL : veil_err_detail();
	else if (resp.status == 404 || resp.status == 401 || resp.status == 403) {
		/* Forgotten (or the lease is no longer valid): join again. */
		g->admitted = false;
		veil_wipe(g->lease, sizeof g->lease);
		wk_log(g->w, "gateway.poll",
		       json_pack("{s:s, s:I, s:s}", "outcome", "forgotten", "status",
				 (json_int_t)resp.status, "gateway", g->gateway));
		veil_http_client_response_clear(&resp);
		return 0;
	} else if (resp.status != 200)
		why = "gateway error";
	if (why != NULL)
		/* Still admitted as far as the worker knows: the gateway's own
		 * re-attestation decides; keep polling. */
		wk_log(g->w, "gateway.poll",
		       json_pack("{s:s, s:I, s:s, s:s}", "outcome", "error", "status",
				 (json_int_t)resp.status, "detail", why, "gateway", g->gateway));
	veil_http_client_response_clear(&resp);
	return g->reattest_s;
}

static void *join_main(void *arg)
{
	wk_join *g = arg;

	while (!stopping(g)) {
		double wait = g->admitted ? poll_once(g) : join_once(g);
		if (wait > 0 && !join_wait(g, wait))
			break;
	}
	return NULL;
}

/* ---- start and leave ---- */

veil_err wk_join_start(veil_worker *w, wk_join **out)
{
	wk_join *g;
	pthread_condattr_t ca;
	size_t n;

	*out = NULL;
	if (w->cfg.gateway_url == NULL)
		return VEIL_OK;
	g = calloc(1, sizeof *g);
	ENSURE(g != NULL, VEIL_E_NOMEM, "out of memory");
	g->w = w;
	n = strlen(w->cfg.gateway_url);
	while (n > 0 && w->cfg.gateway_url[n - 1] == '/')
		n--;
	memcpy(g->gateway, w->cfg.gateway_url, n); /* n <= VEIL_WORKER_GATEWAY_URL_MAX: checked */
	g->backoff = VEIL_WORKER_JOIN_BACKOFF_MIN_S;
	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->leave_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->thread, NULL, join_main, g) != 0) {
		wk_join_free(g);
		return veil_fail(VEIL_E_NOMEM, "cannot start the gateway join thread");
	}
	g->started = true;
	*out = g;
	return VEIL_OK;
}

/* Step 4. The thread stops first (within about a second: every exchange
 * polls the stop flag), so the lease is the leave's alone. */
void wk_join_leave(wk_join *g)
{
	veil_http_client_response resp;
	gw_call c = {.method = "POST", .lease = true, .timeout_ms = VEIL_WORKER_LEAVE_TIMEOUT_MS};

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->leave_mu);
	pthread_mutex_lock(&g->mu);
	atomic_store(&g->stop, true);
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (g->started) {
		pthread_join(g->thread, NULL);
		g->started = false;
	}
	if (g->admitted) {
		snprintf(c.path, sizeof c.path, "/v1/workers/%s/leave", g->w->id);
		c.body = "{}";
		c.len = 2;
		if (gw_fetch(g, &c, &resp) != VEIL_OK || resp.status != 200)
			wk_log(g->w, "gateway.leave",
			       json_pack("{s:s, s:I, s:s, s:s}", "outcome", "error", "status",
					 (json_int_t)resp.status, "detail",
					 resp.status != 0 ? "gateway error" : veil_err_detail(),
					 "gateway", g->gateway));
		else
			wk_log(g->w, "gateway.leave",
			       json_pack("{s:s, s:s}", "outcome", "left", "gateway", g->gateway));
		veil_http_client_response_clear(&resp);
		g->admitted = false;
		veil_wipe(g->lease, sizeof g->lease);
	}
	pthread_mutex_unlock(&g->leave_mu);
}

void wk_join_free(wk_join *g)
{
	if (g == NULL)
		return;
	wk_join_leave(g);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	pthread_mutex_destroy(&g->leave_mu);
	veil_wipe(g, sizeof *g);
	free(g);
}

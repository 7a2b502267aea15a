/*
 * kbs_fetch.c - the guest's side of the KBS protocol 0.4.0 (docs/kbs-protocol.md,
 * docs/guest.md): what a worker does at boot to get its model key.
 *
 *   1. a fresh EC P-256 key, held only in memory (its public half is the
 *      "tee-pubkey", with "alg" ECDH-ES+A256KW as CoCo's guest sends it);
 *   2. POST /kbs/v0/auth: a session cookie and the broker's nonce;
 *   3. evidence bound to both (section 2): the GPUs' reports for the device
 *      nonce from {"nonce", "tee-pubkey"}, serialised as the string S that
 *      travels in tee-evidence.additional_evidence ("" without GPUs), then
 *      the CPU report with REPORT_DATA = SHA-384(JCS({"additional-evidence":
 *      S, "nonce", "tee-pubkey"})) zero-padded;
 *   4. POST /kbs/v0/attest, answered with an EAR token;
 *   5. GET /kbs/v0/resource/<path>: a JWE to the key, decrypted here.
 *
 * A broker that is not up yet, restarting or overloaded is waited for:
 * network errors, 5xx and 429 start the handshake again after an
 * exponential backoff with jitter, until the caller's deadline. A refusal
 * (the evidence, the policy, the path) is an answer, final and not retried,
 * and its message says which step refused and why (refusal.c).
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest/guest_internal.h"
#include "veil/bundle.h"
#include "veil/codec.h"
#include "veil/http_client.h"
#include "veil/jose.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* The retry policy: the first wait, the factor, and the longest wait. */
#define RETRY_START_MS 250
#define RETRY_CAP_MS   8000
/* "kbs-session-id=<id>" (Veil's ids are 32 hex digits, Trustee's UUIDs). */
#define COOKIE_MAX 160

typedef struct fetch_run {
	veil_guest *g;
	const veil_kbs_fetch_params *p;
	const veil_jwk *key;
	const json_t *jwk; /* the public key as sent */
	long timeout_ms;   /* per exchange; 0: the client's default */
	bool retry;        /* the last failure may pass: network, 5xx, 429 */
	char cookie[COOKIE_MAX];
	char *token; /* the EAR token from attest, for a refusal's message */
} fetch_run;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Attempt n's wait: 250 ms doubling to 8 s, then "equal jitter" (half the
 * wait fixed, half random), so that workers restarted together do not
 * knock on the broker in step. */
static long backoff_ms(unsigned attempt)
{
	long base = RETRY_START_MS;
	uint32_t r = 0;

	for (unsigned i = 1; i < attempt && base < RETRY_CAP_MS; i++)
		base *= 2;
	base = base < RETRY_CAP_MS ? base : RETRY_CAP_MS;
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		return base;
	return base / 2 + (long)(r % (uint32_t)(base / 2 + 1));
}

/* Trustee's path rule (docs/kbs-protocol.md section 4): three segments of
 * [A-Za-z0-9_-][A-Za-z0-9_.-]*, and no "..". It goes into a URL, so
 * nothing else may pass. */
static veil_err resource_path_check(const char *path)
{
	int segments = 0;
	const char *p = path;

	ENSURE(strlen(path) <= VEIL_STORE_PATH_MAX && strstr(path, "..") == NULL, VEIL_E_USAGE,
	       "resource path must be <repository>/<type>/<tag> of at most %d characters",
	       VEIL_STORE_PATH_MAX);
	while (*p != '\0') {
		const char *start = p;
		ENSURE(*p != '.', VEIL_E_USAGE, "resource path segments may not start with '.'");
		for (; *p != '\0' && *p != '/'; p++)
			ENSURE((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.',
			       VEIL_E_USAGE,
			       "resource path: character 0x%02x is not in [A-Za-z0-9_.-]",
			       (unsigned char)*p);
		ENSURE(p != start, VEIL_E_USAGE, "resource path: an empty segment");
		segments++;
		if (*p == '/')
			p++;
		ENSURE(p[-1] != '/' || *p != '\0', VEIL_E_USAGE, "resource path ends in '/'");
	}
	ENSURE(segments == 3, VEIL_E_USAGE,
	       "resource path must be <repository>/<type>/<tag> (%d segments given)", segments);
	return VEIL_OK;
}

/* One exchange. A transport failure or a 5xx / 429 is an error here (and
 * marked retryable when it may pass); any other status is the caller's to
 * read. */
static veil_err exchange(fetch_run *f, const char *method, const char *path, const char *body,
			 veil_http_client_response *resp)
{
	char url[2048], cookie_line[COOKIE_MAX + 16], detail[VEIL_ERR_DETAIL_MAX / 2];
	const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
	const char *want[2] = {"Set-Cookie", NULL};
	veil_http_client_request req = {0};
	veil_err err;

	f->retry = false;
	ENSURE((size_t)snprintf(url, sizeof url, "%s%s", f->p->url, path) < sizeof url,
	       VEIL_E_USAGE, "the broker URL is too long");
	if (f->cookie[0] != '\0') {
		snprintf(cookie_line, sizeof cookie_line, "Cookie: %s", f->cookie);
		headers[1] = cookie_line;
	}
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	req.want_headers = want;
	req.ca_file = f->p->ca_file;
	req.timeout_ms = f->timeout_ms;
	req.connect_timeout_ms =
	    f->timeout_ms > 0 && f->timeout_ms < VEIL_HTTP_CLIENT_CONNECT_TIMEOUT_MS ? f->timeout_ms
										     : 0;
	err = veil_http_client_fetch(&req, resp);
	if (err != VEIL_OK) {
		/* Connecting, the deadline, a broken exchange: the broker may be
		 * starting. A certificate, a URL or a cap will not change. */
		f->retry = err == VEIL_E_IO;
		return veil_fail_context(err, "%s %s", method, path);
	}
	if (resp->status == 429 || resp->status >= 500) {
		guest_reply r = {resp->status, resp->body.data, resp->body.len};
		guest_broker_detail(&r, detail, sizeof detail);
		f->retry = true;
		return veil_fail(VEIL_E_IO, "%s %s: HTTP %ld: %s", method, path, resp->status,
				 detail[0] != '\0' ? detail : "(no detail)");
	}
	return VEIL_OK;
}

/* The refusal of a step: the broker's detail after "HTTP <status>". */
static void reply_detail(const veil_http_client_response *resp, char *out, size_t len)
{
	guest_reply r = {resp->status, resp->body.data, resp->body.len};

	guest_broker_detail(&r, out, len);
	if (out[0] == '\0')
		snprintf(out, len, "(no detail)");
}

/* 2. auth: the session cookie and the nonce (a new string). */
static veil_err step_auth(fetch_run *f, const char *tee, char **nonce)
{
	veil_http_client_response resp;
	json_t *req =
		   json_pack("{s:s, s:s, s:s}", "version", "0.4.0", "tee", tee, "extra-params", ""),
	       *auth = NULL;
	char *text = NULL, detail[VEIL_ERR_DETAIL_MAX / 2];
	const char *n;
	size_t cn;
	veil_err err;

	memset(&resp, 0, sizeof resp);
	f->cookie[0] = '\0';
	CHECK_THAT(req != NULL && (text = json_dumps(req, JSON_COMPACT)) != NULL, VEIL_E_NOMEM,
		   "out of memory");
	CHECK(exchange(f, "POST", "/kbs/v0/auth", text, &resp));
	if (resp.status != 200) {
		reply_detail(&resp, detail, sizeof detail);
		CHECK_THAT(false, VEIL_E_VERIFY,
			   "auth: the broker refused the %s TEE: HTTP %ld: %s", tee, resp.status,
			   detail);
	}
	CHECK(veil_json_parse(resp.body.data, resp.body.len, &auth));
	CHECK(veil_json_get_string(auth, "nonce", &n));
	CHECK_THAT(strlen(n) > 0 && strlen(n) <= VEIL_GUEST_KBS_NONCE_MAX, VEIL_E_MALFORMED,
		   "auth: the nonce must be 1 to %d characters", VEIL_GUEST_KBS_NONCE_MAX);
	/* kbs-session-id=<id>; Expires=...: keep the pair only, and only
	 * what a cookie may hold (RFC 6265 section 4.1.1). */
	CHECK_THAT(resp.headers[0] != NULL, VEIL_E_MALFORMED,
		   "auth: the broker set no session cookie");
	cn = strcspn(resp.headers[0], ";");
	CHECK_THAT(cn > 0 && cn < sizeof f->cookie, VEIL_E_MALFORMED,
		   "auth: the session cookie is empty or too long");
	for (size_t i = 0; i < cn; i++)
		CHECK_THAT(resp.headers[0][i] > 0x20 && resp.headers[0][i] < 0x7f, VEIL_E_MALFORMED,
			   "auth: the session cookie holds a character a cookie may not");
	memcpy(f->cookie, resp.headers[0], cn);
	f->cookie[cn] = '\0';
	*nonce = strdup(n);
	CHECK_THAT(*nonce != NULL, VEIL_E_NOMEM, "out of memory");
out:
	veil_http_client_response_clear(&resp);
	json_decref(req);
	json_decref(auth);
	free(text);
	return err;
}

/* The device evidence string S: the GPUs' device entries as compact JSON
 * (Veil's array form, which carries each GPU's state), or "" without. */
static veil_err additional_evidence(fetch_run *f, const json_t *rt, char **out)
{
	guest_gpu *gpus = NULL;
	json_t *devs = NULL;
	uint8_t nonce[32];
	size_t n = 0;
	veil_err err = VEIL_OK;

	*out = NULL;
	if (f->g->gpus == GUEST_GPUS_NONE) {
		*out = strdup("");
		ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
		return VEIL_OK;
	}
	CHECK(veil_device_nonce(rt, nonce));
	CHECK(guest_gpus_collect(f->g, nonce, &gpus, &n));
	CHECK(guest_devices_json(gpus, n, &devs));
	*out = json_dumps(devs, JSON_COMPACT);
	CHECK_THAT(*out != NULL, VEIL_E_NOMEM, "out of memory");
out:
	guest_gpus_free(gpus, n);
	json_decref(devs);
	return err;
}

/* 3. the attest request: evidence bound to the nonce and the key. */
static veil_err attest_body(fetch_run *f, const char *nonce, char **text)
{
	json_t *rt = json_pack("{s:s, s:O}", "nonce", nonce, "tee-pubkey", f->jwk), *rd = NULL;
	json_t *init = NULL, *body = NULL;
	veil_cpu_evidence ev = {0};
	char *s = NULL, *b64 = NULL;
	uint8_t digest[64];
	veil_err err;

	*text = NULL;
	CHECK_THAT(rt != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(additional_evidence(f, rt, &s));
	/* As CoCo's guest binds it: the runtime data with the string S. */
	rd = json_pack("{s:s, s:s, s:O}", "additional-evidence", s, "nonce", nonce, "tee-pubkey",
		       f->jwk);
	CHECK_THAT(rd != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(veil_runtime_data_digest(rd, digest));
	CHECK(guest_cpu_evidence(f->g, digest, &ev));
	b64 = malloc(veil_base64_encoded_len(ev.report_len) + 1);
	CHECK_THAT(b64 != NULL, VEIL_E_NOMEM, "out of memory");
	veil_base64_encode(ev.report, ev.report_len, b64);
	/* docs/kbs.md "Init-data": the document as the VM was launched with
	 * it; the broker checks its digest against the TEE's register. */
	init = f->g->init_data != NULL ? json_pack("{s:s, s:s%}", "format", "toml", "body",
						   f->g->init_data, f->g->init_data_len)
				       : json_null();
	CHECK_THAT(init != NULL, VEIL_E_MALFORMED, "the init-data is not UTF-8 text");
	body = json_pack("{s:O, s:O, s:{s:s, s:s}}", "init-data", init, "runtime-data", rt,
			 "tee-evidence", "primary_evidence", b64, "additional_evidence", s);
	CHECK_THAT(body != NULL && (*text = json_dumps(body, JSON_COMPACT)) != NULL, VEIL_E_NOMEM,
		   "out of memory");
out:
	veil_cpu_evidence_clear(&ev);
	json_decref(rt);
	json_decref(rd);
	json_decref(init);
	json_decref(body);
	free(s);
	free(b64);
	return err;
}

/* 4. attest; the token is kept for the resource step's message. */
static veil_err step_attest(fetch_run *f, const char *text)
{
	veil_http_client_response resp;
	char detail[VEIL_ERR_DETAIL_MAX / 2];
	json_t *doc = NULL;
	veil_err err;

	memset(&resp, 0, sizeof resp);
	CHECK(exchange(f, "POST", "/kbs/v0/attest", text, &resp));
	if (resp.status != 200) {
		reply_detail(&resp, detail, sizeof detail);
		CHECK_THAT(false, VEIL_E_VERIFY, "attest: the broker refused %s: HTTP %ld: %s",
			   resp.status == 401 ? "the evidence" : "the request", resp.status,
			   detail);
	}
	/* The token is not needed to fetch (the cookie is the session), only
	 * to explain a refusal: an answer without one is not an error. */
	if (veil_json_parse(resp.body.data, resp.body.len, &doc) == VEIL_OK &&
	    json_is_string(json_object_get(doc, "token"))) {
		f->token = strdup(json_string_value(json_object_get(doc, "token")));
		CHECK_THAT(f->token != NULL, VEIL_E_NOMEM, "out of memory");
	}
	err = VEIL_OK;
out:
	veil_http_client_response_clear(&resp);
	json_decref(doc);
	return err;
}

/* 5. the resource, as a JWE to the key. */
static veil_err step_resource(fetch_run *f, uint8_t **value, size_t *value_len)
{
	veil_http_client_response resp;
	char path[VEIL_STORE_PATH_MAX + 32], detail[VEIL_ERR_DETAIL_MAX / 4];
	char ear[VEIL_ERR_DETAIL_MAX / 2];
	const char *res = f->p->resource;
	veil_err err;

	memset(&resp, 0, sizeof resp);
	snprintf(path, sizeof path, "/kbs/v0/resource/%s", res);
	CHECK(exchange(f, "GET", path, NULL, &resp));
	if (resp.status != 200) {
		reply_detail(&resp, detail, sizeof detail);
		CHECK_THAT(resp.status != 404, VEIL_E_VERIFY,
			   "resource %s: no such resource at the broker (HTTP 404: %s)", res,
			   detail);
		CHECK_THAT(resp.status != 401, VEIL_E_VERIFY,
			   "resource %s: HTTP 401: %s (the broker did not accept the attested "
			   "session)",
			   res, detail);
		if (resp.status == 403) {
			/* The broker does not say which rule refused; the token it
			 * issued says what it thought of the evidence. */
			guest_ear_summary(f->token, ear, sizeof ear);
			CHECK_THAT(false, VEIL_E_VERIFY,
				   "resource %s: refused by the broker's resource policy: HTTP "
				   "403: %s; the EAR token from attest says: %s",
				   res, detail, ear[0] != '\0' ? ear : "(no token could be read)");
		}
		CHECK_THAT(false, VEIL_E_VERIFY, "resource %s: the broker refused: HTTP %ld: %s",
			   res, resp.status, detail);
	}
	err = veil_jwe_decrypt(f->key, resp.body.data, resp.body.len, value, value_len);
	if (err != VEIL_OK)
		err = veil_fail_context(err,
					"resource %s: the JWE does not open with this guest's "
					"key",
					res);
out:
	veil_http_client_response_clear(&resp);
	return err;
}

/* One whole handshake. */
static veil_err fetch_once(fetch_run *f, uint8_t **value, size_t *value_len)
{
	const char *tee;
	char *nonce = NULL, *text = NULL;
	veil_err err;

	f->retry = false;
	veil_free_secret(f->token, f->token != NULL ? strlen(f->token) : 0);
	f->token = NULL;
	CHECK(guest_tee_resolve(f->g, &tee));
	CHECK(step_auth(f, tee, &nonce));
	CHECK(attest_body(f, nonce, &text));
	CHECK(step_attest(f, text));
	CHECK(step_resource(f, value, value_len));
out:
	free(nonce);
	free(text);
	return err;
}

static veil_err params_check(const veil_kbs_fetch_params *p)
{
	ENSURE(p->url != NULL && p->url[0] != '\0', VEIL_E_USAGE, "the broker URL is missing");
	ENSURE(p->resource != NULL, VEIL_E_USAGE, "the resource path is missing");
	ENSURE(p->deadline_ms >= 0, VEIL_E_USAGE, "the retry deadline is negative");
	return resource_path_check(p->resource);
}

veil_err veil_guest_kbs_fetch(veil_guest *g, const veil_kbs_fetch_params *p, uint8_t **value,
			      size_t *value_len)
{
	fetch_run f = {.g = g, .p = p};
	veil_jwk *key = NULL;
	json_t *jwk = NULL;
	int64_t start = now_ms();
	char why[VEIL_ERR_DETAIL_MAX];
	veil_err err;

	ENSURE(g != NULL && p != NULL && value != NULL && value_len != NULL, VEIL_E_USAGE,
	       "veil_guest_kbs_fetch: guest, parameters and outputs needed");
	*value = NULL;
	*value_len = 0;
	veil_err_clear();
	TRY(params_check(p));
	/* 1. the key the resource will be encrypted to; it never leaves this
	 * call (veil_jwk_free wipes it). */
	CHECK(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &key));
	CHECK(veil_jwk_export_public(key, &jwk));
	CHECK_THAT(json_object_set_new(jwk, "alg", json_string("ECDH-ES+A256KW")) == 0,
		   VEIL_E_NOMEM, "out of memory");
	f.key = key;
	f.jwk = jwk;
	for (unsigned attempt = 1;; attempt++) {
		long left = p->deadline_ms - (long)(now_ms() - start), wait;

		/* Within a deadline, no exchange may outlast it by much: at
		 * least a second each, so a slow broker is not cut off at
		 * once. */
		if (p->deadline_ms > 0)
			f.timeout_ms = left < 1000 ? 1000
				       : left < VEIL_HTTP_CLIENT_TIMEOUT_MS
					   ? left
					   : VEIL_HTTP_CLIENT_TIMEOUT_MS;
		err = fetch_once(&f, value, value_len);
		if (err == VEIL_OK || !f.retry || p->deadline_ms == 0)
			break;
		left = p->deadline_ms - (long)(now_ms() - start);
		if (left <= 0) {
			err = veil_fail_context(err, "gave up after %u attempts in %ld ms", attempt,
						(long)(now_ms() - start));
			break;
		}
		wait = backoff_ms(attempt);
		wait = wait < left ? wait : left;
		snprintf(why, sizeof why, "%s", veil_err_detail());
		if (p->on_retry != NULL)
			p->on_retry(p->user, attempt, wait, why);
		sleep_ms(wait);
	}
out:
	/* The session cookie and the token are bearer credentials of this
	 * guest's session: wiped, like the key. */
	veil_wipe(f.cookie, sizeof f.cookie);
	veil_free_secret(f.token, f.token != NULL ? strlen(f.token) : 0);
	veil_jwk_free(key);
	json_decref(jwk);
	return err;
}

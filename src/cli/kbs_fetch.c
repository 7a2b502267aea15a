/*
 * kbs_fetch.c - veil kbs fetch: the guest's side of the KBS protocol, for
 * the simulated TEE: what a worker does at boot to get its model key.
 *
 *   veil kbs fetch --url URL --sim DIR [--workload FILE]... [--init-data FILE]
 *                  [--ca FILE] [--out FILE] PATH
 *
 * It makes a fresh P-256 key (the TEE's key, held only in memory), asks
 * /kbs/v0/auth for a nonce, makes sim evidence whose REPORT_DATA binds
 * {"additional-evidence": "", "nonce", "tee-pubkey"} as CoCo's guest
 * does, attests, fetches PATH and decrypts the JWE with the key. The
 * resource goes to --out (created 0600) or standard output. Exit 0 on
 * success, 1 when the broker refuses (its detail is printed), 2 for usage
 * or an --init-data file that cannot be read.
 *
 * With --init-data (an initdata TOML, docs/kbs.md "Init-data") it plays
 * both the host and the guest: the sim report's HOST_DATA is the digest
 * of the file by the algorithm the file names, fitted to 32 bytes (what a
 * host launching the guest with that init-data sets), instead of
 * platform.json's host_data, and the attest request carries
 * {"format": "toml", "body": <the file's text>}.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "veil/bundle.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/http_client.h"
#include "veil/jose.h"
#include "veil/json.h"
#include "veil/kbs.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "veil/sim.h"

#define FETCH_WORKLOADS_MAX 16

typedef struct fetch_args {
	const char *url, *sim, *ca, *out, *path, *init_data;
	const char *workloads[FETCH_WORKLOADS_MAX];
	size_t nworkloads;
	json_t *init;          /* from --init-data, or NULL */
	uint8_t host_data[32]; /* with init: the HOST_DATA it makes */
} fetch_args;

/* One exchange with the broker; on a status other than 200 prints the
 * broker's detail and fails. */
static veil_err call(const fetch_args *a, const char *method, const char *path, const char *body,
		     const char *cookie, veil_http_client_response *resp, char *set_cookie,
		     size_t set_cookie_len)
{
	char url[2048], cookie_line[256];
	const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
	const char *want[2] = {"Set-Cookie", NULL};
	veil_http_client_request req = {0};

	ENSURE((size_t)snprintf(url, sizeof url, "%s%s", a->url, path) < sizeof url, VEIL_E_USAGE,
	       "the URL is too long");
	if (cookie != NULL) {
		snprintf(cookie_line, sizeof cookie_line, "Cookie: %s", cookie);
		headers[1] = cookie_line;
	}
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	req.want_headers = want;
	req.ca_file = a->ca;
	TRY(veil_http_client_fetch(&req, resp));
	if (resp->status != 200)
		return veil_fail(VEIL_E_VERIFY, "%s %s: HTTP %ld: %.*s", method, path, resp->status,
				 (int)(resp->body.len > 512 ? 512 : resp->body.len),
				 resp->body.data != NULL ? (const char *)resp->body.data : "");
	if (set_cookie != NULL && resp->headers[0] != NULL) {
		/* kbs-session-id=<id>; Expires=...: keep the pair only. */
		size_t n = strcspn(resp->headers[0], ";");
		ENSURE(n < set_cookie_len, VEIL_E_MALFORMED, "the session cookie is too long");
		memcpy(set_cookie, resp->headers[0], n);
		set_cookie[n] = '\0';
	}
	return VEIL_OK;
}

/* --init-data: the request's "init-data" member (new reference) and the
 * HOST_DATA a host launching the guest with it sets. */
static veil_err init_data_read(const char *path, json_t **init, uint8_t host_data[32])
{
	uint8_t *text = NULL, digest[64];
	size_t len = 0, digest_len = 0;
	veil_err err;

	*init = NULL;
	CHECK(veil_file_read(path, VEIL_KBS_INITDATA_MAX_BYTES, &text, &len));
	CHECK(veil_kbs_initdata_digest((const char *)text, len, digest, &digest_len));
	/* HOST_DATA is 32 bytes: a longer digest is truncated, as the host
	 * side and Trustee's verifier (regularize_data) both fit it. */
	memset(host_data, 0, 32);
	memcpy(host_data, digest, digest_len < 32 ? digest_len : 32);
	*init = json_pack("{s:s, s:s%}", "format", "toml", "body", (const char *)text, len);
	CHECK_THAT(*init != NULL, VEIL_E_MALFORMED, "%s is not UTF-8 text", path);
out:
	if (err != VEIL_OK)
		err = veil_fail_context(err, "--init-data %s", path);
	free(text);
	return err;
}

static veil_err fetch(const fetch_args *a, uint8_t **value, size_t *value_len)
{
	veil_http_client_response resp;
	veil_jwk *key = NULL;
	veil_sim *sim = NULL;
	json_t *auth = NULL, *jwk = NULL, *rd = NULL, *body = NULL;
	char cookie[160] = "", *text = NULL, *report_b64 = NULL, rpath[512];
	const char *nonce;
	uint8_t m[48], digest[64], *report = NULL;
	size_t report_len = 0;
	veil_err err;

	memset(&resp, 0, sizeof resp);
	*value = NULL;
	CHECK(veil_sim_open(a->sim, &sim));
	CHECK(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &key));
	CHECK(veil_jwk_export_public(key, &jwk));
	CHECK_THAT(json_object_set_new(jwk, "alg", json_string("ECDH-ES+A256KW")) == 0,
		   VEIL_E_NOMEM, "out of memory");
	/* 1. auth: a session and a nonce. */
	CHECK(call(a, "POST", "/kbs/v0/auth",
		   "{\"version\":\"0.4.0\",\"tee\":\"sim\",\"extra-params\":\"\"}", NULL, &resp,
		   cookie, sizeof cookie));
	CHECK(veil_json_parse(resp.body.data, resp.body.len, &auth));
	CHECK(veil_json_get_string(auth, "nonce", &nonce));
	CHECK_THAT(cookie[0] != '\0', VEIL_E_MALFORMED, "the broker set no session cookie");
	veil_http_client_response_clear(&resp);
	/* 2. evidence bound to the nonce and the key, as CoCo's guest binds it. */
	rd = json_pack("{s:s, s:s, s:O}", "additional-evidence", "", "nonce", nonce, "tee-pubkey",
		       jwk);
	CHECK_THAT(rd != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(veil_runtime_data_digest(rd, digest));
	if (a->nworkloads > 0)
		CHECK(veil_sim_measure(a->workloads, a->nworkloads, m));
	else
		memset(m, 0, sizeof m);
	if (a->init != NULL)
		CHECK(veil_sim_attest_host_data(sim, m, a->host_data, digest, (int64_t)time(NULL),
						&report, &report_len));
	else
		CHECK(veil_sim_attest(sim, m, digest, (int64_t)time(NULL), &report, &report_len));
	report_b64 = malloc(veil_base64_encoded_len(report_len) + 1);
	CHECK_THAT(report_b64 != NULL, VEIL_E_NOMEM, "out of memory");
	veil_base64_encode(report, report_len, report_b64);
	body = json_pack("{s:O, s:{s:s, s:O}, s:{s:s, s:s}}", "init-data",
			 a->init != NULL ? a->init : json_null(), "runtime-data", "nonce", nonce,
			 "tee-pubkey", jwk, "tee-evidence", "primary_evidence", report_b64,
			 "additional_evidence", "");
	CHECK_THAT(body != NULL && (text = json_dumps(body, JSON_COMPACT)) != NULL, VEIL_E_NOMEM,
		   "out of memory");
	/* 3. attest, then the resource, as a JWE to the key. */
	CHECK(call(a, "POST", "/kbs/v0/attest", text, cookie, &resp, NULL, 0));
	veil_http_client_response_clear(&resp);
	CHECK_THAT((size_t)snprintf(rpath, sizeof rpath, "/kbs/v0/resource/%s", a->path) <
		       sizeof rpath,
		   VEIL_E_USAGE, "the resource path is too long");
	CHECK(call(a, "GET", rpath, NULL, cookie, &resp, NULL, 0));
	CHECK(veil_jwe_decrypt(key, resp.body.data, resp.body.len, value, value_len));
out:
	veil_http_client_response_clear(&resp);
	veil_jwk_free(key);
	veil_sim_free(sim);
	json_decref(auth);
	json_decref(jwk);
	json_decref(rd);
	json_decref(body);
	free(text);
	free(report_b64);
	free(report);
	return err;
}

static bool write_out(const char *path, const uint8_t *p, size_t n)
{
	int fd = path == NULL ? STDOUT_FILENO
			      : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok = fd >= 0;

	while (ok && n > 0) {
		ssize_t w = write(fd, p, n);
		ok = w > 0;
		if (ok)
			p += w, n -= (size_t)w;
	}
	if (path != NULL && fd >= 0)
		ok = close(fd) == 0 && ok;
	return ok;
}

int cmd_kbs_fetch(int argc, char **argv)
{
	fetch_args a = {0};
	uint8_t *value = NULL;
	size_t len = 0;
	int rc;

	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--url") == 0 && v != NULL)
			a.url = v, i++;
		else if (strcmp(argv[i], "--sim") == 0 && v != NULL)
			a.sim = v, i++;
		else if (strcmp(argv[i], "--ca") == 0 && v != NULL)
			a.ca = v, i++;
		else if (strcmp(argv[i], "--out") == 0 && v != NULL)
			a.out = v, i++;
		else if (strcmp(argv[i], "--init-data") == 0 && v != NULL && a.init_data == NULL)
			a.init_data = v, i++;
		else if (strcmp(argv[i], "--workload") == 0 && v != NULL &&
			 a.nworkloads < FETCH_WORKLOADS_MAX)
			a.workloads[a.nworkloads++] = v, i++;
		else if (argv[i][0] != '-' && a.path == NULL)
			a.path = argv[i];
		else {
			fprintf(stderr, "veil kbs fetch: unexpected argument %s\n", argv[i]);
			return CLI_EXIT_USAGE;
		}
	}
	if (a.url == NULL || a.sim == NULL || a.path == NULL) {
		fprintf(stderr, "usage: veil kbs fetch --url URL --sim DIR [--workload FILE]... "
				"[--init-data FILE] [--ca FILE] [--out FILE] PATH\n");
		return CLI_EXIT_USAGE;
	}
	/* Unreadable init-data is bad input (exit 2), found before any
	 * exchange with the broker. */
	if (a.init_data != NULL && init_data_read(a.init_data, &a.init, a.host_data) != VEIL_OK) {
		fprintf(stderr, "veil kbs fetch: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	if (fetch(&a, &value, &len) != VEIL_OK) {
		fprintf(stderr, "veil kbs fetch: %s\n", veil_err_detail());
		json_decref(a.init);
		return CLI_EXIT_FAILED;
	}
	json_decref(a.init);
	rc = write_out(a.out, value, len) ? CLI_EXIT_OK : CLI_EXIT_FAILED;
	if (rc != CLI_EXIT_OK)
		fprintf(stderr, "veil kbs fetch: cannot write %s\n",
			a.out != NULL ? a.out : "stdout");
	veil_free_secret(value, len);
	return rc;
}

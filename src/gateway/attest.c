/*
 * attest.c - judging a worker's evidence for admission and re-attestation
 * (docs/gateway.md "Admission"), and the log entries that record it.
 *
 * A bundle is admitted when, in this order:
 *   1. it verifies (signatures, certificate chains, the binding of the
 *      GPU reports and of runtime_data to the CPU report: libveil's
 *      veil_bundle_verify_json, on the very document read below);
 *   2. its runtime data answers this gateway's nonce, so it is fresh and
 *      made for this challenge, not replayed;
 *   3. the runtime data carries a worker description the gateway can
 *      route by: id, model, model digest, OHTTP keys, receipt key;
 *   4. the appraisal under the admission policy is "affirming" (a
 *      warning is a refusal too: admission fails closed).
 * The runtime data is trustworthy only because the CPU report binds it,
 * so everything routing uses (the receipt key, the OHTTP key ids) is read
 * from it and from nowhere else.
 *
 * Runs on the admin thread only: the verifier's caches are not
 * thread-safe, and verification may take milliseconds that no HTTP loop
 * should wait for.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway_internal.h"
#include "veil/bundle.h"
#include "veil/client.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/http_client.h"
#include "veil/json.h"
#include "veil/ohttp.h"
#include "veil/timeutil.h"

void gw_attested_clear(gw_attested *a)
{
	veil_jwk_free(a->receipt_key);
	free(a->ohttp_keys);
	free(a->bundle);
	memset(a, 0, sizeof *a);
}

/* Step 3: the worker description in runtime_data (docs/worker.md
 * "Evidence"). */
static veil_err read_worker(const json_t *rd, gw_attested *out)
{
	json_t *wk, *pub = json_object_get(rd, "tee-pubkey");
	const char *id, *model, *digest, *keys, *engine;
	veil_ohttp_keyconfig cfg[GW_KEYS_MAX];
	size_t cap, count = 0;
	uint8_t scratch[32];
	size_t n;

	TRY(veil_json_get_object(rd, "veil-worker", &wk));
	TRY(veil_json_get_string(wk, "id", &id));
	TRY(veil_json_get_string(wk, "model", &model));
	TRY(veil_json_get_string(wk, "model-sha256", &digest));
	TRY(veil_json_get_string(wk, "ohttp-keys", &keys));
	TRY(veil_json_get_string(wk, "engine", &engine));
	ENSURE(veil_worker_name_ok(id, GW_ID_MAX), VEIL_E_MALFORMED,
	       "veil-worker.id must be 1 to %d characters of [A-Za-z0-9._:/-]", GW_ID_MAX);
	ENSURE(veil_worker_name_ok(model, GW_MODEL_MAX), VEIL_E_MALFORMED,
	       "veil-worker.model must be 1 to %d characters of [A-Za-z0-9._:/-]", GW_MODEL_MAX);
	ENSURE(strlen(digest) == 64 &&
		   veil_hex_decode(digest, 64, scratch, sizeof scratch, &n) == VEIL_OK,
	       VEIL_E_MALFORMED, "veil-worker.model-sha256 must be 64 hex digits");
	ENSURE(strlen(engine) < sizeof out->engine, VEIL_E_MALFORMED,
	       "veil-worker.engine is too long");
	snprintf(out->id, sizeof out->id, "%s", id);
	snprintf(out->model, sizeof out->model, "%s", model);
	snprintf(out->model_sha256, sizeof out->model_sha256, "%s", digest);
	snprintf(out->engine, sizeof out->engine, "%s", engine);
	/* The receipt key: an EC P-256 public key (receipts are ES256). */
	ENSURE(pub != NULL, VEIL_E_MALFORMED, "runtime_data has no tee-pubkey (receipt key)");
	TRY(veil_jwk_parse_public(pub, &out->receipt_key));
	ENSURE(veil_jwk_type_of(out->receipt_key) == VEIL_JWK_EC_P256 &&
		   !veil_jwk_is_private(out->receipt_key),
	       VEIL_E_MALFORMED, "tee-pubkey must be a public EC P-256 key");
	TRY(veil_jwk_thumbprint_b64(out->receipt_key, out->receipt_kid));
	/* The OHTTP keys, which route encrypted requests by key id. */
	cap = veil_base64_decoded_max(strlen(keys));
	ENSURE(cap <= 4096, VEIL_E_LIMIT, "veil-worker.ohttp-keys is over 4096 bytes");
	out->ohttp_keys = malloc(cap > 0 ? cap : 1);
	ENSURE(out->ohttp_keys != NULL, VEIL_E_NOMEM, "out of memory");
	TRY(veil_base64_decode(keys, strlen(keys), out->ohttp_keys, cap, &out->ohttp_keys_len));
	TRY(veil_ohttp_keys_parse(out->ohttp_keys, out->ohttp_keys_len, cfg, GW_KEYS_MAX, &count));
	for (size_t i = 0; i < count; i++)
		out->key_ids[i] = cfg[i].key_id;
	out->key_count = count;
	return VEIL_OK;
}

veil_err gw_attest(veil_gateway *g, const uint8_t *bundle, size_t len, const uint8_t nonce[32],
		   gw_attested *out, const char **code)
{
	const uint8_t(*roots)[32] = NULL;
	char want[65], why[400];
	const char *got, *tee;
	json_t *doc = NULL, *result = NULL, *ear = NULL, *rd;
	veil_err err;

	memset(out, 0, sizeof *out);
	*code = "verify";
	ENSURE(len <= VEIL_GW_EVIDENCE_MAX, VEIL_E_LIMIT, "the evidence is over %d bytes",
	       VEIL_GW_EVIDENCE_MAX);
	err = veil_json_parse(bundle, len, &doc);
	if (err != VEIL_OK)
		return veil_fail_context(err, "the evidence is not a bundle");
	{
		size_t nroots = veil_policy_sim_roots(g->config.policy, &roots);
		veil_verify_ctx ctx = {.at = veil_time_now(),
				       .collateral = g->config.collateral,
				       .verifier = g->verifier,
				       .revocation =
					   veil_policy_verify_revocation(g->config.policy),
				       .sim_roots = roots,
				       .sim_root_count = nroots};
		err = veil_bundle_verify_json(doc, &ctx, &result);
		if (err == VEIL_OK)
			err = veil_appraise(g->config.policy, g->config.refvals, result, ctx.at,
					    &ear);
	}
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "the evidence does not verify");
		goto out;
	}
	if (!json_is_true(json_object_get(result, "verified"))) {
		veil_result_failed_checks(result, why, sizeof why);
		err = veil_fail(VEIL_E_VERIFY, "the evidence does not verify: failed %s", why);
		goto out;
	}
	/* Step 2: fresh, for this challenge. */
	*code = "nonce";
	rd = json_object_get(doc, "runtime_data");
	veil_hex_encode(nonce, 32, want);
	got = json_string_value(json_object_get(rd, "nonce"));
	if (got == NULL || strcmp(got, want) != 0) {
		err = veil_fail(VEIL_E_VERIFY,
				"the evidence answers another nonce (replayed or made for another "
				"challenge)");
		goto out;
	}
	*code = "runtime_data";
	err = read_worker(rd, out);
	if (err != VEIL_OK) {
		err = veil_fail_context(VEIL_E_VERIFY, "the runtime data");
		goto out;
	}
	/* Step 4: the admission policy. */
	*code = "policy";
	snprintf(out->ear_status, sizeof out->ear_status, "%s", veil_ear_status(ear));
	if (strcmp(out->ear_status, "affirming") != 0) {
		veil_ear_summary(ear, why, sizeof why);
		err = veil_fail(VEIL_E_VERIFY, "the admission policy is not satisfied: %s", why);
		goto out;
	}
	/* The CPU TEE names the platform ("bundle" is the composite). */
	tee = json_string_value(
	    json_object_get(json_object_get(json_object_get(result, "submods"), "cpu"), "tee"));
	snprintf(out->tee, sizeof out->tee, "%s", tee != NULL ? tee : "?");
	out->bundle = malloc(len > 0 ? len : 1);
	err = out->bundle != NULL ? VEIL_OK : veil_fail(VEIL_E_NOMEM, "out of memory");
	if (err == VEIL_OK) {
		memcpy(out->bundle, bundle, len);
		out->bundle_len = len;
		err = veil_sha256(bundle, len, out->bundle_sha256);
	}
	*code = NULL;
out:
	if (err != VEIL_OK)
		gw_attested_clear(out);
	json_decref(doc);
	json_decref(result);
	json_decref(ear);
	return err;
}

bool gw_attested_same(const gw_attested *a, const gw_attested *b, const char **what)
{
	*what = strcmp(a->id, b->id) != 0                       ? "worker id"
		: strcmp(a->model, b->model) != 0               ? "model"
		: strcmp(a->model_sha256, b->model_sha256) != 0 ? "model digest"
		: strcmp(a->receipt_kid, b->receipt_kid) != 0   ? "receipt key"
		: a->ohttp_keys_len != b->ohttp_keys_len ||
			memcmp(a->ohttp_keys, b->ohttp_keys, a->ohttp_keys_len) != 0
		    ? "OHTTP keys"
		    : NULL;
	return *what == NULL;
}

veil_err gw_attest_pull(veil_gateway *g, const char *url, gw_attested *out, const char **code)
{
	uint8_t nonce[32];
	char hex[65], full[VEIL_GW_URL_MAX + 96];
	veil_http_client_response resp;
	veil_http_client_request req = {.url = full,
					.timeout_ms = 10000,
					.connect_timeout_ms = 3000,
					.max_body = VEIL_GW_EVIDENCE_MAX,
					.no_proxy = true};
	veil_err err;

	memset(out, 0, sizeof *out);
	*code = "url";
	ENSURE(RAND_bytes(nonce, sizeof nonce) == 1, VEIL_E_CRYPTO, "no random bytes");
	veil_hex_encode(nonce, sizeof nonce, hex);
	snprintf(full, sizeof full, "%s/v1/attestation?nonce=%s", url, hex);
	err = veil_http_client_fetch(&req, &resp);
	if (err == VEIL_OK && resp.status != 200)
		err = veil_fail(VEIL_E_IO, "GET /v1/attestation answered %ld", resp.status);
	if (err == VEIL_OK)
		err = gw_attest(g, resp.body.data, resp.body.len, nonce, out, code);
	else
		err = veil_fail_context(err, "fresh evidence");
	veil_http_client_response_clear(&resp);
	return err;
}

veil_err gw_log_worker(veil_gateway *g, const char *kind, const gw_worker *w,
		       const gw_attested *att, const char *reason, uint64_t *index)
{
	json_t *e, *ids;
	char *text, *b64 = NULL, sha[65];
	veil_err err;

	e = json_pack("{s:i, s:s, s:s, s:s, s:I, s:b}", "v", 1, "kind", kind, "worker", w->id,
		      "url", w->url, "time", (json_int_t)gw_now_ms(), "confidential",
		      w->confidential);
	ENSURE(e != NULL, VEIL_E_NOMEM, "out of memory");
	if (reason != NULL)
		json_object_set_new(e, "reason", json_string(reason));
	if (att != NULL && att->bundle != NULL) {
		ids = json_array();
		for (size_t i = 0; ids != NULL && i < att->key_count; i++)
			json_array_append_new(ids, json_integer(att->key_ids[i]));
		b64 = malloc(veil_base64_encoded_len(att->bundle_len) + 1);
		if (b64 != NULL)
			veil_base64_encode(att->bundle, att->bundle_len, b64);
		veil_hex_encode(att->bundle_sha256, 32, sha);
		json_object_set_new(e, "attested",
				    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s?}",
					      "tee", att->tee, "model", att->model, "model_sha256",
					      att->model_sha256, "engine", att->engine,
					      "receipt_kid", att->receipt_kid, "ohttp_key_ids", ids,
					      "ear_status", att->ear_status, "evidence_sha256", sha,
					      "evidence", b64));
		json_object_set_new(e, "policy", json_string(veil_policy_id(g->config.policy)));
	}
	text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(e);
	free(b64);
	ENSURE(text != NULL, VEIL_E_NOMEM, "out of memory");
	err = veil_tlog_append(g->log, (const uint8_t *)text, strlen(text), index);
	free(text);
	return err;
}

veil_err gw_url_parse(const char *url, char *host, size_t hostlen, uint16_t *port, bool *tls)
{
	const char *h, *end, *colon;
	size_t n;
	long p = 0;

	ENSURE(strlen(url) < VEIL_GW_URL_MAX, VEIL_E_USAGE, "the URL is over %d bytes",
	       VEIL_GW_URL_MAX - 1);
	if (strncmp(url, "http://", 7) == 0) {
		*tls = false;
		h = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		*tls = true;
		h = url + 8;
	} else {
		return veil_fail(VEIL_E_USAGE, "the URL must start with http:// or https://");
	}
	end = h + strcspn(h, "/?#");
	ENSURE(*end == '\0' || (end[0] == '/' && end[1] == '\0'), VEIL_E_USAGE,
	       "the URL must be scheme, host and port only, without a path or query");
	ENSURE(memchr(h, '@', (size_t)(end - h)) == NULL, VEIL_E_USAGE,
	       "the URL must not carry user information");
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));
		ENSURE(close != NULL, VEIL_E_USAGE, "an IPv6 host needs its closing ']'");
		n = (size_t)(close - h - 1);
		ENSURE(n > 0 && n < hostlen, VEIL_E_USAGE, "a bad IPv6 host");
		memcpy(host, h + 1, n);
		colon = close + 1;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		n = (size_t)((colon != NULL ? colon : end) - h);
		ENSURE(n > 0 && n < hostlen, VEIL_E_USAGE,
		       "the URL has no host (or too long a one)");
		memcpy(host, h, n);
		if (colon == NULL)
			colon = end;
	}
	host[n] = '\0';
	for (const char *c = host; *c != '\0'; c++)
		ENSURE((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			   (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == ':',
		       VEIL_E_USAGE, "the URL's host has a character a host name cannot have");
	if (colon < end && *colon == ':') {
		const char *d = colon + 1;
		ENSURE(d < end && end - d <= 5, VEIL_E_USAGE, "a bad port in the URL");
		for (; d < end; d++) {
			ENSURE(*d >= '0' && *d <= '9', VEIL_E_USAGE, "a bad port in the URL");
			p = p * 10 + (*d - '0');
		}
		ENSURE(p >= 1 && p <= 65535, VEIL_E_USAGE, "the URL's port is out of range");
	} else {
		ENSURE(colon == end, VEIL_E_USAGE, "a bad host in the URL");
		p = *tls ? 443 : 80;
	}
	*port = (uint16_t)p;
	return VEIL_OK;
}

veil_err gw_resolve(const char *host, char *addr, size_t len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	struct sockaddr_storage ss;
	const void *a;
	int rc = getaddrinfo(host, NULL, &hints, &res);

	ENSURE(rc == 0 && res != NULL, VEIL_E_IO, "cannot resolve %.200s: %s", host,
	       gai_strerror(rc));
	/* Copied out: ai_addr is a struct sockaddr, whose alignment does not
	 * promise that of sockaddr_in6 (clang's -Wcast-align). */
	memset(&ss, 0, sizeof ss);
	memcpy(&ss, res->ai_addr,
	       res->ai_addrlen < sizeof ss ? (size_t)res->ai_addrlen : sizeof ss);
	a = ss.ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)&ss)->sin6_addr
				     : (const void *)&((const struct sockaddr_in *)&ss)->sin_addr;
	rc = inet_ntop(ss.ss_family, a, addr, (socklen_t)len) != NULL;
	freeaddrinfo(res);
	ENSURE(rc, VEIL_E_IO, "cannot print the address of %.200s", host);
	return VEIL_OK;
}

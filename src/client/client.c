/*
 * client.c - the client's cache of verified workers (docs/client.md "The
 * client"): which worker a request goes to, and why it may.
 *
 * The gateway routes an OHTTP request by the key id in its header (RFC
 * 9458 section 4.3), so the client, not the gateway, chooses the worker:
 * the one whose attested key it encrypts to. Before the first request to
 * a model, the client lists the gateway's admitted workers and verifies
 * each one itself:
 *   - fresh mode: the worker's evidence for a nonce of the client's own,
 *     relayed by the gateway (which cannot forge it), and the worker's
 *     published bundle, which its receipts name by digest; both must be
 *     accepted by the policy and bind the same keys;
 *   - logged mode: the bundle the gateway logged at the worker's log index,
 *     with an inclusion proof under a tree head the policy's log key
 *     signed (no round trip to the worker; freshness is the evidence's
 *     own age, which the appraisal policy bounds).
 * Workers that pass are cached for reverify_seconds and used in turn; the
 * list is read again when the cache holds none for the model.
 *
 * One lock guards the cache; verification runs outside it, serialised by
 * a second lock so that concurrent first requests verify once.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/secret.h"
#include "veil/timeutil.h"

#define LIST_MAX_BYTES     (16u << 20) /* the attestation list holds every bundle */
#define EVIDENCE_MAX_BYTES (4u << 20)
#define VERIFY_MAX         8 /* candidates verified on one cache miss */

/* One exchange with the gateway under the client's settings; on_data
 * (may be NULL) takes the body as it arrives. */
static veil_err fetch(veil_client *c, const char *method, const char *path,
		      const char *const *extra, const void *body, size_t len,
		      const char *const *want, size_t max_body,
		      bool (*on_data)(void *user, long status, const uint8_t *p, size_t n),
		      void *user, veil_http_client_response *resp)
{
	char url[CLIENT_URL_MAX + 512];
	const char *headers[12];
	size_t n = 0;

	ENSURE(strlen(path) < 512 && path[0] == '/', VEIL_E_USAGE, "bad path");
	snprintf(url, sizeof url, "%s%s", c->gateway, path);
	if (c->auth[0] != '\0')
		headers[n++] = c->auth;
	for (; extra != NULL && *extra != NULL && n < 11; extra++)
		headers[n++] = *extra;
	headers[n] = NULL;
	veil_http_client_request req = {.method = method,
					.url = url,
					.headers = headers,
					.body = body,
					.body_len = len,
					.want_headers = want,
					.ca_file = c->cfg.ca_file,
					.timeout_ms = c->cfg.timeout_ms,
					.connect_timeout_ms = 5000,
					.max_body = max_body,
					.on_data = on_data,
					.on_data_user = user};
	return veil_http_client_fetch(&req, resp);
}

veil_err client_fetch(veil_client *c, const char *method, const char *path,
		      const char *const *extra, const void *body, size_t len,
		      const char *const *want, size_t max_body, veil_http_client_response *resp)
{
	return fetch(c, method, path, extra, body, len, want, max_body, NULL, NULL, resp);
}

veil_err client_fetch_stream(veil_client *c, const char *method, const char *path,
			     const char *const *extra, const void *body, size_t len,
			     size_t max_body,
			     bool (*on_data)(void *user, long status, const uint8_t *p, size_t n),
			     void *user, veil_http_client_response *resp)
{
	return fetch(c, method, path, extra, body, len, NULL, max_body, on_data, user, resp);
}

veil_err veil_client_new(const veil_client_config *cfg, veil_client **out)
{
	veil_client *c;
	size_t n;

	*out = NULL;
	ENSURE(cfg != NULL && cfg->gateway != NULL && cfg->policy != NULL, VEIL_E_USAGE,
	       "a client needs a gateway URL and a policy");
	n = strlen(cfg->gateway);
	while (n > 0 && cfg->gateway[n - 1] == '/')
		n--;
	ENSURE(n > 0 && n < CLIENT_URL_MAX, VEIL_E_USAGE, "the gateway URL is empty or too long");
	ENSURE(strncmp(cfg->gateway, "http://", 7) == 0 ||
		   strncmp(cfg->gateway, "https://", 8) == 0,
	       VEIL_E_USAGE, "the gateway URL must begin with http:// or https://");
	ENSURE(!cfg->logged || veil_client_policy_log_key(cfg->policy) != NULL, VEIL_E_USAGE,
	       "logged mode needs the gateway's log key in the policy (log_key)");
	ENSURE(cfg->api_key == NULL || strlen(cfg->api_key) < 512, VEIL_E_USAGE,
	       "the API key is too long");
	if (cfg->api_key != NULL)
		for (const char *p = cfg->api_key; *p != '\0'; p++)
			ENSURE(*p > ' ' && *p < 0x7f, VEIL_E_USAGE,
			       "the API key has a character that cannot go in a header");
	c = calloc(1, sizeof *c);
	ENSURE(c != NULL, VEIL_E_NOMEM, "out of memory");
	c->cfg = *cfg;
	if (c->cfg.timeout_ms <= 0)
		c->cfg.timeout_ms = CLIENT_TIMEOUT_MS;
	memcpy(c->gateway, cfg->gateway, n);
	c->gateway[n] = '\0';
	c->cfg.gateway = c->gateway;
	if (cfg->api_key != NULL && cfg->api_key[0] != '\0')
		snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", cfg->api_key);
	c->cfg.api_key = NULL; /* kept only in the header line */
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->verify_mu, NULL);
	*out = c;
	return VEIL_OK;
}

static void entry_free(client_entry *e)
{
	if (e == NULL)
		return;
	veil_client_worker_clear(&e->w);
	free(e);
}

void veil_client_free(veil_client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->cache_count; i++)
		entry_free(c->cache[i]);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->verify_mu);
	veil_wipe(c->auth, sizeof c->auth);
	free(c);
}

static bool usable(const veil_client *c, const client_entry *e, const char *model, int64_t now)
{
	return !e->forgotten &&
	       now - e->w.verified_at < veil_client_policy_reverify_s(c->cfg.policy) &&
	       (model == NULL || strcmp(e->w.model, model) == 0);
}

/* A usable cached worker, in turn; with c->mu held. */
static client_entry *cached(veil_client *c, const char *model, int64_t now)
{
	for (size_t k = 0; k < c->cache_count; k++) {
		client_entry *e = c->cache[(c->next + k) % c->cache_count];
		if (usable(c, e, model, now)) {
			c->next = (c->next + k + 1) % c->cache_count;
			e->refs++;
			return e;
		}
	}
	return NULL;
}

/* Drops entries no exchange holds that are forgotten or aged out; with
 * c->mu held. */
static void sweep(veil_client *c, int64_t now)
{
	size_t j = 0;

	for (size_t i = 0; i < c->cache_count; i++) {
		client_entry *e = c->cache[i];
		if (e->refs == 0 && !usable(c, e, NULL, now))
			entry_free(e);
		else
			c->cache[j++] = e;
	}
	c->cache_count = j;
	if (c->next >= j)
		c->next = 0;
}

static bool in_cache(veil_client *c, const char *id, int64_t now)
{
	bool found = false;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->cache_count && !found; i++)
		found = strcmp(c->cache[i]->w.id, id) == 0 && usable(c, c->cache[i], NULL, now);
	pthread_mutex_unlock(&c->mu);
	return found;
}

/* GET a bundle from the relay; VEIL_CHECK_FETCH on failure. */
static veil_err fetch_bundle(veil_client *c, const char *id, const char *nonce_hex,
			     veil_http_client_response *resp)
{
	char path[256];
	veil_err err;

	if (nonce_hex != NULL)
		snprintf(path, sizeof path, "/v1/attestation?worker=%s&nonce=%s", id, nonce_hex);
	else
		snprintf(path, sizeof path, "/v1/attestation?worker=%s", id);
	err = client_fetch(c, "GET", path, NULL, NULL, 0, NULL, EVIDENCE_MAX_BYTES, resp);
	if (err == VEIL_OK && resp->status != 200)
		err = veil_fail(VEIL_E_IO, "the gateway answered %ld for worker %s's %s evidence",
				resp->status, id, nonce_hex != NULL ? "fresh" : "published");
	return err;
}

/* Fresh mode: a fresh bundle for our nonce, judged in full, and the
 * published bundle (which receipts name), genuine and binding the same
 * keys. The published bundle was made at the worker's start, so it is
 * not appraised again: its age would fail any max_age_seconds, and what
 * the policy asks of the worker the fresh bundle has just shown. */
static veil_err verify_fresh(veil_client *c, const char *id, veil_client_worker *out,
			     veil_client_check *check)
{
	uint8_t nonce[32];
	char hex[65];
	const char *what;
	veil_http_client_response pub = {0}, fresh = {0};
	veil_client_worker fw = {0};
	veil_err err;

	*check = VEIL_CHECK_FETCH;
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		return veil_fail(VEIL_E_CRYPTO, "no random bytes for a nonce");
	veil_hex_encode(nonce, sizeof nonce, hex);
	err = fetch_bundle(c, id, hex, &fresh);
	if (err == VEIL_OK)
		err = veil_client_judge(c->cfg.policy, fresh.body.data, fresh.body.len, nonce,
					sizeof nonce, veil_time_now(), &fw, check);
	if (err != VEIL_OK)
		goto out;
	*check = VEIL_CHECK_FETCH;
	err = fetch_bundle(c, id, NULL, &pub);
	if (err == VEIL_OK)
		err = veil_client_judge_genuine(c->cfg.policy, pub.body.data, pub.body.len,
						veil_time_now(), out, check);
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "the published bundle");
		goto out;
	}
	if (!veil_client_worker_same(out, &fw, &what) || strcmp(out->id, id) != 0 ||
	    strcmp(out->engine, fw.engine) != 0 || strcmp(out->tee, fw.tee) != 0) {
		*check = VEIL_CHECK_SAME;
		err = veil_fail(VEIL_E_VERIFY,
				"the published and the fresh evidence differ in %s (or name "
				"another worker than %s)",
				what != NULL ? what : "engine or TEE", id);
		veil_client_worker_clear(out);
		goto out;
	}
	/* The appraisal is the fresh evidence's. */
	out->ear = fw.ear;
	fw.ear = NULL;
	memcpy(out->ear_status, fw.ear_status, sizeof out->ear_status);
	out->verified_at = fw.verified_at;
out:
	veil_client_worker_clear(&fw);
	veil_http_client_response_clear(&pub);
	veil_http_client_response_clear(&fresh);
	return err;
}

/* Logged mode: the logged bundle at log_index, proven in the log. */
static veil_err verify_logged(veil_client *c, const char *id, int64_t log_index,
			      veil_client_worker *out, veil_client_check *check)
{
	veil_tlog_sth sth;
	uint8_t *leaf = NULL, *bundle = NULL;
	size_t leaf_len = 0, bundle_len = 0;
	char kind[32], worker[VEIL_CLIENT_ID_MAX + 1];
	veil_err err;

	*check = VEIL_CHECK_LOG;
	ENSURE(log_index >= 0, VEIL_E_MALFORMED, "the gateway lists worker %s without a log index",
	       id);
	err = veil_client_log_sth(c, &sth, NULL);
	if (err == VEIL_OK)
		err = veil_client_log_entry(c, &sth, (uint64_t)log_index, &leaf, &leaf_len);
	if (err == VEIL_OK)
		err = veil_client_log_evidence(leaf, leaf_len, kind, sizeof kind, worker,
					       sizeof worker, &bundle, &bundle_len);
	if (err == VEIL_OK && strcmp(worker, id) != 0)
		err = veil_fail(VEIL_E_VERIFY, "log entry %lld is worker %s's, not %s",
				(long long)log_index, worker, id);
	if (err == VEIL_OK) {
		err = veil_client_judge(c->cfg.policy, bundle, bundle_len, NULL, 0, veil_time_now(),
					out, check);
		if (err == VEIL_OK && strcmp(out->id, id) != 0) {
			*check = VEIL_CHECK_SAME;
			err = veil_fail(VEIL_E_VERIFY,
					"the logged evidence names worker %s, not %s", out->id, id);
			veil_client_worker_clear(out);
		}
		if (err == VEIL_OK)
			out->log_index = log_index;
	}
	free(leaf);
	free(bundle);
	return err;
}

/* Verifies worker id and caches it. */
static veil_err verify_one(veil_client *c, const char *id, int64_t log_index,
			   veil_client_check *check)
{
	client_entry *e = calloc(1, sizeof *e);
	veil_err err;

	ENSURE(e != NULL, VEIL_E_NOMEM, "out of memory");
	err = c->cfg.logged ? verify_logged(c, id, log_index, &e->w, check)
			    : verify_fresh(c, id, &e->w, check);
	if (err != VEIL_OK) {
		free(e);
		return err;
	}
	pthread_mutex_lock(&c->mu);
	sweep(c, veil_time_now());
	if (c->cache_count == CLIENT_CACHE_MAX) {
		pthread_mutex_unlock(&c->mu);
		entry_free(e);
		*check = VEIL_CHECK_UNAVAILABLE;
		return veil_fail(VEIL_E_LIMIT, "%d verified workers are in use at once",
				 CLIENT_CACHE_MAX);
	}
	c->cache[c->cache_count++] = e;
	pthread_mutex_unlock(&c->mu);
	return VEIL_OK;
}

/* Reads the gateway's list and verifies the workers of `model` not yet
 * cached (up to VERIFY_MAX). *verified counts those that passed; the
 * detail of a failure names each worker and its check. */
static veil_err refresh(veil_client *c, const char *model, size_t *verified,
			veil_client_check *check)
{
	veil_http_client_response resp = {0};
	json_t *doc = NULL, *data;
	char why[VEIL_ERR_DETAIL_MAX] = "";
	size_t tried = 0, listed = 0;
	veil_err err;

	*verified = 0;
	*check = VEIL_CHECK_FETCH;
	err = client_fetch(c, "GET", "/v1/attestation", NULL, NULL, 0, NULL, LIST_MAX_BYTES, &resp);
	if (err == VEIL_OK && resp.status != 200)
		err = veil_fail(VEIL_E_IO, "GET /v1/attestation answered %ld", resp.status);
	if (err == VEIL_OK)
		err = veil_json_parse_max(resp.body.data, resp.body.len, LIST_MAX_BYTES, &doc);
	veil_http_client_response_clear(&resp);
	if (err != VEIL_OK)
		return veil_fail_context(err, "the gateway's attestation list");
	data = json_object_get(doc, "data");
	if (!json_is_array(data)) {
		json_decref(doc);
		return veil_fail(VEIL_E_MALFORMED, "the gateway's attestation list has no data");
	}
	for (size_t i = 0; i < json_array_size(data) && tried < VERIFY_MAX; i++) {
		json_t *d = json_array_get(data, i);
		const char *id = json_string_value(json_object_get(d, "worker"));
		const char *m = json_string_value(json_object_get(d, "model"));
		json_t *li = json_object_get(d, "log_index");
		veil_client_check ch = VEIL_CHECK_NONE;
		size_t used;

		if (id == NULL || m == NULL || !veil_worker_name_ok(id, VEIL_CLIENT_ID_MAX))
			continue; /* not a worker a client could name: never ours */
		if (model != NULL && strcmp(m, model) != 0)
			continue; /* with no model named, the judge checks the policy's models */
		listed++;
		if (in_cache(c, id, veil_time_now())) {
			(*verified)++;
			continue;
		}
		tried++;
		if (verify_one(c, id, json_is_integer(li) ? (int64_t)json_integer_value(li) : -1,
			       &ch) == VEIL_OK) {
			(*verified)++;
			continue;
		}
		*check = ch;
		used = strlen(why);
		snprintf(why + used, sizeof why - used, "%s%s: %s (%s)", used > 0 ? "; " : "", id,
			 veil_client_check_name(ch), veil_err_detail());
	}
	json_decref(doc);
	if (*verified > 0)
		return VEIL_OK;
	if (listed == 0) {
		*check = VEIL_CHECK_UNAVAILABLE;
		return veil_fail(VEIL_E_NOT_FOUND, "the gateway lists no attested worker for %s%s",
				 model != NULL ? "model " : "",
				 model != NULL ? model : "any model");
	}
	return veil_fail(VEIL_E_NOT_FOUND, "no worker satisfies the policy: %s", why);
}

veil_err veil_client_pick(veil_client *c, const char *model, const veil_client_worker **out,
			  veil_client_check *check)
{
	client_entry *e;
	size_t verified;
	veil_err err;

	*out = NULL;
	*check = VEIL_CHECK_NONE;
	pthread_mutex_lock(&c->mu);
	e = cached(c, model, veil_time_now());
	pthread_mutex_unlock(&c->mu);
	if (e != NULL) {
		*out = &e->w;
		return VEIL_OK;
	}
	pthread_mutex_lock(&c->verify_mu);
	pthread_mutex_lock(&c->mu);
	e = cached(c, model, veil_time_now()); /* another thread may have verified */
	pthread_mutex_unlock(&c->mu);
	if (e == NULL) {
		err = refresh(c, model, &verified, check);
		if (err == VEIL_OK) {
			pthread_mutex_lock(&c->mu);
			e = cached(c, model, veil_time_now());
			pthread_mutex_unlock(&c->mu);
			if (e == NULL) {
				*check = VEIL_CHECK_UNAVAILABLE;
				err = veil_fail(VEIL_E_NOT_FOUND,
						"the verified workers aged out at once (a "
						"reverify_seconds shorter than verification?)");
			}
		}
	} else {
		err = VEIL_OK;
	}
	pthread_mutex_unlock(&c->verify_mu);
	if (err != VEIL_OK)
		return err;
	*check = VEIL_CHECK_NONE;
	*out = &e->w;
	return VEIL_OK;
}

void veil_client_release(veil_client *c, const veil_client_worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->cache_count; i++)
		if (&c->cache[i]->w == w && c->cache[i]->refs > 0)
			c->cache[i]->refs--;
	sweep(c, veil_time_now());
	pthread_mutex_unlock(&c->mu);
}

void veil_client_forget(veil_client *c, const char *id)
{
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->cache_count; i++)
		if (strcmp(c->cache[i]->w.id, id) == 0)
			c->cache[i]->forgotten = true;
	sweep(c, veil_time_now());
	pthread_mutex_unlock(&c->mu);
}

veil_err veil_client_get(veil_client *c, const char *path, long *status, veil_writer *body)
{
	veil_http_client_response resp = {0};
	veil_err err;

	*status = 0;
	err = client_fetch(c, "GET", path, NULL, NULL, 0, NULL, body->max, &resp);
	if (err == VEIL_OK) {
		*status = resp.status;
		err = veil_writer_put(body, resp.body.data, resp.body.len);
	}
	veil_http_client_response_clear(&resp);
	return err;
}

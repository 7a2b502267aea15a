/*
 * worker.c - veil-worker's start-up (include/veil/worker.h, docs/worker.md
 * "Start-up"): every step fails closed, and veil_worker_new either returns
 * a worker ready to serve or nothing, with the step that failed named.
 *
 * The order matters. Keys come first because the evidence binds them; the
 * platform check comes before the broker is asked, so a VM with a GPU out
 * of CC mode never even receives the key; the model key is wiped as soon as
 * the model is open; the published bundle is made last, over the final
 * keys and the digest of the model actually loaded.
 */
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "worker/worker_internal.h"

double wk_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wk_log(veil_worker *w, const char *event, json_t *fields)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	char *line;

	if (fields == NULL)
		return;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json_object_set_new(fields, "time", json_string(when)) != 0 ||
	    json_object_set_new(fields, "event", json_string(event)) != 0 ||
	    json_object_set_new(fields, "worker", json_string(w->id)) != 0) {
		json_decref(fields);
		return;
	}
	line = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(fields);
	if (line == NULL)
		return;
	if (w->cfg.log != NULL)
		w->cfg.log(w->cfg.log_user, line);
	else
		fprintf(stderr, "%s\n", line);
	free(line);
}

static veil_err random_hex(char *out, size_t bytes)
{
	uint8_t r[32];

	ENSURE(bytes <= sizeof r, VEIL_E_USAGE, "random_hex: too many bytes");
	ENSURE(RAND_bytes(r, (int)bytes) == 1, VEIL_E_CRYPTO, "no random bytes");
	veil_hex_encode(r, bytes, out);
	return VEIL_OK;
}

/* Step 1: the receipt key (ES256) and the OHTTP key configuration. */
static veil_err keys_make(veil_worker *w)
{
	uint8_t key_id;
	veil_writer keys;

	TRY(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &w->receipt_key));
	TRY(veil_jwk_export_public(w->receipt_key, &w->receipt_jwk));
	ENSURE(json_object_set_new(w->receipt_jwk, "alg", json_string("ES256")) == 0 &&
		   json_object_set_new(w->receipt_jwk, "use", json_string("sig")) == 0,
	       VEIL_E_NOMEM, "out of memory");
	TRY(veil_ohttp_server_new(&w->ohttp));
	/* A random key id: a client holding an old worker's configuration
	 * then most likely gets "unknown key id" rather than a decryption
	 * failure. */
	if (w->cfg.ohttp_key_id != 0)
		key_id = (uint8_t)w->cfg.ohttp_key_id;
	else
		ENSURE(RAND_bytes(&key_id, 1) == 1, VEIL_E_CRYPTO, "no random bytes");
	TRY(veil_ohttp_server_generate_key(w->ohttp, key_id));
	veil_writer_init(&keys, VEIL_OHTTP_MESSAGE_MAX);
	if (veil_ohttp_server_keys(w->ohttp, &keys) != VEIL_OK) {
		veil_writer_clear(&keys);
		return VEIL_E_NOMEM;
	}
	w->ohttp_keys = keys.data;
	w->ohttp_keys_len = keys.len;
	return VEIL_OK;
}

/* Step 3: the model key, from the broker (or, on the sim TEE only, a key
 * file), for the resource the sealed header names. */
static veil_err model_key(veil_worker *w, uint8_t key[VEIL_SEAL_KEY_LEN])
{
	const veil_worker_config *c = &w->cfg;
	veil_seal_info info;
	uint8_t *value = NULL;
	size_t len = 0;
	veil_err err;

	if (c->key_file != NULL) {
		ENSURE(strcmp(veil_guest_tee(w->guest), "sim") == 0, VEIL_E_USAGE,
		       "a model key file is for the simulated TEE only; a worker in a real "
		       "TEE gets its key from veil-kbs (--kbs)");
		return veil_seal_key_read(c->key_file, key);
	}
	ENSURE(c->kbs_url != NULL, VEIL_E_USAGE,
	       "no key broker (--kbs URL) to get the model key from");
	TRY(veil_seal_peek(c->model_path, &info));
	const char *resource = c->kbs_resource != NULL ? c->kbs_resource : info.resource;
	ENSURE(resource[0] != '\0', VEIL_E_USAGE,
	       "%s names no KBS resource for its key; give --kbs-resource", c->model_path);
	veil_kbs_fetch_params p = {
	    .url = c->kbs_url,
	    .resource = resource,
	    .ca_file = c->kbs_ca,
	    .deadline_ms = c->kbs_deadline_ms,
	};
	err = veil_guest_kbs_fetch(w->guest, &p, &value, &len);
	if (err != VEIL_OK)
		return veil_fail_context(err, "model key %s from %s", resource, c->kbs_url);
	if (len != VEIL_SEAL_KEY_LEN) {
		veil_free_secret(value, len);
		return veil_fail(VEIL_E_MALFORMED,
				 "the broker's %s is %zu bytes, not a %d-byte model key", resource,
				 len, VEIL_SEAL_KEY_LEN);
	}
	memcpy(key, value, VEIL_SEAL_KEY_LEN);
	veil_free_secret(value, len);
	wk_log(w, "model.key", json_pack("{s:s, s:s}", "resource", resource, "kbs", c->kbs_url));
	return VEIL_OK;
}

/* Step 4: the sealed model into memory, then the engine over it. */
static veil_err model_open(veil_worker *w)
{
	uint8_t key[VEIL_SEAL_KEY_LEN];
	double t0 = wk_clock();
	veil_err err = model_key(w, key);

	if (err == VEIL_OK)
		err = veil_seal_open(w->cfg.model_path, key, 0, 0, NULL, NULL, &w->sealed);
	veil_wipe(key, sizeof key);
	if (err != VEIL_OK)
		return veil_fail_context(err, "model %s", w->cfg.model_path);
	/* veil_seal_open checked the plaintext against this digest. */
	memcpy(w->model_digest, w->sealed.info.digest, sizeof w->model_digest);
	w->model_bytes = w->sealed.info.plaintext_len;
	if (w->cfg.upstream != NULL) {
		/* The upstream engine loads its own weights: the plaintext was
		 * opened only to check the key and the digest, and goes now. */
		veil_sealed_model_clear(&w->sealed);
	} else {
		TRY(veil_gguf_open(w->sealed.data, w->sealed.len, &w->gguf));
		TRY(veil_model_load(w->gguf, &w->model));
		TRY(veil_tokenizer_from_gguf(w->gguf, &w->tok));
		TRY(veil_chat_template_from_gguf(w->gguf, &w->tmpl));
		TRY(veil_tokenizer_eog_ids(w->tok, &w->eog, &w->n_eog));
	}
	char digest[65];
	veil_hex_encode(w->model_digest, 32, digest);
	wk_log(w, "model.open",
	       json_pack("{s:s, s:s, s:I, s:f, s:s}", "model", w->model_name, "sha256", digest,
			 "bytes", (json_int_t)w->model_bytes, "seconds", wk_clock() - t0, "engine",
			 wk_engine_name(w)));
	return VEIL_OK;
}

const char *wk_engine_name(const veil_worker *w)
{
	return w->cfg.upstream != NULL ? "upstream"
	       : w->cfg.bench_reply    ? "bench-reply"
				       : "builtin";
}

/* The runtime data of this worker's evidence: the nonce it answers, its
 * receipt key as "tee-pubkey" (so device evidence binds to it as well),
 * and what a client needs to trust its responses (docs/worker.md,
 * "Evidence"). */
json_t *wk_runtime_data(const veil_worker *w, const char *nonce)
{
	char digest[65], *keys = malloc(veil_base64_encoded_len(w->ohttp_keys_len) + 1);
	json_t *rd;

	if (keys == NULL)
		return NULL;
	veil_base64_encode(w->ohttp_keys, w->ohttp_keys_len, keys);
	veil_hex_encode(w->model_digest, 32, digest);
	rd = json_pack("{s:s, s:O, s:{s:s, s:s, s:s, s:s, s:s, s:I}}", "nonce", nonce, "tee-pubkey",
		       w->receipt_jwk, "veil-worker", "id", w->id, "model", w->model_name,
		       "model-sha256", digest, "ohttp-keys", keys, "engine", wk_engine_name(w),
		       "started", (json_int_t)w->started);
	free(keys);
	return rd;
}

veil_err wk_bundle(veil_worker *w, const char *nonce, uint8_t **out, size_t *len)
{
	json_t *rd = wk_runtime_data(w, nonce);
	veil_err err;

	ENSURE(rd != NULL, VEIL_E_NOMEM, "out of memory");
	err = veil_guest_bundle(w->guest, rd, out, len);
	json_decref(rd);
	return err;
}

/* The file name without folders and extension. */
static void default_name(const char *path, char *out, size_t cap)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strcspn(base, ".");
	if (n == 0)
		n = strlen(base);
	if (n > cap - 1)
		n = cap - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}

/* The failure of a start-up step, named. */
static veil_err step(veil_err err, const char *what)
{
	return err == VEIL_OK ? VEIL_OK : veil_fail_context(err, "%s", what);
}

/* Every default in one place, so the rest of the worker reads w->cfg. */
static void defaults(veil_worker_config *c)
{
	if (c->kbs_deadline_ms <= 0)
		c->kbs_deadline_ms = VEIL_WORKER_KBS_DEADLINE_MS;
	if (c->slots == 0)
		c->slots = VEIL_WORKER_SLOTS_DEFAULT;
	if (c->queue_max == 0)
		c->queue_max = VEIL_WORKER_QUEUE_DEFAULT;
	if (c->max_tokens_cap == 0)
		c->max_tokens_cap = VEIL_WORKER_MAX_TOKENS_CAP;
	if (c->prompt_max == 0)
		c->prompt_max = VEIL_WORKER_PROMPT_TOKENS_MAX;
	if (c->request_timeout_s == 0)
		c->request_timeout_s = VEIL_WORKER_REQUEST_TIMEOUT_S;
	if (c->attest_per_s == 0)
		c->attest_per_s = VEIL_WORKER_ATTEST_PER_S;
}

/* The model name goes into every response and receipt: UTF-8 (RFC 3629)
 * without control characters, 1 to VEIL_RECEIPT_TEXT_MAX bytes. */
static bool name_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (n == 0 || n > VEIL_RECEIPT_TEXT_MAX)
		return false;
	while (*p != '\0') {
		size_t len = *p < 0x80             ? 1
			     : (*p & 0xE0) == 0xC0 ? 2
			     : (*p & 0xF0) == 0xE0 ? 3
			     : (*p & 0xF8) == 0xF0 ? 4
						   : 0;
		if (len == 0 || (len == 1 && (*p < 0x20 || *p == 0x7f)) || (len == 2 && *p < 0xC2))
			return false; /* not a lead byte, a control character, overlong */
		for (size_t i = 1; i < len; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += len;
	}
	return true;
}

static veil_err worker_init(veil_worker *w)
{
	veil_worker_config *c = &w->cfg;
	char nonce[65];

	ENSURE(c->model_path != NULL, VEIL_E_USAGE, "no sealed model (--model FILE)");
	if (c->worker_id != NULL) {
		ENSURE(c->worker_id[0] != '\0' && strlen(c->worker_id) < sizeof w->id &&
			   strspn(c->worker_id,
				  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789-_.") == strlen(c->worker_id),
		       VEIL_E_USAGE, "a worker id is 1 to %zu characters of [A-Za-z0-9._-]",
		       sizeof w->id - 1);
		snprintf(w->id, sizeof w->id, "%s", c->worker_id);
	} else {
		memcpy(w->id, "wk-", 3);
		TRY(random_hex(w->id + 3, 8));
	}
	if (c->model_name != NULL)
		snprintf(w->model_name, sizeof w->model_name, "%s", c->model_name);
	else
		default_name(c->model_path, w->model_name, sizeof w->model_name);
	ENSURE(name_ok(c->model_name != NULL ? c->model_name : w->model_name), VEIL_E_USAGE,
	       "the model name must be 1 to %d bytes of UTF-8 without control characters%s",
	       VEIL_RECEIPT_TEXT_MAX, c->model_name != NULL ? "" : "; give --model-name");
	defaults(c);
	if (c->upstream != NULL)
		TRY(wk_upstream_check(c->upstream));
	ENSURE(!c->bench_reply || c->upstream == NULL, VEIL_E_USAGE,
	       "--bench-reply answers in place of the built-in engine; it does not go with "
	       "--upstream");
	TRY(wk_join_check(c));
	w->rate_at = wk_clock();
	w->rate_tokens = c->attest_per_s;
	w->started = (int64_t)time(NULL);
	w->limits = (oai_limits){
	    .body_max = VEIL_WORKER_BODY_MAX,
	    .messages_max = VEIL_WORKER_MESSAGES_MAX,
	    .max_tokens_cap = c->max_tokens_cap,
	    .max_tokens_default = VEIL_WORKER_MAX_TOKENS_DEFAULT,
	};
	if (w->limits.max_tokens_default > w->limits.max_tokens_cap)
		w->limits.max_tokens_default = w->limits.max_tokens_cap;

	TRY(step(keys_make(w), "keys"));
	TRY(step(veil_guest_open(&c->guest, &w->guest), "platform"));
	TRY(step(veil_guest_check(w->guest), "platform check"));
	wk_log(w, "platform.ok", json_pack("{s:s}", "tee", veil_guest_tee(w->guest)));
	TRY(model_open(w));
	TRY(random_hex(nonce, 32));
	TRY(step(wk_bundle(w, nonce, &w->bundle, &w->bundle_len), "evidence"));
	TRY(veil_sha256(w->bundle, w->bundle_len, w->bundle_digest));
	if (c->upstream == NULL)
		TRY(wk_sched_new(w, &w->sched));
	if (c->bench_reply)
		/* docs/worker.md "Benchmark mode": loud, since it answers
		 * without the model; the evidence says so too. */
		wk_log(w, "engine.bench_reply",
		       json_pack("{s:s}", "warning",
				 "every completion is answered \"ok\" without running the model: "
				 "for measuring a gateway's overhead, never for production"));
	return VEIL_OK;
}

veil_err veil_worker_new(const veil_worker_config *c, veil_worker **out)
{
	veil_worker *w = calloc(1, sizeof *w);
	veil_err err;

	*out = NULL;
	ENSURE(w != NULL, VEIL_E_NOMEM, "out of memory");
	w->cfg = *c;
	pthread_mutex_init(&w->rate_mu, NULL);
	pthread_mutex_init(&w->up_mu, NULL);
	pthread_cond_init(&w->up_cv, NULL);
	err = worker_init(w);
	if (err != VEIL_OK) {
		veil_worker_free(w);
		return err;
	}
	*out = w;
	return VEIL_OK;
}

veil_err veil_worker_join(veil_worker *w)
{
	if (w->cfg.gateway_url == NULL)
		return VEIL_OK;
	ENSURE(w->join == NULL, VEIL_E_USAGE, "veil_worker_join: the worker is joining already");
	return wk_join_start(w, &w->join);
}

void veil_worker_leave(veil_worker *w)
{
	if (w != NULL)
		wk_join_leave(w->join);
}

void veil_worker_stop(veil_worker *w)
{
	if (w == NULL)
		return;
	/* The gateway first, while requests are still answered: it then
	 * sends nothing new to a worker that is about to refuse it. */
	veil_worker_leave(w);
	atomic_store(&w->stopping, true);
	if (w->sched != NULL)
		wk_sched_stop(w->sched);
	wk_upstream_wait(w);
}

void veil_worker_free(veil_worker *w)
{
	if (w == NULL)
		return;
	veil_worker_stop(w);
	wk_join_free(w->join);
	wk_sched_free(w->sched);
	veil_tokenizer_free(w->tok);
	veil_model_free(w->model);
	veil_gguf_free(w->gguf);
	veil_sealed_model_clear(&w->sealed);
	free(w->eog);
	free(w->bundle);
	free(w->ohttp_keys);
	veil_ohttp_server_free(w->ohttp);
	json_decref(w->receipt_jwk);
	veil_jwk_free(w->receipt_key);
	veil_guest_free(w->guest);
	pthread_mutex_destroy(&w->rate_mu);
	pthread_mutex_destroy(&w->up_mu);
	pthread_cond_destroy(&w->up_cv);
	free(w);
}

const uint8_t *veil_worker_bundle(const veil_worker *w, size_t *len)
{
	*len = w->bundle_len;
	return w->bundle;
}

const char *veil_worker_id(const veil_worker *w)
{
	return w->id;
}

veil_err veil_worker_mount(veil_worker *w, veil_http_server *s)
{
	return wk_routes(w, s);
}

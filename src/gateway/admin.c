/*
 * admin.c - the gateway's background thread (docs/gateway.md
 * "Admission"): it finishes joins, re-attests every confidential worker
 * with a fresh nonce, checks every worker's health, and removes workers
 * that fail. Every outgoing call that may block runs here, never on an
 * HTTP loop, so re-attesting a slow or silent worker never stalls
 * routing; routing sees only the registry, whose lock is held for
 * pointer swaps.
 *
 * A join is finished in this order, each step failing closed: the
 * evidence posted for the challenge is judged (attest.c); its worker id
 * must be the one that asked to join; the advertised URL must serve
 * fresh evidence with the same id, model and keys, and answer its health
 * check; the admission is appended to the transparency log; only then is
 * the worker routed to. A worker not in the log is never routed to.
 *
 * Health: a failed check takes the worker out of routing at once
 * (SUSPECT); VEIL_GW_HEALTH_FAILURES in a row remove it. A failed
 * re-attestation, or one whose keys, model or id differ from the
 * admitted ones, removes it at once. Removals are logged.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gateway_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/http_client.h"
#include "veil/json.h"
#include "veil/secret.h"

struct gw_job {
	gw_job *next;
	veil_http_deferred *d;
	gw_pending p;
	uint8_t *bundle;
	size_t len;
};

static void job_free(gw_job *j)
{
	free(j->bundle);
	free(j);
}

static void reply_json(veil_http_deferred *d, int status, json_t *body)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (text == NULL) {
		veil_http_deferred_reply(d, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	veil_http_deferred_reply(d, status, "application/json", text, strlen(text));
	free(text);
}

static void refuse(veil_gateway *g, veil_http_deferred *d, const gw_pending *p, int status,
		   const char *code, const char *reason)
{
	char why[VEIL_ERR_DETAIL_MAX];

	/* The reason may quote the evidence, cut by a cap: jansson would
	 * refuse a cut character and the log line would be lost. */
	snprintf(why, sizeof why, "%s", reason);
	gw_text_clean(why);
	gw_metrics_refused(g->metrics, code);
	gw_metrics_request(g->metrics, GW_ROUTE_JOIN, 1, GW_OUT_CLIENT_ERROR, 0);
	gw_log(g, "join.refused",
	       json_pack("{s:s, s:s, s:s, s:s}", "worker", p->id, "url", p->url, "code", code,
			 "reason", why));
	reply_json(
	    d, status,
	    gw_error_json(status == 403 || status == 409 ? "admission_refused" : "server_error",
			  code, "admission refused: %s", why));
}

static bool health_ok(const char *url)
{
	char full[VEIL_GW_URL_MAX + 16];
	veil_http_client_response resp;
	veil_http_client_request req = {.url = full,
					.timeout_ms = 3000,
					.connect_timeout_ms = 2000,
					.max_body = 4096,
					.no_proxy = true};
	bool ok;

	snprintf(full, sizeof full, "%s/healthz", url);
	ok = veil_http_client_fetch(&req, &resp) == VEIL_OK && resp.status == 200;
	veil_http_client_response_clear(&resp);
	return ok;
}

static void finish_join(veil_gateway *g, gw_job *j)
{
	gw_attested att, again;
	gw_worker *w = NULL, *old = NULL;
	const char *code = NULL, *what;
	uint8_t lease[32];
	char lease_hex[65];
	bool tls;
	veil_err err;

	memset(&again, 0, sizeof again);
	if (gw_attest(g, j->bundle, j->len, j->p.nonce, &att, &code) != VEIL_OK) {
		refuse(g, j->d, &j->p, 403, code, veil_err_detail());
		return;
	}
	if (strcmp(att.id, j->p.id) != 0) {
		refuse(g, j->d, &j->p, 403, "runtime_data",
		       "the evidence is of another worker id than the one that joined");
		goto out;
	}
	if (gw_attest_pull(g, j->p.url, &again, &code) != VEIL_OK) {
		char why[300];
		snprintf(why, sizeof why, "the advertised URL: %s", veil_err_detail());
		refuse(g, j->d, &j->p, 403, "url", why);
		goto out;
	}
	if (!gw_attested_same(&att, &again, &what)) {
		char why[160];
		snprintf(why, sizeof why,
			 "the advertised URL serves a worker with another %s than the evidence",
			 what);
		refuse(g, j->d, &j->p, 403, "keys", why);
		goto out;
	}
	{
		char who[GW_ID_MAX + 1], why[200];
		if (gw_registry_key_taken(&g->reg, &att, who, sizeof who)) {
			snprintf(why, sizeof why,
				 "worker %s already holds this worker's OHTTP key id, and OHTTP "
				 "requests are routed by key id; start the worker with another "
				 "--ohttp-key-id",
				 who);
			refuse(g, j->d, &j->p, 403, "keys", why);
			goto out;
		}
	}
	{
		/* An id held by an admitted worker passes only to the same
		 * worker (the same receipt key, proven again by this evidence:
		 * a worker whose admission answer was lost joins again): nobody
		 * else can take over or drain a worker they do not run. */
		gw_worker *cur = gw_registry_find(&g->reg, att.id);
		bool held = cur != NULL && (!cur->confidential ||
					    strcmp(cur->att.receipt_kid, att.receipt_kid) != 0);
		gw_worker_unref(cur);
		if (held) {
			refuse(g, j->d, &j->p, 409, "id_in_use",
			       "an admitted worker with other keys holds this id; it must leave "
			       "or be removed first");
			goto out;
		}
	}
	if (!health_ok(j->p.url)) {
		refuse(g, j->d, &j->p, 403, "url", "the advertised URL fails its health check");
		goto out;
	}
	w = gw_worker_new();
	err = w != NULL ? VEIL_OK : veil_fail(VEIL_E_NOMEM, "out of memory");
	if (err == VEIL_OK)
		err = gw_url_parse(j->p.url, w->host, sizeof w->host, &w->port, &tls);
	if (err == VEIL_OK)
		err = gw_resolve(w->host, w->addr, sizeof w->addr);
	if (err == VEIL_OK && RAND_bytes(lease, sizeof lease) != 1)
		err = veil_fail(VEIL_E_CRYPTO, "no random bytes");
	if (err == VEIL_OK)
		err = veil_sha256(lease, sizeof lease, w->lease_hash);
	if (err != VEIL_OK) {
		refuse(g, j->d, &j->p, 500, "internal", veil_err_detail());
		goto out;
	}
	snprintf(w->id, sizeof w->id, "%s", att.id);
	snprintf(w->url, sizeof w->url, "%s", j->p.url);
	if (w->url[0] != '\0' && w->url[strlen(w->url) - 1] == '/')
		w->url[strlen(w->url) - 1] = '\0';
	w->confidential = true;
	w->capacity = j->p.capacity;
	snprintf(w->models[0], sizeof w->models[0], "%s", att.model);
	w->model_count = 1;
	w->att = att;
	memset(&att, 0, sizeof att);
	w->admitted_ms = w->attested_ms = gw_now_ms();
	w->next_attest_ms = gw_mono_ms() + (int64_t)g->config.reattest_s * 1000;
	atomic_store(&w->fresh_until_ms, gw_mono_ms() + 3 * (int64_t)g->config.reattest_s * 1000);
	w->next_health_ms = gw_mono_ms() + (int64_t)g->config.health_s * 1000;
	/* Logged first: a worker the log does not show is never routed to. */
	if (gw_log_worker(g, "admission", w, &w->att, NULL, &w->log_index) != VEIL_OK) {
		refuse(g, j->d, &j->p, 500, "log", veil_err_detail());
		goto out;
	}
	if (gw_registry_add(&g->reg, w, &old) != VEIL_OK) {
		refuse(g, j->d, &j->p, 503, "full", veil_err_detail());
		goto out;
	}
	if (old != NULL) {
		uint64_t idx;
		if (gw_log_worker(g, "removal", old, NULL, "replaced by a new admission", &idx) !=
		    VEIL_OK)
			gw_log(g, "log.failed", json_pack("{s:s}", "reason", veil_err_detail()));
		gw_worker_unref(old);
	}
	gw_metrics_admission(g->metrics);
	gw_metrics_request(g->metrics, GW_ROUTE_JOIN, 1, GW_OUT_OK, 0);
	gw_log(g, "worker.admitted",
	       json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "worker", w->id, "url", w->url, "model",
			 w->att.model, "tee", w->att.tee, "log_index", (json_int_t)w->log_index,
			 "receipt_kid", w->att.receipt_kid));
	veil_hex_encode(lease, sizeof lease, lease_hex);
	reply_json(j->d, 200,
		   json_pack("{s:b, s:s, s:I, s:s, s:i}", "admitted", 1, "worker", w->id,
			     "log_index", (json_int_t)w->log_index, "lease", lease_hex,
			     "reattest_s", (int)g->config.reattest_s));
	veil_wipe(lease, sizeof lease);
	veil_wipe(lease_hex, sizeof lease_hex);
out:
	gw_worker_unref(w);
	gw_attested_clear(&att);
	gw_attested_clear(&again);
}

void gw_remove(veil_gateway *g, gw_worker *w, const char *kind, const char *why)
{
	uint64_t idx = 0;
	char reason[VEIL_ERR_DETAIL_MAX];

	if (!gw_registry_remove(&g->reg, w))
		return; /* already gone: logged by whoever removed it */
	/* As in refuse: a cut character would drop the reason from the log
	 * entry and the log line. */
	snprintf(reason, sizeof reason, "%s", why);
	gw_text_clean(reason);
	if (w->confidential && gw_log_worker(g, kind, w, NULL, reason, &idx) != VEIL_OK)
		gw_log(g, "log.failed",
		       json_pack("{s:s, s:s}", "worker", w->id, "reason", veil_err_detail()));
	gw_metrics_removal(g->metrics);
	gw_log(g, strcmp(kind, "leave") == 0 ? "worker.left" : "worker.removed",
	       json_pack("{s:s, s:s, s:s, s:I}", "worker", w->id, "url", w->url, "reason", reason,
			 "log_index", (json_int_t)idx));
}

/* Re-attestation: fresh evidence from the worker's URL, the same worker
 * as admitted, logged. */
static void reattest(veil_gateway *g, gw_worker *w)
{
	gw_attested att;
	const char *code, *what;
	char why[400];
	uint64_t idx;

	if (gw_attest_pull(g, w->url, &att, &code) != VEIL_OK) {
		snprintf(why, sizeof why, "re-attestation failed: %s", veil_err_detail());
		gw_metrics_reattest(g->metrics, false);
		gw_remove(g, w, "removal", why);
		return;
	}
	if (!gw_attested_same(&w->att, &att, &what)) {
		snprintf(why, sizeof why, "re-attestation shows another %s than admitted", what);
		gw_metrics_reattest(g->metrics, false);
		gw_remove(g, w, "removal", why);
		gw_attested_clear(&att);
		return;
	}
	if (gw_log_worker(g, "reattestation", w, &att, NULL, &idx) != VEIL_OK) {
		snprintf(why, sizeof why, "re-attestation could not be logged: %s",
			 veil_err_detail());
		gw_metrics_reattest(g->metrics, false);
		gw_remove(g, w, "removal", why);
		gw_attested_clear(&att);
		return;
	}
	/* The evidence readers (/v1/attestation) take it under the lock. */
	pthread_mutex_lock(&g->reg.mu);
	{
		uint8_t *old = w->att.bundle;
		w->att.bundle = att.bundle;
		w->att.bundle_len = att.bundle_len;
		memcpy(w->att.bundle_sha256, att.bundle_sha256, 32);
		memcpy(w->att.ear_status, att.ear_status, sizeof w->att.ear_status);
		att.bundle = old;
		w->log_index = idx;
		w->attested_ms = gw_now_ms();
		atomic_store(&w->fresh_until_ms,
			     gw_mono_ms() + 3 * (int64_t)g->config.reattest_s * 1000);
	}
	pthread_mutex_unlock(&g->reg.mu);
	gw_attested_clear(&att);
	gw_metrics_reattest(g->metrics, true);
	gw_log(g, "worker.reattested",
	       json_pack("{s:s, s:I}", "worker", w->id, "log_index", (json_int_t)idx));
}

/* The models a plain worker lists at GET /v1/models, copied in under the
 * registry lock (routing reads them under it). False when the worker did
 * not answer with a model list. */
static bool plain_models(veil_gateway *g, gw_worker *w)
{
	char full[VEIL_GW_URL_MAX + 16], models[VEIL_GW_MODELS_PER_WORKER][GW_MODEL_MAX + 1];
	veil_http_client_response resp;
	veil_http_client_request req = {.url = full,
					.timeout_ms = 3000,
					.connect_timeout_ms = 2000,
					.max_body = 65536,
					.no_proxy = true};
	json_t *doc = NULL, *m;
	size_t i, n = 0;
	bool ok = false;

	snprintf(full, sizeof full, "%s/v1/models", w->url);
	if (veil_http_client_fetch(&req, &resp) == VEIL_OK && resp.status == 200 &&
	    veil_json_parse(resp.body.data, resp.body.len, &doc) == VEIL_OK &&
	    json_is_array(json_object_get(doc, "data"))) {
		ok = true;
		json_array_foreach(json_object_get(doc, "data"), i, m)
		{
			const char *id = json_string_value(json_object_get(m, "id"));
			if (id == NULL || strlen(id) > GW_MODEL_MAX ||
			    n == VEIL_GW_MODELS_PER_WORKER)
				continue;
			snprintf(models[n++], sizeof models[0], "%s", id);
		}
	}
	json_decref(doc);
	veil_http_client_response_clear(&resp);
	if (ok) {
		pthread_mutex_lock(&g->reg.mu);
		memcpy(w->models, models, sizeof models);
		w->model_count = n;
		pthread_mutex_unlock(&g->reg.mu);
	}
	return ok;
}

static void check_health(veil_gateway *g, gw_worker *w, int64_t now)
{
	int st = atomic_load(&w->state);
	bool ok = health_ok(w->url) && (w->confidential || plain_models(g, w));

	w->next_health_ms = now + (int64_t)g->config.health_s * 1000;
	if (ok) {
		if (w->health_failures > 0 || st == GW_SUSPECT)
			gw_log(g, "worker.healthy", json_pack("{s:s}", "worker", w->id));
		w->health_failures = 0;
		if (st == GW_SUSPECT)
			atomic_compare_exchange_strong(&w->state, &st, GW_ADMITTED);
		return;
	}
	w->health_failures++;
	if (st == GW_ADMITTED)
		atomic_compare_exchange_strong(&w->state, &st, GW_SUSPECT);
	gw_log(g, "worker.unhealthy",
	       json_pack("{s:s, s:i}", "worker", w->id, "failures", (int)w->health_failures));
	/* A plain worker stays registered (it has no evidence to admit it
	 * again): it is only out of routing until it answers. */
	if (w->confidential && w->health_failures >= VEIL_GW_HEALTH_FAILURES) {
		char why[96];
		snprintf(why, sizeof why, "%u health checks failed in a row", w->health_failures);
		gw_remove(g, w, "removal", why);
	}
}

/* One pass over the workers: what is due now. */
static void tick(veil_gateway *g)
{
	size_t n;
	gw_worker **ws = gw_registry_snapshot(&g->reg, &n);
	int64_t now = gw_mono_ms();

	for (size_t i = 0; i < n && !g->stopping; i++) {
		gw_worker *w = ws[i];
		int st = atomic_load(&w->state);
		if (st == GW_REMOVED || st == GW_DRAINING)
			continue;
		if (w->confidential && now >= w->next_attest_ms) {
			w->next_attest_ms = now + (int64_t)g->config.reattest_s * 1000;
			reattest(g, w);
			if (atomic_load(&w->state) == GW_REMOVED)
				continue;
		}
		if (now >= w->next_health_ms)
			check_health(g, w, now);
	}
	gw_workers_release(ws, n);
}

/* Plain workers from the configuration: registered without evidence,
 * out of routing (SUSPECT) until their first health check passes. */
static veil_err add_plain_workers(veil_gateway *g)
{
	for (size_t i = 0; i < g->config.plain_worker_count; i++) {
		const char *url = g->config.plain_workers[i];
		gw_worker *w = gw_worker_new(), *old = NULL;
		bool tls;
		veil_err err;

		ENSURE(w != NULL, VEIL_E_NOMEM, "out of memory");
		err = gw_url_parse(url, w->host, sizeof w->host, &w->port, &tls);
		if (err == VEIL_OK)
			err = gw_resolve(w->host, w->addr, sizeof w->addr);
		if (err == VEIL_OK && tls)
			err = veil_fail(VEIL_E_UNSUPPORTED,
					"workers are reached over http:// only (docs/gateway.md)");
		if (err != VEIL_OK) {
			gw_worker_unref(w);
			return veil_fail_context(err, "plain worker %s", url);
		}
		snprintf(w->url, sizeof w->url, "%s", url);
		if (w->url[strlen(w->url) - 1] == '/')
			w->url[strlen(w->url) - 1] = '\0';
		snprintf(w->id, sizeof w->id, "plain-%zu", i + 1);
		w->capacity = 1;
		atomic_store(&w->state, GW_SUSPECT);
		err = gw_registry_add(&g->reg, w, &old);
		gw_worker_unref(old);
		gw_worker_unref(w);
		TRY(err);
	}
	return VEIL_OK;
}

/* Metering counters to the database about once a second; a failed flush
 * keeps them for the next one (accounts.h). */
static void flush_usage(veil_gateway *g, int64_t *last)
{
	int64_t now = gw_mono_ms();

	if (g->accounts == NULL || now - *last < 1000)
		return;
	*last = now;
	if (gw_accounts_flush(g->accounts) != VEIL_OK)
		gw_log(g, "usage.flush_failed", json_pack("{s:s}", "reason", veil_err_detail()));
}

static void *admin_main(void *arg)
{
	veil_gateway *g = arg;
	int64_t flushed = 0;

	pthread_mutex_lock(&g->admin_mu);
	while (!g->stopping) {
		gw_job *j = g->jobs;
		if (j != NULL) {
			g->jobs = j->next;
			if (g->jobs == NULL)
				g->jobs_tail = &g->jobs;
			g->job_count--;
		}
		pthread_mutex_unlock(&g->admin_mu);
		/* One join, then whatever checks are due: anyone may post
		 * evidence, and a stream of joins must not hold off the
		 * re-attestation and health checks of the admitted workers. */
		if (j != NULL) {
			finish_join(g, j);
			job_free(j);
		}
		tick(g);
		flush_usage(g, &flushed);
		pthread_mutex_lock(&g->admin_mu);
		if (g->jobs == NULL && !g->stopping) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 250 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&g->admin_cv, &g->admin_mu, &until);
		}
	}
	/* Joins still queued get an answer: the gateway is stopping. */
	while (g->jobs != NULL) {
		gw_job *j = g->jobs;
		g->jobs = j->next;
		reply_json(j->d, 503,
			   gw_error_json("server_error", "stopping", "the gateway is stopping"));
		job_free(j);
	}
	g->jobs_tail = &g->jobs;
	g->job_count = 0;
	pthread_mutex_unlock(&g->admin_mu);
	return NULL;
}

veil_err gw_admin_start(veil_gateway *g)
{
	TRY(add_plain_workers(g));
	ENSURE(pthread_create(&g->admin, NULL, admin_main, g) == 0, VEIL_E_IO,
	       "cannot start the gateway's admin thread");
	g->admin_started = true;
	return VEIL_OK;
}

void gw_admin_stop(veil_gateway *g)
{
	if (!g->admin_started)
		return;
	pthread_mutex_lock(&g->admin_mu);
	g->stopping = true;
	pthread_cond_broadcast(&g->admin_cv);
	pthread_mutex_unlock(&g->admin_mu);
	pthread_join(g->admin, NULL);
	g->admin_started = false;
}

veil_err gw_admin_join(veil_gateway *g, veil_http_deferred *d, const gw_pending *p,
		       const uint8_t *bundle, size_t len)
{
	gw_job *j = calloc(1, sizeof *j);

	ENSURE(j != NULL, VEIL_E_NOMEM, "out of memory");
	j->bundle = malloc(len > 0 ? len : 1);
	if (j->bundle == NULL) {
		free(j);
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	memcpy(j->bundle, bundle, len);
	j->len = len;
	j->p = *p;
	j->d = d;
	pthread_mutex_lock(&g->admin_mu);
	if (g->stopping || g->job_count >= VEIL_GW_PENDING_MAX) {
		bool stopping = g->stopping;
		pthread_mutex_unlock(&g->admin_mu);
		job_free(j);
		/* Each queued join holds its evidence (up to
		 * VEIL_GW_EVIDENCE_MAX): the queue is capped like the
		 * challenges, since a used challenge frees its slot at once. */
		return stopping ? veil_fail(VEIL_E_IO, "the gateway is stopping")
				: veil_fail(VEIL_E_LIMIT, "%d joins wait for judging already",
					    VEIL_GW_PENDING_MAX);
	}
	*g->jobs_tail = j;
	g->jobs_tail = &j->next;
	g->job_count++;
	pthread_cond_broadcast(&g->admin_cv);
	pthread_mutex_unlock(&g->admin_mu);
	return VEIL_OK;
}

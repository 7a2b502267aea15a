/*
 * api.c - what the gateway answers itself (docs/gateway.md):
 *
 *   GET /v1/models                    the union of the models the routable
 *                                     workers serve, each marked
 *                                     "confidential" when an admitted
 *                                     worker serves it
 *   GET /v1/attestation               the admitted workers, their latest
 *                                     evidence and its log position
 *   GET /v1/attestation?worker=ID&nonce=HEX
 *                                     fresh evidence from that worker for
 *                                     the caller's nonce, relayed as is
 *   GET /v1/attestation?worker=ID     that worker's published bundle (the
 *                                     one its receipts name by digest),
 *                                     relayed as is
 *   GET /v1/usage                     the caller's usage (API key)
 *   GET /healthz, GET /metrics
 *
 * The evidence listed here is a convenience, not a trust anchor: a client
 * verifies it itself, and can find the same bytes in the log at the given
 * index (with an inclusion proof), or ask the worker for fresh evidence
 * bound to its own nonce through the relay, which the gateway cannot
 * forge.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/forward.h"
#include "veil/bytes.h"
#include "veil/json.h"

static void h_models(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	json_t *data = json_array(), *idx = json_object();

	if (data == NULL || idx == NULL) {
		json_decref(data);
		json_decref(idx);
		gw_reply_error(r, 500, "server_error", "internal", "out of memory");
		return;
	}
	pthread_mutex_lock(&g->reg.mu);
	for (size_t i = 0; i < g->reg.count; i++) {
		gw_worker *w = g->reg.workers[i];
		if (atomic_load(&w->state) != GW_ADMITTED)
			continue;
		for (size_t m = 0; m < w->model_count; m++) {
			json_t *e = json_object_get(idx, w->models[m]);
			if (e == NULL) {
				e = json_pack("{s:s, s:s, s:i, s:s, s:b, s:i}", "id", w->models[m],
					      "object", "model", "created", 0, "owned_by", "veil",
					      "confidential", 0, "workers", 0);
				if (e == NULL)
					continue;
				json_object_set_new(idx, w->models[m], e);
				json_array_append(data, e);
			}
			if (w->confidential)
				json_object_set_new(e, "confidential", json_true());
			json_object_set_new(
			    e, "workers",
			    json_integer(json_integer_value(json_object_get(e, "workers")) + 1));
		}
	}
	pthread_mutex_unlock(&g->reg.mu);
	json_decref(idx);
	gw_metrics_request(g->metrics, GW_ROUTE_MODELS, 0, GW_OUT_OK, 0);
	veil_http_reply_json(r, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

/* What the attestation list needs of a worker that re-attestation may
 * change, copied under reg.mu; the rest never changes once admitted. */
typedef struct att_copy {
	gw_worker *w; /* referenced */
	uint8_t *bundle;
	size_t bundle_len;
	uint64_t log_index;
	int64_t attested_ms;
} att_copy;

/* One admitted worker's entry in the attestation list, outside the lock:
 * parsing every bundle (up to VEIL_GW_EVIDENCE_MAX each) under it would
 * stall every pick on every loop for as long. */
static json_t *worker_entry(const att_copy *c)
{
	const gw_worker *w = c->w;
	json_t *ids = json_array(), *ev = NULL;

	for (size_t i = 0; ids != NULL && i < w->att.key_count; i++)
		json_array_append_new(ids, json_integer(w->att.key_ids[i]));
	if (c->bundle != NULL && veil_json_parse(c->bundle, c->bundle_len, &ev) != VEIL_OK)
		veil_err_clear();
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o?}", "worker",
			 w->id, "url", w->url, "model", w->att.model, "model_sha256",
			 w->att.model_sha256, "tee", w->att.tee, "receipt_kid", w->att.receipt_kid,
			 "ohttp_key_ids", ids, "log_index", (json_int_t)c->log_index, "admitted_at",
			 (json_int_t)w->admitted_ms, "attested_at", (json_int_t)c->attested_ms,
			 "evidence", ev);
}

/* worker=ID[&nonce=HEX], strictly (either order, each once;
 * gateway_internal.h). */
bool gw_relay_query_parse(const char *q, char *id, size_t idlen, char *nonce, size_t nlen)
{
	id[0] = nonce[0] = '\0';
	while (q != NULL && *q != '\0') {
		const char *amp = strchr(q, '&'), *eq = strchr(q, '=');
		size_t n = amp != NULL ? (size_t)(amp - q) : strlen(q);
		char *dst;
		size_t cap, vlen;
		if (eq == NULL || eq > q + n)
			return false;
		if ((size_t)(eq - q) == 6 && memcmp(q, "worker", 6) == 0) {
			dst = id;
			cap = idlen;
		} else if ((size_t)(eq - q) == 5 && memcmp(q, "nonce", 5) == 0) {
			dst = nonce;
			cap = nlen;
		} else {
			return false;
		}
		vlen = n - (size_t)(eq + 1 - q);
		if (dst[0] != '\0' || vlen == 0 || vlen >= cap)
			return false;
		memcpy(dst, eq + 1, vlen);
		dst[vlen] = '\0';
		q = amp != NULL ? amp + 1 : NULL;
	}
	if (id[0] == '\0')
		return false;
	size_t hl = strlen(nonce);
	if (hl == 0)
		return true; /* the published bundle */
	return hl >= VEIL_WORKER_NONCE_HEX_MIN && hl <= VEIL_WORKER_NONCE_HEX_MAX && hl % 2 == 0 &&
	       strspn(nonce, "0123456789abcdefABCDEF") == hl;
}

static void relay(veil_gateway *g, veil_http_request *r, const char *q)
{
	char id[GW_ID_MAX + 1], nonce[VEIL_WORKER_NONCE_HEX_MAX + 1], target[200];
	gw_worker *w;

	if (!gw_relay_query_parse(q, id, sizeof id, nonce, sizeof nonce)) {
		gw_metrics_request(g->metrics, GW_ROUTE_ATTESTATION, 1, GW_OUT_CLIENT_ERROR, 0);
		gw_reply_error(r, 400, "invalid_request_error", "bad_query",
			       "the query is worker=ID, worker=ID&nonce=HEX (16 to 128 hex "
			       "digits, an even count), or nothing");
		return;
	}
	w = gw_registry_find(&g->reg, id);
	if (w == NULL || !w->confidential || atomic_load(&w->state) != GW_ADMITTED) {
		gw_worker_unref(w);
		gw_metrics_request(g->metrics, GW_ROUTE_ATTESTATION, 1, GW_OUT_NO_WORKER, 0);
		gw_reply_error(r, 404, "invalid_request_error", "unknown_worker",
			       "no admitted worker of that id");
		return;
	}
	/* forward ends a pick: take the count the pick would have. */
	atomic_fetch_add(&w->outstanding, 1);
	if (nonce[0] != '\0')
		snprintf(target, sizeof target, "/v1/attestation?nonce=%s", nonce);
	else
		snprintf(target, sizeof target, "/v1/attestation");
	gw_forward_req f = {.worker = w, .method = "GET", .target = target};
	gw_forward(g, r, &f);
	gw_metrics_request(g->metrics, GW_ROUTE_ATTESTATION, 1, GW_OUT_OK, 0);
}

static void h_attestation(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	const char *q = veil_http_query(r);
	att_copy *copies;
	size_t n = 0;
	json_t *data;

	if (q != NULL) {
		relay(g, r, q);
		return;
	}
	data = json_array();
	copies = calloc(VEIL_GW_WORKERS_MAX, sizeof *copies);
	if (data == NULL || copies == NULL) {
		json_decref(data);
		free(copies);
		gw_reply_error(r, 500, "server_error", "internal", "out of memory");
		return;
	}
	pthread_mutex_lock(&g->reg.mu);
	for (size_t i = 0; i < g->reg.count; i++) {
		gw_worker *w = g->reg.workers[i];
		att_copy *c = &copies[n];
		if (!w->confidential || atomic_load(&w->state) != GW_ADMITTED)
			continue;
		c->bundle = w->att.bundle != NULL ? malloc(w->att.bundle_len + 1) : NULL;
		if (c->bundle != NULL) {
			memcpy(c->bundle, w->att.bundle, w->att.bundle_len);
			c->bundle_len = w->att.bundle_len;
		}
		c->log_index = w->log_index;
		c->attested_ms = w->attested_ms;
		gw_worker_ref(w);
		c->w = w;
		n++;
	}
	pthread_mutex_unlock(&g->reg.mu);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(data, worker_entry(&copies[i]));
		free(copies[i].bundle);
		gw_worker_unref(copies[i].w);
	}
	free(copies);
	gw_metrics_request(g->metrics, GW_ROUTE_ATTESTATION, 1, GW_OUT_OK, 0);
	veil_http_reply_json(r, 200,
			     json_pack("{s:s, s:o?, s:I}", "object", "list", "data", data,
				       "log_size", (json_int_t)veil_tlog_size(g->log)));
}

static void h_usage(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	gw_account a;
	json_t *out = NULL;

	if (g->accounts == NULL) {
		gw_reply_error(r, 404, "invalid_request_error", "no_accounts",
			       "this gateway has no API keys and meters nothing");
		return;
	}
	veil_err err = gw_accounts_auth(g->accounts, veil_http_header(r, "Authorization"), &a);

	if (err != VEIL_OK && err != VEIL_E_USAGE && err != VEIL_E_NOT_FOUND) {
		gw_log(g, "accounts.failed", json_pack("{s:s}", "reason", veil_err_detail()));
		gw_reply_error(r, 500, "server_error", "internal",
			       "the API key cannot be checked now");
		return;
	}
	if (err != VEIL_OK) {
		gw_metrics_request(g->metrics, GW_ROUTE_USAGE, 0, GW_OUT_UNAUTHORIZED, 0);
		gw_reply_error(r, 401, "invalid_request_error", "invalid_api_key", "%s",
			       veil_err_detail());
		return;
	}
	if (gw_accounts_usage(g->accounts, &a, &out) != VEIL_OK) {
		gw_log(g, "accounts.failed", json_pack("{s:s}", "reason", veil_err_detail()));
		gw_reply_error(r, 500, "server_error", "internal", "the usage cannot be read now");
		return;
	}
	gw_metrics_request(g->metrics, GW_ROUTE_USAGE, 0, GW_OUT_OK, 0);
	veil_http_reply_json(r, 200, out);
}

static void counts(veil_gateway *g, size_t *conf, size_t *plain)
{
	*conf = *plain = 0;
	pthread_mutex_lock(&g->reg.mu);
	for (size_t i = 0; i < g->reg.count; i++) {
		if (atomic_load(&g->reg.workers[i]->state) != GW_ADMITTED)
			continue;
		if (g->reg.workers[i]->confidential)
			(*conf)++;
		else
			(*plain)++;
	}
	pthread_mutex_unlock(&g->reg.mu);
}

static void h_healthz(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	size_t conf, plain;

	counts(g, &conf, &plain);
	veil_http_reply_json(r, 200,
			     json_pack("{s:s, s:{s:I, s:I}, s:I}", "status", "ok", "workers",
				       "confidential", (json_int_t)conf, "plain", (json_int_t)plain,
				       "log_size", (json_int_t)veil_tlog_size(g->log)));
}

static void h_metrics(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	size_t conf, plain;
	veil_writer w;

	counts(g, &conf, &plain);
	veil_writer_init(&w, 1 << 20);
	if (gw_metrics_text(g->metrics, conf, plain, &w) != VEIL_OK) {
		veil_writer_clear(&w);
		gw_reply_error(r, 500, "server_error", "internal", "%s", veil_err_detail());
		return;
	}
	veil_http_reply(r, 200, "text/plain; version=0.0.4", w.data, w.len);
	veil_writer_clear(&w);
}

veil_err gw_api_mount(veil_gateway *g, veil_http_server *s)
{
	TRY(veil_http_route(s, "GET", "/v1/models", h_models, g));
	TRY(veil_http_route(s, "GET", "/v1/attestation", h_attestation, g));
	TRY(veil_http_route(s, "GET", "/v1/usage", h_usage, g));
	TRY(veil_http_route(s, "GET", "/healthz", h_healthz, g));
	return veil_http_route(s, "GET", "/metrics", h_metrics, g);
}

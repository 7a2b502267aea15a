/*
 * join.c - the workers' side of the gateway's API (docs/gateway.md
 * "Joining"):
 *
 *   POST /v1/workers/join              {"id", "url", "capacity"} ->
 *                                      {"challenge", "nonce", "expires_in"}
 *   POST /v1/workers/join/CHALLENGE    the evidence bundle bound to the
 *                                      nonce -> admitted (with a lease) or
 *                                      refused with the reasons
 *   GET  /v1/workers/ID                (lease) whether it is still admitted
 *   POST /v1/workers/ID/leave          (lease) drain: no new requests
 *
 * Anyone may ask to join: admission is decided by the evidence alone. The
 * challenge is single-use and expires, and open challenges are capped, so
 * asking costs the gateway a table slot for a few seconds and nothing
 * more; the evidence is judged on the admin thread (admin.c). The lease is
 * 32 random bytes the gateway hands the admitted worker, stored only as
 * its SHA-256: it lets the worker (and only it) leave or ask after itself,
 * so nobody can drain a worker they do not run.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "gateway/gateway_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/secret.h"

static const char *const join_members[] = {"id", "url", "capacity", NULL};

/* The join request, strictly (gateway_internal.h). */
veil_err gw_join_parse(const uint8_t *body, size_t len, gw_pending *p)
{
	json_t *doc;
	const char *id, *url;
	int64_t cap;
	char host[256];
	uint16_t port;
	bool tls;
	veil_err err;

	TRY(veil_json_parse(body, len, &doc));
	err = veil_json_only_members(doc, "the join request", join_members);
	if (err == VEIL_OK)
		err = veil_json_get_string(doc, "id", &id);
	if (err == VEIL_OK)
		err = veil_json_get_string(doc, "url", &url);
	if (err == VEIL_OK)
		err = veil_json_get_int(doc, "capacity", 1, 1024, &cap);
	if (err == VEIL_OK && (strlen(id) == 0 || strlen(id) > GW_ID_MAX ||
			       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789._:-") != strlen(id)))
		err = veil_fail(VEIL_E_MALFORMED,
				"\"id\" must be 1 to %d characters of "
				"[A-Za-z0-9._:-]",
				GW_ID_MAX);
	/* POST /v1/workers/join/... is the evidence route (the longer prefix
	 * wins), so a worker named "join" could never leave. */
	if (err == VEIL_OK && strcmp(id, "join") == 0)
		err = veil_fail(VEIL_E_MALFORMED, "\"id\" must not be \"join\"");
	if (err == VEIL_OK) {
		err = gw_url_parse(url, host, sizeof host, &port, &tls);
		if (err == VEIL_OK && tls)
			err = veil_fail(VEIL_E_UNSUPPORTED,
					"the gateway reaches workers over http:// only for now "
					"(docs/gateway.md \"Limitations\")");
		if (err != VEIL_OK)
			err = veil_fail_context(err, "\"url\"");
	}
	if (err == VEIL_OK) {
		snprintf(p->id, sizeof p->id, "%s", id);
		snprintf(p->url, sizeof p->url, "%s", url);
		if (p->url[strlen(p->url) - 1] == '/')
			p->url[strlen(p->url) - 1] = '\0';
		p->capacity = (unsigned)cap;
	}
	json_decref(doc);
	return err;
}

static void join_start(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	const uint8_t *body;
	size_t len, slot = VEIL_GW_PENDING_MAX;
	gw_pending p;
	uint8_t rnd[16];
	int64_t now = gw_mono_ms();

	memset(&p, 0, sizeof p);
	body = veil_http_body(r, &len);
	if (gw_join_parse(body, len, &p) != VEIL_OK) {
		gw_reply_error(r, 400, "invalid_request_error", "bad_join", "%s",
			       veil_err_detail());
		return;
	}
	if (RAND_bytes(rnd, sizeof rnd) != 1 || RAND_bytes(p.nonce, sizeof p.nonce) != 1) {
		gw_reply_error(r, 500, "server_error", "internal", "no random bytes");
		return;
	}
	veil_hex_encode(rnd, sizeof rnd, p.challenge);
	p.expires_ms = now + (int64_t)g->config.join_ttl_s * 1000;
	pthread_mutex_lock(&g->pending_mu);
	for (size_t i = 0; i < VEIL_GW_PENDING_MAX; i++)
		if (g->pending[i].challenge[0] == '\0' || g->pending[i].expires_ms <= now) {
			slot = i;
			break;
		}
	if (slot < VEIL_GW_PENDING_MAX)
		g->pending[slot] = p;
	pthread_mutex_unlock(&g->pending_mu);
	if (slot == VEIL_GW_PENDING_MAX) {
		if (veil_http_add_header(r, "Retry-After", "5") != VEIL_OK)
			veil_err_clear();
		gw_reply_error(r, 429, "rate_limit_error", "too_many_joins",
			       "%d joins are open already; try again in a few seconds",
			       VEIL_GW_PENDING_MAX);
		return;
	}
	{
		char nonce[65];
		veil_hex_encode(p.nonce, sizeof p.nonce, nonce);
		veil_http_reply_json(r, 200,
				     json_pack("{s:s, s:s, s:i}", "challenge", p.challenge, "nonce",
					       nonce, "expires_in", (int)g->config.join_ttl_s));
	}
	gw_log(g, "join.challenge", json_pack("{s:s, s:s}", "worker", p.id, "url", p.url));
}

/* Takes the open challenge named by the path (single use). */
static bool pending_take(veil_gateway *g, const char *challenge, gw_pending *out)
{
	bool found = false;
	int64_t now = gw_mono_ms();

	if (strlen(challenge) != 32)
		return false;
	pthread_mutex_lock(&g->pending_mu);
	for (size_t i = 0; i < VEIL_GW_PENDING_MAX && !found; i++) {
		gw_pending *p = &g->pending[i];
		if (p->challenge[0] == '\0' || !veil_ct_equal(p->challenge, challenge, 32))
			continue;
		found = p->expires_ms > now;
		*out = *p;
		memset(p, 0, sizeof *p);
		break;
	}
	pthread_mutex_unlock(&g->pending_mu);
	return found;
}

static void join_answer(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	const char *challenge = veil_http_path(r) + strlen("/v1/workers/join/");
	const uint8_t *body;
	size_t len;
	gw_pending p;
	veil_http_deferred *d;

	if (!pending_take(g, challenge, &p)) {
		gw_reply_error(r, 404, "invalid_request_error", "unknown_challenge",
			       "no open join challenge of that name (expired or used): join "
			       "again");
		return;
	}
	body = veil_http_body(r, &len);
	if (len > VEIL_GW_EVIDENCE_MAX) {
		gw_reply_error(r, 413, "invalid_request_error", "too_large",
			       "the evidence is over %d bytes", VEIL_GW_EVIDENCE_MAX);
		return;
	}
	d = veil_http_defer(r);
	if (d == NULL) {
		gw_reply_error(r, 500, "server_error", "internal", "out of memory");
		return;
	}
	if (gw_admin_join(g, d, &p, body, len) != VEIL_OK) {
		const char *msg = "{\"error\":{\"message\":\"the gateway cannot take the join "
				  "now\",\"type\":\"server_error\",\"code\":\"unavailable\"}}";
		veil_err_clear();
		if (veil_http_deferred_add_header(d, "Retry-After", "5") != VEIL_OK)
			veil_err_clear();
		veil_http_deferred_reply(d, 503, "application/json", msg, strlen(msg));
	}
}

/* The worker named in /v1/workers/ID[/leave] when the request holds its
 * lease; replies and returns NULL otherwise. */
static gw_worker *leased(veil_gateway *g, veil_http_request *r, const char *id)
{
	const char *auth = veil_http_header(r, "Authorization");
	uint8_t lease[32], hash[32];
	size_t n;
	gw_worker *w = gw_registry_find(&g->reg, id);

	if (w == NULL || !w->confidential) {
		gw_worker_unref(w);
		gw_reply_error(r, 404, "invalid_request_error", "unknown_worker",
			       "no admitted worker of that id");
		return NULL;
	}
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) != 64 ||
	    veil_hex_decode(auth + 7, 64, lease, sizeof lease, &n) != VEIL_OK ||
	    veil_sha256(lease, sizeof lease, hash) != VEIL_OK ||
	    !veil_ct_equal(hash, w->lease_hash, sizeof hash)) {
		veil_err_clear();
		gw_worker_unref(w);
		gw_reply_error(r, 401, "authentication_error", "bad_lease",
			       "this needs the lease the worker got at admission");
		return NULL;
	}
	veil_wipe(lease, sizeof lease);
	return w;
}

static void worker_status(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	gw_worker *w = leased(g, r, veil_http_path(r) + strlen("/v1/workers/"));
	uint64_t index;

	if (w == NULL)
		return;
	/* Re-attestation moves it, under the registry lock. */
	pthread_mutex_lock(&g->reg.mu);
	index = w->log_index;
	pthread_mutex_unlock(&g->reg.mu);
	veil_http_reply_json(
	    r, 200,
	    json_pack("{s:s, s:s, s:I}", "worker", w->id, "state",
		      atomic_load(&w->state) == GW_SUSPECT ? "suspect" : "admitted", "log_index",
		      (json_int_t)index));
	gw_worker_unref(w);
}

static void worker_leave(veil_http_request *r, void *user)
{
	veil_gateway *g = user;
	const char *rest = veil_http_path(r) + strlen("/v1/workers/");
	const char *slash = strchr(rest, '/');
	char id[GW_ID_MAX + 1];
	gw_worker *w;

	if (slash == NULL || strcmp(slash, "/leave") != 0 || (size_t)(slash - rest) > GW_ID_MAX) {
		gw_reply_error(r, 404, "invalid_request_error", "not_found", "no such endpoint");
		return;
	}
	memcpy(id, rest, (size_t)(slash - rest));
	id[slash - rest] = '\0';
	w = leased(g, r, id);
	if (w == NULL)
		return;
	/* Draining: no new requests from now; those in flight finish. */
	atomic_store(&w->state, GW_DRAINING);
	gw_remove(g, w, "leave", "the worker left");
	veil_http_reply_json(r, 200, json_pack("{s:s, s:s}", "worker", w->id, "state", "left"));
	gw_worker_unref(w);
}

veil_err gw_join_mount(veil_gateway *g, veil_http_server *s)
{
	TRY(veil_http_route(s, "POST", "/v1/workers/join", join_start, g));
	TRY(veil_http_route(s, "POST", "/v1/workers/join/*", join_answer, g));
	TRY(veil_http_route(s, "GET", "/v1/workers/*", worker_status, g));
	return veil_http_route(s, "POST", "/v1/workers/*", worker_leave, g);
}

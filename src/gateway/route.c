/*
 * route.c - the OpenAI-compatible endpoints of the gateway
 * (docs/gateway.md "Routing"):
 *
 *   POST /v1/chat/completions, /v1/completions   JSON, or OHTTP by
 *                                               Content-Type
 *   POST /v1/ohttp                               OHTTP only
 *
 * For each request: the API key and its rate limit (when the gateway has
 * accounts); whether confidentiality is required (X-Veil-Confidential:
 * required, or X-Confidential: required); then one worker, chosen by the
 * registry, which alone applies the confidential rule: a request that
 * requires it is offered admitted workers only, and with none the answer
 * is 503 at once (confidential_capacity_unavailable), never a plain
 * worker. An OHTTP request is confidential by its nature and goes, unread,
 * to the worker that attested its key id (the first byte of the
 * encapsulated request, RFC 9458 section 4.3); an unknown key id is the
 * key-rotation answer of RFC 9458 section 5.3 so the client refetches.
 *
 * The gateway reads a JSON request only for its "model" (to route) and
 * passes the bytes on unchanged: the worker checks the rest and answers
 * with OpenAI's errors, and its receipt names the bytes the client sent.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/forward.h"
#include "veil/json.h"
#include "veil/ohttp.h"

/* What the done callback needs to count the request. */
typedef struct route_ctx {
	veil_gateway *g;
	gw_route route;
	int tier;
	bool opaque;
	bool has_account;
	gw_account account;
	char model[GW_MODEL_MAX + 1];
	double t0;
} route_ctx;

static void on_done(void *user, gw_worker *w, const gw_forward_result *res)
{
	route_ctx *c = user;
	veil_gateway *g = c->g;
	gw_outcome out = res->failed          ? GW_OUT_WORKER_ERROR
			 : res->status >= 500 ? GW_OUT_WORKER_ERROR
			 : res->status == 429 ? GW_OUT_RATE_LIMITED
			 : res->status >= 400 ? GW_OUT_CLIENT_ERROR
					      : GW_OUT_OK;

	gw_metrics_request(g->metrics, c->route, c->tier, out,
			   res->seconds > 0 ? res->seconds : gw_metrics_clock() - c->t0);
	if (c->has_account && g->accounts != NULL) {
		gw_usage_event e = {.account = c->account.id,
				    .model = c->model,
				    .tier = (gw_tier)c->tier,
				    .prompt_tokens = res->prompt_tokens,
				    .completion_tokens = res->completion_tokens,
				    .ok = !res->failed && res->status >= 200 && res->status < 300,
				    .receipt = res->receipt_ok,
				    .opaque = c->opaque};
		gw_accounts_meter(g->accounts, &e);
		gw_accounts_charge(g->accounts, &c->account,
				   res->prompt_tokens + res->completion_tokens, gw_now_ms());
	}
	if (res->failed)
		gw_log(g, "request.failed",
		       json_pack("{s:s, s:s, s:b, s:i}", "worker", w->id, "model", c->model,
				 "started", res->started, "status", res->status));
	free(c);
}

/* The API key and its rate limit; false when r has been answered. */
static bool admit_key(veil_gateway *g, veil_http_request *r, route_ctx *c)
{
	unsigned retry = 1;
	char ra[16];

	if (g->accounts == NULL)
		return true;
	veil_err err =
	    gw_accounts_auth(g->accounts, veil_http_header(r, "Authorization"), &c->account);

	if (err != VEIL_OK && err != VEIL_E_USAGE && err != VEIL_E_NOT_FOUND) {
		/* The database failed: its detail names files, not for clients. */
		gw_log(g, "accounts.failed", json_pack("{s:s}", "reason", veil_err_detail()));
		gw_reply_error(r, 500, "server_error", "internal",
			       "the API key cannot be checked now");
		return false;
	}
	if (err != VEIL_OK) {
		gw_metrics_request(g->metrics, c->route, c->tier, GW_OUT_UNAUTHORIZED, 0);
		if (veil_http_add_header(r, "WWW-Authenticate", "Bearer") != VEIL_OK)
			veil_err_clear();
		gw_reply_error(r, 401, "invalid_request_error", "invalid_api_key", "%s",
			       veil_err_detail());
		return false;
	}
	c->has_account = true;
	if (!gw_accounts_allow(g->accounts, &c->account, gw_now_ms(), &retry)) {
		gw_metrics_request(g->metrics, c->route, c->tier, GW_OUT_RATE_LIMITED, 0);
		snprintf(ra, sizeof ra, "%u", retry);
		if (veil_http_add_header(r, "Retry-After", ra) != VEIL_OK)
			veil_err_clear();
		gw_reply_error(r, 429, "rate_limit_error", "rate_limit_exceeded",
			       "the rate limit of this API key is reached; retry in %u s", retry);
		return false;
	}
	return true;
}

/* X-Veil-Confidential (or X-Confidential): "required" or absent; -1 (and
 * r answered) for anything else, so a typo never means "not required". */
static int wants_confidential(veil_gateway *g, veil_http_request *r, route_ctx *c)
{
	const char *v = veil_http_header(r, "X-Veil-Confidential");
	const char *name = "X-Veil-Confidential";

	if (v == NULL) {
		v = veil_http_header(r, "X-Confidential");
		name = "X-Confidential";
	}
	if (v == NULL)
		return 0;
	if (strcasecmp(v, "required") == 0)
		return 1;
	gw_metrics_request(g->metrics, c->route, 0, GW_OUT_CLIENT_ERROR, 0);
	gw_reply_error(r, 400, "invalid_request_error", "bad_confidential_header",
		       "%s must be \"required\" (or left out)", name);
	return -1;
}

static void fail_fast(veil_gateway *g, veil_http_request *r, route_ctx *c)
{
	gw_metrics_request(g->metrics, c->route, 1, GW_OUT_FAIL_FAST, gw_metrics_clock() - c->t0);
	if (veil_http_add_header(r, "Retry-After", "5") != VEIL_OK)
		veil_err_clear();
	gw_reply_error(r, 503, "confidential_capacity_unavailable", "no_confidential_worker",
		       "no attested worker can serve %s now; the request was not sent anywhere "
		       "else",
		       c->model[0] != '\0' ? c->model : "this request");
}

static bool is_ohttp(const char *ct)
{
	return ct != NULL && (strcasecmp(ct, VEIL_OHTTP_REQ_TYPE) == 0 ||
			      strcasecmp(ct, VEIL_OHTTP_CHUNKED_REQ_TYPE) == 0);
}

static void forward(veil_gateway *g, veil_http_request *r, route_ctx *c, gw_worker *w, bool meter)
{
	size_t len;
	const uint8_t *body = veil_http_body(r, &len);
	gw_forward_req f = {.worker = w,
			    .method = "POST",
			    .target = veil_http_path(r),
			    .content_type = veil_http_header(r, "Content-Type"),
			    .accept = veil_http_header(r, "Accept"),
			    .body = body,
			    .body_len = len,
			    .meter = meter,
			    .done = on_done,
			    .user = c};
	gw_forward(g, r, &f);
}

/* OHTTP: to the worker that attested the key id, unread. */
static void route_ohttp(veil_gateway *g, veil_http_request *r, route_ctx *c)
{
	size_t len;
	const uint8_t *body = veil_http_body(r, &len);
	gw_worker *w;

	c->tier = 1;
	c->opaque = true;
	if (len < VEIL_OHTTP_HEADER_LEN) {
		static const char bad[] =
		    "{\"type\":\"about:blank\",\"title\":\"not an OHTTP request\"}";
		gw_metrics_request(g->metrics, c->route, 1, GW_OUT_CLIENT_ERROR, 0);
		veil_http_reply(r, 400, "application/problem+json", bad, sizeof bad - 1);
		free(c);
		return;
	}
	w = gw_registry_pick_key(&g->reg, body[0]);
	if (w == NULL) {
		bool any_admitted = gw_registry_admitted(&g->reg) > 0;
		static const char rotate[] =
		    "{\"type\":\"https://iana.org/assignments/http-problem-types#ohttp-key\","
		    "\"title\":\"unknown OHTTP key id\"}";
		if (!any_admitted) {
			fail_fast(g, r, c);
		} else {
			gw_metrics_request(g->metrics, c->route, 1, GW_OUT_CLIENT_ERROR, 0);
			veil_http_reply(r, 400, "application/problem+json", rotate,
					sizeof rotate - 1);
		}
		free(c);
		return;
	}
	/* Metered under the model the worker attested: the gateway cannot
	 * read the request. */
	snprintf(c->model, sizeof c->model, "%s", w->att.model);
	forward(g, r, c, w, false);
}

static void route_openai(veil_http_request *r, veil_gateway *g, gw_route route)
{
	route_ctx *c = calloc(1, sizeof *c);
	const char *ct = veil_http_header(r, "Content-Type");
	const uint8_t *body;
	size_t len;
	json_t *doc = NULL;
	const char *model;
	gw_worker *w;
	int conf;

	if (c == NULL) {
		gw_reply_error(r, 500, "server_error", "internal", "out of memory");
		return;
	}
	c->g = g;
	c->route = route;
	c->t0 = gw_metrics_clock();
	conf = wants_confidential(g, r, c);
	if (conf < 0 || !admit_key(g, r, c)) {
		free(c);
		return;
	}
	if (route == GW_ROUTE_OHTTP || is_ohttp(ct)) {
		if (route == GW_ROUTE_OHTTP && !is_ohttp(ct)) {
			gw_metrics_request(g->metrics, c->route, 1, GW_OUT_CLIENT_ERROR, 0);
			gw_reply_error(r, 415, "invalid_request_error", "unsupported_media_type",
				       "/v1/ohttp takes %s or %s", VEIL_OHTTP_REQ_TYPE,
				       VEIL_OHTTP_CHUNKED_REQ_TYPE);
			free(c);
			return;
		}
		route_ohttp(g, r, c);
		return;
	}
	c->tier = conf;
	body = veil_http_body(r, &len);
	if (veil_json_parse(body, len, &doc) != VEIL_OK ||
	    (model = json_string_value(json_object_get(doc, "model"))) == NULL ||
	    strlen(model) > GW_MODEL_MAX) {
		json_decref(doc);
		gw_metrics_request(g->metrics, c->route, c->tier, GW_OUT_CLIENT_ERROR, 0);
		gw_reply_error(r, 400, "invalid_request_error", "invalid_request",
			       "the body must be a JSON object with a \"model\" string of at "
			       "most %d bytes",
			       GW_MODEL_MAX);
		free(c);
		return;
	}
	snprintf(c->model, sizeof c->model, "%s", model);
	json_decref(doc);
	w = gw_registry_pick(&g->reg, c->model, conf == 1);
	if (w == NULL) {
		bool any, confidential;
		if (conf == 1) {
			fail_fast(g, r, c);
		} else {
			gw_registry_model(&g->reg, c->model, &any, &confidential);
			gw_metrics_request(g->metrics, c->route, 0, GW_OUT_NO_WORKER, 0);
			if (veil_http_add_header(r, "Retry-After", "5") != VEIL_OK)
				veil_err_clear();
			gw_reply_error(
			    r, any ? 503 : 404, any ? "server_error" : "invalid_request_error",
			    any ? "no_worker" : "model_not_found",
			    any ? "no worker can serve %s now" : "the model %s is not served here",
			    c->model);
		}
		free(c);
		return;
	}
	/* Metering reads the answer and checks its receipt: only for an
	 * account that is billed. */
	forward(g, r, c, w, c->has_account);
}

static void h_chat(veil_http_request *r, void *user)
{
	route_openai(r, user, GW_ROUTE_CHAT);
}

static void h_completions(veil_http_request *r, void *user)
{
	route_openai(r, user, GW_ROUTE_COMPLETIONS);
}

static void h_ohttp(veil_http_request *r, void *user)
{
	route_openai(r, user, GW_ROUTE_OHTTP);
}

veil_err gw_route_mount(veil_gateway *g, veil_http_server *s)
{
	TRY(veil_http_route(s, "POST", "/v1/chat/completions", h_chat, g));
	TRY(veil_http_route(s, "POST", "/v1/completions", h_completions, g));
	return veil_http_route(s, "POST", "/v1/ohttp", h_ohttp, g);
}

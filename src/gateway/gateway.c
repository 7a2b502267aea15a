/*
 * gateway.c - veil-gateway's life: configuration, start (the log, the
 * accounts, the admin thread), the routes, stop and free; and what every
 * part uses: the clock, log lines and OpenAI-style errors.
 *
 * Log lines are JSON, one per line, with the time and the event; they
 * carry worker ids, URLs, models, outcomes and reasons, never a prompt, a
 * completion, an API key or a lease (docs/gateway.md "Logs").
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gateway_internal.h"
#include "gateway/log_api.h"
#include "veil/evidence.h"

int64_t gw_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gw_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629 section 4:
 * no overlong forms, no surrogates, nothing above U+10FFFF), 0 if none. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0; /* also stops at the NUL */
	return n;
}

void gw_text_clean(char *s)
{
	veil_text_sanitize(s);
	while (*s != '\0') {
		size_t n = utf8_len((const unsigned char *)s);
		if (n == 0) {
			*s++ = '?';
			continue;
		}
		s += n;
	}
}

void gw_log(veil_gateway *g, const char *event, json_t *fields)
{
	char *line;

	if (fields == NULL)
		return;
	json_object_set_new(fields, "t", json_integer(gw_now_ms()));
	json_object_set_new(fields, "event", json_string(event));
	line = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(fields);
	if (line == NULL)
		return;
	if (g->config.log != NULL)
		g->config.log(g->config.log_user, line);
	else
		fprintf(stderr, "%s\n", line);
	free(line);
}

static json_t *error_vjson(const char *type, const char *code, const char *fmt, va_list ap)
    VEIL_PRINTF(3, 0);

static json_t *error_vjson(const char *type, const char *code, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof msg, fmt, ap);
	/* The message may quote untrusted text cut by a cap (a member name
	 * at %.64s): jansson refuses a cut character, and the client would
	 * get a 500 for its 400. */
	gw_text_clean(msg);
	return json_pack("{s:{s:s, s:s, s:s?, s:n}}", "error", "message", msg, "type", type, "code",
			 code, "param");
}

json_t *gw_error_json(const char *type, const char *code, const char *fmt, ...)
{
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	j = error_vjson(type, code, fmt, ap);
	va_end(ap);
	return j;
}

void gw_reply_error(veil_http_request *r, int status, const char *type, const char *code,
		    const char *fmt, ...)
{
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	j = error_vjson(type, code, fmt, ap);
	va_end(ap);
	if (j == NULL) {
		veil_http_reply(r, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	veil_http_reply_json(r, status, j);
}

veil_err veil_gateway_new(const veil_gateway_config *c, veil_gateway **out)
{
	veil_gateway *g;
	veil_err err;

	ENSURE(c != NULL && out != NULL, VEIL_E_USAGE, "veil_gateway_new: NULL argument");
	*out = NULL;
	ENSURE(c->log_path != NULL && c->sth_key != NULL && veil_jwk_is_private(c->sth_key),
	       VEIL_E_USAGE, "the gateway needs a log file and a private key for its tree heads");
	ENSURE(veil_jwk_type_of(c->sth_key) == VEIL_JWK_EC_P256, VEIL_E_USAGE,
	       "the tree-head key must be EC P-256 (ES256)");
	ENSURE(c->policy != NULL, VEIL_E_USAGE, "the gateway needs an admission policy");
	ENSURE(c->plain_worker_count == 0 || c->plain_workers != NULL, VEIL_E_USAGE,
	       "plain workers: NULL list");
	g = calloc(1, sizeof *g);
	ENSURE(g != NULL, VEIL_E_NOMEM, "out of memory");
	g->config = *c;
	if (g->config.reattest_s == 0)
		g->config.reattest_s = VEIL_GW_REATTEST_S;
	if (g->config.health_s == 0)
		g->config.health_s = VEIL_GW_HEALTH_S;
	if (g->config.upstream_s == 0)
		g->config.upstream_s = VEIL_GW_UPSTREAM_TIMEOUT_S;
	if (g->config.join_ttl_s == 0)
		g->config.join_ttl_s = VEIL_GW_JOIN_TTL_S;
	if (g->config.max_body_bytes == 0)
		g->config.max_body_bytes = VEIL_GW_BODY_MAX;
	atomic_init(&g->stopping, false);
	gw_registry_init(&g->reg);
	pthread_mutex_init(&g->pending_mu, NULL);
	pthread_mutex_init(&g->admin_mu, NULL);
	pthread_cond_init(&g->admin_cv, NULL);
	g->jobs_tail = &g->jobs;
	err = gw_metrics_new(&g->metrics);
	if (err == VEIL_OK)
		err = veil_verifier_new(&g->verifier);
	if (err == VEIL_OK)
		err = veil_tlog_open(c->log_path, &g->log);
	if (err != VEIL_OK)
		err = veil_fail_context(err, "transparency log %s", c->log_path);
	if (err == VEIL_OK && c->accounts_path != NULL) {
		err = gw_accounts_open(c->accounts_path, &g->accounts);
		if (err != VEIL_OK)
			err = veil_fail_context(err, "accounts %s", c->accounts_path);
	}
	if (err == VEIL_OK)
		err = gw_admin_start(g);
	if (err != VEIL_OK) {
		veil_gateway_free(g);
		return err;
	}
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1] = "-";
	if (veil_jwk_thumbprint_b64(c->sth_key, kid) != VEIL_OK)
		veil_err_clear();
	gw_log(g, "gateway.start",
	       json_pack("{s:s, s:I, s:s, s:b, s:i, s:i}", "policy", veil_policy_id(c->policy),
			 "log_size", (json_int_t)veil_tlog_size(g->log), "sth_kid", kid, "accounts",
			 g->accounts != NULL, "reattest_s", g->config.reattest_s, "plain_workers",
			 (int)c->plain_worker_count));
	*out = g;
	return VEIL_OK;
}

veil_err veil_gateway_mount(veil_gateway *g, veil_http_server *s)
{
	TRY(gw_join_mount(g, s));
	TRY(gw_route_mount(g, s));
	TRY(gw_api_mount(g, s));
	return gw_log_api_mount(s, g->log, g->config.sth_key, &g->log_api);
}

void veil_gateway_stop(veil_gateway *g)
{
	if (g == NULL)
		return;
	gw_admin_stop(g);
}

void veil_gateway_free(veil_gateway *g)
{
	if (g == NULL)
		return;
	gw_admin_stop(g);
	gw_registry_clear(&g->reg);
	gw_log_api_free(g->log_api);
	gw_accounts_close(g->accounts);
	veil_tlog_close(g->log);
	veil_verifier_free(g->verifier);
	gw_metrics_free(g->metrics);
	pthread_mutex_destroy(&g->pending_mu);
	pthread_mutex_destroy(&g->admin_mu);
	pthread_cond_destroy(&g->admin_cv);
	free(g);
}

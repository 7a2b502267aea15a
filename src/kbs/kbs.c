/*
 * kbs.c - the key broker's set-up and the pieces its handlers share: the
 * error replies of the KBS protocol, one verifier per HTTP thread
 * (verifiers cache collateral and are not thread-safe), tokens (signed by
 * the key signer.c loads), and /healthz and /metrics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kbs/kbs_internal.h"
#include "veil/secret.h"

int64_t kbs_now(const veil_kbs *k)
{
	return k->config.now != NULL ? k->config.now() : (int64_t)time(NULL);
}

void kbs_reply_error(veil_http_request *r, int status, const char *name, const char *fmt, ...)
{
	char detail[VEIL_ERR_DETAIL_MAX], type[128];
	va_list ap;
	json_t *body;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	veil_text_sanitize(detail);
	snprintf(type, sizeof type, "%s%s", KBS_ERROR_PREFIX, name);
	body = json_pack("{s:s, s:s}", "type", type, "detail", detail);
	veil_http_reply_json(r, status, body);
}

static void verifier_free(void *v)
{
	veil_verifier_free(v);
}

veil_verifier *kbs_verifier(veil_kbs *k)
{
	veil_verifier *v = pthread_getspecific(k->verifier_key);

	if (v == NULL && veil_verifier_new(&v) == VEIL_OK &&
	    pthread_setspecific(k->verifier_key, v) != 0) {
		veil_verifier_free(v);
		v = NULL;
	}
	return v;
}

veil_err veil_kbs_new(const veil_kbs_config *c, veil_kbs **out)
{
	veil_kbs *k;
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(c->store != NULL, VEIL_E_USAGE, "the key broker needs a store");
	k = calloc(1, sizeof *k);
	ENSURE(k != NULL, VEIL_E_NOMEM, "out of memory");
	k->config = *c;
	if (k->config.token_lifetime_s <= 0)
		k->config.token_lifetime_s = 300;
	if (k->config.session_lifetime_s <= 0)
		k->config.session_lifetime_s = 300;
	if (pthread_key_create(&k->verifier_key, verifier_free) != 0) {
		free(k);
		return veil_fail(VEIL_E_NOMEM, "cannot create a thread key");
	}
	pthread_mutex_init(&k->lock, NULL);
	pthread_mutex_init(&k->admin_lock, NULL);
	CHECK(kbs_signer_load(k));
	/* Documents given at start are installed in the store, which is then
	 * the one source of the policies in force (policies.c). */
	if (c->policy != NULL)
		CHECK(kbs_doc_install(k, KBS_DOC_APPRAISAL, KBS_DOC_CURRENT, c->policy,
				      c->policy_len));
	for (size_t i = 0; i < c->refvals_count; i++)
		CHECK(kbs_doc_install(k, KBS_DOC_REFVALS, c->refvals[i].name, c->refvals[i].json,
				      c->refvals[i].len));
	if (c->resource_policy != NULL)
		CHECK(kbs_doc_install(k, KBS_DOC_RESOURCE, KBS_DOC_CURRENT, c->resource_policy,
				      c->resource_policy_len));
	CHECK(kbs_policies_build(k, &k->policies));
out:
	if (err != VEIL_OK) {
		veil_kbs_free(k);
		return err;
	}
	*out = k;
	return VEIL_OK;
}

void veil_kbs_free(veil_kbs *k)
{
	if (k == NULL)
		return;
	veil_verifier_free(pthread_getspecific(k->verifier_key));
	pthread_key_delete(k->verifier_key);
	veil_jwk_free(k->token_key);
	json_decref(k->token_jwk);
	kbs_policies_put(k->policies);
	pthread_mutex_destroy(&k->lock);
	pthread_mutex_destroy(&k->admin_lock);
	free(k);
}

veil_err kbs_token_sign(veil_kbs *k, json_t *ear, char **token)
{
	json_t *header = json_pack("{s:O}", "jwk", k->token_jwk);
	int64_t now = kbs_now(k);
	size_t len;
	veil_err err;

	ENSURE(header != NULL, VEIL_E_NOMEM, "out of memory");
	/* EAR (draft-ietf-rats-ar4si) carries iat; CoCo clients read exp and
	 * nbf to know when to attest again. */
	if (json_object_set_new(ear, "iat", json_integer(now)) != 0 ||
	    json_object_set_new(ear, "nbf", json_integer(now)) != 0 ||
	    json_object_set_new(ear, "exp", json_integer(now + k->config.token_lifetime_s)) != 0) {
		json_decref(header);
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	err = veil_jwt_sign(k->token_key, header, ear, token, &len);
	json_decref(header);
	return err;
}

veil_err kbs_token_verify(veil_kbs *k, const char *token, json_t **claims)
{
	veil_jwt_rules rules = {.now = kbs_now(k), .leeway = 0, .require_exp = true};

	return veil_jwt_verify(token, strlen(token), k->token_key, VEIL_JWS_ES256, &rules, claims,
			       NULL);
}

static void handle_healthz(veil_http_request *r, void *user)
{
	(void)user;
	veil_http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void handle_metrics(veil_http_request *r, void *user)
{
	veil_kbs *k = user;
	veil_writer w;

	veil_writer_init(&w, 64 * 1024);
	if (kbs_metrics_render(k, &w) == VEIL_OK)
		veil_http_reply(r, 200, "text/plain; version=0.0.4", w.data, w.len);
	else
		veil_http_reply(r, 500, "text/plain", "metrics unavailable\n", 20);
	veil_writer_clear(&w);
}

veil_err veil_kbs_mount(veil_kbs *k, veil_http_server *s)
{
	TRY(veil_http_route(s, "POST", "/kbs/v0/auth", kbs_handle_auth, k));
	TRY(veil_http_route(s, "POST", "/kbs/v0/attest", kbs_handle_attest, k));
	TRY(veil_http_route(s, "GET", "/kbs/v0/resource/*", kbs_handle_resource, k));
	/* The admin API (admin.c), on Trustee's paths. */
	TRY(veil_http_route(s, "POST", "/kbs/v0/resource/*", kbs_handle_resource_put, k));
	TRY(veil_http_route(s, "DELETE", "/kbs/v0/resource/*", kbs_handle_resource_delete, k));
	TRY(veil_http_route(s, "POST", "/kbs/v0/resource-policy", kbs_handle_resource_policy, k));
	TRY(veil_http_route(s, "POST", "/kbs/v0/attestation-policy", kbs_handle_attestation_policy,
			    k));
	TRY(veil_http_route(s, "POST", "/kbs/v0/reference-values", kbs_handle_reference_values, k));
	TRY(veil_http_route(s, "GET", "/healthz", handle_healthz, k));
	TRY(veil_http_route(s, "GET", "/metrics", handle_metrics, k));
	return VEIL_OK;
}

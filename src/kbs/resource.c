/*
 * resource.c - GET /kbs/v0/resource/<repository>/<type>/<tag>: a resource,
 * encrypted to the attested TEE's key (docs/kbs-protocol.md section 4).
 *
 * Who is asking comes from the session cookie of an attested session, or
 * else from a token this broker issued (Authorization: Bearer). The
 * resource policy decides on the session's EAR before the store is even
 * asked, so a refused caller learns nothing about which resources exist.
 * The value leaves the broker only inside a JWE to the key that was bound
 * into the verified evidence.
 */
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/json.h"
#include "veil/secret.h"

#define RESOURCE_PREFIX "/kbs/v0/resource/"

bool kbs_resource_path_ok(const char *p)
{
	int segments = 0;

	/* Trustee's character rule allows "a..b"; the store refuses any "..",
	 * so that no back end mapping names to files can be led astray. */
	if (strstr(p, "..") != NULL)
		return false;
	while (*p != '\0') {
		const char *start = p;
		if (*p == '.')
			return false;
		while (*p != '\0' && *p != '/') {
			char c = *p;
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
				return false;
			p++;
		}
		if (p == start)
			return false;
		segments++;
		if (*p == '/') {
			p++;
			if (*p == '\0')
				return false;
		}
	}
	return segments == 3;
}

/* The caller's EAR and TEE key: from an attested session, or a token. */
static int caller_read(veil_kbs *k, veil_http_request *r, json_t **ear, json_t **pubkey,
		       char *detail, size_t detail_len)
{
	char id[VEIL_STORE_SESSION_ID_MAX + 1];
	const char *auth = veil_http_header(r, "Authorization");

	*ear = *pubkey = NULL;
	if (veil_http_cookie(r, KBS_COOKIE, id, sizeof id)) {
		veil_store_session sess = {0};
		veil_err err = veil_store_session_get(k->config.store, id, kbs_now(k), &sess);
		if (err == VEIL_OK && sess.attested) {
			err = veil_json_parse((const uint8_t *)sess.ear, strlen(sess.ear), ear);
			if (err == VEIL_OK)
				err = veil_json_parse((const uint8_t *)sess.tee_pubkey,
						      strlen(sess.tee_pubkey), pubkey);
		} else if (err == VEIL_OK) {
			err = veil_fail(VEIL_E_USAGE, "the session has not attested");
		}
		veil_store_session_clear(&sess);
		if (err == VEIL_OK)
			return 0;
		json_decref(*ear);
		json_decref(*pubkey);
		*ear = *pubkey = NULL;
		/* A stale cookie: fall through to a bearer token if there is one. */
		if (auth == NULL) {
			snprintf(detail, detail_len, "session: %s", veil_err_detail());
			return 401;
		}
	}
	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0) {
		json_t *claims = NULL, *key;
		veil_err err = kbs_token_verify(k, auth + 7, &claims);
		if (err != VEIL_OK) {
			snprintf(detail, detail_len, "token: %s", veil_err_detail());
			return 401;
		}
		key = json_object_get(
		    json_object_get(
			json_object_get(json_object_get(json_object_get(claims, "submods"), "cpu0"),
					"ear.veraison.annotated-evidence"),
			"runtime_data_claims"),
		    "tee-pubkey");
		if (!json_is_object(key)) {
			json_decref(claims);
			snprintf(detail, detail_len, "the token names no TEE key");
			return 401;
		}
		*pubkey = json_incref(key);
		*ear = claims;
		return 0;
	}
	snprintf(detail, detail_len, "no attested session cookie and no bearer token");
	return 401;
}

void kbs_handle_resource(veil_http_request *r, void *user)
{
	veil_kbs *k = user;
	const char *path = veil_http_path(r) + strlen(RESOURCE_PREFIX);
	json_t *ear = NULL, *pubkey = NULL;
	veil_jwk *key = NULL;
	uint8_t *value = NULL;
	size_t value_len = 0, jwe_len;
	char detail[VEIL_ERR_DETAIL_MAX], *jwe = NULL;
	int status;
	kbs_policies *pol;
	bool allowed;
	double t0 = kbs_clock();
	const char *result = "error";
	veil_err err;

	if (!kbs_resource_path_ok(path) || strlen(path) > VEIL_STORE_PATH_MAX) {
		kbs_reply_error(r, 404, "InvalidRequestPath",
				"a resource path is <repository>/<type>/<tag>, each of "
				"[A-Za-z0-9_-][A-Za-z0-9_.-]*");
		return;
	}
	status = caller_read(k, r, &ear, &pubkey, detail, sizeof detail);
	if (status != 0) {
		kbs_reply_error(r, status, "TokenNotFound", "%s", detail);
		goto out;
	}
	pol = kbs_policies_get(k);
	allowed = kbs_policy_allows(pol->resource_policy, path, ear, detail, sizeof detail);
	kbs_policies_put(pol);
	if (!allowed) {
		result = "denied";
		kbs_metrics_release(k, false, kbs_clock() - t0);
		/* Which rule refused is the operator's to know, not the caller's:
		 * it would tell a refused caller how the policy is built. */
		kbs_reply_error(r, 403, "PolicyDeny",
				"%s is not released to this attestation result", path);
		kbs_log(k, "resource.denied",
			json_pack("{s:s, s:s, s:s}", "path", path, "peer", veil_http_peer(r),
				  "reason", detail));
		goto out;
	}
	err = veil_store_resource_get(k->config.store, path, &value, &value_len);
	if (err == VEIL_E_NOT_FOUND) {
		kbs_reply_error(r, 404, "ResourceNotFound", "no resource %s", path);
		goto out;
	}
	if (err == VEIL_OK)
		err = veil_jwk_parse_public(pubkey, &key);
	if (err == VEIL_OK)
		err = veil_jwe_encrypt(key, value, value_len, &jwe, &jwe_len);
	if (err != VEIL_OK) {
		kbs_reply_error(r, 500, "JweError", "cannot encrypt %s to the TEE's key: %s", path,
				veil_err_detail());
		goto out;
	}
	result = "released";
	kbs_metrics_release(k, true, kbs_clock() - t0);
	veil_http_reply(r, 200, "application/json", jwe, jwe_len);
out:
	kbs_log(k, "resource",
		json_pack("{s:s, s:s, s:f, s:s}", "path", path, "result", result, "ms",
			  (kbs_clock() - t0) * 1e3, "peer", veil_http_peer(r)));
	veil_free_secret(value, value_len);
	free(jwe);
	veil_jwk_free(key);
	json_decref(ear);
	json_decref(pubkey);
}

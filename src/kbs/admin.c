/*
 * admin.c - the broker's admin API, on Trustee's paths: set and delete
 * resources, replace the resource policy and the appraisal policy, and
 * register reference values (docs/kbs.md).
 *
 * Every call carries "Authorization: Bearer <JWT>" signed by the admin key
 * the daemon was started with (Ed25519 or ES256), with "aud"
 * "veil-kbs-admin" and an "exp" no more than an hour ahead, so a leaked
 * token is short-lived. No admin key means
 * every call is refused; --insecure-admin (development) lets all through
 * and the daemon says so at every start. A document is validated before it
 * is stored and installed, so a bad policy never replaces a good one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/secret.h"

#define ADMIN_TOKEN_MAX_AHEAD 3600 /* seconds: the longest admin token accepted */
#define ADMIN_LEEWAY          30
/* The audience an admin token must name, so that no other JWT the admin
 * key ever signed (for another service) opens the admin API. */
#define ADMIN_AUDIENCE "veil-kbs-admin"

static bool audience_ok(const json_t *claims)
{
	const json_t *aud = json_object_get(claims, "aud");
	json_t *v;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), ADMIN_AUDIENCE) == 0;
	json_array_foreach((json_t *)aud, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), ADMIN_AUDIENCE) == 0)
			return true;
	}
	return false;
}

static bool admin_authorized(veil_kbs *k, veil_http_request *r)
{
	const char *auth = veil_http_header(r, "Authorization");
	veil_jwt_rules rules = {.now = kbs_now(k), .leeway = ADMIN_LEEWAY, .require_exp = true};
	json_t *claims = NULL;
	json_t *exp;
	veil_err err;

	if (k->config.insecure_admin)
		return true;
	if (k->config.admin_key == NULL) {
		kbs_reply_error(r, 401, "AdminAuth",
				"the admin API is disabled: start veil-kbs with --admin-key");
		return false;
	}
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
		kbs_reply_error(r, 401, "AdminAuth", "an admin call needs a bearer token");
		return false;
	}
	err = veil_jwt_verify(auth + 7, strlen(auth + 7), k->config.admin_key,
			      VEIL_JWS_EDDSA | VEIL_JWS_ES256, &rules, &claims, NULL);
	exp = json_object_get(claims, "exp");
	if (err == VEIL_OK && json_integer_value(exp) > rules.now + ADMIN_TOKEN_MAX_AHEAD)
		err = veil_fail(VEIL_E_USAGE, "the token's exp is more than %d seconds ahead",
				ADMIN_TOKEN_MAX_AHEAD);
	if (err == VEIL_OK && !audience_ok(claims))
		err = veil_fail(VEIL_E_USAGE, "the token's \"aud\" must be \"%s\"", ADMIN_AUDIENCE);
	json_decref(claims);
	if (err != VEIL_OK) {
		kbs_reply_error(r, 401, "AdminAuth", "admin token refused: %s", veil_err_detail());
		return false;
	}
	return true;
}

static const char *resource_path(veil_http_request *r)
{
	const char *path = veil_http_path(r) + strlen("/kbs/v0/resource/");
	if (!kbs_resource_path_ok(path) || strlen(path) > VEIL_STORE_PATH_MAX) {
		kbs_reply_error(r, 404, "InvalidRequestPath",
				"a resource path is <repository>/<type>/<tag>, each of "
				"[A-Za-z0-9_-][A-Za-z0-9_.-]*");
		return NULL;
	}
	return path;
}

static void reply_done(veil_http_request *r, veil_err err, const char *what)
{
	if (err == VEIL_OK) {
		veil_http_reply(r, 200, "text/plain", "", 0);
		return;
	}
	if (err == VEIL_E_NOT_FOUND)
		kbs_reply_error(r, 404, "ResourceNotFound", "%s: %s", what, veil_err_detail());
	else if (err == VEIL_E_NOMEM || err == VEIL_E_IO || err == VEIL_E_CRYPTO)
		kbs_reply_error(r, 500, "StorageBackendError", "%s: %s", what, veil_err_detail());
	else
		kbs_reply_error(r, 400, "InvalidRequest", "%s: %s", what, veil_err_detail());
}

void kbs_handle_resource_put(veil_http_request *r, void *user)
{
	veil_kbs *k = user;
	const char *path;
	const uint8_t *body;
	size_t len;

	if (!admin_authorized(k, r) || (path = resource_path(r)) == NULL)
		return;
	body = veil_http_body(r, &len);
	reply_done(r, veil_store_resource_put(k->config.store, path, body, len), path);
}

void kbs_handle_resource_delete(veil_http_request *r, void *user)
{
	veil_kbs *k = user;
	const char *path;

	if (!admin_authorized(k, r) || (path = resource_path(r)) == NULL)
		return;
	reply_done(r, veil_store_resource_delete(k->config.store, path), path);
}

/* Trustee's policy bodies: {"policy": "<base64url of the document>"}, and
 * for attestation policies also "type" and "policy_id", which Veil's
 * single JSON policy language makes "veil" and "default" at most. */
veil_err kbs_policy_request_parse(const uint8_t *body, size_t n, bool attestation, uint8_t **doc,
				  size_t *len)
{
	static const char *const members[] = {"policy", "type", "policy_id", NULL};
	json_t *req = NULL, *v;
	const char *b64;
	size_t cap;
	veil_err err;

	*doc = NULL;
	*len = 0;
	CHECK(veil_json_parse(body, n, &req));
	CHECK(veil_json_only_members(req, "the policy request", members));
	CHECK(veil_json_get_string(req, "policy", &b64));
	v = json_object_get(req, "type");
	CHECK_THAT(v == NULL || (attestation && json_is_string(v) &&
				 strcmp(json_string_value(v), "veil") == 0),
		   VEIL_E_UNSUPPORTED, "policy \"type\" must be \"veil\" (JSON policies; no Rego)");
	v = json_object_get(req, "policy_id");
	CHECK_THAT(v == NULL || (attestation && json_is_string(v) &&
				 strcmp(json_string_value(v), "default") == 0),
		   VEIL_E_UNSUPPORTED,
		   "\"policy_id\" must be \"default\" (one policy is in force)");
	cap = veil_base64_decoded_max(strlen(b64));
	*doc = malloc(cap + 1);
	CHECK_THAT(*doc != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(veil_base64url_decode(b64, strlen(b64), *doc, cap, len));
out:
	json_decref(req);
	if (err != VEIL_OK) {
		free(*doc);
		*doc = NULL;
		*len = 0;
	}
	return err;
}

veil_err kbs_refvals_request_parse(const uint8_t *body, size_t n, char **name_out, char **doc_out)
{
	static const char *const members[] = {"name", "reference_values", NULL};
	json_t *req = NULL, *doc;
	const char *name;
	veil_err err;

	*name_out = *doc_out = NULL;
	CHECK(veil_json_parse(body, n, &req));
	CHECK(veil_json_only_members(req, "the reference values request", members));
	CHECK(veil_json_get_string(req, "name", &name));
	CHECK(veil_json_get_object(req, "reference_values", &doc));
	*name_out = strdup(name);
	*doc_out = json_dumps(doc, JSON_COMPACT);
	CHECK_THAT(*name_out != NULL && *doc_out != NULL, VEIL_E_NOMEM, "out of memory");
out:
	json_decref(req);
	if (err != VEIL_OK) {
		free(*name_out);
		free(*doc_out);
		*name_out = *doc_out = NULL;
	}
	return err;
}

/* Stores a document and installs the set built with it, as one step: admin
 * changes run one at a time (two racing could otherwise install a set
 * built before the later one), and a document that validates alone but
 * makes the set fail to build (a reference value clash across names) is
 * taken back out, so the store never holds what the next start would
 * refuse to load. */
static void install(veil_kbs *k, veil_http_request *r, const char *kind, const char *name,
		    const uint8_t *doc, size_t len)
{
	uint8_t *old = NULL;
	size_t old_len = 0;
	bool had_old = false;
	veil_err err;

	pthread_mutex_lock(&k->admin_lock);
	err = veil_store_doc_get(k->config.store, kind, name, &old, &old_len);
	if (err == VEIL_OK)
		had_old = true;
	else if (err == VEIL_E_NOT_FOUND)
		err = VEIL_OK;
	if (err == VEIL_OK)
		err = kbs_doc_install(k, kind, name, doc, len);
	if (err == VEIL_OK) {
		err = kbs_policies_reload(k);
		if (err != VEIL_OK) {
			char why[VEIL_ERR_DETAIL_MAX];
			veil_err undo;
			snprintf(why, sizeof why, "%s", veil_err_detail());
			undo = had_old
				   ? veil_store_doc_put(k->config.store, kind, name, old, old_len)
				   : veil_store_doc_delete(k->config.store, kind, name);
			if (undo != VEIL_OK)
				kbs_log(k, "admin.undo_failed",
					json_pack("{s:s, s:s, s:s}", "kind", kind, "name", name,
						  "reason", veil_err_detail()));
			(void)veil_fail(err, "%s", why);
		}
	}
	pthread_mutex_unlock(&k->admin_lock);
	free(old);
	reply_done(r, err, kind);
}

static void handle_policy(veil_http_request *r, veil_kbs *k, bool attestation)
{
	uint8_t *doc = NULL;
	const uint8_t *body;
	size_t len = 0, n;
	veil_err err;

	if (!admin_authorized(k, r))
		return;
	body = veil_http_body(r, &n);
	err = kbs_policy_request_parse(body, n, attestation, &doc, &len);
	if (err != VEIL_OK)
		reply_done(r, err, "policy request");
	else
		install(k, r, attestation ? KBS_DOC_APPRAISAL : KBS_DOC_RESOURCE, KBS_DOC_CURRENT,
			doc, len);
	free(doc);
}

void kbs_handle_resource_policy(veil_http_request *r, void *user)
{
	handle_policy(r, user, false);
}

void kbs_handle_attestation_policy(veil_http_request *r, void *user)
{
	handle_policy(r, user, true);
}

/* {"name": "<name>", "reference_values": {<a reference values document>}} */
void kbs_handle_reference_values(veil_http_request *r, void *user)
{
	veil_kbs *k = user;
	size_t n;
	const uint8_t *body;
	char *name = NULL, *doc = NULL;
	veil_err err;

	if (!admin_authorized(k, r))
		return;
	body = veil_http_body(r, &n);
	err = kbs_refvals_request_parse(body, n, &name, &doc);
	if (err != VEIL_OK)
		reply_done(r, err, "reference values request");
	else
		install(k, r, KBS_DOC_REFVALS, name, (const uint8_t *)doc, strlen(doc));
	free(name);
	free(doc);
}

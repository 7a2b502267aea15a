/*
 * policy.c - the client policy (include/veil/client.h, docs/client.md
 * "Policy"): what a user accepts before a prompt leaves the machine.
 *
 * A client policy is handed around (a deployment publishes one, a user
 * keeps a copy), so it is read as strictly as the appraisal policies it
 * embeds: duplicate keys, unknown members, wrong types and values out of
 * range are refused with the member and the file named, never skipped. A
 * typo such as "model" for "models" would otherwise leave a policy that
 * accepts some other model than the one the user meant.
 *
 * The appraisal policy and the reference values are kept in their own
 * formats (docs/appraisal.md) and read by their own parsers, from the
 * compact serialization of the members: one parser per format, so a
 * client and a key broker given the same text judge evidence the same way.
 * The log key is the public half only: a policy that carried the
 * gateway's private signing key would hand it to every user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil/client.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/json.h"
#include "veil/limits.h"

typedef struct client_model {
	char name[VEIL_CLIENT_MODEL_MAX + 1];
	size_t count;
	char digest[VEIL_CLIENT_DIGESTS_MAX][65]; /* lower-case hex */
} client_model;

struct veil_client_policy {
	veil_policy *appraisal;
	veil_refvals *refvals; /* NULL when the policy has none */
	veil_jwk *log_key;     /* NULL when the policy has none */
	int64_t reverify_s;
	client_model *models;
	size_t model_count;
	char engine[VEIL_CLIENT_ENGINES_MAX][VEIL_CLIENT_ENGINE_MAX + 1];
	size_t engine_count;
};

/* The engines a policy accepts when it does not say: the worker's own
 * engine and an upstream engine in the same TEE (docs/worker.md
 * "Engines"). "bench-reply" answers "ok" to everything and must never
 * pass unless a policy lists it. */
static const char *const default_engines[] = {"builtin", "upstream"};

bool veil_worker_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._:-/", *s) != NULL))
			return false;
	return true;
}

/* 64 hex digits in either case, written to out in lower case. */
static bool digest_norm(const char *s, char out[65])
{
	if (s == NULL || strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++) {
		int v = veil_hex_digit((unsigned char)s[i]);
		if (v < 0)
			return false;
		out[i] = "0123456789abcdef"[v];
	}
	out[64] = '\0';
	return true;
}

/* A member holding a document of another Veil format, as compact JSON
 * text for that format's parser (a new string the caller frees). */
static veil_err member_text(const json_t *v, const char *where, const char *key, char **out)
{
	ENSURE(json_is_object(v), VEIL_E_MALFORMED, "%s: \"%s\" must be an object", where, key);
	*out = json_dumps(v, JSON_COMPACT);
	ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

static veil_err appraisal_read(const json_t *doc, const char *where, veil_client_policy *p)
{
	json_t *v = json_object_get(doc, "appraisal");
	char *text;
	veil_err err;

	ENSURE(v != NULL, VEIL_E_MALFORMED,
	       "%s: \"appraisal\" is missing (the appraisal policy, docs/appraisal.md)", where);
	TRY(member_text(v, where, "appraisal", &text));
	err = veil_policy_parse((const uint8_t *)text, strlen(text), NULL, &p->appraisal);
	free(text);
	return err == VEIL_OK ? VEIL_OK : veil_fail_context(err, "%s: \"appraisal\"", where);
}

static veil_err refvals_read(const json_t *doc, const char *where, veil_client_policy *p)
{
	json_t *v = json_object_get(doc, "reference_values");
	char *text, origin[300];
	veil_err err;

	if (v == NULL)
		return VEIL_OK; /* every reference-value rule then fails closed */
	TRY(member_text(v, where, "reference_values", &text));
	/* The origin appears in errors and in appraisal reasons ("set
	 * expired"), so it names the file and the member. */
	snprintf(origin, sizeof origin, "%.200s: \"reference_values\"", where);
	err = veil_refvals_new(&p->refvals);
	if (err == VEIL_OK)
		err = veil_refvals_load(p->refvals, (const uint8_t *)text, strlen(text), origin);
	free(text);
	return err;
}

/* "models": {"name": ["<sha256 hex>", ...], ...}, at least one model, each
 * with at least one digest. */
static veil_err models_read(const json_t *doc, const char *where, veil_client_policy *p)
{
	json_t *m = json_object_get(doc, "models"), *list, *d;
	const char *name;
	size_t i;

	ENSURE(m != NULL, VEIL_E_MALFORMED,
	       "%s: \"models\" is missing (the model names and digests this client accepts)",
	       where);
	ENSURE(json_is_object(m), VEIL_E_MALFORMED,
	       "%s: \"models\" must be an object of model name to a list of SHA-256 digests",
	       where);
	ENSURE(json_object_size(m) > 0, VEIL_E_MALFORMED,
	       "%s: \"models\" names no model, so no worker could be accepted", where);
	ENSURE(json_object_size(m) <= VEIL_CLIENT_MODELS_MAX, VEIL_E_LIMIT,
	       "%s: \"models\" names more than %d models", where, VEIL_CLIENT_MODELS_MAX);
	p->models = calloc(json_object_size(m), sizeof *p->models);
	ENSURE(p->models != NULL, VEIL_E_NOMEM, "out of memory");
	json_object_foreach(m, name, list)
	{
		client_model *cm = &p->models[p->model_count];

		ENSURE(veil_worker_name_ok(name, VEIL_CLIENT_MODEL_MAX), VEIL_E_MALFORMED,
		       "%s: \"models\": the name \"%.40s\" must be 1 to %d characters of "
		       "[A-Za-z0-9._:/-]",
		       where, name, VEIL_CLIENT_MODEL_MAX);
		ENSURE(json_is_array(list) && json_array_size(list) > 0, VEIL_E_MALFORMED,
		       "%s: \"models\".\"%s\" must be a non-empty array of SHA-256 digests", where,
		       name);
		ENSURE(json_array_size(list) <= VEIL_CLIENT_DIGESTS_MAX, VEIL_E_LIMIT,
		       "%s: \"models\".\"%s\" lists more than %d digests", where, name,
		       VEIL_CLIENT_DIGESTS_MAX);
		memcpy(cm->name, name, strlen(name) + 1);
		json_array_foreach(list, i, d)
		{
			ENSURE(digest_norm(json_string_value(d), cm->digest[i]), VEIL_E_MALFORMED,
			       "%s: \"models\".\"%s\"[%zu] must be a string of 64 hex digits (the "
			       "SHA-256 of the model file)",
			       where, name, i);
		}
		cm->count = json_array_size(list);
		p->model_count++;
	}
	return VEIL_OK;
}

static veil_err engines_read(const json_t *doc, const char *where, veil_client_policy *p)
{
	json_t *list = json_object_get(doc, "engines"), *v;
	size_t i;

	if (list == NULL) {
		for (i = 0; i < sizeof default_engines / sizeof default_engines[0]; i++)
			memcpy(p->engine[i], default_engines[i], strlen(default_engines[i]) + 1);
		p->engine_count = i;
		return VEIL_OK;
	}
	ENSURE(json_is_array(list) && json_array_size(list) > 0, VEIL_E_MALFORMED,
	       "%s: \"engines\" must be a non-empty array of engine names", where);
	ENSURE(json_array_size(list) <= VEIL_CLIENT_ENGINES_MAX, VEIL_E_LIMIT,
	       "%s: \"engines\" lists more than %d engines", where, VEIL_CLIENT_ENGINES_MAX);
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);
		ENSURE(s != NULL && veil_worker_name_ok(s, VEIL_CLIENT_ENGINE_MAX),
		       VEIL_E_MALFORMED,
		       "%s: \"engines\"[%zu] must be an engine name (1 to %d characters of "
		       "[A-Za-z0-9._:/-], e.g. \"builtin\")",
		       where, i, VEIL_CLIENT_ENGINE_MAX);
		memcpy(p->engine[i], s, strlen(s) + 1);
	}
	p->engine_count = json_array_size(list);
	return VEIL_OK;
}

static veil_err log_key_read(const json_t *doc, const char *where, veil_client_policy *p)
{
	json_t *v = json_object_get(doc, "log_key");
	veil_err err;

	if (v == NULL)
		return VEIL_OK;
	ENSURE(json_is_object(v), VEIL_E_MALFORMED,
	       "%s: \"log_key\" must be a JWK object (the gateway's public log key)", where);
	/* Said plainly: the JWK parser would only call "d" unknown. */
	ENSURE(json_object_get(v, "d") == NULL, VEIL_E_MALFORMED,
	       "%s: \"log_key\" is a private key; a client policy takes the public half only "
	       "(drop \"d\", and keep the private key with the gateway)",
	       where);
	err = veil_jwk_parse_public(v, &p->log_key);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s: \"log_key\"", where);
	/* Signed tree heads are ES256 (docs/gateway-log-api.md). */
	ENSURE(veil_jwk_type_of(p->log_key) == VEIL_JWK_EC_P256, VEIL_E_MALFORMED,
	       "%s: \"log_key\" is an %s key; the log signs with ES256, an EC P-256 key", where,
	       veil_jwk_type_name(veil_jwk_type_of(p->log_key)));
	return VEIL_OK;
}

static veil_err policy_read(const json_t *doc, const char *where, veil_client_policy *p)
{
	static const char *const members[] = {"version", "appraisal", "reference_values",
					      "models",  "engines",   "reverify_seconds",
					      "log_key", NULL};
	const char *key;
	json_t *v, *version = json_object_get(doc, "version");

	ENSURE(json_is_object(doc), VEIL_E_MALFORMED, "%s: not a JSON object", where);
	json_object_foreach((json_t *)doc, key, v)
	{
		bool known = false;
		for (size_t i = 0; members[i] != NULL && !known; i++)
			known = strcmp(key, members[i]) == 0;
		ENSURE(known, VEIL_E_MALFORMED,
		       "%s: unknown member \"%.64s\" (a client policy has version, appraisal, "
		       "reference_values, models, engines, reverify_seconds and log_key; see "
		       "docs/client.md)",
		       where, key);
	}
	ENSURE(version != NULL, VEIL_E_MALFORMED, "%s: \"version\" is missing", where);
	ENSURE(json_is_integer(version), VEIL_E_MALFORMED, "%s: \"version\" must be an integer",
	       where);
	ENSURE(json_integer_value(version) == VEIL_CLIENT_POLICY_VERSION, VEIL_E_UNSUPPORTED,
	       "%s: \"version\" %lld is not one this build reads (%d)", where,
	       (long long)json_integer_value(version), VEIL_CLIENT_POLICY_VERSION);
	TRY(appraisal_read(doc, where, p));
	TRY(refvals_read(doc, where, p));
	TRY(models_read(doc, where, p));
	TRY(engines_read(doc, where, p));
	p->reverify_s = VEIL_CLIENT_REVERIFY_DEFAULT;
	v = json_object_get(doc, "reverify_seconds");
	if (v != NULL) {
		ENSURE(json_is_integer(v), VEIL_E_MALFORMED,
		       "%s: \"reverify_seconds\" must be an integer", where);
		ENSURE(json_integer_value(v) >= 1 &&
			   json_integer_value(v) <= VEIL_CLIENT_REVERIFY_MAX,
		       VEIL_E_MALFORMED, "%s: \"reverify_seconds\" is %lld, outside 1..%d", where,
		       (long long)json_integer_value(v), VEIL_CLIENT_REVERIFY_MAX);
		p->reverify_s = json_integer_value(v);
	}
	return log_key_read(doc, where, p);
}

veil_err veil_client_policy_parse(const uint8_t *json, size_t len, const char *origin,
				  veil_client_policy **out)
{
	const char *where = origin != NULL ? origin : "client policy";
	veil_client_policy *p = NULL;
	json_t *doc = NULL;
	veil_err err;

	ENSURE(out != NULL && (json != NULL || len == 0), VEIL_E_USAGE,
	       "veil_client_policy_parse: NULL argument");
	*out = NULL;
	CHECK_THAT(len <= VEIL_CLIENT_POLICY_MAX_BYTES, VEIL_E_LIMIT,
		   "%.200s: a client policy of %zu bytes is over the %d-byte limit", where, len,
		   VEIL_CLIENT_POLICY_MAX_BYTES);
	/* Duplicate keys are refused at every level (json.h). */
	err = veil_json_parse_max(json, len, VEIL_CLIENT_POLICY_MAX_BYTES, &doc);
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "%.200s", where);
		goto out;
	}
	p = calloc(1, sizeof *p);
	CHECK_THAT(p != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(policy_read(doc, where, p));
	*out = p;
	p = NULL;
out:
	veil_client_policy_free(p);
	json_decref(doc);
	return err;
}

veil_err veil_client_policy_load(const char *path, veil_client_policy **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	veil_err err;

	ENSURE(path != NULL && out != NULL, VEIL_E_USAGE, "veil_client_policy_load: NULL argument");
	*out = NULL;
	err = veil_file_read(path, VEIL_CLIENT_POLICY_MAX_BYTES, &buf, &len);
	if (err != VEIL_OK)
		return veil_fail_context(err, "client policy");
	err = veil_client_policy_parse(buf, len, path, out);
	free(buf);
	return err;
}

void veil_client_policy_free(veil_client_policy *p)
{
	if (p == NULL)
		return;
	veil_policy_free(p->appraisal);
	veil_refvals_free(p->refvals);
	veil_jwk_free(p->log_key);
	free(p->models);
	free(p);
}

const veil_policy *veil_client_policy_appraisal(const veil_client_policy *p)
{
	return p != NULL ? p->appraisal : NULL;
}

const veil_refvals *veil_client_policy_refvals(const veil_client_policy *p)
{
	return p != NULL ? p->refvals : NULL;
}

const veil_jwk *veil_client_policy_log_key(const veil_client_policy *p)
{
	return p != NULL ? p->log_key : NULL;
}

int64_t veil_client_policy_reverify_s(const veil_client_policy *p)
{
	return p != NULL ? p->reverify_s : VEIL_CLIENT_REVERIFY_DEFAULT;
}

bool veil_client_policy_model_ok(const veil_client_policy *p, const char *model,
				 const char *sha256_hex)
{
	char want[65];

	if (p == NULL || model == NULL || !digest_norm(sha256_hex, want))
		return false;
	for (size_t i = 0; i < p->model_count; i++) {
		if (strcmp(p->models[i].name, model) != 0)
			continue;
		for (size_t k = 0; k < p->models[i].count; k++)
			if (strcmp(p->models[i].digest[k], want) == 0)
				return true;
		return false; /* names are unique: JSON duplicates are refused */
	}
	return false;
}

bool veil_client_policy_engine_ok(const veil_client_policy *p, const char *engine)
{
	if (p == NULL || engine == NULL)
		return false;
	for (size_t i = 0; i < p->engine_count; i++)
		if (strcmp(p->engine[i], engine) == 0)
			return true;
	return false;
}

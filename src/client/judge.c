/*
 * judge.c - deciding whether one evidence bundle describes a worker this
 * client may send a prompt to (include/veil/client.h, docs/client.md
 * "Judging evidence").
 *
 * The gateway makes the same decision for admission (src/gateway/
 * attest.c), but a client does not trust the gateway's decision: it makes
 * its own under its own policy, on the very bytes it will name in receipts
 * and audits. In order:
 *   1. verify: signatures, certificate chains, and the bindings of the
 *      GPU reports and of runtime_data to the CPU report (libveil's
 *      veil_bundle_verify_json, under the sim roots and revocation mode
 *      of the policy's appraisal policy);
 *   2. nonce: the runtime data answers the client's own nonce (fresh
 *      mode), so the evidence is not a replay;
 *   3. runtime_data: a worker description the client can use: id, model,
 *      model digest, engine, OHTTP keys it can encrypt to, a P-256
 *      receipt key;
 *   4. policy: the appraisal under the policy's appraisal policy and
 *      reference values is "affirming" (a warning is a refusal too);
 *   5. model: the model name and digest are allowed by the policy;
 *   6. engine: the engine is allowed by the policy.
 * Everything the client later relies on (the OHTTP key, the receipt key,
 * the model digest) comes from the runtime data that the CPU report
 * binds, and from nowhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veil/bundle.h"
#include "veil/client.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/limits.h"

/* Indexed by veil_client_check; the names tools print and docs/client.md
 * lists. */
static const char *const check_names[] = {
    [VEIL_CHECK_NONE] = "none",
    [VEIL_CHECK_FETCH] = "fetch",
    [VEIL_CHECK_LOG] = "log",
    [VEIL_CHECK_VERIFY] = "verify",
    [VEIL_CHECK_NONCE] = "nonce",
    [VEIL_CHECK_RUNTIME_DATA] = "runtime_data",
    [VEIL_CHECK_POLICY] = "policy",
    [VEIL_CHECK_MODEL] = "model",
    [VEIL_CHECK_ENGINE] = "engine",
    [VEIL_CHECK_SAME] = "same",
    [VEIL_CHECK_UNAVAILABLE] = "unavailable",
    [VEIL_CHECK_TRANSPORT] = "transport",
    [VEIL_CHECK_DECRYPT] = "decrypt",
    [VEIL_CHECK_RESPONSE] = "response",
    [VEIL_CHECK_RECEIPT] = "receipt",
};

const char *veil_client_check_name(veil_client_check c)
{
	if ((unsigned)c >= sizeof check_names / sizeof check_names[0] || check_names[c] == NULL)
		return "unknown";
	return check_names[c];
}

void veil_client_worker_clear(veil_client_worker *w)
{
	if (w == NULL)
		return;
	veil_jwk_free(w->receipt_key);
	free(w->ohttp_keys);
	json_decref(w->ear);
	free(w->bundle);
	memset(w, 0, sizeof *w);
	w->log_index = -1;
}

/* The receipt key: "tee-pubkey", a public EC P-256 JWK (receipts are
 * ES256, docs/receipt.md), named by its RFC 7638 thumbprint. */
static veil_err read_receipt_key(const json_t *rd, veil_client_worker *out)
{
	json_t *pub = json_object_get(rd, "tee-pubkey");

	ENSURE(pub != NULL, VEIL_E_MALFORMED, "runtime_data has no tee-pubkey (the receipt key)");
	TRY(veil_jwk_parse_public(pub, &out->receipt_key));
	ENSURE(veil_jwk_type_of(out->receipt_key) == VEIL_JWK_EC_P256 &&
		   !veil_jwk_is_private(out->receipt_key),
	       VEIL_E_MALFORMED, "tee-pubkey must be a public EC P-256 key");
	return veil_jwk_thumbprint_b64(out->receipt_key, out->receipt_kid);
}

/* The OHTTP keys (RFC 9458 section 3.2, base64 in the runtime data), and
 * the client built from the first configuration with a suite Veil speaks:
 * requests are encrypted to it and routed by its key id. */
static veil_err read_ohttp_keys(const char *b64, veil_client_worker *out)
{
	veil_ohttp_keyconfig cfg[VEIL_OHTTP_CONFIGS_MAX];
	size_t cap = veil_base64_decoded_max(strlen(b64)), count = 0;

	ENSURE(cap <= VEIL_CLIENT_OHTTP_KEYS_MAX, VEIL_E_LIMIT,
	       "veil-worker.ohttp-keys is over %d bytes", VEIL_CLIENT_OHTTP_KEYS_MAX);
	out->ohttp_keys = malloc(cap > 0 ? cap : 1);
	ENSURE(out->ohttp_keys != NULL, VEIL_E_NOMEM, "out of memory");
	if (veil_base64_decode(b64, strlen(b64), out->ohttp_keys, cap, &out->ohttp_keys_len) !=
	    VEIL_OK)
		return veil_fail_context(VEIL_E_MALFORMED, "veil-worker.ohttp-keys is not base64");
	if (veil_ohttp_keys_parse(out->ohttp_keys, out->ohttp_keys_len, cfg,
				  sizeof cfg / sizeof cfg[0], &count) != VEIL_OK)
		return veil_fail_context(VEIL_E_MALFORMED,
					 "veil-worker.ohttp-keys is not application/ohttp-keys");
	for (size_t i = 0; i < count; i++)
		if (veil_ohttp_client_init(&out->ohttp, &cfg[i]) == VEIL_OK)
			return VEIL_OK;
	memset(&out->ohttp, 0, sizeof out->ohttp);
	return veil_fail(VEIL_E_UNSUPPORTED,
			 "veil-worker.ohttp-keys offers no configuration with a suite Veil speaks");
}

/* Step 3: the worker description (docs/worker.md "Evidence"). */
static veil_err read_worker(const json_t *rd, veil_client_worker *out)
{
	json_t *wk;
	const char *id, *model, *digest, *keys, *engine;

	ENSURE(json_is_object(rd), VEIL_E_MALFORMED, "the bundle has no runtime_data object");
	TRY(veil_json_get_object(rd, "veil-worker", &wk));
	ENSURE(json_is_object(wk), VEIL_E_MALFORMED, "veil-worker must be an object");
	TRY(veil_json_get_string(wk, "id", &id));
	TRY(veil_json_get_string(wk, "model", &model));
	TRY(veil_json_get_string(wk, "model-sha256", &digest));
	TRY(veil_json_get_string(wk, "engine", &engine));
	TRY(veil_json_get_string(wk, "ohttp-keys", &keys));
	ENSURE(veil_worker_name_ok(id, VEIL_CLIENT_ID_MAX), VEIL_E_MALFORMED,
	       "veil-worker.id must be 1 to %d characters of [A-Za-z0-9._:/-]", VEIL_CLIENT_ID_MAX);
	ENSURE(veil_worker_name_ok(model, VEIL_CLIENT_MODEL_MAX), VEIL_E_MALFORMED,
	       "veil-worker.model must be 1 to %d characters of [A-Za-z0-9._:/-]",
	       VEIL_CLIENT_MODEL_MAX);
	ENSURE(strlen(digest) == 64, VEIL_E_MALFORMED,
	       "veil-worker.model-sha256 must be 64 hex digits");
	for (size_t i = 0; i < 64; i++) {
		int v = veil_hex_digit((unsigned char)digest[i]);
		ENSURE(v >= 0, VEIL_E_MALFORMED, "veil-worker.model-sha256 must be 64 hex digits");
		/* One spelling, the receipts' (lower case). */
		out->model_sha256[i] = "0123456789abcdef"[v];
	}
	ENSURE(veil_worker_name_ok(engine, sizeof out->engine - 1), VEIL_E_MALFORMED,
	       "veil-worker.engine must be 1 to %zu characters of [A-Za-z0-9._:/-]",
	       sizeof out->engine - 1);
	memcpy(out->id, id, strlen(id) + 1);
	memcpy(out->model, model, strlen(model) + 1);
	memcpy(out->engine, engine, strlen(engine) + 1);
	TRY(read_receipt_key(rd, out));
	return read_ohttp_keys(keys, out);
}

/* Step 2: the runtime data's "nonce" is the hex of the client's bytes
 * (either case: the digits, not their spelling, are the challenge). */
static bool nonce_ok(const json_t *rd, const uint8_t *nonce, size_t nonce_len)
{
	char want[2 * 64 + 1];
	const char *got = json_string_value(json_object_get(rd, "nonce"));

	veil_hex_encode(nonce, nonce_len, want);
	return got != NULL && strlen(got) == 2 * nonce_len && strcasecmp(got, want) == 0;
}

static veil_err copy_bundle(const uint8_t *bundle, size_t len, veil_client_worker *out)
{
	out->bundle = malloc(len > 0 ? len : 1);
	ENSURE(out->bundle != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(out->bundle, bundle, len);
	out->bundle_len = len;
	return veil_sha256(bundle, len, out->bundle_sha256);
}

/* Steps 1 to 6, or with `appraise` false steps 1 and 3 only. */
static veil_err judge(const veil_client_policy *p, const uint8_t *bundle, size_t len,
		      const uint8_t *nonce, size_t nonce_len, int64_t at, bool appraise,
		      veil_client_worker *out, veil_client_check *check)
{
	const veil_policy *ap = veil_client_policy_appraisal(p);
	const uint8_t(*roots)[32] = NULL;
	json_t *doc = NULL, *result = NULL, *rd;
	const char *tee;
	char why[400];
	veil_err err = VEIL_OK;

	ENSURE(out != NULL && check != NULL, VEIL_E_USAGE, "veil_client_judge: NULL argument");
	memset(out, 0, sizeof *out);
	out->log_index = -1;
	*check = VEIL_CHECK_VERIFY;
	ENSURE(p != NULL && (bundle != NULL || len == 0), VEIL_E_USAGE,
	       "veil_client_judge: NULL argument");
	if (nonce != NULL && (nonce_len == 0 || nonce_len > 64)) {
		*check = VEIL_CHECK_NONCE;
		return veil_fail(VEIL_E_USAGE, "a nonce must be 1 to 64 bytes");
	}

	/* Step 1: genuine. */
	CHECK_THAT(len <= VEIL_CLIENT_EVIDENCE_MAX, VEIL_E_LIMIT, "the evidence is over %d bytes",
		   VEIL_CLIENT_EVIDENCE_MAX);
	/* The bytes as received: receipts and the log name them by digest. */
	CHECK(copy_bundle(bundle, len, out));
	err = veil_json_parse_max(bundle, len, VEIL_CLIENT_EVIDENCE_MAX, &doc);
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "the evidence is not a bundle");
		goto out;
	}
	{
		size_t nroots = veil_policy_sim_roots(ap, &roots);
		veil_verify_ctx ctx = {.at = at,
				       .revocation = veil_policy_verify_revocation(ap),
				       .sim_roots = roots,
				       .sim_root_count = nroots};
		err = veil_bundle_verify_json(doc, &ctx, &result);
	}
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "the evidence does not verify");
		goto out;
	}
	if (!json_is_true(json_object_get(result, "verified"))) {
		veil_result_failed_checks(result, why, sizeof why);
		err = veil_fail(VEIL_E_VERIFY, "the evidence does not verify: failed %s", why);
		goto out;
	}

	/* Step 2: fresh, made for this client's challenge. */
	rd = json_object_get(doc, "runtime_data");
	if (nonce != NULL) {
		*check = VEIL_CHECK_NONCE;
		CHECK_THAT(nonce_ok(rd, nonce, nonce_len), VEIL_E_VERIFY,
			   "the evidence answers another nonce (replayed, or made for another "
			   "challenge)");
	}

	/* Step 3: a worker the client can talk to. */
	*check = VEIL_CHECK_RUNTIME_DATA;
	err = read_worker(rd, out);
	if (err != VEIL_OK) {
		err = veil_fail_context(VEIL_E_VERIFY, "the runtime data");
		goto out;
	}

	if (!appraise)
		goto platform;
	/* Step 4: acceptable under the client's appraisal policy. */
	*check = VEIL_CHECK_POLICY;
	err = veil_appraise(ap, veil_client_policy_refvals(p), result, at, &out->ear);
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "the appraisal");
		goto out;
	}
	snprintf(out->ear_status, sizeof out->ear_status, "%s", veil_ear_status(out->ear));
	if (strcmp(out->ear_status, "affirming") != 0) {
		veil_ear_summary(out->ear, why, sizeof why);
		err = veil_fail(VEIL_E_VERIFY, "the evidence is %s under the client policy: %s",
				out->ear_status, why);
		goto out;
	}

	/* Steps 5 and 6: the model and the engine the user asked for. The
	 * names are the worker's own ([A-Za-z0-9._:/-]), safe to quote. */
	*check = VEIL_CHECK_MODEL;
	CHECK_THAT(veil_client_policy_model_ok(p, out->model, out->model_sha256), VEIL_E_VERIFY,
		   "worker %s serves model \"%s\" with digest %s, which the client policy does "
		   "not allow",
		   out->id, out->model, out->model_sha256);
	*check = VEIL_CHECK_ENGINE;
	CHECK_THAT(veil_client_policy_engine_ok(p, out->engine), VEIL_E_VERIFY,
		   "worker %s runs engine \"%s\", which the client policy does not allow "
		   "(\"engines\")",
		   out->id, out->engine);

platform:
	/* The CPU TEE names the platform ("bundle" is the composite). */
	tee = json_string_value(
	    json_object_get(json_object_get(json_object_get(result, "submods"), "cpu"), "tee"));
	snprintf(out->tee, sizeof out->tee, "%s", tee != NULL ? tee : "?");
	out->verified_at = at;
	*check = VEIL_CHECK_NONE;
out:
	if (err != VEIL_OK)
		veil_client_worker_clear(out);
	json_decref(doc);
	json_decref(result);
	return err;
}

veil_err veil_client_judge(const veil_client_policy *p, const uint8_t *bundle, size_t len,
			   const uint8_t *nonce, size_t nonce_len, int64_t at,
			   veil_client_worker *out, veil_client_check *check)
{
	return judge(p, bundle, len, nonce, nonce_len, at, true, out, check);
}

veil_err veil_client_judge_genuine(const veil_client_policy *p, const uint8_t *bundle, size_t len,
				   int64_t at, veil_client_worker *out, veil_client_check *check)
{
	return judge(p, bundle, len, NULL, 0, at, false, out, check);
}

bool veil_client_worker_same(const veil_client_worker *a, const veil_client_worker *b,
			     const char **what)
{
	const char *diff = strcmp(a->id, b->id) != 0                       ? "worker id"
			   : strcmp(a->model, b->model) != 0               ? "model"
			   : strcmp(a->model_sha256, b->model_sha256) != 0 ? "model digest"
			   : strcmp(a->engine, b->engine) != 0             ? "engine"
			   : strcmp(a->receipt_kid, b->receipt_kid) != 0   ? "receipt key"
			   : a->ohttp_keys_len != b->ohttp_keys_len ||
				   (a->ohttp_keys_len > 0 &&
				    memcmp(a->ohttp_keys, b->ohttp_keys, a->ohttp_keys_len) != 0)
			       ? "OHTTP keys"
			       : NULL;

	if (what != NULL)
		*what = diff;
	return diff == NULL;
}

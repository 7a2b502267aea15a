/*
 * attest.c - POST /kbs/v0/attest: the Attestation and Response of the RCAR
 * handshake (docs/kbs-protocol.md section 2).
 *
 * The evidence must be bound to this session: REPORT_DATA is
 * SHA-384(JCS({"additional-evidence": S, "nonce": N, "tee-pubkey": K}))
 * zero-padded, with N the nonce this session was issued and S the
 * additional evidence string exactly as sent, and each device report's
 * nonce comes from {"nonce": N, "tee-pubkey": K}. libveil's bundle verifier
 * checks all of it (src/evidence/bundle.c), the appraisal policy judges the
 * result, and the EAR becomes the session's token, signed by the broker.
 * Init-data, when sent, must match the TEE's init-data register in the
 * verified evidence (src/kbs/initdata.c); its digest goes into the token.
 *
 * Evidence that does not verify gets no token (401, so a CoCo client may
 * try again with fresh evidence); evidence that verifies but is not
 * acceptable gets a token that says so, and the resource policy refuses it.
 */
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/bundle.h"
#include "veil/check.h"
#include "veil/coco.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/secret.h"

static const char *const attest_members[] = {"init-data", "runtime-data", "tee-evidence", NULL};
static const char *const runtime_members[] = {"nonce", "tee-pubkey", NULL};
static const char *const evidence_members[] = {"primary_evidence", "additional_evidence", NULL};

veil_err kbs_attest_request_parse(const uint8_t *body, size_t len, kbs_attest_req *a)
{
	json_t *rt, *ev, *init;

	TRY(veil_json_parse(body, len, &a->doc));
	TRY(veil_json_only_members(a->doc, "the attest request", attest_members));
	TRY(veil_json_get_object(a->doc, "runtime-data", &rt));
	TRY(veil_json_only_members(rt, "\"runtime-data\"", runtime_members));
	TRY(veil_json_get_string(rt, "nonce", &a->nonce));
	TRY(veil_json_get_object(rt, "tee-pubkey", &a->tee_pubkey));
	TRY(veil_json_get_object(a->doc, "tee-evidence", &ev));
	TRY(veil_json_only_members(ev, "\"tee-evidence\"", evidence_members));
	a->primary = json_object_get(ev, "primary_evidence");
	a->additional = json_object_get(ev, "additional_evidence");
	ENSURE(a->primary != NULL, VEIL_E_MALFORMED, "\"tee-evidence\" has no primary_evidence");
	ENSURE(json_is_string(a->additional), VEIL_E_MALFORMED,
	       "\"tee-evidence\".additional_evidence must be a string (\"\" for none)");
	/* Init-data: read and digested here, bound to the TEE's register once
	 * the evidence has verified (kbs_initdata_bind). */
	init = json_object_get(a->doc, "init-data");
	return kbs_initdata_parse(init, &a->init_data);
}

/* CoCo's SNP evidence {"attestation_report": {...}, "cert_chain": [...]}
 * (docs/kbs-protocol.md, "Per-TEE evidence forms"): the ABI report rebuilt
 * as base64 text, and the host's certificates as the bundle's collateral. */
static veil_err snp_coco(const json_t *evidence, json_t **primary, json_t **certs)
{
	uint8_t report[VEIL_COCO_SNP_REPORT_SIZE];
	char b64[2 * VEIL_COCO_SNP_REPORT_SIZE];

	TRY(veil_coco_snp_evidence(evidence, report, certs));
	veil_base64_encode(report, sizeof report, b64);
	*primary = json_string(b64);
	if (*primary == NULL) {
		json_decref(*certs);
		*certs = NULL;
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	return VEIL_OK;
}

/* The evidence as a libveil bundle (built in memory and verified as it
 * is): Veil's own forms carry the report as base64 text; CoCo's TDX and
 * SNP objects are read into that form. */
static veil_err bundle_build(const char *tee, const kbs_attest_req *a, json_t **out)
{
	json_t *rd, *doc, *primary = json_incref(a->primary), *certs = NULL;

	ENSURE(strcmp(tee, "sim") == 0 || strcmp(tee, "snp") == 0 || strcmp(tee, "tdx") == 0,
	       VEIL_E_UNSUPPORTED,
	       "evidence of TEE \"%s\" is not accepted (Veil verifies snp, tdx and sim)", tee);
	/* CoCo's TDX attester sends {"cc_eventlog": <base64 CCEL or null>,
	 * "quote": <base64 quote>} (and later "aa_eventlog"). The event logs
	 * are unsigned replay material for the RTMRs, which Veil's policies do
	 * not use yet: the quote is the evidence. */
	if (strcmp(tee, "tdx") == 0 && json_is_object(a->primary)) {
		static const char *const members[] = {"quote", "cc_eventlog", "aa_eventlog", NULL};
		json_t *q = json_object_get(a->primary, "quote");
		json_decref(primary);
		TRY(veil_json_only_members(a->primary, "TDX primary_evidence", members));
		ENSURE(json_is_string(q), VEIL_E_MALFORMED,
		       "TDX primary_evidence needs \"quote\" (base64)");
		primary = json_incref(q);
	} else if (strcmp(tee, "snp") == 0 && json_is_object(a->primary)) {
		json_decref(primary);
		TRY(snp_coco(a->primary, &primary, &certs));
	}
	if (!json_is_string(primary)) {
		json_decref(primary);
		json_decref(certs);
		return veil_fail(VEIL_E_UNSUPPORTED,
				 "primary_evidence for %s must be the base64 report or CoCo's "
				 "evidence object",
				 tee);
	}
	rd = json_pack("{s:O, s:s, s:O}", "additional-evidence", a->additional, "nonce", a->nonce,
		       "tee-pubkey", a->tee_pubkey);
	if (rd == NULL)
		json_decref(primary);
	/* "o" steals both references, also when packing fails. */
	doc = rd != NULL ? json_pack("{s:i, s:s, s:o, s:o}", "version", 1, "tee", tee,
				     "primary_evidence", primary, "runtime_data", rd)
			 : NULL;
	if (doc != NULL && certs != NULL && json_object_set(doc, "collateral", certs) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	json_decref(certs);
	ENSURE(doc != NULL, VEIL_E_NOMEM, "out of memory");
	*out = doc;
	return VEIL_OK;
}

/* CoCo's sample TEE (docs/kbs-protocol.md section 7): primary_evidence
 * {"svn": "<string>", "report_data": "<standard base64>"}. Nothing signs
 * it; the one check is that report_data is exactly SHA-384 of the JCS
 * runtime data, unpadded (48 bytes, as CoCo's sample attester sends it).
 * Appraisal accepts the result only under a policy with a "sample"
 * section, and marks it insecure. */
static veil_err sample_verify(const kbs_attest_req *a, int64_t now, json_t **result)
{
	static const char *const members[] = {"svn", "report_data", NULL};
	json_t *rd = NULL, *claims = NULL;
	const char *svn, *b64;
	uint8_t want[64], got[64];
	size_t got_len = 0;
	veil_checks checks;
	veil_err err;

	*result = NULL;
	veil_checks_init(&checks);
	ENSURE(json_is_object(a->primary), VEIL_E_MALFORMED,
	       "sample primary_evidence must be an object {svn, report_data}");
	TRY(veil_json_only_members(a->primary, "sample primary_evidence", members));
	TRY(veil_json_get_string(a->primary, "svn", &svn));
	TRY(veil_json_get_string(a->primary, "report_data", &b64));
	ENSURE(json_string_length(a->additional) == 0, VEIL_E_UNSUPPORTED,
	       "the sample TEE has no device evidence; additional_evidence must be \"\"");
	ENSURE(strlen(b64) <= 4 * sizeof got / 3 + 4, VEIL_E_MALFORMED,
	       "sample report_data is longer than any digest");
	TRY(veil_base64_decode(b64, strlen(b64), got, sizeof got, &got_len));
	rd = json_pack("{s:O, s:s, s:O}", "additional-evidence", a->additional, "nonce", a->nonce,
		       "tee-pubkey", a->tee_pubkey);
	ENSURE(rd != NULL, VEIL_E_NOMEM, "out of memory");
	err = veil_runtime_data_digest(rd, want);
	if (err == VEIL_OK) {
		bool ok = got_len == 48 && veil_ct_equal(got, want, 48);
		veil_checks_add(&checks, "report_data", ok,
				ok ? "SHA-384 of the runtime data"
				   : "not SHA-384 of the runtime data");
		claims =
		    json_pack("{s:s, s:O, s:b}", "svn", svn, "runtime_data", rd, "insecure", 1);
		*result = claims != NULL ? veil_result_json("sample", veil_checks_passed(&checks),
							    &checks, claims, now)
					 : NULL;
		if (*result == NULL)
			err = veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	json_decref(claims);
	json_decref(rd);
	return err;
}

/* Trustee's resource path reads the response key from the token at
 * submods.cpu0."ear.veraison.annotated-evidence".runtime_data_claims.
 * Bound init-data is recorded beside it as its digest, "init_data" (hex). */
static void ear_add_runtime_claims(json_t *ear, const kbs_attest_req *a, const char *init_hex)
{
	json_t *cpu = json_object_get(json_object_get(ear, "submods"), "cpu0");
	json_t *ann = json_object_get(cpu, "ear.veraison.annotated-evidence");

	if (!json_is_object(ann))
		return;
	json_object_set_new(
	    ann, "runtime_data_claims",
	    json_pack("{s:s, s:O}", "nonce", a->nonce, "tee-pubkey", a->tee_pubkey));
	if (a->init_data.present)
		json_object_set_new(ann, "init_data", json_string(init_hex));
}

void kbs_handle_attest(veil_http_request *r, void *user)
{
	veil_kbs *k = user;
	size_t len;
	const uint8_t *body = veil_http_body(r, &len);
	char id[VEIL_STORE_SESSION_ID_MAX + 1], nonce_b64[45], init_hex[129] = "";
	veil_store_session sess = {0};
	kbs_attest_req a = {0};
	veil_jwk *pub = NULL;
	json_t *bundle = NULL;
	char *token = NULL, *pub_text = NULL, *ear_text = NULL;
	json_t *result = NULL, *ear = NULL;
	int64_t now = kbs_now(k);
	kbs_policies *pol = kbs_policies_get(k);
	double t0 = kbs_clock();
	kbs_outcome outcome = KBS_ERROR;
	bool record = true;
	char reason[256] = "";
	veil_err err;

	if (!veil_http_cookie(r, KBS_COOKIE, id, sizeof id)) {
		snprintf(reason, sizeof reason, "no session cookie");
		kbs_reply_error(
		    r, 401, "AttestationError",
		    "RCAR handshake Attest failed: no kbs-session-id cookie; start with "
		    "/kbs/v0/auth");
		goto out;
	}
	err = veil_store_session_get(k->config.store, id, now, &sess);
	if (err != VEIL_OK) {
		kbs_reply_error(r, 401, "AttestationError",
				"RCAR handshake Attest failed: session %s", veil_err_detail());
		goto out;
	}
	if (sess.attested) {
		/* The session already holds a token: hand it out again. */
		record = false;
		veil_http_reply_json(r, 200, json_pack("{s:s}", "token", sess.token));
		goto out;
	}
	err = kbs_attest_request_parse(body, len, &a);
	if (err != VEIL_OK) {
		kbs_reply_error(r, 400, "AttestationError", "RCAR handshake Attest failed: %s",
				veil_err_detail());
		goto out;
	}
	/* The nonce must be the one this session was issued, as issued. */
	veil_base64_encode(sess.nonce, sizeof sess.nonce, nonce_b64);
	if (strlen(a.nonce) != strlen(nonce_b64) ||
	    !veil_ct_equal(a.nonce, nonce_b64, strlen(nonce_b64))) {
		snprintf(reason, sizeof reason, "the nonce is not this session's");
		kbs_reply_error(r, 401, "AttestationError",
				"RCAR handshake Attest failed: the nonce is not the one this "
				"session was issued");
		goto out;
	}
	err = veil_jwk_parse_public(a.tee_pubkey, &pub);
	if (err == VEIL_OK && veil_jwk_type_of(pub) == VEIL_JWK_ED25519)
		err = veil_fail(VEIL_E_UNSUPPORTED, "an Ed25519 key cannot receive resources");
	if (err == VEIL_OK && veil_jwk_alg(pub) != NULL && strcmp(veil_jwk_alg(pub), "RSA1_5") == 0)
		err = veil_fail(VEIL_E_UNSUPPORTED,
				"RSA1_5 is refused (RFC 8017 section 7.2 padding oracle); use "
				"RSA-OAEP-256 or an EC key");
	if (err == VEIL_OK && a.init_data.present)
		err = kbs_initdata_tee_ok(sess.tee);
	if (err == VEIL_OK && strcmp(sess.tee, "sample") != 0)
		err = bundle_build(sess.tee, &a, &bundle);
	if (err != VEIL_OK) {
		kbs_reply_error(r, 401, "AttestationError", "RCAR handshake Attest failed: %s",
				veil_err_detail());
		goto out;
	}
	{
		const uint8_t(*roots)[32] = NULL;
		size_t nroots = veil_policy_sim_roots(pol->policy, &roots);
		veil_verify_ctx ctx = {.at = now,
				       .collateral = k->config.collateral,
				       .verifier = kbs_verifier(k),
				       .revocation = veil_policy_verify_revocation(pol->policy),
				       .sim_roots = roots,
				       .sim_root_count = nroots};
		err = bundle != NULL ? veil_bundle_verify_json(bundle, &ctx, &result)
				     : sample_verify(&a, now, &result);
	}
	if (err != VEIL_OK || !json_is_true(json_object_get(result, "verified"))) {
		if (err != VEIL_OK)
			snprintf(reason, sizeof reason, "the evidence does not verify: %.200s",
				 veil_err_detail());
		else {
			char failed[200];
			veil_result_failed_checks(result, failed, sizeof failed);
			snprintf(reason, sizeof reason, "the evidence does not verify: failed %s",
				 failed);
		}
		kbs_reply_error(r, 401, "AttestationError", "RCAR handshake Attest failed: %s",
				reason);
		goto out;
	}
	/* The evidence is genuine: now the init-data must be what the TEE was
	 * launched with (401, like evidence bound to other runtime data). */
	if (a.init_data.present) {
		err = kbs_initdata_bind(&a.init_data, sess.tee, result);
		if (err != VEIL_OK) {
			snprintf(reason, sizeof reason, "%.250s", veil_err_detail());
			kbs_reply_error(r, 401, "AttestationError",
					"RCAR handshake Attest failed: %s", veil_err_detail());
			goto out;
		}
		veil_hex_encode(a.init_data.digest, a.init_data.digest_len, init_hex);
	}
	err = veil_appraise(pol->policy, pol->refvals, result, now, &ear);
	if (err == VEIL_OK) {
		ear_add_runtime_claims(ear, &a, init_hex);
		ear_text = json_dumps(ear, JSON_COMPACT);
		pub_text = json_dumps(a.tee_pubkey, JSON_COMPACT);
		err = ear_text != NULL && pub_text != NULL
			  ? kbs_token_sign(k, ear, &token)
			  : veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	/* The attested session lasts no longer than its token: the cookie must
	 * not outlive what --token-lifetime allows a bearer token. */
	if (err == VEIL_OK) {
		int64_t until = now + k->config.token_lifetime_s;
		err = veil_store_session_attest(k->config.store, sess.id, sess.nonce, token,
						pub_text, ear_text,
						until < sess.expires ? until : sess.expires);
	}
	if (err != VEIL_OK) {
		kbs_reply_error(r, err == VEIL_E_MISMATCH ? 401 : 500, "AttestationError",
				"RCAR handshake Attest failed: %s", veil_err_detail());
		goto out;
	}
	outcome = strcmp(veil_ear_status(ear), "affirming") == 0 ? KBS_AFFIRMING : KBS_DENIED;
	veil_http_reply_json(r, 200, json_pack("{s:s}", "token", token));
out:
	if (record) {
		double took = kbs_clock() - t0;
		json_t *fields;
		if (outcome == KBS_ERROR && reason[0] == '\0')
			snprintf(reason, sizeof reason, "%s", veil_err_detail());
		kbs_metrics_attest(k, sess.tee[0] != '\0' ? sess.tee : NULL, outcome, took);
		fields = json_pack("{s:s, s:s, s:s, s:f, s:s}", "tee",
				   sess.tee[0] != '\0' ? sess.tee : "-", "result",
				   kbs_outcome_name(outcome), "status",
				   ear != NULL ? veil_ear_status(ear) : "-", "ms", took * 1e3,
				   "peer", veil_http_peer(r));
		/* The digest of bound init-data: public (the host set it), and
		 * what an operator matches against the deployment's initdata. */
		if (fields != NULL && init_hex[0] != '\0')
			json_object_set_new(fields, "init_data", json_string(init_hex));
		kbs_log(k, "attest", fields);
		if (outcome == KBS_ERROR)
			kbs_log(
			    k, "attest.refused",
			    json_pack("{s:s, s:s}", "peer", veil_http_peer(r), "reason", reason));
	}
	kbs_policies_put(pol);
	veil_store_session_clear(&sess);
	json_decref(a.doc);
	veil_jwk_free(pub);
	json_decref(bundle);
	veil_free_secret(token, token != NULL ? strlen(token) : 0);
	free(pub_text);
	free(ear_text);
	json_decref(result);
	json_decref(ear);
}

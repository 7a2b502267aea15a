/*
 * log.c - the client's reading of a gateway's transparency log
 * (include/veil/client.h, docs/gateway-log-api.md "How a client checks",
 * docs/audit.md).
 *
 * The gateway is not trusted here either. Every size and root comes from
 * a tree head verified under the log key of the client's own policy (the
 * "key" the gateway serves beside it is compared with that key, never
 * used); every leaf hash is computed here from the entry's bytes, never
 * taken from the answer; and an inclusion proof is checked against the
 * size and root of one and the same verified head (a proof checked
 * against one tree's root and another tree's size can pass, docs/tlog.md
 * "Proofs").
 *
 * Errors are sorted so that a caller can tell an unreachable gateway from
 * a lying one: VEIL_E_IO when the gateway could not be reached or
 * answered an error status (it may be down; nothing was shown), and
 * VEIL_E_VERIFY, VEIL_E_MISMATCH, VEIL_E_MALFORMED or VEIL_E_LIMIT when it
 * answered something that does not hold: a head that does not verify, a
 * proof that does not lead to the root, a 404 for an entry that a head it
 * signed includes, an answer that is not the documented JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/limits.h"

/* What a 404 means for the request made. */
enum { LOG_404_IS_IO, LOG_404_IS_LIE };

/*
 * GET path on the gateway, as JSON. Every failure to get an answer, and
 * every error status, is VEIL_E_IO; a 404 for something a verified head
 * includes (lie404) is VEIL_E_VERIFY: the log cannot show what it signed.
 */
static veil_err get_json(veil_client *c, const char *path, size_t max, int on404, json_t **out)
{
	veil_http_client_response resp = {0};
	json_t *err_obj = NULL;
	char msg[160] = "";
	veil_err err;

	*out = NULL;
	err = client_fetch(c, "GET", path, NULL, NULL, 0, NULL, max, &resp);
	if (err != VEIL_OK) {
		err = err == VEIL_E_NOMEM ? err : VEIL_E_IO;
		err = veil_fail_context(err, "GET %s", path);
		goto out;
	}
	if (resp.status != 200) {
		/* The gateway's own message, for the person reading the error:
		 * OpenAI's error shape, cut and cleaned. */
		if (veil_json_parse(resp.body.data, resp.body.len, &err_obj) == VEIL_OK) {
			const char *m = json_string_value(
			    json_object_get(json_object_get(err_obj, "error"), "message"));
			if (m != NULL)
				snprintf(msg, sizeof msg, ": %.120s", m);
			veil_text_sanitize(msg);
		}
		veil_err_clear();
		if (resp.status == 404 && on404 == LOG_404_IS_LIE)
			err = veil_fail(VEIL_E_VERIFY,
					"GET %s: the gateway answered 404%s, for what a tree head "
					"it signed includes",
					path, msg);
		else
			err = veil_fail(VEIL_E_IO, "GET %s: the gateway answered %ld%s", path,
					resp.status, msg);
		goto out;
	}
	err = veil_json_parse_max(resp.body.data, resp.body.len, max, out);
	if (err != VEIL_OK)
		err = veil_fail_context(err, "GET %s: the answer is not JSON", path);
out:
	json_decref(err_obj);
	veil_http_client_response_clear(&resp);
	return err;
}

/* A non-negative I-JSON integer member. */
static veil_err get_u53(const json_t *o, const char *name, uint64_t *out)
{
	int64_t v;

	TRY(veil_json_get_int(o, name, 0, VEIL_TLOG_INT_MAX, &v));
	*out = (uint64_t)v;
	return VEIL_OK;
}

/* A 32-byte hash as 43 unpadded base64url characters. */
static veil_err get_hash(const json_t *o, const char *name, veil_tlog_hash out)
{
	const char *s;
	size_t n = 0;

	TRY(veil_json_get_string(o, name, &s));
	ENSURE(strlen(s) == 43 &&
		   veil_base64url_decode(s, 43, out, VEIL_TLOG_HASH_LEN, &n) == VEIL_OK && n == 32,
	       VEIL_E_MALFORMED, "\"%s\" is not 43 base64url characters of a hash", name);
	return VEIL_OK;
}

/* The served "key" must be the policy's: same RFC 7638 thumbprint. It is
 * never used to verify (docs/gateway-log-api.md: not a trust anchor), but a
 * gateway that shows people another key than it signs with is lying to
 * whoever sets a client up from it. */
static veil_err same_key(const json_t *served, const veil_jwk *policy_key)
{
	uint8_t a[VEIL_JWK_THUMBPRINT_LEN], b[VEIL_JWK_THUMBPRINT_LEN];
	veil_jwk *k = NULL;
	veil_err err;

	err = veil_jwk_parse_public(served, &k);
	if (err != VEIL_OK)
		return veil_fail_context(VEIL_E_MALFORMED, "the tree head's \"key\"");
	err = veil_jwk_thumbprint(k, a);
	if (err == VEIL_OK)
		err = veil_jwk_thumbprint(policy_key, b);
	veil_jwk_free(k);
	TRY(err);
	ENSURE(memcmp(a, b, sizeof a) == 0, VEIL_E_MISMATCH,
	       "the gateway shows another log key than the policy's log_key");
	return VEIL_OK;
}

veil_err veil_client_log_sth(veil_client *c, veil_tlog_sth *out, char **jws)
{
	static const char *const members[] = {"tree_size", "timestamp", "root_hash",
					      "sth",       "key",       NULL};
	const veil_jwk *key;
	const char *sth;
	json_t *j = NULL;
	veil_tlog_sth head;
	veil_tlog_hash root;
	uint64_t size, ts;
	veil_err err;

	ENSURE(c != NULL && out != NULL, VEIL_E_USAGE, "log_sth: no client or head");
	memset(out, 0, sizeof *out);
	if (jws != NULL)
		*jws = NULL;
	key = veil_client_policy_log_key(c->cfg.policy);
	ENSURE(key != NULL, VEIL_E_USAGE,
	       "the policy has no log_key: the gateway's log cannot be checked without it");
	TRY(get_json(c, "/v1/log/sth", VEIL_CLIENT_LOG_STH_ANSWER_MAX, LOG_404_IS_IO, &j));
	CHECK(veil_json_only_members(j, "the tree head answer", members));
	CHECK(veil_json_get_string(j, "sth", &sth));
	err = veil_tlog_sth_verify(key, sth, strlen(sth), &head);
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "the signed tree head (under the policy's log_key)");
		goto out;
	}
	/* docs/gateway-log-api.md: the members beside the JWS are its own
	 * values, for reading; the JWS's are used, and a disagreement is a
	 * gateway showing people something else than it signed. */
	CHECK(get_u53(j, "tree_size", &size));
	CHECK(get_u53(j, "timestamp", &ts));
	CHECK(get_hash(j, "root_hash", root));
	CHECK_THAT(size == head.tree_size, VEIL_E_MISMATCH,
		   "the tree head's tree_size %" PRIu64 " is not the signed one, %" PRIu64, size,
		   head.tree_size);
	CHECK_THAT((int64_t)ts == head.timestamp_ms, VEIL_E_MISMATCH,
		   "the tree head's timestamp %" PRIu64 " is not the signed one, %" PRId64, ts,
		   head.timestamp_ms);
	CHECK_THAT(memcmp(root, head.root, sizeof root) == 0, VEIL_E_MISMATCH,
		   "the tree head's root_hash is not the signed one");
	CHECK_THAT(json_object_get(j, "key") != NULL, VEIL_E_MALFORMED,
		   "the tree head answer has no \"key\"");
	CHECK(same_key(json_object_get(j, "key"), key));
	if (jws != NULL) {
		*jws = strdup(sth);
		CHECK_THAT(*jws != NULL, VEIL_E_NOMEM, "out of memory");
	}
	*out = head;
out:
	json_decref(j);
	return err;
}

/* The entry at index, exactly as logged (RFC 6962 section 4.6's
 * get-entries for one entry). */
static veil_err fetch_entry(veil_client *c, uint64_t index, uint8_t **leaf, size_t *leaf_len)
{
	static const char *const top[] = {"entries", NULL};
	static const char *const members[] = {"index", "leaf_input", NULL};
	char path[128];
	json_t *j = NULL, *arr, *e;
	const char *b64;
	uint64_t got;
	size_t cap, n = 0;
	uint8_t *buf = NULL;
	veil_err err;

	snprintf(path, sizeof path, "/v1/log/entries?start=%" PRIu64 "&end=%" PRIu64, index, index);
	TRY(get_json(c, path, VEIL_CLIENT_LOG_ENTRY_ANSWER_MAX, LOG_404_IS_LIE, &j));
	CHECK(veil_json_only_members(j, "the entries answer", top));
	CHECK(veil_json_get_array(j, "entries", &arr));
	CHECK_THAT(json_array_size(arr) == 1, VEIL_E_MALFORMED,
		   "the entries answer for entry %" PRIu64 " holds %zu entries, not one", index,
		   json_array_size(arr));
	e = json_array_get(arr, 0);
	CHECK(veil_json_only_members(e, "the entry", members));
	CHECK(get_u53(e, "index", &got));
	CHECK_THAT(got == index, VEIL_E_MISMATCH,
		   "asked for entry %" PRIu64 ", the gateway answered entry %" PRIu64, index, got);
	CHECK(veil_json_get_string(e, "leaf_input", &b64));
	cap = veil_base64_decoded_max(strlen(b64));
	CHECK_THAT(cap <= VEIL_TLOG_ENTRY_MAX + 3, VEIL_E_LIMIT,
		   "entry %" PRIu64 " is over %d bytes", index, VEIL_TLOG_ENTRY_MAX);
	buf = malloc(cap + 1);
	CHECK_THAT(buf != NULL, VEIL_E_NOMEM, "out of memory");
	err = veil_base64url_decode(b64, strlen(b64), buf, cap, &n);
	if (err != VEIL_OK) {
		err = veil_fail_context(VEIL_E_MALFORMED, "entry %" PRIu64 "'s leaf_input", index);
		goto out;
	}
	CHECK_THAT(n <= VEIL_TLOG_ENTRY_MAX, VEIL_E_LIMIT, "entry %" PRIu64 " is over %d bytes",
		   index, VEIL_TLOG_ENTRY_MAX);
	*leaf = buf;
	*leaf_len = n;
	buf = NULL;
out:
	free(buf);
	json_decref(j);
	return err;
}

veil_err veil_client_log_entry(veil_client *c, const veil_tlog_sth *sth, uint64_t index,
			       uint8_t **leaf, size_t *leaf_len)
{
	static const char *const members[] = {"index", "tree_size", "leaf_hash", "audit_path",
					      NULL};
	char path[128];
	json_t *j = NULL, *arr;
	uint8_t *data = NULL;
	size_t len = 0, n = 0;
	veil_tlog_hash hash, served, *proof = NULL;
	uint64_t got_index, got_size;
	veil_err err;

	ENSURE(c != NULL && sth != NULL && leaf != NULL && leaf_len != NULL, VEIL_E_USAGE,
	       "log_entry: missing argument");
	*leaf = NULL;
	*leaf_len = 0;
	ENSURE(index < sth->tree_size, VEIL_E_USAGE,
	       "entry %" PRIu64 " is not in the tree of %" PRIu64 " entries", index,
	       sth->tree_size);
	TRY(fetch_entry(c, index, &data, &len));
	/* Our own leaf hash, never the answer's (docs/gateway-log-api.md
	 * "How a client checks", step 3). */
	CHECK(veil_tlog_leaf_hash(data, len, hash));
	snprintf(path, sizeof path, "/v1/log/proof/inclusion?index=%" PRIu64 "&tree_size=%" PRIu64,
		 index, sth->tree_size);
	CHECK(get_json(c, path, VEIL_CLIENT_LOG_PROOF_ANSWER_MAX, LOG_404_IS_LIE, &j));
	CHECK(veil_json_only_members(j, "the inclusion proof answer", members));
	CHECK(get_u53(j, "index", &got_index));
	CHECK(get_u53(j, "tree_size", &got_size));
	CHECK_THAT(got_index == index && got_size == sth->tree_size, VEIL_E_MISMATCH,
		   "asked for the inclusion of entry %" PRIu64 " in %" PRIu64
		   " entries, the gateway answered for %" PRIu64 " in %" PRIu64,
		   index, sth->tree_size, got_index, got_size);
	CHECK(get_hash(j, "leaf_hash", served));
	CHECK_THAT(memcmp(served, hash, sizeof hash) == 0, VEIL_E_MISMATCH,
		   "entry %" PRIu64 " as served does not hash to the leaf the gateway's proof "
		   "names",
		   index);
	CHECK(veil_json_get_array(j, "audit_path", &arr));
	CHECK(veil_tlog_proof_parse(arr, &proof, &n));
	err = veil_tlog_verify_inclusion(index, sth->tree_size, hash, proof, n, sth->root);
	if (err != VEIL_OK) {
		err = veil_fail_context(err == VEIL_E_MALFORMED ? err : VEIL_E_VERIFY,
					"entry %" PRIu64 " is not in the signed tree of %" PRIu64
					" entries",
					index, sth->tree_size);
		goto out;
	}
	*leaf = data;
	*leaf_len = len;
	data = NULL;
out:
	free(proof);
	free(data);
	json_decref(j);
	return err;
}

veil_err veil_client_log_consistent(veil_client *c, const veil_tlog_sth *older,
				    const veil_tlog_sth *newer)
{
	static const char *const members[] = {"first", "second", "consistency", NULL};
	char path[128];
	json_t *j = NULL, *arr;
	veil_tlog_hash *proof = NULL;
	uint64_t first, second;
	size_t n = 0;
	veil_err err;

	ENSURE(c != NULL && older != NULL && newer != NULL, VEIL_E_USAGE,
	       "log_consistent: missing argument");
	/* An append-only log never shrinks, and its heads' times never go
	 * back (docs/gateway-log-api.md "GET /v1/log/sth"). */
	ENSURE(newer->tree_size >= older->tree_size, VEIL_E_VERIFY,
	       "the log shrank from %" PRIu64 " to %" PRIu64 " entries", older->tree_size,
	       newer->tree_size);
	ENSURE(newer->timestamp_ms >= older->timestamp_ms, VEIL_E_VERIFY,
	       "the new tree head (%" PRId64 " ms) is older than the kept one (%" PRId64 " ms)",
	       newer->timestamp_ms, older->timestamp_ms);
	if (newer->tree_size == older->tree_size || older->tree_size == 0) {
		/* Nothing to fetch: equal sizes need equal roots, and any tree
		 * extends the empty one (docs/tlog.md "Proofs"). */
		err = veil_tlog_verify_consistency(older->tree_size, newer->tree_size, older->root,
						   newer->root, NULL, 0);
		/* The verifier's detail says it (the log forked). */
		return err == VEIL_OK ? VEIL_OK : VEIL_E_VERIFY;
	}
	snprintf(path, sizeof path, "/v1/log/proof/consistency?first=%" PRIu64 "&second=%" PRIu64,
		 older->tree_size, newer->tree_size);
	TRY(get_json(c, path, VEIL_CLIENT_LOG_PROOF_ANSWER_MAX, LOG_404_IS_LIE, &j));
	CHECK(veil_json_only_members(j, "the consistency proof answer", members));
	CHECK(get_u53(j, "first", &first));
	CHECK(get_u53(j, "second", &second));
	CHECK_THAT(first == older->tree_size && second == newer->tree_size, VEIL_E_MISMATCH,
		   "asked for consistency from %" PRIu64 " to %" PRIu64
		   ", the gateway answered from %" PRIu64 " to %" PRIu64,
		   older->tree_size, newer->tree_size, first, second);
	CHECK(veil_json_get_array(j, "consistency", &arr));
	CHECK(veil_tlog_proof_parse(arr, &proof, &n));
	/* RFC 9162 section 2.1.4.2. */
	err = veil_tlog_verify_consistency(older->tree_size, newer->tree_size, older->root,
					   newer->root, proof, n);
	if (err != VEIL_OK)
		err = veil_fail_context(err == VEIL_E_MALFORMED ? err : VEIL_E_VERIFY,
					"the tree of %" PRIu64 " entries does not extend the kept "
					"tree of %" PRIu64,
					newer->tree_size, older->tree_size);
out:
	free(proof);
	json_decref(j);
	return err;
}

/* 64 lower-case hex digits, as the gateway writes digests. */
static bool lower_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

veil_err veil_client_log_evidence(const uint8_t *leaf, size_t len, char *kind, size_t kind_len,
				  char *worker, size_t worker_len, uint8_t **bundle,
				  size_t *bundle_len)
{
	json_t *e = NULL, *att;
	const char *k, *w, *b64, *sha_hex;
	uint8_t want[32], got[32], *buf = NULL;
	size_t cap, n = 0, hn = 0;
	int64_t v;
	bool logged_evidence;
	veil_err err;

	ENSURE(leaf != NULL && kind != NULL && kind_len > 0 && worker != NULL && worker_len > 0 &&
		   bundle != NULL && bundle_len != NULL,
	       VEIL_E_USAGE, "log_evidence: missing argument");
	kind[0] = worker[0] = '\0';
	*bundle = NULL;
	*bundle_len = 0;
	err = veil_json_parse_max(leaf, len, VEIL_TLOG_ENTRY_MAX, &e);
	if (err != VEIL_OK)
		return veil_fail_context(VEIL_E_MALFORMED, "the log entry is not JSON");
	/* docs/gateway.md "The transparency log": {"v": 1, "kind", "worker",
	 * ..., "attested": {..., "evidence_sha256", "evidence"}}. */
	CHECK_THAT(json_is_object(e), VEIL_E_MALFORMED, "the log entry is not a JSON object");
	CHECK(veil_json_get_int(e, "v", 1, 1, &v));
	CHECK(veil_json_get_string(e, "kind", &k));
	CHECK(veil_json_get_string(e, "worker", &w));
	logged_evidence = strcmp(k, "admission") == 0 || strcmp(k, "reattestation") == 0;
	CHECK_THAT(logged_evidence || strcmp(k, "removal") == 0 || strcmp(k, "leave") == 0,
		   VEIL_E_MALFORMED,
		   "the log entry's kind is not admission, reattestation, "
		   "removal or leave");
	/* Worker ids as the gateway admits them (docs/gateway.md "Joining"). */
	CHECK_THAT(veil_worker_name_ok(w, VEIL_CLIENT_ID_MAX), VEIL_E_MALFORMED,
		   "the log entry's worker is not 1 to %d characters of [A-Za-z0-9._:/-]",
		   VEIL_CLIENT_ID_MAX);
	snprintf(kind, kind_len, "%s", k);
	snprintf(worker, worker_len, "%s", w);
	if (!logged_evidence) {
		err = veil_fail(VEIL_E_NOT_FOUND, "log entry of kind %s carries no evidence", k);
		goto out;
	}
	CHECK(veil_json_get_object(e, "attested", &att));
	CHECK(veil_json_get_string(att, "evidence", &b64));
	CHECK(veil_json_get_string(att, "evidence_sha256", &sha_hex));
	CHECK_THAT(lower_hex64(sha_hex) && veil_hex_decode(sha_hex, 64, want, 32, &hn) == VEIL_OK,
		   VEIL_E_MALFORMED, "attested.evidence_sha256 is not 64 lower-case hex digits");
	cap = veil_base64_decoded_max(strlen(b64));
	CHECK_THAT(cap <= VEIL_CLIENT_EVIDENCE_MAX + 3, VEIL_E_LIMIT,
		   "the logged evidence is over %d bytes", VEIL_CLIENT_EVIDENCE_MAX);
	buf = malloc(cap + 1);
	CHECK_THAT(buf != NULL, VEIL_E_NOMEM, "out of memory");
	err = veil_base64_decode(b64, strlen(b64), buf, cap, &n);
	if (err != VEIL_OK) {
		err = veil_fail_context(VEIL_E_MALFORMED, "attested.evidence is not base64");
		goto out;
	}
	CHECK_THAT(n > 0 && n <= VEIL_CLIENT_EVIDENCE_MAX, VEIL_E_MALFORMED,
		   "attested.evidence is empty or over %d bytes", VEIL_CLIENT_EVIDENCE_MAX);
	CHECK(veil_sha256(buf, n, got));
	CHECK_THAT(memcmp(got, want, sizeof got) == 0, VEIL_E_MISMATCH,
		   "attested.evidence_sha256 is not the SHA-256 of attested.evidence");
	*bundle = buf;
	*bundle_len = n;
	buf = NULL;
out:
	free(buf);
	json_decref(e);
	return err;
}

/*
 * sth.c - signed tree heads: the log's signature over its size, the time
 * and its root (RFC 9162 section 4.10 in spirit, as a JWS instead of TLS
 * structures, docs/tlog.md "Signed tree heads").
 *
 * The gateway signs one whenever a client asks for the current head; `veil
 * audit` keeps the heads it has seen and asks for consistency proofs
 * between them, so a log that shows two clients two different histories
 * is caught with two signed, contradicting heads in hand. That only works
 * if a head means one thing to every reader, so the profile is as strict
 * as receipts' (src/receipt/receipt.c): ES256 only (RFC 7518 section
 * 3.4), an explicit "typ" (RFC 8725 section 3.11), a "kid" that must be
 * the verifying key's RFC 7638 thumbprint, exactly three payload members
 * with their types, integers in the I-JSON range (RFC 7493 section 2.2),
 * and the root as exactly 43 base64url characters.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "veil/codec.h"
#include "veil/json.h"
#include "veil/tlog.h"

#define ROOT_B64_LEN 43 /* unpadded base64url of 32 bytes */

static const char *const header_members[] = {"alg", "typ", "kid", NULL};
static const char *const payload_members[] = {"tree_size", "timestamp", "root_hash", NULL};

/* Tree heads are ES256, so the key is P-256 at either end. */
static veil_err key_check(const veil_jwk *key, bool need_private)
{
	ENSURE(key != NULL, VEIL_E_USAGE, "signed tree head: no key");
	ENSURE(veil_jwk_type_of(key) == VEIL_JWK_EC_P256, VEIL_E_USAGE,
	       "transparency log keys are EC P-256 (ES256); this is an %s key",
	       veil_jwk_type_name(veil_jwk_type_of(key)));
	ENSURE(!need_private || veil_jwk_is_private(key), VEIL_E_USAGE,
	       "signing a tree head needs the log's private key");
	return VEIL_OK;
}

veil_err veil_tlog_sth_sign(const veil_jwk *key, const veil_tlog_sth *sth, char **jws)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1], root[ROOT_B64_LEN + 1], *payload = NULL;
	char *tok = NULL;
	size_t tok_len = 0;
	json_t *header = NULL, *p = NULL;
	veil_err err = VEIL_OK;

	ENSURE(jws != NULL && sth != NULL, VEIL_E_USAGE, "veil_tlog_sth_sign: NULL argument");
	*jws = NULL;
	TRY(key_check(key, true));
	ENSURE(sth->tree_size <= (uint64_t)VEIL_TLOG_INT_MAX, VEIL_E_USAGE,
	       "tree size %" PRIu64 " is above 2^53 - 1", sth->tree_size);
	ENSURE(sth->timestamp_ms >= 0 && sth->timestamp_ms <= VEIL_TLOG_INT_MAX, VEIL_E_USAGE,
	       "tree head time %" PRId64 " ms is not in 0..2^53-1", sth->timestamp_ms);
	TRY(veil_jwk_thumbprint_b64(key, kid));
	veil_base64url_encode(sth->root, VEIL_TLOG_HASH_LEN, root);
	/* jansson keeps insertion order: the documented order. */
	p = json_pack("{s:I, s:I, s:s}", "tree_size", (json_int_t)sth->tree_size, "timestamp",
		      (json_int_t)sth->timestamp_ms, "root_hash", root);
	CHECK_THAT(p != NULL, VEIL_E_NOMEM, "tree head payload");
	payload = json_dumps(p, JSON_COMPACT);
	CHECK_THAT(payload != NULL, VEIL_E_NOMEM, "tree head payload");
	header = json_pack("{s:s, s:s}", "typ", VEIL_TLOG_STH_TYP, "kid", kid);
	CHECK_THAT(header != NULL, VEIL_E_NOMEM, "tree head header");
	CHECK(
	    veil_jws_sign(key, header, (const uint8_t *)payload, strlen(payload), &tok, &tok_len));
	/* Cannot happen (about 400 bytes); a head no verifier takes must not
	 * be served. */
	CHECK_THAT(tok_len <= VEIL_TLOG_STH_MAX_BYTES, VEIL_E_LIMIT,
		   "signed tree head of %zu bytes is over the %d-byte limit", tok_len,
		   VEIL_TLOG_STH_MAX_BYTES);
	*jws = tok;
	tok = NULL;
out:
	free(tok);
	free(payload);
	json_decref(p);
	json_decref(header);
	return err;
}

/* Before any decoding: the cap, and exactly three non-empty parts of
 * base64url characters (RFC 7515 section 7.1); white space or anything
 * around the JWS is named here rather than as a base64 error. */
static veil_err compact_shape(const char *jws, size_t len)
{
	size_t dots = 0, part = 0;

	ENSURE(len > 0, VEIL_E_MALFORMED, "signed tree head is empty");
	ENSURE(len <= VEIL_TLOG_STH_MAX_BYTES, VEIL_E_LIMIT,
	       "signed tree head of %zu bytes is over the %d-byte limit", len,
	       VEIL_TLOG_STH_MAX_BYTES);
	for (size_t i = 0; i < len; i++) {
		char c = jws[i];

		if (c == '.') {
			ENSURE(part > 0 && ++dots <= 2, VEIL_E_MALFORMED,
			       "signed tree head is not three non-empty parts (byte %zu)", i);
			part = 0;
			continue;
		}
		ENSURE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_',
		       VEIL_E_MALFORMED,
		       "signed tree head has byte 0x%02x at offset %zu, outside base64url",
		       (unsigned char)c, i);
		part++;
	}
	ENSURE(dots == 2 && part > 0, VEIL_E_MALFORMED,
	       "signed tree head is not a compact JWS of three non-empty parts");
	return VEIL_OK;
}

/* The protected header, read before the signature so that another
 * algorithm or key is named as such: both are VEIL_E_VERIFY ("not this
 * log's head"), never a version to skip. */
static veil_err header_check(const veil_jwk *key, const json_t *h)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1];
	const json_t *alg = json_object_get(h, "alg"), *typ = json_object_get(h, "typ"),
		     *hkid = json_object_get(h, "kid");

	TRY(veil_json_only_members(h, "the tree head's header", header_members));
	ENSURE(json_is_string(alg), VEIL_E_MALFORMED, "tree head header has no string \"alg\"");
	ENSURE(strcmp(json_string_value(alg), "ES256") == 0, VEIL_E_VERIFY,
	       "tree head \"alg\" is \"%.32s\"; tree heads are signed with ES256 only",
	       json_string_value(alg));
	ENSURE(json_is_string(typ) && strcmp(json_string_value(typ), VEIL_TLOG_STH_TYP) == 0,
	       VEIL_E_MALFORMED, "tree head header \"typ\" is not \"%s\": not a Veil tree head",
	       VEIL_TLOG_STH_TYP);
	ENSURE(json_is_string(hkid), VEIL_E_MALFORMED, "tree head header has no string \"kid\"");
	TRY(veil_jwk_thumbprint_b64(key, kid));
	ENSURE(strcmp(json_string_value(hkid), kid) == 0, VEIL_E_VERIFY,
	       "tree head is from key %.64s, not from this log's key %s", json_string_value(hkid),
	       kid);
	return VEIL_OK;
}

static veil_err get_int(const json_t *p, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(p, key);

	ENSURE(v != NULL, VEIL_E_MALFORMED, "tree head has no \"%s\"", key);
	/* veil_json_parse makes an integer of every number without fraction
	 * or exponent; 1.0 or 1e3 stays a real and is refused. */
	ENSURE(json_is_integer(v), VEIL_E_MALFORMED, "tree head \"%s\" is not an integer", key);
	ENSURE(json_integer_value(v) >= 0 && json_integer_value(v) <= VEIL_TLOG_INT_MAX,
	       VEIL_E_MALFORMED, "tree head \"%s\" is %" PRId64 ", outside 0..2^53-1", key,
	       (int64_t)json_integer_value(v));
	*out = (int64_t)json_integer_value(v);
	return VEIL_OK;
}

static veil_err payload_read(const json_t *p, veil_tlog_sth *sth)
{
	const json_t *root = json_object_get(p, "root_hash");
	int64_t size;
	size_t n = 0;

	ENSURE(json_is_object(p), VEIL_E_MALFORMED, "tree head payload is not a JSON object");
	TRY(veil_json_only_members(p, "the tree head", payload_members));
	TRY(get_int(p, "tree_size", &size));
	sth->tree_size = (uint64_t)size;
	TRY(get_int(p, "timestamp", &sth->timestamp_ms));
	ENSURE(root != NULL, VEIL_E_MALFORMED, "tree head has no \"root_hash\"");
	ENSURE(json_is_string(root) && json_string_length(root) == ROOT_B64_LEN, VEIL_E_MALFORMED,
	       "tree head \"root_hash\" is not %d base64url characters (32 bytes)", ROOT_B64_LEN);
	TRY(veil_base64url_decode(json_string_value(root), ROOT_B64_LEN, sth->root,
				  VEIL_TLOG_HASH_LEN, &n));
	ENSURE(n == VEIL_TLOG_HASH_LEN, VEIL_E_MALFORMED,
	       "tree head \"root_hash\" is not 32 bytes");
	return VEIL_OK;
}

/* Names the tree head in a failure of the JOSE or JSON layer. */
static veil_err in_sth(veil_err err)
{
	return err == VEIL_OK ? VEIL_OK : veil_fail_context(err, "signed tree head");
}

veil_err veil_tlog_sth_verify(const veil_jwk *key, const char *jws, size_t len, veil_tlog_sth *out)
{
	veil_jws sig;
	json_t *header = NULL, *payload = NULL;
	veil_tlog_sth sth;
	veil_err err = VEIL_OK;

	ENSURE(out != NULL, VEIL_E_USAGE, "veil_tlog_sth_verify: NULL output");
	memset(out, 0, sizeof *out);
	memset(&sig, 0, sizeof sig);
	memset(&sth, 0, sizeof sth);
	ENSURE(jws != NULL || len == 0, VEIL_E_USAGE, "veil_tlog_sth_verify: NULL tree head");
	TRY(key_check(key, false));
	TRY(compact_shape(jws, len));
	CHECK(in_sth(veil_jws_peek_header(jws, len, &header)));
	CHECK(header_check(key, header));
	CHECK(in_sth(veil_jws_verify(jws, len, key, VEIL_JWS_ES256, &sig)));
	CHECK(in_sth(
	    veil_json_parse_max(sig.payload, sig.payload_len, VEIL_TLOG_STH_MAX_BYTES, &payload)));
	CHECK(payload_read(payload, &sth));
	*out = sth;
out:
	json_decref(payload);
	json_decref(header);
	veil_jws_clear(&sig);
	return err;
}

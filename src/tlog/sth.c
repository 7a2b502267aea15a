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

static const veil_jws_profile sth_profile = {"signed tree head", VEIL_TLOG_STH_TYP,
					     VEIL_TLOG_STH_MAX_BYTES};
static const char *const payload_members[] = {"tree_size", "timestamp", "root_hash", NULL};

veil_err veil_tlog_sth_sign(const veil_jwk *key, const veil_tlog_sth *sth, char **jws)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1], root[ROOT_B64_LEN + 1], *payload = NULL;
	char *tok = NULL;
	size_t tok_len = 0;
	json_t *header = NULL, *p = NULL;
	veil_err err = VEIL_OK;

	ENSURE(jws != NULL && sth != NULL, VEIL_E_USAGE, "veil_tlog_sth_sign: NULL argument");
	*jws = NULL;
	TRY(veil_jws_profile_key(&sth_profile, key, true));
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

veil_err veil_tlog_sth_verify(const veil_jwk *key, const char *jws, size_t len, veil_tlog_sth *out)
{
	json_t *payload = NULL;
	veil_tlog_sth sth;
	veil_err err;

	ENSURE(out != NULL, VEIL_E_USAGE, "veil_tlog_sth_verify: NULL output");
	memset(out, 0, sizeof *out);
	memset(&sth, 0, sizeof sth);
	CHECK(veil_jws_profile_verify(&sth_profile, key, jws, len, &payload));
	CHECK(payload_read(payload, &sth));
	*out = sth;
out:
	json_decref(payload);
	return err;
}

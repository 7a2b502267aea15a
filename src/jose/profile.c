/*
 * profile.c - the strict ES256 profile of Veil's own signed objects
 * (receipts, signed tree heads): one verifier for what they share, so a
 * rule tightened for one holds for all (include/veil/jose.h).
 */
#include <string.h>

#include "veil/jose.h"
#include "veil/json.h"

static const char *const header_members[] = {"alg", "typ", "kid", NULL};

/* Before any decoding: the size cap, and exactly three non-empty parts of
 * base64url characters (RFC 7515 section 7.1). White space, a line break
 * or anything after the signature is refused here with a message that
 * says so, instead of as a base64 error deeper down. */
static veil_err compact_shape(const veil_jws_profile *p, const char *jws, size_t len)
{
	size_t dots = 0, part = 0;

	ENSURE(len > 0, VEIL_E_MALFORMED, "%s is empty", p->what);
	ENSURE(len <= p->max_bytes, VEIL_E_LIMIT, "%s of %zu bytes is over the %zu-byte limit",
	       p->what, len, p->max_bytes);
	for (size_t i = 0; i < len; i++) {
		char c = jws[i];

		if (c == '.') {
			ENSURE(part > 0 && ++dots <= 2, VEIL_E_MALFORMED,
			       "%s is not three non-empty parts (byte %zu)", p->what, i);
			part = 0;
			continue;
		}
		ENSURE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_',
		       VEIL_E_MALFORMED,
		       "%s has byte 0x%02x at offset %zu, outside base64url (white space or "
		       "trailing data?)",
		       p->what, (unsigned char)c, i);
		part++;
	}
	ENSURE(dots == 2 && part > 0, VEIL_E_MALFORMED,
	       "%s is not a compact JWS of three non-empty parts", p->what);
	return VEIL_OK;
}

/* The protected header, read before the signature is checked so that
 * another algorithm or key is named as such: both are VEIL_E_VERIFY ("not
 * signed by this key"), never a version to skip. */
static veil_err header_check(const veil_jws_profile *p, const veil_jwk *key, const json_t *h)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1];
	const json_t *alg = json_object_get(h, "alg"), *typ = json_object_get(h, "typ"),
		     *hkid = json_object_get(h, "kid");

	TRY(veil_json_only_members(h, "the protected header", header_members));
	ENSURE(json_is_string(alg), VEIL_E_MALFORMED, "%s header has no string \"alg\"", p->what);
	ENSURE(strcmp(json_string_value(alg), "ES256") == 0, VEIL_E_VERIFY,
	       "%s \"alg\" is \"%.32s\"; only ES256 is accepted", p->what, json_string_value(alg));
	ENSURE(json_is_string(typ) && strcmp(json_string_value(typ), p->typ) == 0, VEIL_E_MALFORMED,
	       "%s header \"typ\" is not \"%s\"", p->what, p->typ);
	ENSURE(json_is_string(hkid), VEIL_E_MALFORMED, "%s header has no string \"kid\"", p->what);
	TRY(veil_jwk_thumbprint_b64(key, kid));
	ENSURE(strcmp(json_string_value(hkid), kid) == 0, VEIL_E_VERIFY,
	       "%s is from key %.64s, not from the expected key %s", p->what,
	       json_string_value(hkid), kid);
	return VEIL_OK;
}

/* Names the object in a failure of the JOSE or JSON layer, whose own
 * message speaks of "JWS" or "JSON". */
static veil_err named(const veil_jws_profile *p, veil_err err)
{
	return err == VEIL_OK ? VEIL_OK : veil_fail_context(err, "%s", p->what);
}

veil_err veil_jws_profile_key(const veil_jws_profile *p, const veil_jwk *key, bool need_private)
{
	ENSURE(key != NULL, VEIL_E_USAGE, "%s: no key", p->what);
	ENSURE(veil_jwk_type_of(key) == VEIL_JWK_EC_P256, VEIL_E_USAGE,
	       "%s keys are EC P-256 (ES256); this is an %s key", p->what,
	       veil_jwk_type_name(veil_jwk_type_of(key)));
	ENSURE(!need_private || veil_jwk_is_private(key), VEIL_E_USAGE,
	       "signing a %s needs the private key", p->what);
	return VEIL_OK;
}

veil_err veil_jws_profile_verify(const veil_jws_profile *p, const veil_jwk *key, const char *jws,
				 size_t len, json_t **payload)
{
	veil_jws sig;
	json_t *header = NULL;
	veil_err err;

	*payload = NULL;
	memset(&sig, 0, sizeof sig);
	ENSURE(jws != NULL || len == 0, VEIL_E_USAGE, "%s: NULL input", p->what);
	TRY(veil_jws_profile_key(p, key, false));
	TRY(compact_shape(p, jws, len));
	CHECK(named(p, veil_jws_peek_header(jws, len, &header)));
	CHECK(header_check(p, key, header));
	CHECK(named(p, veil_jws_verify(jws, len, key, VEIL_JWS_ES256, &sig)));
	CHECK(named(p, veil_json_parse_max(sig.payload, sig.payload_len, p->max_bytes, payload)));
out:
	json_decref(header);
	veil_jws_clear(&sig);
	return err;
}

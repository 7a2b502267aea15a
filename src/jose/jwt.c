/*
 * jwt.c - JSON Web Tokens (RFC 7519): a compact JWS whose payload is one
 * JSON object of claims, with the time claims checked at an explicit time.
 *
 * The KBS issues EAR tokens (ES256, five minutes) and accepts admin tokens
 * (Ed25519 or ES256, "exp" required); both go through here. The clock is
 * always the caller's (`rules->now`), so tests check tokens at the times
 * they are about, and nothing here reads the system time.
 */
#include <stdlib.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/limits.h"

/* A NumericDate claim (RFC 7519 section 2): absent, or an integer. Real
 * values are allowed by the RFC but used by no issuer we talk to, and
 * would bring float rounding into an expiry check. */
static veil_err time_claim(const json_t *claims, const char *name, bool *present, int64_t *out)
{
	const json_t *v = json_object_get(claims, name);

	*present = v != NULL;
	if (v == NULL)
		return VEIL_OK;
	ENSURE(json_is_integer(v), VEIL_E_MALFORMED,
	       "JWT \"%s\" is not an integer NumericDate (seconds since 1970)", name);
	*out = (int64_t)json_integer_value(v);
	return VEIL_OK;
}

veil_err veil_jwt_check_claims(const json_t *claims, const veil_jwt_rules *rules)
{
	int64_t exp = 0, nbf = 0, iat = 0, now = rules->now, skew = rules->leeway;
	bool has_exp, has_nbf, has_iat;

	ENSURE(json_is_object(claims), VEIL_E_MALFORMED, "JWT claims are not a JSON object");
	ENSURE(skew >= 0 && skew <= VEIL_JWT_LEEWAY_MAX, VEIL_E_USAGE,
	       "JWT leeway of %lld seconds (0 to %d)", (long long)skew, VEIL_JWT_LEEWAY_MAX);
	/* Keep now +- leeway in range whatever the claims hold. */
	ENSURE(now > INT64_MIN + VEIL_JWT_LEEWAY_MAX && now < INT64_MAX - VEIL_JWT_LEEWAY_MAX,
	       VEIL_E_USAGE, "JWT check time out of range");
	TRY(time_claim(claims, "exp", &has_exp, &exp));
	TRY(time_claim(claims, "nbf", &has_nbf, &nbf));
	TRY(time_claim(claims, "iat", &has_iat, &iat));
	ENSURE(has_exp || !rules->require_exp, VEIL_E_MALFORMED,
	       "JWT has no \"exp\" claim, and this token must expire");
	/* RFC 7519 section 4.1.4: the current time MUST be before exp. */
	ENSURE(!has_exp || now - skew < exp, VEIL_E_EXPIRED,
	       "JWT expired at %lld; it is now %lld (leeway %llds)", (long long)exp, (long long)now,
	       (long long)skew);
	/* Section 4.1.5: not before nbf. */
	ENSURE(!has_nbf || now + skew >= nbf, VEIL_E_EXPIRED,
	       "JWT is not valid before %lld; it is now %lld (leeway %llds)", (long long)nbf,
	       (long long)now, (long long)skew);
	/* Section 4.1.6 leaves iat to the application; one from the future
	 * is a wrong clock or a forged token. */
	ENSURE(!has_iat || iat <= now + skew, VEIL_E_EXPIRED,
	       "JWT was issued at %lld, after now (%lld, leeway %llds)", (long long)iat,
	       (long long)now, (long long)skew);
	return VEIL_OK;
}

veil_err veil_jwt_sign(const veil_jwk *key, const json_t *header, const json_t *claims, char **out,
		       size_t *out_len)
{
	char *text;
	veil_err err;

	ENSURE(json_is_object(claims), VEIL_E_USAGE, "JWT claims must be a JSON object");
	text = json_dumps(claims, JSON_COMPACT);
	ENSURE(text != NULL, VEIL_E_MALFORMED, "JWT claims do not serialise");
	/* RFC 7519 section 5.1: "typ":"JWT" marks the token's kind. */
	err = jose_jws_sign_typ(key, header, "JWT", (const uint8_t *)text, strlen(text), out,
				out_len);
	free(text);
	return err;
}

veil_err veil_jwt_verify(const char *jwt, size_t len, const veil_jwk *key, unsigned allowed,
			 const veil_jwt_rules *rules, json_t **claims, json_t **header)
{
	veil_jws jws;
	json_t *c = NULL;
	veil_err err;

	*claims = NULL;
	if (header != NULL)
		*header = NULL;
	TRY(veil_jws_verify(jwt, len, key, allowed, &jws));
	/* RFC 7519 section 7.2 step 10: the payload is a JSON object. */
	err = jose_json_object(jws.payload, jws.payload_len, VEIL_JWS_MAX_BYTES, "JWT claims", &c);
	if (err == VEIL_OK)
		err = veil_jwt_check_claims(c, rules);
	if (err == VEIL_OK) {
		*claims = c;
		c = NULL;
		if (header != NULL) {
			*header = jws.header;
			jws.header = NULL;
		}
	}
	json_decref(c);
	veil_jws_clear(&jws);
	return err;
}

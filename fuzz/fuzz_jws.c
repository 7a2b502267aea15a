/*
 * fuzz_jws.c - compact JWS and JWT parsing and verification
 * (src/jose/jws.c, jwt.c) against fixed keys (fuzz_jose_util.h).
 *
 * The KBS verifies admin tokens and, later, EAR tokens from other
 * verifiers; the header, the three-part split, the base64url decoding and
 * the claims checks all see hostile bytes before any signature does.
 * Beyond "no crash", the properties: a token that verifies under the P-256
 * key says ES256 and one under the Ed25519 key says EdDSA (the key, not the
 * header, decides); no token verifies under an allow-list that excludes
 * its algorithm; and the JWT layer accepts only what the JWS layer does.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_jose_util.h"

#define ALL (VEIL_JWS_ES256 | VEIL_JWS_ES384 | VEIL_JWS_ES512 | VEIL_JWS_EDDSA)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static veil_jwk *p256, *ed25519;

static void one_key(const char *tok, size_t size, const veil_jwk *k, unsigned alg)
{
	veil_jwt_rules rules = {.now = 1790000000, .leeway = 60};
	json_t *claims = NULL, *header = NULL;
	veil_jws jws;
	bool ok = veil_jws_verify(tok, size, k, ALL, &jws) == VEIL_OK;

	if (ok && jws.alg != alg)
		abort(); /* the key decides the algorithm */
	veil_jws_clear(&jws);
	if (veil_jws_verify(tok, size, k, ALL & ~alg, &jws) == VEIL_OK)
		abort(); /* the allow-list is obeyed */
	if (veil_jwt_verify(tok, size, k, ALL, &rules, &claims, &header) == VEIL_OK &&
	    (!ok || !json_is_object(claims) || !json_is_object(header)))
		abort(); /* a JWT is a JWS first */
	json_decref(claims);
	json_decref(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tok = (const char *)data;
	json_t *h = NULL;

	fuzz_key(fuzz_p256_jwk, &p256);
	fuzz_key(fuzz_ed25519_jwk, &ed25519);
	if (veil_jws_peek_header(tok, size, &h) == VEIL_OK && !json_is_object(h))
		abort();
	json_decref(h);
	one_key(tok, size, p256, VEIL_JWS_ES256);
	one_key(tok, size, ed25519, VEIL_JWS_EDDSA);
	veil_err_clear();
	return 0;
}

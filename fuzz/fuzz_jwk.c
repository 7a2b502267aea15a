/*
 * fuzz_jwk.c - the JWK parser (src/jose/jwk_parse.c), public and private.
 *
 * The attester's TEE key reaches the KBS as a JWK, so this parser takes
 * hostile bytes first. Beyond "no crash", three properties: no input is
 * both a public and a private key (a private member makes a public parse
 * fail, its absence a private one); a key that parses exports to JSON that
 * parses back to the same RFC 7638 thumbprint; and so does a private key
 * through its private export.
 */
#include <stdlib.h>
#include <string.h>

#include "veil/jose.h"
#include "veil/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_key(const veil_jwk *k, const uint8_t *text, size_t len, bool priv)
{
	uint8_t t1[VEIL_JWK_THUMBPRINT_LEN], t2[VEIL_JWK_THUMBPRINT_LEN];
	veil_jwk *again = NULL;
	veil_err err = priv ? veil_jwk_parse_private_bytes(text, len, &again)
			    : veil_jwk_parse_public_bytes(text, len, &again);

	if (err != VEIL_OK || veil_jwk_thumbprint(k, t1) != VEIL_OK ||
	    veil_jwk_thumbprint(again, t2) != VEIL_OK || memcmp(t1, t2, sizeof t1) != 0 ||
	    veil_jwk_type_of(k) != veil_jwk_type_of(again))
		abort(); /* an exported key must read back as itself */
	veil_jwk_free(again);
}

static void round_trip(const veil_jwk *k)
{
	json_t *pub = NULL;
	char *text, *priv = NULL;
	size_t len = 0;

	if (veil_jwk_export_public(k, &pub) != VEIL_OK)
		abort();
	text = json_dumps(pub, JSON_COMPACT);
	if (text == NULL)
		abort();
	same_key(k, (const uint8_t *)text, strlen(text), false);
	free(text);
	json_decref(pub);
	if (!veil_jwk_is_private(k))
		return;
	if (veil_jwk_export_private(k, &priv, &len) != VEIL_OK)
		abort();
	same_key(k, (const uint8_t *)priv, len, true);
	veil_free_secret(priv, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_jwk *pub = NULL, *priv = NULL;
	bool pub_ok = veil_jwk_parse_public_bytes(data, size, &pub) == VEIL_OK;
	bool priv_ok = veil_jwk_parse_private_bytes(data, size, &priv) == VEIL_OK;

	if (pub_ok && priv_ok)
		abort(); /* a key is public or private, never both */
	if (pub_ok)
		round_trip(pub);
	if (priv_ok)
		round_trip(priv);
	veil_jwk_free(pub);
	veil_jwk_free(priv);
	veil_err_clear();
	return 0;
}

/*
 * fuzz_jwe.c - flattened JWE parsing and decryption (src/jose/jwe_decrypt.c)
 * with a fixed P-256 key (fuzz_jose_util.h).
 *
 * The worker decrypts KBS responses with it, and the JSON document, the
 * protected header, the ephemeral key in it and every base64url member are
 * parsed before the tag is checked. Beyond "no crash": what decrypts on
 * the KBS path also decrypts on the internal path that accepts more
 * algorithms, to the same plaintext.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_jose_util.h"
#include "jose/jose_internal.h"
#include "veil/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static veil_jwk *p256;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pt = NULL, *pt2 = NULL;
	size_t n = 0, n2 = 0;

	fuzz_key(fuzz_p256_jwk, &p256);
	if (veil_jwe_decrypt(p256, data, size, &pt, &n) == VEIL_OK) {
		if (jose_jwe_decrypt(p256, data, size, JOSE_JWE_ALLOW128, &pt2, &n2, NULL) !=
			VEIL_OK ||
		    n != n2 || memcmp(pt, pt2, n) != 0)
			abort();
		veil_free_secret(pt, n);
		veil_free_secret(pt2, n2);
	} else {
		(void)jose_jwe_decrypt(p256, data, size, JOSE_JWE_ALLOW128, &pt2, &n2, NULL);
		veil_free_secret(pt2, n2);
	}
	veil_err_clear();
	return 0;
}

/*
 * secret.c - the one place secrets are compared and wiped.
 *
 * Both defer to OpenSSL: CRYPTO_memcmp is constant time in the length, and
 * OPENSSL_cleanse is written so the compiler cannot elide it.
 */
#include "veil/secret.h"

#include <openssl/crypto.h>
#include <stdlib.h>

bool veil_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void veil_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void veil_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

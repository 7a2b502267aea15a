/*
 * hash.c - one-shot SHA-2 digests through EVP.
 */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "veil/crypto.h"

static veil_err digest(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	if (EVP_Digest(p, n, out, NULL, md, NULL) != 1)
		return veil_openssl_fail(VEIL_E_CRYPTO, "digest");
	return VEIL_OK;
}

veil_err veil_sha256(const void *p, size_t n, uint8_t out[32])
{
	return digest(EVP_sha256(), p, n, out);
}

veil_err veil_sha384(const void *p, size_t n, uint8_t out[48])
{
	return digest(EVP_sha384(), p, n, out);
}

veil_err veil_sha512(const void *p, size_t n, uint8_t out[64])
{
	return digest(EVP_sha512(), p, n, out);
}

veil_err veil_openssl_fail(veil_err err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160] = "no detail";
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return veil_fail(err, "%s: %s", what, buf);
}

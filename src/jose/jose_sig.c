/*
 * jose_sig.c - the signature step under JWS: ECDSA with the fixed-width
 * r||s form of RFC 7518 section 3.4, and Ed25519 (RFC 8037 section 3.1).
 *
 * OpenSSL signs and verifies ECDSA in DER; JWS carries r and s as two
 * big-endian integers of the curve's length each. A signature of any other
 * length is refused before any arithmetic (a DER signature handed to a
 * JWS verifier is the classic confusion), and r or s of zero or not below
 * the group order never verify (crypto.h's veil_ecdsa_verify_be).
 */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/crypto.h"

typedef struct sig_alg {
	unsigned bit;
	const char *name;
	veil_jwk_type key;
	size_t width; /* r and s length; Ed25519: half the signature */
} sig_alg;

/* RFC 7518 section 3.4 (ES256, ES384, ES512) and RFC 8037 section 3.1. */
static const sig_alg sig_algs[] = {
    {VEIL_JWS_ES256, "ES256", VEIL_JWK_EC_P256, 32},
    {VEIL_JWS_ES384, "ES384", VEIL_JWK_EC_P384, 48},
    {VEIL_JWS_ES512, "ES512", VEIL_JWK_EC_P521, 66},
    {VEIL_JWS_EDDSA, "EdDSA", VEIL_JWK_ED25519, 32},
};

static const sig_alg *alg_by_bit(unsigned bit)
{
	for (size_t i = 0; i < sizeof sig_algs / sizeof sig_algs[0]; i++)
		if (sig_algs[i].bit == bit)
			return &sig_algs[i];
	return NULL;
}

static const EVP_MD *alg_md(const sig_alg *a)
{
	switch (a->bit) {
	case VEIL_JWS_ES256:
		return EVP_sha256();
	case VEIL_JWS_ES384:
		return EVP_sha384();
	case VEIL_JWS_ES512:
		return EVP_sha512();
	}
	return NULL; /* Ed25519 hashes internally */
}

const char *veil_jws_alg_name(unsigned alg)
{
	const sig_alg *a = alg_by_bit(alg);
	return a != NULL ? a->name : NULL;
}

unsigned veil_jws_alg_for_key(const veil_jwk *k)
{
	for (size_t i = 0; i < sizeof sig_algs / sizeof sig_algs[0]; i++)
		if (sig_algs[i].key == k->type)
			return sig_algs[i].bit;
	return 0;
}

unsigned jose_sig_alg_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof sig_algs / sizeof sig_algs[0]; i++)
		if (strcmp(sig_algs[i].name, name) == 0)
			return sig_algs[i].bit;
	return 0;
}

size_t jose_sig_len(unsigned alg)
{
	const sig_alg *a = alg_by_bit(alg);
	return a != NULL ? 2 * a->width : 0;
}

static veil_err alg_for(const veil_jwk *key, unsigned alg, const sig_alg **out)
{
	const sig_alg *a = alg_by_bit(alg);

	ENSURE(a != NULL, VEIL_E_UNSUPPORTED, "unknown JWS algorithm %#x", alg);
	ENSURE(a->key == key->type, VEIL_E_MISMATCH, "%s needs an %s key, not %s", a->name,
	       veil_jwk_type_name(a->key), veil_jwk_type_name(key->type));
	*out = a;
	return VEIL_OK;
}

/* DER ECDSA-Sig-Value (RFC 3279 section 2.2.3) to r||s of width bytes. */
static veil_err der_to_p1363(const uint8_t *der, size_t der_len, size_t width, uint8_t *sig)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r = NULL, *ss = NULL;
	veil_err err = VEIL_OK;

	if (s == NULL)
		return veil_openssl_fail(VEIL_E_CRYPTO, "ECDSA signature");
	ECDSA_SIG_get0(s, &r, &ss);
	if (BN_bn2binpad(r, sig, (int)width) != (int)width ||
	    BN_bn2binpad(ss, sig + width, (int)width) != (int)width)
		err = veil_fail(VEIL_E_CRYPTO, "ECDSA signature does not fit %zu bytes", width);
	ECDSA_SIG_free(s);
	return err;
}

veil_err jose_sig_sign(const veil_jwk *key, unsigned alg, const uint8_t *msg, size_t msg_len,
		       uint8_t *sig, size_t *sig_len)
{
	const sig_alg *a;
	EVP_MD_CTX *ctx;
	uint8_t der[160];
	size_t n = sizeof der;
	veil_err err = VEIL_OK;

	TRY(alg_for(key, alg, &a));
	ENSURE(key->priv, VEIL_E_USAGE, "signing needs a private key");
	ctx = EVP_MD_CTX_new();
	ENSURE(ctx != NULL, VEIL_E_NOMEM, "signature context");
	if (EVP_DigestSignInit(ctx, NULL, alg_md(a), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, der, &n, msg, msg_len) != 1) {
		err = veil_openssl_fail(VEIL_E_CRYPTO, "signing");
	} else if (a->bit == VEIL_JWS_EDDSA) {
		/* RFC 8032 section 5.1.6: R || S, 64 bytes. */
		if (n != 2 * a->width)
			err = veil_fail(VEIL_E_CRYPTO, "Ed25519 signature of %zu bytes", n);
		else
			memcpy(sig, der, n);
	} else {
		err = der_to_p1363(der, n, a->width, sig);
	}
	EVP_MD_CTX_free(ctx);
	if (err == VEIL_OK)
		*sig_len = 2 * a->width;
	return err;
}

veil_err jose_sig_verify(const veil_jwk *key, unsigned alg, const uint8_t *msg, size_t msg_len,
			 const uint8_t *sig, size_t sig_len)
{
	const sig_alg *a;
	EVP_MD_CTX *ctx;
	veil_err err;
	int rc;

	TRY(alg_for(key, alg, &a));
	/* RFC 7518 section 3.4: the signature is exactly 2 * width bytes; a
	 * DER signature or a shortened r is not an ES256 signature. */
	ENSURE(sig_len == 2 * a->width, VEIL_E_VERIFY, "%s signature of %zu bytes, not %zu",
	       a->name, sig_len, 2 * a->width);
	if (a->bit != VEIL_JWS_EDDSA) {
		err = veil_ecdsa_verify_be(key->pkey, alg_md(a), msg, msg_len, sig, sig + a->width,
					   a->width);
		/* A zero r or s is a signature that does not verify. */
		return err == VEIL_E_MALFORMED ? VEIL_E_VERIFY : err;
	}
	ctx = EVP_MD_CTX_new();
	ENSURE(ctx != NULL, VEIL_E_NOMEM, "signature context");
	rc = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1
		 ? EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len)
		 : -1;
	EVP_MD_CTX_free(ctx);
	if (rc == 1)
		return VEIL_OK;
	ERR_clear_error();
	return veil_fail(VEIL_E_VERIFY, "Ed25519 signature does not verify");
}

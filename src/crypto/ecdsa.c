/*
 * ecdsa.c - ECDSA verification from the raw (r, s) forms hardware uses.
 *
 * OpenSSL verifies DER-encoded ECDSA-Sig-Value (RFC 3279 section 2.2.3), so
 * r and s are turned into BIGNUMs and re-encoded with i2d_ECDSA_SIG. A zero
 * r or s is refused here; OpenSSL's verification refuses values not below the
 * group order (SEC 1 v2, section 4.1.4 step 1), and both end as "does not
 * verify".
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "veil/crypto.h"

/* Maximum field width we accept: P-384's 48 bytes, or AMD's 72-byte slots. */
#define ECDSA_MAX_WIDTH 72

/* Encodes (r, s) big-endian as a DER ECDSA-Sig-Value into a new buffer. */
static veil_err ecdsa_sig_der(const uint8_t *r, const uint8_t *s, size_t width, uint8_t **der,
			      int *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *br = BN_bin2bn(r, (int)width, NULL);
	BIGNUM *bs = BN_bin2bn(s, (int)width, NULL);
	veil_err err = VEIL_OK;

	*der = NULL;
	if (sig == NULL || br == NULL || bs == NULL) {
		err = veil_openssl_fail(VEIL_E_NOMEM, "ECDSA signature");
		goto out;
	}
	if (BN_is_zero(br) || BN_is_zero(bs)) {
		err = veil_fail(VEIL_E_MALFORMED, "ECDSA signature has a zero r or s");
		goto out;
	}
	if (ECDSA_SIG_set0(sig, br, bs) != 1) {
		err = veil_openssl_fail(VEIL_E_CRYPTO, "ECDSA_SIG_set0");
		goto out;
	}
	br = bs = NULL; /* owned by sig now */
	*der_len = i2d_ECDSA_SIG(sig, der);
	if (*der_len <= 0)
		err = veil_openssl_fail(VEIL_E_CRYPTO, "i2d_ECDSA_SIG");
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(sig);
	return err;
}

static veil_err ecdsa_verify(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *msg, size_t msg_len,
			     const uint8_t *r, const uint8_t *s, size_t width)
{
	uint8_t *der = NULL;
	int der_len = 0, rc;
	veil_err err;

	TRY(ecdsa_sig_der(r, s, width, &der, &der_len));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	rc = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1
		 ? EVP_DigestVerify(ctx, der, (size_t)der_len, msg, msg_len)
		 : -1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	if (rc == 1) {
		err = VEIL_OK;
	} else if (rc == 0) {
		ERR_clear_error();
		err = veil_fail(VEIL_E_VERIFY, "ECDSA signature does not verify");
	} else {
		/* Out-of-range r or s also lands here: it is not a valid
		 * signature, so report it as one that does not verify. */
		err = veil_openssl_fail(VEIL_E_VERIFY, "ECDSA signature does not verify");
	}
	return err;
}

veil_err veil_ecdsa_verify_be(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *msg, size_t msg_len,
			      const uint8_t *r, const uint8_t *s, size_t width)
{
	ENSURE(width > 0 && width <= ECDSA_MAX_WIDTH, VEIL_E_USAGE, "ECDSA width %zu", width);
	return ecdsa_verify(pub, md, msg, msg_len, r, s, width);
}

veil_err veil_ecdsa_verify_le(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *msg, size_t msg_len,
			      const uint8_t *r, const uint8_t *s, size_t width)
{
	uint8_t rb[ECDSA_MAX_WIDTH], sb[ECDSA_MAX_WIDTH];

	ENSURE(width > 0 && width <= ECDSA_MAX_WIDTH, VEIL_E_USAGE, "ECDSA width %zu", width);
	for (size_t i = 0; i < width; i++) {
		rb[i] = r[width - 1 - i];
		sb[i] = s[width - 1 - i];
	}
	return ecdsa_verify(pub, md, msg, msg_len, rb, sb, width);
}

veil_err veil_p256_pubkey_from_xy(const uint8_t xy[64], EVP_PKEY **out)
{
	uint8_t point[65];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	veil_err err = VEIL_OK;

	/* SEC 1 section 2.3.3: uncompressed point = 0x04 || X || Y. */
	point[0] = 0x04;
	memcpy(point + 1, xy, 64);
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		err = veil_openssl_fail(VEIL_E_MALFORMED, "P-256 public key is not a curve point");
		goto out;
	}
	*out = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

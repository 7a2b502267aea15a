/*
 * jwe_keys.c - the key management steps of JWE (RFC 7518 section 4): ECDH
 * with the Concat KDF, AES key wrap, and RSAES-OAEP with SHA-256.
 *
 * Each is a thin layer over OpenSSL EVP with the JOSE parameters fixed:
 * the Concat KDF's OtherInfo layout of RFC 7518 section 4.6.2, RFC 3394's
 * default IV, OAEP's SHA-256 for both the label hash and MGF1 (the "-256"
 * of RSA-OAEP-256, section 4.3). The tests run them against the Wycheproof
 * vectors for AES-KW, ECDH P-256 and RSA-OAEP-SHA256.
 */
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/crypto.h"
#include "veil/secret.h"

static void put_be32(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

veil_err jose_concat_kdf(const uint8_t *z, size_t z_len, const char *alg, const uint8_t *apu,
			 size_t apu_len, const uint8_t *apv, size_t apv_len, uint8_t *out,
			 size_t out_len)
{
	uint8_t counter[4], alg_len[4], apu_len_be[4], apv_len_be[4], supp_pub[4];
	uint8_t block[32];
	size_t alg_n = strlen(alg);
	EVP_MD_CTX *ctx;
	veil_err err = VEIL_OK;

	ENSURE(out_len > 0 && out_len <= 64, VEIL_E_USAGE, "Concat KDF of %zu bytes", out_len);
	/* RFC 7518 section 4.6.2: AlgorithmID, PartyUInfo and PartyVInfo are
	 * each a 32-bit big-endian length and the bytes; SuppPubInfo is
	 * keydatalen in bits, 32-bit big-endian; SuppPrivInfo is empty. */
	put_be32(alg_len, alg_n);
	put_be32(apu_len_be, apu_len);
	put_be32(apv_len_be, apv_len);
	put_be32(supp_pub, out_len * 8);
	ctx = EVP_MD_CTX_new();
	ENSURE(ctx != NULL, VEIL_E_NOMEM, "Concat KDF");
	/* NIST SP 800-56A section 5.8.1.1: K(i) = H(counter_i || Z ||
	 * OtherInfo), counter from 1, concatenated and cut to keydatalen. */
	for (size_t i = 0, done = 0; done < out_len && err == VEIL_OK; i++) {
		size_t take = out_len - done < sizeof block ? out_len - done : sizeof block;
		put_be32(counter, i + 1);
		if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, counter, 4) != 1 ||
		    EVP_DigestUpdate(ctx, z, z_len) != 1 ||
		    EVP_DigestUpdate(ctx, alg_len, 4) != 1 ||
		    EVP_DigestUpdate(ctx, alg, alg_n) != 1 ||
		    EVP_DigestUpdate(ctx, apu_len_be, 4) != 1 ||
		    (apu_len > 0 && EVP_DigestUpdate(ctx, apu, apu_len) != 1) ||
		    EVP_DigestUpdate(ctx, apv_len_be, 4) != 1 ||
		    (apv_len > 0 && EVP_DigestUpdate(ctx, apv, apv_len) != 1) ||
		    EVP_DigestUpdate(ctx, supp_pub, 4) != 1 ||
		    EVP_DigestFinal_ex(ctx, block, NULL) != 1) {
			err = veil_openssl_fail(VEIL_E_CRYPTO, "Concat KDF");
			break;
		}
		memcpy(out + done, block, take);
		done += take;
	}
	EVP_MD_CTX_free(ctx);
	veil_wipe(block, sizeof block);
	if (err != VEIL_OK)
		veil_wipe(out, out_len);
	return err;
}

static const EVP_CIPHER *kw_cipher(size_t kek_len)
{
	switch (kek_len) {
	case 16:
		return EVP_aes_128_wrap();
	case 24:
		return EVP_aes_192_wrap();
	case 32:
		return EVP_aes_256_wrap();
	}
	return NULL;
}

/* One RFC 3394 wrap (enc) or unwrap over in; out gets out_len bytes. */
static veil_err kw_run(const uint8_t *kek, size_t kek_len, bool enc, const uint8_t *in,
		       size_t in_len, uint8_t *out, size_t out_len)
{
	const EVP_CIPHER *cipher = kw_cipher(kek_len);
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0, ok;

	ENSURE(cipher != NULL, VEIL_E_USAGE, "AES key wrap with a %zu-byte key", kek_len);
	ctx = EVP_CIPHER_CTX_new();
	ENSURE(ctx != NULL, VEIL_E_NOMEM, "AES key wrap");
	/* Wrap ciphers refuse to run unless asked for by this flag. */
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_CipherInit_ex(ctx, cipher, NULL, kek, NULL, enc ? 1 : 0) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) == 1 && (size_t)n == out_len &&
	     EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && fin == 0;
	EVP_CIPHER_CTX_free(ctx);
	if (ok)
		return VEIL_OK;
	veil_wipe(out, out_len);
	ERR_clear_error();
	/* RFC 3394 section 2.2.3: the only unwrap failure is the integrity
	 * check, and it says nothing more about the key. */
	return enc ? veil_fail(VEIL_E_CRYPTO, "AES key wrap failed")
		   : veil_fail(VEIL_E_VERIFY, "AES key unwrap: integrity check failed");
}

veil_err jose_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
			  uint8_t *out)
{
	/* RFC 3394 section 2: n >= 2 blocks of 64 bits. */
	ENSURE(in_len >= 16 && in_len % 8 == 0 && in_len <= JOSE_KW_MAX, VEIL_E_USAGE,
	       "AES key wrap of %zu bytes (16 to %d, a multiple of 8)", in_len, JOSE_KW_MAX);
	return kw_run(kek, kek_len, true, in, in_len, out, in_len + 8);
}

veil_err jose_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
			    uint8_t *out)
{
	ENSURE(in_len >= 24 && in_len % 8 == 0 && in_len <= JOSE_KW_MAX + 8, VEIL_E_MALFORMED,
	       "wrapped key of %zu bytes (24 to %d, a multiple of 8)", in_len, JOSE_KW_MAX + 8);
	return kw_run(kek, kek_len, false, in, in_len, out, in_len - 8);
}

veil_err jose_ecdh(const veil_jwk *priv, const veil_jwk *pub, uint8_t *z, size_t *z_len)
{
	const jose_curve *c = jose_curve_of(priv->type);
	EVP_PKEY_CTX *ctx;
	size_t n = JOSE_ECDH_MAX;
	int ok;

	ENSURE(c != NULL && priv->type != VEIL_JWK_ED25519 && priv->priv, VEIL_E_USAGE,
	       "ECDH needs a private EC key");
	ENSURE(pub->type == priv->type, VEIL_E_MISMATCH, "ECDH between %s and %s keys",
	       veil_jwk_type_name(priv->type), veil_jwk_type_name(pub->type));
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv->pkey, NULL);
	ENSURE(ctx != NULL, VEIL_E_NOMEM, "ECDH");
	/* set_peer also validates the peer's point (SEC 1 section 3.2.2.1);
	 * the parser did too, this is the second lock on the door against
	 * invalid-curve attacks. */
	ok = EVP_PKEY_derive_init(ctx) == 1 &&
	     EVP_PKEY_derive_set_peer_ex(ctx, pub->pkey, 1) == 1 &&
	     EVP_PKEY_derive(ctx, z, &n) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		veil_wipe(z, JOSE_ECDH_MAX);
		return veil_openssl_fail(VEIL_E_CRYPTO, "ECDH");
	}
	/* SEC 1 section 3.3.1: Z is x_P as a field element of full length. */
	ENSURE(n == c->len, VEIL_E_CRYPTO, "ECDH gave %zu bytes, not %zu", n, c->len);
	*z_len = n;
	return VEIL_OK;
}

static EVP_PKEY_CTX *oaep_ctx(const veil_jwk *k, bool enc)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);

	if (ctx == NULL || (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

veil_err jose_rsa_oaep256_encrypt(const veil_jwk *pub, const uint8_t *in, size_t in_len,
				  uint8_t *out, size_t *out_len)
{
	EVP_PKEY_CTX *ctx;
	size_t n = (size_t)EVP_PKEY_get_size(pub->pkey);
	int ok;

	ENSURE(pub->type == VEIL_JWK_RSA, VEIL_E_MISMATCH, "RSA-OAEP-256 needs an RSA key");
	ctx = oaep_ctx(pub, true);
	if (ctx == NULL)
		return veil_openssl_fail(VEIL_E_CRYPTO, "RSA-OAEP-256 context");
	ok = EVP_PKEY_encrypt(ctx, out, &n, in, in_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return veil_openssl_fail(VEIL_E_CRYPTO, "RSA-OAEP-256 encryption");
	*out_len = n;
	return VEIL_OK;
}

veil_err jose_rsa_oaep256_decrypt(const veil_jwk *priv, const uint8_t *label, size_t label_len,
				  const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
				  size_t *out_len)
{
	EVP_PKEY_CTX *ctx;
	unsigned char *l = NULL;
	size_t n = cap;
	int ok;

	ENSURE(priv->type == VEIL_JWK_RSA && priv->priv, VEIL_E_USAGE,
	       "RSA-OAEP-256 decryption needs a private RSA key");
	ctx = oaep_ctx(priv, false);
	ENSURE(ctx != NULL, VEIL_E_CRYPTO, "RSA-OAEP-256 context");
	if (label_len > 0 && (l = OPENSSL_memdup(label, label_len)) == NULL) {
		EVP_PKEY_CTX_free(ctx);
		return veil_fail(VEIL_E_NOMEM, "OAEP label");
	}
	/* set0 takes the label over when it succeeds. */
	ok = l == NULL || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)label_len) == 1;
	if (!ok)
		OPENSSL_free(l);
	ok = ok && EVP_PKEY_decrypt(ctx, out, &n, in, in_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		/* RFC 8017 section 7.1.2 note: one error for every way the
		 * decoding can fail, so the failure is no oracle. */
		veil_wipe(out, cap);
		ERR_clear_error();
		return veil_fail(VEIL_E_VERIFY, "RSA-OAEP-256 decryption failed");
	}
	*out_len = n;
	return VEIL_OK;
}

/*
 * aead.c - the HPKE AEADs (RFC 9180 section 7.3) over EVP cipher contexts
 * that are keyed once and then only re-nonced, so that sealing many small
 * chunks under one key (a streamed OHTTP response) costs the cipher and
 * little else.
 *
 * The tag is appended to the ciphertext, as HPKE's Seal() defines it. Opening
 * wipes whatever was decrypted when the tag does not match, so a forged
 * chunk never leaves plaintext behind.
 */
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "hpke_internal.h"
#include "veil/aead.h"
#include "veil/crypto.h"
#include "veil/secret.h"

static pthread_once_t ciphers_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *cipher_aes128, *cipher_aes256, *cipher_chacha;

static void ciphers_fetch(void)
{
	cipher_aes128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	cipher_aes256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	cipher_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

const EVP_CIPHER *hpke_cipher(uint16_t aead_id)
{
	pthread_once(&ciphers_once, ciphers_fetch);
	switch (aead_id) {
	case VEIL_AEAD_AES_128_GCM:
		return cipher_aes128;
	case VEIL_AEAD_AES_256_GCM:
		return cipher_aes256;
	case VEIL_AEAD_CHACHA20_POLY1305:
		return cipher_chacha;
	default:
		return NULL;
	}
}

size_t veil_aead_key_len(uint16_t id)
{
	switch (id) {
	case VEIL_AEAD_AES_128_GCM:
		return 16;
	case VEIL_AEAD_AES_256_GCM:
	case VEIL_AEAD_CHACHA20_POLY1305:
		return 32;
	default:
		return 0;
	}
}

const char *veil_aead_name(uint16_t id)
{
	switch (id) {
	case VEIL_AEAD_AES_128_GCM:
		return "AES-128-GCM";
	case VEIL_AEAD_AES_256_GCM:
		return "AES-256-GCM";
	case VEIL_AEAD_CHACHA20_POLY1305:
		return "ChaCha20-Poly1305";
	case VEIL_AEAD_EXPORT_ONLY:
		return "export-only";
	default:
		return "unknown AEAD";
	}
}

veil_err veil_aead_init(veil_aead *a, uint16_t id, const uint8_t *key, size_t key_len)
{
	size_t want = veil_aead_key_len(id);

	memset(a, 0, sizeof *a);
	ENSURE(want != 0, VEIL_E_UNSUPPORTED, "AEAD 0x%04x is not supported", id);
	ENSURE(key_len == want, VEIL_E_USAGE, "%s needs a %zu-byte key, got %zu bytes",
	       veil_aead_name(id), want, key_len);
	ENSURE(hpke_cipher(id) != NULL, VEIL_E_CRYPTO, "%s is not available in OpenSSL",
	       veil_aead_name(id));
	a->id = id;
	a->key_len = key_len;
	memcpy(a->key, key, key_len);
	return VEIL_OK;
}

void veil_aead_clear(veil_aead *a)
{
	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	veil_wipe(a, sizeof *a);
}

/* The context for one direction, keyed on first use: a sender never pays
 * for the opening context, nor a receiver for the sealing one. */
static veil_err aead_ctx(veil_aead *a, bool seal, EVP_CIPHER_CTX **out)
{
	void **slot = seal ? &a->enc : &a->dec;
	EVP_CIPHER_CTX *c;
	int ok;

	ENSURE(a->key_len != 0, VEIL_E_USAGE, "AEAD used before it was keyed");
	if (*slot != NULL) {
		*out = *slot;
		return VEIL_OK;
	}
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return veil_fail(VEIL_E_NOMEM, "AEAD: out of memory");
	if (seal)
		ok = EVP_EncryptInit_ex2(c, hpke_cipher(a->id), a->key, NULL, NULL);
	else
		ok = EVP_DecryptInit_ex2(c, hpke_cipher(a->id), a->key, NULL, NULL);
	if (ok != 1) {
		EVP_CIPHER_CTX_free(c);
		return veil_openssl_fail(VEIL_E_CRYPTO, veil_aead_name(a->id));
	}
	*slot = c;
	*out = c;
	return VEIL_OK;
}

veil_err veil_aead_seal(veil_aead *a, const uint8_t nonce[VEIL_AEAD_NONCE_LEN], const uint8_t *aad,
			size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	EVP_CIPHER_CTX *c;
	int len = 0, fin = 0;

	ENSURE(pt_len <= INT_MAX - VEIL_AEAD_TAG_LEN && aad_len <= INT_MAX, VEIL_E_LIMIT,
	       "AEAD: message of %zu bytes is too long", pt_len);
	TRY(aead_ctx(a, true, &c));
	if (EVP_EncryptInit_ex2(c, NULL, NULL, nonce, NULL) != 1 ||
	    (aad_len > 0 && EVP_EncryptUpdate(c, NULL, &len, aad, (int)aad_len) != 1) ||
	    (pt_len > 0 && EVP_EncryptUpdate(c, ct, &len, pt, (int)pt_len) != 1) ||
	    EVP_EncryptFinal_ex(c, ct + (pt_len > 0 ? (size_t)len : 0), &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, VEIL_AEAD_TAG_LEN, ct + pt_len) != 1)
		return veil_openssl_fail(VEIL_E_CRYPTO, veil_aead_name(a->id));
	return VEIL_OK;
}

veil_err veil_aead_open(veil_aead *a, const uint8_t nonce[VEIL_AEAD_NONCE_LEN], const uint8_t *aad,
			size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	EVP_CIPHER_CTX *c;
	uint8_t tag[VEIL_AEAD_TAG_LEN];
	size_t pt_len;
	int len = 0, fin = 0;

	ENSURE(ct_len >= VEIL_AEAD_TAG_LEN, VEIL_E_TRUNCATED,
	       "AEAD: ciphertext of %zu bytes is shorter than its %d-byte tag", ct_len,
	       VEIL_AEAD_TAG_LEN);
	ENSURE(ct_len <= INT_MAX && aad_len <= INT_MAX, VEIL_E_LIMIT,
	       "AEAD: message of %zu bytes is too long", ct_len);
	pt_len = ct_len - VEIL_AEAD_TAG_LEN;
	TRY(aead_ctx(a, false, &c));
	/* Copy the tag first: pt may overlap ct. */
	memcpy(tag, ct + pt_len, sizeof tag);
	if (EVP_DecryptInit_ex2(c, NULL, NULL, nonce, NULL) != 1 ||
	    (aad_len > 0 && EVP_DecryptUpdate(c, NULL, &len, aad, (int)aad_len) != 1) ||
	    (pt_len > 0 && EVP_DecryptUpdate(c, pt, &len, ct, (int)pt_len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, VEIL_AEAD_TAG_LEN, tag) != 1) {
		/* Unauthenticated plaintext may already be in pt. */
		if (pt_len > 0)
			veil_wipe(pt, pt_len);
		return veil_openssl_fail(VEIL_E_CRYPTO, veil_aead_name(a->id));
	}
	if (EVP_DecryptFinal_ex(c, pt + (pt_len > 0 ? (size_t)len : 0), &fin) != 1) {
		/* A wrong tag is not a library failure: drop OpenSSL's queue. */
		(void)veil_openssl_fail(VEIL_E_VERIFY, "AEAD");
		if (pt_len > 0)
			veil_wipe(pt, pt_len);
		return veil_fail(VEIL_E_VERIFY, "%s: the message does not authenticate",
				 veil_aead_name(a->id));
	}
	return VEIL_OK;
}

/*
 * chunk.c - one chunk of a sealed file: AES-256-GCM in the STREAM
 * construction.
 *
 * Hoang, Reyhanitabar, Rogaway, Vizar, "Online Authenticated-Encryption
 * and its Nonce-Reuse Misuse-Resistance" (CRYPTO 2015), section 7: a
 * stream is cut into segments, segment i is encrypted with the nonce
 * N || i || d, where N is fixed per stream and d is 1 for the last segment
 * and 0 for every other. With a 96-bit GCM nonce: a 7-byte prefix, the
 * 32-bit big-endian counter and one flag byte (the layout Tink's streaming
 * AEADs use). The counter stops reordering and dropping chunks from the
 * middle; the flag stops truncation at a chunk boundary, since a cut
 * stream has no chunk that decrypts with d = 1 in its place; the header
 * hash as AAD stops splicing chunks between files and any header change.
 *
 * Each thread keys its own context once (seal_cipher_new); a chunk then
 * costs an IV set and the cipher itself. Decryption is in place: the
 * opener reads ciphertext straight into the plaintext's final place.
 */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

#include "seal/seal_internal.h"
#include "veil/crypto.h"
#include "veil/secret.h"

static void stream_nonce(const seal_keys *keys, uint64_t i, uint64_t count,
			 uint8_t nonce[SEAL_NONCE_LEN])
{
	memcpy(nonce, keys->prefix, SEAL_PREFIX_LEN);
	nonce[7] = (uint8_t)(i >> 24);
	nonce[8] = (uint8_t)(i >> 16);
	nonce[9] = (uint8_t)(i >> 8);
	nonce[10] = (uint8_t)i;
	nonce[11] = i + 1 == count ? 1 : 0;
}

veil_err seal_cipher_new(const seal_keys *keys, bool encrypt, EVP_CIPHER_CTX **out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int ok;

	*out = NULL;
	ENSURE(ctx != NULL, VEIL_E_NOMEM, "out of memory for a cipher context");
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt ? 1 : 0) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, keys->chunk_key, NULL, encrypt ? 1 : 0) == 1;
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		return veil_openssl_fail(VEIL_E_CRYPTO, "AES-256-GCM setup");
	}
	*out = ctx;
	return VEIL_OK;
}

/* Sets the nonce and feeds the AAD (the header hash). */
static bool chunk_start(EVP_CIPHER_CTX *ctx, const seal_keys *keys, uint64_t i, uint64_t count,
			int encrypt)
{
	uint8_t nonce[SEAL_NONCE_LEN];
	int n;

	stream_nonce(keys, i, count, nonce);
	return EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, encrypt) == 1 &&
	       EVP_CipherUpdate(ctx, NULL, &n, keys->header_hash, sizeof keys->header_hash) == 1;
}

veil_err seal_chunk_encrypt(EVP_CIPHER_CTX *ctx, const seal_keys *keys, uint64_t i, uint64_t count,
			    uint8_t *buf, size_t len, uint8_t tag[SEAL_TAG_LEN])
{
	int n = 0, fin = 0;

	/* The counter is 32 bits: the caps keep every file within it. */
	ENSURE(count <= (1ULL << 32) && len <= INT_MAX, VEIL_E_LIMIT,
	       "chunk %llu of %llu is out of range", (unsigned long long)i,
	       (unsigned long long)count);
	if (!chunk_start(ctx, keys, i, count, 1) ||
	    (len > 0 && EVP_CipherUpdate(ctx, buf, &n, buf, (int)len) != 1) ||
	    EVP_CipherFinal_ex(ctx, buf + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1)
		return veil_openssl_fail(VEIL_E_CRYPTO, "AES-256-GCM encryption");
	return VEIL_OK;
}

veil_err seal_chunk_decrypt(EVP_CIPHER_CTX *ctx, const seal_keys *keys, uint64_t i, uint64_t count,
			    uint8_t *buf, size_t len, const uint8_t tag[SEAL_TAG_LEN])
{
	uint8_t t[SEAL_TAG_LEN];
	int n = 0, fin = 0;

	ENSURE(count <= (1ULL << 32) && len <= INT_MAX, VEIL_E_LIMIT,
	       "chunk %llu of %llu is out of range", (unsigned long long)i,
	       (unsigned long long)count);
	memcpy(t, tag, sizeof t);
	if (!chunk_start(ctx, keys, i, count, 0) ||
	    (len > 0 && EVP_CipherUpdate(ctx, buf, &n, buf, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, t) != 1)
		return veil_openssl_fail(VEIL_E_CRYPTO, "AES-256-GCM decryption");
	if (EVP_CipherFinal_ex(ctx, buf + n, &fin) != 1) {
		/* Unauthenticated plaintext never leaves this function. */
		veil_wipe(buf, len);
		ERR_clear_error();
		return veil_fail(VEIL_E_VERIFY,
				 "chunk %llu of %llu fails authentication: the file was altered, "
				 "truncated, reordered or mixed with another",
				 (unsigned long long)i + 1, (unsigned long long)count);
	}
	return VEIL_OK;
}

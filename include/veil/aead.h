/*
 * aead.h - the symmetric primitives under HPKE and Oblivious HTTP:
 * HKDF-SHA256 (RFC 5869) and the three HPKE AEADs (RFC 9180 section 7.3).
 *
 * A veil_aead holds one key and a cipher context that is set up once, so
 * sealing a stream of small chunks pays only for the nonce and the cipher
 * itself (the chunked OHTTP response seals one token at a time). The caller
 * owns the struct; veil_aead_clear() wipes the key and frees the context.
 */
#ifndef VEIL_AEAD_H
#define VEIL_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

/* HPKE AEAD identifiers (RFC 9180 section 7.3). */
#define VEIL_AEAD_AES_128_GCM       0x0001
#define VEIL_AEAD_AES_256_GCM       0x0002
#define VEIL_AEAD_CHACHA20_POLY1305 0x0003
#define VEIL_AEAD_EXPORT_ONLY       0xFFFF

#define VEIL_AEAD_KEY_MAX   32
#define VEIL_AEAD_NONCE_LEN 12
#define VEIL_AEAD_TAG_LEN   16

#define VEIL_HKDF_SHA256_LEN 32

typedef struct veil_aead {
	uint16_t id;
	size_t key_len;
	uint8_t key[VEIL_AEAD_KEY_MAX];
	void *enc; /* EVP_CIPHER_CTX, keyed for sealing */
	void *dec; /* EVP_CIPHER_CTX, keyed for opening */
} veil_aead;

/* Nk for an AEAD id, or 0 when the id is not one of the three above. */
size_t veil_aead_key_len(uint16_t id);
const char *veil_aead_name(uint16_t id);

/* Keys a new context. VEIL_E_UNSUPPORTED for an unknown id (or export-only),
 * VEIL_E_USAGE for a key of the wrong length. */
VEIL_MUST_CHECK veil_err veil_aead_init(veil_aead *a, uint16_t id, const uint8_t *key,
					size_t key_len);
/* Wipes the key and frees the cipher contexts. Safe on a zeroed struct. */
void veil_aead_clear(veil_aead *a);

/* Writes pt_len + VEIL_AEAD_TAG_LEN bytes (ciphertext, then tag) to ct. ct
 * may equal pt. */
VEIL_MUST_CHECK veil_err veil_aead_seal(veil_aead *a, const uint8_t nonce[VEIL_AEAD_NONCE_LEN],
					const uint8_t *aad, size_t aad_len, const uint8_t *pt,
					size_t pt_len, uint8_t *ct);
/* Writes ct_len - VEIL_AEAD_TAG_LEN bytes to pt. VEIL_E_VERIFY when the tag
 * does not match (pt is then wiped), VEIL_E_TRUNCATED when ct is shorter than
 * a tag. pt may equal ct. */
VEIL_MUST_CHECK veil_err veil_aead_open(veil_aead *a, const uint8_t nonce[VEIL_AEAD_NONCE_LEN],
					const uint8_t *aad, size_t aad_len, const uint8_t *ct,
					size_t ct_len, uint8_t *pt);

/* HKDF-Extract (RFC 5869 section 2.2). An empty salt is a string of
 * HashLen zeros, as the RFC says. */
VEIL_MUST_CHECK veil_err veil_hkdf_sha256_extract(const uint8_t *salt, size_t salt_len,
						  const uint8_t *ikm, size_t ikm_len,
						  uint8_t prk[VEIL_HKDF_SHA256_LEN]);
/* HKDF-Expand (RFC 5869 section 2.3): out_len at most 255 * HashLen, else
 * VEIL_E_USAGE. prk of any length (RFC 5869 requires at least HashLen; the
 * Wycheproof vectors use exactly that). */
VEIL_MUST_CHECK veil_err veil_hkdf_sha256_expand(const uint8_t *prk, size_t prk_len,
						 const uint8_t *info, size_t info_len, uint8_t *out,
						 size_t out_len);
/* The same, with the info given as several pieces concatenated (HPKE's
 * labelled expand builds its info from four). */
VEIL_MUST_CHECK veil_err veil_hkdf_sha256_expandv(const uint8_t *prk, size_t prk_len,
						  const uint8_t *const *info,
						  const size_t *info_len, size_t info_count,
						  uint8_t *out, size_t out_len);
/* HMAC-SHA256 over several pieces. */
VEIL_MUST_CHECK veil_err veil_hmac_sha256v(const uint8_t *key, size_t key_len,
					   const uint8_t *const *msg, const size_t *msg_len,
					   size_t msg_count, uint8_t out[VEIL_HKDF_SHA256_LEN]);

#endif

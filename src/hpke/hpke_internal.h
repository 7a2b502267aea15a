/*
 * hpke_internal.h - what the files of src/hpke share: algorithm objects
 * fetched from OpenSSL once per process (an implicit fetch on every use
 * costs more than the work for small messages).
 */
#ifndef VEIL_HPKE_INTERNAL_H
#define VEIL_HPKE_INTERNAL_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/hpke.h"

/* SHA-256, or NULL if the provider lacks it. */
const EVP_MD *hpke_sha256(void);
/* The cipher for an HPKE AEAD id, or NULL. */
const EVP_CIPHER *hpke_cipher(uint16_t aead_id);

/* RFC 9180 section 4: the labelled forms of Extract and Expand, with
 * "HPKE-v1" and the suite id in front of the label. Expand takes its info in
 * up to four pieces (a KEM context is enc || pkRm || pkSm). */
VEIL_MUST_CHECK veil_err hpke_labeled_extract(const uint8_t *suite_id, size_t suite_id_len,
					      const uint8_t *salt, size_t salt_len,
					      const char *label, const uint8_t *ikm, size_t ikm_len,
					      uint8_t prk[32]);
VEIL_MUST_CHECK veil_err hpke_labeled_expand(const uint8_t prk[32], const uint8_t *suite_id,
					     size_t suite_id_len, const char *label,
					     const uint8_t *const *info, const size_t *info_len,
					     size_t info_count, uint8_t *out, size_t out_len);

/* veil_hpke_setup_sender with a given ephemeral key, for the RFC 9180 test
 * vectors only: never reuse eph. NULL: a fresh key. */
VEIL_MUST_CHECK veil_err hpke_setup_sender_with(veil_hpke_ctx *ctx, const veil_hpke_params *p,
						const uint8_t pk_r[VEIL_X25519_LEN],
						const veil_x25519_key *eph,
						uint8_t enc[VEIL_X25519_LEN]);

/* base XOR I2OSP(counter, Nn): the per-message nonce of RFC 9180 section
 * 5.2, and of chunked OHTTP responses (draft section 6.2). */
void hpke_counter_nonce(const uint8_t base[VEIL_AEAD_NONCE_LEN], uint64_t counter,
			uint8_t nonce[VEIL_AEAD_NONCE_LEN]);

/* "KEM" || I2OSP(kem_id, 2) for DHKEM(X25519, HKDF-SHA256). */
#define HPKE_KEM_SUITE_ID_LEN 5
extern const uint8_t hpke_kem_suite_id[HPKE_KEM_SUITE_ID_LEN];

#endif

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

/* "KEM" || I2OSP(kem_id, 2) for DHKEM(X25519, HKDF-SHA256). */
#define HPKE_KEM_SUITE_ID_LEN 5
extern const uint8_t hpke_kem_suite_id[HPKE_KEM_SUITE_ID_LEN];

#endif

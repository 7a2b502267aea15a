/*
 * crypto.h - thin, checked wrappers over OpenSSL EVP for what verifiers need.
 *
 * Hardware signs with raw (r, s) pairs in fixed-width fields (AMD: 72-byte
 * little-endian; Intel: 32-byte big-endian), not DER. These helpers take
 * those forms directly, so each evidence module does not re-invent the
 * conversion, and they keep OpenSSL's error queue from leaking between calls.
 */
#ifndef VEIL_CRYPTO_H
#define VEIL_CRYPTO_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

VEIL_MUST_CHECK veil_err veil_sha256(const void *p, size_t n, uint8_t out[32]);
VEIL_MUST_CHECK veil_err veil_sha384(const void *p, size_t n, uint8_t out[48]);
VEIL_MUST_CHECK veil_err veil_sha512(const void *p, size_t n, uint8_t out[64]);

/*
 * Verifies an ECDSA signature given as big-endian r and s of `width` bytes
 * each, over msg hashed with md. VEIL_E_VERIFY when the signature is wrong,
 * VEIL_E_MALFORMED when r or s is out of range.
 */
VEIL_MUST_CHECK veil_err veil_ecdsa_verify_be(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *msg,
					      size_t msg_len, const uint8_t *r, const uint8_t *s,
					      size_t width);
/* The same with r and s little-endian (AMD SEV-SNP). */
VEIL_MUST_CHECK veil_err veil_ecdsa_verify_le(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *msg,
					      size_t msg_len, const uint8_t *r, const uint8_t *s,
					      size_t width);
/* Builds a P-256 public key from the 64-byte x||y form Intel quotes carry. */
VEIL_MUST_CHECK veil_err veil_p256_pubkey_from_xy(const uint8_t xy[64], EVP_PKEY **out);

/* Drops whatever is on OpenSSL's error queue, appending the first entry to
 * the current error detail; returns err. */
veil_err veil_openssl_fail(veil_err err, const char *what);

#endif

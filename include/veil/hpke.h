/*
 * hpke.h - Hybrid Public Key Encryption (RFC 9180) for the one KEM Veil
 * speaks: DHKEM(X25519, HKDF-SHA256), with KDF HKDF-SHA256 and the AEADs
 * AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 and export-only.
 *
 * All four modes (base, psk, auth, auth_psk), the context API (a sequence of
 * messages under one key schedule, with the sequence number kept inside the
 * context), the single-shot API, and the secret export interface.
 *
 * Contexts and keys are caller-owned structs with init/clear pairs;
 * veil_hpke_ctx_clear() and veil_x25519_key_clear() wipe every secret they
 * held. A shared secret of all zeros (a low-order public key) is refused, as
 * RFC 9180 section 7.1.4 requires.
 */
#ifndef VEIL_HPKE_H
#define VEIL_HPKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/aead.h"
#include "veil/error.h"

#define VEIL_HPKE_KEM_X25519_SHA256 0x0020
#define VEIL_HPKE_KDF_HKDF_SHA256   0x0001

#define VEIL_X25519_LEN 32 /* Nsk, Npk, Nenc and Nsecret of the KEM */

typedef enum veil_hpke_mode {
	VEIL_HPKE_MODE_BASE = 0,
	VEIL_HPKE_MODE_PSK = 1,
	VEIL_HPKE_MODE_AUTH = 2,
	VEIL_HPKE_MODE_AUTH_PSK = 3,
} veil_hpke_mode;

typedef struct veil_hpke_suite {
	uint16_t kem;
	uint16_t kdf;
	uint16_t aead;
} veil_hpke_suite;

/* VEIL_E_UNSUPPORTED, naming the identifier, unless every part of the suite
 * is one this module implements. */
VEIL_MUST_CHECK veil_err veil_hpke_suite_check(veil_hpke_suite s);

/* An X25519 key pair. The public key is computed once, when the key is made,
 * because OpenSSL derives it on every import (tens of microseconds). */
typedef struct veil_x25519_key {
	void *pkey; /* EVP_PKEY */
	uint8_t pub[VEIL_X25519_LEN];
} veil_x25519_key;

VEIL_MUST_CHECK veil_err veil_x25519_key_generate(veil_x25519_key *k);
/* From a 32-byte private scalar (clamped by X25519 itself). */
VEIL_MUST_CHECK veil_err veil_x25519_key_from_private(veil_x25519_key *k,
						      const uint8_t sk[VEIL_X25519_LEN]);
/* RFC 9180 section 7.1.3 DeriveKeyPair for DHKEM(X25519, HKDF-SHA256). */
VEIL_MUST_CHECK veil_err veil_x25519_key_derive(veil_x25519_key *k, const uint8_t *ikm,
						size_t ikm_len);
/* Copies out the private scalar (for an explicit export only). */
VEIL_MUST_CHECK veil_err veil_x25519_key_private(const veil_x25519_key *k,
						 uint8_t sk[VEIL_X25519_LEN]);
void veil_x25519_key_clear(veil_x25519_key *k);
/* DH(sk, pk). VEIL_E_VERIFY when the result is all zeros (pk of low order). */
VEIL_MUST_CHECK veil_err veil_x25519(const veil_x25519_key *sk, const uint8_t pk[VEIL_X25519_LEN],
				     uint8_t out[VEIL_X25519_LEN]);

/* What both sides must agree on besides the keys. psk and psk_id are given
 * in the psk modes and only there (RFC 9180 section 5.1 VerifyPSKInputs);
 * the sender's key (auth modes) is sender_key on the sending side and
 * sender_pub on the receiving side. Everything is borrowed. */
typedef struct veil_hpke_params {
	veil_hpke_mode mode;
	veil_hpke_suite suite;
	const uint8_t *info;
	size_t info_len;
	const uint8_t *psk;
	size_t psk_len;
	const uint8_t *psk_id;
	size_t psk_id_len;
	const veil_x25519_key *sender_key;
	const uint8_t *sender_pub;
} veil_hpke_params;

#define VEIL_HPKE_SECRET_LEN 32 /* Nh of HKDF-SHA256 */

typedef struct veil_hpke_ctx {
	veil_hpke_suite suite;
	bool sender;
	veil_aead aead; /* unused (zero) for export-only */
	uint8_t base_nonce[VEIL_AEAD_NONCE_LEN];
	uint64_t seq;
	uint8_t exporter_secret[VEIL_HPKE_SECRET_LEN];
} veil_hpke_ctx;

/* SetupS: encapsulates to pk_r with a fresh ephemeral key and writes enc
 * (VEIL_X25519_LEN bytes). (A caller-chosen ephemeral key exists only for the
 * test vectors, in src/hpke/hpke_internal.h: reusing one would reuse the
 * AEAD key and nonce.)
 * VEIL_E_UNSUPPORTED for an unknown mode or suite, VEIL_E_USAGE for psk or
 * sender-key inputs that do not fit the mode. */
VEIL_MUST_CHECK veil_err veil_hpke_setup_sender(veil_hpke_ctx *ctx, const veil_hpke_params *p,
						const uint8_t pk_r[VEIL_X25519_LEN],
						uint8_t enc[VEIL_X25519_LEN]);
/* SetupR: decapsulates enc with sk_r. VEIL_E_MALFORMED for an enc of the
 * wrong length, VEIL_E_VERIFY for a low-order one. */
VEIL_MUST_CHECK veil_err veil_hpke_setup_receiver(veil_hpke_ctx *ctx, const veil_hpke_params *p,
						  const veil_x25519_key *sk_r, const uint8_t *enc,
						  size_t enc_len);
void veil_hpke_ctx_clear(veil_hpke_ctx *ctx);

/* ContextS.Seal: ct receives pt_len + VEIL_AEAD_TAG_LEN bytes. Fails with
 * VEIL_E_LIMIT once the sequence number is exhausted, VEIL_E_USAGE on a
 * receiver context or an export-only suite. */
VEIL_MUST_CHECK veil_err veil_hpke_seal(veil_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
					const uint8_t *pt, size_t pt_len, uint8_t *ct);
/* ContextR.Open: pt receives ct_len - VEIL_AEAD_TAG_LEN bytes; VEIL_E_USAGE
 * on a sender context or an export-only suite. On
 * VEIL_E_VERIFY the sequence number does not advance (RFC 9180 section
 * 5.2), so a forged message does not desynchronise the stream. */
VEIL_MUST_CHECK veil_err veil_hpke_open(veil_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
					const uint8_t *ct, size_t ct_len, uint8_t *pt);
/* Context.Export: out_len at most 255 * 32. */
VEIL_MUST_CHECK veil_err veil_hpke_export(const veil_hpke_ctx *ctx, const uint8_t *exporter_ctx,
					  size_t exporter_ctx_len, uint8_t *out, size_t out_len);

/* Single-shot Seal and Open (RFC 9180 section 6.1). */
VEIL_MUST_CHECK veil_err veil_hpke_seal_once(const veil_hpke_params *p,
					     const uint8_t pk_r[VEIL_X25519_LEN],
					     const uint8_t *aad, size_t aad_len, const uint8_t *pt,
					     size_t pt_len, uint8_t enc[VEIL_X25519_LEN],
					     uint8_t *ct);
VEIL_MUST_CHECK veil_err veil_hpke_open_once(const veil_hpke_params *p, const veil_x25519_key *sk_r,
					     const uint8_t *enc, size_t enc_len, const uint8_t *aad,
					     size_t aad_len, const uint8_t *ct, size_t ct_len,
					     uint8_t *pt);

#endif

/*
 * jose.h - the JOSE pieces the key broker speaks: JSON Web Keys (RFC 7517,
 * RFC 7518 section 6, RFC 8037), compact JWS and JWTs (RFC 7515, RFC 7519)
 * and flattened JWE (RFC 7516 section 7.2.2).
 *
 * Only the algorithms the Confidential Containers KBS protocol needs are
 * here, and each is chosen by the caller, never by the message:
 *
 *   JWS   ES256, ES384, ES512 (P1363 r||s signatures) and EdDSA (Ed25519);
 *         verification takes an explicit allow-list; "none", HMAC, RSA and
 *         any "crit" header are refused.
 *   JWE   A256GCM content encryption; keys by ECDH-ES+A256KW to an EC
 *         P-256, P-384 or P-521 key, or by RSA-OAEP-256 to an RSA key.
 *         RSA1_5 and RSA-OAEP (SHA-1) are refused.
 *
 * veil_jwe_encrypt writes the exact protected header CoCo's guest rebuilds
 * when it computes the AAD (docs/jose.md): for EC keys
 *   {"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"crv":"P-256","kty":"EC","x":"...","y":"..."}}
 * and for RSA keys {"alg":"RSA-OAEP-256","enc":"A256GCM"}, with no spaces.
 *
 * Parsers are strict and pure (no I/O, no clock): base64url without padding, exact
 * coordinate lengths, points checked on their curve, duplicate JSON members
 * refused, sizes capped by include/veil/limits.h. Every buffer that held a
 * key, a shared secret or a plaintext is wiped before it is freed.
 */
#ifndef VEIL_JOSE_H
#define VEIL_JOSE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

/* ---- JSON Web Keys ---- */

typedef enum veil_jwk_type {
	VEIL_JWK_EC_P256 = 1, /* kty "EC", crv "P-256" */
	VEIL_JWK_EC_P384,     /* kty "EC", crv "P-384" */
	VEIL_JWK_EC_P521,     /* kty "EC", crv "P-521" */
	VEIL_JWK_RSA,         /* kty "RSA", 2048 to 8192 bits */
	VEIL_JWK_ED25519,     /* kty "OKP", crv "Ed25519" (RFC 8037) */
} veil_jwk_type;

#define VEIL_JWK_RSA_MIN_BITS 2048
#define VEIL_JWK_RSA_MAX_BITS 8192

/* A parsed key: public, or a key pair. Opaque; free with veil_jwk_free. */
typedef struct veil_jwk veil_jwk;

/*
 * Parses a public JWK. Accepted members: the key's own ("kty", "crv", "x",
 * "y", "n", "e") and the metadata of RFC 7517 section 4 ("alg", "kid",
 * "use", "key_ops", "x5c", "x5t", "x5t#S256", "x5u") plus WebCrypto's
 * "ext"; metadata is type-checked, "alg" and "kid" are kept, the rest is not
 * interpreted (an "x5c" is not checked against the key). Anything else,
 * and any private member ("d", "p", "q", "dp", "dq", "qi", "oth", "k"), is
 * an error. EC coordinates must have the curve's full length and name a
 * point on the curve; an RSA modulus must have 2048 to 8192 bits and the
 * exponent must be odd, at least 65537 and at most 32 bits; integers are in
 * their shortest form (RFC 7518 section 2, Base64urlUInt).
 */
VEIL_MUST_CHECK veil_err veil_jwk_parse_public(const json_t *jwk, veil_jwk **out);
/* The same from JSON text (at most VEIL_JWK_MAX_BYTES). */
VEIL_MUST_CHECK veil_err veil_jwk_parse_public_bytes(const uint8_t *buf, size_t len,
						     veil_jwk **out);
/*
 * Parses a private JWK: the public members plus "d" (EC, OKP) or "d", "p",
 * "q", "dp", "dq", "qi" (RSA; all six, no "oth"). The private part must
 * match the public one (the pair is checked), and a private scalar must have
 * the curve's full length.
 */
VEIL_MUST_CHECK veil_err veil_jwk_parse_private(const json_t *jwk, veil_jwk **out);
VEIL_MUST_CHECK veil_err veil_jwk_parse_private_bytes(const uint8_t *buf, size_t len,
						      veil_jwk **out);

/* A fresh key pair. rsa_bits is used for VEIL_JWK_RSA only (2048..8192,
 * a multiple of 8). */
VEIL_MUST_CHECK veil_err veil_jwk_generate(veil_jwk_type type, unsigned rsa_bits, veil_jwk **out);
/* Wraps an OpenSSL key (from a PEM file, say): takes a new reference to
 * pkey, which stays the caller's too. Same type rules as the parsers. */
VEIL_MUST_CHECK veil_err veil_jwk_from_pkey(EVP_PKEY *pkey, veil_jwk **out);
/* Wipes and frees. NULL is fine. */
void veil_jwk_free(veil_jwk *k);

veil_jwk_type veil_jwk_type_of(const veil_jwk *k);
/* "EC P-256", "RSA", "Ed25519": for messages. */
const char *veil_jwk_type_name(veil_jwk_type type);
bool veil_jwk_is_private(const veil_jwk *k);
/* The JWK's "alg" / "kid" member, or NULL when it had none. Borrowed. */
const char *veil_jwk_alg(const veil_jwk *k);
const char *veil_jwk_kid(const veil_jwk *k);
/* The OpenSSL key, borrowed (valid until veil_jwk_free). */
EVP_PKEY *veil_jwk_pkey(const veil_jwk *k);

/* The public key as a new JSON object (caller json_decref): {"kty","crv",
 * "x","y"} for EC, {"kty","n","e"} for RSA, {"kty","crv","x"} for OKP, in
 * that order; no "alg" or "kid" (callers add what their protocol wants). */
VEIL_MUST_CHECK veil_err veil_jwk_export_public(const veil_jwk *k, json_t **out);
/* The key pair as compact JSON text in a new NUL-terminated buffer that the
 * caller frees with veil_free_secret(*out, *out_len). For tests and for
 * handing a key to another process; never log it. */
VEIL_MUST_CHECK veil_err veil_jwk_export_private(const veil_jwk *k, char **out, size_t *out_len);

/* RFC 7638 JWK thumbprint (SHA-256 over the required members in
 * lexicographic order), raw and as 43 base64url characters plus a NUL. */
#define VEIL_JWK_THUMBPRINT_LEN     32
#define VEIL_JWK_THUMBPRINT_B64_LEN 43
VEIL_MUST_CHECK veil_err veil_jwk_thumbprint(const veil_jwk *k,
					     uint8_t out[VEIL_JWK_THUMBPRINT_LEN]);
VEIL_MUST_CHECK veil_err veil_jwk_thumbprint_b64(const veil_jwk *k,
						 char out[VEIL_JWK_THUMBPRINT_B64_LEN + 1]);

/* ---- Compact JWS (RFC 7515 section 7.1) ---- */

/* Signature algorithms, as bits of an allow-list (RFC 7518 section 3.4,
 * RFC 8037 section 3.1). */
#define VEIL_JWS_ES256 0x1u /* ECDSA P-256 SHA-256 */
#define VEIL_JWS_ES384 0x2u /* ECDSA P-384 SHA-384 */
#define VEIL_JWS_ES512 0x4u /* ECDSA P-521 SHA-512 */
#define VEIL_JWS_EDDSA 0x8u /* Ed25519 */

/* "ES256", ...; NULL for anything but exactly one of the bits above. */
const char *veil_jws_alg_name(unsigned alg);
/* The algorithm a key signs with (ES256 for P-256, ...), 0 for RSA. */
unsigned veil_jws_alg_for_key(const veil_jwk *k);

/* A verified JWS. The caller owns it; veil_jws_clear frees. */
typedef struct veil_jws {
	unsigned alg;     /* one VEIL_JWS_* bit */
	json_t *header;   /* the protected header */
	uint8_t *payload; /* decoded, NUL-terminated (not counted) */
	size_t payload_len;
} veil_jws;

/*
 * Signs payload with key (a private key) into a new NUL-terminated compact
 * JWS that the caller frees. The header is {"alg":"<alg>"} followed by the
 * members of `header` (NULL for none) in their order, compact; `header` may
 * not set "alg", "crit" or "b64".
 */
VEIL_MUST_CHECK veil_err veil_jws_sign(const veil_jwk *key, const json_t *header,
				       const uint8_t *payload, size_t payload_len, char **out,
				       size_t *out_len);
/*
 * Verifies a compact JWS against one key. "alg" must be one of the bits in
 * `allowed` and fit the key (ES256 needs a P-256 key, ...); "none" and every
 * other algorithm are refused, as are "crit", "b64", strings that are not
 * strict unpadded base64url, and signatures of the wrong length. Header
 * parameters this code does not know (including "jwk", "x5c", "kid") are
 * ignored, as RFC 7515 section 4 says: the key is always the caller's.
 * VEIL_E_VERIFY when the signature does not verify.
 */
VEIL_MUST_CHECK veil_err veil_jws_verify(const char *jws, size_t len, const veil_jwk *key,
					 unsigned allowed, veil_jws *out);
/* The protected header of a compact JWS, unverified (to pick a key by
 * "kid"): a new object the caller json_decrefs. */
VEIL_MUST_CHECK veil_err veil_jws_peek_header(const char *jws, size_t len, json_t **header);
void veil_jws_clear(veil_jws *jws);

/*
 * The strict profile of Veil's own signed objects (receipts, signed tree
 * heads): ES256 only, a P-256 key, a protected header of exactly
 * {"alg":"ES256","typ":typ,"kid":<RFC 7638 thumbprint of the key>}, and a
 * compact JWS of three non-empty base64url parts within max_bytes, refused
 * before any decoding otherwise. `what` names the object in every message.
 */
typedef struct veil_jws_profile {
	const char *what; /* "receipt", "signed tree head" */
	const char *typ;
	size_t max_bytes;
} veil_jws_profile;
/* The key fits the profile (P-256; private when signing): VEIL_E_USAGE. */
VEIL_MUST_CHECK veil_err veil_jws_profile_key(const veil_jws_profile *p, const veil_jwk *key,
					      bool need_private);
/* Shape, header, signature, then the payload parsed strictly (*payload a
 * new reference; the caller checks its members). VEIL_E_VERIFY for another
 * algorithm, another key or a bad signature; VEIL_E_MALFORMED for a bad
 * shape or header; VEIL_E_LIMIT over max_bytes. */
VEIL_MUST_CHECK veil_err veil_jws_profile_verify(const veil_jws_profile *p, const veil_jwk *key,
						 const char *jws, size_t len, json_t **payload);

/* ---- JWT (RFC 7519) ---- */

/* How the time claims are checked. Times are NumericDates (seconds since
 * the epoch); only integer values are accepted. */
typedef struct veil_jwt_rules {
	int64_t now;
	int64_t leeway; /* seconds of clock skew allowed, 0..VEIL_JWT_LEEWAY_MAX */
	bool require_exp;
} veil_jwt_rules;

/* A JWS over the compact JSON of `claims` (an object). The header is as in
 * veil_jws_sign, with "typ":"JWT" after "alg" unless `header` sets "typ". */
VEIL_MUST_CHECK veil_err veil_jwt_sign(const veil_jwk *key, const json_t *header,
				       const json_t *claims, char **out, size_t *out_len);
/*
 * veil_jws_verify, then the payload must be one JSON object whose time
 * claims pass veil_jwt_check_claims. *claims (and *header when header is
 * not NULL) are new references the caller json_decrefs.
 */
VEIL_MUST_CHECK veil_err veil_jwt_verify(const char *jwt, size_t len, const veil_jwk *key,
					 unsigned allowed, const veil_jwt_rules *rules,
					 json_t **claims, json_t **header);
/*
 * RFC 7519 section 4.1: VEIL_E_EXPIRED when now >= exp + leeway, when
 * now + leeway < nbf, or when iat > now + leeway; VEIL_E_MALFORMED when a
 * time claim is not an integer, or when exp is missing and required.
 */
VEIL_MUST_CHECK veil_err veil_jwt_check_claims(const json_t *claims, const veil_jwt_rules *rules);

/* ---- Flattened JWE (RFC 7516 section 7.2.2) ---- */

/*
 * Encrypts pt (at most VEIL_JWE_PLAINTEXT_MAX bytes) to a public key into a
 * new NUL-terminated flattened JWE, members in the order
 *   {"protected","encrypted_key","iv","ciphertext","tag"}
 * with a fresh CEK and IV. EC keys get ECDH-ES+A256KW with a fresh
 * ephemeral key on the same curve; RSA keys get RSA-OAEP-256. A JWK whose
 * "alg" asks for anything else is refused (RSA1_5 with its own message);
 * Ed25519 keys cannot encrypt.
 */
VEIL_MUST_CHECK veil_err veil_jwe_encrypt(const veil_jwk *recipient, const uint8_t *pt,
					  size_t pt_len, char **out, size_t *out_len);
/*
 * Decrypts a flattened JWE (at most VEIL_JWE_MAX_BYTES) with a private key.
 * "alg" must be ECDH-ES+A256KW (EC key, "epk" on the same curve, optional
 * "apu"/"apv") or RSA-OAEP-256 (RSA key), "enc" A256GCM; the optional
 * top-level "aad" member joins the AAD as RFC 7516 section 5.2 says.
 * "crit", "zip", unprotected headers and the general serialization are
 * refused. A wrong key, a bad wrapped key and a bad tag all end as the same
 * VEIL_E_VERIFY (RFC 7516 section 11.5). *pt is new, NUL-terminated (not
 * counted); free it with veil_free_secret(*pt, *pt_len).
 */
VEIL_MUST_CHECK veil_err veil_jwe_decrypt(const veil_jwk *key, const uint8_t *jwe, size_t jwe_len,
					  uint8_t **pt, size_t *pt_len);

#endif

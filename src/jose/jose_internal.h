/*
 * jose_internal.h - what the files of src/jose share, and the primitives
 * the tests reach directly (Concat KDF, AES key wrap, ECDH, RSA-OAEP-256,
 * the raw signature step, JWE decryption with the RFC 7520 algorithms).
 *
 * Nothing here is part of the public API: the KBS and the worker go through
 * include/veil/jose.h, which fixes the algorithms. The tests use these
 * entry points to run the Wycheproof and RFC 7520 vectors through the same
 * code the public functions call.
 */
#ifndef VEIL_JOSE_INTERNAL_H
#define VEIL_JOSE_INTERNAL_H

#include <jansson.h>
#include <openssl/evp.h>

#include "veil/bytes.h"
#include "veil/jose.h"

struct veil_jwk {
	veil_jwk_type type;
	EVP_PKEY *pkey;
	bool priv;
	char *alg; /* the JWK's "alg", or NULL */
	char *kid; /* the JWK's "kid", or NULL */
};

/* The curves of RFC 7518 section 6.2.1.1 and RFC 8037 section 2. */
typedef struct jose_curve {
	veil_jwk_type type;
	const char *crv;   /* JWK name */
	const char *group; /* OpenSSL name */
	size_t len;        /* coordinate and scalar length in bytes */
} jose_curve;

/* NULL when crv names no curve we support, or for RSA. */
const jose_curve *jose_curve_by_name(const char *crv);
const jose_curve *jose_curve_of(veil_jwk_type type);
/* A key on EC curve c made once per process (borrowed, never freed, only
 * read): keys are built and generated from its domain parameters, which
 * costs a copy where naming the group builds it again (a quarter of the
 * time). NULL if it could not be made; callers then name the group. */
EVP_PKEY *jose_ec_template(const jose_curve *c);
/* A fresh key pair on EC curve c. */
VEIL_MUST_CHECK veil_err jose_ec_generate(const jose_curve *c, EVP_PKEY **out);

/* Parses JSON text of at most max bytes into one object, duplicate members
 * refused, nesting capped at VEIL_JSON_MAX_DEPTH; `what` names it. */
veil_err jose_json_object(const uint8_t *buf, size_t len, size_t max, const char *what,
			  json_t **out);

/* Strict unpadded base64url (RFC 7515 section 2) of at most max decoded
 * bytes into a new buffer (NUL-terminated, not counted), freed by the
 * caller with veil_free_secret(*out, *out_len) when it may hold a secret. */
veil_err jose_b64_decode(const char *what, const char *s, size_t len, size_t max, uint8_t **out,
			 size_t *out_len);
/* The same for string member `key` of obj, which must be present. */
veil_err jose_b64_member(const json_t *obj, const char *key, size_t max, uint8_t **out,
			 size_t *out_len);
/* Decodes member `key` into out, which must come out exactly len bytes. */
veil_err jose_b64_member_exact(const json_t *obj, const char *key, uint8_t *out, size_t len);
/* Appends the base64url form of p. */
veil_err jose_b64_put(veil_writer *w, const uint8_t *p, size_t n);
/* Appends "\"key\":\"<base64url of p>\"" (a member without braces). */
veil_err jose_b64_put_member(veil_writer *w, const char *key, const uint8_t *p, size_t n);

/* Fails unless member `key` of obj, when present, is a string of at most
 * VEIL_JOSE_STRING_MAX bytes; *out gets it or NULL. */
veil_err jose_opt_string(const json_t *obj, const char *what, const char *key, const char **out);

/* Builds an EC key from c->len-byte coordinates (and scalar d, unless
 * NULL), checked as SEC 1 section 3.2.2.1 says: VEIL_E_MALFORMED for a
 * point off the curve, VEIL_E_MISMATCH for a scalar that is not its. */
veil_err jose_ec_key(const jose_curve *c, const uint8_t *x, const uint8_t *y, const uint8_t *d,
		     EVP_PKEY **out);
/* The uncompressed coordinates (and the scalar when d is not NULL) of an EC
 * key, each c->len bytes. */
veil_err jose_ec_coords(const veil_jwk *k, uint8_t *x, uint8_t *y, uint8_t *d);

/* ---- Signatures (src/jose/jose_sig.c) ---- */

/* P-521 r||s is the longest signature. */
#define JOSE_SIG_MAX 132

/* The signature length of a JWS algorithm bit, 0 when unknown. */
size_t jose_sig_len(unsigned alg);
/* The algorithm bit for an "alg" name, 0 when unknown. */
unsigned jose_sig_alg_by_name(const char *name);
/* Signs msg with key under alg into sig (JOSE_SIG_MAX bytes of room). */
veil_err jose_sig_sign(const veil_jwk *key, unsigned alg, const uint8_t *msg, size_t msg_len,
		       uint8_t *sig, size_t *sig_len);
/* VEIL_E_VERIFY unless sig is a valid alg signature of msg under key;
 * VEIL_E_MISMATCH when alg does not fit the key. */
veil_err jose_sig_verify(const veil_jwk *key, unsigned alg, const uint8_t *msg, size_t msg_len,
			 const uint8_t *sig, size_t sig_len);

/* veil_jws_sign with "typ" after "alg" when typ is not NULL and the
 * caller's header has none (veil_jwt_sign passes "JWT"). */
veil_err jose_jws_sign_typ(const veil_jwk *key, const json_t *header, const char *typ,
			   const uint8_t *payload, size_t payload_len, char **out, size_t *out_len);

/* ---- Key management (src/jose/jwe_keys.c) ---- */

/* RFC 7518 section 4.6.2: the Concat KDF of NIST SP 800-56A section 5.8.1
 * with SHA-256. alg is the AlgorithmID ("ECDH-ES+A256KW"); apu and apv may
 * be empty; keydatalen is out_len * 8. out_len at most 64. */
veil_err jose_concat_kdf(const uint8_t *z, size_t z_len, const char *alg, const uint8_t *apu,
			 size_t apu_len, const uint8_t *apv, size_t apv_len, uint8_t *out,
			 size_t out_len);
/* RFC 3394 AES key wrap with the default IV: kek of 16, 24 or 32 bytes; in
 * a multiple of 8 bytes, at least 16 and at most JOSE_KW_MAX; out gets
 * in_len + 8 bytes. */
#define JOSE_KW_MAX 4096
veil_err jose_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
			  uint8_t *out);
/* The inverse: out gets in_len - 8 bytes; VEIL_E_VERIFY when the integrity
 * check fails (out is then wiped). */
veil_err jose_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len,
			    uint8_t *out);
/* ECDH Z (SEC 1 section 3.3.1: the x coordinate, full field length) of a
 * private EC key and a public one on the same curve; z holds 66 bytes. */
#define JOSE_ECDH_MAX 66
veil_err jose_ecdh(const veil_jwk *priv, const veil_jwk *pub, uint8_t *z, size_t *z_len);
/* RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017 section 7.1). out
 * holds the modulus length; label may be empty. Decryption fails with
 * VEIL_E_VERIFY, out wiped. */
veil_err jose_rsa_oaep256_encrypt(const veil_jwk *pub, const uint8_t *in, size_t in_len,
				  uint8_t *out, size_t *out_len);
veil_err jose_rsa_oaep256_decrypt(const veil_jwk *priv, const uint8_t *label, size_t label_len,
				  const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
				  size_t *out_len);

/* ---- JWE (src/jose/jwe_encrypt.c, jwe_decrypt.c) ---- */

/* Writes a flattened JWE around the given protected header bytes, wrapped
 * key and CEK (16 or 32 bytes: A128GCM or A256GCM) with a fresh IV; adds an
 * "aad" member when aad is not NULL. The tests build JWEs with reordered
 * headers and extra AAD through it. */
veil_err jose_jwe_assemble(const uint8_t *header, size_t header_len, const uint8_t *ek,
			   size_t ek_len, const uint8_t *cek, size_t cek_len, const uint8_t *aad,
			   size_t aad_len, const uint8_t *pt, size_t pt_len, char **out,
			   size_t *out_len);

/* Which algorithms jose_jwe_decrypt accepts: the KBS pair, or also the
 * 128-bit ones of RFC 7520 section 5.4 (ECDH-ES+A128KW, A128GCM). */
#define JOSE_JWE_KBS      0u
#define JOSE_JWE_ALLOW128 1u
/* veil_jwe_decrypt with a choice of algorithms; *header (when not NULL)
 * gets the protected header. */
veil_err jose_jwe_decrypt(const veil_jwk *key, const uint8_t *jwe, size_t jwe_len, unsigned flags,
			  uint8_t **pt, size_t *pt_len, json_t **header);

#endif

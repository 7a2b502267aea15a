/*
 * jwe_encrypt.c - the KBS resource response: a flattened JWE (RFC 7516
 * section 7.2.2) of A256GCM content, its key sent to the attester's TEE key
 * by ECDH-ES+A256KW (EC) or RSA-OAEP-256 (RSA).
 *
 * The protected header is written byte by byte, not by a JSON library,
 * because CoCo's guest does not use the "protected" string it receives as
 * the AAD: it parses the header and serialises it again (serde_json, keys
 * of "epk" sorted), and uses that (docs/jose.md). Any other spelling of the
 * same header fails its tag check. So the header is exactly
 *   {"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"crv":"P-256","kty":"EC","x":"..","y":".."}}
 * or {"alg":"RSA-OAEP-256","enc":"A256GCM"}, and the JWE carries no "aad"
 * member (older Trustee versions put the encoded header there, which a
 * standard decrypter then appends to the AAD a second time).
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/aead.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define CEK_LEN 32 /* A256GCM (RFC 7518 section 5.3) */
#define IV_LEN  12 /* RFC 7518 section 5.3: a 96-bit IV */

static const char alg_ecdh[] = "ECDH-ES+A256KW";
static const char alg_oaep[] = "RSA-OAEP-256";

/* The key management algorithm for a recipient; a JWK whose "alg" asks
 * for something else is refused rather than silently overridden. */
static veil_err pick_alg(const veil_jwk *r, const char **alg)
{
	if (r->type == VEIL_JWK_RSA)
		*alg = alg_oaep;
	else if (r->type == VEIL_JWK_ED25519)
		return veil_fail(VEIL_E_UNSUPPORTED,
				 "an Ed25519 key signs; nothing can be "
				 "encrypted to it (use an EC P-256 or RSA key)");
	else
		*alg = alg_ecdh;
	if (r->alg == NULL || strcmp(r->alg, *alg) == 0)
		return VEIL_OK;
	if (strcmp(r->alg, "RSA1_5") == 0)
		return veil_fail(
		    VEIL_E_UNSUPPORTED,
		    "the TEE key asks for RSA1_5 (RSAES-PKCS1-v1_5), which Veil refuses: "
		    "it is open to padding-oracle attacks (RFC 7516 section 11.5); "
		    "use an RSA-OAEP-256 or EC P-256 (ECDH-ES+A256KW) TEE key");
	return veil_fail(
	    VEIL_E_UNSUPPORTED,
	    "the TEE key asks for alg \"%.64s\"; Veil encrypts to %s keys with %s only", r->alg,
	    veil_jwk_type_name(r->type), *alg);
}

veil_err jose_jwe_assemble(const uint8_t *header, size_t header_len, const uint8_t *ek,
			   size_t ek_len, const uint8_t *cek, size_t cek_len, const uint8_t *aad,
			   size_t aad_len, const uint8_t *pt, size_t pt_len, char **out,
			   size_t *out_len)
{
	uint16_t id = cek_len == 32 ? VEIL_AEAD_AES_256_GCM : VEIL_AEAD_AES_128_GCM;
	uint8_t iv[IV_LEN], *ct = NULL, *buf;
	veil_writer w, a;
	veil_aead gcm = {0};
	veil_err err;

	ENSURE(cek_len == 32 || cek_len == 16, VEIL_E_USAGE, "a CEK of %zu bytes", cek_len);
	ENSURE(pt_len <= VEIL_JWE_PLAINTEXT_MAX, VEIL_E_LIMIT,
	       "JWE plaintext of %zu bytes is over the %d-byte limit", pt_len,
	       VEIL_JWE_PLAINTEXT_MAX);
	ENSURE(RAND_bytes(iv, sizeof iv) == 1, VEIL_E_CRYPTO, "no randomness for the JWE IV");
	veil_writer_init(&w, VEIL_JWE_MAX_BYTES);
	veil_writer_init(&a, VEIL_JWE_MAX_BYTES);
	/* RFC 7516 section 5.1 step 14: AAD = ASCII(BASE64URL(UTF8(header)))
	 * and, with a JWE AAD value, "." and its base64url. */
	CHECK(jose_b64_put(&a, header, header_len));
	if (aad != NULL) {
		CHECK(veil_writer_putc(&a, '.'));
		CHECK(jose_b64_put(&a, aad, aad_len));
	}
	ct = malloc(pt_len + VEIL_AEAD_TAG_LEN);
	CHECK_THAT(ct != NULL, VEIL_E_NOMEM, "JWE ciphertext of %zu bytes", pt_len);
	CHECK(veil_aead_init(&gcm, id, cek, cek_len));
	CHECK(veil_aead_seal(&gcm, iv, a.data, a.len, pt, pt_len, ct));
	CHECK(veil_writer_puts(&w, "{\"protected\":\""));
	CHECK(jose_b64_put(&w, header, header_len));
	CHECK(veil_writer_puts(&w, "\","));
	CHECK(jose_b64_put_member(&w, "encrypted_key", ek, ek_len));
	if (aad != NULL) {
		CHECK(veil_writer_putc(&w, ','));
		CHECK(jose_b64_put_member(&w, "aad", aad, aad_len));
	}
	CHECK(veil_writer_putc(&w, ','));
	CHECK(jose_b64_put_member(&w, "iv", iv, sizeof iv));
	CHECK(veil_writer_putc(&w, ','));
	CHECK(jose_b64_put_member(&w, "ciphertext", ct, pt_len));
	CHECK(veil_writer_putc(&w, ','));
	CHECK(jose_b64_put_member(&w, "tag", ct + pt_len, VEIL_AEAD_TAG_LEN));
	CHECK(veil_writer_putc(&w, '}'));
	CHECK(veil_writer_take(&w, &buf, out_len));
	*out = (char *)buf;
out:
	veil_aead_clear(&gcm);
	free(ct);
	veil_writer_clear(&a);
	veil_writer_clear(&w);
	return err;
}

/* ECDH-ES+A256KW (RFC 7518 section 4.6): a fresh key on the recipient's
 * curve, Z with the recipient's key, the Concat KDF with AlgorithmID
 * "ECDH-ES+A256KW" and empty PartyUInfo and PartyVInfo (what CoCo's guest
 * uses), then AES-256 key wrap of the CEK. */
static veil_err ecdh_wrap(const veil_jwk *r, const uint8_t *cek, veil_writer *h, uint8_t *ek,
			  size_t *ek_len)
{
	const jose_curve *c = jose_curve_of(r->type);
	uint8_t z[JOSE_ECDH_MAX], kek[32], x[66], y[66];
	size_t z_len = 0;
	veil_jwk *eph = NULL;
	veil_err err;

	CHECK(veil_jwk_generate(r->type, 0, &eph));
	CHECK(jose_ecdh(eph, r, z, &z_len));
	CHECK(jose_concat_kdf(z, z_len, alg_ecdh, NULL, 0, NULL, 0, kek, sizeof kek));
	CHECK(jose_aes_kw_wrap(kek, sizeof kek, cek, CEK_LEN, ek));
	*ek_len = CEK_LEN + 8;
	CHECK(jose_ec_coords(eph, x, y, NULL));
	/* The exact bytes CoCo's guest rebuilds: see the file comment. */
	CHECK(veil_writer_printf(h,
				 "{\"alg\":\"%s\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":\"%s\","
				 "\"kty\":\"EC\",",
				 alg_ecdh, c->crv));
	CHECK(jose_b64_put_member(h, "x", x, c->len));
	CHECK(veil_writer_putc(h, ','));
	CHECK(jose_b64_put_member(h, "y", y, c->len));
	CHECK(veil_writer_puts(h, "}}"));
out:
	veil_jwk_free(eph);
	veil_wipe(z, sizeof z);
	veil_wipe(kek, sizeof kek);
	return err;
}

veil_err veil_jwe_encrypt(const veil_jwk *recipient, const uint8_t *pt, size_t pt_len, char **out,
			  size_t *out_len)
{
	uint8_t cek[CEK_LEN], ek[VEIL_JWK_RSA_MAX_BITS / 8];
	size_t ek_len = 0;
	const char *alg = NULL;
	veil_writer h;
	veil_err err;

	TRY(pick_alg(recipient, &alg));
	ENSURE(pt_len <= VEIL_JWE_PLAINTEXT_MAX, VEIL_E_LIMIT,
	       "JWE plaintext of %zu bytes is over the %d-byte limit", pt_len,
	       VEIL_JWE_PLAINTEXT_MAX);
	/* RFC 7516 section 5.1 step 2: a fresh random CEK per message. */
	ENSURE(RAND_priv_bytes(cek, sizeof cek) == 1, VEIL_E_CRYPTO, "no randomness for the CEK");
	veil_writer_init(&h, VEIL_JOSE_HEADER_MAX);
	if (alg == alg_ecdh) {
		CHECK(ecdh_wrap(recipient, cek, &h, ek, &ek_len));
	} else {
		/* RFC 7518 section 4.3: RSAES-OAEP, SHA-256, MGF1-SHA-256. */
		CHECK(jose_rsa_oaep256_encrypt(recipient, cek, sizeof cek, ek, &ek_len));
		CHECK(veil_writer_printf(&h, "{\"alg\":\"%s\",\"enc\":\"A256GCM\"}", alg_oaep));
	}
	CHECK(jose_jwe_assemble(h.data, h.len, ek, ek_len, cek, sizeof cek, NULL, 0, pt, pt_len,
				out, out_len));
out:
	veil_wipe(cek, sizeof cek);
	veil_writer_clear(&h);
	return err;
}

/*
 * jwe_decrypt.c - flattened JWE in (RFC 7516 sections 5.2 and 7.2.2): what
 * the worker does with a KBS resource response, and what the tests do with
 * Veil's own and other implementations' JWEs.
 *
 * Processing follows RFC 7516 section 5.2 with the algorithms fixed by the
 * caller: the AAD is the "protected" string exactly as received (plus "."
 * and the "aad" member when present), so a header with its members in
 * another order or with spaces decrypts as long as nobody changed it on the
 * way. Every way the key can fail to come out (wrong key, bad wrapped key,
 * bad OAEP padding) goes on with a random CEK instead, as section 11.5 asks,
 * so all of them end in the one tag failure and say nothing about which.
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/aead.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define IV_LEN      12
#define TAG_LEN     16
#define CEK_MAX     32
#define PARTY_MAX   1024 /* apu, apv: Veil's peers send none or a few bytes */
#define WRAPPED_MAX (VEIL_JWK_RSA_MAX_BITS / 8)

typedef struct key_alg {
	const char *name;
	bool ecdh;      /* ECDH-ES+AxxxKW, else RSA-OAEP-256 */
	size_t kek_len; /* for ECDH: the KW key length */
	bool is128;     /* only with JOSE_JWE_ALLOW128 */
} key_alg;

/* RFC 7518 sections 4.3 and 4.6. */
static const key_alg key_algs[] = {
    {"ECDH-ES+A256KW", true, 32, false},
    {"RSA-OAEP-256", false, 0, false},
    {"ECDH-ES+A128KW", true, 16, true},
};

/* RFC 7518 section 5.3. */
static const struct {
	const char *name;
	size_t cek_len;
	bool is128;
} enc_algs[] = {{"A256GCM", 32, false}, {"A128GCM", 16, true}};

static veil_err find_key_alg(const char *alg, unsigned flags, const key_alg **out)
{
	for (size_t i = 0; i < sizeof key_algs / sizeof key_algs[0]; i++)
		if (strcmp(key_algs[i].name, alg) == 0 &&
		    (!key_algs[i].is128 || (flags & JOSE_JWE_ALLOW128))) {
			*out = &key_algs[i];
			return VEIL_OK;
		}
	if (strcmp(alg, "RSA1_5") == 0)
		return veil_fail(
		    VEIL_E_UNSUPPORTED,
		    "JWE \"alg\":\"RSA1_5\" (RSAES-PKCS1-v1_5) is refused: it is open to "
		    "padding-oracle attacks (RFC 7516 section 11.5)");
	if (strcmp(alg, "RSA-OAEP") == 0)
		return veil_fail(VEIL_E_UNSUPPORTED,
				 "JWE \"alg\":\"RSA-OAEP\" uses SHA-1; Veil accepts RSA-OAEP-256");
	return veil_fail(VEIL_E_UNSUPPORTED,
			 "JWE \"alg\":\"%.32s\" is not accepted (ECDH-ES+A256KW, RSA-OAEP-256)",
			 alg);
}

static veil_err find_enc(const char *enc, unsigned flags, size_t *cek_len)
{
	for (size_t i = 0; i < sizeof enc_algs / sizeof enc_algs[0]; i++)
		if (strcmp(enc_algs[i].name, enc) == 0 &&
		    (!enc_algs[i].is128 || (flags & JOSE_JWE_ALLOW128))) {
			*cek_len = enc_algs[i].cek_len;
			return VEIL_OK;
		}
	return veil_fail(VEIL_E_UNSUPPORTED, "JWE \"enc\":\"%.32s\" is not accepted (A256GCM)",
			 enc);
}

/* dst = ok ? a : b, without a branch on ok. */
static void ct_select(uint8_t *dst, const uint8_t *a, const uint8_t *b, size_t n, bool ok)
{
	uint8_t mask = (uint8_t)(0u - (unsigned)ok);

	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)((a[i] & mask) | (b[i] & (uint8_t)~mask));
}

/* An optional base64url header member ("apu", "apv"). */
static veil_err opt_b64(const json_t *h, const char *key, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (json_object_get(h, key) == NULL)
		return VEIL_OK;
	return jose_b64_member(h, key, PARTY_MAX, out, out_len);
}

/* RFC 7518 section 4.6: Z from "epk" and our key, the Concat KDF, and the
 * unwrap; *ok says whether the unwrap passed its integrity check. */
static veil_err ecdh_unwrap(const veil_jwk *key, const key_alg *ka, const json_t *h,
			    const uint8_t *ek, size_t ek_len, uint8_t *cek, size_t cek_len,
			    bool *ok)
{
	const json_t *epk_json = json_object_get(h, "epk");
	uint8_t z[JOSE_ECDH_MAX], kek[32], *apu = NULL, *apv = NULL;
	size_t z_len = 0, apu_len = 0, apv_len = 0;
	veil_jwk *epk = NULL;
	veil_err err;

	CHECK_THAT(json_is_object(epk_json), VEIL_E_MALFORMED,
		   "JWE header: \"epk\" is missing or not an object");
	/* The sender's ephemeral key is as hostile as any JWK: the parser
	 * refuses points off the curve (the invalid-curve attack). */
	err = veil_jwk_parse_public(epk_json, &epk);
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "JWE \"epk\"");
		goto out;
	}
	CHECK_THAT(epk->type == key->type, VEIL_E_MISMATCH, "JWE \"epk\" is %s, the key is %s",
		   veil_jwk_type_name(epk->type), veil_jwk_type_name(key->type));
	CHECK(opt_b64(h, "apu", &apu, &apu_len));
	CHECK(opt_b64(h, "apv", &apv, &apv_len));
	CHECK_THAT(ek_len == cek_len + 8, VEIL_E_MALFORMED,
		   "JWE \"encrypted_key\" is %zu bytes, not %zu", ek_len, cek_len + 8);
	CHECK(jose_ecdh(key, epk, z, &z_len));
	/* AlgorithmID is the "alg" value for key agreement with key wrap. */
	CHECK(jose_concat_kdf(z, z_len, ka->name, apu, apu_len, apv, apv_len, kek, ka->kek_len));
	*ok = jose_aes_kw_unwrap(kek, ka->kek_len, ek, ek_len, cek) == VEIL_OK;
out:
	veil_jwk_free(epk);
	free(apu);
	free(apv);
	veil_wipe(z, sizeof z);
	veil_wipe(kek, sizeof kek);
	return err;
}

/* Recovers the CEK into cek; a failure that depends on the secret key
 * leaves a random CEK instead (see the file comment). */
static veil_err recover_cek(const veil_jwk *key, const key_alg *ka, const json_t *h,
			    const json_t *doc, uint8_t *cek, size_t cek_len)
{
	uint8_t *ek = NULL, got[WRAPPED_MAX], fake[CEK_MAX];
	size_t ek_len = 0, got_len = 0;
	bool ok = false;
	veil_err err;

	ENSURE(RAND_bytes(fake, sizeof fake) == 1, VEIL_E_CRYPTO, "no randomness");
	CHECK(jose_b64_member(doc, "encrypted_key", WRAPPED_MAX, &ek, &ek_len));
	if (ka->ecdh) {
		CHECK_THAT(key->type != VEIL_JWK_RSA && key->type != VEIL_JWK_ED25519,
			   VEIL_E_MISMATCH, "JWE %s needs an EC key, not %s", ka->name,
			   veil_jwk_type_name(key->type));
		CHECK(ecdh_unwrap(key, ka, h, ek, ek_len, got, cek_len, &ok));
	} else {
		CHECK_THAT(key->type == VEIL_JWK_RSA, VEIL_E_MISMATCH,
			   "JWE RSA-OAEP-256 needs an RSA key, not %s",
			   veil_jwk_type_name(key->type));
		CHECK_THAT(ek_len == (size_t)EVP_PKEY_get_size(key->pkey), VEIL_E_MALFORMED,
			   "JWE \"encrypted_key\" is %zu bytes, not the modulus length", ek_len);
		ok = jose_rsa_oaep256_decrypt(key, NULL, 0, ek, ek_len, got, sizeof got,
					      &got_len) == VEIL_OK;
		ok = ok && got_len == cek_len;
	}
	ct_select(cek, got, fake, cek_len, ok);
	err = VEIL_OK;
out:
	free(ek);
	veil_wipe(got, sizeof got);
	veil_wipe(fake, sizeof fake);
	return err;
}

/* The members of the flattened form (RFC 7516 section 7.2.2) we cannot
 * take, each refused with its reason. */
static veil_err check_form(const json_t *doc)
{
	ENSURE(json_object_get(doc, "recipients") == NULL, VEIL_E_UNSUPPORTED,
	       "JWE in the general JSON serialization; Veil reads the flattened one");
	ENSURE(json_object_get(doc, "header") == NULL &&
		   json_object_get(doc, "unprotected") == NULL,
	       VEIL_E_UNSUPPORTED,
	       "JWE with unprotected header members; Veil takes only "
	       "integrity-protected ones");
	return VEIL_OK;
}

veil_err jose_jwe_decrypt(const veil_jwk *key, const uint8_t *jwe, size_t jwe_len, unsigned flags,
			  uint8_t **pt, size_t *pt_len, json_t **header)
{
	json_t *doc = NULL, *h = NULL;
	const json_t *prot, *aad;
	const char *alg, *enc;
	const key_alg *ka = NULL;
	uint8_t *hbytes = NULL, *ct = NULL, *aadbuf = NULL, *out = NULL;
	uint8_t iv[IV_LEN], tag[TAG_LEN], cek[CEK_MAX];
	size_t hlen = 0, ct_len = 0, aad_len = 0, cek_len = 0;
	veil_aead gcm = {0};
	veil_writer a;
	veil_err err;

	veil_writer_init(&a, VEIL_JWE_MAX_BYTES);
	CHECK_THAT(key->priv, VEIL_E_USAGE, "JWE decryption needs a private key");
	CHECK(jose_json_object(jwe, jwe_len, VEIL_JWE_MAX_BYTES, "JWE", &doc));
	CHECK(check_form(doc));
	prot = json_object_get(doc, "protected");
	CHECK_THAT(json_is_string(prot), VEIL_E_MALFORMED, "JWE without a \"protected\" header");
	CHECK(jose_b64_decode("JWE header", json_string_value(prot), json_string_length(prot),
			      VEIL_JOSE_HEADER_MAX, &hbytes, &hlen));
	CHECK(jose_json_object(hbytes, hlen, VEIL_JOSE_HEADER_MAX, "JWE header", &h));
	CHECK(jose_opt_string(h, "JWE header", "alg", &alg));
	CHECK(jose_opt_string(h, "JWE header", "enc", &enc));
	CHECK_THAT(alg != NULL && enc != NULL, VEIL_E_MALFORMED,
		   "JWE header without \"alg\" or \"enc\"");
	/* RFC 7516 section 4.1.13 (crit) and 4.1.3 (zip, which turns a JWE
	 * into a compression oracle): neither is supported. */
	CHECK_THAT(json_object_get(h, "crit") == NULL, VEIL_E_UNSUPPORTED,
		   "JWE header has \"crit\"; no extension is supported");
	CHECK_THAT(json_object_get(h, "zip") == NULL, VEIL_E_UNSUPPORTED,
		   "JWE \"zip\" (compressed plaintext) is not supported");
	CHECK(find_key_alg(alg, flags, &ka));
	CHECK(find_enc(enc, flags, &cek_len));
	CHECK(jose_b64_member_exact(doc, "iv", iv, sizeof iv));
	CHECK(jose_b64_member_exact(doc, "tag", tag, sizeof tag));
	CHECK(jose_b64_member(doc, "ciphertext", VEIL_JWE_PLAINTEXT_MAX, &ct, &ct_len));
	CHECK(recover_cek(key, ka, h, doc, cek, cek_len));
	/* RFC 7516 section 5.2 step 15: the AAD is the encoded header as
	 * received, then "." and the "aad" member as received. */
	CHECK(veil_writer_put(&a, json_string_value(prot), json_string_length(prot)));
	aad = json_object_get(doc, "aad");
	if (aad != NULL) {
		CHECK(jose_b64_member(doc, "aad", VEIL_JWE_MAX_BYTES, &aadbuf, &aad_len));
		CHECK(veil_writer_putc(&a, '.'));
		CHECK(veil_writer_put(&a, json_string_value(aad), json_string_length(aad)));
	}
	/* veil_aead_open takes the ciphertext and tag together. */
	out = malloc(ct_len + TAG_LEN + 1);
	CHECK_THAT(out != NULL, VEIL_E_NOMEM, "JWE plaintext of %zu bytes", ct_len);
	memcpy(out, ct, ct_len);
	memcpy(out + ct_len, tag, TAG_LEN);
	CHECK(veil_aead_init(&gcm, cek_len == 32 ? VEIL_AEAD_AES_256_GCM : VEIL_AEAD_AES_128_GCM,
			     cek, cek_len));
	if (veil_aead_open(&gcm, iv, a.data, a.len, out, ct_len + TAG_LEN, out) != VEIL_OK) {
		err = veil_fail(VEIL_E_VERIFY,
				"JWE does not decrypt: the wrong key, or the message was altered");
		goto out;
	}
	out[ct_len] = '\0';
	*pt = out;
	*pt_len = ct_len;
	out = NULL;
	if (header != NULL) {
		*header = h;
		h = NULL;
	}
out:
	veil_aead_clear(&gcm);
	veil_wipe(cek, sizeof cek);
	veil_free_secret(out, ct_len + TAG_LEN + 1);
	free(ct);
	free(aadbuf);
	free(hbytes);
	veil_writer_clear(&a);
	json_decref(h);
	json_decref(doc);
	return err;
}

veil_err veil_jwe_decrypt(const veil_jwk *key, const uint8_t *jwe, size_t jwe_len, uint8_t **pt,
			  size_t *pt_len)
{
	return jose_jwe_decrypt(key, jwe, jwe_len, JOSE_JWE_KBS, pt, pt_len, NULL);
}

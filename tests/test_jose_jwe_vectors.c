/*
 * test_jose_jwe_vectors.c - JWE against published values and against JWEs
 * built step by step: RFC 7520 section 5.4 (ECDH-ES+A128KW with A128GCM on
 * P-384, decrypted through the internal entry point that also takes the
 * 128-bit algorithms), the refusal of sections 5.1 (RSA1_5) and 5.2
 * (RSA-OAEP, SHA-1), RFC 7518 appendix C's ECDH and Concat KDF values, and
 * JWEs whose protected header has another member order, spaces, "apu" and
 * "apv", or a JWE AAD: RFC 7516 section 5.2 says the AAD is the header as
 * received, so these decrypt, and any change to them does not.
 */
#include <openssl/rand.h>

#include "test_jose_util.h"

/* RFC 7518 appendix C: Z as printed there. */
static const uint8_t appendix_c_z[32] = {158, 86,  217, 29,  129, 113, 53,  211, 114, 131, 66,
					 131, 191, 132, 38,  156, 251, 49,  110, 163, 218, 128,
					 106, 72,  246, 218, 167, 121, 140, 254, 144, 196};

static veil_jwk *ec_private(const char *x, const char *y, const char *d)
{
	char text[512];
	veil_jwk *k = NULL;

	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}", x, y,
		 d);
	if (veil_jwk_parse_private_bytes((const uint8_t *)text, strlen(text), &k) != VEIL_OK)
		setup_fail("appendix C key");
	return k;
}

TEST(rfc7518_appendix_c)
{
	veil_jwk *alice = ec_private(ALICE_X, ALICE_Y, ALICE_D),
		 *bob = ec_private(BOB_X, BOB_Y, BOB_D);
	veil_jwk *alice_pub = pub_of(alice), *bob_pub = pub_of(bob);
	uint8_t z1[JOSE_ECDH_MAX], z2[JOSE_ECDH_MAX], key[16], big[64];
	size_t n1 = 0, n2 = 0, want_len = 0;
	uint8_t *want = unb64(APPENDIX_C_KEY, &want_len);

	EXPECT_OK(jose_ecdh(alice, bob_pub, z1, &n1));
	EXPECT_OK(jose_ecdh(bob, alice_pub, z2, &n2));
	EXPECT(n1 == 32 && n2 == 32 && memcmp(z1, appendix_c_z, 32) == 0 &&
	       memcmp(z2, appendix_c_z, 32) == 0);
	/* AlgorithmID "A128GCM" (ECDH-ES direct uses "enc"), PartyUInfo
	 * "Alice", PartyVInfo "Bob", keydatalen 128. */
	EXPECT_OK(jose_concat_kdf(z1, n1, "A128GCM", (const uint8_t *)"Alice", 5,
				  (const uint8_t *)"Bob", 3, key, sizeof key));
	EXPECT(want_len == 16 && memcmp(key, want, 16) == 0);
	/* Each input matters. */
	EXPECT_OK(jose_concat_kdf(z1, n1, "A128GCM", (const uint8_t *)"Alice", 5,
				  (const uint8_t *)"Bob!", 4, key, sizeof key));
	EXPECT(memcmp(key, want, 16) != 0);
	EXPECT_OK(jose_concat_kdf(z1, n1, "A256GCM", (const uint8_t *)"Alice", 5,
				  (const uint8_t *)"Bob", 3, key, sizeof key));
	EXPECT(memcmp(key, want, 16) != 0);
	/* Two rounds of SHA-256, and the limits. */
	EXPECT_OK(jose_concat_kdf(z1, n1, "x", NULL, 0, NULL, 0, big, 64));
	EXPECT_ERR(jose_concat_kdf(z1, n1, "x", NULL, 0, NULL, 0, big, 65), VEIL_E_USAGE);
	EXPECT_ERR(jose_concat_kdf(z1, n1, "x", NULL, 0, NULL, 0, big, 0), VEIL_E_USAGE);
	/* ECDH between different curves, or from a public key. */
	veil_jwk *p384 = gen(VEIL_JWK_EC_P384);
	EXPECT_ERR(jose_ecdh(alice, p384, z1, &n1), VEIL_E_MISMATCH);
	EXPECT_ERR(jose_ecdh(alice_pub, bob_pub, z1, &n1), VEIL_E_USAGE);
	veil_jwk_free(p384);
	free(want);
	veil_jwk_free(alice);
	veil_jwk_free(bob);
	veil_jwk_free(alice_pub);
	veil_jwk_free(bob_pub);
}

TEST(cookbook_5_4_ecdh_es_a128kw)
{
	json_t *doc = td_json(COOKBOOK "jwe/5_4.key_agreement_with_key_wrapping_using_ecdh-es_and_"
				       "aes-keywrap_with_aes-gcm.json");
	json_t *flat = jget(doc, "output", "json_flat", NULL);
	json_t *general = jget(doc, "output", "json", NULL);
	const char *plaintext = jstr(doc, "input", "plaintext", NULL);
	char *flat_text = json_dumps(flat, JSON_COMPACT), *general_text = json_dumps(general, 0);
	veil_jwk *k = NULL;
	json_t *h = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;

	REQUIRE(flat_text != NULL && general_text != NULL);
	EXPECT_OK(veil_jwk_parse_private(jget(doc, "input", "key", NULL), &k));
	REQUIRE(k != NULL && veil_jwk_type_of(k) == VEIL_JWK_EC_P384);
	EXPECT_OK(jose_jwe_decrypt(k, (const uint8_t *)flat_text, strlen(flat_text),
				   JOSE_JWE_ALLOW128, &pt, &n, &h));
	EXPECT(pt != NULL && n == strlen(plaintext) && memcmp(pt, plaintext, n) == 0);
	EXPECT(h != NULL && strcmp(json_string_value(json_object_get(h, "kid")),
				   "peregrin.took@tuckborough.example") == 0);
	veil_free_secret(pt, n);
	pt = NULL;
	/* The KBS entry point accepts neither A128KW nor A128GCM. */
	EXPECT_ERR(veil_jwe_decrypt(k, (const uint8_t *)flat_text, strlen(flat_text), &pt, &n),
		   VEIL_E_UNSUPPORTED);
	/* The general serialization (with "recipients") is not read. */
	EXPECT_ERR(jose_jwe_decrypt(k, (const uint8_t *)general_text, strlen(general_text),
				    JOSE_JWE_ALLOW128, &pt, &n, NULL),
		   VEIL_E_UNSUPPORTED);
	EXPECT(pt == NULL);
	json_decref(h);
	free(flat_text);
	free(general_text);
	veil_jwk_free(k);
	json_decref(doc);
}

/* Sections 5.1 and 5.2: real RSA1_5 and RSA-OAEP (SHA-1) messages, to keys
 * Veil parses; both are refused with the reason, even on the 128-bit path. */
TEST(cookbook_5_1_and_5_2_refused)
{
	static const struct {
		const char *file, *reason;
	} cases[] = {
	    {COOKBOOK "jwe/5_1.key_encryption_using_rsa_v15_and_aes-hmac-sha2.json", "RSA1_5"},
	    {COOKBOOK "jwe/5_2.key_encryption_using_rsa-oaep_with_aes-gcm.json", "SHA-1"},
	};

	for (size_t i = 0; i < 2; i++) {
		json_t *doc = td_json(cases[i].file);
		char *flat = json_dumps(jget(doc, "output", "json_flat", NULL), JSON_COMPACT), *jwe;
		veil_jwk *k = NULL;
		uint8_t *pt = NULL;
		size_t n = 0, jwe_len = 0;

		REQUIRE(flat != NULL);
		EXPECT_OK(veil_jwk_parse_private(jget(doc, "input", "key", NULL), &k));
		REQUIRE(k != NULL);
		EXPECT_ERR(jose_jwe_decrypt(k, (const uint8_t *)flat, strlen(flat),
					    JOSE_JWE_ALLOW128, &pt, &n, NULL),
			   VEIL_E_UNSUPPORTED);
		EXPECT(strstr(veil_err_detail(), cases[i].reason) != NULL);
		EXPECT(pt == NULL);
		/* 5.2's key says "alg":"RSA-OAEP": Veil will not encrypt to it
		 * with another algorithm; 5.1's has no "alg", so it gets
		 * RSA-OAEP-256, which its owner can decrypt. */
		jwe = NULL;
		veil_err err = veil_jwe_encrypt(k, (const uint8_t *)"x", 1, &jwe, &jwe_len);
		EXPECT(err == (i == 0 ? VEIL_OK : VEIL_E_UNSUPPORTED));
		if (jwe != NULL) {
			EXPECT_OK(veil_jwe_decrypt(k, (const uint8_t *)jwe, jwe_len, &pt, &n));
			veil_free_secret(pt, n);
		}
		free(jwe);
		free(flat);
		veil_jwk_free(k);
		json_decref(doc);
	}
}

/* Builds an ECDH-ES+A256KW JWE step by step with any header text; fmt has
 * %s for x and y of the ephemeral key. apu/apv go into the KDF only. */
static char *ecdh_jwe(const veil_jwk *to, const char *fmt, const char *apu, const char *apv,
		      const char *aad, const char *pt)
{
	veil_jwk *eph = gen(veil_jwk_type_of(to));
	uint8_t z[JOSE_ECDH_MAX], kek[32], cek[32], ek[40], x[66], y[66];
	size_t zl = 0, len = 0;
	char header[1024], *xb, *yb, *out = NULL;

	if (jose_ecdh(eph, to, z, &zl) != VEIL_OK ||
	    jose_concat_kdf(z, zl, "ECDH-ES+A256KW", (const uint8_t *)apu, apu ? strlen(apu) : 0,
			    (const uint8_t *)apv, apv ? strlen(apv) : 0, kek, 32) != VEIL_OK ||
	    RAND_bytes(cek, 32) != 1 || jose_aes_kw_wrap(kek, 32, cek, 32, ek) != VEIL_OK ||
	    jose_ec_coords(eph, x, y, NULL) != VEIL_OK)
		setup_fail("building a JWE");
	xb = b64(x, 32);
	yb = b64(y, 32);
	/* The format is one of this file's literals, passed through. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(header, sizeof header, fmt, xb, yb);
#pragma GCC diagnostic pop
	if (jose_jwe_assemble((const uint8_t *)header, strlen(header), ek, sizeof ek, cek, 32,
			      (const uint8_t *)aad, aad ? strlen(aad) : 0, (const uint8_t *)pt,
			      strlen(pt), &out, &len) != VEIL_OK)
		setup_fail("jose_jwe_assemble");
	free(xb);
	free(yb);
	veil_jwk_free(eph);
	return out;
}

static veil_err open_text(const veil_jwk *k, const char *jwe, const char *want)
{
	uint8_t *pt = NULL;
	size_t n = 0;
	veil_err err = veil_jwe_decrypt(k, (const uint8_t *)jwe, strlen(jwe), &pt, &n);

	if (err == VEIL_OK && (n != strlen(want) || memcmp(pt, want, n) != 0))
		err = VEIL_E_COUNT_;
	veil_free_secret(pt, n);
	return err;
}

TEST(header_spelled_differently)
{
	veil_jwk *k = gen(VEIL_JWK_EC_P256), *pub = pub_of(k);
	char *jwe;

	/* Reordered, with spaces and a newline, and an extra member. */
	jwe = ecdh_jwe(pub,
		       "{ \"enc\" : \"A256GCM\",\n \"epk\" : {\"y\":\"%2$s\", \"x\":\"%1$s\", "
		       "\"kty\":\"EC\", \"crv\":\"P-256\"}, \"kid\":\"tee\", \"alg\" : "
		       "\"ECDH-ES+A256KW\" }",
		       NULL, NULL, NULL, "reordered");
	EXPECT_OK(open_text(k, jwe, "reordered"));
	free(jwe);
	/* "apu" and "apv" (base64url of "Alice" and "Bob") in the header and
	 * in the KDF; then in the header only: the key differs. */
	static const char with_parties[] =
	    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"apu\":\"QWxpY2U\",\"apv\":\"Qm9i\","
	    "\"epk\":{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}";
	jwe = ecdh_jwe(pub, with_parties, "Alice", "Bob", NULL, "parties");
	EXPECT_OK(open_text(k, jwe, "parties"));
	free(jwe);
	jwe = ecdh_jwe(pub, with_parties, NULL, NULL, NULL, "parties");
	EXPECT_ERR(open_text(k, jwe, "parties"), VEIL_E_VERIFY);
	free(jwe);
	/* A JWE AAD (RFC 7516 section 5.1 step 14): it decrypts, and a changed
	 * or removed "aad" member does not. */
	static const char plain[] = "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{"
				    "\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}";
	jwe = ecdh_jwe(pub, plain, NULL, NULL, "model=llama-70b", "with aad");
	EXPECT(strstr(jwe, "\"aad\":\"bW9kZWw9bGxhbWEtNzBi\"") != NULL);
	EXPECT_OK(open_text(k, jwe, "with aad"));
	json_t *j = json_loads(jwe, 0, NULL);
	json_object_set_new(j, "aad", json_string("bW9kZWw9bGxhbWEtNzBj"));
	char *changed = json_dumps(j, JSON_COMPACT);
	EXPECT_ERR(open_text(k, changed, "with aad"), VEIL_E_VERIFY);
	free(changed);
	json_object_del(j, "aad");
	changed = json_dumps(j, JSON_COMPACT);
	EXPECT_ERR(open_text(k, changed, "with aad"), VEIL_E_VERIFY);
	free(changed);
	json_decref(j);
	free(jwe);
	veil_jwk_free(k);
	veil_jwk_free(pub);
}

TEST(rsa_header_spelled_differently)
{
	veil_jwk *k = gen(VEIL_JWK_RSA), *pub = pub_of(k);
	uint8_t cek[32], ek[512];
	size_t ek_len = 0, len = 0;
	char *jwe = NULL;
	static const char h[] = "{\"enc\":\"A256GCM\", \"kid\":\"tee\", \"alg\":\"RSA-OAEP-256\"}";

	REQUIRE(RAND_bytes(cek, sizeof cek) == 1);
	EXPECT_OK(jose_rsa_oaep256_encrypt(pub, cek, sizeof cek, ek, &ek_len));
	EXPECT_OK(jose_jwe_assemble((const uint8_t *)h, strlen(h), ek, ek_len, cek, 32, NULL, 0,
				    (const uint8_t *)"rsa", 3, &jwe, &len));
	EXPECT_OK(open_text(k, jwe, "rsa"));
	free(jwe);
	/* A wrapped CEK of 16 bytes for A256GCM: the same failure as a wrong
	 * key (RFC 7516 section 11.5), not a message of its own. */
	EXPECT_OK(jose_rsa_oaep256_encrypt(pub, cek, 16, ek, &ek_len));
	EXPECT_OK(jose_jwe_assemble((const uint8_t *)h, strlen(h), ek, ek_len, cek, 32, NULL, 0,
				    (const uint8_t *)"rsa", 3, &jwe, &len));
	EXPECT_ERR(open_text(k, jwe, "rsa"), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "does not decrypt") != NULL);
	free(jwe);
	veil_jwk_free(k);
	veil_jwk_free(pub);
}

TEST(key_wrap_edges)
{
	uint8_t kek[32] = {1}, other[32] = {2}, in[40] = {3}, out[48], back[40];

	EXPECT_OK(jose_aes_kw_wrap(kek, 32, in, 32, out));
	EXPECT_OK(jose_aes_kw_unwrap(kek, 32, out, 40, back));
	EXPECT(memcmp(back, in, 32) == 0);
	EXPECT_ERR(jose_aes_kw_unwrap(other, 32, out, 40, back), VEIL_E_VERIFY);
	/* RFC 3394 section 2: at least two 64-bit blocks, whole blocks. */
	EXPECT_ERR(jose_aes_kw_wrap(kek, 32, in, 8, out), VEIL_E_USAGE);
	EXPECT_ERR(jose_aes_kw_wrap(kek, 32, in, 20, out), VEIL_E_USAGE);
	EXPECT_ERR(jose_aes_kw_unwrap(kek, 32, out, 16, back), VEIL_E_MALFORMED);
	EXPECT_ERR(jose_aes_kw_unwrap(kek, 32, out, 39, back), VEIL_E_MALFORMED);
	EXPECT_ERR(jose_aes_kw_wrap(kek, 20, in, 32, out), VEIL_E_USAGE);
	EXPECT_OK(jose_aes_kw_wrap(kek, 16, in, 32, out));
	EXPECT_OK(jose_aes_kw_wrap(kek, 24, in, 40, out));
}

int main(void)
{
	RUN(rfc7518_appendix_c);
	RUN(cookbook_5_4_ecdh_es_a128kw);
	RUN(cookbook_5_1_and_5_2_refused);
	RUN(header_spelled_differently);
	RUN(rsa_header_spelled_differently);
	RUN(key_wrap_edges);
	return harness_finish("test_jose_jwe_vectors");
}

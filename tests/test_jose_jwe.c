/*
 * test_jose_jwe.c - flattened JWE: the exact bytes the KBS sends (CoCo's
 * guest rebuilds the protected header, so Veil's must be its canonical
 * form), round trips on every curve and RSA, decryption of JWEs whose
 * header is spelled differently (the AAD is the header as sent), RFC 7520
 * section 5.4, the RFC 7518 appendix C key agreement, and the refusals.
 *
 * RFC 7520's other JWE examples use what Veil does not accept: 5.1 RSA1_5,
 * 5.2 RSA-OAEP with SHA-1, 5.3 PBES2, 5.5 ECDH-ES direct with
 * A128CBC-HS256, 5.6 to 5.12 symmetric keys, 5.13 several recipients with
 * A128CBC-HS256. 5.1 and 5.2 are run to check that they are refused with
 * the reason.
 */
#include "test_jose_util.h"

#define PT "{\"model-key\":\"0123456789abcdef0123456789abcdef\"}"

/* Not inlined: gcc 12 then takes the returned pointer for one to the
 * local it was stored in (-Wdangling-pointer). */
__attribute__((noinline)) static char *encrypt_to(const veil_jwk *k, const uint8_t *pt, size_t n,
						  size_t *len)
{
	char *jwe = NULL;

	if (veil_jwe_encrypt(k, pt, n, &jwe, len) != VEIL_OK)
		setup_fail("veil_jwe_encrypt");
	return jwe;
}

/* Decrypts and compares; returns the error. */
static veil_err open_jwe(const veil_jwk *k, const char *jwe, size_t len, const char *want)
{
	uint8_t *pt = NULL;
	size_t n = 0;
	veil_err err = veil_jwe_decrypt(k, (const uint8_t *)jwe, len, &pt, &n);

	if (err == VEIL_OK && (n != strlen(want) || memcmp(pt, want, n) != 0))
		err = VEIL_E_COUNT_;
	veil_free_secret(pt, n);
	return err;
}

/* The decoded "protected" header of a JWE text, in a new string. */
static char *header_of(const char *jwe)
{
	json_t *j = json_loads(jwe, 0, NULL);
	size_t n = 0;
	char *h = (char *)unb64(json_string_value(json_object_get(j, "protected")), &n);

	json_decref(j);
	return h;
}

/* The JWE with its protected header replaced by the base64url of h. */
static char *with_header(const char *jwe, const char *h)
{
	json_t *j = json_loads(jwe, 0, NULL);
	char *e = b64(h, strlen(h)), *out;

	json_object_set_new(j, "protected", json_string(e));
	out = json_dumps(j, JSON_COMPACT);
	free(e);
	json_decref(j);
	return out;
}

/* The JWE with member `key` set to `value` (JSON text), or removed. */
static char *with_member(const char *jwe, const char *key, const char *value)
{
	json_t *j = json_loads(jwe, 0, NULL);
	char *out;

	if (value == NULL)
		json_object_del(j, key);
	else
		json_object_set_new(j, key, json_loads(value, JSON_DECODE_ANY, NULL));
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

/* Where needle starts in s, or a large number when it does not occur. */
static size_t pos(const char *s, const char *needle)
{
	const char *p = strstr(s, needle);
	return p != NULL ? (size_t)(p - s) : (size_t)-1;
}

TEST(ec_exact_bytes_and_round_trip)
{
	static const veil_jwk_type types[] = {VEIL_JWK_EC_P256, VEIL_JWK_EC_P384, VEIL_JWK_EC_P521};
	static const char *const crv[] = {"P-256", "P-384", "P-521"};
	static const size_t coord_b64[] = {43, 64, 88};

	for (size_t i = 0; i < 3; i++) {
		veil_jwk *k = gen(types[i]), *pub = pub_of(k);
		size_t len = 0, len2 = 0, n = 0;
		char *jwe = encrypt_to(pub, (const uint8_t *)PT, strlen(PT), &len);
		char *again = encrypt_to(pub, (const uint8_t *)PT, strlen(PT), &len2);
		char *h = header_of(jwe), want[512];
		json_t *hj = json_loads(h, 0, NULL), *doc = json_loads(jwe, 0, NULL);
		const char *x = json_string_value(jget(hj, "epk", "x", NULL));
		const char *y = json_string_value(jget(hj, "epk", "y", NULL));
		char *sorted = json_dumps(hj, JSON_COMPACT | JSON_SORT_KEYS);
		uint8_t *ek = unb64(json_string_value(json_object_get(doc, "encrypted_key")), &n);

		REQUIRE(x != NULL && y != NULL && sorted != NULL);
		EXPECT(strlen(x) == coord_b64[i] && strlen(y) == coord_b64[i]);
		/* The header CoCo's guest rebuilds (docs/jose.md), byte for byte. */
		snprintf(want, sizeof want,
			 "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":\"%s\","
			 "\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}",
			 crv[i], x, y);
		EXPECT(strcmp(h, want) == 0);
		/* serde_json with sorted maps writes the same bytes. */
		EXPECT(strcmp(sorted, h) == 0);
		/* The flattened members, in kbs-types' order, and no "aad". */
		EXPECT(strncmp(jwe, "{\"protected\":\"", 14) == 0);
		EXPECT(json_object_size(doc) == 5 && strstr(jwe, "\"aad\"") == NULL);
		EXPECT(pos(jwe, "\"protected\":") < pos(jwe, "\"encrypted_key\":") &&
		       pos(jwe, "\"encrypted_key\":") < pos(jwe, "\"iv\":") &&
		       pos(jwe, "\"iv\":") < pos(jwe, "\"ciphertext\":") &&
		       pos(jwe, "\"ciphertext\":") < pos(jwe, "\"tag\":"));
		EXPECT(n == 40);
		EXPECT(strlen(json_string_value(json_object_get(doc, "iv"))) == 16 &&
		       strlen(json_string_value(json_object_get(doc, "tag"))) == 22);
		EXPECT(strcmp(jwe, again) != 0); /* fresh ephemeral key, CEK and IV */
		EXPECT_OK(open_jwe(k, jwe, len, PT));
		EXPECT_OK(open_jwe(k, again, len2, PT));
		free(ek);
		free(sorted);
		json_decref(doc);
		json_decref(hj);
		free(h);
		free(jwe);
		free(again);
		veil_jwk_free(k);
		veil_jwk_free(pub);
	}
}

TEST(rsa_exact_bytes_and_round_trip)
{
	veil_jwk *k = gen(VEIL_JWK_RSA), *pub = pub_of(k);
	size_t len = 0, n = 0;
	char *jwe = encrypt_to(pub, (const uint8_t *)PT, strlen(PT), &len), *h = header_of(jwe);
	json_t *doc = json_loads(jwe, 0, NULL);
	uint8_t *ek = unb64(json_string_value(json_object_get(doc, "encrypted_key")), &n);

	EXPECT(strcmp(h, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}") == 0);
	EXPECT(n == 256);
	EXPECT_OK(open_jwe(k, jwe, len, PT));
	free(ek);
	json_decref(doc);
	free(h);
	free(jwe);
	veil_jwk_free(k);
	veil_jwk_free(pub);
}

TEST(plaintext_sizes)
{
	static const size_t sizes[] = {0, 1, 15, 16, 17, 4096, VEIL_JWE_PLAINTEXT_MAX};
	veil_jwk *k = gen(VEIL_JWK_EC_P256);
	uint8_t *pt = malloc(VEIL_JWE_PLAINTEXT_MAX + 1), *out = NULL;
	char *jwe = NULL;
	size_t len = 0, n = 0;

	REQUIRE(pt != NULL);
	for (size_t i = 0; i < VEIL_JWE_PLAINTEXT_MAX + 1; i++)
		pt[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		EXPECT_OK(veil_jwe_encrypt(k, pt, sizes[i], &jwe, &len));
		EXPECT(len <= VEIL_JWE_MAX_BYTES);
		EXPECT_OK(veil_jwe_decrypt(k, (const uint8_t *)jwe, len, &out, &n));
		EXPECT(n == sizes[i] && (n == 0 || memcmp(out, pt, n) == 0));
		veil_free_secret(out, n);
		free(jwe);
		jwe = NULL;
		out = NULL;
	}
	EXPECT_ERR(veil_jwe_encrypt(k, pt, VEIL_JWE_PLAINTEXT_MAX + 1, &jwe, &len), VEIL_E_LIMIT);
	free(pt);
	veil_jwk_free(k);
}

/* The "alg" of the attester's JWK: the KBS protocol lets the guest name
 * RSA1_5, and Veil says no with the reason. */
TEST(recipient_alg_checks)
{
	json_t *rsa = td_json(COOKBOOK "jwk/3_3.rsa_public_key.json");
	static const struct {
		const char *kty_alg;
		veil_err want;
	} cases[] = {
	    {"RSA-OAEP-256", VEIL_OK},
	    {"RSA1_5", VEIL_E_UNSUPPORTED},
	    {"RSA-OAEP", VEIL_E_UNSUPPORTED},
	    {"ECDH-ES+A256KW", VEIL_E_UNSUPPORTED},
	};
	char text[1024], *jwe = NULL;
	size_t len = 0;
	veil_jwk *k = NULL;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text,
			 "{\"kty\":\"RSA\",\"alg\":\"%s\",\"n\":\"%s\",\"e\":\"AQAB\"}",
			 cases[i].kty_alg, jstr(rsa, "n", NULL, NULL));
		REQUIRE(veil_jwk_parse_public_bytes((const uint8_t *)text, strlen(text), &k) ==
			VEIL_OK);
		EXPECT_ERR(veil_jwe_encrypt(k, (const uint8_t *)"x", 1, &jwe, &len), cases[i].want);
		if (i == 1)
			EXPECT(strstr(veil_err_detail(), "RSA1_5") != NULL &&
			       strstr(veil_err_detail(), "padding-oracle") != NULL);
		free(jwe);
		jwe = NULL;
		veil_jwk_free(k);
	}
	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES\",\"x\":\"%s\",\"y\":\"%s\"}",
		 BOB_X, BOB_Y);
	REQUIRE(veil_jwk_parse_public_bytes((const uint8_t *)text, strlen(text), &k) == VEIL_OK);
	EXPECT_ERR(veil_jwe_encrypt(k, (const uint8_t *)"x", 1, &jwe, &len), VEIL_E_UNSUPPORTED);
	veil_jwk_free(k);
	k = gen(VEIL_JWK_ED25519);
	EXPECT_ERR(veil_jwe_encrypt(k, (const uint8_t *)"x", 1, &jwe, &len), VEIL_E_UNSUPPORTED);
	EXPECT(jwe == NULL);
	veil_jwk_free(k);
	json_decref(rsa);
}

typedef struct jwe_case {
	const char *what, *key, *value; /* member and JSON value, or a header */
	veil_err want;
} jwe_case;

TEST(decrypt_refusals)
{
	veil_jwk *k = gen(VEIL_JWK_EC_P256), *pub = pub_of(k), *other = gen(VEIL_JWK_EC_P256);
	veil_jwk *p384 = gen(VEIL_JWK_EC_P384), *rsa = gen(VEIL_JWK_RSA),
		 *ed = gen(VEIL_JWK_ED25519);
	size_t len = 0;
	char *jwe = encrypt_to(pub, (const uint8_t *)PT, strlen(PT), &len), *h = header_of(jwe);
	json_t *hj = json_loads(h, 0, NULL);
	char *c, epk[400], hdr[600];

	EXPECT_OK(open_jwe(k, jwe, len, PT));
	EXPECT_ERR(open_jwe(other, jwe, len, PT), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "does not decrypt") != NULL);
	EXPECT_ERR(open_jwe(p384, jwe, len, PT), VEIL_E_MISMATCH);
	EXPECT_ERR(open_jwe(rsa, jwe, len, PT), VEIL_E_MISMATCH);
	EXPECT_ERR(open_jwe(ed, jwe, len, PT), VEIL_E_MISMATCH);
	EXPECT_ERR(open_jwe(pub, jwe, len, PT), VEIL_E_USAGE);

	static const jwe_case members[] = {
	    {"no protected", "protected", NULL, VEIL_E_MALFORMED},
	    {"no encrypted_key", "encrypted_key", NULL, VEIL_E_MALFORMED},
	    {"no iv", "iv", NULL, VEIL_E_MALFORMED},
	    {"no ciphertext", "ciphertext", NULL, VEIL_E_MALFORMED},
	    {"no tag", "tag", NULL, VEIL_E_MALFORMED},
	    {"11-byte iv", "iv", "\"AAAAAAAAAAAAAAA\"", VEIL_E_MALFORMED},
	    {"15-byte tag", "tag", "\"AAAAAAAAAAAAAAAAAAAA\"", VEIL_E_MALFORMED},
	    {"41-byte key", "encrypted_key",
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", VEIL_E_MALFORMED},
	    {"padded iv", "iv", "\"AAAAAAAAAAAAAAAA=\"", VEIL_E_MALFORMED},
	    {"numeric tag", "tag", "16", VEIL_E_MALFORMED},
	    {"unprotected header", "header", "{}", VEIL_E_UNSUPPORTED},
	    {"shared unprotected header", "unprotected", "{}", VEIL_E_UNSUPPORTED},
	    {"general serialization", "recipients", "[]", VEIL_E_UNSUPPORTED},
	    {"added AAD", "aad", "\"AAAA\"", VEIL_E_VERIFY},
	    {"malformed AAD", "aad", "\"A\"", VEIL_E_MALFORMED},
	    /* RFC 7516 section 7.2.1: members not understood are ignored. */
	    {"unknown member", "x-veil", "1", VEIL_OK},
	};
	for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
		c = with_member(jwe, members[i].key, members[i].value);
		veil_err err = open_jwe(k, c, strlen(c), PT);
		if (err != members[i].want)
			fprintf(stderr, "  %s: got %s (%s)\n", members[i].what, veil_err_str(err),
				veil_err_detail());
		EXPECT(err == members[i].want);
		free(c);
	}

	/* Headers: each re-encoded, so the structural refusal comes first. */
	char *epk_text = json_dumps(json_object_get(hj, "epk"), JSON_COMPACT);
	snprintf(epk, sizeof epk, "\"epk\":%s", epk_text);
	free(epk_text);
	json_t *p384_pub = pub_json(p384);
	char *p384_text = json_dumps(p384_pub, JSON_COMPACT);
	static const struct {
		const char *head, *tail;
		veil_err want;
	} headers[] = {
	    {"{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\",", "}", VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",", "}", VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"dir\",\"enc\":\"A256GCM\",", "}", VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",", "}", VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"ECDH-ES+A128KW\",\"enc\":\"A256GCM\",", "}", VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128GCM\",", "}", VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256CBC-HS512\",", "}", VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"zip\":\"DEF\",", "}",
	     VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"crit\":[\"x\"],\"x\":1,", "}",
	     VEIL_E_UNSUPPORTED},
	    {"{\"alg\":\"ECDH-ES+A256KW\",", "}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ECDH-ES+A256KW\",\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",", "}",
	     VEIL_E_MALFORMED},
	    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"apu\":\"A\",", "}",
	     VEIL_E_MALFORMED},
	    {"[\"ECDH-ES+A256KW\",", "]", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",", "}x", VEIL_E_MALFORMED},
	    /* Right shape, but the header changed: the AAD no longer matches. */
	    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"kid\":\"x\",", "}", VEIL_E_VERIFY},
	};
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
		snprintf(hdr, sizeof hdr, "%s%s%s", headers[i].head, epk, headers[i].tail);
		c = with_header(jwe, hdr);
		veil_err err = open_jwe(k, c, strlen(c), PT);
		if (err != headers[i].want)
			fprintf(stderr, "  header %zu: got %s (%s)\n", i, veil_err_str(err),
				veil_err_detail());
		EXPECT(err == headers[i].want);
		free(c);
	}
	/* epk: missing, off the curve, on another curve, carrying "d". */
	static const char *const epks[] = {
	    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}",
	    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\",\"crv\":\"P-"
	    "256\","
	    "\"x\":\"" BOB_X "\",\"y\":\"f8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\"}}",
	    NULL,
	    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\",\"crv\":\"P-"
	    "256\","
	    "\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\",\"d\":\"" BOB_D "\"}}",
	    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":\"" BOB_X "\"}",
	};
	static const veil_err epk_want[] = {VEIL_E_MALFORMED, VEIL_E_MALFORMED, VEIL_E_MISMATCH,
					    VEIL_E_MALFORMED, VEIL_E_MALFORMED};
	for (size_t i = 0; i < 5; i++) {
		if (epks[i] == NULL)
			snprintf(hdr, sizeof hdr,
				 "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":%s}",
				 p384_text);
		c = with_header(jwe, epks[i] != NULL ? epks[i] : hdr);
		EXPECT_ERR(open_jwe(k, c, strlen(c), PT), epk_want[i]);
		free(c);
	}
	free(p384_text);
	json_decref(p384_pub);
	json_decref(hj);
	free(h);
	free(jwe);
	veil_jwk_free(k);
	veil_jwk_free(pub);
	veil_jwk_free(other);
	veil_jwk_free(p384);
	veil_jwk_free(rsa);
	veil_jwk_free(ed);
}

TEST(truncated_longer_flipped_capped)
{
	veil_jwk *k = gen(VEIL_JWK_EC_P256);
	size_t len = 0, accepted = 0;
	char *jwe = encrypt_to(k, (const uint8_t *)"ok", 2, &len), *c;
	uint8_t *pt = NULL;
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (veil_jwe_decrypt(k, (const uint8_t *)jwe, i, &pt, &n) == VEIL_OK) {
			accepted++;
			veil_free_secret(pt, n);
		}
	c = malloc(len + 2);
	REQUIRE(c != NULL);
	snprintf(c, len + 2, "%sx", jwe);
	EXPECT_ERR(veil_jwe_decrypt(k, (const uint8_t *)c, len + 1, &pt, &n), VEIL_E_MALFORMED);
	free(c);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			c = flipped(jwe, len, i, bit);
			if (veil_jwe_decrypt(k, (const uint8_t *)c, len, &pt, &n) == VEIL_OK) {
				fprintf(stderr, "  accepted with byte %zu bit %d flipped\n", i,
					bit);
				accepted++;
				veil_free_secret(pt, n);
			}
			free(c);
		}
	EXPECT(accepted == 0);
	/* A duplicate member, and a document over the cap. */
	c = malloc(len + 40);
	REQUIRE(c != NULL);
	snprintf(c, len + 40, "{\"iv\":\"AAAAAAAAAAAAAAAA\",%s", jwe + 1);
	EXPECT_ERR(veil_jwe_decrypt(k, (const uint8_t *)c, strlen(c), &pt, &n), VEIL_E_MALFORMED);
	free(c);
	c = malloc(VEIL_JWE_MAX_BYTES + 1);
	REQUIRE(c != NULL);
	memset(c, ' ', VEIL_JWE_MAX_BYTES + 1);
	memcpy(c + VEIL_JWE_MAX_BYTES + 1 - len, jwe, len);
	EXPECT_ERR(veil_jwe_decrypt(k, (const uint8_t *)c, VEIL_JWE_MAX_BYTES + 1, &pt, &n),
		   VEIL_E_LIMIT);
	EXPECT_OK(veil_jwe_decrypt(k, (const uint8_t *)c + 1, VEIL_JWE_MAX_BYTES, &pt, &n));
	veil_free_secret(pt, n);
	free(c);
	free(jwe);
	veil_jwk_free(k);
}

int main(void)
{
	RUN(ec_exact_bytes_and_round_trip);
	RUN(rsa_exact_bytes_and_round_trip);
	RUN(plaintext_sizes);
	RUN(recipient_alg_checks);
	RUN(decrypt_refusals);
	RUN(truncated_longer_flipped_capped);
	return harness_finish("test_jose_jwe");
}

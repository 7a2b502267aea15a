/*
 * test_jose_jwk.c - JSON Web Keys: the RFC 7520 cookbook keys, the RFC 7638
 * and RFC 8037 thumbprint vectors, the key shapes CoCo's guest sends, export
 * round trips, and the parser's refusals.
 *
 * The attester's key is hostile input to the KBS, so most of this file is
 * negative: missing and unknown members, private members in a public key,
 * coordinates of the wrong length or off the curve, non-canonical base64url
 * and integers, weak RSA keys, duplicate members, every truncation and
 * every single-bit flip of a valid key.
 */
#include <openssl/evp.h>

#include "test_jose_util.h"

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
#define RFC7638_N                                                                                  \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"  \
	"BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"          \
	"65YGjQR0_"                                                                                \
	"FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"        \
	"bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_THUMBPRINT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
/* RFC 8037 appendix A.2 and A.3: the Ed25519 key and its thumbprint. */
#define RFC8037_X          "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define RFC8037_D          "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define RFC8037_THUMBPRINT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

static veil_err parse_file(const char *rel, bool priv, veil_jwk **out)
{
	size_t len;
	uint8_t *buf = td_read(rel, &len);
	veil_err err = priv ? veil_jwk_parse_private_bytes(buf, len, out)
			    : veil_jwk_parse_public_bytes(buf, len, out);
	free(buf);
	return err;
}

TEST(cookbook_keys)
{
	veil_jwk *k = NULL;

	/* RFC 7520 section 3.1 and 3.2: the P-521 key of bilbo.baggins. */
	EXPECT_OK(parse_file(COOKBOOK "jwk/3_1.ec_public_key.json", false, &k));
	REQUIRE(k != NULL);
	EXPECT(veil_jwk_type_of(k) == VEIL_JWK_EC_P521 && !veil_jwk_is_private(k));
	EXPECT(veil_jwk_kid(k) != NULL &&
	       strcmp(veil_jwk_kid(k), "bilbo.baggins@hobbiton.example") == 0);
	EXPECT(veil_jwk_alg(k) == NULL);
	veil_jwk_free(k);
	k = NULL;
	EXPECT_ERR(parse_file(COOKBOOK "jwk/3_1.ec_public_key.json", true, &k), VEIL_E_MALFORMED);
	EXPECT_OK(parse_file(COOKBOOK "jwk/3_2.ec_private_key.json", true, &k));
	EXPECT(k != NULL && veil_jwk_is_private(k));
	veil_jwk_free(k);
	k = NULL;
	EXPECT_ERR(parse_file(COOKBOOK "jwk/3_2.ec_private_key.json", false, &k), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "private member \"d\"") != NULL);
	/* Sections 3.3 and 3.4: a 2048-bit RSA key. */
	EXPECT_OK(parse_file(COOKBOOK "jwk/3_3.rsa_public_key.json", false, &k));
	EXPECT(k != NULL && veil_jwk_type_of(k) == VEIL_JWK_RSA &&
	       EVP_PKEY_get_bits(veil_jwk_pkey(k)) == 2048);
	veil_jwk_free(k);
	k = NULL;
	EXPECT_OK(parse_file(COOKBOOK "jwk/3_4.rsa_private_key.json", true, &k));
	veil_jwk_free(k);
	k = NULL;
	EXPECT_ERR(parse_file(COOKBOOK "jwk/3_4.rsa_private_key.json", false, &k),
		   VEIL_E_MALFORMED);
	/* Sections 3.5 and 3.6: symmetric keys are no key type we take. */
	EXPECT_ERR(parse_file(COOKBOOK "jwk/3_5.symmetric_key_mac_computation.json", false, &k),
		   VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_file(COOKBOOK "jwk/3_6.symmetric_key_encryption.json", true, &k),
		   VEIL_E_UNSUPPORTED);
	EXPECT(k == NULL);
}

TEST(thumbprint_rfc7638_and_rfc8037)
{
	static const char *const rsa[] = {
	    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"}",
	    /* Section 3.1's key as printed, metadata included: no change. */
	    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"RS256\","
	    "\"kid\":\"2011-04-29\"}",
	    "{\"e\":\"AQAB\",\"use\":\"sig\",\"n\":\"" RFC7638_N "\",\"kty\":\"RSA\"}",
	};
	char t[VEIL_JWK_THUMBPRINT_B64_LEN + 1];
	veil_jwk *k = NULL;

	for (size_t i = 0; i < sizeof rsa / sizeof rsa[0]; i++) {
		EXPECT_OK(veil_jwk_parse_public_bytes((const uint8_t *)rsa[i], strlen(rsa[i]), &k));
		EXPECT(k != NULL && veil_jwk_thumbprint_b64(k, t) == VEIL_OK &&
		       strcmp(t, RFC7638_THUMBPRINT) == 0);
		veil_jwk_free(k);
		k = NULL;
	}
	static const char ed[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"}";
	static const char ed_priv[] =
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"" RFC8037_D "\",\"x\":\"" RFC8037_X "\"}";
	EXPECT_OK(veil_jwk_parse_public_bytes((const uint8_t *)ed, strlen(ed), &k));
	EXPECT(k != NULL && veil_jwk_thumbprint_b64(k, t) == VEIL_OK &&
	       strcmp(t, RFC8037_THUMBPRINT) == 0);
	veil_jwk_free(k);
	k = NULL;
	/* The private key gives the same thumbprint (its public part). */
	EXPECT_OK(veil_jwk_parse_private_bytes((const uint8_t *)ed_priv, strlen(ed_priv), &k));
	EXPECT(k != NULL && veil_jwk_thumbprint_b64(k, t) == VEIL_OK &&
	       strcmp(t, RFC8037_THUMBPRINT) == 0);
	veil_jwk_free(k);
}

TEST(appendix_c_keys_and_pair_check)
{
	char text[512];

	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}", BOB_X,
		 BOB_Y, BOB_D);
	EXPECT_OK(parse_priv_text(text));
	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}",
		 ALICE_X, ALICE_Y, ALICE_D);
	EXPECT_OK(parse_priv_text(text));
	/* Alice's scalar with Bob's point: not a pair. */
	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}", BOB_X,
		 BOB_Y, ALICE_D);
	EXPECT_ERR(parse_priv_text(text), VEIL_E_MISMATCH);
	/* A scalar of zero, and one of 31 bytes. */
	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}", BOB_X,
		 BOB_Y, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	EXPECT(parse_priv_text(text) != VEIL_OK);
	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%.41s\"}",
		 BOB_X, BOB_Y, BOB_D);
	EXPECT_ERR(parse_priv_text(text), VEIL_E_MALFORMED);
}

/* The tee-pubkey shapes of the KBS protocol (docs/jose.md) and a key as
 * WebCrypto exports it. */
TEST(coco_tee_pubkey_shapes)
{
	json_t *rsa = td_json(COOKBOOK "jwk/3_3.rsa_public_key.json");
	char text[1024];
	veil_jwk *k = NULL;

	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"%s\","
		 "\"y\":\"%s\"}",
		 BOB_X, BOB_Y);
	EXPECT_OK(veil_jwk_parse_public_bytes((const uint8_t *)text, strlen(text), &k));
	EXPECT(k != NULL && veil_jwk_alg(k) != NULL &&
	       strcmp(veil_jwk_alg(k), "ECDH-ES+A256KW") == 0);
	veil_jwk_free(k);
	k = NULL;
	snprintf(text, sizeof text,
		 "{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\",\"n\":\"%s\",\"e\":\"%s\"}",
		 jstr(rsa, "n", NULL, NULL), jstr(rsa, "e", NULL, NULL));
	EXPECT_OK(veil_jwk_parse_public_bytes((const uint8_t *)text, strlen(text), &k));
	EXPECT(k != NULL && veil_jwk_type_of(k) == VEIL_JWK_RSA);
	veil_jwk_free(k);
	snprintf(text, sizeof text,
		 "{\"key_ops\":[\"deriveBits\"],\"ext\":true,\"kty\":\"EC\",\"crv\":\"P-256\","
		 "\"x\":\"%s\",\"y\":\"%s\"}",
		 BOB_X, BOB_Y);
	EXPECT_OK(parse_pub_text(text));
	json_decref(rsa);
}

TEST(export_round_trip)
{
	static const veil_jwk_type types[] = {VEIL_JWK_EC_P256, VEIL_JWK_EC_P384, VEIL_JWK_EC_P521,
					      VEIL_JWK_RSA, VEIL_JWK_ED25519};
	static const char *const prefix[] = {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"",
					     "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"",
					     "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"",
					     "{\"kty\":\"RSA\",\"n\":\"",
					     "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\""};

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		veil_jwk *k = gen(types[i]), *pub = NULL, *priv = NULL;
		json_t *j = pub_json(k);
		char *text = json_dumps(j, JSON_COMPACT), *ptext = NULL;
		size_t plen = 0;
		uint8_t t0[32], t1[32], t2[32];

		REQUIRE(text != NULL);
		EXPECT(strncmp(text, prefix[i], strlen(prefix[i])) == 0);
		EXPECT_OK(veil_jwk_parse_public_bytes((const uint8_t *)text, strlen(text), &pub));
		EXPECT_OK(veil_jwk_export_private(k, &ptext, &plen));
		EXPECT(ptext != NULL && strlen(ptext) == plen);
		EXPECT_OK(veil_jwk_parse_private_bytes((const uint8_t *)ptext, plen, &priv));
		REQUIRE(pub != NULL && priv != NULL);
		EXPECT(veil_jwk_is_private(priv) && !veil_jwk_is_private(pub));
		EXPECT_OK(veil_jwk_thumbprint(k, t0));
		EXPECT_OK(veil_jwk_thumbprint(pub, t1));
		EXPECT_OK(veil_jwk_thumbprint(priv, t2));
		EXPECT(memcmp(t0, t1, 32) == 0 && memcmp(t0, t2, 32) == 0);
		EXPECT(EVP_PKEY_eq(veil_jwk_pkey(pub), veil_jwk_pkey(k)) == 1);
		EXPECT_ERR(veil_jwk_export_private(pub, &text, &plen), VEIL_E_USAGE);
		veil_free_secret(ptext, plen);
		free(text);
		json_decref(j);
		veil_jwk_free(k);
		veil_jwk_free(pub);
		veil_jwk_free(priv);
	}
}

typedef struct bad_case {
	const char *text;
	veil_err want;
} bad_case;

TEST(ec_refusals)
{
	static const bad_case cases[] = {
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"y\":\"" BOB_Y "\"}", VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\"}", VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}", VEIL_E_MALFORMED},
	    {"{\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}", VEIL_E_MALFORMED},
	    /* 31 and 33 bytes: RFC 7518 section 6.2.1.2 wants the full 32. */
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_"
	     "PxA\","
	     "\"y\":\"" BOB_Y "\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	     "\"AMHjScth7HAkjOgBA0w4NOG4jr4RYcslrzh0H3hfz8TE\","
	     "\"y\":\"" BOB_Y "\"}",
	     VEIL_E_MALFORMED},
	    /* Padding, the standard alphabet, white space. */
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "=\",\"y\":\"" BOB_Y "\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF/"
	     "PxMQ\","
	     "\"y\":\"" BOB_Y "\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxM "
	     "\","
	     "\"y\":\"" BOB_Y "\"}",
	     VEIL_E_MALFORMED},
	    /* Off the curve; x = p; the origin. */
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\""
	     "f8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"_____wAAAAEAAAAAAAAAAAAAAAD_______________"
	     "8\","
	     "\"y\":\"" BOB_Y "\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	     "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	     VEIL_E_MALFORMED},
	    /* Curves and key types we do not take. */
	    {"{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}",
	     VEIL_E_UNSUPPORTED},
	    {"{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}",
	     VEIL_E_UNSUPPORTED},
	    {"{\"kty\":\"EC\",\"crv\":\"Ed25519\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}",
	     VEIL_E_UNSUPPORTED},
	    {"{\"kty\":\"OKP\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}",
	     VEIL_E_UNSUPPORTED},
	    {"{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" BOB_X "\"}", VEIL_E_UNSUPPORTED},
	    {"{\"kty\":\"oct\",\"k\":\"" BOB_X "\"}", VEIL_E_UNSUPPORTED},
	    {"{\"kty\":\"ec\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}",
	     VEIL_E_UNSUPPORTED},
	    /* Members: unknown, private, duplicated, of the wrong type. */
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\",\"foo\":1}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y
	     "\",\"d\":\"" BOB_D "\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y
	     "\",\"x\":\"" BOB_X "\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":7,\"y\":\"" BOB_Y "\"}", VEIL_E_MALFORMED},
	    {"{\"kty\":1,\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\",\"alg\":5}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y
	     "\",\"kid\":{}}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y
	     "\",\"use\":\"foo\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y
	     "\",\"key_ops\":\"sign\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y
	     "\",\"ext\":\"yes\"}",
	     VEIL_E_MALFORMED},
	    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y
	     "\",\"x5c\":[]}",
	     VEIL_E_MALFORMED},
	    /* Not one JSON object, or something after it. */
	    {BOB_PUBLIC "x", VEIL_E_MALFORMED},
	    {BOB_PUBLIC "{}", VEIL_E_MALFORMED},
	    {"[" BOB_PUBLIC "]", VEIL_E_MALFORMED},
	    {"\"EC\"", VEIL_E_MALFORMED},
	    {"", VEIL_E_MALFORMED},
	    {"null", VEIL_E_MALFORMED},
	};

	EXPECT_OK(parse_pub_text(BOB_PUBLIC));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		veil_err err = parse_pub_text(cases[i].text);
		if (err != cases[i].want)
			fprintf(stderr, "  case %zu: got %s (%s)\n", i, veil_err_str(err),
				veil_err_detail());
		EXPECT(err == cases[i].want);
	}
}

TEST(caps)
{
	size_t n = VEIL_JWK_MAX_BYTES + 1;
	char *big = malloc(n + 1);

	REQUIRE(big != NULL);
	memset(big, ' ', n);
	memcpy(big + n - strlen(BOB_PUBLIC), BOB_PUBLIC, strlen(BOB_PUBLIC));
	big[n] = '\0';
	EXPECT_ERR(parse_pub_text(big), VEIL_E_LIMIT);
	/* One byte less is fine (the leading white space is JSON's). */
	EXPECT_OK(parse_pub_text(big + 1));
	free(big);
	/* A "kid" one byte over the string cap. */
	char text[VEIL_JOSE_STRING_MAX + 256];
	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%0*d\",\"x\":\"%s\",\"y\":\"%s\"}",
		 VEIL_JOSE_STRING_MAX + 1, 0, BOB_X, BOB_Y);
	EXPECT_ERR(parse_pub_text(text), VEIL_E_LIMIT);
	/* Nesting beyond VEIL_JSON_MAX_DEPTH in a metadata member. */
	char deep[512];
	int o = snprintf(deep, sizeof deep, "{\"kty\":\"EC\",\"key_ops\":");
	for (int i = 0; i < VEIL_JSON_MAX_DEPTH + 2; i++)
		deep[o++] = '[';
	for (int i = 0; i < VEIL_JSON_MAX_DEPTH + 2; i++)
		deep[o++] = ']';
	snprintf(deep + o, sizeof deep - (size_t)o, "}");
	EXPECT_ERR(parse_pub_text(deep), VEIL_E_LIMIT);
}

/* Every prefix, one byte more, and every single-bit flip of a valid key
 * must be refused: no byte of it is without meaning. */
TEST(ec_truncated_longer_flipped)
{
	const char *base = BOB_PUBLIC;
	size_t len = strlen(base), accepted = 0, tried = 0;
	char longer[256];

	for (size_t n = 0; n < len; n++) {
		veil_jwk *k = NULL;
		if (veil_jwk_parse_public_bytes((const uint8_t *)base, n, &k) == VEIL_OK)
			accepted++;
		veil_jwk_free(k);
	}
	EXPECT(accepted == 0);
	snprintf(longer, sizeof longer, "%sA", base);
	EXPECT_ERR(parse_pub_text(longer), VEIL_E_MALFORMED);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++, tried++) {
			char *c = flipped(base, len, i, bit);
			veil_jwk *k = NULL;
			if (veil_jwk_parse_public_bytes((const uint8_t *)c, len, &k) == VEIL_OK) {
				fprintf(stderr, "  accepted with byte %zu bit %d flipped\n", i,
					bit);
				accepted++;
			}
			veil_jwk_free(k);
			free(c);
		}
	EXPECT(tried == 8 * len && accepted == 0);
}

TEST(rsa_refusals)
{
	json_t *pub = td_json(COOKBOOK "jwk/3_3.rsa_public_key.json");
	json_t *priv = td_json(COOKBOOK "jwk/3_4.rsa_private_key.json");
	const char *n = jstr(pub, "n", NULL, NULL);
	size_t n_len = 0;
	uint8_t *nb = unb64(n, &n_len), wide[1 + 512];
	char *s, text[2048];
	veil_jwk *k = NULL;

	/* A leading zero byte: not the shortest form (RFC 7518 section 2). */
	wide[0] = 0;
	memcpy(wide + 1, nb, n_len);
	s = b64(wide, n_len + 1);
	snprintf(text, sizeof text, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", s);
	EXPECT_ERR(parse_pub_text(text), VEIL_E_MALFORMED);
	free(s);
	/* 1024 bits; an even modulus. */
	s = b64(nb, 128);
	snprintf(text, sizeof text, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", s);
	EXPECT_ERR(parse_pub_text(text), VEIL_E_UNSUPPORTED);
	free(s);
	nb[n_len - 1] ^= 1;
	s = b64(nb, n_len);
	snprintf(text, sizeof text, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", s);
	EXPECT_ERR(parse_pub_text(text), VEIL_E_MALFORMED);
	free(s);
	/* Exponents: 3, 65536, 65537 with a leading zero, empty, 33 bits. */
	static const char *const bad_e[] = {"Aw", "AQAA", "AAEAAQ", "", "AQAAAAE"};
	for (size_t i = 0; i < sizeof bad_e / sizeof bad_e[0]; i++) {
		snprintf(text, sizeof text, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", n,
			 bad_e[i]);
		EXPECT_ERR(parse_pub_text(text), VEIL_E_MALFORMED);
	}
	/* Private: a CRT member missing, the CRT exponents swapped, "oth". */
	json_t *c = json_deep_copy(priv);
	json_object_del(c, "qi");
	EXPECT_ERR(veil_jwk_parse_private(c, &k), VEIL_E_MALFORMED);
	json_decref(c);
	c = json_deep_copy(priv);
	json_object_set(c, "dp", json_object_get(priv, "dq"));
	json_object_set(c, "dq", json_object_get(priv, "dp"));
	EXPECT_ERR(veil_jwk_parse_private(c, &k), VEIL_E_MISMATCH);
	json_decref(c);
	c = json_deep_copy(priv);
	json_object_set_new(c, "oth", json_array());
	EXPECT_ERR(veil_jwk_parse_private(c, &k), VEIL_E_MALFORMED);
	json_decref(c);
	EXPECT(k == NULL);
	free(nb);
	json_decref(pub);
	json_decref(priv);
}

TEST(okp_refusals)
{
	EXPECT_ERR(parse_pub_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "A\"}"),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(parse_pub_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
				  "7TyWQHOg7hcvPapiMlrwIaaPcHUQ\"}"),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(parse_pub_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
				  "\",\"y\":\"" RFC8037_X "\"}"),
		   VEIL_E_MALFORMED);
	/* RFC 8037's private key with another public key. */
	EXPECT_ERR(parse_priv_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"" RFC8037_D
				   "\",\"x\":\"" BOB_X "\"}"),
		   VEIL_E_MISMATCH);
	EXPECT_ERR(parse_pub_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"" RFC8037_D
				  "\",\"x\":\"" RFC8037_X "\"}"),
		   VEIL_E_MALFORMED);
}

TEST(from_pkey)
{
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	veil_jwk *k = NULL, *pub = NULL, *again = NULL;

	REQUIRE(p256 != NULL && rsa1024 != NULL && x25519 != NULL && k1 != NULL);
	EXPECT_OK(veil_jwk_from_pkey(p256, &k));
	REQUIRE(k != NULL);
	EXPECT(veil_jwk_type_of(k) == VEIL_JWK_EC_P256 && veil_jwk_is_private(k));
	EVP_PKEY_free(p256); /* the veil_jwk holds its own reference */
	pub = pub_of(k);
	EXPECT_OK(veil_jwk_from_pkey(veil_jwk_pkey(pub), &again));
	EXPECT(again != NULL && !veil_jwk_is_private(again));
	veil_jwk_free(again);
	again = NULL;
	EXPECT_ERR(veil_jwk_from_pkey(rsa1024, &again), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(veil_jwk_from_pkey(x25519, &again), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(veil_jwk_from_pkey(k1, &again), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(veil_jwk_from_pkey(NULL, &again), VEIL_E_USAGE);
	EXPECT(again == NULL);
	EXPECT_ERR(veil_jwk_generate(VEIL_JWK_RSA, 1024, &again), VEIL_E_USAGE);
	EXPECT_ERR(veil_jwk_generate((veil_jwk_type)99, 0, &again), VEIL_E_USAGE);
	veil_jwk_free(k);
	veil_jwk_free(pub);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(x25519);
	EVP_PKEY_free(k1);
}

int main(void)
{
	RUN(cookbook_keys);
	RUN(thumbprint_rfc7638_and_rfc8037);
	RUN(appendix_c_keys_and_pair_check);
	RUN(coco_tee_pubkey_shapes);
	RUN(export_round_trip);
	RUN(ec_refusals);
	RUN(caps);
	RUN(ec_truncated_longer_flipped);
	RUN(rsa_refusals);
	RUN(okp_refusals);
	RUN(from_pkey);
	return harness_finish("test_jose_jwk");
}

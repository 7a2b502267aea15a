/*
 * test_jose_wycheproof.c - the primitives under Veil's JOSE against the
 * Wycheproof vectors in hpke/wycheproof: ECDSA P-256 and P-384 with P1363
 * (r||s) signatures, the form JWS uses, through jose_sig_verify (the step
 * veil_jws_verify runs after its header checks, length check included);
 * AES key wrap (RFC 3394); RSA-OAEP with SHA-256 and MGF1-SHA-256, the
 * RSA-OAEP-256 of JWE, with each file's private key read as a JWK; and ECDH
 * on P-256 with the peer key given as a JWK, so the invalid-curve points
 * must be refused by the JWK parser before any arithmetic.
 *
 * As in test_wycheproof.c, every count is compared with the number worked
 * out from the file once and written down here, so a parsing slip that
 * drops tests fails the suite instead of shrinking it.
 */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "test_jose_util.h"

/* Counts from the files (C2SP/wycheproof testvectors_v1, per SOURCES.md). */
#define ECDSA_P256_TESTS   262
#define ECDSA_P256_VALID   173
#define ECDSA_P256_INVALID 89
#define ECDSA_P384_TESTS   280
#define ECDSA_P384_VALID   193
#define ECDSA_P384_INVALID 87
/* AES-KW: the 3 "acceptable" tests wrap 8 bytes, which RFC 3394 section 2
 * does not allow (n >= 2 blocks): refused here, as are all 126 invalid. */
#define KW_TESTS      165
#define KW_VALID      36
#define KW_INVALID    126
#define KW_ACCEPTABLE 3
#define OAEP_TESTS    37
#define OAEP_VALID    18
#define OAEP_INVALID  19
/* ECDH P-256: 349 tests give the peer as a named-curve uncompressed point,
 * which a JWK can say: 330 valid, 18 invalid (16 InvalidCurveAttack, 2
 * InvalidPublic) and 1 acceptable (InvalidAsn: a changed last byte, which
 * leaves the point off the curve); the 18 + 1 must be refused. The other
 * 263 (compressed points, other curves, ASN.1 variants) are about the
 * SubjectPublicKeyInfo encoding, which JOSE does not use: skipped. */
#define ECDH_TESTS   612
#define ECDH_VALID   330
#define ECDH_REFUSED 19
#define ECDH_SKIPPED 263

typedef struct wp_counts {
	size_t valid, invalid, acceptable, skipped;
} wp_counts;

/* The key of the group being run, parsed once per group by group_key;
 * wp_run frees the last one. */
static json_t *key_group;
static veil_jwk *key_of_group;

typedef void (*wp_test_fn)(const char *file, json_t *group, json_t *test, wp_counts *c);

static uint8_t *hex_of(json_t *t, const char *key, size_t *len)
{
	return td_hex(jstr(t, key, NULL, NULL), len);
}

static void case_fail(int line, const char *file, json_t *t, const char *what)
{
	const char *comment = json_string_value(json_object_get(t, "comment"));

	fprintf(stderr, "  %s tcId %d (%s): %s [%s]\n", file,
		(int)json_integer_value(json_object_get(t, "tcId")), comment ? comment : "", what,
		veil_err_detail());
	harness_fail(__FILE__, line, what);
}
#define CASE_EXPECT(cond, what)                                                                    \
	do {                                                                                       \
		if (!(cond))                                                                       \
			case_fail(__LINE__, file, t, what);                                        \
	} while (0)

static void count(const char *file, json_t *t, wp_counts *c)
{
	const char *r = jstr(t, "result", NULL, NULL);

	if (strcmp(r, "valid") == 0)
		c->valid++;
	else if (strcmp(r, "invalid") == 0)
		c->invalid++;
	else if (strcmp(r, "acceptable") == 0)
		c->acceptable++;
	else
		case_fail(__LINE__, file, t, "unknown result");
}

static void wp_run(const char *file, size_t want_tests, wp_test_fn fn, wp_counts *c)
{
	json_t *root = td_json(file), *groups = json_object_get(root, "testGroups"), *g;
	size_t i, j, seen = 0;

	memset(c, 0, sizeof *c);
	json_array_foreach(groups, i, g)
	{
		json_t *t;
		json_array_foreach(json_object_get(g, "tests"), j, t)
		{
			fn(file, g, t, c);
			seen++;
		}
	}
	EXPECT(seen == want_tests);
	EXPECT((size_t)json_integer_value(json_object_get(root, "numberOfTests")) == want_tests);
	printf("%s: %zu tests: %zu valid, %zu acceptable, %zu invalid run; %zu skipped\n", file,
	       seen, c->valid, c->acceptable, c->invalid, c->skipped);
	veil_jwk_free(key_of_group);
	key_of_group = NULL;
	key_group = NULL;
	json_decref(root);
}

static veil_jwk *group_key(json_t *g, const char *member)
{
	if (g == key_group)
		return key_of_group;
	veil_jwk_free(key_of_group);
	key_of_group = NULL;
	if (veil_jwk_parse_private(json_object_get(g, member), &key_of_group) != VEIL_OK)
		setup_fail(member);
	key_group = g;
	return key_of_group;
}

static unsigned ecdsa_alg;

/* The group's public key from "wx" and "wy" (hex integers of any length),
 * as a JWK with full-length coordinates; where the group also has a
 * "publicKeyJwk", that must parse to the same key. Some edge-case groups
 * have none. */
static veil_jwk *ecdsa_key(json_t *g)
{
	size_t len = ecdsa_alg == VEIL_JWS_ES256 ? 32 : 48;
	const char *crv = ecdsa_alg == VEIL_JWS_ES256 ? "P-256" : "P-384";
	BIGNUM *x = NULL, *y = NULL;
	uint8_t xb[48], yb[48];
	char *xs, *ys, text[512];
	veil_jwk *k = NULL, *jwk = NULL;

	if (g == key_group)
		return key_of_group;
	if (BN_hex2bn(&x, jstr(g, "publicKey", "wx", NULL)) == 0 ||
	    BN_hex2bn(&y, jstr(g, "publicKey", "wy", NULL)) == 0 ||
	    BN_bn2binpad(x, xb, (int)len) != (int)len || BN_bn2binpad(y, yb, (int)len) != (int)len)
		setup_fail("wx, wy");
	xs = b64(xb, len);
	ys = b64(yb, len);
	snprintf(text, sizeof text, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
		 crv, xs, ys);
	if (veil_jwk_parse_public_bytes((const uint8_t *)text, strlen(text), &k) != VEIL_OK)
		setup_fail("ECDSA public key");
	if (json_object_get(g, "publicKeyJwk") != NULL) {
		EXPECT_OK(veil_jwk_parse_public(json_object_get(g, "publicKeyJwk"), &jwk));
		EXPECT(jwk != NULL && EVP_PKEY_eq(veil_jwk_pkey(jwk), veil_jwk_pkey(k)) == 1);
		veil_jwk_free(jwk);
	}
	free(xs);
	free(ys);
	BN_free(x);
	BN_free(y);
	veil_jwk_free(key_of_group);
	key_of_group = k;
	key_group = g;
	return k;
}

static void ecdsa_case(const char *file, json_t *g, json_t *t, wp_counts *c)
{
	veil_jwk *k = ecdsa_key(g);
	size_t msg_len, sig_len;
	uint8_t *msg = hex_of(t, "msg", &msg_len), *sig = hex_of(t, "sig", &sig_len);
	veil_err err = jose_sig_verify(k, ecdsa_alg, msg, msg_len, sig, sig_len);

	if (strcmp(jstr(t, "result", NULL, NULL), "valid") == 0)
		CASE_EXPECT(err == VEIL_OK, "valid signature refused");
	else
		CASE_EXPECT(err == VEIL_E_VERIFY, "invalid signature not refused as VEIL_E_VERIFY");
	count(file, t, c);
	free(msg);
	free(sig);
}

TEST(ecdsa_p256_p1363)
{
	wp_counts c;

	ecdsa_alg = VEIL_JWS_ES256;
	wp_run(WP_DIR "ecdsa_secp256r1_sha256_p1363_test.json", ECDSA_P256_TESTS, ecdsa_case, &c);
	EXPECT(c.valid == ECDSA_P256_VALID && c.invalid == ECDSA_P256_INVALID);
	EXPECT(c.acceptable == 0 && c.skipped == 0);
}

TEST(ecdsa_p384_p1363)
{
	wp_counts c;

	ecdsa_alg = VEIL_JWS_ES384;
	wp_run(WP_DIR "ecdsa_secp384r1_sha384_p1363_test.json", ECDSA_P384_TESTS, ecdsa_case, &c);
	EXPECT(c.valid == ECDSA_P384_VALID && c.invalid == ECDSA_P384_INVALID);
	EXPECT(c.acceptable == 0 && c.skipped == 0);
}

static void kw_case(const char *file, json_t *g, json_t *t, wp_counts *c)
{
	size_t key_len, msg_len, ct_len;
	uint8_t *key = hex_of(t, "key", &key_len), *msg = hex_of(t, "msg", &msg_len);
	uint8_t *ct = hex_of(t, "ct", &ct_len), out[512];

	(void)g;
	if (strcmp(jstr(t, "result", NULL, NULL), "valid") == 0) {
		CASE_EXPECT(msg_len + 8 == ct_len && ct_len <= sizeof out, "test data sizes");
		CASE_EXPECT(jose_aes_kw_wrap(key, key_len, msg, msg_len, out) == VEIL_OK &&
				memcmp(out, ct, ct_len) == 0,
			    "wrap differs");
		CASE_EXPECT(jose_aes_kw_unwrap(key, key_len, ct, ct_len, out) == VEIL_OK &&
				memcmp(out, msg, msg_len) == 0,
			    "unwrap differs");
	} else {
		/* Either the wrapped form is refused, or (no ct given: a message
		 * of a length RFC 3394 cannot wrap) the wrap is. */
		if (ct_len > 0)
			CASE_EXPECT(ct_len > sizeof out ||
					jose_aes_kw_unwrap(key, key_len, ct, ct_len, out) !=
					    VEIL_OK,
				    "bad wrapped key accepted");
		if (msg_len < 16 || msg_len % 8 != 0)
			CASE_EXPECT(jose_aes_kw_wrap(key, key_len, msg, msg_len, out) != VEIL_OK,
				    "wrap of a length RFC 3394 excludes");
	}
	count(file, t, c);
	free(key);
	free(msg);
	free(ct);
}

TEST(aes_key_wrap)
{
	wp_counts c;

	wp_run(WP_DIR "aes_wrap_test.json", KW_TESTS, kw_case, &c);
	EXPECT(c.valid == KW_VALID && c.invalid == KW_INVALID && c.acceptable == KW_ACCEPTABLE);
}

static void oaep_case(const char *file, json_t *g, json_t *t, wp_counts *c)
{
	veil_jwk *k = group_key(g, "privateKeyJwk");
	size_t msg_len, ct_len, label_len, n = 0;
	uint8_t *msg = hex_of(t, "msg", &msg_len), *ct = hex_of(t, "ct", &ct_len);
	uint8_t *label = hex_of(t, "label", &label_len), out[256];
	veil_err err =
	    jose_rsa_oaep256_decrypt(k, label, label_len, ct, ct_len, out, sizeof out, &n);

	if (strcmp(jstr(t, "result", NULL, NULL), "valid") == 0)
		CASE_EXPECT(err == VEIL_OK && n == msg_len && memcmp(out, msg, n) == 0,
			    "valid ciphertext not decrypted");
	else
		CASE_EXPECT(err == VEIL_E_VERIFY,
			    "invalid ciphertext not refused as VEIL_E_VERIFY");
	count(file, t, c);
	free(msg);
	free(ct);
	free(label);
}

TEST(rsa_oaep_sha256)
{
	wp_counts c;

	wp_run(WP_DIR "rsa_oaep_2048_sha256_mgf1sha256_test.json", OAEP_TESTS, oaep_case, &c);
	EXPECT(c.valid == OAEP_VALID && c.invalid == OAEP_INVALID && c.acceptable == 0);
}

/* SubjectPublicKeyInfo of a P-256 key: SEQUENCE { SEQUENCE { ecPublicKey,
 * prime256v1 }, BIT STRING }, then 0x04 || x || y (RFC 5480 section 2). */
static const char p256_spki_prefix[] = "3059301306072a8648ce3d020106082a8648ce3d030107034200";

/* The private JWK for a scalar given in hex of any length. */
static veil_jwk *ecdh_private(json_t *t)
{
	BIGNUM *d = NULL;
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *q = grp != NULL ? EC_POINT_new(grp) : NULL;
	uint8_t db[32], pt[65];
	char *xb, *yb, *dbs, text[256];
	veil_jwk *k = NULL;

	if (q == NULL || BN_hex2bn(&d, jstr(t, "private", NULL, NULL)) == 0 ||
	    BN_bn2binpad(d, db, 32) != 32 || EC_POINT_mul(grp, q, d, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(grp, q, POINT_CONVERSION_UNCOMPRESSED, pt, 65, NULL) != 65)
		setup_fail("ECDH private key");
	xb = b64(pt + 1, 32);
	yb = b64(pt + 33, 32);
	dbs = b64(db, 32);
	snprintf(text, sizeof text,
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}", xb,
		 yb, dbs);
	if (veil_jwk_parse_private_bytes((const uint8_t *)text, strlen(text), &k) != VEIL_OK)
		setup_fail("ECDH private JWK");
	veil_wipe(text, sizeof text);
	free(xb);
	free(yb);
	free(dbs);
	BN_clear_free(d);
	EC_POINT_free(q);
	EC_GROUP_free(grp);
	return k;
}

static void ecdh_case(const char *file, json_t *g, json_t *t, wp_counts *c)
{
	const char *pub_hex = jstr(t, "public", NULL, NULL),
		   *result = jstr(t, "result", NULL, NULL);
	size_t pub_len, shared_len, z_len = 0;
	uint8_t *pub, *shared, z[JOSE_ECDH_MAX];
	char *xb, *yb, text[256];
	veil_jwk *peer = NULL, *k;
	veil_err err;

	(void)g;
	if (strlen(pub_hex) != 182 || strncmp(pub_hex, p256_spki_prefix, 52) != 0 ||
	    strncmp(pub_hex + 52, "04", 2) != 0) {
		c->skipped++;
		return;
	}
	pub = td_hex(pub_hex, &pub_len);
	xb = b64(pub + 27, 32);
	yb = b64(pub + 59, 32);
	snprintf(text, sizeof text, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
		 xb, yb);
	err = veil_jwk_parse_public_bytes((const uint8_t *)text, strlen(text), &peer);
	if (strcmp(result, "valid") == 0) {
		shared = hex_of(t, "shared", &shared_len);
		k = ecdh_private(t);
		CASE_EXPECT(err == VEIL_OK, "valid public point refused");
		CASE_EXPECT(err != VEIL_OK ||
				(jose_ecdh(k, peer, z, &z_len) == VEIL_OK && z_len == shared_len &&
				 memcmp(z, shared, z_len) == 0),
			    "shared secret differs");
		c->valid++;
		veil_jwk_free(k);
		free(shared);
	} else {
		/* The invalid-curve attack: the JWK parser refuses the point. */
		CASE_EXPECT(err == VEIL_E_MALFORMED, "point off the curve accepted as a JWK");
		c->invalid++;
	}
	veil_jwk_free(peer);
	free(xb);
	free(yb);
	free(pub);
}

TEST(ecdh_p256_jwk_peer)
{
	wp_counts c;

	wp_run(WP_DIR "ecdh_secp256r1_test.json", ECDH_TESTS, ecdh_case, &c);
	EXPECT(c.valid == ECDH_VALID && c.invalid == ECDH_REFUSED && c.skipped == ECDH_SKIPPED);
}

int main(void)
{
	RUN(ecdsa_p256_p1363);
	RUN(ecdsa_p384_p1363);
	RUN(aes_key_wrap);
	RUN(rsa_oaep_sha256);
	RUN(ecdh_p256_jwk_peer);
	return harness_finish("test_jose_wycheproof");
}

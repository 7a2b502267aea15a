/*
 * test_wycheproof.c - the primitives under HPKE (X25519, HKDF-SHA256 and the
 * three AEADs of RFC 9180 section 7.3) against the Wycheproof vectors in
 * hpke/wycheproof of the test data.
 *
 * Wycheproof collects the edge cases implementations got wrong: twist
 * points, non-canonical encodings, low-order points, counter wrap in GCM,
 * Poly1305 carries. Each file is run in full where our API can express the
 * test, and the tests it cannot (IV or tag sizes other than 96 and 128 bits,
 * AES-192) are counted as skipped. Every count is compared with the number
 * worked out from the file once and written down here, so a parsing slip
 * that drops tests fails the suite instead of shrinking it.
 *
 * X25519 "acceptable" results: RFC 9180 section 7.1.4 requires refusing an
 * all-zero DH output, so the ZeroSharedSecret tests must fail with us; the
 * other acceptable ones (twist points, non-canonical public keys) must give
 * the shared secret the file lists, as RFC 7748 section 5 computes it.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/aead.h"
#include "veil/hpke.h"
#include "veil/json.h"

#define WP_DIR "hpke/wycheproof/"

/* Counts worked out once from the files (C2SP/wycheproof testvectors_v1, as
 * listed in the test data's SOURCES.md), by result and by what we can run. */
#define X25519_TESTS      518
#define X25519_VALID      264
#define X25519_ACCEPTABLE 223 /* acceptable tests that are not ZeroSharedSecret */
#define X25519_ZERO       31  /* ZeroSharedSecret: all acceptable, all refused */
#define HKDF_TESTS        86
#define HKDF_VALID        83
#define HKDF_INVALID      3 /* output sizes of 255 * 32 + 1 */
/* AES-GCM: 45 groups; 133 tests in the three with a 96-bit IV, a 128-bit tag
 * and a 128- or 256-bit key; the other 183 use other IV sizes or AES-192. */
#define GCM_TESTS   316
#define GCM_VALID   79
#define GCM_INVALID 54
#define GCM_SKIPPED 183
/* ChaCha20-Poly1305: 316 tests with a 96-bit nonce; 9 with other sizes. */
#define CHACHA_TESTS   325
#define CHACHA_VALID   256
#define CHACHA_INVALID 60
#define CHACHA_SKIPPED 9

typedef struct wp_counts {
	size_t valid, invalid, acceptable, skipped;
} wp_counts;

typedef void (*wp_test_fn)(const char *file, const json_t *group, const json_t *test, wp_counts *c);

/* Hex member `key` of t, decoded into a new buffer (exits if absent: the
 * file is then not what the counts above describe). */
static uint8_t *hex_of(const json_t *t, const char *key, size_t *len)
{
	const char *s = NULL;

	if (veil_json_get_string(t, key, &s) != VEIL_OK) {
		fprintf(stderr, "test data: %s\n", veil_err_detail());
		exit(2);
	}
	return td_hex(s, len);
}

static int64_t int_of(const json_t *o, const char *key)
{
	int64_t v = 0;

	if (veil_json_get_int(o, key, 0, INT32_MAX, &v) != VEIL_OK) {
		fprintf(stderr, "test data: %s\n", veil_err_detail());
		exit(2);
	}
	return v;
}

static const char *result_of(const json_t *t)
{
	const char *s = NULL;

	if (veil_json_get_string(t, "result", &s) != VEIL_OK) {
		fprintf(stderr, "test data: %s\n", veil_err_detail());
		exit(2);
	}
	return s;
}

static bool has_flag(const json_t *t, const char *flag)
{
	const json_t *f;
	size_t i;

	json_array_foreach(json_object_get(t, "flags"), i,
			   f) if (json_is_string(f) &&
				  strcmp(json_string_value(f), flag) == 0) return true;
	return false;
}

/* Reports a failed test case by file and tcId. */
static void case_fail(int line, const char *file, const json_t *t, const char *what)
{
	const char *comment = json_string_value(json_object_get(t, "comment"));

	fprintf(stderr, "  %s tcId %d (%s): %s\n", file,
		(int)json_integer_value(json_object_get(t, "tcId")), comment != NULL ? comment : "",
		what);
	harness_fail(__FILE__, line, what);
}
#define CASE_EXPECT(cond, what)                                                                    \
	do {                                                                                       \
		if (!(cond))                                                                       \
			case_fail(__LINE__, file, t, what);                                        \
	} while (0)

/* Runs fn on every test of a file; the number of tests must be the file's
 * own numberOfTests and the one given. */
static void wp_run(const char *file, size_t want_tests, wp_test_fn fn, wp_counts *c)
{
	size_t len, seen = 0;
	uint8_t *buf = td_read(file, &len);
	json_t *root = NULL, *groups = NULL, *tests = NULL;

	memset(c, 0, sizeof *c);
	if (veil_json_parse(buf, len, &root) != VEIL_OK ||
	    veil_json_get_array(root, "testGroups", &groups) != VEIL_OK) {
		fprintf(stderr, "%s: %s\n", file, veil_err_detail());
		harness_fail(__FILE__, __LINE__, file);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(groups); i++) {
		const json_t *g = json_array_get(groups, i);
		if (veil_json_get_array(g, "tests", &tests) != VEIL_OK) {
			harness_fail(__FILE__, __LINE__, veil_err_detail());
			goto out;
		}
		for (size_t j = 0; j < json_array_size(tests); j++, seen++)
			fn(file, g, json_array_get(tests, j), c);
	}
	EXPECT(seen == want_tests);
	EXPECT((size_t)int_of(root, "numberOfTests") == want_tests);
out:
	printf("%s: %zu tests: %zu valid, %zu acceptable, %zu invalid run; %zu skipped\n", file,
	       seen, c->valid, c->acceptable, c->invalid, c->skipped);
	json_decref(root);
	free(buf);
}

static void x25519_case(const char *file, const json_t *g, const json_t *t, wp_counts *c)
{
	size_t sk_len, pk_len, want_len;
	uint8_t *sk = hex_of(t, "private", &sk_len), *pk = hex_of(t, "public", &pk_len);
	uint8_t *want = hex_of(t, "shared", &want_len), out[VEIL_X25519_LEN];
	const char *result = result_of(t);
	veil_x25519_key k = {0};
	veil_err err;

	(void)g;
	CASE_EXPECT(sk_len == VEIL_X25519_LEN && pk_len == VEIL_X25519_LEN &&
			want_len == VEIL_X25519_LEN,
		    "key or shared secret not 32 bytes");
	if (sk_len != VEIL_X25519_LEN || pk_len != VEIL_X25519_LEN)
		goto out;
	if (veil_x25519_key_from_private(&k, sk) != VEIL_OK) {
		case_fail(__LINE__, file, t, "veil_x25519_key_from_private");
		goto out;
	}
	err = veil_x25519(&k, pk, out);
	if (has_flag(t, "ZeroSharedSecret")) {
		/* RFC 9180 section 7.1.4 (and RFC 7748 section 6.1). */
		CASE_EXPECT(err == VEIL_E_VERIFY, "all-zero shared secret not refused");
		CASE_EXPECT(want_len == VEIL_X25519_LEN && want[0] == 0 &&
				memcmp(want, want + 1, VEIL_X25519_LEN - 1) == 0,
			    "test data: ZeroSharedSecret with a non-zero secret");
		c->invalid++;
	} else {
		CASE_EXPECT(err == VEIL_OK, veil_err_detail());
		CASE_EXPECT(err != VEIL_OK || memcmp(out, want, VEIL_X25519_LEN) == 0,
			    "shared secret differs");
		if (strcmp(result, "valid") == 0)
			c->valid++;
		else if (strcmp(result, "acceptable") == 0)
			c->acceptable++;
		else
			case_fail(__LINE__, file, t, "an invalid X25519 test: none expected");
	}
out:
	veil_x25519_key_clear(&k);
	free(sk);
	free(pk);
	free(want);
}

TEST(x25519)
{
	wp_counts c;

	wp_run(WP_DIR "x25519_test.json", X25519_TESTS, x25519_case, &c);
	EXPECT(c.valid == X25519_VALID);
	EXPECT(c.acceptable == X25519_ACCEPTABLE);
	EXPECT(c.invalid == X25519_ZERO);
	EXPECT(c.skipped == 0);
}

static void hkdf_case(const char *file, const json_t *g, const json_t *t, wp_counts *c)
{
	size_t ikm_len, salt_len, info_len, okm_len, size = (size_t)int_of(t, "size");
	uint8_t *ikm = hex_of(t, "ikm", &ikm_len), *salt = hex_of(t, "salt", &salt_len);
	uint8_t *info = hex_of(t, "info", &info_len), *okm = hex_of(t, "okm", &okm_len);
	uint8_t *out = malloc(size + 1), prk[VEIL_HKDF_SHA256_LEN], mac[VEIL_HKDF_SHA256_LEN];
	/* The same info, and the same ikm, cut into pieces for the vector
	 * forms: the result may not depend on where the cuts fall. */
	const uint8_t *info_v[3] = {info, info + info_len / 3, info + info_len / 2};
	const size_t info_lv[3] = {info_len / 3, info_len / 2 - info_len / 3,
				   info_len - info_len / 2};
	const uint8_t *ikm_v[2] = {ikm, ikm + ikm_len / 2};
	const size_t ikm_lv[2] = {ikm_len / 2, ikm_len - ikm_len / 2};

	(void)g;
	if (out == NULL) {
		case_fail(__LINE__, file, t, "out of memory");
		goto out;
	}
	/* RFC 5869 section 2.2: PRK = HMAC-Hash(salt, IKM). */
	CASE_EXPECT(veil_hkdf_sha256_extract(salt, salt_len, ikm, ikm_len, prk) == VEIL_OK,
		    "extract");
	CASE_EXPECT(veil_hmac_sha256v(salt, salt_len, ikm_v, ikm_lv, 2, mac) == VEIL_OK &&
			memcmp(mac, prk, sizeof mac) == 0,
		    "HMAC of the pieces differs from HKDF-Extract");
	if (strcmp(result_of(t), "valid") == 0) {
		CASE_EXPECT(okm_len == size, "test data: okm is not size bytes");
		CASE_EXPECT(veil_hkdf_sha256_expand(prk, sizeof prk, info, info_len, out, size) ==
				    VEIL_OK &&
				memcmp(out, okm, okm_len) == 0,
			    "expand differs");
		memset(out, 0, size);
		CASE_EXPECT(veil_hkdf_sha256_expandv(prk, sizeof prk, info_v, info_lv, 3, out,
						     size) == VEIL_OK &&
				memcmp(out, okm, okm_len) == 0,
			    "expandv differs");
		c->valid++;
	} else {
		/* RFC 5869 section 2.3: L <= 255 * HashLen. */
		CASE_EXPECT(size > 255 * VEIL_HKDF_SHA256_LEN, "an invalid test of another kind");
		CASE_EXPECT(veil_hkdf_sha256_expand(prk, sizeof prk, info, info_len, out, size) ==
				VEIL_E_USAGE,
			    "expand past 255 * HashLen not refused");
		CASE_EXPECT(veil_hkdf_sha256_expandv(prk, sizeof prk, info_v, info_lv, 3, out,
						     size) == VEIL_E_USAGE,
			    "expandv past 255 * HashLen not refused");
		c->invalid++;
	}
out:
	free(ikm);
	free(salt);
	free(info);
	free(okm);
	free(out);
}

TEST(hkdf_sha256)
{
	wp_counts c;

	wp_run(WP_DIR "hkdf_sha256_test.json", HKDF_TESTS, hkdf_case, &c);
	EXPECT(c.valid == HKDF_VALID);
	EXPECT(c.invalid == HKDF_INVALID);
	EXPECT(c.acceptable == 0 && c.skipped == 0);
}

/* The AEAD id for a group, or 0 when veil_aead cannot run it: the API fixes
 * a 12-byte nonce and a 16-byte tag (RFC 9180 section 7.3: Nn = 12, Nt =
 * 16), and HPKE has no AES-192. */
static uint16_t aead_for(const char *file, const json_t *g)
{
	int64_t iv = int_of(g, "ivSize"), tag = int_of(g, "tagSize"), key = int_of(g, "keySize");

	if (iv != 8 * VEIL_AEAD_NONCE_LEN || tag != 8 * VEIL_AEAD_TAG_LEN)
		return 0;
	if (strstr(file, "chacha20") != NULL)
		return key == 256 ? VEIL_AEAD_CHACHA20_POLY1305 : 0;
	return key == 128 ? VEIL_AEAD_AES_128_GCM : key == 256 ? VEIL_AEAD_AES_256_GCM : 0;
}

static void aead_case(const char *file, const json_t *g, const json_t *t, wp_counts *c)
{
	uint16_t id = aead_for(file, g);
	size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
	uint8_t *key, *iv, *aad, *msg, *ct, *tag, *given = NULL, *sealed = NULL, *opened = NULL;
	veil_aead a = {0};
	veil_err err;

	if (id == 0) {
		c->skipped++;
		return;
	}
	key = hex_of(t, "key", &key_len);
	iv = hex_of(t, "iv", &iv_len);
	aad = hex_of(t, "aad", &aad_len);
	msg = hex_of(t, "msg", &msg_len);
	ct = hex_of(t, "ct", &ct_len);
	tag = hex_of(t, "tag", &tag_len);
	given = malloc(ct_len + VEIL_AEAD_TAG_LEN + 1);
	sealed = malloc(ct_len + VEIL_AEAD_TAG_LEN + 1);
	opened = malloc(ct_len + VEIL_AEAD_TAG_LEN + 1);
	if (given == NULL || sealed == NULL || opened == NULL || iv_len != VEIL_AEAD_NONCE_LEN ||
	    tag_len != VEIL_AEAD_TAG_LEN || ct_len != msg_len) {
		case_fail(__LINE__, file, t, "test data: sizes are not what the group says");
		goto out;
	}
	/* RFC 9180 section 5.2 (and RFC 5116 section 5): the sealed form is
	 * the ciphertext followed by the tag. */
	memcpy(given, ct, ct_len);
	memcpy(given + ct_len, tag, VEIL_AEAD_TAG_LEN);
	if (veil_aead_init(&a, id, key, key_len) != VEIL_OK) {
		case_fail(__LINE__, file, t, veil_err_detail());
		goto out;
	}
	CASE_EXPECT(veil_aead_seal(&a, iv, aad, aad_len, msg, msg_len, sealed) == VEIL_OK, "seal");
	memset(opened, 0xAA, ct_len + 1);
	err = veil_aead_open(&a, iv, aad, aad_len, given, ct_len + VEIL_AEAD_TAG_LEN, opened);
	if (strcmp(result_of(t), "valid") == 0) {
		CASE_EXPECT(memcmp(sealed, given, ct_len + VEIL_AEAD_TAG_LEN) == 0,
			    "seal differs from ct || tag");
		CASE_EXPECT(err == VEIL_OK && memcmp(opened, msg, msg_len) == 0,
			    "open of ct || tag");
		/* In place, as the header allows. */
		memcpy(sealed, given, ct_len + VEIL_AEAD_TAG_LEN);
		CASE_EXPECT(veil_aead_open(&a, iv, aad, aad_len, sealed, ct_len + VEIL_AEAD_TAG_LEN,
					   sealed) == VEIL_OK &&
				memcmp(sealed, msg, msg_len) == 0,
			    "open in place");
		CASE_EXPECT(veil_aead_seal(&a, iv, aad, aad_len, sealed, msg_len, sealed) ==
				    VEIL_OK &&
				memcmp(sealed, given, ct_len + VEIL_AEAD_TAG_LEN) == 0,
			    "seal in place");
		c->valid++;
	} else {
		/* All the runnable invalid tests are ModifiedTag: the tag we
		 * compute is not theirs, and theirs must not verify. */
		CASE_EXPECT(memcmp(sealed + ct_len, tag, VEIL_AEAD_TAG_LEN) != 0,
			    "seal gives the modified tag");
		CASE_EXPECT(err == VEIL_E_VERIFY, "modified tag not refused with VEIL_E_VERIFY");
		/* aead.h: on VEIL_E_VERIFY the plaintext is wiped. */
		for (size_t i = 0; i < ct_len; i++)
			if (opened[i] != 0) {
				case_fail(__LINE__, file, t, "plaintext not wiped after a bad tag");
				break;
			}
		c->invalid++;
	}
out:
	veil_aead_clear(&a);
	free(key);
	free(iv);
	free(aad);
	free(msg);
	free(ct);
	free(tag);
	free(given);
	free(sealed);
	free(opened);
}

TEST(aes_gcm)
{
	wp_counts c;

	wp_run(WP_DIR "aes_gcm_test.json", GCM_TESTS, aead_case, &c);
	EXPECT(c.valid == GCM_VALID);
	EXPECT(c.invalid == GCM_INVALID);
	EXPECT(c.skipped == GCM_SKIPPED);
}

TEST(chacha20_poly1305)
{
	wp_counts c;

	wp_run(WP_DIR "chacha20_poly1305_test.json", CHACHA_TESTS, aead_case, &c);
	EXPECT(c.valid == CHACHA_VALID);
	EXPECT(c.invalid == CHACHA_INVALID);
	EXPECT(c.skipped == CHACHA_SKIPPED);
}

TEST(aead_init_checks_id_and_key)
{
	static const uint16_t ids[] = {VEIL_AEAD_AES_128_GCM, VEIL_AEAD_AES_256_GCM,
				       VEIL_AEAD_CHACHA20_POLY1305};
	static const size_t nk[] = {16, 32, 32}; /* RFC 9180 section 7.3 */
	uint8_t key[VEIL_AEAD_KEY_MAX + 1] = {0}, nonce[VEIL_AEAD_NONCE_LEN] = {0};
	uint8_t buf[VEIL_AEAD_TAG_LEN + 4] = {0};
	veil_aead a = {0};

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		EXPECT(veil_aead_key_len(ids[i]) == nk[i]);
		EXPECT(veil_aead_name(ids[i]) != NULL);
		EXPECT_ERR(veil_aead_init(&a, ids[i], key, nk[i] - 1), VEIL_E_USAGE);
		veil_aead_clear(&a);
		EXPECT_ERR(veil_aead_init(&a, ids[i], key, nk[i] + 1), VEIL_E_USAGE);
		veil_aead_clear(&a);
		EXPECT_ERR(veil_aead_init(&a, ids[i], key, nk[i] == 16 ? 32 : 16), VEIL_E_USAGE);
		veil_aead_clear(&a);
		EXPECT_ERR(veil_aead_init(&a, ids[i], key, 0), VEIL_E_USAGE);
		veil_aead_clear(&a);
		EXPECT_OK(veil_aead_init(&a, ids[i], key, nk[i]));
		/* Shorter than a tag: nothing to authenticate. */
		EXPECT_ERR(veil_aead_open(&a, nonce, NULL, 0, buf, VEIL_AEAD_TAG_LEN - 1, buf),
			   VEIL_E_TRUNCATED);
		EXPECT_ERR(veil_aead_open(&a, nonce, NULL, 0, buf, 0, buf), VEIL_E_TRUNCATED);
		/* An empty message is a bare tag, and opens to nothing. */
		EXPECT_OK(veil_aead_seal(&a, nonce, NULL, 0, NULL, 0, buf));
		EXPECT_OK(veil_aead_open(&a, nonce, NULL, 0, buf, VEIL_AEAD_TAG_LEN, buf));
		buf[0] ^= 1;
		EXPECT_ERR(veil_aead_open(&a, nonce, NULL, 0, buf, VEIL_AEAD_TAG_LEN, buf),
			   VEIL_E_VERIFY);
		veil_aead_clear(&a);
		veil_aead_clear(&a); /* twice is harmless */
		EXPECT(a.enc == NULL && a.dec == NULL);
	}
	/* Export-only has no AEAD to key, and 0, 4 are not AEADs. */
	static const uint16_t unknown[] = {VEIL_AEAD_EXPORT_ONLY, 0x0000, 0x0004, 0x1234};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		EXPECT(veil_aead_key_len(unknown[i]) == 0);
		EXPECT(veil_aead_name(unknown[i]) != NULL);
		EXPECT_ERR(veil_aead_init(&a, unknown[i], key, 16), VEIL_E_UNSUPPORTED);
		veil_aead_clear(&a);
		EXPECT_ERR(veil_aead_init(&a, unknown[i], key, 32), VEIL_E_UNSUPPORTED);
		veil_aead_clear(&a);
	}
}

int main(void)
{
	RUN(x25519);
	RUN(hkdf_sha256);
	RUN(aes_gcm);
	RUN(chacha20_poly1305);
	RUN(aead_init_checks_id_and_key);
	return harness_finish("test_wycheproof");
}

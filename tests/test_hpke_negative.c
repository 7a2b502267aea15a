/*
 * test_hpke_negative.c - the ways an HPKE receiver or caller must be refused.
 *
 * Built on the RFC 9180 vectors (test_hpke_util.h) so every refusal is
 * measured against a message that does open: forged and replayed
 * ciphertexts, which must not move the sequence number (RFC 9180 section
 * 5.2); receivers that disagree about info, psk, psk_id, the sender or the
 * mode; the PSK input rules of section 5.1; unsupported suites; enc values of
 * the wrong length or of low order (section 7.1.4, with the low-order points
 * of the Wycheproof x25519 file); export lengths past 255 * Nh; sequence
 * number exhaustion; and contexts wiped by clear.
 */
#include "test_hpke_util.h"

TEST(forged_ciphertext_does_not_advance_the_sequence)
{
	static const uint16_t aeads[] = {VEIL_AEAD_AES_128_GCM, VEIL_AEAD_AES_256_GCM,
					 VEIL_AEAD_CHACHA20_POLY1305};
	for (size_t a = 0; a < sizeof aeads / sizeof aeads[0]; a++) {
		fixture f;
		uint8_t bad[MSG_MAX + VEIL_AEAD_TAG_LEN], pt[MSG_MAX];
		size_t n;

		if (!fixture_open(&f, VEIL_HPKE_MODE_BASE, aeads[a])) {
			harness_fail(__FILE__, __LINE__, "fixture");
			fixture_close(&f);
			continue;
		}
		n = f.ct0.len;
		/* RFC 9180 section 5.2: a failed Open leaves the sequence
		 * number alone, so a flipped byte in the ciphertext, in the
		 * tag, or a message cut short, all fail without moving it. */
		size_t flips[] = {0, n / 2, n - VEIL_AEAD_TAG_LEN, n - 1};
		for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
			memcpy(bad, f.ct0.b, n);
			bad[flips[i]] ^= 0x01;
			EXPECT_ERR(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, bad, n, pt),
				   VEIL_E_VERIFY);
			EXPECT(f.rctx.seq == 0);
		}
		/* One byte longer (trailing garbage), one byte shorter. */
		memcpy(bad, f.ct0.b, n);
		bad[n] = 0;
		EXPECT_ERR(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, bad, n + 1, pt),
			   VEIL_E_VERIFY);
		EXPECT(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, f.ct0.b, n - 1, pt) !=
		       VEIL_OK);
		EXPECT(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, f.ct0.b, VEIL_AEAD_TAG_LEN - 1,
				      pt) != VEIL_OK);
		EXPECT(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, f.ct0.b, 0, pt) != VEIL_OK);
		EXPECT(f.rctx.seq == 0);
		/* The wrong aad: that of the next message, or none. */
		EXPECT_ERR(veil_hpke_open(&f.rctx, f.aad1.b, f.aad1.len, f.ct0.b, n, pt),
			   VEIL_E_VERIFY);
		EXPECT_ERR(veil_hpke_open(&f.rctx, NULL, 0, f.ct0.b, n, pt), VEIL_E_VERIFY);
		/* Out of order: message 1 before message 0. */
		EXPECT_ERR(veil_hpke_open(&f.rctx, f.aad1.b, f.aad1.len, f.ct1.b, f.ct1.len, pt),
			   VEIL_E_VERIFY);
		EXPECT(f.rctx.seq == 0);
		/* The genuine message still opens, then a replay of it fails. */
		EXPECT_OK(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, f.ct0.b, n, pt));
		EXPECT(memcmp(pt, f.pt0.b, f.pt0.len) == 0);
		EXPECT(f.rctx.seq == 1);
		EXPECT_ERR(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, f.ct0.b, n, pt),
			   VEIL_E_VERIFY);
		EXPECT_OK(veil_hpke_open(&f.rctx, f.aad1.b, f.aad1.len, f.ct1.b, f.ct1.len, pt));
		EXPECT(memcmp(pt, f.pt1.b, f.pt1.len) == 0);
		/* Each context does one job: no Seal on a receiver. */
		EXPECT_ERR(veil_hpke_seal(&f.rctx, NULL, 0, f.pt0.b, f.pt0.len, bad), VEIL_E_USAGE);
		EXPECT(veil_hpke_open(&f.sctx, f.aad0.b, f.aad0.len, f.ct0.b, n, pt) != VEIL_OK);
		fixture_close(&f);
	}
}

TEST(receiver_that_disagrees_cannot_open)
{
	fixture f;
	veil_hpke_params p;
	uint8_t info[FIELD_MAX], psk[FIELD_MAX], psk_id[FIELD_MAX], enc[VEIL_X25519_LEN];
	uint8_t out[32], want[32];

	/* auth_psk uses every input, so each can be got wrong alone. */
	if (!fixture_open(&f, VEIL_HPKE_MODE_AUTH_PSK, VEIL_AEAD_AES_128_GCM)) {
		harness_fail(__FILE__, __LINE__, "fixture");
		fixture_close(&f);
		return;
	}
	p = params_of(&f.v, false, NULL);
	EXPECT_OK(open_first_with(&f, &p, &f.r, f.v.enc.b));
	EXPECT_OK(veil_hpke_export(&f.rctx, NULL, 0, want, sizeof want));

	memcpy(info, f.v.info.b, f.v.info.len);
	info[f.v.info.len - 1] ^= 0x01;
	p.info = info;
	EXPECT_ERR(open_first_with(&f, &p, &f.r, f.v.enc.b), VEIL_E_VERIFY);
	p.info_len = 0;
	EXPECT_ERR(open_first_with(&f, &p, &f.r, f.v.enc.b), VEIL_E_VERIFY);
	/* The exporter secret depends on info too. */
	veil_hpke_ctx ctx = {0};
	EXPECT_OK(veil_hpke_setup_receiver(&ctx, &p, &f.r, f.v.enc.b, f.v.enc.len));
	EXPECT_OK(veil_hpke_export(&ctx, NULL, 0, out, sizeof out));
	EXPECT(memcmp(out, want, sizeof out) != 0);
	veil_hpke_ctx_clear(&ctx);

	p = params_of(&f.v, false, NULL);
	memcpy(psk, f.v.psk.b, f.v.psk.len);
	psk[0] ^= 0x80;
	p.psk = psk;
	EXPECT_ERR(open_first_with(&f, &p, &f.r, f.v.enc.b), VEIL_E_VERIFY);

	p = params_of(&f.v, false, NULL);
	memcpy(psk_id, f.v.psk_id.b, f.v.psk_id.len);
	psk_id[f.v.psk_id.len - 1] ^= 0x01;
	p.psk_id = psk_id;
	EXPECT_ERR(open_first_with(&f, &p, &f.r, f.v.enc.b), VEIL_E_VERIFY);
	p.psk_id_len--;
	EXPECT_ERR(open_first_with(&f, &p, &f.r, f.v.enc.b), VEIL_E_VERIFY);

	/* Another sender (here the ephemeral key's public half). */
	p = params_of(&f.v, false, NULL);
	p.sender_pub = f.v.pk_e.b;
	EXPECT_ERR(open_first_with(&f, &p, &f.r, f.v.enc.b), VEIL_E_VERIFY);

	/* Another receiver key, and another enc. */
	p = params_of(&f.v, false, NULL);
	EXPECT_ERR(open_first_with(&f, &p, &f.s, f.v.enc.b), VEIL_E_VERIFY);
	memcpy(enc, f.v.enc.b, sizeof enc);
	enc[0] ^= 0x02;
	EXPECT_ERR(open_first_with(&f, &p, &f.r, enc), VEIL_E_VERIFY);

	/* The same keys in another mode: the mode is in the key schedule. */
	p.mode = VEIL_HPKE_MODE_AUTH;
	p.psk = p.psk_id = NULL;
	p.psk_len = p.psk_id_len = 0;
	EXPECT_ERR(open_first_with(&f, &p, &f.r, f.v.enc.b), VEIL_E_VERIFY);
	fixture_close(&f);
}

/* Both setups with p: the sender to the vector's receiver, the receiver from
 * the vector's enc; each must fail with want. */
static void expect_setup_refused(int line, fixture *f, const veil_hpke_params *p, veil_err want)
{
	veil_hpke_ctx ctx = {0};
	veil_hpke_params ps = *p, pr = *p;
	uint8_t enc[VEIL_X25519_LEN];
	veil_err err;

	ps.sender_pub = NULL;
	pr.sender_key = NULL;
	err = veil_hpke_setup_sender(&ctx, &ps, f->v.pk_r.b, enc);
	veil_hpke_ctx_clear(&ctx);
	harness_expect_err(__FILE__, line, "setup_sender", (int)err, (int)want);
	err = veil_hpke_setup_receiver(&ctx, &pr, &f->r, f->v.enc.b, f->v.enc.len);
	veil_hpke_ctx_clear(&ctx);
	harness_expect_err(__FILE__, line, "setup_receiver", (int)err, (int)want);
}

/* Parameters over f's inputs, with the psk, psk_id and sender key (private
 * and public; expect_setup_refused gives each side its half) as asked. */
static veil_hpke_params both_sides(fixture *f, veil_hpke_mode mode, bool psk, bool psk_id,
				   bool sender)
{
	veil_hpke_params p = {.mode = mode, .suite = f->v.suite};

	p.info = f->v.info.b;
	p.info_len = f->v.info.len;
	if (psk) {
		p.psk = f->v.psk.b;
		p.psk_len = f->v.psk.len;
	}
	if (psk_id) {
		p.psk_id = f->v.psk_id.b;
		p.psk_id_len = f->v.psk_id.len;
	}
	if (sender) {
		p.sender_key = &f->s;
		p.sender_pub = f->v.pk_s.b;
	}
	return p;
}

TEST(psk_and_sender_inputs_are_checked)
{
	fixture f;
	veil_hpke_params p;

	if (!fixture_open(&f, VEIL_HPKE_MODE_AUTH_PSK, VEIL_AEAD_AES_128_GCM)) {
		harness_fail(__FILE__, __LINE__, "fixture");
		fixture_close(&f);
		return;
	}
	/* RFC 9180 section 5.1 VerifyPSKInputs: psk and psk_id come
	 * together, the psk modes need them, the others must not have them. */
	p = both_sides(&f, VEIL_HPKE_MODE_PSK, false, false, false);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	p = both_sides(&f, VEIL_HPKE_MODE_PSK, true, false, false);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	p = both_sides(&f, VEIL_HPKE_MODE_PSK, false, true, false);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	/* An empty psk is the RFC's default_psk, that is no psk at all. */
	p = both_sides(&f, VEIL_HPKE_MODE_PSK, true, true, false);
	p.psk_len = 0;
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	/* Section 5.1.2: the PSK MUST have at least 32 bytes of entropy. */
	p = both_sides(&f, VEIL_HPKE_MODE_PSK, true, true, false);
	p.psk_len = 31;
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	p = both_sides(&f, VEIL_HPKE_MODE_BASE, true, true, false);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	p = both_sides(&f, VEIL_HPKE_MODE_BASE, true, false, false);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	p = both_sides(&f, VEIL_HPKE_MODE_AUTH, true, true, true);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	p = both_sides(&f, VEIL_HPKE_MODE_AUTH_PSK, false, false, true);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);

	/* The auth modes need the sender's key (public, on the receiver). */
	p = both_sides(&f, VEIL_HPKE_MODE_AUTH, false, false, false);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);
	p = both_sides(&f, VEIL_HPKE_MODE_AUTH_PSK, true, true, false);
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_USAGE);

	/* A mode that is none of the four of RFC 9180 Table 1. */
	p = both_sides(&f, VEIL_HPKE_MODE_AUTH_PSK, true, true, true);
	p.mode = (veil_hpke_mode)4;
	expect_setup_refused(__LINE__, &f, &p, VEIL_E_UNSUPPORTED);

	/* And the inputs the vector uses do set up. */
	p = both_sides(&f, VEIL_HPKE_MODE_AUTH_PSK, true, true, true);
	expect_setup_refused(__LINE__, &f, &p, VEIL_OK);
	fixture_close(&f);
}

TEST(unsupported_suites)
{
	/* RFC 9180 section 7: the KEM P-256, the KDF HKDF-SHA512 and an AEAD
	 * id past the three are all registered or plausible, and not ours. */
	static const veil_hpke_suite bad[] = {
	    {0x0010, VEIL_HPKE_KDF_HKDF_SHA256, VEIL_AEAD_AES_128_GCM},
	    {0x0021, VEIL_HPKE_KDF_HKDF_SHA256, VEIL_AEAD_AES_128_GCM},
	    {VEIL_HPKE_KEM_X25519_SHA256, 0x0003, VEIL_AEAD_AES_128_GCM},
	    {VEIL_HPKE_KEM_X25519_SHA256, 0x0002, VEIL_AEAD_AES_128_GCM},
	    {VEIL_HPKE_KEM_X25519_SHA256, VEIL_HPKE_KDF_HKDF_SHA256, 0x0004},
	    {VEIL_HPKE_KEM_X25519_SHA256, VEIL_HPKE_KDF_HKDF_SHA256, 0x0000},
	};
	static const uint16_t good[] = {VEIL_AEAD_AES_128_GCM, VEIL_AEAD_AES_256_GCM,
					VEIL_AEAD_CHACHA20_POLY1305, VEIL_AEAD_EXPORT_ONLY};
	fixture f;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		EXPECT_OK(veil_hpke_suite_check((veil_hpke_suite){
		    VEIL_HPKE_KEM_X25519_SHA256, VEIL_HPKE_KDF_HKDF_SHA256, good[i]}));
	if (!fixture_open(&f, VEIL_HPKE_MODE_BASE, VEIL_AEAD_AES_128_GCM)) {
		harness_fail(__FILE__, __LINE__, "fixture");
		fixture_close(&f);
		return;
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		veil_hpke_params p = params_of(&f.v, false, NULL);
		uint8_t enc[VEIL_X25519_LEN], ct[MSG_MAX + VEIL_AEAD_TAG_LEN], pt[MSG_MAX];

		p.suite = bad[i];
		EXPECT_ERR(veil_hpke_suite_check(bad[i]), VEIL_E_UNSUPPORTED);
		expect_setup_refused(__LINE__, &f, &p, VEIL_E_UNSUPPORTED);
		EXPECT_ERR(
		    veil_hpke_seal_once(&p, f.v.pk_r.b, NULL, 0, f.pt0.b, f.pt0.len, enc, ct),
		    VEIL_E_UNSUPPORTED);
		EXPECT_ERR(veil_hpke_open_once(&p, &f.r, f.v.enc.b, f.v.enc.len, f.aad0.b,
					       f.aad0.len, f.ct0.b, f.ct0.len, pt),
			   VEIL_E_UNSUPPORTED);
	}
	fixture_close(&f);
}

TEST(enc_of_the_wrong_length)
{
	static const size_t lens[] = {0, 1, VEIL_X25519_LEN - 1, VEIL_X25519_LEN + 1, 65};
	fixture f;
	uint8_t enc[80] = {0}, pt[MSG_MAX];

	if (!fixture_open(&f, VEIL_HPKE_MODE_BASE, VEIL_AEAD_AES_128_GCM)) {
		harness_fail(__FILE__, __LINE__, "fixture");
		fixture_close(&f);
		return;
	}
	/* RFC 9180 section 4: Nenc is 32 for X25519; the right enc with a
	 * byte cut off or one added is malformed, not merely wrong. */
	memcpy(enc, f.v.enc.b, f.v.enc.len);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		veil_hpke_params p = params_of(&f.v, false, NULL);
		veil_hpke_ctx ctx = {0};

		EXPECT_ERR(veil_hpke_setup_receiver(&ctx, &p, &f.r, enc, lens[i]),
			   VEIL_E_MALFORMED);
		veil_hpke_ctx_clear(&ctx);
		EXPECT_ERR(veil_hpke_open_once(&p, &f.r, enc, lens[i], f.aad0.b, f.aad0.len,
					       f.ct0.b, f.ct0.len, pt),
			   VEIL_E_MALFORMED);
	}
	fixture_close(&f);
}

/* The distinct public keys of the Wycheproof x25519 tests flagged
 * ZeroSharedSecret: points of order 1, 2, 4 and 8 on the curve and its
 * twist, some written non-canonically. X25519 with any clamped scalar (a
 * multiple of 8) sends them to zero. */
#define X25519_FILE    "hpke/wycheproof/x25519_test.json"
#define LOW_ORDER_MAX  32
#define WANT_LOW_ORDER 14 /* distinct values among the file's 31 such tests */

static size_t low_order_points(uint8_t pts[LOW_ORDER_MAX][VEIL_X25519_LEN])
{
	size_t len, n = 0, i, j, k;
	uint8_t *buf = td_read(X25519_FILE, &len);
	json_t *root = NULL, *groups, *tests;
	field pk;

	if (veil_json_parse(buf, len, &root) != VEIL_OK ||
	    veil_json_get_array(root, "testGroups", &groups) != VEIL_OK)
		goto out;
	for (i = 0; i < json_array_size(groups); i++) {
		if (veil_json_get_array(json_array_get(groups, i), "tests", &tests) != VEIL_OK)
			goto out;
		for (j = 0; j < json_array_size(tests); j++) {
			const json_t *t = json_array_get(tests, j), *flag;
			bool zero = false;

			json_array_foreach(json_object_get(t, "flags"), k, flag) zero |=
			    json_is_string(flag) &&
			    strcmp(json_string_value(flag), "ZeroSharedSecret") == 0;
			if (!zero || !get_field(t, "public", &pk) || pk.len != VEIL_X25519_LEN)
				continue;
			for (k = 0; k < n && memcmp(pts[k], pk.b, VEIL_X25519_LEN) != 0; k++)
				;
			if (k == n && n < LOW_ORDER_MAX)
				memcpy(pts[n++], pk.b, VEIL_X25519_LEN);
		}
	}
out:
	json_decref(root);
	free(buf);
	return n;
}

TEST(low_order_public_keys_are_refused)
{
	uint8_t pts[LOW_ORDER_MAX][VEIL_X25519_LEN];
	uint8_t enc[VEIL_X25519_LEN], dh[VEIL_X25519_LEN], ct[MSG_MAX + VEIL_AEAD_TAG_LEN];
	uint8_t pt[MSG_MAX], zero[VEIL_X25519_LEN] = {0};
	size_t n = low_order_points(pts);
	bool have_zero = false;
	fixture f;

	EXPECT(n == WANT_LOW_ORDER);
	if (!fixture_open(&f, VEIL_HPKE_MODE_AUTH, VEIL_AEAD_AES_128_GCM)) {
		harness_fail(__FILE__, __LINE__, "fixture");
		fixture_close(&f);
		return;
	}
	/* RFC 9180 section 7.1.4: an all-zero DH output is an error, on
	 * either side and for either DH of the auth modes. */
	for (size_t i = 0; i < n; i++) {
		veil_hpke_params ps = params_of(&f.v, true, &f.s);
		veil_hpke_params pr = params_of(&f.v, false, NULL);
		veil_hpke_ctx ctx = {0};
		char hex[2 * VEIL_X25519_LEN + 1];
		int before = harness_failures_in_test;

		have_zero |= memcmp(pts[i], zero, sizeof zero) == 0;
		veil_hex_encode(pts[i], VEIL_X25519_LEN, hex);
		snprintf(label, sizeof label, "low-order point %s", hex);
		EXPECT_ERR(veil_x25519(&f.r, pts[i], dh), VEIL_E_VERIFY);
		EXPECT_ERR(veil_hpke_setup_receiver(&ctx, &pr, &f.r, pts[i], VEIL_X25519_LEN),
			   VEIL_E_VERIFY);
		veil_hpke_ctx_clear(&ctx);
		EXPECT_ERR(veil_hpke_open_once(&pr, &f.r, pts[i], VEIL_X25519_LEN, f.aad0.b,
					       f.aad0.len, f.ct0.b, f.ct0.len, pt),
			   VEIL_E_VERIFY);
		EXPECT_ERR(hpke_setup_sender_with(&ctx, &ps, pts[i], &f.e, enc), VEIL_E_VERIFY);
		veil_hpke_ctx_clear(&ctx);
		EXPECT_ERR(veil_hpke_setup_sender(&ctx, &ps, pts[i], enc), VEIL_E_VERIFY);
		veil_hpke_ctx_clear(&ctx);
		EXPECT_ERR(veil_hpke_seal_once(&ps, pts[i], NULL, 0, f.pt0.b, f.pt0.len, enc, ct),
			   VEIL_E_VERIFY);
		/* The receiver's second DH, with the claimed sender. */
		pr.sender_pub = pts[i];
		EXPECT_ERR(veil_hpke_setup_receiver(&ctx, &pr, &f.r, f.v.enc.b, f.v.enc.len),
			   VEIL_E_VERIFY);
		veil_hpke_ctx_clear(&ctx);
		if (harness_failures_in_test != before)
			fprintf(stderr, "  (while testing %s)\n", label);
	}
	EXPECT(have_zero);
	fixture_close(&f);
}

TEST(export_length_is_capped)
{
	static const uint16_t aeads[] = {VEIL_AEAD_AES_128_GCM, VEIL_AEAD_EXPORT_ONLY};
	uint8_t *a = malloc(255 * VEIL_HKDF_SHA256_LEN + 1);
	uint8_t *b = malloc(255 * VEIL_HKDF_SHA256_LEN + 1);

	REQUIRE(a != NULL && b != NULL);
	for (size_t i = 0; i < sizeof aeads / sizeof aeads[0]; i++) {
		fixture f;

		if (fixture_open(&f, VEIL_HPKE_MODE_BASE, aeads[i])) {
			/* RFC 9180 section 5.3: L at most 255 * Nh. */
			EXPECT_OK(
			    veil_hpke_export(&f.sctx, NULL, 0, a, 255 * VEIL_HKDF_SHA256_LEN));
			EXPECT_OK(
			    veil_hpke_export(&f.rctx, NULL, 0, b, 255 * VEIL_HKDF_SHA256_LEN));
			EXPECT(memcmp(a, b, 255 * VEIL_HKDF_SHA256_LEN) == 0);
			EXPECT(veil_hpke_export(&f.sctx, NULL, 0, a,
						255 * VEIL_HKDF_SHA256_LEN + 1) != VEIL_OK);
			EXPECT(veil_hpke_export(&f.rctx, NULL, 0, b,
						255 * VEIL_HKDF_SHA256_LEN + 1) != VEIL_OK);
		} else {
			harness_fail(__FILE__, __LINE__, "fixture");
		}
		fixture_close(&f);
	}
	free(a);
	free(b);
}

TEST(sequence_number_exhaustion)
{
	fixture f;
	uint8_t ct[MSG_MAX + VEIL_AEAD_TAG_LEN], pt[MSG_MAX];

	if (!fixture_open(&f, VEIL_HPKE_MODE_BASE, VEIL_AEAD_CHACHA20_POLY1305)) {
		harness_fail(__FILE__, __LINE__, "fixture");
		fixture_close(&f);
		return;
	}
	/* RFC 9180 section 5.2: the last nonce is never reused by wrapping
	 * the counter; the context refuses instead. The counter is set by
	 * hand, as 2^64 messages are out of reach. */
	f.sctx.seq = f.rctx.seq = UINT64_MAX - 1;
	EXPECT_OK(veil_hpke_seal(&f.sctx, f.aad0.b, f.aad0.len, f.pt0.b, f.pt0.len, ct));
	EXPECT(memcmp(ct, f.ct0.b, f.ct0.len) != 0); /* another nonce than seq 0 */
	EXPECT_OK(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, ct, f.ct0.len, pt));
	EXPECT(memcmp(pt, f.pt0.b, f.pt0.len) == 0);
	EXPECT_ERR(veil_hpke_seal(&f.sctx, f.aad0.b, f.aad0.len, f.pt0.b, f.pt0.len, ct),
		   VEIL_E_LIMIT);
	EXPECT_ERR(veil_hpke_seal(&f.sctx, f.aad0.b, f.aad0.len, f.pt0.b, f.pt0.len, ct),
		   VEIL_E_LIMIT);
	EXPECT(veil_hpke_open(&f.rctx, f.aad0.b, f.aad0.len, ct, f.ct0.len, pt) != VEIL_OK);
	EXPECT(f.sctx.seq == UINT64_MAX);
	fixture_close(&f);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

TEST(clear_wipes_the_secrets)
{
	fixture f;

	if (!fixture_open(&f, VEIL_HPKE_MODE_BASE, VEIL_AEAD_AES_256_GCM)) {
		harness_fail(__FILE__, __LINE__, "fixture");
		fixture_close(&f);
		return;
	}
	REQUIRE(!all_zero(f.rctx.exporter_secret, sizeof f.rctx.exporter_secret));
	veil_hpke_ctx_clear(&f.rctx);
	EXPECT(all_zero(f.rctx.exporter_secret, sizeof f.rctx.exporter_secret));
	EXPECT(all_zero(f.rctx.base_nonce, sizeof f.rctx.base_nonce));
	EXPECT(all_zero(f.rctx.aead.key, sizeof f.rctx.aead.key));
	EXPECT(f.rctx.aead.enc == NULL && f.rctx.aead.dec == NULL);
	veil_x25519_key_clear(&f.r);
	EXPECT(f.r.pkey == NULL);
	/* A second clear, and the one in fixture_close, are harmless. */
	veil_hpke_ctx_clear(&f.rctx);
	veil_x25519_key_clear(&f.r);
	fixture_close(&f);
}

TEST(fresh_keys_round_trip_in_every_mode)
{
	fixture f;
	veil_x25519_key r = {0}, s = {0};
	uint8_t sk[VEIL_X25519_LEN], dh1[VEIL_X25519_LEN], dh2[VEIL_X25519_LEN];
	static const size_t lens[] = {0, 1, MSG_MAX};

	if (!fixture_open(&f, VEIL_HPKE_MODE_AUTH_PSK, VEIL_AEAD_CHACHA20_POLY1305)) {
		harness_fail(__FILE__, __LINE__, "fixture");
		fixture_close(&f);
		return;
	}
	/* The key API: a key made from a private scalar has its public key,
	 * and DH agrees both ways. */
	REQUIRE(veil_x25519_key_from_private(&r, f.v.sk_r.b) == VEIL_OK);
	EXPECT(memcmp(r.pub, f.v.pk_r.b, VEIL_X25519_LEN) == 0);
	EXPECT_OK(veil_x25519_key_private(&r, sk));
	EXPECT(memcmp(sk, f.v.sk_r.b, sizeof sk) == 0);
	EXPECT_OK(veil_x25519(&r, f.v.pk_e.b, dh1));
	EXPECT_OK(veil_x25519(&f.e, f.v.pk_r.b, dh2));
	EXPECT(memcmp(dh1, dh2, sizeof dh1) == 0);
	veil_x25519_key_clear(&r);

	REQUIRE(veil_x25519_key_generate(&r) == VEIL_OK);
	REQUIRE(veil_x25519_key_generate(&s) == VEIL_OK);
	EXPECT(memcmp(r.pub, s.pub, VEIL_X25519_LEN) != 0);
	for (int mode = 0; mode < 4; mode++) {
		veil_hpke_params p =
		    both_sides(&f, (veil_hpke_mode)mode, is_psk(mode), is_psk(mode), is_auth(mode));
		veil_hpke_ctx sc = {0}, rc = {0}, sc2 = {0};
		uint8_t enc[VEIL_X25519_LEN], enc2[VEIL_X25519_LEN], x1[48], x2[48];
		uint8_t ct[MSG_MAX + VEIL_AEAD_TAG_LEN], pt[MSG_MAX];

		p.sender_key = is_auth(mode) ? &s : NULL;
		p.sender_pub = is_auth(mode) ? s.pub : NULL;
		EXPECT_OK(veil_hpke_setup_sender(&sc, &p, r.pub, enc));
		EXPECT_OK(veil_hpke_setup_sender(&sc2, &p, r.pub, enc2));
		EXPECT(memcmp(enc, enc2, sizeof enc) != 0);
		EXPECT_OK(veil_hpke_setup_receiver(&rc, &p, &r, enc, sizeof enc));
		/* Messages of 0, 1 and MSG_MAX bytes, in sequence, each with
		 * its own aad. */
		for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
			memset(pt, (int)i + 1, lens[i]);
			EXPECT_OK(veil_hpke_seal(&sc, f.v.info.b, i, pt, lens[i], ct));
			memset(pt, 0, sizeof pt);
			EXPECT_OK(veil_hpke_open(&rc, f.v.info.b, i, ct,
						 lens[i] + VEIL_AEAD_TAG_LEN, pt));
			EXPECT(lens[i] == 0 || (pt[0] == i + 1 && pt[lens[i] - 1] == i + 1));
		}
		EXPECT_OK(veil_hpke_export(&sc, f.v.info.b, 3, x1, sizeof x1));
		EXPECT_OK(veil_hpke_export(&rc, f.v.info.b, 3, x2, sizeof x2));
		EXPECT(memcmp(x1, x2, sizeof x1) == 0);
		EXPECT_OK(veil_hpke_export(&sc2, f.v.info.b, 3, x2, sizeof x2));
		EXPECT(memcmp(x1, x2, sizeof x1) != 0);
		veil_hpke_ctx_clear(&sc);
		veil_hpke_ctx_clear(&sc2);
		veil_hpke_ctx_clear(&rc);
	}
	veil_wipe(sk, sizeof sk);
	veil_x25519_key_clear(&r);
	veil_x25519_key_clear(&s);
	fixture_close(&f);
}

int main(void)
{
	hpke_load_vectors();
	RUN(forged_ciphertext_does_not_advance_the_sequence);
	RUN(receiver_that_disagrees_cannot_open);
	RUN(psk_and_sender_inputs_are_checked);
	RUN(unsupported_suites);
	RUN(enc_of_the_wrong_length);
	RUN(low_order_public_keys_are_refused);
	RUN(export_length_is_capped);
	RUN(sequence_number_exhaustion);
	RUN(clear_wipes_the_secrets);
	RUN(fresh_keys_round_trip_in_every_mode);
	json_decref(vectors);
	return harness_finish("test_hpke_negative");
}

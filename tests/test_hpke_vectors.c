/*
 * test_hpke_vectors.c - HPKE (RFC 9180) against the official test vectors.
 *
 * The vectors are the 16 DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 entries of
 * the RFC 9180 test-vector file (modes 0-3 x AEADs 1, 2, 3 and export-only),
 * read from hpke/rfc9180 in the test data. For each one the keys derived from
 * the ikm values, the enc of SetupS with the vector's ephemeral key, all 257
 * encryptions in sequence on both sides, the exports and the single-shot API
 * must reproduce the file. The run is counted, so a vector skipped by a
 * parsing slip fails the suite instead of passing quietly. The ways a
 * receiver must refuse are in test_hpke_negative.c.
 */
#include "test_hpke_util.h"

/* What the file must hold: 4 modes x 4 AEADs, and 257 encryptions (sequence
 * numbers 0..256) for each of the 12 vectors that are not export-only. */
#define WANT_VECTORS     16
#define WANT_ENCRYPTIONS (12 * 257)
#define WANT_EXPORTS     (16 * 3)

static size_t vectors_run, encryptions_checked, exports_checked;

static void check_encryptions(const hpke_vector *v, veil_hpke_ctx *sctx, veil_hpke_ctx *rctx)
{
	field aad, pt, ct;
	uint8_t out[MSG_MAX + VEIL_AEAD_TAG_LEN];
	char what[64];

	for (size_t i = 0; i < json_array_size(v->encryptions); i++) {
		const json_t *e = json_array_get(v->encryptions, i);
		if (!get_field(e, "aad", &aad) || !get_field(e, "pt", &pt) ||
		    !get_field(e, "ct", &ct) || ct.len != pt.len + VEIL_AEAD_TAG_LEN) {
			harness_fail(__FILE__, __LINE__, "encryption entry unreadable");
			return;
		}
		if (sctx->seq != i || rctx->seq != i)
			vector_fail(__FILE__, __LINE__, "sequence number is not the index", "");
		snprintf(what, sizeof what, "seal of encryption %zu", i);
		VECTOR_OK(what, veil_hpke_seal(sctx, aad.b, aad.len, pt.b, pt.len, out));
		EXPECT_BYTES(what, out, pt.len + VEIL_AEAD_TAG_LEN, ct.b, ct.len);
		snprintf(what, sizeof what, "open of encryption %zu", i);
		memset(out, 0, sizeof out);
		VECTOR_OK(what, veil_hpke_open(rctx, aad.b, aad.len, ct.b, ct.len, out));
		EXPECT_BYTES(what, out, pt.len, pt.b, pt.len);
		encryptions_checked++;
	}
}

static void check_exports(const hpke_vector *v, const veil_hpke_ctx *sctx,
			  const veil_hpke_ctx *rctx)
{
	field ectx, want;
	int64_t l;
	uint8_t out[FIELD_MAX];

	for (size_t i = 0; i < json_array_size(v->exports); i++) {
		const json_t *x = json_array_get(v->exports, i);
		if (!get_field(x, "exporter_context", &ectx) ||
		    !get_field(x, "exported_value", &want) ||
		    veil_json_get_int(x, "L", 0, FIELD_MAX, &l) != VEIL_OK ||
		    (size_t)l != want.len) {
			harness_fail(__FILE__, __LINE__, "export entry unreadable");
			return;
		}
		VECTOR_OK("sender export", veil_hpke_export(sctx, ectx.b, ectx.len, out, want.len));
		EXPECT_BYTES("sender export", out, want.len, want.b, want.len);
		VECTOR_OK("receiver export",
			  veil_hpke_export(rctx, ectx.b, ectx.len, out, want.len));
		EXPECT_BYTES("receiver export", out, want.len, want.b, want.len);
		exports_checked++;
	}
}

/* RFC 9180 section 6.1: the single-shot API is SetupS/R and one Seal/Open,
 * so open_once of the first encryption must give its pt. seal_once picks its
 * own ephemeral key, so it is checked by a round trip. */
static void check_single_shot(const hpke_vector *v, const veil_x25519_key *r,
			      const veil_x25519_key *s)
{
	veil_hpke_params ps = params_of(v, true, s), pr = params_of(v, false, NULL);
	uint8_t enc[VEIL_X25519_LEN], ct[MSG_MAX + VEIL_AEAD_TAG_LEN], pt[MSG_MAX];
	field aad, want_pt, want_ct;

	if (v->suite.aead == VEIL_AEAD_EXPORT_ONLY) {
		uint8_t one = 1;
		EXPECT(veil_hpke_seal_once(&ps, v->pk_r.b, NULL, 0, &one, 1, enc, ct) != VEIL_OK);
		return;
	}
	const json_t *e = json_array_get(v->encryptions, 0);
	REQUIRE(e != NULL && get_field(e, "aad", &aad) && get_field(e, "pt", &want_pt) &&
		get_field(e, "ct", &want_ct));
	memset(pt, 0, sizeof pt);
	VECTOR_OK("open_once of encryption 0",
		  veil_hpke_open_once(&pr, r, v->enc.b, v->enc.len, aad.b, aad.len, want_ct.b,
				      want_ct.len, pt));
	EXPECT_BYTES("open_once of encryption 0", pt, want_pt.len, want_pt.b, want_pt.len);

	VECTOR_OK("seal_once", veil_hpke_seal_once(&ps, v->pk_r.b, aad.b, aad.len, want_pt.b,
						   want_pt.len, enc, ct));
	EXPECT(memcmp(enc, v->enc.b, sizeof enc) != 0); /* a fresh ephemeral key */
	memset(pt, 0, sizeof pt);
	VECTOR_OK("open_once of seal_once",
		  veil_hpke_open_once(&pr, r, enc, sizeof enc, aad.b, aad.len, ct,
				      want_pt.len + VEIL_AEAD_TAG_LEN, pt));
	EXPECT_BYTES("seal_once/open_once round trip", pt, want_pt.len, want_pt.b, want_pt.len);
}

TEST(rfc9180_vectors)
{
	REQUIRE(json_array_size(vectors) == WANT_VECTORS);
	for (size_t i = 0; i < json_array_size(vectors); i++) {
		hpke_vector v;
		veil_x25519_key e = {0}, r = {0}, s = {0};
		veil_hpke_ctx sctx = {0}, rctx = {0};

		REQUIRE(load_vector(json_array_get(vectors, i), &v));
		snprintf(label, sizeof label, "vector %zu (mode %d, aead 0x%04x)", i, (int)v.mode,
			 v.suite.aead);
		shown = 0;
		if (setup_pair(&v, &e, &r, &s, &sctx, &rctx)) {
			if (v.suite.aead == VEIL_AEAD_EXPORT_ONLY) {
				/* RFC 9180 section 5.3: export-only has no Seal or Open. */
				uint8_t buf[VEIL_AEAD_TAG_LEN + 1] = {0};
				EXPECT(json_array_size(v.encryptions) == 0);
				EXPECT_ERR(veil_hpke_seal(&sctx, NULL, 0, buf, 1, buf),
					   VEIL_E_USAGE);
				EXPECT_ERR(veil_hpke_open(&rctx, NULL, 0, buf, sizeof buf, buf),
					   VEIL_E_USAGE);
			}
			check_encryptions(&v, &sctx, &rctx);
			check_exports(&v, &sctx, &rctx);
			check_single_shot(&v, &r, &s);
			vectors_run++;
		} else {
			harness_fail(__FILE__, __LINE__, label);
		}
		veil_hpke_ctx_clear(&sctx);
		veil_hpke_ctx_clear(&rctx);
		veil_x25519_key_clear(&e);
		veil_x25519_key_clear(&r);
		veil_x25519_key_clear(&s);
	}
}

/* Runs after rfc9180_vectors: nothing was skipped. */
TEST(rfc9180_vector_counts)
{
	EXPECT(vectors_run == WANT_VECTORS);
	EXPECT(encryptions_checked == WANT_ENCRYPTIONS);
	EXPECT(exports_checked == WANT_EXPORTS);
	printf("hpke vectors: %zu vectors, %zu encryptions, %zu exports checked\n", vectors_run,
	       encryptions_checked, exports_checked);
}
int main(void)
{
	hpke_load_vectors();
	RUN(rfc9180_vectors);
	RUN(rfc9180_vector_counts);
	json_decref(vectors);
	return harness_finish("test_hpke_vectors");
}

/*
 * test_bundle.c - the composite evidence binding and the bundle verifier.
 *
 * The digests are checked against values computed independently (Python's
 * hashlib over RFC 8785 canonical JSON), so the binding arithmetic does not
 * only agree with itself. The bundle verifier runs on real SNP and GPU
 * reports, which are genuine but bound to other sessions: it must verify
 * each part and refuse the whole for exactly the bindings.
 */
#include "test_nv_util.h"
#include "test_result_util.h"
#include "veil/bundle.h"
#include "veil/json.h"

static const char rd_text[] =
    "{\"z\":\"caf\xc3\xa9\",\"nonce\":\"challenge\",\"n\":1500,"
    "\"tee-pubkey\":{\"y\":\"y\",\"x\":\"x\",\"kty\":\"EC\",\"crv\":\"P-256\"},"
    "\"additional-evidence\":[{\"type\":\"nvidia\",\"evidence\":\"AA==\","
    "\"certificate\":\"AA==\"}]}";

TEST(binding_digests_match_independent_values)
{
	json_t *rd = NULL;
	uint8_t digest[64], nonce[32];
	size_t n;
	uint8_t *want_rd = td_hex("4ed32c8c81c868978db54104c1bad2c436f0becc6b163827fda1e15761e83b"
				  "0acc270dc9f15e181f11a1bde2372725da",
				  &n);
	uint8_t *want_nonce =
	    td_hex("49f8cf9c3248b28701b83bfdcc8eb2cc5bacd1331c81e2d309c7c18dd8306a57", &n);

	REQUIRE(veil_json_parse((const uint8_t *)rd_text, sizeof rd_text - 1, &rd) == VEIL_OK);
	EXPECT_OK(veil_runtime_data_digest(rd, digest));
	EXPECT(memcmp(digest, want_rd, 48) == 0);
	for (int i = 48; i < 64; i++)
		EXPECT(digest[i] == 0);
	EXPECT_OK(veil_device_nonce(rd, nonce));
	EXPECT(memcmp(nonce, want_nonce, 32) == 0);
	/* Another challenge gives another nonce. */
	json_object_set_new(rd, "nonce", json_string("challengf"));
	EXPECT_OK(veil_device_nonce(rd, nonce));
	EXPECT(memcmp(nonce, want_nonce, 32) != 0);
	/* Without the key there is nothing to bind to. */
	json_object_del(rd, "tee-pubkey");
	EXPECT_ERR(veil_device_nonce(rd, nonce), VEIL_E_MALFORMED);
	json_decref(rd);
	free(want_rd);
	free(want_nonce);
}

/* A bundle around the real Trustee SNP report and the 545.00 GPU report. */
static char *make_bundle(const char *tee, const char *extra_member)
{
	size_t sn, vn, gn, cn;
	uint8_t *snp = td_read("snp/trustee/test-report.bin", &sn);
	uint8_t *vcek = td_read("snp/trustee/test-vcek.der", &vn);
	uint8_t *gpu = nv_test_report(NV_R545, &gn);
	uint8_t *chain = td_read(NV_C545, &cn);
	char *b64[4];
	const uint8_t *in[4] = {snp, vcek, gpu, chain};
	size_t len[4] = {sn, vn, gn, cn};

	for (int i = 0; i < 4; i++) {
		b64[i] = malloc(len[i] * 4 / 3 + 8);
		veil_base64_encode(in[i], len[i], b64[i]);
	}
	json_t *doc =
	    json_pack("{s:i, s:s, s:s, s:[s], s:{s:s, s:{s:s}, s:[{s:s, s:s, s:s}]}}", "version", 1,
		      "tee", tee, "primary_evidence", b64[0], "collateral", b64[1], "runtime_data",
		      "nonce", "n1", "tee-pubkey", "kty", "EC", "additional-evidence", "type",
		      "nvidia", "evidence", b64[2], "certificate", b64[3]);
	if (extra_member != NULL)
		json_object_set_new(doc, extra_member, json_true());
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	for (int i = 0; i < 4; i++)
		free(b64[i]);
	free(snp);
	free(vcek);
	free(gpu);
	free(chain);
	return text;
}

TEST(bundle_of_unbound_parts_is_refused_for_the_binding)
{
	char *text = make_bundle("snp", NULL);
	veil_collateral coll;
	static const char *const rims[] = {NV_DRV545, NV_VB545, NULL};
	json_t *res = NULL;
	veil_verify_ctx ctx = {.at = td_time("2025-01-01T00:00:00Z"),
			       .revocation = VEIL_REVOCATION_ALLOW_UNKNOWN};

	nv_test_coll(&coll, rims);
	ctx.collateral = &coll;
	EXPECT_OK(veil_bundle_verify((const uint8_t *)text, strlen(text), &ctx, &res));
	REQUIRE(res != NULL);
	EXPECT(json_is_false(json_object_get(res, "verified")));
	json_t *cpu = json_object_get(json_object_get(res, "submods"), "cpu");
	json_t *gpu = json_object_get(json_object_get(res, "submods"), "gpu0");
	REQUIRE(cpu != NULL && gpu != NULL);
	/* Each part is genuine; only the bindings fail. */
	EXPECT(result_has_check(cpu, "report.signature", true));
	EXPECT(result_has_check(cpu, "report_data", false));
	EXPECT(result_has_check(gpu, "report.signature", true));
	EXPECT(result_has_check(gpu, "vbios_rim.measurements", true));
	EXPECT(result_has_check(gpu, "report_data", false));
	EXPECT(result_has_check(res, "binding.primary", false));
	EXPECT(result_has_check(res, "binding.device", false));
	json_decref(res);
	veil_collateral_clear(&coll);
	free(text);
}

TEST(malformed_bundles)
{
	veil_verify_ctx ctx = {.at = td_time("2025-01-01T00:00:00Z")};
	json_t *res = NULL;
	char *text;

	text = make_bundle("nvidia", NULL);
	EXPECT_ERR(veil_bundle_verify((const uint8_t *)text, strlen(text), &ctx, &res),
		   VEIL_E_UNSUPPORTED);
	EXPECT(res == NULL);
	free(text);
	text = make_bundle("snp", "unexpected");
	EXPECT_ERR(veil_bundle_verify((const uint8_t *)text, strlen(text), &ctx, &res),
		   VEIL_E_MALFORMED);
	/* Truncated JSON. */
	text[strlen(text) / 2] = '\0';
	EXPECT(veil_bundle_verify((const uint8_t *)text, strlen(text), &ctx, &res) != VEIL_OK);
	free(text);
	static const char not_object[] = "[1,2]";
	EXPECT(veil_bundle_verify((const uint8_t *)not_object, sizeof not_object - 1, &ctx, &res) !=
	       VEIL_OK);
	EXPECT(res == NULL);
}

int main(void)
{
	RUN(binding_digests_match_independent_values);
	RUN(bundle_of_unbound_parts_is_refused_for_the_binding);
	RUN(malformed_bundles);
	return harness_finish("test_bundle");
}

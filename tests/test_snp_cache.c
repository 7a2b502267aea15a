/*
 * test_snp_cache.c - the SEV-SNP verifier cache.
 *
 * A warm verification must reach the same verdict as a cold one for every
 * input that matters: the validity window is re-checked at each time, a
 * tampered report still fails its signature, a different expected product
 * goes back to the cold path (and its chain), and changed collateral is never
 * served from entries built on the old one. The cache stays within
 * VEIL_VERIFIER_CACHE_MAX entries.
 */

#include "test_snp_util.h"
#include "veil/crypto.h"

#define REPORT "snp/trustee/test-report.bin"
#define VCEK   "snp/trustee/test-vcek.der"
#define AT     "2024-01-01T00:00:00Z"

TEST(warm_path_reuses_chain)
{
	veil_verifier *v = NULL;
	veil_collateral coll;
	veil_checks checks;
	size_t n, vn;
	uint8_t *p = td_read(REPORT, &n), *vc = td_read(VCEK, &vn);

	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	veil_collateral_init(&coll);
	REQUIRE(veil_collateral_add(&coll, vc, vn, VCEK) == VEIL_OK);
	EXPECT_OK(snp_test_verify_buf(p, n, &coll, AT, NULL, v, &checks, NULL));
	EXPECT(strstr(veil_checks_find(&checks, "vek.chain")->detail, "earlier") == NULL);
	EXPECT_OK(snp_test_verify_buf(p, n, &coll, AT, NULL, v, &checks, NULL));
	EXPECT(strstr(veil_checks_find(&checks, "vek.chain")->detail, "verified earlier") != NULL);
	EXPECT(snp_check_passed(&checks, "vek.tcb") && snp_check_passed(&checks, "vek.chip_id"));
	/* Outside the window, warm: still refused. */
	EXPECT_ERR(snp_test_verify_buf(p, n, &coll, "2031-01-01T00:00:00Z", NULL, v, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.chain"));
	EXPECT_ERR(snp_test_verify_buf(p, n, &coll, "2022-01-01T00:00:00Z", NULL, v, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.chain"));
	/* Tampered, warm: the signature is always checked. */
	p[0x50] ^= 1;
	EXPECT_ERR(snp_test_verify_buf(p, n, &coll, AT, NULL, v, &checks, NULL), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "report.signature"));
	p[0x50] ^= 1;
	/* A different expected product: cold path, Genoa chain, refused. */
	EXPECT_ERR(snp_test_verify_buf(p, n, &coll, AT, "Genoa", v, &checks, NULL), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "product"));
	EXPECT(snp_check_failed(&checks, "vek.chain"));
	EXPECT_OK(snp_test_verify_buf(p, n, &coll, AT, "Milan", v, &checks, NULL));
	/* Changed collateral (new id, VCEK gone): no stale answer. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	EXPECT_ERR(snp_test_verify_buf(p, n, &coll, AT, NULL, v, &checks, NULL), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.found"));
	veil_collateral_clear(&coll);
	veil_verifier_free(v);
	free(p);
	free(vc);
}

/* Several reports share one verifier and each gets its own entry. */
TEST(many_reports_one_verifier)
{
	static const char *pairs[][3] = {
	    {"snp/go-sev-guest/attestation.bin", "snp/go-sev-guest/vcek.testcer", AT},
	    {"snp/trustee/test-report.bin", "snp/trustee/test-vcek.der", AT},
	    {"snp/trustee/test-vlek-report.bin", "snp/trustee/test-vlek.der",
	     "2025-06-01T00:00:00Z"},
	    {"snp/tinfoil-go-AGPL/box2_turin_report.DERIVED.bin",
	     "snp/tinfoil-go-AGPL/box2_turin_vcek.DERIVED.der", "2027-01-01T00:00:00Z"},
	};
	veil_verifier *v = NULL;
	veil_collateral coll;
	veil_checks checks;

	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	veil_collateral_init(&coll);
	for (size_t i = 0; i < 4; i++) {
		size_t n;
		uint8_t *c = td_read(pairs[i][1], &n);
		REQUIRE(veil_collateral_add(&coll, c, n, pairs[i][1]) == VEIL_OK);
		free(c);
	}
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < 4; i++) {
			size_t n;
			uint8_t *p = td_read(pairs[i][0], &n);
			EXPECT_OK(
			    snp_test_verify_buf(p, n, &coll, pairs[i][2], NULL, v, &checks, NULL));
			EXPECT((strstr(veil_checks_find(&checks, "vek.chain")->detail, "earlier") !=
				NULL) == (round == 1));
			free(p);
		}
	}
	veil_collateral_clear(&coll);
	veil_verifier_free(v);
}

TEST(cache_is_capped)
{
	X509 *vek = snp_test_cert(VCEK);
	struct snp_vek_ext ext;
	struct snp_cache_key k;
	void *cache = NULL;

	REQUIRE(vek != NULL);
	REQUIRE(snp_vek_ext_parse(vek, &ext) == VEIL_OK);
	memset(&k, 0, sizeof k);
	for (uint64_t i = 0; i < VEIL_VERIFIER_CACHE_MAX + 10; i++) {
		k.reported_tcb = i;
		EXPECT_OK(snp_cache_insert(&cache, &k, vek, &ext, SNP_PRODUCT_MILAN, 0, 1));
	}
	EXPECT(snp_cache_count(cache) == VEIL_VERIFIER_CACHE_MAX);
	/* The oldest went, the newest stayed. */
	k.reported_tcb = 0;
	EXPECT(snp_cache_lookup(cache, &k) == NULL);
	k.reported_tcb = VEIL_VERIFIER_CACHE_MAX + 9;
	EXPECT(snp_cache_lookup(cache, &k) != NULL);
	/* Re-inserting a key replaces, not grows. */
	EXPECT_OK(snp_cache_insert(&cache, &k, vek, &ext, SNP_PRODUCT_MILAN, 0, 1));
	EXPECT(snp_cache_count(cache) == VEIL_VERIFIER_CACHE_MAX);
	snp_cache_free(cache);
	snp_cache_free(NULL);
	X509_free(vek);
}

/* The VCEK's notAfter (2030-01-24T17:58:26Z) is exclusive, as OpenSSL reads
 * it: at that second warm and cold both refuse. */
TEST(warm_and_cold_agree_at_the_vcek_not_after_second)
{
	veil_verifier *v = NULL;
	veil_collateral coll;
	veil_checks checks;
	size_t n, vn;
	uint8_t *p = td_read(REPORT, &n), *vc = td_read(VCEK, &vn);

	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	veil_collateral_init(&coll);
	REQUIRE(veil_collateral_add(&coll, vc, vn, VCEK) == VEIL_OK);
	EXPECT_OK(snp_test_verify_buf(p, n, &coll, AT, NULL, v, &checks, NULL));
	EXPECT_OK(snp_test_verify_buf(p, n, &coll, "2030-01-24T17:58:25Z", NULL, v, &checks, NULL));
	EXPECT(strstr(veil_checks_find(&checks, "vek.chain")->detail, "verified earlier") != NULL);
	EXPECT_ERR(
	    snp_test_verify_buf(p, n, &coll, "2030-01-24T17:58:26Z", NULL, NULL, &checks, NULL),
	    VEIL_E_VERIFY);
	EXPECT_ERR(snp_test_verify_buf(p, n, &coll, "2030-01-24T17:58:26Z", NULL, v, &checks, NULL),
		   VEIL_E_VERIFY);
	veil_collateral_clear(&coll);
	veil_verifier_free(v);
	free(p);
	free(vc);
}

int main(void)
{
	RUN(warm_path_reuses_chain);
	RUN(warm_and_cold_agree_at_the_vcek_not_after_second);
	RUN(many_reports_one_verifier);
	RUN(cache_is_capped);
	return harness_finish("test_snp_cache");
}

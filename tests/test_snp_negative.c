/*
 * test_snp_negative.c - SEV-SNP reports and collateral that must be refused.
 *
 * Each case starts from a report that verifies (checked first, so a case
 * cannot pass because the baseline was already broken), changes one thing,
 * and expects the failure to be named by the right check: tampering in each
 * signed region and in the signature, wrong length and trailing bytes,
 * unknown versions, another chip's VCEK, a missing VCEK, the wrong product,
 * the wrong chain, times outside the validity windows, synthetic VCEKs.
 */
#include <openssl/evp.h>

#include "test_snp_util.h"

#define MILAN_REPORT "snp/trustee/test-report.bin"
#define MILAN_VCEK   "snp/trustee/test-vcek.der"
#define MILAN_AT     "2024-01-01T00:00:00Z"

static uint8_t *load(const char *path, size_t *n)
{
	uint8_t *p = td_read(path, n);
	uint8_t *q = malloc(*n + 16);

	memcpy(q, p, *n);
	free(p);
	return q;
}

static veil_err verify_mutated(const uint8_t *buf, size_t n, veil_checks *checks)
{
	return snp_test_verify_buf(buf, n, snp_test_coll(MILAN_VCEK, NULL), MILAN_AT, NULL, NULL,
				   checks, NULL);
}

TEST(baseline_passes)
{
	veil_checks checks;
	EXPECT_OK(snp_test_verify(MILAN_REPORT, MILAN_VCEK, MILAN_AT, NULL, &checks));
}

/* Every signed field, the signature and the unsigned reserved tail: flipping
 * one bit anywhere makes the report fail (at parse or at verify). */
TEST(bit_flips_in_every_region)
{
	static const size_t offsets[] = {0x000, 0x004, 0x008, 0x010, 0x020, 0x030, 0x034, 0x038,
					 0x040, 0x048, 0x04C, 0x050, 0x08F, 0x090, 0x0C0, 0x0E0,
					 0x110, 0x140, 0x160, 0x180, 0x186, 0x188, 0x1A0, 0x1DF,
					 0x1E0, 0x1E8, 0x1EC, 0x1F0, 0x1F8, 0x208, 0x29F, 0x2A0,
					 0x2E7, 0x2E8, 0x32F, 0x330, 0x49F};
	size_t n;
	uint8_t *p = load(MILAN_REPORT, &n);
	veil_checks checks;

	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			p[offsets[i]] ^= (uint8_t)(1u << bit);
			veil_err err = verify_mutated(p, n, &checks);
			if (err == VEIL_OK)
				fprintf(stderr, "  flip at 0x%zx bit %d passed\n", offsets[i], bit);
			EXPECT(err != VEIL_OK);
			p[offsets[i]] ^= (uint8_t)(1u << bit);
		}
	}
	/* A flip inside the signed bytes that still parses fails the signature. */
	p[0x90] ^= 1;
	EXPECT_ERR(verify_mutated(p, n, &checks), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "report.signature"));
	EXPECT(snp_check_passed(&checks, "vek.chain"));
	p[0x90] ^= 1;
	/* R and S of the signature. */
	for (size_t off = 0x2A0; off < 0x330; off += 0x20) {
		p[off] ^= 0x10;
		EXPECT_ERR(verify_mutated(p, n, &checks), VEIL_E_VERIFY);
		EXPECT(snp_check_failed(&checks, "report.signature"));
		p[off] ^= 0x10;
	}
	EXPECT_OK(verify_mutated(p, n, &checks));
	free(p);
}

/* virtee/sev milan_report_invalid: byte 21 ^= 0x80 (FAMILY_ID). */
TEST(virtee_family_id_flip)
{
	size_t n;
	uint8_t *p = load("snp/virtee-sev/report_milan.DERIVED.bin", &n);
	veil_checks checks;

	p[21] ^= 0x80;
	EXPECT_ERR(snp_test_verify_buf(p, n, snp_test_coll("snp/virtee-sev/vcek_milan.der", NULL),
				       MILAN_AT, NULL, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "report.signature"));
	free(p);
}

/* trustee check_report_signature_failure (byte 42 += 1, IMAGE_ID) and
 * check_report_tcb_failure (byte 0x180 += 1, REPORTED_TCB boot loader). */
TEST(trustee_image_id_and_tcb)
{
	size_t n;
	uint8_t *p = load(MILAN_REPORT, &n);
	veil_checks checks;

	p[42] += 1;
	EXPECT_ERR(verify_mutated(p, n, &checks), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "report.signature"));
	p[42] -= 1;
	p[0x180] += 1;
	EXPECT_ERR(verify_mutated(p, n, &checks), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.tcb"));
	EXPECT(snp_check_failed(&checks, "report.signature"));
	EXPECT(strstr(veil_checks_find(&checks, "vek.tcb")->detail, "bl 4") != NULL);
	free(p);
}

TEST(lengths_and_trailing_bytes)
{
	size_t n;
	uint8_t *p = load(MILAN_REPORT, &n);
	veil_checks checks;

	EXPECT_ERR(verify_mutated(p, n - 1, &checks), VEIL_E_TRUNCATED);
	EXPECT_ERR(verify_mutated(p, 0x2A0, &checks), VEIL_E_TRUNCATED);
	EXPECT_ERR(verify_mutated(p, 0, &checks), VEIL_E_TRUNCATED);
	p[n] = 0;
	EXPECT_ERR(verify_mutated(p, n + 1, &checks), VEIL_E_TRAILING);
	memcpy(p + n, "garbage!", 8);
	EXPECT_ERR(verify_mutated(p, n + 8, &checks), VEIL_E_TRAILING);
	EXPECT(snp_check_failed(&checks, "parse"));
	free(p);
}

TEST(unknown_version_and_algo)
{
	size_t n;
	uint8_t *p = load(MILAN_REPORT, &n);
	void *ev = NULL;
	static const uint8_t versions[] = {0, 1, 4, 6, 0xff};

	for (size_t i = 0; i < sizeof versions; i++) {
		p[0] = versions[i];
		EXPECT_ERR(veil_snp_format.parse(p, n, &ev), VEIL_E_UNSUPPORTED);
		EXPECT(strstr(veil_err_detail(), "VERSION (offset 0x000)") != NULL);
	}
	p[0] = 2;
	p[0x34] = 2;
	EXPECT_ERR(veil_snp_format.parse(p, n, &ev), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(), "SIGNATURE_ALGO (offset 0x034)") != NULL);
	p[0x34] = 0;
	EXPECT_ERR(veil_snp_format.parse(p, n, &ev), VEIL_E_UNSUPPORTED);
	p[0x34] = 1;
	p[0x400] = 1; /* unsigned reserved tail */
	EXPECT_ERR(veil_snp_format.parse(p, n, &ev), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "0x330") != NULL);
	p[0x400] = 0;
	p[0x48] = 0x10; /* SIGNING_KEY 4: reserved */
	EXPECT_ERR(veil_snp_format.parse(p, n, &ev), VEIL_E_MALFORMED);
	p[0x48] = 0;
	p[0x30] = 4; /* VMPL 4 */
	EXPECT_ERR(veil_snp_format.parse(p, n, &ev), VEIL_E_MALFORMED);
	p[0x30] = 0;
	EXPECT_OK(veil_snp_format.parse(p, n, &ev));
	veil_snp_format.free(ev);
	free(p);
}

TEST(wrong_and_missing_vcek)
{
	veil_checks checks;

	/* Another Milan chip's VCEK: nothing in the collateral is for this chip. */
	EXPECT_ERR(snp_test_verify("snp/go-sev-guest/attestation.bin",
				   "snp/virtee-sev/vcek_milan.der", MILAN_AT, NULL, &checks),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.found"));
	EXPECT(strstr(veil_checks_find(&checks, "vek.found")->detail,
		      "VCEK not found for chip 3ac3fe21") != NULL);
	EXPECT(strstr(veil_checks_find(&checks, "vek.found")->detail, "docs/collateral.md") !=
	       NULL);
	/* No collateral at all. */
	EXPECT_ERR(snp_test_verify(MILAN_REPORT, NULL, MILAN_AT, NULL, &checks), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.found"));
	EXPECT(veil_checks_find(&checks, "report.signature") == NULL);
	/* Only the ASK/ARK bundle, no VCEK. */
	EXPECT_ERR(snp_test_verify(MILAN_REPORT, "snp/go-sev-guest/ask_ark_milan.pem", MILAN_AT,
				   NULL, &checks),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.found"));
	/* A VLEK report with only VCEKs. */
	EXPECT_ERR(snp_test_verify("snp/trustee/test-vlek-report.bin", MILAN_VCEK,
				   "2025-06-01T00:00:00Z", NULL, &checks),
		   VEIL_E_VERIFY);
	EXPECT(strstr(veil_checks_find(&checks, "vek.found")->detail, "VLEK not found") != NULL);
}

/* The right VCEK next to unrelated certificates is still found. */
TEST(vcek_found_among_others)
{
	size_t n;
	uint8_t *p = load(MILAN_REPORT, &n);
	veil_checks checks;

	EXPECT_OK(snp_test_verify_buf(
	    p, n, snp_test_coll("snp/trustee/milan_ask_ark_asvk.pem", MILAN_VCEK), MILAN_AT,
	    "Milan", NULL, &checks, NULL));
	EXPECT_OK(snp_test_verify_buf(
	    p, n, snp_test_coll("snp/trustee/test-vcek-invalid-new.der", MILAN_VCEK), MILAN_AT,
	    NULL, NULL, &checks, NULL));
	free(p);
}

TEST(wrong_product)
{
	veil_checks checks;

	/* Milan report, expected product Genoa: the product check and the chain
	 * (the Milan VCEK through Genoa's ASK) both fail. */
	EXPECT_ERR(snp_test_verify(MILAN_REPORT, MILAN_VCEK, MILAN_AT, "Genoa", &checks),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "product"));
	EXPECT(snp_check_failed(&checks, "vek.chain"));
	EXPECT(snp_check_passed(&checks, "report.signature"));
	EXPECT_ERR(snp_test_verify(MILAN_REPORT, MILAN_VCEK, MILAN_AT, "Sapphire", &checks),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "product"));
	EXPECT_OK(snp_test_verify(MILAN_REPORT, MILAN_VCEK, MILAN_AT, "Milan", &checks));
	/* A v3 Genoa report (CPUID 0x19/0xA0) named Turin. */
	EXPECT_ERR(snp_test_verify("snp/trustee/e2e-report-genoa-v3.DERIVED.bin",
				   "snp/trustee/e2e-vcek-genoa.DERIVED.der", "2026-01-01T00:00:00Z",
				   "Turin", &checks),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "product"));
}

TEST(wrong_chain)
{
	X509 *vcek = snp_test_cert(MILAN_VCEK);
	X509 *ark, *ask, *asvk, *gark, *gask, *gasvk;
	int64_t at = td_time(MILAN_AT);

	REQUIRE(vcek != NULL);
	REQUIRE(snp_roots_get(SNP_PRODUCT_MILAN, &ark, &ask, &asvk) == VEIL_OK);
	REQUIRE(snp_roots_get(SNP_PRODUCT_GENOA, &gark, &gask, &gasvk) == VEIL_OK);
	EXPECT_OK(snp_chain_verify_with(vcek, ask, ark, NULL, at));
	/* trustee check_milan_chain_signature_failure: ASVK used as ASK. */
	EXPECT(snp_chain_verify_with(vcek, asvk, ark, NULL, at) != VEIL_OK);
	EXPECT(snp_chain_verify(vcek, true, SNP_PRODUCT_MILAN, NULL, at, NULL) != VEIL_OK);
	/* Right chip, wrong product's chain. */
	EXPECT(snp_chain_verify(vcek, false, SNP_PRODUCT_GENOA, NULL, at, NULL) != VEIL_OK);
	EXPECT(snp_chain_verify_with(vcek, gask, ark, NULL, at) != VEIL_OK);
	EXPECT(snp_chain_verify_with(vcek, ask, gark, NULL, at) != VEIL_OK);
	X509_free(vcek);
}

TEST(validity_windows)
{
	veil_checks checks;
	const char *r = "snp/trustee/test-vlek-report.bin", *v = "snp/trustee/test-vlek.der";

	EXPECT_OK(snp_test_verify(r, v, "2025-06-01T00:00:00Z", NULL, &checks));
	/* The VLEK expired on 2025-12-10. */
	EXPECT_ERR(snp_test_verify(r, v, "2026-01-01T00:00:00Z", NULL, &checks), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.chain"));
	EXPECT(snp_check_passed(&checks, "report.signature"));
	EXPECT_ERR(snp_test_verify(r, v, "2024-12-01T00:00:00Z", NULL, &checks), VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.chain"));
	/* Milan VCEK valid 2023-01-24 .. 2030-01-24. */
	EXPECT_ERR(snp_test_verify(MILAN_REPORT, MILAN_VCEK, "2023-01-01T00:00:00Z", NULL, &checks),
		   VEIL_E_VERIFY);
	EXPECT_ERR(snp_test_verify(MILAN_REPORT, MILAN_VCEK, "2030-02-01T00:00:00Z", NULL, &checks),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.chain"));
}

TEST(synthetic_invalid_vceks)
{
	static const char *files[] = {"snp/trustee/test-vcek-invalid-legacy.der",
				      "snp/trustee/test-vcek-invalid-new.der"};
	struct snp_vek_ext e;

	for (int i = 0; i < 2; i++) {
		X509 *c = snp_test_cert(files[i]);
		REQUIRE(c != NULL);
		EXPECT_OK(snp_vek_ext_parse(c, &e));
		EXPECT(e.hwid_len == 64 && e.hwid[0] == 0 && e.hwid[1] == 1 && e.hwid[63] == 0x3f);
		EXPECT(snp_chain_verify(c, false, SNP_PRODUCT_MILAN, NULL, td_time(MILAN_AT),
					NULL) != VEIL_OK);
		X509_free(c);
	}
}

TEST(vlek_chip_id_must_be_zero)
{
	size_t n;
	uint8_t *p = load("snp/trustee/test-vlek-report.bin", &n);
	veil_checks checks;

	p[0x1A0] = 1;
	EXPECT_ERR(snp_test_verify_buf(p, n, snp_test_coll("snp/trustee/test-vlek.der", NULL),
				       "2025-06-01T00:00:00Z", NULL, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.chip_id"));
	free(p);
}

/* trustee az tests: REPORTED_TCB.SNP zeroed (HCL byte 0x1A6) and the runtime
 * JSON changed (HCL byte 0x6E0). */
TEST(hcl_tampering)
{
	size_t n;
	uint8_t *p = load("snp/trustee/az-snp-vtpm-hcl-report.bin", &n);
	const veil_collateral *coll = snp_test_coll("snp/trustee/az-snp-vtpm-vcek.pem", NULL);
	veil_checks checks;

	EXPECT_OK(snp_test_verify_buf(p, n, coll, MILAN_AT, NULL, NULL, &checks, NULL));
	p[0x1A6] = 0;
	EXPECT_ERR(snp_test_verify_buf(p, n, coll, MILAN_AT, NULL, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.tcb"));
	EXPECT(snp_check_passed(&checks, "hcl.runtime_data"));
	p[0x1A6] = 8;
	p[0x6E0] += 1;
	EXPECT_ERR(snp_test_verify_buf(p, n, coll, MILAN_AT, NULL, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "hcl.runtime_data"));
	EXPECT(snp_check_passed(&checks, "report.signature"));
	p[0x6E0] -= 1;
	p[n - 1] = 1; /* padding after report_size */
	EXPECT_ERR(snp_test_verify_buf(p, n, coll, MILAN_AT, NULL, NULL, &checks, NULL),
		   VEIL_E_TRAILING);
	p[n - 1] = 0;
	EXPECT_ERR(snp_test_verify_buf(p, 0x4C0, coll, MILAN_AT, NULL, NULL, &checks, NULL),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(snp_test_verify_buf(p, 0x900, coll, MILAN_AT, NULL, NULL, &checks, NULL),
		   VEIL_E_MALFORMED);
	free(p);
}

/* AMD CRLs in the collateral are applied, never skipped. No real AMD CRL
 * revokes anything in the test data (and AMD's keys are not at hand), so
 * these are the negatives: a CRL naming ARK-Milan but signed by another key,
 * an unreadable CRL, and a CRL of an unrelated issuer, which is ignored. */
TEST(amd_crls_in_the_collateral)
{
	X509 *ark, *ask, *asvk;
	veil_checks checks;
	size_t n;
	uint8_t *report = td_read(MILAN_REPORT, &n);

	REQUIRE(snp_roots_get(SNP_PRODUCT_MILAN, &ark, &ask, &asvk) == VEIL_OK);
	EVP_PKEY *key = EVP_EC_gen("P-384");
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark));
	ASN1_TIME_set(t, td_time("2023-12-01T00:00:00Z"));
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, td_time("2024-12-01T00:00:00Z"));
	X509_CRL_set1_nextUpdate(crl, t);
	X509_CRL_sign(crl, key, EVP_sha384());
	unsigned char *der = NULL;
	int dlen = i2d_X509_CRL(crl, &der);
	REQUIRE(dlen > 0);

	veil_collateral *coll = snp_test_coll(MILAN_VCEK, NULL);
	EXPECT_OK(snp_test_verify_buf(report, n, coll, MILAN_AT, NULL, NULL, &checks, NULL));
	EXPECT(strstr(veil_checks_find(&checks, "vek.chain")->detail, "revocation unchecked") !=
	       NULL);
	EXPECT_OK(veil_collateral_add(coll, der, (size_t)dlen, "forged-ark-milan.crl"));
	EXPECT_ERR(snp_test_verify_buf(report, n, coll, MILAN_AT, NULL, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.chain"));

	coll = snp_test_coll(MILAN_VCEK, NULL);
	const char *bad = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
	EXPECT_OK(veil_collateral_add(coll, (const uint8_t *)bad, strlen(bad), "bad.crl"));
	EXPECT_ERR(snp_test_verify_buf(report, n, coll, MILAN_AT, NULL, NULL, &checks, NULL),
		   VEIL_E_VERIFY);

	coll = snp_test_coll(MILAN_VCEK, "tdx/go-tdx-guest/rootcrl.der");
	EXPECT_OK(snp_test_verify_buf(report, n, coll, MILAN_AT, NULL, NULL, &checks, NULL));

	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	EVP_PKEY_free(key);
	free(report);
}

int main(void)
{
	RUN(amd_crls_in_the_collateral);
	RUN(baseline_passes);
	RUN(bit_flips_in_every_region);
	RUN(virtee_family_id_flip);
	RUN(trustee_image_id_and_tcb);
	RUN(lengths_and_trailing_bytes);
	RUN(unknown_version_and_algo);
	RUN(wrong_and_missing_vcek);
	RUN(vcek_found_among_others);
	RUN(wrong_product);
	RUN(wrong_chain);
	RUN(validity_windows);
	RUN(synthetic_invalid_vceks);
	RUN(vlek_chip_id_must_be_zero);
	RUN(hcl_tampering);
	return harness_finish("test_snp_negative");
}

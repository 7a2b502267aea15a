/*
 * test_snp.c - the SEV-SNP module against every real report in
 * testdata/snp, with the outcomes testdata/snp/SOURCES.md gives, verified at
 * a time inside each VEK's validity window; claim values checked against
 * SOURCES.md; detection; and the verifier cache. Negative cases (tampering,
 * wrong keys, wrong time, wrong product) are in test_snp_negative.c.
 */
#include <jansson.h>

#include "test_snp_util.h"
#include "veil/codec.h"

/* Verifies, expects a pass, and returns the claims (caller json_decref). */
static json_t *expect_valid(const char *report, const char *vek, const char *at)
{
	veil_checks checks;
	void *ev = NULL;
	size_t n;
	uint8_t *p = td_read(report, &n);
	json_t *claims = json_object();
	veil_err err =
	    snp_test_verify_buf(p, n, snp_test_coll(vek, NULL), at, NULL, NULL, &checks, &ev);

	if (err != VEIL_OK) {
		fprintf(stderr, "  %s at %s: %s\n", report, at, veil_err_detail());
		snp_print_checks(&checks);
	}
	EXPECT_OK(err);
	EXPECT(veil_checks_passed(&checks));
	EXPECT(snp_check_passed(&checks, "vek.chain"));
	EXPECT(snp_check_passed(&checks, "vek.tcb"));
	EXPECT(snp_check_passed(&checks, "vek.chip_id"));
	EXPECT(snp_check_passed(&checks, "report.signature"));
	if (ev != NULL) {
		EXPECT_OK(veil_snp_format.claims(ev, claims));
		veil_snp_format.free(ev);
	}
	free(p);
	return claims;
}

static const char *cstr(json_t *claims, const char *key)
{
	const char *s = json_string_value(json_object_get(claims, key));
	return s != NULL ? s : "";
}

static long long cint(json_t *claims, const char *key)
{
	json_t *v = json_object_get(claims, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static long long tcb_part(json_t *claims, const char *key, const char *part)
{
	json_t *v = json_object_get(json_object_get(claims, key), part);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

TEST(go_sev_guest_milan_debug)
{
	json_t *c = expect_valid("snp/go-sev-guest/attestation.bin",
				 "snp/go-sev-guest/vcek.testcer", "2024-01-01T00:00:00Z");
	EXPECT(strcmp(cstr(c, "policy"), "0x00000000000b0000") == 0);
	EXPECT(json_is_true(json_object_get(c, "debug")));
	EXPECT(json_is_true(json_object_get(c, "smt")));
	EXPECT(json_is_false(json_object_get(c, "migrate_ma")));
	EXPECT(cint(c, "vmpl") == 0);
	EXPECT(cint(c, "version") == 2);
	EXPECT(strcmp(cstr(c, "reported_tcb"), "0x4405000000000002") == 0);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "bootloader") == 2);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "tee") == 0);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "snp") == 5);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "microcode") == 68);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "fmc") == -1);
	EXPECT(strcmp(cstr(c, "current_tcb"), "0x4405000000000002") == 0);
	EXPECT(strcmp(cstr(c, "current_fw"), "1.49.3") == 0);
	EXPECT(strncmp(cstr(c, "chip_id"), "3ac3fe21", 8) == 0);
	EXPECT(strncmp(cstr(c, "report_data"), "0102030405000000", 16) == 0);
	EXPECT(strcmp(cstr(c, "signing_key"), "vcek") == 0);
	EXPECT(strcmp(cstr(c, "product"), "Milan") == 0);
	EXPECT(json_object_get(c, "cpuid_fam") == NULL);
	json_decref(c);
}

TEST(virtee_milan_bin_and_hex)
{
	size_t hn, bn, dn;
	uint8_t *hex = td_read("snp/virtee-sev/report_milan.hex", &hn);
	uint8_t *bin = td_read("snp/virtee-sev/report_milan.DERIVED.bin", &bn);
	uint8_t dec[SNP_REPORT_SIZE];
	veil_checks checks;

	REQUIRE(hn == 2 * SNP_REPORT_SIZE);
	EXPECT_OK(veil_hex_decode((const char *)hex, hn, dec, sizeof dec, &dn));
	EXPECT(dn == bn && memcmp(dec, bin, bn) == 0);
	EXPECT_OK(snp_test_verify_buf(dec, dn, snp_test_coll("snp/virtee-sev/vcek_milan.der", NULL),
				      "2024-06-01T00:00:00Z", "Milan", NULL, &checks, NULL));
	json_t *c = expect_valid("snp/virtee-sev/report_milan.DERIVED.bin",
				 "snp/virtee-sev/vcek_milan.der", "2024-06-01T00:00:00Z");
	EXPECT(strcmp(cstr(c, "policy"), "0x0000000000030000") == 0);
	EXPECT(json_is_false(json_object_get(c, "debug")));
	EXPECT(strcmp(cstr(c, "reported_tcb"), "0x7308000000000003") == 0);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "microcode") == 115);
	EXPECT(strcmp(cstr(c, "current_fw"), "1.52.4") == 0);
	json_decref(c);
	free(hex);
	free(bin);
}

TEST(trustee_milan_reported_not_current)
{
	json_t *c = expect_valid("snp/trustee/test-report.bin", "snp/trustee/test-vcek.der",
				 "2024-01-01T00:00:00Z");
	EXPECT(strcmp(cstr(c, "policy"), "0x000000000003001f") == 0);
	EXPECT(strcmp(cstr(c, "current_tcb"), "0xce08000000000003") == 0);
	EXPECT(tcb_part(c, "current_tcb_decoded", "microcode") == 206);
	EXPECT(strcmp(cstr(c, "reported_tcb"), "0x7308000000000003") == 0);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "microcode") == 115);
	json_decref(c);
}

TEST(trustee_vlek_milan_v3)
{
	json_t *c = expect_valid("snp/trustee/test-vlek-report.bin", "snp/trustee/test-vlek.der",
				 "2025-06-01T00:00:00Z");
	EXPECT(strcmp(cstr(c, "signing_key"), "vlek") == 0);
	EXPECT(cint(c, "vmpl") == 1);
	EXPECT(cint(c, "version") == 3);
	EXPECT(cint(c, "cpuid_fam") == 0x19 && cint(c, "cpuid_mod") == 1 &&
	       cint(c, "cpuid_step") == 1);
	EXPECT(strcmp(cstr(c, "platform_info"), "0x0000000000000027") == 0);
	EXPECT(json_is_true(json_object_get(c, "smt_enabled")));
	EXPECT(json_is_true(json_object_get(c, "tsme_enabled")));
	EXPECT(strcmp(cstr(c, "reported_tcb"), "0xd918000000000004") == 0);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "snp") == 24);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "microcode") == 217);
	EXPECT(strcmp(cstr(c, "current_fw"), "1.55.29") == 0);
	EXPECT(strspn(cstr(c, "chip_id"), "0") == 128);
	EXPECT(strcmp(cstr(c, "product"), "Milan") == 0);
	json_decref(c);
}

TEST(trustee_e2e_genoa_v3)
{
	json_t *c = expect_valid("snp/trustee/e2e-report-genoa-v3.DERIVED.bin",
				 "snp/trustee/e2e-vcek-genoa.DERIVED.der", "2026-01-01T00:00:00Z");
	EXPECT(cint(c, "cpuid_mod") == 0xA0 && cint(c, "cpuid_step") == 2);
	EXPECT(strcmp(cstr(c, "product"), "Genoa") == 0);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "bootloader") == 10);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "snp") == 23);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "microcode") == 25);
	EXPECT(strcmp(cstr(c, "current_fw"), "1.55.40") == 0);
	json_decref(c);
}

TEST(azure_milan_and_genoa)
{
	json_t *c = expect_valid("snp/trustee/az-snp-vtpm-report-milan-v2.DERIVED.bin",
				 "snp/trustee/az-snp-vtpm-vcek.pem", "2024-01-01T00:00:00Z");
	EXPECT(strcmp(cstr(c, "policy"), "0x000000000003001f") == 0);
	EXPECT(tcb_part(c, "current_tcb_decoded", "microcode") == 210);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "microcode") == 115);
	json_decref(c);
	c = expect_valid("snp/trustee/az-snp-vtpm-report-genoa-v3.DERIVED.bin",
			 "snp/trustee/az-snp-vtpm-vcek-genoa.pem", "2026-01-01T00:00:00Z");
	EXPECT(strcmp(cstr(c, "product"), "Genoa") == 0);
	EXPECT(cint(c, "cpuid_mod") == 0x11);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "microcode") == 84);
	json_decref(c);
}

TEST(azure_hcl_report)
{
	veil_checks checks;
	json_t *c = expect_valid("snp/trustee/az-snp-vtpm-hcl-report.bin",
				 "snp/trustee/az-snp-vtpm-vcek.pem", "2024-01-01T00:00:00Z");
	EXPECT(json_is_true(json_object_get(c, "azure_hcl")));
	EXPECT(strncmp(cstr(c, "report_data") + 64, "0000000000000000", 16) == 0);
	json_decref(c);
	EXPECT_OK(snp_test_verify("snp/trustee/az-snp-vtpm-hcl-report.bin",
				  "snp/trustee/az-snp-vtpm-vcek.pem", "2024-01-01T00:00:00Z", NULL,
				  &checks));
	EXPECT(snp_check_passed(&checks, "hcl.runtime_data"));
}

TEST(tinfoil_turin_v5)
{
	veil_checks checks;
	json_t *c =
	    expect_valid("snp/tinfoil-go-AGPL/box2_turin_report.DERIVED.bin",
			 "snp/tinfoil-go-AGPL/box2_turin_vcek.DERIVED.der", "2027-01-01T00:00:00Z");
	EXPECT(cint(c, "version") == 5);
	EXPECT(strcmp(cstr(c, "product"), "Turin") == 0);
	EXPECT(cint(c, "cpuid_fam") == 0x1A && cint(c, "cpuid_mod") == 2);
	EXPECT(strcmp(cstr(c, "reported_tcb"), "0x5200000004010101") == 0);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "fmc") == 1);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "bootloader") == 1);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "tee") == 1);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "snp") == 4);
	EXPECT(tcb_part(c, "reported_tcb_decoded", "microcode") == 82);
	EXPECT(strcmp(cstr(c, "launch_mit_vector"), "0x000000000000003f") == 0);
	EXPECT(strcmp(cstr(c, "platform_info"), "0x0000000000000064") == 0);
	EXPECT(strncmp(cstr(c, "chip_id"), "6bb1229b7692b710", 16) == 0);
	EXPECT(strcmp(cstr(c, "current_fw"), "1.58.0") == 0);
	json_decref(c);
	/* The Turin VCEK is valid from 2026-08-17 only. */
	EXPECT_ERR(snp_test_verify("snp/tinfoil-go-AGPL/box2_turin_report.DERIVED.bin",
				   "snp/tinfoil-go-AGPL/box2_turin_vcek.DERIVED.der",
				   "2026-08-01T00:00:00Z", NULL, &checks),
		   VEIL_E_VERIFY);
	EXPECT(snp_check_failed(&checks, "vek.chain"));
	EXPECT(snp_check_passed(&checks, "report.signature"));
}

TEST(virtee_turin_vcek_chains_to_turin)
{
	X509 *v = snp_test_cert("snp/virtee-sev/vcek_turin.der");
	struct snp_vek_ext e;
	static const uint8_t hwid[8] = {0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d};

	REQUIRE(v != NULL);
	EXPECT_OK(snp_vek_ext_parse(v, &e));
	EXPECT(!e.is_vlek && e.struct_version == 1);
	EXPECT(strcmp(e.product_name, "Turin") == 0);
	EXPECT(e.hwid_len == 8 && memcmp(e.hwid, hwid, 8) == 0);
	EXPECT(e.has_fmc && e.fmc == 0 && e.ucode == 9);
	EXPECT_OK(snp_chain_verify(v, false, SNP_PRODUCT_TURIN, NULL, td_time("2025-01-01"), NULL));
	EXPECT_ERR(snp_chain_verify(v, false, SNP_PRODUCT_GENOA, NULL, td_time("2025-01-01"), NULL),
		   VEIL_E_VERIFY);
	EXPECT(snp_chain_verify(v, false, SNP_PRODUCT_TURIN, NULL, td_time("2032-01-01"), NULL) !=
	       VEIL_OK);
	X509_free(v);
}

TEST(builtin_roots_load)
{
	X509 *ark, *ask, *asvk;
	char cn[64];

	for (int p = SNP_PRODUCT_MILAN; p < SNP_PRODUCT_COUNT_; p++) {
		EXPECT_OK(snp_roots_get((enum snp_product)p, &ark, &ask, &asvk));
		EXPECT(strncmp(veil_cert_cn(ark, cn, sizeof cn), "ARK-", 4) == 0);
		EXPECT(strncmp(veil_cert_cn(asvk, cn, sizeof cn), "SEV-VLEK-", 9) == 0);
		EXPECT(strncmp(veil_cert_cn(ask, cn, sizeof cn), "SEV-", 4) == 0);
	}
	EXPECT_ERR(snp_roots_get(SNP_PRODUCT_UNKNOWN, &ark, &ask, &asvk), VEIL_E_NOT_FOUND);
}

TEST(detect)
{
	size_t n;
	uint8_t *p;
	uint8_t fake[SNP_REPORT_SIZE] = {0x04, 0x00, 0x02, 0x00, 0x81, 0x00, 0x00, 0x00};

	p = td_read("snp/go-sev-guest/attestation.bin", &n);
	EXPECT(veil_snp_format.detect(p, n));
	EXPECT(veil_evidence_detect(p, n) == &veil_snp_format);
	EXPECT(!veil_snp_format.detect(p, n - 1));
	free(p);
	p = td_read("snp/trustee/az-snp-vtpm-hcl-report.bin", &n);
	EXPECT(veil_snp_format.detect(p, n));
	free(p);
	p = td_read("snp/tinfoil-go-AGPL/box2_turin_report.DERIVED.bin", &n);
	EXPECT(veil_snp_format.detect(p, n));
	free(p);
	EXPECT(!veil_snp_format.detect(fake, sizeof fake));
	fake[0] = 5;
	EXPECT(!veil_snp_format.detect(fake, sizeof fake));
	p = td_read("tdx/trustee/tdx_quote_4.dat", &n);
	EXPECT(!veil_snp_format.detect(p, n));
	free(p);
	p = td_read("tdx/go-tdx-guest/quote_v5_sample.dat", &n);
	EXPECT(!veil_snp_format.detect(p, n));
	free(p);
	EXPECT(!veil_snp_format.detect(NULL, 0));
}

TEST(report_data_accessor)
{
	size_t n;
	uint8_t *p = td_read("snp/go-sev-guest/attestation.bin", &n);
	void *ev = NULL;
	const uint8_t *rd;
	size_t rd_len;

	REQUIRE(veil_snp_format.parse(p, n, &ev) == VEIL_OK);
	veil_snp_format.report_data(ev, &rd, &rd_len);
	EXPECT(rd_len == 64 && rd[0] == 1 && rd[4] == 5 && rd[5] == 0);
	EXPECT(rd == (const uint8_t *)ev + offsetof(struct snp_evidence, report) +
			 offsetof(struct snp_report, report_data));
	veil_snp_format.free(ev);
	free(p);
}

int main(void)
{
	RUN(go_sev_guest_milan_debug);
	RUN(virtee_milan_bin_and_hex);
	RUN(trustee_milan_reported_not_current);
	RUN(trustee_vlek_milan_v3);
	RUN(trustee_e2e_genoa_v3);
	RUN(azure_milan_and_genoa);
	RUN(azure_hcl_report);
	RUN(tinfoil_turin_v5);
	RUN(virtee_turin_vcek_chains_to_turin);
	RUN(builtin_roots_load);
	RUN(detect);
	RUN(report_data_accessor);
	return harness_finish("test_snp");
}

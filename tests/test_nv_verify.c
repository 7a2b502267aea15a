/*
 * test_nv_verify.c - verifying NVIDIA GPU reports: the offline end-to-end
 * vector, every corpus report with its expected verdict, and derived
 * negatives (flipped report, nonce, signature and FWID bits; wrong and
 * tampered RIMs; broken chains; wrong time; revocation policy; the cache).
 */
#include "test_nv_util.h"

static const char *const coll_545[] = {NV_C545, NV_DRV545, NV_VB545, NULL};

TEST(e2e_545_offline_vector)
{
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R545, &n);
	json_t *claims = json_object();

	nv_test_coll(&coll, coll_545);
	EXPECT_OK(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				     NV_N545, NULL, &checks, claims));
	EXPECT(veil_checks_passed(&checks));
	EXPECT(nv_check_ok(&checks, "gpu.chain") && nv_check_ok(&checks, "report.signature"));
	EXPECT(nv_check_ok(&checks, "driver_rim.measurements"));
	EXPECT(nv_check_ok(&checks, "vbios_rim.measurements"));
	EXPECT(nv_check_ok(&checks, "rims.no_conflict") && nv_check_ok(&checks, "report_data"));
	EXPECT(json_is_true(json_object_get(claims, "measurements_match")));
	EXPECT(strcmp(json_string_value(json_object_get(claims, "arch")), "Hopper") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(claims, "driver_version")), "545.00") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(claims, "vbios_version")),
		      "96.00.5E.00.01") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(claims, "hwmodel")),
		      "GH100 A01 GSP BROM") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(claims, "fwid_match")), "not_present") ==
	       0);
	EXPECT(strcmp(json_string_value(json_object_get(claims, "revocation_policy")),
		      "allow-unknown") == 0);
	json_t *idx = json_object_get(claims, "measurement_results");
	/* RIM index 35 is SPDM block 36, skipped with NVDEC0 0x55. */
	EXPECT(strcmp(json_string_value(json_object_get(idx, "36")), "skipped") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(idx, "8")), "match") == 0);
	EXPECT(json_object_get(idx, "9") != NULL && json_object_get(idx, "15") == NULL);
	json_decref(claims);
	veil_collateral_clear(&coll);
	free(p);
}

TEST(e2e_545_fails_closed_on_unknown_revocation)
{
	static const char *const want[] = {"gpu.revocation", "driver_rim.revocation",
					   "vbios_rim.revocation", NULL};
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R545, &n);
	json_t *claims = json_object();

	nv_test_coll(&coll, coll_545);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_REQUIRE, NV_N545,
				      NULL, &checks, claims),
		   VEIL_E_VERIFY);
	EXPECT(nv_failed_exactly(&checks, want));
	EXPECT(strcmp(json_string_value(json_object_get(json_object_get(claims, "ocsp"), "gpu")),
		      "unknown") == 0);
	json_decref(claims);
	veil_collateral_clear(&coll);
	free(p);
}

TEST(e2e_545_now_rim_signer_expired)
{
	static const char *const want[] = {"driver_rim.chain", "vbios_rim.chain", NULL};
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R545, &n);

	nv_test_coll(&coll, coll_545);
	/* The L4 RIM signers were valid 2023-06-27 to 2025-06-26. */
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, "2026-11-21T00:00:00Z",
				      VEIL_REVOCATION_ALLOW_UNKNOWN, NV_N545, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_failed_exactly(&checks, want));
	EXPECT(strstr(veil_checks_find(&checks, "driver_rim.chain")->detail, "expired") != NULL);
	veil_collateral_clear(&coll);
	free(p);
}

TEST(wrong_nonce)
{
	static const char *const want[] = {"report_data", NULL};
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R545, &n);
	char nonce[] = NV_N545;

	nonce[63] = nonce[63] == '0' ? '1' : '0';
	nv_test_coll(&coll, coll_545);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN, nonce,
				      NULL, &checks, NULL),
		   VEIL_E_MISMATCH);
	EXPECT(nv_failed_exactly(&checks, want));
	veil_collateral_clear(&coll);
	free(p);
}

/* Offsets in the 545.00 report: request 37 bytes, response header 8, then
 * blocks of 4 + 3 + 48 bytes; the signature is the last 96 bytes. */
#define OFF_NONCE    4
#define OFF_BLOCK(i) (37 + 8 + ((i)-1) * 55 + 7)

TEST(flipped_bits)
{
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R545, &n);
	static const char *const meas[] = {"report.signature", "vbios_rim.measurements", NULL};
	static const char *const sig[] = {"report.signature", NULL};
	static const char *const nonce[] = {"report.signature", "report_data", NULL};

	nv_test_coll(&coll, coll_545);
	/* A golden measurement (block 8 = driver RIM index 7): the signature
	 * and the comparison both notice. */
	p[OFF_BLOCK(8)] ^= 0x01;
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "report.signature"));
	EXPECT(nv_check_failed(&checks, "driver_rim.measurements"));
	EXPECT(strstr(veil_checks_find(&checks, "driver_rim.measurements")->detail, "index 7") !=
	       NULL);
	p[OFF_BLOCK(8)] ^= 0x01;
	/* A VBIOS block (block 2 = VBIOS RIM index 1). */
	p[OFF_BLOCK(2) + 47] ^= 0x80;
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_failed_exactly(&checks, meas));
	p[OFF_BLOCK(2) + 47] ^= 0x80;
	/* The signature, first and last byte. */
	p[n - 96] ^= 0x01;
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_failed_exactly(&checks, sig));
	p[n - 96] ^= 0x01;
	p[n - 1] ^= 0x01;
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_failed_exactly(&checks, sig));
	p[n - 1] ^= 0x01;
	/* The nonce: signed, and compared. */
	p[OFF_NONCE + 5] ^= 0x10;
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_failed_exactly(&checks, nonce));
	p[OFF_NONCE + 5] ^= 0x10;
	/* Restored: genuine again. */
	EXPECT_OK(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				     NV_N545, NULL, &checks, NULL));
	veil_collateral_clear(&coll);
	free(p);
}

#define NV_R550 "nvidia/hopper/h100_drv550.90.07_vb96.00.9F.00.01_report.hex"
#define NV_C550 "nvidia/hopper/h100_drv550.90.07_certchain.pem"
#define NV_N931 "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"

/* The report verifies but its RIMs are not in the corpus: fail closed. */
TEST(report_550_without_rims)
{
	static const char *const want[] = {"driver_rim", "vbios_rim", NULL};
	static const char *const files[] = {NV_C550, "nvidia/rims/", NULL};
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R550, &n);
	json_t *claims = json_object();

	nv_test_coll(&coll, files);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N931, NULL, &checks, claims),
		   VEIL_E_VERIFY);
	EXPECT(nv_failed_exactly(&checks, want));
	EXPECT(nv_check_ok(&checks, "gpu.fwid"));
	EXPECT(strstr(veil_checks_find(&checks, "driver_rim")->detail, "550.90.07") != NULL);
	/* NVIDIA's own token for this report names the same device. */
	EXPECT(strcmp(json_string_value(json_object_get(claims, "ueid")),
		      "478176379286082186618948445787393647364802107249") == 0);
	EXPECT(json_is_true(json_object_get(claims, "fwid_match")));
	EXPECT(json_is_true(json_object_get(claims, "protected_pcie")) == false);
	/* A flipped FWID byte: the report's field no longer matches the leaf
	 * (and the signature breaks). */
	const uint8_t fwid_prefix[] = {0xf5, 0xc3, 0x84, 0xae};
	uint8_t *f = memmem(p, n, fwid_prefix, sizeof fwid_prefix);
	REQUIRE(f != NULL);
	f[10] ^= 0x04;
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N931, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "report.signature"));
	/* With one chain only, it is used, and its FWID differs. */
	EXPECT(nv_check_failed(&checks, "gpu.fwid"));
	json_decref(claims);
	veil_collateral_clear(&coll);
	free(p);
}

TEST(broken_chains)
{
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R550, &n);
	static const char *const ica[] = {
	    "nvidia/hopper/h100_drv550.90.07_certchain_MISSING_ICA.pem", NULL};
	static const char *const leaf[] = {
	    "nvidia/hopper/h100_drv550.90.07_certchain_MISSING_LEAF.pem", NULL};
	static const char *const none[] = {NULL};

	nv_test_coll(&coll, ica);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N931, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "gpu.chain"));
	veil_collateral_clear(&coll);

	nv_test_coll(&coll, leaf);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N931, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "gpu.fwid"));
	EXPECT(strstr(veil_checks_find(&checks, "gpu.fwid")->detail, "no FWID extension") != NULL);
	EXPECT(nv_check_failed(&checks, "report.signature"));
	veil_collateral_clear(&coll);

	nv_test_coll(&coll, none);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N931, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "gpu.chain"));
	EXPECT(strstr(veil_checks_find(&checks, "gpu.chain")->detail, "--certs") != NULL);
	EXPECT(nv_check_failed(&checks, "report.signature"));
	veil_collateral_clear(&coll);
	free(p);
}

TEST(bad_signature_report)
{
	static const char *const files[] = {"nvidia/hopper/h100_drv570.124.03_certchain.pem", NULL};
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report("nvidia/hopper/h100_drv560.00_ppcie_BADSIG_report.hex", &n);

	nv_test_coll(&coll, files);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N931, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_ok(&checks, "gpu.chain"));
	EXPECT(nv_check_failed(&checks, "report.signature"));
	EXPECT(nv_check_ok(&checks, "report_data"));
	veil_collateral_clear(&coll);
	free(p);
}

/* Every report with its own chain: chain, signature, FWID and nonce hold. */
TEST(corpus_reports_are_genuine)
{
	static const struct {
		const char *report, *chain, *nonce;
	} cases[] = {
	    {NV_R545, NV_C545, NV_N545},
	    {NV_R550, NV_C550, NV_N931},
	    {"nvidia/hopper/h100_drv580.159.03_vb96.00.74.00.20_report.hex",
	     "nvidia/hopper/h100_drv580.159.03_certchain.pem",
	     "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca"},
	    {"nvidia/hopper/h100_drv535.86.09_vb96.00.5E.00.01_report.hex",
	     "nvidia/hopper/h100_drv535.86.09_certchain.pem",
	     "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66"},
	    {"nvidia/hopper/h100_drv570.124.03_vb96.00.5E.00.04_report.hex",
	     "nvidia/hopper/h100_drv570.124.03_certchain.pem", NV_N931},
	    {"nvidia/hopper/h100_drv580.95.05_trailing00_report.hex",
	     "nvidia/hopper/h100_drv580.95.05_certchain.pem",
	     "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec"},
	    {"nvidia/blackwell/gb100_drv575.32_vb97.00.88.00.0F_report.hex",
	     "nvidia/blackwell/gb100_drv575.32_certchain.pem", NV_N931},
	    {"nvidia/blackwell/gb202_rtxpro6000_drv595.58.03_vb98.02.81.00.01_report.hex",
	     "nvidia/blackwell/gb202_rtxpro6000_drv595.58.03_certchain.pem", NV_N545},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *files[] = {cases[i].chain, NULL};
		veil_collateral coll;
		veil_checks checks;
		size_t n;
		uint8_t *p = nv_test_report(cases[i].report, &n);

		nv_test_coll(&coll, files);
		(void)nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
					 cases[i].nonce, NULL, &checks, NULL);
		if (!nv_check_ok(&checks, "gpu.chain") ||
		    !nv_check_ok(&checks, "report.signature") ||
		    !nv_check_ok(&checks, "gpu.fwid") || !nv_check_ok(&checks, "report_data"))
			fprintf(stderr, "  case %s\n", cases[i].report);
		EXPECT(nv_check_ok(&checks, "gpu.chain"));
		EXPECT(nv_check_ok(&checks, "report.signature"));
		EXPECT(nv_check_ok(&checks, "gpu.fwid"));
		EXPECT(nv_check_ok(&checks, "report_data"));
		/* No RIMs given: never a pass. */
		EXPECT(nv_check_failed(&checks, "driver_rim"));
		veil_collateral_clear(&coll);
		free(p);
	}
}

#define NV_R535 "nvidia/hopper/h100_drv535.86.09_vb96.00.5E.00.01_report.hex"
#define NV_C535 "nvidia/hopper/h100_drv535.86.09_certchain.pem"
#define NV_N535 "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66"

/* The 535.86.09 report with NVIDIA's own negative RIMs. */
TEST(rims_535_negative)
{
	static const char *const files[] = {
	    NV_C535, "nvidia/rims/negative/NV_GPU_DRIVER_GH100_535.86.09_MISMATCH_TAMPERED.xml",
	    "nvidia/rims/vbios/NV_GPU_VBIOS_1010_0200_882_96005E0001_REISSUE_2023-12.xml", NULL};
	static const char *const prod[] = {
	    NV_C535, "nvidia/rims/vbios/NV_GPU_VBIOS_1010_0200_882_96005E0001_REISSUE_2023-12.xml",
	    "nvidia/rims/vbios/NV_GPU_VBIOS_1010_0200_882_96005E0001_PROD.swidtag", NULL};
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R535, &n);

	nv_test_coll(&coll, files);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N535, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "driver_rim.signature"));
	EXPECT(nv_check_failed(&checks, "driver_rim.measurements"));
	EXPECT(strstr(veil_checks_find(&checks, "driver_rim.measurements")->detail, "15 of") !=
	       NULL);
	/* The re-issued VBIOS RIM differs at index 9 only. */
	EXPECT(nv_check_ok(&checks, "vbios_rim.signature"));
	EXPECT(nv_check_failed(&checks, "vbios_rim.measurements"));
	EXPECT(strstr(veil_checks_find(&checks, "vbios_rim.measurements")->detail, "index 9") !=
	       NULL);
	veil_collateral_clear(&coll);

	/* With the production RIM beside the re-issue, the matching one is
	 * used (both genuine). */
	nv_test_coll(&coll, prod);
	(void)nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN, NV_N535,
				 NULL, &checks, NULL);
	EXPECT(nv_check_ok(&checks, "vbios_rim.measurements"));
	EXPECT(strstr(veil_checks_find(&checks, "vbios_rim")->detail, "_PROD") != NULL);
	EXPECT(strstr(veil_checks_find(&checks, "vbios_rim")->detail, "2 candidates") != NULL);
	EXPECT(nv_check_failed(&checks, "driver_rim"));
	veil_collateral_clear(&coll);
	free(p);
}

/* A RIM of another version is not taken for the report's. */
TEST(rim_of_another_version)
{
	static const char *const files[] = {
	    NV_C545, "nvidia/rims/driver/NV_GPU_DRIVER_GH100_550.144.03.xml",
	    "nvidia/rims/vbios/NV_GPU_VBIOS_1010_0200_882_96005E0003_PROD.swidtag", NULL};
	static const char *const want[] = {"driver_rim", "vbios_rim", NULL};
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R545, &n);

	nv_test_coll(&coll, files);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_failed_exactly(&checks, want));
	veil_collateral_clear(&coll);
	free(p);
}

/* A RIM relabelled to the report's version: its signature breaks. */
TEST(rim_relabelled)
{
	veil_collateral coll;
	veil_checks checks;
	size_t n, rn;
	uint8_t *p = nv_test_report(NV_R545, &n);
	uint8_t *rim =
	    td_read("nvidia/rims/vbios/NV_GPU_VBIOS_1010_0200_882_96005E0003_PROD.swidtag", &rn);
	static const char *const files[] = {NV_C545, NV_DRV545, NULL};
	char *v = memmem(rim, rn, "colloquialVersion=\"96.00.5E.00.03\"", 34);

	REQUIRE(v != NULL);
	v[32] = '1';
	nv_test_coll(&coll, files);
	REQUIRE(veil_collateral_add(&coll, rim, rn, "relabelled") == VEIL_OK);
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_ok(&checks, "vbios_rim"));
	EXPECT(nv_check_failed(&checks, "vbios_rim.signature"));
	veil_collateral_clear(&coll);
	free(rim);
	free(p);
}

/* A malformed file that looks like a RIM fails the whole verification. */
TEST(unreadable_rim_fails_closed)
{
	veil_collateral coll;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R545, &n);
	static const char bad[] = "<SoftwareIdentity><Meta";

	nv_test_coll(&coll, coll_545);
	REQUIRE(veil_collateral_add(&coll, (const uint8_t *)bad, sizeof bad - 1, "bad.xml") ==
		VEIL_OK);
	EXPECT(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN, NV_N545,
				  NULL, &checks, NULL) != VEIL_OK);
	EXPECT(nv_check_failed(&checks, "collateral"));
	EXPECT(strstr(veil_checks_find(&checks, "collateral")->detail, "bad.xml") != NULL);
	veil_collateral_clear(&coll);
	free(p);
}

TEST(cache_agrees_with_cold_path)
{
	veil_verifier *v = NULL;
	veil_collateral coll, other;
	veil_checks checks;
	size_t n;
	uint8_t *p = nv_test_report(NV_R545, &n);
	static const char *const drv_only[] = {NV_C545, NV_DRV545, NULL};

	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	nv_test_coll(&coll, coll_545);
	for (int i = 0; i < 3; i++)
		EXPECT_OK(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
					     NV_N545, v, &checks, NULL));
	/* Warm, but at a time outside the RIM signers' window. */
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, "2026-11-21T00:00:00Z",
				      VEIL_REVOCATION_ALLOW_UNKNOWN, NV_N545, v, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "driver_rim.chain"));
	/* And back inside. */
	EXPECT_OK(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				     NV_N545, v, &checks, NULL));
	/* Warm, tampered: the signature is checked every time. */
	p[OFF_BLOCK(30)] ^= 1;
	EXPECT_ERR(nv_test_verify_buf(p, n, &coll, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, v, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "report.signature"));
	p[OFF_BLOCK(30)] ^= 1;
	/* Other collateral (no VBIOS RIM): never served from the old cache. */
	nv_test_coll(&other, drv_only);
	EXPECT_ERR(nv_test_verify_buf(p, n, &other, NV_AT_2025, VEIL_REVOCATION_ALLOW_UNKNOWN,
				      NV_N545, v, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(nv_check_failed(&checks, "vbios_rim"));
	veil_collateral_clear(&other);
	veil_collateral_clear(&coll);
	veil_verifier_free(v);
	free(p);
}

int main(void)
{
	RUN(e2e_545_offline_vector);
	RUN(e2e_545_fails_closed_on_unknown_revocation);
	RUN(e2e_545_now_rim_signer_expired);
	RUN(wrong_nonce);
	RUN(flipped_bits);
	RUN(report_550_without_rims);
	RUN(broken_chains);
	RUN(bad_signature_report);
	RUN(corpus_reports_are_genuine);
	RUN(rims_535_negative);
	RUN(rim_of_another_version);
	RUN(rim_relabelled);
	RUN(unreadable_rim_fails_closed);
	RUN(cache_agrees_with_cold_path);
	return harness_finish("test_nv_verify");
}

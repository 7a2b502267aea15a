/*
 * test_tdx_verify.c - the TDX quote verifier: signatures, the PCK chain,
 * the verifier cache and the verdicts with Intel collateral, on the real
 * quotes in testdata/tdx (outcomes from its SOURCES.md) and on quotes broken
 * on purpose. Parsing is tested in test_tdx_quote.c.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_quote.h"
#include "harness.h"
#include "test_tdx_util.h"
#include "veil/collateral.h"
#include "veil/evidence.h"

/* Parses and verifies buf at `at`; checks gets the record. */
static veil_err verify_full(const uint8_t *buf, size_t len, const char *at,
			    const veil_collateral *col, veil_verifier *v, veil_checks *checks,
			    tdx_quote **q_out)
{
	veil_verify_ctx ctx = {.at = td_time(at), .collateral = col, .verifier = v};
	void *ev = NULL;
	veil_err err;

	veil_checks_init(checks);
	veil_err_clear();
	err = veil_evidence_verify(&veil_tdx_format, buf, len, &ctx, NULL, 0, checks,
				   q_out != NULL ? &ev : NULL);
	if (q_out != NULL)
		*q_out = ev;
	return err;
}

static veil_err verify_at(const uint8_t *buf, size_t len, const char *at, veil_checks *checks)
{
	return verify_full(buf, len, at, NULL, NULL, checks, NULL);
}

static bool check_failed(const veil_checks *c, const char *name)
{
	const veil_check *k = veil_checks_find(c, name);
	return k != NULL && !k->ok;
}

static bool check_detail_has(const veil_checks *c, const char *name, const char *needle)
{
	const veil_check *k = veil_checks_find(c, name);
	return k != NULL && strstr(k->detail, needle) != NULL;
}

/* --- verification without collateral --------------------------------------- */

TEST(real_quotes_verify_without_collateral)
{
	for (size_t i = 0; i < REAL_COUNT; i++) {
		size_t len;
		uint8_t *buf = td_read(real_quotes[i].path, &len);
		veil_checks checks;
		tdx_quote *q = NULL;

		EXPECT_OK(verify_full(buf, len, real_quotes[i].at, NULL, NULL, &checks, &q));
		if (!veil_checks_passed(&checks))
			fprintf(stderr, "    %s: %s\n", real_quotes[i].path,
				veil_checks_first_failure(&checks)->detail);
		EXPECT(check_detail_has(&checks, "tcb.status", "no TCB Info supplied"));
		EXPECT(check_detail_has(&checks, "pck.chain", "revocation unchecked"));
		char want[64];
		snprintf(want, sizeof want, "%zu trailing bytes", real_quotes[i].trailing);
		EXPECT(check_detail_has(&checks, "quote.parse", want));
		json_t *c = q != NULL ? claims_of(q) : NULL;
		EXPECT(c != NULL && strcmp(claim_str(c, "tcb_status"), "Unknown") == 0 &&
		       strcmp(claim_str(c, "revocation"), "unchecked") == 0);
		json_decref(c);
		tdx_quote_free(q);
		free(buf);
	}
}

TEST(pck_validity_is_enforced)
{
	size_t len;
	uint8_t *buf = td_read(SPR_E4, &len);
	veil_checks checks;

	EXPECT_ERR(verify_at(buf, len, "2053-07-01T01:00:00Z", &checks), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	/* Before the PCK leaf was issued (2022-09-20). */
	EXPECT_ERR(verify_at(buf, len, "2022-01-01T00:00:00Z", &checks), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	/* The other signatures are still checked and reported. */
	EXPECT(!check_failed(&checks, "quote.signature"));
	EXPECT(!check_failed(&checks, "qe_report.signature"));
	free(buf);
}

TEST(synthetic_root_quote_fails_cleanly)
{
	size_t len;
	uint8_t *buf = td_read(DCAP_SYN, &len);
	veil_checks checks;

	EXPECT_ERR(verify_at(buf, len, "2023-01-01T00:00:00Z", &checks), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	EXPECT(check_detail_has(&checks, "pck.chain", "PEM"));
	/* The same quote with its chain as PEM and its own (test) root:
	 * refused because that root is not the pinned one. */
	tdx_quote *q = parse_file(DCAP_SYN);
	size_t n1, n2;
	uint8_t *leaf = td_read("tdx/dcap-qvl-sample/pckCert.pem", &n1);
	uint8_t *chain = td_read("tdx/dcap-qvl-sample/pckSignChain.pem", &n2);
	REQUIRE(q != NULL);
	uint8_t *pem = malloc(n1 + n2);
	memcpy(pem, leaf, n1);
	memcpy(pem + n1, chain, n2);
	quote_parts p;
	parts_of(q, &p);
	p.pem = pem;
	p.pem_len = n1 + n2;
	uint8_t *re = parts_build(&p, &len);
	EXPECT_ERR(verify_at(re, len, "2023-01-01T00:00:00Z", &checks), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	EXPECT(check_detail_has(&checks, "pck.chain", "not the pinned"));
	/* No trusted PCK key, so no QE report signature; the rest is fine. */
	EXPECT(check_failed(&checks, "qe_report.signature"));
	EXPECT(!check_failed(&checks, "qe_report.binding"));
	EXPECT(!check_failed(&checks, "quote.signature"));
	free(re);
	free(pem);
	free(leaf);
	free(chain);
	tdx_quote_free(q);
	free(buf);
}

/* Flips one bit at off; the quote must then fail and the named check with it. */
static void flip_expect(const char *path, const char *at, size_t off, const char *check)
{
	size_t len;
	uint8_t *buf = td_read(path, &len);
	veil_checks checks;

	buf[off] ^= 0x01;
	veil_err err = verify_at(buf, len, at, &checks);
	if (err == VEIL_OK || (check != NULL && !check_failed(&checks, check))) {
		fprintf(stderr, "    flip at %zu: err %s, want check %s to fail\n", off,
			veil_err_str(err), check != NULL ? check : "any");
		harness_fail(__FILE__, __LINE__, "bit flip not detected");
	}
	free(buf);
}

TEST(bit_flips_in_each_signed_part_fail)
{
	const size_t sd = 632 + 4; /* signature data of the v4 SPR_E4 quote */

	flip_expect(SPR_E4, SPR_TIME, 8, "quote.signature");                  /* header reserved */
	flip_expect(SPR_E4, SPR_TIME, 30, "quote.signature");                 /* header user data */
	flip_expect(SPR_E4, SPR_TIME, 48, "quote.signature");                 /* TEE_TCB_SVN */
	flip_expect(SPR_E4, SPR_TIME, 600, "quote.signature");                /* REPORTDATA */
	flip_expect(SPR_E4, SPR_TIME, sd + 5, "quote.signature");             /* r */
	flip_expect(SPR_E4, SPR_TIME, sd + 40, "quote.signature");            /* s */
	flip_expect(SPR_E4, SPR_TIME, sd + 64 + 31, "quote.signature");       /* attestation key */
	flip_expect(SPR_E4, SPR_TIME, sd + 134 + 100, "qe_report.signature"); /* QE report */
	flip_expect(SPR_E4, SPR_TIME, sd + 134 + 330, "qe_report.binding");   /* its REPORTDATA */
	flip_expect(SPR_E4, SPR_TIME, sd + 134 + 384 + 3, "qe_report.signature");   /* QE sig */
	flip_expect(SPR_E4, SPR_TIME, sd + 134 + 448 + 2 + 7, "qe_report.binding"); /* auth */
	/* The PCK leaf's signature, as base64 near the end of the first PEM
	 * block (the QE report signature breaks if its key changes). */
	flip_expect(SPR_E4, SPR_TIME, sd + 134 + 448 + 2 + 32 + 6 + 1150, NULL);
	/* v5: the body descriptor and the TDX 1.5 fields are signed too. */
	flip_expect(V5_SAMPLE, "2026-02-03T01:00:00Z", 48 + 6 + 2, "quote.signature");
	flip_expect(V5_SAMPLE, "2026-02-03T01:00:00Z", 54 + 600, "quote.signature");
	flip_expect(V5_SAMPLE, "2026-02-03T01:00:00Z", 54 + 640, "quote.signature");
}

TEST(bit_flips_anywhere_fail_but_trailing_bytes_do_not_matter)
{
	size_t len;
	uint8_t *buf = td_read(TRUSTEE6, &len);
	veil_checks checks;
	size_t quote_len = len - 70, missed = 0;
	veil_verifier *v = NULL;

	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	for (size_t off = 0; off < quote_len; off += 13) {
		buf[off] ^= 0x10;
		if (verify_full(buf, len, "2025-11-01T00:00:00Z", NULL, v, &checks, NULL) ==
		    VEIL_OK) {
			/* Only a PEM byte between blocks could be harmless. */
			if (off < 632 + 4 + 134 + 448 + 2 + 32 + 6) {
				fprintf(stderr, "    undetected flip at %zu\n", off);
				missed++;
			}
		}
		buf[off] ^= 0x10;
	}
	EXPECT(missed == 0);
	for (size_t off = quote_len; off < len; off++)
		buf[off] = 0xa5;
	EXPECT_OK(verify_full(buf, len, "2025-11-01T00:00:00Z", NULL, v, &checks, NULL));
	veil_verifier_free(v);
	free(buf);
}

/* Replaces the PEM chain of SPR_E4 by pem and verifies. */
static veil_err verify_with_pem(const uint8_t *pem, size_t pem_len, veil_checks *checks)
{
	tdx_quote *q = parse_file(SPR_E4);
	quote_parts p;
	size_t len;

	if (q == NULL)
		return VEIL_E_USAGE;
	parts_of(q, &p);
	p.pem = pem;
	p.pem_len = pem_len;
	uint8_t *buf = parts_build(&p, &len);
	veil_err err = verify_at(buf, len, SPR_TIME, checks);
	free(buf);
	tdx_quote_free(q);
	return err;
}

TEST(pck_chain_variants)
{
	tdx_quote *q = parse_file(SPR_E4);
	veil_checks checks;
	REQUIRE(q != NULL);
	const char *pem = (const char *)q->raw + q->pck_off;
	const char *second = strstr(pem + 1, "-----BEGIN");
	const char *third = second != NULL ? strstr(second + 1, "-----BEGIN") : NULL;
	REQUIRE(third != NULL);
	size_t leaf_len = (size_t)(second - pem), mid_len = (size_t)(third - second);
	size_t root_len = q->pck_len - leaf_len - mid_len;
	char buf[8192];

	/* Without the root: the pinned one is used. */
	EXPECT_OK(verify_with_pem((const uint8_t *)pem, leaf_len + mid_len, &checks));
	/* Only the leaf: no intermediate. */
	EXPECT_ERR(verify_with_pem((const uint8_t *)pem, leaf_len, &checks), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	/* Swapped: intermediate first. */
	memcpy(buf, second, mid_len);
	memcpy(buf + mid_len, pem, leaf_len);
	memcpy(buf + mid_len + leaf_len, third, root_len);
	EXPECT_ERR(verify_with_pem((const uint8_t *)buf, q->pck_len, &checks), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	/* Another platform's chain: the PCK key did not sign this QE report. */
	tdx_quote *other = parse_file(TRUSTEE4);
	REQUIRE(other != NULL);
	EXPECT_ERR(verify_with_pem(other->raw + other->pck_off, other->pck_len, &checks),
		   VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "qe_report.signature"));
	EXPECT(!check_failed(&checks, "pck.chain"));
	tdx_quote_free(other);
	/* Garbage inside a PEM block, garbage instead of PEM, DER. */
	static const char garbage[] = "-----BEGIN CERTIFICATE-----\nnot*base64!\n"
				      "-----END CERTIFICATE-----\n";
	EXPECT_ERR(verify_with_pem((const uint8_t *)garbage, sizeof garbage - 1, &checks),
		   VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	EXPECT_ERR(verify_with_pem((const uint8_t *)"hello", 5, &checks), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	EXPECT(check_failed(&checks, "qe_report.signature"));
	EXPECT(check_failed(&checks, "tcb.status"));
	/* A root that is not Intel's, appended after the genuine chain. */
	size_t n;
	uint8_t *fake_root = td_read("tdx/dcap-qvl-sample/trustedRootCaCert.pem", &n);
	memcpy(buf, pem, leaf_len + mid_len);
	memcpy(buf + leaf_len + mid_len, fake_root, n);
	EXPECT_ERR(verify_with_pem((const uint8_t *)buf, leaf_len + mid_len + n, &checks),
		   VEIL_E_VERIFY);
	EXPECT(check_detail_has(&checks, "pck.chain", "not the pinned"));
	free(fake_root);
	tdx_quote_free(q);
}

/* --- the verifier cache --------------------------------------------------------- */

TEST(cache_gives_same_verdicts)
{
	veil_verifier *v = NULL;
	veil_checks checks;
	size_t len;
	uint8_t *buf = td_read(SPR_E4, &len);

	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	EXPECT_OK(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL));
	EXPECT(!check_detail_has(&checks, "pck.chain", "cached"));
	EXPECT_OK(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL));
	EXPECT(check_detail_has(&checks, "pck.chain", "cached"));
	/* The cached chain's validity is re-checked at each call. */
	EXPECT_ERR(verify_full(buf, len, "2053-07-01T01:00:00Z", NULL, v, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "pck.chain"));
	EXPECT_OK(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL));
	/* Signatures are still checked on a warm cache. */
	buf[100] ^= 1;
	EXPECT_ERR(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "quote.signature"));
	buf[100] ^= 1;
	buf[632 + 4 + 134 + 10] ^= 1;
	EXPECT_ERR(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "qe_report.signature"));
	buf[632 + 4 + 134 + 10] ^= 1;
	buf[632 + 4 + 64] ^= 1; /* another attestation key than the cached one */
	EXPECT_ERR(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL), VEIL_E_VERIFY);
	buf[632 + 4 + 64] ^= 1;
	EXPECT_OK(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL));
	/* A warm quote of a known platform reuses the verified QE report ... */
	EXPECT(check_detail_has(&checks, "qe_report.signature", "cached"));
	EXPECT(check_detail_has(&checks, "qe_report.binding", "cached"));
	/* ... only when every byte it depends on is the same: the QE report
	 * signature and the QE auth data are compared too. */
	tdx_quote *q = NULL;
	REQUIRE(tdx_quote_parse(buf, len, &q) == VEIL_OK);
	size_t sig_at = q->qe_report_off + TDX_QE_REPORT_LEN + 5;
	size_t auth_at = q->qe_auth_off;
	REQUIRE(q->qe_auth_len > 0);
	tdx_quote_free(q);
	buf[sig_at] ^= 1;
	EXPECT_ERR(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "qe_report.signature"));
	buf[sig_at] ^= 1;
	buf[auth_at] ^= 1;
	EXPECT_ERR(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "qe_report.binding"));
	buf[auth_at] ^= 1;
	EXPECT_OK(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL));
	veil_verifier_free(v);
	free(buf);
}

TEST(cache_evicts_beyond_its_cap)
{
	veil_verifier *v = NULL;
	veil_checks checks;
	tdx_quote *q = parse_file(TRUSTEE6);
	REQUIRE(q != NULL && veil_verifier_new(&v) == VEIL_OK);
	quote_parts p;
	parts_of(q, &p);
	uint8_t *pem = malloc(q->pck_len + VEIL_VERIFIER_CACHE_MAX + 8);

	/* Distinct PEM bytes (newlines after the last block) make distinct
	 * cache keys for the same chain. */
	for (size_t i = 0; i < VEIL_VERIFIER_CACHE_MAX + 6; i++) {
		size_t len, body = q->pck_len - 1; /* without the NUL */
		memcpy(pem, p.pem, body);
		memset(pem + body, '\n', i % (VEIL_VERIFIER_CACHE_MAX + 3));
		p.pem = pem;
		p.pem_len = body + i % (VEIL_VERIFIER_CACHE_MAX + 3);
		uint8_t *buf = parts_build(&p, &len);
		EXPECT_OK(verify_full(buf, len, "2025-11-01T00:00:00Z", NULL, v, &checks, NULL));
		free(buf);
		p.pem = q->raw + q->pck_off;
	}
	veil_verifier_free(v);
	free(pem);
	tdx_quote_free(q);
}

/* --- with collateral ---------------------------------------------------------------- */

static veil_collateral *collateral_of(const char *const *files)
{
	veil_collateral *c = malloc(sizeof *c);
	veil_collateral_init(c);
	for (size_t i = 0; files[i] != NULL; i++)
		if (veil_collateral_add_file(c, td_path(files[i])) != VEIL_OK)
			harness_fail(__FILE__, __LINE__, files[i]);
	return c;
}

static void collateral_free(veil_collateral *c)
{
	veil_collateral_clear(c);
	free(c);
}

/* Verifies quote with collateral at `at`, cold and then warm. */
static void expect_with_collateral(const char *quote, const char *const *files, const char *at,
				   veil_err want, const char *status)
{
	veil_collateral *c = collateral_of(files);
	veil_verifier *v = NULL;
	veil_checks checks;
	size_t len;
	uint8_t *buf = td_read(quote, &len);

	if (veil_verifier_new(&v) != VEIL_OK)
		abort();
	for (int round = 0; round < 2; round++) {
		tdx_quote *q = NULL;
		veil_err err = verify_full(buf, len, at, c, v, &checks, &q);
		if (err != want) {
			const veil_check *bad = veil_checks_first_failure(&checks);
			fprintf(stderr, "    %s at %s (round %d): got %s, want %s; %s: %s\n", quote,
				at, round, veil_err_str(err), veil_err_str(want),
				bad ? bad->name : "-", bad ? bad->detail : veil_err_detail());
			harness_fail(__FILE__, __LINE__, "unexpected verdict with collateral");
		}
		json_t *cl = q != NULL ? claims_of(q) : NULL;
		if (status != NULL && (cl == NULL || strcmp(claim_str(cl, "tcb_status"), status))) {
			fprintf(stderr, "    %s: tcb_status %s, want %s\n", quote,
				cl ? claim_str(cl, "tcb_status") : "-", status);
			harness_fail(__FILE__, __LINE__, "unexpected TCB status");
		}
		json_decref(cl);
		tdx_quote_free(q);
	}
	veil_verifier_free(v);
	collateral_free(c);
	free(buf);
}

TEST(collateral_outcomes_of_sources_md)
{
	static const char *const go_2023[] = {"tdx/go-tdx-guest/sample_tcbInfo_response",
					      "tdx/go-tdx-guest/sample_qeIdentity_response",
					      "tdx/go-tdx-guest/pckcrl",
					      "tdx/go-tdx-guest/rootcrl.der",
					      "tdx/go-tdx-guest/tcbinfo_issuer_chain.DERIVED.pem",
					      "tdx/go-tdx-guest/pckcrl_issuer_chain.DERIVED.pem",
					      NULL};
	static const char *const trustee_2025[] = {
	    "tdx/trustee/tcbInfo.json", "tdx/trustee/enclaveIdentity.json",
	    "tdx/phala-dcap-qvl/derived/tcb_signing_chain_2025-2032.DERIVED.pem",
	    "tdx/phala-dcap-qvl/derived/tdx_quote.root_ca_crl.DERIVED.der", NULL};
	static const char *const phala_2025[] = {
	    "tdx/phala-dcap-qvl/derived/tdx_quote.tcbInfo.DERIVED.json",
	    "tdx/phala-dcap-qvl/derived/tdx_quote.qeIdentity.DERIVED.json",
	    "tdx/phala-dcap-qvl/derived/tdx_quote.pck_crl_platform.DERIVED.der",
	    "tdx/go-tdx-guest/pckcrl_issuer_chain.DERIVED.pem",
	    "tdx/phala-dcap-qvl/derived/tdx_quote.root_ca_crl.DERIVED.der",
	    "tdx/phala-dcap-qvl/derived/tcb_signing_chain_2025-2032.DERIVED.pem",
	    NULL};
	static const char *const v5_2026[] = {
	    "tdx/go-tdx-guest/sample_tcbinfo_response_v5",
	    "tdx/phala-dcap-qvl/derived/tdx_quote_outdated.qeIdentity.DERIVED.json",
	    "tdx/phala-dcap-qvl/derived/tcb_signing_chain_2025-2032.DERIVED.pem", NULL};

	expect_with_collateral(SPR_E4, go_2023, SPR_TIME, VEIL_E_VERIFY, "TcbLevelNotSupported");
	expect_with_collateral(TRUSTEE6, trustee_2025, "2025-11-01T00:00:00Z", VEIL_OK,
			       "OutOfDate");
	expect_with_collateral(PHALA, phala_2025, "2025-07-19T10:00:34Z", VEIL_OK, "UpToDate");
	expect_with_collateral(V5_SAMPLE, v5_2026, "2026-02-20T00:00:00Z", VEIL_OK, "UpToDate");
	expect_with_collateral(TRUSTEE5, v5_2026, "2026-02-20T00:00:00Z", VEIL_E_VERIFY,
			       "TcbLevelNotSupported");
	/* Cross-repo: the debug TD with the 2023 collateral of its FMSPC. */
	expect_with_collateral(TRUSTEE4, go_2023, SPR_TIME, VEIL_OK, "UpToDate");
	/* Collateral of another FMSPC. */
	expect_with_collateral(TRUSTEE6, v5_2026, "2026-02-20T00:00:00Z", VEIL_E_VERIFY, NULL);
	/* Collateral without any TDX TCB Info: genuine, status unknown. */
	static const char *const crl_only[] = {"tdx/go-tdx-guest/rootcrl.der", NULL};
	expect_with_collateral(SPR_E4, crl_only, SPR_TIME, VEIL_OK, "Unknown");
}

TEST(collateral_claims_and_revocation)
{
	static const char *const phala_2025[] = {
	    "tdx/phala-dcap-qvl/derived/tdx_quote.tcbInfo.DERIVED.json",
	    "tdx/phala-dcap-qvl/derived/tdx_quote.qeIdentity.DERIVED.json",
	    "tdx/phala-dcap-qvl/derived/tdx_quote.pck_crl_platform.DERIVED.der",
	    "tdx/go-tdx-guest/pckcrl_issuer_chain.DERIVED.pem",
	    "tdx/phala-dcap-qvl/derived/tdx_quote.root_ca_crl.DERIVED.der",
	    "tdx/phala-dcap-qvl/derived/tcb_signing_chain_2025-2032.DERIVED.pem",
	    NULL};
	veil_collateral *c = collateral_of(phala_2025);
	veil_checks checks;
	size_t len;
	uint8_t *buf = td_read(PHALA, &len);
	tdx_quote *q = NULL;

	EXPECT_OK(verify_full(buf, len, "2025-07-19T10:00:34Z", c, NULL, &checks, &q));
	json_t *cl = q != NULL ? claims_of(q) : NULL;
	REQUIRE(cl != NULL);
	EXPECT(strcmp(claim_str(cl, "revocation"), "checked") == 0);
	EXPECT(json_array_size(json_object_get(cl, "advisory_ids")) == 0);
	EXPECT(strcmp(claim_str(cl, "tcb_qe_status"), "UpToDate") == 0);
	EXPECT(strlen(claim_str(cl, "tcb_date")) == 20);
	json_decref(cl);
	tdx_quote_free(q);
	/* After the collateral's nextUpdate: refused. */
	EXPECT_ERR(verify_full(buf, len, "2025-08-01T00:00:00Z", c, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	collateral_free(c);
	free(buf);
}

/* --- fail-closed collateral handling -------------------------------------- */

#define GOD "tdx/go-tdx-guest/"
#define PHD "tdx/phala-dcap-qvl/derived/"

TEST(partial_collateral_fails)
{
	/* TCB Info without the TD_QE identity: not "no collateral". */
	static const char *const tcb_only[] = {GOD "sample_tcbInfo_response",
					       GOD "tcbinfo_issuer_chain.DERIVED.pem", NULL};
	expect_with_collateral(SPR_E4, tcb_only, SPR_TIME, VEIL_E_VERIFY, NULL);
	/* A TD_QE identity without TCB Info. */
	static const char *const qe_only[] = {GOD "sample_qeIdentity_response",
					      GOD "tcbinfo_issuer_chain.DERIVED.pem", NULL};
	expect_with_collateral(SPR_E4, qe_only, SPR_TIME, VEIL_E_VERIFY, NULL);
}

TEST(poisoned_collateral_file_fails)
{
	/* A PCS response whose key is spelled with an escape: jansson reads
	 * "tcbInfo", a raw scan would not. Added to a good set, it must make
	 * the verification fail, not be skipped. */
	static const char poison[] = "{\"tcb\\u0049nfo\":{},\"signature\":\"00\"}";
	static const char *const good[] = {"tdx/phala-dcap-qvl/tdx_quote_collateral.json", NULL};
	veil_collateral *c = collateral_of(good);
	veil_checks checks;
	size_t len;
	uint8_t *buf = td_read(PHALA, &len);

	EXPECT_OK(verify_full(buf, len, "2025-07-19T10:00:34Z", c, NULL, &checks, NULL));
	EXPECT_OK(veil_collateral_add(c, (const uint8_t *)poison, strlen(poison), "poison.json"));
	EXPECT_ERR(verify_full(buf, len, "2025-07-19T10:00:34Z", c, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT(veil_checks_first_failure(&checks) != NULL);
	collateral_free(c);
	free(buf);
}

TEST(crls_apply_without_tcb_info)
{
	static const char *const crls[] = {GOD "pckcrl", GOD "rootcrl.der",
					   GOD "pckcrl_issuer_chain.DERIVED.pem", NULL};
	veil_collateral *c = collateral_of(crls);
	veil_checks checks;
	tdx_quote *q = NULL;
	size_t len;
	uint8_t *buf = td_read(SPR_E4, &len);

	EXPECT_OK(verify_full(buf, len, SPR_TIME, c, NULL, &checks, &q));
	REQUIRE(q != NULL);
	json_t *cl = claims_of(q);
	EXPECT(strcmp(claim_str(cl, "revocation"), "checked") == 0);
	EXPECT(strcmp(claim_str(cl, "tcb_status"), "Unknown") == 0);
	json_decref(cl);
	tdx_quote_free(q);
	/* The PCK CRL's nextUpdate is 2023-07-08: after it, the supplied CRL
	 * cannot be used, and that is a failure, not "unchecked". */
	EXPECT_ERR(verify_full(buf, len, "2023-07-09T00:00:00Z", c, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	collateral_free(c);
	free(buf);
}

TEST(quoting_enclave_identity_checked_without_collateral)
{
	veil_checks checks;
	size_t len;
	uint8_t *buf = td_read(SPR_E4, &len);

	EXPECT_OK(verify_at(buf, len, SPR_TIME, &checks));
	const veil_check *k = veil_checks_find(&checks, "qe_report.identity");
	EXPECT(k != NULL && k->ok);
	free(buf);
	/* The synthetic QVL sample's QE has another MRSIGNER (e4bd9fc2...). */
	buf = td_read(DCAP_SYN, &len);
	EXPECT_ERR(verify_at(buf, len, "2025-01-01T00:00:00Z", &checks), VEIL_E_VERIFY);
	EXPECT(check_failed(&checks, "qe_report.identity"));
	free(buf);
}

TEST(cache_reused_only_inside_the_collateral_window)
{
	/* Two generations of CRLs: the 2023 ones, and 2025 ones not yet
	 * valid in 2023. A verifier warmed in 2023 must not serve its 2023
	 * decision in 2025, when the newer CRLs apply. */
	static const char *const crls[] = {GOD "pckcrl",
					   GOD "rootcrl.der",
					   GOD "pckcrl_issuer_chain.DERIVED.pem",
					   PHD "tdx_quote.pck_crl_platform.DERIVED.der",
					   PHD "tdx_quote.root_ca_crl.DERIVED.der",
					   NULL};
	veil_collateral *c = collateral_of(crls);
	veil_verifier *v = NULL;
	veil_checks checks;
	size_t len;
	uint8_t *buf = td_read(SPR_E4, &len);

	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	EXPECT_OK(verify_full(buf, len, SPR_TIME, c, v, &checks, NULL));
	EXPECT(!check_detail_has(&checks, "collateral", "cached"));
	EXPECT_OK(verify_full(buf, len, "2023-07-02T00:00:00Z", c, v, &checks, NULL));
	EXPECT(check_detail_has(&checks, "collateral", "cached"));
	EXPECT(check_detail_has(&checks, "pck.chain", "cached"));
	/* 2025: outside the window (the 2023 PCK CRL expired, the 2025 ones
	 * began): loaded afresh, chain re-verified with the new CRLs. */
	EXPECT_OK(verify_full(buf, len, "2025-07-19T10:00:00Z", c, v, &checks, NULL));
	EXPECT(!check_detail_has(&checks, "collateral", "cached"));
	EXPECT(!check_detail_has(&checks, "pck.chain", "cached"));
	/* Between the generations (2024-06), no current PCK CRL: the cold
	 * verdict is a failure, and so must the warm one be. */
	EXPECT_ERR(verify_full(buf, len, "2024-06-01T00:00:00Z", c, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT_ERR(verify_full(buf, len, "2024-06-01T00:00:00Z", c, v, &checks, NULL),
		   VEIL_E_VERIFY);
	veil_verifier_free(v);
	collateral_free(c);
	free(buf);
}

TEST(warm_and_cold_agree_at_the_pck_not_after_second)
{
	/* The PCK leaf's notAfter is 2029-09-20T13:20:31Z, and OpenSSL treats
	 * it as exclusive: at that second the chain has expired, warm or cold. */
	veil_verifier *v = NULL;
	veil_checks checks;
	size_t len;
	uint8_t *buf = td_read(SPR_E4, &len);

	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	EXPECT_OK(verify_full(buf, len, SPR_TIME, NULL, v, &checks, NULL));
	EXPECT_OK(verify_full(buf, len, "2029-09-20T13:20:30Z", NULL, v, &checks, NULL));
	EXPECT(check_detail_has(&checks, "pck.chain", "cached"));
	EXPECT_ERR(verify_full(buf, len, "2029-09-20T13:20:31Z", NULL, NULL, &checks, NULL),
		   VEIL_E_VERIFY);
	EXPECT_ERR(verify_full(buf, len, "2029-09-20T13:20:31Z", NULL, v, &checks, NULL),
		   VEIL_E_VERIFY);
	veil_verifier_free(v);
	free(buf);
}

int main(void)
{
	RUN(real_quotes_verify_without_collateral);
	RUN(pck_validity_is_enforced);
	RUN(synthetic_root_quote_fails_cleanly);
	RUN(bit_flips_in_each_signed_part_fail);
	RUN(bit_flips_anywhere_fail_but_trailing_bytes_do_not_matter);
	RUN(pck_chain_variants);
	RUN(cache_gives_same_verdicts);
	RUN(cache_evicts_beyond_its_cap);
	RUN(collateral_outcomes_of_sources_md);
	RUN(collateral_claims_and_revocation);
	RUN(partial_collateral_fails);
	RUN(poisoned_collateral_file_fails);
	RUN(crls_apply_without_tcb_info);
	RUN(quoting_enclave_identity_checked_without_collateral);
	RUN(cache_reused_only_inside_the_collateral_window);
	RUN(warm_and_cold_agree_at_the_pck_not_after_second);
	return harness_finish("test_tdx_verify");
}

/*
 * test_tdx_collateral.c - TDX collateral loading on the real files in
 * testdata/tdx (windows and expected outcomes from testdata/tdx/SOURCES.md):
 * signatures over the exact bytes served, the TCB signing chain and the CRLs,
 * validity windows, the TCB Info and QE Identity parsers, and what the loader
 * promises when collateral is missing or of another platform. Intel's TCB
 * status algorithm on the loaded documents is in test_tdx_tcbstatus.c.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_collateral.h"
#include "evidence/tdx/tdx_qeidentity.h"
#include "evidence/tdx/tdx_tcbinfo.h"
#include "harness.h"
#include "test_tdx_collateral_util.h"
#include "veil/json.h"

static bool check_ok(const veil_checks *c, const char *name)
{
	const veil_check *k = veil_checks_find(c, name);
	return k != NULL && k->ok;
}

/* ---- the real collateral sets, inside and outside their windows ---- */

TEST(go_sample_set_verifies_in_window)
{
	veil_checks checks;
	tdx_collateral *col = NULL;

	coll_files(go_set);
	veil_checks_init(&checks);
	EXPECT_OK(load_at(fmspc_go, GO_TIME, &checks, &col));
	REQUIRE(col != NULL);
	EXPECT(check_ok(&checks, "collateral.tcb_info"));
	EXPECT(check_ok(&checks, "collateral.qe_identity"));
	EXPECT(check_ok(&checks, "collateral.signing_chain"));
	EXPECT(check_ok(&checks, "collateral.crl"));
	EXPECT(veil_checks_passed(&checks));
	EXPECT(sk_X509_CRL_num(tdx_collateral_crls(col)) == 2);
	EXPECT_OK(tdx_collateral_check_time(col, td_time(GO_TIME)));
	/* Common window 2023-06-18T08:42:58Z .. 2023-07-08T07:24:59Z. */
	EXPECT_ERR(tdx_collateral_check_time(col, td_time("2023-06-18T08:42:57Z")), VEIL_E_EXPIRED);
	EXPECT_ERR(tdx_collateral_check_time(col, td_time("2023-07-08T07:25:00Z")), VEIL_E_EXPIRED);
	EXPECT_OK(tdx_collateral_check_time(col, td_time("2023-07-08T07:24:59Z")));
	tdx_collateral_free(col);
}

TEST(go_sample_set_fails_outside_window)
{
	veil_checks checks;
	tdx_collateral *col = NULL;

	coll_files(go_set);
	veil_checks_init(&checks);
	/* 2053: everything expired (peer test: "tcbInfo has expired"). */
	EXPECT_ERR(load_at(fmspc_go, "2053-07-01T01:00:00Z", &checks, &col), VEIL_E_EXPIRED);
	EXPECT(col == NULL);
	EXPECT(!veil_checks_passed(&checks));
	/* Before tcbInfo's issueDate, with the CRLs already current. */
	EXPECT_ERR(try_load(fmspc_go, "2023-06-18T08:42:57Z"), VEIL_E_EXPIRED);
	EXPECT(detail_has("tcbInfo is not valid before 2023-06-18T08:42:58Z"));
	EXPECT_OK(try_load(fmspc_go, "2023-06-18T08:42:58Z"));

	/* Without CRLs, the documents' own windows decide. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, "2023-07-10T00:00:00Z"), VEIL_E_EXPIRED);
	EXPECT(detail_has("TD_QE identity expired at 2023-07-08T07:24:59Z"));
	EXPECT_ERR(try_load(fmspc_go, "2023-07-19T00:00:00Z"), VEIL_E_EXPIRED);
	EXPECT(detail_has(
	    "tcbInfo expired at 2023-07-18T08:42:58Z; fetch fresh collateral from Intel PCS"));
	/* A stale CRL alone fails the load. */
	coll_add_edited(GO "pckcrl", NULL, NULL);
	coll_add_edited(GO "pckcrl_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, "2023-07-08T07:27:53Z"), VEIL_E_EXPIRED);
	EXPECT(detail_has("CRL expired at 2023-07-08T07:27:52Z"));
}

TEST(trustee_set_needs_renewed_signing_chain)
{
	coll_files(trustee_set);
	EXPECT_OK(try_load(fmspc_tr, TRUSTEE_TIME));
	/* Window 2025-10-28T06:45:09Z .. 2025-11-26T13:07:17Z. */
	EXPECT_ERR(try_load(fmspc_tr, "2025-10-28T06:45:08Z"), VEIL_E_EXPIRED);
	EXPECT_ERR(try_load(fmspc_tr, "2025-11-26T13:07:18Z"), VEIL_E_EXPIRED);

	/* The 2018-2025 copy of the TCB signing certificate (same key and
	 * serial) expired on 2025-05-21: it cannot vouch for this collateral. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(TR "tcbInfo.json", NULL, NULL);
	coll_add_edited(TR "enclaveIdentity.json", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_tr, TRUSTEE_TIME), VEIL_E_EXPIRED);
	EXPECT(detail_has("TCB signing certificate"));
	/* With both copies present, the one valid at the time is used. */
	coll_add_edited(PHD "tcb_signing_chain_2025-2032.DERIVED.pem", NULL, NULL);
	EXPECT_OK(try_load(fmspc_tr, TRUSTEE_TIME));
	/* And the old copy still verifies the 2023 collateral. */
	coll_files(go_set);
	coll_add_edited(PHD "tcb_signing_chain_2025-2032.DERIVED.pem", NULL, NULL);
	EXPECT_OK(try_load(fmspc_go, GO_TIME));
}

TEST(v5_collateral_2026)
{
	coll_files(v5_set);
	EXPECT_OK(try_load(fmspc_v5, V5_TIME));
	EXPECT_ERR(try_load(fmspc_v5, "2026-03-03T14:49:27Z"), VEIL_E_EXPIRED);
	/* The 2018-2025 signing chain alone cannot verify 2026 collateral. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbinfo_response_v5", NULL, NULL);
	coll_add_edited(PHD "tdx_quote_outdated.qeIdentity.DERIVED.json", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_v5, V5_TIME), VEIL_E_EXPIRED);
}

TEST(phala_collateral_json)
{
	veil_checks checks;
	tdx_collateral *col = NULL;
	const char *const one[] = {PH "tdx_quote_collateral.json", NULL};
	const char *const two[] = {PH "tdx_quote_outdated_collateral.json", NULL};

	coll_files(one);
	veil_checks_init(&checks);
	EXPECT_OK(load_at(fmspc_ph, PHALA_TIME, &checks, &col));
	REQUIRE(col != NULL);
	EXPECT(veil_checks_passed(&checks));
	EXPECT(sk_X509_CRL_num(tdx_collateral_crls(col)) == 2);
	tdx_collateral_free(col);
	EXPECT_ERR(try_load(fmspc_ph, "2025-07-19T10:16:04Z"), VEIL_E_EXPIRED);
	EXPECT_ERR(try_load(fmspc_ph, "2025-06-19T10:16:02Z"), VEIL_E_EXPIRED);
	/* The same documents split into PCS-shaped files verify the same. */
	coll_files(phala_derived_set);
	EXPECT_OK(try_load(fmspc_ph, PHALA_TIME));

	coll_files(two);
	EXPECT_OK(try_load(fmspc_v5, PHALA_OUTDATED_TIME));
	EXPECT_ERR(try_load(fmspc_v5, "2026-03-20T10:58:52Z"), VEIL_E_EXPIRED);
}

/* ---- the load contract: not found, another platform, missing QE ---- */

TEST(load_contract)
{
	veil_checks checks;
	tdx_collateral *col = NULL;

	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	veil_checks_init(&checks);
	/* No collateral: usable, without TCB status, and nothing failed. */
	EXPECT_OK(load_at(fmspc_go, GO_TIME, &checks, &col));
	EXPECT(col != NULL && !tdx_collateral_has_tcb(col));
	EXPECT(veil_checks_first_failure(&checks) == NULL);
	tdx_collateral_free(col);
	col = NULL;
	/* Unrelated binary blobs (an SNP VCEK, a nonce) are left alone ... */
	coll_add_edited(GO "cos-113-nonce.dat", NULL, NULL);
	coll_add_edited("snp/go-sev-guest/vcek.testcer", NULL, NULL);
	EXPECT_OK(load_at(fmspc_go, GO_TIME, NULL, &col));
	EXPECT(col != NULL && !tdx_collateral_has_tcb(col));
	tdx_collateral_free(col);
	col = NULL;
	/* ... but JSON that is not Intel collateral is refused: in a
	 * collateral set it can only be collateral in a form not read here. */
	coll_add_edited(TR "parse_tdx_claims_expected.json", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("neither an Intel PCS"));
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	/* So is anything that mentions Intel collateral in a form not read
	 * here: a byte-order mark, or a JSON document inside other text. */
	coll_add_edited(GO "sample_qeIdentity_response", "{\"enclaveIdentity\"",
			"\xef\xbb\xbf{\"enclaveIdentity\"");
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_MALFORMED);
	EXPECT(detail_has("byte-order mark"));
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_qeIdentity_response", "{\"enclaveIdentity\"",
			"saved: {\"enclaveIdentity\"");
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("mentions Intel collateral"));
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	/* Partial collateral is an error, recorded as a failed check: a QE
	 * identity without TCB Info. */
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	veil_checks_init(&checks);
	EXPECT_ERR(load_at(fmspc_go, GO_TIME, &checks, &col), VEIL_E_NOT_FOUND);
	EXPECT(detail_has("no TDX TCB Info"));
	EXPECT(!veil_checks_passed(&checks) && veil_checks_first_failure(&checks) != NULL);

	/* TCB Info of another platform. */
	coll_add_edited(TR "tcbInfo.json", NULL, NULL);
	veil_checks_init(&checks);
	EXPECT_ERR(load_at(fmspc_go, GO_TIME, &checks, &col), VEIL_E_MISMATCH);
	EXPECT(detail_has("collateral of another platform"));
	EXPECT(detail_has("00a06d080000"));
	EXPECT(!veil_checks_passed(&checks));

	/* TCB Info for the FMSPC but no TD_QE identity. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_NOT_FOUND);
	EXPECT(detail_has("TD_QE"));

	/* An SGX QE identity is not the TD_QE identity. */
	coll_add_edited(GO "sample_qeIdentity_response", "\"id\":\"TD_QE\"", "\"id\":\"QE\"");
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_NOT_FOUND);

	/* No signing chain at all. */
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	EXPECT_OK(try_load(fmspc_go, GO_TIME));
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);
	EXPECT(detail_has("TCB-Info-Issuer-Chain"));
	/* A chain to another root (the QVL sample's test root) does not help. */
	coll_add_edited(QVL "tcbSignChain.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);
}

/* ---- tampering: every change to the signed bytes fails ---- */

static void go_base_with_tcbinfo(const uint8_t *tcb, size_t len)
{
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add(tcb, len, "edited tcbInfo");
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
}

TEST(tampered_tcbinfo_fails)
{
	size_t len;
	uint8_t *orig = td_read(GO "sample_tcbInfo_response", &len);
	uint8_t *buf = malloc(len + 1);
	const uint8_t *sig = memmem(orig, len, "\"signature\"", 11);
	REQUIRE(sig != NULL);
	size_t body_end = (size_t)(sig - orig) - 1; /* the comma after tcbInfo */
	size_t failures = 0, tries = 0;

	go_base_with_tcbinfo(orig, len);
	REQUIRE(try_load(fmspc_go, GO_TIME) == VEIL_OK);
	/* Flip one bit at many offsets of the signed tcbInfo value (from byte 11,
	 * after {"tcbInfo":) and of the signature. */
	for (size_t off = 11; off < len; off += (off < body_end ? 13 : 1)) {
		if (off >= body_end && off < body_end + 14)
			continue; /* the ,"signature":" text itself */
		if (off >= len - 2)
			break; /* closing quote and brace */
		memcpy(buf, orig, len);
		buf[off] ^= 0x01;
		go_base_with_tcbinfo(buf, len);
		tries++;
		if (try_load(fmspc_go, GO_TIME) != VEIL_OK)
			failures++;
		else
			fprintf(stderr, "    flip at %zu still verifies\n", off);
	}
	EXPECT(tries > 250);
	EXPECT(failures == tries);

	/* A semantic change that keeps the JSON valid: signature fails. */
	coll_files(go_set);
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", "\"tcbEvaluationDataNumber\":15",
			"\"tcbEvaluationDataNumber\":16");
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);
	/* Re-serialising (one space) changes the signed bytes. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", "\"version\":3", "\"version\": 3");
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);

	/* Truncated, one byte longer, trailing garbage. */
	go_base_with_tcbinfo(orig, len - 2); /* drops the closing brace */
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_MALFORMED);
	memcpy(buf, orig, len);
	buf[len] = 'x';
	go_base_with_tcbinfo(buf, len + 1);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_MALFORMED);
	go_base_with_tcbinfo(orig, len / 2);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_MALFORMED);
	free(buf);
	free(orig);
}

TEST(tampered_qe_identity_and_signatures_fail)
{
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response", "\"isvprodid\":2", "\"isvprodid\":3");
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);

	/* Signature: one digit changed; too short; not hex. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response", "\"signature\":\"b6a6",
			"\"signature\":\"b6a7");
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response", "\"signature\":\"b6a6",
			"\"signature\":\"b6");
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_MALFORMED);
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response", "\"signature\":\"b6a6",
			"\"signature\":\"b6g6");
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_MALFORMED);

	/* Phala JSON: the tcb_info string is the signed text. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(PH "tdx_quote_collateral.json", "\"tcbEvaluationDataNumber\\\":17",
			"\"tcbEvaluationDataNumber\\\":18");
	EXPECT_ERR(try_load(fmspc_ph, PHALA_TIME), VEIL_E_VERIFY);
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(PH "tdx_quote_collateral.json", "\"tcb_info_signature\": \"027e",
			"\"tcb_info_signature\": \"027f");
	EXPECT_ERR(try_load(fmspc_ph, PHALA_TIME), VEIL_E_VERIFY);
}

TEST(duplicate_keys_fail)
{
	/* Inside the signed object: two readings of one document. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", "\"fmspc\":\"50806f000000\",",
			"\"fmspc\":\"50806f000000\",\"fmspc\":\"00a06d080000\",");
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_MALFORMED);
	/* At the top level. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response",
			"\"signature\":", "\"signature\":\"00\",\"signature\":");
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_MALFORMED);
	/* In Phala's wrapper. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(PH "tdx_quote_collateral.json",
			"\"pck_crl\": ", "\"pck_crl\": \"00\", \"pck_crl\": ");
	EXPECT_ERR(try_load(fmspc_ph, PHALA_TIME), VEIL_E_MALFORMED);
}

/* Returns the body of a PCS response file with an edit applied. */
static uint8_t *edited_body(const char *rel, const char *key, const char *from, const char *to,
			    size_t *out_len)
{
	size_t len;
	uint8_t *buf = td_read(rel, &len);
	const uint8_t *raw;
	size_t raw_len;
	if (veil_json_raw_member(buf, len, key, &raw, &raw_len) != VEIL_OK)
		exit(2);
	size_t fl = from ? strlen(from) : 0, tl = to ? strlen(to) : 0;
	uint8_t *hit = from ? memmem(raw, raw_len, from, fl) : NULL;
	if (from != NULL && hit == NULL)
		exit(2);
	uint8_t *out = malloc(raw_len + tl + 1);
	size_t pre = hit ? (size_t)(hit - raw) : raw_len;
	memcpy(out, raw, pre);
	if (hit) {
		memcpy(out + pre, to, tl);
		memcpy(out + pre + tl, hit + fl, raw_len - pre - fl);
		*out_len = raw_len - fl + tl;
	} else {
		*out_len = raw_len;
	}
	free(buf);
	return out;
}

static veil_err parse_tcb_edit(const char *from, const char *to)
{
	size_t n;
	tdx_tcbinfo *t = NULL;
	uint8_t *body = edited_body(GO "sample_tcbinfo_response_v5", "tcbInfo", from, to, &n);
	veil_err err = tdx_tcbinfo_parse(body, n, &t);
	tdx_tcbinfo_free(t);
	free(body);
	return err;
}

static veil_err parse_qe_edit(const char *from, const char *to)
{
	size_t n;
	tdx_qeidentity *q = NULL;
	uint8_t *body =
	    edited_body(GO "sample_qeIdentity_response", "enclaveIdentity", from, to, &n);
	veil_err err = tdx_qeidentity_parse(body, n, &q);
	tdx_qeidentity_free(q);
	free(body);
	return err;
}

TEST(parsers_reject_wrong_id_version_and_shape)
{
	size_t n;
	tdx_tcbinfo *t = NULL;
	uint8_t *body = edited_body(GO "sample_tcbinfo_response_v5", "tcbInfo", NULL, NULL, &n);

	EXPECT_OK(tdx_tcbinfo_parse(body, n, &t));
	REQUIRE(t != NULL);
	EXPECT(t->level_count == 3 && t->module_count == 2 && t->has_module_identities);
	EXPECT(t->level[0].pcesvn == 13 && t->level[0].sgx_svn[7] == 5 &&
	       t->level[0].tdx_svn[2] == 3);
	EXPECT(strcmp(t->module[1].id, "TDX_01") == 0 && t->module[1].level[0].isvsvn == 6);
	EXPECT(t->eval_number == 18);
	tdx_tcbinfo_free(t);
	free(body);

	EXPECT_OK(parse_tcb_edit(NULL, NULL));
	EXPECT_ERR(parse_tcb_edit("\"id\":\"TDX\"", "\"id\":\"SGX\""), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_tcb_edit("\"id\":\"TDX\"", "\"id\":\"TDXX\""), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_tcb_edit("\"version\":3", "\"version\":2"), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_tcb_edit("\"version\":3", "\"version\":4"), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_tcb_edit("\"version\":3", "\"version\":\"3\""), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"tcbType\":0", "\"tcbType\":1"), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"fmspc\":\"90c06f000000\"", "\"fmspc\":\"90c06f0000\""),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"fmspc\":\"90c06f000000\"", "\"fmspc\":\"90c06f00000g\""),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("{\"svn\":3,", "{\"svn\":256,"), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("{\"svn\":3,", "{\"svn\":-1,"), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"pcesvn\":13", "\"pcesvn\":65536"), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Fine\""),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"tcbDate\":\"2024-11-13T00:00:00Z\"", "\"tcbDate\":\"soon\""),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"id\":\"TDX_03\"", "\"id\":\"TDX_3\""), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"id\":\"TDX_03\"", "\"id\":\"TDX_01\""), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"advisoryIDs\":[\"INTEL-SA-01036\"",
				  "\"advisoryIDs\":[\"INTEL-SA-01036-AND-A-VERY-LONG-SUFFIX\""),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"tdxModule\":", "\"tdxModulX\":"), VEIL_E_MALFORMED);
	/* 15 SGX components. */
	EXPECT_ERR(parse_tcb_edit("{\"svn\":3,\"category\":\"BIOS\",\"type\":\"Early Microcode "
				  "Update\"},",
				  ""),
		   VEIL_E_MALFORMED);
	/* Truncated and trailing bytes. */
	EXPECT_ERR(parse_tcb_edit("\"tcbType\":0,", "\"tcbType\":0"), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_tcb_edit("\"tcbType\":0", "\"tcbType\":0}"), VEIL_E_MALFORMED);

	EXPECT_OK(parse_qe_edit(NULL, NULL));
	EXPECT_ERR(parse_qe_edit("\"id\":\"TD_QE\"", "\"id\":\"QE\""), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_qe_edit("\"version\":2", "\"version\":1"), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_qe_edit("\"isvprodid\":2", "\"isvprodid\":70000"), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_qe_edit("\"miscselect\":\"00000000\"", "\"miscselect\":\"000000\""),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(parse_qe_edit("\"tcbLevels\":[{", "\"tcbLevels\":[1,{"), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_qe_edit("\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2023-02-"
				 "15T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]",
				 "\"tcbLevels\":[]"),
		   VEIL_E_LIMIT);

	/* The QVL sample's fuzz-like SVNs (65473) are not bytes of CPUSVN. */
	size_t len;
	uint8_t *qvl = td_read(QVL "tcbInfo.json", &len);
	const uint8_t *raw;
	size_t raw_len;
	REQUIRE(veil_json_raw_member(qvl, len, "tcbInfo", &raw, &raw_len) == VEIL_OK);
	EXPECT_ERR(tdx_tcbinfo_parse(raw, raw_len, &t), VEIL_E_MALFORMED);
	EXPECT(t == NULL);
	free(qvl);
}

TEST(load_rejects_wrong_id_or_version)
{
	/* Even where the signature would be checked later, a TCB Info that is
	 * neither TDX v3 nor SGX's own fails the load, naming the file. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", "\"id\":\"TDX\"", "\"id\":\"TDY\"");
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("sample_tcbInfo_response"));
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", "\"version\":3", "\"version\":4");
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_UNSUPPORTED);
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response", "\"version\":2", "\"version\":1");
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_UNSUPPORTED);
	/* An SGX TCB Info (id "SGX") is another TEE's: skipped, not TDX, so
	 * the set holds no TDX TCB status at all. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", "\"id\":\"TDX\"", "\"id\":\"SGX\"");
	tdx_collateral *col = NULL;
	EXPECT_OK(load_at(fmspc_go, GO_TIME, NULL, &col));
	EXPECT(col != NULL && !tdx_collateral_has_tcb(col));
	tdx_collateral_free(col);
}

/* ---- CRLs ---- */

TEST(crls_verified_against_their_issuers)
{
	/* Root CRL of the QVL sample's test root: same issuer name, wrong key. */
	coll_files(go_set);
	coll_add_edited(QVL "rootCaCrl.der", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);
	EXPECT(detail_has("pinned root"));
	/* Its intermediate CA CRL: the issuer in the collateral does not sign it. */
	coll_files(go_set);
	coll_add_edited(QVL "intermediateCaCrl.der", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);
	/* A PCK CRL without its issuer chain. */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(GO "sample_tcbInfo_response", NULL, NULL);
	coll_add_edited(GO "sample_qeIdentity_response", NULL, NULL);
	coll_add_edited(GO "tcbinfo_issuer_chain.DERIVED.pem", NULL, NULL);
	coll_add_edited(GO "pckcrl", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_go, GO_TIME), VEIL_E_VERIFY);
	EXPECT(detail_has("PCK CRL issuer chain"));
	/* A root CRL out of its window (2023-04-03 .. 2024-04-02) at 2025. */
	coll_files(trustee_set);
	coll_add_edited(GO "rootcrl.der", NULL, NULL);
	EXPECT_OK(try_load(fmspc_tr, TRUSTEE_TIME)); /* a current one is also there */
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	coll_add_edited(TR "tcbInfo.json", NULL, NULL);
	coll_add_edited(TR "enclaveIdentity.json", NULL, NULL);
	coll_add_edited(PHD "tcb_signing_chain_2025-2032.DERIVED.pem", NULL, NULL);
	coll_add_edited(GO "rootcrl.der", NULL, NULL);
	EXPECT_ERR(try_load(fmspc_tr, TRUSTEE_TIME), VEIL_E_EXPIRED);
	/* A flipped bit in a CRL's signature. */
	size_t len;
	uint8_t *crl = td_read(GO "rootcrl.der", &len);
	crl[len - 5] ^= 0x01;
	coll_files(go_set);
	coll_add(crl, len, "flipped root CRL");
	EXPECT(try_load(fmspc_go, GO_TIME) != VEIL_OK);
	free(crl);
}

int main(void)
{
	veil_collateral_init(&coll);
	RUN(go_sample_set_verifies_in_window);
	RUN(go_sample_set_fails_outside_window);
	RUN(trustee_set_needs_renewed_signing_chain);
	RUN(v5_collateral_2026);
	RUN(phala_collateral_json);
	RUN(load_contract);
	RUN(tampered_tcbinfo_fails);
	RUN(tampered_qe_identity_and_signatures_fail);
	RUN(duplicate_keys_fail);
	RUN(parsers_reject_wrong_id_version_and_shape);
	RUN(load_rejects_wrong_id_or_version);
	RUN(crls_verified_against_their_issuers);
	veil_collateral_clear(&coll);
	return harness_finish("test_tdx_collateral");
}

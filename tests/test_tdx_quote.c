/*
 * test_tdx_quote.c - the TDX quote module: parser, PCK extensions, verifier,
 * claims and cache, on the real quotes in testdata/tdx (outcomes from its
 * SOURCES.md) and on quotes broken on purpose.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_quote.h"
#include "harness.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/evidence.h"
#include "veil/x509.h"

#define SPR_E4    "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"
#define V5_SAMPLE "tdx/go-tdx-guest/quote_v5_sample.dat"
#define COS113    "tdx/go-tdx-guest/cos-113-tdx-quote.dat"
#define TRUSTEE4  "tdx/trustee/tdx_quote_4.dat"
#define TRUSTEE5  "tdx/trustee/tdx_quote_5.dat"
#define TRUSTEE6  "tdx/trustee/tdx_quote_6.dat"
#define AZURE     "tdx/trustee/az-tdx-vtpm-td-quote.bin"
#define PHALA     "tdx/phala-dcap-qvl/tdx_quote"
#define PHALA_OLD "tdx/phala-dcap-qvl/tdx_quote_outdated"
#define DCAP_SYN  "tdx/dcap-qvl-sample/quote.dat"
#define SPR_TIME  "2023-07-01T01:00:00Z"

/* Each real quote, a time inside its PCK validity, its trailing bytes. */
static const struct real_quote {
	const char *path, *at;
	unsigned version, body_type;
	size_t trailing;
} real_quotes[] = {
    {SPR_E4, SPR_TIME, 4, 2, 39},
    {V5_SAMPLE, "2026-02-03T01:00:00Z", 5, 3, 0},
    {COS113, "2025-01-01T00:00:00Z", 4, 2, 3065},
    {TRUSTEE4, "2024-01-01T00:00:00Z", 4, 2, 0},
    {TRUSTEE5, "2025-01-01T00:00:00Z", 5, 3, 0},
    {TRUSTEE6, "2025-11-01T00:00:00Z", 4, 2, 70},
    {AZURE, "2025-01-01T00:00:00Z", 4, 2, 70},
    {PHALA, "2025-07-19T10:00:34Z", 4, 2, 70},
    {PHALA_OLD, "2026-03-01T00:00:00Z", 5, 3, 0},
};
#define REAL_COUNT (sizeof real_quotes / sizeof real_quotes[0])

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

static json_t *claims_of(const tdx_quote *q)
{
	json_t *c = json_object();
	if (c != NULL && tdx_quote_claims(q, c) != VEIL_OK) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static const char *claim_str(const json_t *c, const char *key)
{
	const char *s = json_string_value(json_object_get(c, key));
	return s != NULL ? s : "(absent)";
}

/* --- rebuilding quotes from parts ---------------------------------------- */

typedef struct quote_parts {
	const uint8_t *signed_part;
	size_t signed_len;
	const uint8_t *sig, *ak, *qe_report, *qe_sig, *auth, *pem;
	size_t auth_len, pem_len;
	uint16_t outer_type, inner_type;
} quote_parts;

static void parts_of(const tdx_quote *q, quote_parts *p)
{
	p->signed_part = q->raw;
	p->signed_len = q->signed_len;
	p->sig = q->raw + q->signed_len + 4;
	p->ak = p->sig + 64;
	p->qe_report = q->raw + q->qe_report_off;
	p->qe_sig = p->qe_report + 384;
	p->auth = q->raw + q->qe_auth_off;
	p->auth_len = q->qe_auth_len;
	p->pem = q->raw + q->pck_off;
	p->pem_len = q->pck_len;
	p->outer_type = 6;
	p->inner_type = 5;
}

static void put(uint8_t **w, const void *p, size_t n)
{
	memcpy(*w, p, n);
	*w += n;
}

static void put_le(uint8_t **w, uint32_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*(*w)++ = (uint8_t)(v >> (8 * i));
}

static uint8_t *parts_build(const quote_parts *p, size_t *len)
{
	size_t inner = 384 + 64 + 2 + p->auth_len + 2 + 4 + p->pem_len;
	size_t sig = 64 + 64 + 2 + 4 + inner;
	uint8_t *buf = malloc(p->signed_len + 4 + sig), *w = buf;

	put(&w, p->signed_part, p->signed_len);
	put_le(&w, (uint32_t)sig, 4);
	put(&w, p->sig, 64);
	put(&w, p->ak, 64);
	put_le(&w, p->outer_type, 2);
	put_le(&w, (uint32_t)inner, 4);
	put(&w, p->qe_report, 384);
	put(&w, p->qe_sig, 64);
	put_le(&w, (uint32_t)p->auth_len, 2);
	put(&w, p->auth, p->auth_len);
	put_le(&w, p->inner_type, 2);
	put_le(&w, (uint32_t)p->pem_len, 4);
	put(&w, p->pem, p->pem_len);
	*len = (size_t)(w - buf);
	return buf;
}

static tdx_quote *parse_file(const char *path)
{
	size_t len;
	uint8_t *buf = td_read(path, &len);
	tdx_quote *q = NULL;

	EXPECT_OK(tdx_quote_parse(buf, len, &q));
	free(buf);
	return q;
}

/* --- parsing ----------------------------------------------------------------- */

TEST(parses_every_real_quote)
{
	for (size_t i = 0; i < REAL_COUNT; i++) {
		size_t len;
		uint8_t *buf = td_read(real_quotes[i].path, &len);
		tdx_quote *q = NULL;

		EXPECT(tdx_quote_detect(buf, len));
		EXPECT(veil_evidence_detect(buf, len) == &veil_tdx_format);
		EXPECT_OK(tdx_quote_parse(buf, len, &q));
		if (q != NULL) {
			EXPECT(q->version == real_quotes[i].version);
			EXPECT(q->body_type == real_quotes[i].body_type);
			EXPECT(q->trailing == real_quotes[i].trailing);
			EXPECT(q->raw_len + q->trailing == len);
			EXPECT(q->signed_len == (q->version == 4 ? 632u : 54u + 648u));
			EXPECT(q->qe_auth_len == 32);
		}
		tdx_quote_free(q);
		free(buf);
	}
}

TEST(claims_match_trustee_oracle)
{
	size_t len;
	uint8_t *exp_buf = td_read("tdx/trustee/parse_tdx_claims_expected.json", &len);
	json_error_t jerr;
	json_t *exp = json_loadb((const char *)exp_buf, len, 0, &jerr);
	tdx_quote *q = parse_file(TRUSTEE4);
	json_t *c = q != NULL ? claims_of(q) : NULL;
	REQUIRE(exp != NULL && c != NULL);
	json_t *body = json_object_get(json_object_get(exp, "quote"), "body");
	json_t *hdr = json_object_get(json_object_get(exp, "quote"), "header");
	static const char *const same[][2] = {
	    {"mr_config_id", "mr_config_id"},
	    {"mr_owner", "mr_owner"},
	    {"mr_owner_config", "mr_owner_config"},
	    {"mr_seam", "mr_seam"},
	    {"mr_td", "mr_td"},
	    {"mrsigner_seam", "mr_signer_seam"},
	    {"report_data", "report_data"},
	    {"rtmr_0", "rtmr0"},
	    {"rtmr_1", "rtmr1"},
	    {"rtmr_2", "rtmr2"},
	    {"rtmr_3", "rtmr3"},
	    {"tcb_svn", "tee_tcb_svn"},
	};
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		const char *want = json_string_value(json_object_get(body, same[i][0]));
		EXPECT(want != NULL && strcmp(want, claim_str(c, same[i][1])) == 0);
	}
	/* 64-bit words: the oracle prints the little-endian bytes. */
	EXPECT(strcmp(claim_str(c, "td_attributes"), "0x0000000010000001") == 0);
	EXPECT(strcmp(claim_str(c, "seam_attributes"), "0x0000000000000000") == 0);
	EXPECT(strcmp(claim_str(c, "xfam"), "0x00000000000642e7") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(body, "td_attributes")),
		      "0100001000000000") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(hdr, "vendor_id")),
		      claim_str(c, "qe_vendor_id")) == 0);
	EXPECT(strcmp(json_string_value(json_object_get(hdr, "user_data")),
		      claim_str(c, "user_data")) == 0);
	EXPECT(json_integer_value(json_object_get(c, "version")) == 4);
	EXPECT(json_integer_value(json_object_get(c, "tee_type")) == 0x81);
	/* The debug TD: the oracle's td_attributes booleans. */
	json_t *attrs = json_object_get(exp, "td_attributes");
	EXPECT(json_is_true(json_object_get(c, "debug")));
	EXPECT(json_equal(json_object_get(c, "debug"), json_object_get(attrs, "debug")));
	EXPECT(json_equal(json_object_get(c, "sept_ve_disable"),
			  json_object_get(attrs, "septve_disable")));
	EXPECT(json_equal(json_object_get(c, "pks"), json_object_get(attrs, "protection_keys")));
	EXPECT(json_equal(json_object_get(c, "kl"), json_object_get(attrs, "key_locker")));
	EXPECT(json_equal(json_object_get(c, "perfmon"), json_object_get(attrs, "perfmon")));
	/* Unverified: PCK claims read from the leaf, no TCB status. */
	EXPECT(strcmp(claim_str(c, "fmspc"), "50806f000000") == 0);
	EXPECT(strcmp(claim_str(c, "tcb_status"), "Unknown") == 0);
	EXPECT(strcmp(claim_str(c, "revocation"), "unchecked") == 0);
	EXPECT(json_object_get(c, "tee_tcb_svn2") == NULL);
	json_decref(c);
	json_decref(exp);
	tdx_quote_free(q);
	free(exp_buf);
}

TEST(claims_of_v5_and_pck)
{
	tdx_quote *q = parse_file(TRUSTEE5);
	json_t *c = q != NULL ? claims_of(q) : NULL;
	REQUIRE(c != NULL);
	EXPECT(json_integer_value(json_object_get(c, "body_type")) == 3);
	EXPECT(strncmp(claim_str(c, "tee_tcb_svn"), "050102", 6) == 0);
	EXPECT(strlen(claim_str(c, "tee_tcb_svn2")) == 32);
	EXPECT(strlen(claim_str(c, "mr_service_td")) == 96);
	EXPECT(strcmp(claim_str(c, "mr_service_td"), "000000000000000000000000000000000000000000"
						     "000000000000000000000000000000000000000000"
						     "000000000000") != 0);
	EXPECT(strcmp(claim_str(c, "fmspc"), "90c06f000000") == 0);
	EXPECT(json_integer_value(json_object_get(c, "pck_pcesvn")) == 13);
	json_t *comps = json_object_get(c, "pck_tcb_comps");
	EXPECT(json_array_size(comps) == 16 && json_integer_value(json_array_get(comps, 0)) == 1 &&
	       json_integer_value(json_array_get(comps, 7)) == 3);
	json_decref(c);
	tdx_quote_free(q);

	q = parse_file(SPR_E4);
	c = q != NULL ? claims_of(q) : NULL;
	REQUIRE(c != NULL);
	EXPECT(json_is_false(json_object_get(c, "debug")));
	EXPECT(json_is_true(json_object_get(c, "pks")));
	EXPECT(strcmp(claim_str(c, "td_attributes"), "0x0000000040000000") == 0);
	EXPECT(json_integer_value(json_object_get(c, "qe_isvsvn")) == 4);
	EXPECT(json_integer_value(json_object_get(c, "trailing_bytes")) == 39);
	EXPECT(strcmp(claim_str(c, "pceid"), "0000") == 0);
	json_decref(c);
	tdx_quote_free(q);
}

TEST(truncated_quotes_are_refused)
{
	size_t len;
	uint8_t *buf = td_read(SPR_E4, &len);
	size_t quote_len = len - 39;
	tdx_quote *q = NULL;

	for (size_t n = 0; n < quote_len; n++) {
		veil_err err = tdx_quote_parse(buf, n, &q);
		if (err == VEIL_OK) {
			harness_fail(__FILE__, __LINE__, "a truncated quote parsed");
			tdx_quote_free(q);
			break;
		}
		EXPECT(q == NULL);
	}
	/* Exactly the quote, and one byte longer (trailing, tolerated). */
	EXPECT_OK(tdx_quote_parse(buf, quote_len, &q));
	EXPECT(q != NULL && q->trailing == 0);
	tdx_quote_free(q);
	EXPECT_OK(tdx_quote_parse(buf, quote_len + 1, &q));
	EXPECT(q != NULL && q->trailing == 1);
	tdx_quote_free(q);
	free(buf);
}

static veil_err parse_patched(const char *path, size_t off, const uint8_t *bytes, size_t n)
{
	size_t len;
	uint8_t *buf = td_read(path, &len);
	tdx_quote *q = NULL;

	memcpy(buf + off, bytes, n);
	veil_err err = tdx_quote_parse(buf, len, &q);
	tdx_quote_free(q);
	free(buf);
	return err;
}

TEST(header_and_lengths_are_checked)
{
	EXPECT_ERR(parse_patched(SPR_E4, 0, (const uint8_t[]){3, 0}, 2), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_patched(SPR_E4, 0, (const uint8_t[]){6, 0}, 2), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_patched(SPR_E4, 2, (const uint8_t[]){3, 0}, 2), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_patched(SPR_E4, 4, (const uint8_t[]){0, 0, 0, 0}, 4), VEIL_E_UNSUPPORTED);
	/* A v4 quote relabelled v5: the "body type" is then TEE_TCB_SVN. */
	EXPECT(parse_patched(SPR_E4, 0, (const uint8_t[]){5, 0}, 2) != VEIL_OK);
	/* v5: body type 1 (SGX) and a size that does not match the type. */
	EXPECT_ERR(parse_patched(V5_SAMPLE, 48, (const uint8_t[]){1, 0}, 2), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_patched(V5_SAMPLE, 48, (const uint8_t[]){2, 0}, 2), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_patched(V5_SAMPLE, 50, (const uint8_t[]){0x48, 2, 0, 0}, 4),
		   VEIL_E_MALFORMED);
	/* Signature data length: past the end, and one short. */
	EXPECT_ERR(parse_patched(V5_SAMPLE, 702, (const uint8_t[]){0xcd, 0x10, 0, 0}, 4),
		   VEIL_E_TRUNCATED);
	EXPECT_ERR(parse_patched(V5_SAMPLE, 702, (const uint8_t[]){0xff, 0xff, 0xff, 0xff}, 4),
		   VEIL_E_TRUNCATED);
	EXPECT(parse_patched(V5_SAMPLE, 702, (const uint8_t[]){0xcb, 0x10, 0, 0}, 4) != VEIL_OK);
	/* Certification data type other than 6, nested type other than 5. */
	EXPECT_ERR(parse_patched(V5_SAMPLE, 706 + 128, (const uint8_t[]){5, 0}, 2),
		   VEIL_E_UNSUPPORTED);
	EXPECT_ERR(
	    parse_patched(V5_SAMPLE, 706 + 128 + 6 + 448 + 2 + 32, (const uint8_t[]){4, 0}, 2),
	    VEIL_E_UNSUPPORTED);
	/* QE auth data length running into the next field. */
	EXPECT(parse_patched(V5_SAMPLE, 706 + 128 + 6 + 448, (const uint8_t[]){0xff, 0x0f}, 2) !=
	       VEIL_OK);
	/* Too big to be evidence. */
	tdx_quote *q = NULL;
	EXPECT_ERR(tdx_quote_parse((const uint8_t *)"", VEIL_EVIDENCE_MAX_BYTES + 1, &q),
		   VEIL_E_LIMIT);
	uint8_t small[47] = {4, 0, 2, 0, 0x81};
	EXPECT(!tdx_quote_detect(small, sizeof small));
}

TEST(inner_lengths_must_be_consumed_exactly)
{
	tdx_quote *q = parse_file(V5_SAMPLE);
	REQUIRE(q != NULL);
	quote_parts p;
	parts_of(q, &p);
	size_t len;
	uint8_t *buf = parts_build(&p, &len);
	tdx_quote *q2 = NULL;

	/* The rebuilt quote is byte-identical and parses. */
	EXPECT(len == q->raw_len && memcmp(buf, q->raw, len) == 0);
	/* One extra byte inside the signature data (its length grown by
	 * one): refused, unlike bytes after it. */
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	longer[702] = (uint8_t)(longer[702] + 1);
	EXPECT_ERR(tdx_quote_parse(longer, len + 1, &q2), VEIL_E_TRAILING);
	/* The same with the certification data size grown too. */
	longer[706 + 130] = (uint8_t)(longer[706 + 130] + 1);
	EXPECT_ERR(tdx_quote_parse(longer, len + 1, &q2), VEIL_E_TRAILING);
	/* Empty PEM. */
	p.pem_len = 0;
	free(buf);
	buf = parts_build(&p, &len);
	EXPECT_ERR(tdx_quote_parse(buf, len, &q2), VEIL_E_MALFORMED);
	free(longer);
	free(buf);
	tdx_quote_free(q);
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

/* --- PCK SGX extensions ----------------------------------------------------- */

/* A tiny DER writer for hand-made extensions. */
typedef struct der_buf {
	uint8_t b[1024];
	size_t n;
} der_buf;

static void der_add(der_buf *d, uint8_t tag, const uint8_t *p, size_t n)
{
	d->b[d->n++] = tag;
	if (n < 128) {
		d->b[d->n++] = (uint8_t)n;
	} else {
		d->b[d->n++] = 0x82;
		d->b[d->n++] = (uint8_t)(n >> 8);
		d->b[d->n++] = (uint8_t)n;
	}
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void der_oid(der_buf *d, int a, int b)
{
	uint8_t oid[11] = {0x2a, 0x86, 0x48, 0x86,       0xf8,      0x4d,
			   0x01, 0x0d, 0x01, (uint8_t)a, (uint8_t)b};
	der_add(d, 0x06, oid, b < 0 ? 10 : 11);
}

/* Options for breaking the extension. */
typedef struct ext_opts {
	int skip_entry;  /* 1..5: leave out */
	int dup_entry;   /* 1..5: repeat */
	int fmspc_len;   /* default 6 */
	int comp_value;  /* value of comp 1 */
	int skip_comp;   /* 1..18 */
	int extra_entry; /* add .6 (must be tolerated) */
	int enum_tag;    /* tag of SGX type */
} ext_opts;

static size_t ext_build(const ext_opts *o, uint8_t *out)
{
	static const uint8_t z[16] = {0};
	der_buf tcb = {0}, all = {0}, item;

	for (int c = 1; c <= 18; c++) {
		if (c == o->skip_comp)
			continue;
		item.n = 0;
		der_oid(&item, 2, c);
		if (c <= 17) {
			int val = c == 1 ? o->comp_value : c == 17 ? 11 : c;
			uint8_t ib[3] = {(uint8_t)(val >> 16), (uint8_t)(val >> 8), (uint8_t)val};
			size_t len = val < 0x80 ? 1 : val < 0x8000 ? 2 : 3, skip = 3 - len;
			der_add(&item, 0x02, ib + skip, 3 - skip);
		} else {
			der_add(&item, 0x04, z, 16);
		}
		der_add(&tcb, 0x30, item.b, item.n);
	}
	for (int e = 1; e <= 6; e++) {
		if (e == o->skip_entry || (e == 6 && !o->extra_entry))
			continue;
		for (int rep = 0; rep < (e == o->dup_entry ? 2 : 1); rep++) {
			item.n = 0;
			der_oid(&item, e, -1);
			switch (e) {
			case 1:
			case 6:
				der_add(&item, 0x04, z, 16);
				break;
			case 2:
				der_add(&item, 0x30, tcb.b, tcb.n);
				break;
			case 3:
				der_add(&item, 0x04, z, 2);
				break;
			case 4:
				der_add(&item, 0x04, (const uint8_t *)"\x50\x80\x6f\0\0\0\0",
					(size_t)o->fmspc_len);
				break;
			case 5:
				der_add(&item, (uint8_t)o->enum_tag, (const uint8_t *)"\x01", 1);
				break;
			}
			der_add(&all, 0x30, item.b, item.n);
		}
	}
	der_buf outer = {0};
	der_add(&outer, 0x30, all.b, all.n);
	memcpy(out, outer.b, outer.n);
	return outer.n;
}

static veil_err ext_try(ext_opts o, tdx_pck_ext *e)
{
	uint8_t der[1024];
	if (o.fmspc_len == 0)
		o.fmspc_len = 6;
	if (o.comp_value == 0)
		o.comp_value = 3;
	if (o.enum_tag == 0)
		o.enum_tag = 0x0a;
	size_t n = ext_build(&o, der);
	return tdx_pck_ext_parse(der, n, e);
}

TEST(pck_extensions_hand_made)
{
	tdx_pck_ext e;

	EXPECT_OK(ext_try((ext_opts){0}, &e));
	EXPECT(e.tcb_comp[0] == 3 && e.tcb_comp[4] == 5 && e.pcesvn == 11 && e.sgx_type == 1);
	EXPECT(memcmp(e.fmspc, "\x50\x80\x6f\0\0\0", 6) == 0);
	EXPECT_OK(ext_try((ext_opts){.extra_entry = 1}, &e));
	EXPECT_OK(ext_try((ext_opts){.comp_value = 255}, &e));
	EXPECT(e.tcb_comp[0] == 255);
	EXPECT_ERR(ext_try((ext_opts){.comp_value = 256}, &e), VEIL_E_MALFORMED);
	for (int i = 1; i <= 5; i++) {
		EXPECT_ERR(ext_try((ext_opts){.skip_entry = i}, &e), VEIL_E_MALFORMED);
		EXPECT_ERR(ext_try((ext_opts){.dup_entry = i}, &e), VEIL_E_MALFORMED);
	}
	EXPECT_ERR(ext_try((ext_opts){.skip_comp = 1}, &e), VEIL_E_MALFORMED);
	EXPECT_ERR(ext_try((ext_opts){.skip_comp = 17}, &e), VEIL_E_MALFORMED);
	EXPECT_ERR(ext_try((ext_opts){.skip_comp = 18}, &e), VEIL_E_MALFORMED);
	EXPECT_ERR(ext_try((ext_opts){.fmspc_len = 5}, &e), VEIL_E_MALFORMED);
	EXPECT_ERR(ext_try((ext_opts){.fmspc_len = 7}, &e), VEIL_E_MALFORMED);
	EXPECT(ext_try((ext_opts){.enum_tag = 0x02}, &e) != VEIL_OK);
}

TEST(pck_extensions_of_a_real_leaf)
{
	tdx_quote *q = parse_file(TRUSTEE6);
	REQUIRE(q != NULL);
	STACK_OF(X509) *mids = NULL;
	X509 *leaf = NULL;
	bool processor = true;
	const uint8_t *v;
	size_t n;
	tdx_pck_ext e;

	REQUIRE(tdx_pck_chain_parse(q->raw + q->pck_off, q->pck_len, tdx_intel_root(), &leaf, &mids,
				    &processor) == VEIL_OK);
	EXPECT(!processor);
	REQUIRE(veil_cert_ext(leaf, "1.2.840.113741.1.13.1", &v, &n) == VEIL_OK);
	EXPECT_OK(tdx_pck_ext_parse(v, n, &e));
	EXPECT(memcmp(e.fmspc, "\x00\xa0\x6d\x08\x00\x00", 6) == 0);
	EXPECT(e.sgx_type == 2 && e.pcesvn == 11);
	static const uint8_t comps[8] = {2, 2, 7, 7, 4, 1, 0, 2};
	EXPECT(memcmp(e.tcb_comp, comps, 8) == 0);
	/* Every truncation and every one-byte-longer form fails. */
	uint8_t *copy = malloc(n + 1);
	memcpy(copy, v, n);
	copy[n] = 0;
	for (size_t i = 0; i < n; i++)
		EXPECT(tdx_pck_ext_parse(copy, i, &e) != VEIL_OK);
	EXPECT_ERR(tdx_pck_ext_parse(copy, n + 1, &e), VEIL_E_TRAILING);
	/* Tag flips at every position must never crash; most must fail. */
	size_t accepted = 0;
	for (size_t i = 0; i < n; i++) {
		copy[i] ^= 0x20;
		if (tdx_pck_ext_parse(copy, n, &e) == VEIL_OK)
			accepted++;
		copy[i] ^= 0x20;
	}
	EXPECT(accepted < n / 2); /* value-byte flips inside OCTET STRINGs parse */
	free(copy);
	X509_free(leaf);
	sk_X509_pop_free(mids, X509_free);
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

int main(void)
{
	RUN(parses_every_real_quote);
	RUN(claims_match_trustee_oracle);
	RUN(claims_of_v5_and_pck);
	RUN(truncated_quotes_are_refused);
	RUN(header_and_lengths_are_checked);
	RUN(inner_lengths_must_be_consumed_exactly);
	RUN(real_quotes_verify_without_collateral);
	RUN(pck_validity_is_enforced);
	RUN(synthetic_root_quote_fails_cleanly);
	RUN(bit_flips_in_each_signed_part_fail);
	RUN(bit_flips_anywhere_fail_but_trailing_bytes_do_not_matter);
	RUN(pck_chain_variants);
	RUN(pck_extensions_hand_made);
	RUN(pck_extensions_of_a_real_leaf);
	RUN(cache_gives_same_verdicts);
	RUN(cache_evicts_beyond_its_cap);
	RUN(collateral_outcomes_of_sources_md);
	RUN(collateral_claims_and_revocation);
	return harness_finish("test_tdx_quote");
}

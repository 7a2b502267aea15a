/*
 * test_tdx_quote.c - the TDX quote parser, its claims and the PCK SGX
 * extension parser, on the real quotes in testdata/tdx (outcomes from its
 * SOURCES.md) and on quotes and extensions broken on purpose. Verification
 * is tested in test_tdx_verify.c.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_quote.h"
#include "harness.h"
#include "test_tdx_util.h"
#include "veil/evidence.h"
#include "veil/x509.h"

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

int main(void)
{
	RUN(parses_every_real_quote);
	RUN(claims_match_trustee_oracle);
	RUN(claims_of_v5_and_pck);
	RUN(truncated_quotes_are_refused);
	RUN(header_and_lengths_are_checked);
	RUN(inner_lengths_must_be_consumed_exactly);
	RUN(pck_extensions_hand_made);
	RUN(pck_extensions_of_a_real_leaf);
	return harness_finish("test_tdx_quote");
}

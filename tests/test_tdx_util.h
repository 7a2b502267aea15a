/*
 * test_tdx_util.h - helpers shared by the TDX quote tests (header-only,
 * static): test_tdx_quote.c (parser, claims) and test_tdx_verify.c
 * (verifier, PCK chain, cache, collateral).
 *
 * Names the real quotes in testdata/tdx with a time inside each one's PCK
 * validity and its trailing bytes (from its SOURCES.md), reads their claims,
 * and takes a parsed quote apart and builds it again from its parts, so the
 * tests can break one field at a time.
 */
#ifndef VEIL_TEST_TDX_UTIL_H
#define VEIL_TEST_TDX_UTIL_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_quote.h"
#include "harness.h"

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

static inline json_t *claims_of(const tdx_quote *q)
{
	json_t *c = json_object();
	if (c != NULL && tdx_quote_claims(q, c) != VEIL_OK) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static inline const char *claim_str(const json_t *c, const char *key)
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

static inline void parts_of(const tdx_quote *q, quote_parts *p)
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

static inline void put(uint8_t **w, const void *p, size_t n)
{
	memcpy(*w, p, n);
	*w += n;
}

static inline void put_le(uint8_t **w, uint32_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*(*w)++ = (uint8_t)(v >> (8 * i));
}

static inline uint8_t *parts_build(const quote_parts *p, size_t *len)
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

static inline tdx_quote *parse_file(const char *path)
{
	size_t len;
	uint8_t *buf = td_read(path, &len);
	tdx_quote *q = NULL;

	EXPECT_OK(tdx_quote_parse(buf, len, &q));
	free(buf);
	return q;
}

#endif

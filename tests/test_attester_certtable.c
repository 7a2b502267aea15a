/*
 * test_attester_certtable.c - the SNP certificate table parser.
 *
 * Tables are built as a host builds them (test_attester_util.h) from the
 * real Milan VCEK, ASK and ARK in the shared test data; each negative case
 * changes one thing: cut short anywhere, no terminator, a terminator that
 * points somewhere, duplicate GUIDs, overlapping, empty, out-of-range and
 * wrapping certificates, certificates inside the table, non-zero bytes
 * between or after certificates, too many entries. The GUID byte order is
 * pinned by a table whose VCEK GUID is in the mixed-endian layout.
 */
#include "test_attester_util.h"
#include "veil/limits.h"

static att_certs certs;

static veil_err parse(const uint8_t *t, size_t n, veil_snp_cert *out, size_t *count)
{
	veil_err_clear();
	return veil_snp_certtable_parse(t, n, out, VEIL_SNP_CERTTABLE_MAX, count);
}

TEST(milan_table_parses)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count = 0;
	uint8_t *t = att_milan_table(&certs, 0, &n);

	EXPECT_OK(parse(t, n, c, &count));
	REQUIRE(count == 3);
	EXPECT(strcmp(c[0].kind, "vcek") == 0);
	EXPECT(strcmp(c[1].kind, "ask") == 0);
	EXPECT(strcmp(c[2].kind, "ark") == 0);
	EXPECT(c[0].len == certs.vcek_len && memcmp(c[0].der, certs.vcek, certs.vcek_len) == 0);
	EXPECT(c[1].len == certs.ask_len && memcmp(c[1].der, certs.ask, certs.ask_len) == 0);
	EXPECT(c[2].len == certs.ark_len && memcmp(c[2].der, certs.ark, certs.ark_len) == 0);
	/* Borrowed, not copied. */
	EXPECT(c[0].der == t + 4 * 24);
	/* Each is a real certificate. */
	for (size_t i = 0; i < count; i++) {
		const unsigned char *p = c[i].der;
		X509 *x = d2i_X509(NULL, &p, (long)c[i].len);
		EXPECT(x != NULL && p == c[i].der + c[i].len);
		X509_free(x);
	}
	free(t);
}

/* The SNP_GET_EXT_REPORT buffer: the table, then zeros to the page end. */
TEST(zero_padding_is_accepted)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count = 0;
	uint8_t *t = att_milan_table(&certs, 16384, &n);

	REQUIRE(n == 16384);
	EXPECT_OK(parse(t, n, c, &count));
	EXPECT(count == 3);
	free(t);
}

TEST(empty_tables)
{
	veil_snp_cert c[4];
	uint8_t zeros[4096] = {0};
	size_t count = 99;

	EXPECT_OK(parse(NULL, 0, c, &count));
	EXPECT(count == 0);
	count = 99;
	EXPECT_OK(parse(zeros, 24, c, &count)); /* the terminator alone */
	EXPECT(count == 0);
	count = 99;
	EXPECT_OK(parse(zeros, sizeof zeros, c, &count)); /* a host that attached nothing */
	EXPECT(count == 0);
}

TEST(known_and_unknown_guids)
{
	static const uint8_t other[16] = {0xec, 0xae, 0x0c, 0x0f, 0x95, 0x02, 0x43, 0xb1,
					  0xaf, 0xa2, 0x0a, 0xe2, 0xe0, 0xd5, 0x65, 0xb6};
	static const uint8_t blob[] = {1, 2, 3, 4, 5, 6, 7, 8};
	att_blob b[] = {{att_guid_vlek, certs.vcek, certs.vcek_len},
			{att_guid_crl, blob, 3},
			{other, blob, sizeof blob}};
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count = 0;
	uint8_t *t = att_table(b, 3, 0, &n);

	EXPECT_OK(parse(t, n, c, &count));
	REQUIRE(count == 3);
	EXPECT(strcmp(c[0].kind, "vlek") == 0);
	EXPECT(strcmp(c[1].kind, "crl") == 0);
	EXPECT(strcmp(c[2].kind, "unknown") == 0 && c[2].len == sizeof blob);
	free(t);
}

/* 63da758d-e664-4564-... as a Microsoft GUID struct would store it. */
TEST(guid_byte_order_is_the_text_order)
{
	static const uint8_t mixed[16] = {0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
					  0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
	att_blob b[] = {{mixed, certs.vcek, certs.vcek_len}};
	veil_snp_cert c[4];
	size_t n, count = 0;
	uint8_t *t = att_table(b, 1, 0, &n);

	EXPECT_OK(parse(t, n, c, &count));
	REQUIRE(count == 1);
	EXPECT(strcmp(c[0].kind, "unknown") == 0);
	free(t);
}

TEST(truncated_anywhere)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count;
	uint8_t *t = att_milan_table(&certs, 0, &n);

	for (size_t cut = 1; cut < n; cut++) {
		veil_err err = parse(t, cut, c, &count);
		if (err == VEIL_OK)
			fprintf(stderr, "  cut at %zu parsed\n", cut);
		EXPECT(err != VEIL_OK);
		if (cut < 4 * 24)
			EXPECT(err == VEIL_E_TRUNCATED || err == VEIL_E_MALFORMED);
	}
	EXPECT_ERR(parse(t, 30, c, &count), VEIL_E_TRUNCATED);
	EXPECT(strstr(veil_err_detail(), "no all-zero terminator") != NULL);
	free(t);
}

TEST(one_byte_longer)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count;
	uint8_t *t = att_milan_table(&certs, 0, &n);
	uint8_t *longer = calloc(1, n + 1);

	memcpy(longer, t, n);
	EXPECT_OK(parse(longer, n + 1, c, &count)); /* a zero byte is padding */
	longer[n] = 0x30;
	EXPECT_ERR(parse(longer, n + 1, c, &count), VEIL_E_TRAILING);
	free(longer);
	free(t);
}

/* Entries only, with no terminator and no room for one. */
TEST(no_terminator)
{
	uint8_t t[48] = {0};
	veil_snp_cert c[4];
	size_t count;

	memcpy(t, att_guid_vcek, 16);
	att_put_u32le(t + 16, 48);
	att_put_u32le(t + 20, 1);
	memcpy(t + 24, att_guid_ask, 16);
	att_put_u32le(t + 40, 48);
	att_put_u32le(t + 44, 1);
	EXPECT_ERR(parse(t, sizeof t, c, &count), VEIL_E_TRUNCATED);
}

TEST(terminator_must_be_all_zero)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count;
	uint8_t *t = att_milan_table(&certs, 0, &n);

	t[3 * 24 + 16] = 1; /* terminator's offset */
	EXPECT_ERR(parse(t, n, c, &count), VEIL_E_MALFORMED);
	free(t);
}

TEST(duplicate_guid)
{
	att_blob b[] = {{att_guid_vcek, certs.vcek, certs.vcek_len},
			{att_guid_vcek, certs.ask, certs.ask_len}};
	veil_snp_cert c[4];
	size_t n, count;
	uint8_t *t = att_table(b, 2, 0, &n);

	EXPECT_ERR(parse(t, n, c, &count), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "same GUID") != NULL);
	free(t);
}

static uint8_t *milan_with(size_t entry, size_t field, uint32_t value, size_t *n)
{
	uint8_t *t = att_milan_table(&certs, 0, n);
	att_put_u32le(t + entry * 24 + field, value);
	return t;
}

TEST(bad_offsets_and_lengths)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count;
	uint8_t *t;

	/* ASK starts inside the VCEK. */
	t = milan_with(1, 16, 4 * 24 + 10, &n);
	EXPECT_ERR(parse(t, n, c, &count), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "overlaps") != NULL);
	free(t);
	/* ARK runs one byte past the end. */
	t = milan_with(2, 20, (uint32_t)certs.ark_len + 1, &n);
	EXPECT_ERR(parse(t, n, c, &count), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "past the end") != NULL);
	free(t);
	/* offset + length wraps around 2^32. */
	t = milan_with(2, 16, 0xFFFFFFF0u, &n);
	att_put_u32le(t + 2 * 24 + 20, 0x20);
	EXPECT_ERR(parse(t, n, c, &count), VEIL_E_MALFORMED);
	free(t);
	/* VCEK points into the table. */
	t = milan_with(0, 16, 24, &n);
	EXPECT_ERR(parse(t, n, c, &count), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "inside") != NULL);
	free(t);
	/* An empty certificate. */
	t = milan_with(1, 20, 0, &n);
	EXPECT_ERR(parse(t, n, c, &count), VEIL_E_MALFORMED);
	free(t);
}

/* A gap between two certificates: zeros are padding, anything else is data
 * nobody vouches for. */
TEST(gaps)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count;
	uint8_t *t = att_milan_table(&certs, 0, &n);
	uint8_t *g = calloc(1, n + 8);
	size_t ark_at = 4 * 24 + certs.vcek_len + certs.ask_len;

	memcpy(g, t, ark_at);
	memcpy(g + ark_at + 8, t + ark_at, n - ark_at);
	att_put_u32le(g + 2 * 24 + 16, (uint32_t)(ark_at + 8));
	EXPECT_OK(parse(g, n + 8, c, &count));
	EXPECT(count == 3 && c[2].len == certs.ark_len &&
	       memcmp(c[2].der, certs.ark, certs.ark_len) == 0);
	g[ark_at + 3] = 0xAA;
	EXPECT_ERR(parse(g, n + 8, c, &count), VEIL_E_MALFORMED);
	free(g);
	free(t);
}

TEST(entry_limits)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	uint8_t guid[VEIL_SNP_CERTTABLE_MAX + 1][16];
	att_blob b[VEIL_SNP_CERTTABLE_MAX + 1];
	static const uint8_t blob[4] = {1, 2, 3, 4};
	size_t n, count;
	uint8_t *t = att_milan_table(&certs, 0, &n);

	/* The caller's array is the bound as well. */
	EXPECT_ERR(veil_snp_certtable_parse(t, n, c, 2, &count), VEIL_E_LIMIT);
	free(t);
	for (size_t i = 0; i <= VEIL_SNP_CERTTABLE_MAX; i++) {
		memset(guid[i], 0x11, 16);
		guid[i][0] = (uint8_t)(i + 1);
		b[i] = (att_blob){guid[i], blob, sizeof blob};
	}
	t = att_table(b, VEIL_SNP_CERTTABLE_MAX, 0, &n);
	EXPECT_OK(parse(t, n, c, &count));
	EXPECT(count == VEIL_SNP_CERTTABLE_MAX);
	free(t);
	t = att_table(b, VEIL_SNP_CERTTABLE_MAX + 1, 0, &n);
	EXPECT_ERR(parse(t, n, c, &count), VEIL_E_LIMIT);
	free(t);
}

/* Flipping any bit of the entries either fails or still yields certificates
 * inside the buffer that do not overlap. */
TEST(bit_flips_in_the_entries)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t n, count;
	uint8_t *t = att_milan_table(&certs, 0, &n);

	for (size_t i = 0; i < 4 * 24; i++) {
		for (int bit = 0; bit < 8; bit++) {
			t[i] ^= (uint8_t)(1u << bit);
			if (parse(t, n, c, &count) == VEIL_OK) {
				for (size_t k = 0; k < count; k++)
					EXPECT(c[k].der >= t + 4 * 24 &&
					       c[k].der + c[k].len <= t + n);
			}
			t[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(t);
}

TEST(bad_arguments)
{
	size_t count;
	uint8_t t[24] = {0};
	EXPECT_ERR(veil_snp_certtable_parse(NULL, 24, NULL, 0, &count), VEIL_E_USAGE);
	EXPECT_ERR(veil_snp_certtable_parse(t, 24, NULL, 4, &count), VEIL_E_USAGE);
	EXPECT_ERR(veil_snp_certtable_parse(t, 24, NULL, 0, NULL), VEIL_E_USAGE);
}

int main(void)
{
	att_certs_load(&certs);
	RUN(milan_table_parses);
	RUN(zero_padding_is_accepted);
	RUN(empty_tables);
	RUN(known_and_unknown_guids);
	RUN(guid_byte_order_is_the_text_order);
	RUN(truncated_anywhere);
	RUN(one_byte_longer);
	RUN(no_terminator);
	RUN(terminator_must_be_all_zero);
	RUN(duplicate_guid);
	RUN(bad_offsets_and_lengths);
	RUN(gaps);
	RUN(entry_limits);
	RUN(bit_flips_in_the_entries);
	RUN(bad_arguments);
	att_certs_free(&certs);
	return harness_finish("test_attester_certtable");
}

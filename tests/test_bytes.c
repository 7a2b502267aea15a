/*
 * test_bytes.c - the bounded reader, the writer, and the DER reader.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/bytes.h"
#include "veil/der.h"

TEST(reader_reads_in_order)
{
	const uint8_t buf[] = {1, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0xab, 0xcd, 9};
	veil_reader r;
	uint8_t u8;
	uint16_t u16, be16;
	uint32_t u32;

	veil_reader_init(&r, buf, sizeof buf);
	EXPECT_OK(veil_reader_u8(&r, &u8));
	EXPECT_OK(veil_reader_u16le(&r, &u16));
	EXPECT_OK(veil_reader_u32le(&r, &u32));
	EXPECT_OK(veil_reader_u16be(&r, &be16));
	EXPECT(u8 == 1 && u16 == 0x1234 && u32 == 0x12345678 && be16 == 0xabcd);
	EXPECT_ERR(veil_reader_end(&r), VEIL_E_TRAILING);
	EXPECT_OK(veil_reader_skip(&r, 1));
	EXPECT_OK(veil_reader_end(&r));
}

TEST(reader_refuses_to_run_past_the_end)
{
	const uint8_t buf[] = {1, 2, 3};
	veil_reader r;
	uint32_t v = 0xdeadbeef;

	veil_reader_init(&r, buf, sizeof buf);
	EXPECT_ERR(veil_reader_u32le(&r, &v), VEIL_E_TRUNCATED);
	EXPECT(v == 0xdeadbeef);           /* output untouched */
	EXPECT(veil_reader_left(&r) == 3); /* cursor untouched */
	EXPECT(strstr(veil_err_detail(), "offset 0x0") != NULL);
	EXPECT_ERR(veil_reader_skip(&r, (size_t)-1), VEIL_E_TRUNCATED);
}

TEST(sub_reader_is_bounded_and_reports_absolute_offsets)
{
	const uint8_t buf[] = {0xaa, 0xbb, 0, 0, 5, 6};
	veil_reader r, sub;
	uint8_t b;

	veil_reader_init(&r, buf, sizeof buf);
	EXPECT_OK(veil_reader_skip(&r, 2));
	EXPECT_OK(veil_reader_sub(&r, 2, &sub));
	EXPECT_OK(veil_reader_zeros(&sub, 2));
	EXPECT_ERR(veil_reader_u8(&sub, &b), VEIL_E_TRUNCATED);
	EXPECT(strstr(veil_err_detail(), "offset 0x4") != NULL);
	EXPECT(veil_reader_left(&r) == 2);
	EXPECT_ERR(veil_reader_sub(&r, 3, &sub), VEIL_E_TRUNCATED);
}

TEST(reserved_zeros_are_enforced)
{
	const uint8_t buf[] = {0, 0, 1};
	veil_reader r;
	veil_reader_init(&r, buf, sizeof buf);
	EXPECT_ERR(veil_reader_zeros(&r, 3), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "offset 0x2") != NULL);
}

TEST(writer_grows_and_caps)
{
	veil_writer w;
	uint8_t *out;
	size_t len;

	veil_writer_init(&w, 8);
	EXPECT_OK(veil_writer_u32be(&w, 0x01020304));
	EXPECT_OK(veil_writer_puts(&w, "abcd"));
	EXPECT_ERR(veil_writer_putc(&w, 'x'), VEIL_E_LIMIT);
	/* sticky: later writes fail even if they would fit */
	EXPECT_ERR(veil_writer_status(&w), VEIL_E_LIMIT);
	EXPECT_ERR(veil_writer_take(&w, &out, &len), VEIL_E_LIMIT);
	veil_writer_clear(&w);

	veil_writer_init(&w, 1000);
	for (int i = 0; i < 300; i++)
		EXPECT_OK(veil_writer_u8(&w, (uint8_t)i));
	REQUIRE(veil_writer_take(&w, &out, &len) == VEIL_OK);
	EXPECT(len == 300 && out[299] == (uint8_t)299 && out[300] == 0);
	free(out);
	veil_writer_clear(&w);
}

TEST(der_reads_integers_and_rejects_non_minimal)
{
	const uint8_t ok[] = {0x02, 0x02, 0x00, 0x80};
	const uint8_t neg[] = {0x02, 0x01, 0x80};
	const uint8_t pad[] = {0x02, 0x02, 0x00, 0x01};
	const uint8_t longlen[] = {0x02, 0x81, 0x01, 0x05};
	const uint8_t toolong[] = {0x02, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	const uint8_t trunc[] = {0x04, 0x05, 1, 2};
	veil_reader r, c;
	uint64_t v;

	veil_reader_init(&r, ok, sizeof ok);
	EXPECT_OK(veil_der_read_uint(&r, VEIL_DER_INTEGER, &v));
	EXPECT(v == 0x80);
	veil_reader_init(&r, neg, sizeof neg);
	EXPECT_ERR(veil_der_read_uint(&r, VEIL_DER_INTEGER, &v), VEIL_E_MALFORMED);
	veil_reader_init(&r, pad, sizeof pad);
	EXPECT_ERR(veil_der_read_uint(&r, VEIL_DER_INTEGER, &v), VEIL_E_MALFORMED);
	veil_reader_init(&r, longlen, sizeof longlen);
	EXPECT_ERR(veil_der_read_uint(&r, VEIL_DER_INTEGER, &v), VEIL_E_MALFORMED);
	veil_reader_init(&r, toolong, sizeof toolong);
	EXPECT_ERR(veil_der_read_uint(&r, VEIL_DER_INTEGER, &v), VEIL_E_LIMIT);
	veil_reader_init(&r, trunc, sizeof trunc);
	EXPECT_ERR(veil_der_read(&r, VEIL_DER_OCTET_STRING, &c), VEIL_E_TRUNCATED);
	veil_reader_init(&r, ok, sizeof ok);
	EXPECT_ERR(veil_der_read(&r, VEIL_DER_OCTET_STRING, &c), VEIL_E_MALFORMED);
}

TEST(der_oid_text)
{
	/* 1.3.6.1.4.1.3704.1.3.1: AMD's blSPL extension. */
	const uint8_t oid[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x03, 0x01};
	veil_reader r;
	char text[64];

	veil_reader_init(&r, oid, sizeof oid);
	EXPECT_OK(veil_der_oid_text(&r, text, sizeof text));
	EXPECT(strcmp(text, "1.3.6.1.4.1.3704.1.3.1") == 0);
	EXPECT_ERR(veil_der_oid_text(&r, text, 8), VEIL_E_LIMIT);
	const uint8_t bad[] = {0x2b, 0x80, 0x01};
	veil_reader_init(&r, bad, sizeof bad);
	EXPECT_ERR(veil_der_oid_text(&r, text, sizeof text), VEIL_E_MALFORMED);
	const uint8_t unterminated[] = {0x2b, 0x86};
	veil_reader_init(&r, unterminated, sizeof unterminated);
	EXPECT_ERR(veil_der_oid_text(&r, text, sizeof text), VEIL_E_TRUNCATED);
}

int main(void)
{
	RUN(reader_reads_in_order);
	RUN(reader_refuses_to_run_past_the_end);
	RUN(sub_reader_is_bounded_and_reports_absolute_offsets);
	RUN(reserved_zeros_are_enforced);
	RUN(writer_grows_and_caps);
	RUN(der_reads_integers_and_rejects_non_minimal);
	RUN(der_oid_text);
	return harness_finish("test_bytes");
}

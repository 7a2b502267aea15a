/*
 * test_bhttp_negative.c - what the Binary HTTP decoder and encoder refuse:
 * framing indicators, status codes (RFC 9292 section 3.5), padding and
 * bytes past the end (3.8), section lengths that do not fit, every cap in
 * limits.h on both sides of it, field names and values (3.6), request
 * control data (3.4), and single-bit flips of every example byte.
 *
 * Inputs are built here with the writer, so each case shows the bytes it
 * is about. A failed decode must leave the message cleared.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_bhttp_util.h"

static const char *const examples[] = {
    "hpke/rfc9292-bhttp/known-length-request.bhttp",
    "hpke/rfc9292-bhttp/indeterminate-length-request.bhttp",
    "hpke/rfc9292-bhttp/indeterminate-length-response.bhttp",
    "hpke/rfc9292-bhttp/known-length-response-with-trailer.bhttp",
};
#define N_EXAMPLES (sizeof examples / sizeof examples[0])

/* Decodes what w holds, checks the result, clears both. */
static veil_err decode_writer(veil_writer *w, veil_bhttp_msg *m)
{
	veil_err err = bhttp_decode_copy(w->data, w->len, m);

	if (err != VEIL_OK && !bhttp_msg_is_zero(m))
		harness_fail(__FILE__, __LINE__, "failed decode left the message set");
	veil_writer_clear(w);
	return err;
}

static veil_err decode_bytes(const uint8_t *p, size_t n)
{
	veil_bhttp_msg m;
	veil_err err = bhttp_decode_copy(p, n, &m);

	if (err != VEIL_OK && !bhttp_msg_is_zero(&m))
		harness_fail(__FILE__, __LINE__, "failed decode left the message set");
	veil_bhttp_msg_clear(&m);
	return err;
}

TEST(framing_indicator)
{
	EXPECT_ERR(decode_bytes(NULL, 0), VEIL_E_TRUNCATED);
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x04, 0x40, 0xc8}, 3), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x3f, 0x40, 0xc8}, 3), VEIL_E_MALFORMED);
	/* A framing indicator is a varint: 0x4001 is a non-minimal 1. */
	EXPECT_OK(decode_bytes((const uint8_t[]){0x40, 0x01, 0x40, 0xc8}, 4));
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x40, 0x04, 0x40, 0xc8}, 4), VEIL_E_MALFORMED);
	/* A request needs its control data. */
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x00}, 1), VEIL_E_TRUNCATED);
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x02, 0x03, 'G', 'E', 'T'}, 5), VEIL_E_TRUNCATED);
	/* Every bit of the first byte of every example: never a message. */
	for (size_t e = 0; e < N_EXAMPLES; e++) {
		size_t n;
		uint8_t *p = td_read(examples[e], &n);
		for (int bit = 0; bit < 8; bit++) {
			p[0] ^= (uint8_t)(1u << bit);
			EXPECT(decode_bytes(p, n) != VEIL_OK);
			p[0] ^= (uint8_t)(1u << bit);
		}
		free(p);
	}
}

TEST(status_codes)
{
	veil_bhttp_msg m;

	EXPECT_ERR(decode_bytes((const uint8_t[]){0x01, 0x40, 0x63}, 3), VEIL_E_MALFORMED); /* 99 */
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x01, 0x42, 0x58}, 3),
		   VEIL_E_MALFORMED); /* 600 */
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x01, 0x00}, 2), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_bytes(
		       (const uint8_t[]){0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9),
		   VEIL_E_MALFORMED);
	/* 200 and 599 are final; a non-minimal 200 is still 200. */
	EXPECT_OK(decode_bytes((const uint8_t[]){0x01, 0x42, 0x57}, 3));
	EXPECT_OK(decode_bytes((const uint8_t[]){0x01, 0x80, 0, 0, 0xc8}, 5));
	/* A 1xx is informational by its value, so a message whose last
	 * status is 1xx has no final response: it is cut short. */
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x01, 0x40, 0x64, 0x00}, 4), VEIL_E_TRUNCATED);
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x03, 0x40, 0x64, 0x00}, 4), VEIL_E_TRUNCATED);
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x01, 0x40, 0x64}, 3), VEIL_E_TRUNCATED);
	/* 100, 199, then 299; then a bad status after an informational. */
	EXPECT_OK(bhttp_decode_copy(
	    (const uint8_t[]){0x01, 0x40, 0x64, 0, 0x40, 0xc7, 0, 0x41, 0x2b}, 9, &m));
	EXPECT(m.informational_count == 2 && m.informational[1].status == 199 && m.status == 299);
	veil_bhttp_msg_clear(&m);
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x01, 0x40, 0x64, 0, 0x42, 0x58}, 6),
		   VEIL_E_MALFORMED);

	/* Encoding: final outside 200..599, 1xx final, informational not 1xx. */
	EXPECT_ERR(veil_bhttp_response_init(&m, 600), VEIL_E_USAGE);
	EXPECT_ERR(veil_bhttp_response_init(&m, 99), VEIL_E_USAGE);
	EXPECT_ERR(veil_bhttp_response_init(&m, 101), VEIL_E_USAGE);
	EXPECT(bhttp_msg_is_zero(&m));
	EXPECT_OK(veil_bhttp_response_init(&m, 200));
	m.status = 100;
	EXPECT(!bhttp_round_trips(&m, false));
	m.status = 200;
	m.informational = calloc(1, sizeof *m.informational);
	REQUIRE(m.informational != NULL);
	m.informational_count = 1;
	m.informational[0].status = 200;
	{
		veil_writer w;
		veil_writer_init(&w, 1024);
		EXPECT_ERR(veil_bhttp_encode(&m, &w), VEIL_E_USAGE);
		EXPECT(w.len == 0); /* checked before anything is written */
		m.informational[0].status = 199;
		EXPECT_OK(veil_bhttp_encode(&m, &w));
		/* A request cannot carry them. */
		m.request = true;
		m.method = NULL;
		EXPECT_ERR(veil_bhttp_encode(&m, &w), VEIL_E_USAGE); /* no method */
		m.method = (char *)"GET";
		m.path = (char *)"/";
		EXPECT_ERR(veil_bhttp_encode(&m, &w), VEIL_E_USAGE); /* informational */
		m.method = m.path = NULL;
		veil_writer_clear(&w);
	}
	veil_bhttp_msg_clear(&m);
}

TEST(padding_and_trailing_bytes)
{
	for (size_t e = 0; e < N_EXAMPLES; e++) {
		size_t n;
		uint8_t *p = td_read(examples[e], &n), *longer = malloc(n + 2);
		veil_bhttp_msg m;

		REQUIRE(longer != NULL);
		memcpy(longer, p, n);
		/* One zero more is one byte more padding. */
		longer[n] = 0;
		EXPECT_OK(bhttp_decode_copy(longer, n + 1, &m));
		size_t pad = m.padding;
		veil_bhttp_msg_clear(&m);
		EXPECT_OK(bhttp_decode_copy(p, n, &m));
		EXPECT(pad == m.padding + 1);
		veil_bhttp_msg_clear(&m);
		/* Any non-zero byte there is not padding. */
		longer[n] = 0xff;
		EXPECT_ERR(decode_bytes(longer, n + 1), VEIL_E_MALFORMED);
		longer[n] = 0;
		longer[n + 1] = 0x01;
		EXPECT_ERR(decode_bytes(longer, n + 2), VEIL_E_MALFORMED);
		free(longer);
		free(p);
	}
	/* The padded example with its last padding byte set. */
	{
		size_t n;
		uint8_t *p = td_read(examples[1], &n);
		p[n - 1] = 0x80;
		EXPECT_ERR(decode_bytes(p, n), VEIL_E_MALFORMED);
		free(p);
	}
}

TEST(section_lengths_that_do_not_fit)
{
	size_t n;
	uint8_t *p = td_read(examples[0], &n);

	/* The header section length is 0x406c at offset 23. One short: the
	 * last value runs past the section, whose bytes are all there. */
	REQUIRE(n == 135 && p[23] == 0x40 && p[24] == 0x6c);
	p[24] = 0x6b;
	EXPECT_ERR(decode_bytes(p, n), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "runs past the end of the section") != NULL);
	/* One long: the content length byte (0) becomes a zero name length. */
	p[24] = 0x6d;
	EXPECT_ERR(decode_bytes(p, n), VEIL_E_MALFORMED);
	/* Longer than the message. */
	p[23] = 0x7f;
	EXPECT_ERR(decode_bytes(p, n), VEIL_E_TRUNCATED);
	free(p);
	/* Indeterminate: a field line with no terminator, chunks with no
	 * terminator: not a truncation section 3.8 allows. */
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x03, 0x40, 0xc8, 1, 'a', 0}, 6),
		   VEIL_E_TRUNCATED);
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x03, 0x40, 0xc8, 0, 2, 'h', 'i'}, 7),
		   VEIL_E_TRUNCATED);
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x03, 0x40, 0xc8, 0, 0, 1, 'a', 1, 'b'}, 9),
		   VEIL_E_TRUNCATED);
	/* Known-length content longer than what is left. */
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x01, 0x40, 0xc8, 0, 5, 'h', 'i'}, 7),
		   VEIL_E_TRUNCATED);
}

/* A response header section holding count fields "a: " (known or
 * indeterminate form). */
static veil_err decode_many_fields(size_t count, bool indeterminate)
{
	veil_writer w;
	veil_bhttp_msg m;
	veil_err err;

	veil_writer_init(&w, 1 << 20);
	bhttp_put(&w, indeterminate ? "\x03\x40\xc8" : "\x01\x40\xc8", 3);
	if (!indeterminate)
		bhttp_put_varint(&w, 3 * count);
	for (size_t i = 0; i < count; i++)
		bhttp_put(&w,
			  "\x01"
			  "a\x00",
			  3);
	if (indeterminate)
		bhttp_put(&w, "\0", 1);
	err = decode_writer(&w, &m);
	if (err == VEIL_OK && m.header.count != count)
		err = VEIL_E_MISMATCH;
	veil_bhttp_msg_clear(&m);
	return err;
}

/* A response with one header field of the given name and value sizes. */
static veil_err decode_field_sized(size_t name_len, size_t value_len)
{
	char *name = malloc(name_len), *value = malloc(value_len);
	veil_writer w, sec;
	veil_bhttp_msg m;
	veil_err err;

	if (name == NULL || value == NULL)
		abort();
	memset(name, 'n', name_len);
	memset(value, 'v', value_len);
	veil_writer_init(&sec, 1 << 20);
	bhttp_put_str(&sec, name, name_len);
	bhttp_put_str(&sec, value, value_len);
	veil_writer_init(&w, 1 << 20);
	bhttp_put(&w, "\x01\x40\xc8", 3);
	bhttp_put_str(&w, (const char *)sec.data, sec.len);
	veil_writer_clear(&sec);
	free(name);
	free(value);
	err = decode_writer(&w, &m);
	veil_bhttp_msg_clear(&m);
	return err;
}

TEST(caps_on_decode)
{
	veil_writer w;
	veil_bhttp_msg m;
	uint8_t *big;

	EXPECT_OK(decode_many_fields(VEIL_BHTTP_FIELDS_MAX, false));
	EXPECT_ERR(decode_many_fields(VEIL_BHTTP_FIELDS_MAX + 1, false), VEIL_E_LIMIT);
	EXPECT_OK(decode_many_fields(VEIL_BHTTP_FIELDS_MAX, true));
	EXPECT_ERR(decode_many_fields(VEIL_BHTTP_FIELDS_MAX + 1, true), VEIL_E_LIMIT);
	EXPECT_OK(decode_field_sized(VEIL_BHTTP_FIELD_MAX, VEIL_BHTTP_FIELD_MAX));
	EXPECT_ERR(decode_field_sized(VEIL_BHTTP_FIELD_MAX + 1, 1), VEIL_E_LIMIT);
	EXPECT_ERR(decode_field_sized(1, VEIL_BHTTP_FIELD_MAX + 1), VEIL_E_LIMIT);

	/* Informational responses: 16 are fine, 17 are not. */
	for (size_t count = VEIL_BHTTP_INFORMATIONAL_MAX; count <= VEIL_BHTTP_INFORMATIONAL_MAX + 1;
	     count++) {
		veil_writer_init(&w, 1024);
		bhttp_put(&w, "\x01", 1);
		for (size_t i = 0; i < count; i++)
			bhttp_put(&w, "\x40\x67\x00", 3);
		bhttp_put(&w, "\x40\xc8", 2);
		EXPECT_ERR(decode_writer(&w, &m),
			   count > VEIL_BHTTP_INFORMATIONAL_MAX ? VEIL_E_LIMIT : VEIL_OK);
		veil_bhttp_msg_clear(&m);
	}

	/* A control string over VEIL_BHTTP_CONTROL_MAX, and one at it. */
	big = malloc(VEIL_BHTTP_CONTENT_MAX + 1);
	REQUIRE(big != NULL);
	memset(big, 'G', VEIL_BHTTP_CONTROL_MAX + 1);
	for (size_t len = VEIL_BHTTP_CONTROL_MAX; len <= VEIL_BHTTP_CONTROL_MAX + 1; len++) {
		veil_writer_init(&w, 1 << 20);
		bhttp_put(&w, "\x00", 1);
		bhttp_put_str(&w, (const char *)big, len);
		bhttp_put_str(&w, "https", 5);
		bhttp_put_str(&w, "", 0);
		bhttp_put_str(&w, "/", 1);
		EXPECT_ERR(decode_writer(&w, &m),
			   len > VEIL_BHTTP_CONTROL_MAX ? VEIL_E_LIMIT : VEIL_OK);
		veil_bhttp_msg_clear(&m);
	}

	/* Content: a declared length past the cap fails on the cap even
	 * with no bytes behind it. */
	veil_writer_init(&w, 64);
	bhttp_put(&w, "\x01\x40\xc8\x00", 4);
	bhttp_put_varint(&w, VEIL_BHTTP_CONTENT_MAX + 1);
	EXPECT_ERR(decode_writer(&w, &m), VEIL_E_LIMIT);
	/* Chunks: exactly the cap, then one byte past it. */
	memset(big, 'c', VEIL_BHTTP_CONTENT_MAX + 1);
	for (int extra = 0; extra <= 1; extra++) {
		veil_writer_init(&w, BHTTP_TEST_OUT_MAX);
		bhttp_put(&w, "\x03\x40\xc8\x00", 4);
		bhttp_put_varint(&w, VEIL_BHTTP_CONTENT_MAX / 2);
		bhttp_put(&w, big, VEIL_BHTTP_CONTENT_MAX / 2);
		bhttp_put_varint(&w, VEIL_BHTTP_CONTENT_MAX / 2);
		bhttp_put(&w, big, VEIL_BHTTP_CONTENT_MAX / 2);
		if (extra)
			bhttp_put(&w, "\x01x", 2);
		bhttp_put(&w, "\x00\x00", 2);
		EXPECT_ERR(decode_writer(&w, &m), extra ? VEIL_E_LIMIT : VEIL_OK);
		EXPECT(extra || m.content_len == VEIL_BHTTP_CONTENT_MAX);
		veil_bhttp_msg_clear(&m);
	}
	/* Known-length content at the cap. */
	veil_writer_init(&w, BHTTP_TEST_OUT_MAX);
	bhttp_put(&w, "\x01\x40\xc8\x00", 4);
	bhttp_put_str(&w, (const char *)big, VEIL_BHTTP_CONTENT_MAX);
	EXPECT_OK(decode_writer(&w, &m));
	veil_bhttp_msg_clear(&m);
	free(big);
}

TEST(caps_on_encode)
{
	uint8_t *big = calloc(1, VEIL_BHTTP_CONTENT_MAX + 1);
	veil_bhttp_msg m;
	veil_writer w;

	REQUIRE(big != NULL);
	EXPECT_OK(veil_bhttp_response_init(&m, 200));
	for (size_t i = 0; i < VEIL_BHTTP_FIELDS_MAX; i++)
		EXPECT_OK(veil_bhttp_fields_add(&m.header, "a", NULL, 0));
	EXPECT_ERR(veil_bhttp_fields_add(&m.header, "a", NULL, 0), VEIL_E_LIMIT);
	EXPECT(m.header.count == VEIL_BHTTP_FIELDS_MAX);
	EXPECT(bhttp_round_trips(&m, false) && bhttp_round_trips(&m, true));
	/* Sizes: at the cap and one past it. */
	memset(big, 'v', VEIL_BHTTP_FIELD_MAX + 1);
	EXPECT_OK(veil_bhttp_fields_add(&m.trailer, "v", big, VEIL_BHTTP_FIELD_MAX));
	EXPECT_ERR(veil_bhttp_fields_add(&m.trailer, "v", big, VEIL_BHTTP_FIELD_MAX + 1),
		   VEIL_E_LIMIT);
	big[VEIL_BHTTP_FIELD_MAX + 1] = 0;
	EXPECT_ERR(veil_bhttp_fields_add(&m.trailer, (const char *)big, NULL, 0), VEIL_E_LIMIT);
	EXPECT_ERR(veil_bhttp_set_content(&m, big, VEIL_BHTTP_CONTENT_MAX + 1), VEIL_E_LIMIT);
	EXPECT_OK(veil_bhttp_set_content(&m, big, VEIL_BHTTP_CONTENT_MAX));
	EXPECT(bhttp_round_trips(&m, false) && bhttp_round_trips(&m, true));
	/* A struct filled in by hand past the caps. */
	m.content_len = VEIL_BHTTP_CONTENT_MAX + 1;
	veil_writer_init(&w, 16);
	EXPECT_ERR(veil_bhttp_encode(&m, &w), VEIL_E_LIMIT);
	m.content_len = VEIL_BHTTP_CONTENT_MAX;
	m.informational = calloc(VEIL_BHTTP_INFORMATIONAL_MAX + 1, sizeof *m.informational);
	REQUIRE(m.informational != NULL);
	m.informational_count = VEIL_BHTTP_INFORMATIONAL_MAX + 1;
	for (size_t i = 0; i < m.informational_count; i++)
		m.informational[i].status = 103;
	EXPECT_ERR(veil_bhttp_encode(&m, &w), VEIL_E_LIMIT);
	m.informational_count = VEIL_BHTTP_INFORMATIONAL_MAX;
	EXPECT(bhttp_round_trips(&m, false) && bhttp_round_trips(&m, true));
	/* A writer too small fails with the writer's limit. */
	EXPECT_ERR(veil_bhttp_encode(&m, &w), VEIL_E_LIMIT);
	veil_writer_clear(&w);
	veil_bhttp_msg_clear(&m);
	free(big);
}

int main(void)
{
	RUN(framing_indicator);
	RUN(status_codes);
	RUN(padding_and_trailing_bytes);
	RUN(section_lengths_that_do_not_fit);
	RUN(caps_on_decode);
	RUN(caps_on_encode);
	return harness_finish("test_bhttp_negative");
}

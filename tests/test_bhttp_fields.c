/*
 * test_bhttp_fields.c - the Binary HTTP rules for field lines (RFC 9292
 * section 3.6, RFC 9113 section 8.2.1) and request control data (section
 * 3.4, RFC 9113 section 8.3.1), on decode and on encode, and single-bit
 * flips of every byte of the RFC 9292 examples.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_bhttp_util.h"

static veil_err decode_bytes(const uint8_t *p, size_t n)
{
	veil_bhttp_msg m;
	veil_err err = bhttp_decode_copy(p, n, &m);

	veil_bhttp_msg_clear(&m);
	return err;
}

typedef struct test_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
} test_field;

#define F(n, v)                                                                                    \
	{                                                                                          \
		n, sizeof n - 1, v, sizeof v - 1                                                   \
	}

/* Decodes a response whose header (or, with trailer set, trailer) section
 * holds the given fields, in the known-length form and then in the
 * indeterminate form; both must give the same answer. */
static veil_err decode_fields(const test_field *f, size_t count, bool trailer)
{
	veil_err result[2];

	for (int indeterminate = 0; indeterminate <= 1; indeterminate++) {
		veil_writer w, sec;
		veil_bhttp_msg m;

		veil_writer_init(&sec, 1 << 16);
		for (size_t i = 0; i < count; i++) {
			bhttp_put_str(&sec, f[i].name, f[i].name_len);
			bhttp_put_str(&sec, f[i].value, f[i].value_len);
		}
		veil_writer_init(&w, 1 << 16);
		bhttp_put(&w, indeterminate ? "\x03\x40\xc8" : "\x01\x40\xc8", 3);
		if (trailer)
			bhttp_put(&w, "\x00\x00", 2); /* empty header, empty content */
		if (!indeterminate)
			bhttp_put_varint(&w, sec.len);
		bhttp_put(&w, sec.data, sec.len);
		if (indeterminate)
			bhttp_put(&w, "\x00", 1);
		veil_writer_clear(&sec);
		result[indeterminate] = bhttp_decode_copy(w.data, w.len, &m);
		veil_writer_clear(&w);
		if (result[indeterminate] == VEIL_OK) {
			const veil_bhttp_fields *got = trailer ? &m.trailer : &m.header;
			if (got->count != count)
				harness_fail(__FILE__, __LINE__, "field count");
			/* Names come back exactly as sent. */
			for (size_t i = 0; i < count && i < got->count; i++)
				if (!bhttp_bytes_eq(got->items[i].name, got->items[i].name_len,
						    f[i].name, f[i].name_len))
					harness_fail(__FILE__, __LINE__, "field name changed");
		} else if (!bhttp_msg_is_zero(&m)) {
			harness_fail(__FILE__, __LINE__, "failed decode left the message set");
		}
		veil_bhttp_msg_clear(&m);
	}
	if (result[0] != result[1])
		harness_fail(__FILE__, __LINE__, "the two forms disagree");
	return result[0];
}

/* Adds the fields with the builder and encodes; the result of the first
 * failing step. */
static veil_err encode_fields(const test_field *f, size_t count, bool trailer)
{
	veil_bhttp_msg m;
	veil_writer w;
	veil_err err = VEIL_OK;

	if (veil_bhttp_response_init(&m, 200) != VEIL_OK)
		abort();
	for (size_t i = 0; i < count && err == VEIL_OK; i++) {
		if (strlen(f[i].name) != f[i].name_len) {
			err = VEIL_E_USAGE; /* a C string cannot hold it */
			break;
		}
		err = veil_bhttp_fields_add(trailer ? &m.trailer : &m.header, f[i].name,
					    (const uint8_t *)f[i].value, f[i].value_len);
	}
	veil_writer_init(&w, 1 << 16);
	if (err == VEIL_OK)
		err = veil_bhttp_encode(&m, &w);
	veil_writer_clear(&w);
	veil_bhttp_msg_clear(&m);
	return err;
}

TEST(field_names)
{
	/* RFC 9292 does not require lowercase (only RFC 9113 does, for
	 * HTTP/2 framing): uppercase is a token character and is kept. */
	static const test_field ok[] = {
	    F("content-type", "x"),
	    F("X-Upper-Case", "x"),
	    F("!#$%&'*+-.^_`|~09az", "x"),
	    F("a", ""),
	};
	static const test_field bad[] = {
	    F("two words", "x"), F("colon:inside", "x"), F("tab\there", "x"), F("quote\"d", "x"),
	    F("slash/", "x"),    F("nul\0", "x"),        F("high\x80", "x"),  F("del\x7f", "x"),
	    F("(paren)", "x"),   F("semi;colon", "x"),   F("newline\n", "x"),
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		EXPECT_OK(decode_fields(&ok[i], 1, false));
		EXPECT_OK(decode_fields(&ok[i], 1, true));
		EXPECT_OK(encode_fields(&ok[i], 1, false));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		EXPECT_ERR(decode_fields(&bad[i], 1, false), VEIL_E_MALFORMED);
		EXPECT_ERR(encode_fields(&bad[i], 1, false), VEIL_E_USAGE);
	}
	/* An empty name: in the known-length form a broken field line
	 * ("Name Length (i) = 1.."); in the indeterminate form it is the
	 * section's terminator, so it cannot be sent at all. */
	EXPECT_ERR(decode_bytes((const uint8_t[]){0x01, 0x40, 0xc8, 2, 0, 0}, 6), VEIL_E_MALFORMED);
	EXPECT_OK(decode_bytes((const uint8_t[]){0x03, 0x40, 0xc8, 0, 0, 0}, 6));
	{
		test_field empty = F("", "x");
		EXPECT_ERR(encode_fields(&empty, 1, false), VEIL_E_USAGE);
	}
}

TEST(pseudo_fields)
{
	static const test_field first[] = {F(":protocol", "websocket"), F("a", "b")};
	static const test_field after[] = {F("a", "b"), F(":protocol", "websocket")};
	static const char *const forbidden[] = {":method", ":scheme", ":authority", ":path",
						":status"};

	/* Section 3.6: extension pseudo-fields may come first in a header
	 * section, never after a regular field and never in trailers. */
	EXPECT_OK(decode_fields(first, 2, false));
	EXPECT_OK(encode_fields(first, 2, false));
	EXPECT_ERR(decode_fields(after, 2, false), VEIL_E_MALFORMED);
	EXPECT_ERR(encode_fields(after, 2, false), VEIL_E_USAGE);
	EXPECT_ERR(decode_fields(first, 1, true), VEIL_E_MALFORMED);
	EXPECT_ERR(encode_fields(first, 1, true), VEIL_E_USAGE);
	for (size_t i = 0; i < 5; i++) {
		test_field f = {forbidden[i], strlen(forbidden[i]), "x", 1};
		EXPECT_ERR(decode_fields(&f, 1, false), VEIL_E_MALFORMED);
		EXPECT_ERR(encode_fields(&f, 1, false), VEIL_E_USAGE);
	}
	{
		test_field colon = F(":", "x"), bad = F(":a b", "x");
		EXPECT_ERR(decode_fields(&colon, 1, false), VEIL_E_MALFORMED);
		EXPECT_ERR(decode_fields(&bad, 1, false), VEIL_E_MALFORMED);
	}
}

TEST(field_values)
{
	/* RFC 9113 section 8.2.1, a MUST through RFC 9292 section 3.6. */
	static const test_field ok[] = {
	    F("a", ""),
	    F("a", "inner space and\ttab"),
	    F("a", "obs-text \x80\xff"),
	    F("a", "\x01\x7f controls other than NUL CR LF"),
	};
	static const test_field bad[] = {
	    F("a", "cr\rhere"),  F("a", "lf\nhere"),  F("a", "nul\0here"),  F("a", " leading"),
	    F("a", "trailing "), F("a", "\tleading"), F("a", "trailing\t"), F("a", " "),
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		EXPECT_OK(decode_fields(&ok[i], 1, false));
		EXPECT_OK(encode_fields(&ok[i], 1, true));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		EXPECT_ERR(decode_fields(&bad[i], 1, false), VEIL_E_MALFORMED);
		EXPECT_ERR(decode_fields(&bad[i], 1, true), VEIL_E_MALFORMED);
		EXPECT_ERR(encode_fields(&bad[i], 1, false), VEIL_E_USAGE);
	}
}

/* A known-length request with the given control data (lengths explicit so
 * a NUL can be inside). */
static veil_err decode_control(const char *method, size_t ml, const char *scheme, size_t sl,
			       const char *authority, size_t al, const char *path, size_t pl)
{
	veil_bhttp_msg m;
	veil_writer w;
	veil_err err;

	veil_writer_init(&w, 1 << 16);
	bhttp_put(&w, "\x00", 1);
	bhttp_put_str(&w, method, ml);
	bhttp_put_str(&w, scheme, sl);
	bhttp_put_str(&w, authority, al);
	bhttp_put_str(&w, path, pl);
	err = bhttp_decode_copy(w.data, w.len, &m);
	veil_writer_clear(&w);
	if (err != VEIL_OK && !bhttp_msg_is_zero(&m))
		harness_fail(__FILE__, __LINE__, "failed decode left the message set");
	veil_bhttp_msg_clear(&m);
	return err;
}

#define S(s) s, sizeof s - 1

TEST(request_control_data)
{
	veil_bhttp_msg m;

	EXPECT_OK(decode_control(S("GET"), S("https"), S("example.com"), S("/")));
	EXPECT_OK(decode_control(S("OPTIONS"), S("https"), S(""), S("*")));
	/* CONNECT omits scheme and path (RFC 9113 section 8.5). */
	EXPECT_OK(decode_control(S("CONNECT"), S(""), S("example.com:443"), S("")));
	EXPECT_OK(decode_control(S("GET"), S("coap+tcp"), S("h"), S("/%00?q=\x80")));
	EXPECT_ERR(decode_control(S(""), S("https"), S("h"), S("/")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GE T"), S("https"), S("h"), S("/")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GET\0"), S("https"), S("h"), S("/")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GET"), S("1http"), S("h"), S("/")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GET"), S("ht tp"), S("h"), S("/")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GET"), S("https"), S("h\0st"), S("/")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GET"), S("https"), S("h"), S("/a b")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GET"), S("https"), S("h"), S("/\r\nX: y")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GET"), S("https"), S("h"), S("/\x7f")), VEIL_E_MALFORMED);
	/* RFC 9113 section 8.3.1: an http(s) path is never empty. */
	EXPECT_ERR(decode_control(S("GET"), S("https"), S("h"), S("")), VEIL_E_MALFORMED);
	EXPECT_ERR(decode_control(S("GET"), S("HTTP"), S("h"), S("")), VEIL_E_MALFORMED);

	/* The same rules when building. */
	EXPECT_ERR(veil_bhttp_request_init(&m, NULL, "https", "h", "/"), VEIL_E_USAGE);
	EXPECT_ERR(veil_bhttp_request_init(&m, "GE T", "https", "h", "/"), VEIL_E_USAGE);
	EXPECT_ERR(veil_bhttp_request_init(&m, "GET", "https", "h", "/a\nb"), VEIL_E_USAGE);
	EXPECT_ERR(veil_bhttp_request_init(&m, "GET", "https", "h", ""), VEIL_E_USAGE);
	EXPECT(bhttp_msg_is_zero(&m));
	/* Absent scheme, authority and path are empty. */
	EXPECT_OK(veil_bhttp_request_init(&m, "CONNECT", NULL, "h:443", NULL));
	EXPECT(bhttp_str_eq(m.scheme, "") && bhttp_str_eq(m.path, ""));
	EXPECT(bhttp_round_trips(&m, false) && bhttp_round_trips(&m, true));
	veil_bhttp_msg_clear(&m);
}

/* Every single-bit flip of every byte of every example either fails
 * cleanly or gives a message that round-trips in both forms. */
TEST(bit_flips_fail_cleanly_or_round_trip)
{
	static const char *const files[] = {
	    "hpke/rfc9292-bhttp/known-length-request.bhttp",
	    "hpke/rfc9292-bhttp/indeterminate-length-request.bhttp",
	    "hpke/rfc9292-bhttp/indeterminate-length-response.bhttp",
	    "hpke/rfc9292-bhttp/known-length-response-with-trailer.bhttp",
	};
	size_t decoded = 0, refused = 0;

	for (size_t e = 0; e < sizeof files / sizeof files[0]; e++) {
		size_t n;
		uint8_t *p = td_read(files[e], &n);
		for (size_t i = 0; i < n; i++) {
			for (int bit = 0; bit < 8; bit++) {
				veil_bhttp_msg m;
				veil_err err;
				p[i] ^= (uint8_t)(1u << bit);
				err = bhttp_decode_copy(p, n, &m);
				if (err == VEIL_OK) {
					EXPECT(bhttp_round_trips(&m, false));
					EXPECT(bhttp_round_trips(&m, true));
					decoded++;
				} else {
					EXPECT(err == VEIL_E_TRUNCATED || err == VEIL_E_MALFORMED ||
					       err == VEIL_E_LIMIT);
					EXPECT(bhttp_msg_is_zero(&m));
					refused++;
				}
				veil_bhttp_msg_clear(&m);
				p[i] ^= (uint8_t)(1u << bit);
			}
		}
		free(p);
	}
	/* Flips inside names and values mostly still decode; flips in
	 * lengths and the framing mostly do not. Both must happen. */
	EXPECT(decoded > 0 && refused > 0);
}

int main(void)
{
	RUN(field_names);
	RUN(pseudo_fields);
	RUN(field_values);
	RUN(request_control_data);
	RUN(bit_flips_fail_cleanly_or_round_trip);
	return harness_finish("test_bhttp_fields");
}

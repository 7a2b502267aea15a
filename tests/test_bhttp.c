/*
 * test_bhttp.c - Binary HTTP (RFC 9292): QUIC varints, the four RFC 9292
 * section 5 examples and the two RFC 9458 Appendix A messages (decoded,
 * compared with the decoded view in examples.json, re-encoded), every
 * truncation of each (section 3.8), and round trips of built messages.
 *
 * The refusals (statuses, padding, caps, field and control-data rules, bit
 * flips) are in test_bhttp_negative.c.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_bhttp_util.h"
#include "veil/json.h"

#define EXAMPLES "hpke/rfc9292-bhttp/"

/* ---- QUIC variable-length integers (RFC 9000 section 16) ---- */

static bool varint_writes(uint64_t v, const uint8_t *want, size_t want_len)
{
	veil_writer w;
	bool ok;

	veil_writer_init(&w, 16);
	ok = veil_writer_varint(&w, v) == VEIL_OK && bhttp_bytes_eq(w.data, w.len, want, want_len);
	veil_writer_clear(&w);
	return ok;
}

static bool varint_reads(const uint8_t *p, size_t n, uint64_t want)
{
	veil_reader r;
	uint64_t v = 0;

	veil_reader_init(&r, p, n);
	return veil_reader_varint(&r, &v) == VEIL_OK && v == want && veil_reader_left(&r) == 0;
}

TEST(varint_each_length_form)
{
	static const struct {
		uint64_t v;
		uint8_t enc[8];
		size_t len;
	} cases[] = {
	    {0, {0x00}, 1},
	    {63, {0x3f}, 1},
	    {64, {0x40, 0x40}, 2},
	    {16383, {0x7f, 0xff}, 2},
	    {16384, {0x80, 0x00, 0x40, 0x00}, 4},
	    {(1u << 30) - 1, {0xbf, 0xff, 0xff, 0xff}, 4},
	    {1u << 30, {0xc0, 0, 0, 0, 0x40, 0, 0, 0}, 8},
	    {(UINT64_C(1) << 62) - 1, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8},
	    /* RFC 9000 appendix A.1 examples. */
	    {151288809941952652u, {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}, 8},
	    {494878333, {0x9d, 0x7f, 0x3e, 0x7d}, 4},
	    {15293, {0x7b, 0xbd}, 2},
	    {37, {0x25}, 1},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		EXPECT(veil_varint_len(cases[i].v) == cases[i].len);
		EXPECT(varint_writes(cases[i].v, cases[i].enc, cases[i].len));
		EXPECT(varint_reads(cases[i].enc, cases[i].len, cases[i].v));
	}
}

TEST(varint_non_minimal_encodings_are_read)
{
	/* RFC 9000 appendix A.1: 0x4025 is 37 in two bytes; RFC 9292 section 3
	 * accepts every encoding. */
	const uint8_t two[] = {0x40, 0x25}, four[] = {0x80, 0, 0, 0x25};
	const uint8_t eight[] = {0xc0, 0, 0, 0, 0, 0, 0, 0x25};
	const uint8_t zero8[] = {0xc0, 0, 0, 0, 0, 0, 0, 0};

	EXPECT(varint_reads(two, sizeof two, 37));
	EXPECT(varint_reads(four, sizeof four, 37));
	EXPECT(varint_reads(eight, sizeof eight, 37));
	EXPECT(varint_reads(zero8, sizeof zero8, 0));
}

TEST(varint_refuses_past_2_62)
{
	veil_writer w;

	EXPECT(veil_varint_len(UINT64_C(1) << 62) == 0);
	EXPECT(veil_varint_len(UINT64_MAX) == 0);
	veil_writer_init(&w, 16);
	EXPECT_ERR(veil_writer_varint(&w, UINT64_C(1) << 62), VEIL_E_USAGE);
	EXPECT(w.len == 0);
	/* The failure is sticky, like every other writer failure. */
	EXPECT_ERR(veil_writer_status(&w), VEIL_E_USAGE);
	EXPECT_ERR(veil_writer_varint(&w, 1), VEIL_E_USAGE);
	veil_writer_clear(&w);
	veil_writer_init(&w, 16);
	EXPECT_ERR(veil_writer_varint(&w, UINT64_MAX), VEIL_E_USAGE);
	veil_writer_clear(&w);
}

TEST(varint_truncated_leaves_reader_in_place)
{
	const uint8_t enc[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
	veil_reader r;
	uint64_t v = 7;

	for (size_t n = 0; n < sizeof enc; n++) {
		veil_reader_init(&r, enc, n);
		EXPECT_ERR(veil_reader_varint(&r, &v), VEIL_E_TRUNCATED);
		EXPECT(veil_reader_left(&r) == n && v == 7);
	}
	/* Each shorter form, one byte short. */
	veil_reader_init(&r, (const uint8_t[]){0x40}, 1);
	EXPECT_ERR(veil_reader_varint(&r, &v), VEIL_E_TRUNCATED);
	veil_reader_init(&r, (const uint8_t[]){0x80, 0, 0}, 3);
	EXPECT_ERR(veil_reader_varint(&r, &v), VEIL_E_TRUNCATED);
}

/* ---- RFC 9292 section 5 examples against examples.json ---- */

static bool fields_match_json(const veil_bhttp_fields *f, const json_t *arr)
{
	if (!json_is_array(arr) || json_array_size(arr) != f->count)
		return false;
	for (size_t i = 0; i < f->count; i++) {
		const json_t *pair = json_array_get(arr, i);
		const json_t *n = json_array_get(pair, 0), *v = json_array_get(pair, 1);
		if (!json_is_string(n) || !json_is_string(v) ||
		    !bhttp_bytes_eq(f->items[i].name, f->items[i].name_len, json_string_value(n),
				    json_string_length(n)) ||
		    !bhttp_bytes_eq(f->items[i].value, f->items[i].value_len, json_string_value(v),
				    json_string_length(v)))
			return false;
	}
	return true;
}

static bool str_member_is(const json_t *obj, const char *key, const char *have)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) && bhttp_str_eq(json_string_value(v), have);
}

/* Checks one decoded message against its decoded view. */
static void expect_matches_view(const veil_bhttp_msg *m, const json_t *d)
{
	json_int_t framing = json_integer_value(json_object_get(d, "framing_indicator"));
	const json_t *content = json_object_get(d, "content");

	EXPECT(m->request == (framing == 0 || framing == 2));
	EXPECT(m->indeterminate == (framing >= 2));
	if (m->request) {
		EXPECT(str_member_is(d, "method", m->method));
		EXPECT(str_member_is(d, "scheme", m->scheme));
		EXPECT(str_member_is(d, "authority", m->authority));
		EXPECT(str_member_is(d, "path", m->path));
	} else {
		const json_t *info = json_object_get(d, "informational");
		EXPECT(m->status == json_integer_value(json_object_get(d, "status")));
		REQUIRE(json_array_size(info) == m->informational_count);
		for (size_t i = 0; i < m->informational_count; i++) {
			const json_t *one = json_array_get(info, i);
			EXPECT(m->informational[i].status ==
			       json_integer_value(json_object_get(one, "status")));
			EXPECT(fields_match_json(&m->informational[i].fields,
						 json_object_get(one, "fields")));
		}
	}
	EXPECT(fields_match_json(&m->header, json_object_get(d, "header_fields")));
	EXPECT(fields_match_json(&m->trailer, json_object_get(d, "trailer_fields")));
	EXPECT(bhttp_bytes_eq(m->content, m->content_len, json_string_value(content),
			      json_string_length(content)));
	EXPECT((json_int_t)m->padding == json_integer_value(json_object_get(d, "padding_bytes")));
}

TEST(rfc9292_examples_decode_and_reencode)
{
	size_t jlen, seen = 0;
	uint8_t *jbuf = td_read(EXAMPLES "examples.json", &jlen);
	json_t *root = NULL, *examples;

	EXPECT_OK(veil_json_parse(jbuf, jlen, &root));
	free(jbuf);
	REQUIRE(root != NULL);
	examples = json_object_get(root, "examples");
	for (size_t i = 0; i < json_array_size(examples); i++) {
		const json_t *ex = json_array_get(examples, i);
		const json_t *d = json_object_get(ex, "decoded");
		char path[128];
		size_t n, hex_len, enc_len;
		uint8_t *bytes, *hex, *enc = NULL;
		veil_bhttp_msg m;

		snprintf(path, sizeof path, EXAMPLES "%s",
			 json_string_value(json_object_get(ex, "name")));
		bytes = td_read(path, &n);
		hex = td_hex(json_string_value(json_object_get(ex, "hex")), &hex_len);
		EXPECT(bhttp_bytes_eq(bytes, n, hex, hex_len)); /* the file is the figure */
		EXPECT_OK(bhttp_decode_copy(bytes, n, &m));
		expect_matches_view(&m, d);
		/* None of the four is truncated; only the indeterminate request
		 * is padded (10 bytes). The encoder writes every section and
		 * no padding, so the same form reproduces the bytes less the
		 * padding exactly. */
		EXPECT_OK(bhttp_encode_as(&m, m.indeterminate, &enc, &enc_len));
		EXPECT(bhttp_bytes_eq(enc, enc_len, bytes, n - m.padding));
		free(enc);
		/* Both forms decode back to the same message. */
		EXPECT(bhttp_round_trips(&m, false));
		EXPECT(bhttp_round_trips(&m, true));
		veil_bhttp_msg_clear(&m);
		free(bytes);
		free(hex);
		seen++;
	}
	EXPECT(seen == 4);
	json_decref(root);
}

TEST(rfc9458_messages_decode)
{
	size_t n, enc_len;
	uint8_t *req = td_read("hpke/rfc9458-ohttp/request.bhttp", &n), *enc = NULL;
	veil_bhttp_msg m;

	/* RFC 9458 Appendix A: GET https://example.com/, cut after the
	 * control data (RFC 9292 section 3.8). */
	EXPECT_OK(bhttp_decode_copy(req, n, &m));
	EXPECT(m.request && !m.indeterminate);
	EXPECT(bhttp_str_eq(m.method, "GET") && bhttp_str_eq(m.scheme, "https"));
	EXPECT(bhttp_str_eq(m.authority, "example.com") && bhttp_str_eq(m.path, "/"));
	EXPECT(m.header.count == 0 && m.content_len == 0 && m.trailer.count == 0);
	EXPECT(m.padding == 0);
	/* The encoder does not truncate: the same bytes and three zero
	 * lengths (header, content, trailer), which decode equal. */
	EXPECT_OK(bhttp_encode_as(&m, false, &enc, &enc_len));
	EXPECT(enc_len == n + 3 && memcmp(enc, req, n) == 0 && memcmp(enc + n, "\0\0\0", 3) == 0);
	EXPECT(bhttp_round_trips(&m, false) && bhttp_round_trips(&m, true));
	free(enc);
	veil_bhttp_msg_clear(&m);
	free(req);

	req = td_read("hpke/rfc9458-ohttp/response.bhttp", &n);
	EXPECT_OK(bhttp_decode_copy(req, n, &m));
	EXPECT(!m.request && m.status == 200 && m.informational_count == 0);
	EXPECT(m.header.count == 0 && m.content_len == 0 && m.trailer.count == 0);
	EXPECT_OK(bhttp_encode_as(&m, false, &enc, &enc_len));
	EXPECT(enc_len == n + 3 && memcmp(enc, req, n) == 0);
	EXPECT(bhttp_round_trips(&m, false) && bhttp_round_trips(&m, true));
	free(enc);
	veil_bhttp_msg_clear(&m);
	free(req);
}

/* ---- Truncation (RFC 9292 section 3.8) ---- */

/* Where each example may end: after the control data, the header section,
 * the content and the trailer section (offsets worked out by hand from the
 * figures; the indeterminate ones are after each zero terminator). A file
 * that already ends early lists fewer. Past the last, only padding. */
static const struct {
	const char *file;
	size_t ends[4];
	int nends;
} truncation_cases[] = {
    {EXAMPLES "known-length-request.bhttp", {23, 133, 134, 135}, 4},
    {EXAMPLES "indeterminate-length-request.bhttp", {23, 132, 133, 134}, 4},
    {EXAMPLES "indeterminate-length-response.bhttp", {111, 314, 367, 368}, 4},
    {EXAMPLES "known-length-response-with-trailer.bhttp", {3, 4, 34, 48}, 4},
    {"hpke/rfc9458-ohttp/request.bhttp", {25}, 1},
    {"hpke/rfc9458-ohttp/response.bhttp", {3}, 1},
};

/* The full message as it reads when it ends after part `stage`: the parts
 * after it are empty (section 3.8: "missing truncated fields" are "sent
 * with the length field set to zero"). */
static veil_bhttp_msg truncated_view(const veil_bhttp_msg *full, int stage)
{
	veil_bhttp_msg v = *full;

	if (stage < 1)
		memset(&v.header, 0, sizeof v.header);
	if (stage < 2) {
		v.content = NULL;
		v.content_len = 0;
	}
	if (stage < 3)
		memset(&v.trailer, 0, sizeof v.trailer);
	return v;
}

TEST(every_prefix_is_truncated_or_a_section_38_truncation)
{
	for (size_t c = 0; c < sizeof truncation_cases / sizeof truncation_cases[0]; c++) {
		size_t n, ok = 0;
		uint8_t *bytes = td_read(truncation_cases[c].file, &n);
		int nends = truncation_cases[c].nends;
		size_t last = truncation_cases[c].ends[nends - 1];
		veil_bhttp_msg full, m;

		EXPECT_OK(veil_bhttp_decode(bytes, n, &full));
		for (size_t len = 0; len <= n; len++) {
			int stage = -1;
			veil_err err = bhttp_decode_copy(bytes, len, &m);

			for (int k = 0; k < nends; k++)
				if (truncation_cases[c].ends[k] == len)
					stage = k;
			if (len >= last)
				stage = 3; /* the whole message, then padding */
			if (stage < 0) {
				EXPECT_ERR(err, VEIL_E_TRUNCATED);
				EXPECT(bhttp_msg_is_zero(&m));
				continue;
			}
			EXPECT_OK(err);
			if (err == VEIL_OK) {
				veil_bhttp_msg want = truncated_view(&full, stage);
				EXPECT(bhttp_msg_eq(&m, &want));
				EXPECT(m.padding == (len > last ? len - last : 0));
				EXPECT(m.indeterminate == full.indeterminate);
				ok++;
			}
			veil_bhttp_msg_clear(&m);
		}
		/* Every listed end, and each byte of padding. */
		EXPECT(ok == (size_t)nends + (n - last));
		veil_bhttp_msg_clear(&full);
		free(bytes);
	}
}

/* ---- Building and round trips ---- */

static void add_field(veil_bhttp_fields *f, const char *name, const char *value)
{
	EXPECT_OK(veil_bhttp_fields_add(f, name, (const uint8_t *)value, strlen(value)));
}

TEST(built_request_round_trips_in_both_forms)
{
	uint8_t body[512];
	veil_bhttp_msg m;

	/* Binary content: every byte value, NUL included, twice. */
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)i;
	EXPECT_OK(veil_bhttp_request_init(&m, "POST", "https", "api.example", "/v1/chat?x=1"));
	add_field(&m.header, "content-type", "application/octet-stream");
	add_field(&m.header, "X-Mixed-Case", "kept as given");
	add_field(&m.header, "empty", "");
	EXPECT_OK(veil_bhttp_set_content(&m, body, sizeof body));
	add_field(&m.trailer, "digest", "sha-256=:abc=:");
	EXPECT(bhttp_round_trips(&m, false));
	EXPECT(bhttp_round_trips(&m, true));
	/* Replacing the content wipes the old copy and keeps the new. */
	EXPECT_OK(veil_bhttp_set_content(&m, (const uint8_t *)"\0x\0", 3));
	EXPECT(m.content_len == 3 && m.content[1] == 'x');
	EXPECT(bhttp_round_trips(&m, false) && bhttp_round_trips(&m, true));
	EXPECT_OK(veil_bhttp_set_content(&m, NULL, 0));
	EXPECT(m.content == NULL && m.content_len == 0);
	EXPECT(bhttp_round_trips(&m, false) && bhttp_round_trips(&m, true));
	veil_bhttp_msg_clear(&m);
	EXPECT(bhttp_msg_is_zero(&m));
	veil_bhttp_msg_clear(&m); /* twice is fine */
}

TEST(built_response_with_informational_round_trips)
{
	veil_bhttp_msg m;

	veil_bhttp_fields *f100, *f103, *none;

	EXPECT_OK(veil_bhttp_response_init(&m, 200));
	REQUIRE(veil_bhttp_informational_add(&m, 100, &f100) == VEIL_OK);
	EXPECT(f100->count == 0 && m.informational[0].status == 100);
	REQUIRE(veil_bhttp_informational_add(&m, 103, &f103) == VEIL_OK);
	EXPECT_ERR(veil_bhttp_informational_add(&m, 200, &none), VEIL_E_USAGE);
	EXPECT_ERR(veil_bhttp_informational_add(&m, 99, &none), VEIL_E_USAGE);
	EXPECT(m.informational_count == 2 && m.informational[1].status == 103);
	/* f100 may point into the old array now; f103 is current. */
	EXPECT(f103 == &m.informational[1].fields);
	add_field(f103, "link", "</a.css>; rel=preload");
	add_field(f103, "link", "</b.js>; rel=preload");
	add_field(&m.header, "content-type", "text/event-stream");
	add_field(&m.trailer, "server-timing", "total;dur=12");
	EXPECT(m.content == NULL);
	EXPECT(bhttp_round_trips(&m, false));
	EXPECT(bhttp_round_trips(&m, true));
	veil_bhttp_msg_clear(&m);
	EXPECT(bhttp_msg_is_zero(&m));
}

TEST(encodings_are_exact)
{
	veil_bhttp_msg m;
	uint8_t *enc = NULL;
	size_t len;
	static const uint8_t want_req[] = {0x00, 3,   'G', 'E', 'T', 5,   'h', 't', 't',
					   'p',  's', 1,   'a', 1,   '/', 0,   0,   0};
	static const uint8_t want_resp[] = {0x03, 0x40, 0xcc, 1, 'a', 1, 'b', 0, 2, 'h', 'i', 0, 0};
	static const uint8_t want_resp_known[] = {0x01, 0x40, 0xcc, 4,   1,   'a',
						  1,    'b',  2,    'h', 'i', 0};

	EXPECT_OK(veil_bhttp_request_init(&m, "GET", "https", "a", "/"));
	EXPECT_OK(bhttp_encode_as(&m, false, &enc, &len));
	EXPECT(bhttp_bytes_eq(enc, len, want_req, sizeof want_req));
	free(enc);
	veil_bhttp_msg_clear(&m);

	EXPECT_OK(veil_bhttp_response_init(&m, 204));
	add_field(&m.header, "a", "b");
	EXPECT_OK(veil_bhttp_set_content(&m, (const uint8_t *)"hi", 2));
	EXPECT_OK(bhttp_encode_as(&m, true, &enc, &len));
	EXPECT(bhttp_bytes_eq(enc, len, want_resp, sizeof want_resp));
	free(enc);
	EXPECT_OK(bhttp_encode_as(&m, false, &enc, &len));
	EXPECT(bhttp_bytes_eq(enc, len, want_resp_known, sizeof want_resp_known));
	free(enc);
	veil_bhttp_msg_clear(&m);
}

TEST(chunks_are_joined)
{
	const uint8_t in[] = {0x03, 0x40, 0xc8, 0, 3, 'a', 'b', 'c', 2, 'd', 'e', 1, 0, 0, 0};
	const uint8_t one_chunk[] = {0x03, 0x40, 0xc8, 0, 6, 'a', 'b', 'c', 'd', 'e', 0, 0, 0};
	veil_bhttp_msg m;
	uint8_t *enc = NULL;
	size_t len;

	EXPECT_OK(bhttp_decode_copy(in, sizeof in, &m));
	EXPECT(bhttp_bytes_eq(m.content, m.content_len, "abcde\0", 6));
	EXPECT_OK(bhttp_encode_as(&m, true, &enc, &len));
	EXPECT(bhttp_bytes_eq(enc, len, one_chunk, sizeof one_chunk));
	free(enc);
	veil_bhttp_msg_clear(&m);
}

TEST(field_lookup_ignores_case)
{
	size_t n;
	uint8_t *bytes = td_read(EXAMPLES "known-length-request.bhttp", &n);
	const veil_bhttp_field *f;
	veil_bhttp_msg m;

	EXPECT_OK(veil_bhttp_decode(bytes, n, &m));
	f = veil_bhttp_fields_find(&m.header, "HOST");
	REQUIRE(f != NULL);
	EXPECT(bhttp_bytes_eq(f->value, f->value_len, "www.example.com", 15));
	EXPECT(f->name[f->name_len] == '\0' && strcmp(f->name, "host") == 0);
	EXPECT(veil_bhttp_fields_find(&m.header, "Accept-Language") == &m.header.items[2]);
	EXPECT(veil_bhttp_fields_find(&m.header, "hos") == NULL);
	EXPECT(veil_bhttp_fields_find(&m.header, "hostx") == NULL);
	EXPECT(veil_bhttp_fields_find(&m.trailer, "host") == NULL);
	EXPECT(veil_bhttp_fields_find(NULL, "host") == NULL);
	veil_bhttp_msg_clear(&m);
	free(bytes);
}

int main(void)
{
	RUN(varint_each_length_form);
	RUN(varint_non_minimal_encodings_are_read);
	RUN(varint_refuses_past_2_62);
	RUN(varint_truncated_leaves_reader_in_place);
	RUN(rfc9292_examples_decode_and_reencode);
	RUN(rfc9458_messages_decode);
	RUN(every_prefix_is_truncated_or_a_section_38_truncation);
	RUN(built_request_round_trips_in_both_forms);
	RUN(built_response_with_informational_round_trips);
	RUN(encodings_are_exact);
	RUN(chunks_are_joined);
	RUN(field_lookup_ignores_case);
	return harness_finish("test_bhttp");
}

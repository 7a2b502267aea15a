/*
 * test_bhttp_stream.c - the incremental reader of indeterminate-length
 * Binary HTTP responses (RFC 9292 framing 3), which a client uses on the
 * plaintext of a chunked OHTTP response.
 *
 * Messages written by veil_bhttp_encode (and a few by hand: several
 * content chunks, non-minimal varints) are fed whole, a byte at a time, at
 * every two-way split and at random splits; what the callbacks saw must
 * match veil_bhttp_decode's result. Every truncation must give
 * VEIL_E_TRUNCATED except right after the content terminator or after the
 * trailer section (section 3.8). The refusals: framing indicators other
 * than 3, statuses outside 100..599, bad fields, every cap, non-zero
 * padding, and callback errors, which must stick.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_bhttp_util.h"

/* What the callbacks saw. */
typedef struct collect {
	int heads;
	uint16_t status;
	veil_bhttp_fields fields;
	veil_writer content;
	size_t content_calls;
	bool empty_call; /* on_content was called with n == 0 */
	bool content_before_head;
	veil_err head_ret;    /* what on_head returns */
	veil_err content_ret; /* what on_content returns from call fail_at on */
	size_t fail_at;
} collect;

static veil_err on_head(void *user, uint16_t status, const veil_bhttp_fields *f)
{
	collect *c = user;

	c->heads++;
	c->status = status;
	for (size_t i = 0; i < f->count; i++)
		if (veil_bhttp_fields_add(&c->fields, f->items[i].name, f->items[i].value,
					  f->items[i].value_len) != VEIL_OK)
			abort();
	return c->head_ret;
}

static veil_err on_content(void *user, const uint8_t *p, size_t n)
{
	collect *c = user;

	c->content_calls++;
	if (n == 0)
		c->empty_call = true;
	if (c->heads == 0)
		c->content_before_head = true;
	if (c->content_ret != VEIL_OK && c->content_calls >= c->fail_at)
		return c->content_ret;
	if (veil_writer_put(&c->content, p, n) != VEIL_OK)
		abort();
	return VEIL_OK;
}

static void collect_init(collect *c)
{
	memset(c, 0, sizeof *c);
	veil_writer_init(&c->content, BHTTP_TEST_OUT_MAX);
}

static void collect_clear(collect *c)
{
	veil_bhttp_msg tmp = {.header = c->fields};

	veil_bhttp_msg_clear(&tmp);
	veil_writer_clear(&c->content);
	memset(c, 0, sizeof *c);
}

static veil_bhttp_stream *stream_for(collect *c)
{
	veil_bhttp_stream_cb cb = {.on_head = on_head, .on_content = on_content, .user = c};
	veil_bhttp_stream *s = NULL;

	if (veil_bhttp_stream_new(&cb, &s) != VEIL_OK)
		abort();
	return s;
}

/* Feeds p[0..n) cut at cuts[0..ncuts) (ascending), each piece from an
 * exact-size heap copy so that ASan sees a read past a piece; returns the
 * first feed error, else finish's result. */
static veil_err feed_cuts(const uint8_t *p, size_t n, const size_t *cuts, size_t ncuts, collect *c)
{
	veil_bhttp_stream *s = stream_for(c);
	veil_err err = VEIL_OK;
	size_t at = 0;

	for (size_t k = 0; k <= ncuts && err == VEIL_OK; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		size_t len = end - at;
		uint8_t *piece = malloc(len > 0 ? len : 1);

		if (piece == NULL)
			abort();
		if (len > 0)
			memcpy(piece, p + at, len);
		err = veil_bhttp_stream_feed(s, piece, len);
		free(piece);
		at = end;
	}
	if (err == VEIL_OK)
		err = veil_bhttp_stream_finish(s);
	veil_bhttp_stream_free(s);
	return err;
}

static veil_err feed_whole(const uint8_t *p, size_t n, collect *c)
{
	return feed_cuts(p, n, NULL, 0, c);
}

/* Whether what c saw is what the one-shot decoder reads from p. */
static bool matches_decode(const uint8_t *p, size_t n, const collect *c)
{
	veil_bhttp_msg m;
	bool ok;

	if (bhttp_decode_copy(p, n, &m) != VEIL_OK)
		return false;
	ok = !m.request && c->heads == 1 && c->status == m.status &&
	     bhttp_fields_eq(&c->fields, &m.header) &&
	     bhttp_bytes_eq(c->content.data, c->content.len, m.content, m.content_len) &&
	     !c->empty_call && !c->content_before_head;
	veil_bhttp_msg_clear(&m);
	return ok;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Feeds p whole, a byte at a time, at every two-way split (up to
 * max_two_way of them) and at random splits; every run must finish OK and
 * match the decoder. Returns the number of runs that did not. */
static size_t check_all_splits(const uint8_t *p, size_t n, size_t max_two_way)
{
	size_t bad = 0, *cuts = calloc(n + 1, sizeof *cuts);
	collect c;

	if (cuts == NULL)
		abort();
	collect_init(&c);
	bad += feed_whole(p, n, &c) != VEIL_OK || !matches_decode(p, n, &c);
	collect_clear(&c);

	for (size_t i = 0; i + 1 < n; i++)
		cuts[i] = i + 1;
	collect_init(&c);
	bad += feed_cuts(p, n, cuts, n > 0 ? n - 1 : 0, &c) != VEIL_OK || !matches_decode(p, n, &c);
	collect_clear(&c);

	for (size_t i = 0; i <= n && i < max_two_way; i++) {
		size_t cut = i;
		collect_init(&c);
		bad += feed_cuts(p, n, &cut, 1, &c) != VEIL_OK || !matches_decode(p, n, &c);
		collect_clear(&c);
	}

	for (int round = 0; round < 200; round++) {
		size_t k = 0, at = 0, most = round % 2 ? 8 : n / 3 + 1;
		while (at < n) {
			at += 1 + rng() % most;
			if (at < n)
				cuts[k++] = at;
		}
		collect_init(&c);
		bad += feed_cuts(p, n, cuts, k, &c) != VEIL_OK || !matches_decode(p, n, &c);
		collect_clear(&c);
	}
	free(cuts);
	return bad;
}

/* ---- messages ---- */

static void add_field(veil_bhttp_fields *f, const char *name, const char *value)
{
	if (veil_bhttp_fields_add(f, name, (const uint8_t *)value, strlen(value)) != VEIL_OK)
		abort();
}

/* Encodes m in the indeterminate form, then frees m. */
static uint8_t *encode_indeterminate(veil_bhttp_msg *m, size_t *len)
{
	uint8_t *out = NULL;

	if (bhttp_encode_as(m, true, &out, len) != VEIL_OK)
		abort();
	veil_bhttp_msg_clear(m);
	return out;
}

/* A 200 with informational responses, fields, content of content_len
 * bytes and, if with_trailer, a trailer section. */
static uint8_t *rich_message(size_t content_len, bool with_trailer, size_t *len)
{
	veil_bhttp_msg m;
	veil_bhttp_fields *info;
	uint8_t *body = malloc(content_len + 1);

	if (body == NULL)
		abort();
	for (size_t i = 0; i < content_len; i++)
		body[i] = (uint8_t)(i * 7 + 1);
	if (veil_bhttp_response_init(&m, 200) != VEIL_OK ||
	    veil_bhttp_informational_add(&m, 103, &info) != VEIL_OK)
		abort();
	add_field(info, "link", "</style.css>; rel=preload");
	if (veil_bhttp_informational_add(&m, 100, &info) != VEIL_OK)
		abort();
	add_field(&m.header, "content-type", "text/event-stream");
	add_field(&m.header, "x-veil-receipt", "abc.def.ghi");
	add_field(&m.header, "empty", "");
	if (with_trailer) {
		add_field(&m.trailer, "x-usage", "prompt=12, completion=345");
		add_field(&m.trailer, "x-done", "1");
	}
	if (veil_bhttp_set_content(&m, body, content_len) != VEIL_OK)
		abort();
	free(body);
	return encode_indeterminate(&m, len);
}

static uint8_t *plain_message(uint16_t status, const char *content, size_t *len)
{
	veil_bhttp_msg m;

	if (veil_bhttp_response_init(&m, status) != VEIL_OK ||
	    veil_bhttp_set_content(&m, (const uint8_t *)content, strlen(content)) != VEIL_OK)
		abort();
	return encode_indeterminate(&m, len);
}

/* ---- successful reads in every split ---- */

TEST(stream_small_messages_every_split)
{
	size_t len;
	uint8_t *p;

	p = plain_message(200, "hello world", &len);
	EXPECT(check_all_splits(p, len, SIZE_MAX) == 0);
	free(p);
	p = plain_message(204, "", &len);
	EXPECT(check_all_splits(p, len, SIZE_MAX) == 0);
	free(p);
	p = rich_message(300, true, &len);
	EXPECT(check_all_splits(p, len, SIZE_MAX) == 0);
	free(p);
	p = rich_message(40, false, &len);
	EXPECT(check_all_splits(p, len, SIZE_MAX) == 0);
	free(p);
}

TEST(stream_large_content_passes_through)
{
	size_t len;
	uint8_t *p = rich_message(20000, true, &len);
	collect c;

	EXPECT(check_all_splits(p, len, 2000) == 0);
	/* Fed whole, the content chunk reaches on_content in one call: it
	 * is passed through, not gathered first. */
	collect_init(&c);
	EXPECT_OK(feed_whole(p, len, &c));
	EXPECT(c.content_calls == 1 && c.content.len == 20000);
	collect_clear(&c);
	free(p);
}

TEST(stream_informational_responses_are_skipped)
{
	size_t len;
	uint8_t *p = rich_message(5, true, &len);
	collect c;

	collect_init(&c);
	EXPECT_OK(feed_whole(p, len, &c));
	EXPECT(c.heads == 1 && c.status == 200);
	EXPECT(c.fields.count == 3 && veil_bhttp_fields_find(&c.fields, "link") == NULL);
	EXPECT(veil_bhttp_fields_find(&c.fields, "content-type") != NULL);
	/* Trailer fields are checked and dropped, never reported as headers. */
	EXPECT(veil_bhttp_fields_find(&c.fields, "x-usage") == NULL);
	collect_clear(&c);
	free(p);
}

/* Several content chunks, padding, and a non-minimal varint everywhere
 * a varint can be: none of it is what the encoder writes. */
TEST(stream_hand_built_chunks_padding_long_varints)
{
	static const uint8_t msg[] = {
	    0xc0, 0,   0,    0,    0,   0,   0,   3, /* framing 3 in eight bytes */
	    0x80, 0,   0,    0x66,                   /* 102 Processing, four bytes */
	    0x40, 0,                                 /* its empty header section, two-byte zero */
	    0x40, 200,                               /* 200 */
	    1,    'a', 0x40, 2,    'x', 'y',         /* a: xy */
	    0,                                       /* end of header */
	    1,    'H', 0x40, 3,    'e', 'l', 'l', 0x80, 0, 0, 1, 'o', /* three chunks */
	    0xc0, 0,   0,    0,    0,   0,   0,   0, /* content terminator in eight bytes */
	    2,    't', 't',  0,    0,                /* trailer tt: "" */
	    0,                                       /* end of trailer */
	    0,    0,   0,    0,                      /* padding */
	};
	collect c;

	EXPECT(check_all_splits(msg, sizeof msg, SIZE_MAX) == 0);
	collect_init(&c);
	EXPECT_OK(feed_whole(msg, sizeof msg, &c));
	EXPECT(c.content_calls == 3);
	EXPECT(bhttp_bytes_eq(c.content.data, c.content.len, "Hello", 5));
	collect_clear(&c);
}

/* ---- truncation (section 3.8) ---- */

/* Every prefix of p, fed whole and a byte at a time, finishes OK exactly
 * at the allowed ends: content_end and from full on. */
static size_t check_truncations(const uint8_t *p, size_t full, size_t content_end)
{
	size_t bad = 0, *cuts = calloc(full + 1, sizeof *cuts);

	if (cuts == NULL)
		abort();
	for (size_t i = 0; i < full; i++)
		cuts[i] = i + 1;
	for (size_t k = 0; k <= full; k++) {
		bool allowed = k == content_end || k == full;
		collect c;
		veil_err whole, bytewise;

		collect_init(&c);
		whole = feed_whole(p, k, &c);
		collect_clear(&c);
		collect_init(&c);
		bytewise = feed_cuts(p, k, cuts, k > 0 ? k - 1 : 0, &c);
		collect_clear(&c);
		bad += whole != (allowed ? VEIL_OK : VEIL_E_TRUNCATED);
		bad += bytewise != whole;
	}
	free(cuts);
	return bad;
}

TEST(stream_truncation_at_every_offset)
{
	size_t full, bare;
	uint8_t *p = rich_message(70, true, &full);
	uint8_t *q = rich_message(70, false, &bare);

	/* The encoder always writes the trailer section; without fields it
	 * is a single zero, so the content terminator ends at bare - 1. */
	REQUIRE(bare < full && memcmp(p, q, bare - 1) == 0 && q[bare - 1] == 0);
	EXPECT(check_truncations(p, full, bare - 1) == 0);
	EXPECT(check_truncations(q, bare, bare - 1) == 0);
	free(p);
	free(q);
}

TEST(stream_empty_and_control_only_are_truncated)
{
	/* The one-shot decoder accepts a message that ends after its status
	 * or header section (section 3.8); a stream wants the content
	 * terminator. */
	static const uint8_t status_only[] = {3, 0x40, 200};
	static const uint8_t header_only[] = {3, 0x40, 200, 0};
	collect c;

	collect_init(&c);
	EXPECT_ERR(feed_whole(status_only, 0, &c), VEIL_E_TRUNCATED);
	EXPECT_ERR(feed_whole(status_only, sizeof status_only, &c), VEIL_E_TRUNCATED);
	EXPECT_ERR(feed_whole(header_only, sizeof header_only, &c), VEIL_E_TRUNCATED);
	EXPECT(c.heads == 1); /* the header was complete all the same */
	collect_clear(&c);
}

/* ---- refusals ---- */

static veil_err feed_bytes(const uint8_t *p, size_t n)
{
	collect c;
	veil_err err;

	collect_init(&c);
	err = feed_whole(p, n, &c);
	collect_clear(&c);
	return err;
}

TEST(stream_refuses_other_framing_indicators)
{
	static const uint8_t f0[] = {0, 3, 'G', 'E', 'T', 0, 0, 1, '/', 0, 0, 0, 0};
	static const uint8_t f1[] = {1, 0x40, 200, 0, 0, 0};
	static const uint8_t f2[] = {2, 3, 'G', 'E', 'T', 0, 0, 1, '/', 0, 0, 0};
	static const uint8_t f4[] = {4, 0x40, 200, 0, 0, 0};
	static const uint8_t f64[] = {0x40, 64, 0x40, 200, 0, 0, 0};
	static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	EXPECT_ERR(feed_bytes(f0, sizeof f0), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(f1, sizeof f1), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(f2, sizeof f2), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(f4, sizeof f4), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(f64, sizeof f64), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(big, sizeof big), VEIL_E_MALFORMED);
	/* A known-length response from the encoder too. */
	{
		veil_bhttp_msg m;
		uint8_t *out;
		size_t len;
		REQUIRE(veil_bhttp_response_init(&m, 200) == VEIL_OK);
		REQUIRE(bhttp_encode_as(&m, false, &out, &len) == VEIL_OK);
		veil_bhttp_msg_clear(&m);
		EXPECT_ERR(feed_bytes(out, len), VEIL_E_MALFORMED);
		free(out);
	}
}

TEST(stream_refuses_bad_status)
{
	static const uint8_t s0[] = {3, 0, 0, 0, 0};
	static const uint8_t s99[] = {3, 0x40, 99, 0, 0, 0};
	static const uint8_t s600[] = {3, 0x42, 0x58, 0, 0, 0};
	static const uint8_t s1000[] = {3, 0x43, 0xe8, 0, 0, 0};
	static const uint8_t s599[] = {3, 0x42, 0x57, 0, 0, 0};
	static const uint8_t s199_200[] = {3, 0x40, 199, 0, 0x40, 200, 0, 0, 0};

	EXPECT_ERR(feed_bytes(s0, sizeof s0), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(s99, sizeof s99), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(s600, sizeof s600), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(s1000, sizeof s1000), VEIL_E_MALFORMED);
	EXPECT_OK(feed_bytes(s599, sizeof s599));
	EXPECT_OK(feed_bytes(s199_200, sizeof s199_200));
}

TEST(stream_refuses_bad_fields)
{
	static const uint8_t space_name[] = {3, 0x40, 200, 3, 'a', ' ', 'b', 1, 'x', 0, 0, 0};
	static const uint8_t cr_value[] = {3, 0x40, 200, 1, 'a', 3, 'x', '\r', 'y', 0, 0, 0};
	static const uint8_t pseudo[] = {3,   0x40, 200, 7,   ':', 's', 't', 'a', 't',
					 'u', 's',  3,   '2', '0', '0', 0,   0,   0};
	static const uint8_t space_end[] = {3, 0x40, 200, 1, 'a', 2, 'x', ' ', 0, 0, 0};
	/* Trailer and informational sections are checked too. */
	static const uint8_t bad_trailer[] = {3, 0x40, 200, 0, 0, 1, '(', 0, 0};
	static const uint8_t bad_info[] = {3, 0x40, 103, 1, 'a', 1, '\n', 0, 0x40, 200, 0, 0, 0};

	EXPECT_ERR(feed_bytes(space_name, sizeof space_name), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(cr_value, sizeof cr_value), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(pseudo, sizeof pseudo), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(space_end, sizeof space_end), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(bad_trailer, sizeof bad_trailer), VEIL_E_MALFORMED);
	EXPECT_ERR(feed_bytes(bad_info, sizeof bad_info), VEIL_E_MALFORMED);
}

TEST(stream_refuses_nonzero_padding)
{
	size_t len;
	uint8_t *p = plain_message(200, "ok", &len);
	uint8_t *q = malloc(len + 3);

	REQUIRE(q != NULL);
	memcpy(q, p, len);
	q[len] = 0;
	q[len + 1] = 0;
	q[len + 2] = 1;
	EXPECT_OK(feed_bytes(q, len + 2));
	EXPECT_ERR(feed_bytes(q, len + 3), VEIL_E_MALFORMED);
	free(p);
	free(q);
}

/* A header (or trailer when in_trailer) of count one-letter fields. */
static uint8_t *many_fields(size_t count, bool in_trailer, size_t *len)
{
	veil_writer w;
	uint8_t *out;

	veil_writer_init(&w, BHTTP_TEST_OUT_MAX);
	if (veil_writer_put(&w, (const uint8_t[]){3, 0x40, 200}, 3) != VEIL_OK)
		abort();
	if (in_trailer && veil_writer_put(&w, (const uint8_t[]){0, 0}, 2) != VEIL_OK)
		abort();
	for (size_t i = 0; i < count; i++)
		if (veil_writer_put(&w, (const uint8_t[]){1, 'a', 1, 'v'}, 4) != VEIL_OK)
			abort();
	if (veil_writer_put(&w, (const uint8_t[]){0, 0, 0}, in_trailer ? 1 : 3) != VEIL_OK ||
	    veil_writer_take(&w, &out, len) != VEIL_OK)
		abort();
	veil_writer_clear(&w);
	return out;
}

TEST(stream_field_count_caps)
{
	size_t len;
	uint8_t *p;

	p = many_fields(VEIL_BHTTP_FIELDS_MAX, false, &len);
	EXPECT_OK(feed_bytes(p, len));
	free(p);
	p = many_fields(VEIL_BHTTP_FIELDS_MAX + 1, false, &len);
	EXPECT_ERR(feed_bytes(p, len), VEIL_E_LIMIT);
	free(p);
	p = many_fields(VEIL_BHTTP_FIELDS_MAX, true, &len);
	EXPECT_OK(feed_bytes(p, len));
	free(p);
	p = many_fields(VEIL_BHTTP_FIELDS_MAX + 1, true, &len);
	EXPECT_ERR(feed_bytes(p, len), VEIL_E_LIMIT);
	free(p);
}

TEST(stream_field_size_caps)
{
	/* Lengths over the cap fail as soon as they are read, before any
	 * of the bytes they announce. */
	static const uint8_t long_name[] = {3, 0x40, 200, 0x80, 0x01, 0x00, 0x01};
	static const uint8_t long_value[] = {3, 0x40, 200, 1, 'a', 0x80, 0x01, 0x00, 0x01};
	size_t n = VEIL_BHTTP_FIELD_MAX;
	uint8_t *p = malloc(n + 16);
	size_t len = 0;

	EXPECT_ERR(feed_bytes(long_name, sizeof long_name), VEIL_E_LIMIT);
	EXPECT_ERR(feed_bytes(long_value, sizeof long_value), VEIL_E_LIMIT);
	/* A name and a value of exactly the cap are read. */
	REQUIRE(p != NULL);
	memcpy(p, (const uint8_t[]){3, 0x40, 200, 0x80, 0x01, 0x00, 0x00}, 7);
	len = 7;
	memset(p + len, 'n', n);
	len += n;
	memcpy(p + len, (const uint8_t[]){0x80, 0x01, 0x00, 0x00}, 4);
	len += 4;
	{
		uint8_t *q = realloc(p, len + n + 3);
		REQUIRE(q != NULL);
		p = q;
	}
	memset(p + len, 'v', n);
	len += n;
	memcpy(p + len, (const uint8_t[]){0, 0, 0}, 3);
	len += 3;
	EXPECT(check_all_splits(p, len, 0) == 0);
	free(p);
}

TEST(stream_informational_cap)
{
	uint8_t msg[3 + 3 * (VEIL_BHTTP_INFORMATIONAL_MAX + 1) + 5];
	size_t len = 0;

	msg[len++] = 3;
	for (int i = 0; i < VEIL_BHTTP_INFORMATIONAL_MAX; i++) {
		msg[len++] = 0x40;
		msg[len++] = 100;
		msg[len++] = 0;
	}
	memcpy(msg + len, (const uint8_t[]){0x40, 200, 0, 0, 0}, 5);
	EXPECT_OK(feed_bytes(msg, len + 5));
	memcpy(msg + len, (const uint8_t[]){0x40, 100, 0, 0x40, 200, 0, 0, 0}, 3);
	EXPECT_ERR(feed_bytes(msg, len + 3), VEIL_E_LIMIT);
}

TEST(stream_content_cap)
{
	static const uint8_t over[] = {3, 0x40, 200, 0, 0x81, 0x00, 0x00, 0x01};
	const size_t most = VEIL_BHTTP_CONTENT_MAX;
	uint8_t head[] = {3,
			  0x40,
			  200,
			  0,
			  0x80 | (uint8_t)(most >> 24),
			  (uint8_t)(most >> 16),
			  (uint8_t)(most >> 8),
			  (uint8_t)most};
	uint8_t *zeros = calloc(1, most);
	veil_bhttp_stream_cb cb = {0};
	veil_bhttp_stream *s;

	EXPECT_ERR(feed_bytes(over, sizeof over), VEIL_E_LIMIT);
	/* Exactly the cap is read (without on_content: NULL callbacks are
	 * allowed); one more chunk is not. */
	REQUIRE(zeros != NULL);
	REQUIRE(veil_bhttp_stream_new(&cb, &s) == VEIL_OK);
	EXPECT_OK(veil_bhttp_stream_feed(s, head, sizeof head));
	EXPECT_OK(veil_bhttp_stream_feed(s, zeros, most));
	EXPECT_ERR(veil_bhttp_stream_feed(s, (const uint8_t[]){1, 'x'}, 2), VEIL_E_LIMIT);
	veil_bhttp_stream_free(s);
	free(zeros);
}

/* ---- callback errors stick ---- */

TEST(stream_head_callback_error_sticks)
{
	size_t len;
	uint8_t *p = plain_message(200, "some content", &len);
	collect c;
	veil_bhttp_stream *s;
	size_t at = 0;
	veil_err err = VEIL_OK;

	collect_init(&c);
	c.head_ret = VEIL_E_MISMATCH;
	s = stream_for(&c);
	while (at < len && err == VEIL_OK)
		err = veil_bhttp_stream_feed(s, p + at++, 1);
	EXPECT(err == VEIL_E_MISMATCH && c.heads == 1);
	EXPECT_ERR(veil_bhttp_stream_feed(s, p + at, len - at), VEIL_E_MISMATCH);
	EXPECT_ERR(veil_bhttp_stream_feed(s, NULL, 0), VEIL_E_MISMATCH);
	EXPECT_ERR(veil_bhttp_stream_finish(s), VEIL_E_MISMATCH);
	EXPECT(c.content_calls == 0);
	veil_bhttp_stream_free(s);
	collect_clear(&c);
	free(p);
}

TEST(stream_content_callback_error_sticks)
{
	size_t len;
	uint8_t *p = plain_message(200, "some content", &len);
	collect c;
	veil_bhttp_stream *s;
	size_t at = 0;
	veil_err err = VEIL_OK;

	collect_init(&c);
	c.content_ret = VEIL_E_IO;
	c.fail_at = 3;
	s = stream_for(&c);
	while (at < len && err == VEIL_OK)
		err = veil_bhttp_stream_feed(s, p + at++, 1);
	EXPECT(err == VEIL_E_IO && c.content_calls == 3 && c.content.len == 2);
	EXPECT_ERR(veil_bhttp_stream_feed(s, p + at, len - at), VEIL_E_IO);
	EXPECT(c.content_calls == 3);
	EXPECT_ERR(veil_bhttp_stream_finish(s), VEIL_E_IO);
	veil_bhttp_stream_free(s);
	collect_clear(&c);
	free(p);
}

TEST(stream_parse_error_sticks_and_usage)
{
	static const uint8_t bad[] = {3, 0x40, 99};
	size_t len;
	uint8_t *p = plain_message(200, "x", &len);
	collect c;
	veil_bhttp_stream *s;

	collect_init(&c);
	s = stream_for(&c);
	EXPECT_ERR(veil_bhttp_stream_feed(s, bad, sizeof bad), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_bhttp_stream_feed(s, p + 1, len - 1), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_bhttp_stream_finish(s), VEIL_E_MALFORMED);
	EXPECT(c.heads == 0);
	veil_bhttp_stream_free(s);
	collect_clear(&c);
	free(p);
	EXPECT_ERR(veil_bhttp_stream_new(NULL, &s), VEIL_E_USAGE);
	veil_bhttp_stream_free(NULL);
}

int main(void)
{
	RUN(stream_small_messages_every_split);
	RUN(stream_large_content_passes_through);
	RUN(stream_informational_responses_are_skipped);
	RUN(stream_hand_built_chunks_padding_long_varints);
	RUN(stream_truncation_at_every_offset);
	RUN(stream_empty_and_control_only_are_truncated);
	RUN(stream_refuses_other_framing_indicators);
	RUN(stream_refuses_bad_status);
	RUN(stream_refuses_bad_fields);
	RUN(stream_refuses_nonzero_padding);
	RUN(stream_field_count_caps);
	RUN(stream_field_size_caps);
	RUN(stream_informational_cap);
	RUN(stream_content_cap);
	RUN(stream_head_callback_error_sticks);
	RUN(stream_content_callback_error_sticks);
	RUN(stream_parse_error_sticks_and_usage);
	return harness_finish("test_bhttp_stream");
}

/*
 * test_ohttp_chunked_negative.c - chunked Oblivious HTTP streams that must
 * not open (draft-ietf-ohai-chunked-ohttp-08, sections 6 and 7), in both
 * directions and every AEAD: cut at every length, any byte altered,
 * chunks swapped, replayed, dropped or taken from another stream, a
 * non-final chunk passed off as the final one, bytes after the final chunk,
 * an empty non-final chunk sealed by hand, and a request header naming a key
 * or suite the server does not have.
 *
 * Each case also checks what the opener released before it failed: only the
 * true plaintext of the chunks that came before the damage, never a byte of
 * anything else; and that the exchange is dead afterwards (open_pieces).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_ohttp_chunked_util.h"

/* Runs one case in each direction with each AEAD. */
static void each_fixture(void (*run)(const fixture *f))
{
	for (size_t a = 0; a < 3; a++)
		for (int d = DIR_REQUEST; d <= DIR_RESPONSE; d++) {
			fixture f;
			if (fixture_init(&f, every_aead[a], (direction)d))
				run(&f);
			else
				EXPECT(!"fixture_init");
			fixture_clear(&f);
		}
}

/* Opens p[0..n) whole and byte by byte: both must fail with want and
 * release no more than the plaintext of the first `intact` chunks of s. */
static void expect_fails(const fixture *f, const stream *s, const uint8_t *p, size_t n,
			 veil_err want, size_t intact, const char *what)
{
	veil_writer pt = {0};
	piece_fn modes[] = {piece_whole, piece_byte};

	for (size_t m = 0; m < 2; m++) {
		veil_err err = open_with(f, s->seed, p, n, modes[m], NULL, &pt);
		bool ok = err == want && is_prefix(&pt, s) && pt.len <= s->pt_at[intact];
		if (!ok)
			fprintf(stderr, "  aead %u %s %s (%s): got %s (%s), released %zu bytes\n",
				f->aead, dir_name(f->dir), what, m ? "byte by byte" : "whole",
				veil_err_str(err), veil_err_detail(), pt.len);
		EXPECT(ok);
	}
	veil_writer_clear(&pt);
}

/* A copy of chunks [from, to) of s's wire, appended to w. */
static void put_chunks(veil_writer *w, const stream *s, size_t from, size_t to)
{
	EXPECT_OK(veil_writer_put(w, s->wire.data + s->at[from], s->at[to] - s->at[from]));
}

static void put_head(veil_writer *w, const stream *s)
{
	veil_writer_init(w, WIRE_MAX);
	EXPECT_OK(veil_writer_put(w, s->wire.data, s->start));
}

static const size_t small[] = {1, 16, 100};

static void truncated_at_every_length_in(const fixture *f)
{
	stream s;
	size_t fin;
	REQUIRE(stream_build(f, 1, small, 3, 10, &s));
	fin = s.at[s.count - 1];
	for (size_t n = 0; n < s.wire.len; n++) {
		/* Before the final chunk's prefix (inside the header or nonce,
		 * at a chunk boundary, inside a non-final chunk) the stream has
		 * no final chunk: truncated. Inside the final chunk, the cut
		 * chunk does not authenticate. */
		veil_err want = n <= fin ? VEIL_E_TRUNCATED : VEIL_E_VERIFY;
		size_t intact = 0;
		while (intact + 1 < s.count && s.at[intact + 1] <= n)
			intact++;
		expect_fails(f, &s, s.wire.data, n, want, intact, "cut short");
	}
	/* Named cases, for the record: the header or nonce alone, and the
	 * final chunk's prefix with nothing after it. */
	expect_fails(f, &s, s.wire.data, s.start, VEIL_E_TRUNCATED, 0, "head only");
	expect_fails(f, &s, s.wire.data, fin + 1, VEIL_E_VERIFY, s.count - 1, "final prefix only");
	stream_clear(&s);
}

TEST(truncated_at_every_length)
{
	each_fixture(truncated_at_every_length_in);
}

static void every_byte_altered_in(const fixture *f)
{
	static const uint8_t bits[] = {0x01, 0x40, 0x80};
	stream s;
	veil_writer pt = {0};
	size_t failures = 0, tries = 0, leaks = 0;
	uint64_t rng = 0x2545f4914f6cdd1du;
	REQUIRE(stream_build(f, 2, small, 3, 9, &s));
	for (size_t i = 0; i < s.wire.len; i++)
		for (size_t b = 0; b < sizeof bits; b++) {
			piece_fn how = b == 2 ? piece_random : piece_whole;
			veil_err err;
			s.wire.data[i] ^= bits[b];
			err = open_with(f, s.seed, s.wire.data, s.wire.len, how, &rng, &pt);
			s.wire.data[i] ^= bits[b];
			tries++;
			if (err != VEIL_OK)
				failures++;
			else if (failures + 1 == tries)
				fprintf(stderr, "  aead %u %s: flip 0x%02x at %zu opens\n", f->aead,
					dir_name(f->dir), bits[b], i);
			if (!is_prefix(&pt, &s))
				leaks++;
		}
	EXPECT(failures == tries && tries == 3 * s.wire.len);
	EXPECT(leaks == 0);
	veil_writer_clear(&pt);
	stream_clear(&s);
}

TEST(every_byte_altered)
{
	each_fixture(every_byte_altered_in);
}

static void reordered_same_sizes(const fixture *f)
{
	static const size_t same_size[] = {10, 10, 10, 10};
	stream s;
	veil_writer w;
	REQUIRE(stream_build(f, 3, same_size, 4, 10, &s));
	/* Chunks 1 and 2 swapped: only chunk 0 opens. */
	put_head(&w, &s);
	put_chunks(&w, &s, 0, 1);
	put_chunks(&w, &s, 2, 3);
	put_chunks(&w, &s, 1, 2);
	put_chunks(&w, &s, 3, 5);
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 1, "chunks 1 and 2 swapped");
	veil_writer_clear(&w);
	/* Chunk 0 twice. */
	put_head(&w, &s);
	put_chunks(&w, &s, 0, 1);
	put_chunks(&w, &s, 0, 5);
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 1, "chunk 0 replayed");
	veil_writer_clear(&w);
	/* Chunk 2 dropped. */
	put_head(&w, &s);
	put_chunks(&w, &s, 0, 2);
	put_chunks(&w, &s, 3, 5);
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 2, "chunk 2 dropped");
	veil_writer_clear(&w);
	/* Every non-final chunk dropped: the final one comes too early. */
	put_head(&w, &s);
	put_chunks(&w, &s, 4, 5);
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 0, "only the final chunk");
	veil_writer_clear(&w);
	stream_clear(&s);
}

static void reordered_other_sizes(const fixture *f)
{
	stream s;
	veil_writer w;
	REQUIRE(stream_build(f, 4, small, 3, 3, &s));
	put_head(&w, &s);
	put_chunks(&w, &s, 1, 2);
	put_chunks(&w, &s, 0, 1);
	put_chunks(&w, &s, 2, 4);
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 0, "chunks 0 and 1 swapped");
	veil_writer_clear(&w);
	stream_clear(&s);
}

TEST(chunks_reordered_replayed_dropped)
{
	each_fixture(reordered_same_sizes);
	each_fixture(reordered_other_sizes);
}

static void chunks_from_another_stream_in(const fixture *f)
{
	stream s, t;
	veil_writer w;
	/* Same shape, another request (another ephemeral key and, for the
	 * response, another nonce). */
	REQUIRE(stream_build(f, 5, small, 3, 10, &s));
	REQUIRE(stream_build(f, 6, small, 3, 10, &t));
	EXPECT(s.wire.len == t.wire.len && s.at[2] == t.at[2]);
	for (size_t k = 0; k < s.count; k++) {
		put_head(&w, &s);
		put_chunks(&w, &s, 0, k);
		put_chunks(&w, &t, k, k + 1);
		put_chunks(&w, &s, k + 1, s.count);
		expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, k, "chunk spliced in");
		veil_writer_clear(&w);
	}
	/* The other stream's body after this one's head. */
	put_head(&w, &s);
	put_chunks(&w, &t, 0, t.count);
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 0, "another stream's body");
	veil_writer_clear(&w);
	/* A whole response opened by the client of another request. */
	if (f->dir == DIR_RESPONSE)
		expect_fails(f, &s, t.wire.data, t.wire.len, VEIL_E_VERIFY, 0,
			     "response to another request");
	stream_clear(&s);
	stream_clear(&t);
}

TEST(chunks_from_another_stream)
{
	each_fixture(chunks_from_another_stream_in);
}

static void non_final_chunk_passed_off_as_final_in(const fixture *f)
{
	/* Draft section 7: dropping what follows chunk k and rewriting its
	 * prefix to 0 must not authenticate, in the 1-byte form and in the
	 * prefix's own width. */
	static const size_t sizes[] = {1, 16, 100, 16384};
	stream s;
	REQUIRE(stream_build(f, 7, sizes, 4, 3, &s));
	for (size_t k = 0; k + 1 < s.count; k++)
		for (int own = 0; own < 2; own++) {
			veil_writer w;
			uint64_t v;
			uint8_t pre[8];
			size_t vlen = varint_get(s.wire.data + s.at[k], &v);
			put_head(&w, &s);
			put_chunks(&w, &s, 0, k);
			EXPECT_OK(veil_writer_put(&w, pre, varint_put(pre, 0, own ? vlen : 1)));
			EXPECT_OK(veil_writer_put(&w, s.wire.data + s.at[k] + vlen,
						  s.at[k + 1] - s.at[k] - vlen));
			expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, k,
				     "chunk re-marked final");
			veil_writer_clear(&w);
		}
	stream_clear(&s);
}

TEST(non_final_chunk_passed_off_as_final)
{
	each_fixture(non_final_chunk_passed_off_as_final_in);
}

static void bytes_after_the_final_chunk_in(const fixture *f)
{
	/* The final chunk runs to the end of the stream, so whatever follows it
	 * becomes part of it and it no longer authenticates. */
	stream s;
	veil_writer w;
	REQUIRE(stream_build(f, 8, small, 3, 4, &s));
	put_head(&w, &s);
	put_chunks(&w, &s, 0, s.count);
	put_chunks(&w, &s, 0, 1);
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 3, "a chunk after the final");
	veil_writer_clear(&w);
	put_head(&w, &s);
	put_chunks(&w, &s, 0, s.count);
	put_chunks(&w, &s, s.count - 1, s.count);
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 3, "the final chunk twice");
	veil_writer_clear(&w);
	put_head(&w, &s);
	put_chunks(&w, &s, 0, s.count);
	EXPECT_OK(veil_writer_u8(&w, 0));
	expect_fails(f, &s, w.data, w.len, VEIL_E_VERIFY, 3, "one byte more");
	veil_writer_clear(&w);
	stream_clear(&s);
}

TEST(bytes_after_the_final_chunk)
{
	each_fixture(bytes_after_the_final_chunk_in);
}

/* Seals a non-final chunk by hand with the sender's next nonce, bypassing
 * veil_ohttp_chunk_seal's refusal of empty chunks. */
static bool seal_by_hand(veil_ohttp_exchange *x, const uint8_t *pt, size_t pt_len, veil_writer *out)
{
	uint8_t ct[64], nonce[VEIL_AEAD_NONCE_LEN], pre[8];
	veil_err err;

	if (pt_len + VEIL_AEAD_TAG_LEN > sizeof ct)
		return false;
	if (x->client) {
		err = veil_hpke_seal(&x->hpke, NULL, 0, pt, pt_len, ct);
	} else {
		/* aead_nonce XOR encode(Nn, counter), as the response does. */
		memcpy(nonce, x->res_nonce, sizeof nonce);
		for (size_t b = 0; b < 8; b++)
			nonce[VEIL_AEAD_NONCE_LEN - 1 - b] ^= (uint8_t)(x->res_counter >> (8 * b));
		err = veil_aead_seal(&x->res_aead, nonce, NULL, 0, pt, pt_len, ct);
		x->res_counter++;
	}
	return err == VEIL_OK &&
	       veil_writer_put(out, pre, varint_put(pre, pt_len + VEIL_AEAD_TAG_LEN, 1)) ==
		   VEIL_OK &&
	       veil_writer_put(out, ct, pt_len + VEIL_AEAD_TAG_LEN) == VEIL_OK;
}

static void empty_non_final_chunk_in(const fixture *f)
{
	/* Draft section 6: an empty non-final chunk is a decryption error even
	 * when it authenticates. The same hand-sealed chunk with one byte in it
	 * opens, so it is the emptiness that is refused. */
	for (size_t len = 0; len <= 1; len++) {
		veil_ohttp_exchange cx = {0}, sx = {0}, *tx;
		veil_writer w, pt;
		veil_err err;
		veil_writer_init(&w, WIRE_MAX);
		veil_writer_init(&pt, WIRE_MAX);
		REQUIRE(sender_begin(f, 9, &cx, &sx, &w));
		tx = f->dir == DIR_REQUEST ? &cx : &sx;
		EXPECT_OK(veil_ohttp_chunk_seal(tx, (const uint8_t *)"ab", 2, false, &w));
		EXPECT(seal_by_hand(tx, (const uint8_t *)"c", len, &w));
		EXPECT_OK(veil_ohttp_chunk_seal(tx, (const uint8_t *)"d", 1, true, &w));
		err = open_pieces(f, 9, w.data, w.len, piece_whole, NULL, &pt);
		if (len == 0) {
			EXPECT_ERR(err, VEIL_E_VERIFY);
			EXPECT(same(&pt, (const uint8_t *)"ab", 2));
		} else {
			EXPECT_OK(err);
			EXPECT(same(&pt, (const uint8_t *)"abcd", 4));
		}
		veil_ohttp_exchange_clear(&cx);
		veil_ohttp_exchange_clear(&sx);
		veil_writer_clear(&w);
		veil_writer_clear(&pt);
	}
}

TEST(empty_non_final_chunk)
{
	each_fixture(empty_non_final_chunk_in);
}

TEST(request_header_errors)
{
	/* RFC 9458 section 4.3, which the chunked request keeps: an unknown
	 * key id, a suite the key does not accept, an enc of low order. The
	 * failure comes as soon as the header is in, before any chunk. */
	static const struct {
		size_t at;
		uint8_t value;
		veil_err want;
		const char *what;
	} cases[] = {
	    {0, TEST_KEY_ID + 1, VEIL_E_NOT_FOUND, "unknown key id"},
	    {2, 0x10, VEIL_E_UNSUPPORTED, "KEM P-256"},
	    {4, 0x02, VEIL_E_UNSUPPORTED, "KDF HKDF-SHA384"},
	    {6, 0x04, VEIL_E_UNSUPPORTED, "an unknown AEAD"},
	};
	static const veil_ohttp_sym only_aes128[] = {{1, 1}};
	fixture f;

	for (size_t a = 0; a < 3; a++) {
		stream s;
		veil_writer pt = {0};
		veil_x25519_key k = {0};
		REQUIRE(fixture_init(&f, every_aead[a], DIR_REQUEST));
		REQUIRE(stream_build(&f, 10, small, 3, 1, &s));
		for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
			uint8_t was = s.wire.data[cases[i].at];
			s.wire.data[cases[i].at] = cases[i].value;
			expect_fails(&f, &s, s.wire.data, s.wire.len, cases[i].want, 0,
				     cases[i].what);
			EXPECT_ERR(open_with(&f, 10, s.wire.data, s.start, piece_whole, NULL, &pt),
				   cases[i].want);
			s.wire.data[cases[i].at] = was;
		}
		/* Export-only cannot carry a response. */
		s.wire.data[5] = 0xff, s.wire.data[6] = 0xff;
		expect_fails(&f, &s, s.wire.data, s.wire.len, VEIL_E_UNSUPPORTED, 0, "export-only");
		s.wire.data[5] = 0, s.wire.data[6] = (uint8_t)f.aead;
		/* enc = 0: a low-order point, no shared secret. */
		{
			veil_writer w;
			put_head(&w, &s);
			memset(w.data + VEIL_OHTTP_HEADER_LEN, 0, VEIL_X25519_LEN);
			put_chunks(&w, &s, 0, s.count);
			expect_fails(&f, &s, w.data, w.len, VEIL_E_VERIFY, 0, "low-order enc");
			veil_writer_clear(&w);
		}
		/* The key id exists but takes only AES-128-GCM. */
		if (f.aead != VEIL_AEAD_AES_128_GCM) {
			EXPECT_OK(veil_ohttp_server_remove_key(f.server, TEST_KEY_ID));
			REQUIRE(server_key(&k) == VEIL_OK);
			EXPECT_OK(
			    veil_ohttp_server_add_key(f.server, TEST_KEY_ID, &k, only_aes128, 1));
			expect_fails(&f, &s, s.wire.data, s.wire.len, VEIL_E_UNSUPPORTED, 0,
				     "suite the key does not take");
		}
		veil_x25519_key_clear(&k);
		veil_writer_clear(&pt);
		stream_clear(&s);
		fixture_clear(&f);
	}
}

static void failure_is_final_in(const fixture *f)
{
	/* ohttp.h: every failure is final for the exchange. After a bad chunk,
	 * the right bytes do not bring it back, and neither does opening the
	 * response again on the client. */
	stream s;
	veil_ohttp_exchange x = {0};
	veil_writer pt;
	size_t second = 0;
	REQUIRE(stream_build(f, 11, small, 3, 2, &s));
	veil_writer_init(&pt, WIRE_MAX);
	second = s.at[1];
	REQUIRE(opener_init(f, 11, &x) == VEIL_OK);
	EXPECT_OK(veil_ohttp_chunked_feed(&x, s.wire.data, second, &pt));
	s.wire.data[second + 3] ^= 1;
	EXPECT_ERR(veil_ohttp_chunked_feed(&x, s.wire.data + second, s.wire.len - second, &pt),
		   VEIL_E_VERIFY);
	s.wire.data[second + 3] ^= 1;
	EXPECT(x.phase == VEIL_OHTTP_FAILED);
	EXPECT_ERR(veil_ohttp_chunked_feed(&x, s.wire.data + second, s.wire.len - second, &pt),
		   VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunked_finish(&x, &pt), VEIL_E_USAGE);
	if (f->dir == DIR_RESPONSE) {
		veil_err err = veil_ohttp_chunked_response_open(&x);
		if (err == VEIL_OK)
			err = veil_ohttp_chunked_feed(&x, s.wire.data, s.wire.len, &pt);
		if (err == VEIL_OK)
			err = veil_ohttp_chunked_finish(&x, &pt);
		EXPECT(err != VEIL_OK);
	}
	EXPECT(same(&pt, s.pt, s.pt_at[1]));
	veil_ohttp_exchange_clear(&x);
	veil_writer_clear(&pt);
	stream_clear(&s);
}

TEST(failure_is_final)
{
	each_fixture(failure_is_final_in);
}

static void one_response_per_request_in(const fixture *f)
{
	/* A client that has read its response whole does not take a second
	 * one (RFC 9458 section 4.4: one response per request), and a server
	 * whose request failed does not answer it. */
	stream s;
	veil_ohttp_exchange x = {0};
	veil_writer pt, w;
	veil_err err;

	REQUIRE(stream_build(f, 12, small, 3, 2, &s));
	veil_writer_init(&pt, WIRE_MAX);
	veil_writer_init(&w, WIRE_MAX);
	REQUIRE(opener_init(f, 12, &x) == VEIL_OK);
	EXPECT_OK(veil_ohttp_chunked_feed(&x, s.wire.data, s.wire.len, &pt));
	EXPECT_OK(veil_ohttp_chunked_finish(&x, &pt));
	EXPECT(same(&pt, s.pt, s.pt_len));
	if (f->dir == DIR_RESPONSE) {
		err = veil_ohttp_chunked_response_open(&x);
		if (err == VEIL_OK)
			err = veil_ohttp_chunked_feed(&x, s.wire.data, s.wire.len, &pt);
		if (err == VEIL_OK)
			err = veil_ohttp_chunked_finish(&x, &pt);
		EXPECT(err != VEIL_OK);
	} else {
		veil_ohttp_exchange_clear(&x);
		REQUIRE(opener_init(f, 12, &x) == VEIL_OK);
		s.wire.data[s.wire.len - 1] ^= 1;
		EXPECT_OK(veil_ohttp_chunked_feed(&x, s.wire.data, s.wire.len, &pt));
		EXPECT_ERR(veil_ohttp_chunked_finish(&x, &pt), VEIL_E_VERIFY);
		s.wire.data[s.wire.len - 1] ^= 1;
		EXPECT_ERR(veil_ohttp_chunked_response_begin(&x, &w), VEIL_E_USAGE);
		EXPECT(w.len == 0);
	}
	veil_ohttp_exchange_clear(&x);
	veil_writer_clear(&pt);
	veil_writer_clear(&w);
	stream_clear(&s);
}

TEST(one_response_per_request)
{
	each_fixture(one_response_per_request_in);
}

int main(void)
{
	RUN(truncated_at_every_length);
	RUN(every_byte_altered);
	RUN(chunks_reordered_replayed_dropped);
	RUN(chunks_from_another_stream);
	RUN(non_final_chunk_passed_off_as_final);
	RUN(bytes_after_the_final_chunk);
	RUN(empty_non_final_chunk);
	RUN(request_header_errors);
	RUN(failure_is_final);
	RUN(one_response_per_request);
	return harness_finish("test_ohttp_chunked_negative");
}

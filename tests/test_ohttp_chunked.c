/*
 * test_ohttp_chunked.c - chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp-08)
 * that works: requests and responses in every AEAD, from a final chunk alone
 * to many chunks of 1 to 16384 bytes and one at the size cap, opened from
 * the same bytes fed whole, byte by byte, in random pieces and split at
 * every point of the final chunk, always to the same plaintext; the wire
 * format checked against the draft with HPKE and the AEAD used directly;
 * length prefixes in any QUIC varint form; a response that starts before
 * the request has ended; and what the sealing side refuses.
 *
 * The failures (cut, altered, reordered, spliced streams) are in
 * test_ohttp_chunked_negative.c.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_ohttp_chunked_util.h"

/* Opens the wire of s, or a rewritten copy of it, fed in every way, and
 * expects s's plaintext each time; names the case on failure. */
static void expect_opens(const fixture *f, const stream *s, const uint8_t *wire, size_t n,
			 const char *what)
{
	veil_writer pt = {0};
	veil_err err;

	err = open_with(f, s->seed, wire, n, piece_whole, NULL, &pt);
	if (err != VEIL_OK || !same(&pt, s->pt, s->pt_len))
		fprintf(stderr, "  aead %u %s %s, fed whole: %s\n", f->aead, dir_name(f->dir), what,
			veil_err_str(err));
	EXPECT(err == VEIL_OK && same(&pt, s->pt, s->pt_len));
	err = open_with(f, s->seed, wire, n, piece_byte, NULL, &pt);
	if (err != VEIL_OK || !same(&pt, s->pt, s->pt_len))
		fprintf(stderr, "  aead %u %s %s, fed byte by byte: %s\n", f->aead,
			dir_name(f->dir), what, veil_err_str(err));
	EXPECT(err == VEIL_OK && same(&pt, s->pt, s->pt_len));
	for (uint64_t seed = 1; seed <= 3; seed++) {
		uint64_t rng = 0x9e3779b97f4a7c15u * seed;
		err = open_with(f, s->seed, wire, n, piece_random, &rng, &pt);
		if (err != VEIL_OK || !same(&pt, s->pt, s->pt_len))
			fprintf(stderr, "  aead %u %s %s, random pieces %llu: %s\n", f->aead,
				dir_name(f->dir), what, (unsigned long long)seed,
				veil_err_str(err));
		EXPECT(err == VEIL_OK && same(&pt, s->pt, s->pt_len));
	}
	veil_writer_clear(&pt);
}

/* The layout the draft gives (section 6): hdr || enc or the response
 * nonce, each non-final chunk as varint(len(ct)) || ct in the shortest form
 * Veil writes, then varint(0) || ct running to the end. */
static bool layout_ok(const fixture *f, const stream *s)
{
	size_t start = f->dir == DIR_REQUEST              ? VEIL_OHTTP_REQ_PREFIX
		       : f->aead == VEIL_AEAD_AES_128_GCM ? 16
							  : 32;
	if (s->start != start)
		return false;
	for (size_t i = 0; i < s->count; i++) {
		size_t pt_len = s->pt_at[i + 1] - s->pt_at[i], ct_len = pt_len + VEIL_AEAD_TAG_LEN;
		bool final = i + 1 == s->count;
		uint64_t v;
		size_t vlen = varint_get(s->wire.data + s->at[i], &v);
		if (v != (final ? 0 : ct_len) || s->at[i] + vlen + ct_len != s->at[i + 1])
			return false;
		if (vlen != (final || ct_len < 64 ? 1 : ct_len < 16384 ? 2 : 4))
			return false;
	}
	return true;
}

typedef struct shape {
	const char *name;
	size_t n;
	size_t sizes[12];
	size_t final_len;
} shape;

static const shape shapes[] = {
    {"a final chunk alone, empty", 0, {0}, 0},
    {"a final chunk alone", 0, {0}, 33},
    {"1 byte, empty final", 1, {1}, 0},
    {"16 bytes and a final", 1, {16}, 5},
    {"1024 bytes, empty final", 1, {1024}, 0},
    {"16384 bytes twice", 1, {16384}, 16384},
    {"12 chunks of 1", 12, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0},
    {"12 chunks of 16", 12, {16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16}, 16},
    {"12 chunks of 1024",
     12,
     {1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024},
     1},
    {"5 chunks of 16384", 5, {16384, 16384, 16384, 16384, 16384}, 0},
    /* ct lengths 63 | 64 and 16383 | 16384: where the prefix grows. */
    {"varint edges", 7, {47, 48, 16367, 16368, 1, 63, 64}, 47},
    {"the largest chunks",
     1,
     {VEIL_OHTTP_CHUNK_MAX - VEIL_AEAD_TAG_LEN},
     VEIL_OHTTP_CHUNK_MAX - VEIL_AEAD_TAG_LEN},
};

TEST(round_trips_every_shape)
{
	for (size_t a = 0; a < 3; a++)
		for (int d = DIR_REQUEST; d <= DIR_RESPONSE; d++) {
			fixture f;
			REQUIRE(fixture_init(&f, every_aead[a], (direction)d));
			for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
				stream s;
				REQUIRE(stream_build(&f, 1, shapes[i].sizes, shapes[i].n,
						     shapes[i].final_len, &s));
				EXPECT(layout_ok(&f, &s));
				expect_opens(&f, &s, s.wire.data, s.wire.len, shapes[i].name);
				stream_clear(&s);
			}
			fixture_clear(&f);
		}
}

/* Every split of a small stream into two pieces, and every split into three
 * where both cuts fall in or next to the final chunk. */
static void split_every_way(const fixture *f, const stream *s)
{
	size_t n = s->wire.len, fin = s->at[s->count - 1], bad = 0, tries = 0;
	veil_writer pt = {0};

	for (size_t i = 0; i <= n; i++)
		for (size_t j = i; j <= n; j++) {
			size_t cut[2] = {i, j};
			cut_list c = {cut, 2};
			if (i + 1 < fin && j != i)
				continue; /* the two-piece splits cover these */
			tries++;
			if (open_with(f, s->seed, s->wire.data, n, piece_cuts, &c, &pt) !=
				VEIL_OK ||
			    !same(&pt, s->pt, s->pt_len)) {
				if (bad++ == 0)
					fprintf(stderr,
						"  aead %u %s: split at %zu and %zu fails\n",
						f->aead, dir_name(f->dir), i, j);
			}
		}
	EXPECT(bad == 0 && tries > n);
	veil_writer_clear(&pt);
}

TEST(final_chunk_split_every_way)
{
	static const size_t two[] = {5, 20};

	for (size_t a = 0; a < 3; a++)
		for (int d = DIR_REQUEST; d <= DIR_RESPONSE; d++) {
			fixture f;
			stream s;
			REQUIRE(fixture_init(&f, every_aead[a], (direction)d));
			REQUIRE(stream_build(&f, 2, two, 2, 30, &s));
			split_every_way(&f, &s);
			stream_clear(&s);
			REQUIRE(stream_build(&f, 3, NULL, 0, 0, &s));
			split_every_way(&f, &s);
			stream_clear(&s);
			fixture_clear(&f);
		}
}

/* RFC 9458 section 4.3 with the chunked label: info = label || 0 || hdr. */
static bool request_context(const fixture *f, const uint8_t *hdr, const char *label, bool sender,
			    uint8_t seed, veil_hpke_ctx *ctx)
{
	uint8_t info[64], enc[VEIL_X25519_LEN];
	size_t n = strlen(label);
	veil_hpke_params p = {0};
	veil_x25519_key k = {0};
	bool ok;

	memcpy(info, label, n + 1);
	memcpy(info + n + 1, hdr, VEIL_OHTTP_HEADER_LEN);
	p.mode = VEIL_HPKE_MODE_BASE;
	p.suite =
	    (veil_hpke_suite){VEIL_HPKE_KEM_X25519_SHA256, VEIL_HPKE_KDF_HKDF_SHA256, f->aead};
	p.info = info;
	p.info_len = n + 1 + VEIL_OHTTP_HEADER_LEN;
	if (sender)
		ok = eph_key(&k, seed) == VEIL_OK &&
		     hpke_setup_sender_with(ctx, &p, f->client.config.pub, &k, enc) == VEIL_OK;
	else
		ok = server_key(&k) == VEIL_OK &&
		     veil_hpke_setup_receiver(ctx, &p, &k, hdr + VEIL_OHTTP_HEADER_LEN,
					      VEIL_X25519_LEN) == VEIL_OK;
	veil_x25519_key_clear(&k);
	return ok;
}

/* Opens chunk i of s with the draft's AAD, by HPKE (request) or by the
 * derived response key with the counter in the nonce (response). */
static bool chunk_opens(const stream *s, size_t i, veil_hpke_ctx *req, veil_aead *res,
			const uint8_t res_nonce[VEIL_AEAD_NONCE_LEN])
{
	bool final = i + 1 == s->count;
	uint64_t v;
	size_t vlen = varint_get(s->wire.data + s->at[i], &v);
	const uint8_t *ct = s->wire.data + s->at[i] + vlen;
	size_t ct_len = s->at[i + 1] - s->at[i] - vlen;
	const uint8_t *aad = final ? (const uint8_t *)"final" : NULL;
	uint8_t *out = malloc(ct_len), nonce[VEIL_AEAD_NONCE_LEN];
	bool ok;

	if (out == NULL)
		return false;
	if (req != NULL) {
		ok = veil_hpke_open(req, aad, final ? 5 : 0, ct, ct_len, out) == VEIL_OK;
	} else {
		/* aead_nonce XOR encode(Nn, counter) */
		memcpy(nonce, res_nonce, sizeof nonce);
		for (size_t b = 0; b < 8; b++)
			nonce[VEIL_AEAD_NONCE_LEN - 1 - b] ^= (uint8_t)((uint64_t)i >> (8 * b));
		ok = veil_aead_open(res, nonce, aad, final ? 5 : 0, ct, ct_len, out) == VEIL_OK;
	}
	ok = ok && ct_len - VEIL_AEAD_TAG_LEN == s->pt_at[i + 1] - s->pt_at[i] &&
	     memcmp(out, s->pt + s->pt_at[i], ct_len - VEIL_AEAD_TAG_LEN) == 0;
	free(out);
	return ok;
}

TEST(wire_format_follows_draft)
{
	static const size_t sizes[] = {1, 100, 16384};

	for (size_t a = 0; a < 3; a++) {
		fixture f;
		stream s;
		veil_hpke_ctx ctx = {0};
		uint8_t hdr[VEIL_OHTTP_HEADER_LEN] = {TEST_KEY_ID, 0, 0x20, 0, 1, 0, 0};

		hdr[6] = (uint8_t)every_aead[a];
		/* Request: hdr || enc, chunks sealed by the HPKE context in order. */
		REQUIRE(fixture_init(&f, every_aead[a], DIR_REQUEST));
		REQUIRE(stream_build(&f, 4, sizes, 3, 7, &s));
		EXPECT(memcmp(s.wire.data, hdr, sizeof hdr) == 0);
		REQUIRE(request_context(&f, s.wire.data, "message/bhttp chunked request", false, 4,
					&ctx));
		for (size_t i = 0; i < s.count; i++)
			EXPECT(chunk_opens(&s, i, &ctx, NULL, NULL));
		veil_hpke_ctx_clear(&ctx);
		/* The label of whole requests does not open a chunked one. */
		REQUIRE(request_context(&f, s.wire.data, "message/bhttp request", false, 4, &ctx));
		EXPECT(!chunk_opens(&s, 0, &ctx, NULL, NULL));
		veil_hpke_ctx_clear(&ctx);
		stream_clear(&s);
		fixture_clear(&f);

		/* Response: nonce, then chunks under the key and nonce derived from
		 * Export("message/bhttp chunked response") as in RFC 9458 4.4. */
		REQUIRE(fixture_init(&f, every_aead[a], DIR_RESPONSE));
		REQUIRE(stream_build(&f, 5, sizes, 3, 7, &s));
		{
			static const char label[] = "message/bhttp chunked response";
			size_t nk = veil_aead_key_len(f.aead), nl = nk > 12 ? nk : 12;
			uint8_t nonce[VEIL_OHTTP_NONCE_MAX], secret[32], salt[64], prk[32], key[32],
			    aead_nonce[VEIL_AEAD_NONCE_LEN];
			veil_aead res = {0};

			response_nonce(5, nonce);
			EXPECT(s.start == nl && memcmp(s.wire.data, nonce, nl) == 0);
			REQUIRE(request_context(&f, hdr, "message/bhttp chunked request", true, 5,
						&ctx));
			REQUIRE(veil_hpke_export(&ctx, (const uint8_t *)label, sizeof label - 1,
						 secret, nl) == VEIL_OK);
			{
				veil_ohttp_exchange cx = {0};
				/* enc: the same ephemeral key gives the same enc. */
				REQUIRE(opener_init(&f, 5, &cx) == VEIL_OK);
				memcpy(salt, cx.enc, VEIL_X25519_LEN);
				veil_ohttp_exchange_clear(&cx);
			}
			memcpy(salt + VEIL_X25519_LEN, nonce, nl);
			REQUIRE(veil_hkdf_sha256_extract(salt, VEIL_X25519_LEN + nl, secret, nl,
							 prk) == VEIL_OK);
			REQUIRE(veil_hkdf_sha256_expand(prk, 32, (const uint8_t *)"key", 3, key,
							nk) == VEIL_OK);
			REQUIRE(veil_hkdf_sha256_expand(prk, 32, (const uint8_t *)"nonce", 5,
							aead_nonce, 12) == VEIL_OK);
			REQUIRE(veil_aead_init(&res, f.aead, key, nk) == VEIL_OK);
			for (size_t i = 0; i < s.count; i++)
				EXPECT(chunk_opens(&s, i, NULL, &res, aead_nonce));
			veil_aead_clear(&res);
			veil_hpke_ctx_clear(&ctx);
		}
		stream_clear(&s);
		fixture_clear(&f);
	}
}

/* Rewrites every length prefix of s in the given widths (0: as it was). */
static bool rewrite_prefixes(const stream *s, const size_t *width, veil_writer *out)
{
	veil_writer_init(out, WIRE_MAX);
	if (veil_writer_put(out, s->wire.data, s->start) != VEIL_OK)
		return false;
	for (size_t i = 0; i < s->count; i++) {
		uint64_t v;
		uint8_t pre[8];
		size_t vlen = varint_get(s->wire.data + s->at[i], &v);
		size_t w = width[i] ? width[i] : vlen;
		if (w < 8 && v >> (8 * w - 2) != 0)
			w = vlen; /* does not fit that form */
		if (veil_writer_put(out, pre, varint_put(pre, v, w)) != VEIL_OK ||
		    veil_writer_put(out, s->wire.data + s->at[i] + vlen,
				    s->at[i + 1] - s->at[i] - vlen) != VEIL_OK)
			return false;
	}
	return true;
}

TEST(non_minimal_length_prefixes)
{
	/* Draft section 6: the length is not authenticated and any varint form
	 * is valid, the final chunk's 0 included. */
	static const size_t sizes[] = {1, 47, 48, 1000};
	static const size_t widths[][5] = {
	    {2, 2, 2, 2, 2}, {4, 4, 4, 4, 4}, {8, 8, 8, 8, 8}, {8, 2, 4, 8, 2}, {0, 0, 0, 0, 8},
	};

	for (size_t a = 0; a < 3; a++)
		for (int d = DIR_REQUEST; d <= DIR_RESPONSE; d++) {
			fixture f;
			stream s;
			REQUIRE(fixture_init(&f, every_aead[a], (direction)d));
			REQUIRE(stream_build(&f, 6, sizes, 4, 5, &s));
			for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
				veil_writer alt;
				REQUIRE(rewrite_prefixes(&s, widths[w], &alt));
				EXPECT(alt.len > s.wire.len);
				expect_opens(&f, &s, alt.data, alt.len, "non-minimal prefixes");
				veil_writer_clear(&alt);
			}
			stream_clear(&s);
			fixture_clear(&f);
		}
}

static bool seal(veil_ohttp_exchange *x, const char *text, bool final, veil_writer *out)
{
	return veil_ohttp_chunk_seal(x, (const uint8_t *)text, strlen(text), final, out) == VEIL_OK;
}

/* Feeds everything new in `wire` since *done to x. */
static bool feed_new(veil_ohttp_exchange *x, const veil_writer *wire, size_t *done, veil_writer *pt)
{
	veil_err err = veil_ohttp_chunked_feed(x, wire->data + *done, wire->len - *done, pt);
	*done = wire->len;
	return err == VEIL_OK;
}

TEST(interleaved_request_and_response)
{
	/* Draft section 5: the response may start before the request has
	 * ended; the client may read it while its request is still going. */
	for (size_t a = 0; a < 3; a++) {
		fixture f;
		veil_ohttp_exchange cx = {0}, sx = {0};
		veil_writer req, res, req_pt, res_pt;
		size_t req_done = 0, res_done = 0;
		veil_x25519_key eph;

		REQUIRE(fixture_init(&f, every_aead[a], DIR_REQUEST));
		REQUIRE(eph_key(&eph, 7) == VEIL_OK);
		veil_writer_init(&req, WIRE_MAX);
		veil_writer_init(&res, WIRE_MAX);
		veil_writer_init(&req_pt, WIRE_MAX);
		veil_writer_init(&res_pt, WIRE_MAX);
		EXPECT_OK(ohttp_chunked_request_begin_with(&cx, &f.client, &eph, &req));
		EXPECT_OK(veil_ohttp_chunked_request_open(&sx, f.server));
		/* No response before the request's header has been read. */
		EXPECT_ERR(veil_ohttp_chunked_response_begin(&sx, &res), VEIL_E_USAGE);
		EXPECT(feed_new(&sx, &req, &req_done, &req_pt));
		EXPECT_OK(veil_ohttp_chunked_response_begin(&sx, &res));
		EXPECT(seal(&sx, "token 1 ", false, &res));
		EXPECT(seal(&cx, "prompt, ", false, &req));
		EXPECT(feed_new(&sx, &req, &req_done, &req_pt));
		EXPECT(seal(&sx, "token 2 ", false, &res));
		/* The client reads the response before its request is done. */
		EXPECT_OK(veil_ohttp_chunked_response_open(&cx));
		EXPECT(feed_new(&cx, &res, &res_done, &res_pt));
		EXPECT(same(&res_pt, (const uint8_t *)"token 1 token 2 ", 16));
		EXPECT(seal(&cx, "part two", false, &req));
		EXPECT(seal(&cx, ", end", true, &req));
		EXPECT(feed_new(&sx, &req, &req_done, &req_pt));
		EXPECT_OK(veil_ohttp_chunked_finish(&sx, &req_pt));
		EXPECT(same(&req_pt, (const uint8_t *)"prompt, part two, end", 21));
		EXPECT(seal(&sx, "token 3", false, &res));
		EXPECT(seal(&sx, "", true, &res));
		EXPECT(feed_new(&cx, &res, &res_done, &res_pt));
		EXPECT_OK(veil_ohttp_chunked_finish(&cx, &res_pt));
		EXPECT(same(&res_pt, (const uint8_t *)"token 1 token 2 token 3", 23));
		/* A second response to the same request is refused. */
		EXPECT_ERR(veil_ohttp_chunked_response_begin(&sx, &res), VEIL_E_USAGE);
		veil_ohttp_exchange_clear(&cx);
		veil_ohttp_exchange_clear(&sx);
		veil_writer_clear(&req);
		veil_writer_clear(&res);
		veil_writer_clear(&req_pt);
		veil_writer_clear(&res_pt);
		veil_x25519_key_clear(&eph);
		fixture_clear(&f);
	}
}

TEST(sealing_rules)
{
	uint8_t *over = calloc(1, VEIL_OHTTP_CHUNK_MAX);
	fixture f;
	veil_ohttp_exchange cx = {0}, sx = {0}, wx = {0}, zero = {0};
	veil_writer w, pt;
	veil_x25519_key eph;
	size_t len;

	REQUIRE(over != NULL);
	REQUIRE(fixture_init(&f, VEIL_AEAD_AES_256_GCM, DIR_REQUEST));
	REQUIRE(eph_key(&eph, 8) == VEIL_OK);
	veil_writer_init(&w, WIRE_MAX);
	veil_writer_init(&pt, WIRE_MAX);
	EXPECT_OK(ohttp_chunked_request_begin_with(&cx, &f.client, &eph, &w));
	len = w.len;
	/* Draft section 6: a non-final chunk must not be empty. */
	EXPECT_ERR(veil_ohttp_chunk_seal(&cx, NULL, 0, false, &w), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunk_seal(&cx, over, 0, false, &w), VEIL_E_USAGE);
	/* Over the cap, final or not; nothing is written. */
	EXPECT_ERR(veil_ohttp_chunk_seal(&cx, over, VEIL_OHTTP_CHUNK_MAX - VEIL_AEAD_TAG_LEN + 1,
					 false, &w),
		   VEIL_E_LIMIT);
	EXPECT_ERR(veil_ohttp_chunk_seal(&cx, over, VEIL_OHTTP_CHUNK_MAX - VEIL_AEAD_TAG_LEN + 1,
					 true, &w),
		   VEIL_E_LIMIT);
	EXPECT(w.len == len);
	EXPECT(seal(&cx, "a", false, &w));
	EXPECT(seal(&cx, "", true, &w));
	len = w.len;
	/* Nothing after the final chunk, final or not. */
	EXPECT_ERR(veil_ohttp_chunk_seal(&cx, over, 1, false, &w), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunk_seal(&cx, over, 1, true, &w), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunk_seal(&cx, NULL, 0, true, &w), VEIL_E_USAGE);
	EXPECT(w.len == len);

	/* The server: nothing to seal before its response has begun. */
	EXPECT_OK(veil_ohttp_chunked_request_open(&sx, f.server));
	EXPECT_ERR(veil_ohttp_chunk_seal(&sx, over, 1, false, &pt), VEIL_E_USAGE);
	EXPECT_OK(veil_ohttp_chunked_feed(&sx, w.data, w.len, &pt));
	EXPECT_ERR(veil_ohttp_chunk_seal(&sx, over, 1, false, &pt), VEIL_E_USAGE);
	EXPECT_OK(veil_ohttp_chunked_finish(&sx, &pt));
	EXPECT(same(&pt, (const uint8_t *)"a", 1));
	veil_writer_clear(&w);
	EXPECT_OK(veil_ohttp_chunked_response_begin(&sx, &w));
	EXPECT_ERR(veil_ohttp_chunked_response_begin(&sx, &w), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunk_seal(&sx, NULL, 0, false, &w), VEIL_E_USAGE);
	EXPECT(seal(&sx, "b", true, &w));
	EXPECT_ERR(veil_ohttp_chunk_seal(&sx, over, 1, false, &w), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunk_seal(&sx, over, 1, true, &w), VEIL_E_USAGE);
	/* A server is not a client and an opener does not open its own side. */
	EXPECT_ERR(veil_ohttp_chunked_response_open(&sx), VEIL_E_USAGE);

	/* A zeroed exchange and a whole-message one have no chunked stream. */
	EXPECT_ERR(veil_ohttp_chunked_feed(&zero, over, 1, &pt), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunked_finish(&zero, &pt), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunk_seal(&zero, over, 1, true, &w), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunked_response_open(&zero), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunked_response_begin(&zero, &w), VEIL_E_USAGE);
	EXPECT_OK(veil_ohttp_request_encap(&wx, &f.client, over, 3, &w));
	EXPECT_ERR(veil_ohttp_chunk_seal(&wx, over, 1, true, &w), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunked_response_open(&wx), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunked_feed(&wx, over, 1, &pt), VEIL_E_USAGE);
	veil_ohttp_exchange_clear(&wx);
	veil_ohttp_exchange_clear(&sx);
	veil_writer_clear(&w);
	/* A server that opened a whole request answers with a whole response. */
	EXPECT_OK(veil_ohttp_request_encap(&wx, &f.client, over, 3, &w));
	EXPECT_OK(veil_ohttp_request_decap(&sx, f.server, w.data, w.len, &pt));
	EXPECT_ERR(veil_ohttp_chunked_response_begin(&sx, &w), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunk_seal(&sx, over, 1, true, &w), VEIL_E_USAGE);

	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	veil_ohttp_exchange_clear(&wx);
	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	veil_x25519_key_clear(&eph);
	fixture_clear(&f);
	free(over);
}

TEST(whole_and_chunked_do_not_mix)
{
	/* The labels differ (draft section 6), so neither form opens as the
	 * other, even for a one-chunk message. */
	fixture f;
	veil_ohttp_exchange cx = {0}, sx = {0};
	veil_writer w, pt = {0};
	stream s;

	REQUIRE(fixture_init(&f, VEIL_AEAD_CHACHA20_POLY1305, DIR_REQUEST));
	REQUIRE(stream_build(&f, 9, NULL, 0, 12, &s));
	veil_writer_init(&w, WIRE_MAX);
	veil_writer_init(&pt, WIRE_MAX);
	/* hdr || enc || 0x00 || ct: strip the final chunk's prefix. */
	EXPECT_OK(veil_writer_put(&w, s.wire.data, s.start));
	EXPECT_OK(veil_writer_put(&w, s.wire.data + s.start + 1, s.wire.len - s.start - 1));
	EXPECT_ERR(veil_ohttp_request_decap(&sx, f.server, w.data, w.len, &pt), VEIL_E_VERIFY);
	veil_ohttp_exchange_clear(&sx);
	veil_writer_clear(&w);
	EXPECT_OK(veil_ohttp_request_encap(&cx, &f.client, s.pt, s.pt_len, &w));
	EXPECT(open_with(&f, 0, w.data, w.len, piece_whole, NULL, &pt) != VEIL_OK);
	/* ...and with the final-chunk prefix put in front of the ciphertext. */
	{
		veil_writer v;
		veil_writer_init(&v, WIRE_MAX);
		EXPECT_OK(veil_writer_put(&v, w.data, VEIL_OHTTP_REQ_PREFIX));
		EXPECT_OK(veil_writer_u8(&v, 0));
		EXPECT_OK(veil_writer_put(&v, w.data + VEIL_OHTTP_REQ_PREFIX,
					  w.len - VEIL_OHTTP_REQ_PREFIX));
		EXPECT_ERR(open_with(&f, 0, v.data, v.len, piece_whole, NULL, &pt), VEIL_E_VERIFY);
		EXPECT(pt.len == 0);
		veil_writer_clear(&v);
	}
	veil_ohttp_exchange_clear(&cx);
	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	stream_clear(&s);
	fixture_clear(&f);
}

TEST(length_caps)
{
	/* A chunk longer than VEIL_OHTTP_CHUNK_MAX is refused as soon as its
	 * prefix is read, in any varint form, fed whole or byte by byte; a
	 * final chunk is refused once it grows past the cap. */
	static const uint64_t lens[] = {VEIL_OHTTP_CHUNK_MAX + 1, (UINT64_C(1) << 30) - 1,
					(UINT64_C(1) << 62) - 1};
	uint8_t *big = calloc(1, 2 * VEIL_OHTTP_CHUNK_MAX);

	REQUIRE(big != NULL);
	for (int d = DIR_REQUEST; d <= DIR_RESPONSE; d++) {
		fixture f;
		stream s;
		veil_writer w, pt = {0};
		REQUIRE(fixture_init(&f, VEIL_AEAD_AES_128_GCM, (direction)d));
		REQUIRE(stream_build(&f, 10, NULL, 0, 1, &s));
		for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
			for (size_t width = 4; width <= 8; width += 4) {
				uint8_t pre[8];
				if (width == 4 && lens[i] >> 30 != 0)
					continue;
				veil_writer_init(&w, WIRE_MAX);
				EXPECT_OK(veil_writer_put(&w, s.wire.data, s.start));
				EXPECT_OK(
				    veil_writer_put(&w, pre, varint_put(pre, lens[i], width)));
				EXPECT_OK(veil_writer_put(&w, big, 100));
				EXPECT_ERR(open_with(&f, 10, w.data, w.len, piece_whole, NULL, &pt),
					   VEIL_E_LIMIT);
				EXPECT_ERR(open_with(&f, 10, w.data, w.len, piece_byte, NULL, &pt),
					   VEIL_E_LIMIT);
				veil_writer_clear(&w);
			}
		/* At the cap: not refused, only cut short. */
		veil_writer_init(&w, WIRE_MAX);
		EXPECT_OK(veil_writer_put(&w, s.wire.data, s.start));
		EXPECT_OK(veil_writer_put(&w, (const uint8_t *)"\x80\x04\x00\x00", 4));
		EXPECT_OK(veil_writer_put(&w, big, 100));
		EXPECT_ERR(open_with(&f, 10, w.data, w.len, piece_whole, NULL, &pt),
			   VEIL_E_TRUNCATED);
		veil_writer_clear(&w);
		/* A final chunk twice the cap. */
		veil_writer_init(&w, WIRE_MAX);
		EXPECT_OK(veil_writer_put(&w, s.wire.data, s.start + 1));
		EXPECT_OK(veil_writer_put(&w, big, 2 * VEIL_OHTTP_CHUNK_MAX));
		EXPECT_ERR(open_with(&f, 10, w.data, w.len, piece_whole, NULL, &pt), VEIL_E_LIMIT);
		veil_writer_clear(&w);
		veil_writer_clear(&pt);
		stream_clear(&s);
		fixture_clear(&f);
	}
	free(big);
}

int main(void)
{
	RUN(round_trips_every_shape);
	RUN(final_chunk_split_every_way);
	RUN(wire_format_follows_draft);
	RUN(non_minimal_length_prefixes);
	RUN(interleaved_request_and_response);
	RUN(sealing_rules);
	RUN(whole_and_chunked_do_not_mix);
	RUN(length_caps);
	return harness_finish("test_ohttp_chunked");
}

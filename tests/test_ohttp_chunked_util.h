/*
 * test_ohttp_chunked_util.h - helpers shared by the chunked OHTTP tests
 * (header-only, static).
 *
 * A fixture is a server and a client with keys derived from constant input,
 * so every run seals the same bytes, in one direction: the request stream
 * (client seals, server opens) or the response stream (server seals, client
 * opens). A stream is sealed from a list of chunk sizes and remembers where
 * each chunk starts, so the tests can cut, flip, swap and splice chunks. The
 * opener feeds a stream in pieces chosen by a callback (whole, byte by byte,
 * random sizes from a fixed-seed generator, or given cut points) and checks,
 * whatever happened, that the exchange accepts nothing more afterwards.
 */
#ifndef VEIL_TEST_OHTTP_CHUNKED_UTIL_H
#define VEIL_TEST_OHTTP_CHUNKED_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hpke/hpke_internal.h"
#include "ohttp/ohttp_internal.h"
#include "veil/ohttp.h"

#define STREAM_CHUNKS_MAX 40
#define WIRE_MAX          (1 << 24)
#define TEST_KEY_ID       5

static const uint16_t every_aead[] = {VEIL_AEAD_AES_128_GCM, VEIL_AEAD_AES_256_GCM,
				      VEIL_AEAD_CHACHA20_POLY1305};

typedef enum direction { DIR_REQUEST, DIR_RESPONSE } direction;

typedef struct fixture {
	veil_ohttp_server *server;
	veil_ohttp_client client;
	uint16_t aead;
	direction dir;
} fixture;

static inline const char *dir_name(direction d)
{
	return d == DIR_REQUEST ? "request" : "response";
}

/* The server's key, the same in every run. */
static inline veil_err server_key(veil_x25519_key *k)
{
	static const char ikm[] = "chunked OHTTP test: the server key, 32+ bytes";
	return veil_x25519_key_derive(k, (const uint8_t *)ikm, sizeof ikm - 1);
}

/* The client's ephemeral key for stream `seed`: one seed, one request. */
static inline veil_err eph_key(veil_x25519_key *k, uint8_t seed)
{
	uint8_t ikm[32];
	for (size_t i = 0; i < sizeof ikm; i++)
		ikm[i] = (uint8_t)(seed * 13 + i);
	return veil_x25519_key_derive(k, ikm, sizeof ikm);
}

/* The server's response nonce for stream `seed` (max(Nn, Nk) bytes used). */
static inline void response_nonce(uint8_t seed, uint8_t nonce[VEIL_OHTTP_NONCE_MAX])
{
	for (size_t i = 0; i < VEIL_OHTTP_NONCE_MAX; i++)
		nonce[i] = (uint8_t)(0xa0 ^ (seed * 29 + i * 3));
}

/* A server whose one key accepts every AEAD, and a client using `aead`. */
static inline bool fixture_init(fixture *f, uint16_t aead, direction dir)
{
	static const veil_ohttp_sym all[] = {{1, 1}, {1, 2}, {1, 3}};
	veil_x25519_key key = {0};
	veil_ohttp_keyconfig kc;
	bool ok;

	memset(f, 0, sizeof *f);
	f->aead = aead;
	f->dir = dir;
	ok = veil_ohttp_server_new(&f->server) == VEIL_OK && server_key(&key) == VEIL_OK &&
	     veil_ohttp_server_add_key(f->server, TEST_KEY_ID, &key, all, 3) == VEIL_OK &&
	     veil_ohttp_server_config(f->server, TEST_KEY_ID, &kc) == VEIL_OK &&
	     veil_ohttp_client_init(&f->client, &kc) == VEIL_OK;
	veil_x25519_key_clear(&key);
	f->client.suite.aead = aead;
	return ok;
}

static inline void fixture_clear(fixture *f)
{
	veil_ohttp_server_free(f->server);
	memset(f, 0, sizeof *f);
}

/* A sealed stream and where its pieces lie. */
typedef struct stream {
	uint8_t seed;
	veil_writer wire; /* header (request) or nonce (response), then the chunks */
	size_t start;     /* length of the header or nonce */
	size_t count;     /* chunks, the final one included */
	size_t at[STREAM_CHUNKS_MAX + 2]; /* where chunk i's length prefix starts;
					     at[count] == wire.len */
	uint8_t *pt;                      /* every chunk's plaintext, in order */
	size_t pt_len;
	size_t pt_at[STREAM_CHUNKS_MAX + 2]; /* where chunk i's plaintext starts */
} stream;

static inline void stream_clear(stream *s)
{
	veil_writer_clear(&s->wire);
	free(s->pt);
	memset(s, 0, sizeof *s);
}

/* Starts the sending side of f's direction for stream `seed`: the client's
 * request (header into wire), or the server's response to that request
 * (nonce into wire). The server's half of a response stream is left in sv. */
static inline bool sender_begin(const fixture *f, uint8_t seed, veil_ohttp_exchange *cx,
				veil_ohttp_exchange *sv, veil_writer *wire)
{
	veil_x25519_key eph = {0};
	uint8_t nonce[VEIL_OHTTP_NONCE_MAX];
	veil_writer hdr, discard;
	bool ok;

	memset(cx, 0, sizeof *cx);
	memset(sv, 0, sizeof *sv);
	veil_writer_init(&hdr, 4096);
	veil_writer_init(&discard, 4096);
	response_nonce(seed, nonce);
	ok = eph_key(&eph, seed) == VEIL_OK;
	if (f->dir == DIR_REQUEST) {
		ok = ok && ohttp_chunked_request_begin_with(cx, &f->client, &eph, wire) == VEIL_OK;
	} else {
		ok = ok &&
		     ohttp_chunked_request_begin_with(cx, &f->client, &eph, &hdr) == VEIL_OK &&
		     veil_ohttp_chunked_request_open(sv, f->server) == VEIL_OK &&
		     veil_ohttp_chunked_feed(sv, hdr.data, hdr.len, &discard) == VEIL_OK &&
		     ohttp_chunked_response_begin_with(sv, nonce, wire) == VEIL_OK;
	}
	veil_x25519_key_clear(&eph);
	veil_writer_clear(&hdr);
	veil_writer_clear(&discard);
	return ok;
}

/* Seals non-final chunks of sizes[0..n) and a final chunk of final_len
 * bytes, in f's direction, with the keys of stream `seed`. */
static inline bool stream_build(const fixture *f, uint8_t seed, const size_t *sizes, size_t n,
				size_t final_len, stream *s)
{
	veil_ohttp_exchange cx = {0}, sv = {0}, *sender = f->dir == DIR_REQUEST ? &cx : &sv;
	size_t off = 0;
	bool ok;

	memset(s, 0, sizeof *s);
	if (n > STREAM_CHUNKS_MAX)
		return false;
	s->seed = seed;
	s->pt_len = final_len;
	for (size_t i = 0; i < n; i++)
		s->pt_len += sizes[i];
	s->pt = malloc(s->pt_len + 1);
	if (s->pt == NULL)
		return false;
	for (size_t i = 0; i < s->pt_len; i++)
		s->pt[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
	veil_writer_init(&s->wire, WIRE_MAX);
	ok = sender_begin(f, seed, &cx, &sv, &s->wire);
	s->start = s->wire.len;
	for (size_t i = 0; ok && i <= n; i++) {
		size_t len = i < n ? sizes[i] : final_len;
		s->at[i] = s->wire.len;
		s->pt_at[i] = off;
		ok = veil_ohttp_chunk_seal(sender, s->pt + off, len, i == n, &s->wire) == VEIL_OK;
		off += len;
	}
	s->count = n + 1;
	s->at[s->count] = s->wire.len;
	s->pt_at[s->count] = off;
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sv);
	return ok;
}

/* Starts the opening side for stream `seed`: the server ready for a request,
 * or the client that made request `seed` ready for its response (the same
 * ephemeral key gives the same HPKE context, so the keys match). */
static inline veil_err opener_init(const fixture *f, uint8_t seed, veil_ohttp_exchange *x)
{
	veil_x25519_key eph = {0};
	veil_writer hdr;
	veil_err err;

	memset(x, 0, sizeof *x);
	if (f->dir == DIR_REQUEST)
		return veil_ohttp_chunked_request_open(x, f->server);
	veil_writer_init(&hdr, 4096);
	err = eph_key(&eph, seed);
	if (err == VEIL_OK)
		err = ohttp_chunked_request_begin_with(x, &f->client, &eph, &hdr);
	if (err == VEIL_OK)
		err = veil_ohttp_chunked_response_open(x);
	veil_x25519_key_clear(&eph);
	veil_writer_clear(&hdr);
	return err;
}

/* How many bytes the next feed takes: 1 to left. */
typedef size_t (*piece_fn)(void *arg, size_t off, size_t left);

static inline size_t piece_whole(void *arg, size_t off, size_t left)
{
	(void)arg, (void)off;
	return left;
}

static inline size_t piece_byte(void *arg, size_t off, size_t left)
{
	(void)arg, (void)off, (void)left;
	return 1;
}

/* xorshift64: a fixed seed gives the same split points on every run. */
static inline uint64_t prng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* Random piece sizes, mostly small, now and then larger than a chunk. */
static inline size_t piece_random(void *arg, size_t off, size_t left)
{
	static const size_t scale[] = {3, 17, 300, 5000, 40000};
	uint64_t r = prng_next(arg);
	size_t k = 1 + (size_t)((r >> 8) % scale[r % 5]);
	(void)off;
	return k < left ? k : left;
}

/* Pieces ending at the given increasing offsets, then the rest. */
typedef struct cut_list {
	const size_t *cut;
	size_t n;
} cut_list;

static inline size_t piece_cuts(void *arg, size_t off, size_t left)
{
	const cut_list *c = arg;
	for (size_t i = 0; i < c->n; i++)
		if (c->cut[i] > off && c->cut[i] - off < left)
			return c->cut[i] - off;
	return left;
}

/* Opens p[0..n) as stream `seed` of f's direction, fed in pieces chosen by
 * next, then finishes. Returns the first failure (later calls are not
 * made); pt receives what the opener released. Whatever the outcome, the
 * exchange must then refuse more bytes and a second finish, and release
 * nothing more. Between pieces an empty feed is made, which must change
 * nothing. */
static inline veil_err open_pieces(const fixture *f, uint8_t seed, const uint8_t *p, size_t n,
				   piece_fn next, void *arg, veil_writer *pt)
{
	static const uint8_t one = 0;
	veil_ohttp_exchange x = {0};
	veil_err err = opener_init(f, seed, &x);
	size_t off = 0, released;

	EXPECT_OK(err);
	while (err == VEIL_OK && off < n) {
		size_t k = next(arg, off, n - off);
		err = veil_ohttp_chunked_feed(&x, p + off, k, pt);
		off += k;
		if (err == VEIL_OK)
			err = veil_ohttp_chunked_feed(&x, p + off, 0, pt);
	}
	if (err == VEIL_OK)
		err = veil_ohttp_chunked_finish(&x, pt);
	/* ohttp.h: every failure is final, and a finished stream is over. */
	released = pt->len;
	EXPECT_ERR(veil_ohttp_chunked_feed(&x, &one, 1, pt), VEIL_E_USAGE);
	EXPECT_ERR(veil_ohttp_chunked_finish(&x, pt), VEIL_E_USAGE);
	EXPECT(pt->len == released);
	veil_ohttp_exchange_clear(&x);
	return err;
}

static inline veil_err open_with(const fixture *f, uint8_t seed, const uint8_t *p, size_t n,
				 piece_fn next, void *arg, veil_writer *pt)
{
	veil_writer_clear(pt);
	veil_writer_init(pt, WIRE_MAX);
	return open_pieces(f, seed, p, n, next, arg, pt);
}

static inline bool same(const veil_writer *w, const uint8_t *p, size_t n)
{
	return w->len == n && (n == 0 || memcmp(w->data, p, n) == 0);
}

/* What was released is the first bytes of the true plaintext: an opener
 * may stop early, never say something else. */
static inline bool is_prefix(const veil_writer *w, const stream *s)
{
	return w->len <= s->pt_len && (w->len == 0 || memcmp(w->data, s->pt, w->len) == 0);
}

/* QUIC varints (RFC 9000 section 16), decoded and encoded here by hand so
 * that the tests check the wire format without the library's own codec.
 * width: 1, 2, 4 or 8 bytes, any form the value fits in. */
static inline size_t varint_get(const uint8_t *p, uint64_t *v)
{
	size_t len = (size_t)1 << (p[0] >> 6);
	*v = p[0] & 0x3f;
	for (size_t i = 1; i < len; i++)
		*v = *v << 8 | p[i];
	return len;
}

static inline size_t varint_put(uint8_t *out, uint64_t v, size_t width)
{
	static const uint8_t code[9] = {0, 0, 1, 0, 2, 0, 0, 0, 3};
	for (size_t i = 0; i < width; i++)
		out[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	out[0] = (uint8_t)((out[0] & 0x3f) | code[width] << 6);
	return width;
}

#endif

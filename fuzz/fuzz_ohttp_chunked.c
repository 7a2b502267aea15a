/*
 * fuzz_ohttp_chunked.c - chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp-08)
 * opened incrementally, the way a worker reads a streamed request and a
 * client reads a streamed response.
 *
 * Input: a mode byte, then the fuzzer's parameters, then the stream.
 *   mode % 3 == 0: the stream is a chunked request for the fixed server;
 *   mode % 3 == 1: the stream is a chunked response to the fixed client's
 *                  chunked request (AEAD from one more byte);
 *   in both, up to 8 piece sizes (2 bytes each) say how the bytes are fed.
 *   mode % 3 == 2: structured: direction, AEAD, chunk sizes, piece sizes
 *                  and a flip position come from the input, the plaintext
 *                  is the rest; the stream sealed from them must open, fed
 *                  in those pieces, to the same plaintext, and with one
 *                  byte flipped must not open nor release a wrong byte.
 * Always: once feed or finish has failed (or the stream has finished), the
 * exchange refuses everything after.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_ohttp_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PIECES_MAX 8
#define CHUNKS_MAX 16
#define CHUNK_PT   2048

typedef struct pieces {
	size_t size[PIECES_MAX];
	size_t n;
} pieces;

static void read_pieces(veil_reader *r, pieces *p)
{
	p->n = take_u8(r) % (PIECES_MAX + 1);
	for (size_t i = 0; i < p->n; i++) {
		p->size[i] = take_u16(r);
		if (p->size[i] == 0)
			p->size[i] = 1;
	}
}

/* Starts the opening side: the server for a request, or the fixed client
 * (fixed ephemeral key, so the same context every run) for a response. */
static void opener_init(const fuzz_ohttp *f, int response, uint16_t aead, veil_ohttp_exchange *x)
{
	veil_ohttp_client c;
	veil_writer hdr;

	memset(x, 0, sizeof *x);
	if (!response) {
		if (veil_ohttp_chunked_request_open(x, f->server) != VEIL_OK)
			abort();
		return;
	}
	fuzz_client(f, aead, &c);
	veil_writer_init(&hdr, 4096);
	if (ohttp_chunked_request_begin_with(x, &c, &f->eph, &hdr) != VEIL_OK ||
	    veil_ohttp_chunked_response_open(x) != VEIL_OK)
		abort();
	veil_writer_clear(&hdr);
}

/* Feeds p[0..n) in the given pieces (cycled), then finishes. Returns the
 * first failure; checks the exchange is over afterwards. */
static veil_err open_in_pieces(veil_ohttp_exchange *x, const uint8_t *p, size_t n, const pieces *pc,
			       veil_writer *pt)
{
	static const uint8_t one;
	veil_err err = VEIL_OK;
	size_t off = 0, i = 0, released;

	while (err == VEIL_OK && off < n) {
		size_t k = pc->n ? pc->size[i++ % pc->n] : n - off;
		if (k > n - off)
			k = n - off;
		err = veil_ohttp_chunked_feed(x, p + off, k, pt);
		off += k;
	}
	if (err == VEIL_OK)
		err = veil_ohttp_chunked_finish(x, pt);
	released = pt->len;
	if (veil_ohttp_chunked_feed(x, &one, 1, pt) != VEIL_E_USAGE ||
	    veil_ohttp_chunked_finish(x, pt) != VEIL_E_USAGE || pt->len != released)
		abort();
	return err;
}

static void arbitrary_stream(const fuzz_ohttp *f, int response, veil_reader *r)
{
	uint16_t aead = response ? fuzz_aeads[take_u8(r) % 3] : 0;
	veil_ohttp_exchange x = {0};
	veil_writer pt;
	pieces pc;
	const uint8_t *p;
	size_t n;

	read_pieces(r, &pc);
	p = rest_of(r, &n);
	opener_init(f, response, aead, &x);
	veil_writer_init(&pt, 4 * VEIL_OHTTP_CHUNK_MAX);
	if (open_in_pieces(&x, p, n, &pc, &pt) == VEIL_OK && pt.len + VEIL_AEAD_TAG_LEN > n)
		abort(); /* every plaintext byte came with a ciphertext byte and a tag */
	veil_ohttp_exchange_clear(&x);
	veil_writer_clear(&pt);
}

/* Seals plaintext pt in chunks of the given sizes and a final chunk. */
static void seal_stream(const fuzz_ohttp *f, int response, uint16_t aead, const size_t *sizes,
			size_t n, size_t final_len, const uint8_t *pt, veil_writer *wire)
{
	veil_ohttp_client c;
	veil_ohttp_exchange cx = {0}, sx = {0}, *tx = response ? &sx : &cx;
	veil_writer hdr, discard;
	size_t off = 0;

	fuzz_client(f, aead, &c);
	veil_writer_init(&hdr, 4096);
	veil_writer_init(&discard, 4096);
	if (ohttp_chunked_request_begin_with(&cx, &c, &f->eph, response ? &hdr : wire) != VEIL_OK)
		abort();
	if (response && (veil_ohttp_chunked_request_open(&sx, f->server) != VEIL_OK ||
			 veil_ohttp_chunked_feed(&sx, hdr.data, hdr.len, &discard) != VEIL_OK ||
			 ohttp_chunked_response_begin_with(&sx, f->nonce, wire) != VEIL_OK))
		abort();
	for (size_t i = 0; i < n; i++) {
		/* Draft section 6: a non-final chunk is never empty. */
		if (sizes[i] == 0) {
			if (veil_ohttp_chunk_seal(tx, pt + off, 0, false, wire) != VEIL_E_USAGE)
				abort();
			continue;
		}
		if (veil_ohttp_chunk_seal(tx, pt + off, sizes[i], false, wire) != VEIL_OK)
			abort();
		off += sizes[i];
	}
	if (veil_ohttp_chunk_seal(tx, pt + off, final_len, true, wire) != VEIL_OK ||
	    veil_ohttp_chunk_seal(tx, pt, 1, false, wire) != VEIL_E_USAGE)
		abort();
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	veil_writer_clear(&hdr);
	veil_writer_clear(&discard);
}

static void structured(const fuzz_ohttp *f, veil_reader *r)
{
	uint8_t flags = take_u8(r);
	int response = flags & 1, flip = flags & 8;
	uint16_t aead = fuzz_aeads[(flags >> 1) % 3], flip_at;
	size_t sizes[CHUNKS_MAX], n = take_u8(r) % (CHUNKS_MAX + 1), final_len, total, src_len;
	const uint8_t *src;
	uint8_t *pt;
	veil_ohttp_exchange x = {0};
	veil_writer wire, out;
	pieces pc;

	for (size_t i = 0; i < n; i++)
		sizes[i] = take_u16(r) % (CHUNK_PT + 1);
	final_len = take_u16(r) % (CHUNK_PT + 1);
	read_pieces(r, &pc);
	flip_at = take_u16(r);
	src = rest_of(r, &src_len);
	total = final_len;
	for (size_t i = 0; i < n; i++)
		total += sizes[i];
	pt = malloc(total + 1);
	if (pt == NULL)
		abort();
	for (size_t i = 0; i < total; i++)
		pt[i] = src_len ? src[i % src_len] : (uint8_t)i;

	veil_writer_init(&wire, (CHUNKS_MAX + 1) * (CHUNK_PT + 64) + 64);
	veil_writer_init(&out, total + 1);
	seal_stream(f, response, aead, sizes, n, final_len, pt, &wire);
	opener_init(f, response, aead, &x);
	if (open_in_pieces(&x, wire.data, wire.len, &pc, &out) != VEIL_OK ||
	    !same_bytes(&out, pt, total))
		abort();
	veil_ohttp_exchange_clear(&x);
	if (flip) {
		size_t at = flip_at % wire.len;
		wire.data[at] ^= (uint8_t)(1u << (flip_at >> 13));
		veil_writer_clear(&out);
		veil_writer_init(&out, total + 1);
		opener_init(f, response, aead, &x);
		if (open_in_pieces(&x, wire.data, wire.len, &pc, &out) == VEIL_OK)
			abort();
		/* What came out before the failure is the true plaintext. */
		if (out.len > total || (out.len > 0 && memcmp(out.data, pt, out.len) != 0))
			abort();
		veil_ohttp_exchange_clear(&x);
	}
	veil_writer_clear(&wire);
	veil_writer_clear(&out);
	free(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fuzz_ohttp *f = fuzz_ohttp_get();
	veil_reader r;
	uint8_t mode;

	veil_reader_init(&r, data, size);
	mode = take_u8(&r) % 3;
	if (mode == 2)
		structured(f, &r);
	else
		arbitrary_stream(f, mode == 1, &r);
	return 0;
}

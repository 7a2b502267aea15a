/*
 * fuzz_ohttp_req.c - the worker opening a message/ohttp-req (RFC 9458
 * section 4.3) with a fixed key, and whole request/response round trips.
 *
 * An odd first byte (every request to key id 1 starts with one): the whole
 * input is an encapsulated request for the server; it must open or fail
 * cleanly, and when it opens (seeds encapsulated to this key) the server
 * answers it. An even first byte: the rest is a plaintext request, which a
 * client encapsulates to the fixed key with a fixed ephemeral key (the AEAD
 * picked by that byte); the server must open it to the same bytes, the
 * response it seals must open on the client to the same bytes, and the
 * encapsulated request with one byte changed or cut short must not open.
 * That way the fuzzer also reaches what lies behind the AEAD.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_ohttp_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void arbitrary_request(const fuzz_ohttp *f, const uint8_t *data, size_t size)
{
	veil_ohttp_exchange sx = {0};
	veil_writer pt, res;

	veil_writer_init(&pt, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&res, VEIL_OHTTP_MESSAGE_MAX + 64);
	if (veil_ohttp_request_decap(&sx, f->server, data, size, &pt) == VEIL_OK) {
		if (pt.len + VEIL_OHTTP_REQ_PREFIX + VEIL_AEAD_TAG_LEN != size)
			abort();
		if (ohttp_response_encap_with(&sx, pt.data, pt.len, f->nonce, &res) != VEIL_OK)
			abort();
	} else if (pt.len != 0) {
		abort(); /* nothing from a request that did not open */
	}
	veil_ohttp_exchange_clear(&sx);
	veil_writer_clear(&pt);
	veil_writer_clear(&res);
}

static void round_trip(const fuzz_ohttp *f, uint8_t pick, const uint8_t *msg, size_t n)
{
	veil_ohttp_client c;
	veil_ohttp_exchange cx = {0}, sx = {0}, bad = {0};
	veil_writer req, pt, res, back;
	size_t at;

	fuzz_client(f, fuzz_aeads[(pick >> 1) % 3], &c);
	veil_writer_init(&req, VEIL_OHTTP_MESSAGE_MAX + 64);
	veil_writer_init(&pt, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&res, VEIL_OHTTP_MESSAGE_MAX + 64);
	veil_writer_init(&back, VEIL_OHTTP_MESSAGE_MAX);
	if (ohttp_request_encap_with(&cx, &c, msg, n, &f->eph, &req) != VEIL_OK ||
	    req.len != n + VEIL_OHTTP_REQ_PREFIX + VEIL_AEAD_TAG_LEN)
		abort();
	if (veil_ohttp_request_decap(&sx, f->server, req.data, req.len, &pt) != VEIL_OK ||
	    !same_bytes(&pt, msg, n))
		abort();
	/* The response: the request's bytes, sealed by the server. */
	if (ohttp_response_encap_with(&sx, msg, n, f->nonce, &res) != VEIL_OK ||
	    veil_ohttp_response_decap(&cx, res.data, res.len, &back) != VEIL_OK ||
	    !same_bytes(&back, msg, n))
		abort();
	/* One byte changed anywhere, or cut short: never opens. */
	veil_writer_clear(&pt);
	at = (pick * 131u + n) % req.len;
	req.data[at] ^= (uint8_t)(1u << (pick % 8));
	if (veil_ohttp_request_decap(&bad, f->server, req.data, req.len, &pt) == VEIL_OK ||
	    pt.len != 0)
		abort();
	veil_ohttp_exchange_clear(&bad);
	req.data[at] ^= (uint8_t)(1u << (pick % 8));
	if (veil_ohttp_request_decap(&bad, f->server, req.data, at, &pt) == VEIL_OK)
		abort();
	veil_ohttp_exchange_clear(&bad);
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	veil_writer_clear(&req);
	veil_writer_clear(&pt);
	veil_writer_clear(&res);
	veil_writer_clear(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fuzz_ohttp *f = fuzz_ohttp_get();

	if (size > 0 && data[0] % 2 == 0)
		round_trip(f, data[0], data + 1, size - 1);
	else
		arbitrary_request(f, data, size);
	return 0;
}

/*
 * fuzz_ohttp_res.c - the client opening a message/ohttp-res (RFC 9458
 * section 4.4) to a fixed request.
 *
 * The response is what a relay or a compromised worker can put in front
 * of the client, so it must open or fail cleanly, never crash, and
 * release nothing when it fails. An odd first byte (as the seeds' response
 * nonces have): the whole input is the response, tried with each AEAD's
 * client (the nonce is 16 or 32 bytes). An even first byte: the rest is a
 * plaintext response that the server seals to the fixed request; the client
 * must open it to the same bytes, and not open it with a byte changed or cut
 * short.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_ohttp_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The client's half of the fixed request, made anew for every response
 * (a client opens one response per request). */
static void client_request(const fuzz_ohttp *f, uint16_t aead, veil_ohttp_exchange *cx,
			   veil_writer *req)
{
	veil_ohttp_client c;

	fuzz_client(f, aead, &c);
	memset(cx, 0, sizeof *cx);
	if (ohttp_request_encap_with(cx, &c, fuzz_request, sizeof fuzz_request, &f->eph, req) !=
	    VEIL_OK)
		abort();
}

static void arbitrary_response(const fuzz_ohttp *f, const uint8_t *data, size_t size)
{
	for (size_t a = 0; a < 3; a++) {
		veil_ohttp_exchange cx = {0};
		veil_writer req, pt;
		veil_err err;

		veil_writer_init(&req, 4096);
		veil_writer_init(&pt, VEIL_OHTTP_MESSAGE_MAX);
		client_request(f, fuzz_aeads[a], &cx, &req);
		err = veil_ohttp_response_decap(&cx, data, size, &pt);
		if (err != VEIL_OK && pt.len != 0)
			abort();
		if (err == VEIL_OK && pt.len + VEIL_AEAD_TAG_LEN +
					      (fuzz_aeads[a] == VEIL_AEAD_AES_128_GCM ? 16 : 32) !=
					  size)
			abort();
		/* One response per request. */
		if (veil_ohttp_response_decap(&cx, data, size, &pt) == VEIL_OK)
			abort();
		veil_ohttp_exchange_clear(&cx);
		veil_writer_clear(&req);
		veil_writer_clear(&pt);
	}
}

static void round_trip(const fuzz_ohttp *f, uint8_t pick, const uint8_t *msg, size_t n)
{
	uint16_t aead = fuzz_aeads[(pick >> 1) % 3];
	veil_ohttp_exchange cx = {0}, sx = {0};
	veil_writer req, pt, res;
	size_t at;

	veil_writer_init(&req, 4096);
	veil_writer_init(&pt, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&res, VEIL_OHTTP_MESSAGE_MAX + 64);
	client_request(f, aead, &cx, &req);
	if (veil_ohttp_request_decap(&sx, f->server, req.data, req.len, &pt) != VEIL_OK ||
	    !same_bytes(&pt, fuzz_request, sizeof fuzz_request))
		abort();
	veil_writer_clear(&pt);
	if (ohttp_response_encap_with(&sx, msg, n, f->nonce, &res) != VEIL_OK)
		abort();
	if (veil_ohttp_response_decap(&cx, res.data, res.len, &pt) != VEIL_OK ||
	    !same_bytes(&pt, msg, n))
		abort();
	veil_ohttp_exchange_clear(&cx);
	veil_writer_clear(&req);
	veil_writer_clear(&pt);
	/* Changed at one byte, then cut short: neither opens. */
	at = (pick * 131u + n) % res.len;
	res.data[at] ^= (uint8_t)(1u << (pick % 8));
	client_request(f, aead, &cx, &req);
	if (veil_ohttp_response_decap(&cx, res.data, res.len, &pt) == VEIL_OK || pt.len != 0)
		abort();
	veil_ohttp_exchange_clear(&cx);
	veil_writer_clear(&req);
	res.data[at] ^= (uint8_t)(1u << (pick % 8));
	client_request(f, aead, &cx, &req);
	if (veil_ohttp_response_decap(&cx, res.data, at, &pt) == VEIL_OK || pt.len != 0)
		abort();
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	veil_writer_clear(&req);
	veil_writer_clear(&pt);
	veil_writer_clear(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fuzz_ohttp *f = fuzz_ohttp_get();

	if (size > 0 && data[0] % 2 == 0)
		round_trip(f, data[0], data + 1, size - 1);
	else
		arbitrary_response(f, data, size);
	return 0;
}

/*
 * varint.c - QUIC variable-length integers (RFC 9000 section 16).
 *
 * Binary HTTP (RFC 9292 section 3) writes every length, status code and the
 * framing indicator this way, and chunked Oblivious HTTP frames its chunks
 * with them, so the reader and writer sit beside the bounded reader's other
 * integer readers. The two most significant bits of the first byte give the
 * length (1, 2, 4 or 8 bytes); the remaining 6, 14, 30 or 62 bits hold the
 * value, big-endian.
 *
 * RFC 9292 section 3: "Integer values do not need to be encoded on the
 * minimum number of bytes necessary", so the reader accepts every encoding
 * of a value; the writer always uses the shortest.
 */
#include "veil/bhttp.h"

#define VARINT_MAX ((UINT64_C(1) << 62) - 1)

veil_err veil_reader_varint(veil_reader *r, uint64_t *out)
{
	/* Read through a copy so that a truncated integer leaves r where it
	 * was. */
	veil_reader t = *r;
	const uint8_t *rest;
	uint8_t first;
	size_t len;
	uint64_t v;

	TRY(veil_reader_u8(&t, &first));
	len = (size_t)1 << (first >> 6);
	v = first & 0x3f;
	if (len > 1) {
		TRY(veil_reader_borrow(&t, len - 1, &rest));
		for (size_t i = 0; i < len - 1; i++)
			v = v << 8 | rest[i];
	}
	*r = t;
	*out = v;
	return VEIL_OK;
}

size_t veil_varint_len(uint64_t v)
{
	if (v < (UINT64_C(1) << 6))
		return 1;
	if (v < (UINT64_C(1) << 14))
		return 2;
	if (v < (UINT64_C(1) << 30))
		return 4;
	if (v <= VARINT_MAX)
		return 8;
	return 0; /* not representable */
}

size_t veil_varint_encode(uint64_t v, uint8_t out[8])
{
	size_t len = veil_varint_len(v);

	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	/* The length code: 0, 1, 2, 3 for 1, 2, 4, 8 bytes. */
	if (len > 0)
		out[0] |= (uint8_t)((len == 1 ? 0 : len == 2 ? 1 : len == 4 ? 2 : 3) << 6);
	return len;
}

veil_err veil_writer_varint(veil_writer *w, uint64_t v)
{
	uint8_t b[8];
	size_t len = veil_varint_encode(v, b);

	if (len == 0) {
		/* Keep the writer's sticky error, so a caller that checks only
		 * at the end still sees the failure. */
		veil_err err = veil_fail(VEIL_E_USAGE,
					 "%llu does not fit a QUIC variable-length integer "
					 "(at most 2^62 - 1, RFC 9000 section 16)",
					 (unsigned long long)v);
		if (w->err == VEIL_OK)
			w->err = err;
		return err;
	}
	return veil_writer_put(w, b, len);
}

/*
 * reader.c - the bounded reader (see bytes.h).
 *
 * Every read goes through reader_need(), the single place where the remaining
 * length is compared with what a field needs; failures name the absolute
 * offset so a user can find the bad byte with a hex dump.
 */
#include <string.h>

#include "veil/bytes.h"

void veil_reader_init(veil_reader *r, const uint8_t *data, size_t len)
{
	r->data = data;
	r->len = data == NULL ? 0 : len;
	r->pos = 0;
	r->base = 0;
}

size_t veil_reader_left(const veil_reader *r)
{
	return r->len - r->pos;
}

size_t veil_reader_offset(const veil_reader *r)
{
	return r->base + r->pos;
}

static veil_err reader_need(const veil_reader *r, size_t n)
{
	if (n > r->len - r->pos)
		return veil_fail(VEIL_E_TRUNCATED,
				 "truncated at offset 0x%zx: need %zu bytes, %zu left",
				 veil_reader_offset(r), n, r->len - r->pos);
	return VEIL_OK;
}

veil_err veil_reader_borrow(veil_reader *r, size_t n, const uint8_t **out)
{
	TRY(reader_need(r, n));
	*out = r->data + r->pos;
	r->pos += n;
	return VEIL_OK;
}

veil_err veil_reader_copy(veil_reader *r, void *out, size_t n)
{
	const uint8_t *p;
	TRY(veil_reader_borrow(r, n, &p));
	if (n > 0)
		memcpy(out, p, n);
	return VEIL_OK;
}

veil_err veil_reader_skip(veil_reader *r, size_t n)
{
	const uint8_t *p;
	return veil_reader_borrow(r, n, &p);
}

veil_err veil_reader_zeros(veil_reader *r, size_t n)
{
	size_t at = veil_reader_offset(r);
	const uint8_t *p;
	TRY(veil_reader_borrow(r, n, &p));
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return veil_fail(VEIL_E_MALFORMED,
					 "reserved byte at offset 0x%zx is 0x%02x, must be zero",
					 at + i, p[i]);
	return VEIL_OK;
}

veil_err veil_reader_sub(veil_reader *r, size_t n, veil_reader *sub)
{
	size_t at = veil_reader_offset(r);
	const uint8_t *p;
	TRY(veil_reader_borrow(r, n, &p));
	sub->data = p;
	sub->len = n;
	sub->pos = 0;
	sub->base = at;
	return VEIL_OK;
}

veil_err veil_reader_end(const veil_reader *r)
{
	if (r->pos != r->len)
		return veil_fail(VEIL_E_TRAILING, "%zu unexpected bytes at offset 0x%zx",
				 r->len - r->pos, veil_reader_offset(r));
	return VEIL_OK;
}

veil_err veil_reader_u8(veil_reader *r, uint8_t *out)
{
	return veil_reader_copy(r, out, 1);
}

veil_err veil_reader_u16le(veil_reader *r, uint16_t *out)
{
	const uint8_t *p;
	TRY(veil_reader_borrow(r, 2, &p));
	*out = (uint16_t)(p[0] | (uint16_t)p[1] << 8);
	return VEIL_OK;
}

veil_err veil_reader_u32le(veil_reader *r, uint32_t *out)
{
	const uint8_t *p;
	TRY(veil_reader_borrow(r, 4, &p));
	*out = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return VEIL_OK;
}

veil_err veil_reader_u64le(veil_reader *r, uint64_t *out)
{
	uint32_t lo, hi;
	TRY(veil_reader_u32le(r, &lo));
	TRY(veil_reader_u32le(r, &hi));
	*out = (uint64_t)hi << 32 | lo;
	return VEIL_OK;
}

veil_err veil_reader_u16be(veil_reader *r, uint16_t *out)
{
	const uint8_t *p;
	TRY(veil_reader_borrow(r, 2, &p));
	*out = (uint16_t)((uint16_t)p[0] << 8 | p[1]);
	return VEIL_OK;
}

veil_err veil_reader_u32be(veil_reader *r, uint32_t *out)
{
	const uint8_t *p;
	TRY(veil_reader_borrow(r, 4, &p));
	*out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
	return VEIL_OK;
}

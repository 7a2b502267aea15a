/*
 * hex.c - lower-case hex encoding and strict decoding.
 */
#include "veil/codec.h"

static const char hex_digits[] = "0123456789abcdef";

void veil_hex_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int veil_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

veil_err veil_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
	if (in_len % 2 != 0)
		return veil_fail(VEIL_E_MALFORMED, "hex string has odd length %zu", in_len);
	if (in_len / 2 > cap)
		return veil_fail(VEIL_E_LIMIT, "hex string decodes to %zu bytes, room for %zu",
				 in_len / 2, cap);
	for (size_t i = 0; i < in_len; i += 2) {
		int hi = veil_hex_digit(in[i]), lo = veil_hex_digit(in[i + 1]);
		if (hi < 0 || lo < 0)
			return veil_fail(VEIL_E_MALFORMED, "non-hex character at position %zu",
					 hi < 0 ? i : i + 1);
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = in_len / 2;
	return VEIL_OK;
}

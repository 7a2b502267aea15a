/*
 * base64.c - RFC 4648 base64 (section 4, padded) and base64url (section 5,
 * unpadded as JOSE uses it, RFC 7515 section 2), with strict decoding:
 * characters outside the alphabet, misplaced padding and non-zero pad bits
 * (RFC 4648 section 3.5) are errors, so each value has one encoding.
 */
#include "veil/codec.h"

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t veil_base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t veil_base64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t veil_base64_decoded_max(size_t in_len)
{
	return in_len / 4 * 3 + 3;
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out, const char *alpha, bool pad)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alpha[v >> 18];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alpha[v >> 18];
		out[o++] = alpha[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alpha[v >> 18];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

void veil_base64_encode(const uint8_t *in, size_t n, char *out)
{
	b64_encode(in, n, out, b64_std, true);
}

void veil_base64url_encode(const uint8_t *in, size_t n, char *out)
{
	b64_encode(in, n, out, b64_url, false);
}

static int b64_value(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static veil_err b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
			   bool url)
{
	const char *name = url ? "base64url" : "base64";
	size_t data_len = in_len;

	if (!url) {
		if (in_len % 4 != 0)
			return veil_fail(VEIL_E_MALFORMED, "%s length %zu is not a multiple of 4",
					 name, in_len);
		if (data_len > 0 && in[data_len - 1] == '=')
			data_len--;
		if (data_len > 0 && in[data_len - 1] == '=')
			data_len--;
	}
	if (data_len % 4 == 1)
		return veil_fail(VEIL_E_MALFORMED, "%s length %zu is impossible", name, in_len);
	size_t need = data_len / 4 * 3 + (data_len % 4 ? data_len % 4 - 1 : 0);
	if (need > cap)
		return veil_fail(VEIL_E_LIMIT, "%s decodes to %zu bytes, room for %zu", name, need,
				 cap);

	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < data_len; i++) {
		int v = b64_value(in[i], url);
		if (v < 0)
			return veil_fail(VEIL_E_MALFORMED, "invalid %s character at position %zu",
					 name, i);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return veil_fail(VEIL_E_MALFORMED, "%s has non-zero padding bits", name);
	*out_len = o;
	return VEIL_OK;
}

veil_err veil_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap,
			    size_t *out_len)
{
	return b64_decode(in, in_len, out, cap, out_len, false);
}

veil_err veil_base64url_decode(const char *in, size_t in_len, uint8_t *out, size_t cap,
			       size_t *out_len)
{
	return b64_decode(in, in_len, out, cap, out_len, true);
}

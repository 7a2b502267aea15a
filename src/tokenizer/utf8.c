/*
 * utf8.c - UTF-8 decoding and encoding, character classes, and the GPT-2
 * byte-to-character mapping: the text-level helpers the tokenizers share.
 *
 * Decoding is strict (RFC 3629 section 4): no overlong forms, no
 * surrogates, nothing above U+10FFFF, so the tokenizers never see a code
 * point that has no UTF-8 form and text they accept round-trips exactly.
 */
#include <string.h>

#include "tokenizer/tok_internal.h"

size_t tok_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
	uint8_t b0;
	size_t n;
	uint32_t c, min;

	if (len == 0)
		return 0;
	b0 = s[0];
	if (b0 < 0x80) {
		*cp = b0;
		return 1;
	}
	if (b0 >= 0xC2 && b0 <= 0xDF) {
		n = 2;
		c = b0 & 0x1F;
		min = 0x80;
	} else if (b0 >= 0xE0 && b0 <= 0xEF) {
		n = 3;
		c = b0 & 0x0F;
		min = 0x800;
	} else if (b0 >= 0xF0 && b0 <= 0xF4) {
		n = 4;
		c = b0 & 0x07;
		min = 0x10000;
	} else {
		return 0; /* a continuation byte, C0/C1 (always overlong) or F5..FF */
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	/* RFC 3629 section 3: shortest form only, no surrogates, at most
	 * U+10FFFF. */
	if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
		return 0;
	*cp = c;
	return n;
}

size_t tok_utf8_invalid_at(const uint8_t *s, size_t len)
{
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t n = tok_utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

size_t tok_utf8_encode(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

uint8_t tok_unicode_class(uint32_t cp)
{
	/* ASCII is most of most prompts: answer it without the search. */
	if (cp < 0x80) {
		if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
			return TOK_UC_LETTER;
		if (cp >= '0' && cp <= '9')
			return TOK_UC_NUMBER;
		if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D))
			return TOK_UC_SPACE;
		return TOK_UC_OTHER;
	}
	/* The last range that starts at or before cp. */
	size_t lo = 0, hi = tok_unicode_ranges_count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if ((tok_unicode_ranges[mid] >> 2) <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return (uint8_t)(tok_unicode_ranges[lo] & 3);
}

/* GPT-2's bytes_to_unicode(): the bytes that print as themselves are
 * '!'..'~', U+00A1..U+00AC and U+00AE..U+00FF. */
static bool byte_prints(unsigned b)
{
	return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

uint32_t tok_bpe_byte_char(uint8_t b)
{
	/* The 68 others take U+0100 onwards in byte order: 0x00..0x20, then
	 * 0x7F..0xA0, then 0xAD. */
	if (byte_prints(b))
		return b;
	if (b <= 0x20)
		return 0x100 + (uint32_t)b;
	if (b <= 0xA0)
		return 0x121 + (uint32_t)(b - 0x7F);
	return 0x143; /* 0xAD */
}

int tok_bpe_char_byte(uint32_t cp)
{
	if (cp < 0x100)
		return byte_prints(cp) ? (int)cp : -1;
	if (cp <= 0x120)
		return (int)(cp - 0x100);
	if (cp <= 0x142)
		return (int)(cp - 0x121 + 0x7F);
	if (cp == 0x143)
		return 0xAD;
	return -1;
}

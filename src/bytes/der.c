/*
 * der.c - the minimal bounded DER reader (see der.h).
 *
 * ITU-T X.690 section 8.1: identifier, length, contents. DER (section 10.1)
 * requires the definite, shortest length form; anything else is rejected so
 * that one value has one encoding.
 */
#include <stdbool.h>
#include <stdio.h>

#include "veil/der.h"

veil_err veil_der_read_any(veil_reader *r, uint8_t *tag, veil_reader *content)
{
	size_t at = veil_reader_offset(r);
	uint8_t t, l0;
	size_t len = 0;

	TRY(veil_reader_u8(r, &t));
	if ((t & 0x1f) == 0x1f)
		return veil_fail(VEIL_E_UNSUPPORTED, "DER at 0x%zx: multi-byte tags not supported",
				 at);
	TRY(veil_reader_u8(r, &l0));
	if (l0 < 0x80) {
		len = l0;
	} else {
		size_t nbytes = l0 & 0x7f;
		if (nbytes == 0 || nbytes > sizeof(size_t) || nbytes > 4)
			return veil_fail(VEIL_E_MALFORMED, "DER at 0x%zx: bad length form 0x%02x",
					 at, l0);
		for (size_t i = 0; i < nbytes; i++) {
			uint8_t b;
			TRY(veil_reader_u8(r, &b));
			if (i == 0 && b == 0)
				return veil_fail(VEIL_E_MALFORMED,
						 "DER at 0x%zx: length not minimal", at);
			len = len << 8 | b;
		}
		if (len < 0x80)
			return veil_fail(VEIL_E_MALFORMED, "DER at 0x%zx: length not minimal", at);
	}
	*tag = t;
	return veil_reader_sub(r, len, content);
}

veil_err veil_der_read(veil_reader *r, uint8_t tag, veil_reader *content)
{
	size_t at = veil_reader_offset(r);
	uint8_t got;
	TRY(veil_der_read_any(r, &got, content));
	if (got != tag)
		return veil_fail(VEIL_E_MALFORMED, "DER at 0x%zx: tag 0x%02x, expected 0x%02x", at,
				 got, tag);
	return VEIL_OK;
}

veil_err veil_der_read_uint(veil_reader *r, uint8_t tag, uint64_t *out)
{
	size_t at = veil_reader_offset(r);
	veil_reader c;
	const uint8_t *p;
	size_t n;
	uint64_t v = 0;

	TRY(veil_der_read(r, tag, &c));
	n = veil_reader_left(&c);
	TRY(veil_reader_borrow(&c, n, &p));
	if (n == 0)
		return veil_fail(VEIL_E_MALFORMED, "DER INTEGER at 0x%zx: empty", at);
	if (p[0] & 0x80)
		return veil_fail(VEIL_E_MALFORMED, "DER INTEGER at 0x%zx: negative", at);
	/* X.690 8.3.2: no redundant leading zero octet. */
	if (n > 1 && p[0] == 0 && !(p[1] & 0x80))
		return veil_fail(VEIL_E_MALFORMED, "DER INTEGER at 0x%zx: not minimal", at);
	if (p[0] == 0) {
		p++;
		n--;
	}
	if (n > 8)
		return veil_fail(VEIL_E_LIMIT, "DER INTEGER at 0x%zx: wider than 64 bits", at);
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	*out = v;
	return VEIL_OK;
}

veil_err veil_der_oid_text(const veil_reader *oid, char *buf, size_t cap)
{
	veil_reader r = *oid;
	size_t used = 0;
	bool first = true;

	if (veil_reader_left(&r) == 0)
		return veil_fail(VEIL_E_MALFORMED, "empty OID");
	while (veil_reader_left(&r) > 0) {
		uint64_t arc = 0;
		uint8_t b;
		int n = 0;
		do {
			TRY(veil_reader_u8(&r, &b));
			if (n == 0 && b == 0x80)
				return veil_fail(VEIL_E_MALFORMED, "OID arc not minimal");
			if (++n > 9)
				return veil_fail(VEIL_E_LIMIT, "OID arc too large");
			arc = arc << 7 | (b & 0x7f);
		} while (b & 0x80);
		int w;
		if (first) {
			/* X.690 8.19.4: the first two arcs share one subidentifier. */
			uint64_t a0 = arc < 40 ? 0 : arc < 80 ? 1 : 2;
			w = snprintf(buf + used, cap - used, "%llu.%llu", (unsigned long long)a0,
				     (unsigned long long)(arc - a0 * 40));
			first = false;
		} else {
			w = snprintf(buf + used, cap - used, ".%llu", (unsigned long long)arc);
		}
		if (w < 0 || (size_t)w >= cap - used)
			return veil_fail(VEIL_E_LIMIT, "OID text longer than %zu", cap);
		used += (size_t)w;
	}
	return VEIL_OK;
}

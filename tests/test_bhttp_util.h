/*
 * test_bhttp_util.h - helpers shared by the Binary HTTP tests (header-only,
 * static): comparing two decoded messages, encoding in a chosen form, and
 * decoding from an exact-size copy so that ASan sees any read past the end.
 */
#ifndef VEIL_TEST_BHTTP_UTIL_H
#define VEIL_TEST_BHTTP_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/bhttp.h"
#include "veil/bytes.h"
#include "veil/limits.h"

/* Big enough for any message within the caps. */
#define BHTTP_TEST_OUT_MAX (64u * 1024 * 1024)

static inline bool bhttp_bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static inline bool bhttp_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static inline bool bhttp_fields_eq(const veil_bhttp_fields *a, const veil_bhttp_fields *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const veil_bhttp_field *x = &a->items[i], *y = &b->items[i];
		if (!bhttp_bytes_eq(x->name, x->name_len, y->name, y->name_len) ||
		    !bhttp_bytes_eq(x->value, x->value_len, y->value, y->value_len))
			return false;
	}
	return true;
}

/* Equal in meaning: the framing form and the padding are not compared. */
static inline bool bhttp_msg_eq(const veil_bhttp_msg *a, const veil_bhttp_msg *b)
{
	if (a->request != b->request)
		return false;
	if (a->request) {
		if (!bhttp_str_eq(a->method, b->method) || !bhttp_str_eq(a->scheme, b->scheme) ||
		    !bhttp_str_eq(a->authority, b->authority) || !bhttp_str_eq(a->path, b->path))
			return false;
	} else {
		if (a->status != b->status || a->informational_count != b->informational_count)
			return false;
		for (size_t i = 0; i < a->informational_count; i++)
			if (a->informational[i].status != b->informational[i].status ||
			    !bhttp_fields_eq(&a->informational[i].fields,
					     &b->informational[i].fields))
				return false;
	}
	return bhttp_fields_eq(&a->header, &b->header) &&
	       bhttp_bytes_eq(a->content, a->content_len, b->content, b->content_len) &&
	       bhttp_fields_eq(&a->trailer, &b->trailer);
}

/* Encodes m in the form asked for (m itself is not changed); *out is
 * freed by the caller. */
static inline veil_err bhttp_encode_as(const veil_bhttp_msg *m, bool indeterminate, uint8_t **out,
				       size_t *len)
{
	veil_bhttp_msg form = *m;
	veil_writer w;
	veil_err err;

	form.indeterminate = indeterminate;
	veil_writer_init(&w, BHTTP_TEST_OUT_MAX);
	err = veil_bhttp_encode(&form, &w);
	if (err == VEIL_OK)
		err = veil_writer_take(&w, out, len);
	veil_writer_clear(&w);
	return err;
}

/* Decodes the first n bytes of p from a heap copy of exactly n bytes. */
static inline veil_err bhttp_decode_copy(const uint8_t *p, size_t n, veil_bhttp_msg *m)
{
	uint8_t *copy = n > 0 ? malloc(n) : NULL;
	veil_err err;

	if (n > 0 && copy == NULL)
		abort();
	if (n > 0)
		memcpy(copy, p, n);
	err = veil_bhttp_decode(copy, n, m);
	free(copy);
	return err;
}

/* Encodes m in the given form, decodes the result, and says whether it
 * came back equal and in that form. */
static inline bool bhttp_round_trips(const veil_bhttp_msg *m, bool indeterminate)
{
	veil_bhttp_msg back;
	uint8_t *enc = NULL;
	size_t len = 0;
	bool ok;

	if (bhttp_encode_as(m, indeterminate, &enc, &len) != VEIL_OK)
		return false;
	ok = veil_bhttp_decode(enc, len, &back) == VEIL_OK && bhttp_msg_eq(m, &back) &&
	     back.indeterminate == indeterminate && back.padding == 0;
	veil_bhttp_msg_clear(&back);
	free(enc);
	return ok;
}

/* True when every byte of m is zero (a cleared message). */
static inline bool bhttp_msg_is_zero(const veil_bhttp_msg *m)
{
	const uint8_t *p = (const uint8_t *)m;

	for (size_t i = 0; i < sizeof *m; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Builds test inputs: a writer that aborts the test binary on failure,
 * since a helper that cannot build its input cannot test anything. */
static inline void bhttp_put(veil_writer *w, const void *p, size_t n)
{
	if (veil_writer_put(w, p, n) != VEIL_OK)
		abort();
}

static inline void bhttp_put_varint(veil_writer *w, uint64_t v)
{
	if (veil_writer_varint(w, v) != VEIL_OK)
		abort();
}

/* A length-prefixed string. */
static inline void bhttp_put_str(veil_writer *w, const char *s, size_t n)
{
	bhttp_put_varint(w, n);
	bhttp_put(w, s, n);
}

#endif

/*
 * writer.c - the capped, wiping output buffer (see bytes.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil/bytes.h"
#include "veil/secret.h"

void veil_writer_init(veil_writer *w, size_t max)
{
	memset(w, 0, sizeof *w);
	w->max = max;
}

static veil_err writer_reserve(veil_writer *w, size_t n)
{
	if (w->err != VEIL_OK)
		return w->err;
	if (n > w->max - w->len) {
		w->err =
		    veil_fail(VEIL_E_LIMIT, "output larger than its limit of %zu bytes", w->max);
		return w->err;
	}
	/* +1 keeps room for the NUL that veil_writer_take adds. */
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 64;
		while (cap < w->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		/* Grow by copying, so the old buffer can be wiped: it may hold
		 * secrets, and realloc would free it unwiped. */
		uint8_t *p = malloc(cap);
		if (p == NULL) {
			w->err =
			    veil_fail(VEIL_E_NOMEM, "out of memory growing a buffer to %zu", cap);
			return w->err;
		}
		if (w->len > 0)
			memcpy(p, w->data, w->len);
		veil_free_secret(w->data, w->cap);
		w->data = p;
		w->cap = cap;
	}
	return VEIL_OK;
}

veil_err veil_writer_put(veil_writer *w, const void *p, size_t n)
{
	TRY(writer_reserve(w, n));
	if (n > 0)
		memcpy(w->data + w->len, p, n);
	w->len += n;
	return VEIL_OK;
}

veil_err veil_writer_reserve(veil_writer *w, size_t n, uint8_t **space)
{
	TRY(writer_reserve(w, n));
	*space = w->data + w->len;
	return VEIL_OK;
}

void veil_writer_commit(veil_writer *w, size_t n)
{
	/* Only after a successful reserve of at least n; anything else is a
	 * bug in the caller, made sticky so the output is never taken. */
	if (w->err == VEIL_OK && n < w->cap - w->len)
		w->len += n;
	else if (w->err == VEIL_OK)
		w->err =
		    veil_fail(VEIL_E_USAGE, "writer: commit of %zu bytes beyond the reserve", n);
}

veil_err veil_writer_putc(veil_writer *w, char c)
{
	return veil_writer_put(w, &c, 1);
}

veil_err veil_writer_puts(veil_writer *w, const char *s)
{
	return veil_writer_put(w, s, strlen(s));
}

veil_err veil_writer_u8(veil_writer *w, uint8_t v)
{
	return veil_writer_put(w, &v, 1);
}

veil_err veil_writer_u16be(veil_writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return veil_writer_put(w, b, sizeof b);
}

veil_err veil_writer_u32be(veil_writer *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return veil_writer_put(w, b, sizeof b);
}

veil_err veil_writer_u16le(veil_writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	return veil_writer_put(w, b, sizeof b);
}

veil_err veil_writer_u32le(veil_writer *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return veil_writer_put(w, b, sizeof b);
}

veil_err veil_writer_u64le(veil_writer *w, uint64_t v)
{
	TRY(veil_writer_u32le(w, (uint32_t)v));
	return veil_writer_u32le(w, (uint32_t)(v >> 32));
}

veil_err veil_writer_printf(veil_writer *w, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		w->err = veil_fail(VEIL_E_LIMIT, "formatted output longer than %zu", sizeof buf);
		return w->err;
	}
	return veil_writer_put(w, buf, (size_t)n);
}

veil_err veil_writer_status(const veil_writer *w)
{
	return w->err;
}

veil_err veil_writer_take(veil_writer *w, uint8_t **out, size_t *len)
{
	TRY(w->err);
	TRY(writer_reserve(w, 0));
	w->data[w->len] = 0;
	*out = w->data;
	*len = w->len;
	w->data = NULL;
	w->len = w->cap = 0;
	return VEIL_OK;
}

void veil_writer_clear(veil_writer *w)
{
	veil_free_secret(w->data, w->cap);
	w->data = NULL;
	w->len = w->cap = 0;
	w->err = VEIL_OK;
}

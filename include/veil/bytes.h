/*
 * bytes.h - the bounded reader and writer through which untrusted bytes pass.
 *
 * A veil_reader is a cursor over a borrowed buffer. Every read checks the
 * remaining length first and fails with VEIL_E_TRUNCATED (naming the offset)
 * instead of reading past the end; a length-prefixed field becomes a
 * sub-reader that cannot run past its own end; parsing finishes with
 * veil_reader_end(), which fails on leftover bytes. Multi-byte integers are
 * read with explicit endianness; nothing is ever cast from the buffer.
 *
 * A veil_writer is a growable buffer with a hard maximum size. Writes after a
 * failure keep failing, so a sequence of puts can be checked once at the end.
 * veil_writer_clear() wipes before freeing, so it can hold secrets.
 */
#ifndef VEIL_BYTES_H
#define VEIL_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

typedef struct veil_reader {
	const uint8_t *data; /* borrowed */
	size_t len;
	size_t pos;
	size_t base; /* offset of data[0] in the outermost buffer, for messages */
} veil_reader;

void veil_reader_init(veil_reader *r, const uint8_t *data, size_t len);
size_t veil_reader_left(const veil_reader *r);
/* Offset of the cursor in the outermost buffer. */
size_t veil_reader_offset(const veil_reader *r);

VEIL_MUST_CHECK veil_err veil_reader_u8(veil_reader *r, uint8_t *out);
VEIL_MUST_CHECK veil_err veil_reader_u16le(veil_reader *r, uint16_t *out);
VEIL_MUST_CHECK veil_err veil_reader_u32le(veil_reader *r, uint32_t *out);
VEIL_MUST_CHECK veil_err veil_reader_u64le(veil_reader *r, uint64_t *out);
VEIL_MUST_CHECK veil_err veil_reader_u16be(veil_reader *r, uint16_t *out);
VEIL_MUST_CHECK veil_err veil_reader_u32be(veil_reader *r, uint32_t *out);
/* Copies n bytes into out. */
VEIL_MUST_CHECK veil_err veil_reader_copy(veil_reader *r, void *out, size_t n);
/* Points *out at the next n bytes of the borrowed buffer and advances. */
VEIL_MUST_CHECK veil_err veil_reader_borrow(veil_reader *r, size_t n, const uint8_t **out);
/* Makes sub a reader over the next n bytes and advances past them. */
VEIL_MUST_CHECK veil_err veil_reader_sub(veil_reader *r, size_t n, veil_reader *sub);
VEIL_MUST_CHECK veil_err veil_reader_skip(veil_reader *r, size_t n);
/* Skips n bytes that the format reserves as zero; fails if any is not. */
VEIL_MUST_CHECK veil_err veil_reader_zeros(veil_reader *r, size_t n);
/* Fails with VEIL_E_TRAILING unless every byte was consumed. */
VEIL_MUST_CHECK veil_err veil_reader_end(const veil_reader *r);

typedef struct veil_writer {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
	veil_err err; /* sticky: the first failure */
} veil_writer;

/* max: the writer refuses to grow beyond this many bytes. */
void veil_writer_init(veil_writer *w, size_t max);
VEIL_MUST_CHECK veil_err veil_writer_put(veil_writer *w, const void *p, size_t n);
VEIL_MUST_CHECK veil_err veil_writer_putc(veil_writer *w, char c);
VEIL_MUST_CHECK veil_err veil_writer_puts(veil_writer *w, const char *s);
VEIL_MUST_CHECK veil_err veil_writer_u8(veil_writer *w, uint8_t v);
VEIL_MUST_CHECK veil_err veil_writer_u16be(veil_writer *w, uint16_t v);
VEIL_MUST_CHECK veil_err veil_writer_u32be(veil_writer *w, uint32_t v);
VEIL_MUST_CHECK veil_err veil_writer_u16le(veil_writer *w, uint16_t v);
VEIL_MUST_CHECK veil_err veil_writer_u32le(veil_writer *w, uint32_t v);
VEIL_MUST_CHECK veil_err veil_writer_u64le(veil_writer *w, uint64_t v);
VEIL_MUST_CHECK veil_err veil_writer_printf(veil_writer *w, const char *fmt, ...) VEIL_PRINTF(2, 3);
/* Makes room for n more bytes and points *space at them, for code that
 * writes in place (a cipher sealing straight into the output); nothing is
 * added until veil_writer_commit(w, n) with at most that n. */
VEIL_MUST_CHECK veil_err veil_writer_reserve(veil_writer *w, size_t n, uint8_t **space);
void veil_writer_commit(veil_writer *w, size_t n);
/* The sticky error, VEIL_OK if every write succeeded. */
VEIL_MUST_CHECK veil_err veil_writer_status(const veil_writer *w);
/* Hands the buffer (NUL-terminated, not counted in *len) to the caller, who
 * frees it; the writer is left empty. Fails if any write failed. */
VEIL_MUST_CHECK veil_err veil_writer_take(veil_writer *w, uint8_t **out, size_t *len);
/* Wipes and frees. */
void veil_writer_clear(veil_writer *w);

#endif

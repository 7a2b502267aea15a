/*
 * test_gguf_util.h - a small GGUF writer for the reader's tests
 * (header-only, static), written from the GGUF spec rather than with the
 * reader's code, so that the two check each other.
 *
 * A test adds metadata pairs (typed helpers, or raw bytes for malformed
 * ones) and tensors (shape, type and byte size stated by the test: the
 * sizes are facts the test asserts, not computed from the reader's
 * tables), then gg_build() lays the file out: header, pairs, tensor
 * infos, zero padding, tensors at aligned offsets, each filled with a
 * pattern the test can check. Fields a negative test wants wrong can be
 * overridden (magic, version, counts, offsets, padding).
 */
#ifndef VEIL_TEST_GGUF_UTIL_H
#define VEIL_TEST_GGUF_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil/bytes.h"
#include "veil/gguf.h"

#define GG_MAX_TENSORS 32
#define GG_OUT_MAX     (256u * 1024 * 1024)

typedef struct gg_tensor {
	const char *name;
	size_t name_len;    /* bytes of name written (names may hold any bytes) */
	int name_len_delta; /* added to the length field only */
	uint32_t n_dims;    /* written as is: 0..5 for negative tests */
	uint64_t ne[5];
	uint32_t type;
	size_t size;       /* bytes of data */
	bool fixed_offset; /* offset below instead of the next aligned one */
	uint64_t offset;
} gg_tensor;

typedef struct gg_file {
	veil_writer kv; /* the encoded pairs */
	uint64_t n_kv;
	gg_tensor t[GG_MAX_TENSORS];
	size_t n_tensors;
	uint32_t alignment; /* used for the layout; general.alignment is a pair */

	/* Overrides for negative tests. */
	char magic[4];
	uint32_t version;
	bool set_n_kv, set_n_tensors;
	uint64_t n_kv_value, n_tensors_value;
	bool no_tail_pad;  /* end the file at the end of the last tensor */
	uint8_t pad_byte;  /* what padding is made of (0 in a valid file) */
	size_t extra_tail; /* bytes of 0xee appended after everything */
} gg_file;

static inline void gg_init(gg_file *f)
{
	memset(f, 0, sizeof *f);
	veil_writer_init(&f->kv, GG_OUT_MAX);
	memcpy(f->magic, "GGUF", 4);
	f->version = 3;
	f->alignment = 32;
}

static inline void gg_clear(gg_file *f)
{
	veil_writer_clear(&f->kv);
}

/* The writer's errors are sticky: gg_build checks the status once. */
static inline void gg_put(veil_err err)
{
	(void)err;
}

/* Raw bytes into the pair stream (for malformed pairs). */
static inline void gg_raw(gg_file *f, const void *p, size_t n)
{
	gg_put(veil_writer_put(&f->kv, p, n));
}
static inline void gg_raw_u32(gg_file *f, uint32_t v)
{
	gg_put(veil_writer_u32le(&f->kv, v));
}
static inline void gg_raw_u64(gg_file *f, uint64_t v)
{
	gg_put(veil_writer_u64le(&f->kv, v));
}
/* A GGUF string: u64 length, bytes. */
static inline void gg_raw_str(gg_file *f, const void *p, size_t n)
{
	gg_raw_u64(f, n);
	gg_raw(f, p, n);
}

/* Starts a pair: key and value type; the value follows. */
static inline void gg_key(gg_file *f, const char *key, uint32_t type)
{
	gg_raw_str(f, key, strlen(key));
	gg_raw_u32(f, type);
	f->n_kv++;
}

static inline void gg_u8(gg_file *f, const char *key, uint8_t v)
{
	gg_key(f, key, VEIL_GGUF_UINT8);
	gg_raw(f, &v, 1);
}
static inline void gg_i8(gg_file *f, const char *key, int8_t v)
{
	uint8_t b = (uint8_t)v;
	gg_key(f, key, VEIL_GGUF_INT8);
	gg_raw(f, &b, 1);
}
static inline void gg_u16(gg_file *f, const char *key, uint16_t v)
{
	gg_key(f, key, VEIL_GGUF_UINT16);
	gg_put(veil_writer_u16le(&f->kv, v));
}
static inline void gg_i16(gg_file *f, const char *key, int16_t v)
{
	gg_key(f, key, VEIL_GGUF_INT16);
	gg_put(veil_writer_u16le(&f->kv, (uint16_t)v));
}
static inline void gg_u32(gg_file *f, const char *key, uint32_t v)
{
	gg_key(f, key, VEIL_GGUF_UINT32);
	gg_raw_u32(f, v);
}
static inline void gg_i32(gg_file *f, const char *key, int32_t v)
{
	gg_key(f, key, VEIL_GGUF_INT32);
	gg_raw_u32(f, (uint32_t)v);
}
static inline void gg_u64(gg_file *f, const char *key, uint64_t v)
{
	gg_key(f, key, VEIL_GGUF_UINT64);
	gg_raw_u64(f, v);
}
static inline void gg_i64(gg_file *f, const char *key, int64_t v)
{
	gg_key(f, key, VEIL_GGUF_INT64);
	gg_raw_u64(f, (uint64_t)v);
}
static inline uint32_t gg_f32_bits(float v)
{
	uint32_t u;
	memcpy(&u, &v, 4);
	return u;
}
static inline void gg_f32(gg_file *f, const char *key, float v)
{
	gg_key(f, key, VEIL_GGUF_FLOAT32);
	gg_raw_u32(f, gg_f32_bits(v));
}
static inline void gg_f64(gg_file *f, const char *key, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	gg_key(f, key, VEIL_GGUF_FLOAT64);
	gg_raw_u64(f, u);
}
static inline void gg_bool(gg_file *f, const char *key, bool v)
{
	uint8_t b = v ? 1 : 0;
	gg_key(f, key, VEIL_GGUF_BOOL);
	gg_raw(f, &b, 1);
}
static inline void gg_str(gg_file *f, const char *key, const char *s)
{
	gg_key(f, key, VEIL_GGUF_STRING);
	gg_raw_str(f, s, strlen(s));
}
/* Starts an array: the elements follow (gg_raw_* or gg_raw_str each). */
static inline void gg_arr(gg_file *f, const char *key, uint32_t elem, uint64_t count)
{
	gg_key(f, key, VEIL_GGUF_ARRAY);
	gg_raw_u32(f, elem);
	gg_raw_u64(f, count);
}
/* general.alignment, and the layout that follows it. */
static inline void gg_alignment(gg_file *f, uint32_t a)
{
	gg_u32(f, "general.alignment", a);
	f->alignment = a;
}

/* Adds a tensor of n_dims dimensions ne[], type and byte size. */
static inline gg_tensor *gg_tensor_add(gg_file *f, const char *name, uint32_t n_dims,
				       const uint64_t *ne, uint32_t type, size_t size)
{
	gg_tensor *t = &f->t[f->n_tensors++];

	memset(t, 0, sizeof *t);
	t->name = name;
	t->name_len = strlen(name);
	t->n_dims = n_dims;
	for (uint32_t d = 0; d < n_dims && d < 5; d++)
		t->ne[d] = ne[d];
	t->type = type;
	t->size = size;
	return t;
}

/* Byte j of tensor k's data. */
static inline uint8_t gg_pattern(size_t k, size_t j)
{
	return (uint8_t)(k * 31 + j * 7 + 1);
}

static inline uint64_t gg_align(uint64_t x, uint64_t a)
{
	return a == 0 ? x : (x + a - 1) / a * a;
}

/* Lays out the file; returns an exact-size heap copy (so that ASan sees
 * any read past its end) and its length. */
static inline uint8_t *gg_build(gg_file *f, size_t *len)
{
	veil_writer w;
	uint64_t off[GG_MAX_TENSORS], pos = 0, data_end = 0;
	size_t data_len;
	uint8_t *space, *out = NULL;

	veil_writer_init(&w, GG_OUT_MAX);
	gg_put(veil_writer_put(&w, f->magic, 4));
	gg_put(veil_writer_u32le(&w, f->version));
	gg_put(veil_writer_u64le(&w, f->set_n_tensors ? f->n_tensors_value : f->n_tensors));
	gg_put(veil_writer_u64le(&w, f->set_n_kv ? f->n_kv_value : f->n_kv));
	gg_put(veil_writer_put(&w, f->kv.data, f->kv.len));

	for (size_t i = 0; i < f->n_tensors; i++) {
		gg_tensor *t = &f->t[i];

		off[i] = t->fixed_offset ? t->offset : gg_align(pos, f->alignment);
		if (!t->fixed_offset)
			pos = off[i] + t->size;
		/* Offsets far past any real file stay unbacked by data. */
		if (off[i] <= GG_OUT_MAX / 2 && t->size <= GG_OUT_MAX / 2 &&
		    off[i] + t->size > data_end)
			data_end = off[i] + t->size;
		gg_put(veil_writer_u64le(&w, t->name_len + (uint64_t)(int64_t)t->name_len_delta));
		gg_put(veil_writer_put(&w, t->name, t->name_len));
		gg_put(veil_writer_u32le(&w, t->n_dims));
		for (uint32_t d = 0; d < t->n_dims && d < 5; d++)
			gg_put(veil_writer_u64le(&w, t->ne[d]));
		gg_put(veil_writer_u32le(&w, t->type));
		gg_put(veil_writer_u64le(&w, off[i]));
	}
	while (w.len % f->alignment != 0)
		gg_put(veil_writer_u8(&w, f->pad_byte));
	data_len = f->n_tensors == 0 ? 0
		   : f->no_tail_pad  ? (size_t)data_end
				     : (size_t)gg_align(data_end, f->alignment);
	if (veil_writer_reserve(&w, data_len, &space) == VEIL_OK) {
		memset(space, f->pad_byte, data_len);
		for (size_t i = 0; i < f->n_tensors; i++)
			for (size_t j = 0; j < f->t[i].size && off[i] + j < data_len; j++)
				space[off[i] + j] = gg_pattern(i, j);
		veil_writer_commit(&w, data_len);
	}
	for (size_t i = 0; i < f->extra_tail; i++)
		gg_put(veil_writer_u8(&w, 0xee));
	if (veil_writer_status(&w) == VEIL_OK) {
		out = malloc(w.len == 0 ? 1 : w.len);
		if (out != NULL) {
			memcpy(out, w.data, w.len);
			*len = w.len;
		}
	}
	veil_writer_clear(&w);
	return out;
}

/* An exact-size copy of the first n bytes of p. */
static inline uint8_t *gg_prefix(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n == 0 ? 1 : n);
	if (c != NULL && n > 0)
		memcpy(c, p, n);
	return c;
}

/* Opens buf and frees the result; returns the error. */
static inline veil_err gg_open_err(const uint8_t *buf, size_t len)
{
	veil_gguf *g = NULL;
	veil_err err = veil_gguf_open(buf, len, &g);
	veil_gguf_free(g);
	return err;
}

/* Builds f, opens it, frees both and f; returns the error. */
static inline veil_err gg_build_open_err(gg_file *f)
{
	size_t len = 0;
	uint8_t *buf = gg_build(f, &len);
	veil_err err = buf == NULL ? VEIL_E_NOMEM : gg_open_err(buf, len);
	free(buf);
	gg_clear(f);
	return err;
}

#endif

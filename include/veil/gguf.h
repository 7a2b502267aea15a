/*
 * gguf.h - reading GGUF v3 model files (the format of llama.cpp's ggml;
 * docs/gguf.md) from memory.
 *
 * The model is already in memory (a sealed model is decrypted into
 * anonymous memory and never touches the disk in plaintext), so the reader
 * works on a buffer it borrows: tensor data is pointed to, never copied.
 * Everything is read through the bounded reader, every count and size is
 * capped (include/veil/limits.h), and the tensor table is checked against
 * the buffer with overflow-checked arithmetic before anything is returned:
 * a file that opens can be used without further bounds checks.
 */
#ifndef VEIL_GGUF_H
#define VEIL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/limits.h"

/* GGUF metadata value types (gguf.md, "gguf_metadata_value_type"). */
typedef enum veil_gguf_type {
	VEIL_GGUF_UINT8 = 0,
	VEIL_GGUF_INT8 = 1,
	VEIL_GGUF_UINT16 = 2,
	VEIL_GGUF_INT16 = 3,
	VEIL_GGUF_UINT32 = 4,
	VEIL_GGUF_INT32 = 5,
	VEIL_GGUF_FLOAT32 = 6,
	VEIL_GGUF_BOOL = 7,
	VEIL_GGUF_STRING = 8,
	VEIL_GGUF_ARRAY = 9,
	VEIL_GGUF_UINT64 = 10,
	VEIL_GGUF_INT64 = 11,
	VEIL_GGUF_FLOAT64 = 12,
} veil_gguf_type;

/* ggml tensor types, numbered as in ggml.h. Only those Veil can compute
 * with are accepted by the engine; the reader knows the block sizes of all
 * listed here so that it can check any file's tensor table, and names the
 * others in its refusal. */
typedef enum veil_ggml_type {
	VEIL_GGML_F32 = 0,
	VEIL_GGML_F16 = 1,
	VEIL_GGML_Q4_0 = 2,
	VEIL_GGML_Q4_1 = 3,
	VEIL_GGML_Q5_0 = 6,
	VEIL_GGML_Q5_1 = 7,
	VEIL_GGML_Q8_0 = 8,
	VEIL_GGML_Q8_1 = 9,
	VEIL_GGML_Q2_K = 10,
	VEIL_GGML_Q3_K = 11,
	VEIL_GGML_Q4_K = 12,
	VEIL_GGML_Q5_K = 13,
	VEIL_GGML_Q6_K = 14,
	VEIL_GGML_Q8_K = 15,
	VEIL_GGML_BF16 = 30,
} veil_ggml_type;

/* "F32", "Q4_K", ...; "type 17" style text for numbers it does not know
 * (buf must hold 16 bytes; returned pointer is buf or a constant). */
const char *veil_ggml_type_name(uint32_t type, char buf[16]);
/* Elements per block and bytes per block; false for an unknown type. */
bool veil_ggml_block(uint32_t type, size_t *elems, size_t *bytes);

#define VEIL_GGUF_MAX_DIMS VEIL_GGUF_DIMS_MAX

typedef struct veil_gguf_tensor {
	const char *name;                /* NUL-terminated copy */
	uint32_t n_dims;                 /* 1..4 */
	uint64_t ne[VEIL_GGUF_MAX_DIMS]; /* ne[0] is the row length (fastest); unused dims are 1 */
	uint32_t type;                   /* veil_ggml_type */
	const uint8_t *data;             /* into the borrowed buffer, aligned as the file says */
	size_t size;                     /* bytes: rows * row size */
} veil_gguf_tensor;

typedef struct veil_gguf veil_gguf;

/*
 * Parses a GGUF v3 file held in buf (borrowed: it must outlive the
 * veil_gguf and stay unchanged). Checks the magic, version 3, every key
 * (unique, valid UTF-8, capped), every value, general.alignment (a power
 * of two, at least 8, default 32), and that each tensor's data lies inside
 * the buffer at an aligned offset, without overlapping another, with a size
 * that matches its type and shape; bytes no tensor covers must be zero
 * padding. Offsets are aligned relative to buf, so tensor data is aligned
 * in memory when buf is (page-aligned memory is). VEIL_E_TRUNCATED /
 * VEIL_E_TRAILING / VEIL_E_MALFORMED / VEIL_E_LIMIT / VEIL_E_UNSUPPORTED
 * (another version, an array of arrays, a tensor type whose layout the
 * reader does not know) with a message naming the key or tensor.
 */
VEIL_MUST_CHECK veil_err veil_gguf_open(const uint8_t *buf, size_t len, veil_gguf **out);
void veil_gguf_free(veil_gguf *g);

/* Metadata. Each getter fails with VEIL_E_NOT_FOUND when the key is absent
 * and VEIL_E_MALFORMED when the value has another type; the integer
 * getters accept any integer width whose value fits (real files write
 * e.g. context_length as u32 or u64), the float getter f32 or f64. */
bool veil_gguf_has(const veil_gguf *g, const char *key);
VEIL_MUST_CHECK veil_err veil_gguf_get_u64(const veil_gguf *g, const char *key, uint64_t *out);
VEIL_MUST_CHECK veil_err veil_gguf_get_i64(const veil_gguf *g, const char *key, int64_t *out);
VEIL_MUST_CHECK veil_err veil_gguf_get_f64(const veil_gguf *g, const char *key, double *out);
VEIL_MUST_CHECK veil_err veil_gguf_get_bool(const veil_gguf *g, const char *key, bool *out);
/* Borrowed, not NUL-terminated in the file: *s is a NUL-terminated copy
 * owned by g (strings may contain NUL bytes: use *len). */
VEIL_MUST_CHECK veil_err veil_gguf_get_string(const veil_gguf *g, const char *key, const char **s,
					      size_t *len);
/* Arrays: the element type and count; then elements by index (an index
 * at or past the count is VEIL_E_USAGE; an element of another type
 * VEIL_E_MALFORMED). Array strings are NUL-terminated copies owned by g,
 * as for veil_gguf_get_string, and found in O(1). Arrays of arrays are
 * refused at open (docs/gguf.md). */
VEIL_MUST_CHECK veil_err veil_gguf_get_array(const veil_gguf *g, const char *key,
					     veil_gguf_type *elem, size_t *count);
VEIL_MUST_CHECK veil_err veil_gguf_array_string(const veil_gguf *g, const char *key, size_t i,
						const char **s, size_t *len);
/* Numeric array elements converted as the scalar getters convert. */
VEIL_MUST_CHECK veil_err veil_gguf_array_i64(const veil_gguf *g, const char *key, size_t i,
					     int64_t *out);
VEIL_MUST_CHECK veil_err veil_gguf_array_f64(const veil_gguf *g, const char *key, size_t i,
					     double *out);

/* Tensors, in file order. */
size_t veil_gguf_tensor_count(const veil_gguf *g);
const veil_gguf_tensor *veil_gguf_tensor_at(const veil_gguf *g, size_t i);
/* NULL when there is no tensor of that name. */
const veil_gguf_tensor *veil_gguf_tensor_find(const veil_gguf *g, const char *name);

#endif

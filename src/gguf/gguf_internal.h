/*
 * gguf_internal.h - what the parts of the GGUF reader share (src/gguf).
 *
 * gguf.c reads the header and drives the parse; gguf_meta.c reads and
 * answers the metadata; gguf_tensors.c reads the tensor table and checks
 * the data section; ggml_types.c knows the ggml block formats. Strings
 * from the file (keys, string values, tensor names) are copied, each with
 * a NUL after it, into one arena owned by the veil_gguf; while the arena
 * grows it may move, so the parse keeps offsets into it and turns them
 * into pointers only once it is complete. The arena is capped at
 * VEIL_GGUF_META_MAX_BYTES, so 32-bit offsets suffice.
 */
#ifndef VEIL_GGUF_INTERNAL_H
#define VEIL_GGUF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"
#include "veil/gguf.h"
#include "veil/limits.h"

_Static_assert(VEIL_GGUF_META_MAX_BYTES < UINT32_MAX, "arena offsets are 32-bit");

/* GGUF spec, "File Structure": tensor offsets and the data section are
 * aligned to general.alignment, 32 when the key is absent. */
#define GGUF_DEFAULT_ALIGNMENT 32

/* One metadata pair. Numbers and bools are not decoded at open: raw points
 * at their little-endian bytes in the borrowed buffer (the value, or the
 * first of count array elements), and the getters decode on demand. */
typedef struct gguf_kv {
	uint32_t key;       /* arena offset of the NUL-terminated key */
	uint32_t type;      /* veil_gguf_type */
	uint32_t elem;      /* arrays: the element type */
	size_t count;       /* arrays: the element count */
	const uint8_t *raw; /* numbers, bools and their arrays */
	uint32_t str;       /* STRING: arena offset of the copy */
	uint32_t str_len;
	/* String arrays: count + 1 arena offsets; element i starts at offs[i]
	 * and is offs[i + 1] - offs[i] - 1 bytes long (its NUL follows). */
	uint32_t *offs;
} gguf_kv;

/* A name (key or tensor name) and what it names, sorted by name for
 * binary search and duplicate detection. */
typedef struct gguf_name {
	const char *name;
	size_t index;
} gguf_name;

struct veil_gguf {
	const uint8_t *buf; /* borrowed */
	size_t len;
	size_t alignment;
	size_t data_start; /* offset of the aligned data section in buf */

	char *arena;
	size_t arena_len, arena_cap;

	gguf_kv *kv;
	size_t n_kv;
	gguf_name *keys; /* n_kv, sorted */

	veil_gguf_tensor *tensors; /* file order */
	uint32_t *tensor_name;     /* arena offsets of the names during the parse */
	uint64_t *tensor_offset;   /* offsets relative to the data section */
	size_t n_tensors;
	gguf_name *names; /* n_tensors, sorted */
};

/* Bytes of one scalar of a fixed-size type; 0 for STRING, ARRAY and
 * numbers that name no type. */
size_t gguf_type_size(uint32_t type);
/* "uint32", "string", ... or "type N" in buf (16 bytes). */
const char *gguf_type_name(uint32_t type, char buf[16]);

/* Copies n bytes and a NUL into the arena; *off is where the copy starts. */
VEIL_MUST_CHECK veil_err gguf_arena_add(veil_gguf *g, const uint8_t *p, size_t n, uint32_t *off);
/* A GGUF string: a u64 length, then that many bytes (borrowed). Lengths
 * above max are VEIL_E_LIMIT, naming cap_name. */
VEIL_MUST_CHECK veil_err gguf_read_string(veil_reader *r, size_t max, const char *cap_name,
					  const uint8_t **p, size_t *n);
/* Well-formed UTF-8 (RFC 3629 section 4): no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
bool gguf_utf8_valid(const uint8_t *p, size_t n);
/* Checks a key or tensor name (its length already capped by
 * gguf_read_string): not empty, UTF-8, no NUL. what names it in messages
 * ("key 3 at offset 0x40"). */
VEIL_MUST_CHECK veil_err gguf_check_name(const uint8_t *p, size_t n, const char *what);
/* Sorts v by name; VEIL_E_MALFORMED naming the first duplicate. */
VEIL_MUST_CHECK veil_err gguf_sort_names(gguf_name *v, size_t n, const char *what);
/* The entry named name, or NULL. */
const gguf_name *gguf_find_name(const gguf_name *v, size_t n, const char *name);

/* gguf_meta.c: n_kv pairs, then general.alignment into g->alignment. */
VEIL_MUST_CHECK veil_err gguf_read_kvs(veil_gguf *g, veil_reader *r, uint64_t n_kv);
void gguf_kvs_free(veil_gguf *g);

/* gguf_tensors.c: n tensor infos, then the layout of the data section
 * (the reader is at the end of the tensor table). */
VEIL_MUST_CHECK veil_err gguf_read_tensors(veil_gguf *g, veil_reader *r, uint64_t n);
VEIL_MUST_CHECK veil_err gguf_check_data(veil_gguf *g, size_t infos_end);

#endif

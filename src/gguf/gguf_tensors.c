/*
 * gguf_tensors.c - the GGUF tensor table and the data section: reading
 * each tensor's name, shape, type and offset, and checking that its bytes
 * lie inside the buffer, aligned, without overlapping another tensor.
 *
 * A tensor's byte size is computed, never read: ne[0] elements per row in
 * blocks of its type (types.c), times the number of rows, with every
 * multiplication checked. After the table come zero bytes up to the
 * aligned start of the data section, and the tensors at aligned offsets
 * within it. Tensors need not be in file order (ggml writes them so, but
 * nothing depends on it): they are sorted by offset to check overlaps.
 * Every byte of the data section that no tensor covers must be zero (the
 * spec pads with 0x00 and every writer does), and the file may run past
 * the last tensor only up to the next multiple of the alignment: the
 * writers pad the last tensor too, and a longer tail is data nothing
 * accounts for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_internal.h"

/* GGUF spec, "gguf_tensor_info_t": name, n_dimensions (uint32),
 * dimensions (uint64 each), type (ggml_type, uint32), offset (uint64,
 * relative to the data section, a multiple of ALIGNMENT). */
static veil_err read_info(veil_reader *r, veil_gguf_tensor *t, uint64_t *offset)
{
	uint64_t elems = 1;
	size_t blk_elems, blk_bytes, row_blocks, rows;
	char tn[16];

	TRY(veil_reader_u32le(r, &t->n_dims));
	ENSURE(t->n_dims >= 1 && t->n_dims <= VEIL_GGUF_MAX_DIMS, VEIL_E_MALFORMED,
	       "%u dimensions, must be 1 to %d", (unsigned)t->n_dims, VEIL_GGUF_MAX_DIMS);
	for (size_t d = 0; d < VEIL_GGUF_MAX_DIMS; d++)
		t->ne[d] = 1;
	for (size_t d = 0; d < t->n_dims; d++) {
		TRY(veil_reader_u64le(r, &t->ne[d]));
		ENSURE(t->ne[d] != 0, VEIL_E_MALFORMED, "dimension %zu is 0", d);
		/* ggml counts elements in an int64. */
		ENSURE(t->ne[d] <= (uint64_t)INT64_MAX / elems, VEIL_E_MALFORMED,
		       "the shape overflows: more than 2^63 - 1 elements at dimension %zu", d);
		elems *= t->ne[d];
	}
	TRY(veil_reader_u32le(r, &t->type));
	ENSURE(veil_ggml_block(t->type, &blk_elems, &blk_bytes), VEIL_E_UNSUPPORTED,
	       "type %s (%u), whose block layout Veil does not know",
	       veil_ggml_type_name(t->type, tn), (unsigned)t->type);
	/* ggml: a row is a whole number of blocks. */
	ENSURE(t->ne[0] % blk_elems == 0, VEIL_E_MALFORMED,
	       "rows of %llu elements are not a multiple of the %s block (%zu elements)",
	       (unsigned long long)t->ne[0], veil_ggml_type_name(t->type, tn), blk_elems);
	ENSURE(t->ne[0] / blk_elems <= SIZE_MAX / blk_bytes, VEIL_E_MALFORMED,
	       "a row of %llu elements is too large", (unsigned long long)t->ne[0]);
	row_blocks = (size_t)(t->ne[0] / blk_elems);
	ENSURE(elems / t->ne[0] <= SIZE_MAX, VEIL_E_MALFORMED, "too many rows");
	rows = (size_t)(elems / t->ne[0]);
	ENSURE(rows <= SIZE_MAX / (row_blocks * blk_bytes), VEIL_E_MALFORMED,
	       "the size overflows: %zu rows of %zu bytes", rows, row_blocks * blk_bytes);
	t->size = rows * row_blocks * blk_bytes;
	return veil_reader_u64le(r, offset);
}

veil_err gguf_read_tensors(veil_gguf *g, veil_reader *r, uint64_t n)
{
	/* The smallest entry is 33 bytes (name length and one byte, one
	 * dimension, type, offset): a count the bytes left cannot hold fails
	 * before the table is allocated. */
	ENSURE(n <= veil_reader_left(r) / 33, VEIL_E_TRUNCATED,
	       "%llu tensors cannot fit in the %zu bytes left", (unsigned long long)n,
	       veil_reader_left(r));
	if (n > 0) {
		g->tensors = calloc((size_t)n, sizeof *g->tensors);
		g->tensor_name = calloc((size_t)n, sizeof *g->tensor_name);
		g->tensor_offset = calloc((size_t)n, sizeof *g->tensor_offset);
		ENSURE(g->tensors != NULL && g->tensor_name != NULL && g->tensor_offset != NULL,
		       VEIL_E_NOMEM, "out of memory for %llu tensors", (unsigned long long)n);
	}
	for (size_t i = 0; i < n; i++) {
		char what[64];
		const uint8_t *p;
		size_t len;
		veil_err err;

		snprintf(what, sizeof what, "tensor %zu at offset 0x%zx", i, veil_reader_offset(r));
		err = gguf_read_string(r, VEIL_GGUF_TENSOR_NAME_MAX, "VEIL_GGUF_TENSOR_NAME_MAX",
				       &p, &len);
		if (err != VEIL_OK)
			return veil_fail_context(err, "%s", what);
		TRY(gguf_check_name(p, len, what));
		TRY(gguf_arena_add(g, p, len, &g->tensor_name[i]));
		g->n_tensors = i + 1;
		err = read_info(r, &g->tensors[i], &g->tensor_offset[i]);
		if (err != VEIL_OK)
			return veil_fail_context(err, "tensor '%s'", g->arena + g->tensor_name[i]);
		ENSURE(veil_reader_offset(r) <= (size_t)VEIL_GGUF_META_MAX_BYTES, VEIL_E_LIMIT,
		       "the tensor table runs past %d bytes (VEIL_GGUF_META_MAX_BYTES)",
		       VEIL_GGUF_META_MAX_BYTES);
	}
	return VEIL_OK;
}

/* GGUF spec: "Where required, the file is padded with 0x00 bytes". */
static veil_err check_zeros(const veil_gguf *g, size_t from, size_t to, const char *what)
{
	for (size_t i = from; i < to; i++)
		ENSURE(g->buf[i] == 0, VEIL_E_MALFORMED,
		       "%s: byte at offset 0x%zx is 0x%02x, padding must be zero", what, i,
		       (unsigned)g->buf[i]);
	return VEIL_OK;
}

typedef struct extent {
	size_t start, end; /* in buf */
	size_t index;
} extent;

static int extent_cmp(const void *a, const void *b)
{
	const extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorted by start, consecutive extents must not overlap; what lies
 * between them and after the last is padding. */
static veil_err check_extents(const veil_gguf *g, extent *ext)
{
	size_t n = g->n_tensors, pos = g->data_start;

	qsort(ext, n, sizeof *ext, extent_cmp);
	for (size_t k = 0; k < n; k++) {
		if (k > 0)
			ENSURE(
			    ext[k].start >= ext[k - 1].end, VEIL_E_MALFORMED,
			    "tensor '%s' (offset %zu) overlaps tensor '%s' (offset %zu, %zu bytes)",
			    g->tensors[ext[k].index].name, ext[k].start - g->data_start,
			    g->tensors[ext[k - 1].index].name, ext[k - 1].start - g->data_start,
			    ext[k - 1].end - ext[k - 1].start);
		TRY(check_zeros(g, pos, ext[k].start, "between tensors"));
		pos = ext[k].end;
	}
	/* Only the padding to the next multiple of the alignment may follow. */
	ENSURE(g->len - pos <= (g->alignment - pos % g->alignment) % g->alignment, VEIL_E_TRAILING,
	       "%zu bytes after the end of the last tensor at offset 0x%zx, more than the "
	       "padding to the alignment of %zu",
	       g->len - pos, pos, g->alignment);
	return check_zeros(g, pos, g->len, "after the last tensor");
}

veil_err gguf_check_data(veil_gguf *g, size_t infos_end)
{
	size_t a = g->alignment, pad = (a - infos_end % a) % a, room;
	extent *ext;
	veil_err err = VEIL_OK;

	/* GGUF spec, "gguf_file_t": padding after the tensor infos to the
	 * next multiple of ALIGNMENT, then the data. */
	ENSURE(pad <= SIZE_MAX - infos_end, VEIL_E_MALFORMED, "the data section offset overflows");
	g->data_start = infos_end + pad;
	if (g->n_tensors == 0) {
		/* No data: the file may end anywhere in the padding. */
		ENSURE(g->len <= g->data_start, VEIL_E_TRAILING,
		       "%zu bytes after the tensor table of a file without tensors",
		       g->len - infos_end);
		return check_zeros(g, infos_end, g->len, "after the tensor table");
	}
	ENSURE(g->data_start <= g->len, VEIL_E_TRUNCATED,
	       "the data section would start at offset 0x%zx, past the end of the file (%zu "
	       "bytes)",
	       g->data_start, g->len);
	TRY(check_zeros(g, infos_end, g->data_start, "before the data section"));
	room = g->len - g->data_start;

	ext = calloc(g->n_tensors, sizeof *ext);
	ENSURE(ext != NULL, VEIL_E_NOMEM, "out of memory for %zu tensors", g->n_tensors);
	for (size_t i = 0; i < g->n_tensors; i++) {
		veil_gguf_tensor *t = &g->tensors[i];
		uint64_t off = g->tensor_offset[i];

		CHECK_THAT(off % a == 0, VEIL_E_MALFORMED,
			   "tensor '%s': offset %llu is not a multiple of the alignment %zu",
			   t->name, (unsigned long long)off, a);
		CHECK_THAT(off <= room && t->size <= room - (size_t)off, VEIL_E_TRUNCATED,
			   "tensor '%s': %zu bytes at offset %llu run past the end of the data "
			   "section (%zu bytes)",
			   t->name, t->size, (unsigned long long)off, room);
		t->data = g->buf + g->data_start + (size_t)off;
		ext[i] =
		    (extent){g->data_start + (size_t)off, g->data_start + (size_t)off + t->size, i};
	}
	err = check_extents(g, ext);
out:
	free(ext);
	return err;
}

size_t veil_gguf_tensor_count(const veil_gguf *g)
{
	return g == NULL ? 0 : g->n_tensors;
}

const veil_gguf_tensor *veil_gguf_tensor_at(const veil_gguf *g, size_t i)
{
	return g == NULL || i >= g->n_tensors ? NULL : &g->tensors[i];
}

const veil_gguf_tensor *veil_gguf_tensor_find(const veil_gguf *g, const char *name)
{
	const gguf_name *n;

	if (g == NULL || name == NULL)
		return NULL;
	n = gguf_find_name(g->names, g->n_tensors, name);
	return n == NULL ? NULL : &g->tensors[n->index];
}

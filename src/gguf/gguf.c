/*
 * gguf.c - opening a GGUF v3 file held in memory (see gguf.h and
 * docs/gguf.md): the header, then the metadata (gguf_meta.c), the tensor
 * table and the data section (gguf_tensors.c), and the helpers those
 * share: the string arena, GGUF strings, UTF-8 and name tables.
 *
 * A model reaches Veil as a sealed file from its owner, but the reader
 * still treats it as hostile: a corrupted or crafted file must fail with a
 * message that names the field, never make Veil read out of bounds or
 * allocate from a count it has not capped. Everything is checked once
 * here, so the engine can use what veil_gguf_open returns without checks
 * of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_internal.h"
#include "veil/secret.h"

/* GGUF spec, "gguf_header_t": magic, version, tensor_count, kv_count. */
#define GGUF_VERSION 3

static veil_err check_version(uint32_t version)
{
	if (version == GGUF_VERSION)
		return VEIL_OK;
	if (version == 1 || version == 2)
		return veil_fail(VEIL_E_UNSUPPORTED,
				 "GGUF version %u is not supported, only version 3: convert the "
				 "model again with a current llama.cpp (gguf-py) to get a v3 file",
				 (unsigned)version);
	/* ggml's reader makes the same inference: a little-endian reader sees
	 * a big-endian 3 as 0x03000000. */
	if ((version & 0xffff) == 0)
		return veil_fail(VEIL_E_UNSUPPORTED,
				 "GGUF version 0x%08x: this looks like a big-endian file, and only "
				 "little-endian files are supported",
				 (unsigned)version);
	return veil_fail(VEIL_E_UNSUPPORTED, "GGUF version %u is not supported, only version 3",
			 (unsigned)version);
}

veil_err gguf_arena_add(veil_gguf *g, const uint8_t *p, size_t n, uint32_t *off)
{
	size_t need;

	/* Both terms are below the cap, so the sum cannot wrap. */
	ENSURE(n < VEIL_GGUF_META_MAX_BYTES &&
		   g->arena_len + n + 1 <= (size_t)VEIL_GGUF_META_MAX_BYTES,
	       VEIL_E_LIMIT, "metadata strings exceed %d bytes (VEIL_GGUF_META_MAX_BYTES)",
	       VEIL_GGUF_META_MAX_BYTES);
	need = g->arena_len + n + 1;
	if (need > g->arena_cap) {
		size_t cap = g->arena_cap == 0 ? 4096 : g->arena_cap;
		char *grown;

		while (cap < need)
			cap *= 2;
		if (cap > (size_t)VEIL_GGUF_META_MAX_BYTES)
			cap = VEIL_GGUF_META_MAX_BYTES;
		grown = realloc(g->arena, cap);
		ENSURE(grown != NULL, VEIL_E_NOMEM, "out of memory for %zu bytes of metadata", cap);
		g->arena = grown;
		g->arena_cap = cap;
	}
	if (n > 0)
		memcpy(g->arena + g->arena_len, p, n);
	g->arena[g->arena_len + n] = '\0';
	*off = (uint32_t)g->arena_len;
	g->arena_len = need;
	return VEIL_OK;
}

veil_err gguf_read_string(veil_reader *r, size_t max, const char *cap_name, const uint8_t **p,
			  size_t *n)
{
	uint64_t len;
	size_t at = veil_reader_offset(r);

	/* GGUF spec, "gguf_string_t": a uint64 length, then the bytes with no
	 * NUL after them. */
	TRY(veil_reader_u64le(r, &len));
	ENSURE(len <= max, VEIL_E_LIMIT,
	       "string at offset 0x%zx is %llu bytes, above the cap of %zu (%s)", at,
	       (unsigned long long)len, max, cap_name);
	*n = (size_t)len;
	return veil_reader_borrow(r, *n, p);
}

bool gguf_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t more;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false; /* a continuation byte, 0xc0/0xc1 or 0xf5.. */
		}
		if (more > n - i - 1)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* RFC 3629 section 3: overlong forms, surrogates and code points
		 * above U+10FFFF are invalid. */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += more + 1;
	}
	return true;
}

veil_err gguf_check_name(const uint8_t *p, size_t n, const char *what)
{
	ENSURE(n > 0, VEIL_E_MALFORMED, "%s: the name is empty", what);
	ENSURE(memchr(p, '\0', n) == NULL, VEIL_E_MALFORMED, "%s: the name contains a NUL byte",
	       what);
	/* GGUF spec: keys are ASCII and names UTF-8; messages print them, and
	 * lookups compare them as C strings. */
	ENSURE(gguf_utf8_valid(p, n), VEIL_E_MALFORMED, "%s: the name is not valid UTF-8", what);
	return VEIL_OK;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const gguf_name *)a)->name, ((const gguf_name *)b)->name);
}

veil_err gguf_sort_names(gguf_name *v, size_t n, const char *what)
{
	if (n > 1)
		qsort(v, n, sizeof *v, name_cmp);
	for (size_t i = 1; i < n; i++)
		ENSURE(strcmp(v[i - 1].name, v[i].name) != 0, VEIL_E_MALFORMED,
		       "%s '%s' appears twice (entries %zu and %zu)", what, v[i].name,
		       v[i - 1].index < v[i].index ? v[i - 1].index : v[i].index,
		       v[i - 1].index < v[i].index ? v[i].index : v[i - 1].index);
	return VEIL_OK;
}

const gguf_name *gguf_find_name(const gguf_name *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, v[mid].name);

		if (c == 0)
			return &v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Once the arena is final: pointers for the names, and the sorted tables
 * that find them and reject duplicates. */
static veil_err index_names(veil_gguf *g)
{
	if (g->n_kv > 0) {
		g->keys = calloc(g->n_kv, sizeof *g->keys);
		ENSURE(g->keys != NULL, VEIL_E_NOMEM, "out of memory for %zu keys", g->n_kv);
	}
	for (size_t i = 0; i < g->n_kv; i++)
		g->keys[i] = (gguf_name){g->arena + g->kv[i].key, i};
	TRY(gguf_sort_names(g->keys, g->n_kv, "key"));

	if (g->n_tensors > 0) {
		g->names = calloc(g->n_tensors, sizeof *g->names);
		ENSURE(g->names != NULL, VEIL_E_NOMEM, "out of memory for %zu tensors",
		       g->n_tensors);
	}
	for (size_t i = 0; i < g->n_tensors; i++) {
		g->tensors[i].name = g->arena + g->tensor_name[i];
		g->names[i] = (gguf_name){g->tensors[i].name, i};
	}
	return gguf_sort_names(g->names, g->n_tensors, "tensor");
}

veil_err veil_gguf_open(const uint8_t *buf, size_t len, veil_gguf **out)
{
	veil_err err;
	veil_reader r;
	veil_gguf *g = NULL;
	const uint8_t *magic;
	uint32_t version;
	uint64_t n_tensors, n_kv;

	ENSURE(out != NULL && (buf != NULL || len == 0), VEIL_E_USAGE,
	       "veil_gguf_open: no buffer or no result");
	*out = NULL;
	veil_reader_init(&r, buf, len);

	/* GGUF spec, "gguf_header_t": the magic is the bytes "GGUF". */
	CHECK(veil_reader_borrow(&r, 4, &magic));
	CHECK_THAT(memcmp(magic, "GGUF", 4) == 0, VEIL_E_MALFORMED,
		   "not a GGUF file: it starts with %02x %02x %02x %02x, not \"GGUF\"", magic[0],
		   magic[1], magic[2], magic[3]);
	CHECK(veil_reader_u32le(&r, &version));
	CHECK(check_version(version));
	CHECK(veil_reader_u64le(&r, &n_tensors));
	CHECK(veil_reader_u64le(&r, &n_kv));
	CHECK_THAT(n_kv <= VEIL_GGUF_KV_MAX, VEIL_E_LIMIT,
		   "%llu metadata pairs, above the cap of %d (VEIL_GGUF_KV_MAX)",
		   (unsigned long long)n_kv, VEIL_GGUF_KV_MAX);
	CHECK_THAT(n_tensors <= VEIL_GGUF_TENSORS_MAX, VEIL_E_LIMIT,
		   "%llu tensors, above the cap of %d (VEIL_GGUF_TENSORS_MAX)",
		   (unsigned long long)n_tensors, VEIL_GGUF_TENSORS_MAX);

	g = calloc(1, sizeof *g);
	CHECK_THAT(g != NULL, VEIL_E_NOMEM, "out of memory");
	g->buf = buf;
	g->len = len;
	g->alignment = GGUF_DEFAULT_ALIGNMENT;

	CHECK(gguf_read_kvs(g, &r, n_kv));
	CHECK(gguf_read_tensors(g, &r, n_tensors));
	CHECK(index_names(g));
	CHECK(gguf_check_data(g, veil_reader_offset(&r)));
	*out = g;
	g = NULL;
out:
	veil_gguf_free(g);
	return err;
}

void veil_gguf_free(veil_gguf *g)
{
	if (g == NULL)
		return;
	gguf_kvs_free(g);
	/* The metadata is part of the model (its vocabulary), which a sealed
	 * model keeps from the host: wipe the copies. */
	veil_free_secret(g->arena, g->arena_cap);
	free(g->tensors);
	free(g->tensor_name);
	free(g->tensor_offset);
	free(g->names);
	free(g);
}

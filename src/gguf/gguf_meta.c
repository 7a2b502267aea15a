/*
 * gguf_meta.c - GGUF metadata: reading the key-value pairs at open, and
 * the getters the engine and the tokenizer ask them through (gguf.h).
 *
 * Every value is checked when the file is opened (types known, bools 0 or
 * 1, strings and arrays within their caps and inside the buffer), so the
 * getters only look up and convert. Numbers stay in the borrowed buffer
 * and are decoded on demand; strings are copied into the arena with a NUL,
 * and a string array gets an offset table so that element i is found in
 * O(1): a tokenizer reads each of its 150k tokens that way.
 *
 * Real files write the same key with different integer widths (one
 * converter writes context_length as uint32, another as uint64; the GGUF
 * spec recommends readers accept both), so the integer getters take any
 * width whose value fits the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_internal.h"

#define ALIGNMENT_KEY "general.alignment"

static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

static veil_err check_bools(const uint8_t *p, size_t n)
{
	/* GGUF spec, GGUF_METADATA_VALUE_TYPE_BOOL: "1-byte value where 0 is
	 * false and 1 is true. Anything else is invalid". */
	for (size_t i = 0; i < n; i++)
		ENSURE(p[i] <= 1, VEIL_E_MALFORMED, "bool %zu is %u, must be 0 or 1", i,
		       (unsigned)p[i]);
	return VEIL_OK;
}

static veil_err read_string_array(veil_gguf *g, veil_reader *r, gguf_kv *kv)
{
	size_t count = kv->count;

	/* Each element takes at least its 8-byte length: a count the bytes
	 * left cannot hold fails here, before anything is allocated. */
	ENSURE(count <= veil_reader_left(r) / 8, VEIL_E_TRUNCATED,
	       "%zu strings cannot fit in the %zu bytes left at offset 0x%zx", count,
	       veil_reader_left(r), veil_reader_offset(r));
	kv->offs = malloc((count + 1) * sizeof *kv->offs);
	ENSURE(kv->offs != NULL, VEIL_E_NOMEM, "out of memory for %zu strings", count);
	for (size_t i = 0; i < count; i++) {
		const uint8_t *p;
		size_t n;
		veil_err err =
		    gguf_read_string(r, VEIL_GGUF_STRING_MAX, "VEIL_GGUF_STRING_MAX", &p, &n);

		if (err == VEIL_OK)
			err = gguf_arena_add(g, p, n, &kv->offs[i]);
		if (err != VEIL_OK)
			return veil_fail_context(err, "string %zu", i);
	}
	/* The elements are contiguous in the arena: the end of the last one
	 * closes the table. */
	kv->offs[count] = (uint32_t)g->arena_len;
	return VEIL_OK;
}

static veil_err read_array(veil_gguf *g, veil_reader *r, gguf_kv *kv)
{
	uint32_t elem;
	uint64_t count;
	size_t size;

	/* GGUF spec, gguf_metadata_value_t.array: element type, uint64 count,
	 * then the elements back to back. */
	TRY(veil_reader_u32le(r, &elem));
	/* The spec allows arrays of arrays, but ggml's own reader refuses them
	 * and no model file uses them; refusing keeps every array flat. */
	ENSURE(elem != VEIL_GGUF_ARRAY, VEIL_E_UNSUPPORTED,
	       "an array of arrays (Veil reads arrays of numbers, bools and strings)");
	ENSURE(elem == VEIL_GGUF_STRING || gguf_type_size(elem) != 0, VEIL_E_MALFORMED,
	       "unknown array element type %u", (unsigned)elem);
	TRY(veil_reader_u64le(r, &count));
	ENSURE(count <= VEIL_GGUF_ARRAY_MAX, VEIL_E_LIMIT,
	       "%llu elements, above the cap of %d (VEIL_GGUF_ARRAY_MAX)",
	       (unsigned long long)count, VEIL_GGUF_ARRAY_MAX);
	kv->elem = elem;
	kv->count = (size_t)count;
	if (elem == VEIL_GGUF_STRING)
		return read_string_array(g, r, kv);
	size = gguf_type_size(elem);
	/* count is capped and size at most 8: no overflow. */
	TRY(veil_reader_borrow(r, kv->count * size, &kv->raw));
	if (elem == VEIL_GGUF_BOOL)
		TRY(check_bools(kv->raw, kv->count));
	return VEIL_OK;
}

static veil_err read_value(veil_gguf *g, veil_reader *r, gguf_kv *kv)
{
	const uint8_t *p;
	size_t n;

	TRY(veil_reader_u32le(r, &kv->type));
	switch (kv->type) {
	case VEIL_GGUF_STRING:
		/* Values are kept as bytes, not checked as UTF-8: vocabularies
		 * of byte-level tokenizers hold raw byte tokens, and the
		 * tokenizer is what interprets them. */
		TRY(gguf_read_string(r, VEIL_GGUF_STRING_MAX, "VEIL_GGUF_STRING_MAX", &p, &n));
		kv->str_len = (uint32_t)n;
		return gguf_arena_add(g, p, n, &kv->str);
	case VEIL_GGUF_ARRAY:
		return read_array(g, r, kv);
	default:
		n = gguf_type_size(kv->type);
		ENSURE(n != 0, VEIL_E_MALFORMED, "unknown value type %u", (unsigned)kv->type);
		TRY(veil_reader_borrow(r, n, &kv->raw));
		return kv->type == VEIL_GGUF_BOOL ? check_bools(kv->raw, 1) : VEIL_OK;
	}
}

/* general.alignment: GGUF spec, "General": a uint32, "must be a multiple of
 * 8", 32 when absent; a power of two so that aligning is a mask. */
static veil_err read_alignment(veil_gguf *g)
{
	for (size_t i = 0; i < g->n_kv; i++) {
		const gguf_kv *kv = &g->kv[i];
		char tn[16];
		uint32_t a;

		if (strcmp(g->arena + kv->key, ALIGNMENT_KEY) != 0)
			continue;
		ENSURE(kv->type == VEIL_GGUF_UINT32, VEIL_E_MALFORMED,
		       ALIGNMENT_KEY " is a %s, must be a uint32", gguf_type_name(kv->type, tn));
		a = (uint32_t)load_le(kv->raw, 4);
		ENSURE(a >= 8 && (a & (a - 1)) == 0, VEIL_E_MALFORMED,
		       ALIGNMENT_KEY " is %u, must be a power of two and at least 8", (unsigned)a);
		g->alignment = a;
	}
	return VEIL_OK;
}

veil_err gguf_read_kvs(veil_gguf *g, veil_reader *r, uint64_t n_kv)
{
	/* The smallest pair is 14 bytes (key length, one key byte, type, a
	 * one-byte value): a count the bytes left cannot hold fails before
	 * the table is allocated. */
	ENSURE(n_kv <= veil_reader_left(r) / 14, VEIL_E_TRUNCATED,
	       "%llu metadata pairs cannot fit in the %zu bytes left", (unsigned long long)n_kv,
	       veil_reader_left(r));
	if (n_kv > 0) {
		g->kv = calloc((size_t)n_kv, sizeof *g->kv);
		ENSURE(g->kv != NULL, VEIL_E_NOMEM, "out of memory for %llu pairs",
		       (unsigned long long)n_kv);
	}
	for (size_t i = 0; i < n_kv; i++) {
		gguf_kv *kv = &g->kv[i];
		char what[64];
		const uint8_t *p;
		size_t n;
		veil_err err;

		snprintf(what, sizeof what, "key %zu at offset 0x%zx", i, veil_reader_offset(r));
		err = gguf_read_string(r, VEIL_GGUF_KEY_MAX, "VEIL_GGUF_KEY_MAX", &p, &n);
		if (err != VEIL_OK)
			return veil_fail_context(err, "%s", what);
		TRY(gguf_check_name(p, n, what));
		TRY(gguf_arena_add(g, p, n, &kv->key));
		g->n_kv = i + 1; /* from here on, veil_gguf_free frees what kv holds */
		err = read_value(g, r, kv);
		if (err != VEIL_OK)
			return veil_fail_context(err, "key '%s'", g->arena + kv->key);
		ENSURE(veil_reader_offset(r) <= (size_t)VEIL_GGUF_META_MAX_BYTES, VEIL_E_LIMIT,
		       "key '%s' ends past %d bytes of metadata (VEIL_GGUF_META_MAX_BYTES)",
		       g->arena + kv->key, VEIL_GGUF_META_MAX_BYTES);
	}
	return read_alignment(g);
}

void gguf_kvs_free(veil_gguf *g)
{
	for (size_t i = 0; i < g->n_kv; i++)
		free(g->kv[i].offs);
	free(g->kv);
	free(g->keys);
}

/* --- getters --- */

static veil_err find_kv(const veil_gguf *g, const char *key, const gguf_kv **kv)
{
	const gguf_name *n;

	ENSURE(g != NULL && key != NULL, VEIL_E_USAGE, "no GGUF file or no key");
	n = gguf_find_name(g->keys, g->n_kv, key);
	ENSURE(n != NULL, VEIL_E_NOT_FOUND, "metadata key '%s' is not in the file", key);
	*kv = &g->kv[n->index];
	return VEIL_OK;
}

/* The integer of type t at p as a sign and magnitude; false if t is not an
 * integer type. Signed values are sign-extended by arithmetic, not casts. */
static bool decode_int(uint32_t t, const uint8_t *p, bool *neg, uint64_t *mag)
{
	size_t size = gguf_type_size(t);
	bool is_signed;
	uint64_t u;

	switch (t) {
	case VEIL_GGUF_UINT8:
	case VEIL_GGUF_UINT16:
	case VEIL_GGUF_UINT32:
	case VEIL_GGUF_UINT64:
		is_signed = false;
		break;
	case VEIL_GGUF_INT8:
	case VEIL_GGUF_INT16:
	case VEIL_GGUF_INT32:
	case VEIL_GGUF_INT64:
		is_signed = true;
		break;
	default:
		return false;
	}
	u = load_le(p, size);
	*neg = is_signed && (u >> (8 * size - 1)) != 0;
	if (*neg) /* two's complement magnitude within the width */
		u = (size == 8 ? 0 : (uint64_t)1 << (8 * size)) - u;
	*mag = u;
	return true;
}

static veil_err to_i64(const char *key, bool neg, uint64_t mag, int64_t *out)
{
	if (neg) {
		/* mag is at most 2^63 here: the widest signed type is int64. */
		*out = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
		return VEIL_OK;
	}
	ENSURE(mag <= (uint64_t)INT64_MAX, VEIL_E_MALFORMED,
	       "key '%s' is %llu, too large for a signed 64-bit integer", key,
	       (unsigned long long)mag);
	*out = (int64_t)mag;
	return VEIL_OK;
}

static bool decode_float(uint32_t t, const uint8_t *p, double *out)
{
	if (t == VEIL_GGUF_FLOAT32) {
		uint32_t u = (uint32_t)load_le(p, 4);
		float f;

		memcpy(&f, &u, sizeof f);
		*out = f;
		return true;
	}
	if (t == VEIL_GGUF_FLOAT64) {
		uint64_t u = load_le(p, 8);

		memcpy(out, &u, sizeof *out);
		return true;
	}
	return false;
}

bool veil_gguf_has(const veil_gguf *g, const char *key)
{
	return g != NULL && key != NULL && gguf_find_name(g->keys, g->n_kv, key) != NULL;
}

veil_err veil_gguf_get_u64(const veil_gguf *g, const char *key, uint64_t *out)
{
	const gguf_kv *kv;
	bool neg;
	uint64_t mag;
	char tn[16];

	TRY(find_kv(g, key, &kv));
	ENSURE(decode_int(kv->type, kv->raw, &neg, &mag), VEIL_E_MALFORMED,
	       "key '%s' is a %s, not an integer", key, gguf_type_name(kv->type, tn));
	ENSURE(!neg || mag == 0, VEIL_E_MALFORMED, "key '%s' is -%llu, must not be negative", key,
	       (unsigned long long)mag);
	*out = mag;
	return VEIL_OK;
}

veil_err veil_gguf_get_i64(const veil_gguf *g, const char *key, int64_t *out)
{
	const gguf_kv *kv;
	bool neg;
	uint64_t mag;
	char tn[16];

	TRY(find_kv(g, key, &kv));
	ENSURE(decode_int(kv->type, kv->raw, &neg, &mag), VEIL_E_MALFORMED,
	       "key '%s' is a %s, not an integer", key, gguf_type_name(kv->type, tn));
	return to_i64(key, neg, mag, out);
}

veil_err veil_gguf_get_f64(const veil_gguf *g, const char *key, double *out)
{
	const gguf_kv *kv;
	char tn[16];

	TRY(find_kv(g, key, &kv));
	ENSURE(decode_float(kv->type, kv->raw, out), VEIL_E_MALFORMED,
	       "key '%s' is a %s, not a float32 or float64", key, gguf_type_name(kv->type, tn));
	return VEIL_OK;
}

veil_err veil_gguf_get_bool(const veil_gguf *g, const char *key, bool *out)
{
	const gguf_kv *kv;
	char tn[16];

	TRY(find_kv(g, key, &kv));
	ENSURE(kv->type == VEIL_GGUF_BOOL, VEIL_E_MALFORMED, "key '%s' is a %s, not a bool", key,
	       gguf_type_name(kv->type, tn));
	*out = kv->raw[0] != 0;
	return VEIL_OK;
}

veil_err veil_gguf_get_string(const veil_gguf *g, const char *key, const char **s, size_t *len)
{
	const gguf_kv *kv;
	char tn[16];

	TRY(find_kv(g, key, &kv));
	ENSURE(kv->type == VEIL_GGUF_STRING, VEIL_E_MALFORMED, "key '%s' is a %s, not a string",
	       key, gguf_type_name(kv->type, tn));
	*s = g->arena + kv->str;
	if (len != NULL)
		*len = kv->str_len;
	return VEIL_OK;
}

veil_err veil_gguf_get_array(const veil_gguf *g, const char *key, veil_gguf_type *elem,
			     size_t *count)
{
	const gguf_kv *kv;
	char tn[16];

	TRY(find_kv(g, key, &kv));
	ENSURE(kv->type == VEIL_GGUF_ARRAY, VEIL_E_MALFORMED, "key '%s' is a %s, not an array", key,
	       gguf_type_name(kv->type, tn));
	if (elem != NULL)
		*elem = (veil_gguf_type)kv->elem;
	if (count != NULL)
		*count = kv->count;
	return VEIL_OK;
}

/* The array under key, checked to hold element i. */
static veil_err find_element(const veil_gguf *g, const char *key, size_t i, const gguf_kv **kv)
{
	char tn[16];

	TRY(find_kv(g, key, kv));
	ENSURE((*kv)->type == VEIL_GGUF_ARRAY, VEIL_E_MALFORMED, "key '%s' is a %s, not an array",
	       key, gguf_type_name((*kv)->type, tn));
	ENSURE(i < (*kv)->count, VEIL_E_USAGE, "index %zu is past the end of array '%s' (%zu)", i,
	       key, (*kv)->count);
	return VEIL_OK;
}

veil_err veil_gguf_array_string(const veil_gguf *g, const char *key, size_t i, const char **s,
				size_t *len)
{
	const gguf_kv *kv;
	char tn[16];

	TRY(find_element(g, key, i, &kv));
	ENSURE(kv->elem == VEIL_GGUF_STRING, VEIL_E_MALFORMED,
	       "key '%s' is an array of %s, not of strings", key, gguf_type_name(kv->elem, tn));
	*s = g->arena + kv->offs[i];
	if (len != NULL)
		*len = kv->offs[i + 1] - kv->offs[i] - 1;
	return VEIL_OK;
}

veil_err veil_gguf_array_i64(const veil_gguf *g, const char *key, size_t i, int64_t *out)
{
	const gguf_kv *kv;
	bool neg;
	uint64_t mag;
	char tn[16];

	TRY(find_element(g, key, i, &kv));
	ENSURE(kv->elem != VEIL_GGUF_STRING && kv->elem != VEIL_GGUF_BOOL &&
		   decode_int(kv->elem, kv->raw + i * gguf_type_size(kv->elem), &neg, &mag),
	       VEIL_E_MALFORMED, "key '%s' is an array of %s, not of integers", key,
	       gguf_type_name(kv->elem, tn));
	return to_i64(key, neg, mag, out);
}

veil_err veil_gguf_array_f64(const veil_gguf *g, const char *key, size_t i, double *out)
{
	const gguf_kv *kv;
	char tn[16];

	TRY(find_element(g, key, i, &kv));
	ENSURE(kv->elem != VEIL_GGUF_STRING &&
		   decode_float(kv->elem, kv->raw + i * gguf_type_size(kv->elem), out),
	       VEIL_E_MALFORMED, "key '%s' is an array of %s, not of float32 or float64", key,
	       gguf_type_name(kv->elem, tn));
	return VEIL_OK;
}

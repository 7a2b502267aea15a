/*
 * fuzz_gguf.c - libFuzzer target for the GGUF reader (src/gguf), which
 * reads model files a worker is handed.
 *
 * Beyond "no crash": a failed open leaves no result; an opened file must
 * keep every promise gguf.h makes, since the engine relies on them without
 * checks of its own: each tensor's bytes lie inside the input at an
 * aligned offset, its size is its rows times its row size, no two tensors
 * overlap, each is found by its name; every key answers its getters
 * consistently, and every array element can be read. The keys are walked
 * through the reader's internal table (gguf_internal.h), which has the
 * only list of them. Any broken promise aborts. Seeds: fuzz/seeds/fuzz_gguf
 * (written by `test_gguf --write-seeds DIR`).
 */
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_internal.h"
#include "veil/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tensors(const veil_gguf *g, const uint8_t *data, size_t size)
{
	size_t n = veil_gguf_tensor_count(g);

	for (size_t i = 0; i < n; i++) {
		const veil_gguf_tensor *t = veil_gguf_tensor_at(g, i);
		size_t elems, bytes;
		uint64_t count = 1;

		if (t == NULL || veil_gguf_tensor_find(g, t->name) != t)
			abort();
		if (t->n_dims < 1 || t->n_dims > VEIL_GGUF_MAX_DIMS || t->size == 0)
			abort();
		if (t->data < data || t->size > size || (size_t)(t->data - data) > size - t->size)
			abort();
		if ((size_t)(t->data - data) % g->alignment != 0)
			abort();
		if (!veil_ggml_block(t->type, &elems, &bytes) || t->ne[0] % elems != 0)
			abort();
		for (size_t d = 0; d < VEIL_GGUF_MAX_DIMS; d++) {
			if (t->ne[d] == 0 || (d >= t->n_dims && t->ne[d] != 1))
				abort();
			count *= t->ne[d]; /* checked at open not to overflow */
		}
		if (t->size != count / t->ne[0] * (t->ne[0] / elems * bytes))
			abort();
		/* No overlap with any other tensor (inputs are small). */
		for (size_t j = 0; j < i; j++) {
			const veil_gguf_tensor *u = veil_gguf_tensor_at(g, j);
			if (t->data < u->data + u->size && u->data < t->data + t->size)
				abort();
		}
		/* Touch every byte, so ASan sees any that is out of bounds. */
		volatile uint8_t sink = 0;
		for (size_t k = 0; k < t->size; k++)
			sink ^= t->data[k];
		(void)sink;
	}
	if (veil_gguf_tensor_at(g, n) != NULL)
		abort();
}

static void check_key(const veil_gguf *g, const gguf_kv *kv)
{
	const char *key = g->arena + kv->key;
	const char *s;
	size_t len, count;
	veil_gguf_type elem;
	uint64_t u;
	int64_t i;
	double d;
	bool b;

	if (!veil_gguf_has(g, key))
		abort();
	/* Exactly one of the scalar getters' families accepts a scalar. */
	int ok =
	    (veil_gguf_get_i64(g, key, &i) == VEIL_OK || veil_gguf_get_u64(g, key, &u) == VEIL_OK) +
	    (veil_gguf_get_f64(g, key, &d) == VEIL_OK) +
	    (veil_gguf_get_bool(g, key, &b) == VEIL_OK) +
	    (veil_gguf_get_string(g, key, &s, &len) == VEIL_OK) +
	    (veil_gguf_get_array(g, key, &elem, &count) == VEIL_OK);
	if (ok != 1)
		abort();
	if (kv->type == VEIL_GGUF_STRING &&
	    (veil_gguf_get_string(g, key, &s, &len) != VEIL_OK || s[len] != '\0'))
		abort();
	if (kv->type != VEIL_GGUF_ARRAY)
		return;
	if (veil_gguf_get_array(g, key, &elem, &count) != VEIL_OK || count != kv->count)
		abort();
	for (size_t k = 0; k < count; k++) {
		if (elem == VEIL_GGUF_STRING) {
			if (veil_gguf_array_string(g, key, k, &s, &len) != VEIL_OK ||
			    s[len] != '\0')
				abort();
		} else if (elem == VEIL_GGUF_FLOAT32 || elem == VEIL_GGUF_FLOAT64) {
			if (veil_gguf_array_f64(g, key, k, &d) != VEIL_OK)
				abort();
		} else if (elem != VEIL_GGUF_BOOL) {
			(void)veil_gguf_array_i64(g, key, k, &i); /* a u64 may not fit */
		}
	}
	if (veil_gguf_array_i64(g, key, count, &i) != VEIL_E_USAGE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_gguf *g = (veil_gguf *)1;

	if (veil_gguf_open(data, size, &g) != VEIL_OK) {
		if (g != NULL)
			abort(); /* no half-built result */
		return 0;
	}
	check_tensors(g, data, size);
	for (size_t k = 0; k < g->n_kv; k++)
		check_key(g, &g->kv[k]);
	veil_gguf_free(g);
	return 0;
}

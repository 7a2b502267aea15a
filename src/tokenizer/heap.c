/*
 * heap.c - the work queue of candidate merges and the growing id list
 * that both tokenizers use.
 *
 * The heap orders by key, then by left symbol index, so that of two
 * candidates equally good the leftmost merges first: llama.cpp's
 * llm_bigram_spm and llm_bigram_bpe comparators, which make the result
 * independent of the order candidates were found in. Both structures hold
 * data derived from the prompt, so they are wiped when they grow or go.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "veil/secret.h"

static bool bigram_before(const tok_bigram *x, const tok_bigram *y)
{
	if (x->key != y->key)
		return x->key < y->key;
	return x->left < y->left;
}

veil_err tok_heap_push(tok_heap *h, const tok_bigram *item)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		tok_bigram *p = malloc(cap * sizeof *p);
		ENSURE(p != NULL, VEIL_E_NOMEM, "out of memory for %zu merge candidates", cap);
		if (h->n > 0)
			memcpy(p, h->items, h->n * sizeof *p);
		veil_free_secret(h->items, h->cap * sizeof *h->items);
		h->items = p;
		h->cap = cap;
	}
	size_t i = h->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!bigram_before(item, &h->items[parent]))
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i] = *item;
	return VEIL_OK;
}

bool tok_heap_pop(tok_heap *h, tok_bigram *out)
{
	if (h->n == 0)
		return false;
	*out = h->items[0];
	tok_bigram last = h->items[--h->n];
	size_t i = 0;
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->n)
			break;
		if (child + 1 < h->n && bigram_before(&h->items[child + 1], &h->items[child]))
			child++;
		if (!bigram_before(&h->items[child], &last))
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	if (h->n > 0)
		h->items[i] = last;
	return true;
}

void tok_heap_free(tok_heap *h)
{
	veil_free_secret(h->items, h->cap * sizeof *h->items);
	memset(h, 0, sizeof *h);
}

veil_err tok_ids_push(tok_ids *l, int32_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		ENSURE(cap <= SIZE_MAX / sizeof *l->ids, VEIL_E_LIMIT, "too many tokens");
		int32_t *p = malloc(cap * sizeof *p);
		ENSURE(p != NULL, VEIL_E_NOMEM, "out of memory for %zu tokens", cap);
		if (l->n > 0)
			memcpy(p, l->ids, l->n * sizeof *p);
		veil_free_secret(l->ids, l->cap * sizeof *l->ids);
		l->ids = p;
		l->cap = cap;
	}
	l->ids[l->n++] = id;
	return VEIL_OK;
}

void tok_ids_free(tok_ids *l)
{
	veil_free_secret(l->ids, l->cap * sizeof *l->ids);
	memset(l, 0, sizeof *l);
}

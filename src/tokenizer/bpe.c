/*
 * bpe.c - GPT-2 byte-level BPE as llama.cpp runs it for "gpt2" vocabs
 * (llm_tokenizer_bpe_session): pre-tokenize into words, then within each
 * word apply merges by rank.
 *
 * Byte-level: every byte of a word starts as the token of the printable
 * character GPT-2 maps it to (tok_bpe_byte_char), so no text is outside
 * the vocabulary. The adjacent pair with the lowest merge rank (leftmost
 * on ties) is joined first, and the joined symbol offers its new pairs,
 * until no pair has a merge. A merge always names existing tokens (the
 * vocabulary was checked), so every symbol left is a token; a byte whose
 * character is missing from a broken vocabulary becomes the unknown token
 * (llama.cpp silently drops it). With ignore_merges (Llama 3), a word that
 * is a token as a whole is taken without merging.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "veil/secret.h"

typedef struct bpe_symbol {
	int32_t prev, next;
	int32_t id; /* -1: a byte with no token; merges never start from it */
	uint8_t byte;
	bool gone;
} bpe_symbol;

typedef struct bpe_work {
	uint32_t *cps;
	uint8_t *cls;
	uint32_t *off; /* byte offset of each code point, and the end */
	size_t n_cps;
	bpe_symbol *sym;
	uint8_t *mapped; /* a word in the byte-to-character mapping */
	size_t cap;      /* bytes of the fragment: bounds every array */
	tok_heap heap;
} bpe_work;

static veil_err try_pair(const veil_tokenizer *tok, bpe_work *w, int32_t left, int32_t right)
{
	if (left < 0 || right < 0 || w->sym[left].id < 0 || w->sym[right].id < 0)
		return VEIL_OK;
	const tok_merge *m = tok_merge_find(tok, w->sym[left].id, w->sym[right].id);
	if (m == NULL)
		return VEIL_OK;
	tok_bigram b = {(double)m->rank, left, right, w->sym[left].id, w->sym[right].id};
	return tok_heap_push(&w->heap, &b);
}

/* The whole word as one token, when ignore_merges allows it: -1 if not. */
static int32_t whole_word(const veil_tokenizer *tok, bpe_work *w, const uint8_t *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t enc[4];
		size_t k = tok_utf8_encode(tok_bpe_byte_char(s[i]), enc);
		memcpy(w->mapped + n, enc, k);
		n += k;
	}
	return tok_lookup_text(tok, w->mapped, n);
}

static veil_err word(const veil_tokenizer *tok, bpe_work *w, const uint8_t *s, size_t len,
		     tok_ids *out)
{
	tok_bigram b;

	if (tok->ignore_merges) {
		int32_t id = whole_word(tok, w, s, len);
		if (id >= 0)
			return tok_ids_push(out, id);
	}
	for (size_t i = 0; i < len; i++) {
		bpe_symbol *y = &w->sym[i];
		y->prev = (int32_t)i - 1;
		y->next = i + 1 < len ? (int32_t)i + 1 : -1;
		y->id = tok->byte_token[s[i]];
		y->byte = s[i];
		y->gone = false;
	}
	w->heap.n = 0;
	for (size_t i = 1; i < len; i++)
		TRY(try_pair(tok, w, (int32_t)i - 1, (int32_t)i));
	while (tok_heap_pop(&w->heap, &b)) {
		bpe_symbol *l = &w->sym[b.left], *r = &w->sym[b.right];
		/* Stale: a side has changed since the pair was offered. A
		 * symbol only grows, so its id never comes back. */
		if (l->gone || r->gone || l->id != b.a || r->id != b.b)
			continue;
		l->id = tok_merge_find(tok, b.a, b.b)->result;
		r->gone = true;
		l->next = r->next;
		if (r->next >= 0)
			w->sym[r->next].prev = b.left;
		TRY(try_pair(tok, w, l->prev, b.left));
		TRY(try_pair(tok, w, b.left, l->next));
	}
	for (int32_t i = 0; i >= 0; i = w->sym[i].next) {
		if (w->sym[i].id >= 0)
			TRY(tok_ids_push(out, w->sym[i].id));
		else
			TRY(tok_push_unknown_byte(tok, w->sym[i].byte, out));
	}
	return VEIL_OK;
}

static veil_err decode(bpe_work *w, const uint8_t *text, size_t len)
{
	w->cap = len;
	w->cps = malloc(len * sizeof *w->cps);
	w->cls = malloc(len);
	w->off = malloc((len + 1) * sizeof *w->off);
	w->sym = malloc(len * sizeof *w->sym);
	w->mapped = malloc(2 * len);
	ENSURE(w->cps != NULL && w->cls != NULL && w->off != NULL && w->sym != NULL &&
		   w->mapped != NULL,
	       VEIL_E_NOMEM, "out of memory for %zu bytes of text", len);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = tok_utf8_decode(text + i, len - i, &cp);
		/* The caller checked the text is UTF-8. */
		ENSURE(k > 0, VEIL_E_MALFORMED, "text is not UTF-8 at byte %zu", i);
		w->off[w->n_cps] = (uint32_t)i;
		w->cps[w->n_cps] = cp;
		w->cls[w->n_cps] = tok_unicode_class(cp);
		w->n_cps++;
		i += k;
	}
	w->off[w->n_cps] = (uint32_t)len;
	return VEIL_OK;
}

veil_err tok_bpe_fragment(const veil_tokenizer *tok, const uint8_t *text, size_t len, tok_ids *out)
{
	bpe_work w;
	tok_pretok_iter it;
	size_t start, end;
	veil_err err;

	memset(&w, 0, sizeof w);
	CHECK(decode(&w, text, len));
	tok_pretok_begin(&it, tok->pre, w.cps, w.cls, w.n_cps);
	while (tok_pretok_next(&it, &start, &end))
		CHECK(word(tok, &w, text + w.off[start], w.off[end] - w.off[start], out));
out:
	veil_free_secret(w.cps, w.cap * sizeof *w.cps);
	veil_free_secret(w.cls, w.cap);
	veil_free_secret(w.off, (w.cap + 1) * sizeof *w.off);
	veil_free_secret(w.sym, w.cap * sizeof *w.sym);
	veil_free_secret(w.mapped, 2 * w.cap);
	tok_heap_free(&w.heap);
	return err;
}

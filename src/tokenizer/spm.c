/*
 * spm.c - the SentencePiece-style tokenizer of llama.cpp's "llama" vocab
 * (llm_tokenizer_spm_session): merge adjacent pieces by score, then fall
 * back to byte tokens for whatever did not become a token.
 *
 * Spaces are first written as U+2581 ('▁'), with one more in front when
 * the vocabulary adds a space prefix and this text starts the prompt or
 * follows a special token. The text is cut into characters; every
 * adjacent pair whose joined text is a token is a candidate, best score
 * first (leftmost on ties); a merge replaces the pair by one symbol and
 * offers that symbol's new pairs. When no candidate is left, each symbol
 * is its token, or, if it is a character the vocabulary lacks, one <0xNN>
 * token per byte (byte fallback).
 *
 * llama.cpp's resegment step also looks up how a symbol was built; since
 * a merge happens only when the joined text is a token, every merged
 * symbol is a token, and that lookup only ever reaches single characters,
 * which is the byte fallback here.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "veil/secret.h"

typedef struct spm_symbol {
	int32_t prev, next;
	uint32_t off, n; /* bytes of the escaped text; n == 0 once merged away */
} spm_symbol;

typedef struct spm_work {
	uint8_t *text; /* the escaped text */
	size_t len, text_cap;
	spm_symbol *sym;
	size_t n_sym, sym_cap;
	tok_heap heap;
} spm_work;

static veil_err try_pair(const veil_tokenizer *tok, spm_work *w, int32_t left, int32_t right)
{
	if (left < 0 || right < 0)
		return VEIL_OK;
	const spm_symbol *l = &w->sym[left], *r = &w->sym[right];
	int32_t id = tok_lookup_text(tok, w->text + l->off, l->n + r->n);
	if (id < 0)
		return VEIL_OK;
	/* The key is -score so that the smallest key is the best score. */
	tok_bigram b = {-(double)tok->scores[id], left, right, (int32_t)(l->n + r->n), 0};
	return tok_heap_push(&w->heap, &b);
}

/* Writes ' ' as U+2581 (and the prefix) into w->text. */
static veil_err escape(spm_work *w, const uint8_t *text, size_t len, bool prefix_space)
{
	static const uint8_t lower_block[3] = {0xE2, 0x96, 0x81};
	size_t cap = 3 * len + 3;

	w->text = malloc(cap);
	ENSURE(w->text != NULL, VEIL_E_NOMEM, "out of memory for %zu bytes of text", cap);
	w->text_cap = cap;
	w->len = 0;
	if (prefix_space) {
		memcpy(w->text, lower_block, 3);
		w->len = 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(w->text + w->len, lower_block, 3);
			w->len += 3;
		} else {
			w->text[w->len++] = text[i];
		}
	}
	return VEIL_OK;
}

static veil_err split_chars(spm_work *w)
{
	w->sym_cap = w->len ? w->len : 1;
	w->sym = malloc(w->sym_cap * sizeof *w->sym);
	ENSURE(w->sym != NULL, VEIL_E_NOMEM, "out of memory for %zu symbols", w->sym_cap);
	for (size_t off = 0; off < w->len;) {
		uint32_t cp;
		/* The caller checked the text is UTF-8 and escaping keeps it so. */
		size_t n = tok_utf8_decode(w->text + off, w->len - off, &cp);
		if (n == 0)
			n = 1;
		spm_symbol *s = &w->sym[w->n_sym];
		s->off = (uint32_t)off;
		s->n = (uint32_t)n;
		s->prev = (int32_t)w->n_sym - 1;
		off += n;
		s->next = off < w->len ? (int32_t)w->n_sym + 1 : -1;
		w->n_sym++;
	}
	return VEIL_OK;
}

static veil_err merge_all(const veil_tokenizer *tok, spm_work *w)
{
	tok_bigram b;

	for (size_t i = 1; i < w->n_sym; i++)
		TRY(try_pair(tok, w, (int32_t)i - 1, (int32_t)i));
	while (tok_heap_pop(&w->heap, &b)) {
		spm_symbol *l = &w->sym[b.left], *r = &w->sym[b.right];
		/* Stale: one side was merged into something else since. */
		if (l->n == 0 || r->n == 0 || l->n + r->n != (uint32_t)b.a)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			w->sym[r->next].prev = b.left;
		TRY(try_pair(tok, w, l->prev, b.left));
		TRY(try_pair(tok, w, b.left, l->next));
	}
	return VEIL_OK;
}

veil_err tok_push_unknown_byte(const veil_tokenizer *tok, uint8_t b, tok_ids *out)
{
	/* llama.cpp throws here (byte_to_token's map lookup); SentencePiece
	 * emits the unknown token, which is what happens when there is one. */
	ENSURE(tok->unk >= 0, VEIL_E_UNSUPPORTED,
	       "byte 0x%02x has no token and the vocabulary has no unknown token", b);
	return tok_ids_push(out, tok->unk);
}

static veil_err emit(const veil_tokenizer *tok, const spm_work *w, tok_ids *out)
{
	for (int32_t i = w->n_sym ? 0 : -1; i >= 0; i = w->sym[i].next) {
		const spm_symbol *s = &w->sym[i];
		int32_t id = tok_lookup_text(tok, w->text + s->off, s->n);
		if (id >= 0) {
			TRY(tok_ids_push(out, id));
			continue;
		}
		/* One byte token per byte; a character some byte of which has
		 * no token is one unknown token, as in SentencePiece. */
		bool all = true;
		for (uint32_t j = 0; j < s->n; j++)
			all = all && tok->byte_token[w->text[s->off + j]] >= 0;
		if (!all) {
			TRY(tok_push_unknown_byte(tok, w->text[s->off], out));
			continue;
		}
		for (uint32_t j = 0; j < s->n; j++)
			TRY(tok_ids_push(out, tok->byte_token[w->text[s->off + j]]));
	}
	return VEIL_OK;
}

veil_err tok_spm_fragment(const veil_tokenizer *tok, const uint8_t *text, size_t len,
			  bool prefix_space, tok_ids *out)
{
	spm_work w;
	veil_err err;

	memset(&w, 0, sizeof w);
	CHECK(escape(&w, text, len, prefix_space));
	CHECK(split_chars(&w));
	CHECK(merge_all(tok, &w));
	CHECK(emit(tok, &w, out));
out:
	veil_free_secret(w.text, w.text_cap);
	veil_free_secret(w.sym, w.sym_cap * sizeof *w.sym);
	tok_heap_free(&w.heap);
	return err;
}

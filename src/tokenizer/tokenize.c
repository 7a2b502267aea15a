/*
 * tokenize.c - veil_tokenize: check the text, cut out special tokens,
 * tokenize the text between them, add BOS and EOS.
 *
 * Special tokens are found as llama.cpp's tokenizer_st_partition finds
 * them: for each special token, longest first, every occurrence in the
 * text not yet claimed splits its fragment (leftmost first, no overlap).
 * The order matters: with "<|a|>" and "|a|" both special, "<|a|>" wins
 * wherever it occurs. Control and unknown tokens take part only when the
 * caller asks to parse special tokens; user-defined tokens always do.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "veil/secret.h"

typedef struct fragment {
	size_t off, len;
	int32_t id; /* a special token, or -1 for text */
} fragment;

typedef struct fragments {
	fragment *f;
	size_t n, cap;
} fragments;

static veil_err frag_push(fragments *l, size_t off, size_t len, int32_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		fragment *p = realloc(l->f, cap * sizeof *p);
		ENSURE(p != NULL, VEIL_E_NOMEM, "out of memory for %zu text fragments", cap);
		l->f = p;
		l->cap = cap;
	}
	l->f[l->n++] = (fragment){off, len, id};
	return VEIL_OK;
}

/* Splits every text fragment of *cur at the occurrences of special token
 * id; returns the new list in *cur (the old one is freed). */
static veil_err split_at(const uint8_t *text, int32_t id, const uint8_t *s, size_t slen,
			 fragments *cur)
{
	fragments next = {0};
	veil_err err = VEIL_OK;

	for (size_t i = 0; i < cur->n; i++) {
		fragment fr = cur->f[i];
		if (fr.id >= 0 || fr.len < slen) {
			CHECK(frag_push(&next, fr.off, fr.len, fr.id));
			continue;
		}
		size_t pos = fr.off, end = fr.off + fr.len;
		for (;;) {
			const uint8_t *m = memmem(text + pos, end - pos, s, slen);
			if (m == NULL)
				break;
			size_t at = (size_t)(m - text);
			if (at > pos)
				CHECK(frag_push(&next, pos, at - pos, -1));
			CHECK(frag_push(&next, at, slen, id));
			pos = at + slen;
		}
		if (pos < end)
			CHECK(frag_push(&next, pos, end - pos, -1));
	}
	free(cur->f);
	*cur = next;
	return VEIL_OK;
out:
	free(next.f);
	return err;
}

static veil_err partition(const veil_tokenizer *tok, const uint8_t *text, size_t len,
			  bool parse_special, fragments *out)
{
	bool present[256] = {false};

	if (len == 0)
		return VEIL_OK;
	TRY(frag_push(out, 0, len, -1));
	for (size_t i = 0; i < len; i++)
		present[text[i]] = true;
	for (size_t k = 0; k < tok->n_specials; k++) {
		int32_t id = tok->specials[k];
		uint8_t t = tok->type[id];
		if (!parse_special && (t == VEIL_TOKEN_CONTROL || t == VEIL_TOKEN_UNKNOWN))
			continue;
		size_t slen;
		const uint8_t *s = tok_text(tok, id, &slen);
		/* Most special tokens cannot occur: skip them without a search. */
		if (slen > len || !present[s[0]])
			continue;
		TRY(split_at(text, id, s, slen, out));
	}
	return VEIL_OK;
}

veil_err veil_tokenize(const veil_tokenizer *tok, const char *text, size_t len, bool add_special,
		       bool parse_special, int32_t **ids, size_t *n)
{
	const uint8_t *t = (const uint8_t *)text;
	fragments frags = {0};
	tok_ids out = {0};
	bool prev_special = true; /* the prompt's start counts as one (SPM prefix) */
	veil_err err;

	ENSURE(tok != NULL && ids != NULL && n != NULL && (text != NULL || len == 0), VEIL_E_USAGE,
	       "veil_tokenize: missing argument");
	*ids = NULL;
	*n = 0;
	ENSURE(len <= VEIL_TOKENIZE_INPUT_MAX, VEIL_E_LIMIT,
	       "text of %zu bytes, over the limit of %d", len, VEIL_TOKENIZE_INPUT_MAX);
	/* The bytes themselves stay out of the message: they are the prompt. */
	size_t bad = tok_utf8_invalid_at(t, len);
	ENSURE(bad == len, VEIL_E_MALFORMED, "text is not UTF-8 at byte %zu", bad);

	if (add_special && tok->add_bos)
		CHECK(tok_ids_push(&out, tok->bos));
	CHECK(partition(tok, t, len, parse_special, &frags));
	for (size_t i = 0; i < frags.n; i++) {
		const fragment *f = &frags.f[i];
		if (f->id >= 0) {
			CHECK(tok_ids_push(&out, f->id));
			prev_special = true;
			continue;
		}
		if (tok->kind == VEIL_TOK_SPM)
			CHECK(tok_spm_fragment(tok, t + f->off, f->len,
					       tok->add_space_prefix && prev_special, &out));
		else
			CHECK(tok_bpe_fragment(tok, t + f->off, f->len, &out));
		prev_special = false;
	}
	if (add_special && tok->add_eos)
		CHECK(tok_ids_push(&out, tok->eos));
	if (out.n == 0) {
		/* An empty result is still a valid array to free. */
		CHECK(tok_ids_push(&out, 0));
		out.n = 0;
	}
	*ids = out.ids;
	*n = out.n;
	out.ids = NULL;
	out.cap = 0;
	err = VEIL_OK;
out:
	free(frags.f);
	tok_ids_free(&out);
	return err;
}

/*
 * pretok.c - the BPE pre-tokenizers: splitting text into words before
 * merges run, by the regular expressions of the GPT-2, Llama 3 and Qwen2
 * tokenizers, written out by hand (no regex engine).
 *
 * The patterns (from the models' tokenizer.json, as llama.cpp lists them
 * in llm_tokenizer_bpe):
 *   GPT-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   Qwen2:  as Llama 3 with \p{N} in place of \p{N}{1,3}
 *   SmolLM (and StarCoder): \p{N} first, then GPT-2 on what lies between.
 * A regex splitter tries the alternatives in order at the current position
 * and takes the first that matches, with greedy quantifiers backtracking
 * only as far as a lookahead needs; each function below does exactly that
 * for its pattern, one alternative per block. Text that no alternative
 * matches cannot occur (every character is in some class), but a single
 * character is taken as a word if it did. Lookahead stops at `end`, as the
 * regex sees the end of the text there.
 */
#include <stdlib.h>

#include "tokenizer/tok_internal.h"
#include "veil/secret.h"

static uint8_t cls_at(const uint8_t *cls, size_t i, size_t end)
{
	return i < end ? cls[i] : TOK_UC_NONE;
}

static uint32_t ascii_lower(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 's|'t|'re|'ve|'m|'ll|'d at pos: the end of the match, or 0. */
static size_t contraction(const uint32_t *cps, size_t pos, size_t end, bool any_case)
{
	if (cps[pos] != '\'' || pos + 1 >= end)
		return 0;
	uint32_t c1 = any_case ? ascii_lower(cps[pos + 1]) : cps[pos + 1];
	if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
		return pos + 2;
	if (pos + 2 >= end)
		return 0;
	uint32_t c2 = any_case ? ascii_lower(cps[pos + 2]) : cps[pos + 2];
	if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
		return pos + 3;
	return 0;
}

/* \s+(?!\S)|\s+ at pos (whitespace there): all of a run that ends the
 * text, else all but its last character, which then leads the next word;
 * a run of one before a non-space is taken whole by \s+. */
static size_t space_run(const uint8_t *cls, size_t pos, size_t end)
{
	size_t w = 0;

	while (cls_at(cls, pos + w, end) == TOK_UC_SPACE)
		w++;
	if (w > 1 && pos + w < end)
		return pos + w - 1;
	return pos + (w > 0 ? w : 1);
}

static size_t word_gpt2(const uint32_t *cps, const uint8_t *cls, size_t pos, size_t end)
{
	size_t e = contraction(cps, pos, end, false);
	if (e)
		return e;
	/* ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then
	 * a run of one class. */
	bool space = cps[pos] == ' ';
	uint8_t k = space ? cls_at(cls, pos + 1, end) : cls[pos];
	if (k == TOK_UC_LETTER || k == TOK_UC_NUMBER || k == TOK_UC_OTHER) {
		size_t p = pos + space;
		while (cls_at(cls, p, end) == k)
			p++;
		return p;
	}
	return space_run(cls, pos, end);
}

static bool is_cr_lf(uint32_t c)
{
	return c == '\r' || c == '\n';
}

static size_t word_llama3(const uint32_t *cps, const uint8_t *cls, size_t pos, size_t end,
			  size_t max_digits)
{
	size_t e = contraction(cps, pos, end, true);
	if (e)
		return e;
	uint32_t c = cps[pos];
	uint8_t k = cls[pos];
	/* [^\r\n\p{L}\p{N}]?\p{L}+ */
	if (!is_cr_lf(c) && k != TOK_UC_NUMBER &&
	    (k == TOK_UC_LETTER || cls_at(cls, pos + 1, end) == TOK_UC_LETTER)) {
		size_t p = pos + 1;
		while (cls_at(cls, p, end) == TOK_UC_LETTER)
			p++;
		return p;
	}
	/* \p{N}{1,3} (Qwen2: \p{N}) */
	if (k == TOK_UC_NUMBER) {
		size_t p = pos + 1;
		while (p - pos < max_digits && cls_at(cls, p, end) == TOK_UC_NUMBER)
			p++;
		return p;
	}
	/* ` ?[^\s\p{L}\p{N}]+[\r\n]*` */
	bool space = c == ' ';
	if ((space ? cls_at(cls, pos + 1, end) : k) == TOK_UC_OTHER) {
		size_t p = pos + space;
		while (cls_at(cls, p, end) == TOK_UC_OTHER)
			p++;
		while (p < end && is_cr_lf(cps[p]))
			p++;
		return p;
	}
	/* \s*[\r\n]+ : the greedy \s* gives back characters until [\r\n]+
	 * matches, so the word ends after the run's last \r or \n. */
	size_t last_nl = 0;
	for (size_t p = pos; cls_at(cls, p, end) == TOK_UC_SPACE; p++)
		if (is_cr_lf(cps[p]))
			last_nl = p + 1;
	if (last_nl)
		return last_nl;
	/* \s+(?!\S)|\s+ */
	return space_run(cls, pos, end);
}

static size_t word_at(veil_tok_pre pre, const uint32_t *cps, const uint8_t *cls, size_t pos,
		      size_t end)
{
	switch (pre) {
	case VEIL_TOK_PRE_LLAMA3:
		return word_llama3(cps, cls, pos, end, 3);
	case VEIL_TOK_PRE_QWEN2:
		return word_llama3(cps, cls, pos, end, 1);
	case VEIL_TOK_PRE_SMOLLM:
		/* First pass \p{N}: each digit alone. */
		if (cls[pos] == TOK_UC_NUMBER)
			return pos + 1;
		return word_gpt2(cps, cls, pos, end);
	case VEIL_TOK_PRE_GPT2:
	default:
		return word_gpt2(cps, cls, pos, end);
	}
}

void tok_pretok_begin(tok_pretok_iter *it, veil_tok_pre pre, const uint32_t *cps,
		      const uint8_t *cls, size_t n)
{
	it->pre = pre;
	it->cps = cps;
	it->cls = cls;
	it->n = n;
	it->pos = 0;
	it->seg_end = 0;
}

bool tok_pretok_next(tok_pretok_iter *it, size_t *start, size_t *end)
{
	size_t pos = it->pos;

	if (pos >= it->n)
		return false;
	/* SmolLM's second pass (GPT-2) sees one stretch between digits at a
	 * time, so its lookahead ends at the next digit; the others see the
	 * whole text. */
	if (it->pre != VEIL_TOK_PRE_SMOLLM) {
		it->seg_end = it->n;
	} else if (it->seg_end <= pos) {
		it->seg_end = pos + 1;
		if (it->cls[pos] != TOK_UC_NUMBER)
			while (it->seg_end < it->n && it->cls[it->seg_end] != TOK_UC_NUMBER)
				it->seg_end++;
	}
	*start = pos;
	*end = word_at(it->pre, it->cps, it->cls, pos, it->seg_end);
	it->pos = *end;
	return true;
}

veil_err tok_pretok_split(veil_tok_pre pre, const uint32_t *cps, size_t n, size_t **ends,
			  size_t *n_words)
{
	uint8_t *cls = malloc(n ? n : 1);
	size_t *out = malloc((n ? n : 1) * sizeof *out);
	size_t count = 0, start, end;
	tok_pretok_iter it;

	if (cls == NULL || out == NULL) {
		free(cls);
		free(out);
		return veil_fail(VEIL_E_NOMEM, "out of memory pre-tokenizing %zu characters", n);
	}
	for (size_t i = 0; i < n; i++)
		cls[i] = tok_unicode_class(cps[i]);
	tok_pretok_begin(&it, pre, cps, cls, n);
	while (tok_pretok_next(&it, &start, &end))
		out[count++] = end;
	veil_free_secret(cls, n ? n : 1);
	*ends = out;
	*n_words = count;
	return VEIL_OK;
}

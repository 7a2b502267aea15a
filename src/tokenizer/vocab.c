/*
 * vocab.c - building a tokenizer from a vocabulary (veil_tokenizer_spec):
 * the token table, the text and merge lookup tables (lookup.c reads
 * them), byte-fallback tokens, pieces and the special-token list.
 *
 * Both construction paths, plain arrays and GGUF metadata, end here, so a
 * vocabulary is checked one way: token texts non-empty and distinct (a
 * duplicate would make llama.cpp's text-to-id map disagree with its id
 * list), types known, special ids in range, every BPE merge naming tokens
 * that exist, everything under the caps of tokenizer.h. What is kept is
 * copied into a few flat arrays, so the source can go away.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tokenizer/tok_internal.h"
#include "veil/secret.h"

void veil_tokenizer_spec_init(veil_tokenizer_spec *spec, veil_tok_kind kind)
{
	memset(spec, 0, sizeof *spec);
	spec->kind = kind;
	spec->pre = VEIL_TOK_PRE_GPT2;
	spec->bos = spec->eos = spec->eot = spec->unk = spec->pad = VEIL_TOKEN_NONE;
	if (kind == VEIL_TOK_SPM) {
		/* llama.cpp's defaults for tokenizer.ggml.model "llama". */
		spec->bos = 1;
		spec->eos = 2;
		spec->unk = 0;
		spec->add_bos = true;
		spec->add_space_prefix = true;
	}
}

/* The smallest power of two >= 2n (a load factor of at most 1/2). */
static size_t table_size(size_t n)
{
	size_t size = 16;
	while (size < 2 * n)
		size *= 2;
	return size;
}

static veil_err copy_texts(veil_tokenizer *tok, const veil_tokenizer_spec *spec)
{
	size_t total = 0;

	for (size_t i = 0; i < spec->n_tokens; i++) {
		ENSURE(spec->tokens[i] != NULL, VEIL_E_USAGE, "token %zu has no text", i);
		size_t len = spec->token_lens ? spec->token_lens[i] : strlen(spec->tokens[i]);
		/* llama.cpp renames empty tokens "[EMPTY_n]"; a file that has one
		 * was not written by a converter, so refuse it. */
		ENSURE(len > 0, VEIL_E_MALFORMED, "token %zu has an empty text", i);
		ENSURE(len <= VEIL_TOKEN_TEXT_MAX, VEIL_E_LIMIT,
		       "token %zu is %zu bytes long, over the limit of %d", i, len,
		       VEIL_TOKEN_TEXT_MAX);
		total += len + 1;
		ENSURE(total <= VEIL_TOKENIZER_TEXT_MAX, VEIL_E_LIMIT,
		       "token texts over the limit of %d bytes", VEIL_TOKENIZER_TEXT_MAX);
	}
	tok->text = malloc(total);
	tok->text_off = malloc((spec->n_tokens + 1) * sizeof *tok->text_off);
	ENSURE(tok->text != NULL && tok->text_off != NULL, VEIL_E_NOMEM,
	       "out of memory for %zu bytes of token texts", total);
	size_t off = 0;
	for (size_t i = 0; i < spec->n_tokens; i++) {
		size_t len = spec->token_lens ? spec->token_lens[i] : strlen(spec->tokens[i]);
		tok->text_off[i] = (uint32_t)off;
		memcpy(tok->text + off, spec->tokens[i], len);
		tok->text[off + len] = 0;
		off += len + 1;
	}
	tok->text_off[spec->n_tokens] = (uint32_t)off;
	return VEIL_OK;
}

static veil_err build_map(veil_tokenizer *tok)
{
	size_t size = table_size(tok->n_tokens);

	tok->map = malloc(size * sizeof *tok->map);
	ENSURE(tok->map != NULL, VEIL_E_NOMEM, "out of memory for the token map");
	memset(tok->map, 0xFF, size * sizeof *tok->map);
	tok->map_mask = size - 1;
	for (uint32_t id = 0; id < tok->n_tokens; id++) {
		size_t len;
		const uint8_t *s = tok_text(tok, (int32_t)id, &len);
		int32_t other = tok_lookup(tok, s, len);
		ENSURE(other < 0, VEIL_E_MALFORMED, "tokens %d and %u have the same text", other,
		       id);
		size_t i = tok_hash_bytes(tok->seed, s, len) & tok->map_mask;
		while (tok->map[i] >= 0)
			i = (i + 1) & tok->map_mask;
		tok->map[i] = (int32_t)id;
	}
	return VEIL_OK;
}

static veil_err copy_types_scores(veil_tokenizer *tok, const veil_tokenizer_spec *spec)
{
	size_t n = spec->n_tokens;

	tok->type = malloc(n);
	tok->flags = calloc(n, 1);
	tok->scores = malloc(n * sizeof *tok->scores);
	ENSURE(tok->type != NULL && tok->flags != NULL && tok->scores != NULL, VEIL_E_NOMEM,
	       "out of memory for %zu token types", n);
	for (size_t i = 0; i < n; i++) {
		int32_t t = spec->types ? spec->types[i] : VEIL_TOKEN_NORMAL;
		ENSURE(t >= VEIL_TOKEN_UNDEFINED && t <= VEIL_TOKEN_BYTE, VEIL_E_MALFORMED,
		       "token %zu has type %d, not one of 0..6", i, (int)t);
		tok->type[i] = (uint8_t)t;
		float score = spec->scores ? spec->scores[i] : 0.0f;
		/* A NaN score would make the SPM work queue's order undefined. */
		ENSURE(!isnan(score), VEIL_E_MALFORMED, "token %zu has a NaN score", i);
		tok->scores[i] = score;
	}
	return VEIL_OK;
}

static veil_err check_special(const veil_tokenizer *tok, const char *name, int32_t id)
{
	ENSURE(id == VEIL_TOKEN_NONE || (id >= 0 && (uint32_t)id < tok->n_tokens), VEIL_E_MALFORMED,
	       "%s token id %d is not in the vocabulary of %u tokens", name, (int)id,
	       tok->n_tokens);
	return VEIL_OK;
}

/* llama.cpp (llama_vocab::impl::load) finds the end-of-turn token and the
 * end-of-generation set by text. Candidates in this order, so the choice
 * does not depend on hash order as llama.cpp's does. */
static const char *const eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
};
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
};

static void mark_eog(veil_tokenizer *tok, int32_t id)
{
	if (id < 0)
		return;
	tok->flags[id] |= TOK_F_EOG;
}

static void find_end_tokens(veil_tokenizer *tok)
{
	for (size_t i = 0; tok->eot < 0 && i < sizeof eot_texts / sizeof *eot_texts; i++)
		tok->eot = tok_lookup(tok, (const uint8_t *)eot_texts[i], strlen(eot_texts[i]));
	for (size_t i = 0; i < sizeof eog_texts / sizeof *eog_texts; i++) {
		int32_t id = tok_lookup(tok, (const uint8_t *)eog_texts[i], strlen(eog_texts[i]));
		if (id < 0)
			continue;
		mark_eog(tok, id);
		/* llama.cpp overrides the type of these to control, so that
		 * they are neither produced from plain text nor printed. */
		tok->type[id] = VEIL_TOKEN_CONTROL;
	}
	/* An EOT found by text is one of those; one named by the model keeps
	 * its type, as in llama.cpp. */
	mark_eog(tok, tok->eos);
	mark_eog(tok, tok->eot);
}

/* "<0xNN>" with two upper-case hex digits, as SentencePiece writes byte
 * pieces; -1 for any other text. */
static int byte_token_value(const uint8_t *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *hi, *lo;

	if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>' || s[3] == 0 || s[4] == 0)
		return -1;
	hi = strchr(hex, s[3]);
	lo = strchr(hex, s[4]);
	if (hi == NULL || lo == NULL)
		return -1;
	return (int)((hi - hex) * 16 + (lo - hex));
}

static void build_byte_tokens(veil_tokenizer *tok)
{
	static const char hex[] = "0123456789ABCDEF";

	for (unsigned b = 0; b < 256; b++) {
		uint8_t s[6];
		int32_t id;
		if (tok->kind == VEIL_TOK_SPM) {
			/* llama_vocab::byte_to_token: <0xNN>, else the byte itself. */
			s[0] = '<';
			s[1] = '0';
			s[2] = 'x';
			s[3] = (uint8_t)hex[b >> 4];
			s[4] = (uint8_t)hex[b & 15];
			s[5] = '>';
			id = tok_lookup(tok, s, 6);
			if (id < 0) {
				s[0] = (uint8_t)b;
				id = tok_lookup(tok, s, 1);
			}
		} else {
			size_t n = tok_utf8_encode(tok_bpe_byte_char((uint8_t)b), s);
			id = tok_lookup_text(tok, s, n);
		}
		tok->byte_token[b] = id;
	}
}

/* What a token prints as (see veil_token_piece). */
static size_t piece_of(const veil_tokenizer *tok, int32_t id, uint8_t *out)
{
	size_t len, n = 0;
	const uint8_t *s = tok_text(tok, id, &len);
	uint32_t cp;

	switch (tok->type[id]) {
	case VEIL_TOKEN_CONTROL:
	case VEIL_TOKEN_UNKNOWN:
	case VEIL_TOKEN_USER_DEFINED:
		memcpy(out, s, len);
		return len;
	case VEIL_TOKEN_NORMAL:
		break;
	case VEIL_TOKEN_BYTE:
		if (tok->kind == VEIL_TOK_SPM) {
			out[0] = (uint8_t)byte_token_value(s, len);
			return 1;
		}
		return 0;
	default:
		/* llama.cpp prints unused and undefined tokens as nothing. */
		return 0;
	}
	for (size_t i = 0; i < len;) {
		size_t k = tok_utf8_decode(s + i, len - i, &cp);
		if (k == 0) {
			/* Not UTF-8 (a file may hold anything): copy the byte. */
			out[n++] = s[i++];
			continue;
		}
		if (tok->kind == VEIL_TOK_SPM) {
			/* U+2581 LOWER ONE EIGHTH BLOCK stands for a space. */
			if (cp == 0x2581) {
				out[n++] = ' ';
			} else {
				memcpy(out + n, s + i, k);
				n += k;
			}
		} else {
			int b = tok_bpe_char_byte(cp);
			/* A character outside the byte mapping (llama.cpp writes
			 * "[UNK_BYTE_...]") is kept as it is. */
			if (b >= 0) {
				out[n++] = (uint8_t)b;
			} else {
				memcpy(out + n, s + i, k);
				n += k;
			}
		}
		i += k;
	}
	return n;
}

static veil_err build_pieces(veil_tokenizer *tok)
{
	/* No piece is longer than its text: '▁' (3 bytes) becomes 1, a
	 * mapped character (1-2 bytes) becomes 1. */
	size_t total = tok->text_off[tok->n_tokens];

	tok->piece = malloc(total);
	tok->piece_off = malloc((tok->n_tokens + 1) * sizeof *tok->piece_off);
	ENSURE(tok->piece != NULL && tok->piece_off != NULL, VEIL_E_NOMEM,
	       "out of memory for token pieces");
	size_t off = 0;
	for (uint32_t id = 0; id < tok->n_tokens; id++) {
		size_t len;
		const uint8_t *s = tok_text(tok, (int32_t)id, &len);
		ENSURE(tok->type[id] != VEIL_TOKEN_BYTE || tok->kind != VEIL_TOK_SPM ||
			   byte_token_value(s, len) >= 0,
		       VEIL_E_MALFORMED, "token %u has type byte but its text is not <0xNN>", id);
		tok->piece_off[id] = (uint32_t)off;
		off += piece_of(tok, (int32_t)id, tok->piece + off);
	}
	tok->piece_off[tok->n_tokens] = (uint32_t)off;
	return VEIL_OK;
}

/* Special tokens are matched longest first (llama.cpp sorts its
 * cache_special_tokens by length); equal lengths by id, to be stable. */
typedef struct special_key {
	uint32_t len;
	int32_t id;
} special_key;

static int special_cmp(const void *x, const void *y)
{
	const special_key *a = x, *b = y;

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static bool is_special_type(uint8_t t)
{
	return t == VEIL_TOKEN_CONTROL || t == VEIL_TOKEN_USER_DEFINED || t == VEIL_TOKEN_UNKNOWN;
}

static veil_err build_specials(veil_tokenizer *tok)
{
	size_t n = 0;
	special_key *keys;

	for (uint32_t id = 0; id < tok->n_tokens; id++)
		n += is_special_type(tok->type[id]);
	keys = malloc((n ? n : 1) * sizeof *keys);
	tok->specials = malloc((n ? n : 1) * sizeof *tok->specials);
	if (keys == NULL || tok->specials == NULL) {
		free(keys);
		return veil_fail(VEIL_E_NOMEM, "out of memory for special tokens");
	}
	for (uint32_t id = 0; id < tok->n_tokens; id++) {
		if (!is_special_type(tok->type[id]))
			continue;
		size_t len;
		(void)tok_text(tok, (int32_t)id, &len);
		keys[tok->n_specials++] = (special_key){(uint32_t)len, (int32_t)id};
	}
	qsort(keys, tok->n_specials, sizeof *keys, special_cmp);
	for (size_t i = 0; i < tok->n_specials; i++)
		tok->specials[i] = keys[i].id;
	free(keys);
	return VEIL_OK;
}

void veil_tokenizer_free(veil_tokenizer *tok)
{
	if (tok == NULL)
		return;
	free(tok->text);
	free(tok->text_off);
	free(tok->scores);
	free(tok->type);
	free(tok->flags);
	free(tok->piece);
	free(tok->piece_off);
	free(tok->map);
	free(tok->merges);
	free(tok->specials);
	free(tok);
}

/* Merges are "left right", split at the first space after the first
 * byte as llama.cpp does (so a left token may itself be a space). */
static veil_err add_merges(veil_tokenizer *tok, const veil_tokenizer_spec *spec);

veil_err veil_tokenizer_new(const veil_tokenizer_spec *spec, veil_tokenizer **out)
{
	veil_tokenizer *tok = NULL;
	veil_err err;

	ENSURE(spec != NULL && out != NULL, VEIL_E_USAGE, "no tokenizer spec");
	*out = NULL;
	ENSURE(spec->kind == VEIL_TOK_SPM || spec->kind == VEIL_TOK_BPE, VEIL_E_USAGE,
	       "tokenizer kind %d is neither SPM nor BPE", (int)spec->kind);
	ENSURE(spec->pre >= VEIL_TOK_PRE_GPT2 && spec->pre <= VEIL_TOK_PRE_SMOLLM, VEIL_E_USAGE,
	       "pre-tokenizer %d unknown", (int)spec->pre);
	ENSURE(spec->n_tokens > 0 && spec->tokens != NULL, VEIL_E_MALFORMED,
	       "the vocabulary is empty");
	ENSURE(spec->n_tokens <= VEIL_TOKENIZER_VOCAB_MAX, VEIL_E_LIMIT,
	       "vocabulary of %zu tokens, over the limit of %d", spec->n_tokens,
	       VEIL_TOKENIZER_VOCAB_MAX);
	ENSURE(spec->kind != VEIL_TOK_BPE || spec->n_merges <= VEIL_TOKENIZER_MERGES_MAX,
	       VEIL_E_LIMIT, "%zu merges, over the limit of %d", spec->n_merges,
	       VEIL_TOKENIZER_MERGES_MAX);
	ENSURE(spec->kind != VEIL_TOK_BPE || spec->n_merges == 0 || spec->merges != NULL,
	       VEIL_E_USAGE, "merge count without merges");

	tok = calloc(1, sizeof *tok);
	ENSURE(tok != NULL, VEIL_E_NOMEM, "out of memory for a tokenizer");
	tok->kind = spec->kind;
	tok->pre = spec->pre;
	tok->n_tokens = (uint32_t)spec->n_tokens;
	tok->bos = spec->bos;
	tok->eos = spec->eos;
	tok->eot = spec->eot;
	tok->unk = spec->unk;
	tok->pad = spec->pad;
	tok->add_bos = spec->add_bos;
	tok->add_eos = spec->add_eos;
	tok->add_space_prefix = spec->kind == VEIL_TOK_SPM && spec->add_space_prefix;
	tok->ignore_merges = spec->kind == VEIL_TOK_BPE && spec->ignore_merges;
	if (getrandom(&tok->seed, sizeof tok->seed, 0) != (ssize_t)sizeof tok->seed)
		tok->seed = 0x243F6A8885A308D3ULL; /* only costs collision resistance */

	CHECK(copy_texts(tok, spec));
	CHECK(copy_types_scores(tok, spec));
	CHECK(build_map(tok));
	CHECK(check_special(tok, "BOS", tok->bos));
	CHECK(check_special(tok, "EOS", tok->eos));
	CHECK(check_special(tok, "EOT", tok->eot));
	CHECK(check_special(tok, "unknown", tok->unk));
	CHECK(check_special(tok, "padding", tok->pad));
	CHECK_THAT(!tok->add_bos || tok->bos >= 0, VEIL_E_MALFORMED,
		   "the model asks for BOS but has no BOS token");
	CHECK_THAT(!tok->add_eos || tok->eos >= 0, VEIL_E_MALFORMED,
		   "the model asks for EOS but has no EOS token");
	find_end_tokens(tok);
	build_byte_tokens(tok);
	CHECK(build_pieces(tok));
	CHECK(build_specials(tok));
	if (tok->kind == VEIL_TOK_BPE)
		CHECK(add_merges(tok, spec));
	*out = tok;
	tok = NULL;
	err = VEIL_OK;
out:
	veil_tokenizer_free(tok);
	return err;
}

static veil_err add_merges(veil_tokenizer *tok, const veil_tokenizer_spec *spec)
{
	size_t size = table_size(spec->n_merges);
	uint8_t *joined = NULL;
	veil_err err = VEIL_OK;

	tok->merges = malloc(size * sizeof *tok->merges);
	joined = malloc(2 * VEIL_TOKEN_TEXT_MAX);
	CHECK_THAT(tok->merges != NULL && joined != NULL, VEIL_E_NOMEM,
		   "out of memory for %zu merges", spec->n_merges);
	for (size_t i = 0; i < size; i++)
		tok->merges[i].left = -1;
	tok->merge_mask = size - 1;
	for (size_t r = 0; r < spec->n_merges; r++) {
		const char *m = spec->merges[r];
		CHECK_THAT(m != NULL, VEIL_E_USAGE, "merge %zu has no text", r);
		size_t len = spec->merge_lens ? spec->merge_lens[r] : strlen(m);
		CHECK_THAT(len <= 2 * VEIL_TOKEN_TEXT_MAX, VEIL_E_LIMIT,
			   "merge %zu is %zu bytes long", r, len);
		const char *sp = len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;
		CHECK_THAT(sp != NULL && sp + 1 < m + len, VEIL_E_MALFORMED,
			   "merge %zu is not two tokens separated by a space", r);
		size_t ll = (size_t)(sp - m), rl = len - ll - 1;
		int32_t left = tok_lookup(tok, (const uint8_t *)m, ll);
		int32_t right = tok_lookup(tok, (const uint8_t *)sp + 1, rl);
		memcpy(joined, m, ll);
		memcpy(joined + ll, sp + 1, rl);
		int32_t result = tok_lookup(tok, joined, ll + rl);
		/* llama.cpp keeps merges as strings and only fails later, by
		 * falling back to bytes; a merge of tokens that do not exist is
		 * a broken vocabulary, so it is refused here. */
		CHECK_THAT(left >= 0 && right >= 0, VEIL_E_MALFORMED,
			   "merge %zu joins a text that is not a token", r);
		CHECK_THAT(result >= 0, VEIL_E_MALFORMED,
			   "merge %zu makes tokens %d and %d into a text that is not a token", r,
			   (int)left, (int)right);
		if (tok_merge_find(tok, left, right) != NULL)
			continue; /* a repeated pair keeps its first (best) rank */
		size_t i = tok_hash_pair(tok->seed, left, right) & tok->merge_mask;
		while (tok->merges[i].left >= 0)
			i = (i + 1) & tok->merge_mask;
		tok->merges[i] = (tok_merge){left, right, result, (uint32_t)r};
	}
out:
	free(joined);
	return err;
}

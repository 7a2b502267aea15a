/*
 * lookup.c - the tokenizer's lookups (text to id, pair to merge) and its
 * read-only accessors.
 *
 * Both tables are open-addressed with linear probing at a load factor of
 * at most one half, keyed by a 64-bit hash seeded at random per tokenizer
 * (vocab.c draws the seed), so a vocabulary crafted to collide under one
 * seed does not collide under the next.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

/* A seeded 64-bit hash: the seed is random per tokenizer, so a crafted
 * vocabulary cannot make every text land in one probe chain. */
static uint64_t mix64(uint64_t x)
{
	/* The splitmix64 finalizer. */
	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBULL;
	x ^= x >> 31;
	return x;
}

uint64_t tok_hash_bytes(uint64_t seed, const uint8_t *s, size_t len)
{
	uint64_t h = mix64(seed ^ (len * 0x9E3779B97F4A7C15ULL));
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		h = mix64(h ^ w) + 0x9E3779B97F4A7C15ULL;
	}
	if (i < len) {
		uint64_t w = 0;
		memcpy(&w, s + i, len - i);
		h = mix64(h ^ w ^ 0xFF51AFD7ED558CCDULL);
	}
	return h;
}

uint64_t tok_hash_pair(uint64_t seed, int32_t a, int32_t b)
{
	return mix64(seed ^ (((uint64_t)(uint32_t)a << 32) | (uint32_t)b));
}

int32_t tok_lookup(const veil_tokenizer *tok, const uint8_t *s, size_t len)
{
	size_t i = tok_hash_bytes(tok->seed, s, len) & tok->map_mask;

	for (;; i = (i + 1) & tok->map_mask) {
		int32_t id = tok->map[i];
		if (id < 0)
			return -1;
		size_t n;
		const uint8_t *t = tok_text(tok, id, &n);
		if (n == len && memcmp(t, s, len) == 0)
			return id;
	}
}

int32_t tok_lookup_text(const veil_tokenizer *tok, const uint8_t *s, size_t len)
{
	int32_t id = tok_lookup(tok, s, len);

	if (id < 0)
		return -1;
	switch (tok->type[id]) {
	case VEIL_TOKEN_CONTROL:
	case VEIL_TOKEN_UNKNOWN:
	case VEIL_TOKEN_BYTE:
		return -1;
	default:
		return id;
	}
}

const tok_merge *tok_merge_find(const veil_tokenizer *tok, int32_t left, int32_t right)
{
	if (tok->merges == NULL)
		return NULL;
	for (size_t i = tok_hash_pair(tok->seed, left, right) & tok->merge_mask;;
	     i = (i + 1) & tok->merge_mask) {
		const tok_merge *m = &tok->merges[i];
		if (m->left < 0)
			return NULL;
		if (m->left == left && m->right == right)
			return m;
	}
}

veil_tok_kind veil_tokenizer_kind(const veil_tokenizer *tok)
{
	return tok->kind;
}

size_t veil_tokenizer_n_tokens(const veil_tokenizer *tok)
{
	return tok->n_tokens;
}

int32_t veil_token_bos(const veil_tokenizer *tok)
{
	return tok->bos;
}

int32_t veil_token_eos(const veil_tokenizer *tok)
{
	return tok->eos;
}

int32_t veil_token_eot(const veil_tokenizer *tok)
{
	return tok->eot;
}

bool veil_tokenizer_add_bos(const veil_tokenizer *tok)
{
	return tok->add_bos;
}

bool veil_token_is_eog(const veil_tokenizer *tok, int32_t id)
{
	return id >= 0 && (uint32_t)id < tok->n_tokens && (tok->flags[id] & TOK_F_EOG) != 0;
}

veil_err veil_tokenizer_eog_ids(const veil_tokenizer *tok, int32_t **ids, size_t *n)
{
	size_t count = 0;

	*ids = NULL;
	*n = 0;
	for (uint32_t i = 0; i < tok->n_tokens; i++)
		count += (tok->flags[i] & TOK_F_EOG) != 0;
	if (count == 0)
		return VEIL_OK;
	*ids = malloc(count * sizeof **ids);
	ENSURE(*ids != NULL, VEIL_E_NOMEM, "out of memory");
	for (uint32_t i = 0; i < tok->n_tokens; i++)
		if ((tok->flags[i] & TOK_F_EOG) != 0)
			(*ids)[(*n)++] = (int32_t)i;
	return VEIL_OK;
}

veil_token_type veil_token_get_type(const veil_tokenizer *tok, int32_t id)
{
	if (id < 0 || (uint32_t)id >= tok->n_tokens)
		return VEIL_TOKEN_UNDEFINED;
	return (veil_token_type)tok->type[id];
}

veil_err veil_token_text(const veil_tokenizer *tok, int32_t id, const char **text, size_t *len)
{
	ENSURE(id >= 0 && (uint32_t)id < tok->n_tokens, VEIL_E_USAGE,
	       "token id %d is not in the vocabulary of %u tokens", (int)id, tok->n_tokens);
	*text = (const char *)tok_text(tok, id, len);
	return VEIL_OK;
}

int32_t veil_token_find(const veil_tokenizer *tok, const char *s, size_t len)
{
	int32_t id = tok_lookup(tok, (const uint8_t *)s, len);
	return id < 0 ? VEIL_TOKEN_NONE : id;
}

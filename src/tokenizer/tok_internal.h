/*
 * tok_internal.h - what the files of src/tokenizer share: the tokenizer
 * structure, UTF-8 and character-class helpers, the pre-tokenizers, and
 * the two merge algorithms. Tests include it to check pre-tokenizer splits
 * without building a vocabulary.
 */
#ifndef VEIL_TOK_INTERNAL_H
#define VEIL_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/tokenizer.h"

/* Character classes of the pre-tokenizers (unicode_classes.c). TOK_UC_NONE
 * stands for "past the end of the text", which matches no class, as a
 * regular expression's lookahead sees the end. */
enum {
	TOK_UC_OTHER = 0,
	TOK_UC_LETTER = 1,
	TOK_UC_NUMBER = 2,
	TOK_UC_SPACE = 3,
	TOK_UC_NONE = 4,
};
extern const char tok_unicode_version[];
extern const uint32_t tok_unicode_ranges[];
extern const size_t tok_unicode_ranges_count;
uint8_t tok_unicode_class(uint32_t cp);

/* UTF-8 (RFC 3629 section 4): decodes one character at s (len bytes
 * left); returns its length, or 0 when the bytes there are not a valid,
 * complete, shortest-form character. */
size_t tok_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);
/* Offset of the first byte that does not begin a valid character, or len. */
size_t tok_utf8_invalid_at(const uint8_t *s, size_t len);
/* Writes cp (at most U+10FFFF, not a surrogate) and returns 1..4. */
size_t tok_utf8_encode(uint32_t cp, uint8_t out[4]);

/* The GPT-2 byte-level mapping: every byte is shown as a printable
 * character (bytes that already are map to themselves, the 68 others to
 * U+0100 onwards, in byte order). tok_bpe_char_byte returns -1 for a code
 * point that is not the image of a byte. */
uint32_t tok_bpe_byte_char(uint8_t b);
int tok_bpe_char_byte(uint32_t cp);

/* Pre-tokenizer: walks the words of n code points; cls[i] is the class
 * of cps[i]. Each call gives the next word as [start, end). */
typedef struct tok_pretok_iter {
	veil_tok_pre pre;
	const uint32_t *cps;
	const uint8_t *cls;
	size_t n, pos, seg_end;
} tok_pretok_iter;

void tok_pretok_begin(tok_pretok_iter *it, veil_tok_pre pre, const uint32_t *cps,
		      const uint8_t *cls, size_t n);
bool tok_pretok_next(tok_pretok_iter *it, size_t *start, size_t *end);
/* Splits n code points into words; *ends gets each word's end (malloc'd). */
VEIL_MUST_CHECK veil_err tok_pretok_split(veil_tok_pre pre, const uint32_t *cps, size_t n,
					  size_t **ends, size_t *n_words);

/* A binary heap of candidate merges, smallest key first and, on equal
 * keys, leftmost first: SPM uses -score, BPE the merge rank. */
typedef struct tok_bigram {
	double key;
	int32_t left, right; /* symbol indices */
	int32_t a, b;        /* what must still hold for the pair to be valid */
} tok_bigram;

typedef struct tok_heap {
	tok_bigram *items;
	size_t n, cap;
} tok_heap;

VEIL_MUST_CHECK veil_err tok_heap_push(tok_heap *h, const tok_bigram *item);
bool tok_heap_pop(tok_heap *h, tok_bigram *out);
void tok_heap_free(tok_heap *h);

/* A growing list of ids; grown by copying so old copies can be wiped. */
typedef struct tok_ids {
	int32_t *ids;
	size_t n, cap;
} tok_ids;

VEIL_MUST_CHECK veil_err tok_ids_push(tok_ids *l, int32_t id);
void tok_ids_free(tok_ids *l);

/* One merge of a BPE vocabulary: the pair of ids, the id it makes, and
 * its rank (its index in tokenizer.ggml.merges). left < 0: empty slot. */
typedef struct tok_merge {
	int32_t left, right, result;
	uint32_t rank;
} tok_merge;

/* Token flags besides the type. */
#define TOK_F_EOG 0x01

struct veil_tokenizer {
	veil_tok_kind kind;
	veil_tok_pre pre;
	uint32_t n_tokens;
	uint8_t *text;      /* every token's text, each followed by NUL */
	uint32_t *text_off; /* n_tokens + 1 offsets into text */
	float *scores;
	uint8_t *type;  /* veil_token_type */
	uint8_t *flags; /* TOK_F_* */
	uint8_t *piece; /* every token's bytes for detokenization */
	uint32_t *piece_off;
	/* text -> id, open addressing; -1 marks an empty slot */
	int32_t *map;
	size_t map_mask;
	uint64_t seed; /* random per tokenizer, so a model file cannot pick collisions */
	tok_merge *merges;
	size_t merge_mask;
	/* SPM: <0xNN> (or the one-byte token) for byte fallback. BPE: the
	 * token of the character that stands for the byte. -1 when none. */
	int32_t byte_token[256];
	int32_t *specials; /* control, user-defined and unknown; longest text first */
	size_t n_specials;
	int32_t bos, eos, eot, unk, pad;
	bool add_bos, add_eos, add_space_prefix, ignore_merges;
};

/* Token text by id (no checks). */
static inline const uint8_t *tok_text(const veil_tokenizer *tok, int32_t id, size_t *len)
{
	*len = tok->text_off[id + 1] - tok->text_off[id] - 1;
	return tok->text + tok->text_off[id];
}

/* The seeded hashes of the two tables (lookup.c). */
uint64_t tok_hash_bytes(uint64_t seed, const uint8_t *s, size_t len);
uint64_t tok_hash_pair(uint64_t seed, int32_t a, int32_t b);
/* Any token with this text, or -1. */
int32_t tok_lookup(const veil_tokenizer *tok, const uint8_t *s, size_t len);
/* A token that plain text may turn into: not control, unknown or byte
 * (those come only from special-token parsing or byte fallback). */
int32_t tok_lookup_text(const veil_tokenizer *tok, const uint8_t *s, size_t len);
/* The merge of (left, right), or NULL. */
const tok_merge *tok_merge_find(const veil_tokenizer *tok, int32_t left, int32_t right);

/* The tokenizers of one fragment of text (no special tokens inside). */
VEIL_MUST_CHECK veil_err tok_spm_fragment(const veil_tokenizer *tok, const uint8_t *text,
					  size_t len, bool prefix_space, tok_ids *out);
VEIL_MUST_CHECK veil_err tok_bpe_fragment(const veil_tokenizer *tok, const uint8_t *text,
					  size_t len, tok_ids *out);
/* A byte no token covers: the unknown token, or VEIL_E_UNSUPPORTED. */
VEIL_MUST_CHECK veil_err tok_push_unknown_byte(const veil_tokenizer *tok, uint8_t b, tok_ids *out);

#endif

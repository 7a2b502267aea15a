/*
 * test_tokenizer_bpe.c - byte-level BPE on a vocabulary built here (the
 * 256 byte characters plus a few merges worked through by hand), special
 * tokens, round trips, and the refusals of broken merge lists.
 *
 * The byte characters are computed here by GPT-2's bytes_to_unicode()
 * algorithm, independently of the closed form the library uses.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_tokenizer_util.h"
#include "tokenizer/tok_internal.h"
#include "veil/tokenizer.h"

static char base[256][4];

/* bytes_to_unicode(): printable bytes keep their code point, the others
 * get 256, 257, ... in byte order. */
static void gpt2_chars(void)
{
	uint32_t cp[256];
	bool prints[256];
	uint32_t next = 256;

	for (unsigned b = 0; b < 256; b++)
		prints[b] =
		    (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
	for (unsigned b = 0; b < 256; b++)
		cp[b] = prints[b] ? b : next++;
	for (unsigned b = 0; b < 256; b++) {
		memset(base[b], 0, sizeof base[b]);
		(void)tok_utf8_encode(cp[b], (uint8_t *)base[b]);
	}
}

static const char *const extra[] = {
    "ll", "he", "hell", "hello", "Ġw", "or", "Ġwor", "ld", "Ġworld", "yz", "xy", "abc",
};
static const char *const merges[] = {
    "l l", "h e", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "y z", "x y",
};
static const struct {
	const char *text;
	int32_t type;
} specials[] = {
    {"<|endoftext|>", VEIL_TOKEN_CONTROL}, {"<|im_start|>", VEIL_TOKEN_CONTROL},
    {"<|im_end|>", VEIL_TOKEN_CONTROL},    {"QRS", VEIL_TOKEN_USER_DEFINED},
    {"PQ", VEIL_TOKEN_USER_DEFINED},       {"<unk>", VEIL_TOKEN_UNKNOWN},
};
#define N_EXTRA    (sizeof extra / sizeof *extra)
#define N_MERGES   (sizeof merges / sizeof *merges)
#define N_SPECIALS (sizeof specials / sizeof *specials)
#define N_TOKENS   (256 + N_EXTRA + N_SPECIALS)

typedef struct bpe_vocab {
	const char *text[N_TOKENS];
	int32_t type[N_TOKENS];
	const char *merges[N_MERGES + 4];
	veil_tokenizer_spec spec;
} bpe_vocab;

static void bpe_vocab_init(bpe_vocab *v, veil_tok_pre pre)
{
	size_t n = 0;

	gpt2_chars();
	for (unsigned b = 0; b < 256; b++) {
		v->type[n] = VEIL_TOKEN_NORMAL;
		v->text[n++] = base[b];
	}
	for (size_t i = 0; i < N_EXTRA; i++) {
		v->type[n] = VEIL_TOKEN_NORMAL;
		v->text[n++] = extra[i];
	}
	for (size_t i = 0; i < N_SPECIALS; i++) {
		v->type[n] = specials[i].type;
		v->text[n++] = specials[i].text;
	}
	for (size_t i = 0; i < N_MERGES; i++)
		v->merges[i] = merges[i];
	veil_tokenizer_spec_init(&v->spec, VEIL_TOK_BPE);
	v->spec.pre = pre;
	v->spec.n_tokens = n;
	v->spec.tokens = v->text;
	v->spec.types = v->type;
	v->spec.n_merges = N_MERGES;
	v->spec.merges = v->merges;
	v->spec.eos = (int32_t)(256 + N_EXTRA); /* <|endoftext|> */
}

static veil_tokenizer *bpe_tok(veil_tok_pre pre, bool ignore_merges)
{
	bpe_vocab v;
	veil_tokenizer *tok = NULL;

	bpe_vocab_init(&v, pre);
	v.spec.ignore_merges = ignore_merges;
	if (veil_tokenizer_new(&v.spec, &tok) != VEIL_OK)
		return NULL;
	return tok;
}

TEST(bpe_byte_mapping)
{
	gpt2_chars();
	for (unsigned b = 0; b < 256; b++) {
		uint32_t cp;
		size_t n = tok_utf8_decode((const uint8_t *)base[b], strlen(base[b]), &cp);
		EXPECT(n > 0 && tok_bpe_byte_char((uint8_t)b) == cp);
		EXPECT(tok_bpe_char_byte(cp) == (int)b);
	}
	/* Space and newline are the well-known Ġ and Ċ. */
	EXPECT(tok_bpe_byte_char(' ') == 0x120 && tok_bpe_byte_char('\n') == 0x10A);
	EXPECT(tok_bpe_char_byte(0x144) == -1);
	EXPECT(tok_bpe_char_byte(0xAD) == -1); /* soft hyphen is not its own image */
	EXPECT(tok_bpe_char_byte(0x20) == -1);
}

TEST(bpe_merges_by_rank)
{
	veil_tokenizer *tok = bpe_tok(VEIL_TOK_PRE_GPT2, false);
	REQUIRE(tok != NULL);
	EXPECT(strcmp(tt_tok(tok, "hello world", false, false), "hello|Ġworld") == 0);
	/* Equal ranks: leftmost first. */
	EXPECT(strcmp(tt_tok(tok, "lll", false, false), "ll|l") == 0);
	/* The better rank wins over position: y z (9) before x y (10). */
	EXPECT(strcmp(tt_tok(tok, "xyz", false, false), "x|yz") == 0);
	/* The space is its own symbol: no merge joins Ġ and hello. */
	EXPECT(strcmp(tt_tok(tok, " hello", false, false), "Ġ|hello") == 0);
	/* Bytes of é (C3 A9) are Ã and ©; newline is Ċ. */
	EXPECT(strcmp(tt_tok(tok, "héllo", false, false), "h|Ã|©|ll|o") == 0);
	EXPECT(strcmp(tt_tok(tok, "a\nb", false, false), "a|Ċ|b") == 0);
	/* No merges for a, b, c: "abc" stays three tokens without ignore_merges. */
	EXPECT(strcmp(tt_tok(tok, "abc", false, false), "a|b|c") == 0);
	/* No BOS for gpt2 vocabularies by default. */
	EXPECT(strcmp(tt_tok(tok, "hello", true, false), "hello") == 0);
	veil_tokenizer_free(tok);
}

TEST(bpe_ignore_merges)
{
	veil_tokenizer *tok = bpe_tok(VEIL_TOK_PRE_LLAMA3, true);
	REQUIRE(tok != NULL);
	/* Llama 3: a pre-token that is a token is taken whole. */
	EXPECT(strcmp(tt_tok(tok, "abc", false, false), "abc") == 0);
	EXPECT(strcmp(tt_tok(tok, "abcd", false, false), "a|b|c|d") == 0);
	veil_tokenizer_free(tok);
}

TEST(bpe_special_tokens)
{
	veil_tokenizer *tok = bpe_tok(VEIL_TOK_PRE_GPT2, false);
	REQUIRE(tok != NULL);
	EXPECT(strcmp(tt_tok(tok, "hi<|im_start|>x", false, true), "h|i|<|im_start|>|x") == 0);
	/* Not parsed: the text's bytes; words "<|", "im", "_", "start", "|>". */
	EXPECT(strcmp(tt_tok(tok, "<|im_start|>", false, false), "<|||i|m|_|s|t|a|r|t|||>") == 0);
	/* Longest special first, as llama.cpp: QRS (3) claims the text
	 * before PQ (2) is tried, so PQRS is P then QRS. */
	EXPECT(strcmp(tt_tok(tok, "PQRS", false, false), "P|QRS") == 0);
	EXPECT(strcmp(tt_tok(tok, "PQ PQ", false, false), "PQ|Ġ|PQ") == 0);
	/* End of generation: EOS and the end texts; EOT found by text. */
	int32_t im_end = veil_token_find(tok, "<|im_end|>", 10);
	EXPECT(veil_token_eot(tok) == im_end);
	EXPECT(veil_token_is_eog(tok, im_end));
	EXPECT(veil_token_is_eog(tok, veil_token_eos(tok)));
	EXPECT(!veil_token_is_eog(tok, veil_token_find(tok, "<|im_start|>", 12)));
	EXPECT(!veil_token_is_eog(tok, 'a'));
	veil_tokenizer_free(tok);
}

TEST(bpe_round_trips)
{
	static const char *texts[] = {
	    "hello world",
	    "héllo wörld 日本 \xF0\x9F\x8E\x89\n\tx",
	    "  multiple   spaces  ",
	    "I'm 12345 ok!!",
	    "<|im_end|>",
	    "\x01\x7f",
	    "",
	};
	static const veil_tok_pre pres[] = {VEIL_TOK_PRE_GPT2, VEIL_TOK_PRE_LLAMA3,
					    VEIL_TOK_PRE_QWEN2, VEIL_TOK_PRE_SMOLLM};
	for (size_t p = 0; p < 4; p++) {
		veil_tokenizer *tok = bpe_tok(pres[p], p == 1);
		REQUIRE(tok != NULL);
		for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
			EXPECT(tt_round_trip(tok, texts[i], strlen(texts[i]), true));
		veil_tokenizer_free(tok);
	}
}

TEST(bpe_detokenize_specials)
{
	veil_tokenizer *tok = bpe_tok(VEIL_TOK_PRE_GPT2, false);
	int32_t *ids;
	size_t n, len;
	char *text;

	REQUIRE(tok != NULL);
	REQUIRE(veil_tokenize(tok, "hi<|im_end|>", 12, false, true, &ids, &n) == VEIL_OK);
	EXPECT_OK(veil_detokenize(tok, ids, n, true, &text, &len));
	EXPECT(strcmp(text, "hi<|im_end|>") == 0 && len == 12);
	free(text);
	EXPECT_OK(veil_detokenize(tok, ids, n, false, &text, &len));
	EXPECT(strcmp(text, "hi") == 0);
	free(text);
	ids[0] = (int32_t)veil_tokenizer_n_tokens(tok);
	EXPECT_ERR(veil_detokenize(tok, ids, n, false, &text, &len), VEIL_E_USAGE);
	free(ids);
	veil_tokenizer_free(tok);
}

TEST(bpe_missing_byte_character)
{
	bpe_vocab v;
	veil_tokenizer *tok = NULL;

	/* A broken vocabulary without the character of byte 0x01 (ā). */
	bpe_vocab_init(&v, VEIL_TOK_PRE_GPT2);
	v.text[1] = "zz";
	REQUIRE(veil_tokenizer_new(&v.spec, &tok) == VEIL_OK);
	EXPECT(strcmp(tt_tok(tok, "a\x01", false, false), "ERR unsupported format or version") ==
	       0);
	veil_tokenizer_free(tok);
	v.spec.unk = (int32_t)(256 + N_EXTRA + 5); /* <unk> */
	REQUIRE(veil_tokenizer_new(&v.spec, &tok) == VEIL_OK);
	EXPECT(strcmp(tt_tok(tok, "a\x01", false, false), "a|<unk>") == 0);
	veil_tokenizer_free(tok);
}

static veil_err build_merges(const char *const *m, size_t n)
{
	bpe_vocab v;
	veil_tokenizer *tok = NULL;

	bpe_vocab_init(&v, VEIL_TOK_PRE_GPT2);
	v.spec.merges = m;
	v.spec.n_merges = n;
	veil_err err = veil_tokenizer_new(&v.spec, &tok);
	veil_tokenizer_free(tok);
	return err;
}

TEST(bpe_refuses_bad_merges)
{
	static const char *const unknown_left[] = {"q qq"};
	static const char *const no_space[] = {"ll"};
	static const char *const leading_space[] = {" l"};
	static const char *const trailing_space[] = {"l "};
	static const char *const not_a_token[] = {"x z"};
	static const char *const repeated[] = {"y z", "x y", "y z"};
	static const char *const fine[] = {"l l"};

	EXPECT_OK(build_merges(fine, 1));
	EXPECT_ERR(build_merges(unknown_left, 1), VEIL_E_MALFORMED);
	EXPECT_ERR(build_merges(no_space, 1), VEIL_E_MALFORMED);
	EXPECT_ERR(build_merges(leading_space, 1), VEIL_E_MALFORMED);
	EXPECT_ERR(build_merges(trailing_space, 1), VEIL_E_MALFORMED);
	EXPECT_ERR(build_merges(not_a_token, 1), VEIL_E_MALFORMED);
	/* A repeated pair keeps its first rank. */
	EXPECT_OK(build_merges(repeated, 3));
	EXPECT_ERR(build_merges(fine, VEIL_TOKENIZER_MERGES_MAX + 1), VEIL_E_LIMIT);
}

int main(void)
{
	RUN(bpe_byte_mapping);
	RUN(bpe_merges_by_rank);
	RUN(bpe_ignore_merges);
	RUN(bpe_special_tokens);
	RUN(bpe_round_trips);
	RUN(bpe_detokenize_specials);
	RUN(bpe_missing_byte_character);
	RUN(bpe_refuses_bad_merges);
	return harness_finish("test_tokenizer_bpe");
}

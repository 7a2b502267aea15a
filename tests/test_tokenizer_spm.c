/*
 * test_tokenizer_spm.c - the SentencePiece-style tokenizer on vocabularies
 * built here, with tokenizations worked out by hand from the scores (see
 * each test's comment for the merge order), byte fallback, special
 * tokens, round trips, and the refusals of bad vocabularies and input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_tokenizer_util.h"
#include "veil/tokenizer.h"

/* A vocabulary for "hello world": merges in score order are ll, he, ▁he,
 * llo, ▁hello, ▁w, or, ▁wor, ld, ▁world. */
static const tt_entry hello_vocab[] = {
    {"▁", -10, 0},     {"h", -10, 0},  {"e", -10, 0},
    {"l", -10, 0},     {"o", -10, 0},  {"w", -10, 0},
    {"r", -10, 0},     {"d", -10, 0},  {"ll", -1, 0},
    {"he", -2, 0},     {"▁he", -3, 0}, {"llo", -4, 0},
    {"▁hello", -5, 0}, {"▁w", -6, 0},  {"or", -7, 0},
    {"▁wor", -8, 0},   {"ld", -9, 0},  {"▁world", -9.5f, 0},
    {"a", -10, 0},     {"aa", -1, 0},  {"[X]", 0, VEIL_TOKEN_USER_DEFINED},
};
#define HELLO_N (sizeof hello_vocab / sizeof *hello_vocab)

static veil_tokenizer *hello_tok(bool bytes)
{
	veil_tokenizer *tok = NULL;

	if (tt_spm(hello_vocab, HELLO_N, bytes, &tok) != VEIL_OK)
		return NULL;
	return tok;
}

TEST(spm_merges_by_score)
{
	veil_tokenizer *tok = hello_tok(true);
	REQUIRE(tok != NULL);
	/* The prefix space makes "hello" "▁hello". */
	EXPECT(strcmp(tt_tok(tok, "hello world", false, false), "▁hello|▁world") == 0);
	EXPECT(strcmp(tt_tok(tok, "hello world", true, false), "<s>|▁hello|▁world") == 0);
	/* "hell": ll, he, ▁he; "▁he"+"ll" is no token. */
	EXPECT(strcmp(tt_tok(tok, "hell", false, false), "▁he|ll") == 0);
	/* Equal scores: the leftmost pair first, so "aaa" is aa|a, not a|aa. */
	EXPECT(strcmp(tt_tok(tok, "aaa", false, false), "▁|aa|a") == 0);
	/* Spaces are '▁' and each run of them is its own symbol sequence. */
	EXPECT(strcmp(tt_tok(tok, "  hello", false, false), "▁|▁|▁hello") == 0);
	veil_tokenizer_free(tok);
}

TEST(spm_byte_fallback)
{
	veil_tokenizer *tok = hello_tok(true);
	REQUIRE(tok != NULL);
	/* é (C3 A9) and the newline are not in the vocabulary. */
	EXPECT(strcmp(tt_tok(tok, "hé\n", false, false), "▁|h|<0xC3>|<0xA9>|<0x0A>") == 0);
	/* A four-byte character: four byte tokens. */
	EXPECT(strcmp(tt_tok(tok, "\xF0\x9F\x8E\x89", false, false),
		      "▁|<0xF0>|<0x9F>|<0x8E>|<0x89>") == 0);
	veil_tokenizer_free(tok);

	/* Without byte tokens the unknown token stands in for each byte. */
	tok = hello_tok(false);
	REQUIRE(tok != NULL);
	EXPECT(strcmp(tt_tok(tok, "hé", false, false), "▁|h|<unk>") == 0);
	veil_tokenizer_free(tok);
}

TEST(spm_no_fallback_no_unknown)
{
	tt_vocab v;
	veil_tokenizer_spec spec;
	veil_tokenizer *tok = NULL;

	tt_spm_vocab(&v, hello_vocab, HELLO_N, false);
	veil_tokenizer_spec_init(&spec, VEIL_TOK_SPM);
	spec.n_tokens = v.n;
	spec.tokens = v.text;
	spec.scores = v.score;
	spec.types = v.type;
	spec.unk = VEIL_TOKEN_NONE;
	REQUIRE(veil_tokenizer_new(&spec, &tok) == VEIL_OK);
	EXPECT(strcmp(tt_tok(tok, "hello", false, false), "▁hello") == 0);
	EXPECT(strcmp(tt_tok(tok, "hé", false, false), "ERR unsupported format or version") == 0);
	veil_tokenizer_free(tok);
}

TEST(spm_special_tokens)
{
	veil_tokenizer *tok = hello_tok(true);
	REQUIRE(tok != NULL);
	/* Parsed: "</s>" is EOS, and text after a special token gets the
	 * prefix space again, as llama.cpp does. */
	EXPECT(strcmp(tt_tok(tok, "hello</s>world", false, true), "▁hello|</s>|▁world") == 0);
	/* Not parsed: the control token's text is plain text (bytes here). */
	EXPECT(strcmp(tt_tok(tok, "hello</s>world", false, false),
		      "▁hello|<0x3C>|<0x2F>|<0x73>|<0x3E>|w|or|ld") == 0);
	/* User-defined tokens are matched either way. */
	EXPECT(strcmp(tt_tok(tok, "a[X]a", false, false), "▁|a|[X]|▁|a") == 0);
	EXPECT(strcmp(tt_tok(tok, "<s>", true, true), "<s>|<s>") == 0);
	/* "<unk>" in text is the unknown token only when parsing specials. */
	EXPECT(strcmp(tt_tok(tok, "<unk>", false, true), "<unk>") == 0);
	veil_tokenizer_free(tok);
}

TEST(spm_control_text_never_merges)
{
	/* "<s" + ">" would join into the control token "<s>" if control
	 * tokens took part in merging (llama.cpp lets them): here they do not. */
	static const tt_entry e[] = {
	    {"<", -1, 0}, {"s", -1, 0}, {">", -1, 0}, {"<s", -1, 0}, {"▁", -1, 0},
	};
	veil_tokenizer *tok = NULL;
	REQUIRE(tt_spm(e, 5, true, &tok) == VEIL_OK);
	EXPECT(strcmp(tt_tok(tok, "<s>", false, false), "▁|<s|>") == 0);
	veil_tokenizer_free(tok);
}

TEST(spm_empty_text)
{
	veil_tokenizer *tok = hello_tok(true);
	int32_t *ids = NULL;
	size_t n = 99;

	REQUIRE(tok != NULL);
	EXPECT_OK(veil_tokenize(tok, "", 0, false, false, &ids, &n));
	EXPECT(n == 0 && ids != NULL);
	free(ids);
	EXPECT_OK(veil_tokenize(tok, NULL, 0, true, false, &ids, &n));
	EXPECT(n == 1 && ids[0] == veil_token_bos(tok));
	free(ids);
	veil_tokenizer_free(tok);
}

TEST(spm_round_trips)
{
	static const char *texts[] = {
	    "hello world",         "  hello  world  ", "hé\n\tx", "aaaa",
	    "\xF0\x9F\x8E\x89 ok", "Привет",           "x",       " ",
	};
	veil_tokenizer *tok = hello_tok(true);
	REQUIRE(tok != NULL);
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		EXPECT(tt_round_trip(tok, texts[i], strlen(texts[i]), true));
		EXPECT(tt_round_trip(tok, texts[i], strlen(texts[i]), false));
	}
	/* A NUL byte is text like any other (byte fallback <0x00>). */
	EXPECT(tt_round_trip(tok, "a\0b", 3, false));
	veil_tokenizer_free(tok);
}

TEST(spm_pieces)
{
	veil_tokenizer *tok = hello_tok(true);
	const uint8_t *p;
	size_t len;

	REQUIRE(tok != NULL);
	EXPECT_OK(veil_token_piece(tok, veil_token_find(tok, "▁hello", 8), false, &p, &len));
	EXPECT(len == 6 && memcmp(p, " hello", 6) == 0);
	EXPECT_OK(veil_token_piece(tok, veil_token_find(tok, "<0x0A>", 6), false, &p, &len));
	EXPECT(len == 1 && p[0] == '\n');
	/* Control tokens print only when asked. */
	EXPECT_OK(veil_token_piece(tok, 2, false, &p, &len));
	EXPECT(len == 0);
	EXPECT_OK(veil_token_piece(tok, 2, true, &p, &len));
	EXPECT(len == 4 && memcmp(p, "</s>", 4) == 0);
	EXPECT_ERR(veil_token_piece(tok, -1, false, &p, &len), VEIL_E_USAGE);
	EXPECT_ERR(veil_token_piece(tok, (int32_t)veil_tokenizer_n_tokens(tok), false, &p, &len),
		   VEIL_E_USAGE);
	/* End of generation: EOS only in this vocabulary. */
	EXPECT(veil_token_is_eog(tok, 2));
	EXPECT(!veil_token_is_eog(tok, 1));
	EXPECT(!veil_token_is_eog(tok, -5));
	EXPECT(!veil_token_is_eog(tok, 1 << 30));
	veil_tokenizer_free(tok);
}

TEST(spm_invalid_utf8_refused)
{
	static const char *bad[] = {
	    "\x80",             /* a lone continuation byte */
	    "a\xC3",            /* truncated two-byte character */
	    "\xE2\x82",         /* truncated three-byte character */
	    "\xC0\xAF",         /* overlong '/' */
	    "\xE0\x80\xAF",     /* overlong, three bytes */
	    "\xED\xA0\x80",     /* a surrogate */
	    "\xF4\x90\x80\x80", /* above U+10FFFF */
	    "\xF5\x80\x80\x80", /* never a lead byte */
	    "ok\xFF",
	};
	veil_tokenizer *tok = hello_tok(true);
	int32_t *ids = NULL;
	size_t n = 0;

	REQUIRE(tok != NULL);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		EXPECT_ERR(veil_tokenize(tok, bad[i], strlen(bad[i]), false, false, &ids, &n),
			   VEIL_E_MALFORMED);
		EXPECT(ids == NULL && n == 0);
	}
	/* The largest code point and the last before the surrogates pass. */
	EXPECT_OK(veil_tokenize(tok, "\xF4\x8F\xBF\xBF\xED\x9F\xBF", 7, false, false, &ids, &n));
	EXPECT(n == 8);
	free(ids);
	veil_tokenizer_free(tok);
}

TEST(spm_input_cap)
{
	veil_tokenizer *tok = hello_tok(true);
	size_t big = VEIL_TOKENIZE_INPUT_MAX + 1, ok = 256 * 1024;
	char *text = malloc(big);
	int32_t *ids;
	size_t n;

	REQUIRE(tok != NULL && text != NULL);
	memset(text, 'a', big);
	EXPECT_ERR(veil_tokenize(tok, text, big, false, false, &ids, &n), VEIL_E_LIMIT);
	/* A long text of one repeated pair: ▁ then aa|aa|... */
	EXPECT_OK(veil_tokenize(tok, text, ok, false, false, &ids, &n));
	EXPECT(n == 1 + ok / 2);
	free(ids);
	free(text);
	veil_tokenizer_free(tok);
}

/* A one-token-changed spec for the refusal tests. */
static veil_err build_with(void (*change)(tt_vocab *, veil_tokenizer_spec *))
{
	tt_vocab v;
	veil_tokenizer_spec spec;
	veil_tokenizer *tok = NULL;

	tt_spm_vocab(&v, hello_vocab, HELLO_N, true);
	veil_tokenizer_spec_init(&spec, VEIL_TOK_SPM);
	spec.n_tokens = v.n;
	spec.tokens = v.text;
	spec.scores = v.score;
	spec.types = v.type;
	change(&v, &spec);
	veil_err err = veil_tokenizer_new(&spec, &tok);
	veil_tokenizer_free(tok);
	return err;
}

static void no_change(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)v;
	(void)s;
}
static void empty_vocab(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)v;
	s->n_tokens = 0;
}
static void duplicate(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)s;
	v->text[v->n - 1] = "ll";
}
static void empty_text(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)s;
	v->text[v->n - 1] = "";
}
static void bad_type(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)s;
	v->type[5] = 7;
}
static void bos_out_of_range(tt_vocab *v, veil_tokenizer_spec *s)
{
	s->bos = (int32_t)v->n;
}
static void no_bos_but_add(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)v;
	s->bos = VEIL_TOKEN_NONE;
}
static void nan_score(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)s;
	v->score[4] = NAN;
}
static void byte_not_hex(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)s;
	v->text[3] = "<0xG0>";
}
static void too_many(tt_vocab *v, veil_tokenizer_spec *s)
{
	(void)v;
	s->n_tokens = VEIL_TOKENIZER_VOCAB_MAX + 1;
}
static size_t long_lens[TT_MAX_TOKENS];
static void too_long(tt_vocab *v, veil_tokenizer_spec *s)
{
	static char text[VEIL_TOKEN_TEXT_MAX + 2];
	memset(text, 'q', sizeof text - 1);
	for (size_t i = 0; i < v->n; i++)
		long_lens[i] = strlen(v->text[i]);
	v->text[v->n - 1] = text;
	long_lens[v->n - 1] = VEIL_TOKEN_TEXT_MAX + 1;
	s->token_lens = long_lens;
}

TEST(spm_refuses_bad_vocabularies)
{
	EXPECT_OK(build_with(no_change));
	EXPECT_ERR(build_with(empty_vocab), VEIL_E_MALFORMED);
	EXPECT_ERR(build_with(duplicate), VEIL_E_MALFORMED);
	EXPECT_ERR(build_with(empty_text), VEIL_E_MALFORMED);
	EXPECT_ERR(build_with(bad_type), VEIL_E_MALFORMED);
	EXPECT_ERR(build_with(bos_out_of_range), VEIL_E_MALFORMED);
	EXPECT_ERR(build_with(no_bos_but_add), VEIL_E_MALFORMED);
	EXPECT_ERR(build_with(nan_score), VEIL_E_MALFORMED);
	EXPECT_ERR(build_with(byte_not_hex), VEIL_E_MALFORMED);
	EXPECT_ERR(build_with(too_many), VEIL_E_LIMIT);
	EXPECT_ERR(build_with(too_long), VEIL_E_LIMIT);
}

TEST(spm_no_prefix_space)
{
	tt_vocab v;
	veil_tokenizer_spec spec;
	veil_tokenizer *tok = NULL;

	tt_spm_vocab(&v, hello_vocab, HELLO_N, true);
	veil_tokenizer_spec_init(&spec, VEIL_TOK_SPM);
	spec.n_tokens = v.n;
	spec.tokens = v.text;
	spec.scores = v.score;
	spec.types = v.type;
	spec.add_space_prefix = false;
	REQUIRE(veil_tokenizer_new(&spec, &tok) == VEIL_OK);
	/* No '▁' in front: "hello" is h|e|l|l|o merged to he|llo. */
	EXPECT(strcmp(tt_tok(tok, "hello world", false, false), "he|llo|▁world") == 0);
	EXPECT(tt_round_trip(tok, " x y", 4, true));
	veil_tokenizer_free(tok);
}

int main(void)
{
	RUN(spm_merges_by_score);
	RUN(spm_byte_fallback);
	RUN(spm_no_fallback_no_unknown);
	RUN(spm_special_tokens);
	RUN(spm_control_text_never_merges);
	RUN(spm_empty_text);
	RUN(spm_round_trips);
	RUN(spm_pieces);
	RUN(spm_invalid_utf8_refused);
	RUN(spm_input_cap);
	RUN(spm_refuses_bad_vocabularies);
	RUN(spm_no_prefix_space);
	return harness_finish("test_tokenizer_spm");
}

/*
 * test_tokenizer_gguf.c - tokenizers and chat templates read from GGUF
 * metadata (files written in memory with the GGUF tests' writer): the
 * same vocabulary gives the same tokens as through the plain-array path,
 * llama.cpp's defaults apply where keys are absent, and malformed or
 * unsupported tokenizer keys are refused by name.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_gguf_util.h"
#include "test_tokenizer_util.h"
#include "veil/gguf.h"
#include "veil/tokenizer.h"

static const tt_entry words[] = {
    {"▁", -10, 0},
    {"h", -10, 0},
    {"e", -10, 0},
    {"l", -10, 0},
    {"o", -10, 0},
    {"ll", -1, 0},
    {"he", -2, 0},
    {"▁he", -3, 0},
    {"llo", -4, 0},
    {"▁hello", -5, 0},
    {"<|eos|>", 0, VEIL_TOKEN_CONTROL},
};
#define N_WORDS (sizeof words / sizeof *words)

/* Which keys an SPM file gets; tests switch parts off or spoil them. */
typedef struct spm_opts {
	bool no_model, no_tokens, no_scores, no_types;
	const char *model;
	bool tokens_as_u32;
	size_t scores_count_delta;
	int32_t bad_type;
	bool bos_key;
	uint32_t bos;
	bool add_bos_key, add_bos;
	const char *template;
	uint32_t eos;
} spm_opts;

static veil_err spm_file(const spm_opts *o, veil_tokenizer **tok, veil_chat_template *t)
{
	tt_vocab v;
	gg_file f;
	size_t len = 0;
	veil_gguf *g = NULL;
	veil_err err;

	tt_spm_vocab(&v, words, N_WORDS, true);
	gg_init(&f);
	gg_str(&f, "general.architecture", "llama");
	if (!o->no_model)
		gg_str(&f, "tokenizer.ggml.model", o->model ? o->model : "llama");
	if (!o->no_tokens) {
		gg_arr(&f, "tokenizer.ggml.tokens",
		       o->tokens_as_u32 ? VEIL_GGUF_UINT32 : VEIL_GGUF_STRING, v.n);
		for (size_t i = 0; i < v.n; i++) {
			if (o->tokens_as_u32)
				gg_raw_u32(&f, (uint32_t)i);
			else
				gg_raw_str(&f, v.text[i], strlen(v.text[i]));
		}
	}
	if (!o->no_scores) {
		gg_arr(&f, "tokenizer.ggml.scores", VEIL_GGUF_FLOAT32, v.n + o->scores_count_delta);
		for (size_t i = 0; i < v.n + o->scores_count_delta; i++)
			gg_raw_u32(&f, gg_f32_bits(i < v.n ? v.score[i] : 0));
	}
	if (!o->no_types) {
		gg_arr(&f, "tokenizer.ggml.token_type", VEIL_GGUF_INT32, v.n);
		for (size_t i = 0; i < v.n; i++)
			gg_raw_u32(&f, (uint32_t)(i == 7 && o->bad_type ? o->bad_type : v.type[i]));
	}
	if (o->bos_key)
		gg_u32(&f, "tokenizer.ggml.bos_token_id", o->bos);
	if (o->eos)
		gg_u32(&f, "tokenizer.ggml.eos_token_id", o->eos);
	if (o->add_bos_key)
		gg_bool(&f, "tokenizer.ggml.add_bos_token", o->add_bos);
	if (o->template)
		gg_str(&f, "tokenizer.chat_template", o->template);
	uint8_t *buf = gg_build(&f, &len);
	gg_clear(&f);
	if (buf == NULL)
		return VEIL_E_NOMEM;
	err = veil_gguf_open(buf, len, &g);
	if (err == VEIL_OK)
		err = veil_tokenizer_from_gguf(g, tok);
	if (err == VEIL_OK && t != NULL)
		err = veil_chat_template_from_gguf(g, t);
	veil_gguf_free(g);
	free(buf);
	return err;
}

static veil_err spm_err(const spm_opts *o)
{
	veil_tokenizer *tok = NULL;
	veil_err err = spm_file(o, &tok, NULL);
	veil_tokenizer_free(tok);
	return err;
}

TEST(gguf_spm_matches_spec_path)
{
	spm_opts o = {0};
	veil_tokenizer *a = NULL, *b = NULL;
	veil_chat_template t;

	/* EOS is <|eos|>, the last token; the template writes eos_token. */
	o.eos = (uint32_t)(3 + 256 + N_WORDS - 1);
	o.template = "{{ '<|user|>\\n' + message['content'] + eos_token }}";
	REQUIRE(spm_file(&o, &a, &t) == VEIL_OK);
	REQUIRE(tt_spm(words, N_WORDS, true, &b) == VEIL_OK);
	const char *texts[] = {"hello", "hello hello", "hé!", "<s>x"};
	for (size_t i = 0; i < 4; i++) {
		char want[512];
		snprintf(want, sizeof want, "%s", tt_tok(b, texts[i], true, true));
		EXPECT(strcmp(tt_tok(a, texts[i], true, true), want) == 0);
	}
	/* llama.cpp's SPM defaults: BOS 1 added, unknown 0. */
	EXPECT(strcmp(tt_tok(a, "hello", true, false), "<s>|▁hello") == 0);
	EXPECT(veil_token_bos(a) == 1);
	EXPECT(veil_token_eos(a) == (int32_t)o.eos);
	EXPECT(veil_token_is_eog(a, (int32_t)o.eos));
	/* Zephyr, ended by the EOS token's text. */
	EXPECT(t.family == VEIL_CHAT_ZEPHYR && strcmp(t.zephyr_end, "<|eos|>") == 0);
	veil_tokenizer_free(a);
	veil_tokenizer_free(b);
}

TEST(gguf_spm_defaults_and_overrides)
{
	spm_opts o = {0};
	veil_tokenizer *tok = NULL;
	veil_chat_template t;

	/* No scores, no types: all normal with score 0 (merges leftmost
	 * first), and no chat template: the ChatML fallback. */
	o.no_scores = true;
	o.no_types = true;
	REQUIRE(spm_file(&o, &tok, &t) == VEIL_OK);
	EXPECT(t.family == VEIL_CHAT_CHATML && t.fallback);
	EXPECT(veil_token_get_type(tok, 1) == VEIL_TOKEN_NORMAL);
	veil_tokenizer_free(tok);
	tok = NULL;

	/* add_bos_token false; a BOS id out of range keeps the default. */
	memset(&o, 0, sizeof o);
	o.add_bos_key = true;
	o.add_bos = false;
	o.bos_key = true;
	o.bos = 100000;
	REQUIRE(spm_file(&o, &tok, NULL) == VEIL_OK);
	EXPECT(veil_token_bos(tok) == 1 && !veil_tokenizer_add_bos(tok));
	EXPECT(strcmp(tt_tok(tok, "hello", true, false), "▁hello") == 0);
	veil_tokenizer_free(tok);
}

TEST(gguf_spm_refusals)
{
	spm_opts o;

	memset(&o, 0, sizeof o);
	o.no_model = true;
	EXPECT_ERR(spm_err(&o), VEIL_E_MALFORMED);
	memset(&o, 0, sizeof o);
	o.model = "bert";
	EXPECT_ERR(spm_err(&o), VEIL_E_UNSUPPORTED);
	memset(&o, 0, sizeof o);
	o.no_tokens = true;
	EXPECT_ERR(spm_err(&o), VEIL_E_MALFORMED);
	memset(&o, 0, sizeof o);
	o.tokens_as_u32 = true;
	EXPECT_ERR(spm_err(&o), VEIL_E_MALFORMED);
	memset(&o, 0, sizeof o);
	o.scores_count_delta = 1;
	EXPECT_ERR(spm_err(&o), VEIL_E_MALFORMED);
	memset(&o, 0, sizeof o);
	o.bad_type = 9;
	EXPECT_ERR(spm_err(&o), VEIL_E_MALFORMED);
	memset(&o, 0, sizeof o);
	EXPECT_OK(spm_err(&o));
}

/* A small Llama 3 or Qwen2 style BPE file. */
typedef struct bpe_opts {
	const char *pre;
	bool no_merges, add_bos_key, add_bos, no_bos;
	const char *template;
} bpe_opts;

static veil_err bpe_file(const bpe_opts *o, veil_tokenizer **tok, veil_chat_template *t)
{
	static const char *const extra[] = {"he",        "ll", "hell", "hello", "<|begin_of_text|>",
					    "<|eot_id|>"};
	static const char *const merges[] = {"h e", "l l", "he ll", "hell o"};
	char base[256][4];
	gg_file f;
	size_t len = 0;
	veil_gguf *g = NULL;
	veil_err err;

	gg_init(&f);
	gg_str(&f, "tokenizer.ggml.model", "gpt2");
	if (o->pre)
		gg_str(&f, "tokenizer.ggml.pre", o->pre);
	gg_arr(&f, "tokenizer.ggml.tokens", VEIL_GGUF_STRING, 256 + 6);
	for (unsigned b = 0; b < 256; b++) {
		uint32_t cp = b;
		bool prints = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
		if (!prints)
			cp = b <= 0x20 ? 0x100 + b : b <= 0xA0 ? 0x121 + (b - 0x7F) : 0x143;
		size_t n = cp < 0x80 ? 1 : 2;
		if (n == 1) {
			base[b][0] = (char)cp;
		} else {
			base[b][0] = (char)(0xC0 | (cp >> 6));
			base[b][1] = (char)(0x80 | (cp & 0x3F));
		}
		gg_raw_str(&f, base[b], n);
	}
	for (size_t i = 0; i < 6; i++)
		gg_raw_str(&f, extra[i], strlen(extra[i]));
	gg_arr(&f, "tokenizer.ggml.token_type", VEIL_GGUF_INT32, 256 + 6);
	for (size_t i = 0; i < 256 + 6; i++)
		gg_raw_u32(&f, i >= 256 + 4 ? VEIL_TOKEN_CONTROL : VEIL_TOKEN_NORMAL);
	if (!o->no_merges) {
		gg_arr(&f, "tokenizer.ggml.merges", VEIL_GGUF_STRING, 4);
		for (size_t i = 0; i < 4; i++)
			gg_raw_str(&f, merges[i], strlen(merges[i]));
	}
	if (!o->no_bos)
		gg_u32(&f, "tokenizer.ggml.bos_token_id", 256 + 4);
	gg_u32(&f, "tokenizer.ggml.eos_token_id", 256 + 5);
	if (o->add_bos_key)
		gg_bool(&f, "tokenizer.ggml.add_bos_token", o->add_bos);
	if (o->template)
		gg_str(&f, "tokenizer.chat_template", o->template);
	uint8_t *buf = gg_build(&f, &len);
	gg_clear(&f);
	if (buf == NULL)
		return VEIL_E_NOMEM;
	err = veil_gguf_open(buf, len, &g);
	if (err == VEIL_OK)
		err = veil_tokenizer_from_gguf(g, tok);
	if (err == VEIL_OK && t != NULL)
		err = veil_chat_template_from_gguf(g, t);
	veil_gguf_free(g);
	free(buf);
	return err;
}

static veil_err bpe_err(const bpe_opts *o)
{
	veil_tokenizer *tok = NULL;
	veil_err err = bpe_file(o, &tok, NULL);
	veil_tokenizer_free(tok);
	return err;
}

TEST(gguf_bpe_llama3)
{
	bpe_opts o = {
	    "llama-bpe", false,
	    false,       false,
	    false,       "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}"};
	veil_tokenizer *tok = NULL;
	veil_chat_template t;

	REQUIRE(bpe_file(&o, &tok, &t) == VEIL_OK);
	/* Llama 3 adds BOS by default; " " before digits is a word of its own. */
	EXPECT(strcmp(tt_tok(tok, "hello 12345", true, false),
		      "<|begin_of_text|>|hello|Ġ|1|2|3|4|5") == 0);
	EXPECT(strcmp(tt_tok(tok, "<|eot_id|>", false, true), "<|eot_id|>") == 0);
	EXPECT(veil_token_eot(tok) == 256 + 5 && veil_token_is_eog(tok, 256 + 5));
	EXPECT(t.family == VEIL_CHAT_LLAMA3);
	veil_tokenizer_free(tok);
}

TEST(gguf_bpe_qwen2_and_refusals)
{
	bpe_opts o = {"qwen2", false, true, false, false, NULL};
	veil_tokenizer *tok = NULL;

	REQUIRE(bpe_file(&o, &tok, NULL) == VEIL_OK);
	EXPECT(strcmp(tt_tok(tok, "hello", true, false), "hello") == 0);
	veil_tokenizer_free(tok);

	/* No pre key: llama.cpp's "default", here the GPT-2 pattern. */
	o = (bpe_opts){NULL, false, false, false, false, NULL};
	EXPECT_OK(bpe_err(&o));
	/* A gpt2 vocabulary needs merges. */
	o = (bpe_opts){"qwen2", true, false, false, false, NULL};
	EXPECT_ERR(bpe_err(&o), VEIL_E_MALFORMED);
	/* Pre-tokenizers Veil does not implement are named. */
	o = (bpe_opts){"tekken", false, false, false, false, NULL};
	EXPECT_ERR(bpe_err(&o), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(), "tekken") != NULL);
	/* Llama 3 without a BOS id: the default add_bos is dropped ... */
	o = (bpe_opts){"llama3", false, false, false, true, NULL};
	EXPECT_OK(bpe_err(&o));
	/* ... an explicit one is refused. */
	o = (bpe_opts){"llama3", false, true, true, true, NULL};
	EXPECT_ERR(bpe_err(&o), VEIL_E_MALFORMED);
}

TEST(gguf_chat_template_cap)
{
	bpe_opts o = {"qwen2", false, false, false, false, NULL};
	char *big = malloc(VEIL_CHAT_TEMPLATE_MAX + 2);
	veil_tokenizer *tok = NULL;
	veil_chat_template t;

	REQUIRE(big != NULL);
	memset(big, 'x', VEIL_CHAT_TEMPLATE_MAX + 1);
	big[VEIL_CHAT_TEMPLATE_MAX + 1] = 0;
	o.template = big;
	EXPECT_ERR(bpe_file(&o, &tok, &t), VEIL_E_LIMIT);
	veil_tokenizer_free(tok);
	free(big);
}

int main(void)
{
	RUN(gguf_spm_matches_spec_path);
	RUN(gguf_spm_defaults_and_overrides);
	RUN(gguf_spm_refusals);
	RUN(gguf_bpe_llama3);
	RUN(gguf_bpe_qwen2_and_refusals);
	RUN(gguf_chat_template_cap);
	return harness_finish("test_tokenizer_gguf");
}

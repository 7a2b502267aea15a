/*
 * gguf_vocab.c - a tokenizer from a GGUF file's tokenizer.ggml.* keys,
 * read as llama.cpp's llama_vocab::impl::load reads them.
 *
 * The keys become a veil_tokenizer_spec (pointing into the parsed file,
 * which outlives this call) and go through veil_tokenizer_new, so a file
 * is held to the same checks as any vocabulary. Defaults follow llama.cpp:
 * "llama" vocabs have BOS 1, EOS 2, unknown 0, add BOS and a space prefix;
 * "gpt2" vocabs add BOS only for the Llama 3 pre-tokenizer. Where llama.cpp
 * differs from what is done here (docs/tokenizer.md), the comment says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

/* tokenizer.ggml.pre names (llama.cpp's list) and what they mean here. */
typedef struct pre_name {
	const char *name;
	veil_tok_pre pre;
	bool ignore_merges_add_bos; /* llama.cpp sets both for the Llama 3 family */
} pre_name;

static const pre_name pre_names[] = {
    {"default", VEIL_TOK_PRE_GPT2, false},      {"gpt-2", VEIL_TOK_PRE_GPT2, false},
    {"phi-2", VEIL_TOK_PRE_GPT2, false},        {"roberta-bpe", VEIL_TOK_PRE_GPT2, false},
    {"gigachat", VEIL_TOK_PRE_GPT2, false},     {"jina-es", VEIL_TOK_PRE_GPT2, false},
    {"jina-de", VEIL_TOK_PRE_GPT2, false},      {"jina-v1-en", VEIL_TOK_PRE_GPT2, false},
    {"jina-v2-es", VEIL_TOK_PRE_GPT2, false},   {"jina-v2-de", VEIL_TOK_PRE_GPT2, false},
    {"jina-v2-code", VEIL_TOK_PRE_GPT2, false}, {"mpt", VEIL_TOK_PRE_GPT2, false},
    {"olmo", VEIL_TOK_PRE_GPT2, false},         {"jais", VEIL_TOK_PRE_GPT2, false},
    {"llama3", VEIL_TOK_PRE_LLAMA3, true},      {"llama-v3", VEIL_TOK_PRE_LLAMA3, true},
    {"llama-bpe", VEIL_TOK_PRE_LLAMA3, true},   {"falcon3", VEIL_TOK_PRE_LLAMA3, true},
    {"dbrx", VEIL_TOK_PRE_LLAMA3, false},       {"smaug-bpe", VEIL_TOK_PRE_LLAMA3, false},
    {"qwen2", VEIL_TOK_PRE_QWEN2, false},       {"stablelm2", VEIL_TOK_PRE_QWEN2, false},
    {"megrez", VEIL_TOK_PRE_QWEN2, false},      {"smollm", VEIL_TOK_PRE_SMOLLM, false},
    {"starcoder", VEIL_TOK_PRE_SMOLLM, false},  {"refact", VEIL_TOK_PRE_SMOLLM, false},
    {"command-r", VEIL_TOK_PRE_SMOLLM, false},  {"codeshell", VEIL_TOK_PRE_SMOLLM, false},
    {"exaone", VEIL_TOK_PRE_SMOLLM, false},     {"minerva-7b", VEIL_TOK_PRE_SMOLLM, false},
};

typedef struct gguf_arrays {
	const char **tokens;
	size_t *token_lens;
	float *scores;
	int32_t *types;
	const char **merges;
	size_t *merge_lens;
} gguf_arrays;

static void arrays_free(gguf_arrays *a)
{
	free(a->tokens);
	free(a->token_lens);
	free(a->scores);
	free(a->types);
	free(a->merges);
	free(a->merge_lens);
}

static veil_err read_kind(const veil_gguf *g, veil_tokenizer_spec *spec)
{
	const char *model;
	size_t len;
	veil_err err = veil_gguf_get_string(g, "tokenizer.ggml.model", &model, &len);

	if (err == VEIL_E_NOT_FOUND)
		return veil_fail(VEIL_E_MALFORMED, "the model has no tokenizer.ggml.model");
	TRY(err);
	if (len == 5 && memcmp(model, "llama", 5) == 0) {
		veil_tokenizer_spec_init(spec, VEIL_TOK_SPM);
		return VEIL_OK;
	}
	if (len == 4 && memcmp(model, "gpt2", 4) == 0) {
		veil_tokenizer_spec_init(spec, VEIL_TOK_BPE);
		return VEIL_OK;
	}
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)(len < 48 ? len : 48), model);
	veil_text_sanitize(name);
	return veil_fail(VEIL_E_UNSUPPORTED,
			 "tokenizer.ggml.model \"%s\" is not supported (only \"llama\" and "
			 "\"gpt2\")",
			 name);
}

static veil_err read_pre(const veil_gguf *g, veil_tokenizer_spec *spec)
{
	const char *pre;
	size_t len;
	veil_err err = veil_gguf_get_string(g, "tokenizer.ggml.pre", &pre, &len);

	if (err == VEIL_E_NOT_FOUND)
		return VEIL_OK; /* llama.cpp: "default", with a warning */
	TRY(err);
	for (size_t i = 0; i < sizeof pre_names / sizeof *pre_names; i++) {
		if (strlen(pre_names[i].name) != len || memcmp(pre_names[i].name, pre, len) != 0)
			continue;
		spec->pre = pre_names[i].pre;
		spec->ignore_merges = pre_names[i].ignore_merges_add_bos;
		spec->add_bos = pre_names[i].ignore_merges_add_bos;
		return VEIL_OK;
	}
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)(len < 48 ? len : 48), pre);
	veil_text_sanitize(name);
	return veil_fail(VEIL_E_UNSUPPORTED,
			 "pre-tokenizer \"%s\" (tokenizer.ggml.pre) is not supported", name);
}

/* An array of count strings, or VEIL_E_NOT_FOUND. */
static veil_err read_strings(const veil_gguf *g, const char *key, const char ***s, size_t **lens,
			     size_t *count, size_t max)
{
	veil_gguf_type elem;

	TRY(veil_gguf_get_array(g, key, &elem, count));
	ENSURE(elem == VEIL_GGUF_STRING, VEIL_E_MALFORMED, "%s is not an array of strings", key);
	ENSURE(*count <= max, VEIL_E_LIMIT, "%s has %zu entries, over the limit of %zu", key,
	       *count, max);
	*s = malloc((*count ? *count : 1) * sizeof **s);
	*lens = malloc((*count ? *count : 1) * sizeof **lens);
	ENSURE(*s != NULL && *lens != NULL, VEIL_E_NOMEM, "out of memory reading %s", key);
	for (size_t i = 0; i < *count; i++)
		TRY(veil_gguf_array_string(g, key, i, &(*s)[i], &(*lens)[i]));
	return VEIL_OK;
}

static veil_err read_scores_types(const veil_gguf *g, size_t n, gguf_arrays *a)
{
	veil_gguf_type elem;
	size_t count;
	veil_err err = veil_gguf_get_array(g, "tokenizer.ggml.scores", &elem, &count);

	if (err != VEIL_E_NOT_FOUND) {
		TRY(err);
		/* llama.cpp reads n entries without checking the count. */
		ENSURE(count == n, VEIL_E_MALFORMED,
		       "tokenizer.ggml.scores has %zu entries for %zu tokens", count, n);
		a->scores = malloc(n * sizeof *a->scores);
		ENSURE(a->scores != NULL, VEIL_E_NOMEM, "out of memory for scores");
		for (size_t i = 0; i < n; i++) {
			double v;
			TRY(veil_gguf_array_f64(g, "tokenizer.ggml.scores", i, &v));
			a->scores[i] = (float)v;
		}
	}
	err = veil_gguf_get_array(g, "tokenizer.ggml.token_type", &elem, &count);
	if (err != VEIL_E_NOT_FOUND) {
		TRY(err);
		ENSURE(count == n, VEIL_E_MALFORMED,
		       "tokenizer.ggml.token_type has %zu entries for %zu tokens", count, n);
		a->types = malloc(n * sizeof *a->types);
		ENSURE(a->types != NULL, VEIL_E_NOMEM, "out of memory for token types");
		for (size_t i = 0; i < n; i++) {
			int64_t v;
			TRY(veil_gguf_array_i64(g, "tokenizer.ggml.token_type", i, &v));
			ENSURE(v >= VEIL_TOKEN_UNDEFINED && v <= VEIL_TOKEN_BYTE, VEIL_E_MALFORMED,
			       "tokenizer.ggml.token_type[%zu] is %lld, not one of 0..6", i,
			       (long long)v);
			a->types[i] = (int32_t)v;
		}
	}
	return VEIL_OK;
}

/* A special id key: absent keeps the default. Out of range is ignored as
 * llama.cpp ignores it ("bad special token ... using default id"). */
static veil_err read_id(const veil_gguf *g, const char *key, size_t n, int32_t *id)
{
	int64_t v;
	veil_err err = veil_gguf_get_i64(g, key, &v);

	if (err == VEIL_E_NOT_FOUND)
		return VEIL_OK;
	TRY(err);
	if (v >= 0 && (uint64_t)v < n)
		*id = (int32_t)v;
	return VEIL_OK;
}

static veil_err read_flag(const veil_gguf *g, const char *key, bool *flag)
{
	bool v;
	veil_err err = veil_gguf_get_bool(g, key, &v);

	if (err == VEIL_E_NOT_FOUND)
		return VEIL_OK;
	TRY(err);
	*flag = v;
	return VEIL_OK;
}

veil_err veil_tokenizer_from_gguf(const veil_gguf *g, veil_tokenizer **out)
{
	veil_tokenizer_spec spec;
	gguf_arrays a;
	size_t n;
	veil_err err;

	ENSURE(g != NULL && out != NULL, VEIL_E_USAGE,
	       "veil_tokenizer_from_gguf: missing argument");
	*out = NULL;
	memset(&a, 0, sizeof a);
	CHECK(read_kind(g, &spec));
	if (spec.kind == VEIL_TOK_BPE)
		CHECK(read_pre(g, &spec));
	err = read_strings(g, "tokenizer.ggml.tokens", &a.tokens, &a.token_lens, &n,
			   VEIL_TOKENIZER_VOCAB_MAX);
	CHECK_THAT(err != VEIL_E_NOT_FOUND, VEIL_E_MALFORMED,
		   "the model has no tokenizer.ggml.tokens");
	CHECK(err);
	CHECK(read_scores_types(g, n, &a));
	if (spec.kind == VEIL_TOK_BPE) {
		err = read_strings(g, "tokenizer.ggml.merges", &a.merges, &a.merge_lens,
				   &spec.n_merges, VEIL_TOKENIZER_MERGES_MAX);
		CHECK_THAT(err != VEIL_E_NOT_FOUND, VEIL_E_MALFORMED,
			   "a gpt2 tokenizer without tokenizer.ggml.merges");
		CHECK(err);
	}
	spec.n_tokens = n;
	spec.tokens = a.tokens;
	spec.token_lens = a.token_lens;
	spec.scores = a.scores;
	spec.types = a.types;
	spec.merges = a.merges;
	spec.merge_lens = a.merge_lens;
	/* Defaults out of range (a vocabulary of one or two tokens) are none. */
	int32_t *ids[] = {&spec.bos, &spec.eos, &spec.eot, &spec.unk, &spec.pad};
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		if (*ids[i] >= 0 && (size_t)*ids[i] >= n)
			*ids[i] = VEIL_TOKEN_NONE;
	CHECK(read_id(g, "tokenizer.ggml.bos_token_id", n, &spec.bos));
	CHECK(read_id(g, "tokenizer.ggml.eos_token_id", n, &spec.eos));
	CHECK(read_id(g, "tokenizer.ggml.eot_token_id", n, &spec.eot));
	CHECK(read_id(g, "tokenizer.ggml.unknown_token_id", n, &spec.unk));
	CHECK(read_id(g, "tokenizer.ggml.padding_token_id", n, &spec.pad));
	bool explicit_bos = veil_gguf_has(g, "tokenizer.ggml.add_bos_token");
	CHECK(read_flag(g, "tokenizer.ggml.add_bos_token", &spec.add_bos));
	CHECK(read_flag(g, "tokenizer.ggml.add_eos_token", &spec.add_eos));
	CHECK(read_flag(g, "tokenizer.ggml.add_space_prefix", &spec.add_space_prefix));
	/* A default add_bos with no BOS id (llama.cpp would add its default
	 * id 11 for gpt2 vocabs) is dropped; an explicit one is kept and
	 * refused by veil_tokenizer_new. */
	if (!explicit_bos && spec.bos < 0)
		spec.add_bos = false;
	CHECK(veil_tokenizer_new(&spec, out));
out:
	arrays_free(&a);
	return err;
}

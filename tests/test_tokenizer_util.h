/*
 * test_tokenizer_util.h - small vocabularies for the tokenizer tests, and
 * a way to compare tokenizations by the texts of their tokens
 * ("▁hello|▁world") so that expected results read as what they mean.
 */
#ifndef VEIL_TEST_TOKENIZER_UTIL_H
#define VEIL_TEST_TOKENIZER_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil/secret.h"
#include "veil/tokenizer.h"

typedef struct tt_entry {
	const char *text;
	float score;
	int32_t type;
} tt_entry;

#define TT_MAX_TOKENS 1024

/* Token texts live here while a spec is being built. */
typedef struct tt_vocab {
	const char *text[TT_MAX_TOKENS];
	char bytes[256][8];
	float score[TT_MAX_TOKENS];
	int32_t type[TT_MAX_TOKENS];
	size_t n;
} tt_vocab;

static inline void tt_add(tt_vocab *v, const char *text, float score, int32_t type)
{
	v->text[v->n] = text;
	v->score[v->n] = score;
	v->type[v->n] = type;
	v->n++;
}

/* SPM: <unk> 0, <s> 1, </s> 2, then (with bytes) <0x00>..<0xFF> as ids
 * 3..258, then the entries. */
static inline void tt_spm_vocab(tt_vocab *v, const tt_entry *e, size_t n, bool bytes)
{
	memset(v, 0, sizeof *v);
	tt_add(v, "<unk>", 0, VEIL_TOKEN_UNKNOWN);
	tt_add(v, "<s>", 0, VEIL_TOKEN_CONTROL);
	tt_add(v, "</s>", 0, VEIL_TOKEN_CONTROL);
	for (unsigned b = 0; bytes && b < 256; b++) {
		snprintf(v->bytes[b], sizeof v->bytes[b], "<0x%02X>", b);
		tt_add(v, v->bytes[b], 0, VEIL_TOKEN_BYTE);
	}
	for (size_t i = 0; i < n; i++)
		tt_add(v, e[i].text, e[i].score, e[i].type ? e[i].type : VEIL_TOKEN_NORMAL);
}

static inline veil_err tt_spm(const tt_entry *e, size_t n, bool bytes, veil_tokenizer **tok)
{
	tt_vocab v;
	veil_tokenizer_spec spec;

	tt_spm_vocab(&v, e, n, bytes);
	veil_tokenizer_spec_init(&spec, VEIL_TOK_SPM);
	spec.n_tokens = v.n;
	spec.tokens = v.text;
	spec.scores = v.score;
	spec.types = v.type;
	return veil_tokenizer_new(&spec, tok);
}

/* The texts of ids joined by '|' (static buffer); "#n" for an id out of
 * range. */
static inline const char *tt_join(const veil_tokenizer *tok, const int32_t *ids, size_t n)
{
	static char buf[4096];
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		const char *t;
		size_t len;
		char tmp[64];
		if (veil_token_text(tok, ids[i], &t, &len) != VEIL_OK) {
			snprintf(tmp, sizeof tmp, "#%d", (int)ids[i]);
			t = tmp;
			len = strlen(tmp);
		}
		if (used + len + 2 >= sizeof buf)
			break;
		if (i > 0)
			buf[used++] = '|';
		memcpy(buf + used, t, len);
		used += len;
		buf[used] = 0;
	}
	return buf;
}

/* Tokenizes text and returns the joined texts, or "ERR <name>". */
static inline const char *tt_tok(const veil_tokenizer *tok, const char *text, bool add_special,
				 bool parse_special)
{
	static char err[64];
	int32_t *ids;
	size_t n;
	veil_err e = veil_tokenize(tok, text, strlen(text), add_special, parse_special, &ids, &n);

	if (e != VEIL_OK) {
		snprintf(err, sizeof err, "ERR %s", veil_err_str(e));
		return err;
	}
	const char *s = tt_join(tok, ids, n);
	veil_free_secret(ids, n * sizeof *ids);
	return s;
}

/* text -> ids -> text gives text back. */
static inline bool tt_round_trip(const veil_tokenizer *tok, const char *text, size_t len,
				 bool add_special)
{
	int32_t *ids;
	size_t n;
	char *back;
	size_t blen;
	bool ok;

	if (veil_tokenize(tok, text, len, add_special, false, &ids, &n) != VEIL_OK)
		return false;
	if (veil_detokenize(tok, ids, n, false, &back, &blen) != VEIL_OK) {
		free(ids);
		return false;
	}
	ok = blen == len && memcmp(back, text, len) == 0;
	if (!ok)
		fprintf(stderr, "    round trip of \"%.*s\" gave \"%s\" (%s)\n", (int)len, text,
			back, tt_join(tok, ids, n));
	free(ids);
	free(back);
	return ok;
}

#endif

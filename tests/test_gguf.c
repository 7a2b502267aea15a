/*
 * test_gguf.c - the GGUF reader on files it must accept: every metadata
 * value type, both integer widths real files use, arrays (a 150k-token
 * vocabulary among them), alignments 32 and 64, tensors of every type the
 * reader knows with their sizes stated here from ggml's block formats, and
 * the layouts writers produce (with or without the final padding, tensors
 * out of order, files without tensors). The files are built by the writer
 * in test_gguf_util.h; test_gguf_negative.c has the files it must refuse.
 *
 * Run with --write-seeds DIR to write the fuzz seeds (fuzz/seeds/fuzz_gguf).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_gguf_util.h"
#include "veil/gguf.h"

/* Builds f and opens it; the buffer must outlive the veil_gguf. */
static veil_gguf *open_built(gg_file *f, uint8_t **buf, size_t *len)
{
	veil_gguf *g = NULL;

	*buf = gg_build(f, len);
	gg_clear(f);
	if (*buf == NULL || veil_gguf_open(*buf, *len, &g) != VEIL_OK) {
		fprintf(stderr, "  open failed: %s\n", veil_err_detail());
		return NULL;
	}
	return g;
}

TEST(scalars_of_every_type)
{
	gg_file f;
	uint8_t *buf;
	size_t len, slen;
	veil_gguf *g;
	uint64_t u;
	int64_t i;
	double d;
	bool b;
	const char *s;

	gg_init(&f);
	gg_str(&f, "general.architecture", "llama");
	gg_u8(&f, "t.u8", 200);
	gg_i8(&f, "t.i8", -128);
	gg_u16(&f, "t.u16", 65535);
	gg_i16(&f, "t.i16", -300);
	gg_u32(&f, "t.u32", 4000000000u);
	gg_i32(&f, "t.i32", -2147483647 - 1);
	gg_f32(&f, "t.f32", 1e-5f);
	gg_bool(&f, "t.true", true);
	gg_bool(&f, "t.false", false);
	gg_u64(&f, "t.u64", UINT64_MAX);
	gg_i64(&f, "t.i64", INT64_MIN);
	gg_f64(&f, "t.f64", 500000.25);
	gg_str(&f, "t.empty", "");
	gg_key(&f, "t.nul", VEIL_GGUF_STRING);
	gg_raw_str(&f, "a\0b", 3);
	g = open_built(&f, &buf, &len);
	REQUIRE(g != NULL);

	EXPECT_OK(veil_gguf_get_string(g, "general.architecture", &s, &slen));
	EXPECT(slen == 5 && strcmp(s, "llama") == 0);
	EXPECT_OK(veil_gguf_get_u64(g, "t.u8", &u));
	EXPECT(u == 200);
	EXPECT_OK(veil_gguf_get_i64(g, "t.i8", &i));
	EXPECT(i == -128);
	EXPECT_OK(veil_gguf_get_u64(g, "t.u16", &u));
	EXPECT(u == 65535);
	EXPECT_OK(veil_gguf_get_i64(g, "t.i16", &i));
	EXPECT(i == -300);
	EXPECT_OK(veil_gguf_get_u64(g, "t.u32", &u));
	EXPECT(u == 4000000000u);
	EXPECT_OK(veil_gguf_get_i64(g, "t.u32", &i));
	EXPECT(i == 4000000000);
	EXPECT_OK(veil_gguf_get_i64(g, "t.i32", &i));
	EXPECT(i == INT32_MIN);
	EXPECT_OK(veil_gguf_get_f64(g, "t.f32", &d));
	EXPECT(d == (double)1e-5f);
	EXPECT_OK(veil_gguf_get_bool(g, "t.true", &b));
	EXPECT(b);
	EXPECT_OK(veil_gguf_get_bool(g, "t.false", &b));
	EXPECT(!b);
	EXPECT_OK(veil_gguf_get_u64(g, "t.u64", &u));
	EXPECT(u == UINT64_MAX);
	EXPECT_OK(veil_gguf_get_i64(g, "t.i64", &i));
	EXPECT(i == INT64_MIN);
	EXPECT_OK(veil_gguf_get_f64(g, "t.f64", &d));
	EXPECT(d == 500000.25);
	EXPECT_OK(veil_gguf_get_string(g, "t.empty", &s, &slen));
	EXPECT(slen == 0 && s[0] == '\0');
	EXPECT_OK(veil_gguf_get_string(g, "t.nul", &s, &slen));
	EXPECT(slen == 3 && memcmp(s, "a\0b", 4) == 0);
	EXPECT(veil_gguf_has(g, "t.i64"));
	EXPECT(!veil_gguf_has(g, "t.i6"));
	EXPECT(veil_gguf_tensor_count(g) == 0);
	veil_gguf_free(g);
	free(buf);
}

/* Real files write the same count as uint32 or uint64 (and sometimes
 * signed): the integer getters take any width whose value fits. */
TEST(integer_widths_are_interchangeable)
{
	gg_file f;
	uint8_t *buf;
	size_t len;
	veil_gguf *g;
	uint64_t u;
	int64_t i;
	double d;
	bool b;
	const char *s;

	gg_init(&f);
	gg_u32(&f, "a.context_length", 4096);
	gg_u64(&f, "b.context_length", 4096);
	gg_i32(&f, "c.context_length", 4096);
	gg_i64(&f, "d.context_length", 4096);
	gg_i32(&f, "neg", -1);
	gg_u64(&f, "huge", (uint64_t)INT64_MAX + 1);
	gg_u8(&f, "byte", 1);
	gg_str(&f, "str", "x");
	gg_f32(&f, "float", 2.5f);
	g = open_built(&f, &buf, &len);
	REQUIRE(g != NULL);

	const char *keys[] = {"a.context_length", "b.context_length", "c.context_length",
			      "d.context_length"};
	for (size_t k = 0; k < 4; k++) {
		u = 0;
		i = 0;
		EXPECT_OK(veil_gguf_get_u64(g, keys[k], &u));
		EXPECT_OK(veil_gguf_get_i64(g, keys[k], &i));
		EXPECT(u == 4096 && i == 4096);
	}
	/* Values that do not fit the result. */
	EXPECT_ERR(veil_gguf_get_u64(g, "neg", &u), VEIL_E_MALFORMED);
	EXPECT_OK(veil_gguf_get_i64(g, "neg", &i));
	EXPECT(i == -1);
	EXPECT_ERR(veil_gguf_get_i64(g, "huge", &i), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "huge") != NULL);
	EXPECT_OK(veil_gguf_get_u64(g, "huge", &u));
	EXPECT(u == (uint64_t)INT64_MAX + 1);
	/* Other types are not integers, nor integers floats. */
	EXPECT_ERR(veil_gguf_get_u64(g, "str", &u), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_gguf_get_i64(g, "float", &i), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_gguf_get_f64(g, "byte", &d), VEIL_E_MALFORMED);
	EXPECT_OK(veil_gguf_get_f64(g, "float", &d));
	EXPECT(d == 2.5);
	EXPECT_ERR(veil_gguf_get_bool(g, "byte", &b), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_gguf_get_string(g, "byte", &s, &len), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "'byte'") != NULL);
	EXPECT_ERR(veil_gguf_get_array(g, "byte", NULL, NULL), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_gguf_get_u64(g, "missing.key", &u), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "missing.key") != NULL);
	EXPECT_ERR(veil_gguf_get_string(g, "context_length", &s, &len), VEIL_E_NOT_FOUND);
	veil_gguf_free(g);
	free(buf);
}

TEST(arrays_of_every_kind)
{
	gg_file f;
	uint8_t *buf;
	size_t len, n, slen;
	veil_gguf *g;
	veil_gguf_type elem;
	int64_t i;
	double d;
	const char *s;
	/* Values are bytes: a raw 0xff token is kept as it is. */
	static const char *const tokens[] = {"<unk>", "", "\xe2\x96\x81the", "\xff", "a\0b"};
	static const size_t token_len[] = {5, 0, 6, 1, 3};

	gg_init(&f);
	gg_arr(&f, "tokenizer.ggml.tokens", VEIL_GGUF_STRING, 5);
	for (size_t k = 0; k < 5; k++)
		gg_raw_str(&f, tokens[k], token_len[k]);
	gg_arr(&f, "tokenizer.ggml.scores", VEIL_GGUF_FLOAT32, 3);
	gg_raw_u32(&f, gg_f32_bits(-1.5f));
	gg_raw_u32(&f, gg_f32_bits(0.0f));
	gg_raw_u32(&f, gg_f32_bits(1e30f));
	gg_arr(&f, "tokenizer.ggml.token_type", VEIL_GGUF_INT32, 2);
	gg_raw_u32(&f, (uint32_t)-6);
	gg_raw_u32(&f, 3);
	gg_arr(&f, "u8s", VEIL_GGUF_UINT8, 3);
	gg_raw(&f, "\x00\x7f\xff", 3);
	gg_arr(&f, "i16s", VEIL_GGUF_INT16, 1);
	gg_raw(&f, "\x00\x80", 2);
	gg_arr(&f, "u64s", VEIL_GGUF_UINT64, 2);
	gg_raw_u64(&f, 7);
	gg_raw_u64(&f, UINT64_MAX);
	gg_arr(&f, "f64s", VEIL_GGUF_FLOAT64, 1);
	gg_raw_u64(&f, 0x3ff0000000000000ull); /* 1.0 */
	gg_arr(&f, "bools", VEIL_GGUF_BOOL, 2);
	gg_raw(&f, "\x01\x00", 2);
	gg_arr(&f, "empty", VEIL_GGUF_STRING, 0);
	g = open_built(&f, &buf, &len);
	REQUIRE(g != NULL);

	EXPECT_OK(veil_gguf_get_array(g, "tokenizer.ggml.tokens", &elem, &n));
	EXPECT(elem == VEIL_GGUF_STRING && n == 5);
	for (size_t k = 0; k < 5; k++) {
		EXPECT_OK(veil_gguf_array_string(g, "tokenizer.ggml.tokens", k, &s, &slen));
		EXPECT(slen == token_len[k] && memcmp(s, tokens[k], slen) == 0 && s[slen] == '\0');
	}
	EXPECT_ERR(veil_gguf_array_string(g, "tokenizer.ggml.tokens", 5, &s, &slen), VEIL_E_USAGE);
	EXPECT_ERR(veil_gguf_array_i64(g, "tokenizer.ggml.tokens", 0, &i), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_gguf_array_f64(g, "tokenizer.ggml.tokens", 0, &d), VEIL_E_MALFORMED);

	EXPECT_OK(veil_gguf_get_array(g, "tokenizer.ggml.scores", &elem, &n));
	EXPECT(elem == VEIL_GGUF_FLOAT32 && n == 3);
	EXPECT_OK(veil_gguf_array_f64(g, "tokenizer.ggml.scores", 0, &d));
	EXPECT(d == -1.5);
	EXPECT_OK(veil_gguf_array_f64(g, "tokenizer.ggml.scores", 2, &d));
	EXPECT(d == (double)1e30f);
	EXPECT_ERR(veil_gguf_array_f64(g, "tokenizer.ggml.scores", 3, &d), VEIL_E_USAGE);
	EXPECT_ERR(veil_gguf_array_i64(g, "tokenizer.ggml.scores", 0, &i), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_gguf_array_string(g, "tokenizer.ggml.scores", 0, &s, &slen),
		   VEIL_E_MALFORMED);

	EXPECT_OK(veil_gguf_array_i64(g, "tokenizer.ggml.token_type", 0, &i));
	EXPECT(i == -6);
	EXPECT_OK(veil_gguf_array_i64(g, "tokenizer.ggml.token_type", 1, &i));
	EXPECT(i == 3);
	EXPECT_ERR(veil_gguf_array_f64(g, "tokenizer.ggml.token_type", 0, &d), VEIL_E_MALFORMED);
	EXPECT_OK(veil_gguf_array_i64(g, "u8s", 2, &i));
	EXPECT(i == 255);
	EXPECT_OK(veil_gguf_array_i64(g, "i16s", 0, &i));
	EXPECT(i == -32768);
	EXPECT_OK(veil_gguf_array_i64(g, "u64s", 0, &i));
	EXPECT(i == 7);
	EXPECT_ERR(veil_gguf_array_i64(g, "u64s", 1, &i), VEIL_E_MALFORMED);
	EXPECT_OK(veil_gguf_array_f64(g, "f64s", 0, &d));
	EXPECT(d == 1.0);
	EXPECT_OK(veil_gguf_get_array(g, "bools", &elem, &n));
	EXPECT(elem == VEIL_GGUF_BOOL && n == 2);
	EXPECT_ERR(veil_gguf_array_i64(g, "bools", 0, &i), VEIL_E_MALFORMED);
	EXPECT_OK(veil_gguf_get_array(g, "empty", &elem, &n));
	EXPECT(elem == VEIL_GGUF_STRING && n == 0);
	EXPECT_ERR(veil_gguf_array_string(g, "empty", 0, &s, &slen), VEIL_E_USAGE);
	EXPECT_ERR(veil_gguf_array_string(g, "nope", 0, &s, &slen), VEIL_E_NOT_FOUND);
	EXPECT_ERR(veil_gguf_get_string(g, "bools", &s, &slen), VEIL_E_MALFORMED);
	veil_gguf_free(g);
	free(buf);
}

/* A vocabulary of 150k tokens: each is found by index. */
TEST(large_vocabulary)
{
	enum { N = 150000 };
	gg_file f;
	uint8_t *buf;
	size_t len, slen;
	veil_gguf *g;
	char tok[32];
	const char *s;
	bool ok = true;

	gg_init(&f);
	gg_arr(&f, "tokenizer.ggml.tokens", VEIL_GGUF_STRING, N);
	for (size_t k = 0; k < N; k++) {
		int n = snprintf(tok, sizeof tok, "tok%zu", k * 7919 % 100003);
		gg_raw_str(&f, tok, (size_t)n);
	}
	g = open_built(&f, &buf, &len);
	REQUIRE(g != NULL);
	for (size_t k = 0; k < N; k++) {
		int n = snprintf(tok, sizeof tok, "tok%zu", k * 7919 % 100003);
		if (veil_gguf_array_string(g, "tokenizer.ggml.tokens", k, &s, &slen) != VEIL_OK ||
		    slen != (size_t)n || strcmp(s, tok) != 0)
			ok = false;
	}
	EXPECT(ok);
	veil_gguf_free(g);
	free(buf);
}

/* Many keys: each found (the lookup is a binary search). */
TEST(many_keys)
{
	gg_file f;
	uint8_t *buf;
	size_t len;
	veil_gguf *g;
	char key[32];
	uint64_t u;
	bool ok = true;

	gg_init(&f);
	for (uint32_t k = 0; k < 1000; k++) {
		snprintf(key, sizeof key, "k.%u", (k * 389) % 1000);
		gg_u32(&f, key, (k * 389) % 1000);
	}
	g = open_built(&f, &buf, &len);
	REQUIRE(g != NULL);
	for (uint32_t k = 0; k < 1000; k++) {
		snprintf(key, sizeof key, "k.%u", k);
		if (veil_gguf_get_u64(g, key, &u) != VEIL_OK || u != k)
			ok = false;
	}
	EXPECT(ok);
	EXPECT(!veil_gguf_has(g, "k.1000"));
	EXPECT(!veil_gguf_has(g, "k."));
	veil_gguf_free(g);
	free(buf);
}

/* One tensor of each type the reader knows, with its byte size from
 * ggml's block structs: (elements per block, bytes per block). */
static const struct {
	uint32_t type;
	const char *name;
	uint64_t ne0;
	size_t size; /* of two rows of ne0 */
} known_types[] = {
    {VEIL_GGML_F32, "F32", 3, 2 * 3 * 4},     {VEIL_GGML_F16, "F16", 5, 2 * 5 * 2},
    {VEIL_GGML_BF16, "BF16", 7, 2 * 7 * 2},   {VEIL_GGML_Q4_0, "Q4_0", 64, 2 * 2 * 18},
    {VEIL_GGML_Q4_1, "Q4_1", 32, 2 * 20},     {VEIL_GGML_Q5_0, "Q5_0", 32, 2 * 22},
    {VEIL_GGML_Q5_1, "Q5_1", 96, 2 * 3 * 24}, {VEIL_GGML_Q8_0, "Q8_0", 64, 2 * 2 * 34},
    {VEIL_GGML_Q8_1, "Q8_1", 32, 2 * 36},     {VEIL_GGML_Q2_K, "Q2_K", 256, 2 * 84},
    {VEIL_GGML_Q3_K, "Q3_K", 256, 2 * 110},   {VEIL_GGML_Q4_K, "Q4_K", 512, 2 * 2 * 144},
    {VEIL_GGML_Q5_K, "Q5_K", 256, 2 * 176},   {VEIL_GGML_Q6_K, "Q6_K", 256, 2 * 210},
    {VEIL_GGML_Q8_K, "Q8_K", 256, 2 * 292},
};
#define N_KNOWN (sizeof known_types / sizeof known_types[0])

static void check_tensors(uint32_t alignment)
{
	gg_file f;
	uint8_t *buf;
	size_t len;
	veil_gguf *g;
	char names[N_KNOWN][32];
	uint64_t ne4[4] = {2, 3, 4, 5};

	gg_init(&f);
	if (alignment != 32)
		gg_alignment(&f, alignment);
	gg_str(&f, "general.architecture", "llama");
	for (size_t k = 0; k < N_KNOWN; k++) {
		uint64_t ne[2] = {known_types[k].ne0, 2};
		snprintf(names[k], sizeof names[k], "blk.%zu.%s.weight", k, known_types[k].name);
		gg_tensor_add(&f, names[k], 2, ne, known_types[k].type, known_types[k].size);
	}
	gg_tensor_add(&f, "four_d", 4, ne4, VEIL_GGML_F32, 2 * 3 * 4 * 5 * 4);
	gg_tensor_add(&f, "one_d", 1, ne4, VEIL_GGML_F16, 2 * 2);
	g = open_built(&f, &buf, &len);
	REQUIRE(g != NULL);
	REQUIRE(veil_gguf_tensor_count(g) == N_KNOWN + 2);

	for (size_t k = 0; k < N_KNOWN + 2; k++) {
		const veil_gguf_tensor *t = veil_gguf_tensor_at(g, k);
		bool pattern = true;

		REQUIRE(t != NULL);
		EXPECT((size_t)(t->data - buf) % alignment == 0);
		EXPECT(t->data >= buf && t->data + t->size <= buf + len);
		EXPECT(veil_gguf_tensor_find(g, t->name) == t);
		for (size_t j = 0; j < t->size; j++)
			if (t->data[j] != gg_pattern(k, j))
				pattern = false;
		EXPECT(pattern);
		if (k < N_KNOWN) {
			EXPECT(strcmp(t->name, names[k]) == 0);
			EXPECT(t->type == known_types[k].type);
			EXPECT(t->n_dims == 2 && t->ne[0] == known_types[k].ne0 && t->ne[1] == 2);
			EXPECT(t->ne[2] == 1 && t->ne[3] == 1);
			EXPECT(t->size == known_types[k].size);
		}
	}
	const veil_gguf_tensor *t4 = veil_gguf_tensor_find(g, "four_d");
	REQUIRE(t4 != NULL);
	EXPECT(t4->n_dims == 4 && t4->ne[3] == 5 && t4->size == 480);
	const veil_gguf_tensor *t1 = veil_gguf_tensor_find(g, "one_d");
	REQUIRE(t1 != NULL);
	EXPECT(t1->n_dims == 1 && t1->ne[0] == 2 && t1->ne[1] == 1 && t1->size == 4);
	EXPECT(veil_gguf_tensor_find(g, "four") == NULL);
	EXPECT(veil_gguf_tensor_find(g, "") == NULL);
	EXPECT(veil_gguf_tensor_at(g, N_KNOWN + 2) == NULL);
	veil_gguf_free(g);
	free(buf);
}

TEST(tensors_aligned_32)
{
	check_tensors(32);
}

TEST(tensors_aligned_64)
{
	check_tensors(64);
}

TEST(tensors_aligned_8)
{
	check_tensors(8);
}

TEST(type_names_and_blocks)
{
	char buf[16];
	size_t e, b;

	for (size_t k = 0; k < N_KNOWN; k++) {
		size_t want_e =
		    known_types[k].type <= VEIL_GGML_F16 || known_types[k].type == VEIL_GGML_BF16
			? 1
		    : known_types[k].type >= VEIL_GGML_Q2_K ? 256
							    : 32;
		EXPECT(strcmp(veil_ggml_type_name(known_types[k].type, buf), known_types[k].name) ==
		       0);
		EXPECT(veil_ggml_block(known_types[k].type, &e, &b));
		EXPECT(e == want_e);
		EXPECT(b * (known_types[k].ne0 / e) * 2 == known_types[k].size);
	}
	EXPECT(strcmp(veil_ggml_type_name(16, buf), "IQ2_XXS") == 0);
	EXPECT(strcmp(veil_ggml_type_name(39, buf), "MXFP4") == 0);
	EXPECT(strcmp(veil_ggml_type_name(4, buf), "Q4_2") == 0);
	EXPECT(strcmp(veil_ggml_type_name(40, buf), "type 40") == 0);
	EXPECT(strcmp(veil_ggml_type_name(UINT32_MAX, buf), "type 4294967295") == 0);
	EXPECT(!veil_ggml_block(16, &e, &b));
	EXPECT(!veil_ggml_block(4, &e, &b));
	EXPECT(!veil_ggml_block(1000, &e, &b));
}

/* What writers produce: the final padding may be there or not, tensors
 * need not be in offset order, and zero gaps are padding. */
TEST(layouts_writers_produce)
{
	gg_file f;
	uint64_t ne[1] = {3};
	uint8_t *buf;
	size_t len;
	veil_gguf *g;

	gg_init(&f);
	gg_tensor_add(&f, "a", 1, ne, VEIL_GGML_F32, 12);
	gg_tensor_add(&f, "b", 1, ne, VEIL_GGML_F32, 12);
	f.no_tail_pad = true;
	EXPECT_OK(gg_build_open_err(&f));

	gg_init(&f);
	gg_tensor_add(&f, "a", 1, ne, VEIL_GGML_F32, 12);
	gg_tensor_add(&f, "b", 1, ne, VEIL_GGML_F32, 12);
	EXPECT_OK(gg_build_open_err(&f));

	/* Reversed offsets, with a 64-byte zero gap before the first. */
	gg_init(&f);
	gg_tensor_add(&f, "late", 1, ne, VEIL_GGML_F32, 12)->fixed_offset = true;
	f.t[0].offset = 128;
	gg_tensor_add(&f, "early", 1, ne, VEIL_GGML_F32, 12)->fixed_offset = true;
	f.t[1].offset = 64;
	g = open_built(&f, &buf, &len);
	REQUIRE(g != NULL);
	EXPECT(veil_gguf_tensor_find(g, "late")->data - veil_gguf_tensor_find(g, "early")->data ==
	       64);
	EXPECT(veil_gguf_tensor_at(g, 0) == veil_gguf_tensor_find(g, "late"));
	veil_gguf_free(g);
	free(buf);
}

/* A vocabulary-only file: no tensors, and the file may end before or
 * after the padding that would start the data section. */
TEST(files_without_tensors)
{
	gg_file f;
	uint8_t *buf, *cut;
	size_t len;

	gg_init(&f);
	gg_str(&f, "general.architecture", "llama");
	gg_str(&f, "x", "abc"); /* so the metadata does not end aligned */
	buf = gg_build(&f, &len);
	gg_clear(&f);
	REQUIRE(buf != NULL && len % 32 == 0);
	EXPECT_OK(gg_open_err(buf, len));
	/* Without the padding: "x" ends 3 bytes into a 32-byte block. */
	size_t unpadded = 24 + (8 + 20 + 4 + 8 + 5) + (8 + 1 + 4 + 8 + 3);
	REQUIRE(unpadded < len);
	cut = gg_prefix(buf, unpadded);
	EXPECT_OK(gg_open_err(cut, unpadded));
	free(cut);
	cut = gg_prefix(buf, unpadded - 1);
	EXPECT_ERR(gg_open_err(cut, unpadded - 1), VEIL_E_TRUNCATED);
	free(cut);
	free(buf);

	/* Header only. */
	gg_init(&f);
	buf = gg_build(&f, &len);
	gg_clear(&f);
	REQUIRE(buf != NULL && len == 32);
	EXPECT_OK(gg_open_err(buf, 24));
	EXPECT_OK(gg_open_err(buf, 32));
	free(buf);
}

/* Writes the fuzz seeds: a few small valid files (the fuzzer mutates from
 * there). */
static int write_seeds(const char *dir)
{
	for (int k = 0; k < 3; k++) {
		gg_file f;
		uint8_t *buf;
		size_t len;
		char path[512];
		FILE *fp;
		uint64_t ne[2] = {32, 2};

		gg_init(&f);
		if (k == 1)
			gg_alignment(&f, 64);
		gg_str(&f, "general.architecture", k == 2 ? "qwen2" : "llama");
		gg_u32(&f, "llama.context_length", 128);
		gg_f32(&f, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
		gg_bool(&f, "tokenizer.ggml.add_bos_token", true);
		gg_arr(&f, "tokenizer.ggml.tokens", VEIL_GGUF_STRING, 3);
		gg_raw_str(&f, "<s>", 3);
		gg_raw_str(&f, "a", 1);
		gg_raw_str(&f, "b", 1);
		gg_arr(&f, "tokenizer.ggml.scores", VEIL_GGUF_FLOAT32, 1);
		gg_raw_u32(&f, gg_f32_bits(0.5f));
		gg_tensor_add(&f, "token_embd.weight", 2, ne,
			      k == 0 ? VEIL_GGML_F32 : VEIL_GGML_Q8_0, k == 0 ? 256 : 68);
		gg_tensor_add(&f, "output_norm.weight", 1, ne, VEIL_GGML_F16, 64);
		buf = gg_build(&f, &len);
		gg_clear(&f);
		snprintf(path, sizeof path, "%s/seed%d.gguf", dir, k);
		fp = fopen(path, "wb");
		if (buf == NULL || fp == NULL || fwrite(buf, 1, len, fp) != len) {
			fprintf(stderr, "cannot write %s\n", path);
			return 1;
		}
		fclose(fp);
		free(buf);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2]);
	RUN(scalars_of_every_type);
	RUN(integer_widths_are_interchangeable);
	RUN(arrays_of_every_kind);
	RUN(large_vocabulary);
	RUN(many_keys);
	RUN(tensors_aligned_32);
	RUN(tensors_aligned_64);
	RUN(tensors_aligned_8);
	RUN(type_names_and_blocks);
	RUN(layouts_writers_produce);
	RUN(files_without_tensors);
	return harness_finish("test_gguf");
}

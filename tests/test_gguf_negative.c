/*
 * test_gguf_negative.c - GGUF files the reader must refuse, each with the
 * error it must give and, where the file names one, the key or tensor the
 * message must name: wrong magic and versions, every truncation of a valid
 * file, strings one byte longer or shorter than they say, bit flips,
 * trailing bytes, bad keys and names, counts over the caps (failing before
 * any allocation), bad shapes, types, offsets, overlaps, overflowing
 * sizes and bad alignments. The files come from the writer in
 * test_gguf_util.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_gguf_util.h"
#include "veil/gguf.h"
#include "veil/limits.h"

static bool detail_has(const char *s)
{
	if (strstr(veil_err_detail(), s) != NULL)
		return true;
	fprintf(stderr, "  detail \"%s\" lacks \"%s\"\n", veil_err_detail(), s);
	return false;
}

/* A small valid file with pairs of several types and two tensors whose
 * data ends the file (no final padding), so every shorter prefix is a
 * truncation. */
static uint8_t *small_file(size_t *len, size_t *data_end)
{
	gg_file f;
	uint64_t ne[2] = {32, 2};
	uint8_t *buf;

	gg_init(&f);
	gg_str(&f, "general.architecture", "llama");
	gg_u32(&f, "llama.block_count", 1);
	gg_f64(&f, "x.f64", 0.5);
	gg_arr(&f, "tokenizer.ggml.tokens", VEIL_GGUF_STRING, 2);
	gg_raw_str(&f, "ab", 2);
	gg_raw_str(&f, "c", 1);
	gg_arr(&f, "tokenizer.ggml.token_type", VEIL_GGUF_INT32, 2);
	gg_raw_u32(&f, 1);
	gg_raw_u32(&f, 2);
	gg_tensor_add(&f, "token_embd.weight", 2, ne, VEIL_GGML_Q8_0, 68);
	ne[0] = 30;
	gg_tensor_add(&f, "output_norm.weight", 1, ne, VEIL_GGML_F32, 120);
	f.no_tail_pad = true;
	buf = gg_build(&f, len);
	gg_clear(&f);
	*data_end = *len;
	return buf;
}

TEST(wrong_magic)
{
	gg_file f;

	gg_init(&f);
	memcpy(f.magic, "GGUG", 4);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("GGUF"));
	gg_init(&f);
	memcpy(f.magic, "FUGG", 4); /* the magic read as a big-endian word */
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT_ERR(gg_open_err((const uint8_t *)"GGU", 3), VEIL_E_TRUNCATED);
	EXPECT_ERR(gg_open_err(NULL, 0), VEIL_E_TRUNCATED);
	EXPECT_ERR(veil_gguf_open((const uint8_t *)"GGUF", 4, NULL), VEIL_E_USAGE);
}

TEST(other_versions)
{
	static const uint32_t versions[] = {0, 1, 2, 4, 0x03000000, UINT32_MAX};
	gg_file f;

	for (size_t k = 0; k < sizeof versions / sizeof versions[0]; k++) {
		gg_init(&f);
		f.version = versions[k];
		EXPECT_ERR(gg_build_open_err(&f), VEIL_E_UNSUPPORTED);
		EXPECT(detail_has("version"));
		if (versions[k] == 1 || versions[k] == 2)
			EXPECT(detail_has("only version 3"));
		if (versions[k] == 0x03000000)
			EXPECT(detail_has("big-endian"));
	}
}

TEST(truncated_at_every_offset)
{
	size_t len, end;
	uint8_t *buf = small_file(&len, &end);
	bool all = true;

	REQUIRE(buf != NULL);
	EXPECT_OK(gg_open_err(buf, len));
	for (size_t n = 0; n < end; n++) {
		uint8_t *cut = gg_prefix(buf, n);
		veil_err err = gg_open_err(cut, n);

		if (err != VEIL_E_TRUNCATED) {
			fprintf(stderr, "  prefix %zu: %s (%s)\n", n, veil_err_str(err),
				veil_err_detail());
			all = false;
		}
		free(cut);
	}
	EXPECT(all);
	free(buf);
}

/* Trailing bytes: up to the alignment padding of zeros is what writers
 * leave; anything more, or anything not zero, is refused. */
TEST(trailing_bytes)
{
	size_t len, end;
	uint8_t *buf = small_file(&len, &end), *longer;

	REQUIRE(buf != NULL);
	longer = malloc(len + 64);
	REQUIRE(longer != NULL);
	memcpy(longer, buf, len);
	memset(longer + len, 0, 64);
	/* 68 bytes, padding to 96, 120 bytes: the data ends 8 bytes short of
	 * the next multiple of 32. */
	EXPECT_OK(gg_open_err(longer, len + 1));
	EXPECT_OK(gg_open_err(longer, len + 8));
	EXPECT_ERR(gg_open_err(longer, len + 9), VEIL_E_TRAILING);
	EXPECT_ERR(gg_open_err(longer, len + 64), VEIL_E_TRAILING);
	longer[len] = 0x01;
	EXPECT_ERR(gg_open_err(longer, len + 1), VEIL_E_MALFORMED);
	EXPECT(detail_has("padding"));
	free(longer);
	free(buf);

	/* A file without tensors: bytes past the padding. */
	gg_file f;
	gg_init(&f);
	gg_str(&f, "a", "b");
	f.extra_tail = 32;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_TRAILING);
}

/* Every single-byte change of the header, metadata and table either fails
 * or yields a file that opens cleanly (a changed string byte); none may
 * crash (ASan run). Changes to the magic, version and padding must fail. */
TEST(bit_flips)
{
	size_t len, end;
	uint8_t *buf = small_file(&len, &end);
	const veil_gguf_tensor *t;
	veil_gguf *g = NULL;
	size_t data_start;

	REQUIRE(buf != NULL);
	REQUIRE(veil_gguf_open(buf, len, &g) == VEIL_OK);
	t = veil_gguf_tensor_at(g, 0);
	data_start = (size_t)(t->data - buf);
	veil_gguf_free(g);
	for (size_t i = 0; i < data_start; i++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t *c = gg_prefix(buf, len);
			veil_err err;

			c[i] ^= (uint8_t)(1u << bit);
			err = gg_open_err(c, len);
			if (i < 8)
				EXPECT(err != VEIL_OK);
			free(c);
		}
	}
	/* The last byte before the data section is padding. */
	uint8_t *c = gg_prefix(buf, len);
	c[data_start - 1] ^= 0x40;
	EXPECT_ERR(gg_open_err(c, len), VEIL_E_MALFORMED);
	free(c);
	free(buf);
}

/* A string whose length says one byte more or less than it has: the rest
 * of the file is read out of step and must fail. */
TEST(strings_one_byte_off)
{
	for (int delta = -1; delta <= 1; delta += 2) {
		gg_file f;

		/* The key. */
		gg_init(&f);
		gg_raw_u64(&f, (uint64_t)(17 + delta));
		gg_raw(&f, "llama.block_count", 17);
		gg_raw_u32(&f, VEIL_GGUF_UINT32);
		gg_raw_u32(&f, 1);
		f.n_kv = 1;
		EXPECT(gg_build_open_err(&f) != VEIL_OK);

		/* A value, with another pair after it. */
		gg_init(&f);
		gg_key(&f, "general.architecture", VEIL_GGUF_STRING);
		gg_raw_u64(&f, (uint64_t)(5 + delta));
		gg_raw(&f, "llama", 5);
		gg_u32(&f, "llama.block_count", 1);
		EXPECT(gg_build_open_err(&f) != VEIL_OK);

		/* A tensor name. */
		gg_init(&f);
		uint64_t ne[1] = {8};
		gg_tensor_add(&f, "output.weight", 1, ne, VEIL_GGML_F32, 32);
		f.t[0].name_len_delta = delta;
		EXPECT(gg_build_open_err(&f) != VEIL_OK);
	}
}

TEST(bad_keys)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
	    {"\xff", 1},             /* not a lead byte */
	    {"a\xc0\x80", 3},        /* an overlong NUL */
	    {"\xe0\x80\xaf", 3},     /* an overlong '/' */
	    {"\xf0\x80\x80\x80", 4}, /* an overlong NUL in four bytes */
	    {"\xed\xa0\x80", 3},     /* a surrogate */
	    {"\xe2\x82", 2},         /* a cut sequence */
	    {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
	    {"a\0b", 3},             /* a NUL */
	    {"", 0},
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		gg_file f;

		gg_init(&f);
		gg_raw_str(&f, bad[k].bytes, bad[k].len);
		gg_raw_u32(&f, VEIL_GGUF_UINT8);
		gg_raw(&f, "\x01", 1);
		f.n_kv = 1;
		EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
		EXPECT(detail_has("key 0"));
	}
	/* Valid multi-byte UTF-8 is fine. */
	gg_file f;
	gg_init(&f);
	gg_u8(&f, "caf\xc3\xa9.\xf0\x9f\x98\x80", 1);
	EXPECT_OK(gg_build_open_err(&f));

	/* Too long for the cap; at the cap is fine. */
	char key[VEIL_GGUF_KEY_MAX + 2];
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	gg_init(&f);
	gg_u8(&f, key, 1);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_LIMIT);
	EXPECT(detail_has("VEIL_GGUF_KEY_MAX"));
	key[VEIL_GGUF_KEY_MAX] = '\0';
	gg_init(&f);
	gg_u8(&f, key, 1);
	EXPECT_OK(gg_build_open_err(&f));
}

TEST(duplicates)
{
	gg_file f;
	uint64_t ne[1] = {8};

	gg_init(&f);
	gg_u32(&f, "llama.block_count", 1);
	gg_str(&f, "general.architecture", "llama");
	gg_u64(&f, "llama.block_count", 2);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("'llama.block_count'") && detail_has("twice"));

	gg_init(&f);
	gg_tensor_add(&f, "output.weight", 1, ne, VEIL_GGML_F32, 32);
	gg_tensor_add(&f, "output.weight", 1, ne, VEIL_GGML_F32, 32);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("'output.weight'"));
}

TEST(bad_values)
{
	gg_file f;

	gg_init(&f);
	gg_key(&f, "x.unknown", 13);
	gg_raw_u32(&f, 0);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("'x.unknown'") && detail_has("type 13"));

	gg_init(&f);
	gg_key(&f, "x.bool", VEIL_GGUF_BOOL);
	gg_raw(&f, "\x02", 1);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("'x.bool'"));

	gg_init(&f);
	gg_arr(&f, "x.bools", VEIL_GGUF_BOOL, 3);
	gg_raw(&f, "\x01\x00\xff", 3);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);

	/* Arrays of arrays are refused (docs/gguf.md). */
	gg_init(&f);
	gg_arr(&f, "x.nested", VEIL_GGUF_ARRAY, 1);
	gg_raw_u32(&f, VEIL_GGUF_UINT8);
	gg_raw_u64(&f, 1);
	gg_raw(&f, "\x01", 1);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("'x.nested'") && detail_has("array of arrays"));

	gg_init(&f);
	gg_arr(&f, "x.arr", 99, 0);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);

	/* A string value over its cap. */
	gg_init(&f);
	gg_key(&f, "tokenizer.chat_template", VEIL_GGUF_STRING);
	gg_raw_u64(&f, (uint64_t)VEIL_GGUF_STRING_MAX + 1);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_LIMIT);
	EXPECT(detail_has("'tokenizer.chat_template'"));
}

/* Counts above the caps fail at once, and counts the file cannot hold fail
 * before anything is allocated from them. */
TEST(over_cap_counts)
{
	gg_file f;

	gg_init(&f);
	f.set_n_kv = true;
	f.n_kv_value = VEIL_GGUF_KV_MAX + 1;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_LIMIT);
	gg_init(&f);
	f.set_n_kv = true;
	f.n_kv_value = UINT64_MAX;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_LIMIT);
	gg_init(&f);
	f.set_n_kv = true;
	f.n_kv_value = VEIL_GGUF_KV_MAX;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_TRUNCATED);
	EXPECT(detail_has("cannot fit"));

	gg_init(&f);
	f.set_n_tensors = true;
	f.n_tensors_value = VEIL_GGUF_TENSORS_MAX + 1;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_LIMIT);
	gg_init(&f);
	f.set_n_tensors = true;
	f.n_tensors_value = VEIL_GGUF_TENSORS_MAX;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_TRUNCATED);
	EXPECT(detail_has("cannot fit"));

	/* Array counts: above the cap, and at the cap without the bytes. */
	static const uint32_t elems[] = {VEIL_GGUF_STRING, VEIL_GGUF_UINT8, VEIL_GGUF_FLOAT64};
	for (size_t k = 0; k < 3; k++) {
		gg_init(&f);
		gg_arr(&f, "tokenizer.ggml.tokens", elems[k], UINT64_MAX);
		EXPECT_ERR(gg_build_open_err(&f), VEIL_E_LIMIT);
		EXPECT(detail_has("tokenizer.ggml.tokens") && detail_has("VEIL_GGUF_ARRAY_MAX"));
		gg_init(&f);
		gg_arr(&f, "tokenizer.ggml.tokens", elems[k], (uint64_t)VEIL_GGUF_ARRAY_MAX + 1);
		EXPECT_ERR(gg_build_open_err(&f), VEIL_E_LIMIT);
		gg_init(&f);
		gg_arr(&f, "tokenizer.ggml.tokens", elems[k], VEIL_GGUF_ARRAY_MAX);
		gg_raw_str(&f, "a", 1);
		EXPECT_ERR(gg_build_open_err(&f), VEIL_E_TRUNCATED);
		/* Refused from the count, before the string table is allocated. */
		if (elems[k] == VEIL_GGUF_STRING)
			EXPECT(detail_has("cannot fit"));
	}
}

/* Builds a file with one tensor described by the arguments. */
static veil_err one_tensor(const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
			   size_t size)
{
	gg_file f;

	gg_init(&f);
	gg_tensor_add(&f, name, n_dims, ne, type, size);
	return gg_build_open_err(&f);
}

TEST(bad_shapes)
{
	uint64_t ne[5] = {8, 1, 1, 1, 1};

	EXPECT_ERR(one_tensor("blk.0.attn_q.weight", 0, ne, VEIL_GGML_F32, 4), VEIL_E_MALFORMED);
	EXPECT(detail_has("'blk.0.attn_q.weight'") && detail_has("dimensions"));
	EXPECT_ERR(one_tensor("blk.0.attn_q.weight", 5, ne, VEIL_GGML_F32, 32), VEIL_E_MALFORMED);
	EXPECT(detail_has("'blk.0.attn_q.weight'"));
	uint64_t zero[2] = {8, 0};
	EXPECT_ERR(one_tensor("blk.0.ffn_up.weight", 2, zero, VEIL_GGML_F32, 32), VEIL_E_MALFORMED);
	EXPECT(detail_has("'blk.0.ffn_up.weight'") && detail_has("dimension 1 is 0"));

	/* Rows that are not whole blocks. */
	uint64_t row48[2] = {48, 2};
	EXPECT_ERR(one_tensor("blk.0.ffn_down.weight", 2, row48, VEIL_GGML_Q4_0, 54),
		   VEIL_E_MALFORMED);
	EXPECT(detail_has("'blk.0.ffn_down.weight'") && detail_has("Q4_0"));
	uint64_t row128[1] = {128};
	EXPECT_ERR(one_tensor("t", 1, row128, VEIL_GGML_Q4_K, 72), VEIL_E_MALFORMED);

	/* Element counts and byte sizes that overflow. */
	uint64_t big[2] = {1ull << 40, 1ull << 40};
	EXPECT_ERR(one_tensor("token_embd.weight", 2, big, VEIL_GGML_F32, 4), VEIL_E_MALFORMED);
	EXPECT(detail_has("'token_embd.weight'") && detail_has("overflow"));
	uint64_t big4[4] = {1ull << 16, 1ull << 16, 1ull << 16, 1ull << 16};
	EXPECT_ERR(one_tensor("t", 4, big4, VEIL_GGML_F16, 4), VEIL_E_MALFORMED);
	uint64_t bytes[1] = {1ull << 62}; /* 2^62 elements fit, 2^64 bytes do not */
	EXPECT_ERR(one_tensor("t", 1, bytes, VEIL_GGML_F32, 4), VEIL_E_MALFORMED);
	uint64_t huge[1] = {UINT64_MAX};
	EXPECT_ERR(one_tensor("t", 1, huge, VEIL_GGML_F16, 4), VEIL_E_MALFORMED);
	/* Fits the arithmetic, not the file. */
	uint64_t large[2] = {1ull << 20, 1ull << 20};
	EXPECT_ERR(one_tensor("t", 2, large, VEIL_GGML_F32, 4), VEIL_E_TRUNCATED);
}

TEST(bad_names)
{
	uint64_t ne[1] = {8};
	char name[VEIL_GGUF_TENSOR_NAME_MAX + 2];

	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	EXPECT_ERR(one_tensor(name, 1, ne, VEIL_GGML_F32, 32), VEIL_E_LIMIT);
	name[VEIL_GGUF_TENSOR_NAME_MAX] = '\0';
	EXPECT_OK(one_tensor(name, 1, ne, VEIL_GGML_F32, 32));
	EXPECT_ERR(one_tensor("bad\xff", 1, ne, VEIL_GGML_F32, 32), VEIL_E_MALFORMED);
	EXPECT(detail_has("tensor 0"));
	EXPECT_ERR(one_tensor("", 1, ne, VEIL_GGML_F32, 32), VEIL_E_MALFORMED);
}

TEST(unknown_tensor_types)
{
	uint64_t ne[1] = {256};

	EXPECT_ERR(one_tensor("blk.3.attn_k.weight", 1, ne, 16, 66), VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("'blk.3.attn_k.weight'") && detail_has("IQ2_XXS"));
	EXPECT_ERR(one_tensor("blk.3.attn_k.weight", 1, ne, 200, 66), VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("type 200"));
	EXPECT_ERR(one_tensor("t", 1, ne, 4, 66), VEIL_E_UNSUPPORTED); /* Q4_2, removed */
}

TEST(bad_offsets)
{
	gg_file f;
	uint64_t ne[1] = {8};

	/* Misaligned. */
	gg_init(&f);
	gg_tensor_add(&f, "blk.1.attn_v.weight", 1, ne, VEIL_GGML_F32, 32)->fixed_offset = true;
	f.t[0].offset = 16;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("'blk.1.attn_v.weight'") && detail_has("alignment"));

	/* Past the end, partly and wholly, and with an offset near 2^64. */
	static const uint64_t past[] = {32, 4096, UINT64_MAX - 31};
	for (size_t k = 0; k < 3; k++) {
		gg_init(&f);
		gg_tensor_add(&f, "output.weight", 1, ne, VEIL_GGML_F32, 32);
		f.no_tail_pad = true;
		gg_tensor_add(&f, "late", 1, ne, VEIL_GGML_F32, 0)->fixed_offset = true;
		f.t[1].offset = past[k];
		EXPECT_ERR(gg_build_open_err(&f), VEIL_E_TRUNCATED);
		EXPECT(detail_has("'late'"));
	}

	/* Overlaps: the same offset, and a partial overlap. */
	uint64_t ne16[1] = {16};
	gg_init(&f);
	gg_tensor_add(&f, "a", 1, ne16, VEIL_GGML_F32, 64);
	gg_tensor_add(&f, "b", 1, ne, VEIL_GGML_F32, 32)->fixed_offset = true;
	f.t[1].offset = 0;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("overlaps"));
	gg_init(&f);
	gg_tensor_add(&f, "a", 1, ne16, VEIL_GGML_F32, 64);
	gg_tensor_add(&f, "b", 1, ne, VEIL_GGML_F32, 32)->fixed_offset = true;
	f.t[1].offset = 32;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("'b'") && detail_has("'a'"));

	/* Non-zero padding before the data section and between tensors. */
	gg_init(&f);
	gg_u8(&f, "x", 1); /* the table does not end aligned */
	gg_tensor_add(&f, "a", 1, ne, VEIL_GGML_F32, 32);
	f.pad_byte = 0x20;
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("before the data section"));
	/* Non-zero bytes in a gap between tensors and after the last one. */
	uint64_t ne3[1] = {3};
	uint8_t *buf;
	size_t len;
	veil_gguf *g = NULL;
	size_t at;

	gg_init(&f);
	gg_tensor_add(&f, "a", 1, ne3, VEIL_GGML_F32, 12);
	gg_tensor_add(&f, "b", 1, ne3, VEIL_GGML_F32, 12);
	buf = gg_build(&f, &len);
	gg_clear(&f);
	REQUIRE(buf != NULL && veil_gguf_open(buf, len, &g) == VEIL_OK);
	at = (size_t)(veil_gguf_tensor_find(g, "a")->data - buf);
	veil_gguf_free(g);
	buf[at + 12] = 0x20;
	EXPECT_ERR(gg_open_err(buf, len), VEIL_E_MALFORMED);
	EXPECT(detail_has("between tensors"));
	buf[at + 12] = 0;
	buf[len - 1] = 0x20;
	EXPECT_ERR(gg_open_err(buf, len), VEIL_E_MALFORMED);
	EXPECT(detail_has("after the last tensor"));
	free(buf);
}

TEST(bad_alignment)
{
	static const uint32_t bad[] = {0, 3, 4, 1, 24, 0x80000001u};
	gg_file f;

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		gg_init(&f);
		gg_u32(&f, "general.alignment", bad[k]);
		EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
		EXPECT(detail_has("general.alignment"));
	}
	/* Not a uint32. */
	gg_init(&f);
	gg_u64(&f, "general.alignment", 32);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_MALFORMED);
	EXPECT(detail_has("uint32"));
	/* Tensors laid out for 32 in a file that says 64. */
	uint64_t ne[1] = {8};
	gg_init(&f);
	gg_u32(&f, "general.alignment", 64);
	gg_tensor_add(&f, "a", 1, ne, VEIL_GGML_F32, 32);
	gg_tensor_add(&f, "b", 1, ne, VEIL_GGML_F32, 32);
	EXPECT(gg_build_open_err(&f) != VEIL_OK);
	/* A huge power of two: the data section would start past the end. */
	gg_init(&f);
	gg_u32(&f, "general.alignment", 0x80000000u);
	f.alignment = 32;
	gg_tensor_add(&f, "a", 1, ne, VEIL_GGML_F32, 32);
	EXPECT_ERR(gg_build_open_err(&f), VEIL_E_TRUNCATED);
}

int main(void)
{
	RUN(wrong_magic);
	RUN(other_versions);
	RUN(truncated_at_every_offset);
	RUN(trailing_bytes);
	RUN(bit_flips);
	RUN(strings_one_byte_off);
	RUN(bad_keys);
	RUN(duplicates);
	RUN(bad_values);
	RUN(over_cap_counts);
	RUN(bad_shapes);
	RUN(bad_names);
	RUN(unknown_tensor_types);
	RUN(bad_offsets);
	RUN(bad_alignment);
	return harness_finish("test_gguf_negative");
}

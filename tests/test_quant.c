/*
 * test_quant.c - the engine's tensor types: geometry, and dequantization
 * of every supported ggml block format.
 *
 * Two kinds of evidence that the layouts are right. Known answers: blocks
 * built byte by byte from docs/quant.md, with the values each element must
 * dequantize to worked out by hand, so that a swapped nibble, a bit taken
 * from the wrong qh position or a scale unpacked from the wrong byte fails
 * by name. Round trips: random data quantized by the test's own
 * round-to-nearest quantizer (test_quant_util.h) must dequantize to
 * exactly the grid value the quantizer chose, and that value must be the
 * nearest grid point to the input. Dot products are in test_quant_dot.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "test_quant_util.h"

TEST(geometry)
{
	static const struct {
		uint32_t type;
		size_t block, bytes, act;
	} want[] = {
	    {VEIL_GGML_F32, 1, 4, 4},        {VEIL_GGML_F16, 1, 2, 4},
	    {VEIL_GGML_BF16, 1, 2, 4},       {VEIL_GGML_Q8_0, 32, 34, 40},
	    {VEIL_GGML_Q4_0, 32, 18, 40},    {VEIL_GGML_Q5_0, 32, 22, 40},
	    {VEIL_GGML_Q5_1, 32, 24, 40},    {VEIL_GGML_Q4_K, 256, 144, 292},
	    {VEIL_GGML_Q6_K, 256, 210, 292},
	};
	/* Q4_1, Q8_1, Q2_K, Q3_K, Q5_K, Q8_K; the retired 4 and 5; other ggml
	 * types (16, 29); numbers ggml never had. */
	static const uint32_t unsupported[] = {3, 9,  10, 11, 13,   15,        4,
					       5, 16, 29, 31, 1000, UINT32_MAX};

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		size_t n = want[i].block * 7;
		EXPECT(quant_supported(want[i].type));
		EXPECT(quant_block_elems(want[i].type) == want[i].block);
		EXPECT(quant_row_bytes(want[i].type, n) == 7 * want[i].bytes);
		EXPECT(quant_act_bytes(want[i].type, n) == 7 * want[i].act);
		EXPECT(quant_row_bytes(want[i].type, 0) == 0);
	}
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
		EXPECT(!quant_supported(unsupported[i]));
		EXPECT(quant_block_elems(unsupported[i]) == 0);
	}
}

/* Runs fn in a child process; true when it died of SIGABRT. */
static bool aborts(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		/* The child's abort message is expected; keep the log clean. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(2);
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void call_partial_block(void)
{
	uint8_t row[68] = {0}, act[80] = {0};
	(void)quant_dot(VEIL_GGML_Q8_0, row, act, 33);
}

static void call_unsupported_type(void)
{
	(void)quant_row_bytes(VEIL_GGML_Q4_1, 32);
}

static void call_huge_row(void)
{
	(void)quant_row_bytes(VEIL_GGML_F32, SIZE_MAX / 2);
}

static void call_partial_superblock(void)
{
	float out[256];
	uint8_t row[144] = {0};
	quant_dequant_row(VEIL_GGML_Q4_K, row, out, 128);
}

/* Broken preconditions are bugs in the caller and stop the process rather
 * than compute on a misread row. */
TEST(preconditions_abort)
{
	EXPECT(aborts(call_partial_block));
	EXPECT(aborts(call_unsupported_type));
	EXPECT(aborts(call_partial_superblock));
	EXPECT(aborts(call_huge_row));
}

/* Every binary16 bit pattern against the test's arithmetic conversion. */
TEST(f16_every_pattern)
{
	int bad = 0;

	for (uint32_t h = 0; h < 65536; h++) {
		uint8_t b[2] = {(uint8_t)h, (uint8_t)(h >> 8)};
		float got, want = qt_h2f((uint16_t)h);
		quant_dequant_row(VEIL_GGML_F16, b, &got, 1);
		if (isnan(want) ? !isnan(got) : memcmp(&got, &want, sizeof got) != 0)
			bad++;
	}
	EXPECT(bad == 0);
}

TEST(bf16_known)
{
	/* 1.0, -3.140625, the smallest subnormal 2^-133, +inf, -0.0. */
	const uint8_t row[] = {0x80, 0x3F, 0x49, 0xC0, 0x01, 0x00, 0x80, 0x7F, 0x00, 0x80};
	float out[5];

	quant_dequant_row(VEIL_GGML_BF16, row, out, 5);
	EXPECT(out[0] == 1.0f);
	EXPECT(out[1] == -3.140625f);
	EXPECT(out[2] == ldexpf(1, -133));
	EXPECT(isinf(out[3]) && out[3] > 0);
	EXPECT(out[4] == 0 && signbit(out[4]));
}

TEST(q8_0_known)
{
	uint8_t blk[34] = {0x00, 0xB8}; /* d = -0.5 */
	float out[32];

	blk[2] = 1, blk[3] = 0xFF, blk[4] = 127, blk[5] = 0x80, blk[33] = 3;
	quant_dequant_row(VEIL_GGML_Q8_0, blk, out, 32);
	EXPECT(out[0] == -0.5f && out[1] == 0.5f && out[2] == -63.5f && out[3] == 64.0f);
	EXPECT(out[4] == 0 && out[31] == -1.5f);
}

/* Low nibbles are elements 0..15, high nibbles 16..31. */
TEST(q4_0_known)
{
	uint8_t blk[18] = {0x00, 0x3C}; /* d = 1 */
	float out[32];

	blk[2] = 0x1F, blk[3] = 0x80, blk[17] = 0x4C;
	quant_dequant_row(VEIL_GGML_Q4_0, blk, out, 32);
	EXPECT(out[0] == 7 && out[16] == -7);
	EXPECT(out[1] == -8 && out[17] == 0);
	EXPECT(out[15] == 4 && out[31] == -4);
	EXPECT(out[2] == -8 && out[18] == -8);
}

/* qh bit e is the fifth bit of element e, qh read little-endian. */
TEST(q5_known)
{
	uint8_t b0[22] = {0x00, 0x3C, 0x01, 0x00, 0x01, 0x80}; /* d = 1, bits 0, 16, 31 */
	uint8_t b1[24] = {0x00, 0x38, 0x00, 0xBC, 0x01, 0x00, 0x01, 0x80}; /* d = .5, m = -1 */
	float out[32];

	b0[6] = 0x21, b0[21] = 0xF0;
	quant_dequant_row(VEIL_GGML_Q5_0, b0, out, 32);
	EXPECT(out[0] == 1 && out[16] == 2);     /* 0x11 - 16, 0x12 - 16 */
	EXPECT(out[1] == -16 && out[17] == -16); /* no bits */
	EXPECT(out[15] == -16 && out[31] == 15); /* 0x1F - 16 */

	b1[8] = 0x21, b1[23] = 0xF0;
	quant_dequant_row(VEIL_GGML_Q5_1, b1, out, 32);
	EXPECT(out[0] == 7.5f && out[16] == 8);
	EXPECT(out[1] == -1 && out[17] == -1);
	EXPECT(out[31] == 14.5f);
}

/* Sub-block scales {1, 2, 3, 4, 17, 33, 49, 63} and mins {5, 6, 7, 8, 34,
 * 2, 62, 17}, packed by hand: scales 4-7 keep their top two bits in bytes
 * 0-3 and mins 4-7 theirs in bytes 4-7 (different bits, so that reading
 * one for the other fails). */
TEST(q4_k_known)
{
	uint8_t blk[144] = {0x00, 0x3C, 0x00, 0x38, /* d = 1, dmin = 0.5 */
			    0x41, 0x82, 0xC3, 0xC4, 0x85, 0x06, 0xC7, 0x48, 0x21, 0x21, 0xE1, 0x1F};
	static const int sc[8] = {1, 2, 3, 4, 17, 33, 49, 63}, mn[8] = {5, 6, 7, 8, 34, 2, 62, 17};
	float out[256];

	blk[16] = 0x21;          /* element 0 (sub-block 0) = 1, element 32 (sub-block 1) = 2 */
	blk[16 + 96 + 5] = 0xF3; /* element 197 (sub-block 6) = 3, element 229 (7) = 15 */
	for (int k = 0; k < 4; k++)
		blk[16 + 32 * k + 10] = 0x11; /* element 10 of every sub-block = 1 */
	quant_dequant_row(VEIL_GGML_Q4_K, blk, out, 256);
	EXPECT(out[0] == 1 * 1 - 2.5f);
	EXPECT(out[32] == 2 * 2 - 3.0f);
	EXPECT(out[197] == 49 * 3 - 31.0f);
	EXPECT(out[229] == 63 * 15 - 8.5f);
	for (int j = 0; j < 8; j++) {
		EXPECT(out[32 * j + 9] == -0.5f * (float)mn[j]); /* q = 0 */
		EXPECT(out[32 * j + 10] == (float)sc[j] - 0.5f * (float)mn[j]);
	}
}

/* ql/qh placement of the four groups of each half, and one int8 scale per
 * 16 elements. */
TEST(q6_k_known)
{
	static const int8_t sc[16] = {1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 127, -128};
	uint8_t blk[210] = {0};
	float out[256];

	memcpy(blk + 192, sc, 16);
	blk[208] = 0x00, blk[209] = 0x38;               /* d = 0.5 */
	blk[0] = 0x5A, blk[32] = 0xC3, blk[128] = 0xE4; /* qh pairs 0, 1, 2, 3 */
	blk[127] = 0xF0, blk[191] = 0xC0;
	quant_dequant_row(VEIL_GGML_Q6_K, blk, out, 256);
	EXPECT(out[0] == 0.5f * 1 * (10 - 32));      /* low nibble of ql[0], bits 0-1 */
	EXPECT(out[32] == 0.5f * 2 * (19 - 32));     /* low nibble of ql[32], bits 2-3 */
	EXPECT(out[64] == 0.5f * 3 * (37 - 32));     /* high nibble of ql[0], bits 4-5 */
	EXPECT(out[96] == 0.5f * 4 * (60 - 32));     /* high nibble of ql[32], bits 6-7 */
	EXPECT(out[128] == 0.5f * 5 * (0 - 32));     /* second half: ql[64], qh[32] */
	EXPECT(out[255] == 0.5f * -128 * (63 - 32)); /* high nibble of ql[127], qh[63] bits 6-7 */
	EXPECT(out[1] == -16 && out[16] == 16 && out[224] == 0.5f * 127 * -32);
}

/* Quantizes x with the reference quantizer and checks the library's
 * dequantization: exact grid values, each the nearest to its input. */
static void check_round_trip(const qt_type *t, const float *x, size_t n, bool negate)
{
	uint8_t *row = calloc(1, quant_row_bytes(t->type, n));
	qt_grid *grid = calloc(n, sizeof *grid);
	float *out = calloc(n, sizeof *out);
	size_t wrong = 0, far = 0;
	double err2 = 0, x2 = 0;

	if (qt_is_float(t->type)) {
		qt_store_float(t->type, x, n, row);
		quant_dequant_row(t->type, row, out, n);
		for (size_t i = 0; i < n; i++) {
			float want = x[i];
			uint32_t bits;
			memcpy(&bits, &x[i], 4);
			if (t->type == VEIL_GGML_F16)
				want = qt_hround(x[i]);
			else if (t->type == VEIL_GGML_BF16)
				bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000u,
				memcpy(&want, &bits, 4);
			wrong += out[i] != want;
		}
		EXPECT(wrong == 0);
		goto out;
	}
	qt_quantize(t->type, x, n, row, grid, negate);
	quant_dequant_row(t->type, row, out, n);
	for (size_t i = 0; i < n; i++) {
		const qt_grid *g = &grid[i];
		int q = qt_nearest(g, x[i]);
		float lo = qt_value(g, g->qmin), hi = qt_value(g, g->qmax);
		double e = fabs((double)x[i] - out[i]);

		wrong += out[i] != qt_value(g, q);
		/* Inside the grid's range: within half a step. Outside: the
		 * nearer end. */
		if (x[i] >= fminf(lo, hi) && x[i] <= fmaxf(lo, hi))
			far += e > 0.5 * fabs(g->scale) * (1 + 1e-6) + 1e-12;
		else
			far += out[i] != (fabsf(x[i] - lo) < fabsf(x[i] - hi) ? lo : hi);
		err2 += e * e;
		x2 += (double)x[i] * x[i];
	}
	EXPECT(wrong == 0);
	EXPECT(far == 0);
	/* A sane quantizer: relative RMS error well under a step of a 4-bit
	 * grid over the data's range. */
	if (x2 > 0)
		EXPECT(sqrt(err2 / x2) <
		       (t->block == 32 && t->type == VEIL_GGML_Q8_0 ? 0.01 : 0.12));
	if (wrong != 0 || far != 0)
		fprintf(stderr, "  %s n=%zu%s: %zu wrong, %zu not nearest\n", t->name, n,
			negate ? " negated" : "", wrong, far);
out:
	free(row);
	free(grid);
	free(out);
}

TEST(round_trip)
{
	static const float ranges[] = {1.0f, 1e-3f, 300.0f};
	uint64_t seed = 0x9E3779B97F4A7C15ULL;

	for (size_t t = 0; t < QT_NTYPES; t++) {
		size_t blk = qt_types[t].block < 32 ? 32 : qt_types[t].block;
		for (size_t r = 0; r < 3; r++) {
			for (size_t nb = 1; nb <= 8; nb += 7) {
				size_t n = blk * nb;
				float *x = malloc(n * sizeof *x);
				for (size_t i = 0; i < n; i++)
					x[i] = qt_uniform(&seed) * ranges[r];
				/* Some blocks skewed to one side, as real weights are
				 * not always centred (exercises Q5_1 / Q4_K offsets). */
				for (size_t i = 0; i < n / 2; i++)
					x[i] = x[i] * 0.25f + 0.5f * ranges[r];
				check_round_trip(&qt_types[t], x, n, false);
				check_round_trip(&qt_types[t], x, n, true);
				free(x);
			}
		}
	}
}

/* All-zero data: zero scales must give zeros, never 0 * inf or 0 / 0. */
TEST(zeros)
{
	for (size_t t = 0; t < QT_NTYPES; t++) {
		size_t n = qt_types[t].block < 32 ? 32 : qt_types[t].block;
		float x[256] = {0}, out[256];
		uint8_t row[256 * 4];
		qt_grid grid[256];

		if (qt_is_float(qt_types[t].type))
			qt_store_float(qt_types[t].type, x, n, row);
		else
			qt_quantize(qt_types[t].type, x, n, row, grid, false);
		quant_dequant_row(qt_types[t].type, row, out, n);
		for (size_t i = 0; i < n; i++)
			EXPECT(out[i] == 0);
	}
}

/* The largest binary16 scale with the extreme quantized values stays
 * finite and is computed as the layout says. */
TEST(max_scales)
{
	const float dmax = 65504.0f;
	uint8_t q8[34], q4k[144], q6k[210];
	float out[256];

	memset(q8, 0x80, sizeof q8); /* every qs = -128 */
	q8[0] = 0xFF, q8[1] = 0x7B;
	quant_dequant_row(VEIL_GGML_Q8_0, q8, out, 32);
	EXPECT(out[0] == -128 * dmax && out[31] == -128 * dmax);

	memset(q4k, 0xFF, sizeof q4k); /* sc = m = 63, q = 15 */
	q4k[0] = 0xFF, q4k[1] = 0x7B, q4k[2] = 0xFF, q4k[3] = 0x7B;
	quant_dequant_row(VEIL_GGML_Q4_K, q4k, out, 256);
	EXPECT(out[0] == (dmax * 63) * 15 - dmax * 63 && isfinite(out[255]));

	memset(q6k, 0, sizeof q6k);       /* q = -32 */
	memset(q6k + 192, 0x80, 16);      /* scales -128 */
	q6k[208] = 0xFF, q6k[209] = 0xFB; /* d = -65504 */
	quant_dequant_row(VEIL_GGML_Q6_K, q6k, out, 256);
	EXPECT(out[0] == (-dmax * -128) * -32 && out[255] == out[0]);
}

int main(void)
{
	RUN(geometry);
	RUN(preconditions_abort);
	RUN(f16_every_pattern);
	RUN(bf16_known);
	RUN(q8_0_known);
	RUN(q4_0_known);
	RUN(q5_known);
	RUN(q4_k_known);
	RUN(q6_k_known);
	RUN(round_trip);
	RUN(zeros);
	RUN(max_scales);
	return harness_finish("test_quant");
}

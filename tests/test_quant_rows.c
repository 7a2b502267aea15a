/*
 * test_quant_rows.c - quant_dot_rows, the multi-row dot products the
 * engine's matrix-vector products use, against quant_dot one row at a
 * time.
 *
 * The SIMD kernels compute four rows at once, sharing the activation's
 * loads and reducing the four rows' accumulators together
 * (docs/quant.md, "Several rows at a time"). They promise the single-row
 * result bit for bit, not merely within rounding: the engine's logits must
 * not depend on how rows fall into groups of four, which changes with the
 * thread count. So every comparison here is of the bits. The data are
 * chosen to make the float sums sensitive to the order of additions
 * (magnitudes spread over several binary orders, signs mixed), so a
 * reduction that paired lanes differently would show. Row counts cover
 * groups of four and every remainder, column counts the kernels' block
 * steps and their tails, row strides with padding and misalignment.
 * Quantized correctness itself is test_quant_dot's subject.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "test_quant_util.h"

#define MAX_ROWS 13

static size_t isas_available(const char **out)
{
	size_t k = 0;

	for (size_t i = 0; i < QT_NISAS; i++)
		if (quant_force_isa(qt_isas[i]))
			out[k++] = qt_isas[i];
	(void)quant_force_isa(NULL);
	return k;
}

/* A matrix of `rows` rows of n elements, `stride` bytes apart, starting
 * `skew` bytes into its allocation (kernels take rows at any alignment). */
typedef struct qr_matrix {
	uint8_t *alloc, *w;
	size_t rows, n, stride;
} qr_matrix;

/* Row r's values: uniform, scaled by 2^(r % 5 - 2) and by 8 on every
 * seventh element, so partial sums differ in magnitude and the order of
 * additions matters. Odd rows are stored with negated scales. */
static void matrix_make(qr_matrix *m, uint32_t type, size_t rows, size_t n, size_t pad, size_t skew,
			uint64_t *seed)
{
	size_t row_bytes = quant_row_bytes(type, n);
	float *x = malloc(n * sizeof *x);
	qt_grid *g = calloc(n, sizeof *g);

	m->rows = rows;
	m->n = n;
	m->stride = row_bytes + pad;
	m->alloc = calloc(1, rows * m->stride + skew + 1);
	m->w = m->alloc + skew;
	for (size_t r = 0; r < rows; r++) {
		float scale = ldexpf(1.0f, (int)(r % 5) - 2);

		for (size_t i = 0; i < n; i++)
			x[i] = qt_uniform(seed) * scale * (i % 7 == 3 ? 8.0f : 1.0f);
		if (qt_is_float(type))
			qt_store_float(type, x, n, m->w + r * m->stride);
		else
			qt_quantize(type, x, n, m->w + r * m->stride, g, r % 2 == 1);
		/* Padding bytes hold garbage a kernel must not read as weights. */
		memset(m->w + r * m->stride + row_bytes, 0xA5, pad);
	}
	free(x);
	free(g);
}

/* An activation of n elements with values over several binary orders. */
static uint8_t *act_make(uint32_t type, size_t n, uint64_t *seed)
{
	float *x = malloc(n * sizeof *x);
	uint8_t *act = malloc(quant_act_bytes(type, n));

	for (size_t i = 0; i < n; i++)
		x[i] = qt_uniform(seed) * ldexpf(1.0f, (int)(qt_next(seed) % 9) - 4);
	quant_act_prepare(type, x, n, act);
	free(x);
	return act;
}

/* quant_dot_rows on the matrix against quant_dot per row, on the current
 * ISA: the same bits, and nothing written past y[rows - 1]. Returns the
 * number of mismatches. */
static int compare_rows(uint32_t type, const char *what, const qr_matrix *m, const uint8_t *act)
{
	float y[MAX_ROWS + 1];
	const uint32_t sentinel = 0x7FC0DEAD;
	int bad = 0;

	memcpy(&y[m->rows], &sentinel, sizeof sentinel);
	quant_dot_rows(type, m->w, m->stride, m->rows, act, m->n, y);
	for (size_t r = 0; r < m->rows; r++) {
		float one = quant_dot(type, m->w + r * m->stride, act, m->n);

		if (memcmp(&one, &y[r], sizeof one) != 0) {
			if (bad++ < 3)
				fprintf(stderr,
					"  %s %s n=%zu rows=%zu: row %zu %.9g, alone %.9g\n", what,
					quant_isa(), m->n, m->rows, r, y[r], one);
		}
	}
	if (memcmp(&y[m->rows], &sentinel, sizeof sentinel) != 0) {
		fprintf(stderr, "  %s %s: wrote past %zu rows\n", what, quant_isa(), m->rows);
		bad++;
	}
	return bad;
}

/* Every type and ISA; row counts around groups of four; column counts
 * from one block to the stories110M width, through the kernels' steps of
 * one, two and four blocks and their tails. */
TEST(rows_equal_single_rows)
{
	static const size_t n_rows[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13};
	static const size_t n_blocks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 24};
	static const size_t n_float[] = {1, 7, 16, 33, 64, 100, 768};
	const char *isas[QT_NISAS];
	size_t nisa = isas_available(isas);
	uint64_t seed = 17;
	int bad = 0, cases = 0;

	for (size_t t = 0; t < QT_NTYPES; t++) {
		const qt_type *tt = &qt_types[t];
		bool f = qt_is_float(tt->type);
		size_t ncols = f ? sizeof n_float / sizeof n_float[0] : tt->block == 256 ? 5 : 10;

		for (size_t c = 0; c < ncols; c++) {
			size_t n = f ? n_float[c] : tt->block * n_blocks[c];
			uint8_t *act = act_make(tt->type, n, &seed);

			for (size_t k = 0; k < sizeof n_rows / sizeof n_rows[0]; k++) {
				qr_matrix m;

				matrix_make(&m, tt->type, n_rows[k], n, k % 3 == 1 ? 5 : 0, k % 2,
					    &seed);
				for (size_t i = 0; i < nisa; i++) {
					REQUIRE(quant_force_isa(isas[i]));
					bad += compare_rows(tt->type, tt->name, &m, act);
					cases++;
				}
				free(m.alloc);
			}
			free(act);
		}
	}
	(void)quant_force_isa(NULL);
	EXPECT(cases > 0);
	EXPECT(bad == 0);
}

/* The AVX-512 kernels lay the activation out once per call for rows of up
 * to 256 blocks and read it as it is beyond: both sides of that line, for
 * the formats that have it, and the k-quants' long rows. */
TEST(rows_wide)
{
	static const struct {
		uint32_t type;
		size_t blocks;
	} cases[] = {
	    {VEIL_GGML_Q8_0, 255}, {VEIL_GGML_Q8_0, 256}, {VEIL_GGML_Q8_0, 257},
	    {VEIL_GGML_Q8_0, 260}, {VEIL_GGML_Q4_0, 256}, {VEIL_GGML_Q4_0, 259},
	    {VEIL_GGML_Q4_K, 17},  {VEIL_GGML_Q6_K, 17},
	};
	const char *isas[QT_NISAS];
	size_t nisa = isas_available(isas);
	uint64_t seed = 29;
	int bad = 0;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		uint32_t type = cases[c].type;
		size_t n = quant_block_elems(type) * cases[c].blocks;
		uint8_t *act = act_make(type, n, &seed);
		qr_matrix m;

		matrix_make(&m, type, 6, n, 0, 1, &seed);
		for (size_t i = 0; i < nisa; i++) {
			REQUIRE(quant_force_isa(isas[i]));
			bad += compare_rows(type, "wide", &m, act);
		}
		free(m.alloc);
		free(act);
	}
	(void)quant_force_isa(NULL);
	EXPECT(bad == 0);
}

/* The rows of a group of four are reduced in one register: a row of
 * infinities or NaN (a binary16 scale of 0x7C00 or 0x7E00) must stay in
 * its own row and leave its neighbours' results as they are alone. */
TEST(rows_non_finite_stay_in_their_row)
{
	static const uint32_t types[] = {VEIL_GGML_Q8_0, VEIL_GGML_Q4_0, VEIL_GGML_Q4_K,
					 VEIL_GGML_Q6_K};
	static const uint16_t scales[] = {0x7C00, 0xFC00, 0x7E00};
	const char *isas[QT_NISAS];
	size_t nisa = isas_available(isas);
	uint64_t seed = 19;
	int bad = 0;

	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		size_t blk = quant_block_elems(types[t]), n = 4 * blk;
		size_t bb = quant_row_bytes(types[t], blk);
		size_t d_at = types[t] == VEIL_GGML_Q6_K ? 208 : 0; /* the f16 d */
		uint8_t *act = act_make(types[t], n, &seed);

		for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
			qr_matrix m;
			float y[MAX_ROWS + 1], alone;

			matrix_make(&m, types[t], 8, n, 0, 0, &seed);
			/* Row 5's second block: second row of the second group. */
			qt_put16(m.w + 5 * m.stride + bb + d_at, scales[s]);
			for (size_t i = 0; i < nisa; i++) {
				REQUIRE(quant_force_isa(isas[i]));
				bad += compare_rows(types[t], "non-finite", &m, act);
				quant_dot_rows(types[t], m.w, m.stride, m.rows, act, n, y);
				alone = quant_dot(types[t], m.w + 5 * m.stride, act, n);
				for (size_t r = 0; r < m.rows; r++)
					bad += (r == 5) == isfinite(y[r]);
				bad += isfinite(alone);
			}
			free(m.alloc);
		}
		free(act);
	}
	(void)quant_force_isa(NULL);
	EXPECT(bad == 0);
}

/* The largest values the formats hold, against activations of +-127: the
 * shared activation sums and the zero points taken out of them must not
 * overflow or saturate differently from the single-row path. */
TEST(rows_extremes)
{
	static const struct {
		uint32_t type;
		uint8_t fill;
	} cases[] = {
	    {VEIL_GGML_Q8_0, 0x80}, {VEIL_GGML_Q8_0, 0x7F}, {VEIL_GGML_Q4_0, 0x00},
	    {VEIL_GGML_Q4_0, 0xFF}, {VEIL_GGML_Q4_K, 0xFF}, {VEIL_GGML_Q6_K, 0x00},
	    {VEIL_GGML_Q6_K, 0xFF},
	};
	const char *isas[QT_NISAS];
	size_t nisa = isas_available(isas);
	int bad = 0;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		uint32_t type = cases[c].type;
		size_t n = quant_block_elems(type) * 5, rows = 6;
		qr_matrix m = {.rows = rows, .n = n, .stride = quant_row_bytes(type, n)};
		float *x = malloc(n * sizeof *x);
		uint8_t *act = malloc(quant_act_bytes(type, n));

		m.alloc = malloc(rows * m.stride);
		m.w = m.alloc;
		memset(m.w, cases[c].fill, rows * m.stride);
		for (size_t i = 0; i < n; i++)
			x[i] = (i / 3) % 2 ? -127.0f : 127.0f;
		quant_act_prepare(type, x, n, act);
		for (size_t i = 0; i < nisa; i++) {
			REQUIRE(quant_force_isa(isas[i]));
			bad += compare_rows(type, "extreme", &m, act);
		}
		free(m.alloc);
		free(x);
		free(act);
	}
	(void)quant_force_isa(NULL);
	EXPECT(bad == 0);
}

/* No rows: nothing is read or written. One row: the stride is not used,
 * so it may be anything. */
TEST(rows_zero_and_one)
{
	float y[2] = {42.0f, 42.0f}, one;
	uint8_t row[34] = {0x00, 0x3C}, act[40] = {0};
	uint64_t seed = 23;

	for (size_t i = 2; i < sizeof row; i++)
		row[i] = (uint8_t)qt_next(&seed);
	quant_act_prepare(VEIL_GGML_Q8_0, (float[32]){1.0f, -3.0f, 7.5f}, 32, act);
	quant_dot_rows(VEIL_GGML_Q8_0, NULL, 0, 0, act, 32, y);
	EXPECT(y[0] == 42.0f && y[1] == 42.0f);
	quant_dot_rows(VEIL_GGML_Q8_0, row, 0, 1, act, 32, y);
	one = quant_dot(VEIL_GGML_Q8_0, row, act, 32);
	EXPECT(memcmp(&one, &y[0], sizeof one) == 0);
	EXPECT(one != 0);
	EXPECT(y[1] == 42.0f);
}

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

static void call_overlapping_rows(void)
{
	uint8_t w[2 * 34] = {0}, act[40] = {0};
	float y[2];

	quant_dot_rows(VEIL_GGML_Q8_0, w, 33, 2, act, 32, y);
}

static void call_partial_block_rows(void)
{
	uint8_t w[2 * 68] = {0}, act[80] = {0};
	float y[2];

	quant_dot_rows(VEIL_GGML_Q8_0, w, 68, 2, act, 48, y);
}

static void call_unsupported_rows(void)
{
	uint8_t w[64] = {0}, act[128] = {0};
	float y[2];

	quant_dot_rows(VEIL_GGML_Q4_1, w, 20, 2, act, 32, y);
}

/* Broken preconditions are bugs in the caller and stop the process, as
 * quant_dot's do (test_quant.c); rows that overlap are one. */
TEST(rows_preconditions_abort)
{
	EXPECT(aborts(call_overlapping_rows));
	EXPECT(aborts(call_partial_block_rows));
	EXPECT(aborts(call_unsupported_rows));
}

int main(void)
{
	RUN(rows_equal_single_rows);
	RUN(rows_wide);
	RUN(rows_non_finite_stay_in_their_row);
	RUN(rows_extremes);
	RUN(rows_zero_and_one);
	RUN(rows_preconditions_abort);
	return harness_finish("test_quant_rows");
}

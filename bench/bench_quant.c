/*
 * bench_quant.c - how close the engine's dot-product kernels come to the
 * memory bandwidth on one core.
 *
 * A matrix-vector product reads every weight once, so a kernel can at best
 * run at the speed the core streams those bytes in. For each tensor type
 * this builds a 4096 x 4096 matrix, and measures in the same run:
 *   - the baseline: a plain read of the same bytes (a sum of 64-bit loads,
 *     no copy), the streaming read bandwidth of one core;
 *   - y = W x with quant_act_prepare and one quant_dot per row, for each
 *     kernel set the CPU runs (portable, avx2, avx512);
 *   - the same with one quant_dot_rows call for all rows (four rows at a
 *     time where the kernels have it), as the engine computes.
 * The ratio of the two is the figure that matters (the engine needs F32
 * near 0.8 and Q8_0 close behind). A second table does the same with rows
 * of 768 elements (the stories110M width, same total bytes), where
 * per-row overhead shows. Each figure is the best of several rounds, the
 * baseline and the kernel alternating, so a noisy neighbour lowers numbers
 * rather than skewing one side of a ratio.
 *
 * Usage: bench_quant [seconds-per-measurement]   (default 0.3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/quant.h"
#include "veil/gguf.h"

#define ROUNDS 3

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x243F6A8885A308D3ULL;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

typedef struct matrix {
	uint32_t type;
	size_t rows, n, row_bytes;
	uint8_t *w;
	float *x, *y;
	void *act;
} matrix;

static volatile uint64_t sink;

/* The baseline: every byte loaded once, 8 at a time, four running sums. */
static void stream_pass(const matrix *m)
{
	const uint8_t *p = m->w;
	size_t bytes = m->rows * m->row_bytes, i = 0;
	uint64_t s[4] = {0, 0, 0, 0};

	for (; i + 32 <= bytes; i += 32)
		for (int k = 0; k < 4; k++) {
			uint64_t v;
			memcpy(&v, p + i + 8 * k, 8);
			s[k] += v;
		}
	sink = s[0] ^ s[1] ^ s[2] ^ s[3];
}

static void matvec_pass(const matrix *m)
{
	quant_act_prepare(m->type, m->x, m->n, m->act);
	for (size_t r = 0; r < m->rows; r++)
		m->y[r] = quant_dot(m->type, m->w + r * m->row_bytes, m->act, m->n);
}

/* The same product as the engine computes it: one quant_dot_rows call. */
static void matvec_rows_pass(const matrix *m)
{
	quant_act_prepare(m->type, m->x, m->n, m->act);
	quant_dot_rows(m->type, m->w, m->row_bytes, m->rows, m->act, m->n, m->y);
}

/* Passes per second over at least `seconds`. */
static double rate(void (*pass)(const matrix *), const matrix *m, double seconds)
{
	long n = 0;
	double start = now_seconds(), elapsed;

	do {
		pass(m);
		n++;
		elapsed = now_seconds() - start;
	} while (elapsed < seconds);
	return n / elapsed;
}

/* Random weights with sane binary16 scales (no NaN, infinity or
 * subnormal, which would measure something else). */
static void fill(matrix *m)
{
	size_t bytes = m->rows * m->row_bytes, blk = quant_block_elems(m->type);
	size_t bb = quant_row_bytes(m->type, blk);

	for (size_t i = 0; i < bytes; i += 8) {
		uint64_t v = next();
		memcpy(m->w + i, &v, bytes - i < 8 ? bytes - i : 8);
	}
	for (size_t i = 0; i < bytes; i += bb) {
		uint8_t *p = m->w + i;
		switch (m->type) {
		case VEIL_GGML_F32: {
			float f = (float)(next() >> 40) / (float)(1 << 24) - 0.5f;
			memcpy(p, &f, 4);
			break;
		}
		case VEIL_GGML_F16: /* +-[0.5, 1) */
			p[1] = (uint8_t)((p[1] & 0x83) | 0x38);
			break;
		case VEIL_GGML_BF16:
			p[1] = (uint8_t)((p[1] & 0x80) | 0x3F);
			break;
		case VEIL_GGML_Q6_K:
			p[208] = 0x00, p[209] = 0x2C;
			break;
		case VEIL_GGML_Q5_1:
		case VEIL_GGML_Q4_K:
			p[2] = 0x00, p[3] = 0x2C;
			/* fall through */
		default:
			p[0] = 0x00, p[1] = 0x2C; /* 0.0625 */
			break;
		}
	}
	for (size_t i = 0; i < m->n; i++)
		m->x[i] = (float)(next() >> 40) / (float)(1 << 24) - 0.5f;
}

static void matrix_init(matrix *m, uint32_t type, size_t rows, size_t n)
{
	m->type = type;
	m->rows = rows;
	m->n = n;
	m->row_bytes = quant_row_bytes(type, n);
	m->w = aligned_alloc(64, (rows * m->row_bytes + 63) / 64 * 64);
	m->x = malloc(n * sizeof(float));
	m->y = malloc(rows * sizeof(float));
	m->act = malloc(quant_act_bytes(type, n));
	if (m->w == NULL || m->x == NULL || m->y == NULL || m->act == NULL) {
		fprintf(stderr, "bench_quant: out of memory\n");
		exit(1);
	}
	fill(m);
}

static void matrix_free(matrix *m)
{
	free(m->w);
	free(m->x);
	free(m->y);
	free(m->act);
}

static const struct {
	uint32_t type;
	const char *name;
} types[] = {
    {VEIL_GGML_F32, "F32"},   {VEIL_GGML_F16, "F16"},   {VEIL_GGML_BF16, "BF16"},
    {VEIL_GGML_Q8_0, "Q8_0"}, {VEIL_GGML_Q4_0, "Q4_0"}, {VEIL_GGML_Q5_0, "Q5_0"},
    {VEIL_GGML_Q5_1, "Q5_1"}, {VEIL_GGML_Q4_K, "Q4_K"}, {VEIL_GGML_Q6_K, "Q6_K"},
};
static const char *const isas[] = {"portable", "avx2", "avx512"};

/* One table: every type at this row length, total elements fixed. */
static void table(size_t n, double seconds)
{
	const size_t total = (size_t)4096 * 4096;

	printf("\nrows of %zu elements, %zu rows, 1 thread\n\n", n, total / n);
	printf(
	    "| type | MiB   | stream GB/s | kernels  | GB/s   | vs stream | rows GB/s | vs stream "
	    "| Gelem/s |\n");
	printf(
	    "|------|-------|-------------|----------|--------|-----------|-----------|-----------"
	    "|---------|\n");
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		matrix m;
		matrix_init(&m, types[t].type, total / n, n);
		double bytes = (double)m.rows * (double)m.row_bytes;
		for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
			double base = 0, op = 0, rows = 0;
			if (!quant_force_isa(isas[i]))
				continue;
			matvec_pass(&m); /* warm up: page faults, caches */
			for (int r = 0; r < ROUNDS; r++) {
				double b = rate(stream_pass, &m, seconds);
				double o = rate(matvec_pass, &m, seconds);
				double o4 = rate(matvec_rows_pass, &m, seconds);
				base = b > base ? b : base;
				op = o > op ? o : op;
				rows = o4 > rows ? o4 : rows;
			}
			printf("| %-4s | %5.1f | %11.2f | %-8s | %6.2f | %9.3f | %9.2f | %9.3f | "
			       "%7.2f |\n",
			       types[t].name, bytes / (1 << 20), base * bytes / 1e9, isas[i],
			       op * bytes / 1e9, op / base, rows * bytes / 1e9, rows / base,
			       rows * (double)total / 1e9);
			fflush(stdout);
		}
		matrix_free(&m);
	}
	(void)quant_force_isa(NULL);
}

int main(int argc, char **argv)
{
	double seconds = 0.3;

	if (argc > 1) {
		char *end;
		seconds = strtod(argv[1], &end);
		if (*end != '\0' || seconds <= 0 || seconds > 60) {
			fprintf(stderr, "usage: bench_quant [seconds-per-measurement]\n");
			return 2;
		}
	}
	printf("quant_dot bandwidth; automatic kernel choice on this CPU: %s\n", quant_isa());
	table(4096, seconds);
	table(768, seconds);
	return 0;
}

/*
 * test_quant_dot.c - activation preparation and the dot-product kernels
 * of every tensor type, on every instruction set this CPU can run.
 *
 * The reference for a dot product is a double-precision sum over the
 * dequantized row (quant_dequant_row, itself checked against hand-built
 * blocks in test_quant.c) and the dequantized activation. Kernels sum
 * integers exactly and round only when applying scales, so the tolerance
 * is a small multiple of float rounding over the sum of the magnitudes of
 * the terms, including the offset parts of Q5_1 and Q4_K that cancel. A
 * one-hot activation picks out single elements, which catches a kernel
 * that pairs a weight with the wrong activation even where a random sum
 * would hide it. Each ISA is forced in turn with quant_force_isa.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_quant_util.h"

#define TOL 1e-5

/* A weight row for a test: bytes, dequantized values, and per element the
 * magnitude of its parts (|scale * (q - zero)| + |offset|). */
typedef struct qt_row {
	uint8_t *bytes;
	float *w;
	double *mag;
	size_t n;
} qt_row;

static void row_make(qt_row *r, uint32_t type, const float *x, size_t n)
{
	qt_grid *g = calloc(n, sizeof *g);

	r->n = n;
	r->bytes = calloc(1, quant_row_bytes(type, n));
	r->w = calloc(n, sizeof *r->w);
	r->mag = calloc(n, sizeof *r->mag);
	if (qt_is_float(type))
		qt_store_float(type, x, n, r->bytes);
	else
		qt_quantize(type, x, n, r->bytes, g, false);
	quant_dequant_row(type, r->bytes, r->w, n);
	for (size_t i = 0; i < n; i++) {
		if (qt_is_float(type))
			r->mag[i] = fabs(r->w[i]);
		else
			r->mag[i] = fabs((double)r->w[i] - g[i].offset) + fabs(g[i].offset);
	}
	free(g);
}

static void row_free(qt_row *r)
{
	free(r->bytes);
	free(r->w);
	free(r->mag);
}

/* The ISAs this machine runs (portable always). */
static size_t isas_available(const char **out)
{
	size_t k = 0;

	for (size_t i = 0; i < QT_NISAS; i++)
		if (quant_force_isa(qt_isas[i]))
			out[k++] = qt_isas[i];
	(void)quant_force_isa(NULL);
	return k;
}

/* quant_dot of r with x on every ISA against the double reference; also
 * every SIMD result against the portable one. Returns failures. */
static int check_dot(uint32_t type, const char *name, const qt_row *r, const float *x)
{
	size_t n = r->n;
	uint8_t *act = malloc(quant_act_bytes(type, n));
	double *a = malloc(n * sizeof *a), ref = 0, mag = 0;
	const char *isas[QT_NISAS];
	size_t nisa = isas_available(isas);
	float portable = 0;
	int bad = 0;

	quant_act_prepare(type, x, n, act);
	qt_act_values(type, act, n, a);
	for (size_t i = 0; i < n; i++) {
		ref += (double)r->w[i] * a[i];
		mag += r->mag[i] * fabs(a[i]);
	}
	for (size_t k = 0; k < nisa; k++) {
		float got;
		if (!quant_force_isa(isas[k])) {
			bad++;
			continue;
		}
		got = quant_dot(type, r->bytes, act, n);
		if (k == 0)
			portable = got;
		if (!isfinite(got) || fabs(got - ref) > TOL * mag + 1e-30 ||
		    fabs((double)got - portable) > TOL * mag + 1e-30) {
			fprintf(stderr, "  %s %s n=%zu: got %.9g, reference %.9g, portable %.9g\n",
				name, isas[k], n, got, ref, portable);
			bad++;
		}
	}
	(void)quant_force_isa(NULL);
	free(act);
	free(a);
	return bad;
}

static void fill(float *x, size_t n, float scale, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++)
		x[i] = qt_uniform(seed) * scale;
}

TEST(isa_control)
{
	const char *isas[QT_NISAS];
	const char *chosen = quant_isa();
	size_t nisa;

	EXPECT(!quant_force_isa("bogus"));
	EXPECT(!quant_force_isa(""));
	EXPECT(strcmp(quant_isa(), chosen) == 0);
	EXPECT(quant_force_isa("portable"));
	EXPECT(strcmp(quant_isa(), "portable") == 0);
	EXPECT(quant_force_isa(NULL));
	EXPECT(strcmp(quant_isa(), chosen) == 0);
	nisa = isas_available(isas);
	REQUIRE(nisa >= 1 && strcmp(isas[0], "portable") == 0);
	EXPECT(strcmp(chosen, isas[nisa - 1]) == 0); /* the widest the CPU runs */
	fprintf(stderr, "  kernels: %s\n", chosen);
}

/* A8: d = max|x| / 127, each q within half a step, s = d * sum(q). */
TEST(act_a8)
{
	uint64_t seed = 1;
	float x[128];
	uint8_t act[4 * 40];

	fill(x, 128, 3.0f, &seed);
	memset(x + 64, 0, 32 * sizeof(float)); /* block 2: zeros */
	x[100] = -7.0f;                        /* block 3: a negative maximum */
	quant_act_prepare(VEIL_GGML_Q8_0, x, 128, act);
	for (int b = 0; b < 4; b++) {
		const uint8_t *blk = act + 40 * b;
		float d, s, amax = 0;
		int sum = 0;
		memcpy(&d, blk, 4);
		memcpy(&s, blk + 4, 4);
		for (int i = 0; i < 32; i++)
			amax = fmaxf(amax, fabsf(x[32 * b + i]));
		EXPECT(d == amax / 127);
		for (int i = 0; i < 32; i++) {
			int8_t q = (int8_t)blk[8 + i];
			sum += q;
			EXPECT(q != -128);
			EXPECT(fabsf(x[32 * b + i] - d * q) <= 0.5f * d * 1.0001f);
		}
		EXPECT(s == d * (float)sum);
	}
	EXPECT((int8_t)act[3 * 40 + 8 + 4] == -127); /* x[100] */
	EXPECT(quant_act_bytes(VEIL_GGML_Q5_1, 128) == sizeof act);
}

/* A8K: one scale per 256, bsums[g] = the sum of qs[16g .. 16g + 15]. */
TEST(act_a8k)
{
	uint64_t seed = 2;
	float x[512];
	uint8_t act[2 * 292];

	fill(x, 512, 0.01f, &seed);
	memset(x + 256, 0, 256 * sizeof(float));
	quant_act_prepare(VEIL_GGML_Q4_K, x, 512, act);
	for (int b = 0; b < 2; b++) {
		const uint8_t *blk = act + 292 * b;
		float d, amax = 0;
		memcpy(&d, blk, 4);
		for (int i = 0; i < 256; i++)
			amax = fmaxf(amax, fabsf(x[256 * b + i]));
		EXPECT(d == amax / 127);
		for (int g = 0; g < 16; g++) {
			int sum = 0;
			int16_t bs;
			for (int i = 0; i < 16; i++) {
				int8_t q = (int8_t)blk[4 + 16 * g + i];
				sum += q;
				EXPECT(fabsf(x[256 * b + 16 * g + i] - d * q) <=
				       0.5f * d * 1.0001f);
			}
			memcpy(&bs, blk + 260 + 2 * g, 2);
			EXPECT(bs == sum);
		}
	}
}

/* For the float formats the prepared activation is x itself, and may be
 * x's own buffer. */
TEST(act_float_is_x)
{
	uint64_t seed = 5;
	float x[40], copy[40], act[40];

	fill(x, 40, 2.0f, &seed);
	memcpy(copy, x, sizeof x);
	for (size_t t = 0; t < 3; t++) {
		quant_act_prepare(qt_types[t].type, x, 40, act);
		EXPECT(memcmp(act, x, sizeof x) == 0);
		quant_act_prepare(qt_types[t].type, x, 40, x);
		EXPECT(memcmp(copy, x, sizeof x) == 0);
		EXPECT(quant_act_bytes(qt_types[t].type, 40) == sizeof x);
	}
}

/* Non-finite activations give some finite activation, not undefined
 * behaviour (the sanitizer build checks the float-to-int conversions). */
TEST(act_non_finite)
{
	float x[256] = {0};
	uint8_t act[292];

	x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = 1.0f;
	quant_act_prepare(VEIL_GGML_Q6_K, x, 256, act);
	quant_act_prepare(VEIL_GGML_Q8_0, x, 32, act);
	for (int i = 0; i < 32; i++)
		EXPECT((int8_t)act[8 + i] >= -127);
}

/* Every ISA prepares the same bytes as the portable code, including at
 * rounding ties, for non-finite inputs and for zero blocks. */
TEST(act_same_on_every_isa)
{
	const char *isas[QT_NISAS];
	size_t nisa = isas_available(isas);
	uint64_t seed = 3;
	float x[1024];
	static uint8_t want[2][4 * 292 + 32 * 40], got[2][4 * 292 + 32 * 40];
	const uint32_t types[2] = {VEIL_GGML_Q8_0, VEIL_GGML_Q6_K};

	fill(x, 1024, 5.0f, &seed);
	/* Blocks 0-1: amax 127 makes the scale 1, so halves are ties. */
	for (int i = 0; i < 64; i++)
		x[i] = (float)(i - 32) + 0.5f;
	x[0] = 127.0f, x[32] = -127.0f;
	/* NaN last in a block and in a super-block, infinity first. */
	x[127] = NAN, x[255] = NAN, x[96] = INFINITY;
	memset(x + 512, 0, 256 * sizeof(float)); /* a zero super-block */
	x[300] = -1e30f, x[301] = 1e-30f;
	for (int t = 0; t < 2; t++) {
		size_t bytes = quant_act_bytes(types[t], 1024);
		REQUIRE(quant_force_isa("portable"));
		quant_act_prepare(types[t], x, 1024, want[t]);
		for (size_t i = 1; i < nisa; i++) {
			REQUIRE(quant_force_isa(isas[i]));
			memset(got[t], 0xAA, sizeof got[t]);
			quant_act_prepare(types[t], x, 1024, got[t]);
			EXPECT(memcmp(got[t], want[t], bytes) == 0);
			EXPECT(got[t][bytes] == 0xAA); /* nothing written past the end */
		}
	}
	(void)quant_force_isa(NULL);
}

TEST(dot_random)
{
	static const size_t n_float[] = {1, 7, 8, 31, 33, 100, 4096};
	static const size_t n_blocks[] = {1, 2, 3, 5, 128};
	uint64_t seed = 7;
	int bad = 0;

	for (size_t t = 0; t < QT_NTYPES; t++) {
		const qt_type *tt = &qt_types[t];
		bool f = qt_is_float(tt->type);
		size_t cases = f ? 7 : 5;
		for (size_t c = 0; c < cases; c++) {
			size_t n = f ? n_float[c] : tt->block * n_blocks[c];
			if (tt->block == 256 && n > 4096)
				n = 16 * 256;
			float *w = malloc(n * sizeof *w), *x = malloc(n * sizeof *x);
			qt_row r;
			fill(w, n, 0.05f, &seed);
			fill(x, n, 4.0f, &seed);
			/* Off-centre weights and one large activation per case. */
			for (size_t i = 0; i < n; i += 3)
				w[i] += 0.02f;
			x[n / 2] = 40.0f;
			row_make(&r, tt->type, w, n);
			bad += check_dot(tt->type, tt->name, &r, x);
			row_free(&r);
			free(w);
			free(x);
		}
	}
	EXPECT(bad == 0);
}

/* One-hot activations: quant_dot must return exactly that element's
 * weight (times 127 for the quantized activations, so that the
 * activation's scale is 1 and q = 127, or -127). */
TEST(dot_one_hot)
{
	uint64_t seed = 11;
	const char *isas[QT_NISAS];
	size_t nisa = isas_available(isas);
	int bad = 0;

	for (size_t t = 0; t < QT_NTYPES; t++) {
		const qt_type *tt = &qt_types[t];
		bool f = qt_is_float(tt->type);
		size_t n = f ? 75 : 3 * tt->block;
		float *w = malloc(n * sizeof *w), *x = calloc(n, sizeof *x);
		uint8_t *act = malloc(quant_act_bytes(tt->type, n));
		qt_row r;

		fill(w, n, 1.0f, &seed);
		row_make(&r, tt->type, w, n);
		for (size_t k = 0; k < n; k++) {
			float hot = f ? 1.0f : ((k & 1) ? -127.0f : 127.0f);
			double want = (double)r.w[k] * hot;
			x[k] = hot;
			quant_act_prepare(tt->type, x, n, act);
			x[k] = 0;
			for (size_t i = 0; i < nisa; i++) {
				float got;
				(void)quant_force_isa(isas[i]);
				got = quant_dot(tt->type, r.bytes, act, n);
				if (fabs(got - want) > 1e-6 * r.mag[k] * 127) {
					if (bad++ < 5)
						fprintf(stderr,
							"  %s %s element %zu: %.9g, want %.9g\n",
							tt->name, isas[i], k, got, want);
				}
			}
		}
		(void)quant_force_isa(NULL);
		row_free(&r);
		free(w);
		free(x);
		free(act);
	}
	EXPECT(bad == 0);
}

/* Zero weights or zero activations give exactly zero, not NaN. */
TEST(dot_zeros)
{
	uint64_t seed = 13;
	int bad = 0;

	for (size_t t = 0; t < QT_NTYPES; t++) {
		const qt_type *tt = &qt_types[t];
		size_t n = tt->block < 32 ? 64 : 2 * tt->block;
		float zero[512] = {0}, x[512];
		qt_row rz, rx;
		uint8_t act[2 * 292 + 512 * 4];
		const char *isas[QT_NISAS];
		size_t nisa = isas_available(isas);

		fill(x, n, 1.0f, &seed);
		row_make(&rz, tt->type, zero, n);
		row_make(&rx, tt->type, x, n);
		for (size_t i = 0; i < nisa; i++) {
			(void)quant_force_isa(isas[i]);
			quant_act_prepare(tt->type, x, n, act);
			bad += quant_dot(tt->type, rz.bytes, act, n) != 0;
			quant_act_prepare(tt->type, zero, n, act);
			bad += quant_dot(tt->type, rx.bytes, act, n) != 0;
			bad += quant_dot(tt->type, rz.bytes, act, n) != 0;
		}
		(void)quant_force_isa(NULL);
		row_free(&rz);
		row_free(&rx);
	}
	EXPECT(bad == 0);
}

/* Extreme rows: every quantized value at its largest magnitude, under the
 * largest binary16 scales, against activations of +-127: the integer
 * products the SIMD kernels form in 16-bit lanes must not saturate, and
 * nothing may overflow. Magnitude bounds per type are from the layouts. */
TEST(dot_extremes)
{
	static const struct {
		uint32_t type;
		uint8_t fill;
		double unit; /* the largest |w| per unit of binary16 scale(s) */
	} cases[] = {
	    {VEIL_GGML_Q8_0, 0x80, 128},      {VEIL_GGML_Q8_0, 0x7F, 128},
	    {VEIL_GGML_Q4_0, 0x00, 8},        {VEIL_GGML_Q5_0, 0x00, 16},
	    {VEIL_GGML_Q5_1, 0xFF, 32},       {VEIL_GGML_Q4_K, 0xFF, 63 * 15 + 63},
	    {VEIL_GGML_Q6_K, 0x00, 128 * 32}, {VEIL_GGML_Q6_K, 0xFF, 128 * 32},
	};
	const char *isas[QT_NISAS];
	size_t nisa = isas_available(isas);
	int bad = 0;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		uint32_t type = cases[c].type;
		size_t n = 2 * quant_block_elems(type), bytes = quant_row_bytes(type, n);
		uint8_t *row = malloc(bytes), *act = malloc(quant_act_bytes(type, n));
		float *w = malloc(n * sizeof *w), *x = malloc(n * sizeof *x);
		size_t bb = bytes / 2;
		double ref = 0, mag = 0;

		memset(row, cases[c].fill, bytes);
		for (size_t b = 0; b < 2; b++) {
			uint8_t *p = row + bb * b;
			uint16_t d = b == 0 ? 0x7BFF : 0xFBFF; /* +-65504 */
			if (type == VEIL_GGML_Q6_K) {
				memset(p + 192, b == 0 ? 0x80 : 0x7F, 16);
				qt_put16(p + 208, d);
			} else {
				qt_put16(p, d);
				if (type == VEIL_GGML_Q5_1 || type == VEIL_GGML_Q4_K)
					qt_put16(p + 2, 0x7BFF);
			}
		}
		for (size_t i = 0; i < n; i++)
			x[i] = (i % 5 == 0) ? -127.0f : 127.0f;
		quant_dequant_row(type, row, w, n);
		quant_act_prepare(type, x, n, act);
		for (size_t i = 0; i < n; i++) {
			ref += (double)w[i] * x[i];
			mag += 65504.0 * cases[c].unit * 127;
		}
		for (size_t i = 0; i < nisa; i++) {
			float got;
			(void)quant_force_isa(isas[i]);
			got = quant_dot(type, row, act, n);
			if (!isfinite(got) || fabs(got - ref) > TOL * mag) {
				fprintf(stderr, "  case %zu %s: %g, want %g\n", c, isas[i], got,
					ref);
				bad++;
			}
		}
		(void)quant_force_isa(NULL);
		free(row);
		free(act);
		free(w);
		free(x);
	}
	EXPECT(bad == 0);
}

/* Weights with negative scales (the reference quantizer's negated
 * encoding) and a scaled-down activation. */
TEST(dot_negative_scales)
{
	uint64_t seed = 17;
	int bad = 0;

	for (size_t t = 0; t < QT_NTYPES; t++) {
		const qt_type *tt = &qt_types[t];
		size_t n = tt->block < 32 ? 96 : 4 * tt->block;
		float *w = malloc(n * sizeof *w), *x = malloc(n * sizeof *x);
		qt_row r;
		qt_grid *g = calloc(n, sizeof *g);

		if (qt_is_float(tt->type)) {
			free(w);
			free(x);
			free(g);
			continue;
		}
		fill(w, n, 2.0f, &seed);
		fill(x, n, 1e-3f, &seed);
		r.n = n;
		r.bytes = calloc(1, quant_row_bytes(tt->type, n));
		r.w = malloc(n * sizeof *r.w);
		r.mag = malloc(n * sizeof *r.mag);
		qt_quantize(tt->type, w, n, r.bytes, g, true);
		quant_dequant_row(tt->type, r.bytes, r.w, n);
		for (size_t i = 0; i < n; i++)
			r.mag[i] = fabs((double)r.w[i] - g[i].offset) + fabs(g[i].offset);
		bad += check_dot(tt->type, tt->name, &r, x);
		row_free(&r);
		free(g);
		free(w);
		free(x);
	}
	EXPECT(bad == 0);
}

int main(void)
{
	RUN(isa_control);
	RUN(act_a8);
	RUN(act_a8k);
	RUN(act_float_is_x);
	RUN(act_non_finite);
	RUN(act_same_on_every_isa);
	RUN(dot_random);
	RUN(dot_one_hot);
	RUN(dot_zeros);
	RUN(dot_extremes);
	RUN(dot_negative_scales);
	return harness_finish("test_quant_dot");
}

/*
 * test_quant_util.h - helpers shared by the tensor-type tests (header-only,
 * static): a seeded generator, binary16 conversions written independently
 * of the library's, a reference quantizer for every block format, and a
 * reader of the prepared activation blocks.
 *
 * The reference quantizer rounds each value to the nearest point of its
 * block's grid (docs/quant.md) and packs the bits by the layout written
 * out again here, so a layout mistake in the library, or here, shows as a
 * mismatch. It reports each element's grid (scale, offset, zero point,
 * range), which lets the tests check both the exact dequantized value and
 * that it is the nearest one to the input.
 */
#ifndef VEIL_TEST_QUANT_UTIL_H
#define VEIL_TEST_QUANT_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "veil/gguf.h"

/* Every type under test, with a printable name. */
typedef struct qt_type {
	uint32_t type;
	const char *name;
	size_t block; /* elements per block */
} qt_type;

static const qt_type qt_types[] = {
    {VEIL_GGML_F32, "F32", 1},    {VEIL_GGML_F16, "F16", 1},     {VEIL_GGML_BF16, "BF16", 1},
    {VEIL_GGML_Q8_0, "Q8_0", 32}, {VEIL_GGML_Q4_0, "Q4_0", 32},  {VEIL_GGML_Q5_0, "Q5_0", 32},
    {VEIL_GGML_Q5_1, "Q5_1", 32}, {VEIL_GGML_Q4_K, "Q4_K", 256}, {VEIL_GGML_Q6_K, "Q6_K", 256},
};
#define QT_NTYPES (sizeof qt_types / sizeof qt_types[0])

static const char *const qt_isas[] = {"portable", "avx2", "avx512"};
#define QT_NISAS 3

/* xorshift64*: reproducible data without libc's rand. */
static inline uint64_t qt_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [-1, 1). */
static inline float qt_uniform(uint64_t *s)
{
	return (float)((double)(qt_next(s) >> 11) * 0x1p-52 - 1.0);
}

/* binary16 -> float by arithmetic (not bit moves, unlike the library). */
static inline float qt_h2f(uint16_t h)
{
	int e = (h >> 10) & 31, m = h & 1023;
	float v;

	if (e == 0)
		v = ldexpf((float)m, -24);
	else if (e == 31)
		v = m != 0 ? NAN : INFINITY;
	else
		v = ldexpf((float)(m + 1024), e - 25);
	return (h & 0x8000) ? -v : v;
}

/* float -> binary16, round to nearest even; overflow gives infinity. */
static inline uint16_t qt_f2h(float f)
{
	uint32_t x, sign, man, h, rem, halfway;
	int exp;

	memcpy(&x, &f, sizeof x);
	sign = (x >> 16) & 0x8000;
	man = x & 0x7FFFFF;
	if (((x >> 23) & 0xFF) == 0xFF)
		return (uint16_t)(sign | 0x7C00 | (man != 0 ? 0x200 : 0));
	exp = (int)((x >> 23) & 0xFF) - 127 + 15;
	if (exp >= 31)
		return (uint16_t)(sign | 0x7C00);
	if (exp <= 0) {
		unsigned shift = (unsigned)(14 - exp);
		if (exp < -10)
			return (uint16_t)sign;
		man |= 0x800000;
		h = man >> shift;
		rem = man & ((1u << shift) - 1);
		halfway = 1u << (shift - 1);
	} else {
		h = (uint32_t)exp << 10 | man >> 13;
		rem = man & 0x1FFF;
		halfway = 0x1000;
	}
	if (rem > halfway || (rem == halfway && (h & 1)))
		h++; /* a carry into the exponent is the correct rounding */
	return (uint16_t)(sign | h);
}

static inline float qt_hround(float f)
{
	return qt_h2f(qt_f2h(f));
}

static inline void qt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* The grid an element was quantized on: value(q) = scale * (q - zero) +
 * offset for integer q in [qmin, qmax]. */
typedef struct qt_grid {
	float scale, offset;
	int zero, qmin, qmax;
} qt_grid;

static inline float qt_value(const qt_grid *g, int q)
{
	return g->scale * (float)(q - g->zero) + g->offset;
}

/* Round to nearest on the grid, ties to even. */
static inline int qt_nearest(const qt_grid *g, float x)
{
	double q;

	if (g->scale == 0)
		return g->zero;
	q = nearbyint(((double)x - g->offset) / g->scale) + g->zero;
	if (q < g->qmin)
		q = g->qmin;
	if (q > g->qmax)
		q = g->qmax;
	return (int)q;
}

/* The value of largest magnitude, with its sign (ggml's "max" for the
 * symmetric formats). */
static inline float qt_signed_max(const float *x, size_t n)
{
	float m = 0;
	for (size_t i = 0; i < n; i++)
		if (fabsf(x[i]) > fabsf(m))
			m = x[i];
	return m;
}

/* Q8_0, Q4_0, Q5_0: one f16 scale, symmetric grid. */
static inline void qt_quant_sym(uint32_t type, const float *x, uint8_t *blk, qt_grid *g)
{
	float m = qt_signed_max(x, 32), d;
	qt_grid grid = {0, 0, 0, 0, 0};
	uint16_t dh;

	if (type == VEIL_GGML_Q8_0) {
		d = fabsf(m) / 127;
		grid.qmin = -127, grid.qmax = 127;
	} else if (type == VEIL_GGML_Q4_0) {
		d = m / -8;
		grid.zero = 8, grid.qmax = 15;
	} else {
		d = m / -16;
		grid.zero = 16, grid.qmax = 31;
	}
	dh = qt_f2h(d);
	grid.scale = qt_h2f(dh);
	qt_put16(blk, dh);
	memset(blk + 2, 0, type == VEIL_GGML_Q8_0 ? 32 : type == VEIL_GGML_Q4_0 ? 16 : 20);
	for (int e = 0; e < 32; e++) {
		int q = qt_nearest(&grid, x[e]);
		g[e] = grid;
		if (type == VEIL_GGML_Q8_0) {
			blk[2 + e] = (uint8_t)(int8_t)q;
		} else {
			/* Q4_0 qs at 2, Q5_0 qh at 2 and qs at 6: element e is
			 * the low nibble of qs[e] (e < 16) or the high nibble of
			 * qs[e - 16]; Q5_0's fifth bit is bit e of qh. */
			uint8_t *qs = blk + (type == VEIL_GGML_Q4_0 ? 2 : 6);
			qs[e % 16] |= (uint8_t)((q & 15) << (e < 16 ? 0 : 4));
			if (type == VEIL_GGML_Q5_0 && (q & 16))
				blk[2 + e / 8] |= (uint8_t)(1 << (e % 8));
		}
	}
}

/* Q5_1: scale and minimum, grid from min to max. */
static inline void qt_quant_q5_1(const float *x, uint8_t *blk, qt_grid *g)
{
	float lo = x[0], hi = x[0];
	uint16_t dh, mh;
	qt_grid grid = {0, 0, 0, 0, 31};

	for (int e = 1; e < 32; e++) {
		lo = fminf(lo, x[e]);
		hi = fmaxf(hi, x[e]);
	}
	dh = qt_f2h((hi - lo) / 31);
	mh = qt_f2h(lo);
	grid.scale = qt_h2f(dh);
	grid.offset = qt_h2f(mh);
	qt_put16(blk, dh);
	qt_put16(blk + 2, mh);
	memset(blk + 4, 0, 20);
	for (int e = 0; e < 32; e++) {
		int q = qt_nearest(&grid, x[e]);
		g[e] = grid;
		blk[8 + e % 16] |= (uint8_t)((q & 15) << (e < 16 ? 0 : 4));
		if (q & 16)
			blk[4 + e / 8] |= (uint8_t)(1 << (e % 8));
	}
}

/* Q4_K: per sub-block of 32 a 6-bit scale and 6-bit min under the f16
 * super-scales d and dmin; value = d*sc*q - dmin*m, q in 0..15. */
static inline void qt_quant_q4_k(const float *x, uint8_t *blk, qt_grid *g)
{
	float scale[8], minv[8], smax = 0, mmax = 0, d, dmin;
	uint8_t sc[8], mn[8], *s = blk + 4, *qs = blk + 16;

	for (int j = 0; j < 8; j++) {
		float lo = 0, hi = x[32 * j];
		for (int l = 0; l < 32; l++) {
			lo = fminf(lo, x[32 * j + l]);
			hi = fmaxf(hi, x[32 * j + l]);
		}
		scale[j] = (hi - lo) / 15;
		minv[j] = -lo;
		smax = fmaxf(smax, scale[j]);
		mmax = fmaxf(mmax, minv[j]);
	}
	qt_put16(blk, qt_f2h(smax / 63));
	qt_put16(blk + 2, qt_f2h(mmax / 63));
	d = qt_h2f(qt_f2h(smax / 63));
	dmin = qt_h2f(qt_f2h(mmax / 63));
	for (int j = 0; j < 8; j++) {
		sc[j] = (uint8_t)(d > 0 ? fminf(nearbyintf(scale[j] / d), 63) : 0);
		mn[j] = (uint8_t)(dmin > 0 ? fminf(nearbyintf(minv[j] / dmin), 63) : 0);
	}
	/* The 12-byte packing: bytes 0-3 and 4-7 hold scales and mins 0-3 in
	 * their low 6 bits and the top 2 bits of scales / mins 4-7 in bits
	 * 6-7; bytes 8-11 hold the low 4 bits of scale (low nibble) and min
	 * (high nibble) 4-7. */
	for (int j = 0; j < 4; j++) {
		s[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
		s[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
		s[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
	}
	memset(qs, 0, 128);
	for (int e = 0; e < 256; e++) {
		int j = e / 32;
		qt_grid grid = {d * sc[j], -(dmin * mn[j]), 0, 0, 15};
		int q = qt_nearest(&grid, x[e]);
		g[e] = grid;
		qs[32 * (j / 2) + e % 32] |= (uint8_t)(q << (j & 1 ? 4 : 0));
	}
}

/* Q6_K: per group of 16 an int8 scale under the f16 d; q6 - 32. */
static inline void qt_quant_q6_k(const float *x, uint8_t *blk, qt_grid *g)
{
	float scale[16], smax = 0, d;
	uint16_t dh;

	for (int k = 0; k < 16; k++) {
		scale[k] = qt_signed_max(x + 16 * k, 16) / -32;
		if (fabsf(scale[k]) > fabsf(smax))
			smax = scale[k];
	}
	dh = qt_f2h(smax / -128);
	d = qt_h2f(dh);
	memset(blk, 0, 210);
	qt_put16(blk + 208, dh);
	for (int k = 0; k < 16; k++) {
		float v = d != 0 ? nearbyintf(scale[k] / d) : 0;
		blk[192 + k] = (uint8_t)(int8_t)fmaxf(fminf(v, 127), -128);
	}
	for (int e = 0; e < 256; e++) {
		int h = e / 128, grp = (e % 128) / 32, l = e % 32;
		qt_grid grid = {d * (float)(int8_t)blk[192 + e / 16], 0, 32, 0, 63};
		int q = qt_nearest(&grid, x[e]);
		g[e] = grid;
		/* ql: 64 bytes per half, groups 0/1 low nibbles of bytes 0-31 /
		 * 32-63, groups 2/3 high nibbles; qh: 32 bytes per half, bit
		 * pair 2*grp. */
		blk[64 * h + 32 * (grp & 1) + l] |= (uint8_t)((q & 15) << (grp < 2 ? 0 : 4));
		blk[128 + 32 * h + l] |= (uint8_t)((q >> 4) << (2 * grp));
	}
}

/* Quantizes n elements of x into row. With negate, it encodes -x and then
 * flips the sign of every f16 scale and offset, which gives a valid
 * encoding of x with negative scales. */
static inline void qt_quantize(uint32_t type, const float *x, size_t n, uint8_t *row, qt_grid *g,
			       bool negate)
{
	float *xs = malloc(n * sizeof *xs);

	for (size_t i = 0; i < n; i++)
		xs[i] = negate ? -x[i] : x[i];
	switch (type) {
	case VEIL_GGML_Q8_0:
	case VEIL_GGML_Q4_0:
	case VEIL_GGML_Q5_0: {
		size_t bytes = quant_row_bytes(type, 32);
		for (size_t b = 0; b < n / 32; b++) {
			qt_quant_sym(type, xs + 32 * b, row + bytes * b, g + 32 * b);
			if (negate)
				row[bytes * b + 1] ^= 0x80;
		}
		break;
	}
	case VEIL_GGML_Q5_1:
		for (size_t b = 0; b < n / 32; b++) {
			qt_quant_q5_1(xs + 32 * b, row + 24 * b, g + 32 * b);
			if (negate)
				row[24 * b + 1] ^= 0x80, row[24 * b + 3] ^= 0x80;
		}
		break;
	case VEIL_GGML_Q4_K:
		for (size_t b = 0; b < n / 256; b++) {
			qt_quant_q4_k(xs + 256 * b, row + 144 * b, g + 256 * b);
			if (negate)
				row[144 * b + 1] ^= 0x80, row[144 * b + 3] ^= 0x80;
		}
		break;
	case VEIL_GGML_Q6_K:
		for (size_t b = 0; b < n / 256; b++) {
			qt_quant_q6_k(xs + 256 * b, row + 210 * b, g + 256 * b);
			if (negate)
				row[210 * b + 209] ^= 0x80;
		}
		break;
	default:
		abort();
	}
	if (negate)
		for (size_t i = 0; i < n; i++)
			g[i].scale = -g[i].scale, g[i].offset = -g[i].offset;
	free(xs);
}

/* Float formats: F32 as is, F16 and BF16 rounded to nearest even. */
static inline void qt_store_float(uint32_t type, const float *x, size_t n, uint8_t *row)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t bits;
		memcpy(&bits, &x[i], sizeof bits);
		if (type == VEIL_GGML_F32)
			memcpy(row + 4 * i, &x[i], 4);
		else if (type == VEIL_GGML_F16)
			qt_put16(row + 2 * i, qt_f2h(x[i]));
		else
			qt_put16(row + 2 * i,
				 (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16));
	}
}

static inline bool qt_is_float(uint32_t type)
{
	return type == VEIL_GGML_F32 || type == VEIL_GGML_F16 || type == VEIL_GGML_BF16;
}

/* The prepared activation as doubles (docs/quant.md, "Activations"):
 * A8 = float d, float s, int8 qs[32]; A8K = float d, int8 qs[256],
 * int16 bsums[16]. */
static inline void qt_act_values(uint32_t type, const uint8_t *act, size_t n, double *out)
{
	if (qt_is_float(type)) {
		for (size_t i = 0; i < n; i++) {
			float f;
			memcpy(&f, act + 4 * i, 4);
			out[i] = f;
		}
		return;
	}
	size_t blk = quant_block_elems(type), bytes = blk == 32 ? 40 : 292, qs = blk == 32 ? 8 : 4;
	for (size_t b = 0; b < n / blk; b++) {
		float d;
		memcpy(&d, act + bytes * b, 4);
		for (size_t i = 0; i < blk; i++)
			out[blk * b + i] = (double)d * (int8_t)act[bytes * b + qs + i];
	}
}

#endif

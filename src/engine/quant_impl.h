/*
 * quant_impl.h - what the quant*.c files share and nobody else needs: the
 * byte layouts of the ggml blocks and of the activation blocks, small
 * little-endian loaders, and the table of dot-product kernels that
 * quant.c picks from at run time.
 *
 * Blocks are read through byte offsets and memcpy, never by casting to a
 * struct: weights sit in the model file at any alignment (a Q8_0 block is
 * 34 bytes), and casting would be undefined behaviour on misaligned
 * pointers. Layouts are described in docs/quant.md.
 */
#ifndef VEIL_ENGINE_QUANT_IMPL_H
#define VEIL_ENGINE_QUANT_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Elements per block: the 32-element formats and the 256-element
 * "k-quant" super-blocks (ggml-common.h: QK4_0 .. QK8_0 = 32, QK_K = 256). */
#define QB  32
#define QBK 256

/* Bytes per block, ggml-common.h static_asserts (docs/quant.md). */
#define Q4_0_BYTES 18  /* f16 d, qs[16] */
#define Q5_0_BYTES 22  /* f16 d, qh[4], qs[16] */
#define Q5_1_BYTES 24  /* f16 d, f16 m, qh[4], qs[16] */
#define Q8_0_BYTES 34  /* f16 d, int8 qs[32] */
#define Q4_K_BYTES 144 /* f16 d, f16 dmin, scales[12], qs[128] */
#define Q6_K_BYTES 210 /* ql[128], qh[64], int8 scales[16], f16 d */

/* Offsets inside a Q6_K block. */
#define Q6K_QH 128
#define Q6K_SC 192
#define Q6K_D  208

/* Activation block for the 32-element types ("A8"): float d, float s =
 * d * sum(qs), int8 qs[32]. The sum serves Q5_1's offset term. */
#define A8_BYTES 40
#define A8_QS    8
/* Activation block for the k-quants ("A8K"): float d, int8 qs[256], int16
 * bsums[16] (the sum of each 16 consecutive qs, for the offset terms). */
#define A8K_BYTES 292
#define A8K_QS    4
#define A8K_BSUMS 260

/* Internal type indices, dense, for the kernel tables. */
enum quant_kind {
	QK_F32,
	QK_F16,
	QK_BF16,
	QK_Q8_0,
	QK_Q4_0,
	QK_Q5_0,
	QK_Q5_1,
	QK_Q4_K,
	QK_Q6_K,
	QK_COUNT_
};

/* A dot product of nb blocks (elements for F32/F16/BF16) of a weight row
 * with a prepared activation. */
typedef float (*quant_dot_fn)(const uint8_t *w, const uint8_t *act, size_t nb);

/* Dequantization of nb blocks to f32 (quant_ref.c). */
typedef void (*quant_dequant_fn)(const uint8_t *w, float *out, size_t nb);
extern const quant_dequant_fn quant_dequant_fns[QK_COUNT_];

/* Preparation of nb activation blocks from f32 (A8 or A8K). Every ISA
 * must produce the same bytes as the portable one. */
typedef void (*quant_act_fn)(const float *x, size_t nb, uint8_t *act);

/* Dot products of nrows weight rows of nb blocks each, row r at w + r *
 * row_bytes, with one prepared activation: y[r] for r < nrows. Must give
 * y[r] bit for bit equal to the same table's dot kernel on row r (the
 * multi-row kernels share the activation loads between four rows and
 * reduce four accumulators together, in the single-row kernel's order). */
typedef void (*quant_rows_fn)(const uint8_t *w, size_t row_bytes, size_t nrows, const uint8_t *act,
			      size_t nb, float *y);

typedef struct quant_kernels {
	const char *isa;
	quant_dot_fn dot[QK_COUNT_];
	/* NULL where the ISA has no multi-row kernel: quant.c then calls dot
	 * once per row. */
	quant_rows_fn rows[QK_COUNT_];
	quant_act_fn act_a8, act_a8k;
} quant_kernels;

/* The portable kernels (quant_ref.c) and the SIMD ones; the latter are
 * NULL on builds for other architectures. */
extern const quant_kernels quant_kernels_portable;
const quant_kernels *quant_kernels_avx2(void);
const quant_kernels *quant_kernels_avx512(void);

/* AVX2 kernels the AVX-512 table shares (x86-64 builds only). */
float quant_avx2_dot_q5_0(const uint8_t *w, const uint8_t *act, size_t nb);
float quant_avx2_dot_q5_1(const uint8_t *w, const uint8_t *act, size_t nb);
float quant_avx2_dot_q4_k(const uint8_t *w, const uint8_t *act, size_t nb);
float quant_avx2_dot_q6_k(const uint8_t *w, const uint8_t *act, size_t nb);
void quant_avx2_act_a8(const float *x, size_t nb, uint8_t *act);
void quant_avx2_act_a8k(const float *x, size_t nb, uint8_t *act);

static inline uint16_t quant_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t quant_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Activation fields are written by this process in host order. */
static inline float quant_ldf(const uint8_t *p)
{
	float f;
	memcpy(&f, p, sizeof f);
	return f;
}

static inline int16_t quant_lds16(const uint8_t *p)
{
	int16_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* IEEE 754 binary16 to binary32, exact for every input. */
static inline float quant_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
	float f;

	/* IEEE 754-2008 section 3.6: binary16 has a 5-bit exponent biased by
	 * 15 and a 10-bit fraction; binary32 biases by 127. */
	if (exp == 0x1F) {
		bits = sign | 0x7F800000u | man << 13;
	} else if (exp != 0) {
		bits = sign | (exp + 112) << 23 | man << 13;
	} else {
		/* Zero or subnormal: man * 2^-24, exact in binary32. */
		f = (float)man * 0x1p-24f;
		return sign != 0 ? -f : f;
	}
	memcpy(&f, &bits, sizeof f);
	return f;
}

static inline float quant_bf16_to_float(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K block from its
 * 12 packed bytes (ggml-quants.c get_scale_min_k4; docs/quant.md). */
static inline void quant_q4k_scale_min(const uint8_t *s, int j, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (uint8_t)((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
		*m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
	}
}

#endif

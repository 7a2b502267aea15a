/*
 * quant_ref.c - the portable half of the tensor-type code: dequantization
 * of every supported ggml block format, and dot products of weight rows
 * with prepared activations in plain C.
 *
 * These loops are the definition the SIMD kernels are tested against, so
 * they follow the layouts (docs/quant.md) one element at a time, with the
 * integer parts of the quantized dot products summed exactly and the
 * scales applied per block the way the wide kernels apply them. They are
 * also what runs on CPUs without AVX2.
 */
#include <math.h>
#include <string.h>

#include "engine/quant_impl.h"

/* gcc 12, when the whole build targets VNNI (-march=native on such a
 * CPU), turns the signed-by-signed byte products of dot_q8_0 into
 * VPDPBUSD, which reads one side as unsigned: wrong results
 * (test_quant_dot shows it). These loops are the reference the SIMD
 * kernels are held to, so there they stay scalar; elsewhere (SSE2, NEON)
 * the compiler may vectorize them as it likes. */
#if defined(__GNUC__) && !defined(__clang__) && (defined(__AVX512VNNI__) || defined(__AVXVNNI__))
#pragma GCC optimize("no-tree-vectorize")
#endif

/* ---- dequantization ---- */

static void dq_f32(const uint8_t *w, float *out, size_t n)
{
	memcpy(out, w, n * sizeof(float));
}

static void dq_f16(const uint8_t *w, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = quant_half_to_float(quant_le16(w + 2 * i));
}

static void dq_bf16(const uint8_t *w, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = quant_bf16_to_float(quant_le16(w + 2 * i));
}

/* Q8_0: x = d * qs[i]. */
static void dq_q8_0(const uint8_t *w, float *out, size_t nb)
{
	for (size_t b = 0; b < nb; b++, w += Q8_0_BYTES, out += QB) {
		float d = quant_half_to_float(quant_le16(w));
		for (int i = 0; i < QB; i++)
			out[i] = d * (float)(int8_t)w[2 + i];
	}
}

/* Q4_0: byte j holds element j in its low nibble and element j + 16 in
 * its high nibble; x = d * (nibble - 8). */
static void dq_q4_0(const uint8_t *w, float *out, size_t nb)
{
	for (size_t b = 0; b < nb; b++, w += Q4_0_BYTES, out += QB) {
		float d = quant_half_to_float(quant_le16(w));
		const uint8_t *qs = w + 2;
		for (int j = 0; j < QB / 2; j++) {
			out[j] = d * (float)((qs[j] & 0x0F) - 8);
			out[j + 16] = d * (float)((qs[j] >> 4) - 8);
		}
	}
}

/* The fifth bit of element e of a Q5 block is bit e of the little-endian
 * 32-bit qh. */
static inline int q5_value(const uint8_t *qs, uint32_t qh, int e)
{
	int lo = e < 16 ? qs[e] & 0x0F : qs[e - 16] >> 4;
	return lo | (int)((qh >> e) & 1) << 4;
}

/* Q5_0: x = d * (q5 - 16). */
static void dq_q5_0(const uint8_t *w, float *out, size_t nb)
{
	for (size_t b = 0; b < nb; b++, w += Q5_0_BYTES, out += QB) {
		float d = quant_half_to_float(quant_le16(w));
		uint32_t qh = quant_le32(w + 2);
		for (int e = 0; e < QB; e++)
			out[e] = d * (float)(q5_value(w + 6, qh, e) - 16);
	}
}

/* Q5_1: x = d * q5 + m. */
static void dq_q5_1(const uint8_t *w, float *out, size_t nb)
{
	for (size_t b = 0; b < nb; b++, w += Q5_1_BYTES, out += QB) {
		float d = quant_half_to_float(quant_le16(w));
		float m = quant_half_to_float(quant_le16(w + 2));
		uint32_t qh = quant_le32(w + 4);
		for (int e = 0; e < QB; e++)
			out[e] = d * (float)q5_value(w + 8, qh, e) + m;
	}
}

/* Q4_K: eight sub-blocks of 32; sub-block j uses scale d * sc_j and offset
 * dmin * m_j; its nibbles are the low (j even) or high (j odd) halves of
 * qs[32 * (j / 2) ..]. */
static void dq_q4_k(const uint8_t *w, float *out, size_t nb)
{
	for (size_t b = 0; b < nb; b++, w += Q4_K_BYTES, out += QBK) {
		float d = quant_half_to_float(quant_le16(w));
		float dmin = quant_half_to_float(quant_le16(w + 2));
		const uint8_t *qs = w + 16;
		for (int j = 0; j < 8; j++) {
			uint8_t sc, m;
			quant_q4k_scale_min(w + 4, j, &sc, &m);
			float ds = d * (float)sc, dm = dmin * (float)m;
			const uint8_t *q = qs + 32 * (j / 2);
			for (int l = 0; l < 32; l++) {
				int v = (j & 1) ? q[l] >> 4 : q[l] & 0x0F;
				out[32 * j + l] = ds * (float)v - dm;
			}
		}
	}
}

/* The 6-bit value of element e (0..255) of a Q6_K block: each half of 128
 * elements takes 64 bytes of ql and 32 of qh; its four groups of 32 take
 * the low nibbles of ql[0..31], of ql[32..63], then the high nibbles of the
 * same, and bit pairs 0-1, 2-3, 4-5, 6-7 of qh[0..31]. */
static inline int q6_value(const uint8_t *w, int e)
{
	int h = e / 128, g = (e % 128) / 32, l = e % 32;
	uint8_t ql = w[64 * h + 32 * (g & 1) + l];
	uint8_t qh = w[Q6K_QH + 32 * h + l];
	int lo = g < 2 ? ql & 0x0F : ql >> 4;
	return lo | ((qh >> (2 * g)) & 3) << 4;
}

/* Q6_K: x = d * scales[e / 16] * (q6 - 32). */
static void dq_q6_k(const uint8_t *w, float *out, size_t nb)
{
	for (size_t b = 0; b < nb; b++, w += Q6_K_BYTES, out += QBK) {
		float d = quant_half_to_float(quant_le16(w + Q6K_D));
		for (int e = 0; e < QBK; e++) {
			float ds = d * (float)(int8_t)w[Q6K_SC + e / 16];
			out[e] = ds * (float)(q6_value(w, e) - 32);
		}
	}
}

const quant_dequant_fn quant_dequant_fns[QK_COUNT_] = {
    [QK_F32] = dq_f32,   [QK_F16] = dq_f16,   [QK_BF16] = dq_bf16,
    [QK_Q8_0] = dq_q8_0, [QK_Q4_0] = dq_q4_0, [QK_Q5_0] = dq_q5_0,
    [QK_Q5_1] = dq_q5_1, [QK_Q4_K] = dq_q4_k, [QK_Q6_K] = dq_q6_k,
};

/* ---- dot products ---- */

/* Four running sums, so the loop is not one long dependency chain. */
static float dot_f32(const uint8_t *w, const uint8_t *act, size_t n)
{
	float s[4] = {0, 0, 0, 0};
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		for (int k = 0; k < 4; k++)
			s[k] += quant_ldf(w + 4 * (i + k)) * quant_ldf(act + 4 * (i + k));
	for (; i < n; i++)
		s[0] += quant_ldf(w + 4 * i) * quant_ldf(act + 4 * i);
	return (s[0] + s[1]) + (s[2] + s[3]);
}

static float dot_f16(const uint8_t *w, const uint8_t *act, size_t n)
{
	float s[4] = {0, 0, 0, 0};
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		for (int k = 0; k < 4; k++)
			s[k] += quant_half_to_float(quant_le16(w + 2 * (i + k))) *
				quant_ldf(act + 4 * (i + k));
	for (; i < n; i++)
		s[0] += quant_half_to_float(quant_le16(w + 2 * i)) * quant_ldf(act + 4 * i);
	return (s[0] + s[1]) + (s[2] + s[3]);
}

static float dot_bf16(const uint8_t *w, const uint8_t *act, size_t n)
{
	float s[4] = {0, 0, 0, 0};
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		for (int k = 0; k < 4; k++)
			s[k] += quant_bf16_to_float(quant_le16(w + 2 * (i + k))) *
				quant_ldf(act + 4 * (i + k));
	for (; i < n; i++)
		s[0] += quant_bf16_to_float(quant_le16(w + 2 * i)) * quant_ldf(act + 4 * i);
	return (s[0] + s[1]) + (s[2] + s[3]);
}

/* The 32-element types against A8 blocks: the integer sum is exact, the
 * product of the two scales is applied once per block. */
static float dot_q8_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	float acc = 0;

	for (size_t b = 0; b < nb; b++, w += Q8_0_BYTES, act += A8_BYTES) {
		const int8_t *aq = (const int8_t *)(act + A8_QS);
		int isum = 0;
		for (int i = 0; i < QB; i++)
			isum += (int8_t)w[2 + i] * aq[i];
		acc += quant_half_to_float(quant_le16(w)) * quant_ldf(act) * (float)isum;
	}
	return acc;
}

static float dot_q4_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	float acc = 0;

	for (size_t b = 0; b < nb; b++, w += Q4_0_BYTES, act += A8_BYTES) {
		const int8_t *aq = (const int8_t *)(act + A8_QS);
		const uint8_t *qs = w + 2;
		int isum = 0;
		for (int j = 0; j < QB / 2; j++)
			isum += ((qs[j] & 0x0F) - 8) * aq[j] + ((qs[j] >> 4) - 8) * aq[j + 16];
		acc += quant_half_to_float(quant_le16(w)) * quant_ldf(act) * (float)isum;
	}
	return acc;
}

/* The integer sum of a Q5 block (values minus zero) with A8 qs: byte j
 * gives elements j and j + 16, bits j and j + 16 of qh their fifth bits. */
static inline int q5_isum(const uint8_t *qs, uint32_t qh, const int8_t *aq, int zero)
{
	int isum = 0;

	for (int j = 0; j < 16; j++) {
		int lo = (qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
		int hi = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
		isum += (lo - zero) * aq[j] + (hi - zero) * aq[j + 16];
	}
	return isum;
}

static float dot_q5_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	float acc = 0;

	for (size_t b = 0; b < nb; b++, w += Q5_0_BYTES, act += A8_BYTES) {
		int isum = q5_isum(w + 6, quant_le32(w + 2), (const int8_t *)(act + A8_QS), 16);
		acc += quant_half_to_float(quant_le16(w)) * quant_ldf(act) * (float)isum;
	}
	return acc;
}

/* sum (d q + m) a_i = d * sum q a_i + m * sum a_i; the activation carries
 * sum a_i as s. */
static float dot_q5_1(const uint8_t *w, const uint8_t *act, size_t nb)
{
	float acc = 0;

	for (size_t b = 0; b < nb; b++, w += Q5_1_BYTES, act += A8_BYTES) {
		int isum = q5_isum(w + 8, quant_le32(w + 4), (const int8_t *)(act + A8_QS), 0);
		acc += quant_half_to_float(quant_le16(w)) * quant_ldf(act) * (float)isum +
		       quant_half_to_float(quant_le16(w + 2)) * quant_ldf(act + 4);
	}
	return acc;
}

/* Q4_K against A8K: per super-block, sum_j sc_j * (q . a)_j and
 * sum_j m_j * (sum of a over sub-block j, from bsums) are exact integers;
 * the result is d * da * the first - dmin * da * the second. */
static float dot_q4_k(const uint8_t *w, const uint8_t *act, size_t nb)
{
	float acc = 0;

	for (size_t b = 0; b < nb; b++, w += Q4_K_BYTES, act += A8K_BYTES) {
		const int8_t *aq = (const int8_t *)(act + A8K_QS);
		const uint8_t *qs = w + 16;
		float da = quant_ldf(act);
		int32_t sumi = 0, summ = 0;
		for (int j = 0; j < 8; j++) {
			uint8_t sc, m;
			const uint8_t *q = qs + 32 * (j / 2);
			int isum = 0;
			quant_q4k_scale_min(w + 4, j, &sc, &m);
			for (int l = 0; l < 32; l++)
				isum += ((j & 1) ? q[l] >> 4 : q[l] & 0x0F) * aq[32 * j + l];
			sumi += sc * isum;
			summ += m * (quant_lds16(act + A8K_BSUMS + 4 * j) +
				     quant_lds16(act + A8K_BSUMS + 4 * j + 2));
		}
		acc += quant_half_to_float(quant_le16(w)) * da * (float)sumi -
		       quant_half_to_float(quant_le16(w + 2)) * da * (float)summ;
	}
	return acc;
}

/* Q6_K against A8K: scale group g is elements 16g..16g+15, as are the
 * activation's bsums[g], so the -32 offset is 32 * bsums[g] exactly. */
static float dot_q6_k(const uint8_t *w, const uint8_t *act, size_t nb)
{
	float acc = 0;

	for (size_t b = 0; b < nb; b++, w += Q6_K_BYTES, act += A8K_BYTES) {
		const int8_t *aq = (const int8_t *)(act + A8K_QS);
		int32_t sumi = 0;
		/* The loops of q6_value unrolled: half h, group g, 16 l. */
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = w + 64 * h, *qh = w + Q6K_QH + 32 * h;
			for (int g = 0; g < 8; g++) {
				int grp = 8 * h + g, isum = 0;
				for (int l = 16 * (g & 1); l < 16 * (g & 1) + 16; l++) {
					uint8_t lb = ql[32 * ((g >> 1) & 1) + l];
					int lo = g < 4 ? lb & 0x0F : lb >> 4;
					int q = lo | ((qh[l] >> (2 * (g >> 1))) & 3) << 4;
					isum += q * aq[128 * h + 16 * g + l % 16];
				}
				isum -= 32 * quant_lds16(act + A8K_BSUMS + 2 * grp);
				sumi += (int8_t)w[Q6K_SC + grp] * isum;
			}
		}
		acc += quant_half_to_float(quant_le16(w + Q6K_D)) * quant_ldf(act) * (float)sumi;
	}
	return acc;
}

/* ---- activations ---- */

/* Symmetric 8-bit quantization of one block, round to nearest (ties to
 * even, as the SIMD rounding does): d = max|x| / 127, q = x / d. The clamp
 * keeps NaN and infinities from reaching the float-to-int conversion. */
static int block_quantize(const float *x, size_t len, int8_t *q, float *d_out)
{
	float amax = 0, d, id;
	int sum = 0;

	for (size_t i = 0; i < len; i++) {
		float a = fabsf(x[i]);
		if (a > amax)
			amax = a;
	}
	d = amax / 127.0f;
	id = d != 0 ? 1.0f / d : 0.0f;
	for (size_t i = 0; i < len; i++) {
		float v = fminf(fmaxf(x[i] * id, -127.0f), 127.0f);
		q[i] = (int8_t)nearbyintf(v);
		sum += q[i];
	}
	*d_out = d;
	return sum;
}

static void act_a8(const float *x, size_t nb, uint8_t *act)
{
	for (size_t b = 0; b < nb; b++, x += QB, act += A8_BYTES) {
		int8_t q[QB];
		float d, s;
		int sum = block_quantize(x, QB, q, &d);

		s = d * (float)sum;
		memcpy(act, &d, sizeof d);
		memcpy(act + 4, &s, sizeof s);
		memcpy(act + A8_QS, q, sizeof q);
	}
}

static void act_a8k(const float *x, size_t nb, uint8_t *act)
{
	for (size_t b = 0; b < nb; b++, x += QBK, act += A8K_BYTES) {
		int8_t q[QBK];
		int16_t bsums[QBK / 16];
		float d;

		(void)block_quantize(x, QBK, q, &d);
		for (int g = 0; g < QBK / 16; g++) {
			int s = 0;
			for (int i = 0; i < 16; i++)
				s += q[g * 16 + i];
			bsums[g] = (int16_t)s;
		}
		memcpy(act, &d, sizeof d);
		memcpy(act + A8K_QS, q, sizeof q);
		memcpy(act + A8K_BSUMS, bsums, sizeof bsums);
	}
}

const quant_kernels quant_kernels_portable = {
    .isa = "portable",
    .act_a8 = act_a8,
    .act_a8k = act_a8k,
    .dot =
	{
	    [QK_F32] = dot_f32,
	    [QK_F16] = dot_f16,
	    [QK_BF16] = dot_bf16,
	    [QK_Q8_0] = dot_q8_0,
	    [QK_Q4_0] = dot_q4_0,
	    [QK_Q5_0] = dot_q5_0,
	    [QK_Q5_1] = dot_q5_1,
	    [QK_Q4_K] = dot_q4_k,
	    [QK_Q6_K] = dot_q6_k,
	},
};

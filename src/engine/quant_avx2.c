/*
 * quant_avx2.c - the AVX2 (with FMA and F16C) kernels: dot products, and
 * the preparation of quantized activations (which the AVX-512 table uses
 * too; the portable loop, a libm rounding call per element, would cost as
 * much as a small matrix-vector product).
 *
 * The rest of the build has no -mavx2: every function here carries a
 * target attribute, and quant.c only calls them after
 * quant_kernels_avx2() has seen the CPU support them, so one binary runs
 * on any x86-64. Loads are unaligned intrinsics throughout (weights sit in
 * the file at any alignment).
 *
 * The quantized kernels multiply 8-bit integers with VPMADDUBSW, which
 * takes one unsigned and one signed operand: types stored with an offset
 * (Q4_0, Q5_0, Q6_K's -32, Q4_K's min) are either recentred and passed
 * through the sign trick (|w| unsigned, sign(w) moved onto the
 * activation) or multiplied unsigned with the offset taken out of the
 * activation sums, whichever is exact and cheaper. No pair sum can
 * saturate 16 bits: activations are within [-127, 127] and weights
 * within [-128, 63] (docs/quant.md, "Dot products"). Q8_0, Q4_0 and Q4_K
 * also have kernels for several rows against one activation, which sum
 * four rows' vectors together (docs/quant.md, "Several rows at a time").
 */
#include "engine/quant_impl.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

static inline AVX2 __m256i ld256(const void *p)
{
	return _mm256_loadu_si256(p);
}

static inline AVX2 __m128i ld128(const void *p)
{
	return _mm_loadu_si128(p);
}

static inline AVX2 __m128i ld64(const void *p)
{
	return _mm_loadl_epi64(p);
}

static inline AVX2 __m256 ldps(const void *p)
{
	return _mm256_loadu_ps(p);
}

static inline AVX2 float half(const uint8_t *p)
{
	return _cvtsh_ss(quant_le16(p));
}

static inline AVX2 float hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline AVX2 int32_t hsum_epi32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(s);
}

/* A row's body, shared by the single-row and the multi-row kernels. */
#define INLINE inline __attribute__((always_inline))

/* hsum8 of four vectors at once, as [v0, v1, v2, v3]: every addition
 * pairs the same lanes as hsum8 does (i and i + 4, i + 2, i + 1), so the
 * four-row kernels give the single-row results bit for bit. */
static inline AVX2 __m128 hsum8x4(__m256 v0, __m256 v1, __m256 v2, __m256 v3)
{
	/* [v0 | v1] and [v2 | v3], four lanes each. */
	__m256 a = _mm256_add_ps(_mm256_permute2f128_ps(v0, v1, 0x20),
				 _mm256_permute2f128_ps(v0, v1, 0x31));
	__m256 b = _mm256_add_ps(_mm256_permute2f128_ps(v2, v3, 0x20),
				 _mm256_permute2f128_ps(v2, v3, 0x31));
	/* Per 128-bit lane [a0 + a2, a1 + a3, b0 + b2, b1 + b3]: rows 0 and 2
	 * in the low lane, 1 and 3 in the high one. */
	__m256 c = _mm256_add_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
				 _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));

	c = _mm256_add_ps(c, _mm256_movehdup_ps(c));
	return _mm256_castps256_ps128(
	    _mm256_permutevar8x32_ps(c, _mm256_setr_epi32(0, 4, 2, 6, 0, 0, 0, 0)));
}

/* Sums of four products of unsigned u and signed s bytes, as 8 int32. */
static inline AVX2 __m256i dot_u8s8(__m256i u, __m256i s)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* The same for two signed operands: |x| times y with x's sign. */
static inline AVX2 __m256i dot_s8s8(__m256i x, __m256i y)
{
	return dot_u8s8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* ---- float weights ---- */

static AVX2 float dot_f32(const uint8_t *w, const uint8_t *act, size_t n)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;
	float tail = 0;

	for (; i + 32 <= n; i += 32) {
		const uint8_t *pw = w + 4 * i, *pa = act + 4 * i;
		a0 = _mm256_fmadd_ps(ldps(pw), ldps(pa), a0);
		a1 = _mm256_fmadd_ps(ldps(pw + 32), ldps(pa + 32), a1);
		a2 = _mm256_fmadd_ps(ldps(pw + 64), ldps(pa + 64), a2);
		a3 = _mm256_fmadd_ps(ldps(pw + 96), ldps(pa + 96), a3);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(ldps(w + 4 * i), ldps(act + 4 * i), a0);
	for (; i < n; i++)
		tail += quant_ldf(w + 4 * i) * quant_ldf(act + 4 * i);
	return hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) + tail;
}

static inline AVX2 __m256 ld_f16x8(const uint8_t *p)
{
	return _mm256_cvtph_ps(ld128(p));
}

static AVX2 float dot_f16(const uint8_t *w, const uint8_t *act, size_t n)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;
	float tail = 0;

	for (; i + 32 <= n; i += 32) {
		const uint8_t *pw = w + 2 * i, *pa = act + 4 * i;
		a0 = _mm256_fmadd_ps(ld_f16x8(pw), ldps(pa), a0);
		a1 = _mm256_fmadd_ps(ld_f16x8(pw + 16), ldps(pa + 32), a1);
		a2 = _mm256_fmadd_ps(ld_f16x8(pw + 32), ldps(pa + 64), a2);
		a3 = _mm256_fmadd_ps(ld_f16x8(pw + 48), ldps(pa + 96), a3);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(ld_f16x8(w + 2 * i), ldps(act + 4 * i), a0);
	for (; i < n; i++)
		tail += half(w + 2 * i) * quant_ldf(act + 4 * i);
	return hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) + tail;
}

/* bfloat16 is the top half of a binary32. */
static inline AVX2 __m256 ld_bf16x8(const uint8_t *p)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(ld128(p)), 16));
}

static AVX2 float dot_bf16(const uint8_t *w, const uint8_t *act, size_t n)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0;
	size_t i = 0;
	float tail = 0;

	for (; i + 16 <= n; i += 16) {
		a0 = _mm256_fmadd_ps(ld_bf16x8(w + 2 * i), ldps(act + 4 * i), a0);
		a1 = _mm256_fmadd_ps(ld_bf16x8(w + 2 * i + 16), ldps(act + 4 * i + 32), a1);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(ld_bf16x8(w + 2 * i), ldps(act + 4 * i), a0);
	for (; i < n; i++)
		tail += quant_bf16_to_float(quant_le16(w + 2 * i)) * quant_ldf(act + 4 * i);
	return hsum8(_mm256_add_ps(a0, a1)) + tail;
}

/* ---- 32-element blocks ---- */

/* acc + (scale of w * scale of a) * the 8 partial integer sums. */
static inline AVX2 __m256 fma_block(const uint8_t *w, const uint8_t *act, __m256i isum, __m256 acc)
{
	__m256 d = _mm256_set1_ps(half(w) * quant_ldf(act));
	return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(isum), acc);
}

/* The 32 nibbles of 16 bytes in element order: low nibbles (elements
 * 0..15) in the low lane, high nibbles (16..31) in the high lane. */
static inline AVX2 __m256i nibbles32(const uint8_t *qs)
{
	__m128i q = ld128(qs);
	__m256i x = _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1);
	return _mm256_and_si256(x, _mm256_set1_epi8(0x0F));
}

/* Bit e of qh as 0x10 in byte e (the fifth bit of Q5 element e). */
static inline AVX2 __m256i q5_high_bits(uint32_t qh)
{
	const __m256i spread =
	    _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
	const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
	__m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), spread);

	v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* One block of Q8_0 or Q4_0 into acc. Q8_0 takes the sign trick; Q4_0's
 * nibbles are unsigned as VPMADDUBSW wants them (pairs at most 2 * 15 *
 * 127, no saturation) and its zero point comes off as 8 * (each four
 * activations' sum): the same integers as the sign trick on nibble - 8. */
static INLINE AVX2 __m256 block_a8(enum quant_kind kind, const uint8_t *w, const uint8_t *act,
				   __m256 acc)
{
	__m256i a = ld256(act + A8_QS), isum;

	if (kind == QK_Q8_0)
		isum = dot_s8s8(ld256(w + 2), a);
	else
		isum = _mm256_sub_epi32(dot_u8s8(nibbles32(w + 2), a),
					dot_u8s8(_mm256_set1_epi8(8), a));
	return fma_block(w, act, isum, acc);
}

/* One row of Q8_0 or Q4_0 against an A8 activation, blocks alternating
 * between two accumulators (an odd last block goes to the first): their
 * sum, still a vector. */
static INLINE AVX2 __m256 row_a8(enum quant_kind kind, const uint8_t *w, const uint8_t *act,
				 size_t nb)
{
	const size_t bytes = kind == QK_Q8_0 ? Q8_0_BYTES : Q4_0_BYTES;
	__m256 a0 = _mm256_setzero_ps(), a1 = a0;
	size_t b = 0;

	for (; b + 2 <= nb; b += 2, w += 2 * bytes, act += 2 * A8_BYTES) {
		a0 = block_a8(kind, w, act, a0);
		a1 = block_a8(kind, w + bytes, act + A8_BYTES, a1);
	}
	if (b < nb)
		a0 = block_a8(kind, w, act, a0);
	return _mm256_add_ps(a0, a1);
}

/* Four rows one after the other (rows read in memory order, which the
 * hardware prefetcher follows; interleaving them defeats it), then their
 * horizontal sums together. */
static INLINE AVX2 void rows_a8(enum quant_kind kind, const uint8_t *w, size_t rb, size_t nrows,
				const uint8_t *act, size_t nb, float *y)
{
	size_t r = 0;

	for (; r + 4 <= nrows; r += 4, w += 4 * rb) {
		__m256 sum[4];

		for (int k = 0; k < 4; k++)
			sum[k] = row_a8(kind, w + k * rb, act, nb);
		_mm_storeu_ps(y + r, hsum8x4(sum[0], sum[1], sum[2], sum[3]));
	}
	for (; r < nrows; r++, w += rb)
		y[r] = hsum8(row_a8(kind, w, act, nb));
}

static AVX2 float dot_q8_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	return hsum8(row_a8(QK_Q8_0, w, act, nb));
}

static AVX2 void rows_q8_0(const uint8_t *w, size_t rb, size_t nrows, const uint8_t *act, size_t nb,
			   float *y)
{
	rows_a8(QK_Q8_0, w, rb, nrows, act, nb, y);
}

static AVX2 float dot_q4_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	return hsum8(row_a8(QK_Q4_0, w, act, nb));
}

static AVX2 void rows_q4_0(const uint8_t *w, size_t rb, size_t nrows, const uint8_t *act, size_t nb,
			   float *y)
{
	rows_a8(QK_Q4_0, w, rb, nrows, act, nb, y);
}

static inline AVX2 __m256 q5_0_block(const uint8_t *w, const uint8_t *act, __m256 acc)
{
	__m256i x = _mm256_or_si256(nibbles32(w + 6), q5_high_bits(quant_le32(w + 2)));
	x = _mm256_sub_epi8(x, _mm256_set1_epi8(16));
	return fma_block(w, act, dot_s8s8(x, ld256(act + A8_QS)), acc);
}

AVX2 float quant_avx2_dot_q5_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0;
	size_t b = 0;

	for (; b + 2 <= nb; b += 2, w += 2 * Q5_0_BYTES, act += 2 * A8_BYTES) {
		a0 = q5_0_block(w, act, a0);
		a1 = q5_0_block(w + Q5_0_BYTES, act + A8_BYTES, a1);
	}
	if (b < nb)
		a0 = q5_0_block(w, act, a0);
	return hsum8(_mm256_add_ps(a0, a1));
}

/* Q5_1 values are unsigned (0..31); the offset m meets the activation's
 * sum s once per block. */
AVX2 float quant_avx2_dot_q5_1(const uint8_t *w, const uint8_t *act, size_t nb)
{
	__m256 acc = _mm256_setzero_ps();
	float offs = 0;

	for (size_t b = 0; b < nb; b++, w += Q5_1_BYTES, act += A8_BYTES) {
		__m256i x = _mm256_or_si256(nibbles32(w + 8), q5_high_bits(quant_le32(w + 4)));
		acc = fma_block(w, act, dot_u8s8(x, ld256(act + A8_QS)), acc);
		offs += half(w + 2) * quant_ldf(act + 4);
	}
	return hsum8(acc) + offs;
}

/* ---- 256-element super-blocks ---- */

/* The eight 6-bit scales and mins of a Q4_K block, one per byte, from
 * three little-endian words of the packed 12 bytes (the same bits
 * quant_q4k_scale_min picks one at a time). */
static inline void q4k_unpack(const uint8_t *s, uint64_t *sc, uint64_t *mn)
{
	uint32_t w0 = quant_le32(s), w1 = quant_le32(s + 4), w2 = quant_le32(s + 8);
	uint32_t sc_hi = (w2 & 0x0F0F0F0Fu) | ((w0 >> 6) & 0x03030303u) << 4;
	uint32_t mn_hi = ((w2 >> 4) & 0x0F0F0F0Fu) | ((w1 >> 6) & 0x03030303u) << 4;

	*sc = (uint64_t)(w0 & 0x3F3F3F3Fu) | (uint64_t)sc_hi << 32;
	*mn = (uint64_t)(w1 & 0x3F3F3F3Fu) | (uint64_t)mn_hi << 32;
}

/* One row of Q4_K: the sums of the scaled products and of the offsets,
 * still vectors (the dot product is the first's total less the
 * second's). */
static INLINE AVX2 __m256 row_q4_k(const uint8_t *w, const uint8_t *act, size_t nb, __m256 *offsets)
{
	const __m256i m4 = _mm256_set1_epi8(0x0F);
	__m256 acc = _mm256_setzero_ps(), accm = acc;

	for (size_t b = 0; b < nb; b++, w += Q4_K_BYTES, act += A8K_BYTES) {
		const uint8_t *aq = act + A8K_QS, *qs = w + 16;
		float da = quant_ldf(act);
		uint64_t sc, mn;
		__m256i sumi = _mm256_setzero_si256(), mins;
		__m128i m16;

		q4k_unpack(w + 4, &sc, &mn);
		/* Offsets: m_j times the sum of a over sub-block j, which is
		 * bsums[2j] + bsums[2j + 1]. */
		m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn));
		mins = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
		mins = _mm256_madd_epi16(ld256(act + A8K_BSUMS), mins);
		accm = _mm256_fmadd_ps(_mm256_set1_ps(half(w + 2) * da), _mm256_cvtepi32_ps(mins),
				       accm);
		for (int k = 0; k < 4; k++) {
			__m256i q = ld256(qs + 32 * k);
			__m256i lo = _mm256_and_si256(q, m4);
			__m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
			__m256i plo = _mm256_maddubs_epi16(lo, ld256(aq + 64 * k));
			__m256i phi = _mm256_maddubs_epi16(hi, ld256(aq + 64 * k + 32));
			plo =
			    _mm256_madd_epi16(plo, _mm256_set1_epi16((short)(sc >> (16 * k) & 63)));
			phi = _mm256_madd_epi16(
			    phi, _mm256_set1_epi16((short)(sc >> (16 * k + 8) & 63)));
			sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(plo, phi));
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w) * da), _mm256_cvtepi32_ps(sumi), acc);
	}
	*offsets = accm;
	return acc;
}

AVX2 float quant_avx2_dot_q4_k(const uint8_t *w, const uint8_t *act, size_t nb)
{
	__m256 offs, sum = row_q4_k(w, act, nb, &offs);

	return hsum8(sum) - hsum8(offs);
}

static AVX2 void rows_q4_k(const uint8_t *w, size_t rb, size_t nrows, const uint8_t *act, size_t nb,
			   float *y)
{
	size_t r = 0;

	for (; r + 4 <= nrows; r += 4, w += 4 * rb) {
		__m256 sum[4], offs[4];

		for (int k = 0; k < 4; k++)
			sum[k] = row_q4_k(w + k * rb, act, nb, &offs[k]);
		_mm_storeu_ps(y + r, _mm_sub_ps(hsum8x4(sum[0], sum[1], sum[2], sum[3]),
						hsum8x4(offs[0], offs[1], offs[2], offs[3])));
	}
	for (; r < nrows; r++, w += rb)
		y[r] = quant_avx2_dot_q4_k(w, act, nb);
}

/* A shuffle that spreads int16 scale 2g of a 128-bit lane over the low
 * lane and scale 2g + 1 over the high lane. */
static inline AVX2 __m256i q6_scale_pick(int g)
{
	short lo = (short)((4 * g) | (4 * g + 1) << 8);
	short hi = (short)((4 * g + 2) | (4 * g + 3) << 8);
	return _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo));
}

AVX2 float quant_avx2_dot_q6_k(const uint8_t *w, const uint8_t *act, size_t nb)
{
	const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(0x30);
	float acc = 0;

	for (size_t b = 0; b < nb; b++, w += Q6_K_BYTES, act += A8K_BYTES) {
		const uint8_t *aq = act + A8K_QS;
		__m256i sumi = _mm256_setzero_si256();
		/* The -32 offset: 32 * sum_g scales[g] * bsums[g]. */
		__m256i offs = _mm256_madd_epi16(ld256(act + A8K_BSUMS),
						 _mm256_cvtepi8_epi16(ld128(w + Q6K_SC)));

		for (int h = 0; h < 2; h++) {
			__m256i l0 = ld256(w + 64 * h), l1 = ld256(w + 64 * h + 32);
			__m256i hb = ld256(w + Q6K_QH + 32 * h);
			__m256i sc = _mm256_broadcastsi128_si256(
			    _mm_cvtepi8_epi16(ld64(w + Q6K_SC + 8 * h)));
			__m256i q[4];

			/* Bit pairs of qh moved to bits 4-5 of each byte; the
			 * 16-bit shifts spill only into bits the mask drops. */
			q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
					       _mm256_and_si256(_mm256_slli_epi16(hb, 4), m3));
			q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
					       _mm256_and_si256(_mm256_slli_epi16(hb, 2), m3));
			q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
					       _mm256_and_si256(hb, m3));
			q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
					       _mm256_and_si256(_mm256_srli_epi16(hb, 2), m3));
			for (int g = 0; g < 4; g++) {
				__m256i p =
				    _mm256_maddubs_epi16(q[g], ld256(aq + 128 * h + 32 * g));
				__m256i s = _mm256_shuffle_epi8(sc, q6_scale_pick(g));
				sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
			}
		}
		/* The offset sits in other lanes than the products it cancels:
		 * reduce to one exact integer first, so that rounding is
		 * relative to the result, as in the portable kernel. */
		sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offs, 5));
		acc += half(w + Q6K_D) * quant_ldf(act) * (float)hsum_epi32(sumi);
	}
	return acc;
}

/* ---- activations ---- */

/* The largest |x| of 8k floats; NaN lanes lose every comparison, as in the
 * portable loop (MAXPS returns its second operand on NaN). */
static inline AVX2 float absmax(const float *x, size_t len)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 m = _mm256_setzero_ps();
	__m128 h;

	for (size_t i = 0; i < len; i += 8)
		m = _mm256_max_ps(_mm256_andnot_ps(sign, ldps(x + i)), m);
	h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
	h = _mm_max_ps(h, _mm_movehl_ps(h, h));
	h = _mm_max_ss(h, _mm_movehdup_ps(h));
	return _mm_cvtss_f32(h);
}

/* 8 values x * id, clamped to [-127, 127] (NaN to -127, as fmaxf does)
 * and rounded to nearest even, as 8 int32. */
static inline AVX2 __m256i quantize8(const float *x, __m256 id)
{
	__m256 v = _mm256_mul_ps(ldps(x), id);
	v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
	return _mm256_cvtps_epi32(
	    _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/* Four quantize8 results (elements 0-7, 8-15, ...) as 32 int8 at out:
 * the packs interleave 128-bit lanes, the permute puts them back. */
static inline AVX2 void pack32(__m256i i0, __m256i i1, __m256i i2, __m256i i3, uint8_t *out)
{
	__m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
	p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
	_mm256_storeu_si256((void *)out, p);
}

/* The same scale as the portable code computes: d = amax / 127. */
static inline AVX2 __m256 inverse_scale(float amax, float *d)
{
	*d = amax / 127.0f;
	return _mm256_set1_ps(*d != 0 ? 1.0f / *d : 0.0f);
}

void AVX2 quant_avx2_act_a8(const float *x, size_t nb, uint8_t *act)
{
	for (size_t b = 0; b < nb; b++, x += QB, act += A8_BYTES) {
		float d, s;
		__m256 id = inverse_scale(absmax(x, QB), &d);
		__m256i i0 = quantize8(x, id), i1 = quantize8(x + 8, id);
		__m256i i2 = quantize8(x + 16, id), i3 = quantize8(x + 24, id);

		pack32(i0, i1, i2, i3, act + A8_QS);
		i0 = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
		s = d * (float)hsum_epi32(i0);
		memcpy(act, &d, sizeof d);
		memcpy(act + 4, &s, sizeof s);
	}
}

void AVX2 quant_avx2_act_a8k(const float *x, size_t nb, uint8_t *act)
{
	for (size_t b = 0; b < nb; b++, x += QBK, act += A8K_BYTES) {
		float d;
		__m256 id = inverse_scale(absmax(x, QBK), &d);
		int16_t bsums[16];

		for (int k = 0; k < 8; k++) {
			const float *xk = x + 32 * k;
			__m256i i0 = quantize8(xk, id), i1 = quantize8(xk + 8, id);
			__m256i i2 = quantize8(xk + 16, id), i3 = quantize8(xk + 24, id);

			pack32(i0, i1, i2, i3, act + A8K_QS + 32 * k);
			bsums[2 * k] = (int16_t)hsum_epi32(_mm256_add_epi32(i0, i1));
			bsums[2 * k + 1] = (int16_t)hsum_epi32(_mm256_add_epi32(i2, i3));
		}
		memcpy(act, &d, sizeof d);
		memcpy(act + A8K_BSUMS, bsums, sizeof bsums);
	}
}

static const quant_kernels avx2_kernels = {
    .isa = "avx2",
    .act_a8 = quant_avx2_act_a8,
    .act_a8k = quant_avx2_act_a8k,
    .dot =
	{
	    [QK_F32] = dot_f32,
	    [QK_F16] = dot_f16,
	    [QK_BF16] = dot_bf16,
	    [QK_Q8_0] = dot_q8_0,
	    [QK_Q4_0] = dot_q4_0,
	    [QK_Q5_0] = quant_avx2_dot_q5_0,
	    [QK_Q5_1] = quant_avx2_dot_q5_1,
	    [QK_Q4_K] = quant_avx2_dot_q4_k,
	    [QK_Q6_K] = quant_avx2_dot_q6_k,
	},
    .rows =
	{
	    [QK_Q8_0] = rows_q8_0,
	    [QK_Q4_0] = rows_q4_0,
	    [QK_Q4_K] = rows_q4_k,
	},
};

/* __builtin_cpu_supports checks that the OS saves the YMM state too; F16C
 * is read from CPUID leaf 1 (ECX bit 29) because not every compiler's
 * builtin knows its name. */
const quant_kernels *quant_kernels_avx2(void)
{
	unsigned eax, ebx, ecx, edx;

	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
		return NULL;
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_F16C))
		return NULL;
	return &avx2_kernels;
}

#else

const quant_kernels *quant_kernels_avx2(void)
{
	return NULL;
}

#endif

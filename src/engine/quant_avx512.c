/*
 * quant_avx512.c - the AVX-512 (F, BW, VL and VNNI) dot-product kernels,
 * 1.3 to 3 times the AVX2 ones where the work is compute-bound
 * (docs/quant.md, "Speed"). Activation preparation stays with the AVX2
 * code, which already runs far ahead of any dot product over it.
 *
 * The 32-element formats are done two blocks to a 512-bit register, and
 * the 8-bit products with VPDPBUSD (VNNI), which multiplies unsigned by
 * signed bytes and adds groups of four into 32-bit lanes in one
 * instruction: Q8_0 and Q4_0 weights go in as unsigned bytes and their
 * zero point comes out through the activation's sums, Q5_0's sign moves
 * onto the activation (the sign trick of the AVX2 kernels, with a mask
 * register since AVX-512 has no VPSIGNB). Row tails of the float formats
 * use masked loads, which touch no memory outside the mask. Q8_0, Q4_0 and
 * Q4_K also have kernels for several rows against one activation
 * (quant_dot_rows; docs/quant.md, "Several rows at a time"). Like
 * quant_avx2.c, every function carries a target attribute and runs only
 * after the CPU was checked.
 *
 * The last one to three blocks of a row go to the portable kernel, called
 * (not inlined) so that it is compiled without these targets: gcc 12
 * vectorizes a scalar signed-by-signed byte dot product in a VNNI
 * function into VPDPBUSD, which reads one operand as unsigned, and gets
 * it wrong (test_quant_dot's one-hot test caught it).
 */
#include "engine/quant_impl.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

static inline AVX512 __m256i ld256(const void *p)
{
	return _mm256_loadu_si256(p);
}

static inline AVX512 __m128i ld128(const void *p)
{
	return _mm_loadu_si128(p);
}

static inline AVX512 float half(const uint8_t *p)
{
	return _cvtsh_ss(quant_le16(p));
}

static inline AVX512 float hsum8_256(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline AVX512 int32_t hsum_epi32_256(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(s);
}

/* A row's body, shared by the single-row and the multi-row kernels. */
#define INLINE inline __attribute__((always_inline))

/* The sum of v's 16 lanes by halving: lane i plus lane i + 8, then i + 4,
 * i + 2, i + 1, the order of gcc's _mm512_reduce_add_ps. Spelled out so
 * that hsum16x4 can follow it exactly: the four-row kernels must give the
 * single-row results bit for bit, whatever the compiler. */
static inline AVX512 float hsum16(__m512 v)
{
	__m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
	return hsum8_256(_mm256_add_ps(_mm512_castps512_ps256(v), hi));
}

/* hsum16 of four vectors at once, as [v0, v1, v2, v3]: every addition
 * pairs the same lanes as hsum16 does, four rows to an instruction. */
static inline AVX512 __m128 hsum16x4(__m512 v0, __m512 v1, __m512 v2, __m512 v3)
{
	/* Lanes i and i + 8: [v0 | v1] and [v2 | v3], eight lanes each. */
	__m512 a = _mm512_add_ps(_mm512_shuffle_f32x4(v0, v1, _MM_SHUFFLE(1, 0, 1, 0)),
				 _mm512_shuffle_f32x4(v0, v1, _MM_SHUFFLE(3, 2, 3, 2)));
	__m512 b = _mm512_add_ps(_mm512_shuffle_f32x4(v2, v3, _MM_SHUFFLE(1, 0, 1, 0)),
				 _mm512_shuffle_f32x4(v2, v3, _MM_SHUFFLE(3, 2, 3, 2)));
	/* Lanes i and i + 4: one 128-bit lane per vector. */
	__m512 c = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
				 _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
	/* Then i + 2 and i + 1 inside each 128-bit lane. */
	c = _mm512_add_ps(c, _mm512_shuffle_ps(c, c, _MM_SHUFFLE(1, 0, 3, 2)));
	c = _mm512_add_ps(c, _mm512_movehdup_ps(c));
	return _mm512_castps512_ps128(_mm512_permutexvar_ps(
	    _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0), c));
}

/* [lo | hi] (AVX-512F has no 32-bit-lane insert of 256 bits). */
static inline AVX512 __m512 cat256(__m256 lo, __m256 hi)
{
	return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)),
						   _mm256_castps_pd(hi), 1));
}

/* hsum8_256 of four vectors at once, as [v0, v1, v2, v3]. */
static inline AVX512 __m128 hsum8x4(__m256 v0, __m256 v1, __m256 v2, __m256 v3)
{
	__m512 v01 = cat256(v0, v1);
	__m512 v23 = cat256(v2, v3);
	/* Lanes i and i + 4: [v0 v1 v2 v3], four lanes each. */
	__m512 c = _mm512_add_ps(_mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(2, 0, 2, 0)),
				 _mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(3, 1, 3, 1)));

	c = _mm512_add_ps(c, _mm512_shuffle_ps(c, c, _MM_SHUFFLE(1, 0, 3, 2)));
	c = _mm512_add_ps(c, _mm512_movehdup_ps(c));
	return _mm512_castps512_ps128(_mm512_permutexvar_ps(
	    _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0), c));
}

/* Four binary16 scales `stride` bytes apart, as floats (exact). */
static inline AVX512 __m128 half4(const uint8_t *p, size_t stride)
{
	__m128i h = _mm_cvtsi32_si128(quant_le16(p));

	h = _mm_insert_epi16(h, quant_le16(p + stride), 1);
	h = _mm_insert_epi16(h, quant_le16(p + 2 * stride), 2);
	h = _mm_insert_epi16(h, quant_le16(p + 3 * stride), 3);
	return _mm_cvtph_ps(h);
}

/* Two 32-byte loads as one register (low half from p0). */
static inline AVX512 __m512i ld2x256(const uint8_t *p0, const uint8_t *p1)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(ld256(p0)), ld256(p1), 1);
}

/* Sums of four products of signed bytes x and y into 16 int32 lanes;
 * |x| <= 128, |y| <= 127 as in the AVX2 kernels. */
static inline AVX512 __m512i dot_s8s8(__m512i x, __m512i y)
{
	__mmask64 neg = _mm512_movepi8_mask(x);
	__m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
	return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), sy);
}

/* acc + the block-pair scales times the integer sums: lanes 0-7 belong to
 * the block at (w0, a0), lanes 8-15 to (w1, a1). */
static inline AVX512 __m512 fma_pair(const uint8_t *w0, const uint8_t *a0, const uint8_t *w1,
				     const uint8_t *a1, __m512i isum, __m512 acc)
{
	__m512 d = _mm512_mask_broadcastss_ps(_mm512_set1_ps(half(w0) * quant_ldf(a0)), 0xFF00,
					      _mm_set_ss(half(w1) * quant_ldf(a1)));
	return _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(isum), acc);
}

/* ---- float weights ---- */

static AVX512 float dot_f32(const uint8_t *w, const uint8_t *act, size_t n)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;

	for (; i + 64 <= n; i += 64) {
		const uint8_t *pw = w + 4 * i, *pa = act + 4 * i;
		a0 = _mm512_fmadd_ps(_mm512_loadu_ps(pw), _mm512_loadu_ps(pa), a0);
		a1 = _mm512_fmadd_ps(_mm512_loadu_ps(pw + 64), _mm512_loadu_ps(pa + 64), a1);
		a2 = _mm512_fmadd_ps(_mm512_loadu_ps(pw + 128), _mm512_loadu_ps(pa + 128), a2);
		a3 = _mm512_fmadd_ps(_mm512_loadu_ps(pw + 192), _mm512_loadu_ps(pa + 192), a3);
	}
	for (; i < n; i += 16) {
		__mmask16 m = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + 4 * i),
				     _mm512_maskz_loadu_ps(m, act + 4 * i), a0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

static inline AVX512 __m512 ld_f16x16(const uint8_t *p, __mmask16 m)
{
	return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

static AVX512 float dot_f16(const uint8_t *w, const uint8_t *act, size_t n)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0;

	for (; i + 64 <= n; i += 64) {
		const uint8_t *pw = w + 2 * i, *pa = act + 4 * i;
		a0 = _mm512_fmadd_ps(ld_f16x16(pw, 0xFFFF), _mm512_loadu_ps(pa), a0);
		a1 = _mm512_fmadd_ps(ld_f16x16(pw + 32, 0xFFFF), _mm512_loadu_ps(pa + 64), a1);
		a2 = _mm512_fmadd_ps(ld_f16x16(pw + 64, 0xFFFF), _mm512_loadu_ps(pa + 128), a2);
		a3 = _mm512_fmadd_ps(ld_f16x16(pw + 96, 0xFFFF), _mm512_loadu_ps(pa + 192), a3);
	}
	for (; i < n; i += 16) {
		__mmask16 m = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		a0 = _mm512_fmadd_ps(ld_f16x16(w + 2 * i, m), _mm512_maskz_loadu_ps(m, act + 4 * i),
				     a0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* bfloat16 is the top half of a binary32. */
static inline AVX512 __m512 ld_bf16x16(const uint8_t *p, __mmask16 m)
{
	__m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
	return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

static AVX512 float dot_bf16(const uint8_t *w, const uint8_t *act, size_t n)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = a0;
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		a0 = _mm512_fmadd_ps(ld_bf16x16(w + 2 * i, 0xFFFF), _mm512_loadu_ps(act + 4 * i),
				     a0);
		a1 = _mm512_fmadd_ps(ld_bf16x16(w + 2 * i + 32, 0xFFFF),
				     _mm512_loadu_ps(act + 4 * i + 64), a1);
	}
	for (; i < n; i += 16) {
		__mmask16 m = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		a0 = _mm512_fmadd_ps(ld_bf16x16(w + 2 * i, m),
				     _mm512_maskz_loadu_ps(m, act + 4 * i), a0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/* ---- 32-element blocks, two per register ---- */

/* The nibbles of two Q4_0 blocks in element order: 128-bit lanes hold
 * block 0's low nibbles (elements 0-15), its high nibbles (16-31), then
 * the same for block 1; unsigned, the zero point 8 not yet taken out. */
static inline AVX512 __m512i q4_0_pair(const uint8_t *w0, const uint8_t *w1)
{
	const long long by4 = 0x0004000400040004LL; /* 16-bit shift counts */
	const __m512i shift = _mm512_set_epi64(by4, by4, 0, 0, by4, by4, 0, 0);
	__m512i x =
	    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_broadcastsi128_si256(ld128(w0 + 2))),
			       _mm256_broadcastsi128_si256(ld128(w1 + 2)), 1);

	x = _mm512_srlv_epi16(x, shift);
	return _mm512_and_si512(x, _mm512_set1_epi8(0x0F));
}

/* Two blocks' weights as unsigned bytes u = w + zero: Q8_0's with the sign
 * bit flipped (zero 128), Q4_0's nibbles (zero 8). */
static INLINE AVX512 __m512i pair_unsigned(enum quant_kind kind, const uint8_t *w0,
					   const uint8_t *w1)
{
	if (kind == QK_Q8_0)
		return _mm512_xor_si512(ld2x256(w0 + 2, w1 + 2), _mm512_set1_epi8((char)0x80));
	return q4_0_pair(w0, w1);
}

/* The parts of an A8 activation that do not depend on the row, per step
 * of four blocks, made once per quant_dot_rows call: the scales, the two
 * block pairs' qs as single registers, and the sums that take the zero
 * point out (below). Rows wider than PACK_BLOCKS blocks read the
 * activation as it is. */
#define PACK_BLOCKS 256

typedef struct a8_pack {
	__m512i qs[PACK_BLOCKS / 2], start[PACK_BLOCKS / 2];
	float d[PACK_BLOCKS];
} a8_pack;

/* Blocks b..b+3 of the activation: scales, qs pairs, and -zero * (the sum
 * of each four activations), as VPDPBUSD lanes. */
static INLINE AVX512 void a8_step(const uint8_t *act, __m512i zero, __m128 *d, __m512i a[2],
				  __m512i start[2])
{
	const uint8_t *x1 = act + A8_BYTES, *x2 = x1 + A8_BYTES, *x3 = x2 + A8_BYTES;

	*d = _mm_setr_ps(quant_ldf(act), quant_ldf(x1), quant_ldf(x2), quant_ldf(x3));
	a[0] = ld2x256(act + A8_QS, x1 + A8_QS);
	a[1] = ld2x256(x2 + A8_QS, x3 + A8_QS);
	for (int k = 0; k < 2; k++)
		start[k] =
		    _mm512_sub_epi32(_mm512_setzero_si512(),
				     _mm512_dpbusd_epi32(_mm512_setzero_si512(), zero, a[k]));
}

static inline AVX512 __m512i zero_point(enum quant_kind kind)
{
	return _mm512_set1_epi8(kind == QK_Q8_0 ? (char)0x80 : 8);
}

static AVX512 void a8_pack_make(enum quant_kind kind, const uint8_t *act, size_t nb, a8_pack *pk)
{
	for (size_t b = 0; b + 4 <= nb; b += 4, act += 4 * A8_BYTES) {
		__m128 d;

		a8_step(act, zero_point(kind), &d, &pk->qs[b / 2], &pk->start[b / 2]);
		_mm_storeu_ps(pk->d + b, d);
	}
}

/* One row of Q8_0 or Q4_0 against an A8 activation (or its pack, where pk
 * is not NULL), four blocks a step, two to a register, block pairs
 * alternating between two accumulators: returns their sum, still a
 * vector, and in *tail the dot product of the last one to three blocks,
 * from the portable kernel (the header says why). VPDPBUSD multiplies the
 * unsigned weights u = w + zero by the signed activation, from a start of
 * -zero * (each four activations' sum), which leaves sum(w * a) exactly:
 * the same integers as the sign trick, in fewer instructions. */
static INLINE AVX512 __m512 row_u8(enum quant_kind kind, const uint8_t *w, const uint8_t *act,
				   const a8_pack *pk, size_t nb, float *tail)
{
	const size_t bytes = kind == QK_Q8_0 ? Q8_0_BYTES : Q4_0_BYTES;
	const __m512i pick01 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m512i pick23 = _mm512_add_epi32(pick01, _mm512_set1_epi32(2));
	__m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
	size_t b = 0;

	for (; b + 4 <= nb; b += 4, w += 4 * bytes) {
		__m512i a[2], start[2], s0, s1;
		__m128 da;
		__m512 d;

		if (pk != NULL) {
			da = _mm_loadu_ps(pk->d + b);
			a[0] = pk->qs[b / 2], a[1] = pk->qs[b / 2 + 1];
			start[0] = pk->start[b / 2], start[1] = pk->start[b / 2 + 1];
		} else {
			a8_step(act + b * A8_BYTES, zero_point(kind), &da, a, start);
		}
		/* The four blocks' scale products, as fma_pair forms them. */
		d = _mm512_castps128_ps512(_mm_mul_ps(half4(w, bytes), da));
		s0 = _mm512_dpbusd_epi32(start[0], pair_unsigned(kind, w, w + bytes), a[0]);
		s1 = _mm512_dpbusd_epi32(start[1],
					 pair_unsigned(kind, w + 2 * bytes, w + 3 * bytes), a[1]);
		acc0 =
		    _mm512_fmadd_ps(_mm512_permutexvar_ps(pick01, d), _mm512_cvtepi32_ps(s0), acc0);
		acc1 =
		    _mm512_fmadd_ps(_mm512_permutexvar_ps(pick23, d), _mm512_cvtepi32_ps(s1), acc1);
	}
	*tail = b < nb ? quant_kernels_portable.dot[kind](w, act + b * A8_BYTES, nb - b) : 0;
	return _mm512_add_ps(acc0, acc1);
}

static INLINE AVX512 float dot_u8(enum quant_kind kind, const uint8_t *w, const uint8_t *act,
				  size_t nb)
{
	float tail;
	__m512 sum = row_u8(kind, w, act, NULL, nb, &tail);

	return hsum16(sum) + tail;
}

/* Rows one after the other (in memory order, which the hardware
 * prefetcher follows; interleaving rows defeats it), against one pack of
 * the activation, and the horizontal sums of four rows together. */
static INLINE AVX512 void rows_u8(enum quant_kind kind, const uint8_t *w, size_t rb, size_t nrows,
				  const uint8_t *act, size_t nb, float *y)
{
	_Alignas(64) a8_pack pack;
	const a8_pack *pk = NULL;
	size_t r = 0;

	if (nb <= PACK_BLOCKS && nrows > 1) {
		a8_pack_make(kind, act, nb, &pack);
		pk = &pack;
	}
	for (; r + 4 <= nrows; r += 4, w += 4 * rb) {
		__m512 sum[4];
		float tail[4];

		for (int k = 0; k < 4; k++)
			sum[k] = row_u8(kind, w + k * rb, act, pk, nb, &tail[k]);
		_mm_storeu_ps(y + r, _mm_add_ps(hsum16x4(sum[0], sum[1], sum[2], sum[3]),
						_mm_loadu_ps(tail)));
	}
	for (; r < nrows; r++, w += rb) {
		float tail;
		__m512 sum = row_u8(kind, w, act, pk, nb, &tail);

		y[r] = hsum16(sum) + tail;
	}
}

static AVX512 float dot_q8_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	return dot_u8(QK_Q8_0, w, act, nb);
}

static AVX512 void rows_q8_0(const uint8_t *w, size_t rb, size_t nrows, const uint8_t *act,
			     size_t nb, float *y)
{
	rows_u8(QK_Q8_0, w, rb, nrows, act, nb, y);
}

static AVX512 float dot_q4_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	return dot_u8(QK_Q4_0, w, act, nb);
}

static AVX512 void rows_q4_0(const uint8_t *w, size_t rb, size_t nrows, const uint8_t *act,
			     size_t nb, float *y)
{
	rows_u8(QK_Q4_0, w, rb, nrows, act, nb, y);
}

/* Q5_0 and Q5_1: the Q4_0 nibble pair, and the fifth bits straight from
 * the two 32-bit qh fields through a mask register: bit e of the 64-bit
 * mask is byte e of the pair. */
static inline AVX512 __m512i q5_pair(const uint8_t *w0, const uint8_t *w1, size_t qh, size_t qs)
{
	const long long by4 = 0x0004000400040004LL;
	const __m512i shift = _mm512_set_epi64(by4, by4, 0, 0, by4, by4, 0, 0);
	__mmask64 high = (__mmask64)quant_le32(w0 + qh) | (__mmask64)quant_le32(w1 + qh) << 32;
	__m512i x =
	    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_broadcastsi128_si256(ld128(w0 + qs))),
			       _mm256_broadcastsi128_si256(ld128(w1 + qs)), 1);

	x = _mm512_and_si512(_mm512_srlv_epi16(x, shift), _mm512_set1_epi8(0x0F));
	return _mm512_or_si512(x, _mm512_maskz_set1_epi8(high, 0x10));
}

static AVX512 float dot_q5_0(const uint8_t *w, const uint8_t *act, size_t nb)
{
	__m512 a0 = _mm512_setzero_ps();
	size_t b = 0;
	float tail = 0;

	for (; b + 2 <= nb; b += 2, w += 2 * Q5_0_BYTES, act += 2 * A8_BYTES) {
		const uint8_t *w1 = w + Q5_0_BYTES, *x1 = act + A8_BYTES;
		__m512i x = _mm512_sub_epi8(q5_pair(w, w1, 2, 6), _mm512_set1_epi8(16));
		a0 = fma_pair(w, act, w1, x1, dot_s8s8(x, ld2x256(act + A8_QS, x1 + A8_QS)), a0);
	}
	if (b < nb)
		tail = quant_kernels_portable.dot[QK_Q5_0](w, act, nb - b);
	return _mm512_reduce_add_ps(a0) + tail;
}

/* Q5_1 values are unsigned, as VPDPBUSD wants them; the offsets meet the
 * activation sums once per block. */
static AVX512 float dot_q5_1(const uint8_t *w, const uint8_t *act, size_t nb)
{
	__m512 a0 = _mm512_setzero_ps();
	size_t b = 0;
	float offs = 0;

	for (; b + 2 <= nb; b += 2, w += 2 * Q5_1_BYTES, act += 2 * A8_BYTES) {
		const uint8_t *w1 = w + Q5_1_BYTES, *x1 = act + A8_BYTES;
		__m512i isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q5_pair(w, w1, 4, 8),
						   ld2x256(act + A8_QS, x1 + A8_QS));
		a0 = fma_pair(w, act, w1, x1, isum, a0);
		offs += half(w + 2) * quant_ldf(act + 4) + half(w1 + 2) * quant_ldf(x1 + 4);
	}
	if (b < nb)
		offs += quant_kernels_portable.dot[QK_Q5_1](w, act, nb - b);
	return _mm512_reduce_add_ps(a0) + offs;
}

/* ---- 256-element super-blocks ---- */

/* A vector of int16: element lo of v16 in every lane of the low 256 bits,
 * element hi in every lane of the high 256 bits. */
static inline AVX512 __m512i spread_pair(__m512i v16, int lo, int hi)
{
	__m512i idx =
	    _mm512_inserti64x4(_mm512_set1_epi16((short)lo), _mm256_set1_epi16((short)hi), 1);
	return _mm512_permutexvar_epi16(idx, v16);
}

/* One row of Q4_K: the sums of the scaled products and of the offsets,
 * still vectors (dot_q4_k's result is the first's total less the
 * second's). */
static INLINE AVX512 __m512 row_q4_k(const uint8_t *w, const uint8_t *act, size_t nb,
				     __m256 *offsets)
{
	const __m512i m4 = _mm512_set1_epi8(0x0F);
	__m256 accm = _mm256_setzero_ps();
	__m512 acc = _mm512_setzero_ps();

	for (size_t b = 0; b < nb; b++, w += Q4_K_BYTES, act += A8K_BYTES) {
		const uint8_t *aq = act + A8K_QS, *qs = w + 16;
		float da = quant_ldf(act);
		uint32_t w0 = quant_le32(w + 4), w1 = quant_le32(w + 8), w2 = quant_le32(w + 12);
		uint64_t sc = (uint64_t)(w0 & 0x3F3F3F3Fu) |
			      (uint64_t)((w2 & 0x0F0F0F0Fu) | ((w0 >> 6) & 0x03030303u) << 4) << 32;
		uint64_t mn = (uint64_t)(w1 & 0x3F3F3F3Fu) |
			      (uint64_t)(((w2 >> 4) & 0x0F0F0F0Fu) | ((w1 >> 6) & 0x03030303u) << 4)
				  << 32;
		__m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn));
		__m256i mins =
		    _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
		__m512i sc16 =
		    _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
		__m512i sumi = _mm512_setzero_si512();

		/* Offsets, as in the AVX2 kernel: m_j times the sum of a over
		 * sub-block j. */
		mins = _mm256_madd_epi16(ld256(act + A8K_BSUMS), mins);
		accm = _mm256_fmadd_ps(_mm256_set1_ps(half(w + 2) * da), _mm256_cvtepi32_ps(mins),
				       accm);
		/* 64 bytes of qs are sub-blocks 4k, 4k+2 (low nibbles) and 4k+1,
		 * 4k+3 (high nibbles). */
		for (int k = 0; k < 2; k++) {
			__m512i q = _mm512_loadu_si512(qs + 64 * k);
			const uint8_t *a = aq + 128 * k;
			__m512i lo = _mm512_and_si512(q, m4);
			__m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
			__m512i plo = _mm512_maddubs_epi16(lo, ld2x256(a, a + 64));
			__m512i phi = _mm512_maddubs_epi16(hi, ld2x256(a + 32, a + 96));
			plo = _mm512_madd_epi16(plo, spread_pair(sc16, 4 * k, 4 * k + 2));
			phi = _mm512_madd_epi16(phi, spread_pair(sc16, 4 * k + 1, 4 * k + 3));
			sumi = _mm512_add_epi32(sumi, _mm512_add_epi32(plo, phi));
		}
		acc = _mm512_fmadd_ps(_mm512_set1_ps(half(w) * da), _mm512_cvtepi32_ps(sumi), acc);
	}
	*offsets = accm;
	return acc;
}

static AVX512 float dot_q4_k(const uint8_t *w, const uint8_t *act, size_t nb)
{
	__m256 offs;
	__m512 sum = row_q4_k(w, act, nb, &offs);

	return hsum16(sum) - hsum8_256(offs);
}

static AVX512 void rows_q4_k(const uint8_t *w, size_t rb, size_t nrows, const uint8_t *act,
			     size_t nb, float *y)
{
	size_t r = 0;

	for (; r + 4 <= nrows; r += 4, w += 4 * rb) {
		__m512 sum[4];
		__m256 offs[4];

		for (int k = 0; k < 4; k++)
			sum[k] = row_q4_k(w + k * rb, act, nb, &offs[k]);
		_mm_storeu_ps(y + r, _mm_sub_ps(hsum16x4(sum[0], sum[1], sum[2], sum[3]),
						hsum8x4(offs[0], offs[1], offs[2], offs[3])));
	}
	for (; r < nrows; r++, w += rb)
		y[r] = dot_q4_k(w, act, nb);
}

/* Q6_K: per half of 128 elements, its 64 ql bytes are one register whose
 * low nibbles are groups 0 and 1 and high nibbles groups 2 and 3 (each
 * group 32 consecutive elements, so the activation is two contiguous
 * 64-byte loads); qh supplies bit pairs 0-1 / 2-3 to the low nibbles and
 * 4-5 / 6-7 to the high ones. */
static AVX512 float dot_q6_k(const uint8_t *w, const uint8_t *act, size_t nb)
{
	const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(0x30);
	const long long s42 = 0x0002000200020002LL, s44 = 0x0004000400040004LL;
	const __m512i shl = _mm512_set_epi64(s42, s42, s42, s42, s44, s44, s44, s44);
	const __m512i shr = _mm512_set_epi64(s42, s42, s42, s42, 0, 0, 0, 0);
	float acc = 0;

	for (size_t b = 0; b < nb; b++, w += Q6_K_BYTES, act += A8K_BYTES) {
		const uint8_t *aq = act + A8K_QS;
		__m512i sc = _mm512_cvtepi8_epi32(ld128(w + Q6K_SC)); /* 16 int32 */
		__m512i sumi = _mm512_setzero_si512();
		__m256i offs = _mm256_madd_epi16(ld256(act + A8K_BSUMS),
						 _mm256_cvtepi8_epi16(ld128(w + Q6K_SC)));

		for (int h = 0; h < 2; h++) {
			__m512i l = _mm512_loadu_si512(w + 64 * h);
			__m512i hb = _mm512_broadcast_i64x4(ld256(w + Q6K_QH + 32 * h));
			__m512i qlo =
			    _mm512_or_si512(_mm512_and_si512(l, m4),
					    _mm512_and_si512(_mm512_sllv_epi16(hb, shl), m3));
			__m512i qhi =
			    _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
					    _mm512_and_si512(_mm512_srlv_epi16(hb, shr), m3));
			/* Lane i of a VPDPBUSD result covers elements 4i..4i+3:
			 * scale 8h + i/4 (low nibbles), 8h + 4 + i/4 (high). */
			__m512i ilo =
			    _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
			__m512i slo = _mm512_permutexvar_epi32(
			    _mm512_add_epi32(ilo, _mm512_set1_epi32(8 * h)), sc);
			__m512i shi = _mm512_permutexvar_epi32(
			    _mm512_add_epi32(ilo, _mm512_set1_epi32(8 * h + 4)), sc);
			__m512i plo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qlo,
							  _mm512_loadu_si512(aq + 128 * h));
			__m512i phi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qhi,
							  _mm512_loadu_si512(aq + 128 * h + 64));
			sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(plo, slo));
			sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(phi, shi));
		}
		/* One exact integer per super-block, as in the AVX2 kernel. */
		acc += half(w + Q6K_D) * quant_ldf(act) *
		       (float)(_mm512_reduce_add_epi32(sumi) - 32 * hsum_epi32_256(offs));
	}
	return acc;
}

static const quant_kernels avx512_kernels = {
    .isa = "avx512",
    .act_a8 = quant_avx2_act_a8,
    .act_a8k = quant_avx2_act_a8k,
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
    .rows =
	{
	    [QK_Q8_0] = rows_q8_0,
	    [QK_Q4_0] = rows_q4_0,
	    [QK_Q4_K] = rows_q4_k,
	},
};

/* AVX-512 needs the OS to save the ZMM and mask state, which
 * __builtin_cpu_supports checks; the AVX2 kernels this table borrows need
 * what quant_kernels_avx2 checks. */
const quant_kernels *quant_kernels_avx512(void)
{
	__builtin_cpu_init();
	if (quant_kernels_avx2() == NULL || !__builtin_cpu_supports("avx512f") ||
	    !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl") ||
	    !__builtin_cpu_supports("avx512vnni"))
		return NULL;
	return &avx512_kernels;
}

#else

const quant_kernels *quant_kernels_avx512(void)
{
	return NULL;
}

#endif

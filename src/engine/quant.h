/*
 * quant.h - the engine's tensor types: dequantization and dot products for
 * the ggml block formats Veil computes with (F32, F16, BF16, Q8_0, Q4_0,
 * Q5_0, Q5_1, Q4_K, Q6_K; layouts in docs/quant.md, after ggml).
 *
 * A matrix-vector product y = W x runs row by row: the activation x is
 * prepared once per product in the form the weight type's kernel wants
 * (f32 as it is for F32/F16/BF16; quantized to 8-bit blocks for the
 * quantized types, as llama.cpp does, so the inner loop is integer), then
 * each row's dot product is one quant_dot call, or a run of rows one
 * quant_dot_rows call (what the engine uses). Kernels use AVX2 or
 * AVX-512 when the CPU has them (checked once at run time) and a portable
 * loop otherwise; all give the same result up to float rounding.
 *
 * Preconditions, not checked errors (the engine checks tensor types and
 * shapes once, when it loads a model): type is one quant_supported()
 * accepts and n is a multiple of quant_block_elems(type); a call that
 * breaks them aborts the process with a message. Weight rows and
 * activation buffers need no particular alignment.
 */
#ifndef VEIL_ENGINE_QUANT_H
#define VEIL_ENGINE_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether the engine computes with this ggml type. */
bool quant_supported(uint32_t type);
/* Bytes of a row of n elements (n a multiple of the block size). */
size_t quant_row_bytes(uint32_t type, size_t n);
/* Elements per block (1 for F32/F16/BF16, 32 or 256 for the rest). */
size_t quant_block_elems(uint32_t type);

/* Dequantizes a row of n elements to f32. */
void quant_dequant_row(uint32_t type, const void *row, float *out, size_t n);

/* The activation buffer for weights of this type: bytes needed for n
 * elements, and its preparation from f32. For F32, F16 and BF16 weights
 * the prepared form is x itself, so x may be passed to quant_dot as act
 * without preparing (or act may be x). */
size_t quant_act_bytes(uint32_t type, size_t n);
void quant_act_prepare(uint32_t type, const float *x, size_t n, void *act);
/* sum_i W_row[i] * x[i] over n elements, with x prepared for this type. */
float quant_dot(uint32_t type, const void *row, const void *act, size_t n);
/* y[r] = quant_dot(type, w + r * row_bytes, act, n) for r < nrows, bit
 * for bit (tested), with the kernel chosen once for all the rows. Where
 * the kernels allow, four rows go at a time, sharing the activation's
 * loads and their horizontal sums. row_bytes is at least
 * quant_row_bytes(type, n). */
void quant_dot_rows(uint32_t type, const void *w, size_t row_bytes, size_t nrows, const void *act,
		    size_t n, float *y);

/* "avx512", "avx2" or "portable": the kernels in use (for logs and the
 * benchmark). */
const char *quant_isa(void);

/* Tests and benchmarks only: makes quant_dot use the kernels of the named
 * ISA ("portable", "avx2", "avx512"), or the automatic choice again for
 * NULL. False, changing nothing, for a name this CPU or build cannot run.
 * Not for the engine: it swaps a process-wide table, so call it while no
 * other thread is computing. */
bool quant_force_isa(const char *isa);

#endif

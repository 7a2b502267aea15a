/*
 * quant.c - the front of the engine's tensor-type code (quant.h): which
 * ggml types the engine computes with, their block geometry, the
 * preparation of activations, and the run-time choice between the
 * portable, AVX2 and AVX-512 kernels.
 *
 * The kernels are chosen once, on first use, from what the CPU reports
 * (quant_avx2.c and quant_avx512.c check with __builtin_cpu_supports), so
 * one binary built without -mavx2 runs everywhere and still uses the wide
 * instructions where they exist. The choice is a pointer published with
 * atomic loads and stores: any thread may be first, all find the same
 * table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "engine/quant_impl.h"
#include "veil/gguf.h"

/* What the activation for a weight type looks like (docs/quant.md). */
enum act_kind {
	ACT_F32, /* the f32 vector as it is */
	ACT_A8,  /* 32-element blocks: float d, float s, int8 qs[32] */
	ACT_A8K, /* 256-element blocks: float d, int8 qs[256], int16 bsums[16] */
};

typedef struct quant_type_info {
	enum quant_kind kind;
	enum act_kind act;
	size_t elems; /* per block */
	size_t bytes; /* per block */
} quant_type_info;

/* Sizes from ggml-common.h (docs/quant.md). */
static const quant_type_info type_info[QK_COUNT_] = {
    [QK_F32] = {QK_F32, ACT_F32, 1, 4},
    [QK_F16] = {QK_F16, ACT_F32, 1, 2},
    [QK_BF16] = {QK_BF16, ACT_F32, 1, 2},
    [QK_Q8_0] = {QK_Q8_0, ACT_A8, QB, Q8_0_BYTES},
    [QK_Q4_0] = {QK_Q4_0, ACT_A8, QB, Q4_0_BYTES},
    [QK_Q5_0] = {QK_Q5_0, ACT_A8, QB, Q5_0_BYTES},
    [QK_Q5_1] = {QK_Q5_1, ACT_A8, QB, Q5_1_BYTES},
    [QK_Q4_K] = {QK_Q4_K, ACT_A8K, QBK, Q4_K_BYTES},
    [QK_Q6_K] = {QK_Q6_K, ACT_A8K, QBK, Q6_K_BYTES},
};

static const quant_type_info *type_lookup(uint32_t type)
{
	switch (type) {
	case VEIL_GGML_F32:
		return &type_info[QK_F32];
	case VEIL_GGML_F16:
		return &type_info[QK_F16];
	case VEIL_GGML_BF16:
		return &type_info[QK_BF16];
	case VEIL_GGML_Q8_0:
		return &type_info[QK_Q8_0];
	case VEIL_GGML_Q4_0:
		return &type_info[QK_Q4_0];
	case VEIL_GGML_Q5_0:
		return &type_info[QK_Q5_0];
	case VEIL_GGML_Q5_1:
		return &type_info[QK_Q5_1];
	case VEIL_GGML_Q4_K:
		return &type_info[QK_Q4_K];
	case VEIL_GGML_Q6_K:
		return &type_info[QK_Q6_K];
	default:
		return NULL;
	}
}

/* A broken precondition is a bug in the caller, not bad input: the engine
 * validates types and shapes when it loads a model (quant.h). */
static const quant_type_info *type_checked(uint32_t type, size_t n, const char *what)
{
	const quant_type_info *t = type_lookup(type);

	/* n <= SIZE_MAX / 4 keeps every size below from overflowing: no
	 * weight or activation format takes more than 4 bytes per element. */
	if (t == NULL || n % t->elems != 0 || n > SIZE_MAX / 4) {
		fprintf(stderr, "quant: %s: type %u with %zu elements is not supported\n", what,
			type, n);
		abort();
	}
	return t;
}

bool quant_supported(uint32_t type)
{
	return type_lookup(type) != NULL;
}

size_t quant_block_elems(uint32_t type)
{
	const quant_type_info *t = type_lookup(type);
	return t != NULL ? t->elems : 0;
}

size_t quant_row_bytes(uint32_t type, size_t n)
{
	const quant_type_info *t = type_checked(type, n, "quant_row_bytes");
	return n / t->elems * t->bytes;
}

/* ---- kernel choice ---- */

static const quant_kernels *active_kernels;

static const quant_kernels *auto_kernels(void)
{
	const quant_kernels *k = quant_kernels_avx512();

	if (k == NULL)
		k = quant_kernels_avx2();
	return k != NULL ? k : &quant_kernels_portable;
}

static const quant_kernels *kernels(void)
{
	const quant_kernels *k = __atomic_load_n(&active_kernels, __ATOMIC_ACQUIRE);

	if (k == NULL) {
		k = auto_kernels();
		__atomic_store_n(&active_kernels, k, __ATOMIC_RELEASE);
	}
	return k;
}

const char *quant_isa(void)
{
	return kernels()->isa;
}

bool quant_force_isa(const char *isa)
{
	const quant_kernels *k = NULL;

	if (isa == NULL)
		k = auto_kernels();
	else if (strcmp(isa, "portable") == 0)
		k = &quant_kernels_portable;
	else if (strcmp(isa, "avx2") == 0)
		k = quant_kernels_avx2();
	else if (strcmp(isa, "avx512") == 0)
		k = quant_kernels_avx512();
	if (k == NULL)
		return false;
	__atomic_store_n(&active_kernels, k, __ATOMIC_RELEASE);
	return true;
}

/* ---- activations ---- */

size_t quant_act_bytes(uint32_t type, size_t n)
{
	const quant_type_info *t = type_checked(type, n, "quant_act_bytes");

	switch (t->act) {
	case ACT_A8:
		return n / QB * A8_BYTES;
	case ACT_A8K:
		return n / QBK * A8K_BYTES;
	default:
		return n * sizeof(float);
	}
}

void quant_act_prepare(uint32_t type, const float *x, size_t n, void *act)
{
	const quant_type_info *t = type_checked(type, n, "quant_act_prepare");

	switch (t->act) {
	case ACT_A8:
		kernels()->act_a8(x, n / QB, act);
		break;
	case ACT_A8K:
		kernels()->act_a8k(x, n / QBK, act);
		break;
	default:
		if (act != x)
			memcpy(act, x, n * sizeof(float));
		break;
	}
}

void quant_dequant_row(uint32_t type, const void *row, float *out, size_t n)
{
	const quant_type_info *t = type_checked(type, n, "quant_dequant_row");

	quant_dequant_fns[t->kind](row, out, n / t->elems);
}

float quant_dot(uint32_t type, const void *row, const void *act, size_t n)
{
	const quant_type_info *t = type_checked(type, n, "quant_dot");

	return kernels()->dot[t->kind](row, act, n / t->elems);
}

void quant_dot_rows(uint32_t type, const void *w, size_t row_bytes, size_t nrows, const void *act,
		    size_t n, float *y)
{
	const quant_type_info *t = type_checked(type, n, "quant_dot_rows");
	const quant_kernels *k = kernels();
	const uint8_t *row = w;
	size_t nb = n / t->elems;

	if (nrows > 1 && row_bytes < nb * t->bytes) {
		fprintf(stderr, "quant: quant_dot_rows: rows of %zu bytes overlap (%zu needed)\n",
			row_bytes, nb * t->bytes);
		abort();
	}
	if (k->rows[t->kind] != NULL) {
		k->rows[t->kind](row, row_bytes, nrows, act, nb, y);
		return;
	}
	for (size_t r = 0; r < nrows; r++, row += row_bytes)
		y[r] = k->dot[t->kind](row, act, nb);
}

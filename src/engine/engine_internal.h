/*
 * engine_internal.h - the model and session structures that model.c,
 * forward.c and generate.c share (include/veil/engine.h is the API).
 *
 * Weight matrices stay where the GGUF file put them and are read only
 * through quant.h's row kernels, which take bytes at any alignment. The
 * small vectors (norm weights, biases, RoPE frequency factors) are copied
 * into aligned float arrays at load: the file may align its tensors to
 * as little as one byte, and they are read on every token.
 */
#ifndef VEIL_ENGINE_INTERNAL_H
#define VEIL_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/pool.h"
#include "veil/engine.h"

/* A weight matrix of `rows` rows of `cols` elements (ggml's ne[1], ne[0]):
 * y = W x is one dot product per row. */
typedef struct eng_mat {
	const uint8_t *data;
	uint32_t type;
	size_t rows, cols;
	size_t row_bytes;
} eng_mat;

typedef struct eng_layer {
	float *attn_norm, *ffn_norm;  /* dim */
	float *bq, *bk, *bv, *bo;     /* optional biases (qwen2: q, k, v required) */
	eng_mat wq, wk, wv, wo;       /* q_dim x dim, kv_dim x dim (twice), dim x q_dim */
	eng_mat w_gate, w_up, w_down; /* hidden x dim (twice), dim x hidden */
} eng_layer;

struct veil_model {
	veil_model_config cfg;
	char arch_name[16];
	size_t q_dim, kv_dim; /* n_head * head_dim, n_head_kv * head_dim */
	eng_mat tok_embd;
	eng_mat output; /* tok_embd again when tied */
	float *output_norm;
	double *inv_freq; /* n_rot / 2: angle per position of each rotated pair */
	eng_layer *layers;
	size_t act_max; /* largest quant_act_bytes over the matrices */
};

struct veil_session {
	const veil_model *m;
	eng_pool *pool;
	size_t n_ctx, n_batch, pos;
	float *k_cache, *v_cache; /* n_layer x n_ctx x kv_dim */
	/* Scratch for one batch of up to n_batch tokens. */
	float *x, *xb, *xb2, *q, *hb,
	    *hb2;     /* B x dim, B x dim, B x q_dim, B x q_dim, B x hidden (x2) */
	float *rope;  /* B x n_rot/2 (cos, sin) pairs */
	float *att;   /* threads x n_ctx attention scores */
	uint8_t *act; /* B x act_stride: activations prepared for a type */
	size_t act_stride;
	/* Which input the prepared activations were made from (forward.c). */
	const float *act_src;
	uint32_t act_type;
	size_t act_n;
	uint8_t *scratch;   /* the arena all the buffers above point into */
	size_t alloc_bytes; /* its size, for the wipe at free */
};

/* Reads the current time in seconds (monotonic), for timings. */
double eng_now(void);

#endif

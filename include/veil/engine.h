/*
 * engine.h - Veil's built-in CPU inference engine for Llama-family GGUF
 * models (docs/engine.md).
 *
 * A veil_model is a validated view of the weights of an opened GGUF file
 * (include/veil/gguf.h): architectures "llama" and "qwen2", tensor types
 * F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K and Q6_K. It borrows the
 * file's memory (for a sealed model, the anonymous memory it was
 * decrypted into) and never copies the large tensors, so it is cheap to
 * make and can serve several sessions at once (it is read-only after
 * loading).
 *
 * A veil_session is one conversation: a KV cache, scratch buffers and a
 * thread pool. veil_session_eval runs tokens through the model in batches
 * (prompt processing reads each weight row once per batch instead of once
 * per token) and hands back logits; veil_generate is the whole loop of
 * prompt, sampling and streaming. A session is used by one thread at a
 * time.
 *
 * Everything a model file says is checked at load (shapes, counts against
 * the caps below, types, divisibility), so a model that loads cannot make
 * the forward pass read out of bounds; token ids are checked at every
 * call. Session memory holds prompt-derived data and is wiped when freed.
 */
#ifndef VEIL_ENGINE_H
#define VEIL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/gguf.h"

/* Caps on what a model file may ask for (hyper-parameters are untrusted
 * input: they size the KV cache and the scratch buffers). The largest
 * Llama-family models today stay well inside them: Llama 3 405B has 126
 * layers, dimension 16384, 128 heads of 128, a 53248-wide FFN and a
 * 128256-token vocabulary; Qwen2 has 151936 tokens. */
#define VEIL_ENGINE_LAYERS_MAX   512
#define VEIL_ENGINE_DIM_MAX      65536
#define VEIL_ENGINE_HEADS_MAX    1024
#define VEIL_ENGINE_HEAD_DIM_MAX 1024
#define VEIL_ENGINE_FFN_MAX      (1 << 20)
#define VEIL_ENGINE_VOCAB_MAX    (1 << 20)
/* Positions in one session's KV cache, and the default when the caller
 * does not choose (the model's training context if smaller). */
#define VEIL_ENGINE_CTX_MAX     (1 << 20)
#define VEIL_ENGINE_CTX_DEFAULT 4096
/* Tokens per forward pass of prompt processing. */
#define VEIL_ENGINE_BATCH_MAX     512
#define VEIL_ENGINE_BATCH_DEFAULT 32
#define VEIL_ENGINE_THREADS_MAX   256
/* Stop sequences in one generation, and bytes of each. */
#define VEIL_ENGINE_STOP_MAX     16
#define VEIL_ENGINE_STOP_LEN_MAX 256

typedef enum veil_arch {
	VEIL_ARCH_LLAMA, /* RoPE "normal": rotates (x[2i], x[2i+1]) */
	VEIL_ARCH_QWEN2, /* RoPE NeoX: rotates (x[i], x[i + n_rot/2]); q/k/v biases */
} veil_arch;

/* What a loaded model is, as read from its metadata and tensors. */
typedef struct veil_model_config {
	veil_arch arch;
	const char *arch_name; /* "llama", "qwen2" */
	size_t n_vocab;        /* rows of token_embd.weight */
	size_t dim;            /* embedding_length */
	size_t n_layer;        /* block_count */
	size_t n_head;         /* attention.head_count */
	size_t n_head_kv;      /* attention.head_count_kv (grouped-query attention) */
	size_t head_dim;       /* attention.key_length, default dim / n_head */
	size_t n_rot;          /* rope.dimension_count, default head_dim */
	size_t hidden;         /* feed_forward_length */
	size_t n_ctx_train;    /* context_length */
	float norm_eps;        /* attention.layer_norm_rms_epsilon */
	float rope_base;       /* rope.freq_base, default 10000 */
	float rope_freq_scale; /* 1 / rope.scaling.factor for "linear" scaling, else 1 */
	bool rope_freqs;       /* rope_freqs.weight divides each pair's frequency */
	bool tied_output;      /* no output.weight: logits come from token_embd.weight */
	uint32_t weight_type;  /* ggml type of blk.0.attn_q.weight, for display */
	uint64_t weight_bytes; /* bytes of weights one token's forward pass reads */
} veil_model_config;

typedef struct veil_model veil_model;
typedef struct veil_session veil_session;

/*
 * Builds a model from an opened GGUF file; g (and the buffer it borrows)
 * must outlive the model. Fails with VEIL_E_UNSUPPORTED naming the
 * architecture or the tensor and its type when the engine cannot run the
 * file, VEIL_E_NOT_FOUND naming a missing key or tensor, VEIL_E_MALFORMED
 * for a shape or value that does not fit the model, VEIL_E_LIMIT for a
 * size over the caps above.
 */
VEIL_MUST_CHECK veil_err veil_model_load(const veil_gguf *g, veil_model **out);
void veil_model_free(veil_model *m);
const veil_model_config *veil_model_info(const veil_model *m);

/* The matrix kernels in use: "avx512", "avx2" or "portable". */
const char *veil_engine_kernels(void);

typedef struct veil_session_params {
	size_t n_ctx;       /* positions; 0: min(n_ctx_train, VEIL_ENGINE_CTX_DEFAULT) */
	size_t n_batch;     /* tokens per forward pass; 0: VEIL_ENGINE_BATCH_DEFAULT */
	unsigned n_threads; /* 0: the online CPUs (at most VEIL_ENGINE_THREADS_MAX) */
} veil_session_params;

/* A session over m (borrowed; it must outlive the session). p may be NULL
 * for the defaults. n_ctx may exceed the training context (RoPE goes on),
 * though the model's output is then unlikely to be useful. */
VEIL_MUST_CHECK veil_err veil_session_new(const veil_model *m, const veil_session_params *p,
					  veil_session **out);
/* Wipes the KV cache and scratch, stops the threads, frees. NULL is fine. */
void veil_session_free(veil_session *s);
/* Forgets every position (wiping the KV cache entries used so far). */
void veil_session_reset(veil_session *s);
/* Positions filled so far, and the most there can be. */
size_t veil_session_pos(const veil_session *s);
size_t veil_session_n_ctx(const veil_session *s);

/*
 * Appends n tokens at the next positions and runs the model over them.
 * logits: NULL (only fill the KV cache), n_vocab floats for the last
 * token, or, with all, n * n_vocab floats, one row per token. Fails
 * without changing the session with VEIL_E_USAGE for a token outside the
 * vocabulary or n == 0, VEIL_E_LIMIT when the context would overflow.
 */
VEIL_MUST_CHECK veil_err veil_session_eval(veil_session *s, const int32_t *tokens, size_t n,
					   float *logits, bool all);

/* ---- sampling ---- */

/*
 * How the next token is chosen from the logits (docs/engine.md,
 * "Sampling"), in llama.cpp's order: keep the top_k highest (0: all),
 * then the smallest set whose softmax probability reaches top_p (1: all),
 * then divide by temperature and draw from the softmax of what is left.
 * temperature <= 0 is greedy: the highest logit, the lowest id on a tie.
 */
typedef struct veil_sample_params {
	float temperature;
	size_t top_k;
	float top_p;
	uint64_t seed;
} veil_sample_params;

/* temperature 0.8, top_k 40, top_p 0.95, seed 0 (the CLI picks a random
 * seed unless given one). */
void veil_sample_defaults(veil_sample_params *p);

typedef struct veil_sampler veil_sampler;

/* Checks p (finite temperature, top_p in (0, 1]; a top_k of 0 or above
 * n_vocab keeps every token) and seeds the generator. */
VEIL_MUST_CHECK veil_err veil_sampler_new(const veil_sample_params *p, size_t n_vocab,
					  veil_sampler **out);
void veil_sampler_free(veil_sampler *s);
/* The next token for these logits (n_vocab floats, not modified). */
int32_t veil_sampler_sample(veil_sampler *s, const float *logits);

/* The pseudo-random generator behind sampling, public so the sequence is
 * documented and testable: SplitMix64 (Steele, Lea and Flood, "Fast
 * Splittable Pseudorandom Number Generators", OOPSLA 2014): state +=
 * 0x9E3779B97F4A7C15, then the output mix of the state. A draw in [0, 1)
 * is the top 53 bits times 2^-53. */
uint64_t veil_rng_next(uint64_t *state);
double veil_rng_uniform(uint64_t *state);

/* ---- generation ---- */

typedef enum veil_stop_reason {
	VEIL_STOP_LENGTH,   /* max_tokens generated */
	VEIL_STOP_TOKEN,    /* a stop token (end of turn) was sampled */
	VEIL_STOP_SEQUENCE, /* the text reached a stop sequence */
	VEIL_STOP_CONTEXT,  /* the KV cache is full */
	VEIL_STOP_CALLER,   /* the callback asked to stop */
} veil_stop_reason;

const char *veil_stop_reason_name(veil_stop_reason r);

/* The text of one token (its bytes once detokenized; may be a part of a
 * UTF-8 character). Writes at most cap bytes to buf and returns how many
 * it wrote. */
typedef size_t (*veil_piece_fn)(void *user, int32_t token, char *buf, size_t cap);

/* Streaming: called once per generated token with the text that is final
 * now. Text that could still turn into a stop sequence, and the first
 * bytes of an unfinished UTF-8 character, are held back and come with a
 * later call; the last call (token -1) releases what is left when
 * generation ends. Stop sequences themselves are never passed on. Return
 * false to stop (VEIL_STOP_CALLER). */
typedef bool (*veil_token_fn)(void *user, int32_t token, const char *text, size_t len);

typedef struct veil_gen_params {
	veil_sample_params sample;
	size_t max_tokens;          /* 0: until a stop or the context is full */
	const int32_t *stop_tokens; /* e.g. EOS, <|eot_id|>, <|im_end|> */
	size_t n_stop_tokens;
	const char *const *stop; /* stop sequences (need piece) */
	size_t n_stop;
	veil_piece_fn piece; /* may be NULL: callbacks then get no text */
	void *piece_user;
	veil_token_fn on_token; /* may be NULL */
	void *user;
} veil_gen_params;

typedef struct veil_gen_result {
	veil_stop_reason stop;
	size_t n_prompt;
	size_t n_generated;    /* tokens sampled, the stop token included */
	double prompt_seconds; /* wall clock of prompt processing */
	double gen_seconds;    /* wall clock of the generation loop */
} veil_gen_result;

/*
 * Evaluates prompt (n_prompt >= 1 tokens, appended to what the session
 * holds) and then samples, streams and evaluates tokens until a stop
 * (max_tokens >= 1 samples at least one token). The token sampled last
 * (the stop token, or the one that hit the limit) is counted but never
 * evaluated, since nothing needs its logits: the session then holds the
 * prompt and every generated token but the last, and a conversation goes
 * on by evaluating that token first if it belongs to the text.
 */
VEIL_MUST_CHECK veil_err veil_generate(veil_session *s, const int32_t *prompt, size_t n_prompt,
				       const veil_gen_params *p, veil_gen_result *res);

#endif

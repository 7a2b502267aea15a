/*
 * bench_engine.c - generation speed of the built-in engine against the
 * memory-bandwidth bound, on a model of the shape of the public
 * stories110M checkpoint (dim 768, hidden 2048, 12 layers, 12 heads,
 * vocabulary 32000, output tied to the embeddings, as in llama2.c).
 *
 * Generating one token reads every weight once (and the KV cache so far),
 * so no engine can beat: bound = streaming read bandwidth / bytes read per
 * token. The benchmark builds the model in memory as a GGUF file with
 * random weights, in F32 and in Q8_0, measures in the same run:
 *   - the baseline: a plain read of the model's bytes (64-bit loads with
 *     four running sums, and 256-bit loads where the CPU has AVX2; the
 *     better counts) on 1 and on 2 threads: the streaming bandwidth;
 *   - tokens per second generating one token at a time (greedy, from a
 *     short prompt), on 1 and 2 threads;
 *   - prompt processing (64 tokens in batches of 32), for comparison;
 * and prints each speed next to its bound. Targets (issue "Sealed models
 * and the built-in inference engine"): F32 at 1 thread at least 80% of its
 * bound; Q8_0 at least 2.5 times F32's tokens per second. Each figure is
 * the best of a few rounds, the baseline and the engine alternating, so a
 * noisy neighbour lowers numbers rather than skewing one side of a ratio.
 *
 * Usage: bench_engine [tokens-per-round]   (default 24)
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "veil/bytes.h"
#include "veil/engine.h"
#include "veil/gguf.h"

#define DIM    768
#define HIDDEN 2048
#define LAYERS 12
#define HEADS  12
#define VOCAB  32000
#define ROUNDS 3
#define PROMPT 8

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x243F6A8885A308D3ULL;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

/* ---- a GGUF file in memory ---- */

typedef struct tensor_spec {
	char name[48];
	uint64_t ne0, ne1; /* ne1 0: a vector */
	uint32_t type;
	size_t bytes, offset;
} tensor_spec;

static bool put_str(veil_writer *w, const char *s)
{
	return veil_writer_u64le(w, strlen(s)) == VEIL_OK && veil_writer_puts(w, s) == VEIL_OK;
}

static bool kv_u32(veil_writer *w, const char *key, uint32_t v)
{
	return put_str(w, key) && veil_writer_u32le(w, VEIL_GGUF_UINT32) == VEIL_OK &&
	       veil_writer_u32le(w, v) == VEIL_OK;
}

static bool kv_f32(veil_writer *w, const char *key, float v)
{
	uint32_t bits;

	memcpy(&bits, &v, 4);
	return put_str(w, key) && veil_writer_u32le(w, VEIL_GGUF_FLOAT32) == VEIL_OK &&
	       veil_writer_u32le(w, bits) == VEIL_OK;
}

static size_t tensor_list(tensor_spec *t, uint32_t type)
{
	size_t n = 0;

#define ADD(nm, a, b, ty)                                                                          \
	(snprintf(t[n].name, sizeof t[n].name, "%s", nm), t[n].ne0 = (a), t[n].ne1 = (b),          \
	 t[n].type = (ty), n++)
	ADD("token_embd.weight", DIM, VOCAB, type);
	for (int l = 0; l < LAYERS; l++) {
		static const struct {
			const char *name;
			uint64_t ne0, ne1;
		} mats[] = {{"attn_q", DIM, DIM},      {"attn_k", DIM, DIM},
			    {"attn_v", DIM, DIM},      {"attn_output", DIM, DIM},
			    {"ffn_gate", DIM, HIDDEN}, {"ffn_up", DIM, HIDDEN},
			    {"ffn_down", HIDDEN, DIM}};
		char nm[48];

		snprintf(nm, sizeof nm, "blk.%d.attn_norm.weight", l);
		ADD(nm, DIM, 0, VEIL_GGML_F32);
		snprintf(nm, sizeof nm, "blk.%d.ffn_norm.weight", l);
		ADD(nm, DIM, 0, VEIL_GGML_F32);
		for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) {
			snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, mats[i].name);
			ADD(nm, mats[i].ne0, mats[i].ne1, type);
		}
	}
	ADD("output_norm.weight", DIM, 0, VEIL_GGML_F32);
#undef ADD
	return n;
}

/* Random weights of about 1/sqrt(fan-in); Q8_0 blocks get a fixed scale
 * (f16 0.01) and random 8-bit values. Only the bytes' count matters for
 * speed, but values stay finite and sane. */
static void fill(uint8_t *p, const tensor_spec *t)
{
	size_t n = t->ne0 * (t->ne1 ? t->ne1 : 1);

	if (t->type == VEIL_GGML_F32) {
		/* Uniform in [-a, a] with a = sqrt(3 / fan-in); norms 1. */
		float a = t->ne1 ? sqrtf(3.0f / (float)t->ne0) : 0;

		for (size_t i = 0; i < n; i++) {
			float v = (float)(int32_t)(next() >> 32) / 2147483648.0f * a;

			v = t->ne1 ? v : 1.0f;
			memcpy(p + 4 * i, &v, 4);
		}
		return;
	}
	for (size_t b = 0; b < n / 32; b++) {
		uint8_t *blk = p + 34 * b;
		uint64_t r[4] = {next(), next(), next(), next()};

		blk[0] = 0x1F; /* f16 0x211F = 0.0100 */
		blk[1] = 0x21;
		memcpy(blk + 2, r, 32);
	}
}

static uint8_t *build_model(uint32_t type, size_t *len)
{
	tensor_spec t[2 + 9 * LAYERS];
	size_t nt = tensor_list(t, type), data = 0, head;
	veil_writer w;
	uint8_t *buf = NULL;

	for (size_t i = 0; i < nt; i++) {
		size_t n = t[i].ne0 * (t[i].ne1 ? t[i].ne1 : 1);

		t[i].bytes = t[i].type == VEIL_GGML_F32 ? 4 * n : n / 32 * 34;
		t[i].offset = data;
		data += (t[i].bytes + 31) / 32 * 32;
	}
	veil_writer_init(&w, 1 << 20);
	bool ok = veil_writer_u32le(&w, 0x46554747) == VEIL_OK &&
		  veil_writer_u32le(&w, 3) == VEIL_OK && veil_writer_u64le(&w, nt) == VEIL_OK &&
		  veil_writer_u64le(&w, 12) == VEIL_OK;
	ok = ok && put_str(&w, "general.architecture") &&
	     veil_writer_u32le(&w, VEIL_GGUF_STRING) == VEIL_OK && put_str(&w, "llama");
	ok = ok && kv_u32(&w, "llama.context_length", 1024) &&
	     kv_u32(&w, "llama.embedding_length", DIM) && kv_u32(&w, "llama.block_count", LAYERS) &&
	     kv_u32(&w, "llama.feed_forward_length", HIDDEN) &&
	     kv_u32(&w, "llama.attention.head_count", HEADS) &&
	     kv_u32(&w, "llama.attention.head_count_kv", HEADS) &&
	     kv_u32(&w, "llama.rope.dimension_count", DIM / HEADS) &&
	     kv_f32(&w, "llama.attention.layer_norm_rms_epsilon", 1e-5f) &&
	     kv_f32(&w, "llama.rope.freq_base", 10000.0f) && kv_u32(&w, "general.alignment", 32) &&
	     kv_u32(&w, "llama.vocab_size", VOCAB);
	for (size_t i = 0; ok && i < nt; i++) {
		ok = put_str(&w, t[i].name) && veil_writer_u32le(&w, t[i].ne1 ? 2 : 1) == VEIL_OK &&
		     veil_writer_u64le(&w, t[i].ne0) == VEIL_OK &&
		     (t[i].ne1 == 0 || veil_writer_u64le(&w, t[i].ne1) == VEIL_OK) &&
		     veil_writer_u32le(&w, t[i].type) == VEIL_OK &&
		     veil_writer_u64le(&w, t[i].offset) == VEIL_OK;
	}
	head = (w.len + 31) / 32 * 32;
	if (ok && posix_memalign((void **)&buf, 64, head + data) == 0) {
		memset(buf, 0, head);
		memcpy(buf, w.data, w.len);
		for (size_t i = 0; i < nt; i++)
			fill(buf + head + t[i].offset, &t[i]);
		*len = head + data;
	}
	veil_writer_clear(&w);
	return buf;
}

/* ---- the baseline: streaming read bandwidth ---- */

typedef struct stream_job {
	const uint8_t *p;
	size_t len;
	uint64_t sum;
	bool wide;
} stream_job;

#if defined(__x86_64__)
#include <immintrin.h>

/* 256-bit loads where the CPU has AVX2: the widest plain read, so the
 * bound is not set by a narrow loop. */
__attribute__((target("avx2"))) static uint64_t stream_avx2(const uint8_t *p, size_t len)
{
	__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
	uint64_t out[4];

	for (size_t i = 0; i + 128 <= len; i += 128) {
		s0 = _mm256_add_epi64(s0,
				      _mm256_loadu_si256((const __m256i *)(const void *)(p + i)));
		s1 = _mm256_add_epi64(
		    s1, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32)));
		s2 = _mm256_add_epi64(
		    s2, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 64)));
		s3 = _mm256_add_epi64(
		    s3, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 96)));
	}
	s0 = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
	_mm256_storeu_si256((__m256i *)(void *)out, s0);
	return out[0] + out[1] + out[2] + out[3];
}
#endif

static void *stream_part(void *arg)
{
	stream_job *j = arg;
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, v[4];

#if defined(__x86_64__)
	if (j->wide) {
		j->sum = stream_avx2(j->p, j->len);
		return NULL;
	}
#endif
	for (size_t i = 0; i + 32 <= j->len; i += 32) {
		memcpy(v, j->p + i, 32);
		s0 += v[0];
		s1 += v[1];
		s2 += v[2];
		s3 += v[3];
	}
	j->sum = s0 + s1 + s2 + s3;
	return NULL;
}

static volatile uint64_t sink;

/* Bytes per second reading buf with `threads` threads: the better of the
 * two read loops (one round; the caller alternates it with the engine). */
static double bandwidth(const uint8_t *buf, size_t len, unsigned threads)
{
	double best = 0;
	bool can_wide = false;

#if defined(__x86_64__)
	can_wide = __builtin_cpu_supports("avx2");
#endif
	for (int r = 0; r < 2; r++) {
		stream_job jobs[2];
		pthread_t tid;
		bool wide = can_wide && r % 2 == 1;
		double t0 = now_seconds();

		for (unsigned i = 0; i < threads; i++)
			jobs[i] = (stream_job){buf + i * (len / threads), len / threads, 0, wide};
		if (threads > 1)
			pthread_create(&tid, NULL, stream_part, &jobs[1]);
		stream_part(&jobs[0]);
		if (threads > 1)
			pthread_join(tid, NULL);
		double bw = (double)(len / threads * threads) / (now_seconds() - t0);
		sink += jobs[0].sum + (threads > 1 ? jobs[1].sum : 0);
		if (bw > best)
			best = bw;
	}
	return best;
}

/* ---- the engine ---- */

typedef struct speed {
	double gen, prompt; /* tokens per second */
	double bw;          /* the baseline's bytes per second */
} speed;

static int32_t argmax(const float *v, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int32_t)best;
}

/* Rounds of: the baseline read of the model's bytes, a 64-token prompt,
 * then n_gen tokens generated one at a time; the best of each. */
static bool measure(const veil_model *m, const uint8_t *buf, size_t len, unsigned threads,
		    size_t n_gen, speed *out)
{
	veil_session_params sp = {.n_ctx = 256, .n_batch = 32, .n_threads = threads};
	veil_session *s;
	float *logits = malloc(VOCAB * sizeof(float));
	int32_t prompt[64];

	memset(out, 0, sizeof *out);
	if (logits == NULL || veil_session_new(m, &sp, &s) != VEIL_OK) {
		free(logits);
		return false;
	}
	for (int i = 0; i < 64; i++)
		prompt[i] = (int32_t)(next() % VOCAB);
	for (int r = 0; r < ROUNDS; r++) {
		double bw = bandwidth(buf, len, threads), t0 = now_seconds(), g, pp;

		if (bw > out->bw)
			out->bw = bw;
		t0 = now_seconds();
		veil_session_reset(s);
		if (veil_session_eval(s, prompt, 64, logits, false) != VEIL_OK)
			break;
		pp = 64 / (now_seconds() - t0);
		veil_session_reset(s);
		if (veil_session_eval(s, prompt, PROMPT, logits, false) != VEIL_OK)
			break;
		t0 = now_seconds();
		for (size_t i = 0; i < n_gen; i++) {
			int32_t tok = argmax(logits, VOCAB);

			if (veil_session_eval(s, &tok, 1, logits, false) != VEIL_OK)
				break;
		}
		g = (double)n_gen / (now_seconds() - t0);
		if (g > out->gen)
			out->gen = g;
		if (pp > out->prompt)
			out->prompt = pp;
	}
	veil_session_free(s);
	free(logits);
	return out->gen > 0;
}

int main(int argc, char **argv)
{
	size_t n_gen = 24;
	static const uint32_t types[2] = {VEIL_GGML_F32, VEIL_GGML_Q8_0};
	double f32_tps[3] = {0};

	if (argc > 1) {
		char *end;
		unsigned long v = strtoul(argv[1], &end, 10); /* checked: end and range below */

		if (*end != '\0' || v == 0 || v > 4096) {
			fprintf(stderr, "usage: bench_engine [tokens-per-round]\n");
			return 2;
		}
		n_gen = v;
	}
	printf("engine: stories110M shape (dim %d, hidden %d, %d layers, %d heads, vocab %d), "
	       "kernels %s, %zu tokens per round, best of %d\n\n",
	       DIM, HIDDEN, LAYERS, HEADS, VOCAB, veil_engine_kernels(), n_gen, ROUNDS);
	printf("%-5s %7s %10s %11s %10s %10s %9s %12s\n", "type", "threads", "MB/token",
	       "read GB/s", "bound t/s", "tokens/s", "of bound", "prompt t/s");
	for (size_t ti = 0; ti < 2; ti++) {
		size_t len;
		uint8_t *buf = build_model(types[ti], &len);
		veil_gguf *g = NULL;
		veil_model *m = NULL;

		if (buf == NULL || veil_gguf_open(buf, len, &g) != VEIL_OK ||
		    veil_model_load(g, &m) != VEIL_OK) {
			fprintf(stderr, "bench_engine: model: %s\n", veil_err_detail());
			return 1;
		}
		/* Weights plus the KV cache read at the average position. */
		double avg_pos = PROMPT + n_gen / 2.0;
		double bytes = (double)veil_model_info(m)->weight_bytes +
			       LAYERS * avg_pos * DIM * 2 * sizeof(float);
		for (unsigned th = 1; th <= 2; th++) {
			speed sp;

			if (!measure(m, buf, len, th, n_gen, &sp)) {
				fprintf(stderr, "bench_engine: %s\n", veil_err_detail());
				return 1;
			}
			double bound = sp.bw / bytes;
			printf("%-5s %7u %10.1f %11.2f %10.1f %10.1f %8.0f%% %12.1f\n",
			       ti == 0 ? "F32" : "Q8_0", th, bytes / 1e6, sp.bw / 1e9, bound,
			       sp.gen, 100 * sp.gen / bound, sp.prompt);
			if (ti == 0)
				f32_tps[th] = sp.gen;
			else
				printf("%-5s %7u   Q8_0 / F32 tokens per second: %.2f\n", "", th,
				       sp.gen / f32_tps[th]);
		}
		veil_model_free(m);
		veil_gguf_free(g);
		free(buf);
	}
	printf("\ntargets: F32 at 1 thread >= 80%% of its bound; Q8_0 >= 2.5x F32 tokens/s\n");
	return 0;
}

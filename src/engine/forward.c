/*
 * forward.c - sessions and the forward pass: tokens in, logits out.
 *
 * One function runs a batch of up to n_batch tokens through every layer,
 * as llama.cpp's graph for llama and qwen2 does (docs/engine.md):
 *
 *   x = token_embd[token]
 *   per layer:  h = rmsnorm(x) * attn_norm
 *               q, k, v = Wq h + bq, Wk h + bk, Wv h + bv  (biases: qwen2)
 *               RoPE on q and k; k and v go into the KV cache
 *               x += Wo attention(q, K[0..pos], V[0..pos])  (causal, GQA)
 *               h = rmsnorm(x) * ffn_norm
 *               x += Wdown (silu(Wgate h) * Wup h)
 *   logits = Woutput (rmsnorm(x) * output_norm)
 *
 * Matrix products go through quant_dot_rows (quant.h), the rows split
 * across the session's threads; with a batch every group of rows is read
 * once and used for all the batch's tokens while it is in cache, which is
 * what makes prompt processing faster than generating. Activations are
 * prepared for the weight type once per input, and q, k and v (as gate and
 * up) are one job for the threads when their types agree.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "engine/quant.h"
#include "veil/secret.h"

double eng_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *veil_engine_kernels(void)
{
	return quant_isa();
}

/* ---- sessions ---- */

#define ALIGN_UP(n, a) (((n) + (a)-1) / (a) * (a))

/* Scratch is one allocation carved into 64-byte aligned pieces. */
typedef struct arena_plan {
	size_t total;
	bool overflow;
} arena_plan;

static size_t plan(arena_plan *p, size_t count, size_t elem)
{
	size_t bytes, at = p->total;

	if (__builtin_mul_overflow(count, elem, &bytes) ||
	    __builtin_add_overflow(at, ALIGN_UP(bytes, 64), &p->total))
		p->overflow = true;
	return at;
}

veil_err veil_session_new(const veil_model *m, const veil_session_params *p, veil_session **out)
{
	const veil_model_config *c = &m->cfg;
	veil_session_params d = {0};
	veil_session *s;
	arena_plan ap = {0};
	size_t o_x, o_xb, o_xb2, o_q, o_hb, o_hb2, o_rope, o_att, o_act, kv_elems, B;
	unsigned threads;
	uint8_t *arena;
	veil_err err;

	*out = NULL;
	if (p != NULL)
		d = *p;
	threads = d.n_threads;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads =
		    n > 0 ? (unsigned)(n < VEIL_ENGINE_THREADS_MAX ? n : VEIL_ENGINE_THREADS_MAX)
			  : 1;
	}
	ENSURE(threads <= VEIL_ENGINE_THREADS_MAX, VEIL_E_LIMIT,
	       "%u threads asked for; the engine uses at most %d", threads,
	       VEIL_ENGINE_THREADS_MAX);
	if (d.n_ctx == 0)
		d.n_ctx = c->n_ctx_train < VEIL_ENGINE_CTX_DEFAULT ? c->n_ctx_train
								   : VEIL_ENGINE_CTX_DEFAULT;
	ENSURE(d.n_ctx <= VEIL_ENGINE_CTX_MAX, VEIL_E_LIMIT,
	       "context of %zu positions asked for; the engine's cap is %d", d.n_ctx,
	       VEIL_ENGINE_CTX_MAX);
	if (d.n_batch == 0)
		d.n_batch = VEIL_ENGINE_BATCH_DEFAULT;
	ENSURE(d.n_batch <= VEIL_ENGINE_BATCH_MAX, VEIL_E_LIMIT,
	       "batch of %zu tokens asked for; the engine's cap is %d", d.n_batch,
	       VEIL_ENGINE_BATCH_MAX);
	B = d.n_batch < d.n_ctx ? d.n_batch : d.n_ctx;

	s = calloc(1, sizeof *s);
	ENSURE(s != NULL, VEIL_E_NOMEM, "out of memory for a session");
	s->m = m;
	s->n_ctx = d.n_ctx;
	s->n_batch = B;
	s->act_stride = ALIGN_UP(m->act_max, 64);

	o_x = plan(&ap, B * c->dim, sizeof(float));
	o_xb = plan(&ap, B * c->dim, sizeof(float));
	o_xb2 = plan(&ap, B * m->q_dim, sizeof(float));
	o_q = plan(&ap, B * m->q_dim, sizeof(float));
	o_hb = plan(&ap, B * c->hidden, sizeof(float));
	o_hb2 = plan(&ap, B * c->hidden, sizeof(float));
	o_rope = plan(&ap, B * c->n_rot, sizeof(float));
	o_att = plan(&ap, (size_t)threads * s->n_ctx, sizeof(float));
	o_act = plan(&ap, B, s->act_stride);
	CHECK_THAT(!ap.overflow &&
		       !__builtin_mul_overflow(c->n_layer * s->n_ctx, m->kv_dim, &kv_elems),
		   VEIL_E_LIMIT, "session buffers for %zu positions overflow", s->n_ctx);
	CHECK_THAT(posix_memalign((void **)&arena, 64, ap.total) == 0, VEIL_E_NOMEM,
		   "out of memory for %zu bytes of session scratch", ap.total);
	memset(arena, 0, ap.total);
	s->scratch = arena;
	s->alloc_bytes = ap.total;
	s->x = (float *)(void *)(arena + o_x);
	s->xb = (float *)(void *)(arena + o_xb);
	s->xb2 = (float *)(void *)(arena + o_xb2);
	s->q = (float *)(void *)(arena + o_q);
	s->hb = (float *)(void *)(arena + o_hb);
	s->hb2 = (float *)(void *)(arena + o_hb2);
	s->rope = (float *)(void *)(arena + o_rope);
	s->att = (float *)(void *)(arena + o_att);
	s->act = arena + o_act;
	/* calloc: pages of a long context are only touched when used. */
	s->k_cache = calloc(kv_elems, sizeof(float));
	s->v_cache = calloc(kv_elems, sizeof(float));
	CHECK_THAT(s->k_cache != NULL && s->v_cache != NULL, VEIL_E_NOMEM,
		   "out of memory for a KV cache of %zu positions (%zu MiB)", s->n_ctx,
		   kv_elems * 2 * sizeof(float) >> 20);
	CHECK(eng_pool_new(threads, &s->pool));
	*out = s;
	return VEIL_OK;
out:
	veil_session_free(s);
	return err;
}

/* The KV cache positions written so far, in every layer. */
static void wipe_cache(veil_session *s, size_t upto)
{
	size_t row = s->m->kv_dim;

	if (s->k_cache == NULL || s->v_cache == NULL || upto == 0)
		return;
	for (size_t l = 0; l < s->m->cfg.n_layer; l++) {
		veil_wipe(s->k_cache + l * s->n_ctx * row, upto * row * sizeof(float));
		veil_wipe(s->v_cache + l * s->n_ctx * row, upto * row * sizeof(float));
	}
}

void veil_session_free(veil_session *s)
{
	if (s == NULL)
		return;
	eng_pool_free(s->pool);
	wipe_cache(s, s->pos);
	free(s->k_cache);
	free(s->v_cache);
	veil_free_secret(s->scratch, s->alloc_bytes);
	free(s);
}

void veil_session_reset(veil_session *s)
{
	wipe_cache(s, s->pos);
	s->pos = 0;
}

size_t veil_session_pos(const veil_session *s)
{
	return s->pos;
}

size_t veil_session_n_ctx(const veil_session *s)
{
	return s->n_ctx;
}

/* ---- matrix products ---- */

typedef struct prep_job {
	const float *x;
	size_t n;
	uint32_t type;
	uint8_t *act;
	size_t stride;
} prep_job;

static void prep_task(void *arg, size_t t0, size_t t1, unsigned worker)
{
	const prep_job *j = arg;

	(void)worker;
	for (size_t t = t0; t < t1; t++)
		quant_act_prepare(j->type, j->x + t * j->n, j->n, j->act + t * j->stride);
}

/* Prepares T rows of n floats at x for weights of this type, unless the
 * scratch already holds exactly that (the caller clears act_src whenever
 * it rewrites an input). */
static void prepare(veil_session *s, const float *x, size_t n, size_t T, uint32_t type)
{
	prep_job j = {x, n, type, s->act, s->act_stride};

	if (s->act_src == x && s->act_type == type && s->act_n == n * T)
		return;
	if (T >= 4)
		eng_pool_run(s->pool, prep_task, &j, T);
	else
		prep_task(&j, 0, T, 0);
	s->act_src = x;
	s->act_type = type;
	s->act_n = n * T;
}

/* Up to three products of one input in one job: q, k and v, or gate and
 * up. Items are the rows of all of them in turn, so the threads split the
 * lot at once: generating a token is some hundred jobs of a few
 * microseconds each, and every job ends with the threads waiting for each
 * other, so fewer and larger jobs are faster (docs/engine.md, "Threads").
 * With swiglu, the items are the rows of gate (w[0]) and up (w[1]) both,
 * and y[0] becomes silu(gate) * up as soon as a row's two halves are
 * known. */
typedef struct mm_job {
	const eng_mat *w[3];
	float *y[3];
	size_t n_mat, first[4]; /* first item of each matrix; first[n_mat]: all */
	const uint8_t *act;
	size_t stride, T;
	bool swiglu;
} mm_job;

/* Rows of a batch product taken together for all its tokens: about this
 * many bytes of them, which stay in the first-level cache from one token
 * to the next (with the activations passing through), in a multiple of
 * the four rows the kernels do at once. Measured on stories110M's shapes:
 * 8 F32 rows of 768 and 28 Q8_0 rows run the prompt fastest. */
#define MM_GROUP_BYTES (24 * 1024)
#define MM_GROUP_MAX   64

/* Rows [r0, r1) of y[t] = W x[t] for every token. */
static void mm_rows(const mm_job *j, const eng_mat *w, float *y, size_t r0, size_t r1)
{
	size_t group = MM_GROUP_BYTES / w->row_bytes / 4 * 4;

	if (group < 4)
		group = 4;
	if (group > MM_GROUP_MAX)
		group = MM_GROUP_MAX;
	/* One token: the whole range in one call, the kernel chosen once. */
	if (j->T == 1)
		group = r1 - r0;

	for (size_t r = r0; r < r1; r += group) {
		size_t nr = r1 - r < group ? r1 - r : group;

		for (size_t t = 0; t < j->T; t++)
			quant_dot_rows(w->type, w->data + r * w->row_bytes, w->row_bytes, nr,
				       j->act + t * j->stride, w->cols, y + t * w->rows + r);
	}
}

static float silu(float x)
{
	return x / (1.0f + expf(-x));
}

static void mm_task(void *arg, size_t i0, size_t i1, unsigned worker)
{
	const mm_job *j = arg;

	(void)worker;
	if (j->swiglu) {
		size_t hidden = j->w[0]->rows;

		mm_rows(j, j->w[0], j->y[0], i0, i1);
		mm_rows(j, j->w[1], j->y[1], i0, i1);
		for (size_t t = 0; t < j->T; t++)
			for (size_t i = t * hidden + i0; i < t * hidden + i1; i++)
				j->y[0][i] = silu(j->y[0][i]) * j->y[1][i];
		return;
	}
	for (size_t m = 0; m < j->n_mat; m++) {
		size_t lo = i0 > j->first[m] ? i0 : j->first[m];
		size_t hi = i1 < j->first[m + 1] ? i1 : j->first[m + 1];

		if (lo < hi)
			mm_rows(j, j->w[m], j->y[m], lo - j->first[m], hi - j->first[m]);
	}
}

/* y[m][t] = W[m] x[t] for T tokens and n matrices of the same width: x is
 * T x cols, y[m] is T x rows of W[m]. Matrices of one type share the
 * prepared input and one job; a mix of types (as "Q4_K_M" files have) goes
 * one matrix at a time. With swiglu (gate and up), y[0] ends as silu(gate)
 * * up and y[1] as up. */
static void matmul_n(veil_session *s, const eng_mat *const *w, float *const *y, size_t n,
		     const float *x, size_t T, bool swiglu)
{
	mm_job j = {.n_mat = n, .act = s->act, .stride = s->act_stride, .T = T};
	bool same = true;

	for (size_t m = 0; m < n; m++) {
		j.w[m] = w[m];
		j.y[m] = y[m];
		j.first[m + 1] = j.first[m] + w[m]->rows;
		same = same && w[m]->type == w[0]->type;
	}
	if (!same) {
		for (size_t m = 0; m < n; m++)
			matmul_n(s, &w[m], &y[m], 1, x, T, false);
		if (swiglu)
			for (size_t i = 0; i < T * w[0]->rows; i++)
				y[0][i] = silu(y[0][i]) * y[1][i];
		return;
	}
	prepare(s, x, w[0]->cols, T, w[0]->type);
	j.swiglu = swiglu;
	eng_pool_run(s->pool, mm_task, &j, swiglu ? w[0]->rows : j.first[n]);
}

/* y[t] = W x[t] for T tokens: x is T x cols, y is T x rows. */
static void matmul(veil_session *s, const eng_mat *w, const float *x, size_t T, float *y)
{
	matmul_n(s, &w, &y, 1, x, T, false);
}

static void add_bias(float *y, const float *b, size_t n, size_t T)
{
	if (b == NULL)
		return;
	for (size_t t = 0; t < T; t++)
		for (size_t i = 0; i < n; i++)
			y[t * n + i] += b[i];
}

/* ---- the layers ---- */

/* ggml_rms_norm: x / sqrt(mean(x^2) + eps), the sum in double; then the
 * weight, as llama.cpp's graph multiplies it in. */
static void rmsnorm(float *o, const float *x, const float *w, size_t n, float eps)
{
	double ss = 0;

	for (size_t i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	float scale = 1.0f / sqrtf((float)(ss / (double)n) + eps);
	for (size_t i = 0; i < n; i++)
		o[i] = x[i] * scale * w[i];
}

/* ggml_rope: "normal" mode (llama) turns the adjacent pairs (x[2i],
 * x[2i+1]); NeoX mode (qwen2) turns (x[i], x[i + n_rot/2]). Dimensions
 * past n_rot are left alone. cs holds (cos, sin) per pair. */
static void rope_heads(float *v, size_t heads, size_t hd, size_t n_rot, const float *cs, bool neox)
{
	size_t half = n_rot / 2;

	for (size_t h = 0; h < heads; h++) {
		float *x = v + h * hd;

		for (size_t i = 0; i < half; i++) {
			size_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
			float c = cs[2 * i], sn = cs[2 * i + 1], x0 = x[a], x1 = x[b];

			x[a] = x0 * c - x1 * sn;
			x[b] = x0 * sn + x1 * c;
		}
	}
}

typedef struct att_job {
	veil_session *s;
	size_t layer, p0;
} att_job;

/* One (token, head) per item: scores against every earlier position,
 * softmax, the weighted sum of values. Query head h reads key/value head
 * h / (n_head / n_head_kv) (grouped-query attention). */
static void att_task(void *arg, size_t i0, size_t i1, unsigned worker)
{
	const att_job *j = arg;
	veil_session *s = j->s;
	const veil_model *m = s->m;
	size_t hd = m->cfg.head_dim, n_head = m->cfg.n_head;
	size_t group = n_head / m->cfg.n_head_kv, kv_dim = m->kv_dim;
	const float *kc = s->k_cache + j->layer * s->n_ctx * kv_dim;
	const float *vc = s->v_cache + j->layer * s->n_ctx * kv_dim;
	float *sc = s->att + (size_t)worker * s->n_ctx;
	float scale = 1.0f / sqrtf((float)hd);

	for (size_t i = i0; i < i1; i++) {
		size_t t = i / n_head, h = i % n_head, pos = j->p0 + t, kvh = h / group;
		const float *q = s->q + t * m->q_dim + h * hd;
		float *o = s->xb2 + t * m->q_dim + h * hd;
		float mx = -INFINITY;
		double sum = 0;

		/* quant.h's F32 "activation" is the f32 vector as it is; the
		 * keys of one head are rows kv_dim floats apart. */
		quant_dot_rows(VEIL_GGML_F32, kc + kvh * hd, kv_dim * sizeof(float), pos + 1, q, hd,
			       sc);
		for (size_t p = 0; p <= pos; p++) {
			sc[p] *= scale;
			if (sc[p] > mx)
				mx = sc[p];
		}
		for (size_t p = 0; p <= pos; p++) {
			sc[p] = expf(sc[p] - mx);
			sum += sc[p];
		}
		memset(o, 0, hd * sizeof(float));
		for (size_t p = 0; p <= pos; p++) {
			const float *v = vc + p * kv_dim + kvh * hd;
			float w = (float)(sc[p] / sum);

			for (size_t d = 0; d < hd; d++)
				o[d] += w * v[d];
		}
	}
}

/* T tokens at positions pos..pos+T-1; logits of the last token (or of all
 * T, with all) into out unless it is NULL. */
static void forward(veil_session *s, const int32_t *tok, size_t T, float *out, bool all)
{
	const veil_model *m = s->m;
	const veil_model_config *c = &m->cfg;
	size_t dim = c->dim, p0 = s->pos, kv_dim = m->kv_dim, half = c->n_rot / 2;
	bool neox = c->arch == VEIL_ARCH_QWEN2;

	for (size_t t = 0; t < T; t++)
		quant_dequant_row(m->tok_embd.type,
				  m->tok_embd.data + (size_t)tok[t] * m->tok_embd.row_bytes,
				  s->x + t * dim, dim);
	for (size_t t = 0; t < T; t++)
		for (size_t i = 0; i < half; i++) {
			double a = (double)(p0 + t) * m->inv_freq[i];

			s->rope[t * c->n_rot + 2 * i] = (float)cos(a);
			s->rope[t * c->n_rot + 2 * i + 1] = (float)sin(a);
		}

	for (size_t l = 0; l < c->n_layer; l++) {
		const eng_layer *L = &m->layers[l];
		float *kc = s->k_cache + (l * s->n_ctx + p0) * kv_dim;
		float *vc = s->v_cache + (l * s->n_ctx + p0) * kv_dim;
		att_job aj = {s, l, p0};

		for (size_t t = 0; t < T; t++)
			rmsnorm(s->xb + t * dim, s->x + t * dim, L->attn_norm, dim, c->norm_eps);
		s->act_src = NULL;
		matmul_n(s, (const eng_mat *[]){&L->wq, &L->wk, &L->wv}, (float *[]){s->q, kc, vc},
			 3, s->xb, T, false);
		add_bias(s->q, L->bq, m->q_dim, T);
		add_bias(kc, L->bk, kv_dim, T);
		add_bias(vc, L->bv, kv_dim, T);
		for (size_t t = 0; t < T; t++) {
			rope_heads(s->q + t * m->q_dim, c->n_head, c->head_dim, c->n_rot,
				   s->rope + t * c->n_rot, neox);
			rope_heads(kc + t * kv_dim, c->n_head_kv, c->head_dim, c->n_rot,
				   s->rope + t * c->n_rot, neox);
		}
		eng_pool_run(s->pool, att_task, &aj, T * c->n_head);
		s->act_src = NULL;
		matmul(s, &L->wo, s->xb2, T, s->xb);
		add_bias(s->xb, L->bo, dim, T);
		for (size_t i = 0; i < T * dim; i++)
			s->x[i] += s->xb[i];

		for (size_t t = 0; t < T; t++)
			rmsnorm(s->xb + t * dim, s->x + t * dim, L->ffn_norm, dim, c->norm_eps);
		s->act_src = NULL;
		matmul_n(s, (const eng_mat *[]){&L->w_gate, &L->w_up}, (float *[]){s->hb, s->hb2},
			 2, s->xb, T, true);
		s->act_src = NULL;
		matmul(s, &L->w_down, s->hb, T, s->xb);
		for (size_t i = 0; i < T * dim; i++)
			s->x[i] += s->xb[i];
	}
	s->pos += T;
	if (out == NULL)
		return;
	size_t first = all ? 0 : T - 1;

	for (size_t t = first; t < T; t++)
		rmsnorm(s->xb + (t - first) * dim, s->x + t * dim, m->output_norm, dim,
			c->norm_eps);
	s->act_src = NULL;
	matmul(s, &m->output, s->xb, T - first, out);
}

veil_err veil_session_eval(veil_session *s, const int32_t *tokens, size_t n, float *logits,
			   bool all)
{
	size_t n_vocab = s->m->cfg.n_vocab;

	ENSURE(n > 0 && tokens != NULL, VEIL_E_USAGE, "no tokens to evaluate");
	ENSURE(n <= s->n_ctx - s->pos, VEIL_E_LIMIT,
	       "context full: %zu tokens do not fit after position %zu of %zu", n, s->pos,
	       s->n_ctx);
	for (size_t i = 0; i < n; i++)
		ENSURE(tokens[i] >= 0 && (size_t)tokens[i] < n_vocab, VEIL_E_USAGE,
		       "token %ld (at %zu) is outside the vocabulary of %zu tokens",
		       (long)tokens[i], i, n_vocab);
	for (size_t done = 0; done < n;) {
		size_t T = n - done < s->n_batch ? n - done : s->n_batch;
		float *out = NULL;

		if (logits != NULL && all)
			out = logits + done * n_vocab;
		else if (logits != NULL && done + T == n)
			out = logits;
		forward(s, tokens + done, T, out, all);
		done += T;
	}
	return VEIL_OK;
}

/*
 * model.c - turning an opened GGUF file into a veil_model: hyper-parameters
 * from the metadata, every tensor looked up, checked and pointed to.
 *
 * The names are llama.cpp's (its gguf-py "constants.py" key and tensor
 * names): "{arch}.embedding_length", "blk.N.attn_q.weight" and so on. The
 * file is untrusted, so every size is capped (engine.h), every tensor's
 * shape is checked against the hyper-parameters it must match, and every
 * type against what quant.h computes with, so that nothing in the forward
 * pass needs a bounds check. Architectures come from one table; anything
 * else is refused by name, as is a tensor of a type the engine does not
 * compute with.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/quant.h"

typedef struct arch_desc {
	const char *name;
	veil_arch arch;
	bool qkv_bias; /* q, k and v biases are part of the architecture */
} arch_desc;

/* llama.cpp's llama_model_rope_type(): LLM_ARCH_LLAMA uses
 * LLAMA_ROPE_TYPE_NORM, LLM_ARCH_QWEN2 LLAMA_ROPE_TYPE_NEOX (forward.c). */
static const arch_desc arches[] = {
    {"llama", VEIL_ARCH_LLAMA, false},
    {"qwen2", VEIL_ARCH_QWEN2, true},
};

#define SUPPORTED_TYPES "F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q6_K"

static veil_err key_u64(const veil_gguf *g, const char *arch, const char *suffix, bool required,
			uint64_t dflt, uint64_t *out)
{
	char key[96];
	veil_err err;

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	*out = dflt;
	if (!veil_gguf_has(g, key)) {
		ENSURE(!required, VEIL_E_NOT_FOUND, "model metadata has no %s", key);
		return VEIL_OK;
	}
	err = veil_gguf_get_u64(g, key, out);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", key);
	return VEIL_OK;
}

static veil_err key_f64(const veil_gguf *g, const char *arch, const char *suffix, bool required,
			double dflt, double *out)
{
	char key[96];
	veil_err err;

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	*out = dflt;
	if (!veil_gguf_has(g, key)) {
		ENSURE(!required, VEIL_E_NOT_FOUND, "model metadata has no %s", key);
		return VEIL_OK;
	}
	err = veil_gguf_get_f64(g, key, out);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", key);
	ENSURE(isfinite(*out), VEIL_E_MALFORMED, "%s is not a finite number", key);
	return VEIL_OK;
}

static veil_err in_range(const char *what, uint64_t v, uint64_t lo, uint64_t hi)
{
	ENSURE(v >= lo, VEIL_E_MALFORMED, "%s is %llu; it must be at least %llu", what,
	       (unsigned long long)v, (unsigned long long)lo);
	ENSURE(v <= hi, VEIL_E_LIMIT, "%s is %llu, over the engine's cap of %llu", what,
	       (unsigned long long)v, (unsigned long long)hi);
	return VEIL_OK;
}

static const veil_gguf_tensor *find(const veil_gguf *g, const char *name, bool required,
				    veil_err *err)
{
	const veil_gguf_tensor *t = veil_gguf_tensor_find(g, name);

	*err = VEIL_OK;
	if (t == NULL && required)
		*err = veil_fail(VEIL_E_NOT_FOUND, "model has no tensor %s", name);
	return t;
}

static veil_err check_type(const veil_gguf_tensor *t, bool vector)
{
	char buf[16];
	const char *tn = veil_ggml_type_name(t->type, buf);

	if (vector)
		ENSURE(t->type == VEIL_GGML_F32 || t->type == VEIL_GGML_F16 ||
			   t->type == VEIL_GGML_BF16,
		       VEIL_E_UNSUPPORTED,
		       "tensor %s has type %s; the engine reads vectors as F32, F16 or BF16",
		       t->name, tn);
	ENSURE(quant_supported(t->type), VEIL_E_UNSUPPORTED,
	       "tensor %s has type %s, which the engine does not compute with (it "
	       "supports " SUPPORTED_TYPES ")",
	       t->name, tn);
	return VEIL_OK;
}

static bool shape_is(const veil_gguf_tensor *t, uint64_t ne0, uint64_t ne1)
{
	if (t->ne[0] != ne0 || t->ne[1] != ne1)
		return false;
	for (uint32_t i = 2; i < VEIL_GGUF_MAX_DIMS; i++)
		if (t->ne[i] != 1)
			return false;
	return true;
}

/* A matrix of rows x cols (ggml ne = {cols, rows}); rows == 0 takes the
 * row count from the file (the vocabulary). */
static veil_err get_mat(const veil_gguf *g, const char *name, size_t rows, size_t cols,
			eng_mat *out)
{
	veil_err err;
	const veil_gguf_tensor *t = find(g, name, true, &err);
	size_t total;

	TRY(err);
	TRY(check_type(t, false));
	if (rows == 0) {
		TRY(in_range("rows of token_embd.weight (the vocabulary)", t->ne[1], 1,
			     VEIL_ENGINE_VOCAB_MAX));
		rows = (size_t)t->ne[1];
	}
	ENSURE(shape_is(t, cols, rows), VEIL_E_MALFORMED,
	       "tensor %s has shape [%llu, %llu, %llu, %llu]; the model needs [%zu, %zu]", name,
	       (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
	       (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], cols, rows);
	ENSURE(cols % quant_block_elems(t->type) == 0, VEIL_E_MALFORMED,
	       "tensor %s: rows of %zu elements are not whole blocks of its type", name, cols);
	out->data = t->data;
	out->type = t->type;
	out->rows = rows;
	out->cols = cols;
	out->row_bytes = quant_row_bytes(t->type, cols);
	ENSURE(!__builtin_mul_overflow(out->row_bytes, rows, &total) && total <= t->size,
	       VEIL_E_MALFORMED, "tensor %s holds %zu bytes, fewer than its shape needs", name,
	       t->size);
	return VEIL_OK;
}

/* A vector of n floats, copied (and widened from F16/BF16). NULL in *out
 * when absent and not required. */
static veil_err get_vec(const veil_gguf *g, const char *name, size_t n, bool required, float **out)
{
	veil_err err;
	const veil_gguf_tensor *t = find(g, name, required, &err);

	*out = NULL;
	TRY(err);
	if (t == NULL)
		return VEIL_OK;
	TRY(check_type(t, true));
	ENSURE(shape_is(t, n, 1), VEIL_E_MALFORMED,
	       "tensor %s has shape [%llu, %llu]; the model needs [%zu]", name,
	       (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], n);
	ENSURE(t->size >= quant_row_bytes(t->type, n), VEIL_E_MALFORMED,
	       "tensor %s is shorter than its shape", name);
	*out = malloc(n * sizeof(float));
	ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory for tensor %s", name);
	quant_dequant_row(t->type, t->data, *out, n);
	return VEIL_OK;
}

static veil_err read_config(const veil_gguf *g, veil_model *m, const arch_desc **desc)
{
	veil_model_config *c = &m->cfg;
	const char *name, *a;
	size_t len;
	uint64_t v, experts, key_len, val_len;
	double f, factor;

	TRY(veil_gguf_get_string(g, "general.architecture", &name, &len));
	*desc = NULL;
	for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
		if (strlen(arches[i].name) == len && memcmp(arches[i].name, name, len) == 0)
			*desc = &arches[i];
	if (*desc == NULL) {
		char shown[40];

		snprintf(shown, sizeof shown, "%.*s", (int)(len < 32 ? len : 32), name);
		veil_text_sanitize(shown);
		return veil_fail(VEIL_E_UNSUPPORTED,
				 "model architecture '%s' is not supported (the engine runs llama "
				 "and qwen2)",
				 shown);
	}
	a = (*desc)->name;
	snprintf(m->arch_name, sizeof m->arch_name, "%s", a);
	c->arch = (*desc)->arch;
	c->arch_name = m->arch_name;

	TRY(key_u64(g, a, "expert_count", false, 0, &experts));
	ENSURE(experts == 0, VEIL_E_UNSUPPORTED,
	       "mixture-of-experts models (%s.expert_count %llu) are not supported", a,
	       (unsigned long long)experts);
	TRY(key_u64(g, a, "embedding_length", true, 0, &v));
	TRY(in_range("embedding_length", v, 1, VEIL_ENGINE_DIM_MAX));
	c->dim = v;
	TRY(key_u64(g, a, "block_count", true, 0, &v));
	TRY(in_range("block_count", v, 1, VEIL_ENGINE_LAYERS_MAX));
	c->n_layer = v;
	TRY(key_u64(g, a, "feed_forward_length", true, 0, &v));
	TRY(in_range("feed_forward_length", v, 1, VEIL_ENGINE_FFN_MAX));
	c->hidden = v;
	TRY(key_u64(g, a, "attention.head_count", true, 0, &v));
	TRY(in_range("attention.head_count", v, 1, VEIL_ENGINE_HEADS_MAX));
	c->n_head = v;
	TRY(key_u64(g, a, "attention.head_count_kv", false, c->n_head, &v));
	ENSURE(v >= 1 && v <= c->n_head, VEIL_E_MALFORMED,
	       "attention.head_count_kv %llu is not in 1..head_count (%zu)", (unsigned long long)v,
	       c->n_head);
	c->n_head_kv = v;
	ENSURE(c->n_head % c->n_head_kv == 0, VEIL_E_MALFORMED,
	       "attention.head_count %zu is not a multiple of attention.head_count_kv %zu",
	       c->n_head, c->n_head_kv);
	/* Head size: attention.key_length, else dim / n_head as llama.cpp. */
	key_len = c->dim % c->n_head == 0 ? c->dim / c->n_head : 0;
	TRY(key_u64(g, a, "attention.key_length", false, key_len, &key_len));
	TRY(key_u64(g, a, "attention.value_length", false, key_len, &val_len));
	ENSURE(key_len == val_len, VEIL_E_UNSUPPORTED,
	       "attention.key_length %llu differs from value_length %llu",
	       (unsigned long long)key_len, (unsigned long long)val_len);
	ENSURE(key_len > 0, VEIL_E_MALFORMED,
	       "embedding_length %zu is not a multiple of attention.head_count %zu", c->dim,
	       c->n_head);
	TRY(in_range("attention.key_length", key_len, 2, VEIL_ENGINE_HEAD_DIM_MAX));
	c->head_dim = key_len;
	TRY(key_u64(g, a, "rope.dimension_count", false, c->head_dim, &v));
	ENSURE(v >= 2 && v <= c->head_dim, VEIL_E_MALFORMED,
	       "rope.dimension_count %llu is not in 2..head size (%zu)", (unsigned long long)v,
	       c->head_dim);
	ENSURE(v % 2 == 0, VEIL_E_MALFORMED, "rope.dimension_count %llu is odd",
	       (unsigned long long)v);
	c->n_rot = v;
	TRY(key_u64(g, a, "context_length", true, 0, &v));
	TRY(in_range("context_length", v, 1, UINT64_MAX));
	c->n_ctx_train = v < VEIL_ENGINE_CTX_MAX ? v : VEIL_ENGINE_CTX_MAX;

	TRY(key_f64(g, a, "attention.layer_norm_rms_epsilon", true, 0, &f));
	ENSURE(f > 0 && f < 1, VEIL_E_MALFORMED,
	       "attention.layer_norm_rms_epsilon %g is not in (0, 1)", f);
	c->norm_eps = (float)f;
	TRY(key_f64(g, a, "rope.freq_base", false, 10000.0, &f));
	ENSURE(f > 1 && f < 1e12, VEIL_E_MALFORMED, "rope.freq_base %g is out of range", f);
	c->rope_base = (float)f;

	/* llama.cpp: rope.scaling.type "linear" divides every angle by
	 * rope.scaling.factor (older files: rope.scale_linear); YaRN and the
	 * others need more than a factor and are refused. */
	factor = 1.0;
	{
		char key[96];
		const char *st;
		size_t st_len;

		snprintf(key, sizeof key, "%s.rope.scaling.type", a);
		if (veil_gguf_has(g, key)) {
			TRY(veil_gguf_get_string(g, key, &st, &st_len));
			if (st_len == 6 && memcmp(st, "linear", 6) == 0) {
				TRY(key_f64(g, a, "rope.scaling.factor", true, 1.0, &factor));
			} else if (!(st_len == 4 && memcmp(st, "none", 4) == 0)) {
				char shown[40];

				snprintf(shown, sizeof shown, "%.*s",
					 (int)(st_len < 32 ? st_len : 32), st);
				veil_text_sanitize(shown);
				return veil_fail(
				    VEIL_E_UNSUPPORTED,
				    "%s '%s' is not supported (only linear scaling is)", key,
				    shown);
			}
		} else {
			TRY(key_f64(g, a, "rope.scale_linear", false, 1.0, &factor));
		}
	}
	ENSURE(factor >= 1.0 / 64 && factor <= 1024, VEIL_E_MALFORMED,
	       "rope scaling factor %g is out of range", factor);
	c->rope_freq_scale = (float)(1.0 / factor);
	m->q_dim = c->n_head * c->head_dim;
	m->kv_dim = c->n_head_kv * c->head_dim;
	return VEIL_OK;
}

static void note_mat(veil_model *m, const eng_mat *w, bool per_token)
{
	size_t act = quant_act_bytes(w->type, w->cols);

	if (act > m->act_max)
		m->act_max = act;
	if (per_token)
		m->cfg.weight_bytes += (uint64_t)w->rows * w->row_bytes;
}

static veil_err load_layer(const veil_gguf *g, veil_model *m, size_t l, bool qkv_bias)
{
	const veil_model_config *c = &m->cfg;
	eng_layer *L = &m->layers[l];
	char n[64];

#define NAME(s) (snprintf(n, sizeof n, "blk.%zu." s, l), n)
	TRY(get_vec(g, NAME("attn_norm.weight"), c->dim, true, &L->attn_norm));
	TRY(get_mat(g, NAME("attn_q.weight"), m->q_dim, c->dim, &L->wq));
	TRY(get_mat(g, NAME("attn_k.weight"), m->kv_dim, c->dim, &L->wk));
	TRY(get_mat(g, NAME("attn_v.weight"), m->kv_dim, c->dim, &L->wv));
	TRY(get_mat(g, NAME("attn_output.weight"), c->dim, m->q_dim, &L->wo));
	TRY(get_vec(g, NAME("attn_q.bias"), m->q_dim, qkv_bias, &L->bq));
	TRY(get_vec(g, NAME("attn_k.bias"), m->kv_dim, qkv_bias, &L->bk));
	TRY(get_vec(g, NAME("attn_v.bias"), m->kv_dim, qkv_bias, &L->bv));
	TRY(get_vec(g, NAME("attn_output.bias"), c->dim, false, &L->bo));
	TRY(get_vec(g, NAME("ffn_norm.weight"), c->dim, true, &L->ffn_norm));
	TRY(get_mat(g, NAME("ffn_gate.weight"), c->hidden, c->dim, &L->w_gate));
	TRY(get_mat(g, NAME("ffn_up.weight"), c->hidden, c->dim, &L->w_up));
	TRY(get_mat(g, NAME("ffn_down.weight"), c->dim, c->hidden, &L->w_down));
#undef NAME
	note_mat(m, &L->wq, true);
	note_mat(m, &L->wk, true);
	note_mat(m, &L->wv, true);
	note_mat(m, &L->wo, true);
	note_mat(m, &L->w_gate, true);
	note_mat(m, &L->w_up, true);
	note_mat(m, &L->w_down, true);
	return VEIL_OK;
}

/* Each rotated pair i turns by pos * inv_freq[i] radians (ggml's rope:
 * theta_scale = base^(-2/n_rot), scaled by freq_scale, divided by the
 * pair's rope_freqs factor when the file has them). Kept in double: the
 * product with a large position is where float loses precision. */
static veil_err rope_table(const veil_gguf *g, veil_model *m)
{
	veil_model_config *c = &m->cfg;
	size_t half = c->n_rot / 2;
	float *ff = NULL;

	TRY(get_vec(g, "rope_freqs.weight", half, false, &ff));
	m->inv_freq = malloc(half * sizeof(double));
	if (m->inv_freq == NULL) {
		free(ff);
		return veil_fail(VEIL_E_NOMEM, "out of memory for the RoPE table");
	}
	for (size_t i = 0; i < half; i++) {
		double f =
		    c->rope_freq_scale * pow(c->rope_base, -2.0 * (double)i / (double)c->n_rot);

		if (ff != NULL) {
			if (!(isfinite(ff[i]) && ff[i] > 0)) {
				free(ff);
				return veil_fail(VEIL_E_MALFORMED,
						 "rope_freqs.weight[%zu] is not a positive number",
						 i);
			}
			f /= ff[i];
		}
		m->inv_freq[i] = f;
	}
	c->rope_freqs = ff != NULL;
	free(ff);
	return VEIL_OK;
}

static veil_err load(const veil_gguf *g, veil_model *m)
{
	veil_model_config *c = &m->cfg;
	const arch_desc *desc;
	uint64_t vocab_key;

	TRY(read_config(g, m, &desc));
	TRY(get_mat(g, "token_embd.weight", 0, c->dim, &m->tok_embd));
	c->n_vocab = m->tok_embd.rows;
	TRY(key_u64(g, desc->name, "vocab_size", false, c->n_vocab, &vocab_key));
	ENSURE(vocab_key == c->n_vocab, VEIL_E_MALFORMED,
	       "%s.vocab_size %llu differs from the %zu rows of token_embd.weight", desc->name,
	       (unsigned long long)vocab_key, c->n_vocab);
	note_mat(m, &m->tok_embd, false);
	c->weight_bytes += m->tok_embd.row_bytes;

	m->layers = calloc(c->n_layer, sizeof *m->layers);
	ENSURE(m->layers != NULL, VEIL_E_NOMEM, "out of memory for %zu layers", c->n_layer);
	for (size_t l = 0; l < c->n_layer; l++)
		TRY(load_layer(g, m, l, desc->qkv_bias));
	TRY(get_vec(g, "output_norm.weight", c->dim, true, &m->output_norm));
	if (veil_gguf_tensor_find(g, "output.weight") != NULL) {
		TRY(get_mat(g, "output.weight", c->n_vocab, c->dim, &m->output));
	} else {
		/* llama.cpp: no output.weight means tied embeddings. */
		m->output = m->tok_embd;
		c->tied_output = true;
	}
	note_mat(m, &m->output, true);
	c->weight_type = m->layers[0].wq.type;
	TRY(rope_table(g, m));
	return VEIL_OK;
}

veil_err veil_model_load(const veil_gguf *g, veil_model **out)
{
	veil_model *m;
	veil_err err;

	*out = NULL;
	m = calloc(1, sizeof *m);
	ENSURE(m != NULL, VEIL_E_NOMEM, "out of memory for the model");
	err = load(g, m);
	if (err != VEIL_OK) {
		veil_model_free(m);
		return err;
	}
	*out = m;
	return VEIL_OK;
}

void veil_model_free(veil_model *m)
{
	if (m == NULL)
		return;
	if (m->layers != NULL) {
		for (size_t l = 0; l < m->cfg.n_layer; l++) {
			eng_layer *L = &m->layers[l];

			free(L->attn_norm);
			free(L->ffn_norm);
			free(L->bq);
			free(L->bk);
			free(L->bv);
			free(L->bo);
		}
		free(m->layers);
	}
	free(m->output_norm);
	free(m->inv_freq);
	free(m);
}

const veil_model_config *veil_model_info(const veil_model *m)
{
	return &m->cfg;
}

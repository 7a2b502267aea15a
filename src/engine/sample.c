/*
 * sample.c - choosing the next token from the logits.
 *
 * The order is llama.cpp's default sampler chain (common/sampling.cpp):
 * top-k, then top-p on the softmax of what top-k kept, then temperature,
 * then a draw. Candidates are ordered by logit (lowest id first on a tie)
 * so the draw, and with it a seeded run, is reproducible. The generator is
 * SplitMix64 (engine.h), simple enough to write down in the documentation
 * and to check in a test.
 *
 * Sorting a 150k-token vocabulary on every token would cost milliseconds,
 * so top-k selects with a small heap, and top-p alone first drops every
 * candidate too unlikely to be in any nucleus (probability below
 * (1 - top_p) / (n - 1): were all others at least that likely, the
 * nucleus would be full before reaching it) and sorts only the rest.
 */
#include <math.h>
#include <stdlib.h>

#include "engine/engine_internal.h"

typedef struct cand {
	float logit;
	int32_t id;
	double p;
} cand;

struct veil_sampler {
	veil_sample_params p;
	size_t n_vocab;
	uint64_t rng;
	cand *c;
};

uint64_t veil_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

double veil_rng_uniform(uint64_t *state)
{
	return (double)(veil_rng_next(state) >> 11) * 0x1.0p-53;
}

void veil_sample_defaults(veil_sample_params *p)
{
	p->temperature = 0.8f;
	p->top_k = 40;
	p->top_p = 0.95f;
	p->seed = 0;
}

veil_err veil_sampler_new(const veil_sample_params *p, size_t n_vocab, veil_sampler **out)
{
	veil_sampler *s;

	*out = NULL;
	ENSURE(n_vocab >= 1 && n_vocab <= VEIL_ENGINE_VOCAB_MAX, VEIL_E_USAGE,
	       "sampler: vocabulary of %zu tokens", n_vocab);
	ENSURE(isfinite(p->temperature), VEIL_E_USAGE, "temperature must be a finite number");
	ENSURE(p->top_p > 0 && p->top_p <= 1, VEIL_E_USAGE, "top-p %g is not in (0, 1]",
	       (double)p->top_p);
	s = calloc(1, sizeof *s);
	ENSURE(s != NULL, VEIL_E_NOMEM, "out of memory for a sampler");
	s->c = calloc(n_vocab, sizeof *s->c);
	if (s->c == NULL) {
		free(s);
		return veil_fail(VEIL_E_NOMEM, "out of memory for a sampler");
	}
	s->p = *p;
	if (s->p.top_k > n_vocab)
		s->p.top_k = 0;
	s->n_vocab = n_vocab;
	s->rng = p->seed;
	*out = s;
	return VEIL_OK;
}

void veil_sampler_free(veil_sampler *s)
{
	if (s == NULL)
		return;
	free(s->c);
	free(s);
}

/* a ranks before b: higher logit, then lower id. */
static bool before(const cand *a, const cand *b)
{
	return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_cand(const void *x, const void *y)
{
	const cand *a = x, *b = y;

	return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

/* The best finite logit's id (the first on ties); id 0 if none is finite.
 * A model file may hold Inf or NaN weights, so logits are not trusted to
 * be numbers. */
static int32_t greedy(const float *logits, size_t n)
{
	size_t best = n;

	for (size_t i = 0; i < n; i++)
		if (isfinite(logits[i]) && (best == n || logits[i] > logits[best]))
			best = i;
	return best == n ? 0 : (int32_t)best;
}

/* The k best of logits into c[0..k), by a min-heap whose root is the
 * worst kept so far; then sorted. */
static void top_k(const float *logits, size_t n, size_t k, cand *c)
{
	for (size_t i = 0; i < n; i++) {
		cand x = {logits[i], (int32_t)i, 0};
		size_t at;

		if (i < k) {
			at = i; /* sift up */
			while (at > 0 && before(&c[(at - 1) / 2], &x)) {
				c[at] = c[(at - 1) / 2];
				at = (at - 1) / 2;
			}
			c[at] = x;
			continue;
		}
		if (!before(&x, &c[0]))
			continue;
		at = 0; /* replace the root, sift down */
		for (;;) {
			size_t l = 2 * at + 1, r = l + 1, worst = at;
			const cand *wc = &x;

			if (l < k && before(wc, &c[l])) {
				worst = l;
				wc = &c[l];
			}
			if (r < k && before(wc, &c[r]))
				worst = r;
			if (worst == at)
				break;
			c[at] = c[worst];
			at = worst;
		}
		c[at] = x;
	}
	qsort(c, k, sizeof *c, cmp_cand);
}

/* Softmax of c[0..n) at temperature temp into c[].p; mx is the highest
 * logit among them. */
static void softmax(cand *c, size_t n, double temp, float mx)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		c[i].p = exp(((double)c[i].logit - (double)mx) / temp);
		sum += c[i].p;
	}
	for (size_t i = 0; i < n; i++)
		c[i].p /= sum;
}

int32_t veil_sampler_sample(veil_sampler *s, const float *logits)
{
	size_t n = s->n_vocab, k;
	cand *c = s->c;
	double u, acc;
	float mx;

	if (s->p.temperature <= 0)
		return greedy(logits, n);
	if (s->p.top_k > 0) {
		k = s->p.top_k;
		top_k(logits, n, k, c);
	} else if (s->p.top_p < 1) {
		float top = logits[greedy(logits, n)];
		double sum = 0, cut;

		for (size_t i = 0; i < n; i++)
			sum += exp((double)logits[i] - top);
		cut = (1.0 - s->p.top_p) / (double)(n > 1 ? n - 1 : 1) * sum;
		k = 0;
		for (size_t i = 0; i < n; i++)
			if (exp((double)logits[i] - top) >= cut)
				c[k++] = (cand){logits[i], (int32_t)i, 0};
		qsort(c, k, sizeof *c, cmp_cand);
	} else {
		/* Neither cut: the draw walks the vocabulary in id order. */
		k = n;
		for (size_t i = 0; i < n; i++)
			c[i] = (cand){logits[i], (int32_t)i, 0};
	}
	/* Nothing survived the cut (logits that are not numbers): fall back
	 * to the best finite one rather than draw from an empty set. */
	if (k == 0)
		return greedy(logits, n);
	mx = logits[greedy(logits, n)];
	if (s->p.top_p < 1) {
		/* llama.cpp's top-p: the softmax at temperature 1 of what is
		 * left, cut after the first prefix reaching top_p. */
		softmax(c, k, 1.0, mx);
		acc = 0;
		for (size_t i = 0; i < k; i++) {
			acc += c[i].p;
			if (acc >= s->p.top_p) {
				k = i + 1;
				break;
			}
		}
	}
	softmax(c, k, s->p.temperature, mx);
	u = veil_rng_uniform(&s->rng);
	acc = 0;
	for (size_t i = 0; i < k; i++) {
		acc += c[i].p;
		if (u < acc)
			return c[i].id;
	}
	return c[k - 1].id;
}

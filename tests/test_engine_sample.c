/*
 * test_engine_sample.c - sampling and the generation loop.
 *
 * The sampler is checked on hand-made logits: the documented generator's
 * first outputs, greedy ties, what top-k and top-p may and may not pick,
 * the frequencies temperature gives, and seeds. The generation loop runs
 * on a tiny generated model with a made-up text for each token, so every
 * way of stopping (length, stop token, stop sequence across tokens,
 * context, the caller) and the streaming rules (nothing of a stop
 * sequence is shown, no half UTF-8 characters, everything held back is
 * released at the end) can be checked against a greedy run.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_engine_util.h"

TEST(rng_is_splitmix64)
{
	uint64_t st = 0, st2 = 0;

	/* SplitMix64 from state 0 (the published reference outputs). */
	EXPECT(veil_rng_next(&st) == 0xe220a8397b1dcdafULL);
	EXPECT(veil_rng_next(&st) == 0x6e789e6aa1b965f4ULL);
	EXPECT(veil_rng_next(&st) == 0x06c45d188009454fULL);
	for (int i = 0; i < 1000; i++) {
		double u = veil_rng_uniform(&st2);

		EXPECT(u >= 0 && u < 1);
	}
}

static int32_t sample_once(const veil_sample_params *p, const float *logits, size_t n)
{
	veil_sampler *s;
	int32_t tok = -1;

	if (veil_sampler_new(p, n, &s) != VEIL_OK)
		return -2;
	tok = veil_sampler_sample(s, logits);
	veil_sampler_free(s);
	return tok;
}

/* Frequencies of each token over `draws` draws. */
static void histogram(const veil_sample_params *p, const float *logits, size_t n, int draws,
		      double *freq)
{
	veil_sampler *s;

	memset(freq, 0, n * sizeof *freq);
	if (veil_sampler_new(p, n, &s) != VEIL_OK)
		return;
	for (int i = 0; i < draws; i++)
		freq[veil_sampler_sample(s, logits)] += 1.0 / draws;
	veil_sampler_free(s);
}

TEST(greedy_and_cuts)
{
	const float logits[6] = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f, -3.0f};
	veil_sample_params p = {.temperature = 0, .top_p = 1};
	double freq[6];

	/* Greedy: the highest logit, the lowest id on a tie. */
	EXPECT(sample_once(&p, logits, 6) == 1);
	p.temperature = -1;
	EXPECT(sample_once(&p, logits, 6) == 1);
	/* top-k 1 at any temperature is greedy. */
	p = (veil_sample_params){.temperature = 5, .top_k = 1, .top_p = 1, .seed = 3};
	histogram(&p, logits, 6, 200, freq);
	EXPECT(freq[1] > 0.9999);
	/* top-k 3 keeps 1, 3 (tie) and 4, never the others. */
	p.top_k = 3;
	histogram(&p, logits, 6, 2000, freq);
	EXPECT(freq[0] == 0 && freq[2] == 0 && freq[5] == 0);
	EXPECT(freq[1] > 0.2 && freq[3] > 0.2 && freq[4] > 0.2);
	/* A tiny top-p keeps the best token only. */
	p = (veil_sample_params){.temperature = 1, .top_p = 0.01f, .seed = 4};
	histogram(&p, logits, 6, 200, freq);
	EXPECT(freq[1] > 0.9999);
	/* top_k above the vocabulary means all of it. */
	p = (veil_sample_params){.temperature = 1, .top_k = 100, .top_p = 1, .seed = 5};
	histogram(&p, logits, 6, 4000, freq);
	EXPECT(freq[5] < 0.01 && freq[0] > 0.03);
}

/* Logits that are not numbers (a model file with Inf or NaN weights)
 * never send the sampler outside its candidates: every path returns an id
 * in range, the best finite one when the cut leaves nothing. */
TEST(logits_that_are_not_numbers)
{
	const float nan_first[4] = {NAN, 1.0f, 3.0f, 2.0f};
	const float inf_first[4] = {INFINITY, 1.0f, 3.0f, 2.0f};
	const float none[3] = {NAN, NAN, -INFINITY};
	veil_sample_params paths[3] = {
	    {.temperature = 0, .top_p = 1},
	    {.temperature = 1, .top_k = 2, .top_p = 1, .seed = 1},
	    {.temperature = 1, .top_p = 0.9f, .seed = 2},
	};

	for (int i = 0; i < 3; i++) {
		int32_t a = sample_once(&paths[i], nan_first, 4);
		int32_t b = sample_once(&paths[i], inf_first, 4);
		int32_t c = sample_once(&paths[i], none, 3);
		EXPECT(a >= 0 && a < 4);
		EXPECT(b >= 0 && b < 4);
		EXPECT(c >= 0 && c < 3);
	}
	/* Greedy skips the NaN and the Inf: the best finite logit. */
	EXPECT(sample_once(&paths[0], nan_first, 4) == 2);
	EXPECT(sample_once(&paths[0], inf_first, 4) == 2);
	/* top-p with a NaN at the top: the cut is not a number and keeps
	 * nothing, so the best finite logit is taken. */
	EXPECT(sample_once(&paths[2], nan_first, 4) == 2);
}

TEST(distribution_follows_temperature_and_top_p)
{
	/* Probabilities 0.5, 0.3, 0.2 at temperature 1. */
	const float logits[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
	veil_sample_params p = {.temperature = 1, .top_p = 1, .seed = 42};
	double freq[3];
	const int N = 40000;

	histogram(&p, logits, 3, N, freq);
	EXPECT(fabs(freq[0] - 0.5) < 0.015 && fabs(freq[1] - 0.3) < 0.015 &&
	       fabs(freq[2] - 0.2) < 0.015);
	/* Temperature 0.5 squares the odds: 25 : 9 : 4 of 38. */
	p.temperature = 0.5f;
	histogram(&p, logits, 3, N, freq);
	EXPECT(fabs(freq[0] - 25.0 / 38) < 0.015 && fabs(freq[1] - 9.0 / 38) < 0.015 &&
	       fabs(freq[2] - 4.0 / 38) < 0.015);
	/* top-p 0.6: 0.5 is not enough, 0.5 + 0.3 is; token 2 is cut and the
	 * rest renormalised to 5 : 3. */
	p = (veil_sample_params){.temperature = 1, .top_p = 0.6f, .seed = 43};
	histogram(&p, logits, 3, N, freq);
	EXPECT(freq[2] == 0);
	EXPECT(fabs(freq[0] - 0.625) < 0.015);
	/* top-p without top-k over a larger vocabulary (the pre-filter). */
	float wide[1000];
	double wf[1000];
	for (int i = 0; i < 1000; i++)
		wide[i] = i < 2 ? 12.0f : 0.0f;
	p = (veil_sample_params){.temperature = 1, .top_p = 0.9f, .seed = 44};
	histogram(&p, wide, 1000, 4000, wf);
	EXPECT(fabs(wf[0] - 0.5) < 0.05 && fabs(wf[1] - 0.5) < 0.05);
}

TEST(seeds)
{
	float logits[64];
	veil_sample_params p = {.temperature = 1, .top_p = 1, .seed = 7};
	veil_sampler *a, *b, *c;
	int same_ab = 0, same_ac = 0;

	for (int i = 0; i < 64; i++)
		logits[i] = (float)(i % 5);
	REQUIRE(veil_sampler_new(&p, 64, &a) == VEIL_OK);
	REQUIRE(veil_sampler_new(&p, 64, &b) == VEIL_OK);
	p.seed = 8;
	REQUIRE(veil_sampler_new(&p, 64, &c) == VEIL_OK);
	for (int i = 0; i < 100; i++) {
		int32_t x = veil_sampler_sample(a, logits), y = veil_sampler_sample(b, logits);
		int32_t z = veil_sampler_sample(c, logits);

		same_ab += x == y;
		same_ac += x == z;
	}
	EXPECT(same_ab == 100);
	EXPECT(same_ac < 50);
	veil_sampler_free(a);
	veil_sampler_free(b);
	veil_sampler_free(c);
}

TEST(bad_sample_params)
{
	veil_sampler *s = NULL;
	veil_sample_params p = {.temperature = 1, .top_p = 0};

	EXPECT_ERR(veil_sampler_new(&p, 10, &s), VEIL_E_USAGE);
	p.top_p = 1.5f;
	EXPECT_ERR(veil_sampler_new(&p, 10, &s), VEIL_E_USAGE);
	p.top_p = 1;
	p.temperature = NAN;
	EXPECT_ERR(veil_sampler_new(&p, 10, &s), VEIL_E_USAGE);
	p.temperature = 1;
	EXPECT_ERR(veil_sampler_new(&p, 0, &s), VEIL_E_USAGE);
	EXPECT(s == NULL);
	veil_sample_defaults(&p);
	EXPECT(p.temperature == 0.8f && p.top_k == 40 && p.top_p == 0.95f);
	EXPECT_OK(veil_sampler_new(&p, 10, &s));
	veil_sampler_free(s);
}

/* ---- generation ---- */

static char dir[64];
static eng_fx fx;
static const int32_t prompt[4] = {1, 40, 41, 42};

static bool model(void)
{
	if (fx.m != NULL)
		return true;
	if (!eng_have_numpy() || !eng_tmpdir(dir) ||
	    !eng_generate(dir, "gen", "tiny --heads 4 --kv-heads 2 --seed 5\n", NULL))
		return false;
	return eng_open(&fx, dir, "tiny") == VEIL_OK;
}

/* Token i reads "<i>" unless a test says otherwise. */
static size_t piece_id(void *user, int32_t tok, char *buf, size_t cap)
{
	(void)user;
	int n = snprintf(buf, cap, "<%d>", (int)tok);

	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap;
}

typedef struct stream {
	char text[4096];
	size_t len;
	int32_t toks[256];
	size_t calls;
	int32_t last_token;
	bool chunk_ends_mid_char; /* a callback's text ended inside a UTF-8 character */
	size_t stop_after;        /* return false on this call (0: never) */
} stream;

static bool on_token(void *user, int32_t tok, const char *text, size_t len)
{
	stream *st = user;

	if (tok >= 0 && st->calls < 256)
		st->toks[st->calls] = tok;
	st->calls++;
	st->last_token = tok;
	if (len > 0 && st->len + len < sizeof st->text) {
		memcpy(st->text + st->len, text, len);
		st->len += len;
		/* Only the last release (token -1) may end inside a character
		 * (2-byte characters in these tests: a lead byte last). */
		if (tok >= 0 && (unsigned char)text[len - 1] >= 0xC0)
			st->chunk_ends_mid_char = true;
	}
	st->text[st->len] = '\0';
	return st->stop_after == 0 || st->calls < st->stop_after;
}

static veil_err gen(stream *st, veil_gen_params *p, size_t ctx, veil_gen_result *r)
{
	veil_session_params sp = {.n_ctx = ctx, .n_threads = 2};
	veil_session *s;
	veil_err err;

	memset(st->text, 0, sizeof st->text);
	st->len = st->calls = 0;
	st->chunk_ends_mid_char = false;
	p->on_token = on_token;
	p->user = st;
	if (p->piece == NULL)
		p->piece = piece_id;
	if (veil_session_new(fx.m, &sp, &s) != VEIL_OK)
		return VEIL_E_NOMEM;
	err = veil_generate(s, prompt, 4, p, r);
	veil_session_free(s);
	return err;
}

TEST(generation_stops)
{
	stream base = {0}, st = {0};
	veil_gen_params p = {.sample = {.temperature = 0, .top_p = 1}, .max_tokens = 12};
	veil_gen_result r;

	REQUIRE(model());
	/* The greedy run everything else is compared with. */
	EXPECT_OK(gen(&base, &p, 64, &r));
	EXPECT(r.stop == VEIL_STOP_LENGTH && r.n_generated == 12 && r.n_prompt == 4);
	EXPECT(base.calls == 12 && base.len > 0);
	EXPECT(strcmp(veil_stop_reason_name(r.stop), "length") == 0);

	/* A stop token: generation ends on its first occurrence, unshown. */
	int32_t stop_tok = base.toks[5];
	size_t first = 0;
	while (base.toks[first] != stop_tok)
		first++;
	p = (veil_gen_params){.sample = {.temperature = 0, .top_p = 1},
			      .max_tokens = 12,
			      .stop_tokens = &stop_tok,
			      .n_stop_tokens = 1};
	EXPECT_OK(gen(&st, &p, 64, &r));
	EXPECT(r.stop == VEIL_STOP_TOKEN && r.n_generated == first + 1 && st.calls == first);

	/* A stop sequence spanning two tokens' text: the stream is exactly
	 * the text before it. */
	char seq[8], expect[4096];
	const char *cut;
	char pc[16];
	size_t off = (size_t)piece_id(NULL, base.toks[0], pc, sizeof pc) +
		     piece_id(NULL, base.toks[1], pc, sizeof pc);
	memcpy(seq, base.text + off - 2, 4);
	seq[4] = '\0';
	cut = strstr(base.text, seq);
	REQUIRE(cut != NULL);
	snprintf(expect, sizeof expect, "%.*s", (int)(cut - base.text), base.text);
	const char *stops[2] = {"never appears", seq};
	p = (veil_gen_params){
	    .sample = {.temperature = 0, .top_p = 1}, .max_tokens = 12, .stop = stops, .n_stop = 2};
	EXPECT_OK(gen(&st, &p, 64, &r));
	EXPECT(r.stop == VEIL_STOP_SEQUENCE);
	EXPECT(strcmp(st.text, expect) == 0);
	EXPECT(strcmp(veil_stop_reason_name(r.stop), "stop sequence") == 0);

	/* A stop sequence that never completes: its prefix is held back
	 * and released at the end, so the stream is still the whole text. */
	const char *gt[1] = {">!"};
	p = (veil_gen_params){
	    .sample = {.temperature = 0, .top_p = 1}, .max_tokens = 12, .stop = gt, .n_stop = 1};
	EXPECT_OK(gen(&st, &p, 64, &r));
	EXPECT(r.stop == VEIL_STOP_LENGTH && strcmp(st.text, base.text) == 0);
	EXPECT(st.last_token == -1 && st.calls == 13);

	/* The context fills: the prompt plus 3 evaluated tokens; the fourth
	 * was sampled from the last logits. */
	p = (veil_gen_params){.sample = {.temperature = 0, .top_p = 1}};
	EXPECT_OK(gen(&st, &p, 7, &r));
	EXPECT(r.stop == VEIL_STOP_CONTEXT && r.n_generated == 4);
	EXPECT(memcmp(st.toks, base.toks, 4 * sizeof(int32_t)) == 0);

	/* The caller stops after two tokens. */
	st.stop_after = 2;
	p = (veil_gen_params){.sample = {.temperature = 0, .top_p = 1}, .max_tokens = 12};
	EXPECT_OK(gen(&st, &p, 64, &r));
	EXPECT(r.stop == VEIL_STOP_CALLER && r.n_generated == 2);
	st.stop_after = 0;
}

/* Each token reads as half of an "é" (C3 A9) with an ASCII letter: the
 * stream must never end a chunk inside the character. */
static size_t piece_split(void *user, int32_t tok, char *buf, size_t cap)
{
	static const char *const halves[2] = {"a\xC3", "\xA9z"};
	unsigned *n = user;

	(void)tok;
	if (cap < 2)
		return 0;
	memcpy(buf, halves[(*n)++ % 2], 2);
	return 2;
}

TEST(streaming_keeps_utf8_whole_and_seeds_repeat)
{
	stream a = {0}, b = {0};
	unsigned na = 0, nb = 0;
	veil_gen_params p = {.sample = {.temperature = 1, .top_p = 1, .seed = 99},
			     .max_tokens = 9,
			     .piece = piece_split,
			     .piece_user = &na};
	veil_gen_result r;

	REQUIRE(model());
	EXPECT_OK(gen(&a, &p, 64, &r));
	EXPECT(!a.chunk_ends_mid_char);
	/* Nine halves: the last "a\xC3" waits for the final release. */
	EXPECT(a.len == 18 && a.last_token == -1);
	EXPECT(memcmp(a.text, "a\xC3\xA9z", 4) == 0);
	/* The same seed gives the same tokens. */
	p.piece_user = &nb;
	EXPECT_OK(gen(&b, &p, 64, &r));
	EXPECT(memcmp(a.toks, b.toks, 9 * sizeof(int32_t)) == 0);
}

TEST(bad_generation_params)
{
	veil_session *s;
	veil_gen_params p = {.sample = {.temperature = 0, .top_p = 1}, .max_tokens = 2};
	veil_gen_result r;
	const char *stops[VEIL_ENGINE_STOP_MAX + 1];
	char long_stop[VEIL_ENGINE_STOP_LEN_MAX + 2];

	REQUIRE(model());
	REQUIRE(veil_session_new(fx.m, NULL, &s) == VEIL_OK);
	for (size_t i = 0; i <= VEIL_ENGINE_STOP_MAX; i++)
		stops[i] = "x";
	p.stop = stops;
	p.n_stop = 1;
	EXPECT_ERR(veil_generate(s, prompt, 4, &p, &r), VEIL_E_USAGE); /* no piece function */
	p.piece = piece_id;
	p.n_stop = VEIL_ENGINE_STOP_MAX + 1;
	EXPECT_ERR(veil_generate(s, prompt, 4, &p, &r), VEIL_E_LIMIT);
	memset(long_stop, 'a', sizeof long_stop - 1);
	long_stop[sizeof long_stop - 1] = '\0';
	stops[0] = long_stop;
	p.n_stop = 1;
	EXPECT_ERR(veil_generate(s, prompt, 4, &p, &r), VEIL_E_LIMIT);
	stops[0] = "";
	EXPECT_ERR(veil_generate(s, prompt, 4, &p, &r), VEIL_E_LIMIT);
	p.n_stop = 0;
	EXPECT_ERR(veil_generate(s, prompt, 0, &p, &r), VEIL_E_USAGE);
	p.sample.top_p = 0;
	EXPECT_ERR(veil_generate(s, prompt, 4, &p, &r), VEIL_E_USAGE);
	EXPECT(veil_session_pos(s) == 0);
	p.sample.top_p = 1;
	EXPECT_OK(veil_generate(s, prompt, 4, &p, &r));
	/* Prompt and the first of the two tokens. */
	EXPECT(veil_session_pos(s) == 5);
	veil_session_free(s);
}

int main(void)
{
	RUN(rng_is_splitmix64);
	RUN(greedy_and_cuts);
	RUN(logits_that_are_not_numbers);
	RUN(distribution_follows_temperature_and_top_p);
	RUN(seeds);
	RUN(bad_sample_params);
	RUN(generation_stops);
	RUN(streaming_keeps_utf8_whole_and_seeds_repeat);
	RUN(bad_generation_params);
	if (fx.m != NULL)
		eng_rmdir(dir);
	eng_close(&fx);
	return harness_finish("test_engine_sample");
}

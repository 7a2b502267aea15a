/*
 * sched.c - the built-in engine's scheduler (docs/worker.md "Engines"):
 * a fixed number of slots, each a thread with its own engine session (KV
 * cache, scratch, thread pool) over the one shared read-only model, and a
 * bounded FIFO of waiting jobs. A job that finds the queue full is refused
 * at once with 429 and Retry-After, rather than waiting for a time nobody
 * can bound.
 *
 * A slot runs one job from prompt to last token: the chat template, the
 * tokenizer, veil_generate with a callback that streams each piece of text
 * as it becomes final (or gathers it for a whole response), and the
 * receipt. The callback also ends the generation when the client has gone
 * or the job's time is up, so a slot is never held for nobody.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "worker/worker_internal.h"

typedef struct wk_slot {
	wk_sched *sched;
	unsigned index;
	veil_session *session;
	pthread_t thread;
	bool started;
} wk_slot;

struct wk_sched {
	veil_worker *w;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	wk_job *head, *tail;
	size_t waiting, queue_max;
	bool stop;
	unsigned n_slots;
	wk_slot *slots;
};

/* What one generation needs in its callbacks. */
typedef struct gen_ctx {
	wk_job *job;
	veil_detok detok;
	veil_writer text;   /* a whole response's text */
	EVP_MD_CTX *digest; /* a stream's text, hashed as it is sent */
	bool first;         /* no chunk sent yet */
	bool stopped_early; /* the client went away or the time ran out */
	double deadline;
} gen_ctx;

static bool emit_text(gen_ctx *g, const char *text, size_t len)
{
	wk_job *j = g->job;

	if (!j->req.stream)
		return veil_writer_put(&g->text, text, len) == VEIL_OK;
	if (len > 0 && EVP_DigestUpdate(g->digest, text, len) != 1)
		return false;
	if (!wk_job_stream_text(j, text, len, g->first))
		return false;
	g->first = false;
	return true;
}

static bool on_token(void *user, int32_t token, const char *text, size_t len)
{
	gen_ctx *g = user;

	(void)token;
	if (!emit_text(g, text, len) || g->job->sink->ops->gone(g->job->sink) ||
	    wk_clock() > g->deadline || atomic_load(&g->job->w->stopping)) {
		g->stopped_early = true;
		return false;
	}
	return true;
}

/* The prompt's tokens: the chat template for chat requests, the text as it
 * is for completions. Control tokens in the rendered prompt are parsed as
 * such, as llama.cpp's server and Hugging Face tokenizers do (docs/worker.md
 * "Prompts" says what that means for message content). */
static veil_err prompt_tokens(veil_worker *w, const oai_request *q, int32_t **ids, size_t *n)
{
	char *text = NULL;
	size_t len = 0;
	veil_err err;

	if (q->kind == OAI_COMPLETION)
		return veil_tokenize(w->tok, q->prompt, q->prompt_len, true, false, ids, n);
	TRY(veil_chat_format(&w->tmpl, q->messages, q->n_messages, true, &text, &len));
	err = veil_tokenize(w->tok, text, len, true, true, ids, n);
	veil_free_secret(text, len);
	return err;
}

/* Benchmark mode (docs/worker.md "Benchmark mode"): in place of
 * veil_generate, one token's text, "ok", through the same callback, so the
 * chunks, the digest and the receipt are those of a real one-token answer
 * that ended with a stop token. All the worker does around the engine
 * (parsing, tokenizing the prompt, queueing, OHTTP, signing) still runs,
 * which is what a measurement of the gateway in front must include. */
static veil_err bench_reply(gen_ctx *g, size_t n_prompt, veil_gen_result *r)
{
	memset(r, 0, sizeof *r);
	r->n_prompt = n_prompt;
	r->n_generated = 1;
	r->stop = VEIL_STOP_TOKEN;
	if (!on_token(g, 0, "ok", 2))
		r->stop = VEIL_STOP_CALLER;
	return VEIL_OK;
}

static void run(wk_slot *sl, wk_job *j)
{
	veil_worker *w = sl->sched->w;
	const oai_request *q = &j->req;
	size_t prompt_max = w->cfg.prompt_max;
	unsigned timeout = w->cfg.request_timeout_s;
	gen_ctx g = {.job = j, .first = true, .deadline = j->t_start + timeout};
	veil_gen_params p = {0};
	veil_gen_result r = {0};
	int32_t *ids = NULL;
	size_t n = 0;
	uint8_t digest[32];
	unsigned dlen = 0;
	double t0 = wk_clock();
	oai_error e;
	veil_err err;

	veil_writer_init(&g.text, VEIL_WORKER_RESPONSE_MAX);
	veil_detok_init(&g.detok, w->tok, false);
	if (j->sink->ops->gone(j->sink)) {
		oai_error_set(&e, 499, "invalid_request_error", "", "client_closed",
			      "the client went away");
		wk_job_fail(j, &e);
		goto out;
	}
	if (wk_clock() > g.deadline) {
		/* It waited in the queue past its time: no prompt evaluation
		 * for an answer nobody will wait for. */
		oai_error_set(&e, 503, "server_error", "", "timeout",
			      "the request waited longer than %u s for the engine", timeout);
		wk_job_fail(j, &e);
		goto out;
	}
	err = prompt_tokens(w, q, &ids, &n);
	if (err != VEIL_OK || n == 0) {
		oai_error_set(&e, 400, "invalid_request_error",
			      q->kind == OAI_CHAT ? "messages" : "prompt", "bad_prompt",
			      n == 0 && err == VEIL_OK ? "the prompt is empty"
						       : "the prompt cannot be tokenized: %s",
			      veil_err_str(err));
		wk_job_fail(j, &e);
		goto out;
	}
	if (n > prompt_max || n >= veil_session_n_ctx(sl->session)) {
		oai_error_set(&e, 400, "invalid_request_error", "messages",
			      "context_length_exceeded",
			      "the prompt is %zu tokens; this worker takes at most %zu", n,
			      prompt_max < veil_session_n_ctx(sl->session) - 1
				  ? prompt_max
				  : veil_session_n_ctx(sl->session) - 1);
		wk_job_fail(j, &e);
		goto out;
	}
	p.sample = q->sample;
	if (!q->has_seed && RAND_bytes((uint8_t *)&p.sample.seed, sizeof p.sample.seed) != 1) {
		oai_error_set(&e, 500, "server_error", "", "", "no random bytes");
		wk_job_fail(j, &e);
		goto out;
	}
	p.max_tokens = q->max_tokens;
	p.stop_tokens = w->eog;
	p.n_stop_tokens = w->n_eog;
	p.stop = (const char *const *)q->stop;
	p.n_stop = q->n_stop;
	p.piece = veil_detok_piece;
	p.piece_user = &g.detok;
	p.on_token = on_token;
	p.user = &g;
	if (q->stream) {
		g.digest = EVP_MD_CTX_new();
		if (g.digest == NULL || EVP_DigestInit_ex(g.digest, EVP_sha256(), NULL) != 1) {
			oai_error_set(&e, 500, "server_error", "", "", "out of memory");
			wk_job_fail(j, &e);
			goto out;
		}
		wk_job_stream_begin(j);
		if (!emit_text(&g, "", 0)) /* the first chunk: the assistant's role */
			g.stopped_early = true;
	}
	veil_session_reset(sl->session);
	err = g.stopped_early      ? VEIL_OK
	      : w->cfg.bench_reply ? bench_reply(&g, n, &r)
				   : veil_generate(sl->session, ids, n, &p, &r);
	if (err == VEIL_OK) {
		veil_writer rest;

		/* A character left unfinished at the end becomes U+FFFD. */
		veil_writer_init(&rest, 16);
		if (veil_detok_finish(&g.detok, &rest) == VEIL_OK && rest.len > 0)
			emit_text(&g, (const char *)rest.data, rest.len);
		veil_writer_clear(&rest);
	}
	if (err != VEIL_OK) {
		/* An engine failure: an error before anything was sent, else a
		 * stream that ends without a receipt or [DONE]. */
		wk_log(w, "generate.error", json_pack("{s:s}", "detail", veil_err_detail()));
		if (q->stream) {
			wk_job_stream_abort(j);
		} else {
			oai_error_set(&e, 500, "server_error", "", "", "generation failed");
			wk_job_fail(j, &e);
		}
		goto out;
	}
	wk_log(w, "request.done",
	       json_pack("{s:s, s:s, s:b, s:b, s:I, s:I, s:f, s:f, s:s}", "id", j->id, "kind",
			 q->kind == OAI_CHAT ? "chat" : "completion", "stream", q->stream, "ohttp",
			 j->sink->ohttp, "prompt_tokens", (json_int_t)n, "completion_tokens",
			 (json_int_t)r.n_generated, "seconds", wk_clock() - t0, "queued",
			 t0 - j->t_start, "stop",
			 g.stopped_early ? "client-or-time" : veil_stop_reason_name(r.stop)));
	{
		wk_result res = {.text = (const char *)g.text.data,
				 .len = g.text.len,
				 .finish_reason = oai_finish_reason(r.stop),
				 .prompt_tokens = n,
				 .completion_tokens = r.n_generated,
				 .stream_digest =
				     q->stream && EVP_DigestFinal_ex(g.digest, digest, &dlen) == 1
					 ? digest
					 : NULL};
		if (g.stopped_early)
			res.finish_reason = "length";
		wk_job_finish(j, &res);
	}
out:
	EVP_MD_CTX_free(g.digest);
	veil_writer_clear(&g.text);
	veil_free_secret(ids, n * sizeof *ids);
}

static void *slot_main(void *arg)
{
	wk_slot *sl = arg;
	wk_sched *s = sl->sched;

	for (;;) {
		wk_job *j;

		pthread_mutex_lock(&s->mu);
		while (s->head == NULL && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->head == NULL) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		j = s->head;
		s->head = j->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->waiting--;
		pthread_mutex_unlock(&s->mu);
		j->next = NULL;
		run(sl, j);
	}
}

veil_err wk_sched_new(veil_worker *w, wk_sched **out)
{
	const veil_worker_config *c = &w->cfg;
	wk_sched *s = calloc(1, sizeof *s);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(s != NULL, VEIL_E_NOMEM, "out of memory");
	s->w = w;
	s->n_slots = c->slots;
	s->queue_max = c->queue_max;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->slots = calloc(s->n_slots, sizeof *s->slots);
	CHECK_THAT(s->slots != NULL, VEIL_E_NOMEM, "out of memory");
	veil_session_params sp = {
	    .n_ctx = c->n_ctx,
	    .n_threads = c->threads > 0
			     ? c->threads
			     : (unsigned)(cpus > (long)s->n_slots ? cpus / (long)s->n_slots : 1),
	};
	for (unsigned i = 0; i < s->n_slots; i++) {
		wk_slot *sl = &s->slots[i];
		sl->sched = s;
		sl->index = i;
		CHECK(veil_session_new(w->model, &sp, &sl->session));
	}
	for (unsigned i = 0; i < s->n_slots; i++) {
		CHECK_THAT(pthread_create(&s->slots[i].thread, NULL, slot_main, &s->slots[i]) == 0,
			   VEIL_E_NOMEM, "cannot start engine slot %u", i);
		s->slots[i].started = true;
	}
	wk_log(w, "engine.ready",
	       json_pack("{s:i, s:i, s:I, s:I, s:s}", "slots", (int)s->n_slots, "threads",
			 (int)sp.n_threads, "queue", (json_int_t)s->queue_max, "context",
			 (json_int_t)veil_session_n_ctx(s->slots[0].session), "kernels",
			 veil_engine_kernels()));
	*out = s;
	return VEIL_OK;
out:
	wk_sched_free(s);
	return err;
}

bool wk_sched_submit(wk_sched *s, wk_job *j)
{
	bool ok;

	pthread_mutex_lock(&s->mu);
	ok = !s->stop && s->waiting < s->queue_max;
	if (ok) {
		j->next = NULL;
		if (s->tail != NULL)
			s->tail->next = j;
		else
			s->head = j;
		s->tail = j;
		s->waiting++;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return ok;
}

size_t wk_sched_waiting(wk_sched *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->waiting;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void wk_sched_stop(wk_sched *s)
{
	wk_job *pending;
	oai_error e;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pending = s->head;
	s->head = s->tail = NULL;
	s->waiting = 0;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	oai_error_set(&e, 503, "server_error", "", "shutting_down", "the worker is stopping");
	while (pending != NULL) {
		wk_job *next = pending->next;
		wk_job_fail(pending, &e);
		pending = next;
	}
	for (unsigned i = 0; i < s->n_slots; i++)
		if (s->slots[i].started) {
			pthread_join(s->slots[i].thread, NULL);
			s->slots[i].started = false;
		}
}

void wk_sched_free(wk_sched *s)
{
	if (s == NULL)
		return;
	wk_sched_stop(s);
	for (unsigned i = 0; s->slots != NULL && i < s->n_slots; i++)
		veil_session_free(s->slots[i].session);
	free(s->slots);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

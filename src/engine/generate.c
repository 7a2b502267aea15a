/*
 * generate.c - the generation loop: prompt, then sample, stream and
 * evaluate one token at a time until something says stop.
 *
 * Streaming and stop sequences pull against each other: a stop sequence
 * may arrive split over several tokens ("\n\nUs" + "er:"), and text already
 * streamed cannot be taken back. So the text of each token goes into a
 * small hold buffer, and only the part that cannot be the start of any
 * stop sequence is released; the first bytes of an unfinished UTF-8
 * character are held back too, so a consumer that needs whole characters
 * (JSON, a terminal) never sees half of one. What is still held when
 * generation ends for another reason is released by a last call.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "veil/secret.h"
#include "veil/tokenizer.h"

/* Bytes of one token's text: the longest the tokenizer accepts, plus a
 * partial character the detokenizer may be holding back. */
#define PIECE_MAX (VEIL_TOKEN_TEXT_MAX + 4)
#define HOLD_MAX  (VEIL_ENGINE_STOP_LEN_MAX + PIECE_MAX + 8)

const char *veil_stop_reason_name(veil_stop_reason r)
{
	static const char *const names[] = {
	    [VEIL_STOP_LENGTH] = "length",
	    [VEIL_STOP_TOKEN] = "stop token",
	    [VEIL_STOP_SEQUENCE] = "stop sequence",
	    [VEIL_STOP_CONTEXT] = "context full",
	    [VEIL_STOP_CALLER] = "stopped by caller",
	};

	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

/* Bytes at the end of s[0..n) that begin a UTF-8 character still missing
 * continuation bytes (0 when s ends on a boundary). */
static size_t utf8_unfinished(const char *s, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char ch = (unsigned char)s[n - back];
		size_t need;

		if ((ch & 0xC0) == 0x80)
			continue; /* a continuation byte: look further back */
		need = (ch & 0xE0) == 0xC0   ? 2
		       : (ch & 0xF0) == 0xE0 ? 3
		       : (ch & 0xF8) == 0xF0 ? 4
					     : 1;
		return need > back ? back : 0;
	}
	return 0;
}

/* How many bytes at the end of s[0..n) are a proper prefix of a stop
 * sequence (and so must be held back). */
static size_t stop_prefix(const char *s, size_t n, const char *const *stop, const size_t *len,
			  size_t n_stop)
{
	size_t keep = 0;

	for (size_t i = 0; i < n_stop; i++)
		for (size_t k = len[i] - 1; k > keep; k--)
			if (k <= n && memcmp(s + n - k, stop[i], k) == 0) {
				keep = k;
				break;
			}
	return keep;
}

/* Where the first stop sequence starts in s[0..n), or n. */
static size_t stop_find(const char *s, size_t n, const char *const *stop, const size_t *len,
			size_t n_stop)
{
	size_t first = n;

	for (size_t i = 0; i < n_stop; i++)
		for (size_t at = 0; at + len[i] <= n && at < first; at++)
			if (memcmp(s + at, stop[i], len[i]) == 0) {
				first = at;
				break;
			}
	return first;
}

static bool is_stop_token(const veil_gen_params *p, int32_t tok)
{
	for (size_t i = 0; i < p->n_stop_tokens; i++)
		if (p->stop_tokens[i] == tok)
			return true;
	return false;
}

static veil_err check_params(const veil_gen_params *p, size_t *len)
{
	ENSURE(p->n_stop <= VEIL_ENGINE_STOP_MAX, VEIL_E_LIMIT,
	       "%zu stop sequences; at most %d are allowed", p->n_stop, VEIL_ENGINE_STOP_MAX);
	ENSURE(p->n_stop == 0 || p->piece != NULL, VEIL_E_USAGE,
	       "stop sequences need the tokens' text (a piece function)");
	ENSURE(p->n_stop_tokens == 0 || p->stop_tokens != NULL, VEIL_E_USAGE,
	       "no stop tokens given");
	for (size_t i = 0; i < p->n_stop; i++) {
		ENSURE(p->stop[i] != NULL, VEIL_E_USAGE, "stop sequence %zu is missing", i);
		len[i] = strlen(p->stop[i]);
		ENSURE(len[i] >= 1 && len[i] <= VEIL_ENGINE_STOP_LEN_MAX, VEIL_E_LIMIT,
		       "stop sequence %zu has %zu bytes; 1 to %d are allowed", i, len[i],
		       VEIL_ENGINE_STOP_LEN_MAX);
	}
	return VEIL_OK;
}

veil_err veil_generate(veil_session *s, const int32_t *prompt, size_t n_prompt,
		       const veil_gen_params *p, veil_gen_result *res)
{
	size_t stop_len[VEIL_ENGINE_STOP_MAX], held = 0, n_vocab = s->m->cfg.n_vocab;
	char hold[HOLD_MAX];
	veil_sampler *smp = NULL;
	float *logits = NULL;
	veil_err err;
	double t0;

	memset(res, 0, sizeof *res);
	res->n_prompt = n_prompt;
	TRY(check_params(p, stop_len));
	TRY(veil_sampler_new(&p->sample, n_vocab, &smp));
	logits = malloc(n_vocab * sizeof(float));
	CHECK_THAT(logits != NULL, VEIL_E_NOMEM, "out of memory for logits");
	t0 = eng_now();
	CHECK(veil_session_eval(s, prompt, n_prompt, logits, false));
	res->prompt_seconds = eng_now() - t0;
	t0 = eng_now();

	for (;;) {
		int32_t tok;
		size_t release, at;

		tok = veil_sampler_sample(smp, logits);
		res->n_generated++;
		if (is_stop_token(p, tok)) {
			res->stop = VEIL_STOP_TOKEN;
			break;
		}
		if (p->piece != NULL) {
			size_t got = p->piece(p->piece_user, tok, hold + held, PIECE_MAX);

			held += got < PIECE_MAX ? got : PIECE_MAX;
		}
		at = stop_find(hold, held, p->stop, stop_len, p->n_stop);
		if (at < held) {
			/* The text before the stop sequence is final; the rest
			 * (the sequence and anything after) is dropped. */
			if (p->on_token != NULL)
				(void)p->on_token(p->user, tok, hold, at);
			held = 0;
			res->stop = VEIL_STOP_SEQUENCE;
			break;
		}
		release = held - stop_prefix(hold, held, p->stop, stop_len, p->n_stop);
		release -= utf8_unfinished(hold, release);
		bool go_on = p->on_token == NULL || p->on_token(p->user, tok, hold, release);

		memmove(hold, hold + release, held - release);
		held -= release;
		if (!go_on) {
			res->stop = VEIL_STOP_CALLER;
			break;
		}
		/* The last sampled token is never evaluated: nothing needs
		 * its logits. */
		if (p->max_tokens > 0 && res->n_generated >= p->max_tokens) {
			res->stop = VEIL_STOP_LENGTH;
			break;
		}
		if (veil_session_pos(s) >= veil_session_n_ctx(s)) {
			res->stop = VEIL_STOP_CONTEXT;
			break;
		}
		CHECK(veil_session_eval(s, &tok, 1, logits, false));
	}
	if (held > 0 && p->on_token != NULL)
		(void)p->on_token(p->user, -1, hold, held);
	res->gen_seconds = eng_now() - t0;
	err = VEIL_OK;
out:
	/* Logits and held text are derived from the prompt. */
	veil_free_secret(logits, n_vocab * sizeof(float));
	veil_wipe(hold, sizeof hold);
	veil_sampler_free(smp);
	return err;
}

/*
 * fuzz_openai.c - veil-worker's OpenAI request parser and the bodies
 * built from what it accepts (src/worker/openai*.c).
 *
 * Every input is parsed as a chat request and as a completion request.
 * Beyond "no crash, no leak", checks what the handlers rely on: an
 * accepted request has its caps and ranges (messages, roles, max_tokens,
 * stop sequences, sampling), NUL-terminated text whose length is its
 * strlen, and text that the response builders take and turn into JSON
 * that parses back; a refused one has a cleared request, an HTTP status
 * of 400, 413 or 500, and a message of printable ASCII (so it cannot be
 * quoting the prompt), and its error body is JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "veil/json.h"
#include "veil/limits.h"
#include "worker/openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(const veil_writer *w)
{
	json_t *v = NULL;

	if (veil_writer_status(w) != VEIL_OK)
		abort();
	if (w->len <= VEIL_JSON_MAX_BYTES) {
		if (veil_json_parse(w->data, w->len, &v) != VEIL_OK || !json_is_object(v))
			abort();
		json_decref(v);
	}
}

static void check_text(const char *s, size_t n)
{
	oai_usage u = {1, 1};
	veil_writer w;

	if (s == NULL || s[n] != '\0' || strlen(s) != n)
		abort();
	veil_writer_init(&w, 8 * VEIL_WORKER_BODY_MAX);
	if (oai_response_body(OAI_CHAT, "chatcmpl-x", 1, "m", s, n, "stop", &u, &w) != VEIL_OK)
		abort();
	check_json(&w);
	veil_writer_clear(&w);
}

static void check_accepted(oai_kind kind, const oai_request *r)
{
	if (r->kind != kind || r->max_tokens < 1 || r->max_tokens > VEIL_WORKER_MAX_TOKENS_CAP ||
	    r->n_stop > VEIL_WORKER_STOP_MAX || strlen(r->model) > VEIL_WORKER_MODEL_NAME_MAX ||
	    !(r->sample.temperature >= 0.0f && r->sample.temperature <= 2.0f) ||
	    !(r->sample.top_p > 0.0f && r->sample.top_p <= 1.0f) ||
	    (r->include_usage && !r->stream) || r->echo)
		abort();
	for (size_t i = 0; i < r->n_stop; i++)
		if (strlen(r->stop[i]) < 1 || strlen(r->stop[i]) > VEIL_ENGINE_STOP_LEN_MAX)
			abort();
	if (kind == OAI_CHAT) {
		if (r->n_messages < 1 || r->n_messages > VEIL_WORKER_MESSAGES_MAX ||
		    r->prompt != NULL)
			abort();
		for (size_t i = 0; i < r->n_messages; i++) {
			const char *role = r->messages[i].role;
			if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 &&
			    strcmp(role, "assistant") != 0)
				abort();
			check_text(r->messages[i].content, r->messages[i].content_len);
		}
	} else {
		if (r->messages != NULL || r->n_messages != 0)
			abort();
		check_text(r->prompt, r->prompt_len);
	}
}

static void check_refused(const oai_request *r, const oai_error *e)
{
	static const oai_request zero;
	veil_writer w;

	if (memcmp(r, &zero, sizeof zero) != 0)
		abort();
	if (e->status != 400 && e->status != 413 && e->status != 500)
		abort();
	if (e->message[0] == '\0' || e->type[0] == '\0')
		abort();
	for (const char *p = e->message; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	veil_writer_init(&w, 4096);
	if (oai_error_body(e, &w) != VEIL_OK)
		abort();
	check_json(&w);
	veil_writer_clear(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const oai_kind kinds[] = {OAI_CHAT, OAI_COMPLETION};

	for (size_t k = 0; k < 2; k++) {
		oai_request r;
		oai_error e;

		if (oai_request_parse(kinds[k], data, size, NULL, &r, &e) == VEIL_OK)
			check_accepted(kinds[k], &r);
		else
			check_refused(&r, &e);
		oai_request_clear(&r);
	}
	return 0;
}

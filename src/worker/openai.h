/*
 * openai.h - the OpenAI wire format of veil-worker (docs/openai-api.md).
 *
 * veil-worker serves POST /v1/chat/completions, POST /v1/completions and
 * GET /v1/models so that unmodified OpenAI clients work against it. This
 * is the pure part of that: a request body becomes a validated
 * oai_request or an OpenAI-style error (status, type, param, code,
 * message), and responses, stream chunks (server-sent events) and errors
 * become compact JSON. No HTTP, no engine, no clock: the handlers pass in
 * the time and the ids.
 *
 * A request holds the prompt, so everything it owns is wiped when it is
 * cleared, and no error message ever quotes request content.
 */
#ifndef VEIL_WORKER_OPENAI_H
#define VEIL_WORKER_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"
#include "veil/engine.h"
#include "veil/error.h"
#include "veil/tokenizer.h"

typedef enum oai_kind { OAI_CHAT, OAI_COMPLETION } oai_kind;

/* Per-server caps; defaults VEIL_WORKER_* in include/veil/limits.h. */
typedef struct oai_limits {
	size_t body_max;           /* bytes of request body */
	size_t messages_max;       /* messages in one chat request */
	size_t max_tokens_cap;     /* the most max_tokens may ask for (larger is a 400) */
	size_t max_tokens_default; /* when the request does not say */
} oai_limits;

typedef struct oai_request {
	oai_kind kind;
	char model[129];             /* as given ("" when absent) */
	veil_chat_message *messages; /* OAI_CHAT: content owned by the request; role
					points to a static "system", "user" or "assistant" */
	size_t n_messages;
	char *prompt; /* OAI_COMPLETION: owned, NUL-terminated */
	size_t prompt_len;
	size_t max_tokens;         /* max_completion_tokens or max_tokens, else the default */
	veil_sample_params sample; /* temperature (default 1.0 as OpenAI), top_p (default 1),
				      top_k (extension as llama.cpp's server; default 0 = off),
				      seed (has_seed says whether given) */
	bool has_seed;
	char *stop[VEIL_ENGINE_STOP_MAX]; /* owned, NUL-terminated; "stop": string or array */
	size_t n_stop;
	bool stream;
	bool include_usage; /* stream_options.include_usage */
	bool echo;          /* completions only; true is refused (unsupported) */
} oai_request;

/* An OpenAI error: HTTP status and the "error" object's members. */
typedef struct oai_error {
	int status;        /* 400, 404, 413, 422... */
	char type[48];     /* "invalid_request_error", ... */
	char param[64];    /* the offending parameter, "" for none */
	char code[48];     /* "" for none, else e.g. "unsupported_parameter" */
	char message[256]; /* never contains request content */
} oai_error;

/*
 * Parses and validates a body (docs/openai-api.md lists every rule).
 * VEIL_OK, or an error with *e filled (and *out cleared): VEIL_E_LIMIT for
 * a body over lim->body_max (status 413) or too many messages,
 * VEIL_E_UNSUPPORTED for a parameter or value Veil does not implement,
 * VEIL_E_NOMEM (status 500), VEIL_E_MALFORMED for everything else. lim may
 * be NULL for the defaults in limits.h. Never echoes prompt text into
 * e->message.
 */
VEIL_MUST_CHECK veil_err oai_request_parse(oai_kind kind, const uint8_t *body, size_t len,
					   const oai_limits *lim, oai_request *out, oai_error *e);
/* Wipes (veil_free_secret) and frees what the request owns; safe on a zeroed struct. */
void oai_request_clear(oai_request *r);

/* {"error":{"message","type","param"(null when ""),"code"(null when "")}} as
 * compact JSON, appended to out. Bytes of the message that are not UTF-8
 * are written as U+FFFD, so an error can always be sent. */
VEIL_MUST_CHECK veil_err oai_error_body(const oai_error *e, veil_writer *out);
/* Convenience to fill an oai_error (NULL type, param or code: ""). Control
 * characters in the message become '?'. */
void oai_error_set(oai_error *e, int status, const char *type, const char *param, const char *code,
		   const char *fmt, ...) VEIL_PRINTF(6, 7);

typedef struct oai_usage {
	uint64_t prompt_tokens, completion_tokens;
} oai_usage;

/* finish_reason for a stop reason: "length" for LENGTH and CONTEXT, "stop" otherwise. */
const char *oai_finish_reason(veil_stop_reason r);

/*
 * A whole response body (compact JSON) appended to out: chat.completion
 * {id, object, created, model, choices:[{index:0, message:{role:"assistant",
 * content}, logprobs:null, finish_reason}], usage:{prompt_tokens,
 * completion_tokens, total_tokens}} or text_completion {id, object,
 * created, model, choices:[{index:0, text, logprobs:null, finish_reason}], usage}.
 * text must be valid UTF-8 (VEIL_E_MALFORMED otherwise, with nothing
 * appended); so must id, model and finish_reason.
 */
VEIL_MUST_CHECK veil_err oai_response_body(oai_kind kind, const char *id, int64_t created,
					   const char *model, const char *text, size_t len,
					   const char *finish_reason, const oai_usage *u,
					   veil_writer *out);

/* One SSE event "data: <compact JSON>\n\n" appended to out: a
 * chat.completion.chunk or (OAI_COMPLETION) a text_completion chunk. */
typedef struct oai_chunk {
	const char *id;
	int64_t created;
	const char *model;
	bool first;       /* chat: delta carries role "assistant" */
	const char *text; /* delta content / text; NULL or len 0: none */
	size_t len;
	const char *finish_reason; /* NULL until the last content chunk */
	bool usage_null; /* include "usage": null (include_usage streams, non-final chunks) */
	const oai_usage *usage; /* non-NULL: the usage chunk: choices [] and usage {...} */
	const char *receipt;    /* non-NULL: adds "veil_receipt": receipt (the last chunk) */
} oai_chunk;
VEIL_MUST_CHECK veil_err oai_chunk_sse(oai_kind kind, const oai_chunk *c, veil_writer *out);
/* "data: [DONE]\n\n" */
VEIL_MUST_CHECK veil_err oai_sse_done(veil_writer *out);
/* GET /v1/models: {"object":"list","data":[{"id","object":"model","created","owned_by"}]} */
VEIL_MUST_CHECK veil_err oai_models_body(const char *model, int64_t created, const char *owned_by,
					 veil_writer *out);
/* A fresh response id: prefix ("chatcmpl-", "cmpl-") + 24 random base62
 * characters from RAND_bytes, NUL-terminated. VEIL_E_USAGE when buflen
 * cannot hold strlen(prefix) + 25 bytes, VEIL_E_CRYPTO when RAND_bytes fails. */
VEIL_MUST_CHECK veil_err oai_response_id(const char *prefix, char *buf, size_t buflen);

#endif

/*
 * openai_internal.h - what the two halves of the OpenAI request parser
 * share: openai.c (the body and its parameters) and openai_prompt.c (the
 * messages and the prompt). Not for the handlers, which use openai.h.
 */
#ifndef VEIL_WORKER_OPENAI_INTERNAL_H
#define VEIL_WORKER_OPENAI_INTERNAL_H

#include <jansson.h>

#include "worker/openai.h"

/* Fills *e (type "invalid_request_error", or "server_error" for a status
 * of 500 and above) and returns err with the message as the thread's
 * error detail. The message must never quote request content. */
VEIL_MUST_CHECK veil_err oai_fail(oai_error *e, veil_err err, int status, const char *param,
				  const char *code, const char *fmt, ...) VEIL_PRINTF(6, 7);
/* 500: an allocation failed. */
VEIL_MUST_CHECK veil_err oai_fail_nomem(oai_error *e);
/* 400 invalid_type: "Invalid type for 'param': expected want, but got ... instead." */
VEIL_MUST_CHECK veil_err oai_bad_type(oai_error *e, const char *param, const char *want,
				      const json_t *v);
/* An optional member: NULL when absent or JSON null (OpenAI: nullable). */
json_t *oai_member(const json_t *obj, const char *key);

/* OAI_CHAT: "messages" into r->messages. */
VEIL_MUST_CHECK veil_err oai_parse_messages(const json_t *root, const oai_limits *lim,
					    oai_request *r, oai_error *e);
/* OAI_COMPLETION: "prompt" into r->prompt. */
VEIL_MUST_CHECK veil_err oai_parse_prompt(const json_t *root, oai_request *r, oai_error *e);

#endif

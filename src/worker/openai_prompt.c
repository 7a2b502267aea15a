/*
 * openai_prompt.c - the prompt of an OpenAI request: the "messages" of a
 * chat completion and the "prompt" of a completion (docs/openai-api.md).
 *
 * These are the members that hold what the user wrote, so they get the
 * most care: each string is copied out of the parsed tree into a buffer
 * the request owns and wipes, NUL characters are refused (the chat
 * template and the tokenizer take C strings), and no error message quotes
 * any of it: a role or a content part type is quoted only when it is a
 * short [a-z_] word, which a prompt cannot hide in.
 *
 * Roles map onto the three the chat templates know: OpenAI's "developer"
 * is its newer name for "system". Tool and function messages, tool calls
 * and non-text content parts are refused by name, since a model without
 * them would answer a different question.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/openai_internal.h"

/* A client-chosen word safe to quote: 1..32 of [a-z_]. */
static bool quotable(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	return true;
}

/* Copies n bytes of a string the parser checked for UTF-8 into a new
 * NUL-terminated buffer; refuses embedded NULs (the engine and tokenizer
 * take C strings). */
static veil_err copy_text(const json_t *s, const char *param, char **out, size_t *len, oai_error *e)
{
	size_t n = json_string_length(s);

	if (strlen(json_string_value(s)) != n)
		return oai_fail(e, VEIL_E_MALFORMED, 400, param, "invalid_value",
				"Invalid '%s': NUL characters are not allowed.", param);
	*out = malloc(n + 1);
	if (*out == NULL)
		return oai_fail_nomem(e);
	memcpy(*out, json_string_value(s), n + 1);
	*len = n;
	return VEIL_OK;
}

veil_err oai_parse_prompt(const json_t *root, oai_request *r, oai_error *e)
{
	json_t *v = oai_member(root, "prompt"), *first;

	if (v == NULL)
		return oai_fail(e, VEIL_E_MALFORMED, 400, "prompt", "missing_required_parameter",
				"Missing required parameter: 'prompt'.");
	if (json_is_string(v))
		return copy_text(v, "prompt", &r->prompt, &r->prompt_len, e);
	if (!json_is_array(v))
		return oai_bad_type(e, "prompt", "a string or an array of one string", v);
	if (json_array_size(v) == 0)
		return oai_fail(
		    e, VEIL_E_MALFORMED, 400, "prompt", "empty_array",
		    "Invalid 'prompt': empty array. Expected an array with one string.");
	first = json_array_get(v, 0);
	/* Token arrays need the model's tokenizer to mean the same thing on
	 * both sides, and several prompts need n > 1 completions. */
	if (json_is_integer(first) || json_is_array(first))
		return oai_fail(
		    e, VEIL_E_UNSUPPORTED, 400, "prompt", "unsupported_value",
		    "Unsupported value: 'prompt' as token ids is not supported; send the "
		    "prompt as a string.");
	if (json_array_size(v) > 1)
		return oai_fail(
		    e, VEIL_E_UNSUPPORTED, 400, "prompt", "unsupported_value",
		    "Unsupported value: 'prompt' with several prompts is not supported; "
		    "send one prompt per request.");
	if (!json_is_string(first))
		return oai_bad_type(e, "prompt[0]", "a string", first);
	return copy_text(first, "prompt[0]", &r->prompt, &r->prompt_len, e);
}

/* The role as the chat template names it; "developer" is OpenAI's newer
 * name for "system". */
static veil_err parse_role(const json_t *msg, const char *param, const char **role, oai_error *e)
{
	json_t *v = json_object_get(msg, "role");
	const char *s;

	if (v == NULL || json_is_null(v))
		return oai_fail(e, VEIL_E_MALFORMED, 400, param, "missing_required_parameter",
				"Missing required parameter: '%s'.", param);
	if (!json_is_string(v))
		return oai_bad_type(e, param, "a string", v);
	s = json_string_value(v);
	if (strcmp(s, "system") == 0 || strcmp(s, "developer") == 0)
		*role = "system";
	else if (strcmp(s, "user") == 0)
		*role = "user";
	else if (strcmp(s, "assistant") == 0)
		*role = "assistant";
	else if (strcmp(s, "tool") == 0 || strcmp(s, "function") == 0)
		return oai_fail(
		    e, VEIL_E_UNSUPPORTED, 400, param, "unsupported_value",
		    "Unsupported value: '%s' does not support '%s' messages; tool calling "
		    "is not supported by this server.",
		    param, s);
	else if (quotable(s))
		return oai_fail(e, VEIL_E_MALFORMED, 400, param, "invalid_value",
				"Invalid value: '%s'. Supported values are: 'system', 'developer', "
				"'user' and 'assistant' (in '%s').",
				s, param);
	else
		return oai_fail(
		    e, VEIL_E_MALFORMED, 400, param, "invalid_value",
		    "Invalid value for '%s'. Supported values are: 'system', 'developer', "
		    "'user' and 'assistant'.",
		    param);
	return VEIL_OK;
}

/* content as an array of parts: only text parts, joined in order with
 * nothing between them. */
static veil_err parse_parts(const json_t *parts, const char *param, veil_chat_message *m,
			    oai_error *e)
{
	char where[96];
	json_t *part;
	size_t i, total = 0, at = 0;
	char *buf;

	if (json_array_size(parts) == 0)
		return oai_fail(
		    e, VEIL_E_MALFORMED, 400, param, "empty_array",
		    "Invalid '%s': empty array. Expected an array with minimum length 1.", param);
	json_array_foreach(parts, i, part)
	{
		json_t *type = json_object_get(part, "type"), *text;

		snprintf(where, sizeof where, "%s[%zu]", param, i);
		if (!json_is_object(part))
			return oai_bad_type(e, where, "an object", part);
		if (!json_is_string(type))
			return oai_fail(e, VEIL_E_MALFORMED, 400, where,
					"missing_required_parameter",
					"Missing required parameter: '%s.type' (a string).", where);
		if (strcmp(json_string_value(type), "text") != 0) {
			if (quotable(json_string_value(type)))
				return oai_fail(e, VEIL_E_UNSUPPORTED, 400, where,
						"unsupported_value",
						"Unsupported value: content parts of type '%s' are "
						"not supported; only 'text' parts are (in '%s').",
						json_string_value(type), where);
			return oai_fail(e, VEIL_E_UNSUPPORTED, 400, where, "unsupported_value",
					"Unsupported value: only content parts of type 'text' are "
					"supported (in '%s').",
					where);
		}
		text = json_object_get(part, "text");
		snprintf(where, sizeof where, "%s[%zu].text", param, i);
		if (text == NULL || json_is_null(text))
			return oai_fail(e, VEIL_E_MALFORMED, 400, where,
					"missing_required_parameter",
					"Missing required parameter: '%s'.", where);
		if (!json_is_string(text))
			return oai_bad_type(e, where, "a string", text);
		if (strlen(json_string_value(text)) != json_string_length(text))
			return oai_fail(e, VEIL_E_MALFORMED, 400, where, "invalid_value",
					"Invalid '%s': NUL characters are not allowed.", where);
		/* Cannot overflow: every part lies inside a body of at most body_max. */
		total += json_string_length(text);
	}
	buf = malloc(total + 1);
	if (buf == NULL)
		return oai_fail_nomem(e);
	json_array_foreach(parts, i, part)
	{
		const json_t *text = json_object_get(part, "text");
		memcpy(buf + at, json_string_value(text), json_string_length(text));
		at += json_string_length(text);
	}
	buf[at] = '\0';
	m->content = buf;
	m->content_len = at;
	return VEIL_OK;
}

static veil_err parse_message(const json_t *msg, size_t idx, veil_chat_message *m, oai_error *e)
{
	char param[64];
	json_t *content, *v;
	char *text = NULL;

	snprintf(param, sizeof param, "messages[%zu]", idx);
	if (!json_is_object(msg))
		return oai_bad_type(e, param, "an object", msg);
	snprintf(param, sizeof param, "messages[%zu].role", idx);
	TRY(parse_role(msg, param, &m->role, e));
	snprintf(param, sizeof param, "messages[%zu].name", idx);
	v = oai_member(msg, "name");
	if (v != NULL && !json_is_string(v))
		return oai_bad_type(e, param, "a string", v);
	/* A conversation that already used tools cannot go on without them. */
	snprintf(param, sizeof param, "messages[%zu].tool_calls", idx);
	v = oai_member(msg, "tool_calls");
	if (v != NULL && json_array_size(v) != 0)
		return oai_fail(
		    e, VEIL_E_UNSUPPORTED, 400, param, "unsupported_parameter",
		    "Unsupported parameter: '%s'; tool calling is not supported by this "
		    "server.",
		    param);
	snprintf(param, sizeof param, "messages[%zu].function_call", idx);
	if (oai_member(msg, "function_call") != NULL)
		return oai_fail(e, VEIL_E_UNSUPPORTED, 400, param, "unsupported_parameter",
				"Unsupported parameter: '%s'; function calling is not supported by "
				"this server.",
				param);

	snprintf(param, sizeof param, "messages[%zu].content", idx);
	content = oai_member(msg, "content");
	if (content == NULL) {
		/* OpenAI: content may be null only in an assistant message. */
		if (strcmp(m->role, "assistant") != 0)
			return oai_fail(e, VEIL_E_MALFORMED, 400, param,
					"missing_required_parameter",
					"Missing required parameter: '%s'.", param);
		text = calloc(1, 1);
		if (text == NULL)
			return oai_fail_nomem(e);
		m->content = text;
		m->content_len = 0;
		return VEIL_OK;
	}
	if (json_is_array(content))
		return parse_parts(content, param, m, e);
	if (!json_is_string(content))
		return oai_bad_type(e, param, "a string or an array of content parts", content);
	TRY(copy_text(content, param, &text, &m->content_len, e));
	m->content = text;
	return VEIL_OK;
}

veil_err oai_parse_messages(const json_t *root, const oai_limits *lim, oai_request *r, oai_error *e)
{
	json_t *v = oai_member(root, "messages"), *msg;
	size_t i, n;

	if (v == NULL)
		return oai_fail(e, VEIL_E_MALFORMED, 400, "messages", "missing_required_parameter",
				"Missing required parameter: 'messages'.");
	if (!json_is_array(v))
		return oai_bad_type(e, "messages", "an array", v);
	n = json_array_size(v);
	if (n == 0)
		return oai_fail(e, VEIL_E_MALFORMED, 400, "messages", "empty_array",
				"Invalid 'messages': empty array. Expected an array with minimum "
				"length 1, but got an empty array instead.");
	if (n > lim->messages_max)
		return oai_fail(
		    e, VEIL_E_LIMIT, 400, "messages", "array_above_max_length",
		    "Invalid 'messages': array too long. Expected an array with maximum "
		    "length %zu, but got an array with length %zu instead.",
		    lim->messages_max, n);
	r->messages = calloc(n, sizeof *r->messages);
	if (r->messages == NULL)
		return oai_fail_nomem(e);
	json_array_foreach(v, i, msg)
	{
		TRY(parse_message(msg, i, &r->messages[i], e));
		r->n_messages++;
	}
	return VEIL_OK;
}

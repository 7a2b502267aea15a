/*
 * openai.c - parsing and validating OpenAI request bodies for veil-worker
 * (POST /v1/chat/completions and /v1/completions; docs/openai-api.md).
 *
 * The body comes from the network (or out of an OHTTP capsule from an
 * unknown client), so it goes through the strict JSON parser with the
 * body cap, and every member the worker uses is type- and range-checked
 * before anything is allocated for it. Errors follow the OpenAI API's
 * error object (status, type "invalid_request_error", the offending
 * "param", and the same "code" strings OpenAI uses: invalid_type,
 * integer_above_max_value, unsupported_parameter ...), so clients that
 * switch on them keep working.
 *
 * Parameters Veil does not implement are refused when they would change
 * the result and accepted when they are at their neutral value (tools: [],
 * logprobs: false, frequency_penalty: 0 ...): silently ignoring a
 * non-neutral value would return something other than what was asked for.
 * JSON null counts as absent for every optional member, as in the OpenAI
 * API. Unknown members are ignored, because clients add their own.
 *
 * No message ever quotes request content: parameters are named, numbers
 * quoted only as numbers, and jansson's own parse errors (which can quote
 * the text near the error) are replaced. The messages and the prompt are
 * read in openai_prompt.c. Every string value of the parsed tree is wiped
 * before the tree is freed, since the tree holds the prompt.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "worker/openai_internal.h"

_Static_assert(VEIL_WORKER_STOP_MAX <= VEIL_ENGINE_STOP_MAX,
	       "OpenAI's stop sequences must fit the engine's");
_Static_assert(VEIL_WORKER_MODEL_NAME_MAX < sizeof(((oai_request *)0)->model),
	       "model names must fit oai_request.model");

#define INVALID "invalid_request_error"

/* Fills *e and returns err, with the same text as the thread's detail. */
veil_err oai_fail(oai_error *e, veil_err err, int status, const char *param, const char *code,
		  const char *fmt, ...)
{
	va_list ap;

	memset(e, 0, sizeof *e);
	e->status = status;
	snprintf(e->type, sizeof e->type, "%s", status >= 500 ? "server_error" : INVALID);
	snprintf(e->param, sizeof e->param, "%s", param != NULL ? param : "");
	snprintf(e->code, sizeof e->code, "%s", code != NULL ? code : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	veil_text_sanitize(e->message);
	return veil_fail(err, "%s", e->message);
}

veil_err oai_fail_nomem(oai_error *e)
{
	return oai_fail(e, VEIL_E_NOMEM, 500, NULL, NULL, "The server ran out of memory.");
}

/* How OpenAI names a JSON type in "expected X, but got Y instead". */
static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a decimal number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

veil_err oai_bad_type(oai_error *e, const char *param, const char *want, const json_t *v)
{
	return oai_fail(e, VEIL_E_MALFORMED, 400, param, "invalid_type",
			"Invalid type for '%s': expected %s, but got %s instead.", param, want,
			type_name(v));
}

/* An optional member: NULL when absent or null (OpenAI: nullable). */
json_t *oai_member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static veil_err get_bool(const json_t *root, const char *key, bool *out, oai_error *e)
{
	json_t *v = oai_member(root, key);

	if (v == NULL)
		return VEIL_OK;
	if (!json_is_boolean(v))
		return oai_bad_type(e, key, "a boolean", v);
	*out = json_is_true(v);
	return VEIL_OK;
}

/* An integer member; *given says whether it was there. */
static veil_err get_int(const json_t *root, const char *key, int64_t *out, bool *given,
			oai_error *e)
{
	json_t *v = oai_member(root, key);

	*given = v != NULL;
	if (v == NULL)
		return VEIL_OK;
	if (!json_is_integer(v))
		return oai_bad_type(e, key, "an integer", v);
	*out = (int64_t)json_integer_value(v);
	return VEIL_OK;
}

/* A number member within [min, max] (min excluded when open_min). */
static veil_err get_number(const json_t *root, const char *key, double min, bool open_min,
			   double max, float *out, oai_error *e)
{
	json_t *v = oai_member(root, key);
	double d;

	if (v == NULL)
		return VEIL_OK;
	if (!json_is_number(v))
		return oai_bad_type(e, key, "a number", v);
	d = json_number_value(v);
	if (d < min || (open_min && d == min))
		return oai_fail(
		    e, VEIL_E_MALFORMED, 400, key, "decimal_below_min_value",
		    "Invalid '%s': decimal below minimum value. Expected a value %s %g.", key,
		    open_min ? ">" : ">=", min);
	if (d > max)
		return oai_fail(
		    e, VEIL_E_MALFORMED, 400, key, "decimal_above_max_value",
		    "Invalid '%s': decimal above maximum value. Expected a value <= %g.", key, max);
	*out = (float)d;
	return VEIL_OK;
}

/* ---- parameters Veil does not implement ---- */

static bool is_empty_array(const json_t *v)
{
	return json_array_size(v) == 0;
}

static bool is_empty_object(const json_t *v)
{
	return json_object_size(v) == 0;
}

static bool is_zero(const json_t *v)
{
	return json_number_value(v) == 0.0;
}

static bool is_false(const json_t *v)
{
	return json_is_false(v);
}

static bool is_none(const json_t *v)
{
	return json_is_string(v) && strcmp(json_string_value(v), "none") == 0;
}

static bool is_empty_string(const json_t *v)
{
	return json_string_length(v) == 0;
}

static bool is_text_format(const json_t *v)
{
	const json_t *t = json_object_get(v, "type");
	return json_object_size(v) == 1 && json_is_string(t) &&
	       strcmp(json_string_value(t), "text") == 0;
}

static bool is_text_modality(const json_t *v)
{
	const json_t *m = json_array_get(v, 0);
	return json_array_size(v) == 1 && json_is_string(m) &&
	       strcmp(json_string_value(m), "text") == 0;
}

static bool never(const json_t *v)
{
	(void)v;
	return false;
}

static bool always(const json_t *v)
{
	(void)v;
	return true;
}

enum {
	T_BOOL = 1 << 0,
	T_INT = 1 << 1,
	T_NUMBER = 1 << 2, /* integer or real */
	T_STRING = 1 << 3,
	T_OBJECT = 1 << 4,
	T_ARRAY = 1 << 5,
};

typedef struct oai_param_rule {
	const char *name;
	unsigned types;                  /* the JSON types OpenAI accepts */
	const char *want;                /* those types, for the message */
	bool (*neutral)(const json_t *); /* the value changes nothing */
} oai_param_rule;

/* Checked for both kinds: where a member belongs to only one of them in
 * OpenAI's API, refusing a non-neutral value in the other is still the
 * safe reading. */
static const oai_param_rule param_rules[] = {
    /* Not implemented: accepted only at their neutral value. */
    {"tools", T_ARRAY, "an array", is_empty_array},
    {"functions", T_ARRAY, "an array", is_empty_array},
    {"tool_choice", T_STRING | T_OBJECT, "a string or an object", is_none},
    {"function_call", T_STRING | T_OBJECT, "a string or an object", is_none},
    /* chat: boolean; completions: an integer (0..5), which always returns
     * log probabilities. */
    {"logprobs", T_BOOL | T_INT, "a boolean or an integer", is_false},
    {"top_logprobs", T_INT, "an integer", is_zero},
    {"response_format", T_OBJECT, "an object", is_text_format},
    {"frequency_penalty", T_NUMBER, "a number", is_zero},
    {"presence_penalty", T_NUMBER, "a number", is_zero},
    {"logit_bias", T_OBJECT, "an object", is_empty_object},
    {"suffix", T_STRING, "a string", is_empty_string},
    {"echo", T_BOOL, "a boolean", is_false},
    {"audio", T_OBJECT, "an object", never},
    {"modalities", T_ARRAY, "an array", is_text_modality},
    {"prediction", T_OBJECT, "an object", never},
    /* Accepted and ignored: they do not change the output. */
    {"user", T_STRING, "a string", always},
    {"metadata", T_OBJECT, "an object", always},
    {"store", T_BOOL, "a boolean", always},
    {"parallel_tool_calls", T_BOOL, "a boolean", always},
    {"service_tier", T_STRING, "a string", always},
};

static bool has_type(const json_t *v, unsigned types)
{
	return ((types & T_BOOL) && json_is_boolean(v)) ||
	       ((types & T_INT) && json_is_integer(v)) ||
	       ((types & T_NUMBER) && json_is_number(v)) ||
	       ((types & T_STRING) && json_is_string(v)) ||
	       ((types & T_OBJECT) && json_is_object(v)) || ((types & T_ARRAY) && json_is_array(v));
}

static veil_err check_param_rules(const json_t *root, oai_error *e)
{
	for (size_t i = 0; i < sizeof param_rules / sizeof param_rules[0]; i++) {
		const oai_param_rule *p = &param_rules[i];
		json_t *v = oai_member(root, p->name);

		if (v == NULL)
			continue;
		if (!has_type(v, p->types))
			return oai_bad_type(e, p->name, p->want, v);
		if (!p->neutral(v))
			return oai_fail(
			    e, VEIL_E_UNSUPPORTED, 400, p->name, "unsupported_parameter",
			    "Unsupported parameter: '%s' is not supported by this server "
			    "(docs/openai-api.md); leave it out or at its default.",
			    p->name);
	}
	return VEIL_OK;
}

/* n and best_of: how many completions; Veil makes one. */
static veil_err check_one(const json_t *root, const char *key, oai_error *e)
{
	int64_t v = 1;
	bool given;

	TRY(get_int(root, key, &v, &given, e));
	if (v < 1)
		return oai_fail(e, VEIL_E_MALFORMED, 400, key, "integer_below_min_value",
				"Invalid '%s': integer below minimum value. Expected a value >= 1, "
				"but got %" PRId64 " instead.",
				key, v);
	if (v > 1)
		return oai_fail(e, VEIL_E_UNSUPPORTED, 400, key, "unsupported_parameter",
				"Unsupported parameter: '%s' must be 1; this server makes one "
				"completion per request.",
				key);
	return VEIL_OK;
}

/* ---- the parameters Veil uses ---- */

static veil_err parse_model(const json_t *root, oai_request *r, oai_error *e)
{
	json_t *v = oai_member(root, "model");
	size_t n;

	if (v == NULL)
		return VEIL_OK;
	if (!json_is_string(v))
		return oai_bad_type(e, "model", "a string", v);
	n = json_string_length(v);
	if (n > VEIL_WORKER_MODEL_NAME_MAX)
		return oai_fail(e, VEIL_E_MALFORMED, 400, "model", "string_above_max_length",
				"Invalid 'model': string too long. Expected a string with maximum "
				"length %d, but got a string with length %zu instead.",
				VEIL_WORKER_MODEL_NAME_MAX, n);
	if (strlen(json_string_value(v)) != n)
		return oai_fail(e, VEIL_E_MALFORMED, 400, "model", "invalid_value",
				"Invalid 'model': NUL characters are not allowed.");
	memcpy(r->model, json_string_value(v), n + 1);
	return VEIL_OK;
}

static veil_err parse_max_tokens(const json_t *root, const oai_limits *lim, oai_request *r,
				 oai_error *e)
{
	static const char *const keys[] = {"max_tokens", "max_completion_tokens"};
	int64_t v[2] = {0, 0};
	bool given[2];

	for (size_t i = 0; i < 2; i++) {
		TRY(get_int(root, keys[i], &v[i], &given[i], e));
		if (!given[i])
			continue;
		if (v[i] < 1)
			return oai_fail(
			    e, VEIL_E_MALFORMED, 400, keys[i], "integer_below_min_value",
			    "Invalid '%s': integer below minimum value. Expected a value "
			    ">= 1, but got %" PRId64 " instead.",
			    keys[i], v[i]);
		if ((uint64_t)v[i] > lim->max_tokens_cap)
			return oai_fail(
			    e, VEIL_E_MALFORMED, 400, keys[i], "integer_above_max_value",
			    "Invalid '%s': integer above maximum value. Expected a value "
			    "<= %zu, but got %" PRId64 " instead.",
			    keys[i], lim->max_tokens_cap, v[i]);
	}
	if (given[0] && given[1] && v[0] != v[1])
		return oai_fail(e, VEIL_E_MALFORMED, 400, "max_tokens", "invalid_value",
				"Invalid 'max_tokens': 'max_tokens' and 'max_completion_tokens' "
				"differ; give one of them.");
	r->max_tokens = given[1] ? (size_t)v[1] : given[0] ? (size_t)v[0] : lim->max_tokens_default;
	return VEIL_OK;
}

static veil_err parse_sampling(const json_t *root, oai_request *r, oai_error *e)
{
	int64_t v = 0;
	bool given;

	/* OpenAI's defaults, not the CLI's: temperature 1, top_p 1. */
	r->sample.temperature = 1.0f;
	r->sample.top_p = 1.0f;
	r->sample.top_k = 0;
	r->sample.seed = 0;
	TRY(get_number(root, "temperature", 0.0, false, 2.0, &r->sample.temperature, e));
	TRY(get_number(root, "top_p", 0.0, true, 1.0, &r->sample.top_p, e));
	/* top_k: llama.cpp's server extension; 0 keeps every token. */
	TRY(get_int(root, "top_k", &v, &given, e));
	if (given && v < 0)
		return oai_fail(
		    e, VEIL_E_MALFORMED, 400, "top_k", "integer_below_min_value",
		    "Invalid 'top_k': integer below minimum value. Expected a value >= 0, "
		    "but got %" PRId64 " instead.",
		    v);
	r->sample.top_k = given ? (size_t)v : 0;
	/* Any 64-bit integer, negative ones too (OpenAI accepts them). */
	TRY(get_int(root, "seed", &v, &r->has_seed, e));
	if (r->has_seed)
		r->sample.seed = (uint64_t)v;
	return VEIL_OK;
}

static veil_err add_stop(oai_request *r, const json_t *s, const char *param, oai_error *e)
{
	size_t n;

	if (!json_is_string(s))
		return oai_bad_type(e, param, "a string", s);
	n = json_string_length(s);
	if (n == 0)
		return oai_fail(e, VEIL_E_MALFORMED, 400, param, "invalid_value",
				"Invalid '%s': a stop sequence cannot be empty.", param);
	if (n > VEIL_ENGINE_STOP_LEN_MAX)
		return oai_fail(
		    e, VEIL_E_MALFORMED, 400, param, "string_above_max_length",
		    "Invalid '%s': string too long. Expected a string with maximum length "
		    "%d, but got a string with length %zu instead.",
		    param, VEIL_ENGINE_STOP_LEN_MAX, n);
	if (strlen(json_string_value(s)) != n)
		return oai_fail(e, VEIL_E_MALFORMED, 400, param, "invalid_value",
				"Invalid '%s': NUL characters are not allowed.", param);
	r->stop[r->n_stop] = malloc(n + 1);
	if (r->stop[r->n_stop] == NULL)
		return oai_fail_nomem(e);
	memcpy(r->stop[r->n_stop], json_string_value(s), n + 1);
	r->n_stop++;
	return VEIL_OK;
}

static veil_err parse_stop(const json_t *root, oai_request *r, oai_error *e)
{
	json_t *v = oai_member(root, "stop"), *s;
	char param[32];
	size_t i;

	if (v == NULL)
		return VEIL_OK;
	if (json_is_string(v))
		return add_stop(r, v, "stop", e);
	if (!json_is_array(v))
		return oai_bad_type(e, "stop", "a string or an array of strings", v);
	if (json_array_size(v) > VEIL_WORKER_STOP_MAX)
		return oai_fail(
		    e, VEIL_E_MALFORMED, 400, "stop", "array_above_max_length",
		    "Invalid 'stop': array too long. Expected an array with maximum length "
		    "%d, but got an array with length %zu instead.",
		    VEIL_WORKER_STOP_MAX, json_array_size(v));
	json_array_foreach(v, i, s)
	{
		snprintf(param, sizeof param, "stop[%zu]", i);
		TRY(add_stop(r, s, param, e));
	}
	return VEIL_OK;
}

static veil_err parse_stream(const json_t *root, oai_request *r, oai_error *e)
{
	json_t *opts, *v;

	TRY(get_bool(root, "stream", &r->stream, e));
	opts = oai_member(root, "stream_options");
	if (opts == NULL)
		return VEIL_OK;
	if (!json_is_object(opts))
		return oai_bad_type(e, "stream_options", "an object", opts);
	/* OpenAI refuses stream_options unless the response is streamed. */
	if (!r->stream)
		return oai_fail(e, VEIL_E_MALFORMED, 400, "stream_options", "invalid_value",
				"The 'stream_options' parameter is only allowed when 'stream' is "
				"enabled.");
	v = oai_member(opts, "include_usage");
	if (v != NULL && !json_is_boolean(v))
		return oai_bad_type(e, "stream_options.include_usage", "a boolean", v);
	r->include_usage = json_is_true(v);
	return VEIL_OK;
}

/* ---- the request ---- */

/* Zeroes the bytes of every string value in v, whose tree holds the
 * prompt, before it goes back to the allocator. */
static void wipe_strings(json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_string(v))
		veil_wipe((char *)json_string_value(v), json_string_length(v));
	else if (json_is_object(v))
		json_object_foreach(v, key, child) wipe_strings(child);
	else if (json_is_array(v))
		json_array_foreach(v, i, child) wipe_strings(child);
}

static veil_err parse_root(oai_kind kind, const json_t *root, const oai_limits *lim,
			   oai_request *out, oai_error *e)
{
	out->kind = kind;
	TRY(parse_model(root, out, e));
	TRY(check_param_rules(root, e));
	TRY(check_one(root, "n", e));
	TRY(check_one(root, "best_of", e));
	TRY(parse_max_tokens(root, lim, out, e));
	TRY(parse_sampling(root, out, e));
	TRY(parse_stream(root, out, e));
	TRY(parse_stop(root, out, e));
	if (kind == OAI_CHAT)
		return oai_parse_messages(root, lim, out, e);
	return oai_parse_prompt(root, out, e);
}

veil_err oai_request_parse(oai_kind kind, const uint8_t *body, size_t len, const oai_limits *lim,
			   oai_request *out, oai_error *e)
{
	static const oai_limits defaults = {
	    .body_max = VEIL_WORKER_BODY_MAX,
	    .messages_max = VEIL_WORKER_MESSAGES_MAX,
	    .max_tokens_cap = VEIL_WORKER_MAX_TOKENS_CAP,
	    .max_tokens_default = VEIL_WORKER_MAX_TOKENS_DEFAULT,
	};
	json_t *root = NULL;
	veil_err err;

	if (out != NULL)
		memset(out, 0, sizeof *out);
	if (e != NULL)
		memset(e, 0, sizeof *e);
	ENSURE(out != NULL && e != NULL && (body != NULL || len == 0) &&
		   (kind == OAI_CHAT || kind == OAI_COMPLETION),
	       VEIL_E_USAGE, "oai_request_parse: bad arguments");
	if (lim == NULL)
		lim = &defaults;
	if (len > lim->body_max)
		return oai_fail(e, VEIL_E_LIMIT, 413, NULL, "request_too_large",
				"The request body is %zu bytes; this server accepts at most %zu.",
				len, lim->body_max);
	/* jansson's own message can quote the text near the error, which is
	 * prompt text: it is replaced, never passed on. */
	err = veil_json_parse_max(body, len, lim->body_max, &root);
	if (err == VEIL_E_LIMIT)
		return oai_fail(e, VEIL_E_MALFORMED, 400, NULL, NULL,
				"The JSON body of the request nests deeper than %d levels.",
				VEIL_JSON_MAX_DEPTH);
	if (err != VEIL_OK)
		return oai_fail(e, VEIL_E_MALFORMED, 400, NULL, NULL,
				"We could not parse the JSON body of your request: it is not valid "
				"JSON (strict: UTF-8, no duplicate keys, no NUL characters).");
	if (!json_is_object(root))
		err = oai_fail(e, VEIL_E_MALFORMED, 400, NULL, NULL,
			       "The request body must be a JSON object, not %s.", type_name(root));
	else
		err = parse_root(kind, root, lim, out, e);
	if (err != VEIL_OK)
		oai_request_clear(out);
	wipe_strings(root);
	json_decref(root);
	return err;
}

void oai_request_clear(oai_request *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_messages; i++)
		veil_free_secret((char *)r->messages[i].content, r->messages[i].content_len + 1);
	/* A message that failed to parse never holds content (parse_message
	 * allocates last), so n_messages covers every allocation. */
	free(r->messages);
	veil_free_secret(r->prompt, r->prompt_len + 1);
	for (size_t i = 0; i < r->n_stop && i < VEIL_ENGINE_STOP_MAX; i++)
		veil_free_secret(r->stop[i], strlen(r->stop[i]) + 1);
	memset(r, 0, sizeof *r);
}

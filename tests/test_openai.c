/*
 * test_openai.c - veil-worker's OpenAI wire format (src/worker/openai*.c,
 * docs/openai-api.md): every validation rule of a request body with the
 * status, param and code it answers with, the defaults, and the exact
 * bytes of every response, chunk and error body the worker sends.
 *
 * Every refused body carries the word SECRET in its prompt, and each
 * refusal checks that neither the error message nor the thread's error
 * detail repeats it: error messages must never quote request content.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "worker/openai.h"

static veil_err parse_lim(oai_kind k, const char *body, const oai_limits *lim, oai_request *r,
			  oai_error *e)
{
	return oai_request_parse(k, (const uint8_t *)body, strlen(body), lim, r, e);
}

static veil_err parse(oai_kind k, const char *body, oai_request *r, oai_error *e)
{
	return parse_lim(k, body, NULL, r, e);
}

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* Parses body, expects the refusal (want, status, param, code), a message,
 * a cleared request and no SECRET in what the error says. */
static void refusal(const char *file, int line, oai_kind k, const char *body, const oai_limits *lim,
		    veil_err want, int status, const char *param, const char *code)
{
	oai_request r;
	oai_error e;
	veil_err err = parse_lim(k, body, lim, &r, &e);
	char what[512];

	snprintf(what, sizeof what, "refusal of %.300s", body);
	if (err != want) {
		harness_expect_err(file, line, what, (int)err, (int)want);
		oai_request_clear(&r);
		return;
	}
	if (e.status != status)
		harness_fail(file, line, "status");
	if (strcmp(e.param, param) != 0) {
		fprintf(stderr, "  param: got '%s', want '%s'\n", e.param, param);
		harness_fail(file, line, "param");
	}
	if (strcmp(e.code, code) != 0) {
		fprintf(stderr, "  code: got '%s', want '%s'\n", e.code, code);
		harness_fail(file, line, "code");
	}
	if (strcmp(e.type, status >= 500 ? "server_error" : "invalid_request_error") != 0)
		harness_fail(file, line, "type");
	if (e.message[0] == '\0')
		harness_fail(file, line, "no message");
	if (strstr(e.message, "SECRET") != NULL || strstr(veil_err_detail(), "SECRET") != NULL)
		harness_fail(file, line, "the error quotes request content");
	if (!is_zero(&r, sizeof r))
		harness_fail(file, line, "a refused request was not cleared");
	oai_request_clear(&r);
}

#define REFUSE(k, body, want, status, param, code)                                                 \
	refusal(__FILE__, __LINE__, k, body, NULL, want, status, param, code)
/* A chat body's "messages" member that is fine, for tests of other members. */
#define MSGS "\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"}]"
#define CHAT_BAD(extra, want, param, code)                                                         \
	REFUSE(OAI_CHAT, "{" MSGS "," extra "}", want, 400, param, code)
#define BAD_TYPE(extra, param) CHAT_BAD(extra, VEIL_E_MALFORMED, param, "invalid_type")
#define UNSUPPORTED(extra, param)                                                                  \
	CHAT_BAD(extra, VEIL_E_UNSUPPORTED, param, "unsupported_parameter")

static bool accepted(oai_kind k, const char *body)
{
	oai_request r;
	oai_error e;
	veil_err err = parse(k, body, &r, &e);

	if (err != VEIL_OK)
		fprintf(stderr, "  refused: %s (%s)\n", e.message, e.param);
	oai_request_clear(&r);
	return err == VEIL_OK;
}
#define CHAT_OK(extra) EXPECT(accepted(OAI_CHAT, "{" MSGS "," extra "}"))

static bool content_is(const veil_chat_message *m, const char *role, const char *content)
{
	return strcmp(m->role, role) == 0 && m->content_len == strlen(content) &&
	       memcmp(m->content, content, m->content_len) == 0 &&
	       m->content[m->content_len] == '\0';
}

TEST(chat_full_request)
{
	const char *body =
	    "{\"model\":\"llama-3-8b\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	    "{\"role\":\"developer\",\"content\":\"Use English.\"},"
	    "{\"role\":\"user\",\"name\":\"ann\",\"content\":[{\"type\":\"text\",\"text\":\"Hi \"},"
	    "{\"type\":\"text\",\"text\":\"there \\u00e9\\n\"}]},"
	    "{\"role\":\"assistant\",\"content\":null,\"refusal\":null},"
	    "{\"role\":\"assistant\",\"content\":\"Hello\",\"tool_calls\":[]},"
	    "{\"role\":\"user\",\"content\":\"\"}],"
	    "\"max_completion_tokens\":100,\"max_tokens\":100,\"temperature\":0.5,\"top_p\":0.9,"
	    "\"top_k\":40,\"seed\":-1,\"stop\":[\"a\",\"bb\"],\"stream\":true,"
	    "\"stream_options\":{\"include_usage\":true,\"other\":1},\"n\":1,\"best_of\":1,"
	    "\"user\":\"u-1\",\"metadata\":{\"k\":\"v\"},\"store\":false,\"frequency_penalty\":0,"
	    "\"presence_penalty\":0.0,\"logit_bias\":{},\"response_format\":{\"type\":\"text\"},"
	    "\"parallel_tool_calls\":true,\"service_tier\":\"auto\",\"logprobs\":false,"
	    "\"top_logprobs\":0,\"tools\":[],\"tool_choice\":\"none\",\"functions\":[],"
	    "\"function_call\":\"none\",\"echo\":false,\"suffix\":\"\",\"modalities\":[\"text\"],"
	    "\"audio\":null,\"prediction\":null,\"x_vendor_extension\":{\"a\":[1,2]}}";
	oai_request r;
	oai_error e;

	EXPECT_OK(parse(OAI_CHAT, body, &r, &e));
	EXPECT(r.kind == OAI_CHAT);
	EXPECT(strcmp(r.model, "llama-3-8b") == 0);
	REQUIRE(r.n_messages == 6);
	EXPECT(content_is(&r.messages[0], "system", "Be brief."));
	EXPECT(content_is(&r.messages[1], "system", "Use English."));
	EXPECT(content_is(&r.messages[2], "user", "Hi there \xc3\xa9\n"));
	EXPECT(content_is(&r.messages[3], "assistant", ""));
	EXPECT(content_is(&r.messages[4], "assistant", "Hello"));
	EXPECT(content_is(&r.messages[5], "user", ""));
	EXPECT(r.prompt == NULL && r.prompt_len == 0);
	EXPECT(r.max_tokens == 100);
	EXPECT(r.sample.temperature == 0.5f);
	EXPECT(r.sample.top_p == 0.9f);
	EXPECT(r.sample.top_k == 40);
	EXPECT(r.has_seed && r.sample.seed == UINT64_MAX);
	REQUIRE(r.n_stop == 2);
	EXPECT(strcmp(r.stop[0], "a") == 0 && strcmp(r.stop[1], "bb") == 0);
	EXPECT(r.stream && r.include_usage && !r.echo);
	oai_request_clear(&r);
	EXPECT(is_zero(&r, sizeof r));
}

TEST(completion_full_request)
{
	const char *body = "{\"model\":\"m\",\"prompt\":\"Once upon\",\"max_tokens\":16,"
			   "\"temperature\":0,\"top_p\":1,\"top_k\":0,\"seed\":42,"
			   "\"stop\":\"END\",\"stream\":false,\"echo\":false,\"best_of\":1,"
			   "\"n\":1,\"logprobs\":null,\"suffix\":null,\"user\":\"x\"}";
	oai_request r;
	oai_error e;

	EXPECT_OK(parse(OAI_COMPLETION, body, &r, &e));
	EXPECT(r.kind == OAI_COMPLETION);
	EXPECT(strcmp(r.model, "m") == 0);
	EXPECT(r.messages == NULL && r.n_messages == 0);
	REQUIRE(r.prompt != NULL);
	EXPECT(r.prompt_len == 9 && strcmp(r.prompt, "Once upon") == 0);
	EXPECT(r.max_tokens == 16);
	EXPECT(r.sample.temperature == 0.0f && r.sample.top_p == 1.0f && r.sample.top_k == 0);
	EXPECT(r.has_seed && r.sample.seed == 42);
	REQUIRE(r.n_stop == 1);
	EXPECT(strcmp(r.stop[0], "END") == 0);
	EXPECT(!r.stream && !r.include_usage && !r.echo);
	oai_request_clear(&r);

	/* An array of exactly one string is the same prompt. */
	EXPECT_OK(parse(OAI_COMPLETION, "{\"prompt\":[\"Once upon\"]}", &r, &e));
	EXPECT(r.prompt != NULL && strcmp(r.prompt, "Once upon") == 0 && r.prompt_len == 9);
	oai_request_clear(&r);
	/* An empty prompt is a prompt (generation from the start). */
	EXPECT_OK(parse(OAI_COMPLETION, "{\"prompt\":\"\"}", &r, &e));
	EXPECT(r.prompt != NULL && r.prompt_len == 0);
	oai_request_clear(&r);
}

TEST(defaults)
{
	oai_request r;
	oai_error e;

	EXPECT_OK(
	    parse(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &r, &e));
	EXPECT(r.model[0] == '\0');
	EXPECT(r.max_tokens == VEIL_WORKER_MAX_TOKENS_DEFAULT);
	EXPECT(r.sample.temperature == 1.0f && r.sample.top_p == 1.0f);
	EXPECT(r.sample.top_k == 0 && r.sample.seed == 0 && !r.has_seed);
	EXPECT(r.n_stop == 0 && !r.stream && !r.include_usage && !r.echo);
	oai_request_clear(&r);

	/* JSON null is the same as absent for every optional member. */
	EXPECT_OK(parse(OAI_CHAT,
			"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"name\":null}],"
			"\"model\":null,\"max_tokens\":null,\"max_completion_tokens\":null,"
			"\"temperature\":null,\"top_p\":null,\"top_k\":null,\"seed\":null,"
			"\"stop\":null,\"stream\":null,\"stream_options\":null,\"n\":null,"
			"\"tools\":null,\"tool_choice\":null,\"logit_bias\":null,"
			"\"response_format\":null,\"frequency_penalty\":null,\"user\":null}",
			&r, &e));
	EXPECT(r.max_tokens == VEIL_WORKER_MAX_TOKENS_DEFAULT && !r.has_seed);
	EXPECT(r.sample.temperature == 1.0f && r.n_stop == 0 && !r.stream);
	oai_request_clear(&r);

	/* An empty stop array: no stop sequences. */
	EXPECT_OK(parse(OAI_CHAT, "{" MSGS ",\"stop\":[]}", &r, &e));
	EXPECT(r.n_stop == 0);
	oai_request_clear(&r);

	/* Clearing a zeroed request, twice, is fine. */
	memset(&r, 0, sizeof r);
	oai_request_clear(&r);
	oai_request_clear(&r);
	oai_request_clear(NULL);
}

TEST(limits_from_the_caller)
{
	const oai_limits lim = {
	    .body_max = 200, .messages_max = 2, .max_tokens_cap = 10, .max_tokens_default = 7};
	const char *two = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
			  "{\"role\":\"user\",\"content\":\"b\"}]}";
	const char *three = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
			    "{\"role\":\"user\",\"content\":\"b\"},"
			    "{\"role\":\"user\",\"content\":\"SECRET\"}]}";
	char big[256];
	oai_request r;
	oai_error e;

	EXPECT_OK(parse_lim(OAI_CHAT, two, &lim, &r, &e));
	EXPECT(r.max_tokens == 7 && r.n_messages == 2);
	oai_request_clear(&r);
	refusal(__FILE__, __LINE__, OAI_CHAT, three, &lim, VEIL_E_LIMIT, 400, "messages",
		"array_above_max_length");
	EXPECT_OK(parse_lim(OAI_COMPLETION, "{\"prompt\":\"x\",\"max_tokens\":10}", &lim, &r, &e));
	EXPECT(r.max_tokens == 10);
	oai_request_clear(&r);
	refusal(__FILE__, __LINE__, OAI_COMPLETION, "{\"prompt\":\"SECRET\",\"max_tokens\":11}",
		&lim, VEIL_E_MALFORMED, 400, "max_tokens", "integer_above_max_value");

	/* body_max: exactly at the cap parses, one byte more is a 413. */
	memset(big, ' ', sizeof big);
	memcpy(big, "{\"prompt\":\"SECRET\"}", 19);
	big[200] = '\0';
	EXPECT_OK(parse_lim(OAI_COMPLETION, big, &lim, &r, &e));
	oai_request_clear(&r);
	big[200] = ' ';
	big[201] = '\0';
	refusal(__FILE__, __LINE__, OAI_COMPLETION, big, &lim, VEIL_E_LIMIT, 413, "",
		"request_too_large");
}

TEST(body_must_be_one_json_object)
{
	char deep[200];
	size_t n = 0;

	REFUSE(OAI_CHAT, "", VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "SECRETSECRET", VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET", VEIL_E_MALFORMED,
	       400, "", "");
	REFUSE(OAI_CHAT, "{" MSGS "}xSECRET", VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "{" MSGS "}{}", VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "{" MSGS "," MSGS "}", VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "[" MSGS "]", VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "[{" MSGS "}]", VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "\"SECRET\"", VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "null", VEIL_E_MALFORMED, 400, "", "");
	/* NUL characters, escaped or raw, and bytes that are not UTF-8. */
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\\u0000\"}]}",
	       VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\xff\"}]}",
	       VEIL_E_MALFORMED, 400, "", "");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\xed\xa0\x80\"}]}",
	       VEIL_E_MALFORMED, 400, "", "");
	/* Deeper than VEIL_JSON_MAX_DEPTH. */
	n += (size_t)snprintf(deep, sizeof deep, "{" MSGS ",\"metadata\":");
	for (int i = 0; i < VEIL_JSON_MAX_DEPTH + 2; i++)
		deep[n++] = '[';
	for (int i = 0; i < VEIL_JSON_MAX_DEPTH + 2; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	REFUSE(OAI_CHAT, deep, VEIL_E_MALFORMED, 400, "", "");

	/* The raw bytes, with a NUL inside the buffer. */
	{
		static const char raw[] = "{\"prompt\":\"SECRET\0\"}";
		oai_request r;
		oai_error e;
		EXPECT_ERR(oai_request_parse(OAI_COMPLETION, (const uint8_t *)raw, sizeof raw - 1,
					     NULL, &r, &e),
			   VEIL_E_MALFORMED);
		EXPECT(e.status == 400 && is_zero(&r, sizeof r));
		/* Bad arguments are the caller's bug, not the client's. */
		EXPECT_ERR(oai_request_parse(OAI_CHAT, NULL, 5, NULL, &r, &e), VEIL_E_USAGE);
		EXPECT_ERR(oai_request_parse((oai_kind)7, (const uint8_t *)"{}", 2, NULL, &r, &e),
			   VEIL_E_USAGE);
	}
}

TEST(body_over_the_default_cap)
{
	size_t n = VEIL_WORKER_BODY_MAX + 1;
	uint8_t *big = malloc(n);
	oai_request r;
	oai_error e;

	REQUIRE(big != NULL);
	memset(big, ' ', n);
	memcpy(big, "{\"prompt\":\"SECRET\"}", 19);
	EXPECT_ERR(oai_request_parse(OAI_COMPLETION, big, n, NULL, &r, &e), VEIL_E_LIMIT);
	EXPECT(e.status == 413 && strcmp(e.code, "request_too_large") == 0);
	EXPECT(strcmp(e.type, "invalid_request_error") == 0 && e.param[0] == '\0');
	EXPECT_OK(oai_request_parse(OAI_COMPLETION, big, n - 1, NULL, &r, &e));
	oai_request_clear(&r);
	free(big);
}

TEST(messages_rules)
{
	REFUSE(OAI_CHAT, "{\"model\":\"SECRET\"}", VEIL_E_MALFORMED, 400, "messages",
	       "missing_required_parameter");
	REFUSE(OAI_CHAT, "{\"messages\":null}", VEIL_E_MALFORMED, 400, "messages",
	       "missing_required_parameter");
	REFUSE(OAI_CHAT, "{\"messages\":\"SECRET\"}", VEIL_E_MALFORMED, 400, "messages",
	       "invalid_type");
	REFUSE(OAI_CHAT, "{\"messages\":{\"role\":\"user\"}}", VEIL_E_MALFORMED, 400, "messages",
	       "invalid_type");
	REFUSE(OAI_CHAT, "{\"messages\":[]}", VEIL_E_MALFORMED, 400, "messages", "empty_array");
	REFUSE(OAI_CHAT, "{\"messages\":[\"SECRET\"]}", VEIL_E_MALFORMED, 400, "messages[0]",
	       "invalid_type");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"content\":\"SECRET\"}]}", VEIL_E_MALFORMED, 400,
	       "messages[0].role", "missing_required_parameter");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":1,\"content\":\"SECRET\"}]}", VEIL_E_MALFORMED,
	       400, "messages[0].role", "invalid_type");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"narrator\",\"content\":\"SECRET\"}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].role", "invalid_value");
	/* A role that is not a short word is not quoted back. */
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"SECRET\",\"content\":\"x\"}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].role", "invalid_value");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"secret secret\",\"content\":\"x\"}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].role", "invalid_value");
	REFUSE(OAI_CHAT,
	       "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"},"
	       "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"SECRET\"}]}",
	       VEIL_E_UNSUPPORTED, 400, "messages[1].role", "unsupported_value");
	REFUSE(OAI_CHAT,
	       "{\"messages\":[{\"role\":\"function\",\"name\":\"f\",\"content\":\"1\"}]}",
	       VEIL_E_UNSUPPORTED, 400, "messages[0].role", "unsupported_value");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\"}]}", VEIL_E_MALFORMED, 400,
	       "messages[0].content", "missing_required_parameter");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"system\",\"content\":null}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].content", "missing_required_parameter");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", VEIL_E_MALFORMED,
	       400, "messages[0].content", "invalid_type");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":{\"text\":\"SECRET\"}}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].content", "invalid_type");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\",\"name\":5}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].name", "invalid_type");
	REFUSE(OAI_CHAT,
	       "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
	       "\"c\",\"type\":\"function\",\"function\":{\"name\":\"SECRET\"}}]}]}",
	       VEIL_E_UNSUPPORTED, 400, "messages[0].tool_calls", "unsupported_parameter");
	REFUSE(OAI_CHAT,
	       "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"function_call\":"
	       "{\"name\":\"SECRET\",\"arguments\":\"{}\"}}]}",
	       VEIL_E_UNSUPPORTED, 400, "messages[0].function_call", "unsupported_parameter");
	/* One bad message among good ones: the good ones are freed too. */
	REFUSE(OAI_CHAT,
	       "{\"messages\":[{\"role\":\"user\",\"content\":\"SECRET\"},{\"role\":\"user\","
	       "\"content\":\"SECRET\"},{\"role\":\"user\",\"content\":[]}]}",
	       VEIL_E_MALFORMED, 400, "messages[2].content", "empty_array");

	/* Over the default cap of messages. */
	{
		size_t n = VEIL_WORKER_MESSAGES_MAX + 1, len = 0;
		const char *m = "{\"role\":\"user\",\"content\":\"SECRET\"},";
		char *body = malloc(32 + n * strlen(m));
		REQUIRE(body != NULL);
		len += (size_t)snprintf(body, 32, "{\"messages\":[");
		for (size_t i = 0; i < n; i++) {
			memcpy(body + len, m, strlen(m));
			len += strlen(m);
		}
		body[len - 1] = ']';
		body[len++] = '}';
		body[len] = '\0';
		REFUSE(OAI_CHAT, body, VEIL_E_LIMIT, 400, "messages", "array_above_max_length");
		/* One fewer is fine. */
		memcpy(body + len - 2 - strlen(m), "]}", 3);
		EXPECT(accepted(OAI_CHAT, body));
		free(body);
	}
}

TEST(content_parts)
{
	oai_request r;
	oai_error e;

	EXPECT_OK(parse(OAI_CHAT,
			"{\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
			"\"text\":\"A\"}]},{\"role\":\"user\",\"content\":[{\"type\":\"text\","
			"\"text\":\"one\"},{\"type\":\"text\",\"text\":\"\"},{\"type\":\"text\","
			"\"text\":\"two\",\"extra\":1}]}]}",
			&r, &e));
	REQUIRE(r.n_messages == 2);
	EXPECT(content_is(&r.messages[0], "system", "A"));
	EXPECT(content_is(&r.messages[1], "user", "onetwo"));
	oai_request_clear(&r);

	REFUSE(OAI_CHAT,
	       "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	       "\"SECRET\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"SECRET\"}}]}]}",
	       VEIL_E_UNSUPPORTED, 400, "messages[0].content[1]", "unsupported_value");
	/* The part type is named when it is a word. */
	EXPECT(
	    parse(OAI_CHAT,
		  "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]}]}",
		  &r, &e) == VEIL_E_UNSUPPORTED);
	EXPECT(strstr(e.message, "'input_audio'") != NULL);
	REFUSE(OAI_CHAT,
	       "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"SECRET\",\"text\":"
	       "\"x\"}]}]}",
	       VEIL_E_UNSUPPORTED, 400, "messages[0].content[0]", "unsupported_value");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[\"SECRET\"]}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].content[0]", "invalid_type");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"SECRET\"}]}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].content[0]", "missing_required_parameter");
	REFUSE(
	    OAI_CHAT,
	    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":3,\"text\":\"SECRET\"}]}]}",
	    VEIL_E_MALFORMED, 400, "messages[0].content[0]", "missing_required_parameter");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].content[0].text", "missing_required_parameter");
	REFUSE(OAI_CHAT,
	       "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":7}]}]}",
	       VEIL_E_MALFORMED, 400, "messages[0].content[0].text", "invalid_type");
	REFUSE(OAI_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[]}]}", VEIL_E_MALFORMED,
	       400, "messages[0].content", "empty_array");
}

TEST(prompt_rules)
{
	REFUSE(OAI_COMPLETION, "{\"model\":\"SECRET\"}", VEIL_E_MALFORMED, 400, "prompt",
	       "missing_required_parameter");
	REFUSE(OAI_COMPLETION, "{\"prompt\":null}", VEIL_E_MALFORMED, 400, "prompt",
	       "missing_required_parameter");
	REFUSE(OAI_COMPLETION, "{\"prompt\":5}", VEIL_E_MALFORMED, 400, "prompt", "invalid_type");
	REFUSE(OAI_COMPLETION, "{\"prompt\":{\"text\":\"SECRET\"}}", VEIL_E_MALFORMED, 400,
	       "prompt", "invalid_type");
	REFUSE(OAI_COMPLETION, "{\"prompt\":[]}", VEIL_E_MALFORMED, 400, "prompt", "empty_array");
	REFUSE(OAI_COMPLETION, "{\"prompt\":[1,2,3]}", VEIL_E_UNSUPPORTED, 400, "prompt",
	       "unsupported_value");
	REFUSE(OAI_COMPLETION, "{\"prompt\":[[1,2],[3]]}", VEIL_E_UNSUPPORTED, 400, "prompt",
	       "unsupported_value");
	REFUSE(OAI_COMPLETION, "{\"prompt\":[\"SECRET\",\"SECRET\"]}", VEIL_E_UNSUPPORTED, 400,
	       "prompt", "unsupported_value");
	REFUSE(OAI_COMPLETION, "{\"prompt\":[null]}", VEIL_E_MALFORMED, 400, "prompt[0]",
	       "invalid_type");
	/* A chat body is not a completion body, and the other way round. */
	REFUSE(OAI_COMPLETION, "{" MSGS "}", VEIL_E_MALFORMED, 400, "prompt",
	       "missing_required_parameter");
	REFUSE(OAI_CHAT, "{\"prompt\":\"SECRET\"}", VEIL_E_MALFORMED, 400, "messages",
	       "missing_required_parameter");
}

TEST(max_tokens_rules)
{
	char body[128];
	oai_request r;
	oai_error e;

	BAD_TYPE("\"max_tokens\":\"10\"", "max_tokens");
	BAD_TYPE("\"max_tokens\":10.0", "max_tokens");
	BAD_TYPE("\"max_completion_tokens\":true", "max_completion_tokens");
	CHAT_BAD("\"max_tokens\":0", VEIL_E_MALFORMED, "max_tokens", "integer_below_min_value");
	CHAT_BAD("\"max_tokens\":-5", VEIL_E_MALFORMED, "max_tokens", "integer_below_min_value");
	CHAT_BAD("\"max_tokens\":4097", VEIL_E_MALFORMED, "max_tokens", "integer_above_max_value");
	CHAT_BAD("\"max_completion_tokens\":9223372036854775807", VEIL_E_MALFORMED,
		 "max_completion_tokens", "integer_above_max_value");
	CHAT_BAD("\"max_tokens\":10,\"max_completion_tokens\":11", VEIL_E_MALFORMED, "max_tokens",
		 "invalid_value");

	snprintf(body, sizeof body, "{" MSGS ",\"max_tokens\":%d}", VEIL_WORKER_MAX_TOKENS_CAP);
	EXPECT_OK(parse(OAI_CHAT, body, &r, &e));
	EXPECT(r.max_tokens == VEIL_WORKER_MAX_TOKENS_CAP);
	oai_request_clear(&r);
	EXPECT_OK(parse(OAI_CHAT, "{" MSGS ",\"max_completion_tokens\":1}", &r, &e));
	EXPECT(r.max_tokens == 1);
	oai_request_clear(&r);
	EXPECT_OK(
	    parse(OAI_CHAT, "{" MSGS ",\"max_tokens\":9,\"max_completion_tokens\":9}", &r, &e));
	EXPECT(r.max_tokens == 9);
	oai_request_clear(&r);
}

TEST(sampling_rules)
{
	oai_request r;
	oai_error e;

	BAD_TYPE("\"temperature\":\"1\"", "temperature");
	BAD_TYPE("\"temperature\":true", "temperature");
	CHAT_BAD("\"temperature\":-0.1", VEIL_E_MALFORMED, "temperature",
		 "decimal_below_min_value");
	CHAT_BAD("\"temperature\":2.01", VEIL_E_MALFORMED, "temperature",
		 "decimal_above_max_value");
	CHAT_BAD("\"temperature\":3", VEIL_E_MALFORMED, "temperature", "decimal_above_max_value");
	BAD_TYPE("\"top_p\":[1]", "top_p");
	CHAT_BAD("\"top_p\":0", VEIL_E_MALFORMED, "top_p", "decimal_below_min_value");
	CHAT_BAD("\"top_p\":-1", VEIL_E_MALFORMED, "top_p", "decimal_below_min_value");
	CHAT_BAD("\"top_p\":1.0001", VEIL_E_MALFORMED, "top_p", "decimal_above_max_value");
	BAD_TYPE("\"top_k\":1.5", "top_k");
	CHAT_BAD("\"top_k\":-1", VEIL_E_MALFORMED, "top_k", "integer_below_min_value");
	BAD_TYPE("\"seed\":1.5", "seed");
	BAD_TYPE("\"seed\":\"7\"", "seed");

	EXPECT_OK(parse(OAI_CHAT, "{" MSGS ",\"temperature\":2,\"top_p\":1e-9,\"top_k\":100000}",
			&r, &e));
	EXPECT(r.sample.temperature == 2.0f && r.sample.top_p > 0.0f && r.sample.top_k == 100000);
	oai_request_clear(&r);
	EXPECT_OK(
	    parse(OAI_CHAT, "{" MSGS ",\"temperature\":0,\"seed\":9223372036854775807}", &r, &e));
	EXPECT(r.sample.temperature == 0.0f && r.has_seed && r.sample.seed == INT64_MAX);
	oai_request_clear(&r);
	EXPECT_OK(parse(OAI_CHAT, "{" MSGS ",\"seed\":-9223372036854775808}", &r, &e));
	EXPECT(r.has_seed && r.sample.seed == (uint64_t)INT64_MIN);
	oai_request_clear(&r);
	EXPECT_OK(parse(OAI_CHAT, "{" MSGS ",\"seed\":0}", &r, &e));
	EXPECT(r.has_seed && r.sample.seed == 0);
	oai_request_clear(&r);
}

TEST(stop_rules)
{
	char body[600];
	size_t n;
	oai_request r;
	oai_error e;

	BAD_TYPE("\"stop\":5", "stop");
	BAD_TYPE("\"stop\":{\"a\":1}", "stop");
	BAD_TYPE("\"stop\":[\"a\",5]", "stop[1]");
	BAD_TYPE("\"stop\":[null]", "stop[0]");
	CHAT_BAD("\"stop\":\"\"", VEIL_E_MALFORMED, "stop", "invalid_value");
	CHAT_BAD("\"stop\":[\"a\",\"\"]", VEIL_E_MALFORMED, "stop[1]", "invalid_value");
	CHAT_BAD("\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]", VEIL_E_MALFORMED, "stop",
		 "array_above_max_length");

	/* VEIL_ENGINE_STOP_LEN_MAX bytes is fine; one more is not. */
	n = (size_t)snprintf(body, sizeof body, "{" MSGS ",\"stop\":[\"");
	memset(body + n, 'x', VEIL_ENGINE_STOP_LEN_MAX);
	memcpy(body + n + VEIL_ENGINE_STOP_LEN_MAX, "\"]}", 4);
	EXPECT_OK(parse(OAI_CHAT, body, &r, &e));
	EXPECT(r.n_stop == 1 && strlen(r.stop[0]) == VEIL_ENGINE_STOP_LEN_MAX);
	oai_request_clear(&r);
	memset(body + n, 'x', VEIL_ENGINE_STOP_LEN_MAX + 1);
	memcpy(body + n + VEIL_ENGINE_STOP_LEN_MAX + 1, "\"]}", 4);
	REFUSE(OAI_CHAT, body, VEIL_E_MALFORMED, 400, "stop[0]", "string_above_max_length");

	EXPECT_OK(parse(OAI_CHAT, "{" MSGS ",\"stop\":[\"1\",\"22\",\"333\",\"\\n\\n\"]}", &r, &e));
	REQUIRE(r.n_stop == 4);
	EXPECT(strcmp(r.stop[0], "1") == 0 && strcmp(r.stop[3], "\n\n") == 0);
	oai_request_clear(&r);
}

TEST(stream_rules)
{
	oai_request r;
	oai_error e;

	BAD_TYPE("\"stream\":\"true\"", "stream");
	BAD_TYPE("\"stream\":1", "stream");
	CHAT_BAD("\"stream_options\":{\"include_usage\":true}", VEIL_E_MALFORMED, "stream_options",
		 "invalid_value");
	CHAT_BAD("\"stream\":false,\"stream_options\":{}", VEIL_E_MALFORMED, "stream_options",
		 "invalid_value");
	BAD_TYPE("\"stream\":true,\"stream_options\":true", "stream_options");
	BAD_TYPE("\"stream\":true,\"stream_options\":{\"include_usage\":\"yes\"}",
		 "stream_options.include_usage");

	EXPECT_OK(parse(OAI_CHAT, "{" MSGS ",\"stream\":true}", &r, &e));
	EXPECT(r.stream && !r.include_usage);
	oai_request_clear(&r);
	EXPECT_OK(parse(OAI_CHAT, "{" MSGS ",\"stream\":true,\"stream_options\":{}}", &r, &e));
	EXPECT(r.stream && !r.include_usage);
	oai_request_clear(&r);
	EXPECT_OK(parse(OAI_CHAT,
			"{" MSGS ",\"stream\":true,\"stream_options\":{\"include_usage\":false}}",
			&r, &e));
	EXPECT(r.stream && !r.include_usage);
	oai_request_clear(&r);
	EXPECT_OK(parse(OAI_COMPLETION,
			"{\"prompt\":\"p\",\"stream\":true,\"stream_options\":{\"include_usage\":"
			"true}}",
			&r, &e));
	EXPECT(r.stream && r.include_usage);
	oai_request_clear(&r);
}

TEST(unsupported_parameters)
{
	UNSUPPORTED("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "tools");
	UNSUPPORTED("\"tool_choice\":\"auto\"", "tool_choice");
	UNSUPPORTED("\"tool_choice\":{\"type\":\"function\"}", "tool_choice");
	UNSUPPORTED("\"functions\":[{\"name\":\"f\"}]", "functions");
	UNSUPPORTED("\"function_call\":\"auto\"", "function_call");
	UNSUPPORTED("\"logprobs\":true", "logprobs");
	UNSUPPORTED("\"top_logprobs\":3", "top_logprobs");
	UNSUPPORTED("\"response_format\":{\"type\":\"json_object\"}", "response_format");
	UNSUPPORTED("\"response_format\":{\"type\":\"text\",\"x\":1}", "response_format");
	UNSUPPORTED("\"frequency_penalty\":0.5", "frequency_penalty");
	UNSUPPORTED("\"presence_penalty\":-1", "presence_penalty");
	UNSUPPORTED("\"logit_bias\":{\"50256\":-100}", "logit_bias");
	UNSUPPORTED("\"n\":2", "n");
	UNSUPPORTED("\"best_of\":3", "best_of");
	UNSUPPORTED("\"suffix\":\"SECRET\"", "suffix");
	UNSUPPORTED("\"echo\":true", "echo");
	UNSUPPORTED("\"audio\":{\"voice\":\"alloy\",\"format\":\"wav\"}", "audio");
	UNSUPPORTED("\"modalities\":[\"text\",\"audio\"]", "modalities");
	UNSUPPORTED("\"modalities\":[]", "modalities");
	UNSUPPORTED("\"prediction\":{\"type\":\"content\",\"content\":\"SECRET\"}", "prediction");
	/* Completions: logprobs is a count there, and any count returns them. */
	REFUSE(OAI_COMPLETION, "{\"prompt\":\"SECRET\",\"logprobs\":0}", VEIL_E_UNSUPPORTED, 400,
	       "logprobs", "unsupported_parameter");
	REFUSE(OAI_COMPLETION, "{\"prompt\":\"SECRET\",\"echo\":true}", VEIL_E_UNSUPPORTED, 400,
	       "echo", "unsupported_parameter");
	REFUSE(OAI_COMPLETION, "{\"prompt\":\"SECRET\",\"suffix\":\"end\"}", VEIL_E_UNSUPPORTED,
	       400, "suffix", "unsupported_parameter");
	REFUSE(OAI_COMPLETION, "{\"prompt\":\"SECRET\",\"best_of\":2}", VEIL_E_UNSUPPORTED, 400,
	       "best_of", "unsupported_parameter");

	/* Wrong types are type errors, not "unsupported". */
	BAD_TYPE("\"tools\":\"none\"", "tools");
	BAD_TYPE("\"tool_choice\":5", "tool_choice");
	BAD_TYPE("\"logprobs\":\"no\"", "logprobs");
	BAD_TYPE("\"response_format\":\"text\"", "response_format");
	BAD_TYPE("\"frequency_penalty\":\"0\"", "frequency_penalty");
	BAD_TYPE("\"logit_bias\":[]", "logit_bias");
	BAD_TYPE("\"n\":\"1\"", "n");
	BAD_TYPE("\"n\":1.0", "n");
	BAD_TYPE("\"echo\":0", "echo");
	BAD_TYPE("\"user\":5", "user");
	BAD_TYPE("\"metadata\":[]", "metadata");
	BAD_TYPE("\"store\":\"yes\"", "store");
	BAD_TYPE("\"parallel_tool_calls\":1", "parallel_tool_calls");
	BAD_TYPE("\"service_tier\":{}", "service_tier");
	CHAT_BAD("\"n\":0", VEIL_E_MALFORMED, "n", "integer_below_min_value");
	CHAT_BAD("\"best_of\":-1", VEIL_E_MALFORMED, "best_of", "integer_below_min_value");

	/* Neutral values are accepted. */
	CHAT_OK(
	    "\"tools\":[],\"functions\":[],\"tool_choice\":\"none\",\"function_call\":\"none\"");
	CHAT_OK("\"logprobs\":false,\"top_logprobs\":0,\"frequency_penalty\":0.0,"
		"\"presence_penalty\":0,\"logit_bias\":{},\"response_format\":{\"type\":\"text\"}");
	CHAT_OK("\"n\":1,\"best_of\":1,\"echo\":false,\"suffix\":\"\",\"modalities\":[\"text\"]");
	CHAT_OK("\"user\":\"u\",\"metadata\":{},\"store\":true,\"parallel_tool_calls\":false,"
		"\"service_tier\":\"default\"");
	/* Unknown members are ignored, whatever they hold. */
	CHAT_OK("\"reasoning_effort\":\"low\",\"x\":[1,{\"y\":null}],\"SECRET\":\"SECRET\"");
}

TEST(model_rules)
{
	char body[300];
	size_t n;
	oai_request r;
	oai_error e;

	BAD_TYPE("\"model\":5", "model");
	BAD_TYPE("\"model\":[\"a\"]", "model");
	n = (size_t)snprintf(body, sizeof body, "{" MSGS ",\"model\":\"");
	memset(body + n, 'm', VEIL_WORKER_MODEL_NAME_MAX);
	memcpy(body + n + VEIL_WORKER_MODEL_NAME_MAX, "\"}", 3);
	EXPECT_OK(parse(OAI_CHAT, body, &r, &e));
	EXPECT(strlen(r.model) == VEIL_WORKER_MODEL_NAME_MAX);
	oai_request_clear(&r);
	memset(body + n, 'm', VEIL_WORKER_MODEL_NAME_MAX + 1);
	memcpy(body + n + VEIL_WORKER_MODEL_NAME_MAX + 1, "\"}", 3);
	REFUSE(OAI_CHAT, body, VEIL_E_MALFORMED, 400, "model", "string_above_max_length");
}

/* ---- builders ---- */

/* Runs a builder's output check: out must hold exactly want. */
static bool holds(veil_writer *w, const char *want)
{
	bool ok = w->len == strlen(want) && memcmp(w->data, want, w->len) == 0;
	if (!ok)
		fprintf(stderr, "  got:  %.*s\n  want: %s\n", (int)w->len, (const char *)w->data,
			want);
	veil_writer_clear(w);
	veil_writer_init(w, 1 << 20);
	return ok;
}

TEST(response_bodies_exact)
{
	oai_usage u = {.prompt_tokens = 12, .completion_tokens = 5};
	veil_writer w;

	veil_writer_init(&w, 1 << 20);
	EXPECT_OK(oai_response_body(OAI_CHAT, "chatcmpl-abc", 1700000000, "llama", "Hello!", 6,
				    "stop", &u, &w));
	EXPECT(holds(&w, "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":"
			 "1700000000,\"model\":\"llama\",\"choices\":[{\"index\":0,\"message\":{"
			 "\"role\":\"assistant\",\"content\":\"Hello!\"},\"logprobs\":null,"
			 "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
			 "\"completion_tokens\":5,\"total_tokens\":17}}"));
	EXPECT_OK(
	    oai_response_body(OAI_COMPLETION, "cmpl-x", 0, "m", " there", 6, "length", &u, &w));
	EXPECT(holds(&w, "{\"id\":\"cmpl-x\",\"object\":\"text_completion\",\"created\":0,"
			 "\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\" there\","
			 "\"logprobs\":null,\"finish_reason\":\"length\"}],\"usage\":{"
			 "\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}"));
	/* Empty text (NULL or not). */
	EXPECT_OK(oai_response_body(OAI_COMPLETION, "c", -1, "m", NULL, 0, "stop", &u, &w));
	EXPECT(holds(&w, "{\"id\":\"c\",\"object\":\"text_completion\",\"created\":-1,\"model\":"
			 "\"m\",\"choices\":[{\"index\":0,\"text\":\"\",\"logprobs\":null,"
			 "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
			 "\"completion_tokens\":5,\"total_tokens\":17}}"));
	/* Arguments the caller must give. */
	EXPECT_ERR(oai_response_body(OAI_CHAT, NULL, 0, "m", "x", 1, "stop", &u, &w), VEIL_E_USAGE);
	EXPECT_ERR(oai_response_body(OAI_CHAT, "i", 0, NULL, "x", 1, "stop", &u, &w), VEIL_E_USAGE);
	EXPECT_ERR(oai_response_body(OAI_CHAT, "i", 0, "m", "x", 1, NULL, &u, &w), VEIL_E_USAGE);
	EXPECT_ERR(oai_response_body(OAI_CHAT, "i", 0, "m", "x", 1, "stop", NULL, &w),
		   VEIL_E_USAGE);
	EXPECT_ERR(oai_response_body(OAI_CHAT, "i", 0, "m", NULL, 3, "stop", &u, &w), VEIL_E_USAGE);
	EXPECT(w.len == 0);
	veil_writer_clear(&w);
}

TEST(string_escapes_round_trip)
{
	/* Quote, backslash, the named control escapes, other controls, DEL,
	 * a NUL byte, two- to four-byte characters and a slash. */
	static const char text[] = "a\"b\\c\n\r\t\b\f\x01\x1f\x7f\0/\xc3\xa9\xe2\x82\xac"
				   "\xf0\x9f\x98\x80";
	static const char escaped[] =
	    "\"content\":\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\\u0000/"
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"";
	const size_t len = sizeof text - 1;
	oai_usage u = {1, 2};
	veil_writer w;
	json_t *v = NULL, *content;

	veil_writer_init(&w, 1 << 20);
	EXPECT_OK(oai_response_body(OAI_CHAT, "i", 1, "m", text, len, "stop", &u, &w));
	EXPECT(memmem(w.data, w.len, escaped, sizeof escaped - 1) != NULL);
	/* jansson (without JSON_ALLOW_NUL, so parse it with json_loadb's flag
	 * directly) reads back the very bytes. */
	v = json_loadb((const char *)w.data, w.len, JSON_ALLOW_NUL, NULL);
	REQUIRE(v != NULL);
	content = json_object_get(
	    json_object_get(json_array_get(json_object_get(v, "choices"), 0), "message"),
	    "content");
	EXPECT(json_string_length(content) == len &&
	       memcmp(json_string_value(content), text, len) == 0);
	EXPECT(json_integer_value(json_object_get(json_object_get(v, "usage"), "total_tokens")) ==
	       3);
	json_decref(v);
	veil_writer_clear(&w);
}

TEST(builders_refuse_text_that_is_not_utf8)
{
	static const char *const bad[] = {
	    "\x80",             /* a lone continuation byte */
	    "\xc0\x80",         /* overlong NUL */
	    "\xc1\xbf",         /* overlong */
	    "\xe0\x80\xaf",     /* overlong '/' */
	    "\xed\xa0\x80",     /* a surrogate, U+D800 */
	    "\xe2\x82",         /* truncated */
	    "\xf0\x9f\x98",     /* truncated */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xf5\x80\x80\x80", /* no such lead byte */
	    "\xff",
	    "ok\xfe",
	};
	oai_usage u = {1, 1};
	veil_writer w;

	veil_writer_init(&w, 1 << 20);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		oai_chunk c = {.id = "i", .model = "m", .text = bad[i], .len = strlen(bad[i])};
		EXPECT_ERR(oai_response_body(OAI_CHAT, "i", 0, "m", bad[i], strlen(bad[i]), "stop",
					     &u, &w),
			   VEIL_E_MALFORMED);
		EXPECT_ERR(oai_chunk_sse(OAI_CHAT, &c, &w), VEIL_E_MALFORMED);
		EXPECT_ERR(oai_chunk_sse(OAI_COMPLETION, &c, &w), VEIL_E_MALFORMED);
		/* In the other strings too. */
		EXPECT_ERR(oai_response_body(OAI_CHAT, "i", 0, bad[i], "x", 1, "stop", &u, &w),
			   VEIL_E_MALFORMED);
		EXPECT_ERR(oai_models_body(bad[i], 0, "veil", &w), VEIL_E_MALFORMED);
		c.text = "x";
		c.len = 1;
		c.receipt = bad[i];
		EXPECT_ERR(oai_chunk_sse(OAI_CHAT, &c, &w), VEIL_E_MALFORMED);
		/* Nothing was appended by any refused call. */
		EXPECT(w.len == 0 && veil_writer_status(&w) == VEIL_OK);
	}
	/* The last byte of a character is part of the length, not past it. */
	EXPECT_ERR(oai_response_body(OAI_CHAT, "i", 0, "m", "\xc3\xa9", 1, "stop", &u, &w),
		   VEIL_E_MALFORMED);
	EXPECT_OK(oai_response_body(OAI_CHAT, "i", 0, "m", "\xc3\xa9", 2, "stop", &u, &w));
	EXPECT_OK(oai_response_body(OAI_CHAT, "i", 0, "m", "\xf4\x8f\xbf\xbf\xee\x80\x80", 7,
				    "stop", &u, &w));
	veil_writer_clear(&w);
}

TEST(chat_chunks_exact)
{
	oai_usage u = {.prompt_tokens = 3, .completion_tokens = 4};
	oai_chunk c = {.id = "chatcmpl-1", .created = 5, .model = "m", .first = true};
	veil_writer w;
#define HEAD                                                                                       \
	"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":5,"         \
	"\"model\":\"m\",\"choices\":["

	veil_writer_init(&w, 1 << 20);
	/* First, without text: the role and an empty content. */
	EXPECT_OK(oai_chunk_sse(OAI_CHAT, &c, &w));
	EXPECT(holds(&w, HEAD "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
			      "\"logprobs\":null,\"finish_reason\":null}]}\n\n"));
	/* First, with text. */
	c.text = "Hi";
	c.len = 2;
	EXPECT_OK(oai_chunk_sse(OAI_CHAT, &c, &w));
	EXPECT(holds(&w, HEAD "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
			      "\"logprobs\":null,\"finish_reason\":null}]}\n\n"));
	/* Content, in an include_usage stream. */
	c.first = false;
	c.text = "\n";
	c.len = 1;
	c.usage_null = true;
	EXPECT_OK(oai_chunk_sse(OAI_CHAT, &c, &w));
	EXPECT(holds(&w, HEAD "{\"index\":0,\"delta\":{\"content\":\"\\n\"},\"logprobs\":null,"
			      "\"finish_reason\":null}],\"usage\":null}\n\n"));
	/* The finish chunk: empty delta. */
	c.text = NULL;
	c.len = 7;
	c.usage_null = false;
	c.finish_reason = "stop";
	EXPECT_OK(oai_chunk_sse(OAI_CHAT, &c, &w));
	EXPECT(holds(&w, HEAD "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
			      "\"stop\"}]}\n\n"));
	/* Finish with the receipt (a stream without include_usage). */
	c.receipt = "eyJh.eyJi.c2ln";
	c.finish_reason = "length";
	EXPECT_OK(oai_chunk_sse(OAI_CHAT, &c, &w));
	EXPECT(holds(&w, HEAD "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
			      "\"length\"}],\"veil_receipt\":\"eyJh.eyJi.c2ln\"}\n\n"));
	/* The usage chunk: no choices; here with the receipt too. */
	c.usage = &u;
	c.usage_null = true; /* ignored: the usage chunk has the counts */
	EXPECT_OK(oai_chunk_sse(OAI_CHAT, &c, &w));
	EXPECT(holds(&w, HEAD "],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,"
			      "\"total_tokens\":7},\"veil_receipt\":\"eyJh.eyJi.c2ln\"}\n\n"));
	c.receipt = NULL;
	EXPECT_OK(oai_chunk_sse(OAI_CHAT, &c, &w));
	EXPECT(holds(&w, HEAD "],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,"
			      "\"total_tokens\":7}}\n\n"));
#undef HEAD
	EXPECT_OK(oai_sse_done(&w));
	EXPECT(holds(&w, "data: [DONE]\n\n"));
	EXPECT_ERR(oai_chunk_sse(OAI_CHAT, NULL, &w), VEIL_E_USAGE);
	c.id = NULL;
	EXPECT_ERR(oai_chunk_sse(OAI_CHAT, &c, &w), VEIL_E_USAGE);
	veil_writer_clear(&w);
}

TEST(completion_chunks_exact)
{
	oai_usage u = {.prompt_tokens = 1, .completion_tokens = 0};
	oai_chunk c = {
	    .id = "cmpl-1", .created = 9, .model = "m", .first = true, .text = "A", .len = 1};
	veil_writer w;
#define HEAD                                                                                       \
	"data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":9,"                   \
	"\"model\":\"m\",\"choices\":["

	veil_writer_init(&w, 1 << 20);
	EXPECT_OK(oai_chunk_sse(OAI_COMPLETION, &c, &w));
	EXPECT(holds(&w, HEAD "{\"index\":0,\"text\":\"A\",\"logprobs\":null,"
			      "\"finish_reason\":null}]}\n\n"));
	c.text = NULL;
	c.finish_reason = "stop";
	c.usage_null = true;
	EXPECT_OK(oai_chunk_sse(OAI_COMPLETION, &c, &w));
	EXPECT(holds(&w, HEAD "{\"index\":0,\"text\":\"\",\"logprobs\":null,"
			      "\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"));
	c.usage = &u;
	c.receipt = "r";
	EXPECT_OK(oai_chunk_sse(OAI_COMPLETION, &c, &w));
	EXPECT(holds(&w, HEAD "],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":0,"
			      "\"total_tokens\":1},\"veil_receipt\":\"r\"}\n\n"));
#undef HEAD
	veil_writer_clear(&w);
}

TEST(models_body_exact)
{
	veil_writer w;

	veil_writer_init(&w, 1 << 20);
	EXPECT_OK(oai_models_body("llama-3.2-1b \"q4\"", 1700000001, "veil", &w));
	EXPECT(holds(&w, "{\"object\":\"list\",\"data\":[{\"id\":\"llama-3.2-1b \\\"q4\\\"\","
			 "\"object\":\"model\",\"created\":1700000001,\"owned_by\":\"veil\"}]}"));
	EXPECT_ERR(oai_models_body(NULL, 0, "veil", &w), VEIL_E_USAGE);
	EXPECT_ERR(oai_models_body("m", 0, NULL, &w), VEIL_E_USAGE);
	EXPECT_ERR(oai_models_body("m", 0, "veil", NULL), VEIL_E_USAGE);
	veil_writer_clear(&w);
}

TEST(error_bodies_exact)
{
	oai_error e;
	veil_writer w;

	veil_writer_init(&w, 1 << 20);
	oai_error_set(&e, 503, "server_error", NULL, "", "No worker is ready.");
	EXPECT(e.status == 503);
	EXPECT_OK(oai_error_body(&e, &w));
	EXPECT(holds(&w, "{\"error\":{\"message\":\"No worker is ready.\",\"type\":"
			 "\"server_error\",\"param\":null,\"code\":null}}"));
	oai_error_set(&e, 400, "invalid_request_error", "messages[0].role", "invalid_value",
		      "Bad \"%s\"\n%d", "role", 7);
	EXPECT_OK(oai_error_body(&e, &w));
	/* Control characters in a message become '?'. */
	EXPECT(holds(&w, "{\"error\":{\"message\":\"Bad \\\"role\\\"?7\",\"type\":"
			 "\"invalid_request_error\",\"param\":\"messages[0].role\",\"code\":"
			 "\"invalid_value\"}}"));
	/* An error is always sendable: bytes that are not UTF-8 become U+FFFD. */
	oai_error_set(&e, 500, NULL, NULL, NULL, "bad \xff byte \xe2\x82");
	EXPECT_OK(oai_error_body(&e, &w));
	EXPECT(holds(&w, "{\"error\":{\"message\":\"bad \xef\xbf\xbd byte \xef\xbf\xbd\xef\xbf\xbd"
			 "\",\"type\":\"\",\"param\":null,\"code\":null}}"));
	/* A message too long for its field is cut, never overflowed. */
	{
		char longer[400];
		memset(longer, 'a', sizeof longer - 1);
		longer[sizeof longer - 1] = '\0';
		oai_error_set(&e, 400, "t", "p", "c", "%s", longer);
		EXPECT(strlen(e.message) == sizeof e.message - 1);
	}
	/* The parser's errors make valid bodies. */
	{
		oai_request r;
		json_t *v = NULL;
		EXPECT(parse(OAI_CHAT, "{\"messages\":[],\"x\":\"SECRET\"}", &r, &e) != VEIL_OK);
		EXPECT_OK(oai_error_body(&e, &w));
		EXPECT_OK(veil_json_parse(w.data, w.len, &v));
		EXPECT(json_is_string(json_object_get(json_object_get(v, "error"), "message")));
		EXPECT(
		    strcmp(json_string_value(json_object_get(json_object_get(v, "error"), "param")),
			   "messages") == 0);
		json_decref(v);
	}
	veil_writer_clear(&w);
}

TEST(writer_cap_is_an_error)
{
	oai_usage u = {1, 1};
	veil_writer w;

	veil_writer_init(&w, 40);
	EXPECT_ERR(oai_response_body(OAI_CHAT, "i", 0, "m", "hello", 5, "stop", &u, &w),
		   VEIL_E_LIMIT);
	/* The error is sticky: later builds into the same writer fail too. */
	EXPECT_ERR(oai_sse_done(&w), VEIL_E_LIMIT);
	veil_writer_clear(&w);
}

TEST(finish_reasons)
{
	EXPECT(strcmp(oai_finish_reason(VEIL_STOP_LENGTH), "length") == 0);
	EXPECT(strcmp(oai_finish_reason(VEIL_STOP_CONTEXT), "length") == 0);
	EXPECT(strcmp(oai_finish_reason(VEIL_STOP_TOKEN), "stop") == 0);
	EXPECT(strcmp(oai_finish_reason(VEIL_STOP_SEQUENCE), "stop") == 0);
	EXPECT(strcmp(oai_finish_reason(VEIL_STOP_CALLER), "stop") == 0);
}

static bool is_base62(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

TEST(response_ids)
{
	enum { N = 2000 };
	static char ids[N][40];
	char small[33];
	bool seen[62] = {false};
	size_t kinds = 0;

	for (size_t i = 0; i < N; i++) {
		REQUIRE(oai_response_id("chatcmpl-", ids[i], sizeof ids[i]) == VEIL_OK);
		EXPECT(strlen(ids[i]) == 9 + 24 && strncmp(ids[i], "chatcmpl-", 9) == 0);
		EXPECT(is_base62(ids[i] + 9, 24));
		for (size_t k = 9; k < 33; k++) {
			char ch = ids[i][k];
			size_t at = ch <= '9'   ? (size_t)(ch - '0')
				    : ch <= 'Z' ? 10 + (size_t)(ch - 'A')
						: 36 + (size_t)(ch - 'a');
			if (at < 62)
				seen[at] = true;
		}
	}
	/* Unique, and every one of the 62 characters turns up. */
	qsort(ids, N, sizeof ids[0], cmp_ids);
	for (size_t i = 1; i < N; i++)
		EXPECT(strcmp(ids[i - 1], ids[i]) != 0);
	for (size_t i = 0; i < 62; i++)
		kinds += seen[i];
	EXPECT(kinds == 62);

	/* Exactly enough room: prefix, 24 characters, NUL. */
	EXPECT_OK(oai_response_id("cmpl-", small, 5 + 24 + 1));
	EXPECT(strlen(small) == 29 && strncmp(small, "cmpl-", 5) == 0);
	EXPECT_ERR(oai_response_id("cmpl-", small, 5 + 24), VEIL_E_USAGE);
	EXPECT_ERR(oai_response_id("chatcmpl-", small, sizeof small), VEIL_E_USAGE);
	EXPECT_ERR(oai_response_id("cmpl-", small, 0), VEIL_E_USAGE);
	EXPECT_ERR(oai_response_id(NULL, small, sizeof small), VEIL_E_USAGE);
	EXPECT_OK(oai_response_id("", small, 25));
	EXPECT(strlen(small) == 24 && is_base62(small, 24));
}

int main(void)
{
	RUN(chat_full_request);
	RUN(completion_full_request);
	RUN(defaults);
	RUN(limits_from_the_caller);
	RUN(body_must_be_one_json_object);
	RUN(body_over_the_default_cap);
	RUN(messages_rules);
	RUN(content_parts);
	RUN(prompt_rules);
	RUN(max_tokens_rules);
	RUN(sampling_rules);
	RUN(stop_rules);
	RUN(stream_rules);
	RUN(unsupported_parameters);
	RUN(model_rules);
	RUN(response_bodies_exact);
	RUN(string_escapes_round_trip);
	RUN(builders_refuse_text_that_is_not_utf8);
	RUN(chat_chunks_exact);
	RUN(completion_chunks_exact);
	RUN(models_body_exact);
	RUN(error_bodies_exact);
	RUN(writer_cap_is_an_error);
	RUN(finish_reasons);
	RUN(response_ids);
	return harness_finish("test_openai");
}

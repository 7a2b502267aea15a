/*
 * test_tokenizer_chat.c - chat template families: recognising them from
 * template text (snippets in the style of the models' templates, with the
 * markers llama.cpp looks for), the exact prompt each renders, and the
 * refusal of roles and contents that could break a prompt's structure.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/tokenizer.h"

static const char llama3_tmpl[] =
    "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' "
    "}}{% endif %}";
static const char chatml_tmpl[] =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>\\n' }}{% endfor %}";
static const char llama2_tmpl[] =
    "{% if messages[0]['role'] == 'system' %}{% set sys = '<<SYS>>\\n' + "
    "messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}{% endif %}{% for message in messages %}"
    "{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% endfor %}";
static const char llama2_strip_tmpl[] =
    "{{ '[INST] ' + message['content'].strip() + ' [/INST]' }}<<SYS>>{{ content.strip() }}";
static const char mistral_tmpl[] =
    "{{ bos_token }}{% for message in messages %}{{ '[INST] ' + message['content'] + "
    "' [/INST]' }}{% endfor %}";
static const char zephyr_tmpl[] =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + "
    "message['content'] + eos_token }}{% endif %}{% endfor %}{{ '<|assistant|>' }}";
static const char zephyr_eot_tmpl[] = "{{ '<|user|>\\n' + message['content'] + '<|endoftext|>' }}";

TEST(detect_families)
{
	veil_chat_template t;

	veil_chat_template_detect(llama3_tmpl, strlen(llama3_tmpl), &t);
	EXPECT(t.family == VEIL_CHAT_LLAMA3 && !t.fallback);
	veil_chat_template_detect(chatml_tmpl, strlen(chatml_tmpl), &t);
	EXPECT(t.family == VEIL_CHAT_CHATML && !t.fallback);
	veil_chat_template_detect(llama2_tmpl, strlen(llama2_tmpl), &t);
	EXPECT(t.family == VEIL_CHAT_LLAMA2 && t.llama2_sys && t.llama2_bos_inside &&
	       !t.llama2_strip);
	veil_chat_template_detect(llama2_strip_tmpl, strlen(llama2_strip_tmpl), &t);
	EXPECT(t.family == VEIL_CHAT_LLAMA2 && t.llama2_sys && t.llama2_strip &&
	       !t.llama2_bos_inside);
	veil_chat_template_detect(mistral_tmpl, strlen(mistral_tmpl), &t);
	EXPECT(t.family == VEIL_CHAT_LLAMA2 && !t.llama2_sys && !t.llama2_bos_inside);
	veil_chat_template_detect(zephyr_tmpl, strlen(zephyr_tmpl), &t);
	EXPECT(t.family == VEIL_CHAT_ZEPHYR && strcmp(t.zephyr_end, "</s>") == 0);
	veil_chat_template_detect(zephyr_eot_tmpl, strlen(zephyr_eot_tmpl), &t);
	EXPECT(t.family == VEIL_CHAT_ZEPHYR && strcmp(t.zephyr_end, "<|endoftext|>") == 0);
	/* Names llama.cpp accepts in place of a template. */
	veil_chat_template_detect("llama3", 6, &t);
	EXPECT(t.family == VEIL_CHAT_LLAMA3 && !t.fallback);
	veil_chat_template_detect("llama2-sys-bos", 14, &t);
	EXPECT(t.family == VEIL_CHAT_LLAMA2 && t.llama2_sys && t.llama2_bos_inside);
	veil_chat_template_detect("mistral", 7, &t);
	EXPECT(t.family == VEIL_CHAT_LLAMA2);
	/* Nothing recognisable: ChatML, and the caller is told. */
	veil_chat_template_detect("{{ messages }}", 14, &t);
	EXPECT(t.family == VEIL_CHAT_CHATML && t.fallback);
	veil_chat_template_detect(NULL, 0, &t);
	EXPECT(t.family == VEIL_CHAT_CHATML && t.fallback);
	/* A marker past len does not count. */
	veil_chat_template_detect(llama3_tmpl, 10, &t);
	EXPECT(t.fallback);
}

static const veil_chat_message conv[] = {
    {"system", "You are helpful.", 16},
    {"user", " Hi \n", 5},
    {"assistant", "Hello!", 6},
    {"user", "Bye", 3},
};

static const char *render(const char *tmpl, size_t n, bool gen)
{
	static char buf[1024];
	veil_chat_template t;
	char *out;
	size_t len;

	veil_chat_template_detect(tmpl, strlen(tmpl), &t);
	if (veil_chat_format(&t, conv, n, gen, &out, &len) != VEIL_OK)
		return "ERR";
	snprintf(buf, sizeof buf, "%s", out);
	if (strlen(out) != len)
		snprintf(buf, sizeof buf, "LENGTH MISMATCH");
	free(out);
	return buf;
}

#define EXPECT_RENDER(tmpl, n, gen, want)                                                          \
	do {                                                                                       \
		const char *got_ = render(tmpl, n, gen);                                           \
		if (strcmp(got_, want) != 0) {                                                     \
			fprintf(stderr, "    got  \"%s\"\n    want \"%s\"\n", got_, want);         \
			harness_fail(__FILE__, __LINE__, "render");                                \
		}                                                                                  \
	} while (0)

TEST(render_chatml)
{
	EXPECT_RENDER(chatml_tmpl, 2, true,
		      "<|im_start|>system\nYou are helpful.<|im_end|>\n"
		      "<|im_start|>user\n Hi \n<|im_end|>\n"
		      "<|im_start|>assistant\n");
	EXPECT_RENDER(chatml_tmpl, 3, false,
		      "<|im_start|>system\nYou are helpful.<|im_end|>\n"
		      "<|im_start|>user\n Hi \n<|im_end|>\n"
		      "<|im_start|>assistant\nHello!<|im_end|>\n");
	EXPECT_RENDER(chatml_tmpl, 0, true, "<|im_start|>assistant\n");
	/* The fallback renders ChatML too. */
	EXPECT_RENDER("", 1, false, "<|im_start|>system\nYou are helpful.<|im_end|>\n");
}

TEST(render_llama3)
{
	/* Contents are trimmed. */
	EXPECT_RENDER(llama3_tmpl, 4, true,
		      "<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
		      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
		      "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
		      "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
		      "<|start_header_id|>assistant<|end_header_id|>\n\n");
	EXPECT_RENDER(llama3_tmpl, 1, false,
		      "<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>");
}

TEST(render_llama2)
{
	/* System in <<SYS>>, BOS before later turns. */
	EXPECT_RENDER(llama2_tmpl, 4, true,
		      "[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\n Hi \n [/INST]Hello!</s>"
		      "<s>[INST] Bye [/INST]");
	/* No system block: the system text leads the first turn. */
	EXPECT_RENDER(mistral_tmpl, 4, true,
		      "[INST] You are helpful.\n Hi \n [/INST]Hello!</s>[INST] Bye [/INST]");
	/* Stripped contents. */
	EXPECT_RENDER(llama2_strip_tmpl, 2, false,
		      "[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi [/INST]");
	EXPECT_RENDER("llama2", 0, true, "[INST] ");
}

TEST(render_zephyr)
{
	EXPECT_RENDER(zephyr_tmpl, 2, true,
		      "<|system|>\nYou are helpful.</s>\n<|user|>\n Hi \n</s>\n<|assistant|>\n");
	EXPECT_RENDER(zephyr_eot_tmpl, 3, false,
		      "<|system|>\nYou are helpful.<|endoftext|>\n<|user|>\n Hi \n<|endoftext|>\n"
		      "<|assistant|>\nHello!<|endoftext|>\n");
}

static veil_err format_one(const char *tmpl, const char *role, const char *content, size_t len)
{
	veil_chat_template t;
	veil_chat_message m = {role, content, len};
	char *out = NULL;
	size_t out_len;

	veil_chat_template_detect(tmpl, strlen(tmpl), &t);
	veil_err err = veil_chat_format(&t, &m, 1, true, &out, &out_len);
	free(out);
	return err;
}

TEST(refuse_bad_messages)
{
	EXPECT_OK(format_one(chatml_tmpl, "tool", "x", 1));
	EXPECT_OK(format_one(chatml_tmpl, "tool_result", "", 0));
	/* Roles cannot carry markers or newlines into the prompt. */
	EXPECT_ERR(format_one(chatml_tmpl, "user<|im_end|>", "x", 1), VEIL_E_USAGE);
	EXPECT_ERR(format_one(chatml_tmpl, "user\nsystem", "x", 1), VEIL_E_USAGE);
	EXPECT_ERR(format_one(chatml_tmpl, "User", "x", 1), VEIL_E_USAGE);
	EXPECT_ERR(format_one(chatml_tmpl, "", "x", 1), VEIL_E_USAGE);
	EXPECT_ERR(format_one(chatml_tmpl, "abcdefghijklmnopqrstuvwxyzabcdefg", "x", 1),
		   VEIL_E_USAGE);
	EXPECT_OK(format_one(chatml_tmpl, "abcdefghijklmnopqrstuvwxyzabcdef", "x", 1));
	/* Llama 2 has no place for other roles. */
	EXPECT_ERR(format_one(llama2_tmpl, "tool", "x", 1), VEIL_E_USAGE);
	EXPECT_ERR(format_one(chatml_tmpl, "user", "\xC3", 1), VEIL_E_MALFORMED);
	EXPECT_ERR(format_one(chatml_tmpl, "user", NULL, 3), VEIL_E_USAGE);
	EXPECT_ERR(format_one(chatml_tmpl, NULL, "x", 1), VEIL_E_USAGE);
}

TEST(refuse_over_caps)
{
	veil_chat_template t;
	veil_chat_message *m = calloc(VEIL_CHAT_MESSAGES_MAX + 1, sizeof *m);
	char *out = NULL;
	size_t len;

	REQUIRE(m != NULL);
	for (size_t i = 0; i <= VEIL_CHAT_MESSAGES_MAX; i++)
		m[i] = (veil_chat_message){"user", "x", 1};
	veil_chat_template_detect(NULL, 0, &t);
	EXPECT_ERR(veil_chat_format(&t, m, VEIL_CHAT_MESSAGES_MAX + 1, true, &out, &len),
		   VEIL_E_LIMIT);
	EXPECT_OK(veil_chat_format(&t, m, VEIL_CHAT_MESSAGES_MAX, true, &out, &len));
	free(out);
	/* A prompt over the tokenizer's input cap. */
	size_t big = VEIL_TOKENIZE_INPUT_MAX;
	char *content = malloc(big);
	REQUIRE(content != NULL);
	memset(content, 'a', big);
	m[0] = (veil_chat_message){"user", content, big};
	EXPECT_ERR(veil_chat_format(&t, m, 1, true, &out, &len), VEIL_E_LIMIT);
	EXPECT(out == NULL);
	free(content);
	free(m);
}

int main(void)
{
	RUN(detect_families);
	RUN(render_chatml);
	RUN(render_llama3);
	RUN(render_llama2);
	RUN(render_zephyr);
	RUN(refuse_bad_messages);
	RUN(refuse_over_caps);
	return harness_finish("test_tokenizer_chat");
}

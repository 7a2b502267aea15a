/*
 * chat.c - chat templates without a Jinja engine: recognise the family
 * from the template text a model carries (tokenizer.chat_template), then
 * render messages in C.
 *
 * Recognition and rendering follow llama.cpp's llm_chat_detect_template
 * and llm_chat_apply_template for the four families Veil's models use;
 * docs/tokenizer.md lists where they differ. Templates are only searched
 * for marker strings, never executed, so a hostile template can at worst
 * pick the wrong family. Roles are restricted to [a-z_] so a role cannot
 * smuggle template markers into the prompt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "veil/secret.h"

static bool contains(const char *text, size_t len, const char *marker)
{
	return text != NULL && memmem(text, len, marker, strlen(marker)) != NULL;
}

/* Template names llama.cpp accepts in place of a template. */
typedef struct chat_name {
	const char *name;
	veil_chat_family family;
	bool sys, bos_inside, strip;
} chat_name;

static const chat_name chat_names[] = {
    {"chatml", VEIL_CHAT_CHATML, false, false, false},
    {"llama2", VEIL_CHAT_LLAMA2, false, false, false},
    {"llama2-sys", VEIL_CHAT_LLAMA2, true, false, false},
    {"llama2-sys-bos", VEIL_CHAT_LLAMA2, true, true, false},
    {"llama2-sys-strip", VEIL_CHAT_LLAMA2, true, false, true},
    {"llama3", VEIL_CHAT_LLAMA3, false, false, false},
    {"zephyr", VEIL_CHAT_ZEPHYR, false, false, false},
};

/* Markers, tried in order (llama.cpp's order for these families): the
 * first rule whose markers all occur names the family. */
typedef struct chat_rule {
	const char *marker, *marker2; /* marker2 may be NULL */
	veil_chat_family family;
} chat_rule;

static const chat_rule chat_rules[] = {
    {"<|im_start|>", NULL, VEIL_CHAT_CHATML},
    {"[INST]", NULL, VEIL_CHAT_LLAMA2},
    {"<|start_header_id|>", "<|end_header_id|>", VEIL_CHAT_LLAMA3},
    {"<|user|>", NULL, VEIL_CHAT_ZEPHYR},
};

static void set_end(veil_chat_template *t, const char *end)
{
	snprintf(t->zephyr_end, sizeof t->zephyr_end, "%s", end);
}

void veil_chat_template_detect(const char *text, size_t len, veil_chat_template *out)
{
	memset(out, 0, sizeof *out);
	out->family = VEIL_CHAT_CHATML;
	set_end(out, "</s>");
	if (text == NULL)
		len = 0;
	for (size_t i = 0; i < sizeof chat_names / sizeof *chat_names; i++) {
		const chat_name *c = &chat_names[i];
		if (strlen(c->name) == len && memcmp(c->name, text, len) == 0) {
			out->family = c->family;
			out->llama2_sys = c->sys;
			out->llama2_bos_inside = c->bos_inside;
			out->llama2_strip = c->strip;
			if (c->family == VEIL_CHAT_ZEPHYR)
				set_end(out, "<|endoftext|>"); /* llama.cpp's "zephyr" */
			return;
		}
	}
	bool mistral = len >= 7 && memcmp(text, "mistral", 7) == 0;
	for (size_t i = 0; i < sizeof chat_rules / sizeof *chat_rules; i++) {
		const chat_rule *r = &chat_rules[i];
		bool hit = contains(text, len, r->marker) &&
			   (r->marker2 == NULL || contains(text, len, r->marker2));
		if (r->family == VEIL_CHAT_LLAMA2)
			hit = hit || mistral;
		if (!hit)
			continue;
		out->family = r->family;
		if (r->family == VEIL_CHAT_LLAMA2) {
			/* llama.cpp's variants, most specific first; the last two
			 * imply a system block. */
			out->llama2_strip = contains(text, len, "content.strip()");
			out->llama2_bos_inside =
			    !out->llama2_strip && contains(text, len, "bos_token + '[INST]");
			out->llama2_sys = out->llama2_strip || out->llama2_bos_inside ||
					  contains(text, len, "<<SYS>>");
		}
		if (r->family == VEIL_CHAT_ZEPHYR && contains(text, len, "<|endoftext|>"))
			set_end(out, "<|endoftext|>");
		return;
	}
	out->fallback = true;
}

veil_err veil_chat_template_from_gguf(const veil_gguf *g, veil_chat_template *out)
{
	const char *text;
	size_t len;
	veil_err err;

	ENSURE(g != NULL && out != NULL, VEIL_E_USAGE, "veil_chat_template_from_gguf: no file");
	err = veil_gguf_get_string(g, "tokenizer.chat_template", &text, &len);
	if (err == VEIL_E_NOT_FOUND) {
		veil_chat_template_detect(NULL, 0, out);
		return VEIL_OK;
	}
	TRY(err);
	ENSURE(len <= VEIL_CHAT_TEMPLATE_MAX, VEIL_E_LIMIT,
	       "tokenizer.chat_template is %zu bytes, over the limit of %d", len,
	       VEIL_CHAT_TEMPLATE_MAX);
	veil_chat_template_detect(text, len, out);
	if (out->family != VEIL_CHAT_ZEPHYR || contains(text, len, "<|endoftext|>") ||
	    contains(text, len, "</s>"))
		return VEIL_OK;
	/* The template writes eos_token: take the EOS token's text. */
	int64_t eos;
	const char *s;
	size_t slen;
	if (veil_gguf_get_i64(g, "tokenizer.ggml.eos_token_id", &eos) == VEIL_OK && eos >= 0 &&
	    veil_gguf_array_string(g, "tokenizer.ggml.tokens", (size_t)eos, &s, &slen) == VEIL_OK &&
	    slen > 0 && slen < sizeof out->zephyr_end && memchr(s, 0, slen) == NULL) {
		memcpy(out->zephyr_end, s, slen);
		out->zephyr_end[slen] = 0;
	}
	return VEIL_OK;
}

/* Python's str.strip() on the ASCII whitespace llama.cpp's trim() uses. */
static void trim(const char **s, size_t *len)
{
	static const char ws[] = " \t\n\v\f\r";

	while (*len > 0 && memchr(ws, (*s)[0], sizeof ws - 1) != NULL) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && memchr(ws, (*s)[*len - 1], sizeof ws - 1) != NULL)
		(*len)--;
}

static veil_err check_message(const veil_chat_template *t, const veil_chat_message *m, size_t i)
{
	ENSURE(m->role != NULL && (m->content != NULL || m->content_len == 0), VEIL_E_USAGE,
	       "message %zu has no role or content", i);
	size_t rl = strnlen(m->role, VEIL_CHAT_ROLE_MAX + 1);
	ENSURE(rl > 0 && rl <= VEIL_CHAT_ROLE_MAX, VEIL_E_USAGE,
	       "message %zu: a role is 1 to %d characters", i, VEIL_CHAT_ROLE_MAX);
	for (size_t k = 0; k < rl; k++)
		ENSURE((m->role[k] >= 'a' && m->role[k] <= 'z') || m->role[k] == '_', VEIL_E_USAGE,
		       "message %zu: a role is written with a-z and _", i);
	if (t->family == VEIL_CHAT_LLAMA2)
		ENSURE(strcmp(m->role, "system") == 0 || strcmp(m->role, "user") == 0 ||
			   strcmp(m->role, "assistant") == 0,
		       VEIL_E_USAGE, "message %zu: Llama 2 knows only system, user and assistant",
		       i);
	size_t bad = tok_utf8_invalid_at((const uint8_t *)m->content, m->content_len);
	ENSURE(bad == m->content_len, VEIL_E_MALFORMED,
	       "message %zu: content is not UTF-8 at byte %zu", i, bad);
	return VEIL_OK;
}

static void put(veil_writer *w, const char *s, size_t len)
{
	/* The writer's error is sticky and checked once at the end. */
	if (veil_writer_put(w, s, len) != VEIL_OK)
		return;
}

static void puts_(veil_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* llm_chat_apply_template, LLM_CHAT_TEMPLATE_LLAMA_2 and its variants. */
static void render_llama2(const veil_chat_template *t, const veil_chat_message *msgs, size_t n,
			  veil_writer *w)
{
	bool inside_turn = true; /* the first [INST] is written up front */

	puts_(w, "[INST] ");
	for (size_t i = 0; i < n; i++) {
		const char *c = msgs[i].content;
		size_t len = msgs[i].content_len;
		if (t->llama2_strip)
			trim(&c, &len);
		if (!inside_turn) {
			inside_turn = true;
			puts_(w, t->llama2_bos_inside ? "<s>[INST] " : "[INST] ");
		}
		if (strcmp(msgs[i].role, "system") == 0) {
			/* Without <<SYS>> the system text still leads the turn. */
			if (t->llama2_sys)
				puts_(w, "<<SYS>>\n");
			put(w, c, len);
			puts_(w, t->llama2_sys ? "\n<</SYS>>\n\n" : "\n");
		} else if (strcmp(msgs[i].role, "user") == 0) {
			put(w, c, len);
			puts_(w, " [/INST]");
		} else {
			put(w, c, len);
			puts_(w, "</s>");
			inside_turn = false;
		}
	}
}

static void render(const veil_chat_template *t, const veil_chat_message *msgs, size_t n,
		   bool add_generation_prompt, veil_writer *w)
{
	if (t->family == VEIL_CHAT_LLAMA2) {
		render_llama2(t, msgs, n, w);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *c = msgs[i].content;
		size_t len = msgs[i].content_len;
		switch (t->family) {
		case VEIL_CHAT_LLAMA3:
			trim(&c, &len);
			puts_(w, "<|start_header_id|>");
			puts_(w, msgs[i].role);
			puts_(w, "<|end_header_id|>\n\n");
			put(w, c, len);
			puts_(w, "<|eot_id|>");
			break;
		case VEIL_CHAT_ZEPHYR:
			puts_(w, "<|");
			puts_(w, msgs[i].role);
			puts_(w, "|>\n");
			put(w, c, len);
			puts_(w, t->zephyr_end);
			puts_(w, "\n");
			break;
		case VEIL_CHAT_CHATML:
		default:
			puts_(w, "<|im_start|>");
			puts_(w, msgs[i].role);
			puts_(w, "\n");
			put(w, c, len);
			puts_(w, "<|im_end|>\n");
			break;
		}
	}
	if (!add_generation_prompt)
		return;
	switch (t->family) {
	case VEIL_CHAT_LLAMA3:
		puts_(w, "<|start_header_id|>assistant<|end_header_id|>\n\n");
		break;
	case VEIL_CHAT_ZEPHYR:
		puts_(w, "<|assistant|>\n");
		break;
	default:
		puts_(w, "<|im_start|>assistant\n");
		break;
	}
}

veil_err veil_chat_format(const veil_chat_template *t, const veil_chat_message *msgs, size_t n,
			  bool add_generation_prompt, char **out, size_t *out_len)
{
	veil_writer w;
	uint8_t *text;
	size_t len;
	veil_err err;

	ENSURE(t != NULL && out != NULL && out_len != NULL && (msgs != NULL || n == 0),
	       VEIL_E_USAGE, "veil_chat_format: missing argument");
	*out = NULL;
	*out_len = 0;
	ENSURE(n <= VEIL_CHAT_MESSAGES_MAX, VEIL_E_LIMIT, "%zu messages, over the limit of %d", n,
	       VEIL_CHAT_MESSAGES_MAX);
	for (size_t i = 0; i < n; i++)
		TRY(check_message(t, &msgs[i], i));
	veil_writer_init(&w, VEIL_TOKENIZE_INPUT_MAX);
	render(t, msgs, n, add_generation_prompt, &w);
	CHECK(veil_writer_take(&w, &text, &len));
	*out = (char *)text;
	*out_len = len;
	err = VEIL_OK;
out:
	veil_writer_clear(&w);
	return err;
}

/*
 * test_tokenizer_stream.c - the streaming detokenizer: characters split
 * across byte tokens are held back until complete, and invalid bytes come
 * out as U+FFFD, one per maximal subpart (Unicode 14.0 section 3.9, the
 * examples of table 3-11), so every chunk handed out is valid UTF-8.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_tokenizer_util.h"
#include "veil/tokenizer.h"

#define FFFD "\xEF\xBF\xBD"

static const tt_entry words[] = {
    {"▁hello", -1, 0},
    {"<|im_end|>", 0, VEIL_TOKEN_CONTROL},
};

/* The byte token for b in the tt_spm_vocab layout. */
static int32_t byte_id(unsigned b)
{
	return (int32_t)(3 + b);
}

/* Pushes the byte tokens of bytes[0..n) and returns what came out after
 * each push, joined by '/', with a final "!" and the finish output. */
static const char *stream(const veil_tokenizer *tok, const char *bytes, size_t n)
{
	static char buf[256];
	veil_detok d;
	veil_writer w;
	size_t used = 0;

	veil_detok_init(&d, tok, false);
	veil_writer_init(&w, 1024);
	buf[0] = 0;
	for (size_t i = 0; i <= n; i++) {
		size_t before = w.len;
		veil_err err = i < n ? veil_detok_push(&d, byte_id((uint8_t)bytes[i]), &w)
				     : veil_detok_finish(&d, &w);
		if (err != VEIL_OK) {
			veil_writer_clear(&w);
			return "ERR";
		}
		if (used + (w.len - before) + 3 >= sizeof buf)
			break;
		if (i > 0)
			buf[used++] = i < n ? '/' : '!';
		if (w.len > before)
			memcpy(buf + used, w.data + before, w.len - before);
		used += w.len - before;
		buf[used] = 0;
	}
	veil_writer_clear(&w);
	return buf;
}

#define EXPECT_STREAM(tok, bytes, want)                                                            \
	do {                                                                                       \
		const char *got_ = stream(tok, bytes, sizeof bytes - 1);                           \
		if (strcmp(got_, want) != 0) {                                                     \
			fprintf(stderr, "    stream: got \"%s\", want \"%s\"\n", got_, want);      \
			harness_fail(__FILE__, __LINE__, "stream");                                \
		}                                                                                  \
	} while (0)

static veil_tokenizer *make(void)
{
	veil_tokenizer *tok = NULL;
	if (tt_spm(words, 2, true, &tok) != VEIL_OK)
		return NULL;
	return tok;
}

TEST(stream_holds_back_incomplete_characters)
{
	veil_tokenizer *tok = make();
	REQUIRE(tok != NULL);
	/* € is E2 82 AC: nothing until the third byte. */
	EXPECT_STREAM(tok, "\xE2\x82\xAC", "//€!");
	/* A four-byte character in four pushes. */
	EXPECT_STREAM(tok, "\xF0\x9F\x8E\x89", "///\xF0\x9F\x8E\x89!");
	/* ASCII passes straight through. */
	EXPECT_STREAM(tok, "ab", "a/b!");
	EXPECT_STREAM(tok, "a\xC3\xA9z", "a//é/z!");
	veil_tokenizer_free(tok);
}

TEST(stream_replaces_invalid_bytes)
{
	veil_tokenizer *tok = make();
	REQUIRE(tok != NULL);
	/* Never a lead byte. */
	EXPECT_STREAM(tok, "\xFF", FFFD "!");
	EXPECT_STREAM(tok, "\x80", FFFD "!");
	/* A lead byte, then not a continuation: one FFFD, then the byte. */
	EXPECT_STREAM(tok, "\xE2h", "/" FFFD "h!");
	/* Truncated at the end of the stream: one FFFD at finish. */
	EXPECT_STREAM(tok, "\xF0\x9F\x98", "//!" FFFD);
	/* Surrogate: ED A0 is not a valid start, so three FFFD (table 3-11). */
	EXPECT_STREAM(tok, "\xED\xA0\x80", "/" FFFD FFFD "/" FFFD "!");
	/* Overlong: C0 is never valid; E0 80 fails at the second byte. */
	EXPECT_STREAM(tok, "\xC0\xAF", FFFD "/" FFFD "!");
	EXPECT_STREAM(tok, "\xE0\x80\xAF", "/" FFFD FFFD "/" FFFD "!");
	/* Above U+10FFFF. */
	EXPECT_STREAM(tok, "\xF4\x90\x80\x80", "/" FFFD FFFD "/" FFFD "/" FFFD "!");
	/* A valid character right after a broken one survives. */
	EXPECT_STREAM(tok, "\xC3\xE2\x82\xAC", "/" FFFD "//€!");
	veil_tokenizer_free(tok);
}

TEST(stream_words_and_specials)
{
	veil_tokenizer *tok = make();
	veil_detok d;
	veil_writer w;
	uint8_t *text;
	size_t len;

	REQUIRE(tok != NULL);
	int32_t hello = veil_token_find(tok, "▁hello", 8);
	int32_t end = veil_token_find(tok, "<|im_end|>", 10);
	veil_writer_init(&w, 1024);
	veil_detok_init(&d, tok, false);
	EXPECT_OK(veil_detok_push(&d, byte_id(0xC3), &w));
	EXPECT(w.len == 0);
	/* A whole word after a dangling lead byte: FFFD, then the word (its
	 * space is kept: stream pieces are raw). */
	EXPECT_OK(veil_detok_push(&d, hello, &w));
	EXPECT(w.len == 9 && memcmp(w.data, FFFD " hello", 9) == 0);
	EXPECT_OK(veil_detok_push(&d, end, &w)); /* control: nothing */
	EXPECT(w.len == 9);
	EXPECT(veil_token_is_eog(tok, end));
	EXPECT_ERR(veil_detok_push(&d, -1, &w), VEIL_E_USAGE);
	EXPECT_OK(veil_detok_finish(&d, &w));
	EXPECT_OK(veil_writer_take(&w, &text, &len));
	free(text);
	veil_writer_clear(&w);

	veil_writer_init(&w, 1024);
	veil_detok_init(&d, tok, true);
	EXPECT_OK(veil_detok_push(&d, end, &w));
	EXPECT(w.len == 10 && memcmp(w.data, "<|im_end|>", 10) == 0);
	veil_writer_clear(&w);
	veil_tokenizer_free(tok);
}

TEST(piece_callback_and_stop_tokens)
{
	veil_tokenizer *tok = make();
	veil_detok d;
	char buf[16];
	int32_t *eog = NULL;
	size_t n = 0, count = 0;

	REQUIRE(tok != NULL);
	int32_t hello = veil_token_find(tok, "▁hello", 8);
	int32_t end = veil_token_find(tok, "<|im_end|>", 10);
	/* The engine's piece callback: whole characters only, within cap. */
	veil_detok_init(&d, tok, false);
	EXPECT(veil_detok_piece(&d, byte_id(0xE2), buf, sizeof buf) == 0);
	EXPECT(veil_detok_piece(&d, byte_id(0x82), buf, sizeof buf) == 0);
	EXPECT(veil_detok_piece(&d, byte_id(0xAC), buf, sizeof buf) == 3 &&
	       memcmp(buf, "\xE2\x82\xAC", 3) == 0);
	EXPECT(veil_detok_piece(&d, hello, buf, sizeof buf) == 6 && memcmp(buf, " hello", 6) == 0);
	EXPECT(veil_detok_piece(&d, hello, buf, 3) == 0); /* over the cap: nothing */
	EXPECT(veil_detok_piece(&d, -1, buf, sizeof buf) == 0);
	/* The stop tokens: exactly the ids veil_token_is_eog accepts. */
	EXPECT_OK(veil_tokenizer_eog_ids(tok, &eog, &n));
	for (int32_t i = 0; i < (int32_t)veil_tokenizer_n_tokens(tok); i++)
		count += veil_token_is_eog(tok, i);
	EXPECT(n == count && n >= 1 && eog != NULL);
	for (size_t i = 0; i < n; i++)
		EXPECT(veil_token_is_eog(tok, eog[i]));
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= eog[i] == end;
	EXPECT(found);
	free(eog);
	veil_tokenizer_free(tok);
}

TEST(detokenize_output_is_utf8)
{
	veil_tokenizer *tok = make();
	int32_t ids[] = {byte_id(0xE2), byte_id(0x82), byte_id('x'), byte_id(0xC3)};
	char *text;
	size_t len;

	REQUIRE(tok != NULL);
	EXPECT_OK(veil_detokenize(tok, ids, 4, false, &text, &len));
	EXPECT(strcmp(text, FFFD "x" FFFD) == 0 && len == 7);
	free(text);
	EXPECT_OK(veil_detokenize(tok, NULL, 0, false, &text, &len));
	EXPECT(len == 0 && text[0] == 0);
	free(text);
	veil_tokenizer_free(tok);
}

int main(void)
{
	RUN(stream_holds_back_incomplete_characters);
	RUN(stream_replaces_invalid_bytes);
	RUN(stream_words_and_specials);
	RUN(piece_callback_and_stop_tokens);
	RUN(detokenize_output_is_utf8);
	return harness_finish("test_tokenizer_stream");
}

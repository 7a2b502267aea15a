/*
 * test_tokenizer_pretok.c - the hand-written pre-tokenizers (GPT-2,
 * Llama 3, Qwen2, SmolLM) on strings chosen to reach each alternative of
 * their patterns, and the Unicode classes under them.
 *
 * Expected splits were worked out from the regular expressions (see
 * src/tokenizer/pretok.c), one alternative at a time; they are what
 * Hugging Face tokenizers and llama.cpp give for these strings.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tokenizer/tok_internal.h"

/* The words of text joined by '|' (static buffer). */
static const char *split(veil_tok_pre pre, const char *text)
{
	static char out[1024];
	uint32_t cps[256];
	size_t off[257], n = 0, len = strlen(text), *ends, n_words, used = 0, start = 0;

	for (size_t i = 0; i < len;) {
		size_t k = tok_utf8_decode((const uint8_t *)text + i, len - i, &cps[n]);
		if (k == 0 || n == 255)
			return "BAD TEST STRING";
		off[n++] = i;
		i += k;
	}
	off[n] = len;
	if (tok_pretok_split(pre, cps, n, &ends, &n_words) != VEIL_OK)
		return "SPLIT FAILED";
	out[0] = 0;
	for (size_t w = 0; w < n_words; w++) {
		size_t b0 = off[start], b1 = off[ends[w]];
		if (used + (b1 - b0) + 2 >= sizeof out)
			break;
		if (w > 0)
			out[used++] = '|';
		memcpy(out + used, text + b0, b1 - b0);
		used += b1 - b0;
		out[used] = 0;
		start = ends[w];
	}
	free(ends);
	return out;
}

#define EXPECT_SPLIT(pre, text, want)                                                              \
	do {                                                                                       \
		const char *got_ = split(pre, text);                                               \
		if (strcmp(got_, want) != 0) {                                                     \
			fprintf(stderr, "    split \"%s\": got \"%s\", want \"%s\"\n", text, got_, \
				want);                                                             \
			harness_fail(__FILE__, __LINE__, "split");                                 \
		}                                                                                  \
	} while (0)

TEST(gpt2_splits)
{
	const veil_tok_pre p = VEIL_TOK_PRE_GPT2;
	EXPECT_SPLIT(p, "Hello world", "Hello| world");
	EXPECT_SPLIT(p, "I'm here, don't", "I|'m| here|,| don|'t");
	EXPECT_SPLIT(p, "we'll they've you're I'd", "we|'ll| they|'ve| you|'re| I|'d");
	/* Case matters to GPT-2's contractions. */
	EXPECT_SPLIT(p, "DON'T", "DON|'|T");
	EXPECT_SPLIT(p, "a  b", "a| | b");
	EXPECT_SPLIT(p, "a   ", "a|   ");
	EXPECT_SPLIT(p, "x\n\ny", "x|\n|\n|y");
	EXPECT_SPLIT(p, "12345 abc", "12345| abc");
	EXPECT_SPLIT(p, "hello!!! ?", "hello|!!!| ?");
	EXPECT_SPLIT(p, "naïve café", "naïve| café");
	EXPECT_SPLIT(p, "Привет мир", "Привет| мир");
	EXPECT_SPLIT(p, "日本語です", "日本語です");
	/* ² is a number (No), so mc² is letters then a number. */
	EXPECT_SPLIT(p, "e=mc²", "e|=|mc|²");
	/* No-break space is whitespace, but not the optional ' '. */
	EXPECT_SPLIT(p,
		     "a\xC2\xA0"
		     "b",
		     "a|\xC2\xA0|b");
	EXPECT_SPLIT(p, "", "");
	EXPECT_SPLIT(p, " ", " ");
	EXPECT_SPLIT(p, "'", "'");
}

TEST(llama3_splits)
{
	const veil_tok_pre p = VEIL_TOK_PRE_LLAMA3;
	/* Contractions in any case. */
	EXPECT_SPLIT(p, "I'M HERE", "I|'M| HERE");
	EXPECT_SPLIT(p, "don't", "don|'t");
	/* Numbers in groups of up to three, from the left. */
	EXPECT_SPLIT(p, "12345", "123|45");
	EXPECT_SPLIT(p, "1234567", "123|456|7");
	EXPECT_SPLIT(p, " 123", " |123");
	EXPECT_SPLIT(p, "$100", "$|100");
	EXPECT_SPLIT(p, "abc123def", "abc|123|def");
	/* Any one non-letter, non-digit, non-newline leads a word. */
	EXPECT_SPLIT(p, ".hello", ".hello");
	EXPECT_SPLIT(p, "...hello", "...|hello");
	EXPECT_SPLIT(p, "a\tb", "a|\tb");
	/* Punctuation keeps the newlines after it. */
	EXPECT_SPLIT(p, "!!!\n\nx", "!!!\n\n|x");
	/* Whitespace ending in newlines is one word. */
	EXPECT_SPLIT(p, "hello\n\nworld", "hello|\n\n|world");
	EXPECT_SPLIT(p, "a  \n  b", "a|  \n| | b");
	EXPECT_SPLIT(p, "a   b", "a|  | b");
	EXPECT_SPLIT(p, "end   ", "end|   ");
	EXPECT_SPLIT(p, "\r\n", "\r\n");
	EXPECT_SPLIT(p, "Привет, мир!", "Привет|,| мир|!");
	EXPECT_SPLIT(p, "ｈｅｌｌｏ", "ｈｅｌｌｏ");
}

TEST(qwen2_splits)
{
	const veil_tok_pre p = VEIL_TOK_PRE_QWEN2;
	EXPECT_SPLIT(p, "12345", "1|2|3|4|5");
	EXPECT_SPLIT(p, "I'M x2", "I|'M| x|2");
	/* The full-width comma is the optional leader of the next letters. */
	EXPECT_SPLIT(p, "你好，世界", "你好|，世界");
	EXPECT_SPLIT(p, "你好， 世界", "你好|，| 世界");
	EXPECT_SPLIT(p, "a  \n  b", "a|  \n| | b");
	/* ٣ (Arabic-Indic three) is a digit too. */
	EXPECT_SPLIT(p, "٣٤", "٣|٤");
}

TEST(smollm_splits)
{
	const veil_tok_pre p = VEIL_TOK_PRE_SMOLLM;
	EXPECT_SPLIT(p, "abc123 def", "abc|1|2|3| def");
	EXPECT_SPLIT(p, " 12", " |1|2");
	/* The GPT-2 pass ends at the digit, so the two spaces before it end
	 * "the text" and stay together (GPT-2 alone: "a| | 1"). */
	EXPECT_SPLIT(p, "a  1", "a|  |1");
	EXPECT_SPLIT(VEIL_TOK_PRE_GPT2, "a  1", "a| | 1");
}

TEST(unicode_classes)
{
	static const struct {
		uint32_t cp;
		uint8_t cls;
	} cases[] = {
	    {'A', TOK_UC_LETTER},   {'z', TOK_UC_LETTER},     {0xE9, TOK_UC_LETTER},
	    {0x416, TOK_UC_LETTER}, {0x4E2D, TOK_UC_LETTER},  {0x1E900, TOK_UC_LETTER},
	    {'7', TOK_UC_NUMBER},   {0x663, TOK_UC_NUMBER},   {0x2167, TOK_UC_NUMBER},
	    {0xBD, TOK_UC_NUMBER},  {0x1D7CE, TOK_UC_NUMBER}, {' ', TOK_UC_SPACE},
	    {'\t', TOK_UC_SPACE},   {0x0B, TOK_UC_SPACE},     {0x85, TOK_UC_SPACE},
	    {0xA0, TOK_UC_SPACE},   {0x1680, TOK_UC_SPACE},   {0x2028, TOK_UC_SPACE},
	    {0x2029, TOK_UC_SPACE}, {0x3000, TOK_UC_SPACE},   {0x1C, TOK_UC_OTHER},
	    {'!', TOK_UC_OTHER},    {0x0301, TOK_UC_OTHER},   {0x1F600, TOK_UC_OTHER},
	    {0xE000, TOK_UC_OTHER}, {0x378, TOK_UC_OTHER},    {0x10FFFF, TOK_UC_OTHER},
	    {0x200B, TOK_UC_OTHER}, /* zero-width space is Cf, not White_Space */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		uint8_t got = tok_unicode_class(cases[i].cp);
		if (got != cases[i].cls)
			fprintf(stderr, "    U+%04X: class %u, want %u\n", cases[i].cp, got,
				cases[i].cls);
		EXPECT(got == cases[i].cls);
	}
	EXPECT(strcmp(tok_unicode_version, "14.0.0") == 0);
	/* The table is sorted and starts at U+0000. */
	EXPECT(tok_unicode_ranges[0] >> 2 == 0);
	for (size_t i = 1; i < tok_unicode_ranges_count; i++)
		EXPECT((tok_unicode_ranges[i] >> 2) > (tok_unicode_ranges[i - 1] >> 2));
}

TEST(utf8_codec)
{
	uint8_t buf[4];
	uint32_t cp;

	EXPECT(tok_utf8_encode(0x10FFFF, buf) == 4);
	EXPECT(tok_utf8_decode(buf, 4, &cp) == 4 && cp == 0x10FFFF);
	EXPECT(tok_utf8_decode(buf, 3, &cp) == 0);
	EXPECT(tok_utf8_encode(0x7FF, buf) == 2 && buf[0] == 0xDF && buf[1] == 0xBF);
	EXPECT(tok_utf8_decode((const uint8_t *)"\xC1\xBF", 2, &cp) == 0);
	EXPECT(tok_utf8_invalid_at((const uint8_t *)"ab\xE2\x82\xAC\x80", 6) == 5);
	EXPECT(tok_utf8_invalid_at((const uint8_t *)"ab\xE2\x82\xAC", 5) == 5);
}

int main(void)
{
	RUN(gpt2_splits);
	RUN(llama3_splits);
	RUN(qwen2_splits);
	RUN(smollm_splits);
	RUN(unicode_classes);
	RUN(utf8_codec);
	return harness_finish("test_tokenizer_pretok");
}

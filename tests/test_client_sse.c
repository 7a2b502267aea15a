/*
 * test_client_sse.c - the event-stream reader (veil_sse, docs/client.md
 * "Event streams"): the same events, digest and receipt whatever the byte
 * boundaries and line endings; comments, other fields and multi-line data
 * as WHATWG's "Interpreting an event stream" says; [DONE] and what may
 * follow it; truncated streams; data that is not a JSON object; the line
 * and event caps. The text digest is checked against SHA-256 of the text
 * written out here by hand, so it cannot agree with the reader by
 * construction.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/client.h"
#include "veil/crypto.h"
#include "veil/limits.h"

#define CHUNK(content)                                                                             \
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"     \
	"\"delta\":{\"content\":" content "}}]}\n\n"

/* A chat stream as a worker sends it: padding comments, a first chunk with
 * the role and empty content, text with JSON escapes (the digest is over
 * the decoded UTF-8), a finish chunk, a usage chunk with the receipt. */
static const char chat_stream[] =
    ":     \n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
    ": \n" CHUNK("\"Hel\"") CHUNK("\"lo, \\u00e9\\u4e16 \\ud83d\\ude00\"") ":\n" CHUNK(
	"\"li\\nne \\\"q\\\"\"") "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
				 "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
				 "\"stop\"}]}\n\n"
				 "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
				 "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_"
				 "tokens\":4,\"total_tokens\":7},\"veil_receipt\":\"aaa.bbb.ccc\"}"
				 "\n\n"
				 "data: [DONE]\n\n";
/* The text of those events, in UTF-8, written out by hand. */
static const char chat_text[] = "Hello, \xc3\xa9\xe4\xb8\x96 \xf0\x9f\x98\x80li\nne \"q\"";
#define CHAT_EVENTS 6 /* [DONE] is not an event for the caller */

/* What a run saw: each event's data followed by a 0x1e separator. */
typedef struct seen {
	char buf[8192];
	size_t len;
	size_t events;
	size_t stop_after; /* 0: never stop */
} seen;

static bool on_event(void *user, const char *data, size_t len)
{
	seen *s = user;

	if (data[len] != '\0' || strlen(data) != len)
		return false; /* the data is NUL-terminated, without NULs */
	if (s->len + len + 1 > sizeof s->buf)
		return false;
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len++] = 0x1e;
	s->events++;
	return s->stop_after == 0 || s->events < s->stop_after;
}

typedef struct outcome {
	veil_err feed, finish;
	bool done;
	uint8_t sha[32];
	char receipt[64];
	bool has_receipt;
	seen seen;
} outcome;

/* Feeds text in pieces cut at cuts[] (ascending, may be empty). */
static void run(const char *text, size_t n, const size_t *cuts, size_t ncuts, outcome *o)
{
	veil_sse *s = NULL;
	size_t at = 0;
	const char *r = NULL;

	memset(o, 0, sizeof *o);
	if (veil_sse_new(&s) != VEIL_OK) {
		o->feed = VEIL_E_NOMEM;
		return;
	}
	for (size_t i = 0; i <= ncuts && o->feed == VEIL_OK; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		o->feed =
		    veil_sse_feed(s, (const uint8_t *)text + at, end - at, on_event, &o->seen);
		at = end;
	}
	if (o->feed == VEIL_OK) {
		o->finish = veil_sse_finish(s, &o->done, o->sha, &r);
		if (r != NULL) {
			snprintf(o->receipt, sizeof o->receipt, "%s", r);
			o->has_receipt = true;
		}
	}
	veil_sse_free(s);
}

static void run_whole(const char *text, outcome *o)
{
	run(text, strlen(text), NULL, 0, o);
}

static bool same(const outcome *a, const outcome *b)
{
	return a->feed == b->feed && a->finish == b->finish && a->done == b->done &&
	       memcmp(a->sha, b->sha, 32) == 0 && a->has_receipt == b->has_receipt &&
	       strcmp(a->receipt, b->receipt) == 0 && a->seen.events == b->seen.events &&
	       a->seen.len == b->seen.len && memcmp(a->seen.buf, b->seen.buf, a->seen.len) == 0;
}

/* The text with every "\n" line end replaced by `eol` (new string). */
static char *with_eol(const char *text, const char *eol)
{
	size_t n = 0, k = strlen(eol);
	char *out = malloc(strlen(text) * k + 1);

	if (out == NULL)
		abort();
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\n') {
			memcpy(out + n, eol, k);
			n += k;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return out;
}

TEST(chat_stream_digest_and_receipt)
{
	outcome o;
	uint8_t want[32];

	run_whole(chat_stream, &o);
	EXPECT_OK(o.feed);
	EXPECT_OK(o.finish);
	EXPECT(o.done);
	EXPECT(o.seen.events == CHAT_EVENTS);
	REQUIRE(veil_sha256(chat_text, strlen(chat_text), want) == VEIL_OK);
	EXPECT(memcmp(o.sha, want, 32) == 0);
	EXPECT(o.has_receipt && strcmp(o.receipt, "aaa.bbb.ccc") == 0);
	/* The first event's data exactly: "data: " and the line end gone. */
	EXPECT(
	    strncmp(o.seen.buf,
		    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\x1e",
		    o.seen.len > 0 ? strcspn(o.seen.buf, "\x1e") + 1 : 1) == 0);
	/* [DONE] is never handed to the caller. */
	EXPECT(memmem(o.seen.buf, o.seen.len, "[DONE]", 6) == NULL);
}

TEST(every_split_gives_the_same)
{
	outcome whole, part;
	size_t n = strlen(chat_stream), cut;
	size_t *all = malloc(n * sizeof *all);

	REQUIRE(all != NULL);
	run_whole(chat_stream, &whole);
	for (cut = 0; cut <= n; cut++) {
		run(chat_stream, n, &cut, 1, &part);
		if (!same(&whole, &part)) {
			fprintf(stderr, "  split at %zu differs\n", cut);
			EXPECT(false);
			break;
		}
	}
	/* One byte at a time. */
	for (size_t i = 0; i < n; i++)
		all[i] = i;
	run(chat_stream, n, all, n, &part);
	EXPECT(same(&whole, &part));
	/* Two cuts: every pair within a window that holds a line end. */
	for (size_t a = 0; a < 40; a++)
		for (size_t b = a; b < 80; b++) {
			size_t two[2] = {a, b};
			run(chat_stream, n, two, 2, &part);
			EXPECT(same(&whole, &part));
		}
	free(all);
}

TEST(line_endings)
{
	outcome lf, o;
	static const char *const eols[] = {"\r\n", "\r"};

	run_whole(chat_stream, &lf);
	for (size_t e = 0; e < 2; e++) {
		char *text = with_eol(chat_stream, eols[e]);
		size_t n = strlen(text);
		run_whole(text, &o);
		EXPECT(same(&lf, &o));
		/* Split everywhere: a CRLF cut between its CR and LF included. */
		for (size_t cut = 0; cut <= n; cut++) {
			run(text, n, &cut, 1, &o);
			if (!same(&lf, &o)) {
				fprintf(stderr, "  eol %zu, split at %zu differs\n", e, cut);
				EXPECT(false);
				break;
			}
		}
		free(text);
	}
	/* Mixed line ends in one stream. */
	run_whole("data: {\"choices\":[{\"text\":\"a\"}]}\r\n\r"
		  "data: {\"choices\":[{\"text\":\"b\"}]}\r\r"
		  "data: {\"choices\":[{\"text\":\"c\"}]}\n\r\n"
		  "data: [DONE]\r\n\n",
		  &o);
	uint8_t want[32];
	REQUIRE(veil_sha256("abc", 3, want) == VEIL_OK);
	EXPECT_OK(o.feed);
	EXPECT_OK(o.finish);
	EXPECT(o.done && o.seen.events == 3 && memcmp(o.sha, want, 32) == 0);
	/* CR CR is two line ends (a blank line), not one. */
	run_whole("data: {\"choices\":[{\"text\":\"a\"}]}\r\rdata: [DONE]\r\r", &o);
	EXPECT(o.done && o.seen.events == 1);
}

TEST(comments_fields_and_spaces)
{
	outcome o;

	run_whole(": comment\n"
		  "event: message\n"
		  "id: 5\n"
		  "retry: 1000\n"
		  "datum: {\"choices\":[{\"text\":\"no\"}]}\n"
		  "data:{\"choices\":[{\"text\":\"x\"}]}\n"
		  ":another\n"
		  "\n"
		  "data:  {\"choices\":[{\"text\":\"y\"}]}\n"
		  "\n",
		  &o);
	EXPECT_OK(o.feed);
	EXPECT_OK(o.finish);
	EXPECT(!o.done); /* no [DONE]: the caller decides what that means */
	EXPECT(o.seen.events == 2);
	/* No space after the colon; then two spaces, of which one is kept. */
	EXPECT(o.seen.len == strlen("{\"choices\":[{\"text\":\"x\"}]}\x1e {\"choices\":[{\"text\":"
				    "\"y\"}]}\x1e") &&
	       memcmp(o.seen.buf,
		      "{\"choices\":[{\"text\":\"x\"}]}\x1e {\"choices\":[{\"text\":\"y\"}]}\x1e",
		      o.seen.len) == 0);
	uint8_t want[32];
	REQUIRE(veil_sha256("xy", 2, want) == VEIL_OK);
	EXPECT(memcmp(o.sha, want, 32) == 0);
	EXPECT(!o.has_receipt);

	/* Only comments and blank lines: no event, an empty digest. */
	run_whole(": a\n\n\n: b\n\n", &o);
	EXPECT_OK(o.feed);
	EXPECT_OK(o.finish);
	EXPECT(o.seen.events == 0);
	REQUIRE(veil_sha256("", 0, want) == VEIL_OK);
	EXPECT(memcmp(o.sha, want, 32) == 0);
	/* A byte-order mark may start the stream (and only start it). */
	run_whole("\xef\xbb\xbf"
		  "data: {\"choices\":[{\"text\":\"b\"}]}\n\n",
		  &o);
	EXPECT(o.feed == VEIL_OK && o.seen.events == 1);
	run_whole("\n\xef\xbb\xbf"
		  "data: {\"choices\":[{\"text\":\"b\"}]}\n\n",
		  &o);
	EXPECT(o.feed == VEIL_OK && o.seen.events == 0);
}

TEST(multi_line_data)
{
	outcome o;
	uint8_t want[32];

	/* Data lines join with LF; "data" alone is an empty line. */
	run_whole("data: {\"choices\":\n"
		  "data\n"
		  "data: [{\"text\":\"ab\"}]}\n\n",
		  &o);
	EXPECT_OK(o.feed);
	EXPECT_OK(o.finish);
	EXPECT(o.seen.events == 1);
	EXPECT(o.seen.len == strlen("{\"choices\":\n\n[{\"text\":\"ab\"}]}\x1e") &&
	       memcmp(o.seen.buf, "{\"choices\":\n\n[{\"text\":\"ab\"}]}\x1e", o.seen.len) == 0);
	REQUIRE(veil_sha256("ab", 2, want) == VEIL_OK);
	EXPECT(memcmp(o.sha, want, 32) == 0);

	/* With CRLF line ends, cut anywhere: CRLF is one line end, so the
	 * data lines still make one event. */
	{
		static const char crlf[] =
		    "data: {\"choices\":\r\ndata: [{\"text\":\"ab\"}]}\r\n\r\n";
		size_t n = strlen(crlf);
		for (size_t cut = 0; cut <= n; cut++) {
			run(crlf, n, &cut, 1, &o);
			EXPECT(o.feed == VEIL_OK && o.finish == VEIL_OK && o.seen.events == 1 &&
			       memcmp(o.sha, want, 32) == 0);
		}
	}
}

TEST(which_text_is_hashed)
{
	outcome o;
	uint8_t want[32];

	/* Completions: choices[0].text. */
	run_whole(
	    "data: {\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"one "
	    "\"}]}\n\n"
	    "data: {\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"two\"}]}"
	    "\n\n"
	    "data: [DONE]\n\n",
	    &o);
	REQUIRE(veil_sha256("one two", 7, want) == VEIL_OK);
	EXPECT(o.finish == VEIL_OK && memcmp(o.sha, want, 32) == 0);
	/* A chat chunk hashes delta.content only, a completion chunk text
	 * only, whatever else they carry; only choices[0] counts; null
	 * content, error events and usage chunks add nothing. */
	run_whole(
	    "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"text\":\"X\","
	    "\"delta\":{\"content\":\"a\"}}]}\n\n"
	    "data: {\"object\":\"text_completion\",\"choices\":[{\"text\":\"b\","
	    "\"delta\":{\"content\":\"Y\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"c\"}},{\"delta\":{\"content\":\"Z\"}}]}"
	    "\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n"
	    "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"text\":\"V\","
	    "\"delta\":{\"content\":null}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":5}}]}\n\n"
	    "data: {\"choices\":{\"text\":\"W\"}}\n\n"
	    "data: {\"error\":{\"message\":\"busy\"}}\n\n"
	    "data: {\"choices\":[],\"usage\":{\"total_tokens\":1}}\n\n",
	    &o);
	EXPECT_OK(o.feed);
	EXPECT(o.seen.events == 9);
	REQUIRE(veil_sha256("abc", 3, want) == VEIL_OK);
	EXPECT(o.finish == VEIL_OK && memcmp(o.sha, want, 32) == 0);
}

TEST(receipt_from_the_last_event)
{
	outcome o;

	run_whole("data: {\"choices\":[],\"veil_receipt\":\"first\"}\n\n"
		  "data: {\"choices\":[{\"text\":\"t\"}]}\n\n"
		  "data: {\"choices\":[],\"veil_receipt\":\"second\"}\n\n"
		  "data: [DONE]\n\n",
		  &o);
	EXPECT(o.finish == VEIL_OK && o.has_receipt && strcmp(o.receipt, "second") == 0);
	run_whole("data: {\"choices\":[],\"veil_receipt\":7}\n\n", &o);
	EXPECT_ERR(o.feed, VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "veil_receipt") != NULL);
}

TEST(done_and_after)
{
	outcome o;

	/* Ending right after [DONE] is a complete stream... */
	run_whole(CHUNK("\"a\"") "data: [DONE]\n\n", &o);
	EXPECT(o.feed == VEIL_OK && o.finish == VEIL_OK && o.done && o.seen.events == 1);
	/* ... and so is a comment after it. */
	run_whole(CHUNK("\"a\"") "data: [DONE]\n\n: bye\n", &o);
	EXPECT(o.feed == VEIL_OK && o.finish == VEIL_OK && o.done);
	/* Nothing may follow it: an event, or another [DONE]. */
	run_whole("data: [DONE]\n\n" CHUNK("\"a\""), &o);
	EXPECT_ERR(o.feed, VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "[DONE]") != NULL && o.seen.events == 0);
	run_whole("data: [DONE]\n\ndata: [DONE]\n\n", &o);
	EXPECT_ERR(o.feed, VEIL_E_MALFORMED);
	/* [DONE] is the whole data, exactly. */
	run_whole("data: [DONE] \n\n", &o);
	EXPECT_ERR(o.feed, VEIL_E_MALFORMED);
	run_whole("data: [DONE]\ndata: \n\n", &o);
	EXPECT_ERR(o.feed, VEIL_E_MALFORMED);
	run_whole("data: [done]\n\n", &o);
	EXPECT_ERR(o.feed, VEIL_E_MALFORMED);
}

TEST(truncated)
{
	size_t n = strlen(chat_stream);
	outcome o;

	/* Cut anywhere but at an event's end: truncated, or at least not
	 * done. Cut after the blank line of [DONE]: complete. */
	for (size_t cut = 0; cut < n; cut++) {
		bool at_event_end = cut == 0 || (cut >= 2 && chat_stream[cut - 1] == '\n' &&
						 chat_stream[cut - 2] == '\n');
		size_t start = cut;

		run(chat_stream, cut, NULL, 0, &o);
		EXPECT_OK(o.feed);
		EXPECT(!o.done);
		if (at_event_end) {
			EXPECT_OK(o.finish);
			continue;
		}
		/* Otherwise only a whole comment line may end it cleanly. */
		while (start > 0 && chat_stream[start - 1] != '\n')
			start--;
		if (chat_stream[cut - 1] == '\n') {
			start = cut - 1;
			while (start > 0 && chat_stream[start - 1] != '\n')
				start--;
		}
		if (chat_stream[cut - 1] == '\n' && chat_stream[start] == ':')
			EXPECT_OK(o.finish);
		else
			EXPECT_ERR(o.finish, VEIL_E_TRUNCATED);
	}
	run(chat_stream, n, NULL, 0, &o);
	EXPECT(o.finish == VEIL_OK && o.done);
	/* Named cases. */
	run_whole(CHUNK("\"a\"") "data: [DONE]\n", &o); /* no blank line after [DONE] */
	EXPECT_ERR(o.finish, VEIL_E_TRUNCATED);
	run_whole(CHUNK("\"a\"") "data: [DO", &o);
	EXPECT_ERR(o.finish, VEIL_E_TRUNCATED);
	run_whole("data: {\"choices\":[{\"text\":\"a\"}]}\n", &o);
	EXPECT_ERR(o.finish, VEIL_E_TRUNCATED);
	EXPECT(o.seen.events == 0);
	run_whole("data: {\"choices\":[{\"text\":\"a\"}]}\r", &o);
	EXPECT_ERR(o.finish, VEIL_E_TRUNCATED);
	run_whole(": a comment cut shor", &o);
	EXPECT_ERR(o.finish, VEIL_E_TRUNCATED);
}

TEST(data_that_is_not_an_object)
{
	static const char *const bad[] = {
	    "data: hello\n\n",
	    "data: {\"choices\":\n\n",
	    "data: {\"a\":1} x\n\n",
	    "data: [1,2]\n\n",
	    "data: \"text\"\n\n",
	    "data:\n\n",
	    "data: {\"a\":1,\"a\":2}\n\n",
	};
	outcome o;
	uint8_t want[32];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run_whole(bad[i], &o);
		EXPECT_ERR(o.feed, VEIL_E_MALFORMED);
		EXPECT(o.seen.events == 0);
	}
	/* A model may emit a NUL token: the worker escapes it as \u0000 and
	 * hashes the byte, so the reader must take it, and hash it too. */
	run_whole("data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":"
		  "{\"content\":\"a\\u0000b\"}}]}\n\ndata: [DONE]\n\n",
		  &o);
	EXPECT_OK(o.feed);
	EXPECT_OK(o.finish);
	EXPECT(o.done && o.seen.events == 1);
	REQUIRE(veil_sha256("a\0b", 3, want) == VEIL_OK);
	EXPECT(memcmp(o.sha, want, 32) == 0);
	/* A failure is final: later feeds and finish say so. */
	veil_sse *s = NULL;
	bool done = true;
	uint8_t sha[32];
	const char *r = "x";
	REQUIRE(veil_sse_new(&s) == VEIL_OK);
	EXPECT_ERR(veil_sse_feed(s, (const uint8_t *)"data: x\n\n", 9, NULL, NULL),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(
	    veil_sse_feed(s, (const uint8_t *)CHUNK("\"a\""), strlen(CHUNK("\"a\"")), NULL, NULL),
	    VEIL_E_MALFORMED);
	EXPECT_ERR(veil_sse_finish(s, &done, sha, &r), VEIL_E_MALFORMED);
	EXPECT(!done && r == NULL);
	veil_sse_free(s);
}

TEST(caller_stops_and_caps)
{
	veil_sse *s = NULL;
	char *big;
	bool done;
	uint8_t sha[32];
	const char *r;

	/* on_event returning false stops the stream. */
	{
		veil_sse *x = NULL;
		seen st = {.stop_after = 2};
		REQUIRE(veil_sse_new(&x) == VEIL_OK);
		EXPECT_ERR(veil_sse_feed(x, (const uint8_t *)chat_stream, strlen(chat_stream),
					 on_event, &st),
			   VEIL_E_IO);
		EXPECT(st.events == 2);
		veil_sse_free(x);
	}
	/* No callback is fine. */
	REQUIRE(veil_sse_new(&s) == VEIL_OK);
	EXPECT_OK(veil_sse_feed(s, (const uint8_t *)chat_stream, strlen(chat_stream), NULL, NULL));
	EXPECT_OK(veil_sse_finish(s, &done, sha, &r));
	EXPECT(done && r != NULL && strcmp(r, "aaa.bbb.ccc") == 0);
	/* Finishing twice gives the same; feeding after finishing does not. */
	uint8_t again[32];
	EXPECT_OK(veil_sse_finish(s, &done, again, &r));
	EXPECT(memcmp(sha, again, 32) == 0 && done);
	EXPECT_ERR(veil_sse_feed(s, (const uint8_t *)"\n", 1, NULL, NULL), VEIL_E_USAGE);
	veil_sse_free(s);

	/* A line at the cap is fine; one byte more is refused, even in pieces. */
	big = malloc(VEIL_SSE_EVENT_MAX + 64);
	REQUIRE(big != NULL);
	memset(big, ' ', VEIL_SSE_LINE_MAX + 1);
	big[0] = ':';
	REQUIRE(veil_sse_new(&s) == VEIL_OK);
	EXPECT_OK(veil_sse_feed(s, (const uint8_t *)big, VEIL_SSE_LINE_MAX, NULL, NULL));
	EXPECT_OK(veil_sse_feed(s, (const uint8_t *)"\n", 1, NULL, NULL));
	EXPECT_OK(veil_sse_feed(s, (const uint8_t *)big, VEIL_SSE_LINE_MAX - 1, NULL, NULL));
	EXPECT_ERR(veil_sse_feed(s, (const uint8_t *)big, 2, NULL, NULL), VEIL_E_LIMIT);
	veil_sse_free(s);
	/* An event over the cap, in lines under theirs. */
	{
		size_t line = 64 * 1024, n = 0;
		REQUIRE(veil_sse_new(&s) == VEIL_OK);
		veil_err err = VEIL_OK;
		while (err == VEIL_OK && n <= (size_t)VEIL_SSE_EVENT_MAX) {
			memcpy(big, "data: ", 6);
			memset(big + 6, 'x', line);
			big[6 + line] = '\n';
			err = veil_sse_feed(s, (const uint8_t *)big, line + 7, NULL, NULL);
			n += line + 1;
		}
		EXPECT_ERR(err, VEIL_E_LIMIT);
		EXPECT(strstr(veil_err_detail(), "event") != NULL);
		veil_sse_free(s);
	}
	free(big);

	EXPECT_ERR(veil_sse_new(NULL), VEIL_E_USAGE);
	veil_sse_free(NULL);
}

int main(void)
{
	RUN(chat_stream_digest_and_receipt);
	RUN(every_split_gives_the_same);
	RUN(line_endings);
	RUN(comments_fields_and_spaces);
	RUN(multi_line_data);
	RUN(which_text_is_hashed);
	RUN(receipt_from_the_last_event);
	RUN(done_and_after);
	RUN(truncated);
	RUN(data_that_is_not_an_object);
	RUN(caller_stops_and_caps);
	return harness_finish("test_client_sse");
}

/*
 * test_receipt_payload.c - the shape of a receipt's payload
 * (docs/receipt.md, "Payload"), each rule broken once under a good
 * signature: every member missing, every member of the wrong type,
 * members nobody defined, digests that are not 64 lower-case hex digits,
 * counts out of range or not adding up, strings too long or with control
 * characters, another version, and JSON that is not one object. What is
 * allowed is checked too: any member order, the boundaries of each range.
 */
#include "test_receipt_util.h"

static const char *const top_members[] = {
    "ver",
    "worker",
    "id",
    "model",
    "iat",
    "evidence_sha256",
    "model_sha256",
    "request_sha256",
    "response_sha256",
    "usage",
    "stream",
    "ohttp",
};
static const char *const usage_names[] = {"prompt_tokens", "completion_tokens", "total_tokens"};
static const char *const digests[] = {"evidence_sha256", "model_sha256", "request_sha256",
				      "response_sha256"};

/* The sample payload with member key of obj (the top level, or "usage")
 * set to v (taken over), or removed when v is NULL. */
static json_t *with(const char *in, const char *key, json_t *v)
{
	json_t *p = rc_sample_json(), *obj = in == NULL ? p : json_object_get(p, in);

	if (v == NULL)
		json_object_del(obj, key);
	else
		json_object_set_new(obj, key, v);
	return p;
}

/* One case, named in the failure message. */
static void expect_case(const char *what, json_t *payload, veil_err want)
{
	harness_expect_err(__FILE__, __LINE__, what, (int)rc_verify_json(payload), (int)want);
}

TEST(sample_verifies)
{
	veil_receipt r = rc_sample(), got;
	char text[1024];

	rc_payload_text(&r, text, sizeof text);
	EXPECT_OK(rc_verify_payload(text, &got));
	EXPECT(strcmp(got.worker, r.worker) == 0 && got.completion_tokens == 42);
	expect_case("the sample as JSON", rc_sample_json(), VEIL_OK);
}

TEST(every_member_missing)
{
	for (size_t i = 0; i < sizeof top_members / sizeof top_members[0]; i++)
		expect_case(top_members[i], with(NULL, top_members[i], NULL), VEIL_E_MALFORMED);
	for (size_t i = 0; i < sizeof usage_names / sizeof usage_names[0]; i++)
		expect_case(usage_names[i], with("usage", usage_names[i], NULL), VEIL_E_MALFORMED);
}

TEST(every_member_of_wrong_type)
{
	static const char *const strings[] = {"worker", "id", "model"};
	static const char *const bools[] = {"stream", "ohttp"};

	for (size_t i = 0; i < 3; i++) {
		expect_case(strings[i], with(NULL, strings[i], json_integer(1)), VEIL_E_MALFORMED);
		expect_case(strings[i], with(NULL, strings[i], json_null()), VEIL_E_MALFORMED);
		expect_case(strings[i], with(NULL, strings[i], json_pack("[s]", "w")),
			    VEIL_E_MALFORMED);
	}
	for (size_t i = 0; i < 4; i++) {
		expect_case(digests[i], with(NULL, digests[i], json_integer(0)), VEIL_E_MALFORMED);
		expect_case(digests[i], with(NULL, digests[i], json_object()), VEIL_E_MALFORMED);
	}
	for (size_t i = 0; i < 2; i++) {
		expect_case(bools[i], with(NULL, bools[i], json_integer(1)), VEIL_E_MALFORMED);
		expect_case(bools[i], with(NULL, bools[i], json_string("true")), VEIL_E_MALFORMED);
		expect_case(bools[i], with(NULL, bools[i], json_null()), VEIL_E_MALFORMED);
	}
	expect_case("iat string", with(NULL, "iat", json_string("1790000000")), VEIL_E_MALFORMED);
	expect_case("iat real", with(NULL, "iat", json_real(1790000000.0)), VEIL_E_MALFORMED);
	expect_case("iat bool", with(NULL, "iat", json_true()), VEIL_E_MALFORMED);
	expect_case("usage array", with(NULL, "usage", json_array()), VEIL_E_MALFORMED);
	expect_case("usage string", with(NULL, "usage", json_string("17")), VEIL_E_MALFORMED);
	expect_case("usage null", with(NULL, "usage", json_null()), VEIL_E_MALFORMED);
	for (size_t i = 0; i < 3; i++) {
		expect_case(usage_names[i], with("usage", usage_names[i], json_string("17")),
			    VEIL_E_MALFORMED);
		expect_case(usage_names[i], with("usage", usage_names[i], json_real(17.0)),
			    VEIL_E_MALFORMED);
	}
	expect_case("ver string", with(NULL, "ver", json_string("1")), VEIL_E_MALFORMED);
	expect_case("ver real", with(NULL, "ver", json_real(1.0)), VEIL_E_MALFORMED);
	expect_case("ver null", with(NULL, "ver", json_null()), VEIL_E_MALFORMED);
}

TEST(unknown_members)
{
	json_t *p;

	expect_case("extra top-level member", with(NULL, "extra", json_integer(1)),
		    VEIL_E_MALFORMED);
	expect_case("extra top-level null", with(NULL, "exp", json_null()), VEIL_E_MALFORMED);
	expect_case("extra usage member", with("usage", "cached_tokens", json_integer(0)),
		    VEIL_E_MALFORMED);
	/* A member whose name differs only in case is another member. */
	p = with(NULL, "iat", NULL);
	json_object_set_new(p, "IAT", json_integer(RC_NOW));
	expect_case("IAT for iat", p, VEIL_E_MALFORMED);
}

TEST(bad_hex)
{
	static const struct {
		const char *what, *hex;
	} cases[] = {
	    {"upper case", "000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f"},
	    {"all upper", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"},
	    {"63 digits", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1"},
	    {"65 digits", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0"},
	    {"66 digits", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00"},
	    {"62 digits", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"},
	    {"non-hex g", "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1"},
	    {"space", "000102030405060708090a0b0c0d0e0f 01112131415161718191a1b1c1d1e1f"},
	    {"0x prefix", "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
	    {"empty", ""},
	    {"base64", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"},
	};

	for (size_t d = 0; d < 4; d++)
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
			expect_case(cases[i].what,
				    with(NULL, digests[d], json_string(cases[i].hex)),
				    VEIL_E_MALFORMED);
}

TEST(counts_and_times)
{
	json_t *p;

	/* total_tokens is the sum, nothing else. */
	expect_case("total + 1", with("usage", "total_tokens", json_integer(60)), VEIL_E_MALFORMED);
	expect_case("total - 1", with("usage", "total_tokens", json_integer(58)), VEIL_E_MALFORMED);
	expect_case("total 0", with("usage", "total_tokens", json_integer(0)), VEIL_E_MALFORMED);
	/* Negative values. */
	for (size_t i = 0; i < 3; i++)
		expect_case(usage_names[i], with("usage", usage_names[i], json_integer(-1)),
			    VEIL_E_MALFORMED);
	p = with("usage", "prompt_tokens", json_integer(-17));
	json_object_set_new(json_object_get(p, "usage"), "total_tokens", json_integer(25));
	expect_case("negative that sums", p, VEIL_E_MALFORMED);
	expect_case("iat 0", with(NULL, "iat", json_integer(0)), VEIL_E_MALFORMED);
	expect_case("iat -1", with(NULL, "iat", json_integer(-1)), VEIL_E_MALFORMED);
	expect_case("iat 1", with(NULL, "iat", json_integer(1)), VEIL_OK);
	/* The I-JSON range: 2^53 - 1 is the largest. */
	expect_case("iat 2^53-1", with(NULL, "iat", json_integer(VEIL_RECEIPT_INT_MAX)), VEIL_OK);
	expect_case("iat 2^53", with(NULL, "iat", json_integer(VEIL_RECEIPT_INT_MAX + 1)),
		    VEIL_E_MALFORMED);
	expect_case("iat 2^53+1", with(NULL, "iat", json_integer(VEIL_RECEIPT_INT_MAX + 2)),
		    VEIL_E_MALFORMED);
	expect_case("iat 2^63-1", with(NULL, "iat", json_integer(INT64_MAX)), VEIL_E_MALFORMED);
	for (size_t i = 0; i < 2; i++) {
		p = with("usage", usage_names[i], json_integer(VEIL_RECEIPT_INT_MAX + 2));
		json_object_set_new(json_object_get(p, "usage"), usage_names[1 - i],
				    json_integer(0));
		json_object_set_new(json_object_get(p, "usage"), "total_tokens",
				    json_integer(VEIL_RECEIPT_INT_MAX + 2));
		expect_case("count 2^53+1", p, VEIL_E_MALFORMED);
		p = with("usage", usage_names[i], json_integer(VEIL_RECEIPT_INT_MAX));
		json_object_set_new(json_object_get(p, "usage"), usage_names[1 - i],
				    json_integer(0));
		json_object_set_new(json_object_get(p, "usage"), "total_tokens",
				    json_integer(VEIL_RECEIPT_INT_MAX));
		expect_case("count 2^53-1", p, VEIL_OK);
	}
	/* Each part in range, the sum not. */
	p = with("usage", "prompt_tokens", json_integer(VEIL_RECEIPT_INT_MAX));
	json_object_set_new(json_object_get(p, "usage"), "completion_tokens", json_integer(2));
	json_object_set_new(json_object_get(p, "usage"), "total_tokens",
			    json_integer(VEIL_RECEIPT_INT_MAX + 2));
	expect_case("sum 2^53+1", p, VEIL_E_MALFORMED);
}

/* Numbers as text: what jansson's integers cannot show. */
TEST(numbers_as_text)
{
	static const struct {
		const char *iat;
		veil_err want;
	} cases[] = {
	    {"9007199254740993", VEIL_E_MALFORMED},
	    {"1790000000.0", VEIL_E_MALFORMED},
	    {"1.79e9", VEIL_E_MALFORMED},
	    {"99999999999999999999", VEIL_E_MALFORMED},
	    {"-0", VEIL_E_MALFORMED},
	    {"01790000000", VEIL_E_MALFORMED},
	    {"+1790000000", VEIL_E_MALFORMED},
	    {"0x6AB0E580", VEIL_E_MALFORMED},
	    {"\"1790000000\"", VEIL_E_MALFORMED},
	    {"NaN", VEIL_E_MALFORMED},
	    {RC_INT_MAX, VEIL_OK},
	    {"1790000000", VEIL_OK},
	};
	veil_receipt r = rc_sample(), got;
	char text[1024], *at, mod[1100];

	rc_payload_text(&r, text, sizeof text);
	at = strstr(text, "\"iat\":1790000000");
	REQUIRE(at != NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(mod, sizeof mod, "%.*s\"iat\":%s%s", (int)(at - text), text, cases[i].iat,
			 at + strlen("\"iat\":1790000000"));
		harness_expect_err(__FILE__, __LINE__, cases[i].iat,
				   (int)rc_verify_payload(mod, &got), (int)cases[i].want);
	}
}

TEST(strings)
{
	static const char *const names[] = {"worker", "id", "model"};
	static const struct {
		const char *what, *text;
		veil_err want;
	} cases[] = {
	    {"newline", "a\nb", VEIL_E_MALFORMED},
	    {"carriage return", "a\rb", VEIL_E_MALFORMED},
	    {"tab", "a\tb", VEIL_E_MALFORMED},
	    {"escape", "\x1b[2J", VEIL_E_MALFORMED},
	    {"DEL", "a\x7f", VEIL_E_MALFORMED},
	    {"C1 NEL", "a\xc2\x85", VEIL_E_MALFORMED},
	    {"C1 CSI",
	     "\xc2\x9b"
	     "2J",
	     VEIL_E_MALFORMED},
	    {"U+00A0 is text",
	     "a\xc2\xa0"
	     "b",
	     VEIL_OK},
	    {"emoji is text", "\xf0\x9f\xa6\x99", VEIL_OK},
	    {"empty", "", VEIL_OK},
	};
	char text[VEIL_RECEIPT_TEXT_MAX + 2];
	veil_receipt got;

	for (size_t n = 0; n < 3; n++) {
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
			expect_case(cases[i].what, with(NULL, names[n], json_string(cases[i].text)),
				    cases[i].want);
		/* The cap, in bytes. */
		memset(text, 'w', sizeof text);
		text[VEIL_RECEIPT_TEXT_MAX] = '\0';
		expect_case("128 bytes", with(NULL, names[n], json_string(text)), VEIL_OK);
		text[VEIL_RECEIPT_TEXT_MAX] = 'w';
		text[VEIL_RECEIPT_TEXT_MAX + 1] = '\0';
		expect_case("129 bytes", with(NULL, names[n], json_string(text)), VEIL_E_MALFORMED);
		/* 43 three-byte characters: 43 characters, 129 bytes. */
		text[0] = '\0';
		for (int k = 0; k < 43; k++)
			strncat(text, "\xe2\x82\xac", sizeof text - strlen(text) - 1);
		expect_case("129 bytes of UTF-8", with(NULL, names[n], json_string(text)),
			    VEIL_E_MALFORMED);
	}
	/* \u0000 and a lone surrogate escape never reach the checks. */
	{
		veil_receipt r = rc_sample();
		char t[1024], mod[1100], *at;

		rc_payload_text(&r, t, sizeof t);
		at = strstr(t, "worker-7f3a");
		REQUIRE(at != NULL);
		snprintf(mod, sizeof mod, "%.*s\\u0000%s", (int)(at - t), t, at);
		EXPECT_ERR(rc_verify_payload(mod, &got), VEIL_E_MALFORMED);
		snprintf(mod, sizeof mod, "%.*s\\ud800%s", (int)(at - t), t, at);
		EXPECT_ERR(rc_verify_payload(mod, &got), VEIL_E_MALFORMED);
		snprintf(mod, sizeof mod, "%.*s\\u001b%s", (int)(at - t), t, at);
		EXPECT_ERR(rc_verify_payload(mod, &got), VEIL_E_MALFORMED);
		/* An escaped ordinary character is the character. */
		snprintf(mod, sizeof mod, "%.*s\\u0077%s", (int)(at - t), t, at);
		EXPECT_OK(rc_verify_payload(mod, &got));
		EXPECT(strcmp(got.worker, "wworker-7f3a") == 0);
	}
}

TEST(versions)
{
	json_t *p;

	expect_case("ver 2", with(NULL, "ver", json_integer(2)), VEIL_E_UNSUPPORTED);
	expect_case("ver 0", with(NULL, "ver", json_integer(0)), VEIL_E_UNSUPPORTED);
	expect_case("ver -1", with(NULL, "ver", json_integer(-1)), VEIL_E_UNSUPPORTED);
	/* A later version may have another shape: the version decides. */
	p = json_pack("{s:i, s:s}", "ver", 2, "anything", "else");
	expect_case("ver 2, other shape", p, VEIL_E_UNSUPPORTED);
	p = json_pack("{s:i}", "ver", 2);
	expect_case("ver 2 alone", p, VEIL_E_UNSUPPORTED);
	p = json_pack("{s:i}", "ver", 1);
	expect_case("ver 1 alone", p, VEIL_E_MALFORMED);
}

TEST(not_one_object)
{
	static const char *const texts[] = {
	    "", "[]", "null", "1", "\"receipt\"", "{", "{}", "{\"ver\":1,\"ver\":1}",
	};
	veil_receipt r = rc_sample(), got;
	char text[1024], mod[1100];

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		harness_expect_err(__FILE__, __LINE__, texts[i],
				   (int)rc_verify_payload(texts[i], &got), (int)VEIL_E_MALFORMED);
	rc_payload_text(&r, text, sizeof text);
	/* Trailing bytes after the object. */
	snprintf(mod, sizeof mod, "%s x", text);
	EXPECT_ERR(rc_verify_payload(mod, &got), VEIL_E_MALFORMED);
	snprintf(mod, sizeof mod, "%s{}", text);
	EXPECT_ERR(rc_verify_payload(mod, &got), VEIL_E_MALFORMED);
	/* A second "iat": the two readings of a duplicate member. */
	snprintf(mod, sizeof mod, "%.*s,\"iat\":1}", (int)strlen(text) - 1, text);
	EXPECT_ERR(rc_verify_payload(mod, &got), VEIL_E_MALFORMED);
	/* Trailing white space is JSON's own, and allowed. */
	snprintf(mod, sizeof mod, " %s\n", text);
	EXPECT_OK(rc_verify_payload(mod, &got));
	/* The payload wrapped in an array. */
	snprintf(mod, sizeof mod, "[%s]", text);
	EXPECT_ERR(rc_verify_payload(mod, &got), VEIL_E_MALFORMED);
}

/* Order does not matter: the members reversed, and usage too. */
TEST(member_order_free)
{
	json_t *p = rc_sample_json(), *rev = json_object(), *usage = json_object();
	veil_receipt r = rc_sample(), got;
	char *text;

	for (size_t i = 3; i-- > 0;)
		json_object_set(usage, usage_names[i],
				json_object_get(json_object_get(p, "usage"), usage_names[i]));
	for (size_t i = sizeof top_members / sizeof top_members[0]; i-- > 0;)
		json_object_set(rev, top_members[i],
				strcmp(top_members[i], "usage") == 0
				    ? usage
				    : json_object_get(p, top_members[i]));
	text = json_dumps(rev, JSON_COMPACT);
	REQUIRE(text != NULL && strncmp(text, "{\"ohttp\":false", 14) == 0);
	EXPECT_OK(rc_verify_payload(text, &got));
	EXPECT(strcmp(got.model, r.model) == 0 && got.prompt_tokens == 17 &&
	       got.completion_tokens == 42 && got.created == RC_NOW && got.stream && !got.ohttp &&
	       memcmp(got.request, r.request, 32) == 0);
	free(text);
	json_decref(usage);
	json_decref(rev);
	json_decref(p);
}

int main(void)
{
	RUN(sample_verifies);
	RUN(every_member_missing);
	RUN(every_member_of_wrong_type);
	RUN(unknown_members);
	RUN(bad_hex);
	RUN(counts_and_times);
	RUN(numbers_as_text);
	RUN(strings);
	RUN(versions);
	RUN(not_one_object);
	RUN(member_order_free);
	rc_keys_free();
	return harness_finish("test_receipt_payload");
}

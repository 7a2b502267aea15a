/*
 * test_json.c - strict parsing, raw member spans, and RFC 8785 (JCS).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"

static char *jcs_of(const char *text)
{
	json_t *v = NULL;
	uint8_t *out = NULL;
	size_t len;
	if (veil_json_parse((const uint8_t *)text, strlen(text), &v) != VEIL_OK)
		return NULL;
	if (veil_jcs_encode(v, &out, &len) != VEIL_OK)
		out = NULL;
	json_decref(v);
	return (char *)out;
}

TEST(jcs_issue_vector_sha384)
{
	/* The vector the issue gives: SHA-384 of JCS({"b":1,"a":"test","c":{"d":"e"}}). */
	char *c = jcs_of("{\"b\":1,\"a\":\"test\",\"c\":{\"d\":\"e\"}}");
	uint8_t d[48];
	char hex[97];
	REQUIRE(c != NULL);
	EXPECT(strcmp(c, "{\"a\":\"test\",\"b\":1,\"c\":{\"d\":\"e\"}}") == 0);
	EXPECT_OK(veil_sha384(c, strlen(c), d));
	veil_hex_encode(d, sizeof d, hex);
	EXPECT(strcmp(hex, "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c"
			   "4597480a186427c813ca941da78870c3") == 0);
	free(c);
}

TEST(jcs_rfc8785_example)
{
	/* RFC 8785 section 3.2.2 (input) and 3.2.3 (output). */
	char *c = jcs_of("{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
			 "0.000000000000000000000000001], \"string\": "
			 "\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\", "
			 "\"literals\": [null, true, false]}");
	REQUIRE(c != NULL);
	EXPECT(
	    strcmp(
		c,
		"{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,"
		"4.5,0.002,1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}") ==
	    0);
	free(c);
}

TEST(jcs_sorts_by_utf16_code_units)
{
	/* RFC 8785 section 3.2.3 sorting example: U+1F600 (a surrogate pair,
	 * D83D) sorts before U+FB33 although its UTF-8 bytes sort after. */
	char *c = jcs_of("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":"
			 "\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":"
			 "\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":"
			 "\"Latin Small Letter O With Diaeresis\"}");
	REQUIRE(c != NULL);
	const char *order[] = {"\\r",         "\"1\"",        "\xc2\x80",
			       "\xc3\xb6",    "\xe2\x82\xac", "\xf0\x9f\x98\x80",
			       "\xef\xac\xb3"};
	const char *prev = c;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		const char *at = strstr(c, order[i]);
		EXPECT(at != NULL && at >= prev);
		if (at != NULL)
			prev = at;
	}
	free(c);
}

static void expect_number(double x, const char *want)
{
	json_t *v = json_real(x);
	uint8_t *out = NULL;
	size_t len;
	EXPECT_OK(veil_jcs_encode(v, &out, &len));
	if (out == NULL || strcmp((char *)out, want) != 0) {
		fprintf(stderr, "  JCS number: got %s want %s\n", out ? (char *)out : "(null)",
			want);
		harness_failures_in_test++;
	}
	free(out);
	json_decref(v);
}

static double from_bits(uint64_t bits)
{
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

TEST(jcs_numbers_rfc8785_appendix_b)
{
	expect_number(from_bits(0x0000000000000000), "0");
	expect_number(from_bits(0x8000000000000000), "0");
	expect_number(from_bits(0x0000000000000001), "5e-324");
	expect_number(from_bits(0x8000000000000001), "-5e-324");
	expect_number(from_bits(0x7fefffffffffffff), "1.7976931348623157e+308");
	expect_number(from_bits(0x4340000000000000), "9007199254740992");
	expect_number(from_bits(0xc340000000000000), "-9007199254740992");
	expect_number(from_bits(0x4430000000000000), "295147905179352830000");
	expect_number(from_bits(0x44b52d02c7e14af5), "9.999999999999997e+22");
	expect_number(from_bits(0x44b52d02c7e14af6), "1e+23");
	expect_number(from_bits(0x44b52d02c7e14af7), "1.0000000000000001e+23");
	expect_number(from_bits(0x444b1ae4d6e2ef4e), "999999999999999700000");
	expect_number(from_bits(0x444b1ae4d6e2ef4f), "999999999999999900000");
	expect_number(from_bits(0x444b1ae4d6e2ef50), "1e+21");
	expect_number(from_bits(0x3eb0c6f7a0b5ed8c), "9.999999999999997e-7");
	expect_number(from_bits(0x3eb0c6f7a0b5ed8d), "0.000001");
	expect_number(from_bits(0x41b3de4355555553), "333333333.3333332");
	expect_number(from_bits(0x41b3de4355555554), "333333333.33333325");
	expect_number(from_bits(0x41b3de4355555555), "333333333.3333333");
	expect_number(from_bits(0x41b3de4355555556), "333333333.3333334");
	expect_number(from_bits(0x41b3de4355555557), "333333333.33333343");
	expect_number(from_bits(0xbecbf647612f3696), "-0.0000033333333333333333");
	expect_number(from_bits(0x43143ff3c1cb0959), "1424953923781206.2");
}

TEST(jcs_refuses_what_has_no_canonical_form)
{
	json_t *big = json_integer(9007199254740993LL);
	uint8_t *out = NULL;
	size_t len;
	EXPECT_ERR(veil_jcs_encode(big, &out, &len), VEIL_E_UNSUPPORTED);
	json_decref(big);
	json_t *nan = json_real(NAN); /* jansson refuses NaN: NULL */
	EXPECT(nan == NULL);
}

TEST(strict_parse_rejects_duplicates_depth_and_garbage)
{
	json_t *v = NULL;
	const char *dup = "{\"a\":1,\"a\":2}";
	EXPECT_ERR(veil_json_parse((const uint8_t *)dup, strlen(dup), &v), VEIL_E_MALFORMED);
	const char *trail = "{\"a\":1} x";
	EXPECT_ERR(veil_json_parse((const uint8_t *)trail, strlen(trail), &v), VEIL_E_MALFORMED);
	const char *nul = "{\"a\":\"\\u0000\"}";
	EXPECT_ERR(veil_json_parse((const uint8_t *)nul, strlen(nul), &v), VEIL_E_MALFORMED);
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	EXPECT_ERR(veil_json_parse((const uint8_t *)deep, sizeof deep, &v), VEIL_E_LIMIT);
	char ok[64];
	memset(ok, '[', 32);
	memset(ok + 32, ']', 32);
	EXPECT_OK(veil_json_parse((const uint8_t *)ok, sizeof ok, &v));
	json_decref(v);
}

TEST(typed_getters_name_the_key)
{
	json_t *v = NULL;
	const char *doc = "{\"n\":5,\"s\":\"x\",\"o\":{},\"a\":[]}";
	int64_t n;
	const char *s;
	json_t *o;
	REQUIRE(veil_json_parse((const uint8_t *)doc, strlen(doc), &v) == VEIL_OK);
	EXPECT_OK(veil_json_get_int(v, "n", 0, 10, &n));
	EXPECT(n == 5);
	EXPECT_ERR(veil_json_get_int(v, "n", 6, 10, &n), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_json_get_int(v, "s", 0, 10, &n), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "\"s\"") != NULL);
	EXPECT_OK(veil_json_get_string(v, "s", &s));
	EXPECT_OK(veil_json_get_object(v, "o", &o));
	EXPECT_ERR(veil_json_get_object(v, "a", &o), VEIL_E_MALFORMED);
	EXPECT_OK(veil_json_get_array(v, "a", &o));
	EXPECT_ERR(veil_json_get_string(v, "missing", &s), VEIL_E_MALFORMED);
	json_decref(v);
}

static const char *raw(const char *doc, const char *key, size_t *n, veil_err *err)
{
	const uint8_t *p = NULL;
	*err = veil_json_raw_member((const uint8_t *)doc, strlen(doc), key, &p, n);
	return (const char *)p;
}

TEST(raw_member_returns_exact_bytes)
{
	size_t n;
	veil_err err;
	const char *doc =
	    "{ \"tcbInfo\" : {\"b\": [1, {\"x\":\"}\"}], \"a\":2} , \"signature\":\"ab\"}";
	const char *p = raw(doc, "tcbInfo", &n, &err);
	EXPECT_OK(err);
	REQUIRE(p != NULL);
	EXPECT(n == strlen("{\"b\": [1, {\"x\":\"}\"}], \"a\":2}") &&
	       memcmp(p, "{\"b\": [1, {\"x\":\"}\"}], \"a\":2}", n) == 0);
	p = raw(doc, "signature", &n, &err);
	EXPECT_OK(err);
	EXPECT(p != NULL && n == 4 && memcmp(p, "\"ab\"", 4) == 0);
	raw(doc, "b", &n, &err); /* nested keys are not top-level members */
	EXPECT_ERR(err, VEIL_E_NOT_FOUND);
}

TEST(raw_member_negatives)
{
	size_t n;
	veil_err err;
	raw("{\"a\":1,\"a\":2}", "a", &n, &err);
	EXPECT_ERR(err, VEIL_E_MALFORMED);
	raw("[\"a\",1]", "a", &n, &err);
	EXPECT_ERR(err, VEIL_E_MALFORMED);
	raw("{\"a\":[\"k\":1]}", "a", &n, &err);
	EXPECT_ERR(err, VEIL_E_MALFORMED);
	raw("{\"a\":{\"k\" 1}}", "a", &n, &err);
	EXPECT_ERR(err, VEIL_E_MALFORMED);
	raw("{\"a\":\"unterminated}", "a", &n, &err);
	EXPECT_ERR(err, VEIL_E_MALFORMED);
	raw("{\"a\":1} trailing", "a", &n, &err);
	EXPECT_ERR(err, VEIL_E_MALFORMED);
	raw("{\"a\":[}", "a", &n, &err);
	EXPECT_ERR(err, VEIL_E_MALFORMED);
	char deep[100];
	deep[0] = '{';
	memcpy(deep + 1, "\"a\":", 4);
	memset(deep + 5, '[', 40);
	memset(deep + 45, ']', 40);
	deep[85] = '}';
	deep[86] = 0;
	raw(deep, "a", &n, &err);
	EXPECT_ERR(err, VEIL_E_LIMIT);
}

int main(void)
{
	RUN(jcs_issue_vector_sha384);
	RUN(jcs_rfc8785_example);
	RUN(jcs_sorts_by_utf16_code_units);
	RUN(jcs_numbers_rfc8785_appendix_b);
	RUN(jcs_refuses_what_has_no_canonical_form);
	RUN(strict_parse_rejects_duplicates_depth_and_garbage);
	RUN(typed_getters_name_the_key);
	RUN(raw_member_returns_exact_bytes);
	RUN(raw_member_negatives);
	return harness_finish("test_json");
}

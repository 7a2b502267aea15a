/*
 * test_tlog_sth.c - signed tree heads (veil_tlog_sth_sign and
 * veil_tlog_sth_verify): round trips at the edges of every field, the
 * exact header and payload docs/tlog.md writes, every character altered,
 * another key, headers and payloads made by hand (algorithms, typ, kid,
 * members missing, extra and of the wrong type, negative and too large
 * numbers, roots of the wrong length or spelling), what surrounds the JWS,
 * and the signer's refusals.
 */
#include <inttypes.h>

#include "test_jose_util.h"
#include "test_tlog_util.h"

static veil_jwk *key, *pub;

static veil_tlog_sth sample(void)
{
	veil_tlog_sth s;

	memset(&s, 0, sizeof s);
	s.tree_size = 1234567;
	s.timestamp_ms = INT64_C(1790000000123);
	for (int i = 0; i < 32; i++)
		s.root[i] = (uint8_t)(0xc0 ^ (i * 11));
	return s;
}

static bool same(const veil_tlog_sth *a, const veil_tlog_sth *b)
{
	return a->tree_size == b->tree_size && a->timestamp_ms == b->timestamp_ms &&
	       memcmp(a->root, b->root, 32) == 0;
}

static bool zeroed(const veil_tlog_sth *s)
{
	static const veil_tlog_sth zero;

	return same(s, &zero);
}

/* The header veil_tlog_sth_sign writes for k. */
static void header_text(const veil_jwk *k, char *buf, size_t cap)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1];

	if (veil_jwk_thumbprint_b64(k, kid) != VEIL_OK)
		setup_fail("thumbprint");
	snprintf(buf, cap, "{\"alg\":\"ES256\",\"typ\":\"veil-sth+jws\",\"kid\":\"%s\"}", kid);
}

/* docs/tlog.md's payload for s, written here with snprintf. */
static void payload_text(const veil_tlog_sth *s, char *buf, size_t cap)
{
	char *root = b64(s->root, 32);

	snprintf(buf, cap,
		 "{\"tree_size\":%" PRIu64 ",\"timestamp\":%" PRId64 ",\"root_hash\":\"%s\"}",
		 s->tree_size, s->timestamp_ms, root);
	free(root);
}

/* The caller's pointer receives the head (gcc's -Wdangling-pointer
 * misreads a local handed to the signer and then returned). */
static void sign_ok(const veil_tlog_sth *s, char **tok)
{
	*tok = NULL;
	if (veil_tlog_sth_sign(key, s, tok) != VEIL_OK || *tok == NULL)
		setup_fail("veil_tlog_sth_sign");
}

TEST(round_trip)
{
	veil_tlog_sth s = sample(), got;
	char *tok;

	sign_ok(&s, &tok);
	EXPECT_OK(veil_tlog_sth_verify(pub, tok, strlen(tok), &got));
	EXPECT(same(&s, &got));
	/* The private key verifies too. */
	EXPECT_OK(veil_tlog_sth_verify(key, tok, strlen(tok), &got));
	EXPECT(same(&s, &got));
	EXPECT(strlen(tok) <= VEIL_TLOG_STH_MAX_BYTES);
	free(tok);
	/* The edges: the empty tree at time 0, and the largest values. */
	memset(&s, 0, sizeof s);
	sign_ok(&s, &tok);
	EXPECT_OK(veil_tlog_sth_verify(pub, tok, strlen(tok), &got));
	EXPECT(same(&s, &got));
	free(tok);
	s.tree_size = VEIL_TLOG_INT_MAX;
	s.timestamp_ms = VEIL_TLOG_INT_MAX;
	memset(s.root, 0xff, 32);
	sign_ok(&s, &tok);
	EXPECT_OK(veil_tlog_sth_verify(pub, tok, strlen(tok), &got));
	EXPECT(same(&s, &got));
	free(tok);
}

TEST(exact_bytes)
{
	veil_tlog_sth s = sample();
	char header[256], payload[256], *tok, *h, *p;
	const char *dot1, *dot2;
	uint8_t *hb, *pb;
	size_t hl, pl;

	sign_ok(&s, &tok);
	dot1 = strchr(tok, '.');
	dot2 = strrchr(tok, '.');

	REQUIRE(dot1 != NULL && dot2 != NULL && dot1 < dot2);
	h = strndup(tok, (size_t)(dot1 - tok));
	p = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	REQUIRE(h != NULL && p != NULL);
	hb = unb64(h, &hl);
	pb = unb64(p, &pl);
	header_text(key, header, sizeof header);
	payload_text(&s, payload, sizeof payload);
	EXPECT(hl == strlen(header) && memcmp(hb, header, hl) == 0);
	EXPECT(pl == strlen(payload) && memcmp(pb, payload, pl) == 0);
	EXPECT(strlen(dot2 + 1) == 86); /* r || s, 64 bytes */
	free(hb);
	free(pb);
	free(h);
	free(p);
	free(tok);
}

TEST(tamper_every_character)
{
	veil_tlog_sth s = sample(), got;
	char *tok;
	size_t len;
	int passed = 0, not_zeroed = 0;

	sign_ok(&s, &tok);
	len = strlen(tok);

	for (size_t i = 0; i < len; i++) {
		char saved = tok[i];

		if (saved == '.')
			continue;
		tok[i] = saved == 'A' ? 'B' : 'A';
		if (veil_tlog_sth_verify(pub, tok, len, &got) == VEIL_OK)
			passed++;
		else if (!zeroed(&got))
			not_zeroed++;
		tok[i] = saved;
	}
	EXPECT(passed == 0);
	EXPECT(not_zeroed == 0);
	EXPECT_OK(veil_tlog_sth_verify(pub, tok, len, &got));
	free(tok);
}

TEST(another_key)
{
	veil_tlog_sth s = sample(), got;
	veil_jwk *other = gen(VEIL_JWK_EC_P256), *other_pub = pub_of(other);
	char *tok, header[256], payload[256], *forged;

	sign_ok(&s, &tok);

	/* A genuine head checked with another log's key: its kid. */
	EXPECT_ERR(veil_tlog_sth_verify(other_pub, tok, strlen(tok), &got), VEIL_E_VERIFY);
	/* Another key claiming ours: the signature. */
	header_text(key, header, sizeof header);
	payload_text(&s, payload, sizeof payload);
	forged = sign_raw(other, VEIL_JWS_ES256, header, payload);
	EXPECT_ERR(veil_tlog_sth_verify(pub, forged, strlen(forged), &got), VEIL_E_VERIFY);
	free(forged);
	/* Not a P-256 key at all. */
	veil_jwk *p384 = gen(VEIL_JWK_EC_P384);
	EXPECT_ERR(veil_tlog_sth_verify(p384, tok, strlen(tok), &got), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_sth_verify(NULL, tok, strlen(tok), &got), VEIL_E_USAGE);
	veil_jwk_free(p384);
	veil_jwk_free(other);
	veil_jwk_free(other_pub);
	free(tok);
}

#define TYP "\"typ\":\"veil-sth+jws\""

/* Headers by hand ("KID" becomes the key's thumbprint), each signed
 * ES256 by the log's key over a good payload. */
TEST(headers_by_hand)
{
	static const struct {
		const char *tmpl;
		veil_err want;
	} cases[] = {
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"}", VEIL_OK},
	    {"{ \"kid\":\"KID\", " TYP ", \"alg\" : \"ES256\" }", VEIL_OK},
	    {"{\"alg\":\"none\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"HS256\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES384\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"es256\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{" TYP ",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":1," TYP ",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":\"veil-receipt+jws\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":[],\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KIDx\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES256\"," TYP "}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":7}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"crit\":[\"x\"]}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"jwk\":{}}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"[\"ES256\"]", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"}x", VEIL_E_MALFORMED},
	};
	char thumb[VEIL_JWK_THUMBPRINT_B64_LEN + 1], header[512], payload[256], *tok;
	veil_tlog_sth s = sample(), got;

	EXPECT_OK(veil_jwk_thumbprint_b64(key, thumb));
	payload_text(&s, payload, sizeof payload);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t o = 0;

		for (const char *t = cases[i].tmpl; *t != 0 && o + 64 < sizeof header;) {
			if (strncmp(t, "KID", 3) == 0) {
				o += (size_t)snprintf(header + o, sizeof header - o, "%s", thumb);
				t += 3;
			} else {
				header[o++] = *t++;
			}
		}
		header[o] = 0;
		tok = sign_raw(key, VEIL_JWS_ES256, header, payload);
		harness_expect_err(__FILE__, __LINE__, cases[i].tmpl,
				   (int)veil_tlog_sth_verify(pub, tok, strlen(tok), &got),
				   (int)cases[i].want);
		free(tok);
	}
}

#define ROOT "\"root_hash\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\""

/* Payloads by hand, under the right header. */
TEST(payloads_by_hand)
{
	static const struct {
		const char *payload;
		veil_err want;
	} cases[] = {
	    {"{\"tree_size\":5,\"timestamp\":1," ROOT "}", VEIL_OK},
	    {"{" ROOT ",\"timestamp\":1,\"tree_size\":5}", VEIL_OK},
	    {"{\"tree_size\":9007199254740991,\"timestamp\":9007199254740991," ROOT "}", VEIL_OK},
	    /* Missing, extra, duplicated members. */
	    {"{\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1," ROOT ",\"x\":1}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1," ROOT ",\"ver\":1}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"tree_size\":5,\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    {"{}", VEIL_E_MALFORMED},
	    /* Not an object. */
	    {"[5,1,\"AAAA\"]", VEIL_E_MALFORMED},
	    {"5", VEIL_E_MALFORMED},
	    {"null", VEIL_E_MALFORMED},
	    /* Numbers: negative, too large, not integers, strings. */
	    {"{\"tree_size\":-1,\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":-1," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":9007199254740992,\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":9007199254740992," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":18446744073709551615,\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5.0,\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5e0,\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":\"5\",\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":true," ROOT "}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":null,\"timestamp\":1," ROOT "}", VEIL_E_MALFORMED},
	    /* The root: wrong length, wrong type, another spelling. */
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":\"AAAA\"}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":"
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	     VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":"
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	     VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":"
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
	     VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":"
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+\"}",
	     VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":"
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB\"}",
	     VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":"
	     "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}",
	     VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":[]}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1,\"root_hash\":null}", VEIL_E_MALFORMED},
	    /* Not one JSON value. */
	    {"{\"tree_size\":5,\"timestamp\":1," ROOT "} {}", VEIL_E_MALFORMED},
	    {"{\"tree_size\":5,\"timestamp\":1," ROOT, VEIL_E_MALFORMED},
	};
	char header[256], *tok;
	veil_tlog_sth got;

	header_text(key, header, sizeof header);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		veil_err err;

		tok = sign_raw(key, VEIL_JWS_ES256, header, cases[i].payload);
		err = veil_tlog_sth_verify(pub, tok, strlen(tok), &got);
		harness_expect_err(__FILE__, __LINE__, cases[i].payload, (int)err,
				   (int)cases[i].want);
		if (err != VEIL_OK && !zeroed(&got))
			harness_fail(__FILE__, __LINE__, "a failure left the output set");
		free(tok);
	}
}

TEST(framing)
{
	static const char *const around[][2] = {
	    {"", " "}, {"", "\n"}, {" ", ""}, {"\"", "\""}, {"", "."}, {"", "="}, {"", ".x"},
	};
	veil_tlog_sth s = sample(), got;
	char *tok, buf[VEIL_TLOG_STH_MAX_BYTES + 64];
	size_t len;

	sign_ok(&s, &tok);
	len = strlen(tok);

	for (size_t i = 0; i < sizeof around / sizeof around[0]; i++) {
		snprintf(buf, sizeof buf, "%s%s%s", around[i][0], tok, around[i][1]);
		EXPECT_ERR(veil_tlog_sth_verify(pub, buf, strlen(buf), &got), VEIL_E_MALFORMED);
	}
	EXPECT_ERR(veil_tlog_sth_verify(pub, tok, len + 1, &got), VEIL_E_MALFORMED);
	for (size_t n = 0; n < len; n++)
		if (veil_tlog_sth_verify(pub, tok, n, &got) == VEIL_OK)
			harness_fail(__FILE__, __LINE__, "a truncated tree head verified");
	EXPECT_ERR(veil_tlog_sth_verify(pub, NULL, 0, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_tlog_sth_verify(pub, NULL, 5, &got), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_sth_verify(pub, "..", 2, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_tlog_sth_verify(pub, tok, len, NULL), VEIL_E_USAGE);
	memset(buf, 'A', sizeof buf);
	buf[10] = buf[20] = '.';
	EXPECT_ERR(veil_tlog_sth_verify(pub, buf, VEIL_TLOG_STH_MAX_BYTES + 1, &got), VEIL_E_LIMIT);
	free(tok);
}

TEST(signer_refuses)
{
	veil_tlog_sth s = sample();
	veil_jwk *p384 = gen(VEIL_JWK_EC_P384);
	char *tok = (char *)"unchanged";

	s.tree_size = (uint64_t)VEIL_TLOG_INT_MAX + 1;
	EXPECT_ERR(veil_tlog_sth_sign(key, &s, &tok), VEIL_E_USAGE);
	EXPECT(tok == NULL);
	s = sample();
	s.timestamp_ms = -1;
	EXPECT_ERR(veil_tlog_sth_sign(key, &s, &tok), VEIL_E_USAGE);
	s.timestamp_ms = VEIL_TLOG_INT_MAX + 1;
	EXPECT_ERR(veil_tlog_sth_sign(key, &s, &tok), VEIL_E_USAGE);
	s = sample();
	EXPECT_ERR(veil_tlog_sth_sign(pub, &s, &tok), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_sth_sign(p384, &s, &tok), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_sth_sign(NULL, &s, &tok), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_sth_sign(key, NULL, &tok), VEIL_E_USAGE);
	EXPECT(tok == NULL);
	veil_jwk_free(p384);
}

/* A head over a real log's root, and a client's check of an entry
 * against it. */
TEST(head_over_log)
{
	veil_tlog_sth s, got;
	veil_tlog_hash leaf, *p;
	uint8_t buf[64];
	size_t n, len;
	char *tok;
	tlog_fx f;

	REQUIRE(tl_fx_open(&f));
	REQUIRE(tl_fill(f.t, 21));
	s.tree_size = veil_tlog_size(f.t);
	s.timestamp_ms = INT64_C(1790000000000);
	REQUIRE(veil_tlog_root(f.t, s.tree_size, s.root) == VEIL_OK);
	sign_ok(&s, &tok);
	EXPECT_OK(veil_tlog_sth_verify(pub, tok, strlen(tok), &got));
	len = tl_entry(13, buf, sizeof buf);
	EXPECT_OK(veil_tlog_leaf_hash(buf, len, leaf));
	EXPECT_OK(veil_tlog_inclusion_proof(f.t, 13, got.tree_size, &p, &n));
	EXPECT_OK(veil_tlog_verify_inclusion(13, got.tree_size, leaf, p, n, got.root));
	free(p);
	free(tok);
	tl_fx_done(&f);
}

int main(void)
{
	key = gen(VEIL_JWK_EC_P256);
	pub = pub_of(key);
	RUN(round_trip);
	RUN(exact_bytes);
	RUN(tamper_every_character);
	RUN(another_key);
	RUN(headers_by_hand);
	RUN(payloads_by_hand);
	RUN(framing);
	RUN(signer_refuses);
	RUN(head_over_log);
	veil_jwk_free(key);
	veil_jwk_free(pub);
	return harness_finish("test_tlog_sth");
}

/*
 * test_receipt.c - signed receipts (include/veil/receipt.h): round trips
 * with every field checked, the exact bytes of header and payload against
 * docs/receipt.md, the signature checked by veil_jws_verify and by OpenSSL
 * alone, every kind of tampering, headers made by hand (other algorithms,
 * typ, kid), what surrounds the JWS, the signer's refusals, and
 * veil_receipt_check. The payload's shape rules are in
 * test_receipt_payload.c.
 */
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "test_receipt_util.h"
#include "veil/crypto.h"

static void expect_same(const veil_receipt *a, const veil_receipt *b)
{
	EXPECT(strcmp(a->worker, b->worker) == 0);
	EXPECT(strcmp(a->id, b->id) == 0);
	EXPECT(strcmp(a->model, b->model) == 0);
	EXPECT(memcmp(a->evidence, b->evidence, 32) == 0);
	EXPECT(memcmp(a->model_digest, b->model_digest, 32) == 0);
	EXPECT(memcmp(a->request, b->request, 32) == 0);
	EXPECT(memcmp(a->response, b->response, 32) == 0);
	EXPECT(a->prompt_tokens == b->prompt_tokens);
	EXPECT(a->completion_tokens == b->completion_tokens);
	EXPECT(a->created == b->created);
	EXPECT(a->stream == b->stream);
	EXPECT(a->ohttp == b->ohttp);
}

/* The caller's pointer receives the receipt (gcc's -Wdangling-pointer
 * misreads a local handed to the signer and then returned). */
static void sign_sample(const veil_receipt *r, char **tok)
{
	*tok = NULL;
	if (veil_receipt_sign(rc_key(), r, tok) != VEIL_OK || *tok == NULL)
		setup_fail("veil_receipt_sign");
}

TEST(round_trip_every_field)
{
	veil_receipt r = rc_sample(), got;
	char *tok;

	sign_sample(&r, &tok);
	EXPECT_OK(veil_receipt_verify(rc_pub(), tok, strlen(tok), &got));
	expect_same(&r, &got);
	/* The private key verifies too (its public half is used). */
	EXPECT_OK(veil_receipt_verify(rc_key(), tok, strlen(tok), &got));
	expect_same(&r, &got);
	free(tok);

	/* The other values of the flags, zero counts and non-ASCII text. */
	r.stream = false;
	r.ohttp = true;
	r.prompt_tokens = 0;
	r.completion_tokens = 0;
	r.created = 1;
	snprintf(r.model, sizeof r.model, "%s", "mod\xc3\xa8le-\xe2\x82\xac-\xf0\x9f\xa6\x99");
	sign_sample(&r, &tok);
	EXPECT_OK(veil_receipt_verify(rc_pub(), tok, strlen(tok), &got));
	expect_same(&r, &got);
	free(tok);

	/* Empty strings and the largest counts. */
	r.worker[0] = r.id[0] = r.model[0] = '\0';
	r.prompt_tokens = VEIL_RECEIPT_INT_MAX - 5;
	r.completion_tokens = 5;
	r.created = VEIL_RECEIPT_INT_MAX;
	sign_sample(&r, &tok);
	EXPECT_OK(veil_receipt_verify(rc_pub(), tok, strlen(tok), &got));
	expect_same(&r, &got);
	free(tok);
}

/* The exact bytes: header and payload as docs/receipt.md writes them. */
TEST(exact_header_and_payload)
{
	veil_receipt r = rc_sample();
	char header[256], payload[1024], *tok, *h, *p;
	const char *dot1, *dot2;
	uint8_t *hb, *pb;
	size_t hl, pl;

	sign_sample(&r, &tok);
	dot1 = strchr(tok, '.');
	dot2 = strrchr(tok, '.');

	REQUIRE(dot1 != NULL && dot2 != NULL && dot1 < dot2);
	h = strndup(tok, (size_t)(dot1 - tok));
	p = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	REQUIRE(h != NULL && p != NULL);
	hb = unb64(h, &hl);
	pb = unb64(p, &pl);
	rc_header_text(rc_key(), header, sizeof header);
	rc_payload_text(&r, payload, sizeof payload);
	EXPECT(hl == strlen(header) && memcmp(hb, header, hl) == 0);
	EXPECT(pl == strlen(payload) && memcmp(pb, payload, pl) == 0);
	/* The signature is 64 bytes of r||s: 86 base64url characters. */
	EXPECT(strlen(dot2 + 1) == 86);
	free(hb);
	free(pb);
	free(h);
	free(p);
	free(tok);
}

/* ECDSA over SHA-256 of "header.payload" with OpenSSL alone: the r||s
 * signature (RFC 7518 section 3.4) turned into DER by hand. */
static bool openssl_verifies(const veil_jwk *pub, const char *tok)
{
	const char *dot2 = strrchr(tok, '.');
	size_t sig_len = 0;
	uint8_t *sig = unb64(dot2 + 1, &sig_len), *der = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *br = BN_bin2bn(sig, 32, NULL), *bs = BN_bin2bn(sig + 32, 32, NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;
	int der_len;

	if (sig_len != 64 || es == NULL || br == NULL || bs == NULL || ctx == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1)
		setup_fail("ECDSA_SIG");
	der_len = i2d_ECDSA_SIG(es, &der);
	if (der_len > 0 &&
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, veil_jwk_pkey(pub)) == 1)
		ok = EVP_DigestVerify(ctx, der, (size_t)der_len, (const uint8_t *)tok,
				      (size_t)(dot2 - tok)) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	free(sig);
	return ok;
}

TEST(signature_checked_independently)
{
	veil_receipt r = rc_sample();
	char *tok, payload[1024];
	veil_jws jws;
	json_t *typ, *kid;
	char thumb[VEIL_JWK_THUMBPRINT_B64_LEN + 1];

	sign_sample(&r, &tok);

	EXPECT_OK(veil_jws_verify(tok, strlen(tok), rc_pub(), VEIL_JWS_ES256, &jws));
	rc_payload_text(&r, payload, sizeof payload);
	EXPECT(jws.alg == VEIL_JWS_ES256 && jws.payload_len == strlen(payload) &&
	       memcmp(jws.payload, payload, jws.payload_len) == 0);
	typ = json_object_get(jws.header, "typ");
	kid = json_object_get(jws.header, "kid");
	EXPECT_OK(veil_jwk_thumbprint_b64(rc_pub(), thumb));
	EXPECT(json_is_string(typ) && strcmp(json_string_value(typ), VEIL_RECEIPT_TYP) == 0);
	EXPECT(json_is_string(kid) && strcmp(json_string_value(kid), thumb) == 0);
	veil_jws_clear(&jws);
	EXPECT(openssl_verifies(rc_pub(), tok));
	/* And the same check fails for a flipped payload. */
	tok[strchr(tok, '.') - tok + 3] ^= 1;
	EXPECT(!openssl_verifies(rc_pub(), tok));
	free(tok);
}

/* Every character of every part replaced by another base64url one: none
 * verifies; in the payload and the signature it is a signature failure,
 * except for the last character, whose low bits base64url may forbid. */
TEST(tamper_every_character)
{
	veil_receipt r = rc_sample(), got;
	char *tok;
	size_t len, dot1, dot2;
	int bad = 0, not_verify = 0;

	sign_sample(&r, &tok);
	len = strlen(tok);
	dot1 = (size_t)(strchr(tok, '.') - tok);
	dot2 = (size_t)(strrchr(tok, '.') - tok);

	for (size_t i = 0; i < len; i++) {
		char saved = tok[i];
		veil_err err;

		if (i == dot1 || i == dot2)
			continue;
		tok[i] = saved == 'A' ? 'B' : 'A';
		err = veil_receipt_verify(rc_pub(), tok, len, &got);
		tok[i] = saved;
		if (err == VEIL_OK)
			bad++;
		if (i > dot1 && i != dot2 - 1 && i != len - 1 && err != VEIL_E_VERIFY)
			not_verify++;
		if (err != VEIL_OK && got.worker[0] != '\0')
			bad++; /* a failure leaves *out zeroed */
	}
	EXPECT(bad == 0);
	EXPECT(not_verify == 0);
	EXPECT_OK(veil_receipt_verify(rc_pub(), tok, len, &got));
	free(tok);
}

/* Two genuine receipts: the payload of one under the other's signature. */
TEST(tamper_swapped_payload)
{
	veil_receipt a = rc_sample(), b = rc_sample(), got;
	char *ta, *tb, *mix;
	const char *a1, *b1, *b2;

	b.completion_tokens = 43;
	sign_sample(&a, &ta);
	sign_sample(&b, &tb);
	a1 = strchr(ta, '.');
	b1 = strchr(tb, '.');
	b2 = strrchr(tb, '.');
	mix = malloc(strlen(ta) + strlen(tb));
	REQUIRE(mix != NULL);
	/* a's header and signature around b's payload. */
	snprintf(mix, strlen(ta) + strlen(tb), "%.*s.%.*s%s", (int)(a1 - ta), ta,
		 (int)(b2 - b1 - 1), b1 + 1, strrchr(ta, '.'));
	EXPECT_ERR(veil_receipt_verify(rc_pub(), mix, strlen(mix), &got), VEIL_E_VERIFY);
	/* b's signature on a's payload. */
	snprintf(mix, strlen(ta) + strlen(tb), "%.*s%s", (int)(strrchr(ta, '.') - ta), ta, b2);
	EXPECT_ERR(veil_receipt_verify(rc_pub(), mix, strlen(mix), &got), VEIL_E_VERIFY);
	free(mix);
	free(ta);
	free(tb);
}

TEST(another_key)
{
	veil_receipt r = rc_sample(), got;
	veil_jwk *other = gen(VEIL_JWK_EC_P256), *other_pub = pub_of(other);
	char *tok, header[256], payload[1024], *forged;

	sign_sample(&r, &tok);
	/* A genuine receipt checked with another worker's key: its kid. */
	EXPECT_ERR(veil_receipt_verify(other_pub, tok, strlen(tok), &got), VEIL_E_VERIFY);
	/* Signed by another key that claims our kid: the signature. */
	rc_header_text(rc_key(), header, sizeof header);
	rc_payload_text(&r, payload, sizeof payload);
	forged = sign_raw(other, VEIL_JWS_ES256, header, payload);
	EXPECT_ERR(veil_receipt_verify(rc_pub(), forged, strlen(forged), &got), VEIL_E_VERIFY);
	free(forged);
	/* Signed by us with the other key's kid. */
	rc_header_text(other, header, sizeof header);
	forged = rc_signed(header, payload);
	EXPECT_ERR(veil_receipt_verify(rc_pub(), forged, strlen(forged), &got), VEIL_E_VERIFY);
	EXPECT_ERR(veil_receipt_verify(other_pub, forged, strlen(forged), &got), VEIL_E_VERIFY);
	free(forged);
	free(tok);
	veil_jwk_free(other);
	veil_jwk_free(other_pub);
}

/* header with every "KID" replaced by the key's thumbprint. */
static void fill_kid(char *out, size_t cap, const char *tmpl, const char *kid)
{
	size_t n = 0;

	for (const char *t = tmpl; *t != '\0' && n + 1 < cap;) {
		if (strncmp(t, "KID", 3) == 0) {
			n += (size_t)snprintf(out + n, cap - n, "%s", kid);
			t += 3;
		} else {
			out[n++] = *t++;
		}
	}
	out[n < cap ? n : cap - 1] = '\0';
}

#define TYP "\"typ\":\"" VEIL_RECEIPT_TYP "\""

/* Headers made by hand, each signed ES256 by the receipt key whatever
 * "alg" says, over a good payload. */
TEST(headers_by_hand)
{
	static const struct {
		const char *tmpl;
		veil_err want;
	} cases[] = {
	    /* Other algorithms: not this worker's signature. */
	    {"{\"alg\":\"none\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"HS256\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES384\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"EdDSA\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"RS256\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"es256\"," TYP ",\"kid\":\"KID\"}", VEIL_E_VERIFY},
	    {"{" TYP ",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":256," TYP ",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    /* typ missing or wrong: not a receipt. */
	    {"{\"alg\":\"ES256\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":\"veil-receipt+JWS\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":\"veil-receipt\",\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\",\"typ\":1,\"kid\":\"KID\"}", VEIL_E_MALFORMED},
	    /* kid wrong: another key; missing or not a string: no receipt. */
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KIDA\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"AKID\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"\"}", VEIL_E_VERIFY},
	    {"{\"alg\":\"ES256\"," TYP "}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":[\"KID\"]}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":null}", VEIL_E_MALFORMED},
	    /* Anything more, or not one object. */
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"crit\":[\"x\"]}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"jwk\":{}}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"x5c\":[]}", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\",\"alg\":\"ES256\"}", VEIL_E_MALFORMED},
	    {"[\"ES256\",\"KID\"]", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"} x", VEIL_E_MALFORMED},
	    {"{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"", VEIL_E_MALFORMED},
	};
	veil_receipt r = rc_sample(), got;
	char thumb[VEIL_JWK_THUMBPRINT_B64_LEN + 1], header[512], payload[1024], *tok;

	EXPECT_OK(veil_jwk_thumbprint_b64(rc_key(), thumb));
	rc_payload_text(&r, payload, sizeof payload);
	/* The header veil_receipt_sign writes, made here, passes... */
	fill_kid(header, sizeof header, "{\"alg\":\"ES256\"," TYP ",\"kid\":\"KID\"}", thumb);
	tok = rc_signed(header, payload);
	EXPECT_OK(veil_receipt_verify(rc_pub(), tok, strlen(tok), &got));
	free(tok);
	/* ...and so do its members in another order, with spaces. */
	fill_kid(header, sizeof header, "{ \"kid\" : \"KID\", " TYP ", \"alg\":\"ES256\" }", thumb);
	tok = rc_signed(header, payload);
	EXPECT_OK(veil_receipt_verify(rc_pub(), tok, strlen(tok), &got));
	free(tok);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fill_kid(header, sizeof header, cases[i].tmpl, thumb);
		tok = rc_signed(header, payload);
		harness_expect_err(__FILE__, __LINE__, cases[i].tmpl,
				   (int)veil_receipt_verify(rc_pub(), tok, strlen(tok), &got),
				   (int)cases[i].want);
		free(tok);
	}
	/* "none" as RFC 7515 section A.5 writes it: an empty signature. */
	fill_kid(header, sizeof header, "{\"alg\":\"none\"," TYP ",\"kid\":\"KID\"}", thumb);
	tok = sign_raw(rc_key(), 0, header, payload);
	EXPECT(tok[strlen(tok) - 1] == '.');
	EXPECT_ERR(veil_receipt_verify(rc_pub(), tok, strlen(tok), &got), VEIL_E_MALFORMED);
	free(tok);
}

/* ES384 by a P-384 key, a header that is right apart from "alg". */
TEST(es384_by_hand)
{
	veil_receipt r = rc_sample(), got;
	veil_jwk *k384 = gen(VEIL_JWK_EC_P384);
	char header[256], payload[1024], *tok;
	char thumb[VEIL_JWK_THUMBPRINT_B64_LEN + 1];

	EXPECT_OK(veil_jwk_thumbprint_b64(rc_key(), thumb));
	snprintf(header, sizeof header,
		 "{\"alg\":\"ES384\",\"typ\":\"" VEIL_RECEIPT_TYP "\",\"kid\":\"%s\"}", thumb);
	rc_payload_text(&r, payload, sizeof payload);
	tok = sign_raw(k384, VEIL_JWS_ES384, header, payload);
	EXPECT_ERR(veil_receipt_verify(rc_pub(), tok, strlen(tok), &got), VEIL_E_VERIFY);
	free(tok);
	veil_jwk_free(k384);
}

/* What surrounds the JWS: nothing may. */
TEST(framing)
{
	static const struct {
		const char *before, *after;
		veil_err want;
	} cases[] = {
	    {"", " ", VEIL_E_MALFORMED},    {"", "\n", VEIL_E_MALFORMED},
	    {"", "\r\n", VEIL_E_MALFORMED}, {"", "\t", VEIL_E_MALFORMED},
	    {" ", "", VEIL_E_MALFORMED},    {"\"", "\"", VEIL_E_MALFORMED},
	    {"", ".", VEIL_E_MALFORMED},    {"", ".abc", VEIL_E_MALFORMED},
	    {"", "=", VEIL_E_MALFORMED},    {"", "x", VEIL_E_MALFORMED},
	    {"", "AAAA", VEIL_E_VERIFY},    {"Bearer ", "", VEIL_E_MALFORMED},
	    {".", "", VEIL_E_MALFORMED},    {"", ";x=1", VEIL_E_MALFORMED},
	};
	veil_receipt r = rc_sample(), got;
	char *tok, buf[VEIL_RECEIPT_MAX_BYTES + 64];
	size_t len;

	sign_sample(&r, &tok);
	len = strlen(tok);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "%s%s%s", cases[i].before, tok, cases[i].after);
		EXPECT_ERR(veil_receipt_verify(rc_pub(), buf, strlen(buf), &got), cases[i].want);
	}
	/* A NUL counted in the length. */
	EXPECT_ERR(veil_receipt_verify(rc_pub(), tok, len + 1, &got), VEIL_E_MALFORMED);
	/* Truncated at every length. */
	for (size_t n = 0; n < len; n++)
		if (veil_receipt_verify(rc_pub(), tok, n, &got) == VEIL_OK)
			harness_fail(__FILE__, __LINE__, "a truncated receipt verified");
	EXPECT_ERR(veil_receipt_verify(rc_pub(), "", 0, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_receipt_verify(rc_pub(), NULL, 0, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_receipt_verify(rc_pub(), "..", 2, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_receipt_verify(rc_pub(), "a.b", 3, &got), VEIL_E_MALFORMED);
	/* Over the cap, even made of valid characters. */
	memset(buf, 'A', sizeof buf);
	buf[10] = buf[20] = '.';
	EXPECT_ERR(veil_receipt_verify(rc_pub(), buf, VEIL_RECEIPT_MAX_BYTES + 1, &got),
		   VEIL_E_LIMIT);
	EXPECT_ERR(veil_receipt_verify(rc_pub(), buf, VEIL_RECEIPT_MAX_BYTES, &got),
		   VEIL_E_MALFORMED);
	EXPECT_OK(veil_receipt_verify(rc_pub(), tok, len, &got));
	free(tok);
}

/* The largest receipt Veil writes: every string at the cap, every
 * character one JSON escapes. */
TEST(largest_receipt_fits)
{
	veil_receipt r = rc_sample(), got;
	char *tok;

	memset(r.worker, '"', VEIL_RECEIPT_TEXT_MAX);
	memset(r.id, '\\', VEIL_RECEIPT_TEXT_MAX);
	memset(r.model, '"', VEIL_RECEIPT_TEXT_MAX);
	r.worker[VEIL_RECEIPT_TEXT_MAX] = r.id[VEIL_RECEIPT_TEXT_MAX] =
	    r.model[VEIL_RECEIPT_TEXT_MAX] = '\0';
	/* 16 digits each, the total too. */
	r.prompt_tokens = (VEIL_RECEIPT_INT_MAX + 1) / 2;
	r.completion_tokens = VEIL_RECEIPT_INT_MAX / 2;
	r.created = VEIL_RECEIPT_INT_MAX;
	r.stream = r.ohttp = false; /* "false" is the longer */
	sign_sample(&r, &tok);
	EXPECT(strlen(tok) == 1955); /* as limits.h says */
	EXPECT_OK(veil_receipt_verify(rc_pub(), tok, strlen(tok), &got));
	expect_same(&r, &got);
	free(tok);
}

TEST(sign_refusals)
{
	veil_receipt r = rc_sample(), bad;
	veil_jwk *p384 = gen(VEIL_JWK_EC_P384), *ed = gen(VEIL_JWK_ED25519);
	char *tok = (char *)"untouched";
	static const char *const bad_text[] = {
	    "tab\there",
	    "nl\n",
	    "esc\x1b[31m",
	    "del\x7f",
	    "c1\xc2\x85",
	    "overlong\xc0\xaf",
	    "surrogate\xed\xa0\x80",
	    "cut\xe2\x82",
	    "high\xf4\x90\x80\x80",
	    "lone\x80",
	};

	EXPECT_ERR(veil_receipt_sign(rc_pub(), &r, &tok), VEIL_E_USAGE);
	EXPECT(tok == NULL);
	EXPECT_ERR(veil_receipt_sign(p384, &r, &tok), VEIL_E_USAGE);
	EXPECT_ERR(veil_receipt_sign(ed, &r, &tok), VEIL_E_USAGE);
	EXPECT_ERR(veil_receipt_sign(NULL, &r, &tok), VEIL_E_USAGE);
	EXPECT_ERR(veil_receipt_sign(rc_key(), NULL, &tok), VEIL_E_USAGE);
	/* Strings: no NUL inside the array, bad text. */
	bad = r;
	memset(bad.id, 'a', sizeof bad.id);
	EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	for (size_t i = 0; i < sizeof bad_text / sizeof bad_text[0]; i++) {
		bad = r;
		snprintf(bad.model, sizeof bad.model, "%s", bad_text[i]);
		EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
		bad = r;
		snprintf(bad.worker, sizeof bad.worker, "%s", bad_text[i]);
		EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	}
	/* Times and counts a verifier would refuse. */
	bad = r;
	bad.created = 0;
	EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	bad.created = -1;
	EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	bad.created = VEIL_RECEIPT_INT_MAX + 1;
	EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	bad = r;
	bad.prompt_tokens = VEIL_RECEIPT_INT_MAX + 1;
	bad.completion_tokens = 0;
	EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	bad.prompt_tokens = 0;
	bad.completion_tokens = VEIL_RECEIPT_INT_MAX + 1;
	EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	bad.prompt_tokens = VEIL_RECEIPT_INT_MAX;
	bad.completion_tokens = 1; /* the total would be 2^53 */
	EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	bad.prompt_tokens = UINT64_MAX;
	bad.completion_tokens = 2; /* and would wrap in 64 bits */
	EXPECT_ERR(veil_receipt_sign(rc_key(), &bad, &tok), VEIL_E_USAGE);
	EXPECT(tok == NULL);
	/* Verifying needs a P-256 key too. */
	EXPECT_ERR(veil_receipt_verify(p384, "a.b.c", 5, &bad), VEIL_E_USAGE);
	EXPECT_ERR(veil_receipt_verify(NULL, "a.b.c", 5, &bad), VEIL_E_USAGE);
	veil_jwk_free(p384);
	veil_jwk_free(ed);
}

TEST(check_against_expectations)
{
	veil_receipt r = rc_sample();
	uint8_t other[32];
	veil_receipt_expect all = {.worker = r.worker,
				   .evidence = r.evidence,
				   .model_digest = r.model_digest,
				   .request = r.request,
				   .response = r.response},
			    none = {0}, w;

	EXPECT_OK(veil_receipt_check(&r, &all));
	EXPECT_OK(veil_receipt_check(&r, &none));
	memset(other, 0x5a, sizeof other);

	w = all;
	w.worker = "worker-7f3b";
	EXPECT_ERR(veil_receipt_check(&r, &w), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "worker") != NULL);
	w.worker = "worker-7f3";
	EXPECT_ERR(veil_receipt_check(&r, &w), VEIL_E_MISMATCH);
	w = all;
	w.evidence = other;
	EXPECT_ERR(veil_receipt_check(&r, &w), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "evidence_sha256") != NULL);
	w = all;
	w.model_digest = other;
	EXPECT_ERR(veil_receipt_check(&r, &w), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "model_sha256") != NULL);
	w = all;
	w.request = other;
	EXPECT_ERR(veil_receipt_check(&r, &w), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "request_sha256") != NULL);
	w = all;
	w.response = other;
	EXPECT_ERR(veil_receipt_check(&r, &w), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "response_sha256") != NULL);
	/* The first that differs is named. */
	w = all;
	w.model_digest = w.response = other;
	EXPECT_ERR(veil_receipt_check(&r, &w), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "model_sha256") != NULL);
	/* One differing byte anywhere is enough. */
	memcpy(other, r.response, 32);
	other[31] ^= 1;
	w = all;
	w.response = other;
	EXPECT_ERR(veil_receipt_check(&r, &w), VEIL_E_MISMATCH);
	EXPECT_ERR(veil_receipt_check(&r, NULL), VEIL_E_USAGE);
	EXPECT_ERR(veil_receipt_check(NULL, &all), VEIL_E_USAGE);
}

int main(void)
{
	RUN(round_trip_every_field);
	RUN(exact_header_and_payload);
	RUN(signature_checked_independently);
	RUN(tamper_every_character);
	RUN(tamper_swapped_payload);
	RUN(another_key);
	RUN(headers_by_hand);
	RUN(es384_by_hand);
	RUN(framing);
	RUN(largest_receipt_fits);
	RUN(sign_refusals);
	RUN(check_against_expectations);
	rc_keys_free();
	return harness_finish("test_receipt");
}

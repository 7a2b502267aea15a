/*
 * test_jose_util.h - helpers shared by the JOSE tests (header-only, static).
 *
 * Test data comes from hpke/jose-rfc7520 (the RFC 7520 cookbook) and
 * hpke/wycheproof; keys made on the spot come from veil_jwk_generate. The
 * helpers abort the binary on a setup failure (missing file, out of
 * memory), so a test's own EXPECTs are about the code under test only.
 */
#ifndef VEIL_TEST_JOSE_UTIL_H
#define VEIL_TEST_JOSE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "jose/jose_internal.h"
#include "veil/codec.h"
#include "veil/jose.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define COOKBOOK "hpke/jose-rfc7520/"
#define WP_DIR   "hpke/wycheproof/"

/* RFC 7518 appendix C: Bob's static P-256 key and Alice's ephemeral one,
 * whose Concat KDF output (AlgorithmID "A128GCM", PartyUInfo "Alice",
 * PartyVInfo "Bob", 128 bits) the appendix gives. */
#define BOB_X          "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ"
#define BOB_Y          "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"
#define BOB_D          "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"
#define ALICE_X        "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"
#define ALICE_Y        "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"
#define ALICE_D        "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"
#define APPENDIX_C_KEY "VqqN6vgjbSBcIijNcacQGg"

/* The public P-256 JWK of Bob, as a format for one replaced member. */
#define BOB_PUBLIC "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" BOB_X "\",\"y\":\"" BOB_Y "\"}"

static inline void setup_fail(const char *what)
{
	fprintf(stderr, "test setup: %s: %s\n", what, veil_err_detail());
	exit(2);
}

/* A test data file parsed as JSON (caller json_decrefs). */
static inline json_t *td_json(const char *rel)
{
	size_t len;
	uint8_t *buf = td_read(rel, &len);
	json_t *v = NULL;

	if (veil_json_parse(buf, len, &v) != VEIL_OK)
		setup_fail(rel);
	free(buf);
	return v;
}

/* obj.a.b... for a NULL-ended list of keys; NULL when a step is missing. */
static inline json_t *jget(json_t *obj, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(obj, a);
	if (b != NULL)
		v = json_object_get(v, b);
	if (c != NULL)
		v = json_object_get(v, c);
	return v;
}

static inline const char *jstr(json_t *obj, const char *a, const char *b, const char *c)
{
	const char *s = json_string_value(jget(obj, a, b, c));
	if (s == NULL) {
		fprintf(stderr, "test data: no string at %s.%s.%s\n", a, b ? b : "", c ? c : "");
		exit(2);
	}
	return s;
}

static inline veil_jwk *gen(veil_jwk_type type)
{
	veil_jwk *k = NULL;
	if (veil_jwk_generate(type, 2048, &k) != VEIL_OK)
		setup_fail("veil_jwk_generate");
	return k;
}

/* The public key of k as a new JSON object. */
static inline json_t *pub_json(const veil_jwk *k)
{
	json_t *j = NULL;
	if (veil_jwk_export_public(k, &j) != VEIL_OK)
		setup_fail("veil_jwk_export_public");
	return j;
}

/* The public half of k as its own veil_jwk. */
static inline veil_jwk *pub_of(const veil_jwk *k)
{
	json_t *j = pub_json(k);
	veil_jwk *p = NULL;
	if (veil_jwk_parse_public(j, &p) != VEIL_OK)
		setup_fail("public half");
	json_decref(j);
	return p;
}

/* base64url of n bytes, in a new string. */
static inline char *b64(const void *p, size_t n)
{
	char *s = malloc(veil_base64url_encoded_len(n) + 1);
	if (s == NULL)
		setup_fail("out of memory");
	veil_base64url_encode(p, n, s);
	return s;
}

/* Decodes base64url (strict) into a new buffer, or aborts. */
static inline uint8_t *unb64(const char *s, size_t *len)
{
	size_t cap = veil_base64_decoded_max(strlen(s)) + 1;
	uint8_t *p = malloc(cap);
	if (p == NULL || veil_base64url_decode(s, strlen(s), p, cap, len) != VEIL_OK)
		setup_fail("base64url test value");
	p[*len] = 0;
	return p;
}

/* A compact JWS over already-encoded parts, signed with the raw step (no
 * signature when alg is 0), so tests can sign what veil_jws_sign refuses
 * to write: "crit", duplicate members, padded base64url. */
static inline char *sign_parts(const veil_jwk *k, unsigned alg, const char *h, const char *p)
{
	size_t in_len = strlen(h) + 1 + strlen(p), sig_len = 0, cap = in_len + 2 * 256;
	char *out = malloc(cap), *s;
	uint8_t sig[JOSE_SIG_MAX];

	if (out == NULL)
		setup_fail("out of memory");
	snprintf(out, cap, "%s.%s", h, p);
	if (alg != 0 &&
	    jose_sig_sign(k, alg, (const uint8_t *)out, in_len, sig, &sig_len) != VEIL_OK)
		setup_fail("jose_sig_sign");
	s = b64(sig, sig_len);
	snprintf(out + in_len, cap - in_len, ".%s", s);
	free(s);
	return out;
}

/* The same from header and payload text. */
static inline char *sign_raw(const veil_jwk *k, unsigned alg, const char *header,
			     const char *payload)
{
	char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
	char *out = sign_parts(k, alg, h, p);

	free(h);
	free(p);
	return out;
}

static inline veil_err parse_pub_text(const char *text)
{
	veil_jwk *k = NULL;
	veil_err err = veil_jwk_parse_public_bytes((const uint8_t *)text, strlen(text), &k);
	veil_jwk_free(k);
	return err;
}

static inline veil_err parse_priv_text(const char *text)
{
	veil_jwk *k = NULL;
	veil_err err = veil_jwk_parse_private_bytes((const uint8_t *)text, strlen(text), &k);
	veil_jwk_free(k);
	return err;
}

/* A copy of s with bit `bit` of byte i flipped. */
static inline char *flipped(const char *s, size_t len, size_t i, int bit)
{
	char *c = malloc(len + 1);
	if (c == NULL)
		setup_fail("out of memory");
	memcpy(c, s, len);
	c[len] = '\0';
	c[i] = (char)(c[i] ^ (1 << bit));
	return c;
}

#endif

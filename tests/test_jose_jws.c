/*
 * test_jose_jws.c - compact JWS and JWT: the RFC 7520 cookbook's ECDSA and
 * Ed25519 examples, round trips for every algorithm, the exact header
 * bytes Veil writes, and the refusals that keep a verifier from being told
 * which algorithm or key to use (RFC 8725 section 3.1).
 *
 * The RFC 7520 cookbook has no ES256 or ES384 example; those are covered by
 * the Wycheproof P1363 files in test_jose_wycheproof.c and by the round
 * trips here.
 */
#include <openssl/hmac.h>

#include "test_jose_util.h"

#define ALL_ALGS (VEIL_JWS_ES256 | VEIL_JWS_ES384 | VEIL_JWS_ES512 | VEIL_JWS_EDDSA)
#define NOW      1790000000 /* 2026-09-21 */

static veil_jwk *cookbook_key(json_t *doc)
{
	veil_jwk *k = NULL;
	if (veil_jwk_parse_private(jget(doc, "input", "key", NULL), &k) != VEIL_OK)
		setup_fail("cookbook key");
	return k;
}

/* RFC 7520 section 4.3: ES512 over the Frodo payload. ECDSA signatures
 * are not reproducible, so the cookbook's is verified and ours is made
 * with the same protected header, which must come out byte for byte. */
TEST(cookbook_4_3_es512)
{
	json_t *doc = td_json(COOKBOOK "jws/4_3.ecdsa_signature.json");
	veil_jwk *k = cookbook_key(doc), *pub = pub_of(k);
	const char *compact = jstr(doc, "output", "compact", NULL);
	const char *payload = jstr(doc, "input", "payload", NULL);
	const char *protected_b64 = jstr(doc, "signing", "protected_b64u", NULL);
	json_t *extra = json_pack("{s:s}", "kid", "bilbo.baggins@hobbiton.example");
	veil_jws jws;
	char *ours = NULL;
	size_t ours_len = 0;

	EXPECT_OK(veil_jws_verify(compact, strlen(compact), pub, VEIL_JWS_ES512, &jws));
	EXPECT(jws.alg == VEIL_JWS_ES512 && jws.payload_len == strlen(payload) &&
	       memcmp(jws.payload, payload, jws.payload_len) == 0);
	EXPECT(strcmp(json_string_value(json_object_get(jws.header, "kid")),
		      "bilbo.baggins@hobbiton.example") == 0);
	veil_jws_clear(&jws);
	EXPECT_ERR(
	    veil_jws_verify(compact, strlen(compact), pub, VEIL_JWS_ES256 | VEIL_JWS_EDDSA, &jws),
	    VEIL_E_UNSUPPORTED);
	EXPECT_OK(
	    veil_jws_sign(k, extra, (const uint8_t *)payload, strlen(payload), &ours, &ours_len));
	REQUIRE(ours != NULL);
	/* Same header bytes, same payload part; the signature is fresh. */
	EXPECT(strncmp(ours, compact, strrchr(compact, '.') - compact) == 0);
	EXPECT(strncmp(ours, protected_b64, strlen(protected_b64)) == 0);
	EXPECT(strcmp(ours, compact) != 0);
	EXPECT_OK(veil_jws_verify(ours, ours_len, pub, VEIL_JWS_ES512, &jws));
	veil_jws_clear(&jws);
	free(ours);
	json_decref(extra);
	veil_jwk_free(k);
	veil_jwk_free(pub);
	json_decref(doc);
}

/* RFC 7520 section 4.8: its ES512 signature has only an unprotected
 * header, so "alg" is not signed. Veil's verifier takes protected headers
 * only and refuses the compact form; the signature itself checks out. */
TEST(cookbook_4_8_unprotected_es512)
{
	json_t *doc = td_json(COOKBOOK "jws/4_8.multiple_signatures.json");
	veil_jwk *k = NULL;
	json_t *sig = json_array_get(jget(doc, "output", "json", "signatures"), 1);
	const char *payload = jstr(doc, "output", "json", "payload");
	const char *sig_b64 = json_string_value(json_object_get(sig, "signature"));
	char compact[1024], input[512];
	size_t sig_len = 0;
	uint8_t *s;
	veil_jws jws;

	/* The keys are listed in the order of the signatures. */
	EXPECT_OK(veil_jwk_parse_private(json_array_get(jget(doc, "input", "key", NULL), 1), &k));
	REQUIRE(k != NULL && sig_b64 != NULL &&
		strcmp(json_string_value(jget(sig, "header", "alg", NULL)), "ES512") == 0);
	snprintf(compact, sizeof compact, ".%s.%s", payload, sig_b64);
	EXPECT_ERR(veil_jws_verify(compact, strlen(compact), k, VEIL_JWS_ES512, &jws),
		   VEIL_E_MALFORMED);
	/* RFC 7515 section 5.2: the signing input with an empty header. */
	snprintf(input, sizeof input, ".%s", payload);
	s = unb64(sig_b64, &sig_len);
	EXPECT_OK(
	    jose_sig_verify(k, VEIL_JWS_ES512, (const uint8_t *)input, strlen(input), s, sig_len));
	s[5] ^= 1;
	EXPECT_ERR(
	    jose_sig_verify(k, VEIL_JWS_ES512, (const uint8_t *)input, strlen(input), s, sig_len),
	    VEIL_E_VERIFY);
	free(s);
	veil_jwk_free(k);
	json_decref(doc);
}

/* RFC 8037 appendix A.4 as the cookbook carries it: Ed25519 signatures
 * are deterministic, so ours must equal the published token exactly. */
TEST(cookbook_ed25519_reproduced)
{
	json_t *doc = td_json(COOKBOOK "curve25519/jws.json");
	veil_jwk *k = cookbook_key(doc), *pub = pub_of(k);
	const char *compact = jstr(doc, "output", "compact", NULL);
	const char *payload = jstr(doc, "input", "payload", NULL);
	char *ours = NULL;
	size_t ours_len = 0;
	veil_jws jws;

	EXPECT_OK(
	    veil_jws_sign(k, NULL, (const uint8_t *)payload, strlen(payload), &ours, &ours_len));
	EXPECT(ours != NULL && strcmp(ours, compact) == 0);
	EXPECT_OK(veil_jws_verify(compact, strlen(compact), pub, VEIL_JWS_EDDSA, &jws));
	EXPECT(jws.alg == VEIL_JWS_EDDSA && strcmp((char *)jws.payload, payload) == 0);
	veil_jws_clear(&jws);
	free(ours);
	veil_jwk_free(k);
	veil_jwk_free(pub);
	json_decref(doc);
}

TEST(round_trips_and_header_bytes)
{
	static const struct {
		veil_jwk_type type;
		unsigned alg;
		const char *header;
	} cases[] = {
	    {VEIL_JWK_EC_P256, VEIL_JWS_ES256,
	     "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}"},
	    {VEIL_JWK_EC_P384, VEIL_JWS_ES384,
	     "{\"alg\":\"ES384\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}"},
	    {VEIL_JWK_EC_P521, VEIL_JWS_ES512,
	     "{\"alg\":\"ES512\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}"},
	    {VEIL_JWK_ED25519, VEIL_JWS_EDDSA,
	     "{\"alg\":\"EdDSA\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}"},
	};
	json_t *extra = json_pack("{s:s, s:s}", "kid", "k1", "typ", "at+jwt");
	static const uint8_t payload[] = {0, 1, 2, 0xff, '.', 'x'};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		veil_jwk *k = gen(cases[i].type), *pub = pub_of(k), *other = gen(cases[i].type);
		char *tok = NULL, *dot;
		size_t len = 0, hlen = 0;
		uint8_t *h;
		veil_jws jws;

		EXPECT(veil_jws_alg_for_key(k) == cases[i].alg);
		EXPECT_OK(veil_jws_sign(k, extra, payload, sizeof payload, &tok, &len));
		REQUIRE(tok != NULL && (dot = strchr(tok, '.')) != NULL);
		*dot = '\0';
		h = unb64(tok, &hlen);
		EXPECT(strcmp((char *)h, cases[i].header) == 0);
		*dot = '.';
		EXPECT_OK(veil_jws_verify(tok, len, pub, cases[i].alg, &jws));
		EXPECT(jws.payload_len == sizeof payload &&
		       memcmp(jws.payload, payload, sizeof payload) == 0);
		veil_jws_clear(&jws);
		/* The private key verifies too; another key does not. */
		EXPECT_OK(veil_jws_verify(tok, len, k, ALL_ALGS, &jws));
		veil_jws_clear(&jws);
		EXPECT_ERR(veil_jws_verify(tok, len, other, ALL_ALGS, &jws), VEIL_E_VERIFY);
		/* A public key cannot sign. */
		free(tok);
		tok = NULL;
		EXPECT_ERR(veil_jws_sign(pub, NULL, payload, 1, &tok, &len), VEIL_E_USAGE);
		free(h);
		veil_jwk_free(k);
		veil_jwk_free(pub);
		veil_jwk_free(other);
	}
	json_decref(extra);
}

TEST(sign_refusals)
{
	veil_jwk *k = gen(VEIL_JWK_EC_P256), *rsa = gen(VEIL_JWK_RSA);
	static const char *const reserved[] = {"alg", "crit", "b64"};
	char *tok = NULL;
	size_t len = 0;

	for (size_t i = 0; i < 3; i++) {
		json_t *h = json_pack("{s:s}", reserved[i], "x");
		EXPECT_ERR(veil_jws_sign(k, h, (const uint8_t *)"p", 1, &tok, &len), VEIL_E_USAGE);
		json_decref(h);
	}
	json_t *arr = json_array();
	EXPECT_ERR(veil_jws_sign(k, arr, (const uint8_t *)"p", 1, &tok, &len), VEIL_E_USAGE);
	json_decref(arr);
	EXPECT_ERR(veil_jws_sign(rsa, NULL, (const uint8_t *)"p", 1, &tok, &len),
		   VEIL_E_UNSUPPORTED);
	EXPECT(tok == NULL);
	veil_jwk_free(k);
	veil_jwk_free(rsa);
}

/* A header that names what the verifier must not accept, signed properly
 * with the raw step where a signature is possible. */
TEST(verify_refusals)
{
	veil_jwk *k = gen(VEIL_JWK_EC_P256), *pub = pub_of(k), *p384 = gen(VEIL_JWK_EC_P384);
	veil_jwk *rsa = gen(VEIL_JWK_RSA);
	json_t *pj = pub_json(k);
	char *pub_text = json_dumps(pj, JSON_COMPACT), *tok, *h, *p, hs[512];
	uint8_t mac[32];
	unsigned mac_len = 0;
	veil_jws jws;

	/* RFC 7518 section 3.6 "none", with every algorithm allowed. */
	tok = sign_raw(k, 0, "{\"alg\":\"none\"}", "{}");
	EXPECT_ERR(veil_jws_verify(tok, strlen(tok), pub, ALL_ALGS, &jws), VEIL_E_UNSUPPORTED);
	free(tok);
	/* HS256 keyed with the public key's own JSON: the classic confusion. */
	h = b64("{\"alg\":\"HS256\"}", 15);
	p = b64("{}", 2);
	snprintf(hs, sizeof hs, "%s.%s", h, p);
	HMAC(EVP_sha256(), pub_text, (int)strlen(pub_text), (uint8_t *)hs, strlen(hs), mac,
	     &mac_len);
	tok = b64(mac, mac_len);
	snprintf(hs + strlen(hs), sizeof hs - strlen(hs), ".%s", tok);
	EXPECT_ERR(veil_jws_verify(hs, strlen(hs), pub, ALL_ALGS, &jws), VEIL_E_UNSUPPORTED);
	free(tok);
	free(h);
	free(p);
	/* A good signature under an algorithm the caller does not allow. */
	tok = sign_raw(k, VEIL_JWS_ES256, "{\"alg\":\"ES256\"}", "{}");
	EXPECT_OK(veil_jws_verify(tok, strlen(tok), pub, VEIL_JWS_ES256, &jws));
	veil_jws_clear(&jws);
	EXPECT_ERR(veil_jws_verify(tok, strlen(tok), pub, VEIL_JWS_EDDSA, &jws),
		   VEIL_E_UNSUPPORTED);
	/* ES256 named, but the caller's key is P-384 or RSA. */
	EXPECT_ERR(veil_jws_verify(tok, strlen(tok), p384, ALL_ALGS, &jws), VEIL_E_MISMATCH);
	EXPECT_ERR(veil_jws_verify(tok, strlen(tok), rsa, ALL_ALGS, &jws), VEIL_E_MISMATCH);
	free(tok);
	/* ES384 named over a P-256 signature. */
	tok = sign_raw(k, VEIL_JWS_ES256, "{\"alg\":\"ES384\"}", "{}");
	EXPECT_ERR(veil_jws_verify(tok, strlen(tok), pub, ALL_ALGS, &jws), VEIL_E_MISMATCH);
	free(tok);
	/* Signed headers with what no verifier here understands. */
	static const char *const bad_headers[] = {
	    "{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}",
	    "{\"alg\":\"ES256\",\"crit\":[]}",
	    "{\"alg\":\"ES256\",\"b64\":false}",
	};
	for (size_t i = 0; i < 3; i++) {
		tok = sign_raw(k, VEIL_JWS_ES256, bad_headers[i], "{}");
		EXPECT_ERR(veil_jws_verify(tok, strlen(tok), pub, ALL_ALGS, &jws),
			   VEIL_E_UNSUPPORTED);
		free(tok);
	}
	static const char *const malformed_headers[] = {
	    "{\"alg\":\"ES256\",\"alg\":\"none\"}", /* duplicate: read two ways */
	    "[\"ES256\"]",
	    "{\"typ\":\"JWT\"}",
	    "{\"alg\":\"ES256\",\"enc\":\"A256GCM\"}",
	    "{\"alg\":256}",
	    "{\"alg\":\"ES256\"} ",
	};
	for (size_t i = 0; i < sizeof malformed_headers / sizeof malformed_headers[0]; i++) {
		tok = sign_raw(k, VEIL_JWS_ES256, malformed_headers[i], "{}");
		veil_err err = veil_jws_verify(tok, strlen(tok), pub, ALL_ALGS, &jws);
		EXPECT(err == (i == 5 ? VEIL_OK : VEIL_E_MALFORMED));
		if (err == VEIL_OK)
			veil_jws_clear(&jws);
		free(tok);
	}
	free(pub_text);
	json_decref(pj);
	veil_jwk_free(k);
	veil_jwk_free(pub);
	veil_jwk_free(p384);
	veil_jwk_free(rsa);
}

/* Encodings: padding, the other alphabet, a DER signature, lengths. */
TEST(encoding_refusals)
{
	veil_jwk *k = gen(VEIL_JWK_EC_P256);
	char *tok = sign_raw(k, VEIL_JWS_ES256, "{\"alg\":\"ES256\"}", "{\"a\":1}");
	size_t len = strlen(tok), sig_len = 0;
	char *last = strrchr(tok, '.'), buf[1024];
	uint8_t *sig = unb64(last + 1, &sig_len), der[80];
	veil_jws jws;

	REQUIRE(sig_len == 64);
	EXPECT_OK(veil_jws_verify(tok, len, k, VEIL_JWS_ES256, &jws));
	veil_jws_clear(&jws);
	snprintf(buf, sizeof buf, "%s=", tok); /* a padded signature */
	EXPECT_ERR(veil_jws_verify(buf, strlen(buf), k, ALL_ALGS, &jws), VEIL_E_MALFORMED);
	snprintf(buf, sizeof buf, "%s.", tok); /* four parts */
	EXPECT_ERR(veil_jws_verify(buf, strlen(buf), k, ALL_ALGS, &jws), VEIL_E_MALFORMED);
	snprintf(buf, sizeof buf, "%.*s", (int)(strchr(tok, '.') - tok), tok); /* one part */
	EXPECT_ERR(veil_jws_verify(buf, strlen(buf), k, ALL_ALGS, &jws), VEIL_E_MALFORMED);
	/* A validly signed token whose payload part is padded: the padding
	 * is what refuses it (RFC 7515 section 2: no "=" characters). */
	char *padded = sign_parts(k, VEIL_JWS_ES256, "eyJhbGciOiJFUzI1NiJ9", "eyJhIjoxfQ==");
	EXPECT_ERR(veil_jws_verify(padded, strlen(padded), k, ALL_ALGS, &jws), VEIL_E_MALFORMED);
	free(padded);
	padded = sign_parts(k, VEIL_JWS_ES256, "eyJhbGciOiJFUzI1NiJ9", "eyJhIjoxfQ");
	EXPECT_OK(veil_jws_verify(padded, strlen(padded), k, ALL_ALGS, &jws));
	veil_jws_clear(&jws);
	free(padded);
	/* The header part in the standard alphabet ("+" for "-"). */
	padded = sign_parts(k, VEIL_JWS_ES256, "eyJhbGciOiJFUzI1NiIsImtpZCI6Ij4+In0", "e30");
	EXPECT_ERR(veil_jws_verify(padded, strlen(padded), k, ALL_ALGS, &jws), VEIL_E_MALFORMED);
	free(padded);
	/* The signature as DER (RFC 3279), as a confused signer sends it. */
	size_t dl = 0;
	der[dl++] = 0x30;
	der[dl++] = 0;
	for (int part = 0; part < 2; part++) {
		const uint8_t *v = sig + 32 * part;
		der[dl++] = 0x02;
		der[dl++] = (uint8_t)(32 + (v[0] >= 0x80));
		if (v[0] >= 0x80)
			der[dl++] = 0;
		memcpy(der + dl, v, 32);
		dl += 32;
	}
	der[1] = (uint8_t)(dl - 2);
	char *ds = b64(der, dl);
	snprintf(buf, sizeof buf, "%.*s.%s", (int)(last - tok), tok, ds);
	EXPECT_ERR(veil_jws_verify(buf, strlen(buf), k, ALL_ALGS, &jws), VEIL_E_VERIFY);
	free(ds);
	/* 63 and 65 bytes. */
	for (size_t n = 63; n <= 65; n += 2) {
		uint8_t s65[65] = {0};
		memcpy(s65, sig, 64);
		ds = b64(s65, n);
		snprintf(buf, sizeof buf, "%.*s.%s", (int)(last - tok), tok, ds);
		EXPECT_ERR(veil_jws_verify(buf, strlen(buf), k, ALL_ALGS, &jws), VEIL_E_VERIFY);
		free(ds);
	}
	/* Over the size cap. */
	char *big = malloc(VEIL_JWS_MAX_BYTES + 2);
	REQUIRE(big != NULL);
	memset(big, 'A', VEIL_JWS_MAX_BYTES + 1);
	big[10] = big[20] = '.';
	EXPECT_ERR(veil_jws_verify(big, VEIL_JWS_MAX_BYTES + 1, k, ALL_ALGS, &jws), VEIL_E_LIMIT);
	free(big);
	free(sig);
	free(tok);
	veil_jwk_free(k);
}

/* Every prefix, one byte more, and every single-bit flip of a token. */
TEST(truncated_longer_flipped)
{
	veil_jwk *k = gen(VEIL_JWK_ED25519);
	char *tok = NULL, *c;
	size_t len = 0, accepted = 0;
	veil_jws jws;

	REQUIRE(veil_jws_sign(k, NULL, (const uint8_t *)"{\"sub\":\"x\"}", 11, &tok, &len) ==
		VEIL_OK);
	for (size_t n = 0; n < len; n++)
		if (veil_jws_verify(tok, n, k, ALL_ALGS, &jws) == VEIL_OK) {
			accepted++;
			veil_jws_clear(&jws);
		}
	c = malloc(len + 2);
	REQUIRE(c != NULL);
	snprintf(c, len + 2, "%sA", tok);
	EXPECT(veil_jws_verify(c, len + 1, k, ALL_ALGS, &jws) != VEIL_OK);
	free(c);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			c = flipped(tok, len, i, bit);
			if (veil_jws_verify(c, len, k, ALL_ALGS, &jws) == VEIL_OK) {
				fprintf(stderr, "  accepted with byte %zu bit %d flipped\n", i,
					bit);
				accepted++;
				veil_jws_clear(&jws);
			}
			free(c);
		}
	EXPECT(accepted == 0);
	json_t *h = NULL;
	EXPECT_OK(veil_jws_peek_header(tok, len, &h));
	EXPECT(h != NULL && strcmp(json_string_value(json_object_get(h, "alg")), "EdDSA") == 0);
	json_decref(h);
	EXPECT_ERR(veil_jws_peek_header("e30", 3, &h), VEIL_E_MALFORMED);
	free(tok);
	veil_jwk_free(k);
}

static char *jwt(const veil_jwk *k, const char *claims)
{
	json_t *c = json_loads(claims, 0, NULL);
	char *tok = NULL;
	size_t len = 0;

	if (c == NULL || veil_jwt_sign(k, NULL, c, &tok, &len) != VEIL_OK)
		setup_fail("veil_jwt_sign");
	json_decref(c);
	return tok;
}

static veil_err check_jwt(const veil_jwk *k, const char *claims, int64_t now, int64_t leeway,
			  bool require_exp)
{
	char *tok = jwt(k, claims);
	veil_jwt_rules rules = {.now = now, .leeway = leeway, .require_exp = require_exp};
	json_t *c = NULL, *h = NULL;
	veil_err err = veil_jwt_verify(tok, strlen(tok), k, ALL_ALGS, &rules, &c, &h);

	if (err == VEIL_OK && (!json_is_object(c) || json_object_get(h, "typ") == NULL))
		err = VEIL_E_COUNT_;
	json_decref(c);
	json_decref(h);
	free(tok);
	return err;
}

TEST(jwt_time_claims)
{
	veil_jwk *k = gen(VEIL_JWK_EC_P256);
	char c[128];

	snprintf(c, sizeof c, "{\"sub\":\"admin\",\"exp\":%d}", NOW + 60);
	EXPECT_OK(check_jwt(k, c, NOW, 0, true));
	EXPECT_OK(check_jwt(k, c, NOW + 59, 0, true));
	EXPECT_ERR(check_jwt(k, c, NOW + 60, 0, true), VEIL_E_EXPIRED); /* at exp: over */
	EXPECT_OK(check_jwt(k, c, NOW + 89, 30, true));
	EXPECT_ERR(check_jwt(k, c, NOW + 90, 30, true), VEIL_E_EXPIRED);
	EXPECT_ERR(check_jwt(k, "{\"sub\":\"admin\"}", NOW, 0, true), VEIL_E_MALFORMED);
	EXPECT_OK(check_jwt(k, "{\"sub\":\"admin\"}", NOW, 0, false));
	snprintf(c, sizeof c, "{\"nbf\":%d,\"exp\":%d}", NOW + 10, NOW + 60);
	EXPECT_ERR(check_jwt(k, c, NOW, 0, true), VEIL_E_EXPIRED);
	EXPECT_OK(check_jwt(k, c, NOW, 10, true));
	EXPECT_OK(check_jwt(k, c, NOW + 10, 0, true));
	snprintf(c, sizeof c, "{\"iat\":%d,\"exp\":%d}", NOW + 5, NOW + 60);
	EXPECT_ERR(check_jwt(k, c, NOW, 0, true), VEIL_E_EXPIRED);
	EXPECT_OK(check_jwt(k, c, NOW, 5, true));
	/* Only integer NumericDates; the leeway is capped. */
	EXPECT_ERR(check_jwt(k, "{\"exp\":\"1790000060\"}", NOW, 0, true), VEIL_E_MALFORMED);
	EXPECT_ERR(check_jwt(k, "{\"exp\":1790000060.5}", NOW, 0, true), VEIL_E_MALFORMED);
	EXPECT_ERR(check_jwt(k, "{\"exp\":null}", NOW, 0, false), VEIL_E_MALFORMED);
	EXPECT_ERR(check_jwt(k, "{}", NOW, VEIL_JWT_LEEWAY_MAX + 1, false), VEIL_E_USAGE);
	EXPECT_ERR(check_jwt(k, "{}", NOW, -1, false), VEIL_E_USAGE);
	veil_jwk_free(k);
}

TEST(jwt_shape)
{
	veil_jwk *k = gen(VEIL_JWK_ED25519);
	char *tok = jwt(k, "{\"sub\":\"admin\"}"), *dot = strchr(tok, '.');
	veil_jwt_rules rules = {.now = NOW};
	json_t *c = NULL, *h = json_pack("{s:s}", "typ", "ear+jwt");
	size_t hl = 0, len = 0;
	uint8_t *hb;

	/* RFC 7519 section 5.1: "typ":"JWT" after "alg". */
	*dot = '\0';
	hb = unb64(tok, &hl);
	EXPECT(strcmp((char *)hb, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}") == 0);
	free(hb);
	free(tok);
	/* The caller's "typ" wins. */
	c = json_pack("{s:s}", "sub", "x");
	EXPECT_OK(veil_jwt_sign(k, h, c, &tok, &len));
	json_decref(c);
	dot = strchr(tok, '.');
	*dot = '\0';
	hb = unb64(tok, &hl);
	EXPECT(strcmp((char *)hb, "{\"alg\":\"EdDSA\",\"typ\":\"ear+jwt\"}") == 0);
	free(hb);
	free(tok);
	/* A JWS whose payload is no JSON object is no JWT. */
	static const char *const payloads[] = {"[1]", "1", "{\"a\":1,\"a\":2}", "{"};
	for (size_t i = 0; i < 4; i++) {
		tok = NULL;
		EXPECT_OK(veil_jws_sign(k, NULL, (const uint8_t *)payloads[i], strlen(payloads[i]),
					&tok, &len));
		c = NULL;
		EXPECT_ERR(veil_jwt_verify(tok, len, k, VEIL_JWS_EDDSA, &rules, &c, NULL),
			   VEIL_E_MALFORMED);
		EXPECT(c == NULL);
		free(tok);
	}
	c = json_array();
	EXPECT_ERR(veil_jwt_sign(k, NULL, c, &tok, &len), VEIL_E_USAGE);
	json_decref(c);
	json_decref(h);
	veil_jwk_free(k);
}

int main(void)
{
	RUN(cookbook_4_3_es512);
	RUN(cookbook_4_8_unprotected_es512);
	RUN(cookbook_ed25519_reproduced);
	RUN(round_trips_and_header_bytes);
	RUN(sign_refusals);
	RUN(verify_refusals);
	RUN(encoding_refusals);
	RUN(truncated_longer_flipped);
	RUN(jwt_time_claims);
	RUN(jwt_shape);
	return harness_finish("test_jose_jws");
}

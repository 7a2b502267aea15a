/*
 * jwk_parse.c - JSON Web Keys in: EC (RFC 7518 section 6.2), RSA (section
 * 6.3) and Ed25519 (RFC 8037 section 2), public or private.
 *
 * The attester's key reaches the KBS as a JWK inside its runtime data, so
 * this is a parser of hostile input: every member is known and type-checked,
 * a public key may not smuggle private members (a confused caller could
 * otherwise treat the sender's key as its own), and a key is only accepted
 * once OpenSSL agrees it is a valid key of the type it claims.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* Largest RSA integer: an 8192-bit modulus. */
#define RSA_INT_MAX (VEIL_JWK_RSA_MAX_BITS / 8)

/* RFC 7517 section 4 metadata, and WebCrypto's "ext" (W3C WebCrypto,
 * section 15 "JsonWebKey"), which node and browsers put in exported keys. */
static const char *const meta_members[] = {"kty", "alg", "kid",      "use", "key_ops", "ext",
					   "x5c", "x5t", "x5t#S256", "x5u", NULL};
/* Private members of every key type (RFC 7518 sections 6.2.2, 6.3.2, 6.4;
 * RFC 8037 section 2). */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* Every member must be metadata, one of the key's own, or (for a private
 * key) one of its private members. */
static veil_err check_members(const json_t *jwk, const char *const *own,
			      const char *const *own_private, bool want_private)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)jwk, key, v)
	{
		if (in_list(meta_members, key) || in_list(own, key))
			continue;
		if (want_private && in_list(own_private, key))
			continue;
		if (in_list(private_members, key))
			return veil_fail(VEIL_E_MALFORMED,
					 want_private
					     ? "JWK: private member \"%s\" does not belong to "
					       "this key type"
					     : "JWK: a public key may not carry the private "
					       "member \"%s\"",
					 key);
		return veil_fail(VEIL_E_MALFORMED, "JWK: unknown member \"%.64s\"", key);
	}
	return VEIL_OK;
}

/* Type checks for the metadata members we do not interpret. */
static veil_err check_metadata(const json_t *jwk)
{
	const char *s;
	const json_t *v, *item;
	size_t i;

	TRY(jose_opt_string(jwk, "JWK", "use", &s));
	if (s != NULL)
		ENSURE(strcmp(s, "sig") == 0 || strcmp(s, "enc") == 0, VEIL_E_MALFORMED,
		       "JWK: \"use\" is neither \"sig\" nor \"enc\"");
	TRY(jose_opt_string(jwk, "JWK", "x5u", &s));
	TRY(jose_opt_string(jwk, "JWK", "x5t", &s));
	TRY(jose_opt_string(jwk, "JWK", "x5t#S256", &s));
	v = json_object_get(jwk, "ext");
	ENSURE(v == NULL || json_is_boolean(v), VEIL_E_MALFORMED, "JWK: \"ext\" is not a boolean");
	v = json_object_get(jwk, "key_ops");
	if (v != NULL) {
		ENSURE(json_is_array(v) && json_array_size(v) <= 8, VEIL_E_MALFORMED,
		       "JWK: \"key_ops\" is not an array of up to 8 strings");
		json_array_foreach(v, i, item) ENSURE(json_is_string(item), VEIL_E_MALFORMED,
						      "JWK: \"key_ops\" holds a non-string");
	}
	v = json_object_get(jwk, "x5c");
	if (v != NULL) {
		/* RFC 7517 section 4.7: a non-empty array of certificates. */
		ENSURE(json_is_array(v) && json_array_size(v) >= 1 &&
			   json_array_size(v) <= VEIL_CERT_BUNDLE_MAX,
		       VEIL_E_MALFORMED, "JWK: \"x5c\" is not an array of 1 to %d certificates",
		       VEIL_CERT_BUNDLE_MAX);
		json_array_foreach(v, i, item) ENSURE(json_is_string(item), VEIL_E_MALFORMED,
						      "JWK: \"x5c\" holds a non-string");
	}
	return VEIL_OK;
}

/* RFC 7518 section 2, Base64urlUInt: big-endian, shortest form. */
static veil_err b64_uint(const json_t *jwk, const char *key, size_t max, BIGNUM **out, bool secret)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	veil_err err = VEIL_OK;

	TRY(jose_b64_member(jwk, key, max, &buf, &n));
	if (n == 0 || (buf[0] == 0 && n > 1))
		err = veil_fail(VEIL_E_MALFORMED,
				"JWK: \"%s\" is not a Base64urlUInt in its shortest form", key);
	else if ((*out = BN_bin2bn(buf, (int)n, secret ? BN_secure_new() : BN_new())) == NULL)
		err = veil_openssl_fail(VEIL_E_NOMEM, "JWK integer");
	veil_free_secret(buf, n + 1);
	return err;
}

static veil_err parse_ec(const json_t *jwk, const jose_curve *c, bool want_private, EVP_PKEY **out)
{
	static const char *const own[] = {"crv", "x", "y", NULL};
	static const char *const own_private[] = {"d", NULL};
	uint8_t x[66], y[66], d[66];
	veil_err err;

	TRY(check_members(jwk, own, own_private, want_private));
	/* RFC 7518 sections 6.2.1.2, 6.2.1.3, 6.2.2.1: each the full length. */
	TRY(jose_b64_member_exact(jwk, "x", x, c->len));
	TRY(jose_b64_member_exact(jwk, "y", y, c->len));
	if (want_private)
		TRY(jose_b64_member_exact(jwk, "d", d, c->len));
	err = jose_ec_key(c, x, y, want_private ? d : NULL, out);
	veil_wipe(d, sizeof d);
	if (err != VEIL_OK)
		return veil_fail_context(err, "JWK %s key", c->crv);
	return VEIL_OK;
}

static veil_err parse_okp(const json_t *jwk, bool want_private, EVP_PKEY **out)
{
	static const char *const own[] = {"crv", "x", NULL};
	static const char *const own_private[] = {"d", NULL};
	uint8_t x[32], d[32], derived[32];
	size_t n = sizeof derived;
	EVP_PKEY *pkey = NULL;
	veil_err err = VEIL_OK;

	TRY(check_members(jwk, own, own_private, want_private));
	TRY(jose_b64_member_exact(jwk, "x", x, sizeof x));
	if (!want_private) {
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, sizeof x);
		ENSURE(pkey != NULL, VEIL_E_MALFORMED, "JWK: not an Ed25519 public key");
		*out = pkey;
		return VEIL_OK;
	}
	TRY(jose_b64_member_exact(jwk, "d", d, sizeof d));
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, sizeof d);
	veil_wipe(d, sizeof d);
	ENSURE(pkey != NULL, VEIL_E_MALFORMED, "JWK: not an Ed25519 private key");
	/* RFC 8032 section 5.1.5: the public key follows from the private
	 * one; "x" must be that key. */
	if (EVP_PKEY_get_raw_public_key(pkey, derived, &n) != 1 || n != sizeof derived)
		err = veil_openssl_fail(VEIL_E_CRYPTO, "Ed25519 public key");
	else if (!veil_ct_equal(derived, x, sizeof x))
		err = veil_fail(VEIL_E_MISMATCH,
				"JWK: \"x\" is not the public key of this Ed25519 private key");
	if (err != VEIL_OK) {
		EVP_PKEY_free(pkey);
		return err;
	}
	*out = pkey;
	return VEIL_OK;
}

/* The RSA members in OpenSSL's parameter names, private ones last. */
static const struct {
	const char *jwk, *param;
} rsa_members[] = {
    {"n", OSSL_PKEY_PARAM_RSA_N},          {"e", OSSL_PKEY_PARAM_RSA_E},
    {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
    {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
    {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
};
#define RSA_MEMBERS 8

static veil_err rsa_check_public(const BIGNUM *n, const BIGNUM *e)
{
	int bits = BN_num_bits(n);

	ENSURE(bits >= VEIL_JWK_RSA_MIN_BITS && bits <= VEIL_JWK_RSA_MAX_BITS, VEIL_E_UNSUPPORTED,
	       "JWK: an RSA modulus of %d bits; Veil accepts %d to %d", bits, VEIL_JWK_RSA_MIN_BITS,
	       VEIL_JWK_RSA_MAX_BITS);
	ENSURE(BN_is_odd(n), VEIL_E_MALFORMED, "JWK: the RSA modulus is even");
	/* NIST SP 800-56B section 6.2.1: 65537 <= e < 2^256, odd; Veil
	 * keeps to 32 bits, which every real key uses. */
	ENSURE(BN_is_odd(e) && BN_num_bits(e) >= 17 && BN_num_bits(e) <= 32, VEIL_E_MALFORMED,
	       "JWK: the RSA exponent is not an odd number from 65537 to 2^32");
	return VEIL_OK;
}

static veil_err parse_rsa(const json_t *jwk, bool want_private, EVP_PKEY **out)
{
	static const char *const own[] = {"n", "e", NULL};
	static const char *const own_private[] = {"d", "p", "q", "dp", "dq", "qi", NULL};
	BIGNUM *bn[RSA_MEMBERS] = {0};
	size_t count = want_private ? RSA_MEMBERS : 2;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pkey = NULL;
	veil_err err;

	TRY(check_members(jwk, own, own_private, want_private));
	/* RFC 7518 section 6.3.2.7: multi-prime keys ("oth") are refused by
	 * check_members; the CRT members are required together. */
	for (size_t i = 0; i < count; i++)
		CHECK(b64_uint(jwk, rsa_members[i].jwk, RSA_INT_MAX, &bn[i], i >= 2));
	CHECK(rsa_check_public(bn[0], bn[1]));
	bld = OSSL_PARAM_BLD_new();
	CHECK_THAT(bld != NULL, VEIL_E_NOMEM, "RSA key parameters");
	for (size_t i = 0; i < count; i++)
		CHECK_THAT(OSSL_PARAM_BLD_push_BN(bld, rsa_members[i].param, bn[i]), VEIL_E_CRYPTO,
			   "RSA key parameter %s", rsa_members[i].jwk);
	CHECK_THAT((params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
		       (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
		       EVP_PKEY_fromdata_init(ctx) == 1,
		   VEIL_E_CRYPTO, "RSA key parameters");
	if (EVP_PKEY_fromdata(ctx, &pkey, want_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) != 1) {
		err = veil_openssl_fail(VEIL_E_MALFORMED, "JWK: not an RSA key");
		goto out;
	}
	if (want_private) {
		/* RFC 8017 section 3.2: n = p*q, d*e = 1 mod lambda(n), and the
		 * CRT values; OpenSSL's SP 800-56B keypair check covers them. */
		chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (chk == NULL || EVP_PKEY_pairwise_check(chk) != 1) {
			err = veil_openssl_fail(VEIL_E_MISMATCH,
						"JWK: the RSA private key does not match its "
						"public key");
			goto out;
		}
	}
	*out = pkey;
	pkey = NULL;
	err = VEIL_OK;
out:
	for (size_t i = 0; i < RSA_MEMBERS; i++)
		BN_clear_free(bn[i]);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

static veil_err jwk_parse(const json_t *jwk, bool want_private, veil_jwk **out)
{
	const char *kty, *crv = NULL, *alg, *kid;
	const jose_curve *c = NULL;
	veil_jwk_type type;
	EVP_PKEY *pkey = NULL;
	veil_jwk *k;

	ENSURE(json_is_object(jwk), VEIL_E_MALFORMED, "JWK: not a JSON object");
	TRY(jose_opt_string(jwk, "JWK", "kty", &kty));
	ENSURE(kty != NULL, VEIL_E_MALFORMED, "JWK: missing \"kty\"");
	if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		TRY(jose_opt_string(jwk, "JWK", "crv", &crv));
		ENSURE(crv != NULL, VEIL_E_MALFORMED, "JWK: %s key without \"crv\"", kty);
		c = jose_curve_by_name(crv);
		/* An OKP key on a NIST curve, or the reverse, names no key. */
		ENSURE(c != NULL && (c->type == VEIL_JWK_ED25519) == (kty[0] == 'O'),
		       VEIL_E_UNSUPPORTED, "JWK: kty \"%s\" with crv \"%.32s\" is not supported",
		       kty, crv);
		type = c->type;
	} else if (strcmp(kty, "RSA") == 0) {
		type = VEIL_JWK_RSA;
	} else {
		return veil_fail(VEIL_E_UNSUPPORTED,
				 "JWK: kty \"%.32s\" is not supported (EC, RSA or OKP)", kty);
	}
	TRY(jose_opt_string(jwk, "JWK", "alg", &alg));
	TRY(jose_opt_string(jwk, "JWK", "kid", &kid));
	TRY(check_metadata(jwk));
	if (type == VEIL_JWK_RSA)
		TRY(parse_rsa(jwk, want_private, &pkey));
	else if (type == VEIL_JWK_ED25519)
		TRY(parse_okp(jwk, want_private, &pkey));
	else
		TRY(parse_ec(jwk, c, want_private, &pkey));

	k = calloc(1, sizeof *k);
	if (k == NULL || (alg != NULL && (k->alg = strdup(alg)) == NULL) ||
	    (kid != NULL && (k->kid = strdup(kid)) == NULL)) {
		EVP_PKEY_free(pkey);
		veil_jwk_free(k);
		return veil_fail(VEIL_E_NOMEM, "JWK: out of memory");
	}
	k->type = type;
	k->pkey = pkey;
	k->priv = want_private;
	*out = k;
	return VEIL_OK;
}

veil_err veil_jwk_parse_public(const json_t *jwk, veil_jwk **out)
{
	return jwk_parse(jwk, false, out);
}

veil_err veil_jwk_parse_private(const json_t *jwk, veil_jwk **out)
{
	return jwk_parse(jwk, true, out);
}

/* jansson frees strings without wiping them: wipe the members of a
 * private key that the parser copied out of the caller's text first. */
static void wipe_private_strings(json_t *jwk)
{
	for (size_t i = 0; private_members[i] != NULL; i++) {
		json_t *v = json_object_get(jwk, private_members[i]);
		if (json_is_string(v))
			veil_wipe((char *)json_string_value(v), json_string_length(v));
	}
}

static veil_err parse_bytes(const uint8_t *buf, size_t len, bool want_private, veil_jwk **out)
{
	json_t *jwk = NULL;
	veil_err err;

	TRY(jose_json_object(buf, len, VEIL_JWK_MAX_BYTES, "JWK", &jwk));
	err = jwk_parse(jwk, want_private, out);
	wipe_private_strings(jwk);
	json_decref(jwk);
	return err;
}

veil_err veil_jwk_parse_public_bytes(const uint8_t *buf, size_t len, veil_jwk **out)
{
	return parse_bytes(buf, len, false, out);
}

veil_err veil_jwk_parse_private_bytes(const uint8_t *buf, size_t len, veil_jwk **out)
{
	return parse_bytes(buf, len, true, out);
}

/*
 * jose_util.c - the small pieces every JOSE structure is made of: the curve
 * table, strict JSON objects, strict base64url members, and EC keys built
 * from (and taken apart into) fixed-length coordinates.
 *
 * JOSE puts every binary value in unpadded base64url (RFC 7515 section 2)
 * and every EC coordinate at the full length of its curve (RFC 7518
 * section 6.2.1.2), so one encoding per value: anything else is refused
 * here rather than normalised, because two encodings of one key are two
 * thumbprints and two cache entries.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* RFC 7518 section 6.2.1.1 and RFC 8037 section 2; lengths from SEC 2. */
static const jose_curve curves[] = {
    {VEIL_JWK_EC_P256, "P-256", "prime256v1", 32},
    {VEIL_JWK_EC_P384, "P-384", "secp384r1", 48},
    {VEIL_JWK_EC_P521, "P-521", "secp521r1", 66},
    {VEIL_JWK_ED25519, "Ed25519", "ED25519", 32},
};

const jose_curve *jose_curve_by_name(const char *crv)
{
	for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
		if (strcmp(curves[i].crv, crv) == 0)
			return &curves[i];
	return NULL;
}

const jose_curve *jose_curve_of(veil_jwk_type type)
{
	for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
		if (curves[i].type == type)
			return &curves[i];
	return NULL;
}

/* One template key per EC curve (the first three entries of curves[]),
 * made on first use. EVP_PKEY objects may be shared between threads for
 * reading, which is all copy_parameters and a key generation context do. */
#define JOSE_EC_CURVES 3
static EVP_PKEY *ec_templates[JOSE_EC_CURVES];
static pthread_once_t ec_templates_once = PTHREAD_ONCE_INIT;

static void ec_templates_make(void)
{
	for (size_t i = 0; i < JOSE_EC_CURVES; i++)
		ec_templates[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i].group);
}

EVP_PKEY *jose_ec_template(const jose_curve *c)
{
	size_t i = (size_t)(c - curves);

	if (i >= JOSE_EC_CURVES || pthread_once(&ec_templates_once, ec_templates_make) != 0)
		return NULL;
	return ec_templates[i];
}

veil_err jose_ec_generate(const jose_curve *c, EVP_PKEY **out)
{
	EVP_PKEY *t = jose_ec_template(c);
	EVP_PKEY_CTX *ctx;
	int ok;

	*out = NULL;
	if (t == NULL) {
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->group);
		return *out != NULL ? VEIL_OK : veil_openssl_fail(VEIL_E_CRYPTO, "key generation");
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, t, NULL);
	ok = ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, out) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? VEIL_OK : veil_openssl_fail(VEIL_E_CRYPTO, "key generation");
}

/* A public key on curve c from its SEC 1 point, through the template. */
static EVP_PKEY *ec_public_from_template(const jose_curve *c, const uint8_t *point, size_t len)
{
	EVP_PKEY *t = jose_ec_template(c), *k;

	if (t == NULL || (k = EVP_PKEY_new()) == NULL)
		return NULL;
	if (EVP_PKEY_copy_parameters(k, t) != 1 ||
	    EVP_PKEY_set1_encoded_public_key(k, point, len) != 1) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

veil_err jose_json_object(const uint8_t *buf, size_t len, size_t max, const char *what,
			  json_t **out)
{
	json_t *v;
	veil_err err;

	/* Capped, duplicate members refused (they are how one document is
	 * read two ways), depth capped: veil_json_parse's rules. */
	err = veil_json_parse_max(buf, len, max, &v);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", what);
	if (!json_is_object(v)) {
		json_decref(v);
		return veil_fail(VEIL_E_MALFORMED, "%s is not a JSON object", what);
	}
	*out = v;
	return VEIL_OK;
}

veil_err jose_b64_decode(const char *what, const char *s, size_t len, size_t max, uint8_t **out,
			 size_t *out_len)
{
	size_t cap = veil_base64_decoded_max(len);
	uint8_t *buf;
	veil_err err;

	/* The decoded size is at most 3/4 of len: check before allocating. */
	ENSURE(len / 4 * 3 <= max, VEIL_E_LIMIT, "%s: %zu base64url characters is over the limit",
	       what, len);
	buf = malloc(cap + 1);
	ENSURE(buf != NULL, VEIL_E_NOMEM, "%s: out of memory", what);
	err = veil_base64url_decode(s, len, buf, cap, out_len);
	if (err == VEIL_OK && *out_len > max)
		err = veil_fail(VEIL_E_LIMIT, "%s: %zu bytes is over the %zu-byte limit", what,
				*out_len, max);
	if (err != VEIL_OK) {
		veil_free_secret(buf, cap + 1);
		return veil_fail_context(err, "%s", what);
	}
	buf[*out_len] = '\0';
	*out = buf;
	return VEIL_OK;
}

veil_err jose_b64_member(const json_t *obj, const char *key, size_t max, uint8_t **out,
			 size_t *out_len)
{
	const json_t *v = json_object_get(obj, key);

	ENSURE(v != NULL, VEIL_E_MALFORMED, "missing \"%s\"", key);
	ENSURE(json_is_string(v), VEIL_E_MALFORMED, "\"%s\" is not a string", key);
	return jose_b64_decode(key, json_string_value(v), json_string_length(v), max, out, out_len);
}

veil_err jose_b64_member_exact(const json_t *obj, const char *key, uint8_t *out, size_t len)
{
	uint8_t *buf = NULL;
	size_t n = 0;

	/* Decode a little more than len, so "one byte too long" is reported
	 * as a wrong length rather than as a size limit. */
	TRY(jose_b64_member(obj, key, len + 16, &buf, &n));
	if (n != len) {
		veil_free_secret(buf, n + 1);
		return veil_fail(VEIL_E_MALFORMED, "\"%s\" is %zu bytes, not %zu", key, n, len);
	}
	memcpy(out, buf, len);
	veil_free_secret(buf, n + 1);
	return VEIL_OK;
}

veil_err jose_b64_put(veil_writer *w, const uint8_t *p, size_t n)
{
	size_t enc = veil_base64url_encoded_len(n);
	uint8_t *space;

	/* The encoder writes a NUL after the text: reserve it, do not keep it. */
	TRY(veil_writer_reserve(w, enc + 1, &space));
	veil_base64url_encode(p, n, (char *)space);
	veil_writer_commit(w, enc);
	return VEIL_OK;
}

veil_err jose_b64_put_member(veil_writer *w, const char *key, const uint8_t *p, size_t n)
{
	TRY(veil_writer_printf(w, "\"%s\":\"", key));
	TRY(jose_b64_put(w, p, n));
	return veil_writer_putc(w, '"');
}

veil_err jose_opt_string(const json_t *obj, const char *what, const char *key, const char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return VEIL_OK;
	ENSURE(json_is_string(v), VEIL_E_MALFORMED, "%s: \"%s\" is not a string", what, key);
	ENSURE(json_string_length(v) <= VEIL_JOSE_STRING_MAX, VEIL_E_LIMIT,
	       "%s: \"%s\" is longer than %d bytes", what, key, VEIL_JOSE_STRING_MAX);
	ENSURE(strlen(json_string_value(v)) == json_string_length(v), VEIL_E_MALFORMED,
	       "%s: \"%s\" holds a NUL", what, key);
	*out = json_string_value(v);
	return VEIL_OK;
}

veil_err jose_ec_key(const jose_curve *c, const uint8_t *x, const uint8_t *y, const uint8_t *d,
		     EVP_PKEY **out)
{
	uint8_t point[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bd = NULL;
	veil_err err = VEIL_OK;

	/* SEC 1 section 2.3.3: the uncompressed point 0x04 || X || Y. */
	point[0] = 0x04;
	memcpy(point + 1, x, c->len);
	memcpy(point + 1 + c->len, y, c->len);
	/* A secure BIGNUM makes the parameter block one that is wiped. */
	if (d != NULL && (bd = BN_bin2bn(d, (int)c->len, BN_secure_new())) == NULL) {
		err = veil_openssl_fail(VEIL_E_NOMEM, "EC private key");
		goto out;
	}
	if (d == NULL) {
		pkey = ec_public_from_template(c, point, 1 + 2 * c->len);
		if (pkey != NULL)
			goto check;
		/* It refuses a point off the curve; so does fromdata below,
		 * whose error says so. */
		ERR_clear_error();
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
					      1 + 2 * c->len) ||
	    (bd != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		err = veil_openssl_fail(VEIL_E_CRYPTO, "EC key parameters");
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &pkey, d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) != 1) {
		err = veil_openssl_fail(VEIL_E_MALFORMED, "not a point on the curve");
		goto out;
	}
check:
	/* SEC 1 section 3.2.2.1: the point is not the point at infinity, its
	 * coordinates are below p and it is on the curve; step 4 (nQ = O)
	 * applies only when the cofactor h is not 1, and P-256, P-384 and
	 * P-521 all have h = 1, so the quick check is the full validation
	 * here (and saves a scalar multiplication per key). For a pair, also
	 * 0 < d < n and d*G = Q. */
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (chk == NULL || EVP_PKEY_public_check_quick(chk) != 1) {
		err = veil_openssl_fail(VEIL_E_MALFORMED, "not a valid point on the curve");
		goto out;
	}
	if (d != NULL && (EVP_PKEY_private_check(chk) != 1 || EVP_PKEY_pairwise_check(chk) != 1)) {
		err = veil_openssl_fail(VEIL_E_MISMATCH,
					"the private scalar does not match the public point");
		goto out;
	}
	*out = pkey;
	pkey = NULL;
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bd);
	return err;
}

veil_err jose_ec_coords(const veil_jwk *k, uint8_t *x, uint8_t *y, uint8_t *d)
{
	const jose_curve *c = jose_curve_of(k->type);
	uint8_t point[1 + 2 * 66];
	size_t n = 0;
	BIGNUM *bd = NULL;
	int ok;

	ENSURE(c != NULL && k->type != VEIL_JWK_ED25519, VEIL_E_USAGE, "not an EC key");
	ENSURE(EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
					       sizeof point, &n) == 1,
	       VEIL_E_CRYPTO, "EC public key");
	ENSURE(n == 1 + 2 * c->len && point[0] == 0x04, VEIL_E_CRYPTO,
	       "EC public key is not an uncompressed point");
	memcpy(x, point + 1, c->len);
	memcpy(y, point + 1 + c->len, c->len);
	if (d == NULL)
		return VEIL_OK;
	ENSURE(k->priv, VEIL_E_USAGE, "not a private key");
	ok = EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bd) == 1 &&
	     BN_bn2binpad(bd, d, (int)c->len) == (int)c->len;
	BN_clear_free(bd);
	if (!ok)
		return veil_openssl_fail(VEIL_E_CRYPTO, "EC private key");
	return VEIL_OK;
}

/*
 * jwk_export.c - JSON Web Keys out, and the life of a veil_jwk: fresh key
 * pairs, keys wrapped from OpenSSL, accessors, RFC 7638 thumbprints.
 *
 * Exported keys use the same strict forms the parser accepts (full-length
 * EC coordinates, shortest RSA integers), so export then parse gives the
 * same key and the same thumbprint. The private export goes through a
 * veil_writer, which wipes its buffer, and never through jansson, which
 * would leave copies of the private members in freed memory.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/secret.h"

void veil_jwk_free(veil_jwk *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->alg);
	free(k->kid);
	veil_free_secret(k, sizeof *k);
}

veil_jwk_type veil_jwk_type_of(const veil_jwk *k)
{
	return k->type;
}

const char *veil_jwk_type_name(veil_jwk_type type)
{
	switch (type) {
	case VEIL_JWK_EC_P256:
		return "EC P-256";
	case VEIL_JWK_EC_P384:
		return "EC P-384";
	case VEIL_JWK_EC_P521:
		return "EC P-521";
	case VEIL_JWK_RSA:
		return "RSA";
	case VEIL_JWK_ED25519:
		return "Ed25519";
	}
	return "unknown key type";
}

bool veil_jwk_is_private(const veil_jwk *k)
{
	return k->priv;
}

const char *veil_jwk_alg(const veil_jwk *k)
{
	return k->alg;
}

const char *veil_jwk_kid(const veil_jwk *k)
{
	return k->kid;
}

EVP_PKEY *veil_jwk_pkey(const veil_jwk *k)
{
	return k->pkey;
}

/* RFC 7518 section 2: an RSA integer, big-endian, shortest form. */
static veil_err put_rsa_member(veil_writer *w, const veil_jwk *k, const char *jwk_name,
			       const char *param, bool comma)
{
	BIGNUM *bn = NULL;
	uint8_t buf[VEIL_JWK_RSA_MAX_BITS / 8];
	int n;
	veil_err err;

	if (EVP_PKEY_get_bn_param(k->pkey, param, &bn) != 1)
		return veil_openssl_fail(VEIL_E_CRYPTO, "RSA key parameter");
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > sizeof buf) {
		BN_clear_free(bn);
		return veil_fail(VEIL_E_CRYPTO, "RSA parameter %s of %d bytes", jwk_name, n);
	}
	BN_bn2bin(bn, buf);
	BN_clear_free(bn);
	err = comma ? veil_writer_putc(w, ',') : VEIL_OK;
	if (err == VEIL_OK)
		err = jose_b64_put_member(w, jwk_name, buf, (size_t)n);
	veil_wipe(buf, sizeof buf);
	return err;
}

/* The members of a key in the given order. `thumbprint` writes only the
 * required ones in RFC 7638 section 3.2 order (lexicographic); otherwise
 * kty first, and the private members when `priv` is set. */
static veil_err put_key(veil_writer *w, const veil_jwk *k, bool thumbprint, bool priv)
{
	const jose_curve *c = jose_curve_of(k->type);
	uint8_t x[66], y[66], d[66];
	size_t n = 32;
	veil_err err = VEIL_OK;

	TRY(veil_writer_putc(w, '{'));
	if (k->type == VEIL_JWK_RSA) {
		static const char *const priv_names[][2] = {
		    {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
		    {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
		    {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
		};
		if (thumbprint) {
			TRY(put_rsa_member(w, k, "e", OSSL_PKEY_PARAM_RSA_E, false));
			TRY(veil_writer_puts(w, ",\"kty\":\"RSA\""));
			TRY(put_rsa_member(w, k, "n", OSSL_PKEY_PARAM_RSA_N, true));
			return veil_writer_putc(w, '}');
		}
		TRY(veil_writer_puts(w, "\"kty\":\"RSA\""));
		TRY(put_rsa_member(w, k, "n", OSSL_PKEY_PARAM_RSA_N, true));
		TRY(put_rsa_member(w, k, "e", OSSL_PKEY_PARAM_RSA_E, true));
		for (size_t i = 0; priv && i < 6; i++)
			TRY(put_rsa_member(w, k, priv_names[i][0], priv_names[i][1], true));
		return veil_writer_putc(w, '}');
	}
	if (k->type == VEIL_JWK_ED25519) {
		ENSURE(EVP_PKEY_get_raw_public_key(k->pkey, x, &n) == 1 && n == 32, VEIL_E_CRYPTO,
		       "Ed25519 public key");
		if (priv)
			ENSURE(EVP_PKEY_get_raw_private_key(k->pkey, d, &n) == 1 && n == 32,
			       VEIL_E_CRYPTO, "Ed25519 private key");
		/* RFC 8037 appendix A.3 gives this order for the thumbprint. */
		err = veil_writer_printf(w, thumbprint ? "\"crv\":\"Ed25519\",\"kty\":\"OKP\","
						       : "\"kty\":\"OKP\",\"crv\":\"Ed25519\",");
		if (err == VEIL_OK)
			err = jose_b64_put_member(w, "x", x, 32);
	} else {
		TRY(jose_ec_coords(k, x, y, priv ? d : NULL));
		err = thumbprint ? veil_writer_printf(w, "\"crv\":\"%s\",\"kty\":\"EC\",", c->crv)
				 : veil_writer_printf(w, "\"kty\":\"EC\",\"crv\":\"%s\",", c->crv);
		if (err == VEIL_OK)
			err = jose_b64_put_member(w, "x", x, c->len);
		if (err == VEIL_OK)
			err = veil_writer_putc(w, ',');
		if (err == VEIL_OK)
			err = jose_b64_put_member(w, "y", y, c->len);
	}
	if (err == VEIL_OK && priv) {
		err = veil_writer_putc(w, ',');
		if (err == VEIL_OK)
			err = jose_b64_put_member(w, "d", d, c->len);
	}
	veil_wipe(d, sizeof d);
	TRY(err);
	return veil_writer_putc(w, '}');
}

veil_err veil_jwk_export_public(const veil_jwk *k, json_t **out)
{
	veil_writer w;
	json_t *j = NULL;
	veil_err err;

	veil_writer_init(&w, VEIL_JWK_MAX_BYTES);
	err = put_key(&w, k, false, false);
	if (err == VEIL_OK)
		err = jose_json_object(w.data, w.len, VEIL_JWK_MAX_BYTES, "exported JWK", &j);
	veil_writer_clear(&w);
	TRY(err);
	*out = j;
	return VEIL_OK;
}

veil_err veil_jwk_export_private(const veil_jwk *k, char **out, size_t *out_len)
{
	veil_writer w;
	uint8_t *buf;
	veil_err err;

	ENSURE(k->priv, VEIL_E_USAGE, "export_private: not a private key");
	veil_writer_init(&w, VEIL_JWK_MAX_BYTES);
	err = put_key(&w, k, false, true);
	if (err == VEIL_OK)
		err = veil_writer_take(&w, &buf, out_len);
	veil_writer_clear(&w);
	TRY(err);
	*out = (char *)buf;
	return VEIL_OK;
}

veil_err veil_jwk_thumbprint(const veil_jwk *k, uint8_t out[VEIL_JWK_THUMBPRINT_LEN])
{
	veil_writer w;
	veil_err err;

	/* RFC 7638 section 3: SHA-256 of the required members, no spaces. */
	veil_writer_init(&w, VEIL_JWK_MAX_BYTES);
	err = put_key(&w, k, true, false);
	if (err == VEIL_OK)
		err = veil_sha256(w.data, w.len, out);
	veil_writer_clear(&w);
	return err;
}

veil_err veil_jwk_thumbprint_b64(const veil_jwk *k, char out[VEIL_JWK_THUMBPRINT_B64_LEN + 1])
{
	uint8_t t[VEIL_JWK_THUMBPRINT_LEN];

	TRY(veil_jwk_thumbprint(k, t));
	veil_base64url_encode(t, sizeof t, out);
	return VEIL_OK;
}

static veil_err wrap(EVP_PKEY *pkey, veil_jwk_type type, bool priv, veil_jwk **out)
{
	veil_jwk *k = calloc(1, sizeof *k);

	ENSURE(k != NULL, VEIL_E_NOMEM, "JWK: out of memory");
	k->type = type;
	k->pkey = pkey;
	k->priv = priv;
	*out = k;
	return VEIL_OK;
}

veil_err veil_jwk_generate(veil_jwk_type type, unsigned rsa_bits, veil_jwk **out)
{
	const jose_curve *c = jose_curve_of(type);
	EVP_PKEY *pkey = NULL;
	veil_err err;

	if (type == VEIL_JWK_RSA) {
		ENSURE(rsa_bits >= VEIL_JWK_RSA_MIN_BITS && rsa_bits <= VEIL_JWK_RSA_MAX_BITS &&
			   rsa_bits % 8 == 0,
		       VEIL_E_USAGE, "RSA keys of %u bits are not supported", rsa_bits);
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
	} else if (type == VEIL_JWK_ED25519) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		ENSURE(c != NULL, VEIL_E_USAGE, "unknown key type %d", (int)type);
		TRY(jose_ec_generate(c, &pkey));
	}
	if (pkey == NULL)
		return veil_openssl_fail(VEIL_E_CRYPTO, "key generation");
	err = wrap(pkey, type, true, out);
	if (err != VEIL_OK)
		EVP_PKEY_free(pkey);
	return err;
}

veil_err veil_jwk_from_pkey(EVP_PKEY *pkey, veil_jwk **out)
{
	veil_jwk_type type;
	bool priv = false;
	BIGNUM *bn = NULL;
	size_t n = 0;
	veil_err err;

	ENSURE(pkey != NULL, VEIL_E_USAGE, "from_pkey: no key");
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[32];
		const jose_curve *c = NULL;
		uint8_t point[1 + 2 * 66];
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof group, NULL) == 1)
			for (int t = VEIL_JWK_EC_P256; t <= VEIL_JWK_EC_P521; t++)
				if (strcmp(jose_curve_of((veil_jwk_type)t)->group, group) == 0)
					c = jose_curve_of((veil_jwk_type)t);
		ENSURE(c != NULL, VEIL_E_UNSUPPORTED, "EC keys must be on P-256, P-384 or P-521");
		ENSURE(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
						       point, sizeof point, &n) == 1,
		       VEIL_E_UNSUPPORTED, "an EC key without its public point");
		type = c->type;
		priv = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);
		ENSURE(bits >= VEIL_JWK_RSA_MIN_BITS && bits <= VEIL_JWK_RSA_MAX_BITS,
		       VEIL_E_UNSUPPORTED, "an RSA key of %d bits", bits);
		type = VEIL_JWK_RSA;
		priv = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		type = VEIL_JWK_ED25519;
		priv = EVP_PKEY_get_raw_private_key(pkey, NULL, &n) == 1;
	} else {
		return veil_fail(VEIL_E_UNSUPPORTED, "only EC, RSA and Ed25519 keys can be JWKs");
	}
	BN_clear_free(bn);
	ERR_clear_error();
	ENSURE(EVP_PKEY_up_ref(pkey) == 1, VEIL_E_CRYPTO, "EVP_PKEY_up_ref");
	err = wrap(pkey, type, priv, out);
	if (err != VEIL_OK)
		EVP_PKEY_free(pkey);
	return err;
}

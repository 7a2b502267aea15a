/*
 * signer.c - the key that signs the broker's tokens, and the certificate
 * chain that may vouch for it.
 *
 * By default the broker makes an EC P-256 key on first start and keeps it
 * in its store (sealed under the master key), so tokens stay verifiable
 * across restarts. An operator who wants relying parties to check tokens
 * against a PKI instead supplies the key and its chain (Trustee's
 * attestation_token signer with key_path and cert_path): the chain goes
 * into the token header's "jwk" as "x5c" (RFC 7517 section 4.7: standard
 * base64 of each DER certificate, the key's own first).
 *
 * A supplied chain is checked before the broker starts, because a token
 * whose x5c does not vouch for its key is worse than one without: the
 * first certificate must hold the signing key, each must be issued and
 * signed by the next, and each must be valid now. It is not checked
 * against a trust anchor: that is the relying party's choice.
 */
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "veil/x509.h"

static veil_err make_token_key(void *user, uint8_t **val, size_t *len)
{
	veil_jwk *key;
	char *text;
	veil_err err;

	(void)user;
	TRY(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &key));
	err = veil_jwk_export_private(key, &text, len);
	veil_jwk_free(key);
	TRY(err);
	*val = (uint8_t *)text;
	return VEIL_OK;
}

/* A private key given as a JWK or as PEM (PKCS #8 or SEC 1). */
static veil_err key_parse(const uint8_t *buf, size_t len, veil_jwk **out)
{
	BIO *bio;
	EVP_PKEY *pkey;
	veil_err err;
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i < len && buf[i] == '{')
		return veil_jwk_parse_private_bytes(buf, len, out);
	ENSURE(len <= VEIL_JWK_MAX_BYTES, VEIL_E_LIMIT, "the token key is over %d bytes",
	       VEIL_JWK_MAX_BYTES);
	bio = BIO_new_mem_buf(buf, (int)len);
	ENSURE(bio != NULL, VEIL_E_NOMEM, "out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return veil_openssl_fail(VEIL_E_MALFORMED,
					 "the token key is neither a private JWK nor a PEM "
					 "private key");
	err = veil_jwk_from_pkey(pkey, out);
	EVP_PKEY_free(pkey);
	return err;
}

/* Checks the chain for key at `now` (see the top of the file). */
static veil_err chain_check(STACK_OF(X509) * certs, const veil_jwk *key, int64_t now)
{
	int n = sk_X509_num(certs);
	char cn[128];

	ENSURE(EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, 0)), veil_jwk_pkey(key)) == 1,
	       VEIL_E_MISMATCH,
	       "the token certificate (\"%s\") is not for the token key: the first certificate "
	       "of --token-cert must hold the --token-key's public key",
	       veil_cert_cn(sk_X509_value(certs, 0), cn, sizeof cn));
	for (int i = 0; i < n; i++) {
		X509 *c = sk_X509_value(certs, i);
		int64_t nb, na;

		TRY(veil_cert_validity(c, &nb, &na));
		ENSURE(now >= nb && now <= na, VEIL_E_VERIFY,
		       "token certificate %d (\"%s\") is not valid now", i,
		       veil_cert_cn(c, cn, sizeof cn));
		if (i + 1 == n)
			break;
		X509 *issuer = sk_X509_value(certs, i + 1);
		ENSURE(X509_check_issued(issuer, c) == X509_V_OK &&
			   X509_verify(c, X509_get0_pubkey(issuer)) == 1,
		       VEIL_E_VERIFY,
		       "token certificate %d (\"%s\") is not issued by the next one: give the "
		       "chain leaf first, each certificate followed by its issuer",
		       i, veil_cert_cn(c, cn, sizeof cn));
	}
	return VEIL_OK;
}

/* The chain as x5c: standard base64 of each DER certificate, in order. */
static veil_err chain_x5c(STACK_OF(X509) * certs, json_t **out)
{
	json_t *list = json_array();

	ENSURE(list != NULL, VEIL_E_NOMEM, "out of memory");
	for (int i = 0; i < sk_X509_num(certs); i++) {
		unsigned char *der = NULL;
		int n = i2d_X509(sk_X509_value(certs, i), &der);
		char *b64 = n > 0 ? malloc(veil_base64_encoded_len((size_t)n) + 1) : NULL;
		int bad = b64 == NULL;

		if (!bad) {
			veil_base64_encode(der, (size_t)n, b64);
			bad = json_array_append_new(list, json_string(b64)) != 0;
		}
		OPENSSL_free(der);
		free(b64);
		if (bad) {
			json_decref(list);
			return veil_fail(VEIL_E_NOMEM, "encoding the token certificates");
		}
	}
	*out = list;
	return VEIL_OK;
}

static veil_err signer_key(veil_kbs *k)
{
	const veil_kbs_config *c = &k->config;
	uint8_t *text = NULL;
	size_t len = 0;
	veil_err err;

	if (c->token_key != NULL) {
		err = key_parse(c->token_key, c->token_key_len, &k->token_key);
		if (err != VEIL_OK)
			return veil_fail_context(err, "the token key");
		ENSURE(veil_jwk_is_private(k->token_key), VEIL_E_USAGE,
		       "the token key must be a private key");
	} else {
		TRY(veil_store_secret_get_or_create(c->store, KBS_TOKEN_KEY_NAME, make_token_key,
						    NULL, &text, &len));
		err = veil_jwk_parse_private_bytes(text, len, &k->token_key);
		veil_free_secret(text, len);
		TRY(err);
	}
	ENSURE(veil_jwk_type_of(k->token_key) == VEIL_JWK_EC_P256, VEIL_E_UNSUPPORTED,
	       "the token-signing key is not an EC P-256 key (tokens are ES256)");
	return VEIL_OK;
}

veil_err kbs_signer_load(veil_kbs *k)
{
	const veil_kbs_config *c = &k->config;
	STACK_OF(X509) *certs = NULL;
	json_t *pub = NULL, *x5c = NULL;
	veil_err err = VEIL_OK;

	ENSURE(c->token_chain == NULL || c->token_key != NULL, VEIL_E_USAGE,
	       "a token certificate chain needs its key (--token-key)");
	TRY(signer_key(k));
	CHECK(veil_jwk_export_public(k->token_key, &pub));
	/* RFC 7517 section 4.4: say what the key is for. */
	CHECK_THAT(json_object_set_new(pub, "alg", json_string("ES256")) == 0, VEIL_E_NOMEM,
		   "out of memory");
	if (c->token_chain != NULL) {
		err = veil_certs_parse(c->token_chain, c->token_chain_len, &certs);
		if (err == VEIL_OK)
			err = chain_check(certs, k->token_key, kbs_now(k));
		if (err == VEIL_OK)
			err = chain_x5c(certs, &x5c);
		if (err != VEIL_OK) {
			err = veil_fail_context(err, "the token certificate chain");
			goto out;
		}
		CHECK_THAT(json_object_set_new(pub, "x5c", x5c) == 0, VEIL_E_NOMEM,
			   "out of memory");
	}
	k->token_jwk = pub;
	pub = NULL;
out:
	sk_X509_pop_free(certs, X509_free);
	json_decref(pub);
	return err;
}

/*
 * x25519.c - X25519 key pairs and Diffie-Hellman (RFC 7748) for
 * DHKEM(X25519, HKDF-SHA256), and the KEM's DeriveKeyPair (RFC 9180
 * section 7.1.3).
 *
 * A key keeps its OpenSSL object and its public value together: importing a
 * raw private key makes OpenSSL compute the public one again (a scalar
 * multiplication), so a server imports each key once and reuses it.
 */
#include <openssl/evp.h>
#include <string.h>

#include "hpke_internal.h"
#include "veil/crypto.h"
#include "veil/hpke.h"
#include "veil/secret.h"

const uint8_t hpke_kem_suite_id[HPKE_KEM_SUITE_ID_LEN] = {'K', 'E', 'M', 0x00, 0x20};

static veil_err key_adopt(veil_x25519_key *k, EVP_PKEY *pkey)
{
	size_t len = sizeof k->pub;

	if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &len) != 1 || len != sizeof k->pub) {
		EVP_PKEY_free(pkey);
		memset(k, 0, sizeof *k);
		return veil_openssl_fail(VEIL_E_CRYPTO, "X25519 public key");
	}
	k->pkey = pkey;
	return VEIL_OK;
}

veil_err veil_x25519_key_generate(veil_x25519_key *k)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");

	memset(k, 0, sizeof *k);
	if (pkey == NULL)
		return veil_openssl_fail(VEIL_E_CRYPTO, "X25519 key generation");
	return key_adopt(k, pkey);
}

veil_err veil_x25519_key_from_private(veil_x25519_key *k, const uint8_t sk[VEIL_X25519_LEN])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, VEIL_X25519_LEN);

	memset(k, 0, sizeof *k);
	if (pkey == NULL)
		return veil_openssl_fail(VEIL_E_CRYPTO, "X25519 private key");
	return key_adopt(k, pkey);
}

veil_err veil_x25519_key_derive(veil_x25519_key *k, const uint8_t *ikm, size_t ikm_len)
{
	uint8_t prk[32], sk[VEIL_X25519_LEN];
	veil_err err;

	memset(k, 0, sizeof *k);
	/* RFC 9180 section 7.1.3: dkp_prk = LabeledExtract("", "dkp_prk", ikm);
	 * sk = LabeledExpand(dkp_prk, "sk", "", Nsk). The same section says ikm
	 * SHOULD have at least Nsk bytes of entropy; Veil makes it a must. */
	ENSURE(ikm_len >= VEIL_X25519_LEN, VEIL_E_USAGE,
	       "DeriveKeyPair needs at least %d bytes of input keying material, got %zu",
	       VEIL_X25519_LEN, ikm_len);
	err = hpke_labeled_extract(hpke_kem_suite_id, sizeof hpke_kem_suite_id, NULL, 0, "dkp_prk",
				   ikm, ikm_len, prk);
	if (err == VEIL_OK)
		err = hpke_labeled_expand(prk, hpke_kem_suite_id, sizeof hpke_kem_suite_id, "sk",
					  NULL, NULL, 0, sk, sizeof sk);
	if (err == VEIL_OK)
		err = veil_x25519_key_from_private(k, sk);
	veil_wipe(prk, sizeof prk);
	veil_wipe(sk, sizeof sk);
	return err;
}

veil_err veil_x25519_key_private(const veil_x25519_key *k, uint8_t sk[VEIL_X25519_LEN])
{
	size_t len = VEIL_X25519_LEN;

	ENSURE(k->pkey != NULL, VEIL_E_USAGE, "X25519 key is empty");
	if (EVP_PKEY_get_raw_private_key(k->pkey, sk, &len) != 1 || len != VEIL_X25519_LEN) {
		veil_wipe(sk, VEIL_X25519_LEN);
		return veil_openssl_fail(VEIL_E_CRYPTO, "X25519 private key");
	}
	return VEIL_OK;
}

void veil_x25519_key_clear(veil_x25519_key *k)
{
	/* EVP_PKEY_free cleanses the key material it held. */
	EVP_PKEY_free(k->pkey);
	veil_wipe(k, sizeof *k);
}

veil_err veil_x25519(const veil_x25519_key *sk, const uint8_t pk[VEIL_X25519_LEN],
		     uint8_t out[VEIL_X25519_LEN])
{
	static const uint8_t zero[VEIL_X25519_LEN];
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *c = NULL;
	size_t len = VEIL_X25519_LEN;
	veil_err err = VEIL_OK;

	ENSURE(sk->pkey != NULL, VEIL_E_USAGE, "X25519 key is empty");
	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pk, VEIL_X25519_LEN);
	c = EVP_PKEY_CTX_new(sk->pkey, NULL);
	CHECK_THAT(peer != NULL && c != NULL, VEIL_E_NOMEM, "X25519: out of memory");
	if (EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, peer) != 1) {
		err = veil_openssl_fail(VEIL_E_CRYPTO, "X25519");
		goto out;
	}
	/* OpenSSL refuses to return the all-zero output itself; either way,
	 * RFC 9180 section 7.1.4 says to reject it: the public key has small
	 * order, and the "shared" secret would be known to everyone. */
	if (EVP_PKEY_derive(c, out, &len) != 1 || len != VEIL_X25519_LEN ||
	    veil_ct_equal(out, zero, sizeof zero)) {
		(void)veil_openssl_fail(VEIL_E_VERIFY, "X25519");
		veil_wipe(out, VEIL_X25519_LEN);
		err = veil_fail(VEIL_E_VERIFY, "X25519 gives the all-zero shared secret: the "
					       "public key is of small order");
	}
out:
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(peer);
	return err;
}

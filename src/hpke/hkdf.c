/*
 * hkdf.c - HMAC-SHA256 and HKDF-SHA256 (RFC 2104, RFC 5869) on a digest
 * context, for HPKE's key schedule and the OHTTP response keys.
 *
 * Written here rather than through OpenSSL's EVP_KDF or EVP_MAC because one
 * HPKE decapsulation runs eight of them: through EVP_KDF each costs about
 * 1.4 microseconds of provider set-up for a quarter microsecond of hashing,
 * which alone would put decapsulation well under the 80%-of-X25519 target
 * (docs/performance.md). The digest itself is still OpenSSL's SHA-256,
 * fetched once.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "hpke_internal.h"
#include "veil/aead.h"
#include "veil/crypto.h"
#include "veil/secret.h"

#define SHA256_BLOCK 64

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *hpke_sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

/* One pass of SHA-256 over pad || pieces. */
static veil_err digest_padded(EVP_MD_CTX *mc, const EVP_MD *md, const uint8_t pad[SHA256_BLOCK],
			      const uint8_t *const *msg, const size_t *msg_len, size_t msg_count,
			      uint8_t out[VEIL_HKDF_SHA256_LEN])
{
	unsigned int len = 0;

	if (EVP_DigestInit_ex2(mc, md, NULL) != 1 || EVP_DigestUpdate(mc, pad, SHA256_BLOCK) != 1)
		return veil_openssl_fail(VEIL_E_CRYPTO, "SHA-256");
	for (size_t i = 0; i < msg_count; i++)
		if (msg_len[i] > 0 && EVP_DigestUpdate(mc, msg[i], msg_len[i]) != 1)
			return veil_openssl_fail(VEIL_E_CRYPTO, "SHA-256");
	if (EVP_DigestFinal_ex(mc, out, &len) != 1 || len != VEIL_HKDF_SHA256_LEN)
		return veil_openssl_fail(VEIL_E_CRYPTO, "SHA-256");
	return VEIL_OK;
}

veil_err veil_hmac_sha256v(const uint8_t *key, size_t key_len, const uint8_t *const *msg,
			   const size_t *msg_len, size_t msg_count,
			   uint8_t out[VEIL_HKDF_SHA256_LEN])
{
	const EVP_MD *md = hpke_sha256();
	uint8_t k0[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK], inner[VEIL_HKDF_SHA256_LEN];
	EVP_MD_CTX *mc;
	veil_err err = VEIL_OK;

	if (md == NULL)
		return veil_openssl_fail(VEIL_E_CRYPTO, "SHA-256 is not available");
	mc = EVP_MD_CTX_new();
	if (mc == NULL)
		return veil_fail(VEIL_E_NOMEM, "HMAC: out of memory");
	/* RFC 2104 section 2: a key longer than the block is hashed first. */
	if (key_len > SHA256_BLOCK) {
		unsigned int len = 0;
		if (EVP_DigestInit_ex2(mc, md, NULL) != 1 ||
		    EVP_DigestUpdate(mc, key, key_len) != 1 ||
		    EVP_DigestFinal_ex(mc, k0, &len) != 1) {
			err = veil_openssl_fail(VEIL_E_CRYPTO, "SHA-256");
			goto out;
		}
	} else if (key_len > 0) {
		memcpy(k0, key, key_len);
	}
	for (size_t i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k0[i] ^ 0x36;
	CHECK(digest_padded(mc, md, pad, msg, msg_len, msg_count, inner));
	for (size_t i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k0[i] ^ 0x5c;
	{
		const uint8_t *ip[1] = {inner};
		const size_t il[1] = {sizeof inner};
		CHECK(digest_padded(mc, md, pad, ip, il, 1, out));
	}
out:
	EVP_MD_CTX_free(mc);
	veil_wipe(k0, sizeof k0);
	veil_wipe(pad, sizeof pad);
	veil_wipe(inner, sizeof inner);
	return err;
}

veil_err veil_hkdf_sha256_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
				  size_t ikm_len, uint8_t prk[VEIL_HKDF_SHA256_LEN])
{
	/* RFC 5869 section 2.2: an absent salt is HashLen zeros, which as an
	 * HMAC key is the same as the empty key. */
	const uint8_t *m[1] = {ikm};
	const size_t ml[1] = {ikm_len};
	return veil_hmac_sha256v(salt, salt_len, m, ml, 1, prk);
}

veil_err veil_hkdf_sha256_expandv(const uint8_t *prk, size_t prk_len, const uint8_t *const *info,
				  const size_t *info_len, size_t info_count, uint8_t *out,
				  size_t out_len)
{
	enum { PIECES_MAX = 8 };
	const uint8_t *m[PIECES_MAX + 2];
	size_t ml[PIECES_MAX + 2];
	uint8_t t[VEIL_HKDF_SHA256_LEN], counter = 0;
	size_t done = 0;
	veil_err err = VEIL_OK;

	ENSURE(out_len <= 255 * VEIL_HKDF_SHA256_LEN, VEIL_E_USAGE,
	       "HKDF-Expand: %zu bytes asked for, at most %d can be made", out_len,
	       255 * VEIL_HKDF_SHA256_LEN);
	ENSURE(info_count <= PIECES_MAX, VEIL_E_USAGE, "HKDF-Expand: info in too many pieces");
	/* RFC 5869 section 2.3: T(i) = HMAC(PRK, T(i-1) | info | i). */
	while (done < out_len) {
		size_t n = 0, take;
		counter++;
		if (counter > 1) {
			m[n] = t;
			ml[n++] = sizeof t;
		}
		for (size_t i = 0; i < info_count; i++) {
			m[n] = info[i];
			ml[n++] = info_len[i];
		}
		m[n] = &counter;
		ml[n++] = 1;
		CHECK(veil_hmac_sha256v(prk, prk_len, m, ml, n, t));
		take = out_len - done < sizeof t ? out_len - done : sizeof t;
		memcpy(out + done, t, take);
		done += take;
	}
out:
	veil_wipe(t, sizeof t);
	if (err != VEIL_OK)
		veil_wipe(out, out_len);
	return err;
}

veil_err veil_hkdf_sha256_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info,
				 size_t info_len, uint8_t *out, size_t out_len)
{
	const uint8_t *m[1] = {info};
	const size_t ml[1] = {info_len};
	return veil_hkdf_sha256_expandv(prk, prk_len, m, ml, 1, out, out_len);
}

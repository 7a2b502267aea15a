/*
 * seal.c - encryption at rest of the key broker's secrets.
 *
 * Every secret the store keeps (a resource value, the token-signing key) is
 * sealed with AES-256-GCM under the 32-byte master key, which never enters
 * the database. Each blob carries a fresh random 96-bit nonce (NIST SP
 * 800-38D section 8.2.2: random nonces are safe up to 2^32 seals under one
 * key, far beyond what a key broker writes).
 *
 * The AAD names the row: "veil-store v1 <label>", a NUL, the database's
 * random id and the row's key (a resource path, a secret name). A blob
 * copied by hand into another row, or into another database under the same
 * master key, fails its tag check instead of releasing a secret under the
 * wrong name. The label comes before the NUL and the name is last, so two
 * different rows can never produce the same AAD.
 *
 * A cipher context is keyed for each call (a few microseconds) rather than
 * shared, so sealing needs no lock of its own.
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define AAD_PREFIX "veil-store v1 "
#define AAD_MAX    (sizeof AAD_PREFIX + 16 + STORE_DB_ID_LEN + VEIL_STORE_PATH_MAX)

static veil_err aad_build(const veil_store *s, const char *label, const char *name,
			  uint8_t aad[AAD_MAX], size_t *len)
{
	size_t pre = strlen(AAD_PREFIX), ll = strlen(label), nl = strlen(name);

	ENSURE(ll <= 16 && nl <= VEIL_STORE_PATH_MAX, VEIL_E_USAGE,
	       "store: row name of %zu bytes is too long to seal", nl);
	memcpy(aad, AAD_PREFIX, pre);
	memcpy(aad + pre, label, ll);
	aad[pre + ll] = 0;
	memcpy(aad + pre + ll + 1, s->db_id, STORE_DB_ID_LEN);
	memcpy(aad + pre + ll + 1 + STORE_DB_ID_LEN, name, nl);
	*len = pre + ll + 1 + STORE_DB_ID_LEN + nl;
	return VEIL_OK;
}

veil_err store_seal(const veil_store *s, const char *label, const char *name, const uint8_t *pt,
		    size_t pt_len, store_blob *out)
{
	uint8_t aad[AAD_MAX];
	size_t aad_len = 0;
	veil_aead aead = {0};
	veil_err err = VEIL_OK;
	uint8_t *blob = NULL;

	out->p = NULL;
	out->len = 0;
	TRY(aad_build(s, label, name, aad, &aad_len));
	ENSURE(pt_len <= VEIL_STORE_VALUE_MAX, VEIL_E_LIMIT,
	       "store: a value of %zu bytes is over the cap of %d", pt_len, VEIL_STORE_VALUE_MAX);
	blob = malloc(pt_len + STORE_SEAL_OVERHEAD);
	ENSURE(blob != NULL, VEIL_E_NOMEM, "out of memory");
	blob[0] = STORE_SEAL_VERSION;
	CHECK_THAT(RAND_bytes(blob + 1, VEIL_AEAD_NONCE_LEN) == 1, VEIL_E_CRYPTO,
		   "store: no random bytes for a nonce");
	CHECK(veil_aead_init(&aead, VEIL_AEAD_AES_256_GCM, s->master, sizeof s->master));
	/* An empty value still gets its tag; pt may be NULL then. */
	CHECK(veil_aead_seal(&aead, blob + 1, aad, aad_len, pt_len > 0 ? pt : blob, pt_len,
			     blob + 1 + VEIL_AEAD_NONCE_LEN));
	out->p = blob;
	out->len = pt_len + STORE_SEAL_OVERHEAD;
	blob = NULL;
out:
	veil_aead_clear(&aead);
	free(blob); /* ciphertext at most, never plaintext */
	return err;
}

veil_err store_unseal(const veil_store *s, const char *label, const char *name,
		      const store_blob *sealed, uint8_t **pt, size_t *pt_len)
{
	uint8_t aad[AAD_MAX];
	size_t aad_len = 0, len;
	veil_aead aead = {0};
	veil_err err = VEIL_OK;
	uint8_t *buf = NULL;

	*pt = NULL;
	*pt_len = 0;
	TRY(aad_build(s, label, name, aad, &aad_len));
	ENSURE(sealed->len >= STORE_SEAL_OVERHEAD, VEIL_E_VERIFY,
	       "store: the sealed %s %s is %zu bytes, shorter than any sealed value; the "
	       "database has been altered",
	       label, name, sealed->len);
	ENSURE(sealed->p[0] == STORE_SEAL_VERSION, VEIL_E_UNSUPPORTED,
	       "store: the sealed %s %s has format version %u; this build reads version %u", label,
	       name, sealed->p[0], STORE_SEAL_VERSION);
	len = sealed->len - STORE_SEAL_OVERHEAD;
	ENSURE(len <= VEIL_STORE_VALUE_MAX, VEIL_E_LIMIT,
	       "store: the sealed %s %s holds %zu bytes, over the cap of %d", label, name, len,
	       VEIL_STORE_VALUE_MAX);
	buf = malloc(len + 1);
	ENSURE(buf != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(veil_aead_init(&aead, VEIL_AEAD_AES_256_GCM, s->master, sizeof s->master));
	err = veil_aead_open(&aead, sealed->p + 1, aad, aad_len,
			     sealed->p + 1 + VEIL_AEAD_NONCE_LEN, len + VEIL_AEAD_TAG_LEN, buf);
	if (err == VEIL_E_VERIFY) {
		err = veil_fail(VEIL_E_VERIFY,
				"store: the %s %s does not decrypt: it was sealed for another row "
				"or database, or under another master key, or altered",
				label, name);
		goto out;
	}
	CHECK(err);
	buf[len] = 0;
	*pt = buf;
	*pt_len = len;
	buf = NULL;
out:
	veil_aead_clear(&aead);
	veil_free_secret(buf, len + 1);
	return err;
}

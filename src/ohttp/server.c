/*
 * server.c - the worker's OHTTP keys: a small table by key id, so that a
 * new key can be published while requests made with the previous
 * configuration are still accepted, and retired when they stop (RFC 9458
 * section 3: a key id names one key at a time).
 */
#include <stdlib.h>
#include <string.h>

#include "ohttp_internal.h"
#include "veil/secret.h"

veil_err veil_ohttp_server_new(veil_ohttp_server **out)
{
	*out = calloc(1, sizeof **out);
	ENSURE(*out != NULL, VEIL_E_NOMEM, "OHTTP server: out of memory");
	return VEIL_OK;
}

void veil_ohttp_server_free(veil_ohttp_server *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < VEIL_OHTTP_KEYS_MAX; i++)
		veil_x25519_key_clear(&s->keys[i].key);
	veil_free_secret(s, sizeof *s);
}

static ohttp_server_key *slot_find(const veil_ohttp_server *s, uint8_t key_id)
{
	for (size_t i = 0; i < VEIL_OHTTP_KEYS_MAX; i++)
		if (s->keys[i].used && s->keys[i].key_id == key_id)
			return (ohttp_server_key *)&s->keys[i];
	return NULL;
}

veil_err veil_ohttp_server_add_key(veil_ohttp_server *s, uint8_t key_id, veil_x25519_key *key,
				   const veil_ohttp_sym *suites, size_t suite_count)
{
	ohttp_server_key *slot = NULL;

	ENSURE(key->pkey != NULL, VEIL_E_USAGE, "OHTTP server: the key is empty");
	ENSURE(slot_find(s, key_id) == NULL, VEIL_E_USAGE,
	       "OHTTP server: key id %u is already in use; remove it first", key_id);
	ENSURE(suite_count >= 1 && suite_count <= VEIL_OHTTP_SUITES_MAX, VEIL_E_USAGE,
	       "OHTTP server: a key needs 1 to %d suites, got %zu", VEIL_OHTTP_SUITES_MAX,
	       suite_count);
	for (size_t i = 0; i < suite_count; i++) {
		veil_hpke_suite hs = {VEIL_HPKE_KEM_X25519_SHA256, suites[i].kdf, suites[i].aead};
		TRY(veil_hpke_suite_check(hs));
		ENSURE(hs.aead != VEIL_AEAD_EXPORT_ONLY, VEIL_E_USAGE,
		       "OHTTP server: an export-only suite cannot carry a response");
	}
	for (size_t i = 0; i < VEIL_OHTTP_KEYS_MAX && slot == NULL; i++)
		if (!s->keys[i].used)
			slot = &s->keys[i];
	ENSURE(slot != NULL, VEIL_E_LIMIT, "OHTTP server: already holds %d keys",
	       VEIL_OHTTP_KEYS_MAX);
	slot->used = true;
	slot->key_id = key_id;
	slot->key = *key;
	memset(key, 0, sizeof *key);
	slot->suite_count = suite_count;
	memcpy(slot->suites, suites, suite_count * sizeof *suites);
	return VEIL_OK;
}

veil_err veil_ohttp_server_generate_key(veil_ohttp_server *s, uint8_t key_id)
{
	/* DESIGN.md section 5: AES-256-GCM, with ChaCha20-Poly1305 second. */
	static const veil_ohttp_sym suites[] = {
	    {VEIL_HPKE_KDF_HKDF_SHA256, VEIL_AEAD_AES_256_GCM},
	    {VEIL_HPKE_KDF_HKDF_SHA256, VEIL_AEAD_CHACHA20_POLY1305},
	};
	veil_x25519_key key;
	veil_err err;

	TRY(veil_x25519_key_generate(&key));
	err = veil_ohttp_server_add_key(s, key_id, &key, suites, sizeof suites / sizeof *suites);
	veil_x25519_key_clear(&key);
	return err;
}

veil_err veil_ohttp_server_remove_key(veil_ohttp_server *s, uint8_t key_id)
{
	ohttp_server_key *slot = slot_find(s, key_id);

	ENSURE(slot != NULL, VEIL_E_NOT_FOUND, "OHTTP server: no key with id %u", key_id);
	veil_x25519_key_clear(&slot->key);
	veil_wipe(slot, sizeof *slot);
	return VEIL_OK;
}

veil_err veil_ohttp_server_config(const veil_ohttp_server *s, uint8_t key_id,
				  veil_ohttp_keyconfig *out)
{
	const ohttp_server_key *slot = slot_find(s, key_id);

	memset(out, 0, sizeof *out);
	ENSURE(slot != NULL, VEIL_E_NOT_FOUND, "OHTTP server: no key with id %u", key_id);
	out->key_id = key_id;
	out->kem = VEIL_HPKE_KEM_X25519_SHA256;
	memcpy(out->pub, slot->key.pub, sizeof out->pub);
	out->suite_count = slot->suite_count;
	memcpy(out->suites, slot->suites, slot->suite_count * sizeof *slot->suites);
	return VEIL_OK;
}

veil_err veil_ohttp_server_keys(const veil_ohttp_server *s, veil_writer *w)
{
	veil_ohttp_keyconfig configs[VEIL_OHTTP_KEYS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < VEIL_OHTTP_KEYS_MAX; i++)
		if (s->keys[i].used)
			TRY(veil_ohttp_server_config(s, s->keys[i].key_id, &configs[n++]));
	ENSURE(n > 0, VEIL_E_NOT_FOUND, "OHTTP server: no keys to publish");
	return veil_ohttp_keys_encode(configs, n, w);
}

veil_err ohttp_server_lookup(const veil_ohttp_server *s, uint8_t key_id, veil_hpke_suite suite,
			     const veil_x25519_key **key)
{
	const ohttp_server_key *slot = slot_find(s, key_id);

	*key = NULL;
	/* RFC 9458 section 4.3: an unknown key id or an unsupported suite is an
	 * error the gateway answers with 400; the detail stays server-side. */
	ENSURE(slot != NULL, VEIL_E_NOT_FOUND,
	       "no OHTTP key with id %u: the client has an outdated key configuration", key_id);
	for (size_t i = 0; i < slot->suite_count; i++)
		if (suite.kem == VEIL_HPKE_KEM_X25519_SHA256 && slot->suites[i].kdf == suite.kdf &&
		    slot->suites[i].aead == suite.aead) {
			*key = &slot->key;
			return VEIL_OK;
		}
	return veil_fail(VEIL_E_UNSUPPORTED,
			 "OHTTP key %u does not accept KEM 0x%04x, KDF 0x%04x, AEAD 0x%04x", key_id,
			 suite.kem, suite.kdf, suite.aead);
}

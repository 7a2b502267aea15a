/*
 * store.h - the key broker's persistent state behind one interface:
 * resources (the secrets it releases, encrypted at rest), policy documents,
 * reference values, the token-signing key, and attestation sessions.
 *
 * The default back end is one SQLite file in WAL mode; the interface is a
 * table of functions so that a shared PostgreSQL can back several replicas
 * later without touching the callers. Every function is safe to call from
 * several threads on one store.
 *
 * Secrets at rest: resource values and the signing key are sealed with
 * AES-256-GCM under a 32-byte master key that is never stored in the
 * database (by default a 0600 file beside it, see veil_store_master_key_*),
 * with the row's identity as AAD, so a value moved to another row or
 * another database does not decrypt. The database never holds a plaintext
 * secret.
 */
#ifndef VEIL_STORE_H
#define VEIL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/limits.h"

#define VEIL_STORE_MASTER_KEY_LEN 32

typedef struct veil_store veil_store;

/* Reads the master key from a file that must be 0600 (or stricter) and hold
 * exactly 32 bytes, raw, or 64 hex digits and an optional newline.
 * VEIL_E_USAGE for a file group or others can read, VEIL_E_MALFORMED for any
 * other content, VEIL_E_NOT_FOUND when there is no file. Symbolic links are
 * followed; the mode checked is the target's. */
VEIL_MUST_CHECK veil_err veil_store_master_key_load(const char *path,
						    uint8_t key[VEIL_STORE_MASTER_KEY_LEN]);
/* Creates a fresh random master key file (0600, 64 hex digits and a
 * newline, refusing to overwrite with VEIL_E_USAGE). Written to a temporary
 * file, synced and linked into place, then the folder synced: after a crash
 * there is the whole key or none. */
VEIL_MUST_CHECK veil_err veil_store_master_key_create(const char *path);

/* Opens (creating if needed, mode 0600) the SQLite store at path with the
 * given master key (copied; wiped on close). A database created under
 * another master key is refused with VEIL_E_VERIFY (a check value is kept in
 * the database); one that fails PRAGMA quick_check with VEIL_E_MALFORMED; one
 * with a newer schema with VEIL_E_UNSUPPORTED. */
VEIL_MUST_CHECK veil_err veil_store_open_sqlite(const char *path,
						const uint8_t master[VEIL_STORE_MASTER_KEY_LEN],
						veil_store **out);
void veil_store_close(veil_store *s);

/* Resources: a path "<repo>/<type>/<tag>" (each part non-empty, of
 * [A-Za-z0-9._-], neither "." nor containing "..", at most
 * VEIL_STORE_PATH_MAX bytes in all; VEIL_E_USAGE otherwise, VEIL_E_LIMIT
 * when too long) and a value of at most VEIL_STORE_VALUE_MAX bytes
 * (VEIL_E_LIMIT; an empty value is allowed). put replaces; a put that
 * returns VEIL_OK is durable (survives kill -9 and power loss). get returns
 * a new buffer the caller frees with veil_free_secret; VEIL_E_NOT_FOUND when
 * the path has no value (delete too), VEIL_E_VERIFY when the stored value
 * does not decrypt for this path (moved or altered). */
VEIL_MUST_CHECK veil_err veil_store_resource_put(veil_store *s, const char *path,
						 const uint8_t *value, size_t len);
VEIL_MUST_CHECK veil_err veil_store_resource_get(veil_store *s, const char *path, uint8_t **value,
						 size_t *len);
VEIL_MUST_CHECK veil_err veil_store_resource_delete(veil_store *s, const char *path);
/* Calls fn for each stored resource path, in byte order; stops at fn's
 * first error and returns it. fn runs with no lock held and may use the
 * store. */
VEIL_MUST_CHECK veil_err veil_store_resource_list(veil_store *s,
						  veil_err (*fn)(void *user, const char *path),
						  void *user);

/* Documents by kind and name: "resource-policy", "appraisal-policy",
 * "reference-values" (JSON text the caller has validated; not secret, kept
 * in plaintext). A name follows the rules of one part of a resource path,
 * at most VEIL_STORE_NAME_MAX bytes; a document is at most
 * VEIL_STORE_DOC_MAX bytes and holds no NUL (VEIL_E_MALFORMED). put
 * replaces and is durable; get returns a new NUL-terminated buffer
 * (free()); get and delete return VEIL_E_NOT_FOUND when absent. */
VEIL_MUST_CHECK veil_err veil_store_doc_put(veil_store *s, const char *kind, const char *name,
					    const uint8_t *doc, size_t len);
VEIL_MUST_CHECK veil_err veil_store_doc_get(veil_store *s, const char *kind, const char *name,
					    uint8_t **doc, size_t *len);
VEIL_MUST_CHECK veil_err veil_store_doc_delete(veil_store *s, const char *kind, const char *name);
VEIL_MUST_CHECK veil_err veil_store_doc_list(veil_store *s, const char *kind,
					     veil_err (*fn)(void *user, const char *name),
					     void *user);

/* A secret of the store's own, by name (the token-signing key, as PKCS#8
 * DER or PEM): sealed like a resource. get_or_create calls make() to
 * create it when absent, stores it, and returns it; concurrent callers (or
 * replicas) all end up with the one that was stored first. make() returns
 * a malloc()ed buffer that the store takes over (it wipes and frees it);
 * an error from make() is returned and nothing is stored. *value is freed
 * with veil_free_secret. */
VEIL_MUST_CHECK veil_err veil_store_secret_get_or_create(veil_store *s, const char *name,
							 veil_err (*make)(void *user, uint8_t **val,
									  size_t *len),
							 void *user, uint8_t **value, size_t *len);

/* Attestation sessions (KBS protocol): id is the cookie value. A session
 * holds the nonce it was issued, the TEE type, its expiry, and once attested
 * the token and the attester's public key (JWK JSON) and appraisal result
 * (EAR JSON). Times are Unix seconds, passed in by the caller. */
typedef struct veil_store_session {
	char id[VEIL_STORE_SESSION_ID_MAX + 1];
	char tee[32];
	uint8_t nonce[32];
	int64_t expires;
	bool attested;
	char *token;      /* NULL until attested; owned */
	char *tee_pubkey; /* JWK JSON; owned */
	char *ear;        /* EAR claims JSON; owned */
} veil_store_session;

/* Stores a new, unattested session (attested false, token NULL; tee_pubkey
 * and ear may be set). The id and the TEE type are of [A-Za-z0-9._-]; an id
 * that exists already is refused with VEIL_E_USAGE. */
VEIL_MUST_CHECK veil_err veil_store_session_create(veil_store *s, const veil_store_session *sess);
/* VEIL_E_NOT_FOUND if absent, VEIL_E_EXPIRED if its time has passed at now,
 * that is expires <= now (and it is deleted). On any error *out is left
 * cleared. Free a session with veil_store_session_clear. */
VEIL_MUST_CHECK veil_err veil_store_session_get(veil_store *s, const char *id, int64_t now,
						veil_store_session *out);
/* Marks a session attested with its token, key and result, and sets its
 * expiry; only once, and only while the nonce still matches
 * (VEIL_E_MISMATCH otherwise; VEIL_E_NOT_FOUND for no such session), so one
 * nonce admits one attestation. token is required; a NULL tee_pubkey or ear
 * keeps the value given at create. It does not look at the clock: the
 * caller has read the session with session_get at its now first. */
VEIL_MUST_CHECK veil_err veil_store_session_attest(veil_store *s, const char *id,
						   const uint8_t nonce[32], const char *token,
						   const char *tee_pubkey, const char *ear,
						   int64_t expires);
/* VEIL_E_NOT_FOUND when there is no such session. */
VEIL_MUST_CHECK veil_err veil_store_session_delete(veil_store *s, const char *id);
/* Deletes every session expired at now (expires <= now); *removed gets the
 * count. */
VEIL_MUST_CHECK veil_err veil_store_session_collect(veil_store *s, int64_t now, size_t *removed);
void veil_store_session_clear(veil_store_session *sess);

#endif

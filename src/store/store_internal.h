/*
 * store_internal.h - what a storage back end of the key broker implements,
 * and the helpers the generic layer (store.c) shares with the back ends.
 *
 * The split: store.c validates every argument, seals and opens secrets and
 * calls the caller's callbacks; a back end only moves bytes in and out of
 * its database. A back end never sees a plaintext secret (it stores the
 * sealed blobs store.c gives it), so a new one (PostgreSQL for several
 * replicas) cannot forget the encryption at rest, and never calls back into
 * the caller while holding a lock (list operations return a copy of the
 * names, which store.c then walks).
 *
 * Every operation must be safe to call from several threads at once on one
 * back end, and every write must be durable when it returns VEIL_OK.
 */
#ifndef VEIL_STORE_INTERNAL_H
#define VEIL_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "veil/aead.h"
#include "veil/error.h"
#include "veil/store.h"

/* Sealed blob: a version byte, the 12-byte AES-GCM nonce, then ciphertext
 * and the 16-byte tag. The version byte leaves room for a key id when
 * master keys can be rotated. */
#define STORE_SEAL_VERSION  0x01
#define STORE_SEAL_OVERHEAD (1 + VEIL_AEAD_NONCE_LEN + VEIL_AEAD_TAG_LEN)
/* The database's random id, bound into every AAD (rows cannot move
 * between databases that share a master key). */
#define STORE_DB_ID_LEN 16

/* Bytes the back end returns; the caller frees p with free(). */
typedef struct store_blob {
	uint8_t *p;
	size_t len;
} store_blob;

/* A list of names (resource paths, document names) copied out of the
 * database; freed with store_names_free. */
typedef struct store_names {
	char **v;
	size_t n, cap;
} store_names;

VEIL_MUST_CHECK veil_err store_names_add(store_names *l, const char *name, size_t len);
void store_names_free(store_names *l);

/* Copies len bytes into a new buffer with a NUL after them. */
VEIL_MUST_CHECK veil_err store_blob_copy(store_blob *b, const void *p, size_t len);

typedef struct store_ops {
	const char *name; /* "sqlite" */
	void (*close)(void *be);

	/* Stores id and check as the database's identity and master-key check
	 * value unless the database already has them, in one transaction (two
	 * processes creating one database agree on the first), and returns the
	 * stored pair. */
	veil_err (*meta_init)(void *be, const store_blob *id, const store_blob *check,
			      store_blob *id_out, store_blob *check_out);

	/* Resources: sealed blobs by path. get and delete: VEIL_E_NOT_FOUND
	 * when the path has no row. list: every path, in byte order. */
	veil_err (*resource_put)(void *be, const char *path, const store_blob *sealed);
	veil_err (*resource_get)(void *be, const char *path, store_blob *sealed);
	veil_err (*resource_delete)(void *be, const char *path);
	veil_err (*resource_list)(void *be, store_names *out);

	/* Documents: plaintext by kind and name; the same conventions. get
	 * returns the bytes with a NUL after them. */
	veil_err (*doc_put)(void *be, const char *kind, const char *name, const uint8_t *doc,
			    size_t len);
	veil_err (*doc_get)(void *be, const char *kind, const char *name, store_blob *doc);
	veil_err (*doc_delete)(void *be, const char *kind, const char *name);
	veil_err (*doc_list)(void *be, const char *kind, store_names *out);

	/* The store's own secrets, sealed. insert_get stores sealed unless
	 * name has a value already and returns what is stored, in one
	 * transaction. */
	veil_err (*secret_get)(void *be, const char *name, store_blob *sealed);
	veil_err (*secret_insert_get)(void *be, const char *name, const store_blob *sealed,
				      store_blob *stored);

	/* Sessions; arguments already validated by store.c. create:
	 * VEIL_E_USAGE if the id exists. get: VEIL_E_EXPIRED (and the row
	 * deleted) when expires <= now. attest: one UPDATE guarded by
	 * "attested = 0 AND nonce = ?"; VEIL_E_NOT_FOUND or VEIL_E_MISMATCH
	 * when it changed no row. */
	veil_err (*session_create)(void *be, const veil_store_session *sess);
	veil_err (*session_get)(void *be, const char *id, int64_t now, veil_store_session *out);
	veil_err (*session_attest)(void *be, const char *id, const uint8_t nonce[32],
				   const char *token, const char *tee_pubkey, const char *ear,
				   int64_t expires);
	veil_err (*session_delete)(void *be, const char *id);
	veil_err (*session_collect)(void *be, int64_t now, size_t *removed);
} store_ops;

struct veil_store {
	const store_ops *ops;
	void *be;
	uint8_t master[VEIL_STORE_MASTER_KEY_LEN];
	uint8_t db_id[STORE_DB_ID_LEN];
};

/* Called by a back end's open function once its database is ready: checks
 * (or, for a new database, records) the master key and returns the store,
 * which then owns be. On failure be is closed and *out is NULL. */
VEIL_MUST_CHECK veil_err store_attach(const store_ops *ops, void *be,
				      const uint8_t master[VEIL_STORE_MASTER_KEY_LEN],
				      veil_store **out);

/* Sealing (seal.c). label names the kind of row ("resource", "secret",
 * "check"); name is the row's key. The AAD is
 * "veil-store v1 " label NUL db_id name, so a blob opens only in the row
 * and the database it was sealed for. */
VEIL_MUST_CHECK veil_err store_seal(const veil_store *s, const char *label, const char *name,
				    const uint8_t *pt, size_t pt_len, store_blob *out);
/* Opens a sealed blob into a new buffer (free with veil_free_secret, len
 * bytes; one spare byte is allocated so an empty value is not NULL).
 * VEIL_E_VERIFY when it does not open under this key and row. */
VEIL_MUST_CHECK veil_err store_unseal(const veil_store *s, const char *label, const char *name,
				      const store_blob *sealed, uint8_t **pt, size_t *pt_len);

/* Validation shared by the generic layer and the tools. */
VEIL_MUST_CHECK veil_err store_path_check(const char *path);
VEIL_MUST_CHECK veil_err store_name_check(const char *what, const char *name, size_t max);
VEIL_MUST_CHECK veil_err store_kind_check(const char *kind);

#endif

/*
 * tlog.h - the transparency log: an append-only Merkle tree log in the
 * style of RFC 9162 (Certificate Transparency version 2.0), with signed
 * tree heads and inclusion and consistency proofs (DESIGN.md section 5,
 * docs/tlog.md).
 *
 * veil-gateway appends what it decides about workers (admissions,
 * re-attestations, removals) and serves tree heads and proofs; `veil
 * audit` checks them with the verification functions below, the same code
 * at both ends. The hashing is RFC 9162 section 2.1.1 over SHA-256, so a
 * tree here has the same roots and proofs as a Certificate Transparency
 * log over the same entries.
 *
 * Verification is for clients and takes everything it needs as arguments:
 * no log, no I/O. The log itself keeps its entries in SQLite and every leaf
 * hash in memory, with the hashes of perfect subtrees cached, so a root or
 * a proof costs O(log n) hash operations and no I/O.
 */
#ifndef VEIL_TLOG_H
#define VEIL_TLOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/jose.h"
#include "veil/limits.h"

#define VEIL_TLOG_HASH_LEN 32
typedef uint8_t veil_tlog_hash[VEIL_TLOG_HASH_LEN];

/* ---- Hashing (pure) ---- */

/* RFC 9162 section 2.1.1: leaf hash SHA-256(0x00 || data), node hash
 * SHA-256(0x01 || l || r); the root of the empty tree is SHA-256(""). */
VEIL_MUST_CHECK veil_err veil_tlog_leaf_hash(const uint8_t *data, size_t len, veil_tlog_hash out);
VEIL_MUST_CHECK veil_err veil_tlog_node_hash(const veil_tlog_hash l, const veil_tlog_hash r,
					     veil_tlog_hash out);
/* The root of n leaf hashes (pure, no log needed; n - 1 node hashes). */
VEIL_MUST_CHECK veil_err veil_tlog_root_of(const veil_tlog_hash *leaves, uint64_t n,
					   veil_tlog_hash out);

/* ---- Verification, for clients (pure) ---- */

/*
 * RFC 9162 section 2.1.3.2: whether `path` proves that `leaf` (a leaf hash)
 * is entry `index` of the tree of `size` entries whose root is `root`.
 * VEIL_OK, or VEIL_E_VERIFY when the hashes do not lead to the root.
 * VEIL_E_MALFORMED for what no genuine proof can be: index >= size, or a
 * path whose length is not the one these index and size give (a proof
 * with a hash dropped or added); VEIL_E_USAGE for NULL pointers. path may
 * be NULL when path_len is 0.
 */
VEIL_MUST_CHECK veil_err veil_tlog_verify_inclusion(uint64_t index, uint64_t size,
						    const veil_tlog_hash leaf,
						    const veil_tlog_hash *path, size_t path_len,
						    const veil_tlog_hash root);
/*
 * RFC 9162 section 2.1.4.2: whether `proof` proves that the tree of size2
 * entries with root2 extends the tree of size1 entries with root1.
 * VEIL_E_MALFORMED when size1 > size2 or the proof's length is not the one
 * the sizes give; VEIL_E_VERIFY when the hashes do not lead to both roots.
 * Beyond the RFC, which defines proofs for 0 < size1 < size2 only: equal
 * sizes take an empty proof and equal roots, and size1 = 0 an empty proof
 * and root1 equal to the empty tree's root (any tree extends the empty
 * one).
 */
VEIL_MUST_CHECK veil_err veil_tlog_verify_consistency(uint64_t size1, uint64_t size2,
						      const veil_tlog_hash root1,
						      const veil_tlog_hash root2,
						      const veil_tlog_hash *proof,
						      size_t proof_len);

/* ---- The log ---- */

/*
 * The log: append-only, in SQLite, in its own tables (tlog_*) of the file at
 * path, which may be a database the caller also uses through another
 * connection; WAL mode with synchronous=FULL, so every append is durable
 * before it returns. One process appends to a log at a time (an append that
 * finds its index taken by another writer fails with VEIL_E_IO). Leaf
 * hashes are kept in memory too (32 bytes an entry, and as much again for
 * the cached hashes of perfect subtrees), so roots and proofs cost no I/O
 * and O(log n) hash operations. Every function is safe to call from
 * several threads on one log.
 */
typedef struct veil_tlog veil_tlog;

/*
 * Opens (creating if missing, mode 0600) the log at path. At open every
 * stored entry is hashed again and compared with its stored leaf hash, the
 * indexes must run 0, 1, 2, ... without a gap, and the tree's size and root
 * must equal those recorded with the last append: a log altered, truncated
 * or extended outside this code is refused (VEIL_E_VERIFY, naming the first
 * index that does not hold), never repaired. VEIL_E_MALFORMED for a
 * database that fails SQLite's integrity check, VEIL_E_UNSUPPORTED for a
 * newer schema. Opening costs one pass over every entry.
 */
VEIL_MUST_CHECK veil_err veil_tlog_open(const char *path, veil_tlog **out);
/* NULL is fine. */
void veil_tlog_close(veil_tlog *t);
/*
 * Appends one entry (len bytes, at most VEIL_TLOG_ENTRY_MAX: VEIL_E_LIMIT
 * above; entry may be NULL when len is 0); durable when it returns
 * VEIL_OK, and *index (may be NULL) is its position. Concurrent appends get
 * distinct, consecutive indexes.
 */
VEIL_MUST_CHECK veil_err veil_tlog_append(veil_tlog *t, const uint8_t *entry, size_t len,
					  uint64_t *index);
/* The number of entries. */
uint64_t veil_tlog_size(veil_tlog *t);
/* The root of the tree of the first `size` entries (size <= the current
 * size; VEIL_E_USAGE otherwise). */
VEIL_MUST_CHECK veil_err veil_tlog_root(veil_tlog *t, uint64_t size, veil_tlog_hash out);
/* Entry `index` in a new buffer (free()); VEIL_E_NOT_FOUND for an index at
 * or past the size; VEIL_E_VERIFY when the stored bytes no longer hash to
 * the leaf the tree holds (the database was changed under the log). */
VEIL_MUST_CHECK veil_err veil_tlog_entry(veil_tlog *t, uint64_t index, uint8_t **data, size_t *len);
/*
 * Proofs as arrays of hashes, in the order RFC 9162 sections 2.1.3.1 and
 * 2.1.4.1 give them, in a new array (free(); NULL when *n is 0). Inclusion
 * of entry index in the tree of the first `size` entries (index < size <=
 * the current size); consistency between the trees of size1 and size2
 * entries (size1 <= size2 <= the current size; empty when size1 is 0 or
 * equal to size2). VEIL_E_USAGE for sizes outside those bounds.
 */
VEIL_MUST_CHECK veil_err veil_tlog_inclusion_proof(veil_tlog *t, uint64_t index, uint64_t size,
						   veil_tlog_hash **path, size_t *n);
VEIL_MUST_CHECK veil_err veil_tlog_consistency_proof(veil_tlog *t, uint64_t size1, uint64_t size2,
						     veil_tlog_hash **proof, size_t *n);

/* ---- Signed tree heads ---- */

/*
 * A compact JWS (RFC 7515 section 7.1), ES256 only, by the log's key:
 *   header   {"alg":"ES256","typ":"veil-sth+jws","kid":"<RFC 7638 thumbprint>"}
 *   payload  {"tree_size":N,"timestamp":MS,"root_hash":"<base64url of 32 bytes>"}
 * N and MS (Unix milliseconds) are integers in 0..2^53-1 (I-JSON, RFC 7493
 * section 2.2). Verification is strict as for receipts: exactly these
 * members, these types, root_hash exactly 43 base64url characters, at most
 * VEIL_TLOG_STH_MAX_BYTES in all.
 */
#define VEIL_TLOG_STH_TYP "veil-sth+jws"
#define VEIL_TLOG_INT_MAX ((INT64_C(1) << 53) - 1)

typedef struct veil_tlog_sth {
	uint64_t tree_size;
	int64_t timestamp_ms;
	veil_tlog_hash root;
} veil_tlog_sth;

/* Signs sth with key (an EC P-256 private key) into a new NUL-terminated
 * string (free()). VEIL_E_USAGE for a size or time outside 0..2^53-1 or
 * another kind of key. */
VEIL_MUST_CHECK veil_err veil_tlog_sth_sign(const veil_jwk *key, const veil_tlog_sth *sth,
					    char **jws);
/* Verifies an STH with the log's public key: the signature, alg ES256
 * only, typ, kid equal to the key's thumbprint, and the payload's exact
 * shape. Fills *out on success and zeroes it on failure. VEIL_E_VERIFY for
 * a bad signature, another algorithm or another key; VEIL_E_MALFORMED for a
 * bad shape; VEIL_E_LIMIT above VEIL_TLOG_STH_MAX_BYTES. */
VEIL_MUST_CHECK veil_err veil_tlog_sth_verify(const veil_jwk *key, const char *jws, size_t len,
					      veil_tlog_sth *out);

/* ---- Proofs in JSON, for the gateway's HTTP API ---- */

/* n hashes (at most VEIL_TLOG_PROOF_MAX) as a new JSON array of unpadded
 * base64url strings (json_decref). */
VEIL_MUST_CHECK veil_err veil_tlog_proof_json(const veil_tlog_hash *p, size_t n, json_t **out);
/* The reverse, strictly: an array of at most VEIL_TLOG_PROOF_MAX strings
 * (VEIL_E_LIMIT above), each exactly 43 base64url characters that decode
 * to 32 bytes (VEIL_E_MALFORMED otherwise). *p is new (free(); NULL when
 * *n is 0). */
VEIL_MUST_CHECK veil_err veil_tlog_proof_parse(const json_t *arr, veil_tlog_hash **p, size_t *n);

#endif

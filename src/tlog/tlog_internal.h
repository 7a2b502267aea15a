/*
 * tlog_internal.h - what the files of src/tlog share: the hasher (one
 * SHA-256 context reused for every hash of one operation), the in-memory
 * Merkle tree with its cache of perfect subtrees (tree.c), and the proof
 * lengths the verifiers expect (verify.c).
 *
 * The tree is separate from the SQLite log (log.c) so that it can be
 * built from leaf hashes alone: the log builds one from its stored
 * entries at open, and the fuzz target builds one in memory to compare
 * the proofs a verifier accepts with the proofs the log gives.
 */
#ifndef VEIL_TLOG_INTERNAL_H
#define VEIL_TLOG_INTERNAL_H

#include <openssl/evp.h>

#include "veil/tlog.h"

/* Levels of the tree: level k holds the hashes of the perfect subtrees of
 * 2^k leaves, so 64 levels hold any tree a uint64_t can count. */
#define TLOG_LEVELS 64
/* The longest proof of any tree below 2^64 leaves: an inclusion proof has
 * at most 64 hashes, a consistency proof at most 65. */
#define TLOG_PROOF_CAP 65

/* ---- hashing (merkle.c) ---- */

typedef struct tlog_hasher {
	EVP_MD_CTX *ctx;
} tlog_hasher;

VEIL_MUST_CHECK veil_err tlog_hasher_init(tlog_hasher *h);
void tlog_hasher_clear(tlog_hasher *h);
/* RFC 9162 section 2.1.1, through h's context. */
VEIL_MUST_CHECK veil_err tlog_hash_leaf(tlog_hasher *h, const uint8_t *data, size_t len,
					veil_tlog_hash out);
VEIL_MUST_CHECK veil_err tlog_hash_node(tlog_hasher *h, const veil_tlog_hash l,
					const veil_tlog_hash r, veil_tlog_hash out);
/* SHA-256 of the empty string: the root of the empty tree. */
void tlog_empty_root(veil_tlog_hash out);
/* The largest power of two below n (n >= 2): where RFC 9162 section 2.1.1
 * splits a tree of n leaves. */
uint64_t tlog_split(uint64_t n);

/* ---- the in-memory tree (tree.c) ---- */

/*
 * level[k][i] is the hash of the perfect subtree over leaves
 * [i * 2^k, (i + 1) * 2^k); level 0 holds the leaf hashes. A tree of n
 * leaves has n >> k hashes at level k, about 2n in all. Appending is in two
 * steps so that the log can write its database between them: stage writes
 * the new leaf and the subtrees it completes into slots readers do not look
 * at yet, publish makes them part of the tree.
 */
typedef struct tlog_tree {
	uint64_t size; /* published leaves */
	veil_tlog_hash *level[TLOG_LEVELS];
	uint64_t cap[TLOG_LEVELS]; /* allocated hashes of each level */
} tlog_tree;

void tlog_tree_init(tlog_tree *t);
void tlog_tree_clear(tlog_tree *t);
/* Room for n leaves (moves the arrays: no reader may be inside). */
VEIL_MUST_CHECK veil_err tlog_tree_reserve(tlog_tree *t, uint64_t n);
/* Writes leaf as leaf number t->size, and the perfect subtrees it
 * completes, without publishing it; room must be reserved. */
VEIL_MUST_CHECK veil_err tlog_tree_stage(tlog_tree *t, tlog_hasher *h, const veil_tlog_hash leaf);
void tlog_tree_publish(tlog_tree *t);
/* reserve, stage and publish: for building a tree in one thread. */
VEIL_MUST_CHECK veil_err tlog_tree_append(tlog_tree *t, tlog_hasher *h, const veil_tlog_hash leaf);
/* The root of the first n leaves; n may include a staged leaf (n <=
 * t->size + 1 after a stage). */
VEIL_MUST_CHECK veil_err tlog_tree_root(const tlog_tree *t, tlog_hasher *h, uint64_t n,
					veil_tlog_hash out);
/* RFC 9162 sections 2.1.3.1 and 2.1.4.1 for the tree of the first `size`
 * (`size2`) leaves; out holds TLOG_PROOF_CAP hashes. The caller checks the
 * bounds (index < size <= t->size, size1 <= size2 <= t->size). */
VEIL_MUST_CHECK veil_err tlog_tree_inclusion(const tlog_tree *t, tlog_hasher *h, uint64_t index,
					     uint64_t size, veil_tlog_hash *out, size_t *n);
VEIL_MUST_CHECK veil_err tlog_tree_consistency(const tlog_tree *t, tlog_hasher *h, uint64_t size1,
					       uint64_t size2, veil_tlog_hash *out, size_t *n);

/* ---- proof lengths (verify.c) ---- */

/* The number of hashes in the inclusion proof of index in a tree of size
 * leaves (index < size), and in the consistency proof between trees of
 * size1 and size2 leaves (size1 <= size2; 0 when size1 is 0 or size2). */
size_t tlog_inclusion_len(uint64_t index, uint64_t size);
size_t tlog_consistency_len(uint64_t size1, uint64_t size2);

#endif

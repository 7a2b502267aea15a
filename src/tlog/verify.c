/*
 * verify.c - checking inclusion and consistency proofs (RFC 9162 sections
 * 2.1.3.2 and 2.1.4.2), for `veil audit` and anyone else who holds a
 * signed tree head and does not trust the log's operator.
 *
 * The algorithms are the RFC's, step by step: they walk the bits of the
 * leaf index (fn) and of the last index of the tree (sn) from the bottom
 * up, and the bits alone decide at each step whether the next proof hash
 * goes on the left or the right. The same walk without the hashing gives
 * the exact number of hashes a genuine proof has, which is checked first:
 * a proof with a hash dropped or added is named as the wrong length
 * (VEIL_E_MALFORMED) before any hashing, and a proof of the right length
 * that does not lead to the root is VEIL_E_VERIFY. Both fail closed.
 *
 * Everything is an argument: no clock, no I/O, no log. Sizes and indexes
 * come from a gateway the client does not trust, so every value of them,
 * up to 2^64 - 1, is handled; the walks shift sn right at every step, so
 * neither runs more than 64 steps.
 */
#include <string.h>

#include "tlog/tlog_internal.h"
#include "veil/secret.h"

typedef unsigned long long ull; /* for printf */

/* Step b.ii of both algorithms: shift fn and sn right until fn is odd
 * or 0. */
static void shift_to_odd(uint64_t *fn, uint64_t *sn)
{
	while ((*fn & 1) == 0 && *fn != 0) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

/* The steps of the loop shared by both algorithms, without hashing:
 * how many proof hashes a walk from (fn, sn) consumes. */
static size_t walk_len(uint64_t fn, uint64_t sn)
{
	size_t n = 0;

	while (sn != 0) {
		if ((fn & 1) != 0 || fn == sn)
			shift_to_odd(&fn, &sn);
		fn >>= 1;
		sn >>= 1;
		n++;
	}
	return n;
}

size_t tlog_inclusion_len(uint64_t index, uint64_t size)
{
	return walk_len(index, size - 1);
}

static bool is_pow2(uint64_t n)
{
	return (n & (n - 1)) == 0;
}

size_t tlog_consistency_len(uint64_t size1, uint64_t size2)
{
	uint64_t fn = size1 - 1, sn = size2 - 1;

	if (size1 == 0 || size1 == size2)
		return 0;
	/* Step 4: the trailing ones of fn are levels where the old tree's
	 * edge is a left child of a perfect subtree the proof names whole. */
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	/* Step 2: when size1 is a power of two the walk starts from root1,
	 * which is not in the proof; otherwise from the proof's first hash. */
	return walk_len(fn, sn) + (is_pow2(size1) ? 0 : 1);
}

veil_err veil_tlog_verify_inclusion(uint64_t index, uint64_t size, const veil_tlog_hash leaf,
				    const veil_tlog_hash *path, size_t path_len,
				    const veil_tlog_hash root)
{
	veil_tlog_hash r;
	uint64_t fn, sn;
	size_t want;
	tlog_hasher h;
	veil_err err = VEIL_OK;

	ENSURE(leaf != NULL && root != NULL && (path != NULL || path_len == 0), VEIL_E_USAGE,
	       "veil_tlog_verify_inclusion: NULL argument");
	/* Step 1. */
	ENSURE(index < size, VEIL_E_MALFORMED,
	       "inclusion proof for entry %llu of a tree of %llu entries: no such entry",
	       (ull)index, (ull)size);
	want = tlog_inclusion_len(index, size);
	ENSURE(path_len == want, VEIL_E_MALFORMED,
	       "inclusion proof for entry %llu of %llu has %zu hashes; a proof for that entry "
	       "has %zu",
	       (ull)index, (ull)size, path_len, want);
	TRY(tlog_hasher_init(&h));
	/* Steps 2 and 3. */
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, VEIL_TLOG_HASH_LEN);
	/* Step 4. The length check guarantees sn != 0 at each step (4a). */
	for (size_t i = 0; i < path_len; i++) {
		if ((fn & 1) != 0 || fn == sn) {
			CHECK(tlog_hash_node(&h, path[i], r, r));
			shift_to_odd(&fn, &sn);
		} else {
			CHECK(tlog_hash_node(&h, r, path[i], r));
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* Step 5. */
	CHECK_THAT(sn == 0 && veil_ct_equal(r, root, VEIL_TLOG_HASH_LEN), VEIL_E_VERIFY,
		   "inclusion proof for entry %llu does not lead to the root of the tree of %llu "
		   "entries: the entry is not in that tree, or the proof or root is not the log's",
		   (ull)index, (ull)size);
out:
	tlog_hasher_clear(&h);
	return err;
}

/* The cases RFC 9162 leaves out: size1 = 0, and equal sizes. */
static veil_err trivial_consistency(uint64_t size1, const veil_tlog_hash root1,
				    const veil_tlog_hash root2)
{
	veil_tlog_hash empty;

	if (size1 == 0) {
		tlog_empty_root(empty);
		ENSURE(veil_ct_equal(root1, empty, VEIL_TLOG_HASH_LEN), VEIL_E_VERIFY,
		       "consistency proof from an empty tree, but the older root is not the "
		       "empty tree's (SHA-256 of nothing)");
		return VEIL_OK;
	}
	ENSURE(veil_ct_equal(root1, root2, VEIL_TLOG_HASH_LEN), VEIL_E_VERIFY,
	       "two tree heads of %llu entries with different roots: the log forked (keep both "
	       "signed tree heads as evidence)",
	       (ull)size1);
	return VEIL_OK;
}

veil_err veil_tlog_verify_consistency(uint64_t size1, uint64_t size2, const veil_tlog_hash root1,
				      const veil_tlog_hash root2, const veil_tlog_hash *proof,
				      size_t proof_len)
{
	veil_tlog_hash fr, sr;
	const veil_tlog_hash *rest;
	uint64_t fn, sn;
	size_t want, rest_len;
	tlog_hasher h;
	veil_err err = VEIL_OK;

	ENSURE(root1 != NULL && root2 != NULL && (proof != NULL || proof_len == 0), VEIL_E_USAGE,
	       "veil_tlog_verify_consistency: NULL argument");
	ENSURE(size1 <= size2, VEIL_E_MALFORMED,
	       "consistency proof from %llu entries to %llu: a log never shrinks", (ull)size1,
	       (ull)size2);
	want = tlog_consistency_len(size1, size2);
	ENSURE(proof_len == want, VEIL_E_MALFORMED,
	       "consistency proof from %llu to %llu entries has %zu hashes; a proof for those "
	       "sizes has %zu",
	       (ull)size1, (ull)size2, proof_len, want);
	if (size1 == 0 || size1 == size2)
		return trivial_consistency(size1, root1, root2);
	/* Step 1 (an empty proof) cannot pass the length check. Step 2:
	 * when size1 is a power of two, the old root is a node of the new
	 * tree and the walk starts from it. */
	if (is_pow2(size1)) {
		memcpy(fr, root1, VEIL_TLOG_HASH_LEN);
		rest = proof;
		rest_len = proof_len;
	} else {
		memcpy(fr, proof[0], VEIL_TLOG_HASH_LEN);
		rest = proof + 1;
		rest_len = proof_len - 1;
	}
	/* Steps 3 to 5. */
	fn = size1 - 1;
	sn = size2 - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(sr, fr, VEIL_TLOG_HASH_LEN);
	TRY(tlog_hasher_init(&h));
	/* Step 6; the length check guarantees sn != 0 at each step (6a). */
	for (size_t i = 0; i < rest_len; i++) {
		if ((fn & 1) != 0 || fn == sn) {
			CHECK(tlog_hash_node(&h, rest[i], fr, fr));
			CHECK(tlog_hash_node(&h, rest[i], sr, sr));
			shift_to_odd(&fn, &sn);
		} else {
			CHECK(tlog_hash_node(&h, sr, rest[i], sr));
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* Step 7. */
	CHECK_THAT(veil_ct_equal(fr, root1, VEIL_TLOG_HASH_LEN), VEIL_E_VERIFY,
		   "consistency proof from %llu to %llu entries does not lead to the older root: "
		   "the proof or that tree head is not the log's",
		   (ull)size1, (ull)size2);
	CHECK_THAT(sn == 0 && veil_ct_equal(sr, root2, VEIL_TLOG_HASH_LEN), VEIL_E_VERIFY,
		   "consistency proof from %llu to %llu entries does not lead to the newer root: "
		   "the newer tree does not extend the older one, or the proof is not the log's",
		   (ull)size1, (ull)size2);
out:
	tlog_hasher_clear(&h);
	return err;
}

/*
 * tree.c - the log's Merkle tree in memory: every leaf hash and every
 * perfect subtree's hash, and the proofs of RFC 9162 sections 2.1.3.1
 * (inclusion) and 2.1.4.1 (consistency) generated from them.
 *
 * Why cache perfect subtrees: the ranges D[a:b] that the RFC's recursions
 * hash are, apart from at most one per level, perfect subtrees aligned to
 * their size (the split point k is a power of two and each left part is
 * D[a:a+k] with a a multiple of k). With their hashes at hand, the hash of
 * any such range is the popcount of its length in cached hashes less one
 * node hash, and a root or a proof costs O(log n) hashes, not the O(n) of
 * hashing from the leaves. Appending completes on average one perfect
 * subtree (a binary counter's carries), so keeping the cache costs one
 * node hash an append, and about as much memory again as the leaves.
 *
 * Locking is the log's (log.c): readers may run while an appender stages,
 * because staging writes only slots past the published size; reserve
 * moves the arrays and publish changes the size, so both run under the
 * log's write lock.
 */
#include <stdlib.h>
#include <string.h>

#include "tlog/tlog_internal.h"

void tlog_tree_init(tlog_tree *t)
{
	memset(t, 0, sizeof *t);
}

void tlog_tree_clear(tlog_tree *t)
{
	for (int k = 0; k < TLOG_LEVELS; k++)
		free(t->level[k]);
	memset(t, 0, sizeof *t);
}

veil_err tlog_tree_reserve(tlog_tree *t, uint64_t n)
{
	for (int k = 0; k < TLOG_LEVELS; k++) {
		uint64_t need = n >> k, cap = t->cap[k] < 16 ? 16 : t->cap[k];
		veil_tlog_hash *p;

		if (need <= t->cap[k])
			continue;
		/* Doubling: appends move each array O(log n) times. */
		while (cap < need)
			cap = cap > UINT64_MAX / 2 ? need : cap * 2;
		ENSURE(cap <= SIZE_MAX / sizeof *p, VEIL_E_NOMEM,
		       "transparency log: %llu leaves do not fit in memory", (unsigned long long)n);
		p = realloc(t->level[k], (size_t)cap * sizeof *p);
		ENSURE(p != NULL, VEIL_E_NOMEM, "transparency log: out of memory at %llu leaves",
		       (unsigned long long)n);
		t->level[k] = p;
		t->cap[k] = cap;
	}
	return VEIL_OK;
}

veil_err tlog_tree_stage(tlog_tree *t, tlog_hasher *h, const veil_tlog_hash leaf)
{
	veil_tlog_hash cur;
	uint64_t i = t->size;

	memcpy(cur, leaf, VEIL_TLOG_HASH_LEN);
	/* Level k gets entry i = size >> k; while that entry is a right
	 * child (i odd), it completes the perfect subtree above it. */
	for (int k = 0;; k++) {
		ENSURE(k < TLOG_LEVELS && i < t->cap[k], VEIL_E_USAGE,
		       "transparency log: no room reserved for leaf %llu",
		       (unsigned long long)t->size);
		memcpy(t->level[k][i], cur, VEIL_TLOG_HASH_LEN);
		if ((i & 1) == 0)
			return VEIL_OK;
		TRY(tlog_hash_node(h, t->level[k][i - 1], cur, cur));
		i >>= 1;
	}
}

void tlog_tree_publish(tlog_tree *t)
{
	t->size++;
}

veil_err tlog_tree_append(tlog_tree *t, tlog_hasher *h, const veil_tlog_hash leaf)
{
	ENSURE(t->size < UINT64_MAX, VEIL_E_LIMIT, "transparency log: the tree is full");
	TRY(tlog_tree_reserve(t, t->size + 1));
	TRY(tlog_tree_stage(t, h, leaf));
	tlog_tree_publish(t);
	return VEIL_OK;
}

/* MTH(D[a:b]) for a < b (RFC 9162 section 2.1.1), from the cache where
 * the range is a perfect subtree aligned to its size. */
static veil_err range_hash(const tlog_tree *t, tlog_hasher *h, uint64_t a, uint64_t b,
			   veil_tlog_hash out)
{
	uint64_t n = b - a, k;
	veil_tlog_hash l, r;

	if ((n & (n - 1)) == 0 && (a & (n - 1)) == 0) {
		int level = __builtin_ctzll(n);

		memcpy(out, t->level[level][a >> level], VEIL_TLOG_HASH_LEN);
		return VEIL_OK;
	}
	k = tlog_split(n);
	TRY(range_hash(t, h, a, a + k, l));
	TRY(range_hash(t, h, a + k, b, r));
	return tlog_hash_node(h, l, r, out);
}

veil_err tlog_tree_root(const tlog_tree *t, tlog_hasher *h, uint64_t n, veil_tlog_hash out)
{
	if (n == 0) {
		tlog_empty_root(out);
		return VEIL_OK;
	}
	return range_hash(t, h, 0, n, out);
}

/* Appends MTH(D[a:b]) to a proof. */
static veil_err push(const tlog_tree *t, tlog_hasher *h, uint64_t a, uint64_t b,
		     veil_tlog_hash *out, size_t *n)
{
	ENSURE(*n < TLOG_PROOF_CAP, VEIL_E_LIMIT, "transparency log: proof longer than %d hashes",
	       TLOG_PROOF_CAP);
	TRY(range_hash(t, h, a, b, out[*n]));
	(*n)++;
	return VEIL_OK;
}

/*
 * RFC 9162 section 2.1.3.1: PATH(m, D[a:b]) with m an absolute index.
 * For b - a > 1 and k the split: if m is left of it, PATH(m, D[a:a+k])
 * then MTH(D[a+k:b]); else PATH(m, D[a+k:b]) then MTH(D[a:a+k]). The
 * hashes nearest the leaf come first.
 */
static veil_err path(const tlog_tree *t, tlog_hasher *h, uint64_t m, uint64_t a, uint64_t b,
		     veil_tlog_hash *out, size_t *n)
{
	uint64_t k;

	if (b - a == 1)
		return VEIL_OK;
	k = tlog_split(b - a);
	if (m < a + k) {
		TRY(path(t, h, m, a, a + k, out, n));
		return push(t, h, a + k, b, out, n);
	}
	TRY(path(t, h, m, a + k, b, out, n));
	return push(t, h, a, a + k, out, n);
}

veil_err tlog_tree_inclusion(const tlog_tree *t, tlog_hasher *h, uint64_t index, uint64_t size,
			     veil_tlog_hash *out, size_t *n)
{
	*n = 0;
	return path(t, h, index, 0, size, out, n);
}

/*
 * RFC 9162 section 2.1.4.1: SUBPROOF(m, D[a:b], whole), m counted from a.
 * When m covers the whole range, the range's hash is in the proof unless
 * it is the old tree's root itself (whole), which the verifier has.
 * Otherwise, with k the split: if m <= k, SUBPROOF(m, D[a:a+k], whole)
 * then MTH(D[a+k:b]); else SUBPROOF(m - k, D[a+k:b], false) then
 * MTH(D[a:a+k]).
 */
static veil_err subproof(const tlog_tree *t, tlog_hasher *h, uint64_t m, uint64_t a, uint64_t b,
			 bool whole, veil_tlog_hash *out, size_t *n)
{
	uint64_t k;

	if (m == b - a)
		return whole ? VEIL_OK : push(t, h, a, b, out, n);
	k = tlog_split(b - a);
	if (m <= k) {
		TRY(subproof(t, h, m, a, a + k, whole, out, n));
		return push(t, h, a + k, b, out, n);
	}
	TRY(subproof(t, h, m - k, a + k, b, false, out, n));
	return push(t, h, a, a + k, out, n);
}

veil_err tlog_tree_consistency(const tlog_tree *t, tlog_hasher *h, uint64_t size1, uint64_t size2,
			       veil_tlog_hash *out, size_t *n)
{
	*n = 0;
	/* Outside the RFC's 0 < m < n: nothing to prove. */
	if (size1 == 0 || size1 == size2)
		return VEIL_OK;
	return subproof(t, h, size1, 0, size2, true, out, n);
}

/*
 * fuzz_tlog_proof.c - the transparency log's proof verifiers and the JSON
 * form of proofs (src/tlog/verify.c, src/tlog/proof_json.c), as `veil
 * audit` meets them: sizes, indexes and hashes from a gateway it does not
 * trust.
 *
 * The input is one JSON object {"a": N, "b": N, "proof": [...]}; a and b
 * are read as 64-bit integers (negative ones wrap to the largest sizes,
 * which the walks must survive). The proof is parsed with
 * veil_tlog_proof_parse and checked both ways against a fixed tree of 64
 * leaves built in memory: as the inclusion of leaf a in the tree of b
 * leaves, and as the consistency of the trees of a and b leaves, each
 * with the genuine roots where the sizes are within the tree. The seeds in
 * fuzz/seeds/fuzz_tlog_proof/ are genuine proofs of that tree.
 *
 * Beyond "no crash", the properties: a proof that verifies is, hash for
 * hash, the proof the tree itself gives (proofs are unique, short of a
 * SHA-256 collision), or the empty proof of a trivially true claim (from
 * the empty tree, or from a tree to itself); a failed parse leaves
 * nothing behind; and a parsed proof survives the round trip through
 * veil_tlog_proof_json.
 */
#include <stdlib.h>
#include <string.h>

#include "tlog/tlog_internal.h"
#include "veil/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LEAVES 64

static tlog_tree tree;
static tlog_hasher hasher;
static veil_tlog_hash leaf[LEAVES], root[LEAVES + 1];
static bool ready;

/* Leaf i is SHA-256(0x00 || "fuzz entry <i>"). */
static void setup(void)
{
	char buf[32];

	if (ready)
		return;
	tlog_tree_init(&tree);
	if (tlog_hasher_init(&hasher) != VEIL_OK)
		abort();
	for (int i = 0; i < LEAVES; i++) {
		int n = snprintf(buf, sizeof buf, "fuzz entry %d", i);
		if (tlog_hash_leaf(&hasher, (const uint8_t *)buf, (size_t)n, leaf[i]) != VEIL_OK ||
		    tlog_tree_append(&tree, &hasher, leaf[i]) != VEIL_OK)
			abort();
	}
	for (uint64_t s = 0; s <= LEAVES; s++)
		if (tlog_tree_root(&tree, &hasher, s, root[s]) != VEIL_OK)
			abort();
	ready = true;
}

static bool same_proof(const veil_tlog_hash *p, size_t n, const veil_tlog_hash *q, size_t m)
{
	return n == m && (n == 0 || memcmp(p, q, n * sizeof *p) == 0);
}

static void check_inclusion(uint64_t a, uint64_t b, const veil_tlog_hash *p, size_t n)
{
	veil_tlog_hash want[TLOG_PROOF_CAP];
	size_t m = 0;

	if (veil_tlog_verify_inclusion(a, b, leaf[a % LEAVES], p, n, root[b % (LEAVES + 1)]) !=
	    VEIL_OK)
		return;
	if (a >= b || b > LEAVES)
		abort();
	if (tlog_tree_inclusion(&tree, &hasher, a, b, want, &m) != VEIL_OK ||
	    !same_proof(p, n, want, m))
		abort();
}

static void check_consistency(uint64_t a, uint64_t b, const veil_tlog_hash *p, size_t n)
{
	veil_tlog_hash want[TLOG_PROOF_CAP];
	size_t m = 0;

	if (veil_tlog_verify_consistency(a, b, root[a % (LEAVES + 1)], root[b % (LEAVES + 1)], p,
					 n) != VEIL_OK)
		return;
	if (a > b)
		abort();
	if (b > LEAVES) {
		/* Only the trivial claims hold outside the tree. */
		if (n != 0 || (a != 0 && a != b))
			abort();
		return;
	}
	if (tlog_tree_consistency(&tree, &hasher, a, b, want, &m) != VEIL_OK ||
	    !same_proof(p, n, want, m))
		abort();
}

static void round_trip(const veil_tlog_hash *p, size_t n)
{
	json_t *arr = NULL;
	veil_tlog_hash *back = NULL;
	size_t m = 0;

	if (veil_tlog_proof_json(p, n, &arr) != VEIL_OK ||
	    veil_tlog_proof_parse(arr, &back, &m) != VEIL_OK || !same_proof(p, n, back, m))
		abort();
	free(back);
	json_decref(arr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *a, *b;
	veil_tlog_hash *p = NULL;
	size_t n = 0;

	setup();
	if (veil_json_parse(data, size, &v) != VEIL_OK)
		goto out;
	if (veil_tlog_proof_parse(json_object_get(v, "proof"), &p, &n) != VEIL_OK) {
		if (p != NULL || n != 0)
			abort();
		goto out;
	}
	round_trip(p, n);
	a = json_object_get(v, "a");
	b = json_object_get(v, "b");
	if (json_is_integer(a) && json_is_integer(b)) {
		uint64_t ua = (uint64_t)json_integer_value(a), ub = (uint64_t)json_integer_value(b);

		check_inclusion(ua, ub, p, n);
		check_consistency(ua, ub, p, n);
	}
out:
	free(p);
	json_decref(v);
	veil_err_clear();
	return 0;
}

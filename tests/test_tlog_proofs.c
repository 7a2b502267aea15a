/*
 * test_tlog_proofs.c - the Merkle tree of the transparency log
 * (include/veil/tlog.h): the Certificate Transparency reference vectors
 * for hashes, roots and proofs (test_tlog_util.h says where they come
 * from); then every tree of 1 to 64 entries, every index and every pair of
 * sizes: the log's proofs verify, roots agree with veil_tlog_root_of, and
 * every altered proof, index, size, leaf and root fails; the verifiers'
 * refusals of impossible arguments; and the JSON form of proofs.
 */
#include <jansson.h>

#include "test_tlog_util.h"
#include "veil/json.h"

#define SIZES 64

/* A log of SIZES entries shared by the exhaustive tests, its leaf hashes
 * and the roots of all its prefixes. */
static tlog_fx big;
static veil_tlog_hash big_leaf[SIZES], big_root[SIZES + 1];

static void big_setup(void)
{
	uint8_t buf[64];

	if (!tl_fx_open(&big) || !tl_fill(big.t, SIZES)) {
		fprintf(stderr, "test setup: log of %d entries: %s\n", SIZES, veil_err_detail());
		exit(2);
	}
	for (uint64_t i = 0; i < SIZES; i++) {
		size_t len = tl_entry(i, buf, sizeof buf);
		if (veil_tlog_leaf_hash(buf, len, big_leaf[i]) != VEIL_OK)
			exit(2);
	}
	for (uint64_t n = 0; n <= SIZES; n++)
		if (veil_tlog_root(big.t, n, big_root[n]) != VEIL_OK)
			exit(2);
}

/* A log holding the eight reference inputs. */
static bool ct_log(tlog_fx *f)
{
	uint8_t in[16];
	size_t len;

	if (!tl_fx_open(f))
		return false;
	for (int i = 0; i < 8; i++) {
		tl_input(i, in, &len);
		if (veil_tlog_append(f->t, in, len, NULL) != VEIL_OK)
			return false;
	}
	return true;
}

TEST(known_hashes)
{
	veil_tlog_hash leaves[8], want, got;
	const char *const *levels[] = {ct_level1, ct_level2};
	veil_tlog_hash *below = leaves, l1[4], l2[2], *out[] = {l1, l2};
	uint8_t in[16];
	size_t len;

	for (int i = 0; i < 8; i++) {
		tl_input(i, in, &len);
		EXPECT_OK(veil_tlog_leaf_hash(in, len, leaves[i]));
		tl_hex(ct_level0[i], want);
		EXPECT(memcmp(leaves[i], want, 32) == 0);
	}
	/* Each level from the one below it, node by node. */
	for (int level = 0; level < 2; level++) {
		for (int i = 0; i < (4 >> level); i++) {
			EXPECT_OK(
			    veil_tlog_node_hash(below[2 * i], below[2 * i + 1], out[level][i]));
			tl_hex(levels[level][i], want);
			EXPECT(memcmp(out[level][i], want, 32) == 0);
		}
		below = out[level];
	}
	EXPECT_OK(veil_tlog_node_hash(l2[0], l2[1], got));
	tl_hex(ct_roots[8], want);
	EXPECT(memcmp(got, want, 32) == 0);
	/* The empty leaf is not the empty tree: the 0x00 prefix. */
	EXPECT_OK(veil_tlog_leaf_hash(NULL, 0, got));
	tl_hex(ct_roots[0], want);
	EXPECT(memcmp(got, want, 32) != 0);
	EXPECT_ERR(veil_tlog_leaf_hash(NULL, 1, got), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_node_hash(NULL, l2[1], got), VEIL_E_USAGE);
}

TEST(known_roots)
{
	veil_tlog_hash leaves[8], want, got;
	uint8_t in[16];
	size_t len;
	tlog_fx f;

	REQUIRE(ct_log(&f));
	EXPECT(veil_tlog_size(f.t) == 8);
	for (int i = 0; i < 8; i++) {
		tl_input(i, in, &len);
		EXPECT_OK(veil_tlog_leaf_hash(in, len, leaves[i]));
	}
	for (uint64_t n = 0; n <= 8; n++) {
		tl_hex(ct_roots[n], want);
		EXPECT_OK(veil_tlog_root_of(leaves, n, got));
		EXPECT(memcmp(got, want, 32) == 0);
		memset(got, 0, sizeof got);
		EXPECT_OK(veil_tlog_root(f.t, n, got));
		EXPECT(memcmp(got, want, 32) == 0);
	}
	EXPECT_ERR(veil_tlog_root(f.t, 9, got), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_root_of(NULL, 1, got), VEIL_E_USAGE);
	EXPECT_OK(veil_tlog_root_of(NULL, 0, got));
	tl_fx_done(&f);
}

/* The log's proofs are the published ones, hash for hash, and verify. */
TEST(known_proofs)
{
	veil_tlog_hash *p, want, leaf, r1, r2;
	uint8_t in[16];
	size_t n, len;
	tlog_fx f;

	REQUIRE(ct_log(&f));
	for (size_t c = 0; c < sizeof ct_inclusion / sizeof ct_inclusion[0]; c++) {
		const ct_proof *v = &ct_inclusion[c];

		EXPECT_OK(veil_tlog_inclusion_proof(f.t, v->a, v->b, &p, &n));
		EXPECT(n == v->n);
		for (size_t i = 0; i < n && i < v->n; i++) {
			tl_hex(v->hash[i], want);
			EXPECT(memcmp(p[i], want, 32) == 0);
		}
		tl_input((int)v->a, in, &len);
		EXPECT_OK(veil_tlog_leaf_hash(in, len, leaf));
		tl_hex(ct_roots[v->b], r2);
		EXPECT_OK(veil_tlog_verify_inclusion(v->a, v->b, leaf, p, n, r2));
		free(p);
	}
	for (size_t c = 0; c < sizeof ct_consistency / sizeof ct_consistency[0]; c++) {
		const ct_proof *v = &ct_consistency[c];

		EXPECT_OK(veil_tlog_consistency_proof(f.t, v->a, v->b, &p, &n));
		EXPECT(n == v->n);
		for (size_t i = 0; i < n && i < v->n; i++) {
			tl_hex(v->hash[i], want);
			EXPECT(memcmp(p[i], want, 32) == 0);
		}
		tl_hex(ct_roots[v->a], r1);
		tl_hex(ct_roots[v->b], r2);
		EXPECT_OK(veil_tlog_verify_consistency(v->a, v->b, r1, r2, p, n));
		free(p);
	}
	tl_fx_done(&f);
}

/* A copy of a proof, with room for one more hash. */
static veil_tlog_hash *copy_of(const veil_tlog_hash *p, size_t n)
{
	veil_tlog_hash *c = malloc((n + 1) * sizeof *c);

	if (c == NULL)
		exit(2);
	if (n > 0)
		memcpy(c, p, n * sizeof *c);
	return c;
}

/* Every way one inclusion proof can be wrong; returns how many of them
 * verified (0 is right). */
static int inclusion_tampers(uint64_t index, uint64_t size, const veil_tlog_hash *p, size_t n)
{
	const uint8_t *leaf = big_leaf[index], *root = big_root[size];
	veil_tlog_hash *c = copy_of(p, n), bad;
	int passed = 0;

	for (size_t i = 0; i < n; i++) {
		c[i][i % 32] ^= 0x08;
		passed += veil_tlog_verify_inclusion(index, size, leaf, c, n, root) == VEIL_OK;
		c[i][i % 32] ^= 0x08;
	}
	if (n > 0) {
		/* Dropped: the last hash, then the first. */
		passed += veil_tlog_verify_inclusion(index, size, leaf, c, n - 1, root) !=
			  VEIL_E_MALFORMED;
		passed += veil_tlog_verify_inclusion(index, size, leaf, c + 1, n - 1, root) !=
			  VEIL_E_MALFORMED;
	}
	/* One extra: at the end (the root, as a forger might try). */
	memcpy(c[n], root, 32);
	passed += veil_tlog_verify_inclusion(index, size, leaf, c, n + 1, root) != VEIL_E_MALFORMED;
	/* Every other index, every other size with that size's own root. */
	for (uint64_t j = 0; j < size; j++)
		if (j != index)
			passed += veil_tlog_verify_inclusion(j, size, leaf, p, n, root) == VEIL_OK;
	for (uint64_t s = index + 1; s <= SIZES; s++)
		if (s != size)
			passed += veil_tlog_verify_inclusion(index, s, leaf, p, n, big_root[s]) ==
				  VEIL_OK;
	/* Another leaf, another root. */
	passed += veil_tlog_verify_inclusion(index, size, big_leaf[(index + 1) % SIZES], p, n,
					     root) != VEIL_E_VERIFY;
	memcpy(bad, root, 32);
	bad[31] ^= 1;
	passed += veil_tlog_verify_inclusion(index, size, leaf, p, n, bad) != VEIL_E_VERIFY;
	passed += veil_tlog_verify_inclusion(index, size, leaf, p, n, big_root[size - 1]) !=
		  VEIL_E_VERIFY;
	free(c);
	return passed;
}

TEST(every_inclusion_proof)
{
	veil_tlog_hash *p, root;
	size_t n;
	int wrong = 0, tampered = 0;

	for (uint64_t size = 1; size <= SIZES; size++) {
		EXPECT_OK(veil_tlog_root_of(big_leaf, size, root));
		EXPECT(memcmp(root, big_root[size], 32) == 0);
		for (uint64_t index = 0; index < size; index++) {
			if (veil_tlog_inclusion_proof(big.t, index, size, &p, &n) != VEIL_OK) {
				wrong++;
				continue;
			}
			if (veil_tlog_verify_inclusion(index, size, big_leaf[index], p, n,
						       big_root[size]) != VEIL_OK) {
				fprintf(stderr, "  inclusion %llu of %llu: %s\n",
					(unsigned long long)index, (unsigned long long)size,
					veil_err_detail());
				wrong++;
			}
			tampered += inclusion_tampers(index, size, p, n);
			free(p);
		}
	}
	EXPECT(wrong == 0);
	EXPECT(tampered == 0);
}

/* Every way one consistency proof can be wrong; returns how many of them
 * verified (0 is right). */
static int consistency_tampers(uint64_t m, uint64_t size, const veil_tlog_hash *p, size_t n)
{
	const uint8_t *r1 = big_root[m], *r2 = big_root[size];
	veil_tlog_hash *c = copy_of(p, n), bad;
	int passed = 0;

	for (size_t i = 0; i < n; i++) {
		c[i][(i * 5) % 32] ^= 0x10;
		passed += veil_tlog_verify_consistency(m, size, r1, r2, c, n) != VEIL_E_VERIFY;
		c[i][(i * 5) % 32] ^= 0x10;
	}
	if (n > 0) {
		passed +=
		    veil_tlog_verify_consistency(m, size, r1, r2, c, n - 1) != VEIL_E_MALFORMED;
		passed +=
		    veil_tlog_verify_consistency(m, size, r1, r2, c + 1, n - 1) != VEIL_E_MALFORMED;
	}
	memcpy(c[n], r2, 32);
	passed += veil_tlog_verify_consistency(m, size, r1, r2, c, n + 1) != VEIL_E_MALFORMED;
	/* The roots: swapped, altered, another size's. */
	if (memcmp(r1, r2, 32) != 0)
		passed += veil_tlog_verify_consistency(m, size, r2, r1, p, n) == VEIL_OK;
	memcpy(bad, r1, 32);
	bad[0] ^= 0x80;
	passed += veil_tlog_verify_consistency(m, size, bad, r2, p, n) != VEIL_E_VERIFY;
	/* (From the empty tree there is nothing to check of root2.) */
	memcpy(bad, r2, 32);
	bad[0] ^= 0x80;
	if (m > 0)
		passed += veil_tlog_verify_consistency(m, size, r1, bad, p, n) != VEIL_E_VERIFY;
	/* Every other pair of sizes, each with its own genuine roots (with
	 * an empty proof, some of those claims are true: from 0 to any size,
	 * from any size to itself). */
	for (uint64_t s1 = 0; s1 <= size && n > 0; s1++)
		if (s1 != m)
			passed += veil_tlog_verify_consistency(s1, size, big_root[s1], r2, p, n) ==
				  VEIL_OK;
	for (uint64_t s2 = m; s2 <= SIZES && n > 0; s2++)
		if (s2 != size)
			passed +=
			    veil_tlog_verify_consistency(m, s2, r1, big_root[s2], p, n) == VEIL_OK;
	free(c);
	return passed;
}

TEST(every_consistency_proof)
{
	veil_tlog_hash *p;
	size_t n;
	int wrong = 0, tampered = 0;

	for (uint64_t size = 0; size <= SIZES; size++) {
		for (uint64_t m = 0; m <= size; m++) {
			if (veil_tlog_consistency_proof(big.t, m, size, &p, &n) != VEIL_OK) {
				wrong++;
				continue;
			}
			/* Empty exactly when there is nothing to prove. */
			if ((n == 0) != (m == 0 || m == size))
				wrong++;
			if (veil_tlog_verify_consistency(m, size, big_root[m], big_root[size], p,
							 n) != VEIL_OK) {
				fprintf(stderr, "  consistency %llu to %llu: %s\n",
					(unsigned long long)m, (unsigned long long)size,
					veil_err_detail());
				wrong++;
			}
			tampered += consistency_tampers(m, size, p, n);
			free(p);
		}
	}
	EXPECT(wrong == 0);
	EXPECT(tampered == 0);
}

/* What no genuine proof can be, named as such; and the cases outside the
 * RFC's 0 < size1 < size2. */
TEST(impossible_arguments)
{
	veil_tlog_hash h[2], empty, *p;
	size_t n;

	memset(h[0], 0x5a, 32);
	memset(h[1], 0xa5, 32);
	EXPECT_OK(veil_tlog_root_of(NULL, 0, empty));
	/* index >= size, a size of 0, any index of the largest size. */
	EXPECT_ERR(veil_tlog_verify_inclusion(3, 3, h[0], h, 2, h[1]), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_tlog_verify_inclusion(0, 0, h[0], NULL, 0, empty), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_tlog_verify_inclusion(UINT64_MAX, UINT64_MAX, h[0], h, 2, h[1]),
		   VEIL_E_MALFORMED);
	EXPECT_ERR(veil_tlog_verify_inclusion(UINT64_MAX - 1, UINT64_MAX, h[0], h, 2, h[1]),
		   VEIL_E_MALFORMED);
	/* A one-entry tree: no path; the leaf is the root. */
	EXPECT_OK(veil_tlog_verify_inclusion(0, 1, h[0], NULL, 0, h[0]));
	EXPECT_ERR(veil_tlog_verify_inclusion(0, 1, h[0], NULL, 0, h[1]), VEIL_E_VERIFY);
	EXPECT_ERR(veil_tlog_verify_inclusion(0, 1, h[0], h, 1, h[0]), VEIL_E_MALFORMED);
	/* NULL where something is needed. */
	EXPECT_ERR(veil_tlog_verify_inclusion(0, 2, h[0], NULL, 1, h[1]), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_verify_inclusion(0, 1, NULL, NULL, 0, h[1]), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_verify_consistency(1, 2, NULL, h[1], h, 1), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_verify_consistency(1, 2, h[0], h[1], NULL, 1), VEIL_E_USAGE);
	/* Shrinking. */
	EXPECT_ERR(veil_tlog_verify_consistency(2, 1, h[0], h[1], h, 1), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_tlog_verify_consistency(UINT64_MAX, 0, h[0], h[1], NULL, 0),
		   VEIL_E_MALFORMED);
	/* Empty proofs where one is needed (RFC 9162 section 2.1.4.2 step 1). */
	EXPECT_ERR(veil_tlog_verify_consistency(1, 2, h[0], h[1], NULL, 0), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_tlog_verify_consistency(1, UINT64_MAX, h[0], h[1], NULL, 0),
		   VEIL_E_MALFORMED);
	/* Equal sizes: an empty proof, equal roots. */
	EXPECT_OK(veil_tlog_verify_consistency(5, 5, h[0], h[0], NULL, 0));
	EXPECT_ERR(veil_tlog_verify_consistency(5, 5, h[0], h[1], NULL, 0), VEIL_E_VERIFY);
	EXPECT_ERR(veil_tlog_verify_consistency(5, 5, h[0], h[0], h, 1), VEIL_E_MALFORMED);
	/* From the empty tree: its root, and no proof. */
	EXPECT_OK(veil_tlog_verify_consistency(0, 7, empty, h[1], NULL, 0));
	EXPECT_OK(veil_tlog_verify_consistency(0, 0, empty, empty, NULL, 0));
	EXPECT_ERR(veil_tlog_verify_consistency(0, 7, h[0], h[1], NULL, 0), VEIL_E_VERIFY);
	EXPECT_ERR(veil_tlog_verify_consistency(0, 7, empty, h[1], h, 1), VEIL_E_MALFORMED);
	/* The largest sizes: walks that end, lengths that are refused. */
	EXPECT_ERR(veil_tlog_verify_consistency(3, UINT64_MAX, h[0], h[1], h, 2), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_tlog_verify_inclusion(0, UINT64_MAX, h[0], h, 2, h[1]), VEIL_E_MALFORMED);
	/* The log's own bounds. */
	EXPECT_ERR(veil_tlog_inclusion_proof(big.t, SIZES, SIZES, &p, &n), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_inclusion_proof(big.t, 0, SIZES + 1, &p, &n), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_inclusion_proof(big.t, 0, 0, &p, &n), VEIL_E_USAGE);
	EXPECT(p == NULL && n == 0);
	EXPECT_ERR(veil_tlog_consistency_proof(big.t, 5, 4, &p, &n), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_consistency_proof(big.t, 5, SIZES + 1, &p, &n), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_consistency_proof(big.t, 5, 6, NULL, &n), VEIL_E_USAGE);
	EXPECT_OK(veil_tlog_consistency_proof(big.t, SIZES, SIZES, &p, &n));
	EXPECT(p == NULL && n == 0);
}

/* Proofs through their JSON form and back, at every length. */
TEST(proof_json_round_trip)
{
	veil_tlog_hash h[VEIL_TLOG_PROOF_MAX + 1], *back;
	json_t *arr;
	size_t n;

	for (size_t i = 0; i <= VEIL_TLOG_PROOF_MAX; i++)
		for (size_t j = 0; j < 32; j++)
			h[i][j] = (uint8_t)(i * 31 + j * 7);
	for (size_t len = 0; len <= VEIL_TLOG_PROOF_MAX; len++) {
		REQUIRE(veil_tlog_proof_json(h, len, &arr) == VEIL_OK);
		EXPECT(json_array_size(arr) == len);
		EXPECT_OK(veil_tlog_proof_parse(arr, &back, &n));
		EXPECT(n == len && (len == 0 ? back == NULL : memcmp(back, h, len * 32) == 0));
		free(back);
		json_decref(arr);
	}
	/* The exact text: unpadded base64url. */
	memset(h[0], 0xfb, 32);
	REQUIRE(veil_tlog_proof_json(h, 1, &arr) == VEIL_OK);
	EXPECT(strcmp(json_string_value(json_array_get(arr, 0)),
		      "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s") == 0);
	json_decref(arr);
	EXPECT_ERR(veil_tlog_proof_json(h, VEIL_TLOG_PROOF_MAX + 1, &arr), VEIL_E_LIMIT);
	EXPECT(arr == NULL);
	EXPECT_ERR(veil_tlog_proof_json(NULL, 1, &arr), VEIL_E_USAGE);
}

static veil_err parse_text(const char *text, size_t *n)
{
	json_t *v = NULL;
	veil_tlog_hash *p = NULL;
	veil_err err = veil_json_parse((const uint8_t *)text, strlen(text), &v);

	*n = 0;
	if (err == VEIL_OK)
		err = veil_tlog_proof_parse(v, &p, n);
	if (err != VEIL_OK && (p != NULL || *n != 0))
		err = VEIL_E_COUNT_; /* a failure must leave nothing behind */
	free(p);
	json_decref(v);
	return err;
}

#define H43 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

TEST(proof_json_strict)
{
	static const struct {
		const char *text;
		veil_err want;
	} cases[] = {
	    {"[]", VEIL_OK},
	    {"[\"" H43 "\"]", VEIL_OK},
	    {"[\"" H43 "\",\"" H43 "\"]", VEIL_OK},
	    {"[\"-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s\"]", VEIL_OK},
	    /* Not an array of strings. */
	    {"{}", VEIL_E_MALFORMED},
	    {"\"" H43 "\"", VEIL_E_MALFORMED},
	    {"null", VEIL_E_MALFORMED},
	    {"[1]", VEIL_E_MALFORMED},
	    {"[null]", VEIL_E_MALFORMED},
	    {"[[\"" H43 "\"]]", VEIL_E_MALFORMED},
	    {"[\"" H43 "\",7]", VEIL_E_MALFORMED},
	    /* The wrong length: one short, one long, empty, 31 and 33 bytes. */
	    {"[\"" H43 "\",\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]", VEIL_E_MALFORMED},
	    {"[\"" H43 "A\"]", VEIL_E_MALFORMED},
	    {"[\"\"]", VEIL_E_MALFORMED},
	    {"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]", VEIL_E_MALFORMED},
	    {"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]", VEIL_E_MALFORMED},
	    /* Other spellings of 32 bytes: padded, standard base64, hex,
	     * non-zero trailing bits, white space. */
	    {"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]", VEIL_E_MALFORMED},
	    {"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+\"]", VEIL_E_MALFORMED},
	    {"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/\"]", VEIL_E_MALFORMED},
	    {"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB\"]", VEIL_E_MALFORMED},
	    {"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_\"]", VEIL_E_MALFORMED},
	    {"[\" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]", VEIL_E_MALFORMED},
	    {"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\\nA\"]", VEIL_E_MALFORMED},
	    {"[\"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d\"]",
	     VEIL_E_MALFORMED},
	};
	char *text;
	size_t n, cap;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		harness_expect_err(__FILE__, __LINE__, cases[i].text,
				   (int)parse_text(cases[i].text, &n), (int)cases[i].want);
	EXPECT_OK(parse_text("[\"" H43 "\",\"" H43 "\"]", &n));
	EXPECT(n == 2);
	/* The count cap: 64 pass, 65 do not, before any is decoded. */
	cap = 2 + (VEIL_TLOG_PROOF_MAX + 1) * 46;
	text = malloc(cap);
	REQUIRE(text != NULL);
	for (int count = VEIL_TLOG_PROOF_MAX; count <= VEIL_TLOG_PROOF_MAX + 1; count++) {
		size_t o = 0;

		text[o++] = '[';
		for (int i = 0; i < count; i++)
			o += (size_t)snprintf(text + o, cap - o, "%s\"" H43 "\"", i ? "," : "");
		snprintf(text + o, cap - o, "]");
		EXPECT_ERR(parse_text(text, &n),
			   count <= VEIL_TLOG_PROOF_MAX ? VEIL_OK : VEIL_E_LIMIT);
	}
	free(text);
	EXPECT_ERR(veil_tlog_proof_parse(NULL, NULL, &n), VEIL_E_USAGE);
}

int main(void)
{
	big_setup();
	RUN(known_hashes);
	RUN(known_roots);
	RUN(known_proofs);
	RUN(every_inclusion_proof);
	RUN(every_consistency_proof);
	RUN(impossible_arguments);
	RUN(proof_json_round_trip);
	RUN(proof_json_strict);
	tl_fx_done(&big);
	return harness_finish("test_tlog_proofs");
}

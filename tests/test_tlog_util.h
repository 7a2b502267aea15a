/*
 * test_tlog_util.h - helpers shared by the transparency log tests
 * (header-only, static inline): a fixture (a fresh temporary folder and a
 * log file in it), the reference test vectors of RFC 6962 trees, and
 * direct SQL on the log's file for the tamper tests.
 *
 * The vectors are the Certificate Transparency project's reference
 * Merkle tree test data (first in its C++ merkle_tree_test.cc, now kept in
 * github.com/transparency-dev/merkle, testonly/constants.go for the leaf
 * inputs, the hashes of every perfect subtree and the roots of sizes 0 to
 * 8, testonly/reference_test.go and proof/verify_test.go for the known
 * inclusion and consistency proofs). RFC 9162 hashing is RFC 6962's, so
 * the same trees have the same hashes.
 */
#ifndef VEIL_TEST_TLOG_UTIL_H
#define VEIL_TEST_TLOG_UTIL_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "veil/codec.h"
#include "veil/tlog.h"

/* The eight leaf inputs, in hex. */
static const char *const ct_leaf_inputs[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

/* Hashes of the perfect subtrees: level 0 (the leaf hashes), level 1,
 * level 2 and level 3 (the root of all eight). */
static const char *const ct_level0[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};
static const char *const ct_level1[4] = {
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
};
static const char *const ct_level2[2] = {
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
};

/* The roots of the trees of the first 0 to 8 inputs. */
static const char *const ct_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* A known proof: inclusion of entry a in the tree of b entries, or
 * consistency between the trees of a and b entries; up to three hashes. */
typedef struct ct_proof {
	uint64_t a, b;
	size_t n;
	const char *hash[3];
} ct_proof;

static const ct_proof ct_inclusion[] = {
    {0, 1, 0, {NULL}},
    {0, 2, 1, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"}},
    {1, 2, 1, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {0,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static const ct_proof ct_consistency[] = {
    {1, 1, 0, {NULL}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {2,
     5,
     2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     8,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {6,
     7,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

/* 64 hex digits into a hash, or abort the binary (a typo in a vector). */
static inline void tl_hex(const char *hex, veil_tlog_hash out)
{
	size_t n = 0;

	if (strlen(hex) != 64 || veil_hex_decode(hex, 64, out, VEIL_TLOG_HASH_LEN, &n) != VEIL_OK ||
	    n != VEIL_TLOG_HASH_LEN) {
		fprintf(stderr, "test vector: bad hash %.64s\n", hex);
		exit(2);
	}
}

/* Leaf input i as bytes (at most 16), *len its length. */
static inline void tl_input(int i, uint8_t buf[16], size_t *len)
{
	if (veil_hex_decode(ct_leaf_inputs[i], strlen(ct_leaf_inputs[i]), buf, 16, len) !=
	    VEIL_OK) {
		fprintf(stderr, "test vector: bad leaf input %d\n", i);
		exit(2);
	}
}

typedef struct tlog_fx {
	char dir[96];
	char path[128];
	veil_tlog *t;
} tlog_fx;

static inline int tl_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A fresh folder under $TMPDIR (or /tmp) with "log.db" in it, not opened. */
static inline void tl_fx_init(tlog_fx *f)
{
	const char *base = getenv("TMPDIR");

	memset(f, 0, sizeof *f);
	if (base == NULL || *base == 0 || strlen(base) > 48)
		base = "/tmp";
	snprintf(f->dir, sizeof f->dir, "%s/veil-tlog-XXXXXX", base);
	if (mkdtemp(f->dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(f->path, sizeof f->path, "%s/log.db", f->dir);
}

static inline bool tl_fx_open(tlog_fx *f)
{
	tl_fx_init(f);
	return veil_tlog_open(f->path, &f->t) == VEIL_OK;
}

static inline void tl_fx_done(tlog_fx *f)
{
	veil_tlog_close(f->t);
	f->t = NULL;
	if (f->dir[0] != 0)
		(void)nftw(f->dir, tl_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Entry i of the logs the tests build: distinct bytes of varying length,
 * so no two leaves are equal (proofs for two positions then differ). */
static inline size_t tl_entry(uint64_t i, uint8_t *buf, size_t cap)
{
	return (size_t)snprintf((char *)buf, cap, "entry %llu of the test log%.*s",
				(unsigned long long)i, (int)(i % 7), "!!!!!!!");
}

/* Appends entries 0..n-1 (tl_entry); false on any failure. */
static inline bool tl_fill(veil_tlog *t, uint64_t n)
{
	uint8_t buf[64];
	uint64_t idx;

	for (uint64_t i = 0; i < n; i++) {
		size_t len = tl_entry(i, buf, sizeof buf);
		if (veil_tlog_append(t, buf, len, &idx) != VEIL_OK || idx != i)
			return false;
	}
	return true;
}

/* Runs SQL on the log's file directly, as a person with the sqlite3 shell
 * would; true when it succeeded. */
static inline bool tl_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "    sqlite: %s\n", msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

/* Whether the current error detail mentions s. */
static inline bool tl_detail_has(const char *s)
{
	return strstr(veil_err_detail(), s) != NULL;
}

#endif

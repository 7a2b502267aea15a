/*
 * bench_tlog.c - what the transparency log costs, next to the floor each
 * operation cannot go below, measured in the same run.
 *
 *   - Durable appends, next to a bare SQLite insert of the same bytes in
 *     the same mode (WAL, synchronous=FULL, one autocommit INSERT of an
 *     integer key and a blob, statement prepared once): the fsync both
 *     wait for is the floor; what the log adds is the leaf hash, the head
 *     row in the same transaction and the tree in memory. Two entry
 *     sizes: a small record (512 B) and an evidence bundle (64 KiB).
 *   - A log of 100000 entries (256 B each, written straight into the
 *     file, then opened, which hashes every entry again: the open time is
 *     reported), and on it: inclusion proofs, consistency proofs and roots
 *     per second, next to SHA-256 over 65 bytes (one node hash) with a
 *     reused context. The ratio "hashes each" is how many node hashes the
 *     operation costs; RFC 9162 proofs of a tree this size have
 *     ceil(log2(n)) = 17 hashes, which is the bound a log without the
 *     subtree cache would exceed by far (it hashes O(n)).
 *   - The client's side: verifying an inclusion and a consistency proof.
 * Each figure is the best of several rounds, baseline and operation
 * alternating, so a noisy neighbour lowers numbers rather than skewing one
 * side of a ratio.
 *
 * Usage: bench_tlog [seconds-per-measurement]   (default 0.5)
 * The files live under $TMPDIR (default /tmp): put it on the disk a
 * gateway would use, since every append waits for fsync.
 */
#include <ftw.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "veil/tlog.h"

#define ROUNDS  3
#define BIG     100000
#define BIG_LEN 256

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, veil_err_detail());
	exit(2);
}

typedef int (*bench_fn)(void *arg);

/* Runs fn in batches for `seconds`; returns operations per second. */
static double run_for(bench_fn fn, void *arg, double seconds)
{
	long n = 0;
	double start = now_seconds(), elapsed;
	do {
		for (int i = 0; i < 8; i++) {
			if (fn(arg) != 0)
				die("operation failed");
		}
		n += 8;
		elapsed = now_seconds() - start;
	} while (elapsed < seconds);
	return n / elapsed;
}

/* A baseline and the operation compared with it, in alternating rounds,
 * keeping the best rate of each. */
static void measure_pair(bench_fn base, void *base_arg, bench_fn op, void *op_arg, double seconds,
			 double *base_rate, double *op_rate)
{
	*base_rate = *op_rate = 0;
	for (int round = 0; round < ROUNDS; round++) {
		double b = run_for(base, base_arg, seconds), o = run_for(op, op_arg, seconds);
		if (b > *base_rate)
			*base_rate = b;
		if (o > *op_rate)
			*op_rate = o;
	}
}

/* ---- durable appends ---- */

typedef struct append_case {
	sqlite3 *db;
	sqlite3_stmt *insert;
	veil_tlog *log;
	uint8_t *entry;
	size_t len;
	uint64_t count;
} append_case;

static int bare_insert(void *arg)
{
	append_case *c = arg;
	int rc;

	c->entry[0] = (uint8_t)++c->count;
	sqlite3_bind_int64(c->insert, 1, (sqlite3_int64)c->count);
	sqlite3_bind_blob(c->insert, 2, c->entry, (int)c->len, SQLITE_STATIC);
	rc = sqlite3_step(c->insert);
	sqlite3_reset(c->insert);
	return rc != SQLITE_DONE;
}

static int log_append(void *arg)
{
	append_case *c = arg;

	c->entry[0] = (uint8_t)++c->count;
	return veil_tlog_append(c->log, c->entry, c->len, NULL) != VEIL_OK;
}

static void sql(sqlite3 *db, const char *text)
{
	if (sqlite3_exec(db, text, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: %s: %s\n", text, sqlite3_errmsg(db));
		exit(2);
	}
}

static void path_in(const char *dir, const char *name, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) {
		fprintf(stderr, "bench: temporary folder path too long\n");
		exit(2);
	}
}

static void appends(const char *dir, size_t len, double seconds)
{
	char path[600], label[80];
	append_case c;
	double bare, tl;

	memset(&c, 0, sizeof c);
	c.len = len;
	c.entry = malloc(len);
	if (c.entry == NULL)
		die("out of memory");
	memset(c.entry, 'e', len);
	snprintf(label, sizeof label, "bare-%zu.db", len);
	path_in(dir, label, path, sizeof path);
	if (sqlite3_open(path, &c.db) != SQLITE_OK)
		die("sqlite3_open");
	sql(c.db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
		  "CREATE TABLE bare (idx INTEGER PRIMARY KEY, data BLOB NOT NULL) STRICT");
	if (sqlite3_prepare_v2(c.db, "INSERT INTO bare (idx, data) VALUES (?1, ?2)", -1, &c.insert,
			       NULL) != SQLITE_OK)
		die("prepare");
	snprintf(label, sizeof label, "log-%zu.db", len);
	path_in(dir, label, path, sizeof path);
	if (veil_tlog_open(path, &c.log) != VEIL_OK)
		die("veil_tlog_open");
	measure_pair(bare_insert, &c, log_append, &c, seconds, &bare, &tl);
	snprintf(label, sizeof label, "bare SQLite durable insert, %zu B (baseline)", len);
	printf("| %-50s | %10.0f | %9.1f | %7.3f |\n", label, bare, 1e6 / bare, 1.0);
	snprintf(label, sizeof label, "veil_tlog_append, %zu B (durable)", len);
	printf("| %-50s | %10.0f | %9.1f | %7.3f |\n", label, tl, 1e6 / tl, tl / bare);
	sqlite3_finalize(c.insert);
	sqlite3_close(c.db);
	veil_tlog_close(c.log);
	free(c.entry);
}

/* ---- a big log ---- */

/* Writes `n` entries of BIG_LEN bytes into a new log file in one
 * transaction, with their leaf hashes and the head, as the log itself
 * would have after n appends. */
static void big_log_write(const char *path, uint64_t n)
{
	veil_tlog *t = NULL;
	veil_tlog_hash *leaves = malloc(n * sizeof *leaves), root;
	uint8_t entry[BIG_LEN];
	sqlite3 *db;
	sqlite3_stmt *ins = NULL, *head = NULL;

	if (leaves == NULL)
		die("out of memory");
	if (veil_tlog_open(path, &t) != VEIL_OK) /* the schema */
		die("veil_tlog_open");
	veil_tlog_close(t);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("sqlite3_open");
	sql(db, "BEGIN");
	if (sqlite3_prepare_v2(db, "INSERT INTO tlog_entries (idx, leaf, data) VALUES (?1, ?2, ?3)",
			       -1, &ins, NULL) != SQLITE_OK)
		die("prepare");
	for (uint64_t i = 0; i < n; i++) {
		memset(entry, 'b', sizeof entry);
		snprintf((char *)entry, sizeof entry, "bench entry %llu", (unsigned long long)i);
		if (veil_tlog_leaf_hash(entry, sizeof entry, leaves[i]) != VEIL_OK)
			die("leaf hash");
		sqlite3_bind_int64(ins, 1, (sqlite3_int64)i);
		sqlite3_bind_blob(ins, 2, leaves[i], 32, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 3, entry, sizeof entry, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die("insert");
		sqlite3_reset(ins);
	}
	if (veil_tlog_root_of(leaves, n, root) != VEIL_OK ||
	    sqlite3_prepare_v2(db, "UPDATE tlog_head SET size = ?1, root = ?2", -1, &head, NULL) !=
		SQLITE_OK)
		die("head");
	sqlite3_bind_int64(head, 1, (sqlite3_int64)n);
	sqlite3_bind_blob(head, 2, root, 32, SQLITE_STATIC);
	if (sqlite3_step(head) != SQLITE_DONE)
		die("head");
	sqlite3_finalize(head);
	sqlite3_finalize(ins);
	sql(db, "COMMIT");
	sqlite3_close(db);
	free(leaves);
}

typedef struct tree_case {
	veil_tlog *log;
	uint64_t size, rng;
	EVP_MD_CTX *md;
	const EVP_MD *sha256;
	uint8_t node[65];
	/* For the verifiers: one fixed proof of each kind. */
	veil_tlog_hash leaf, root, old_root, *incl, *cons;
	size_t incl_n, cons_n;
	uint64_t incl_index, old_size;
} tree_case;

static uint64_t next(tree_case *c)
{
	c->rng = c->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return c->rng >> 11;
}

static int sha256_node(void *arg)
{
	tree_case *c = arg;
	unsigned int len = 0;

	c->node[1]++;
	return EVP_DigestInit_ex2(c->md, c->sha256, NULL) != 1 ||
	       EVP_DigestUpdate(c->md, c->node, sizeof c->node) != 1 ||
	       EVP_DigestFinal_ex(c->md, c->node + 1, &len) != 1;
}

static int inclusion(void *arg)
{
	tree_case *c = arg;
	veil_tlog_hash *p = NULL;
	size_t n;
	int bad = veil_tlog_inclusion_proof(c->log, next(c) % c->size, c->size, &p, &n) != VEIL_OK;

	free(p);
	return bad;
}

static int consistency(void *arg)
{
	tree_case *c = arg;
	veil_tlog_hash *p = NULL;
	size_t n;
	int bad = veil_tlog_consistency_proof(c->log, 1 + next(c) % (c->size - 1), c->size, &p,
					      &n) != VEIL_OK;

	free(p);
	return bad;
}

static int root(void *arg)
{
	tree_case *c = arg;
	veil_tlog_hash r;

	/* Sizes other than a power of two: the root is not one cached hash. */
	return veil_tlog_root(c->log, c->size - next(c) % 1000, r) != VEIL_OK;
}

static int verify_inclusion(void *arg)
{
	tree_case *c = arg;

	return veil_tlog_verify_inclusion(c->incl_index, c->size, c->leaf, c->incl, c->incl_n,
					  c->root) != VEIL_OK;
}

static int verify_consistency(void *arg)
{
	tree_case *c = arg;

	return veil_tlog_verify_consistency(c->old_size, c->size, c->old_root, c->root, c->cons,
					    c->cons_n) != VEIL_OK;
}

static void tree_row(const char *what, double rate, double sha)
{
	printf("| %-50s | %10.0f | %9.3f | %7.2f |\n", what, rate, 1e6 / rate, sha / rate);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 0.5, sha, rate, t0, open_s;
	const char *tmp = getenv("TMPDIR");
	char dir[512], path[600];
	uint8_t entry[BIG_LEN];
	tree_case c;

	if (seconds <= 0 || seconds > 60)
		seconds = 0.5;
	snprintf(dir, sizeof dir, "%s/veil-bench-tlog-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	printf("Veil transparency log benchmark: one thread, best of %d rounds of %.2f s each\n\n",
	       ROUNDS, seconds);
	printf("| %-50s | %10s | %9s | %7s |\n", "durable append", "per second", "us each",
	       "ratio");
	printf("|%.52s|%.12s|%.11s|%.9s|\n", "----------------------------------------------------",
	       "------------", "-----------", "---------");
	appends(dir, 512, seconds);
	appends(dir, 64 * 1024, seconds);

	memset(&c, 0, sizeof c);
	c.size = BIG;
	c.rng = 42;
	path_in(dir, "big.db", path, sizeof path);
	big_log_write(path, BIG);
	t0 = now_seconds();
	if (veil_tlog_open(path, &c.log) != VEIL_OK)
		die("opening the big log");
	open_s = now_seconds() - t0;
	c.md = EVP_MD_CTX_new();
	c.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (c.md == NULL || c.sha256 == NULL)
		die("SHA-256");
	/* One proof of each kind for the verifiers. */
	c.incl_index = 77777;
	c.old_size = 54321;
	memset(entry, 'b', sizeof entry);
	snprintf((char *)entry, sizeof entry, "bench entry %llu", (unsigned long long)c.incl_index);
	if (veil_tlog_leaf_hash(entry, sizeof entry, c.leaf) != VEIL_OK ||
	    veil_tlog_root(c.log, c.size, c.root) != VEIL_OK ||
	    veil_tlog_root(c.log, c.old_size, c.old_root) != VEIL_OK ||
	    veil_tlog_inclusion_proof(c.log, c.incl_index, c.size, &c.incl, &c.incl_n) != VEIL_OK ||
	    veil_tlog_consistency_proof(c.log, c.old_size, c.size, &c.cons, &c.cons_n) != VEIL_OK ||
	    verify_inclusion(&c) != 0 || verify_consistency(&c) != 0)
		die("proofs of the big log");

	printf("\n| %-50s | %10s | %9s | %7s |\n", "log of 100000 entries", "per second", "us each",
	       "hashes");
	printf("|%.52s|%.12s|%.11s|%.9s|\n", "----------------------------------------------------",
	       "------------", "-----------", "---------");
	measure_pair(sha256_node, &c, inclusion, &c, seconds, &sha, &rate);
	tree_row("SHA-256 of 65 bytes, reused context (baseline)", sha, sha);
	tree_row("inclusion proof, random entry (bound: 17 hashes)", rate, sha);
	measure_pair(sha256_node, &c, consistency, &c, seconds, &sha, &rate);
	tree_row("consistency proof, random older size", rate, sha);
	measure_pair(sha256_node, &c, root, &c, seconds, &sha, &rate);
	tree_row("root of a size near 100000", rate, sha);
	measure_pair(sha256_node, &c, verify_inclusion, &c, seconds, &sha, &rate);
	tree_row("client: verify an inclusion proof (17 hashes)", rate, sha);
	measure_pair(sha256_node, &c, verify_consistency, &c, seconds, &sha, &rate);
	tree_row("client: verify a consistency proof", rate, sha);
	printf("\nopening the log of %d entries of %d B (every entry hashed again): %.3f s\n", BIG,
	       BIG_LEN, open_s);

	free(c.incl);
	free(c.cons);
	EVP_MD_free((EVP_MD *)c.sha256);
	EVP_MD_CTX_free(c.md);
	veil_tlog_close(c.log);
	(void)nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

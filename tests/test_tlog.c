/*
 * test_tlog.c - the transparency log in SQLite (include/veil/tlog.h):
 * appending and reading entries of every size up to the cap, what
 * survives closing and opening again, every way of changing the file
 * behind the log's back (each refused at open, naming the index), bytes
 * changed under a running log, two writers on one file, a log sharing its
 * database with other tables, newer schemas, and appends from several
 * threads at once.
 */
#include <pthread.h>

#include "test_tlog_util.h"

TEST(append_and_read)
{
	static const size_t sizes[] = {0, 1, 2, 31, 32, 33, 1000, 65536, VEIL_TLOG_ENTRY_MAX};
	veil_tlog_hash leaves[16], root, want;
	uint8_t *buf = malloc(VEIL_TLOG_ENTRY_MAX + 1), *got;
	size_t n = sizeof sizes / sizeof sizes[0], len;
	uint64_t idx;
	tlog_fx f;

	REQUIRE(buf != NULL);
	for (size_t i = 0; i <= VEIL_TLOG_ENTRY_MAX; i++)
		buf[i] = (uint8_t)(i * 13 + i / 251);
	REQUIRE(tl_fx_open(&f));
	EXPECT(veil_tlog_size(f.t) == 0);
	EXPECT_OK(veil_tlog_root(f.t, 0, root));
	tl_hex(ct_roots[0], want);
	EXPECT(memcmp(root, want, 32) == 0);
	for (size_t i = 0; i < n; i++) {
		buf[0] = (uint8_t)i; /* distinct leaves */
		EXPECT_OK(veil_tlog_append(f.t, buf, sizes[i], &idx));
		EXPECT(idx == i && veil_tlog_size(f.t) == i + 1);
		EXPECT_OK(veil_tlog_leaf_hash(buf, sizes[i], leaves[i]));
	}
	for (size_t i = 0; i < n; i++) {
		buf[0] = (uint8_t)i;
		EXPECT_OK(veil_tlog_entry(f.t, i, &got, &len));
		EXPECT(got != NULL && len == sizes[i] && memcmp(got, buf, len) == 0);
		free(got);
		EXPECT_OK(veil_tlog_root(f.t, i + 1, root));
		EXPECT_OK(veil_tlog_root_of(leaves, i + 1, want));
		EXPECT(memcmp(root, want, 32) == 0);
	}
	/* One byte over the cap: refused, nothing appended. */
	EXPECT_ERR(veil_tlog_append(f.t, buf, VEIL_TLOG_ENTRY_MAX + 1, &idx), VEIL_E_LIMIT);
	EXPECT_ERR(veil_tlog_append(f.t, buf, SIZE_MAX, &idx), VEIL_E_LIMIT);
	EXPECT_ERR(veil_tlog_append(f.t, NULL, 1, &idx), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_append(NULL, buf, 1, &idx), VEIL_E_USAGE);
	EXPECT(veil_tlog_size(f.t) == n);
	/* No such entry; *index may be left out. */
	EXPECT_ERR(veil_tlog_entry(f.t, n, &got, &len), VEIL_E_NOT_FOUND);
	EXPECT(got == NULL && len == 0);
	EXPECT_ERR(veil_tlog_entry(f.t, UINT64_MAX, &got, &len), VEIL_E_NOT_FOUND);
	EXPECT_OK(veil_tlog_append(f.t, (const uint8_t *)"x", 1, NULL));
	EXPECT(veil_tlog_size(f.t) == n + 1);
	EXPECT(veil_tlog_size(NULL) == 0);
	free(buf);
	tl_fx_done(&f);
}

/* Closed and opened again (a restart): the same entries, roots and
 * proofs; and appends after the restart extend the same tree. */
TEST(persistence)
{
	enum { N = 100, MORE = 37 };
	static veil_tlog_hash roots[N + MORE + 1];
	veil_tlog_hash root, *p;
	uint8_t want[64], *got;
	size_t len, n;
	tlog_fx f;

	REQUIRE(tl_fx_open(&f));
	REQUIRE(tl_fill(f.t, N));
	for (uint64_t s = 0; s <= N; s++)
		EXPECT_OK(veil_tlog_root(f.t, s, roots[s]));
	veil_tlog_close(f.t);
	f.t = NULL;
	REQUIRE(veil_tlog_open(f.path, &f.t) == VEIL_OK);
	EXPECT(veil_tlog_size(f.t) == N);
	for (uint64_t i = 0; i < N; i++) {
		size_t wl = tl_entry(i, want, sizeof want);

		EXPECT_OK(veil_tlog_root(f.t, i + 1, root));
		EXPECT(memcmp(root, roots[i + 1], 32) == 0);
		EXPECT_OK(veil_tlog_entry(f.t, i, &got, &len));
		EXPECT(len == wl && memcmp(got, want, wl) == 0);
		free(got);
	}
	/* More entries after the restart. */
	for (uint64_t i = N; i < N + MORE; i++) {
		uint64_t idx;
		size_t wl = tl_entry(i, want, sizeof want);

		EXPECT_OK(veil_tlog_append(f.t, want, wl, &idx));
		EXPECT(idx == i);
	}
	veil_tlog_close(f.t);
	f.t = NULL;
	REQUIRE(veil_tlog_open(f.path, &f.t) == VEIL_OK);
	EXPECT(veil_tlog_size(f.t) == N + MORE);
	EXPECT_OK(veil_tlog_root(f.t, N + MORE, roots[N + MORE]));
	/* The tree before the restart is a prefix of the one after it. */
	for (uint64_t s = 0; s <= N; s += 9) {
		EXPECT_OK(veil_tlog_consistency_proof(f.t, s, N + MORE, &p, &n));
		EXPECT_OK(
		    veil_tlog_verify_consistency(s, N + MORE, roots[s], roots[N + MORE], p, n));
		free(p);
	}
	tl_fx_done(&f);
}

/* Changes made to the file with SQLite, and what opening it says. */
typedef struct tamper_case {
	const char *sql;
	const char *detail; /* what the refusal must mention */
} tamper_case;

static const tamper_case tampers[] = {
    /* One entry's bytes. */
    {"DROP TRIGGER tlog_entries_no_update;"
     "UPDATE tlog_entries SET data = X'656e74727920' WHERE idx = 3",
     "entry 3 does not match"},
    {"DROP TRIGGER tlog_entries_no_update;"
     "UPDATE tlog_entries SET data = zeroblob(0) WHERE idx = 9",
     "entry 9 does not match"},
    /* An entry's bytes and its leaf hash together: only the root shows it. */
    {"DROP TRIGGER tlog_entries_no_update;"
     "UPDATE tlog_entries SET data = X'00', leaf = "
     "X'96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7' WHERE idx = 5",
     "root of its 12 entries"},
    /* Removed: the last entry, one in the middle, all of them. */
    {"DROP TRIGGER tlog_entries_no_delete; DELETE FROM tlog_entries WHERE idx = 11",
     "holds 11 entries but its last append recorded 12"},
    {"DROP TRIGGER tlog_entries_no_delete; DELETE FROM tlog_entries WHERE idx = 4",
     "entry 4 is missing"},
    {"DROP TRIGGER tlog_entries_no_delete; DELETE FROM tlog_entries",
     "holds 0 entries but its last append recorded 12"},
    /* Added behind the log's back, in order or with a gap. */
    {"INSERT INTO tlog_entries (idx, leaf, data) VALUES (12, "
     "X'6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', X'')",
     "holds 13 entries but its last append recorded 12"},
    {"INSERT INTO tlog_entries (idx, leaf, data) VALUES (40, "
     "X'6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', X'')",
     "entry 12 is missing"},
    /* Renumbered. */
    {"DROP TRIGGER tlog_entries_no_update; UPDATE tlog_entries SET idx = 20 WHERE idx = 0",
     "entry 0 is missing"},
    /* The head: its size, its root, or the row itself. */
    {"UPDATE tlog_head SET size = 11", "holds 12 entries but its last append recorded 11"},
    {"UPDATE tlog_head SET root = zeroblob(32)", "root of its 12 entries"},
    {"DELETE FROM tlog_head", "no valid tree head"},
};

TEST(altered_file_refused_at_open)
{
	for (size_t i = 0; i < sizeof tampers / sizeof tampers[0]; i++) {
		veil_tlog *t = (veil_tlog *)&t;
		tlog_fx f;
		veil_err err;

		REQUIRE(tl_fx_open(&f));
		REQUIRE(tl_fill(f.t, 12));
		veil_tlog_close(f.t);
		f.t = NULL;
		if (!tl_sql(f.path, tampers[i].sql)) {
			harness_fail(__FILE__, __LINE__, tampers[i].sql);
			tl_fx_done(&f);
			continue;
		}
		err = veil_tlog_open(f.path, &t);
		if (err == VEIL_OK || t != NULL || !tl_detail_has(tampers[i].detail)) {
			fprintf(stderr, "    %s\n    -> %s: %s\n", tampers[i].sql,
				veil_err_str(err), veil_err_detail());
			harness_fail(__FILE__, __LINE__, tampers[i].detail);
		}
		EXPECT(err == VEIL_E_VERIFY || err == VEIL_E_MALFORMED);
		veil_tlog_close(t);
		tl_fx_done(&f);
	}
}

/* The triggers refuse changes to entries through SQL. */
TEST(entries_are_append_only)
{
	tlog_fx f;

	REQUIRE(tl_fx_open(&f));
	REQUIRE(tl_fill(f.t, 3));
	EXPECT(!tl_sql(f.path, "UPDATE tlog_entries SET data = X'00' WHERE idx = 1"));
	EXPECT(!tl_sql(f.path, "DELETE FROM tlog_entries WHERE idx = 2"));
	/* A leaf hash of the wrong length. */
	EXPECT(
	    !tl_sql(f.path, "INSERT INTO tlog_entries (idx, leaf, data) VALUES (3, X'00', X'')"));
	veil_tlog_close(f.t);
	EXPECT_OK(veil_tlog_open(f.path, &f.t));
	EXPECT(veil_tlog_size(f.t) == 3);
	tl_fx_done(&f);
}

/* Bytes changed under a running log are not served. */
TEST(altered_while_open)
{
	uint8_t *got = (uint8_t *)"x";
	size_t len = 1;
	tlog_fx f;

	REQUIRE(tl_fx_open(&f));
	REQUIRE(tl_fill(f.t, 6));
	REQUIRE(tl_sql(f.path, "DROP TRIGGER tlog_entries_no_update; DROP TRIGGER "
			       "tlog_entries_no_delete;"
			       "UPDATE tlog_entries SET data = X'41' WHERE idx = 2;"
			       "DELETE FROM tlog_entries WHERE idx = 4"));
	EXPECT_ERR(veil_tlog_entry(f.t, 2, &got, &len), VEIL_E_VERIFY);
	EXPECT(got == NULL && len == 0);
	EXPECT(tl_detail_has("entry 2"));
	EXPECT_ERR(veil_tlog_entry(f.t, 4, &got, &len), VEIL_E_VERIFY);
	EXPECT(tl_detail_has("entry 4 is gone"));
	EXPECT_OK(veil_tlog_entry(f.t, 3, &got, &len));
	free(got);
	tl_fx_done(&f);
}

/* A second writer on the same file: its appends fail, the first log's
 * tree and file stay whole. */
TEST(second_writer)
{
	veil_tlog *other = NULL;
	uint64_t idx = 99;
	tlog_fx f;

	REQUIRE(tl_fx_open(&f));
	REQUIRE(tl_fill(f.t, 4));
	REQUIRE(veil_tlog_open(f.path, &other) == VEIL_OK);
	EXPECT(veil_tlog_size(other) == 4);
	EXPECT_OK(veil_tlog_append(f.t, (const uint8_t *)"first", 5, &idx));
	EXPECT(idx == 4);
	EXPECT_ERR(veil_tlog_append(other, (const uint8_t *)"second", 6, &idx), VEIL_E_IO);
	EXPECT(tl_detail_has("another process"));
	EXPECT(veil_tlog_size(other) == 4);
	EXPECT_OK(veil_tlog_append(f.t, (const uint8_t *)"third", 5, &idx));
	EXPECT(idx == 5);
	veil_tlog_close(other);
	veil_tlog_close(f.t);
	EXPECT_OK(veil_tlog_open(f.path, &f.t));
	EXPECT(veil_tlog_size(f.t) == 6);
	tl_fx_done(&f);
}

/* The log in a database that also holds the caller's own tables. */
TEST(shared_database)
{
	tlog_fx f;

	tl_fx_init(&f);
	REQUIRE(tl_sql(f.path, "PRAGMA journal_mode = WAL; CREATE TABLE workers (id TEXT PRIMARY "
			       "KEY, state TEXT); INSERT INTO workers VALUES ('wk-1', 'up')"));
	REQUIRE(veil_tlog_open(f.path, &f.t) == VEIL_OK);
	REQUIRE(tl_fill(f.t, 5));
	EXPECT(tl_sql(f.path, "INSERT INTO workers VALUES ('wk-2', 'up')"));
	veil_tlog_close(f.t);
	EXPECT_OK(veil_tlog_open(f.path, &f.t));
	EXPECT(veil_tlog_size(f.t) == 5);
	EXPECT(tl_sql(f.path, "SELECT count(*) FROM workers"));
	tl_fx_done(&f);
}

TEST(schema_and_file)
{
	veil_tlog *t = NULL;
	tlog_fx f;
	FILE *fp;

	/* A newer schema than this build knows. */
	REQUIRE(tl_fx_open(&f));
	veil_tlog_close(f.t);
	f.t = NULL;
	REQUIRE(tl_sql(f.path, "UPDATE tlog_schema SET version = 99"));
	EXPECT_ERR(veil_tlog_open(f.path, &t), VEIL_E_UNSUPPORTED);
	EXPECT(t == NULL);
	tl_fx_done(&f);
	/* Not a database at all. */
	tl_fx_init(&f);
	fp = fopen(f.path, "wb");
	REQUIRE(fp != NULL);
	for (int i = 0; i < 512; i++)
		fputs("not a database ", fp);
	fclose(fp);
	EXPECT(veil_tlog_open(f.path, &t) != VEIL_OK);
	EXPECT(t == NULL);
	tl_fx_done(&f);
	/* A folder that does not exist; no path. */
	EXPECT_ERR(veil_tlog_open("/nonexistent-veil-dir/log.db", &t), VEIL_E_IO);
	EXPECT_ERR(veil_tlog_open("", &t), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_open(NULL, &t), VEIL_E_USAGE);
	EXPECT_ERR(veil_tlog_open("x", NULL), VEIL_E_USAGE);
	veil_tlog_close(NULL);
}

/* Appends from several threads at once, with readers asking for roots
 * and proofs meanwhile. */
enum { THREADS = 4, PER_THREAD = 25 };

typedef struct appender {
	veil_tlog *t;
	int id;
	uint64_t idx[PER_THREAD];
	int failures;
} appender;

static void *append_main(void *arg)
{
	appender *a = arg;
	char buf[64];

	for (int i = 0; i < PER_THREAD; i++) {
		int len = snprintf(buf, sizeof buf, "thread %d entry %d", a->id, i);
		if (veil_tlog_append(a->t, (const uint8_t *)buf, (size_t)len, &a->idx[i]) !=
		    VEIL_OK)
			a->failures++;
	}
	return NULL;
}

/* Whatever size a reader sees, the entry, its proof and the root it gets
 * for that size agree. */
static void *read_main(void *arg)
{
	appender *a = arg;
	veil_tlog_hash root, leaf, *p;
	uint8_t *data;
	size_t n, len;

	for (int i = 0; i < 200; i++) {
		uint64_t size = veil_tlog_size(a->t), at = size / 2;

		if (veil_tlog_root(a->t, size, root) != VEIL_OK)
			a->failures++;
		if (size == 0)
			continue;
		if (veil_tlog_entry(a->t, at, &data, &len) != VEIL_OK) {
			a->failures++;
			continue;
		}
		if (veil_tlog_leaf_hash(data, len, leaf) != VEIL_OK ||
		    veil_tlog_inclusion_proof(a->t, at, size, &p, &n) != VEIL_OK)
			a->failures++;
		else if (veil_tlog_verify_inclusion(at, size, leaf, p, n, root) != VEIL_OK)
			a->failures++;
		free(data);
		free(p);
	}
	return NULL;
}

TEST(concurrent_appends)
{
	appender a[THREADS + 1];
	pthread_t th[THREADS + 1];
	bool seen[THREADS * PER_THREAD] = {false};
	veil_tlog_hash leaves[THREADS * PER_THREAD], root, want;
	int dup = 0;
	tlog_fx f;

	REQUIRE(tl_fx_open(&f));
	for (int i = 0; i <= THREADS; i++) {
		memset(&a[i], 0, sizeof a[i]);
		a[i].t = f.t;
		a[i].id = i;
		REQUIRE(pthread_create(&th[i], NULL, i < THREADS ? append_main : read_main,
				       &a[i]) == 0);
	}
	for (int i = 0; i <= THREADS; i++) {
		pthread_join(th[i], NULL);
		EXPECT(a[i].failures == 0);
	}
	REQUIRE(veil_tlog_size(f.t) == THREADS * PER_THREAD);
	/* Distinct, consecutive, and each holds what its thread wrote. */
	for (int i = 0; i < THREADS; i++) {
		for (int j = 0; j < PER_THREAD; j++) {
			uint64_t idx = a[i].idx[j];
			char buf[64];
			uint8_t *got;
			size_t len,
			    wl = (size_t)snprintf(buf, sizeof buf, "thread %d entry %d", i, j);

			if (idx >= THREADS * PER_THREAD || seen[idx]) {
				dup++;
				continue;
			}
			seen[idx] = true;
			/* One thread's appends are in its order. */
			EXPECT(j == 0 || idx > a[i].idx[j - 1]);
			EXPECT_OK(veil_tlog_entry(f.t, idx, &got, &len));
			EXPECT(len == wl && memcmp(got, buf, wl) == 0);
			EXPECT_OK(veil_tlog_leaf_hash(got, len, leaves[idx]));
			free(got);
		}
	}
	EXPECT(dup == 0);
	EXPECT_OK(veil_tlog_root_of(leaves, THREADS * PER_THREAD, want));
	EXPECT_OK(veil_tlog_root(f.t, THREADS * PER_THREAD, root));
	EXPECT(memcmp(root, want, 32) == 0);
	/* And the same after a restart. */
	veil_tlog_close(f.t);
	REQUIRE(veil_tlog_open(f.path, &f.t) == VEIL_OK);
	EXPECT_OK(veil_tlog_root(f.t, THREADS * PER_THREAD, root));
	EXPECT(memcmp(root, want, 32) == 0);
	tl_fx_done(&f);
}

int main(void)
{
	RUN(append_and_read);
	RUN(persistence);
	RUN(altered_file_refused_at_open);
	RUN(entries_are_append_only);
	RUN(altered_while_open);
	RUN(second_writer);
	RUN(shared_database);
	RUN(schema_and_file);
	RUN(concurrent_appends);
	return harness_finish("test_tlog");
}

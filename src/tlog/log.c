/*
 * log.c - the transparency log's storage: opening the SQLite file, its
 * schema, and the check of every stored entry that rebuilds the tree in
 * memory at open.
 *
 * Storage, in the file's own tables (so the log can share a database with
 * the gateway's other state, through a connection of its own):
 *
 *   tlog_schema   (id = 1, version)
 *   tlog_entries  (idx, leaf, data): one row an entry; leaf is
 *                 SHA-256(0x00 || data), RFC 9162 section 2.1.1
 *   tlog_head     (id = 1, size, root): the size and root after the last
 *                 append, written in the same transaction as its entry
 *
 * Triggers refuse UPDATE and DELETE on tlog_entries: the log is
 * append-only by construction, and a change needs someone to drop the
 * triggers first. That is not a defence against whoever controls the
 * file (the signed tree heads that clients keep are); what open does is
 * make such a change fail closed instead of being served: every entry is
 * hashed again and compared with its stored leaf hash, the indexes must
 * run from 0 without a gap, and the rebuilt tree's size and root must be
 * those of tlog_head. The first index that does not hold is named.
 *
 * Opening the file (created 0600, quick_check, WAL with synchronous=FULL
 * so an append is on stable storage when it returns, the schema steps) is
 * core/sqlite_util.c's, as for the key broker's store (docs/store.md).
 */
#include <stdlib.h>
#include <string.h>

#include "tlog/log_internal.h"
#include "veil/secret.h"

typedef unsigned long long ull; /* for printf */

const char *const tl_sql[TL_STMT_COUNT_] = {
    [TL_BEGIN] = "BEGIN IMMEDIATE",
    [TL_COMMIT] = "COMMIT",
    [TL_ROLLBACK] = "ROLLBACK",
    [TL_INSERT] = "INSERT INTO tlog_entries (idx, leaf, data) VALUES (?1, ?2, ?3)",
    /* Only from the size this process knows: another writer's append
     * makes it change nothing, and the append fails. */
    [TL_HEAD_SET] = "UPDATE tlog_head SET size = ?1, root = ?2 WHERE id = 1 AND size = ?3",
    [TL_ENTRY_GET] = "SELECT data FROM tlog_entries WHERE idx = ?1",
};

/* Schema steps (core/sqlite_util.h): step i takes the schema from
 * version i to i + 1. Never edit a published step; add one. */
static const sqlu_step migrations[] = {
    {.what = "creating the log's tables",
     .sql = "CREATE TABLE tlog_entries (idx INTEGER PRIMARY KEY CHECK (idx >= 0), "
	    "leaf BLOB NOT NULL CHECK (length(leaf) = 32), data BLOB NOT NULL) STRICT;"
	    "CREATE TABLE tlog_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
	    "size INTEGER NOT NULL CHECK (size >= 0), "
	    "root BLOB NOT NULL CHECK (length(root) = 32)) STRICT;"
	    "INSERT INTO tlog_head (id, size, root) VALUES (1, 0, "
	    "X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');"
	    "CREATE TRIGGER tlog_entries_no_update BEFORE UPDATE ON tlog_entries "
	    "BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;"
	    "CREATE TRIGGER tlog_entries_no_delete BEFORE DELETE ON tlog_entries "
	    "BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;"},
};

const sqlu_kind tl_kind = {
    .noun = "transparency log",
    .wal_hint = "it needs a local file system",
    .version_table = "tlog_schema",
    .steps = migrations,
    .nsteps = (int)(sizeof migrations / sizeof migrations[0]),
    /* The log's own statements cannot break a constraint; a taken index
     * means another writer on the file, which is what I/O errors mean. */
    .constraint_err = VEIL_E_IO,
};

veil_err tl_fail(veil_tlog *t, int rc, const char *what)
{
	return sqlu_fail(&tl_kind, t->path, t->db, rc, what);
}

veil_err tl_exec(veil_tlog *t, enum tl_stmt which, const char *what)
{
	return sqlu_exec(&tl_kind, t->path, t->db, t->st[which], what);
}

/* The head row: the size and root recorded by the last append. */
static veil_err tl_head(veil_tlog *t, uint64_t *size, veil_tlog_hash root)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(t->db, "SELECT size, root FROM tlog_head WHERE id = 1", -1, &st,
				    NULL);
	veil_err err = VEIL_OK;

	if (rc != SQLITE_OK)
		return tl_fail(t, rc, "reading the tree head");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) >= 0 &&
	    sqlite3_column_bytes(st, 1) == VEIL_TLOG_HASH_LEN) {
		*size = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(root, sqlite3_column_blob(st, 1), VEIL_TLOG_HASH_LEN);
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		err = veil_fail(VEIL_E_MALFORMED,
				"transparency log %s has no valid tree head row; it was altered "
				"outside the log",
				t->path);
	} else {
		err = tl_fail(t, rc, "reading the tree head");
	}
	sqlite3_finalize(st);
	return err;
}

/* One stored entry: in order, within the cap, and hashing to its leaf. */
static veil_err tl_check_row(veil_tlog *t, tlog_hasher *h, sqlite3_stmt *st)
{
	uint64_t want = t->tree.size;
	int64_t idx = sqlite3_column_int64(st, 0);
	const void *data;
	size_t len;
	veil_tlog_hash leaf;

	ENSURE(idx >= 0 && (uint64_t)idx == want, VEIL_E_VERIFY,
	       "transparency log %s: entry %llu is missing (the next stored index is %lld); the "
	       "log was altered outside Veil: restore it from a backup",
	       t->path, (ull)want, (long long)idx);
	ENSURE(sqlite3_column_bytes(st, 1) == VEIL_TLOG_HASH_LEN, VEIL_E_VERIFY,
	       "transparency log %s: entry %llu has a stored leaf hash of %d bytes", t->path,
	       (ull)want, sqlite3_column_bytes(st, 1));
	/* SQLite: the pointer first, then its length. */
	data = sqlite3_column_blob(st, 2);
	len = (size_t)sqlite3_column_bytes(st, 2);
	ENSURE(len <= VEIL_TLOG_ENTRY_MAX, VEIL_E_LIMIT,
	       "transparency log %s: entry %llu is %zu bytes, over the %d-byte cap", t->path,
	       (ull)want, len, VEIL_TLOG_ENTRY_MAX);
	TRY(tlog_hash_leaf(h, data, len, leaf));
	ENSURE(veil_ct_equal(leaf, sqlite3_column_blob(st, 1), VEIL_TLOG_HASH_LEN), VEIL_E_VERIFY,
	       "transparency log %s: entry %llu does not match its stored leaf hash; the log was "
	       "altered outside Veil: restore it from a backup",
	       t->path, (ull)want);
	return tlog_tree_append(&t->tree, h, leaf);
}

/* Every stored entry into the tree, in one read transaction so that the
 * entries and the head are one snapshot; then the head must agree. */
static veil_err tl_load(veil_tlog *t)
{
	sqlite3_stmt *st = NULL;
	veil_tlog_hash head_root, root;
	uint64_t head_size = 0;
	tlog_hasher h = {0};
	veil_err err = VEIL_OK;
	int rc;

	TRY(sqlu_run(&tl_kind, t->path, t->db, "BEGIN", "starting a read"));
	CHECK(tlog_hasher_init(&h));
	CHECK(tl_head(t, &head_size, head_root));
	rc = sqlite3_prepare_v2(t->db, "SELECT idx, leaf, data FROM tlog_entries ORDER BY idx", -1,
				&st, NULL);
	CHECK_THAT(rc == SQLITE_OK, VEIL_E_IO, "transparency log %s: %s", t->path,
		   sqlite3_errmsg(t->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		CHECK(tl_check_row(t, &h, st));
	if (rc != SQLITE_DONE) {
		err = tl_fail(t, rc, "reading the entries");
		goto out;
	}
	CHECK_THAT(t->tree.size == head_size, VEIL_E_VERIFY,
		   "transparency log %s holds %llu entries but its last append recorded %llu: "
		   "entries were %s outside Veil; restore it from a backup",
		   t->path, (ull)t->tree.size, (ull)head_size,
		   t->tree.size < head_size ? "removed" : "added");
	CHECK(tlog_tree_root(&t->tree, &h, t->tree.size, root));
	CHECK_THAT(veil_ct_equal(root, head_root, VEIL_TLOG_HASH_LEN), VEIL_E_VERIFY,
		   "transparency log %s: the root of its %llu entries is not the root recorded at "
		   "the last append; the log was altered outside Veil: restore it from a backup",
		   t->path, (ull)head_size);
out:
	sqlite3_finalize(st);
	tlog_hasher_clear(&h);
	(void)sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL);
	return err;
}

void veil_tlog_close(veil_tlog *t)
{
	if (t == NULL)
		return;
	sqlu_close(t->db, t->st, TL_STMT_COUNT_);
	tlog_tree_clear(&t->tree);
	pthread_rwlock_destroy(&t->tree_lock);
	pthread_mutex_destroy(&t->write);
	free(t->path);
	free(t);
}

veil_err veil_tlog_open(const char *path, veil_tlog **out)
{
	veil_tlog *t = NULL;
	veil_err err = VEIL_OK;

	ENSURE(out != NULL, VEIL_E_USAGE, "veil_tlog_open: no output given");
	*out = NULL;
	ENSURE(path != NULL && *path != 0, VEIL_E_USAGE, "transparency log: no database path");
	t = calloc(1, sizeof *t);
	ENSURE(t != NULL, VEIL_E_NOMEM, "out of memory");
	if (pthread_mutex_init(&t->write, NULL) != 0) {
		free(t);
		return veil_fail(VEIL_E_NOMEM, "transparency log: cannot create a mutex");
	}
	if (pthread_rwlock_init(&t->tree_lock, NULL) != 0) {
		pthread_mutex_destroy(&t->write);
		free(t);
		return veil_fail(VEIL_E_NOMEM, "transparency log: cannot create a lock");
	}
	tlog_tree_init(&t->tree);
	t->path = strdup(path);
	CHECK_THAT(t->path != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(sqlu_open(&tl_kind, path, &t->db));
	CHECK(sqlu_migrate(&tl_kind, t->path, t->db, t));
	CHECK(sqlu_prepare(&tl_kind, t->path, t->db, tl_sql, t->st, TL_STMT_COUNT_));
	CHECK(tl_load(t));
	*out = t;
	t = NULL;
out:
	veil_tlog_close(t);
	return err;
}

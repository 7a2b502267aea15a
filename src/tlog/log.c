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
 * Durability as in the key broker's store (docs/store.md): WAL with
 * synchronous=FULL, so an append is on stable storage when it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlog/log_internal.h"
#include "veil/secret.h"

/* How long a write waits for another connection's lock before failing. */
#define TL_BUSY_TIMEOUT_MS 5000

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

/* Schema steps: step i takes the schema from version i to i + 1. Never
 * edit a published step; add one. */
static const char *const migrations[] = {
    "CREATE TABLE tlog_entries (idx INTEGER PRIMARY KEY CHECK (idx >= 0), "
    "leaf BLOB NOT NULL CHECK (length(leaf) = 32), data BLOB NOT NULL) STRICT;"
    "CREATE TABLE tlog_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "size INTEGER NOT NULL CHECK (size >= 0), root BLOB NOT NULL CHECK (length(root) = 32)) "
    "STRICT;"
    "INSERT INTO tlog_head (id, size, root) VALUES (1, 0, "
    "X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');"
    "CREATE TRIGGER tlog_entries_no_update BEFORE UPDATE ON tlog_entries "
    "BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;"
    "CREATE TRIGGER tlog_entries_no_delete BEFORE DELETE ON tlog_entries "
    "BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only'); END;",
};
#define TL_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

veil_err tl_fail(veil_tlog *t, int rc, const char *what)
{
	veil_err err;

	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		err = VEIL_E_NOMEM;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		err = VEIL_E_MALFORMED;
		break;
	default: /* BUSY, IOERR, FULL, READONLY, CONSTRAINT (another writer) */
		err = VEIL_E_IO;
		break;
	}
	return veil_fail(err, "transparency log %s: %s: %s (SQLite error %d)", t->path, what,
			 t->db != NULL ? sqlite3_errmsg(t->db) : sqlite3_errstr(rc), rc);
}

void tl_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

veil_err tl_exec(veil_tlog *t, enum tl_stmt which, const char *what)
{
	int rc = sqlite3_step(t->st[which]);

	tl_done(t->st[which]);
	return rc == SQLITE_DONE ? VEIL_OK : tl_fail(t, rc, what);
}

static veil_err tl_run(veil_tlog *t, const char *sql, const char *what)
{
	int rc = sqlite3_exec(t->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? VEIL_OK : tl_fail(t, rc, what);
}

/* Runs a constant pragma; its first column as text in buf ("" for no
 * row). */
static veil_err tl_pragma(veil_tlog *t, const char *sql, char *buf, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(t->db, sql, -1, &st, NULL);
	veil_err err = VEIL_OK;

	buf[0] = 0;
	if (rc != SQLITE_OK)
		return tl_fail(t, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);
		snprintf(buf, cap, "%s", s != NULL ? (const char *)s : "");
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = tl_fail(t, rc, sql);
	sqlite3_finalize(st);
	return err;
}

static veil_err tl_settings(veil_tlog *t)
{
	char v[256];

	/* A file SQLite itself finds damaged is refused, never repaired. */
	TRY(tl_pragma(t, "PRAGMA quick_check", v, sizeof v));
	ENSURE(strcmp(v, "ok") == 0, VEIL_E_MALFORMED,
	       "transparency log %s failed its integrity check (%s); restore it from a backup",
	       t->path, v);
	TRY(tl_pragma(t, "PRAGMA journal_mode = WAL", v, sizeof v));
	ENSURE(strcmp(v, "wal") == 0, VEIL_E_IO,
	       "transparency log %s: cannot use write-ahead logging (journal mode is %s); it needs "
	       "a local file system",
	       t->path, v);
	/* FULL: WAL fsynced at every commit, so an append that returned is
	 * on stable storage (NORMAL syncs at checkpoints only). */
	TRY(tl_pragma(t, "PRAGMA synchronous = FULL", v, sizeof v));
	TRY(tl_pragma(t, "PRAGMA synchronous", v, sizeof v));
	ENSURE(strcmp(v, "2") == 0, VEIL_E_IO, "transparency log %s: synchronous=FULL did not take",
	       t->path);
	return VEIL_OK;
}

/* The schema version (0 for a new database). */
static veil_err tl_version(veil_tlog *t, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc;
	veil_err err = VEIL_OK;

	*version = 0;
	rc = sqlite3_prepare_v2(t->db, "SELECT version FROM tlog_schema WHERE id = 1", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		return tl_fail(t, rc, "reading the schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE)
		err = tl_fail(t, rc, "reading the schema version");
	sqlite3_finalize(st);
	return err;
}

/* Brings the schema up to date in one write transaction, so two
 * processes opening a new file at once do not both create it. */
static veil_err tl_migrate(veil_tlog *t)
{
	char sql[96];
	int version = 0;
	veil_err err = VEIL_OK;

	TRY(tl_run(t, "BEGIN IMMEDIATE", "starting the schema transaction"));
	CHECK(tl_run(t,
		     "CREATE TABLE IF NOT EXISTS tlog_schema (id INTEGER PRIMARY KEY "
		     "CHECK (id = 1), version INTEGER NOT NULL) STRICT",
		     "creating the schema table"));
	CHECK(tl_version(t, &version));
	CHECK_THAT(version >= 0 && version <= TL_SCHEMA_VERSION, VEIL_E_UNSUPPORTED,
		   "transparency log %s has schema version %d; this build knows versions up to %d "
		   "(use a newer veil)",
		   t->path, version, TL_SCHEMA_VERSION);
	for (int v = version; v < TL_SCHEMA_VERSION; v++)
		CHECK(tl_run(t, migrations[v], "creating the log's tables"));
	if (version != TL_SCHEMA_VERSION) {
		snprintf(sql, sizeof sql,
			 "INSERT OR REPLACE INTO tlog_schema (id, version) VALUES (1, %d)",
			 TL_SCHEMA_VERSION);
		CHECK(tl_run(t, sql, "recording the schema version"));
	}
	CHECK(tl_run(t, "COMMIT", "committing the schema"));
out:
	if (err != VEIL_OK)
		(void)sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
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

	TRY(tl_run(t, "BEGIN", "starting a read"));
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

static veil_err tl_prepare(veil_tlog *t)
{
	for (int i = 0; i < TL_STMT_COUNT_; i++) {
		int rc = sqlite3_prepare_v3(t->db, tl_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &t->st[i], NULL);
		if (rc != SQLITE_OK)
			return tl_fail(t, rc, tl_sql[i]);
	}
	return VEIL_OK;
}

void veil_tlog_close(veil_tlog *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < TL_STMT_COUNT_; i++)
		sqlite3_finalize(t->st[i]);
	sqlite3_close(t->db);
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
	int rc, fd;

	ENSURE(out != NULL, VEIL_E_USAGE, "veil_tlog_open: no output given");
	*out = NULL;
	ENSURE(path != NULL && *path != 0, VEIL_E_USAGE, "transparency log: no database path");
	ENSURE(sqlite3_threadsafe() != 0, VEIL_E_UNSUPPORTED,
	       "transparency log: this SQLite library is built without thread support");
	/* Created 0600 before SQLite would make it 0644; an existing file
	 * keeps its mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	ENSURE(fd >= 0, VEIL_E_IO, "transparency log: cannot open %s: %s", path, strerror(errno));
	close(fd);
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
	rc = sqlite3_open_v2(
	    path, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	CHECK_THAT(rc == SQLITE_OK, rc == SQLITE_NOMEM ? VEIL_E_NOMEM : VEIL_E_IO,
		   "transparency log: cannot open %s: %s", path,
		   t->db != NULL ? sqlite3_errmsg(t->db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(t->db, 1);
	sqlite3_busy_timeout(t->db, TL_BUSY_TIMEOUT_MS);
	CHECK(tl_settings(t));
	CHECK(tl_migrate(t));
	CHECK(tl_prepare(t));
	CHECK(tl_load(t));
	*out = t;
	t = NULL;
out:
	veil_tlog_close(t);
	return err;
}

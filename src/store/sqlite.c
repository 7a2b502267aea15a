/*
 * sqlite.c - the default storage back end: one SQLite file in WAL mode.
 *
 * Opening a store: create the file 0600 (it holds no plaintext secret, but
 * sessions and policies are nobody else's business), check its integrity
 * and fail closed if that fails, set the durability pragmas, bring the
 * schema up to date through the migrations below, prepare every statement,
 * and hand over to store_attach for the master-key check.
 *
 * Durability: journal_mode=WAL with synchronous=FULL. In WAL mode a commit
 * is an append to the -wal file; with FULL, SQLite fsyncs the WAL at every
 * commit, so a write that returned VEIL_OK is on stable storage. NORMAL
 * would sync only at checkpoints: still consistent after a crash, but the
 * last commits before a power loss could roll back, and the broker would
 * have acknowledged secrets it no longer holds. The cost is one fsync per
 * write, which a key broker (writes are operator actions and session
 * changes) easily affords.
 *
 * SQL: only the constant strings in this file, prepared once; values are
 * always bound, never formatted into SQL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite_internal.h"
#include "veil/limits.h"

/* How long a writer waits for another process's lock before failing. */
#define SQ_BUSY_TIMEOUT_MS 5000

const char *const sq_sql[SQ_STMT_COUNT_] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_META_INSERT] = "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
    [SQ_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [SQ_RES_PUT] = "INSERT INTO resources (path, sealed) VALUES (?1, ?2) "
		   "ON CONFLICT (path) DO UPDATE SET sealed = excluded.sealed",
    [SQ_RES_GET] = "SELECT sealed FROM resources WHERE path = ?1",
    [SQ_RES_DELETE] = "DELETE FROM resources WHERE path = ?1",
    [SQ_RES_LIST] = "SELECT path FROM resources ORDER BY path",
    [SQ_DOC_PUT] = "INSERT INTO documents (kind, name, body) VALUES (?1, ?2, ?3) "
		   "ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body",
    [SQ_DOC_GET] = "SELECT body FROM documents WHERE kind = ?1 AND name = ?2",
    [SQ_DOC_DELETE] = "DELETE FROM documents WHERE kind = ?1 AND name = ?2",
    [SQ_DOC_LIST] = "SELECT name FROM documents WHERE kind = ?1 ORDER BY name",
    [SQ_SECRET_GET] = "SELECT sealed FROM secrets WHERE name = ?1",
    [SQ_SECRET_INSERT] = "INSERT OR IGNORE INTO secrets (name, sealed) VALUES (?1, ?2)",
    [SQ_SES_INSERT] = "INSERT INTO sessions (id, tee, nonce, expires, tee_pubkey, ear) "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQ_SES_GET] = "SELECT tee, nonce, expires, attested, token, tee_pubkey, ear "
		   "FROM sessions WHERE id = ?1",
    [SQ_SES_DELETE] = "DELETE FROM sessions WHERE id = ?1",
    [SQ_SES_DELETE_EXPIRED] = "DELETE FROM sessions WHERE id = ?1 AND expires <= ?2",
    /* One statement decides: it changes the row only while the session
     * is unattested and holds this nonce, so of two racing attestations
     * exactly one sees a change (KBS protocol: one nonce, one attest). */
    [SQ_SES_ATTEST] = "UPDATE sessions SET attested = 1, token = ?2, "
		      "tee_pubkey = coalesce(?3, tee_pubkey), ear = coalesce(?4, ear), "
		      "expires = ?5 WHERE id = ?1 AND attested = 0 AND nonce = ?6",
    [SQ_SES_COLLECT] = "DELETE FROM sessions WHERE expires <= ?1",
};

/* Schema migrations: migrations[i] takes the schema from version i to
 * i + 1, inside the one transaction that also records the new version.
 * A step may add a function for changes SQL alone cannot make (re-sealing
 * values, say); it runs after the step's SQL. Never edit a published step:
 * add one. */
struct sq_migration {
	const char *sql;
	veil_err (*fn)(sq_store *q);
};

static const struct sq_migration migrations[] = {
    {.sql = "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;"
	    "CREATE TABLE resources (path TEXT PRIMARY KEY, sealed BLOB NOT NULL) STRICT;"
	    "CREATE TABLE documents (kind TEXT NOT NULL CHECK (kind IN ('resource-policy', "
	    "'appraisal-policy', 'reference-values')), name TEXT NOT NULL, body BLOB NOT NULL, "
	    "PRIMARY KEY (kind, name)) STRICT;"
	    "CREATE TABLE secrets (name TEXT PRIMARY KEY, sealed BLOB NOT NULL) STRICT;"
	    "CREATE TABLE sessions (id TEXT PRIMARY KEY, tee TEXT NOT NULL, "
	    "nonce BLOB NOT NULL CHECK (length(nonce) = 32), expires INTEGER NOT NULL, "
	    "attested INTEGER NOT NULL DEFAULT 0 CHECK (attested IN (0, 1)), token TEXT, "
	    "tee_pubkey TEXT, ear TEXT) STRICT;"
	    "CREATE INDEX sessions_expires ON sessions (expires);"},
};
#define SQ_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

veil_err sq_fail(sq_store *q, int rc, const char *what)
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
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
		err = VEIL_E_USAGE;
		break;
	default: /* BUSY, IOERR, FULL, READONLY, CANTOPEN, ... */
		err = VEIL_E_IO;
		break;
	}
	return veil_fail(err, "store %s: %s: %s (SQLite error %d)", q->path, what,
			 q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc), rc);
}

void sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

veil_err sq_exec(sq_store *q, enum sq_stmt which, const char *what)
{
	sqlite3_stmt *st = q->st[which];
	int rc = sqlite3_step(st);

	sq_done(st);
	return rc == SQLITE_DONE ? VEIL_OK : sq_fail(q, rc, what);
}

void sq_rollback(sq_store *q)
{
	/* After a failure: the failure's message is the one to keep. */
	(void)sqlite3_step(q->st[SQ_ROLLBACK]);
	sq_done(q->st[SQ_ROLLBACK]);
}

/* Runs a constant pragma and returns its first column as text in buf
 * ("" when it returns no row). */
static veil_err sq_pragma(sq_store *q, const char *sql, char *buf, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	veil_err err = VEIL_OK;

	buf[0] = 0;
	if (rc != SQLITE_OK)
		return sq_fail(q, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(buf, cap, "%s", t != NULL ? (const char *)t : "");
		rc = sqlite3_step(st);
	}
	/* quick_check reports more rows only when the first is not "ok". */
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sq_fail(q, rc, sql);
	sqlite3_finalize(st);
	return err;
}

static veil_err sq_settings(sq_store *q)
{
	char v[256];
	veil_err err;

	/* SQLite file format: a database that fails quick_check is refused,
	 * never repaired or used: a key broker must not serve from a
	 * database whose contents it cannot vouch for. */
	err = sq_pragma(q, "PRAGMA quick_check", v, sizeof v);
	if (err != VEIL_OK)
		return veil_fail_context(err, "integrity check failed (restore from a backup)");
	ENSURE(strcmp(v, "ok") == 0, VEIL_E_MALFORMED,
	       "store %s failed its integrity check (%s); restore it from a backup", q->path, v);
	TRY(sq_pragma(q, "PRAGMA journal_mode = WAL", v, sizeof v));
	ENSURE(strcmp(v, "wal") == 0, VEIL_E_IO,
	       "store %s: cannot use write-ahead logging (journal mode is %s); the store needs a "
	       "local file system",
	       q->path, v);
	TRY(sq_pragma(q, "PRAGMA synchronous = FULL", v, sizeof v));
	TRY(sq_pragma(q, "PRAGMA synchronous", v, sizeof v));
	ENSURE(strcmp(v, "2") == 0, VEIL_E_IO, "store %s: synchronous=FULL did not take", q->path);
	TRY(sq_pragma(q, "PRAGMA foreign_keys = ON", v, sizeof v));
	TRY(sq_pragma(q, "PRAGMA foreign_keys", v, sizeof v));
	ENSURE(strcmp(v, "1") == 0, VEIL_E_IO, "store %s: foreign keys cannot be enabled", q->path);
	/* Deleted rows (old sessions and their tokens) are overwritten in the
	 * database file rather than left in free pages. */
	TRY(sq_pragma(q, "PRAGMA secure_delete = ON", v, sizeof v));
	return VEIL_OK;
}

static veil_err sq_version_get(sq_store *q, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc;
	veil_err err = VEIL_OK;

	*version = 0;
	rc = sqlite3_prepare_v2(q->db, "SELECT version FROM schema_version WHERE id = 1", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		return sq_fail(q, rc, "reading the schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE)
		err = sq_fail(q, rc, "reading the schema version");
	sqlite3_finalize(st);
	return err;
}

static veil_err sq_version_set(sq_store *q, int version)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(q->db,
				"INSERT INTO schema_version (id, version) VALUES (1, ?1) "
				"ON CONFLICT (id) DO UPDATE SET version = excluded.version",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, version);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VEIL_OK : sq_fail(q, rc, "recording the schema version");
}

static veil_err sq_run(sq_store *q, const char *sql, const char *what)
{
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? VEIL_OK : sq_fail(q, rc, what);
}

/* Brings the schema to SQ_SCHEMA_VERSION in one write transaction, so two
 * processes opening a new database at once do not both create it. */
static veil_err sq_migrate(sq_store *q)
{
	int version = 0;
	veil_err err = VEIL_OK;

	TRY(sq_run(q, "BEGIN IMMEDIATE", "starting the schema transaction"));
	CHECK(sq_run(q,
		     "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY "
		     "CHECK (id = 1), version INTEGER NOT NULL) STRICT",
		     "creating the schema version table"));
	CHECK(sq_version_get(q, &version));
	CHECK_THAT(version >= 0 && version <= SQ_SCHEMA_VERSION, VEIL_E_UNSUPPORTED,
		   "store %s has schema version %d; this build knows versions up to %d (use a "
		   "newer veil)",
		   q->path, version, SQ_SCHEMA_VERSION);
	for (int v = version; v < SQ_SCHEMA_VERSION; v++) {
		CHECK(sq_run(q, migrations[v].sql, "migrating the schema"));
		if (migrations[v].fn != NULL)
			CHECK(migrations[v].fn(q));
	}
	if (version != SQ_SCHEMA_VERSION)
		CHECK(sq_version_set(q, SQ_SCHEMA_VERSION));
	CHECK(sq_run(q, "COMMIT", "committing the schema"));
out:
	if (err != VEIL_OK)
		(void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static veil_err sq_prepare(sq_store *q)
{
	for (int i = 0; i < SQ_STMT_COUNT_; i++) {
		int rc = sqlite3_prepare_v3(q->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &q->st[i], NULL);
		if (rc != SQLITE_OK)
			return sq_fail(q, rc, sq_sql[i]);
	}
	return VEIL_OK;
}

void sq_close(void *be)
{
	sq_store *q = be;

	if (q == NULL)
		return;
	for (int i = 0; i < SQ_STMT_COUNT_; i++)
		sqlite3_finalize(q->st[i]);
	/* The last connection to close checkpoints the WAL into the file. */
	sqlite3_close(q->db);
	pthread_mutex_destroy(&q->lock);
	free(q->path);
	free(q);
}

veil_err veil_store_open_sqlite(const char *path, const uint8_t master[VEIL_STORE_MASTER_KEY_LEN],
				veil_store **out)
{
	sq_store *q = NULL;
	veil_err err = VEIL_OK;
	int rc, fd;

	ENSURE(out != NULL, VEIL_E_USAGE, "store: no output given");
	*out = NULL;
	ENSURE(path != NULL && *path != 0 && master != NULL, VEIL_E_USAGE,
	       "store: a database path and a master key are needed");
	ENSURE(sqlite3_threadsafe() != 0, VEIL_E_UNSUPPORTED,
	       "store: this SQLite library is built without thread support");
	/* Create it 0600 before SQLite does (SQLite would use 0644 less the
	 * umask); its -wal and -shm files take the same mode. An existing
	 * file keeps its mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	ENSURE(fd >= 0, VEIL_E_IO, "store: cannot open %s: %s", path, strerror(errno));
	close(fd);
	q = calloc(1, sizeof *q);
	ENSURE(q != NULL, VEIL_E_NOMEM, "out of memory");
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		free(q);
		return veil_fail(VEIL_E_NOMEM, "store: cannot create a mutex");
	}
	q->path = strdup(path);
	CHECK_THAT(q->path != NULL, VEIL_E_NOMEM, "out of memory");
	rc = sqlite3_open_v2(
	    path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	CHECK_THAT(rc == SQLITE_OK, rc == SQLITE_NOMEM ? VEIL_E_NOMEM : VEIL_E_IO,
		   "store: cannot open %s: %s", path,
		   q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, SQ_BUSY_TIMEOUT_MS);
	CHECK(sq_settings(q));
	CHECK(sq_migrate(q));
	CHECK(sq_prepare(q));
	err = store_attach(&sq_ops, q, master, out);
	q = NULL; /* store_attach owns it now, success or not */
out:
	sq_close(q);
	return err;
}

veil_err sq_meta_init(void *be, const store_blob *id, const store_blob *check, store_blob *id_out,
		      store_blob *check_out)
{
	static const char *const keys[] = {"db_id", "check"};
	const store_blob *vals[] = {id, check};
	store_blob *outs[] = {id_out, check_out};
	sq_store *q = be;
	veil_err err = VEIL_OK;
	int rc;

	pthread_mutex_lock(&q->lock);
	CHECK(sq_exec(q, SQ_BEGIN, "starting a transaction"));
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st = q->st[SQ_META_INSERT];
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, vals[i]->p, (int)vals[i]->len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sq_done(st);
		if (rc != SQLITE_DONE) {
			err = sq_fail(q, rc, "writing the store's identity");
			goto out;
		}
	}
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st = q->st[SQ_META_GET];
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = store_blob_copy(outs[i], sqlite3_column_blob(st, 0),
					      (size_t)sqlite3_column_bytes(st, 0));
		else
			err = sq_fail(q, rc, "reading the store's identity");
		sq_done(st);
		CHECK(err);
	}
	CHECK(sq_exec(q, SQ_COMMIT, "committing the store's identity"));
out:
	if (err != VEIL_OK)
		sq_rollback(q);
	pthread_mutex_unlock(&q->lock);
	return err;
}

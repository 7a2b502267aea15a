/*
 * sqlite_util.c - the one way Veil opens a SQLite database (see
 * sqlite_util.h for the rules and why they are shared).
 *
 * Durability: journal_mode=WAL with synchronous=FULL. In WAL mode a commit
 * is an append to the -wal file; with FULL, SQLite fsyncs the WAL at every
 * commit, so a write that returned VEIL_OK is on stable storage. NORMAL
 * would sync only at checkpoints: still consistent after a crash, but the
 * last commits before a power loss could roll back, and a key broker would
 * have acknowledged secrets it no longer holds, a log appends it no longer
 * has, a gateway keys it never stored. The cost is one fsync per commit,
 * which these loads (operator actions, sessions, appends, batched usage)
 * easily afford.
 *
 * SQL: constant strings only. The one name formatted into SQL, the version
 * table, is a constant of the module's and is checked to be a plain
 * identifier; values are always bound.
 */
#include "core/sqlite_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How long a writer waits for another connection's lock before failing. */
#define SQLU_BUSY_TIMEOUT_MS 5000

veil_err sqlu_fail(const sqlu_kind *k, const char *path, sqlite3 *db, int rc, const char *what)
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
		err = k->constraint_err;
		break;
	default: /* BUSY, IOERR, FULL, READONLY, CANTOPEN, ... */
		err = VEIL_E_IO;
		break;
	}
	return veil_fail(err, "%s %s: %s: %s (SQLite error %d)", k->noun, path, what,
			 db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

void sqlu_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

veil_err sqlu_exec(const sqlu_kind *k, const char *path, sqlite3 *db, sqlite3_stmt *st,
		   const char *what)
{
	int rc = sqlite3_step(st);

	sqlu_done(st);
	return rc == SQLITE_DONE ? VEIL_OK : sqlu_fail(k, path, db, rc, what);
}

void sqlu_rollback(sqlite3_stmt *rollback)
{
	/* After a failure: the failure's message is the one to keep. */
	(void)sqlite3_step(rollback);
	sqlu_done(rollback);
}

veil_err sqlu_run(const sqlu_kind *k, const char *path, sqlite3 *db, const char *sql,
		  const char *what)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? VEIL_OK : sqlu_fail(k, path, db, rc, what);
}

veil_err sqlu_pragma(const sqlu_kind *k, const char *path, sqlite3 *db, const char *sql, char *buf,
		     size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	veil_err err = VEIL_OK;

	buf[0] = 0;
	if (rc != SQLITE_OK)
		return sqlu_fail(k, path, db, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(buf, cap, "%s", t != NULL ? (const char *)t : "");
		rc = sqlite3_step(st);
	}
	/* quick_check reports more rows only when the first is not "ok". */
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sqlu_fail(k, path, db, rc, sql);
	sqlite3_finalize(st);
	return err;
}

static veil_err sqlu_settings(const sqlu_kind *k, const char *path, sqlite3 *db)
{
	char v[256];
	veil_err err;

	/* SQLite file format: a database that fails quick_check is refused,
	 * never repaired or used: none of these files may be served from
	 * contents the process cannot vouch for. */
	err = sqlu_pragma(k, path, db, "PRAGMA quick_check", v, sizeof v);
	if (err != VEIL_OK)
		return veil_fail_context(err, "integrity check failed (restore from a backup)");
	ENSURE(strcmp(v, "ok") == 0, VEIL_E_MALFORMED,
	       "%s %s failed its integrity check (%s); restore it from a backup", k->noun, path, v);
	TRY(sqlu_pragma(k, path, db, "PRAGMA journal_mode = WAL", v, sizeof v));
	ENSURE(strcmp(v, "wal") == 0, VEIL_E_IO,
	       "%s %s: cannot use write-ahead logging (journal mode is %s); %s", k->noun, path, v,
	       k->wal_hint);
	TRY(sqlu_pragma(k, path, db, "PRAGMA synchronous = FULL", v, sizeof v));
	TRY(sqlu_pragma(k, path, db, "PRAGMA synchronous", v, sizeof v));
	ENSURE(strcmp(v, "2") == 0, VEIL_E_IO, "%s %s: synchronous=FULL did not take", k->noun,
	       path);
	return VEIL_OK;
}

veil_err sqlu_open(const sqlu_kind *k, const char *path, sqlite3 **db)
{
	veil_err err = VEIL_OK;
	int rc, fd;

	*db = NULL;
	ENSURE(sqlite3_threadsafe() != 0, VEIL_E_UNSUPPORTED,
	       "%s: this SQLite library is built without thread support", k->noun);
	/* Create it 0600 before SQLite does (SQLite would use 0644 less the
	 * umask; the umask can only take bits from 0600); its -wal and -shm
	 * files take the database file's mode. An existing file keeps its
	 * mode, and a link is not followed. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	ENSURE(fd >= 0, VEIL_E_IO, "%s: cannot open %s: %s", k->noun, path, strerror(errno));
	close(fd);
	rc = sqlite3_open_v2(
	    path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	CHECK_THAT(rc == SQLITE_OK, rc == SQLITE_NOMEM ? VEIL_E_NOMEM : VEIL_E_IO,
		   "%s: cannot open %s: %s", k->noun, path,
		   *db != NULL ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(*db, 1);
	sqlite3_busy_timeout(*db, SQLU_BUSY_TIMEOUT_MS);
	CHECK(sqlu_settings(k, path, *db));
out:
	if (err != VEIL_OK) {
		sqlite3_close(*db);
		*db = NULL;
	}
	return err;
}

/* The version table's name goes into SQL text, so it must be a plain
 * identifier (it is a constant; this keeps it one). */
static bool sqlu_identifier(const char *s)
{
	if (s == NULL || *s == 0)
		return false;
	for (; *s != 0; s++) {
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return false;
	}
	return true;
}

/* Prepares BEFORE, the version table's name, AFTER: the one SQL with a
 * name put in (sqlu_migrate checks the name first). */
static veil_err sqlu_version_sql(const sqlu_kind *k, const char *path, sqlite3 *db,
				 const char *before, const char *after, const char *what,
				 sqlite3_stmt **st)
{
	char sql[256];
	int n = snprintf(sql, sizeof sql, "%s%s%s", before, k->version_table, after);
	int rc;

	*st = NULL;
	ENSURE(n > 0 && (size_t)n < sizeof sql, VEIL_E_USAGE,
	       "%s: the version table's name is too long", k->noun);
	rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? VEIL_OK : sqlu_fail(k, path, db, rc, what);
}

/* Steps a one-off statement that returns no rows, and finalizes it. */
static veil_err sqlu_step_final(const sqlu_kind *k, const char *path, sqlite3 *db, sqlite3_stmt *st,
				const char *what)
{
	int rc = sqlite3_step(st);
	veil_err err = rc == SQLITE_DONE ? VEIL_OK : sqlu_fail(k, path, db, rc, what);

	sqlite3_finalize(st);
	return err;
}

/* The version recorded in the table (0 for a new database), creating the
 * table if it is not there. */
static veil_err sqlu_version_get(const sqlu_kind *k, const char *path, sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	veil_err err = VEIL_OK;
	int rc;

	*version = 0;
	TRY(sqlu_version_sql(k, path, db, "CREATE TABLE IF NOT EXISTS ",
			     " (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL) "
			     "STRICT",
			     "creating the schema version table", &st));
	TRY(sqlu_step_final(k, path, db, st, "creating the schema version table"));
	TRY(sqlu_version_sql(k, path, db, "SELECT version FROM ", " WHERE id = 1",
			     "reading the schema version", &st));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE)
		err = sqlu_fail(k, path, db, rc, "reading the schema version");
	sqlite3_finalize(st);
	return err;
}

static veil_err sqlu_version_set(const sqlu_kind *k, const char *path, sqlite3 *db, int version)
{
	sqlite3_stmt *st = NULL;

	TRY(sqlu_version_sql(k, path, db, "INSERT INTO ",
			     " (id, version) VALUES (1, ?1) "
			     "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
			     "recording the schema version", &st));
	sqlite3_bind_int(st, 1, version);
	return sqlu_step_final(k, path, db, st, "recording the schema version");
}

veil_err sqlu_migrate(const sqlu_kind *k, const char *path, sqlite3 *db, void *owner)
{
	int version = 0;
	veil_err err = VEIL_OK;

	ENSURE(sqlu_identifier(k->version_table), VEIL_E_USAGE,
	       "%s: the version table is not a plain name", k->noun);
	TRY(sqlu_run(k, path, db, "BEGIN IMMEDIATE", "starting the schema transaction"));
	CHECK(sqlu_version_get(k, path, db, &version));
	CHECK_THAT(version >= 0 && version <= k->nsteps, VEIL_E_UNSUPPORTED,
		   "%s %s has schema version %d; this build knows versions up to %d (use a "
		   "newer veil)",
		   k->noun, path, version, k->nsteps);
	for (int v = version; v < k->nsteps; v++) {
		CHECK(sqlu_run(k, path, db, k->steps[v].sql, k->steps[v].what));
		if (k->steps[v].fn != NULL)
			CHECK(k->steps[v].fn(owner));
	}
	if (version != k->nsteps)
		CHECK(sqlu_version_set(k, path, db, k->nsteps));
	CHECK(sqlu_run(k, path, db, "COMMIT", "committing the schema"));
out:
	if (err != VEIL_OK)
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

veil_err sqlu_prepare(const sqlu_kind *k, const char *path, sqlite3 *db, const char *const *sql,
		      sqlite3_stmt **st, int n)
{
	for (int i = 0; i < n; i++) {
		int rc =
		    sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL);
		if (rc != SQLITE_OK)
			return sqlu_fail(k, path, db, rc, sql[i]);
	}
	return VEIL_OK;
}

void sqlu_close(sqlite3 *db, sqlite3_stmt **st, int n)
{
	for (int i = 0; i < n; i++)
		sqlite3_finalize(st[i]);
	/* The last connection to close checkpoints the WAL into the file. */
	sqlite3_close(db);
}

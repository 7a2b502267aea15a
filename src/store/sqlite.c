/*
 * sqlite.c - the default storage back end: one SQLite file in WAL mode.
 *
 * Opening a store: create the file 0600 (it holds no plaintext secret, but
 * sessions and policies are nobody else's business), check its integrity
 * and fail closed if that fails, set the durability pragmas, bring the
 * schema up to date through the migrations below, prepare every statement,
 * and hand over to store_attach for the master-key check. All but the
 * store's own pragmas, schema and statements is core/sqlite_util.c, which
 * the transparency log and the gateway's accounts open their files with.
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
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "veil/limits.h"

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

/* Schema steps (core/sqlite_util.h): steps[i] takes the schema from
 * version i to i + 1, inside the one transaction that also records the new
 * version. A step may add a function for changes SQL alone cannot make
 * (re-sealing values, say); it runs after the step's SQL with the sq_store.
 * Never edit a published step: add one. */
static const sqlu_step migrations[] = {
    {.what = "migrating the schema",
     .sql = "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;"
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

const sqlu_kind sq_kind = {
    .noun = "store",
    .wal_hint = "the store needs a local file system",
    .version_table = "schema_version",
    .steps = migrations,
    .nsteps = (int)(sizeof migrations / sizeof migrations[0]),
    /* A constraint or size failure is a value the schema refuses: the
     * caller's (a session of the wrong shape, an over-long value). */
    .constraint_err = VEIL_E_USAGE,
};

veil_err sq_fail(sq_store *q, int rc, const char *what)
{
	return sqlu_fail(&sq_kind, q->path, q->db, rc, what);
}

veil_err sq_exec(sq_store *q, enum sq_stmt which, const char *what)
{
	return sqlu_exec(&sq_kind, q->path, q->db, q->st[which], what);
}

/* The store's settings beyond the shared ones of sqlu_open. */
static veil_err sq_settings(sq_store *q)
{
	char v[16];

	TRY(sqlu_pragma(&sq_kind, q->path, q->db, "PRAGMA foreign_keys = ON", v, sizeof v));
	TRY(sqlu_pragma(&sq_kind, q->path, q->db, "PRAGMA foreign_keys", v, sizeof v));
	ENSURE(strcmp(v, "1") == 0, VEIL_E_IO, "store %s: foreign keys cannot be enabled", q->path);
	/* Deleted rows (old sessions and their tokens) are overwritten in the
	 * database file rather than left in free pages. */
	TRY(sqlu_pragma(&sq_kind, q->path, q->db, "PRAGMA secure_delete = ON", v, sizeof v));
	return VEIL_OK;
}

void sq_close(void *be)
{
	sq_store *q = be;

	if (q == NULL)
		return;
	sqlu_close(q->db, q->st, SQ_STMT_COUNT_);
	pthread_mutex_destroy(&q->lock);
	free(q->path);
	free(q);
}

veil_err veil_store_open_sqlite(const char *path, const uint8_t master[VEIL_STORE_MASTER_KEY_LEN],
				veil_store **out)
{
	sq_store *q = NULL;
	veil_err err = VEIL_OK;

	ENSURE(out != NULL, VEIL_E_USAGE, "store: no output given");
	*out = NULL;
	ENSURE(path != NULL && *path != 0 && master != NULL, VEIL_E_USAGE,
	       "store: a database path and a master key are needed");
	q = calloc(1, sizeof *q);
	ENSURE(q != NULL, VEIL_E_NOMEM, "out of memory");
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		free(q);
		return veil_fail(VEIL_E_NOMEM, "store: cannot create a mutex");
	}
	q->path = strdup(path);
	CHECK_THAT(q->path != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(sqlu_open(&sq_kind, path, &q->db));
	CHECK(sq_settings(q));
	CHECK(sqlu_migrate(&sq_kind, q->path, q->db, q));
	CHECK(sqlu_prepare(&sq_kind, q->path, q->db, sq_sql, q->st, SQ_STMT_COUNT_));
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
		sqlu_done(st);
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
		sqlu_done(st);
		CHECK(err);
	}
	CHECK(sq_exec(q, SQ_COMMIT, "committing the store's identity"));
out:
	if (err != VEIL_OK)
		sqlu_rollback(q->st[SQ_ROLLBACK]);
	pthread_mutex_unlock(&q->lock);
	return err;
}

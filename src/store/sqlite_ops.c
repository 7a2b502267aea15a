/*
 * sqlite_ops.c - the operations of the SQLite back end: resources,
 * documents, the store's secrets and attestation sessions.
 *
 * Each one takes the store's mutex, binds its arguments to a statement
 * prepared at open, steps it and resets it before unlocking (so no caller
 * buffer stays bound). Single statements run in SQLite's own autocommit
 * transaction and are durable when they return (see sqlite.c); the two
 * read-modify-write operations (secret_insert_get, session_get of an
 * expired session) hold the mutex across their statements and, where
 * another process could interleave, a BEGIN IMMEDIATE transaction.
 *
 * What comes out of the database is checked against the caps of limits.h
 * before it is copied: the file is ours, but it is still a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "veil/limits.h"

#define SEALED_MAX (VEIL_STORE_VALUE_MAX + STORE_SEAL_OVERHEAD)

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
	/* A zero-length blob, not NULL, when p is NULL and len is 0. */
	sqlite3_bind_blob(st, i, p != NULL ? (const void *)p : (const void *)"", (int)len,
			  SQLITE_STATIC);
}

/* Steps st once and copies column 0 of its row into out (at most max
 * bytes); VEIL_E_NOT_FOUND with `what` when there is no row. */
static veil_err row_blob(sq_store *q, sqlite3_stmt *st, size_t max, const char *what,
			 store_blob *out)
{
	int rc = sqlite3_step(st);
	const void *p;
	size_t len;

	if (rc == SQLITE_DONE)
		return veil_fail(VEIL_E_NOT_FOUND, "%s not found", what);
	if (rc != SQLITE_ROW)
		return sq_fail(q, rc, what);
	/* SQLite: the pointer first, then its length. */
	p = sqlite3_column_blob(st, 0);
	len = (size_t)sqlite3_column_bytes(st, 0);
	ENSURE(len <= max, VEIL_E_LIMIT, "store %s: %s is %zu bytes in the database, over the cap",
	       q->path, what, len);
	return store_blob_copy(out, p, len);
}

/* Most operations are one statement: take the lock and the statement,
 * then reset the statement and drop the lock. */
static sqlite3_stmt *op_begin(sq_store *q, enum sq_stmt which)
{
	pthread_mutex_lock(&q->lock);
	return q->st[which];
}

static void op_end(sq_store *q, sqlite3_stmt *st)
{
	sqlu_done(st);
	pthread_mutex_unlock(&q->lock);
}

/* Steps a statement that returns no rows. */
static veil_err step_done(sq_store *q, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? VEIL_OK : sq_fail(q, rc, what);
}

/* The text parameters that pick the rows of a resource, document or
 * secret statement, in the order of the SQL's ?1, ?2 (see sq_sql): none,
 * a path or a name, or a kind and a name. */
typedef struct sq_keys {
	const char *v[2];
	int n;
} sq_keys;

static const sq_keys no_keys = {.n = 0};

static sq_keys keys1(const char *a)
{
	return (sq_keys){.v = {a}, .n = 1};
}

static sq_keys keys2(const char *a, const char *b)
{
	return (sq_keys){.v = {a, b}, .n = 2};
}

/* op_begin, then binds the keys from ?1 on. */
static sqlite3_stmt *op_begin_keyed(sq_store *q, enum sq_stmt which, sq_keys k)
{
	sqlite3_stmt *st = op_begin(q, which);

	for (int i = 0; i < k.n; i++)
		bind_text(st, i + 1, k.v[i]);
	return st;
}

/* An upsert of a blob: the keys, then the blob after them. */
static veil_err op_put(sq_store *q, enum sq_stmt which, sq_keys k, const uint8_t *p, size_t len,
		       const char *what)
{
	sqlite3_stmt *st = op_begin_keyed(q, which, k);
	veil_err err;

	bind_blob(st, k.n + 1, p, len);
	err = step_done(q, st, what);
	op_end(q, st);
	return err;
}

/* A SELECT of one blob, at most max bytes; VEIL_E_NOT_FOUND when there
 * is no row. */
static veil_err op_get(sq_store *q, enum sq_stmt which, sq_keys k, size_t max, const char *what,
		       store_blob *out)
{
	sqlite3_stmt *st = op_begin_keyed(q, which, k);
	veil_err err = row_blob(q, st, max, what, out);

	op_end(q, st);
	return err;
}

/* Steps a DELETE; VEIL_E_NOT_FOUND when it removed nothing. */
static veil_err delete_one(sq_store *q, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return sq_fail(q, rc, what);
	ENSURE(sqlite3_changes(q->db) > 0, VEIL_E_NOT_FOUND, "%s not found", what);
	return VEIL_OK;
}

static veil_err op_delete(sq_store *q, enum sq_stmt which, sq_keys k, const char *what)
{
	sqlite3_stmt *st = op_begin_keyed(q, which, k);
	veil_err err = delete_one(q, st, what);

	op_end(q, st);
	return err;
}

/* Steps a SELECT of names, copying each (at most max bytes) into out. */
static veil_err names(sq_store *q, sqlite3_stmt *st, size_t max, store_names *out)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		ENSURE(t != NULL && len <= max, VEIL_E_LIMIT,
		       "store %s: a listed name is over the cap", q->path);
		TRY(store_names_add(out, (const char *)t, len));
	}
	return rc == SQLITE_DONE ? VEIL_OK : sq_fail(q, rc, "listing");
}

static veil_err op_list(sq_store *q, enum sq_stmt which, sq_keys k, size_t max, store_names *out)
{
	sqlite3_stmt *st = op_begin_keyed(q, which, k);
	veil_err err = names(q, st, max, out);

	op_end(q, st);
	return err;
}

static veil_err res_put(void *be, const char *path, const store_blob *sealed)
{
	return op_put(be, SQ_RES_PUT, keys1(path), sealed->p, sealed->len, "storing a resource");
}

static veil_err res_get(void *be, const char *path, store_blob *sealed)
{
	return op_get(be, SQ_RES_GET, keys1(path), SEALED_MAX, "resource", sealed);
}

static veil_err res_delete(void *be, const char *path)
{
	return op_delete(be, SQ_RES_DELETE, keys1(path), "resource");
}

static veil_err res_list(void *be, store_names *out)
{
	return op_list(be, SQ_RES_LIST, no_keys, VEIL_STORE_PATH_MAX, out);
}

static veil_err doc_put(void *be, const char *kind, const char *name, const uint8_t *doc,
			size_t len)
{
	return op_put(be, SQ_DOC_PUT, keys2(kind, name), doc, len, "storing a document");
}

static veil_err doc_get(void *be, const char *kind, const char *name, store_blob *doc)
{
	return op_get(be, SQ_DOC_GET, keys2(kind, name), VEIL_STORE_DOC_MAX, "document", doc);
}

static veil_err doc_delete(void *be, const char *kind, const char *name)
{
	return op_delete(be, SQ_DOC_DELETE, keys2(kind, name), "document");
}

static veil_err doc_list(void *be, const char *kind, store_names *out)
{
	return op_list(be, SQ_DOC_LIST, keys1(kind), VEIL_STORE_NAME_MAX, out);
}

static veil_err secret_get(void *be, const char *name, store_blob *sealed)
{
	return op_get(be, SQ_SECRET_GET, keys1(name), SEALED_MAX, "secret", sealed);
}

/* INSERT OR IGNORE, then SELECT, in one write transaction: of several
 * creators (threads here, or other processes on the file) the first to
 * commit wins and every one reads back its value. */
static veil_err secret_insert_get(void *be, const char *name, const store_blob *sealed,
				  store_blob *stored)
{
	sq_store *q = be;
	sqlite3_stmt *st;
	veil_err err = VEIL_OK;
	int rc;

	pthread_mutex_lock(&q->lock);
	CHECK(sq_exec(q, SQ_BEGIN, "starting a transaction"));
	st = q->st[SQ_SECRET_INSERT];
	bind_text(st, 1, name);
	bind_blob(st, 2, sealed->p, sealed->len);
	rc = sqlite3_step(st);
	sqlu_done(st);
	if (rc != SQLITE_DONE) {
		err = sq_fail(q, rc, "storing a secret");
		goto out;
	}
	st = q->st[SQ_SECRET_GET];
	bind_text(st, 1, name);
	err = row_blob(q, st, SEALED_MAX, "secret", stored);
	sqlu_done(st);
	CHECK(err);
	CHECK(sq_exec(q, SQ_COMMIT, "committing a secret"));
out:
	if (err != VEIL_OK)
		sqlu_rollback(q->st[SQ_ROLLBACK]);
	pthread_mutex_unlock(&q->lock);
	return err;
}

/*
 * Sessions last minutes, and a lost one costs a guest one more handshake,
 * so their writes skip the fsync a secret's write needs (sqlite.c):
 * synchronous=NORMAL for the one statement, FULL again after it, under the
 * store's lock. In WAL mode that is still crash-consistent, and a process
 * crash (kill -9) loses nothing; only a power loss can roll back the last
 * session writes. If FULL cannot be restored the call fails, so no later
 * write of a secret can run without its fsync unnoticed.
 */
static veil_err session_sync(sq_store *q, bool relaxed)
{
	int rc = sqlite3_exec(q->db,
			      relaxed ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
			      NULL, NULL, NULL);
	return rc == SQLITE_OK ? VEIL_OK : sq_fail(q, rc, "setting synchronous");
}

static veil_err ses_create(void *be, const veil_store_session *sess)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_SES_INSERT);
	veil_err err = VEIL_OK;
	int rc;

	bind_text(st, 1, sess->id);
	bind_text(st, 2, sess->tee);
	bind_blob(st, 3, sess->nonce, sizeof sess->nonce);
	sqlite3_bind_int64(st, 4, sess->expires);
	bind_text(st, 5, sess->tee_pubkey);
	bind_text(st, 6, sess->ear);
	err = session_sync(q, true);
	rc = err == VEIL_OK ? sqlite3_step(st) : SQLITE_DONE;
	if (err == VEIL_OK && rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		err = veil_fail(VEIL_E_USAGE, "a session with this id exists already");
	else if (err == VEIL_OK && rc != SQLITE_DONE)
		err = sq_fail(q, rc, "creating a session");
	sqlu_done(st);
	if (session_sync(q, false) != VEIL_OK)
		err = VEIL_E_IO;
	pthread_mutex_unlock(&q->lock);
	return err;
}

/* Copies a nullable text column (at most VEIL_STORE_DOC_MAX bytes). */
static veil_err text_column(sq_store *q, sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t len = (size_t)sqlite3_column_bytes(st, col);

	*out = NULL;
	if (t == NULL)
		return VEIL_OK;
	ENSURE(len <= VEIL_STORE_DOC_MAX, VEIL_E_LIMIT,
	       "store %s: a session field is %zu bytes, over the cap", q->path, len);
	*out = malloc(len + 1);
	ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(*out, t, len + 1);
	return VEIL_OK;
}

static veil_err ses_row(sq_store *q, sqlite3_stmt *st, const char *id, veil_store_session *out)
{
	const unsigned char *tee = sqlite3_column_text(st, 0);
	size_t tee_len = (size_t)sqlite3_column_bytes(st, 0);
	const void *nonce = sqlite3_column_blob(st, 1);

	ENSURE(tee != NULL && tee_len < sizeof out->tee && nonce != NULL &&
		   sqlite3_column_bytes(st, 1) == (int)sizeof out->nonce,
	       VEIL_E_MALFORMED, "store %s: the session row is malformed", q->path);
	snprintf(out->id, sizeof out->id, "%s", id);
	memcpy(out->tee, tee, tee_len + 1);
	memcpy(out->nonce, nonce, sizeof out->nonce);
	out->expires = sqlite3_column_int64(st, 2);
	out->attested = sqlite3_column_int(st, 3) != 0;
	TRY(text_column(q, st, 4, &out->token));
	TRY(text_column(q, st, 5, &out->tee_pubkey));
	return text_column(q, st, 6, &out->ear);
}

/* Steps SQ_SES_GET for id: VEIL_OK with the session's row current in st,
 * VEIL_E_NOT_FOUND when there is none. The caller holds the lock and
 * resets st. */
static veil_err ses_find(sq_store *q, sqlite3_stmt *st, const char *id)
{
	int rc;

	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return veil_fail(VEIL_E_NOT_FOUND, "session not found");
	return rc == SQLITE_ROW ? VEIL_OK : sq_fail(q, rc, "reading a session");
}

static veil_err ses_get(void *be, const char *id, int64_t now, veil_store_session *out)
{
	sq_store *q = be;
	sqlite3_stmt *st;
	veil_err err;
	int rc;

	pthread_mutex_lock(&q->lock);
	st = q->st[SQ_SES_GET];
	err = ses_find(q, st, id);
	if (err == VEIL_OK)
		err = ses_row(q, st, id, out);
	sqlu_done(st);
	if (err == VEIL_OK && out->expires <= now) {
		/* Expired: gone for good. The DELETE repeats the time test, so
		 * a session another replica just extended is not removed. */
		st = q->st[SQ_SES_DELETE_EXPIRED];
		bind_text(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		rc = sqlite3_step(st);
		sqlu_done(st);
		err = rc == SQLITE_DONE ? veil_fail(VEIL_E_EXPIRED, "the session has expired")
					: sq_fail(q, rc, "deleting an expired session");
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

static veil_err ses_attest(void *be, const char *id, const uint8_t nonce[32], const char *token,
			   const char *tee_pubkey, const char *ear, int64_t expires)
{
	sq_store *q = be;
	sqlite3_stmt *st;
	veil_err err = VEIL_OK;
	int rc;

	pthread_mutex_lock(&q->lock);
	st = q->st[SQ_SES_ATTEST];
	bind_text(st, 1, id);
	bind_text(st, 2, token);
	bind_text(st, 3, tee_pubkey);
	bind_text(st, 4, ear);
	sqlite3_bind_int64(st, 5, expires);
	bind_blob(st, 6, nonce, 32);
	err = session_sync(q, true);
	rc = err == VEIL_OK ? sqlite3_step(st) : SQLITE_DONE;
	sqlu_done(st);
	if (session_sync(q, false) != VEIL_OK)
		err = VEIL_E_IO;
	if (err == VEIL_OK && rc != SQLITE_DONE) {
		err = sq_fail(q, rc, "attesting a session");
	} else if (err == VEIL_OK && sqlite3_changes(q->db) != 1) {
		/* Nothing changed: say why, for the caller's error reply. */
		st = q->st[SQ_SES_GET];
		err = ses_find(q, st, id);
		if (err == VEIL_OK && sqlite3_column_int(st, 3) != 0)
			err = veil_fail(VEIL_E_MISMATCH,
					"the session is attested already: one nonce admits one "
					"attestation; start a new session");
		else if (err == VEIL_OK)
			err = veil_fail(VEIL_E_MISMATCH,
					"the attestation is for another nonce than the session's");
		sqlu_done(st);
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

static veil_err ses_delete(void *be, const char *id)
{
	return op_delete(be, SQ_SES_DELETE, keys1(id), "session");
}

static veil_err ses_collect(void *be, int64_t now, size_t *removed)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_SES_COLLECT);
	veil_err err;

	sqlite3_bind_int64(st, 1, now);
	err = session_sync(q, true);
	if (err == VEIL_OK)
		err = step_done(q, st, "collecting expired sessions");
	if (err == VEIL_OK)
		*removed = (size_t)sqlite3_changes(q->db);
	if (session_sync(q, false) != VEIL_OK)
		err = VEIL_E_IO;
	op_end(q, st);
	return err;
}

const store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .meta_init = sq_meta_init,
    .resource_put = res_put,
    .resource_get = res_get,
    .resource_delete = res_delete,
    .resource_list = res_list,
    .doc_put = doc_put,
    .doc_get = doc_get,
    .doc_delete = doc_delete,
    .doc_list = doc_list,
    .secret_get = secret_get,
    .secret_insert_get = secret_insert_get,
    .session_create = ses_create,
    .session_get = ses_get,
    .session_attest = ses_attest,
    .session_delete = ses_delete,
    .session_collect = ses_collect,
};

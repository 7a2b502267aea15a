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

/* Steps a DELETE; VEIL_E_NOT_FOUND when it removed nothing. */
static veil_err delete_one(sq_store *q, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return sq_fail(q, rc, what);
	ENSURE(sqlite3_changes(q->db) > 0, VEIL_E_NOT_FOUND, "%s not found", what);
	return VEIL_OK;
}

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

/* Most operations are one statement: take the lock and the statement,
 * then reset the statement and drop the lock. */
static sqlite3_stmt *op_begin(sq_store *q, enum sq_stmt which)
{
	pthread_mutex_lock(&q->lock);
	return q->st[which];
}

static void op_end(sq_store *q, sqlite3_stmt *st)
{
	sq_done(st);
	pthread_mutex_unlock(&q->lock);
}

/* Steps a statement that returns no rows. */
static veil_err step_done(sq_store *q, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? VEIL_OK : sq_fail(q, rc, what);
}

static veil_err res_put(void *be, const char *path, const store_blob *sealed)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_RES_PUT);
	veil_err err;

	bind_text(st, 1, path);
	bind_blob(st, 2, sealed->p, sealed->len);
	err = step_done(q, st, "storing a resource");
	op_end(q, st);
	return err;
}

static veil_err res_get(void *be, const char *path, store_blob *sealed)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_RES_GET);
	veil_err err;

	bind_text(st, 1, path);
	err = row_blob(q, st, SEALED_MAX, "resource", sealed);
	op_end(q, st);
	return err;
}

static veil_err res_delete(void *be, const char *path)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_RES_DELETE);
	veil_err err;

	bind_text(st, 1, path);
	err = delete_one(q, st, "resource");
	op_end(q, st);
	return err;
}

static veil_err res_list(void *be, store_names *out)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_RES_LIST);
	veil_err err;

	err = names(q, st, VEIL_STORE_PATH_MAX, out);
	op_end(q, st);
	return err;
}

static veil_err doc_put(void *be, const char *kind, const char *name, const uint8_t *doc,
			size_t len)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_DOC_PUT);
	veil_err err;

	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	bind_blob(st, 3, doc, len);
	err = step_done(q, st, "storing a document");
	op_end(q, st);
	return err;
}

static veil_err doc_get(void *be, const char *kind, const char *name, store_blob *doc)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_DOC_GET);
	veil_err err;

	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	err = row_blob(q, st, VEIL_STORE_DOC_MAX, "document", doc);
	op_end(q, st);
	return err;
}

static veil_err doc_delete(void *be, const char *kind, const char *name)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_DOC_DELETE);
	veil_err err;

	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	err = delete_one(q, st, "document");
	op_end(q, st);
	return err;
}

static veil_err doc_list(void *be, const char *kind, store_names *out)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_DOC_LIST);
	veil_err err;

	bind_text(st, 1, kind);
	err = names(q, st, VEIL_STORE_NAME_MAX, out);
	op_end(q, st);
	return err;
}

static veil_err secret_get(void *be, const char *name, store_blob *sealed)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_SECRET_GET);
	veil_err err;

	bind_text(st, 1, name);
	err = row_blob(q, st, SEALED_MAX, "secret", sealed);
	op_end(q, st);
	return err;
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
	sq_done(st);
	if (rc != SQLITE_DONE) {
		err = sq_fail(q, rc, "storing a secret");
		goto out;
	}
	st = q->st[SQ_SECRET_GET];
	bind_text(st, 1, name);
	err = row_blob(q, st, SEALED_MAX, "secret", stored);
	sq_done(st);
	CHECK(err);
	CHECK(sq_exec(q, SQ_COMMIT, "committing a secret"));
out:
	if (err != VEIL_OK)
		sq_rollback(q);
	pthread_mutex_unlock(&q->lock);
	return err;
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
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		err = veil_fail(VEIL_E_USAGE, "a session with this id exists already");
	else if (rc != SQLITE_DONE)
		err = sq_fail(q, rc, "creating a session");
	op_end(q, st);
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

static veil_err ses_get(void *be, const char *id, int64_t now, veil_store_session *out)
{
	sq_store *q = be;
	sqlite3_stmt *st;
	veil_err err = VEIL_OK;
	int rc;

	pthread_mutex_lock(&q->lock);
	st = q->st[SQ_SES_GET];
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		err = veil_fail(VEIL_E_NOT_FOUND, "session not found");
	else if (rc != SQLITE_ROW)
		err = sq_fail(q, rc, "reading a session");
	else
		err = ses_row(q, st, id, out);
	sq_done(st);
	if (err == VEIL_OK && out->expires <= now) {
		/* Expired: gone for good. The DELETE repeats the time test, so
		 * a session another replica just extended is not removed. */
		st = q->st[SQ_SES_DELETE_EXPIRED];
		bind_text(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		rc = sqlite3_step(st);
		sq_done(st);
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
	rc = sqlite3_step(st);
	sq_done(st);
	if (rc != SQLITE_DONE) {
		err = sq_fail(q, rc, "attesting a session");
	} else if (sqlite3_changes(q->db) != 1) {
		/* Nothing changed: say why, for the caller's error reply. */
		st = q->st[SQ_SES_GET];
		bind_text(st, 1, id);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			err = veil_fail(VEIL_E_NOT_FOUND, "session not found");
		else if (rc != SQLITE_ROW)
			err = sq_fail(q, rc, "reading a session");
		else if (sqlite3_column_int(st, 3) != 0)
			err = veil_fail(VEIL_E_MISMATCH,
					"the session is attested already: one nonce admits one "
					"attestation; start a new session");
		else
			err = veil_fail(VEIL_E_MISMATCH,
					"the attestation is for another nonce than the session's");
		sq_done(st);
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

static veil_err ses_delete(void *be, const char *id)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_SES_DELETE);
	veil_err err;

	bind_text(st, 1, id);
	err = delete_one(q, st, "session");
	op_end(q, st);
	return err;
}

static veil_err ses_collect(void *be, int64_t now, size_t *removed)
{
	sq_store *q = be;
	sqlite3_stmt *st = op_begin(q, SQ_SES_COLLECT);
	veil_err err;

	sqlite3_bind_int64(st, 1, now);
	err = step_done(q, st, "collecting expired sessions");
	if (err == VEIL_OK)
		*removed = (size_t)sqlite3_changes(q->db);
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

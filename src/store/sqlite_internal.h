/*
 * sqlite_internal.h - the SQLite back end's state, shared by sqlite.c
 * (opening, schema, statements) and sqlite_ops.c (the operations).
 *
 * Threads: one connection and one mutex per store. Every operation takes
 * the mutex for its whole run, statements included, so the connection and
 * its prepared statements are only ever used by one thread at a time and
 * SQLite's own per-connection mutex is not needed (SQLITE_OPEN_NOMUTEX).
 * A key broker's writes are small and SQLite admits one writer at a time
 * anyway; what a pool of connections would buy is concurrent reads, which
 * this load does not need. Other processes on the same file (a second
 * daemon, the durability checker) are handled by SQLite's file locks and
 * the busy timeout.
 */
#ifndef VEIL_STORE_SQLITE_INTERNAL_H
#define VEIL_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "core/sqlite_util.h"
#include "store/store_internal.h"

/* Every statement the back end runs, prepared once at open. */
enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_META_INSERT,
	SQ_META_GET,
	SQ_RES_PUT,
	SQ_RES_GET,
	SQ_RES_DELETE,
	SQ_RES_LIST,
	SQ_DOC_PUT,
	SQ_DOC_GET,
	SQ_DOC_DELETE,
	SQ_DOC_LIST,
	SQ_SECRET_GET,
	SQ_SECRET_INSERT,
	SQ_SES_INSERT,
	SQ_SES_GET,
	SQ_SES_DELETE,
	SQ_SES_DELETE_EXPIRED,
	SQ_SES_ATTEST,
	SQ_SES_COLLECT,
	SQ_STMT_COUNT_
};

typedef struct sq_store {
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *st[SQ_STMT_COUNT_];
	char *path; /* for messages */
} sq_store;

/* The SQL of each statement (sqlite.c). */
extern const char *const sq_sql[SQ_STMT_COUNT_];
extern const store_ops sq_ops;

/* What the store is to core/sqlite_util.c: its messages, schema steps
 * and error mapping (sqlite.c). */
extern const sqlu_kind sq_kind;

/* A veil_err for a failed SQLite call, with SQLite's message; call with
 * the lock held (the message belongs to the connection). Statements are
 * reset with sqlu_done and transactions rolled back with sqlu_rollback
 * (core/sqlite_util.h). */
veil_err sq_fail(sq_store *q, int rc, const char *what);
/* Runs a statement that returns no rows (BEGIN, COMMIT, ...). */
VEIL_MUST_CHECK veil_err sq_exec(sq_store *q, enum sq_stmt which, const char *what);

void sq_close(void *be);
veil_err sq_meta_init(void *be, const store_blob *id, const store_blob *check, store_blob *id_out,
		      store_blob *check_out);

#endif

/*
 * log_internal.h - the SQLite log's state, shared by log.c (opening, the
 * schema, the check of every stored entry) and log_ops.c (appending,
 * reading, roots and proofs).
 *
 * Locks: `write` serialises appends and every use of the connection and
 * its statements (SQLITE_OPEN_NOMUTEX, as the key broker's store); `tree`
 * is a read-write lock over the tree's published size and the arrays it
 * points to. Roots and proofs take only `tree` for reading, so they never
 * wait for an append's fsync: an appender stages the new hashes in slots
 * no reader looks at, commits to the database holding `write` alone, and
 * takes `tree` for writing only to grow the arrays and to publish.
 */
#ifndef VEIL_TLOG_LOG_INTERNAL_H
#define VEIL_TLOG_LOG_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "core/sqlite_util.h"
#include "tlog/tlog_internal.h"

/* The statements the log runs after open, prepared once. */
enum tl_stmt {
	TL_BEGIN,
	TL_COMMIT,
	TL_ROLLBACK,
	TL_INSERT,
	TL_HEAD_SET,
	TL_ENTRY_GET,
	TL_STMT_COUNT_
};

struct veil_tlog {
	sqlite3 *db;
	sqlite3_stmt *st[TL_STMT_COUNT_];
	char *path; /* for messages */
	pthread_mutex_t write;
	pthread_rwlock_t tree_lock;
	tlog_tree tree;
	/* A commit failed in a way that leaves unknown whether the entry
	 * is stored: the memory may no longer match the database, so
	 * appends stop until the log is opened again (and checked). */
	bool broken;
};

extern const char *const tl_sql[TL_STMT_COUNT_];

/* What the log is to core/sqlite_util.c: its messages, schema steps and
 * error mapping (log.c). */
extern const sqlu_kind tl_kind;

/* A veil_err for a failed SQLite call, with SQLite's message; call with
 * `write` held (the message belongs to the connection). Statements are
 * reset with sqlu_done (core/sqlite_util.h). */
veil_err tl_fail(veil_tlog *t, int rc, const char *what);
/* Runs a statement that returns no rows. */
VEIL_MUST_CHECK veil_err tl_exec(veil_tlog *t, enum tl_stmt which, const char *what);

#endif

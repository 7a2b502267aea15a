/*
 * sqlite_util.h - opening a SQLite database the way each of Veil's
 * databases is opened (the key broker's store, the transparency log, the
 * gateway's accounts), so that the rules below live in one place:
 *
 *   - the file is created 0600 before SQLite would create it 0644;
 *   - a file that fails SQLite's quick_check is refused, never repaired;
 *   - journal_mode=WAL and synchronous=FULL, both checked to have taken,
 *     so a commit that returned is on stable storage (docs/store.md);
 *   - a busy timeout for another process's lock;
 *   - the schema brought up to date by numbered steps in one write
 *     transaction, with the version in a one-row table of the module's.
 *
 * What differs between the databases is a sqlu_kind that each module
 * defines once: the word its messages start with, its version table, its
 * schema steps, and what a constraint failure means to it. Every message
 * reads as the module's own ("store PATH: ...", "transparency log PATH:
 * ...").
 *
 * The connection is opened SQLITE_OPEN_NOMUTEX: each module serialises
 * the use of its connection and statements with a mutex of its own.
 * Internal to libveil; not a public header.
 */
#ifndef VEIL_CORE_SQLITE_UTIL_H
#define VEIL_CORE_SQLITE_UTIL_H

#include <sqlite3.h>
#include <stddef.h>

#include "veil/error.h"

/* One schema step: it takes the schema from version i to i + 1. Never
 * edit a published step; add one. */
typedef struct sqlu_step {
	const char *sql;
	const char *what; /* for messages: "creating the log's tables" */
	/* Optional, for changes SQL alone cannot make (re-sealing values,
	 * say): runs after sql, in the same transaction, with the owner
	 * given to sqlu_migrate. */
	veil_err (*fn)(void *owner);
} sqlu_step;

/* What one kind of database is; a constant of the module's. */
typedef struct sqlu_kind {
	const char *noun;          /* starts every message: "store", "accounts" */
	const char *wal_hint;      /* ends the message when WAL is refused */
	const char *version_table; /* the one-row table of the schema version */
	const sqlu_step *steps;    /* steps[i]: version i to i + 1 */
	int nsteps;                /* the version this build writes */
	/* What SQLITE_CONSTRAINT and SQLITE_TOOBIG mean: a caller's value the
	 * schema refuses (VEIL_E_USAGE), or, where the module's statements
	 * cannot hit a constraint but another writer can, VEIL_E_IO. */
	veil_err constraint_err;
} sqlu_kind;

/* Creates the file 0600 if it is not there (an existing file keeps its
 * mode), opens it read-write, checks it with quick_check and sets WAL,
 * synchronous=FULL and the busy timeout. On failure *db is NULL. */
VEIL_MUST_CHECK veil_err sqlu_open(const sqlu_kind *k, const char *path, sqlite3 **db);

/* Brings the schema to version k->nsteps in one BEGIN IMMEDIATE
 * transaction, so two processes opening a new file at once do not both
 * create it; a file of a newer version is refused. */
VEIL_MUST_CHECK veil_err sqlu_migrate(const sqlu_kind *k, const char *path, sqlite3 *db,
				      void *owner);

/* Prepares sql[0..n) into st[0..n) for the connection's lifetime. */
VEIL_MUST_CHECK veil_err sqlu_prepare(const sqlu_kind *k, const char *path, sqlite3 *db,
				      const char *const *sql, sqlite3_stmt **st, int n);

/* Finalizes st[0..n) (NULL ones too) and closes the connection (NULL
 * too); the last connection to close checkpoints the WAL into the file. */
void sqlu_close(sqlite3 *db, sqlite3_stmt **st, int n);

/* A veil_err for a failed SQLite call, with SQLite's message: "NOUN PATH:
 * WHAT: MESSAGE (SQLite error RC)". Call with the module's lock held (the
 * message belongs to the connection). */
veil_err sqlu_fail(const sqlu_kind *k, const char *path, sqlite3 *db, int rc, const char *what);

/* Runs a constant pragma; its first column as text in buf ("" when it
 * returns no row). */
VEIL_MUST_CHECK veil_err sqlu_pragma(const sqlu_kind *k, const char *path, sqlite3 *db,
				     const char *sql, char *buf, size_t cap);

/* Runs constant SQL that returns no rows (sqlite3_exec). */
VEIL_MUST_CHECK veil_err sqlu_run(const sqlu_kind *k, const char *path, sqlite3 *db,
				  const char *sql, const char *what);

/* Steps a prepared statement that returns no rows, then sqlu_done. */
VEIL_MUST_CHECK veil_err sqlu_exec(const sqlu_kind *k, const char *path, sqlite3 *db,
				   sqlite3_stmt *st, const char *what);

/* Resets a statement after use and drops its bindings, so no caller
 * buffer stays referenced. */
void sqlu_done(sqlite3_stmt *st);

/* Steps a prepared ROLLBACK after a failure, keeping that failure's
 * detail (a rollback with no transaction open fails harmlessly). */
void sqlu_rollback(sqlite3_stmt *rollback);

#endif

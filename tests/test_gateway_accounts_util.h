/*
 * test_gateway_accounts_util.h - what the gateway accounts tests share
 * (header-only, static inline): a fixture (a fresh temporary folder with
 * an accounts database opened in it), direct SQL on the file through a
 * connection of the test's own (to check what is stored and to change it
 * behind the module's back), and sums over a usage report.
 */
#ifndef VEIL_TEST_GATEWAY_ACCOUNTS_UTIL_H
#define VEIL_TEST_GATEWAY_ACCOUNTS_UTIL_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/accounts.h"
#include "harness.h"
#include "veil/secret.h"

typedef struct acct_fx {
	char dir[96];
	char path[128];
	gw_accounts *a;
} acct_fx;

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A fresh folder under $TMPDIR (or /tmp) with accounts.db opened in it. */
static inline bool fx_open(acct_fx *f)
{
	const char *base = getenv("TMPDIR");

	memset(f, 0, sizeof *f);
	if (base == NULL || *base == 0 || strlen(base) > 48)
		base = "/tmp";
	snprintf(f->dir, sizeof f->dir, "%s/veil-gwacct-XXXXXX", base);
	if (mkdtemp(f->dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(f->path, sizeof f->path, "%s/accounts.db", f->dir);
	return gw_accounts_open(f->path, &f->a) == VEIL_OK;
}

static inline void fx_done(acct_fx *f)
{
	gw_accounts_close(f->a);
	f->a = NULL;
	if (f->dir[0] != 0)
		(void)nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* "Bearer " and the key. */
static inline void bearer(char *buf, size_t cap, const char *key)
{
	snprintf(buf, cap, "Bearer %s", key);
}

static inline void free_key(char *key)
{
	if (key != NULL)
		veil_free_secret(key, strlen(key));
}

/* Runs SQL on the file through a connection of the test's own; says why
 * it failed unless quiet. */
static inline bool sql_exec(const char *path, const char *sql, bool quiet)
{
	sqlite3 *db = NULL;
	bool ok = sqlite3_open(path, &db) == SQLITE_OK;

	if (ok) {
		sqlite3_busy_timeout(db, 5000);
		ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
	}
	if (!ok && !quiet)
		fprintf(stderr, "    sql: %s\n", db != NULL ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_close(db);
	return ok;
}

static inline bool sql_run(const char *path, const char *sql)
{
	return sql_exec(path, sql, false);
}

/* The integer of a one-row, one-column query; -1 on failure. */
static inline int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The sum of one member over usage's data rows (-1 when malformed). */
static inline int64_t usage_sum(const json_t *u, const char *field)
{
	const json_t *data = json_object_get(u, "data");
	json_t *row;
	int64_t sum = 0;
	size_t i;

	if (!json_is_array(data))
		return -1;
	json_array_foreach(data, i, row)
	{
		if (!json_is_integer(json_object_get(row, field)))
			return -1;
		sum += json_integer_value(json_object_get(row, field));
	}
	return sum;
}

static inline int64_t usage_of(gw_accounts *a, const gw_account *acct, const char *field)
{
	json_t *u = NULL;
	int64_t v = -1;

	if (gw_accounts_usage(a, acct, &u) == VEIL_OK)
		v = usage_sum(u, field);
	json_decref(u);
	return v;
}

#endif

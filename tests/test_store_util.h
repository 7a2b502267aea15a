/*
 * test_store_util.h - helpers shared by the key broker storage tests
 * (header-only, static inline).
 *
 * A fixture is a fresh temporary folder holding a master key file made by
 * veil_store_master_key_create and a store opened on "store.db" beside it.
 * The tests reach under the store with the sqlite3 C API (to move sealed
 * values between rows, alter the schema version, check integrity) and read
 * the raw files to look for plaintext.
 */
#ifndef VEIL_TEST_STORE_UTIL_H
#define VEIL_TEST_STORE_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "veil/secret.h"
#include "veil/store.h"

typedef struct store_fx {
	char dir[64];
	char db[128];
	char key_path[128];
	uint8_t key[VEIL_STORE_MASTER_KEY_LEN];
	veil_store *s;
} store_fx;

static inline int fx_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A fresh folder and master key; the store is not opened. */
static inline bool fx_init(store_fx *f)
{
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/veil-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return false;
	snprintf(f->db, sizeof f->db, "%s/store.db", f->dir);
	snprintf(f->key_path, sizeof f->key_path, "%s/master.key", f->dir);
	return veil_store_master_key_create(f->key_path) == VEIL_OK &&
	       veil_store_master_key_load(f->key_path, f->key) == VEIL_OK;
}

static inline bool fx_open(store_fx *f)
{
	return fx_init(f) && veil_store_open_sqlite(f->db, f->key, &f->s) == VEIL_OK;
}

/* Closes and opens again: a restart of the daemon. */
static inline bool fx_reopen(store_fx *f)
{
	veil_store_close(f->s);
	f->s = NULL;
	return veil_store_open_sqlite(f->db, f->key, &f->s) == VEIL_OK;
}

static inline void fx_done(store_fx *f)
{
	veil_store_close(f->s);
	f->s = NULL;
	veil_wipe(f->key, sizeof f->key);
	if (f->dir[0] != 0)
		(void)nftw(f->dir, fx_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Path of a file in the fixture's folder (static buffer). */
static inline const char *fx_path(const store_fx *f, const char *name)
{
	static char path[256];

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	return path;
}

/* Writes a file with the given mode (exactly, whatever the umask). */
static inline bool fx_write(const char *path, const void *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool ok = fd >= 0 && fchmod(fd, mode) == 0 && write(fd, p, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Whether the file at path contains needle (false when it cannot be read). */
static inline bool fx_file_has(const char *path, const void *needle, size_t n)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;
	bool found = false;

	if (fp == NULL)
		return false;
	for (;;) {
		if (len == cap) {
			uint8_t *p = realloc(buf, cap ? 2 * cap : 65536);
			if (p == NULL)
				break;
			buf = p;
			cap = cap ? 2 * cap : 65536;
		}
		size_t got = fread(buf + len, 1, cap - len, fp);
		if (got == 0)
			break;
		len += got;
	}
	fclose(fp);
	found = buf != NULL && memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

/* Runs SQL on the database file directly, as a person with the sqlite3
 * shell would; true when it succeeded. */
static inline bool fx_sql(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "    sqlite: %s\n", msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

/* PRAGMA integrity_check on the file: the full check, not quick_check. */
static inline bool fx_integrity_ok(const char *db_path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool ok = false;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

/* Flips one bit of the sealed value of a resource, in place. */
static inline bool fx_resource_flip(const char *db_path, const char *path, int offset)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t buf[4096];
	int len = 0;
	bool ok = false;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT sealed FROM resources WHERE path = ?1", -1, &st, NULL) !=
		SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	len = sqlite3_column_bytes(st, 0);
	if (len <= offset || len > (int)sizeof buf)
		goto out;
	memcpy(buf, sqlite3_column_blob(st, 0), (size_t)len);
	buf[offset] ^= 0x01;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "UPDATE resources SET sealed = ?2 WHERE path = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, buf, len, SQLITE_STATIC);
	ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

/* Entries in a folder, "." and ".." aside. */
static inline int fx_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A session with a fixed nonce derived from seed. */
static inline void fx_session(veil_store_session *s, const char *id, int64_t expires, uint8_t seed)
{
	memset(s, 0, sizeof *s);
	snprintf(s->id, sizeof s->id, "%s", id);
	snprintf(s->tee, sizeof s->tee, "snp");
	for (size_t i = 0; i < sizeof s->nonce; i++)
		s->nonce[i] = (uint8_t)(seed + i);
	s->expires = expires;
}

#endif

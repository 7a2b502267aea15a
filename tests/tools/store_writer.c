/*
 * store_writer.c - the program tests/cli/store_durability.sh kills in the
 * middle of writing, and the checker it runs afterwards.
 *
 * The store promises that a put which returned VEIL_OK survives kill -9
 * and power loss (include/veil/store.h). The only honest test of that is
 * to acknowledge writes the way the daemon does, kill the writer at a
 * random point, and look: every acknowledged value must be there, intact,
 * and the database must pass SQLite's full integrity check.
 *
 *   store_writer init DB KEY
 *       creates the master key file KEY (if absent) and the store DB.
 *   store_writer run DB KEY START
 *       puts res/dur/N for N = START, START+1, ... with a value derived
 *       from N, and after each put that returned VEIL_OK prints
 *       "acked N" (flushed at once); runs until killed.
 *   store_writer value N
 *       writes the value for N to stdout, for tests/cli/kbs_durability.sh,
 *       which puts it through a running veil-kbs's admin API instead.
 *   store_writer check DB KEY
 *       opens the store (which runs quick_check and fails closed), prints
 *       "present N" for every res/dur/N whose value is the one derived
 *       from N and "bad N: WHY" for any other, then runs PRAGMA
 *       integrity_check on the closed file and prints "integrity ok".
 *
 * Exit status: 0 when everything checked out, 1 on a failure (with a
 * message on stderr), 2 on a usage error.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "veil/secret.h"
#include "veil/store.h"

#define VALUE_MAX 4096

/* The value written for N: its length and bytes both depend on N, so a
 * value from another row, or a torn one, does not pass for it. */
static size_t value_for(unsigned long long n, uint8_t out[VALUE_MAX])
{
	size_t len = 16 + (size_t)(n * 7919 % (VALUE_MAX - 16));

	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(n * 31 + i * 17 + (n >> 8));
	return len;
}

static int fail(const char *what)
{
	fprintf(stderr, "store_writer: %s: %s\n", what, veil_err_detail());
	return 1;
}

static int open_store(const char *db, const char *key_path, veil_store **s)
{
	uint8_t key[VEIL_STORE_MASTER_KEY_LEN];
	veil_err err;

	if (veil_store_master_key_load(key_path, key) != VEIL_OK)
		return fail("loading the master key");
	err = veil_store_open_sqlite(db, key, s);
	veil_wipe(key, sizeof key);
	return err == VEIL_OK ? 0 : fail("opening the store");
}

static int cmd_init(const char *db, const char *key_path)
{
	veil_store *s = NULL;

	if (access(key_path, F_OK) != 0 && veil_store_master_key_create(key_path) != VEIL_OK)
		return fail("creating the master key");
	if (open_store(db, key_path, &s) != 0)
		return 1;
	veil_store_close(s);
	return 0;
}

static int cmd_run(const char *db, const char *key_path, unsigned long long start)
{
	veil_store *s = NULL;
	uint8_t val[VALUE_MAX];

	if (open_store(db, key_path, &s) != 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned long long n = start;; n++) {
		char path[64];
		size_t len = value_for(n, val);

		snprintf(path, sizeof path, "res/dur/%llu", n);
		if (veil_store_resource_put(s, path, val, len) != VEIL_OK) {
			veil_store_close(s);
			return fail("writing");
		}
		/* Acknowledged only now, as the daemon answers only now. */
		printf("acked %llu\n", n);
		fflush(stdout);
	}
}

typedef struct checker {
	veil_store *s;
	unsigned long present, bad;
} checker;

static veil_err check_one(void *user, const char *path)
{
	checker *c = user;
	uint8_t want[VALUE_MAX], *got = NULL;
	size_t want_len, got_len = 0;
	unsigned long long n;
	char *end;
	veil_err err;

	if (strncmp(path, "res/dur/", 8) != 0)
		return VEIL_OK;
	errno = 0;
	n = strtoull(path + 8, &end, 10); /* checked: errno, end */
	if (errno != 0 || path[8] < '0' || path[8] > '9' || *end != 0) {
		printf("bad %s: not a number\n", path + 8);
		c->bad++;
		return VEIL_OK;
	}
	want_len = value_for(n, want);
	err = veil_store_resource_get(c->s, path, &got, &got_len);
	if (err != VEIL_OK) {
		printf("bad %llu: %s\n", n, veil_err_detail());
		c->bad++;
	} else if (got_len != want_len || memcmp(got, want, want_len) != 0) {
		printf("bad %llu: the value is not the one written\n", n);
		c->bad++;
	} else {
		printf("present %llu\n", n);
		c->present++;
	}
	veil_free_secret(got, got_len);
	return VEIL_OK;
}

static int integrity(const char *db_path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *t = NULL;
	int rc = 1;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && (t = sqlite3_column_text(st, 0)) != NULL &&
	    strcmp((const char *)t, "ok") == 0) {
		printf("integrity ok\n");
		rc = 0;
	} else {
		fprintf(stderr, "store_writer: integrity_check: %s\n",
			t != NULL ? (const char *)t : sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static int cmd_check(const char *db, const char *key_path)
{
	checker c = {0};

	if (open_store(db, key_path, &c.s) != 0)
		return 1;
	if (veil_store_resource_list(c.s, check_one, &c) != VEIL_OK) {
		veil_store_close(c.s);
		return fail("listing");
	}
	veil_store_close(c.s);
	fprintf(stderr, "store_writer: %lu present, %lu bad\n", c.present, c.bad);
	if (integrity(db) != 0)
		return 1;
	return c.bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "init") == 0)
		return cmd_init(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "value") == 0) {
		char *end;
		unsigned long long n;
		uint8_t v[VALUE_MAX];
		size_t len;

		errno = 0;
		n = strtoull(argv[2], &end, 10); /* checked: errno, end */
		if (errno == 0 && argv[2][0] >= '0' && argv[2][0] <= '9' && *end == 0) {
			len = value_for(n, v);
			return fwrite(v, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : 1;
		}
	}
	if (argc == 5 && strcmp(argv[1], "run") == 0) {
		char *end;
		unsigned long long start;

		errno = 0;
		start = strtoull(argv[4], &end, 10); /* checked: errno, end */
		if (errno == 0 && argv[4][0] >= '0' && argv[4][0] <= '9' && *end == 0)
			return cmd_run(argv[2], argv[3], start);
	}
	fprintf(stderr,
		"usage: store_writer init DB KEY | run DB KEY START | value N | check DB KEY\n");
	return 2;
}

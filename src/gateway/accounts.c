/*
 * accounts.c - the gateway's accounts database: opening the SQLite file,
 * its schema, and the operator's actions on accounts (create, revoke,
 * list, find), which `veil gateway key` runs from another process while
 * the gateway has the file open.
 *
 * Storage, in tables of its own so that the file could be shared with the
 * gateway's other state (as the transparency log's tables are):
 *
 *   gw_accounts_schema (id = 1, version)
 *   gw_accounts  (id, name, key_hash, rpm, tpm, created, revoked): one row
 *                an account; key_hash is SHA-256 of the key's 46 ASCII
 *                characters, never the key; names are never reused, so
 *                usage stays with the account that made it
 *   gw_usage     (account, day, model, tier, requests, ok, prompt_tokens,
 *                completion_tokens, receipts, opaque): the totals of each
 *                account, UTC day, model and tier (accounts_meter.c)
 *
 * Durability as the key broker's store (docs/store.md), through the same
 * opening code (core/sqlite_util.c): WAL with synchronous=FULL, so a
 * created key is on stable storage when the command prints it, and a flush
 * that returned is kept. The file is created 0600: it holds no key, but who
 * calls the gateway how much is nobody else's business. A file that fails
 * SQLite's quick_check is refused.
 *
 * SQL: only the constant strings here, prepared once; values are always
 * bound.
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/accounts_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/secret.h"
#include "veil/timeutil.h"

/* The random bytes of a key. */
#define GWA_KEY_RANDOM 32

const char *const gwa_sql[GWA_STMT_COUNT_] = {
    [GWA_BEGIN] = "BEGIN IMMEDIATE",
    [GWA_COMMIT] = "COMMIT",
    [GWA_ROLLBACK] = "ROLLBACK",
    [GWA_ACCT_INSERT] = "INSERT INTO gw_accounts (name, key_hash, rpm, tpm, created) "
			"VALUES (?1, ?2, ?3, ?4, ?5)",
    [GWA_ACCT_REVOKE] = "UPDATE gw_accounts SET revoked = coalesce(revoked, ?2) WHERE name = ?1",
    [GWA_ACCT_LIST] = "SELECT name, rpm, tpm, created, revoked FROM gw_accounts ORDER BY name",
    [GWA_ACCT_BY_HASH] = "SELECT id, name, rpm, tpm, revoked IS NOT NULL FROM gw_accounts "
			 "WHERE key_hash = ?1",
    [GWA_ACCT_BY_NAME] = "SELECT id, name, rpm, tpm FROM gw_accounts WHERE name = ?1",
    /* Adds to the stored totals, each at most INT64_MAX: a sum past it
     * would turn REAL, which the STRICT table refuses, and every later
     * flush would fail. */
    [GWA_USAGE_ADD] =
	"INSERT INTO gw_usage (account, day, model, tier, requests, ok, prompt_tokens, "
	"completion_tokens, receipts, opaque) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
	"ON CONFLICT (account, day, model, tier) DO UPDATE SET "
	"requests = requests + min(excluded.requests, 9223372036854775807 - requests), "
	"ok = ok + min(excluded.ok, 9223372036854775807 - ok), "
	"prompt_tokens = prompt_tokens + "
	"min(excluded.prompt_tokens, 9223372036854775807 - prompt_tokens), "
	"completion_tokens = completion_tokens + "
	"min(excluded.completion_tokens, 9223372036854775807 - completion_tokens), "
	"receipts = receipts + min(excluded.receipts, 9223372036854775807 - receipts), "
	"opaque = opaque + min(excluded.opaque, 9223372036854775807 - opaque)",
    [GWA_USAGE_GET] = "SELECT day, model, tier, requests, ok, prompt_tokens, completion_tokens, "
		      "receipts, opaque FROM gw_usage WHERE account = ?1",
};

/* Schema steps (core/sqlite_util.h): step i takes the schema from
 * version i to i + 1. Never edit a published step; add one. */
static const sqlu_step migrations[] = {
    {.what = "creating the accounts tables",
     .sql = "CREATE TABLE gw_accounts (id INTEGER PRIMARY KEY, "
	    "name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64), "
	    "key_hash BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32), "
	    "rpm INTEGER NOT NULL CHECK (rpm BETWEEN 0 AND 4294967295), "
	    "tpm INTEGER NOT NULL CHECK (tpm BETWEEN 0 AND 4294967295), "
	    "created INTEGER NOT NULL, revoked INTEGER) STRICT;"
	    "CREATE TABLE gw_usage (account INTEGER NOT NULL, "
	    "day TEXT NOT NULL CHECK (length(day) = 10), "
	    "model TEXT NOT NULL CHECK (length(model) BETWEEN 1 AND 128), "
	    "tier TEXT NOT NULL CHECK (tier IN ('plain', 'confidential')), "
	    "requests INTEGER NOT NULL CHECK (requests >= 0), ok INTEGER NOT NULL CHECK (ok >= 0), "
	    "prompt_tokens INTEGER NOT NULL CHECK (prompt_tokens >= 0), "
	    "completion_tokens INTEGER NOT NULL CHECK (completion_tokens >= 0), "
	    "receipts INTEGER NOT NULL CHECK (receipts >= 0), "
	    "opaque INTEGER NOT NULL CHECK (opaque >= 0), "
	    "PRIMARY KEY (account, day, model, tier)) STRICT;"},
};

const sqlu_kind gwa_kind = {
    .noun = "accounts",
    .wal_hint = "the gateway and veil gateway key share it through WAL, which needs a local "
		"file system",
    .version_table = "gw_accounts_schema",
    .steps = migrations,
    .nsteps = (int)(sizeof migrations / sizeof migrations[0]),
    /* Values are checked before they are bound, and the one constraint a
     * caller can hit (a taken name) is told apart where it can happen
     * (gw_accounts_create); anything else is the file's or another
     * process's doing. */
    .constraint_err = VEIL_E_IO,
};

veil_err gwa_fail(gw_accounts *a, int rc, const char *what)
{
	return sqlu_fail(&gwa_kind, a->path, a->db, rc, what);
}

veil_err gwa_exec(gw_accounts *a, enum gwa_stmt which, const char *what)
{
	return sqlu_exec(&gwa_kind, a->path, a->db, a->st[which], what);
}

bool gwa_name_valid(const char *name)
{
	size_t n = 0;

	if (name == NULL)
		return false;
	for (; name[n] != 0; n++) {
		char c = name[n];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok || n >= VEIL_GW_ACCOUNT_NAME_MAX)
			return false;
	}
	return n > 0;
}

veil_err gwa_row_account(gw_accounts *a, sqlite3_stmt *st, gw_account *out)
{
	const unsigned char *name = sqlite3_column_text(st, 1);
	int64_t rpm = sqlite3_column_int64(st, 2), tpm = sqlite3_column_int64(st, 3);

	/* The table's CHECKs hold these; a file changed behind our back is
	 * refused rather than trusted. */
	ENSURE(name != NULL && gwa_name_valid((const char *)name) && rpm >= 0 &&
		   rpm <= UINT32_MAX && tpm >= 0 && tpm <= UINT32_MAX,
	       VEIL_E_MALFORMED, "accounts %s: account %lld has an invalid row", a->path,
	       (long long)sqlite3_column_int64(st, 0));
	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(st, 0);
	memcpy(out->name, name, strlen((const char *)name));
	out->rpm = (uint32_t)rpm;
	out->tpm = (uint32_t)tpm;
	return VEIL_OK;
}

/* Frees what open made, whatever it got to (the locks all exist). */
static void gwa_free(gw_accounts *a)
{
	sqlu_close(a->db, a->st, GWA_STMT_COUNT_);
	gwa_limit_clear(a);
	gwa_meter_clear(a);
	free(a->cache);
	pthread_mutex_destroy(&a->db_lock);
	pthread_mutex_destroy(&a->cache_lock);
	pthread_mutex_destroy(&a->limit_lock);
	pthread_mutex_destroy(&a->meter_lock);
	free(a->path);
	free(a);
}

void gw_accounts_close(gw_accounts *a)
{
	veil_err err;

	if (a == NULL)
		return;
	/* Nobody to tell of a failure here: a caller that cares flushes
	 * first (the detail stays on this thread). */
	err = gw_accounts_flush(a);
	(void)err;
	gwa_free(a);
}

static veil_err gwa_locks_init(gw_accounts *a)
{
	pthread_mutex_t *m[] = {&a->db_lock, &a->cache_lock, &a->limit_lock, &a->meter_lock};

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		if (pthread_mutex_init(m[i], NULL) != 0) {
			while (i-- > 0)
				pthread_mutex_destroy(m[i]);
			return veil_fail(VEIL_E_NOMEM, "accounts: cannot create a mutex");
		}
	}
	return VEIL_OK;
}

veil_err gw_accounts_open(const char *path, gw_accounts **out)
{
	gw_accounts *a = NULL;
	veil_err err = VEIL_OK;

	ENSURE(out != NULL, VEIL_E_USAGE, "gw_accounts_open: no output given");
	*out = NULL;
	ENSURE(path != NULL && *path != 0, VEIL_E_USAGE, "accounts: no database path");
	a = calloc(1, sizeof *a);
	ENSURE(a != NULL, VEIL_E_NOMEM, "out of memory");
	if (gwa_locks_init(a) != VEIL_OK) {
		free(a);
		return VEIL_E_NOMEM;
	}
	a->cache_ms = (int64_t)VEIL_GW_AUTH_CACHE_S * 1000;
	a->path = strdup(path);
	a->cache = calloc(VEIL_GW_AUTH_CACHE_SLOTS, sizeof *a->cache);
	CHECK_THAT(a->path != NULL && a->cache != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(sqlu_open(&gwa_kind, path, &a->db));
	CHECK(sqlu_migrate(&gwa_kind, a->path, a->db, a));
	CHECK(sqlu_prepare(&gwa_kind, a->path, a->db, gwa_sql, a->st, GWA_STMT_COUNT_));
	*out = a;
	a = NULL;
out:
	if (a != NULL)
		gwa_free(a);
	return err;
}

/* "vk_" and the base64url of 32 fresh random bytes, and its SHA-256. */
static veil_err gwa_new_key(char **key_out, uint8_t hash[32])
{
	uint8_t raw[GWA_KEY_RANDOM];
	char *key = malloc(VEIL_GW_KEY_LEN + 1);
	veil_err err = VEIL_OK;

	ENSURE(key != NULL, VEIL_E_NOMEM, "out of memory");
	/* A credential: from the private generator, as seal keys are. */
	CHECK_THAT(RAND_priv_bytes(raw, sizeof raw) == 1, VEIL_E_CRYPTO,
		   "accounts: no random bytes for a key");
	memcpy(key, "vk_", 3);
	veil_base64url_encode(raw, sizeof raw, key + 3);
	CHECK_THAT(strlen(key) == VEIL_GW_KEY_LEN, VEIL_E_MALFORMED, "accounts: key encoding");
	CHECK(veil_sha256(key, VEIL_GW_KEY_LEN, hash));
	*key_out = key;
	key = NULL;
out:
	veil_wipe(raw, sizeof raw);
	veil_free_secret(key, VEIL_GW_KEY_LEN + 1);
	return err;
}

veil_err gw_accounts_create(gw_accounts *a, const char *name, uint32_t rpm, uint32_t tpm,
			    char **key_out)
{
	sqlite3_stmt *st;
	uint8_t hash[32];
	char *key = NULL;
	int rc;

	ENSURE(key_out != NULL, VEIL_E_USAGE, "gw_accounts_create: no output given");
	*key_out = NULL;
	ENSURE(a != NULL, VEIL_E_USAGE, "gw_accounts_create: no accounts given");
	ENSURE(gwa_name_valid(name), VEIL_E_USAGE,
	       "an account name is 1 to %d characters from A-Z a-z 0-9 . _ -",
	       VEIL_GW_ACCOUNT_NAME_MAX);
	TRY(gwa_new_key(&key, hash));
	pthread_mutex_lock(&a->db_lock);
	st = a->st[GWA_ACCT_INSERT];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, rpm);
	sqlite3_bind_int64(st, 4, tpm);
	sqlite3_bind_int64(st, 5, veil_time_now());
	rc = sqlite3_step(st);
	sqlu_done(st);
	if (rc != SQLITE_DONE) {
		/* The name is the only UNIQUE a caller can hit (two equal
		 * random keys do not happen). */
		veil_err err = (rc & 0xff) == SQLITE_CONSTRAINT
				   ? veil_fail(VEIL_E_USAGE,
					       "an account named %s exists already (names are not "
					       "reused, revoked accounts keep theirs)",
					       name)
				   : gwa_fail(a, rc, "creating the account");
		pthread_mutex_unlock(&a->db_lock);
		veil_free_secret(key, VEIL_GW_KEY_LEN + 1);
		return err;
	}
	pthread_mutex_unlock(&a->db_lock);
	*key_out = key;
	return VEIL_OK;
}

veil_err gw_accounts_revoke(gw_accounts *a, const char *name)
{
	sqlite3_stmt *st;
	gw_account acct;
	veil_err err;
	int rc;

	ENSURE(a != NULL, VEIL_E_USAGE, "gw_accounts_revoke: no accounts given");
	TRY(gw_accounts_find(a, name, &acct));
	pthread_mutex_lock(&a->db_lock);
	st = a->st[GWA_ACCT_REVOKE];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, veil_time_now());
	rc = sqlite3_step(st);
	sqlu_done(st);
	err = rc == SQLITE_DONE ? VEIL_OK : gwa_fail(a, rc, "revoking the account");
	pthread_mutex_unlock(&a->db_lock);
	/* This handle's cache forgets the key at once; after the update, so
	 * that a lookup between the two finds it revoked. */
	if (err == VEIL_OK)
		gwa_cache_forget(a, acct.id);
	return err;
}

veil_err gw_accounts_find(gw_accounts *a, const char *name, gw_account *out)
{
	sqlite3_stmt *st;
	veil_err err;
	int rc;

	ENSURE(a != NULL && out != NULL, VEIL_E_USAGE, "gw_accounts_find: no accounts given");
	ENSURE(gwa_name_valid(name), VEIL_E_USAGE,
	       "an account name is 1 to %d characters from A-Z a-z 0-9 . _ -",
	       VEIL_GW_ACCOUNT_NAME_MAX);
	pthread_mutex_lock(&a->db_lock);
	st = a->st[GWA_ACCT_BY_NAME];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = gwa_row_account(a, st, out);
	else if (rc == SQLITE_DONE)
		err =
		    veil_fail(VEIL_E_NOT_FOUND, "accounts %s: no account named %s", a->path, name);
	else
		err = gwa_fail(a, rc, "looking up the account");
	sqlu_done(st);
	pthread_mutex_unlock(&a->db_lock);
	return err;
}

/* One row of the list as {name, rpm, tpm, created, revoked}, checked as
 * gwa_row_account checks. */
static veil_err gwa_list_row(gw_accounts *a, sqlite3_stmt *st, json_t **out)
{
	const unsigned char *name = sqlite3_column_text(st, 0);
	int64_t rpm = sqlite3_column_int64(st, 1), tpm = sqlite3_column_int64(st, 2);
	bool is_revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;
	char created[21], revoked[21];

	ENSURE(name != NULL && gwa_name_valid((const char *)name) && rpm >= 0 &&
		   rpm <= UINT32_MAX && tpm >= 0 && tpm <= UINT32_MAX,
	       VEIL_E_MALFORMED, "accounts %s: an account has an invalid row", a->path);
	veil_time_format(sqlite3_column_int64(st, 3), created);
	if (is_revoked)
		veil_time_format(sqlite3_column_int64(st, 4), revoked);
	*out = json_pack("{s:s, s:I, s:I, s:s, s:o}", "name", (const char *)name, "rpm",
			 (json_int_t)rpm, "tpm", (json_int_t)tpm, "created", created, "revoked",
			 is_revoked ? json_string(revoked) : json_null());
	ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

veil_err gw_accounts_list(gw_accounts *a, json_t **out)
{
	sqlite3_stmt *st;
	json_t *list = NULL;
	veil_err err = VEIL_OK;
	int rc;

	ENSURE(out != NULL, VEIL_E_USAGE, "gw_accounts_list: no output given");
	*out = NULL;
	ENSURE(a != NULL, VEIL_E_USAGE, "gw_accounts_list: no accounts given");
	list = json_array();
	ENSURE(list != NULL, VEIL_E_NOMEM, "out of memory");
	pthread_mutex_lock(&a->db_lock);
	st = a->st[GWA_ACCT_LIST];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = NULL;
		CHECK(gwa_list_row(a, st, &row));
		CHECK_THAT(json_array_append_new(list, row) == 0, VEIL_E_NOMEM, "out of memory");
	}
	if (rc != SQLITE_DONE)
		err = gwa_fail(a, rc, "listing the accounts");
out:
	sqlu_done(st);
	pthread_mutex_unlock(&a->db_lock);
	if (err != VEIL_OK) {
		json_decref(list);
		return err;
	}
	*out = list;
	return VEIL_OK;
}

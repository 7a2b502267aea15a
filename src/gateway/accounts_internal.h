/*
 * accounts_internal.h - the state the accounts files share
 * (docs/gateway-accounts.md):
 *
 *   accounts.c        opening, the schema, create, revoke, list, find
 *   accounts_auth.c   the Authorization header and the key cache
 *   accounts_limit.c  the request and token buckets
 *   accounts_meter.c  the usage counters and flushing them
 *   accounts_usage.c  one account's usage, stored and not yet flushed
 *
 * Locks, each guarding its own part so that the per-request calls never
 * wait for disk: `db` serialises every use of the connection and its
 * statements (SQLITE_OPEN_NOMUTEX, as the key broker's store does), and is
 * held for a whole flush, so usage sees the counters either before or after
 * a flush, never half-way; `cache` guards the key cache, `limit` the
 * buckets and `meter` the counters. When two are held, `db` comes first.
 */
#ifndef VEIL_GATEWAY_ACCOUNTS_INTERNAL_H
#define VEIL_GATEWAY_ACCOUNTS_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "core/sqlite_util.h"
#include "gateway/accounts.h"

/* The statements run after open, prepared once. */
enum gwa_stmt {
	GWA_BEGIN,
	GWA_COMMIT,
	GWA_ROLLBACK,
	GWA_ACCT_INSERT,
	GWA_ACCT_REVOKE,
	GWA_ACCT_LIST,
	GWA_ACCT_BY_HASH,
	GWA_ACCT_BY_NAME,
	GWA_USAGE_ADD,
	GWA_USAGE_GET,
	GWA_STMT_COUNT_
};

/* What a key lookup found. */
enum gwa_key_state { GWA_KEY_FOUND, GWA_KEY_UNKNOWN, GWA_KEY_REVOKED };

/* One slot of the key cache (direct-mapped by the first bytes of the
 * key's hash). */
typedef struct gwa_cache_slot {
	uint8_t hash[32];
	int64_t expires_ms; /* monotonic clock */
	bool used;
	enum gwa_key_state state;
	gw_account acct;
} gwa_cache_slot;

/* An account's two buckets, in units of 1/60000 of a request or token,
 * so that a per-minute rate refills exactly `rate` units a millisecond. */
typedef struct gwa_bucket {
	int64_t id;
	int64_t req, tok;       /* levels; tok may be negative (debt) */
	int64_t req_ms, tok_ms; /* when each was last refilled */
} gwa_bucket;

/* One metering counter: the key and what was counted since the last
 * flush. */
typedef struct gwa_counter {
	int64_t account;
	int32_t day; /* days since 1970-01-01 UTC */
	uint8_t tier;
	char model[VEIL_GW_METER_MODEL_MAX + 1];
	uint64_t requests, ok, prompt_tokens, completion_tokens, receipts, opaque;
} gwa_counter;

struct gw_accounts {
	char *path; /* for messages */
	sqlite3 *db;
	sqlite3_stmt *st[GWA_STMT_COUNT_];
	pthread_mutex_t db_lock;

	pthread_mutex_t cache_lock;
	gwa_cache_slot *cache; /* VEIL_GW_AUTH_CACHE_SLOTS */
	int64_t cache_ms;
	uint64_t cache_gen; /* bumped by revoke: a lookup that raced it is not cached */

	pthread_mutex_t limit_lock;
	gwa_bucket *buckets; /* sorted by id */
	size_t nbuckets, bucket_cap;

	pthread_mutex_t meter_lock;
	gwa_counter *counters;
	size_t ncounters, counter_cap;
	uint32_t *slots; /* open addressing: counter index + 1, 0 for empty */
	size_t nslots;   /* a power of two, at least twice ncounters */
	uint64_t dropped;
};

extern const char *const gwa_sql[GWA_STMT_COUNT_];

/* What the accounts file is to core/sqlite_util.c: its messages, schema
 * steps and error mapping (accounts.c). */
extern const sqlu_kind gwa_kind;

/* A veil_err for a failed SQLite call, with SQLite's message; call with
 * `db` held (the message belongs to the connection). Statements are reset
 * with sqlu_done and transactions rolled back with sqlu_rollback
 * (core/sqlite_util.h). */
veil_err gwa_fail(gw_accounts *a, int rc, const char *what);
/* Runs a statement that returns no rows. */
VEIL_MUST_CHECK veil_err gwa_exec(gw_accounts *a, enum gwa_stmt which, const char *what);

/* [A-Za-z0-9._-]{1,64} */
bool gwa_name_valid(const char *name);
/* The row of the current step of a statement whose columns 0 to 3 are id,
 * name, rpm and tpm into *out, checked. */
VEIL_MUST_CHECK veil_err gwa_row_account(gw_accounts *a, sqlite3_stmt *st, gw_account *out);

/* "plain" and "confidential", by gw_tier. */
extern const char *const gwa_tier_names[2];
/* "YYYY-MM-DD" of a day number (days since 1970-01-01 UTC). */
void gwa_day_text(int32_t day, char out[11]);
/* 1 to VEIL_GW_METER_MODEL_MAX bytes of printable ASCII. */
bool gwa_model_valid(const char *m, size_t n);

/* Drops every cached entry of the account (accounts_auth.c). */
void gwa_cache_forget(gw_accounts *a, int64_t id);
/* Memory of the buckets and counters (accounts_limit.c, accounts_meter.c). */
void gwa_limit_clear(gw_accounts *a);
void gwa_meter_clear(gw_accounts *a);

#endif

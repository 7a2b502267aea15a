/*
 * accounts.h - API keys, per-key rate limits and usage metering for
 * veil-gateway (docs/gateway-accounts.md).
 *
 * An account is a name, two rate limits and one API key. The key exists in
 * clear only once, when it is created; the database keeps its SHA-256, so a
 * copy of the database lets nobody call the gateway. The gateway calls:
 *
 *   gw_accounts_auth    on every request: the account behind the
 *                       Authorization header (cached a few seconds)
 *   gw_accounts_allow   before routing: one request from the account's
 *                       request bucket, refused while its token bucket is
 *                       in debt
 *   gw_accounts_charge  after the answer: the tokens it used
 *   gw_accounts_meter   after the answer: one event into in-memory counters
 *   gw_accounts_flush   about once a second, from a background thread: the
 *                       counters into the database, one transaction
 *
 * The `veil gateway key` and `veil gateway usage` commands open the same
 * file from another process (SQLite WAL): a new key works at once, a
 * revoked one stops within VEIL_GW_AUTH_CACHE_S seconds.
 *
 * Every function is thread-safe. The file is split as accounts.c (opening,
 * the schema, creating, revoking, listing), accounts_auth.c (the header and
 * the cache), accounts_limit.c (the buckets), accounts_meter.c (the
 * counters, flushing) and accounts_usage.c (usage reports).
 */
#ifndef VEIL_GATEWAY_ACCOUNTS_H
#define VEIL_GATEWAY_ACCOUNTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/limits.h"

typedef struct gw_accounts gw_accounts;

/* The account behind an API key. */
typedef struct gw_account {
	int64_t id;
	char name[VEIL_GW_ACCOUNT_NAME_MAX + 1]; /* [A-Za-z0-9._-]{1,64} */
	uint32_t rpm;                            /* requests per minute; 0: unlimited */
	uint32_t tpm; /* tokens (prompt+completion) per minute; 0: unlimited */
} gw_account;

typedef enum gw_tier { GW_TIER_PLAIN = 0, GW_TIER_CONFIDENTIAL = 1 } gw_tier;

typedef struct gw_usage_event {
	int64_t account;
	const char *model; /* as routed; at most 128 bytes of printable ASCII, else "(other)" */
	gw_tier tier;
	/* 0 when unknown (OHTTP: the gateway cannot read them) */
	uint64_t prompt_tokens, completion_tokens;
	bool ok; /* the worker answered 2xx */
	bool
	    receipt; /* the answer carried a receipt that verified against the worker's attested key */
	bool opaque; /* an OHTTP exchange: tokens unknown */
} gw_usage_event;

/* Opens (creating, mode 0600) the accounts database at path (SQLite, WAL). */
VEIL_MUST_CHECK veil_err gw_accounts_open(const char *path, gw_accounts **out);
/* Flushes first (a failure there loses what was not flushed: call
 * gw_accounts_flush before to see it); NULL is fine. */
void gw_accounts_close(gw_accounts *a);

/* Creates an account and its key. *key_out (free with veil_free_secret(key,
 * strlen(key))) is the only time the key exists in clear: "vk_" followed by
 * 43 base64url characters (32 random bytes). Only SHA-256 of the key is
 * stored. A name already in use (revoked accounts keep theirs):
 * VEIL_E_USAGE, as is a name outside [A-Za-z0-9._-]{1,64}. */
VEIL_MUST_CHECK veil_err gw_accounts_create(gw_accounts *a, const char *name, uint32_t rpm,
					    uint32_t tpm, char **key_out);
/* VEIL_E_NOT_FOUND if no such account; revoking twice is fine (the first
 * time is kept). Keys cached by this handle stop at once, by other
 * handles (the gateway, when the CLI revokes) within VEIL_GW_AUTH_CACHE_S. */
VEIL_MUST_CHECK veil_err gw_accounts_revoke(gw_accounts *a, const char *name);
/* [{name, rpm, tpm, created, revoked}] sorted by name; created and revoked
 * are RFC 3339 times, revoked null while the key works. Never the key hash. */
VEIL_MUST_CHECK veil_err gw_accounts_list(gw_accounts *a, json_t **out);
/* The account of that name, revoked or not (for usage by name).
 * VEIL_E_NOT_FOUND if none. */
VEIL_MUST_CHECK veil_err gw_accounts_find(gw_accounts *a, const char *name, gw_account *out);

/* The account of an Authorization header value ("Bearer vk_..."). VEIL_E_USAGE: missing or not
 * Bearer / not a vk_ key (the detail says which); VEIL_E_NOT_FOUND: unknown or revoked key;
 * VEIL_E_IO and others: the database failed. Thread-safe and cheap: a small in-memory cache
 * keyed by the key's hash, entries valid for VEIL_GW_AUTH_CACHE_S seconds, so a revocation
 * takes effect within that. Hashes are compared in constant time. The detail never holds the
 * key. */
VEIL_MUST_CHECK veil_err gw_accounts_auth(gw_accounts *a, const char *authorization,
					  gw_account *out);

/* Rate limits: token buckets per account in memory (requests per minute
 * and tokens per minute, burst = the per-minute figure / 6 rounded up, at
 * least 1; a new bucket starts full). allow takes one request from the
 * bucket at now_ms; false with *retry_after_s (>= 1; may be NULL) when it
 * is empty, or when the token bucket is in debt. charge takes n tokens
 * after the answer (the token bucket may go negative: the next requests
 * wait). A clock that goes back refills nothing. Thread-safe. */
bool gw_accounts_allow(gw_accounts *a, const gw_account *acct, int64_t now_ms,
		       unsigned *retry_after_s);
void gw_accounts_charge(gw_accounts *a, const gw_account *acct, uint64_t tokens, int64_t now_ms);

/* Metering: adds one event to in-memory counters per (account, model, tier, UTC day): requests,
 * ok, prompt_tokens, completion_tokens, receipts, opaque. Thread-safe and cheap (a mutex and a
 * hash table; no I/O). flush writes the counters accumulated since the last flush to SQLite in
 * one transaction (adding to the stored totals of each day "YYYY-MM-DD" UTC); a failed flush
 * keeps them for the next one (nothing is lost or counted twice). */
void gw_accounts_meter(gw_accounts *a, const gw_usage_event *e);
VEIL_MUST_CHECK veil_err gw_accounts_flush(gw_accounts *a);
/* The usage of one account (stored totals plus what is not flushed yet):
 * {"object": "usage", "account": name, "data": [{"model", "tier": "confidential"|"plain", "day",
 *   "requests", "ok", "prompt_tokens", "completion_tokens", "total_tokens", "receipts",
 *   "opaque"}]} sorted by day, model, tier. */
VEIL_MUST_CHECK veil_err gw_accounts_usage(gw_accounts *a, const gw_account *acct, json_t **out);

/* Events meter could not count since open (out of memory, or past every
 * cap); the gateway may report it. */
uint64_t gw_accounts_meter_dropped(gw_accounts *a);

/* For tests. How long looked-up keys stay cached (default
 * VEIL_GW_AUTH_CACHE_S seconds; 0: not at all). */
void gw_accounts_set_auth_cache_ms(gw_accounts *a, int64_t ms);
/* gw_accounts_meter with the time (Unix seconds) given, for the day. */
void gw_accounts_meter_at(gw_accounts *a, const gw_usage_event *e, int64_t now_s);

#endif

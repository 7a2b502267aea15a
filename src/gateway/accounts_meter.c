/*
 * accounts_meter.c - usage metering: counters per account, UTC day, model
 * and tier in memory, added to the database's totals about once a second.
 *
 * gw_accounts_meter runs on every request, so it takes one mutex, hashes
 * its key (FNV-1a, open addressing with linear probing in a table at most
 * half full) and adds; it never touches the disk. The day is the event's,
 * not the flush's, so a request at 23:59:59.9 counts on its own day.
 *
 * Flushing without losing or double-counting: under `db` (so usage never
 * sees a flush half-way) the counters are copied, the copy is written in
 * one transaction, and only when COMMIT succeeded is the copy subtracted
 * from the live counters, which meanwhile kept counting. A failed flush
 * rolls back and subtracts nothing: the counts wait for the next one.
 * Counters left at zero are then dropped, so the table holds only what is
 * not yet stored.
 *
 * Bounds: a model name is printable ASCII of at most
 * VEIL_GW_METER_MODEL_MAX bytes, else it counts as "(other)" ("(none)"
 * when absent); past VEIL_GW_METER_KEYS_MAX counters new models count as
 * "(other)" too. One event's tokens are capped at VEIL_GW_CHARGE_TOKENS_MAX
 * and every sum saturates at INT64_MAX, what SQLite's INTEGER holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/accounts_internal.h"

#define GWA_COUNT_MAX ((uint64_t)INT64_MAX)
/* 9999-12-31T23:59:59Z */
#define GWA_LAST_SECOND 253402300799LL

const char *const gwa_tier_names[2] = {
    [GW_TIER_PLAIN] = "plain", [GW_TIER_CONFIDENTIAL] = "confidential"};

static uint64_t gwa_sat_add(uint64_t x, uint64_t y)
{
	return y > GWA_COUNT_MAX - x ? GWA_COUNT_MAX : x + y;
}

bool gwa_model_valid(const char *m, size_t n)
{
	if (n == 0 || n > VEIL_GW_METER_MODEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] > 0x7e)
			return false;
	return true;
}

static uint64_t gwa_hash(int64_t account, int32_t day, uint8_t tier, const char *model)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
	uint8_t k[13];

	for (int i = 0; i < 8; i++)
		k[i] = (uint8_t)((uint64_t)account >> (8 * i));
	for (int i = 0; i < 4; i++)
		k[8 + i] = (uint8_t)((uint32_t)day >> (8 * i));
	k[12] = tier;
	for (size_t i = 0; i < sizeof k; i++)
		h = (h ^ k[i]) * 0x100000001b3ULL;
	for (; *model != 0; model++)
		h = (h ^ (uint8_t)*model) * 0x100000001b3ULL;
	return h;
}

/* Puts counter i into the slots (there is room). */
static void gwa_slot_put(gw_accounts *a, size_t i)
{
	const gwa_counter *c = &a->counters[i];
	size_t s = gwa_hash(c->account, c->day, c->tier, c->model) & (a->nslots - 1);

	while (a->slots[s] != 0)
		s = (s + 1) & (a->nslots - 1);
	a->slots[s] = (uint32_t)(i + 1);
}

static void gwa_reindex(gw_accounts *a)
{
	memset(a->slots, 0, a->nslots * sizeof *a->slots);
	for (size_t i = 0; i < a->ncounters; i++)
		gwa_slot_put(a, i);
}

/* Room for one more counter; false when out of memory. */
static bool gwa_reserve(gw_accounts *a)
{
	if (a->ncounters == a->counter_cap) {
		size_t cap = a->counter_cap ? a->counter_cap * 2 : 16;
		gwa_counter *p = realloc(a->counters, cap * sizeof *p);
		if (p == NULL)
			return false;
		a->counters = p;
		a->counter_cap = cap;
	}
	if ((a->ncounters + 1) * 2 > a->nslots) {
		size_t n = a->nslots ? a->nslots * 2 : 32;
		uint32_t *p = calloc(n, sizeof *p);
		if (p == NULL)
			return false;
		free(a->slots);
		a->slots = p;
		a->nslots = n;
		gwa_reindex(a);
	}
	return true;
}

/* The counter of this key, made when missing and `make`; NULL when not
 * found or out of memory. Call with `meter` held. */
static gwa_counter *gwa_counter_get(gw_accounts *a, int64_t account, int32_t day, uint8_t tier,
				    const char *model, bool make)
{
	gwa_counter *c;
	size_t s;

	if (a->nslots > 0) {
		s = gwa_hash(account, day, tier, model) & (a->nslots - 1);
		for (; a->slots[s] != 0; s = (s + 1) & (a->nslots - 1)) {
			c = &a->counters[a->slots[s] - 1];
			if (c->account == account && c->day == day && c->tier == tier &&
			    strcmp(c->model, model) == 0)
				return c;
		}
	}
	if (!make || !gwa_reserve(a))
		return NULL;
	c = &a->counters[a->ncounters];
	memset(c, 0, sizeof *c);
	c->account = account;
	c->day = day;
	c->tier = tier;
	snprintf(c->model, sizeof c->model, "%s", model);
	gwa_slot_put(a, a->ncounters++);
	return c;
}

void gw_accounts_meter_at(gw_accounts *a, const gw_usage_event *e, int64_t now_s)
{
	const char *model = "(none)";
	/* Days of years 1970 to 9999, what "YYYY-MM-DD" can say. */
	int64_t t = now_s < 0 ? 0 : now_s > GWA_LAST_SECOND ? GWA_LAST_SECOND : now_s;
	int32_t day = (int32_t)(t / 86400);
	uint8_t tier;
	gwa_counter *c;

	if (a == NULL || e == NULL)
		return;
	tier = e->tier == GW_TIER_CONFIDENTIAL ? GW_TIER_CONFIDENTIAL : GW_TIER_PLAIN;
	if (e->model != NULL && e->model[0] != 0)
		model = gwa_model_valid(e->model, strnlen(e->model, VEIL_GW_METER_MODEL_MAX + 1))
			    ? e->model
			    : "(other)";
	pthread_mutex_lock(&a->meter_lock);
	c = gwa_counter_get(a, e->account, day, tier, model, a->ncounters < VEIL_GW_METER_KEYS_MAX);
	if (c == NULL) /* a new model past the cap */
		c = gwa_counter_get(a, e->account, day, tier, "(other)",
				    a->ncounters < 2 * VEIL_GW_METER_KEYS_MAX);
	if (c == NULL) {
		a->dropped++;
	} else {
		uint64_t p = e->prompt_tokens, q = e->completion_tokens;
		p = p > VEIL_GW_CHARGE_TOKENS_MAX ? VEIL_GW_CHARGE_TOKENS_MAX : p;
		q = q > VEIL_GW_CHARGE_TOKENS_MAX ? VEIL_GW_CHARGE_TOKENS_MAX : q;
		c->requests = gwa_sat_add(c->requests, 1);
		c->ok = gwa_sat_add(c->ok, e->ok);
		c->prompt_tokens = gwa_sat_add(c->prompt_tokens, p);
		c->completion_tokens = gwa_sat_add(c->completion_tokens, q);
		c->receipts = gwa_sat_add(c->receipts, e->receipt);
		c->opaque = gwa_sat_add(c->opaque, e->opaque);
	}
	pthread_mutex_unlock(&a->meter_lock);
}

void gw_accounts_meter(gw_accounts *a, const gw_usage_event *e)
{
	gw_accounts_meter_at(a, e, (int64_t)time(NULL));
}

uint64_t gw_accounts_meter_dropped(gw_accounts *a)
{
	uint64_t n;

	if (a == NULL)
		return 0;
	pthread_mutex_lock(&a->meter_lock);
	n = a->dropped;
	pthread_mutex_unlock(&a->meter_lock);
	return n;
}

void gwa_day_text(int32_t day, char out[11])
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	/* Days come from time() (or a test): years 1970 to 9999 fit. */
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
		memcpy(out, "0000-00-00", 11);
}

static veil_err gwa_write(gw_accounts *a, const gwa_counter *c)
{
	sqlite3_stmt *st = a->st[GWA_USAGE_ADD];
	char day[11];
	int rc;

	gwa_day_text(c->day, day);
	sqlite3_bind_int64(st, 1, c->account);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->model, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, gwa_tier_names[c->tier], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)c->requests);
	sqlite3_bind_int64(st, 6, (int64_t)c->ok);
	sqlite3_bind_int64(st, 7, (int64_t)c->prompt_tokens);
	sqlite3_bind_int64(st, 8, (int64_t)c->completion_tokens);
	sqlite3_bind_int64(st, 9, (int64_t)c->receipts);
	sqlite3_bind_int64(st, 10, (int64_t)c->opaque);
	rc = sqlite3_step(st);
	sqlu_done(st);
	return rc == SQLITE_DONE ? VEIL_OK : gwa_fail(a, rc, "adding usage");
}

/* After a committed flush: takes the stored counts off the live counters
 * (snap[i] was counters[i]) and drops the counters left at zero. */
static void gwa_settle(gw_accounts *a, const gwa_counter *snap, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		gwa_counter *c = &a->counters[i];
		c->requests -= snap[i].requests;
		c->ok -= snap[i].ok;
		c->prompt_tokens -= snap[i].prompt_tokens;
		c->completion_tokens -= snap[i].completion_tokens;
		c->receipts -= snap[i].receipts;
		c->opaque -= snap[i].opaque;
	}
	for (size_t i = 0; i < a->ncounters; i++) {
		const gwa_counter *c = &a->counters[i];
		if ((c->requests | c->ok | c->prompt_tokens | c->completion_tokens | c->receipts |
		     c->opaque) == 0)
			continue;
		if (i != j)
			a->counters[j] = *c;
		j++;
	}
	if (j != a->ncounters) {
		a->ncounters = j;
		gwa_reindex(a);
	}
}

veil_err gw_accounts_flush(gw_accounts *a)
{
	gwa_counter *snap = NULL;
	veil_err err = VEIL_OK;
	size_t n;

	ENSURE(a != NULL, VEIL_E_USAGE, "gw_accounts_flush: no accounts given");
	pthread_mutex_lock(&a->db_lock);
	pthread_mutex_lock(&a->meter_lock);
	n = a->ncounters;
	if (n > 0 && (snap = malloc(n * sizeof *snap)) != NULL)
		memcpy(snap, a->counters, n * sizeof *snap);
	pthread_mutex_unlock(&a->meter_lock);
	if (n == 0)
		goto out;
	CHECK_THAT(snap != NULL, VEIL_E_NOMEM, "accounts: out of memory flushing usage");
	CHECK(gwa_exec(a, GWA_BEGIN, "starting the usage transaction"));
	for (size_t i = 0; i < n && err == VEIL_OK; i++)
		err = gwa_write(a, &snap[i]);
	if (err == VEIL_OK)
		err = gwa_exec(a, GWA_COMMIT, "committing usage");
	if (err != VEIL_OK) {
		sqlu_rollback(a->st[GWA_ROLLBACK]);
		goto out;
	}
	pthread_mutex_lock(&a->meter_lock);
	gwa_settle(a, snap, n);
	pthread_mutex_unlock(&a->meter_lock);
out:
	pthread_mutex_unlock(&a->db_lock);
	free(snap);
	return err;
}

void gwa_meter_clear(gw_accounts *a)
{
	free(a->counters);
	free(a->slots);
	a->counters = NULL;
	a->slots = NULL;
	a->ncounters = a->counter_cap = a->nslots = 0;
}

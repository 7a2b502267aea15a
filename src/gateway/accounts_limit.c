/*
 * accounts_limit.c - per-account rate limits: two token buckets an
 * account, one for requests and one for tokens (prompt and completion),
 * both in memory (a restart starts every bucket full, which is at most
 * one burst more than the limit).
 *
 * A limit of R a minute refills R per 60 s and holds at most the burst,
 * R / 6 rounded up (at least 1): ten seconds' worth, so a client that was
 * idle may send a short burst but not a minute's worth at once. Levels are
 * kept in units of 1/60000 of a request or token, so that R a minute is
 * exactly R units a millisecond and the arithmetic stays in integers.
 *
 * The token bucket is charged after the answer, when the tokens are known,
 * and may go into debt: one long answer can use more than a burst. While
 * it is in debt, allow refuses, and retry_after says when the debt is
 * repaid. A request is taken only when both buckets allow it.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/accounts_internal.h"

/* Units of one request or token. */
#define GWA_UNIT 60000
/* The deepest debt kept (far beyond any real charge; it keeps the levels
 * away from the edge of int64_t). */
#define GWA_DEBT_FLOOR (-(INT64_MAX / 4))

static int64_t gwa_burst_units(uint32_t per_minute)
{
	uint64_t b = ((uint64_t)per_minute + 5) / 6;

	return (int64_t)(b > 0 ? b : 1) * GWA_UNIT;
}

/* Adds what per_minute refilled between *last_ms and now_ms, up to the
 * burst. A clock that went back refills nothing and moves nothing. */
static void gwa_refill(int64_t *level, int64_t *last_ms, int64_t now_ms, uint32_t per_minute)
{
	int64_t cap = gwa_burst_units(per_minute);

	if (now_ms > *last_ms) {
		uint64_t elapsed = (uint64_t)now_ms - (uint64_t)*last_ms;
		if (*level < cap) {
			/* (cap - level) / rate ms fill it: compare before
			 * multiplying, so nothing overflows. */
			uint64_t room = (uint64_t)(cap - *level);
			if (elapsed >= room / per_minute + 1)
				*level = cap;
			else
				*level += (int64_t)(elapsed * per_minute);
		}
		*last_ms = now_ms;
	}
	if (*level > cap) /* the limit was lowered */
		*level = cap;
}

/* ceil(units / rate) ms, in whole seconds rounded up. */
static uint64_t gwa_wait_s(int64_t units, uint32_t per_minute)
{
	uint64_t ms = ((uint64_t)units + per_minute - 1) / per_minute;

	return (ms + 999) / 1000;
}

/* The account's buckets, made full at now_ms the first time; NULL when
 * out of memory. Call with `limit` held. */
static gwa_bucket *gwa_bucket_get(gw_accounts *a, const gw_account *acct, int64_t now_ms)
{
	size_t lo = 0, hi = a->nbuckets;
	gwa_bucket *b;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->buckets[mid].id == acct->id)
			return &a->buckets[mid];
		if (a->buckets[mid].id < acct->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (a->nbuckets == a->bucket_cap) {
		size_t cap = a->bucket_cap ? a->bucket_cap * 2 : 16;
		gwa_bucket *p = realloc(a->buckets, cap * sizeof *p);
		if (p == NULL)
			return NULL;
		a->buckets = p;
		a->bucket_cap = cap;
	}
	/* Accounts are few and made by an operator: a sorted array keeps
	 * lookups at log n and insertion costs nothing that matters. */
	memmove(&a->buckets[lo + 1], &a->buckets[lo], (a->nbuckets - lo) * sizeof *b);
	a->nbuckets++;
	b = &a->buckets[lo];
	b->id = acct->id;
	b->req = gwa_burst_units(acct->rpm);
	b->tok = gwa_burst_units(acct->tpm);
	b->req_ms = b->tok_ms = now_ms;
	return b;
}

bool gw_accounts_allow(gw_accounts *a, const gw_account *acct, int64_t now_ms,
		       unsigned *retry_after_s)
{
	uint64_t wait = 0;
	gwa_bucket *b;

	if (retry_after_s != NULL)
		*retry_after_s = 0;
	if (a == NULL || acct == NULL)
		return false;
	if (acct->rpm == 0 && acct->tpm == 0)
		return true;
	pthread_mutex_lock(&a->limit_lock);
	b = gwa_bucket_get(a, acct, now_ms);
	if (b == NULL) {
		/* Fail closed: a limit that cannot be kept refuses. */
		pthread_mutex_unlock(&a->limit_lock);
		if (retry_after_s != NULL)
			*retry_after_s = 1;
		return false;
	}
	if (acct->tpm != 0) {
		gwa_refill(&b->tok, &b->tok_ms, now_ms, acct->tpm);
		if (b->tok < 0)
			wait = gwa_wait_s(-b->tok, acct->tpm);
	}
	if (acct->rpm != 0) {
		gwa_refill(&b->req, &b->req_ms, now_ms, acct->rpm);
		if (b->req < GWA_UNIT) {
			uint64_t w = gwa_wait_s(GWA_UNIT - b->req, acct->rpm);
			wait = w > wait ? w : wait;
		}
	}
	if (wait == 0 && acct->rpm != 0)
		b->req -= GWA_UNIT;
	pthread_mutex_unlock(&a->limit_lock);
	if (wait == 0)
		return true;
	if (retry_after_s != NULL)
		*retry_after_s = wait > 86400 ? 86400 : (unsigned)wait; /* a day at most */
	return false;
}

void gw_accounts_charge(gw_accounts *a, const gw_account *acct, uint64_t tokens, int64_t now_ms)
{
	gwa_bucket *b;
	int64_t units;

	if (a == NULL || acct == NULL || acct->tpm == 0 || tokens == 0)
		return;
	if (tokens > VEIL_GW_CHARGE_TOKENS_MAX)
		tokens = VEIL_GW_CHARGE_TOKENS_MAX;
	units = (int64_t)tokens * GWA_UNIT;
	pthread_mutex_lock(&a->limit_lock);
	b = gwa_bucket_get(a, acct, now_ms);
	if (b != NULL) {
		gwa_refill(&b->tok, &b->tok_ms, now_ms, acct->tpm);
		b->tok = b->tok - units < GWA_DEBT_FLOOR ? GWA_DEBT_FLOOR : b->tok - units;
	}
	pthread_mutex_unlock(&a->limit_lock);
}

void gwa_limit_clear(gw_accounts *a)
{
	free(a->buckets);
	a->buckets = NULL;
	a->nbuckets = a->bucket_cap = 0;
}

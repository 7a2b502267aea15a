/*
 * accounts_usage.c - one account's usage as the gateway serves it and
 * `veil gateway usage` prints it (docs/gateway-accounts.md "Usage"): the
 * stored totals of each day, model and tier, plus what is counted in
 * memory and not flushed yet, so a client sees its last request at once.
 *
 * Both are read under `db`, which a flush holds from its copy of the
 * counters to their subtraction after COMMIT: a report sees every count
 * once, whether it is stored or still in memory. Rows read from the file
 * are checked as the schema's CHECKs say they must be; a row that is not
 * is refused (fail closed) rather than reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/accounts_internal.h"

#define GWA_COUNT_MAX ((uint64_t)INT64_MAX)

typedef struct gwa_row {
	char day[11];
	char model[VEIL_GW_METER_MODEL_MAX + 1];
	uint8_t tier;
	uint64_t n[6]; /* requests, ok, prompt, completion, receipts, opaque */
} gwa_row;

typedef struct gwa_rows {
	gwa_row *v;
	size_t n, cap;
} gwa_rows;

/* A new row (counts zero) at the end; NULL out of memory. Rows of the
 * same key are merged after sorting (gwa_rows_merge), so adding stays
 * O(1) however many days and models an account has. */
static gwa_row *gwa_rows_add(gwa_rows *r, const char *day, const char *model, uint8_t tier)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		gwa_row *p = realloc(r->v, cap * sizeof *p);
		if (p == NULL)
			return NULL;
		r->v = p;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof r->v[r->n]);
	snprintf(r->v[r->n].day, sizeof r->v[r->n].day, "%s", day);
	snprintf(r->v[r->n].model, sizeof r->v[r->n].model, "%s", model);
	r->v[r->n].tier = tier;
	return &r->v[r->n++];
}

static void gwa_row_add(gwa_row *row, const uint64_t n[6])
{
	for (int i = 0; i < 6; i++)
		row->n[i] = n[i] > GWA_COUNT_MAX - row->n[i] ? GWA_COUNT_MAX : row->n[i] + n[i];
}

/* One stored row into r, checked. */
static veil_err gwa_rows_stored(gw_accounts *a, sqlite3_stmt *st, gwa_rows *r)
{
	const char *day = (const char *)sqlite3_column_text(st, 0);
	const char *model = (const char *)sqlite3_column_text(st, 1);
	const char *tier = (const char *)sqlite3_column_text(st, 2);
	uint64_t n[6];
	gwa_row *row;
	int t = -1;

	for (int i = 0; i < 2 && tier != NULL; i++)
		if (strcmp(tier, gwa_tier_names[i]) == 0)
			t = i;
	ENSURE(day != NULL && strlen(day) == 10 && model != NULL &&
		   gwa_model_valid(model, strlen(model)) && t >= 0,
	       VEIL_E_MALFORMED, "accounts %s: a usage row has an invalid day, model or tier",
	       a->path);
	for (int i = 0; i < 6; i++) {
		int64_t v = sqlite3_column_int64(st, 3 + i);
		ENSURE(v >= 0, VEIL_E_MALFORMED, "accounts %s: a usage row has a negative count",
		       a->path);
		n[i] = (uint64_t)v;
	}
	row = gwa_rows_add(r, day, model, (uint8_t)t);
	ENSURE(row != NULL, VEIL_E_NOMEM, "out of memory");
	gwa_row_add(row, n);
	return VEIL_OK;
}

/* The live counters of the account into r. Call with `db` held. */
static veil_err gwa_rows_live(gw_accounts *a, int64_t account, gwa_rows *r)
{
	veil_err err = VEIL_OK;

	pthread_mutex_lock(&a->meter_lock);
	for (size_t i = 0; i < a->ncounters && err == VEIL_OK; i++) {
		const gwa_counter *c = &a->counters[i];
		uint64_t n[6] = {c->requests,          c->ok,       c->prompt_tokens,
				 c->completion_tokens, c->receipts, c->opaque};
		char day[11];
		gwa_row *row;
		if (c->account != account)
			continue;
		gwa_day_text(c->day, day);
		row = gwa_rows_add(r, day, c->model, c->tier);
		if (row == NULL)
			err = veil_fail(VEIL_E_NOMEM, "out of memory");
		else
			gwa_row_add(row, n);
	}
	pthread_mutex_unlock(&a->meter_lock);
	return err;
}

static int gwa_row_cmp(const void *x, const void *y)
{
	const gwa_row *p = x, *q = y;
	int c = strcmp(p->day, q->day);

	if (c == 0)
		c = strcmp(p->model, q->model);
	if (c == 0)
		c = strcmp(gwa_tier_names[p->tier], gwa_tier_names[q->tier]);
	return c;
}

/* Sorts the rows and adds up those of one key (a stored total and its
 * unflushed counts) into one. */
static void gwa_rows_merge(gwa_rows *r)
{
	size_t j = 0;

	if (r->n < 2)
		return;
	qsort(r->v, r->n, sizeof *r->v, gwa_row_cmp);
	for (size_t i = 1; i < r->n; i++) {
		if (gwa_row_cmp(&r->v[j], &r->v[i]) == 0)
			gwa_row_add(&r->v[j], r->v[i].n);
		else
			r->v[++j] = r->v[i];
	}
	r->n = j + 1;
}

static json_t *gwa_row_json(const gwa_row *r)
{
	uint64_t total = r->n[2] > GWA_COUNT_MAX - r->n[3] ? GWA_COUNT_MAX : r->n[2] + r->n[3];

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "model", r->model,
			 "tier", gwa_tier_names[r->tier], "day", r->day, "requests",
			 (json_int_t)r->n[0], "ok", (json_int_t)r->n[1], "prompt_tokens",
			 (json_int_t)r->n[2], "completion_tokens", (json_int_t)r->n[3],
			 "total_tokens", (json_int_t)total, "receipts", (json_int_t)r->n[4],
			 "opaque", (json_int_t)r->n[5]);
}

veil_err gw_accounts_usage(gw_accounts *a, const gw_account *acct, json_t **out)
{
	gwa_rows rows = {0};
	json_t *data = NULL, *doc = NULL;
	sqlite3_stmt *st;
	veil_err err = VEIL_OK;
	int rc = SQLITE_DONE;

	ENSURE(out != NULL, VEIL_E_USAGE, "gw_accounts_usage: no output given");
	*out = NULL;
	ENSURE(a != NULL && acct != NULL && gwa_name_valid(acct->name), VEIL_E_USAGE,
	       "gw_accounts_usage: no account given");
	pthread_mutex_lock(&a->db_lock);
	st = a->st[GWA_USAGE_GET];
	sqlite3_bind_int64(st, 1, acct->id);
	while (err == VEIL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = gwa_rows_stored(a, st, &rows);
	if (err == VEIL_OK && rc != SQLITE_DONE)
		err = gwa_fail(a, rc, "reading usage");
	sqlu_done(st);
	if (err == VEIL_OK)
		err = gwa_rows_live(a, acct->id, &rows);
	pthread_mutex_unlock(&a->db_lock);
	CHECK(err);
	gwa_rows_merge(&rows);
	data = json_array();
	CHECK_THAT(data != NULL, VEIL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < rows.n; i++)
		CHECK_THAT(json_array_append_new(data, gwa_row_json(&rows.v[i])) == 0, VEIL_E_NOMEM,
			   "out of memory");
	doc = json_pack("{s:s, s:s, s:O}", "object", "usage", "account", acct->name, "data", data);
	CHECK_THAT(doc != NULL, VEIL_E_NOMEM, "out of memory");
	*out = doc;
out:
	json_decref(data);
	free(rows.v);
	return err;
}

/*
 * test_gateway_metering.c - veil-gateway's per-key rate limits and usage
 * metering (src/gateway/accounts.h, docs/gateway-accounts.md): both
 * buckets with the time passed in (bursts, refill, a clock that goes back,
 * token debt and the wait it makes), metering from several threads while
 * a flusher runs against the usage totals before and after flushes and
 * after reopening, usage rows by day, model and tier, and a flush that
 * fails and loses nothing.
 */
#include <pthread.h>

#include "test_gateway_accounts_util.h"

TEST(rate_requests)
{
	gw_accounts *a = NULL;
	gw_account acct = {.id = 7, .name = "r", .rpm = 60, .tpm = 0};
	gw_account one = {.id = 8, .name = "o", .rpm = 1};
	gw_account seven = {.id = 9, .name = "s", .rpm = 7};
	gw_account free_acct = {.id = 10, .name = "f"};
	gw_account huge = {.id = 11, .name = "h", .rpm = UINT32_MAX, .tpm = UINT32_MAX};
	int64_t t = 1000000;
	unsigned retry = 0;
	int n;
	acct_fx f;

	REQUIRE(fx_open(&f));
	a = f.a;
	/* 60 a minute: a burst of 10, then one a second. */
	for (n = 0; n < 100 && gw_accounts_allow(a, &acct, t, &retry); n++)
		EXPECT(retry == 0);
	EXPECT(n == 10);
	EXPECT(retry == 1);
	EXPECT(!gw_accounts_allow(a, &acct, t + 999, &retry) && retry == 1);
	EXPECT(gw_accounts_allow(a, &acct, t + 1000, &retry));
	EXPECT(!gw_accounts_allow(a, &acct, t + 1000, &retry));
	/* A clock that goes back refills nothing. */
	EXPECT(!gw_accounts_allow(a, &acct, t - 60000, &retry));
	EXPECT(!gw_accounts_allow(a, &acct, t + 1500, &retry));
	/* A long pause refills the burst, not more. */
	for (n = 0; n < 100 && gw_accounts_allow(a, &acct, t + 3600000, &retry); n++)
		;
	EXPECT(n == 10);
	/* 1 a minute: one, then a minute's wait. */
	EXPECT(gw_accounts_allow(a, &one, t, &retry));
	EXPECT(!gw_accounts_allow(a, &one, t, &retry) && retry == 60);
	EXPECT(!gw_accounts_allow(a, &one, t + 30000, &retry) && retry == 30);
	EXPECT(gw_accounts_allow(a, &one, t + 60000, &retry));
	/* 7 a minute: a burst of ceil(7 / 6) = 2. */
	EXPECT(gw_accounts_allow(a, &seven, t, NULL));
	EXPECT(gw_accounts_allow(a, &seven, t, NULL));
	EXPECT(!gw_accounts_allow(a, &seven, t, &retry));
	EXPECT(retry == 9); /* 60000 / 7 ms, rounded up to seconds */
	/* Unlimited, and the largest limits (no overflow). */
	for (n = 0; n < 1000; n++) {
		EXPECT(gw_accounts_allow(a, &free_acct, t, &retry));
		EXPECT(gw_accounts_allow(a, &huge, t, &retry));
	}
	EXPECT(gw_accounts_allow(a, &huge, INT64_MAX, &retry));
	EXPECT(!gw_accounts_allow(NULL, &acct, t, &retry));
	EXPECT(!gw_accounts_allow(a, NULL, t, &retry));
	fx_done(&f);
}

TEST(rate_tokens)
{
	gw_account acct = {.id = 3, .name = "t", .rpm = 6000, .tpm = 600};
	gw_account both = {.id = 4, .name = "b", .rpm = 6, .tpm = 60};
	int64_t t = 5000000;
	unsigned retry = 0;
	acct_fx f;

	REQUIRE(fx_open(&f));
	/* 600 a minute: a burst of 100 tokens; 1000 used puts it 900 in
	 * debt, repaid at 10 a second: 90 s. */
	EXPECT(gw_accounts_allow(f.a, &acct, t, &retry));
	gw_accounts_charge(f.a, &acct, 1000, t);
	EXPECT(!gw_accounts_allow(f.a, &acct, t, &retry));
	EXPECT(retry == 90);
	EXPECT(!gw_accounts_allow(f.a, &acct, t + 89000, &retry) && retry == 1);
	EXPECT(gw_accounts_allow(f.a, &acct, t + 90000, &retry));
	/* Not in debt: any number of requests (up to rpm) while the level
	 * is at or above zero. */
	EXPECT(gw_accounts_allow(f.a, &acct, t + 90000, &retry));
	gw_accounts_charge(f.a, &acct, 1, t + 90000);
	EXPECT(!gw_accounts_allow(f.a, &acct, t + 90000, &retry) && retry == 1);
	/* A refused request takes nothing from the request bucket: with 6
	 * a minute (burst 1) and the tokens in debt, the one request is
	 * still there once the debt is repaid. */
	gw_accounts_charge(f.a, &both, 70, t); /* burst 10: 60 in debt, 60 s */
	EXPECT(!gw_accounts_allow(f.a, &both, t, &retry) && retry == 60);
	EXPECT(!gw_accounts_allow(f.a, &both, t + 30000, &retry) && retry == 30);
	EXPECT(gw_accounts_allow(f.a, &both, t + 60000, &retry));
	EXPECT(!gw_accounts_allow(f.a, &both, t + 60000, &retry) && retry == 10);
	/* A charge past every cap stays bounded, and so does the wait. */
	gw_accounts_charge(f.a, &acct, UINT64_MAX, t + 100000);
	gw_accounts_charge(f.a, &acct, UINT64_MAX, t + 100000);
	EXPECT(!gw_accounts_allow(f.a, &acct, t + 100000, &retry));
	EXPECT(retry >= 1 && retry <= 86400);
	/* No token limit: charges change nothing. */
	gw_account rpm_only = {.id = 5, .name = "p", .rpm = 60};
	gw_accounts_charge(f.a, &rpm_only, 1000000, t);
	EXPECT(gw_accounts_allow(f.a, &rpm_only, t, &retry));
	gw_accounts_charge(NULL, &acct, 1, t);
	gw_accounts_charge(f.a, NULL, 1, t);
	fx_done(&f);
}

/* Metering from several threads at once, with a flusher running. */
typedef struct meter_job {
	gw_accounts *a;
	int64_t account;
	int which;
} meter_job;

enum { METER_THREADS = 4, METER_EVENTS = 1000 };

static void *meter_thread(void *arg)
{
	meter_job *j = arg;

	for (int i = 0; i < METER_EVENTS; i++) {
		gw_usage_event e = {
		    .account = j->account,
		    .model = i % 2 ? "llama-3-8b" : "qwen2-7b",
		    .tier = i % 3 == 0 ? GW_TIER_CONFIDENTIAL : GW_TIER_PLAIN,
		    .prompt_tokens = 3,
		    .completion_tokens = 5,
		    .ok = i % 4 != 0,
		    .receipt = i % 3 == 0,
		    .opaque = i % 5 == 0,
		};
		gw_accounts_meter(j->a, &e);
	}
	return NULL;
}

static void *flush_thread(void *arg)
{
	meter_job *j = arg;

	for (int i = 0; i < 20; i++) {
		if (gw_accounts_flush(j->a) != VEIL_OK)
			j->which = -1;
		usleep(2000);
	}
	return NULL;
}

/* The totals the threads make: 4000 requests, 3000 ok, 12000 prompt and
 * 20000 completion tokens, 1336 receipts (334 of each 1000), 800 opaque. */
static void expect_totals(gw_accounts *a, const gw_account *acct)
{
	EXPECT(usage_of(a, acct, "requests") == METER_THREADS * METER_EVENTS);
	EXPECT(usage_of(a, acct, "ok") == METER_THREADS * 750);
	EXPECT(usage_of(a, acct, "prompt_tokens") == METER_THREADS * METER_EVENTS * 3);
	EXPECT(usage_of(a, acct, "completion_tokens") == METER_THREADS * METER_EVENTS * 5);
	EXPECT(usage_of(a, acct, "total_tokens") == METER_THREADS * METER_EVENTS * 8);
	EXPECT(usage_of(a, acct, "receipts") == METER_THREADS * 334);
	EXPECT(usage_of(a, acct, "opaque") == METER_THREADS * 200);
}

TEST(meter_threads)
{
	pthread_t th[METER_THREADS + 1];
	meter_job jobs[METER_THREADS + 1];
	gw_account acct, other;
	char *key = NULL;
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "metered", 0, 0, &key));
	free_key(key);
	EXPECT_OK(gw_accounts_create(f.a, "other", 0, 0, &key));
	free_key(key);
	REQUIRE(gw_accounts_find(f.a, "metered", &acct) == VEIL_OK);
	REQUIRE(gw_accounts_find(f.a, "other", &other) == VEIL_OK);
	for (int i = 0; i <= METER_THREADS; i++) {
		jobs[i] = (meter_job){.a = f.a, .account = acct.id, .which = i};
		REQUIRE(pthread_create(&th[i], NULL,
				       i < METER_THREADS ? meter_thread : flush_thread,
				       &jobs[i]) == 0);
	}
	for (int i = 0; i <= METER_THREADS; i++)
		pthread_join(th[i], NULL);
	EXPECT(jobs[METER_THREADS].which != -1); /* every flush worked */
	expect_totals(f.a, &acct);
	/* Four rows: two models, two tiers, one day. */
	json_t *u = NULL;
	EXPECT_OK(gw_accounts_usage(f.a, &acct, &u));
	EXPECT(json_array_size(json_object_get(u, "data")) == 4);
	EXPECT(strcmp(json_string_value(json_object_get(u, "object")), "usage") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(u, "account")), "metered") == 0);
	json_decref(u);
	/* Flushed, flushed again: the same totals, stored once. */
	EXPECT_OK(gw_accounts_flush(f.a));
	expect_totals(f.a, &acct);
	EXPECT_OK(gw_accounts_flush(f.a));
	expect_totals(f.a, &acct);
	EXPECT(sql_int(f.path, "SELECT sum(requests) FROM gw_usage") == 4000);
	EXPECT(sql_int(f.path, "SELECT sum(prompt_tokens) FROM gw_usage") == 12000);
	/* The other account has none. */
	EXPECT(usage_of(f.a, &other, "requests") == 0);
	/* Reopened: the totals are still there. */
	gw_accounts_close(f.a);
	f.a = NULL;
	REQUIRE(gw_accounts_open(f.path, &f.a) == VEIL_OK);
	expect_totals(f.a, &acct);
	/* More after the reopen adds to them. */
	jobs[0].a = f.a;
	REQUIRE(pthread_create(&th[0], NULL, meter_thread, &jobs[0]) == 0);
	pthread_join(th[0], NULL);
	gw_accounts_close(f.a); /* close flushes */
	f.a = NULL;
	EXPECT(sql_int(f.path, "SELECT sum(requests) FROM gw_usage") == 5000);
	REQUIRE(gw_accounts_open(f.path, &f.a) == VEIL_OK);
	fx_done(&f);
}

TEST(usage_rows)
{
	gw_account acct;
	json_t *u = NULL, *data, *r;
	char *key = NULL, long_model[200];
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "rows", 0, 0, &key));
	free_key(key);
	REQUIRE(gw_accounts_find(f.a, "rows", &acct) == VEIL_OK);
	memset(long_model, 'm', sizeof long_model);
	long_model[VEIL_GW_METER_MODEL_MAX + 1] = 0;
	gw_usage_event e = {.account = acct.id, .model = "b", .tier = GW_TIER_PLAIN, .ok = true};
	/* Day 1 (1970-01-02) and day 0, models b and a, both tiers; stored
	 * and unflushed rows merge into one list. */
	gw_accounts_meter_at(f.a, &e, 86400 + 5);
	e.model = "a";
	gw_accounts_meter_at(f.a, &e, 86400 * 2 - 1);
	EXPECT_OK(gw_accounts_flush(f.a));
	e.tier = GW_TIER_CONFIDENTIAL;
	e.prompt_tokens = 10;
	e.completion_tokens = 20;
	e.receipt = true;
	gw_accounts_meter_at(f.a, &e, 86400 + 7);
	e.tier = GW_TIER_PLAIN;
	gw_accounts_meter_at(f.a, &e, 86400 + 9); /* adds to the stored a/plain row */
	e.model = long_model;                     /* over the cap: "(other)" */
	gw_accounts_meter_at(f.a, &e, 3);
	e.model = "bad\nname";
	gw_accounts_meter_at(f.a, &e, 4);
	e.model = NULL;
	gw_accounts_meter_at(f.a, &e, 5);
	long_model[VEIL_GW_METER_MODEL_MAX] = 0; /* at the cap: kept */
	e.model = long_model;
	gw_accounts_meter_at(f.a, &e, 6);
	EXPECT_OK(gw_accounts_usage(f.a, &acct, &u));
	data = json_object_get(u, "data");
	REQUIRE(json_array_size(data) == 6);
	/* Sorted by day, model, tier. */
	const char *want[6][3] = {
	    {"1970-01-01", "(none)", "plain"},   {"1970-01-01", "(other)", "plain"},
	    {"1970-01-01", long_model, "plain"}, {"1970-01-02", "a", "confidential"},
	    {"1970-01-02", "a", "plain"},        {"1970-01-02", "b", "plain"},
	};
	for (size_t i = 0; i < 6; i++) {
		r = json_array_get(data, i);
		EXPECT(strcmp(json_string_value(json_object_get(r, "day")), want[i][0]) == 0);
		EXPECT(strcmp(json_string_value(json_object_get(r, "model")), want[i][1]) == 0);
		EXPECT(strcmp(json_string_value(json_object_get(r, "tier")), want[i][2]) == 0);
		EXPECT(json_object_size(r) == 10);
	}
	/* (other) holds the two refused names. */
	EXPECT(json_integer_value(json_object_get(json_array_get(data, 1), "requests")) == 2);
	/* a/plain: one stored, one not yet. */
	r = json_array_get(data, 4);
	EXPECT(json_integer_value(json_object_get(r, "requests")) == 2);
	EXPECT(json_integer_value(json_object_get(r, "total_tokens")) == 30);
	EXPECT(json_integer_value(json_object_get(r, "receipts")) == 1);
	json_decref(u);
	EXPECT_ERR(gw_accounts_usage(f.a, NULL, &u), VEIL_E_USAGE);
	EXPECT_ERR(gw_accounts_usage(f.a, &acct, NULL), VEIL_E_USAGE);
	gw_accounts_meter(NULL, &e);
	gw_accounts_meter(f.a, NULL);
	EXPECT(gw_accounts_meter_dropped(f.a) == 0);
	fx_done(&f);
}

/* Past VEIL_GW_METER_KEYS_MAX counters between two flushes, new models
 * count as "(other)" and models already counted go on as they were;
 * after a flush the table is empty again. Days are clamped to what
 * "YYYY-MM-DD" can say. */
TEST(meter_caps)
{
	gw_account acct;
	char *key = NULL, model[32];
	json_t *u = NULL, *data, *r;
	size_t i;
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "many", 0, 0, &key));
	free_key(key);
	REQUIRE(gw_accounts_find(f.a, "many", &acct) == VEIL_OK);
	gw_usage_event e = {.account = acct.id, .model = model, .ok = true};
	for (i = 0; i < VEIL_GW_METER_KEYS_MAX; i++) {
		snprintf(model, sizeof model, "m%06zu", i);
		gw_accounts_meter_at(f.a, &e, 1000);
	}
	snprintf(model, sizeof model, "new-one");
	gw_accounts_meter_at(f.a, &e, 1000);
	gw_accounts_meter_at(f.a, &e, 1000);
	snprintf(model, sizeof model, "m%06d", 7);
	gw_accounts_meter_at(f.a, &e, 1000);
	EXPECT(gw_accounts_meter_dropped(f.a) == 0);
	EXPECT_OK(gw_accounts_usage(f.a, &acct, &u));
	data = json_object_get(u, "data");
	EXPECT(json_array_size(data) == VEIL_GW_METER_KEYS_MAX + 1);
	r = json_array_get(data, 0); /* "(other)" sorts first */
	EXPECT(strcmp(json_string_value(json_object_get(r, "model")), "(other)") == 0);
	EXPECT(json_integer_value(json_object_get(r, "requests")) == 2);
	r = json_array_get(data, 8);
	EXPECT(strcmp(json_string_value(json_object_get(r, "model")), "m000007") == 0);
	EXPECT(json_integer_value(json_object_get(r, "requests")) == 2);
	json_decref(u);
	EXPECT(usage_of(f.a, &acct, "requests") == VEIL_GW_METER_KEYS_MAX + 3);
	EXPECT_OK(gw_accounts_flush(f.a));
	EXPECT(sql_int(f.path, "SELECT count(*) FROM gw_usage") == VEIL_GW_METER_KEYS_MAX + 1);
	EXPECT(usage_of(f.a, &acct, "requests") == VEIL_GW_METER_KEYS_MAX + 3);
	/* Emptied by the flush: a new model is counted under its name. */
	snprintf(model, sizeof model, "new-two");
	gw_accounts_meter_at(f.a, &e, 1000);
	EXPECT_OK(gw_accounts_flush(f.a));
	EXPECT(sql_int(f.path, "SELECT requests FROM gw_usage WHERE model = 'new-two'") == 1);
	/* Times before 1970 and after 9999 land on the first and last day. */
	gw_accounts_meter_at(f.a, &e, -5);
	gw_accounts_meter_at(f.a, &e, INT64_MAX);
	EXPECT_OK(gw_accounts_flush(f.a));
	EXPECT(sql_int(f.path, "SELECT count(*) FROM gw_usage WHERE day = '9999-12-31'") == 1);
	EXPECT(sql_int(f.path, "SELECT sum(requests) FROM gw_usage WHERE day = '1970-01-01'") ==
	       VEIL_GW_METER_KEYS_MAX + 5);
	fx_done(&f);
}

/* A flush that fails (the file refuses the write: a trigger put in by
 * another connection) stores nothing and keeps every count; the next one
 * stores them once. */
TEST(flush_failure)
{
	gw_account acct;
	char *key = NULL;
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "ff", 0, 0, &key));
	free_key(key);
	REQUIRE(gw_accounts_find(f.a, "ff", &acct) == VEIL_OK);
	gw_usage_event e = {.account = acct.id, .model = "good", .prompt_tokens = 1};
	for (int i = 0; i < 5; i++)
		gw_accounts_meter(f.a, &e);
	EXPECT_OK(gw_accounts_flush(f.a));
	e.model = "later";
	for (int i = 0; i < 3; i++)
		gw_accounts_meter(f.a, &e);
	e.model = "good";
	gw_accounts_meter(f.a, &e);
	/* Only the row of "later" fails; "good" (an update) was written
	 * first in the same transaction and must roll back with it. */
	REQUIRE(sql_run(f.path, "CREATE TRIGGER no_later BEFORE INSERT ON gw_usage "
				"WHEN NEW.model = 'later' BEGIN SELECT RAISE(ABORT, 'injected'); "
				"END;"));
	EXPECT(gw_accounts_flush(f.a) != VEIL_OK);
	EXPECT(strstr(veil_err_detail(), "injected") != NULL);
	EXPECT(sql_int(f.path, "SELECT sum(requests) FROM gw_usage") == 5);
	EXPECT(usage_of(f.a, &acct, "requests") == 9);
	EXPECT(gw_accounts_flush(f.a) != VEIL_OK);
	gw_accounts_meter(f.a, &e);
	EXPECT(usage_of(f.a, &acct, "requests") == 10);
	REQUIRE(sql_run(f.path, "DROP TRIGGER no_later"));
	EXPECT_OK(gw_accounts_flush(f.a));
	EXPECT(sql_int(f.path, "SELECT sum(requests) FROM gw_usage") == 10);
	EXPECT(sql_int(f.path, "SELECT sum(prompt_tokens) FROM gw_usage") == 10);
	EXPECT(usage_of(f.a, &acct, "requests") == 10);
	EXPECT_OK(gw_accounts_flush(f.a));
	EXPECT(usage_of(f.a, &acct, "requests") == 10);
	fx_done(&f);
}
int main(void)
{
	RUN(rate_requests);
	RUN(rate_tokens);
	RUN(meter_threads);
	RUN(usage_rows);
	RUN(meter_caps);
	RUN(flush_failure);
	return harness_finish("test_gateway_metering");
}

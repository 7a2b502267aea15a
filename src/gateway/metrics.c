/*
 * metrics.c - veil-gateway's counters and latency histograms, and their
 * Prometheus text form for /metrics (docs/gateway-metrics.md).
 *
 * Everything is a fixed array of relaxed atomics indexed by enums and small
 * tables, so counting is one atomic add and never takes a lock on a loop
 * thread, and every label value is one of ours: the series are the same
 * set from the first scrape on (a counter that exists at 0 shows a rate at
 * its first increment; one that appears later does not).
 */
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/metrics.h"

/* Latency bucket bounds in seconds (Prometheus "le"), then +Inf: from half
 * a millisecond (a models list, a refusal answered by the gateway itself)
 * to ten seconds (the first byte of a long prompt's answer). */
static const double bucket_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				   0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
#define GW_BOUNDS  (sizeof bucket_le / sizeof bucket_le[0])
#define GW_BUCKETS (GW_BOUNDS + 1)

static const char *const route_names[GW_ROUTE_COUNT] = {
    "chat", "completions", "models", "ohttp", "attestation", "join", "log", "usage"};
static const char *const tier_names[2] = {"plain", "confidential"};
static const char *const outcome_names[GW_OUT_COUNT] = {
    "ok", "client_error", "worker_error", "fail_fast", "no_worker", "rate_limited", "unauthorized"};
/* The reasons gw_attest and the join give (the evidence's checks, then the
 * gateway's own failures: the registry full, the log or another internal
 * step); the last one takes the rest. */
static const char *const refusal_names[] = {"nonce", "verify",   "policy",    "runtime_data",
					    "url",   "keys",     "id_in_use", "full",
					    "log",   "internal", "other"};
#define GW_REASONS (sizeof refusal_names / sizeof refusal_names[0])

typedef struct gw_histogram {
	_Atomic uint64_t buckets[GW_BUCKETS]; /* per bucket, not cumulative */
	_Atomic uint64_t sum_us;
} gw_histogram;

struct gw_metrics {
	_Atomic uint64_t requests[GW_ROUTE_COUNT][2][GW_OUT_COUNT];
	gw_histogram latency[GW_ROUTE_COUNT];
	_Atomic uint64_t refused[GW_REASONS];
	_Atomic uint64_t admissions, reattest_ok, reattest_failed, removals;
};

static void add(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

veil_err gw_metrics_new(gw_metrics **out)
{
	gw_metrics *m;

	ENSURE(out != NULL, VEIL_E_USAGE, "gw_metrics_new: NULL output");
	/* calloc is the initial state: C17 7.17.2.1 lets atomics of static
	 * or zeroed storage start at zero without atomic_init. */
	m = calloc(1, sizeof *m);
	ENSURE(m != NULL, VEIL_E_NOMEM, "out of memory for the gateway's metrics");
	*out = m;
	return VEIL_OK;
}

void gw_metrics_free(gw_metrics *m)
{
	free(m);
}

double gw_metrics_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void histogram_observe(gw_histogram *h, double seconds)
{
	size_t i = 0;

	/* NaN and negative times (a caller's clock arithmetic gone wrong)
	 * count as 0; a day caps the sum's addend, so the conversion to an
	 * integer is always defined. */
	if (!(seconds >= 0.0))
		seconds = 0.0;
	if (seconds > 86400.0)
		seconds = 86400.0;
	while (i < GW_BOUNDS && seconds > bucket_le[i])
		i++;
	add(&h->buckets[i]);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)llround(seconds * 1e6),
				  memory_order_relaxed);
}

void gw_metrics_request(gw_metrics *m, gw_route route, int tier, gw_outcome outcome, double seconds)
{
	if (m == NULL || (unsigned)route >= GW_ROUTE_COUNT || tier < 0 || tier > 1 ||
	    (unsigned)outcome >= GW_OUT_COUNT)
		return;
	add(&m->requests[route][tier][outcome]);
	histogram_observe(&m->latency[route], seconds);
}

void gw_metrics_refused(gw_metrics *m, const char *code)
{
	size_t i = 0;

	if (m == NULL)
		return;
	while (i < GW_REASONS - 1 && (code == NULL || strcmp(code, refusal_names[i]) != 0))
		i++;
	add(&m->refused[i]);
}

void gw_metrics_admission(gw_metrics *m)
{
	if (m != NULL)
		add(&m->admissions);
}

void gw_metrics_reattest(gw_metrics *m, bool ok)
{
	if (m != NULL)
		add(ok ? &m->reattest_ok : &m->reattest_failed);
}

void gw_metrics_removal(gw_metrics *m)
{
	if (m != NULL)
		add(&m->removals);
}

/* "# HELP" and "# TYPE" for one metric family (veil_writer_printf formats
 * at most 256 bytes a call: help texts stay short). */
static veil_err family(veil_writer *w, const char *name, const char *type, const char *help)
{
	return veil_writer_printf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static veil_err requests_write(gw_metrics *m, veil_writer *w)
{
	TRY(family(w, "veil_gateway_requests_total", "counter",
		   "Requests by route, tier and outcome."));
	for (size_t r = 0; r < GW_ROUTE_COUNT; r++)
		for (size_t t = 0; t < 2; t++)
			for (size_t o = 0; o < GW_OUT_COUNT; o++)
				TRY(veil_writer_printf(
				    w,
				    "veil_gateway_requests_total{route=\"%s\",tier=\"%s\","
				    "outcome=\"%s\"} %" PRIu64 "\n",
				    route_names[r], tier_names[t], outcome_names[o],
				    get(&m->requests[r][t][o])));
	return VEIL_OK;
}

/* One histogram per route, cumulative as the format wants: the +Inf bucket
 * and _count are the same sum of the buckets read once each, so they agree
 * even while requests are being counted. */
static veil_err latency_write(gw_metrics *m, veil_writer *w)
{
	static const char name[] = "veil_gateway_request_seconds";

	TRY(family(w, name, "histogram",
		   "Time to the start of the answer (or the whole answer), by route."));
	for (size_t r = 0; r < GW_ROUTE_COUNT; r++) {
		gw_histogram *h = &m->latency[r];
		uint64_t cumulative = 0;

		for (size_t i = 0; i < GW_BUCKETS; i++) {
			cumulative += get(&h->buckets[i]);
			if (i < GW_BOUNDS)
				TRY(veil_writer_printf(
				    w, "%s_bucket{route=\"%s\",le=\"%g\"} %" PRIu64 "\n", name,
				    route_names[r], bucket_le[i], cumulative));
			else
				TRY(veil_writer_printf(
				    w, "%s_bucket{route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name,
				    route_names[r], cumulative));
		}
		TRY(veil_writer_printf(w, "%s_sum{route=\"%s\"} %.6f\n", name, route_names[r],
				       (double)get(&h->sum_us) / 1e6));
		TRY(veil_writer_printf(w, "%s_count{route=\"%s\"} %" PRIu64 "\n", name,
				       route_names[r], cumulative));
	}
	return VEIL_OK;
}

static veil_err admin_write(gw_metrics *m, veil_writer *w)
{
	TRY(family(w, "veil_gateway_admissions_refused_total", "counter",
		   "Joins refused, by the check that failed."));
	for (size_t i = 0; i < GW_REASONS; i++)
		TRY(veil_writer_printf(
		    w, "veil_gateway_admissions_refused_total{reason=\"%s\"} %" PRIu64 "\n",
		    refusal_names[i], get(&m->refused[i])));
	TRY(family(w, "veil_gateway_admissions_total", "counter",
		   "Workers admitted after their evidence passed."));
	TRY(veil_writer_printf(w, "veil_gateway_admissions_total %" PRIu64 "\n",
			       get(&m->admissions)));
	TRY(family(w, "veil_gateway_reattestations_total", "counter",
		   "Periodic re-attestations, by result."));
	TRY(veil_writer_printf(w, "veil_gateway_reattestations_total{result=\"ok\"} %" PRIu64 "\n",
			       get(&m->reattest_ok)));
	TRY(veil_writer_printf(w,
			       "veil_gateway_reattestations_total{result=\"failed\"} %" PRIu64 "\n",
			       get(&m->reattest_failed)));
	TRY(family(w, "veil_gateway_removals_total", "counter",
		   "Workers removed (failed re-attestation, silence, leave, replaced)."));
	return veil_writer_printf(w, "veil_gateway_removals_total %" PRIu64 "\n",
				  get(&m->removals));
}

veil_err gw_metrics_text(gw_metrics *m, size_t confidential_workers, size_t plain_workers,
			 veil_writer *w)
{
	uint64_t fail_fast = 0;

	ENSURE(m != NULL && w != NULL, VEIL_E_USAGE, "gw_metrics_text: NULL argument");
	/* Prometheus text exposition format 0.0.4: HELP and TYPE before the
	 * samples of each family, one family's samples together. */
	TRY(requests_write(m, w));
	TRY(latency_write(m, w));
	for (size_t r = 0; r < GW_ROUTE_COUNT; r++)
		for (size_t t = 0; t < 2; t++)
			fail_fast += get(&m->requests[r][t][GW_OUT_FAIL_FAST]);
	TRY(family(w, "veil_gateway_fail_fast_total", "counter",
		   "Confidential requests refused at once: no admitted worker."));
	TRY(veil_writer_printf(w, "veil_gateway_fail_fast_total %" PRIu64 "\n", fail_fast));
	TRY(family(w, "veil_gateway_workers", "gauge", "Workers routable now, by kind."));
	TRY(veil_writer_printf(w,
			       "veil_gateway_workers{kind=\"confidential\"} %zu\n"
			       "veil_gateway_workers{kind=\"plain\"} %zu\n",
			       confidential_workers, plain_workers));
	return admin_write(m, w);
}

/*
 * metrics.c - what the broker counts and says: Prometheus counters and
 * latency histograms for /metrics, and one structured log line (JSON) per
 * attestation and per resource request.
 *
 * Logs carry the event, the TEE, the outcome, the time taken, the peer and
 * a reason on failure; never evidence, nonces, keys, tokens, cookies or
 * resource values (the error details they quote are built by Veil's own
 * parsers, which never copy those either).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kbs/kbs_internal.h"
#include "veil/timeutil.h"

/* Histogram bucket bounds in seconds (Prometheus "le"), then +Inf. */
static const double bucket_le[KBS_BUCKETS - 1] = {0.0005, 0.001, 0.002, 0.005, 0.01,
						  0.02,   0.05,  0.1,   0.25,  1.0};
static const char *const tee_names[KBS_TEES] = {"snp", "tdx", "sim", "sample", "other"};
static const char *const outcome_names[KBS_OUTCOMES] = {"affirming", "denied", "error"};

double kbs_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void histogram_observe(kbs_histogram *h, double seconds)
{
	size_t i = 0;
	while (i < KBS_BUCKETS - 1 && seconds > bucket_le[i])
		i++;
	atomic_fetch_add(&h->buckets[i], 1);
	atomic_fetch_add(&h->sum_us, (unsigned long)(seconds * 1e6));
}

static size_t tee_index(const char *tee)
{
	for (size_t i = 0; tee != NULL && i < KBS_TEES - 1; i++)
		if (strcmp(tee, tee_names[i]) == 0)
			return i;
	return KBS_TEES - 1;
}

void kbs_metrics_attest(veil_kbs *k, const char *tee, kbs_outcome outcome, double seconds)
{
	atomic_fetch_add(&k->metrics.attest[tee_index(tee)][outcome], 1);
	histogram_observe(&k->metrics.attest_latency, seconds);
}

void kbs_metrics_release(veil_kbs *k, bool released, double seconds)
{
	atomic_fetch_add(released ? &k->metrics.release : &k->metrics.release_denied, 1);
	histogram_observe(&k->metrics.resource_latency, seconds);
}

static veil_err histogram_write(veil_writer *w, const char *name, const char *help,
				kbs_histogram *h)
{
	unsigned long cumulative = 0;

	TRY(veil_writer_printf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name));
	for (size_t i = 0; i < KBS_BUCKETS; i++) {
		cumulative += atomic_load(&h->buckets[i]);
		if (i < KBS_BUCKETS - 1)
			TRY(veil_writer_printf(w, "%s_bucket{le=\"%g\"} %lu\n", name, bucket_le[i],
					       cumulative));
		else
			TRY(veil_writer_printf(w, "%s_bucket{le=\"+Inf\"} %lu\n", name,
					       cumulative));
	}
	return veil_writer_printf(w, "%s_sum %.6f\n%s_count %lu\n", name,
				  (double)atomic_load(&h->sum_us) / 1e6, name, cumulative);
}

veil_err kbs_metrics_render(veil_kbs *k, veil_writer *w)
{
	kbs_metrics *m = &k->metrics;

	/* Prometheus text exposition format 0.0.4. */
	TRY(veil_writer_printf(
	    w,
	    "# HELP veil_kbs_auth_total Sessions started with /auth.\n"
	    "# TYPE veil_kbs_auth_total counter\n"
	    "veil_kbs_auth_total %lu\n"
	    "# HELP veil_kbs_attestations_total Attestations by TEE and result.\n"
	    "# TYPE veil_kbs_attestations_total counter\n",
	    atomic_load(&m->auth)));
	for (size_t t = 0; t < KBS_TEES; t++)
		for (size_t o = 0; o < KBS_OUTCOMES; o++)
			TRY(veil_writer_printf(
			    w, "veil_kbs_attestations_total{tee=\"%s\",result=\"%s\"} %lu\n",
			    tee_names[t], outcome_names[o], atomic_load(&m->attest[t][o])));
	TRY(veil_writer_printf(w,
			       "# HELP veil_kbs_releases_total Resource requests by outcome.\n"
			       "# TYPE veil_kbs_releases_total counter\n"
			       "veil_kbs_releases_total{result=\"released\"} %lu\n"
			       "veil_kbs_releases_total{result=\"denied\"} %lu\n",
			       atomic_load(&m->release), atomic_load(&m->release_denied)));
	TRY(histogram_write(w, "veil_kbs_attest_seconds", "Time to answer /attest.",
			    &m->attest_latency));
	return histogram_write(w, "veil_kbs_resource_seconds", "Time to answer a resource request.",
			       &m->resource_latency);
}

void kbs_log(veil_kbs *k, const char *event, json_t *fields)
{
	char when[21];
	char *line;

	veil_time_format(kbs_now(k), when);
	if (fields == NULL)
		return;
	json_object_set_new(fields, "ts", json_string(when));
	json_object_set_new(fields, "event", json_string(event));
	line = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(fields);
	if (line != NULL) {
		/* One write per line, so lines from HTTP threads do not mix. */
		fprintf(stderr, "%s\n", line);
		free(line);
	}
}

const char *kbs_outcome_name(kbs_outcome o)
{
	return outcome_names[o];
}

/*
 * metrics.h - what veil-gateway counts for /metrics (docs/gateway-metrics.md):
 * requests by route, tier and outcome with a latency histogram per route,
 * refused admissions by reason, admissions, re-attestations and removals,
 * and the workers routable now, in the Prometheus text format.
 *
 * Every counter is a relaxed atomic, so the HTTP loops and the admin thread
 * count without a lock; a scrape reads them one by one and may see a
 * request in one counter and not yet in another, which Prometheus
 * tolerates. Labels come from fixed tables only: a value from a request or
 * a worker never becomes a label, so the number of series is fixed.
 */
#ifndef VEIL_GATEWAY_METRICS_H
#define VEIL_GATEWAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "veil/bytes.h"
#include "veil/error.h"

typedef struct gw_metrics gw_metrics;

typedef enum gw_route {
	GW_ROUTE_CHAT,        /* POST /v1/chat/completions */
	GW_ROUTE_COMPLETIONS, /* POST /v1/completions */
	GW_ROUTE_MODELS,      /* GET /v1/models */
	GW_ROUTE_OHTTP,       /* POST /v1/ohttp */
	GW_ROUTE_ATTESTATION, /* GET /v1/attestation */
	GW_ROUTE_JOIN,        /* the join, status and leave endpoints */
	GW_ROUTE_LOG,         /* GET /v1/log/... */
	GW_ROUTE_USAGE,       /* GET /v1/usage */
	GW_ROUTE_COUNT
} gw_route;

typedef enum gw_outcome {
	GW_OUT_OK,
	GW_OUT_CLIENT_ERROR, /* a 4xx of the gateway's own */
	GW_OUT_WORKER_ERROR, /* the worker failed or answered 5xx */
	GW_OUT_FAIL_FAST,    /* confidential and no admitted worker: 503 at once */
	GW_OUT_NO_WORKER,    /* no worker at all serves the model */
	GW_OUT_RATE_LIMITED,
	GW_OUT_UNAUTHORIZED,
	GW_OUT_COUNT
} gw_outcome;

VEIL_MUST_CHECK veil_err gw_metrics_new(gw_metrics **out);
/* NULL is fine. */
void gw_metrics_free(gw_metrics *m);
/* Monotonic seconds, for the latencies below. */
double gw_metrics_clock(void);

/* One request, counted by route, tier (0 plain, 1 confidential: gw_tier's
 * values) and outcome, and its latency in seconds (to the start of the
 * answer, or the whole answer) in the route's histogram. A route, tier or
 * outcome outside its enum is not counted; a negative or NaN latency counts
 * as 0. Lock-free, from any thread. */
void gw_metrics_request(gw_metrics *m, gw_route route, int tier, gw_outcome outcome,
			double seconds);
/* One admission refused, by the one-word reason the join gives ("nonce",
 * "verify", "policy", "runtime_data", "url", "keys", "full", "log",
 * "internal"); any other word, or NULL, counts as "other". */
void gw_metrics_refused(gw_metrics *m, const char *code);
/* Workers admitted, re-attested (passed or failed) and removed. */
void gw_metrics_admission(gw_metrics *m);
void gw_metrics_reattest(gw_metrics *m, bool ok);
void gw_metrics_removal(gw_metrics *m);

/* Appends every metric to w in the Prometheus text exposition format
 * 0.0.4, with HELP and TYPE lines; the two worker counts become the
 * veil_gateway_workers gauge. Fails only when w does (its cap). */
VEIL_MUST_CHECK veil_err gw_metrics_text(gw_metrics *m, size_t confidential_workers,
					 size_t plain_workers, veil_writer *w);

#endif

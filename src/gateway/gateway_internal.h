/*
 * gateway_internal.h - what the parts of veil-gateway share
 * (docs/gateway.md):
 *
 *   gateway.c    configuration, start and stop, the log lines
 *   registry.c   the workers: admitted, plain, draining; picking one
 *   attest.c     judging a worker's evidence (verify, appraise, bind)
 *   admin.c      the background thread: joins, re-attestation, health
 *   join.c       the join, status and leave endpoints
 *   forward.c    passing a request to a worker and its answer back
 *   route.c      the OpenAI endpoints, OHTTP, fail-fast, accounting
 *   api.c        models, attestation, the log, usage, health, metrics
 *   metrics.c    counters and histograms for /metrics
 *   accounts.c   API keys, rate limits, metering (accounts.h)
 *
 * Threads: the HTTP loops route requests; one admin thread makes every
 * outgoing call that may block (joins, re-attestation, health checks), so
 * a slow worker never stalls a loop. The registry is the only state both
 * share: a mutex around a small array of workers, each reference-counted,
 * so a request in flight keeps its worker alive after it is removed.
 */
#ifndef VEIL_GATEWAY_INTERNAL_H
#define VEIL_GATEWAY_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/accounts.h"
#include "gateway/metrics.h"
#include "veil/gateway.h"
#include "veil/jose.h"
#include "veil/limits.h"
#include "veil/tlog.h"

#define GW_ID_MAX    64
#define GW_MODEL_MAX VEIL_WORKER_MODEL_NAME_MAX
#define GW_KEYS_MAX  16 /* OHTTP key ids one worker may attest */

typedef enum gw_state {
	GW_ADMITTED, /* routed to */
	GW_SUSPECT,  /* a request to it failed: not routed until a health check passes */
	GW_DRAINING, /* left: requests in flight finish, none start */
	GW_REMOVED,  /* out of the registry; alive while references remain */
} gw_state;

/* What a worker's evidence says about it, once verified and appraised. */
typedef struct gw_attested {
	char id[GW_ID_MAX + 1];
	char model[GW_MODEL_MAX + 1];
	char model_sha256[65];
	char engine[64];
	char receipt_kid[64]; /* RFC 7638 thumbprint of the receipt key */
	veil_jwk *receipt_key;
	uint8_t *ohttp_keys; /* application/ohttp-keys, as attested */
	size_t ohttp_keys_len;
	uint8_t key_ids[GW_KEYS_MAX];
	size_t key_count;
	char tee[16];
	char ear_status[24];
	uint8_t *bundle; /* the evidence bundle, as received */
	size_t bundle_len;
	uint8_t bundle_sha256[32];
} gw_attested;

void gw_attested_clear(gw_attested *a);

typedef struct gw_worker {
	atomic_uint refs;
	_Atomic int state;      /* gw_state */
	atomic_int outstanding; /* requests in flight */
	char id[GW_ID_MAX + 1];
	char url[VEIL_GW_URL_MAX]; /* base URL, no trailing slash */
	char host[256];            /* as in the URL (the Host header) */
	char addr[64];             /* numeric, resolved once (no DNS on the HTTP loops) */
	uint16_t port;
	bool confidential;
	unsigned capacity;
	char models[VEIL_GW_MODELS_PER_WORKER][GW_MODEL_MAX + 1];
	size_t model_count;
	/* Confidential workers: the attested facts, replaced under the
	 * registry lock at each re-attestation (same keys only). */
	gw_attested att;
	uint64_t log_index;  /* the latest log entry about it */
	int64_t admitted_ms; /* when it was admitted */
	int64_t attested_ms; /* the latest evidence that passed */
	int64_t next_attest_ms, next_health_ms;
	/* Confidential workers: routed only until then (monotonic ms), three
	 * re-attestation intervals after the latest evidence that passed, so
	 * a stalled admin thread cannot keep stale evidence in use. */
	_Atomic int64_t fresh_until_ms;
	unsigned health_failures;
	uint8_t lease_hash[32]; /* SHA-256 of the lease the worker holds */
} gw_worker;

typedef struct gw_registry {
	pthread_mutex_t mu;
	gw_worker *workers[VEIL_GW_WORKERS_MAX];
	size_t count;
} gw_registry;

/* A join waiting for its evidence. */
typedef struct gw_pending {
	char challenge[33];
	uint8_t nonce[32];
	char id[GW_ID_MAX + 1];
	char url[VEIL_GW_URL_MAX];
	unsigned capacity;
	int64_t expires_ms;
} gw_pending;

typedef struct gw_job gw_job;

struct veil_gateway {
	veil_gateway_config config;
	veil_tlog *log;
	struct gw_log_api *log_api; /* the log's routes (log_api.c) */
	gw_accounts *accounts;      /* NULL: open gateway */
	gw_registry reg;
	gw_metrics *metrics;
	veil_verifier *verifier;
	/* Open join challenges, under pending_mu. */
	pthread_mutex_t pending_mu;
	gw_pending pending[VEIL_GW_PENDING_MAX];
	/* The admin thread and its queue of jobs from the loops. */
	pthread_t admin;
	bool admin_started;
	pthread_mutex_t admin_mu;
	pthread_cond_t admin_cv;
	gw_job *jobs, **jobs_tail;
	size_t job_count;     /* queued joins, capped at VEIL_GW_PENDING_MAX */
	atomic_bool stopping; /* read by the admin thread between steps */
};

/* gateway.c */
/* Wall-clock time, for what is recorded (log entries, admission times). */
int64_t gw_now_ms(void);
/* Monotonic time, for what is scheduled or expires (re-attestation and
 * health checks, join challenges, idle connections): a wall clock set back
 * must not postpone a re-attestation. */
int64_t gw_mono_ms(void);
/* Makes text that quotes untrusted bytes safe for a log line or an error
 * message: control bytes and bytes that are not UTF-8 (a multi-byte
 * character cut by a length cap) become '?', so jansson accepts it. */
void gw_text_clean(char *s);
/* A log line: {"t": ms, "event": event, ...fields} (takes fields). */
void gw_log(veil_gateway *g, const char *event, json_t *fields);
/* An OpenAI-style error {"error": {"message", "type", "code"}}. */
json_t *gw_error_json(const char *type, const char *code, const char *fmt, ...) VEIL_PRINTF(3, 4);
void gw_reply_error(veil_http_request *r, int status, const char *type, const char *code,
		    const char *fmt, ...) VEIL_PRINTF(5, 6);

/* registry.c */
void gw_registry_init(gw_registry *reg);
void gw_registry_clear(gw_registry *reg);
gw_worker *gw_worker_new(void);
void gw_worker_ref(gw_worker *w);
void gw_worker_unref(gw_worker *w);
/* Adds w (the registry takes a reference). A worker of the same id that
 * is there already is replaced (removed); *replaced gets it, referenced,
 * or NULL. VEIL_E_LIMIT when full. */
VEIL_MUST_CHECK veil_err gw_registry_add(gw_registry *reg, gw_worker *w, gw_worker **replaced);
/* Takes w out (state REMOVED); false when it was not there. */
bool gw_registry_remove(gw_registry *reg, gw_worker *w);
/* The worker with this id (referenced) or NULL. */
gw_worker *gw_registry_find(gw_registry *reg, const char *id);
/* The routable worker serving model (NULL: any), confidential only when
 * asked, with the fewest outstanding requests for its capacity; its
 * outstanding count is raised and a reference taken. NULL when none. */
gw_worker *gw_registry_pick(gw_registry *reg, const char *model, bool confidential);
/* The admitted worker holding OHTTP key id `key_id` (referenced, count
 * raised like pick) or NULL. */
gw_worker *gw_registry_pick_key(gw_registry *reg, uint8_t key_id);
/* Whether another admitted worker holds one of att's OHTTP key ids
 * (OHTTP requests are routed by key id alone, RFC 9458 section 4.3);
 * *who gets its id. */
bool gw_registry_key_taken(gw_registry *reg, const gw_attested *att, char *who, size_t len);
/* Ends a request picked above. */
void gw_registry_done(gw_worker *w);
/* Whether model is served by any worker in the registry, routable or out
 * of routing until its next health check (SUSPECT), and by a routable
 * confidential one. */
void gw_registry_model(gw_registry *reg, const char *model, bool *any, bool *confidential);
/* References to every worker in the registry (n set); free the array with
 * gw_workers_release. */
gw_worker **gw_registry_snapshot(gw_registry *reg, size_t *n);
void gw_workers_release(gw_worker **ws, size_t n);
/* Routable confidential workers, for /metrics. */
size_t gw_registry_admitted(gw_registry *reg);

/* attest.c */
/* Verifies and appraises bundle against the gateway's policy, requires
 * its runtime data to answer nonce (32 bytes), and reads what it binds
 * into *out. VEIL_E_VERIFY with the reasons (cut for a log line) when the
 * evidence does not satisfy the policy; *code names the failed check in
 * one word for metrics ("nonce", "verify", "policy", "runtime_data"). */
VEIL_MUST_CHECK veil_err gw_attest(veil_gateway *g, const uint8_t *bundle, size_t len,
				   const uint8_t nonce[32], gw_attested *out, const char **code);
/* Whether b is the same worker as a: id, model, digest, receipt key and
 * OHTTP keys all equal; *what names the first that differs. */
bool gw_attested_same(const gw_attested *a, const gw_attested *b, const char **what);
/* Fetches {url}/v1/attestation?nonce=<fresh> and judges it like gw_attest. */
VEIL_MUST_CHECK veil_err gw_attest_pull(veil_gateway *g, const char *url, gw_attested *out,
					const char **code);
/* Appends a log entry about w: kind "admission", "reattestation",
 * "removal" or "leave"; for the first two the evidence goes in. */
VEIL_MUST_CHECK veil_err gw_log_worker(veil_gateway *g, const char *kind, const gw_worker *w,
				       const gw_attested *att, const char *reason, uint64_t *index);
/* Splits an http(s)://host[:port] base URL (no user info, no path but an
 * optional "/"); VEIL_E_USAGE naming what is wrong. */
VEIL_MUST_CHECK veil_err gw_url_parse(const char *url, char *host, size_t hostlen, uint16_t *port,
				      bool *tls);

/* Resolves host to one numeric address (on the admin thread: the loops
 * never wait for DNS). */
VEIL_MUST_CHECK veil_err gw_resolve(const char *host, char *addr, size_t len);

/* admin.c */
VEIL_MUST_CHECK veil_err gw_admin_start(veil_gateway *g);
void gw_admin_stop(veil_gateway *g);
/* Queues the evidence of a join for the admin thread, which answers d. */
VEIL_MUST_CHECK veil_err gw_admin_join(veil_gateway *g, veil_http_deferred *d, const gw_pending *p,
				       const uint8_t *bundle, size_t len);
/* Removes w now (a leave, a failure) and logs why. */
void gw_remove(veil_gateway *g, gw_worker *w, const char *kind, const char *reason);

/* The parsers of untrusted input, exposed for fuzz/fuzz_gateway.c and the
 * unit tests. gw_join_parse (join.c) reads a join request strictly
 * ({"id", "url", "capacity"}, docs/gateway.md "Joining") into the id, url
 * and capacity of *p (nothing else of p is touched); gw_relay_query_parse
 * (api.c) reads the query of GET /v1/attestation?worker=ID[&nonce=HEX] into
 * id and nonce (NUL-terminated, capped at idlen and nlen; nonce empty when
 * absent) and says whether it is well formed. */
VEIL_MUST_CHECK veil_err gw_join_parse(const uint8_t *body, size_t len, gw_pending *p);
bool gw_relay_query_parse(const char *q, char *id, size_t idlen, char *nonce, size_t nlen);

/* join.c, route.c, api.c: the routes. */
VEIL_MUST_CHECK veil_err gw_join_mount(veil_gateway *g, veil_http_server *s);
VEIL_MUST_CHECK veil_err gw_route_mount(veil_gateway *g, veil_http_server *s);
VEIL_MUST_CHECK veil_err gw_api_mount(veil_gateway *g, veil_http_server *s);

#endif

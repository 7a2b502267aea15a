/*
 * proxy.h - what the files of `veil proxy` share (docs/proxy.md): the
 * proxy's state, the jobs its handlers hand to the forwarding threads, and
 * the two halves of the work: proxy.c takes the requests on the HTTP
 * server's loops, proxy_forward.c answers them on a bounded pool of
 * threads, where the client core's blocking calls may wait for a worker.
 */
#ifndef VEIL_CLI_PROXY_H
#define VEIL_CLI_PROXY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/client.h"
#include "veil/http.h"

typedef enum proxy_job_kind {
	PROXY_JOB_COMPLETION, /* POST /v1/chat/completions or /v1/completions */
	PROXY_JOB_MODELS,     /* GET /v1/models */
} proxy_job_kind;

/* One request taken over from the loop: everything it needs is copied in,
 * since the request handle ends with the handler call. */
typedef struct proxy_job {
	struct proxy_job *next;
	proxy_job_kind kind;
	veil_http_deferred *d;
	const char *path; /* static: the route's path */
	char model[VEIL_CLIENT_MODEL_MAX + 1];
	uint8_t *body; /* the request body as the client sent it (wiped when freed) */
	size_t body_len;
	double t0; /* when the handler took it, in seconds (proxy_clock) */
} proxy_job;

typedef struct proxy {
	veil_client *client;
	/* The model names the policy allows, for /v1/models. */
	char **models;
	size_t model_count;
	/* The pool: a queue of at most queue_max jobs, taken by `threads`
	 * threads; `alive` counts the threads that have not exited. */
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	proxy_job *head, *tail;
	size_t queued, queue_max;
	pthread_t *tids;
	unsigned threads, started, alive;
	bool stopping;
} proxy;

/* Starts n forwarding threads; false (said on stderr) when none could. */
bool proxy_pool_start(proxy *p, unsigned n, size_t queue_max);
/* Queues a job; false when the queue is full or the proxy stops (the
 * caller still owns the job then). */
bool proxy_pool_submit(proxy *p, proxy_job *j);
/* Stops the pool: jobs not begun are answered 503, the threads are asked
 * to end, and waited for up to grace_ms. True when every thread ended and
 * was joined; false when some are still inside a client call (the caller
 * must then leave the client alone). */
bool proxy_pool_stop(proxy *p, long grace_ms);

void proxy_job_free(proxy_job *j);
/* Answers one job (runs on a forwarding thread). */
void proxy_forward(proxy *p, proxy_job *j);

/* A monotonic clock in seconds, for the log's durations. */
double proxy_clock(void);
/* The one line per request on standard error (docs/proxy.md "Log"):
 * never a body, only the model name the client gave (cut to 64 bytes,
 * control characters replaced), the worker, the status and the outcome or
 * the failed check with its detail. */
void proxy_log(const char *method, const char *path, const char *model, const char *worker,
	       int status, const char *outcome, const char *detail, double t0);
/* The OpenAI error object {"error": {"message", "type", "code", "param"}}
 * as compact JSON text (free it); NULL when out of memory. The message is
 * cut to 400 bytes and reduced to printable ASCII, since it may quote a
 * detail that names a worker's or a model's untrusted text. */
char *proxy_error_text(const char *type, const char *code, const char *param, const char *fmt, ...)
    VEIL_PRINTF(4, 5);
/* Answers the deferred d with that error object (and ends it). */
void proxy_deferred_error(veil_http_deferred *d, int status, const char *type, const char *code,
			  const char *fmt, ...) VEIL_PRINTF(5, 6);

#endif

/*
 * worker_internal.h - what the worker's files share (docs/worker.md):
 *
 *   worker.c    start-up: keys, platform check, model key, model, bundle
 *   api.c       the routes: OpenAI API plain and through OHTTP, models,
 *               attestation, OHTTP keys, health
 *   sink.c      where a response goes: straight to the HTTP client, or
 *               sealed for it as a whole or chunked OHTTP response
 *   sched.c     the built-in engine's slots and the bounded queue
 *   upstream.c  forwarding to an OpenAI-compatible server in the same TEE
 *   join.c      joining a veil-gateway: challenge, evidence, lease, leave
 *   receipts    made by wk_job_finish (api.c) with include/veil/receipt.h
 */
#ifndef VEIL_WORKER_INTERNAL_H
#define VEIL_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "veil/engine.h"
#include "veil/gguf.h"
#include "veil/jose.h"
#include "veil/ohttp.h"
#include "veil/receipt.h"
#include "veil/seal.h"
#include "veil/tokenizer.h"
#include "veil/worker.h"
#include "worker/openai.h"

/* ---- sinks: where a response goes ---- */

typedef struct wk_sink wk_sink;
typedef struct wk_sink_ops {
	VEIL_MUST_CHECK veil_err (*header)(wk_sink *s, const char *name, const char *value);
	void (*reply)(wk_sink *s, int status, const char *content_type, const void *body,
		      size_t len);
	void (*begin)(wk_sink *s, int status, const char *content_type);
	bool (*write)(wk_sink *s, const void *p, size_t n);
	void (*end)(wk_sink *s);
	bool (*gone)(const wk_sink *s);
} wk_sink_ops;

/* A response under way. reply or end finishes it (and frees the sink);
 * header comes before either; write only between begin and end. */
struct wk_sink {
	const wk_sink_ops *ops;
	bool ohttp;     /* the exchange is end-to-end encrypted */
	size_t pad_max; /* streamed pieces get up to this many bytes of padding */
};

/* Straight to the client that sent the request (takes over d). */
wk_sink *wk_sink_plain(veil_http_deferred *d);
/* Sealed to the client: the inner response becomes a BHTTP message
 * encapsulated as message/ohttp-res (whole) or message/ohttp-chunked-res,
 * with *x's response keys (x is taken over and cleared). */
wk_sink *wk_sink_ohttp(veil_http_deferred *d, veil_ohttp_exchange *x, bool chunked);

/* ---- jobs ---- */

typedef struct veil_worker veil_worker;

/* One completion request, from parsing to its last byte. */
typedef struct wk_job {
	veil_worker *w;
	wk_sink *sink;
	oai_request req;
	uint8_t request_digest[32]; /* SHA-256 of the body as received */
	char id[48];
	int64_t created;
	double t_start; /* monotonic seconds, for the time cap */
	uint8_t *body;  /* upstream engine: the body to forward */
	size_t body_len;
	struct wk_job *next;
} wk_job;

/* Finishes a job whose text is complete: the receipt, then the response
 * (whole) or the last chunks (stream), then frees the job. */
typedef struct wk_result {
	const char *text; /* whole responses: the generated text */
	size_t len;
	const char *finish_reason;
	uint64_t prompt_tokens, completion_tokens;
	const uint8_t *stream_digest; /* streams: SHA-256 of the text sent; NULL:
					 it could not be made (no receipt, no [DONE]) */
} wk_result;
void wk_job_finish(wk_job *j, const wk_result *r);
/* Ends a job with an OpenAI error (nothing streamed yet) and frees it. */
void wk_job_fail(wk_job *j, const oai_error *e);
void wk_job_free(wk_job *j);
/* Streams: the first bytes of the response, then one chunk of text. */
void wk_job_stream_begin(wk_job *j);
bool wk_job_stream_text(wk_job *j, const char *text, size_t len, bool first);
/* An upstream engine's event (its JSON), passed on in one padded write. */
bool wk_job_stream_event(wk_job *j, const char *json, size_t len);
/* The end of a stream: the finish chunk (if finish_chunk), the usage chunk
 * (when the client asked, or always without a finish chunk), the receipt
 * in the last of them, [DONE]; frees the job. */
void wk_job_stream_end(wk_job *j, const wk_result *r, bool finish_chunk);
/* A stream that broke off: ended without a receipt or [DONE], so no client
 * takes it for complete; frees the job. */
void wk_job_stream_abort(wk_job *j);
/* Upstream jobs: a whole answer passed on with a receipt over its bytes. */
void wk_job_reply_raw(wk_job *j, int status, const uint8_t *body, size_t len,
		      uint64_t prompt_tokens, uint64_t completion_tokens);

/* ---- the scheduler (sched.c) ---- */

typedef struct wk_sched wk_sched;
VEIL_MUST_CHECK veil_err wk_sched_new(veil_worker *w, wk_sched **out);
/* Queues j, or refuses (false) when the queue is full. */
bool wk_sched_submit(wk_sched *s, wk_job *j);
/* Stops the slots after the jobs in progress end (pending ones fail). */
void wk_sched_stop(wk_sched *s);
void wk_sched_free(wk_sched *s);
size_t wk_sched_waiting(wk_sched *s);

/* ---- upstream.c ---- */
/* Whether an --upstream URL stays inside the TEE: http:// to a loopback
 * address (127.0.0.0/8, [::1], localhost) with no user information or
 * path, or unix:/PATH. */
VEIL_MUST_CHECK veil_err wk_upstream_check(const char *url);
/* Runs j against the upstream server on a thread of its own; false when
 * the worker is stopping, too many run already, or no thread could start. */
bool wk_upstream_submit(veil_worker *w, wk_job *j);
/* Waits until every upstream job has ended (after `stopping` is set). */
void wk_upstream_wait(veil_worker *w);

/* ---- join.c: a veil-gateway ---- */
typedef struct wk_join wk_join;
/* The gateway options of c, checked at start (a typo fails before the
 * broker releases a key). */
VEIL_MUST_CHECK veil_err wk_join_check(const veil_worker_config *c);
/* Starts the join thread (*out stays NULL without a gateway). */
VEIL_MUST_CHECK veil_err wk_join_start(veil_worker *w, wk_join **out);
/* Stops the join thread, then posts the leave if admitted; safe to call
 * again, from any thread. */
void wk_join_leave(wk_join *g);
void wk_join_free(wk_join *g);

/* ---- the worker ---- */

struct veil_worker {
	veil_worker_config cfg; /* with every default resolved (worker_init) */
	char id[64];
	char model_name[VEIL_RECEIPT_TEXT_MAX + 1];
	int64_t started;
	/* keys */
	veil_jwk *receipt_key;
	json_t *receipt_jwk; /* its public half */
	veil_ohttp_server *ohttp;
	uint8_t *ohttp_keys; /* the application/ohttp-keys body */
	size_t ohttp_keys_len;
	veil_guest *guest; /* locks itself: one evidence request at a time */
	/* model */
	veil_sealed_model sealed;
	uint8_t model_digest[32];
	uint64_t model_bytes;
	veil_gguf *gguf;
	veil_model *model;
	veil_tokenizer *tok;
	veil_chat_template tmpl;
	int32_t *eog;
	size_t n_eog;
	/* the published bundle */
	uint8_t *bundle;
	size_t bundle_len;
	uint8_t bundle_digest[32];
	/* serving */
	oai_limits limits;
	wk_sched *sched;
	atomic_bool stopping;
	pthread_mutex_t up_mu; /* upstream jobs running, and their end */
	pthread_cond_t up_cv;
	unsigned up_active;
	pthread_mutex_t rate_mu; /* the attestation rate limit */
	double rate_tokens, rate_at;
	wk_join *join; /* set once by veil_worker_join, before serving */
};

/* The engine as the evidence names it: "builtin", "upstream", or
 * "bench-reply" (docs/worker.md "Benchmark mode"). */
const char *wk_engine_name(const veil_worker *w);
/* worker.c: this worker's runtime data for a nonce (new reference), and
 * a fresh evidence bundle over it (new buffer). */
json_t *wk_runtime_data(const veil_worker *w, const char *nonce);
VEIL_MUST_CHECK veil_err wk_bundle(veil_worker *w, const char *nonce, uint8_t **out, size_t *len);

/* A JSON log line: event plus fields (reference taken). */
void wk_log(veil_worker *w, const char *event, json_t *fields);
double wk_clock(void);

VEIL_MUST_CHECK veil_err wk_routes(veil_worker *w, veil_http_server *s);

#endif

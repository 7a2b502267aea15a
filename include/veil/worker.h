/*
 * worker.h - veil-worker, the inference server inside the TEE
 * (docs/worker.md).
 *
 * The worker is the only place where a model's weights and a user's prompt
 * exist in plaintext, so everything it does can be checked from outside:
 *
 *   1. it makes fresh keys in memory: the OHTTP key configuration (X25519)
 *      and the receipt-signing key (ES256); the KBS key is made by the
 *      KBS handshake itself (include/veil/guest.h);
 *   2. it checks the platform (TEE present; GPUs in CC mode, not
 *      DEVTOOLS), failing closed;
 *   3. it gets the model key from veil-kbs with evidence bound to the
 *      broker's nonce, and stops on a refusal, saying which step refused;
 *   4. it opens the sealed model into memory that never reaches the disk,
 *      checking the model digest;
 *   5. it makes its published evidence bundle, whose runtime data carries
 *      its OHTTP keys, its receipt key, its id and the model digest, and
 *      serves the OpenAI-compatible API, plain and through Oblivious HTTP,
 *      with a signed receipt on every response;
 *   6. with a gateway, it joins it with evidence bound to the gateway's
 *      nonce, stays admitted, and leaves when it stops.
 *
 * veil_worker_new does steps 1 to 5 (all or nothing); veil_worker_mount
 * adds the routes to an HTTP server; veil_worker_join does step 6; the
 * daemon (src/daemon/veil_worker.c) and the benchmark
 * (bench/bench_worker.c) both use this.
 */
#ifndef VEIL_WORKER_H
#define VEIL_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/guest.h"
#include "veil/http.h"

typedef struct veil_worker_config {
	/* The sealed model, and where its key comes from: the broker (kbs_url;
	 * the resource named in the sealed header unless kbs_resource says)
	 * or, for development on the sim TEE only, a key file. */
	const char *model_path;
	const char *model_name; /* served name; NULL: the file name without its extension */
	const char *kbs_url;
	const char *kbs_resource;
	const char *kbs_ca;
	long kbs_deadline_ms; /* retries of the key fetch; 0: VEIL_WORKER_KBS_DEADLINE_MS */
	const char *key_file; /* sim only: the model key from a file, no broker */
	/* The platform (include/veil/guest.h). tee "sim" must be chosen
	 * explicitly; nothing falls back to it. */
	veil_guest_config guest;
	const char *worker_id; /* NULL: "wk-" and 16 random hex digits */
	/* Inference: the built-in engine, or an OpenAI-compatible server
	 * inside the same TEE (http://127.0.0.1:PORT or unix:/PATH). */
	const char *upstream;
	unsigned slots;        /* concurrent generations; 0: VEIL_WORKER_SLOTS_DEFAULT */
	unsigned threads;      /* engine threads per slot; 0: online CPUs / slots, at least 1 */
	size_t queue_max;      /* waiting requests before 429; 0: VEIL_WORKER_QUEUE_DEFAULT */
	size_t n_ctx;          /* positions per slot; 0: the engine's default */
	size_t max_tokens_cap; /* 0: VEIL_WORKER_MAX_TOKENS_CAP */
	size_t prompt_max;     /* prompt tokens; 0: VEIL_WORKER_PROMPT_TOKENS_MAX */
	unsigned request_timeout_s; /* 0: VEIL_WORKER_REQUEST_TIMEOUT_S */
	unsigned attest_per_s;      /* fresh bundles a second; 0: VEIL_WORKER_ATTEST_PER_S */
	/* The OHTTP key id: 0 draws one at random; 1 to 255 takes that one (a
	 * gateway routes OHTTP requests by key id alone, so the workers behind
	 * one gateway need distinct ids, docs/gateway.md). */
	unsigned ohttp_key_id;
	bool pad_stream; /* random padding in every streamed chunk (docs/worker.md) */
	/* A veil-gateway to join (docs/worker.md "Joining a gateway"): its
	 * URL (http:// or https://; NULL: none), the URL it reaches this
	 * worker at (http(s)://host[:port], no path; required with a
	 * gateway), and the CA file for an https gateway (NULL: the system
	 * store). */
	const char *gateway_url;
	const char *advertise_url;
	const char *gateway_ca;
	/* Benchmark mode (docs/worker.md "Benchmark mode"): every completion
	 * is "ok" at once, without the model, signed as usual; the evidence
	 * says engine "bench-reply". Measures a gateway's overhead; never for
	 * production. Built-in engine only. */
	bool bench_reply;
	/* Log lines (JSON, one per line, never prompts, completions or keys);
	 * NULL: standard error. */
	void (*log)(void *user, const char *line);
	void *log_user;
} veil_worker_config;

typedef struct veil_worker veil_worker;

/* Steps 1 to 5 above. Fails with the step and the reason in the detail. */
VEIL_MUST_CHECK veil_err veil_worker_new(const veil_worker_config *c, veil_worker **out);
/* Routes the API on s (before veil_http_server_run). */
VEIL_MUST_CHECK veil_err veil_worker_mount(veil_worker *w, veil_http_server *s);
/* With a gateway (cfg.gateway_url): starts joining it on a thread of the
 * worker's own, which then keeps the worker admitted (docs/worker.md
 * "Joining a gateway"). Call after veil_worker_mount, once the server's
 * socket is bound (the gateway checks this worker before admitting it:
 * its connections wait in the listen backlog until veil_http_server_run
 * serves them). Does nothing without a gateway; fails if it cannot start
 * the thread or was called before. */
VEIL_MUST_CHECK veil_err veil_worker_join(veil_worker *w);
/* Leaves the gateway: stops the join thread (within about a second) and,
 * when admitted, posts the leave with a 2 s deadline, so the gateway
 * routes nothing new here; a failure is logged. Call while the server
 * still serves (the daemon does on SIGTERM, then stops the server).
 * veil_worker_stop calls it too; safe to call more than once. */
void veil_worker_leave(veil_worker *w);
/* Leaves the gateway, stops taking requests and ends the ones in progress
 * (their clients get what was streamed so far, then the connection ends);
 * call before freeing the HTTP server. */
void veil_worker_stop(veil_worker *w);
void veil_worker_free(veil_worker *w);

/* The published evidence bundle (GET /v1/attestation without a nonce),
 * borrowed, and its SHA-256, which every receipt names. */
const uint8_t *veil_worker_bundle(const veil_worker *w, size_t *len);
const char *veil_worker_id(const veil_worker *w);

#endif

/*
 * client.h - the user's side of Veil: what `veil chat`, `veil proxy`,
 * `veil verify-receipt` and `veil audit` share (docs/client.md).
 *
 * A client trusts nobody between itself and the worker's TEE: not the
 * gateway, not the network, not the host. Before it sends a prompt it
 *   1. fetches the worker's evidence through the gateway: fresh, bound to
 *      a nonce of its own, or (logged mode) the copy the gateway logged,
 *      with an inclusion proof under a tree head signed by the log key
 *      the client was given;
 *   2. verifies and appraises it under the client policy (accepted TEEs
 *      and TCB, expected workload measurements, GPU state: the appraisal
 *      policy of docs/appraisal.md), and checks the worker's description
 *      in the runtime data: the model name and digest the policy allows,
 *      an engine it allows;
 *   3. encrypts to the OHTTP key that evidence binds, so only that
 *      worker's TEE can read the request, and routes by that key's id;
 *   4. opens the answer (whole, or chunk by chunk as it streams), and
 *      verifies its receipt under the receipt key the evidence binds,
 *      against the digests of the bytes it sent and received.
 * Every failure names the check that failed (veil_client_check), so a
 * tool can say exactly why it refused.
 *
 * Verified workers are cached until their verification is older than
 * the policy's reverify_seconds, or until the gateway stops routing their
 * key (veil_client_forget).
 */
#ifndef VEIL_CLIENT_H
#define VEIL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/appraisal.h"
#include "veil/bytes.h"
#include "veil/error.h"
#include "veil/jose.h"
#include "veil/ohttp.h"
#include "veil/receipt.h"
#include "veil/tlog.h"

#define VEIL_CLIENT_POLICY_VERSION 1
#define VEIL_CLIENT_ID_MAX         64 /* worker ids, as the gateway caps them */
#define VEIL_CLIENT_MODEL_MAX      128

/* ---- The client policy (docs/client.md "Policy") ----
 *
 * {"version": 1,
 *  "appraisal": { appraisal policy, docs/appraisal.md },
 *  "reference_values": { reference values document }       (optional),
 *  "models": {"chat": ["<sha256 hex>", ...], ...},
 *  "engines": ["builtin", "upstream"]                        (optional),
 *  "reverify_seconds": 300                                   (optional),
 *  "log_key": { the gateway's log key, a public EC P-256 JWK } (optional)}
 *
 * Strict like every Veil policy: unknown members, duplicates and wrong
 * types are refused with the member named. A worker is acceptable only
 * for a model named in "models" with one of its digests. */
typedef struct veil_client_policy veil_client_policy;

VEIL_MUST_CHECK veil_err veil_client_policy_parse(const uint8_t *json, size_t len,
						  const char *origin, veil_client_policy **out);
/* Reads and parses a file (errors name it). */
VEIL_MUST_CHECK veil_err veil_client_policy_load(const char *path, veil_client_policy **out);
void veil_client_policy_free(veil_client_policy *p);
const veil_policy *veil_client_policy_appraisal(const veil_client_policy *p);
const veil_refvals *veil_client_policy_refvals(const veil_client_policy *p);
/* The log key, or NULL when the policy has none. */
const veil_jwk *veil_client_policy_log_key(const veil_client_policy *p);
int64_t veil_client_policy_reverify_s(const veil_client_policy *p);
/* Whether the policy allows this model name with this digest (64 hex). */
bool veil_client_policy_model_ok(const veil_client_policy *p, const char *model,
				 const char *sha256_hex);
bool veil_client_policy_engine_ok(const veil_client_policy *p, const char *engine);

/* Worker ids, model and engine names as workers attest them and the
 * gateway and clients accept them: 1..max characters of [A-Za-z0-9._:/-]
 * (nothing that could forge a log line or a terminal's output). */
bool veil_worker_name_ok(const char *s, size_t max);

/* ---- Judging one evidence bundle ---- */

/* The checks, in the order they run; each failure names one. */
typedef enum veil_client_check {
	VEIL_CHECK_NONE = 0,
	VEIL_CHECK_FETCH,        /* the evidence could not be fetched */
	VEIL_CHECK_LOG,          /* logged mode: the entry, its inclusion proof or the tree head */
	VEIL_CHECK_VERIFY,       /* signatures, certificate chains, bindings */
	VEIL_CHECK_NONCE,        /* the evidence does not answer the client's nonce */
	VEIL_CHECK_RUNTIME_DATA, /* no usable worker description, receipt key or OHTTP key */
	VEIL_CHECK_POLICY,       /* the appraisal is not affirming */
	VEIL_CHECK_MODEL,        /* model name or digest not allowed by the policy */
	VEIL_CHECK_ENGINE,       /* engine not allowed by the policy */
	VEIL_CHECK_SAME,         /* the published and the fresh bundle bind other keys */
	VEIL_CHECK_UNAVAILABLE,  /* the gateway lists no worker for the model */
	VEIL_CHECK_TRANSPORT,    /* the request could not be sent or the answer not read */
	VEIL_CHECK_DECRYPT,      /* the encapsulated answer does not open */
	VEIL_CHECK_RESPONSE,     /* the answer is malformed (BHTTP, SSE, JSON) */
	VEIL_CHECK_RECEIPT,      /* missing, bad signature, or wrong digests */
} veil_client_check;

/* A short name for a check ("verify", "nonce", "policy", "receipt"...). */
const char *veil_client_check_name(veil_client_check c);

/* What verified evidence says about its worker. */
typedef struct veil_client_worker {
	char id[VEIL_CLIENT_ID_MAX + 1];
	char model[VEIL_CLIENT_MODEL_MAX + 1];
	char model_sha256[65];
	char engine[64];
	char tee[16];        /* the CPU TEE: "sim", "snp", "tdx" */
	char ear_status[24]; /* "affirming" for an accepted worker */
	char receipt_kid[64];
	veil_jwk *receipt_key;   /* tee-pubkey, public */
	veil_ohttp_client ohttp; /* built from the first attested configuration Veil speaks */
	uint8_t *ohttp_keys;     /* application/ohttp-keys, as attested */
	size_t ohttp_keys_len;
	json_t *ear; /* the appraisal (EAR) of the evidence */
	/* The published bundle, which every receipt names by digest (fresh
	 * mode; in logged mode the logged bundle). */
	uint8_t *bundle;
	size_t bundle_len;
	uint8_t bundle_sha256[32];
	int64_t verified_at; /* Unix seconds */
	int64_t log_index;   /* the log entry checked (logged mode), or -1 */
} veil_client_worker;

void veil_client_worker_clear(veil_client_worker *w);

/*
 * Judges one bundle under the policy: it verifies (at time `at`, Unix
 * seconds), answers nonce (when nonce is not NULL; nonce_len bytes, the
 * runtime data's "nonce" as hex), describes a worker (id, model, digest,
 * engine, OHTTP keys, receipt key), appraises as affirming, and names a
 * model, digest and engine the policy allows. On success fills *out (the
 * bundle copied in); on failure *check names the failed check, the error
 * detail says why, and *out is cleared.
 */
VEIL_MUST_CHECK veil_err veil_client_judge(const veil_client_policy *p, const uint8_t *bundle,
					   size_t len, const uint8_t *nonce, size_t nonce_len,
					   int64_t at, veil_client_worker *out,
					   veil_client_check *check);
/*
 * Only the first part of judging: the bundle verifies (genuine, its
 * bindings hold) and describes a worker; no appraisal, so no age limit,
 * and ear_status stays empty. For a bundle whose worker was judged in full
 * through fresher evidence with the same keys: a worker's published
 * bundle is made once at its start, and receipts name it by digest long
 * after any policy's max_age_seconds has passed.
 */
VEIL_MUST_CHECK veil_err veil_client_judge_genuine(const veil_client_policy *p,
						   const uint8_t *bundle, size_t len, int64_t at,
						   veil_client_worker *out,
						   veil_client_check *check);
/* Whether two judged bundles describe the same worker with the same keys;
 * *what names the first difference. */
bool veil_client_worker_same(const veil_client_worker *a, const veil_client_worker *b,
			     const char **what);

/* ---- The client ---- */

typedef struct veil_client_config {
	const char *gateway;              /* base URL, http:// or https:// */
	const veil_client_policy *policy; /* borrowed; outlives the client */
	const char *api_key;              /* the gateway's API key (Bearer), or NULL */
	const char *ca_file;              /* trust anchors for an https gateway, or NULL */
	long timeout_ms;                  /* each exchange; 0: 120000 */
	/* Take evidence from the gateway's log (with inclusion proofs under the
	 * policy's log_key) instead of fresh from each worker. */
	bool logged;
} veil_client_config;

typedef struct veil_client veil_client;

VEIL_MUST_CHECK veil_err veil_client_new(const veil_client_config *cfg, veil_client **out);
void veil_client_free(veil_client *c);

/*
 * A verified worker that serves `model` (NULL: any model the policy
 * allows): from the cache, or fetched and verified now. Candidates are
 * tried in the gateway's order, rotating between cached ones; the first
 * that passes is returned. When none passes, VEIL_E_NOT_FOUND with *check
 * set to the check the last candidate failed (VEIL_CHECK_UNAVAILABLE when
 * the gateway listed none), and the detail naming worker and check.
 * Thread-safe; the worker stays valid until veil_client_release.
 */
VEIL_MUST_CHECK veil_err veil_client_pick(veil_client *c, const char *model,
					  const veil_client_worker **out, veil_client_check *check);
void veil_client_release(veil_client *c, const veil_client_worker *w);
/* Drops a worker from the cache (its key was refused by the gateway, or
 * its answer failed a check), so the next pick verifies again. */
void veil_client_forget(veil_client *c, const char *id);

/* GET on the gateway (a path such as "/v1/models"): status and body. */
VEIL_MUST_CHECK veil_err veil_client_get(veil_client *c, const char *path, long *status,
					 veil_writer *body);

/* ---- One exchange, end to end encrypted ---- */

/* Called as the answer arrives. Any callback may be NULL; returning false
 * stops the exchange (VEIL_E_IO, check TRANSPORT). */
typedef struct veil_client_cb {
	/* The inner response's status and content type, once, before any
	 * event. */
	bool (*on_head)(void *user, int status, const char *content_type);
	/* Streams (text/event-stream): the data of each event, as it is
	 * decrypted, except the final "[DONE]", which is reported by the
	 * exchange succeeding after the receipt verified. */
	bool (*on_event)(void *user, const char *data, size_t len);
	void *user;
} veil_client_cb;

typedef struct veil_client_result {
	int status; /* the worker's status */
	char content_type[64];
	bool stream;                         /* the answer was an event stream */
	veil_writer body;                    /* a whole answer's body (empty for streams) */
	char worker[VEIL_CLIENT_ID_MAX + 1]; /* the verified worker that answered */
	bool receipt_ok;                     /* the receipt verified and matched */
	veil_receipt receipt;                /* as verified */
	char *receipt_jws;                   /* the receipt as received (NUL-terminated) */
	uint8_t request_sha256[32], response_sha256[32];
	veil_client_check check; /* what failed, when the exchange failed */
} veil_client_result;

void veil_client_result_clear(veil_client_result *r);

/*
 * Sends `method path` with `body` (a JSON request; may be empty for GET)
 * to worker w, encapsulated with Oblivious HTTP (chunked when the request
 * asks to stream) and marked X-Veil-Confidential: required, through the
 * gateway's /v1/ohttp. Opens the answer incrementally, and verifies its
 * receipt (X-Veil-Receipt inside, or veil_receipt in the last event)
 * under w's receipt key against the worker id, the bundle digest, the
 * model digest, and the digests of the request body and of the answer.
 * VEIL_OK only when all of that held; otherwise res->check names what
 * failed. res is initialised first, whatever the outcome.
 */
VEIL_MUST_CHECK veil_err veil_client_request(veil_client *c, const veil_client_worker *w,
					     const char *method, const char *path,
					     const uint8_t *body, size_t len,
					     const veil_client_cb *cb, veil_client_result *res);

/* ---- The gateway's transparency log, checked by the client ----
 * (docs/gateway-log-api.md; every size and root comes from a tree head
 * verified under the policy's log_key, every leaf hash is the client's
 * own.) VEIL_E_USAGE when the policy has no log_key. */

/* GET /v1/log/sth, verified: *out the head, *jws (may be NULL) the signed
 * head as served, for the caller to keep (free it). */
VEIL_MUST_CHECK veil_err veil_client_log_sth(veil_client *c, veil_tlog_sth *out, char **jws);
/* The entry at index of the tree `sth` describes: fetched, and its
 * inclusion proof verified against sth's root. *leaf (free it) is the
 * entry's bytes. */
VEIL_MUST_CHECK veil_err veil_client_log_entry(veil_client *c, const veil_tlog_sth *sth,
					       uint64_t index, uint8_t **leaf, size_t *leaf_len);
/* That `newer` extends `older` (the consistency proof verifies); equal
 * heads are consistent, a smaller newer tree is not. */
VEIL_MUST_CHECK veil_err veil_client_log_consistent(veil_client *c, const veil_tlog_sth *older,
						    const veil_tlog_sth *newer);
/* The evidence of an admission or re-attestation entry: its kind and
 * worker id (NUL-terminated, cut to fit) and the bundle bytes (free
 * them). VEIL_E_NOT_FOUND for an entry of another kind (removal, leave:
 * kind and worker are filled all the same), VEIL_E_MISMATCH when
 * evidence_sha256 is not the digest of the bundle, VEIL_E_MALFORMED for an
 * entry that is not the documented JSON. */
VEIL_MUST_CHECK veil_err veil_client_log_evidence(const uint8_t *leaf, size_t len, char *kind,
						  size_t kind_len, char *worker, size_t worker_len,
						  uint8_t **bundle, size_t *bundle_len);

/* ---- Server-sent events of a stream (shared with the receipt check) ---- */

/*
 * Reads an OpenAI event stream as it arrives: events ("data:" lines, the
 * field joined by newlines), comments skipped. For each event's data,
 * hashes the generated text (choices[0].delta.content or
 * choices[0].text) into the stream digest receipts use, and keeps the
 * receipt (member veil_receipt) of the last event that has one.
 */
typedef struct veil_sse veil_sse;
VEIL_MUST_CHECK veil_err veil_sse_new(veil_sse **out);
void veil_sse_free(veil_sse *s);
/* Feeds bytes; calls on_event for each complete event's data. */
VEIL_MUST_CHECK veil_err veil_sse_feed(veil_sse *s, const uint8_t *p, size_t n,
				       bool (*on_event)(void *user, const char *data, size_t len),
				       void *user);
/* After the stream: whether "[DONE]" was seen, the text digest and the
 * receipt (borrowed, or NULL). VEIL_E_TRUNCATED when an event was left
 * incomplete. */
VEIL_MUST_CHECK veil_err veil_sse_finish(veil_sse *s, bool *done, uint8_t text_sha256[32],
					 const char **receipt);

#endif

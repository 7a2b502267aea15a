/*
 * kbs_internal.h - what the key broker's files share: the broker itself,
 * the error replies of the protocol, sessions, tokens and counters.
 */
#ifndef VEIL_KBS_INTERNAL_H
#define VEIL_KBS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "veil/bytes.h"
#include "veil/evidence.h"
#include "veil/jose.h"
#include "veil/kbs.h"

#define KBS_PROTOCOL_VERSION "0.4.0"
#define KBS_COOKIE           "kbs-session-id"
#define KBS_ERROR_PREFIX     "https://github.com/confidential-containers/kbs/errors/"
#define KBS_TOKEN_KEY_NAME   "token-signing-key"

/* Counters for /metrics (relaxed atomics: monotonic, read approximately). */
#define KBS_BUCKETS  11 /* ten bounds and +Inf (metrics.c) */
#define KBS_TEES     5  /* snp, tdx, sim, sample, other */
#define KBS_OUTCOMES 3

typedef enum kbs_outcome {
	KBS_AFFIRMING = 0, /* a token whose status is affirming */
	KBS_DENIED = 1,    /* a token whose status is not affirming */
	KBS_ERROR = 2,     /* no token: malformed, not verified, not bound */
} kbs_outcome;

typedef struct kbs_histogram {
	atomic_ulong buckets[KBS_BUCKETS];
	atomic_ulong sum_us;
} kbs_histogram;

typedef struct kbs_metrics {
	atomic_ulong auth;
	atomic_ulong attest[KBS_TEES][KBS_OUTCOMES];
	atomic_ulong release;
	atomic_ulong release_denied;
	kbs_histogram attest_latency;
	kbs_histogram resource_latency;
} kbs_metrics;

/* The policies in force: replaced whole by the admin API, so a request
 * works with one consistent set from start to end. Reference-counted: a
 * request holds its set while an update installs the next. */
typedef struct kbs_policies {
	atomic_int refs;
	veil_policy *policy;     /* the appraisal policy */
	veil_refvals *refvals;   /* may be NULL */
	json_t *resource_policy; /* may be NULL: release nothing */
} kbs_policies;

struct veil_kbs {
	veil_kbs_config config;
	veil_jwk *token_key;        /* ES256: the configured one or the stored one */
	json_t *token_jwk;          /* its public half (and x5c), for the token header */
	pthread_mutex_t lock;       /* guards the policies pointer */
	pthread_mutex_t admin_lock; /* one admin change at a time: store, build, install */
	kbs_policies *policies;
	pthread_key_t verifier_key; /* one veil_verifier per HTTP thread */
	kbs_metrics metrics;
};

/* The policies in force, held until kbs_policies_put. */
kbs_policies *kbs_policies_get(veil_kbs *k);
void kbs_policies_put(kbs_policies *p);
/* Builds a set from the stored documents (or the defaults). */
VEIL_MUST_CHECK veil_err kbs_policies_build(veil_kbs *k, kbs_policies **out);
/* Installs p as the set in force (takes the reference). */
void kbs_policies_install(veil_kbs *k, kbs_policies *p);
/* Validates a document of a kind and stores it under name. */
VEIL_MUST_CHECK veil_err kbs_doc_install(veil_kbs *k, const char *kind, const char *name,
					 const uint8_t *json, size_t len);
/* Builds a set from the store and installs it. */
VEIL_MUST_CHECK veil_err kbs_policies_reload(veil_kbs *k);

/* Store document kinds, and the name of the one policy of each kind. */
#define KBS_DOC_APPRAISAL "appraisal-policy"
#define KBS_DOC_RESOURCE  "resource-policy"
#define KBS_DOC_REFVALS   "reference-values"
#define KBS_DOC_CURRENT   "current"

int64_t kbs_now(const veil_kbs *k);

/* Metrics and logs (metrics.c). */
double kbs_clock(void);
void kbs_metrics_attest(veil_kbs *k, const char *tee, kbs_outcome outcome, double seconds);
void kbs_metrics_release(veil_kbs *k, bool released, double seconds);
VEIL_MUST_CHECK veil_err kbs_metrics_render(veil_kbs *k, veil_writer *w);
const char *kbs_outcome_name(kbs_outcome o);
/* One JSON log line to stderr: fields (taken over) plus "ts" and "event".
 * Never pass evidence, nonces, keys, tokens, cookies or resource values. */
void kbs_log(veil_kbs *k, const char *event, json_t *fields);

/* Replies with the protocol's error body {"type": PREFIX<name>, "detail"}.
 * 401 makes CoCo clients attest again; use it only when that can help. */
void kbs_reply_error(veil_http_request *r, int status, const char *name, const char *fmt, ...)
    VEIL_PRINTF(4, 5);

/* The caller's thread's verifier (created on first use), or NULL. */
veil_verifier *kbs_verifier(veil_kbs *k);

/* signer.c: loads the token key (and checks its chain) into k->token_key
 * and k->token_jwk. */
VEIL_MUST_CHECK veil_err kbs_signer_load(veil_kbs *k);
/* Signs an EAR as the token: ES256 JWT with the public key in the header,
 * iat and exp added. *token is new (free()). */
VEIL_MUST_CHECK veil_err kbs_token_sign(veil_kbs *k, json_t *ear, char **token);
/* Verifies a token this broker issued; *claims is a new reference. */
VEIL_MUST_CHECK veil_err kbs_token_verify(veil_kbs *k, const char *token, json_t **claims);

/* Whether the resource policy releases `path` to a session with this EAR;
 * *why says which rule decided, or why none did. */
bool kbs_policy_allows(const json_t *resource_policy, const char *path, const json_t *ear,
		       char *why, size_t why_len);
VEIL_MUST_CHECK veil_err kbs_policy_parse(const uint8_t *json, size_t len, json_t **out);

/* The request bodies, read strictly and purely (fuzz/fuzz_kbs_requests.c). */

/* POST /kbs/v0/auth: the TEE name (copied) once the version is 0.4.0. */
VEIL_MUST_CHECK veil_err kbs_auth_request_parse(const uint8_t *body, size_t len, char tee[32]);

/* CoCo init-data (initdata.c, docs/kbs.md "Init-data"): the digest of the
 * initdata TOML's bytes by the algorithm the TOML names. */
typedef struct kbs_initdata {
	bool present;          /* false: "init-data" was null or absent */
	const char *algorithm; /* "sha256", "sha384" or "sha512" (static) */
	uint8_t digest[64];
	size_t digest_len; /* 32, 48 or 64 */
} kbs_initdata;

/* Reads an initdata TOML's top-level keys (version "0.1.0", algorithm) up
 * to its [data] table; *algorithm gets the algorithm's name (static). */
VEIL_MUST_CHECK veil_err kbs_initdata_toml_read(const char *toml, size_t len,
						const char **algorithm);
/* The attest request's "init-data" member (NULL or JSON null: none):
 * {"format": "toml", "body": "<TOML>"}, read and digested into *out. */
VEIL_MUST_CHECK veil_err kbs_initdata_parse(const json_t *init, kbs_initdata *out);
/* Fits a digest to a register of `size` bytes: zero-padded or truncated. */
void kbs_initdata_regularize(const uint8_t *digest, size_t len, uint8_t *out, size_t size);
/* Whether init-data can be bound to evidence of this TEE (snp, tdx, sim). */
VEIL_MUST_CHECK veil_err kbs_initdata_tee_ok(const char *tee);
/* Compares the digest, fitted to the TEE's register, with the register's
 * claim in a verified bundle result (submods.cpu.claims), in constant
 * time; VEIL_E_MISMATCH names the register when they differ. */
VEIL_MUST_CHECK veil_err kbs_initdata_bind(const kbs_initdata *d, const char *tee,
					   const json_t *result);

/* POST /kbs/v0/attest; everything borrowed from doc (json_decref it). */
typedef struct kbs_attest_req {
	json_t *doc;
	const char *nonce;
	json_t *tee_pubkey;
	json_t *primary;
	json_t *additional;     /* a JSON string */
	kbs_initdata init_data; /* present only when the request carried one */
} kbs_attest_req;
VEIL_MUST_CHECK veil_err kbs_attest_request_parse(const uint8_t *body, size_t len,
						  kbs_attest_req *a);

/* Admin policy bodies: {"policy": "<base64url>"} (and, for the appraisal
 * policy, "type" "veil" and "policy_id" "default"); *doc is new (free()). */
VEIL_MUST_CHECK veil_err kbs_policy_request_parse(const uint8_t *body, size_t len, bool attestation,
						  uint8_t **doc, size_t *doc_len);
/* {"name", "reference_values": {...}}: *name and *doc are new (free()). */
VEIL_MUST_CHECK veil_err kbs_refvals_request_parse(const uint8_t *body, size_t len, char **name,
						   char **doc);

void kbs_handle_auth(veil_http_request *r, void *user);
void kbs_handle_attest(veil_http_request *r, void *user);
void kbs_handle_resource(veil_http_request *r, void *user);
void kbs_handle_resource_put(veil_http_request *r, void *user);
void kbs_handle_resource_delete(veil_http_request *r, void *user);
void kbs_handle_resource_policy(veil_http_request *r, void *user);
void kbs_handle_attestation_policy(veil_http_request *r, void *user);
void kbs_handle_reference_values(veil_http_request *r, void *user);

/* Three segments of [A-Za-z0-9_-][A-Za-z0-9_.-]* (Trustee's rule), and no "..". */
bool kbs_resource_path_ok(const char *path);

#endif

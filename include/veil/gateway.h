/*
 * gateway.h - veil-gateway, the front door of a Veil deployment
 * (docs/gateway.md): an OpenAI-compatible endpoint in front of workers run
 * by operators nobody has to trust.
 *
 *   - Admission: a worker joins with evidence bound to the gateway's
 *     nonce; the gateway verifies and appraises it under its admission
 *     policy, checks the advertised URL answers with the same keys,
 *     records what the evidence binds (model, digest, OHTTP key ids,
 *     receipt key) and appends the evidence to its transparency log. It
 *     re-attests every worker on a background thread, checks its health,
 *     and removes (and logs) a worker that fails, goes silent or changes
 *     keys.
 *   - Routing: a request marked confidential goes only to an admitted
 *     worker, and when there is none it fails at once with 503, never
 *     falling back; OHTTP requests go, unread, to the worker holding
 *     their key id. Streams pass through chunk by chunk.
 *   - Accounts: optional API keys, per-key rate limits and metering by
 *     account, model and tier.
 *
 * veil_gateway_new opens the log and the accounts and starts the
 * background thread; veil_gateway_mount routes the API on an HTTP server;
 * veil_gateway_stop stops the thread and forgets the workers.
 */
#ifndef VEIL_GATEWAY_H
#define VEIL_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>

#include "veil/appraisal.h"
#include "veil/collateral.h"
#include "veil/error.h"
#include "veil/http.h"
#include "veil/jose.h"

typedef struct veil_gateway_config {
	/* The transparency log (SQLite file) and the key that signs its tree
	 * heads (ES256, private; borrowed). */
	const char *log_path;
	const veil_jwk *sth_key;
	/* Admission: the policy and reference values evidence is appraised
	 * under (borrowed), and collateral for verification (may be NULL). */
	const veil_policy *policy;
	const veil_refvals *refvals;
	const veil_collateral *collateral;
	/* API keys and metering (SQLite file); NULL: no keys are asked for
	 * and usage is not metered (docs/gateway.md says when that fits). */
	const char *accounts_path;
	/* Workers registered without evidence (base URLs), which serve only
	 * requests that do not ask for confidentiality. */
	const char *const *plain_workers;
	size_t plain_worker_count;
	unsigned reattest_s;   /* 0: VEIL_GW_REATTEST_S */
	unsigned health_s;     /* 0: VEIL_GW_HEALTH_S */
	unsigned upstream_s;   /* idle timeout towards a worker; 0: VEIL_GW_UPSTREAM_TIMEOUT_S */
	unsigned join_ttl_s;   /* how long a join challenge stays open; 0: VEIL_GW_JOIN_TTL_S */
	size_t max_body_bytes; /* request bodies; 0: VEIL_GW_BODY_MAX */
	/* Log lines (JSON, one per line, never prompts, completions or keys);
	 * NULL: standard error. */
	void (*log)(void *user, const char *line);
	void *log_user;
} veil_gateway_config;

typedef struct veil_gateway veil_gateway;

VEIL_MUST_CHECK veil_err veil_gateway_new(const veil_gateway_config *c, veil_gateway **out);
/* Routes the API on s (before veil_http_server_run). */
VEIL_MUST_CHECK veil_err veil_gateway_mount(veil_gateway *g, veil_http_server *s);
/* Stops the background thread and takes no more joins; call before
 * freeing the HTTP server. */
void veil_gateway_stop(veil_gateway *g);
void veil_gateway_free(veil_gateway *g);

#endif

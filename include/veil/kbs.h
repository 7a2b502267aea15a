/*
 * kbs.h - veil-kbs, the key broker: the Confidential Containers KBS
 * protocol 0.4.0 (docs/kbs.md), mounted on a veil_http_server.
 *
 *   POST /kbs/v0/auth       a session and a fresh nonce (cookie kbs-session-id)
 *   POST /kbs/v0/attest     evidence bound to that nonce and the TEE's key;
 *                           verified, appraised, answered with an EAR token
 *   GET  /kbs/v0/resource/<repo>/<type>/<tag>
 *                           the resource as a JWE to the TEE's key, if the
 *                           resource policy admits the session's result
 *
 * Default deny everywhere: no appraisal policy means the built-in default
 * (nothing is affirming), no resource policy means nothing is released, and
 * sim evidence verifies only under a policy that names its root.
 */
#ifndef VEIL_KBS_H
#define VEIL_KBS_H

#include <stdint.h>

#include "veil/appraisal.h"
#include "veil/error.h"
#include "veil/http.h"
#include "veil/store.h"

typedef struct veil_kbs_config {
	veil_store *store;              /* borrowed; outlives the broker */
	const veil_policy *policy;      /* appraisal policy; borrowed */
	const veil_refvals *refvals;    /* reference values; borrowed, may be NULL */
	const uint8_t *resource_policy; /* resource policy JSON; NULL: release nothing */
	size_t resource_policy_len;
	int64_t token_lifetime_s;   /* 0: 300 */
	int64_t session_lifetime_s; /* 0: 300 */
	const char *collateral_dir; /* may be NULL */
	/* Test hook: the clock, NULL for the system's. */
	int64_t (*now)(void);
} veil_kbs_config;

typedef struct veil_kbs veil_kbs;

VEIL_MUST_CHECK veil_err veil_kbs_new(const veil_kbs_config *c, veil_kbs **out);
/* Adds the protocol's routes (and /healthz) to s. */
VEIL_MUST_CHECK veil_err veil_kbs_mount(veil_kbs *k, veil_http_server *s);
void veil_kbs_free(veil_kbs *k);

#endif

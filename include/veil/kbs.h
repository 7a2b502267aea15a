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
 * and the admin API (docs/kbs.md), each call authorised by a short-lived
 * JWT from the configured admin key: resources set and deleted, the
 * resource and appraisal policies replaced, reference values registered.
 * Changes take effect for the next request and persist in the store.
 *
 * Default deny everywhere: no appraisal policy means the built-in default
 * (nothing is affirming), no resource policy means nothing is released, and
 * sim evidence verifies only under a policy that names its root.
 */
#ifndef VEIL_KBS_H
#define VEIL_KBS_H

#include <stdbool.h>
#include <stdint.h>

#include "veil/appraisal.h"
#include "veil/collateral.h"
#include "veil/error.h"
#include "veil/http.h"
#include "veil/store.h"

/* A JSON document handed to the broker: a policy or reference values. */
typedef struct veil_kbs_doc {
	const char *name;
	const uint8_t *json;
	size_t len;
} veil_kbs_doc;

typedef struct veil_kbs_config {
	veil_store *store; /* borrowed; outlives the broker */
	/* The appraisal policy; NULL: the one stored by the admin API, else
	 * the built-in default (which affirms nothing). */
	const uint8_t *policy;
	size_t policy_len;
	/* Reference values; none given: the stored ones. */
	const veil_kbs_doc *refvals;
	size_t refvals_count;
	/* The resource policy; NULL: the stored one, else release nothing. */
	const uint8_t *resource_policy;
	size_t resource_policy_len;
	/* The admin API: tokens must be signed by this key (Ed25519 or P-256,
	 * borrowed). NULL: every admin call is refused, unless insecure_admin
	 * (development only) lets them all through. */
	const struct veil_jwk *admin_key;
	bool insecure_admin;
	/* Collateral for real TEEs (VCEKs, Intel PCS collateral, CRLs, GPU
	 * RIMs); borrowed, may be NULL. Evidence may bring more. */
	const veil_collateral *collateral;
	/* The token signer (Trustee's attestation_token signer): a private
	 * EC P-256 key, as a JWK or PEM, and optionally its certificate chain
	 * (PEM, the key's certificate first, each followed by its issuer),
	 * which the token header's "jwk" then carries as "x5c". Borrowed.
	 * NULL key: the key the broker made on first start and keeps in its
	 * store, and no chain. */
	const uint8_t *token_key;
	size_t token_key_len;
	const uint8_t *token_chain;
	size_t token_chain_len;
	int64_t token_lifetime_s;   /* 0: 300 */
	int64_t session_lifetime_s; /* 0: 300 */
	/* Test hook: the clock, NULL for the system's. */
	int64_t (*now)(void);
} veil_kbs_config;

typedef struct veil_kbs veil_kbs;

VEIL_MUST_CHECK veil_err veil_kbs_new(const veil_kbs_config *c, veil_kbs **out);
/* Adds the protocol's routes (and /healthz) to s. */
VEIL_MUST_CHECK veil_err veil_kbs_mount(veil_kbs *k, veil_http_server *s);
void veil_kbs_free(veil_kbs *k);

/* CoCo init-data (docs/kbs.md "Init-data"): the digest a host puts in the
 * TEE's init-data register for an initdata TOML document, by the algorithm
 * the document names (version "0.1.0"; sha256, sha384 or sha512), over its
 * bytes exactly as given. *digest_len is 32, 48 or 64. The document must
 * be at most VEIL_KBS_INITDATA_MAX_BYTES, and what precedes its [data]
 * table must be readable (see the docs); [data] itself is not read. */
VEIL_MUST_CHECK veil_err veil_kbs_initdata_digest(const char *toml, size_t len, uint8_t digest[64],
						  size_t *digest_len);

#endif

/*
 * sim_trust.h - the one rule by which a sim root becomes trusted.
 *
 * A simulated TEE proves nothing about hardware, so its root is never built
 * in and never found in collateral: the caller names the roots it accepts
 * (the policy in force, or `veil verify --certs ROOT.pem`), by SHA-256
 * fingerprint of the DER certificate, in veil_verify_ctx.sim_roots. Both
 * sim formats (the CPU report and the GPU report) ask here.
 */
#ifndef VEIL_SIM_TRUST_H
#define VEIL_SIM_TRUST_H

#include <openssl/x509.h>
#include <stdbool.h>

#include "veil/check.h"
#include "veil/evidence.h"

/* Records "sim.root": whether the root's fingerprint (SHA-256 of its DER
 * bytes) is one ctx trusts. */
bool sim_root_check(const veil_verify_ctx *ctx, const uint8_t fp[32], veil_checks *checks);
/* True when the fingerprint is one ctx trusts (records nothing). */
bool sim_root_trusted(const veil_verify_ctx *ctx, const uint8_t sha256[32]);
/* Records "sim.chain": leaf issued by root, both valid at ctx->at. */
bool sim_chain_check(const veil_verify_ctx *ctx, X509 *leaf, X509 *root, const char *what,
		     veil_checks *checks);

/* SHA-256 of the certificate's SubjectPublicKeyInfo DER: what a sim
 * report's platform_id holds for the key that signed it. */
VEIL_MUST_CHECK veil_err sim_platform_id(X509 *cert, uint8_t out[32]);

#endif

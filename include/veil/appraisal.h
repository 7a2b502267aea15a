/*
 * appraisal.h - from "the evidence is genuine" to "the evidence is acceptable".
 *
 * Verification (evidence.h, bundle.h) says whether evidence is genuine and
 * produces a result object {tee, verified, at, checks, claims, submods}.
 * Appraisal reads that result, a declarative policy and reference values,
 * and produces an EAR (EAT Attestation Result, draft-ietf-rats-ear, in the
 * JSON shape Veraison's rust-ear and Trustee produce): one submodule per
 * attested part (cpu0 for the CPU TEE, gpu0.. for GPUs), each with an AR4SI
 * trustworthiness vector (draft-ietf-rats-ar4si, "Trustworthiness Claims"), a status, and
 * the reasons for every claim that is not affirming. Every relying party
 * (key broker, gateway, client) calls veil_appraise; docs/appraisal.md
 * documents the policy and reference-value formats and how each check and
 * rule maps onto the trustworthiness claims.
 *
 * Fail closed throughout: the default policy accepts nothing, a rule that
 * cannot be evaluated (a claim or reference-value set missing, a set
 * expired, a GPU state not reported) is contraindicated, and evidence that
 * did not verify is never affirming.
 */
#ifndef VEIL_APPRAISAL_H
#define VEIL_APPRAISAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/evidence.h"

/* The EAR profile (draft-ietf-rats-ear, "eat_profile") and verifier identity. */
#define VEIL_EAR_PROFILE   "tag:github.com,2023:veraison/ear"
#define VEIL_EAR_DEVELOPER "veil"
#define VEIL_EAR_BUILD     "veil 0.1"

/* How far in the future a sim report's generated_at may lie (clock skew
 * between the sim platform and the verifier), in seconds. */
#define VEIL_SIM_MAX_FUTURE_SKEW 60
/* The sim evidence age allowed when the policy does not say. */
#define VEIL_SIM_DEFAULT_MAX_AGE 300

/* ---- reference values ------------------------------------------------------------------------ */

typedef struct veil_refvals veil_refvals;
VEIL_MUST_CHECK veil_err veil_refvals_new(veil_refvals **out);
/* Adds one reference-value file (JSON):
 *   {"version": 1, "expires": "<RFC 3339>", "sets": {"name": ["value", ...], ...}}
 * Several files merge; a set name defined twice (in one or two files) is an
 * error, and a failed load adds nothing. Expiry is checked at appraisal
 * time, not load time. origin (a file name, may be NULL) appears in
 * messages and reasons. */
VEIL_MUST_CHECK veil_err veil_refvals_load(veil_refvals *rv, const uint8_t *json, size_t len,
					   const char *origin);
void veil_refvals_free(veil_refvals *rv);

/* ---- policies -------------------------------------------------------------------------------- */

typedef struct veil_policy veil_policy;
/* Strict: unknown members, wrong types, values out of range and lists over
 * their caps are errors naming the member. origin may be NULL. */
VEIL_MUST_CHECK veil_err veil_policy_parse(const uint8_t *json, size_t len, const char *origin,
					   veil_policy **out);
/* The policy that accepts nothing (id "veil-default-deny"). */
VEIL_MUST_CHECK veil_err veil_policy_default(veil_policy **out);
void veil_policy_free(veil_policy *p);
const char *veil_policy_id(const veil_policy *p);
/* SHA-256 fingerprints of the sim root certificates the policy trusts
 * (count may be 0). *roots is borrowed from p. */
size_t veil_policy_sim_roots(const veil_policy *p, const uint8_t (**roots)[32]);
/* The revocation mode verification should run with for NVIDIA evidence, so
 * that unknown OCSP status reaches appraisal when the policy tolerates it
 * (ALLOW_UNKNOWN, for gpu.revocation_unknown "warn" or "allow") and fails
 * verification otherwise (REQUIRE). */
veil_revocation_policy veil_policy_verify_revocation(const veil_policy *p);

/* ---- appraisal ------------------------------------------------------------------------------- */

/*
 * Appraises a verification result at time now (Unix seconds). Borrows
 * result; rv may be NULL (then every reference-value rule fails closed). On
 * VEIL_OK *ear is a new object the caller owns. Errors only for bad
 * arguments (a result that is not in the shape verification produces:
 * VEIL_E_USAGE) or memory; a result that does not satisfy the policy is an
 * EAR saying so, never an error.
 */
VEIL_MUST_CHECK veil_err veil_appraise(const veil_policy *p, const veil_refvals *rv,
				       const json_t *result, int64_t now, json_t **ear);
/* "affirming", "warning", "contraindicated" or "none": the overall status of
 * an EAR (the worst submodule; "none" for anything that is not an EAR). */
const char *veil_ear_status(const json_t *ear);
/* The EAR in one line: "cpu0: affirming, gpu0: contraindicated (claim:
 * why); appraisal policy ID", cut with "..." to fit len (NUL-terminated)
 * and free of control characters. Empty for anything without submods. */
void veil_ear_summary(const json_t *ear, char *out, size_t len);

#endif

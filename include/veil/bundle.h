/*
 * bundle.h - composite evidence: one CPU TEE report plus device (GPU)
 * reports, bound together, verified as one (docs/evidence-bundle.md).
 *
 * The binding is the Confidential Containers one (DESIGN.md section 5):
 *   REPORT_DATA of the CPU report = SHA-384(JCS(runtime_data)) || 0^16,
 *   each GPU nonce = first 32 bytes of SHA-384(JCS({"nonce": N,
 *   "tee-pubkey": K})), with N and K taken from runtime_data,
 * and the device evidence travels inside runtime_data as
 * "additional-evidence", so the CPU report's signature covers it too.
 *
 * The result is one JSON object in the shape `veil verify --json` prints:
 * {tee, verified, at, checks, claims, submods: {gpu0: {...}, ...}}, where
 * each submodule has the same shape and `verified` at the top is true only
 * when every part verified and every binding held.
 */
#ifndef VEIL_BUNDLE_H
#define VEIL_BUNDLE_H

#include <jansson.h>

#include "veil/evidence.h"

/* The result object for one piece of evidence (new reference). */
json_t *veil_result_json(const char *tee, bool verified, const veil_checks *checks, json_t *claims,
			 int64_t at);

/* The failed checks of a result and its submodules, "part.check" joined
 * with ", " and cut to fit len (NUL-terminated); empty when none failed. */
void veil_result_failed_checks(const json_t *result, char *out, size_t len);

/* The device nonce for a runtime data object: the first 32 bytes of
 * SHA-384(JCS({"nonce": rd.nonce, "tee-pubkey": rd["tee-pubkey"]})). */
VEIL_MUST_CHECK veil_err veil_device_nonce(const json_t *runtime_data, uint8_t nonce[32]);
/* The CPU REPORT_DATA for a runtime data object: SHA-384(JCS(rd)) || 0^16. */
VEIL_MUST_CHECK veil_err veil_runtime_data_digest(const json_t *runtime_data, uint8_t rd[64]);

/*
 * Verifies an evidence bundle (JSON bytes). ctx->collateral (may be NULL)
 * is combined with the bundle's own collateral and device certificates.
 * VEIL_OK with *result set whenever the bundle could be read (the verdict
 * is result.verified); an error (malformed bundle) otherwise.
 */
VEIL_MUST_CHECK veil_err veil_bundle_verify(const uint8_t *buf, size_t len,
					    const veil_verify_ctx *ctx, json_t **result);
/* The same for a bundle already parsed (borrowed; the key broker builds
 * one from an attest request rather than serialising and parsing it). */
VEIL_MUST_CHECK veil_err veil_bundle_verify_json(json_t *doc, const veil_verify_ctx *ctx,
						 json_t **result);

/*
 * Verifies a list of GPU reports as NVIDIA's attestation SDK serializes them:
 * [{"arch", "nonce", "evidence" (base64 report), "certificate" (base64 PEM
 * chain)}, ...]. expected_nonce (32 bytes, may be NULL) is compared with
 * every report's nonce; the "nonce" member of each entry is only checked for
 * consistency, never trusted. One submodule per GPU ("GPU-0", ...).
 */
VEIL_MUST_CHECK veil_err veil_gpu_list_verify(const uint8_t *buf, size_t len,
					      const veil_verify_ctx *ctx,
					      const uint8_t *expected_nonce, json_t **result);

#endif

/*
 * bundle_util.h - pieces shared by the bundle and GPU-list verifiers.
 */
#ifndef VEIL_EVIDENCE_BUNDLE_UTIL_H
#define VEIL_EVIDENCE_BUNDLE_UTIL_H

#include "veil/bundle.h"

/* Decodes the base64 string member `key` into a new buffer of at most max
 * bytes (caller frees). */
VEIL_MUST_CHECK veil_err bundle_b64_member(const json_t *obj, const char *key, size_t max,
					   uint8_t **out, size_t *len);
/* Verifies one piece of evidence (expected may be NULL) and builds its
 * result object (veil_result_json). */
VEIL_MUST_CHECK veil_err bundle_verify_part(const veil_evidence_format *fmt, const uint8_t *buf,
					    size_t len, const veil_verify_ctx *ctx,
					    const uint8_t *expected, size_t expected_len,
					    json_t **out, bool *verified);

/* Adds the check "devices.distinct": no two submodules with a "ueid" claim
 * name the same device (one report repeated must not count as two GPUs). */
void bundle_check_distinct(const json_t *submods, veil_checks *top);

#endif

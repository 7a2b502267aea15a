/*
 * evidence.h - one interface for every evidence format, one dispatch table.
 *
 * Each format (SEV-SNP report, TDX quote, later NVIDIA SPDM and sim) is a
 * module exporting a veil_evidence_format: parse (pure, bounded, no I/O),
 * verify (signatures, chains, collateral, at an explicit time), claims (a
 * flat documented set), free. Callers look a format up by name or detect it
 * from the bytes; there is no if-chain over format names anywhere else.
 *
 * Verification inputs are collected in veil_verify_ctx: the time, the
 * collateral the user supplied, and an optional long-lived veil_verifier
 * whose per-format caches remember chains and collateral already verified,
 * as a long-running verifier (the key broker, the gateway) does.
 */
#ifndef VEIL_EVIDENCE_H
#define VEIL_EVIDENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/check.h"
#include "veil/collateral.h"
#include "veil/error.h"

typedef enum veil_tee {
	VEIL_TEE_SNP = 0,
	VEIL_TEE_TDX,
	VEIL_TEE_NVIDIA,
	VEIL_TEE_SIM,     /* the simulated TEE: genuine signatures, no hardware */
	VEIL_TEE_SIM_GPU, /* its simulated GPU */
	VEIL_TEE_COUNT_
} veil_tee;

/* What to do when a certificate's revocation status cannot be learned (no
 * CRL or OCSP response at hand). The zero value fails closed. */
typedef enum veil_revocation_policy {
	VEIL_REVOCATION_REQUIRE = 0,   /* unknown status fails the check */
	VEIL_REVOCATION_ALLOW_UNKNOWN, /* unknown status passes, and says so */
} veil_revocation_policy;

/* A long-lived verifier: holds each format's cache. Not thread-safe; use one
 * per thread. */
typedef struct veil_verifier veil_verifier;
VEIL_MUST_CHECK veil_err veil_verifier_new(veil_verifier **out);
void veil_verifier_free(veil_verifier *v);

typedef struct veil_verify_ctx {
	int64_t at;                        /* Unix seconds */
	const veil_collateral *collateral; /* borrowed, may be NULL */
	veil_verifier *verifier;           /* borrowed, may be NULL: no caching */
	const char *product;               /* SNP: expected product ("Milan"), or NULL */
	/* NVIDIA: OCSP status of the GPU and RIM chains. (SNP and TDX check
	 * the CRLs among the collateral; see docs/collateral.md.) */
	veil_revocation_policy revocation;
	/* sim and sim-gpu: SHA-256 fingerprints of the simulated roots the
	 * caller trusts (from the policy in force or the command line). None:
	 * no sim evidence verifies. Nothing else ever trusts a sim root. */
	const uint8_t (*sim_roots)[32];
	size_t sim_root_count;
} veil_verify_ctx;

typedef struct veil_evidence_format {
	veil_tee tee;
	const char *name; /* "snp", "tdx", "nvidia", "sim", "sim-gpu" */
	bool device;      /* a device (GPU) report, not a CPU TEE's */
	/* Cheap guess whether buf is this format (used by --tee auto). */
	bool (*detect)(const uint8_t *buf, size_t len);
	/* Pure: bytes in, struct out (caller frees with ->free). Borrows buf
	 * only during the call. */
	veil_err (*parse)(const uint8_t *buf, size_t len, void **out);
	/* Records every check in *checks. VEIL_OK only if all passed; otherwise
	 * VEIL_E_VERIFY (or the first hard error). *cache is this format's slot
	 * in the verifier, or NULL. */
	veil_err (*verify)(const void *ev, const veil_verify_ctx *ctx, void **cache,
			   veil_checks *checks);
	/* Adds the format's documented claims to the object. */
	veil_err (*claims)(const void *ev, json_t *claims);
	/* Borrows the 64-byte REPORT_DATA / REPORTDATA. */
	void (*report_data)(const void *ev, const uint8_t **p, size_t *len);
	void (*free)(void *ev);
	void (*cache_free)(void *cache);
} veil_evidence_format;

const veil_evidence_format *veil_evidence_format_find(const char *name);
/* The format whose detect() accepts buf, or NULL when none or several do. */
const veil_evidence_format *veil_evidence_detect(const uint8_t *buf, size_t len);

/* Parses, verifies, and (when expected_rd is not NULL) compares REPORT_DATA
 * with expected_rd, recorded as the check "report_data". *ev_out (may be NULL)
 * gets the parsed evidence, which the caller frees with fmt->free. */
VEIL_MUST_CHECK veil_err veil_evidence_verify(const veil_evidence_format *fmt, const uint8_t *buf,
					      size_t len, const veil_verify_ctx *ctx,
					      const uint8_t *expected_rd, size_t expected_rd_len,
					      veil_checks *checks, void **ev_out);

/* The format modules, defined in src/evidence/<format>/. */
extern const veil_evidence_format veil_snp_format;
extern const veil_evidence_format veil_tdx_format;
extern const veil_evidence_format veil_nvidia_format;
extern const veil_evidence_format veil_sim_format;
extern const veil_evidence_format veil_sim_gpu_format;

#endif

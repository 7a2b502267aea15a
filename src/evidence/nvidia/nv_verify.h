/*
 * nv_verify.h - verifying an NVIDIA GPU report: chain, signature, FWID, RIMs,
 * revocation; and the cache a long-lived verifier keeps between reports.
 *
 * What the cache remembers is keyed on the collateral it was built from
 * (veil_collateral.id): the GPU certificate chains found there, already
 * parsed, with the time window in which each verified; the RIMs found
 * there, parsed, with their verification outcome and window. A verification
 * at a time outside a remembered window is done again. Only the report's
 * own signature and the measurement comparison run for every report.
 */
#ifndef VEIL_NVIDIA_VERIFY_H
#define VEIL_NVIDIA_VERIFY_H

#include <openssl/x509.h>
#include <pthread.h>

#include "evidence/nvidia/nv_report.h"
#include "evidence/nvidia/rim.h"
#include "veil/evidence.h"
#include "veil/ocsp.h"
#include "veil/x509.h"

#define NV_CACHE_CHAINS_MAX VEIL_COLLATERAL_MAX_FILES
#define NV_CACHE_RIMS_MAX   VEIL_COLLATERAL_MAX_FILES

/* A verification outcome remembered for times in [lo, hi). */
typedef struct nv_outcome {
	bool known, ok;
	int64_t lo, hi;
	char detail[VEIL_CHECK_DETAIL_MAX];
	char detail2[VEIL_CHECK_DETAIL_MAX]; /* RIMs: the chain check's detail */
	bool ok2;
} nv_outcome;

typedef struct nv_chain {
	STACK_OF(X509) * certs; /* leaf first, as NVML returns them */
	const char *origin;     /* borrowed from the collateral */
	bool has_fwid;
	uint8_t fwid[NV_DIGEST_LEN]; /* from the leaf's DICE extension */
	nv_outcome verified;         /* veil_chain_verify to the device root */
} nv_chain;

typedef struct nv_rim_entry {
	rim *rim;
	const char *origin;
	nv_outcome verified; /* signature (ok/detail) and chain (ok2/detail2) */
} nv_rim_entry;

typedef struct nv_cache {
	uint64_t collateral_id;
	bool built;
	size_t chain_count;
	nv_chain chain[NV_CACHE_CHAINS_MAX];
	size_t rim_count;
	nv_rim_entry rim[NV_CACHE_RIMS_MAX];
	bool has_ocsp; /* the collateral holds at least one OCSP response */
} nv_cache;

void nv_cache_free(void *cache);
/* (Re)builds the cache from coll when it was built from other collateral.
 * Fails on collateral that looks like a RIM or a GPU chain but does not
 * parse: a RIM directory is never read in part. */
VEIL_MUST_CHECK veil_err nv_cache_sync(nv_cache *c, const veil_collateral *coll);

/* The pinned "NVIDIA Device Identity CA". Borrowed; NULL only if the
 * built-in text is corrupt. */
X509 *nv_device_root(void);
/* The FWID in the leaf's TCG DICE extension (nv_cert.c). */
VEIL_MUST_CHECK veil_err nv_cert_fwid(X509 *leaf, uint8_t fwid[NV_DIGEST_LEN]);

/* The GPU chip the report comes from ("GH100", "GB100", "GB202"): the
 * CHIP_INFO opaque field when present, else the first word of the leaf
 * certificate's common name. */
void nv_chip_name(const nv_report *r, X509 *leaf, char *out, size_t cap);

/* Result of comparing one RIM with the report. */
typedef struct nv_rim_match {
	size_t active;                          /* active entries compared */
	size_t mismatched;                      /* of those, how many matched no alternative */
	size_t skipped;                         /* index 35 with NVDEC0 disabled */
	int first_mismatch;                     /* RIM index, or -1 */
	char mismatches[VEIL_CHECK_DETAIL_MAX]; /* "9, 12" */
} nv_rim_match;

/* Compares a RIM's active measurements with the report's blocks (RIM
 * index k is SPDM block k + 1; any alternative may match; index 35 is not
 * compared when NVDEC0 status is 0x55). Fails only on a RIM entry that the
 * report has no block of the right size for, which counts as a mismatch. */
void nv_rim_compare(const rim *rm, const nv_report *r, nv_rim_match *out);

/* Per SPDM block index, what the comparison said (nv_result.index_status). */
enum { NV_INDEX_UNCOVERED = 0, NV_INDEX_MATCH, NV_INDEX_MISMATCH, NV_INDEX_SKIPPED };
/* Records the outcome of every active entry of rm into status[256]. */
void nv_rim_mark(const rim *rm, const nv_report *r, uint8_t status[256]);

/* The full verification (nv_verify.c). */
VEIL_MUST_CHECK veil_err nv_report_verify(const nv_report *r, const veil_verify_ctx *ctx,
					  void **cache, veil_checks *checks);

/* What verification found, for the claims: kept in a side structure
 * attached to the report by nv_report_verify. */
typedef struct nv_result {
	char chip[16];
	char hwmodel[64];
	char ueid[64];
	bool chain_ok, signature_ok, fwid_ok, measurements_ok;
	bool fwid_compared;
	char driver_rim[160], vbios_rim[160]; /* origins of the RIMs used */
	nv_rim_match driver_match, vbios_match;
	bool driver_rim_found, vbios_rim_found;
	veil_ocsp_status gpu_ocsp, driver_rim_ocsp, vbios_rim_ocsp;
	bool ocsp_checked;
	bool allow_unknown_revocation; /* the policy in force */
	int64_t at;
	uint8_t index_status[256]; /* by SPDM block index */
} nv_result;

/* The claims (nv_claims.c). */
VEIL_MUST_CHECK veil_err nv_report_claims(const nv_report *r, json_t *claims);
/* Only what the report itself says (nonce, versions, opaque fields,
 * measurements), none of what verification found. */
VEIL_MUST_CHECK veil_err nv_report_claims_fields(const nv_report *r, json_t *claims);

#endif

/*
 * tdx_qeidentity.h - Intel Enclave Identity v2 for the TDX Quoting Enclave
 * (id "TD_QE"), parsed.
 *
 * The QE that signs TDX quotes is itself an SGX enclave; Intel PCS serves
 * its expected identity (MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES
 * under masks) and the status of each ISVSVN as a signed JSON document. The
 * parser is pure; signature and time checks are in tdx_collateral.c.
 *
 * Also declares tdx_tcb_evaluate_docs, the TCB status algorithm on parsed
 * documents (tdx_tcbstatus.c), which tests drive with synthetic documents.
 */
#ifndef VEIL_TDX_QEIDENTITY_H
#define VEIL_TDX_QEIDENTITY_H

#include "evidence/tdx/tdx_tcbinfo.h"

/* enclaveIdentity.tcbLevels[] */
typedef struct tdx_qe_level {
	uint16_t isvsvn;
	int64_t tcb_date;
	tdx_tcb_status status; /* UpToDate, OutOfDate or Revoked (others read as OutOfDate) */
	const json_t *advisories;
} tdx_qe_level;

typedef struct tdx_qeidentity {
	json_t *doc;
	int64_t issue_date;
	int64_t next_update;
	int64_t eval_number;
	uint8_t miscselect[4]; /* in report byte order (little-endian) */
	uint8_t miscselect_mask[4];
	uint8_t attributes[16];
	uint8_t attributes_mask[16];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	size_t level_count;
	tdx_qe_level *level;
} tdx_qeidentity;

/* Parses the enclaveIdentity object (exactly the bytes Intel signed).
 * Rejects an id other than "TD_QE" and a version other than 2. */
VEIL_MUST_CHECK veil_err tdx_qeidentity_parse(const uint8_t *body, size_t len,
					      tdx_qeidentity **out);
void tdx_qeidentity_free(tdx_qeidentity *q);

const tdx_qeidentity *tdx_collateral_qeidentity(const tdx_collateral *col);

/* tdx_tcb_evaluate on already parsed documents (no signatures involved). */
VEIL_MUST_CHECK veil_err tdx_tcb_evaluate_docs(const tdx_tcbinfo *tcb, const tdx_qeidentity *qe,
					       const tdx_tcb_input *in, tdx_tcb_result *out);

#endif

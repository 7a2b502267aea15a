/*
 * tdx_collateral_scan.h - what the scan of the collateral blobs hands the
 * TDX collateral verifier (internal to the tdx module).
 *
 * tdx_collateral_scan.c sorts the blobs by content into candidate TCB Infos,
 * QE identities, certificates and CRLs, parsing but trusting nothing;
 * tdx_collateral.c verifies the candidates and picks the ones to use. This
 * header is the hand-over between the two; nothing else includes it.
 */
#ifndef VEIL_TDX_COLLATERAL_SCAN_H
#define VEIL_TDX_COLLATERAL_SCAN_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/tdx/tdx_qeidentity.h"
#include "veil/collateral.h"
#include "veil/error.h"

/* Certificates and CRLs gathered from one collateral set. */
#define TDX_CERT_POOL_MAX 128
#define TDX_CRLS_MAX      32

/* A signed document found in a blob: the exact signed bytes and r||s. */
typedef struct tdx_signed_doc {
	const char *origin;
	uint8_t *body;
	size_t len;
	uint8_t sig[64];
	int64_t issue, next, eval;
	tdx_tcbinfo *tcb; /* one of these two is set */
	tdx_qeidentity *qe;
} tdx_signed_doc;

/* A CRL found in a blob; root_issued and current are set by the verifier. */
typedef struct tdx_found_crl {
	X509_CRL *crl;
	const char *origin;
	bool root_issued;
	bool current;
} tdx_found_crl;

/* Everything found in one collateral set. The caller allocates it zeroed,
 * with pool an empty stack, and frees it with tdx_scan_free. */
typedef struct tdx_scan {
	tdx_signed_doc tcb[VEIL_COLLATERAL_MAX_FILES];
	size_t ntcb;
	tdx_signed_doc qe[VEIL_COLLATERAL_MAX_FILES];
	size_t nqe;
	STACK_OF(X509) * pool;
	tdx_found_crl crl[TDX_CRLS_MAX];
	size_t ncrl;
} tdx_scan;

/*
 * Sorts one blob into s by its content. A blob that is not Intel DCAP
 * collateral, and SGX (not TDX) documents, are left alone with VEIL_OK.
 * Fails on a blob that is ours but unreadable (bad JSON, a document that is
 * not TDX TCB Info v3 / TD_QE identity v2, a bad signature field, an
 * unparsable certificate or CRL) and on the caps (VEIL_E_LIMIT).
 */
VEIL_MUST_CHECK veil_err tdx_scan_blob(tdx_scan *s, const veil_blob *b);
/* Frees what d holds and zeroes it. */
void tdx_signed_doc_clear(tdx_signed_doc *d);
/* Frees s and everything in it; s may be NULL. */
void tdx_scan_free(tdx_scan *s);

#endif

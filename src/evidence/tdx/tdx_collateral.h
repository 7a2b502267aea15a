/*
 * tdx_collateral.h - Intel DCAP collateral for TDX and the TCB status
 * algorithm (internal to the tdx module).
 *
 * The quote verifier (tdx_verify.c) hands this module what the quote and its
 * PCK certificate say about the platform (tdx_tcb_input); this module finds
 * the matching TCB Info and QE Identity among the collateral blobs, verifies
 * their signatures over the exact bytes as served against the TCB signing
 * chain up to the pinned Intel root, checks their validity windows and the
 * CRLs, and computes the TCB status the way Intel's Quote Verification
 * Library does.
 */
#ifndef VEIL_TDX_COLLATERAL_H
#define VEIL_TDX_COLLATERAL_H

#include <openssl/x509.h>
#include <stdint.h>

#include "veil/check.h"
#include "veil/collateral.h"
#include "veil/error.h"
#include "veil/limits.h"

/* Intel's TCB statuses, plus "no matching level" (TCB level not supported). */
typedef enum tdx_tcb_status {
	TDX_TCB_UP_TO_DATE = 0,
	TDX_TCB_SW_HARDENING_NEEDED,
	TDX_TCB_CONFIGURATION_NEEDED,
	TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	TDX_TCB_OUT_OF_DATE,
	TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	TDX_TCB_REVOKED,
	TDX_TCB_NOT_SUPPORTED,
} tdx_tcb_status;

/* "UpToDate", "OutOfDate", ... as Intel spells them; "TcbLevelNotSupported". */
const char *tdx_tcb_status_str(tdx_tcb_status s);

/* What the quote and its PCK certificate say, as TCB evaluation needs it. */
typedef struct tdx_tcb_input {
	uint8_t fmspc[6];         /* PCK SGX extension FMSPC */
	uint8_t pceid[2];         /* PCK SGX extension PCEID */
	uint8_t cpusvn[16];       /* PCK SGX extension TCB: SGX TCB comp 01..16 */
	uint16_t pcesvn;          /* PCK SGX extension TCB: PCESVN */
	uint8_t tee_tcb_svn[16];  /* TD report body TEE_TCB_SVN */
	uint8_t mrsignerseam[48]; /* TD report body MRSIGNERSEAM */
	uint64_t seam_attributes; /* TD report body SEAMATTRIBUTES */
	/* The QE's enclave report (in the quote's certification data). */
	uint8_t qe_mrsigner[32];
	uint32_t qe_miscselect;
	uint8_t qe_attributes[16];
	uint16_t qe_isvprodid;
	uint16_t qe_isvsvn;
} tdx_tcb_input;

typedef struct tdx_tcb_result {
	tdx_tcb_status status;          /* final, after converging the parts */
	tdx_tcb_status platform_status; /* matched TCB level of TCB Info */
	tdx_tcb_status module_status;   /* TDX module identity level, or UP_TO_DATE if n/a */
	tdx_tcb_status qe_status;       /* QE Identity level */
	int64_t tcb_date;               /* of the matched platform level */
	size_t advisory_count;
	char advisory[VEIL_TDX_ADVISORIES_MAX][32]; /* "INTEL-SA-00837", ... */
} tdx_tcb_result;

/* Verified, parsed collateral for one FMSPC. Opaque. */
typedef struct tdx_collateral tdx_collateral;

/*
 * Finds, among the blobs of c, the TDX TCB Info for fmspc, the TD_QE
 * identity, the TCB signing chain, and any root CA / PCK CRLs; verifies each
 * signature against root at time `at` and checks every validity window,
 * recording checks named "collateral.*". Fail closed: every error is a
 * failure the caller must not work around.
 *
 *   VEIL_OK           *out is usable. If the blobs hold neither TDX TCB Info
 *                     nor a TD_QE identity, tdx_collateral_has_tcb() is
 *                     false (verify without TCB status); any CRLs supplied
 *                     are verified and returned either way.
 *   VEIL_E_NOT_FOUND  partial collateral: TCB Info without TD_QE identity,
 *                     or TD_QE identity without TCB Info.
 *   VEIL_E_MISMATCH   TDX TCB Info present, none for fmspc ("collateral of
 *                     another platform").
 *   VEIL_E_MALFORMED / VEIL_E_UNSUPPORTED  a blob that is Intel collateral
 *                     but not strict JSON, not TDX v3 / TD_QE v2, etc.
 *   VEIL_E_VERIFY / VEIL_E_EXPIRED / VEIL_E_REVOKED  a signature, chain, CRL
 *                     or validity window failed; the check says which.
 * Each failure is recorded as a failed check; checks may be NULL.
 */
VEIL_MUST_CHECK veil_err tdx_collateral_load(const veil_collateral *c, X509 *root,
					     const uint8_t fmspc[6], int64_t at,
					     veil_checks *checks, tdx_collateral **out);
void tdx_collateral_free(tdx_collateral *col);
/* Re-checks the validity windows of already loaded collateral at `at`. */
VEIL_MUST_CHECK veil_err tdx_collateral_check_time(const tdx_collateral *col, int64_t at);
/* True when TCB Info and TD_QE identity were loaded (TCB status can be
 * evaluated); false for a set that had neither. */
bool tdx_collateral_has_tcb(const tdx_collateral *col);
/*
 * The interval [*from, *until) around the load time in which no certificate,
 * CRL or document of the collateral set starts or ends its validity: loading
 * the same set at any time in it gives the same result, so a cache may reuse
 * col exactly there and nowhere else.
 */
void tdx_collateral_window(const tdx_collateral *col, int64_t *from, int64_t *until);
/* The verified CRLs (root CA CRL, PCK CRL), borrowed; may be empty. */
STACK_OF(X509_CRL) * tdx_collateral_crls(const tdx_collateral *col);

/*
 * Intel's TCB status algorithm (QVL TcbLevelCheck / TdxModuleCheck /
 * QE identity check, then convergence). Fails with VEIL_E_MISMATCH when the
 * FMSPC/PCEID or QE identity (MRSIGNER, ISVPRODID, masked MISCSELECT and
 * ATTRIBUTES) or the TDX module (MRSIGNERSEAM, SEAM attributes) does not
 * match the collateral. A quote matching no level gets
 * TDX_TCB_NOT_SUPPORTED with VEIL_OK; the caller treats it as a failure.
 */
VEIL_MUST_CHECK veil_err tdx_tcb_evaluate(const tdx_collateral *col, const tdx_tcb_input *in,
					  tdx_tcb_result *out);

/* The built-in, pinned Intel SGX Root CA (parsed once; borrowed). */
X509 *tdx_intel_root(void);

#endif

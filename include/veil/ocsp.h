/*
 * ocsp.h - certificate status from OCSP responses (RFC 6960).
 *
 * Veil reads OCSP responses the way it reads CRLs: as collateral the caller
 * supplies (from a cache directory, or fetched earlier), matched to the
 * certificate by content (the CertID), checked at an explicit time. A
 * response counts only when it is successful, validly signed by the issuer
 * or by a responder certificate the issuer delegated (id-kp-OCSPSigning),
 * and current at the verification time (thisUpdate <= at + VEIL_OCSP_SKEW
 * and at < nextUpdate; a response without nextUpdate is current until
 * VEIL_OCSP_MAX_AGE seconds after its thisUpdate). What to do when no usable
 * response exists (status unknown) is the caller's policy, not this module's.
 */
#ifndef VEIL_OCSP_H
#define VEIL_OCSP_H

#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "veil/collateral.h"
#include "veil/error.h"
#include "veil/limits.h"

/*
 * Seconds a response's thisUpdate may lie after the verification time, for
 * a responder whose clock runs a little ahead of ours (the `sec` argument
 * of OpenSSL's OCSP_check_validity, with the 300 s its manual suggests).
 * nextUpdate and VEIL_OCSP_MAX_AGE get no such allowance: a response is
 * never used past its end.
 */
#define VEIL_OCSP_SKEW 300

typedef enum veil_ocsp_status {
	VEIL_OCSP_UNKNOWN = 0, /* no usable response, or the responder said "unknown" */
	VEIL_OCSP_GOOD,
	VEIL_OCSP_REVOKED,
} veil_ocsp_status;

typedef struct veil_ocsp_result {
	veil_ocsp_status status;
	int reason;          /* CRL reason code when revoked (6 = certificateHold), else -1 */
	int64_t revoked_at;  /* when revoked, else 0 */
	int64_t this_update; /* of the response used, else 0 */
	int64_t next_update; /* of the response used, 0 when absent */
	char origin[128];    /* collateral origin of the response used (truncated), else "" */
} veil_ocsp_result;

/* Parses one DER OCSPResponse that must fill the buffer exactly. *out is
 * the caller's to free with OCSP_RESPONSE_free. Only the outer structure is
 * decoded here; the status and the basic response are read by the check. */
VEIL_MUST_CHECK veil_err veil_ocsp_response_parse(const uint8_t *buf, size_t len,
						  OCSP_RESPONSE **out);

/*
 * The status of cert (issued by issuer) at time `at` from the OCSP responses
 * among the collateral blobs. Borrows everything; never reads the clock.
 *
 * Which blobs are looked at: a blob that is not a DER OCSPResponse is
 * skipped. So is a response whose responseStatus is not successful
 * (tryLater, internalError, ...) or that carries no basic response: RFC
 * 6960 section 4.2.1 gives such a response no responseBytes, hence no
 * CertID, so nothing relates it to cert. A successful basic response is
 * about cert when one of its SingleResponses has the CertID of (cert,
 * issuer) computed with the hash algorithm that CertID names (SHA-1, the
 * RFC 5019 profile's choice, or SHA-256/384/512: NVIDIA's verifier asks
 * with SHA-384; other algorithms are never a match). Responses about other
 * certificates are skipped unread.
 *
 * A response that is about cert but fails a check is an error naming the
 * failure and the blob, never skipped: VEIL_E_VERIFY when the signature is
 * wrong or the signer is neither the issuer's key nor a responder
 * certificate included in the response, issued and signed by issuer, with
 * extendedKeyUsage id-kp-OCSPSigning and digitalSignature if it has a key
 * usage (RFC 6960 section 4.2.2.2; trusted responders of other CAs are not
 * supported); VEIL_E_EXPIRED when the response is not current at `at`, or
 * the responder certificate not valid at `at`; VEIL_E_UNSUPPORTED for a
 * critical extension other than the nonce; VEIL_E_MALFORMED for unreadable
 * times or a revocation reason that is not a CRLReason. Not checked: the
 * responder certificate's own revocation, producedAt, the nonce.
 *
 * Several usable responses: "revoked" wins over "good", which wins over the
 * responder's "unknown"; among equals the latest thisUpdate (then the first
 * blob) fills *out. None: VEIL_OK with status VEIL_OCSP_UNKNOWN. cert not
 * issued by issuer: VEIL_E_USAGE. On any error *out reads "unknown".
 */
VEIL_MUST_CHECK veil_err veil_ocsp_check(X509 *cert, X509 *issuer, const veil_collateral *coll,
					 int64_t at, veil_ocsp_result *out);

const char *veil_ocsp_status_name(veil_ocsp_status s); /* "good", "revoked", "unknown" */

#endif

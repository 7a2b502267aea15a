/*
 * x509.h - certificate chains, CRLs and extensions, on OpenSSL.
 *
 * Veil verifies a chain to one pinned root at an explicit time through
 * OpenSSL's X509_STORE with X509_V_FLAG_USE_CHECK_TIME, so basic constraints,
 * key usage and path length are checked the standard way, and adds CRL checks
 * when CRLs are given. The error detail names the certificate that failed
 * and why. Certificates are decoded by OpenSSL; the extension values Veil
 * interprets itself (AMD's TCB extensions, Intel's SGX extensions) are read
 * with the bounded DER reader in der.h.
 */
#ifndef VEIL_X509_H
#define VEIL_X509_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

/* Parses one DER certificate that must fill the buffer exactly. */
VEIL_MUST_CHECK veil_err veil_cert_parse_der(const uint8_t *buf, size_t len, X509 **out);
/* Parses a PEM bundle (1..VEIL_CERT_BUNDLE_MAX certificates, other PEM block
 * types and text between blocks ignored) or a single DER certificate.
 * *out is a new stack the caller frees with sk_X509_pop_free(.., X509_free). */
VEIL_MUST_CHECK veil_err veil_certs_parse(const uint8_t *buf, size_t len, STACK_OF(X509) * *out);
/* Parses one CRL, PEM or DER. */
VEIL_MUST_CHECK veil_err veil_crl_parse(const uint8_t *buf, size_t len, X509_CRL **out);

/* Parses a built-in PEM certificate and returns it (new reference) only if
 * it is exactly one certificate whose SHA-256 fingerprint is sha256; NULL
 * otherwise (the built-in text was edited). For pinned trust anchors. */
X509 *veil_cert_pinned(const char *pem, const uint8_t sha256[32]);

/* SHA-256 of the DER encoding (the pinning fingerprint). */
VEIL_MUST_CHECK veil_err veil_cert_sha256(X509 *cert, uint8_t out[32]);
/* The subject common name, or "?" (for messages). */
const char *veil_cert_cn(X509 *cert, char *buf, size_t cap);
/* Validity window as Unix seconds. */
VEIL_MUST_CHECK veil_err veil_cert_validity(const X509 *cert, int64_t *not_before,
					    int64_t *not_after);
VEIL_MUST_CHECK veil_err veil_crl_validity(const X509_CRL *crl, int64_t *this_update,
					   int64_t *next_update);

/*
 * Verifies leaf -> untrusted intermediates -> root at time `at`, where root
 * is the only trust anchor. crls (may be NULL) are checked for every
 * certificate they cover and must themselves be signed by the issuer and
 * current at `at`; a certificate whose issuer has no CRL among them is not
 * checked for revocation, unless require_crls is true, in which case it
 * fails (X509_V_FLAG_CRL_CHECK_ALL semantics).
 */
VEIL_MUST_CHECK veil_err veil_chain_verify(X509 *leaf, STACK_OF(X509) * intermediates, X509 *root,
					   STACK_OF(X509_CRL) * crls, bool require_crls,
					   int64_t at);

/* Borrows the value (the OCTET STRING contents) of the extension with this
 * dotted OID. VEIL_E_NOT_FOUND when absent; VEIL_E_MALFORMED when repeated. */
VEIL_MUST_CHECK veil_err veil_cert_ext(X509 *cert, const char *oid, const uint8_t **value,
				       size_t *len);

#endif

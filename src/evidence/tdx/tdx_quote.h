/*
 * tdx_quote.h - the Intel TDX quote (v4 and v5) as parsed bytes, and the
 * module-internal interface between the parser, the PCK certificate reader,
 * the verifier and the claims.
 *
 * Layout follows "Intel TDX DCAP Quote Generation Library and Quote
 * Verification Library" (rev 0.9 / 1.x), appendix "Quote Format":
 *
 *   header (48) | [v5: body type u16, body size u32] | TD report body |
 *   signature data length u32 | signature data
 *
 * and the signature data of attestation key type 2 (ECDSA-256-with-P-256):
 *
 *   quote signature (64) | attestation key (64) | certification data:
 *     type u16 = 6 (QE report certification data) | size u32 |
 *       QE report (384) | QE report signature (64) |
 *       QE auth data: size u16 | bytes |
 *       certification data: type u16 = 5 (PCK cert chain, PEM) | size u32 | bytes
 *
 * The parser owns a copy of the quote (without any trailing bytes), so every
 * offset below indexes q->raw and stays valid after the caller's buffer goes.
 */
#ifndef VEIL_TDX_QUOTE_H
#define VEIL_TDX_QUOTE_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/tdx/tdx_collateral.h"
#include "veil/check.h"
#include "veil/error.h"

/* Quote format: sizes and codes. */
#define TDX_QUOTE_HEADER_LEN      48
#define TDX_QUOTE_V4              4
#define TDX_QUOTE_V5              5
#define TDX_ATT_KEY_ECDSA_P256    2
#define TDX_TEE_TYPE_TDX          0x00000081u
#define TDX_BODY_TYPE_TDX10       2 /* v5 body type: TD report, TDX 1.0 */
#define TDX_BODY_TYPE_TDX15       3 /* v5 body type: TD report, TDX 1.5 */
#define TDX_BODY_TDX10_LEN        584
#define TDX_BODY_TDX15_LEN        648
#define TDX_ECDSA_SIG_LEN         64 /* r || s, 32 bytes each, big-endian */
#define TDX_ECDSA_KEY_LEN         64 /* x || y, 32 bytes each, big-endian */
#define TDX_CERT_QE_REPORT        6
#define TDX_CERT_PCK_CHAIN        5
#define TDX_QE_REPORT_LEN         384
#define TDX_QE_REPORT_DATA_OFFSET 320

/* TD attributes bits (TDX module ABI, TDINFO_STRUCT.ATTRIBUTES). */
#define TDX_ATTR_DEBUG           (UINT64_C(1) << 0)
#define TDX_ATTR_SEPT_VE_DISABLE (UINT64_C(1) << 28)
#define TDX_ATTR_PKS             (UINT64_C(1) << 30)
#define TDX_ATTR_KL              (UINT64_C(1) << 31)
#define TDX_ATTR_PERFMON         (UINT64_C(1) << 63)

/* TD report body (TDX 1.0: 584 bytes; TDX 1.5 adds the last two fields). */
typedef struct tdx_td_body {
	uint8_t tee_tcb_svn[16];
	uint8_t mr_seam[48];
	uint8_t mr_signer_seam[48];
	uint64_t seam_attributes;
	uint64_t td_attributes;
	uint64_t xfam;
	uint8_t mr_td[48];
	uint8_t mr_config_id[48];
	uint8_t mr_owner[48];
	uint8_t mr_owner_config[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	bool tdx15; /* the two fields below are present */
	uint8_t tee_tcb_svn2[16];
	uint8_t mr_service_td[48];
} tdx_td_body;

/* The QE's SGX enclave report (SGX REPORT_BODY, 384 bytes). */
typedef struct tdx_qe_report {
	uint8_t cpusvn[16];
	uint32_t miscselect;
	uint8_t attributes[16];
	uint8_t mr_enclave[32];
	uint8_t mr_signer[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint8_t report_data[64];
} tdx_qe_report;

/* What the PCK leaf certificate's SGX extensions say (Intel "SGX PCK
 * Certificate and CRL Profile", OID 1.2.840.113741.1.13.1). */
typedef struct tdx_pck_ext {
	uint8_t ppid[16];
	uint8_t tcb_comp[16]; /* SGX TCB comp 01..16 */
	uint16_t pcesvn;
	uint8_t cpusvn[16];
	uint8_t pceid[2];
	uint8_t fmspc[6];
	uint32_t sgx_type; /* 0 Standard, 1 Scalable, 2 Scalable with integrity */
} tdx_pck_ext;

/* What verification found out, for the claims (filled by verify). */
typedef struct tdx_findings {
	bool have_pck; /* pck below is from the verified leaf */
	tdx_pck_ext pck;
	bool processor_ca;  /* leaf issued by the Processor CA (else Platform) */
	bool tcb_evaluated; /* tcb below holds a result */
	tdx_tcb_result tcb;
	bool revocation_checked;
} tdx_findings;

typedef struct tdx_quote {
	uint8_t *raw; /* owned copy of the quote, trailing bytes excluded */
	size_t raw_len;
	size_t trailing; /* bytes after the signature data, ignored */

	/* Header (48 bytes). */
	uint16_t version;
	uint16_t att_key_type;
	uint32_t tee_type;
	uint8_t header_reserved[4];
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];

	/* Body: v4 always type 2 / 584 bytes. */
	uint16_t body_type;
	uint32_t body_size;
	tdx_td_body body;
	size_t signed_len; /* the quote signature covers raw[0, signed_len) */

	/* Signature data. */
	uint8_t signature[TDX_ECDSA_SIG_LEN];
	uint8_t attest_key[TDX_ECDSA_KEY_LEN];
	size_t qe_report_off; /* raw[qe_report_off, +384) is the signed QE report */
	tdx_qe_report qe;
	uint8_t qe_report_sig[TDX_ECDSA_SIG_LEN];
	size_t qe_auth_off, qe_auth_len;
	size_t pck_off, pck_len; /* the type-5 certification data, as in the quote */

	/* Separately allocated, so verify can record findings on a const quote. */
	tdx_findings *found;
} tdx_quote;

/* Parses a v4 or v5 quote of len bytes (borrowed during the call). Bytes
 * after the signature data are tolerated and counted in ->trailing. */
VEIL_MUST_CHECK veil_err tdx_quote_parse(const uint8_t *buf, size_t len, tdx_quote **out);
void tdx_quote_free(tdx_quote *q);
/* Cheap header check: v4/v5, attestation key type 2, TEE type 0x81. */
bool tdx_quote_detect(const uint8_t *buf, size_t len);

/* Reads the SGX extension value (the OCTET STRING contents of extension
 * 1.2.840.113741.1.13.1). Pure. */
VEIL_MUST_CHECK veil_err tdx_pck_ext_parse(const uint8_t *der, size_t len, tdx_pck_ext *out);
/* Finds and reads the SGX extension of a PCK certificate. */
VEIL_MUST_CHECK veil_err tdx_pck_ext_from_cert(X509 *cert, tdx_pck_ext *out);

/* Parses the quote's PEM chain: *leaf (the first certificate) and
 * *intermediates (all others except a copy of the pinned root, which must
 * match byte for byte). Checks the Intel PCK naming. Caller frees both. */
VEIL_MUST_CHECK veil_err tdx_pck_chain_parse(const uint8_t *pem, size_t len, X509 *root,
					     X509 **leaf, STACK_OF(X509) * *intermediates,
					     bool *processor_ca);

/*
 * Verifies leaf -> intermediates -> root at `at` with the CRLs among `crls`
 * (may be NULL) that cover the chain: the PCK CRL of the leaf's issuer and
 * the root CA CRL. With both, every certificate must be covered and
 * *checked is true; with one, it is applied by lookup. On success
 * [*not_before, *not_after] is the window in which the certificates and the
 * applied CRLs are all valid (empty if unknown), for caching.
 */
VEIL_MUST_CHECK veil_err tdx_pck_chain_verify(X509 *leaf, STACK_OF(X509) * intermediates,
					      X509 *root, STACK_OF(X509_CRL) * crls, int64_t at,
					      bool *checked, int64_t *not_before,
					      int64_t *not_after);

/* The verify / claims / cache entry points of the format table. */
struct veil_verify_ctx;
VEIL_MUST_CHECK veil_err tdx_quote_verify(const tdx_quote *q, const struct veil_verify_ctx *ctx,
					  void **cache, veil_checks *checks);
void tdx_cache_free(void *cache);
VEIL_MUST_CHECK veil_err tdx_quote_claims(const tdx_quote *q, json_t *claims);

#endif

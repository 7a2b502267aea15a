/*
 * rim.h - NVIDIA Reference Integrity Manifests (RIMs).
 *
 * A RIM is an ISO/IEC 19770-2 SWID tag (TCG RIM information model) that
 * lists the golden SHA-384 measurements of one driver or VBIOS release,
 * signed with an enveloped XML-DSig signature (C14N 1.1, ecdsa-sha384) whose
 * KeyInfo carries the signing chain (L4 signer, L3, "NVIDIA Reference Value
 * <chip> CA"), ending at the pinned "NVIDIA CoRIM signing Root CA".
 *
 * Parsing (rim_parse) is pure and bounded: libxml2 with the network, DTDs
 * and entity substitution off, then the identity (product, version) and the
 * measurement list are read from the document. Verification (rim_verify)
 * checks the XML signature with xmlsec over the whole document (one
 * Reference, URI "", enveloped-signature and C14N transforms only), using the
 * key of the leaf certificate from KeyInfo, and the chain of that
 * certificate to the root at an explicit time. The identity and the
 * measurements are only trusted after rim_verify passed; they come from the
 * same document the signature covers.
 */
#ifndef VEIL_NVIDIA_RIM_H
#define VEIL_NVIDIA_RIM_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/check.h"
#include "veil/error.h"

/* Caps on what one RIM may declare. */
#define RIM_MAX_BYTES        (512 * 1024)
#define RIM_MAX_MEASUREMENTS 128 /* SPDM allows indices 1..254; NVIDIA uses 64 */
#define RIM_MAX_INDEX        253 /* RIM index k is SPDM block k + 1, at most 254 */
#define RIM_MAX_ALTERNATIVES 8
#define RIM_DIGEST_LEN       48 /* SHA-384 */

typedef struct rim_measurement {
	uint32_t index; /* RIM index k; SPDM block index is k + 1 */
	bool active;
	uint8_t alternatives; /* 1..RIM_MAX_ALTERNATIVES */
	uint8_t value[RIM_MAX_ALTERNATIVES][RIM_DIGEST_LEN];
} rim_measurement;

typedef struct rim {
	char product[32]; /* Meta@product, e.g. "GH100" */
	char version[64]; /* Meta@colloquialVersion, e.g. "545.00", "96.00.5E.00.01" */
	char tag_id[160]; /* SoftwareIdentity@tagId */
	size_t count;     /* measurements, sorted by index, indices unique */
	rim_measurement m[RIM_MAX_MEASUREMENTS];
	STACK_OF(X509) * certs; /* KeyInfo X509Certificate elements, document order */
	void *doc;              /* the parsed xmlDoc, kept for rim_verify */
	X509 *signer;           /* set by rim_verify */
} rim;

/* Pure: parses the XML and the fields above. Fails (VEIL_E_MALFORMED,
 * VEIL_E_LIMIT, VEIL_E_UNSUPPORTED) on anything that is not a well-formed
 * RIM of this shape, with a detail naming what was wrong: a DTD, more or less
 * than one ds:Signature (which must be a child of the root), no KeyInfo
 * certificate, and every bad Meta or Resource field. Only Resource elements
 * of type "Measurement" that are children of the root's one Payload are
 * read; other Resource types are skipped. On failure *out is NULL. */
VEIL_MUST_CHECK veil_err rim_parse(const uint8_t *buf, size_t len, rim **out);
void rim_free(rim *r);

/*
 * Verifies the XML signature and the signing chain to root at time `at`.
 * Records two checks in `checks`, under the static names the caller gives
 * (e.g. "driver_rim.signature", "driver_rim.chain"), and returns VEIL_OK only
 * when both passed. The leaf certificate is the one whose key verified the
 * signature; the other KeyInfo certificates serve as intermediates.
 * Both checks are always made: when the signature fails, the chain of the
 * one end-entity certificate in KeyInfo is still checked (so an expired
 * chain is reported too). The return value is the first failure's error,
 * with its detail. Takes r non-const because it sets r->signer (and xmlsec
 * registers the ds:Id attributes of the Signature in the document).
 */
VEIL_MUST_CHECK veil_err rim_verify(rim *r, X509 *root, int64_t at, const char *sig_check,
				    const char *chain_check, veil_checks *checks);

/* The leaf (signing) certificate after a successful rim_verify, borrowed;
 * NULL before. Used for the revocation check of the RIM chain. */
X509 *rim_signer(const rim *r);

/* The pinned "NVIDIA CoRIM signing Root CA" (built in). Borrowed. */
VEIL_MUST_CHECK veil_err rim_root(X509 **out);

#endif

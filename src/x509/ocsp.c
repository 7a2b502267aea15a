/*
 * ocsp.c - certificate status from OCSP responses in the collateral (RFC 6960).
 *
 * OCSP responses reach Veil as collateral blobs, not over HTTP: whoever
 * fetched them (a cache directory, the NVIDIA evidence path) hands them in,
 * and this file decides, at the verification time it is given, whether one
 * of them says something trustworthy about a certificate. OpenSSL decodes
 * the ASN.1 and computes CertIDs; the checks of RFC 6960 section 3.2 (the
 * response is about this certificate, signed by an authorized responder,
 * current) are written out here rather than left to OCSP_basic_verify, so
 * that no step consults the wall clock (OCSP_basic_verify builds the
 * responder's chain with X509_verify_cert, which does unless told
 * otherwise) and so the responder rules read top to bottom.
 */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/ocsp.h"
#include "veil/timeutil.h"
#include "veil/x509.h"

/*
 * The hash algorithms a response's CertID may use for us to recognize it.
 * RFC 6960 section 4.1.1 leaves the choice to the requester; responders
 * answer in the algorithm they were asked with, which in practice is SHA-1
 * (RFC 5019 section 2.1.1 requires it of lightweight clients). Weaker
 * algorithms are never a match, so a response in one is skipped.
 */
static const struct {
	int nid;
	const EVP_MD *(*md)(void);
} ocsp_certid_algs[] = {
    {NID_sha1, EVP_sha1},
    {NID_sha256, EVP_sha256},
    {NID_sha384, EVP_sha384},
    {NID_sha512, EVP_sha512},
};
#define OCSP_CERTID_ALGS (sizeof ocsp_certid_algs / sizeof ocsp_certid_algs[0])

/* The certificate being checked, with its CertID in each algorithm,
 * computed on first need. */
typedef struct ocsp_subject {
	X509 *cert;
	X509 *issuer;
	OCSP_CERTID *id[OCSP_CERTID_ALGS];
	char cn[128];
} ocsp_subject;

const char *veil_ocsp_status_name(veil_ocsp_status s)
{
	switch (s) {
	case VEIL_OCSP_GOOD:
		return "good";
	case VEIL_OCSP_REVOKED:
		return "revoked";
	case VEIL_OCSP_UNKNOWN:
		break;
	}
	return "unknown";
}

/* Decodes without touching the error detail (veil_ocsp_check skips what
 * does not decode); VEIL_OK, or the kind of failure. */
static veil_err ocsp_decode(const uint8_t *buf, size_t len, OCSP_RESPONSE **out, size_t *extra)
{
	const unsigned char *p = buf;
	OCSP_RESPONSE *resp;

	*extra = 0;
	if (len == 0)
		return VEIL_E_TRUNCATED;
	if (len > VEIL_COLLATERAL_FILE_MAX_BYTES)
		return VEIL_E_LIMIT;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (resp == NULL)
		return VEIL_E_MALFORMED;
	if (p != buf + len) {
		*extra = (size_t)(buf + len - p);
		OCSP_RESPONSE_free(resp);
		return VEIL_E_TRAILING;
	}
	*out = resp;
	return VEIL_OK;
}

veil_err veil_ocsp_response_parse(const uint8_t *buf, size_t len, OCSP_RESPONSE **out)
{
	size_t extra;
	veil_err err;

	ENSURE(buf != NULL || len == 0, VEIL_E_USAGE, "no OCSP response buffer");
	err = ocsp_decode(buf, len, out, &extra);
	switch (err) {
	case VEIL_OK:
		return VEIL_OK;
	case VEIL_E_TRUNCATED:
		return veil_fail(err, "empty OCSP response");
	case VEIL_E_LIMIT:
		return veil_fail(err, "OCSP response of %zu bytes, over the %d-byte limit", len,
				 VEIL_COLLATERAL_FILE_MAX_BYTES);
	case VEIL_E_TRAILING:
		return veil_fail(err, "%zu bytes after the DER OCSP response", extra);
	default:
		return veil_openssl_fail(VEIL_E_MALFORMED, "not a DER OCSP response");
	}
}

/* ASN1_TIME_to_tm reads the wall clock when given NULL; never let it. */
static veil_err ocsp_time(const ASN1_GENERALIZEDTIME *t, const char *what, const char *origin,
			  int64_t *out)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return veil_fail(VEIL_E_MALFORMED, "OCSP response %s: bad %s", origin, what);
	}
	*out = (int64_t)timegm(&tm);
	return VEIL_OK;
}

/* Whether `theirs` is the CertID of s->cert (RFC 6960 section 4.1.1:
 * hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber), recomputed
 * in the algorithm `theirs` names. */
static veil_err ocsp_certid_matches(ocsp_subject *s, const OCSP_CERTID *theirs, bool *match)
{
	ASN1_OBJECT *alg = NULL;

	*match = false;
	/* OCSP_id_get0_info takes a non-const CertID but only reads it. */
	if (OCSP_id_get0_info(NULL, &alg, NULL, NULL, (OCSP_CERTID *)theirs) != 1 || alg == NULL)
		return VEIL_OK;
	int nid = OBJ_obj2nid(alg);
	for (size_t i = 0; i < OCSP_CERTID_ALGS; i++) {
		if (ocsp_certid_algs[i].nid != nid)
			continue;
		if (s->id[i] == NULL) {
			s->id[i] = OCSP_cert_to_id(ocsp_certid_algs[i].md(), s->cert, s->issuer);
			if (s->id[i] == NULL)
				return veil_openssl_fail(VEIL_E_CRYPTO, "computing an OCSP CertID");
		}
		*match = OCSP_id_cmp(s->id[i], theirs) == 0;
		break;
	}
	return VEIL_OK;
}

/*
 * A responder certificate other than the issuer's own may sign only if the
 * issuer delegated OCSP signing to it: RFC 6960 section 4.2.2.2, "issued
 * directly by the CA that is identified in the request" and carrying
 * id-kp-OCSPSigning in extendedKeyUsage. An absent EKU does not count
 * (OpenSSL's X509_get_extended_key_usage would report "all" for it), nor
 * does anyExtendedKeyUsage.
 */
static veil_err ocsp_delegate_check(X509 *signer, ocsp_subject *s, int64_t at, const char *origin)
{
	uint32_t flags = X509_get_extension_flags(signer);
	int64_t not_before, not_after;
	char cn[128];

	veil_cert_cn(signer, cn, sizeof cn);
	ENSURE((flags & EXFLAG_INVALID) == 0, VEIL_E_VERIFY,
	       "OCSP response %s: responder certificate \"%s\" has invalid extensions", origin, cn);
	ENSURE(X509_check_issued(s->issuer, signer) == X509_V_OK &&
		   X509_verify(signer, X509_get0_pubkey(s->issuer)) == 1,
	       VEIL_E_VERIFY,
	       "OCSP response %s: responder \"%s\" is neither the issuer of \"%s\" nor a "
	       "certificate it issued",
	       origin, cn, s->cn);
	ERR_clear_error();
	ENSURE((flags & EXFLAG_XKUSAGE) != 0 &&
		   (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) != 0,
	       VEIL_E_VERIFY,
	       "OCSP response %s: responder \"%s\" is not authorized to sign OCSP responses "
	       "(no id-kp-OCSPSigning extended key usage)",
	       origin, cn);
	ENSURE((flags & EXFLAG_KUSAGE) == 0 ||
		   (X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE) != 0,
	       VEIL_E_VERIFY,
	       "OCSP response %s: responder \"%s\" key usage does not allow digitalSignature",
	       origin, cn);
	TRY(veil_cert_validity(signer, &not_before, &not_after));
	ENSURE(at >= not_before && at <= not_after, VEIL_E_EXPIRED,
	       "OCSP response %s: responder certificate \"%s\" is not valid at the verification "
	       "time",
	       origin, cn);
	return VEIL_OK;
}

/* The response is signed by s->issuer's key or by a delegate of it. */
static veil_err ocsp_signature_check(OCSP_BASICRESP *bs, ocsp_subject *s, int64_t at,
				     const char *origin)
{
	STACK_OF(X509) *extra = sk_X509_new_null();
	X509 *signer = NULL;
	EVP_PKEY *key;
	veil_err err = VEIL_OK;

	CHECK_THAT(extra != NULL && sk_X509_push(extra, s->issuer) > 0, VEIL_E_NOMEM,
		   "out of memory");
	/* The ResponderID (by name or by key hash) picks the signer among the
	 * response's certificates, then the issuer; nothing else is looked at. */
	CHECK_THAT(OCSP_resp_get0_signer(bs, &signer, extra) == 1 && signer != NULL, VEIL_E_VERIFY,
		   "OCSP response %s: its responder is neither the issuer of \"%s\" nor a "
		   "certificate included in the response",
		   origin, s->cn);
	key = X509_get0_pubkey(signer);
	CHECK_THAT(key != NULL, VEIL_E_VERIFY, "OCSP response %s: unusable responder key", origin);
	/* Signed by the CA itself: compare keys, not certificates, so a
	 * re-issued or cross-signed copy of the issuer's certificate counts. */
	if (EVP_PKEY_eq(key, X509_get0_pubkey(s->issuer)) != 1)
		CHECK(ocsp_delegate_check(signer, s, at, origin));
	/* RFC 6960 section 4.2.1: the signature is over the DER of
	 * tbsResponseData (ResponseData). */
	CHECK_THAT(ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(bs),
				    OCSP_resp_get0_signature(bs), OCSP_resp_get0_respdata(bs),
				    key) == 1,
		   VEIL_E_VERIFY, "OCSP response %s about \"%s\": signature does not verify",
		   origin, s->cn);
out:
	ERR_clear_error();
	sk_X509_free(extra);
	return err;
}

/*
 * RFC 5280 section 4.2: a critical extension the reader does not
 * understand makes the object unusable. The one understood is the nonce
 * (RFC 6960 section 4.4.1), which NVIDIA's verifier requests as critical:
 * it ties a response to a request, which for a response read from a cache
 * Veil never made, so it is accepted and not checked.
 */
static veil_err ocsp_ext_known(X509_EXTENSION *ext, const char *where, const char *origin)
{
	int nid;
	char oid[64] = "?";

	if (ext == NULL || X509_EXTENSION_get_critical(ext) <= 0)
		return VEIL_OK;
	nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
	if (nid == NID_id_pkix_OCSP_Nonce)
		return VEIL_OK;
	OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1);
	return veil_fail(VEIL_E_UNSUPPORTED,
			 "OCSP response %s: unsupported critical %s extension %s", origin, where,
			 oid);
}

/* RFC 5280 section 5.3.1 CRLReason: 0..10, 7 unused; -1 when absent. */
static bool ocsp_reason_valid(int reason)
{
	return reason == -1 || (reason >= 0 && reason <= 10 && reason != 7);
}

/* Reads one SingleResponse about s->cert and checks it is current at `at`
 * (RFC 6960 section 4.2.2.1). */
static veil_err ocsp_single_read(OCSP_SINGLERESP *single, ocsp_subject *s, int64_t at,
				 const char *origin, veil_ocsp_result *r)
{
	ASN1_GENERALIZEDTIME *revoked = NULL, *this_update = NULL, *next_update = NULL;
	int reason = -1;
	char t1[21], t2[21];

	int status = OCSP_single_get0_status(single, &reason, &revoked, &this_update, &next_update);
	for (int i = 0; i < OCSP_SINGLERESP_get_ext_count(single); i++)
		TRY(ocsp_ext_known(OCSP_SINGLERESP_get_ext(single, i), "singleExtensions", origin));
	TRY(ocsp_time(this_update, "thisUpdate", origin, &r->this_update));
	if (next_update != NULL)
		TRY(ocsp_time(next_update, "nextUpdate", origin, &r->next_update));
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		r->status = VEIL_OCSP_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		ENSURE(ocsp_reason_valid(reason), VEIL_E_MALFORMED,
		       "OCSP response %s: revocation reason %d is not a CRLReason", origin, reason);
		r->status = VEIL_OCSP_REVOKED;
		r->reason = reason;
		TRY(ocsp_time(revoked, "revocationTime", origin, &r->revoked_at));
		break;
	case V_OCSP_CERTSTATUS_UNKNOWN:
		r->status = VEIL_OCSP_UNKNOWN;
		break;
	default:
		return veil_fail(VEIL_E_MALFORMED, "OCSP response %s: unreadable certStatus",
				 origin);
	}

	/* Written so that no sum can overflow: `at` is the caller's, the
	 * update times are years 0..9999. Times are formatted only for a
	 * message. */
	veil_time_format(r->this_update, t1);
	if (r->this_update - VEIL_OCSP_SKEW > at) {
		veil_time_format(at, t2);
		return veil_fail(VEIL_E_EXPIRED,
				 "OCSP response %s about \"%s\" is not yet valid: thisUpdate %s is "
				 "after the verification time %s",
				 origin, s->cn, t1, t2);
	}
	if (next_update != NULL) {
		ENSURE(r->next_update >= r->this_update, VEIL_E_MALFORMED,
		       "OCSP response %s: nextUpdate before thisUpdate", origin);
		if (at >= r->next_update) {
			veil_time_format(r->next_update, t1);
			veil_time_format(at, t2);
			return veil_fail(
			    VEIL_E_EXPIRED,
			    "OCSP response %s about \"%s\" expired: nextUpdate %s is not "
			    "after the verification time %s",
			    origin, s->cn, t1, t2);
		}
	} else if (at > r->this_update + VEIL_OCSP_MAX_AGE) {
		veil_time_format(at, t2);
		return veil_fail(
		    VEIL_E_EXPIRED,
		    "OCSP response %s about \"%s\" has no nextUpdate and its thisUpdate "
		    "%s is more than %d seconds before the verification time %s",
		    origin, s->cn, t1, VEIL_OCSP_MAX_AGE, t2);
	}
	return VEIL_OK;
}

static int ocsp_status_rank(veil_ocsp_status s)
{
	return s == VEIL_OCSP_REVOKED ? 2 : s == VEIL_OCSP_GOOD ? 1 : 0;
}

static void ocsp_result_reset(veil_ocsp_result *r)
{
	memset(r, 0, sizeof *r);
	r->status = VEIL_OCSP_UNKNOWN;
	r->reason = -1;
}

/* Copies at most sizeof origin - 1 bytes, not splitting a UTF-8 sequence,
 * with control characters replaced (it ends up in messages). */
static void ocsp_origin_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
	veil_text_sanitize(dst);
}

/* Checks and takes into *best every SingleResponse of bs about s->cert.
 * The signature is checked once, on the first match. */
static veil_err ocsp_use_response(OCSP_BASICRESP *bs, ocsp_subject *s, const veil_blob *blob,
				  int64_t at, veil_ocsp_result *best, bool *have)
{
	char origin[sizeof best->origin];
	bool verified = false;

	ocsp_origin_copy(origin, sizeof origin, blob->origin);
	for (int i = 0; i < OCSP_resp_count(bs); i++) {
		OCSP_SINGLERESP *single = OCSP_resp_get0(bs, i);
		veil_ocsp_result r;
		bool match;

		if (single == NULL)
			continue;
		TRY(ocsp_certid_matches(s, OCSP_SINGLERESP_get0_id(single), &match));
		if (!match)
			continue;
		if (!verified) {
			TRY(ocsp_signature_check(bs, s, at, origin));
			for (int e = 0; e < OCSP_BASICRESP_get_ext_count(bs); e++)
				TRY(ocsp_ext_known(OCSP_BASICRESP_get_ext(bs, e),
						   "responseExtensions", origin));
			verified = true;
		}
		ocsp_result_reset(&r);
		TRY(ocsp_single_read(single, s, at, origin, &r));
		memcpy(r.origin, origin, sizeof r.origin);
		/* Revoked over good over unknown; then the freshest. */
		int rank = ocsp_status_rank(r.status), best_rank = ocsp_status_rank(best->status);
		if (!*have || rank > best_rank ||
		    (rank == best_rank && r.this_update > best->this_update))
			*best = r;
		*have = true;
	}
	return VEIL_OK;
}

veil_err veil_ocsp_check(X509 *cert, X509 *issuer, const veil_collateral *coll, int64_t at,
			 veil_ocsp_result *out)
{
	ocsp_subject s = {.cert = cert, .issuer = issuer};
	veil_ocsp_result best;
	bool have = false;
	veil_err err = VEIL_OK;
	char cn[128];

	if (out != NULL)
		ocsp_result_reset(out);
	ocsp_result_reset(&best);
	ENSURE(cert != NULL && issuer != NULL && coll != NULL && out != NULL, VEIL_E_USAGE,
	       "OCSP check needs a certificate, its issuer, collateral and a result");
	veil_cert_cn(cert, s.cn, sizeof s.cn);
	/* The CertID mixes the issuer's name (from cert) and key (from
	 * issuer); a pair that does not belong together would match nothing
	 * real, or the wrong thing. */
	EVP_PKEY *issuer_key = X509_get0_pubkey(issuer);
	bool issued = issuer_key != NULL && X509_check_issued(issuer, cert) == X509_V_OK &&
		      X509_verify(cert, issuer_key) == 1;
	ERR_clear_error();
	ENSURE(issued, VEIL_E_USAGE, "OCSP check: \"%s\" is not issued by \"%s\"", s.cn,
	       veil_cert_cn(issuer, cn, sizeof cn));

	for (size_t i = 0; i < coll->count && i < VEIL_COLLATERAL_MAX_FILES; i++) {
		const veil_blob *blob = &coll->blob[i];
		OCSP_RESPONSE *resp = NULL;
		OCSP_BASICRESP *bs;
		size_t extra;

		if (blob->data == NULL ||
		    ocsp_decode(blob->data, blob->len, &resp, &extra) != VEIL_OK) {
			ERR_clear_error();
			continue; /* not an OCSP response: another format's */
		}
		/* RFC 6960 section 4.2.1: only "successful" carries
		 * responseBytes; any other status names no certificate. */
		bs = OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL
			 ? OCSP_response_get1_basic(resp)
			 : NULL;
		OCSP_RESPONSE_free(resp);
		ERR_clear_error();
		if (bs == NULL)
			continue;
		err = ocsp_use_response(bs, &s, blob, at, &best, &have);
		OCSP_BASICRESP_free(bs);
		if (err != VEIL_OK)
			goto out;
	}
	*out = best;
out:
	for (size_t i = 0; i < OCSP_CERTID_ALGS; i++)
		OCSP_CERTID_free(s.id[i]);
	ERR_clear_error();
	return err;
}

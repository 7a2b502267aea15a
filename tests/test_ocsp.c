/*
 * test_ocsp.c - OCSP response checking (RFC 6960) on a PKI built in memory.
 *
 * No real responder's key is at hand, and real responses expire, so every
 * response here is made by OpenSSL's responder side (OCSP_basic_sign) for a
 * small PKI: a root, an intermediate CA (P-384) that issues the leaf under
 * test, a delegated responder with id-kp-OCSPSigning, one without it, and an
 * unrelated CA with its own responder. Each case asserts the exact outcome.
 */
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/limits.h"
#include "veil/ocsp.h"

#define T0   1700000000 /* 2023-11-14: every certificate is valid from T0 - 1 day */
#define HOUR 3600
#define DAY  86400

static EVP_PKEY *root_key, *ca_key, *leaf_key, *resp_key, *noeku_key, *x_key, *xresp_key;
static X509 *root, *ca, *leaf, *other_leaf, *responder, *noeku, *short_responder;
static X509 *tls_eku, *any_eku, *no_sign_ku;
static X509 *x_ca, *x_responder, *lookalike_ca;

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
}

/* A certificate named cn for key, signed by issuer_key (self-signed when
 * issuer is NULL), valid [T0 - 1 day, T0 + days), with extendedKeyUsage
 * eku when not NULL, and keyUsage ku (NULL: what a CA or a leaf has). */
static X509 *cert_new_ku(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
			 long serial, bool is_ca, int days, const char *eku, const char *ku)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer) : n);
	ASN1_TIME_set(X509_getm_notBefore(c), T0 - DAY);
	ASN1_TIME_set(X509_getm_notAfter(c), T0 + (time_t)days * DAY);
	X509_set_pubkey(c, key);
	X509 *signer = issuer != NULL ? issuer : c;
	add_ext(c, signer, NID_subject_key_identifier, "hash");
	add_ext(c, signer, NID_authority_key_identifier, "keyid:always");
	add_ext(c, signer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (ku == NULL)
		ku = is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature";
	add_ext(c, signer, NID_key_usage, ku);
	if (eku != NULL)
		add_ext(c, signer, NID_ext_key_usage, eku);
	X509_sign(c, issuer_key, EVP_sha384());
	X509_NAME_free(n);
	return c;
}

static X509 *cert_new(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		      long serial, bool is_ca, int days, const char *eku)
{
	return cert_new_ku(cn, key, issuer, issuer_key, serial, is_ca, days, eku, NULL);
}

static void pki_setup(void)
{
	root_key = EVP_EC_gen("P-384");
	ca_key = EVP_EC_gen("P-384");
	leaf_key = EVP_EC_gen("P-256");
	resp_key = EVP_EC_gen("P-256");
	noeku_key = EVP_EC_gen("P-256");
	x_key = EVP_EC_gen("P-256");
	xresp_key = EVP_EC_gen("P-256");
	root = cert_new("Test Root", root_key, NULL, root_key, 1, true, 3650, NULL);
	ca = cert_new("Test CA", ca_key, root, root_key, 2, true, 1000, NULL);
	leaf = cert_new("Test Leaf", leaf_key, ca, ca_key, 77, false, 365, NULL);
	other_leaf = cert_new("Other Leaf", leaf_key, ca, ca_key, 78, false, 365, NULL);
	responder = cert_new("Test OCSP", resp_key, ca, ca_key, 90, false, 365, "OCSPSigning");
	short_responder =
	    cert_new("Short OCSP", resp_key, ca, ca_key, 91, false, 30, "OCSPSigning");
	noeku = cert_new("No EKU OCSP", noeku_key, ca, ca_key, 92, false, 365, NULL);
	tls_eku = cert_new("TLS EKU", noeku_key, ca, ca_key, 93, false, 365, "serverAuth");
	any_eku = cert_new("Any EKU", noeku_key, ca, ca_key, 94, false, 365, "anyExtendedKeyUsage");
	no_sign_ku = cert_new_ku("Encipher-only OCSP", noeku_key, ca, ca_key, 95, false, 365,
				 "OCSPSigning", "critical,keyAgreement");
	x_ca = cert_new("Unrelated CA", x_key, NULL, x_key, 1, true, 3650, NULL);
	x_responder =
	    cert_new("Unrelated OCSP", xresp_key, x_ca, x_key, 5, false, 365, "OCSPSigning");
	/* Named like the CA, but with the unrelated CA's key. */
	lookalike_ca = cert_new("Test CA", x_key, root, x_key, 2, true, 1000, NULL);
}

/* One SingleResponse: about `cert` (issued by ca), CertID hashed with md. */
typedef struct single_spec {
	X509 *cert;
	const EVP_MD *md;
	int status; /* V_OCSP_CERTSTATUS_* */
	int reason; /* -1: none */
	int64_t revoked_at;
	int64_t this_update;
	int64_t next_update; /* 0: absent */
	int critical_ext;    /* a critical singleExtension of this NID, 0: none */
} single_spec;

static single_spec spec_of(X509 *cert, int status)
{
	return (single_spec){cert, EVP_sha1(), status, -1, 0, T0 - HOUR, T0 + DAY, 0};
}

static void add_single(OCSP_BASICRESP *bs, const single_spec *s)
{
	OCSP_CERTID *id = OCSP_cert_to_id(s->md, s->cert, ca);
	ASN1_TIME *thisu = ASN1_TIME_set(NULL, (time_t)s->this_update);
	ASN1_TIME *nextu = s->next_update ? ASN1_TIME_set(NULL, (time_t)s->next_update) : NULL;
	ASN1_TIME *rev = s->status == V_OCSP_CERTSTATUS_REVOKED
			     ? ASN1_TIME_set(NULL, (time_t)s->revoked_at)
			     : NULL;
	OCSP_SINGLERESP *single =
	    OCSP_basic_add1_status(bs, id, s->status, s->reason, rev, thisu, nextu);
	if (s->critical_ext != 0) {
		ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2);
		X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(NULL, s->critical_ext, 1, v);
		OCSP_SINGLERESP_add_ext(single, ext, -1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(v);
	}
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisu);
	ASN1_TIME_free(nextu);
	ASN1_TIME_free(rev);
}

typedef struct der_buf {
	uint8_t *p;
	size_t n;
} der_buf;

/* A successful response with n SingleResponses, signed by signer/key with
 * OCSP_basic_sign's flags (OCSP_NOCERTS, OCSP_RESPID_KEY), with a response
 * extension when ext_nid is not 0; DER in a new buffer. */
static der_buf resp_der(X509 *signer, EVP_PKEY *key, unsigned long flags,
			const single_spec *singles, size_t n, int ext_nid, bool critical)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	for (size_t i = 0; i < n; i++)
		add_single(bs, &singles[i]);
	if (ext_nid != 0) {
		ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x04\x02hi", 4);
		X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(NULL, ext_nid, critical, v);
		OCSP_BASICRESP_add_ext(bs, ext, -1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(v);
	}
	if (OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL, flags) != 1)
		abort();
	OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	unsigned char *der = NULL;
	int dlen = i2d_OCSP_RESPONSE(resp, &der);
	if (dlen <= 0)
		abort();
	der_buf out = {malloc((size_t)dlen), (size_t)dlen};
	memcpy(out.p, der, out.n);
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	return out;
}

static der_buf one_der(X509 *signer, EVP_PKEY *key, unsigned long flags, single_spec s)
{
	return resp_der(signer, key, flags, &s, 1, 0, false);
}

/* Adds a buffer to c under origin and frees it. */
static void add_blob(veil_collateral *c, der_buf d, const char *origin)
{
	if (veil_collateral_add(c, d.p, d.n, origin) != VEIL_OK)
		abort();
	free(d.p);
}

/* A collateral holding one response. */
static void coll_one(veil_collateral *c, X509 *signer, EVP_PKEY *key, unsigned long flags,
		     single_spec s)
{
	veil_collateral_init(c);
	add_blob(c, one_der(signer, key, flags, s), "ocsp/leaf.der");
}

static veil_err check_at(const veil_collateral *c, int64_t at, veil_ocsp_result *r)
{
	return veil_ocsp_check(leaf, ca, c, at, r);
}

/* The outcome of a response with this single, by this signer, at `at`. */
static veil_err outcome(X509 *signer, EVP_PKEY *key, unsigned long flags, single_spec s, int64_t at,
			veil_ocsp_result *r)
{
	veil_collateral c;
	coll_one(&c, signer, key, flags, s);
	veil_err err = check_at(&c, at, r);
	veil_collateral_clear(&c);
	return err;
}

TEST(good_signed_by_the_issuer)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);

	EXPECT_OK(outcome(ca, ca_key, 0, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	EXPECT(r.reason == -1 && r.revoked_at == 0);
	EXPECT(r.this_update == T0 - HOUR && r.next_update == T0 + DAY);
	EXPECT(strcmp(r.origin, "ocsp/leaf.der") == 0);
	/* Issuer certificate left out, ResponderID by key hash: found all the same. */
	EXPECT_OK(outcome(ca, ca_key, OCSP_NOCERTS | OCSP_RESPID_KEY, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	EXPECT_OK(outcome(ca, ca_key, OCSP_NOCERTS, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
}

TEST(good_signed_by_a_delegated_responder)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);

	EXPECT_OK(outcome(responder, resp_key, 0, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	EXPECT_OK(outcome(responder, resp_key, OCSP_RESPID_KEY, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	/* RFC 6960 4.2.2.2: the delegate must be in the response; one in the
	 * collateral only is not looked for. */
	veil_collateral c;
	unsigned char *der = NULL;
	int n = i2d_X509(responder, &der);
	coll_one(&c, responder, resp_key, OCSP_NOCERTS, s);
	EXPECT(veil_collateral_add(&c, der, (size_t)n, "responder.der") == VEIL_OK);
	OPENSSL_free(der);
	EXPECT_ERR(check_at(&c, T0, &r), VEIL_E_VERIFY);
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	veil_collateral_clear(&c);
}

TEST(certid_in_sha256_sha384_and_unsupported_hashes)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);

	s.md = EVP_sha256();
	EXPECT_OK(outcome(ca, ca_key, 0, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	s.md = EVP_sha384();
	EXPECT_OK(outcome(ca, ca_key, 0, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	/* MD5 is never a match: the response is skipped, even though it is
	 * signed by an unrelated key (it is never verified). */
	s.md = EVP_md5();
	EXPECT_OK(outcome(x_ca, x_key, 0, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_UNKNOWN && r.origin[0] == '\0');
}

TEST(revoked_with_reason_and_time)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_REVOKED);

	s.reason = OCSP_REVOKED_STATUS_CERTIFICATEHOLD; /* 6 */
	s.revoked_at = T0 - 2 * DAY;
	EXPECT_OK(outcome(responder, resp_key, 0, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_REVOKED);
	EXPECT(r.reason == 6);
	EXPECT(r.revoked_at == T0 - 2 * DAY);
	EXPECT(r.this_update == T0 - HOUR);
	s.reason = -1; /* revocationReason is optional */
	EXPECT_OK(outcome(ca, ca_key, 0, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_REVOKED && r.reason == -1 && r.revoked_at == T0 - 2 * DAY);
	s.reason = 7; /* not a CRLReason (RFC 5280 5.3.1) */
	EXPECT_ERR(outcome(ca, ca_key, 0, s, T0, &r), VEIL_E_MALFORMED);
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
}

TEST(responder_says_unknown)
{
	veil_ocsp_result r;
	EXPECT_OK(outcome(ca, ca_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_UNKNOWN), T0, &r));
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	/* Unlike "no response": a response was used. */
	EXPECT(strcmp(r.origin, "ocsp/leaf.der") == 0 && r.this_update == T0 - HOUR);
}

TEST(no_response_or_another_certificates_is_unknown)
{
	veil_ocsp_result r;
	veil_collateral c;

	veil_collateral_init(&c);
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_UNKNOWN && r.reason == -1 && r.this_update == 0);
	EXPECT(r.origin[0] == '\0');
	/* A valid response about another certificate of the same CA. */
	EXPECT_OK(outcome(ca, ca_key, 0, spec_of(other_leaf, V_OCSP_CERTSTATUS_REVOKED), T0, &r));
	EXPECT(r.status == VEIL_OCSP_UNKNOWN && r.origin[0] == '\0');
	/* The CertID is the pair (issuer, serial): the other leaf shares the
	 * key of ours, and it does not matter. */
	EXPECT_OK(outcome(ca, ca_key, 0, spec_of(other_leaf, V_OCSP_CERTSTATUS_GOOD), T0, &r));
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
}

TEST(not_yet_valid_and_expired)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);

	s.this_update = T0 + HOUR;
	s.next_update = T0 + DAY;
	EXPECT_ERR(outcome(ca, ca_key, 0, s, T0, &r), VEIL_E_EXPIRED);
	EXPECT(strstr(veil_err_detail(), "not yet valid") != NULL);
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	/* VEIL_OCSP_SKEW seconds of a responder clock ahead are tolerated. */
	s.this_update = T0 + VEIL_OCSP_SKEW;
	EXPECT_OK(outcome(ca, ca_key, 0, s, T0, &r));
	s.this_update = T0 + VEIL_OCSP_SKEW + 1;
	EXPECT_ERR(outcome(ca, ca_key, 0, s, T0, &r), VEIL_E_EXPIRED);

	/* nextUpdate is exclusive, and gets no skew. */
	s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);
	EXPECT_OK(outcome(ca, ca_key, 0, s, T0 + DAY - 1, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	EXPECT_ERR(outcome(ca, ca_key, 0, s, T0 + DAY, &r), VEIL_E_EXPIRED);
	EXPECT(strstr(veil_err_detail(), "expired") != NULL);
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	/* A revoked response that is out of date is an error too, not "revoked". */
	s.status = V_OCSP_CERTSTATUS_REVOKED;
	s.revoked_at = T0 - DAY;
	EXPECT_ERR(outcome(ca, ca_key, 0, s, T0 + 2 * DAY, &r), VEIL_E_EXPIRED);
	/* nextUpdate before thisUpdate. */
	s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);
	s.next_update = s.this_update - 1;
	EXPECT_ERR(outcome(ca, ca_key, 0, s, T0, &r), VEIL_E_MALFORMED);
}

TEST(no_next_update_counts_for_max_age)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);

	s.next_update = 0;
	EXPECT_OK(outcome(ca, ca_key, 0, s, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD && r.next_update == 0);
	EXPECT_OK(outcome(ca, ca_key, 0, s, T0 - HOUR + VEIL_OCSP_MAX_AGE, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	EXPECT_ERR(outcome(ca, ca_key, 0, s, T0 - HOUR + VEIL_OCSP_MAX_AGE + 1, &r),
		   VEIL_E_EXPIRED);
	EXPECT(strstr(veil_err_detail(), "no nextUpdate") != NULL);
}

TEST(signed_by_an_unrelated_key)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);

	/* The unrelated CA signs, with its certificate included. */
	EXPECT_ERR(outcome(x_ca, x_key, 0, s, T0, &r), VEIL_E_VERIFY);
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	/* ResponderID names the CA (no certificate included): the CA's key is
	 * used, and the signature does not verify. */
	EXPECT_ERR(outcome(lookalike_ca, x_key, OCSP_NOCERTS, s, T0, &r), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "signature") != NULL);
	/* The look-alike CA certificate included: not the issuer's key, not
	 * issued by it. */
	EXPECT_ERR(outcome(lookalike_ca, x_key, 0, s, T0, &r), VEIL_E_VERIFY);
	/* ResponderID by a key hash nothing here has. */
	EXPECT_ERR(outcome(lookalike_ca, x_key, OCSP_NOCERTS | OCSP_RESPID_KEY, s, T0, &r),
		   VEIL_E_VERIFY);
}

TEST(delegated_responder_needs_ocsp_signing_eku)
{
	veil_ocsp_result r;
	EXPECT_ERR(outcome(noeku, noeku_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_GOOD), T0, &r),
		   VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "OCSPSigning") != NULL);
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	/* An EKU without it, or with anyExtendedKeyUsage, does not count. */
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);
	EXPECT_ERR(outcome(tls_eku, noeku_key, 0, s, T0, &r), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "OCSPSigning") != NULL);
	EXPECT_ERR(outcome(any_eku, noeku_key, 0, s, T0, &r), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "OCSPSigning") != NULL);
	/* The EKU, but a keyUsage that forbids signing. */
	EXPECT_ERR(outcome(no_sign_ku, noeku_key, 0, s, T0, &r), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "digitalSignature") != NULL);
}

TEST(responder_of_another_ca_is_refused)
{
	veil_ocsp_result r;
	EXPECT_ERR(
	    outcome(x_responder, xresp_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_GOOD), T0, &r),
	    VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "Unrelated OCSP") != NULL);
}

TEST(responder_certificate_must_be_valid_at_the_time)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);

	/* The response is current, its signer's certificate (30 days) is not. */
	s.this_update = T0 + 40 * DAY;
	s.next_update = T0 + 41 * DAY;
	EXPECT_ERR(outcome(short_responder, resp_key, 0, s, T0 + 40 * DAY + HOUR, &r),
		   VEIL_E_EXPIRED);
	EXPECT(strstr(veil_err_detail(), "Short OCSP") != NULL);
	EXPECT_OK(outcome(responder, resp_key, 0, s, T0 + 40 * DAY + HOUR, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
}

TEST(flipped_signature_bit)
{
	veil_ocsp_result r;
	der_buf d = one_der(responder, resp_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_GOOD));
	const unsigned char *p = d.p;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)d.n);
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
	const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);
	uint8_t *at = memmem(d.p, d.n, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig));
	REQUIRE(at != NULL);
	at[ASN1_STRING_length(sig) - 1] ^= 0x01; /* last byte of s */
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);

	veil_collateral c;
	veil_collateral_init(&c);
	add_blob(&c, d, "flipped.der");
	EXPECT_ERR(check_at(&c, T0, &r), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "flipped.der") != NULL);
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	veil_collateral_clear(&c);
}

TEST(revoked_wins_over_good)
{
	veil_ocsp_result r;
	veil_collateral c;
	single_spec good = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);
	single_spec revoked = spec_of(leaf, V_OCSP_CERTSTATUS_REVOKED);
	revoked.reason = 1; /* keyCompromise */
	revoked.revoked_at = T0 - 3 * HOUR;
	revoked.this_update = T0 - 2 * HOUR; /* older than the good one */

	for (int order = 0; order < 2; order++) {
		veil_collateral_init(&c);
		add_blob(&c, one_der(ca, ca_key, 0, order ? good : revoked), "first.der");
		add_blob(&c, one_der(responder, resp_key, 0, order ? revoked : good), "second.der");
		EXPECT_OK(check_at(&c, T0, &r));
		EXPECT(r.status == VEIL_OCSP_REVOKED && r.reason == 1);
		EXPECT(strcmp(r.origin, order ? "second.der" : "first.der") == 0);
		veil_collateral_clear(&c);
	}
	/* Both in one response. */
	single_spec both[2] = {good, revoked};
	veil_collateral_init(&c);
	add_blob(&c, resp_der(ca, ca_key, 0, both, 2, 0, false), "both.der");
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_REVOKED && r.revoked_at == T0 - 3 * HOUR);
	veil_collateral_clear(&c);
	/* Two good ones: the freshest is reported. */
	single_spec fresher = good;
	fresher.this_update = T0 - 60;
	veil_collateral_init(&c);
	add_blob(&c, one_der(ca, ca_key, 0, good), "older.der");
	add_blob(&c, one_der(ca, ca_key, 0, fresher), "fresher.der");
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD && r.this_update == T0 - 60);
	EXPECT(strcmp(r.origin, "fresher.der") == 0);
	veil_collateral_clear(&c);
}

TEST(a_bad_response_about_the_certificate_is_never_skipped)
{
	veil_ocsp_result r;
	veil_collateral c;
	single_spec stale = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);
	stale.this_update = T0 - 3 * DAY;
	stale.next_update = T0 - 2 * DAY;

	veil_collateral_init(&c);
	add_blob(&c, one_der(ca, ca_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_GOOD)), "good.der");
	add_blob(&c, one_der(ca, ca_key, 0, stale), "stale.der");
	EXPECT_ERR(check_at(&c, T0, &r), VEIL_E_EXPIRED);
	EXPECT(strstr(veil_err_detail(), "stale.der") != NULL);
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	veil_collateral_clear(&c);
}

TEST(other_blobs_are_skipped)
{
	veil_ocsp_result r;
	veil_collateral c;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	PEM_write_bio_X509(bio, leaf);
	long pem_len = BIO_get_mem_data(bio, &pem);
	unsigned char *der = NULL;
	int der_len = i2d_X509(leaf, &der);
	static const uint8_t garbage[] = {0x30, 0x82, 0xff, 0xff, 0x0a, 0x01, 0x00, 'x'};

	veil_collateral_init(&c);
	EXPECT(veil_collateral_add(&c, (const uint8_t *)pem, (size_t)pem_len, "leaf.pem") ==
	       VEIL_OK);
	EXPECT(veil_collateral_add(&c, der, (size_t)der_len, "leaf.der") == VEIL_OK);
	EXPECT(veil_collateral_add(&c, garbage, sizeof garbage, "garbage") == VEIL_OK);
	EXPECT(veil_collateral_add(&c, garbage, 0, "empty") == VEIL_OK);
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_UNKNOWN && r.origin[0] == '\0');
	add_blob(&c, one_der(ca, ca_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_GOOD)), "ocsp.der");
	EXPECT(veil_collateral_add(&c, garbage, 3, "more garbage") == VEIL_OK);
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD && strcmp(r.origin, "ocsp.der") == 0);
	veil_collateral_clear(&c);
	OPENSSL_free(der);
	BIO_free(bio);
}

/* responseStatus other than successful has no responseBytes (RFC 6960
 * 4.2.1), so no CertID: nothing relates it to our certificate. */
TEST(unsuccessful_responses_are_skipped)
{
	veil_ocsp_result r;
	veil_collateral c;
	OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
	unsigned char *der = NULL;
	int n = i2d_OCSP_RESPONSE(resp, &der);
	OCSP_RESPONSE *parsed = NULL;

	REQUIRE(n > 0);
	EXPECT_OK(veil_ocsp_response_parse(der, (size_t)n, &parsed));
	EXPECT(OCSP_response_status(parsed) == OCSP_RESPONSE_STATUS_TRYLATER);
	OCSP_RESPONSE_free(parsed);
	veil_collateral_init(&c);
	EXPECT(veil_collateral_add(&c, der, (size_t)n, "trylater.der") == VEIL_OK);
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_UNKNOWN && r.origin[0] == '\0');
	add_blob(&c, one_der(ca, ca_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_GOOD)), "good.der");
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	veil_collateral_clear(&c);
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
}

TEST(critical_extensions_are_refused)
{
	veil_ocsp_result r;
	single_spec s = spec_of(leaf, V_OCSP_CERTSTATUS_GOOD);
	static const struct {
		int nid;
		bool critical;
		veil_err want;
	} cases[] = {
	    {NID_id_pkix_OCSP_Nonce, false, VEIL_OK},
	    /* NVIDIA's verifier asks for a critical nonce; understood, unchecked. */
	    {NID_id_pkix_OCSP_Nonce, true, VEIL_OK},
	    {NID_id_pkix_OCSP_CrlID, false, VEIL_OK},
	    {NID_id_pkix_OCSP_CrlID, true, VEIL_E_UNSUPPORTED},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		veil_collateral c;
		veil_collateral_init(&c);
		add_blob(&c, resp_der(ca, ca_key, 0, &s, 1, cases[i].nid, cases[i].critical),
			 "ext.der");
		EXPECT_ERR(check_at(&c, T0, &r), cases[i].want);
		EXPECT(r.status == (cases[i].want == VEIL_OK ? VEIL_OCSP_GOOD : VEIL_OCSP_UNKNOWN));
		veil_collateral_clear(&c);
	}
	EXPECT(strstr(veil_err_detail(), "responseExtensions extension 1.3.6.1.5.5.7.48.1.3") !=
	       NULL);
	/* The same rule for singleExtensions. */
	s.critical_ext = NID_invalidity_date;
	EXPECT_ERR(outcome(ca, ca_key, 0, s, T0, &r), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(), "singleExtensions extension 2.5.29.24") != NULL);
	s.critical_ext = NID_id_pkix_OCSP_Nonce;
	EXPECT_OK(outcome(ca, ca_key, 0, s, T0, &r));
}

TEST(parse_exact_der_only)
{
	der_buf d = one_der(ca, ca_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_GOOD));
	uint8_t *der = d.p;
	size_t n = d.n;
	OCSP_RESPONSE *resp = NULL;

	EXPECT_OK(veil_ocsp_response_parse(der, n, &resp));
	EXPECT(resp != NULL && OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL);
	OCSP_RESPONSE_free(resp);
	for (size_t cut = 1; cut < n; cut += 7)
		EXPECT_ERR(veil_ocsp_response_parse(der, n - cut, &resp), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_ocsp_response_parse(der, 0, &resp), VEIL_E_TRUNCATED);
	uint8_t *longer = malloc(n + 1);
	memcpy(longer, der, n);
	longer[n] = 0;
	EXPECT_ERR(veil_ocsp_response_parse(longer, n + 1, &resp), VEIL_E_TRAILING);
	/* A response with trailing bytes is not an OCSP response to the check. */
	veil_collateral c;
	veil_ocsp_result r;
	veil_collateral_init(&c);
	add_blob(&c, (der_buf){longer, n + 1}, "longer.der");
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_UNKNOWN);
	veil_collateral_clear(&c);
	der[0] ^= 0x20; /* SEQUENCE tag no longer */
	EXPECT_ERR(veil_ocsp_response_parse(der, n, &resp), VEIL_E_MALFORMED);
	const char *junk = "not an OCSP response";
	EXPECT_ERR(veil_ocsp_response_parse((const uint8_t *)junk, strlen(junk), &resp),
		   VEIL_E_MALFORMED);
	free(der);
}

TEST(caller_errors_and_names)
{
	veil_ocsp_result r;
	veil_collateral c;
	veil_collateral_init(&c);
	/* The issuer must be the leaf's issuer. */
	EXPECT_ERR(veil_ocsp_check(leaf, root, &c, T0, &r), VEIL_E_USAGE);
	EXPECT_ERR(veil_ocsp_check(leaf, lookalike_ca, &c, T0, &r), VEIL_E_USAGE);
	EXPECT_ERR(veil_ocsp_check(NULL, ca, &c, T0, &r), VEIL_E_USAGE);
	EXPECT_ERR(veil_ocsp_check(leaf, ca, NULL, T0, &r), VEIL_E_USAGE);
	EXPECT_ERR(veil_ocsp_check(leaf, ca, &c, T0, NULL), VEIL_E_USAGE);
	EXPECT(strcmp(veil_ocsp_status_name(VEIL_OCSP_GOOD), "good") == 0);
	EXPECT(strcmp(veil_ocsp_status_name(VEIL_OCSP_REVOKED), "revoked") == 0);
	EXPECT(strcmp(veil_ocsp_status_name(VEIL_OCSP_UNKNOWN), "unknown") == 0);
	EXPECT(strcmp(veil_ocsp_status_name((veil_ocsp_status)42), "unknown") == 0);
}

TEST(long_origin_is_truncated)
{
	veil_ocsp_result r;
	veil_collateral c;
	char origin[300];

	memset(origin, 'a', sizeof origin - 1);
	origin[sizeof origin - 1] = '\0';
	/* A two-byte UTF-8 character straddling the cut is dropped whole. */
	memcpy(origin + sizeof r.origin - 2, "\xc3\xa9", 2);
	veil_collateral_init(&c);
	add_blob(&c, one_der(ca, ca_key, 0, spec_of(leaf, V_OCSP_CERTSTATUS_GOOD)), origin);
	EXPECT_OK(check_at(&c, T0, &r));
	EXPECT(r.status == VEIL_OCSP_GOOD);
	EXPECT(strlen(r.origin) == sizeof r.origin - 2);
	EXPECT(strncmp(r.origin, origin, sizeof r.origin - 2) == 0);
	veil_collateral_clear(&c);
}

int main(void)
{
	pki_setup();
	RUN(good_signed_by_the_issuer);
	RUN(good_signed_by_a_delegated_responder);
	RUN(certid_in_sha256_sha384_and_unsupported_hashes);
	RUN(revoked_with_reason_and_time);
	RUN(responder_says_unknown);
	RUN(no_response_or_another_certificates_is_unknown);
	RUN(not_yet_valid_and_expired);
	RUN(no_next_update_counts_for_max_age);
	RUN(signed_by_an_unrelated_key);
	RUN(delegated_responder_needs_ocsp_signing_eku);
	RUN(responder_of_another_ca_is_refused);
	RUN(responder_certificate_must_be_valid_at_the_time);
	RUN(flipped_signature_bit);
	RUN(revoked_wins_over_good);
	RUN(a_bad_response_about_the_certificate_is_never_skipped);
	RUN(other_blobs_are_skipped);
	RUN(unsuccessful_responses_are_skipped);
	RUN(critical_extensions_are_refused);
	RUN(parse_exact_der_only);
	RUN(caller_errors_and_names);
	RUN(long_origin_is_truncated);
	X509 *certs[] = {root,        ca,      leaf,    other_leaf, responder, short_responder,
			 noeku,       tls_eku, any_eku, no_sign_ku, x_ca,      x_responder,
			 lookalike_ca};
	for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++)
		X509_free(certs[i]);
	EVP_PKEY *keys[] = {root_key, ca_key, leaf_key, resp_key, noeku_key, x_key, xresp_key};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		EVP_PKEY_free(keys[i]);
	return harness_finish("test_ocsp");
}

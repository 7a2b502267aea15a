/*
 * test_x509.c - chain verification to a pinned root at a given time, with
 * and without CRLs, on a small PKI built in memory (EC P-256), so that
 * revocation can be tested: no real AMD or Intel CRL revokes anything in the
 * shared test data, and their private keys are, rightly, not at hand.
 */
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/timeutil.h"
#include "veil/x509.h"

#define T0  1700000000 /* 2023-11-14: every certificate is valid from T0 - 1 day */
#define DAY 86400

static EVP_PKEY *key_new(void)
{
	return EVP_EC_gen("P-256");
}

static X509_NAME *name_of(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	return n;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
}

/* A certificate for `key` named cn, signed by issuer_key (self-signed when
 * issuer is NULL), valid [T0 - 1 day, T0 + days). */
static X509 *cert_new(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		      long serial, bool ca, int days)
{
	X509 *c = X509_new();
	X509_NAME *n = name_of(cn);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer) : n);
	ASN1_TIME_set(X509_getm_notBefore(c), T0 - DAY);
	ASN1_TIME_set(X509_getm_notAfter(c), T0 + (time_t)days * DAY);
	X509_set_pubkey(c, key);
	add_ext(c, issuer != NULL ? issuer : c, NID_basic_constraints,
		ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(c, issuer != NULL ? issuer : c, NID_key_usage,
		ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	X509_sign(c, issuer_key, EVP_sha256());
	X509_NAME_free(n);
	return c;
}

/* A CRL by `issuer` (signed with `key`), current [T0 - 1 day, T0 + days),
 * revoking `revoked_serial` unless it is 0. */
static X509_CRL *crl_new(X509 *issuer, EVP_PKEY *key, long revoked_serial, int days)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	ASN1_TIME_set(t, T0 - DAY);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, T0 + (time_t)days * DAY);
	X509_CRL_set1_nextUpdate(crl, t);
	if (revoked_serial != 0) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, revoked_serial);
		X509_REVOKED_set_serialNumber(r, s);
		ASN1_TIME_set(t, T0 - DAY);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, key, EVP_sha256());
	ASN1_TIME_free(t);
	return crl;
}

static EVP_PKEY *root_key, *ca_key, *leaf_key, *other_key;
static X509 *root, *ca, *leaf, *other_root;
static STACK_OF(X509) * mids;

static void pki_setup(void)
{
	root_key = key_new();
	ca_key = key_new();
	leaf_key = key_new();
	other_key = key_new();
	root = cert_new("Test Root", root_key, NULL, root_key, 1, true, 3650);
	ca = cert_new("Test CA", ca_key, root, root_key, 2, true, 1000);
	leaf = cert_new("Test Leaf", leaf_key, ca, ca_key, 77, false, 365);
	other_root = cert_new("Test Root", other_key, NULL, other_key, 1, true, 3650);
	mids = sk_X509_new_null();
	sk_X509_push(mids, ca);
}

static veil_err verify_with(STACK_OF(X509_CRL) * crls, bool require, int64_t at)
{
	return veil_chain_verify(leaf, mids, root, crls, require, at);
}

static STACK_OF(X509_CRL) * crls_of(X509_CRL *a, X509_CRL *b)
{
	STACK_OF(X509_CRL) *s = sk_X509_CRL_new_null();
	if (a != NULL)
		sk_X509_CRL_push(s, a);
	if (b != NULL)
		sk_X509_CRL_push(s, b);
	return s;
}

TEST(chain_to_the_pinned_root_at_a_time)
{
	EXPECT_OK(verify_with(NULL, false, T0));
	EXPECT_ERR(verify_with(NULL, false, T0 - 2 * DAY), VEIL_E_EXPIRED);
	EXPECT_ERR(verify_with(NULL, false, T0 + 400 * DAY), VEIL_E_EXPIRED);
	/* Same name, other key: not the pinned root. */
	EXPECT_ERR(veil_chain_verify(leaf, mids, other_root, NULL, false, T0), VEIL_E_VERIFY);
	/* Missing intermediate. */
	EXPECT_ERR(veil_chain_verify(leaf, NULL, root, NULL, false, T0), VEIL_E_VERIFY);
}

TEST(crl_revokes_only_what_it_lists)
{
	X509_CRL *revoking = crl_new(ca, ca_key, 77, 30);
	X509_CRL *clean = crl_new(ca, ca_key, 0, 30);
	X509_CRL *root_crl = crl_new(root, root_key, 0, 30);
	STACK_OF(X509_CRL) * s;

	s = crls_of(revoking, NULL);
	EXPECT_ERR(verify_with(s, false, T0), VEIL_E_REVOKED);
	sk_X509_CRL_free(s);
	s = crls_of(clean, NULL);
	EXPECT_OK(verify_with(s, false, T0));
	/* Required CRLs: the CA's alone does not cover the CA itself. */
	EXPECT(verify_with(s, true, T0) != VEIL_OK);
	sk_X509_CRL_free(s);
	s = crls_of(clean, root_crl);
	EXPECT_OK(verify_with(s, true, T0));
	sk_X509_CRL_free(s);
	s = crls_of(revoking, root_crl);
	EXPECT_ERR(verify_with(s, true, T0), VEIL_E_REVOKED);
	sk_X509_CRL_free(s);
	EXPECT(verify_with(NULL, true, T0) != VEIL_OK);
	X509_CRL_free(revoking);
	X509_CRL_free(clean);
	X509_CRL_free(root_crl);
}

TEST(a_supplied_crl_must_verify_and_be_current)
{
	X509_CRL *forged = crl_new(ca, other_key, 0, 30); /* names the CA, other key */
	X509_CRL *clean = crl_new(ca, ca_key, 0, 30);
	STACK_OF(X509_CRL) * s;

	s = crls_of(forged, NULL);
	EXPECT_ERR(verify_with(s, false, T0), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "not signed") != NULL);
	sk_X509_CRL_free(s);
	s = crls_of(clean, NULL);
	/* nextUpdate is T0 + 30 days and exclusive, as in OpenSSL. */
	EXPECT_OK(verify_with(s, false, T0 + 30 * DAY - 1));
	EXPECT_ERR(verify_with(s, false, T0 + 30 * DAY), VEIL_E_EXPIRED);
	EXPECT_ERR(verify_with(s, true, T0 + 30 * DAY), VEIL_E_EXPIRED);
	sk_X509_CRL_free(s);
	X509_CRL_free(forged);
	X509_CRL_free(clean);
}

TEST(crls_of_other_issuers_do_not_apply)
{
	X509 *stranger = cert_new("Someone Else", other_key, NULL, other_key, 9, true, 3650);
	X509_CRL *theirs = crl_new(stranger, other_key, 77, 30); /* lists serial 77 too */
	STACK_OF(X509_CRL) *s = crls_of(theirs, NULL);
	EXPECT_OK(verify_with(s, false, T0));
	sk_X509_CRL_free(s);
	X509_CRL_free(theirs);
	X509_free(stranger);
}

TEST(parsing_certificates_and_crls)
{
	unsigned char *der = NULL;
	int n = i2d_X509(leaf, &der);
	X509 *c = NULL;
	STACK_OF(X509) *certs = NULL;
	X509_CRL *crl = NULL;

	REQUIRE(n > 0);
	EXPECT_OK(veil_cert_parse_der(der, (size_t)n, &c));
	X509_free(c);
	EXPECT_ERR(veil_cert_parse_der(der, (size_t)n - 1, &c), VEIL_E_MALFORMED);
	uint8_t *longer = malloc((size_t)n + 1);
	memcpy(longer, der, (size_t)n);
	longer[n] = 0;
	EXPECT_ERR(veil_cert_parse_der(longer, (size_t)n + 1, &c), VEIL_E_TRAILING);
	free(longer);
	EXPECT_OK(veil_certs_parse(der, (size_t)n, &certs));
	EXPECT(sk_X509_num(certs) == 1);
	sk_X509_pop_free(certs, X509_free);
	OPENSSL_free(der);
	const char *junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	EXPECT(veil_certs_parse((const uint8_t *)junk, strlen(junk), &certs) != VEIL_OK);
	const char *none = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
	EXPECT_ERR(veil_certs_parse((const uint8_t *)none, strlen(none), &certs), VEIL_E_MALFORMED);
	EXPECT(veil_crl_parse((const uint8_t *)"junk", 4, &crl) != VEIL_OK);
	int64_t nb, na;
	EXPECT_OK(veil_cert_validity(leaf, &nb, &na));
	EXPECT(nb == T0 - DAY && na == T0 + 365 * DAY);
}

int main(void)
{
	pki_setup();
	RUN(chain_to_the_pinned_root_at_a_time);
	RUN(crl_revokes_only_what_it_lists);
	RUN(a_supplied_crl_must_verify_and_be_current);
	RUN(crls_of_other_issuers_do_not_apply);
	RUN(parsing_certificates_and_crls);
	sk_X509_free(mids);
	X509_free(root);
	X509_free(ca);
	X509_free(leaf);
	X509_free(other_root);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other_key);
	return harness_finish("test_x509");
}

/*
 * x509.c - certificate and CRL decoding, fingerprints, validity, extensions.
 *
 * OpenSSL's DER decoder reads the certificates; this file adds the caps and
 * the exact-length rule Veil wants (a DER certificate must fill its buffer;
 * a PEM bundle holds at most VEIL_CERT_BUNDLE_MAX certificates).
 */
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "veil/x509.h"

veil_err veil_cert_parse_der(const uint8_t *buf, size_t len, X509 **out)
{
	const unsigned char *p = buf;
	X509 *cert;

	ENSURE(len > 0 && len <= VEIL_COLLATERAL_FILE_MAX_BYTES, VEIL_E_LIMIT,
	       "certificate of %zu bytes", len);
	cert = d2i_X509(NULL, &p, (long)len);
	if (cert == NULL)
		return veil_openssl_fail(VEIL_E_MALFORMED, "not a DER certificate");
	if (p != buf + len) {
		X509_free(cert);
		return veil_fail(VEIL_E_TRAILING, "%zu bytes after the DER certificate",
				 (size_t)(buf + len - p));
	}
	*out = cert;
	return VEIL_OK;
}

static bool looks_like_pem(const uint8_t *buf, size_t len)
{
	static const char marker[] = "-----BEGIN ";
	return len >= sizeof marker - 1 && memmem(buf, len, marker, sizeof marker - 1) != NULL;
}

veil_err veil_certs_parse(const uint8_t *buf, size_t len, STACK_OF(X509) * *out)
{
	STACK_OF(X509) *certs = NULL;
	BIO *bio = NULL;
	veil_err err = VEIL_OK;

	ENSURE(len <= VEIL_COLLATERAL_FILE_MAX_BYTES, VEIL_E_LIMIT, "certificate file of %zu bytes",
	       len);
	certs = sk_X509_new_null();
	if (certs == NULL)
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	if (!looks_like_pem(buf, len)) {
		X509 *cert;
		CHECK(veil_cert_parse_der(buf, len, &cert));
		if (!sk_X509_push(certs, cert)) {
			X509_free(cert);
			CHECK_THAT(false, VEIL_E_NOMEM, "out of memory");
		}
		goto done;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	CHECK_THAT(bio != NULL, VEIL_E_NOMEM, "out of memory");
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long dlen = 0;
		if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
			ERR_clear_error(); /* end of input */
			break;
		}
		bool is_cert =
		    strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0;
		X509 *cert = NULL;
		err = VEIL_OK;
		if (is_cert) {
			if (sk_X509_num(certs) >= VEIL_CERT_BUNDLE_MAX)
				err =
				    veil_fail(VEIL_E_LIMIT, "more than %d certificates in one file",
					      VEIL_CERT_BUNDLE_MAX);
			else
				err = veil_cert_parse_der(data, (size_t)dlen, &cert);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (err != VEIL_OK)
			goto out;
		if (cert != NULL && !sk_X509_push(certs, cert)) {
			X509_free(cert);
			CHECK_THAT(false, VEIL_E_NOMEM, "out of memory");
		}
	}
	CHECK_THAT(sk_X509_num(certs) > 0, VEIL_E_MALFORMED, "no certificate in PEM input");
done:
	*out = certs;
	certs = NULL;
out:
	BIO_free(bio);
	sk_X509_pop_free(certs, X509_free);
	return err;
}

veil_err veil_crl_parse(const uint8_t *buf, size_t len, X509_CRL **out)
{
	X509_CRL *crl = NULL;

	ENSURE(len > 0 && len <= VEIL_COLLATERAL_FILE_MAX_BYTES, VEIL_E_LIMIT, "CRL of %zu bytes",
	       len);
	if (looks_like_pem(buf, len)) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		if (bio == NULL)
			return veil_fail(VEIL_E_NOMEM, "out of memory");
		crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		const unsigned char *p = buf;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl != NULL && p != buf + len) {
			X509_CRL_free(crl);
			return veil_fail(VEIL_E_TRAILING, "bytes after the DER CRL");
		}
	}
	if (crl == NULL)
		return veil_openssl_fail(VEIL_E_MALFORMED, "not a CRL");
	*out = crl;
	return VEIL_OK;
}

veil_err veil_cert_sha256(X509 *cert, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	veil_err err;

	if (n <= 0)
		return veil_openssl_fail(VEIL_E_CRYPTO, "encoding certificate");
	err = veil_sha256(der, (size_t)n, out);
	OPENSSL_free(der);
	return err;
}

const char *veil_cert_cn(X509 *cert, char *buf, size_t cap)
{
	X509_NAME *name = X509_get_subject_name(cert);
	if (name == NULL || X509_NAME_get_text_by_NID(name, NID_commonName, buf, (int)cap) < 0)
		snprintf(buf, cap, "?");
	return buf;
}

static veil_err asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return veil_fail(VEIL_E_MALFORMED, "bad ASN.1 time");
	/* OPENSSL_gmtime's inverse: timegm is in glibc and needs no TZ. */
	*out = (int64_t)timegm(&tm);
	return VEIL_OK;
}

veil_err veil_cert_validity(const X509 *cert, int64_t *not_before, int64_t *not_after)
{
	TRY(asn1_time_unix(X509_get0_notBefore(cert), not_before));
	return asn1_time_unix(X509_get0_notAfter(cert), not_after);
}

veil_err veil_crl_validity(const X509_CRL *crl, int64_t *this_update, int64_t *next_update)
{
	TRY(asn1_time_unix(X509_CRL_get0_lastUpdate(crl), this_update));
	ENSURE(X509_CRL_get0_nextUpdate(crl) != NULL, VEIL_E_MALFORMED, "CRL has no nextUpdate");
	return asn1_time_unix(X509_CRL_get0_nextUpdate(crl), next_update);
}

veil_err veil_cert_ext(X509 *cert, const char *oid, const uint8_t **value, size_t *len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int idx, again;

	if (obj == NULL)
		return veil_fail(VEIL_E_USAGE, "bad OID %s", oid);
	idx = X509_get_ext_by_OBJ(cert, obj, -1);
	again = idx < 0 ? -1 : X509_get_ext_by_OBJ(cert, obj, idx);
	ASN1_OBJECT_free(obj);
	ENSURE(idx >= 0, VEIL_E_NOT_FOUND, "certificate has no extension %s", oid);
	ENSURE(again < 0, VEIL_E_MALFORMED, "certificate repeats extension %s", oid);
	ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
	*value = ASN1_STRING_get0_data(data);
	*len = (size_t)ASN1_STRING_length(data);
	return VEIL_OK;
}

X509 *veil_cert_pinned(const char *pem, const uint8_t sha256[32])
{
	STACK_OF(X509) *certs = NULL;
	X509 *found = NULL;
	uint8_t fp[32];

	if (veil_certs_parse((const uint8_t *)pem, strlen(pem), &certs) != VEIL_OK) {
		veil_err_clear();
		return NULL;
	}
	if (sk_X509_num(certs) == 1 && veil_cert_sha256(sk_X509_value(certs, 0), fp) == VEIL_OK &&
	    veil_ct_equal(fp, sha256, sizeof fp)) {
		found = sk_X509_value(certs, 0);
		X509_up_ref(found);
	}
	sk_X509_pop_free(certs, X509_free);
	return found;
}

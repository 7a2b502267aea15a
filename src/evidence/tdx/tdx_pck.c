/*
 * tdx_pck.c - the PCK certificate chain carried in a TDX quote, and the
 * Intel SGX extensions of the PCK leaf.
 *
 * The PCK leaf says which platform signed the quote (FMSPC, PCE-ID) and at
 * which TCB level (CPUSVN, the 16 SGX TCB components, PCESVN); TCB
 * evaluation and collateral matching depend on these values, so they are
 * read with the bounded DER reader, each field checked for its type, size
 * and range, each expected once. OpenSSL decodes the certificate itself.
 * The chain is verified here too, with the CRLs that cover it, so that every
 * rule about which certificates and CRLs a PCK chain may use sits in one file.
 *
 * References: "Intel SGX PCK Certificate and Certificate Revocation List
 * Profile Specification" (rev 1.5), section 1.3.5 "Intel SGX Extensions";
 * TDX DCAP quote format, appendix A.5 (certification data type 5: the PCK
 * leaf, the intermediate CA and the root CA, concatenated PEM).
 */
#include <openssl/x509v3.h>
#include <string.h>

#include "evidence/tdx/tdx_quote.h"
#include "veil/der.h"
#include "veil/limits.h"
#include "veil/x509.h"

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* DER contents of OID 1.2.840.113741.1.13.1 (the SGX extensions arc). */
static const uint8_t sgx_arc[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

enum {
	SGX_PPID = 1,
	SGX_TCB = 2,
	SGX_PCEID = 3,
	SGX_FMSPC = 4,
	SGX_TYPE = 5,
	SGX_TCB_PCESVN = 17,
	SGX_TCB_CPUSVN = 18,
};

/*
 * Matches an OID's contents against sgx_arc followed by `depth` more arcs,
 * each below 128 (one byte each), and returns them in arcs[]. False when the
 * OID is not of that shape.
 */
static bool sgx_oid_match(veil_reader *oid, size_t depth, uint8_t arcs[2])
{
	const uint8_t *p;
	size_t n = veil_reader_left(oid);

	if (n != sizeof sgx_arc + depth || veil_reader_borrow(oid, n, &p) != VEIL_OK ||
	    memcmp(p, sgx_arc, sizeof sgx_arc) != 0)
		return false;
	for (size_t i = 0; i < depth; i++) {
		if (p[sizeof sgx_arc + i] >= 0x80)
			return false;
		arcs[i] = p[sizeof sgx_arc + i];
	}
	return true;
}

/* An OCTET STRING of exactly n bytes. */
static veil_err der_octets(veil_reader *r, void *out, size_t n, const char *what)
{
	veil_reader v;

	TRY(veil_der_read(r, VEIL_DER_OCTET_STRING, &v));
	ENSURE(veil_reader_left(&v) == n, VEIL_E_MALFORMED,
	       "PCK SGX extension %s: %zu bytes, want %zu", what, veil_reader_left(&v), n);
	return veil_reader_copy(&v, out, n);
}

/* An INTEGER in [0, max]. */
static veil_err der_small_uint(veil_reader *r, uint64_t max, uint64_t *out, const char *what,
			       unsigned comp)
{
	TRY(veil_der_read_uint(r, VEIL_DER_INTEGER, out));
	ENSURE(*out <= max, VEIL_E_MALFORMED, "PCK SGX extension %s %u: value %llu is above %llu",
	       what, comp, (unsigned long long)*out, (unsigned long long)max);
	return VEIL_OK;
}

/* Profile 1.3.5.2, "TCB": SEQUENCE OF SEQUENCE { OID .2.N, value }, with
 * N = 1..16 (SGX TCB comp, INTEGER 0..255), 17 (PCESVN, INTEGER 0..65535),
 * 18 (CPUSVN, OCTET STRING of 16). Each exactly once; nothing else. */
static veil_err sgx_tcb_read(veil_reader *r, tdx_pck_ext *out)
{
	uint32_t seen = 0;
	veil_reader tcb;

	TRY(veil_der_read(r, VEIL_DER_SEQUENCE, &tcb));
	while (veil_reader_left(&tcb) > 0) {
		veil_reader item, oid;
		uint8_t arcs[2];
		uint64_t v;

		TRY(veil_der_read(&tcb, VEIL_DER_SEQUENCE, &item));
		TRY(veil_der_read(&item, VEIL_DER_OID, &oid));
		ENSURE(sgx_oid_match(&oid, 2, arcs) && arcs[0] == SGX_TCB && arcs[1] >= 1 &&
			   arcs[1] <= SGX_TCB_CPUSVN,
		       VEIL_E_MALFORMED,
		       "PCK SGX extension TCB: unexpected OID at certificate offset %zu (want "
		       "1.2.840.113741.1.13.1.2.1 to .2.18)",
		       veil_reader_offset(&item));
		ENSURE(!(seen & (UINT32_C(1) << arcs[1])), VEIL_E_MALFORMED,
		       "PCK SGX extension TCB: component .2.%u appears twice", arcs[1]);
		seen |= UINT32_C(1) << arcs[1];
		if (arcs[1] <= 16) {
			TRY(der_small_uint(&item, 255, &v, "SGX TCB comp", arcs[1]));
			out->tcb_comp[arcs[1] - 1] = (uint8_t)v;
		} else if (arcs[1] == SGX_TCB_PCESVN) {
			TRY(der_small_uint(&item, 65535, &v, "PCESVN", arcs[1]));
			out->pcesvn = (uint16_t)v;
		} else {
			TRY(der_octets(&item, out->cpusvn, sizeof out->cpusvn, "CPUSVN"));
		}
		TRY(veil_reader_end(&item));
	}
	ENSURE(seen == 0x7fffe, VEIL_E_MALFORMED,
	       "PCK SGX extension TCB: components missing (have mask 0x%05x, want .2.1 to .2.18)",
	       (unsigned)seen);
	return VEIL_OK;
}

veil_err tdx_pck_ext_parse(const uint8_t *der, size_t len, tdx_pck_ext *out)
{
	veil_reader r, ext;
	uint32_t seen = 0;

	memset(out, 0, sizeof *out);
	veil_reader_init(&r, der, len);
	/* Profile 1.3.5: SEQUENCE OF SEQUENCE { sgxExtensionId OID, value }. */
	TRY(veil_der_read(&r, VEIL_DER_SEQUENCE, &ext));
	TRY(veil_reader_end(&r));
	while (veil_reader_left(&ext) > 0) {
		veil_reader item, oid;
		uint8_t arcs[2];
		uint64_t v;

		TRY(veil_der_read(&ext, VEIL_DER_SEQUENCE, &item));
		TRY(veil_der_read(&item, VEIL_DER_OID, &oid));
		ENSURE(sgx_oid_match(&oid, 1, arcs), VEIL_E_MALFORMED,
		       "PCK SGX extension: an entry at offset %zu has an OID outside "
		       "1.2.840.113741.1.13.1",
		       veil_reader_offset(&item));
		if (arcs[0] >= SGX_PPID && arcs[0] <= SGX_TYPE) {
			ENSURE(!(seen & (UINT32_C(1) << arcs[0])), VEIL_E_MALFORMED,
			       "PCK SGX extension: entry .%u appears twice", arcs[0]);
			seen |= UINT32_C(1) << arcs[0];
		}
		switch (arcs[0]) {
		case SGX_PPID:
			TRY(der_octets(&item, out->ppid, sizeof out->ppid, "PPID"));
			break;
		case SGX_TCB:
			TRY(sgx_tcb_read(&item, out));
			break;
		case SGX_PCEID:
			TRY(der_octets(&item, out->pceid, sizeof out->pceid, "PCE-ID"));
			break;
		case SGX_FMSPC:
			TRY(der_octets(&item, out->fmspc, sizeof out->fmspc, "FMSPC"));
			break;
		case SGX_TYPE:
			/* 0 Standard, 1 Scalable, 2 Scalable with integrity. */
			TRY(veil_der_read_uint(&item, VEIL_DER_ENUMERATED, &v));
			ENSURE(v <= 2, VEIL_E_MALFORMED,
			       "PCK SGX extension SGX Type: %llu is not 0, 1 or 2",
			       (unsigned long long)v);
			out->sgx_type = (uint32_t)v;
			break;
		default:
			/* .6 PlatformInstanceID and .7 Configuration (Platform CA
			 * certificates) and later additions: not used here. */
			TRY(veil_reader_skip(&item, veil_reader_left(&item)));
			break;
		}
		TRY(veil_reader_end(&item));
	}
	ENSURE(seen == 0x3e, VEIL_E_MALFORMED,
	       "PCK SGX extension: required entries missing (have mask 0x%02x; PPID .1, TCB .2, "
	       "PCE-ID .3, FMSPC .4 and SGX Type .5 are required)",
	       (unsigned)seen);
	return VEIL_OK;
}

veil_err tdx_pck_ext_from_cert(X509 *cert, tdx_pck_ext *out)
{
	const uint8_t *v;
	size_t n;
	veil_err err;

	err = veil_cert_ext(cert, SGX_EXT_OID, &v, &n);
	if (err == VEIL_E_NOT_FOUND)
		return veil_fail(err,
				 "PCK certificate has no Intel SGX extension (%s); it is not "
				 "an Intel PCK certificate",
				 SGX_EXT_OID);
	TRY(err);
	err = tdx_pck_ext_parse(v, n, out);
	return err == VEIL_OK ? err : veil_fail_context(err, "PCK leaf certificate");
}

/* Strips the NUL terminators that the DCAP quote library appends. */
static size_t pem_trim(const uint8_t *pem, size_t len)
{
	while (len > 0 && pem[len - 1] == 0)
		len--;
	return len;
}

static bool cn_is(X509 *cert, const char *want)
{
	char buf[128];

	return strcmp(veil_cert_cn(cert, buf, sizeof buf), want) == 0;
}

veil_err tdx_pck_chain_parse(const uint8_t *pem, size_t len, X509 *root, X509 **leaf,
			     STACK_OF(X509) * *intermediates, bool *processor_ca)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	STACK_OF(X509) *certs = NULL, *mid = NULL;
	uint8_t root_fp[32], fp[32];
	char cn[128];
	veil_err err = VEIL_OK;

	*leaf = NULL;
	*intermediates = NULL;
	ENSURE(root != NULL, VEIL_E_CRYPTO, "the built-in Intel SGX Root CA failed to load");
	len = pem_trim(pem, len);
	/* Appendix A.5: type 5 is "concatenated PCK Cert Chain" in PEM. */
	ENSURE(len >= sizeof begin - 1 && memcmp(pem, begin, sizeof begin - 1) == 0,
	       VEIL_E_MALFORMED,
	       "TDX quote: certification data type 5 does not start with a PEM certificate "
	       "(first byte 0x%02x); the spec requires a PEM PCK chain (binary DER is not "
	       "accepted)",
	       len > 0 ? pem[0] : 0);
	err = veil_certs_parse(pem, len, &certs);
	if (err != VEIL_OK)
		return veil_fail_context(err, "PCK certificate chain in the quote");
	CHECK(veil_cert_sha256(root, root_fp));
	mid = sk_X509_new_null();
	CHECK_THAT(mid != NULL, VEIL_E_NOMEM, "out of memory for the PCK chain");
	for (int i = 1; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);

		CHECK(veil_cert_sha256(c, fp));
		if (memcmp(fp, root_fp, sizeof fp) == 0)
			continue; /* the pinned root itself: used from the pin */
		/* Any other self-issued or root-named certificate is a
		 * substitute root: refuse it rather than ignore it. */
		CHECK_THAT(
		    X509_check_issued(c, c) != X509_V_OK &&
			X509_NAME_cmp(X509_get_subject_name(c), X509_get_subject_name(root)) != 0,
		    VEIL_E_VERIFY,
		    "PCK chain: certificate %d (\"%s\") is a root CA but not the pinned Intel "
		    "SGX Root CA; the quote was not issued by Intel's production PKI",
		    i + 1, veil_cert_cn(c, cn, sizeof cn));
		CHECK_THAT(sk_X509_push(mid, c) > 0, VEIL_E_NOMEM, "out of memory");
		X509_up_ref(c);
	}
	/* PCK profile 1.2: leaf "Intel SGX PCK Certificate", issued by one
	 * of the two PCK CAs, which the root issued. */
	CHECK_THAT(sk_X509_num(mid) == 1, VEIL_E_VERIFY,
		   "PCK chain: %d intermediate CA certificates, want exactly 1 (Intel SGX PCK "
		   "Platform CA or Processor CA)",
		   sk_X509_num(mid));
	*processor_ca = cn_is(sk_X509_value(mid, 0), "Intel SGX PCK Processor CA");
	CHECK_THAT(*processor_ca || cn_is(sk_X509_value(mid, 0), "Intel SGX PCK Platform CA"),
		   VEIL_E_VERIFY,
		   "PCK chain: intermediate CA is \"%s\", not Intel SGX PCK Platform CA or "
		   "Processor CA",
		   veil_cert_cn(sk_X509_value(mid, 0), cn, sizeof cn));
	CHECK_THAT(cn_is(sk_X509_value(certs, 0), "Intel SGX PCK Certificate"), VEIL_E_VERIFY,
		   "PCK chain: first certificate is \"%s\", not an Intel SGX PCK Certificate",
		   veil_cert_cn(sk_X509_value(certs, 0), cn, sizeof cn));
	*leaf = sk_X509_value(certs, 0);
	X509_up_ref(*leaf);
	*intermediates = mid;
	mid = NULL;
out:
	sk_X509_pop_free(mid, X509_free);
	sk_X509_pop_free(certs, X509_free);
	return err;
}

static bool crl_issued_by(X509_CRL *crl, const X509_NAME *issuer)
{
	return X509_NAME_cmp(X509_CRL_get_issuer(crl), issuer) == 0;
}

/* Narrows the window [*nb, *na] to [b, a]. */
static void window_narrow(int64_t *nb, int64_t *na, int64_t b, int64_t a)
{
	if (b > *nb)
		*nb = b;
	if (a < *na)
		*na = a;
}

/*
 * With only one of the two CRLs, veil_chain_verify cannot take them (its CRL
 * check always covers the leaf), so they are applied by lookup; the
 * collateral module has already verified their signatures and windows.
 */
static veil_err revocation_lookup(X509 *leaf, STACK_OF(X509) * mids, STACK_OF(X509_CRL) * crls)
{
	char cn[128];

	for (int i = -1; i < sk_X509_num(mids); i++) {
		X509 *c = i < 0 ? leaf : sk_X509_value(mids, i);
		for (int j = 0; j < sk_X509_CRL_num(crls); j++) {
			X509_REVOKED *rev = NULL;
			ENSURE(X509_CRL_get0_by_cert(sk_X509_CRL_value(crls, j), &rev, c) != 1,
			       VEIL_E_REVOKED, "certificate \"%s\" is revoked by its issuer's CRL",
			       veil_cert_cn(c, cn, sizeof cn));
		}
	}
	return VEIL_OK;
}

veil_err tdx_pck_chain_verify(X509 *leaf, STACK_OF(X509) * mids, X509 *root,
			      STACK_OF(X509_CRL) * all, int64_t at, bool *checked,
			      int64_t *not_before, int64_t *not_after)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	bool pck_crl = false, root_crl = false;
	int64_t b, a;
	veil_err err;

	*checked = false;
	*not_before = INT64_MIN;
	*not_after = INT64_MAX;
	ENSURE(crls != NULL, VEIL_E_NOMEM, "out of memory for CRLs");
	/* Only the CRLs that cover this chain: the PCK CRL of the leaf's
	 * issuer and the root CA CRL. */
	for (int i = 0; all != NULL && i < sk_X509_CRL_num(all); i++) {
		X509_CRL *crl = sk_X509_CRL_value(all, i);
		bool is_pck = crl_issued_by(crl, X509_get_issuer_name(leaf));
		bool is_root = crl_issued_by(crl, X509_get_subject_name(root));

		if (!is_pck && !is_root)
			continue;
		pck_crl |= is_pck;
		root_crl |= is_root;
		if (sk_X509_CRL_push(crls, crl) <= 0) {
			sk_X509_CRL_free(crls);
			return veil_fail(VEIL_E_NOMEM, "out of memory applying CRLs");
		}
		if (veil_crl_validity(crl, &b, &a) != VEIL_OK)
			b = INT64_MAX, a = INT64_MIN; /* no window: not cacheable */
		window_narrow(not_before, not_after, b, a);
	}
	*checked = pck_crl && root_crl;
	err = veil_chain_verify(leaf, mids, root, *checked ? crls : NULL, *checked, at);
	if (err == VEIL_OK && !*checked)
		err = revocation_lookup(leaf, mids, crls);
	sk_X509_CRL_free(crls);
	if (err != VEIL_OK) {
		*checked = false;
		return err;
	}
	for (int i = -1; i <= sk_X509_num(mids); i++) {
		X509 *c = i < 0 ? leaf : i < sk_X509_num(mids) ? sk_X509_value(mids, i) : root;
		if (veil_cert_validity(c, &b, &a) != VEIL_OK)
			b = INT64_MAX, a = INT64_MIN;
		window_narrow(not_before, not_after, b, a);
	}
	return VEIL_OK;
}

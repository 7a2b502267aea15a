/*
 * tdx_collateral_scan.c - sorts the collateral blobs by content for the TDX
 * collateral verifier (tdx_collateral.c).
 *
 * Collateral arrives as an unordered set of blobs whose file names mean
 * nothing, some of them for other evidence formats. This file recognises the
 * Intel DCAP ones by content and gathers them; it parses, but verifies and
 * trusts nothing: signatures, chains, CRLs and validity windows are checked
 * in tdx_collateral.c. Accepted kinds:
 *   - Intel PCS responses {"tcbInfo":{...},"signature":"<hex>"} and
 *     {"enclaveIdentity":{...},"signature":"<hex>"};
 *   - Phala's QuoteCollateralV3 JSON (tcb_info, qe_identity as the exact
 *     signed strings, their signatures, PEM issuer chains, hex DER CRLs);
 *   - PEM certificate bundles (TCB-Info-Issuer-Chain, PCK CRL issuer chain)
 *     and single DER certificates;
 *   - CRLs in DER or PEM.
 * Everything else is left alone (it may belong to another evidence format).
 * SGX TCB Infos and SGX QE / QvE identities, which a shared PCS cache may
 * hold, are skipped.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evidence/tdx/tdx_collateral_scan.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/x509.h"

void tdx_signed_doc_clear(tdx_signed_doc *d)
{
	free(d->body);
	tdx_tcbinfo_free(d->tcb);
	tdx_qeidentity_free(d->qe);
	memset(d, 0, sizeof *d);
}

void tdx_scan_free(tdx_scan *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ntcb; i++)
		tdx_signed_doc_clear(&s->tcb[i]);
	for (size_t i = 0; i < s->nqe; i++)
		tdx_signed_doc_clear(&s->qe[i]);
	for (size_t i = 0; i < s->ncrl; i++)
		X509_CRL_free(s->crl[i].crl);
	sk_X509_pop_free(s->pool, X509_free);
	free(s);
}

static bool contains(const uint8_t *buf, size_t len, const char *needle)
{
	return memmem(buf, len, needle, strlen(needle)) != NULL;
}

/* The "id" and "version" of a signed body, to tell SGX documents (which a
 * shared PCS cache may hold and which are not ours) from TDX ones. */
static void peek_id(const uint8_t *body, size_t len, char id[16], int64_t *version)
{
	json_t *doc = NULL;
	json_t *v;

	id[0] = '\0';
	*version = -1;
	if (veil_json_parse(body, len, &doc) != VEIL_OK)
		return;
	v = json_object_get(doc, "id");
	if (json_is_string(v))
		snprintf(id, 16, "%s", json_string_value(v));
	v = json_object_get(doc, "version");
	if (json_is_integer(v))
		*version = (int64_t)json_integer_value(v);
	json_decref(doc);
}

/* Adds one signed document (TCB Info when is_tcb, else QE identity).
 * SGX documents are skipped; anything else must parse as TDX v3 / TD_QE v2. */
static veil_err add_doc(tdx_scan *s, bool is_tcb, const char *origin, const uint8_t *body,
			size_t len, const char *sig_hex)
{
	tdx_signed_doc *d;
	char id[16];
	int64_t version;
	size_t got = 0;
	const char *what = is_tcb ? "tcbInfo" : "enclaveIdentity";

	peek_id(body, len, id, &version);
	if (is_tcb && (strcmp(id, "SGX") == 0 || (id[0] == '\0' && version >= 0 && version < 3)))
		return VEIL_OK; /* SGX TCB Info: another TEE's */
	if (!is_tcb && (strcmp(id, "QE") == 0 || strcmp(id, "QVE") == 0))
		return VEIL_OK; /* SGX QE / QvE identity */
	if (is_tcb) {
		ENSURE(s->ntcb < VEIL_COLLATERAL_MAX_FILES, VEIL_E_LIMIT, "too many TCB Infos");
		d = &s->tcb[s->ntcb++];
	} else {
		ENSURE(s->nqe < VEIL_COLLATERAL_MAX_FILES, VEIL_E_LIMIT, "too many QE identities");
		d = &s->qe[s->nqe++];
	}
	d->origin = origin;
	ENSURE(strlen(sig_hex) == 128, VEIL_E_MALFORMED,
	       "%s: %s signature must be 128 hex digits (ECDSA P-256 r||s), has %zu", origin, what,
	       strlen(sig_hex));
	if (veil_hex_decode(sig_hex, 128, d->sig, sizeof d->sig, &got) != VEIL_OK)
		return veil_fail_context(VEIL_E_MALFORMED, "%s: %s signature", origin, what);
	d->body = malloc(len ? len : 1);
	ENSURE(d->body != NULL, VEIL_E_NOMEM, "out of memory for %s", what);
	memcpy(d->body, body, len);
	d->len = len;
	if (is_tcb) {
		veil_err err = tdx_tcbinfo_parse(body, len, &d->tcb);
		if (err != VEIL_OK)
			return veil_fail_context(err, "%s", origin);
		d->issue = d->tcb->issue_date;
		d->next = d->tcb->next_update;
		d->eval = d->tcb->eval_number;
	} else {
		veil_err err = tdx_qeidentity_parse(body, len, &d->qe);
		if (err != VEIL_OK)
			return veil_fail_context(err, "%s", origin);
		d->issue = d->qe->issue_date;
		d->next = d->qe->next_update;
		d->eval = d->qe->eval_number;
	}
	return VEIL_OK;
}

static veil_err add_certs(tdx_scan *s, const char *origin, const uint8_t *buf, size_t len)
{
	STACK_OF(X509) *certs = NULL;
	veil_err err = veil_certs_parse(buf, len, &certs);

	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", origin);
	while (sk_X509_num(certs) > 0) {
		X509 *c = sk_X509_shift(certs);
		if (sk_X509_num(s->pool) >= TDX_CERT_POOL_MAX || !sk_X509_push(s->pool, c)) {
			X509_free(c);
			sk_X509_pop_free(certs, X509_free);
			return veil_fail(VEIL_E_LIMIT,
					 "%s: more than %d certificates in the collateral", origin,
					 TDX_CERT_POOL_MAX);
		}
	}
	sk_X509_free(certs);
	return VEIL_OK;
}

static veil_err add_crl(tdx_scan *s, const char *origin, const uint8_t *buf, size_t len)
{
	X509_CRL *crl = NULL;
	veil_err err = veil_crl_parse(buf, len, &crl);

	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", origin);
	if (s->ncrl >= TDX_CRLS_MAX) {
		X509_CRL_free(crl);
		return veil_fail(VEIL_E_LIMIT, "%s: more than %d CRLs in the collateral", origin,
				 TDX_CRLS_MAX);
	}
	s->crl[s->ncrl].crl = crl;
	s->crl[s->ncrl].origin = origin;
	s->ncrl++;
	return VEIL_OK;
}

static veil_err add_hex_crl(tdx_scan *s, const char *origin, const json_t *obj, const char *key)
{
	const char *hex;
	uint8_t *der;
	size_t n = 0;

	if (json_object_get(obj, key) == NULL)
		return VEIL_OK;
	TRY(veil_json_get_string(obj, key, &hex));
	size_t len = strlen(hex);
	der = malloc(len / 2 + 1);
	ENSURE(der != NULL, VEIL_E_NOMEM, "out of memory for %s", key);
	veil_err err = veil_hex_decode(hex, len, der, len / 2 + 1, &n);
	if (err == VEIL_OK)
		err = add_crl(s, origin, der, n);
	free(der);
	if (err != VEIL_OK)
		return veil_fail_context(err, "\"%s\"", key);
	return VEIL_OK;
}

static veil_err add_pem_chain(tdx_scan *s, const char *origin, const json_t *obj, const char *key)
{
	const char *pem;

	if (json_object_get(obj, key) == NULL)
		return VEIL_OK;
	TRY(veil_json_get_string(obj, key, &pem));
	veil_err err = add_certs(s, origin, (const uint8_t *)pem, strlen(pem));
	if (err != VEIL_OK)
		return veil_fail_context(err, "\"%s\"", key);
	return VEIL_OK;
}

/* Phala dcap-qvl QuoteCollateralV3: the documents are JSON strings whose
 * content is exactly what Intel signed. */
static veil_err scan_phala(tdx_scan *s, const char *origin, const json_t *obj)
{
	json_t *v;
	const char *sig;

	/* Each part is optional (a set may carry only the QE identity and the
	 * CRLs), but every part present is used or refused, never skipped. */
	if (json_object_get(obj, "tcb_info") != NULL) {
		TRY(veil_json_get_string(obj, "tcb_info_signature", &sig));
		v = json_object_get(obj, "tcb_info");
		ENSURE(json_is_string(v), VEIL_E_MALFORMED, "%s: \"tcb_info\" must be a string",
		       origin);
		TRY(add_doc(s, true, origin, (const uint8_t *)json_string_value(v),
			    json_string_length(v), sig));
	}
	if (json_object_get(obj, "qe_identity") != NULL) {
		TRY(veil_json_get_string(obj, "qe_identity_signature", &sig));
		v = json_object_get(obj, "qe_identity");
		ENSURE(json_is_string(v), VEIL_E_MALFORMED, "%s: \"qe_identity\" must be a string",
		       origin);
		TRY(add_doc(s, false, origin, (const uint8_t *)json_string_value(v),
			    json_string_length(v), sig));
	}
	TRY(add_pem_chain(s, origin, obj, "tcb_info_issuer_chain"));
	TRY(add_pem_chain(s, origin, obj, "qe_identity_issuer_chain"));
	TRY(add_pem_chain(s, origin, obj, "pck_crl_issuer_chain"));
	TRY(add_hex_crl(s, origin, obj, "root_ca_crl"));
	TRY(add_hex_crl(s, origin, obj, "pck_crl"));
	return VEIL_OK;
}

/* A PCS response: {"tcbInfo":{...},"signature":"..."}; the signature covers
 * the bytes of the tcbInfo value exactly as served (veil_json_raw_member). */
static veil_err scan_pcs(tdx_scan *s, const char *origin, const veil_blob *b, const json_t *obj,
			 const char *key)
{
	const uint8_t *raw;
	size_t raw_len;
	const char *sig;

	TRY(veil_json_get_string(obj, "signature", &sig));
	veil_err err = veil_json_raw_member(b->data, b->len, key, &raw, &raw_len);
	/* jansson found the member, so "not found" here means the two readings
	 * of the document disagree: malformed, never a reason to skip it. */
	if (err == VEIL_E_NOT_FOUND)
		err = VEIL_E_MALFORMED;
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", origin);
	return add_doc(s, strcmp(key, "tcbInfo") == 0, origin, raw, raw_len, sig);
}

static veil_err scan_json(tdx_scan *s, const veil_blob *b)
{
	json_t *obj = NULL;
	veil_err err;
	const char *origin = b->origin ? b->origin : "collateral";

	/* JSON in a collateral set is only ever Intel collateral (AMD's is
	 * certificates), so JSON that is not one of the forms read here is
	 * refused rather than skipped: a file that is not understood must not
	 * quietly turn into "no collateral". */
	err = veil_json_parse(b->data, b->len, &obj);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s (JSON in the collateral)", origin);
	if (json_is_object(obj) && json_object_get(obj, "tcbInfo") != NULL)
		err = scan_pcs(s, origin, b, obj, "tcbInfo");
	else if (json_is_object(obj) && json_object_get(obj, "enclaveIdentity") != NULL)
		err = scan_pcs(s, origin, b, obj, "enclaveIdentity");
	else if (json_is_object(obj) && (json_object_get(obj, "tcb_info") != NULL ||
					 json_object_get(obj, "qe_identity") != NULL ||
					 json_object_get(obj, "pck_crl") != NULL ||
					 json_object_get(obj, "root_ca_crl") != NULL))
		err = scan_phala(s, origin, obj);
	else
		err = veil_fail(VEIL_E_UNSUPPORTED,
				"%s: JSON that is neither an Intel PCS TCB Info / QE Identity "
				"response nor QuoteCollateralV3 collateral; remove it from the "
				"collateral",
				origin);
	json_decref(obj);
	return err;
}

/* Case-insensitive search for text that only Intel collateral contains. */
static bool mentions_intel_collateral(const uint8_t *p, size_t n)
{
	static const char *const markers[] = {"tcbinfo",     "enclaveidentity", "tcb_info",
					      "qe_identity", "pck_crl",         "tcbinfo_issuer"};
	for (size_t m = 0; m < sizeof markers / sizeof markers[0]; m++) {
		size_t k = strlen(markers[m]);
		for (size_t i = 0; i + k <= n; i++)
			if (strncasecmp((const char *)p + i, markers[m], k) == 0)
				return true;
	}
	return false;
}

static veil_err scan_other(tdx_scan *s, const veil_blob *b, const char *origin);

veil_err tdx_scan_blob(tdx_scan *s, const veil_blob *b)
{
	size_t i = 0;
	const char *origin = b->origin ? b->origin : "collateral";

	if (b->len >= 3 && memcmp(b->data, "\xef\xbb\xbf", 3) == 0)
		return veil_fail(VEIL_E_MALFORMED,
				 "%s starts with a UTF-8 byte-order mark; Intel serves collateral "
				 "without one: save the file as served",
				 origin);
	while (i < b->len && (b->data[i] == ' ' || b->data[i] == '\t' || b->data[i] == '\r' ||
			      b->data[i] == '\n'))
		i++;
	if (i < b->len && (b->data[i] == '{' || b->data[i] == '['))
		return scan_json(s, b);
	veil_err err = scan_other(s, b, origin);
	if (err != VEIL_OK)
		return err;
	return VEIL_OK;
}

/* Certificates and CRLs, PEM or DER; anything else is not ours, unless it
 * mentions Intel collateral, which is then a form we cannot read: refused. */
static veil_err scan_other(tdx_scan *s, const veil_blob *b, const char *origin)
{
	if (contains(b->data, b->len, "-----BEGIN X509 CRL-----"))
		return add_crl(s, origin, b->data, b->len);
	if (contains(b->data, b->len, "-----BEGIN CERTIFICATE-----"))
		return add_certs(s, origin, b->data, b->len);
	/* Binary: a DER CRL or certificate, or something not ours. */
	X509_CRL *crl = NULL;
	if (veil_crl_parse(b->data, b->len, &crl) == VEIL_OK) {
		X509_CRL_free(crl);
		return add_crl(s, origin, b->data, b->len);
	}
	STACK_OF(X509) *certs = NULL;
	if (veil_certs_parse(b->data, b->len, &certs) == VEIL_OK) {
		sk_X509_pop_free(certs, X509_free);
		return add_certs(s, origin, b->data, b->len);
	}
	veil_err_clear();
	if (mentions_intel_collateral(b->data, b->len))
		return veil_fail(
		    VEIL_E_UNSUPPORTED,
		    "%s mentions Intel collateral (tcbInfo, enclaveIdentity, CRLs) but "
		    "is not in a form Veil reads (PCS JSON, QuoteCollateralV3 JSON, PEM "
		    "or DER); remove it or save it as served",
		    origin);
	return VEIL_OK;
}

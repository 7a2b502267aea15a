/*
 * tdx_collateral.c - finds and verifies Intel DCAP collateral for a TDX
 * quote among the collateral blobs (see tdx_collateral.h).
 *
 * Blobs are matched by content, never by file name. Accepted kinds:
 *   - Intel PCS responses {"tcbInfo":{...},"signature":"<hex>"} and
 *     {"enclaveIdentity":{...},"signature":"<hex>"};
 *   - Phala's QuoteCollateralV3 JSON (tcb_info, qe_identity as the exact
 *     signed strings, their signatures, PEM issuer chains, hex DER CRLs);
 *   - PEM certificate bundles (TCB-Info-Issuer-Chain, PCK CRL issuer chain)
 *     and single DER certificates;
 *   - CRLs in DER or PEM.
 * Everything else is left alone (it may belong to another evidence format).
 *
 * Trust: the only anchor is the pinned Intel SGX Root CA passed in. The TCB
 * signing certificate is taken from the collateral and must be an "Intel SGX
 * TCB Signing" certificate issued directly by that root and valid at `at`;
 * it is never pinned itself, because Intel renewed it in 2025 with the same
 * key and serial (2018-2025 and 2025-2032 copies exist), so among several
 * candidates the one valid at `at` that verifies is used. Signatures are
 * ECDSA P-256 over exactly the bytes of the tcbInfo / enclaveIdentity value
 * as served (Intel PCS API v4: "signature" is r||s, 64 bytes, hex).
 */
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_qeidentity.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/timeutil.h"
#include "veil/x509.h"

/* Certificates and CRLs gathered from one collateral set. */
#define TDX_CERT_POOL_MAX 128
#define TDX_CRLS_MAX      32

struct tdx_collateral {
	tdx_tcbinfo *tcb;
	tdx_qeidentity *qe;
	X509 *signer; /* the TCB signing certificate that verified both */
	STACK_OF(X509_CRL) * crls;
};

/* A signed document found in a blob: the exact signed bytes and r||s. */
typedef struct signed_doc {
	const char *origin;
	uint8_t *body;
	size_t len;
	uint8_t sig[64];
	int64_t issue, next, eval;
	tdx_tcbinfo *tcb; /* one of these two is set */
	tdx_qeidentity *qe;
} signed_doc;

typedef struct found_crl {
	X509_CRL *crl;
	const char *origin;
	bool root_issued;
	bool current;
} found_crl;

typedef struct scan {
	signed_doc tcb[VEIL_COLLATERAL_MAX_FILES];
	size_t ntcb;
	signed_doc qe[VEIL_COLLATERAL_MAX_FILES];
	size_t nqe;
	STACK_OF(X509) * pool;
	found_crl crl[TDX_CRLS_MAX];
	size_t ncrl;
} scan;

static void doc_clear(signed_doc *d)
{
	free(d->body);
	tdx_tcbinfo_free(d->tcb);
	tdx_qeidentity_free(d->qe);
	memset(d, 0, sizeof *d);
}

static void scan_free(scan *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ntcb; i++)
		doc_clear(&s->tcb[i]);
	for (size_t i = 0; i < s->nqe; i++)
		doc_clear(&s->qe[i]);
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
static veil_err add_doc(scan *s, bool is_tcb, const char *origin, const uint8_t *body, size_t len,
			const char *sig_hex)
{
	signed_doc *d;
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

static veil_err add_certs(scan *s, const char *origin, const uint8_t *buf, size_t len)
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

static veil_err add_crl(scan *s, const char *origin, const uint8_t *buf, size_t len)
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

static veil_err add_hex_crl(scan *s, const char *origin, const json_t *obj, const char *key)
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

static veil_err add_pem_chain(scan *s, const char *origin, const json_t *obj, const char *key)
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
static veil_err scan_phala(scan *s, const char *origin, const json_t *obj)
{
	json_t *v;
	const char *sig;

	TRY(veil_json_get_string(obj, "tcb_info_signature", &sig));
	v = json_object_get(obj, "tcb_info");
	ENSURE(json_is_string(v), VEIL_E_MALFORMED, "%s: \"tcb_info\" must be a string", origin);
	TRY(add_doc(s, true, origin, (const uint8_t *)json_string_value(v), json_string_length(v),
		    sig));
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
static veil_err scan_pcs(scan *s, const char *origin, const veil_blob *b, const json_t *obj,
			 const char *key)
{
	const uint8_t *raw;
	size_t raw_len;
	const char *sig;

	TRY(veil_json_get_string(obj, "signature", &sig));
	veil_err err = veil_json_raw_member(b->data, b->len, key, &raw, &raw_len);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", origin);
	return add_doc(s, strcmp(key, "tcbInfo") == 0, origin, raw, raw_len, sig);
}

static veil_err scan_json(scan *s, const veil_blob *b)
{
	json_t *obj = NULL;
	veil_err err;
	const char *origin = b->origin ? b->origin : "collateral";

	err = veil_json_parse(b->data, b->len, &obj);
	if (err != VEIL_OK) {
		/* Ours but unreadable (e.g. a duplicate key): refuse; other JSON
		 * may belong to another format and is left alone. */
		if (contains(b->data, b->len, "\"tcbInfo\"") ||
		    contains(b->data, b->len, "\"enclaveIdentity\"") ||
		    contains(b->data, b->len, "\"tcb_info\""))
			return veil_fail_context(err, "%s", origin);
		return VEIL_OK;
	}
	if (!json_is_object(obj))
		err = VEIL_OK;
	else if (json_object_get(obj, "tcbInfo") != NULL)
		err = scan_pcs(s, origin, b, obj, "tcbInfo");
	else if (json_object_get(obj, "enclaveIdentity") != NULL)
		err = scan_pcs(s, origin, b, obj, "enclaveIdentity");
	else if (json_object_get(obj, "tcb_info") != NULL)
		err = scan_phala(s, origin, obj);
	json_decref(obj);
	return err;
}

static veil_err scan_blob(scan *s, const veil_blob *b)
{
	size_t i = 0;
	const char *origin = b->origin ? b->origin : "collateral";

	while (i < b->len && (b->data[i] == ' ' || b->data[i] == '\t' || b->data[i] == '\r' ||
			      b->data[i] == '\n'))
		i++;
	if (i < b->len && b->data[i] == '{')
		return scan_json(s, b);
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
	return VEIL_OK;
}

static void check_add(veil_checks *checks, const char *name, bool ok, const char *detail)
{
	if (checks != NULL)
		veil_checks_add(checks, name, ok, "%s", detail);
}

static veil_err check_err(veil_checks *checks, const char *name, veil_err err, const char *ok)
{
	if (checks != NULL)
		return veil_checks_add_err(checks, name, err, ok);
	return err;
}

static const char *cert_name(X509 *c, char *buf, size_t cap)
{
	return veil_cert_cn(c, buf, cap);
}

static bool is_intel_issuer(X509_NAME *issuer, X509 *root)
{
	char cn[128];
	int n;

	if (X509_NAME_cmp(issuer, X509_get_subject_name(root)) == 0)
		return true;
	n = X509_NAME_get_text_by_NID(issuer, NID_commonName, cn, sizeof cn);
	return n > 0 && strncmp(cn, "Intel SGX", 9) == 0;
}

/*
 * Verifies one CRL: its signature by its issuer (the pinned root for the
 * root CA CRL; for the PCK CRL a Platform/Processor CA from the collateral
 * that itself chains to the root at `at`) and whether it is current at `at`.
 */
static veil_err verify_crl(scan *s, found_crl *f, X509 *root, STACK_OF(X509_CRL) * root_crls,
			   int64_t at)
{
	X509_NAME *issuer = X509_CRL_get_issuer(f->crl);
	int64_t this_update, next_update;
	char cn[128];
	veil_err last = VEIL_OK;

	f->root_issued = X509_NAME_cmp(issuer, X509_get_subject_name(root)) == 0;
	if (f->root_issued) {
		ENSURE(X509_CRL_verify(f->crl, X509_get0_pubkey(root)) == 1, VEIL_E_VERIFY,
		       "%s: CRL names the Intel SGX Root CA as issuer but its signature does not "
		       "verify with the pinned root",
		       f->origin);
	} else {
		bool ok = false;
		for (int i = 0; i < sk_X509_num(s->pool) && !ok; i++) {
			X509 *c = sk_X509_value(s->pool, i);
			if (X509_NAME_cmp(X509_get_subject_name(c), issuer) != 0 ||
			    X509_check_ca(c) < 1 ||
			    X509_CRL_verify(f->crl, X509_get0_pubkey(c)) != 1)
				continue;
			last = veil_chain_verify(c, s->pool, root, root_crls, false, at);
			ok = last == VEIL_OK;
		}
		if (!ok) {
			if (X509_NAME_get_text_by_NID(issuer, NID_commonName, cn, sizeof cn) <= 0)
				snprintf(cn, sizeof cn, "?");
			if (last != VEIL_OK)
				return veil_fail_context(last, "%s: issuer \"%s\" of the CRL",
							 f->origin, cn);
			return veil_fail(VEIL_E_VERIFY,
					 "%s: no certificate of the CRL's issuer \"%s\" in the "
					 "collateral verifies it; add the PCK CRL issuer chain",
					 f->origin, cn);
		}
	}
	TRY(veil_crl_validity(f->crl, &this_update, &next_update));
	f->current = this_update <= at && at <= next_update;
	return VEIL_OK;
}

static veil_err stale_crl_error(const found_crl *f, int64_t at)
{
	int64_t this_update = 0, next_update = 0;
	char t[21];

	TRY(veil_crl_validity(f->crl, &this_update, &next_update));
	if (at < this_update) {
		veil_time_format(this_update, t);
		return veil_fail(VEIL_E_EXPIRED, "%s: CRL is not valid before %s (thisUpdate)",
				 f->origin, t);
	}
	veil_time_format(next_update, t);
	return veil_fail(VEIL_E_EXPIRED,
			 "%s: CRL expired at %s (nextUpdate); fetch a fresh CRL from Intel PCS",
			 f->origin, t);
}

/* All Intel CRLs: root-issued first, since the PCK CRL's issuer chain is
 * itself checked against the root CA CRL. A CRL that is not current is
 * acceptable only when a current CRL of the same issuer is also present. */
static veil_err verify_crls(scan *s, X509 *root, int64_t at, STACK_OF(X509_CRL) * out)
{
	STACK_OF(X509_CRL) *root_crls = sk_X509_CRL_new_null();
	veil_err err = VEIL_OK;

	ENSURE(root_crls != NULL, VEIL_E_NOMEM, "out of memory for CRLs");
	for (int pass = 0; pass < 2 && err == VEIL_OK; pass++) {
		for (size_t i = 0; i < s->ncrl && err == VEIL_OK; i++) {
			found_crl *f = &s->crl[i];
			bool root_named = X509_NAME_cmp(X509_CRL_get_issuer(f->crl),
							X509_get_subject_name(root)) == 0;
			if (!is_intel_issuer(X509_CRL_get_issuer(f->crl), root) ||
			    root_named != (pass == 0))
				continue;
			err = verify_crl(s, f, root, root_crls, at);
			if (err == VEIL_OK && f->current && f->root_issued &&
			    !sk_X509_CRL_push(root_crls, f->crl))
				err = veil_fail(VEIL_E_NOMEM, "out of memory for CRLs");
		}
	}
	for (size_t i = 0; i < s->ncrl && err == VEIL_OK; i++) {
		found_crl *f = &s->crl[i];
		bool covered = f->current;
		if (!is_intel_issuer(X509_CRL_get_issuer(f->crl), root))
			continue;
		for (size_t j = 0; j < s->ncrl && !covered; j++)
			covered =
			    s->crl[j].current && X509_NAME_cmp(X509_CRL_get_issuer(s->crl[j].crl),
							       X509_CRL_get_issuer(f->crl)) == 0;
		if (!covered)
			err = stale_crl_error(f, at);
		else if (f->current) {
			X509_CRL_up_ref(f->crl);
			if (!sk_X509_CRL_push(out, f->crl)) {
				X509_CRL_free(f->crl);
				err = veil_fail(VEIL_E_NOMEM, "out of memory for CRLs");
			}
		}
	}
	sk_X509_CRL_free(root_crls);
	return err;
}

/*
 * Finds the TCB signing certificate for one document: an "Intel SGX TCB
 * Signing" certificate from the collateral whose key verifies the signature,
 * issued directly by the pinned root, valid at `at`, and not on a root CA
 * CRL. Of several (the 2018-2025 and renewed 2025-2032 copies share key and
 * serial) the first that passes is used; otherwise the most telling error.
 */
static veil_err find_signer(scan *s, const signed_doc *d, X509 *root, STACK_OF(X509_CRL) * crls,
			    int64_t at, X509 **out)
{
	STACK_OF(X509) *none = sk_X509_new_null();
	veil_err chain_err = VEIL_OK;
	char chain_detail[VEIL_ERR_DETAIL_MAX] = "";
	size_t tried = 0;
	char cn[128];

	ENSURE(none != NULL, VEIL_E_NOMEM, "out of memory");
	*out = NULL;
	for (int i = 0; i < sk_X509_num(s->pool) && *out == NULL; i++) {
		X509 *c = sk_X509_value(s->pool, i);
		if (strcmp(cert_name(c, cn, sizeof cn), "Intel SGX TCB Signing") != 0)
			continue;
		tried++;
		if (veil_ecdsa_verify_be(X509_get0_pubkey(c), EVP_sha256(), d->body, d->len, d->sig,
					 d->sig + 32, 32) != VEIL_OK)
			continue;
		veil_err err = veil_chain_verify(c, none, root, NULL, false, at);
		for (int j = 0; j < sk_X509_CRL_num(crls) && err == VEIL_OK; j++) {
			X509_REVOKED *rev = NULL;
			if (X509_CRL_get0_by_cert(sk_X509_CRL_value(crls, j), &rev, c) == 1)
				err = veil_fail(VEIL_E_REVOKED,
						"the Intel SGX TCB Signing certificate is revoked "
						"by the Intel SGX Root CA CRL");
		}
		if (err == VEIL_OK) {
			X509_up_ref(c);
			*out = c;
		} else if (chain_err == VEIL_OK || err == VEIL_E_REVOKED) {
			chain_err = err;
			snprintf(chain_detail, sizeof chain_detail, "%s", veil_err_detail());
		}
	}
	sk_X509_free(none);
	if (*out != NULL)
		return VEIL_OK;
	if (chain_err != VEIL_OK)
		return veil_fail(chain_err, "TCB signing certificate: %s", chain_detail);
	if (tried == 0)
		return veil_fail(VEIL_E_VERIFY,
				 "no \"Intel SGX TCB Signing\" certificate in the collateral; add "
				 "the TCB-Info-Issuer-Chain from Intel PCS");
	return veil_fail(VEIL_E_VERIFY,
			 "%s: signature does not verify with any of the %zu Intel SGX TCB Signing "
			 "certificates in the collateral",
			 d->origin, tried);
}

static veil_err doc_window(const char *what, int64_t issue, int64_t next, int64_t at)
{
	char t[21];

	if (at < issue) {
		veil_time_format(issue, t);
		return veil_fail(VEIL_E_EXPIRED,
				 "%s is not valid before %s (issueDate); check the verification "
				 "time",
				 what, t);
	}
	if (at > next) {
		veil_time_format(next, t);
		return veil_fail(VEIL_E_EXPIRED,
				 "%s expired at %s; fetch fresh collateral from Intel PCS", what,
				 t);
	}
	return VEIL_OK;
}

/* Prefer documents current at `at`, then the newest TCB evaluation data
 * number, then the latest issueDate. */
static bool doc_better(const signed_doc *a, const signed_doc *b, int64_t at)
{
	bool a_now = a->issue <= at && at <= a->next, b_now = b->issue <= at && at <= b->next;
	if (a_now != b_now)
		return a_now;
	if (a->eval != b->eval)
		return a->eval > b->eval;
	return a->issue > b->issue;
}

/* Verifies the best of the candidate documents that passes; *index gets
 * which. On failure, the error of the best-ranked candidate. */
static veil_err pick_doc(scan *s, signed_doc *docs, size_t n, const char *what, X509 *root,
			 STACK_OF(X509_CRL) * crls, int64_t at, size_t *index, X509 **signer)
{
	bool tried[VEIL_COLLATERAL_MAX_FILES] = {false};
	veil_err first = VEIL_OK;
	char detail[VEIL_ERR_DETAIL_MAX] = "";

	for (size_t round = 0; round < n; round++) {
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (docs[i].body != NULL && !tried[i] &&
			    (best == n || doc_better(&docs[i], &docs[best], at)))
				best = i;
		if (best == n)
			break;
		tried[best] = true;
		veil_err err = find_signer(s, &docs[best], root, crls, at, signer);
		if (err == VEIL_OK) {
			err = doc_window(what, docs[best].issue, docs[best].next, at);
			if (err != VEIL_OK) {
				X509_free(*signer);
				*signer = NULL;
			}
		}
		if (err == VEIL_OK) {
			*index = best;
			return VEIL_OK;
		}
		if (first == VEIL_OK) {
			first = err;
			snprintf(detail, sizeof detail, "%s", veil_err_detail());
		}
	}
	return veil_fail(first == VEIL_OK ? VEIL_E_NOT_FOUND : first, "%s", detail);
}

static veil_err load(const veil_collateral *c, X509 *root, const uint8_t fmspc[6], int64_t at,
		     veil_checks *checks, scan *s, tdx_collateral *col)
{
	size_t match = 0, idx = 0;
	char hex[13], seen[8 * 15] = "", msg[VEIL_CHECK_DETAIL_MAX], t1[21], t2[21];
	X509 *qe_signer = NULL;
	veil_err err;

	for (size_t i = 0; i < c->count; i++) {
		err = scan_blob(s, &c->blob[i]);
		if (err != VEIL_OK)
			return check_err(checks, "collateral.tcb_info", err, "");
	}
	/* Contract: no TDX TCB Info at all is VEIL_E_NOT_FOUND and records no
	 * failed check, so a caller may verify without TCB status. */
	ENSURE(s->ntcb > 0, VEIL_E_NOT_FOUND,
	       "no TDX TCB Info among the %zu collateral files; add tcbInfo for the quote's FMSPC "
	       "from Intel PCS",
	       c->count);
	for (size_t i = 0; i < s->ntcb; i++) {
		if (memcmp(s->tcb[i].tcb->fmspc, fmspc, 6) == 0) {
			match++;
			continue;
		}
		veil_hex_encode(s->tcb[i].tcb->fmspc, 6, hex);
		size_t used = strlen(seen);
		if (strstr(seen, hex) == NULL && used + 15 < sizeof seen)
			snprintf(seen + used, sizeof seen - used, "%s%s", used ? ", " : "", hex);
		doc_clear(&s->tcb[i]); /* another platform's */
	}
	veil_hex_encode(fmspc, 6, hex);
	if (match == 0) {
		err = veil_fail(
		    VEIL_E_MISMATCH,
		    "collateral of another platform: TCB Info is for FMSPC %s, the quote's "
		    "FMSPC is %s; fetch TCB Info for %s from Intel PCS",
		    seen, hex, hex);
		return check_err(checks, "collateral.tcb_info", err, "");
	}
	ENSURE(s->nqe > 0, VEIL_E_NOT_FOUND,
	       "TCB Info for FMSPC %s is present but no TD_QE identity (enclaveIdentity id "
	       "\"TD_QE\"); add it from Intel PCS /tdx/certification/v4/qe/identity",
	       hex);

	col->crls = sk_X509_CRL_new_null();
	ENSURE(col->crls != NULL, VEIL_E_NOMEM, "out of memory for CRLs");
	err = verify_crls(s, root, at, col->crls);
	if (sk_X509_CRL_num(col->crls) == 0)
		snprintf(msg, sizeof msg, "no Intel CRLs in the collateral");
	else
		snprintf(msg, sizeof msg,
			 "%d Intel CRL(s) verified and current at the verification "
			 "time",
			 sk_X509_CRL_num(col->crls));
	TRY(check_err(checks, "collateral.crl", err, msg));

	err = pick_doc(s, s->tcb, s->ntcb, "tcbInfo", root, col->crls, at, &idx, &col->signer);
	if (err != VEIL_OK) {
		check_err(checks, "collateral.signing_chain", err, "");
		return check_err(checks, "collateral.tcb_info", err, "");
	}
	col->tcb = s->tcb[idx].tcb;
	s->tcb[idx].tcb = NULL;
	int64_t nb = 0, na = 0;
	if (veil_cert_validity(col->signer, &nb, &na) != VEIL_OK)
		nb = na = 0;
	veil_time_format(nb, t1);
	veil_time_format(na, t2);
	snprintf(msg, sizeof msg,
		 "Intel SGX TCB Signing (valid %s to %s) chains to the pinned Intel SGX Root CA",
		 t1, t2);
	check_add(checks, "collateral.signing_chain", true, msg);
	veil_time_format(col->tcb->issue_date, t1);
	veil_time_format(col->tcb->next_update, t2);
	snprintf(msg, sizeof msg,
		 "TDX TCB Info for FMSPC %s, evaluation data %lld, %s to %s, signature verified",
		 hex, (long long)col->tcb->eval_number, t1, t2);
	check_add(checks, "collateral.tcb_info", true, msg);

	err = pick_doc(s, s->qe, s->nqe, "TD_QE identity", root, col->crls, at, &idx, &qe_signer);
	X509_free(qe_signer);
	if (err != VEIL_OK)
		return check_err(checks, "collateral.qe_identity", err, "");
	col->qe = s->qe[idx].qe;
	s->qe[idx].qe = NULL;
	veil_time_format(col->qe->issue_date, t1);
	veil_time_format(col->qe->next_update, t2);
	snprintf(msg, sizeof msg,
		 "TD_QE identity, evaluation data %lld, %s to %s, signature verified",
		 (long long)col->qe->eval_number, t1, t2);
	check_add(checks, "collateral.qe_identity", true, msg);
	return VEIL_OK;
}

veil_err tdx_collateral_load(const veil_collateral *c, X509 *root, const uint8_t fmspc[6],
			     int64_t at, veil_checks *checks, tdx_collateral **out)
{
	scan *s = NULL;
	tdx_collateral *col = NULL;
	veil_err err;

	ENSURE(out != NULL, VEIL_E_USAGE, "tdx_collateral_load needs an output");
	*out = NULL;
	ENSURE(c != NULL && root != NULL && fmspc != NULL, VEIL_E_USAGE,
	       "tdx_collateral_load needs collateral, the Intel root and an FMSPC");
	s = calloc(1, sizeof *s);
	col = calloc(1, sizeof *col);
	CHECK_THAT(s != NULL && col != NULL, VEIL_E_NOMEM, "out of memory for TDX collateral");
	s->pool = sk_X509_new_null();
	CHECK_THAT(s->pool != NULL, VEIL_E_NOMEM, "out of memory for certificates");
	CHECK(load(c, root, fmspc, at, checks, s, col));
	*out = col;
	col = NULL;
out:
	tdx_collateral_free(col);
	scan_free(s);
	return err;
}

void tdx_collateral_free(tdx_collateral *col)
{
	if (col == NULL)
		return;
	tdx_tcbinfo_free(col->tcb);
	tdx_qeidentity_free(col->qe);
	X509_free(col->signer);
	sk_X509_CRL_pop_free(col->crls, X509_CRL_free);
	free(col);
}

veil_err tdx_collateral_check_time(const tdx_collateral *col, int64_t at)
{
	int64_t nb, na;
	char t[21];

	ENSURE(col != NULL && col->tcb != NULL && col->qe != NULL, VEIL_E_USAGE,
	       "tdx_collateral_check_time needs loaded collateral");
	TRY(doc_window("tcbInfo", col->tcb->issue_date, col->tcb->next_update, at));
	TRY(doc_window("TD_QE identity", col->qe->issue_date, col->qe->next_update, at));
	TRY(veil_cert_validity(col->signer, &nb, &na));
	if (at < nb || at > na) {
		veil_time_format(at < nb ? nb : na, t);
		return veil_fail(VEIL_E_EXPIRED, "the Intel SGX TCB Signing certificate %s %s",
				 at < nb ? "is not valid before" : "expired at", t);
	}
	for (int i = 0; i < sk_X509_CRL_num(col->crls); i++) {
		found_crl f = {.crl = sk_X509_CRL_value(col->crls, i), .origin = "cached CRL"};
		int64_t tu, nu;
		TRY(veil_crl_validity(f.crl, &tu, &nu));
		if (at < tu || at > nu)
			return stale_crl_error(&f, at);
	}
	return VEIL_OK;
}

STACK_OF(X509_CRL) * tdx_collateral_crls(const tdx_collateral *col)
{
	return col == NULL ? NULL : col->crls;
}

const tdx_tcbinfo *tdx_collateral_tcbinfo(const tdx_collateral *col)
{
	return col == NULL ? NULL : col->tcb;
}

const tdx_qeidentity *tdx_collateral_qeidentity(const tdx_collateral *col)
{
	return col == NULL ? NULL : col->qe;
}

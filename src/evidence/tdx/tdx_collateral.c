/*
 * tdx_collateral.c - verifies Intel DCAP collateral for a TDX quote and
 * holds the result (see tdx_collateral.h).
 *
 * The blobs are first sorted by content into candidate TCB Infos, QE
 * identities, certificates and CRLs (tdx_collateral_scan.c); this file then
 * decides which of them to trust.
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

#include "evidence/tdx/tdx_collateral_scan.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/timeutil.h"
#include "veil/x509.h"

struct tdx_collateral {
	tdx_tcbinfo *tcb;   /* NULL only when the set had no TCB Info and no */
	tdx_qeidentity *qe; /* TD_QE identity at all */
	X509 *signer;       /* the TCB signing certificate that verified both */
	STACK_OF(X509_CRL) * crls;
	/* [from, until): around the load time, no certificate, CRL or document
	 * of the set starts or ends, so a load at any time in it would give
	 * exactly this result. */
	int64_t from, until;
};

/*
 * Narrows col's window with one validity boundary t. A start time t changes
 * the outcome between t-1 and t; an inclusive end time between t and t+1;
 * taking both t and t+1 as boundaries covers either reading.
 */
static void window_boundary(tdx_collateral *col, int64_t at, int64_t t)
{
	for (int k = 0; k < 2; k++) {
		if (k == 1 && t == INT64_MAX)
			break;
		int64_t b = t + k;
		if (b <= at) {
			if (b > col->from)
				col->from = b;
		} else if (b < col->until) {
			col->until = b;
		}
	}
}

/* The window of a whole scanned set: every certificate, CRL and document,
 * trusted or not, since which of them is usable depends on the time. */
static void window_of_scan(tdx_collateral *col, const tdx_scan *s, int64_t at)
{
	int64_t a, b;

	col->from = INT64_MIN;
	col->until = INT64_MAX;
	for (int i = 0; i < sk_X509_num(s->pool); i++)
		if (veil_cert_validity(sk_X509_value(s->pool, i), &a, &b) == VEIL_OK) {
			window_boundary(col, at, a);
			window_boundary(col, at, b);
		}
	for (size_t i = 0; i < s->ncrl; i++)
		if (veil_crl_validity(s->crl[i].crl, &a, &b) == VEIL_OK) {
			window_boundary(col, at, a);
			window_boundary(col, at, b);
		}
	for (size_t i = 0; i < s->ntcb; i++) {
		window_boundary(col, at, s->tcb[i].issue);
		window_boundary(col, at, s->tcb[i].next);
	}
	for (size_t i = 0; i < s->nqe; i++) {
		window_boundary(col, at, s->qe[i].issue);
		window_boundary(col, at, s->qe[i].next);
	}
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
static veil_err verify_crl(tdx_scan *s, tdx_found_crl *f, X509 *root,
			   STACK_OF(X509_CRL) * root_crls, int64_t at)
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

static veil_err stale_crl_error(const tdx_found_crl *f, int64_t at)
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
static veil_err verify_crls(tdx_scan *s, X509 *root, int64_t at, STACK_OF(X509_CRL) * out)
{
	STACK_OF(X509_CRL) *root_crls = sk_X509_CRL_new_null();
	veil_err err = VEIL_OK;

	ENSURE(root_crls != NULL, VEIL_E_NOMEM, "out of memory for CRLs");
	for (int pass = 0; pass < 2 && err == VEIL_OK; pass++) {
		for (size_t i = 0; i < s->ncrl && err == VEIL_OK; i++) {
			tdx_found_crl *f = &s->crl[i];
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
		tdx_found_crl *f = &s->crl[i];
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
static veil_err find_signer(tdx_scan *s, const tdx_signed_doc *d, X509 *root,
			    STACK_OF(X509_CRL) * crls, int64_t at, X509 **out)
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
static bool doc_better(const tdx_signed_doc *a, const tdx_signed_doc *b, int64_t at)
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
static veil_err pick_doc(tdx_scan *s, tdx_signed_doc *docs, size_t n, const char *what, X509 *root,
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
		     veil_checks *checks, tdx_scan *s, tdx_collateral *col)
{
	size_t match = 0, idx = 0;
	char hex[13], seen[8 * 15] = "", msg[VEIL_CHECK_DETAIL_MAX], t1[21], t2[21];
	X509 *qe_signer = NULL;
	veil_err err;

	for (size_t i = 0; i < c->count; i++) {
		err = tdx_scan_blob(s, &c->blob[i]);
		if (err != VEIL_OK)
			return check_err(checks, "collateral.scan", err, "");
	}
	window_of_scan(col, s, at);

	/* CRLs apply to the PCK chain whether or not TCB Info is supplied:
	 * supplied CRLs are never skipped. */
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
	if (err != VEIL_OK || s->ncrl > 0)
		TRY(check_err(checks, "collateral.crl", err, msg));

	/* The one case without TCB status: the set has neither TDX TCB Info
	 * nor a TD_QE identity. Anything partial is an error. */
	if (s->ntcb == 0 && s->nqe == 0)
		return VEIL_OK;
	if (s->ntcb == 0) {
		err = veil_fail(VEIL_E_NOT_FOUND,
				"a TD_QE identity is among the %zu collateral files but no TDX TCB "
				"Info; add tcbInfo for the quote's FMSPC from Intel PCS",
				c->count);
		return check_err(checks, "collateral.tcb_info", err, "");
	}
	for (size_t i = 0; i < s->ntcb; i++) {
		if (memcmp(s->tcb[i].tcb->fmspc, fmspc, 6) == 0) {
			match++;
			continue;
		}
		veil_hex_encode(s->tcb[i].tcb->fmspc, 6, hex);
		size_t used = strlen(seen);
		if (strstr(seen, hex) == NULL && used + 15 < sizeof seen)
			snprintf(seen + used, sizeof seen - used, "%s%s", used ? ", " : "", hex);
		tdx_signed_doc_clear(&s->tcb[i]); /* another platform's */
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
	if (s->nqe == 0) {
		err = veil_fail(VEIL_E_NOT_FOUND,
				"TCB Info for FMSPC %s is present but no TD_QE identity "
				"(enclaveIdentity id \"TD_QE\"); add it from Intel PCS "
				"/tdx/certification/v4/qe/identity",
				hex);
		return check_err(checks, "collateral.qe_identity", err, "");
	}

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
	tdx_scan *s = NULL;
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
	tdx_scan_free(s);
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

	ENSURE(col != NULL, VEIL_E_USAGE, "tdx_collateral_check_time needs loaded collateral");
	if (col->tcb != NULL) {
		TRY(doc_window("tcbInfo", col->tcb->issue_date, col->tcb->next_update, at));
		TRY(doc_window("TD_QE identity", col->qe->issue_date, col->qe->next_update, at));
		TRY(veil_cert_validity(col->signer, &nb, &na));
	} else {
		nb = INT64_MIN;
		na = INT64_MAX;
	}
	if (at < nb || at > na) {
		veil_time_format(at < nb ? nb : na, t);
		return veil_fail(VEIL_E_EXPIRED, "the Intel SGX TCB Signing certificate %s %s",
				 at < nb ? "is not valid before" : "expired at", t);
	}
	for (int i = 0; i < sk_X509_CRL_num(col->crls); i++) {
		tdx_found_crl f = {.crl = sk_X509_CRL_value(col->crls, i), .origin = "cached CRL"};
		int64_t tu, nu;
		TRY(veil_crl_validity(f.crl, &tu, &nu));
		if (at < tu || at > nu)
			return stale_crl_error(&f, at);
	}
	return VEIL_OK;
}

bool tdx_collateral_has_tcb(const tdx_collateral *col)
{
	return col != NULL && col->tcb != NULL && col->qe != NULL;
}

void tdx_collateral_window(const tdx_collateral *col, int64_t *from, int64_t *until)
{
	*from = col->from;
	*until = col->until;
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

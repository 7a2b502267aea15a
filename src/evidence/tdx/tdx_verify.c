/*
 * tdx_verify.c - decides whether a parsed TDX quote is genuine, at a given
 * time, and what Intel's collateral says about its TCB.
 *
 * The chain of trust, from the pinned Intel SGX Root CA down:
 *   PCK chain (root -> PCK Platform/Processor CA -> PCK leaf), with the
 *     collateral's CRLs when supplied;
 *   the PCK leaf signs the QE report (the quoting enclave's SGX report);
 *   the QE report's REPORTDATA binds the attestation key (and QE auth data);
 *   the attestation key signs the quote header and TD report body.
 * Then the PCK's FMSPC selects TCB Info and QE Identity (tdx_collateral.h),
 * and Intel's TCB status algorithm grades the platform.
 *
 * Every step is recorded as a check, and the steps that can run safely
 * after an earlier failure still run, so a user sees every reason. A long-
 * lived verifier passes a cache slot (tdx_verify_cache.c): verified PCK
 * chains (keyed by the quote's PEM bytes, compared in full, and the
 * collateral id; reused only inside their certificates' validity and the
 * collateral's window) and loaded collateral (keyed by collateral id and
 * FMSPC; reused only inside the window in which nothing in the set changes
 * validity, so a warm verdict is always the cold one); next to a cached
 * chain, the last QE report verified under it (every byte compared before
 * reuse). A warm verification of a quote from a known
 * platform then costs the one ECDSA verification specific to each quote,
 * plus compares.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "evidence/tdx/tdx_quote.h"
#include "evidence/tdx/tdx_verify_cache.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/evidence.h"
#include "veil/secret.h"
#include "veil/timeutil.h"
#include "veil/x509.h"

/* State of one verification. */
typedef struct tdx_run {
	const tdx_quote *q;
	const veil_verify_ctx *ctx;
	tdx_cache *cache; /* NULL: nothing is remembered */
	veil_checks *checks;
	bool ok;
	char when[21];

	tdx_chain_entry *hit; /* cached chain, when one was usable */
	X509 *leaf;           /* borrowed from hit, or owned (leaf_owned) */
	bool leaf_owned;
	STACK_OF(X509) * mids;
	bool chain_ok;
	bool have_ext;
	tdx_pck_ext ext;
	bool processor_ca;

	tdx_collateral *col; /* borrowed from the cache, or owned */
	bool col_owned;
	veil_err col_err; /* VEIL_OK, or why the supplied collateral is unusable */
	char col_detail[VEIL_CHECK_DETAIL_MAX];
} tdx_run;

static void run_check(tdx_run *run, const char *name, bool ok, const char *fmt, ...)
    VEIL_PRINTF(4, 5);
static void run_check(tdx_run *run, const char *name, bool ok, const char *fmt, ...)
{
	char detail[VEIL_CHECK_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	run->ok &= veil_checks_add(run->checks, name, ok, "%s", detail);
}

/* Records a failed check with the current error detail. */
static void run_fail(tdx_run *run, const char *name, veil_err err)
{
	veil_checks_add(run->checks, name, false, "%s: %s", veil_err_str(err), veil_err_detail());
	run->ok = false;
}

static void fmspc_hex(const uint8_t fmspc[6], char out[13])
{
	veil_hex_encode(fmspc, 6, out);
}

/* --- collateral ---------------------------------------------------------- */

static void col_remember(tdx_run *run, tdx_collateral *col)
{
	if (run->cache == NULL) {
		run->col = col;
		run->col_owned = true;
		return;
	}
	tdx_cache_col_put(run->cache, run->ctx->collateral->id, run->ext.fmspc, col);
	run->col = col;
}

/*
 * Finds the collateral for the PCK's FMSPC: cached (only inside the time
 * window in which a fresh load would give the same result) or freshly
 * loaded. No collateral at all leaves run->col NULL; any error in supplied
 * collateral is a failure, never a reason to go on without it.
 */
static void collateral_step(tdx_run *run)
{
	const veil_collateral *c = run->ctx->collateral;
	tdx_collateral *col = NULL;
	char fmspc[13];
	veil_err err;

	fmspc_hex(run->ext.fmspc, fmspc);
	run->col_err = VEIL_OK;
	if (c == NULL || c->count == 0)
		return;
	col = tdx_cache_col_get(run->cache, c->id, run->ext.fmspc, run->ctx->at);
	if (col != NULL) {
		run->col = col;
		veil_checks_add(run->checks, "collateral", true,
				"%s for FMSPC %s verified earlier (cached); nothing in the set "
				"changes validity between then and %s",
				tdx_collateral_has_tcb(col) ? "TCB Info, QE Identity and CRLs"
							    : "CRLs",
				fmspc, run->when);
		return;
	}
	size_t failed_before = run->checks->count;
	err = tdx_collateral_load(c, tdx_intel_root(), run->ext.fmspc, run->ctx->at, run->checks,
				  &col);
	if (err == VEIL_OK) {
		col_remember(run, col);
		return;
	}
	tdx_collateral_free(col);
	run->col_err = err;
	run->ok = false;
	snprintf(run->col_detail, sizeof run->col_detail, "%s", veil_err_detail());
	/* The loader records its failed check; make sure one exists. */
	bool recorded = false;
	for (size_t i = failed_before; i < run->checks->count; i++)
		recorded |= !run->checks->item[i].ok;
	if (!recorded)
		run_fail(run, "collateral", err);
}

/* --- PCK chain ------------------------------------------------------------ */

/* The cache key of the quote's PCK chain at this verification. */
static tdx_chain_key chain_key(const tdx_run *run)
{
	tdx_chain_key k = {
	    .pem = run->q->raw + run->q->pck_off,
	    .pem_len = run->q->pck_len,
	    .col_id = run->ctx->collateral != NULL ? run->ctx->collateral->id : 0,
	    .at = run->ctx->at,
	};
	return k;
}

/*
 * Verifies the PCK chain at ctx->at with the collateral's CRLs
 * (tdx_pck_chain_verify) and remembers a verified chain in the cache,
 * unless the collateral it was checked with is unusable.
 */
static void chain_step(tdx_run *run)
{
	STACK_OF(X509_CRL) *crls = run->col != NULL ? tdx_collateral_crls(run->col) : NULL;
	bool checked = false;
	int64_t nb, na;
	veil_err err;

	err = tdx_pck_chain_verify(run->leaf, run->mids, tdx_intel_root(), crls, run->ctx->at,
				   &checked, &nb, &na);
	if (err != VEIL_OK) {
		run_fail(run, "pck.chain", err);
		return;
	}
	run_check(run, "pck.chain", true,
		  "PCK leaf -> Intel SGX PCK %s CA -> pinned Intel SGX Root CA verified at %s; "
		  "revocation %s",
		  run->processor_ca ? "Processor" : "Platform", run->when,
		  checked ? "checked (PCK CRL and root CA CRL)"
			  : "unchecked (no PCK CRL and root CA CRL in the collateral)");
	run->chain_ok = true;
	run->q->found->revocation_checked = checked;

	if (run->cache == NULL || nb > na || run->col_err != VEIL_OK)
		return;
	tdx_chain_key k = chain_key(run);
	run->hit = tdx_cache_chain_put(run->cache, &k, run->col, run->leaf, &run->ext,
				       run->processor_ca, checked, nb, na);
}

/* Parses the quote's chain and the leaf's SGX extensions (cache miss). */
static void pck_parse_step(tdx_run *run)
{
	const tdx_quote *q = run->q;
	X509 *leaf;
	veil_err err;

	err = tdx_pck_chain_parse(q->raw + q->pck_off, q->pck_len, tdx_intel_root(), &leaf,
				  &run->mids, &run->processor_ca);
	if (err != VEIL_OK) {
		run_fail(run, "pck.chain", err);
		return;
	}
	run->leaf = leaf;
	run->leaf_owned = true;
	err = tdx_pck_ext_from_cert(leaf, &run->ext);
	if (err != VEIL_OK) {
		run_fail(run, "pck.extensions", err);
		return;
	}
	run->have_ext = true;
}

static void pck_cached_step(tdx_run *run, tdx_chain_entry *e)
{
	char fmspc[13];

	run->hit = e;
	run->chain_ok = true;
	run->leaf = e->leaf;
	run->ext = e->ext;
	run->have_ext = true;
	run->processor_ca = e->processor_ca;
	run->q->found->revocation_checked = e->revocation_checked;
	fmspc_hex(e->ext.fmspc, fmspc);
	veil_checks_add(run->checks, "pck.extensions", true, "FMSPC %s (cached)", fmspc);
}

/* --- the QE report and the quote ------------------------------------------- */

static void qe_report_step(tdx_run *run)
{
	const tdx_quote *q = run->q;
	const uint8_t *sig = q->qe_report_sig;
	static const uint8_t zeros[32];
	uint8_t digest[32];
	bool sig_ok = false;
	veil_err err;

	if (tdx_cache_qe_matches(run->hit, q)) {
		run_check(run, "qe_report.signature", true,
			  "QE report signed by the PCK leaf key (identical report verified "
			  "earlier, cached)");
		run_check(run, "qe_report.binding", true,
			  "QE report data = SHA-256(attestation key || QE auth data) || zeros "
			  "(cached)");
		return;
	}

	/* Appendix A.4: QE report signature, ECDSA P-256 / SHA-256 over the
	 * 384-byte QE report, by the PCK leaf key. */
	if (run->leaf == NULL) {
		run_check(run, "qe_report.signature", false,
			  "not checked: no usable PCK certificate (see pck.chain)");
	} else {
		err = veil_ecdsa_verify_be(X509_get0_pubkey(run->leaf), EVP_sha256(),
					   q->raw + q->qe_report_off, TDX_QE_REPORT_LEN, sig,
					   sig + 32, 32);
		if (err != VEIL_OK)
			run_fail(run, "qe_report.signature",
				 veil_fail_context(err, "QE report signature by the PCK key"));
		else
			run_check(run, "qe_report.signature", true,
				  "QE report signed by the PCK leaf key");
		sig_ok = err == VEIL_OK;
	}

	/* Appendix A.4: QE report REPORTDATA = SHA-256(attestation key || QE
	 * auth data) || 32 zero bytes. */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	bool hashed = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		      EVP_DigestUpdate(md, q->attest_key, sizeof q->attest_key) == 1 &&
		      EVP_DigestUpdate(md, q->raw + q->qe_auth_off, q->qe_auth_len) == 1 &&
		      EVP_DigestFinal_ex(md, digest, &n) == 1 && n == sizeof digest;
	EVP_MD_CTX_free(md);
	if (!hashed) {
		run_fail(run, "qe_report.binding", veil_openssl_fail(VEIL_E_CRYPTO, "SHA-256"));
		return;
	}
	/* Both halves compared, whatever the first gives. */
	bool hash_ok = veil_ct_equal(digest, q->qe.report_data, 32);
	bool zeros_ok = veil_ct_equal(zeros, q->qe.report_data + 32, 32);
	bool bound = hash_ok && zeros_ok;
	run_check(run, "qe_report.binding", bound, "%s",
		  bound ? "QE report data = SHA-256(attestation key || QE auth data) || zeros"
			: "QE report data does not bind the attestation key and QE auth data: "
			  "the attestation key was not certified by this quoting enclave");
	if (sig_ok && bound)
		tdx_cache_qe_remember(run->hit, q);
}

/*
 * Without a TD_QE identity from Intel's collateral, the QE report is still
 * checked against Intel's TD quoting enclave: a PCK signs any enclave report
 * the platform asks it to, so a host able to launch an enclave of its own
 * could otherwise certify an attestation key for arbitrary TD reports.
 * Values from Intel PCS TD_QE identity v2 ("mrsigner", "isvprodid"), the same
 * in every TD_QE identity Intel has published and in every quote of the test
 * corpus. With collateral, tdx_tcb_evaluate checks the full identity
 * (MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES under their masks).
 */
static const uint8_t intel_td_qe_mrsigner[32] = {
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
};
#define INTEL_TD_QE_ISVPRODID 2

static void qe_identity_step(tdx_run *run)
{
	const tdx_qe_report *qe = &run->q->qe;

	if (tdx_collateral_has_tcb(run->col))
		return; /* the supplied TD_QE identity is checked in tcb_step */
	bool ok = memcmp(qe->mr_signer, intel_td_qe_mrsigner, sizeof intel_td_qe_mrsigner) == 0 &&
		  qe->isvprodid == INTEL_TD_QE_ISVPRODID;
	run_check(run, "qe_report.identity", ok, "%s",
		  ok ? "quoting enclave is Intel's TD QE (MRSIGNER dc9e2a7c..., ISVPRODID 2; "
		       "full identity needs Intel's TD_QE identity collateral)"
		     : "the QE report is not from Intel's TD quoting enclave (MRSIGNER or "
		       "ISVPRODID differs): the attestation key is not Intel's");
}

static void quote_signature_step(tdx_run *run)
{
	const tdx_quote *q = run->q;
	EVP_PKEY *key = NULL;
	veil_err err;

	/* The attestation key is the same for every quote of one QE
	 * instance: remember the decoded key next to the cached chain. */
	if (run->hit != NULL && run->hit->ak != NULL &&
	    memcmp(run->hit->ak_xy, q->attest_key, sizeof q->attest_key) == 0) {
		key = run->hit->ak;
		EVP_PKEY_up_ref(key);
	} else {
		err = veil_p256_pubkey_from_xy(q->attest_key, &key);
		if (err != VEIL_OK) {
			run_fail(
			    run, "quote.signature",
			    veil_fail_context(err, "attestation key (signature data offset 64)"));
			return;
		}
		if (run->hit != NULL && EVP_PKEY_up_ref(key) == 1) {
			EVP_PKEY_free(run->hit->ak);
			run->hit->ak = key;
			memcpy(run->hit->ak_xy, q->attest_key, sizeof q->attest_key);
		}
	}
	/* Appendix A.4: ECDSA P-256 / SHA-256 over header and body:
	 * v4 [0, 632), v5 [0, 54 + body size). */
	err = veil_ecdsa_verify_be(key, EVP_sha256(), q->raw, q->signed_len, q->signature,
				   q->signature + 32, 32);
	EVP_PKEY_free(key);
	if (err != VEIL_OK)
		run_fail(run, "quote.signature",
			 veil_fail_context(err, "quote signature by the attestation key"));
	else
		run_check(run, "quote.signature", true,
			  "header and TD report body signed by the attestation key");
}

/* --- TCB status ------------------------------------------------------------ */

static void tcb_input_fill(const tdx_run *run, tdx_tcb_input *in)
{
	const tdx_quote *q = run->q;

	memset(in, 0, sizeof *in);
	memcpy(in->fmspc, run->ext.fmspc, sizeof in->fmspc);
	memcpy(in->pceid, run->ext.pceid, sizeof in->pceid);
	memcpy(in->cpusvn, run->ext.tcb_comp, sizeof in->cpusvn);
	in->pcesvn = run->ext.pcesvn;
	memcpy(in->tee_tcb_svn, q->body.tee_tcb_svn, sizeof in->tee_tcb_svn);
	memcpy(in->mrsignerseam, q->body.mr_signer_seam, sizeof in->mrsignerseam);
	in->seam_attributes = q->body.seam_attributes;
	memcpy(in->qe_mrsigner, q->qe.mr_signer, sizeof in->qe_mrsigner);
	in->qe_miscselect = q->qe.miscselect;
	memcpy(in->qe_attributes, q->qe.attributes, sizeof in->qe_attributes);
	in->qe_isvprodid = q->qe.isvprodid;
	in->qe_isvsvn = q->qe.isvsvn;
}

static void tcb_step(tdx_run *run)
{
	tdx_findings *f = run->q->found;
	tdx_tcb_input in;
	char date[21];
	veil_err err;

	if (!run->have_ext) {
		run_check(
		    run, "tcb.status", false,
		    "not evaluated: no usable PCK certificate (see pck.chain, pck.extensions)");
		return;
	}
	if (run->col_err != VEIL_OK) {
		run_check(run, "tcb.status", false, "collateral unusable (%s): %s",
			  veil_err_str(run->col_err), run->col_detail);
		return;
	}
	if (!tdx_collateral_has_tcb(run->col)) {
		run_check(run, "tcb.status", true,
			  "no TCB Info supplied: TCB status not evaluated");
		return;
	}
	tcb_input_fill(run, &in);
	err = tdx_tcb_evaluate(run->col, &in, &f->tcb);
	if (err != VEIL_OK) {
		run_fail(run, "tcb.status", veil_fail_context(err, "TCB evaluation"));
		return;
	}
	f->tcb_evaluated = true;
	veil_time_format(f->tcb.tcb_date, date);
	bool ok = f->tcb.status != TDX_TCB_NOT_SUPPORTED && f->tcb.status != TDX_TCB_REVOKED;
	run_check(run, "tcb.status", ok,
		  "%s%s (platform %s, TDX module %s, QE %s), TCB date %s, %zu advisories",
		  ok ? "" : "TCB rejected: ", tdx_tcb_status_str(f->tcb.status),
		  tdx_tcb_status_str(f->tcb.platform_status),
		  tdx_tcb_status_str(f->tcb.module_status), tdx_tcb_status_str(f->tcb.qe_status),
		  date, f->tcb.advisory_count);
}

/* --- entry point ------------------------------------------------------------ */

veil_err tdx_quote_verify(const tdx_quote *q, const veil_verify_ctx *ctx, void **cache,
			  veil_checks *checks)
{
	tdx_run run = {.q = q, .ctx = ctx, .checks = checks, .ok = true};
	tdx_chain_entry *e;

	ENSURE(q != NULL && ctx != NULL && checks != NULL, VEIL_E_USAGE,
	       "tdx verify: NULL argument");
	memset(q->found, 0, sizeof *q->found);
	if (cache != NULL) {
		if (*cache == NULL)
			*cache = tdx_cache_new();
		ENSURE(*cache != NULL, VEIL_E_NOMEM, "out of memory for the TDX verifier cache");
		run.cache = *cache;
	}
	veil_time_format(ctx->at, run.when);
	run_check(&run, "quote.parse", true,
		  "TDX quote v%u, body type %u (TDX %s, %u bytes); %zu trailing bytes after the "
		  "signature data ignored (not covered by any signature)",
		  q->version, q->body_type, q->body.tdx15 ? "1.5" : "1.0", q->body_size,
		  q->trailing);

	tdx_chain_key k = chain_key(&run);
	e = tdx_cache_chain_get(run.cache, &k);
	if (e != NULL)
		pck_cached_step(&run, e);
	else
		pck_parse_step(&run);
	if (run.have_ext) {
		if (run.hit == NULL) {
			char fmspc[13];
			fmspc_hex(run.ext.fmspc, fmspc);
			run_check(&run, "pck.extensions", true,
				  "FMSPC %s, PCE-ID %02x%02x, PCESVN %u", fmspc, run.ext.pceid[0],
				  run.ext.pceid[1], run.ext.pcesvn);
		}
		collateral_step(&run);
	}
	if (run.hit != NULL)
		run_check(&run, "pck.chain", true,
			  run.hit->revocation_checked
			      ? "verified earlier (cached), validity re-checked; revocation "
				"checked (PCK CRL and root CA CRL)"
			      : "verified earlier (cached), validity re-checked; revocation "
				"unchecked");
	else if (run.leaf != NULL)
		chain_step(&run);
	if (run.chain_ok && run.have_ext) {
		q->found->have_pck = true;
		q->found->pck = run.ext;
		q->found->processor_ca = run.processor_ca;
	}
	qe_report_step(&run);
	qe_identity_step(&run);
	quote_signature_step(&run);
	tcb_step(&run);

	if (run.leaf_owned)
		X509_free(run.leaf);
	sk_X509_pop_free(run.mids, X509_free);
	if (run.col_owned)
		tdx_collateral_free(run.col);
	if (run.ok && veil_checks_passed(checks))
		return VEIL_OK;
	const veil_check *bad = veil_checks_first_failure(checks);
	return veil_fail(VEIL_E_VERIFY, "TDX quote not verified: %s: %s",
			 bad != NULL ? bad->name : "checks",
			 bad != NULL ? bad->detail : "overflow");
}

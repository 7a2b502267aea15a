/*
 * tdx_claims.c - the flat claim set of a TDX quote (docs/evidence-tdx.md).
 *
 * Appraisal reads only these keys, so each has one documented meaning and
 * type: byte strings as lower-case hex in quote order, 64-bit words as
 * "0x"-prefixed hex of their little-endian value, the TD attribute bits that
 * policies test as booleans, SVNs as integers. Claims about the platform
 * (FMSPC, PCK TCB) come from the PCK leaf; claims about the TCB status come
 * from verification and read "Unknown" / "unchecked" until it ran.
 */
#include <string.h>

#include "evidence/tdx/tdx_quote.h"
#include "veil/claims.h"
#include "veil/timeutil.h"

static veil_err claims_header_body(const tdx_quote *q, json_t *c)
{
	const tdx_td_body *b = &q->body;
	static const char *const rtmr_key[4] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};

	TRY(veil_claim_uint(c, "version", q->version));
	TRY(veil_claim_uint(c, "tee_type", q->tee_type));
	TRY(veil_claim_uint(c, "body_type", q->body_type));
	TRY(veil_claim_hex(c, "qe_vendor_id", q->qe_vendor_id, sizeof q->qe_vendor_id));
	TRY(veil_claim_hex(c, "user_data", q->user_data, sizeof q->user_data));
	TRY(veil_claim_hex(c, "tee_tcb_svn", b->tee_tcb_svn, sizeof b->tee_tcb_svn));
	TRY(veil_claim_hex(c, "mr_seam", b->mr_seam, sizeof b->mr_seam));
	TRY(veil_claim_hex(c, "mr_signer_seam", b->mr_signer_seam, sizeof b->mr_signer_seam));
	TRY(veil_claim_u64hex(c, "seam_attributes", b->seam_attributes));
	TRY(veil_claim_u64hex(c, "td_attributes", b->td_attributes));
	/* TDX module ABI, TDINFO_STRUCT.ATTRIBUTES bits. */
	TRY(veil_claim_bool(c, "debug", (b->td_attributes & TDX_ATTR_DEBUG) != 0));
	TRY(veil_claim_bool(c, "sept_ve_disable",
			    (b->td_attributes & TDX_ATTR_SEPT_VE_DISABLE) != 0));
	TRY(veil_claim_bool(c, "pks", (b->td_attributes & TDX_ATTR_PKS) != 0));
	TRY(veil_claim_bool(c, "kl", (b->td_attributes & TDX_ATTR_KL) != 0));
	TRY(veil_claim_bool(c, "perfmon", (b->td_attributes & TDX_ATTR_PERFMON) != 0));
	TRY(veil_claim_u64hex(c, "xfam", b->xfam));
	TRY(veil_claim_hex(c, "mr_td", b->mr_td, sizeof b->mr_td));
	TRY(veil_claim_hex(c, "mr_config_id", b->mr_config_id, sizeof b->mr_config_id));
	TRY(veil_claim_hex(c, "mr_owner", b->mr_owner, sizeof b->mr_owner));
	TRY(veil_claim_hex(c, "mr_owner_config", b->mr_owner_config, sizeof b->mr_owner_config));
	for (size_t i = 0; i < 4; i++)
		TRY(veil_claim_hex(c, rtmr_key[i], b->rtmr[i], sizeof b->rtmr[i]));
	TRY(veil_claim_hex(c, "report_data", b->report_data, sizeof b->report_data));
	if (b->tdx15) {
		TRY(veil_claim_hex(c, "tee_tcb_svn2", b->tee_tcb_svn2, sizeof b->tee_tcb_svn2));
		TRY(veil_claim_hex(c, "mr_service_td", b->mr_service_td, sizeof b->mr_service_td));
	}
	TRY(veil_claim_uint(c, "qe_isvsvn", q->qe.isvsvn));
	TRY(veil_claim_uint(c, "qe_isvprodid", q->qe.isvprodid));
	TRY(veil_claim_hex(c, "qe_mr_signer", q->qe.mr_signer, sizeof q->qe.mr_signer));
	TRY(veil_claim_uint(c, "trailing_bytes", q->trailing));
	return VEIL_OK;
}

static veil_err claims_pck(const tdx_pck_ext *e, bool processor_ca, json_t *c)
{
	json_t *comps = json_array();

	ENSURE(comps != NULL, VEIL_E_NOMEM, "out of memory for claims");
	for (size_t i = 0; i < sizeof e->tcb_comp; i++) {
		if (json_array_append_new(comps, json_integer(e->tcb_comp[i])) != 0) {
			json_decref(comps);
			return veil_fail(VEIL_E_NOMEM, "out of memory for claims");
		}
	}
	TRY(veil_claim_json(c, "pck_tcb_comps", comps));
	TRY(veil_claim_hex(c, "fmspc", e->fmspc, sizeof e->fmspc));
	TRY(veil_claim_hex(c, "pceid", e->pceid, sizeof e->pceid));
	TRY(veil_claim_hex(c, "pck_cpusvn", e->cpusvn, sizeof e->cpusvn));
	TRY(veil_claim_uint(c, "pck_pcesvn", e->pcesvn));
	TRY(veil_claim_uint(c, "sgx_type", e->sgx_type));
	TRY(veil_claim_str(c, "pck_ca", processor_ca ? "Processor" : "Platform"));
	return VEIL_OK;
}

/* Before (or without) verification: read the leaf's extensions directly. */
static veil_err claims_pck_unverified(const tdx_quote *q, json_t *c)
{
	STACK_OF(X509) *mids = NULL;
	X509 *leaf = NULL;
	tdx_pck_ext ext;
	bool processor_ca = false;
	veil_err err;

	if (tdx_pck_chain_parse(q->raw + q->pck_off, q->pck_len, tdx_intel_root(), &leaf, &mids,
				&processor_ca) != VEIL_OK)
		return VEIL_OK; /* nothing to say about an unusable chain */
	err = tdx_pck_ext_from_cert(leaf, &ext);
	X509_free(leaf);
	sk_X509_pop_free(mids, X509_free);
	return err == VEIL_OK ? claims_pck(&ext, processor_ca, c) : VEIL_OK;
}

static veil_err claims_tcb(const tdx_findings *f, json_t *c)
{
	char date[21];
	json_t *ids;

	TRY(veil_claim_str(c, "revocation", f->revocation_checked ? "checked" : "unchecked"));
	if (!f->tcb_evaluated)
		return veil_claim_str(c, "tcb_status", "Unknown");
	TRY(veil_claim_str(c, "tcb_status", tdx_tcb_status_str(f->tcb.status)));
	TRY(veil_claim_str(c, "tcb_platform_status", tdx_tcb_status_str(f->tcb.platform_status)));
	TRY(veil_claim_str(c, "tcb_module_status", tdx_tcb_status_str(f->tcb.module_status)));
	TRY(veil_claim_str(c, "tcb_qe_status", tdx_tcb_status_str(f->tcb.qe_status)));
	veil_time_format(f->tcb.tcb_date, date);
	TRY(veil_claim_str(c, "tcb_date", date));
	ids = json_array();
	ENSURE(ids != NULL, VEIL_E_NOMEM, "out of memory for claims");
	for (size_t i = 0; i < f->tcb.advisory_count && i < VEIL_TDX_ADVISORIES_MAX; i++) {
		const char *id = f->tcb.advisory[i];
		if (json_array_append_new(
			ids, json_stringn(id, strnlen(id, sizeof f->tcb.advisory[i]))) != 0) {
			json_decref(ids);
			return veil_fail(VEIL_E_NOMEM, "out of memory for claims");
		}
	}
	return veil_claim_json(c, "advisory_ids", ids);
}

veil_err tdx_quote_claims(const tdx_quote *q, json_t *claims)
{
	ENSURE(q != NULL && claims != NULL, VEIL_E_USAGE, "tdx claims: NULL argument");
	TRY(claims_header_body(q, claims));
	if (q->found->have_pck)
		TRY(claims_pck(&q->found->pck, q->found->processor_ca, claims));
	else
		TRY(claims_pck_unverified(q, claims));
	return claims_tcb(q->found, claims);
}

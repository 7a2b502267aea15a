/*
 * tdx_tcbstatus.c - Intel's TCB status algorithm for TDX quotes.
 *
 * What a TDX platform's TCB is worth is decided in three parts, each against
 * verified collateral: the platform TCB level (SGX components and PCESVN from
 * the PCK certificate, TDX components from TEE_TCB_SVN), the TDX module's own
 * level (tdxModuleIdentities), and the Quoting Enclave's level (TD_QE
 * identity). The parts are then converged into one status. This file follows
 * Intel's SGX-TDX-DCAP-QuoteVerificationLibrary (QVL) step by step, citing
 * the section numbers its QuoteVerifier.cpp uses (4.1.2.4.x) and the
 * functions of TcbLevelCheck.cpp / TdxModuleCheck.cpp /
 * EnclaveReportVerifier.cpp, so that a status here means what it means
 * there. Where other verifiers differ (go-tdx-guest returns the module
 * level's status whenever TEE_TCB_SVN[1] > 0), we follow Intel.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "evidence/tdx/tdx_qeidentity.h"
#include "veil/codec.h"

const char *tdx_tcb_status_str(tdx_tcb_status s)
{
	switch (s) {
	case TDX_TCB_UP_TO_DATE:
		return "UpToDate";
	case TDX_TCB_SW_HARDENING_NEEDED:
		return "SWHardeningNeeded";
	case TDX_TCB_CONFIGURATION_NEEDED:
		return "ConfigurationNeeded";
	case TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
		return "ConfigurationAndSWHardeningNeeded";
	case TDX_TCB_OUT_OF_DATE:
		return "OutOfDate";
	case TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
		return "OutOfDateConfigurationNeeded";
	case TDX_TCB_REVOKED:
		return "Revoked";
	case TDX_TCB_NOT_SUPPORTED:
		return "TcbLevelNotSupported";
	}
	return "?";
}

/* QVL TcbLevelCheck.cpp isCpuSvnHigherOrEqual / isTdxTcbHigherOrEqual: a
 * level matches only if *every* component is at least the level's. When the
 * TDX module reports a major version (TEE_TCB_SVN[1] > 0), bytes 0 and 1 are
 * the module's own ISVSVN and version, judged by tdxModuleIdentities
 * instead, so the comparison starts at byte 2. */
static bool level_matches(const tdx_tcb_level *lv, const tdx_tcb_input *in)
{
	for (size_t i = 0; i < 16; i++)
		if (in->cpusvn[i] < lv->sgx_svn[i])
			return false;
	if (in->pcesvn < lv->pcesvn)
		return false;
	for (size_t i = in->tee_tcb_svn[1] > 0 ? 2 : 0; i < 16; i++)
		if (in->tee_tcb_svn[i] < lv->tdx_svn[i])
			return false;
	return true;
}

/* QVL TdxModuleCheck.cpp convergeTcbStatusWithTdxModuleStatus. */
static tdx_tcb_status converge_with_module(tdx_tcb_status platform, tdx_tcb_status module)
{
	if (module == TDX_TCB_OUT_OF_DATE) {
		if (platform == TDX_TCB_UP_TO_DATE || platform == TDX_TCB_SW_HARDENING_NEEDED)
			return TDX_TCB_OUT_OF_DATE;
		if (platform == TDX_TCB_CONFIGURATION_NEEDED ||
		    platform == TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	if (module == TDX_TCB_REVOKED)
		return TDX_TCB_REVOKED;
	return platform;
}

/* QVL TcbLevelCheck.cpp convergeTcbStatusWithQeTcbStatus. */
static tdx_tcb_status converge_with_qe(tdx_tcb_status tdx, tdx_tcb_status qe)
{
	if (qe == TDX_TCB_OUT_OF_DATE) {
		if (tdx == TDX_TCB_UP_TO_DATE || tdx == TDX_TCB_SW_HARDENING_NEEDED)
			return TDX_TCB_OUT_OF_DATE;
		if (tdx == TDX_TCB_CONFIGURATION_NEEDED ||
		    tdx == TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	if (qe == TDX_TCB_REVOKED)
		return TDX_TCB_REVOKED;
	if (qe == TDX_TCB_NOT_SUPPORTED)
		return TDX_TCB_NOT_SUPPORTED;
	return tdx;
}

static void add_advisories(tdx_tcb_result *out, const json_t *ids)
{
	size_t i;
	const json_t *id;

	if (ids == NULL)
		return;
	json_array_foreach(ids, i, id)
	{
		const char *s = json_string_value(id);
		bool seen = false;
		if (s == NULL)
			continue;
		for (size_t j = 0; j < out->advisory_count && !seen; j++)
			seen = strcmp(out->advisory[j], s) == 0;
		/* The cap is the size of tdx_tcb_result.advisory; IDs past it
		 * are dropped (the status already reflects them). */
		if (seen || out->advisory_count >= VEIL_TDX_ADVISORIES_MAX)
			continue;
		snprintf(out->advisory[out->advisory_count], sizeof out->advisory[0], "%s", s);
		out->advisory_count++;
	}
}

/* QVL TdxModuleCheck.cpp findTdxModuleIdentity: "TDX_" + hex(version),
 * compared without regard to case. */
static const tdx_module_identity *find_module(const tdx_tcbinfo *tcb, uint8_t version)
{
	char want[8];

	snprintf(want, sizeof want, "TDX_%02X", version);
	for (size_t i = 0; i < tcb->module_count; i++)
		if (strcasecmp(tcb->module[i].id, want) == 0)
			return &tcb->module[i];
	return NULL;
}

/* QVL QuoteVerifier.cpp 4.1.2.4.11: MRSIGNERSEAM and SEAMATTRIBUTES against
 * tdxModule, or against the module identity when TEE_TCB_SVN[1] > 0. */
static veil_err check_module_identity(const tdx_tcbinfo *tcb, const tdx_tcb_input *in,
				      const tdx_module_identity **mod_out)
{
	const uint8_t *signer = tcb->module_mrsigner;
	const uint8_t *attr = tcb->module_attributes;
	const uint8_t *mask = tcb->module_attributes_mask;
	const char *what = "tdxModule";
	uint8_t version = in->tee_tcb_svn[1];
	uint8_t seam[8];
	char hex[97];

	*mod_out = NULL;
	if (version > 0) {
		ENSURE(tcb->has_module_identities, VEIL_E_MISMATCH,
		       "the TDX module reports major version %u (TEE_TCB_SVN[1]) but the TCB Info "
		       "has no tdxModuleIdentities; fetch current TCB Info from Intel PCS",
		       version);
		*mod_out = find_module(tcb, version);
		ENSURE(*mod_out != NULL, VEIL_E_MISMATCH,
		       "TCB Info has no identity TDX_%02X for the TDX module's major version %u",
		       version, version);
		signer = (*mod_out)->mrsigner;
		attr = (*mod_out)->attributes;
		mask = (*mod_out)->attributes_mask;
		what = (*mod_out)->id;
	}
	if (memcmp(in->mrsignerseam, signer, 48) != 0) {
		veil_hex_encode(in->mrsignerseam, 48, hex);
		return veil_fail(VEIL_E_MISMATCH,
				 "MRSIGNERSEAM %s is not the TDX module signer of %s in TCB Info",
				 hex, what);
	}
	/* TD report SEAMATTRIBUTES is 8 bytes, read as a little-endian u64;
	 * Intel's hex strings give the bytes in report order. */
	for (size_t i = 0; i < 8; i++)
		seam[i] = (uint8_t)(in->seam_attributes >> (8 * i));
	for (size_t i = 0; i < 8; i++)
		ENSURE((seam[i] & mask[i]) == attr[i], VEIL_E_MISMATCH,
		       "SEAMATTRIBUTES 0x%016llx under the mask do not equal the attributes of %s "
		       "in TCB Info",
		       (unsigned long long)in->seam_attributes, what);
	return VEIL_OK;
}

/* QVL EnclaveReportVerifier.cpp 4.1.2.9.5 - 4.1.2.9.10. */
static veil_err check_qe(const tdx_qeidentity *qe, const tdx_tcb_input *in, tdx_tcb_status *out)
{
	uint8_t misc[4];
	char hex[65];

	for (size_t i = 0; i < 4; i++)
		misc[i] = (uint8_t)(in->qe_miscselect >> (8 * i));
	for (size_t i = 0; i < 4; i++)
		ENSURE((misc[i] & qe->miscselect_mask[i]) == qe->miscselect[i], VEIL_E_MISMATCH,
		       "QE MISCSELECT 0x%08x under the mask does not match the TD_QE identity",
		       in->qe_miscselect);
	for (size_t i = 0; i < 16; i++)
		ENSURE((in->qe_attributes[i] & qe->attributes_mask[i]) == qe->attributes[i],
		       VEIL_E_MISMATCH,
		       "QE ATTRIBUTES byte %zu under the mask does not match the TD_QE identity",
		       i);
	if (memcmp(in->qe_mrsigner, qe->mrsigner, 32) != 0) {
		veil_hex_encode(in->qe_mrsigner, 32, hex);
		return veil_fail(VEIL_E_MISMATCH,
				 "QE MRSIGNER %s is not Intel's TD_QE signer in the QE identity",
				 hex);
	}
	ENSURE(in->qe_isvprodid == qe->isvprodid, VEIL_E_MISMATCH,
	       "QE ISVPRODID %u differs from the TD_QE identity's %u", in->qe_isvprodid,
	       qe->isvprodid);
	/* First level (Intel lists them newest first) whose ISVSVN the QE meets. */
	*out = TDX_TCB_NOT_SUPPORTED;
	for (size_t i = 0; i < qe->level_count; i++) {
		if (in->qe_isvsvn >= qe->level[i].isvsvn) {
			*out = qe->level[i].status;
			break;
		}
	}
	return VEIL_OK;
}

veil_err tdx_tcb_evaluate_docs(const tdx_tcbinfo *tcb, const tdx_qeidentity *qe,
			       const tdx_tcb_input *in, tdx_tcb_result *out)
{
	const tdx_module_identity *mod;
	const tdx_tcb_level *platform = NULL;
	const tdx_module_level *mod_level = NULL;
	tdx_tcb_status qe_status, tdx_status;
	char want[13], got[13];

	ENSURE(tcb != NULL && qe != NULL && in != NULL && out != NULL, VEIL_E_USAGE,
	       "tdx_tcb_evaluate needs TCB Info, QE identity and input");
	memset(out, 0, sizeof *out);
	out->status = out->platform_status = out->module_status = out->qe_status =
	    TDX_TCB_NOT_SUPPORTED;

	/* 4.1.2.4.10: FMSPC and PCEID of the PCK certificate. */
	if (memcmp(in->fmspc, tcb->fmspc, 6) != 0) {
		veil_hex_encode(in->fmspc, 6, got);
		veil_hex_encode(tcb->fmspc, 6, want);
		return veil_fail(VEIL_E_MISMATCH,
				 "PCK FMSPC %s differs from TCB Info FMSPC %s; use the TCB Info "
				 "for this platform",
				 got, want);
	}
	ENSURE(memcmp(in->pceid, tcb->pceid, 2) == 0, VEIL_E_MISMATCH,
	       "PCK PCEID %02x%02x differs from TCB Info pceId %02x%02x", in->pceid[0],
	       in->pceid[1], tcb->pceid[0], tcb->pceid[1]);
	/* 4.1.2.4.11, then 4.1.2.4.15 (the QE's identity). */
	TRY(check_module_identity(tcb, in, &mod));
	TRY(check_qe(qe, in, &qe_status));
	out->qe_status = qe_status;

	/* 4.1.2.4.17.1 - 4.1.2.4.17.3 (matchTcbLevels): the first level, in
	 * the order Intel gives (highest first), that the platform meets. */
	for (size_t i = 0; i < tcb->level_count && platform == NULL; i++)
		if (level_matches(&tcb->level[i], in))
			platform = &tcb->level[i];
	if (platform == NULL)
		return VEIL_OK; /* TcbLevelNotSupported, as QVL returns it */
	out->platform_status = platform->status;
	out->tcb_date = platform->tcb_date;
	add_advisories(out, platform->advisories);

	/* 4.1.2.4.17.4.1 (checkTdxModuleTcbStatus): a module without a major
	 * version is covered by the platform level. */
	out->module_status = TDX_TCB_UP_TO_DATE;
	if (mod != NULL) {
		for (size_t i = 0; i < mod->level_count && mod_level == NULL; i++)
			if (in->tee_tcb_svn[0] >= mod->level[i].isvsvn)
				mod_level = &mod->level[i];
		if (mod_level == NULL) {
			out->module_status = TDX_TCB_NOT_SUPPORTED;
			return VEIL_OK;
		}
		out->module_status = mod_level->status;
		add_advisories(out, mod_level->advisories);
	}

	tdx_status = converge_with_module(platform->status, out->module_status);
	if (tdx_status == TDX_TCB_REVOKED) {
		out->status = TDX_TCB_REVOKED; /* QVL returns here, before the QE */
		return VEIL_OK;
	}
	out->status = converge_with_qe(tdx_status, qe_status);
	return VEIL_OK;
}

veil_err tdx_tcb_evaluate(const tdx_collateral *col, const tdx_tcb_input *in, tdx_tcb_result *out)
{
	ENSURE(col != NULL, VEIL_E_USAGE, "tdx_tcb_evaluate needs loaded collateral");
	return tdx_tcb_evaluate_docs(tdx_collateral_tcbinfo(col), tdx_collateral_qeidentity(col),
				     in, out);
}

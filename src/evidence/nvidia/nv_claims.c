/*
 * nv_claims.c - the claims of an NVIDIA GPU report (docs/evidence-nvidia.md).
 *
 * Two kinds: what the signed report says (nonce, versions, SKU, FWID,
 * NVDEC0 and protected PCIe status, feature flag, every measurement), and
 * what verification found (chain, signature, FWID and measurement
 * comparison per index, the RIMs used, OCSP status and the revocation
 * policy that decided an unknown status). Byte strings are lower-case hex.
 * The report carries no field that says whether the GPU runs in CC mode or
 * in DEVTOOLS mode, so there is no such claim: policy reads the
 * measurements, which NVIDIA's RIMs pin for the production mode.
 */
#include <stdio.h>
#include <string.h>

#include "evidence/nvidia/nv_verify.h"
#include "veil/claims.h"
#include "veil/codec.h"

static const char *arch_of(const char *chip)
{
	if (strncmp(chip, "GH", 2) == 0)
		return "Hopper";
	if (strncmp(chip, "GB", 2) == 0)
		return "Blackwell";
	return "unknown";
}

static veil_err claim_opaque_hex(const nv_report *r, json_t *c, uint16_t type)
{
	const nv_opaque_field *f = nv_report_opaque(r, type);

	return f != NULL ? veil_claim_hex(c, nv_opaque_name(type), f->value, f->len) : VEIL_OK;
}

static veil_err claim_str_if(json_t *c, const char *key, const char *v)
{
	return v[0] != '\0' ? veil_claim_str(c, key, v) : VEIL_OK;
}

veil_err nv_report_claims_fields(const nv_report *r, json_t *c)
{
	json_t *meas;

	TRY(veil_claim_hex(c, "nonce", r->nonce, NV_NONCE_LEN));
	TRY(claim_str_if(c, "driver_version", r->driver_version));
	TRY(claim_str_if(c, "vbios_version", r->vbios_version));
	TRY(claim_str_if(c, "project", r->project));
	TRY(claim_str_if(c, "project_sku", r->project_sku));
	TRY(claim_str_if(c, "chip_sku", r->chip_sku));
	TRY(claim_str_if(c, "chip_info", r->chip_info));
	TRY(claim_opaque_hex(r, c, NV_OPAQUE_BOARD_ID));
	TRY(claim_opaque_hex(r, c, NV_OPAQUE_GPU_INFO));
	TRY(claim_opaque_hex(r, c, NV_OPAQUE_CPRINFO));
	if (r->fwid != NULL)
		TRY(veil_claim_hex(c, "fwid", r->fwid, NV_DIGEST_LEN));
	if (r->nvdec0_status >= 0)
		TRY(veil_claim_uint(c, "nvdec0_status", (uint64_t)r->nvdec0_status));
	if (r->protected_pcie_status >= 0) {
		TRY(veil_claim_uint(c, "protected_pcie_status",
				    (uint64_t)r->protected_pcie_status));
		TRY(veil_claim_bool(c, "protected_pcie",
				    r->protected_pcie_status == NV_STATUS_ENABLED));
	}
	if (r->opaque_data_version >= 0)
		TRY(veil_claim_uint(c, "opaque_data_version", (uint64_t)r->opaque_data_version));
	if (r->feature_flag >= 0) {
		TRY(veil_claim_uint(c, "feature_flag", (uint64_t)r->feature_flag));
		/* 0: single GPU passthrough; 2: protected PCIe (multi-GPU). */
		if (r->feature_flag == 0 || r->feature_flag == 2)
			TRY(veil_claim_str(c, "cc_feature",
					   r->feature_flag == 0 ? "spt" : "ppcie"));
	}
	if (r->switch_pdi_count > 0)
		TRY(veil_claim_uint(c, "switch_pdi_count", (uint64_t)r->switch_pdi_count));
	TRY(veil_claim_uint(c, "measurement_blocks", r->block_count));
	TRY(veil_claim_uint(c, "trailing_bytes", r->trailing));
	meas = json_object();
	ENSURE(meas != NULL, VEIL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < r->block_count; i++) {
		char key[8];
		snprintf(key, sizeof key, "%u", r->block[i].index);
		veil_err err = veil_claim_hex(meas, key, r->block[i].value, r->block[i].size);
		if (err != VEIL_OK) {
			json_decref(meas);
			return err;
		}
	}
	return veil_claim_json(c, "measurements", meas);
}

static const char *const index_names[] = {
    [NV_INDEX_UNCOVERED] = NULL,
    [NV_INDEX_MATCH] = "match",
    [NV_INDEX_MISMATCH] = "mismatch",
    [NV_INDEX_SKIPPED] = "skipped",
};

static veil_err claims_found(const nv_report *r, json_t *c)
{
	const nv_result *f = r->found;
	json_t *idx, *ocsp;

	if (f->chip[0] != '\0') {
		TRY(veil_claim_str(c, "chip", f->chip));
		TRY(veil_claim_str(c, "arch", arch_of(f->chip)));
	}
	TRY(claim_str_if(c, "hwmodel", f->hwmodel));
	TRY(claim_str_if(c, "ueid", f->ueid));
	TRY(veil_claim_bool(c, "chain_verified", f->chain_ok));
	TRY(veil_claim_bool(c, "signature_verified", f->signature_ok));
	if (f->fwid_compared)
		TRY(veil_claim_bool(c, "fwid_match", f->fwid_ok));
	else
		TRY(veil_claim_str(c, "fwid_match", "not_present"));
	TRY(veil_claim_bool(c, "measurements_match", f->measurements_ok));
	TRY(claim_str_if(c, "driver_rim", f->driver_rim));
	TRY(claim_str_if(c, "vbios_rim", f->vbios_rim));
	idx = json_object();
	ENSURE(idx != NULL, VEIL_E_NOMEM, "out of memory");
	for (unsigned i = 1; i < 256; i++) {
		const char *name = index_names[f->index_status[i]];
		char key[8];
		if (name == NULL)
			continue;
		snprintf(key, sizeof key, "%u", i);
		if (veil_claim_str(idx, key, name) != VEIL_OK) {
			json_decref(idx);
			return VEIL_E_NOMEM;
		}
	}
	TRY(veil_claim_json(c, "measurement_results", idx));
	if (f->ocsp_checked) {
		ocsp = json_pack("{s:s, s:s, s:s}", "gpu", veil_ocsp_status_name(f->gpu_ocsp),
				 "driver_rim", veil_ocsp_status_name(f->driver_rim_ocsp),
				 "vbios_rim", veil_ocsp_status_name(f->vbios_rim_ocsp));
		ENSURE(ocsp != NULL, VEIL_E_NOMEM, "out of memory");
		TRY(veil_claim_json(c, "ocsp", ocsp));
		TRY(veil_claim_str(c, "revocation_policy",
				   f->allow_unknown_revocation ? "allow-unknown" : "require"));
	}
	return VEIL_OK;
}

veil_err nv_report_claims(const nv_report *r, json_t *claims)
{
	TRY(nv_report_claims_fields(r, claims));
	return claims_found(r, claims);
}

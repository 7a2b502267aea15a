/*
 * nv_opaque.c - decoding the NVIDIA opaque data fields of a GPU report.
 *
 * The opaque data of the MEASUREMENTS response is NVIDIA's own list of
 * type-length-value fields (types in nv_report.h). The verifier needs a few
 * of them: the driver and VBIOS versions and the chip name pick the RIMs,
 * the FWID binds the report to the leaf certificate, NVDEC0 status decides
 * whether measurement index 35 counts. Policy reads others (protected PCIe
 * status, feature flag). Each is checked for its exact size and character
 * set here, so nothing downstream sees a malformed value. Fields Veil does
 * not interpret are kept as raw bytes and shown in the claims.
 */
#include <stdio.h>
#include <string.h>

#include "evidence/nvidia/nv_report.h"

static const char *const opaque_names[] = {
    [NV_OPAQUE_CERT_ISSUER_NAME] = "cert_issuer_name",
    [NV_OPAQUE_CERT_AUTHORITY_KEY_ID] = "cert_authority_key_id",
    [NV_OPAQUE_DRIVER_VERSION] = "driver_version",
    [NV_OPAQUE_GPU_INFO] = "gpu_info",
    [NV_OPAQUE_SKU] = "sku",
    [NV_OPAQUE_VBIOS_VERSION] = "vbios_version",
    [NV_OPAQUE_MANUFACTURER_ID] = "manufacturer_id",
    [NV_OPAQUE_TAMPER_DETECTION] = "tamper_detection",
    [NV_OPAQUE_SMC] = "smc",
    [NV_OPAQUE_VPR] = "vpr",
    [NV_OPAQUE_NVDEC0_STATUS] = "nvdec0_status",
    [NV_OPAQUE_MSRSCNT] = "msrscnt",
    [NV_OPAQUE_CPRINFO] = "cprinfo",
    [NV_OPAQUE_BOARD_ID] = "board_id",
    [NV_OPAQUE_CHIP_SKU] = "chip_sku",
    [NV_OPAQUE_CHIP_SKU_MOD] = "chip_sku_mod",
    [NV_OPAQUE_PROJECT] = "project",
    [NV_OPAQUE_PROJECT_SKU] = "project_sku",
    [NV_OPAQUE_PROJECT_SKU_MOD] = "project_sku_mod",
    [NV_OPAQUE_FWID] = "fwid",
    [NV_OPAQUE_PROTECTED_PCIE_STATUS] = "protected_pcie_status",
    [NV_OPAQUE_SWITCH_PDI] = "switch_pdi",
    [NV_OPAQUE_FLOORSWEPT_PORTS] = "floorswept_ports",
    [NV_OPAQUE_POSITION_ID] = "position_id",
    [NV_OPAQUE_LOCK_SWITCH_STATUS] = "lock_switch_status",
    [NV_OPAQUE_GPU_LINK_CONN] = "gpu_link_conn",
    [NV_OPAQUE_SYS_ENABLE_STATUS] = "sys_enable_status",
    [NV_OPAQUE_OPAQUE_DATA_VERSION] = "opaque_data_version",
    [NV_OPAQUE_CHIP_INFO] = "chip_info",
    [NV_OPAQUE_FEATURE_FLAG] = "feature_flag",
};

const char *nv_opaque_name(uint16_t type)
{
	if (type >= sizeof opaque_names / sizeof opaque_names[0])
		return NULL;
	return opaque_names[type];
}

/* A NUL-padded ASCII string field: printable text, then only NULs. Version
 * strings and SKU names contain letters, digits, '.', '-' and '_'. */
static veil_err opaque_string(const nv_opaque_field *f, char *out, size_t cap)
{
	size_t n = 0;

	while (n < f->len && f->value[n] != 0)
		n++;
	for (size_t i = n; i < f->len; i++)
		ENSURE(f->value[i] == 0, VEIL_E_MALFORMED,
		       "opaque field %s: bytes after its terminating NUL", nv_opaque_name(f->type));
	ENSURE(n > 0, VEIL_E_MALFORMED, "opaque field %s is empty", nv_opaque_name(f->type));
	ENSURE(n < cap, VEIL_E_LIMIT, "opaque field %s is longer than %zu characters",
	       nv_opaque_name(f->type), cap - 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = f->value[i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
			  (c >= 'a' && c <= 'z') || c == '.' || c == '-' || c == '_';
		ENSURE(ok, VEIL_E_MALFORMED,
		       "opaque field %s has a character 0x%02x outside [A-Za-z0-9._-]",
		       nv_opaque_name(f->type), c);
	}
	memcpy(out, f->value, n);
	out[n] = '\0';
	return VEIL_OK;
}

static veil_err opaque_sized(const nv_opaque_field *f, size_t want)
{
	ENSURE(f->len == want, VEIL_E_MALFORMED, "opaque field %s has %u bytes, expected %zu",
	       nv_opaque_name(f->type), f->len, want);
	return VEIL_OK;
}

static veil_err decode_string(nv_report *r, uint16_t type, char *out, size_t cap)
{
	const nv_opaque_field *f = nv_report_opaque(r, type);

	out[0] = '\0';
	return f != NULL ? opaque_string(f, out, cap) : VEIL_OK;
}

static veil_err decode_byte(nv_report *r, uint16_t type, int *out)
{
	const nv_opaque_field *f = nv_report_opaque(r, type);

	*out = -1;
	if (f == NULL)
		return VEIL_OK;
	TRY(opaque_sized(f, 1));
	*out = f->value[0];
	return VEIL_OK;
}

static veil_err decode_u16(nv_report *r, uint16_t type, int *out)
{
	const nv_opaque_field *f = nv_report_opaque(r, type);

	*out = -1;
	if (f == NULL)
		return VEIL_OK;
	TRY(opaque_sized(f, 2));
	*out = f->value[0] | f->value[1] << 8;
	return VEIL_OK;
}

veil_err nv_opaque_decode(nv_report *r)
{
	const nv_opaque_field *f;

	TRY(decode_string(r, NV_OPAQUE_DRIVER_VERSION, r->driver_version,
			  sizeof r->driver_version));
	TRY(decode_string(r, NV_OPAQUE_PROJECT, r->project, sizeof r->project));
	TRY(decode_string(r, NV_OPAQUE_PROJECT_SKU, r->project_sku, sizeof r->project_sku));
	TRY(decode_string(r, NV_OPAQUE_CHIP_SKU, r->chip_sku, sizeof r->chip_sku));
	TRY(decode_string(r, NV_OPAQUE_CHIP_INFO, r->chip_info, sizeof r->chip_info));

	/* The VBIOS version is a little-endian 64-bit word; NVIDIA writes it
	 * as bytes 3.2.1.0.4 in upper-case hex ("96.00.9F.00.01"), which is
	 * also how RIMs name it. */
	r->vbios_version[0] = '\0';
	f = nv_report_opaque(r, NV_OPAQUE_VBIOS_VERSION);
	if (f != NULL) {
		TRY(opaque_sized(f, 8));
		snprintf(r->vbios_version, sizeof r->vbios_version, "%02X.%02X.%02X.%02X.%02X",
			 f->value[3], f->value[2], f->value[1], f->value[0], f->value[4]);
	}

	r->fwid = NULL;
	f = nv_report_opaque(r, NV_OPAQUE_FWID);
	if (f != NULL) {
		TRY(opaque_sized(f, NV_DIGEST_LEN));
		r->fwid = f->value;
	}

	f = nv_report_opaque(r, NV_OPAQUE_MSRSCNT);
	if (f != NULL)
		ENSURE(f->len % 4 == 0, VEIL_E_MALFORMED,
		       "opaque field msrscnt has %u bytes, not a multiple of 4", f->len);
	r->switch_pdi_count = 0;
	f = nv_report_opaque(r, NV_OPAQUE_SWITCH_PDI);
	if (f != NULL) {
		ENSURE(f->len % 8 == 0, VEIL_E_MALFORMED,
		       "opaque field switch_pdi has %u bytes, not a multiple of 8", f->len);
		r->switch_pdi_count = f->len / 8;
	}

	TRY(decode_byte(r, NV_OPAQUE_NVDEC0_STATUS, &r->nvdec0_status));
	TRY(decode_byte(r, NV_OPAQUE_PROTECTED_PCIE_STATUS, &r->protected_pcie_status));
	TRY(decode_u16(r, NV_OPAQUE_OPAQUE_DATA_VERSION, &r->opaque_data_version));
	TRY(decode_u16(r, NV_OPAQUE_FEATURE_FLAG, &r->feature_flag));
	return VEIL_OK;
}

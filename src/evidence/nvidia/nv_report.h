/*
 * nv_report.h - NVIDIA GPU attestation reports (SPDM 1.1 GET_MEASUREMENTS).
 *
 * What an NVIDIA Hopper or Blackwell GPU in confidential-computing mode
 * returns through NVML's attestation report call is the SPDM transcript of
 * one measurement exchange: the 37-byte GET_MEASUREMENTS request (with the
 * caller's 32-byte nonce) followed by the MEASUREMENTS response: the
 * measurement record (one DMTF block per measurement index), the responder
 * nonce, NVIDIA's opaque data (type-length-value fields, little-endian:
 * driver and VBIOS versions, project and SKU, FWID, NVDEC0 and protected PCIe
 * status, ...) and an ECDSA P-384 signature, raw r||s over SHA-384 of every
 * byte before it (DSP0274 1.1.0 section 10.11, "L1/L2" transcript).
 *
 * nv_report_parse is pure and bounded; it keeps a copy of the bytes and
 * borrows every field from that copy. The certificate chain, the FWID
 * binding and the RIM comparison are in nv_verify.c.
 */
#ifndef VEIL_NVIDIA_REPORT_H
#define VEIL_NVIDIA_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

/* DSP0274 1.1.0 section 10.11: GET_MEASUREMENTS with a signature request is
 * version, code, param1, param2, 32-byte nonce, SlotIDParam. */
#define NV_REQUEST_LEN  37
#define NV_NONCE_LEN    32
#define NV_SIG_LEN      96 /* ECDSA P-384, r || s */
#define NV_DIGEST_LEN   48 /* SHA-384 measurement values */
#define NV_BLOCKS_MAX   255
#define NV_OPAQUE_MAX   64 /* fields in the opaque data */
#define NV_TRAILING_MAX 64 /* zero bytes tolerated after the signature */
#define NV_VERSION_MAX  32

/* NVIDIA opaque data field types (nvtrust OpaqueDataParser numbering). */
enum nv_opaque_type {
	NV_OPAQUE_CERT_ISSUER_NAME = 1,
	NV_OPAQUE_CERT_AUTHORITY_KEY_ID = 2,
	NV_OPAQUE_DRIVER_VERSION = 3,
	NV_OPAQUE_GPU_INFO = 4,
	NV_OPAQUE_SKU = 5,
	NV_OPAQUE_VBIOS_VERSION = 6,
	NV_OPAQUE_MANUFACTURER_ID = 7,
	NV_OPAQUE_TAMPER_DETECTION = 8,
	NV_OPAQUE_SMC = 9,
	NV_OPAQUE_VPR = 10,
	NV_OPAQUE_NVDEC0_STATUS = 11,
	NV_OPAQUE_MSRSCNT = 12,
	NV_OPAQUE_CPRINFO = 13,
	NV_OPAQUE_BOARD_ID = 14,
	NV_OPAQUE_CHIP_SKU = 15,
	NV_OPAQUE_CHIP_SKU_MOD = 16,
	NV_OPAQUE_PROJECT = 17,
	NV_OPAQUE_PROJECT_SKU = 18,
	NV_OPAQUE_PROJECT_SKU_MOD = 19,
	NV_OPAQUE_FWID = 20,
	NV_OPAQUE_PROTECTED_PCIE_STATUS = 21,
	NV_OPAQUE_SWITCH_PDI = 22,
	NV_OPAQUE_FLOORSWEPT_PORTS = 23,
	NV_OPAQUE_POSITION_ID = 24,
	NV_OPAQUE_LOCK_SWITCH_STATUS = 25,
	NV_OPAQUE_GPU_LINK_CONN = 32,
	NV_OPAQUE_SYS_ENABLE_STATUS = 33,
	NV_OPAQUE_OPAQUE_DATA_VERSION = 34,
	NV_OPAQUE_CHIP_INFO = 35,
	NV_OPAQUE_FEATURE_FLAG = 36,
};

/* NVDEC0 status and protected PCIe status byte values. */
#define NV_STATUS_DISABLED 0x55 /* NVDEC0 0x55: measurement index 35 not taken */
#define NV_STATUS_ENABLED  0xAA

typedef struct nv_block {
	uint8_t index; /* SPDM measurement index, 1-based */
	uint8_t spec;  /* MeasurementSpecification: bit 0 = DMTF */
	uint8_t type;  /* DMTFSpecMeasurementValueType */
	uint16_t size; /* value size */
	const uint8_t *value;
} nv_block;

typedef struct nv_opaque_field {
	uint16_t type;
	uint16_t len;
	const uint8_t *value;
} nv_opaque_field;

struct nv_result;

typedef struct nv_report {
	uint8_t *raw; /* owned copy of the input */
	size_t len;   /* input length, trailing bytes included */

	/* GET_MEASUREMENTS request */
	uint8_t req_param1, req_param2, req_slot;
	const uint8_t *nonce; /* the requester's nonce: what the caller binds */

	/* MEASUREMENTS response */
	uint8_t rsp_param1, rsp_param2;
	size_t block_count;
	nv_block block[NV_BLOCKS_MAX];
	const uint8_t *rsp_nonce;
	size_t opaque_count;
	nv_opaque_field opaque[NV_OPAQUE_MAX];

	size_t signed_len;  /* bytes [0, signed_len) are signed */
	const uint8_t *sig; /* NV_SIG_LEN bytes at raw + signed_len */
	size_t trailing;    /* zero bytes after the signature */

	/* Decoded opaque fields (empty string / -1 when absent). */
	char driver_version[NV_VERSION_MAX];
	char vbios_version[NV_VERSION_MAX]; /* "96.00.5E.00.01" */
	char project[NV_VERSION_MAX], project_sku[NV_VERSION_MAX], chip_sku[NV_VERSION_MAX];
	char chip_info[NV_VERSION_MAX]; /* "GB202" (opaque data version >= 1) */
	const uint8_t *fwid;            /* NV_DIGEST_LEN bytes, or NULL */
	int nvdec0_status, protected_pcie_status, opaque_data_version, feature_flag;
	int switch_pdi_count;

	/* Separately allocated, so verify can record what it found on a const
	 * report (nv_verify.h). */
	struct nv_result *found;
} nv_report;

/* The report's SPDM block with this 1-based index, or NULL. */
const nv_block *nv_report_block(const nv_report *r, unsigned index);
/* The opaque field of this type, or NULL. */
const nv_opaque_field *nv_report_opaque(const nv_report *r, uint16_t type);

/* Cheap: does buf look like a GET_MEASUREMENTS transcript? */
bool nv_report_detect(const uint8_t *buf, size_t len);
/* Pure: parses the whole transcript. Trailing bytes after the signature
 * must be zero and at most NV_TRAILING_MAX (docs/evidence-nvidia.md). */
VEIL_MUST_CHECK veil_err nv_report_parse(const uint8_t *buf, size_t len, nv_report **out);
void nv_report_free(nv_report *r);

/* Decodes the opaque fields the verifier and the claims use (called by
 * nv_report_parse; in nv_opaque.c). */
VEIL_MUST_CHECK veil_err nv_opaque_decode(nv_report *r);
/* Static name of an opaque field type ("driver_version"), or NULL. */
const char *nv_opaque_name(uint16_t type);

#endif

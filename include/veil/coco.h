/*
 * coco.h - Confidential Containers guest components' evidence forms, read
 * into Veil's own (docs/kbs-protocol.md).
 *
 * CoCo's attestation agent serialises each TEE's evidence with Rust's
 * serde: an SEV-SNP report becomes a JSON object of its fields (byte arrays
 * as arrays of numbers) next to the certificate table the host supplied,
 * and NVIDIA GPUs arrive as {"device_evidence_list": [...]} inside the
 * additional evidence map. Veil verifies one form only, its own (the raw
 * ABI report bytes, the bundle's device entries), so these functions
 * rebuild that form exactly and refuse anything they do not fully
 * understand: the signature check that follows is over bytes rebuilt
 * here, so a field dropped or guessed would at best fail verification and
 * at worst hide what the report said.
 */
#ifndef VEIL_COCO_H
#define VEIL_COCO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

/* SEV-SNP Firmware ABI: the ATTESTATION_REPORT is 0x4A0 bytes. */
#define VEIL_COCO_SNP_REPORT_SIZE 0x4A0

/*
 * Rebuilds the ABI bytes of an SNP report from CoCo's SNP evidence
 * {"attestation_report": {...}, "cert_chain": [{"cert_type": "VCEK",
 * "data": [...]}, ...] | null}. *certs is a new JSON array of the
 * certificate table's entries as standard base64 strings (DER as the host
 * supplied them), empty when there is none; the caller adds them to the
 * collateral, where the verifier picks what it needs by content.
 */
VEIL_MUST_CHECK veil_err veil_coco_snp_evidence(const json_t *evidence,
						uint8_t report[VEIL_COCO_SNP_REPORT_SIZE],
						json_t **certs);

/*
 * Reads CoCo's additional evidence map {"nvidia": {"device_evidence_list":
 * [{"arch", "uuid", "evidence", "certificate"}, ...]}} (already parsed from
 * the additional_evidence string) into a new JSON array of Veil's device
 * entries [{"type": "nvidia", "evidence", "certificate"}, ...]. Any other
 * member of the map, or of an entry, is refused.
 */
VEIL_MUST_CHECK veil_err veil_coco_devices(const json_t *map, json_t **devices);

#endif

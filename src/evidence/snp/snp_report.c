/*
 * snp_report.c - parses the SEV-SNP attestation report and the Azure HCL
 * envelope around it.
 *
 * The report is the 1184-byte ATTESTATION_REPORT of the SEV-SNP Firmware ABI
 * (revision 1.55 Table 22; 1.57 Table 23). Every field is read in order
 * through the bounded reader at the offset the ABI gives, reserved ranges
 * must be zero (a non-zero reserved byte means a layout we do not know), and
 * the parse ends with a check that nothing is left over. Versions 2, 3 and 5
 * are accepted; anything else is refused rather than guessed at.
 *
 * The Azure confidential VM vTPM "HCL report" (NV index 0x01400001) wraps a
 * report: a 32-byte "HCLA" header, the report at [0x20, 0x4C0), then the
 * IGVM request data (a 20-byte header and the runtime-data JSON whose digest
 * the report's REPORT_DATA carries), then zero padding.
 *
 * Pure: bytes in, struct out; no I/O, no clock.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/snp/snp_report.h"
#include "veil/bytes.h"
#include "veil/limits.h"

static veil_err read_zeros(veil_reader *r, size_t n, const char *field)
{
	size_t at = veil_reader_offset(r);
	veil_err err = veil_reader_zeros(r, n);

	if (err != VEIL_OK)
		return veil_fail(VEIL_E_MALFORMED,
				 "SNP report: %s at offset 0x%zx (%zu bytes) must be zero; this "
				 "report uses a layout Veil does not know",
				 field, at, n);
	return VEIL_OK;
}

/* SEV-SNP ABI, ATTESTATION_REPORT: VERSION 0x000 .. CHIP_ID 0x1A0. */
static veil_err report_head(veil_reader *r, struct snp_report *out)
{
	TRY(veil_reader_u32le(r, &out->version)); /* 0x000 VERSION */
	/* ABI 1.55 defines version 2 (no CPUID), 1.55/1.56 version 3 (CPUID at
	 * 0x188), 1.57 version 5 (mitigation vectors at 0x1F8/0x200). */
	ENSURE(out->version == 2 || out->version == 3 || out->version == 5, VEIL_E_UNSUPPORTED,
	       "SNP report: VERSION (offset 0x000) is %u; Veil accepts versions 2, 3 and 5",
	       out->version);
	TRY(veil_reader_u32le(r, &out->guest_svn));   /* 0x004 GUEST_SVN */
	TRY(veil_reader_u64le(r, &out->policy));      /* 0x008 POLICY */
	TRY(veil_reader_copy(r, out->family_id, 16)); /* 0x010 FAMILY_ID */
	TRY(veil_reader_copy(r, out->image_id, 16));  /* 0x020 IMAGE_ID */
	TRY(veil_reader_u32le(r, &out->vmpl));        /* 0x030 VMPL */
	/* 0x030 VMPL: 0..3 for a guest request; 0xFFFFFFFF when the host asked
	 * (SNP_HV_REPORT_REQ, ABI 1.56). */
	ENSURE(out->vmpl <= 3 || out->vmpl == 0xFFFFFFFFu, VEIL_E_MALFORMED,
	       "SNP report: VMPL (offset 0x030) is %u; valid values are 0-3", out->vmpl);
	TRY(veil_reader_u32le(r, &out->signature_algo)); /* 0x034 SIGNATURE_ALGO */
	/* ABI, Table "Signature Algorithm Encodings": 1 = ECDSA P-384 with SHA-384. */
	ENSURE(out->signature_algo == 1, VEIL_E_UNSUPPORTED,
	       "SNP report: SIGNATURE_ALGO (offset 0x034) is %u; only 1 (ECDSA P-384 with "
	       "SHA-384) is defined",
	       out->signature_algo);
	TRY(veil_reader_u64le(r, &out->current_tcb));   /* 0x038 CURRENT_TCB */
	TRY(veil_reader_u64le(r, &out->platform_info)); /* 0x040 PLATFORM_INFO */
	TRY(veil_reader_u32le(r, &out->key_info));      /* 0x048 */
	/* 0x048 bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY,
	 * bits 31:5 reserved. */
	ENSURE((out->key_info >> 5) == 0, VEIL_E_MALFORMED,
	       "SNP report: reserved bits 31:5 of the key-info word (offset 0x048) are set "
	       "(0x%08x)",
	       out->key_info);
	out->author_key_en = (out->key_info & 1u) != 0;
	out->mask_chip_key = (out->key_info & 2u) != 0;
	out->signing_key = (uint8_t)((out->key_info >> 2) & 7u);
	ENSURE(out->signing_key == SNP_SIGNER_VCEK || out->signing_key == SNP_SIGNER_VLEK ||
		   out->signing_key == SNP_SIGNER_NONE,
	       VEIL_E_MALFORMED,
	       "SNP report: SIGNING_KEY (offset 0x048 bits 4:2) is %u; defined values are 0 "
	       "(VCEK), 1 (VLEK) and 7 (none)",
	       out->signing_key);
	TRY(read_zeros(r, 4, "reserved"));                    /* 0x04C */
	TRY(veil_reader_copy(r, out->report_data, 64));       /* 0x050 REPORT_DATA */
	TRY(veil_reader_copy(r, out->measurement, 48));       /* 0x090 MEASUREMENT */
	TRY(veil_reader_copy(r, out->host_data, 32));         /* 0x0C0 HOST_DATA */
	TRY(veil_reader_copy(r, out->id_key_digest, 48));     /* 0x0E0 ID_KEY_DIGEST */
	TRY(veil_reader_copy(r, out->author_key_digest, 48)); /* 0x110 AUTHOR_KEY_DIGEST */
	TRY(veil_reader_copy(r, out->report_id, 32));         /* 0x140 REPORT_ID */
	TRY(veil_reader_copy(r, out->report_id_ma, 32));      /* 0x160 REPORT_ID_MA */
	TRY(veil_reader_u64le(r, &out->reported_tcb));        /* 0x180 REPORTED_TCB */
	if (out->version >= 3) {
		/* ABI 1.55: 0x188 CPUID_FAM_ID, 0x189 CPUID_MOD_ID, 0x18A CPUID_STEP. */
		out->has_cpuid = true;
		TRY(veil_reader_u8(r, &out->cpuid_fam));
		TRY(veil_reader_u8(r, &out->cpuid_mod));
		TRY(veil_reader_u8(r, &out->cpuid_step));
		TRY(read_zeros(r, 0x1A0 - 0x18B, "reserved")); /* 0x18B */
		out->cpuid_product = snp_product_from_cpuid(out->cpuid_fam, out->cpuid_mod);
	} else {
		TRY(read_zeros(r, 0x1A0 - 0x188, "reserved (version 2)")); /* 0x188 */
	}
	TRY(veil_reader_copy(r, out->chip_id, 64)); /* 0x1A0 CHIP_ID */
	return VEIL_OK;
}

/* SEV-SNP ABI, ATTESTATION_REPORT: COMMITTED_TCB 0x1E0 .. end. */
static veil_err report_tail(veil_reader *r, struct snp_report *out)
{
	TRY(veil_reader_u64le(r, &out->committed_tcb)); /* 0x1E0 COMMITTED_TCB */
	TRY(veil_reader_u8(r, &out->current_build));    /* 0x1E8 CURRENT_BUILD */
	TRY(veil_reader_u8(r, &out->current_minor));    /* 0x1E9 CURRENT_MINOR */
	TRY(veil_reader_u8(r, &out->current_major));    /* 0x1EA CURRENT_MAJOR */
	TRY(read_zeros(r, 1, "reserved"));              /* 0x1EB */
	TRY(veil_reader_u8(r, &out->committed_build));  /* 0x1EC COMMITTED_BUILD */
	TRY(veil_reader_u8(r, &out->committed_minor));  /* 0x1ED COMMITTED_MINOR */
	TRY(veil_reader_u8(r, &out->committed_major));  /* 0x1EE COMMITTED_MAJOR */
	TRY(read_zeros(r, 1, "reserved"));              /* 0x1EF */
	TRY(veil_reader_u64le(r, &out->launch_tcb));    /* 0x1F0 LAUNCH_TCB */
	if (out->version >= 5) {
		/* ABI 1.57: 0x1F8 LAUNCH_MIT_VECTOR, 0x200 CURRENT_MIT_VECTOR. */
		out->has_mit_vector = true;
		TRY(veil_reader_u64le(r, &out->launch_mit_vector));
		TRY(veil_reader_u64le(r, &out->current_mit_vector));
		TRY(read_zeros(r, SNP_SIGNED_SIZE - 0x208, "reserved")); /* 0x208 */
	} else {
		TRY(read_zeros(r, SNP_SIGNED_SIZE - 0x1F8, "reserved")); /* 0x1F8 */
	}
	/* 0x2A0 SIGNATURE: ABI, "ECDSA P-384 with SHA-384 Signature": R at 0x00
	 * and S at 0x48 of the signature block, 72 bytes each, little-endian,
	 * then 368 reserved bytes. The reserved tail is not signed, so it must be
	 * zero: otherwise two different byte strings would carry one report. */
	TRY(veil_reader_copy(r, out->sig_r, SNP_SIG_COMPONENT));
	TRY(veil_reader_copy(r, out->sig_s, SNP_SIG_COMPONENT));
	TRY(read_zeros(r, SNP_REPORT_SIZE - 0x330, "signature reserved (unsigned)")); /* 0x330 */
	return veil_reader_end(r);
}

veil_err snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *out)
{
	veil_reader r;

	memset(out, 0, sizeof *out);
	ENSURE(buf != NULL, VEIL_E_USAGE, "SNP report: no input");
	ENSURE(len == SNP_REPORT_SIZE, len < SNP_REPORT_SIZE ? VEIL_E_TRUNCATED : VEIL_E_TRAILING,
	       "SNP report: %zu bytes; an ATTESTATION_REPORT is exactly %d (0x4A0) bytes", len,
	       SNP_REPORT_SIZE);
	veil_reader_init(&r, buf, len);
	TRY(report_head(&r, out));
	TRY(report_tail(&r, out));
	memcpy(out->signed_bytes, buf, SNP_SIGNED_SIZE);
	return VEIL_OK;
}

static bool is_hcl(const uint8_t *buf, size_t len)
{
	return len >= 4 && memcmp(buf, "HCLA", 4) == 0;
}

/*
 * Azure vTPM HCL report (Microsoft "Azure confidential VM guest attestation",
 * as parsed by trustee's az-snp-vtpm verifier and the Azure/confidential-
 * computing-cvm-guest-attestation sources):
 *   0x00 "HCLA", 0x04 version u32, 0x08 report_size u32 (header .. end of
 *   runtime data), 0x0C request_type u32 (2), 0x10 status u32, 0x14 12
 *   reserved bytes; 0x20 the SNP report; 0x4C0 IGVM_REQUEST_DATA: data_size
 *   u32, version u32, report_type u32 (2 = SNP), hash_type u32 (1 SHA-256,
 *   2 SHA-384, 3 SHA-512), variable_data_size u32, variable_data (JSON).
 */
static veil_err hcl_parse(const uint8_t *buf, size_t len, struct snp_evidence *ev)
{
	veil_reader r, rest;
	uint32_t version, report_size, request_type, status;
	uint32_t data_size, data_version, report_type, var_size;
	const uint8_t *report, *json;
	veil_err err;

	veil_reader_init(&r, buf, len);
	TRY(veil_reader_skip(&r, 4)); /* "HCLA" */
	TRY(veil_reader_u32le(&r, &version));
	TRY(veil_reader_u32le(&r, &report_size));
	TRY(veil_reader_u32le(&r, &request_type));
	TRY(veil_reader_u32le(&r, &status));
	TRY(veil_reader_skip(&r, 12)); /* reserved */
	ENSURE(report_size >= SNP_HCL_HEADER_SIZE + SNP_REPORT_SIZE + SNP_HCL_RUNTIME_HEADER_SIZE &&
		   report_size <= len,
	       VEIL_E_MALFORMED,
	       "HCL report: report_size (offset 0x08) is %u but the file has %zu bytes",
	       report_size, len);
	ENSURE(status == 0, VEIL_E_MALFORMED,
	       "HCL report: status (offset 0x10) is %u; the vTPM reported a failure", status);
	ENSURE(request_type == 2, VEIL_E_UNSUPPORTED,
	       "HCL report: request type (offset 0x0C) is %u; only 2 (SEV-SNP) is supported",
	       request_type);
	TRY(veil_reader_borrow(&r, SNP_REPORT_SIZE, &report));
	err = snp_report_parse(report, SNP_REPORT_SIZE, &ev->report);
	if (err != VEIL_OK)
		return veil_fail_context(err, "HCL report, SNP report at offset 0x20");
	TRY(veil_reader_u32le(&r, &data_size));
	TRY(veil_reader_u32le(&r, &data_version));
	TRY(veil_reader_u32le(&r, &report_type));
	TRY(veil_reader_u32le(&r, &ev->hcl_hash_type));
	TRY(veil_reader_u32le(&r, &var_size));
	ENSURE(report_type == 2, VEIL_E_UNSUPPORTED,
	       "HCL report: runtime data report_type (offset 0x4C8) is %u; expected 2 (SNP)",
	       report_type);
	ENSURE(ev->hcl_hash_type >= 1 && ev->hcl_hash_type <= 3, VEIL_E_UNSUPPORTED,
	       "HCL report: runtime data hash_type (offset 0x4CC) is %u; expected 1 (SHA-256), 2 "
	       "(SHA-384) or 3 (SHA-512)",
	       ev->hcl_hash_type);
	ENSURE(data_size == (uint64_t)var_size + SNP_HCL_RUNTIME_HEADER_SIZE &&
		   (uint64_t)report_size ==
		       (uint64_t)SNP_HCL_HEADER_SIZE + SNP_REPORT_SIZE + data_size,
	       VEIL_E_MALFORMED,
	       "HCL report: sizes disagree (report_size %u, runtime data_size %u, "
	       "variable_data_size %u)",
	       report_size, data_size, var_size);
	(void)version;
	(void)data_version;
	TRY(veil_reader_borrow(&r, var_size, &json));
	/* After report_size only zero padding may follow. */
	TRY(veil_reader_sub(&r, veil_reader_left(&r), &rest));
	ENSURE(veil_reader_zeros(&rest, veil_reader_left(&rest)) == VEIL_OK, VEIL_E_TRAILING,
	       "HCL report: non-zero bytes after report_size (%u); the file has trailing data",
	       report_size);
	ev->hcl_runtime = malloc(var_size ? var_size : 1);
	ENSURE(ev->hcl_runtime != NULL, VEIL_E_NOMEM, "HCL report: out of memory");
	memcpy(ev->hcl_runtime, json, var_size);
	ev->hcl_runtime_len = var_size;
	ev->is_hcl = true;
	return VEIL_OK;
}

veil_err snp_evidence_parse(const uint8_t *buf, size_t len, struct snp_evidence **out)
{
	struct snp_evidence *ev;
	veil_err err;

	*out = NULL;
	ENSURE(buf != NULL, VEIL_E_USAGE, "SNP evidence: no input");
	ENSURE(len <= VEIL_EVIDENCE_MAX_BYTES, VEIL_E_LIMIT,
	       "SNP evidence: %zu bytes is above the %d-byte cap", len, VEIL_EVIDENCE_MAX_BYTES);
	ev = calloc(1, sizeof *ev);
	if (ev == NULL)
		return veil_fail(VEIL_E_NOMEM, "SNP evidence: out of memory");
	ev->learned = calloc(1, sizeof *ev->learned);
	CHECK_THAT(ev->learned != NULL, VEIL_E_NOMEM, "SNP evidence: out of memory");
	if (is_hcl(buf, len))
		CHECK(hcl_parse(buf, len, ev));
	else
		CHECK(snp_report_parse(buf, len, &ev->report));
	*out = ev;
	return VEIL_OK;
out:
	snp_evidence_free(ev);
	return err;
}

void snp_evidence_free(struct snp_evidence *ev)
{
	if (ev == NULL)
		return;
	free(ev->hcl_runtime);
	free(ev->learned);
	free(ev);
}

/*
 * A cheap guess for --tee auto: a raw report (exactly 0x4A0 bytes, known
 * VERSION, SIGNATURE_ALGO 1) or an HCL envelope. A TDX quote starts with a
 * u16 version 4 or 5, u16 attestation key type 2 and u32 TEE type 0x81, so
 * its first u32 is 0x00020004 or 0x00020005, never 2, 3 or 5.
 */
bool snp_detect(const uint8_t *buf, size_t len)
{
	uint32_t version, algo;

	if (buf == NULL)
		return false;
	if (is_hcl(buf, len))
		return len >= SNP_HCL_HEADER_SIZE + SNP_REPORT_SIZE;
	if (len != SNP_REPORT_SIZE)
		return false;
	version = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
		  (uint32_t)buf[3] << 24;
	algo = (uint32_t)buf[0x34] | (uint32_t)buf[0x35] << 8 | (uint32_t)buf[0x36] << 16 |
	       (uint32_t)buf[0x37] << 24;
	return (version == 2 || version == 3 || version == 5) && algo == 1;
}

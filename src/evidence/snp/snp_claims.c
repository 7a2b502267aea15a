/*
 * snp_claims.c - turns a parsed SEV-SNP report into claims.
 *
 * Appraisal reads claims, never the report, so every field a policy may
 * want is here under a documented key (docs/evidence-snp.md), with the bit
 * fields of POLICY, PLATFORM_INFO and the TCB words decoded, so that a policy
 * says "debug": false instead of masking bit 19 itself. TCB words are decoded
 * with the layout of the product: CPUID for v3+ reports, the VEK's
 * productName (learned during verification) for v2.
 */
#include <stdio.h>

#include "evidence/snp/snp_report.h"
#include "veil/claims.h"

/* SEV-SNP ABI 1.57, Table 9 "Guest Policy Structure". */
#define POLICY_SMT               (1ull << 16)
#define POLICY_MIGRATE_MA        (1ull << 18)
#define POLICY_DEBUG             (1ull << 19)
#define POLICY_SINGLE_SOCKET     (1ull << 20)
#define POLICY_CXL_ALLOW         (1ull << 21)
#define POLICY_MEM_AES_256_XTS   (1ull << 22)
#define POLICY_RAPL_DIS          (1ull << 23)
#define POLICY_CIPHERTEXT_HIDING (1ull << 24)

/* SEV-SNP ABI 1.57, ATTESTATION_REPORT offset 0x40 PLATFORM_INFO. */
#define PLATFORM_SMT_EN               (1ull << 0)
#define PLATFORM_TSME_EN              (1ull << 1)
#define PLATFORM_ECC_EN               (1ull << 2)
#define PLATFORM_RAPL_DIS             (1ull << 3)
#define PLATFORM_CIPHERTEXT_HIDING_EN (1ull << 4)
#define PLATFORM_ALIAS_CHECK_COMPLETE (1ull << 5)

static veil_err claim_tcb(json_t *claims, const char *key, const char *decoded_key, uint64_t raw,
			  enum snp_product layout)
{
	struct snp_tcb t;
	json_t *o;

	TRY(veil_claim_u64hex(claims, key, raw));
	snp_tcb_decode(raw, layout, &t);
	o = json_object();
	ENSURE(o != NULL, VEIL_E_NOMEM, "claims: out of memory");
	if (json_object_set_new(o, "bootloader", json_integer(t.bootloader)) != 0 ||
	    json_object_set_new(o, "tee", json_integer(t.tee)) != 0 ||
	    json_object_set_new(o, "snp", json_integer(t.snp)) != 0 ||
	    json_object_set_new(o, "microcode", json_integer(t.microcode)) != 0 ||
	    (t.has_fmc && json_object_set_new(o, "fmc", json_integer(t.fmc)) != 0)) {
		json_decref(o);
		return veil_fail(VEIL_E_NOMEM, "claims: out of memory");
	}
	return veil_claim_json(claims, decoded_key, o);
}

static veil_err claim_policy(json_t *claims, uint64_t policy)
{
	TRY(veil_claim_u64hex(claims, "policy", policy));
	TRY(veil_claim_uint(claims, "abi_minor", policy & 0xff));
	TRY(veil_claim_uint(claims, "abi_major", (policy >> 8) & 0xff));
	TRY(veil_claim_bool(claims, "smt", (policy & POLICY_SMT) != 0));
	TRY(veil_claim_bool(claims, "migrate_ma", (policy & POLICY_MIGRATE_MA) != 0));
	TRY(veil_claim_bool(claims, "debug", (policy & POLICY_DEBUG) != 0));
	TRY(veil_claim_bool(claims, "single_socket", (policy & POLICY_SINGLE_SOCKET) != 0));
	TRY(veil_claim_bool(claims, "cxl_allow", (policy & POLICY_CXL_ALLOW) != 0));
	TRY(veil_claim_bool(claims, "mem_aes_256_xts", (policy & POLICY_MEM_AES_256_XTS) != 0));
	TRY(veil_claim_bool(claims, "rapl_dis", (policy & POLICY_RAPL_DIS) != 0));
	TRY(veil_claim_bool(claims, "ciphertext_hiding", (policy & POLICY_CIPHERTEXT_HIDING) != 0));
	return VEIL_OK;
}

static veil_err claim_platform(json_t *claims, uint64_t info)
{
	TRY(veil_claim_u64hex(claims, "platform_info", info));
	TRY(veil_claim_bool(claims, "smt_enabled", (info & PLATFORM_SMT_EN) != 0));
	TRY(veil_claim_bool(claims, "tsme_enabled", (info & PLATFORM_TSME_EN) != 0));
	TRY(veil_claim_bool(claims, "ecc_enabled", (info & PLATFORM_ECC_EN) != 0));
	TRY(veil_claim_bool(claims, "rapl_disabled", (info & PLATFORM_RAPL_DIS) != 0));
	TRY(veil_claim_bool(claims, "ciphertext_hiding_enabled",
			    (info & PLATFORM_CIPHERTEXT_HIDING_EN) != 0));
	TRY(veil_claim_bool(claims, "alias_check_complete",
			    (info & PLATFORM_ALIAS_CHECK_COMPLETE) != 0));
	return VEIL_OK;
}

static veil_err claim_fw(json_t *claims, const char *key, uint8_t major, uint8_t minor,
			 uint8_t build)
{
	char v[16];

	snprintf(v, sizeof v, "%u.%u.%u", major, minor, build);
	return veil_claim_str(claims, key, v);
}

static const char *signer_name(uint8_t k)
{
	return k == SNP_SIGNER_VCEK ? "vcek" : k == SNP_SIGNER_VLEK ? "vlek" : "none";
}

static veil_err claim_digests(json_t *claims, const struct snp_report *r)
{
	TRY(veil_claim_hex(claims, "family_id", r->family_id, sizeof r->family_id));
	TRY(veil_claim_hex(claims, "image_id", r->image_id, sizeof r->image_id));
	TRY(veil_claim_hex(claims, "report_data", r->report_data, sizeof r->report_data));
	TRY(veil_claim_hex(claims, "measurement", r->measurement, sizeof r->measurement));
	TRY(veil_claim_hex(claims, "host_data", r->host_data, sizeof r->host_data));
	TRY(veil_claim_hex(claims, "id_key_digest", r->id_key_digest, sizeof r->id_key_digest));
	TRY(veil_claim_hex(claims, "author_key_digest", r->author_key_digest,
			   sizeof r->author_key_digest));
	TRY(veil_claim_hex(claims, "report_id", r->report_id, sizeof r->report_id));
	TRY(veil_claim_hex(claims, "report_id_ma", r->report_id_ma, sizeof r->report_id_ma));
	TRY(veil_claim_hex(claims, "chip_id", r->chip_id, sizeof r->chip_id));
	return VEIL_OK;
}

veil_err snp_claims(const void *evp, json_t *claims)
{
	const struct snp_evidence *ev = evp;
	const struct snp_report *r = &ev->report;
	enum snp_product layout = snp_report_layout_product(r, ev->learned->product);

	TRY(veil_claim_uint(claims, "version", r->version));
	TRY(veil_claim_uint(claims, "guest_svn", r->guest_svn));
	TRY(claim_policy(claims, r->policy));
	TRY(veil_claim_uint(claims, "vmpl", r->vmpl));
	TRY(veil_claim_uint(claims, "signature_algo", r->signature_algo));
	TRY(claim_platform(claims, r->platform_info));
	TRY(veil_claim_str(claims, "signing_key", signer_name(r->signing_key)));
	TRY(veil_claim_bool(claims, "author_key_en", r->author_key_en));
	TRY(veil_claim_bool(claims, "mask_chip_key", r->mask_chip_key));
	TRY(claim_digests(claims, r));
	TRY(claim_tcb(claims, "current_tcb", "current_tcb_decoded", r->current_tcb, layout));
	TRY(claim_tcb(claims, "reported_tcb", "reported_tcb_decoded", r->reported_tcb, layout));
	TRY(claim_tcb(claims, "committed_tcb", "committed_tcb_decoded", r->committed_tcb, layout));
	TRY(claim_tcb(claims, "launch_tcb", "launch_tcb_decoded", r->launch_tcb, layout));
	TRY(claim_fw(claims, "current_fw", r->current_major, r->current_minor, r->current_build));
	TRY(claim_fw(claims, "committed_fw", r->committed_major, r->committed_minor,
		     r->committed_build));
	if (r->has_cpuid) {
		TRY(veil_claim_uint(claims, "cpuid_fam", r->cpuid_fam));
		TRY(veil_claim_uint(claims, "cpuid_mod", r->cpuid_mod));
		TRY(veil_claim_uint(claims, "cpuid_step", r->cpuid_step));
	}
	if (r->has_mit_vector) {
		TRY(veil_claim_u64hex(claims, "launch_mit_vector", r->launch_mit_vector));
		TRY(veil_claim_u64hex(claims, "current_mit_vector", r->current_mit_vector));
	}
	TRY(veil_claim_str(claims, "product", snp_product_name(layout)));
	TRY(veil_claim_bool(claims, "azure_hcl", ev->is_hcl));
	return VEIL_OK;
}

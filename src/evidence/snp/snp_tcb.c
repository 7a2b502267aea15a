/*
 * snp_tcb.c - the TCB_VERSION layouts and the processor products.
 *
 * A TCB_VERSION is a 64-bit word of security patch levels (SPLs). Milan and
 * Genoa use one layout, Turin another (it adds the FMC SPL and moves the
 * others), so the same eight bytes mean different things depending on the
 * product. The product comes from CPUID_FAM_ID/CPUID_MOD_ID in v3+ reports
 * and from the VEK's productName otherwise; this file holds those tables so
 * the rest of the module never has to know byte positions.
 */
#include <string.h>

#include "evidence/snp/snp_report.h"

static uint8_t tcb_byte(uint64_t raw, unsigned i)
{
	return (uint8_t)(raw >> (8 * i));
}

void snp_tcb_decode(uint64_t raw, enum snp_product product, struct snp_tcb *out)
{
	memset(out, 0, sizeof *out);
	if (product == SNP_PRODUCT_TURIN) {
		/* SEV-SNP ABI 1.57, "TCB_VERSION structure" for family 1Ah:
		 * byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 4-6 reserved,
		 * 7 MICROCODE. */
		out->has_fmc = true;
		out->fmc = tcb_byte(raw, 0);
		out->bootloader = tcb_byte(raw, 1);
		out->tee = tcb_byte(raw, 2);
		out->snp = tcb_byte(raw, 3);
		out->microcode = tcb_byte(raw, 7);
		return;
	}
	/* SEV-SNP ABI 1.55, "TCB_VERSION structure" (family 19h): byte 0
	 * BOOT_LOADER, 1 TEE, 2-5 reserved, 6 SNP, 7 MICROCODE. */
	out->bootloader = tcb_byte(raw, 0);
	out->tee = tcb_byte(raw, 1);
	out->snp = tcb_byte(raw, 6);
	out->microcode = tcb_byte(raw, 7);
}

/*
 * AMD family/model numbers (the combined family of CPUID Fn0000_0001_EAX as
 * the report's CPUID_FAM_ID/CPUID_MOD_ID carry them): family 19h models
 * 00h-0Fh are Milan (Zen 3 EPYC 7003), 10h-1Fh and A0h-AFh Genoa (Zen 4 EPYC
 * 9004 and the Zen 4c Bergamo/Siena parts that KDS serves as "Genoa"),
 * family 1Ah is Turin (Zen 5 EPYC 9005).
 */
enum snp_product snp_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19 && model <= 0x0F)
		return SNP_PRODUCT_MILAN;
	if (family == 0x19 &&
	    ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF)))
		return SNP_PRODUCT_GENOA;
	if (family == 0x1A)
		return SNP_PRODUCT_TURIN;
	return SNP_PRODUCT_UNKNOWN;
}

static const char *const product_names[SNP_PRODUCT_COUNT_] = {
    [SNP_PRODUCT_UNKNOWN] = "unknown",
    [SNP_PRODUCT_MILAN] = "Milan",
    [SNP_PRODUCT_GENOA] = "Genoa",
    [SNP_PRODUCT_TURIN] = "Turin",
};

/* AMD KDS productName: the product, optionally "-" and a stepping ("Milan-B0",
 * "Genoa", "Turin"). The name is compared case-sensitively, as KDS spells it. */
enum snp_product snp_product_from_name(const char *name)
{
	size_t n;

	if (name == NULL)
		return SNP_PRODUCT_UNKNOWN;
	for (int p = SNP_PRODUCT_MILAN; p < SNP_PRODUCT_COUNT_; p++) {
		n = strlen(product_names[p]);
		if (strncmp(name, product_names[p], n) == 0 && (name[n] == '\0' || name[n] == '-'))
			return (enum snp_product)p;
	}
	return SNP_PRODUCT_UNKNOWN;
}

const char *snp_product_name(enum snp_product product)
{
	if ((int)product < 0 || product >= SNP_PRODUCT_COUNT_)
		return "unknown";
	return product_names[product];
}

enum snp_product snp_report_layout_product(const struct snp_report *r, enum snp_product learned)
{
	if (r->has_cpuid && r->cpuid_product != SNP_PRODUCT_UNKNOWN)
		return r->cpuid_product;
	return learned;
}

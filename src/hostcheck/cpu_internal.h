/*
 * cpu_internal.h - what cpu.c (the CPU and SEV-SNP checks) and cpu_tdx.c
 * (TDX, IOMMU, kernel) share: the first block of /proc/cpuinfo, the
 * roots, a bounded text builder for evidence, and reading a KVM module
 * parameter.
 */
#ifndef VEIL_HOSTCHECK_CPU_INTERNAL_H
#define VEIL_HOSTCHECK_CPU_INTERNAL_H

#include <sys/stat.h>

#include "hostcheck/hostcheck_internal.h"
#include "veil/error.h"

#define HC_VENDOR_AMD   "AuthenticAMD"
#define HC_VENDOR_INTEL "GenuineIntel"

/* The first processor's block of /proc/cpuinfo. */
typedef struct hc_cpuinfo {
	char *buf; /* the file's first bytes, owned */
	char vendor[32];
	char model[128];
	const char *flags; /* into buf; NULL when there is no flags line */
	bool ok;           /* vendor_id and flags were found */
	char why[HC_WHY_MAX];
} hc_cpuinfo;

/* One run of the CPU checks. */
typedef struct hc_ctx {
	const veil_hc_options *o;
	veil_hc_report *r;
	const hc_cpuinfo *ci;
	const char *tee; /* "snp", "tdx" or "none" */
	const char *sysfs, *procfs, *dev;
} hc_ctx;

/* Evidence text, cut at VEIL_HC_TEXT_MAX - 1 bytes (veil_hc_add repairs a
 * character cut in two). */
typedef struct hc_text {
	char s[VEIL_HC_TEXT_MAX];
	size_t n;
} hc_text;
void hc_tx(hc_text *t, const char *fmt, ...) VEIL_PRINTF(2, 3);

/* stat() of root/rel: 0, or the errno. */
int hc_stat(const char *root, const char *rel, struct stat *st);

typedef enum hc_param {
	HC_PARAM_ON,      /* Y or 1 */
	HC_PARAM_OFF,     /* N or 0 */
	HC_PARAM_MISSING, /* no such file: the module does not have it */
	HC_PARAM_ERROR,   /* unreadable */
	HC_PARAM_ODD,     /* another value */
} hc_param;
/* sysfs module/<module>/parameters/<name>; shown gets the value, or the
 * reason in parentheses. */
hc_param hc_param_read(const char *sysfs, const char *module, const char *name, char *shown,
		       size_t cap);

/* flag is one of the first block's CPU flags. */
bool hc_cpu_flag(const hc_cpuinfo *ci, const char *flag);

VEIL_MUST_CHECK veil_err hc_check_tdx_flag(const hc_ctx *c);
VEIL_MUST_CHECK veil_err hc_check_tdx_kvm(const hc_ctx *c);
VEIL_MUST_CHECK veil_err hc_check_tdx_module(const hc_ctx *c);
VEIL_MUST_CHECK veil_err hc_check_iommu(const hc_ctx *c);
VEIL_MUST_CHECK veil_err hc_check_kernel(const hc_ctx *c);
/* The n/a of a check of the TEE this host is not checked for. */
VEIL_MUST_CHECK veil_err hc_not_this_tee(const hc_ctx *c, const char *id, const char *title);

#endif

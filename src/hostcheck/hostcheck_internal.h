/*
 * hostcheck_internal.h - what the host checks share (src/hostcheck,
 * docs/host-check.md).
 *
 * Every file is read through a root (the real /sys, /proc and /dev, or a
 * fixture tree), and a file that cannot be read makes its check fail with
 * a short reason ("not found", "permission denied (run as root)") that
 * goes into the evidence next to the file's path as on a real host
 * ("/sys/module/kvm_amd/parameters/sev_snp"), never the root's own path:
 * a report names what was looked at on the host, wherever the tree was.
 */
#ifndef VEIL_HOSTCHECK_INTERNAL_H
#define VEIL_HOSTCHECK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/hostcheck.h"

#define HC_SYSFS_DEFAULT  "/sys"
#define HC_PROCFS_DEFAULT "/proc"
#define HC_DEV_DEFAULT    "/dev"
#define HC_WHY_MAX        224

/* The roots of o, or the real host's where o leaves them NULL. */
const char *hc_sysfs(const veil_hc_options *o);
const char *hc_procfs(const veil_hc_options *o);
const char *hc_dev(const veil_hc_options *o);

/*
 * Reads root/rel (rel without a leading '/') to end of file, at most max
 * bytes; with prefix_ok the first max bytes are enough (a longer file is
 * cut there), without it a longer file is VEIL_E_LIMIT. The buffer is
 * NUL-terminated (not counted) and has no NUL inside (VEIL_E_MALFORMED);
 * the caller frees it. On failure *out is NULL and why says what went
 * wrong in words for the evidence: VEIL_E_NOT_FOUND ("not found"), or
 * VEIL_E_IO ("permission denied (run as root)", strerror).
 */
VEIL_MUST_CHECK veil_err hc_read(const char *root, const char *rel, size_t max, bool prefix_ok,
				 char **out, size_t *len, char why[HC_WHY_MAX]);
/* Removes trailing white space (the newline of a sysfs attribute). */
void hc_trim(char *s);
/* Joins root and rel into buf ("root/rel"); VEIL_E_LIMIT when it does not
 * fit. */
VEIL_MUST_CHECK veil_err hc_path(char *buf, size_t cap, const char *root, const char *rel);

/*
 * Copies src into dst (cap bytes with the NUL) as text fit for a report:
 * valid UTF-8 only, control characters (C0, DEL, C1) and bytes that are
 * not UTF-8 replaced by '?', cut at a character boundary when it does not
 * fit.
 */
void hc_text_copy(char *dst, size_t cap, const char *src);
/* s (n bytes) is report text: valid UTF-8 without control characters. */
bool hc_text_ok(const char *s, size_t n);
/* id is a check id: 1 to VEIL_HC_ID_MAX - 1 of [A-Za-z0-9._-], starting
 * with a letter or digit. */
bool hc_id_ok(const char *id);

/* The verdict the checks give (docs/host-check.md "Verdict"): no required
 * check failed and at least one SEV-SNP or TDX check ("snp.*", "tdx.*")
 * passed. */
bool hc_verdict(const veil_hc_report *r);

/* Fills r->cpu and r->tee from /proc/cpuinfo and o->tee (cpu.c); the
 * cpu.vendor check reports what went wrong. */
void hc_identify(const veil_hc_options *o, veil_hc_report *r);

/* ---- The SEV platform status (snp_status.c) ---- */

/* SNP_PLATFORM_STATUS (SEV-SNP Firmware ABI 56860, section 8.3; Linux
 * include/uapi/linux/psp-sev.h struct sev_user_data_snp_status). */
#define HC_SNP_STATUS_LEN 32

typedef struct hc_snp_status {
	uint8_t api_major, api_minor;
	uint8_t state; /* 0 UNINIT, 1 INIT */
	bool rmp_initialized;
	uint32_t build_id;
	uint32_t flags; /* mask_chip_id, mask_chip_key, vlek_en, ... (bit 0 up) */
	uint32_t guest_count;
	uint64_t current_tcb, reported_tcb;
} hc_snp_status;

/* Parses the 32 bytes of the structure. */
VEIL_MUST_CHECK veil_err hc_snp_status_parse(const uint8_t *buf, size_t len, hc_snp_status *out);
/*
 * The platform status of the SEV firmware behind dev/sev: on a character
 * device, the SEV_ISSUE_CMD ioctl with SNP_PLATFORM_STATUS; on a regular
 * file (a fixture tree's stand-in), the structure's bytes written as 64
 * hex digits in dev/sev.snp_platform_status. *how names the source for
 * the evidence; why says what failed, for the evidence.
 */
VEIL_MUST_CHECK veil_err hc_snp_status_read(const char *dev_root, hc_snp_status *out,
					    const char **how, char why[HC_WHY_MAX]);

#endif

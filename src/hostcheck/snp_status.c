/*
 * snp_status.c - the SEV firmware's SNP platform status, the one fact of
 * the SEV-SNP host check that no file holds: the firmware's API version,
 * whether SNP and the RMP are initialized, the TCB (docs/host-check.md
 * "snp.firmware").
 *
 * On a real host it is the SEV_ISSUE_CMD ioctl on /dev/sev with command
 * SNP_PLATFORM_STATUS (Linux drivers/crypto/ccp/sev-dev.c,
 * sev_ioctl_do_snp_platform_status; the layouts of
 * include/uapi/linux/psp-sev.h, written out here and pinned by static
 * assertions so Veil builds without that header). A fixture tree cannot
 * answer an ioctl, so where its dev/sev is a regular file the same 32
 * bytes are read, as 64 hex digits, from dev/sev.snp_platform_status
 * beside it, and go through the same parser. The ioctl path is therefore
 * not exercised by the tests; it fails closed, with the reason in the
 * evidence: permission denied (run as root), SNP not initialized, a
 * firmware error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostcheck/hostcheck_internal.h"
#include "veil/bytes.h"
#include "veil/codec.h"

/* include/uapi/linux/psp-sev.h: struct sev_issue_cmd is packed (16
 * bytes); SNP_PLATFORM_STATUS is the tenth SEV platform command. */
typedef struct __attribute__((packed)) hc_sev_issue_cmd {
	uint32_t cmd;   /* in */
	uint64_t data;  /* in: address of the command's structure */
	uint32_t error; /* out: the firmware's status code */
} hc_sev_issue_cmd;

#define HC_SEV_IOC_TYPE        'S'
#define HC_SEV_ISSUE_CMD       _IOWR(HC_SEV_IOC_TYPE, 0x0, hc_sev_issue_cmd)
#define HC_SNP_PLATFORM_STATUS 9
#define HC_SNP_STATUS_FILE     "sev.snp_platform_status"
#define HC_SNP_STATUS_FILE_MAX 256

_Static_assert(sizeof(hc_sev_issue_cmd) == 16, "struct sev_issue_cmd is 16 bytes, packed");
_Static_assert(HC_SEV_ISSUE_CMD == 0xC0105300ul, "SEV_ISSUE_CMD");

veil_err hc_snp_status_parse(const uint8_t *buf, size_t len, hc_snp_status *out)
{
	hc_snp_status s;
	veil_reader r;
	uint8_t b3;

	memset(out, 0, sizeof *out);
	memset(&s, 0, sizeof s);
	veil_reader_init(&r, buf, len);
	/* SEV-SNP Firmware ABI, SNP_PLATFORM_STATUS: API_MAJOR 00h, API_MINOR
	 * 01h, STATE 02h, IS_RMP_INIT 03h bit 0, BUILD_ID 04h, the flags word
	 * 08h, GUEST_COUNT 0Ch, CURRENT_TCB 10h, REPORTED_TCB 18h. */
	TRY(veil_reader_u8(&r, &s.api_major));
	TRY(veil_reader_u8(&r, &s.api_minor));
	TRY(veil_reader_u8(&r, &s.state));
	TRY(veil_reader_u8(&r, &b3));
	s.rmp_initialized = (b3 & 1u) != 0;
	TRY(veil_reader_u32le(&r, &s.build_id));
	TRY(veil_reader_u32le(&r, &s.flags));
	TRY(veil_reader_u32le(&r, &s.guest_count));
	TRY(veil_reader_u64le(&r, &s.current_tcb));
	TRY(veil_reader_u64le(&r, &s.reported_tcb));
	TRY(veil_reader_end(&r));
	*out = s;
	return VEIL_OK;
}

static veil_err status_ioctl(const char *path, hc_snp_status *out, char why[HC_WHY_MAX])
{
	uint8_t buf[HC_SNP_STATUS_LEN];
	hc_sev_issue_cmd cmd;
	veil_err err;
	int fd, rc, e;

	/* The status command needs no write access (sev_ioctl checks
	 * FMODE_WRITE only for commands that change the platform). */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(why, HC_WHY_MAX, "cannot open /dev/sev: %s",
			 e == EACCES || e == EPERM ? "permission denied (run as root)"
						   : strerror(e));
		return veil_fail(VEIL_E_IO, "%s", why);
	}
	memset(buf, 0, sizeof buf);
	memset(&cmd, 0, sizeof cmd);
	cmd.cmd = HC_SNP_PLATFORM_STATUS;
	cmd.data = (uint64_t)(uintptr_t)buf;
	do {
		rc = ioctl(fd, HC_SEV_ISSUE_CMD, &cmd);
	} while (rc != 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (rc != 0) {
		if (e == EINVAL)
			/* sev-dev.c refuses the command until SNP_INIT has run,
			 * and kernels before 6.11 do not know it. */
			snprintf(why, HC_WHY_MAX,
				 "SNP_PLATFORM_STATUS refused (EINVAL): SNP is not initialized "
				 "(SNP off in the BIOS, kvm_amd without sev_snp) or the kernel "
				 "predates the command (6.11)");
		else if (e == EACCES || e == EPERM)
			snprintf(why, HC_WHY_MAX,
				 "SNP_PLATFORM_STATUS: permission denied (run as root)");
		else if (e == ENODEV)
			snprintf(why, HC_WHY_MAX,
				 "SNP_PLATFORM_STATUS: no SEV firmware behind /dev/sev (ENODEV)");
		else if (cmd.error != 0)
			snprintf(why, HC_WHY_MAX, "SNP_PLATFORM_STATUS: firmware error 0x%x (%s)",
				 (unsigned)cmd.error, strerror(e));
		else
			snprintf(why, HC_WHY_MAX, "SNP_PLATFORM_STATUS: %s", strerror(e));
		return veil_fail(VEIL_E_IO, "%s", why);
	}
	err = hc_snp_status_parse(buf, sizeof buf, out);
	if (err != VEIL_OK)
		snprintf(why, HC_WHY_MAX, "the status the firmware returned does not parse");
	return err;
}

static veil_err status_file(const char *dev_root, hc_snp_status *out, char why[HC_WHY_MAX])
{
	uint8_t bytes[HC_SNP_STATUS_LEN];
	char *text = NULL;
	size_t len = 0, n = 0;
	veil_err err;

	err =
	    hc_read(dev_root, HC_SNP_STATUS_FILE, HC_SNP_STATUS_FILE_MAX, false, &text, &len, why);
	if (err != VEIL_OK) {
		char inner[HC_WHY_MAX];

		snprintf(inner, sizeof inner, "%s", why);
		snprintf(why, HC_WHY_MAX, "/dev/" HC_SNP_STATUS_FILE ": %.150s", inner);
		return err;
	}
	hc_trim(text);
	len = strlen(text);
	err = len == 2 * HC_SNP_STATUS_LEN ? veil_hex_decode(text, len, bytes, sizeof bytes, &n)
					   : veil_fail(VEIL_E_MALFORMED, "%zu characters, not %d",
						       len, 2 * HC_SNP_STATUS_LEN);
	if (err == VEIL_OK)
		err = hc_snp_status_parse(bytes, n, out);
	if (err != VEIL_OK)
		snprintf(why, HC_WHY_MAX,
			 "/dev/" HC_SNP_STATUS_FILE ": not %d hex digits of SNP_PLATFORM_STATUS",
			 2 * HC_SNP_STATUS_LEN);
	free(text);
	return err;
}

veil_err hc_snp_status_read(const char *dev_root, hc_snp_status *out, const char **how,
			    char why[HC_WHY_MAX])
{
	char path[4096];
	struct stat st;

	memset(out, 0, sizeof *out);
	*how = "/dev/sev";
	why[0] = '\0';
	if (hc_path(path, sizeof path, dev_root, "sev") != VEIL_OK) {
		snprintf(why, HC_WHY_MAX, "/dev/sev: path too long");
		return VEIL_E_LIMIT;
	}
	if (stat(path, &st) != 0) {
		int e = errno;

		snprintf(why, HC_WHY_MAX, "/dev/sev: %s",
			 e == ENOENT || e == ENOTDIR ? "not found" : strerror(e));
		return veil_fail(e == ENOENT ? VEIL_E_NOT_FOUND : VEIL_E_IO, "%s", why);
	}
	if (S_ISCHR(st.st_mode)) {
		*how = "SNP_PLATFORM_STATUS ioctl on /dev/sev";
		return status_ioctl(path, out, why);
	}
	if (S_ISREG(st.st_mode) && strcmp(dev_root, HC_DEV_DEFAULT) != 0) {
		*how = "/dev/" HC_SNP_STATUS_FILE " (fixture stand-in for the ioctl)";
		return status_file(dev_root, out, why);
	}
	snprintf(why, HC_WHY_MAX, "/dev/sev is neither a character device nor a fixture file");
	return veil_fail(VEIL_E_MALFORMED, "%s", why);
}

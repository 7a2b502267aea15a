/*
 * sev_guest.c - the /dev/sev-guest back end: SEV-SNP reports through the
 * SNP_GET_EXT_REPORT ioctl (SNP_GET_REPORT when the driver lacks it).
 *
 * include/uapi/linux/sev-guest.h and drivers/virt/coco/sev-guest: the
 * request carries REPORT_DATA, the VMPL (0 here) and, for the extended
 * report, a buffer for the host's certificate table in whole pages of at
 * most SEV_FW_BLOB_MAX_SIZE. When the host needs more room than we gave,
 * the kernel finishes the request without certificates (to keep the message
 * sequence number in step), fails it with EIO and VMM error
 * SNP_GUEST_VMM_ERR_INVALID_LEN, and puts the size needed in certs_len: we
 * retry once with that size (within VEIL_SNP_CERTS_MAX).
 *
 * The response is the firmware's MSG_REPORT_RSP (SEV-SNP ABI 1.55 Table 24,
 * the guest message payload): STATUS u32, REPORT_SIZE u32, 24 reserved
 * bytes, then the report. STATUS must be 0 and the report 1184 bytes
 * (0x4A0, ABI Table 22); its REPORT_DATA must be ours.
 *
 * Any firmware or VMM error makes the kernel wipe the VMPCK (it cannot
 * reuse the AES-GCM IV), so after one no further request can work until
 * the guest reboots; we stop at the first and say so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attester/attester_internal.h"
#include "attester/guest_abi.h"
#include "veil/bytes.h"
#include "veil/limits.h"

#define SEV_DEFAULT_DEV    "/dev/sev-guest"
#define SNP_REPORT_LEN     1184 /* 0x4A0 */
#define MSG_REPORT_RSP_HDR 32   /* STATUS, REPORT_SIZE, 24 reserved */

typedef struct sev_call {
	int fd;
	const char *path;
	const veil_attest_env *env;
	sev_abi_report_resp resp;
	uint8_t *certs; /* certificate buffer, certs_len bytes */
	size_t certs_len;
} sev_call;

/* psp-sev.h sev_ret_code values a report request can come back with. */
static const char *fw_error_name(uint32_t fw)
{
	switch (fw) {
	case 0x16:
		return " INVALID_PARAM: a VMPL below the guest's own, or reserved bytes set";
	case 0x27:
		return " INVALID_KEY";
	case 0xff:
		return " (the request never reached the firmware)";
	default:
		return "";
	}
}

static veil_err ioctl_failed(const sev_call *c, const char *name, int e,
			     const sev_abi_guest_request *io)
{
	const char *hint = "";

	if (e == ENOTTY)
		hint = "; the driver refuses requests after an earlier firmware error (reboot "
		       "the guest) or does not know this ioctl";
	else if (io->vmm_error == SEV_ABI_VMM_ERR_BUSY)
		hint = "; the host kept throttling the request";
	return veil_fail(VEIL_E_IO, "%s: %s failed: %s (firmware error 0x%x%s, VMM error 0x%x)%s",
			 c->path, name, strerror(e), io->fw_error, fw_error_name(io->fw_error),
			 io->vmm_error, hint);
}

/* SNP_GET_EXT_REPORT with a certificate buffer of certs_len bytes. Returns
 * the errno (0 on success) and leaves the kernel's answer in *io and *req. */
static int ext_report_once(sev_call *c, const uint8_t rd[64], sev_abi_guest_request *io,
			   sev_abi_ext_report_req *req)
{
	memset(req, 0, sizeof *req);
	memset(io, 0, sizeof *io);
	memset(c->certs, 0, c->certs_len);
	memcpy(req->data.user_data, rd, SEV_ABI_USER_DATA_LEN);
	req->certs_address = (uint64_t)(uintptr_t)c->certs;
	req->certs_len = (uint32_t)c->certs_len;
	io->msg_version = 1;
	io->req_data = (uint64_t)(uintptr_t)req;
	io->resp_data = (uint64_t)(uintptr_t)&c->resp;
	if (attest_sys_ioctl(c->env, c->fd, SEV_ABI_GET_EXT_REPORT, io) == 0)
		return 0;
	return errno;
}

static veil_err certs_resize(sev_call *c, size_t len)
{
	free(c->certs);
	c->certs = calloc(1, len);
	c->certs_len = c->certs != NULL ? len : 0;
	ENSURE(c->certs != NULL, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

/* The plain report, without certificates, for drivers without the
 * extended request. */
static veil_err plain_report(sev_call *c, const uint8_t rd[64])
{
	sev_abi_report_req req = {0};
	sev_abi_guest_request io = {0};

	memcpy(req.user_data, rd, SEV_ABI_USER_DATA_LEN);
	io.msg_version = 1;
	io.req_data = (uint64_t)(uintptr_t)&req;
	io.resp_data = (uint64_t)(uintptr_t)&c->resp;
	if (attest_sys_ioctl(c->env, c->fd, SEV_ABI_GET_REPORT, &io) != 0)
		return ioctl_failed(c, "SNP_GET_REPORT", errno, &io);
	free(c->certs);
	c->certs = NULL;
	c->certs_len = 0;
	return VEIL_OK;
}

static veil_err ext_report(sev_call *c, const uint8_t rd[64])
{
	sev_abi_guest_request io;
	sev_abi_ext_report_req req;

	/* What the kernel's own configfs path offers: SEV_FW_BLOB_MAX_SIZE. */
	TRY(certs_resize(c, SEV_ABI_FW_BLOB_MAX));
	int e = ext_report_once(c, rd, &io, &req);
	/* ENOTTY: a driver without the extended request, or one that has
	 * wiped its VMPCK (then the plain request fails the same way and says
	 * so). */
	if (e == ENOTTY)
		return plain_report(c, rd);
	if (e == EIO && io.vmm_error == SEV_ABI_VMM_ERR_INVALID_LEN) {
		size_t need = req.certs_len;
		ENSURE(need > c->certs_len && need <= VEIL_SNP_CERTS_MAX &&
			   need % SEV_ABI_PAGE == 0,
		       VEIL_E_LIMIT,
		       "%s: the host asks for a %zu-byte certificate buffer (we gave %zu; Veil "
		       "allows whole pages up to %d)",
		       c->path, need, c->certs_len, VEIL_SNP_CERTS_MAX);
		TRY(certs_resize(c, need));
		e = ext_report_once(c, rd, &io, &req);
	}
	if (e != 0)
		return ioctl_failed(c, "SNP_GET_EXT_REPORT", e, &io);
	return VEIL_OK;
}

/* MSG_REPORT_RSP: STATUS, REPORT_SIZE, reserved, report. */
static veil_err take_report(sev_call *c, veil_cpu_evidence *out)
{
	veil_reader r;
	uint32_t status, size;
	const uint8_t *report;

	veil_reader_init(&r, c->resp.data, sizeof c->resp.data);
	TRY(veil_reader_u32le(&r, &status));
	TRY(veil_reader_u32le(&r, &size));
	TRY(veil_reader_skip(&r, MSG_REPORT_RSP_HDR - 8));
	ENSURE(status == 0, VEIL_E_IO, "%s: the firmware answered with status 0x%x%s", c->path,
	       status, fw_error_name(status));
	ENSURE(size == SNP_REPORT_LEN, VEIL_E_MALFORMED,
	       "%s: the firmware's report is %u bytes; an SEV-SNP report is %d", c->path, size,
	       SNP_REPORT_LEN);
	TRY(veil_reader_borrow(&r, size, &report));
	out->report = malloc(size);
	ENSURE(out->report != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(out->report, report, size);
	out->report_len = size;
	return VEIL_OK;
}

/* Keeps the used part of the certificate buffer, after checking it. */
static veil_err take_certs(sev_call *c, veil_cpu_evidence *out)
{
	veil_snp_cert parsed[VEIL_SNP_CERTTABLE_MAX];
	size_t count = 0;

	if (c->certs == NULL)
		return VEIL_OK;
	veil_err err = veil_snp_certtable_parse(c->certs, c->certs_len, parsed,
						VEIL_SNP_CERTTABLE_MAX, &count);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s: the host's certificate table", c->path);
	size_t used = attest_certtable_used(c->certs, parsed, count);
	if (used == 0)
		return VEIL_OK; /* the host attached no certificates */
	out->certs = malloc(used);
	ENSURE(out->certs != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(out->certs, c->certs, used);
	out->certs_len = used;
	return VEIL_OK;
}

static veil_err sev_get(const veil_attest_env *env, attest_tee want, const uint8_t rd[64],
			veil_cpu_evidence *out)
{
	sev_call *c = calloc(1, sizeof *c);
	char reason[160];
	veil_err err = VEIL_OK;

	(void)want; /* only SNP: the dispatcher checked */
	ENSURE(c != NULL, VEIL_E_NOMEM, "out of memory");
	c->env = env;
	c->path = env->sev_guest_dev != NULL ? env->sev_guest_dev : SEV_DEFAULT_DEV;
	c->fd = attest_sys_open(env, c->path, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		int e = errno;
		err = veil_fail(attest_errno_code(e), "%s: %s", c->path,
				attest_errno_reason(e,
						    "not an SEV-SNP guest, or the sev-guest driver "
						    "is not loaded",
						    reason, sizeof reason));
		free(c);
		return err;
	}
	CHECK(ext_report(c, rd));
	CHECK(take_report(c, out));
	CHECK(take_certs(c, out));
	CHECK(attest_check_binding("snp", out->report, out->report_len, rd, 64));
	attest_evidence_label(out, ATTEST_TEE_SNP, attest_sev_guest_backend.name);
out:
	close(c->fd);
	free(c->certs);
	free(c);
	return err;
}

const attest_backend attest_sev_guest_backend = {
    .name = "sev-guest",
    .snp = true,
    .tdx = false,
    .get = sev_get,
};

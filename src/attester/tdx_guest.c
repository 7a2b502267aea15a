/*
 * tdx_guest.c - the /dev/tdx_guest back end, which can only explain.
 *
 * include/uapi/linux/tdx-guest.h: TDX_CMD_GET_REPORT0 turns 64 bytes of
 * REPORTDATA into a TDREPORT_STRUCT. That report is MAC'd with a key only
 * the CPU holds: nobody off the machine can check it. A verifier needs a
 * quote, which the TD Quoting Enclave on the host signs; Linux reaches it
 * through configfs-tsm (6.7+; the TDX_CMD_GET_QUOTE ioctl some distribution
 * kernels carried never reached mainline), so without configfs-tsm there is
 * no quote to be had.
 *
 * We still make the call, so the message can tell "not a TD" and
 * "permission denied" from "a TD without a quote path", and we check that
 * the report is a TDX one carrying our REPORTDATA (REPORTMACSTRUCT,
 * guest_abi.h). Then we fail, always: a TD report is never evidence.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attester/attester_internal.h"
#include "attester/guest_abi.h"

#define TDX_DEFAULT_DEV "/dev/tdx_guest"

static veil_err tdx_get(const veil_attest_env *env, attest_tee want, const uint8_t rd[64],
			veil_cpu_evidence *out)
{
	const char *path = env->tdx_guest_dev != NULL ? env->tdx_guest_dev : TDX_DEFAULT_DEV;
	tdx_abi_report_req *req = calloc(1, sizeof *req);
	char reason[160];
	veil_err err = VEIL_OK;
	int fd = -1;

	(void)want; /* only TDX: the dispatcher checked */
	(void)out;
	ENSURE(req != NULL, VEIL_E_NOMEM, "out of memory");
	fd = attest_sys_open(env, path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		CHECK_THAT(false, attest_errno_code(e), "%s: %s", path,
			   attest_errno_reason(e,
					       "not a TDX guest, or the tdx-guest driver is not "
					       "loaded",
					       reason, sizeof reason));
	}
	memcpy(req->reportdata, rd, TDX_ABI_REPORTDATA_LEN);
	if (attest_sys_ioctl(env, fd, TDX_ABI_GET_REPORT0, req) != 0) {
		int e = errno;
		CHECK_THAT(false, VEIL_E_IO, "%s: TDX_CMD_GET_REPORT0 failed: %s", path,
			   strerror(e));
	}
	CHECK_THAT(
	    req->tdreport[0] == TDX_ABI_REPORTTYPE_TDX &&
		memcmp(req->tdreport + TDX_ABI_REPORTDATA_OFFSET, rd, TDX_ABI_REPORTDATA_LEN) == 0,
	    VEIL_E_MISMATCH,
	    "%s returned a TD report that is not of type TDX (0x%02x) or does not carry "
	    "our REPORTDATA",
	    path, req->tdreport[0]);
	CHECK_THAT(false, VEIL_E_UNSUPPORTED,
		   "TD report obtained from %s, but no quote path: the quote needs configfs-tsm "
		   "(Linux 6.7+) with a QGS reachable",
		   path);
out:
	if (fd >= 0)
		close(fd);
	free(req);
	return err;
}

const attest_backend attest_tdx_guest_backend = {
    .name = "tdx-guest",
    .snp = false,
    .tdx = true,
    .get = tdx_get,
};

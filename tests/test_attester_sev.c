/*
 * test_attester_sev.c - the /dev/sev-guest and /dev/tdx_guest back ends.
 *
 * The test plays the guest kernel through veil_attest_sys: open() hands out
 * /dev/null (or fails with the errno a case wants), and ioctl() checks each
 * request as drivers/virt/coco/sev-guest and tdx-guest do (non-zero
 * msg_version, request and response addresses, a certificate buffer of
 * whole pages no larger than SEV_FW_BLOB_MAX_SIZE, zero reserved bytes),
 * then answers as the firmware and host would: MSG_REPORT_RSP around the
 * real go-sev-guest Milan report and a certificate table of real Milan
 * certificates; SNP_GUEST_VMM_ERR_INVALID_LEN with the size needed when the
 * table does not fit; or an error. The TDX fake returns a TDREPORT whose
 * REPORTMACSTRUCT echoes REPORTDATA.
 */
#include <errno.h>
#include <fcntl.h>

#include "attester/guest_abi.h"
#include "test_attester_util.h"
#include "veil/limits.h"

#if __has_include(<linux/sev-guest.h>)
#include <linux/sev-guest.h>
/* Veil's copy of the ABI agrees with the system's. */
_Static_assert(SNP_GET_REPORT == SEV_ABI_GET_REPORT, "SNP_GET_REPORT");
_Static_assert(SNP_GET_EXT_REPORT == SEV_ABI_GET_EXT_REPORT, "SNP_GET_EXT_REPORT");
_Static_assert(sizeof(struct snp_report_req) == sizeof(sev_abi_report_req), "snp_report_req");
_Static_assert(sizeof(struct snp_ext_report_req) == sizeof(sev_abi_ext_report_req),
	       "snp_ext_report_req");
_Static_assert(sizeof(struct snp_report_resp) == sizeof(sev_abi_report_resp), "snp_report_resp");
#endif
#if __has_include(<linux/tdx-guest.h>)
#include <linux/tdx-guest.h>
_Static_assert(TDX_CMD_GET_REPORT0 == TDX_ABI_GET_REPORT0, "TDX_CMD_GET_REPORT0");
#endif

typedef struct fake_kernel {
	const uint8_t *report;
	size_t report_len;
	const uint8_t *table; /* what the host has to attach */
	size_t table_len;
	uint32_t blob_max; /* the kernel's SEV_FW_BLOB_MAX_SIZE */
	uint32_t status;   /* MSG_REPORT_RSP STATUS */
	uint32_t report_size;
	int fail_errno; /* firmware/VMM failure to report */
	uint32_t fail_fw, fail_vmm;
	int no_ext;     /* the driver does not know SNP_GET_EXT_REPORT */
	int open_errno; /* open() fails */
	uint8_t td_type;
	int td_no_echo;
	/* what happened */
	int opens, ext_calls, plain_calls, tdx_calls;
	uint32_t last_certs_len;
	uint8_t user_data[64];
} fake_kernel;

static int fake_open(void *user, const char *path, int flags)
{
	fake_kernel *k = user;

	if (strncmp(path, "/nonexistent", 12) == 0) {
		errno = ENOENT;
		return -1;
	}
	k->opens++;
	if (k->open_errno != 0) {
		errno = k->open_errno;
		return -1;
	}
	return open("/dev/null", flags);
}

/* MSG_REPORT_RSP: STATUS, REPORT_SIZE, 24 reserved, the report. */
static void fill_response(fake_kernel *k, sev_abi_report_resp *resp)
{
	memset(resp, 0, sizeof *resp);
	att_put_u32le(resp->data, k->status);
	att_put_u32le(resp->data + 4, k->report_size);
	memcpy(resp->data + 32, k->report, k->report_len);
}

static int fail(int e)
{
	errno = e;
	return -1;
}

/* get_report() / get_ext_report() in drivers/virt/coco/sev-guest. */
static int sev_ioctl(fake_kernel *k, unsigned long request, sev_abi_guest_request *io)
{
	sev_abi_guest_request in = *io;

	if (in.msg_version == 0)
		return fail(EINVAL);
	in.exitinfo2 = 0xff; /* as the kernel does, copied back when non-zero */
	if (request == SEV_ABI_GET_EXT_REPORT && k->no_ext) {
		*io = in;
		return fail(ENOTTY);
	}
	if (in.req_data == 0 || in.resp_data == 0)
		return fail(EINVAL);
	sev_abi_report_resp *resp = (sev_abi_report_resp *)(uintptr_t)in.resp_data;
	sev_abi_report_req *data;
	sev_abi_ext_report_req *ext = NULL;
	if (request == SEV_ABI_GET_EXT_REPORT) {
		k->ext_calls++;
		ext = (sev_abi_ext_report_req *)(uintptr_t)in.req_data;
		data = &ext->data;
		k->last_certs_len = ext->certs_len;
		if (ext->certs_len != 0 && ext->certs_address != 0 &&
		    (ext->certs_len > k->blob_max || ext->certs_len % 4096 != 0))
			return fail(EINVAL);
	} else {
		k->plain_calls++;
		data = (sev_abi_report_req *)(uintptr_t)in.req_data;
	}
	memcpy(k->user_data, data->user_data, 64);
	/* The firmware rejects reserved bytes and a VMPL below the guest's. */
	for (size_t i = 0; i < sizeof data->rsvd; i++)
		if (data->rsvd[i] != 0 || data->vmpl != 0) {
			in.fw_error = 0x16;
			*io = in;
			return fail(EIO);
		}
	if (k->fail_errno != 0) {
		if (k->fail_fw != 0 || k->fail_vmm != 0) {
			in.fw_error = k->fail_fw;
			in.vmm_error = k->fail_vmm;
		}
		*io = in;
		return fail(k->fail_errno);
	}
	if (ext != NULL && ext->certs_len != 0 && k->table_len > ext->certs_len) {
		/* The host needs more pages: the request is redone without
		 * certificates and fails with the size needed. */
		in.exitinfo2 = (uint64_t)SEV_ABI_VMM_ERR_INVALID_LEN << 32;
		ext->certs_len = (uint32_t)((k->table_len + 4095) / 4096 * 4096);
		*io = in;
		return fail(EIO);
	}
	if (ext != NULL && ext->certs_len != 0) {
		uint8_t *certs = (uint8_t *)(uintptr_t)ext->certs_address;
		memset(certs, 0, ext->certs_len);
		if (k->table_len > 0)
			memcpy(certs, k->table, k->table_len);
	}
	fill_response(k, resp);
	return 0; /* exitinfo2 == 0 on success: not copied back */
}

static int tdx_ioctl(fake_kernel *k, tdx_abi_report_req *req)
{
	k->tdx_calls++;
	memcpy(k->user_data, req->reportdata, 64);
	memset(req->tdreport, 0x5a, sizeof req->tdreport);
	req->tdreport[0] = k->td_type;
	if (!k->td_no_echo)
		memcpy(req->tdreport + TDX_ABI_REPORTDATA_OFFSET, req->reportdata, 64);
	return 0;
}

static int fake_ioctl(void *user, int fd, unsigned long request, void *arg)
{
	fake_kernel *k = user;

	(void)fd;
	if (request == SEV_ABI_GET_REPORT || request == SEV_ABI_GET_EXT_REPORT)
		return sev_ioctl(k, request, arg);
	if (request == TDX_ABI_GET_REPORT0)
		return tdx_ioctl(k, arg);
	return fail(ENOTTY);
}

static fake_kernel kern;
static veil_attest_sys sys;
static veil_attest_env env;
static uint8_t *report, *table;
static size_t report_len, table_len;
static uint8_t rd[64];
static att_certs certs;

static void setup(void)
{
	memset(&kern, 0, sizeof kern);
	kern.report = report;
	kern.report_len = report_len;
	kern.report_size = (uint32_t)report_len;
	kern.table = table;
	kern.table_len = table_len;
	kern.blob_max = SEV_ABI_FW_BLOB_MAX;
	kern.td_type = TDX_ABI_REPORTTYPE_TDX;
	sys = (veil_attest_sys){.open = fake_open, .ioctl = fake_ioctl, .user = &kern};
	env = (veil_attest_env){.tsm_root = "/nonexistent/tsm/report",
				.sev_guest_dev = "/fake/sev-guest",
				.tdx_guest_dev = "/nonexistent/tdx_guest",
				.sys = &sys};
}

static veil_err sev(veil_cpu_evidence *ev)
{
	return veil_attest_cpu(&env, "sev-guest", "snp", rd, ev);
}

TEST(extended_report)
{
	veil_cpu_evidence ev;

	setup();
	EXPECT_OK(sev(&ev));
	EXPECT(strcmp(ev.tee, "snp") == 0 && strcmp(ev.backend, "sev-guest") == 0);
	EXPECT(ev.report_len == report_len && memcmp(ev.report, report, report_len) == 0);
	/* The table, without the zero padding of the pages. */
	EXPECT(ev.certs_len == table_len && memcmp(ev.certs, table, table_len) == 0);
	EXPECT(kern.ext_calls == 1 && kern.plain_calls == 0);
	EXPECT(kern.last_certs_len == SEV_ABI_FW_BLOB_MAX);
	EXPECT(memcmp(kern.user_data, rd, 64) == 0);
	veil_cpu_evidence_clear(&ev);
}

/* More certificates than 16 KiB: the kernel reports the size needed and the
 * request is made again with that buffer. */
TEST(certificate_buffer_retry)
{
	static uint8_t extra[14000];
	static const uint8_t guid[16] = {0xec, 0xae, 0x0c, 0x0f, 0x95, 0x02, 0x43, 0xb1,
					 0xaf, 0xa2, 0x0a, 0xe2, 0xe0, 0xd5, 0x65, 0xb6};
	att_blob b[] = {{att_guid_vcek, certs.vcek, certs.vcek_len},
			{att_guid_ask, certs.ask, certs.ask_len},
			{att_guid_ark, certs.ark, certs.ark_len},
			{guid, extra, sizeof extra}};
	veil_cpu_evidence ev;
	size_t big_len;
	uint8_t *big;

	memset(extra, 0x42, sizeof extra);
	big = att_table(b, 4, 0, &big_len);
	REQUIRE(big_len > SEV_ABI_FW_BLOB_MAX && big_len <= 20480);
	setup();
	kern.table = big;
	kern.table_len = big_len;
	kern.blob_max = 0x5000; /* a kernel with the 20 KiB SEV_FW_BLOB_MAX_SIZE */
	EXPECT_OK(sev(&ev));
	EXPECT(kern.ext_calls == 2);
	EXPECT(kern.last_certs_len == 20480);
	EXPECT(ev.certs_len == big_len && memcmp(ev.certs, big, big_len) == 0);
	veil_cpu_evidence_clear(&ev);
	/* Today's kernels refuse a buffer over 16 KiB. */
	setup();
	kern.table = big;
	kern.table_len = big_len;
	EXPECT_ERR(sev(&ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "SNP_GET_EXT_REPORT failed") != NULL);
	EXPECT(kern.ext_calls == 2);
	EXPECT(ev.report == NULL && ev.certs == NULL);
	free(big);
}

/* A host that asks for an absurd buffer is not obeyed. */
TEST(certificate_buffer_cap)
{
	static uint8_t huge[VEIL_SNP_CERTS_MAX + 1];
	veil_cpu_evidence ev;

	setup();
	kern.table = huge;
	kern.table_len = sizeof huge;
	EXPECT_ERR(sev(&ev), VEIL_E_LIMIT);
	EXPECT(kern.ext_calls == 1);
}

TEST(no_certificates)
{
	veil_cpu_evidence ev;

	setup();
	kern.table = NULL;
	kern.table_len = 0;
	EXPECT_OK(sev(&ev));
	EXPECT(ev.certs == NULL && ev.certs_len == 0);
	veil_cpu_evidence_clear(&ev);
}

TEST(driver_without_extended_report)
{
	veil_cpu_evidence ev;

	setup();
	kern.no_ext = 1;
	EXPECT_OK(sev(&ev));
	EXPECT(kern.plain_calls == 1);
	EXPECT(ev.report_len == report_len && ev.certs == NULL);
	veil_cpu_evidence_clear(&ev);
}

TEST(firmware_and_vmm_errors)
{
	veil_cpu_evidence ev;

	setup();
	kern.fail_errno = EIO;
	kern.fail_fw = 0x16;
	EXPECT_ERR(sev(&ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "firmware error 0x16 INVALID_PARAM") != NULL);
	EXPECT(kern.ext_calls == 1); /* no retry: the kernel has wiped the VMPCK */
	setup();
	kern.fail_errno = EAGAIN;
	kern.fail_vmm = SEV_ABI_VMM_ERR_BUSY;
	EXPECT_ERR(sev(&ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "throttling") != NULL);
	/* The VMPCK is gone after an earlier failure: both ioctls refuse. */
	setup();
	kern.fail_errno = ENOTTY;
	EXPECT_ERR(sev(&ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "SNP_GET_REPORT failed") != NULL);
	EXPECT(strstr(veil_err_detail(), "reboot the guest") != NULL);
}

TEST(bad_responses)
{
	veil_cpu_evidence ev;
	uint8_t other[64];

	setup();
	kern.status = 0x16;
	EXPECT_ERR(sev(&ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "status 0x16") != NULL);
	setup();
	kern.report_size = 1000;
	EXPECT_ERR(sev(&ev), VEIL_E_MALFORMED);
	setup();
	kern.report_size = 4000; /* past the response buffer */
	EXPECT(sev(&ev) != VEIL_OK);
	/* The firmware's report carries someone else's REPORT_DATA. */
	setup();
	memcpy(other, rd, 64);
	other[0] ^= 0x80;
	EXPECT_ERR(veil_attest_cpu(&env, "sev-guest", "snp", other, &ev), VEIL_E_MISMATCH);
	EXPECT(memcmp(kern.user_data, other, 64) == 0);
	EXPECT(ev.report == NULL);
}

TEST(malformed_host_table)
{
	veil_cpu_evidence ev;
	uint8_t *t = malloc(table_len);

	memcpy(t, table, table_len);
	att_put_u32le(t + 24 + 16, 96 + 10); /* ASK overlaps the VCEK */
	setup();
	kern.table = t;
	EXPECT_ERR(sev(&ev), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "certificate table") != NULL);
	EXPECT(ev.report == NULL && ev.certs == NULL);
	free(t);
}

TEST(device_errors)
{
	veil_cpu_evidence ev;

	setup();
	env.sev_guest_dev = "/nonexistent/sev-guest";
	EXPECT_ERR(sev(&ev), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(),
		      "sev-guest: /nonexistent/sev-guest: not found (not an SEV-SNP guest") ==
	       veil_err_detail());
	setup();
	kern.open_errno = EACCES;
	EXPECT_ERR(sev(&ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "/fake/sev-guest: permission denied") != NULL);
	EXPECT(kern.ext_calls == 0);
}

/* configfs-tsm absent: "auto" goes on to the device. */
TEST(auto_uses_the_device)
{
	veil_cpu_evidence ev;

	setup();
	EXPECT_OK(veil_attest_cpu(&env, "auto", "auto", rd, &ev));
	EXPECT(strcmp(ev.backend, "sev-guest") == 0 && strcmp(ev.tee, "snp") == 0);
	veil_cpu_evidence_clear(&ev);
}

TEST(tdx_report_is_not_a_quote)
{
	veil_cpu_evidence ev;

	setup();
	env.tdx_guest_dev = "/fake/tdx_guest";
	EXPECT_ERR(veil_attest_cpu(&env, "tdx-guest", "tdx", rd, &ev), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(),
		      "TD report obtained from /fake/tdx_guest, but no quote path: the quote "
		      "needs configfs-tsm (Linux 6.7+) with a QGS reachable") != NULL);
	EXPECT(kern.tdx_calls == 1 && memcmp(kern.user_data, rd, 64) == 0);
	EXPECT(ev.report == NULL);
	/* "auto" on a TD without configfs-tsm: that is the failure returned. */
	setup();
	env.sev_guest_dev = "/nonexistent/sev-guest";
	env.tdx_guest_dev = "/fake/tdx_guest";
	EXPECT_ERR(veil_attest_cpu(&env, "auto", "auto", rd, &ev), VEIL_E_UNSUPPORTED);
	const char *d = veil_err_detail();
	EXPECT(strstr(d, "configfs-tsm: /nonexistent/tsm/report: not found") != NULL);
	EXPECT(strstr(d, "; sev-guest: /nonexistent/sev-guest: not found") != NULL);
	EXPECT(strstr(d, "; tdx-guest: TD report obtained") != NULL);
}

TEST(tdx_device_errors)
{
	veil_cpu_evidence ev;

	setup();
	EXPECT_ERR(veil_attest_cpu(&env, "tdx-guest", "auto", rd, &ev), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "not a TDX guest") != NULL);
	setup();
	env.tdx_guest_dev = "/fake/tdx_guest";
	kern.td_type = 0; /* an SGX report */
	EXPECT_ERR(veil_attest_cpu(&env, "tdx-guest", "tdx", rd, &ev), VEIL_E_MISMATCH);
	setup();
	env.tdx_guest_dev = "/fake/tdx_guest";
	kern.td_no_echo = 1;
	EXPECT_ERR(veil_attest_cpu(&env, "tdx-guest", "tdx", rd, &ev), VEIL_E_MISMATCH);
	setup();
	env.tdx_guest_dev = "/fake/tdx_guest";
	kern.open_errno = EPERM;
	EXPECT_ERR(veil_attest_cpu(&env, "tdx-guest", "tdx", rd, &ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "permission denied") != NULL);
}

int main(void)
{
	report = td_read(ATT_SNP_REPORT, &report_len);
	att_report_data("snp", report, report_len, rd);
	att_certs_load(&certs);
	table = att_milan_table(&certs, 0, &table_len);

	RUN(extended_report);
	RUN(certificate_buffer_retry);
	RUN(certificate_buffer_cap);
	RUN(no_certificates);
	RUN(driver_without_extended_report);
	RUN(firmware_and_vmm_errors);
	RUN(bad_responses);
	RUN(malformed_host_table);
	RUN(device_errors);
	RUN(auto_uses_the_device);
	RUN(tdx_report_is_not_a_quote);
	RUN(tdx_device_errors);
	free(report);
	free(table);
	att_certs_free(&certs);
	return harness_finish("test_attester_sev");
}

/*
 * guest_abi.h - the Linux guest-driver ioctl ABI the CPU attesters speak.
 *
 * Written out here rather than taken from <linux/sev-guest.h> and
 * <linux/tdx-guest.h> because build machines often lack those headers (the
 * TDX one arrived in Linux 6.2) and Veil must build without them. The layouts
 * are pinned with static assertions, including the ioctl numbers, so a typo
 * cannot compile; tests/test_attester_sev.c also compares them with the
 * system's headers when it has them. The test fakes decode requests with
 * these same structs, which is why the numbers are pinned independently.
 */
#ifndef VEIL_ATTESTER_GUEST_ABI_H
#define VEIL_ATTESTER_GUEST_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* include/uapi/linux/sev-guest.h */
#define SEV_ABI_USER_DATA_LEN 64
#define SEV_ABI_RESP_LEN      4000

typedef struct sev_abi_report_req {
	uint8_t user_data[SEV_ABI_USER_DATA_LEN]; /* REPORT_DATA */
	uint32_t vmpl;                            /* VMPL the report is for */
	uint8_t rsvd[28];                         /* must be zero */
} sev_abi_report_req;

typedef struct sev_abi_report_resp {
	uint8_t data[SEV_ABI_RESP_LEN]; /* MSG_REPORT_RSP, see sev_guest.c */
} sev_abi_report_resp;

typedef struct sev_abi_guest_request {
	uint8_t msg_version; /* must be non-zero (1) */
	uint64_t req_data;   /* address of the request */
	uint64_t resp_data;  /* address of the response */
	/* bits 63:32 VMM error, bits 31:0 firmware error (psp-sev.h) */
	union {
		uint64_t exitinfo2;
		struct {
			uint32_t fw_error;
			uint32_t vmm_error;
		};
	};
} sev_abi_guest_request;

typedef struct sev_abi_ext_report_req {
	sev_abi_report_req data;
	uint64_t certs_address; /* where the kernel copies the certificate table */
	uint32_t certs_len;     /* in: buffer size (page multiple); out: size needed */
} sev_abi_ext_report_req;

#define SEV_ABI_IOC_TYPE       'S'
#define SEV_ABI_GET_REPORT     _IOWR(SEV_ABI_IOC_TYPE, 0x0, sev_abi_guest_request)
#define SEV_ABI_GET_EXT_REPORT _IOWR(SEV_ABI_IOC_TYPE, 0x2, sev_abi_guest_request)

/* EXIT_INFO_2 VMM error codes (sev-guest.h): the certificate buffer was too
 * small (certs_len now holds the size needed); the host is busy. */
#define SEV_ABI_VMM_ERR_INVALID_LEN 1
#define SEV_ABI_VMM_ERR_BUSY        2

/* The kernel only accepts whole pages for the certificate buffer
 * (get_ext_report(): IS_ALIGNED(certs_len, PAGE_SIZE); x86 pages are 4 KiB)
 * and at most SEV_FW_BLOB_MAX_SIZE (include/linux/psp-sev.h, 16 KiB). */
#define SEV_ABI_PAGE        4096u
#define SEV_ABI_FW_BLOB_MAX 0x4000u

_Static_assert(sizeof(sev_abi_report_req) == 96, "snp_report_req is 96 bytes");
_Static_assert(sizeof(sev_abi_guest_request) == 32, "snp_guest_request_ioctl is 32 bytes");
_Static_assert(offsetof(sev_abi_guest_request, req_data) == 8, "req_data at 8");
_Static_assert(offsetof(sev_abi_guest_request, exitinfo2) == 24, "exitinfo2 at 24");
_Static_assert(offsetof(sev_abi_ext_report_req, certs_address) == 96, "certs_address at 96");
_Static_assert(offsetof(sev_abi_ext_report_req, certs_len) == 104, "certs_len at 104");
_Static_assert(SEV_ABI_GET_REPORT == 0xC0205300ul, "SNP_GET_REPORT");
_Static_assert(SEV_ABI_GET_EXT_REPORT == 0xC0205302ul, "SNP_GET_EXT_REPORT");

/* include/uapi/linux/tdx-guest.h */
#define TDX_ABI_REPORTDATA_LEN 64
#define TDX_ABI_REPORT_LEN     1024

typedef struct tdx_abi_report_req {
	uint8_t reportdata[TDX_ABI_REPORTDATA_LEN]; /* in: REPORTDATA */
	uint8_t tdreport[TDX_ABI_REPORT_LEN];       /* out: TDREPORT_STRUCT */
} tdx_abi_report_req;

#define TDX_ABI_GET_REPORT0 _IOWR('T', 1, tdx_abi_report_req)

_Static_assert(sizeof(tdx_abi_report_req) == 1088, "tdx_report_req is 1088 bytes");
_Static_assert(TDX_ABI_GET_REPORT0 == 0xC4405401ul, "TDX_CMD_GET_REPORT0");

/* TDX module ABI, TDREPORT_STRUCT begins with REPORTMACSTRUCT: REPORTTYPE
 * (type 0x81 = TDX, subtype, version, reserved), 12 reserved bytes, CPUSVN
 * (16), TEE_TCB_INFO_HASH (48), TEE_INFO_HASH (48), then REPORTDATA (64) at
 * offset 128 (struct reportmac in tools/testing/selftests/tdx). */
#define TDX_ABI_REPORTTYPE_TDX    0x81
#define TDX_ABI_REPORTDATA_OFFSET 128

#endif

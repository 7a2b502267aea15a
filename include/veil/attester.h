/*
 * attester.h - producing evidence inside a confidential VM.
 *
 * The worker runs in an SEV-SNP or TDX guest, maybe with NVIDIA GPUs in
 * confidential-computing mode, and must hand a verifier fresh evidence bound
 * to a 64-byte REPORT_DATA (CPU) or a 32-byte nonce (GPU). This is the one
 * interface for that; the back ends behind it (docs/attester.md):
 *
 *   configfs-tsm  Linux 6.7+ /sys/kernel/config/tsm/report: SNP reports with
 *                 the host's certificate table, TDX quotes (through the QGS)
 *   sev-guest     /dev/sev-guest SNP_GET_EXT_REPORT / SNP_GET_REPORT ioctls
 *   tdx-guest     /dev/tdx_guest TDX_CMD_GET_REPORT0: a TD report, which is
 *                 not a quote, so this back end only explains what is missing
 *   NVML          libnvidia-ml loaded with dlopen at run time: SPDM reports
 *                 and certificate chains of every GPU
 *
 * "auto" tries configfs-tsm, then sev-guest, then tdx-guest, and when all
 * fail names every back end tried and why. Nothing here ever falls back to
 * the simulated TEE: "sim" is chosen explicitly, in the CLI.
 *
 * Every open, ioctl and configfs mkdir/rmdir a back end makes goes through
 * veil_attest_sys, so the tests can stand in for the kernel and the driver
 * (tests/test_attester_*).
 */
#ifndef VEIL_ATTESTER_H
#define VEIL_ATTESTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

/* The system calls the back ends make. A zero-initialised struct (or a NULL
 * env->sys) is the real machine: every NULL member means the libc call. Each
 * hook gets `user` first and follows the libc convention (-1 and errno on
 * failure). */
typedef struct veil_attest_sys {
	int (*open)(void *user, const char *path, int flags);
	int (*ioctl)(void *user, int fd, unsigned long request, void *arg);
	/* configfs-tsm entries: a configfs mkdir makes a report item with its
	 * attribute files, and rmdir removes it while it still holds them, which
	 * a plain directory cannot imitate; tests fill and empty it here. */
	int (*tsm_mkdir)(void *user, const char *path);
	int (*tsm_rmdir)(void *user, const char *path);
	void *user; /* passed to every hook */
} veil_attest_sys;

/* Where the back ends look. Zero-initialised (or a NULL env) = the real
 * machine's default paths. */
typedef struct veil_attest_env {
	const char *tsm_root;      /* NULL: /sys/kernel/config/tsm/report */
	const char *sev_guest_dev; /* NULL: /dev/sev-guest */
	const char *tdx_guest_dev; /* NULL: /dev/tdx_guest */
	const char *nvml_library;  /* NULL: "libnvidia-ml.so.1" (dlopen search path) */
	const veil_attest_sys *sys;
} veil_attest_env;

typedef struct veil_cpu_evidence {
	char tee[8];      /* "snp" or "tdx" */
	char backend[16]; /* "configfs-tsm", "sev-guest", "tdx-guest" */
	uint8_t *report;  /* SNP attestation report (1184 bytes) or TDX quote */
	size_t report_len;
	uint8_t *certs; /* SNP certificate table (auxblob / extended report) or NULL */
	size_t certs_len;
} veil_cpu_evidence;

/* Frees what e holds and zeroes it; safe on a zeroed or cleared struct. */
void veil_cpu_evidence_clear(veil_cpu_evidence *e);

/* backend: "auto", "configfs-tsm", "sev-guest", "tdx-guest"; tee: "auto",
 * "snp", "tdx". env may be NULL. On success *out holds evidence whose
 * REPORT_DATA was checked to be report_data; on failure *out is empty and
 * the error detail names the back end(s) tried and why each failed. */
VEIL_MUST_CHECK veil_err veil_attest_cpu(const veil_attest_env *env, const char *backend,
					 const char *tee, const uint8_t report_data[64],
					 veil_cpu_evidence *out);

/* The SNP certificate table (GHCB specification, MSG_REPORT_REQ; the
 * SNP_GET_EXT_REPORT certificate buffer; configfs-tsm auxblob): entries of
 * {GUID (16 bytes, in the byte order of its text form), offset (u32 LE),
 * length (u32 LE)} ended by an all-zero entry; offsets count from the start
 * of the table. Pure and strict: truncated entries, a missing terminator,
 * duplicate GUIDs, empty, overlapping or out-of-range certificates are
 * refused; bytes no entry covers must be zero (the zero padding of the
 * extended-report buffer), anything else is VEIL_E_TRAILING. An empty buffer
 * is an empty table. kind is "vcek", "vlek", "ask", "ark", "crl" or
 * "unknown" (an ASVK arrives under the ASK GUID). */
typedef struct veil_snp_cert {
	const char *kind;
	const uint8_t *der; /* borrowed from the table */
	size_t len;
} veil_snp_cert;
VEIL_MUST_CHECK veil_err veil_snp_certtable_parse(const uint8_t *buf, size_t len,
						  veil_snp_cert *out, size_t max, size_t *count);

typedef struct veil_gpu_evidence {
	unsigned index;
	char arch[16];   /* "hopper", "blackwell", ... from NVML's architecture */
	uint8_t *report; /* SPDM GET_MEASUREMENTS request + response */
	size_t report_len;
	char *cert_chain_pem; /* leaf first, NUL-terminated */
	char driver_version[32];
	/* What the guest's NVIDIA driver says (not signed): the system CC
	 * feature, DEVTOOLS mode, and whether the GPUs accept work yet (set
	 * after attestation, so usually false here). Appraisal decides. */
	bool cc_on, devtools, ready;
	char cc_environment[8]; /* "prod", "sim", "none" */
} veil_gpu_evidence;

/* Every GPU, through NVML loaded with dlopen at run time (Veil builds and
 * runs with no NVIDIA library present). Each report is checked to carry
 * nonce. env may be NULL. On success *out is a new array of *count entries
 * (free with veil_gpu_evidence_free); on failure *out is NULL. */
VEIL_MUST_CHECK veil_err veil_attest_gpus(const veil_attest_env *env, const uint8_t nonce[32],
					  veil_gpu_evidence **out, size_t *count);
void veil_gpu_evidence_free(veil_gpu_evidence *list, size_t count);

#endif

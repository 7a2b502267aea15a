/*
 * hostcheck.h - validating a host before a confidential worker VM is
 * deployed on it (docs/host-check.md), and the report that says so.
 *
 * The operator's three-step handshake is validate, deploy, attest: `veil
 * host-check` finds what would make a confidential VM fail or be
 * unprotected (SEV-SNP or TDX not enabled in firmware or KVM, no IOMMU, a
 * GPU not in confidential-computing mode, a driver too old) and explains
 * each finding before anything is launched; `veil launch` starts the VM
 * only on a passing host; the VM then proves itself by attestation.
 *
 * Every check reads the host through configurable roots (sysfs, procfs,
 * /dev, the NVML library), so tests run it against fixture trees and a
 * stand-in NVML with the same C API. A check that cannot be completed
 * fails (fail closed); a check that does not concern this host (TDX
 * checks on an AMD host, GPU checks with no GPU required) is "not
 * applicable", never a pass.
 */
#ifndef VEIL_HOSTCHECK_H
#define VEIL_HOSTCHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/jose.h"

#define VEIL_HC_ID_MAX     48
#define VEIL_HC_TEXT_MAX   400
#define VEIL_HC_CHECKS_MAX 96
#define VEIL_HC_REPORT_TYP "veil-host-report+jws"
#define VEIL_HC_REPORT_VER 1

typedef enum veil_hc_status {
	VEIL_HC_PASS = 0,
	VEIL_HC_FAIL,
	VEIL_HC_NA, /* not applicable to this host */
} veil_hc_status;

const char *veil_hc_status_name(veil_hc_status s); /* "pass", "fail", "n/a" */

/* One finding. */
typedef struct veil_hc_check {
	char id[VEIL_HC_ID_MAX]; /* stable, dotted: "snp.kvm_param", "gpu.0.cc_mode" */
	char title[96];          /* what is checked, for people */
	veil_hc_status status;
	bool required;                   /* a failing required check fails the host */
	char evidence[VEIL_HC_TEXT_MAX]; /* what was looked at and what it said */
	char remedy[VEIL_HC_TEXT_MAX];   /* on failure: what to do about it; else empty */
} veil_hc_check;

/* Where the host is read from. NULL members take the real host's. */
typedef struct veil_hc_roots {
	const char *sysfs;    /* default "/sys" */
	const char *procfs;   /* default "/proc" */
	const char *dev;      /* default "/dev" */
	const char *nvml_lib; /* default "libnvidia-ml.so.1"; loaded at run time */
} veil_hc_roots;

/* Which TEE the host is to run, and what is required of it. */
typedef enum veil_hc_tee {
	VEIL_HC_TEE_AUTO = 0, /* whichever the CPU offers (SNP on AMD, TDX on Intel) */
	VEIL_HC_TEE_SNP,
	VEIL_HC_TEE_TDX,
} veil_hc_tee;

typedef struct veil_hc_options {
	veil_hc_roots roots;
	veil_hc_tee tee;
	unsigned min_gpus;      /* GPUs in CC mode required; 0: GPU checks are n/a when none */
	const char *min_driver; /* minimum NVIDIA driver; NULL: "570.00" (R570) */
	/* GPUs bound to vfio-pci are invisible to the host's NVML, so their
	 * model, CC mode, DEVTOOLS mode and VBIOS cannot be read here. Set:
	 * those checks (and NVML and the driver, when no GPU is visible) are
	 * n/a, left to the VM's GPU attestation, which the key broker's and
	 * the gateway's policies judge (gpu.require_cc_mode, allow_devtools
	 * false); the passthrough checks stay required. Unset: they fail. */
	bool gpu_cc_by_attestation;
	int64_t now; /* the report's time (Unix seconds); 0: now */
} veil_hc_options;

typedef struct veil_hc_report {
	char host[256];   /* the host name (procfs sys/kernel/hostname) */
	char kernel[128]; /* procfs sys/kernel/osrelease */
	char cpu[128];    /* the CPU model name */
	char tee[8];      /* "snp", "tdx" or "none": what the CPU offers or was asked for */
	int64_t time;
	veil_hc_check checks[VEIL_HC_CHECKS_MAX];
	size_t count;
	bool pass; /* every required check passed */
} veil_hc_report;

/*
 * Runs every check against the roots. VEIL_OK whenever a report was made,
 * whatever its verdict (r->pass); an error only for bad options.
 */
VEIL_MUST_CHECK veil_err veil_hostcheck_run(const veil_hc_options *o, veil_hc_report *r);

/* The parts, each appending its checks to r (src/hostcheck/cpu.c,
 * gpu.c); veil_hostcheck_run calls them in this order. */
VEIL_MUST_CHECK veil_err veil_hostcheck_cpu(const veil_hc_options *o, veil_hc_report *r);
VEIL_MUST_CHECK veil_err veil_hostcheck_gpu(const veil_hc_options *o, veil_hc_report *r);

/* Appends a check (VEIL_E_LIMIT past VEIL_HC_CHECKS_MAX); evidence and
 * remedy are printf formats' results, cut to fit and sanitized. */
VEIL_MUST_CHECK veil_err veil_hc_add(veil_hc_report *r, const char *id, const char *title,
				     bool required, veil_hc_status status, const char *evidence,
				     const char *remedy);

/*
 * The report as JSON (docs/host-check.md "Report"):
 * {"version":1, "host":S, "kernel":S, "cpu":S, "tee":S, "time":N,
 *  "verdict":"pass"|"fail",
 *  "checks":[{"id":S,"title":S,"status":"pass"|"fail"|"n/a","required":B,
 *             "evidence":S,"remedy":S}, ...]}
 */
VEIL_MUST_CHECK veil_err veil_hostcheck_json(const veil_hc_report *r, json_t **out);
/* Reads a report back strictly (the shape above; verdict consistent with
 * the checks). */
VEIL_MUST_CHECK veil_err veil_hostcheck_parse(const json_t *j, veil_hc_report *r);

/* A signed report: compact JWS, ES256, header {"alg":"ES256","typ":
 * VEIL_HC_REPORT_TYP,"kid":thumbprint}, payload the JSON above (JCS). */
VEIL_MUST_CHECK veil_err veil_hostcheck_sign(const veil_jwk *key, const veil_hc_report *r,
					     char **jws);
/* Verifies under pub (never a key from the report) and parses. */
VEIL_MUST_CHECK veil_err veil_hostcheck_verify(const veil_jwk *pub, const char *jws, size_t len,
					       veil_hc_report *r);

#endif

/*
 * launch.h - `veil launch`: a launch spec turned into the QEMU command line
 * of a confidential worker VM (SEV-SNP or TDX, NVIDIA GPUs passed through
 * with vfio-pci), started only on a host that passes the gate
 * (docs/launch.md).
 *
 * Three steps, each its own function so that tests can hold every one of
 * them against exact expectations:
 *   1. veil_launch_spec_parse: the spec (strict JSON) into a struct; pure,
 *      no I/O (relative paths are joined to the spec's folder, not looked
 *      up);
 *   2. veil_launch_argv_build: the QEMU argv (an array, never a shell
 *      string), and veil_launch_argv_quote for people;
 *   3. the gate: the files exist (veil_launch_check_files), the host
 *      passes a fresh host check or a signed report does
 *      (veil_launch_gate_run, veil_launch_check_report), and every GPU is
 *      bound to vfio-pci (veil_launch_check_vfio).
 * The command is then exec'd by the CLI, never through a shell.
 */
#ifndef VEIL_LAUNCH_H
#define VEIL_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/hostcheck.h"
#include "veil/jose.h"
#include "veil/limits.h"

#define VEIL_LAUNCH_SPEC_VERSION 1
/* "0000:41:00.0": PCI domain, bus, device, function. */
#define VEIL_LAUNCH_PCI_ADDR_LEN 12
/* The default QEMU program (looked up in PATH) and the QGS address of
 * Intel's quote generation service (vsock, host CID 2, port 4050). */
#define VEIL_LAUNCH_QEMU_DEFAULT "qemu-system-x86_64"
#define VEIL_LAUNCH_QGS_CID      2
#define VEIL_LAUNCH_QGS_PORT     4050
/* SEV-SNP Firmware ABI (AMD 56860), "Guest Policy": bit 17 is reserved and
 * must be one, bit 16 allows SMT; QEMU's default policy. */
#define VEIL_LAUNCH_SNP_POLICY_DEFAULT 0x30000ULL

typedef enum veil_launch_net {
	VEIL_LAUNCH_NET_NONE = 0,
	VEIL_LAUNCH_NET_USER, /* QEMU user-mode networking with host port forwards */
} veil_launch_net;

typedef enum veil_launch_qgs {
	VEIL_LAUNCH_QGS_NONE = 0, /* no quote generation: the TD cannot get quotes */
	VEIL_LAUNCH_QGS_VSOCK,
	VEIL_LAUNCH_QGS_UNIX,
} veil_launch_qgs;

typedef struct veil_launch_forward {
	uint16_t host, guest; /* TCP ports */
} veil_launch_forward;

/*
 * A parsed spec. Strings are owned (veil_launch_spec_clear frees them);
 * paths are absolute or relative to the folder given to the parser, joined
 * to it; optional strings are NULL when absent.
 */
typedef struct veil_launch_spec {
	veil_hc_tee tee; /* VEIL_HC_TEE_SNP or VEIL_HC_TEE_TDX */
	char name[VEIL_LAUNCH_NAME_MAX + 1];
	char *qemu; /* a path, or a bare program name looked up in PATH */
	char *firmware;
	char *kernel;
	char *initrd;  /* or NULL */
	char *cmdline; /* or NULL */
	char *disk;    /* or NULL */
	bool disk_qcow2;
	unsigned vcpus;
	uint64_t memory_mib;
	char gpus[VEIL_LAUNCH_GPUS_MAX][VEIL_LAUNCH_PCI_ADDR_LEN + 1]; /* lower case */
	size_t ngpus;
	bool iommufd; /* "vfio": "iommufd" rather than the legacy container */
	veil_launch_net net;
	char host_addr[16]; /* IPv4 the forwards bind to; "" for every address */
	veil_launch_forward forwards[VEIL_LAUNCH_FORWARDS_MAX];
	size_t nforwards;
	struct {
		uint64_t policy;
		unsigned cbitpos;
		unsigned reduced_phys_bits;
	} snp;
	struct {
		veil_launch_qgs qgs;
		uint32_t qgs_cid, qgs_port;
		char *qgs_path; /* VEIL_LAUNCH_QGS_UNIX */
	} tdx;
} veil_launch_spec;

/*
 * Parses a spec (docs/launch.md "The spec"): strict, unknown members
 * refused, every error naming the member ("spec: \"gpus[1]\": ..."). dir is
 * the folder relative paths are joined to ("." when NULL). Pure: no file
 * is looked at. On error s is cleared.
 */
VEIL_MUST_CHECK veil_err veil_launch_spec_parse(const uint8_t *buf, size_t len, const char *dir,
						veil_launch_spec *s);
void veil_launch_spec_clear(veil_launch_spec *s);
/* "snp" or "tdx". */
const char *veil_launch_tee_name(veil_hc_tee tee);

/* A NULL-terminated argv (v[n] == NULL), owned. */
typedef struct veil_launch_argv {
	char **v;
	size_t n;
} veil_launch_argv;

/*
 * The QEMU command line for the spec (docs/launch.md "The command line").
 * qemu overrides s->qemu when not NULL (`--qemu`).
 */
VEIL_MUST_CHECK veil_err veil_launch_argv_build(const veil_launch_spec *s, const char *qemu,
						veil_launch_argv *a);
void veil_launch_argv_free(veil_launch_argv *a);
/*
 * The argv as POSIX shell words, for people: words made only of
 * [A-Za-z0-9_@%+=:,./-] as they are, anything else in single quotes ('
 * written '\''). multiline: each option starts a new line after " \\\n    ".
 * New string, caller frees.
 */
VEIL_MUST_CHECK veil_err veil_launch_argv_quote(const veil_launch_argv *a, bool multiline,
						char **out);

/* The gate's own findings, beside the host's. */
typedef struct veil_launch_gate {
	veil_hc_report *host; /* the fresh or signed report; NULL when none could be had */
	bool from_signed;     /* host came from a signed report */
	veil_hc_check checks[VEIL_LAUNCH_CHECKS_MAX];
	size_t count;
	bool overflow; /* a check could not be stored: the gate cannot pass */
} veil_launch_gate;

void veil_launch_gate_init(veil_launch_gate *g);
void veil_launch_gate_clear(veil_launch_gate *g);
/* Every required check of the gate (and of the host report) passed, and
 * there was at least one. */
bool veil_launch_gate_pass(const veil_launch_gate *g);

/* The spec's files: each must be a readable regular file ("file.kernel");
 * the QEMU program is looked up in PATH when it is a bare name. */
void veil_launch_check_files(const veil_launch_spec *s, const char *qemu, veil_launch_gate *g);

/*
 * Holds a verified host report against the spec (pure): its verdict is
 * pass, its TEE is the spec's, its time is at most max_age seconds before
 * now and at most VEIL_LAUNCH_CLOCK_SKEW_S after it, it names this host
 * (hostname, NULL when it could not be read: then that check fails), and
 * it shows at least as many GPUs ready for passthrough as the spec passes
 * through: GPU N is ready when gpu.N.vfio passed, gpu.N.cc_mode passed
 * (or, with cc_by_attestation, was left n/a to the VM's attestation), and
 * no gpu.N check failed.
 */
void veil_launch_check_report(const veil_launch_spec *s, const veil_hc_report *r, int64_t now,
			      int64_t max_age, const char *hostname, bool cc_by_attestation,
			      veil_launch_gate *g);

/* Each GPU of the spec under the sysfs root (NULL: "/sys"): the device
 * exists, is an NVIDIA device, is bound to vfio-pci, has an IOMMU group,
 * and the device node QEMU opens exists under the dev root (NULL: "/dev"). */
void veil_launch_check_vfio(const veil_launch_spec *s, const veil_hc_roots *roots,
			    veil_launch_gate *g);

typedef struct veil_launch_gate_options {
	veil_hc_roots roots;
	/* A signed report (compact JWS) and the key it must verify under;
	 * NULL: a fresh veil_hostcheck_run. */
	const char *report;
	size_t report_len;
	const veil_jwk *pubkey;
	int64_t max_age; /* 0: VEIL_LAUNCH_MAX_AGE_DEFAULT */
	int64_t now;     /* 0: now */
	/* GPUs on vfio-pci are invisible to the host's NVML: accept their CC
	 * mode left to the VM's GPU attestation (veil_hc_options'
	 * gpu_cc_by_attestation, and the same in a signed report). */
	bool gpu_cc_by_attestation;
} veil_launch_gate_options;

/*
 * The whole gate after the file checks: the host check (fresh, with the
 * spec's TEE and min_gpus = the spec's GPUs) or the signed report
 * (verified, then veil_launch_check_report), then veil_launch_check_vfio.
 * VEIL_OK whenever the gate could be run, whatever its verdict; an error
 * only for bad options or no memory.
 */
VEIL_MUST_CHECK veil_err veil_launch_gate_run(const veil_launch_spec *s,
					      const veil_launch_gate_options *o,
					      veil_launch_gate *g);

#endif

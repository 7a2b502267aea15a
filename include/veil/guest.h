/*
 * guest.h - the guest side of attestation: what a worker inside the
 * confidential VM does with its TEE and GPUs (docs/guest.md).
 *
 * veil-worker, `veil attest` and `veil kbs fetch` all need the same three
 * things, so they live here once:
 *
 *   veil_guest_check      at start-up, fail closed: the TEE produces
 *                         evidence and every configured GPU is in CC mode,
 *                         not in DEVTOOLS mode;
 *   veil_guest_bundle     an evidence bundle (docs/evidence-bundle.md) for a
 *                         relying party's runtime data, with the GPUs'
 *                         reports bound by the device nonce;
 *   veil_guest_kbs_fetch  the KBS protocol's guest side (RCAR: auth,
 *                         attest, resource) with CPU and GPU evidence bound
 *                         to the broker's nonce and a fresh in-memory key.
 *
 * The evidence comes from the hardware back ends of attester.h (SEV-SNP,
 * TDX, NVML) or from the simulated TEE of sim.h, which is used only when
 * the configuration says "sim", never as a fallback.
 *
 * A veil_guest may be used from several threads: evidence is produced one
 * request at a time (a lock inside), while KBS exchanges and their retry
 * waits run unlocked.
 */
#ifndef VEIL_GUEST_H
#define VEIL_GUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/attester.h"
#include "veil/error.h"

typedef struct veil_guest_config {
	const char *tee;             /* "sim", or hardware: "auto", "snp", "tdx" */
	const char *backend;         /* hardware: "auto", "configfs-tsm", "sev-guest",
					"tdx-guest"; NULL: "auto" */
	const char *sim_dir;         /* tee "sim": the platform directory (veil sim init) */
	const char *const *workload; /* sim: files measured as the launch measurement
					(veil_sim_measure), once, at open; */
	size_t n_workload;           /*   none: /proc/self/exe, as veil attest does */
	/* "none"; "sim" (the sim platform's GPUs); "nvml" (NVML); "auto" or
	 * NULL: on the sim TEE its GPUs if it has any, else none; on hardware
	 * NVML when libnvidia-ml loads, else none. Decided once, at open; once
	 * decided, any failure of the GPUs is an error (docs/guest.md). */
	const char *gpus;
	const veil_attest_env *env; /* may be NULL: the real machine; copied at open (the
				       hooks in env->sys are borrowed and must outlive the guest) */
	const char *init_data;      /* NULL, or the initdata TOML text the VM was launched with
				  (sim: its digest becomes HOST_DATA, as veil kbs fetch
				  --init-data does); copied */
} veil_guest_config;

typedef struct veil_guest veil_guest;

/* Validates the configuration, opens the sim platform and measures the
 * workload (sim), decides the GPUs. Touches no hardware TEE device: the
 * first evidence does. VEIL_E_USAGE for a configuration that makes no
 * sense (an unknown name, sim GPUs on a hardware TEE, a back end for the
 * sim TEE), with a detail naming the member. */
VEIL_MUST_CHECK veil_err veil_guest_open(const veil_guest_config *c, veil_guest **out);
void veil_guest_free(veil_guest *g);

/* "sim", "snp" or "tdx" once known: from the start for "sim", "snp" and
 * "tdx"; for hardware "auto", "auto" until the first evidence is made
 * (veil_guest_check, a bundle, a fetch), and from then on the TEE and back
 * end that made it, which later evidence keeps to. */
const char *veil_guest_tee(const veil_guest *g);
/* The GPUs as decided at open: "none", "sim" or "nvml". */
const char *veil_guest_gpus(const veil_guest *g);

/* Start-up check (fail closed): the TEE makes a throwaway report (REPORT_DATA
 * zero) and, when GPUs are configured, every GPU makes a throwaway report
 * (nonce zero) and its driver says CC mode on and DEVTOOLS off (NVIDIA: the
 * "prod" CC environment too). GPU readiness is not required: NVIDIA's flow
 * sets it after attestation succeeds, so before the key is released it is
 * normally false (docs/guest.md). VEIL_E_VERIFY with a detail naming the GPU
 * ("gpu0: CC mode is off") for a state that is wrong; the attester's own
 * error (and its detail, prefixed) when no evidence can be made at all. */
VEIL_MUST_CHECK veil_err veil_guest_check(veil_guest *g);

/* An evidence bundle (the JSON document `veil attest --runtime-data` writes,
 * docs/evidence-bundle.md) for runtime_data (a JSON object, borrowed and not
 * modified: copied), with the GPUs' evidence added as "additional-evidence"
 * bound by the device nonce. With GPUs, runtime_data must have "nonce" and
 * "tee-pubkey" and no "additional-evidence"; without, an
 * "additional-evidence" it has must be a string (the KBS form). *out is a
 * new buffer of *len bytes (indented JSON and a newline) the caller frees. */
VEIL_MUST_CHECK veil_err veil_guest_bundle(veil_guest *g, const json_t *runtime_data, uint8_t **out,
					   size_t *len);

/* The CPU report alone for a caller's REPORT_DATA (`veil attest
 * --report-data`): from the sim platform or the hardware back end. *out is
 * filled as veil_attest_cpu fills it (tee and backend "sim" for the sim
 * TEE); clear it with veil_cpu_evidence_clear. */
VEIL_MUST_CHECK veil_err veil_guest_report(veil_guest *g, const uint8_t report_data[64],
					   veil_cpu_evidence *out);

/* The KBS protocol's guest side (docs/kbs-protocol.md): a fresh EC P-256
 * key in memory, /kbs/v0/auth, evidence bound to the nonce and the key
 * (CPU, plus GPU evidence as the broker accepts it), /kbs/v0/attest,
 * GET /kbs/v0/resource/<path>, JWE decrypted. */
typedef struct veil_kbs_fetch_params {
	const char *url;      /* the broker, e.g. http://127.0.0.1:8080 */
	const char *resource; /* "repo/type/tag" */
	const char *ca_file;  /* NULL: system store */
	long deadline_ms;     /* total time for retries; 0: one try */
	void (*on_retry)(void *user, unsigned attempt, long wait_ms,
			 const char *why); /* may be NULL; for the log */
	void *user;
} veil_kbs_fetch_params;

/* Network errors, 5xx and 429 are retried with exponential backoff and
 * jitter (start 250 ms, factor 2, cap 8 s) until the deadline, each try a
 * whole new handshake; after the last, VEIL_E_IO naming the attempts and
 * the last failure. A refusal is final and not retried: VEIL_E_VERIFY with
 * a detail saying which step refused and why (the broker's detail; for a
 * 403 at the resource also what the EAR token issued at attest says, read
 * but not trusted: each submodule's status with its reasons, and the policy
 * id; for a 404, "no such resource"). Evidence that cannot be made fails
 * with the attester's error, unretried. *value is a new buffer the caller
 * wipes and frees (veil_free_secret). */
VEIL_MUST_CHECK veil_err veil_guest_kbs_fetch(veil_guest *g, const veil_kbs_fetch_params *p,
					      uint8_t **value, size_t *value_len);

#endif

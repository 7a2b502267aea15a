/*
 * guest_internal.h - what the files of src/guest share: the guest's state
 * and the steps the public calls are made of (docs/guest.md).
 *
 *   guest.c      configuration, open and free, the start-up check
 *   evidence.c   CPU and GPU evidence, the bundle
 *   kbs_fetch.c  the KBS handshake and its retries
 *   refusal.c    what a broker's refusal says, for the error detail
 */
#ifndef VEIL_GUEST_INTERNAL_H
#define VEIL_GUEST_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "veil/guest.h"
#include "veil/sim.h"

typedef enum guest_gpus {
	GUEST_GPUS_NONE,
	GUEST_GPUS_SIM,
	GUEST_GPUS_NVML,
} guest_gpus;

/* Which TEE: an index into guest_tee_names. */
typedef enum guest_tee {
	GUEST_TEE_AUTO,
	GUEST_TEE_SIM,
	GUEST_TEE_SNP,
	GUEST_TEE_TDX,
} guest_tee;
extern const char *const guest_tee_names[4];

struct veil_guest {
	pthread_mutex_t lock; /* evidence is made one request at a time */
	/* GUEST_TEE_AUTO until the first hardware report, then the TEE that
	 * made it (atomic: veil_guest_tee reads it without the lock); the
	 * back end likewise pinned, under the lock. */
	_Atomic int tee;
	char backend[16];
	veil_sim *sim; /* tee "sim" only */
	uint8_t measurement[48];
	guest_gpus gpus;
	veil_attest_env env; /* paths owned (copied), sys borrowed */
	char *init_data;     /* the initdata TOML, or NULL */
	size_t init_data_len;
	uint8_t host_data[32]; /* sim, with init_data: its digest fitted to 32 bytes */
};

/* Hardware GPU mode for "auto": NVML when the library (env->nvml_library,
 * else libnvidia-ml.so.1) loads, else none. */
guest_gpus guest_gpus_probe(const veil_attest_env *env);

/* The start-up rule for one GPU's driver-reported state: CC mode on,
 * DEVTOOLS off and, for NVIDIA GPUs (nvidia true), the "prod" CC
 * environment. VEIL_E_VERIFY naming `name` otherwise. */
VEIL_MUST_CHECK veil_err guest_gpu_state_check(const char *name, bool nvidia, bool cc_on,
					       bool devtools, const char *cc_environment);

/* The following take g->lock themselves. */

/* CPU evidence for REPORT_DATA; pins the TEE and back end on first use. */
VEIL_MUST_CHECK veil_err guest_cpu_evidence(veil_guest *g, const uint8_t rd[64],
					    veil_cpu_evidence *out);
/* The TEE's name for /kbs/v0/auth: known, or found with a throwaway report. */
VEIL_MUST_CHECK veil_err guest_tee_resolve(veil_guest *g, const char **tee);

/* One GPU's evidence and what its driver says, whichever made it. */
typedef struct guest_gpu {
	const char *type; /* the device format: "sim-gpu" or "nvidia" */
	uint8_t *report;
	size_t report_len;
	char *chain_pem;
	bool cc_on, devtools, ready;
	char cc_environment[8]; /* "prod", "sim", "none" */
} guest_gpu;
/* Every configured GPU's report for the nonce (*n is 0 with no GPUs);
 * failures carry the context "GPU". */
VEIL_MUST_CHECK veil_err guest_gpus_collect(veil_guest *g, const uint8_t nonce[32], guest_gpu **out,
					    size_t *n);
void guest_gpus_free(guest_gpu *list, size_t n);
/* The bundle's device entries (docs/evidence-bundle.md) for the GPUs, as a
 * new JSON array. */
VEIL_MUST_CHECK veil_err guest_devices_json(const guest_gpu *list, size_t n, json_t **out);

/* refusal.c: a broker's non-200 answer. */
typedef struct guest_reply {
	long status;
	const uint8_t *body;
	size_t body_len;
} guest_reply;
/* The broker's ErrorInformation "detail" (or the start of a body that is
 * not one), sanitised, into out. */
void guest_broker_detail(const guest_reply *r, char *out, size_t len);
/* A summary of an EAR token's claims, read without verifying it: each
 * submodule's status, with its reasons when not affirming, and the
 * appraisal policy id ("cpu0: contraindicated (executables: ...); policy
 * p1"). Never the token itself. Empty when the token does not decode. */
void guest_ear_summary(const char *token, char *out, size_t len);

#endif

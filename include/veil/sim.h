/*
 * sim.h - the simulated TEE: a software platform that produces evidence
 * shaped like real hardware's, so the whole of Veil runs end to end on an
 * ordinary machine for development and CI (docs/evidence-sim.md).
 *
 * A sim platform is a directory made by veil_sim_init (`veil sim init DIR`):
 *
 *   root.pem, root.key           self-signed root (ECDSA P-384)
 *   root.sha256                  its fingerprint, as policies name it
 *   platform.pem, platform.key   the platform signing key, issued by root
 *   gpu<N>.pem, gpu<N>.key       one key per simulated GPU, issued by root
 *   platform.json                what the platform reports (TCB, debug flag,
 *                                host data, GPU state and versions); edit it
 *                                to simulate other platforms
 *
 * Private keys are created with mode 0600 and refused when group or others
 * can read them. Nothing in Veil trusts a sim root unless the policy in
 * force (or the command line) names its fingerprint, and every result from
 * sim evidence is marked insecure.
 */
#ifndef VEIL_SIM_H
#define VEIL_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#define VEIL_SIM_GPUS_MAX 8

typedef struct veil_sim veil_sim;

/* Creates a platform with `gpus` simulated GPUs (0..VEIL_SIM_GPUS_MAX) in
 * dir, which must not exist or be empty; certificates are valid from an hour
 * before `now` for ten years. All or nothing: the files are written to a
 * temporary sibling directory that is renamed into place at the end. */
VEIL_MUST_CHECK veil_err veil_sim_init(const char *dir, unsigned gpus, int64_t now);
VEIL_MUST_CHECK veil_err veil_sim_open(const char *dir, veil_sim **out);
void veil_sim_free(veil_sim *s);

/* The root certificate's SHA-256 fingerprint. */
void veil_sim_root_sha256(const veil_sim *s, uint8_t out[32]);
unsigned veil_sim_gpu_count(const veil_sim *s);

/*
 * The sim launch measurement of a workload: SHA-384 over, for each file in
 * order, its length as a 64-bit little-endian number and its bytes. The
 * worker measures its binary and its configuration this way, so "expected
 * workload hash" reference values work as launch measurements do on
 * hardware.
 */
VEIL_MUST_CHECK veil_err veil_sim_measure(const char *const *paths, size_t count, uint8_t out[48]);

/* A signed sim report (new buffer) for this measurement and REPORT_DATA,
 * stamped with `now`. */
VEIL_MUST_CHECK veil_err veil_sim_attest(const veil_sim *s, const uint8_t measurement[48],
					 const uint8_t report_data[64], int64_t now, uint8_t **out,
					 size_t *len);
/* The same with the HOST_DATA the host launched the guest with, instead
 * of platform.json's: a host starting a guest with init-data puts the
 * init-data's digest there (docs/kbs.md "Init-data"). veil_sim_attest is
 * this with platform.json's host_data. */
VEIL_MUST_CHECK veil_err veil_sim_attest_host_data(const veil_sim *s, const uint8_t measurement[48],
						   const uint8_t host_data[32],
						   const uint8_t report_data[64], int64_t now,
						   uint8_t **out, size_t *len);

/* What a simulated GPU's driver says about it (platform.json "gpu"). */
typedef struct veil_sim_gpu_state {
	bool cc_on, devtools, ready;
} veil_sim_gpu_state;

/* GPU `index`'s SPDM-shaped report for the 32-byte nonce (new buffer), its
 * certificate chain as PEM (GPU certificate then root; new string), and the
 * state its driver reports. */
VEIL_MUST_CHECK veil_err veil_sim_gpu_attest(const veil_sim *s, unsigned index,
					     const uint8_t nonce[32], uint8_t **report,
					     size_t *report_len, char **chain_pem,
					     veil_sim_gpu_state *state);

#endif

/*
 * sim_report.h - the simulated TEE's attestation report.
 *
 * Veil's simulated TEE ("sim", docs/evidence-sim.md) lets the whole platform
 * run on an ordinary machine. Its report is shaped like an SEV-SNP report,
 * holding what appraisal looks at on real hardware (a launch measurement,
 * REPORT_DATA, host data, a TCB version, a debug flag), and carries the two
 * certificates its signature chains to, because a sim platform has no
 * key distribution service to fetch them from:
 *
 *   0x000  magic "VEILSIMR"
 *   0x008  version       u32 le (1)
 *   0x00C  flags         u32 le (bit 0: debug; other bits must be zero)
 *   0x010  tcb           u64 le (SNP TCB_VERSION layout)
 *   0x018  generated_at  u64 le (Unix seconds, the sim platform's clock)
 *   0x020  measurement   48 bytes (SHA-384 of the workload, see sim.h)
 *   0x050  host_data     32 bytes
 *   0x070  report_data   64 bytes
 *   0x0B0  platform_id   32 bytes (SHA-256 of the platform key's SPKI DER)
 *   0x0D0  platform certificate: u16 le length, DER
 *          root certificate:     u16 le length, DER
 *          signature: ECDSA P-384 over SHA-384 of every byte before it,
 *          r || s, 48 bytes each, big-endian
 *
 * Nothing may follow the signature. The root inside the report is only a
 * candidate: verification trusts it only if its fingerprint is one the
 * caller named (veil_verify_ctx.sim_roots).
 */
#ifndef VEIL_SIM_REPORT_H
#define VEIL_SIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"
#include "veil/error.h"

#define SIM_MAGIC           "VEILSIMR"
#define SIM_MAGIC_LEN       8
#define SIM_VERSION         1
#define SIM_FLAG_DEBUG      0x1u
#define SIM_MEASUREMENT_LEN 48
#define SIM_HOST_DATA_LEN   32
#define SIM_REPORT_DATA_LEN 64
#define SIM_PLATFORM_ID_LEN 32
#define SIM_FIXED_LEN       0xD0
#define SIM_SIG_LEN         96
/* The GPU report of the simulated GPU says so in its project field. */
#define SIM_GPU_PROJECT "veil-sim"

typedef struct sim_report {
	uint8_t *raw; /* owned copy of the input */
	size_t len;
	uint32_t version, flags;
	uint64_t tcb, generated_at;
	const uint8_t *measurement, *host_data, *report_data, *platform_id;
	const uint8_t *platform_cert, *root_cert;
	size_t platform_cert_len, root_cert_len;
	size_t signed_len; /* [0, signed_len) is signed */
	const uint8_t *sig;
} sim_report;

/* What a sim report says, before the certificates and the signature. */
typedef struct sim_report_body {
	uint32_t flags;
	uint64_t tcb, generated_at;
	uint8_t measurement[SIM_MEASUREMENT_LEN];
	uint8_t host_data[SIM_HOST_DATA_LEN];
	uint8_t report_data[SIM_REPORT_DATA_LEN];
	uint8_t platform_id[SIM_PLATFORM_ID_LEN];
} sim_report_body;

bool sim_report_detect(const uint8_t *buf, size_t len);
/* Pure and bounded; the result owns a copy of buf. */
VEIL_MUST_CHECK veil_err sim_report_parse(const uint8_t *buf, size_t len, sim_report **out);
void sim_report_free(sim_report *r);
/* Writes everything the signature covers (the caller appends it). */
VEIL_MUST_CHECK veil_err sim_report_write_signed(veil_writer *w, const sim_report_body *b,
						 const uint8_t *platform_cert, size_t platform_len,
						 const uint8_t *root_cert, size_t root_len);

#endif

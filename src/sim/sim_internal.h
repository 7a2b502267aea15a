/*
 * sim_internal.h - what the simulated platform's files share (sim_keys.c,
 * sim_platform.c, sim_attest.c). The public side is include/veil/sim.h.
 */
#ifndef VEIL_SIM_INTERNAL_H
#define VEIL_SIM_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <sys/types.h>

#include "veil/collateral.h"
#include "veil/sim.h"
#include "veil/x509.h"

#define SIM_VERSION_MAX 32

/* platform.json: what the simulated platform reports. */
typedef struct sim_config {
	uint8_t tcb_bootloader, tcb_tee, tcb_snp, tcb_microcode;
	bool debug;
	uint8_t host_data[32];
	unsigned gpus;
	char driver_version[SIM_VERSION_MAX];
	uint8_t vbios[5]; /* "96.00.9F.00.04" as its five bytes, in print order */
	veil_sim_gpu_state gpu_state;
} sim_config;

struct veil_sim {
	sim_config config;
	X509 *root, *platform, *gpu[VEIL_SIM_GPUS_MAX];
	uint8_t *root_der, *platform_der;
	size_t root_der_len, platform_der_len;
	EVP_PKEY *platform_key, *gpu_key[VEIL_SIM_GPUS_MAX];
	uint8_t root_sha256[32];
};

EVP_PKEY *sim_key_generate(void);
X509 *sim_cert_issue(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
		     int64_t not_before, int64_t not_after);
VEIL_MUST_CHECK veil_err sim_file_write(const char *dir, const char *name, const void *data,
					size_t len, mode_t mode);
VEIL_MUST_CHECK veil_err sim_key_write(const char *dir, const char *name, EVP_PKEY *key);
VEIL_MUST_CHECK veil_err sim_cert_write(const char *dir, const char *name, X509 *cert);
VEIL_MUST_CHECK veil_err sim_key_read(const char *dir, const char *name, EVP_PKEY **out);
/* One certificate (PEM or DER) and its DER encoding (caller frees). */
VEIL_MUST_CHECK veil_err sim_cert_read(const char *dir, const char *name, X509 **out, uint8_t **der,
				       size_t *der_len);

/* platform.json's strict reader. */
VEIL_MUST_CHECK veil_err sim_config_parse(const uint8_t *buf, size_t len, const char *origin,
					  sim_config *out);

#endif

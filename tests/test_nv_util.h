/*
 * test_nv_util.h - helpers shared by the NVIDIA GPU tests (header-only, static).
 *
 * Loads reports (one line of hex in the test data) and builds collateral from
 * test data files, then verifies through veil_evidence_verify, the entry
 * point the CLI, the bundle verifier and the daemons use.
 */
#ifndef VEIL_TEST_NV_UTIL_H
#define VEIL_TEST_NV_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/evidence.h"

#define NV_AT_2025 "2025-03-01T00:00:00Z"

#define NV_R545   "nvidia/hopper/h100_drv545.00_vb96.00.5E.00.01_report.hex"
#define NV_C545   "nvidia/hopper/h100_drv545.00_certchain.pem"
#define NV_N545   "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e"
#define NV_DRV545 "nvidia/rims/driver/NV_GPU_DRIVER_GH100_545.00_test_no_gpu.swidtag"
#define NV_VB545  "nvidia/rims/vbios/NV_GPU_VBIOS_1010_0200_882_96005E0001_test_no_gpu.swidtag"

/* A report file decoded from hex (caller frees). */
static inline uint8_t *nv_test_report(const char *rel, size_t *len)
{
	size_t n, out = 0;
	uint8_t *text = td_read(rel, &n);
	uint8_t *buf = malloc(n / 2 + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ')
			text[k++] = text[i];
	if (buf == NULL ||
	    veil_hex_decode((const char *)text, k, buf, n / 2 + 1, &out) != VEIL_OK) {
		fprintf(stderr, "cannot decode %s\n", rel);
		exit(2);
	}
	free(text);
	*len = out;
	return buf;
}

/* Collateral from test data files (NULL-terminated list); entries ending in
 * '/' are directories. */
static inline void nv_test_coll(veil_collateral *coll, const char *const *files)
{
	veil_collateral_init(coll);
	for (size_t i = 0; files[i] != NULL; i++) {
		size_t n = strlen(files[i]);
		if (files[i][n - 1] == '/') {
			if (veil_collateral_add_dir(coll, td_path(files[i])) != VEIL_OK)
				harness_fail(__FILE__, __LINE__, "veil_collateral_add_dir");
			continue;
		}
		uint8_t *p = td_read(files[i], &n);
		if (veil_collateral_add(coll, p, n, files[i]) != VEIL_OK)
			harness_fail(__FILE__, __LINE__, "veil_collateral_add");
		free(p);
	}
}

static inline veil_err nv_test_verify_buf(const uint8_t *buf, size_t len,
					  const veil_collateral *coll, const char *at,
					  veil_revocation_policy policy, const char *nonce_hex,
					  veil_verifier *v, veil_checks *checks, json_t *claims)
{
	veil_verify_ctx ctx = {
	    .at = td_time(at), .collateral = coll, .verifier = v, .revocation = policy};
	uint8_t nonce[32];
	size_t n = 0;
	void *ev = NULL;
	veil_err err;

	if (nonce_hex != NULL &&
	    (veil_hex_decode(nonce_hex, strlen(nonce_hex), nonce, sizeof nonce, &n) != VEIL_OK ||
	     n != 32))
		harness_fail(__FILE__, __LINE__, "bad nonce in test");
	veil_checks_init(checks);
	veil_err_clear();
	err = veil_evidence_verify(&veil_nvidia_format, buf, len, &ctx,
				   nonce_hex != NULL ? nonce : NULL, nonce_hex != NULL ? 32 : 0,
				   checks, &ev);
	if (ev != NULL && claims != NULL && veil_nvidia_format.claims(ev, claims) != VEIL_OK)
		harness_fail(__FILE__, __LINE__, "claims");
	if (ev != NULL)
		veil_nvidia_format.free(ev);
	return err;
}

static inline bool nv_check_ok(const veil_checks *c, const char *name)
{
	const veil_check *k = veil_checks_find(c, name);
	return k != NULL && k->ok;
}

static inline bool nv_check_failed(const veil_checks *c, const char *name)
{
	const veil_check *k = veil_checks_find(c, name);
	return k != NULL && !k->ok;
}

/* True when every failed check's name is one of the NULL-terminated list
 * and each of them did fail: the verdict failed for exactly these reasons. */
static inline bool nv_failed_exactly(const veil_checks *c, const char *const *names)
{
	size_t want = 0;

	for (; names[want] != NULL; want++)
		if (!nv_check_failed(c, names[want]))
			return false;
	for (size_t i = 0; i < c->count; i++) {
		bool listed = false;
		if (c->item[i].ok)
			continue;
		for (size_t j = 0; j < want && !listed; j++)
			listed = strcmp(c->item[i].name, names[j]) == 0;
		if (!listed) {
			fprintf(stderr, "unexpected failed check %s: %s\n", c->item[i].name,
				c->item[i].detail);
			return false;
		}
	}
	return true;
}

#endif

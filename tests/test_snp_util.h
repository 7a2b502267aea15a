/*
 * test_snp_util.h - helpers shared by the SEV-SNP tests (header-only, static).
 *
 * Verifies a report (from test data or a mutated copy) with the VEK files
 * named, at an RFC 3339 time, through the same veil_evidence_verify entry
 * point the CLI and the daemons use, so the tests exercise the real path.
 */
#ifndef VEIL_TEST_SNP_UTIL_H
#define VEIL_TEST_SNP_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "evidence/snp/snp_report.h"
#include "harness.h"
#include "veil/collateral.h"
#include "veil/evidence.h"
#include "veil/x509.h"

/* Collateral from up to two test data files (f1 may be NULL). */
static inline veil_collateral *snp_test_coll(const char *f0, const char *f1)
{
	static veil_collateral coll;
	const char *files[2] = {f0, f1};

	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	for (int i = 0; i < 2 && files[i] != NULL; i++) {
		size_t n;
		uint8_t *p = td_read(files[i], &n);
		if (veil_collateral_add(&coll, p, n, files[i]) != VEIL_OK)
			harness_fail(__FILE__, __LINE__, "veil_collateral_add");
		free(p);
	}
	return &coll;
}

/* Verifies buf with the given collateral at `at`; frees the evidence unless
 * ev_out is given. */
static inline veil_err snp_test_verify_buf(const uint8_t *buf, size_t len,
					   const veil_collateral *coll, const char *at,
					   const char *product, veil_verifier *verifier,
					   veil_checks *checks, void **ev_out)
{
	veil_verify_ctx ctx = {
	    .at = td_time(at),
	    .collateral = coll,
	    .verifier = verifier,
	    .product = product,
	};

	veil_checks_init(checks);
	veil_err_clear();
	return veil_evidence_verify(&veil_snp_format, buf, len, &ctx, NULL, 0, checks, ev_out);
}

static inline veil_err snp_test_verify(const char *report, const char *vek, const char *at,
				       const char *product, veil_checks *checks)
{
	size_t n;
	uint8_t *p = td_read(report, &n);
	veil_err err = snp_test_verify_buf(p, n, vek ? snp_test_coll(vek, NULL) : NULL, at, product,
					   NULL, checks, NULL);

	free(p);
	return err;
}

/* True when the named check was recorded and failed. */
static inline bool snp_check_failed(const veil_checks *c, const char *name)
{
	const veil_check *k = veil_checks_find(c, name);

	return k != NULL && !k->ok;
}

static inline bool snp_check_passed(const veil_checks *c, const char *name)
{
	const veil_check *k = veil_checks_find(c, name);

	return k != NULL && k->ok;
}

static inline void snp_print_checks(const veil_checks *c)
{
	for (size_t i = 0; i < c->count; i++)
		fprintf(stderr, "    %s %s: %s\n", c->item[i].ok ? "ok  " : "FAIL", c->item[i].name,
			c->item[i].detail);
}

static inline X509 *snp_test_cert(const char *path)
{
	size_t n;
	uint8_t *p = td_read(path, &n);
	STACK_OF(X509) *certs = NULL;
	X509 *c = NULL;

	if (veil_certs_parse(p, n, &certs) == VEIL_OK) {
		c = sk_X509_shift(certs);
		sk_X509_pop_free(certs, X509_free);
	}
	free(p);
	return c;
}

#endif

/*
 * test_tdx_collateral_util.h - helpers shared by the TDX collateral tests
 * (header-only, static): test_tdx_collateral.c (loading, signatures, CRLs,
 * windows, parsers) and test_tdx_tcbstatus.c (Intel's TCB status algorithm).
 *
 * Names the real collateral sets in testdata/tdx (which files go together,
 * the time inside each set's window and its FMSPC, from SOURCES.md), and
 * fills one collateral set from test data files, whole or with one edit, so
 * each test can load it through tdx_collateral_load at a chosen time.
 */
#ifndef VEIL_TEST_TDX_COLLATERAL_UTIL_H
#define VEIL_TEST_TDX_COLLATERAL_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_collateral.h"
#include "harness.h"
#include "veil/collateral.h"

/* Folder names inside testdata. */
#define GO  "tdx/go-tdx-guest/"
#define TR  "tdx/trustee/"
#define PH  "tdx/phala-dcap-qvl/"
#define PHD "tdx/phala-dcap-qvl/derived/"
#define QVL "tdx/dcap-qvl-sample/"

/* Collateral sets (SOURCES.md says which files go together). */
static const char *const go_set[] = {
    GO "sample_tcbInfo_response",
    GO "sample_qeIdentity_response",
    GO "tcbinfo_issuer_chain.DERIVED.pem",
    GO "pckcrl",
    GO "pckcrl_issuer_chain.DERIVED.pem",
    GO "rootcrl.der",
    NULL,
};
static const char *const trustee_set[] = {
    TR "tcbInfo.json",
    TR "enclaveIdentity.json",
    PHD "tcb_signing_chain_2025-2032.DERIVED.pem",
    PHD "tdx_quote.root_ca_crl.DERIVED.der",
    NULL,
};
static const char *const v5_set[] = {
    GO "sample_tcbinfo_response_v5",
    PHD "tdx_quote_outdated.qeIdentity.DERIVED.json",
    PHD "tcb_signing_chain_2025-2032.DERIVED.pem",
    PHD "tdx_quote_outdated.pck_crl_platform.DERIVED.der",
    GO "pckcrl_issuer_chain.DERIVED.pem",
    NULL,
};
static const char *const phala_derived_set[] = {
    PHD "tdx_quote.tcbInfo.DERIVED.json",
    PHD "tdx_quote.qeIdentity.DERIVED.json",
    PHD "tcb_signing_chain_2025-2032.DERIVED.pem",
    PHD "tdx_quote.pck_crl_platform.DERIVED.der",
    PHD "tdx_quote.root_ca_crl.DERIVED.der",
    GO "pckcrl_issuer_chain.DERIVED.pem",
    NULL,
};

#define GO_TIME             "2023-07-01T01:00:00Z"
#define TRUSTEE_TIME        "2025-11-01T00:00:00Z"
#define V5_TIME             "2026-02-20T00:00:00Z"
#define PHALA_TIME          "2025-07-19T10:00:34Z"
#define PHALA_OUTDATED_TIME "2026-03-20T10:41:14Z"

static const uint8_t fmspc_go[6] = {0x50, 0x80, 0x6f, 0x00, 0x00, 0x00};
static const uint8_t fmspc_v5[6] = {0x90, 0xc0, 0x6f, 0x00, 0x00, 0x00};
static const uint8_t fmspc_tr[6] = {0x00, 0xa0, 0x6d, 0x08, 0x00, 0x00};
static const uint8_t fmspc_ph[6] = {0xb0, 0xc0, 0x6f, 0x00, 0x00, 0x00};

static veil_collateral coll;

static inline void coll_files(const char *const *files)
{
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	for (size_t i = 0; files[i] != NULL; i++)
		if (veil_collateral_add_file(&coll, td_path(files[i])) != VEIL_OK) {
			fprintf(stderr, "cannot read %s: %s\n", files[i], veil_err_detail());
			exit(2);
		}
}

static inline void coll_add(const uint8_t *p, size_t n, const char *label)
{
	if (veil_collateral_add(&coll, p, n, label) != VEIL_OK)
		exit(2);
}

/* Adds a test data file with the first occurrence of `from` replaced by
 * `to` (NULL: unchanged). Fails the binary if `from` is absent. */
static inline void coll_add_edited(const char *rel, const char *from, const char *to)
{
	size_t len;
	uint8_t *buf = td_read(rel, &len);
	if (from == NULL) {
		coll_add(buf, len, rel);
		free(buf);
		return;
	}
	uint8_t *hit = memmem(buf, len, from, strlen(from));
	if (hit == NULL) {
		fprintf(stderr, "%s: \"%s\" not found\n", rel, from);
		exit(2);
	}
	size_t pre = (size_t)(hit - buf), fl = strlen(from), tl = strlen(to);
	uint8_t *out = malloc(len - fl + tl);
	memcpy(out, buf, pre);
	memcpy(out + pre, to, tl);
	memcpy(out + pre + tl, hit + fl, len - pre - fl);
	coll_add(out, len - fl + tl, rel);
	free(out);
	free(buf);
}

static inline veil_err load_at(const uint8_t fmspc[6], const char *when, veil_checks *checks,
			       tdx_collateral **out)
{
	return tdx_collateral_load(&coll, tdx_intel_root(), fmspc, td_time(when), checks, out);
}

/* Loads and frees; returns the error. */
static inline veil_err try_load(const uint8_t fmspc[6], const char *when)
{
	tdx_collateral *col = NULL;
	veil_err err = load_at(fmspc, when, NULL, &col);
	if (err == VEIL_OK && col == NULL)
		return VEIL_E_USAGE;
	tdx_collateral_free(col);
	return err;
}

static inline bool detail_has(const char *s)
{
	if (strstr(veil_err_detail(), s) != NULL)
		return true;
	fprintf(stderr, "    detail \"%s\" lacks \"%s\"\n", veil_err_detail(), s);
	return false;
}

#endif

/*
 * tdx_tcbinfo.h - Intel TDX TCB Info (id "TDX", version 3), parsed.
 *
 * Intel PCS serves, per FMSPC, a signed JSON document listing TCB levels
 * (16 SGX component SVNs, PCESVN, 16 TDX component SVNs, a status and
 * advisories), the expected TDX module signer (tdxModule) and, since 2023,
 * per-major-version TDX module identities (tdxModuleIdentities). This parser
 * turns the exact signed bytes of the tcbInfo object into that structure,
 * capping every count with limits.h, and is pure: no signature, no clock.
 * The signature and time checks are in tdx_collateral.c, the TCB status
 * algorithm in tdx_tcbstatus.c.
 *
 * Also the JSON field helpers shared with tdx_qeidentity.c.
 */
#ifndef VEIL_TDX_TCBINFO_H
#define VEIL_TDX_TCBINFO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/tdx/tdx_collateral.h"
#include "veil/error.h"

/* Intel PCS API v4, TDX TCB Info v3: tcbLevels[].tcb. */
typedef struct tdx_tcb_level {
	uint8_t sgx_svn[16]; /* sgxtcbcomponents[i].svn */
	uint16_t pcesvn;
	uint8_t tdx_svn[16]; /* tdxtcbcomponents[i].svn */
	int64_t tcb_date;
	tdx_tcb_status status;
	const json_t *advisories; /* advisoryIDs (strings), borrowed from doc; NULL if none */
} tdx_tcb_level;

/* tdxModuleIdentities[].tcbLevels[] */
typedef struct tdx_module_level {
	uint16_t isvsvn;
	int64_t tcb_date;
	tdx_tcb_status status; /* UpToDate, OutOfDate or Revoked only */
	const json_t *advisories;
} tdx_module_level;

typedef struct tdx_module_identity {
	char id[8]; /* "TDX_" and two hex digits: the module major version */
	uint8_t mrsigner[48];
	uint8_t attributes[8]; /* in report byte order */
	uint8_t attributes_mask[8];
	size_t level_count;
	tdx_module_level *level;
} tdx_module_identity;

typedef struct tdx_tcbinfo {
	json_t *doc; /* the parsed signed object; owns what advisories point into */
	int64_t issue_date;
	int64_t next_update;
	int64_t eval_number;
	uint8_t fmspc[6];
	uint8_t pceid[2];
	/* tdxModule: the signer of modules with TEE_TCB_SVN[1] == 0. */
	uint8_t module_mrsigner[48];
	uint8_t module_attributes[8];
	uint8_t module_attributes_mask[8];
	bool has_module_identities;
	size_t module_count;
	tdx_module_identity *module;
	size_t level_count;
	tdx_tcb_level *level;
} tdx_tcbinfo;

/*
 * Parses the tcbInfo object (exactly the bytes Intel signed). Rejects an id
 * other than "TDX", a version other than 3, tcbType other than 0, component
 * arrays that are not 16 long, unknown statuses, and counts over the caps.
 */
VEIL_MUST_CHECK veil_err tdx_tcbinfo_parse(const uint8_t *body, size_t len, tdx_tcbinfo **out);
void tdx_tcbinfo_free(tdx_tcbinfo *t);

/* Shared JSON field readers; each failure names the key. */
/* Hex string of exactly n bytes. */
VEIL_MUST_CHECK veil_err tdx_json_hex(const json_t *obj, const char *key, uint8_t *out, size_t n);
/* RFC 3339 date string as Unix seconds. */
VEIL_MUST_CHECK veil_err tdx_json_time(const json_t *obj, const char *key, int64_t *out);
/* Optional "advisoryIDs": an array of at most VEIL_TDX_ADVISORIES_MAX strings
 * of at most 31 characters; *out is NULL when absent. */
VEIL_MUST_CHECK veil_err tdx_json_advisories(const json_t *obj, const json_t **out);
/* "tcbStatus" as one of Intel's seven statuses. */
VEIL_MUST_CHECK veil_err tdx_json_status(const json_t *obj, tdx_tcb_status *out);

/* The parsed documents of verified collateral (tdx_collateral.c); borrowed. */
const tdx_tcbinfo *tdx_collateral_tcbinfo(const tdx_collateral *col);

#endif

/*
 * appraisal_int.h - what the appraisal files share: the parsed policy, the
 * reference-value lookup, and the per-submodule trustworthiness vector
 * that every rule raises.
 *
 * The policy is parsed once (policy.c, policy_gpu.c) into plain structs so
 * that appraisal never touches the policy JSON again. A submodule
 * (appr_sub) is one attested part - cpu0 or a GPU - with its AR4SI vector
 * and its reasons; rules call appr_raise(), which keeps the worst value per
 * claim (draft-ietf-rats-ar4si, "Assigning a Trustworthiness Claim value":
 * contraindicated before
 * warning before affirming) and records why for every value that is not
 * affirming.
 */
#ifndef VEIL_APPRAISAL_INT_H
#define VEIL_APPRAISAL_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "veil/appraisal.h"
#include "veil/limits.h"

/* ---- AR4SI (draft-ietf-rats-ar4si, "Specific Claims") ---------------------------------------------- */

typedef enum ar_claim {
	AR_INSTANCE = 0, /* instance-identity */
	AR_CONFIG,       /* configuration */
	AR_EXECUTABLES,  /* executables */
	AR_FILE_SYSTEM,  /* file-system */
	AR_HARDWARE,     /* hardware */
	AR_RUNTIME,      /* runtime-opaque */
	AR_STORAGE,      /* storage-opaque */
	AR_SOURCED,      /* sourced-data */
	AR_COUNT_
} ar_claim;

/* Values Veil assigns, as AR4SI's "Specific Claims" define them. */
enum {
	AR_MALFUNCTION = -1,    /* verifier malfunction (none tier) */
	AR_NO_CLAIM = 0,        /* no claim (none tier) */
	AR_AFFIRMED = 2,        /* each claim's first affirming value */
	AR_APPROVED_BOOT = 3,   /* executables: approved boot-time */
	AR_WARNING = 32,        /* each claim's first warning value */
	AR_UNRECOGNIZED = 33,   /* executables: unrecognized run-time */
	AR_CONTRA = 96,         /* each claim's first contraindicated value */
	AR_NOT_RECOGNIZED = 97, /* instance-identity / hardware: not recognized */
	AR_CRYPTO_FAILED = 99,  /* cryptographic validation failed */
};

const char *ar_claim_name(ar_claim c);
/* 0 none, 1 affirming, 2 warning, 3 contraindicated (AR4SI "Enumeration Encoding"). */
int ar_tier(int value);
const char *ar_tier_name(int tier);

/* ---- the parsed policy ------------------------------------------------------------------------ */

/* SNP TCB components, in the order of *_tcb_decoded. */
enum { TCB_BOOTLOADER, TCB_TEE, TCB_SNP, TCB_MICROCODE, TCB_FMC, TCB_COMPONENTS_ };
extern const char *const policy_tcb_names[TCB_COMPONENTS_];

typedef struct policy_tcb {
	bool present[TCB_COMPONENTS_];
	int64_t min[TCB_COMPONENTS_];
} policy_tcb;

typedef struct policy_match {
	char claim[VEIL_POLICY_NAME_MAX + 1];
	char set[VEIL_POLICY_NAME_MAX + 1];
} policy_match;

typedef struct policy_matches {
	policy_match rule[VEIL_POLICY_MATCH_MAX];
	size_t count;
} policy_matches;

/* TDX TCB statuses a policy may accept (bit i = tdx_statuses[i]). */
extern const char *const policy_tdx_statuses[];
extern const size_t policy_tdx_status_count;
/* SNP products a policy may name (bit i = policy_snp_products[i]). */
extern const char *const policy_snp_products[];
extern const size_t policy_snp_product_count;

typedef enum policy_unknown { UNKNOWN_DENY = 0, UNKNOWN_WARN, UNKNOWN_ALLOW } policy_unknown;

#define POLICY_VERSION_PARTS_MAX 8

struct veil_policy {
	char id[VEIL_POLICY_NAME_MAX + 1];
	bool allow_debug;
	struct {
		bool on;
		policy_tcb min_tcb;
		uint32_t products; /* 0: any */
		uint32_t vmpls;    /* bit n: VMPL n accepted */
		int64_t min_guest_svn;
		policy_matches match;
	} snp;
	struct {
		bool on;
		uint32_t statuses;
		policy_matches match;
	} tdx;
	/* CoCo's "sample" TEE: no signature at all, so it is accepted only
	 * where a policy names it, and always insecure. */
	struct {
		bool on;
	} sample;
	struct {
		bool on;
		uint8_t roots[VEIL_POLICY_LIST_MAX][32];
		size_t root_count;
		policy_tcb min_tcb;
		int64_t max_age;
		policy_matches match;
	} sim;
	struct {
		bool on;
		bool required;
		int64_t min_count;
		bool require_cc_mode, allow_devtools, require_ready, require_rim_match;
		bool allow_without_cpu;
		uint64_t min_driver[POLICY_VERSION_PARTS_MAX];
		size_t min_driver_parts; /* 0: no minimum */
		char min_driver_text[64];
		policy_unknown revocation_unknown;
		policy_matches match;
	} gpu;
};

/* policy.c helpers shared with policy_gpu.c. */
VEIL_MUST_CHECK veil_err policy_only_members(const json_t *obj, const char *where,
					     const char *const *allowed);
VEIL_MUST_CHECK veil_err policy_get_bool(const json_t *obj, const char *where, const char *key,
					 bool *out);
VEIL_MUST_CHECK veil_err policy_matches_parse(const json_t *obj, const char *where,
					      policy_matches *out);
VEIL_MUST_CHECK veil_err policy_gpu_parse(const json_t *obj, veil_policy *p);
/* Dotted decimal version ("550.90.07"): 1..POLICY_VERSION_PARTS_MAX parts
 * of 1..9 digits. */
VEIL_MUST_CHECK veil_err policy_version_parse(const char *s, uint64_t *parts, size_t *count);

/* ---- reference values ------------------------------------------------------------------------- */

typedef enum rv_outcome { RV_MATCH, RV_MISMATCH, RV_NO_SET, RV_EXPIRED } rv_outcome;
/* Looks value up in set `set` at time now; why gets a sentence for any
 * outcome but RV_MATCH. rv may be NULL. */
rv_outcome refvals_check(const veil_refvals *rv, const char *set, const char *value, int64_t now,
			 char *why, size_t cap);

/* ---- submodules and the appraisal run --------------------------------------------------------- */

#define APPR_SUBS_MAX 34

typedef struct appr_sub {
	char name[24];        /* cpu0, gpu0, ... */
	char source[24];      /* its name in the verification result */
	const char *tee;      /* borrowed from the result */
	const json_t *part;   /* the part's result object (borrowed) */
	const json_t *claims; /* borrowed; an empty object when absent */
	bool gpu;             /* in a GPU position */
	bool verified;        /* the part verified and no check failed */
	bool failed_hard;     /* a failed check that no policy tolerates */
	bool insecure;
	int tv[AR_COUNT_];
	json_t *reasons; /* array of {claim, value, why} */
	size_t reason_count;
	bool reasons_dropped;
	veil_err err; /* sticky out-of-memory while recording */
} appr_sub;

typedef struct appr_run {
	const veil_policy *p;
	const veil_refvals *rv;
	int64_t now;
	const json_t *container; /* a bundle's or GPU list's top level, or NULL */
	const json_t *overall;   /* the result whose "verified" covers every part */
	json_t *empty;           /* claims of a part that has none */
	appr_sub sub[APPR_SUBS_MAX];
	size_t count;
} appr_run;

/* Raises claim c of s to value v when v is worse (by tier) than what it
 * holds, and records a reason for any value outside the affirming tier. */
void appr_raise(appr_sub *s, ar_claim c, int v, const char *fmt, ...) VEIL_PRINTF(4, 5);
/* The same, and records the reason whatever the value: for what the policy
 * accepts although it departs from the safe default (debug allowed, an
 * accepted TCB status that is not UpToDate), so the EAR still says so. */
void appr_note(appr_sub *s, ar_claim c, int v, const char *fmt, ...) VEIL_PRINTF(4, 5);
/* The submodule's status: the worst tier of its vector. */
int appr_sub_tier(const appr_sub *s);

/* appraise_checks.c: failed verification checks as claims. */
void appr_checks_part(const appr_run *run, appr_sub *s, const json_t *checks);
void appr_checks_top(const appr_run *run, appr_sub *subs, size_t count, const json_t *checks);

/* appraise_cpu.c and appraise_gpu.c: whether the policy accepts the TEE at
 * all (a reason when not; run whether or not the part verified), and the
 * rules of each TEE (run only on claims that can be trusted). */
bool appr_snp_accepted(const appr_run *run, appr_sub *s);
bool appr_tdx_accepted(const appr_run *run, appr_sub *s);
bool appr_sim_accepted(const appr_run *run, appr_sub *s);
bool appr_sample_accepted(const appr_run *run, appr_sub *s);
void appr_sample(const appr_run *run, appr_sub *s);
bool appr_nvidia_accepted(const appr_run *run, appr_sub *s);
bool appr_sim_gpu_accepted(const appr_run *run, appr_sub *s);
void appr_snp(const appr_run *run, appr_sub *s);
void appr_tdx(const appr_run *run, appr_sub *s);
void appr_sim(const appr_run *run, appr_sub *s);
void appr_nvidia(const appr_run *run, appr_sub *s);
void appr_sim_gpu(const appr_run *run, appr_sub *s);

/* Shared rules (appraise_cpu.c). */
void appr_debug(const appr_run *run, appr_sub *s);
void appr_matches(const appr_run *run, appr_sub *s, const policy_matches *m, const char *section);
bool appr_sim_root_trusted(const appr_run *run, appr_sub *s);
/* Reads an integer claim; false (and a reason on claim c) when it is absent or not an integer. */
bool appr_claim_int(appr_sub *s, const json_t *obj, const char *key, const char *label, ar_claim c,
		    int64_t *out);

#endif

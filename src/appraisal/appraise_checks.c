/*
 * appraise_checks.c - failed verification checks as trustworthiness claims.
 *
 * Verification records every check it made (check.h). Appraisal turns each
 * failed one into the AR4SI claim it bears on, with the check's detail as
 * the reason, so a relying party sees "instance-identity 99: report.signature
 * failed: ..." instead of a bare "not verified". One table, first match
 * wins; patterns are exact names, "*.suffix" or "prefix.*". Every failure is
 * contraindicated (evidence that did not verify is never acceptable), except
 * the RIM comparison failures a policy marks as tolerable
 * (gpu.require_rim_match false), which are a warning - still never
 * affirming. A check no row names (a format added later) falls to the last
 * row: cryptographic validation failed. The table is documented in
 * docs/appraisal.md; keep the two in step.
 */
#include <string.h>

#include "appraisal/appraisal_int.h"

typedef struct check_rule {
	const char *pattern;
	ar_claim claim;
	int value;
	int also_claim; /* -1: none */
	int also_value;
	bool rim_soft; /* a warning when the policy does not require RIM matches */
	bool summary;  /* restates a part's verdict: adds nothing to a part that has reasons */
} check_rule;

static const check_rule rules[] = {
    /* Bindings and nonces: the evidence is genuine but not for this session. */
    {"report_data", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    {"declared_nonce", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    /* A container's verdict on a part ("binding.primary": the CPU report
     * did not verify; "binding.device", "device": a GPU did not); each part's
     * own checks (report_data among them) say why. */
    {"binding.*", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, true},
    {"device", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, true},
    {"hcl.runtime_data", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    {"qe_report.binding", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    /* One device counted twice: an instance that is not what it claims. */
    {"devices.distinct", AR_INSTANCE, AR_CONTRA, -1, 0, false, false},
    /* The signing key does not belong to the hardware it names. */
    {"vek.chip_id", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    {"vek.tcb", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    {"gpu.fwid", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    /* Platform identity and TCB: hardware not recognized, or revoked. */
    {"vek.found", AR_HARDWARE, AR_NOT_RECOGNIZED, AR_INSTANCE, AR_NOT_RECOGNIZED, false, false},
    {"product", AR_HARDWARE, AR_NOT_RECOGNIZED, -1, 0, false, false},
    {"pck.extensions", AR_HARDWARE, AR_NOT_RECOGNIZED, -1, 0, false, false},
    {"qe_report.identity", AR_HARDWARE, AR_NOT_RECOGNIZED, -1, 0, false, false},
    {"tcb.status", AR_HARDWARE, AR_CONTRA, -1, 0, false, false},
    {"collateral", AR_HARDWARE, AR_NOT_RECOGNIZED, -1, 0, false, false},
    {"collateral.*", AR_HARDWARE, AR_NOT_RECOGNIZED, -1, 0, false, false},
    /* A sim report under a root the caller does not trust. */
    {"sim.root", AR_HARDWARE, AR_NOT_RECOGNIZED, AR_INSTANCE, AR_NOT_RECOGNIZED, false, false},
    {"sim.platform_id", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    /* GPU reference measurements (NVIDIA RIMs). */
    {"driver_rim", AR_EXECUTABLES, AR_CONTRA, -1, 0, true, false},
    {"vbios_rim", AR_EXECUTABLES, AR_CONTRA, -1, 0, true, false},
    {"*.measurements", AR_EXECUTABLES, AR_CONTRA, -1, 0, true, false},
    {"rims.no_conflict", AR_EXECUTABLES, AR_CONTRA, -1, 0, false, false},
    {"driver_rim.revocation", AR_EXECUTABLES, AR_CONTRA, -1, 0, false, false},
    {"vbios_rim.revocation", AR_EXECUTABLES, AR_CONTRA, -1, 0, false, false},
    {"driver_rim.*", AR_EXECUTABLES, AR_CRYPTO_FAILED, -1, 0, false, false},
    {"vbios_rim.*", AR_EXECUTABLES, AR_CRYPTO_FAILED, -1, 0, false, false},
    /* A device key revoked (or of unknown status where that is denied). */
    {"*.revocation", AR_INSTANCE, AR_CONTRA, -1, 0, false, false},
    /* Certificate chains to the vendor root: not recognized. */
    {"*.chain", AR_HARDWARE, AR_NOT_RECOGNIZED, AR_INSTANCE, AR_NOT_RECOGNIZED, false, false},
    {"*.signature", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    /* Evidence Veil could not read. */
    {"parse", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    {"*.parse", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
    /* Veil could not extract the claims: its own malfunction. */
    {"claims", AR_INSTANCE, AR_MALFUNCTION, -1, 0, false, false},
    /* Anything else, including "checks" (the list overflowed). */
    {"*", AR_INSTANCE, AR_CRYPTO_FAILED, -1, 0, false, false},
};

static bool pattern_match(const char *pattern, const char *name)
{
	size_t pn = strlen(pattern), nn = strlen(name);

	if (strcmp(pattern, "*") == 0)
		return true;
	if (pattern[0] == '*') /* "*.suffix" */
		return nn >= pn - 1 && strcmp(name + nn - (pn - 1), pattern + 1) == 0;
	if (pn >= 2 && pattern[pn - 1] == '*') /* "prefix.*" */
		return nn >= pn - 1 && strncmp(name, pattern, pn - 1) == 0;
	return strcmp(pattern, name) == 0;
}

static const check_rule *rule_for(const char *name)
{
	const check_rule *r = rules;

	while (!pattern_match(r->pattern, name))
		r++; /* the last row matches everything */
	return r;
}

static void check_failed(const appr_run *run, appr_sub *s, const char *name, const char *detail)
{
	const check_rule *r = rule_for(name);
	int v = r->value;
	if (r->rim_soft && run->p->gpu.on && !run->p->gpu.require_rim_match)
		v = AR_UNRECOGNIZED;
	else
		s->failed_hard = true;
	appr_raise(s, r->claim, v, "check %.64s failed: %s", name, detail);
	if (r->also_claim >= 0)
		appr_raise(s, (ar_claim)r->also_claim, r->also_value, "check %.64s failed: %s",
			   name, detail);
}

static const char *detail_of(const json_t *c)
{
	const char *d = json_string_value(json_object_get(c, "detail"));
	return d != NULL ? d : "";
}

void appr_checks_part(const appr_run *run, appr_sub *s, const json_t *checks)
{
	size_t i;
	json_t *c;

	json_array_foreach(checks, i, c)
	{
		if (json_is_true(json_object_get(c, "ok")))
			continue;
		s->verified = false;
		check_failed(run, s, json_string_value(json_object_get(c, "name")), detail_of(c));
	}
}

/* Whether the detail names submodule `name` as a whole word ("gpu1: ...",
 * "GPU-0 verified", "gpu0 and gpu1 are the same device"). */
static bool detail_names(const char *detail, const char *name)
{
	size_t n = strlen(name);

	for (const char *at = strstr(detail, name); at != NULL; at = strstr(at + 1, name)) {
		char before = at == detail ? ' ' : at[-1], after = at[n];
		bool word =
		    !((before >= '0' && before <= '9') || (before >= 'a' && before <= 'z') ||
		      (before >= 'A' && before <= 'Z') || before == '-') &&
		    !((after >= '0' && after <= '9') || (after >= 'a' && after <= 'z') ||
		      (after >= 'A' && after <= 'Z'));
		if (word)
			return true;
	}
	return false;
}

/* A container's failed check on one part. */
static void top_failed(const appr_run *run, appr_sub *s, const char *name, const char *detail)
{
	/* A verdict on a part its own checks already refused adds nothing. */
	if (rule_for(name)->summary && !s->verified)
		return;
	s->verified = false;
	check_failed(run, s, name, detail);
}

/*
 * The checks of a container result (a bundle's bindings, a GPU list's
 * nonces) bear on the parts they name; a failure that names none bears on
 * the CPU part, or on every part when there is none.
 */
void appr_checks_top(const appr_run *run, appr_sub *subs, size_t count, const json_t *checks)
{
	size_t i;
	json_t *c;

	json_array_foreach(checks, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *detail = detail_of(c);
		appr_sub *cpu = NULL;
		bool named = false;

		if (json_is_true(json_object_get(c, "ok")))
			continue;
		for (size_t k = 0; k < count; k++) {
			if (!subs[k].gpu)
				cpu = &subs[k];
			if (detail_names(detail, subs[k].source)) {
				named = true;
				top_failed(run, &subs[k], name, detail);
			}
		}
		if (named)
			continue;
		if (cpu != NULL)
			top_failed(run, cpu, name, detail);
		else
			for (size_t k = 0; k < count; k++)
				top_failed(run, &subs[k], name, detail);
	}
}

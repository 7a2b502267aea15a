/*
 * appraise_cpu.c - the policy rules of the CPU TEEs (SEV-SNP, TDX, sim) and
 * the rules every TEE shares (debug, reference-value matches).
 *
 * Each rule reads documented claims (docs/evidence-snp.md,
 * docs/evidence-tdx.md, the sim's claims) and raises the AR4SI claim it
 * bears on. A claim a rule needs that is absent or of the wrong type fails
 * the rule: appraisal never guesses. These rules only run on parts that
 * verified (appraise.c), so every claim they read is signed.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "appraisal/appraisal_int.h"
#include "veil/codec.h"
#include "veil/secret.h"

bool appr_claim_int(appr_sub *s, const json_t *obj, const char *key, const char *label, ar_claim c,
		    int64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v)) {
		appr_raise(s, c, AR_CONTRA, "claim %s is %s: the policy cannot be checked", label,
			   v == NULL ? "absent" : "not an integer");
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

/* SEV-SNP POLICY.DEBUG (ABI 1.57 Table 9), TDX TD_ATTRIBUTES.DEBUG, the sim's
 * debug: with debug on the host can read and change the guest's memory. */
void appr_debug(const appr_run *run, appr_sub *s)
{
	json_t *v = json_object_get(s->claims, "debug");

	if (!json_is_boolean(v))
		appr_raise(s, AR_CONFIG, AR_CONTRA,
			   "claim debug is %s: cannot tell whether the guest is debuggable",
			   v == NULL ? "absent" : "not a boolean");
	else if (json_is_false(v))
		appr_raise(s, AR_CONFIG, AR_AFFIRMED, "debug is off");
	else if (!run->p->allow_debug)
		appr_raise(s, AR_CONFIG, AR_CONTRA,
			   "debug is on and the policy forbids debug (allow_debug is false): the "
			   "host can read the guest's memory");
	else
		/* AR4SI configuration 2: a known configuration the policy approves. */
		appr_note(s, AR_CONFIG, AR_AFFIRMED,
			  "debug is on, which the policy allows (allow_debug): the host can read "
			  "the guest's memory");
}

/* Which AR4SI claim a reference-value match speaks for, and its value when
 * the claim is in the set. Claims not listed are configuration. */
static const struct {
	const char *claim;
	ar_claim c;
	int ok;
} match_kinds[] = {
    {"measurement", AR_EXECUTABLES, AR_APPROVED_BOOT},
    {"mr_td", AR_EXECUTABLES, AR_APPROVED_BOOT},
    {"rtmr0", AR_EXECUTABLES, AR_APPROVED_BOOT},
    {"rtmr1", AR_EXECUTABLES, AR_AFFIRMED},
    {"rtmr2", AR_EXECUTABLES, AR_AFFIRMED},
    {"rtmr3", AR_EXECUTABLES, AR_AFFIRMED},
    {"image_id", AR_EXECUTABLES, AR_AFFIRMED},
    {"family_id", AR_EXECUTABLES, AR_AFFIRMED},
    {"driver_version", AR_EXECUTABLES, AR_AFFIRMED},
    {"chip_id", AR_INSTANCE, AR_AFFIRMED},
    {"ueid", AR_INSTANCE, AR_AFFIRMED},
    {"platform_id", AR_INSTANCE, AR_AFFIRMED},
    {"mr_seam", AR_HARDWARE, AR_AFFIRMED},
    {"mr_signer_seam", AR_HARDWARE, AR_AFFIRMED},
    {"tee_tcb_svn", AR_HARDWARE, AR_AFFIRMED},
    {"fmspc", AR_HARDWARE, AR_AFFIRMED},
    {"product", AR_HARDWARE, AR_AFFIRMED},
    {"current_fw", AR_HARDWARE, AR_AFFIRMED},
    {"committed_fw", AR_HARDWARE, AR_AFFIRMED},
    {"vbios_version", AR_HARDWARE, AR_AFFIRMED},
    {"chip", AR_HARDWARE, AR_AFFIRMED},
    {"hwmodel", AR_HARDWARE, AR_AFFIRMED},
    {"arch", AR_HARDWARE, AR_AFFIRMED},
    {"sim_root", AR_HARDWARE, AR_AFFIRMED},
};

void appr_matches(const appr_run *run, appr_sub *s, const policy_matches *m, const char *section)
{
	for (size_t i = 0; i < m->count; i++) {
		const policy_match *r = &m->rule[i];
		json_t *v = json_object_get(s->claims, r->claim);
		ar_claim c = AR_CONFIG;
		int ok = AR_AFFIRMED, bad;
		char num[24], why[384];
		const char *value = json_string_value(v);

		for (size_t k = 0; k < sizeof match_kinds / sizeof match_kinds[0]; k++)
			if (strcmp(match_kinds[k].claim, r->claim) == 0) {
				c = match_kinds[k].c;
				ok = match_kinds[k].ok;
			}
		/* instance-identity 97: an instance the verifier should know but does not. */
		bad = c == AR_INSTANCE ? AR_NOT_RECOGNIZED : AR_CONTRA;
		if (json_is_integer(v)) {
			snprintf(num, sizeof num, "%" PRId64, (int64_t)json_integer_value(v));
			value = num;
		}
		if (value == NULL) {
			appr_raise(
			    s, c, bad,
			    "%s.match: claim %s is %s, so it cannot be in reference-value set "
			    "\"%s\"",
			    section, r->claim, v == NULL ? "absent" : "not a string", r->set);
			continue;
		}
		if (refvals_check(run->rv, r->set, value, run->now, why, sizeof why) == RV_MATCH)
			appr_raise(s, c, ok, "%s in %s", r->claim, r->set);
		else
			appr_raise(s, c, bad, "%s.match: %s %s", section, r->claim, why);
	}
}

/* Each component the policy names must be at least its minimum. fmc exists
 * on Turin and later only; a minimum for it does not apply to products
 * without it. */
static void tcb_check(appr_sub *s, const char *key, const char *label, const policy_tcb *min)
{
	json_t *t = json_object_get(s->claims, key);
	bool any = false;

	for (size_t i = 0; i < TCB_COMPONENTS_; i++)
		any = any || min->present[i];
	if (!any)
		return;
	if (!json_is_object(t)) {
		appr_raise(s, AR_HARDWARE, AR_CONTRA,
			   "claim %s is absent: the policy's min_tcb cannot be checked", key);
		return;
	}
	for (size_t i = 0; i < TCB_COMPONENTS_; i++) {
		json_t *v = json_object_get(t, policy_tcb_names[i]);
		if (!min->present[i] || (i == TCB_FMC && v == NULL))
			continue;
		if (!json_is_integer(v))
			appr_raise(s, AR_HARDWARE, AR_CONTRA,
				   "%s has no %s component: the policy's min_tcb cannot be checked",
				   label, policy_tcb_names[i]);
		else if (json_integer_value(v) < min->min[i])
			appr_raise(s, AR_HARDWARE, AR_CONTRA,
				   "%s %s %" PRId64 " is below the policy's minimum %" PRId64,
				   label, policy_tcb_names[i], (int64_t)json_integer_value(v),
				   min->min[i]);
	}
}

static bool accepted(bool on, appr_sub *s, const char *member)
{
	if (!on)
		appr_raise(s, AR_HARDWARE, AR_CONTRA,
			   "the policy does not accept %s evidence (it has no \"%s\" member)",
			   s->tee, member);
	return on;
}

bool appr_snp_accepted(const appr_run *run, appr_sub *s)
{
	return accepted(run->p->snp.on, s, "snp");
}

bool appr_tdx_accepted(const appr_run *run, appr_sub *s)
{
	return accepted(run->p->tdx.on, s, "tdx");
}

bool appr_sim_accepted(const appr_run *run, appr_sub *s)
{
	return accepted(run->p->sim.on, s, "sim");
}

bool appr_sample_accepted(const appr_run *run, appr_sub *s)
{
	return accepted(run->p->sample.on, s, "sample");
}

void appr_sample(const appr_run *run, appr_sub *s)
{
	(void)run;
	/* Nothing signs sample evidence: what verification showed is only
	 * that it carries the session's binding. The policy named the TEE, so
	 * it is affirmable, and always insecure (appraise.c). */
	appr_raise(s, AR_INSTANCE, AR_AFFIRMED, "sample evidence bound to this session");
	appr_raise(s, AR_HARDWARE, AR_AFFIRMED, "the sample TEE, which the policy names");
}

void appr_snp(const appr_run *run, appr_sub *s)
{
	const veil_policy *p = run->p;
	const char *product = json_string_value(json_object_get(s->claims, "product"));
	int64_t vmpl, svn;

	appr_raise(s, AR_INSTANCE, AR_AFFIRMED, "signed by a VCEK/VLEK of AMD's chain");
	appr_raise(s, AR_HARDWARE, AR_AFFIRMED, "genuine AMD SEV-SNP");
	appr_raise(s, AR_RUNTIME, AR_AFFIRMED, "SEV-SNP encrypts guest memory");
	appr_debug(run, s);
	/* REPORTED_TCB is what the VCEK is derived from (a forger needs only
	 * that TCB's key); COMMITTED_TCB is the floor firmware cannot roll
	 * back below. Both must meet the minimum. */
	tcb_check(s, "reported_tcb_decoded", "reported_tcb", &p->snp.min_tcb);
	tcb_check(s, "committed_tcb_decoded", "committed_tcb", &p->snp.min_tcb);
	if (p->snp.products != 0) {
		size_t k = 0;
		while (k < policy_snp_product_count &&
		       (product == NULL || strcmp(product, policy_snp_products[k]) != 0))
			k++;
		if (k == policy_snp_product_count || (p->snp.products & (1u << k)) == 0)
			appr_raise(s, AR_HARDWARE, AR_CONTRA,
				   "product %.32s is not among the policy's products",
				   product != NULL ? product : "(absent)");
	}
	if (appr_claim_int(s, s->claims, "vmpl", "vmpl", AR_CONFIG, &vmpl) &&
	    (vmpl < 0 || vmpl > 3 || (p->snp.vmpls & (1u << vmpl)) == 0))
		appr_raise(s, AR_CONFIG, AR_CONTRA,
			   "the report was requested at VMPL %" PRId64
			   ", which the policy's vmpl does not accept",
			   vmpl);
	if (p->snp.min_guest_svn > 0 &&
	    appr_claim_int(s, s->claims, "guest_svn", "guest_svn", AR_EXECUTABLES, &svn) &&
	    svn < p->snp.min_guest_svn)
		appr_raise(s, AR_EXECUTABLES, AR_CONTRA,
			   "guest_svn %" PRId64 " is below the policy's min_guest_svn %" PRId64,
			   svn, p->snp.min_guest_svn);
	appr_matches(run, s, &p->snp.match, "snp");
}

void appr_tdx(const appr_run *run, appr_sub *s)
{
	const veil_policy *p = run->p;
	const char *status = json_string_value(json_object_get(s->claims, "tcb_status"));
	size_t k = 0;

	appr_raise(s, AR_INSTANCE, AR_AFFIRMED, "signed by a quoting enclave of Intel's chain");
	appr_raise(s, AR_HARDWARE, AR_AFFIRMED, "genuine Intel TDX");
	appr_raise(s, AR_RUNTIME, AR_AFFIRMED, "TDX encrypts TD memory");
	appr_debug(run, s);
	while (k < policy_tdx_status_count &&
	       (status == NULL || strcmp(status, policy_tdx_statuses[k]) != 0))
		k++;
	if (k == policy_tdx_status_count || (p->tdx.statuses & (1u << k)) == 0)
		appr_raise(s, AR_HARDWARE, AR_CONTRA,
			   "TCB status %.40s is not among the policy's accepted tcb_status",
			   status != NULL ? status : "(absent)");
	else if (strcmp(status, "Unknown") == 0)
		appr_note(s, AR_HARDWARE, AR_AFFIRMED,
			  "TCB status not evaluated (no Intel TCB Info was supplied); the policy "
			  "accepts that");
	else if (strcmp(status, "UpToDate") != 0)
		appr_note(s, AR_HARDWARE, AR_AFFIRMED,
			  "TCB status %s: the platform needs updates or configuration for known "
			  "vulnerabilities; the policy accepts that",
			  status);
	appr_matches(run, s, &p->tdx.match, "tdx");
}

bool appr_sim_root_trusted(const appr_run *run, appr_sub *s)
{
	const char *hex = json_string_value(json_object_get(s->claims, "sim_root"));
	uint8_t fp[32];
	size_t n = 0;

	if (hex == NULL || strlen(hex) != 64 || veil_hex_decode(hex, 64, fp, 32, &n) != VEIL_OK) {
		veil_err_clear();
		appr_raise(s, AR_HARDWARE, AR_NOT_RECOGNIZED,
			   "claim sim_root is absent or not a SHA-256 fingerprint");
		return false;
	}
	for (size_t i = 0; run->p->sim.on && i < run->p->sim.root_count; i++)
		if (veil_ct_equal(fp, run->p->sim.roots[i], 32))
			return true;
	appr_raise(s, AR_HARDWARE, AR_NOT_RECOGNIZED,
		   "sim root %.64s is not among the policy's sim roots", hex);
	appr_raise(s, AR_INSTANCE, AR_NOT_RECOGNIZED,
		   "signed under sim root %.16s..., which the policy does not trust", hex);
	return false;
}

void appr_sim(const appr_run *run, appr_sub *s)
{
	const veil_policy *p = run->p;
	int64_t at;

	if (!appr_sim_root_trusted(run, s))
		return;
	/* A simulated platform trusted by the policy: affirmable, and always
	 * marked insecure (appraise.c). Its memory is not protected, so no
	 * runtime-opaque claim is made. */
	appr_raise(s, AR_INSTANCE, AR_AFFIRMED, "signed under a sim root the policy trusts");
	appr_raise(s, AR_HARDWARE, AR_AFFIRMED, "simulated platform the policy trusts");
	appr_debug(run, s);
	tcb_check(s, "tcb_decoded", "tcb", &p->sim.min_tcb);
	/* The sim platform signs generated_at: a report replayed later than
	 * max_age_seconds, or dated ahead of the verifier's clock beyond the
	 * skew, is refused. */
	if (appr_claim_int(s, s->claims, "generated_at", "generated_at", AR_INSTANCE, &at)) {
		int64_t age;
		/* Overflow only for absurd times: older than anything. */
		if (__builtin_sub_overflow(run->now, at, &age))
			age = at > run->now ? INT64_MIN : INT64_MAX;
		if (age < -(int64_t)VEIL_SIM_MAX_FUTURE_SKEW)
			appr_raise(s, AR_INSTANCE, AR_CONTRA,
				   "generated_at %" PRId64 " lies ahead of the verifier's clock by "
				   "more than the %d s skew allowed",
				   at, VEIL_SIM_MAX_FUTURE_SKEW);
		else if (age > p->sim.max_age)
			appr_raise(s, AR_INSTANCE, AR_CONTRA,
				   "generated %" PRId64 " s ago, older than the policy's "
				   "max_age_seconds %" PRId64,
				   age, p->sim.max_age);
	}
	appr_matches(run, s, &p->sim.match, "sim");
}

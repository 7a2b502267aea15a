/*
 * appraise_gpu.c - the policy rules of GPU submodules (NVIDIA and sim-gpu).
 *
 * What the GPU report proves (identity chain, FWID, measurements against
 * NVIDIA's RIMs, revocation) comes from verification. What it cannot prove
 * - whether CC mode is on, whether DEVTOOLS is, whether the driver has set
 * the ready state - the attester reads from the driver inside the CVM and
 * puts into the bundle, bound by the CPU report's REPORT_DATA: attested by
 * the CVM's measured software, not by the GPU. Those claims are absent when
 * the evidence did not carry them (an NVIDIA SDK list); a policy that needs
 * CC on then fails closed and says the state was not reported.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "appraisal/appraisal_int.h"

bool appr_nvidia_accepted(const appr_run *run, appr_sub *s)
{
	if (run->p->gpu.on)
		return true;
	appr_raise(s, AR_HARDWARE, AR_CONTRA,
		   "the evidence has a GPU (%s) but the policy has no \"gpu\" member: no GPU is "
		   "accepted",
		   s->tee);
	return false;
}

bool appr_sim_gpu_accepted(const appr_run *run, appr_sub *s)
{
	if (!appr_nvidia_accepted(run, s))
		return false;
	if (!run->p->sim.on)
		appr_raise(s, AR_HARDWARE, AR_CONTRA,
			   "the policy does not accept simulated devices (it has no \"sim\" member "
			   "with the sim roots it trusts)");
	return run->p->sim.on;
}

/* CC state the attester reported (see the file comment). env is the
 * cc_environment a GPU of this kind must report. */
static void cc_state(const appr_run *run, appr_sub *s, const char *env)
{
	const veil_policy *p = run->p;
	json_t *mode = json_object_get(s->claims, "cc_mode");
	json_t *environment = json_object_get(s->claims, "cc_environment");
	json_t *devtools = json_object_get(s->claims, "devtools");
	json_t *ready = json_object_get(s->claims, "ready");

	if (mode == NULL) {
		if (p->gpu.require_cc_mode)
			appr_raise(s, AR_RUNTIME, AR_CONTRA,
				   "the GPU's CC mode was not reported (the evidence carries no "
				   "cc_mode, as in an NVIDIA SDK evidence list) and the policy "
				   "requires CC mode on (require_cc_mode)");
	} else if (!json_is_string(mode) || strcmp(json_string_value(mode), "on") != 0) {
		appr_raise(s, AR_RUNTIME, AR_CONTRA,
			   "CC mode is %.16s: the host can read the GPU's memory",
			   json_is_string(mode) ? json_string_value(mode) : "(not a string)");
	} else {
		appr_raise(s, AR_RUNTIME, AR_AFFIRMED, "CC mode on");
	}
	if (environment != NULL &&
	    (!json_is_string(environment) || strcmp(json_string_value(environment), env) != 0))
		appr_raise(
		    s, AR_CONFIG, AR_CONTRA, "cc_environment is %.16s; a %s GPU must report %s",
		    json_is_string(environment) ? json_string_value(environment) : "(not a string)",
		    s->tee, env);
	if (devtools == NULL && !p->gpu.allow_devtools)
		appr_raise(s, AR_CONFIG, AR_CONTRA,
			   "the GPU's DEVTOOLS mode was not reported and the policy forbids it "
			   "(allow_devtools is false): it cannot be shown off");
	else if (devtools != NULL && !json_is_boolean(devtools))
		appr_raise(s, AR_CONFIG, AR_CONTRA, "claim devtools is not a boolean");
	else if (json_is_true(devtools) && !p->gpu.allow_devtools)
		appr_raise(s, AR_CONFIG, AR_CONTRA,
			   "DEVTOOLS mode is on and the policy forbids it (allow_devtools is "
			   "false): debuggers and profilers can read the GPU's state");
	else if (json_is_true(devtools))
		appr_note(s, AR_CONFIG, AR_AFFIRMED,
			  "DEVTOOLS mode is on, which the policy allows (allow_devtools)");
	else if (json_is_false(devtools))
		appr_raise(s, AR_CONFIG, AR_AFFIRMED, "DEVTOOLS mode off");
	if (p->gpu.require_ready && !json_is_true(ready))
		appr_raise(s, AR_CONFIG, AR_CONTRA,
			   "the GPU's ready state is %s and the policy requires it (require_ready)",
			   ready == NULL ? "not reported" : "not true");
}

/* Dotted versions compare numerically, component by component; a missing
 * component counts as 0 ("550" == "550.0"). */
static void driver_min(const appr_run *run, appr_sub *s)
{
	const veil_policy *p = run->p;
	const char *v = json_string_value(json_object_get(s->claims, "driver_version"));
	uint64_t parts[POLICY_VERSION_PARTS_MAX];
	size_t n = 0;
	int cmp = 0;

	if (p->gpu.min_driver_parts == 0)
		return;
	if (v == NULL || policy_version_parse(v, parts, &n) != VEIL_OK) {
		appr_raise(s, AR_EXECUTABLES, AR_CONTRA,
			   "driver_version %.32s is %s: the policy's min_driver_version cannot be "
			   "checked",
			   v != NULL ? v : "",
			   v == NULL ? "absent" : "not a dotted decimal version");
		return;
	}
	for (size_t i = 0; cmp == 0 && (i < n || i < p->gpu.min_driver_parts); i++) {
		uint64_t a = i < n ? parts[i] : 0;
		uint64_t b = i < p->gpu.min_driver_parts ? p->gpu.min_driver[i] : 0;
		cmp = a < b ? -1 : a > b ? 1 : 0;
	}
	if (cmp < 0)
		appr_raise(s, AR_EXECUTABLES, AR_CONTRA,
			   "driver %s is older than the policy's min_driver_version %s", v,
			   p->gpu.min_driver_text);
}

/* OCSP status of the GPU's certificate chain and of the two RIMs' signing
 * chains (nv_claims.c "ocsp"), against gpu.revocation_unknown. */
static void revocation(const appr_run *run, appr_sub *s)
{
	static const struct {
		const char *key;
		ar_claim revoked, unknown_warn;
	} parts[] = {
	    {"gpu", AR_INSTANCE, AR_HARDWARE},
	    {"driver_rim", AR_EXECUTABLES, AR_EXECUTABLES},
	    {"vbios_rim", AR_EXECUTABLES, AR_EXECUTABLES},
	};
	json_t *ocsp = json_object_get(s->claims, "ocsp");
	policy_unknown mode = run->p->gpu.revocation_unknown;

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		const char *st = json_string_value(json_object_get(ocsp, parts[i].key));
		if (st != NULL && strcmp(st, "good") == 0)
			continue;
		if (st != NULL && strcmp(st, "revoked") == 0) {
			appr_raise(s, parts[i].revoked, AR_CONTRA,
				   "OCSP: the %s certificate is revoked", parts[i].key);
			continue;
		}
		if (mode == UNKNOWN_DENY)
			appr_raise(s, parts[i].revoked, AR_CONTRA,
				   "revocation status of the %s certificate is unknown and the "
				   "policy denies unknown status (revocation_unknown \"deny\")",
				   parts[i].key);
		else if (mode == UNKNOWN_WARN)
			appr_raise(s, parts[i].unknown_warn, AR_WARNING,
				   "revocation status of the %s certificate is unknown; the policy "
				   "warns (revocation_unknown \"warn\")",
				   parts[i].key);
		else
			appr_note(s, parts[i].unknown_warn, AR_AFFIRMED,
				  "revocation status of the %s certificate is unknown, which the "
				  "policy allows (revocation_unknown \"allow\")",
				  parts[i].key);
	}
}

void appr_nvidia(const appr_run *run, appr_sub *s)
{
	json_t *match = json_object_get(s->claims, "measurements_match");

	appr_raise(s, AR_INSTANCE, AR_AFFIRMED, "attestation key chained to NVIDIA's root");
	appr_raise(s, AR_HARDWARE, AR_AFFIRMED, "genuine NVIDIA GPU");
	if (json_is_true(match))
		appr_raise(s, AR_EXECUTABLES, AR_AFFIRMED, "measurements match NVIDIA's RIMs");
	else
		appr_raise(s, AR_EXECUTABLES,
			   run->p->gpu.require_rim_match ? AR_CONTRA : AR_UNRECOGNIZED,
			   "measurements do not match NVIDIA's RIMs (measurements_match is %s)",
			   match == NULL ? "absent" : "not true");
	revocation(run, s);
	cc_state(run, s, "prod");
	driver_min(run, s);
	appr_matches(run, s, &run->p->gpu.match, "gpu");
}

void appr_sim_gpu(const appr_run *run, appr_sub *s)
{
	if (!appr_sim_root_trusted(run, s))
		return;
	appr_raise(s, AR_INSTANCE, AR_AFFIRMED, "signed under a sim root the policy trusts");
	appr_raise(s, AR_HARDWARE, AR_AFFIRMED, "simulated GPU the policy trusts");
	cc_state(run, s, "sim");
	driver_min(run, s);
	appr_matches(run, s, &run->p->gpu.match, "gpu");
}

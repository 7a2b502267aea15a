/*
 * appraise.c - veil_appraise: a verification result in, an EAR out.
 *
 * Steps: (1) lay the result out as submodules - cpu0 for the CPU TEE,
 * gpu0.. for GPUs - whatever shape verification gave it (one report; a
 * bundle, tee "bundle" with submods cpu/gpuN; an NVIDIA SDK list, tee
 * "nvidia" with submods GPU-N; a CPU result carrying GPU submods); (2) turn
 * each part's failed checks into claims (appraise_checks.c); (3) run the
 * rules of the part's TEE, from one table, on parts whose claims can be
 * trusted; (4) the rules about the whole: GPUs required or refused, GPUs
 * without a CPU TEE; (5) write the EAR (draft-ietf-rats-ear, the
 * JSON serialisation Veraison's rust-ear uses: "eat_profile", "iat",
 * "ear.verifier-id", "submods" each with "ear.status",
 * "ear.trustworthiness-vector", "ear.appraisal-policy-id",
 * "ear.veraison.annotated-evidence"), with Veil's "veil.*" additions: the
 * reasons, the TEE, whether the part verified, whether it is insecure.
 *
 * The result is borrowed and may come from a file (veil appraise reads
 * `veil verify --json` output), so its shape is checked before use; a
 * result of the wrong shape is a usage error, anything of the right shape
 * that the policy does not accept is an EAR that says why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appraisal/appraisal_int.h"

/* The rules of each TEE; a tee not listed has none and is not recognized. */
static const struct tee_rules {
	const char *tee;
	bool device;
	bool insecure; /* simulated: never secure, whatever the policy says */
	bool (*accepted)(const appr_run *run, appr_sub *s);
	void (*appraise)(const appr_run *run, appr_sub *s);
} tee_table[] = {
    {"snp", false, false, appr_snp_accepted, appr_snp},
    {"tdx", false, false, appr_tdx_accepted, appr_tdx},
    {"sim", false, true, appr_sim_accepted, appr_sim},
    {"sample", false, true, appr_sample_accepted, appr_sample},
    {"nvidia", true, false, appr_nvidia_accepted, appr_nvidia},
    {"sim-gpu", true, true, appr_sim_gpu_accepted, appr_sim_gpu},
};

static const struct tee_rules *tee_find(const char *tee)
{
	for (size_t i = 0; i < sizeof tee_table / sizeof tee_table[0]; i++)
		if (strcmp(tee_table[i].tee, tee) == 0)
			return &tee_table[i];
	return NULL;
}

/* {tee, verified, checks: [{name, ok, detail}], claims} (bundle.h). */
static veil_err part_shape(const json_t *part, const char *where)
{
	json_t *checks = json_object_get(part, "checks"), *claims = json_object_get(part, "claims");
	json_t *c;
	size_t i;

	ENSURE(json_is_object(part), VEIL_E_USAGE, "result%s: not an object", where);
	ENSURE(json_is_string(json_object_get(part, "tee")), VEIL_E_USAGE,
	       "result%s: \"tee\" must be a string", where);
	ENSURE(json_is_boolean(json_object_get(part, "verified")), VEIL_E_USAGE,
	       "result%s: \"verified\" must be a boolean", where);
	ENSURE(json_is_array(checks), VEIL_E_USAGE, "result%s: \"checks\" must be an array", where);
	ENSURE(claims == NULL || json_is_object(claims), VEIL_E_USAGE,
	       "result%s: \"claims\" must be an object", where);
	json_array_foreach(checks, i, c)
	{
		json_t *detail = json_object_get(c, "detail");
		ENSURE(json_is_string(json_object_get(c, "name")) &&
			   json_is_boolean(json_object_get(c, "ok")) &&
			   (detail == NULL || json_is_string(detail)),
		       VEIL_E_USAGE, "result%s: checks[%zu] must be {name, ok, detail}", where, i);
	}
	return VEIL_OK;
}

static veil_err sub_add(appr_run *run, const char *name, const char *source, const json_t *part,
			bool gpu)
{
	appr_sub *s = &run->sub[run->count];
	char where[48];
	json_t *claims = json_object_get(part, "claims");

	snprintf(where, sizeof where, " submodule \"%.24s\"", source);
	TRY(part_shape(part, where));
	ENSURE(run->count < APPR_SUBS_MAX, VEIL_E_LIMIT, "result: more than %d parts",
	       APPR_SUBS_MAX);
	for (size_t i = 0; i < run->count; i++)
		ENSURE(strcmp(run->sub[i].name, name) != 0, VEIL_E_USAGE,
		       "result: two submodules are both %s", name);
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	snprintf(s->source, sizeof s->source, "%s", source);
	s->tee = json_string_value(json_object_get(part, "tee"));
	s->part = part;
	s->claims = claims != NULL ? claims : run->empty;
	s->gpu = gpu;
	s->reasons = json_array();
	ENSURE(s->reasons != NULL, VEIL_E_NOMEM, "out of memory");
	run->count++;
	return VEIL_OK;
}

/* "gpu3" and "GPU-3" (an NVIDIA SDK list) are both gpu3. */
static veil_err gpu_name(const char *key, char out[24])
{
	const char *digits = strncmp(key, "gpu", 3) == 0    ? key + 3
			     : strncmp(key, "GPU-", 4) == 0 ? key + 4
							    : NULL;
	size_t n = digits != NULL ? strlen(digits) : 0;

	ENSURE(n > 0 && n <= 2 && digits[0] >= '0' && digits[0] <= '9' &&
		   (n == 1 || (digits[1] >= '0' && digits[1] <= '9')),
	       VEIL_E_USAGE, "result: submodule \"%.24s\" is not cpu, gpuN or GPU-N", key);
	snprintf(out, 24, "gpu%s", digits);
	return VEIL_OK;
}

static veil_err layout(appr_run *run, const json_t *result)
{
	const char *tee = json_string_value(json_object_get(result, "tee"));
	json_t *submods = json_object_get(result, "submods"), *part;
	const struct tee_rules *rules;
	const char *key;
	char name[24];

	TRY(part_shape(result, ""));
	ENSURE(submods == NULL || json_is_object(submods), VEIL_E_USAGE,
	       "result: \"submods\" must be an object");
	rules = tee_find(tee);
	if (strcmp(tee, "bundle") == 0) {
		json_t *cpu = json_object_get(submods, "cpu");
		ENSURE(cpu != NULL, VEIL_E_USAGE, "result: a bundle without a \"cpu\" submodule");
		run->container = result;
		TRY(sub_add(run, "cpu0", "cpu", cpu, false));
	} else if (rules != NULL && rules->device && submods != NULL) {
		run->container = result; /* a GPU list */
	} else if (rules != NULL && rules->device) {
		return sub_add(run, "gpu0", "gpu0", result, true);
	} else {
		TRY(sub_add(run, "cpu0", "cpu0", result, false));
	}
	if (submods != NULL)
		run->overall = result;
	json_object_foreach(submods, key, part)
	{
		if (run->container != NULL && strcmp(tee, "bundle") == 0 && strcmp(key, "cpu") == 0)
			continue;
		TRY(gpu_name(key, name));
		TRY(sub_add(run, name, key, part, true));
	}
	ENSURE(run->count > 0, VEIL_E_USAGE, "result: no parts to appraise");
	return VEIL_OK;
}

static void appraise_part(const appr_run *run, appr_sub *s)
{
	const struct tee_rules *rules = tee_find(s->tee);
	const json_t *checks = json_object_get(s->part, "checks");

	/* A CPU result that carries GPU submods says "verified" for all of
	 * them; its own verdict is its own checks. */
	s->verified = json_is_true(json_object_get(s->part, "verified")) ||
		      (s->part == run->overall && run->container == NULL);
	if (json_array_size(checks) == 0) {
		s->verified = false;
		s->failed_hard = true;
		appr_raise(
		    s, AR_INSTANCE, AR_CRYPTO_FAILED,
		    "verification recorded no checks: nothing shows the evidence is genuine");
	}
	appr_checks_part(run, s, checks);
	s->insecure = json_is_true(json_object_get(s->claims, "insecure")) ||
		      (rules != NULL && rules->insecure);
	if (rules == NULL) {
		appr_raise(s, AR_HARDWARE, AR_NOT_RECOGNIZED,
			   "Veil has no appraisal rules for tee \"%.32s\"", s->tee);
		return;
	}
	if (rules->device != s->gpu) {
		appr_raise(s, AR_HARDWARE, AR_NOT_RECOGNIZED, "a %s report in the %s position",
			   s->tee, s->name);
		return;
	}
	/* Claims of evidence that failed verification are not evidence of
	 * anything: the policy rules run only when every failure was one the
	 * policy tolerates. */
	if (rules->accepted(run, s) && !s->failed_hard)
		rules->appraise(run, s);
}

/* Rules about the parts together. */
static void appraise_whole(const appr_run *run, appr_sub *subs, size_t count)
{
	const veil_policy *p = run->p;
	size_t gpus = 0;
	appr_sub *cpu = NULL;

	for (size_t i = 0; i < count; i++) {
		if (subs[i].gpu)
			gpus++;
		else
			cpu = &subs[i];
	}
	if (cpu == NULL && p->gpu.on && !p->gpu.allow_without_cpu)
		for (size_t i = 0; i < count; i++)
			appr_raise(
			    &subs[i], AR_HARDWARE, AR_CONTRA,
			    "GPU evidence without a CPU TEE report: the policy accepts GPUs "
			    "only inside an attested CPU TEE (gpu.allow_without_cpu is false)");
	if (cpu != NULL && p->gpu.on && p->gpu.required && (int64_t)gpus < p->gpu.min_count)
		appr_raise(cpu, AR_CONFIG, AR_CONTRA,
			   "the policy requires at least %lld GPU%s (gpu.min_count); the evidence "
			   "has %zu",
			   (long long)p->gpu.min_count, p->gpu.min_count == 1 ? "" : "s", gpus);
	/* Evidence that did not verify is never affirming, even when no
	 * failed check explains why (a result assembled elsewhere). */
	for (size_t i = 0; i < count; i++)
		if (!subs[i].verified && appr_sub_tier(&subs[i]) < 2)
			appr_raise(&subs[i], AR_INSTANCE, AR_CRYPTO_FAILED,
				   "the evidence did not verify");
	if (run->overall != NULL && !json_is_true(json_object_get(run->overall, "verified"))) {
		bool explained = false;
		for (size_t i = 0; i < count; i++)
			explained = explained || !subs[i].verified;
		if (!explained)
			appr_raise(&subs[0], AR_INSTANCE, AR_CRYPTO_FAILED,
				   "the result is not verified but names no failed check");
	}
}

static json_t *vector_json(const appr_sub *s)
{
	json_t *v = json_object();

	for (size_t i = 0; v != NULL && i < AR_COUNT_; i++)
		if (json_object_set_new(v, ar_claim_name((ar_claim)i), json_integer(s->tv[i])) !=
		    0) {
			json_decref(v);
			return NULL;
		}
	return v;
}

static json_t *annotated(const appr_run *run, const appr_sub *s)
{
	json_t *a = json_deep_copy(s->claims);
	json_t *rd = json_object_get(json_object_get(run->container, "claims"), "runtime_data");

	json_t *copy;

	/* The bundle's runtime data (nonce, key) is what the relying party
	 * compares with its challenge: it travels with the CPU part, without
	 * the device evidence it carries (the GPU submodules stand for that). */
	if (a == NULL || s->gpu || !json_is_object(rd) ||
	    json_object_get(a, "runtime_data") != NULL)
		return a;
	copy = json_deep_copy(rd);
	if (copy != NULL)
		(void)json_object_del(copy, "additional-evidence"); /* absent is fine */
	if (copy == NULL || json_object_set_new(a, "runtime_data", copy) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static veil_err sub_json(const appr_run *run, appr_sub *s, json_t *submods)
{
	json_t *o;

	TRY(s->err);
	o = json_pack("{s:s, s:o, s:s, s:s, s:b, s:b, s:O, s:o}", "ear.status",
		      ar_tier_name(appr_sub_tier(s)), "ear.trustworthiness-vector", vector_json(s),
		      "ear.appraisal-policy-id", run->p->id, "veil.tee", s->tee, "veil.verified",
		      s->verified, "veil.insecure", s->insecure, "veil.reasons", s->reasons,
		      "ear.veraison.annotated-evidence", annotated(run, s));
	ENSURE(o != NULL, VEIL_E_NOMEM, "out of memory");
	if (s->reasons_dropped &&
	    json_object_set_new(o, "veil.reasons_truncated", json_true()) != 0) {
		json_decref(o);
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	ENSURE(json_object_set_new(submods, s->name, o) == 0, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

static veil_err ear_build(const appr_run *run, appr_sub *subs, size_t count, json_t **out)
{
	static const char *const order[] = {"affirming", "none", "warning", "contraindicated"};
	static const int rank_of_tier[] = {1, 0, 2, 3}; /* none, affirming, warning, contra */
	json_t *ear, *submods = json_object();
	bool insecure = false;
	int worst = 0;

	ENSURE(submods != NULL, VEIL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		veil_err err = sub_json(run, &subs[i], submods);
		if (err != VEIL_OK) {
			json_decref(submods);
			return err;
		}
		int r = rank_of_tier[appr_sub_tier(&subs[i])];
		worst = r > worst ? r : worst;
		insecure = insecure || subs[i].insecure;
	}
	ear = json_pack("{s:s, s:I, s:{s:s, s:s}, s:o, s:s, s:b}", "eat_profile", VEIL_EAR_PROFILE,
			"iat", (json_int_t)run->now, "ear.verifier-id", "developer",
			VEIL_EAR_DEVELOPER, "build", VEIL_EAR_BUILD, "submods", submods,
			"veil.status", order[worst], "veil.insecure", insecure);
	ENSURE(ear != NULL, VEIL_E_NOMEM, "out of memory");
	*out = ear;
	return VEIL_OK;
}

veil_err veil_appraise(const veil_policy *p, const veil_refvals *rv, const json_t *result,
		       int64_t now, json_t **ear)
{
	appr_run *run = NULL;
	veil_err err;

	ENSURE(p != NULL && result != NULL && ear != NULL, VEIL_E_USAGE,
	       "veil_appraise: NULL argument");
	*ear = NULL;
	run = calloc(1, sizeof *run);
	ENSURE(run != NULL, VEIL_E_NOMEM, "out of memory");
	run->p = p;
	run->rv = rv;
	run->now = now;
	run->empty = json_object();
	CHECK_THAT(run->empty != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(layout(run, result));
	for (size_t i = 0; i < run->count; i++)
		appraise_part(run, &run->sub[i]);
	if (run->container != NULL)
		appr_checks_top(run, run->sub, run->count,
				json_object_get(run->container, "checks"));
	appraise_whole(run, run->sub, run->count);
	CHECK(ear_build(run, run->sub, run->count, ear));
out:
	for (size_t i = 0; i < run->count; i++)
		json_decref(run->sub[i].reasons);
	json_decref(run->empty);
	free(run);
	return err;
}

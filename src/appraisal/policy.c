/*
 * policy.c - reading an appraisal policy (docs/appraisal.md) into structs.
 *
 * A policy is what a relying party accepts, and a typo in it must not
 * quietly accept more: parsing is strict. Unknown members are refused (a
 * misspelt "alow_debug" would otherwise leave debug forbidden without a
 * word, or a misspelt "min_tcb" leave every TCB accepted), every member is
 * type- and range-checked, lists are capped (limits.h), and a TEE is
 * accepted only when the policy has a member for it. The simulated TEE is
 * accepted only with the fingerprints of the sim roots it trusts: a sim
 * member without them is an error, never "any sim". The GPU section lives
 * in policy_gpu.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appraisal/appraisal_int.h"
#include "veil/codec.h"
#include "veil/json.h"

const char *const policy_tcb_names[TCB_COMPONENTS_] = {"bootloader", "tee", "snp", "microcode",
						       "fmc"};

/* Intel's TCB statuses (tdx_tcbstatus.c) that a verified quote can carry,
 * and "Unknown" for a quote verified without TCB Info. Revoked and
 * TcbLevelNotSupported fail verification, so no policy can accept them. */
const char *const policy_tdx_statuses[] = {"UpToDate",
					   "SWHardeningNeeded",
					   "ConfigurationNeeded",
					   "ConfigurationAndSWHardeningNeeded",
					   "OutOfDate",
					   "OutOfDateConfigurationNeeded",
					   "Unknown"};
const size_t policy_tdx_status_count = sizeof policy_tdx_statuses / sizeof policy_tdx_statuses[0];

/* The products the SNP claims name (snp_tcb.c). */
const char *const policy_snp_products[] = {"Milan", "Genoa", "Turin"};
const size_t policy_snp_product_count = sizeof policy_snp_products / sizeof policy_snp_products[0];

veil_err policy_only_members(const json_t *obj, const char *where, const char *const *allowed)
{
	const char *key;
	json_t *v;

	ENSURE(json_is_object(obj), VEIL_E_MALFORMED, "%s must be an object", where);
	json_object_foreach((json_t *)obj, key, v)
	{
		bool known = false;
		for (size_t i = 0; allowed[i] != NULL && !known; i++)
			known = strcmp(key, allowed[i]) == 0;
		ENSURE(known, VEIL_E_MALFORMED,
		       "%s: unknown member \"%.64s\" (a policy names only what it checks; see "
		       "docs/appraisal.md)",
		       where, key);
	}
	return VEIL_OK;
}

veil_err policy_get_bool(const json_t *obj, const char *where, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return VEIL_OK; /* keep the default */
	ENSURE(json_is_boolean(v), VEIL_E_MALFORMED, "%s: \"%s\" must be true or false", where,
	       key);
	*out = json_is_true(v);
	return VEIL_OK;
}

static veil_err get_int(const json_t *obj, const char *where, const char *key, int64_t min,
			int64_t max, int64_t *out)
{
	if (json_object_get(obj, key) == NULL)
		return VEIL_OK;
	veil_err err = veil_json_get_int(obj, key, min, max, out);
	return err == VEIL_OK ? VEIL_OK : veil_fail_context(err, "%s", where);
}

/* A name made of [A-Za-z0-9._-], 1..VEIL_POLICY_NAME_MAX characters. */
static bool name_ok(const char *s, bool allow_upper)
{
	size_t n = strlen(s);

	if (n == 0 || n > VEIL_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			  (allow_upper && ((c >= 'A' && c <= 'Z') || c == '.' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

veil_err policy_matches_parse(const json_t *obj, const char *where, policy_matches *out)
{
	json_t *m = json_object_get(obj, "match"), *v;
	const char *claim;

	out->count = 0;
	if (m == NULL)
		return VEIL_OK;
	ENSURE(json_is_object(m), VEIL_E_MALFORMED,
	       "%s: \"match\" must be an object of claim name to reference-value set name", where);
	ENSURE(json_object_size(m) <= VEIL_POLICY_MATCH_MAX, VEIL_E_LIMIT,
	       "%s: more than %d \"match\" rules", where, VEIL_POLICY_MATCH_MAX);
	json_object_foreach(m, claim, v)
	{
		policy_match *r = &out->rule[out->count];
		ENSURE(name_ok(claim, false), VEIL_E_MALFORMED,
		       "%s: \"match\" key \"%.64s\" is not a claim name (lower case, digits, _)",
		       where, claim);
		ENSURE(json_is_string(v) && name_ok(json_string_value(v), true), VEIL_E_MALFORMED,
		       "%s: \"match\".\"%s\" must name a reference-value set ([A-Za-z0-9._-], at "
		       "most %d characters)",
		       where, claim, VEIL_POLICY_NAME_MAX);
		memcpy(r->claim, claim, strlen(claim) + 1);
		memcpy(r->set, json_string_value(v), strlen(json_string_value(v)) + 1);
		out->count++;
	}
	return VEIL_OK;
}

/* "min_tcb": {"bootloader": n, "tee": n, "snp": n, "microcode": n, "fmc": n},
 * each 0..255 (a byte of the word, SEV-SNP ABI 1.57 "TCB_VERSION structure"). */
static veil_err tcb_parse(const json_t *obj, const char *where, policy_tcb *out)
{
	json_t *t = json_object_get(obj, "min_tcb");
	static const char *const members[] = {"bootloader", "tee", "snp", "microcode", "fmc", NULL};

	memset(out, 0, sizeof *out);
	if (t == NULL)
		return VEIL_OK;
	TRY(policy_only_members(t, "\"min_tcb\"", members));
	for (size_t i = 0; i < TCB_COMPONENTS_; i++) {
		if (json_object_get(t, policy_tcb_names[i]) == NULL)
			continue;
		TRY(get_int(t, where, policy_tcb_names[i], 0, 255, &out->min[i]));
		out->present[i] = true;
	}
	return VEIL_OK;
}

/* A non-empty list of strings, each one of names[]; sets bit i for names[i]. */
static veil_err name_list(const json_t *obj, const char *where, const char *key,
			  const char *const *names, size_t count, uint32_t *bits)
{
	json_t *list = json_object_get(obj, key), *v;
	size_t i;

	if (list == NULL)
		return VEIL_OK;
	ENSURE(json_is_array(list) && json_array_size(list) > 0, VEIL_E_MALFORMED,
	       "%s: \"%s\" must be a non-empty array", where, key);
	ENSURE(json_array_size(list) <= VEIL_POLICY_LIST_MAX, VEIL_E_LIMIT,
	       "%s: \"%s\" has more than %d entries", where, key, VEIL_POLICY_LIST_MAX);
	*bits = 0;
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);
		size_t k = 0;
		ENSURE(s != NULL, VEIL_E_MALFORMED, "%s: \"%s\"[%zu] must be a string", where, key,
		       i);
		while (k < count && strcmp(s, names[k]) != 0)
			k++;
		if (k == count) {
			char all[256] = "";
			size_t at = 0;
			for (size_t j = 0; j < count && at < sizeof all; j++)
				at += (size_t)snprintf(all + at, sizeof all - at, "%s%s",
						       j > 0 ? ", " : "", names[j]);
			return veil_fail(VEIL_E_MALFORMED,
					 "%s: \"%s\"[%zu] \"%.40s\" is not one of %s", where, key,
					 i, s, all);
		}
		*bits |= 1u << k;
	}
	return VEIL_OK;
}

static veil_err snp_parse(const json_t *o, veil_policy *p)
{
	static const char *const members[] = {"min_tcb", "products",      "vmpl",
					      "match",   "min_guest_svn", NULL};
	const char *where = "policy \"snp\"";
	json_t *vmpl = json_object_get(o, "vmpl"), *v;
	size_t i;

	TRY(policy_only_members(o, where, members));
	p->snp.on = true;
	TRY(tcb_parse(o, where, &p->snp.min_tcb));
	TRY(name_list(o, where, "products", policy_snp_products, policy_snp_product_count,
		      &p->snp.products));
	/* SEV-SNP ABI 1.57, ATTESTATION_REPORT offset 0x30 VMPL: 0..3. Default: only VMPL 0, the
	 * most privileged level, which is what a guest without an SVSM asks
	 * from. */
	p->snp.vmpls = 1u;
	if (vmpl != NULL) {
		ENSURE(json_is_array(vmpl) && json_array_size(vmpl) > 0 &&
			   json_array_size(vmpl) <= 4,
		       VEIL_E_MALFORMED, "%s: \"vmpl\" must be an array of 1 to 4 VMPLs", where);
		p->snp.vmpls = 0;
		json_array_foreach(vmpl, i, v)
		{
			ENSURE(json_is_integer(v) && json_integer_value(v) >= 0 &&
				   json_integer_value(v) <= 3,
			       VEIL_E_MALFORMED, "%s: \"vmpl\"[%zu] must be an integer 0..3", where,
			       i);
			p->snp.vmpls |= 1u << json_integer_value(v);
		}
	}
	TRY(get_int(o, where, "min_guest_svn", 0, UINT32_MAX, &p->snp.min_guest_svn));
	return policy_matches_parse(o, where, &p->snp.match);
}

static veil_err tdx_parse(const json_t *o, veil_policy *p)
{
	static const char *const members[] = {"tcb_status", "match", NULL};
	const char *where = "policy \"tdx\"";

	TRY(policy_only_members(o, where, members));
	p->tdx.on = true;
	p->tdx.statuses = 1u; /* UpToDate */
	TRY(name_list(o, where, "tcb_status", policy_tdx_statuses, policy_tdx_status_count,
		      &p->tdx.statuses));
	return policy_matches_parse(o, where, &p->tdx.match);
}

static veil_err sim_parse(const json_t *o, veil_policy *p)
{
	static const char *const members[] = {"roots", "min_tcb", "max_age_seconds", "match", NULL};
	const char *where = "policy \"sim\"";
	json_t *roots = json_object_get(o, "roots"), *v;
	size_t i;

	TRY(policy_only_members(o, where, members));
	/* DESIGN.md section 6: the sim is never trusted unless the policy
	 * names the sim roots it trusts. */
	ENSURE(roots != NULL, VEIL_E_MALFORMED,
	       "%s: \"roots\" is required: the SHA-256 fingerprints (hex) of the sim root "
	       "certificates this policy trusts; a policy never trusts every sim",
	       where);
	ENSURE(json_is_array(roots) && json_array_size(roots) > 0, VEIL_E_MALFORMED,
	       "%s: \"roots\" must be a non-empty array of SHA-256 fingerprints", where);
	ENSURE(json_array_size(roots) <= VEIL_POLICY_LIST_MAX, VEIL_E_LIMIT,
	       "%s: more than %d \"roots\"", where, VEIL_POLICY_LIST_MAX);
	json_array_foreach(roots, i, v)
	{
		const char *hex = json_string_value(v);
		size_t n = 0;
		ENSURE(hex != NULL && strlen(hex) == 64 &&
			   veil_hex_decode(hex, 64, p->sim.roots[i], 32, &n) == VEIL_OK && n == 32,
		       VEIL_E_MALFORMED,
		       "%s: \"roots\"[%zu] must be a SHA-256 fingerprint: 64 hex digits", where, i);
	}
	veil_err_clear();
	p->sim.root_count = json_array_size(roots);
	TRY(tcb_parse(o, where, &p->sim.min_tcb));
	p->sim.max_age = VEIL_SIM_DEFAULT_MAX_AGE;
	TRY(get_int(o, where, "max_age_seconds", 1, 366 * 24 * 3600, &p->sim.max_age));
	p->sim.on = true;
	return policy_matches_parse(o, where, &p->sim.match);
}

/* "sample": {} names CoCo's sample TEE (development only); it has no
 * settings, since its evidence has nothing to check but the binding. */
static veil_err sample_parse(const json_t *o, veil_policy *p)
{
	static const char *const members[] = {NULL};
	TRY(policy_only_members(o, "policy \"sample\"", members));
	p->sample.on = true;
	return VEIL_OK;
}

/* One section per TEE: absent means the TEE is not accepted. */
static const struct {
	const char *name;
	veil_err (*parse)(const json_t *o, veil_policy *p);
} sections[] = {
    {"snp", snp_parse},       {"tdx", tdx_parse},        {"sim", sim_parse},
    {"sample", sample_parse}, {"gpu", policy_gpu_parse},
};

static veil_err policy_read(const json_t *doc, veil_policy *p)
{
	static const char *const members[] = {"version", "id",  "allow_debug", "snp", "tdx",
					      "sim",     "gpu", "sample",      NULL};
	const char *id;
	json_t *version = json_object_get(doc, "version");

	TRY(policy_only_members(doc, "the policy", members));
	ENSURE(version != NULL, VEIL_E_MALFORMED, "policy: \"version\" is required (1)");
	ENSURE(json_is_integer(version), VEIL_E_MALFORMED, "policy: \"version\" must be 1");
	ENSURE(json_integer_value(version) == 1, VEIL_E_UNSUPPORTED,
	       "policy: version %lld is not supported (this Veil reads version 1)",
	       (long long)json_integer_value(version));
	TRY(veil_json_get_string(doc, "id", &id));
	ENSURE(strlen(id) > 0 && strlen(id) <= VEIL_POLICY_NAME_MAX, VEIL_E_MALFORMED,
	       "policy: \"id\" must be 1 to %d characters", VEIL_POLICY_NAME_MAX);
	for (const char *c = id; *c != '\0'; c++)
		ENSURE((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f, VEIL_E_MALFORMED,
		       "policy: \"id\" must be printable ASCII");
	memcpy(p->id, id, strlen(id) + 1);
	TRY(policy_get_bool(doc, "the policy", "allow_debug", &p->allow_debug));
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		json_t *o = json_object_get(doc, sections[i].name);
		if (o == NULL)
			continue;
		ENSURE(json_is_object(o), VEIL_E_MALFORMED, "policy: \"%s\" must be an object",
		       sections[i].name);
		TRY(sections[i].parse(o, p));
	}
	return VEIL_OK;
}

veil_err veil_policy_parse(const uint8_t *json, size_t len, const char *origin, veil_policy **out)
{
	veil_policy *p = NULL;
	json_t *doc = NULL;
	veil_err err;

	ENSURE(out != NULL && (json != NULL || len == 0), VEIL_E_USAGE,
	       "veil_policy_parse: NULL argument");
	*out = NULL;
	CHECK_THAT(len <= VEIL_POLICY_MAX_BYTES, VEIL_E_LIMIT,
		   "policy of %zu bytes is over the %d-byte limit", len, VEIL_POLICY_MAX_BYTES);
	CHECK(veil_json_parse(json, len, &doc));
	CHECK_THAT(json_is_object(doc), VEIL_E_MALFORMED, "policy: not a JSON object");
	p = calloc(1, sizeof *p);
	CHECK_THAT(p != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(policy_read(doc, p));
	*out = p;
	p = NULL;
out:
	if (err != VEIL_OK && origin != NULL)
		err = veil_fail_context(err, "%.200s", origin);
	free(p);
	json_decref(doc);
	return err;
}

veil_err veil_policy_default(veil_policy **out)
{
	static const char id[] = "veil-default-deny";
	veil_policy *p;

	ENSURE(out != NULL, VEIL_E_USAGE, "veil_policy_default: NULL argument");
	p = calloc(1, sizeof *p);
	ENSURE(p != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(p->id, id, sizeof id);
	*out = p;
	return VEIL_OK;
}

void veil_policy_free(veil_policy *p)
{
	free(p);
}

const char *veil_policy_id(const veil_policy *p)
{
	return p != NULL ? p->id : "";
}

size_t veil_policy_sim_roots(const veil_policy *p, const uint8_t (**roots)[32])
{
	if (roots != NULL)
		*roots = p != NULL ? (const uint8_t(*)[32])p->sim.roots : NULL;
	return p != NULL && p->sim.on ? p->sim.root_count : 0;
}

veil_revocation_policy veil_policy_verify_revocation(const veil_policy *p)
{
	if (p != NULL && p->gpu.on && p->gpu.revocation_unknown != UNKNOWN_DENY)
		return VEIL_REVOCATION_ALLOW_UNKNOWN;
	return VEIL_REVOCATION_REQUIRE;
}

/*
 * policy_gpu.c - the "gpu" section of an appraisal policy (docs/appraisal.md).
 *
 * A confidential AI worker is only as confidential as its GPUs: a GPU with
 * CC mode off, or in DEVTOOLS mode, exposes its memory to the host however
 * good the CPU TEE is. So the defaults are the strict ones - GPUs required
 * (at least one), CC mode on and reported, DEVTOOLS forbidden, measurements
 * matching NVIDIA's RIMs, unknown revocation status denied - and a policy
 * relaxes them by name. Without a "gpu" section no GPU is accepted at all
 * (appraise.c): a bundle with GPUs the policy says nothing about fails
 * closed rather than letting an unappraised GPU see the workload.
 */
#include <stdlib.h>
#include <string.h>

#include "appraisal/appraisal_int.h"
#include "veil/json.h"

veil_err policy_version_parse(const char *s, uint64_t *parts, size_t *count)
{
	size_t n = 0;
	const char *c = s;

	for (;;) {
		uint64_t v = 0;
		size_t digits = 0;
		while (*c >= '0' && *c <= '9' && digits < 10) {
			v = v * 10 + (uint64_t)(*c - '0');
			c++;
			digits++;
		}
		if (digits == 0 || digits > 9 || n == POLICY_VERSION_PARTS_MAX)
			return VEIL_E_MALFORMED;
		parts[n++] = v;
		if (*c == '\0')
			break;
		if (*c != '.')
			return VEIL_E_MALFORMED;
		c++;
	}
	*count = n;
	return VEIL_OK;
}

static const struct {
	const char *name;
	policy_unknown mode;
} unknown_modes[] = {
    {"deny", UNKNOWN_DENY},
    {"warn", UNKNOWN_WARN},
    {"allow", UNKNOWN_ALLOW},
};

static veil_err revocation_parse(const json_t *o, const char *where, veil_policy *p)
{
	json_t *v = json_object_get(o, "revocation_unknown");
	const char *s;

	p->gpu.revocation_unknown = UNKNOWN_DENY;
	if (v == NULL)
		return VEIL_OK;
	s = json_string_value(v);
	for (size_t i = 0; s != NULL && i < sizeof unknown_modes / sizeof unknown_modes[0]; i++)
		if (strcmp(s, unknown_modes[i].name) == 0) {
			p->gpu.revocation_unknown = unknown_modes[i].mode;
			return VEIL_OK;
		}
	return veil_fail(VEIL_E_MALFORMED,
			 "%s: \"revocation_unknown\" must be \"deny\", \"warn\" or \"allow\"",
			 where);
}

veil_err policy_gpu_parse(const json_t *o, veil_policy *p)
{
	static const char *const members[] = {"required",
					      "min_count",
					      "require_cc_mode",
					      "allow_devtools",
					      "require_ready",
					      "require_rim_match",
					      "min_driver_version",
					      "revocation_unknown",
					      "allow_without_cpu",
					      "match",
					      NULL};
	const char *where = "policy \"gpu\"";
	json_t *drv = json_object_get(o, "min_driver_version");

	TRY(policy_only_members(o, where, members));
	p->gpu.on = true;
	p->gpu.required = true;
	p->gpu.min_count = 1;
	p->gpu.require_cc_mode = true;
	p->gpu.require_rim_match = true;
	TRY(policy_get_bool(o, where, "required", &p->gpu.required));
	if (json_object_get(o, "min_count") != NULL) {
		veil_err err = veil_json_get_int(o, "min_count", 1, 16, &p->gpu.min_count);
		if (err != VEIL_OK)
			return veil_fail_context(err, "%s", where);
	}
	TRY(policy_get_bool(o, where, "require_cc_mode", &p->gpu.require_cc_mode));
	TRY(policy_get_bool(o, where, "allow_devtools", &p->gpu.allow_devtools));
	TRY(policy_get_bool(o, where, "require_ready", &p->gpu.require_ready));
	TRY(policy_get_bool(o, where, "require_rim_match", &p->gpu.require_rim_match));
	TRY(policy_get_bool(o, where, "allow_without_cpu", &p->gpu.allow_without_cpu));
	if (drv != NULL) {
		const char *s = json_string_value(drv);
		ENSURE(s != NULL && strlen(s) < sizeof p->gpu.min_driver_text &&
			   policy_version_parse(s, p->gpu.min_driver, &p->gpu.min_driver_parts) ==
			       VEIL_OK,
		       VEIL_E_MALFORMED,
		       "%s: \"min_driver_version\" must be a dotted decimal version such as "
		       "\"550.90.07\" (at most %d parts of 1 to 9 digits)",
		       where, POLICY_VERSION_PARTS_MAX);
		memcpy(p->gpu.min_driver_text, s, strlen(s) + 1);
	}
	TRY(revocation_parse(o, where, p));
	return policy_matches_parse(o, where, &p->gpu.match);
}

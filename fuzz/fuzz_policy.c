/*
 * fuzz_policy.c - appraisal policy parsing, and appraisal under the policy.
 *
 * Beyond "no crash, no leak": a policy that parses has a printable id, and
 * appraising fixed results under it always yields an EAR whose status is
 * one of the four, where a result that did not verify is never affirming
 * and a sim result is always insecure (docs/appraisal.md).
 */
#include <string.h>

#include "veil/appraisal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char verified_sim[] =
    "{\"tee\":\"sim\",\"verified\":true,\"checks\":[{\"name\":\"report.signature\",\"ok\":true,"
    "\"detail\":\"\"}],\"claims\":{\"insecure\":true,\"debug\":false,\"measurement\":\"00\","
    "\"tcb_decoded\":{\"bootloader\":3,\"tee\":0,\"snp\":8,\"microcode\":115},"
    "\"generated_at\":1767225600,\"sim_root\":"
    "\"0680cebb725b959bf1d722a1575d6c99918ed12e42407cae4400e64aeb60f90f\"}}";
static const char unverified_snp[] =
    "{\"tee\":\"snp\",\"verified\":false,\"checks\":[{\"name\":\"report.signature\",\"ok\":false,"
    "\"detail\":\"bad\"}],\"claims\":{\"debug\":false,\"vmpl\":0,\"product\":\"Milan\"}}";
static const char gpu_list[] =
    "{\"tee\":\"nvidia\",\"verified\":true,\"checks\":[{\"name\":\"device\",\"ok\":true,"
    "\"detail\":\"GPU-0\"}],\"submods\":{\"GPU-0\":{\"tee\":\"nvidia\",\"verified\":true,"
    "\"checks\":[{\"name\":\"gpu.chain\",\"ok\":true,\"detail\":\"\"}],\"claims\":{"
    "\"measurements_match\":true,\"driver_version\":\"550.90.07\",\"ocsp\":{\"gpu\":\"good\","
    "\"driver_rim\":\"unknown\",\"vbios_rim\":\"good\"}}}}}";

static void appraise(const veil_policy *p, const char *text, bool verified, bool sim)
{
	json_t *res = json_loads(text, 0, NULL), *ear = NULL;

	if (res == NULL)
		abort();
	if (veil_appraise(p, NULL, res, 1767225600, &ear) != VEIL_OK || ear == NULL)
		abort(); /* a well-formed result always gives an EAR */
	const char *st = veil_ear_status(ear);
	if (strcmp(st, "affirming") != 0 && strcmp(st, "warning") != 0 &&
	    strcmp(st, "contraindicated") != 0 && strcmp(st, "none") != 0)
		abort();
	if (!verified && strcmp(st, "affirming") == 0)
		abort();
	if (sim && !json_is_true(json_object_get(ear, "veil.insecure")))
		abort();
	json_decref(ear);
	json_decref(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_policy *p = NULL;

	if (veil_policy_parse(data, size, "fuzz", &p) != VEIL_OK) {
		if (p != NULL)
			abort(); /* no policy on failure */
		return 0;
	}
	const char *id = veil_policy_id(p);
	if (id[0] == '\0')
		abort();
	for (const char *c = id; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			abort();
	const uint8_t(*roots)[32] = NULL;
	size_t n = veil_policy_sim_roots(p, &roots);
	if (n > 0 && roots == NULL)
		abort();
	(void)veil_policy_verify_revocation(p);
	appraise(p, verified_sim, true, true);
	appraise(p, unverified_snp, false, false);
	appraise(p, gpu_list, true, false);
	veil_policy_free(p);
	return 0;
}

/*
 * test_appraisal_gpu.c - appraising real NVIDIA GPU evidence.
 *
 * The reports, chains and RIMs are the corpus's (testdata/nvidia/SOURCES.md
 * gives the nonces and the 2025-03-01 time at which the RIM signers are
 * valid). The GPU state an attester adds inside the CVM (cc_mode,
 * cc_environment, devtools, ready) has no real capture in the corpus, so
 * the tests that need it add those claims by hand to a real verified
 * result, exactly where the bundle verifier puts them.
 */
#include "test_appraisal_util.h"

#define AT   "2025-03-01T00:00:00Z"
#define R580 "nvidia/hopper/h100_drv580.159.03_vb96.00.74.00.20_report.hex"
#define C580 "nvidia/hopper/h100_drv580.159.03_certchain.pem"
#define N580 "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca"
#define X4   "nvidia/evidence_json/h100x4_ppcie_drv590.12_nonce_e97b.json"

/* The 545.00 golden vector with its two RIMs: genuine, measurements match;
 * the corpus has no OCSP responses, so revocation status is unknown. */
static json_t *gpu545(veil_revocation_policy rev)
{
	static const char *const coll[] = {NV_C545, NV_DRV545, NV_VB545, NULL};
	return appr_verify("nvidia", NV_R545, true, coll, AT, rev, NV_N545);
}

static json_t *appraise(const char *policy, json_t *res)
{
	veil_policy *p = appr_policy(policy);
	json_t *ear = appr_run_policy(p, NULL, res, AT);

	veil_policy_free(p);
	return ear;
}

/* A GPU on its own, CC state not required: only what the report proves. */
#define ALONE(extra)                                                                               \
	"{\"version\":1,\"id\":\"gpu\",\"gpu\":{\"allow_without_cpu\":true,\"require_cc_mode\":"   \
	"false,\"allow_devtools\":true" extra "}}"

TEST(gpu_measurement_mismatch_refused)
{
	static const char *const coll[] = {C580, "nvidia/rims/", NULL};
	json_t *res =
	    appr_verify("nvidia", R580, true, coll, AT, VEIL_REVOCATION_ALLOW_UNKNOWN, N580);
	REQUIRE(res != NULL && json_is_false(json_object_get(res, "verified")));
	json_t *ear = appraise(ALONE(",\"revocation_unknown\":\"allow\""), res);
	REQUIRE(ear != NULL);
	/* SOURCES.md: against the 2023 VBIOS RIM, index 9 differs. */
	EXPECT(appr_tv(ear, "gpu0", "executables") == 96);
	EXPECT(appr_reason(ear, "gpu0", "executables", 96,
			   "check vbios_rim.measurements failed: 1 of"));
	EXPECT(appr_reason(ear, "gpu0", "executables", 96, "index 9"));
	EXPECT(appr_reason(ear, "gpu0", "executables", 96, "check driver_rim failed"));
	EXPECT(appr_tv(ear, "gpu0", "instance-identity") == 0); /* rules did not run */
	EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
	json_decref(ear);
	/* A policy that tolerates missing or differing RIMs: a warning, never
	 * affirming, and the rules on the (signed) claims run. */
	ear = appraise(ALONE(",\"revocation_unknown\":\"allow\",\"require_rim_match\":false"), res);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "gpu0", "executables") == 33);
	EXPECT(appr_reason(ear, "gpu0", "executables", 33, "index 9"));
	EXPECT(appr_tv(ear, "gpu0", "hardware") == 2);
	EXPECT(strcmp(veil_ear_status(ear), "warning") == 0);
	json_decref(ear);
	json_decref(res);
}

TEST(gpu_revocation_unknown_deny_warn_allow)
{
	veil_policy *deny = appr_policy(ALONE(""));
	veil_policy *warn = appr_policy(ALONE(",\"revocation_unknown\":\"warn\""));
	veil_policy *allow = appr_policy(ALONE(",\"revocation_unknown\":\"allow\""));
	REQUIRE(deny != NULL && warn != NULL && allow != NULL);
	EXPECT(veil_policy_verify_revocation(deny) == VEIL_REVOCATION_REQUIRE);
	EXPECT(veil_policy_verify_revocation(warn) == VEIL_REVOCATION_ALLOW_UNKNOWN);
	EXPECT(veil_policy_verify_revocation(allow) == VEIL_REVOCATION_ALLOW_UNKNOWN);

	/* deny: verification itself refuses unknown status. */
	json_t *res = gpu545(veil_policy_verify_revocation(deny));
	json_t *ear = appr_run_policy(deny, NULL, res, AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "instance-identity", 96,
			   "check gpu.revocation failed: unknown"));
	EXPECT(appr_reason(ear, "gpu0", "executables", 96, "check driver_rim.revocation failed"));
	EXPECT(appr_reason(ear, "gpu0", "executables", 96, "check vbios_rim.revocation failed"));
	EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
	json_decref(ear);
	json_decref(res);

	res = gpu545(VEIL_REVOCATION_ALLOW_UNKNOWN);
	REQUIRE(json_is_true(json_object_get(res, "verified")));
	/* A result verified leniently still fails a deny policy, from its claims. */
	ear = appr_run_policy(deny, NULL, res, AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "instance-identity", 96,
			   "revocation status of the gpu certificate is unknown and the policy "
			   "denies"));
	EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
	json_decref(ear);
	/* warn: a warning on hardware (the GPU) and executables (the RIMs). */
	ear = appr_run_policy(warn, NULL, res, AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "gpu0", "hardware") == 32);
	EXPECT(appr_reason(ear, "gpu0", "hardware", 32, "gpu certificate is unknown"));
	EXPECT(appr_reason(ear, "gpu0", "executables", 32, "driver_rim certificate is unknown"));
	EXPECT(strcmp(veil_ear_status(ear), "warning") == 0);
	json_decref(ear);
	/* allow: affirming, measurements matched; the unknown status is noted. */
	ear = appr_run_policy(allow, NULL, res, AT);
	REQUIRE(ear != NULL);
	EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
	EXPECT(appr_tv(ear, "gpu0", "executables") == 2);
	EXPECT(appr_tv(ear, "gpu0", "hardware") == 2);
	EXPECT(appr_reason(ear, "gpu0", "hardware", 2,
			   "gpu certificate is unknown, which the policy allows"));
	EXPECT(appr_reason_count(ear, "gpu0") == 3);
	json_decref(ear);
	json_decref(res);
	veil_policy_free(deny);
	veil_policy_free(warn);
	veil_policy_free(allow);
}

/* Adds attester-reported GPU state to a result's claims. */
static json_t *with_state(const char *mode, const char *env, bool devtools, bool ready)
{
	json_t *res = gpu545(VEIL_REVOCATION_ALLOW_UNKNOWN);
	json_t *claims = json_object_get(res, "claims");

	json_object_set_new(claims, "cc_mode", json_string(mode));
	json_object_set_new(claims, "cc_environment", json_string(env));
	json_object_set_new(claims, "devtools", json_boolean(devtools));
	json_object_set_new(claims, "ready", json_boolean(ready));
	return res;
}

#define CC_POLICY(extra)                                                                           \
	"{\"version\":1,\"id\":\"cc\",\"gpu\":{\"allow_without_cpu\":true,"                        \
	"\"revocation_unknown\":\"allow\"" extra "}}"

TEST(gpu_cc_state)
{
	/* Not reported (no attester state in the evidence): fails closed. */
	json_t *res = gpu545(VEIL_REVOCATION_ALLOW_UNKNOWN);
	json_t *ear = appraise(CC_POLICY(""), res);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "gpu0", "runtime-opaque") == 96);
	EXPECT(appr_reason(ear, "gpu0", "runtime-opaque", 96, "CC mode was not reported"));
	EXPECT(appr_reason(ear, "gpu0", "configuration", 96, "DEVTOOLS mode was not reported"));
	json_decref(ear);
	/* Tolerating an unreported CC mode does not tolerate unknown DEVTOOLS. */
	ear = appraise(CC_POLICY(",\"require_cc_mode\":false"), res);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "gpu0", "runtime-opaque") != 96);
	EXPECT(appr_reason(ear, "gpu0", "configuration", 96, "DEVTOOLS mode was not reported"));
	json_decref(ear);
	json_decref(res);

	res = with_state("on", "prod", false, true);
	ear = appraise(CC_POLICY(",\"require_ready\":true"), res);
	REQUIRE(ear != NULL);
	EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
	EXPECT(appr_tv(ear, "gpu0", "runtime-opaque") == 2);
	EXPECT(appr_tv(ear, "gpu0", "configuration") == 2);
	json_decref(ear);
	json_decref(res);

	res = with_state("off", "none", false, true);
	ear = appraise(CC_POLICY(""), res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "runtime-opaque", 96, "CC mode is off"));
	EXPECT(appr_reason(ear, "gpu0", "configuration", 96, "cc_environment is none"));
	json_decref(ear);
	/* require_cc_mode false only tolerates an unreported state, never "off". */
	ear = appraise(CC_POLICY(",\"require_cc_mode\":false"), res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "runtime-opaque", 96, "CC mode is off"));
	json_decref(ear);
	json_decref(res);

	res = with_state("on", "prod", true, false);
	ear = appraise(CC_POLICY(",\"require_ready\":true"), res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "configuration", 96, "DEVTOOLS mode is on"));
	EXPECT(appr_reason(ear, "gpu0", "configuration", 96, "ready state is not true"));
	json_decref(ear);
	ear = appraise(CC_POLICY(",\"allow_devtools\":true"), res);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "gpu0", "configuration") == 2);
	EXPECT(
	    appr_reason(ear, "gpu0", "configuration", 2, "DEVTOOLS mode is on, which the policy"));
	EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
	json_decref(ear);
	json_decref(res);

	/* A real NVIDIA GPU claiming the simulated environment. */
	res = with_state("on", "sim", false, true);
	ear = appraise(CC_POLICY(""), res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "configuration", 96, "a nvidia GPU must report prod"));
	json_decref(ear);
	json_decref(res);
}

TEST(gpu_without_cpu_and_min_driver)
{
	json_t *res = gpu545(VEIL_REVOCATION_ALLOW_UNKNOWN);
	json_t *ear = appraise("{\"version\":1,\"id\":\"g\",\"gpu\":{\"require_cc_mode\":false,"
			       "\"revocation_unknown\":\"allow\"}}",
			       res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "hardware", 96, "GPU evidence without a CPU TEE report"));
	json_decref(ear);
	static const struct {
		const char *min;
		bool older;
	} cases[] = {{"550", true},        {"545", false},    {"545.0.1", true},
		     {"544.99.99", false}, {"545.00", false}, {"1000", true}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char policy[256];
		snprintf(policy, sizeof policy,
			 "{\"version\":1,\"id\":\"g\",\"gpu\":{\"allow_without_cpu\":true,"
			 "\"require_cc_mode\":false,\"allow_devtools\":true,\"revocation_unknown\":"
			 "\"allow\","
			 "\"min_driver_version\":\"%s\"}}",
			 cases[i].min);
		ear = appraise(policy, res);
		REQUIRE(ear != NULL);
		EXPECT(appr_reason(ear, "gpu0", "executables", 96, "driver 545.00 is older") ==
		       cases[i].older);
		EXPECT((appr_tv(ear, "gpu0", "executables") == 96) == cases[i].older);
		json_decref(ear);
	}
	json_decref(res);
}

TEST(gpu_reference_values)
{
	veil_refvals *rv = appr_refvals("{\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\","
					"\"sets\":{\"drivers\":[\"545.00\",\"550.90.07\"],"
					"\"vbios\":[\"96.00.9F.00.01\"]}}");
	veil_policy *p = appr_policy(ALONE(",\"revocation_unknown\":\"allow\",\"match\":{"
					   "\"driver_version\":\"drivers\",\"vbios_version\":"
					   "\"vbios\"}"));
	json_t *res = gpu545(VEIL_REVOCATION_ALLOW_UNKNOWN);
	json_t *ear = appr_run_policy(p, rv, res, AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "gpu0", "executables") == 2);
	/* VBIOS 96.00.5E.00.01 is not in the set: hardware, contraindicated. */
	EXPECT(appr_reason(ear, "gpu0", "hardware", 96,
			   "vbios_version \"96.00.5E.00.01\" is not in reference-value set"));
	json_decref(ear);
	json_decref(res);
	veil_policy_free(p);
	veil_refvals_free(rv);
}

/* NVIDIA's SDK list of four GPUs (no RIMs for driver 590.12 in the corpus). */
static json_t *x4_list(const char *declared_nonce)
{
	size_t n;
	uint8_t *buf = td_read(X4, &n);
	json_t *doc = NULL, *res = NULL;
	veil_verify_ctx ctx = {.at = td_time(AT), .revocation = VEIL_REVOCATION_ALLOW_UNKNOWN};

	if (declared_nonce != NULL) {
		if (veil_json_parse(buf, n, &doc) != VEIL_OK)
			harness_fail(__FILE__, __LINE__, "parse list");
		json_object_set_new(json_array_get(doc, 0), "nonce", json_string(declared_nonce));
		free(buf);
		buf = (uint8_t *)json_dumps(doc, JSON_COMPACT);
		n = strlen((char *)buf);
		json_decref(doc);
	}
	if (veil_gpu_list_verify(buf, n, &ctx, NULL, &res) != VEIL_OK)
		harness_fail(__FILE__, __LINE__, "veil_gpu_list_verify");
	free(buf);
	return res;
}

TEST(gpu_list_from_nvidia_sdk)
{
	json_t *res = x4_list(NULL);
	REQUIRE(res != NULL);
	/* RIMs not at hand are tolerated here: what is left is the CC state
	 * such a list cannot carry. */
	json_t *ear = appraise("{\"version\":1,\"id\":\"l\",\"gpu\":{\"allow_without_cpu\":true,"
			       "\"require_rim_match\":false,\"revocation_unknown\":\"allow\"}}",
			       res);
	REQUIRE(ear != NULL);
	EXPECT(json_object_size(json_object_get(ear, "submods")) == 4);
	static const char *const names[] = {"gpu0", "gpu1", "gpu2", "gpu3"};
	for (size_t i = 0; i < 4; i++) {
		EXPECT(appr_reason(ear, names[i], "executables", 33, "check driver_rim failed"));
		EXPECT(
		    appr_reason(ear, names[i], "runtime-opaque", 96, "CC mode was not reported"));
		/* The list's "device" verdicts restate the parts' own failures. */
		EXPECT(!appr_reason(ear, names[i], "instance-identity", 99, "check device failed"));
		EXPECT(appr_tv(ear, names[i], "instance-identity") == 2);
	}
	json_decref(ear);
	json_decref(res);
	/* One entry's declared nonce differs from its signed one: that GPU only. */
	res = x4_list(NV_N545);
	ear = appraise(
	    "{\"version\":1,\"id\":\"l\",\"gpu\":{\"allow_without_cpu\":true,"
	    "\"require_rim_match\":false,\"require_cc_mode\":false,\"allow_devtools\":true,"
	    "\"revocation_unknown\":\"allow\"}}",
	    res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "instance-identity", 99, "check declared_nonce failed"));
	EXPECT(!appr_reason(ear, "gpu1", "instance-identity", 99, "declared_nonce"));
	EXPECT(strcmp(appr_status(ear, "gpu0"), "contraindicated") == 0);
	EXPECT(strcmp(appr_status(ear, "gpu1"), "warning") == 0);
	json_decref(ear);
	json_decref(res);
}

int main(void)
{
	RUN(gpu_measurement_mismatch_refused);
	RUN(gpu_revocation_unknown_deny_warn_allow);
	RUN(gpu_cc_state);
	RUN(gpu_without_cpu_and_min_driver);
	RUN(gpu_reference_values);
	RUN(gpu_list_from_nvidia_sdk);
	return harness_finish("test_appraisal_gpu");
}

/*
 * test_appraisal_sim.c - appraising simulated-TEE results, composite rules,
 * and results of the wrong shape.
 *
 * The sim results here are built by hand, in exactly the shape `veil
 * verify --json` gives sim evidence (claims as listed in the task that
 * specified the sim format: insecure, measurement, debug, tcb_decoded,
 * generated_at, platform_id, sim_root; checks report.parse, sim.root,
 * sim.chain, report.signature), so appraisal can be tested on every value
 * without a sim platform on disk. Hand-built results also reach the shapes
 * verification never produces (no checks, a verdict without a reason),
 * which appraisal must still refuse.
 */
#include "test_appraisal_util.h"

#define NOW      1767225600 /* 2026-01-01T00:00:00Z */
#define NOW_TEXT "2026-01-01T00:00:00Z"
#define ROOT     "0680cebb725b959bf1d722a1575d6c99918ed12e42407cae4400e64aeb60f90f"
#define ROOT2    "1111111111111111111111111111111111111111111111111111111111111111"
#define MEAS                                                                                       \
	"bd089515769da99485089765385f2286753326b141f7d683a62eb3b1f8c2da5a5ca35b6d6d5add97f76af21f" \
	"743b2a75"

static json_t *checks_ok(void)
{
	return json_pack("[{s:s,s:b,s:s},{s:s,s:b,s:s},{s:s,s:b,s:s},{s:s,s:b,s:s}]", "name",
			 "report.parse", "ok", 1, "detail", "sim report version 1", "name",
			 "sim.root", "ok", 1, "detail", "trusted", "name", "sim.chain", "ok", 1,
			 "detail", "platform certificate -> sim root", "name", "report.signature",
			 "ok", 1, "detail", "ECDSA P-384");
}

static json_t *sim_cpu(int64_t generated_at, bool debug, const char *root)
{
	return json_pack(
	    "{s:s, s:b, s:s, s:o, s:{s:b, s:i, s:s, s:s, s:b, s:s, s:{s:i,s:i,s:i,s:i}, s:I, s:s, "
	    "s:s}}",
	    "tee", "sim", "verified", 1, "at", NOW_TEXT, "checks", checks_ok(), "claims",
	    "insecure", 1, "version", 1, "measurement", MEAS, "host_data",
	    "0000000000000000000000000000000000000000000000000000000000000000", "debug", debug,
	    "tcb", "0x7308000000000003", "tcb_decoded", "bootloader", 3, "tee", 0, "snp", 8,
	    "microcode", 115, "generated_at", (json_int_t)generated_at, "platform_id",
	    "ac23a6b94208cfcc00b65ea06577fd3b889e72fb528ec007fae2e8f1e60c0977", "sim_root", root);
}

static json_t *sim_gpu(const char *env)
{
	return json_pack("{s:s, s:b, s:s, s:o, s:{s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:b}}", "tee",
			 "sim-gpu", "verified", 1, "at", NOW_TEXT, "checks", checks_ok(), "claims",
			 "insecure", 1, "driver_version", "550.90.07", "vbios_version",
			 "96.00.9F.00.04", "sim_root", ROOT, "cc_mode", "on", "cc_environment", env,
			 "devtools", 0, "ready", 1);
}

/* A bundle as veil_bundle_verify shapes it: tee "bundle", submods cpu, gpuN. */
static json_t *sim_bundle(size_t gpus, const char *env)
{
	json_t *submods = json_pack("{s:o}", "cpu", sim_cpu(NOW - 5, false, ROOT));
	json_t *checks = json_pack("[{s:s,s:b,s:s}]", "name", "binding.primary", "ok", 1, "detail",
				   "CPU report verified");
	for (size_t i = 0; i < gpus; i++) {
		char name[8];
		snprintf(name, sizeof name, "gpu%zu", i);
		json_object_set_new(submods, name, sim_gpu(env));
		json_array_append_new(checks, json_pack("{s:s,s:b,s:s}", "name", "binding.device",
							"ok", 1, "detail", "bound"));
	}
	return json_pack("{s:s, s:b, s:s, s:o, s:{s:{s:s}}, s:o}", "tee", "bundle", "verified", 1,
			 "at", NOW_TEXT, "checks", checks, "claims", "runtime_data", "nonce", "n",
			 "submods", submods);
}

static json_t *appraise(const char *policy, const veil_refvals *rv, json_t *res)
{
	veil_policy *p = appr_policy(policy);
	json_t *ear = appr_run_policy(p, rv, res, NOW_TEXT);

	veil_policy_free(p);
	json_decref(res);
	return ear;
}

#define SIM_POLICY(extra)                                                                          \
	"{\"version\":1,\"id\":\"sim\",\"sim\":{\"roots\":[\"" ROOT "\"]" extra "}}"
#define SIM_GPU_POLICY(gpu)                                                                        \
	"{\"version\":1,\"id\":\"sim\",\"sim\":{\"roots\":[\"" ROOT "\"]},\"gpu\":{" gpu "}}"

TEST(sim_affirming_and_always_insecure)
{
	json_t *ear = appraise(SIM_GPU_POLICY("\"min_count\":2"), NULL, sim_bundle(2, "sim"));
	REQUIRE(ear != NULL);
	EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
	EXPECT(json_is_true(json_object_get(ear, "veil.insecure")));
	EXPECT(json_is_true(json_object_get(ear_sub(ear, "cpu0"), "veil.insecure")));
	EXPECT(json_is_true(json_object_get(ear_sub(ear, "gpu1"), "veil.insecure")));
	/* Memory of a simulated TEE is not protected: no runtime-opaque claim. */
	EXPECT(appr_tv(ear, "cpu0", "runtime-opaque") == 0);
	EXPECT(appr_tv(ear, "gpu0", "runtime-opaque") == 2);
	EXPECT(appr_reason_count(ear, "cpu0") == 0 && appr_reason_count(ear, "gpu1") == 0);
	json_decref(ear);
	/* Even the insecure claim missing does not make a sim secure. */
	json_t *res = sim_cpu(NOW, false, ROOT);
	json_object_del(json_object_get(res, "claims"), "insecure");
	ear = appraise(SIM_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(json_is_true(json_object_get(ear, "veil.insecure")));
	json_decref(ear);
}

TEST(sim_root_must_be_trusted)
{
	json_t *ear = appraise(SIM_POLICY(""), NULL, sim_cpu(NOW, false, ROOT2));
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 97, "sim root " ROOT2 " is not among"));
	EXPECT(appr_tv(ear, "cpu0", "instance-identity") == 97);
	json_decref(ear);
	ear = appraise("{\"version\":1,\"id\":\"no-sim\",\"snp\":{}}", NULL,
		       sim_cpu(NOW, false, ROOT));
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 96, "does not accept sim evidence"));
	json_decref(ear);
	/* A sim GPU needs the sim roots too. */
	ear = appraise("{\"version\":1,\"id\":\"g\",\"gpu\":{\"allow_without_cpu\":true}}", NULL,
		       sim_gpu("sim"));
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "hardware", 96, "does not accept simulated devices"));
	json_decref(ear);
}

TEST(sim_freshness)
{
	static const struct {
		int64_t generated_at;
		const char *extra, *why; /* why: NULL when accepted */
	} cases[] = {
	    {NOW - 300, "", NULL},
	    {NOW - 301, "", "generated 301 s ago, older than the policy's max_age_seconds 300"},
	    {NOW + 60, "", NULL},
	    {NOW + 61, "", "ahead of the verifier's clock"},
	    {NOW - 10, ",\"max_age_seconds\":10", NULL},
	    {NOW - 11, ",\"max_age_seconds\":10", "max_age_seconds 10"},
	    {INT64_MIN + 1, "", "older than"},
	    {INT64_MAX, "", "ahead of"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char policy[256];
		snprintf(policy, sizeof policy,
			 "{\"version\":1,\"id\":\"sim\",\"sim\":{\"roots\":[\"%s\"]%s}}", ROOT,
			 cases[i].extra);
		json_t *ear = appraise(policy, NULL, sim_cpu(cases[i].generated_at, false, ROOT));
		REQUIRE(ear != NULL);
		if (cases[i].why == NULL) {
			EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
		} else {
			EXPECT(appr_reason(ear, "cpu0", "instance-identity", 96, cases[i].why));
			EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
		}
		json_decref(ear);
	}
	/* generated_at is required. */
	json_t *res = sim_cpu(NOW, false, ROOT);
	json_object_del(json_object_get(res, "claims"), "generated_at");
	json_t *ear = appraise(SIM_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "instance-identity", 96, "claim generated_at is absent"));
	json_decref(ear);
}

TEST(sim_tcb_debug_measurement)
{
	json_t *ear = appraise(SIM_POLICY(",\"min_tcb\":{\"snp\":9,\"microcode\":115}"), NULL,
			       sim_cpu(NOW, true, ROOT));
	REQUIRE(ear != NULL);
	EXPECT(
	    appr_reason(ear, "cpu0", "hardware", 96, "tcb snp 8 is below the policy's minimum 9"));
	EXPECT(!appr_reason(ear, "cpu0", "hardware", 96, "microcode"));
	EXPECT(appr_reason(ear, "cpu0", "configuration", 96, "debug is on"));
	json_decref(ear);
	veil_refvals *rv = appr_refvals("{\"version\":1,\"expires\":\"2027-01-01\",\"sets\":{"
					"\"sim-workloads\":[\"" MEAS "\"]}}");
	ear = appraise(SIM_POLICY(",\"match\":{\"measurement\":\"sim-workloads\",\"platform_id\":"
				  "\"sim-workloads\"}"),
		       rv, sim_cpu(NOW, false, ROOT));
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "executables") == 3);
	/* An identity not in its allowlist is "not recognized" (97). */
	EXPECT(appr_reason(ear, "cpu0", "instance-identity", 97, "platform_id \"ac23a6b9"));
	json_decref(ear);
	veil_refvals_free(rv);
}

TEST(gpus_in_the_whole)
{
	/* Fewer GPUs than required. */
	json_t *ear = appraise(SIM_GPU_POLICY("\"min_count\":2"), NULL, sim_bundle(1, "sim"));
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "configuration", 96, "at least 2 GPUs"));
	json_decref(ear);
	ear = appraise(SIM_GPU_POLICY("\"required\":false,\"min_count\":2"), NULL,
		       sim_bundle(1, "sim"));
	REQUIRE(ear != NULL);
	EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
	json_decref(ear);
	/* GPUs required by default, and none in the evidence. */
	ear = appraise(SIM_GPU_POLICY(""), NULL, sim_bundle(0, "sim"));
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "configuration", 96, "at least 1 GPU (gpu.min_count)"));
	json_decref(ear);
	/* GPUs the policy says nothing about: fail closed. */
	ear = appraise(SIM_POLICY(""), NULL, sim_bundle(1, "sim"));
	REQUIRE(ear != NULL);
	EXPECT(strcmp(appr_status(ear, "cpu0"), "affirming") == 0);
	EXPECT(appr_reason(ear, "gpu0", "hardware", 96, "no \"gpu\" member"));
	EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
	json_decref(ear);
	/* A sim GPU claiming production. */
	ear = appraise(SIM_GPU_POLICY(""), NULL, sim_bundle(1, "prod"));
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "configuration", 96, "a sim-gpu GPU must report sim"));
	json_decref(ear);
	/* A CPU report where a GPU belongs, and an unknown TEE. */
	json_t *res = sim_bundle(1, "sim");
	json_object_set_new(json_object_get(res, "submods"), "gpu0", sim_cpu(NOW, false, ROOT));
	ear = appraise(SIM_GPU_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "hardware", 97, "a sim report in the gpu0 position"));
	json_decref(ear);
	res = sim_cpu(NOW, false, ROOT);
	json_object_set_new(res, "tee", json_string("tpm"));
	ear = appraise(SIM_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 97, "no appraisal rules for tee \"tpm\""));
	json_decref(ear);
}

TEST(verdicts_without_reasons_fail_closed)
{
	/* "verified" true but no checks: nothing shows it is genuine. */
	json_t *res = sim_cpu(NOW, false, ROOT);
	json_object_set_new(res, "checks", json_array());
	json_t *ear = appraise(SIM_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "instance-identity", 99, "recorded no checks"));
	json_decref(ear);
	/* "verified" false with every check passing. */
	res = sim_cpu(NOW, false, ROOT);
	json_object_set_new(res, "verified", json_false());
	ear = appraise(SIM_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "instance-identity", 99, "did not verify"));
	json_decref(ear);
	/* A bundle not verified, every part and check fine. */
	res = sim_bundle(1, "sim");
	json_object_set_new(res, "verified", json_false());
	ear = appraise(SIM_GPU_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "instance-identity", 99, "names no failed check"));
	json_decref(ear);
	/* A failed bundle check naming a part lands on that part; one naming
	 * none lands on the CPU. */
	res = sim_bundle(2, "sim");
	json_array_append_new(json_object_get(res, "checks"),
			      json_pack("{s:s,s:b,s:s}", "name", "devices.distinct", "ok", 0,
					"detail", "gpu1 and gpu10 are the same device"));
	json_array_append_new(
	    json_object_get(res, "checks"),
	    json_pack("{s:s,s:b,s:s}", "name", "freshness", "ok", 0, "detail", "stale"));
	ear = appraise(SIM_GPU_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu1", "instance-identity", 96, "devices.distinct"));
	EXPECT(!appr_reason(ear, "gpu0", "instance-identity", 96, "devices.distinct"));
	EXPECT(appr_reason(ear, "cpu0", "instance-identity", 99, "check freshness failed: stale"));
	EXPECT(strcmp(appr_status(ear, "gpu0"), "affirming") == 0);
	json_decref(ear);
}

TEST(reasons_are_capped)
{
	json_t *res = sim_cpu(NOW, false, ROOT), *checks = json_object_get(res, "checks");
	for (int i = 0; i < VEIL_APPRAISAL_REASONS_MAX + 10; i++) {
		char name[32];
		snprintf(name, sizeof name, "x.check%d", i);
		json_array_append_new(checks, json_pack("{s:s,s:b,s:s}", "name", name, "ok", 0,
							"detail", "\x01\x1b[31m"));
	}
	json_t *ear = appraise(SIM_POLICY(""), NULL, res);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason_count(ear, "cpu0") == VEIL_APPRAISAL_REASONS_MAX);
	EXPECT(json_is_true(json_object_get(ear_sub(ear, "cpu0"), "veil.reasons_truncated")));
	/* Control characters from a check's detail never reach the EAR. */
	EXPECT(appr_reason(ear, "cpu0", "instance-identity", 99, "x.check0 failed: ??[31m"));
	json_decref(ear);
}

TEST(results_of_the_wrong_shape)
{
	veil_policy *p = appr_policy(SIM_POLICY(""));
	json_t *ear = NULL, *res;
	REQUIRE(p != NULL);
	static const char *const bad[] = {
	    "[1]",
	    "{\"tee\":\"sim\",\"verified\":true,\"claims\":{}}",
	    "{\"tee\":\"sim\",\"verified\":\"yes\",\"checks\":[]}",
	    "{\"tee\":1,\"verified\":true,\"checks\":[]}",
	    "{\"tee\":\"sim\",\"verified\":true,\"checks\":[{\"name\":\"a\"}]}",
	    "{\"tee\":\"sim\",\"verified\":true,\"checks\":[],\"claims\":[]}",
	    "{\"tee\":\"sim\",\"verified\":true,\"checks\":[],\"submods\":[]}",
	    "{\"tee\":\"bundle\",\"verified\":true,\"checks\":[],\"submods\":{}}",
	    "{\"tee\":\"sim\",\"verified\":true,\"checks\":[],\"submods\":{\"tpm0\":{}}}",
	    "{\"tee\":\"nvidia\",\"verified\":true,\"checks\":[],\"submods\":{}}",
	    "{\"tee\":\"nvidia\",\"verified\":true,\"checks\":[],\"submods\":{\"GPU-123\":{}}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		res = json_loads(bad[i], 0, NULL);
		REQUIRE(res != NULL);
		EXPECT_ERR(veil_appraise(p, NULL, res, NOW, &ear), VEIL_E_USAGE);
		EXPECT(ear == NULL);
		json_decref(res);
	}
	/* gpu0 and GPU-0 would be the same submodule. */
	res = sim_bundle(1, "sim");
	json_object_set_new(json_object_get(res, "submods"), "GPU-0", sim_gpu("sim"));
	EXPECT_ERR(veil_appraise(p, NULL, res, NOW, &ear), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "gpu0") != NULL);
	EXPECT_ERR(veil_appraise(NULL, NULL, res, NOW, &ear), VEIL_E_USAGE);
	EXPECT_ERR(veil_appraise(p, NULL, NULL, NOW, &ear), VEIL_E_USAGE);
	EXPECT_ERR(veil_appraise(p, NULL, res, NOW, NULL), VEIL_E_USAGE);
	json_decref(res);
	veil_policy_free(p);
}

TEST(overall_status)
{
	static const struct {
		const char *ear, *status;
	} cases[] = {
	    {"{}", "none"},
	    {"{\"submods\":{}}", "none"},
	    {"{\"submods\":{\"a\":{\"ear.status\":\"affirming\"}}}", "affirming"},
	    /* One part that made no claim: not affirming. */
	    {"{\"submods\":{\"a\":{\"ear.status\":\"affirming\"},\"b\":{\"ear.status\":\"none\"}}}",
	     "none"},
	    {"{\"submods\":{\"a\":{\"ear.status\":\"warning\"},\"b\":{\"ear.status\":\"none\"}}}",
	     "warning"},
	    {"{\"submods\":{\"a\":{\"ear.status\":\"contraindicated\"},\"b\":{\"ear.status\":"
	     "\"warning\"}}}",
	     "contraindicated"},
	    {"{\"submods\":{\"a\":{\"ear.status\":\"affirming\"},\"b\":{}}}", "none"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *ear = json_loads(cases[i].ear, 0, NULL);
		REQUIRE(ear != NULL);
		EXPECT(strcmp(veil_ear_status(ear), cases[i].status) == 0);
		json_decref(ear);
	}
	EXPECT(strcmp(veil_ear_status(NULL), "none") == 0);
}

int main(void)
{
	RUN(sim_affirming_and_always_insecure);
	RUN(sim_root_must_be_trusted);
	RUN(sim_freshness);
	RUN(sim_tcb_debug_measurement);
	RUN(gpus_in_the_whole);
	RUN(verdicts_without_reasons_fail_closed);
	RUN(reasons_are_capped);
	RUN(results_of_the_wrong_shape);
	RUN(overall_status);
	return harness_finish("test_appraisal_sim");
}

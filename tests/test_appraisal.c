/*
 * test_appraisal.c - appraising real SEV-SNP and TDX evidence, bundles and
 * reference values, and the shape of the EAR.
 *
 * Every result here comes from verifying real corpus evidence through the
 * library (testdata/snp, testdata/tdx, their SOURCES.md give the times), so
 * the claims are the ones real hardware signs. Each test appraises one
 * result under policies that accept it and policies that refuse it, and
 * asserts the exact AR4SI claim, value and reason: a refusal for the wrong
 * reason is a failure too.
 */
#include "test_appraisal_util.h"

#define GO_REPORT "snp/go-sev-guest/attestation.bin"
#define GO_VCEK   "snp/go-sev-guest/vcek.testcer"
#define GO_AT     "2023-01-01T00:00:00Z"
#define VT_REPORT "snp/virtee-sev/report_milan.DERIVED.bin"
#define VT_VCEK   "snp/virtee-sev/vcek_milan.der"
#define VT_AT     "2024-01-01T00:00:00Z"
#define VT_MEASURE                                                                                 \
	"7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480" \
	"cd81841f"
#define Q6_AT "2025-11-01T00:00:00Z"
#define Q6_MRTD                                                                                    \
	"21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6bec" \
	"ffbb1e88"

static const char *const go_coll[] = {GO_VCEK, NULL};
static const char *const vt_coll[] = {VT_VCEK, NULL};
/* tdx/SOURCES.md: quote 6 with Trustee's TCB Info and QE Identity is
 * OutOfDate by Intel's algorithm at 2025-11-01. */
static const char *const q6_coll[] = {
    "tdx/trustee/tcbInfo.json", "tdx/trustee/enclaveIdentity.json",
    "tdx/phala-dcap-qvl/derived/tcb_signing_chain_2025-2032.DERIVED.pem",
    "tdx/phala-dcap-qvl/derived/tdx_quote.root_ca_crl.DERIVED.der", NULL};
/* Quote 4 (a debug TD) is UpToDate with go-tdx-guest's collateral. */
static const char *const q4_coll[] = {"tdx/go-tdx-guest/sample_tcbInfo_response",
				      "tdx/go-tdx-guest/sample_qeIdentity_response",
				      "tdx/go-tdx-guest/tcbinfo_issuer_chain.DERIVED.pem", NULL};

static json_t *go_snp(void)
{
	return appr_verify("snp", GO_REPORT, false, go_coll, GO_AT, VEIL_REVOCATION_REQUIRE, NULL);
}

static json_t *tdx_q6(void)
{
	return appr_verify("tdx", "tdx/trustee/tdx_quote_6.dat", false, q6_coll, Q6_AT,
			   VEIL_REVOCATION_REQUIRE, NULL);
}

/* One policy, one result: the EAR (the policy and result are freed). */
static json_t *appraise(const char *policy, const veil_refvals *rv, json_t *res, const char *now)
{
	veil_policy *p = appr_policy(policy);
	json_t *ear = appr_run_policy(p, rv, res, now);

	veil_policy_free(p);
	json_decref(res);
	return ear;
}

TEST(snp_debug_guest_refused_unless_allowed)
{
	json_t *res = go_snp();
	REQUIRE(json_is_true(json_object_get(res, "verified")));
	json_incref(res);
	json_t *ear =
	    appraise("{\"version\":1,\"id\":\"snp-strict\",\"snp\":{}}", NULL, res, GO_AT);
	REQUIRE(ear != NULL);
	EXPECT(strcmp(appr_status(ear, "cpu0"), "contraindicated") == 0);
	EXPECT(appr_tv(ear, "cpu0", "configuration") == 96);
	EXPECT(appr_reason(ear, "cpu0", "configuration", 96, "debug is on and the policy forbids"));
	/* Only debug is wrong: the platform itself is fine. */
	EXPECT(appr_tv(ear, "cpu0", "hardware") == 2);
	EXPECT(appr_tv(ear, "cpu0", "instance-identity") == 2);
	EXPECT(appr_tv(ear, "cpu0", "runtime-opaque") == 2);
	EXPECT(appr_reason_count(ear, "cpu0") == 1);
	EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
	json_decref(ear);

	/* allow_debug: accepted (configuration 2, a configuration the policy
	 * approves), and the EAR still says debug is on. */
	ear = appraise("{\"version\":1,\"id\":\"snp-debug\",\"allow_debug\":true,\"snp\":{}}", NULL,
		       res, GO_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "configuration") == 2);
	EXPECT(
	    appr_reason(ear, "cpu0", "configuration", 2, "debug is on, which the policy allows"));
	EXPECT(strcmp(appr_status(ear, "cpu0"), "affirming") == 0);
	EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
	json_decref(ear);
}

TEST(snp_min_tcb)
{
	/* REPORTED_TCB and COMMITTED_TCB: bl 2 tee 0 snp 5 ucode 68. */
	json_t *ear =
	    appraise("{\"version\":1,\"id\":\"t\",\"allow_debug\":true,\"snp\":{\"min_tcb\":"
		     "{\"bootloader\":2,\"tee\":0,\"snp\":5,\"microcode\":68,\"fmc\":9}}}",
		     NULL, go_snp(), GO_AT);
	REQUIRE(ear != NULL);
	/* Equal passes; fmc does not exist on Milan, so its minimum does not apply. */
	EXPECT(appr_tv(ear, "cpu0", "hardware") == 2);
	json_decref(ear);
	ear = appraise("{\"version\":1,\"id\":\"t\",\"allow_debug\":true,\"snp\":{\"min_tcb\":"
		       "{\"snp\":6}}}",
		       NULL, go_snp(), GO_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "hardware") == 96);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 96,
			   "reported_tcb snp 5 is below the policy's minimum 6"));
	EXPECT(appr_reason(ear, "cpu0", "hardware", 96,
			   "committed_tcb snp 5 is below the policy's minimum 6"));
	EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
	json_decref(ear);
	ear = appraise("{\"version\":1,\"id\":\"t\",\"allow_debug\":true,\"snp\":{\"min_tcb\":"
		       "{\"microcode\":69}}}",
		       NULL, go_snp(), GO_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 96, "microcode 68 is below"));
	json_decref(ear);
}

TEST(snp_products_vmpl_guest_svn)
{
	json_t *ear = appraise(
	    "{\"version\":1,\"id\":\"t\",\"snp\":{\"products\":[\"Genoa\","
	    "\"Turin\"],\"vmpl\":[1,2],\"min_guest_svn\":1}}",
	    NULL,
	    appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    VT_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 96, "product Milan is not among"));
	EXPECT(appr_reason(ear, "cpu0", "configuration", 96, "VMPL 0"));
	EXPECT(appr_reason(ear, "cpu0", "executables", 96, "guest_svn 0 is below"));
	json_decref(ear);
	ear = appraise(
	    "{\"version\":1,\"id\":\"t\",\"snp\":{\"products\":[\"Milan\"],\"vmpl\":[0]}}", NULL,
	    appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    VT_AT);
	REQUIRE(ear != NULL);
	EXPECT(strcmp(appr_status(ear, "cpu0"), "affirming") == 0);
	EXPECT(appr_reason_count(ear, "cpu0") == 0);
	/* No reference values pinned: no executables claim is made. */
	EXPECT(appr_tv(ear, "cpu0", "executables") == 0);
	json_decref(ear);
}

static const char rv_virtee[] = "{\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"sets\":{"
				"\"snp-workloads\":[\"00ff\",\"7A1E5C266C0108DBC9BB94FA926951320940"
				"915D0AAFB42464BD88B579EA158D3E1A0DC39B2C60BD95B9C480CD81841F\"],"
				"\"other\":[\"00ff\"]}}";

TEST(snp_measurement_reference_values)
{
	veil_refvals *rv = appr_refvals(rv_virtee);
	const char *pin = "{\"version\":1,\"id\":\"pin\",\"snp\":{\"match\":{\"measurement\":"
			  "\"snp-workloads\"}}}";
	REQUIRE(rv != NULL);
	/* In the set (upper-case hex in the file): approved boot, affirming. */
	json_t *ear = appraise(
	    pin, rv,
	    appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    VT_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "executables") == 3);
	EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
	EXPECT(json_is_false(json_object_get(ear, "veil.insecure")));
	json_decref(ear);
	/* Not in the set. */
	ear = appraise(
	    "{\"version\":1,\"id\":\"pin\",\"snp\":{\"match\":{\"measurement\":"
	    "\"other\"}}}",
	    rv, appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    VT_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "executables") == 96);
	EXPECT(appr_reason(ear, "cpu0", "executables", 96,
			   "measurement \"" VT_MEASURE
			   "\" is not in reference-value set \"other\""));
	EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
	json_decref(ear);
	/* The same set, appraised after it expired: fails closed. */
	ear = appraise(
	    pin, rv,
	    appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    "2030-01-01T00:00:00Z");
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "executables", 96,
			   "set \"snp-workloads\" (test.json) expired at 2030-01-01T00:00:00Z"));
	json_decref(ear);
	/* A set that does not exist, and no reference values at all. */
	ear = appraise(
	    "{\"version\":1,\"id\":\"pin\",\"snp\":{\"match\":{\"measurement\":"
	    "\"no-such-set\"}}}",
	    rv, appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    VT_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "executables", 96,
			   "reference-value set \"no-such-set\" is not loaded"));
	json_decref(ear);
	ear = appraise(
	    pin, NULL,
	    appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    VT_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "executables", 96, "no reference values given"));
	json_decref(ear);
	/* A claim that is not there cannot be in any set. */
	ear = appraise(
	    "{\"version\":1,\"id\":\"pin\",\"snp\":{\"match\":{\"mr_td\":\"other\"}}}", rv,
	    appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    VT_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "executables", 96, "claim mr_td is absent"));
	json_decref(ear);
	veil_refvals_free(rv);
}

TEST(tdx_out_of_date_refused_unless_accepted)
{
	json_t *res = tdx_q6();
	REQUIRE(json_is_true(json_object_get(res, "verified")));
	REQUIRE(
	    strcmp(json_string_value(json_object_get(json_object_get(res, "claims"), "tcb_status")),
		   "OutOfDate") == 0);
	json_incref(res);
	json_t *ear = appraise("{\"version\":1,\"id\":\"tdx\",\"tdx\":{}}", NULL, res, Q6_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "hardware") == 96);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 96,
			   "TCB status OutOfDate is not among the policy's accepted tcb_status"));
	EXPECT(appr_reason_count(ear, "cpu0") == 1);
	json_decref(ear);
	ear = appraise("{\"version\":1,\"id\":\"tdx\",\"tdx\":{\"tcb_status\":[\"UpToDate\","
		       "\"OutOfDate\"]}}",
		       NULL, res, Q6_AT);
	REQUIRE(ear != NULL);
	/* Accepted, and the EAR still names the status. */
	EXPECT(appr_tv(ear, "cpu0", "hardware") == 2);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 2, "TCB status OutOfDate"));
	EXPECT(appr_reason_count(ear, "cpu0") == 1);
	EXPECT(strcmp(veil_ear_status(ear), "affirming") == 0);
	json_decref(ear);
}

TEST(tdx_debug_td_refused)
{
	json_t *res = appr_verify("tdx", "tdx/trustee/tdx_quote_4.dat", false, q4_coll,
				  "2023-07-01T01:00:00Z", VEIL_REVOCATION_REQUIRE, NULL);
	REQUIRE(json_is_true(json_object_get(res, "verified")));
	json_t *ear = appraise("{\"version\":1,\"id\":\"tdx\",\"tdx\":{}}", NULL, res,
			       "2023-07-01T01:00:00Z");
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "configuration") == 96);
	EXPECT(appr_reason(ear, "cpu0", "configuration", 96, "debug is on"));
	EXPECT(appr_tv(ear, "cpu0", "hardware") == 2); /* UpToDate */
	EXPECT(appr_reason_count(ear, "cpu0") == 1);
	json_decref(ear);
}

TEST(tdx_mr_td_reference_values)
{
	veil_refvals *rv =
	    appr_refvals("{\"version\":1,\"expires\":\"2026-01-01T00:00:00Z\",\"sets\":"
			 "{\"tds\":[\"" Q6_MRTD "\"],\"old-tds\":[\"00\"]}}");
#define MRTD_POLICY(set)                                                                           \
	"{\"version\":1,\"id\":\"tdx\",\"tdx\":{\"tcb_status\":[\"OutOfDate\"],\"match\":{\"mr_"   \
	"td\":"                                                                                    \
	"\"" set "\"}}}"

	REQUIRE(rv != NULL);
	json_t *ear = appraise(MRTD_POLICY("tds"), rv, tdx_q6(), Q6_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "executables") == 3);
	json_decref(ear);
	ear = appraise(MRTD_POLICY("old-tds"), rv, tdx_q6(), Q6_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_tv(ear, "cpu0", "executables") == 96);
	EXPECT(appr_reason(ear, "cpu0", "executables", 96, "mr_td \"21e8dead"));
	json_decref(ear);
	veil_refvals_free(rv);
}

TEST(default_policy_denies_everything)
{
	veil_policy *p = NULL;
	json_t *ear;

	EXPECT_OK(veil_policy_default(&p));
	REQUIRE(p != NULL);
	EXPECT(strcmp(veil_policy_id(p), "veil-default-deny") == 0);
	EXPECT(veil_policy_verify_revocation(p) == VEIL_REVOCATION_REQUIRE);
	const uint8_t(*roots)[32] = NULL;
	EXPECT(veil_policy_sim_roots(p, &roots) == 0);
	json_t *results[] = {
	    appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    tdx_q6()};
	for (size_t i = 0; i < 2; i++) {
		ear = appr_run_policy(p, NULL, results[i], VT_AT);
		REQUIRE(ear != NULL);
		EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
		EXPECT(appr_reason(ear, "cpu0", "hardware", 96, "the policy does not accept"));
		EXPECT(strcmp(json_string_value(
				  json_object_get(ear_sub(ear, "cpu0"), "ear.appraisal-policy-id")),
			      "veil-default-deny") == 0);
		json_decref(ear);
		json_decref(results[i]);
	}
	veil_policy_free(p);
}

TEST(unverified_evidence_is_never_affirming)
{
	/* Before the VCEK's validity: the chain fails, so the platform is not
	 * recognized; the policy's rules (debug) are not even looked at. */
	json_t *ear = appraise("{\"version\":1,\"id\":\"t\",\"allow_debug\":true,\"snp\":{}}", NULL,
			       appr_verify("snp", GO_REPORT, false, go_coll, "2020-01-01T00:00:00Z",
					   VEIL_REVOCATION_REQUIRE, NULL),
			       "2020-01-01T00:00:00Z");
	REQUIRE(ear != NULL);
	EXPECT(strcmp(veil_ear_status(ear), "contraindicated") == 0);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 97, "check vek.chain failed"));
	EXPECT(appr_tv(ear, "cpu0", "configuration") == 0);
	EXPECT(json_is_false(json_object_get(ear_sub(ear, "cpu0"), "veil.verified")));
	json_decref(ear);
	/* No VCEK at all. */
	ear = appraise(
	    "{\"version\":1,\"id\":\"t\",\"snp\":{}}", NULL,
	    appr_verify("snp", GO_REPORT, false, NULL, GO_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    GO_AT);
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "cpu0", "hardware", 97, "check vek.found failed"));
	EXPECT(appr_tv(ear, "cpu0", "instance-identity") == 97);
	json_decref(ear);
}

/* A bundle of the real Trustee SNP report and the 545.00 GPU report (as in
 * test_bundle.c): genuine parts, bound to another session. */
static json_t *unbound_bundle(void)
{
	size_t sn, vn, gn, cn;
	uint8_t *snp = td_read("snp/trustee/test-report.bin", &sn);
	uint8_t *vcek = td_read("snp/trustee/test-vcek.der", &vn);
	uint8_t *gpu = nv_test_report(NV_R545, &gn);
	uint8_t *chain = td_read(NV_C545, &cn);
	const uint8_t *in[4] = {snp, vcek, gpu, chain};
	size_t len[4] = {sn, vn, gn, cn};
	char *b64[4];
	static const char *const rims[] = {NV_DRV545, NV_VB545, NULL};
	veil_collateral coll;
	veil_verify_ctx ctx = {.at = td_time("2025-01-01T00:00:00Z"),
			       .revocation = VEIL_REVOCATION_ALLOW_UNKNOWN};
	json_t *res = NULL;

	for (int i = 0; i < 4; i++) {
		b64[i] = malloc(len[i] * 4 / 3 + 8);
		veil_base64_encode(in[i], len[i], b64[i]);
	}
	json_t *doc = json_pack("{s:i, s:s, s:s, s:[s], s:{s:s, s:{s:s}, s:[{s:s, s:s, s:s}]}}",
				"version", 1, "tee", "snp", "primary_evidence", b64[0],
				"collateral", b64[1], "runtime_data", "nonce", "n1", "tee-pubkey",
				"kty", "EC", "additional-evidence", "type", "nvidia", "evidence",
				b64[2], "certificate", b64[3]);
	char *text = json_dumps(doc, JSON_COMPACT);
	nv_test_coll(&coll, rims);
	ctx.collateral = &coll;
	if (veil_bundle_verify((const uint8_t *)text, strlen(text), &ctx, &res) != VEIL_OK)
		harness_fail(__FILE__, __LINE__, "veil_bundle_verify");
	veil_collateral_clear(&coll);
	json_decref(doc);
	free(text);
	for (int i = 0; i < 4; i++)
		free(b64[i]);
	free(snp);
	free(vcek);
	free(gpu);
	free(chain);
	return res;
}

TEST(bundle_bindings_and_gpus_without_a_gpu_policy)
{
	json_t *res = unbound_bundle();
	REQUIRE(res != NULL);
	json_incref(res);
	json_t *ear = appraise("{\"version\":1,\"id\":\"b\",\"snp\":{},\"gpu\":{\"revocation_"
			       "unknown\":\"allow\"}}",
			       NULL, res, "2025-01-01T00:00:00Z");
	REQUIRE(ear != NULL);
	/* cpu/gpu0 of the bundle become cpu0/gpu0; each is refused for its binding. */
	EXPECT(appr_reason(ear, "cpu0", "instance-identity", 99, "check report_data failed"));
	EXPECT(appr_reason(ear, "gpu0", "instance-identity", 99, "check report_data failed"));
	/* The bundle's verdicts on its parts (binding.primary, binding.device)
	 * restate what the parts' own checks already say: no second reason. */
	EXPECT(!appr_reason(ear, "cpu0", "instance-identity", 99, "binding.primary"));
	EXPECT(!appr_reason(ear, "gpu0", "instance-identity", 99, "binding.device"));
	EXPECT(strcmp(appr_status(ear, "gpu0"), "contraindicated") == 0);
	/* The runtime data travels with the CPU part's annotated evidence. */
	json_t *ann = json_object_get(ear_sub(ear, "cpu0"), "ear.veraison.annotated-evidence");
	EXPECT(strcmp(json_string_value(
			  json_object_get(json_object_get(ann, "runtime_data"), "nonce")),
		      "n1") == 0);
	EXPECT(json_object_size(json_object_get(ear, "submods")) == 2);
	json_decref(ear);
	/* A policy with no "gpu" member refuses the GPU outright. */
	ear =
	    appraise("{\"version\":1,\"id\":\"b\",\"snp\":{}}", NULL, res, "2025-01-01T00:00:00Z");
	REQUIRE(ear != NULL);
	EXPECT(appr_reason(ear, "gpu0", "hardware", 96, "has no \"gpu\" member"));
	json_decref(ear);
}

TEST(ear_shape)
{
	veil_refvals *rv = appr_refvals(rv_virtee);
	json_t *ear = appraise(
	    "{\"version\":1,\"id\":\"shape-1\",\"snp\":{\"match\":{"
	    "\"measurement\":\"snp-workloads\"}}}",
	    rv, appr_verify("snp", VT_REPORT, false, vt_coll, VT_AT, VEIL_REVOCATION_REQUIRE, NULL),
	    VT_AT);
	static const char *const claims[] = {"instance-identity", "configuration", "executables",
					     "file-system",       "hardware",      "runtime-opaque",
					     "storage-opaque",    "sourced-data"};
	REQUIRE(ear != NULL);
	EXPECT(strcmp(json_string_value(json_object_get(ear, "eat_profile")),
		      "tag:github.com,2023:veraison/ear") == 0);
	EXPECT(json_integer_value(json_object_get(ear, "iat")) == td_time(VT_AT));
	json_t *vid = json_object_get(ear, "ear.verifier-id");
	EXPECT(strcmp(json_string_value(json_object_get(vid, "developer")), "veil") == 0);
	EXPECT(strncmp(json_string_value(json_object_get(vid, "build")), "veil ", 5) == 0);
	EXPECT(strcmp(json_string_value(json_object_get(ear, "veil.status")), "affirming") == 0);
	json_t *cpu = ear_sub(ear, "cpu0");
	EXPECT(strcmp(json_string_value(json_object_get(cpu, "ear.appraisal-policy-id")),
		      "shape-1") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(cpu, "veil.tee")), "snp") == 0);
	EXPECT(json_is_true(json_object_get(cpu, "veil.verified")));
	EXPECT(json_is_array(json_object_get(cpu, "veil.reasons")));
	for (size_t i = 0; i < 8; i++)
		EXPECT(appr_tv(ear, "cpu0", claims[i]) != -128);
	EXPECT(json_object_size(json_object_get(cpu, "ear.trustworthiness-vector")) == 8);
	json_t *ann = json_object_get(cpu, "ear.veraison.annotated-evidence");
	EXPECT(strcmp(json_string_value(json_object_get(ann, "measurement")), VT_MEASURE) == 0);
	json_decref(ear);
	veil_refvals_free(rv);
}

int main(void)
{
	RUN(snp_debug_guest_refused_unless_allowed);
	RUN(snp_min_tcb);
	RUN(snp_products_vmpl_guest_svn);
	RUN(snp_measurement_reference_values);
	RUN(tdx_out_of_date_refused_unless_accepted);
	RUN(tdx_debug_td_refused);
	RUN(tdx_mr_td_reference_values);
	RUN(default_policy_denies_everything);
	RUN(unverified_evidence_is_never_affirming);
	RUN(bundle_bindings_and_gpus_without_a_gpu_policy);
	RUN(ear_shape);
	return harness_finish("test_appraisal");
}

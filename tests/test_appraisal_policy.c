/*
 * test_appraisal_policy.c - parsing appraisal policies and reference values.
 *
 * A policy decides what a relying party accepts, so every way a policy can
 * be wrong must be refused with a message naming what is wrong: unknown
 * members (a typo must not silently relax a rule), wrong types, values out
 * of range, a sim member without its roots, bad hex, oversized documents,
 * duplicate keys, unsupported versions, truncated and trailing input. The
 * same for reference-value files, plus merging, all-or-nothing loads,
 * expiry and comparison. The example policies and reference values in
 * examples/ must parse.
 */
#include "appraisal/appraisal_int.h"
#include "test_appraisal_util.h"

#define ROOT "0680cebb725b959bf1d722a1575d6c99918ed12e42407cae4400e64aeb60f90f"

static veil_err parse(const char *json, veil_policy **p)
{
	*p = NULL;
	veil_err_clear();
	return veil_policy_parse((const uint8_t *)json, strlen(json), "t.json", p);
}

/* Refused with err, and the message names `needle`. */
static void refused(const char *json, veil_err err, const char *needle, int line)
{
	veil_policy *p = NULL;
	veil_err got = parse(json, &p);

	if (got != err || p != NULL || strstr(veil_err_detail(), needle) == NULL) {
		fprintf(stderr, "line %d: %s\n  got %s: %s\n  want %s naming \"%s\"\n", line, json,
			veil_err_str(got), veil_err_detail(), veil_err_str(err), needle);
		harness_fail(__FILE__, line, "policy not refused as expected");
	}
	veil_policy_free(p);
}
#define REFUSED(json, err, needle) refused(json, err, needle, __LINE__)

TEST(a_full_policy_parses)
{
	veil_policy *p = NULL;
	const char *json =
	    "{\"version\":1,\"id\":\"full\",\"allow_debug\":false,"
	    "\"snp\":{\"min_tcb\":{\"bootloader\":3,\"tee\":0,\"snp\":8,\"microcode\":115,\"fmc\":"
	    "1},"
	    "\"products\":[\"Milan\",\"Genoa\"],\"vmpl\":[0,2],\"min_guest_svn\":1,"
	    "\"match\":{\"measurement\":\"snp-m\",\"host_data\":\"hd\"}},"
	    "\"tdx\":{\"tcb_status\":[\"UpToDate\",\"SWHardeningNeeded\"],\"match\":{\"mr_td\":"
	    "\"t\"}},"
	    "\"sim\":{\"roots\":[\"" ROOT "\",\"" ROOT "\"],\"min_tcb\":{\"snp\":1},"
	    "\"max_age_seconds\":60,\"match\":{\"measurement\":\"s\"}},"
	    "\"gpu\":{\"required\":true,\"min_count\":8,\"require_cc_mode\":true,"
	    "\"allow_devtools\":false,\"require_ready\":true,\"require_rim_match\":true,"
	    "\"min_driver_version\":\"550.90.07\",\"revocation_unknown\":\"warn\","
	    "\"allow_without_cpu\":false,\"match\":{\"vbios_version\":\"v\"}}}";
	const uint8_t(*roots)[32] = NULL;

	REQUIRE(parse(json, &p) == VEIL_OK && p != NULL);
	EXPECT(strcmp(veil_policy_id(p), "full") == 0);
	EXPECT(veil_policy_sim_roots(p, &roots) == 2);
	REQUIRE(roots != NULL);
	EXPECT(roots[1][0] == 0x06 && roots[1][31] == 0x0f);
	EXPECT(veil_policy_verify_revocation(p) == VEIL_REVOCATION_ALLOW_UNKNOWN);
	EXPECT(p->snp.vmpls == 0x5 && p->snp.products == 0x3 && p->snp.min_tcb.min[TCB_FMC] == 1);
	EXPECT(p->tdx.statuses == 0x3 && p->tdx.match.count == 1);
	EXPECT(p->sim.max_age == 60 && p->gpu.min_count == 8 && p->gpu.min_driver_parts == 3);
	EXPECT(p->gpu.min_driver[1] == 90 && p->gpu.min_driver[2] == 7);
	EXPECT(strcmp(p->snp.match.rule[1].claim, "host_data") == 0);
	veil_policy_free(p);
	/* Defaults of an empty section. */
	REQUIRE(parse("{\"version\":1,\"id\":\"d\",\"snp\":{},\"tdx\":{},\"gpu\":{}}", &p) ==
		VEIL_OK);
	EXPECT(!p->allow_debug && p->snp.vmpls == 1 && p->snp.products == 0);
	EXPECT(p->tdx.statuses == 1); /* UpToDate only */
	EXPECT(p->gpu.required && p->gpu.min_count == 1 && p->gpu.require_cc_mode);
	EXPECT(p->gpu.require_rim_match && !p->gpu.allow_devtools && !p->gpu.allow_without_cpu);
	EXPECT(veil_policy_verify_revocation(p) == VEIL_REVOCATION_REQUIRE);
	EXPECT(veil_policy_sim_roots(p, NULL) == 0);
	veil_policy_free(p);
}

TEST(policy_negatives)
{
	/* Unknown members, at every level. */
	REFUSED("{\"version\":1,\"id\":\"x\",\"alow_debug\":true}", VEIL_E_MALFORMED, "alow_debug");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"min_tbc\":{}}}", VEIL_E_MALFORMED,
		"min_tbc");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"min_tcb\":{\"ucode\":1}}}",
		VEIL_E_MALFORMED, "ucode");
	REFUSED("{\"version\":1,\"id\":\"x\",\"gpu\":{\"cc\":true}}", VEIL_E_MALFORMED, "\"cc\"");
	REFUSED("{\"version\":1,\"id\":\"x\",\"sev\":{}}", VEIL_E_MALFORMED, "sev");
	/* The sample TEE's section has no settings at all. */
	REFUSED("{\"version\":1,\"id\":\"x\",\"sample\":{\"svn\":1}}", VEIL_E_MALFORMED, "svn");
	REFUSED("{\"version\":1,\"id\":\"x\",\"sample\":true}", VEIL_E_MALFORMED, "sample");
	/* Wrong types and ranges. */
	REFUSED("{\"version\":1,\"id\":\"x\",\"allow_debug\":\"yes\"}", VEIL_E_MALFORMED,
		"allow_debug");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":[]}", VEIL_E_MALFORMED, "\"snp\" must be");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"min_tcb\":{\"snp\":\"5\"}}}",
		VEIL_E_MALFORMED, "snp");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"min_tcb\":{\"snp\":256}}}",
		VEIL_E_MALFORMED, "256");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"vmpl\":[4]}}", VEIL_E_MALFORMED, "vmpl");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"vmpl\":[]}}", VEIL_E_MALFORMED, "vmpl");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"products\":[\"Rome\"]}}", VEIL_E_MALFORMED,
		"Milan, Genoa, Turin");
	REFUSED("{\"version\":1,\"id\":\"x\",\"tdx\":{\"tcb_status\":[\"Revoked\"]}}",
		VEIL_E_MALFORMED, "Revoked");
	REFUSED("{\"version\":1,\"id\":\"x\",\"tdx\":{\"tcb_status\":\"UpToDate\"}}",
		VEIL_E_MALFORMED, "tcb_status");
	REFUSED("{\"version\":1,\"id\":\"x\",\"gpu\":{\"revocation_unknown\":\"maybe\"}}",
		VEIL_E_MALFORMED, "revocation_unknown");
	REFUSED("{\"version\":1,\"id\":\"x\",\"gpu\":{\"min_count\":0}}", VEIL_E_MALFORMED,
		"min_count");
	REFUSED("{\"version\":1,\"id\":\"x\",\"gpu\":{\"min_count\":17}}", VEIL_E_MALFORMED,
		"min_count");
	static const char *const versions[] = {
	    "5a0", "", "1..2", "1.", ".1", "1234567890", "1.2.3.4.5.6.7.8.9", "-1", " 550"};
	for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
		char json[160];
		snprintf(json, sizeof json,
			 "{\"version\":1,\"id\":\"x\",\"gpu\":{\"min_driver_version\":\"%s\"}}",
			 versions[i]);
		REFUSED(json, VEIL_E_MALFORMED, "min_driver_version");
	}
	/* The sim: never without its roots, and roots are SHA-256 in hex. */
	REFUSED("{\"version\":1,\"id\":\"x\",\"sim\":{}}", VEIL_E_MALFORMED,
		"\"roots\" is required");
	REFUSED("{\"version\":1,\"id\":\"x\",\"sim\":{\"roots\":[]}}", VEIL_E_MALFORMED, "roots");
	REFUSED("{\"version\":1,\"id\":\"x\",\"sim\":{\"roots\":\"" ROOT "\"}}", VEIL_E_MALFORMED,
		"roots");
	REFUSED("{\"version\":1,\"id\":\"x\",\"sim\":{\"roots\":[\"0680cebb\"]}}", VEIL_E_MALFORMED,
		"64 hex digits");
	REFUSED(
	    "{\"version\":1,\"id\":\"x\",\"sim\":{\"roots\":[\"g680cebb725b959bf1d722a1575d6c9991"
	    "8ed12e42407cae4400e64aeb60f90f\"]}}",
	    VEIL_E_MALFORMED, "64 hex digits");
	REFUSED("{\"version\":1,\"id\":\"x\",\"sim\":{\"roots\":[\"" ROOT "0\"]}}",
		VEIL_E_MALFORMED, "64 hex digits");
	REFUSED("{\"version\":1,\"id\":\"x\",\"sim\":{\"roots\":[\"" ROOT "\"],"
		"\"max_age_seconds\":0}}",
		VEIL_E_MALFORMED, "max_age_seconds");
	/* Match rules. */
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"match\":[\"a\"]}}", VEIL_E_MALFORMED,
		"match");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"match\":{\"measurement\":1}}}",
		VEIL_E_MALFORMED, "measurement");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"match\":{\"measurement\":\"a b\"}}}",
		VEIL_E_MALFORMED, "measurement");
	REFUSED("{\"version\":1,\"id\":\"x\",\"snp\":{\"match\":{\"Measurement\":\"a\"}}}",
		VEIL_E_MALFORMED, "Measurement");
	/* Version and id. */
	REFUSED("{\"id\":\"x\"}", VEIL_E_MALFORMED, "version");
	REFUSED("{\"version\":2,\"id\":\"x\"}", VEIL_E_UNSUPPORTED, "version 2");
	REFUSED("{\"version\":\"1\",\"id\":\"x\"}", VEIL_E_MALFORMED, "version");
	REFUSED("{\"version\":1}", VEIL_E_MALFORMED, "id");
	REFUSED("{\"version\":1,\"id\":\"\"}", VEIL_E_MALFORMED, "id");
	REFUSED("{\"version\":1,\"id\":\"a\\u0001b\"}", VEIL_E_MALFORMED, "printable");
	/* Not a policy document at all. */
	REFUSED("[]", VEIL_E_MALFORMED, "not a JSON object");
	REFUSED("{\"version\":1,\"id\":\"x\"", VEIL_E_MALFORMED, "JSON");
	REFUSED("{\"version\":1,\"id\":\"x\"} x", VEIL_E_MALFORMED, "JSON");
	REFUSED("{\"version\":1,\"id\":\"x\",\"id\":\"y\"}", VEIL_E_MALFORMED, "JSON");
	/* Every error names the policy's origin. */
	REFUSED("{\"version\":1,\"id\":\"x\",\"tee\":1}", VEIL_E_MALFORMED, "t.json");
}

TEST(policy_limits)
{
	char *big = malloc(VEIL_POLICY_MAX_BYTES + 64);
	veil_policy *p = NULL;
	size_t n;

	REQUIRE(big != NULL);
	n = (size_t)snprintf(big, 64, "{\"version\":1,\"id\":\"x\",\"pad\":\"");
	memset(big + n, 'a', VEIL_POLICY_MAX_BYTES);
	memcpy(big + n + VEIL_POLICY_MAX_BYTES, "\"}", 3);
	REFUSED(big, VEIL_E_LIMIT, "limit");
	free(big);
	/* More match rules than allowed. */
	char json[4096];
	size_t at =
	    (size_t)snprintf(json, sizeof json, "{\"version\":1,\"id\":\"x\",\"snp\":{\"match\":{");
	for (int i = 0; i <= VEIL_POLICY_MATCH_MAX; i++)
		at += (size_t)snprintf(json + at, sizeof json - at, "%s\"c%d\":\"s\"", i ? "," : "",
				       i);
	snprintf(json + at, sizeof json - at, "}}}");
	REFUSED(json, VEIL_E_LIMIT, "match");
	/* Nesting beyond the JSON depth cap. */
	at = (size_t)snprintf(json, sizeof json, "{\"version\":1,\"id\":\"x\",\"snp\":");
	for (int i = 0; i < VEIL_JSON_MAX_DEPTH; i++)
		json[at++] = '[';
	for (int i = 0; i < VEIL_JSON_MAX_DEPTH; i++)
		json[at++] = ']';
	snprintf(json + at, sizeof json - at, "}");
	REFUSED(json, VEIL_E_LIMIT, "deeper");
	EXPECT_ERR(veil_policy_parse((const uint8_t *)"{}", 2, NULL, NULL), VEIL_E_USAGE);
	EXPECT_ERR(veil_policy_default(NULL), VEIL_E_USAGE);
	EXPECT(p == NULL);
}

static veil_err rv_load(veil_refvals *rv, const char *json, const char *origin)
{
	veil_err_clear();
	return veil_refvals_load(rv, (const uint8_t *)json, strlen(json), origin);
}

#define RV_REFUSED(rv, json, err, needle)                                                          \
	do {                                                                                       \
		EXPECT_ERR(rv_load(rv, json, "bad.json"), err);                                    \
		EXPECT(strstr(veil_err_detail(), needle) != NULL);                                 \
	} while (0)

TEST(reference_value_negatives)
{
	veil_refvals *rv = NULL;
	REQUIRE(veil_refvals_new(&rv) == VEIL_OK);
	const char *head = "{\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"sets\":";
	char json[512];

	RV_REFUSED(rv,
		   "{\"version\":1,\"expires\":\"2030-01-01\",\"sets\":{\"a\":[\"1\"]},\"x\":1}",
		   VEIL_E_MALFORMED, "\"x\"");
	RV_REFUSED(rv, "{\"version\":2,\"expires\":\"2030-01-01\",\"sets\":{\"a\":[\"1\"]}}",
		   VEIL_E_MALFORMED, "version");
	RV_REFUSED(rv, "{\"version\":1,\"sets\":{\"a\":[\"1\"]}}", VEIL_E_MALFORMED, "expires");
	RV_REFUSED(rv, "{\"version\":1,\"expires\":\"soon\",\"sets\":{\"a\":[\"1\"]}}",
		   VEIL_E_MALFORMED, "RFC 3339");
	static const struct {
		const char *sets, *needle;
		veil_err err;
	} bad[] = {
	    {"{}", "empty", VEIL_E_MALFORMED},
	    {"[]", "sets", VEIL_E_MALFORMED},
	    {"{\"a\":\"1\"}", "non-empty array", VEIL_E_MALFORMED},
	    {"{\"a\":[]}", "non-empty array", VEIL_E_MALFORMED},
	    {"{\"a\":[1]}", "string", VEIL_E_MALFORMED},
	    {"{\"a\":[\"\"]}", "string", VEIL_E_MALFORMED},
	    {"{\"a\":[\"x\\ty\"]}", "printable", VEIL_E_MALFORMED},
	    {"{\"a b\":[\"1\"]}", "set name", VEIL_E_MALFORMED},
	    {"{\"a\":[\"1\"],\"a\":[\"2\"]}", "JSON", VEIL_E_MALFORMED},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(json, sizeof json, "%s%s}", head, bad[i].sets);
		RV_REFUSED(rv, json, bad[i].err, bad[i].needle);
	}
	/* A value over the length cap. */
	char long_value[VEIL_REFVALS_VALUE_MAX_LEN + 2];
	memset(long_value, 'a', sizeof long_value - 1);
	long_value[sizeof long_value - 1] = '\0';
	char *text = malloc(strlen(head) + sizeof long_value + 32);
	REQUIRE(text != NULL);
	snprintf(text, strlen(head) + sizeof long_value + 32, "%s{\"a\":[\"%s\"]}}", head,
		 long_value);
	RV_REFUSED(rv, text, VEIL_E_MALFORMED, "1 to 256 characters");
	free(text);
	/* Trailing garbage and truncation. */
	RV_REFUSED(rv, "{\"version\":1,\"expires\":\"2030-01-01\",\"sets\":{\"a\":[\"1\"]}} {}",
		   VEIL_E_MALFORMED, "JSON");
	RV_REFUSED(rv, "{\"version\":1,\"expires\":\"2030-01-01\",\"sets\":{\"a\":[\"1\"]",
		   VEIL_E_MALFORMED, "JSON");
	/* Oversized. */
	size_t big_len = VEIL_REFVALS_MAX_BYTES + 1;
	uint8_t *big = malloc(big_len);
	REQUIRE(big != NULL);
	memset(big, ' ', big_len);
	EXPECT_ERR(veil_refvals_load(rv, big, big_len, "big.json"), VEIL_E_LIMIT);
	free(big);
	EXPECT_ERR(veil_refvals_load(NULL, (const uint8_t *)"{}", 2, NULL), VEIL_E_USAGE);
	EXPECT_ERR(veil_refvals_new(NULL), VEIL_E_USAGE);
	/* Nothing above was loaded. */
	char why[256];
	EXPECT(refvals_check(rv, "a", "1", 0, why, sizeof why) == RV_NO_SET);
	veil_refvals_free(rv);
}

TEST(reference_values_merge_expire_compare)
{
	veil_refvals *rv = NULL;
	char why[256];
	int64_t exp = td_time("2030-01-01T00:00:00Z");

	REQUIRE(veil_refvals_new(&rv) == VEIL_OK);
	EXPECT_OK(rv_load(rv,
			  "{\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"sets\":{"
			  "\"hex\":[\"ABcdEF01\",\"0xDEAD\"],\"names\":[\"Milan\"]}}",
			  "one.json"));
	/* A second file merges; a set defined again is refused, and a failed
	 * file adds none of its sets. */
	EXPECT_OK(rv_load(rv,
			  "{\"version\":1,\"expires\":\"2031-01-01T00:00:00Z\",\"sets\":{"
			  "\"later\":[\"1\"]}}",
			  "two.json"));
	EXPECT_ERR(rv_load(rv,
			   "{\"version\":1,\"expires\":\"2031-01-01T00:00:00Z\",\"sets\":{"
			   "\"fresh\":[\"1\"],\"hex\":[\"2\"]}}",
			   "three.json"),
		   VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "\"hex\" is already defined (in one.json)") != NULL);
	EXPECT(strstr(veil_err_detail(), "three.json") != NULL);
	EXPECT(refvals_check(rv, "fresh", "1", 0, why, sizeof why) == RV_NO_SET);
	EXPECT(refvals_check(rv, "later", "1", exp, why, sizeof why) == RV_MATCH);

	/* Hex compares case-insensitively ("0x" too); other text exactly. */
	EXPECT(refvals_check(rv, "hex", "abcdef01", 0, why, sizeof why) == RV_MATCH);
	EXPECT(refvals_check(rv, "hex", "0xdead", 0, why, sizeof why) == RV_MATCH);
	EXPECT(refvals_check(rv, "hex", "abcdef02", 0, why, sizeof why) == RV_MISMATCH);
	EXPECT(refvals_check(rv, "hex", "abcdef0", 0, why, sizeof why) == RV_MISMATCH);
	EXPECT(refvals_check(rv, "names", "Milan", 0, why, sizeof why) == RV_MATCH);
	EXPECT(refvals_check(rv, "names", "milan", 0, why, sizeof why) == RV_MISMATCH);
	EXPECT(strstr(why, "\"milan\" is not in reference-value set \"names\" (one.json)") != NULL);
	/* Expiry: valid until the second before, stale from the instant named. */
	EXPECT(refvals_check(rv, "names", "Milan", exp - 1, why, sizeof why) == RV_MATCH);
	EXPECT(refvals_check(rv, "names", "Milan", exp, why, sizeof why) == RV_EXPIRED);
	EXPECT(strstr(why, "expired at 2030-01-01T00:00:00Z") != NULL);
	EXPECT(refvals_check(NULL, "names", "Milan", 0, why, sizeof why) == RV_NO_SET);
	veil_refvals_free(rv);
	veil_refvals_free(NULL);
}

TEST(reference_value_set_cap)
{
	veil_refvals *rv = NULL;
	char *json = malloc(64 * VEIL_REFVALS_SETS_MAX + 128);
	size_t at;

	REQUIRE(veil_refvals_new(&rv) == VEIL_OK);
	REQUIRE(json != NULL);
	at = (size_t)snprintf(json, 128, "{\"version\":1,\"expires\":\"2030-01-01\",\"sets\":{");
	for (int i = 0; i < VEIL_REFVALS_SETS_MAX; i++)
		at += (size_t)snprintf(json + at, 64, "%s\"s%d\":[\"1\"]", i ? "," : "", i);
	snprintf(json + at, 64, "}}");
	EXPECT_OK(rv_load(rv, json, "all.json"));
	EXPECT_ERR(rv_load(rv,
			   "{\"version\":1,\"expires\":\"2030-01-01\",\"sets\":{\"one-more\":"
			   "[\"1\"]}}",
			   "more.json"),
		   VEIL_E_LIMIT);
	free(json);
	veil_refvals_free(rv);
}

static uint8_t *file_read(const char *path, size_t *len)
{
	uint8_t *buf = NULL;

	if (veil_file_read(path, VEIL_REFVALS_MAX_BYTES, &buf, len) != VEIL_OK) {
		fprintf(stderr, "cannot read %s (run the tests from the repository root)\n", path);
		harness_fail(__FILE__, __LINE__, "file_read");
	}
	return buf;
}

TEST(examples_parse)
{
	static const char *const policies[] = {
	    "examples/policies/snp.json",      "examples/policies/tdx.json",
	    "examples/policies/snp-h100.json", "examples/policies/tdx-h100.json",
	    "examples/policies/sim-dev.json",  "examples/policies/gpu-only.json",
	};
	static const char *const refvals[] = {"examples/reference-values/workloads.json",
					      "examples/reference-values/gpus.json"};
	veil_refvals *rv = NULL;

	for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
		size_t n = 0;
		uint8_t *buf = file_read(policies[i], &n);
		veil_policy *p = NULL;
		EXPECT_OK(veil_policy_parse(buf, n, policies[i], &p));
		veil_policy_free(p);
		free(buf);
	}
	REQUIRE(veil_refvals_new(&rv) == VEIL_OK);
	for (size_t i = 0; i < sizeof refvals / sizeof refvals[0]; i++) {
		size_t n = 0;
		uint8_t *buf = file_read(refvals[i], &n);
		EXPECT_OK(veil_refvals_load(rv, buf, n, refvals[i]));
		free(buf);
	}
	veil_refvals_free(rv);
}

int main(void)
{
	RUN(a_full_policy_parses);
	RUN(policy_negatives);
	RUN(policy_limits);
	RUN(reference_value_negatives);
	RUN(reference_values_merge_expire_compare);
	RUN(reference_value_set_cap);
	RUN(examples_parse);
	return harness_finish("test_appraisal_policy");
}

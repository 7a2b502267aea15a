/*
 * test_guest.c - the guest library (include/veil/guest.h) in process: its
 * configuration, the start-up check, and evidence bundles.
 *
 * The sim platforms are made with veil_sim_init in a temporary directory
 * (platform.json edited for GPUs with CC off or DEVTOOLS on, as the
 * tests/cli scripts do), and every bundle is checked the way a relying
 * party would: veil_bundle_verify under the platform's root, then the
 * bindings recomputed here (REPORT_DATA = SHA-384(JCS(runtime data)), each
 * GPU nonce from {"nonce", "tee-pubkey"}). Hardware TEEs are played by an
 * environment with no devices or with a device that refuses to open, and
 * NVML by the fake library of the attester tests (fixtures/libfake_nvml.so
 * beside this binary), which replays a real H100 report: its nonce is never
 * ours, so a guest must refuse it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/guest_internal.h"
#include "harness.h"
#include "veil/bundle.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/timeutil.h"

#define H100_REPORT "nvidia/hopper/h100_drv550.90.07_vb96.00.9F.00.01_report.hex"
#define H100_CHAIN  "nvidia/hopper/h100_drv550.90.07_certchain.pem"

#define INIT_DATA                                                                                  \
	"version = \"0.1.0\"\nalgorithm = \"sha384\"\n\n[data]\n\"a.toml\" = '''\nx = 1\n'''\n"

static char base[64];
static char sim2[128], sim0[128], ccoff[128], devtools[128], notready[128], workload[128];
static char fake_nvml[PATH_MAX];
static const char *const work[] = {workload};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A sim platform in base/name; `edit` replaces one text of platform.json. */
static void platform(char *out, const char *name, unsigned gpus, const char *from, const char *to)
{
	char path[256];
	uint8_t *buf;
	size_t n;
	FILE *f;

	snprintf(out, 128, "%s/%s", base, name);
	if (veil_sim_init(out, gpus, veil_time_now()) != VEIL_OK) {
		fprintf(stderr, "veil_sim_init %s: %s\n", out, veil_err_detail());
		exit(2);
	}
	if (from == NULL)
		return;
	snprintf(path, sizeof path, "%s/platform.json", out);
	if (veil_file_read(path, 1 << 16, &buf, &n) != VEIL_OK)
		exit(2);
	char *text = calloc(1, n + 64), *at;
	memcpy(text, buf, n);
	free(buf);
	if ((at = strstr(text, from)) == NULL) {
		fprintf(stderr, "platform.json has no %s\n", from);
		exit(2);
	}
	memmove(at + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
	memcpy(at, to, strlen(to));
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		exit(2);
	free(text);
}

static veil_guest *open_sim(const char *dir, const char *gpus, const char *init)
{
	veil_guest_config c = {.tee = "sim",
			       .sim_dir = dir,
			       .workload = work,
			       .n_workload = 1,
			       .gpus = gpus,
			       .init_data = init};
	veil_guest *g = NULL;
	veil_err err = veil_guest_open(&c, &g);

	if (err != VEIL_OK)
		fprintf(stderr, "veil_guest_open %s: %s\n", dir, veil_err_detail());
	return g;
}

static json_t *runtime_data(void)
{
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "nonce", "n-0123456789", "tee-pubkey",
			 "kty", "EC", "crv", "P-256", "x",
			 "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis", "y",
			 "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE");
}

/* Verifies a bundle under dir's root; the result (new reference). */
static json_t *verify(const char *dir, const uint8_t *buf, size_t len)
{
	veil_sim *s = NULL;
	uint8_t root[1][32];
	json_t *result = NULL;

	if (veil_sim_open(dir, &s) != VEIL_OK)
		return NULL;
	veil_sim_root_sha256(s, root[0]);
	veil_sim_free(s);
	veil_verify_ctx ctx = {.at = veil_time_now(), .sim_roots = root, .sim_root_count = 1};
	if (veil_bundle_verify(buf, len, &ctx, &result) != VEIL_OK)
		fprintf(stderr, "bundle does not read: %s\n", veil_err_detail());
	return result;
}

static bool claim_is_hex(const json_t *result, const char *part, const char *claim,
			 const uint8_t *want, size_t n)
{
	char hex[2 * 64 + 1];
	const char *got = json_string_value(json_object_get(
	    json_object_get(json_object_get(json_object_get(result, "submods"), part), "claims"),
	    claim));

	veil_hex_encode(want, n, hex);
	return got != NULL && strcmp(got, hex) == 0;
}

TEST(open_refuses_what_makes_no_sense)
{
	veil_guest *g = NULL;
	const char *many[VEIL_SIM_WORKLOAD_FILES_MAX + 1];
	veil_guest_config c;

	EXPECT_ERR(veil_guest_open(NULL, &g), VEIL_E_USAGE);
#define BAD(want, ...)                                                                             \
	do {                                                                                       \
		c = (veil_guest_config){__VA_ARGS__};                                              \
		EXPECT_ERR(veil_guest_open(&c, &g), want);                                         \
		EXPECT(g == NULL);                                                                 \
	} while (0)
	BAD(VEIL_E_USAGE, .tee = "sgx");
	BAD(VEIL_E_USAGE, .tee = "SIM", .sim_dir = sim2);
	BAD(VEIL_E_USAGE, .tee = "auto", .backend = "ioctl");
	BAD(VEIL_E_USAGE, .tee = "sim", .sim_dir = sim2, .gpus = "all");
	BAD(VEIL_E_USAGE, .tee = "sim");
	BAD(VEIL_E_USAGE, .tee = "sim", .sim_dir = "");
	BAD(VEIL_E_USAGE, .tee = "sim", .sim_dir = sim2, .backend = "sev-guest");
	BAD(VEIL_E_USAGE, .tee = "snp", .sim_dir = sim2);
	BAD(VEIL_E_USAGE, .tee = "tdx", .workload = work, .n_workload = 1);
	BAD(VEIL_E_USAGE, .tee = "auto", .gpus = "sim");
	BAD(VEIL_E_USAGE, .tee = "sim", .sim_dir = sim2, .n_workload = 1);
	EXPECT(strstr(veil_err_detail(), "n_workload") != NULL);
	for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
		many[i] = workload;
	BAD(VEIL_E_LIMIT, .tee = "sim", .sim_dir = sim2, .workload = many,
	    .n_workload = sizeof many / sizeof many[0]);
	/* What the platform and the files say. */
	BAD(VEIL_E_NOT_FOUND, .tee = "sim", .sim_dir = sim0, .gpus = "sim");
	EXPECT(strstr(veil_err_detail(), "the platform has no GPUs") != NULL);
	c = (veil_guest_config){.tee = "sim", .sim_dir = "/nonexistent/veil-sim"};
	EXPECT(veil_guest_open(&c, &g) != VEIL_OK && g == NULL);
	const char *gone[] = {"/nonexistent/worker"};
	c = (veil_guest_config){.tee = "sim", .sim_dir = sim2, .workload = gone, .n_workload = 1};
	EXPECT(veil_guest_open(&c, &g) != VEIL_OK && g == NULL);
	BAD(VEIL_E_UNSUPPORTED, .tee = "sim", .sim_dir = sim2,
	    .init_data = "version = \"0.1.0\"\nalgorithm = \"md5\"\n[data]\n");
	BAD(VEIL_E_MALFORMED, .tee = "sim", .sim_dir = sim2,
	    .init_data = "version = \"0.1.0\"\nalgorithm = \"sha256\"\n# \xff\n[data]\n");
#undef BAD
}

TEST(bundle_binds_cpu_and_sim_gpus)
{
	veil_guest *g = open_sim(sim2, "sim", NULL);
	json_t *rt = runtime_data(), *doc = NULL, *result = NULL, *rt_out;
	uint8_t *buf = NULL, *before = NULL, *after = NULL, digest[64], nonce[32], m[48];
	size_t len = 0, nb = 0, na = 0;

	REQUIRE(g != NULL && rt != NULL);
	EXPECT(strcmp(veil_guest_tee(g), "sim") == 0);
	EXPECT(strcmp(veil_guest_gpus(g), "sim") == 0);
	EXPECT_OK(veil_jcs_encode(rt, &before, &nb));
	EXPECT_OK(veil_guest_bundle(g, rt, &buf, &len));
	REQUIRE(buf != NULL && len > 0 && buf[len - 1] == '\n');
	/* The caller's runtime data is not touched. */
	EXPECT_OK(veil_jcs_encode(rt, &after, &na));
	EXPECT(na == nb && memcmp(before, after, nb) == 0);
	EXPECT(json_object_get(rt, "additional-evidence") == NULL);

	result = verify(sim2, buf, len);
	REQUIRE(result != NULL);
	EXPECT(json_is_true(json_object_get(result, "verified")));
	EXPECT(json_object_size(json_object_get(result, "submods")) == 3);
	EXPECT_OK(veil_json_parse(buf, len, &doc));
	rt_out = json_object_get(doc, "runtime_data");
	EXPECT(json_array_size(json_object_get(rt_out, "additional-evidence")) == 2);
	json_t *dev = json_array_get(json_object_get(rt_out, "additional-evidence"), 1);
	EXPECT(strcmp(json_string_value(json_object_get(dev, "type")), "sim-gpu") == 0);
	json_t *state = json_pack("{s:s, s:s, s:b, s:b}", "cc_mode", "on", "cc_environment", "sim",
				  "devtools", 0, "ready", 1);
	EXPECT(json_equal(json_object_get(dev, "state"), state));
	json_decref(state);
	/* The bindings, recomputed: the CPU's REPORT_DATA over the runtime
	 * data the bundle carries (GPUs included), the GPUs' nonce from the
	 * caller's nonce and key, the launch measurement of the workload. */
	EXPECT_OK(veil_runtime_data_digest(rt_out, digest));
	EXPECT(claim_is_hex(result, "cpu", "report_data", digest, 64));
	EXPECT_OK(veil_device_nonce(rt, nonce));
	EXPECT(claim_is_hex(result, "gpu0", "nonce", nonce, 32));
	EXPECT(claim_is_hex(result, "gpu1", "nonce", nonce, 32));
	EXPECT_OK(veil_sim_measure(work, 1, m));
	EXPECT(claim_is_hex(result, "cpu", "measurement", m, 48));
	json_decref(result);

	/* Another nonce in the runtime data breaks both bindings. */
	json_object_set_new(rt_out, "nonce", json_string("n-9876543210"));
	char *tampered = json_dumps(doc, JSON_COMPACT);
	result = verify(sim2, (const uint8_t *)tampered, strlen(tampered));
	REQUIRE(result != NULL);
	EXPECT(json_is_false(json_object_get(result, "verified")));
	free(tampered);
	json_decref(result);
	json_decref(doc);
	free(before);
	free(after);
	free(buf);
	json_decref(rt);
	veil_guest_free(g);
}

/* The submodules of a bundle made by g for the standard runtime data. */
static size_t bundle_parts(veil_guest *g, const char *dir, json_t **rt_out)
{
	json_t *rt = runtime_data(), *result, *doc = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, parts = 0;

	if (veil_guest_bundle(g, rt, &buf, &len) == VEIL_OK &&
	    (result = verify(dir, buf, len)) != NULL) {
		if (json_is_true(json_object_get(result, "verified")))
			parts = json_object_size(json_object_get(result, "submods"));
		json_decref(result);
		if (rt_out != NULL && veil_json_parse(buf, len, &doc) == VEIL_OK)
			*rt_out = json_incref(json_object_get(doc, "runtime_data"));
		json_decref(doc);
	}
	free(buf);
	json_decref(rt);
	return parts;
}

TEST(gpus_none_sim_and_auto)
{
	veil_guest *g;
	json_t *rt = NULL;

	g = open_sim(sim2, "none", NULL);
	REQUIRE(g != NULL);
	EXPECT(strcmp(veil_guest_gpus(g), "none") == 0);
	EXPECT(bundle_parts(g, sim2, &rt) == 1);
	EXPECT(rt != NULL && json_object_get(rt, "additional-evidence") == NULL);
	json_decref(rt);
	veil_guest_free(g);
	g = open_sim(sim2, NULL, NULL); /* NULL is auto: the platform's GPUs */
	REQUIRE(g != NULL);
	EXPECT(strcmp(veil_guest_gpus(g), "sim") == 0);
	EXPECT(bundle_parts(g, sim2, NULL) == 3);
	veil_guest_free(g);
	g = open_sim(sim0, "auto", NULL);
	REQUIRE(g != NULL);
	EXPECT(strcmp(veil_guest_gpus(g), "none") == 0);
	EXPECT(bundle_parts(g, sim0, NULL) == 1);
	veil_guest_free(g);
}

TEST(bundle_refuses_runtime_data_it_cannot_bind)
{
	veil_guest *g = open_sim(sim2, "sim", NULL), *none = open_sim(sim2, "none", NULL);
	json_t *rt = runtime_data(), *arr = json_array();
	uint8_t *buf = (uint8_t *)"x";
	size_t len = 1;

	REQUIRE(g != NULL && none != NULL);
	EXPECT_ERR(veil_guest_bundle(g, arr, &buf, &len), VEIL_E_USAGE);
	EXPECT(buf == NULL && len == 0);
	EXPECT_ERR(veil_guest_bundle(g, NULL, &buf, &len), VEIL_E_USAGE);
	EXPECT_ERR(veil_guest_bundle(NULL, rt, &buf, &len), VEIL_E_USAGE);
	/* GPUs need the nonce and the key to derive their nonce. */
	json_object_del(rt, "tee-pubkey");
	EXPECT_ERR(veil_guest_bundle(g, rt, &buf, &len), VEIL_E_MALFORMED);
	EXPECT(buf == NULL);
	json_decref(rt);
	/* Device evidence the caller made is not this guest's to vouch for. */
	rt = runtime_data();
	json_object_set_new(rt, "additional-evidence", json_string(""));
	EXPECT_ERR(veil_guest_bundle(g, rt, &buf, &len), VEIL_E_USAGE);
	EXPECT_OK(veil_guest_bundle(none, rt, &buf, &len)); /* the KBS form, bound as is */
	free(buf);
	json_object_set_new(rt, "additional-evidence", json_array());
	EXPECT_ERR(veil_guest_bundle(none, rt, &buf, &len), VEIL_E_MALFORMED);
	json_object_set_new(rt, "additional-evidence", json_integer(5));
	EXPECT_ERR(veil_guest_bundle(none, rt, &buf, &len), VEIL_E_MALFORMED);
	json_decref(rt);
	json_decref(arr);
	veil_guest_free(g);
	veil_guest_free(none);
}

TEST(check_names_the_gpu_and_its_state)
{
	veil_guest *g;

	g = open_sim(sim2, "sim", NULL);
	REQUIRE(g != NULL);
	EXPECT_OK(veil_guest_check(g));
	veil_guest_free(g);
	g = open_sim(ccoff, "sim", NULL);
	REQUIRE(g != NULL);
	EXPECT_ERR(veil_guest_check(g), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "gpu0: CC mode is off") != NULL);
	veil_guest_free(g);
	g = open_sim(devtools, "auto", NULL);
	REQUIRE(g != NULL);
	EXPECT_ERR(veil_guest_check(g), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "gpu0: DEVTOOLS mode is on") != NULL);
	veil_guest_free(g);
	/* Ready is set after attestation: not required at start. */
	g = open_sim(notready, "sim", NULL);
	REQUIRE(g != NULL);
	EXPECT_OK(veil_guest_check(g));
	veil_guest_free(g);
	/* GPUs not configured: their state is not the guest's concern. */
	g = open_sim(ccoff, "none", NULL);
	REQUIRE(g != NULL);
	EXPECT_OK(veil_guest_check(g));
	EXPECT_ERR(veil_guest_check(NULL), VEIL_E_USAGE);
	veil_guest_free(g);
}

TEST(gpu_state_rule)
{
	EXPECT_OK(guest_gpu_state_check("gpu0", true, true, false, "prod"));
	EXPECT_OK(guest_gpu_state_check("gpu0", false, true, false, "sim"));
	EXPECT_ERR(guest_gpu_state_check("gpu3", true, true, false, "sim"), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "gpu3: the CC environment is \"sim\"") != NULL);
	EXPECT_ERR(guest_gpu_state_check("gpu1", true, false, false, "prod"), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "gpu1: CC mode is off") != NULL);
	EXPECT_ERR(guest_gpu_state_check("gpu2", false, true, true, "sim"), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "gpu2: DEVTOOLS") != NULL);
}

TEST(init_data_becomes_host_data)
{
	veil_guest *g = open_sim(sim2, "none", INIT_DATA), *plain = open_sim(sim2, "none", NULL);
	json_t *rt = runtime_data(), *result;
	uint8_t *buf = NULL, d[48], zero[32] = {0};
	size_t len = 0;

	REQUIRE(g != NULL && plain != NULL);
	EXPECT_OK(veil_sha384((const uint8_t *)INIT_DATA, strlen(INIT_DATA), d));
	EXPECT_OK(veil_guest_bundle(g, rt, &buf, &len));
	result = verify(sim2, buf, len);
	REQUIRE(result != NULL);
	EXPECT(json_is_true(json_object_get(result, "verified")));
	EXPECT(claim_is_hex(result, "cpu", "host_data", d, 32)); /* SHA-384 cut to 32 bytes */
	json_decref(result);
	free(buf);
	EXPECT_OK(veil_guest_bundle(plain, rt, &buf, &len));
	result = verify(sim2, buf, len);
	REQUIRE(result != NULL);
	EXPECT(claim_is_hex(result, "cpu", "host_data", zero, 32)); /* platform.json's */
	json_decref(result);
	free(buf);
	json_decref(rt);
	veil_guest_free(g);
	veil_guest_free(plain);
}

static int deny_open(void *user, const char *path, int flags)
{
	(void)user;
	(void)path;
	(void)flags;
	errno = EACCES;
	return -1;
}

TEST(hardware_fails_closed_with_the_reason)
{
	char tsm[192], sev[192], tdx[192];
	veil_attest_env env = {0};
	veil_attest_sys sys = {.open = deny_open};
	veil_guest_config c = {.tee = "auto", .gpus = "none", .env = &env};
	veil_guest *g = NULL;
	json_t *rt = runtime_data();
	uint8_t *buf = (uint8_t *)"x", *value = (uint8_t *)"x";
	size_t len = 1, vlen = 1;

	snprintf(tsm, sizeof tsm, "%s/no-tsm", base);
	snprintf(sev, sizeof sev, "%s/no-sev-guest", base);
	snprintf(tdx, sizeof tdx, "%s/no-tdx-guest", base);
	env.tsm_root = tsm;
	env.sev_guest_dev = sev;
	env.tdx_guest_dev = tdx;
	REQUIRE(veil_guest_open(&c, &g) == VEIL_OK);
	EXPECT(strcmp(veil_guest_tee(g), "auto") == 0);
	EXPECT(veil_guest_check(g) != VEIL_OK);
	EXPECT(strncmp(veil_err_detail(), "TEE: ", 5) == 0);
	EXPECT(strstr(veil_err_detail(), "configfs-tsm") != NULL &&
	       strstr(veil_err_detail(), "sev-guest") != NULL &&
	       strstr(veil_err_detail(), "tdx-guest") != NULL);
	EXPECT(strcmp(veil_guest_tee(g), "auto") == 0); /* nothing pinned */
	EXPECT(veil_guest_bundle(g, rt, &buf, &len) != VEIL_OK);
	EXPECT(buf == NULL && len == 0);
	/* The fetch needs the TEE's name first: it fails there, before any
	 * exchange (nothing listens on port 1). */
	veil_kbs_fetch_params p = {.url = "http://127.0.0.1:1", .resource = "a/b/c"};
	EXPECT(veil_guest_kbs_fetch(g, &p, &value, &vlen) != VEIL_OK);
	EXPECT(value == NULL && vlen == 0);
	EXPECT(strstr(veil_err_detail(), "configfs-tsm") != NULL &&
	       strstr(veil_err_detail(), "connect") == NULL);
	veil_guest_free(g);
	/* The hooks reach the back end: a device that refuses to open. */
	env = (veil_attest_env){.sys = &sys};
	c = (veil_guest_config){.tee = "snp", .backend = "sev-guest", .gpus = "none", .env = &env};
	REQUIRE(veil_guest_open(&c, &g) == VEIL_OK);
	EXPECT(strcmp(veil_guest_tee(g), "snp") == 0);
	EXPECT(veil_guest_check(g) != VEIL_OK);
	EXPECT(strstr(veil_err_detail(), "sev-guest") != NULL &&
	       strstr(veil_err_detail(), "permission denied") != NULL);
	veil_guest_free(g);
	json_decref(rt);
}

/* fixtures/libfake_nvml.so beside this binary (built with test_attester_nvml). */
static bool find_fake_nvml(void)
{
	ssize_t n = readlink("/proc/self/exe", fake_nvml, sizeof fake_nvml - 32);
	char *slash;

	if (n <= 0)
		return false;
	fake_nvml[n] = 0;
	if ((slash = strrchr(fake_nvml, '/')) == NULL)
		return false;
	snprintf(slash, 32, "/fixtures/libfake_nvml.so");
	return access(fake_nvml, R_OK) == 0;
}

static void nvml_mode(const char *m)
{
	setenv("FAKE_NVML_MODE", m, 1);
	setenv("FAKE_NVML_GPUS", "1", 1);
	setenv("FAKE_NVML_REPORT", td_path(H100_REPORT), 1);
	setenv("FAKE_NVML_CHAIN", td_path(H100_CHAIN), 1);
}

TEST(nvml_gpus)
{
	char missing[192];
	veil_attest_env env = {.nvml_library = fake_nvml}, none = {0};
	veil_guest_config c = {.tee = "sim",
			       .sim_dir = sim2,
			       .workload = work,
			       .n_workload = 1,
			       .gpus = "nvml",
			       .env = &env};
	veil_guest *g = NULL;
	json_t *rt = runtime_data();
	uint8_t *buf = (uint8_t *)"x";
	size_t len = 1;

	REQUIRE(find_fake_nvml()); /* make BUILD=... BUILD/tests/fixtures/libfake_nvml.so */
	snprintf(missing, sizeof missing, "%s/no-libnvidia-ml.so.1", base);
	none.nvml_library = missing;
	/* "auto" on hardware: NVML when the library loads, else none. */
	EXPECT(guest_gpus_probe(&env) == GUEST_GPUS_NVML);
	EXPECT(guest_gpus_probe(&none) == GUEST_GPUS_NONE);
	veil_guest_config hw = {.tee = "snp", .gpus = "auto", .env = &env};
	REQUIRE(veil_guest_open(&hw, &g) == VEIL_OK);
	EXPECT(strcmp(veil_guest_gpus(g), "nvml") == 0);
	veil_guest_free(g);
	hw.env = &none;
	REQUIRE(veil_guest_open(&hw, &g) == VEIL_OK);
	EXPECT(strcmp(veil_guest_gpus(g), "none") == 0);
	veil_guest_free(g);

	/* NVML GPUs beside the sim CPU (the sim TEE makes the CPU part). */
	REQUIRE(veil_guest_open(&c, &g) == VEIL_OK);
	nvml_mode("cc_off");
	EXPECT(veil_guest_check(g) != VEIL_OK);
	EXPECT(strstr(veil_err_detail(), "GPU: GPU 0 is not in confidential-computing mode") !=
	       NULL);
	/* The fake replays a real report for another nonce: refused, in the
	 * check and in a bundle. */
	nvml_mode("ok");
	EXPECT_ERR(veil_guest_check(g), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "GPU: NVML: GPU 0") != NULL);
	EXPECT_ERR(veil_guest_bundle(g, rt, &buf, &len), VEIL_E_MISMATCH);
	EXPECT(buf == NULL && len == 0);
	veil_guest_free(g);
	/* Named explicitly, a missing library is an error, never "no GPUs". */
	c.env = &none;
	REQUIRE(veil_guest_open(&c, &g) == VEIL_OK);
	EXPECT_ERR(veil_guest_check(g), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "NVML: cannot load") != NULL);
	veil_guest_free(g);
	json_decref(rt);
}

int main(void)
{
	snprintf(base, sizeof base, "%s/veil-guest-XXXXXX",
		 getenv("TMPDIR") != NULL && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR")
									   : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(workload, sizeof workload, "%s/worker", base);
	FILE *f = fopen(workload, "w");
	if (f == NULL || fputs("worker binary v1", f) < 0 || fclose(f) != 0)
		return 2;
	platform(sim2, "sim2", 2, NULL, NULL);
	platform(sim0, "sim0", 0, NULL, NULL);
	platform(ccoff, "ccoff", 1, "\"cc_mode\": \"on\"", "\"cc_mode\": \"off\"");
	platform(devtools, "devtools", 1, "\"devtools\": false", "\"devtools\": true");
	platform(notready, "notready", 1, "\"ready\": true", "\"ready\": false");

	RUN(open_refuses_what_makes_no_sense);
	RUN(bundle_binds_cpu_and_sim_gpus);
	RUN(gpus_none_sim_and_auto);
	RUN(bundle_refuses_runtime_data_it_cannot_bind);
	RUN(check_names_the_gpu_and_its_state);
	RUN(gpu_state_rule);
	RUN(init_data_becomes_host_data);
	RUN(hardware_fails_closed_with_the_reason);
	RUN(nvml_gpus);
	(void)nftw(base, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return harness_finish("test_guest");
}

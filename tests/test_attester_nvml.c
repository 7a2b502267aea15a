/*
 * test_attester_nvml.c - the GPU attester, against a fake libnvidia-ml.
 *
 * tests/fixtures/fake_nvml.c is built next to this binary as
 * fixtures/libfake_nvml.so and loaded by the attester with dlopen, as the
 * real library would be. It replays the real H100 report and certificate
 * chain of driver 550.90.07 from the shared test data (whose nonce the test
 * passes, as a real GPU would sign the caller's), and its modes play a
 * system with CC off, DEVTOOLS on, GPUs not yet ready, NVML failing, no
 * GPUs, several GPUs one of which fails, and a driver that claims more bytes
 * than its buffers hold. The test opens the library itself too, to read
 * what the fake was asked (the nonce, as NVML's struct carried it) and to
 * check that every nvmlInit_v2 met an nvmlShutdown.
 */
#include <dlfcn.h>
#include <limits.h>

#include "test_attester_util.h"

#define H100_REPORT "nvidia/hopper/h100_drv550.90.07_vb96.00.9F.00.01_report.hex"
#define H100_CHAIN  "nvidia/hopper/h100_drv550.90.07_certchain.pem"
#define H100_NONCE  "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"

typedef struct fake_nvml_state {
	int inits, shutdowns, reports;
	unsigned char nonce[32];
} fake_nvml_state;

static char lib_path[PATH_MAX];
static void *lib;
static fake_nvml_state *state;
static veil_attest_env env;
static uint8_t *nonce, *report_bytes;
static size_t report_len;
static char *chain;
static size_t chain_len;

/* fixtures/libfake_nvml.so next to this test binary. */
static void find_fixture(void)
{
	ssize_t n = readlink("/proc/self/exe", lib_path, sizeof lib_path - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		exit(2);
	}
	lib_path[n] = 0;
	char *slash = strrchr(lib_path, '/');
	if (slash == NULL ||
	    (size_t)(slash - lib_path) + sizeof "/fixtures/libfake_nvml.so" > sizeof lib_path)
		exit(2);
	memcpy(slash, "/fixtures/libfake_nvml.so", sizeof "/fixtures/libfake_nvml.so");
	lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "cannot load the fake NVML: %s\n", dlerror());
		exit(2);
	}
	state = dlsym(lib, "fake_nvml_state_v");
	if (state == NULL)
		exit(2);
}

static void mode(const char *m, const char *gpus)
{
	setenv("FAKE_NVML_MODE", m, 1);
	setenv("FAKE_NVML_GPUS", gpus, 1);
	setenv("FAKE_NVML_REPORT", td_path(H100_REPORT), 1);
	setenv("FAKE_NVML_CHAIN", td_path(H100_CHAIN), 1);
	memset(state, 0, sizeof *state);
	veil_err_clear();
}

static veil_err attest(veil_gpu_evidence **gpus, size_t *count)
{
	veil_err err = veil_attest_gpus(&env, nonce, gpus, count);
	/* Every init is paired with a shutdown, whatever happened. */
	EXPECT(state->inits == state->shutdowns ||
	       (state->inits == 1 && state->shutdowns == 0 && err != VEIL_OK));
	return err;
}

TEST(one_hopper_gpu)
{
	veil_gpu_evidence *g = NULL;
	size_t n = 0;

	mode("ok", "1");
	EXPECT_OK(attest(&g, &n));
	REQUIRE(n == 1 && g != NULL);
	EXPECT(g[0].index == 0);
	EXPECT(strcmp(g[0].arch, "hopper") == 0);
	EXPECT(g[0].report_len == report_len && memcmp(g[0].report, report_bytes, report_len) == 0);
	EXPECT(strlen(g[0].cert_chain_pem) == chain_len &&
	       memcmp(g[0].cert_chain_pem, chain, chain_len) == 0);
	EXPECT(strcmp(g[0].driver_version, "550.90.07") == 0);
	EXPECT(g[0].cc_on && !g[0].devtools && g[0].ready);
	EXPECT(strcmp(g[0].cc_environment, "prod") == 0);
	/* Our nonce reached NVML in nvmlConfComputeGpuAttestationReport_t.nonce. */
	EXPECT(state->reports == 1 && memcmp(state->nonce, nonce, 32) == 0);
	EXPECT(state->inits == 1 && state->shutdowns == 1);
	veil_gpu_evidence_free(g, n);
}

TEST(eight_gpus)
{
	veil_gpu_evidence *g = NULL;
	size_t n = 0;

	mode("ok", "8");
	EXPECT_OK(attest(&g, &n));
	REQUIRE(n == 8);
	for (size_t i = 0; i < n; i++)
		EXPECT(g[i].index == i && g[i].report_len == report_len);
	EXPECT(state->reports == 8);
	veil_gpu_evidence_free(g, n);
}

/* Reported, not refused: appraisal decides. */
TEST(devtools_not_ready_sim)
{
	veil_gpu_evidence *g = NULL;
	size_t n = 0;

	mode("devtools", "1");
	EXPECT_OK(attest(&g, &n));
	EXPECT(n == 1 && g[0].devtools && g[0].ready);
	veil_gpu_evidence_free(g, n);
	mode("not_ready", "1");
	EXPECT_OK(attest(&g, &n));
	EXPECT(n == 1 && !g[0].ready && !g[0].devtools);
	veil_gpu_evidence_free(g, n);
	mode("sim_env", "1");
	EXPECT_OK(attest(&g, &n));
	EXPECT(n == 1 && strcmp(g[0].cc_environment, "sim") == 0);
	veil_gpu_evidence_free(g, n);
	mode("arch_unknown", "1");
	EXPECT_OK(attest(&g, &n));
	EXPECT(n == 1 && strcmp(g[0].arch, "arch-42") == 0);
	veil_gpu_evidence_free(g, n);
}

TEST(cc_off)
{
	veil_gpu_evidence *g = (veil_gpu_evidence *)1;
	size_t n = 7;

	mode("cc_off", "1");
	EXPECT_ERR(attest(&g, &n), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(), "GPU 0 is not in confidential-computing mode; "
					 "attestation reports need CC on") != NULL);
	EXPECT(g == NULL && n == 0);
	EXPECT(state->reports == 0 && state->shutdowns == 1);
}

TEST(nvml_errors)
{
	veil_gpu_evidence *g;
	size_t n;

	mode("init_error", "1");
	EXPECT_ERR(attest(&g, &n), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "nvmlInit_v2 failed: Driver Not Loaded (error 9)") !=
	       NULL);
	EXPECT(state->shutdowns == 0);
	mode("zero_gpus", "1");
	EXPECT_ERR(attest(&g, &n), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "no NVIDIA GPU") != NULL);
	/* GPU 1 of 3 fails: no partial list. */
	mode("report_error", "3");
	EXPECT_ERR(attest(&g, &n), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "(GPU 1) failed: Not Supported (error 3)") != NULL);
	EXPECT(g == NULL && n == 0);
}

TEST(sizes_beyond_the_buffers)
{
	veil_gpu_evidence *g;
	size_t n;

	mode("big_report", "1");
	EXPECT_ERR(attest(&g, &n), VEIL_E_LIMIT);
	EXPECT(strstr(veil_err_detail(), "attestation report size is 8193") != NULL);
	mode("big_chain", "1");
	EXPECT_ERR(attest(&g, &n), VEIL_E_LIMIT);
	mode("nul_chain", "1");
	EXPECT_ERR(attest(&g, &n), VEIL_E_MALFORMED);
	mode("ok", "9");
	setenv("FAKE_NVML_GPUS", "\x41", 1); /* 'A' - '0' = 17 GPUs, over the cap */
	EXPECT_ERR(attest(&g, &n), VEIL_E_LIMIT);
}

/* A report for another nonce (a replay) is refused. */
TEST(nonce_not_ours)
{
	veil_gpu_evidence *g;
	size_t n;

	mode("ok", "1");
	nonce[0] ^= 1;
	EXPECT_ERR(attest(&g, &n), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "NVML: GPU 0: ") != NULL);
	EXPECT(strstr(veil_err_detail(), "does not carry the nonce") != NULL);
	nonce[0] ^= 1;
	/* And one that is not an SPDM report at all. */
	setenv("FAKE_NVML_REPORT", td_path(H100_CHAIN), 1);
	EXPECT_ERR(attest(&g, &n), VEIL_E_MALFORMED);
}

TEST(library_not_found)
{
	veil_attest_env none = {.nvml_library = "/nonexistent/libnvidia-ml.so.1"};
	veil_gpu_evidence *g = (veil_gpu_evidence *)1;
	size_t n = 3;

	EXPECT_ERR(veil_attest_gpus(&none, nonce, &g, &n), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "NVML: cannot load /nonexistent/libnvidia-ml.so.1") !=
	       NULL);
	EXPECT(strstr(veil_err_detail(), "NVIDIA driver") != NULL);
	EXPECT(g == NULL && n == 0);
	/* A library without the confidential-computing calls (driver < 535). */
	none.nvml_library = "libm.so.6";
	EXPECT_ERR(veil_attest_gpus(&none, nonce, &g, &n), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(), "has no nvmlInit_v2") != NULL);
	EXPECT_ERR(veil_attest_gpus(&none, NULL, &g, &n), VEIL_E_USAGE);
	veil_gpu_evidence_free(NULL, 0);
}

int main(void)
{
	size_t nonce_len;

	find_fixture();
	env.nvml_library = lib_path;
	nonce = td_hex(H100_NONCE, &nonce_len);
	char *hex = (char *)td_read(H100_REPORT, &report_len);
	size_t k = 0;
	for (size_t i = 0; i < report_len; i++)
		if (hex[i] != '\n' && hex[i] != '\r' && hex[i] != ' ')
			hex[k++] = hex[i];
	hex[k] = 0;
	report_bytes = td_hex(hex, &report_len);
	free(hex);
	chain = (char *)td_read(H100_CHAIN, &chain_len);

	RUN(one_hopper_gpu);
	RUN(eight_gpus);
	RUN(devtools_not_ready_sim);
	RUN(cc_off);
	RUN(nvml_errors);
	RUN(sizes_beyond_the_buffers);
	RUN(nonce_not_ours);
	RUN(library_not_found);
	free(nonce);
	free(report_bytes);
	free(chain);
	dlclose(lib);
	return harness_finish("test_attester_nvml");
}

/*
 * test_hostcheck_gpu.c - `veil host-check`'s GPU checks (src/hostcheck/
 * gpu.c, gpu_probe.c) against the stand-in NVML and fixture sysfs trees.
 *
 * tests/fixtures/fake_nvml.c is built next to this binary as
 * fixtures/libfake_nvml.so and loaded by the checks with dlopen, as the
 * real libnvidia-ml would be; its environment variables play an H100 in
 * CC mode, CC off, DEVTOOLS, a simulated environment, GPUs that are not
 * CC-capable, an old driver, Blackwell and Ampere GPUs, old VBIOS, and one
 * failing entry point at a time. The sysfs side comes from
 * tests/fixtures/hosts/<tree>/sys (relative to the repository root, where
 * the tests run): GPUs bound to vfio-pci on the snp and tdx trees (tdx has
 * two and an NVSwitch, which is not a GPU), one bound to nvidia, one with
 * no IOMMU group. A library that is not there, one that is not NVML
 * (libc), and a copy of the stand-in with one entry point's name altered
 * play the hosts where NVML is missing or too old.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "veil/error.h"
#include "veil/hostcheck.h"

#define HOSTS "tests/fixtures/hosts/"

typedef struct fake_nvml_state {
	int inits, shutdowns, reports;
	unsigned char nonce[32];
} fake_nvml_state;

static char lib_path[PATH_MAX];
static void *lib;
static fake_nvml_state *state;
static veil_hc_report rep;
static char scratch[] = "/tmp/veil-hcgpu-XXXXXX";
static char old_lib[PATH_MAX];   /* the stand-in without one CC entry point */
static char empty_sys[PATH_MAX]; /* a sysfs with no NVIDIA device */

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
		fprintf(stderr, "cannot load the fake NVML (make %s): %s\n", lib_path, dlerror());
		exit(2);
	}
	state = dlsym(lib, "fake_nvml_state_v");
	if (state == NULL)
		exit(2);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/*
 * A copy of the stand-in whose nvmlSystemGetConfComputeCapabilities is
 * renamed in place (same length): the dynamic symbol table no longer has
 * the name, as in a library older than the CC entry points.
 */
static void make_old_lib(void)
{
	static const char name[] = "nvmlSystemGetConfComputeCapabilities";
	FILE *f = fopen(lib_path, "rb");
	struct stat st;
	size_t len = 0, renamed = 0;

	if (f == NULL || fstat(fileno(f), &st) != 0 || st.st_size <= 0)
		exit(2);
	char *buf = malloc((size_t)st.st_size);
	if (buf == NULL)
		exit(2);
	len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	if (len != (size_t)st.st_size)
		exit(2);
	for (size_t i = 0; i + sizeof name - 1 <= len; i++) {
		if (memcmp(buf + i, name, sizeof name - 1) == 0) {
			buf[i] = 'x';
			renamed++;
		}
	}
	if (renamed == 0)
		exit(2);
	snprintf(old_lib, sizeof old_lib, "%s/libold_nvml.so", scratch);
	write_file(old_lib, buf, len);
	free(buf);
}

/* scratch/sys/bus/pci/devices/0000:00:00.0: an AMD host bridge only. */
static void make_empty_sys(void)
{
	char path[PATH_MAX];
	const char *parts[] = {"sys", "sys/bus", "sys/bus/pci", "sys/bus/pci/devices",
			       "sys/bus/pci/devices/0000:00:00.0"};

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", scratch, parts[i]);
		if (mkdir(path, 0700) != 0)
			exit(2);
	}
	snprintf(path, sizeof path, "%s/sys/bus/pci/devices/0000:00:00.0/vendor", scratch);
	write_file(path, "0x1022\n", 7);
	snprintf(path, sizeof path, "%s/sys/bus/pci/devices/0000:00:00.0/class", scratch);
	write_file(path, "0x060000\n", 9);
	snprintf(empty_sys, sizeof empty_sys, "%s/sys", scratch);
}

static void clean_scratch(void)
{
	char path[PATH_MAX];
	const char *files[] = {"sys/bus/pci/devices/0000:00:00.0/vendor",
			       "sys/bus/pci/devices/0000:00:00.0/class", "libold_nvml.so"};
	const char *dirs[] = {"sys/bus/pci/devices/0000:00:00.0",
			      "sys/bus/pci/devices",
			      "sys/bus/pci",
			      "sys/bus",
			      "sys",
			      ""};

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", scratch, files[i]);
		unlink(path);
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", scratch, dirs[i]);
		rmdir(path);
	}
}

/* A fresh scene: the stand-in's defaults (one H100 at 41:00.0, CC on,
 * prod, ready) with driver R570 unless a test says otherwise. */
static void scene(const char *mode, const char *gpus)
{
	setenv("FAKE_NVML_MODE", mode, 1);
	setenv("FAKE_NVML_GPUS", gpus, 1);
	setenv("FAKE_NVML_DRIVER", "570.124.06", 1);
	unsetenv("FAKE_NVML_NAME");
	unsetenv("FAKE_NVML_ARCH");
	unsetenv("FAKE_NVML_VBIOS");
	unsetenv("FAKE_NVML_BUSIDS");
	unsetenv("FAKE_NVML_FAIL");
	memset(state, 0, sizeof *state);
}

static bool by_attestation; /* o.gpu_cc_by_attestation for the next runs */

/* The GPU checks alone, on sysfs root `sys` with NVML library `nvml`. */
static veil_err run_on(const char *sys, const char *nvml, unsigned min_gpus, const char *min_driver)
{
	veil_hc_options o = {0};

	o.gpu_cc_by_attestation = by_attestation;
	o.roots.sysfs = sys;
	o.roots.nvml_lib = nvml;
	o.min_gpus = min_gpus;
	o.min_driver = min_driver;
	memset(&rep, 0, sizeof rep);
	veil_err_clear();
	veil_err err = veil_hostcheck_gpu(&o, &rep);
	/* Every successful nvmlInit_v2 met its nvmlShutdown. */
	EXPECT(state->inits == state->shutdowns ||
	       (state->inits == 1 && state->shutdowns == 0 && getenv("FAKE_NVML_MODE") != NULL &&
		strcmp(getenv("FAKE_NVML_MODE"), "init_error") == 0));
	return err;
}

static veil_err run(const char *tree, unsigned min_gpus)
{
	char sys[PATH_MAX];
	snprintf(sys, sizeof sys, HOSTS "%s/sys", tree);
	return run_on(sys, lib_path, min_gpus, NULL);
}

static const veil_hc_check *find(const char *id)
{
	for (size_t i = 0; i < rep.count; i++)
		if (strcmp(rep.checks[i].id, id) == 0)
			return &rep.checks[i];
	return NULL;
}

/* id is there with this status and required flag; a failure has a remedy,
 * anything else none. */
static bool is(const char *id, veil_hc_status st, bool required)
{
	const veil_hc_check *c = find(id);
	if (c == NULL) {
		fprintf(stderr, "  no check %s\n", id);
		return false;
	}
	bool ok = c->status == st && c->required == required && c->evidence[0] != 0 &&
		  (st == VEIL_HC_FAIL) == (c->remedy[0] != 0);
	if (!ok)
		fprintf(stderr, "  %s: %s%s: %s | %s\n", id, veil_hc_status_name(c->status),
			c->required ? " (required)" : "", c->evidence, c->remedy);
	return ok;
}

static bool says(const char *id, const char *evidence_part, const char *remedy_part)
{
	const veil_hc_check *c = find(id);
	bool ok = c != NULL && (evidence_part == NULL || strstr(c->evidence, evidence_part)) &&
		  (remedy_part == NULL || strstr(c->remedy, remedy_part));
	if (!ok && c != NULL)
		fprintf(stderr, "  %s says: %s | %s\n", id, c->evidence, c->remedy);
	return ok;
}

/* No required check failed: the GPU side of the host passes. */
static bool passes(void)
{
	for (size_t i = 0; i < rep.count; i++)
		if (rep.checks[i].required && rep.checks[i].status == VEIL_HC_FAIL)
			return false;
	return rep.count > 0;
}

/* The checks of one GPU, all passing and required. */
static bool gpu_good(unsigned i, bool required)
{
	char id[VEIL_HC_ID_MAX];
	const char *parts[] = {"model", "cc_mode", "devtools", "vbios", "vfio"};
	bool ok = true;

	for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
		snprintf(id, sizeof id, "gpu.%u.%s", i, parts[k]);
		ok = is(id, VEIL_HC_PASS, required) && ok;
	}
	snprintf(id, sizeof id, "gpu.%u.ready", i);
	return is(id, VEIL_HC_PASS, false) && ok;
}

TEST(h100_cc_on_passes)
{
	scene("ok", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(rep.count == 9);
	EXPECT(is("gpu.nvml", VEIL_HC_PASS, true));
	EXPECT(is("gpu.driver", VEIL_HC_PASS, true));
	EXPECT(says("gpu.driver", "570.124.06", NULL));
	EXPECT(gpu_good(0, true));
	EXPECT(says("gpu.0.model", "NVIDIA H100 80GB HBM3, architecture Hopper", NULL));
	EXPECT(says("gpu.0.vfio", "0000:41:00.0 (10de:2331, bound to vfio-pci), IOMMU group 40",
		    NULL));
	EXPECT(says("gpu.0.vbios", "96.00.9F.00.01", NULL));
	EXPECT(is("gpu.count", VEIL_HC_PASS, true));
	EXPECT(says("gpu.count", "1 ready (0000:41:00.0); 1 required", NULL));
	EXPECT(passes());
	EXPECT(state->inits == 1 && state->shutdowns == 1);
	/* Evidence names the host's path, not the fixture tree's (the library is
	 * named as given). */
	for (size_t i = 0; i < rep.count; i++)
		EXPECT(strstr(rep.checks[i].evidence, "fixtures/hosts") == NULL);
	/* The same host with no GPU required: informational, nothing fails. */
	scene("ok", "1");
	EXPECT_OK(run("snp", 0));
	EXPECT(gpu_good(0, false) && is("gpu.nvml", VEIL_HC_PASS, false));
	EXPECT(is("gpu.count", VEIL_HC_NA, false));
}

TEST(cc_off_devtools_sim_not_capable)
{
	scene("cc_off", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.0.cc_mode", "CC mode is off", "--set-cc-mode=on"));
	EXPECT(says("gpu.0.cc_mode", NULL, "--devices 0000:41:00.0"));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && !passes());

	scene("devtools", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_PASS, true));
	EXPECT(is("gpu.0.devtools", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.0.devtools", "DEVTOOLS mode is on", "--set-cc-mode=on"));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && !passes());
	/* Fail closed: a mode that is not off is no pass. */
	scene("devtools_odd", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.devtools", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.0.devtools", "DEVTOOLS mode is unknown", NULL));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && !passes());

	scene("sim_env", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, true) && says("gpu.0.cc_mode", "simulated", NULL));

	scene("not_capable", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, true) &&
	       says("gpu.0.cc_mode", "not CC-capable", NULL));
	EXPECT(!passes());
}

/* Not ready is what a host sees before launch: informational. */
TEST(not_ready_is_informational)
{
	scene("not_ready", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.ready", VEIL_HC_NA, false));
	EXPECT(says("gpu.0.ready", "after attestation", NULL));
	EXPECT(passes());
}

TEST(driver_versions)
{
	scene("ok", "1");
	unsetenv("FAKE_NVML_DRIVER"); /* the stand-in's 550.90.07 */
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.driver", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.driver", "driver 550.90.07 is older than 570.00", "570.00 or later"));
	EXPECT(!passes());

	/* Compared by number, part by part: 124 > 86. */
	scene("ok", "1");
	EXPECT_OK(run_on(HOSTS "snp/sys", lib_path, 1, "570.86.15"));
	EXPECT(is("gpu.driver", VEIL_HC_PASS, true));
	scene("ok", "1");
	EXPECT_OK(run_on(HOSTS "snp/sys", lib_path, 1, "570.124.7"));
	EXPECT(is("gpu.driver", VEIL_HC_FAIL, true));
	scene("ok", "1");
	EXPECT_OK(run_on(HOSTS "snp/sys", lib_path, 1, "570.124.06"));
	EXPECT(is("gpu.driver", VEIL_HC_PASS, true));
	scene("ok", "1");
	EXPECT_OK(run_on(HOSTS "snp/sys", lib_path, 1, "571"));
	EXPECT(is("gpu.driver", VEIL_HC_FAIL, true));

	/* A driver version NVML writes oddly is not compared. */
	scene("ok", "1");
	setenv("FAKE_NVML_DRIVER", "570.x", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.driver", VEIL_HC_FAIL, true) &&
	       says("gpu.driver", "cannot be compared", NULL));
	scene("ok", "1");
	setenv("FAKE_NVML_FAIL", "nvmlSystemGetDriverVersion", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.driver", VEIL_HC_FAIL, true) &&
	       says("gpu.driver", "nvmlSystemGetDriverVersion failed: Unknown Error", NULL));

	/* Bad minimums are the caller's mistake. */
	scene("ok", "1");
	EXPECT_ERR(run_on(HOSTS "snp/sys", lib_path, 1, "abc"), VEIL_E_USAGE);
	EXPECT_ERR(run_on(HOSTS "snp/sys", lib_path, 1, "570..1"), VEIL_E_USAGE);
	EXPECT_ERR(run_on(HOSTS "snp/sys", lib_path, 1, ""), VEIL_E_USAGE);
	EXPECT_ERR(run_on(HOSTS "snp/sys", lib_path, 1, "570.00.1234567"), VEIL_E_USAGE);
}

/* Blackwell needs R580; Ampere has no CC mode. */
TEST(architectures)
{
	scene("ok", "1");
	setenv("FAKE_NVML_ARCH", "10", 1);
	setenv("FAKE_NVML_NAME", "NVIDIA B200", 1);
	setenv("FAKE_NVML_VBIOS", "97.00.88.00.0F", 1);
	setenv("FAKE_NVML_DRIVER", "575.57.08", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.model", VEIL_HC_PASS, true) && says("gpu.0.model", "Blackwell", NULL));
	EXPECT(is("gpu.driver", VEIL_HC_FAIL, true) && says("gpu.driver", "580.65.06", NULL));
	EXPECT(is("gpu.0.vbios", VEIL_HC_PASS, true));
	setenv("FAKE_NVML_DRIVER", "580.65.06", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.driver", VEIL_HC_PASS, true) && passes());

	scene("ok", "1");
	setenv("FAKE_NVML_ARCH", "7", 1);
	setenv("FAKE_NVML_NAME", "NVIDIA A100-SXM4-80GB", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.model", VEIL_HC_FAIL, true) && says("gpu.0.model", "Ampere", "Hopper"));
	EXPECT(!passes());

	scene("arch_unknown", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.model", VEIL_HC_FAIL, true) && says("gpu.0.model", "unknown (42)", NULL));
}

TEST(vbios)
{
	scene("ok", "1");
	setenv("FAKE_NVML_VBIOS", "96.00.30.00.01", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.vbios", VEIL_HC_FAIL, true) && says("gpu.0.vbios", "96.00.5E", NULL));
	setenv("FAKE_NVML_VBIOS", "96.00.5E.00.01", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.vbios", VEIL_HC_PASS, true));
	setenv("FAKE_NVML_VBIOS", "96.00.74.00.20", 1); /* hex: 0x74 > 0x5e */
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.vbios", VEIL_HC_PASS, true));
	setenv("FAKE_NVML_FAIL", "nvmlDeviceGetVbiosVersion", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.vbios", VEIL_HC_FAIL, true) && says("gpu.0.vbios", "Not Supported", NULL));
}

/* A passthrough host: NVML missing, the GPU bound to vfio-pci. */
TEST(no_nvml_library)
{
	scene("ok", "1");
	EXPECT_OK(run_on(HOSTS "snp/sys", HOSTS "no-such-libnvidia-ml.so.1", 1, NULL));
	EXPECT(is("gpu.nvml", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.nvml", "cannot load", "vfio-pci"));
	EXPECT(is("gpu.driver", VEIL_HC_FAIL, true));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.0.cc_mode", "cannot be read on this host", "--query-cc-mode"));
	EXPECT(is("gpu.0.devtools", VEIL_HC_FAIL, true));
	EXPECT(is("gpu.0.model", VEIL_HC_FAIL, true));
	EXPECT(is("gpu.0.ready", VEIL_HC_NA, false));
	EXPECT(is("gpu.0.vfio", VEIL_HC_PASS, true));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && !passes());
	EXPECT(state->inits == 0);

	/* No GPU required: reported, not required. */
	EXPECT_OK(run_on(HOSTS "snp/sys", HOSTS "no-such-libnvidia-ml.so.1", 0, NULL));
	EXPECT(is("gpu.nvml", VEIL_HC_FAIL, false) && is("gpu.0.cc_mode", VEIL_HC_FAIL, false));
	EXPECT(is("gpu.count", VEIL_HC_NA, false) && passes());

	/* No GPU at all and none required: n/a. */
	EXPECT_OK(run_on(empty_sys, HOSTS "no-such-libnvidia-ml.so.1", 0, NULL));
	EXPECT(rep.count == 3);
	EXPECT(is("gpu.nvml", VEIL_HC_NA, false) && is("gpu.driver", VEIL_HC_NA, false) &&
	       is("gpu.count", VEIL_HC_NA, false));
	EXPECT(passes());
	/* ...but one required: fail. */
	EXPECT_OK(run_on(empty_sys, HOSTS "no-such-libnvidia-ml.so.1", 1, NULL));
	EXPECT(is("gpu.nvml", VEIL_HC_FAIL, true) && says("gpu.nvml", NULL, "--nvml-lib"));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && says("gpu.count", "0 NVIDIA GPU(s)", NULL));
	/* NVML working but seeing no GPU, none required: n/a. */
	scene("zero_gpus", "1");
	EXPECT_OK(run_on(empty_sys, lib_path, 0, NULL));
	EXPECT(rep.count == 3 && is("gpu.nvml", VEIL_HC_NA, false));
}

/* A passthrough host: the GPU on vfio-pci, no NVIDIA driver on the host.
 * Left to the VM's attestation, what cannot be read is n/a and the host
 * passes on the passthrough checks alone; a GPU not on vfio-pci still
 * fails, and a GPU NVML does see is still judged. */
TEST(left_to_attestation)
{
	scene("ok", "1");
	by_attestation = true;
	EXPECT_OK(run_on(HOSTS "snp/sys", HOSTS "no-such-libnvidia-ml.so.1", 1, NULL));
	EXPECT(is("gpu.nvml", VEIL_HC_NA, false) && is("gpu.driver", VEIL_HC_NA, false));
	EXPECT(is("gpu.0.model", VEIL_HC_NA, false) && is("gpu.0.cc_mode", VEIL_HC_NA, false));
	EXPECT(says("gpu.0.cc_mode", "left to the VM's GPU attestation", NULL));
	EXPECT(is("gpu.0.devtools", VEIL_HC_NA, false) && is("gpu.0.vbios", VEIL_HC_NA, false));
	EXPECT(is("gpu.0.vfio", VEIL_HC_PASS, true));
	EXPECT(is("gpu.count", VEIL_HC_PASS, true) && passes());
	/* Two GPUs asked for, one there: still a failure. */
	EXPECT_OK(run_on(HOSTS "snp/sys", HOSTS "no-such-libnvidia-ml.so.1", 2, NULL));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && !passes());
	/* Bound to the nvidia driver: cannot be passed through, whatever. */
	EXPECT_OK(run_on(HOSTS "gpu-nvidia-bound/sys", HOSTS "no-such-libnvidia-ml.so.1", 1, NULL));
	EXPECT(is("gpu.0.vfio", VEIL_HC_FAIL, true) && !passes());
	/* Visible to NVML with CC off: judged, and failing, as without. */
	scene("cc_off", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, true) && !passes());
	by_attestation = false;
}

TEST(nvml_init_and_symbols)
{
	scene("init_error", "1");
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.nvml", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.nvml", "nvmlInit_v2 failed: Driver Not Loaded (error 9)", "nvidia-smi"));
	EXPECT(state->inits == 1 && state->shutdowns == 0);
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, true) && !passes());

	/* A library without the CC queries: a driver older than R535. */
	scene("ok", "1");
	EXPECT_OK(run_on(HOSTS "snp/sys", old_lib, 1, NULL));
	EXPECT(is("gpu.nvml", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.nvml", "has no nvmlSystemGetConfComputeCapabilities", "R535"));
	EXPECT(state->inits == 0 && !passes());

	/* A library that is not NVML at all. */
	EXPECT_OK(run_on(HOSTS "snp/sys", "libc.so.6", 1, NULL));
	EXPECT(is("gpu.nvml", VEIL_HC_FAIL, true) && says("gpu.nvml", "has no nvmlInit_v2", NULL));

	scene("ok", "1");
	setenv("FAKE_NVML_FAIL", "nvmlDeviceGetCount_v2", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.nvml", VEIL_HC_FAIL, true) &&
	       says("gpu.nvml", "nvmlDeviceGetCount_v2 failed", NULL));
	EXPECT(state->inits == 1 && state->shutdowns == 1);
}

/* One entry point failing at a time: its check fails, with NVML's words. */
TEST(nvml_queries_fail)
{
	scene("ok", "1");
	setenv("FAKE_NVML_FAIL", "nvmlSystemGetConfComputeState", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, true) && is("gpu.0.devtools", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.0.cc_mode", "nvmlSystemGetConfComputeState failed", NULL));
	scene("ok", "1");
	setenv("FAKE_NVML_FAIL", "nvmlSystemGetConfComputeCapabilities", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, true) && is("gpu.0.devtools", VEIL_HC_PASS, true));
	scene("ok", "1");
	setenv("FAKE_NVML_FAIL", "nvmlSystemGetConfComputeGpusReadyState", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.ready", VEIL_HC_NA, false) && passes());
	scene("ok", "1");
	setenv("FAKE_NVML_FAIL", "nvmlDeviceGetName", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.model", VEIL_HC_FAIL, true));
	scene("ok", "1");
	setenv("FAKE_NVML_FAIL", "nvmlDeviceGetArchitecture", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.model", VEIL_HC_FAIL, true));
	/* Without its PCI address NVML's GPU cannot be matched to sysfs:
	 * two GPUs, neither complete. */
	scene("ok", "1");
	setenv("FAKE_NVML_FAIL", "nvmlDeviceGetPciInfo_v3", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_FAIL, false) && is("gpu.1.vfio", VEIL_HC_FAIL, false));
	EXPECT(says("gpu.1.vfio", "NVML GPU 0", NULL));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && says("gpu.count", "2 NVIDIA GPU(s)", NULL));
}

TEST(vfio_binding)
{
	scene("ok", "1");
	EXPECT_OK(run("gpu-nvidia-bound", 1));
	EXPECT(is("gpu.0.vfio", VEIL_HC_FAIL, true));
	EXPECT(says("gpu.0.vfio", "nvidia, not vfio-pci", "driverctl set-override 0000:41:00.0"));
	EXPECT(says("gpu.0.vfio", NULL, "\"10de 2331\" to /sys/bus/pci/drivers/vfio-pci/new_id"));
	EXPECT(is("gpu.0.cc_mode", VEIL_HC_PASS, true));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && !passes());

	scene("ok", "1");
	EXPECT_OK(run("gpu-no-iommu-group", 1));
	EXPECT(is("gpu.0.vfio", VEIL_HC_FAIL, true) &&
	       says("gpu.0.vfio", "no IOMMU group", "iommu"));
	EXPECT(!passes());

	/* NVML's GPU is not where sysfs has one. */
	scene("ok", "1");
	setenv("FAKE_NVML_BUSIDS", "00000000:99:00.0", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(says("gpu.0.cc_mode", "does not see this GPU (a GPU bound to vfio-pci is invisible",
		    NULL));
	EXPECT(is("gpu.1.vfio", VEIL_HC_FAIL, false));
	EXPECT(says("gpu.1.vfio", "0000:99:00.0 (NVML GPU 0): not found under /sys/bus/pci/devices",
		    NULL));
	EXPECT(!passes());

	/* A sysfs that is not there: NVML's GPU cannot be shown bound. */
	scene("ok", "1");
	EXPECT_OK(run_on(HOSTS "no-such-tree/sys", lib_path, 1, NULL));
	EXPECT(is("gpu.0.vfio", VEIL_HC_FAIL, true) &&
	       says("gpu.0.vfio", "cannot be listed", NULL));
}

/* tdx: two H100s and an NVSwitch (not counted). */
TEST(count_and_spares)
{
	scene("ok", "2");
	setenv("FAKE_NVML_BUSIDS", "00000000:18:00.0,00000000:2A:00.0", 1);
	EXPECT_OK(run("tdx", 2));
	EXPECT(rep.count == 3 + 2 * 6);
	EXPECT(gpu_good(0, true) && gpu_good(1, true));
	EXPECT(says("gpu.0.vfio", "0000:18:00.0", NULL) &&
	       says("gpu.1.vfio", "0000:2a:00.0", NULL));
	EXPECT(
	    says("gpu.count", "2 NVIDIA GPU(s) found, 2 ready (0000:18:00.0, 0000:2a:00.0)", NULL));
	EXPECT(passes());

	/* One of two is enough for --min-gpus 1: the other is a spare and its
	 * failures are informational. */
	scene("ok", "1");
	setenv("FAKE_NVML_BUSIDS", "00000000:18:00.0", 1);
	EXPECT_OK(run("tdx", 1));
	EXPECT(gpu_good(0, false));
	EXPECT(is("gpu.1.cc_mode", VEIL_HC_FAIL, false));
	EXPECT(is("gpu.count", VEIL_HC_PASS, true) && passes());
	/* Both needed: the second's failure is required. */
	EXPECT_OK(run("tdx", 2));
	EXPECT(is("gpu.1.cc_mode", VEIL_HC_FAIL, true));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && !passes());

	/* Fewer GPUs than asked for. */
	scene("ok", "1");
	EXPECT_OK(run("snp", 2));
	EXPECT(gpu_good(0, true));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && says("gpu.count", "1 ready", "--min-gpus"));
	EXPECT(!passes());
}

/* More GPUs than are checked one by one. */
TEST(many_gpus)
{
	scene("ok", "9");
	EXPECT_OK(run_on(empty_sys, lib_path, 1, NULL));
	EXPECT(rep.count == 3 + 8 * 6);
	EXPECT(says("gpu.count", "9 NVIDIA GPUs found (the first 8 checked)", NULL));
	EXPECT(is("gpu.7.model", VEIL_HC_PASS, false) && find("gpu.8.model") == NULL);
	EXPECT_OK(run_on(empty_sys, lib_path, 9, NULL));
	EXPECT(is("gpu.count", VEIL_HC_FAIL, true) && says("gpu.count", NULL, "at most 8"));
}

/* What NVML says is not trusted to be text. */
TEST(hostile_strings)
{
	scene("ok", "1");
	setenv("FAKE_NVML_NAME", "H100\x1b[31m\n", 1);
	setenv("FAKE_NVML_VBIOS", "96.00.9F\x07", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(says("gpu.0.model", "H100?[31m?", NULL));
	EXPECT(says("gpu.0.vbios", "96.00.9F?", NULL));
	scene("ok", "1");
	setenv("FAKE_NVML_BUSIDS", "zz:41", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(says("gpu.1.vfio", "NVML GPU 0", NULL));
	EXPECT(says("gpu.1.model", NULL, NULL) && find("gpu.2.model") == NULL);
	scene("ok", "1");
	setenv("FAKE_NVML_BUSIDS", "00000000:41:00.0:extra", 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(find("gpu.1.model") != NULL && !passes());
	/* A name longer than NVML's buffer: NVML refuses, the check says so. */
	scene("ok", "1");
	char longname[200];
	memset(longname, 'A', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	setenv("FAKE_NVML_NAME", longname, 1);
	EXPECT_OK(run("snp", 1));
	EXPECT(is("gpu.0.model", VEIL_HC_FAIL, true) &&
	       says("gpu.0.model", "Insufficient Size", NULL));
}

TEST(bad_arguments)
{
	veil_hc_options o = {0};
	EXPECT_ERR(veil_hostcheck_gpu(NULL, &rep), VEIL_E_USAGE);
	EXPECT_ERR(veil_hostcheck_gpu(&o, NULL), VEIL_E_USAGE);
}

int main(void)
{
	find_fixture();
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	make_old_lib();
	make_empty_sys();

	RUN(h100_cc_on_passes);
	RUN(cc_off_devtools_sim_not_capable);
	RUN(not_ready_is_informational);
	RUN(driver_versions);
	RUN(architectures);
	RUN(vbios);
	RUN(no_nvml_library);
	RUN(nvml_init_and_symbols);
	RUN(nvml_queries_fail);
	RUN(vfio_binding);
	RUN(left_to_attestation);
	RUN(count_and_spares);
	RUN(many_gpus);
	RUN(hostile_strings);
	RUN(bad_arguments);
	clean_scratch();
	dlclose(lib);
	return harness_finish("test_hostcheck_gpu");
}

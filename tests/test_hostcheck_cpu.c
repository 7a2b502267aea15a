/*
 * test_hostcheck_cpu.c - the CPU side of `veil host-check`
 * (src/hostcheck/cpu.c, cpu_tdx.c, snp_status.c, hostcheck.c) on every
 * fixture tree: each check's status and the evidence it quotes, the
 * verdict of the whole run, and variants made in scratch trees for what
 * the fixtures do not show (other firmware states, the TDX module's three
 * ways of showing itself, IOMMU command lines, kernel releases, files
 * that cannot be read, CPU vendors), the SNP status parser, adding checks
 * (sanitizing, cutting, refusals) and the options the run refuses. The
 * GPU checks are not looked at here (test_hostcheck_gpu.c): the runs load
 * no NVML and require no GPU.
 */
#include "hostcheck/hostcheck_internal.h"
#include "test_hostcheck_util.h"

static veil_hc_report *rep;

/* veil_hostcheck_cpu alone on a tree. */
static void cpu_on(const char *tree, veil_hc_tee tee)
{
	char b[3][512];
	veil_hc_options o = hc_opts(tree, b, tee);

	memset(rep, 0, sizeof *rep);
	EXPECT_OK(veil_hostcheck_cpu(&o, rep));
}

/* The whole run, with roots that may come from different places. */
static veil_err run_roots(const char *sys, const char *proc, const char *dev, veil_hc_tee tee)
{
	veil_hc_options o;

	memset(&o, 0, sizeof o);
	o.roots.sysfs = sys;
	o.roots.procfs = proc;
	o.roots.dev = dev;
	o.roots.nvml_lib = NO_NVML;
	o.tee = tee;
	o.now = HC_NOW;
	return veil_hostcheck_run(&o, rep);
}

static veil_err run_tree(const char *tree)
{
	char b[3][512];
	veil_hc_options o = hc_opts(tree, b, VEIL_HC_TEE_AUTO);

	return veil_hostcheck_run(&o, rep);
}

static bool all_required(void)
{
	for (size_t i = 0; i < rep->count; i++)
		if (strncmp(rep->checks[i].id, "gpu", 3) != 0 && !rep->checks[i].required)
			return false;
	return true;
}

/* No evidence of the CPU checks names the tree it was read from (the
 * GPU checks name the NVML library they tried). */
static bool no_root_paths(void)
{
	for (size_t i = 0; i < rep->count; i++)
		if (strncmp(rep->checks[i].id, "gpu", 3) == 0)
			continue;
		else if (strstr(rep->checks[i].evidence, "fixtures") != NULL ||
			 strstr(rep->checks[i].evidence, "/tmp/") != NULL)
			return false;
	return true;
}

TEST(snp_host)
{
	cpu_on("snp", VEIL_HC_TEE_AUTO);
	EXPECT(rep->count == 10 && all_required() && no_root_paths());
	EXPECT(strcmp(rep->tee, "snp") == 0);
	EXPECT(strcmp(rep->cpu, "AMD EPYC 9654 96-Core Processor") == 0);
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_PASS,
		     "vendor_id AuthenticAMD, model name AMD EPYC "
		     "9654 96-Core Processor; checked for SEV-SNP",
		     NULL));
	EXPECT(hc_is(rep, "snp.cpu_flags", VEIL_HC_PASS,
		     "/proc/cpuinfo flags: sev present sev_es present sev_snp present", NULL));
	EXPECT(hc_is(rep, "snp.kvm_amd", VEIL_HC_PASS,
		     "/sys/module/kvm_amd/parameters: sev=Y sev_es=Y sev_snp=Y", NULL));
	EXPECT(hc_is(rep, "snp.dev_sev", VEIL_HC_PASS, "/dev/sev: regular file (a fixture", NULL));
	EXPECT(hc_is(rep, "snp.firmware", VEIL_HC_PASS,
		     "SNP API 1.55 build 21 (minimum 1.51), state INIT, RMP initialized, 0 guests, "
		     "current TCB 0x480e000000000007, reported TCB 0x480e000000000007",
		     NULL));
	EXPECT(hc_is(rep, "snp.firmware", VEIL_HC_PASS, "fixture stand-in for the ioctl", NULL));
	EXPECT(hc_is(rep, "tdx.cpu_flag", VEIL_HC_NA, "the host is checked for SEV-SNP", NULL));
	EXPECT(hc_is(rep, "tdx.kvm_intel", VEIL_HC_NA, NULL, NULL));
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_NA, NULL, NULL));
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_PASS,
		     "/sys/class/iommu: ivhd0 ivhd1 (2); /proc/cmdline: iommu=pt", NULL));
	EXPECT(hc_is(rep, "kernel.version", VEIL_HC_PASS,
		     "/proc/sys/kernel/osrelease: 6.12.9-snp-host (SEV-SNP host support is "
		     "upstream since 6.11)",
		     NULL));
	/* The order: the CPU, SEV-SNP, TDX, then what both share. */
	EXPECT(strcmp(rep->checks[0].id, "cpu.vendor") == 0 &&
	       strcmp(rep->checks[4].id, "snp.firmware") == 0 &&
	       strcmp(rep->checks[9].id, "kernel.version") == 0);
}

TEST(tdx_host)
{
	cpu_on("tdx", VEIL_HC_TEE_AUTO);
	EXPECT(rep->count == 10 && all_required() && no_root_paths());
	EXPECT(strcmp(rep->tee, "tdx") == 0 &&
	       strcmp(rep->cpu, "INTEL(R) XEON(R) PLATINUM 8580") == 0);
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_PASS, "vendor_id GenuineIntel", NULL));
	EXPECT(hc_is(rep, "snp.cpu_flags", VEIL_HC_NA, "the host is checked for TDX", NULL));
	EXPECT(hc_is(rep, "snp.firmware", VEIL_HC_NA, NULL, NULL));
	EXPECT(hc_is(rep, "tdx.cpu_flag", VEIL_HC_PASS, "tdx_host_platform present", NULL));
	EXPECT(hc_is(rep, "tdx.kvm_intel", VEIL_HC_PASS, "/sys/module/kvm_intel/parameters/tdx: Y",
		     NULL));
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_PASS,
		     "/sys/firmware/tdx/tdx_module: status initialized, version 1.5 build 784 "
		     "(20240725), vendor_id 0x8086, attributes 0x00000000",
		     NULL));
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_PASS,
		     "(4); /proc/cmdline: intel_iommu=on iommu=pt", NULL));
	/* A distribution kernel older than upstream TDX, with it backported. */
	EXPECT(hc_is(rep, "kernel.version", VEIL_HC_PASS,
		     "6.8.0-1028-intel is older than 6.16; /sys/module/kvm_intel/parameters/tdx: Y "
		     "(the support is backported)",
		     NULL));
}

TEST(plain_host)
{
	cpu_on("plain", VEIL_HC_TEE_AUTO);
	EXPECT(strcmp(rep->tee, "tdx") == 0 && no_root_paths());
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_PASS, "Gold 6338", NULL));
	EXPECT(hc_is(rep, "tdx.cpu_flag", VEIL_HC_FAIL, "tdx_host_platform absent", "SEAM Loader"));
	EXPECT(hc_is(rep, "tdx.kvm_intel", VEIL_HC_FAIL,
		     "tdx: (not found) (a kvm_intel without TDX host support)", "kvm_intel.tdx=1"));
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_FAIL,
		     "no TDX module: /sys/firmware/tdx/tdx_module/status: not found; "
		     "/sys/devices/faux/tdx_host/version: not found; "
		     "/sys/module/kvm_intel/parameters/tdx: (not found)",
		     "/boot/efi/EFI/TDX/TDX-SEAM.so"));
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_PASS, "intel_iommu=on", NULL));
	EXPECT(hc_is(rep, "kernel.version", VEIL_HC_FAIL, "6.8.0-45-generic is older than 6.16",
		     "Linux 6.16 or later"));
	REQUIRE(run_tree("plain") == VEIL_OK);
	EXPECT(!rep->pass && strcmp(rep->host, "plain-01") == 0 &&
	       strcmp(rep->kernel, "6.8.0-45-generic") == 0 && rep->time == HC_NOW);
}

TEST(snp_disabled)
{
	cpu_on("snp-disabled", VEIL_HC_TEE_AUTO);
	EXPECT(hc_is(rep, "snp.cpu_flags", VEIL_HC_FAIL,
		     "sev present sev_es present sev_snp absent", "SNP Memory Coverage"));
	EXPECT(hc_is(rep, "snp.kvm_amd", VEIL_HC_FAIL, "sev=Y sev_es=Y sev_snp=N",
		     "kvm_amd.sev_snp=1"));
	EXPECT(hc_is(rep, "snp.dev_sev", VEIL_HC_PASS, NULL, NULL));
	EXPECT(hc_is(rep, "snp.firmware", VEIL_HC_FAIL, "/dev/sev.snp_platform_status: not found",
		     "SNP_INIT"));
	EXPECT(hc_is(rep, "kernel.version", VEIL_HC_PASS, "6.11.0-21-generic", NULL));
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_PASS, "no IOMMU parameter", NULL));
	REQUIRE(run_tree("snp-disabled") == VEIL_OK);
	EXPECT(!rep->pass);
}

TEST(tdx_without_module)
{
	cpu_on("tdx-no-module", VEIL_HC_TEE_AUTO);
	EXPECT(hc_is(rep, "tdx.cpu_flag", VEIL_HC_PASS, NULL, NULL));
	EXPECT(hc_is(rep, "tdx.kvm_intel", VEIL_HC_FAIL, "tdx: N", "tdx.module"));
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_FAIL, "/sys/module/kvm_intel/parameters/tdx: N",
		     "SEAM Loader"));
	EXPECT(hc_is(rep, "kernel.version", VEIL_HC_PASS,
		     "6.16.3 (TDX host support is upstream "
		     "since 6.16)",
		     NULL));
	/* A TEE check passed, but required ones failed. */
	REQUIRE(run_tree("tdx-no-module") == VEIL_OK);
	EXPECT(!rep->pass);
}

TEST(iommu_off)
{
	cpu_on("iommu-off", VEIL_HC_TEE_AUTO);
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_FAIL,
		     "/sys/class/iommu: not found; /proc/cmdline: intel_iommu=off (turns the IOMMU "
		     "off)",
		     "intel_iommu=on"));
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_FAIL, NULL, "VT-d"));
	/* Upstream kernels publish no module version: KVM's tdx=Y vouches. */
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_PASS, "version not known", NULL));
	for (size_t i = 0; i < rep->count; i++)
		EXPECT(strcmp(rep->checks[i].id, "iommu.enabled") == 0 ||
		       rep->checks[i].status != VEIL_HC_FAIL);
	REQUIRE(run_tree("iommu-off") == VEIL_OK);
	EXPECT(!rep->pass);
}

TEST(old_kernel)
{
	cpu_on("old-kernel", VEIL_HC_TEE_AUTO);
	EXPECT(
	    hc_is(rep, "kernel.version", VEIL_HC_FAIL,
		  "6.6.58 is older than 6.11; /sys/module/kvm_amd/parameters/sev_snp: (not found)",
		  "Linux 6.11 or later"));
	/* sev and sev_es as the integers older kernels wrote. */
	EXPECT(hc_is(rep, "snp.kvm_amd", VEIL_HC_FAIL,
		     "sev=1 sev_es=1 sev_snp=(not found) (a kvm_amd without SEV-SNP host support)",
		     NULL));
	EXPECT(hc_is(rep, "snp.cpu_flags", VEIL_HC_PASS, NULL, NULL));
	REQUIRE(run_tree("old-kernel") == VEIL_OK);
	EXPECT(!rep->pass);
}

TEST(good_hosts_pass)
{
	REQUIRE(run_tree("snp") == VEIL_OK);
	EXPECT(rep->pass && strcmp(rep->host, "snp-host-01") == 0 &&
	       strcmp(rep->kernel, "6.12.9-snp-host") == 0);
	REQUIRE(run_tree("tdx") == VEIL_OK);
	EXPECT(rep->pass && strcmp(rep->tee, "tdx") == 0);
}

/* --tee against the CPU: the vendor check fails, the other TEE is n/a. */
TEST(tee_asked_for)
{
	cpu_on("snp", VEIL_HC_TEE_TDX);
	EXPECT(strcmp(rep->tee, "tdx") == 0);
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_FAIL, "checked for TDX (that needs GenuineIntel)",
		     "AMD EPYC"));
	EXPECT(hc_is(rep, "snp.kvm_amd", VEIL_HC_NA, NULL, NULL));
	EXPECT(hc_is(rep, "tdx.cpu_flag", VEIL_HC_FAIL, "absent", NULL));
	cpu_on("tdx", VEIL_HC_TEE_SNP);
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_FAIL, "(that needs AuthenticAMD)", NULL));
	EXPECT(hc_is(rep, "snp.dev_sev", VEIL_HC_FAIL, "/dev/sev: not found", "modprobe ccp"));
	cpu_on("snp", VEIL_HC_TEE_SNP);
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_PASS, NULL, NULL));
}

/* Neither vendor, no cpuinfo, and cpuinfo without its lines. */
TEST(no_tee_cpu)
{
	char d[64], proc[96];

	hc_scratch(d, sizeof d);
	snprintf(proc, sizeof proc, "%s/proc", d);
	hc_put(d, "proc/cpuinfo",
	       "processor\t: 0\nvendor_id\t: HygonGenuine\nmodel name\t: Hygon C86 7285\n"
	       "flags\t\t: fpu sme sev sev_es sev_snp_x\n\nprocessor\t: 1\n");
	hc_put(d, "proc/sys/kernel/osrelease", "6.12.0\n");
	hc_put(d, "proc/cmdline", "ro\n");
	REQUIRE(run_roots(HOSTS "snp/sys", proc, HOSTS "snp/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(strcmp(rep->tee, "none") == 0 && strcmp(rep->cpu, "Hygon C86 7285") == 0);
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_FAIL, "checked for no TEE (neither AMD nor Intel)",
		     "EPYC"));
	EXPECT(hc_is(rep, "snp.cpu_flags", VEIL_HC_NA, "no SEV-SNP or TDX CPU", NULL));
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_NA, NULL, NULL));
	EXPECT(hc_is(rep, "kernel.version", VEIL_HC_NA, NULL, NULL));
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_PASS, NULL, NULL));
	/* Nothing TEE passed: the host fails even with the vendor check
	 * aside. */
	EXPECT(!rep->pass);

	/* Forced to SNP, a flag that only starts with sev_snp is not it. */
	REQUIRE(run_roots(HOSTS "snp/sys", proc, HOSTS "snp/dev", VEIL_HC_TEE_SNP) == VEIL_OK);
	EXPECT(hc_is(rep, "snp.cpu_flags", VEIL_HC_FAIL,
		     "sev present sev_es present sev_snp absent", NULL));

	/* No vendor line, no flags line. */
	hc_put(d, "proc/cpuinfo", "processor\t: 0\nmodel name\t: Something\n\n");
	REQUIRE(run_roots(HOSTS "snp/sys", proc, HOSTS "snp/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(strcmp(rep->tee, "none") == 0);
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_FAIL, "/proc/cpuinfo: no vendor_id or flags line",
		     NULL));
	REQUIRE(run_roots(HOSTS "snp/sys", proc, HOSTS "snp/dev", VEIL_HC_TEE_SNP) == VEIL_OK);
	EXPECT(hc_is(rep, "snp.cpu_flags", VEIL_HC_FAIL, "no vendor_id or flags line", NULL));

	/* No cpuinfo at all, no hostname: fail closed, empty fields. */
	hc_rm(d, "proc/cpuinfo");
	REQUIRE(run_roots(HOSTS "snp/sys", proc, HOSTS "snp/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "cpu.vendor", VEIL_HC_FAIL, "/proc/cpuinfo: not found", NULL));
	EXPECT(rep->cpu[0] == '\0' && rep->host[0] == '\0' && strcmp(rep->kernel, "6.12.0") == 0);
	EXPECT(!rep->pass && no_root_paths());
	hc_rm_tree(d);
}

/* SNP_PLATFORM_STATUS through the fixture stand-in, every outcome. */
TEST(snp_firmware_states)
{
	static const struct {
		const char *hex;
		veil_hc_status want;
		const char *ev, *rem;
	} cases[] = {
	    /* 1.51 is the minimum; 1.49 and 0.99 are under it. */
	    {"0133010101000000000000000000000000000000000000000000000000000000", VEIL_HC_PASS,
	     "SNP API 1.51 build 1", NULL},
	    {"0131010101000000000000000000000000000000000000000000000000000000", VEIL_HC_FAIL,
	     "SNP API 1.49 build 1 (minimum 1.51)", "linux-firmware"},
	    {"0063010101000000000000000000000000000000000000000000000000000000", VEIL_HC_FAIL,
	     "SNP API 0.99", "1.51 or later"},
	    {"0200010101000000000000000000000000000000000000000000000000000000", VEIL_HC_PASS,
	     "SNP API 2.0", NULL},
	    /* Not initialized, and a state no firmware reports. */
	    {"0137000015000000000000000000000000000000000000000000000000000000", VEIL_HC_FAIL,
	     "state UNINIT, RMP not initialized", "not initialized"},
	    {"0137070115000000000000000000000000000000000000000000000000000000", VEIL_HC_FAIL,
	     "state unknown", NULL},
	    /* Guests and flags are reported, not judged; upper case hex reads. */
	    {"013701011500000007000000030000000700000000000E480800000000000E48", VEIL_HC_PASS,
	     "3 guests, current TCB 0x480e000000000007, reported TCB 0x480e000000000008", NULL},
	    /* Not 64 hex digits. */
	    {"01370101150000000000000000000000070000000000 0e480700000000000e48", VEIL_HC_FAIL,
	     "not 64 hex digits", NULL},
	    {"0137010115000000000000000000000007000000000000e480700000000000e48", VEIL_HC_FAIL,
	     "not 64 hex digits", NULL},
	    {"013701011500000000000000000000000700000000000e480700000000000e4800", VEIL_HC_FAIL,
	     "not 64 hex digits", NULL},
	    {"", VEIL_HC_FAIL, "not 64 hex digits", NULL},
	    {"zz3701011500000000000000000000000700000000000e480700000000000e48", VEIL_HC_FAIL,
	     "not 64 hex digits", NULL},
	};
	char d[64], file[160];

	hc_scratch(d, sizeof d);
	hc_put(d, "sev", "stand-in\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(file, sizeof file, "%s\n", cases[i].hex);
		hc_put(d, "sev.snp_platform_status", file);
		REQUIRE(run_roots(HOSTS "snp/sys", HOSTS "snp/proc", d, VEIL_HC_TEE_AUTO) ==
			VEIL_OK);
		if (!hc_is(rep, "snp.firmware", cases[i].want, cases[i].ev, cases[i].rem))
			harness_fail(__FILE__, __LINE__, cases[i].hex);
	}
	EXPECT(no_root_paths());
	/* /dev/sev a folder: neither device nor stand-in. */
	hc_rm(d, "sev");
	hc_put(d, "sev", NULL);
	REQUIRE(run_roots(HOSTS "snp/sys", HOSTS "snp/proc", d, VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(
	    hc_is(rep, "snp.dev_sev", VEIL_HC_FAIL, "neither a character device nor a file", NULL));
	EXPECT(hc_is(rep, "snp.firmware", VEIL_HC_FAIL, "/dev/sev is neither", NULL));
	EXPECT(!rep->pass);
	hc_rm_tree(d);
}

TEST(snp_status_parser)
{
	uint8_t b[HC_SNP_STATUS_LEN + 1];
	hc_snp_status s;

	for (size_t i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)(i + 1);
	b[3] = 0x81; /* IS_RMP_INIT is bit 0 only */
	EXPECT_OK(hc_snp_status_parse(b, HC_SNP_STATUS_LEN, &s));
	EXPECT(s.api_major == 1 && s.api_minor == 2 && s.state == 3 && s.rmp_initialized);
	EXPECT(s.build_id == 0x08070605u && s.flags == 0x0c0b0a09u && s.guest_count == 0x100f0e0du);
	EXPECT(s.current_tcb == 0x1817161514131211ull && s.reported_tcb == 0x201f1e1d1c1b1a19ull);
	b[3] = 0xfe;
	EXPECT_OK(hc_snp_status_parse(b, HC_SNP_STATUS_LEN, &s));
	EXPECT(!s.rmp_initialized);
	EXPECT_ERR(hc_snp_status_parse(b, HC_SNP_STATUS_LEN - 1, &s), VEIL_E_TRUNCATED);
	EXPECT(s.api_major == 0 && s.current_tcb == 0); /* cleared on failure */
	EXPECT_ERR(hc_snp_status_parse(b, HC_SNP_STATUS_LEN + 1, &s), VEIL_E_TRAILING);
	EXPECT_ERR(hc_snp_status_parse(b, 0, &s), VEIL_E_TRUNCATED);
}

/* The TDX module shown the three ways kernels show it, and refused. */
TEST(tdx_module_ways)
{
	char d[64], sys[96];

	hc_scratch(d, sizeof d);
	snprintf(sys, sizeof sys, "%s", d);
	hc_put(d, "module/kvm_intel/parameters/tdx", "Y\n");
	hc_put(d, "class/iommu/dmar0", NULL);
	/* Newer kernels: the faux device's version. */
	hc_put(d, "devices/faux/tdx_host/version", "1.5.08\n");
	REQUIRE(run_roots(sys, HOSTS "tdx/proc", HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_PASS, "/sys/devices/faux/tdx_host/version: 1.5.08",
		     NULL));
	EXPECT(rep->pass);
	/* Intel's sysfs folder wins when both are there; a debug module
	 * fails. */
	hc_put(d, "firmware/tdx/tdx_module/status", "initialized\n");
	hc_put(d, "firmware/tdx/tdx_module/attributes", "0x80000000\n");
	hc_put(d, "firmware/tdx/tdx_module/major_version", "0x00000002\n");
	hc_put(d, "firmware/tdx/tdx_module/minor_version", "0x0000000a\n");
	REQUIRE(run_roots(sys, HOSTS "tdx/proc", HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(
	    hc_is(rep, "tdx.module", VEIL_HC_FAIL,
		  "version 2.10 build ? (?), vendor_id ?, attributes 0x80000000 (a debug module)",
		  "production module"));
	EXPECT(!rep->pass);
	/* Attributes that do not read as a number hide nothing: fail. */
	hc_put(d, "firmware/tdx/tdx_module/attributes", "production\n");
	REQUIRE(run_roots(sys, HOSTS "tdx/proc", HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_FAIL, "attributes production (unreadable)", NULL));
	hc_put(d, "firmware/tdx/tdx_module/attributes", "0x0\n");
	REQUIRE(run_roots(sys, HOSTS "tdx/proc", HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_PASS, "attributes 0x0", NULL) && rep->pass);
	/* Not initialized: what the status says. */
	hc_put(d, "firmware/tdx/tdx_module/status", "shutdown\n");
	REQUIRE(run_roots(sys, HOSTS "tdx/proc", HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_FAIL, "status shutdown", "virt/tdx"));
	/* A status that cannot be read is no "not found": fail, no fallback. */
	hc_rm(d, "firmware/tdx/tdx_module/status");
	hc_put(d, "firmware/tdx/tdx_module/status", NULL);
	REQUIRE(run_roots(sys, HOSTS "tdx/proc", HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "tdx.module", VEIL_HC_FAIL,
		     "/sys/firmware/tdx/tdx_module/status: unreadable", NULL));
	hc_rm_tree(d);
}

/* Which command lines and sysfs folders turn the IOMMU check. */
TEST(iommu_variants)
{
	static const struct {
		const char *cmdline;
		bool with_entries;
		veil_hc_status want;
		const char *ev;
	} cases[] = {
	    {"ro quiet", true, VEIL_HC_PASS, "/proc/cmdline: no IOMMU parameter"},
	    {"ro intel_iommu=on,sm_on iommu.strict=1", true, VEIL_HC_PASS,
	     "intel_iommu=on,sm_on iommu.strict=1"},
	    {"ro iommu=off", true, VEIL_HC_FAIL, "iommu=off (turns the IOMMU off)"},
	    {"ro amd_iommu=off", true, VEIL_HC_FAIL, "(turns the IOMMU off)"},
	    {"ro intel_iommu=sm_on,off", true, VEIL_HC_FAIL, "(turns the IOMMU off)"},
	    {"ro intel_iommu=offload iommu=pt", true, VEIL_HC_PASS, "intel_iommu=offload iommu=pt"},
	    {"ro noiommu=off", true, VEIL_HC_PASS, "noiommu=off"},
	    {"ro intel_iommu=on", false, VEIL_HC_FAIL, "/sys/class/iommu: empty"},
	};
	char d[64], sys[96], proc[96], line[256];

	hc_scratch(d, sizeof d);
	snprintf(sys, sizeof sys, "%s/sys", d);
	snprintf(proc, sizeof proc, "%s/proc", d);
	hc_put(d, "proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu tdx_host_platform\n");
	hc_put(d, "proc/sys/kernel/osrelease", "6.16.0\n");
	hc_put(d, "sys/module/kvm_intel/parameters/tdx", "Y\n");
	hc_put(d, "sys/class/iommu", NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(line, sizeof line, "BOOT_IMAGE=/vmlinuz %s\n", cases[i].cmdline);
		hc_put(d, "proc/cmdline", line);
		if (cases[i].with_entries)
			hc_put(d, "sys/class/iommu/dmar0", NULL);
		else
			hc_rm(d, "sys/class/iommu/dmar0");
		REQUIRE(run_roots(sys, proc, HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
		if (!hc_is(rep, "iommu.enabled", cases[i].want, cases[i].ev, NULL))
			harness_fail(__FILE__, __LINE__, cases[i].cmdline);
		EXPECT(rep->pass == (cases[i].want == VEIL_HC_PASS));
	}
	/* Many entries: the first four named, all counted. */
	for (int i = 0; i < 7; i++) {
		snprintf(line, sizeof line, "sys/class/iommu/dmar%d", i);
		hc_put(d, line, NULL);
	}
	REQUIRE(run_roots(sys, proc, HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_PASS, "dmar0 dmar1 dmar2 dmar3 ... (7)", NULL));
	/* The command line unreadable: fail closed. */
	hc_rm(d, "proc/cmdline");
	hc_put(d, "proc/cmdline", NULL);
	REQUIRE(run_roots(sys, proc, HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "iommu.enabled", VEIL_HC_FAIL, "/proc/cmdline: unreadable", NULL));
	hc_rm_tree(d);
}

TEST(kernel_releases)
{
	static const struct {
		const char *release, *tdx;
		veil_hc_status want;
		const char *ev;
	} cases[] = {
	    {"6.16.0\n", "N\n", VEIL_HC_PASS, "6.16.0 (TDX host support is upstream since 6.16)"},
	    {"7.0.1-rc2\n", "N\n", VEIL_HC_PASS, "7.0.1-rc2 (TDX"},
	    {"10.2\n", "N\n", VEIL_HC_PASS, "10.2 (TDX"},
	    {"6.15.9\n", "N\n", VEIL_HC_FAIL,
	     "6.15.9 is older than 6.16; "
	     "/sys/module/kvm_intel/parameters/tdx: N"},
	    {"6.15.9\n", "Y\n", VEIL_HC_PASS, "(the support is backported)"},
	    {"5.4.0\n", "maybe\n", VEIL_HC_FAIL, "tdx: maybe"},
	    {"six.one\n", "Y\n", VEIL_HC_FAIL, "six.one (no major.minor version at its start)"},
	    {"6\n", "Y\n", VEIL_HC_FAIL, "(no major.minor"},
	    {"6.\n", "Y\n", VEIL_HC_FAIL, "(no major.minor"},
	    {"12345.1\n", "Y\n", VEIL_HC_FAIL, "(no major.minor"},
	    {"\n", "Y\n", VEIL_HC_FAIL, "(no major.minor"},
	};
	char d[64], sys[96], proc[96];

	hc_scratch(d, sizeof d);
	snprintf(sys, sizeof sys, "%s/sys", d);
	snprintf(proc, sizeof proc, "%s/proc", d);
	hc_put(d, "proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu tdx_host_platform\n");
	hc_put(d, "proc/cmdline", "ro\n");
	hc_put(d, "sys/class/iommu/dmar0", NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		hc_put(d, "proc/sys/kernel/osrelease", cases[i].release);
		hc_put(d, "sys/module/kvm_intel/parameters/tdx", cases[i].tdx);
		REQUIRE(run_roots(sys, proc, HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
		if (!hc_is(rep, "kernel.version", cases[i].want, cases[i].ev, NULL))
			harness_fail(__FILE__, __LINE__, cases[i].release);
	}
	/* An odd parameter value fails the KVM check too. */
	EXPECT(hc_is(rep, "tdx.kvm_intel", VEIL_HC_PASS, NULL, NULL));
	hc_put(d, "sys/module/kvm_intel/parameters/tdx", "maybe\n");
	REQUIRE(run_roots(sys, proc, HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "tdx.kvm_intel", VEIL_HC_FAIL, "tdx: maybe", NULL));
	/* No osrelease: fail closed. */
	hc_rm(d, "proc/sys/kernel/osrelease");
	REQUIRE(run_roots(sys, proc, HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "kernel.version", VEIL_HC_FAIL, "/proc/sys/kernel/osrelease: not found",
		     NULL));
	/* kvm_intel not loaded. */
	hc_rm(d, "sys/module/kvm_intel");
	REQUIRE(run_roots(sys, HOSTS "tdx/proc", HOSTS "tdx/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "tdx.kvm_intel", VEIL_HC_FAIL, "kvm_intel is not loaded", "modprobe"));
	hc_rm_tree(d);
}

/* A kvm_amd parameter that is a folder: unreadable, the check fails. */
TEST(unreadable_parameter)
{
	char d[64], sys[96];

	hc_scratch(d, sizeof d);
	snprintf(sys, sizeof sys, "%s/sys", d);
	hc_put(d, "sys/module/kvm_amd/parameters/sev", "Y\n");
	hc_put(d, "sys/module/kvm_amd/parameters/sev_es", "Y\n");
	hc_put(d, "sys/module/kvm_amd/parameters/sev_snp", NULL);
	hc_put(d, "sys/class/iommu/ivhd0", NULL);
	REQUIRE(run_roots(sys, HOSTS "snp/proc", HOSTS "snp/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "snp.kvm_amd", VEIL_HC_FAIL, "sev_snp=(unreadable", NULL));
	EXPECT(!rep->pass);
	/* kvm_amd not loaded at all. */
	hc_rm(d, "sys/module");
	REQUIRE(run_roots(sys, HOSTS "snp/proc", HOSTS "snp/dev", VEIL_HC_TEE_AUTO) == VEIL_OK);
	EXPECT(hc_is(rep, "snp.kvm_amd", VEIL_HC_FAIL,
		     "/sys/module/kvm_amd: not found (kvm_amd is not loaded)", "modprobe kvm_amd"));
	EXPECT(hc_is(rep, "kernel.version", VEIL_HC_PASS, NULL, NULL));
	hc_rm_tree(d);
}

/* veil_hc_add: what it refuses, and what it does to the text. */
TEST(adding_checks)
{
	char big[1024];
	veil_hc_report *r = hc_new_report();

	EXPECT_OK(veil_hc_add(r, "a.b", "Title", true, VEIL_HC_PASS, "ev", "not kept"));
	EXPECT(r->count == 1 && r->checks[0].remedy[0] == '\0');
	EXPECT_OK(veil_hc_add(r, "gpu.0.cc_mode", "T", false, VEIL_HC_NA, NULL, NULL));
	EXPECT(r->checks[1].evidence[0] == '\0' && !r->checks[1].required);
	EXPECT_ERR(veil_hc_add(r, "a.b", "Again", true, VEIL_HC_PASS, "", ""), VEIL_E_USAGE);
	EXPECT_ERR(veil_hc_add(r, "", "T", true, VEIL_HC_PASS, "", ""), VEIL_E_USAGE);
	EXPECT_ERR(veil_hc_add(r, ".a", "T", true, VEIL_HC_PASS, "", ""), VEIL_E_USAGE);
	EXPECT_ERR(veil_hc_add(r, "a b", "T", true, VEIL_HC_PASS, "", ""), VEIL_E_USAGE);
	EXPECT_ERR(veil_hc_add(r, "a/b", "T", true, VEIL_HC_PASS, "", ""), VEIL_E_USAGE);
	memset(big, 'x', VEIL_HC_ID_MAX);
	big[VEIL_HC_ID_MAX] = '\0';
	EXPECT_ERR(veil_hc_add(r, big, "T", true, VEIL_HC_PASS, "", ""), VEIL_E_USAGE);
	big[VEIL_HC_ID_MAX - 1] = '\0';
	EXPECT_OK(veil_hc_add(r, big, "T", true, VEIL_HC_PASS, "", ""));
	EXPECT_ERR(veil_hc_add(r, "c", "", true, VEIL_HC_PASS, "", ""), VEIL_E_USAGE);
	EXPECT_ERR(veil_hc_add(r, "c", "T", true, (veil_hc_status)7, "", ""), VEIL_E_USAGE);
	EXPECT_ERR(veil_hc_add(NULL, "c", "T", true, VEIL_HC_PASS, "", ""), VEIL_E_USAGE);
	EXPECT(r->count == 3);

	/* Control characters (C0, DEL, C1) and bytes that are not UTF-8
	 * become '?'; other text stays. */
	EXPECT_OK(veil_hc_add(r, "t.1", "T\x1b[2J", true, VEIL_HC_FAIL,
			      "a\nb\tc\x7f"
			      "d\xc2\x9b"
			      "e\xff"
			      "f\xc3"
			      "g caf\xc3\xa9 \xe2\x82\xac",
			      "r\r\n"));
	EXPECT(strcmp(r->checks[3].title, "T?[2J") == 0);
	EXPECT(strcmp(r->checks[3].evidence, "a?b?c?d?e?f?g caf\xc3\xa9 \xe2\x82\xac") == 0);
	EXPECT(strcmp(r->checks[3].remedy, "r??") == 0);
	/* Overlong forms and surrogates are not UTF-8. */
	EXPECT_OK(veil_hc_add(r, "t.2", "T", true, VEIL_HC_PASS, "\xc0\xaf\xed\xa0\x80", NULL));
	EXPECT(strcmp(r->checks[4].evidence, "?????") == 0);

	/* Too long: cut to fit, never inside a character. */
	memset(big, 'a', VEIL_HC_TEXT_MAX - 2);
	memcpy(big + VEIL_HC_TEXT_MAX - 2, "\xc3\xa9z", 4);
	EXPECT_OK(veil_hc_add(r, "t.3", big, true, VEIL_HC_FAIL, big, big));
	EXPECT(strlen(r->checks[5].title) == sizeof r->checks[5].title - 1);
	EXPECT(strlen(r->checks[5].evidence) == VEIL_HC_TEXT_MAX - 2);
	EXPECT(strlen(r->checks[5].remedy) == VEIL_HC_TEXT_MAX - 2);

	/* The cap on checks. */
	for (size_t i = r->count; i < VEIL_HC_CHECKS_MAX; i++) {
		snprintf(big, sizeof big, "fill.%zu", i);
		EXPECT_OK(veil_hc_add(r, big, "T", false, VEIL_HC_NA, "", ""));
	}
	EXPECT_ERR(veil_hc_add(r, "one.more", "T", false, VEIL_HC_NA, "", ""), VEIL_E_LIMIT);
	EXPECT(r->count == VEIL_HC_CHECKS_MAX);
	EXPECT(strcmp(veil_hc_status_name(VEIL_HC_NA), "n/a") == 0 &&
	       strcmp(veil_hc_status_name(VEIL_HC_FAIL), "fail") == 0 &&
	       strcmp(veil_hc_status_name(VEIL_HC_PASS), "pass") == 0);
	free(r);
}

/* Every remedy the checks write fits whole (none is cut). */
TEST(remedies_fit)
{
	static const char *const trees[] = {"plain", "snp-disabled", "old-kernel", "iommu-off",
					    "tdx-no-module"};
	static const veil_hc_tee tees[] = {VEIL_HC_TEE_SNP, VEIL_HC_TEE_TDX};

	for (size_t t = 0; t < sizeof trees / sizeof trees[0]; t++)
		for (size_t k = 0; k < 2; k++) {
			cpu_on(trees[t], tees[k]);
			for (size_t i = 0; i < rep->count; i++) {
				EXPECT(strlen(rep->checks[i].remedy) < VEIL_HC_TEXT_MAX - 1);
				EXPECT(strlen(rep->checks[i].evidence) < VEIL_HC_TEXT_MAX - 1);
			}
		}
}

TEST(options_refused)
{
	char b[3][512];
	veil_hc_options o = hc_opts("snp", b, VEIL_HC_TEE_AUTO);
	veil_hc_options bad;

	EXPECT_OK(veil_hostcheck_run(&o, rep));
	bad = o;
	bad.tee = (veil_hc_tee)9;
	EXPECT_ERR(veil_hostcheck_run(&bad, rep), VEIL_E_USAGE);
	bad = o;
	bad.roots.sysfs = "";
	EXPECT_ERR(veil_hostcheck_run(&bad, rep), VEIL_E_USAGE);
	bad = o;
	bad.roots.nvml_lib = "";
	EXPECT_ERR(veil_hostcheck_run(&bad, rep), VEIL_E_USAGE);
	bad = o;
	bad.min_gpus = VEIL_HC_MIN_GPUS_MAX + 1;
	EXPECT_ERR(veil_hostcheck_run(&bad, rep), VEIL_E_USAGE);
	bad = o;
	bad.now = -1;
	EXPECT_ERR(veil_hostcheck_run(&bad, rep), VEIL_E_USAGE);
	bad.now = 9007199254740992LL;
	EXPECT_ERR(veil_hostcheck_run(&bad, rep), VEIL_E_USAGE);
	static const char *const drivers[] = {
	    "", "57a", ".570", "570.", "570..1", "1.2.3.4.5", "0123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++) {
		bad = o;
		bad.min_driver = drivers[i];
		if (veil_hostcheck_run(&bad, rep) != VEIL_E_USAGE)
			harness_fail(__FILE__, __LINE__, drivers[i]);
	}
	EXPECT_ERR(veil_hostcheck_run(NULL, rep), VEIL_E_USAGE);
	EXPECT_ERR(veil_hostcheck_run(&o, NULL), VEIL_E_USAGE);
	/* A report's TEE the CPU checks do not know. */
	memset(rep, 0, sizeof *rep);
	memcpy(rep->tee, "sev", 4);
	EXPECT_ERR(veil_hostcheck_cpu(&o, rep), VEIL_E_USAGE);
	/* now 0: the clock. */
	o.now = 0;
	EXPECT_OK(veil_hostcheck_run(&o, rep));
	EXPECT(rep->time > HC_NOW - 86400 * 365 * 10);
}

int main(void)
{
	rep = hc_new_report();
	RUN(snp_host);
	RUN(tdx_host);
	RUN(plain_host);
	RUN(snp_disabled);
	RUN(tdx_without_module);
	RUN(iommu_off);
	RUN(old_kernel);
	RUN(good_hosts_pass);
	RUN(tee_asked_for);
	RUN(no_tee_cpu);
	RUN(snp_firmware_states);
	RUN(snp_status_parser);
	RUN(tdx_module_ways);
	RUN(iommu_variants);
	RUN(kernel_releases);
	RUN(unreadable_parameter);
	RUN(adding_checks);
	RUN(remedies_fit);
	RUN(options_refused);
	free(rep);
	return harness_finish("test_hostcheck_cpu");
}

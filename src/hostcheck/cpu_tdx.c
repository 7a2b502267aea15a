/*
 * cpu_tdx.c - the Intel TDX checks of `veil host-check`, and the two that
 * both TEEs share: an IOMMU, and a kernel new enough (docs/host-check.md
 * "Checks").
 *
 * The TDX module is where Intel's kernels disagree. Intel's and the
 * distributions' TDX kernels publish it under /sys/firmware/tdx/tdx_module
 * (status, major_version, minor_version, build_num, build_date, vendor_id,
 * attributes: Documentation/ABI/testing/sysfs-firmware-tdx of those
 * trees); newer kernels publish /sys/devices/faux/tdx_host/version
 * ("major.minor.update"); upstream 6.16 publishes nothing and only logs
 * the version. What upstream KVM does guarantee is that kvm_intel's tdx
 * parameter reads Y only after the module initialized (tdx_bringup()
 * turns it off when it did not), so on such a kernel that parameter is
 * the evidence, and the report says the version is not known. Intel
 * publishes no minimum module version, so none is invented here.
 *
 * The kernel version is checked against the release that brought the
 * TEE's KVM host support upstream (6.11 for SEV-SNP, 6.16 for TDX); a
 * distribution kernel below it passes when the KVM parameter of its TEE
 * reads Y, because that parameter exists only where the support was
 * backported.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostcheck/cpu_internal.h"
#include "veil/limits.h"

#define TDX_MODULE_DIR "firmware/tdx/tdx_module"
/* TDX module attributes, bit 31: a debug module (sysfs-firmware-tdx). */
#define TDX_ATTR_DEBUG (1ull << 31)

veil_err hc_check_tdx_flag(const hc_ctx *c)
{
	static const char id[] = "tdx.cpu_flag", title[] = "TDX host CPU flag (tdx_host_platform)";
	static const char remedy[] =
	    "Enable TDX in the BIOS (Intel's menu names): Memory Encryption (TME), TME-MT, TDX and "
	    "the SEAM Loader on, TME-MT memory integrity off, TME-MT/TDX key split non-zero, SGX "
	    "on. Boot a kernel with TDX host support (6.16+ or a distribution TDX kernel) with "
	    "nohibernate: Linux refuses TDX while hibernation is possible.";
	hc_text ev = {0};
	bool has;

	if (strcmp(c->tee, "tdx") != 0)
		return hc_not_this_tee(c, id, title);
	if (!c->ci->ok) {
		hc_tx(&ev, "/proc/cpuinfo: %s", c->ci->why);
		return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s, remedy);
	}
	has = hc_cpu_flag(c->ci, "tdx_host_platform");
	hc_tx(&ev, "/proc/cpuinfo flags: tdx_host_platform %s", has ? "present" : "absent");
	return veil_hc_add(c->r, id, title, true, has ? VEIL_HC_PASS : VEIL_HC_FAIL, ev.s, remedy);
}

veil_err hc_check_tdx_kvm(const hc_ctx *c)
{
	static const char id[] = "tdx.kvm_intel", title[] = "KVM TDX support (kvm_intel tdx)";
	static const char remedy[] =
	    "Boot with kvm_intel.tdx=1 (or 'options kvm_intel tdx=1' in /etc/modprobe.d/) and "
	    "reboot. KVM leaves it N when the TDX module did not initialize (tdx.module; dmesg "
	    "'virt/tdx'); the parameter exists from Linux 6.16 and in distribution TDX kernels.";
	char shown[HC_WHY_MAX + 2];
	hc_text ev = {0};
	struct stat st;
	hc_param p;

	if (strcmp(c->tee, "tdx") != 0)
		return hc_not_this_tee(c, id, title);
	if (hc_stat(c->sysfs, "module/kvm_intel", &st) != 0 || !S_ISDIR(st.st_mode)) {
		hc_tx(&ev, "/sys/module/kvm_intel: not found (kvm_intel is not loaded)");
		return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s,
				   "Load kvm_intel (modprobe kvm_intel tdx=1) with VT-x enabled in "
				   "the BIOS.");
	}
	p = hc_param_read(c->sysfs, "kvm_intel", "tdx", shown, sizeof shown);
	hc_tx(&ev, "/sys/module/kvm_intel/parameters/tdx: %s", shown);
	if (p == HC_PARAM_MISSING)
		hc_tx(&ev, " (a kvm_intel without TDX host support)");
	return veil_hc_add(c->r, id, title, true, p == HC_PARAM_ON ? VEIL_HC_PASS : VEIL_HC_FAIL,
			   ev.s, remedy);
}

/* "0x00000001" (or decimal digits) as a number; false when it is not. */
static bool parse_number(const char *s, uint64_t *out)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	uint64_t v = 0;
	size_t digits = 0;

	for (const char *p = hex ? s + 2 : s; *p != '\0'; p++, digits++) {
		int d = *p >= '0' && *p <= '9'          ? *p - '0'
			: hex && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
			: hex && *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
							: -1;

		if (d < 0 || digits >= 16)
			return false;
		v = v * (hex ? 16u : 10u) + (uint64_t)d;
	}
	*out = v;
	return digits > 0;
}

/* One attribute of the module's sysfs folder, trimmed, or "?". */
static void module_attr(const hc_ctx *c, const char *name, char *out, size_t cap)
{
	char rel[96], why[HC_WHY_MAX], *buf = NULL;
	size_t len = 0;

	snprintf(rel, sizeof rel, "%s/%s", TDX_MODULE_DIR, name);
	if (hc_read(c->sysfs, rel, VEIL_HC_FILE_MAX, false, &buf, &len, why) != VEIL_OK) {
		snprintf(out, cap, "?");
		return;
	}
	hc_trim(buf);
	hc_text_copy(out, cap, buf);
	free(buf);
}

/* A number attribute in decimal, or as it was written when it is not a
 * number. */
static void tx_number(hc_text *ev, const char *label, const char *raw)
{
	uint64_t v;

	if (parse_number(raw, &v))
		hc_tx(ev, "%s%llu", label, (unsigned long long)v);
	else
		hc_tx(ev, "%s%s", label, raw);
}

/* The module as Intel's and the distributions' TDX kernels publish it. */
static veil_err tdx_module_sysfs(const hc_ctx *c, const char *id, const char *title,
				 const char *status)
{
	char major[32], minor[32], build[32], date[32], vendor[32], attrs[32];
	hc_text ev = {0};
	uint64_t a = 0;
	bool debug;

	hc_tx(&ev, "/sys/" TDX_MODULE_DIR ": status %s", status);
	if (strcmp(status, "initialized") != 0)
		return veil_hc_add(
		    c->r, id, title, true, VEIL_HC_FAIL, ev.s,
		    "The TDX module is not initialized: see dmesg 'virt/tdx' for "
		    "why; it is initialized when kvm_intel loads with tdx=1, once the "
		    "BIOS settings of tdx.cpu_flag are on.");
	module_attr(c, "major_version", major, sizeof major);
	module_attr(c, "minor_version", minor, sizeof minor);
	module_attr(c, "build_num", build, sizeof build);
	module_attr(c, "build_date", date, sizeof date);
	module_attr(c, "vendor_id", vendor, sizeof vendor);
	module_attr(c, "attributes", attrs, sizeof attrs);
	tx_number(&ev, ", version ", major);
	tx_number(&ev, ".", minor);
	tx_number(&ev, " build ", build);
	hc_tx(&ev, " (%s), vendor_id %s, attributes %s", date, vendor, attrs);
	/* An unreadable attributes word could hide a debug module. */
	debug = !parse_number(attrs, &a) || (a & TDX_ATTR_DEBUG) != 0;
	if (debug)
		hc_tx(&ev, "%s", parse_number(attrs, &a) ? " (a debug module)" : " (unreadable)");
	return veil_hc_add(c->r, id, title, true, debug ? VEIL_HC_FAIL : VEIL_HC_PASS, ev.s,
			   "This TDX module is a debug build, or its attributes cannot be read: "
			   "install a production module (a BIOS update, or Intel's TDX module "
			   "release) and reboot.");
}

veil_err hc_check_tdx_module(const hc_ctx *c)
{
	static const char id[] = "tdx.module", title[] = "TDX module loaded and initialized";
	static const char remedy[] =
	    "Provide the TDX module: enable 'TDX Secure Arbitration Mode Loader (SEAM Loader)' in "
	    "the BIOS and update the BIOS, or install Intel's TDX module release as "
	    "/boot/efi/EFI/TDX/TDX-SEAM.so with its .sigstruct; reboot and look for 'virt/tdx: "
	    "module initialized' in dmesg.";
	char why[HC_WHY_MAX], why2[HC_WHY_MAX], shown[HC_WHY_MAX + 2], *buf = NULL;
	hc_text ev = {0};
	size_t len = 0;
	veil_err err;
	hc_param p;

	if (strcmp(c->tee, "tdx") != 0)
		return hc_not_this_tee(c, id, title);
	err = hc_read(c->sysfs, TDX_MODULE_DIR "/status", VEIL_HC_FILE_MAX, false, &buf, &len, why);
	if (err == VEIL_OK) {
		char status[64];

		hc_trim(buf);
		hc_text_copy(status, sizeof status, buf);
		free(buf);
		return tdx_module_sysfs(c, id, title, status);
	}
	if (err != VEIL_E_NOT_FOUND) {
		hc_tx(&ev, "/sys/" TDX_MODULE_DIR "/status: %s", why);
		return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s,
				   "Run veil host-check as root, or make the file readable.");
	}
	err = hc_read(c->sysfs, "devices/faux/tdx_host/version", VEIL_HC_FILE_MAX, false, &buf,
		      &len, why2);
	if (err == VEIL_OK) {
		hc_trim(buf);
		hc_tx(&ev, "/sys/devices/faux/tdx_host/version: %s", buf);
		free(buf);
		return veil_hc_add(c->r, id, title, true, VEIL_HC_PASS, ev.s, NULL);
	}
	p = hc_param_read(c->sysfs, "kvm_intel", "tdx", shown, sizeof shown);
	if (p == HC_PARAM_ON) {
		hc_tx(&ev, "version not known (this kernel publishes none in sysfs); "
			   "/sys/module/kvm_intel/parameters/tdx: Y, which KVM sets only once the "
			   "TDX module initialized");
		return veil_hc_add(c->r, id, title, true, VEIL_HC_PASS, ev.s, NULL);
	}
	hc_tx(&ev,
	      "no TDX module: /sys/" TDX_MODULE_DIR "/status: %s; "
	      "/sys/devices/faux/tdx_host/version: %s; /sys/module/kvm_intel/parameters/tdx: %s",
	      why, why2, shown);
	return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s, remedy);
}

/* ---- IOMMU ---- */

/* A kernel parameter that turns the IOMMU off: iommu=off, or "off" in
 * the option list of amd_iommu= or intel_iommu= (kernel-parameters.txt). */
static bool turns_iommu_off(const char *tok, size_t n)
{
	static const char *const keys[] = {"iommu=", "amd_iommu=", "intel_iommu="};

	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		size_t kl = strlen(keys[k]);
		const char *p = tok + kl, *end = tok + n;

		if (n <= kl || strncmp(tok, keys[k], kl) != 0)
			continue;
		while (p < end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			size_t w = comma != NULL ? (size_t)(comma - p) : (size_t)(end - p);

			if (w == 3 && strncmp(p, "off", 3) == 0)
				return true;
			p += w + 1;
		}
	}
	return false;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The entries of /sys/class/iommu: their count (up to the cap) and the
 * first names in sorted order in ev, so one host gives one evidence. -1
 * with the errno when the folder cannot be read. */
static long iommu_entries(const hc_ctx *c, hc_text *ev, int *e)
{
	char path[4096], (*names)[64];
	struct dirent *d;
	long n = 0;
	DIR *dir;

	if (hc_path(path, sizeof path, c->sysfs, "class/iommu") != VEIL_OK) {
		*e = ENAMETOOLONG;
		return -1;
	}
	names = calloc(VEIL_HC_IOMMU_MAX, sizeof *names);
	if (names == NULL) {
		*e = ENOMEM;
		return -1;
	}
	dir = opendir(path);
	if (dir == NULL) {
		*e = errno;
		free(names);
		return -1;
	}
	while ((d = readdir(dir)) != NULL && n < VEIL_HC_IOMMU_MAX) {
		if (d->d_name[0] == '.')
			continue;
		hc_text_copy(names[n], sizeof names[n], d->d_name);
		n++;
	}
	closedir(dir);
	qsort(names, (size_t)n, sizeof *names, name_cmp);
	for (long i = 0; i < n && i < 4; i++)
		hc_tx(ev, " %s", names[i]);
	if (n > 4)
		hc_tx(ev, " ...");
	free(names);
	return n;
}

veil_err hc_check_iommu(const hc_ctx *c)
{
	static const char id[] = "iommu.enabled", title[] = "IOMMU enabled (AMD-Vi / VT-d)";
	static const char amd[] =
	    "Enable the IOMMU in the BIOS (AMD CBS > NBIO: IOMMU, also called AMD-Vi) and remove "
	    "iommu=off or amd_iommu=off from the kernel command line: the AMD driver is on by "
	    "default (amd_iommu=on is not one of its options). SEV-SNP needs it too: Linux leaves "
	    "SNP off without an IOMMU.";
	static const char intel[] =
	    "Enable VT-d (Intel Virtualization Technology for Directed I/O) in the BIOS and boot "
	    "with intel_iommu=on (needed unless the kernel was built with "
	    "CONFIG_INTEL_IOMMU_DEFAULT_ON); remove iommu=off. GPU passthrough with vfio needs it.";
	static const char either[] =
	    "Enable the IOMMU in the BIOS (AMD-Vi on AMD, VT-d on Intel), boot with intel_iommu=on "
	    "on Intel (AMD's driver is on by default) and remove iommu=off.";
	char why[HC_WHY_MAX], *cmdline = NULL;
	bool amd_host = strcmp(c->tee, "snp") == 0, intel_host = strcmp(c->tee, "tdx") == 0;
	bool off = false, shown_any = false;
	hc_text ev = {0};
	size_t len = 0;
	long n;
	int e = 0;

	hc_tx(&ev, "/sys/class/iommu:");
	n = iommu_entries(c, &ev, &e);
	if (n < 0)
		hc_tx(&ev, " %s", e == ENOENT || e == ENOTDIR ? "not found" : strerror(e));
	else if (n == 0)
		hc_tx(&ev, " empty");
	else
		hc_tx(&ev, " (%ld)", n);
	hc_tx(&ev, "; /proc/cmdline:");
	if (hc_read(c->procfs, "cmdline", VEIL_HC_FILE_MAX, true, &cmdline, &len, why) != VEIL_OK) {
		hc_tx(&ev, " %s", why);
		n = n > 0 ? -1 : n; /* fail closed: the command line is part of the check */
	} else {
		for (const char *p = cmdline; *p != '\0';) {
			size_t w;

			while (*p == ' ' || *p == '\t' || *p == '\n')
				p++;
			w = strcspn(p, " \t\n");
			/* Only the IOMMU's parameters: the rest of a command line
			 * is no evidence here, and may be long. */
			if (w > 0 && w < 200 && memmem(p, w, "iommu", 5) != NULL) {
				hc_tx(&ev, " %.*s", (int)w, p);
				shown_any = true;
				off = off || turns_iommu_off(p, w);
			}
			p += w;
		}
		if (!shown_any)
			hc_tx(&ev, " no IOMMU parameter");
		if (off)
			hc_tx(&ev, " (turns the IOMMU off)");
	}
	free(cmdline);
	return veil_hc_add(c->r, id, title, true, n > 0 && !off ? VEIL_HC_PASS : VEIL_HC_FAIL, ev.s,
			   amd_host     ? amd
			   : intel_host ? intel
					: either);
}

/* ---- Kernel ---- */

/* The leading "major.minor" of a kernel release ("6.8.0-1004-intel"). */
static bool parse_release(const char *s, unsigned *major, unsigned *minor)
{
	unsigned v[2] = {0, 0};

	for (int i = 0; i < 2; i++) {
		size_t digits = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			if (digits >= 4)
				return false;
			v[i] = v[i] * 10 + (unsigned)(*s - '0');
		}
		if (digits == 0 || (i == 0 && *s++ != '.'))
			return false;
	}
	*major = v[0];
	*minor = v[1];
	return true;
}

veil_err hc_check_kernel(const hc_ctx *c)
{
	static const char id[] = "kernel.version", title[] = "Host kernel version";
	static const char snp_remedy[] =
	    "Install Linux 6.11 or later (upstream KVM SEV-SNP host support), or a distribution "
	    "kernel that backports it (kvm_amd then has sev_snp=Y), and reboot into it.";
	static const char tdx_remedy[] =
	    "Install Linux 6.16 or later (upstream KVM TDX host support), or a distribution TDX "
	    "kernel that backports it (kvm_intel then has tdx=Y), and reboot into it.";
	bool snp = strcmp(c->tee, "snp") == 0;
	unsigned want_minor = snp ? 11 : 16, major = 0, minor = 0;
	char why[HC_WHY_MAX], shown[HC_WHY_MAX + 2], release[128], *buf = NULL;
	const char *remedy = snp ? snp_remedy : tdx_remedy;
	hc_text ev = {0};
	size_t len = 0;
	hc_param p;

	if (strcmp(c->tee, "none") == 0)
		return veil_hc_add(c->r, id, title, true, VEIL_HC_NA,
				   "not applicable: no SEV-SNP or TDX CPU, so no minimum applies",
				   NULL);
	if (hc_read(c->procfs, "sys/kernel/osrelease", VEIL_HC_FILE_MAX, false, &buf, &len, why) !=
	    VEIL_OK) {
		hc_tx(&ev, "/proc/sys/kernel/osrelease: %s", why);
		return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s, remedy);
	}
	hc_trim(buf);
	hc_text_copy(release, sizeof release, buf);
	free(buf);
	hc_tx(&ev, "/proc/sys/kernel/osrelease: %s", release);
	if (!parse_release(release, &major, &minor)) {
		hc_tx(&ev, " (no major.minor version at its start)");
		return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s, remedy);
	}
	if (major > 6 || (major == 6 && minor >= want_minor)) {
		hc_tx(&ev, " (%s host support is upstream since 6.%u)", snp ? "SEV-SNP" : "TDX",
		      want_minor);
		return veil_hc_add(c->r, id, title, true, VEIL_HC_PASS, ev.s, NULL);
	}
	p = hc_param_read(c->sysfs, snp ? "kvm_amd" : "kvm_intel", snp ? "sev_snp" : "tdx", shown,
			  sizeof shown);
	hc_tx(&ev, " is older than 6.%u; /sys/module/%s/parameters/%s: %s", want_minor,
	      snp ? "kvm_amd" : "kvm_intel", snp ? "sev_snp" : "tdx", shown);
	if (p == HC_PARAM_ON) {
		hc_tx(&ev, " (the support is backported)");
		return veil_hc_add(c->r, id, title, true, VEIL_HC_PASS, ev.s, NULL);
	}
	return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s, remedy);
}

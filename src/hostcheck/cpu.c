/*
 * cpu.c - the CPU side of `veil host-check`: which TEE the CPU offers and
 * whether the firmware, the kernel and KVM have it switched on
 * (docs/host-check.md "Checks").
 *
 * AMD SEV-SNP takes three layers that are each switched on separately:
 * the BIOS (SMEE, SNP memory coverage, SEV-SNP support; without them the
 * kernel hides the sev_snp CPU flag), the SEV firmware on the AMD Secure
 * Processor (/dev/sev, its SNP platform status and API version; Linux
 * refuses SNP below 1.51) and KVM (kvm_amd's sev_snp parameter, which it
 * sets only once all of that worked; upstream since Linux 6.11). Intel
 * TDX likewise: the BIOS (the kernel sets the tdx_host_platform flag only
 * when the BIOS reserved TDX private KeyIDs), the TDX module loaded by the
 * SEAM loader, and KVM (kvm_intel's tdx parameter, upstream since 6.16,
 * which stays N unless the module initialized). Each layer is a check, so
 * an operator sees which one is missing and what to switch on; the checks
 * of the TEE the host is not checked for are n/a. cpu_tdx.c holds the TDX
 * checks and the two that both TEEs share (IOMMU, kernel); this file the
 * CPU, SEV-SNP and their order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hostcheck/cpu_internal.h"
#include "veil/limits.h"

/* SNP_MIN_API_MAJOR/MINOR in Linux drivers/crypto/ccp/sev-dev.c: the
 * kernel does not initialize SNP on older firmware. */
#define SNP_MIN_API_MAJOR 1
#define SNP_MIN_API_MINOR 51

void hc_tx(hc_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->n + 1 >= sizeof t->s)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->n = t->n + (size_t)n < sizeof t->s ? t->n + (size_t)n : sizeof t->s - 1;
}

int hc_stat(const char *root, const char *rel, struct stat *st)
{
	char path[4096];

	if (hc_path(path, sizeof path, root, rel) != VEIL_OK)
		return ENAMETOOLONG;
	return stat(path, st) == 0 ? 0 : errno;
}

hc_param hc_param_read(const char *sysfs, const char *module, const char *name, char *shown,
		       size_t cap)
{
	char rel[128], why[HC_WHY_MAX], *buf = NULL;
	size_t len = 0;
	hc_param p;

	snprintf(rel, sizeof rel, "module/%s/parameters/%s", module, name);
	if (hc_read(sysfs, rel, VEIL_HC_FILE_MAX, false, &buf, &len, why) != VEIL_OK) {
		snprintf(shown, cap, "(%s)", why);
		return strcmp(why, "not found") == 0 ? HC_PARAM_MISSING : HC_PARAM_ERROR;
	}
	hc_trim(buf);
	/* Bool parameters read Y or N; older kernels made sev and sev_es
	 * integers (1 or 0). */
	if (strcmp(buf, "Y") == 0 || strcmp(buf, "1") == 0)
		p = HC_PARAM_ON;
	else if (strcmp(buf, "N") == 0 || strcmp(buf, "0") == 0)
		p = HC_PARAM_OFF;
	else
		p = HC_PARAM_ODD;
	hc_text_copy(shown, cap, buf);
	free(buf);
	return p;
}

/* ---- /proc/cpuinfo ---- */

/* Only the first processor's block is read: every CPU of a host reports
 * the same vendor and the kernel's flags, and a large host's file runs
 * to megabytes. */
static void cpuinfo_read(const char *procfs, hc_cpuinfo *ci)
{
	char *line, *end;
	size_t len = 0;
	bool ended = false;

	memset(ci, 0, sizeof *ci);
	if (hc_read(procfs, "cpuinfo", VEIL_HC_CPUINFO_MAX, true, &ci->buf, &len, ci->why) !=
	    VEIL_OK)
		return;
	for (line = ci->buf; *line != '\0'; line = end) {
		char *colon, *key_end, *value;

		end = strchr(line, '\n');
		if (end != NULL)
			*end++ = '\0';
		else
			end = line + strlen(line);
		if (line[0] == '\0') {
			ended = true;
			break;
		}
		colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		key_end = colon;
		while (key_end > line && (key_end[-1] == ' ' || key_end[-1] == '\t'))
			key_end--;
		*key_end = '\0';
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (strcmp(line, "vendor_id") == 0 && ci->vendor[0] == '\0')
			hc_text_copy(ci->vendor, sizeof ci->vendor, value);
		else if (strcmp(line, "model name") == 0 && ci->model[0] == '\0')
			hc_text_copy(ci->model, sizeof ci->model, value);
		else if (strcmp(line, "flags") == 0 && ci->flags == NULL)
			ci->flags = value;
	}
	/* A block cut by the read cap could miss its flags: say so rather
	 * than report them absent. */
	if (!ended && len >= VEIL_HC_CPUINFO_MAX) {
		snprintf(ci->why, sizeof ci->why, "first processor block longer than %d bytes",
			 VEIL_HC_CPUINFO_MAX);
		return;
	}
	if (ci->vendor[0] == '\0' || ci->flags == NULL) {
		snprintf(ci->why, sizeof ci->why, "no vendor_id or flags line");
		return;
	}
	ci->ok = true;
}

bool hc_cpu_flag(const hc_cpuinfo *ci, const char *flag)
{
	size_t n = strlen(flag);

	if (ci->flags == NULL)
		return false;
	for (const char *p = ci->flags; *p != '\0';) {
		size_t w;

		while (*p == ' ' || *p == '\t')
			p++;
		w = strcspn(p, " \t");
		if (w == n && strncmp(p, flag, n) == 0)
			return true;
		p += w;
	}
	return false;
}

void hc_identify(const veil_hc_options *o, veil_hc_report *r)
{
	hc_cpuinfo ci;
	const char *tee = "none";

	cpuinfo_read(hc_procfs(o), &ci);
	hc_text_copy(r->cpu, sizeof r->cpu, ci.model);
	if (o->tee == VEIL_HC_TEE_SNP)
		tee = "snp";
	else if (o->tee == VEIL_HC_TEE_TDX)
		tee = "tdx";
	else if (ci.ok && strcmp(ci.vendor, HC_VENDOR_AMD) == 0)
		tee = "snp";
	else if (ci.ok && strcmp(ci.vendor, HC_VENDOR_INTEL) == 0)
		tee = "tdx";
	memcpy(r->tee, tee, strlen(tee) + 1);
	free(ci.buf);
}

/* ---- The checks ---- */

static veil_err check_vendor(const hc_ctx *c)
{
	static const char title[] = "CPU vendor and model";
	static const char remedy[] =
	    "Run the worker on a CPU with a confidential-VM TEE: AMD EPYC 7003 (Milan) or later "
	    "for SEV-SNP, or an Intel Xeon with TDX (4th Gen Scalable or later) for TDX.";
	const char *want = strcmp(c->tee, "snp") == 0   ? HC_VENDOR_AMD
			   : strcmp(c->tee, "tdx") == 0 ? HC_VENDOR_INTEL
							: NULL;
	hc_text ev = {0};

	if (!c->ci->ok) {
		hc_tx(&ev, "/proc/cpuinfo: %s", c->ci->why);
		return veil_hc_add(c->r, "cpu.vendor", title, true, VEIL_HC_FAIL, ev.s,
				   "Run veil host-check on the host itself, with /proc mounted.");
	}
	hc_tx(&ev, "/proc/cpuinfo: vendor_id %s, model name %s; checked for %s", c->ci->vendor,
	      c->ci->model[0] != '\0' ? c->ci->model : "(none)",
	      want == NULL                 ? "no TEE"
	      : strcmp(c->tee, "snp") == 0 ? "SEV-SNP"
					   : "TDX");
	if (want == NULL)
		hc_tx(&ev, " (neither AMD nor Intel)");
	else if (strcmp(c->ci->vendor, want) != 0)
		hc_tx(&ev, " (that needs %s)", want);
	return veil_hc_add(c->r, "cpu.vendor", title, true,
			   want != NULL && strcmp(c->ci->vendor, want) == 0 ? VEIL_HC_PASS
									    : VEIL_HC_FAIL,
			   ev.s, remedy);
}

/* n/a for the checks of the TEE this host is not checked for. */
veil_err hc_not_this_tee(const hc_ctx *c, const char *id, const char *title)
{
	hc_text ev = {0};

	if (strcmp(c->tee, "none") == 0)
		hc_tx(&ev, "not applicable: no SEV-SNP or TDX CPU (see cpu.vendor)");
	else
		hc_tx(&ev, "not applicable: the host is checked for %s",
		      strcmp(c->tee, "snp") == 0 ? "SEV-SNP" : "TDX");
	return veil_hc_add(c->r, id, title, true, VEIL_HC_NA, ev.s, NULL);
}

static veil_err check_snp_flags(const hc_ctx *c)
{
	static const char id[] = "snp.cpu_flags", title[] = "SEV, SEV-ES and SEV-SNP CPU flags";
	static const char remedy[] =
	    "Enable in the BIOS (AMD CBS menus; vendors rename them): SMEE, SEV-ES ASID Space "
	    "Limit "
	    "above 1, SNP Memory Coverage, SEV-SNP Support, IOMMU. Linux hides sev_snp unless "
	    "the BIOS enabled SNP and an IOMMU is on. Needs AMD EPYC 7003 (Milan) or later.";
	static const char *const flags[] = {"sev", "sev_es", "sev_snp"};
	hc_text ev = {0};
	bool all = true;

	if (strcmp(c->tee, "snp") != 0)
		return hc_not_this_tee(c, id, title);
	if (!c->ci->ok) {
		hc_tx(&ev, "/proc/cpuinfo: %s", c->ci->why);
		return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s, remedy);
	}
	hc_tx(&ev, "/proc/cpuinfo flags:");
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		bool has = hc_cpu_flag(c->ci, flags[i]);

		hc_tx(&ev, " %s %s", flags[i], has ? "present" : "absent");
		all = all && has;
	}
	return veil_hc_add(c->r, id, title, true, all ? VEIL_HC_PASS : VEIL_HC_FAIL, ev.s, remedy);
}

static veil_err check_snp_kvm(const hc_ctx *c)
{
	static const char id[] = "snp.kvm_amd", title[] = "KVM SEV-SNP support (kvm_amd)";
	static const char remedy[] =
	    "Load kvm_amd with SEV-SNP: kvm_amd.sev_snp=1 on the kernel command line, or 'options "
	    "kvm_amd sev=1 sev_es=1 sev_snp=1' in /etc/modprobe.d/, then reboot. KVM leaves it N "
	    "when the CPU flags, the SNP firmware or the IOMMU are missing (snp.cpu_flags, "
	    "snp.firmware, iommu.enabled); it exists from Linux 6.11.";
	static const char *const names[] = {"sev", "sev_es", "sev_snp"};
	hc_text ev = {0};
	struct stat st;
	bool all = true;

	if (strcmp(c->tee, "snp") != 0)
		return hc_not_this_tee(c, id, title);
	if (hc_stat(c->sysfs, "module/kvm_amd", &st) != 0 || !S_ISDIR(st.st_mode)) {
		hc_tx(&ev, "/sys/module/kvm_amd: not found (kvm_amd is not loaded)");
		return veil_hc_add(
		    c->r, id, title, true, VEIL_HC_FAIL, ev.s,
		    "Load kvm_amd (modprobe kvm_amd sev_snp=1) with SVM Mode enabled "
		    "in the BIOS; then see snp.cpu_flags if it refuses SEV-SNP.");
	}
	hc_tx(&ev, "/sys/module/kvm_amd/parameters:");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char shown[HC_WHY_MAX + 2];
		hc_param p = hc_param_read(c->sysfs, "kvm_amd", names[i], shown, sizeof shown);

		hc_tx(&ev, " %s=%s", names[i], shown);
		if (p == HC_PARAM_MISSING && strcmp(names[i], "sev_snp") == 0)
			hc_tx(&ev, " (a kvm_amd without SEV-SNP host support)");
		all = all && p == HC_PARAM_ON;
	}
	return veil_hc_add(c->r, id, title, true, all ? VEIL_HC_PASS : VEIL_HC_FAIL, ev.s, remedy);
}

static veil_err check_snp_dev(const hc_ctx *c)
{
	static const char id[] = "snp.dev_sev", title[] = "SEV firmware device (/dev/sev)";
	static const char remedy[] =
	    "Load the ccp driver (modprobe ccp): it creates /dev/sev when it finds the AMD Secure "
	    "Processor running SEV firmware. If it does not, see 'dmesg | grep -i -e ccp -e sev' "
	    "and the BIOS settings of snp.cpu_flags.";
	hc_text ev = {0};
	struct stat st;
	int e;

	if (strcmp(c->tee, "snp") != 0)
		return hc_not_this_tee(c, id, title);
	e = hc_stat(c->dev, "sev", &st);
	if (e != 0) {
		hc_tx(&ev, "/dev/sev: %s",
		      e == ENOENT || e == ENOTDIR ? "not found"
		      : e == EACCES               ? "permission denied (run as root)"
						  : strerror(e));
		return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s, remedy);
	}
	if (S_ISCHR(st.st_mode)) {
		hc_tx(&ev, "/dev/sev: character device");
		return veil_hc_add(c->r, id, title, true, VEIL_HC_PASS, ev.s, NULL);
	}
	/* Fixture trees cannot hold device nodes; a regular file stands in
	 * (docs/host-check.md "Fixture trees"), but never on the real /dev,
	 * where a file is something else that must not pass for the device. */
	if (S_ISREG(st.st_mode) && strcmp(c->dev, HC_DEV_DEFAULT) != 0) {
		hc_tx(&ev, "/dev/sev: regular file (a fixture tree's stand-in for the device)");
		return veil_hc_add(c->r, id, title, true, VEIL_HC_PASS, ev.s, NULL);
	}
	hc_tx(&ev, "/dev/sev: neither a character device nor a file");
	return veil_hc_add(c->r, id, title, true, VEIL_HC_FAIL, ev.s, remedy);
}

static veil_err check_snp_firmware(const hc_ctx *c)
{
	static const char id[] = "snp.firmware", title[] = "SEV-SNP firmware version and state";
	static const char update[] =
	    "Update the SEV firmware to SNP API 1.51 or later (the oldest Linux initializes SNP "
	    "on): a BIOS update from the server vendor, or AMD's amd_sev_fam*h_model*h.sbin from "
	    "linux-firmware in /lib/firmware/amd/, which the ccp driver loads at boot.";
	char why[HC_WHY_MAX];
	const char *how = "/dev/sev";
	hc_snp_status s;
	hc_text ev = {0};
	bool old, uninit;

	if (strcmp(c->tee, "snp") != 0)
		return hc_not_this_tee(c, id, title);
	if (hc_snp_status_read(c->dev, &s, &how, why) != VEIL_OK) {
		hc_tx(&ev, "%s", why);
		return veil_hc_add(
		    c->r, id, title, true, VEIL_HC_FAIL, ev.s,
		    strstr(why, "permission denied") != NULL
			? "Run veil host-check as root: the SNP platform status is read through "
			  "/dev/sev."
			: "See snp.dev_sev and snp.kvm_amd: the status is there once the ccp "
			  "driver "
			  "has run SNP_INIT, which loading kvm_amd with sev_snp=1 does (Linux "
			  "6.11+).");
	}
	old = s.api_major < SNP_MIN_API_MAJOR ||
	      (s.api_major == SNP_MIN_API_MAJOR && s.api_minor < SNP_MIN_API_MINOR);
	uninit = s.state != 1;
	hc_tx(&ev,
	      "%s: SNP API %u.%u build %u (minimum %d.%d), state %s, RMP %s, %u guests, "
	      "current TCB 0x%016llx, reported TCB 0x%016llx",
	      how, s.api_major, s.api_minor, (unsigned)s.build_id, SNP_MIN_API_MAJOR,
	      SNP_MIN_API_MINOR,
	      s.state == 0   ? "UNINIT"
	      : s.state == 1 ? "INIT"
			     : "unknown",
	      s.rmp_initialized ? "initialized" : "not initialized", (unsigned)s.guest_count,
	      (unsigned long long)s.current_tcb, (unsigned long long)s.reported_tcb);
	return veil_hc_add(c->r, id, title, true, old || uninit ? VEIL_HC_FAIL : VEIL_HC_PASS, ev.s,
			   old ? update
			       : "The SNP firmware is not initialized: load kvm_amd with "
				 "sev_snp=1 (it runs SNP_INIT); see snp.kvm_amd.");
}

veil_err veil_hostcheck_cpu(const veil_hc_options *o, veil_hc_report *r)
{
	hc_cpuinfo ci;
	hc_ctx c;
	veil_err err;

	ENSURE(o != NULL && r != NULL, VEIL_E_USAGE, "veil_hostcheck_cpu: NULL argument");
	if (r->tee[0] == '\0')
		hc_identify(o, r);
	ENSURE(strcmp(r->tee, "snp") == 0 || strcmp(r->tee, "tdx") == 0 ||
		   strcmp(r->tee, "none") == 0,
	       VEIL_E_USAGE, "report TEE \"%.8s\" is not snp, tdx or none", r->tee);
	cpuinfo_read(hc_procfs(o), &ci);
	c = (hc_ctx){.o = o,
		     .r = r,
		     .ci = &ci,
		     .tee = r->tee,
		     .sysfs = hc_sysfs(o),
		     .procfs = hc_procfs(o),
		     .dev = hc_dev(o)};
	CHECK(check_vendor(&c));
	CHECK(check_snp_flags(&c));
	CHECK(check_snp_kvm(&c));
	CHECK(check_snp_dev(&c));
	CHECK(check_snp_firmware(&c));
	CHECK(hc_check_tdx_flag(&c));
	CHECK(hc_check_tdx_kvm(&c));
	CHECK(hc_check_tdx_module(&c));
	CHECK(hc_check_iommu(&c));
	CHECK(hc_check_kernel(&c));
out:
	free(ci.buf);
	return err;
}

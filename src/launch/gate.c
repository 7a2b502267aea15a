/*
 * gate.c - what must hold before `veil launch` starts a worker VM
 * (docs/launch.md "The gate").
 *
 * The operator's handshake is validate, deploy, attest: the VM is started
 * only on a host that passed a host check, either one run now
 * (veil_hostcheck_run with the spec's TEE and as many GPUs as it passes
 * through) or a signed report of one, verified under a key the operator
 * gave, recent, for this TEE and this host. On top of the host report the
 * gate checks what the launch itself needs: the spec's files and every
 * GPU bound to vfio-pci with an IOMMU group, read from sysfs now, since a
 * report may be older than the last rebind. Every check is recorded, pass
 * or fail, so the operator sees all the reasons at once; a check that
 * cannot be made fails (fail closed).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "veil/launch.h"

void veil_launch_gate_init(veil_launch_gate *g)
{
	memset(g, 0, sizeof *g);
}

void veil_launch_gate_clear(veil_launch_gate *g)
{
	free(g->host);
	memset(g, 0, sizeof *g);
}

bool veil_launch_gate_pass(const veil_launch_gate *g)
{
	if (g->count == 0 || g->overflow)
		return false;
	for (size_t i = 0; i < g->count; i++)
		if (g->checks[i].required && g->checks[i].status == VEIL_HC_FAIL)
			return false;
	return true;
}

static void add(veil_launch_gate *g, const char *id, const char *title, veil_hc_status status,
		const char *remedy, const char *fmt, ...) VEIL_PRINTF(6, 7);
static void add(veil_launch_gate *g, const char *id, const char *title, veil_hc_status status,
		const char *remedy, const char *fmt, ...)
{
	veil_hc_check *c;
	va_list ap;

	if (g->count == VEIL_LAUNCH_CHECKS_MAX) {
		g->overflow = true;
		return;
	}
	c = &g->checks[g->count++];
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	snprintf(c->title, sizeof c->title, "%s", title);
	c->status = status;
	c->required = true;
	va_start(ap, fmt);
	vsnprintf(c->evidence, sizeof c->evidence, fmt, ap);
	va_end(ap);
	if (status == VEIL_HC_FAIL && remedy != NULL)
		snprintf(c->remedy, sizeof c->remedy, "%s", remedy);
	/* Paths and the host's files are quoted in evidence: no control
	 * character reaches the terminal. */
	veil_text_sanitize(c->evidence);
	veil_text_sanitize(c->remedy);
}

/* --- the spec's files --- */

static void check_file(veil_launch_gate *g, const char *what, const char *path, int mode)
{
	char id[VEIL_HC_ID_MAX], title[96];
	struct stat st;

	snprintf(id, sizeof id, "file.%s", what);
	snprintf(title, sizeof title, "the %s is a readable file", what);
	if (stat(path, &st) != 0) {
		add(g, id, title, VEIL_HC_FAIL,
		    "fix the path in the spec (relative paths are "
		    "relative to the spec's folder)",
		    "%s: %s", path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		add(g, id, title, VEIL_HC_FAIL, "give the path of a regular file",
		    "%s is not a regular file", path);
		return;
	}
	if (access(path, mode) != 0) {
		add(g, id, title, VEIL_HC_FAIL, "give this user access to the file, or run as one",
		    "%s: %s", path, strerror(errno));
		return;
	}
	add(g, id, title, VEIL_HC_PASS, NULL, "%s", path);
}

/* A bare program name is found the way execvp finds it: the first
 * executable regular file of that name in PATH. */
static void check_program(veil_launch_gate *g, const char *prog)
{
	const char *path = getenv("PATH");
	char cand[VEIL_LAUNCH_PATH_MAX];

	if (strchr(prog, '/') != NULL) {
		check_file(g, "qemu", prog, X_OK);
		return;
	}
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; p != NULL;) {
		const char *colon = strchr(p, ':');
		size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
		struct stat st;
		int w = snprintf(cand, sizeof cand, "%.*s/%s", (int)n, n == 0 ? "." : p, prog);
		if (n == 0)
			w = snprintf(cand, sizeof cand, "./%s", prog);
		if (w > 0 && (size_t)w < sizeof cand && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			add(g, "file.qemu", "the qemu program is found", VEIL_HC_PASS, NULL,
			    "%s is %s", prog, cand);
			return;
		}
		p = colon != NULL ? colon + 1 : NULL;
	}
	add(g, "file.qemu", "the qemu program is found", VEIL_HC_FAIL,
	    "install QEMU (SEV-SNP: 9.1 or later; TDX: 10.1 or later), or name it with \"qemu\" in "
	    "the spec or --qemu",
	    "%s is not in PATH", prog);
}

void veil_launch_check_files(const veil_launch_spec *s, const char *qemu, veil_launch_gate *g)
{
	check_program(g, qemu != NULL ? qemu : s->qemu);
	check_file(g, "firmware", s->firmware, R_OK);
	check_file(g, "kernel", s->kernel, R_OK);
	if (s->initrd != NULL)
		check_file(g, "initrd", s->initrd, R_OK);
	if (s->disk != NULL)
		check_file(g, "disk", s->disk, R_OK);
}

/* --- a signed report held against the spec --- */

/* The number N of a per-GPU check id "gpu.N.rest", with *rest set; -1
 * for any other id. */
static long gpu_index(const char *id, const char **rest)
{
	long n = 0;
	const char *p;

	if (strncmp(id, "gpu.", 4) != 0)
		return -1;
	for (p = id + 4; *p >= '0' && *p <= '9' && n < VEIL_HC_CHECKS_MAX; p++)
		n = n * 10 + (*p - '0');
	if (p == id + 4 || *p != '.' || n >= VEIL_HC_CHECKS_MAX)
		return -1;
	*rest = p + 1;
	return n;
}

/* GPUs the report shows ready for confidential passthrough
 * (docs/host-check.md "GPUs"): gpu.N.vfio passed, gpu.N.cc_mode passed or,
 * when deferred is accepted, was left n/a to the VM's attestation, and no
 * other gpu.N check failed. */
static size_t report_ready_gpus(const veil_hc_report *r, bool accept_deferred)
{
	size_t ready = 0;
	long seen[VEIL_HC_CHECKS_MAX];
	size_t nseen = 0;

	for (size_t i = 0; i < r->count && i < VEIL_HC_CHECKS_MAX; i++) {
		const char *rest;
		long n = gpu_index(r->checks[i].id, &rest);
		bool vfio = false, cc = false, failed = false, known = false;

		for (size_t k = 0; k < nseen && !known; k++)
			known = seen[k] == n;
		if (n < 0 || known)
			continue;
		seen[nseen++] = n;
		for (size_t j = i; j < r->count && j < VEIL_HC_CHECKS_MAX; j++) {
			const veil_hc_check *c = &r->checks[j];
			if (gpu_index(c->id, &rest) != n)
				continue;
			failed |= c->status == VEIL_HC_FAIL;
			if (strcmp(rest, "vfio") == 0)
				vfio = c->status == VEIL_HC_PASS;
			if (strcmp(rest, "cc_mode") == 0)
				cc = c->status == VEIL_HC_PASS ||
				     (accept_deferred && c->status == VEIL_HC_NA);
		}
		ready += vfio && cc && !failed;
	}
	return ready;
}

void veil_launch_check_report(const veil_launch_spec *s, const veil_hc_report *r, int64_t now,
			      int64_t max_age, const char *hostname, bool cc_by_attestation,
			      veil_launch_gate *g)
{
	const char *tee = veil_launch_tee_name(s->tee);
	size_t failing = 0;
	char first[VEIL_HC_ID_MAX] = "";

	for (size_t i = 0; i < r->count && i < VEIL_HC_CHECKS_MAX; i++)
		if (r->checks[i].required && r->checks[i].status == VEIL_HC_FAIL) {
			if (failing++ == 0)
				snprintf(first, sizeof first, "%s", r->checks[i].id);
		}
	if (r->pass && failing == 0)
		add(g, "report.verdict", "the host report's verdict is pass", VEIL_HC_PASS, NULL,
		    "every required check of the report passed (%zu checks)", r->count);
	else
		add(g, "report.verdict", "the host report's verdict is pass", VEIL_HC_FAIL,
		    "fix the host (see the failing checks above) and make a new report",
		    "the report's verdict is fail: %zu required checks failed (first: %s)", failing,
		    failing > 0 ? first : "none recorded");

	if (strcmp(r->tee, tee) == 0)
		add(g, "report.tee", "the report is for the spec's TEE", VEIL_HC_PASS, NULL,
		    "report: %s, spec: %s", r->tee, tee);
	else
		add(g, "report.tee", "the report is for the spec's TEE", VEIL_HC_FAIL,
		    "make a report for this TEE (veil host-check --tee)",
		    "the report is for \"%s\", the spec launches a %s guest", r->tee, tee);

	if (r->time > now + VEIL_LAUNCH_CLOCK_SKEW_S)
		add(g, "report.age", "the report is recent", VEIL_HC_FAIL,
		    "check the clocks of this host and of the one that signed the report",
		    "the report's time is %" PRId64 " s in the future (at most %d s of skew)",
		    r->time - now, VEIL_LAUNCH_CLOCK_SKEW_S);
	else if (now - r->time > max_age)
		add(g, "report.age", "the report is recent", VEIL_HC_FAIL,
		    "run veil host-check --sign again and use the new report",
		    "the report is %" PRId64 " s old, more than --max-age %" PRId64 " s",
		    now - r->time, max_age);
	else
		add(g, "report.age", "the report is recent", VEIL_HC_PASS, NULL,
		    "made %" PRId64 " s ago (at most %" PRId64 " s)",
		    now > r->time ? now - r->time : 0, max_age);

	if (hostname == NULL)
		add(g, "report.host", "the report is for this host", VEIL_HC_FAIL,
		    "check --procfs: the host name is read from sys/kernel/hostname under it",
		    "this host's name could not be read, so the report cannot be matched to it");
	else if (strcmp(r->host, hostname) != 0)
		add(g, "report.host", "the report is for this host", VEIL_HC_FAIL,
		    "use a report made on this host",
		    "the report is for host \"%s\", this is \"%s\"", r->host, hostname);
	else
		add(g, "report.host", "the report is for this host", VEIL_HC_PASS, NULL, "%s",
		    hostname);

	if (s->ngpus == 0) {
		add(g, "report.gpus", "the report shows the spec's GPUs ready", VEIL_HC_NA, NULL,
		    "the spec passes no GPU through");
	} else {
		size_t n = report_ready_gpus(r, cc_by_attestation);
		if (n >= s->ngpus)
			add(g, "report.gpus", "the report shows the spec's GPUs ready",
			    VEIL_HC_PASS, NULL,
			    "%zu GPUs ready (vfio-pci, CC mode %s), the spec passes %zu through", n,
			    cc_by_attestation ? "on or left to attestation" : "on", s->ngpus);
		else
			add(g, "report.gpus", "the report shows the spec's GPUs ready",
			    VEIL_HC_FAIL,
			    cc_by_attestation ? "make the report with the GPUs bound to vfio-pci "
						"(veil host-check "
						"--min-gpus N --gpu-cc-by-attestation)"
					      : "make the report with the GPUs' CC mode readable, "
						"or leave it to the "
						"VM's attestation (--gpu-cc-by-attestation, here "
						"and in host-check)",
			    "the report shows %zu GPUs ready (vfio-pci, CC mode %s), the spec "
			    "passes "
			    "%zu through",
			    n, cc_by_attestation ? "on or left to attestation" : "on", s->ngpus);
	}
}

/* --- vfio, read from sysfs now --- */

/* The last component of a symbolic link's target ("vfio-pci" for
 * .../drivers/vfio-pci); false when path is no link. */
static bool link_base(const char *path, char *out, size_t cap)
{
	char target[VEIL_LAUNCH_PATH_MAX];
	ssize_t n = readlink(path, target, sizeof target - 1);
	const char *base;

	if (n <= 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	int w = snprintf(out, cap, "%s", base);
	return base[0] != '\0' && w > 0 && (size_t)w < cap;
}

/* A small sysfs attribute ("0x10de\n"), without its newline. */
static bool read_attr(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	return n > 0;
}

/* The first entry of folder dir whose name starts with prefix. */
static bool first_entry(const char *dir, const char *prefix, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strlen(e->d_name) < cap) {
			snprintf(out, cap, "%s", e->d_name);
			found = true;
		}
	closedir(d);
	return found;
}

static void check_one_gpu(const char *addr, const char *sysfs, const char *dev, bool iommufd,
			  veil_launch_gate *g)
{
	char base[VEIL_LAUNCH_PATH_MAX], path[VEIL_LAUNCH_PATH_MAX + 64], id[VEIL_HC_ID_MAX];
	char value[256];
	struct stat st;

	snprintf(base, sizeof base, "%s/bus/pci/devices/%s", sysfs, addr);
	snprintf(id, sizeof id, "vfio.%s.device", addr);
	if (stat(base, &st) != 0) {
		add(g, id, "the GPU is on this host", VEIL_HC_FAIL,
		    "check the address in the spec (lspci -D lists them)",
		    "no PCI device %s (%s: %s)", addr, base, strerror(errno));
		return;
	}
	add(g, id, "the GPU is on this host", VEIL_HC_PASS, NULL, "%s", base);

	snprintf(id, sizeof id, "vfio.%s.vendor", addr);
	snprintf(path, sizeof path, "%s/vendor", base);
	if (!read_attr(path, value, sizeof value))
		add(g, id, "the device is an NVIDIA GPU", VEIL_HC_FAIL,
		    "check the address in the spec", "%s cannot be read", path);
	else if (strcmp(value, "0x10de") != 0)
		add(g, id, "the device is an NVIDIA GPU", VEIL_HC_FAIL,
		    "list only NVIDIA GPUs in \"gpus\"", "vendor %.16s, not NVIDIA (0x10de)",
		    value);
	else
		add(g, id, "the device is an NVIDIA GPU", VEIL_HC_PASS, NULL, "vendor 0x10de");

	snprintf(id, sizeof id, "vfio.%s.driver", addr);
	snprintf(path, sizeof path, "%s/driver", base);
	if (!link_base(path, value, sizeof value))
		add(g, id, "the GPU is bound to vfio-pci", VEIL_HC_FAIL,
		    "bind it: echo vfio-pci > .../driver_override, then write the address to "
		    "/sys/bus/pci/drivers_probe",
		    "%s is bound to no driver", addr);
	else if (strcmp(value, "vfio-pci") != 0)
		add(g, id, "the GPU is bound to vfio-pci", VEIL_HC_FAIL,
		    "unbind it from its driver and bind it to vfio-pci (driver_override)",
		    "%s is bound to %.64s", addr, value);
	else
		add(g, id, "the GPU is bound to vfio-pci", VEIL_HC_PASS, NULL,
		    "%s is bound to vfio-pci", addr);

	snprintf(id, sizeof id, "vfio.%s.iommu_group", addr);
	snprintf(path, sizeof path, "%s/iommu_group", base);
	if (!link_base(path, value, sizeof value)) {
		add(g, id, "the GPU has an IOMMU group", VEIL_HC_FAIL,
		    "enable the IOMMU (amd_iommu=on or intel_iommu=on, and in the firmware)",
		    "%s has no iommu_group: the IOMMU is off or does not cover it", addr);
		return;
	}
	/* The nodes QEMU opens (QEMU docs/devel/vfio-iommufd.rst): the
	 * group's /dev/vfio/N for the legacy container; /dev/iommu and the
	 * device's own /dev/vfio/devices/vfioX for iommufd. */
	if (iommufd) {
		char cdev[64];
		snprintf(path, sizeof path, "%s/iommu", dev);
		if (stat(path, &st) != 0) {
			add(g, id, "the GPU has an IOMMU group", VEIL_HC_FAIL,
			    "load the iommufd module (modprobe iommufd)",
			    "group %.32s, but %s is missing: %s", value, path, strerror(errno));
			return;
		}
		snprintf(path, sizeof path, "%s/vfio-dev", base);
		if (!first_entry(path, "vfio", cdev, sizeof cdev)) {
			add(g, id, "the GPU has an IOMMU group", VEIL_HC_FAIL,
			    "iommufd needs the vfio device character device "
			    "(CONFIG_VFIO_DEVICE_CDEV): use \"vfio\": \"legacy\" otherwise",
			    "group %.32s, but %s/vfio-dev has no vfio device", value, addr);
			return;
		}
		snprintf(path, sizeof path, "%s/vfio/devices/%s", dev, cdev);
	} else {
		snprintf(path, sizeof path, "%s/vfio/%.32s", dev, value);
	}
	if (stat(path, &st) != 0)
		add(g, id, "the GPU has an IOMMU group", VEIL_HC_FAIL,
		    "load vfio-pci and check that the device node is there",
		    "group %.32s, but %s is missing: %s", value, path, strerror(errno));
	else
		add(g, id, "the GPU has an IOMMU group", VEIL_HC_PASS, NULL, "group %.32s, %s",
		    value, path);
}

void veil_launch_check_vfio(const veil_launch_spec *s, const veil_hc_roots *roots,
			    veil_launch_gate *g)
{
	const char *sysfs = roots != NULL && roots->sysfs != NULL ? roots->sysfs : "/sys";
	const char *dev = roots != NULL && roots->dev != NULL ? roots->dev : "/dev";

	for (size_t i = 0; i < s->ngpus; i++)
		check_one_gpu(s->gpus[i], sysfs, dev, s->iommufd, g);
}

/* --- the whole gate --- */

static bool read_hostname(const char *procfs, char *out, size_t cap)
{
	char path[VEIL_LAUNCH_PATH_MAX];

	snprintf(path, sizeof path, "%s/sys/kernel/hostname", procfs != NULL ? procfs : "/proc");
	return read_attr(path, out, cap);
}

static void signed_gate(const veil_launch_spec *s, const veil_launch_gate_options *o, int64_t now,
			veil_launch_gate *g)
{
	char hostname[256];
	veil_err err;

	err = veil_hostcheck_verify(o->pubkey, o->report, o->report_len, g->host);
	if (err != VEIL_OK) {
		add(g, "report.signature", "the signed report verifies", VEIL_HC_FAIL,
		    "use the report exactly as veil host-check --sign wrote it, with the key that "
		    "signed it",
		    "%s: %s", veil_err_str(err), veil_err_detail());
		free(g->host);
		g->host = NULL;
		return;
	}
	g->from_signed = true;
	add(g, "report.signature", "the signed report verifies", VEIL_HC_PASS, NULL,
	    "ES256 signature by the given key");
	veil_launch_check_report(
	    s, g->host, now, o->max_age > 0 ? o->max_age : VEIL_LAUNCH_MAX_AGE_DEFAULT,
	    read_hostname(o->roots.procfs, hostname, sizeof hostname) ? hostname : NULL,
	    o->gpu_cc_by_attestation, g);
}

veil_err veil_launch_gate_run(const veil_launch_spec *s, const veil_launch_gate_options *o,
			      veil_launch_gate *g)
{
	int64_t now = o->now != 0 ? o->now : (int64_t)time(NULL);
	veil_err err;

	ENSURE(s->tee == VEIL_HC_TEE_SNP || s->tee == VEIL_HC_TEE_TDX, VEIL_E_USAGE,
	       "launch: the spec names no TEE");
	ENSURE(o->report == NULL || o->pubkey != NULL, VEIL_E_USAGE,
	       "launch: a signed report needs the public key to verify it under");
	ENSURE(o->max_age >= 0 && o->max_age <= VEIL_LAUNCH_MAX_AGE_MAX, VEIL_E_USAGE,
	       "launch: the maximum age is 1..%d s", VEIL_LAUNCH_MAX_AGE_MAX);
	free(g->host);
	g->host = calloc(1, sizeof *g->host);
	ENSURE(g->host != NULL, VEIL_E_NOMEM, "launch: out of memory");

	if (o->report != NULL) {
		signed_gate(s, o, now, g);
	} else {
		veil_hc_options ho = {
		    .roots = o->roots,
		    .tee = s->tee,
		    .min_gpus = (unsigned)s->ngpus,
		    .gpu_cc_by_attestation = o->gpu_cc_by_attestation,
		    .now = now,
		};
		err = veil_hostcheck_run(&ho, g->host);
		if (err != VEIL_OK) {
			free(g->host);
			g->host = NULL;
			return err;
		}
		if (g->host->pass)
			add(g, "host.verdict", "the host check passes", VEIL_HC_PASS, NULL,
			    "%s: every required check passed (%zu checks)", g->host->host,
			    g->host->count);
		else
			add(g, "host.verdict", "the host check passes", VEIL_HC_FAIL,
			    "fix the failing checks above; veil host-check explains each",
			    "%s: the host check fails", g->host->host);
	}
	veil_launch_check_vfio(s, &o->roots, g);
	return VEIL_OK;
}

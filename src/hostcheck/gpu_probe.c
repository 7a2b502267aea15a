/*
 * gpu_probe.c - reads what `veil host-check` knows about the host's NVIDIA
 * GPUs: the PCI devices under sysfs (vendor, class, bound driver, IOMMU
 * group) and, through NVML loaded at run time, the driver version, each
 * GPU's name, architecture, VBIOS and PCI address, and the system's
 * confidential-computing capabilities, mode and ready state.
 *
 * The two views are matched by PCI address because on a host prepared
 * for passthrough they rarely overlap: a GPU bound to vfio-pci is invisible
 * to the host's NVIDIA driver, and the driver is often not installed at
 * all. The probe records what each source said, failures included, as
 * text; gpu.c turns that into checks. Veil builds where no NVIDIA software
 * is installed, so libnvidia-ml is opened with dlopen and every entry
 * point is looked up by name (nvml_host.h), as the GPU attester does.
 *
 * Everything read is treated as untrusted: sysfs attributes are bounded
 * and parsed strictly, NVML's strings are cut at their buffers and the
 * GPU count it claims is capped.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostcheck/nvml_host.h"
#include "veil/limits.h"

#define NVML_DEFAULT_LIB  "libnvidia-ml.so.1"
#define PCI_VENDOR_NVIDIA 0x10de
/* PCI class codes (PCI Code and ID Assignment, base class 03h): VGA
 * compatible controller 0300h, 3D controller 0302h (the data-center GPUs). */
#define PCI_CLASS_VGA 0x0300
#define PCI_CLASS_3D  0x0302

_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "POSIX dlsym: code pointers fit");

static const struct {
	const char *name;
	size_t offset;
} host_symbols[] = {
    {"nvmlInit_v2", offsetof(nvml_host_api, init)},
    {"nvmlShutdown", offsetof(nvml_host_api, shutdown)},
    {"nvmlErrorString", offsetof(nvml_host_api, error_string)},
    {"nvmlSystemGetDriverVersion", offsetof(nvml_host_api, driver_version)},
    {"nvmlDeviceGetCount_v2", offsetof(nvml_host_api, count)},
    {"nvmlDeviceGetHandleByIndex_v2", offsetof(nvml_host_api, handle)},
    {"nvmlDeviceGetName", offsetof(nvml_host_api, name)},
    {"nvmlDeviceGetArchitecture", offsetof(nvml_host_api, arch)},
    {"nvmlDeviceGetVbiosVersion", offsetof(nvml_host_api, vbios)},
    {"nvmlDeviceGetPciInfo_v3", offsetof(nvml_host_api, pci)},
    {"nvmlSystemGetConfComputeCapabilities", offsetof(nvml_host_api, cc_caps)},
    {"nvmlSystemGetConfComputeState", offsetof(nvml_host_api, cc_state)},
    {"nvmlSystemGetConfComputeGpusReadyState", offsetof(nvml_host_api, ready_state)},
};

/* ---- PCI addresses ---- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads 1..max hex digits at *s into *out and moves *s past them. */
static bool hex_run(const char **s, size_t max, unsigned *out)
{
	size_t n = 0;
	unsigned v = 0;

	while (n < max && hex_digit((*s)[n]) >= 0)
		v = v << 4 | (unsigned)hex_digit((*s)[n++]);
	if (n == 0 || hex_digit((*s)[n]) >= 0)
		return false;
	*s += n;
	*out = v;
	return true;
}

/* "DOMAIN:BB:DD.F" as sysfs names devices ("0000:41:00.0") and NVML's busId
 * writes them ("00000000:41:00.0"): the domain in 1 to 8 hex digits. */
static bool bdf_parse(const char *s, uint64_t *key, char bdf[20])
{
	unsigned dom, bus, dev, fn;

	if (!hex_run(&s, 8, &dom) || *s++ != ':' || !hex_run(&s, 2, &bus) || *s++ != ':' ||
	    !hex_run(&s, 2, &dev) || *s++ != '.' || !hex_run(&s, 1, &fn) || *s != 0 || dev > 31 ||
	    fn > 7)
		return false;
	*key = (uint64_t)dom << 16 | bus << 8 | dev << 3 | fn;
	snprintf(bdf, 20, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return true;
}

/* ---- sysfs ---- */

/* A sysfs attribute of a device, whitespace at the end dropped. */
static bool attr_read(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t got = read(fd, buf, size - 1);
	close(fd);
	if (got <= 0)
		return false;
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		got--;
	buf[got] = 0;
	return got > 0;
}

/* "0x10de": sysfs writes vendor, device and class in hex with 0x. */
static bool attr_hex(const char *dir, const char *name, unsigned *out)
{
	char buf[VEIL_HC_SYSFS_ATTR_MAX];
	const char *s = buf;

	if (!attr_read(dir, name, buf, sizeof buf) || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	s += 2;
	return hex_run(&s, 8, out) && *s == 0;
}

/* The last part of a symbolic link's target: the driver's or the IOMMU
 * group's name ("../../../bus/pci/drivers/vfio-pci" -> "vfio-pci"). */
static void link_name(const char *dir, const char *name, char *out, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];

	out[0] = 0;
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return;
	ssize_t len = readlink(path, target, sizeof target - 1);
	if (len <= 0)
		return;
	target[len] = 0;
	const char *base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	if (strlen(base) < size)
		memcpy(out, base, strlen(base) + 1);
	veil_text_sanitize(out);
}

static hc_gpu *gpu_append(hc_gpu *all, size_t *n, hc_gpu_probe *p)
{
	p->found++;
	if (*n >= VEIL_HC_GPUS_SEEN_MAX) {
		p->found_capped = true;
		return NULL;
	}
	hc_gpu *g = &all[(*n)++];
	memset(g, 0, sizeof *g);
	g->pci_key = UINT64_MAX;
	return g;
}

static void sysfs_scan(const char *sysfs, hc_gpu_probe *p, hc_gpu *all, size_t *n)
{
	char dir[PATH_MAX];
	struct dirent *e;
	size_t seen = 0;

	snprintf(p->sysfs_dir, sizeof p->sysfs_dir, "%s/bus/pci/devices", sysfs);
	DIR *d = opendir(p->sysfs_dir);
	if (d == NULL)
		return;
	p->sysfs_read = true;
	while ((e = readdir(d)) != NULL && seen++ < VEIL_HC_PCI_DEVICES_MAX) {
		uint64_t key;
		char bdf[20];
		unsigned vendor, cls, device;

		if (!bdf_parse(e->d_name, &key, bdf))
			continue;
		int len = snprintf(dir, sizeof dir, "%s/%s", p->sysfs_dir, e->d_name);
		if (len < 0 || (size_t)len >= sizeof dir)
			continue;
		if (!attr_hex(dir, "vendor", &vendor) || vendor != PCI_VENDOR_NVIDIA ||
		    !attr_hex(dir, "class", &cls) ||
		    (cls >> 8 != PCI_CLASS_3D && cls >> 8 != PCI_CLASS_VGA))
			continue; /* not a GPU: NVSwitches, audio functions, others' devices */
		hc_gpu *g = gpu_append(all, n, p);
		if (g == NULL)
			continue;
		g->in_sysfs = true;
		g->pci_key = key;
		memcpy(g->bdf, bdf, sizeof g->bdf);
		g->class_code = cls;
		if (!attr_hex(dir, "device", &device))
			device = 0;
		g->device_id = device;
		link_name(dir, "driver", g->driver, sizeof g->driver);
		link_name(dir, "iommu_group", g->iommu_group, sizeof g->iommu_group);
		if (strcmp(g->driver, "vfio-pci") == 0)
			p->vfio_seen = true;
	}
	closedir(d);
}

/* ---- NVML ---- */

/* Text for the report, cut where it does not fit (library paths and
 * NVML's words can be long; the cut is expected). */
static void note(char *buf, size_t size, const char *fmt, ...) VEIL_PRINTF(3, 4);
static void note(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	veil_text_sanitize(buf);
}

static void query_note(const nvml_host_api *api, hc_nvml_query *q, nvml_return rc, const char *what)
{
	q->ok = rc == NVML_OK;
	if (q->ok) {
		q->why[0] = 0;
		return;
	}
	const char *s = api->error_string(rc);
	snprintf(q->why, sizeof q->why, "%s failed: %s (error %d)", what,
		 s != NULL ? s : "unknown NVML error", (int)rc);
	veil_text_sanitize(q->why);
}

/* A string NVML wrote into buf (of size len + 1), cut at its buffer. */
static void nvml_text(char *buf, size_t len)
{
	buf[len] = 0;
	veil_text_sanitize(buf);
}

static bool nvml_load(nvml_host_api *api, hc_gpu_probe *p)
{
	memset(api, 0, sizeof *api);
	api->lib = dlopen(p->lib, RTLD_NOW | RTLD_LOCAL);
	if (api->lib == NULL) {
		const char *why = dlerror();
		size_t len = strlen(p->lib);
		/* glibc starts its message with the path again. */
		if (why != NULL && strncmp(why, p->lib, len) == 0 &&
		    strncmp(why + len, ": ", 2) == 0)
			why += len + 2;
		p->nvml = HC_NVML_ABSENT;
		note(p->nvml_why, sizeof p->nvml_why, "cannot load %s: %s", p->lib,
		     why != NULL ? why : "unknown reason");
		return false;
	}
	for (size_t i = 0; i < sizeof host_symbols / sizeof host_symbols[0]; i++) {
		void *sym = dlsym(api->lib, host_symbols[i].name);
		if (sym == NULL) {
			p->nvml = HC_NVML_BROKEN;
			p->nvml_old = true;
			note(p->nvml_why, sizeof p->nvml_why, "%s has no %s", p->lib,
			     host_symbols[i].name);
			dlclose(api->lib);
			api->lib = NULL;
			return false;
		}
		memcpy((char *)api + host_symbols[i].offset, &sym, sizeof sym);
	}
	return true;
}

static void nvml_read_device(const nvml_host_api *api, unsigned i, hc_gpu_probe *p, hc_gpu *all,
			     size_t *n)
{
	hc_gpu one = {.in_nvml = true, .nvml_index = i, .pci_key = UINT64_MAX};
	nvml_device dev = NULL;
	nvml_pci_info pci = {0};

	query_note(api, &one.handle, api->handle(i, &dev), "nvmlDeviceGetHandleByIndex_v2");
	if (one.handle.ok) {
		query_note(api, &one.pci_q, api->pci(dev, &pci), "nvmlDeviceGetPciInfo_v3");
		query_note(api, &one.name_q, api->name(dev, one.name, NVML_NAME_BUF),
			   "nvmlDeviceGetName");
		query_note(api, &one.arch_q, api->arch(dev, &one.arch),
			   "nvmlDeviceGetArchitecture");
		query_note(api, &one.vbios_q, api->vbios(dev, one.vbios, NVML_VBIOS_BUF),
			   "nvmlDeviceGetVbiosVersion");
	} else {
		one.pci_q = one.name_q = one.arch_q = one.vbios_q = one.handle;
	}
	nvml_text(one.name, one.name_q.ok ? NVML_NAME_BUF : 0);
	nvml_text(one.vbios, one.vbios_q.ok ? NVML_VBIOS_BUF : 0);
	if (one.pci_q.ok) {
		pci.busId[NVML_BUS_ID_BUF - 1] = 0;
		if (!bdf_parse(pci.busId, &one.pci_key, one.bdf)) {
			one.pci_q.ok = false;
			nvml_text(pci.busId, strnlen(pci.busId, NVML_BUS_ID_BUF - 1));
			snprintf(one.pci_q.why, sizeof one.pci_q.why,
				 "nvmlDeviceGetPciInfo_v3 gave an unreadable bus id \"%.40s\"",
				 pci.busId);
		}
	}
	/* The same GPU in sysfs: NVML's view joins it. */
	for (size_t k = 0; one.pci_q.ok && k < *n; k++) {
		if (all[k].pci_key == one.pci_key && all[k].in_sysfs && !all[k].in_nvml) {
			hc_gpu *g = &all[k];
			g->in_nvml = true;
			g->nvml_index = i;
			g->handle = one.handle;
			g->name_q = one.name_q;
			g->arch_q = one.arch_q;
			g->vbios_q = one.vbios_q;
			g->pci_q = one.pci_q;
			memcpy(g->name, one.name, sizeof g->name);
			memcpy(g->vbios, one.vbios, sizeof g->vbios);
			g->arch = one.arch;
			return;
		}
	}
	hc_gpu *g = gpu_append(all, n, p);
	if (g != NULL)
		*g = one;
}

static void nvml_read(hc_gpu_probe *p, hc_gpu *all, size_t *n)
{
	nvml_host_api api;
	hc_nvml_query q;

	if (!nvml_load(&api, p))
		return;
	nvml_return rc = api.init();
	if (rc != NVML_OK) {
		query_note(&api, &q, rc, "nvmlInit_v2");
		p->nvml = HC_NVML_BROKEN;
		note(p->nvml_why, sizeof p->nvml_why, "%s: %s", p->lib, q.why);
		dlclose(api.lib);
		return;
	}
	query_note(&api, &q, api.count(&p->nvml_count), "nvmlDeviceGetCount_v2");
	if (!q.ok) {
		p->nvml = HC_NVML_BROKEN;
		note(p->nvml_why, sizeof p->nvml_why, "%s: %s", p->lib, q.why);
		p->nvml_count = 0;
	} else {
		p->nvml = HC_NVML_OK;
		query_note(&api, &p->driver_q,
			   api.driver_version(p->driver, NVML_DRIVER_VERSION_BUF),
			   "nvmlSystemGetDriverVersion");
		nvml_text(p->driver, p->driver_q.ok ? NVML_DRIVER_VERSION_BUF : 0);
		query_note(&api, &p->caps_q, api.cc_caps(&p->caps),
			   "nvmlSystemGetConfComputeCapabilities");
		query_note(&api, &p->cc_q, api.cc_state(&p->cc), "nvmlSystemGetConfComputeState");
		query_note(&api, &p->ready_q, api.ready_state(&p->ready),
			   "nvmlSystemGetConfComputeGpusReadyState");
		/* A count past what any host holds is a broken library's: look
		 * at no more than Veil could list. */
		unsigned count =
		    p->nvml_count < VEIL_HC_GPUS_SEEN_MAX ? p->nvml_count : VEIL_HC_GPUS_SEEN_MAX;
		for (unsigned i = 0; i < count; i++)
			nvml_read_device(&api, i, p, all, n);
		if (p->nvml_count > count) {
			p->found += p->nvml_count - count;
			p->found_capped = true;
		}
	}
	api.shutdown();
	dlclose(api.lib);
}

static int gpu_order(const void *a, const void *b)
{
	const hc_gpu *x = a, *y = b;
	if (x->pci_key != y->pci_key)
		return x->pci_key < y->pci_key ? -1 : 1;
	return x->nvml_index < y->nvml_index ? -1 : x->nvml_index > y->nvml_index;
}

veil_err hc_gpu_probe_run(const veil_hc_roots *roots, hc_gpu_probe *p)
{
	ENSURE(roots != NULL && p != NULL, VEIL_E_USAGE, "hc_gpu_probe_run: roots and p needed");
	memset(p, 0, sizeof *p);
	const char *sysfs = roots->sysfs != NULL ? roots->sysfs : "/sys";
	const char *lib = roots->nvml_lib != NULL ? roots->nvml_lib : NVML_DEFAULT_LIB;
	ENSURE(strlen(sysfs) < sizeof p->sysfs_dir - sizeof "/bus/pci/devices", VEIL_E_USAGE,
	       "the sysfs root is longer than %zu bytes",
	       sizeof p->sysfs_dir - sizeof "/bus/pci/devices");
	ENSURE(strlen(lib) < sizeof p->lib, VEIL_E_USAGE,
	       "the NVML library path is longer than %zu bytes", sizeof p->lib - 1);
	memcpy(p->lib, lib, strlen(lib) + 1);

	hc_gpu *all = calloc(VEIL_HC_GPUS_SEEN_MAX, sizeof *all);
	size_t n = 0;
	ENSURE(all != NULL, VEIL_E_NOMEM, "out of memory");
	sysfs_scan(sysfs, p, all, &n);
	nvml_read(p, all, &n);
	/* PCI order, as nvidia-smi numbers GPUs; those NVML could not place
	 * on the bus last. */
	qsort(all, n, sizeof *all, gpu_order);
	p->count = n < VEIL_HC_GPUS_MAX ? n : VEIL_HC_GPUS_MAX;
	memcpy(p->gpus, all, p->count * sizeof *all);
	free(all);
	return VEIL_OK;
}

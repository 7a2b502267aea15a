/*
 * gpu.c - the GPU checks of `veil host-check` (docs/host-check.md "GPUs"):
 * is there NVML and a recent enough driver, how many NVIDIA GPUs, and is
 * each one a Hopper or Blackwell in confidential-computing mode, not in
 * DEVTOOLS mode, with a CC-capable VBIOS, bound to vfio-pci in an IOMMU
 * group so it can be passed through to the confidential VM.
 *
 * The host-side reality shapes the checks. In passthrough the GPU is
 * driven by the NVIDIA driver inside the VM; on the host it is bound to
 * vfio-pci, where the host's driver (if one is installed at all) cannot
 * see it. So NVML on the host reads the CC mode of the GPUs not yet bound
 * to vfio-pci, and a GPU ready for passthrough is one NVML cannot read.
 * Veil does not guess: a CC mode that cannot be read fails (fail closed)
 * and says how to read it (NVIDIA's gpu-admin-tools, or before binding),
 * and the VM's GPU attestation proves the mode at run time anyway. The
 * ready state is set by the VM's driver after attestation, so on a host it
 * is informational only.
 *
 * o->min_gpus decides what is required: 0 makes every GPU check n/a when
 * no GPU is found and informational otherwise; N > 0 requires N GPUs that
 * pass every per-GPU check (gpu.count), and each GPU's checks are required
 * themselves when every GPU found is needed to reach N.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostcheck/nvml_host.h"
#include "veil/limits.h"

/* R570 is Veil's default minimum: NVIDIA's R570 TRD1 release notes add key
 * rotation to Hopper single-GPU passthrough and the protected-PCIe
 * multi-GPU mode (Hopper CC itself is generally available since R550).
 * Blackwell single-GPU passthrough is supported from R580 TRD1
 * (580.65.06; early access in R575). */
#define DRIVER_MIN_DEFAULT   "570.00"
#define DRIVER_MIN_BLACKWELL "580.65.06"
/* NVIDIA R570 TRD1 release notes, "Component Versions to Enable the SPT CC
 * Mode": H100 VBIOS 96.00.5E or later. */
#define HOPPER_VBIOS_MIN_MINOR 0x5e
#define VERSION_PARTS          6
/* VEIL_HC_GPUS_MAX in words, for the remedy text. */
#define HC_GPUS_MAX_TEXT "8"
_Static_assert(VEIL_HC_GPUS_MAX == 8, "HC_GPUS_MAX_TEXT follows VEIL_HC_GPUS_MAX");
/* Evidence names what was read as on the real host, wherever the tree
 * was (hostcheck_internal.h). */
#define PCI_DEVICES_SHOWN "/sys/bus/pci/devices"

typedef struct gpu_ctx {
	veil_hc_report *r;
	const hc_gpu_probe *p;
	unsigned need; /* o->min_gpus */
	bool req_sys;  /* the system-wide checks are required */
	bool req_gpu;  /* each GPU's checks are required */
	bool attested; /* unreadable GPU state is left to the VM's attestation */
	char min[32];  /* the driver minimum that applies */
	const char *min_why;
} gpu_ctx;

static const char *arch_name(unsigned arch)
{
	static const char *const names[] = {
	    [NVML_ARCH_KEPLER] = "Kepler",
	    [NVML_ARCH_MAXWELL] = "Maxwell",
	    [NVML_ARCH_PASCAL] = "Pascal",
	    [NVML_ARCH_VOLTA] = "Volta",
	    [NVML_ARCH_TURING] = "Turing",
	    [NVML_ARCH_AMPERE] = "Ampere",
	    [NVML_ARCH_ADA] = "Ada",
	    [NVML_ARCH_HOPPER] = "Hopper",
	    [NVML_ARCH_BLACKWELL] = "Blackwell",
	};
	if (arch < sizeof names / sizeof names[0] && names[arch] != NULL)
		return names[arch];
	return "unknown";
}

/* nvmlConfComputeSystemCaps_t.cpuCaps: the CPU TEE the driver runs in
 * (none on a host; SEV-SNP or TDX inside a confidential VM). */
static const char *cpu_caps_name(unsigned caps)
{
	switch (caps) {
	case NVML_CC_CPU_NONE:
		return "none";
	case NVML_CC_CPU_AMD_SEV:
		return "AMD SEV";
	case NVML_CC_CPU_INTEL_TDX:
		return "Intel TDX";
	case NVML_CC_CPU_AMD_SEV_SNP:
		return "AMD SEV-SNP";
	case NVML_CC_CPU_AMD_SNP_VTOM:
		return "AMD SEV-SNP vTOM";
	}
	return "unknown";
}

/* "570.86.15" (decimal) or "96.00.5E.00.01" (hex): up to VERSION_PARTS
 * numbers of at most 6 digits each, separated by dots. */
static bool version_parse(const char *s, unsigned base, unsigned long v[VERSION_PARTS])
{
	size_t part = 0;

	memset(v, 0, VERSION_PARTS * sizeof v[0]);
	for (;;) {
		size_t digits = 0;
		for (;; digits++, s++) {
			unsigned d;
			if (*s >= '0' && *s <= '9')
				d = (unsigned)(*s - '0');
			else if (base == 16 && *s >= 'a' && *s <= 'f')
				d = (unsigned)(*s - 'a' + 10);
			else if (base == 16 && *s >= 'A' && *s <= 'F')
				d = (unsigned)(*s - 'A' + 10);
			else
				break;
			if (digits == 6)
				return false;
			v[part] = v[part] * base + d;
		}
		if (digits == 0)
			return false;
		if (*s == 0)
			return true;
		if (*s++ != '.' || ++part == VERSION_PARTS)
			return false;
	}
}

/* Negative, zero or positive as a is older, the same or newer than b;
 * missing parts count as 0 ("570" == "570.00"). */
static int version_cmp(const unsigned long a[VERSION_PARTS], const unsigned long b[VERSION_PARTS])
{
	for (size_t i = 0; i < VERSION_PARTS; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

static veil_err add(gpu_ctx *c, const char *id, const char *title, bool required, veil_hc_status st,
		    const char *remedy, const char *fmt, ...) VEIL_PRINTF(7, 8);
static veil_err add(gpu_ctx *c, const char *id, const char *title, bool required, veil_hc_status st,
		    const char *remedy, const char *fmt, ...)
{
	char evidence[VEIL_HC_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(evidence, sizeof evidence, fmt, ap);
	va_end(ap);
	return veil_hc_add(c->r, id, title, required, st, evidence,
			   st == VEIL_HC_FAIL && remedy != NULL ? remedy : "");
}

static const char *nvml_state_text(const hc_gpu_probe *p)
{
	return p->nvml == HC_NVML_OK ? "loaded" : p->nvml_why;
}

/* ---- system-wide: NVML, the driver, how many GPUs ---- */

static veil_err check_nvml(gpu_ctx *c)
{
	const hc_gpu_probe *p = c->p;
	char rem[VEIL_HC_TEXT_MAX];

	if (p->nvml == HC_NVML_OK)
		return add(c, "gpu.nvml", "NVIDIA management library (NVML)", c->req_sys,
			   VEIL_HC_PASS, NULL, "%s: nvmlInit_v2 succeeded; NVML sees %u GPU(s)",
			   p->lib, p->nvml_count);
	if (c->attested)
		return add(
		    c, "gpu.nvml", "NVIDIA management library (NVML)", false, VEIL_HC_NA, NULL,
		    "%s; a host that passes its GPUs through needs no NVIDIA driver, and "
		    "their state is left to the VM's GPU attestation (--gpu-cc-by-attestation)",
		    p->nvml_why);
	if (p->nvml == HC_NVML_ABSENT && p->vfio_seen)
		snprintf(rem, sizeof rem,
			 "the GPUs are bound to vfio-pci, so the host needs no NVIDIA driver, but "
			 "then their CC mode cannot be read here: install the NVIDIA data center "
			 "driver (R570 or later) and run host-check before binding, or read the "
			 "mode with NVIDIA gpu-admin-tools (see gpu.N.cc_mode); --nvml-lib PATH "
			 "names a libnvidia-ml installed elsewhere");
	else if (p->nvml == HC_NVML_ABSENT)
		snprintf(rem, sizeof rem,
			 "install the NVIDIA data center driver (R570 or later), which provides "
			 "libnvidia-ml.so.1, or name the library with --nvml-lib PATH");
	else if (p->nvml_old)
		snprintf(rem, sizeof rem,
			 "the confidential-computing queries need the NVML of driver R535 or "
			 "later: install the NVIDIA data center driver R570 or later, or point "
			 "--nvml-lib at its libnvidia-ml.so.1");
	else
		snprintf(rem, sizeof rem,
			 "the NVIDIA kernel module is not loaded or does not match the library: "
			 "nvidia-smi must work (load the module, or install one driver R570 or "
			 "later for both)");
	return add(c, "gpu.nvml", "NVIDIA management library (NVML)", c->req_sys, VEIL_HC_FAIL, rem,
		   "%s", p->nvml_why);
}

static veil_err check_driver(gpu_ctx *c)
{
	const hc_gpu_probe *p = c->p;
	const char *title = "NVIDIA driver version";
	unsigned long have[VERSION_PARTS], want[VERSION_PARTS];
	char rem[VEIL_HC_TEXT_MAX];

	if (p->nvml != HC_NVML_OK && c->attested)
		return add(c, "gpu.driver", title, false, VEIL_HC_NA, NULL,
			   "no NVIDIA driver on the host; the driver inside the VM must be %s or "
			   "later (%s), which its GPU attestation reports",
			   c->min, c->min_why);
	if (p->nvml != HC_NVML_OK)
		return add(c, "gpu.driver", title, c->req_sys, VEIL_HC_FAIL,
			   "make NVML work first (see gpu.nvml); the driver inside the VM must "
			   "meet the same minimum (its GPU attestation reports it)",
			   "cannot be read: NVML is not available (see gpu.nvml); at least %s "
			   "required (%s)",
			   c->min, c->min_why);
	if (!p->driver_q.ok)
		return add(c, "gpu.driver", title, c->req_sys, VEIL_HC_FAIL,
			   "check the NVIDIA driver installation (nvidia-smi)", "%s",
			   p->driver_q.why);
	if (!version_parse(p->driver, 10, have) || !version_parse(c->min, 10, want))
		return add(c, "gpu.driver", title, c->req_sys, VEIL_HC_FAIL,
			   "check the NVIDIA driver installation (nvidia-smi)",
			   "driver version \"%s\" cannot be compared with %s", p->driver, c->min);
	if (version_cmp(have, want) < 0) {
		snprintf(rem, sizeof rem,
			 "install the NVIDIA data center driver %s or later on the host and in "
			 "the worker image (the VM's GPU attestation reports the guest's driver)",
			 c->min);
		return add(c, "gpu.driver", title, c->req_sys, VEIL_HC_FAIL, rem,
			   "driver %s is older than %s (%s)", p->driver, c->min, c->min_why);
	}
	return add(c, "gpu.driver", title, c->req_sys, VEIL_HC_PASS, NULL,
		   "driver %s; at least %s required (%s)", p->driver, c->min, c->min_why);
}

/* ---- one GPU ---- */

typedef struct gpu_ids {
	char model[VEIL_HC_ID_MAX], cc[VEIL_HC_ID_MAX], devtools[VEIL_HC_ID_MAX],
	    ready[VEIL_HC_ID_MAX], vbios[VEIL_HC_ID_MAX], vfio[VEIL_HC_ID_MAX];
	char where[96];   /* "0000:41:00.0 (10de:2330, bound to vfio-pci)" */
	char unseen[160]; /* why NVML has nothing on this GPU */
} gpu_ids;

static void gpu_describe(const gpu_ctx *c, size_t i, const hc_gpu *g, gpu_ids *ids)
{
	snprintf(ids->model, sizeof ids->model, "gpu.%zu.model", i);
	snprintf(ids->cc, sizeof ids->cc, "gpu.%zu.cc_mode", i);
	snprintf(ids->devtools, sizeof ids->devtools, "gpu.%zu.devtools", i);
	snprintf(ids->ready, sizeof ids->ready, "gpu.%zu.ready", i);
	snprintf(ids->vbios, sizeof ids->vbios, "gpu.%zu.vbios", i);
	snprintf(ids->vfio, sizeof ids->vfio, "gpu.%zu.vfio", i);
	if (g->in_sysfs)
		snprintf(ids->where, sizeof ids->where, "%s (10de:%04x, %s%s)", g->bdf,
			 g->device_id, g->driver[0] != 0 ? "bound to " : "no driver bound",
			 g->driver);
	else if (g->bdf[0] != 0)
		snprintf(ids->where, sizeof ids->where, "%s (NVML GPU %u)", g->bdf, g->nvml_index);
	else
		snprintf(ids->where, sizeof ids->where, "NVML GPU %u", g->nvml_index);
	if (g->in_nvml)
		ids->unseen[0] = 0;
	else if (c->p->nvml == HC_NVML_OK)
		snprintf(ids->unseen, sizeof ids->unseen, "the host's NVML does not see this GPU%s",
			 strcmp(g->driver, "vfio-pci") == 0
			     ? " (a GPU bound to vfio-pci is invisible to the host's NVIDIA driver)"
			     : "");
	else
		snprintf(ids->unseen, sizeof ids->unseen,
			 "NVML is not available on this host (see gpu.nvml)");
}

/* A GPU NVML cannot see, with --gpu-cc-by-attestation: n/a, and counted
 * as ready, because the VM's GPU attestation shows what cannot be read
 * here, and the policies that release keys and admit workers judge it. */
static veil_err deferred(gpu_ctx *c, const char *id, const char *title, const gpu_ids *ids,
			 bool *ok)
{
	*ok = true;
	return add(c, id, title, false, VEIL_HC_NA, NULL,
		   "%s: cannot be read on this host (%s); left to the VM's GPU attestation "
		   "(--gpu-cc-by-attestation: the key broker's and the gateway's policies must "
		   "require CC mode and refuse DEVTOOLS)",
		   ids->where, ids->unseen);
}

static veil_err check_model(gpu_ctx *c, const hc_gpu *g, const gpu_ids *ids, bool *ok)
{
	const char *title = "GPU model (Hopper or Blackwell for confidential computing)";
	*ok = false;
	if (!g->in_nvml && c->attested)
		return deferred(c, ids->model, title, ids, ok);
	if (!g->in_nvml)
		return add(c, ids->model, title, c->req_gpu, VEIL_HC_FAIL,
			   "name it with lspci -nn (or nvidia-smi before binding it to vfio-pci): "
			   "an NVIDIA Hopper (H100, H200, H800, H20) or Blackwell GPU is needed",
			   "%s: the model cannot be read: %s", ids->where, ids->unseen);
	if (!g->name_q.ok || !g->arch_q.ok)
		return add(c, ids->model, title, c->req_gpu, VEIL_HC_FAIL,
			   "check the GPU and driver with nvidia-smi -q", "%s: %s", ids->where,
			   !g->name_q.ok ? g->name_q.why : g->arch_q.why);
	if (g->arch != NVML_ARCH_HOPPER && g->arch != NVML_ARCH_BLACKWELL)
		return add(c, ids->model, title, c->req_gpu, VEIL_HC_FAIL,
			   "confidential computing needs an NVIDIA Hopper (H100, H200, H800, H20) "
			   "or Blackwell GPU; pass only those through",
			   "%s: %s, architecture %s (%u): no confidential-computing mode",
			   ids->where, g->name, arch_name(g->arch), g->arch);
	*ok = true;
	return add(c, ids->model, title, c->req_gpu, VEIL_HC_PASS, NULL, "%s: %s, architecture %s",
		   ids->where, g->name, arch_name(g->arch));
}

static veil_err check_cc(gpu_ctx *c, const hc_gpu *g, const gpu_ids *ids, bool *ok)
{
	const hc_gpu_probe *p = c->p;
	const char *title = "GPU confidential-computing mode on";
	char rem[VEIL_HC_TEXT_MAX];
	const char *bdf = g->bdf[0] != 0 ? g->bdf : "BDF";

	*ok = false;
	snprintf(rem, sizeof rem,
		 "set CC on with NVIDIA gpu-admin-tools, the GPU unbound from the nvidia "
		 "driver: "
		 "nvidia_gpu_tools.py --devices %s --set-cc-mode=on "
		 "--reset-after-cc-mode-switch; then bind it to vfio-pci",
		 bdf);
	if (!g->in_nvml && c->attested)
		return deferred(c, ids->cc, title, ids, ok);
	if (!g->in_nvml) {
		snprintf(rem, sizeof rem,
			 "read it with NVIDIA gpu-admin-tools: nvidia_gpu_tools.py --devices %s "
			 "--query-cc-mode must say on (set it with --set-cc-mode=on); or run "
			 "host-check before binding, with the NVIDIA driver loaded; the VM's GPU "
			 "attestation proves the mode at run time",
			 bdf);
		return add(c, ids->cc, title, c->req_gpu, VEIL_HC_FAIL, rem,
			   "%s: the CC mode cannot be read on this host: %s", ids->where,
			   ids->unseen);
	}
	if (!p->caps_q.ok || !p->cc_q.ok)
		return add(c, ids->cc, title, c->req_gpu, VEIL_HC_FAIL,
			   "the confidential-computing queries need driver R535 or later; "
			   "install R570 or later",
			   "%s: %s", ids->where, !p->caps_q.ok ? p->caps_q.why : p->cc_q.why);
	if (p->caps.gpusCaps != NVML_CC_GPUS_CAPABLE)
		return add(c, ids->cc, title, c->req_gpu, VEIL_HC_FAIL,
			   "use Hopper or Blackwell GPUs with a CC-capable VBIOS (see NVIDIA's "
			   "Secure AI compatibility matrix)",
			   "%s: NVML says the GPUs are not CC-capable (gpusCaps %u)", ids->where,
			   p->caps.gpusCaps);
	if (p->cc.ccFeature != NVML_CC_FEATURE_ENABLED)
		return add(c, ids->cc, title, c->req_gpu, VEIL_HC_FAIL, rem,
			   "%s: CC mode is off (NVML ccFeature %u)", ids->where, p->cc.ccFeature);
	if (p->cc.environment != NVML_CC_ENV_PROD)
		return add(c, ids->cc, title, c->req_gpu, VEIL_HC_FAIL, rem,
			   "%s: CC is on but the environment is %s, not production (NVML "
			   "environment %u): no hardware protection",
			   ids->where,
			   p->cc.environment == NVML_CC_ENV_SIM ? "simulated" : "unknown",
			   p->cc.environment);
	*ok = true;
	return add(c, ids->cc, title, c->req_gpu, VEIL_HC_PASS, NULL,
		   "%s: CC on, production environment, GPUs CC-capable (NVML's system "
		   "state; CPU TEE as the driver sees it: %s)",
		   ids->where, cpu_caps_name(p->caps.cpuCaps));
}

static veil_err check_devtools(gpu_ctx *c, const hc_gpu *g, const gpu_ids *ids, bool *ok)
{
	const hc_gpu_probe *p = c->p;
	const char *title = "GPU not in DEVTOOLS mode";
	char rem[VEIL_HC_TEXT_MAX];
	const char *bdf = g->bdf[0] != 0 ? g->bdf : "BDF";

	*ok = false;
	snprintf(rem, sizeof rem,
		 "DEVTOOLS lifts the protections against profiling and debugging: set the mode "
		 "to on with nvidia_gpu_tools.py --devices %s --set-cc-mode=on "
		 "--reset-after-cc-mode-switch",
		 bdf);
	if (!g->in_nvml && c->attested)
		return deferred(c, ids->devtools, title, ids, ok);
	if (!g->in_nvml)
		return add(c, ids->devtools, title, c->req_gpu, VEIL_HC_FAIL,
			   "nvidia_gpu_tools.py --query-cc-mode must say on, not devtools (see "
			   "gpu.N.cc_mode)",
			   "%s: cannot be read on this host: %s", ids->where, ids->unseen);
	if (!p->cc_q.ok)
		return add(c, ids->devtools, title, c->req_gpu, VEIL_HC_FAIL,
			   "install NVIDIA driver R570 or later", "%s: %s", ids->where,
			   p->cc_q.why);
	/* Fail closed: only NVML_CC_SYSTEM_DEVTOOLS_MODE_OFF (0) passes, not
	 * whatever is not ON. */
	if (p->cc.devToolsMode != 0)
		return add(c, ids->devtools, title, c->req_gpu, VEIL_HC_FAIL, rem,
			   "%s: DEVTOOLS mode is %s (NVML devToolsMode %u): no confidentiality "
			   "guarantee",
			   ids->where, p->cc.devToolsMode == NVML_CC_DEVTOOLS_ON ? "on" : "unknown",
			   p->cc.devToolsMode);
	*ok = true;
	return add(c, ids->devtools, title, c->req_gpu, VEIL_HC_PASS, NULL, "%s: DEVTOOLS off",
		   ids->where);
}

/* Informational: NVML_CC_ACCEPTING_CLIENT_REQUESTS is set by the driver
 * that uses the GPU, inside the VM, once the GPU has been attested. */
static veil_err check_ready(gpu_ctx *c, const hc_gpu *g, const gpu_ids *ids)
{
	const hc_gpu_probe *p = c->p;
	const char *title = "GPU accepting work (set inside the VM after attestation)";

	if (!g->in_nvml)
		return add(c, ids->ready, title, false, VEIL_HC_NA, NULL,
			   "%s: read and set inside the VM (nvidia-smi conf-compute -srs 1 after "
			   "attestation); %s",
			   ids->where, ids->unseen);
	if (!p->ready_q.ok)
		return add(c, ids->ready, title, false, VEIL_HC_NA, NULL, "%s: %s", ids->where,
			   p->ready_q.why);
	if (p->ready != NVML_CC_ACCEPTING_WORK)
		return add(c, ids->ready, title, false, VEIL_HC_NA, NULL,
			   "%s: not accepting work yet, as expected before launch: the VM's "
			   "driver sets it (nvidia-smi conf-compute -srs 1) after attestation",
			   ids->where);
	return add(c, ids->ready, title, false, VEIL_HC_PASS, NULL, "%s: accepting work",
		   ids->where);
}

static veil_err check_vbios(gpu_ctx *c, const hc_gpu *g, const gpu_ids *ids, bool *ok)
{
	const char *title = "GPU VBIOS version";
	unsigned long v[VERSION_PARTS];

	*ok = false;
	if (!g->in_nvml && c->attested)
		return deferred(c, ids->vbios, title, ids, ok);
	if (!g->in_nvml)
		return add(c, ids->vbios, title, c->req_gpu, VEIL_HC_FAIL,
			   "read it with nvidia-smi -q before binding the GPU to vfio-pci; H100 "
			   "needs 96.00.5E or later for CC",
			   "%s: cannot be read: %s", ids->where, ids->unseen);
	if (!g->vbios_q.ok)
		return add(c, ids->vbios, title, c->req_gpu, VEIL_HC_FAIL,
			   "check the GPU with nvidia-smi -q", "%s: %s", ids->where,
			   g->vbios_q.why);
	/* Hopper VBIOS versions read 96.00.XX...; NVIDIA lists 96.00.5E as
	 * the first for CC. Other families have no published minimum here:
	 * the VM's GPU attestation checks the VBIOS against NVIDIA's RIM. */
	if (g->arch == NVML_ARCH_HOPPER && version_parse(g->vbios, 16, v) && v[0] == 0x96 &&
	    v[1] == 0 && v[2] < HOPPER_VBIOS_MIN_MINOR)
		return add(c, ids->vbios, title, c->req_gpu, VEIL_HC_FAIL,
			   "update the GPU firmware to a VBIOS NVIDIA lists for confidential "
			   "computing (Secure AI compatibility matrix)",
			   "%s: VBIOS %s is older than 96.00.5E, the first H100 VBIOS for CC",
			   ids->where, g->vbios);
	*ok = true;
	return add(c, ids->vbios, title, c->req_gpu, VEIL_HC_PASS, NULL, "%s: VBIOS %s", ids->where,
		   g->vbios);
}

static veil_err check_vfio(gpu_ctx *c, const hc_gpu *g, const gpu_ids *ids, bool *ok)
{
	const char *title = "GPU bound to vfio-pci in an IOMMU group (passthrough)";
	char rem[VEIL_HC_TEXT_MAX];

	*ok = false;
	if (!g->in_sysfs)
		return add(c, ids->vfio, title, c->req_gpu, VEIL_HC_FAIL,
			   "check the sysfs root given to host-check (--sysfs)",
			   "%s: not found under " PCI_DEVICES_SHOWN "%s", ids->where,
			   c->p->sysfs_read ? "" : " (which cannot be listed)");
	if (strcmp(g->driver, "vfio-pci") != 0) {
		snprintf(rem, sizeof rem,
			 "set its CC mode first, then bind it to vfio-pci: modprobe vfio-pci; "
			 "driverctl set-override %s vfio-pci (or write %s to "
			 "/sys/bus/pci/devices/%s/driver/unbind and \"10de %04x\" to "
			 "/sys/bus/pci/drivers/vfio-pci/new_id)",
			 g->bdf, g->bdf, g->bdf, g->device_id);
		return add(c, ids->vfio, title, c->req_gpu, VEIL_HC_FAIL, rem,
			   "%s: %s, not vfio-pci: it cannot be passed through", ids->where,
			   g->driver[0] != 0 ? g->driver : "no driver");
	}
	if (g->iommu_group[0] == 0)
		return add(c, ids->vfio, title, c->req_gpu, VEIL_HC_FAIL,
			   "enable the IOMMU: VT-d or AMD-Vi in the firmware, and intel_iommu=on "
			   "or amd_iommu=on on the kernel command line",
			   "%s: no IOMMU group (no iommu_group link): the IOMMU is off",
			   ids->where);
	*ok = true;
	return add(c, ids->vfio, title, c->req_gpu, VEIL_HC_PASS, NULL, "%s, IOMMU group %s",
		   ids->where, g->iommu_group);
}

/* Every check of GPU i; *ready when it can serve a confidential VM. */
static veil_err check_gpu(gpu_ctx *c, size_t i, bool *ready)
{
	const hc_gpu *g = &c->p->gpus[i];
	gpu_ids ids;
	bool model, cc, devtools, vbios, vfio;

	gpu_describe(c, i, g, &ids);
	TRY(check_model(c, g, &ids, &model));
	TRY(check_cc(c, g, &ids, &cc));
	TRY(check_devtools(c, g, &ids, &devtools));
	TRY(check_ready(c, g, &ids));
	TRY(check_vbios(c, g, &ids, &vbios));
	TRY(check_vfio(c, g, &ids, &vfio));
	*ready = model && cc && devtools && vbios && vfio;
	return VEIL_OK;
}

static veil_err check_count(gpu_ctx *c, size_t ready, const char *list)
{
	const hc_gpu_probe *p = c->p;
	const char *title = "GPUs ready for confidential passthrough";
	char seen[128];

	if (p->found > p->count)
		snprintf(seen, sizeof seen, "%s%zu NVIDIA GPUs found (the first %zu checked)",
			 p->found_capped ? "at least " : "", p->found, p->count);
	else
		snprintf(seen, sizeof seen, "%zu NVIDIA GPU(s) found", p->found);
	if (c->need == 0)
		return add(c, "gpu.count", title, false, VEIL_HC_NA, NULL,
			   "%s, %zu ready (%s); none required (--min-gpus 0)", seen, ready, list);
	if (ready < c->need && c->need > VEIL_HC_GPUS_MAX)
		return add(c, "gpu.count", title, true, VEIL_HC_FAIL,
			   "host-check examines at most " HC_GPUS_MAX_TEXT " GPUs per host: "
			   "ask for no more with --min-gpus",
			   "%s, %zu ready (%s); %u required", seen, ready, list, c->need);
	if (ready < c->need)
		return add(c, "gpu.count", title, true, VEIL_HC_FAIL,
			   "make more GPUs pass the gpu.N checks above, or lower --min-gpus",
			   "%s, %zu ready (%s); %u required", seen, ready, list, c->need);
	return add(c, "gpu.count", title, true, VEIL_HC_PASS, NULL,
		   "%s, %zu ready (%s); %u required", seen, ready, list, c->need);
}

static veil_err gpu_ctx_init(gpu_ctx *c, const veil_hc_options *o)
{
	unsigned long v[VERSION_PARTS], blackwell[VERSION_PARTS];
	const char *min = o->min_driver != NULL ? o->min_driver : DRIVER_MIN_DEFAULT;

	ENSURE(strlen(min) < sizeof c->min && version_parse(min, 10, v), VEIL_E_USAGE,
	       "the minimum driver \"%.40s\" is not a version like 570.00", min);
	memcpy(c->min, min, strlen(min) + 1);
	c->min_why = o->min_driver != NULL ? "as asked" : "R570: Hopper CC key rotation";
	c->need = o->min_gpus;
	c->attested = o->gpu_cc_by_attestation;
	c->req_sys = o->min_gpus > 0;
	c->req_gpu = o->min_gpus > 0 && c->p->found <= o->min_gpus;
	/* Blackwell CC needs a newer driver than Veil's default. */
	if (!version_parse(DRIVER_MIN_BLACKWELL, 10, blackwell))
		return veil_fail(VEIL_E_USAGE, "bad built-in Blackwell minimum");
	for (size_t i = 0; i < c->p->count; i++) {
		const hc_gpu *g = &c->p->gpus[i];
		if (g->in_nvml && g->arch_q.ok && g->arch == NVML_ARCH_BLACKWELL &&
		    version_cmp(v, blackwell) < 0) {
			memcpy(c->min, DRIVER_MIN_BLACKWELL, sizeof DRIVER_MIN_BLACKWELL);
			c->min_why = "R580: Blackwell CC";
			break;
		}
	}
	return VEIL_OK;
}

veil_err veil_hostcheck_gpu(const veil_hc_options *o, veil_hc_report *r)
{
	hc_gpu_probe *p = NULL;
	gpu_ctx c = {0};
	char list[160] = "";
	size_t ready = 0;
	veil_err err = VEIL_OK;

	ENSURE(o != NULL && r != NULL, VEIL_E_USAGE,
	       "veil_hostcheck_gpu: options and report needed");
	p = calloc(1, sizeof *p);
	ENSURE(p != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(hc_gpu_probe_run(&o->roots, p));
	c.r = r;
	c.p = p;
	CHECK(gpu_ctx_init(&c, o));

	if (p->found == 0 && c.need == 0) {
		/* Nothing to check and nothing asked for. */
		const char *why = "no NVIDIA GPU found and none required (--min-gpus 0)";
		CHECK(add(&c, "gpu.nvml", "NVIDIA management library (NVML)", false, VEIL_HC_NA,
			  NULL, "%s: %s", why, nvml_state_text(p)));
		CHECK(add(&c, "gpu.driver", "NVIDIA driver version", false, VEIL_HC_NA, NULL, "%s",
			  why));
		CHECK(add(&c, "gpu.count", "GPUs ready for confidential passthrough", false,
			  VEIL_HC_NA, NULL, "%s (looked under " PCI_DEVICES_SHOWN "%s)", why,
			  p->sysfs_read ? "" : ", which cannot be listed"));
		goto out;
	}
	CHECK(check_nvml(&c));
	CHECK(check_driver(&c));
	for (size_t i = 0; i < p->count; i++) {
		bool ok = false;
		CHECK(check_gpu(&c, i, &ok));
		if (ok) {
			size_t used = strlen(list);
			snprintf(list + used, sizeof list - used, "%s%s", used > 0 ? ", " : "",
				 p->gpus[i].bdf);
			ready++;
		}
	}
	CHECK(check_count(&c, ready, list[0] != 0 ? list : "none"));
out:
	free(p);
	return err;
}

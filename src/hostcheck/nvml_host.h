/*
 * nvml_host.h - what `veil host-check` reads from NVML and sysfs about the
 * host's NVIDIA GPUs (docs/host-check.md "GPUs"), shared by the probe
 * (gpu_probe.c, which does the reading) and the checks (gpu.c, which judge
 * what was read).
 *
 * The NVML types, constants and the struct tags the checked indirect calls
 * compare come from the GPU attester's attester/nvml_abi.h, so the two
 * readers of libnvidia-ml agree on one copy of nvml.h's layouts; this
 * header adds only what the attester does not call (names, VBIOS, PCI
 * information, the system's confidential-computing capabilities).
 */
#ifndef VEIL_HOSTCHECK_NVML_HOST_H
#define VEIL_HOSTCHECK_NVML_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attester/nvml_abi.h"
#include "veil/error.h"
#include "veil/hostcheck.h"
#include "veil/limits.h"

/* nvml.h buffer sizes: NVML_DEVICE_NAME_V2_BUFFER_SIZE,
 * NVML_DEVICE_VBIOS_VERSION_BUFFER_SIZE, NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE
 * and NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE. */
#define NVML_NAME_BUF          96
#define NVML_VBIOS_BUF         32
#define NVML_BUS_ID_BUF        32
#define NVML_BUS_ID_LEGACY_BUF 16

/* nvmlPciInfo_t as nvmlDeviceGetPciInfo_v3 fills it. */
typedef struct nvmlPciInfo_st {
	char busIdLegacy[NVML_BUS_ID_LEGACY_BUF];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pciDeviceId; /* device id << 16 | vendor id */
	unsigned int pciSubSystemId;
	char busId[NVML_BUS_ID_BUF]; /* "00000000:41:00.0" */
} nvml_pci_info;
_Static_assert(sizeof(nvml_pci_info) == 16 + 5 * 4 + 32, "nvmlPciInfo_t");

/* nvmlConfComputeSystemCaps_t and its values. */
typedef struct nvmlConfComputeSystemCaps_st {
	unsigned int cpuCaps;  /* NVML_CC_SYSTEM_CPU_CAPS_* */
	unsigned int gpusCaps; /* NVML_CC_SYSTEM_GPUS_CC_* */
} nvml_cc_caps;
_Static_assert(sizeof(nvml_cc_caps) == 8, "nvmlConfComputeSystemCaps_t");
#define NVML_CC_CPU_NONE         0
#define NVML_CC_CPU_AMD_SEV      1
#define NVML_CC_CPU_INTEL_TDX    2
#define NVML_CC_CPU_AMD_SEV_SNP  3
#define NVML_CC_CPU_AMD_SNP_VTOM 4
#define NVML_CC_GPUS_CAPABLE     1

/* The entry points host-check resolves with dlsym (nvml.h prototypes). */
typedef struct nvml_host_api {
	void *lib;
	nvml_return (*init)(void); /* nvmlInit_v2 */
	nvml_return (*shutdown)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*driver_version)(char *version, unsigned int length);
	nvml_return (*count)(unsigned int *count);                   /* nvmlDeviceGetCount_v2 */
	nvml_return (*handle)(unsigned int index, nvml_device *dev); /* ..ByIndex_v2 */
	nvml_return (*name)(nvml_device dev, char *name, unsigned int length);
	nvml_return (*arch)(nvml_device dev, unsigned int *arch);
	nvml_return (*vbios)(nvml_device dev, char *version, unsigned int length);
	nvml_return (*pci)(nvml_device dev, nvml_pci_info *pci); /* nvmlDeviceGetPciInfo_v3 */
	nvml_return (*cc_caps)(nvml_cc_caps *caps);
	nvml_return (*cc_state)(nvml_cc_state *state);
	nvml_return (*ready_state)(unsigned int *accepting);
} nvml_host_api;

/* Where the host's NVML stands. */
typedef enum hc_nvml_state {
	HC_NVML_ABSENT = 0, /* the library cannot be loaded */
	HC_NVML_BROKEN,     /* loaded, but a symbol is missing, or init or the count failed */
	HC_NVML_OK,
} hc_nvml_state;

/* One NVML query's outcome, kept as text: the library and its error
 * strings are gone by the time the checks are written. */
typedef struct hc_nvml_query {
	bool ok;
	char why[160]; /* on failure: "nvmlX failed: <NVML's words> (error N)" */
} hc_nvml_query;

/* One NVIDIA GPU as sysfs and NVML see it, matched by PCI address. */
typedef struct hc_gpu {
	char bdf[20];     /* "0000:41:00.0", lowercase, 4-digit domain; "" if unknown */
	uint64_t pci_key; /* domain, bus, device, function packed, for sorting and matching */
	/* sysfs bus/pci/devices */
	bool in_sysfs;
	unsigned device_id;   /* PCI device id */
	unsigned class_code;  /* 0x030200: 3D controller, 0x030000: VGA */
	char driver[32];      /* the bound driver's name; "" when none */
	char iommu_group[16]; /* the IOMMU group's number; "" when none */
	/* NVML */
	bool in_nvml;
	unsigned nvml_index;
	hc_nvml_query handle, name_q, arch_q, vbios_q, pci_q;
	char name[NVML_NAME_BUF + 1];
	unsigned arch;
	char vbios[NVML_VBIOS_BUF + 1];
} hc_gpu;

/* Everything the probe found. */
typedef struct hc_gpu_probe {
	char sysfs_dir[4096]; /* the bus/pci/devices folder read (PATH_MAX) */
	bool sysfs_read;      /* false: the folder could not be listed */
	char lib[4096];       /* the NVML library asked for (PATH_MAX) */
	hc_nvml_state nvml;
	char nvml_why[256]; /* for ABSENT and BROKEN */
	bool nvml_old;      /* BROKEN because an entry point is missing */
	hc_nvml_query driver_q;
	char driver[NVML_DRIVER_VERSION_BUF + 1];
	unsigned nvml_count;
	hc_nvml_query caps_q, cc_q, ready_q;
	nvml_cc_caps caps;
	nvml_cc_state cc;
	unsigned ready;
	size_t found;      /* NVIDIA GPUs seen (may exceed VEIL_HC_GPUS_MAX) */
	bool found_capped; /* more than VEIL_HC_GPUS_SEEN_MAX: found is a lower bound */
	size_t count;      /* of them, in gpus[] */
	bool vfio_seen;    /* some GPU in sysfs is bound to vfio-pci */
	hc_gpu gpus[VEIL_HC_GPUS_MAX];
} hc_gpu_probe;

/* Reads sysfs and NVML under the roots into p. Never fails for what the
 * host lacks (that is in p); VEIL_E_NOMEM or VEIL_E_USAGE only. */
VEIL_MUST_CHECK veil_err hc_gpu_probe_run(const veil_hc_roots *roots, hc_gpu_probe *p);

#endif

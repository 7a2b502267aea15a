/*
 * nvml_abi.h - the part of NVIDIA's nvml.h the GPU attester calls.
 *
 * Veil must build and run where no NVIDIA software is installed, so it does
 * not include nvml.h or link libnvidia-ml: the library is opened with
 * dlopen and these declarations say what its symbols are. Types, constants
 * and layouts are nvml.h's (Confidential Computing section, driver 535+),
 * pinned below with static assertions on the sizes and offsets nvml.h
 * implies; the fake library of the tests (tests/fixtures/fake_nvml.c)
 * declares its own copy from nvml.h, not this one.
 */
#ifndef VEIL_ATTESTER_NVML_ABI_H
#define VEIL_ATTESTER_NVML_ABI_H

#include <stddef.h>

/* The struct and enum tags are nvml.h's, not only the layouts: a checked
 * indirect call (clang -fsanitize=function) compares the callee's type with
 * the pointer's, tags included. */
typedef enum nvmlReturn_enum {
	NVML_OK = 0,                       /* NVML_SUCCESS; other values are only ever printed */
} nvml_return;                             /* nvmlReturn_t */
typedef struct nvmlDevice_st *nvml_device; /* nvmlDevice_t */

/* nvmlDeviceArchitecture_t */
#define NVML_ARCH_KEPLER    2
#define NVML_ARCH_MAXWELL   3
#define NVML_ARCH_PASCAL    4
#define NVML_ARCH_VOLTA     5
#define NVML_ARCH_TURING    6
#define NVML_ARCH_AMPERE    7
#define NVML_ARCH_ADA       8
#define NVML_ARCH_HOPPER    9
#define NVML_ARCH_BLACKWELL 10

/* NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE */
#define NVML_DRIVER_VERSION_BUF 80

/* nvmlConfComputeSystemState_t and its values. */
typedef struct nvmlConfComputeSystemState_st {
	unsigned int environment;  /* NVML_CC_SYSTEM_ENVIRONMENT_* */
	unsigned int ccFeature;    /* NVML_CC_SYSTEM_FEATURE_* */
	unsigned int devToolsMode; /* NVML_CC_SYSTEM_DEVTOOLS_MODE_* */
} nvml_cc_state;
#define NVML_CC_ENV_UNAVAILABLE 0
#define NVML_CC_ENV_SIM         1
#define NVML_CC_ENV_PROD        2
#define NVML_CC_FEATURE_ENABLED 1
#define NVML_CC_DEVTOOLS_ON     1
#define NVML_CC_ACCEPTING_WORK  1 /* NVML_CC_ACCEPTING_CLIENT_REQUESTS_TRUE */

/* nvmlConfComputeGpuAttestationReport_t: the sizes come first; the nonce is
 * the only input. */
#define NVML_CC_NONCE_LEN      0x20   /* NVML_CC_GPU_CEC_NONCE_SIZE */
#define NVML_CC_REPORT_LEN     0x2000 /* NVML_CC_GPU_ATTESTATION_REPORT_SIZE */
#define NVML_CC_CEC_REPORT_LEN 0x1000 /* NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE */
typedef struct nvmlConfComputeGpuAttestationReport_st {
	unsigned int isCecAttestationReportPresent;
	unsigned int attestationReportSize;
	unsigned int cecAttestationReportSize;
	unsigned char nonce[NVML_CC_NONCE_LEN];
	unsigned char attestationReport[NVML_CC_REPORT_LEN];
	unsigned char cecAttestationReport[NVML_CC_CEC_REPORT_LEN];
} nvml_cc_report;

/* nvmlConfComputeGpuCertificate_t: certChain is the device identity chain,
 * attestationCertChain the chain of the key that signs the report. */
#define NVML_CC_CERT_CHAIN_LEN     0x1000 /* NVML_GPU_CERT_CHAIN_SIZE */
#define NVML_CC_ATT_CERT_CHAIN_LEN 0x1400 /* NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE */
typedef struct nvmlConfComputeGpuCertificate_st {
	unsigned int certChainSize;
	unsigned int attestationCertChainSize;
	unsigned char certChain[NVML_CC_CERT_CHAIN_LEN];
	unsigned char attestationCertChain[NVML_CC_ATT_CERT_CHAIN_LEN];
} nvml_cc_cert;

_Static_assert(sizeof(nvml_cc_state) == 12, "nvmlConfComputeSystemState_t");
_Static_assert(offsetof(nvml_cc_report, nonce) == 12, "nonce follows three sizes");
_Static_assert(sizeof(nvml_cc_report) == 12 + 0x20 + 0x2000 + 0x1000, "attestation report");
_Static_assert(offsetof(nvml_cc_cert, attestationCertChain) == 8 + 0x1000, "certificate");
_Static_assert(sizeof(nvml_cc_cert) == 8 + 0x1000 + 0x1400, "certificate size");

/* The entry points, resolved with dlsym (nvml.h prototypes). */
typedef struct nvml_api {
	void *lib;
	nvml_return (*init)(void); /* nvmlInit_v2 */
	nvml_return (*shutdown)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*driver_version)(char *version, unsigned int length);
	nvml_return (*count)(unsigned int *count);                   /* nvmlDeviceGetCount_v2 */
	nvml_return (*handle)(unsigned int index, nvml_device *dev); /* ..ByIndex_v2 */
	nvml_return (*arch)(nvml_device dev, unsigned int *arch);
	nvml_return (*cc_state)(nvml_cc_state *state);
	nvml_return (*ready_state)(unsigned int *accepting);
	nvml_return (*report)(nvml_device dev, nvml_cc_report *report);
	nvml_return (*certificate)(nvml_device dev, nvml_cc_cert *cert);
} nvml_api;

#endif

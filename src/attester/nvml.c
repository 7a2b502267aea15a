/*
 * nvml.c - the GPU attester: every NVIDIA GPU's SPDM report and certificate
 * chain, through NVML loaded at run time.
 *
 * Veil must build and run with no NVIDIA library present, so libnvidia-ml
 * is opened with dlopen when a GPU is to be attested, and every entry point
 * is looked up by name (nvml_abi.h). The calls are those of NVIDIA's own
 * attestation SDK (nvtrust): nvmlInit_v2, the driver version, the device
 * count, the system's confidential-computing state (nvmlSystemGet-
 * ConfComputeState) and ready state, then per GPU its architecture, its
 * attestation report (nvmlDeviceGetConfComputeGpuAttestationReport: our
 * 32-byte nonce goes in, the SPDM GET_MEASUREMENTS request and signed
 * response come out) and its certificate chain (nvmlDeviceGetConfCompute-
 * GpuCertificate: attestationCertChain, PEM, leaf first).
 *
 * Everything NVML returns is a claim of the driver, checked before use:
 * each size against the buffer NVML wrote into (and Veil's caps), the report
 * against the SPDM parser with our nonce in its request, the chain for
 * embedded NULs. CC off is an error (a GPU outside CC mode gives no
 * reports); DEVTOOLS mode and "not ready" are reported, not refused, since
 * they are policy and the ready flag is normally set after attestation.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attester/attester_internal.h"
#include "attester/nvml_abi.h"
#include "veil/limits.h"

#define NVML_DEFAULT_LIB "libnvidia-ml.so.1"

_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "POSIX dlsym: code pointers fit");

static const struct {
	const char *name;
	size_t offset;
} nvml_symbols[] = {
    {"nvmlInit_v2", offsetof(nvml_api, init)},
    {"nvmlShutdown", offsetof(nvml_api, shutdown)},
    {"nvmlErrorString", offsetof(nvml_api, error_string)},
    {"nvmlSystemGetDriverVersion", offsetof(nvml_api, driver_version)},
    {"nvmlDeviceGetCount_v2", offsetof(nvml_api, count)},
    {"nvmlDeviceGetHandleByIndex_v2", offsetof(nvml_api, handle)},
    {"nvmlDeviceGetArchitecture", offsetof(nvml_api, arch)},
    {"nvmlSystemGetConfComputeState", offsetof(nvml_api, cc_state)},
    {"nvmlSystemGetConfComputeGpusReadyState", offsetof(nvml_api, ready_state)},
    {"nvmlDeviceGetConfComputeGpuAttestationReport", offsetof(nvml_api, report)},
    {"nvmlDeviceGetConfComputeGpuCertificate", offsetof(nvml_api, certificate)},
};

static const char *const arch_names[] = {
    [NVML_ARCH_KEPLER] = "kepler",
    [NVML_ARCH_MAXWELL] = "maxwell",
    [NVML_ARCH_PASCAL] = "pascal",
    [NVML_ARCH_VOLTA] = "volta",
    [NVML_ARCH_TURING] = "turing",
    [NVML_ARCH_AMPERE] = "ampere",
    [NVML_ARCH_ADA] = "ada",
    [NVML_ARCH_HOPPER] = "hopper",
    [NVML_ARCH_BLACKWELL] = "blackwell",
};

static veil_err nvml_load(nvml_api *api, const char *lib)
{
	memset(api, 0, sizeof *api);
	api->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (api->lib == NULL) {
		const char *why = dlerror();
		return veil_fail(VEIL_E_NOT_FOUND,
				 "NVML: cannot load %s (%s); GPU attestation needs the NVIDIA "
				 "driver installed in this guest",
				 lib, why != NULL ? why : "unknown reason");
	}
	for (size_t i = 0; i < sizeof nvml_symbols / sizeof nvml_symbols[0]; i++) {
		void *sym = dlsym(api->lib, nvml_symbols[i].name);
		if (sym == NULL) {
			dlclose(api->lib);
			api->lib = NULL;
			return veil_fail(VEIL_E_UNSUPPORTED,
					 "NVML: %s has no %s; confidential-computing attestation "
					 "needs driver 535 or later",
					 lib, nvml_symbols[i].name);
		}
		memcpy((char *)api + nvml_symbols[i].offset, &sym, sizeof sym);
	}
	return VEIL_OK;
}

static const char *nvml_why(const nvml_api *api, nvml_return rc)
{
	const char *s = api->error_string(rc);
	return s != NULL ? s : "unknown NVML error";
}

#define NVML_TRY(api, call, ...)                                                                   \
	do {                                                                                       \
		nvml_return rc_ = (call);                                                          \
		if (rc_ != NVML_OK) {                                                              \
			char what_[128];                                                           \
			snprintf(what_, sizeof what_, __VA_ARGS__);                                \
			return veil_fail(VEIL_E_IO, "NVML: %s failed: %s (error %d)", what_,       \
					 nvml_why((api), rc_), rc_);                               \
		}                                                                                  \
	} while (0)

/* The system-wide state every GPU's evidence carries. */
static veil_err system_state(const nvml_api *api, veil_gpu_evidence *proto, unsigned *count)
{
	char version[NVML_DRIVER_VERSION_BUF + 1] = "";
	nvml_cc_state cc = {0};
	unsigned int accepting = 0;

	NVML_TRY(api, api->driver_version(version, NVML_DRIVER_VERSION_BUF),
		 "nvmlSystemGetDriverVersion");
	size_t n = strnlen(version, NVML_DRIVER_VERSION_BUF);
	ENSURE(n > 0 && n < sizeof proto->driver_version, VEIL_E_LIMIT,
	       "NVML: the driver version is empty or longer than %zu characters",
	       sizeof proto->driver_version - 1);
	memcpy(proto->driver_version, version, n);
	NVML_TRY(api, api->count(count), "nvmlDeviceGetCount_v2");
	ENSURE(*count > 0, VEIL_E_NOT_FOUND, "NVML: no NVIDIA GPU in this guest");
	ENSURE(*count <= VEIL_ATTEST_GPUS_MAX, VEIL_E_LIMIT,
	       "NVML: %u GPUs, more than the %d Veil attests at once", *count,
	       VEIL_ATTEST_GPUS_MAX);
	NVML_TRY(api, api->cc_state(&cc), "nvmlSystemGetConfComputeState");
	ENSURE(cc.ccFeature == NVML_CC_FEATURE_ENABLED, VEIL_E_UNSUPPORTED,
	       "GPU 0 is not in confidential-computing mode; attestation reports need CC on "
	       "(NVML: CC feature %u)",
	       cc.ccFeature);
	NVML_TRY(api, api->ready_state(&accepting), "nvmlSystemGetConfComputeGpusReadyState");
	proto->cc_on = true;
	proto->devtools = cc.devToolsMode == NVML_CC_DEVTOOLS_ON;
	proto->ready = accepting == NVML_CC_ACCEPTING_WORK;
	snprintf(proto->cc_environment, sizeof proto->cc_environment, "%s",
		 cc.environment == NVML_CC_ENV_PROD  ? "prod"
		 : cc.environment == NVML_CC_ENV_SIM ? "sim"
						     : "none");
	return VEIL_OK;
}

static veil_err gpu_report(const nvml_api *api, nvml_device dev, unsigned i,
			   const uint8_t nonce[32], veil_gpu_evidence *g)
{
	nvml_cc_report *rep = calloc(1, sizeof *rep);
	veil_err err = VEIL_OK;

	ENSURE(rep != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(rep->nonce, nonce, NVML_CC_NONCE_LEN);
	nvml_return rc = api->report(dev, rep);
	CHECK_THAT(rc == NVML_OK, VEIL_E_IO,
		   "NVML: nvmlDeviceGetConfComputeGpuAttestationReport (GPU %u) failed: %s "
		   "(error %d)",
		   i, nvml_why(api, rc), rc);
	unsigned size = rep->attestationReportSize;
	CHECK_THAT(
	    size > 0 && size <= sizeof rep->attestationReport && size <= VEIL_EVIDENCE_MAX_BYTES,
	    VEIL_E_LIMIT, "NVML: GPU %u's attestation report size is %u; the buffer holds %zu", i,
	    size, sizeof rep->attestationReport);
	g->report = malloc(size);
	CHECK_THAT(g->report != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(g->report, rep->attestationReport, size);
	g->report_len = size;
	err = attest_check_binding("nvidia", g->report, g->report_len, nonce, 32);
	if (err != VEIL_OK)
		err = veil_fail_context(err, "NVML: GPU %u", i);
out:
	free(rep);
	return err;
}

static veil_err gpu_chain(const nvml_api *api, nvml_device dev, unsigned i, veil_gpu_evidence *g)
{
	nvml_cc_cert *cert = calloc(1, sizeof *cert);
	veil_err err = VEIL_OK;

	ENSURE(cert != NULL, VEIL_E_NOMEM, "out of memory");
	nvml_return rc = api->certificate(dev, cert);
	CHECK_THAT(rc == NVML_OK, VEIL_E_IO,
		   "NVML: nvmlDeviceGetConfComputeGpuCertificate (GPU %u) failed: %s (error %d)", i,
		   nvml_why(api, rc), rc);
	size_t size = cert->attestationCertChainSize;
	CHECK_THAT(size <= sizeof cert->attestationCertChain, VEIL_E_LIMIT,
		   "NVML: GPU %u's certificate chain size is %zu; the buffer holds %zu", i, size,
		   sizeof cert->attestationCertChain);
	while (size > 0 && cert->attestationCertChain[size - 1] == 0)
		size--; /* a terminating NUL some drivers count */
	CHECK_THAT(size > 0, VEIL_E_MALFORMED, "NVML: GPU %u returned an empty certificate chain",
		   i);
	CHECK_THAT(memchr(cert->attestationCertChain, 0, size) == NULL, VEIL_E_MALFORMED,
		   "NVML: GPU %u's certificate chain is not PEM text (it holds a NUL byte)", i);
	g->cert_chain_pem = malloc(size + 1);
	CHECK_THAT(g->cert_chain_pem != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(g->cert_chain_pem, cert->attestationCertChain, size);
	g->cert_chain_pem[size] = 0;
out:
	free(cert);
	return err;
}

static veil_err gpu_one(const nvml_api *api, unsigned i, const uint8_t nonce[32],
			veil_gpu_evidence *g)
{
	nvml_device dev = NULL;
	unsigned int arch = 0;

	NVML_TRY(api, api->handle(i, &dev), "nvmlDeviceGetHandleByIndex_v2 (GPU %u)", i);
	NVML_TRY(api, api->arch(dev, &arch), "nvmlDeviceGetArchitecture (GPU %u)", i);
	g->index = i;
	if (arch < sizeof arch_names / sizeof arch_names[0] && arch_names[arch] != NULL)
		snprintf(g->arch, sizeof g->arch, "%s", arch_names[arch]);
	else
		snprintf(g->arch, sizeof g->arch, "arch-%u", arch);
	TRY(gpu_report(api, dev, i, nonce, g));
	TRY(gpu_chain(api, dev, i, g));
	return VEIL_OK;
}

static veil_err gpus_collect(const nvml_api *api, const uint8_t nonce[32], veil_gpu_evidence **out,
			     size_t *count)
{
	veil_gpu_evidence proto = {0};
	veil_gpu_evidence *list = NULL;
	unsigned n = 0;
	veil_err err = VEIL_OK;

	TRY(system_state(api, &proto, &n));
	list = calloc(n, sizeof *list);
	ENSURE(list != NULL, VEIL_E_NOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		list[i] = proto;
		CHECK(gpu_one(api, i, nonce, &list[i]));
	}
	*out = list;
	*count = n;
	list = NULL;
out:
	veil_gpu_evidence_free(list, n);
	return err;
}

veil_err veil_attest_gpus(const veil_attest_env *env, const uint8_t nonce[32],
			  veil_gpu_evidence **out, size_t *count)
{
	nvml_api api;
	veil_err err;

	ENSURE(out != NULL && count != NULL && nonce != NULL, VEIL_E_USAGE,
	       "veil_attest_gpus: nonce and outputs are required");
	*out = NULL;
	*count = 0;
	veil_err_clear();
	const char *lib =
	    env != NULL && env->nvml_library != NULL ? env->nvml_library : NVML_DEFAULT_LIB;
	TRY(nvml_load(&api, lib));
	nvml_return rc = api.init();
	if (rc != NVML_OK) {
		err = veil_fail(VEIL_E_IO, "NVML: nvmlInit_v2 failed: %s (error %d)",
				nvml_why(&api, rc), rc);
	} else {
		err = gpus_collect(&api, nonce, out, count);
		api.shutdown();
	}
	dlclose(api.lib);
	return err;
}

void veil_gpu_evidence_free(veil_gpu_evidence *list, size_t count)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		free(list[i].report);
		free(list[i].cert_chain_pem);
	}
	free(list);
}

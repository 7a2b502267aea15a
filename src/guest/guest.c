/*
 * guest.c - a worker's view of its own TEE: the configuration, decided once
 * at open, and the start-up check (docs/guest.md).
 *
 * Opening decides everything that must not change while the worker runs:
 * which TEE ("sim" only when named: attester.h never falls back to it),
 * the sim launch measurement (the workload files as they are at start, as
 * hardware measures the image it launched), which GPUs, and the init-data
 * the VM was launched with. It touches no hardware device: a worker may
 * open its guest before it has the privileges or the devices, and the first
 * evidence (usually veil_guest_check) says what is missing.
 *
 * The check is fail-closed: a TEE that cannot make evidence, a GPU outside
 * CC mode or in DEVTOOLS mode, or a configured GPU that cannot make a
 * report stops the worker before it asks for any key, with a message that
 * names the GPU and the state. A broker's policy would refuse such evidence
 * anyway; the check makes the operator see why at start, not as a 403.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/guest_internal.h"
#include "veil/kbs.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define NVML_DEFAULT_LIB "libnvidia-ml.so.1"

static bool one_of(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

guest_gpus guest_gpus_probe(const veil_attest_env *env)
{
	const char *lib =
	    env != NULL && env->nvml_library != NULL ? env->nvml_library : NVML_DEFAULT_LIB;
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);

	/* No library: no NVIDIA driver in this guest, so no GPU the workload
	 * could use. A library that loads means the driver is here, and from
	 * then on every GPU failure is an error, never "no GPUs". */
	if (h == NULL)
		return GUEST_GPUS_NONE;
	dlclose(h);
	return GUEST_GPUS_NVML;
}

veil_err guest_gpu_state_check(const char *name, bool nvidia, bool cc_on, bool devtools,
			       const char *cc_environment)
{
	/* NVIDIA Confidential Computing deployment guide: only CC mode "on"
	 * protects the workload; DEVTOOLS mode lets debuggers and profilers
	 * see GPU memory; the "prod" environment is what appraisal requires
	 * of NVIDIA GPUs (docs/appraisal.md "gpu"). */
	ENSURE(cc_on, VEIL_E_VERIFY,
	       "%s: CC mode is off; the GPU must run in confidential-computing mode (nvidia-smi "
	       "conf-compute) before the worker starts",
	       name);
	ENSURE(!devtools, VEIL_E_VERIFY,
	       "%s: DEVTOOLS mode is on, which lets debuggers read GPU memory; switch the GPU "
	       "to CC mode \"on\"",
	       name);
	ENSURE(!nvidia || strcmp(cc_environment, "prod") == 0, VEIL_E_VERIFY,
	       "%s: the CC environment is \"%.8s\", not \"prod\"", name, cc_environment);
	return VEIL_OK;
}

static veil_err config_check(const veil_guest_config *c, const char *tee, const char *backend,
			     const char *gpus)
{
	static const char *const tees[] = {"sim", "auto", "snp", "tdx", NULL};
	static const char *const backends[] = {"auto", "configfs-tsm", "sev-guest", "tdx-guest",
					       NULL};
	static const char *const gpu_modes[] = {"none", "sim", "nvml", "auto", NULL};
	bool sim = strcmp(tee, "sim") == 0;

	ENSURE(one_of(tee, tees), VEIL_E_USAGE, "guest tee \"%.16s\": use sim, auto, snp or tdx",
	       tee);
	ENSURE(one_of(backend, backends), VEIL_E_USAGE,
	       "guest backend \"%.16s\": use auto, configfs-tsm, sev-guest or tdx-guest", backend);
	ENSURE(one_of(gpus, gpu_modes), VEIL_E_USAGE,
	       "guest gpus \"%.16s\": use none, sim, nvml or auto", gpus);
	ENSURE(!sim || strcmp(backend, "auto") == 0, VEIL_E_USAGE,
	       "guest backend \"%s\" is for hardware; the sim TEE uses none", backend);
	ENSURE(!sim || (c->sim_dir != NULL && c->sim_dir[0] != '\0'), VEIL_E_USAGE,
	       "the sim TEE needs sim_dir, a platform made by `veil sim init DIR`");
	ENSURE(sim || c->sim_dir == NULL, VEIL_E_USAGE, "sim_dir is for the sim TEE; tee is \"%s\"",
	       tee);
	ENSURE(sim || c->n_workload == 0, VEIL_E_USAGE,
	       "workload files apply to the sim TEE only (hardware measures the launch itself)");
	ENSURE(sim || strcmp(gpus, "sim") != 0, VEIL_E_USAGE,
	       "sim GPUs belong to a sim platform; tee is \"%s\"", tee);
	ENSURE(c->n_workload == 0 || c->workload != NULL, VEIL_E_USAGE,
	       "n_workload is %zu but workload is NULL", c->n_workload);
	ENSURE(c->n_workload <= VEIL_SIM_WORKLOAD_FILES_MAX, VEIL_E_LIMIT,
	       "at most %d workload files", VEIL_SIM_WORKLOAD_FILES_MAX);
	return VEIL_OK;
}

static veil_err env_copy(veil_attest_env *dst, const veil_attest_env *src)
{
	const char *const *from[] = {&src->tsm_root, &src->sev_guest_dev, &src->tdx_guest_dev,
				     &src->nvml_library};
	const char **to[] = {&dst->tsm_root, &dst->sev_guest_dev, &dst->tdx_guest_dev,
			     &dst->nvml_library};

	dst->sys = src->sys;
	for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
		if (*from[i] == NULL)
			continue;
		*to[i] = strdup(*from[i]);
		ENSURE(*to[i] != NULL, VEIL_E_NOMEM, "out of memory");
	}
	return VEIL_OK;
}

/* The init-data: validated and digested now, so that a bad document stops
 * the worker at start and not at its first key request. */
static veil_err init_data_set(veil_guest *g, const char *text)
{
	uint8_t digest[64];
	size_t n = strlen(text), digest_len = 0;

	json_t *probe;

	TRY(veil_kbs_initdata_digest(text, n, digest, &digest_len));
	/* The attest request carries it as a JSON string. */
	probe = json_stringn(text, n);
	ENSURE(probe != NULL, VEIL_E_MALFORMED, "the init-data is not UTF-8 text");
	json_decref(probe);
	/* HOST_DATA is 32 bytes: a longer digest is truncated, as the host
	 * side and Trustee's verifier (regularize_data) both fit it. */
	memcpy(g->host_data, digest, digest_len < 32 ? digest_len : 32);
	g->init_data = malloc(n + 1);
	ENSURE(g->init_data != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(g->init_data, text, n + 1);
	g->init_data_len = n;
	return VEIL_OK;
}

static veil_err sim_open(veil_guest *g, const veil_guest_config *c, const char *gpus)
{
	const char *self[] = {"/proc/self/exe"};

	TRY(veil_sim_open(c->sim_dir, &g->sim));
	TRY(veil_sim_measure(c->n_workload > 0 ? c->workload : self,
			     c->n_workload > 0 ? c->n_workload : 1, g->measurement));
	if (strcmp(gpus, "auto") == 0)
		g->gpus = veil_sim_gpu_count(g->sim) > 0 ? GUEST_GPUS_SIM : GUEST_GPUS_NONE;
	else if (strcmp(gpus, "sim") == 0)
		g->gpus = GUEST_GPUS_SIM;
	ENSURE(g->gpus != GUEST_GPUS_SIM || veil_sim_gpu_count(g->sim) > 0, VEIL_E_NOT_FOUND,
	       "sim: the platform has no GPUs (veil sim init --gpus N)");
	return VEIL_OK;
}

veil_err veil_guest_open(const veil_guest_config *c, veil_guest **out)
{
	veil_guest *g;
	const char *tee, *backend, *gpus;
	veil_err err;

	ENSURE(c != NULL && out != NULL, VEIL_E_USAGE, "veil_guest_open: config and out needed");
	*out = NULL;
	tee = c->tee != NULL ? c->tee : "auto";
	backend = c->backend != NULL ? c->backend : "auto";
	gpus = c->gpus != NULL ? c->gpus : "auto";
	TRY(config_check(c, tee, backend, gpus));
	g = calloc(1, sizeof *g);
	ENSURE(g != NULL, VEIL_E_NOMEM, "out of memory");
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		free(g);
		return veil_fail(VEIL_E_NOMEM, "cannot make a lock");
	}
	for (int i = 0; i < 4; i++)
		if (strcmp(tee, guest_tee_names[i]) == 0)
			atomic_init(&g->tee, i);
	snprintf(g->backend, sizeof g->backend, "%s", strcmp(tee, "sim") == 0 ? "sim" : backend);
	g->gpus = strcmp(gpus, "nvml") == 0 ? GUEST_GPUS_NVML : GUEST_GPUS_NONE;
	if (c->env != NULL)
		CHECK(env_copy(&g->env, c->env));
	if (c->init_data != NULL)
		CHECK(init_data_set(g, c->init_data));
	if (strcmp(tee, "sim") == 0)
		CHECK(sim_open(g, c, gpus));
	else if (strcmp(gpus, "auto") == 0)
		g->gpus = guest_gpus_probe(&g->env);
	*out = g;
	return VEIL_OK;
out:
	veil_guest_free(g);
	return err;
}

void veil_guest_free(veil_guest *g)
{
	if (g == NULL)
		return;
	veil_sim_free(g->sim);
	free((char *)g->env.tsm_root);
	free((char *)g->env.sev_guest_dev);
	free((char *)g->env.tdx_guest_dev);
	free((char *)g->env.nvml_library);
	/* The init-data is not secret, but it is the VM's configuration:
	 * wiped like everything a worker was launched with. */
	veil_free_secret(g->init_data, g->init_data_len + (g->init_data != NULL ? 1 : 0));
	pthread_mutex_destroy(&g->lock);
	free(g);
}

const char *const guest_tee_names[4] = {"auto", "sim", "snp", "tdx"};

const char *veil_guest_tee(const veil_guest *g)
{
	return guest_tee_names[atomic_load(&g->tee)];
}

const char *veil_guest_gpus(const veil_guest *g)
{
	static const char *const names[] = {"none", "sim", "nvml"};
	return names[g->gpus];
}

veil_err veil_guest_check(veil_guest *g)
{
	static const uint8_t zero_rd[64], zero_nonce[32];
	veil_cpu_evidence ev = {0};
	guest_gpu *gpus = NULL;
	size_t n = 0;
	veil_err err;

	ENSURE(g != NULL, VEIL_E_USAGE, "veil_guest_check: no guest");
	veil_err_clear();
	/* A throwaway report proves the TEE answers (and pins which one); it
	 * binds nothing, so REPORT_DATA zero is fine. */
	err = guest_cpu_evidence(g, zero_rd, &ev);
	veil_cpu_evidence_clear(&ev);
	if (err != VEIL_OK)
		return veil_fail_context(err, "TEE");
	TRY(guest_gpus_collect(g, zero_nonce, &gpus, &n));
	for (size_t i = 0; i < n; i++) {
		char name[24];
		snprintf(name, sizeof name, "gpu%zu", i);
		err =
		    guest_gpu_state_check(name, strcmp(gpus[i].type, "nvidia") == 0, gpus[i].cc_on,
					  gpus[i].devtools, gpus[i].cc_environment);
		if (err != VEIL_OK)
			break;
	}
	guest_gpus_free(gpus, n);
	return err;
}

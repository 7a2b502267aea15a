/*
 * evidence.c - the guest's evidence: CPU reports, GPU reports, and the
 * evidence bundle that binds them (docs/evidence-bundle.md, docs/guest.md).
 *
 * The binding is the Confidential Containers one (DESIGN.md section 5), and
 * its order matters: the GPU nonce comes from {"nonce", "tee-pubkey"} of the
 * runtime data, the GPUs' reports join the runtime data as
 * "additional-evidence", and only then is the CPU asked for a report whose
 * REPORT_DATA is SHA-384(JCS(runtime data)), so the CPU signature covers the
 * GPU reports as well.
 *
 * The hardware back ends are attester.h's; the sim TEE's are sim.h's. Every
 * report is made under the guest's lock: a TEE answers one guest request at
 * a time anyway (the SEV-SNP and TDX guest drivers serialise them), and the
 * first hardware report pins the TEE and back end that every later one uses.
 */
#include <stdlib.h>
#include <string.h>

#include "guest/guest_internal.h"
#include "veil/bundle.h"
#include "veil/codec.h"
#include "veil/limits.h"
#include "veil/timeutil.h"

/* Base64 of bytes as a new JSON string. */
static json_t *b64_string(const uint8_t *p, size_t n)
{
	char *s = malloc(veil_base64_encoded_len(n) + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	veil_base64_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

static veil_err cpu_locked(veil_guest *g, const uint8_t rd[64], veil_cpu_evidence *out)
{
	int tee = atomic_load(&g->tee);

	if (tee == GUEST_TEE_SIM) {
		snprintf(out->tee, sizeof out->tee, "sim");
		snprintf(out->backend, sizeof out->backend, "sim");
		/* A host launching the guest with init-data puts its digest in
		 * HOST_DATA (docs/kbs.md "Init-data"); the sim guest plays that
		 * host too, else platform.json's host_data stands. */
		if (g->init_data != NULL)
			return veil_sim_attest_host_data(g->sim, g->measurement, g->host_data, rd,
							 veil_time_now(), &out->report,
							 &out->report_len);
		return veil_sim_attest(g->sim, g->measurement, rd, veil_time_now(), &out->report,
				       &out->report_len);
	}
	TRY(veil_attest_cpu(&g->env, g->backend, guest_tee_names[tee], rd, out));
	/* From now on this TEE and this back end, and no other: a guest does
	 * not change TEE, and "auto" must not find another device later. */
	if (tee == GUEST_TEE_AUTO)
		atomic_store(&g->tee, strcmp(out->tee, "snp") == 0 ? GUEST_TEE_SNP : GUEST_TEE_TDX);
	snprintf(g->backend, sizeof g->backend, "%s", out->backend);
	return VEIL_OK;
}

veil_err guest_cpu_evidence(veil_guest *g, const uint8_t rd[64], veil_cpu_evidence *out)
{
	veil_err err;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&g->lock);
	err = cpu_locked(g, rd, out);
	pthread_mutex_unlock(&g->lock);
	if (err != VEIL_OK)
		veil_cpu_evidence_clear(out);
	return err;
}

veil_err guest_tee_resolve(veil_guest *g, const char **tee)
{
	static const uint8_t zero_rd[64];
	veil_cpu_evidence ev;

	if (atomic_load(&g->tee) == GUEST_TEE_AUTO) {
		TRY(guest_cpu_evidence(g, zero_rd, &ev));
		veil_cpu_evidence_clear(&ev);
	}
	*tee = veil_guest_tee(g);
	return VEIL_OK;
}

veil_err veil_guest_report(veil_guest *g, const uint8_t report_data[64], veil_cpu_evidence *out)
{
	ENSURE(g != NULL && report_data != NULL && out != NULL, VEIL_E_USAGE,
	       "veil_guest_report: guest, REPORT_DATA and output needed");
	return guest_cpu_evidence(g, report_data, out);
}

void guest_gpus_free(guest_gpu *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].report);
		free(list[i].chain_pem);
	}
	free(list);
}

static veil_err sim_gpus(const veil_guest *g, const uint8_t nonce[32], guest_gpu *list, size_t *n)
{
	for (unsigned i = 0; i < veil_sim_gpu_count(g->sim); i++) {
		guest_gpu *d = &list[i];
		veil_sim_gpu_state st;
		veil_err err = veil_sim_gpu_attest(g->sim, i, nonce, &d->report, &d->report_len,
						   &d->chain_pem, &st);
		*n = i + 1; /* freed by the caller, also on failure */
		if (err != VEIL_OK)
			return veil_fail_context(err, "gpu%u", i);
		d->type = "sim-gpu";
		d->cc_on = st.cc_on;
		d->devtools = st.devtools;
		d->ready = st.ready;
		snprintf(d->cc_environment, sizeof d->cc_environment, "sim");
	}
	return VEIL_OK;
}

static veil_err nvml_gpus(const veil_guest *g, const uint8_t nonce[32], guest_gpu **list, size_t *n)
{
	veil_gpu_evidence *ev = NULL;
	size_t count = 0;

	TRY(veil_attest_gpus(&g->env, nonce, &ev, &count));
	*list = calloc(count, sizeof **list);
	if (*list == NULL) {
		veil_gpu_evidence_free(ev, count);
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	/* The reports and chains move over; the rest is copied. */
	for (size_t i = 0; i < count; i++) {
		guest_gpu *d = &(*list)[i];
		d->type = "nvidia";
		d->report = ev[i].report;
		d->report_len = ev[i].report_len;
		d->chain_pem = ev[i].cert_chain_pem;
		ev[i].report = NULL;
		ev[i].cert_chain_pem = NULL;
		d->cc_on = ev[i].cc_on;
		d->devtools = ev[i].devtools;
		d->ready = ev[i].ready;
		memcpy(d->cc_environment, ev[i].cc_environment, sizeof d->cc_environment);
		d->cc_environment[sizeof d->cc_environment - 1] = '\0';
	}
	*n = count;
	veil_gpu_evidence_free(ev, count);
	return VEIL_OK;
}

veil_err guest_gpus_collect(veil_guest *g, const uint8_t nonce[32], guest_gpu **out, size_t *n)
{
	guest_gpu *list = NULL;
	size_t count = 0;
	veil_err err = VEIL_OK;

	*out = NULL;
	*n = 0;
	if (g->gpus == GUEST_GPUS_NONE)
		return VEIL_OK;
	pthread_mutex_lock(&g->lock);
	if (g->gpus == GUEST_GPUS_SIM) {
		list = calloc(VEIL_SIM_GPUS_MAX, sizeof *list);
		err = list != NULL ? sim_gpus(g, nonce, list, &count)
				   : veil_fail(VEIL_E_NOMEM, "out of memory");
	} else {
		err = nvml_gpus(g, nonce, &list, &count);
	}
	pthread_mutex_unlock(&g->lock);
	if (err != VEIL_OK) {
		guest_gpus_free(list, count);
		return veil_fail_context(err, "GPU");
	}
	*out = list;
	*n = count;
	return VEIL_OK;
}

veil_err guest_devices_json(const guest_gpu *list, size_t n, json_t **out)
{
	json_t *devs = json_array();

	*out = NULL;
	ENSURE(devs != NULL, VEIL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const guest_gpu *d = &list[i];
		/* "state" is what the driver inside the CVM says; the CPU
		 * report covers it through the runtime data, and appraisal
		 * reads it as the measured software's word. */
		json_t *dev =
		    json_pack("{s:s, s:o, s:o, s:{s:s, s:s, s:b, s:b}}", "type", d->type,
			      "evidence", b64_string(d->report, d->report_len), "certificate",
			      b64_string((const uint8_t *)d->chain_pem, strlen(d->chain_pem)),
			      "state", "cc_mode", d->cc_on ? "on" : "off", "cc_environment",
			      d->cc_environment, "devtools", d->devtools, "ready", d->ready);
		if (dev == NULL || json_array_append_new(devs, dev) != 0) {
			json_decref(devs);
			return veil_fail(VEIL_E_NOMEM, "out of memory");
		}
	}
	*out = devs;
	return VEIL_OK;
}

/* The bundle: CPU report, runtime data, and the SNP certificates the
 * platform handed over (VCEK or VLEK, ASK, ARK) as collateral. */
static veil_err bundle_json(const veil_cpu_evidence *ev, json_t *rt, uint8_t **out, size_t *len)
{
	json_t *doc = NULL, *coll = json_array();
	veil_snp_cert certs[VEIL_SNP_CERTTABLE_MAX];
	size_t n = 0;
	veil_err err = VEIL_OK;
	char *text = NULL;

	ENSURE(coll != NULL, VEIL_E_NOMEM, "out of memory");
	if (ev->certs != NULL)
		CHECK(veil_snp_certtable_parse(ev->certs, ev->certs_len, certs,
					       VEIL_SNP_CERTTABLE_MAX, &n));
	for (size_t i = 0; i < n; i++)
		CHECK_THAT(json_array_append_new(coll, b64_string(certs[i].der, certs[i].len)) == 0,
			   VEIL_E_NOMEM, "out of memory");
	doc = json_pack("{s:i, s:s, s:o, s:O, s:O}", "version", 1, "tee", ev->tee,
			"primary_evidence", b64_string(ev->report, ev->report_len), "runtime_data",
			rt, "collateral", coll);
	CHECK_THAT(doc != NULL, VEIL_E_NOMEM, "out of memory");
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	CHECK_THAT(text != NULL, VEIL_E_NOMEM, "out of memory");
	*len = strlen(text) + 1;
	text[*len - 1] = '\n';
	*out = (uint8_t *)text;
out:
	json_decref(coll);
	json_decref(doc);
	return err;
}

/* The caller's runtime data as the bundle will carry it: a copy, with the
 * GPUs' device entries added when there are GPUs. */
static veil_err runtime_data_with_gpus(veil_guest *g, const json_t *in, json_t **out)
{
	json_t *ae = json_object_get(in, "additional-evidence"), *rt, *devs = NULL;
	guest_gpu *gpus = NULL;
	uint8_t nonce[32];
	size_t n = 0;
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(g->gpus == GUEST_GPUS_NONE || ae == NULL, VEIL_E_USAGE,
	       "runtime data that already carries \"additional-evidence\" cannot take the GPUs' "
	       "evidence");
	/* A string is the KBS protocol's form, bound as it is; anything
	 * else would claim devices this guest did not attest. */
	ENSURE(ae == NULL || json_is_string(ae), VEIL_E_MALFORMED,
	       "the runtime data's \"additional-evidence\", if any, must be a string (the guest "
	       "adds the GPUs' evidence itself)");
	rt = json_deep_copy(in);
	ENSURE(rt != NULL, VEIL_E_NOMEM, "out of memory");
	if (g->gpus != GUEST_GPUS_NONE) {
		CHECK(veil_device_nonce(rt, nonce));
		CHECK(guest_gpus_collect(g, nonce, &gpus, &n));
		CHECK(guest_devices_json(gpus, n, &devs));
		CHECK_THAT(json_object_set_new(rt, "additional-evidence", devs) == 0, VEIL_E_NOMEM,
			   "out of memory");
	}
	*out = rt;
	rt = NULL;
out:
	guest_gpus_free(gpus, n);
	json_decref(rt);
	return err;
}

veil_err veil_guest_bundle(veil_guest *g, const json_t *runtime_data, uint8_t **out, size_t *len)
{
	json_t *rt = NULL;
	veil_cpu_evidence ev = {0};
	uint8_t rd[64];
	veil_err err;

	ENSURE(g != NULL && out != NULL && len != NULL, VEIL_E_USAGE,
	       "veil_guest_bundle: guest and outputs needed");
	*out = NULL;
	*len = 0;
	ENSURE(json_is_object(runtime_data), VEIL_E_USAGE,
	       "the runtime data must be a JSON object");
	veil_err_clear();
	CHECK(runtime_data_with_gpus(g, runtime_data, &rt));
	CHECK(veil_runtime_data_digest(rt, rd));
	CHECK(guest_cpu_evidence(g, rd, &ev));
	CHECK(bundle_json(&ev, rt, out, len));
out:
	veil_cpu_evidence_clear(&ev);
	json_decref(rt);
	return err;
}

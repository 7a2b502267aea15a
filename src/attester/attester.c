/*
 * attester.c - picks the CPU attester back end and reports why none worked.
 *
 * The back ends sit in one table, in the order "auto" tries them:
 * configfs-tsm first (the kernel's common interface since 6.7, the only one
 * that yields a TDX quote, and the one that hands over the host's SNP
 * certificates without a page-size dance), then the SNP guest device, then
 * the TDX guest device, which can only say why there is no quote. "auto"
 * stops at the first that works; when none does, the error lists every back
 * end tried and its reason, so an operator can tell "not a confidential VM"
 * from "permission denied" from "kernel too old". A back end that cannot
 * serve the TEE asked for is not tried. There is no fallback to the
 * simulated TEE here: that is chosen by name, in the CLI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attester/attester_internal.h"
#include "veil/evidence.h"
#include "veil/limits.h"

static const attest_backend *const backends[] = {
    &attest_tsm_backend,
    &attest_sev_guest_backend,
    &attest_tdx_guest_backend,
};
#define BACKEND_COUNT (sizeof backends / sizeof backends[0])

void veil_cpu_evidence_clear(veil_cpu_evidence *e)
{
	if (e == NULL)
		return;
	free(e->report);
	free(e->certs);
	memset(e, 0, sizeof *e);
}

void attest_evidence_label(veil_cpu_evidence *out, attest_tee tee, const char *backend)
{
	snprintf(out->tee, sizeof out->tee, "%s", tee == ATTEST_TEE_TDX ? "tdx" : "snp");
	snprintf(out->backend, sizeof out->backend, "%s", backend);
}

veil_err attest_check_binding(const char *format, const uint8_t *buf, size_t len,
			      const uint8_t *want, size_t want_len)
{
	const veil_evidence_format *fmt = veil_evidence_format_find(format);
	const uint8_t *got = NULL;
	size_t got_len = 0;
	void *ev = NULL;

	ENSURE(fmt != NULL, VEIL_E_UNSUPPORTED, "no '%s' evidence format in this build", format);
	if (fmt->parse(buf, len, &ev) != VEIL_OK)
		return veil_fail_context(
		    VEIL_E_MALFORMED, "the %s evidence the device returned does not parse", format);
	fmt->report_data(ev, &got, &got_len);
	bool same = got_len == want_len && memcmp(got, want, want_len) == 0;
	fmt->free(ev);
	ENSURE(same, VEIL_E_MISMATCH,
	       "the %s evidence the device returned does not carry the %s Veil asked for; "
	       "it answers another request",
	       format, want_len == 64 ? "REPORT_DATA" : "nonce");
	return VEIL_OK;
}

static bool serves(const attest_backend *b, attest_tee want)
{
	return want == ATTEST_TEE_AUTO || (want == ATTEST_TEE_SNP && b->snp) ||
	       (want == ATTEST_TEE_TDX && b->tdx);
}

static veil_err parse_tee(const char *tee, attest_tee *out)
{
	if (strcmp(tee, "auto") == 0)
		*out = ATTEST_TEE_AUTO;
	else if (strcmp(tee, "snp") == 0)
		*out = ATTEST_TEE_SNP;
	else if (strcmp(tee, "tdx") == 0)
		*out = ATTEST_TEE_TDX;
	else
		return veil_fail(VEIL_E_USAGE, "unknown TEE '%.32s' (auto, snp or tdx)", tee);
	return VEIL_OK;
}

static const attest_backend *backend_find(const char *name)
{
	for (size_t i = 0; i < BACKEND_COUNT; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

static veil_err attest_one(const attest_backend *b, const veil_attest_env *env, attest_tee want,
			   const uint8_t rd[64], veil_cpu_evidence *out)
{
	veil_err err = b->get(env, want, rd, out);

	if (err != VEIL_OK)
		veil_cpu_evidence_clear(out);
	return err;
}

/* Tries every back end that can serve `want`, in table order. */
static veil_err attest_auto(const veil_attest_env *env, attest_tee want, const uint8_t rd[64],
			    veil_cpu_evidence *out)
{
	char summary[VEIL_ERR_DETAIL_MAX] = "";
	size_t used = 0;
	veil_err first_real = VEIL_OK;

	for (size_t i = 0; i < BACKEND_COUNT; i++) {
		const attest_backend *b = backends[i];
		if (!serves(b, want))
			continue;
		veil_err_clear();
		veil_err err = attest_one(b, env, want, rd, out);
		if (err == VEIL_OK)
			return VEIL_OK;
		int n = snprintf(summary + used, sizeof summary - used, "%s%s: %s",
				 used > 0 ? "; " : "", b->name, veil_err_detail());
		if (n > 0)
			used += (size_t)n < sizeof summary - used ? (size_t)n
								  : sizeof summary - used - 1;
		/* "Not here" is the expected answer from most back ends; any
		 * other failure is the one worth returning. */
		if (err != VEIL_E_NOT_FOUND && first_real == VEIL_OK)
			first_real = err;
	}
	return veil_fail(first_real != VEIL_OK ? first_real : VEIL_E_NOT_FOUND,
			 "no attester back end worked: %s", summary);
}

veil_err veil_attest_cpu(const veil_attest_env *env, const char *backend, const char *tee,
			 const uint8_t report_data[64], veil_cpu_evidence *out)
{
	static const veil_attest_env real_machine;
	attest_tee want = ATTEST_TEE_AUTO;

	ENSURE(out != NULL, VEIL_E_USAGE, "veil_attest_cpu: no output");
	memset(out, 0, sizeof *out);
	ENSURE(backend != NULL && tee != NULL && report_data != NULL, VEIL_E_USAGE,
	       "veil_attest_cpu: back end, TEE and REPORT_DATA are required");
	if (env == NULL)
		env = &real_machine;
	veil_err_clear();
	TRY(parse_tee(tee, &want));
	if (strcmp(backend, "auto") == 0)
		return attest_auto(env, want, report_data, out);

	const attest_backend *b = backend_find(backend);
	ENSURE(b != NULL, VEIL_E_USAGE,
	       "unknown attester back end '%.32s' (auto, configfs-tsm, sev-guest or tdx-guest)",
	       backend);
	ENSURE(serves(b, want), VEIL_E_USAGE, "the %s back end cannot give %s evidence", b->name,
	       tee);
	veil_err err = attest_one(b, env, want, report_data, out);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", b->name);
	return VEIL_OK;
}

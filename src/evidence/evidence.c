/*
 * evidence.c - the format table, detection, and the verify entry point.
 *
 * The only place that lists the evidence formats. Adding a format means
 * adding a module and one line to format_table; nothing else branches on a
 * format's name.
 */
#include <stdlib.h>
#include <string.h>

#include "veil/evidence.h"
#include "veil/secret.h"

static const veil_evidence_format *const format_table[] = {
    &veil_snp_format, &veil_tdx_format, &veil_nvidia_format, &veil_sim_format, &veil_sim_gpu_format,
};

#define FORMAT_COUNT (sizeof format_table / sizeof format_table[0])

struct veil_verifier {
	void *cache[VEIL_TEE_COUNT_];
};

const veil_evidence_format *veil_evidence_format_find(const char *name)
{
	for (size_t i = 0; i < FORMAT_COUNT; i++)
		if (strcmp(format_table[i]->name, name) == 0)
			return format_table[i];
	return NULL;
}

const veil_evidence_format *veil_evidence_detect(const uint8_t *buf, size_t len)
{
	const veil_evidence_format *found = NULL;
	for (size_t i = 0; i < FORMAT_COUNT; i++) {
		if (!format_table[i]->detect(buf, len))
			continue;
		if (found != NULL)
			return NULL; /* ambiguous: make the user say which */
		found = format_table[i];
	}
	return found;
}

veil_err veil_verifier_new(veil_verifier **out)
{
	veil_verifier *v = calloc(1, sizeof *v);
	if (v == NULL)
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	*out = v;
	return VEIL_OK;
}

void veil_verifier_free(veil_verifier *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < FORMAT_COUNT; i++) {
		const veil_evidence_format *f = format_table[i];
		if (v->cache[f->tee] != NULL)
			f->cache_free(v->cache[f->tee]);
	}
	free(v);
}

veil_err veil_evidence_verify(const veil_evidence_format *fmt, const uint8_t *buf, size_t len,
			      const veil_verify_ctx *ctx, const uint8_t *expected_rd,
			      size_t expected_rd_len, veil_checks *checks, void **ev_out)
{
	void *ev = NULL;
	veil_err err;

	if (ev_out != NULL)
		*ev_out = NULL;
	err = fmt->parse(buf, len, &ev);
	if (err != VEIL_OK) {
		/* On success each module records its own parse check, with
		 * what it found (version, body type, trailing bytes). */
		veil_checks_add_err(checks, "parse", err, "");
		return err;
	}

	void **cache = ctx->verifier != NULL ? &ctx->verifier->cache[fmt->tee] : NULL;
	err = fmt->verify(ev, ctx, cache, checks);

	if (expected_rd != NULL) {
		const uint8_t *rd;
		size_t rd_len;
		fmt->report_data(ev, &rd, &rd_len);
		bool same = rd_len == expected_rd_len && veil_ct_equal(rd, expected_rd, rd_len);
		veil_checks_add(
		    checks, "report_data", same, "%s",
		    same ? "equals the expected value"
			 : "differs from the expected value (wrong nonce or key binding)");
		if (!same && err == VEIL_OK)
			err = veil_fail(VEIL_E_MISMATCH,
					"REPORT_DATA differs from the expected value");
	}
	/* Fail closed: whatever the module returned, an incomplete or failed
	 * list of checks is not a pass. */
	if (err == VEIL_OK && !veil_checks_passed(checks)) {
		const veil_check *bad = veil_checks_first_failure(checks);
		err = veil_fail(VEIL_E_VERIFY, "check %s failed",
				bad ? bad->name : "(list overflow)");
	}
	if (ev_out != NULL)
		*ev_out = ev;
	else
		fmt->free(ev);
	return err;
}

/*
 * ear.c - AR4SI trustworthiness values, tiers and the reasons behind them.
 *
 * draft-ietf-rats-ar4si ("Enumeration Encoding") encodes every trustworthiness claim
 * as a signed byte in four tiers: none (-1..1), affirming (2..31 and
 * -2..-32), warning (32..95 and -33..-96) and contraindicated (96..127 and
 * -97..-128). A verifier assigns one value per claim, preferring the
 * contraindicated tier, then warning, then affirming ("Assigning a
 * Trustworthiness Claim value"); appr_raise() does exactly
 * that as the rules run, so the order of the rules does not matter. The
 * status of a submodule is the worst tier of its claims (draft-ietf-rats-ear
 * "ear.status"), and the overall status of an EAR the worst of
 * its submodules, with "none" ranked below warning but above affirming: an
 * EAR where one part made no claim at all is not an affirming one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "appraisal/appraisal_int.h"

static const char *const claim_names[AR_COUNT_] = {
    [AR_INSTANCE] = "instance-identity", [AR_CONFIG] = "configuration",
    [AR_EXECUTABLES] = "executables",    [AR_FILE_SYSTEM] = "file-system",
    [AR_HARDWARE] = "hardware",          [AR_RUNTIME] = "runtime-opaque",
    [AR_STORAGE] = "storage-opaque",     [AR_SOURCED] = "sourced-data",
};

const char *ar_claim_name(ar_claim c)
{
	return (unsigned)c < AR_COUNT_ ? claim_names[c] : "?";
}

int ar_tier(int v)
{
	if (v >= -1 && v <= 1)
		return 0;
	if ((v >= 2 && v <= 31) || (v <= -2 && v >= -32))
		return 1;
	if ((v >= 32 && v <= 95) || (v <= -33 && v >= -96))
		return 2;
	return 3;
}

const char *ar_tier_name(int tier)
{
	static const char *const names[] = {"none", "affirming", "warning", "contraindicated"};
	return tier >= 0 && tier <= 3 ? names[tier] : "none";
}

static void reason_add(appr_sub *s, ar_claim c, int v, const char *why)
{
	json_t *r;

	if (s->reasons == NULL || s->err != VEIL_OK)
		return;
	if (s->reason_count >= VEIL_APPRAISAL_REASONS_MAX) {
		s->reasons_dropped = true;
		return;
	}
	r = json_pack("{s:s, s:i, s:s}", "claim", ar_claim_name(c), "value", v, "why", why);
	if (r == NULL || json_array_append_new(s->reasons, r) != 0) {
		s->err = VEIL_E_NOMEM;
		return;
	}
	s->reason_count++;
}

static void raise_v(appr_sub *s, ar_claim c, int v, bool note, const char *fmt, va_list ap)
    VEIL_PRINTF(5, 0);

static void raise_v(appr_sub *s, ar_claim c, int v, bool note, const char *fmt, va_list ap)
{
	char why[512];
	int had = ar_tier(s->tv[c]), want = ar_tier(v);

	/* A worse tier replaces; within the tier the first value stays, and
	 * a none-tier value (-1, 1) replaces only "no claim" (0). */
	if (want > had || (want == had && want == 0 && s->tv[c] == AR_NO_CLAIM))
		s->tv[c] = v;
	if (!note && (want == 1 || (want == 0 && v == AR_NO_CLAIM)))
		return;
	vsnprintf(why, sizeof why, fmt, ap);
	veil_text_sanitize(why);
	reason_add(s, c, v, why);
}

void appr_raise(appr_sub *s, ar_claim c, int v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	raise_v(s, c, v, false, fmt, ap);
	va_end(ap);
}

void appr_note(appr_sub *s, ar_claim c, int v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	raise_v(s, c, v, true, fmt, ap);
	va_end(ap);
}

int appr_sub_tier(const appr_sub *s)
{
	int worst = 0;

	for (size_t i = 0; i < AR_COUNT_; i++) {
		int t = ar_tier(s->tv[i]);
		if (t > worst)
			worst = t;
	}
	return worst;
}

/* Rank for the overall status: affirming < none < warning < contraindicated. */
static int overall_rank(const char *status)
{
	static const char *const order[] = {"affirming", "none", "warning", "contraindicated"};

	for (int i = 0; i < 4; i++)
		if (status != NULL && strcmp(status, order[i]) == 0)
			return i;
	return 1; /* anything else counts as "none" */
}

const char *veil_ear_status(const json_t *ear)
{
	static const char *const order[] = {"affirming", "none", "warning", "contraindicated"};
	const json_t *submods = json_object_get(ear, "submods");
	const char *name;
	json_t *sub;
	int worst = -1;

	if (!json_is_object(submods) || json_object_size(submods) == 0)
		return "none";
	/* Recomputed from the submodules rather than read from "veil.status",
	 * so a caller holding an EAR it did not build gets the same answer. */
	json_object_foreach((json_t *)submods, name, sub)
	{
		int r = overall_rank(json_string_value(json_object_get(sub, "ear.status")));
		if (r > worst)
			worst = r;
	}
	(void)name;
	return order[worst];
}

/*
 * ear_summary.c - an EAR in one line an operator can act on: each
 * submodule's status and, for those not affirming, why, then the
 * appraisal policy. A worker refused by its key broker prints it (from the
 * broker's token, src/guest/refusal.c), and so does a gateway refusing a
 * worker's admission (src/gateway/attest.c).
 *
 * The EAR may come from another party (a broker's token), so every string
 * is cut to a length and the line is stripped of control characters.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "veil/appraisal.h"

#define SUMMARY_NAME_MAX 64
#define SUMMARY_WHY_MAX  240

/* A bounded appender: once out is full, the rest is dropped and the text
 * ends in "...". */
typedef struct text_buf {
	char *p;
	size_t len, used;
	bool full;
} text_buf;

static void text_add(text_buf *t, const char *fmt, ...) VEIL_PRINTF(2, 3);

static void text_add(text_buf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full || t->len < 4)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < t->len - t->used) {
		t->used += (size_t)n;
		return;
	}
	t->full = true;
	t->used = t->len - 1;
	memcpy(t->p + t->len - 4, "...", 4);
}

/* AR4SI tiers (draft-ietf-rats-ar4si): warning and contraindicated are the
 * values that explain a refusal. */
static bool value_explains(json_int_t v)
{
	return v >= 32 || v <= -33;
}

/* One submodule's reasons for not affirming: Veil's "veil.reasons"
 * ({claim, value, why}), else the trustworthiness vector's claims in the
 * warning and contraindicated tiers (an EAR from another broker). */
static void sub_reasons(text_buf *t, const json_t *sub)
{
	const json_t *reasons = json_object_get(sub, "veil.reasons");
	const json_t *r, *v;
	const char *claim;
	bool any = false;
	size_t i;

	json_array_foreach(reasons, i, r)
	{
		const char *c = json_string_value(json_object_get(r, "claim"));
		const char *why = json_string_value(json_object_get(r, "why"));
		json_t *val = json_object_get(r, "value");
		if (c == NULL || why == NULL || !json_is_integer(val) ||
		    !value_explains(json_integer_value(val)))
			continue;
		text_add(t, "%s%.*s: %.*s", any ? "; " : " (", SUMMARY_NAME_MAX, c, SUMMARY_WHY_MAX,
			 why);
		any = true;
	}
	if (!any)
		json_object_foreach((json_t *)json_object_get(sub, "ear.trustworthiness-vector"),
				    claim, v)
		{
			if (!json_is_integer(v) || !value_explains(json_integer_value(v)))
				continue;
			text_add(t, "%s%.*s %lld", any ? ", " : " (", SUMMARY_NAME_MAX, claim,
				 (long long)json_integer_value(v));
			any = true;
		}
	if (any)
		text_add(t, ")");
}

void veil_ear_summary(const json_t *ear, char *out, size_t len)
{
	text_buf t = {.p = out, .len = len};
	json_t *sub;
	const char *name, *policy = NULL;
	bool first = true;

	if (len == 0)
		return;
	out[0] = '\0';
	json_object_foreach((json_t *)json_object_get(ear, "submods"), name, sub)
	{
		const char *status = json_string_value(json_object_get(sub, "ear.status"));
		text_add(&t, "%s%.*s: %.*s", first ? "" : ", ", SUMMARY_NAME_MAX, name, 32,
			 status != NULL ? status : "no status");
		first = false;
		if (status == NULL || strcmp(status, "affirming") != 0)
			sub_reasons(&t, sub);
		if (policy == NULL)
			policy = json_string_value(json_object_get(sub, "ear.appraisal-policy-id"));
	}
	if (!first && policy != NULL)
		text_add(&t, "; appraisal policy %.*s", SUMMARY_NAME_MAX, policy);
	veil_text_sanitize(out);
}

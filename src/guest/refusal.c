/*
 * refusal.c - what a key broker's refusal says, in words an operator can
 * act on (docs/guest.md "Failure messages").
 *
 * A broker answers a refusal with ErrorInformation {"type", "detail"}
 * (docs/kbs-protocol.md section 5); the detail says which step failed. A
 * 403 at the resource says only "not released to this attestation result":
 * the broker keeps its rules to itself (src/kbs/resource.c). The guest
 * holds the EAR token the broker issued at attest, though, and its claims
 * say which submodule was not affirming and why. The token is read here
 * the way CoCo's guest reads it (kbs-protocol.md section 6): the payload
 * decoded, the signature not checked. It is the broker's own statement
 * about this guest, used only for the message; nothing is decided on it.
 *
 * Everything in these messages came from the network: it is cut to a
 * length and stripped of control characters, and the token itself (a
 * bearer credential) never appears.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/guest_internal.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/limits.h"

/* How much of any one string from the broker goes into a message. */
#define REFUSAL_DETAIL_MAX 240
#define REFUSAL_WHY_MAX    240
#define REFUSAL_NAME_MAX   64

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

void guest_broker_detail(const guest_reply *r, char *out, size_t len)
{
	json_t *doc = NULL;
	const char *detail = NULL;
	size_t n;

	if (len == 0)
		return;
	out[0] = '\0';
	if (r->body == NULL || r->body_len == 0)
		return;
	if (veil_json_parse(r->body, r->body_len, &doc) == VEIL_OK)
		detail = json_string_value(json_object_get(doc, "detail"));
	if (detail != NULL) {
		snprintf(out, len, "%.*s", REFUSAL_DETAIL_MAX, detail);
	} else {
		/* Not ErrorInformation (a proxy's page, say): its start. */
		n = r->body_len < REFUSAL_DETAIL_MAX ? r->body_len : REFUSAL_DETAIL_MAX;
		n = n < len - 1 ? n : len - 1;
		memcpy(out, r->body, n);
		out[n] = '\0';
	}
	json_decref(doc);
	veil_text_sanitize(out);
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
		text_add(t, "%s%.*s: %.*s", any ? "; " : " (", REFUSAL_NAME_MAX, c, REFUSAL_WHY_MAX,
			 why);
		any = true;
	}
	if (!any)
		json_object_foreach((json_t *)json_object_get(sub, "ear.trustworthiness-vector"),
				    claim, v)
		{
			if (!json_is_integer(v) || !value_explains(json_integer_value(v)))
				continue;
			text_add(t, "%s%.*s %lld", any ? ", " : " (", REFUSAL_NAME_MAX, claim,
				 (long long)json_integer_value(v));
			any = true;
		}
	if (any)
		text_add(t, ")");
}

/* The claims of a compact JWS, decoded without verifying. */
static json_t *token_payload(const char *token)
{
	const char *a = strchr(token, '.'), *b;
	uint8_t *buf;
	size_t cap, n = 0;
	json_t *doc = NULL;

	if (a == NULL || (b = strchr(a + 1, '.')) == NULL ||
	    strnlen(token, VEIL_JWS_MAX_BYTES + 1) > VEIL_JWS_MAX_BYTES)
		return NULL;
	cap = veil_base64_decoded_max((size_t)(b - a - 1));
	buf = malloc(cap > 0 ? cap : 1);
	if (buf == NULL)
		return NULL;
	if (veil_base64url_decode(a + 1, (size_t)(b - a - 1), buf, cap, &n) != VEIL_OK ||
	    veil_json_parse(buf, n, &doc) != VEIL_OK) {
		json_decref(doc);
		doc = NULL;
	}
	free(buf);
	return doc;
}

void guest_ear_summary(const char *token, char *out, size_t len)
{
	text_buf t = {.p = out, .len = len};
	json_t *claims, *sub;
	const char *name, *policy = NULL;
	bool first = true;

	if (len == 0)
		return;
	out[0] = '\0';
	if (token == NULL || (claims = token_payload(token)) == NULL)
		return;
	json_object_foreach(json_object_get(claims, "submods"), name, sub)
	{
		const char *status = json_string_value(json_object_get(sub, "ear.status"));
		text_add(&t, "%s%.*s: %.*s", first ? "" : ", ", REFUSAL_NAME_MAX, name, 32,
			 status != NULL ? status : "no status");
		first = false;
		if (status == NULL || strcmp(status, "affirming") != 0)
			sub_reasons(&t, sub);
		if (policy == NULL)
			policy = json_string_value(json_object_get(sub, "ear.appraisal-policy-id"));
	}
	if (!first && policy != NULL)
		text_add(&t, "; appraisal policy %.*s", REFUSAL_NAME_MAX, policy);
	json_decref(claims);
	veil_text_sanitize(out);
}

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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/guest_internal.h"
#include "veil/appraisal.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/limits.h"

/* How much of any one string from the broker goes into a message. */
#define REFUSAL_DETAIL_MAX 240

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
	json_t *claims;

	if (len == 0)
		return;
	out[0] = '\0';
	if (token == NULL || (claims = token_payload(token)) == NULL)
		return;
	veil_ear_summary(claims, out, len);
	json_decref(claims);
}

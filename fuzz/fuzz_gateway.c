/*
 * fuzz_gateway.c - veil-gateway's parsers of untrusted input
 * (src/gateway, docs/gateway.md): the join request anyone may post
 * (gw_join_parse), the worker URLs it carries (gw_url_parse), the query of
 * the attestation relay (gw_relay_query_parse), and the cleaning of text
 * that quotes untrusted bytes into log lines and errors (gw_text_clean).
 *
 * The first byte picks the parser; the rest is the input. Beyond "no
 * crash, no leak": an accepted join has an id of the documented alphabet
 * and length (and not "join"), an http:// base URL without a trailing
 * slash that parses again, and a capacity in range; a refused one has an
 * error detail that makes an OpenAI error body (the refusal quotes what
 * was sent, cut at a cap); an accepted URL has a host of host characters
 * and a port, and parses the same when rebuilt from them; an accepted
 * relay query has an id and an even count of 16 to 128 hex digits; cleaned
 * text keeps its length, has no control byte, and is a JSON string.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string, or NULL when it holds a NUL (the callers'
 * strings never do: HTTP headers, queries and JSON strings cannot). */
static char *cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	if (strlen(s) != n) {
		free(s);
		return NULL;
	}
	return s;
}

static bool host_chars(const char *h)
{
	for (; *h != '\0'; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '.' || *h == '-' || *h == ':'))
			return false;
	return true;
}

static void url_case(const uint8_t *p, size_t n)
{
	char *s = cstr(p, n), host[256], again[256], rebuilt[300];
	uint16_t port = 0, port2 = 0;
	bool tls = false, tls2 = false;

	if (s == NULL)
		return;
	if (gw_url_parse(s, host, sizeof host, &port, &tls) == VEIL_OK) {
		if (host[0] == '\0' || !host_chars(host) || port == 0 || strchr(s, '@') != NULL ||
		    strchr(s, '?') != NULL || strchr(s, '#') != NULL ||
		    strncmp(s, tls ? "https://" : "http://", tls ? 8 : 7) != 0)
			abort();
		snprintf(rebuilt, sizeof rebuilt, strchr(host, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
			 tls ? "https" : "http", host, port);
		/* The explicit port may take the rebuilt URL over the cap. */
		if (strlen(rebuilt) < VEIL_GW_URL_MAX &&
		    (gw_url_parse(rebuilt, again, sizeof again, &port2, &tls2) != VEIL_OK ||
		     strcmp(host, again) != 0 || port != port2 || tls != tls2))
			abort();
	}
	veil_err_clear();
	free(s);
}

static void join_case(const uint8_t *p, size_t n)
{
	gw_pending pd;
	char host[256];
	uint16_t port;
	bool tls;

	memset(&pd, 0, sizeof pd);
	if (gw_join_parse(p, n, &pd) == VEIL_OK) {
		size_t idn = strlen(pd.id), un = strlen(pd.url);
		if (idn == 0 || idn > GW_ID_MAX || strcmp(pd.id, "join") == 0 ||
		    strspn(pd.id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789._:-") != idn)
			abort();
		if (un == 0 || pd.url[un - 1] == '/' ||
		    gw_url_parse(pd.url, host, sizeof host, &port, &tls) != VEIL_OK || tls)
			abort();
		if (pd.capacity < 1 || pd.capacity > 1024 || pd.challenge[0] != '\0' ||
		    pd.expires_ms != 0)
			abort();
	} else {
		/* The refusal goes back to the client quoting the input. */
		json_t *e =
		    gw_error_json("invalid_request_error", "bad_join", "%s", veil_err_detail());
		if (e == NULL)
			abort();
		json_decref(e);
	}
	veil_err_clear();
}

static void relay_case(const uint8_t *p, size_t n)
{
	char *s = cstr(p, n), id[GW_ID_MAX + 1], nonce[VEIL_WORKER_NONCE_HEX_MAX + 1];

	if (s == NULL)
		return;
	if (gw_relay_query_parse(s, id, sizeof id, nonce, sizeof nonce)) {
		size_t hl = strlen(nonce);
		/* No nonce asks for the published bundle; a nonce is hex. */
		if (id[0] == '\0' || strchr(id, '&') != NULL ||
		    (hl != 0 && (hl < VEIL_WORKER_NONCE_HEX_MIN || hl > VEIL_WORKER_NONCE_HEX_MAX ||
				 hl % 2 != 0 || strspn(nonce, "0123456789abcdefABCDEF") != hl)))
			abort();
	}
	free(s);
}

static void text_case(const uint8_t *p, size_t n)
{
	char *s = cstr(p, n);
	json_t *j;

	if (s == NULL)
		return;
	gw_text_clean(s);
	if (strlen(s) != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
	j = json_string(s);
	if (j == NULL)
		abort();
	json_decref(j);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		join_case(data + 1, size - 1);
		break;
	case 1:
		url_case(data + 1, size - 1);
		break;
	case 2:
		relay_case(data + 1, size - 1);
		break;
	default:
		text_case(data + 1, size - 1);
		break;
	}
	return 0;
}

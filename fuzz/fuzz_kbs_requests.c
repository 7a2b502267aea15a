/*
 * fuzz_kbs_requests.c - the key broker's request bodies and documents:
 * auth and attest requests, the admin API's policy and reference-value
 * bodies, resource policies, and resource paths.
 *
 * The first byte picks the parser; the rest is the body. Beyond "no crash,
 * no leak": an auth request that parses names a TEE of a handful of known
 * short names, an attest request that parses has a nonce string, a key
 * object, and a string for the additional evidence, a policy body that
 * parses decodes to at most 3/4 of its text, and a resource path that is
 * accepted has exactly three segments and no "..".
 */
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void path_case(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	int slashes = 0;

	if (s == NULL)
		return;
	memcpy(s, p, n);
	s[n] = '\0';
	if (strlen(s) == n && kbs_resource_path_ok(s)) {
		for (size_t i = 0; i < n; i++)
			slashes += s[i] == '/';
		if (slashes != 2 || strstr(s, "..") != NULL || s[0] == '/' || s[n - 1] == '/')
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body = data + 1;
	size_t n = size > 0 ? size - 1 : 0;

	if (size == 0)
		return 0;
	switch (data[0] % 6) {
	case 0: {
		char tee[32];
		if (kbs_auth_request_parse(body, n, tee) == VEIL_OK &&
		    (strlen(tee) == 0 || strlen(tee) > 8))
			abort();
		break;
	}
	case 1: {
		kbs_attest_req a = {0};
		if (kbs_attest_request_parse(body, n, &a) == VEIL_OK &&
		    (a.nonce == NULL || !json_is_object(a.tee_pubkey) ||
		     !json_is_string(a.additional) || a.primary == NULL))
			abort();
		json_decref(a.doc);
		break;
	}
	case 2:
	case 3: {
		uint8_t *doc = NULL;
		size_t len = 0;
		if (kbs_policy_request_parse(body, n, data[0] % 6 == 3, &doc, &len) == VEIL_OK &&
		    (doc == NULL || len > n))
			abort();
		free(doc);
		break;
	}
	case 4: {
		char *name = NULL, *doc = NULL;
		json_t *policy = NULL;
		if (kbs_refvals_request_parse(body, n, &name, &doc) == VEIL_OK &&
		    (name == NULL || doc == NULL))
			abort();
		free(name);
		free(doc);
		/* The same bytes as a resource policy document. */
		if (kbs_policy_parse(body, n, &policy) == VEIL_OK &&
		    !json_is_array(json_object_get(policy, "rules")))
			abort();
		json_decref(policy);
		break;
	}
	default:
		path_case(body, n);
		break;
	}
	return 0;
}

/*
 * fuzz_client_policy.c - client policy parsing (src/client/policy.c,
 * docs/client.md "Policy").
 *
 * A client policy is a file a user is handed, and it embeds two other
 * formats (an appraisal policy, reference values) that are re-serialized
 * and read by their own parsers, plus a JWK. Beyond "no crash, no leak",
 * the properties: a failure leaves no policy and says why; a policy that
 * parses has an appraisal policy with a printable id, a re-verification
 * interval in range, no log key or a public P-256 one, and answers
 * nothing for a missing model, digest or engine.
 */
#include <stdlib.h>
#include <string.h>

#include "veil/client.h"
#include "veil/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_client_policy *p = NULL;
	const veil_jwk *k;
	int64_t s;

	veil_err_clear();
	if (veil_client_policy_parse(data, size, "fuzz", &p) != VEIL_OK) {
		if (p != NULL || veil_err_detail()[0] == '\0')
			abort(); /* no policy on failure, and a reason */
		return 0;
	}
	if (veil_client_policy_appraisal(p) == NULL ||
	    veil_policy_id(veil_client_policy_appraisal(p))[0] == '\0')
		abort();
	s = veil_client_policy_reverify_s(p);
	if (s < 1 || s > VEIL_CLIENT_REVERIFY_MAX)
		abort();
	k = veil_client_policy_log_key(p);
	if (k != NULL && (veil_jwk_type_of(k) != VEIL_JWK_EC_P256 || veil_jwk_is_private(k)))
		abort();
	if (veil_client_policy_model_ok(p, NULL, NULL) || veil_client_policy_model_ok(p, "", "") ||
	    veil_client_policy_engine_ok(p, NULL) || veil_client_policy_engine_ok(p, ""))
		abort();
	veil_client_policy_free(p);
	return 0;
}

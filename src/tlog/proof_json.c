/*
 * proof_json.c - proofs as JSON arrays of base64url strings, the form the
 * gateway's HTTP API serves them in and `veil audit` reads them back
 * (docs/tlog.md "Proofs in JSON").
 *
 * Both ends use this file, so the encoding cannot drift. The parser is
 * strict because the array comes from a gateway the client does not
 * trust: a cap on the count before anything is allocated
 * (VEIL_TLOG_PROOF_MAX), and each hash exactly 43 characters of unpadded
 * base64url that decode to exactly 32 bytes (RFC 4648 section 5; the
 * decoder refuses padding and non-zero trailing bits, so each hash has one
 * spelling).
 */
#include <stdlib.h>
#include <string.h>

#include "veil/codec.h"
#include "veil/tlog.h"

#define HASH_B64_LEN 43 /* unpadded base64url of 32 bytes */

veil_err veil_tlog_proof_json(const veil_tlog_hash *p, size_t n, json_t **out)
{
	char b64[HASH_B64_LEN + 1];
	json_t *arr;

	ENSURE(out != NULL && (p != NULL || n == 0), VEIL_E_USAGE,
	       "veil_tlog_proof_json: NULL argument");
	*out = NULL;
	ENSURE(n <= VEIL_TLOG_PROOF_MAX, VEIL_E_LIMIT,
	       "a proof of %zu hashes is over the cap of %d", n, VEIL_TLOG_PROOF_MAX);
	arr = json_array();
	ENSURE(arr != NULL, VEIL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		veil_base64url_encode(p[i], VEIL_TLOG_HASH_LEN, b64);
		if (json_array_append_new(arr, json_string(b64)) != 0) {
			json_decref(arr);
			return veil_fail(VEIL_E_NOMEM, "out of memory");
		}
	}
	*out = arr;
	return VEIL_OK;
}

veil_err veil_tlog_proof_parse(const json_t *arr, veil_tlog_hash **p, size_t *n)
{
	veil_tlog_hash *hashes = NULL;
	size_t count, got;
	veil_err err = VEIL_OK;

	ENSURE(p != NULL && n != NULL, VEIL_E_USAGE, "veil_tlog_proof_parse: NULL argument");
	*p = NULL;
	*n = 0;
	ENSURE(json_is_array(arr), VEIL_E_MALFORMED, "a proof is not a JSON array");
	count = json_array_size(arr);
	ENSURE(count <= VEIL_TLOG_PROOF_MAX, VEIL_E_LIMIT,
	       "a proof of %zu hashes is over the cap of %d", count, VEIL_TLOG_PROOF_MAX);
	if (count == 0)
		return VEIL_OK;
	hashes = malloc(count * sizeof *hashes);
	ENSURE(hashes != NULL, VEIL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const json_t *v = json_array_get(arr, i);

		CHECK_THAT(json_is_string(v), VEIL_E_MALFORMED, "proof hash %zu is not a string",
			   i);
		CHECK_THAT(json_string_length(v) == HASH_B64_LEN, VEIL_E_MALFORMED,
			   "proof hash %zu is %zu characters, not %d (32 bytes of base64url)", i,
			   json_string_length(v), HASH_B64_LEN);
		err = veil_base64url_decode(json_string_value(v), HASH_B64_LEN, hashes[i],
					    VEIL_TLOG_HASH_LEN, &got);
		if (err != VEIL_OK) {
			err = veil_fail_context(err, "proof hash %zu", i);
			goto out;
		}
		CHECK_THAT(got == VEIL_TLOG_HASH_LEN, VEIL_E_MALFORMED,
			   "proof hash %zu is not 32 bytes", i);
	}
	*p = hashes;
	*n = count;
	hashes = NULL;
out:
	free(hashes);
	return err;
}

/*
 * fuzz_kbs_initdata.c - the key broker's reader of initdata TOML documents
 * (src/kbs/initdata.c), which sees attacker-chosen text at every attest.
 *
 * Beyond "no crash, no leak": a document that is accepted names one of the
 * three algorithms, its digest has that algorithm's length and is the
 * digest of the bytes as given, and the internal reader agrees with the
 * public function on the algorithm.
 */
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t digest[64], want[64];
	size_t len = 0;
	const char *alg = NULL;

	if (veil_kbs_initdata_digest((const char *)data, size, digest, &len) != VEIL_OK)
		return 0;
	if (kbs_initdata_toml_read((const char *)data, size, &alg) != VEIL_OK)
		abort();
	if (strcmp(alg, "sha256") == 0) {
		if (len != 32 || veil_sha256(data, size, want) != VEIL_OK)
			abort();
	} else if (strcmp(alg, "sha384") == 0) {
		if (len != 48 || veil_sha384(data, size, want) != VEIL_OK)
			abort();
	} else if (strcmp(alg, "sha512") != 0 || len != 64 ||
		   veil_sha512(data, size, want) != VEIL_OK) {
		abort();
	}
	if (memcmp(digest, want, len) != 0)
		abort();
	return 0;
}

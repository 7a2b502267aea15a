/*
 * fuzz_jose_util.h - the fixed keys the JOSE fuzz targets share (header-only,
 * static): RFC 7518 appendix C's P-256 key of "Bob" and RFC 8037 appendix
 * A's Ed25519 key, both published test keys.
 *
 * Fixed keys keep every run deterministic, and let the seeds in
 * fuzz/seeds/fuzz_jws/ and fuzz/seeds/fuzz_jwe/ hold tokens signed by, and
 * JWEs encrypted to, these keys: the fuzzer then mutates inputs that get
 * past the signature or the tag as well as ones that do not.
 */
#ifndef VEIL_FUZZ_JOSE_UTIL_H
#define VEIL_FUZZ_JOSE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "veil/jose.h"

static const char fuzz_p256_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ\","
    "\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\","
    "\"d\":\"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw\"}";
static const char fuzz_ed25519_jwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
    "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}";

/* The key parsed from text on first use; a failure here is a bug. */
static inline veil_jwk *fuzz_key(const char *text, veil_jwk **slot)
{
	if (*slot == NULL &&
	    veil_jwk_parse_private_bytes((const uint8_t *)text, strlen(text), slot) != VEIL_OK)
		abort();
	return *slot;
}

#endif

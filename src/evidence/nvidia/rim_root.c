/*
 * rim_root.c - the NVIDIA CoRIM signing Root CA, built in and pinned.
 *
 * Every RIM signing chain (L4 "... RIM L4 Signer" -> L3 "NVIDIA Reference
 * Value L3 <chip> 00x" -> "NVIDIA Reference Value <chip> CA") ends at this
 * certificate: "NVIDIA CoRIM signing Root CA", ECDSA P-384, valid 2023-03-16
 * to 2053-03-08, as shipped by NVIDIA's verifiers (nvtrust
 * verifier/certs/verifier_RIM_root.pem, NVAT RIM_ROOT_CERT). It is checked
 * against its SHA-256 fingerprint when first parsed, so an edit to the text
 * below cannot silently swap the root.
 */
#include <pthread.h>
#include <string.h>

#include "evidence/nvidia/rim.h"
#include "veil/secret.h"
#include "veil/x509.h"

static const char nvidia_corim_root_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICKTCCAbCgAwIBAgIQRdrjoA5QN73fh1N17LXicDAKBggqhkjOPQQDAzBFMQsw\n"
    "CQYDVQQGEwJVUzEPMA0GA1UECgwGTlZJRElBMSUwIwYDVQQDDBxOVklESUEgQ29S\n"
    "SU0gc2lnbmluZyBSb290IENBMCAXDTIzMDMxNjE1MzczNFoYDzIwNTMwMzA4MTUz\n"
    "NzM0WjBFMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGTlZJRElBMSUwIwYDVQQDDBxO\n"
    "VklESUEgQ29SSU0gc2lnbmluZyBSb290IENBMHYwEAYHKoZIzj0CAQYFK4EEACID\n"
    "YgAEuECyi9vNM+Iw2lfUzyBldHAwaC1HF7TCgp12QcEyUTm3Tagxwr48d55+K2VI\n"
    "lWYIDk7NlAIQdcV/Ff7euGLI+Qauj93HsSI4WX298PpW54RTgz9tC+Q684caR/BX\n"
    "WEeZo2MwYTAdBgNVHQ4EFgQUpaXrOPK4ZDAk08DBskn594zeZjAwHwYDVR0jBBgw\n"
    "FoAUpaXrOPK4ZDAk08DBskn594zeZjAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B\n"
    "Af8EBAMCAQYwCgYIKoZIzj0EAwMDZwAwZAIwHGDyscDP6ihHqRvZlI3eqZ4YkvjE\n"
    "1duaN84tAHRVgxVMvNrp5Tnom3idHYGW/dskAjATvjIx6VzHm/4e2GiZAyZEIUBD\n"
    "OKPzp5ei/A0iUZpdvngenDwV8Qa/wGdiTmJ7Bp4=\n"
    "-----END CERTIFICATE-----\n";

/* SHA-256 of the DER encoding. */
static const uint8_t nvidia_corim_root_sha256[32] = {
    0x12, 0x97, 0x7b, 0x51, 0x15, 0xac, 0xb0, 0x38, 0x11, 0x79, 0x27, 0x9f, 0xff, 0xeb, 0x5a, 0x8c,
    0x4d, 0x26, 0x49, 0x71, 0xeb, 0xb3, 0x22, 0x98, 0x02, 0x3a, 0x46, 0x5f, 0xa4, 0x1d, 0xf5, 0xd1,
};

static X509 *corim_root;
static pthread_once_t corim_root_once = PTHREAD_ONCE_INIT;

static void corim_root_load(void)
{
	corim_root = veil_cert_pinned(nvidia_corim_root_pem, nvidia_corim_root_sha256);
}

veil_err rim_root(X509 **out)
{
	ENSURE(out != NULL, VEIL_E_USAGE, "rim_root: no output");
	*out = NULL;
	ENSURE(pthread_once(&corim_root_once, corim_root_load) == 0, VEIL_E_CRYPTO,
	       "cannot load the built-in NVIDIA CoRIM signing root");
	/* NULL only if the built-in text was corrupted. */
	ENSURE(corim_root != NULL, VEIL_E_CRYPTO,
	       "the built-in NVIDIA CoRIM signing root does not match its pinned SHA-256");
	*out = corim_root;
	return VEIL_OK;
}

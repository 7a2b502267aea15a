/*
 * tdx_root.c - the Intel SGX Root CA, built in and pinned.
 *
 * Every TDX trust decision ends at this one certificate: the PCK chain in a
 * quote, the TCB signing chain of TCB Info and QE Identity, and the CRLs.
 * The certificate is the production "Intel SGX Root CA" (ECDSA P-256, valid
 * 2018-05-21 to 2049-12-31) as Intel publishes it; it is checked against
 * its SHA-256 fingerprint when first parsed, so an edit to the text below
 * cannot silently swap the root.
 */
#include <openssl/pem.h>
#include <pthread.h>
#include <string.h>

#include "evidence/tdx/tdx_collateral.h"
#include "veil/secret.h"
#include "veil/x509.h"

static const char intel_sgx_root_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw\n"
    "aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv\n"
    "cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ\n"
    "BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG\n"
    "A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0\n"
    "aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT\n"
    "AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7\n"
    "1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB\n"
    "uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ\n"
    "MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50\n"
    "ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV\n"
    "Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI\n"
    "KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg\n"
    "AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=\n"
    "-----END CERTIFICATE-----\n";

/* SHA-256 of the DER encoding. */
static const uint8_t intel_sgx_root_sha256[32] = {
    0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
    0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3,
};

static X509 *intel_root;
static pthread_once_t intel_root_once = PTHREAD_ONCE_INIT;

static void intel_root_load(void)
{
	intel_root = veil_cert_pinned(intel_sgx_root_pem, intel_sgx_root_sha256);
}

X509 *tdx_intel_root(void)
{
	pthread_once(&intel_root_once, intel_root_load);
	return intel_root; /* NULL only if the built-in text was corrupted */
}

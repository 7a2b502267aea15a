/*
 * nv_cert.c - the NVIDIA device identity root and the FWID in GPU certificates.
 *
 * Every GPU certificate chain (FMC leaf, BROM device certificate, provisioner
 * ICA, "NVIDIA <chip> Identity", root) ends at the "NVIDIA Device Identity
 * CA" (ECDSA P-384, 2021-11-05 to 9999-12-31), built in below and checked
 * against its SHA-256 fingerprint when first parsed.
 *
 * The leaf certificate carries the firmware ID (FWID) of the GPU firmware
 * that holds the attestation key, in a TCG DICE extension:
 *   Hopper:    2.23.133.5.4.1, SEQUENCE { INTEGER version,
 *              SubjectPublicKeyInfo, SEQUENCE { hashAlg OID, digest OCTET
 *              STRING } } (the early DICE attestation layout);
 *   Blackwell: 2.23.133.5.4.1.1, DiceTcbInfo (TCG DICE Attestation
 *              Architecture 1.1 section 6.1.1): fields [0]..[9] IMPLICIT,
 *              fwids = [6] SEQUENCE OF FWID; the first FWID is the one the
 *              report's FWID opaque field repeats.
 * The digest must be SHA-384 (48 bytes), the size of the report's field.
 */
#include <string.h>

#include "evidence/nvidia/nv_verify.h"
#include "veil/der.h"
#include "veil/secret.h"

static const char nvidia_device_root_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw\n"
    "IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE\n"
    "SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM\n"
    "GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG\n"
    "ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX\n"
    "gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB\n"
    "2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B\n"
    "Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY\n"
    "MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3\n"
    "TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+\n"
    "EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=\n"
    "-----END CERTIFICATE-----\n";

static const uint8_t nvidia_device_root_sha256[32] = {
    0x10, 0x2b, 0xf6, 0x59, 0xd5, 0x41, 0x96, 0x14, 0xc9, 0xd8, 0xe6, 0xae, 0xce, 0xbc, 0x80, 0x45,
    0x4e, 0xb2, 0x6b, 0x1d, 0xf6, 0xa7, 0x69, 0xac, 0x72, 0x0b, 0x9a, 0x69, 0x0b, 0x16, 0x7b, 0x48,
};

static X509 *device_root;
static pthread_once_t device_root_once = PTHREAD_ONCE_INIT;

static void device_root_load(void)
{
	device_root = veil_cert_pinned(nvidia_device_root_pem, nvidia_device_root_sha256);
}

X509 *nv_device_root(void)
{
	pthread_once(&device_root_once, device_root_load);
	return device_root; /* NULL only if the built-in text was corrupted */
}

/* FWID ::= SEQUENCE { hashAlg OBJECT IDENTIFIER, digest OCTET STRING } */
static veil_err read_fwid(veil_reader *r, uint8_t fwid[NV_DIGEST_LEN])
{
	veil_reader seq, oid, digest;
	char oid_text[64];

	TRY(veil_der_read(r, VEIL_DER_SEQUENCE, &seq));
	TRY(veil_der_read(&seq, VEIL_DER_OID, &oid));
	TRY(veil_der_oid_text(&oid, oid_text, sizeof oid_text));
	ENSURE(strcmp(oid_text, "2.16.840.1.101.3.4.2.2") == 0, VEIL_E_UNSUPPORTED,
	       "FWID hash algorithm %s is not SHA-384", oid_text);
	TRY(veil_der_read(&seq, VEIL_DER_OCTET_STRING, &digest));
	ENSURE(veil_reader_left(&digest) == NV_DIGEST_LEN, VEIL_E_MALFORMED,
	       "FWID digest has %zu bytes, not 48", veil_reader_left(&digest));
	TRY(veil_reader_copy(&digest, fwid, NV_DIGEST_LEN));
	return veil_reader_end(&seq);
}

static veil_err fwid_hopper(const uint8_t *p, size_t n, uint8_t fwid[NV_DIGEST_LEN])
{
	veil_reader r, seq, skip;
	uint64_t version;

	veil_reader_init(&r, p, n);
	TRY(veil_der_read(&r, VEIL_DER_SEQUENCE, &seq));
	TRY(veil_reader_end(&r));
	TRY(veil_der_read_uint(&seq, VEIL_DER_INTEGER, &version));
	TRY(veil_der_read(&seq, VEIL_DER_SEQUENCE, &skip)); /* the alias key */
	TRY(read_fwid(&seq, fwid));
	return veil_reader_end(&seq);
}

#define DICE_FWIDS_TAG 0xA6 /* [6] IMPLICIT SEQUENCE OF FWID, constructed */

static veil_err fwid_dice_tcb_info(const uint8_t *p, size_t n, uint8_t fwid[NV_DIGEST_LEN])
{
	veil_reader r, seq, field;
	uint8_t tag;

	veil_reader_init(&r, p, n);
	TRY(veil_der_read(&r, VEIL_DER_SEQUENCE, &seq));
	TRY(veil_reader_end(&r));
	while (veil_reader_left(&seq) > 0) {
		TRY(veil_der_read_any(&seq, &tag, &field));
		if (tag == DICE_FWIDS_TAG) {
			ENSURE(veil_reader_left(&field) > 0, VEIL_E_MALFORMED,
			       "DiceTcbInfo lists no FWID");
			return read_fwid(&field, fwid);
		}
	}
	return veil_fail(VEIL_E_NOT_FOUND, "DiceTcbInfo has no fwids field");
}

veil_err nv_cert_fwid(X509 *leaf, uint8_t fwid[NV_DIGEST_LEN])
{
	const uint8_t *p;
	size_t n;
	veil_err err;

	err = veil_cert_ext(leaf, "2.23.133.5.4.1", &p, &n);
	if (err == VEIL_OK) {
		err = fwid_hopper(p, n, fwid);
		return err == VEIL_OK ? VEIL_OK
				      : veil_fail_context(err, "FWID extension 2.23.133.5.4.1");
	}
	if (err != VEIL_E_NOT_FOUND)
		return err;
	err = veil_cert_ext(leaf, "2.23.133.5.4.1.1", &p, &n);
	if (err == VEIL_OK) {
		err = fwid_dice_tcb_info(p, n, fwid);
		return err == VEIL_OK ? VEIL_OK
				      : veil_fail_context(err, "FWID extension 2.23.133.5.4.1.1 "
							       "(DiceTcbInfo)");
	}
	if (err != VEIL_E_NOT_FOUND)
		return err;
	return veil_fail(VEIL_E_NOT_FOUND,
			 "the leaf certificate has no FWID extension (2.23.133.5.4.1 or "
			 "2.23.133.5.4.1.1): is the FMC leaf missing from the chain?");
}

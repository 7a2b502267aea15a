/*
 * sim_attest.c - the simulated platform producing evidence: the launch
 * measurement of a workload, the CPU report, and the GPU reports.
 *
 * The reports are the ones src/evidence/sim/ verifies: a sim report
 * (layout in sim_report.h) signed by the platform key, and for each GPU an
 * SPDM 1.1 GET_MEASUREMENTS transcript in NVIDIA's shape (DSP0274 1.1.0
 * section 10.11; the opaque data fields NVIDIA defines) signed by that GPU's
 * key, so the GPU path of every relying party runs the same parser on sim
 * and real reports.
 */
#include <errno.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/nvidia/nv_report.h"
#include "evidence/sim/sim_report.h"
#include "evidence/sim/sim_trust.h"
#include "sim/sim_internal.h"
#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define SIM_GPU_BLOCKS 8

veil_err veil_sim_measure(const char *const *paths, size_t count, uint8_t out[48])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t buf[64 * 1024];
	unsigned int out_len = 0;
	veil_err err = VEIL_OK;
	FILE *f = NULL;

	ENSURE(md != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK_THAT(count > 0 && count <= VEIL_SIM_WORKLOAD_FILES_MAX, VEIL_E_USAGE,
		   "a workload is 1..%d files", VEIL_SIM_WORKLOAD_FILES_MAX);
	CHECK_THAT(EVP_DigestInit_ex(md, EVP_sha384(), NULL) == 1, VEIL_E_CRYPTO, "SHA-384");
	for (size_t i = 0; i < count; i++) {
		uint8_t len_le[8];
		long size;
		size_t got = 0, n;

		f = fopen(paths[i], "rb");
		CHECK_THAT(f != NULL, VEIL_E_IO, "cannot open %s: %s", paths[i], strerror(errno));
		CHECK_THAT(fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
			       fseek(f, 0, SEEK_SET) == 0,
			   VEIL_E_IO, "cannot size %s (is it a regular file?)", paths[i]);
		CHECK_THAT(size <= VEIL_SIM_WORKLOAD_MAX_BYTES, VEIL_E_LIMIT,
			   "%s is over the %ld-byte workload limit", paths[i],
			   (long)VEIL_SIM_WORKLOAD_MAX_BYTES);
		for (size_t b = 0; b < 8; b++)
			len_le[b] = (uint8_t)((uint64_t)size >> (8 * b));
		CHECK_THAT(EVP_DigestUpdate(md, len_le, sizeof len_le) == 1, VEIL_E_CRYPTO,
			   "SHA-384");
		while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
			got += n;
			CHECK_THAT(got <= (size_t)size, VEIL_E_IO, "%s grew while measuring",
				   paths[i]);
			CHECK_THAT(EVP_DigestUpdate(md, buf, n) == 1, VEIL_E_CRYPTO, "SHA-384");
		}
		CHECK_THAT(!ferror(f) && got == (size_t)size, VEIL_E_IO, "cannot read all of %s",
			   paths[i]);
		fclose(f);
		f = NULL;
	}
	CHECK_THAT(EVP_DigestFinal_ex(md, out, &out_len) == 1 && out_len == 48, VEIL_E_CRYPTO,
		   "SHA-384");
out:
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(md);
	return err;
}

/* ECDSA P-384 over SHA-384(msg), as raw big-endian r || s. */
static veil_err sign_p384(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t out[96])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[128];
	size_t der_len = sizeof der;
	const unsigned char *p = der;
	ECDSA_SIG *sig = NULL;
	veil_err err = VEIL_OK;

	ENSURE(md != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK_THAT(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
		       EVP_DigestSign(md, der, &der_len, msg, len) == 1,
		   VEIL_E_CRYPTO, "signing with the sim key");
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	CHECK_THAT(sig != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 48) == 48 &&
		       BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 48, 48) == 48,
		   VEIL_E_CRYPTO, "decoding the signature");
out:
	if (err != VEIL_OK)
		err = veil_openssl_fail(err, "sim signature");
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return err;
}

/* Appends a signature over everything written so far and hands over the buffer. */
static veil_err sign_and_take(veil_writer *w, EVP_PKEY *key, uint8_t **out, size_t *len)
{
	uint8_t sig[96];

	TRY(veil_writer_status(w));
	TRY(sign_p384(key, w->data, w->len, sig));
	TRY(veil_writer_put(w, sig, sizeof sig));
	return veil_writer_take(w, out, len);
}

veil_err veil_sim_attest(const veil_sim *s, const uint8_t measurement[48],
			 const uint8_t report_data[64], int64_t now, uint8_t **out, size_t *len)
{
	return veil_sim_attest_host_data(s, measurement, s->config.host_data, report_data, now, out,
					 len);
}

veil_err veil_sim_attest_host_data(const veil_sim *s, const uint8_t measurement[48],
				   const uint8_t host_data[32], const uint8_t report_data[64],
				   int64_t now, uint8_t **out, size_t *len)
{
	const sim_config *c = &s->config;
	sim_report_body b = {0};
	veil_writer w;
	veil_err err;

	ENSURE(now >= 0, VEIL_E_USAGE, "the time is before 1970");
	b.flags = c->debug ? SIM_FLAG_DEBUG : 0;
	/* SEV-SNP TCB_VERSION (Milan/Genoa): boot loader byte 0, TEE byte 1,
	 * SNP byte 6, microcode byte 7. */
	b.tcb = (uint64_t)c->tcb_bootloader | (uint64_t)c->tcb_tee << 8 |
		(uint64_t)c->tcb_snp << 48 | (uint64_t)c->tcb_microcode << 56;
	b.generated_at = (uint64_t)now;
	memcpy(b.measurement, measurement, sizeof b.measurement);
	memcpy(b.host_data, host_data, sizeof b.host_data);
	memcpy(b.report_data, report_data, sizeof b.report_data);
	TRY(sim_platform_id(s->platform, b.platform_id));
	veil_writer_init(&w, VEIL_EVIDENCE_MAX_BYTES);
	err = sim_report_write_signed(&w, &b, s->platform_der, s->platform_der_len, s->root_der,
				      s->root_der_len);
	if (err == VEIL_OK)
		err = sign_and_take(&w, s->platform_key, out, len);
	veil_writer_clear(&w);
	return err;
}

/* One opaque data field: type, length (both u16 le), value. */
static veil_err put_opaque(veil_writer *w, uint16_t type, const void *value, size_t len)
{
	TRY(veil_writer_u16le(w, type));
	TRY(veil_writer_u16le(w, (uint16_t)len));
	return veil_writer_put(w, value, len);
}

static veil_err gpu_opaque(veil_writer *op, const sim_config *c)
{
	/* VBIOS version: a little-endian word NVIDIA prints as bytes 3.2.1.0.4. */
	uint8_t vbios[8] = {c->vbios[3], c->vbios[2], c->vbios[1], c->vbios[0], c->vbios[4]};

	TRY(put_opaque(op, NV_OPAQUE_DRIVER_VERSION, c->driver_version,
		       strlen(c->driver_version) + 1));
	TRY(put_opaque(op, NV_OPAQUE_VBIOS_VERSION, vbios, sizeof vbios));
	return put_opaque(op, NV_OPAQUE_PROJECT, SIM_GPU_PROJECT, sizeof SIM_GPU_PROJECT);
}

/* Measurement k of a simulated GPU: fixed for a given driver and VBIOS, so
 * reference values can pin them. */
static veil_err gpu_measurement(const sim_config *c, unsigned k, uint8_t out[48])
{
	uint8_t in[64] = "veil-sim gpu measurement";

	in[31] = (uint8_t)k;
	memcpy(in + 32, c->vbios, sizeof c->vbios);
	memcpy(in + 40, c->driver_version, strnlen(c->driver_version, 24));
	return veil_sha384(in, sizeof in, out);
}

static veil_err gpu_transcript(veil_writer *w, const sim_config *c, const uint8_t nonce[32])
{
	uint8_t rsp_nonce[32], value[48];
	veil_writer op;
	veil_err err;
	const size_t block_len = 4 + 3 + sizeof value;
	const size_t record_len = SIM_GPU_BLOCKS * block_len;

	/* DSP0274 1.1.0 section 10.11: GET_MEASUREMENTS, signature requested
	 * (Param1 bit 0), all measurements (Param2 0xFF), nonce, slot 0. */
	TRY(veil_writer_put(w, "\x11\xE0\x01\xFF", 4));
	TRY(veil_writer_put(w, nonce, 32));
	TRY(veil_writer_u8(w, 0));
	/* MEASUREMENTS: version, code, Param1, Param2 (slot), block count,
	 * record length (24-bit le), the DMTF measurement blocks. */
	TRY(veil_writer_put(w, "\x11\x60\x00\x00", 4));
	TRY(veil_writer_u8(w, SIM_GPU_BLOCKS));
	TRY(veil_writer_u8(w, (uint8_t)record_len));
	TRY(veil_writer_u16le(w, (uint16_t)(record_len >> 8)));
	for (unsigned k = 1; k <= SIM_GPU_BLOCKS; k++) {
		TRY(gpu_measurement(c, k, value));
		TRY(veil_writer_u8(w, (uint8_t)k));
		TRY(veil_writer_u8(w, 0x01)); /* MeasurementSpecification: DMTF */
		TRY(veil_writer_u16le(w, (uint16_t)(3 + sizeof value)));
		TRY(veil_writer_u8(w, 0x01)); /* DMTFSpecMeasurementValueType: firmware */
		TRY(veil_writer_u16le(w, sizeof value));
		TRY(veil_writer_put(w, value, sizeof value));
	}
	ENSURE(RAND_bytes(rsp_nonce, sizeof rsp_nonce) == 1, VEIL_E_CRYPTO, "no randomness");
	TRY(veil_writer_put(w, rsp_nonce, sizeof rsp_nonce));
	veil_writer_init(&op, 1024);
	err = gpu_opaque(&op, c);
	if (err == VEIL_OK)
		err = veil_writer_status(&op);
	if (err == VEIL_OK)
		err = veil_writer_u16le(w, (uint16_t)op.len);
	if (err == VEIL_OK)
		err = veil_writer_put(w, op.data, op.len);
	veil_writer_clear(&op);
	return err;
}

static veil_err chain_pem(X509 *leaf, X509 *root, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	ENSURE(bio != NULL, VEIL_E_NOMEM, "out of memory");
	if (PEM_write_bio_X509(bio, leaf) != 1 || PEM_write_bio_X509(bio, root) != 1) {
		BIO_free(bio);
		return veil_openssl_fail(VEIL_E_CRYPTO, "encoding PEM");
	}
	n = BIO_get_mem_data(bio, &data);
	*out = malloc((size_t)n + 1);
	if (*out != NULL) {
		memcpy(*out, data, (size_t)n);
		(*out)[n] = '\0';
	}
	BIO_free(bio);
	ENSURE(*out != NULL, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

veil_err veil_sim_gpu_attest(const veil_sim *s, unsigned index, const uint8_t nonce[32],
			     uint8_t **report, size_t *report_len, char **chain,
			     veil_sim_gpu_state *state)
{
	veil_writer w;
	veil_err err;

	*report = NULL;
	*chain = NULL;
	ENSURE(index < s->config.gpus, VEIL_E_NOT_FOUND, "the sim platform has %u GPUs, no GPU %u",
	       s->config.gpus, index);
	veil_writer_init(&w, VEIL_EVIDENCE_MAX_BYTES);
	err = gpu_transcript(&w, &s->config, nonce);
	if (err == VEIL_OK)
		err = sign_and_take(&w, s->gpu_key[index], report, report_len);
	veil_writer_clear(&w);
	if (err == VEIL_OK)
		err = chain_pem(s->gpu[index], s->root, chain);
	if (err != VEIL_OK) {
		free(*report);
		*report = NULL;
		return err;
	}
	*state = s->config.gpu_state;
	return VEIL_OK;
}

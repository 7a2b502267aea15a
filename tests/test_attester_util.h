/*
 * test_attester_util.h - helpers shared by the attester tests (header-only).
 *
 * No file in the shared test data is an SNP certificate table (hosts make
 * them at run time), so the tests build tables the way a host does (GHCB
 * layout, go-sev-guest's CertTable.Marshal order) from the real AMD
 * certificates in ../shared/testdata/snp: the Milan VCEK of the go-sev-guest
 * report and the Milan ASK and ARK. Also: scratch directories for the
 * configfs-tsm fake, and the REPORT_DATA of real evidence.
 */
#ifndef VEIL_TEST_ATTESTER_UTIL_H
#define VEIL_TEST_ATTESTER_UTIL_H

#include <dirent.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "veil/attester.h"
#include "veil/evidence.h"

#define ATT_SNP_REPORT "snp/go-sev-guest/attestation.bin"
#define ATT_SNP_VCEK   "snp/go-sev-guest/vcek.testcer"
#define ATT_SNP_ASKARK "snp/go-sev-guest/ask_ark_milan.pem"
#define ATT_TDX_QUOTE  "tdx/go-tdx-guest/quote_v5_sample.dat"

/* GUIDs in table byte order (GHCB; the order of their text form). */
static const uint8_t att_guid_vcek[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
					  0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t att_guid_vlek[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
					  0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
static const uint8_t att_guid_ask[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
					 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
static const uint8_t att_guid_ark[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
					 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};
static const uint8_t att_guid_crl[16] = {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d,
					 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea};

typedef struct att_blob {
	const uint8_t *guid;
	const uint8_t *data;
	size_t len;
} att_blob;

/* The real certificates a Milan host would attach: VCEK, ASK, ARK (DER). */
typedef struct att_certs {
	uint8_t *vcek, *ask, *ark;
	size_t vcek_len, ask_len, ark_len;
} att_certs;

static inline uint8_t *att_pem_next_der(BIO *bio, size_t *len)
{
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	unsigned char *der = NULL;
	int n = x != NULL ? i2d_X509(x, &der) : -1;

	X509_free(x);
	if (n <= 0) {
		fprintf(stderr, "cannot read a certificate from %s\n", ATT_SNP_ASKARK);
		exit(2);
	}
	*len = (size_t)n;
	uint8_t *out = malloc(*len);
	memcpy(out, der, *len);
	OPENSSL_free(der);
	return out;
}

static inline void att_certs_load(att_certs *c)
{
	size_t n;
	uint8_t *pem = td_read(ATT_SNP_ASKARK, &n);
	BIO *bio = BIO_new_mem_buf(pem, (int)n);

	c->vcek = td_read(ATT_SNP_VCEK, &c->vcek_len);
	c->ask = att_pem_next_der(bio, &c->ask_len); /* KDS cert_chain: ASK, then ARK */
	c->ark = att_pem_next_der(bio, &c->ark_len);
	BIO_free(bio);
	free(pem);
}

static inline void att_certs_free(att_certs *c)
{
	free(c->vcek);
	free(c->ask);
	free(c->ark);
}

static inline void att_put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A table of n blobs, packed after the terminator, padded with zeros to
 * pad bytes when pad is larger. */
static inline uint8_t *att_table(const att_blob *b, size_t n, size_t pad, size_t *len)
{
	size_t off = (n + 1) * 24, total = off;

	for (size_t i = 0; i < n; i++)
		total += b[i].len;
	*len = total > pad ? total : pad;
	uint8_t *t = calloc(1, *len);
	for (size_t i = 0; i < n; i++) {
		memcpy(t + i * 24, b[i].guid, 16);
		att_put_u32le(t + i * 24 + 16, (uint32_t)off);
		att_put_u32le(t + i * 24 + 20, (uint32_t)b[i].len);
		memcpy(t + off, b[i].data, b[i].len);
		off += b[i].len;
	}
	return t;
}

/* The table of a Milan host: VCEK, ASK, ARK. */
static inline uint8_t *att_milan_table(const att_certs *c, size_t pad, size_t *len)
{
	att_blob b[] = {{att_guid_vcek, c->vcek, c->vcek_len},
			{att_guid_ask, c->ask, c->ask_len},
			{att_guid_ark, c->ark, c->ark_len}};
	return att_table(b, 3, pad, len);
}

/* The 64-byte REPORT_DATA of real evidence, through Veil's own parser. */
static inline void att_report_data(const char *format, const uint8_t *buf, size_t len,
				   uint8_t rd[64])
{
	const veil_evidence_format *f = veil_evidence_format_find(format);
	const uint8_t *p;
	size_t n;
	void *ev = NULL;

	if (f == NULL || f->parse(buf, len, &ev) != VEIL_OK) {
		fprintf(stderr, "test evidence does not parse as %s: %s\n", format,
			veil_err_detail());
		exit(2);
	}
	f->report_data(ev, &p, &n);
	memcpy(rd, p, n < 64 ? n : 64);
	f->free(ev);
}

/* A fresh scratch directory under $TMPDIR (or /tmp). */
static inline void att_tmpdir(char *out, size_t size)
{
	const char *base = getenv("TMPDIR");
	snprintf(out, size, "%s/veil-att-XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(out) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
}

/* Removes a directory with its files and subdirectories (two levels). */
static inline void att_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
			continue;
		if (unlink(path) != 0)
			att_rmtree(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Number of entries in dir (not counting . and ..), -1 if it cannot be read. */
static inline int att_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static inline void att_write(const char *dir, const char *name, const void *p, size_t n)
{
	char path[1024];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		exit(2);
	FILE *f = fopen(path, "wb");
	if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n)) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

#endif

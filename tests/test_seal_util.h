/*
 * test_seal_util.h - helpers shared by the sealed-model tests (header-only,
 * static inline).
 *
 * A fixture is a fresh temporary folder with a random "model" file, the
 * same file sealed under a random key with small (4 KiB) chunks so that a
 * few kilobytes make several chunks, and the bytes of both in memory for
 * the tamper tests to cut and splice. fx_forge() writes a sealed file
 * through the internal layers, with a header that lies about the length
 * or the digest but carries a valid MAC: what only a key holder (or a
 * buggy sealer) could make, to reach the checks behind the MAC.
 */
#ifndef VEIL_TEST_SEAL_UTIL_H
#define VEIL_TEST_SEAL_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "seal/seal_internal.h"
#include "veil/seal.h"

#define FX_CHUNK_LOG2 12
#define FX_CHUNK      (1u << FX_CHUNK_LOG2)

typedef struct seal_fx {
	char dir[64];
	char plain[128], sealed[128], other[128];
	uint8_t key[VEIL_SEAL_KEY_LEN];
	uint8_t *data; /* the plaintext */
	size_t len;
	uint8_t *file; /* the sealed file's bytes */
	size_t file_len;
	veil_seal_info info;
} seal_fx;

static inline int fx_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline bool fx_write(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f != NULL && (len == 0 || fwrite(p, 1, len, f) == len);

	if (f != NULL && fclose(f) != 0)
		ok = false;
	return ok;
}

static inline uint8_t *fx_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) != NULL) {
		if (fread(p, 1, (size_t)n, f) == (size_t)n) {
			*len = (size_t)n;
		} else {
			free(p);
			p = NULL;
		}
	}
	fclose(f);
	return p;
}

static inline bool fx_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A folder, a random key and a random model of len bytes sealed with
 * chunks of 2^chunk_log2 (0: 4 KiB) and the given resource path. */
static inline bool fx_init(seal_fx *f, size_t len, unsigned chunk_log2, const char *resource)
{
	veil_seal_params p = {.chunk_log2 = chunk_log2 != 0 ? chunk_log2 : FX_CHUNK_LOG2,
			      .resource = resource};

	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/veil-seal-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return false;
	snprintf(f->plain, sizeof f->plain, "%s/model", f->dir);
	snprintf(f->sealed, sizeof f->sealed, "%s/model.sealed", f->dir);
	snprintf(f->other, sizeof f->other, "%s/other.sealed", f->dir);
	f->len = len;
	f->data = malloc(len + 1);
	if (f->data == NULL || RAND_bytes(f->key, sizeof f->key) != 1 ||
	    (len > 0 && RAND_bytes(f->data, (int)len) != 1) || !fx_write(f->plain, f->data, len))
		return false;
	if (veil_seal_file(f->plain, f->sealed, f->key, &p, NULL, NULL, &f->info) != VEIL_OK) {
		fprintf(stderr, "fx_init: %s\n", veil_err_detail());
		return false;
	}
	f->file = fx_read(f->sealed, &f->file_len);
	return f->file != NULL;
}

static inline void fx_free(seal_fx *f)
{
	if (f->dir[0] != '\0')
		(void)nftw(f->dir, fx_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f->data);
	free(f->file);
	memset(f, 0, sizeof *f);
}

/* Files in the fixture folder whose name contains part. */
static inline int fx_count_names(const seal_fx *f, const char *part)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, part) != NULL)
			n++;
	closedir(d);
	return n;
}

/* Writes bytes to the fixture's "other" path and opens it (threads 2). */
static inline veil_err fx_open_bytes(seal_fx *f, const uint8_t *p, size_t len, unsigned flags,
				     veil_sealed_model *m)
{
	if (!fx_write(f->other, p, len))
		return VEIL_E_IO;
	return veil_seal_open(f->other, f->key, 2, flags, NULL, NULL, m);
}

/* True when m is all zeros (what a failed open leaves). */
static inline bool fx_zeroed(const veil_sealed_model *m)
{
	static const veil_sealed_model zero;
	return memcmp(m, &zero, sizeof zero) == 0;
}

/*
 * Writes a sealed file of f's plaintext to path through the internal
 * layers: a header with a valid MAC that claims claimed_len bytes and the
 * given digest (NULL: the true one), then the first `chunks` chunks of the
 * plaintext (0: all), each encrypted as chunk i of stream_count (0: the
 * true count) under that header.
 */
static inline bool fx_forge(const seal_fx *f, const char *path, uint64_t claimed_len,
			    const uint8_t *claimed_digest, uint64_t chunks, uint64_t stream_count)
{
	veil_seal_info info = f->info, truth = f->info;
	seal_header h;
	seal_keys keys;
	uint8_t hdr[VEIL_SEAL_HEADER_MAX], tag[SEAL_TAG_LEN], *out, *buf;
	size_t hlen = 0, pos;
	EVP_CIPHER_CTX *ctx = NULL;
	bool ok = false;

	out = malloc(VEIL_SEAL_HEADER_MAX + f->len + SEAL_TAG_LEN * (f->len / FX_CHUNK + 2));
	buf = malloc(FX_CHUNK);
	if (out == NULL || buf == NULL || RAND_bytes(h.salt, sizeof h.salt) != 1 ||
	    RAND_bytes(h.prefix, sizeof h.prefix) != 1)
		goto done;
	info.plaintext_len = claimed_len;
	if (claimed_digest != NULL)
		memcpy(info.digest, claimed_digest, sizeof info.digest);
	if (seal_keys_derive(f->key, &h, &keys) != VEIL_OK ||
	    seal_header_write(&info, &h, &keys, hdr, &hlen) != VEIL_OK ||
	    seal_cipher_new(&keys, true, &ctx) != VEIL_OK)
		goto done;
	memcpy(out, hdr, hlen);
	pos = hlen;
	if (chunks == 0)
		chunks = truth.chunk_count;
	if (stream_count == 0)
		stream_count = truth.chunk_count;
	for (uint64_t i = 0; i < chunks; i++) {
		size_t n = seal_chunk_len(&truth, i);
		memcpy(buf, f->data + i * FX_CHUNK, n);
		if (seal_chunk_encrypt(ctx, &keys, i, stream_count, buf, n, tag) != VEIL_OK)
			goto done;
		memcpy(out + pos, buf, n);
		memcpy(out + pos + n, tag, SEAL_TAG_LEN);
		pos += n + SEAL_TAG_LEN;
	}
	ok = fx_write(path, out, pos);
done:
	EVP_CIPHER_CTX_free(ctx);
	seal_keys_clear(&keys);
	free(out);
	free(buf);
	return ok;
}

#endif

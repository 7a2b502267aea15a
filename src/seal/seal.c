/*
 * seal.c - sealing a model file (docs/sealed-model.md, "Sealing").
 *
 * Two passes over the input: the first computes the SHA-256 of the
 * plaintext, because the header carries it and every chunk authenticates
 * the header; the second encrypts chunk by chunk and hashes again, so a
 * file that changed between the passes is refused instead of sealed with
 * a digest that does not describe it.
 *
 * Nothing half-written is ever left at the output path: the sealed file
 * is written under a temporary name in the same directory (so the final
 * rename cannot cross filesystems), synced, handed to the caller's
 * before_publish hook (which stores the key), and only then renamed into
 * place, without replacing an existing file unless asked. Any failure
 * removes the temporary file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seal/seal_internal.h"
#include "veil/aead.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/secret.h"

veil_err veil_seal_keygen(uint8_t key[VEIL_SEAL_KEY_LEN])
{
	if (RAND_priv_bytes(key, VEIL_SEAL_KEY_LEN) != 1)
		return veil_openssl_fail(VEIL_E_CRYPTO, "random key");
	return VEIL_OK;
}

static veil_err input_read(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n >= 0, VEIL_E_IO, "cannot read the model: %s", strerror(errno));
		ENSURE(n > 0, VEIL_E_MISMATCH, "the model shrank while it was being sealed");
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return VEIL_OK;
}

static veil_err output_write(int fd, const uint8_t *p, size_t len, const char *path)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n > 0, VEIL_E_IO, "cannot write %s: %s", path,
		       n < 0 ? strerror(errno) : "no progress");
		p += n;
		len -= (size_t)n;
	}
	return VEIL_OK;
}

typedef struct seal_run {
	int in, out;
	char tmp[PATH_MAX];
	bool tmp_made;
	uint8_t *buf; /* one chunk of plaintext and its tag */
	size_t buf_len;
	EVP_MD_CTX *md;
	EVP_CIPHER_CTX *cipher;
	veil_seal_progress_fn progress;
	void *user;
} seal_run;

/* Pass 1: the SHA-256 of the whole input. */
static veil_err input_digest(seal_run *s, const veil_seal_info *info,
			     uint8_t digest[VEIL_SEAL_DIGEST_LEN])
{
	ENSURE(EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) == 1, VEIL_E_CRYPTO,
	       "cannot start SHA-256");
	for (uint64_t i = 0; i < info->chunk_count; i++) {
		size_t len = seal_chunk_len(info, i);
		TRY(input_read(s->in, s->buf, len, i * info->chunk_size));
		ENSURE(EVP_DigestUpdate(s->md, s->buf, len) == 1, VEIL_E_CRYPTO, "SHA-256 failed");
		if (s->progress != NULL)
			s->progress((i * info->chunk_size + len) / 2, info->plaintext_len, s->user);
	}
	ENSURE(EVP_DigestFinal_ex(s->md, digest, NULL) == 1, VEIL_E_CRYPTO, "SHA-256 failed");
	return VEIL_OK;
}

/* Pass 2: every chunk, encrypted and appended; the input hashed again. */
static veil_err encrypt_chunks(seal_run *s, const veil_seal_info *info, const seal_keys *keys)
{
	uint8_t again[VEIL_SEAL_DIGEST_LEN], probe;

	ENSURE(EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) == 1, VEIL_E_CRYPTO,
	       "cannot start SHA-256");
	for (uint64_t i = 0; i < info->chunk_count; i++) {
		size_t len = seal_chunk_len(info, i);
		uint64_t done = i * info->chunk_size + len;
		TRY(input_read(s->in, s->buf, len, i * info->chunk_size));
		ENSURE(EVP_DigestUpdate(s->md, s->buf, len) == 1, VEIL_E_CRYPTO, "SHA-256 failed");
		TRY(seal_chunk_encrypt(s->cipher, keys, i, info->chunk_count, s->buf, len,
				       s->buf + len));
		TRY(output_write(s->out, s->buf, len + SEAL_TAG_LEN, s->tmp));
		if (s->progress != NULL)
			s->progress((info->plaintext_len + done) / 2, info->plaintext_len, s->user);
	}
	ENSURE(EVP_DigestFinal_ex(s->md, again, NULL) == 1, VEIL_E_CRYPTO, "SHA-256 failed");
	ENSURE(pread(s->in, &probe, 1, (off_t)info->plaintext_len) == 0, VEIL_E_MISMATCH,
	       "the model grew while it was being sealed");
	ENSURE(memcmp(again, info->digest, sizeof again) == 0, VEIL_E_MISMATCH,
	       "the model changed while it was being sealed");
	return VEIL_OK;
}

/* A new file beside path, named path.partial-<random>. */
static veil_err temp_create(seal_run *s, const char *path)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		uint8_t r[6];
		char hex[2 * sizeof r + 1];
		ENSURE(RAND_bytes(r, sizeof r) == 1, VEIL_E_CRYPTO, "no randomness");
		veil_hex_encode(r, sizeof r, hex);
		ENSURE((size_t)snprintf(s->tmp, sizeof s->tmp, "%s.partial-%s", path, hex) <
			   sizeof s->tmp,
		       VEIL_E_USAGE, "the output path is too long");
		s->out = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (s->out >= 0) {
			s->tmp_made = true;
			return VEIL_OK;
		}
		ENSURE(errno == EEXIST, VEIL_E_IO, "cannot create %s: %s", s->tmp, strerror(errno));
	}
	return veil_fail(VEIL_E_IO, "cannot create a temporary file beside %s", path);
}

/* Renames the finished file into place and syncs the directory. */
static veil_err publish(seal_run *s, const char *path, bool replace)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int dfd;

	if (replace) {
		ENSURE(rename(s->tmp, path) == 0, VEIL_E_IO, "cannot rename %s to %s: %s", s->tmp,
		       path, strerror(errno));
	} else if (renameat2(AT_FDCWD, s->tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0) {
		/* Filesystems without RENAME_NOREPLACE: link() refuses an
		 * existing name just the same. */
		ENSURE(errno == EINVAL || errno == ENOSYS, VEIL_E_IO, "cannot rename %s to %s: %s",
		       s->tmp, path, strerror(errno));
		ENSURE(link(s->tmp, path) == 0, VEIL_E_IO, "cannot create %s: %s", path,
		       strerror(errno));
		(void)unlink(s->tmp);
	}
	s->tmp_made = false;
	/* The rename is durable once the directory is synced (best effort:
	 * not every filesystem syncs directories). */
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path == 0 ? 1 : slash - path),
			 path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return VEIL_OK;
}

veil_err veil_seal_file(const char *in_path, const char *out_path,
			const uint8_t key[VEIL_SEAL_KEY_LEN], const veil_seal_params *params,
			veil_seal_progress_fn progress, void *progress_user,
			veil_seal_info *info_out)
{
	static const veil_seal_params defaults;
	const veil_seal_params *p = params != NULL ? params : &defaults;
	seal_run s = {.in = -1, .out = -1, .progress = progress, .user = progress_user};
	unsigned log2 = p->chunk_log2 != 0 ? p->chunk_log2 : VEIL_SEAL_CHUNK_LOG2_DEFAULT;
	veil_seal_info info;
	seal_header h;
	seal_keys keys;
	uint8_t hdr[VEIL_SEAL_HEADER_MAX];
	struct stat st;
	veil_err err;

	memset(&info, 0, sizeof info);
	memset(&keys, 0, sizeof keys);
	if (info_out != NULL)
		memset(info_out, 0, sizeof *info_out);
	CHECK_THAT(log2 >= VEIL_SEAL_CHUNK_LOG2_MIN && log2 <= VEIL_SEAL_CHUNK_LOG2_MAX,
		   VEIL_E_USAGE, "chunk size 2^%u is outside 2^%d..2^%d", log2,
		   VEIL_SEAL_CHUNK_LOG2_MIN, VEIL_SEAL_CHUNK_LOG2_MAX);
	CHECK_THAT(p->resource == NULL || seal_resource_ok(p->resource), VEIL_E_USAGE,
		   "resource path \"%s\" is not <repository>/<type>/<tag> (each of "
		   "[A-Za-z0-9_.-], at most %d bytes)",
		   p->resource, VEIL_STORE_PATH_MAX);
	snprintf(info.resource, sizeof info.resource, "%s", p->resource != NULL ? p->resource : "");
	/* Fail before reading a large model when the result could not be
	 * published anyway. */
	CHECK_THAT(p->replace || access(out_path, F_OK) != 0, VEIL_E_USAGE,
		   "%s exists; remove it or ask to replace it", out_path);
	s.in = open(in_path, O_RDONLY | O_CLOEXEC);
	CHECK_THAT(s.in >= 0, VEIL_E_IO, "cannot open %s: %s", in_path, strerror(errno));
	CHECK_THAT(fstat(s.in, &st) == 0 && S_ISREG(st.st_mode), VEIL_E_USAGE,
		   "%s is not a regular file", in_path);
	CHECK_THAT((uint64_t)st.st_size <= VEIL_SEAL_PLAINTEXT_MAX, VEIL_E_LIMIT,
		   "%s is %lld bytes; the cap is %llu", in_path, (long long)st.st_size,
		   (unsigned long long)VEIL_SEAL_PLAINTEXT_MAX);
	(void)posix_fadvise(s.in, 0, 0, POSIX_FADV_SEQUENTIAL);
	info.version = SEAL_VERSION;
	info.aead = VEIL_AEAD_AES_256_GCM;
	info.chunk_size = 1u << log2;
	info.plaintext_len = (uint64_t)st.st_size;
	info.header_len = VEIL_SEAL_HEADER_MIN + strlen(info.resource);
	seal_info_derive(&info);
	s.buf_len = info.chunk_size + SEAL_TAG_LEN;
	s.buf = malloc(s.buf_len);
	s.md = EVP_MD_CTX_new();
	CHECK_THAT(s.buf != NULL && s.md != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK(input_digest(&s, &info, info.digest));

	CHECK_THAT(RAND_bytes(h.salt, sizeof h.salt) == 1 &&
		       RAND_bytes(h.prefix, sizeof h.prefix) == 1,
		   VEIL_E_CRYPTO, "no randomness for the header");
	CHECK(seal_keys_derive(key, &h, &keys));
	CHECK(seal_header_write(&info, &h, &keys, hdr, &info.header_len));
	CHECK(seal_cipher_new(&keys, true, &s.cipher));
	CHECK(temp_create(&s, out_path));
	CHECK(output_write(s.out, hdr, info.header_len, s.tmp));
	CHECK(encrypt_chunks(&s, &info, &keys));
	CHECK_THAT(fsync(s.out) == 0, VEIL_E_IO, "cannot sync %s: %s", s.tmp, strerror(errno));
	err = close(s.out) == 0
		  ? VEIL_OK
		  : veil_fail(VEIL_E_IO, "cannot close %s: %s", s.tmp, strerror(errno));
	s.out = -1;
	CHECK(err);
	if (p->before_publish != NULL)
		CHECK(p->before_publish(p->publish_user));
	CHECK(publish(&s, out_path, p->replace));
	if (info_out != NULL)
		*info_out = info;
out:
	if (s.out >= 0)
		close(s.out);
	if (s.tmp_made)
		(void)unlink(s.tmp);
	if (s.in >= 0)
		close(s.in);
	veil_free_secret(s.buf, s.buf_len);
	EVP_MD_CTX_free(s.md);
	EVP_CIPHER_CTX_free(s.cipher);
	seal_keys_clear(&keys);
	return err;
}

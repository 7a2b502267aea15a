/*
 * header.c - the sealed file's header (docs/sealed-model.md, "Header"):
 * parsing it through the bounded reader, writing it, deriving the file's
 * keys and checking its MAC.
 *
 * The header is read before the key is known (a worker looks in it for the
 * KBS path of the key to fetch), so the parser treats it as hostile: every
 * field is checked for form, the resource path by the broker's own rule,
 * and nothing is allocated. Only seal_header_check() makes it trusted: an
 * HMAC-SHA256 under a key derived from the file key, so a wrong key is
 * told apart from damaged chunks, and the key is committed to (AES-GCM
 * alone is not key-committing: one ciphertext can be made to open under
 * two keys). The SHA-256 of the header, MAC included, is then the AAD of
 * every chunk, which binds each chunk to this one file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kbs/kbs_internal.h"
#include "seal/seal_internal.h"
#include "veil/aead.h"
#include "veil/bytes.h"
#include "veil/crypto.h"
#include "veil/secret.h"

/* HKDF info strings (RFC 5869 section 2.3): one per derived key, so the
 * chunk key and the MAC key are independent. */
#define SEAL_INFO_CHUNK "veil-seal v1 chunk key"
#define SEAL_INFO_MAC   "veil-seal v1 header mac"

void seal_info_derive(veil_seal_info *info)
{
	uint64_t n = info->plaintext_len / info->chunk_size;

	/* STREAM always has a last segment; an empty model is one empty chunk,
	 * and a length that is a multiple of the chunk size ends with a full
	 * chunk (no empty one after it). */
	if (info->plaintext_len % info->chunk_size != 0 || n == 0)
		n++;
	info->chunk_count = n;
	info->file_len = info->header_len + info->plaintext_len + n * SEAL_TAG_LEN;
}

size_t seal_chunk_len(const veil_seal_info *info, uint64_t i)
{
	if (i + 1 < info->chunk_count)
		return info->chunk_size;
	return (size_t)(info->plaintext_len - i * info->chunk_size);
}

uint64_t seal_chunk_offset(const veil_seal_info *info, uint64_t i)
{
	return info->header_len + i * ((uint64_t)info->chunk_size + SEAL_TAG_LEN);
}

bool seal_resource_ok(const char *path)
{
	size_t n = strlen(path);

	/* The broker's rule (three segments of [A-Za-z0-9_.-], no ".."), so
	 * the path a worker asks for is one the broker could have stored. */
	return n == 0 || (n <= VEIL_STORE_PATH_MAX && kbs_resource_path_ok(path));
}

veil_err seal_header_read(const uint8_t *buf, size_t len, veil_seal_info *info, seal_header *h)
{
	veil_reader r;
	uint8_t magic[SEAL_MAGIC_LEN], log2;
	uint16_t path_len;
	veil_err err;

	memset(info, 0, sizeof *info);
	memset(h, 0, sizeof *h);
	veil_reader_init(&r, buf, len);
	TRY(veil_reader_copy(&r, magic, sizeof magic));
	ENSURE(memcmp(magic, SEAL_MAGIC, SEAL_MAGIC_LEN) == 0, VEIL_E_MALFORMED,
	       "not a sealed model: the file does not start with \"" SEAL_MAGIC "\"");
	TRY(veil_reader_u16le(&r, &info->version));
	ENSURE(info->version == SEAL_VERSION, VEIL_E_UNSUPPORTED,
	       "sealed-model version %u; this build reads version %u", info->version, SEAL_VERSION);
	TRY(veil_reader_u16le(&r, &info->aead));
	ENSURE(info->aead == VEIL_AEAD_AES_256_GCM, VEIL_E_UNSUPPORTED,
	       "sealed-model cipher 0x%04x; only AES-256-GCM (0x0002) is defined", info->aead);
	TRY(veil_reader_u8(&r, &log2));
	ENSURE(log2 >= VEIL_SEAL_CHUNK_LOG2_MIN && log2 <= VEIL_SEAL_CHUNK_LOG2_MAX,
	       VEIL_E_MALFORMED, "chunk size 2^%u is outside 2^%d..2^%d", log2,
	       VEIL_SEAL_CHUNK_LOG2_MIN, VEIL_SEAL_CHUNK_LOG2_MAX);
	info->chunk_size = 1u << log2;
	err = veil_reader_zeros(&r, 3);
	if (err != VEIL_OK)
		return veil_fail_context(err, "sealed-model header bytes 13..15");
	TRY(veil_reader_u64le(&r, &info->plaintext_len));
	ENSURE(info->plaintext_len <= VEIL_SEAL_PLAINTEXT_MAX, VEIL_E_LIMIT,
	       "plaintext length %llu is above the cap of %llu bytes",
	       (unsigned long long)info->plaintext_len,
	       (unsigned long long)VEIL_SEAL_PLAINTEXT_MAX);
	TRY(veil_reader_copy(&r, info->digest, sizeof info->digest));
	TRY(veil_reader_copy(&r, h->salt, sizeof h->salt));
	TRY(veil_reader_copy(&r, h->prefix, sizeof h->prefix));
	err = veil_reader_zeros(&r, 1);
	if (err != VEIL_OK)
		return veil_fail_context(err, "sealed-model header byte 95");
	TRY(veil_reader_u16le(&r, &path_len));
	ENSURE(path_len <= VEIL_STORE_PATH_MAX, VEIL_E_LIMIT,
	       "resource path of %u bytes; the cap is %d", path_len, VEIL_STORE_PATH_MAX);
	ENSURE(veil_reader_left(&r) >= (size_t)path_len + SEAL_MAC_LEN, VEIL_E_TRUNCATED,
	       "the sealed-model header is %zu bytes; %zu are there",
	       veil_reader_offset(&r) + path_len + SEAL_MAC_LEN, len);
	TRY(veil_reader_copy(&r, info->resource, path_len));
	info->resource[path_len] = '\0';
	/* A NUL inside the field would shorten the string: refused too. */
	ENSURE(strlen(info->resource) == path_len && seal_resource_ok(info->resource),
	       VEIL_E_MALFORMED, "the resource path is not <repository>/<type>/<tag>");
	TRY(veil_reader_copy(&r, h->mac, sizeof h->mac));
	info->header_len = veil_reader_offset(&r);
	seal_info_derive(info);
	return VEIL_OK;
}

veil_err veil_seal_header_parse(const uint8_t *buf, size_t len, veil_seal_info *info)
{
	seal_header h;
	veil_err err = seal_header_read(buf, len, info, &h);

	if (err != VEIL_OK)
		memset(info, 0, sizeof *info);
	return err;
}

static veil_err header_mac(const uint8_t *buf, size_t body_len, const seal_keys *keys,
			   uint8_t mac[SEAL_MAC_LEN])
{
	const uint8_t *msg[1] = {buf};
	size_t msg_len[1] = {body_len};

	return veil_hmac_sha256v(keys->mac_key, sizeof keys->mac_key, msg, msg_len, 1, mac);
}

veil_err seal_header_write(const veil_seal_info *info, seal_header *h, seal_keys *keys,
			   uint8_t *out, size_t *len)
{
	veil_writer w;
	size_t path_len = strlen(info->resource);
	unsigned log2 = 0;
	uint8_t *data = NULL;
	size_t n = 0;
	veil_err err;

	while (log2 < 31 && (1u << log2) != info->chunk_size)
		log2++;
	ENSURE(log2 >= VEIL_SEAL_CHUNK_LOG2_MIN && log2 <= VEIL_SEAL_CHUNK_LOG2_MAX, VEIL_E_USAGE,
	       "chunk size %u is not a power of two in 2^%d..2^%d", info->chunk_size,
	       VEIL_SEAL_CHUNK_LOG2_MIN, VEIL_SEAL_CHUNK_LOG2_MAX);
	ENSURE(seal_resource_ok(info->resource), VEIL_E_USAGE,
	       "resource path \"%s\" is not <repository>/<type>/<tag> (each of "
	       "[A-Za-z0-9_.-], at most %d bytes)",
	       info->resource, VEIL_STORE_PATH_MAX);
	ENSURE(info->plaintext_len <= VEIL_SEAL_PLAINTEXT_MAX, VEIL_E_LIMIT,
	       "the model is %llu bytes; the cap is %llu", (unsigned long long)info->plaintext_len,
	       (unsigned long long)VEIL_SEAL_PLAINTEXT_MAX);
	veil_writer_init(&w, VEIL_SEAL_HEADER_MAX);
	CHECK(veil_writer_put(&w, SEAL_MAGIC, SEAL_MAGIC_LEN));
	CHECK(veil_writer_u16le(&w, SEAL_VERSION));
	CHECK(veil_writer_u16le(&w, VEIL_AEAD_AES_256_GCM));
	CHECK(veil_writer_u8(&w, (uint8_t)log2));
	CHECK(veil_writer_put(&w, "\0\0\0", 3));
	CHECK(veil_writer_u64le(&w, info->plaintext_len));
	CHECK(veil_writer_put(&w, info->digest, sizeof info->digest));
	CHECK(veil_writer_put(&w, h->salt, sizeof h->salt));
	CHECK(veil_writer_put(&w, h->prefix, sizeof h->prefix));
	CHECK(veil_writer_u8(&w, 0));
	CHECK(veil_writer_u16le(&w, (uint16_t)path_len));
	CHECK(veil_writer_put(&w, info->resource, path_len));
	CHECK(veil_writer_take(&w, &data, &n));
	CHECK(header_mac(data, n, keys, h->mac));
	memcpy(out, data, n);
	memcpy(out + n, h->mac, SEAL_MAC_LEN);
	*len = n + SEAL_MAC_LEN;
	CHECK(veil_sha256(out, *len, keys->header_hash));
out:
	veil_writer_clear(&w);
	free(data);
	return err;
}

veil_err seal_header_check(const uint8_t *buf, const veil_seal_info *info, const seal_header *h,
			   seal_keys *keys)
{
	uint8_t mac[SEAL_MAC_LEN];
	size_t body = info->header_len - SEAL_MAC_LEN;

	TRY(header_mac(buf, body, keys, mac));
	ENSURE(veil_ct_equal(mac, h->mac, SEAL_MAC_LEN), VEIL_E_VERIFY,
	       "the header's MAC does not match: wrong key, or the header was altered");
	return veil_sha256(buf, info->header_len, keys->header_hash);
}

veil_err seal_keys_derive(const uint8_t key[VEIL_SEAL_KEY_LEN], const seal_header *h,
			  seal_keys *keys)
{
	uint8_t prk[VEIL_HKDF_SHA256_LEN];
	veil_err err;

	/* RFC 5869 section 2.2: the header's random salt makes the derived
	 * keys unique to the file even when one key seals several files, so
	 * GCM nonces (prefix || counter || flag) never repeat under a key. */
	CHECK(veil_hkdf_sha256_extract(h->salt, sizeof h->salt, key, VEIL_SEAL_KEY_LEN, prk));
	CHECK(veil_hkdf_sha256_expand(prk, sizeof prk, (const uint8_t *)SEAL_INFO_CHUNK,
				      strlen(SEAL_INFO_CHUNK), keys->chunk_key,
				      sizeof keys->chunk_key));
	CHECK(veil_hkdf_sha256_expand(prk, sizeof prk, (const uint8_t *)SEAL_INFO_MAC,
				      strlen(SEAL_INFO_MAC), keys->mac_key, sizeof keys->mac_key));
	memcpy(keys->prefix, h->prefix, sizeof keys->prefix);
out:
	veil_wipe(prk, sizeof prk);
	if (err != VEIL_OK)
		seal_keys_clear(keys);
	return err;
}

void seal_keys_clear(seal_keys *keys)
{
	veil_wipe(keys, sizeof *keys);
}

veil_err seal_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n >= 0, VEIL_E_IO, "cannot read the sealed file at offset %llu: %s",
		       (unsigned long long)off, strerror(errno));
		ENSURE(n > 0, VEIL_E_TRUNCATED, "the sealed file ends at offset %llu",
		       (unsigned long long)off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return VEIL_OK;
}

veil_err veil_seal_peek(const char *path, veil_seal_info *info)
{
	uint8_t buf[VEIL_SEAL_HEADER_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	veil_err err;

	memset(info, 0, sizeof *info);
	ENSURE(fd >= 0, VEIL_E_IO, "cannot open %s: %s", path, strerror(errno));
	do
		n = pread(fd, buf, sizeof buf, 0);
	while (n < 0 && errno == EINTR);
	err = n < 0 ? veil_fail(VEIL_E_IO, "cannot read %s: %s", path, strerror(errno))
		    : veil_seal_header_parse(buf, (size_t)n, info);
	close(fd);
	return err;
}

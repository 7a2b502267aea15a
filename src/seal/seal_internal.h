/*
 * seal_internal.h - what the sealed-model files share: the header layout,
 * the keys derived from a file's key, the STREAM nonce, one chunk's
 * encryption and decryption, and memory that holds plaintext.
 *
 * The layout is documented byte by byte in docs/sealed-model.md; the
 * offsets here are the same table.
 */
#ifndef VEIL_SEAL_INTERNAL_H
#define VEIL_SEAL_INTERNAL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/seal.h"

#define SEAL_MAGIC     "VEILSEAL"
#define SEAL_MAGIC_LEN 8
#define SEAL_VERSION   1
#define SEAL_SALT_LEN  32
#define SEAL_MAC_LEN   32
/* HRRV STREAM over a 96-bit nonce: 7-byte prefix, 32-bit big-endian
 * counter, one byte that is 1 on the last chunk only. */
#define SEAL_PREFIX_LEN 7
#define SEAL_NONCE_LEN  12
#define SEAL_TAG_LEN    16

/* Offsets of the fixed part (docs/sealed-model.md, "Header"). */
#define SEAL_OFF_PATH_LEN 96
#define SEAL_OFF_PATH     98

/* What the header holds beyond veil_seal_info: the per-file randomness and
 * the MAC, which only the opener needs. */
typedef struct seal_header {
	uint8_t salt[SEAL_SALT_LEN];
	uint8_t prefix[SEAL_PREFIX_LEN];
	uint8_t mac[SEAL_MAC_LEN];
} seal_header;

/* The per-file keys (HKDF-SHA256 from the file key and the header's salt),
 * and the AAD every chunk carries. Wiped with seal_keys_clear(). */
typedef struct seal_keys {
	uint8_t chunk_key[32];
	uint8_t mac_key[32];
	uint8_t prefix[SEAL_PREFIX_LEN];
	uint8_t header_hash[32]; /* SHA-256 of the whole header, MAC included */
} seal_keys;

/* True for "" (no path) and for a path veil-kbs accepts. */
bool seal_resource_ok(const char *path);

/* Parses a header, returning the fields of both kinds. */
VEIL_MUST_CHECK veil_err seal_header_read(const uint8_t *buf, size_t len, veil_seal_info *info,
					  seal_header *h);
/* Serialises a header for info's version, chunk size, plaintext length,
 * digest and resource, with h's salt and prefix, and MACs it with keys'
 * mac key (filling h->mac and keys->header_hash). out holds
 * VEIL_SEAL_HEADER_MAX bytes; *len gets the header's length. */
VEIL_MUST_CHECK veil_err seal_header_write(const veil_seal_info *info, seal_header *h,
					   seal_keys *keys, uint8_t *out, size_t *len);
/* Checks the MAC of the header in buf[0, info->header_len) and fills
 * keys->header_hash. VEIL_E_VERIFY: wrong key, or the header was altered. */
VEIL_MUST_CHECK veil_err seal_header_check(const uint8_t *buf, const veil_seal_info *info,
					   const seal_header *h, seal_keys *keys);

/* Fills the chunk key, MAC key and prefix from the file key and header. */
VEIL_MUST_CHECK veil_err seal_keys_derive(const uint8_t key[VEIL_SEAL_KEY_LEN],
					  const seal_header *h, seal_keys *keys);
void seal_keys_clear(seal_keys *keys);

/* Fills info's derived fields (chunk count, file length) from the chunk
 * size, plaintext length and header length. */
void seal_info_derive(veil_seal_info *info);
/* Plaintext bytes of chunk i. */
size_t seal_chunk_len(const veil_seal_info *info, uint64_t i);
/* Offset of chunk i in the file. */
uint64_t seal_chunk_offset(const veil_seal_info *info, uint64_t i);

/* An AES-256-GCM context keyed with the chunk key, for one thread. */
VEIL_MUST_CHECK veil_err seal_cipher_new(const seal_keys *keys, bool encrypt, EVP_CIPHER_CTX **out);
/* Encrypts chunk i of count in place and writes its tag. */
VEIL_MUST_CHECK veil_err seal_chunk_encrypt(EVP_CIPHER_CTX *ctx, const seal_keys *keys, uint64_t i,
					    uint64_t count, uint8_t *buf, size_t len,
					    uint8_t tag[SEAL_TAG_LEN]);
/* Decrypts chunk i of count in place; VEIL_E_VERIFY (buf wiped) when the
 * tag does not match. */
VEIL_MUST_CHECK veil_err seal_chunk_decrypt(EVP_CIPHER_CTX *ctx, const seal_keys *keys, uint64_t i,
					    uint64_t count, uint8_t *buf, size_t len,
					    const uint8_t tag[SEAL_TAG_LEN]);

/* Anonymous memory for plaintext: excluded from core dumps, not inherited
 * across fork, optionally locked. *map_len is len rounded up to pages (at
 * least one page). */
VEIL_MUST_CHECK veil_err seal_mem_map(size_t len, bool lock, void **map, size_t *map_len);
/* Makes the mapping read-only (after verification). */
VEIL_MUST_CHECK veil_err seal_mem_seal(void *map, size_t map_len);
/* Wipes the first `used` bytes (all that was ever written), unlocks and
 * unmaps; NULL is fine. */
void seal_mem_unmap(void *map, size_t map_len, size_t used, bool locked);

/* Reads exactly len bytes at off (VEIL_E_TRUNCATED at end of file). */
VEIL_MUST_CHECK veil_err seal_pread_full(int fd, void *buf, size_t len, uint64_t off);

#endif

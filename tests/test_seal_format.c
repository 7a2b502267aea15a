/*
 * test_seal_format.c - the sealed file's format: the header parser's
 * negative cases (every field out of range, every truncation, the
 * resource path by the broker's rule), one sealed file decrypted with
 * nothing but OpenSSL and the layout in docs/sealed-model.md (so the
 * document and the code cannot drift apart unnoticed), and the STREAM
 * nonce at the chunk layer.
 */
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "test_seal_util.h"

TEST(header_parser)
{
	seal_fx f;
	veil_seal_info info;
	uint8_t h[VEIL_SEAL_HEADER_MAX + 8];
	size_t n;

	REQUIRE(fx_init(&f, 4097, 0, "repo-1/model_type/v1.2"));
	n = f.info.header_len;
	REQUIRE(n == VEIL_SEAL_HEADER_MIN + strlen("repo-1/model_type/v1.2"));
	memcpy(h, f.file, n);
	EXPECT_OK(veil_seal_header_parse(h, n, &info));
	EXPECT(info.header_len == n && info.plaintext_len == 4097 && info.chunk_count == 2);
	EXPECT(strcmp(info.resource, "repo-1/model_type/v1.2") == 0);
	/* The chunks follow the header: more bytes are not read. */
	EXPECT_OK(veil_seal_header_parse(f.file, f.file_len, &info));
	EXPECT(info.header_len == n);
	/* Cut anywhere inside: truncated, and nothing left in info. */
	for (size_t cut = 0; cut < n; cut++) {
		EXPECT_ERR(veil_seal_header_parse(h, cut, &info), VEIL_E_TRUNCATED);
		EXPECT(info.header_len == 0);
	}

#define PARSE_WITH(off, val, want)                                                                 \
	do {                                                                                       \
		uint8_t saved_ = h[off];                                                           \
		h[off] = (val);                                                                    \
		EXPECT_ERR(veil_seal_header_parse(h, n, &info), want);                             \
		h[off] = saved_;                                                                   \
	} while (0)
	PARSE_WITH(0, 'v', VEIL_E_MALFORMED);   /* magic */
	PARSE_WITH(7, 'X', VEIL_E_MALFORMED);   /* magic */
	PARSE_WITH(8, 2, VEIL_E_UNSUPPORTED);   /* version 2 */
	PARSE_WITH(9, 1, VEIL_E_UNSUPPORTED);   /* version 257 */
	PARSE_WITH(10, 1, VEIL_E_UNSUPPORTED);  /* AES-128-GCM */
	PARSE_WITH(10, 3, VEIL_E_UNSUPPORTED);  /* ChaCha20-Poly1305 */
	PARSE_WITH(12, 11, VEIL_E_MALFORMED);   /* 2 KiB chunks */
	PARSE_WITH(12, 25, VEIL_E_MALFORMED);   /* 32 MiB chunks */
	PARSE_WITH(12, 255, VEIL_E_MALFORMED);  /* 2^255 */
	PARSE_WITH(13, 1, VEIL_E_MALFORMED);    /* reserved */
	PARSE_WITH(15, 0x80, VEIL_E_MALFORMED); /* reserved */
	PARSE_WITH(23, 0x01, VEIL_E_LIMIT);     /* 2^56 bytes of plaintext */
	PARSE_WITH(21, 0x01, VEIL_E_LIMIT);     /* 2^40 + ... */
	PARSE_WITH(95, 1, VEIL_E_MALFORMED);    /* reserved */
	PARSE_WITH(97, 1, VEIL_E_LIMIT);        /* path of 256 + n bytes */
	PARSE_WITH(98, '.', VEIL_E_MALFORMED);  /* ".epo-1/..." */
	PARSE_WITH(100, '/', VEIL_E_MALFORMED); /* four segments */
	PARSE_WITH(98, 0, VEIL_E_MALFORMED);    /* NUL inside */
	PARSE_WITH(99, ' ', VEIL_E_MALFORMED);  /* space */
	PARSE_WITH(103, '/', VEIL_E_MALFORMED); /* empty segment "repo-//..." */
	/* Exactly the cap of 2^40 bytes is allowed. */
	memset(h + 16, 0, 8);
	h[21] = 0x01;
	EXPECT_OK(veil_seal_header_parse(h, n, &info));
	EXPECT(info.plaintext_len == 1ULL << 40 && info.chunk_count == 1ULL << 28);
#undef PARSE_WITH

	/* A header without a path: 130 bytes; the path length then one
	 * byte longer than what is there. */
	fx_free(&f);
	REQUIRE(fx_init(&f, 10, 0, NULL));
	EXPECT(f.info.header_len == VEIL_SEAL_HEADER_MIN);
	EXPECT_OK(veil_seal_header_parse(f.file, VEIL_SEAL_HEADER_MIN, &info));
	memcpy(h, f.file, VEIL_SEAL_HEADER_MIN);
	h[96] = 1;
	EXPECT_ERR(veil_seal_header_parse(h, VEIL_SEAL_HEADER_MIN, &info), VEIL_E_TRUNCATED);
	fx_free(&f);
}

/* HKDF-SHA256 (RFC 5869) through OpenSSL's KDF, not Veil's. */
static bool hkdf(const uint8_t *salt, const uint8_t *key, const char *info, uint8_t out[32])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, 32),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, 32),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
	    OSSL_PARAM_construct_end(),
	};
	bool ok = ctx != NULL && EVP_KDF_derive(ctx, out, 32, params) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok;
}

TEST(format_matches_the_document)
{
	/* docs/sealed-model.md, decrypted with OpenSSL alone. */
	seal_fx f;
	uint8_t chunk_key[32], mac_key[32], mac[32], aad[32], nonce[12], *pt, *p;
	unsigned mac_len = 0;
	size_t hlen, path_len, cs, pos, done = 0;
	uint64_t len, count;

	REQUIRE(fx_init(&f, 3 * 4096 + 1000, 0, "default/model/doc"));
	p = f.file;
	EXPECT(memcmp(p, "VEILSEAL", 8) == 0);
	EXPECT(p[8] == 1 && p[9] == 0 && p[10] == 2 && p[11] == 0); /* version 1, AES-256-GCM */
	cs = (size_t)1 << p[12];
	EXPECT(cs == 4096);
	len = 0;
	for (int i = 7; i >= 0; i--)
		len = len << 8 | p[16 + i];
	EXPECT(len == f.len);
	path_len = (size_t)p[96] | (size_t)p[97] << 8;
	EXPECT(path_len == strlen("default/model/doc") &&
	       memcmp(p + 98, "default/model/doc", path_len) == 0);
	hlen = 98 + path_len + 32;
	REQUIRE(hkdf(p + 56, f.key, "veil-seal v1 chunk key", chunk_key));
	REQUIRE(hkdf(p + 56, f.key, "veil-seal v1 header mac", mac_key));
	REQUIRE(HMAC(EVP_sha256(), mac_key, 32, p, hlen - 32, mac, &mac_len) != NULL);
	EXPECT(mac_len == 32 && memcmp(mac, p + hlen - 32, 32) == 0);
	REQUIRE(EVP_Digest(p, hlen, aad, NULL, EVP_sha256(), NULL) == 1);
	count = (len + cs - 1) / cs;
	pt = malloc(len);
	REQUIRE(pt != NULL);
	pos = hlen;
	for (uint64_t i = 0; i < count; i++) {
		size_t n = i + 1 < count ? cs : (size_t)(len - i * cs);
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		int out = 0;
		memcpy(nonce, p + 88, 7);
		nonce[7] = (uint8_t)(i >> 24);
		nonce[8] = (uint8_t)(i >> 16);
		nonce[9] = (uint8_t)(i >> 8);
		nonce[10] = (uint8_t)i;
		nonce[11] = i + 1 == count;
		EXPECT(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, chunk_key, nonce) == 1);
		EXPECT(EVP_DecryptUpdate(c, NULL, &out, aad, 32) == 1);
		EXPECT(EVP_DecryptUpdate(c, pt + done, &out, p + pos, (int)n) == 1);
		EXPECT(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, p + pos + n) == 1);
		EXPECT(EVP_DecryptFinal_ex(c, pt + done + n, &out) == 1);
		EVP_CIPHER_CTX_free(c);
		pos += n + 16;
		done += n;
	}
	EXPECT(pos == f.file_len);
	EXPECT(memcmp(pt, f.data, f.len) == 0);
	REQUIRE(EVP_Digest(pt, len, mac, NULL, EVP_sha256(), NULL) == 1);
	EXPECT(memcmp(mac, p + 24, 32) == 0);
	free(pt);
	fx_free(&f);
}

TEST(stream_nonce_binds_counter_and_last_flag)
{
	/* The chunk layer alone: a chunk opens only at its own position and
	 * with its own "last" flag (HRRV STREAM). */
	seal_keys keys;
	EVP_CIPHER_CTX *enc = NULL, *dec = NULL;
	uint8_t buf[64], copy[64], tag[16];

	memset(&keys, 0x42, sizeof keys);
	REQUIRE(seal_cipher_new(&keys, true, &enc) == VEIL_OK);
	REQUIRE(seal_cipher_new(&keys, false, &dec) == VEIL_OK);
	memset(buf, 7, sizeof buf);
	EXPECT_OK(seal_chunk_encrypt(enc, &keys, 2, 5, buf, sizeof buf, tag)); /* 3rd of 5 */
	memcpy(copy, buf, sizeof buf);
	EXPECT_OK(seal_chunk_decrypt(dec, &keys, 2, 5, buf, sizeof buf, tag));
	EXPECT(buf[0] == 7 && buf[63] == 7);
	memcpy(buf, copy, sizeof buf);
	EXPECT_ERR(seal_chunk_decrypt(dec, &keys, 2, 3, buf, sizeof buf, tag), VEIL_E_VERIFY);
	EXPECT(buf[0] == 0 && buf[63] == 0); /* wiped, not half-decrypted */
	memcpy(buf, copy, sizeof buf);
	EXPECT_ERR(seal_chunk_decrypt(dec, &keys, 1, 5, buf, sizeof buf, tag), VEIL_E_VERIFY);
	memcpy(buf, copy, sizeof buf);
	EXPECT_ERR(seal_chunk_decrypt(dec, &keys, 3, 5, buf, sizeof buf, tag), VEIL_E_VERIFY);
	memcpy(buf, copy, sizeof buf);
	keys.header_hash[0] ^= 1; /* another file's header */
	EXPECT_ERR(seal_chunk_decrypt(dec, &keys, 2, 5, buf, sizeof buf, tag), VEIL_E_VERIFY);
	EVP_CIPHER_CTX_free(enc);
	EVP_CIPHER_CTX_free(dec);
}

int main(void)
{
	RUN(header_parser);
	RUN(format_matches_the_document);
	RUN(stream_nonce_binds_counter_and_last_flag);
	return harness_finish("test_seal_format");
}

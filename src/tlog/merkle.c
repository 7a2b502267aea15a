/*
 * merkle.c - the hashing of the transparency log (RFC 9162 section 2.1.1):
 * leaf and node hashes, the root of a list of leaves, and the hasher that
 * the tree and the verifiers run every hash through.
 *
 * RFC 9162 section 2.1.1 defines the Merkle Tree Hash of a list of n
 * entries as SHA-256("") for n = 0, SHA-256(0x00 || d[0]) for n = 1, and
 * otherwise SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])) with k the largest
 * power of two smaller than n. The 0x00 and 0x01 prefixes keep a leaf from
 * ever being taken for an inner node, so no one can present the hash of
 * two subtrees as an entry (a second preimage of the tree).
 *
 * A hasher holds one digest context for all the hashes of one operation:
 * a proof is some tens of 65-byte hashes, and making a context for each
 * (as EVP_Digest does) would cost as much as the hashing. SHA-256 is
 * fetched from the provider once per process.
 */
#include <pthread.h>
#include <string.h>

#include "tlog/tlog_internal.h"
#include "veil/crypto.h"

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

veil_err tlog_hasher_init(tlog_hasher *h)
{
	pthread_once(&sha256_once, sha256_fetch);
	h->ctx = NULL;
	if (sha256_md == NULL)
		return veil_openssl_fail(VEIL_E_CRYPTO,
					 "transparency log: SHA-256 is not available");
	h->ctx = EVP_MD_CTX_new();
	ENSURE(h->ctx != NULL, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

void tlog_hasher_clear(tlog_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

/* SHA-256 over prefix || a || b (b may be NULL). */
static veil_err hash3(tlog_hasher *h, uint8_t prefix, const uint8_t *a, size_t a_len,
		      const uint8_t *b, size_t b_len, veil_tlog_hash out)
{
	unsigned int len = 0;

	if (EVP_DigestInit_ex2(h->ctx, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, &prefix, 1) != 1 ||
	    (a_len > 0 && EVP_DigestUpdate(h->ctx, a, a_len) != 1) ||
	    (b_len > 0 && EVP_DigestUpdate(h->ctx, b, b_len) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != VEIL_TLOG_HASH_LEN)
		return veil_openssl_fail(VEIL_E_CRYPTO, "transparency log: SHA-256");
	return VEIL_OK;
}

veil_err tlog_hash_leaf(tlog_hasher *h, const uint8_t *data, size_t len, veil_tlog_hash out)
{
	return hash3(h, 0x00, data, len, NULL, 0, out);
}

veil_err tlog_hash_node(tlog_hasher *h, const veil_tlog_hash l, const veil_tlog_hash r,
			veil_tlog_hash out)
{
	/* One update of 65 bytes: each EVP_DigestUpdate call has a cost of
	 * its own, comparable to a compression at this size. */
	uint8_t buf[1 + 2 * VEIL_TLOG_HASH_LEN];
	unsigned int len = 0;

	buf[0] = 0x01;
	memcpy(buf + 1, l, VEIL_TLOG_HASH_LEN);
	memcpy(buf + 1 + VEIL_TLOG_HASH_LEN, r, VEIL_TLOG_HASH_LEN);
	if (EVP_DigestInit_ex2(h->ctx, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, buf, sizeof buf) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != VEIL_TLOG_HASH_LEN)
		return veil_openssl_fail(VEIL_E_CRYPTO, "transparency log: SHA-256");
	return VEIL_OK;
}

void tlog_empty_root(veil_tlog_hash out)
{
	/* SHA-256 of the empty string (FIPS 180-4; RFC 9162 section 2.1.1:
	 * MTH({}) = HASH()). */
	static const veil_tlog_hash empty = {
	    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
	    0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
	    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};

	memcpy(out, empty, VEIL_TLOG_HASH_LEN);
}

uint64_t tlog_split(uint64_t n)
{
	/* n >= 2: the highest bit of n - 1. */
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

veil_err veil_tlog_leaf_hash(const uint8_t *data, size_t len, veil_tlog_hash out)
{
	tlog_hasher h;
	veil_err err;

	ENSURE(out != NULL && (data != NULL || len == 0), VEIL_E_USAGE,
	       "veil_tlog_leaf_hash: NULL argument");
	TRY(tlog_hasher_init(&h));
	err = tlog_hash_leaf(&h, data, len, out);
	tlog_hasher_clear(&h);
	return err;
}

veil_err veil_tlog_node_hash(const veil_tlog_hash l, const veil_tlog_hash r, veil_tlog_hash out)
{
	tlog_hasher h;
	veil_err err;

	ENSURE(l != NULL && r != NULL && out != NULL, VEIL_E_USAGE,
	       "veil_tlog_node_hash: NULL argument");
	TRY(tlog_hasher_init(&h));
	err = tlog_hash_node(&h, l, r, out);
	tlog_hasher_clear(&h);
	return err;
}

/* MTH of leaves[0..n), n >= 1, by the definition: n - 1 node hashes,
 * recursion as deep as the tree (at most 64). */
static veil_err mth(tlog_hasher *h, const veil_tlog_hash *leaves, uint64_t n, veil_tlog_hash out)
{
	veil_tlog_hash l, r;
	uint64_t k;

	if (n == 1) {
		memcpy(out, leaves[0], VEIL_TLOG_HASH_LEN);
		return VEIL_OK;
	}
	k = tlog_split(n);
	TRY(mth(h, leaves, k, l));
	TRY(mth(h, leaves + k, n - k, r));
	return tlog_hash_node(h, l, r, out);
}

veil_err veil_tlog_root_of(const veil_tlog_hash *leaves, uint64_t n, veil_tlog_hash out)
{
	tlog_hasher h;
	veil_err err;

	ENSURE(out != NULL && (leaves != NULL || n == 0), VEIL_E_USAGE,
	       "veil_tlog_root_of: NULL argument");
	if (n == 0) {
		tlog_empty_root(out);
		return VEIL_OK;
	}
	TRY(tlog_hasher_init(&h));
	err = mth(&h, leaves, n, out);
	tlog_hasher_clear(&h);
	return err;
}

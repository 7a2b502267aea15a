/*
 * snp_cache.c - remembers VEKs whose chain has been verified.
 *
 * A long-running verifier (the key broker, the gateway) sees the same
 * machines again and again. Finding the VCEK in the collateral (parsing every
 * certificate) and verifying VCEK -> ASK -> ARK (three RSA-4096 PSS checks)
 * costs far more than the report signature itself, and gives the same answer
 * as long as the collateral and the report's chip and TCB are the same. So
 * the verifier's SNP slot keeps, per (collateral id, signer, CHIP_ID,
 * REPORTED_TCB, layout), the VEK's public key, its extensions, the product it
 * chained to and the chain's validity window. The window is checked against
 * the verification time on every use, and the collateral id changes whenever
 * the collateral does, so an entry never outlives what it was built from.
 * At most VEIL_VERIFIER_CACHE_MAX entries; the least recently used goes.
 */
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/snp/snp_report.h"
#include "veil/crypto.h"
#include "veil/limits.h"
#include "veil/x509.h"

struct snp_cache {
	struct snp_cache_entry entry[VEIL_VERIFIER_CACHE_MAX];
	size_t count;
	uint64_t tick;
};

static bool key_equal(const struct snp_cache_key *a, const struct snp_cache_key *b)
{
	return a->collateral_id == b->collateral_id && a->signer == b->signer &&
	       a->reported_tcb == b->reported_tcb && a->layout == b->layout &&
	       memcmp(a->chip_id, b->chip_id, sizeof a->chip_id) == 0;
}

const struct snp_cache_entry *snp_cache_lookup(void *cache, const struct snp_cache_key *k)
{
	struct snp_cache *c = cache;

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < c->count; i++) {
		if (key_equal(&c->entry[i].key, k)) {
			c->entry[i].last_used = ++c->tick;
			return &c->entry[i];
		}
	}
	return NULL;
}

static void entry_clear(struct snp_cache_entry *e)
{
	EVP_PKEY_free(e->pkey);
	memset(e, 0, sizeof *e);
}

/* The slot for a new entry: a free one, the one with the same key, or the
 * least recently used. */
static struct snp_cache_entry *slot_for(struct snp_cache *c, const struct snp_cache_key *k)
{
	size_t lru = 0;

	for (size_t i = 0; i < c->count; i++) {
		if (key_equal(&c->entry[i].key, k)) {
			entry_clear(&c->entry[i]);
			return &c->entry[i];
		}
		if (c->entry[i].last_used < c->entry[lru].last_used)
			lru = i;
	}
	if (c->count < VEIL_VERIFIER_CACHE_MAX)
		return &c->entry[c->count++];
	entry_clear(&c->entry[lru]);
	return &c->entry[lru];
}

veil_err snp_cache_insert(void **cache, const struct snp_cache_key *k, X509 *vek,
			  const struct snp_vek_ext *ext, enum snp_product product,
			  int64_t not_before, int64_t not_after)
{
	struct snp_cache *c = *cache;
	struct snp_cache_entry *e;
	EVP_PKEY *pkey;
	uint8_t fp[32];

	TRY(veil_cert_sha256(vek, fp));
	pkey = X509_get_pubkey(vek);
	if (pkey == NULL)
		return veil_openssl_fail(VEIL_E_CRYPTO, "VEK public key");
	if (c == NULL) {
		c = calloc(1, sizeof *c);
		if (c == NULL) {
			EVP_PKEY_free(pkey);
			return veil_fail(VEIL_E_NOMEM, "SNP cache: out of memory");
		}
		*cache = c;
	}
	e = slot_for(c, k);
	e->key = *k;
	memcpy(e->vek_sha256, fp, sizeof fp);
	e->pkey = pkey;
	e->ext = *ext;
	e->product = product;
	e->not_before = not_before;
	e->not_after = not_after;
	e->last_used = ++c->tick;
	return VEIL_OK;
}

size_t snp_cache_count(const void *cache)
{
	const struct snp_cache *c = cache;

	return c == NULL ? 0 : c->count;
}

void snp_cache_free(void *cache)
{
	struct snp_cache *c = cache;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->count; i++)
		entry_clear(&c->entry[i]);
	free(c);
}

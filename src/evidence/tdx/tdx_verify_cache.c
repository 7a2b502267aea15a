/*
 * tdx_verify_cache.c - what a long-lived TDX verifier remembers between
 * quotes.
 *
 * A key broker or gateway sees quotes from the same few platforms again and
 * again. Parsing and verifying the PCK chain, and loading and verifying the
 * collateral (signatures, CRLs), cost far more than the one ECDSA
 * verification specific to each quote, and give the same answer as long as
 * the chain's bytes, the collateral set and the time window are the same. So
 * the verifier's TDX slot keeps verified PCK chains (keyed by the quote's
 * PEM bytes, compared in full, and the collateral id), with the last
 * attestation key and QE report verified under each, and loaded collateral
 * (keyed by collateral id and FMSPC). Every entry carries the window in
 * which it holds and is found only inside it; the collateral id changes
 * whenever the collateral does. At most VEIL_VERIFIER_CACHE_MAX entries of
 * each kind; the least recently used goes. What may be reused, and the
 * checks recorded for it, is tdx_verify.c's business.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/tdx/tdx_verify_cache.h"
#include "veil/limits.h"

/* Verified collateral for one FMSPC (possibly without TCB Info, when the
 * set had none: then only its CRLs matter). */
typedef struct col_entry {
	uint64_t stamp;
	uint64_t col_id;
	uint8_t fmspc[6];
	int64_t from, until; /* tdx_collateral_window: reusable only in it */
	tdx_collateral *col;
} col_entry;

struct tdx_cache {
	tdx_chain_entry chain[VEIL_VERIFIER_CACHE_MAX];
	col_entry col[VEIL_VERIFIER_CACHE_MAX];
	uint64_t clock;
};

static void chain_entry_clear(tdx_chain_entry *e)
{
	X509_free(e->leaf);
	EVP_PKEY_free(e->ak);
	free(e->pem);
	free(e->qe_auth);
	memset(e, 0, sizeof *e);
}

tdx_cache *tdx_cache_new(void)
{
	return calloc(1, sizeof(tdx_cache));
}

void tdx_cache_free(void *cache)
{
	tdx_cache *c = cache;

	if (c == NULL)
		return;
	for (size_t i = 0; i < VEIL_VERIFIER_CACHE_MAX; i++) {
		chain_entry_clear(&c->chain[i]);
		tdx_collateral_free(c->col[i].col);
	}
	free(c);
}

/* The free slot, or the least recently used one (evicted by the caller). */
#define LRU_SLOT(arr, out)                                                                         \
	do {                                                                                       \
		(out) = &(arr)[0];                                                                 \
		for (size_t i_ = 0; i_ < VEIL_VERIFIER_CACHE_MAX; i_++)                            \
			if ((arr)[i_].stamp < (out)->stamp)                                        \
				(out) = &(arr)[i_];                                                \
	} while (0)

/* --- collateral ---------------------------------------------------------- */

static col_entry *col_lookup(tdx_cache *c, uint64_t col_id, const uint8_t fmspc[6], int64_t at)
{
	for (size_t i = 0; c != NULL && i < VEIL_VERIFIER_CACHE_MAX; i++) {
		col_entry *e = &c->col[i];
		if (e->stamp != 0 && e->col_id == col_id &&
		    memcmp(e->fmspc, fmspc, sizeof e->fmspc) == 0 && at >= e->from && at < e->until)
			return e;
	}
	return NULL;
}

tdx_collateral *tdx_cache_col_get(tdx_cache *c, uint64_t col_id, const uint8_t fmspc[6], int64_t at)
{
	col_entry *e = col_lookup(c, col_id, fmspc, at);

	if (e == NULL)
		return NULL;
	e->stamp = ++c->clock;
	return e->col;
}

void tdx_cache_col_put(tdx_cache *c, uint64_t col_id, const uint8_t fmspc[6], tdx_collateral *col)
{
	col_entry *e;

	LRU_SLOT(c->col, e);
	tdx_collateral_free(e->col);
	e->stamp = ++c->clock;
	e->col_id = col_id;
	memcpy(e->fmspc, fmspc, sizeof e->fmspc);
	tdx_collateral_window(col, &e->from, &e->until);
	e->col = col;
}

/* --- PCK chains ------------------------------------------------------------ */

static tdx_chain_entry *chain_lookup(tdx_cache *c, const tdx_chain_key *k)
{
	for (size_t i = 0; c != NULL && i < VEIL_VERIFIER_CACHE_MAX; i++) {
		tdx_chain_entry *e = &c->chain[i];
		if (e->stamp != 0 && e->col_id == k->col_id && k->at >= e->col_from &&
		    k->at < e->col_until && e->pem_len == k->pem_len &&
		    memcmp(e->pem, k->pem, k->pem_len) == 0)
			return e;
	}
	return NULL;
}

tdx_chain_entry *tdx_cache_chain_get(tdx_cache *c, const tdx_chain_key *k)
{
	tdx_chain_entry *e = chain_lookup(c, k);

	/* notAfter is exclusive, as in OpenSSL's own check (X509_cmp_time). */
	if (e == NULL || e->not_before > k->at || k->at >= e->not_after)
		return NULL;
	e->stamp = ++c->clock;
	return e;
}

tdx_chain_entry *tdx_cache_chain_put(tdx_cache *c, const tdx_chain_key *k,
				     const tdx_collateral *col, X509 *leaf, const tdx_pck_ext *ext,
				     bool processor_ca, bool revocation_checked, int64_t not_before,
				     int64_t not_after)
{
	if (c == NULL)
		return NULL;
	tdx_chain_entry *e = chain_lookup(c, k); /* a stale entry for the same key */
	if (e == NULL)
		LRU_SLOT(c->chain, e);
	chain_entry_clear(e);
	e->pem = malloc(k->pem_len);
	if (e->pem == NULL)
		return NULL; /* not remembered; the verdict stands */
	memcpy(e->pem, k->pem, k->pem_len);
	e->pem_len = k->pem_len;
	e->stamp = ++c->clock;
	e->col_id = k->col_id;
	e->col_from = INT64_MIN;
	e->col_until = INT64_MAX;
	if (col != NULL)
		tdx_collateral_window(col, &e->col_from, &e->col_until);
	X509_up_ref(leaf);
	e->leaf = leaf;
	e->ext = *ext;
	e->processor_ca = processor_ca;
	e->revocation_checked = revocation_checked;
	e->not_before = not_before;
	e->not_after = not_after;
	return e;
}

/* --- the QE report under a cached chain -------------------------------------- */

bool tdx_cache_qe_matches(const tdx_chain_entry *e, const tdx_quote *q)
{
	return e != NULL && e->qe_verified && e->qe_auth_len == q->qe_auth_len &&
	       memcmp(e->qe_report, q->raw + q->qe_report_off, TDX_QE_REPORT_LEN) == 0 &&
	       memcmp(e->qe_sig, q->qe_report_sig, TDX_ECDSA_SIG_LEN) == 0 &&
	       memcmp(e->qe_ak, q->attest_key, TDX_ECDSA_KEY_LEN) == 0 &&
	       (q->qe_auth_len == 0 ||
		memcmp(e->qe_auth, q->raw + q->qe_auth_off, q->qe_auth_len) == 0);
}

void tdx_cache_qe_remember(tdx_chain_entry *e, const tdx_quote *q)
{
	uint8_t *auth;

	if (e == NULL)
		return;
	auth = malloc(q->qe_auth_len ? q->qe_auth_len : 1);
	if (auth == NULL)
		return; /* not remembered; the verdict stands */
	if (q->qe_auth_len > 0)
		memcpy(auth, q->raw + q->qe_auth_off, q->qe_auth_len);
	free(e->qe_auth);
	e->qe_auth = auth;
	e->qe_auth_len = q->qe_auth_len;
	memcpy(e->qe_report, q->raw + q->qe_report_off, TDX_QE_REPORT_LEN);
	memcpy(e->qe_sig, q->qe_report_sig, TDX_ECDSA_SIG_LEN);
	memcpy(e->qe_ak, q->attest_key, TDX_ECDSA_KEY_LEN);
	e->qe_verified = true;
}

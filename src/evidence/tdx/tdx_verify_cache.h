/*
 * tdx_verify_cache.h - the TDX verifier's cache slot (internal to the tdx
 * module).
 *
 * tdx_verify.c decides what may be reused and when; tdx_verify_cache.c keeps
 * the entries: verified PCK chains (with the last attestation key and QE
 * report seen under each) and loaded collateral, at most
 * VEIL_VERIFIER_CACHE_MAX of each, the least recently used evicted first.
 * This header is the hand-over between the two; nothing else includes it.
 */
#ifndef VEIL_TDX_VERIFY_CACHE_H
#define VEIL_TDX_VERIFY_CACHE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/tdx/tdx_collateral.h"
#include "evidence/tdx/tdx_quote.h"

/* A verified PCK chain. */
typedef struct tdx_chain_entry {
	uint64_t stamp; /* 0: free slot; else last use, for LRU eviction */
	/* Key: the PEM bytes as in the quote, compared in full. Equivalent
	 * to keying by their SHA-256, without hashing 3.7 KB per call (2 us,
	 * a few percent of a warm verification). */
	uint8_t *pem;
	size_t pem_len;
	uint64_t col_id;
	int64_t col_from, col_until; /* the collateral's window (CRLs applied) */
	X509 *leaf;                  /* one reference */
	tdx_pck_ext ext;
	bool processor_ca;
	bool revocation_checked;
	int64_t not_before, not_after;    /* intersection of certificate and CRL windows */
	uint8_t ak_xy[TDX_ECDSA_KEY_LEN]; /* last attestation key seen with this chain */
	EVP_PKEY *ak;
	/* The last QE report that verified under this leaf: its signature and
	 * its binding of the attestation key are pure functions of these bytes
	 * and the leaf key, and are the same in every quote of one platform. */
	bool qe_verified;
	uint8_t qe_report[TDX_QE_REPORT_LEN];
	uint8_t qe_sig[TDX_ECDSA_SIG_LEN];
	uint8_t qe_ak[TDX_ECDSA_KEY_LEN];
	uint8_t *qe_auth;
	size_t qe_auth_len;
} tdx_chain_entry;

/* What a cached chain is found by: the quote's PCK certification data and
 * the collateral set it was checked with, at the verification time (an
 * entry is found only inside its collateral's window). */
typedef struct tdx_chain_key {
	const uint8_t *pem; /* borrowed */
	size_t pem_len;
	uint64_t col_id; /* the collateral set's id; 0 without one */
	int64_t at;
} tdx_chain_key;

typedef struct tdx_cache tdx_cache;

/* An empty cache (NULL: out of memory); tdx_cache_free (tdx_quote.h) frees. */
tdx_cache *tdx_cache_new(void);

/* Collateral loaded earlier from set col_id for this FMSPC, usable at `at`
 * (inside its window), marked as just used; borrowed from the cache. NULL
 * when there is none or c is NULL. */
tdx_collateral *tdx_cache_col_get(tdx_cache *c, uint64_t col_id, const uint8_t fmspc[6],
				  int64_t at);
/* Takes over col, loaded from set col_id for this FMSPC, evicting the least
 * recently used entry when the cache is full. */
void tdx_cache_col_put(tdx_cache *c, uint64_t col_id, const uint8_t fmspc[6], tdx_collateral *col);

/* The chain verified earlier under this key, if its certificates and CRLs
 * are still valid at k->at; marked as just used. NULL otherwise, or when c
 * is NULL. */
tdx_chain_entry *tdx_cache_chain_get(tdx_cache *c, const tdx_chain_key *k);
/*
 * Remembers a chain verified under this key: its leaf (a reference is
 * taken), extensions, CA kind, whether revocation was checked and the window
 * [not_before, not_after] in which all of that holds, with col's window
 * (col may be NULL: no collateral). Replaces a stale entry for the same key,
 * else the least recently used one. Returns the entry, or NULL when nothing
 * was remembered (c is NULL, or out of memory: the verdict stands).
 */
tdx_chain_entry *tdx_cache_chain_put(tdx_cache *c, const tdx_chain_key *k,
				     const tdx_collateral *col, X509 *leaf, const tdx_pck_ext *ext,
				     bool processor_ca, bool revocation_checked, int64_t not_before,
				     int64_t not_after);

/* True when chain entry e (may be NULL) already verified exactly this
 * quote's QE report, signature, attestation key and QE auth data. Every byte
 * is compared. */
bool tdx_cache_qe_matches(const tdx_chain_entry *e, const tdx_quote *q);
/* Remembers q's QE report, which passed both checks under e's leaf (e may
 * be NULL: nothing to do). */
void tdx_cache_qe_remember(tdx_chain_entry *e, const tdx_quote *q);

#endif

/*
 * nv_cache.c - finding GPU certificate chains and RIMs among the collateral.
 *
 * Collateral is matched by content, never by file name (collateral.h): a
 * blob holding certificates that chain towards the NVIDIA Device Identity CA
 * is a GPU chain; a blob holding an XML SWID tag is a RIM. What is found is
 * parsed once per collateral set and kept in the nv_cache, which a
 * long-lived verifier keeps between reports and a one-shot verification
 * builds and drops. A blob that looks like a RIM but does not parse is an
 * error: a RIM directory is read completely or not at all. Blobs that are
 * neither (a VCEK, TDX collateral, an OCSP response) are left to the modules
 * that read them.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/nvidia/nv_verify.h"

static void cache_clear(nv_cache *c)
{
	for (size_t i = 0; i < c->chain_count; i++)
		sk_X509_pop_free(c->chain[i].certs, X509_free);
	for (size_t i = 0; i < c->rim_count; i++)
		rim_free(c->rim[i].rim);
	memset(c, 0, sizeof *c);
}

void nv_cache_free(void *cache)
{
	nv_cache *c = cache;

	if (c == NULL)
		return;
	cache_clear(c);
	free(c);
}

static bool blob_is_rim(const veil_blob *b)
{
	static const char tag[] = "<SoftwareIdentity";

	return memmem(b->data, b->len, tag, sizeof tag - 1) != NULL;
}

/* A bundle belongs to a GPU if one of its certificates is the device root
 * or is issued by it (the "NVIDIA <chip> Identity" CA). */
static bool certs_are_gpu_chain(STACK_OF(X509) * certs)
{
	X509 *root = nv_device_root();

	if (root == NULL)
		return false;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		if (X509_cmp(x, root) == 0 ||
		    X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(root)) == 0)
			return true;
	}
	return false;
}

static veil_err add_chain(nv_cache *c, const veil_blob *b, STACK_OF(X509) * certs)
{
	nv_chain *ch = &c->chain[c->chain_count];
	uint8_t fwid[NV_DIGEST_LEN];

	ENSURE(c->chain_count < NV_CACHE_CHAINS_MAX, VEIL_E_LIMIT, "too many GPU chains");
	memset(ch, 0, sizeof *ch);
	ch->certs = certs;
	ch->origin = b->origin;
	/* A leaf without an FWID is kept: the verifier reports it. */
	if (nv_cert_fwid(sk_X509_value(certs, 0), fwid) == VEIL_OK) {
		ch->has_fwid = true;
		memcpy(ch->fwid, fwid, sizeof fwid);
	}
	veil_err_clear();
	c->chain_count++;
	return VEIL_OK;
}

static veil_err add_rim(nv_cache *c, const veil_blob *b)
{
	nv_rim_entry *e = &c->rim[c->rim_count];
	veil_err err;

	ENSURE(c->rim_count < NV_CACHE_RIMS_MAX, VEIL_E_LIMIT, "too many RIMs");
	memset(e, 0, sizeof *e);
	err = rim_parse(b->data, b->len, &e->rim);
	if (err != VEIL_OK)
		return veil_fail_context(err, "RIM %s", b->origin);
	e->origin = b->origin;
	c->rim_count++;
	return VEIL_OK;
}

veil_err nv_cache_sync(nv_cache *c, const veil_collateral *coll)
{
	uint64_t id = coll != NULL ? coll->id : 0;

	if (c->built && c->collateral_id == id)
		return VEIL_OK;
	cache_clear(c);
	c->collateral_id = id;
	for (size_t i = 0; coll != NULL && i < coll->count; i++) {
		const veil_blob *b = &coll->blob[i];
		STACK_OF(X509) *certs = NULL;
		OCSP_RESPONSE *resp = NULL;
		veil_err err;

		if (blob_is_rim(b)) {
			err = add_rim(c, b);
			if (err != VEIL_OK) {
				cache_clear(c);
				return err;
			}
			continue;
		}
		if (veil_ocsp_response_parse(b->data, b->len, &resp) == VEIL_OK) {
			OCSP_RESPONSE_free(resp);
			c->has_ocsp = true;
			continue;
		}
		if (veil_certs_parse(b->data, b->len, &certs) != VEIL_OK)
			continue; /* not ours: another module's collateral */
		if (!certs_are_gpu_chain(certs)) {
			sk_X509_pop_free(certs, X509_free);
			continue;
		}
		err = add_chain(c, b, certs);
		if (err != VEIL_OK) {
			sk_X509_pop_free(certs, X509_free);
			cache_clear(c);
			return err;
		}
	}
	veil_err_clear();
	c->collateral_id = id;
	c->built = true;
	return VEIL_OK;
}

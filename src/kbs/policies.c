/*
 * policies.c - the set of policies the broker judges by (appraisal policy,
 * reference values, resource policy), built from documents, and swapped
 * whole when the admin API changes one of them.
 *
 * The store is the one source: documents given at start (the daemon's
 * flags) are validated and stored first, admin updates are validated and
 * stored, and every set is built from what is stored. What is absent is
 * the strict default: the built-in appraisal policy (it affirms nothing),
 * no reference values, and no resource policy, so nothing is released. A
 * request takes a reference to the set in force and keeps it to the end,
 * so an update never mixes old and new rules in one decision.
 */
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/secret.h"

static void policies_free(kbs_policies *p)
{
	veil_policy_free(p->policy);
	veil_refvals_free(p->refvals);
	json_decref(p->resource_policy);
	free(p);
}

kbs_policies *kbs_policies_get(veil_kbs *k)
{
	kbs_policies *p;

	pthread_mutex_lock(&k->lock);
	p = k->policies;
	atomic_fetch_add(&p->refs, 1);
	pthread_mutex_unlock(&k->lock);
	return p;
}

void kbs_policies_put(kbs_policies *p)
{
	if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1)
		policies_free(p);
}

void kbs_policies_install(veil_kbs *k, kbs_policies *p)
{
	kbs_policies *old;

	pthread_mutex_lock(&k->lock);
	old = k->policies;
	k->policies = p;
	pthread_mutex_unlock(&k->lock);
	kbs_policies_put(old);
}

typedef struct refvals_load {
	veil_kbs *k;
	veil_refvals *rv;
	size_t count;
} refvals_load;

static veil_err stored_refvals_one(void *user, const char *name)
{
	refvals_load *l = user;
	uint8_t *doc = NULL;
	size_t len = 0;
	veil_err err;

	TRY(veil_store_doc_get(l->k->config.store, KBS_DOC_REFVALS, name, &doc, &len));
	err = veil_refvals_load(l->rv, doc, len, name);
	free(doc);
	l->count++;
	return err;
}

/* An optional stored document: *doc NULL when there is none. */
static veil_err stored_doc(veil_kbs *k, const char *kind, uint8_t **doc, size_t *len)
{
	veil_err err = veil_store_doc_get(k->config.store, kind, KBS_DOC_CURRENT, doc, len);

	if (err == VEIL_E_NOT_FOUND) {
		*doc = NULL;
		*len = 0;
		veil_err_clear();
		return VEIL_OK;
	}
	return err;
}

veil_err kbs_policies_build(veil_kbs *k, kbs_policies **out)
{
	kbs_policies *p = calloc(1, sizeof *p);
	uint8_t *stored = NULL;
	size_t stored_len = 0;
	refvals_load l = {.k = k};
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(p != NULL, VEIL_E_NOMEM, "out of memory");
	atomic_init(&p->refs, 1);
	CHECK(stored_doc(k, KBS_DOC_APPRAISAL, &stored, &stored_len));
	if (stored != NULL)
		err = veil_policy_parse(stored, stored_len, "the stored appraisal policy",
					&p->policy);
	else
		err = veil_policy_default(&p->policy);
	free(stored);
	stored = NULL;
	CHECK(err);
	CHECK(veil_refvals_new(&p->refvals));
	l.rv = p->refvals;
	CHECK(veil_store_doc_list(k->config.store, KBS_DOC_REFVALS, stored_refvals_one, &l));
	CHECK(stored_doc(k, KBS_DOC_RESOURCE, &stored, &stored_len));
	if (stored != NULL)
		err = kbs_policy_parse(stored, stored_len, &p->resource_policy);
	free(stored);
	stored = NULL;
	CHECK(err);
	*out = p;
	return VEIL_OK;
out:
	free(stored);
	policies_free(p);
	return err;
}

veil_err kbs_doc_install(veil_kbs *k, const char *kind, const char *name, const uint8_t *json,
			 size_t len)
{
	/* Validate before storing: a document that does not load must never
	 * become the one the next start (or the next request) reads. */
	if (strcmp(kind, KBS_DOC_APPRAISAL) == 0) {
		veil_policy *p;
		TRY(veil_policy_parse(json, len, "appraisal policy", &p));
		veil_policy_free(p);
	} else if (strcmp(kind, KBS_DOC_RESOURCE) == 0) {
		json_t *p;
		TRY(kbs_policy_parse(json, len, &p));
		json_decref(p);
	} else {
		veil_refvals *rv;
		veil_err err;
		TRY(veil_refvals_new(&rv));
		err = veil_refvals_load(rv, json, len, name);
		veil_refvals_free(rv);
		TRY(err);
	}
	return veil_store_doc_put(k->config.store, kind, name, json, len);
}

veil_err kbs_policies_reload(veil_kbs *k)
{
	kbs_policies *p;

	TRY(kbs_policies_build(k, &p));
	kbs_policies_install(k, p);
	return VEIL_OK;
}

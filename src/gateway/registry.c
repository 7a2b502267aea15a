/*
 * registry.c - the workers the gateway routes to, and the choice of one
 * for each request (docs/gateway.md "Routing").
 *
 * A small array under one mutex: a pick scans it (a deployment has tens
 * of workers, not thousands) and takes the routable worker with the
 * fewest outstanding requests for its capacity ("least outstanding
 * requests"; ties go to the earlier entry). The pick raises the worker's
 * outstanding count and takes a reference under the lock, so a worker
 * removed while the request is in flight stays valid until the request
 * ends; removal only changes its state, and the memory goes with the last
 * reference.
 *
 * Confidentiality is decided here and nowhere else: a pick that asks for
 * a confidential worker considers only workers admitted on evidence, so
 * no later step can fall back to a plain one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway_internal.h"

void gw_registry_init(gw_registry *reg)
{
	memset(reg, 0, sizeof *reg);
	pthread_mutex_init(&reg->mu, NULL);
}

void gw_registry_clear(gw_registry *reg)
{
	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count; i++) {
		atomic_store(&reg->workers[i]->state, GW_REMOVED);
		gw_worker_unref(reg->workers[i]);
	}
	reg->count = 0;
	pthread_mutex_unlock(&reg->mu);
	pthread_mutex_destroy(&reg->mu);
}

gw_worker *gw_worker_new(void)
{
	gw_worker *w = calloc(1, sizeof *w);

	if (w == NULL)
		return NULL;
	atomic_init(&w->refs, 1);
	atomic_init(&w->state, GW_ADMITTED);
	atomic_init(&w->outstanding, 0);
	return w;
}

void gw_worker_ref(gw_worker *w)
{
	atomic_fetch_add(&w->refs, 1);
}

void gw_worker_unref(gw_worker *w)
{
	if (w == NULL || atomic_fetch_sub(&w->refs, 1) != 1)
		return;
	gw_attested_clear(&w->att);
	free(w);
}

veil_err gw_registry_add(gw_registry *reg, gw_worker *w, gw_worker **replaced)
{
	veil_err err = VEIL_OK;

	*replaced = NULL;
	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count; i++) {
		if (strcmp(reg->workers[i]->id, w->id) != 0)
			continue;
		/* The registry's reference passes to the caller. */
		*replaced = reg->workers[i];
		atomic_store(&(*replaced)->state, GW_REMOVED);
		reg->workers[i] = reg->workers[--reg->count];
		break;
	}
	if (reg->count == VEIL_GW_WORKERS_MAX) {
		err = veil_fail(VEIL_E_LIMIT, "the gateway holds %d workers already",
				VEIL_GW_WORKERS_MAX);
	} else {
		gw_worker_ref(w);
		reg->workers[reg->count++] = w;
	}
	pthread_mutex_unlock(&reg->mu);
	return err;
}

bool gw_registry_remove(gw_registry *reg, gw_worker *w)
{
	bool found = false;

	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count; i++) {
		if (reg->workers[i] != w)
			continue;
		reg->workers[i] = reg->workers[--reg->count];
		found = true;
		break;
	}
	atomic_store(&w->state, GW_REMOVED);
	pthread_mutex_unlock(&reg->mu);
	if (found)
		gw_worker_unref(w);
	return found;
}

gw_worker *gw_registry_find(gw_registry *reg, const char *id)
{
	gw_worker *w = NULL;

	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count && w == NULL; i++)
		if (strcmp(reg->workers[i]->id, id) == 0) {
			w = reg->workers[i];
			gw_worker_ref(w);
		}
	pthread_mutex_unlock(&reg->mu);
	return w;
}

static bool serves(const gw_worker *w, const char *model)
{
	if (model == NULL)
		return true;
	for (size_t i = 0; i < w->model_count; i++)
		if (strcmp(w->models[i], model) == 0)
			return true;
	return false;
}

static bool routable(const gw_worker *w)
{
	return atomic_load(&w->state) == GW_ADMITTED &&
	       (!w->confidential || gw_mono_ms() < atomic_load(&w->fresh_until_ms));
}

/* Outstanding requests per slot, compared without division: a/ca < b/cb. */
static bool less_loaded(const gw_worker *a, const gw_worker *b)
{
	long la = atomic_load(&a->outstanding), lb = atomic_load(&b->outstanding);
	return la * (long)(b->capacity ? b->capacity : 1) <
	       lb * (long)(a->capacity ? a->capacity : 1);
}

static gw_worker *take(gw_worker *best)
{
	if (best != NULL) {
		atomic_fetch_add(&best->outstanding, 1);
		gw_worker_ref(best);
	}
	return best;
}

gw_worker *gw_registry_pick(gw_registry *reg, const char *model, bool confidential)
{
	gw_worker *best = NULL;

	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count; i++) {
		gw_worker *w = reg->workers[i];
		if (!routable(w) || (confidential && !w->confidential) || !serves(w, model))
			continue;
		if (best == NULL || less_loaded(w, best))
			best = w;
	}
	best = take(best);
	pthread_mutex_unlock(&reg->mu);
	return best;
}

gw_worker *gw_registry_pick_key(gw_registry *reg, uint8_t key_id)
{
	gw_worker *found = NULL;

	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count && found == NULL; i++) {
		gw_worker *w = reg->workers[i];
		if (!w->confidential || !routable(w))
			continue;
		for (size_t k = 0; k < w->att.key_count; k++)
			if (w->att.key_ids[k] == key_id) {
				found = w;
				break;
			}
	}
	found = take(found);
	pthread_mutex_unlock(&reg->mu);
	return found;
}

void gw_registry_done(gw_worker *w)
{
	atomic_fetch_sub(&w->outstanding, 1);
	gw_worker_unref(w);
}

void gw_registry_model(gw_registry *reg, const char *model, bool *any, bool *confidential)
{
	*any = *confidential = false;
	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count; i++) {
		gw_worker *w = reg->workers[i];
		int st = atomic_load(&w->state);
		/* A worker out of routing until its next health check still
		 * serves the model: "try again" (503), not "no such model". */
		if ((st != GW_ADMITTED && st != GW_SUSPECT) || !serves(w, model))
			continue;
		*any = true;
		if (w->confidential && st == GW_ADMITTED)
			*confidential = true;
	}
	pthread_mutex_unlock(&reg->mu);
}

gw_worker **gw_registry_snapshot(gw_registry *reg, size_t *n)
{
	gw_worker **ws;

	pthread_mutex_lock(&reg->mu);
	ws = malloc((reg->count ? reg->count : 1) * sizeof *ws);
	*n = 0;
	if (ws != NULL) {
		for (size_t i = 0; i < reg->count; i++) {
			gw_worker_ref(reg->workers[i]);
			ws[i] = reg->workers[i];
		}
		*n = reg->count;
	}
	pthread_mutex_unlock(&reg->mu);
	return ws;
}

void gw_workers_release(gw_worker **ws, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gw_worker_unref(ws[i]);
	free(ws);
}

size_t gw_registry_admitted(gw_registry *reg)
{
	size_t n = 0;

	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count; i++)
		if (reg->workers[i]->confidential && routable(reg->workers[i]))
			n++;
	pthread_mutex_unlock(&reg->mu);
	return n;
}

bool gw_registry_key_taken(gw_registry *reg, const gw_attested *att, char *who, size_t len)
{
	bool taken = false;

	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->count && !taken; i++) {
		gw_worker *w = reg->workers[i];
		if (!w->confidential || strcmp(w->id, att->id) == 0)
			continue;
		for (size_t k = 0; k < w->att.key_count && !taken; k++)
			for (size_t m = 0; m < att->key_count && !taken; m++)
				taken = w->att.key_ids[k] == att->key_ids[m];
		if (taken)
			snprintf(who, len, "%s", w->id);
	}
	pthread_mutex_unlock(&reg->mu);
	return taken;
}

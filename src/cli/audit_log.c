/*
 * audit_log.c - the entries `veil audit` reads, and the attestation list
 * held against them (docs/audit.md "What it checks").
 *
 * Every entry read is proven in the audit's tree head (its bytes hashed
 * here, its inclusion proof checked against that head's root), so what is
 * found in it is what the log holds for everyone. Which entries:
 *   - a sample: the newest, every entry the gateway's attestation list
 *     points at, and random others (drawn with the system's CSPRNG, so a
 *     gateway cannot tell which entries an auditor will look at) up to
 *     --sample; their admission and re-attestation evidence is judged
 *     again under the auditor's policy;
 *   - every entry after each listed one, up to the head read before the
 *     list was fetched: a removal or leave of a listed worker there means
 *     the gateway serves a worker its own log says is gone.
 *
 * Logged evidence older than the policy's max_age_seconds fails a judgment
 * made now, although it was fresh when the gateway logged it. Such an
 * entry is judged again at the time the entry carries, and when it passes
 * then it is reported as "stale", not as a finding: what an auditor wants
 * to know is whether the gateway admitted a worker whose evidence was
 * acceptable at the time, and stale logged evidence is the normal state of
 * an old log. The entry's time is the gateway's word; see docs/audit.md
 * "What it cannot detect".
 */
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/audit.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/ohttp.h"
#include "veil/timeutil.h"

/* One item of the attestation list: its worker and log index. */
static bool list_item(const json_t *item, const char **worker, uint64_t *index)
{
	const json_t *w = json_object_get(item, "worker"), *i = json_object_get(item, "log_index");

	if (!json_is_string(w) || !json_is_integer(i) || json_integer_value(i) < 0)
		return false;
	*worker = json_string_value(w);
	*index = (uint64_t)json_integer_value(i);
	return true;
}

static int by_index(const void *pa, const void *pb)
{
	const audit_entry *a = pa, *b = pb;

	return a->index < b->index ? -1 : a->index > b->index;
}

static audit_entry *find(const audit_run *a, uint64_t index)
{
	audit_entry key = {.index = index};

	return bsearch(&key, a->entries, a->count, sizeof key, by_index);
}

/* Adds index (merging flags with an entry already there; the array is
 * sorted and deduplicated later). */
static bool add(audit_entry **v, size_t *n, size_t *cap, uint64_t index, bool sampled, bool listed)
{
	if (*n == *cap) {
		size_t c = *cap == 0 ? 64 : *cap * 2;
		audit_entry *p = realloc(*v, c * sizeof *p);
		if (p == NULL)
			return false;
		*v = p;
		*cap = c;
	}
	memset(&(*v)[*n], 0, sizeof **v);
	(*v)[*n].index = index;
	(*v)[*n].sampled = sampled;
	(*v)[*n].listed = listed;
	(*n)++;
	return true;
}

static bool has_sampled(const audit_entry *v, size_t n, uint64_t index)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].index == index && v[i].sampled)
			return true;
	return false;
}

/* The entry's "time" (Unix milliseconds), 0 when it has none. */
static int64_t entry_time(const uint8_t *leaf, size_t len)
{
	json_t *e = NULL;
	int64_t t = 0;

	if (veil_json_parse_max(leaf, len, VEIL_TLOG_ENTRY_MAX, &e) == VEIL_OK &&
	    json_is_integer(json_object_get(e, "time")) &&
	    json_integer_value(json_object_get(e, "time")) > 0)
		t = json_integer_value(json_object_get(e, "time"));
	veil_err_clear();
	json_decref(e);
	return t;
}

/* What the judged evidence says, kept small (the bundle is not kept). */
static void keep_worker(audit_entry *e, const veil_client_worker *w)
{
	veil_ohttp_keyconfig cfg[AUDIT_KEY_IDS_MAX];
	size_t count = 0;

	e->judged = true;
	snprintf(e->id, sizeof e->id, "%s", w->id);
	snprintf(e->model, sizeof e->model, "%s", w->model);
	snprintf(e->model_sha256, sizeof e->model_sha256, "%s", w->model_sha256);
	snprintf(e->tee, sizeof e->tee, "%s", w->tee);
	snprintf(e->receipt_kid, sizeof e->receipt_kid, "%s", w->receipt_kid);
	if (veil_ohttp_keys_parse(w->ohttp_keys, w->ohttp_keys_len, cfg, AUDIT_KEY_IDS_MAX,
				  &count) != VEIL_OK) {
		veil_err_clear();
		count = 0;
	}
	for (size_t i = 0; i < count; i++)
		e->key_ids[i] = cfg[i].key_id;
	e->key_count = count;
}

/* Judges logged evidence now, and when that fails, at the entry's time. */
static void judge(audit_run *a, audit_entry *e, const uint8_t *b, size_t n)
{
	veil_client_worker w = {0};
	veil_client_check check = VEIL_CHECK_NONE;
	char now_why[400];

	if (veil_client_judge(a->policy, b, n, NULL, 0, veil_time_now(), &w, &check) == VEIL_OK) {
		e->evidence = AUDIT_OK;
		audit_record(a, AUDIT_OK, "evidence",
			     "entry %" PRIu64 ": %s of %s: %s, %s, model %s", e->index, e->kind,
			     e->worker, w.ear_status, w.tee, w.model);
	} else {
		snprintf(now_why, sizeof now_why, "%s: %s", veil_client_check_name(check),
			 veil_err_detail());
		if (e->time_ms > 0 && veil_client_judge(a->policy, b, n, NULL, 0, e->time_ms / 1000,
							&w, &check) == VEIL_OK) {
			e->evidence = AUDIT_STALE;
			audit_record(a, AUDIT_STALE, "evidence",
				     "entry %" PRIu64 ": %s of %s: acceptable when logged, not now "
				     "(%s)",
				     e->index, e->kind, e->worker, now_why);
		} else {
			e->evidence = AUDIT_FAIL;
			audit_record(a, AUDIT_FAIL, "evidence",
				     "entry %" PRIu64 ": %s of %s: the logged evidence is refused "
				     "under the policy (%s)",
				     e->index, e->kind, e->worker, now_why);
			return;
		}
	}
	keep_worker(e, &w);
	if (strcmp(w.id, e->worker) != 0)
		audit_record(a, AUDIT_FAIL, "evidence",
			     "entry %" PRIu64
			     " is logged for worker %s, but its evidence describes "
			     "worker %s",
			     e->index, e->worker, w.id);
	veil_client_worker_clear(&w);
}

/* Reads, proves and looks into one entry; false when the gateway could not
 * be asked (the audit stops: nothing more can be checked). */
static bool read_entry(audit_run *a, audit_entry *e)
{
	uint8_t *leaf = NULL, *bundle = NULL;
	size_t len = 0, blen = 0;
	veil_err err = veil_client_log_entry(a->client, &a->head, e->index, &leaf, &len);

	if (err == VEIL_E_IO) {
		audit_record(a, AUDIT_UNAVAILABLE, "inclusion", "entry %" PRIu64 ": %s", e->index,
			     veil_err_detail());
		return false;
	}
	if (err != VEIL_OK) {
		audit_record(a, AUDIT_FAIL, "inclusion", "entry %" PRIu64 ": %s", e->index,
			     veil_err_detail());
		return true;
	}
	e->read = true;
	e->time_ms = entry_time(leaf, len);
	err = veil_client_log_evidence(leaf, len, e->kind, sizeof e->kind, e->worker,
				       sizeof e->worker, &bundle, &blen);
	if (err == VEIL_OK) {
		if (e->sampled)
			judge(a, e, bundle, blen);
		if (e->listed && veil_json_parse_max(bundle, blen, VEIL_CLIENT_EVIDENCE_MAX,
						     &e->bundle) != VEIL_OK)
			veil_err_clear(); /* judge refused it already */
	} else if (err != VEIL_E_NOT_FOUND) {
		audit_record(a, AUDIT_FAIL, "entry",
			     "entry %" PRIu64 " is not a log entry of the documented form: %s",
			     e->index, veil_err_detail());
	}
	free(bundle);
	free(leaf);
	return true;
}

void audit_log_entries(audit_run *a, size_t sample)
{
	uint64_t n = a->head.tree_size, lo = UINT64_MAX, hi, idx;
	size_t count = 0, cap = 0, sampled = 0, read = 0, distinct = 0;
	audit_entry *v = NULL;
	const char *w;
	json_t *item;
	size_t k;

	if (n == 0) {
		audit_record(a, AUDIT_NOTE, "inclusion", "the log is empty: no entry to read");
		return;
	}
	/* The newest and the listed entries, always. */
	if (!add(&v, &count, &cap, n - 1, true, false))
		goto nomem;
	json_array_foreach(a->list, k, item)
	{
		if (!list_item(item, &w, &idx) || idx >= n)
			continue; /* audit_log_list reports it */
		if (!add(&v, &count, &cap, idx, true, true))
			goto nomem;
		lo = idx + 1 < lo ? idx + 1 : lo;
	}
	/* Random others up to the sample size. */
	for (uint64_t i = 0; sample >= n && i < n; i++)
		if (!has_sampled(v, count, i) && !add(&v, &count, &cap, i, true, false))
			goto nomem;
	for (size_t i = 0; i < count; i++)
		distinct += !has_sampled(v, i, v[i].index);
	while (sample < n && distinct < sample) {
		uint64_t r;
		if (RAND_bytes((unsigned char *)&r, sizeof r) != 1) {
			audit_record(a, AUDIT_FAIL, "sample", "no random bytes to draw a sample");
			break;
		}
		r %= n; /* the bias of a 64-bit draw modulo n is negligible here */
		if (has_sampled(v, count, r))
			continue;
		if (!add(&v, &count, &cap, r, true, false))
			goto nomem;
		distinct++;
	}
	/* The entries after the listed ones, up to the head before the list. */
	hi = a->before_list < n ? a->before_list : n;
	if (lo < hi && hi - lo > VEIL_AUDIT_TAIL_MAX)
		lo = hi - VEIL_AUDIT_TAIL_MAX;
	a->tail_lo = lo;
	for (idx = lo; idx < hi; idx++)
		if (!add(&v, &count, &cap, idx, false, false))
			goto nomem;
	/* Sorted, one entry per index with the flags merged. */
	qsort(v, count, sizeof *v, by_index);
	k = 0;
	for (size_t i = 0; i < count; i++) {
		if (k > 0 && v[k - 1].index == v[i].index) {
			v[k - 1].sampled |= v[i].sampled;
			v[k - 1].listed |= v[i].listed;
		} else {
			v[k++] = v[i];
		}
	}
	a->entries = v;
	a->count = k;
	for (size_t i = 0; i < a->count; i++) {
		if (!read_entry(a, &a->entries[i]))
			return;
		sampled += a->entries[i].sampled;
		read += a->entries[i].read;
	}
	audit_record(a, read == a->count ? AUDIT_OK : AUDIT_FAIL, "inclusion",
		     "%zu of %zu entries proven in the tree of %" PRIu64
		     " (%zu sampled; the rest follow listed entries)",
		     read, a->count, n, sampled);
	return;
nomem:
	free(v);
	audit_record(a, AUDIT_FAIL, "sample", "out of memory");
}

/* The list's OHTTP key ids are the ones the logged evidence binds, in
 * order. */
static bool same_key_ids(const json_t *ids, const audit_entry *e)
{
	if (!json_is_array(ids) || json_array_size(ids) != e->key_count)
		return false;
	for (size_t i = 0; i < e->key_count; i++) {
		const json_t *v = json_array_get(ids, i);
		if (!json_is_integer(v) || json_integer_value(v) != e->key_ids[i])
			return false;
	}
	return true;
}

static bool same_text(const json_t *item, const char *name, const char *want)
{
	const char *s = json_string_value(json_object_get(item, name));

	return s != NULL && strcmp(s, want) == 0;
}

/* One listed worker against the log. */
static void check_listed(audit_run *a, size_t k, const json_t *item)
{
	const char *worker, *what = NULL;
	uint64_t i;
	audit_entry *e;
	const json_t *ev;

	if (!list_item(item, &worker, &i)) {
		audit_record(a, AUDIT_FAIL, "list",
			     "item %zu of the attestation list has no worker or log_index", k);
		return;
	}
	if (i >= a->head.tree_size) {
		audit_record(a, AUDIT_FAIL, "list",
			     "worker %s is served at log index %" PRIu64
			     ", beyond the verified tree of %" PRIu64 " entries: not in the log",
			     worker, i, a->head.tree_size);
		return;
	}
	e = find(a, i);
	if (e == NULL || !e->read) {
		audit_record(a, AUDIT_FAIL, "list",
			     "worker %s: its log entry %" PRIu64 " could not be proven", worker, i);
		return;
	}
	if (strcmp(e->kind, "admission") != 0 && strcmp(e->kind, "reattestation") != 0) {
		audit_record(a, AUDIT_FAIL, "list",
			     "worker %s is served at log entry %" PRIu64 ", which is a %s", worker,
			     i, e->kind);
		return;
	}
	if (strcmp(e->worker, worker) != 0) {
		audit_record(a, AUDIT_FAIL, "list",
			     "worker %s is served at log entry %" PRIu64
			     ", which is worker %s's: not in the log as itself",
			     worker, i, e->worker);
		return;
	}
	if (!e->judged) {
		audit_record(a, AUDIT_FAIL, "list",
			     "worker %s is served with the evidence of entry %" PRIu64
			     ", which the policy refuses",
			     worker, i);
		return;
	}
	if (strcmp(e->id, worker) != 0)
		what = "worker id";
	else if (!same_text(item, "receipt_kid", e->receipt_kid))
		what = "receipt key (receipt_kid)";
	else if (!same_key_ids(json_object_get(item, "ohttp_key_ids"), e))
		what = "OHTTP key ids";
	else if (!same_text(item, "model", e->model) ||
		 !same_text(item, "model_sha256", e->model_sha256))
		what = "model or model digest";
	else if (!same_text(item, "tee", e->tee))
		what = "TEE";
	ev = json_object_get(item, "evidence");
	if (what == NULL && ev != NULL && (e->bundle == NULL || !json_equal(ev, e->bundle)))
		what = "evidence";
	if (what != NULL) {
		audit_record(a, AUDIT_FAIL, "list",
			     "worker %s: the list's %s is not what its logged evidence (entry "
			     "%" PRIu64 ") binds",
			     worker, what, i);
		return;
	}
	/* Gone since? Entries after the listed one, before the list. */
	if (i + 1 < a->before_list && i + 1 < a->tail_lo) {
		audit_record(a, AUDIT_FAIL, "list",
			     "worker %s: its listed entry %" PRIu64
			     " is followed by more than %d entries; they were not all read",
			     worker, i, VEIL_AUDIT_TAIL_MAX);
		return;
	}
	for (size_t j = 0; j < a->count; j++) {
		const audit_entry *x = &a->entries[j];
		if (x->index <= i || x->index >= a->before_list || !x->read ||
		    strcmp(x->worker, worker) != 0)
			continue;
		if (strcmp(x->kind, "removal") == 0 || strcmp(x->kind, "leave") == 0) {
			audit_record(a, AUDIT_FAIL, "list",
				     "worker %s is served, but the log shows its %s at entry "
				     "%" PRIu64 ", after its listed entry %" PRIu64,
				     worker, x->kind, x->index, i);
			return;
		}
	}
	for (size_t j = 0; j < k; j++) {
		const char *other;
		uint64_t oi;
		if (list_item(json_array_get(a->list, j), &other, &oi) &&
		    strcmp(other, worker) == 0) {
			audit_record(a, AUDIT_FAIL, "list", "worker %s is listed twice", worker);
			return;
		}
	}
	audit_record(a, AUDIT_OK, "list",
		     "worker %s: served as logged at entry %" PRIu64 " (%s), receipt key %s",
		     worker, i, e->kind, e->receipt_kid);
}

void audit_log_list(audit_run *a)
{
	size_t k;
	json_t *item;

	if (json_array_size(a->list) == 0) {
		audit_record(a, AUDIT_NOTE, "list", "the gateway lists no admitted worker");
		return;
	}
	json_array_foreach(a->list, k, item) check_listed(a, k, item);
}

void audit_log_clear(audit_run *a)
{
	for (size_t i = 0; i < a->count; i++)
		json_decref(a->entries[i].bundle);
	free(a->entries);
	a->entries = NULL;
	a->count = 0;
}

/*
 * log_api.c - the transparency log over HTTP (docs/gateway-log-api.md):
 * the signed tree head, entries, inclusion and consistency proofs, in the
 * shape of RFC 6962 section 4 (get-sth, get-entries, get-proof-by-hash,
 * get-sth-consistency) with JSON of Veil's own and a JWS for the head.
 *
 * The gateway is not trusted by the clients of these routes: they verify
 * every answer with libveil's verifiers against a head they verified
 * themselves. What this file owes them is answers that can verify: the
 * size and root shown next to a head are the ones inside it (taken once,
 * signed, then copied from the same struct), and every proof is for a size
 * at or below the log's.
 *
 * Parameters are strict (query_read): decimal digits, no sign, no leading
 * zero, at most 2^53 - 1 (I-JSON, RFC 7493 section 2.2, like the head's own
 * integers), each named parameter exactly once and no other. A lenient
 * parser would let two spellings of one request reach a cache or a log
 * line as different requests; nothing here needs leniency.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/log_api.h"
#include "veil/bytes.h"
#include "veil/codec.h"
#include "veil/limits.h"

struct gw_log_api {
	veil_tlog *log;      /* borrowed */
	const veil_jwk *key; /* borrowed */
	json_t *key_public;  /* the public JWK; used under mu only */
	pthread_mutex_t mu;  /* guards everything below */
	char *sth_body;      /* the /v1/log/sth answer for sth_size, or NULL */
	size_t sth_body_len;
	uint64_t sth_size;
	int64_t sth_timestamp_ms; /* of the latest head signed */
	double sth_made;          /* monotonic seconds */
};

/* ---- answers ---- */

/* An OpenAI-style error, as the rest of the gateway answers:
 * {"error": {"message", "type", "code"}}. */
static void reply_error(veil_http_request *r, int status, const char *code, const char *message)
{
	const char *type = status >= 500 ? "server_error" : "invalid_request_error";

	veil_http_reply_json(r, status,
			     json_pack("{s:{s:s, s:s, s:s}}", "error", "message", message, "type",
				       type, "code", code));
}

/* A 500 naming what failed by the error's static name only: the detail
 * may hold the log's file path, which is the operator's business. */
static void reply_failure(veil_http_request *r, const char *what, veil_err err)
{
	char message[160];

	snprintf(message, sizeof message, "%s failed: %s", what, veil_err_str(err));
	reply_error(r, 500, "log_error", message);
}

/* ---- parameters ---- */

typedef struct log_param {
	const char *name;
	uint64_t value;
	bool seen;
} log_param;

/* A decimal integer of n characters at v, strictly (see the top). */
static veil_err number_read(const char *name, const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	ENSURE(n > 0, VEIL_E_MALFORMED, "%s is empty", name);
	ENSURE(n == 1 || v[0] != '0', VEIL_E_MALFORMED, "%s has a leading zero", name);
	/* 2^53 - 1 has 16 digits: 17 or more are over it, and 16 digits of
	 * '9' still fit in 64 bits, so x cannot wrap before the check. */
	ENSURE(n <= 16, VEIL_E_LIMIT, "%s is above 2^53-1", name);
	for (size_t i = 0; i < n; i++) {
		ENSURE(v[i] >= '0' && v[i] <= '9', VEIL_E_MALFORMED,
		       "%s must be decimal digits only", name);
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	ENSURE(x <= (uint64_t)VEIL_TLOG_INT_MAX, VEIL_E_LIMIT, "%s is above 2^53-1", name);
	*out = x;
	return VEIL_OK;
}

/* Reads q ("name=value&name=value", not percent-decoded; NULL: none) into
 * p[0..n-1]: every parameter is one of p's names, each given exactly once.
 * Percent-encoding is not decoded: a digit never needs it, so "%31" is
 * refused as not a digit. */
static veil_err query_read(const char *q, log_param *p, size_t n)
{
	const char *s = q != NULL ? q : "";

	ENSURE(strlen(s) <= 256, VEIL_E_LIMIT, "the query is longer than 256 bytes");
	while (*s != '\0') {
		size_t len = strcspn(s, "&"), name_len = strcspn(s, "=&");
		log_param *hit = NULL;

		ENSURE(len > 0, VEIL_E_MALFORMED, "the query has an empty parameter");
		ENSURE(name_len < len, VEIL_E_MALFORMED, "a query parameter has no value");
		for (size_t i = 0; i < n && hit == NULL; i++)
			if (strlen(p[i].name) == name_len && memcmp(s, p[i].name, name_len) == 0)
				hit = &p[i];
		ENSURE(hit != NULL, VEIL_E_MALFORMED, "unknown query parameter");
		ENSURE(!hit->seen, VEIL_E_MALFORMED, "%s is given twice", hit->name);
		TRY(number_read(hit->name, s + name_len + 1, len - name_len - 1, &hit->value));
		hit->seen = true;
		s += len;
		if (*s == '&') {
			s++;
			ENSURE(*s != '\0', VEIL_E_MALFORMED, "the query ends with '&'");
		}
	}
	for (size_t i = 0; i < n; i++)
		ENSURE(p[i].seen, VEIL_E_MALFORMED, "%s is missing", p[i].name);
	return VEIL_OK;
}

/* Parses the query into p or answers 400 (returns false). */
static bool params(veil_http_request *r, log_param *p, size_t n, const char *usage)
{
	char message[256];

	veil_err_clear();
	if (query_read(veil_http_query(r), p, n) == VEIL_OK)
		return true;
	/* The detail names our parameters only, never the client's text. */
	snprintf(message, sizeof message, "%s; this endpoint takes %s (decimal integers)",
		 veil_err_detail(), usage);
	reply_error(r, 400, "invalid_parameter", message);
	return false;
}

/* ---- GET /v1/log/sth ---- */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Signs a head of the log's current size and makes it the cached answer;
 * under a->mu. The size is read once and the root computed for that size,
 * so a head is right even while appends go on; the answer's members are
 * copied from the struct that was signed. */
static veil_err sth_refresh(gw_log_api *a, uint64_t size, double now)
{
	veil_tlog_sth sth = {.tree_size = size};
	char root[VEIL_TLOG_HASH_LEN * 2], *jws = NULL, *body = NULL;
	json_t *answer = NULL;
	veil_err err;

	/* Never older than the last head (a client refuses a head older than
	 * one it kept, docs/tlog.md), even if the wall clock steps back. */
	sth.timestamp_ms = wall_ms();
	if (sth.timestamp_ms < a->sth_timestamp_ms)
		sth.timestamp_ms = a->sth_timestamp_ms;
	CHECK(veil_tlog_root(a->log, size, sth.root));
	CHECK(veil_tlog_sth_sign(a->key, &sth, &jws));
	veil_base64url_encode(sth.root, VEIL_TLOG_HASH_LEN, root);
	answer = json_pack("{s:I, s:I, s:s, s:s, s:O}", "tree_size", (json_int_t)sth.tree_size,
			   "timestamp", (json_int_t)sth.timestamp_ms, "root_hash", root, "sth", jws,
			   "key", a->key_public);
	body = answer != NULL ? json_dumps(answer, JSON_COMPACT) : NULL;
	CHECK_THAT(body != NULL, VEIL_E_NOMEM, "out of memory for the tree head's answer");
	free(a->sth_body);
	a->sth_body = body;
	a->sth_body_len = strlen(body);
	a->sth_size = size;
	a->sth_timestamp_ms = sth.timestamp_ms;
	a->sth_made = now;
	err = VEIL_OK;
out:
	json_decref(answer);
	free(jws);
	return err;
}

/* The cached answer, or a fresh one when the log grew or a second passed,
 * copied into *body (free()). The lock also makes a crowd of readers sign
 * once: the first signs, the others wait and take its head. */
static veil_err sth_answer(gw_log_api *a, char **body, size_t *len)
{
	veil_err err = VEIL_OK;
	double now = mono_s();
	uint64_t size;

	pthread_mutex_lock(&a->mu);
	size = veil_tlog_size(a->log);
	if (a->sth_body == NULL || a->sth_size != size ||
	    now - a->sth_made >= VEIL_GW_STH_CACHE_MS / 1000.0 || now < a->sth_made)
		CHECK(sth_refresh(a, size, now));
	*body = malloc(a->sth_body_len);
	CHECK_THAT(*body != NULL, VEIL_E_NOMEM, "out of memory for the tree head's answer");
	memcpy(*body, a->sth_body, a->sth_body_len);
	*len = a->sth_body_len;
out:
	pthread_mutex_unlock(&a->mu);
	return err;
}

static void h_sth(veil_http_request *r, void *user)
{
	gw_log_api *a = user;
	char *body = NULL;
	size_t len = 0;
	veil_err err;

	if (veil_http_query(r) != NULL && veil_http_query(r)[0] != '\0') {
		reply_error(r, 400, "invalid_parameter", "this endpoint takes no parameters");
		return;
	}
	err = sth_answer(a, &body, &len);
	if (err != VEIL_OK) {
		reply_failure(r, "signing the tree head", err);
		return;
	}
	veil_http_reply(r, 200, "application/json", body, len);
	free(body);
}

/* ---- GET /v1/log/entries ---- */

/* Appends {"index":i,"leaf_input":"<base64url>"} (with a leading comma
 * after the first) unless it would take the answer past its cap; the first
 * entry always goes in, so a client always gets on. *stop when full. */
static veil_err entry_write(gw_log_api *a, uint64_t i, bool first, veil_writer *w, bool *stop)
{
	uint8_t *data = NULL;
	uint8_t *space;
	size_t len = 0, enc;
	veil_err err;

	CHECK(veil_tlog_entry(a->log, i, &data, &len));
	enc = veil_base64url_encoded_len(len);
	/* 64 bytes cover the member names, the index's 16 digits and the
	 * closing "]}". */
	if (!first && w->len + enc + 64 > VEIL_GW_LOG_ANSWER_MAX) {
		*stop = true;
		err = VEIL_OK;
		goto out;
	}
	CHECK(veil_writer_printf(w, "%s{\"index\":%llu,\"leaf_input\":\"", first ? "" : ",",
				 (unsigned long long)i));
	CHECK(veil_writer_reserve(w, enc + 1, &space));
	veil_base64url_encode(data, len, (char *)space);
	veil_writer_commit(w, enc);
	CHECK(veil_writer_puts(w, "\"}"));
out:
	free(data);
	return err;
}

static void h_entries(veil_http_request *r, void *user)
{
	gw_log_api *a = user;
	log_param p[] = {{.name = "start"}, {.name = "end"}};
	uint64_t size = veil_tlog_size(a->log), end;
	veil_writer w;
	uint8_t *body = NULL;
	size_t len = 0;
	bool stop = false;
	veil_err err = VEIL_OK;

	if (!params(r, p, 2, "start=A&end=B"))
		return;
	if (p[0].value > p[1].value) {
		reply_error(r, 400, "invalid_parameter", "start is after end");
		return;
	}
	if (p[0].value >= size) {
		reply_error(r, 404, "out_of_range", "start is at or past the log's size");
		return;
	}
	/* RFC 6962 section 4.6: end past the log means up to its last entry,
	 * and a log may return fewer entries than asked for. */
	end = p[1].value < size ? p[1].value : size - 1;
	if (end - p[0].value >= VEIL_GW_LOG_ENTRIES_MAX)
		end = p[0].value + VEIL_GW_LOG_ENTRIES_MAX - 1;
	/* Room for the cap and one entry of the largest size past it. */
	veil_writer_init(&w, VEIL_GW_LOG_ANSWER_MAX +
				 veil_base64url_encoded_len(VEIL_TLOG_ENTRY_MAX) + 64);
	err = veil_writer_puts(&w, "{\"entries\":[");
	for (uint64_t i = p[0].value; err == VEIL_OK && !stop && i <= end; i++)
		err = entry_write(a, i, i == p[0].value, &w, &stop);
	if (err == VEIL_OK)
		err = veil_writer_puts(&w, "]}");
	if (err == VEIL_OK)
		err = veil_writer_take(&w, &body, &len);
	veil_writer_clear(&w);
	if (err != VEIL_OK) {
		reply_failure(r, "reading the log's entries", err);
		return;
	}
	veil_http_reply(r, 200, "application/json", body, len);
	free(body);
}

/* ---- GET /v1/log/proof/... ---- */

static void h_inclusion(veil_http_request *r, void *user)
{
	gw_log_api *a = user;
	log_param p[] = {{.name = "index"}, {.name = "tree_size"}};
	veil_tlog_hash leaf, *path = NULL;
	char leaf_b64[VEIL_TLOG_HASH_LEN * 2];
	uint8_t *data = NULL;
	size_t len = 0, n = 0;
	json_t *proof = NULL;
	veil_err err;

	if (!params(r, p, 2, "index=I&tree_size=N"))
		return;
	if (p[0].value >= p[1].value) {
		reply_error(r, 400, "invalid_parameter", "index must be below tree_size");
		return;
	}
	if (p[1].value > veil_tlog_size(a->log)) {
		reply_error(r, 404, "out_of_range", "tree_size is past the log's size");
		return;
	}
	/* The leaf hash from the entry itself, which the log checks against
	 * its tree as it reads it. */
	err = veil_tlog_entry(a->log, p[0].value, &data, &len);
	if (err == VEIL_OK)
		err = veil_tlog_leaf_hash(data, len, leaf);
	free(data);
	if (err == VEIL_OK)
		err = veil_tlog_inclusion_proof(a->log, p[0].value, p[1].value, &path, &n);
	if (err == VEIL_OK)
		err = veil_tlog_proof_json(path, n, &proof);
	free(path);
	if (err != VEIL_OK) {
		reply_failure(r, "the inclusion proof", err);
		return;
	}
	veil_base64url_encode(leaf, VEIL_TLOG_HASH_LEN, leaf_b64);
	veil_http_reply_json(r, 200,
			     json_pack("{s:I, s:I, s:s, s:o}", "index", (json_int_t)p[0].value,
				       "tree_size", (json_int_t)p[1].value, "leaf_hash", leaf_b64,
				       "audit_path", proof));
}

static void h_consistency(veil_http_request *r, void *user)
{
	gw_log_api *a = user;
	log_param p[] = {{.name = "first"}, {.name = "second"}};
	veil_tlog_hash *hashes = NULL;
	size_t n = 0;
	json_t *proof = NULL;
	veil_err err;

	if (!params(r, p, 2, "first=M&second=N"))
		return;
	if (p[0].value > p[1].value) {
		reply_error(r, 400, "invalid_parameter", "first is above second");
		return;
	}
	if (p[1].value > veil_tlog_size(a->log)) {
		reply_error(r, 404, "out_of_range", "second is past the log's size");
		return;
	}
	err = veil_tlog_consistency_proof(a->log, p[0].value, p[1].value, &hashes, &n);
	if (err == VEIL_OK)
		err = veil_tlog_proof_json(hashes, n, &proof);
	free(hashes);
	if (err != VEIL_OK) {
		reply_failure(r, "the consistency proof", err);
		return;
	}
	veil_http_reply_json(r, 200,
			     json_pack("{s:I, s:I, s:o}", "first", (json_int_t)p[0].value, "second",
				       (json_int_t)p[1].value, "consistency", proof));
}

/* ---- mounting ---- */

veil_err gw_log_api_mount(veil_http_server *s, veil_tlog *log, const veil_jwk *sth_key,
			  gw_log_api **out)
{
	gw_log_api *a;
	veil_err err;

	ENSURE(out != NULL, VEIL_E_USAGE, "gw_log_api_mount: NULL output");
	*out = NULL;
	ENSURE(s != NULL && log != NULL && sth_key != NULL, VEIL_E_USAGE,
	       "gw_log_api_mount: NULL argument");
	ENSURE(veil_jwk_type_of(sth_key) == VEIL_JWK_EC_P256 && veil_jwk_is_private(sth_key),
	       VEIL_E_USAGE, "the tree-head key must be an EC P-256 private key (ES256)");
	a = calloc(1, sizeof *a);
	ENSURE(a != NULL, VEIL_E_NOMEM, "out of memory for the log API");
	a->log = log;
	a->key = sth_key;
	pthread_mutex_init(&a->mu, NULL);
	CHECK(veil_jwk_export_public(sth_key, &a->key_public));
	CHECK(veil_http_route(s, "GET", "/v1/log/sth", h_sth, a));
	CHECK(veil_http_route(s, "GET", "/v1/log/entries", h_entries, a));
	CHECK(veil_http_route(s, "GET", "/v1/log/proof/inclusion", h_inclusion, a));
	CHECK(veil_http_route(s, "GET", "/v1/log/proof/consistency", h_consistency, a));
	*out = a;
	return VEIL_OK;
out:
	/* Routes added before the failure point at a: the server must be
	 * freed without running, as after any failed mount. */
	gw_log_api_free(a);
	return err;
}

void gw_log_api_free(gw_log_api *a)
{
	if (a == NULL)
		return;
	json_decref(a->key_public);
	free(a->sth_body);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

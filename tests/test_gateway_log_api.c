/*
 * test_gateway_log_api.c - the gateway's transparency log API
 * (src/gateway/log_api.c, docs/gateway-log-api.md), driven over HTTP on
 * loopback with libveil's own client and checked with libveil's verifiers,
 * as a client of the gateway would: the signed tree head verifies and the
 * size and root next to it are its own; its root is the root of the
 * entries served; every inclusion and consistency proof of a small log
 * verifies; heads are cached per size for a second and stay right while
 * entries are appended from another thread; entries are capped by count
 * and by bytes and a client pages through them; every malformed, missing,
 * repeated, unknown, oversized or out-of-range parameter is refused with
 * the right status; an entry altered under the log is a 500, not an answer.
 */
#include <pthread.h>
#include <stdarg.h>
#include <time.h>

#include "gateway/log_api.h"
#include "test_tlog_util.h"
#include "veil/http_client.h"
#include "veil/json.h"

typedef struct la_fx {
	tlog_fx log;
	veil_jwk *key, *pub;
	veil_http_server *s;
	gw_log_api *api;
	pthread_t thread;
	veil_err run_err;
	char url[64];
} la_fx;

static void *la_run(void *arg)
{
	la_fx *f = arg;

	f->run_err = veil_http_server_run(f->s);
	return NULL;
}

/* A log of `entries` entries (tl_entry) and a server with the API on it. */
static bool la_start(la_fx *f, uint64_t entries)
{
	veil_http_config c = {.port = 0, .threads = 2};
	json_t *pub = NULL;

	memset(f, 0, sizeof *f);
	if (!tl_fx_open(&f->log) || !tl_fill(f->log.t, entries) ||
	    veil_jwk_generate(VEIL_JWK_EC_P256, 0, &f->key) != VEIL_OK ||
	    veil_jwk_export_public(f->key, &pub) != VEIL_OK ||
	    veil_jwk_parse_public(pub, &f->pub) != VEIL_OK ||
	    veil_http_server_new(&c, &f->s) != VEIL_OK ||
	    gw_log_api_mount(f->s, f->log.t, f->key, &f->api) != VEIL_OK ||
	    pthread_create(&f->thread, NULL, la_run, f) != 0) {
		fprintf(stderr, "  fixture: %s\n", veil_err_detail());
		json_decref(pub);
		return false;
	}
	json_decref(pub);
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", veil_http_server_port(f->s));
	return true;
}

static void la_stop(la_fx *f)
{
	veil_http_server_stop(f->s);
	pthread_join(f->thread, NULL);
	EXPECT_OK(f->run_err);
	veil_http_server_free(f->s);
	gw_log_api_free(f->api);
	veil_jwk_free(f->key);
	veil_jwk_free(f->pub);
	tl_fx_done(&f->log);
}

/* GET path (with its query); the status and the body as JSON (NULL when
 * it is not JSON). */
static json_t *la_get(const la_fx *f, const char *path, long *status)
{
	char url[512];
	veil_http_client_request req = {.url = url, .max_body = 16 * 1024 * 1024};
	veil_http_client_response resp;
	json_t *j = NULL;

	snprintf(url, sizeof url, "%s%s", f->url, path);
	*status = 0;
	if (veil_http_client_fetch(&req, &resp) == VEIL_OK) {
		*status = resp.status;
		if (veil_json_parse_max(resp.body.data, resp.body.len, 16 * 1024 * 1024, &j) !=
		    VEIL_OK)
			j = NULL;
	}
	veil_http_client_response_clear(&resp);
	return j;
}

static json_t *la_getf(const la_fx *f, long *status, const char *fmt, ...) VEIL_PRINTF(3, 4);
static json_t *la_getf(const la_fx *f, long *status, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	return la_get(f, path, status);
}

/* A base64url member of 32 bytes into h. */
static bool la_hash(const json_t *obj, const char *name, veil_tlog_hash h)
{
	const char *s = json_string_value(json_object_get(obj, name));
	size_t n = 0;

	return s != NULL && strlen(s) == 43 &&
	       veil_base64url_decode(s, 43, h, VEIL_TLOG_HASH_LEN, &n) == VEIL_OK && n == 32;
}

static uint64_t la_int(const json_t *obj, const char *name)
{
	const json_t *v = json_object_get(obj, name);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v)
								: UINT64_MAX;
}

/* GET /v1/log/sth, checked as a client must: the head verifies with the
 * key the client holds (f->pub, never the answer's "key"), and the JSON
 * beside it says the same. */
static bool la_sth(const la_fx *f, veil_tlog_sth *sth, char **jws_out)
{
	long status;
	json_t *j = la_get(f, "/v1/log/sth", &status), *key_json = NULL;
	const char *jws = json_string_value(json_object_get(j, "sth"));
	veil_tlog_hash root;
	bool ok = false;

	memset(sth, 0, sizeof *sth);
	if (status != 200 || j == NULL || json_object_size(j) != 5 || jws == NULL)
		goto out;
	if (veil_tlog_sth_verify(f->pub, jws, strlen(jws), sth) != VEIL_OK)
		goto out;
	if (veil_jwk_export_public(f->pub, &key_json) != VEIL_OK ||
	    !json_equal(key_json, json_object_get(j, "key")))
		goto out;
	ok = la_int(j, "tree_size") == sth->tree_size &&
	     la_int(j, "timestamp") == (uint64_t)sth->timestamp_ms &&
	     la_hash(j, "root_hash", root) && memcmp(root, sth->root, 32) == 0;
	if (ok && jws_out != NULL)
		*jws_out = strdup(jws);
out:
	json_decref(key_json);
	json_decref(j);
	return ok;
}

/* Pages through /v1/log/entries from start to end as a client does (each
 * answer may stop early), checking indexes and bytes against tl_entry and
 * collecting leaf hashes into leaves[start..]. The number of requests
 * made, 0 on any failure. */
static size_t la_entries(const la_fx *f, uint64_t start, uint64_t end, veil_tlog_hash *leaves)
{
	uint64_t next = start;
	size_t requests = 0;

	while (next <= end) {
		long status;
		json_t *j = la_getf(f, &status, "/v1/log/entries?start=%llu&end=%llu",
				    (unsigned long long)next, (unsigned long long)end);
		json_t *list = json_object_get(j, "entries"), *e;
		size_t i;
		bool ok = status == 200 && json_object_size(j) == 1 && json_array_size(list) > 0;

		requests++;
		json_array_foreach(list, i, e)
		{
			const char *in = json_string_value(json_object_get(e, "leaf_input"));
			uint8_t want[64], *got = NULL;
			size_t want_len = tl_entry(next, want, sizeof want), got_len = 0;

			ok = ok && next <= end && json_object_size(e) == 2 &&
			     la_int(e, "index") == next && in != NULL &&
			     (got = malloc(strlen(in) + 1)) != NULL &&
			     veil_base64url_decode(in, strlen(in), got, strlen(in) + 1, &got_len) ==
				 VEIL_OK &&
			     veil_tlog_leaf_hash(got, got_len, leaves[next]) == VEIL_OK;
			/* Small entries are tl_entry's; the byte-cap test's big ones
			 * are checked by their hash only. */
			if (ok && got_len < 64)
				ok = got_len == want_len && memcmp(got, want, got_len) == 0;
			free(got);
			next++;
		}
		json_decref(j);
		if (!ok)
			return 0;
	}
	return requests;
}

TEST(sth_is_the_signed_head_of_the_entries)
{
	veil_tlog_hash leaves[20], root;
	veil_tlog_sth sth;
	la_fx f;

	REQUIRE(la_start(&f, 20));
	EXPECT(la_sth(&f, &sth, NULL));
	EXPECT(sth.tree_size == 20);
	EXPECT(sth.timestamp_ms > 0 &&
	       llabs(sth.timestamp_ms - (int64_t)time(NULL) * 1000) < 60000);
	EXPECT(la_entries(&f, 0, 19, leaves) == 1);
	EXPECT_OK(veil_tlog_root_of(leaves, 20, root));
	EXPECT(memcmp(root, sth.root, 32) == 0);
	/* Can fail: a head by another key does not verify. */
	{
		veil_jwk *other = NULL;
		char *jws = NULL;
		veil_tlog_sth got;

		REQUIRE(la_sth(&f, &sth, &jws));
		EXPECT_OK(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &other));
		EXPECT_ERR(veil_tlog_sth_verify(other, jws, strlen(jws), &got), VEIL_E_VERIFY);
		veil_jwk_free(other);
		free(jws);
	}
	la_stop(&f);
}

/* The empty log has a head too: size 0, the empty tree's root. */
TEST(sth_of_the_empty_log)
{
	veil_tlog_hash want;
	veil_tlog_sth sth;
	long status;
	json_t *j;
	la_fx f;

	REQUIRE(la_start(&f, 0));
	EXPECT(la_sth(&f, &sth, NULL));
	EXPECT(sth.tree_size == 0);
	tl_hex(ct_roots[0], want);
	EXPECT(memcmp(sth.root, want, 32) == 0);
	j = la_get(&f, "/v1/log/entries?start=0&end=0", &status);
	EXPECT(status == 404);
	json_decref(j);
	j = la_get(&f, "/v1/log/proof/consistency?first=0&second=0", &status);
	EXPECT(status == 200 && json_array_size(json_object_get(j, "consistency")) == 0);
	json_decref(j);
	la_stop(&f);
}

/* Within a second and at one size, readers get the same head (ECDSA
 * signatures differ each time: the same text means it was not signed
 * again); a new entry or a second later, a new one, never older. */
TEST(sth_cached_per_size_for_a_second)
{
	char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	veil_tlog_sth sa, sb, sc, sd;
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 100 * 1000 * 1000};
	la_fx f;

	REQUIRE(la_start(&f, 5));
	REQUIRE(la_sth(&f, &sa, &a));
	REQUIRE(la_sth(&f, &sb, &b));
	EXPECT(strcmp(a, b) == 0);
	EXPECT_OK(veil_tlog_append(f.log.t, (const uint8_t *)"new", 3, NULL));
	REQUIRE(la_sth(&f, &sc, &c));
	EXPECT(sc.tree_size == 6 && strcmp(b, c) != 0 && sc.timestamp_ms >= sb.timestamp_ms);
	nanosleep(&pause, NULL);
	REQUIRE(la_sth(&f, &sd, &d));
	EXPECT(sd.tree_size == 6 && strcmp(c, d) != 0 && sd.timestamp_ms > sc.timestamp_ms);
	free(a);
	free(b);
	free(c);
	free(d);
	la_stop(&f);
}

typedef struct la_reader {
	la_fx *f;
	int bad;
} la_reader;

/* Heads read while entries are appended: each one's root is the log's
 * root at the size it names. */
static void *la_read_heads(void *arg)
{
	la_reader *r = arg;

	for (int i = 0; i < 25; i++) {
		veil_tlog_sth sth;
		veil_tlog_hash root;

		if (!la_sth(r->f, &sth, NULL) ||
		    veil_tlog_root(r->f->log.t, sth.tree_size, root) != VEIL_OK ||
		    memcmp(root, sth.root, 32) != 0)
			r->bad++;
	}
	return NULL;
}

TEST(sth_right_during_appends)
{
	pthread_t threads[4];
	la_reader readers[4];
	uint8_t buf[64];
	la_fx f;

	REQUIRE(la_start(&f, 3));
	for (int i = 0; i < 4; i++) {
		readers[i] = (la_reader){.f = &f};
		REQUIRE(pthread_create(&threads[i], NULL, la_read_heads, &readers[i]) == 0);
	}
	for (uint64_t i = 3; i < 40; i++)
		EXPECT_OK(veil_tlog_append(f.log.t, buf, tl_entry(i, buf, sizeof buf), NULL));
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		EXPECT(readers[i].bad == 0);
	}
	la_stop(&f);
}

/* VEIL_GW_LOG_ENTRIES_MAX a request; an end past the log stops at its last
 * entry; a client gets the rest by asking again. */
TEST(entries_capped_by_count)
{
	static veil_tlog_hash leaves[300];
	veil_tlog_hash root;
	veil_tlog_sth sth;
	long status;
	json_t *j;
	la_fx f;

	REQUIRE(la_start(&f, 300));
	j = la_get(&f, "/v1/log/entries?start=0&end=299", &status);
	EXPECT(status == 200 &&
	       json_array_size(json_object_get(j, "entries")) == VEIL_GW_LOG_ENTRIES_MAX);
	json_decref(j);
	j = la_get(&f, "/v1/log/entries?start=290&end=9007199254740991", &status);
	EXPECT(status == 200 && json_array_size(json_object_get(j, "entries")) == 10);
	json_decref(j);
	j = la_get(&f, "/v1/log/entries?start=299&end=299", &status);
	EXPECT(status == 200 && json_array_size(json_object_get(j, "entries")) == 1);
	json_decref(j);
	EXPECT(la_entries(&f, 0, 299, leaves) == 2);
	EXPECT(la_sth(&f, &sth, NULL) && sth.tree_size == 300);
	EXPECT_OK(veil_tlog_root_of(leaves, 300, root));
	EXPECT(memcmp(root, sth.root, 32) == 0);
	la_stop(&f);
}

/* VEIL_GW_LOG_ANSWER_MAX bytes an answer: 1 MiB entries (1.33 MiB in
 * base64url) go two at a time, and an entry of the largest size alone,
 * past the cap, so a client is never stuck. */
TEST(entries_capped_by_bytes)
{
	static veil_tlog_hash leaves[6];
	uint8_t *big = malloc(VEIL_TLOG_ENTRY_MAX);
	veil_tlog_hash root;
	veil_tlog_sth sth;
	long status;
	json_t *j;
	la_fx f;

	REQUIRE(big != NULL);
	REQUIRE(la_start(&f, 0));
	for (size_t i = 0; i < 6; i++) {
		memset(big, 'a' + (int)i, VEIL_TLOG_ENTRY_MAX);
		EXPECT_OK(
		    veil_tlog_append(f.log.t, big, i == 5 ? VEIL_TLOG_ENTRY_MAX : 1 << 20, NULL));
	}
	j = la_get(&f, "/v1/log/entries?start=0&end=5", &status);
	EXPECT(status == 200 && json_array_size(json_object_get(j, "entries")) == 2);
	json_decref(j);
	j = la_get(&f, "/v1/log/entries?start=5&end=5", &status);
	EXPECT(status == 200 && json_array_size(json_object_get(j, "entries")) == 1);
	json_decref(j);
	/* Pages: 0-1, 2-3, 4 (5 does not fit with it), 5. */
	EXPECT(la_entries(&f, 0, 5, leaves) == 4);
	EXPECT(la_sth(&f, &sth, NULL) && sth.tree_size == 6);
	EXPECT_OK(veil_tlog_root_of(leaves, 6, root));
	EXPECT(memcmp(root, sth.root, 32) == 0);
	free(big);
	la_stop(&f);
}

/* Every entry of every tree of a 13-entry log, against roots computed from
 * the entries served; then one against the signed head, and altered. */
TEST(inclusion_proofs_verify)
{
	veil_tlog_hash leaves[13], root, leaf, *path = NULL;
	veil_tlog_sth sth;
	size_t n = 0;
	long status;
	json_t *j;
	la_fx f;

	REQUIRE(la_start(&f, 13));
	REQUIRE(la_entries(&f, 0, 12, leaves) == 1);
	for (uint64_t size = 1; size <= 13; size++) {
		EXPECT_OK(veil_tlog_root_of(leaves, size, root));
		for (uint64_t i = 0; i < size; i++) {
			j = la_getf(&f, &status,
				    "/v1/log/proof/inclusion?index=%llu&tree_size=%llu",
				    (unsigned long long)i, (unsigned long long)size);
			EXPECT(status == 200 && json_object_size(j) == 4 &&
			       la_int(j, "index") == i && la_int(j, "tree_size") == size);
			EXPECT(la_hash(j, "leaf_hash", leaf) && memcmp(leaf, leaves[i], 32) == 0);
			EXPECT_OK(
			    veil_tlog_proof_parse(json_object_get(j, "audit_path"), &path, &n));
			EXPECT_OK(veil_tlog_verify_inclusion(i, size, leaves[i], path, n, root));
			free(path);
			path = NULL;
			json_decref(j);
		}
	}
	REQUIRE(la_sth(&f, &sth, NULL) && sth.tree_size == 13);
	j = la_get(&f, "/v1/log/proof/inclusion?index=6&tree_size=13", &status);
	EXPECT_OK(veil_tlog_proof_parse(json_object_get(j, "audit_path"), &path, &n));
	REQUIRE(path != NULL && n > 0);
	EXPECT_OK(veil_tlog_verify_inclusion(6, sth.tree_size, leaves[6], path, n, sth.root));
	EXPECT_ERR(veil_tlog_verify_inclusion(6, sth.tree_size, leaves[5], path, n, sth.root),
		   VEIL_E_VERIFY);
	path[n - 1][0] ^= 1;
	EXPECT_ERR(veil_tlog_verify_inclusion(6, sth.tree_size, leaves[6], path, n, sth.root),
		   VEIL_E_VERIFY);
	free(path);
	json_decref(j);
	la_stop(&f);
}

static bool la_consistent(const la_fx *f, uint64_t m, uint64_t n, const veil_tlog_hash r1,
			  const veil_tlog_hash r2)
{
	long status;
	json_t *j = la_getf(f, &status, "/v1/log/proof/consistency?first=%llu&second=%llu",
			    (unsigned long long)m, (unsigned long long)n);
	veil_tlog_hash *proof = NULL;
	size_t len = 0;
	bool ok =
	    status == 200 && json_object_size(j) == 3 && la_int(j, "first") == m &&
	    la_int(j, "second") == n &&
	    veil_tlog_proof_parse(json_object_get(j, "consistency"), &proof, &len) == VEIL_OK &&
	    veil_tlog_verify_consistency(m, n, r1, r2, proof, len) == VEIL_OK;

	free(proof);
	json_decref(j);
	return ok;
}

/* Every pair of sizes of a 13-entry log; then a client's kept head against
 * a later one, and a forged older root that must not pass. */
TEST(consistency_proofs_verify)
{
	veil_tlog_hash leaves[13], roots[14], forged;
	veil_tlog_sth old, now;
	uint8_t buf[64];
	la_fx f;

	REQUIRE(la_start(&f, 13));
	REQUIRE(la_entries(&f, 0, 12, leaves) == 1);
	for (uint64_t size = 0; size <= 13; size++)
		EXPECT_OK(veil_tlog_root_of(leaves, size, roots[size]));
	for (uint64_t m = 0; m <= 13; m++)
		for (uint64_t n = m; n <= 13; n++)
			EXPECT(la_consistent(&f, m, n, roots[m], roots[n]));
	REQUIRE(la_sth(&f, &old, NULL));
	for (uint64_t i = 13; i < 21; i++)
		EXPECT_OK(veil_tlog_append(f.log.t, buf, tl_entry(i, buf, sizeof buf), NULL));
	REQUIRE(la_sth(&f, &now, NULL) && now.tree_size == 21);
	EXPECT(la_consistent(&f, old.tree_size, now.tree_size, old.root, now.root));
	memcpy(forged, old.root, 32);
	forged[31] ^= 0x80;
	EXPECT(!la_consistent(&f, old.tree_size, now.tree_size, forged, now.root));
	la_stop(&f);
}

typedef struct la_bad {
	const char *path;
	long status;
	const char *code;
} la_bad;

/* Every refusal, on a log of 10 entries. */
TEST(bad_parameters_refused)
{
	static const la_bad cases[] = {
	    /* entries: missing, repeated, unknown, empty */
	    {"/v1/log/entries", 400, "invalid_parameter"},
	    {"/v1/log/entries?", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0", 400, "invalid_parameter"},
	    {"/v1/log/entries?end=0", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0&start=0&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0&end=1&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0&end=1&x=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?index=0&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?Start=0&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?start&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0&&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?&start=0&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0&end=1&", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0=0&end=1", 400, "invalid_parameter"},
	    /* entries: not decimal digits, leading zeros, too large */
	    {"/v1/log/entries?start=a&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=-1&end=1", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=+1&end=2", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=1.0&end=2", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0x1&end=2", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=%31&end=2", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=%201&end=2", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=1e1&end=20", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=01&end=2", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=00&end=2", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0&end=9007199254740992", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0&end=18446744073709551616", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=0&end=99999999999999999999999999", 400, "invalid_parameter"},
	    /* entries: order and range */
	    {"/v1/log/entries?start=3&end=2", 400, "invalid_parameter"},
	    {"/v1/log/entries?start=10&end=10", 404, "out_of_range"},
	    {"/v1/log/entries?start=9007199254740991&end=9007199254740991", 404, "out_of_range"},
	    /* inclusion */
	    {"/v1/log/proof/inclusion?index=0", 400, "invalid_parameter"},
	    {"/v1/log/proof/inclusion?tree_size=1", 400, "invalid_parameter"},
	    {"/v1/log/proof/inclusion?index=0&tree_size=1&index=0", 400, "invalid_parameter"},
	    {"/v1/log/proof/inclusion?index=0&tree_size=1&first=0", 400, "invalid_parameter"},
	    {"/v1/log/proof/inclusion?index=01&tree_size=2", 400, "invalid_parameter"},
	    {"/v1/log/proof/inclusion?index=3&tree_size=3", 400, "invalid_parameter"},
	    {"/v1/log/proof/inclusion?index=0&tree_size=0", 400, "invalid_parameter"},
	    {"/v1/log/proof/inclusion?index=4&tree_size=2", 400, "invalid_parameter"},
	    {"/v1/log/proof/inclusion?index=0&tree_size=11", 404, "out_of_range"},
	    {"/v1/log/proof/inclusion?index=10&tree_size=11", 404, "out_of_range"},
	    {"/v1/log/proof/inclusion?index=0&tree_size=9007199254740991", 404, "out_of_range"},
	    {"/v1/log/proof/inclusion?index=0&tree_size=9007199254740992", 400,
	     "invalid_parameter"},
	    /* consistency */
	    {"/v1/log/proof/consistency?first=1", 400, "invalid_parameter"},
	    {"/v1/log/proof/consistency?second=1", 400, "invalid_parameter"},
	    {"/v1/log/proof/consistency?first=1&second=2&second=2", 400, "invalid_parameter"},
	    {"/v1/log/proof/consistency?first=1&second=2&start=0", 400, "invalid_parameter"},
	    {"/v1/log/proof/consistency?first=1&second=x", 400, "invalid_parameter"},
	    {"/v1/log/proof/consistency?first=3&second=2", 400, "invalid_parameter"},
	    {"/v1/log/proof/consistency?first=1&second=11", 404, "out_of_range"},
	    {"/v1/log/proof/consistency?first=11&second=11", 404, "out_of_range"},
	    /* the head takes nothing */
	    {"/v1/log/sth?tree_size=1", 400, "invalid_parameter"},
	};
	long status;
	la_fx f;

	REQUIRE(la_start(&f, 10));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *j = la_get(&f, cases[i].path, &status);
		json_t *e = json_object_get(j, "error");
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		bool ok = status == cases[i].status && json_object_size(j) == 1 &&
			  json_object_size(e) == 3 && code != NULL &&
			  strcmp(code, cases[i].code) == 0 && type != NULL &&
			  strcmp(type, "invalid_request_error") == 0 && msg != NULL && *msg != 0;

		if (!ok)
			fprintf(stderr, "  %s: status %ld, %s\n", cases[i].path, status,
				msg != NULL ? msg : "(no message)");
		EXPECT(ok);
		json_decref(j);
	}
	/* The edges that are fine: 2^53 - 1 as an end, 0 as a value. */
	json_decref(la_get(&f, "/v1/log/entries?end=9007199254740991&start=0", &status));
	EXPECT(status == 200);
	json_decref(la_get(&f, "/v1/log/proof/inclusion?tree_size=10&index=9", &status));
	EXPECT(status == 200);
	json_decref(la_get(&f, "/v1/log/proof/consistency?first=0&second=10", &status));
	EXPECT(status == 200);
	/* Another method on a known path. */
	{
		char url[128];
		veil_http_client_request req = {
		    .url = url, .method = "POST", .body = "x", .body_len = 1};
		veil_http_client_response resp;

		snprintf(url, sizeof url, "%s/v1/log/sth", f.url);
		EXPECT_OK(veil_http_client_fetch(&req, &resp));
		EXPECT(resp.status == 405);
		veil_http_client_response_clear(&resp);
	}
	la_stop(&f);
}

/* An entry changed in the file under the running log is not served, and
 * neither is a proof that would need it read. */
TEST(altered_entry_is_a_server_error)
{
	long status;
	json_t *j;
	la_fx f;

	REQUIRE(la_start(&f, 6));
	REQUIRE(tl_sql(f.log.path, "DROP TRIGGER tlog_entries_no_update;"
				   "UPDATE tlog_entries SET data = X'41' WHERE idx = 2"));
	j = la_get(&f, "/v1/log/entries?start=0&end=5", &status);
	EXPECT(status == 500 &&
	       json_is_string(json_object_get(json_object_get(j, "error"), "type")));
	EXPECT(strcmp(json_string_value(json_object_get(json_object_get(j, "error"), "type")),
		      "server_error") == 0);
	json_decref(j);
	j = la_get(&f, "/v1/log/proof/inclusion?index=2&tree_size=6", &status);
	EXPECT(status == 500);
	json_decref(j);
	j = la_get(&f, "/v1/log/entries?start=3&end=5", &status);
	EXPECT(status == 200 && json_array_size(json_object_get(j, "entries")) == 3);
	json_decref(j);
	la_stop(&f);
}

TEST(mount_refuses_bad_arguments)
{
	veil_http_config c = {.port = 0, .threads = 1};
	veil_http_server *s = NULL;
	veil_jwk *key = NULL, *pub = NULL, *rsa = NULL;
	gw_log_api *api = (gw_log_api *)&c;
	json_t *j = NULL;
	tlog_fx log;

	REQUIRE(tl_fx_open(&log));
	REQUIRE(veil_http_server_new(&c, &s) == VEIL_OK);
	EXPECT_OK(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &key));
	EXPECT_OK(veil_jwk_export_public(key, &j));
	EXPECT_OK(veil_jwk_parse_public(j, &pub));
	EXPECT_OK(veil_jwk_generate(VEIL_JWK_RSA, 2048, &rsa));
	EXPECT_ERR(gw_log_api_mount(NULL, log.t, key, &api), VEIL_E_USAGE);
	EXPECT(api == NULL);
	EXPECT_ERR(gw_log_api_mount(s, NULL, key, &api), VEIL_E_USAGE);
	EXPECT_ERR(gw_log_api_mount(s, log.t, NULL, &api), VEIL_E_USAGE);
	EXPECT_ERR(gw_log_api_mount(s, log.t, pub, &api), VEIL_E_USAGE);
	EXPECT_ERR(gw_log_api_mount(s, log.t, rsa, &api), VEIL_E_USAGE);
	EXPECT_ERR(gw_log_api_mount(s, log.t, key, NULL), VEIL_E_USAGE);
	EXPECT(api == NULL);
	gw_log_api_free(NULL);
	veil_http_server_free(s);
	json_decref(j);
	veil_jwk_free(key);
	veil_jwk_free(pub);
	veil_jwk_free(rsa);
	tl_fx_done(&log);
}

int main(void)
{
	RUN(sth_is_the_signed_head_of_the_entries);
	RUN(sth_of_the_empty_log);
	RUN(sth_cached_per_size_for_a_second);
	RUN(sth_right_during_appends);
	RUN(entries_capped_by_count);
	RUN(entries_capped_by_bytes);
	RUN(inclusion_proofs_verify);
	RUN(consistency_proofs_verify);
	RUN(bad_parameters_refused);
	RUN(altered_entry_is_a_server_error);
	RUN(mount_refuses_bad_arguments);
	return harness_finish("test_gateway_log_api");
}

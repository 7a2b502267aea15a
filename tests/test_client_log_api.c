/*
 * test_client_log_api.c - the client's reading of a gateway's
 * transparency log over HTTP (veil_client_log_sth, veil_client_log_entry,
 * veil_client_log_consistent; src/client/log.c, docs/audit.md).
 *
 * On loopback against two servers over one log: the gateway's own log API
 * (src/gateway/log_api.c), and a liar that answers honestly by default
 * and, one mode at a time, alters exactly one thing a gateway could lie
 * about: the members beside the signed head, the key it shows, the signer,
 * an entry's bytes or index, a proof's hashes, a 404 for what it signed,
 * an error status. Every lie must be refused, and the honest baseline of
 * the same liar must pass, so each refusal is for the lie and not for the
 * liar.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "gateway/log_api.h"
#include "test_tlog_util.h"
#include "veil/client.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/http.h"
#include "veil/json.h"

/* What the liar alters (one at a time). */
typedef enum lie {
	LIE_NONE,
	LIE_STH_SIZE,     /* tree_size beside the JWS */
	LIE_STH_TIME,     /* timestamp beside the JWS */
	LIE_STH_ROOT,     /* root_hash beside the JWS */
	LIE_STH_KEY,      /* shows another key */
	LIE_STH_NO_KEY,   /* shows no key */
	LIE_STH_SIGNER,   /* signs with another key (and shows it) */
	LIE_STH_EXTRA,    /* a member more */
	LIE_STH_NOT_TEXT, /* "sth" not a string */
	LIE_STH_FLIP,     /* one character of the JWS's signature altered */
	LIE_STATUS_500,   /* every answer a 500 */
	LIE_STATUS_404,   /* every answer a 404 */
	LIE_NOT_JSON,     /* every answer "<html>" */
	LIE_ENTRY_BYTE,   /* an entry's bytes altered (proofs honest) */
	LIE_ENTRY_INDEX,  /* the entry answer names another index */
	LIE_ENTRY_TWO,    /* two entries for one */
	LIE_ENTRY_NONE,   /* no entry */
	LIE_ENTRY_B64,    /* leaf_input padded base64 */
	LIE_ENTRY_OTHER,  /* another entry's bytes, and its proof, under the index asked */
	LIE_PATH_FLIP,    /* one byte of the audit path altered */
	LIE_PATH_SHORT,   /* the audit path without its last hash */
	LIE_PATH_SIZE,    /* proof for another tree size */
	LIE_LEAF_HASH,    /* leaf_hash altered */
	LIE_CONS_FLIP,    /* one byte of a consistency proof altered */
	LIE_CONS_EMPTY,   /* an empty consistency proof */
	LIE_CONS_FIRST,   /* the answer names another first size */
} lie;

typedef struct fx {
	tlog_fx log;
	veil_jwk *key, *other;
	veil_http_server *honest, *liar;
	gw_log_api *api;
	pthread_t t_honest, t_liar;
	char honest_url[64], liar_url[64];
	veil_client_policy *policy;
	veil_client *to_honest, *to_liar;
} fx;

static fx F;
static atomic_int mode;

/* The value of name=DIGITS in query q, or UINT64_MAX. */
static uint64_t q_num(const char *q, const char *name)
{
	size_t n = strlen(name);
	uint64_t v = 0;

	for (const char *p = q; p != NULL && *p != '\0';) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			const char *d = p + n + 1;
			if (*d < '0' || *d > '9')
				return UINT64_MAX;
			for (; *d >= '0' && *d <= '9' && v < UINT64_MAX / 16; d++)
				v = v * 10 + (uint64_t)(*d - '0');
			return v;
		}
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return UINT64_MAX;
}

static json_t *hash_json(const veil_tlog_hash h)
{
	char s[44];

	veil_base64url_encode(h, 32, s);
	return json_string(s);
}

static bool blanket_lie(veil_http_request *r)
{
	switch (atomic_load(&mode)) {
	case LIE_STATUS_500:
		veil_http_reply_json(r, 500, json_pack("{s:{s:s}}", "error", "message", "broken"));
		return true;
	case LIE_STATUS_404:
		veil_http_reply_json(r, 404, json_pack("{s:{s:s}}", "error", "message", "gone"));
		return true;
	case LIE_NOT_JSON:
		veil_http_reply(r, 200, "text/html", "<html>", 6);
		return true;
	default:
		return false;
	}
}

static void h_sth(veil_http_request *r, void *user)
{
	int m = atomic_load(&mode);
	const veil_jwk *signer = m == LIE_STH_SIGNER ? F.other : F.key;
	veil_tlog_sth head = {.tree_size = veil_tlog_size(F.log.t),
			      .timestamp_ms = (int64_t)time(NULL) * 1000};
	json_t *pub = NULL, *o;
	char *jws = NULL;

	(void)user;
	if (blanket_lie(r))
		return;
	if (veil_tlog_root(F.log.t, head.tree_size, head.root) != VEIL_OK ||
	    veil_tlog_sth_sign(signer, &head, &jws) != VEIL_OK ||
	    veil_jwk_export_public(m == LIE_STH_KEY ? F.other : signer, &pub) != VEIL_OK) {
		veil_http_reply(r, 500, "text/plain", "x", 1);
		free(jws);
		return;
	}
	if (m == LIE_STH_FLIP)
		jws[strlen(jws) - 5] = jws[strlen(jws) - 5] == 'A' ? 'B' : 'A';
	if (m == LIE_STH_ROOT)
		head.root[0] ^= 1;
	o = json_pack("{s:I, s:I, s:o, s:s, s:o}", "tree_size",
		      (json_int_t)(head.tree_size + (m == LIE_STH_SIZE)), "timestamp",
		      (json_int_t)(head.timestamp_ms + (m == LIE_STH_TIME)), "root_hash",
		      hash_json(head.root), "sth", jws, "key", pub);
	if (m == LIE_STH_NO_KEY)
		json_object_del(o, "key");
	if (m == LIE_STH_EXTRA)
		json_object_set_new(o, "note", json_string("trust me"));
	if (m == LIE_STH_NOT_TEXT)
		json_object_set_new(o, "sth", json_integer(1));
	free(jws);
	veil_http_reply_json(r, 200, o);
}

static json_t *entry_json(uint64_t i, int m)
{
	uint8_t *data = NULL;
	size_t n = 0;
	char *b64;
	json_t *e;

	if (veil_tlog_entry(F.log.t, i, &data, &n) != VEIL_OK)
		return NULL;
	if (m == LIE_ENTRY_BYTE && n > 0)
		data[0] ^= 1;
	b64 = malloc(veil_base64_encoded_len(n) + 2);
	veil_base64url_encode(data, n, b64);
	if (m == LIE_ENTRY_B64) /* padding, which unpadded base64url never has */
		memcpy(b64 + strlen(b64), "=", 2);
	e = json_pack("{s:I, s:s}", "index", (json_int_t)(i + (m == LIE_ENTRY_INDEX)), "leaf_input",
		      b64);
	free(b64);
	free(data);
	return e;
}

static void h_entries(veil_http_request *r, void *user)
{
	int m = atomic_load(&mode);
	uint64_t i = q_num(veil_http_query(r), "start");
	json_t *arr = json_array();

	(void)user;
	if (blanket_lie(r)) {
		json_decref(arr);
		return;
	}
	if (m == LIE_ENTRY_OTHER) {
		/* The bytes of the entry before (after, for the first) under
		 * the index asked for. */
		json_t *e = entry_json(i == 0 ? 1 : i - 1, m);
		json_object_set_new(e, "index", json_integer((json_int_t)i));
		json_array_append_new(arr, e);
	} else if (m != LIE_ENTRY_NONE) {
		json_array_append_new(arr, entry_json(i, m));
	}
	if (m == LIE_ENTRY_TWO)
		json_array_append_new(arr, entry_json(i + 1, LIE_NONE));
	veil_http_reply_json(r, 200, json_pack("{s:o}", "entries", arr));
}

static void flip(veil_tlog_hash *p, size_t n)
{
	if (n > 0)
		p[n - 1][3] ^= 0x40;
}

static void h_inclusion(veil_http_request *r, void *user)
{
	int m = atomic_load(&mode);
	const char *q = veil_http_query(r);
	uint64_t i = q_num(q, "index"), size = q_num(q, "tree_size"), proof_size = size;
	veil_tlog_hash *path = NULL, leaf;
	size_t n = 0, dn;
	uint8_t *data = NULL;
	json_t *pj = NULL;

	(void)user;
	if (blanket_lie(r))
		return;
	if (m == LIE_PATH_SIZE && size - 1 > i)
		proof_size = size - 1;
	if (m == LIE_ENTRY_OTHER)
		i = i == 0 ? 1 : i - 1;
	if (veil_tlog_inclusion_proof(F.log.t, i, proof_size, &path, &n) != VEIL_OK ||
	    veil_tlog_entry(F.log.t, i, &data, &dn) != VEIL_OK ||
	    veil_tlog_leaf_hash(data, dn, leaf) != VEIL_OK) {
		free(path);
		free(data);
		veil_http_reply(r, 500, "text/plain", "x", 1);
		return;
	}
	if (m == LIE_ENTRY_OTHER)
		i = q_num(q, "index");
	if (m == LIE_PATH_FLIP)
		flip(path, n);
	if (m == LIE_PATH_SHORT && n > 0)
		n--;
	if (m == LIE_LEAF_HASH)
		leaf[31] ^= 1;
	if (veil_tlog_proof_json(path, n, &pj) != VEIL_OK)
		pj = json_array();
	veil_http_reply_json(r, 200,
			     json_pack("{s:I, s:I, s:o, s:o}", "index", (json_int_t)i, "tree_size",
				       (json_int_t)size, "leaf_hash", hash_json(leaf), "audit_path",
				       pj));
	free(path);
	free(data);
}

static void h_consistency(veil_http_request *r, void *user)
{
	int m = atomic_load(&mode);
	const char *q = veil_http_query(r);
	uint64_t a = q_num(q, "first"), b = q_num(q, "second");
	veil_tlog_hash *p = NULL;
	size_t n = 0;
	json_t *pj = NULL;

	(void)user;
	if (blanket_lie(r))
		return;
	if (veil_tlog_consistency_proof(F.log.t, a, b, &p, &n) != VEIL_OK) {
		veil_http_reply(r, 500, "text/plain", "x", 1);
		return;
	}
	if (m == LIE_CONS_FLIP)
		flip(p, n);
	if (m == LIE_CONS_EMPTY)
		n = 0;
	if (veil_tlog_proof_json(p, n, &pj) != VEIL_OK)
		pj = json_array();
	veil_http_reply_json(r, 200,
			     json_pack("{s:I, s:I, s:o}", "first",
				       (json_int_t)(a + (m == LIE_CONS_FIRST)), "second",
				       (json_int_t)b, "consistency", pj));
	free(p);
}

static void *run_server(void *s)
{
	if (veil_http_server_run(s) != VEIL_OK)
		fprintf(stderr, "  server: %s\n", veil_err_detail());
	return NULL;
}

static bool client_for(const char *url, veil_client **out)
{
	veil_client_config cfg = {.gateway = url, .policy = F.policy, .timeout_ms = 5000};

	return veil_client_new(&cfg, out) == VEIL_OK;
}

/* A client policy whose log_key is the public half of key. */
static bool policy_for(const veil_jwk *key, veil_client_policy **out)
{
	json_t *pub = NULL, *doc;
	char *text;
	bool ok;

	if (veil_jwk_export_public(key, &pub) != VEIL_OK)
		return false;
	doc = json_pack(
	    "{s:i, s:{s:i, s:s, s:{s:[s]}}, s:{s:[s]}, s:o}", "version", 1, "appraisal", "version",
	    1, "id", "client-log-test", "sim", "roots",
	    "0000000000000000000000000000000000000000000000000000000000000001", "models", "chat",
	    "1111111111111111111111111111111111111111111111111111111111111111", "log_key", pub);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	ok = text != NULL &&
	     veil_client_policy_parse((const uint8_t *)text, strlen(text), "test", out) == VEIL_OK;
	if (!ok)
		fprintf(stderr, "  policy: %s\n", veil_err_detail());
	free(text);
	return ok;
}

static bool fx_start(uint64_t entries)
{
	veil_http_config c = {.port = 0, .threads = 1};

	memset(&F, 0, sizeof F);
	if (!tl_fx_open(&F.log) || !tl_fill(F.log.t, entries) ||
	    veil_jwk_generate(VEIL_JWK_EC_P256, 0, &F.key) != VEIL_OK ||
	    veil_jwk_generate(VEIL_JWK_EC_P256, 0, &F.other) != VEIL_OK ||
	    veil_http_server_new(&c, &F.honest) != VEIL_OK ||
	    gw_log_api_mount(F.honest, F.log.t, F.key, &F.api) != VEIL_OK ||
	    veil_http_server_new(&c, &F.liar) != VEIL_OK ||
	    veil_http_route(F.liar, "GET", "/v1/log/sth", h_sth, NULL) != VEIL_OK ||
	    veil_http_route(F.liar, "GET", "/v1/log/entries", h_entries, NULL) != VEIL_OK ||
	    veil_http_route(F.liar, "GET", "/v1/log/proof/inclusion", h_inclusion, NULL) !=
		VEIL_OK ||
	    veil_http_route(F.liar, "GET", "/v1/log/proof/consistency", h_consistency, NULL) !=
		VEIL_OK ||
	    !policy_for(F.key, &F.policy) ||
	    pthread_create(&F.t_honest, NULL, run_server, F.honest) != 0 ||
	    pthread_create(&F.t_liar, NULL, run_server, F.liar) != 0) {
		fprintf(stderr, "  fixture: %s\n", veil_err_detail());
		return false;
	}
	snprintf(F.honest_url, sizeof F.honest_url, "http://127.0.0.1:%u",
		 veil_http_server_port(F.honest));
	snprintf(F.liar_url, sizeof F.liar_url, "http://127.0.0.1:%u/",
		 veil_http_server_port(F.liar));
	return client_for(F.honest_url, &F.to_honest) && client_for(F.liar_url, &F.to_liar);
}

static void fx_stop(void)
{
	veil_client_free(F.to_honest);
	veil_client_free(F.to_liar);
	veil_http_server_stop(F.honest);
	veil_http_server_stop(F.liar);
	pthread_join(F.t_honest, NULL);
	pthread_join(F.t_liar, NULL);
	veil_http_server_free(F.honest);
	veil_http_server_free(F.liar);
	gw_log_api_free(F.api);
	veil_client_policy_free(F.policy);
	veil_jwk_free(F.key);
	veil_jwk_free(F.other);
	tl_fx_done(&F.log);
}

static bool same_head(const veil_tlog_sth *a, const veil_tlog_sth *b)
{
	return a->tree_size == b->tree_size && a->timestamp_ms == b->timestamp_ms &&
	       memcmp(a->root, b->root, 32) == 0;
}

TEST(honest_gateway_heads_entries_and_proofs_verify)
{
	veil_tlog_sth head, again;
	veil_tlog_hash root;
	char *jws = NULL;
	size_t bad = 0;

	EXPECT_OK(veil_client_log_sth(F.to_honest, &head, &jws));
	EXPECT(head.tree_size == 13);
	REQUIRE(veil_tlog_root(F.log.t, 13, root) == VEIL_OK);
	EXPECT(memcmp(root, head.root, 32) == 0);
	REQUIRE(jws != NULL);
	EXPECT_OK(
	    veil_tlog_sth_verify(veil_client_policy_log_key(F.policy), jws, strlen(jws), &again));
	EXPECT(same_head(&head, &again));
	free(jws);
	/* Every entry, with its bytes. */
	for (uint64_t i = 0; i < head.tree_size; i++) {
		uint8_t *leaf = NULL, want[64];
		size_t n = 0, wn = tl_entry(i, want, sizeof want);
		veil_err err = veil_client_log_entry(F.to_honest, &head, i, &leaf, &n);
		if (err != VEIL_OK || n != wn || memcmp(leaf, want, wn) != 0) {
			fprintf(stderr, "    entry %" PRIu64 ": %s\n", i, veil_err_detail());
			bad++;
		}
		free(leaf);
	}
	EXPECT(bad == 0);
	/* The liar's honest baseline too. */
	atomic_store(&mode, LIE_NONE);
	EXPECT_OK(veil_client_log_sth(F.to_liar, &again, NULL));
	EXPECT(again.tree_size == 13 && memcmp(again.root, head.root, 32) == 0);
	for (uint64_t i = 0; i < again.tree_size; i++) {
		uint8_t *leaf = NULL;
		size_t n = 0;
		bad += veil_client_log_entry(F.to_liar, &again, i, &leaf, &n) != VEIL_OK;
		free(leaf);
	}
	EXPECT(bad == 0);
}

TEST(entry_outside_the_head_is_a_usage_error)
{
	veil_tlog_sth head;
	uint8_t *leaf = (uint8_t *)1;
	size_t n = 1;

	REQUIRE(veil_client_log_sth(F.to_honest, &head, NULL) == VEIL_OK);
	EXPECT_ERR(veil_client_log_entry(F.to_honest, &head, head.tree_size, &leaf, &n),
		   VEIL_E_USAGE);
	EXPECT(leaf == NULL && n == 0);
	EXPECT_ERR(veil_client_log_entry(F.to_honest, NULL, 0, &leaf, &n), VEIL_E_USAGE);
}

TEST(lying_heads_are_refused)
{
	struct {
		lie m;
		veil_err want;
	} cases[] = {
	    {LIE_STH_SIZE, VEIL_E_MISMATCH},    {LIE_STH_TIME, VEIL_E_MISMATCH},
	    {LIE_STH_ROOT, VEIL_E_MISMATCH},    {LIE_STH_KEY, VEIL_E_MISMATCH},
	    {LIE_STH_NO_KEY, VEIL_E_MALFORMED}, {LIE_STH_SIGNER, VEIL_E_VERIFY},
	    {LIE_STH_EXTRA, VEIL_E_MALFORMED},  {LIE_STH_NOT_TEXT, VEIL_E_MALFORMED},
	    {LIE_STH_FLIP, VEIL_E_VERIFY},      {LIE_NOT_JSON, VEIL_E_MALFORMED},
	    {LIE_STATUS_500, VEIL_E_IO},        {LIE_STATUS_404, VEIL_E_IO},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		veil_tlog_sth head;
		char *jws = (char *)1;
		veil_err got;

		atomic_store(&mode, (int)cases[i].m);
		got = veil_client_log_sth(F.to_liar, &head, &jws);
		if (got != cases[i].want)
			fprintf(stderr, "    lie %d: %s\n", cases[i].m, veil_err_detail());
		EXPECT_ERR(got, cases[i].want);
		EXPECT(jws == NULL && head.tree_size == 0);
	}
	atomic_store(&mode, LIE_NONE);
}

TEST(lying_entries_and_inclusion_proofs_are_refused)
{
	/* alt: a path for another tree size may have another length, which
	 * the verifier refuses as malformed before hashing. */
	struct {
		lie m;
		veil_err want, alt;
	} cases[] = {
	    {LIE_ENTRY_BYTE, VEIL_E_MISMATCH, 0},
	    {LIE_ENTRY_INDEX, VEIL_E_MISMATCH, 0},
	    {LIE_ENTRY_TWO, VEIL_E_MALFORMED, 0},
	    {LIE_ENTRY_NONE, VEIL_E_MALFORMED, 0},
	    {LIE_ENTRY_B64, VEIL_E_MALFORMED, 0},
	    {LIE_ENTRY_OTHER, VEIL_E_VERIFY, 0},
	    {LIE_PATH_FLIP, VEIL_E_VERIFY, 0},
	    {LIE_PATH_SHORT, VEIL_E_MALFORMED, 0},
	    {LIE_PATH_SIZE, VEIL_E_VERIFY, VEIL_E_MALFORMED},
	    {LIE_LEAF_HASH, VEIL_E_MISMATCH, 0},
	    {LIE_STATUS_404, VEIL_E_VERIFY, 0},
	    {LIE_STATUS_500, VEIL_E_IO, 0},
	    {LIE_NOT_JSON, VEIL_E_MALFORMED, 0},
	};
	veil_tlog_sth head;

	atomic_store(&mode, LIE_NONE);
	REQUIRE(veil_client_log_sth(F.to_liar, &head, NULL) == VEIL_OK);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		/* Entries 0, 5 and 10: the first and two inside (a proof for
		 * the tree of one entry less exists for each). */
		for (uint64_t idx = 0; idx < head.tree_size - 1; idx += 5) {
			uint8_t *leaf = (uint8_t *)1;
			size_t n = 1;
			veil_err got;

			atomic_store(&mode, (int)cases[i].m);
			got = veil_client_log_entry(F.to_liar, &head, idx, &leaf, &n);
			if (cases[i].alt != 0 && got == cases[i].alt)
				got = cases[i].want;
			if (got != cases[i].want)
				fprintf(stderr, "    lie %d, entry %" PRIu64 ": %s\n", cases[i].m,
					idx, veil_err_detail());
			EXPECT_ERR(got, cases[i].want);
			EXPECT(leaf == NULL && n == 0);
		}
	}
	atomic_store(&mode, LIE_NONE);
}

TEST(proof_against_another_head_is_refused)
{
	/* An honest proof for an honest entry, checked against a head of the
	 * same size with another root (signed by the log's key: a fork). */
	veil_tlog_sth head, forked;
	uint8_t *leaf = NULL;
	size_t n = 0;

	REQUIRE(veil_client_log_sth(F.to_honest, &head, NULL) == VEIL_OK);
	forked = head;
	forked.root[5] ^= 0x10;
	EXPECT_ERR(veil_client_log_entry(F.to_honest, &forked, 3, &leaf, &n), VEIL_E_VERIFY);
	EXPECT(leaf == NULL);
}

TEST(consistency_between_heads)
{
	veil_tlog_sth h13, h20, same, forked, empty = {0}, later;
	uint8_t buf[64];
	uint64_t idx;

	REQUIRE(veil_client_log_sth(F.to_honest, &h13, NULL) == VEIL_OK);
	for (uint64_t i = 13; i < 20; i++) {
		size_t len = tl_entry(i, buf, sizeof buf);
		REQUIRE(veil_tlog_append(F.log.t, buf, len, &idx) == VEIL_OK);
	}
	/* The gateway signs a new head for a new size at once. */
	REQUIRE(veil_client_log_sth(F.to_honest, &h20, NULL) == VEIL_OK);
	REQUIRE(h20.tree_size == 20);
	EXPECT_OK(veil_client_log_consistent(F.to_honest, &h13, &h20));
	EXPECT_OK(veil_client_log_consistent(F.to_honest, &h20, &h20));
	EXPECT_OK(veil_client_log_consistent(F.to_honest, &h13, &h13));
	/* Any tree extends the empty one (its root is SHA-256 of nothing). */
	REQUIRE(veil_sha256("", 0, empty.root) == VEIL_OK);
	EXPECT_OK(veil_client_log_consistent(F.to_honest, &empty, &h20));
	/* A smaller newer tree, a head from the future, another root. */
	EXPECT_ERR(veil_client_log_consistent(F.to_honest, &h20, &h13), VEIL_E_VERIFY);
	later = h13;
	later.timestamp_ms = h20.timestamp_ms + 1;
	EXPECT_ERR(veil_client_log_consistent(F.to_honest, &later, &h20), VEIL_E_VERIFY);
	forked = h13;
	forked.root[0] ^= 1;
	EXPECT_ERR(veil_client_log_consistent(F.to_honest, &forked, &h20), VEIL_E_VERIFY);
	same = h20;
	same.root[31] ^= 1;
	EXPECT_ERR(veil_client_log_consistent(F.to_honest, &same, &h20), VEIL_E_VERIFY);
	empty.root[0] ^= 1;
	EXPECT_ERR(veil_client_log_consistent(F.to_honest, &empty, &h20), VEIL_E_VERIFY);
	/* The liar: honest baseline, then each lie. */
	atomic_store(&mode, LIE_NONE);
	EXPECT_OK(veil_client_log_consistent(F.to_liar, &h13, &h20));
	atomic_store(&mode, LIE_CONS_FLIP);
	EXPECT_ERR(veil_client_log_consistent(F.to_liar, &h13, &h20), VEIL_E_VERIFY);
	atomic_store(&mode, LIE_CONS_EMPTY);
	EXPECT_ERR(veil_client_log_consistent(F.to_liar, &h13, &h20), VEIL_E_MALFORMED);
	atomic_store(&mode, LIE_CONS_FIRST);
	EXPECT_ERR(veil_client_log_consistent(F.to_liar, &h13, &h20), VEIL_E_MISMATCH);
	atomic_store(&mode, LIE_STATUS_404);
	EXPECT_ERR(veil_client_log_consistent(F.to_liar, &h13, &h20), VEIL_E_VERIFY);
	atomic_store(&mode, LIE_STATUS_500);
	EXPECT_ERR(veil_client_log_consistent(F.to_liar, &h13, &h20), VEIL_E_IO);
	atomic_store(&mode, LIE_NONE);
}

TEST(unreachable_gateway_is_io)
{
	veil_client *c = NULL;
	veil_tlog_sth head;

	/* Port 1 on loopback: nothing listens there. */
	REQUIRE(client_for("http://127.0.0.1:1", &c));
	EXPECT_ERR(veil_client_log_sth(c, &head, NULL), VEIL_E_IO);
	veil_client_free(c);
}

TEST(policy_without_log_key_is_a_usage_error)
{
	static const char text[] =
	    "{\"version\":1,\"appraisal\":{\"version\":1,\"id\":\"t\",\"sim\":{\"roots\":"
	    "[\"0000000000000000000000000000000000000000000000000000000000000001\"]}},"
	    "\"models\":{\"chat\":["
	    "\"1111111111111111111111111111111111111111111111111111111111111111\"]}}";
	veil_client_policy *p = NULL;
	veil_client *c = NULL;
	veil_tlog_sth head;
	veil_client_config cfg = {.gateway = F.honest_url};

	REQUIRE(veil_client_policy_parse((const uint8_t *)text, strlen(text), "test", &p) ==
		VEIL_OK);
	cfg.policy = p;
	REQUIRE(veil_client_new(&cfg, &c) == VEIL_OK);
	EXPECT_ERR(veil_client_log_sth(c, &head, NULL), VEIL_E_USAGE);
	veil_client_free(c);
	veil_client_policy_free(p);
}

int main(void)
{
	if (!fx_start(13)) {
		harness_fail(__FILE__, __LINE__, "the loopback fixture did not start");
		return harness_finish("test_client_log_api");
	}
	RUN(honest_gateway_heads_entries_and_proofs_verify);
	RUN(entry_outside_the_head_is_a_usage_error);
	RUN(lying_heads_are_refused);
	RUN(lying_entries_and_inclusion_proofs_are_refused);
	RUN(proof_against_another_head_is_refused);
	RUN(consistency_between_heads);
	RUN(unreachable_gateway_is_io);
	RUN(policy_without_log_key_is_a_usage_error);
	fx_stop();
	return harness_finish("test_client_log_api");
}

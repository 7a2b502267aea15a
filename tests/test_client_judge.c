/*
 * test_client_judge.c - judging a worker's evidence under the client
 * policy (veil_client_judge, docs/client.md "Judging evidence").
 *
 * The evidence is real sim evidence made here: two sim platforms (one of
 * them reporting a debuggable guest) made with veil_sim_init in a
 * temporary folder, guests over them (include/veil/guest.h) measuring a
 * workload file, and runtime data built the way veil-worker builds it
 * (docs/worker.md "Evidence"): a fresh P-256 receipt key as tee-pubkey
 * and the keys of a fresh OHTTP server as veil-worker.ohttp-keys. Every
 * refusal is checked for the check it names, and for leaving the worker
 * cleared.
 */
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "veil/client.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/crypto.h"
#include "veil/guest.h"
#include "veil/json.h"
#include "veil/sim.h"
#include "veil/timeutil.h"

#define DIGEST  "5a5b5c5d5e5f60616263646566676869707172737475767778798081828384ab"
#define DIGEST2 "0000000000000000000000000000000000000000000000000000000000000001"

static char base[64], plat[128], dbg[128], stray[128], work1[128], work2[128];
static const char *const w1[] = {work1}, *const w2[] = {work2};
static char root_hex[65], dbg_root_hex[65], meas_hex[97];
static veil_guest *g_ok, *g_none, *g_other, *g_dbg, *g_stray;
static veil_jwk *receipt_key, *receipt_key2;
static veil_ohttp_server *ohttp, *ohttp2;
static char *keys_b64, *keys2_b64;
static uint8_t *keys_raw;
static size_t keys_raw_len;
static veil_client_policy *pol, *pol_bench;

static void setup_fail(const char *what)
{
	fprintf(stderr, "setup: %s: %s\n", what, veil_err_detail());
	exit(2);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		setup_fail(path);
}

/* A sim platform with one GPU; `debug` edits platform.json to report a
 * debuggable guest. Its root fingerprint in hex. */
static void platform(const char *dir, bool debug, char hex[65])
{
	char path[256];
	uint8_t *buf, root[32];
	size_t n;
	veil_sim *s = NULL;

	if (veil_sim_init(dir, 1, veil_time_now()) != VEIL_OK)
		setup_fail("veil_sim_init");
	if (debug) {
		char *at;
		snprintf(path, sizeof path, "%s/platform.json", dir);
		if (veil_file_read(path, 1 << 16, &buf, &n) != VEIL_OK)
			setup_fail("platform.json");
		at = strstr((char *)buf, "\"debug\": false");
		if (at == NULL)
			setup_fail("platform.json has no debug flag");
		memcpy(at, "\"debug\": true,", 14); /* then drop the old comma */
		memmove(at + 14, at + 15, strlen(at + 15) + 1);
		write_text(path, (char *)buf);
		free(buf);
	}
	if (veil_sim_open(dir, &s) != VEIL_OK)
		setup_fail("veil_sim_open");
	veil_sim_root_sha256(s, root);
	veil_sim_free(s);
	veil_hex_encode(root, 32, hex);
}

static veil_guest *guest(const char *dir, const char *const *work, const char *gpus)
{
	veil_guest_config c = {
	    .tee = "sim", .sim_dir = dir, .workload = work, .n_workload = 1, .gpus = gpus};
	veil_guest *g = NULL;

	if (veil_guest_open(&c, &g) != VEIL_OK)
		setup_fail("veil_guest_open");
	return g;
}

/* A fresh OHTTP server with key id `id`, and its keys in base64. */
static veil_ohttp_server *ohttp_server(uint8_t id, char **b64, uint8_t **raw, size_t *raw_len)
{
	veil_ohttp_server *s = NULL;
	veil_writer w;

	veil_writer_init(&w, 4096);
	if (veil_ohttp_server_new(&s) != VEIL_OK ||
	    veil_ohttp_server_generate_key(s, id) != VEIL_OK ||
	    veil_ohttp_server_keys(s, &w) != VEIL_OK)
		setup_fail("OHTTP server");
	*b64 = malloc(veil_base64_encoded_len(w.len) + 1);
	if (*b64 == NULL)
		setup_fail("memory");
	veil_base64_encode(w.data, w.len, *b64);
	if (raw != NULL) {
		*raw = malloc(w.len);
		if (*raw == NULL)
			setup_fail("memory");
		memcpy(*raw, w.data, w.len);
		*raw_len = w.len;
	}
	veil_writer_clear(&w);
	return s;
}

/* What a worker description is made of; NULL members are left out. */
typedef struct desc {
	const char *nonce, *id, *model, *digest, *engine, *keys;
	const veil_jwk *key; /* NULL: no tee-pubkey */
} desc;

static desc good_desc(const char *nonce)
{
	return (desc){.nonce = nonce,
		      .id = "wk-a",
		      .model = "chat",
		      .digest = DIGEST,
		      .engine = "builtin",
		      .keys = keys_b64,
		      .key = receipt_key};
}

static json_t *runtime_data(const desc *d)
{
	json_t *rd = json_object(), *wk = json_object(), *pub = NULL;

	json_object_set_new(rd, "nonce", json_string(d->nonce));
	if (d->key != NULL) {
		if (veil_jwk_export_public(d->key, &pub) != VEIL_OK)
			setup_fail("export");
		json_object_set_new(rd, "tee-pubkey", pub);
	}
	if (d->id != NULL)
		json_object_set_new(wk, "id", json_string(d->id));
	if (d->model != NULL)
		json_object_set_new(wk, "model", json_string(d->model));
	if (d->digest != NULL)
		json_object_set_new(wk, "model-sha256", json_string(d->digest));
	if (d->keys != NULL)
		json_object_set_new(wk, "ohttp-keys", json_string(d->keys));
	if (d->engine != NULL)
		json_object_set_new(wk, "engine", json_string(d->engine));
	json_object_set_new(wk, "started", json_integer(1767225600));
	json_object_set_new(rd, "veil-worker", wk);
	return rd;
}

/* A bundle made by g for d (new buffer). */
static uint8_t *bundle(veil_guest *g, const desc *d, size_t *len)
{
	json_t *rd = runtime_data(d);
	uint8_t *out = NULL;

	if (veil_guest_bundle(g, rd, &out, len) != VEIL_OK)
		setup_fail("veil_guest_bundle");
	json_decref(rd);
	return out;
}

static veil_client_policy *make_policy(const char *extra)
{
	char text[2048];
	veil_client_policy *p = NULL;

	snprintf(
	    text, sizeof text,
	    "{\"version\":1,\"appraisal\":{\"version\":1,\"id\":\"client\",\"sim\":{\"roots\":"
	    "[\"%s\",\"%s\"],\"max_age_seconds\":300,\"match\":{\"measurement\":\"workloads\"}},"
	    "\"gpu\":{\"required\":true,\"min_count\":1}},\"reference_values\":{\"version\":1,"
	    "\"expires\":\"2099-01-01T00:00:00Z\",\"sets\":{\"workloads\":[\"%s\"]}},"
	    "\"models\":{\"chat\":[\"%s\"]}%s}",
	    root_hex, dbg_root_hex, meas_hex, DIGEST, extra);
	if (veil_client_policy_parse((const uint8_t *)text, strlen(text), "judge.json", &p) !=
	    VEIL_OK)
		setup_fail("policy");
	return p;
}

static const uint8_t nonce[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static const char *nonce_hex(void)
{
	static char hex[65];
	veil_hex_encode(nonce, sizeof nonce, hex);
	return hex;
}

/* Whether w is cleared: nothing held, nothing said. */
static bool cleared(const veil_client_worker *w)
{
	return w->id[0] == '\0' && w->model[0] == '\0' && w->model_sha256[0] == '\0' &&
	       w->engine[0] == '\0' && w->tee[0] == '\0' && w->ear_status[0] == '\0' &&
	       w->receipt_kid[0] == '\0' && w->receipt_key == NULL && w->ohttp_keys == NULL &&
	       w->ohttp_keys_len == 0 && w->ear == NULL && w->bundle == NULL &&
	       w->bundle_len == 0 && w->verified_at == 0 && w->log_index == -1;
}

/* Judges bytes expecting a refusal with err and check; the worker must come
 * back cleared, and the detail must mention `mention`. */
static bool refused(const veil_client_policy *p, const uint8_t *b, size_t len, const uint8_t *n,
		    veil_err want, veil_client_check want_check, const char *mention)
{
	veil_client_worker w;
	veil_client_check check = VEIL_CHECK_NONE;
	veil_err err;
	bool ok;

	memset(&w, 0x5a, sizeof w); /* whatever was there before */
	err = veil_client_judge(p, b, len, n, n != NULL ? 32 : 0, veil_time_now(), &w, &check);
	ok = err == want && check == want_check && cleared(&w) &&
	     strstr(veil_err_detail(), mention) != NULL;
	if (!ok)
		fprintf(stderr, "  judged %s (%s), check %s; want %s, check %s, naming \"%s\"\n",
			veil_err_str(err), veil_err_detail(), veil_client_check_name(check),
			veil_err_str(want), veil_client_check_name(want_check), mention);
	if (err == VEIL_OK)
		veil_client_worker_clear(&w);
	return ok;
}

/* The same for a bundle made by g for d, with the fixed nonce. */
static bool refused_desc(const veil_client_policy *p, veil_guest *g, const desc *d, veil_err want,
			 veil_client_check want_check, const char *mention)
{
	size_t len;
	uint8_t *b = bundle(g, d, &len);
	bool ok = refused(p, b, len, nonce, want, want_check, mention);

	free(b);
	return ok;
}

TEST(check_names)
{
	static const char *const want[] = {"none",    "fetch",        "log",         "verify",
					   "nonce",   "runtime_data", "policy",      "model",
					   "engine",  "same",         "unavailable", "transport",
					   "decrypt", "response",     "receipt"};

	for (int c = VEIL_CHECK_NONE; c <= VEIL_CHECK_RECEIPT; c++)
		EXPECT(strcmp(veil_client_check_name((veil_client_check)c), want[c]) == 0);
	EXPECT(strcmp(veil_client_check_name((veil_client_check)(VEIL_CHECK_RECEIPT + 1)),
		      "unknown") == 0);
	EXPECT(strcmp(veil_client_check_name((veil_client_check)-1), "unknown") == 0);
}

TEST(accepted)
{
	desc d = good_desc(nonce_hex());
	size_t len;
	uint8_t *b = bundle(g_ok, &d, &len), sha[32];
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1];
	veil_client_worker w;
	veil_client_check check = VEIL_CHECK_FETCH;
	veil_ohttp_keyconfig cfg;
	int64_t at = veil_time_now();

	EXPECT_OK(veil_client_judge(pol, b, len, nonce, sizeof nonce, at, &w, &check));
	EXPECT(check == VEIL_CHECK_NONE);
	EXPECT(strcmp(w.id, "wk-a") == 0);
	EXPECT(strcmp(w.model, "chat") == 0);
	EXPECT(strcmp(w.model_sha256, DIGEST) == 0);
	EXPECT(strcmp(w.engine, "builtin") == 0);
	EXPECT(strcmp(w.tee, "sim") == 0);
	EXPECT(strcmp(w.ear_status, "affirming") == 0);
	EXPECT(strcmp(veil_ear_status(w.ear), "affirming") == 0);
	REQUIRE(veil_jwk_thumbprint_b64(receipt_key, kid) == VEIL_OK);
	EXPECT(strcmp(w.receipt_kid, kid) == 0);
	REQUIRE(w.receipt_key != NULL);
	EXPECT(!veil_jwk_is_private(w.receipt_key));
	EXPECT(EVP_PKEY_eq(veil_jwk_pkey(w.receipt_key), veil_jwk_pkey(receipt_key)) == 1);
	EXPECT(w.ohttp_keys_len == keys_raw_len &&
	       memcmp(w.ohttp_keys, keys_raw, keys_raw_len) == 0);
	REQUIRE(veil_ohttp_server_config(ohttp, 7, &cfg) == VEIL_OK);
	EXPECT(w.ohttp.config.key_id == 7);
	EXPECT(memcmp(w.ohttp.config.pub, cfg.pub, sizeof cfg.pub) == 0);
	EXPECT(w.bundle_len == len && memcmp(w.bundle, b, len) == 0);
	REQUIRE(veil_sha256(b, len, sha) == VEIL_OK);
	EXPECT(memcmp(w.bundle_sha256, sha, 32) == 0);
	EXPECT(w.verified_at == at);
	EXPECT(w.log_index == -1);

	/* The OHTTP client it built reaches the worker's server. */
	{
		veil_ohttp_exchange cx = {0}, sx = {0};
		veil_writer req, pt;
		veil_writer_init(&req, 4096);
		veil_writer_init(&pt, 4096);
		EXPECT_OK(
		    veil_ohttp_request_encap(&cx, &w.ohttp, (const uint8_t *)"hello", 5, &req));
		EXPECT_OK(veil_ohttp_request_decap(&sx, ohttp, req.data, req.len, &pt));
		EXPECT(pt.len == 5 && memcmp(pt.data, "hello", 5) == 0);
		veil_ohttp_exchange_clear(&cx);
		veil_ohttp_exchange_clear(&sx);
		veil_writer_clear(&req);
		veil_writer_clear(&pt);
	}
	veil_client_worker_clear(&w);
	EXPECT(cleared(&w));
	veil_client_worker_clear(&w); /* twice is fine */
	veil_client_worker_clear(NULL);

	/* Without a nonce (the published bundle), the nonce is not checked. */
	EXPECT_OK(veil_client_judge(pol, b, len, NULL, 0, at, &w, &check));
	EXPECT(check == VEIL_CHECK_NONE);
	veil_client_worker_clear(&w);
	free(b);

	/* An upper-case model digest is one digest: stored as receipts spell it. */
	char upper[65];
	for (size_t i = 0; i < 64; i++)
		upper[i] =
		    DIGEST[i] >= 'a' && DIGEST[i] <= 'f' ? (char)(DIGEST[i] - 32) : DIGEST[i];
	upper[64] = '\0';
	d.digest = upper;
	b = bundle(g_ok, &d, &len);
	EXPECT_OK(veil_client_judge(pol, b, len, nonce, sizeof nonce, at, &w, &check));
	EXPECT(strcmp(w.model_sha256, DIGEST) == 0);
	veil_client_worker_clear(&w);
	/* ... and so is the nonce's hex. */
	{
		char nhex[65];
		for (size_t i = 0; i < 64; i++)
			nhex[i] =
			    nonce_hex()[i] >= 'a' ? (char)(nonce_hex()[i] - 32) : nonce_hex()[i];
		nhex[64] = '\0';
		free(b);
		d = good_desc(nhex);
		b = bundle(g_ok, &d, &len);
		EXPECT_OK(veil_client_judge(pol, b, len, nonce, sizeof nonce, at, &w, &check));
		veil_client_worker_clear(&w);
	}
	free(b);
}

TEST(nonce_refused)
{
	desc d = good_desc(nonce_hex());
	uint8_t other[32], *b;
	size_t len;

	memcpy(other, nonce, 32);
	other[31] ^= 1;
	b = bundle(g_ok, &d, &len);
	EXPECT(refused(pol, b, len, other, VEIL_E_VERIFY, VEIL_CHECK_NONCE, "nonce"));
	/* A prefix of the nonce is another nonce. */
	{
		veil_client_worker w;
		veil_client_check check;
		EXPECT_ERR(veil_client_judge(pol, b, len, nonce, 16, veil_time_now(), &w, &check),
			   VEIL_E_VERIFY);
		EXPECT(check == VEIL_CHECK_NONCE && cleared(&w));
		EXPECT_ERR(veil_client_judge(pol, b, len, nonce, 0, veil_time_now(), &w, &check),
			   VEIL_E_USAGE);
		EXPECT(check == VEIL_CHECK_NONCE && cleared(&w));
	}
	free(b);
	/* A runtime data nonce that is not hex, or not a string. */
	d.nonce = "not hex at all";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_NONCE, "nonce"));
}

TEST(verify_refused)
{
	desc d = good_desc(nonce_hex());
	size_t len;
	uint8_t *b = bundle(g_ok, &d, &len), *c;
	char *at;

	/* A flipped byte inside the signed report (base64 stays base64). */
	c = malloc(len + 16);
	REQUIRE(c != NULL);
	memcpy(c, b, len);
	c[len] = '\0';
	at = strstr((char *)c, "\"primary_evidence\": \"");
	REQUIRE(at != NULL);
	at += strlen("\"primary_evidence\": \"") + 200;
	*at = *at == 'A' ? 'B' : 'A';
	EXPECT(refused(pol, c, len, nonce, VEIL_E_VERIFY, VEIL_CHECK_VERIFY, "does not verify"));
	/* The runtime data changed after the report bound it. */
	memcpy(c, b, len);
	at = strstr((char *)c, "\"wk-a\"");
	REQUIRE(at != NULL);
	at[1] = 'x';
	EXPECT(refused(pol, c, len, nonce, VEIL_E_VERIFY, VEIL_CHECK_VERIFY, "does not verify"));
	/* Truncated, and with trailing garbage. */
	EXPECT(refused(pol, b, len - 10, nonce, VEIL_E_MALFORMED, VEIL_CHECK_VERIFY, "bundle"));
	memcpy(c, b, len);
	memcpy(c + len, "{}", 2);
	EXPECT(refused(pol, c, len + 2, nonce, VEIL_E_MALFORMED, VEIL_CHECK_VERIFY, "bundle"));
	EXPECT(refused(pol, (const uint8_t *)"", 0, nonce, VEIL_E_MALFORMED, VEIL_CHECK_VERIFY,
		       "bundle"));
	EXPECT(refused(pol, (const uint8_t *)"[]", 2, nonce, VEIL_E_MALFORMED, VEIL_CHECK_VERIFY,
		       "verify"));
	free(c);
	free(b);
	/* A platform whose root the policy does not trust. */
	EXPECT(refused_desc(pol, g_stray, &d, VEIL_E_VERIFY, VEIL_CHECK_VERIFY, "does not verify"));
	/* Over the size cap: refused before it is read. */
	{
		size_t n = (size_t)VEIL_CLIENT_EVIDENCE_MAX + 1;
		uint8_t *big = calloc(1, n);
		REQUIRE(big != NULL);
		EXPECT(refused(pol, big, n, nonce, VEIL_E_LIMIT, VEIL_CHECK_VERIFY, "evidence"));
		free(big);
	}
}

TEST(runtime_data_refused)
{
	desc d = good_desc(nonce_hex());

	/* No receipt key (without GPUs the guest binds runtime data without it). */
	d.key = NULL;
	EXPECT(refused_desc(pol, g_none, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "tee-pubkey"));
	/* Another curve for the receipt key. */
	{
		veil_jwk *k = NULL;
		REQUIRE(veil_jwk_generate(VEIL_JWK_EC_P384, 0, &k) == VEIL_OK);
		d = good_desc(nonce_hex());
		d.key = k;
		EXPECT(
		    refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "P-256"));
		veil_jwk_free(k);
	}
	/* OHTTP keys: not base64, not a key configuration list, none usable. */
	d = good_desc(nonce_hex());
	d.keys = "!!!!";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "ohttp-keys"));
	d.keys = "AAAA";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "ohttp-keys"));
	d.keys = "";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "ohttp-keys"));
	d.keys = NULL;
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "ohttp-keys"));
	/* The description's members. */
	d = good_desc(nonce_hex());
	d.id = NULL;
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "\"id\""));
	d.id = "wk a";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "id"));
	d.id = "wk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 65 */
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "id"));
	d = good_desc(nonce_hex());
	d.model = "";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "model"));
	d = good_desc(nonce_hex());
	d.digest = DIGEST "0";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "model-sha256"));
	d.digest = "zz5b5c5d5e5f60616263646566676869707172737475767778798081828384ab";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "model-sha256"));
	d = good_desc(nonce_hex());
	d.engine = NULL;
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "engine"));
	d.engine = "bench reply";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_RUNTIME_DATA, "engine"));
}

TEST(policy_refused)
{
	desc d = good_desc(nonce_hex());

	/* Another workload: its measurement is not in the reference values. */
	EXPECT(refused_desc(pol, g_other, &d, VEIL_E_VERIFY, VEIL_CHECK_POLICY, "client policy"));
	/* A debuggable guest, which the policy does not allow. */
	EXPECT(refused_desc(pol, g_dbg, &d, VEIL_E_VERIFY, VEIL_CHECK_POLICY, "debug"));
	/* No GPU where the policy requires one (with a receipt key, so the
	 * runtime data is fine). */
	EXPECT(refused_desc(pol, g_none, &d, VEIL_E_VERIFY, VEIL_CHECK_POLICY, "client policy"));
	/* Evidence older than the policy's max_age_seconds. */
	{
		size_t len;
		uint8_t *b = bundle(g_ok, &d, &len);
		veil_client_worker w;
		veil_client_check check;
		EXPECT_ERR(veil_client_judge(pol, b, len, nonce, sizeof nonce,
					     veil_time_now() + 3600, &w, &check),
			   VEIL_E_VERIFY);
		EXPECT(check == VEIL_CHECK_POLICY && cleared(&w));
		free(b);
	}
}

TEST(model_and_engine_refused)
{
	desc d = good_desc(nonce_hex());
	size_t len;
	uint8_t *b;
	veil_client_worker w;
	veil_client_check check;

	d.digest = DIGEST2;
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_MODEL, DIGEST2));
	d = good_desc(nonce_hex());
	d.model = "other";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_MODEL, "\"other\""));
	/* bench-reply answers "ok" to everything: refused unless listed. */
	d = good_desc(nonce_hex());
	d.engine = "bench-reply";
	EXPECT(refused_desc(pol, g_ok, &d, VEIL_E_VERIFY, VEIL_CHECK_ENGINE, "bench-reply"));
	b = bundle(g_ok, &d, &len);
	EXPECT_OK(
	    veil_client_judge(pol_bench, b, len, nonce, sizeof nonce, veil_time_now(), &w, &check));
	EXPECT(check == VEIL_CHECK_NONE && strcmp(w.engine, "bench-reply") == 0);
	veil_client_worker_clear(&w);
	free(b);
	/* upstream is accepted by default, but not by a list without it. */
	d.engine = "upstream";
	b = bundle(g_ok, &d, &len);
	EXPECT_OK(veil_client_judge(pol, b, len, nonce, sizeof nonce, veil_time_now(), &w, &check));
	veil_client_worker_clear(&w);
	EXPECT(refused(pol_bench, b, len, nonce, VEIL_E_VERIFY, VEIL_CHECK_ENGINE, "upstream"));
	free(b);
}

/* Judges d made by g_ok, with the fixed nonce; must pass. */
static void judged(const desc *d, veil_client_worker *w)
{
	size_t len;
	uint8_t *b = bundle(g_ok, d, &len);
	veil_client_check check;

	if (veil_client_judge(pol_bench, b, len, nonce, sizeof nonce, veil_time_now(), w, &check) !=
	    VEIL_OK)
		setup_fail("judge");
	free(b);
}

TEST(worker_same)
{
	veil_client_worker a, b;
	desc d = good_desc(nonce_hex());
	const char *what = "x";

	judged(&d, &a);
	judged(&d, &b); /* another bundle (another report), the same worker */
	EXPECT(veil_client_worker_same(&a, &b, &what) && what == NULL);
	EXPECT(veil_client_worker_same(&a, &b, NULL));
	EXPECT(memcmp(a.bundle_sha256, b.bundle_sha256, 32) != 0);
	veil_client_worker_clear(&b);

#define DIFFERS(field, value, name)                                                                \
	do {                                                                                       \
		desc e = good_desc(nonce_hex());                                                   \
		e.field = value;                                                                   \
		judged(&e, &b);                                                                    \
		what = NULL;                                                                       \
		EXPECT(!veil_client_worker_same(&a, &b, &what));                                   \
		EXPECT(what != NULL && strcmp(what, name) == 0);                                   \
		EXPECT(!veil_client_worker_same(&b, &a, &what));                                   \
		veil_client_worker_clear(&b);                                                      \
	} while (0)
	DIFFERS(id, "wk-b", "worker id");
	DIFFERS(engine, "bench-reply", "engine");
	DIFFERS(key, receipt_key2, "receipt key");
	DIFFERS(keys, keys2_b64, "OHTTP keys");
#undef DIFFERS
	veil_client_worker_clear(&a);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char bench[64];
	uint8_t m[48];

	snprintf(base, sizeof base, "%s/veil-judge-XXXXXX",
		 t != NULL && strlen(t) < 32 ? t : "/tmp");
	if (mkdtemp(base) == NULL)
		return 2;
	snprintf(plat, sizeof plat, "%s/sim", base);
	snprintf(dbg, sizeof dbg, "%s/sim-debug", base);
	snprintf(stray, sizeof stray, "%s/sim-stray", base);
	snprintf(work1, sizeof work1, "%s/worker", base);
	snprintf(work2, sizeof work2, "%s/worker-other", base);
	write_text(work1, "worker binary v1");
	write_text(work2, "worker binary v2");
	platform(plat, false, root_hex);
	platform(dbg, true, dbg_root_hex);
	{
		char unused[65];
		platform(stray, false, unused);
	}
	if (veil_sim_measure(w1, 1, m) != VEIL_OK)
		setup_fail("measure");
	veil_hex_encode(m, 48, meas_hex);
	g_ok = guest(plat, w1, "sim");
	g_none = guest(plat, w1, "none");
	g_other = guest(plat, w2, "sim");
	g_dbg = guest(dbg, w1, "sim");
	g_stray = guest(stray, w1, "sim");
	if (veil_jwk_generate(VEIL_JWK_EC_P256, 0, &receipt_key) != VEIL_OK ||
	    veil_jwk_generate(VEIL_JWK_EC_P256, 0, &receipt_key2) != VEIL_OK)
		setup_fail("keys");
	ohttp = ohttp_server(7, &keys_b64, &keys_raw, &keys_raw_len);
	ohttp2 = ohttp_server(7, &keys2_b64, NULL, NULL);
	pol = make_policy("");
	snprintf(bench, sizeof bench, ",\"engines\":[\"builtin\",\"bench-reply\"]");
	pol_bench = make_policy(bench);

	RUN(check_names);
	RUN(accepted);
	RUN(nonce_refused);
	RUN(verify_refused);
	RUN(runtime_data_refused);
	RUN(policy_refused);
	RUN(model_and_engine_refused);
	RUN(worker_same);

	veil_client_policy_free(pol);
	veil_client_policy_free(pol_bench);
	veil_guest_free(g_ok);
	veil_guest_free(g_none);
	veil_guest_free(g_other);
	veil_guest_free(g_dbg);
	veil_guest_free(g_stray);
	veil_jwk_free(receipt_key);
	veil_jwk_free(receipt_key2);
	veil_ohttp_server_free(ohttp);
	veil_ohttp_server_free(ohttp2);
	free(keys_b64);
	free(keys2_b64);
	free(keys_raw);
	nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return harness_finish("test_client_judge");
}

/*
 * test_gateway_core.c - the parts of veil-gateway that need no network
 * (docs/gateway.md): the parsers of untrusted input (the join request,
 * worker URLs, the attestation relay's query), the cleaning of text that
 * quotes untrusted bytes into log lines and errors, and the registry, where
 * the confidential rule lives: a pick that requires confidentiality never
 * returns a plain worker, workers out of routing are never picked, and
 * OHTTP key ids route to admitted workers only.
 *
 * Every parser has its accepted forms and its refusals: truncated,
 * trailing garbage, wrong types, over the caps, and each rule of its
 * grammar.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway_internal.h"
#include "harness.h"

/* ---- gw_url_parse ---- */

static veil_err url(const char *u, char *host, size_t hostlen, uint16_t *port, bool *tls)
{
	veil_err err = gw_url_parse(u, host, hostlen, port, tls);

	veil_err_clear();
	return err;
}

TEST(url_accepted)
{
	char host[256];
	uint16_t port = 0;
	bool tls = true;

	EXPECT_OK(url("http://127.0.0.1:8090", host, sizeof host, &port, &tls));
	EXPECT(strcmp(host, "127.0.0.1") == 0 && port == 8090 && !tls);
	EXPECT_OK(url("http://worker.example", host, sizeof host, &port, &tls));
	EXPECT(strcmp(host, "worker.example") == 0 && port == 80 && !tls);
	EXPECT_OK(url("https://w-1.example/", host, sizeof host, &port, &tls));
	EXPECT(strcmp(host, "w-1.example") == 0 && port == 443 && tls);
	EXPECT_OK(url("http://[::1]:9", host, sizeof host, &port, &tls));
	EXPECT(strcmp(host, "::1") == 0 && port == 9);
	EXPECT_OK(url("http://h:65535", host, sizeof host, &port, &tls));
	EXPECT(port == 65535);
	EXPECT_OK(url("http://h:00080", host, sizeof host, &port, &tls));
	EXPECT(port == 80);
}

TEST(url_refused)
{
	static const char *const bad[] = {
	    "",
	    "h:80",
	    "ftp://h",
	    "HTTP://h",
	    "http://",
	    "http:///",
	    "http://:80",
	    "http://h:",
	    "http://h:0",
	    "http://h:65536",
	    "http://h:123456",
	    "http://h:8a",
	    "http://h:-1",
	    "http://h:80:81",
	    "http://user@h",
	    "http://user:pw@h:80",
	    "http://h/v1",
	    "http://h//",
	    "http://h?x=1",
	    "http://h/?x",
	    "http://h#f",
	    "http://h_x",
	    "http://h%41",
	    "http://h x",
	    "http://[::1",
	    "http://[]:80",
	    "http://[::1]x",
	    "http://[::1]:",
	    "http://[::1%25eth0]:80",
	};
	char host[256], longurl[VEIL_GW_URL_MAX + 16];
	uint16_t port;
	bool tls;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		veil_err err = url(bad[i], host, sizeof host, &port, &tls);
		if (err == VEIL_OK)
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
		EXPECT(err == VEIL_E_USAGE);
	}
	/* Over the cap, and a host over the caller's buffer. */
	memset(longurl, 'a', sizeof longurl - 1);
	longurl[sizeof longurl - 1] = '\0';
	memcpy(longurl, "http://", 7);
	EXPECT_ERR(url(longurl, host, sizeof host, &port, &tls), VEIL_E_USAGE);
	EXPECT_ERR(url("http://abcdefgh:80", host, 8, &port, &tls), VEIL_E_USAGE);
	EXPECT_OK(url("http://abcdefg:80", host, 8, &port, &tls));
}

/* ---- gw_join_parse ---- */

static veil_err join(const char *body, gw_pending *p)
{
	veil_err err;

	memset(p, 0, sizeof *p);
	err = gw_join_parse((const uint8_t *)body, strlen(body), p);
	return err;
}

TEST(join_accepted)
{
	gw_pending p;

	/* '+' is not in the id alphabet. */
	EXPECT(join("{\"id\":\"wk+a\",\"url\":\"http://127.0.0.1:8090/\",\"capacity\":4}", &p) !=
	       VEIL_OK);
	veil_err_clear();
	EXPECT_OK(join(
	    "{\"capacity\":1024,\"url\":\"http://127.0.0.1:8090/\",\"id\":\"wk-a.1:x_\"}", &p));
	EXPECT(strcmp(p.id, "wk-a.1:x_") == 0);
	/* One trailing slash is dropped: the URL is a base. */
	EXPECT(strcmp(p.url, "http://127.0.0.1:8090") == 0);
	EXPECT(p.capacity == 1024);
	EXPECT(p.challenge[0] == '\0' && p.expires_ms == 0);
}

TEST(join_refused)
{
	static const char *const bad[] = {
	    /* not the document */
	    "",
	    "nope",
	    "[1]",
	    "\"x\"",
	    "{}",
	    /* truncated, trailing garbage */
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":1",
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":1}x",
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":1}{}",
	    /* members missing, extra, repeated */
	    "{\"id\":\"x\",\"url\":\"http://h:1\"}",
	    "{\"url\":\"http://h:1\",\"capacity\":1}",
	    "{\"id\":\"x\",\"capacity\":1}",
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":1,\"extra\":1}",
	    "{\"id\":\"x\",\"id\":\"y\",\"url\":\"http://h:1\",\"capacity\":1}",
	    /* wrong types */
	    "{\"id\":1,\"url\":\"http://h:1\",\"capacity\":1}",
	    "{\"id\":\"x\",\"url\":null,\"capacity\":1}",
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":\"1\"}",
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":1.5}",
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":true}",
	    /* out of range */
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":0}",
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":1025}",
	    "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":-1}",
	    /* the id's alphabet and length, and the one name a route takes */
	    "{\"id\":\"\",\"url\":\"http://h:1\",\"capacity\":1}",
	    "{\"id\":\"a b\",\"url\":\"http://h:1\",\"capacity\":1}",
	    "{\"id\":\"a/b\",\"url\":\"http://h:1\",\"capacity\":1}",
	    "{\"id\":\"a%b\",\"url\":\"http://h:1\",\"capacity\":1}",
	    "{\"id\":\"a\\nb\",\"url\":\"http://h:1\",\"capacity\":1}",
	    "{\"id\":\"\\u00e9\",\"url\":\"http://h:1\",\"capacity\":1}",
	    "{\"id\":\"join\",\"url\":\"http://h:1\",\"capacity\":1}",
	    ("{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	     "\"url\":\"http://h:1\",\"capacity\":1}"),
	    /* the URL: https (not yet), a path, user information */
	    "{\"id\":\"x\",\"url\":\"https://h:1\",\"capacity\":1}",
	    "{\"id\":\"x\",\"url\":\"http://h:1/v1\",\"capacity\":1}",
	    "{\"id\":\"x\",\"url\":\"http://u@h:1\",\"capacity\":1}",
	    "{\"id\":\"x\",\"url\":\"\",\"capacity\":1}",
	};
	gw_pending p;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		veil_err err = join(bad[i], &p);
		if (err == VEIL_OK)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		EXPECT(err != VEIL_OK);
		veil_err_clear();
	}
	/* 64 characters is the most an id may have. */
	EXPECT_OK(
	    join("{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		 "\"url\":\"http://h:1\",\"capacity\":1}",
		 &p));
	EXPECT(strlen(p.id) == GW_ID_MAX);
}

/* A refusal quotes the member name it did not know, cut at 64 bytes; cut
 * in the middle of a character, it must still make an error body (it was
 * a 500 "out of memory" instead of the 400). */
TEST(join_refusal_quotes_cut_text)
{
	char body[256], name[80];
	gw_pending p;
	json_t *e;

	memset(name, 'a', 63);
	memcpy(name + 63, "\xc3\xa9\xc3\xa9", 4); /* "éé": the cap falls inside */
	name[67] = '\0';
	snprintf(body, sizeof body, "{\"id\":\"x\",\"url\":\"http://h:1\",\"capacity\":1,\"%s\":1}",
		 name);
	EXPECT(join(body, &p) != VEIL_OK);
	e = gw_error_json("invalid_request_error", "bad_join", "%s", veil_err_detail());
	veil_err_clear();
	REQUIRE(e != NULL);
	EXPECT(strstr(json_string_value(json_object_get(json_object_get(e, "error"), "message")),
		      "aaaa?") != NULL);
	json_decref(e);
}

/* ---- gw_text_clean ---- */

TEST(text_clean)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain text", "plain text"},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
	    {"line\nbreak\x1b[1m", "line?break?[1m"},
	    {"cut \xc3", "cut ?"},
	    {"cut \xe2\x82", "cut ??"},
	    {"cut \xf0\x9f\x98", "cut ???"},
	    {"lone \x80\xbf", "lone ??"},
	    {"overlong \xc0\xaf \xe0\x80\xaf", "overlong ?? ???"},
	    {"surrogate \xed\xa0\x80", "surrogate ???"},
	    {"too high \xf4\x90\x80\x80 \xf5\x80\x80\x80", "too high ???? ????"},
	    {"\xff\xfe", "??"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[64];
		json_t *s;
		snprintf(buf, sizeof buf, "%s", cases[i].in);
		gw_text_clean(buf);
		EXPECT(strcmp(buf, cases[i].out) == 0);
		s = json_string(buf);
		EXPECT(s != NULL);
		json_decref(s);
	}
}

/* ---- gw_relay_query_parse ---- */

TEST(relay_query)
{
	char id[GW_ID_MAX + 1], nonce[VEIL_WORKER_NONCE_HEX_MAX + 1], q[512];
	static const char *const bad[] = {
	    "",
	    "nonce=00112233445566778899aabbccddeeff",
	    "worker=wk-a&nonce=00112233445566778899aabbccddeef",  /* odd */
	    "worker=wk-a&nonce=00112233445566",                   /* 14 digits */
	    "worker=wk-a&nonce=00112233445566778899aabbccddeefg", /* not hex */
	    "worker=&nonce=00112233445566778899aabbccddeeff",
	    "worker=wk-a&nonce=",
	    "worker=wk-a&worker=wk-b&nonce=00112233445566778899aabbccddeeff",
	    "worker=wk-a&nonce=0011223344556677&nonce=0011223344556677",
	    "worker=wk-a&other=1&nonce=00112233445566778899aabbccddeeff",
	    "worker=wk-a&&nonce=00112233445566778899aabbccddeeff",
	    "workerwk-a&nonce=00112233445566778899aabbccddeeff",
	    "Worker=wk-a&nonce=00112233445566778899aabbccddeeff",
	    "worker=wk-a&nonce=00112233445566778899aabbccddeeff%20",
	};

	EXPECT(gw_relay_query_parse("worker=wk-a&nonce=00112233445566778899aabbccddeeff", id,
				    sizeof id, nonce, sizeof nonce));
	EXPECT(strcmp(id, "wk-a") == 0 && strcmp(nonce, "00112233445566778899aabbccddeeff") == 0);
	EXPECT(gw_relay_query_parse("nonce=0011223344556677&worker=w", id, sizeof id, nonce,
				    sizeof nonce));
	EXPECT(strcmp(id, "w") == 0 && strcmp(nonce, "0011223344556677") == 0);
	/* Without a nonce: the published bundle. */
	EXPECT(gw_relay_query_parse("worker=wk-a", id, sizeof id, nonce, sizeof nonce));
	EXPECT(strcmp(id, "wk-a") == 0 && nonce[0] == '\0');
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bool ok = gw_relay_query_parse(bad[i], id, sizeof id, nonce, sizeof nonce);
		if (ok)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		EXPECT(!ok);
	}
	/* The caps: a nonce of 128 digits passes, 130 do not; an id longer
	 * than the buffer does not. */
	snprintf(q, sizeof q, "worker=w&nonce=%0128d", 0);
	EXPECT(gw_relay_query_parse(q, id, sizeof id, nonce, sizeof nonce));
	snprintf(q, sizeof q, "worker=w&nonce=%0130d", 0);
	EXPECT(!gw_relay_query_parse(q, id, sizeof id, nonce, sizeof nonce));
	snprintf(q, sizeof q, "worker=%065d&nonce=0011223344556677", 0);
	EXPECT(!gw_relay_query_parse(q, id, sizeof id, nonce, sizeof nonce));
}

/* ---- the registry ---- */

static gw_worker *mk(const char *id, bool confidential, int state, unsigned capacity,
		     uint8_t key_id)
{
	gw_worker *w = gw_worker_new();

	if (w == NULL)
		abort();
	snprintf(w->id, sizeof w->id, "%s", id);
	snprintf(w->models[0], sizeof w->models[0], "chat");
	w->model_count = 1;
	w->confidential = confidential;
	w->capacity = capacity;
	atomic_store(&w->state, state);
	if (confidential) {
		w->att.key_ids[0] = key_id;
		w->att.key_count = 1;
		/* Evidence that passed just now. */
		atomic_store(&w->fresh_until_ms, gw_mono_ms() + 60000);
	}
	return w;
}

static void add(gw_registry *reg, gw_worker *w)
{
	gw_worker *old = NULL;

	EXPECT_OK(gw_registry_add(reg, w, &old));
	EXPECT(old == NULL);
	gw_worker_unref(w); /* the registry holds it */
}

TEST(registry_confidential_never_plain)
{
	gw_registry reg;
	gw_worker *w, *picked[5], *plain = mk("plain-1", false, GW_ADMITTED, 8, 0);
	bool any, conf;

	gw_registry_init(&reg);
	add(&reg, plain);
	/* Only a plain worker: a confidential pick finds nothing. */
	EXPECT(gw_registry_pick(&reg, "chat", true) == NULL);
	EXPECT(gw_registry_pick(&reg, NULL, true) == NULL);
	EXPECT(gw_registry_pick_key(&reg, 0) == NULL);
	w = gw_registry_pick(&reg, "chat", false);
	EXPECT(w == plain);
	if (w != NULL)
		gw_registry_done(w);
	/* With an admitted one, every confidential pick is that one, however
	 * loaded it is. */
	add(&reg, mk("wk-a", true, GW_ADMITTED, 1, 7));
	for (int i = 0; i < 5; i++) {
		picked[i] = gw_registry_pick(&reg, "chat", true);
		REQUIRE(picked[i] != NULL);
		EXPECT(picked[i]->confidential && strcmp(picked[i]->id, "wk-a") == 0);
	}
	EXPECT(gw_registry_pick(&reg, "other", true) == NULL);
	gw_registry_model(&reg, "chat", &any, &conf);
	EXPECT(any && conf);
	/* A plain request now goes to the plain worker (less loaded). */
	w = gw_registry_pick(&reg, "chat", false);
	EXPECT(w == plain);
	if (w != NULL)
		gw_registry_done(w);
	for (int i = 0; i < 5; i++)
		gw_registry_done(picked[i]);
	gw_registry_clear(&reg);
}

TEST(registry_out_of_routing)
{
	gw_registry reg;
	gw_worker *a = mk("wk-a", true, GW_SUSPECT, 4, 1);
	gw_worker *b = mk("wk-b", true, GW_DRAINING, 4, 2);
	bool any, conf;

	gw_registry_init(&reg);
	add(&reg, a);
	add(&reg, b);
	EXPECT(gw_registry_pick(&reg, "chat", true) == NULL);
	EXPECT(gw_registry_pick(&reg, "chat", false) == NULL);
	EXPECT(gw_registry_pick_key(&reg, 1) == NULL);
	EXPECT(gw_registry_pick_key(&reg, 2) == NULL);
	EXPECT(gw_registry_admitted(&reg) == 0);
	/* The model is still served (wk-a comes back after a health check):
	 * "try again", not "no such model"; but no routable confidential
	 * worker has it. */
	gw_registry_model(&reg, "chat", &any, &conf);
	EXPECT(any && !conf);
	gw_registry_model(&reg, "other", &any, &conf);
	EXPECT(!any && !conf);
	/* Back in routing: picked, by key too. */
	atomic_store(&a->state, GW_ADMITTED);
	{
		gw_worker *w = gw_registry_pick_key(&reg, 1);
		EXPECT(w == a);
		EXPECT(atomic_load(&a->outstanding) == 1);
		if (w != NULL)
			gw_registry_done(w);
		EXPECT(atomic_load(&a->outstanding) == 0);
	}
	gw_registry_clear(&reg);
}

/* A confidential worker whose latest evidence is older than its
 * freshness window leaves routing by itself, whatever the admin thread
 * does (a stalled re-attestation must not keep it routed). */
TEST(registry_stale_evidence)
{
	gw_registry reg;
	gw_worker *a = mk("wk-a", true, GW_ADMITTED, 4, 1);
	gw_worker *p = mk("plain-1", false, GW_ADMITTED, 4, 0);
	gw_worker *w;

	gw_registry_init(&reg);
	add(&reg, a);
	add(&reg, p);
	w = gw_registry_pick(&reg, "chat", true);
	EXPECT(w == a);
	if (w != NULL)
		gw_registry_done(w);
	atomic_store(&a->fresh_until_ms, gw_mono_ms() - 1);
	EXPECT(gw_registry_pick(&reg, "chat", true) == NULL);
	EXPECT(gw_registry_pick_key(&reg, 1) == NULL);
	EXPECT(gw_registry_admitted(&reg) == 0);
	/* Plain workers have no evidence to age. */
	w = gw_registry_pick(&reg, "chat", false);
	EXPECT(w == p);
	if (w != NULL)
		gw_registry_done(w);
	gw_registry_clear(&reg);
}

TEST(registry_least_outstanding)
{
	gw_registry reg;
	gw_worker *a = mk("wk-a", true, GW_ADMITTED, 1, 1);
	gw_worker *b = mk("wk-b", true, GW_ADMITTED, 3, 2);
	gw_worker *got[4];

	gw_registry_init(&reg);
	add(&reg, a);
	add(&reg, b);
	/* Per slot: a (1 slot), then b (3 slots) until b is as loaded. */
	for (int i = 0; i < 4; i++) {
		got[i] = gw_registry_pick(&reg, "chat", true);
		REQUIRE(got[i] != NULL);
	}
	EXPECT(got[0] == a && got[1] == b && got[2] == b && got[3] == b);
	for (int i = 0; i < 4; i++)
		gw_registry_done(got[i]);
	gw_registry_clear(&reg);
}

TEST(registry_replace_remove_keys)
{
	gw_registry reg;
	gw_worker *a = mk("wk-a", true, GW_ADMITTED, 1, 1),
		  *a2 = mk("wk-a", true, GW_ADMITTED, 1, 5);
	gw_worker *old = NULL, *w;
	gw_attested att;
	char who[GW_ID_MAX + 1] = "";

	gw_registry_init(&reg);
	add(&reg, a);
	/* A request in flight keeps its worker after it is replaced. */
	w = gw_registry_pick(&reg, "chat", true);
	EXPECT(w == a);
	EXPECT_OK(gw_registry_add(&reg, a2, &old));
	EXPECT(old == a && atomic_load(&a->state) == GW_REMOVED);
	gw_worker_unref(old);
	gw_worker_unref(a2);
	EXPECT(strcmp(w->id, "wk-a") == 0); /* still valid */
	gw_registry_done(w);
	EXPECT(gw_registry_pick_key(&reg, 1) == NULL);
	/* Key ids: another worker's is taken, one's own is not. */
	memset(&att, 0, sizeof att);
	snprintf(att.id, sizeof att.id, "wk-b");
	att.key_ids[0] = 9;
	att.key_ids[1] = 5;
	att.key_count = 2;
	EXPECT(gw_registry_key_taken(&reg, &att, who, sizeof who));
	EXPECT(strcmp(who, "wk-a") == 0);
	snprintf(att.id, sizeof att.id, "wk-a");
	EXPECT(!gw_registry_key_taken(&reg, &att, who, sizeof who));
	att.key_count = 1;
	snprintf(att.id, sizeof att.id, "wk-b");
	EXPECT(!gw_registry_key_taken(&reg, &att, who, sizeof who));
	/* Removed: out, once. */
	w = gw_registry_find(&reg, "wk-a");
	REQUIRE(w == a2);
	EXPECT(gw_registry_remove(&reg, w));
	EXPECT(!gw_registry_remove(&reg, w));
	EXPECT(atomic_load(&w->state) == GW_REMOVED);
	EXPECT(gw_registry_pick(&reg, NULL, false) == NULL);
	EXPECT(gw_registry_find(&reg, "wk-a") == NULL);
	gw_worker_unref(w);
	gw_registry_clear(&reg);
}

TEST(registry_full)
{
	gw_registry reg;
	gw_worker *old = NULL, *w;
	char id[16];

	gw_registry_init(&reg);
	for (int i = 0; i < VEIL_GW_WORKERS_MAX; i++) {
		snprintf(id, sizeof id, "w%d", i);
		add(&reg, mk(id, false, GW_ADMITTED, 1, 0));
	}
	w = mk("one-more", false, GW_ADMITTED, 1, 0);
	EXPECT_ERR(gw_registry_add(&reg, w, &old), VEIL_E_LIMIT);
	veil_err_clear();
	EXPECT(old == NULL);
	gw_worker_unref(w);
	/* Replacing one of the same id still works when full. */
	w = mk("w3", false, GW_ADMITTED, 1, 0);
	EXPECT_OK(gw_registry_add(&reg, w, &old));
	EXPECT(old != NULL);
	gw_worker_unref(old);
	gw_worker_unref(w);
	gw_registry_clear(&reg);
}

int main(void)
{
	RUN(url_accepted);
	RUN(url_refused);
	RUN(join_accepted);
	RUN(join_refused);
	RUN(join_refusal_quotes_cut_text);
	RUN(text_clean);
	RUN(relay_query);
	RUN(registry_confidential_never_plain);
	RUN(registry_out_of_routing);
	RUN(registry_stale_evidence);
	RUN(registry_least_outstanding);
	RUN(registry_replace_remove_keys);
	RUN(registry_full);
	return harness_finish("test_gateway_core");
}

/*
 * test_store_sessions.c - attestation sessions in the key broker's store,
 * and the store under several threads and two handles at once.
 *
 * Sessions: the lifecycle a KBS drives (create with a nonce, attest once,
 * read back the token), and every way it must refuse: a second attest, a
 * nonce that does not match, an expired session, a duplicate or malformed
 * id. Concurrency: four threads put and read resources, create and attest
 * sessions and race to attest the same ones for about a second; afterwards
 * every write is there, exactly one attest won each race and the file
 * passes SQLite's full integrity check.
 */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test_store_util.h"

#define T0 1790000000 /* a fixed "now" */

static const char jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"x\",\"y\":\"y\"}";
static const char ear[] = "{\"ear.status\":\"affirming\"}";

TEST(session_lifecycle)
{
	store_fx f;
	veil_store_session s, got;
	uint8_t other[32];

	REQUIRE(fx_open(&f));
	fx_session(&s, "6f1c0e52-3e8b-4c8e-9d2b-0a1b2c3d4e5f", T0 + 300, 7);
	EXPECT_OK(veil_store_session_create(f.s, &s));
	EXPECT_OK(veil_store_session_get(f.s, s.id, T0, &got));
	EXPECT(strcmp(got.id, s.id) == 0 && strcmp(got.tee, "snp") == 0);
	EXPECT(memcmp(got.nonce, s.nonce, 32) == 0 && got.expires == T0 + 300);
	EXPECT(!got.attested && got.token == NULL && got.tee_pubkey == NULL && got.ear == NULL);
	veil_store_session_clear(&got);
	/* The wrong nonce changes nothing. */
	memcpy(other, s.nonce, 32);
	other[0] ^= 1;
	EXPECT_ERR(veil_store_session_attest(f.s, s.id, other, "tok", jwk, ear, T0 + 600),
		   VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "nonce") != NULL);
	EXPECT_OK(veil_store_session_get(f.s, s.id, T0, &got));
	EXPECT(!got.attested && got.token == NULL && got.expires == T0 + 300);
	veil_store_session_clear(&got);
	/* Attested once, with its new expiry. */
	EXPECT_OK(veil_store_session_attest(f.s, s.id, s.nonce, "token-1", jwk, ear, T0 + 600));
	EXPECT_OK(veil_store_session_get(f.s, s.id, T0 + 400, &got));
	EXPECT(got.attested && got.expires == T0 + 600);
	EXPECT(got.token != NULL && strcmp(got.token, "token-1") == 0);
	EXPECT(got.tee_pubkey != NULL && strcmp(got.tee_pubkey, jwk) == 0);
	EXPECT(got.ear != NULL && strcmp(got.ear, ear) == 0);
	veil_store_session_clear(&got);
	EXPECT(got.token == NULL && got.id[0] == 0);
	/* And only once: the same nonce again is refused, the first stays. */
	EXPECT_ERR(veil_store_session_attest(f.s, s.id, s.nonce, "token-2", jwk, ear, T0 + 900),
		   VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "attested already") != NULL);
	EXPECT_OK(veil_store_session_get(f.s, s.id, T0, &got));
	EXPECT(got.token != NULL && strcmp(got.token, "token-1") == 0 && got.expires == T0 + 600);
	veil_store_session_clear(&got);
	/* Sessions outlive a restart (another replica may serve the next
	 * request). */
	REQUIRE(fx_reopen(&f));
	EXPECT_OK(veil_store_session_get(f.s, s.id, T0, &got));
	EXPECT(got.attested && got.token != NULL && strcmp(got.token, "token-1") == 0);
	veil_store_session_clear(&got);
	EXPECT_OK(veil_store_session_delete(f.s, s.id));
	EXPECT_ERR(veil_store_session_delete(f.s, s.id), VEIL_E_NOT_FOUND);
	EXPECT_ERR(veil_store_session_get(f.s, s.id, T0, &got), VEIL_E_NOT_FOUND);
	EXPECT_ERR(veil_store_session_attest(f.s, s.id, s.nonce, "t", NULL, NULL, T0),
		   VEIL_E_NOT_FOUND);
	fx_done(&f);
}

TEST(session_attest_keeps_fields_given_at_create)
{
	store_fx f;
	veil_store_session s, got;

	REQUIRE(fx_open(&f));
	fx_session(&s, "s1", T0 + 10, 1);
	s.tee_pubkey = (char *)jwk;
	EXPECT_OK(veil_store_session_create(f.s, &s));
	EXPECT_OK(veil_store_session_attest(f.s, "s1", s.nonce, "tok", NULL, ear, T0 + 20));
	EXPECT_OK(veil_store_session_get(f.s, "s1", T0, &got));
	EXPECT(got.tee_pubkey != NULL && strcmp(got.tee_pubkey, jwk) == 0);
	EXPECT(got.ear != NULL && strcmp(got.ear, ear) == 0);
	veil_store_session_clear(&got);
	fx_done(&f);
}

TEST(session_create_refusals)
{
	store_fx f;
	veil_store_session s, got;
	char big[100];

	REQUIRE(fx_open(&f));
	fx_session(&s, "dup", T0 + 10, 1);
	EXPECT_OK(veil_store_session_create(f.s, &s));
	s.nonce[0] ^= 0xff;
	EXPECT_ERR(veil_store_session_create(f.s, &s), VEIL_E_USAGE);
	EXPECT_OK(veil_store_session_get(f.s, "dup", T0, &got));
	EXPECT(got.nonce[0] == 1); /* the first one stands */
	veil_store_session_clear(&got);
	/* Born attested: refused, attestation goes through attest. */
	fx_session(&s, "born", T0 + 10, 1);
	s.attested = true;
	EXPECT_ERR(veil_store_session_create(f.s, &s), VEIL_E_USAGE);
	s.attested = false;
	s.token = (char *)"tok";
	EXPECT_ERR(veil_store_session_create(f.s, &s), VEIL_E_USAGE);
	/* Ids: empty, odd characters, over the cap; the cap itself is fine. */
	static const char *const bad_ids[] = {"", "a b", "a/b", "..", "id\n", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
		fx_session(&s, bad_ids[i], T0 + 10, 1);
		EXPECT_ERR(veil_store_session_create(f.s, &s), VEIL_E_USAGE);
		EXPECT_ERR(veil_store_session_get(f.s, bad_ids[i], T0, &got), VEIL_E_USAGE);
		EXPECT_ERR(veil_store_session_delete(f.s, bad_ids[i]), VEIL_E_USAGE);
		EXPECT_ERR(veil_store_session_attest(f.s, bad_ids[i], s.nonce, "t", NULL, NULL, T0),
			   VEIL_E_USAGE);
	}
	memset(big, 'i', sizeof big);
	big[VEIL_STORE_SESSION_ID_MAX + 1] = 0;
	EXPECT_ERR(veil_store_session_get(f.s, big, T0, &got), VEIL_E_LIMIT);
	fx_session(&s, "x", T0 + 10, 1);
	memset(s.id, 'i', sizeof s.id); /* no terminator inside the array */
	EXPECT_ERR(veil_store_session_create(f.s, &s), VEIL_E_LIMIT);
	s.id[VEIL_STORE_SESSION_ID_MAX] = 0;
	EXPECT_OK(veil_store_session_create(f.s, &s));
	/* TEE type: empty, odd, unterminated. */
	fx_session(&s, "tee", T0 + 10, 1);
	s.tee[0] = 0;
	EXPECT_ERR(veil_store_session_create(f.s, &s), VEIL_E_USAGE);
	snprintf(s.tee, sizeof s.tee, "sn p");
	EXPECT_ERR(veil_store_session_create(f.s, &s), VEIL_E_USAGE);
	memset(s.tee, 'a', sizeof s.tee);
	EXPECT_ERR(veil_store_session_create(f.s, &s), VEIL_E_USAGE);
	/* Attest needs a token. */
	fx_session(&s, "tok", T0 + 10, 1);
	EXPECT_OK(veil_store_session_create(f.s, &s));
	EXPECT_ERR(veil_store_session_attest(f.s, "tok", s.nonce, NULL, NULL, NULL, T0),
		   VEIL_E_USAGE);
	EXPECT_ERR(veil_store_session_attest(f.s, "tok", s.nonce, "", NULL, NULL, T0),
		   VEIL_E_USAGE);
	fx_done(&f);
}

TEST(session_expiry_and_collection)
{
	store_fx f;
	veil_store_session s, got;
	size_t removed = 99;

	REQUIRE(fx_open(&f));
	fx_session(&s, "exp", T0 + 100, 1);
	EXPECT_OK(veil_store_session_create(f.s, &s));
	EXPECT_OK(veil_store_session_get(f.s, "exp", T0 + 99, &got));
	veil_store_session_clear(&got);
	/* Expired at its expiry time: refused and deleted. */
	memset(&got, 0x5a, sizeof got);
	EXPECT_ERR(veil_store_session_get(f.s, "exp", T0 + 100, &got), VEIL_E_EXPIRED);
	EXPECT(got.token == NULL && got.id[0] == 0); /* cleared on failure */
	EXPECT_ERR(veil_store_session_get(f.s, "exp", T0, &got), VEIL_E_NOT_FOUND);
	/* Collection: five sessions expiring at T0+10 .. T0+50. */
	for (int i = 1; i <= 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "c%d", i);
		fx_session(&s, id, T0 + 10 * i, (uint8_t)i);
		EXPECT_OK(veil_store_session_create(f.s, &s));
	}
	EXPECT_OK(veil_store_session_collect(f.s, T0, &removed));
	EXPECT(removed == 0);
	EXPECT_OK(veil_store_session_collect(f.s, T0 + 30, &removed));
	EXPECT(removed == 3);
	EXPECT_ERR(veil_store_session_get(f.s, "c3", T0, &got), VEIL_E_NOT_FOUND);
	EXPECT_OK(veil_store_session_get(f.s, "c4", T0, &got));
	veil_store_session_clear(&got);
	EXPECT_OK(veil_store_session_collect(f.s, T0 + 30, &removed));
	EXPECT(removed == 0);
	EXPECT_OK(veil_store_session_collect(f.s, T0 + 1000, &removed));
	EXPECT(removed == 2);
	EXPECT_ERR(veil_store_session_collect(f.s, T0, NULL), VEIL_E_USAGE);
	fx_done(&f);
}

/* --- several threads at once --- */

#define THREADS    4
#define RACES      400
#define RUN_MS     1000
#define VALUE_SIZE 64

typedef struct shared {
	veil_store *s;
	atomic_int winners[RACES]; /* attests that succeeded, per race */
	uint8_t race_nonce[32];
} shared;

typedef struct worker {
	shared *sh;
	int id;
	int puts, sessions, failures;
	uint8_t *secret;
	size_t secret_len;
	pthread_t thread;
} worker;

static void value_for(int thread, int i, uint8_t out[VALUE_SIZE])
{
	for (int k = 0; k < VALUE_SIZE; k++)
		out[k] = (uint8_t)(thread * 31 + i * 7 + k);
}

static veil_err make_random(void *user, uint8_t **val, size_t *len)
{
	(void)user;
	*val = malloc(32);
	if (*val == NULL)
		return VEIL_E_NOMEM;
	/* Different for each caller: the test sees whose was kept. */
	if (RAND_bytes(*val, 32) != 1) {
		free(*val);
		return VEIL_E_CRYPTO;
	}
	*len = 32;
	return VEIL_OK;
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	veil_store *s = w->sh->s;
	int64_t end = ms_now() + RUN_MS;
	uint8_t val[VALUE_SIZE], *got;
	size_t len;

	if (veil_store_secret_get_or_create(s, "signing-key", make_random, NULL, &w->secret,
					    &w->secret_len) != VEIL_OK)
		w->failures++;
	for (int i = 0; ms_now() < end || i < RACES; i++) {
		char path[64], id[64];
		veil_store_session ses, back;

		snprintf(path, sizeof path, "t%d/key/%d", w->id, i);
		value_for(w->id, i, val);
		if (veil_store_resource_put(s, path, val, sizeof val) != VEIL_OK)
			w->failures++;
		else
			w->puts++;
		got = NULL;
		if (veil_store_resource_get(s, path, &got, &len) != VEIL_OK || len != sizeof val ||
		    memcmp(got, val, len) != 0)
			w->failures++;
		veil_free_secret(got, len);
		/* A session of this thread's, attested once. */
		snprintf(id, sizeof id, "w%d-%d", w->id, i);
		fx_session(&ses, id, T0 + 60, (uint8_t)i);
		memset(&back, 0, sizeof back);
		if (veil_store_session_create(s, &ses) != VEIL_OK ||
		    veil_store_session_attest(s, id, ses.nonce, "tok", jwk, ear, T0 + 120) !=
			VEIL_OK ||
		    veil_store_session_attest(s, id, ses.nonce, "tok", jwk, ear, T0 + 120) !=
			VEIL_E_MISMATCH ||
		    veil_store_session_get(s, id, T0, &back) != VEIL_OK || !back.attested)
			w->failures++;
		else
			w->sessions++;
		veil_store_session_clear(&back);
		/* The shared races: every thread tries each one. */
		if (i < RACES) {
			snprintf(id, sizeof id, "race-%d", i);
			if (veil_store_session_attest(s, id, w->sh->race_nonce, "tok", NULL, NULL,
						      T0 + 120) == VEIL_OK)
				atomic_fetch_add(&w->sh->winners[i], 1);
		}
	}
	return NULL;
}

TEST(threads_at_once)
{
	store_fx f;
	static shared sh;
	worker w[THREADS];
	veil_store_session ses;
	uint8_t val[VALUE_SIZE], *got = NULL;
	size_t len = 0;

	REQUIRE(fx_open(&f));
	memset(&sh, 0, sizeof sh);
	sh.s = f.s;
	for (int i = 0; i < RACES; i++) {
		char id[32];
		snprintf(id, sizeof id, "race-%d", i);
		fx_session(&ses, id, T0 + 60, 0x42);
		REQUIRE(veil_store_session_create(f.s, &ses) == VEIL_OK);
	}
	memcpy(sh.race_nonce, ses.nonce, sizeof sh.race_nonce);
	memset(w, 0, sizeof w);
	for (int t = 0; t < THREADS; t++) {
		w[t].sh = &sh;
		w[t].id = t;
		REQUIRE(pthread_create(&w[t].thread, NULL, worker_main, &w[t]) == 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(w[t].thread, NULL);
	for (int t = 0; t < THREADS; t++) {
		EXPECT(w[t].failures == 0);
		EXPECT(w[t].puts >= RACES && w[t].sessions == w[t].puts);
		/* Every thread got the one signing key that was stored. */
		EXPECT(w[t].secret_len == 32 && w[t].secret != NULL);
		if (t > 0 && w[t].secret != NULL && w[0].secret != NULL)
			EXPECT(memcmp(w[t].secret, w[0].secret, 32) == 0);
	}
	/* Each race had exactly one winner. */
	int wrong = 0;
	for (int i = 0; i < RACES; i++)
		wrong += atomic_load(&sh.winners[i]) != 1;
	EXPECT(wrong == 0);
	/* After a restart, every write is there with its value. */
	REQUIRE(fx_reopen(&f));
	for (int t = 0; t < THREADS; t++) {
		for (int i = 0; i < w[t].puts; i++) {
			char path[64];
			snprintf(path, sizeof path, "t%d/key/%d", t, i);
			value_for(t, i, val);
			EXPECT_OK(veil_store_resource_get(f.s, path, &got, &len));
			EXPECT(got != NULL && len == sizeof val && memcmp(got, val, len) == 0);
			veil_free_secret(got, len);
			got = NULL;
		}
		veil_free_secret(w[t].secret, w[t].secret_len);
	}
	veil_store_close(f.s);
	f.s = NULL;
	EXPECT(fx_integrity_ok(f.db));
	fx_done(&f);
}

/* Two handles on one file, as two daemons sharing it: both creators of the
 * signing key end up with the same one. */
typedef struct creator {
	veil_store *s;
	uint8_t *v;
	size_t len;
	veil_err err;
} creator;

static void *creator_main(void *arg)
{
	creator *c = arg;

	c->err =
	    veil_store_secret_get_or_create(c->s, "signing-key", make_random, NULL, &c->v, &c->len);
	return NULL;
}

TEST(two_handles_agree_on_the_signing_key)
{
	store_fx f;
	creator c[2] = {{0}};
	pthread_t t[2];

	REQUIRE(fx_open(&f));
	c[0].s = f.s;
	REQUIRE(veil_store_open_sqlite(f.db, f.key, &c[1].s) == VEIL_OK);
	for (int i = 0; i < 2; i++)
		REQUIRE(pthread_create(&t[i], NULL, creator_main, &c[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	EXPECT_OK(c[0].err);
	EXPECT_OK(c[1].err);
	EXPECT(c[0].len == 32 && c[1].len == 32 && c[0].v != NULL && c[1].v != NULL &&
	       memcmp(c[0].v, c[1].v, 32) == 0);
	for (int i = 0; i < 2; i++)
		veil_free_secret(c[i].v, c[i].len);
	veil_store_close(c[1].s);
	fx_done(&f);
}

int main(void)
{
	RUN(session_lifecycle);
	RUN(session_attest_keeps_fields_given_at_create);
	RUN(session_create_refusals);
	RUN(session_expiry_and_collection);
	RUN(threads_at_once);
	RUN(two_handles_agree_on_the_signing_key);
	return harness_finish("test_store_sessions");
}

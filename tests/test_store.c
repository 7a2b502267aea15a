/*
 * test_store.c - the key broker's storage: resources, documents, the
 * store's own secrets, and what survives a restart.
 *
 * The negative cases are the ones an operator or an attacker with the
 * database file meets: the wrong master key, a sealed value moved by hand
 * into another row or another database, altered or cut short, a corrupted
 * file, a schema from a newer build, and every malformed name. The master
 * key file is tested in test_store_master_key.c, sessions and threads in
 * test_store_sessions.c.
 */
#include "store/sqlite_internal.h"
#include "test_store_util.h"

/* A value that must never appear in the database files. */
static const char known_secret[] = "VEIL-KNOWN-PLAINTEXT-7f3a9c1e-model-key-do-not-store";

TEST(resource_round_trip)
{
	store_fx f;
	uint8_t *v = NULL, bin[300];
	size_t len = 0;

	REQUIRE(fx_open(&f));
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)i; /* NULs included */
	EXPECT_OK(veil_store_resource_put(f.s, "default/key/1", bin, sizeof bin));
	EXPECT_OK(veil_store_resource_get(f.s, "default/key/1", &v, &len));
	EXPECT(len == sizeof bin && v != NULL && memcmp(v, bin, len) == 0);
	veil_free_secret(v, len);
	/* put replaces. */
	EXPECT_OK(veil_store_resource_put(f.s, "default/key/1", (const uint8_t *)"two", 3));
	EXPECT_OK(veil_store_resource_get(f.s, "default/key/1", &v, &len));
	EXPECT(len == 3 && memcmp(v, "two", 3) == 0);
	veil_free_secret(v, len);
	/* An empty value is a value. */
	EXPECT_OK(veil_store_resource_put(f.s, "default/key/empty", NULL, 0));
	EXPECT_OK(veil_store_resource_get(f.s, "default/key/empty", &v, &len));
	EXPECT(len == 0 && v != NULL);
	veil_free_secret(v, len);
	EXPECT_OK(veil_store_resource_delete(f.s, "default/key/1"));
	v = (uint8_t *)&len;
	EXPECT_ERR(veil_store_resource_get(f.s, "default/key/1", &v, &len), VEIL_E_NOT_FOUND);
	EXPECT(v == NULL && len == 0);
	EXPECT_ERR(veil_store_resource_delete(f.s, "default/key/1"), VEIL_E_NOT_FOUND);
	EXPECT_ERR(veil_store_resource_get(f.s, "default/key/2", &v, &len), VEIL_E_NOT_FOUND);
	EXPECT_ERR(veil_store_resource_put(f.s, "default/key/x", NULL, 1), VEIL_E_USAGE);
	fx_done(&f);
}

TEST(resource_value_caps)
{
	store_fx f;
	uint8_t *big = malloc(VEIL_STORE_VALUE_MAX + 1), *v = NULL;
	size_t len = 0;

	REQUIRE(big != NULL);
	memset(big, 0x5a, VEIL_STORE_VALUE_MAX + 1);
	if (!fx_open(&f)) {
		free(big);
		REQUIRE(false);
	}
	EXPECT_OK(veil_store_resource_put(f.s, "r/t/max", big, VEIL_STORE_VALUE_MAX));
	EXPECT_OK(veil_store_resource_get(f.s, "r/t/max", &v, &len));
	EXPECT(len == VEIL_STORE_VALUE_MAX && v != NULL && memcmp(v, big, len) == 0);
	veil_free_secret(v, len);
	EXPECT_ERR(veil_store_resource_put(f.s, "r/t/over", big, VEIL_STORE_VALUE_MAX + 1),
		   VEIL_E_LIMIT);
	EXPECT_ERR(veil_store_resource_get(f.s, "r/t/over", &v, &len), VEIL_E_NOT_FOUND);
	free(big);
	fx_done(&f);
}

TEST(resource_path_validation)
{
	store_fx f;
	uint8_t *v = NULL;
	size_t len;
	char longp[VEIL_STORE_PATH_MAX + 2];
	static const char *const bad[] = {
	    "",         "a",       "a/b",      "a/b/c/d",      "/b/c",   "a//c",
	    "a/b/",     "a/../c",  "../b/c",   "a/b/..",       "a/./c",  ".",
	    "a/b/.",    "a/b/c d", "a/b/c\n",  "a/b/\xc3\xa9", "a/b/c/", "a\\b/c",
	    "a/b/x..y", "a/b/*",   "a/b/c%2f", "a/b/c?",       "a /b/c"};

	REQUIRE(fx_open(&f));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		veil_err err = veil_store_resource_put(f.s, bad[i], (const uint8_t *)"x", 1);
		EXPECT(err == VEIL_E_USAGE);
		if (err != VEIL_E_USAGE)
			fprintf(stderr, "    accepted path \"%s\"\n", bad[i]);
		EXPECT_ERR(veil_store_resource_get(f.s, bad[i], &v, &len), VEIL_E_USAGE);
		EXPECT_ERR(veil_store_resource_delete(f.s, bad[i]), VEIL_E_USAGE);
	}
	EXPECT_ERR(veil_store_resource_put(f.s, NULL, (const uint8_t *)"x", 1), VEIL_E_USAGE);
	/* Exactly at the cap, then one byte over. */
	memset(longp, 'a', sizeof longp);
	longp[1] = '/';
	longp[3] = '/';
	longp[VEIL_STORE_PATH_MAX] = 0;
	EXPECT_OK(veil_store_resource_put(f.s, longp, (const uint8_t *)"x", 1));
	longp[VEIL_STORE_PATH_MAX] = 'a';
	longp[VEIL_STORE_PATH_MAX + 1] = 0;
	EXPECT_ERR(veil_store_resource_put(f.s, longp, (const uint8_t *)"x", 1), VEIL_E_LIMIT);
	EXPECT_OK(veil_store_resource_put(f.s, "A-Z_a.z/0-9/x.y_z-1", (const uint8_t *)"x", 1));
	fx_done(&f);
}

typedef struct walk {
	char seen[8][64];
	int n, stop_at;
	veil_store *s;
} walk;

static veil_err walk_fn(void *user, const char *name)
{
	walk *w = user;
	uint8_t *v = NULL;
	size_t len = 0;

	if (w->n == w->stop_at)
		return veil_fail(VEIL_E_MISMATCH, "stop");
	if (w->n < 8)
		snprintf(w->seen[w->n], sizeof w->seen[0], "%s", name);
	w->n++;
	/* The callback may use the store: no lock is held. */
	if (w->s != NULL && veil_store_resource_get(w->s, name, &v, &len) != VEIL_OK)
		return VEIL_E_IO;
	veil_free_secret(v, len);
	return VEIL_OK;
}

TEST(resource_list_in_order)
{
	store_fx f;
	walk w = {.stop_at = -1};

	REQUIRE(fx_open(&f));
	EXPECT_OK(veil_store_resource_list(f.s, walk_fn, &w));
	EXPECT(w.n == 0);
	EXPECT_OK(veil_store_resource_put(f.s, "b/t/1", (const uint8_t *)"1", 1));
	EXPECT_OK(veil_store_resource_put(f.s, "a/t/2", (const uint8_t *)"2", 1));
	EXPECT_OK(veil_store_resource_put(f.s, "a/t/1", (const uint8_t *)"3", 1));
	w.s = f.s;
	EXPECT_OK(veil_store_resource_list(f.s, walk_fn, &w));
	EXPECT(w.n == 3);
	EXPECT(strcmp(w.seen[0], "a/t/1") == 0 && strcmp(w.seen[1], "a/t/2") == 0 &&
	       strcmp(w.seen[2], "b/t/1") == 0);
	/* The callback's first error stops the walk and is returned. */
	memset(&w, 0, sizeof w);
	w.stop_at = 1;
	EXPECT_ERR(veil_store_resource_list(f.s, walk_fn, &w), VEIL_E_MISMATCH);
	EXPECT(w.n == 1);
	EXPECT_ERR(veil_store_resource_list(f.s, NULL, &w), VEIL_E_USAGE);
	fx_done(&f);
}

TEST(documents)
{
	store_fx f;
	uint8_t *d = NULL;
	size_t len = 0;
	walk w = {.stop_at = -1};
	static const char pol[] = "{\"version\":1,\"id\":\"p\"}";
	uint8_t *big = calloc(1, VEIL_STORE_DOC_MAX + 1);

	REQUIRE(big != NULL);
	if (!fx_open(&f)) {
		free(big);
		REQUIRE(false);
	}
	EXPECT_OK(veil_store_doc_put(f.s, "resource-policy", "default", (const uint8_t *)pol,
				     strlen(pol)));
	EXPECT_OK(veil_store_doc_get(f.s, "resource-policy", "default", &d, &len));
	EXPECT(len == strlen(pol) && d != NULL && strcmp((char *)d, pol) == 0);
	free(d);
	/* Kinds are separate name spaces. */
	EXPECT_ERR(veil_store_doc_get(f.s, "appraisal-policy", "default", &d, &len),
		   VEIL_E_NOT_FOUND);
	EXPECT_OK(veil_store_doc_put(f.s, "appraisal-policy", "default", (const uint8_t *)"{}", 2));
	EXPECT_OK(veil_store_doc_put(f.s, "reference-values", "b", (const uint8_t *)"[]", 2));
	EXPECT_OK(veil_store_doc_put(f.s, "reference-values", "a", (const uint8_t *)"[1]", 3));
	EXPECT_OK(veil_store_doc_put(f.s, "reference-values", "a", (const uint8_t *)"[2]", 3));
	EXPECT_OK(veil_store_doc_get(f.s, "reference-values", "a", &d, &len));
	EXPECT(len == 3 && strcmp((char *)d, "[2]") == 0);
	free(d);
	EXPECT_OK(veil_store_doc_list(f.s, "reference-values", walk_fn, &w));
	EXPECT(w.n == 2 && strcmp(w.seen[0], "a") == 0 && strcmp(w.seen[1], "b") == 0);
	EXPECT_OK(veil_store_doc_delete(f.s, "reference-values", "a"));
	EXPECT_ERR(veil_store_doc_delete(f.s, "reference-values", "a"), VEIL_E_NOT_FOUND);
	EXPECT_ERR(veil_store_doc_get(f.s, "reference-values", "a", &d, &len), VEIL_E_NOT_FOUND);
	/* Kinds, names, sizes. */
	static const char *const bad_kinds[] = {"", "policy", "Resource-policy", "resource-policy ",
						"reference-values/x"};
	for (size_t i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
		EXPECT_ERR(veil_store_doc_put(f.s, bad_kinds[i], "n", (const uint8_t *)"{}", 2),
			   VEIL_E_USAGE);
		EXPECT_ERR(veil_store_doc_get(f.s, bad_kinds[i], "n", &d, &len), VEIL_E_USAGE);
		EXPECT_ERR(veil_store_doc_list(f.s, bad_kinds[i], walk_fn, &w), VEIL_E_USAGE);
		EXPECT_ERR(veil_store_doc_delete(f.s, bad_kinds[i], "n"), VEIL_E_USAGE);
	}
	EXPECT_ERR(veil_store_doc_put(f.s, NULL, "n", (const uint8_t *)"{}", 2), VEIL_E_USAGE);
	static const char *const bad_names[] = {"", ".", "..", "a/b", "a..b", "a b", "\xff"};
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
		EXPECT_ERR(veil_store_doc_put(f.s, "resource-policy", bad_names[i],
					      (const uint8_t *)"{}", 2),
			   VEIL_E_USAGE);
	char name[VEIL_STORE_NAME_MAX + 2];
	memset(name, 'n', sizeof name);
	name[VEIL_STORE_NAME_MAX] = 0;
	EXPECT_OK(veil_store_doc_put(f.s, "resource-policy", name, (const uint8_t *)"{}", 2));
	name[VEIL_STORE_NAME_MAX] = 'n';
	name[VEIL_STORE_NAME_MAX + 1] = 0;
	EXPECT_ERR(veil_store_doc_put(f.s, "resource-policy", name, (const uint8_t *)"{}", 2),
		   VEIL_E_LIMIT);
	EXPECT_ERR(veil_store_doc_put(f.s, "resource-policy", "nul", (const uint8_t *)"{\0}", 3),
		   VEIL_E_MALFORMED);
	memset(big, ' ', VEIL_STORE_DOC_MAX + 1);
	EXPECT_OK(veil_store_doc_put(f.s, "resource-policy", "big", big, VEIL_STORE_DOC_MAX));
	EXPECT_ERR(veil_store_doc_put(f.s, "resource-policy", "big", big, VEIL_STORE_DOC_MAX + 1),
		   VEIL_E_LIMIT);
	EXPECT_OK(veil_store_doc_get(f.s, "resource-policy", "big", &d, &len));
	EXPECT(len == VEIL_STORE_DOC_MAX && d[len] == 0);
	free(d);
	free(big);
	fx_done(&f);
}

typedef struct maker {
	int calls;
	veil_err fail;
	size_t len;
	uint8_t byte;
} maker;

static veil_err make_secret(void *user, uint8_t **val, size_t *len)
{
	maker *m = user;

	m->calls++;
	if (m->fail != VEIL_OK)
		return veil_fail(m->fail, "make failed");
	*val = malloc(m->len);
	if (*val == NULL)
		return VEIL_E_NOMEM;
	memset(*val, m->byte, m->len);
	if (m->len >= sizeof known_secret - 1)
		memcpy(*val, known_secret, sizeof known_secret - 1);
	*len = m->len;
	return VEIL_OK;
}

TEST(secret_get_or_create)
{
	store_fx f;
	maker m = {.len = 100, .byte = 0x11};
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;

	REQUIRE(fx_open(&f));
	/* A failing make stores nothing and its error comes back. */
	m.fail = VEIL_E_CRYPTO;
	EXPECT_ERR(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m, &a, &al),
		   VEIL_E_CRYPTO);
	EXPECT(a == NULL && m.calls == 1);
	m.fail = VEIL_OK;
	m.len = VEIL_STORE_VALUE_MAX + 1;
	EXPECT_ERR(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m, &a, &al),
		   VEIL_E_LIMIT);
	m.len = 100;
	m.calls = 0;
	EXPECT_OK(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m, &a, &al));
	EXPECT(m.calls == 1 && al == 100 && a != NULL && a[99] == 0x11);
	/* Present now: make is not called, the stored value comes back. */
	m.byte = 0x22;
	EXPECT_OK(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m, &b, &bl));
	EXPECT(m.calls == 1 && bl == al && memcmp(a, b, al) == 0);
	veil_free_secret(b, bl);
	/* A restart keeps it (the signing key persists). */
	REQUIRE(fx_reopen(&f));
	EXPECT_OK(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m, &b, &bl));
	EXPECT(m.calls == 1 && bl == al && memcmp(a, b, al) == 0);
	veil_free_secret(b, bl);
	EXPECT_ERR(veil_store_secret_get_or_create(f.s, "a/b", make_secret, &m, &b, &bl),
		   VEIL_E_USAGE);
	EXPECT_ERR(veil_store_secret_get_or_create(f.s, "x", NULL, &m, &b, &bl), VEIL_E_USAGE);
	veil_free_secret(a, al);
	fx_done(&f);
}

TEST(restart_keeps_everything)
{
	store_fx f;
	maker m = {.len = 48, .byte = 0x33};
	uint8_t *v = NULL, *sig = NULL, *sig2 = NULL;
	size_t len = 0, sl = 0, sl2 = 0;
	struct stat st;

	REQUIRE(fx_open(&f));
	EXPECT(stat(f.db, &st) == 0 && (st.st_mode & 0777) == 0600);
	EXPECT_OK(veil_store_resource_put(f.s, "default/key/1", (const uint8_t *)"k1", 2));
	EXPECT_OK(veil_store_doc_put(f.s, "resource-policy", "p", (const uint8_t *)"{}", 2));
	EXPECT_OK(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m, &sig, &sl));
	for (int round = 0; round < 2; round++) {
		REQUIRE(fx_reopen(&f));
		EXPECT_OK(veil_store_resource_get(f.s, "default/key/1", &v, &len));
		EXPECT(len == 2 && memcmp(v, "k1", 2) == 0);
		veil_free_secret(v, len);
		EXPECT_OK(veil_store_doc_get(f.s, "resource-policy", "p", &v, &len));
		EXPECT(len == 2 && memcmp(v, "{}", 2) == 0);
		free(v);
		EXPECT_OK(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m,
							  &sig2, &sl2));
		EXPECT(m.calls == 1 && sl2 == sl && memcmp(sig, sig2, sl) == 0);
		veil_free_secret(sig2, sl2);
	}
	veil_free_secret(sig, sl);
	EXPECT(fx_integrity_ok(f.db));
	fx_done(&f);
}

TEST(wrong_master_key_refused)
{
	store_fx f;
	uint8_t other[32];
	veil_store *s = NULL;

	REQUIRE(fx_open(&f));
	EXPECT_OK(veil_store_resource_put(f.s, "default/key/1", (const uint8_t *)"k1", 2));
	veil_store_close(f.s);
	f.s = NULL;
	memcpy(other, f.key, 32);
	other[31] ^= 1;
	EXPECT_ERR(veil_store_open_sqlite(f.db, other, &s), VEIL_E_VERIFY);
	EXPECT(s == NULL);
	EXPECT(strstr(veil_err_detail(), "master key") != NULL);
	/* The right key still opens it, and nothing was changed. */
	EXPECT(veil_store_open_sqlite(f.db, f.key, &f.s) == VEIL_OK);
	fx_done(&f);
}

TEST(moved_values_do_not_decrypt)
{
	store_fx f, g;
	uint8_t *v = NULL;
	size_t len = 0;
	maker m = {.len = 40, .byte = 0x44};

	REQUIRE(fx_open(&f));
	EXPECT_OK(veil_store_resource_put(f.s, "r/key/a", (const uint8_t *)"value-a", 7));
	EXPECT_OK(veil_store_resource_put(f.s, "r/key/b", (const uint8_t *)"value-b", 7));
	EXPECT_OK(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m, &v, &len));
	veil_free_secret(v, len);
	veil_store_close(f.s);
	f.s = NULL;
	/* Copy a's sealed value over b's, and the secret's over c. */
	REQUIRE(fx_sql(f.db, "UPDATE resources SET sealed = (SELECT sealed FROM resources WHERE "
			     "path = 'r/key/a') WHERE path = 'r/key/b';"
			     "INSERT INTO resources (path, sealed) SELECT 'r/key/c', sealed FROM "
			     "secrets WHERE name = 'signing-key'"));
	REQUIRE(fx_reopen(&f));
	EXPECT_OK(veil_store_resource_get(f.s, "r/key/a", &v, &len));
	EXPECT(len == 7 && memcmp(v, "value-a", 7) == 0);
	veil_free_secret(v, len);
	EXPECT_ERR(veil_store_resource_get(f.s, "r/key/b", &v, &len), VEIL_E_VERIFY);
	EXPECT(v == NULL);
	EXPECT_ERR(veil_store_resource_get(f.s, "r/key/c", &v, &len), VEIL_E_VERIFY);
	/* Into another database under the same master key: its id differs. */
	REQUIRE(fx_init(&g));
	memcpy(g.key, f.key, sizeof g.key);
	REQUIRE(veil_store_open_sqlite(g.db, g.key, &g.s) == VEIL_OK);
	veil_store_close(g.s);
	g.s = NULL;
	char sql[512];
	snprintf(sql, sizeof sql,
		 "ATTACH '%s' AS src; INSERT INTO resources SELECT * FROM src.resources WHERE "
		 "path = 'r/key/a'",
		 f.db);
	REQUIRE(fx_sql(g.db, sql));
	REQUIRE(fx_reopen(&g));
	EXPECT_ERR(veil_store_resource_get(g.s, "r/key/a", &v, &len), VEIL_E_VERIFY);
	fx_done(&g);
	fx_done(&f);
}

TEST(altered_values_refused)
{
	store_fx f;
	uint8_t *v = NULL;
	size_t len = 0;

	REQUIRE(fx_open(&f));
	EXPECT_OK(veil_store_resource_put(f.s, "r/k/flip", (const uint8_t *)"0123456789", 10));
	EXPECT_OK(veil_store_resource_put(f.s, "r/k/cut", (const uint8_t *)"0123456789", 10));
	EXPECT_OK(veil_store_resource_put(f.s, "r/k/short", (const uint8_t *)"0123456789", 10));
	EXPECT_OK(veil_store_resource_put(f.s, "r/k/ver", (const uint8_t *)"0123456789", 10));
	EXPECT_OK(veil_store_resource_put(f.s, "r/k/long", (const uint8_t *)"0123456789", 10));
	veil_store_close(f.s);
	f.s = NULL;
	/* A bit flipped in the ciphertext, the tag cut, a stub, another
	 * version byte, a byte appended. */
	REQUIRE(fx_resource_flip(f.db, "r/k/flip", 20));
	REQUIRE(fx_sql(
	    f.db, "UPDATE resources SET sealed = substr(sealed, 1, length(sealed) - 1) "
		  "WHERE path = 'r/k/cut';"
		  "UPDATE resources SET sealed = x'01' WHERE path = 'r/k/short';"
		  "UPDATE resources SET sealed = CAST(x'02' || substr(sealed, 2) AS BLOB) WHERE "
		  "path = "
		  "'r/k/ver';"
		  "UPDATE resources SET sealed = CAST(sealed || x'00' AS BLOB) WHERE path = "
		  "'r/k/long'"));
	REQUIRE(fx_reopen(&f));
	EXPECT_ERR(veil_store_resource_get(f.s, "r/k/cut", &v, &len), VEIL_E_VERIFY);
	EXPECT_ERR(veil_store_resource_get(f.s, "r/k/short", &v, &len), VEIL_E_VERIFY);
	EXPECT_ERR(veil_store_resource_get(f.s, "r/k/ver", &v, &len), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(veil_store_resource_get(f.s, "r/k/long", &v, &len), VEIL_E_VERIFY);
	EXPECT_ERR(veil_store_resource_get(f.s, "r/k/flip", &v, &len), VEIL_E_VERIFY);
	EXPECT(v == NULL);
	fx_done(&f);
}

TEST(database_never_holds_plaintext)
{
	store_fx f;
	maker m = {.len = 200, .byte = 0x55};
	uint8_t *v = NULL;
	size_t len = 0;
	static const char doc[] = "{\"visible\":\"VEIL-PLAINTEXT-DOCUMENT-CONTROL\"}";
	char wal[160];

	REQUIRE(fx_open(&f));
	snprintf(wal, sizeof wal, "%s-wal", f.db);
	for (int i = 0; i < 20; i++) {
		char path[32];
		snprintf(path, sizeof path, "models/key/%d", i);
		EXPECT_OK(veil_store_resource_put(f.s, path, (const uint8_t *)known_secret,
						  sizeof known_secret - 1));
	}
	EXPECT_OK(veil_store_secret_get_or_create(f.s, "signing-key", make_secret, &m, &v, &len));
	veil_free_secret(v, len);
	EXPECT_OK(
	    veil_store_doc_put(f.s, "resource-policy", "p", (const uint8_t *)doc, sizeof doc - 1));
	/* While open, the writes sit in the WAL. The document is the control:
	 * the search does find plaintext that is there. */
	EXPECT(fx_file_has(wal, doc, sizeof doc - 1) || fx_file_has(f.db, doc, sizeof doc - 1));
	EXPECT(!fx_file_has(wal, known_secret, sizeof known_secret - 1));
	EXPECT(!fx_file_has(f.db, known_secret, sizeof known_secret - 1));
	/* After close, the checkpoint has moved everything into the file. */
	veil_store_close(f.s);
	f.s = NULL;
	EXPECT(fx_file_has(f.db, doc, sizeof doc - 1));
	EXPECT(!fx_file_has(f.db, known_secret, sizeof known_secret - 1));
	EXPECT(!fx_file_has(wal, known_secret, sizeof known_secret - 1));
	/* Nor the master key, in either form. */
	EXPECT(!fx_file_has(f.db, f.key, sizeof f.key));
	fx_done(&f);
}

TEST(damaged_database_refused)
{
	store_fx f;
	veil_store *s = NULL;
	uint8_t junk[4096];
	int fd;

	memset(junk, 0x77, sizeof junk);
	REQUIRE(fx_open(&f));
	for (int i = 0; i < 50; i++) {
		char path[32];
		snprintf(path, sizeof path, "r/k/%d", i);
		EXPECT_OK(veil_store_resource_put(f.s, path, junk, 1000));
	}
	veil_store_close(f.s);
	f.s = NULL;
	/* Overwrite the second page (a b-tree page) with garbage. */
	memset(junk, 0xee, sizeof junk);
	fd = open(f.db, O_WRONLY);
	REQUIRE(fd >= 0);
	EXPECT(pwrite(fd, junk, sizeof junk, 4096) == (ssize_t)sizeof junk);
	close(fd);
	EXPECT(veil_store_open_sqlite(f.db, f.key, &s) != VEIL_OK);
	EXPECT(s == NULL);
	/* A file that is not a database at all. */
	REQUIRE(fx_write(fx_path(&f, "text.db"), "hello, this is not SQLite\n", 26, 0600));
	EXPECT_ERR(veil_store_open_sqlite(fx_path(&f, "text.db"), f.key, &s), VEIL_E_MALFORMED);
	EXPECT(s == NULL);
	EXPECT_ERR(veil_store_open_sqlite(fx_path(&f, "no/such/dir.db"), f.key, &s), VEIL_E_IO);
	fx_done(&f);
}

TEST(schema_version)
{
	store_fx f;
	veil_store *s = NULL;

	REQUIRE(fx_open(&f));
	veil_store_close(f.s);
	f.s = NULL;
	/* A database from a newer build is refused, not guessed at. */
	REQUIRE(fx_sql(f.db, "UPDATE schema_version SET version = 99"));
	EXPECT_ERR(veil_store_open_sqlite(f.db, f.key, &s), VEIL_E_UNSUPPORTED);
	EXPECT(s == NULL);
	REQUIRE(fx_sql(f.db, "UPDATE schema_version SET version = 1"));
	EXPECT(fx_reopen(&f));
	EXPECT_ERR(veil_store_open_sqlite(NULL, f.key, &s), VEIL_E_USAGE);
	EXPECT_ERR(veil_store_open_sqlite(f.db, NULL, &s), VEIL_E_USAGE);
	fx_done(&f);
}

/* Runs a pragma on the store's own connection (settings are per
 * connection, so only the store's connection can show them). */
static bool store_pragma_is(veil_store *s, const char *sql, const char *want)
{
	sq_store *q = s->be;
	sqlite3_stmt *st = NULL;
	bool ok = false;

	pthread_mutex_lock(&q->lock);
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), want) == 0;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->lock);
	if (!ok)
		fprintf(stderr, "    %s is not %s\n", sql, want);
	return ok;
}

TEST(durability_settings)
{
	store_fx f;

	REQUIRE(fx_open(&f));
	REQUIRE(strcmp(f.s->ops->name, "sqlite") == 0);
	EXPECT(store_pragma_is(f.s, "PRAGMA journal_mode", "wal"));
	EXPECT(store_pragma_is(f.s, "PRAGMA synchronous", "2")); /* FULL */
	EXPECT(store_pragma_is(f.s, "PRAGMA foreign_keys", "1"));
	EXPECT(store_pragma_is(f.s, "PRAGMA busy_timeout", "5000"));
	EXPECT(store_pragma_is(f.s, "PRAGMA secure_delete", "1"));
	EXPECT(store_pragma_is(f.s, "SELECT version FROM schema_version", "1"));
	/* Session writes relax the fsync for themselves only: every session
	 * call leaves FULL in force for the secrets written after it. */
	{
		veil_store_session sess = {.id = "d00d", .tee = "sim", .expires = 100};
		size_t removed;
		EXPECT_OK(veil_store_session_create(f.s, &sess));
		EXPECT(store_pragma_is(f.s, "PRAGMA synchronous", "2"));
		EXPECT_OK(veil_store_session_attest(f.s, "d00d", sess.nonce, "t", "{}", "{}", 100));
		EXPECT(store_pragma_is(f.s, "PRAGMA synchronous", "2"));
		EXPECT_ERR(veil_store_session_attest(f.s, "d00d", sess.nonce, "t", "{}", "{}", 100),
			   VEIL_E_MISMATCH);
		EXPECT(store_pragma_is(f.s, "PRAGMA synchronous", "2"));
		EXPECT_OK(veil_store_session_collect(f.s, 200, &removed));
		EXPECT(removed == 1);
		EXPECT(store_pragma_is(f.s, "PRAGMA synchronous", "2"));
	}
	fx_done(&f);
}

int main(void)
{
	RUN(resource_round_trip);
	RUN(resource_value_caps);
	RUN(resource_path_validation);
	RUN(resource_list_in_order);
	RUN(documents);
	RUN(secret_get_or_create);
	RUN(restart_keeps_everything);
	RUN(wrong_master_key_refused);
	RUN(moved_values_do_not_decrypt);
	RUN(altered_values_refused);
	RUN(database_never_holds_plaintext);
	RUN(damaged_database_refused);
	RUN(schema_version);
	RUN(durability_settings);
	return harness_finish("test_store");
}

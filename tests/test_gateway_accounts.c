/*
 * test_gateway_accounts.c - veil-gateway's API keys (src/gateway/accounts.h,
 * docs/gateway-accounts.md): keys made, found and revoked (through the same
 * handle and through a second one, as the CLI does while the gateway
 * runs), unknown keys, every malformed Authorization value refused with a
 * detail that never quotes it, names, the list, the file's mode and what
 * it holds (the key's hash, never the key), files that cannot be opened,
 * and rows changed behind the module's back. Rate limits and metering:
 * test_gateway_metering.c.
 */
#include "test_gateway_accounts_util.h"
#include "veil/codec.h"
#include "veil/crypto.h"

TEST(create_auth_revoke)
{
	char hdr[128], *key = NULL;
	gw_account acct, again;
	json_t *list = NULL;
	uint8_t raw[32];
	size_t raw_len = 0;
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "alice", 60, 6000, &key));
	REQUIRE(key != NULL);
	/* vk_ and the base64url of 32 bytes. */
	EXPECT(strlen(key) == VEIL_GW_KEY_LEN && strncmp(key, "vk_", 3) == 0);
	EXPECT_OK(veil_base64url_decode(key + 3, strlen(key) - 3, raw, sizeof raw, &raw_len));
	EXPECT(raw_len == 32);
	bearer(hdr, sizeof hdr, key);
	EXPECT_OK(gw_accounts_auth(f.a, hdr, &acct));
	EXPECT(strcmp(acct.name, "alice") == 0 && acct.rpm == 60 && acct.tpm == 6000);
	EXPECT(acct.id > 0);
	/* The scheme is case-insensitive (RFC 9110 section 11.1); spaces
	 * after it and around the value are allowed. */
	snprintf(hdr, sizeof hdr, "  bEARER   %s \t", key);
	EXPECT_OK(gw_accounts_auth(f.a, hdr, &again));
	EXPECT(again.id == acct.id);
	EXPECT_OK(gw_accounts_find(f.a, "alice", &again));
	EXPECT(again.id == acct.id && again.rpm == 60);
	/* Revoked through this handle: refused at once, although cached. */
	EXPECT_OK(gw_accounts_revoke(f.a, "alice"));
	bearer(hdr, sizeof hdr, key);
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &again), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "revoked") != NULL);
	EXPECT(strstr(veil_err_detail(), key + 3) == NULL);
	EXPECT(again.id == 0 && again.name[0] == 0);
	/* Twice is fine; the first time is kept. */
	EXPECT_OK(gw_accounts_revoke(f.a, "alice"));
	EXPECT_ERR(gw_accounts_revoke(f.a, "nobody"), VEIL_E_NOT_FOUND);
	EXPECT_ERR(gw_accounts_revoke(f.a, "bad name"), VEIL_E_USAGE);
	/* Still found by name (for usage), revoked or not. */
	EXPECT_OK(gw_accounts_find(f.a, "alice", &again));
	EXPECT_ERR(gw_accounts_find(f.a, "bob", &again), VEIL_E_NOT_FOUND);
	EXPECT_OK(gw_accounts_list(f.a, &list));
	EXPECT(json_array_size(list) == 1);
	EXPECT(json_is_string(json_object_get(json_array_get(list, 0), "revoked")));
	json_decref(list);
	free_key(key);
	fx_done(&f);
}

/* The CLI revokes through its own handle while the gateway has the file
 * open: the gateway sees a new key at once and the revocation once its
 * cache entry is older than the cache time. */
TEST(second_handle)
{
	gw_accounts *cli = NULL;
	char hdr[128], *key = NULL, *key2 = NULL;
	gw_account acct;
	acct_fx f;

	REQUIRE(fx_open(&f));
	REQUIRE(gw_accounts_open(f.path, &cli) == VEIL_OK);
	gw_accounts_set_auth_cache_ms(f.a, 1000);
	EXPECT_OK(gw_accounts_create(cli, "carol", 0, 0, &key));
	REQUIRE(key != NULL);
	bearer(hdr, sizeof hdr, key);
	EXPECT_OK(gw_accounts_auth(f.a, hdr, &acct)); /* a miss goes to the file */
	EXPECT(strcmp(acct.name, "carol") == 0);
	EXPECT_OK(gw_accounts_revoke(cli, "carol"));
	/* Cached: still good within the cache time... */
	EXPECT_OK(gw_accounts_auth(f.a, hdr, &acct));
	/* ...and refused after it. */
	usleep(1100 * 1000);
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_NOT_FOUND);
	/* An unknown key looked up before it exists cannot be; a new one
	 * made by the other handle works at once. */
	EXPECT_OK(gw_accounts_create(cli, "dave", 1, 2, &key2));
	REQUIRE(key2 != NULL);
	bearer(hdr, sizeof hdr, key2);
	EXPECT_OK(gw_accounts_auth(f.a, hdr, &acct));
	EXPECT(strcmp(acct.name, "dave") == 0 && acct.rpm == 1 && acct.tpm == 2);
	/* A cache time of 0 caches nothing. */
	gw_accounts_set_auth_cache_ms(f.a, 0);
	EXPECT_OK(gw_accounts_revoke(cli, "dave"));
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_NOT_FOUND);
	gw_accounts_close(cli);
	free_key(key);
	free_key(key2);
	fx_done(&f);
}

TEST(unknown_key)
{
	char hdr[128], *key = NULL, other[VEIL_GW_KEY_LEN + 1];
	gw_account acct;
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "erin", 0, 0, &key));
	REQUIRE(key != NULL);
	/* Well-formed but unknown: every character of the key changed in
	 * turn (to another that keeps it strictly decodable). */
	for (size_t i = 3; i < VEIL_GW_KEY_LEN; i++) {
		memcpy(other, key, sizeof other);
		other[i] = other[i] == 'A' ? 'Q' : 'A';
		bearer(hdr, sizeof hdr, other);
		EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_NOT_FOUND);
	}
	EXPECT(strstr(veil_err_detail(), "unknown") != NULL);
	/* Asked twice (the second from the cache): the same answer. */
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_NOT_FOUND);
	bearer(hdr, sizeof hdr, key);
	EXPECT_OK(gw_accounts_auth(f.a, hdr, &acct));
	free_key(key);
	fx_done(&f);
}

TEST(malformed_headers)
{
	char *key = NULL, hdr[600], k2[VEIL_GW_KEY_LEN + 8];
	gw_account acct;
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "frank", 0, 0, &key));
	REQUIRE(key != NULL);
	const char *fixed[] = {
	    "",
	    "   ",
	    "Bearer",
	    "Bearer ",
	    "Bearer     ",
	    "Basic dXNlcjpwYXNz",
	    "Token vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "Bearer sk-proj-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "Bearer vk_",
	    "Bearer vk-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "Bearer VK_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 */
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  /* base64, not url */
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/",
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.",
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", /* spare bits set */
	    "Bearer vk_AAAAAAAAAAAAAAAAAA\x01"
	    "AAAAAAAAAAAAAAAAAAAAAAAA",
	    "Bearer vk_AAAAAAAAAAAAAAAAAA\xc3\xa9"
	    "AAAAAAAAAAAAAAAAAAAAAAA",
	    "Bearer\tvk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* SP only */
	    "Bearervk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA x",
	    "Bearer vk_AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA",
	};

	EXPECT_ERR(gw_accounts_auth(f.a, NULL, &acct), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "no Authorization") != NULL);
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		veil_err err = gw_accounts_auth(f.a, fixed[i], &acct);
		if (err != VEIL_E_USAGE)
			fprintf(stderr, "    case %zu: %d\n", i, (int)err);
		EXPECT(err == VEIL_E_USAGE);
		EXPECT(acct.id == 0);
	}
	/* Each says which part is wrong. */
	EXPECT_ERR(gw_accounts_auth(f.a, "Basic dXNlcjpwYXNz", &acct), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "not a Bearer") != NULL);
	EXPECT_ERR(gw_accounts_auth(f.a, "Bearer sk-123", &acct), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "not a Veil API key") != NULL);
	EXPECT_ERR(gw_accounts_auth(f.a, "Bearer ", &acct), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "empty") != NULL);
	/* The real key with one character made invalid: refused, and the
	 * detail quotes none of it. */
	memcpy(k2, key, VEIL_GW_KEY_LEN + 1);
	k2[20] = '+';
	bearer(hdr, sizeof hdr, k2);
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "base64url") != NULL);
	EXPECT(strstr(veil_err_detail(), k2 + 3) == NULL);
	EXPECT(strstr(veil_err_detail(), key + 21) == NULL);
	/* The real key with a byte more or less. */
	snprintf(hdr, sizeof hdr, "Bearer %sA", key);
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), key) == NULL);
	snprintf(hdr, sizeof hdr, "Bearer %.*s", VEIL_GW_KEY_LEN - 1, key);
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_USAGE);
	/* Over the header cap: refused before it is looked at, even with
	 * the real key at its start. */
	memset(hdr, ' ', sizeof hdr);
	memcpy(hdr, "Bearer ", 7);
	memcpy(hdr + 7, key, VEIL_GW_KEY_LEN);
	hdr[VEIL_GW_AUTH_HEADER_MAX + 1] = 0;
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "longer") != NULL);
	/* Exactly at the cap (trailing spaces) is fine. */
	hdr[VEIL_GW_AUTH_HEADER_MAX] = 0;
	EXPECT_OK(gw_accounts_auth(f.a, hdr, &acct));
	EXPECT_ERR(gw_accounts_auth(NULL, "Bearer x", &acct), VEIL_E_USAGE);
	EXPECT_ERR(gw_accounts_auth(f.a, "Bearer x", NULL), VEIL_E_USAGE);
	free_key(key);
	fx_done(&f);
}

TEST(names)
{
	char *key = (char *)1, name[80];
	gw_account acct;
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "bob", 1, 1, &key));
	free_key(key);
	EXPECT_ERR(gw_accounts_create(f.a, "bob", 2, 2, &key), VEIL_E_USAGE);
	EXPECT(key == NULL);
	EXPECT(strstr(veil_err_detail(), "exists") != NULL);
	/* A revoked account keeps its name. */
	EXPECT_OK(gw_accounts_revoke(f.a, "bob"));
	EXPECT_ERR(gw_accounts_create(f.a, "bob", 2, 2, &key), VEIL_E_USAGE);
	EXPECT_OK(gw_accounts_find(f.a, "bob", &acct));
	EXPECT(acct.rpm == 1);
	/* Names are case-sensitive. */
	EXPECT_OK(gw_accounts_create(f.a, "Bob", 0, 0, &key));
	free_key(key);
	const char *bad[] = {"",     "a b",   "a/b",  "a:b",      "caf\xc3\xa9",
			     "a\nb", "-\x01", "a\tb", "name;DROP"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		key = (char *)1;
		EXPECT_ERR(gw_accounts_create(f.a, bad[i], 0, 0, &key), VEIL_E_USAGE);
		EXPECT(key == NULL);
	}
	EXPECT_ERR(gw_accounts_create(f.a, NULL, 0, 0, &key), VEIL_E_USAGE);
	EXPECT_ERR(gw_accounts_create(f.a, "x", 0, 0, NULL), VEIL_E_USAGE);
	EXPECT_ERR(gw_accounts_create(NULL, "x", 0, 0, &key), VEIL_E_USAGE);
	/* 64 characters is the most. */
	memset(name, 'n', sizeof name);
	name[VEIL_GW_ACCOUNT_NAME_MAX + 1] = 0;
	EXPECT_ERR(gw_accounts_create(f.a, name, 0, 0, &key), VEIL_E_USAGE);
	name[VEIL_GW_ACCOUNT_NAME_MAX] = 0;
	EXPECT_OK(gw_accounts_create(f.a, name, 0, 0, &key));
	free_key(key);
	EXPECT_OK(gw_accounts_create(f.a, "team.a_b-1", UINT32_MAX, UINT32_MAX, &key));
	EXPECT_OK(gw_accounts_find(f.a, "team.a_b-1", &acct));
	EXPECT(acct.rpm == UINT32_MAX && acct.tpm == UINT32_MAX);
	free_key(key);
	fx_done(&f);
}

TEST(list)
{
	char *key = NULL, *dump;
	json_t *list = NULL, *row;
	size_t i;
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_list(f.a, &list));
	EXPECT(json_is_array(list) && json_array_size(list) == 0);
	json_decref(list);
	const char *names[] = {"zed", "amy", "mid"};
	for (i = 0; i < 3; i++) {
		EXPECT_OK(
		    gw_accounts_create(f.a, names[i], (uint32_t)i * 10, (uint32_t)i * 100, &key));
		free_key(key);
	}
	EXPECT_OK(gw_accounts_revoke(f.a, "mid"));
	EXPECT_OK(gw_accounts_list(f.a, &list));
	REQUIRE(json_array_size(list) == 3);
	/* Sorted by name. */
	EXPECT(strcmp(json_string_value(json_object_get(json_array_get(list, 0), "name")), "amy") ==
	       0);
	EXPECT(strcmp(json_string_value(json_object_get(json_array_get(list, 2), "name")), "zed") ==
	       0);
	json_array_foreach(list, i, row)
	{
		const char *name = json_string_value(json_object_get(row, "name"));
		const char *created = json_string_value(json_object_get(row, "created"));
		EXPECT(json_object_size(row) == 5);
		EXPECT(json_is_integer(json_object_get(row, "rpm")));
		EXPECT(json_is_integer(json_object_get(row, "tpm")));
		EXPECT(created != NULL && strlen(created) == 20 && created[19] == 'Z');
		if (name != NULL && strcmp(name, "mid") == 0)
			EXPECT(json_is_string(json_object_get(row, "revoked")));
		else
			EXPECT(json_is_null(json_object_get(row, "revoked")));
	}
	EXPECT(json_integer_value(json_object_get(json_array_get(list, 0), "rpm")) == 10);
	EXPECT(json_integer_value(json_object_get(json_array_get(list, 0), "tpm")) == 100);
	dump = json_dumps(list, JSON_COMPACT);
	EXPECT(dump != NULL && strstr(dump, "hash") == NULL && strstr(dump, "vk_") == NULL);
	free(dump);
	json_decref(list);
	EXPECT_ERR(gw_accounts_list(f.a, NULL), VEIL_E_USAGE);
	fx_done(&f);
}

/* The file and its WAL are 0600 whatever the umask, and hold the key's
 * hash, never the key. */
TEST(file_mode_and_contents)
{
	char *keys[3] = {NULL, NULL, NULL}, names[3][8] = {"k0", "k1", "k2"}, side[160];
	uint8_t hash[32], raw[32];
	size_t raw_len;
	struct stat st;
	mode_t old;
	acct_fx f;

	old = umask(0);
	REQUIRE(fx_open(&f));
	umask(old);
	for (int i = 0; i < 3; i++)
		EXPECT_OK(gw_accounts_create(f.a, names[i], 0, 0, &keys[i]));
	REQUIRE(keys[0] != NULL && keys[1] != NULL && keys[2] != NULL);
	EXPECT(stat(f.path, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(side, sizeof side, "%s-wal", f.path);
	EXPECT(stat(side, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* Each key's hash is stored and is SHA-256 of the key text. */
	for (int i = 0; i < 3; i++) {
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		EXPECT_OK(veil_sha256(keys[i], strlen(keys[i]), hash));
		REQUIRE(sqlite3_open(f.path, &db) == SQLITE_OK);
		REQUIRE(sqlite3_prepare_v2(db, "SELECT key_hash FROM gw_accounts WHERE name = ?1",
					   -1, &q, NULL) == SQLITE_OK);
		sqlite3_bind_text(q, 1, names[i], -1, SQLITE_STATIC);
		EXPECT(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 32 &&
		       memcmp(sqlite3_column_blob(q, 0), hash, 32) == 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	/* Neither the key text, nor its random part, nor its bytes appear
	 * in the database or its WAL, open or closed. */
	for (int pass = 0; pass < 2; pass++) {
		const char *files[2] = {f.path, side};
		if (pass == 1) {
			gw_accounts_close(f.a);
			f.a = NULL;
		}
		for (int fi = 0; fi < 2; fi++) {
			FILE *fp = fopen(files[fi], "rb");
			uint8_t *buf;
			long len;
			if (fp == NULL)
				continue; /* the WAL is gone after the last close */
			fseek(fp, 0, SEEK_END);
			len = ftell(fp);
			fseek(fp, 0, SEEK_SET);
			buf = malloc((size_t)len + 1);
			REQUIRE(buf != NULL);
			EXPECT(fread(buf, 1, (size_t)len, fp) == (size_t)len);
			fclose(fp);
			EXPECT(pass == 1 || fi == 1 || len > 0);
			for (int i = 0; i < 3; i++) {
				EXPECT(memmem(buf, (size_t)len, keys[i], strlen(keys[i])) == NULL);
				EXPECT(memmem(buf, (size_t)len, keys[i] + 3, 20) == NULL);
				EXPECT_OK(veil_base64url_decode(keys[i] + 3, strlen(keys[i]) - 3,
								raw, sizeof raw, &raw_len));
				EXPECT(memmem(buf, (size_t)len, raw, 16) == NULL);
			}
			free(buf);
		}
	}
	for (int i = 0; i < 3; i++)
		free_key(keys[i]);
	fx_done(&f);
}

TEST(open_errors)
{
	gw_accounts *a = (gw_accounts *)1;
	char p[160];
	FILE *fp;
	acct_fx f;

	EXPECT_ERR(gw_accounts_open(NULL, &a), VEIL_E_USAGE);
	EXPECT(a == NULL);
	EXPECT_ERR(gw_accounts_open("", &a), VEIL_E_USAGE);
	EXPECT_ERR(gw_accounts_open("x", NULL), VEIL_E_USAGE);
	REQUIRE(fx_open(&f));
	gw_accounts_close(f.a);
	f.a = NULL;
	/* A folder, and a file in a missing folder. */
	EXPECT_ERR(gw_accounts_open(f.dir, &a), VEIL_E_IO);
	snprintf(p, sizeof p, "%s/missing/accounts.db", f.dir);
	EXPECT_ERR(gw_accounts_open(p, &a), VEIL_E_IO);
	/* Not a database. */
	snprintf(p, sizeof p, "%s/garbage.db", f.dir);
	fp = fopen(p, "wb");
	REQUIRE(fp != NULL);
	for (int i = 0; i < 4096; i++)
		fputc((i * 131) & 0xff, fp);
	fclose(fp);
	EXPECT(gw_accounts_open(p, &a) != VEIL_OK);
	EXPECT(a == NULL);
	/* A schema newer than this build. */
	REQUIRE(sql_run(f.path, "UPDATE gw_accounts_schema SET version = 99"));
	EXPECT_ERR(gw_accounts_open(f.path, &a), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(), "99") != NULL);
	REQUIRE(sql_run(f.path, "UPDATE gw_accounts_schema SET version = 1"));
	EXPECT_OK(gw_accounts_open(f.path, &a));
	gw_accounts_close(a);
	gw_accounts_close(NULL);
	fx_done(&f);
}

/* Rows changed behind the gateway's back are refused, not served. */
TEST(altered_rows)
{
	gw_account acct;
	json_t *out = NULL;
	char *key = NULL, hdr[128];
	acct_fx f;

	REQUIRE(fx_open(&f));
	EXPECT_OK(gw_accounts_create(f.a, "alt", 5, 5, &key));
	REQUIRE(key != NULL);
	EXPECT_OK(gw_accounts_find(f.a, "alt", &acct));
	gw_accounts_set_auth_cache_ms(f.a, 0);
	/* The CHECKs hold... */
	REQUIRE(
	    !sql_exec(f.path,
		      "INSERT INTO gw_usage VALUES (1, '2025-01-01', 'm', 'plain', -1, 0, 0, 0, "
		      "0, 0)",
		      true));
	/* ...unless someone turns them off. */
	REQUIRE(sql_run(f.path, "PRAGMA ignore_check_constraints = 1; "
				"INSERT INTO gw_usage VALUES (1, '2025-01-01', 'm', 'plain', "
				"-1, 0, 0, 0, 0, 0);"
				"UPDATE gw_accounts SET name = 'a b' WHERE name = 'alt'"));
	EXPECT_ERR(gw_accounts_usage(f.a, &acct, &out), VEIL_E_MALFORMED);
	EXPECT(out == NULL);
	EXPECT_ERR(gw_accounts_list(f.a, &out), VEIL_E_MALFORMED);
	bearer(hdr, sizeof hdr, key);
	EXPECT_ERR(gw_accounts_auth(f.a, hdr, &acct), VEIL_E_MALFORMED);
	free_key(key);
	fx_done(&f);
}

int main(void)
{
	RUN(create_auth_revoke);
	RUN(second_handle);
	RUN(unknown_key);
	RUN(malformed_headers);
	RUN(names);
	RUN(list);
	RUN(file_mode_and_contents);
	RUN(open_errors);
	RUN(altered_rows);
	return harness_finish("test_gateway_accounts");
}

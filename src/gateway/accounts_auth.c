/*
 * accounts_auth.c - from an Authorization header to an account, on every
 * request the gateway serves with keys on.
 *
 * The header: RFC 9110 section 11.6.2 (credentials = auth-scheme
 * [ 1*SP token68 ]; the scheme is case-insensitive, section 11.1) with the
 * Bearer scheme of RFC 6750 section 2.1; the token must be a Veil key,
 * "vk_" and exactly 43 base64url characters that decode strictly to 32
 * bytes. Optional whitespace around the value (RFC 9110 section 5.5) is
 * skipped. Errors say which part is wrong and never quote the value: it
 * may be someone's key.
 *
 * The cache: VEIL_GW_AUTH_CACHE_SLOTS slots, direct-mapped by the first
 * bytes of SHA-256(key) (uniform, so a plain modulo spreads them), each
 * holding the whole hash, compared in constant time, and what the database
 * said: the account, or unknown, or revoked. Unknown keys are cached too:
 * a key that did not exist can only come to exist with fresh random bytes,
 * so caching the miss cannot hide a new key, and a client retrying a wrong
 * key does not reach the database each time. Entries last cache_ms
 * (VEIL_GW_AUTH_CACHE_S seconds), which bounds how long a revocation made
 * by another process (the CLI) takes; a revocation through this handle
 * clears the account's entries at once.
 */
#include <string.h>
#include <time.h>

#include "gateway/accounts_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/secret.h"

static int64_t gwa_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool gwa_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool gwa_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* The key inside an Authorization value: *key and *len point into h. */
static veil_err gwa_parse_header(const char *h, const char **key, size_t *len)
{
	static const char scheme[] = "Bearer";
	uint8_t raw[32];
	size_t n, raw_len = 0, i = 0;
	const char *k;
	veil_err err;

	ENSURE(h != NULL, VEIL_E_USAGE,
	       "no Authorization header: send 'Authorization: Bearer vk_...' with an API key");
	n = strnlen(h, VEIL_GW_AUTH_HEADER_MAX + 1);
	ENSURE(n <= VEIL_GW_AUTH_HEADER_MAX, VEIL_E_USAGE,
	       "the Authorization header is longer than %d bytes; it must be 'Bearer vk_...'",
	       VEIL_GW_AUTH_HEADER_MAX);
	while (n > 0 && gwa_ows(h[n - 1]))
		n--;
	while (i < n && gwa_ows(h[i]))
		i++;
	ENSURE(i < n, VEIL_E_USAGE,
	       "the Authorization header is empty: send 'Authorization: Bearer vk_...' with an API "
	       "key");
	ENSURE(n - i >= sizeof scheme - 1 && strncasecmp(h + i, scheme, sizeof scheme - 1) == 0 &&
		   (n - i == sizeof scheme - 1 || h[i + sizeof scheme - 1] == ' '),
	       VEIL_E_USAGE,
	       "the Authorization header is not a Bearer token (RFC 6750): send 'Authorization: "
	       "Bearer vk_...'");
	i += sizeof scheme - 1;
	while (i < n && h[i] == ' ')
		i++;
	ENSURE(i < n, VEIL_E_USAGE,
	       "the Bearer token is empty: send 'Authorization: Bearer vk_...'");
	k = h + i;
	n -= i;
	ENSURE(n >= 3 && memcmp(k, "vk_", 3) == 0, VEIL_E_USAGE,
	       "the Bearer token is not a Veil API key (those start with vk_; make one with veil "
	       "gateway key create)");
	ENSURE(n == VEIL_GW_KEY_LEN, VEIL_E_USAGE,
	       "the API key is %zu characters long; a Veil key is vk_ and 43 more (%d)", n,
	       VEIL_GW_KEY_LEN);
	for (size_t j = 3; j < n; j++)
		ENSURE(gwa_b64url_char(k[j]), VEIL_E_USAGE,
		       "the API key has a character outside base64url at offset %zu", j);
	/* Strict decoding: the last character's spare bits must be zero, so
	 * each key has one spelling. */
	err = veil_base64url_decode(k + 3, n - 3, raw, sizeof raw, &raw_len);
	veil_wipe(raw, sizeof raw);
	ENSURE(err == VEIL_OK && raw_len == sizeof raw, VEIL_E_USAGE,
	       "the API key is not the base64url of 32 bytes");
	*key = k;
	*len = n;
	return VEIL_OK;
}

static gwa_cache_slot *gwa_slot(gw_accounts *a, const uint8_t hash[32])
{
	uint32_t i = (uint32_t)hash[0] | (uint32_t)hash[1] << 8 | (uint32_t)hash[2] << 16 |
		     (uint32_t)hash[3] << 24;

	return &a->cache[i % VEIL_GW_AUTH_CACHE_SLOTS];
}

static veil_err gwa_state_err(enum gwa_key_state s)
{
	if (s == GWA_KEY_REVOKED)
		return veil_fail(VEIL_E_NOT_FOUND, "this API key was revoked");
	if (s == GWA_KEY_UNKNOWN)
		return veil_fail(VEIL_E_NOT_FOUND, "unknown API key");
	return VEIL_OK;
}

/* The database's answer for a key hash. */
static veil_err gwa_lookup(gw_accounts *a, const uint8_t hash[32], enum gwa_key_state *state,
			   gw_account *acct)
{
	sqlite3_stmt *st;
	veil_err err = VEIL_OK;
	int rc;

	pthread_mutex_lock(&a->db_lock);
	st = a->st[GWA_ACCT_BY_HASH];
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		err = gwa_row_account(a, st, acct);
		*state = sqlite3_column_int(st, 4) != 0 ? GWA_KEY_REVOKED : GWA_KEY_FOUND;
	} else if (rc == SQLITE_DONE) {
		*state = GWA_KEY_UNKNOWN;
	} else {
		err = gwa_fail(a, rc, "looking up an API key");
	}
	sqlu_done(st);
	pthread_mutex_unlock(&a->db_lock);
	return err;
}

veil_err gw_accounts_auth(gw_accounts *a, const char *authorization, gw_account *out)
{
	enum gwa_key_state state = GWA_KEY_UNKNOWN;
	gw_account acct = {0};
	gwa_cache_slot *slot;
	uint8_t hash[32];
	const char *key = NULL;
	size_t len = 0;
	uint64_t gen;
	int64_t now;
	bool hit = false;

	ENSURE(a != NULL && out != NULL, VEIL_E_USAGE, "gw_accounts_auth: no accounts given");
	memset(out, 0, sizeof *out);
	TRY(gwa_parse_header(authorization, &key, &len));
	TRY(veil_sha256(key, len, hash));
	slot = gwa_slot(a, hash);
	now = gwa_mono_ms();
	pthread_mutex_lock(&a->cache_lock);
	if (slot->used && now < slot->expires_ms && veil_ct_equal(slot->hash, hash, sizeof hash)) {
		hit = true;
		state = slot->state;
		acct = slot->acct;
	}
	gen = a->cache_gen;
	pthread_mutex_unlock(&a->cache_lock);
	if (!hit) {
		TRY(gwa_lookup(a, hash, &state, &acct));
		pthread_mutex_lock(&a->cache_lock);
		/* A revocation through this handle since the lookup: the
		 * answer may be stale, so it is used once and not kept. */
		if (gen == a->cache_gen && a->cache_ms > 0) {
			memcpy(slot->hash, hash, sizeof hash);
			slot->used = true;
			slot->state = state;
			slot->acct = acct;
			slot->expires_ms = now + a->cache_ms;
		}
		pthread_mutex_unlock(&a->cache_lock);
	}
	TRY(gwa_state_err(state));
	*out = acct;
	return VEIL_OK;
}

void gwa_cache_forget(gw_accounts *a, int64_t id)
{
	pthread_mutex_lock(&a->cache_lock);
	a->cache_gen++;
	for (size_t i = 0; i < VEIL_GW_AUTH_CACHE_SLOTS; i++)
		if (a->cache[i].used && a->cache[i].state == GWA_KEY_FOUND &&
		    a->cache[i].acct.id == id)
			a->cache[i].used = false;
	pthread_mutex_unlock(&a->cache_lock);
}

void gw_accounts_set_auth_cache_ms(gw_accounts *a, int64_t ms)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->cache_lock);
	a->cache_ms = ms > 0 ? ms : 0;
	for (size_t i = 0; i < VEIL_GW_AUTH_CACHE_SLOTS; i++)
		a->cache[i].used = false;
	pthread_mutex_unlock(&a->cache_lock);
}

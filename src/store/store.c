/*
 * store.c - the key broker's storage interface: argument checks, sealing,
 * and dispatch to a back end through its table of operations
 * (store_internal.h).
 *
 * Everything a back end must not get wrong lives here, once: the rules for
 * resource paths, document kinds and names, the caps of limits.h, the
 * sealing of every secret before it reaches the back end and the opening of
 * it after, the master-key check at open, and the calls to the caller's
 * callbacks (made with no lock held, so a callback may use the store).
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* The check value: a constant sealed under the master key with the
 * database id in its AAD. It opens only under the key the database was
 * created with. */
static const char check_plain[] = "veil-store master key check";

static const char *const doc_kinds[] = {"resource-policy", "appraisal-policy", "reference-values"};

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* One name: 1..max bytes of [A-Za-z0-9._-], neither "." nor containing
 * "..", so no back end that maps names to files could be led outside its
 * folder. */
static veil_err segment_check(const char *what, const char *s, size_t len, size_t max)
{
	ENSURE(len > 0, VEIL_E_USAGE, "%s is empty", what);
	ENSURE(len <= max, VEIL_E_LIMIT, "%s is %zu bytes, over the cap of %zu", what, len, max);
	for (size_t i = 0; i < len; i++)
		ENSURE(name_char(s[i]), VEIL_E_USAGE,
		       "%s has a character other than A-Z a-z 0-9 . _ - at offset %zu", what, i);
	ENSURE(!(len == 1 && s[0] == '.'), VEIL_E_USAGE, "%s may not be \".\"", what);
	for (size_t i = 0; i + 1 < len; i++)
		ENSURE(!(s[i] == '.' && s[i + 1] == '.'), VEIL_E_USAGE, "%s may not contain \"..\"",
		       what);
	return VEIL_OK;
}

veil_err store_path_check(const char *path)
{
	const char *seg = path, *slash;
	static const char *const part[] = {"the repository of a resource path",
					   "the type of a resource path",
					   "the tag of a resource path"};
	size_t len;

	ENSURE(path != NULL, VEIL_E_USAGE, "no resource path given");
	len = strnlen(path, VEIL_STORE_PATH_MAX + 1);
	ENSURE(len <= VEIL_STORE_PATH_MAX, VEIL_E_LIMIT,
	       "a resource path is over the cap of %d bytes", VEIL_STORE_PATH_MAX);
	/* KBS protocol: resources are named <repository>/<type>/<tag>. */
	for (int i = 0; i < 3; i++) {
		slash = strchr(seg, '/');
		if (i < 2)
			ENSURE(slash != NULL, VEIL_E_USAGE,
			       "a resource path is <repository>/<type>/<tag>: %s has %d part%s",
			       path, i + 1, i == 0 ? "" : "s");
		else
			ENSURE(slash == NULL, VEIL_E_USAGE,
			       "a resource path is <repository>/<type>/<tag>: %s has more than "
			       "three parts",
			       path);
		len = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		TRY(segment_check(part[i], seg, len, VEIL_STORE_PATH_MAX));
		seg += len + 1;
	}
	return VEIL_OK;
}

veil_err store_name_check(const char *what, const char *name, size_t max)
{
	ENSURE(name != NULL, VEIL_E_USAGE, "no %s given", what);
	return segment_check(what, name, strnlen(name, max + 1), max);
}

veil_err store_kind_check(const char *kind)
{
	ENSURE(kind != NULL, VEIL_E_USAGE, "no document kind given");
	for (size_t i = 0; i < sizeof doc_kinds / sizeof doc_kinds[0]; i++)
		if (strcmp(kind, doc_kinds[i]) == 0)
			return VEIL_OK;
	return veil_fail(VEIL_E_USAGE, "unknown document kind; the kinds are resource-policy, "
				       "appraisal-policy and reference-values");
}

veil_err store_names_add(store_names *l, const char *name, size_t len)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **v = realloc(l->v, cap * sizeof *v);
		ENSURE(v != NULL, VEIL_E_NOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	copy = malloc(len + 1);
	ENSURE(copy != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(copy, name, len);
	copy[len] = 0;
	l->v[l->n++] = copy;
	return VEIL_OK;
}

void store_names_free(store_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

veil_err store_blob_copy(store_blob *b, const void *p, size_t len)
{
	b->p = malloc(len + 1);
	b->len = 0;
	ENSURE(b->p != NULL, VEIL_E_NOMEM, "out of memory");
	if (len > 0)
		memcpy(b->p, p, len);
	b->p[len] = 0;
	b->len = len;
	return VEIL_OK;
}

static void blob_free(store_blob *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

veil_err store_attach(const store_ops *ops, void *be,
		      const uint8_t master[VEIL_STORE_MASTER_KEY_LEN], veil_store **out)
{
	veil_store *s = calloc(1, sizeof *s);
	store_blob id = {0}, check = {0}, id_got = {0}, check_got = {0};
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	veil_err err = VEIL_OK;

	*out = NULL;
	if (s == NULL) {
		ops->close(be);
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	s->ops = ops;
	s->be = be;
	memcpy(s->master, master, sizeof s->master);
	/* A proposal for a new database; an existing one keeps its own. */
	CHECK(store_blob_copy(&id, s->db_id, sizeof s->db_id));
	CHECK_THAT(RAND_bytes(id.p, (int)id.len) == 1, VEIL_E_CRYPTO,
		   "no random bytes for a database id");
	memcpy(s->db_id, id.p, sizeof s->db_id);
	CHECK(store_seal(s, "check", "", (const uint8_t *)check_plain, sizeof check_plain - 1,
			 &check));
	CHECK(ops->meta_init(be, &id, &check, &id_got, &check_got));
	CHECK_THAT(id_got.len == sizeof s->db_id, VEIL_E_MALFORMED,
		   "store: the database id is %zu bytes, not %zu; the database has been altered",
		   id_got.len, sizeof s->db_id);
	memcpy(s->db_id, id_got.p, sizeof s->db_id);
	err = store_unseal(s, "check", "", &check_got, &plain, &plain_len);
	if (err == VEIL_E_VERIFY ||
	    (err == VEIL_OK && (plain_len != sizeof check_plain - 1 ||
				!veil_ct_equal(plain, check_plain, plain_len)))) {
		err = veil_fail(VEIL_E_VERIFY,
				"store: the master key does not open this database: it was "
				"created under another master key (check --master-key), or its "
				"check value has been altered");
		goto out;
	}
	CHECK(err);
	*out = s;
	s = NULL;
out:
	veil_free_secret(plain, plain_len);
	blob_free(&id);
	blob_free(&check);
	blob_free(&id_got);
	blob_free(&check_got);
	if (s != NULL)
		veil_store_close(s);
	return err;
}

void veil_store_close(veil_store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->be);
	veil_wipe(s->master, sizeof s->master);
	free(s);
}

veil_err veil_store_resource_put(veil_store *s, const char *path, const uint8_t *value, size_t len)
{
	store_blob sealed = {0};
	veil_err err;

	ENSURE(s != NULL && (value != NULL || len == 0), VEIL_E_USAGE, "store: no value given");
	TRY(store_path_check(path));
	ENSURE(len <= VEIL_STORE_VALUE_MAX, VEIL_E_LIMIT,
	       "the value for %s is %zu bytes, over the cap of %d", path, len,
	       VEIL_STORE_VALUE_MAX);
	TRY(store_seal(s, "resource", path, value, len, &sealed));
	err = s->ops->resource_put(s->be, path, &sealed);
	blob_free(&sealed);
	return err;
}

veil_err veil_store_resource_get(veil_store *s, const char *path, uint8_t **value, size_t *len)
{
	store_blob sealed = {0};
	veil_err err;

	ENSURE(s != NULL && value != NULL && len != NULL, VEIL_E_USAGE, "store: no output given");
	*value = NULL;
	*len = 0;
	TRY(store_path_check(path));
	err = s->ops->resource_get(s->be, path, &sealed);
	ENSURE(err != VEIL_E_NOT_FOUND, err, "no resource at %s", path);
	TRY(err);
	err = store_unseal(s, "resource", path, &sealed, value, len);
	blob_free(&sealed);
	return err;
}

veil_err veil_store_resource_delete(veil_store *s, const char *path)
{
	veil_err err;

	ENSURE(s != NULL, VEIL_E_USAGE, "store: no store given");
	TRY(store_path_check(path));
	err = s->ops->resource_delete(s->be, path);
	ENSURE(err != VEIL_E_NOT_FOUND, err, "no resource at %s", path);
	return err;
}

/* Walks a copied list with no lock held. */
static veil_err names_walk(store_names *l, veil_err (*fn)(void *user, const char *name), void *user)
{
	veil_err err = VEIL_OK;

	for (size_t i = 0; i < l->n && err == VEIL_OK; i++)
		err = fn(user, l->v[i]);
	store_names_free(l);
	return err;
}

veil_err veil_store_resource_list(veil_store *s, veil_err (*fn)(void *user, const char *path),
				  void *user)
{
	store_names l = {0};
	veil_err err;

	ENSURE(s != NULL && fn != NULL, VEIL_E_USAGE, "store: no callback given");
	err = s->ops->resource_list(s->be, &l);
	if (err != VEIL_OK) {
		store_names_free(&l);
		return err;
	}
	return names_walk(&l, fn, user);
}

veil_err veil_store_doc_put(veil_store *s, const char *kind, const char *name, const uint8_t *doc,
			    size_t len)
{
	ENSURE(s != NULL && doc != NULL, VEIL_E_USAGE, "store: no document given");
	TRY(store_kind_check(kind));
	TRY(store_name_check("a document name", name, VEIL_STORE_NAME_MAX));
	ENSURE(len <= VEIL_STORE_DOC_MAX, VEIL_E_LIMIT,
	       "the %s %s is %zu bytes, over the cap of %d", kind, name, len, VEIL_STORE_DOC_MAX);
	/* Documents come back NUL-terminated: one inside would cut them short. */
	ENSURE(memchr(doc, 0, len) == NULL, VEIL_E_MALFORMED, "the %s %s contains a NUL byte", kind,
	       name);
	return s->ops->doc_put(s->be, kind, name, doc, len);
}

veil_err veil_store_doc_get(veil_store *s, const char *kind, const char *name, uint8_t **doc,
			    size_t *len)
{
	store_blob b = {0};
	veil_err err;

	ENSURE(s != NULL && doc != NULL && len != NULL, VEIL_E_USAGE, "store: no output given");
	*doc = NULL;
	*len = 0;
	TRY(store_kind_check(kind));
	TRY(store_name_check("a document name", name, VEIL_STORE_NAME_MAX));
	err = s->ops->doc_get(s->be, kind, name, &b);
	ENSURE(err != VEIL_E_NOT_FOUND, err, "no %s named %s", kind, name);
	TRY(err);
	*doc = b.p;
	*len = b.len;
	return VEIL_OK;
}

veil_err veil_store_doc_delete(veil_store *s, const char *kind, const char *name)
{
	veil_err err;

	ENSURE(s != NULL, VEIL_E_USAGE, "store: no store given");
	TRY(store_kind_check(kind));
	TRY(store_name_check("a document name", name, VEIL_STORE_NAME_MAX));
	err = s->ops->doc_delete(s->be, kind, name);
	ENSURE(err != VEIL_E_NOT_FOUND, err, "no %s named %s", kind, name);
	return err;
}

veil_err veil_store_doc_list(veil_store *s, const char *kind,
			     veil_err (*fn)(void *user, const char *name), void *user)
{
	store_names l = {0};
	veil_err err;

	ENSURE(s != NULL && fn != NULL, VEIL_E_USAGE, "store: no callback given");
	TRY(store_kind_check(kind));
	err = s->ops->doc_list(s->be, kind, &l);
	if (err != VEIL_OK) {
		store_names_free(&l);
		return err;
	}
	return names_walk(&l, fn, user);
}

veil_err veil_store_secret_get_or_create(veil_store *s, const char *name,
					 veil_err (*make)(void *user, uint8_t **val, size_t *len),
					 void *user, uint8_t **value, size_t *len)
{
	store_blob sealed = {0}, stored = {0};
	uint8_t *made = NULL;
	size_t made_len = 0;
	veil_err err;

	ENSURE(s != NULL && make != NULL && value != NULL && len != NULL, VEIL_E_USAGE,
	       "store: secret_get_or_create needs a store, a make function and outputs");
	*value = NULL;
	*len = 0;
	TRY(store_name_check("a secret name", name, VEIL_STORE_NAME_MAX));
	err = s->ops->secret_get(s->be, name, &sealed);
	if (err == VEIL_OK) {
		err = store_unseal(s, "secret", name, &sealed, value, len);
		blob_free(&sealed);
		return err;
	}
	if (err != VEIL_E_NOT_FOUND)
		return err;
	/* Absent: make one, and store it unless another thread or replica
	 * stored one first, in which case theirs is the one returned. */
	CHECK(make(user, &made, &made_len));
	CHECK_THAT(made != NULL || made_len == 0, VEIL_E_USAGE,
		   "store: the make function for secret %s returned no value", name);
	CHECK_THAT(made_len <= VEIL_STORE_VALUE_MAX, VEIL_E_LIMIT,
		   "store: the new secret %s is %zu bytes, over the cap of %d", name, made_len,
		   VEIL_STORE_VALUE_MAX);
	CHECK(store_seal(s, "secret", name, made, made_len, &sealed));
	CHECK(s->ops->secret_insert_get(s->be, name, &sealed, &stored));
	CHECK(store_unseal(s, "secret", name, &stored, value, len));
out:
	veil_free_secret(made, made_len);
	blob_free(&sealed);
	blob_free(&stored);
	return err;
}

static bool printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == 0 || n == max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

/* An optional JSON or token string of a session: NULL, or at most
 * VEIL_STORE_DOC_MAX bytes. */
static veil_err session_text_check(const char *what, const char *text)
{
	ENSURE(text == NULL || strnlen(text, VEIL_STORE_DOC_MAX + 1) <= VEIL_STORE_DOC_MAX,
	       VEIL_E_LIMIT, "the session's %s is over the cap of %d bytes", what,
	       VEIL_STORE_DOC_MAX);
	return VEIL_OK;
}

static veil_err session_id_check(const char *id)
{
	ENSURE(id != NULL, VEIL_E_USAGE, "no session id given");
	return segment_check("a session id", id, strnlen(id, VEIL_STORE_SESSION_ID_MAX + 1),
			     VEIL_STORE_SESSION_ID_MAX);
}

veil_err veil_store_session_create(veil_store *s, const veil_store_session *sess)
{
	ENSURE(s != NULL && sess != NULL, VEIL_E_USAGE, "store: no session given");
	TRY(session_id_check(sess->id));
	ENSURE(printable(sess->tee, sizeof sess->tee), VEIL_E_USAGE,
	       "a session's TEE type is 1 to %zu characters of A-Z a-z 0-9 . _ -",
	       sizeof sess->tee - 1);
	/* A session is born unattested: attestation goes through
	 * session_attest, which admits one per nonce. */
	ENSURE(!sess->attested && sess->token == NULL, VEIL_E_USAGE,
	       "a new session cannot be attested already");
	TRY(session_text_check("public key", sess->tee_pubkey));
	TRY(session_text_check("appraisal result", sess->ear));
	return s->ops->session_create(s->be, sess);
}

veil_err veil_store_session_get(veil_store *s, const char *id, int64_t now, veil_store_session *out)
{
	veil_err err;

	ENSURE(s != NULL && out != NULL, VEIL_E_USAGE, "store: no output given");
	memset(out, 0, sizeof *out);
	TRY(session_id_check(id));
	err = s->ops->session_get(s->be, id, now, out);
	if (err != VEIL_OK)
		veil_store_session_clear(out);
	return err;
}

veil_err veil_store_session_attest(veil_store *s, const char *id, const uint8_t nonce[32],
				   const char *token, const char *tee_pubkey, const char *ear,
				   int64_t expires)
{
	ENSURE(s != NULL && nonce != NULL && token != NULL && *token != 0, VEIL_E_USAGE,
	       "store: attesting a session needs its nonce and a token");
	TRY(session_id_check(id));
	TRY(session_text_check("token", token));
	TRY(session_text_check("public key", tee_pubkey));
	TRY(session_text_check("appraisal result", ear));
	return s->ops->session_attest(s->be, id, nonce, token, tee_pubkey, ear, expires);
}

veil_err veil_store_session_delete(veil_store *s, const char *id)
{
	ENSURE(s != NULL, VEIL_E_USAGE, "store: no store given");
	TRY(session_id_check(id));
	return s->ops->session_delete(s->be, id);
}

veil_err veil_store_session_collect(veil_store *s, int64_t now, size_t *removed)
{
	ENSURE(s != NULL && removed != NULL, VEIL_E_USAGE, "store: no output given");
	*removed = 0;
	return s->ops->session_collect(s->be, now, removed);
}

void veil_store_session_clear(veil_store_session *sess)
{
	if (sess == NULL)
		return;
	/* The token is a bearer credential for its lifetime: wiped. */
	if (sess->token != NULL)
		veil_free_secret(sess->token, strlen(sess->token));
	free(sess->tee_pubkey);
	free(sess->ear);
	memset(sess, 0, sizeof *sess);
}

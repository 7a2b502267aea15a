/*
 * bhttp.c - Binary HTTP (RFC 9292): the validity rules both directions share,
 * building a message to encode, finding a field, and wiping a message.
 *
 * Decoding is in bhttp_decode.c, encoding in bhttp_encode.c, the QUIC
 * variable-length integers in varint.c. The rules live here so that the
 * decoder and the encoder cannot drift apart: whatever decodes re-encodes,
 * and whatever encodes decodes (the fuzz target checks both).
 *
 * What RFC 9292 makes a message invalid for, and what this file checks:
 *
 *  - Field names (section 3.6): "byte values that are not permitted in an
 *    HTTP field name cause the message to be invalid" - a name is a token
 *    (RFC 9110 section 5.1 and 5.6.2). RFC 9292 does not require lowercase
 *    names: its MUST about RFC 9113 section 8.2.1 is worded for field
 *    values, and RFC 9110 names are case-insensitive. So uppercase letters
 *    are accepted and kept as sent; lookups (veil_bhttp_fields_find) ignore
 *    case. Pseudo-fields (a ':' and a token) are allowed except the five the
 *    control data replaces, never in trailers, and only before every regular
 *    field.
 *  - Field values (section 3.6, "MUST treat ... as invalid", RFC 9113
 *    section 8.2.1): no NUL, CR or LF anywhere, no SP or HTAB at either end.
 *  - Request control data (section 3.4, RFC 9113 section 8.3.1): the method
 *    is a non-empty token, the scheme empty or an RFC 3986 scheme, authority
 *    and path free of controls and spaces (they end up in a request line),
 *    and the path not empty for http and https.
 *
 * Everything a message holds may be a user's prompt or a model's answer, so
 * every string, name, value and content byte is wiped before it is freed.
 */
#include <stdlib.h>
#include <string.h>

#include "ohttp/bhttp_internal.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* RFC 9110 section 5.6.2: tchar. */
static bool is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static bool equal_nocase(const uint8_t *a, size_t an, const char *b)
{
	size_t bn = strlen(b);

	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (ascii_lower(a[i]) != ascii_lower((uint8_t)b[i]))
			return false;
	return true;
}

/* Offset of the first byte of p that is not a tchar, or n if all are. */
static size_t first_non_token(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar(p[i]))
		i++;
	return i;
}

bool bhttp_status_informational(uint64_t status)
{
	return status >= 100 && status <= 199;
}

bool bhttp_status_final(uint64_t status)
{
	return status >= 200 && status <= 599;
}

uint8_t *bhttp_dup(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n + 1);

	if (q == NULL)
		return NULL;
	if (n > 0)
		memcpy(q, p, n);
	q[n] = 0;
	return q;
}

veil_err bhttp_check_control(const bhttp_control *c, veil_err bad)
{
	static const char *const names[4] = {"method", "scheme", "authority", "path"};
	const uint8_t *scheme = c->p[BHTTP_SCHEME];
	size_t scheme_len = c->n[BHTTP_SCHEME];
	size_t i;

	for (int k = 0; k < 4; k++)
		ENSURE(c->n[k] <= VEIL_BHTTP_CONTROL_MAX, VEIL_E_LIMIT,
		       "BHTTP request %s is %zu bytes, more than VEIL_BHTTP_CONTROL_MAX (%d)",
		       names[k], c->n[k], VEIL_BHTTP_CONTROL_MAX);
	/* RFC 9110 section 9.1: method = token. */
	ENSURE(c->n[BHTTP_METHOD] > 0, bad, "BHTTP request method is empty");
	i = first_non_token(c->p[BHTTP_METHOD], c->n[BHTTP_METHOD]);
	ENSURE(i == c->n[BHTTP_METHOD], bad,
	       "BHTTP request method has byte 0x%02x at %zu; a method is a token "
	       "(RFC 9110 section 9.1)",
	       c->p[BHTTP_METHOD][i], i);
	/* RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" /
	 * "." ). Empty is how CONNECT omits it (RFC 9113 section 8.5). */
	for (i = 0; i < scheme_len; i++) {
		uint8_t ch = scheme[i];
		bool ok =
		    is_alpha(ch) ||
		    (i > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'));
		ENSURE(ok, bad,
		       "BHTTP request scheme has byte 0x%02x at %zu, not allowed in a URI scheme "
		       "(RFC 3986 section 3.1)",
		       ch, i);
	}
	/* Authority and path become part of a request line or a :path; a
	 * control character or a space there would let a peer smuggle a second
	 * request line or header into a translation to HTTP/1.1. No URI holds
	 * them (RFC 3986 section 2). */
	for (int k = BHTTP_AUTHORITY; k <= BHTTP_PATH; k++)
		for (i = 0; i < c->n[k]; i++)
			ENSURE(c->p[k][i] > 0x20 && c->p[k][i] != 0x7f, bad,
			       "BHTTP request %s has byte 0x%02x at %zu; control characters and "
			       "spaces are not allowed in a request target",
			       names[k], c->p[k][i], i);
	/* RFC 9113 section 8.3.1: ":path ... MUST NOT be empty for http or
	 * https URIs". */
	if (equal_nocase(scheme, scheme_len, "http") || equal_nocase(scheme, scheme_len, "https"))
		ENSURE(c->n[BHTTP_PATH] > 0, bad,
		       "BHTTP request path is empty; an http or https request needs at least \"/\" "
		       "(RFC 9113 section 8.3.1)");
	return VEIL_OK;
}

/* RFC 9292 section 3.6: the five pseudo-fields that control data carries. */
static bool pseudo_forbidden(const uint8_t *name, size_t n)
{
	static const char *const forbidden[] = {":method", ":scheme", ":authority", ":path",
						":status"};

	for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
		if (n == strlen(forbidden[i]) && memcmp(name, forbidden[i], n) == 0)
			return true;
	return false;
}

static veil_err check_name(bhttp_section_state *st, const uint8_t *name, size_t n, veil_err bad)
{
	size_t field = st->index;
	size_t i;

	/* Section 3.6: "Name Length (i) = 1..". */
	ENSURE(n > 0, bad, "BHTTP %s: field %zu has an empty name", st->what, field);
	if (name[0] != ':') {
		i = first_non_token(name, n);
		ENSURE(i == n, bad,
		       "BHTTP %s: field %zu name has byte 0x%02x at %zu, not allowed in a field "
		       "name (RFC 9292 section 3.6, RFC 9110 section 5.1)",
		       st->what, field, name[i], i);
		st->seen_regular = true;
		return VEIL_OK;
	}
	/* Section 3.6: pseudo-fields. The name after the colon is still a
	 * token, so nothing but a pseudo-field may start with ':'. */
	i = first_non_token(name + 1, n - 1);
	ENSURE(n > 1 && i == n - 1, bad,
	       "BHTTP %s: field %zu is a pseudo-field whose name is not ':' and a token", st->what,
	       field);
	ENSURE(!pseudo_forbidden(name, n), bad,
	       "BHTTP %s: field %zu is the pseudo-field %.*s, which RFC 9292 section 3.6 "
	       "forbids (control data carries it)",
	       st->what, field, (int)n, (const char *)name);
	ENSURE(!st->trailer, bad,
	       "BHTTP %s: field %zu is a pseudo-field; pseudo-fields cannot be in trailers "
	       "(RFC 9292 section 3.6)",
	       st->what, field);
	ENSURE(!st->seen_regular, bad,
	       "BHTTP %s: field %zu is a pseudo-field after a regular field; pseudo-fields "
	       "must come first (RFC 9292 section 3.6)",
	       st->what, field);
	return VEIL_OK;
}

veil_err bhttp_check_field(bhttp_section_state *st, const uint8_t *name, size_t name_len,
			   const uint8_t *value, size_t value_len, veil_err bad)
{
	size_t field = st->index;

	ENSURE(name_len <= VEIL_BHTTP_FIELD_MAX, VEIL_E_LIMIT,
	       "BHTTP %s: field %zu name is %zu bytes, more than VEIL_BHTTP_FIELD_MAX (%d)",
	       st->what, field, name_len, VEIL_BHTTP_FIELD_MAX);
	ENSURE(value_len <= VEIL_BHTTP_FIELD_MAX, VEIL_E_LIMIT,
	       "BHTTP %s: field %zu value is %zu bytes, more than VEIL_BHTTP_FIELD_MAX (%d)",
	       st->what, field, value_len, VEIL_BHTTP_FIELD_MAX);
	TRY(check_name(st, name, name_len, bad));
	/* RFC 9113 section 8.2.1, which RFC 9292 section 3.6 makes a MUST. */
	for (size_t i = 0; i < value_len; i++)
		ENSURE(value[i] != 0 && value[i] != '\r' && value[i] != '\n', bad,
		       "BHTTP %s: field %zu value has byte 0x%02x at %zu; NUL, CR and LF are "
		       "not allowed in a field value (RFC 9113 section 8.2.1)",
		       st->what, field, value[i], i);
	if (value_len > 0) {
		uint8_t a = value[0], z = value[value_len - 1];
		ENSURE(a != ' ' && a != '\t' && z != ' ' && z != '\t', bad,
		       "BHTTP %s: field %zu value starts or ends with a space or tab "
		       "(RFC 9113 section 8.2.1)",
		       st->what, field);
	}
	st->index++;
	return VEIL_OK;
}

veil_err bhttp_fields_push(veil_bhttp_fields *f, const uint8_t *name, size_t name_len,
			   const uint8_t *value, size_t value_len)
{
	veil_bhttp_field *items;
	uint8_t *n, *v;

	ENSURE(f->count < VEIL_BHTTP_FIELDS_MAX, VEIL_E_LIMIT,
	       "BHTTP field section has more than VEIL_BHTTP_FIELDS_MAX (%d) fields",
	       VEIL_BHTTP_FIELDS_MAX);
	/* The array holds only pointers and lengths, so plain realloc is fine;
	 * one element at a time keeps it valid for callers who built it by
	 * hand with malloc. */
	items = realloc(f->items, (f->count + 1) * sizeof *items);
	ENSURE(items != NULL, VEIL_E_NOMEM, "out of memory adding a BHTTP field");
	f->items = items;
	n = bhttp_dup(name, name_len);
	v = bhttp_dup(value, value_len);
	if (n == NULL || v == NULL) {
		veil_free_secret(n, name_len);
		veil_free_secret(v, value_len);
		return veil_fail(VEIL_E_NOMEM, "out of memory copying a BHTTP field");
	}
	items[f->count].name = (char *)n;
	items[f->count].name_len = name_len;
	items[f->count].value = v;
	items[f->count].value_len = value_len;
	f->count++;
	return VEIL_OK;
}

void bhttp_fields_clear(veil_bhttp_fields *f)
{
	for (size_t i = 0; f->items != NULL && i < f->count; i++) {
		veil_free_secret(f->items[i].name, f->items[i].name_len);
		veil_free_secret(f->items[i].value, f->items[i].value_len);
	}
	free(f->items);
	f->items = NULL;
	f->count = 0;
}

static void free_string(char **s)
{
	if (*s != NULL)
		veil_free_secret(*s, strlen(*s));
	*s = NULL;
}

void veil_bhttp_msg_clear(veil_bhttp_msg *m)
{
	if (m == NULL)
		return;
	free_string(&m->method);
	free_string(&m->scheme);
	free_string(&m->authority);
	free_string(&m->path);
	for (size_t i = 0; m->informational != NULL && i < m->informational_count; i++)
		bhttp_fields_clear(&m->informational[i].fields);
	free(m->informational);
	bhttp_fields_clear(&m->header);
	veil_free_secret(m->content, m->content_len);
	bhttp_fields_clear(&m->trailer);
	memset(m, 0, sizeof *m);
}

veil_err veil_bhttp_request_init(veil_bhttp_msg *m, const char *method, const char *scheme,
				 const char *authority, const char *path)
{
	const char *s[4] = {method, scheme, authority, path};
	char **dst[4];
	bhttp_control c;
	veil_err err = VEIL_OK;

	memset(m, 0, sizeof *m);
	ENSURE(method != NULL, VEIL_E_USAGE, "a BHTTP request needs a method");
	for (int k = 0; k < 4; k++) {
		/* An absent scheme, authority or path is sent as zero length
		 * (RFC 9292 section 3.4). */
		if (s[k] == NULL)
			s[k] = "";
		c.p[k] = (const uint8_t *)s[k];
		c.n[k] = strlen(s[k]);
	}
	TRY(bhttp_check_control(&c, VEIL_E_USAGE));
	m->request = true;
	dst[BHTTP_METHOD] = &m->method;
	dst[BHTTP_SCHEME] = &m->scheme;
	dst[BHTTP_AUTHORITY] = &m->authority;
	dst[BHTTP_PATH] = &m->path;
	for (int k = 0; k < 4; k++) {
		*dst[k] = (char *)bhttp_dup(c.p[k], c.n[k]);
		CHECK_THAT(*dst[k] != NULL, VEIL_E_NOMEM, "out of memory building a BHTTP request");
	}
out:
	if (err != VEIL_OK)
		veil_bhttp_msg_clear(m);
	return err;
}

veil_err veil_bhttp_response_init(veil_bhttp_msg *m, uint16_t status)
{
	memset(m, 0, sizeof *m);
	ENSURE(bhttp_status_final(status), VEIL_E_USAGE,
	       "BHTTP final status %u is outside 200..599 (RFC 9292 section 3.5)", status);
	m->status = status;
	return VEIL_OK;
}

veil_err bhttp_informational_push(veil_bhttp_msg *m, uint16_t status, veil_bhttp_fields **fields)
{
	veil_bhttp_informational *info;

	ENSURE(m->informational_count < VEIL_BHTTP_INFORMATIONAL_MAX, VEIL_E_LIMIT,
	       "BHTTP response has more than VEIL_BHTTP_INFORMATIONAL_MAX (%d) "
	       "informational responses",
	       VEIL_BHTTP_INFORMATIONAL_MAX);
	info = realloc(m->informational, (m->informational_count + 1) * sizeof *info);
	ENSURE(info != NULL, VEIL_E_NOMEM, "out of memory for an informational response");
	m->informational = info;
	info = &m->informational[m->informational_count++];
	memset(info, 0, sizeof *info);
	info->status = status;
	*fields = &info->fields;
	return VEIL_OK;
}

veil_err veil_bhttp_informational_add(veil_bhttp_msg *m, uint16_t status,
				      veil_bhttp_fields **fields)
{
	*fields = NULL;
	ENSURE(!m->request, VEIL_E_USAGE, "a BHTTP request has no informational responses");
	ENSURE(bhttp_status_informational(status), VEIL_E_USAGE,
	       "BHTTP informational status %u is outside 100..199 (RFC 9292 section 3.5)", status);
	return bhttp_informational_push(m, status, fields);
}

veil_err veil_bhttp_fields_add(veil_bhttp_fields *f, const char *name, const uint8_t *value,
			       size_t value_len)
{
	/* Placement (pseudo-fields first, none in trailers) is checked when
	 * the message is encoded, where the section is known. */
	bhttp_section_state st = {.what = "field being added", .index = f->count};

	ENSURE(name != NULL, VEIL_E_USAGE, "a BHTTP field needs a name");
	ENSURE(value != NULL || value_len == 0, VEIL_E_USAGE,
	       "a BHTTP field value of %zu bytes has no data", value_len);
	TRY(bhttp_check_field(&st, (const uint8_t *)name, strlen(name), value, value_len,
			      VEIL_E_USAGE));
	return bhttp_fields_push(f, (const uint8_t *)name, strlen(name), value, value_len);
}

veil_err veil_bhttp_set_content(veil_bhttp_msg *m, const uint8_t *p, size_t n)
{
	uint8_t *copy = NULL;

	ENSURE(n <= VEIL_BHTTP_CONTENT_MAX, VEIL_E_LIMIT,
	       "BHTTP content of %zu bytes is more than VEIL_BHTTP_CONTENT_MAX (%d)", n,
	       VEIL_BHTTP_CONTENT_MAX);
	ENSURE(p != NULL || n == 0, VEIL_E_USAGE, "BHTTP content of %zu bytes has no data", n);
	if (n > 0) {
		copy = malloc(n);
		ENSURE(copy != NULL, VEIL_E_NOMEM, "out of memory copying %zu bytes of content", n);
		memcpy(copy, p, n);
	}
	veil_free_secret(m->content, m->content_len);
	m->content = copy;
	m->content_len = n;
	return VEIL_OK;
}

const veil_bhttp_field *veil_bhttp_fields_find(const veil_bhttp_fields *f, const char *name)
{
	if (f == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; f->items != NULL && i < f->count; i++)
		/* RFC 9110 section 5.1: field names are case-insensitive. */
		if (equal_nocase((const uint8_t *)f->items[i].name, f->items[i].name_len, name))
			return &f->items[i];
	return NULL;
}

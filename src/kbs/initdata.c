/*
 * initdata.c - CoCo init-data at POST /kbs/v0/attest (docs/kbs.md
 * "Init-data", docs/kbs-protocol.md section 2).
 *
 * Init-data is configuration the host hands a guest at launch (the guest
 * components' settings, the agent policy) as an initdata TOML document:
 *
 *   version = "0.1.0"
 *   algorithm = "sha384"
 *   [data]
 *   "aa.toml" = '''...'''
 *
 * The host launches the TEE with the digest of the document's bytes, by its
 * own `algorithm`, in the TEE's init-data register (SNP HOST_DATA, 32 bytes;
 * TDX MRCONFIGID, 48 bytes), so the signed report vouches for it. The guest
 * sends the document as {"format": "toml", "body": "<TOML text>"}; the
 * broker hashes the body, fits the digest to the register (zero-padded when
 * shorter, truncated when longer, as Trustee's verifier does) and compares.
 *
 * No TOML library for C is packaged in Debian 12, and only two top-level
 * keys matter, so this file reads the part of the document before its first
 * table header with a small strict scanner: basic and literal strings,
 * comments, blank lines, and the keys version and algorithm, once each.
 * Anything else there is refused with the line it is on, so a document
 * Veil cannot read fully is never bound. The [data] table is not
 * interpreted: Trustee turns it into init_data_claims; Veil records only
 * the digest in the token.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* The only initdata version there is (Trustee kbs/docs/initdata.md). */
#define INITDATA_VERSION "0.1.0"
/* Room for the longest key or value worth reading ("algorithm", "sha512");
 * anything longer is refused as unknown. */
#define TOML_TOKEN_MAX 32

/* The algorithms an initdata document may name, by its own spelling. */
static const struct initdata_alg {
	const char *name;
	size_t len;
	veil_err (*digest)(const void *p, size_t n, uint8_t *out);
} initdata_algs[] = {
    {"sha256", 32, veil_sha256},
    {"sha384", 48, veil_sha384},
    {"sha512", 64, veil_sha512},
};

/* Where each TEE keeps the init-data digest, and the claim that reports it
 * (src/evidence/{snp,tdx,sim}: claims "host_data", "mr_config_id"). */
static const struct initdata_register {
	const char *tee, *claim, *name;
	size_t size;
} initdata_registers[] = {
    {"snp", "host_data", "HOST_DATA", 32},
    {"tdx", "mr_config_id", "MRCONFIGID", 48},
    {"sim", "host_data", "HOST_DATA", 32},
};

/* A cursor over the TOML text; every access checks pos against len. */
typedef struct toml_scan {
	const uint8_t *p;
	size_t len, pos;
	unsigned line;
} toml_scan;

static int peek_at(const toml_scan *s, size_t k)
{
	return s->len - s->pos > k ? s->p[s->pos + k] : -1;
}

static int peek(const toml_scan *s)
{
	return peek_at(s, 0);
}

static VEIL_PRINTF(2, 3) veil_err toml_fail(const toml_scan *s, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return veil_fail(VEIL_E_MALFORMED, "init-data TOML line %u: %s", s->line, what);
}

/* TOML 1.0.0: control characters other than tab are not allowed in
 * strings or comments. */
static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static void skip_ws(toml_scan *s)
{
	while (peek(s) == ' ' || peek(s) == '\t')
		s->pos++;
}

/* After a key/value pair, a header or nothing: spaces, an optional
 * comment, then a newline (LF or CRLF) or the end of the text. */
static veil_err end_of_line(toml_scan *s)
{
	int c;

	skip_ws(s);
	if (peek(s) == '#') {
		while ((c = peek(s)) != -1 && c != '\n' && c != '\r') {
			if (is_control(c))
				return toml_fail(s, "a control character (0x%02x) in a comment", c);
			s->pos++;
		}
	}
	c = peek(s);
	if (c == -1)
		return VEIL_OK;
	if (c == '\r' && peek_at(s, 1) == '\n')
		s->pos++;
	else if (c == '\r')
		return toml_fail(s, "a carriage return not followed by a line feed");
	else if (c != '\n')
		return c > 0x20 && c < 0x7f
			   ? toml_fail(s, "unexpected '%c' after the value", c)
			   : toml_fail(s, "unexpected byte 0x%02x after the value", c);
	s->pos++;
	s->line++;
	return VEIL_OK;
}

/* A token being read: bytes kept up to the cap, the rest only counted. */
typedef struct toml_token {
	char text[TOML_TOKEN_MAX + 1];
	size_t len;
	bool seen;     /* for values: the key was given (perhaps as "") */
	unsigned line; /* for values: where */
} toml_token;

static void token_put(toml_token *t, uint8_t b)
{
	if (t->len < TOML_TOKEN_MAX)
		t->text[t->len] = (char)b;
	t->len++;
	t->text[t->len < TOML_TOKEN_MAX ? t->len : TOML_TOKEN_MAX] = '\0';
}

/* TOML 1.0.0 \uXXXX and \UXXXXXXXX: a Unicode scalar value, as UTF-8. */
static veil_err unicode_escape(toml_scan *s, size_t digits, toml_token *t)
{
	uint32_t cp = 0;

	for (size_t i = 0; i < digits; i++) {
		int d = veil_hex_digit(peek(s));
		if (d < 0)
			return toml_fail(s, "\\%c needs %zu hex digits", digits == 4 ? 'u' : 'U',
					 digits);
		cp = cp << 4 | (uint32_t)d;
		s->pos++;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return toml_fail(s, "\\u escape of U+%X, which is not a Unicode scalar value", cp);
	if (cp < 0x80) {
		token_put(t, (uint8_t)cp);
	} else if (cp < 0x800) {
		token_put(t, (uint8_t)(0xc0 | cp >> 6));
		token_put(t, (uint8_t)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		token_put(t, (uint8_t)(0xe0 | cp >> 12));
		token_put(t, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
		token_put(t, (uint8_t)(0x80 | (cp & 0x3f)));
	} else {
		token_put(t, (uint8_t)(0xf0 | cp >> 18));
		token_put(t, (uint8_t)(0x80 | (cp >> 12 & 0x3f)));
		token_put(t, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
		token_put(t, (uint8_t)(0x80 | (cp & 0x3f)));
	}
	return VEIL_OK;
}

/* A single-line string at the cursor: basic ("...", with TOML 1.0.0
 * escapes) or literal ('...', no escapes). Multi-line strings are not
 * needed before [data] and are refused. */
static veil_err read_string(toml_scan *s, toml_token *t)
{
	const int quote = peek(s);
	static const char escapes[] = "b\bt\tn\nf\fr\r\"\"\\\\";

	if (peek_at(s, 1) == quote && peek_at(s, 2) == quote)
		return toml_fail(s, "a multi-line string; only single-line strings are read "
				    "before [data]");
	s->pos++;
	for (;;) {
		int c = peek(s);
		if (c == -1 || c == '\n' || c == '\r')
			return toml_fail(s, "unterminated string");
		s->pos++;
		if (c == quote)
			return VEIL_OK;
		if (is_control(c))
			return toml_fail(s, "a control character (0x%02x) in a string", c);
		if (c != '\\' || quote == '\'') {
			token_put(t, (uint8_t)c);
			continue;
		}
		c = peek(s);
		if (c == -1)
			return toml_fail(s, "unterminated string");
		s->pos++;
		if (c == 'u' || c == 'U') {
			TRY(unicode_escape(s, c == 'u' ? 4 : 8, t));
			continue;
		}
		for (size_t i = 0;; i += 2) {
			if (escapes[i] == '\0')
				return toml_fail(s, "unknown escape \\%c in a basic string",
						 c > 0x20 && c < 0x7f ? c : '?');
			if (escapes[i] == c) {
				token_put(t, (uint8_t)escapes[i + 1]);
				break;
			}
		}
	}
}

/* TOML 1.0.0 unquoted-key: ALPHA / DIGIT / "-" / "_". */
static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* A simple key, bare or quoted, and the spaces after it. The callers
 * refuse dotted keys: neither key Veil reads is dotted, and a dotted one
 * would define a table. */
static veil_err read_key(toml_scan *s, toml_token *t)
{
	memset(t, 0, sizeof *t);
	if (peek(s) == '"' || peek(s) == '\'') {
		TRY(read_string(s, t));
	} else {
		while (is_bare(peek(s)))
			token_put(t, (uint8_t)s->p[s->pos++]);
		if (t->len == 0)
			return toml_fail(s, "expected a key, a table header or a comment");
	}
	skip_ws(s);
	return VEIL_OK;
}

/* The first table header ends the part Veil reads; it must be [data],
 * the table every initdata document has (Trustee refuses one without). */
static veil_err read_header(toml_scan *s)
{
	toml_token t;

	if (peek_at(s, 1) == '[')
		return toml_fail(s, "expected [data], found an array of tables");
	s->pos++;
	skip_ws(s);
	if (peek(s) == ']')
		return toml_fail(s, "an empty table header; expected [data]");
	TRY(read_key(s, &t));
	if (peek(s) == '.')
		return toml_fail(s, "expected [data], found a dotted table header");
	if (peek(s) != ']')
		return toml_fail(s, "expected ] to close the table header");
	s->pos++;
	if (t.len != 4 || strcmp(t.text, "data") != 0)
		return toml_fail(s, "the first table must be [data], not [%s%s]", t.text,
				 t.len > TOML_TOKEN_MAX ? "..." : "");
	return end_of_line(s);
}

/* One `key = "value"` line: version or algorithm, each at most once. */
static veil_err read_pair(toml_scan *s, toml_token *version, toml_token *algorithm)
{
	toml_token key, *value;

	TRY(read_key(s, &key));
	if (peek(s) == '.')
		return toml_fail(s,
				 "a dotted key; only version and algorithm belong before [data]");
	if (key.len == 7 && strcmp(key.text, "version") == 0)
		value = version;
	else if (key.len == 9 && strcmp(key.text, "algorithm") == 0)
		value = algorithm;
	else
		return toml_fail(s,
				 "unknown key \"%s%s\" (before [data] an initdata document has "
				 "only version and algorithm)",
				 key.text, key.len > TOML_TOKEN_MAX ? "..." : "");
	if (value->seen)
		return toml_fail(s, "\"%s\" is given twice", key.text);
	if (peek(s) != '=')
		return toml_fail(s, "expected = after \"%s\"", key.text);
	s->pos++;
	skip_ws(s);
	if (peek(s) != '"' && peek(s) != '\'')
		return toml_fail(s, "the value of \"%s\" must be a string", key.text);
	TRY(read_string(s, value));
	value->seen = true;
	value->line = s->line;
	return end_of_line(s);
}

static const struct initdata_alg *alg_named(const toml_token *t)
{
	for (size_t i = 0; i < sizeof initdata_algs / sizeof initdata_algs[0]; i++)
		if (t->len == strlen(initdata_algs[i].name) &&
		    strcmp(t->text, initdata_algs[i].name) == 0)
			return &initdata_algs[i];
	return NULL;
}

static veil_err toml_read(const char *toml, size_t len, const struct initdata_alg **alg)
{
	toml_scan s = {.p = (const uint8_t *)toml, .len = len, .pos = 0, .line = 1};
	toml_token version = {0}, algorithm = {0};
	bool data = false;

	while (!data && peek(&s) != -1) {
		skip_ws(&s);
		switch (peek(&s)) {
		case -1:
		case '#':
		case '\n':
		case '\r':
			TRY(end_of_line(&s));
			break;
		case '[':
			TRY(read_header(&s));
			data = true;
			break;
		default:
			TRY(read_pair(&s, &version, &algorithm));
		}
	}
	ENSURE(version.seen, VEIL_E_MALFORMED,
	       "init-data TOML: no version (initdata documents start with version = "
	       "\"" INITDATA_VERSION "\")");
	ENSURE(version.len == strlen(INITDATA_VERSION) &&
		   strcmp(version.text, INITDATA_VERSION) == 0,
	       VEIL_E_UNSUPPORTED,
	       "init-data TOML line %u: version \"%s%s\" is not " INITDATA_VERSION
	       ", the only initdata version",
	       version.line, version.text, version.len > TOML_TOKEN_MAX ? "..." : "");
	ENSURE(algorithm.seen, VEIL_E_MALFORMED,
	       "init-data TOML: no algorithm (sha256, sha384 or sha512)");
	*alg = alg_named(&algorithm);
	ENSURE(*alg != NULL, VEIL_E_UNSUPPORTED,
	       "init-data TOML line %u: unknown algorithm \"%s%s\" (sha256, sha384 or sha512)",
	       algorithm.line, algorithm.text, algorithm.len > TOML_TOKEN_MAX ? "..." : "");
	ENSURE(data, VEIL_E_MALFORMED, "init-data TOML: no [data] table");
	return VEIL_OK;
}

veil_err kbs_initdata_toml_read(const char *toml, size_t len, const char **algorithm)
{
	const struct initdata_alg *alg;

	TRY(toml_read(toml, len, &alg));
	*algorithm = alg->name;
	return VEIL_OK;
}

static veil_err initdata_digest(const char *toml, size_t len, kbs_initdata *out)
{
	const struct initdata_alg *alg;

	ENSURE(len <= VEIL_KBS_INITDATA_MAX_BYTES, VEIL_E_LIMIT,
	       "init-data is %zu bytes, over the %d-byte limit", len, VEIL_KBS_INITDATA_MAX_BYTES);
	/* JSON strings reach here without NUL (veil_json_parse); a file from
	 * the command line might hold one, which no TOML document may. */
	ENSURE(memchr(toml, '\0', len) == NULL, VEIL_E_MALFORMED,
	       "init-data TOML holds a NUL byte");
	TRY(toml_read(toml, len, &alg));
	/* Trustee hashes the body's bytes as sent, not a canonical form. */
	TRY(alg->digest(toml, len, out->digest));
	out->algorithm = alg->name;
	out->digest_len = alg->len;
	out->present = true;
	return VEIL_OK;
}

veil_err veil_kbs_initdata_digest(const char *toml, size_t len, uint8_t digest[64],
				  size_t *digest_len)
{
	kbs_initdata d = {0};

	TRY(initdata_digest(toml, len, &d));
	memcpy(digest, d.digest, d.digest_len);
	*digest_len = d.digest_len;
	return VEIL_OK;
}

veil_err kbs_initdata_parse(const json_t *init, kbs_initdata *out)
{
	static const char *const members[] = {"format", "body", NULL};
	const char *format;
	json_t *body;

	memset(out, 0, sizeof *out);
	if (init == NULL || json_is_null(init))
		return VEIL_OK;
	ENSURE(json_is_object(init), VEIL_E_MALFORMED,
	       "\"init-data\" must be null or {\"format\": \"toml\", \"body\": <the TOML>}");
	TRY(veil_json_only_members(init, "\"init-data\"", members));
	TRY(veil_json_get_string(init, "format", &format));
	ENSURE(strcmp(format, "toml") == 0, VEIL_E_UNSUPPORTED,
	       "init-data format \"%.32s\" is not supported (\"toml\" is, as in Trustee)", format);
	body = json_object_get(init, "body");
	ENSURE(json_is_string(body), VEIL_E_MALFORMED,
	       "\"init-data\".body must be a string: the initdata TOML");
	return initdata_digest(json_string_value(body), json_string_length(body), out);
}

void kbs_initdata_regularize(const uint8_t *digest, size_t len, uint8_t *out, size_t size)
{
	/* Trustee deps/verifier/src/lib.rs regularize_data: zero-pad a shorter
	 * value, truncate a longer one, to the register's size. */
	memset(out, 0, size);
	memcpy(out, digest, len < size ? len : size);
}

static const struct initdata_register *register_of(const char *tee)
{
	for (size_t i = 0; i < sizeof initdata_registers / sizeof initdata_registers[0]; i++)
		if (strcmp(initdata_registers[i].tee, tee) == 0)
			return &initdata_registers[i];
	return NULL;
}

veil_err kbs_initdata_tee_ok(const char *tee)
{
	/* Trustee's sample verifier skips init-data with a warning; Veil
	 * refuses what it cannot bind rather than let it pass unchecked. */
	ENSURE(register_of(tee) != NULL, VEIL_E_UNSUPPORTED,
	       "init-data cannot be bound to TEE \"%s\", which has no init-data register "
	       "(Veil binds it to SNP HOST_DATA, TDX MRCONFIGID and the sim's HOST_DATA); send "
	       "\"init-data\": null",
	       tee);
	return VEIL_OK;
}

veil_err kbs_initdata_bind(const kbs_initdata *d, const char *tee, const json_t *result)
{
	const struct initdata_register *reg = register_of(tee);
	const json_t *claims;
	const char *hex;
	uint8_t want[64], got[64];
	char want_hex[129], got_hex[129];
	size_t n = 0;

	TRY(kbs_initdata_tee_ok(tee));
	ENSURE(d->present && d->digest_len <= sizeof want, VEIL_E_USAGE, "no init-data to bind");
	claims =
	    json_object_get(json_object_get(json_object_get(result, "submods"), "cpu"), "claims");
	hex = json_string_value(json_object_get(claims, reg->claim));
	ENSURE(hex != NULL, VEIL_E_VERIFY,
	       "the verified %s evidence has no \"%s\" claim to bind init-data to", tee,
	       reg->claim);
	ENSURE(strlen(hex) == 2 * reg->size, VEIL_E_VERIFY,
	       "the %s claim \"%s\" is not %zu bytes of hex", tee, reg->claim, reg->size);
	TRY(veil_hex_decode(hex, strlen(hex), got, sizeof got, &n));
	ENSURE(n == reg->size, VEIL_E_VERIFY, "the %s claim \"%s\" is not %zu bytes", tee,
	       reg->claim, reg->size);
	kbs_initdata_regularize(d->digest, d->digest_len, want, reg->size);
	if (!veil_ct_equal(want, got, reg->size)) {
		veil_hex_encode(want, reg->size, want_hex);
		veil_hex_encode(got, reg->size, got_hex);
		return veil_fail(VEIL_E_MISMATCH,
				 "init-data does not match %s: the %s of its body (fitted to %zu "
				 "bytes) is %s, the report's %s is %s",
				 reg->name, d->algorithm, reg->size, want_hex, reg->name, got_hex);
	}
	return VEIL_OK;
}

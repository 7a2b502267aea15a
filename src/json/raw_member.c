/*
 * raw_member.c - the exact bytes of one top-level member of a JSON object.
 *
 * Intel PCS signs the tcbInfo / enclaveIdentity object exactly as it sends
 * it: re-serialising the parsed value would change spacing and key order and
 * break the signature. This scanner walks the RFC 8259 grammar over the
 * bounded reader, tracking nesting with a counter (no recursion), and returns
 * the span of the value of the requested key at depth 1. It only checks
 * syntax; the caller still parses the document with veil_json_parse.
 */
#include <string.h>

#include "veil/json.h"
#include "veil/limits.h"

typedef struct scanner {
	const uint8_t *p;
	size_t len;
	size_t pos;
} scanner;

static void skip_ws(scanner *s)
{
	while (s->pos < s->len) {
		uint8_t c = s->p[s->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		s->pos++;
	}
}

static veil_err scan_fail(const scanner *s, const char *what)
{
	return veil_fail(VEIL_E_MALFORMED, "JSON: %s at byte %zu", what, s->pos);
}

/* Scans a string starting at its opening quote; leaves pos after the close. */
static veil_err scan_string(scanner *s)
{
	if (s->pos >= s->len || s->p[s->pos] != '"')
		return scan_fail(s, "expected a string");
	s->pos++;
	while (s->pos < s->len) {
		uint8_t c = s->p[s->pos++];
		if (c == '"')
			return VEIL_OK;
		if (c < 0x20)
			return scan_fail(s, "control character in string");
		if (c == '\\') {
			if (s->pos >= s->len)
				break;
			s->pos++;
		}
	}
	return scan_fail(s, "unterminated string");
}

/* Scans a scalar (number, true, false, null) up to the next delimiter. */
static veil_err scan_scalar(scanner *s)
{
	size_t start = s->pos;
	while (s->pos < s->len && strchr(",:{}[]\" \t\r\n", s->p[s->pos]) == NULL)
		s->pos++;
	if (s->pos == start)
		return scan_fail(s, "expected a value");
	return VEIL_OK;
}

/*
 * Scans one value of any kind, nested values included. Nesting is tracked
 * with an explicit stack of container kinds (one bit per level, '{' = 1), so
 * hostile input cannot exhaust the C stack and "key": only appears in objects.
 */
static veil_err scan_value(scanner *s)
{
	uint64_t is_object = 0; /* bit d set: level d+1 is an object */
	int depth = 0;

	for (;;) {
		/* Expect a value. */
		skip_ws(s);
		if (s->pos >= s->len)
			return scan_fail(s, "unexpected end");
		uint8_t c = s->p[s->pos];
		if (c == '{' || c == '[') {
			if (depth >= VEIL_JSON_MAX_DEPTH)
				return veil_fail(VEIL_E_LIMIT, "JSON nested deeper than %d levels",
						 VEIL_JSON_MAX_DEPTH);
			if (c == '{')
				is_object |= (uint64_t)1 << depth;
			else
				is_object &= ~((uint64_t)1 << depth);
			depth++;
			s->pos++;
			skip_ws(s);
			if (s->pos < s->len && s->p[s->pos] == (c == '{' ? '}' : ']')) {
				s->pos++;
				depth--;
			} else {
				if (c == '{') {
					TRY(scan_string(s));
					skip_ws(s);
					if (s->pos >= s->len || s->p[s->pos] != ':')
						return scan_fail(s, "expected ':'");
					s->pos++;
				}
				continue;
			}
		} else if (c == '"') {
			TRY(scan_string(s));
		} else {
			TRY(scan_scalar(s));
		}
		/* A value is complete: close containers, or take a comma. */
		for (;;) {
			if (depth == 0)
				return VEIL_OK;
			bool in_object = is_object >> (depth - 1) & 1;
			skip_ws(s);
			if (s->pos >= s->len)
				return scan_fail(s, "unexpected end");
			c = s->p[s->pos];
			if (c == (in_object ? '}' : ']')) {
				s->pos++;
				depth--;
				continue;
			}
			if (c != ',')
				return scan_fail(s, "expected ',' or the end of a container");
			s->pos++;
			if (in_object) {
				skip_ws(s);
				TRY(scan_string(s));
				skip_ws(s);
				if (s->pos >= s->len || s->p[s->pos] != ':')
					return scan_fail(s, "expected ':'");
				s->pos++;
			}
			break;
		}
	}
}

veil_err veil_json_raw_member(const uint8_t *buf, size_t len, const char *key,
			      const uint8_t **value, size_t *value_len)
{
	scanner s = {buf, len, 0};
	size_t keylen = strlen(key);
	bool found = false;

	if (len > VEIL_JSON_MAX_BYTES)
		return veil_fail(VEIL_E_LIMIT, "JSON document over the size limit");
	skip_ws(&s);
	if (s.pos >= s.len || buf[s.pos] != '{')
		return scan_fail(&s, "expected an object");
	s.pos++;
	skip_ws(&s);
	if (s.pos < s.len && buf[s.pos] == '}') {
		s.pos++;
	} else {
		for (;;) {
			skip_ws(&s);
			size_t kstart = s.pos;
			TRY(scan_string(&s));
			/* Keys are compared as raw bytes. An escaped key ("tcb\u0049nfo")
			 * would name the same member to jansson but not to this scan, so
			 * the two readings of one document could differ: refuse it. */
			if (memchr(buf + kstart, '\\', s.pos - kstart) != NULL)
				return scan_fail(&s, "escaped characters in a top-level key");
			bool match = s.pos - kstart == keylen + 2 &&
				     memcmp(buf + kstart + 1, key, keylen) == 0;
			skip_ws(&s);
			if (s.pos >= s.len || buf[s.pos] != ':')
				return scan_fail(&s, "expected ':'");
			s.pos++;
			skip_ws(&s);
			size_t vstart = s.pos;
			TRY(scan_value(&s));
			if (match) {
				if (found)
					return veil_fail(VEIL_E_MALFORMED,
							 "JSON: member \"%s\" appears twice", key);
				found = true;
				*value = buf + vstart;
				*value_len = s.pos - vstart;
			}
			skip_ws(&s);
			if (s.pos < s.len && buf[s.pos] == ',') {
				s.pos++;
				continue;
			}
			if (s.pos < s.len && buf[s.pos] == '}') {
				s.pos++;
				break;
			}
			return scan_fail(&s, "expected ',' or '}'");
		}
	}
	skip_ws(&s);
	if (s.pos != s.len)
		return scan_fail(&s, "trailing data after the object");
	if (!found)
		return veil_fail(VEIL_E_NOT_FOUND, "JSON: no member \"%s\"", key);
	return VEIL_OK;
}

/*
 * jcs.c - JSON Canonicalization Scheme (RFC 8785).
 *
 * The key broker binds runtime data into hardware evidence as
 * SHA-384(JCS(runtime data)), so the worker, the broker, the gateway and the
 * client must all produce the same bytes for the same JSON value. Rules
 * implemented here:
 *   - RFC 8785 section 3.2.3: object members sorted by their names as arrays
 *     of UTF-16 code units;
 *   - section 3.2.2.2: strings escaped as ECMAScript JSON.stringify does
 *     (\b \t \n \f \r \" \\, other controls as \u00xx in lower case, nothing
 *     else escaped);
 *   - section 3.2.2.3: numbers in the ECMAScript Number.prototype.toString
 *     form (shortest round-trip digits; exponent form below 1e-6 and from
 *     1e21 on).
 * Integers outside +-(2^53-1) are refused: they have no exact IEEE double
 * and RFC 7493 (I-JSON) forbids relying on them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil/json.h"
#include "veil/limits.h"

#define JCS_MAX_SAFE_INT 9007199254740991LL

/* Next UTF-16 code unit of a valid UTF-8 string (jansson validated it).
 * *pending holds the low surrogate still to come for supplementary chars. */
static unsigned utf16_next(const unsigned char **p, unsigned *pending)
{
	if (*pending) {
		unsigned u = *pending;
		*pending = 0;
		return u;
	}
	const unsigned char *s = *p;
	unsigned cp;
	if (s[0] < 0x80) {
		cp = s[0];
		*p += 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		cp = (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu);
		*p += 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		cp = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
		*p += 3;
	} else {
		cp = (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 |
		     (s[3] & 0x3fu);
		*p += 4;
	}
	if (cp >= 0x10000) {
		cp -= 0x10000;
		*pending = 0xdc00 + (cp & 0x3ff);
		return 0xd800 + (cp >> 10);
	}
	return cp;
}

/* Compares two keys (with explicit byte lengths: keys may hold U+0000) as
 * UTF-16 code unit sequences. */
static int utf16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
	const unsigned char *ea = pa + alen, *eb = pb + blen;
	unsigned pend_a = 0, pend_b = 0;

	while ((pa < ea || pend_a) && (pb < eb || pend_b)) {
		unsigned ua = utf16_next(&pa, &pend_a);
		unsigned ub = utf16_next(&pb, &pend_b);
		if (ua != ub)
			return ua < ub ? -1 : 1;
	}
	bool a_done = pa >= ea && !pend_a, b_done = pb >= eb && !pend_b;
	return a_done == b_done ? 0 : a_done ? -1 : 1;
}

typedef struct jcs_member {
	const char *key;
	size_t key_len;
	const json_t *value;
} jcs_member;

static int member_cmp(const void *x, const void *y)
{
	const jcs_member *a = x, *b = y;
	return utf16_cmp(a->key, a->key_len, b->key, b->key_len);
}

static veil_err jcs_string(const char *s, size_t n, veil_writer *w)
{
	TRY(veil_writer_putc(w, '"'));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		switch (c) {
		case '\b':
			esc = "\\b";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		default:
			break;
		}
		if (esc != NULL)
			TRY(veil_writer_puts(w, esc));
		else if (c < 0x20)
			TRY(veil_writer_printf(w, "\\u%04x", c));
		else
			TRY(veil_writer_putc(w, (char)c));
	}
	return veil_writer_putc(w, '"');
}

/*
 * ECMAScript Number::toString(x) for finite x (ECMA-262 section 6.1.6.1.20):
 * find the shortest decimal digits d1..dk and exponent n with
 * x = 0.d1..dk * 10^n that round-trip, then lay them out by the value of n.
 */
static veil_err jcs_number(double x, veil_writer *w)
{
	char buf[40], digits[20];
	int k = 0, n = 0;

	if (!isfinite(x))
		return veil_fail(VEIL_E_MALFORMED, "JCS: non-finite number");
	if (x == 0)
		return veil_writer_putc(w, '0'); /* also -0, per the spec */
	if (x < 0) {
		TRY(veil_writer_putc(w, '-'));
		x = -x;
	}
	/* Shortest precision whose %e form parses back to exactly x. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	/* buf is "d.ddddde[+-]XX": collect digits and the exponent. */
	const char *p = buf;
	while (*p != 'e') {
		if (*p >= '0' && *p <= '9')
			digits[k++] = *p;
		p++;
	}
	long e10 = strtol(p + 1, NULL, 10); /* bounded: printf wrote it */
	while (k > 1 && digits[k - 1] == '0')
		k--;
	n = (int)e10 + 1;

	if (k <= n && n <= 21) {
		TRY(veil_writer_put(w, digits, (size_t)k));
		for (int i = k; i < n; i++)
			TRY(veil_writer_putc(w, '0'));
	} else if (0 < n && n <= 21) {
		TRY(veil_writer_put(w, digits, (size_t)n));
		TRY(veil_writer_putc(w, '.'));
		TRY(veil_writer_put(w, digits + n, (size_t)(k - n)));
	} else if (-6 < n && n <= 0) {
		TRY(veil_writer_puts(w, "0."));
		for (int i = 0; i < -n; i++)
			TRY(veil_writer_putc(w, '0'));
		TRY(veil_writer_put(w, digits, (size_t)k));
	} else {
		TRY(veil_writer_putc(w, digits[0]));
		if (k > 1) {
			TRY(veil_writer_putc(w, '.'));
			TRY(veil_writer_put(w, digits + 1, (size_t)(k - 1)));
		}
		TRY(veil_writer_printf(w, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1)));
	}
	return VEIL_OK;
}

static veil_err jcs_value(const json_t *v, veil_writer *w, int depth);

static veil_err jcs_object(const json_t *v, veil_writer *w, int depth)
{
	size_t n = json_object_size(v), i = 0;
	jcs_member *m = NULL;
	const char *key;
	json_t *child;
	veil_err err = VEIL_OK;

	if (n == 0)
		return veil_writer_puts(w, "{}");
	m = calloc(n, sizeof *m);
	if (m == NULL)
		return veil_fail(VEIL_E_NOMEM, "JCS: out of memory");
	json_object_foreach((json_t *)v, key, child)
	{
		m[i].key = key;
		m[i].key_len = strlen(key);
		m[i].value = child;
		i++;
	}
	qsort(m, n, sizeof *m, member_cmp);
	CHECK(veil_writer_putc(w, '{'));
	for (i = 0; i < n; i++) {
		if (i > 0)
			CHECK(veil_writer_putc(w, ','));
		CHECK(jcs_string(m[i].key, m[i].key_len, w));
		CHECK(veil_writer_putc(w, ':'));
		CHECK(jcs_value(m[i].value, w, depth + 1));
	}
	CHECK(veil_writer_putc(w, '}'));
out:
	free(m);
	return err;
}

static veil_err jcs_value(const json_t *v, veil_writer *w, int depth)
{
	if (depth > VEIL_JSON_MAX_DEPTH)
		return veil_fail(VEIL_E_LIMIT, "JCS: nested deeper than %d", VEIL_JSON_MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return jcs_object(v, w, depth);
	case JSON_ARRAY: {
		size_t i;
		json_t *child;
		TRY(veil_writer_putc(w, '['));
		json_array_foreach(v, i, child)
		{
			if (i > 0)
				TRY(veil_writer_putc(w, ','));
			TRY(jcs_value(child, w, depth + 1));
		}
		return veil_writer_putc(w, ']');
	}
	case JSON_STRING:
		return jcs_string(json_string_value(v), json_string_length(v), w);
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);
		if (i > JCS_MAX_SAFE_INT || i < -JCS_MAX_SAFE_INT)
			return veil_fail(VEIL_E_UNSUPPORTED,
					 "JCS: integer %lld is beyond 2^53 and has no exact form",
					 (long long)i);
		return jcs_number((double)i, w);
	}
	case JSON_REAL:
		return jcs_number(json_real_value(v), w);
	case JSON_TRUE:
		return veil_writer_puts(w, "true");
	case JSON_FALSE:
		return veil_writer_puts(w, "false");
	case JSON_NULL:
		return veil_writer_puts(w, "null");
	}
	return veil_fail(VEIL_E_MALFORMED, "JCS: unknown JSON type");
}

veil_err veil_jcs_write(const json_t *v, veil_writer *w)
{
	return jcs_value(v, w, 1);
}

veil_err veil_jcs_encode(const json_t *v, uint8_t **out, size_t *out_len)
{
	veil_writer w;
	veil_err err;

	veil_writer_init(&w, VEIL_JSON_MAX_BYTES);
	err = veil_jcs_write(v, &w);
	if (err == VEIL_OK)
		err = veil_writer_take(&w, out, out_len);
	veil_writer_clear(&w);
	return err;
}

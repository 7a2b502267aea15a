/*
 * bhttp_encode.c - writes a Binary HTTP message (RFC 9292) in the
 * known-length form (framing indicator 0 or 1) or, when m->indeterminate is
 * set, the indeterminate-length form (2 or 3).
 *
 * The whole message is checked before the first byte is written, with the
 * same rules the decoder applies (bhttp.c), so the encoder never produces
 * bytes a conforming decoder must refuse, and a message that fails a check
 * leaves the writer untouched (a full writer can still fail half-way: the
 * caller discards it). Field names are written exactly as given: RFC 9292
 * does not ask for lowercase, and rewriting a caller's names would make the
 * encoding differ from what the caller asked for.
 *
 * The encoder never truncates (section 3.8 allows, not requires, dropping
 * empty trailing sections) and never pads: m->padding is what the decoder
 * found, not an instruction. The indeterminate form carries the content as
 * one chunk; chunk boundaries carry no meaning (section 3.2).
 */
#include <string.h>

#include "ohttp/bhttp_internal.h"
#include "veil/limits.h"

static veil_err check_section(const veil_bhttp_fields *f, const char *what, bool trailer)
{
	bhttp_section_state st = {.what = what, .trailer = trailer};

	ENSURE(f->count <= VEIL_BHTTP_FIELDS_MAX, VEIL_E_LIMIT,
	       "BHTTP %s has %zu fields, more than VEIL_BHTTP_FIELDS_MAX (%d)", what, f->count,
	       VEIL_BHTTP_FIELDS_MAX);
	ENSURE(f->items != NULL || f->count == 0, VEIL_E_USAGE,
	       "BHTTP %s has %zu fields but no array", what, f->count);
	for (size_t i = 0; i < f->count; i++) {
		const veil_bhttp_field *x = &f->items[i];
		ENSURE(x->name != NULL, VEIL_E_USAGE, "BHTTP %s: field %zu has no name", what, i);
		ENSURE(x->value != NULL || x->value_len == 0, VEIL_E_USAGE,
		       "BHTTP %s: field %zu value of %zu bytes has no data", what, i, x->value_len);
		TRY(bhttp_check_field(&st, (const uint8_t *)x->name, x->name_len, x->value,
				      x->value_len, VEIL_E_USAGE));
	}
	return VEIL_OK;
}

/* The control data as checkable bytes; an absent scheme, authority or path
 * is zero length (RFC 9292 section 3.4). */
static void control_of(const veil_bhttp_msg *m, bhttp_control *c)
{
	const char *s[4] = {m->method, m->scheme, m->authority, m->path};

	for (int k = 0; k < 4; k++) {
		c->p[k] = (const uint8_t *)(s[k] != NULL ? s[k] : "");
		c->n[k] = strlen((const char *)c->p[k]);
	}
}

static veil_err check_message(const veil_bhttp_msg *m)
{
	if (m->request) {
		bhttp_control c;
		ENSURE(m->method != NULL, VEIL_E_USAGE, "a BHTTP request needs a method");
		ENSURE(m->informational_count == 0, VEIL_E_USAGE,
		       "a BHTTP request cannot carry informational (1xx) responses");
		control_of(m, &c);
		TRY(bhttp_check_control(&c, VEIL_E_USAGE));
	} else {
		ENSURE(bhttp_status_final(m->status), VEIL_E_USAGE,
		       "BHTTP final status %u is outside 200..599 (RFC 9292 section 3.5)",
		       m->status);
		ENSURE(m->informational_count <= VEIL_BHTTP_INFORMATIONAL_MAX, VEIL_E_LIMIT,
		       "BHTTP response has %zu informational responses, more than "
		       "VEIL_BHTTP_INFORMATIONAL_MAX (%d)",
		       m->informational_count, VEIL_BHTTP_INFORMATIONAL_MAX);
		ENSURE(m->informational != NULL || m->informational_count == 0, VEIL_E_USAGE,
		       "BHTTP response has %zu informational responses but no array",
		       m->informational_count);
		for (size_t i = 0; i < m->informational_count; i++) {
			ENSURE(bhttp_status_informational(m->informational[i].status), VEIL_E_USAGE,
			       "BHTTP informational response %zu has status %u, outside 100..199 "
			       "(RFC 9292 section 3.5)",
			       i, m->informational[i].status);
			TRY(check_section(&m->informational[i].fields,
					  "informational header section", false));
		}
	}
	TRY(check_section(&m->header, "header section", false));
	TRY(check_section(&m->trailer, "trailer section", true));
	ENSURE(m->content_len <= VEIL_BHTTP_CONTENT_MAX, VEIL_E_LIMIT,
	       "BHTTP content of %zu bytes is more than VEIL_BHTTP_CONTENT_MAX (%d)",
	       m->content_len, VEIL_BHTTP_CONTENT_MAX);
	ENSURE(m->content != NULL || m->content_len == 0, VEIL_E_USAGE,
	       "BHTTP content of %zu bytes has no data", m->content_len);
	return VEIL_OK;
}

/* Bytes of a known-length section's field lines (section 3.1); within
 * the caps checked above, so no sum can overflow. */
static size_t section_len(const veil_bhttp_fields *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->count; i++)
		n += veil_varint_len(f->items[i].name_len) + f->items[i].name_len +
		     veil_varint_len(f->items[i].value_len) + f->items[i].value_len;
	return n;
}

/* Section 3.6 field lines, with a length prefix (section 3.1) or a zero
 * terminator (section 3.2). */
static veil_err write_section(veil_writer *w, const veil_bhttp_fields *f, bool indeterminate)
{
	if (!indeterminate)
		TRY(veil_writer_varint(w, section_len(f)));
	for (size_t i = 0; i < f->count; i++) {
		TRY(veil_writer_varint(w, f->items[i].name_len));
		TRY(veil_writer_put(w, f->items[i].name, f->items[i].name_len));
		TRY(veil_writer_varint(w, f->items[i].value_len));
		TRY(veil_writer_put(w, f->items[i].value, f->items[i].value_len));
	}
	if (indeterminate)
		TRY(veil_writer_varint(w, 0));
	return VEIL_OK;
}

static veil_err write_content(veil_writer *w, const veil_bhttp_msg *m)
{
	if (!m->indeterminate) {
		TRY(veil_writer_varint(w, m->content_len));
		return veil_writer_put(w, m->content, m->content_len);
	}
	/* Section 3.2: non-empty chunks, then a zero Content Terminator. */
	if (m->content_len > 0) {
		TRY(veil_writer_varint(w, m->content_len));
		TRY(veil_writer_put(w, m->content, m->content_len));
	}
	return veil_writer_varint(w, 0);
}

veil_err veil_bhttp_encode(const veil_bhttp_msg *m, veil_writer *w)
{
	uint64_t framing;

	TRY(check_message(m));
	/* Section 3.3. */
	if (m->request)
		framing =
		    m->indeterminate ? VEIL_BHTTP_INDETERMINATE_REQUEST : VEIL_BHTTP_KNOWN_REQUEST;
	else
		framing = m->indeterminate ? VEIL_BHTTP_INDETERMINATE_RESPONSE
					   : VEIL_BHTTP_KNOWN_RESPONSE;
	TRY(veil_writer_varint(w, framing));
	if (m->request) {
		bhttp_control c;
		control_of(m, &c);
		/* Section 3.4: method, scheme, authority, path. */
		for (int k = 0; k < 4; k++) {
			TRY(veil_writer_varint(w, c.n[k]));
			TRY(veil_writer_put(w, c.p[k], c.n[k]));
		}
	} else {
		/* Section 3.5: each informational response, then the final. */
		for (size_t i = 0; i < m->informational_count; i++) {
			TRY(veil_writer_varint(w, m->informational[i].status));
			TRY(write_section(w, &m->informational[i].fields, m->indeterminate));
		}
		TRY(veil_writer_varint(w, m->status));
	}
	TRY(write_section(w, &m->header, m->indeterminate));
	TRY(write_content(w, m));
	TRY(write_section(w, &m->trailer, m->indeterminate));
	return veil_writer_status(w);
}

/*
 * bhttp_decode.c - decodes a Binary HTTP message (RFC 9292) from untrusted
 * bytes: the plaintext of an Oblivious HTTP request or response.
 *
 * Layout (section 3): a framing indicator (0 known-length request, 1
 * known-length response, 2 and 3 the indeterminate-length forms), control
 * data (a request's method, scheme, authority and path, section 3.4; a
 * response's informational 1xx responses, each with its own header section,
 * then the final status, section 3.5), the header section, the content, the
 * trailer section, and padding. In the known-length form sections and
 * content carry a length prefix; in the indeterminate form a field section
 * ends with a zero name length and the content is a run of chunks ended by
 * a zero-length chunk.
 *
 * Truncation: section 3.1 lets a known-length message end "before any of
 * the length prefixes that precede the field sections or content", section
 * 3.8 says what is missing is empty ("Decoders MUST treat missing truncated
 * fields as equivalent to having been sent with the length field set to
 * zero") and that "a message that is truncated at any other point is
 * invalid"; section 3.2 applies the same to the indeterminate form. So a
 * message may end after its control data (RFC 9458 Appendix A sends such a
 * request) or after any complete section. A section of the indeterminate
 * form is complete only with its terminating zero, so a message that ends
 * after a field line or a chunk but before that zero is cut short, as is
 * one that ends inside any field or after an informational response (it
 * has no final status): VEIL_E_TRUNCATED. After the trailer section only
 * zero bytes may follow: padding, counted in m->padding; a non-zero byte
 * there makes the message invalid (section 3.8).
 *
 * Every length is compared with its cap in limits.h before anything is
 * allocated for it, and with the bytes left (the bounded reader) before it
 * is read. On any failure the message is cleared, wiping what was copied.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ohttp/bhttp_internal.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* Reads a varint, adding what it was to a failure. */
static veil_err read_varint(veil_reader *r, const char *what, uint64_t *v)
{
	size_t at = veil_reader_offset(r);
	veil_err err = veil_reader_varint(r, v);

	if (err != VEIL_OK)
		return veil_fail_context(err, "BHTTP %s at offset %zu", what, at);
	return VEIL_OK;
}

/* Reads a length prefix of at most max and makes sub a reader over that
 * many bytes: the cap is checked before the bytes left, so an over-cap
 * length fails as such even in a short message. */
static veil_err read_prefixed(veil_reader *r, uint64_t max, const char *what, veil_reader *sub)
{
	uint64_t len;
	size_t at;

	TRY(read_varint(r, what, &len));
	at = veil_reader_offset(r);
	ENSURE(len <= max, VEIL_E_LIMIT,
	       "BHTTP %s at offset %zu is %" PRIu64 " bytes, more than its cap of %" PRIu64, what,
	       at, len, max);
	ENSURE(len <= veil_reader_left(r), VEIL_E_TRUNCATED,
	       "BHTTP %s at offset %zu needs %" PRIu64 " bytes, only %zu left", what, at, len,
	       veil_reader_left(r));
	return veil_reader_sub(r, (size_t)len, sub);
}

/* One field line whose name length has been read (section 3.6). */
static veil_err read_field_line(veil_reader *r, uint64_t name_len, bhttp_section_state *st,
				veil_bhttp_fields *f)
{
	const uint8_t *name;
	veil_reader value;
	veil_err err;

	/* Count first: a section with too many fields fails before the next
	 * one is read, whatever it holds. */
	ENSURE(f->count < VEIL_BHTTP_FIELDS_MAX, VEIL_E_LIMIT,
	       "BHTTP %s has more than VEIL_BHTTP_FIELDS_MAX (%d) fields", st->what,
	       VEIL_BHTTP_FIELDS_MAX);
	ENSURE(name_len <= VEIL_BHTTP_FIELD_MAX, VEIL_E_LIMIT,
	       "BHTTP %s: field %zu name is %" PRIu64 " bytes, more than VEIL_BHTTP_FIELD_MAX (%d)",
	       st->what, f->count, name_len, VEIL_BHTTP_FIELD_MAX);
	err = veil_reader_borrow(r, (size_t)name_len, &name);
	if (err != VEIL_OK)
		return veil_fail_context(err, "BHTTP %s: field %zu name", st->what, f->count);
	TRY(read_prefixed(r, VEIL_BHTTP_FIELD_MAX, "field value", &value));
	TRY(bhttp_check_field(st, name, (size_t)name_len, value.data, value.len, VEIL_E_MALFORMED));
	return bhttp_fields_push(f, name, (size_t)name_len, value.data, value.len);
}

/* A field section in either form (sections 3.1, 3.2 and 3.6). */
static veil_err read_section(veil_reader *r, bool indeterminate, const char *what, bool trailer,
			     veil_bhttp_fields *f)
{
	bhttp_section_state st = {.what = what, .trailer = trailer};
	uint64_t name_len;

	if (indeterminate) {
		/* Field lines until a zero name length (the terminator). */
		for (;;) {
			TRY(read_varint(r, "field name length", &name_len));
			if (name_len == 0)
				return VEIL_OK;
			TRY(read_field_line(r, name_len, &st, f));
		}
	}
	/* Known-length: a length-prefixed run of field lines. */
	veil_reader sub;
	TRY(read_prefixed(r, UINT64_MAX, what, &sub));
	while (veil_reader_left(&sub) > 0) {
		size_t at = veil_reader_offset(&sub);
		veil_err err = read_varint(&sub, "field name length", &name_len);
		/* Section 3.6: "Name Length (i) = 1.."; in this form a zero is
		 * not a terminator but a broken field line. */
		if (err == VEIL_OK && name_len == 0)
			return veil_fail(VEIL_E_MALFORMED,
					 "BHTTP %s: field %zu at offset %zu has a zero name length",
					 what, f->count, at);
		if (err == VEIL_OK)
			err = read_field_line(&sub, name_len, &st, f);
		/* The whole section is there, so running out inside it is a
		 * section length that does not match its field lines. */
		if (err == VEIL_E_TRUNCATED)
			return veil_fail_context(VEIL_E_MALFORMED,
						 "BHTTP %s: field %zu runs past the end of the "
						 "section (%zu bytes)",
						 what, f->count, sub.len);
		TRY(err);
	}
	return VEIL_OK;
}

/* Section 3.4: four length-prefixed strings. */
static veil_err read_request_control(veil_reader *r, veil_bhttp_msg *m)
{
	static const char *const names[4] = {"method", "scheme", "authority", "path"};
	char **dst[4] = {&m->method, &m->scheme, &m->authority, &m->path};
	bhttp_control c;
	veil_reader sub;

	for (int k = 0; k < 4; k++) {
		TRY(read_prefixed(r, VEIL_BHTTP_CONTROL_MAX, names[k], &sub));
		c.p[k] = sub.data;
		c.n[k] = sub.len;
	}
	TRY(bhttp_check_control(&c, VEIL_E_MALFORMED));
	for (int k = 0; k < 4; k++) {
		*dst[k] = (char *)bhttp_dup(c.p[k], c.n[k]);
		ENSURE(*dst[k] != NULL, VEIL_E_NOMEM, "out of memory copying the BHTTP %s",
		       names[k]);
	}
	return VEIL_OK;
}

/* Section 3.5: informational responses until a final status. */
static veil_err read_response_control(veil_reader *r, veil_bhttp_msg *m)
{
	for (;;) {
		veil_bhttp_fields *fields;
		size_t at = veil_reader_offset(r);
		uint64_t status;

		TRY(read_varint(r, "status code", &status));
		if (bhttp_status_final(status)) {
			m->status = (uint16_t)status;
			return VEIL_OK;
		}
		ENSURE(bhttp_status_informational(status), VEIL_E_MALFORMED,
		       "BHTTP status code %" PRIu64 " at offset %zu is neither informational "
		       "(100..199) nor final (200..599) (RFC 9292 section 3.5)",
		       status, at);
		TRY(bhttp_informational_push(m, (uint16_t)status, &fields));
		/* An informational response always has its header section: a
		 * message that ends here has no final status, so it is cut
		 * short, not truncated as section 3.8 allows. */
		TRY(read_section(r, m->indeterminate, "informational header section", false,
				 fields));
	}
}

/* Section 3.7, known-length form: one length-prefixed run. */
static veil_err read_known_content(veil_reader *r, veil_bhttp_msg *m)
{
	veil_reader c;

	TRY(read_prefixed(r, VEIL_BHTTP_CONTENT_MAX, "content", &c));
	if (c.len == 0)
		return VEIL_OK;
	m->content = malloc(c.len);
	ENSURE(m->content != NULL, VEIL_E_NOMEM, "out of memory for %zu bytes of content", c.len);
	memcpy(m->content, c.data, c.len);
	m->content_len = c.len;
	return VEIL_OK;
}

/* Section 3.2, indeterminate form: chunks until a zero-length one, joined
 * in a wiping writer capped at VEIL_BHTTP_CONTENT_MAX. */
static veil_err read_chunked_content(veil_reader *r, veil_bhttp_msg *m)
{
	veil_writer w;
	veil_err err = VEIL_OK;

	veil_writer_init(&w, VEIL_BHTTP_CONTENT_MAX);
	for (;;) {
		const uint8_t *p;
		size_t at = veil_reader_offset(r);
		uint64_t len;

		CHECK(read_varint(r, "content chunk length", &len));
		if (len == 0)
			break;
		CHECK_THAT(len <= VEIL_BHTTP_CONTENT_MAX - w.len, VEIL_E_LIMIT,
			   "BHTTP content chunk at offset %zu of %" PRIu64
			   " bytes takes the content "
			   "past VEIL_BHTTP_CONTENT_MAX (%d)",
			   at, len, VEIL_BHTTP_CONTENT_MAX);
		err = veil_reader_borrow(r, (size_t)len, &p);
		if (err != VEIL_OK) {
			err = veil_fail_context(err, "BHTTP content chunk at offset %zu", at);
			goto out;
		}
		CHECK(veil_writer_put(&w, p, (size_t)len));
	}
	if (w.len > 0)
		CHECK(veil_writer_take(&w, &m->content, &m->content_len));
out:
	veil_writer_clear(&w);
	return err;
}

/* Section 3.8: whatever follows the trailer section must be zero. */
static veil_err read_padding(veil_reader *r, veil_bhttp_msg *m)
{
	size_t n = veil_reader_left(r);
	size_t at = veil_reader_offset(r);
	const uint8_t *p;

	TRY(veil_reader_borrow(r, n, &p));
	for (size_t i = 0; i < n; i++)
		ENSURE(p[i] == 0, VEIL_E_MALFORMED,
		       "BHTTP padding byte at offset %zu is 0x%02x; padding must be zero "
		       "(RFC 9292 section 3.8)",
		       at + i, p[i]);
	m->padding = n;
	return VEIL_OK;
}

veil_err veil_bhttp_decode(const uint8_t *p, size_t n, veil_bhttp_msg *m)
{
	veil_reader r;
	uint64_t framing;
	veil_err err;

	memset(m, 0, sizeof *m);
	veil_reader_init(&r, p, n);
	CHECK(read_varint(&r, "framing indicator", &framing));
	/* Section 3.3: "Other values cause the message to be invalid". */
	CHECK_THAT(framing <= VEIL_BHTTP_INDETERMINATE_RESPONSE, VEIL_E_MALFORMED,
		   "BHTTP framing indicator %" PRIu64 " is not 0..3 (RFC 9292 section 3.3)",
		   framing);
	m->request =
	    framing == VEIL_BHTTP_KNOWN_REQUEST || framing == VEIL_BHTTP_INDETERMINATE_REQUEST;
	m->indeterminate = framing >= VEIL_BHTTP_INDETERMINATE_REQUEST;
	if (m->request)
		CHECK(read_request_control(&r, m));
	else
		CHECK(read_response_control(&r, m));
	/* Section 3.8: the message may end after the control data or after
	 * any complete section; "Decoders MUST treat missing truncated fields
	 * as equivalent to having been sent with the length field set to
	 * zero", which is what the zeroed struct already says. */
	if (veil_reader_left(&r) == 0)
		goto out;
	CHECK(read_section(&r, m->indeterminate, "header section", false, &m->header));
	if (veil_reader_left(&r) == 0)
		goto out;
	if (m->indeterminate)
		CHECK(read_chunked_content(&r, m));
	else
		CHECK(read_known_content(&r, m));
	if (veil_reader_left(&r) == 0)
		goto out;
	CHECK(read_section(&r, m->indeterminate, "trailer section", true, &m->trailer));
	CHECK(read_padding(&r, m));
out:
	if (err != VEIL_OK)
		veil_bhttp_msg_clear(m);
	return err;
}

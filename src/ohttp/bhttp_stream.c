/*
 * bhttp_stream.c - reads an indeterminate-length Binary HTTP response (RFC
 * 9292, framing indicator 3) incrementally, as a client reads the
 * plaintext of a chunked Oblivious HTTP response
 * (draft-ietf-ohai-chunked-ohttp): the model's answer arrives in pieces of
 * any size, and each piece of content should reach the caller as soon as
 * it is there, not when the whole message is.
 *
 * A state machine walks the layout of section 3.2: the framing indicator,
 * informational (1xx) responses each with a header section (section 3.5),
 * the final status, the header section, content chunks until a zero-length
 * one (the content terminator), the trailer section, then padding (section
 * 3.8: zero bytes only). In this form a field section is a run of field
 * lines (section 3.6) ended by a zero name length.
 *
 * Only what must be whole to be checked is buffered: a varint (at most 8
 * bytes) and one field line (name and value, each within
 * VEIL_BHTTP_FIELD_MAX), plus the final header section until on_head has
 * seen it. Content bytes go straight from the caller's buffer to on_content.
 * Fields are checked with the same rules as veil_bhttp_decode (bhttp.c), and
 * every length is compared with its cap as soon as it is read, before any
 * of the bytes it announces.
 *
 * Completion is stricter than the one-shot decoder: section 3.8 lets a
 * message end after its control data or header section, but a streamed
 * answer that stops there cannot be told from one cut off in transit, so
 * finish accepts only a message whose content terminator was seen (the
 * trailer section may then be absent, or must be complete).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ohttp/bhttp_internal.h"
#include "veil/limits.h"
#include "veil/secret.h"

enum stream_state {
	ST_FRAMING,   /* varint: framing indicator */
	ST_STATUS,    /* varint: an informational or the final status */
	ST_NAME_LEN,  /* varint: a field name length, 0 ends the section */
	ST_NAME,      /* bytes of the field name */
	ST_VALUE_LEN, /* varint: the field value length */
	ST_VALUE,     /* bytes of the field value */
	ST_CHUNK_LEN, /* varint: a content chunk length, 0 ends the content */
	ST_CHUNK,     /* bytes of a content chunk, passed through */
	ST_PADDING,   /* after the trailer section: zero bytes only */
};

enum stream_section { SEC_INFORMATIONAL, SEC_HEADER, SEC_TRAILER };

struct veil_bhttp_stream {
	veil_bhttp_stream_cb cb;
	enum stream_state state;
	enum stream_section section;
	veil_err failed; /* VEIL_OK while the stream is usable */
	size_t offset;   /* bytes consumed, for error details */
	/* The varint being gathered. */
	uint8_t vbuf[8];
	size_t vhave, vneed, vat;
	/* The field line being gathered: name then value, in buf. */
	bhttp_section_state st;
	uint8_t *buf;
	size_t cap, have, name_len, value_len;
	/* The final header section, kept until on_head has seen it. */
	veil_bhttp_fields header;
	uint16_t status;
	size_t informational;
	size_t content;      /* content bytes so far, within the cap */
	uint64_t chunk_left; /* bytes of the current chunk still to come */
};

static const char *const section_names[] = {
    [SEC_INFORMATIONAL] = "informational header section",
    [SEC_HEADER] = "header section",
    [SEC_TRAILER] = "trailer section",
};

veil_err veil_bhttp_stream_new(const veil_bhttp_stream_cb *cb, veil_bhttp_stream **out)
{
	veil_bhttp_stream *s;

	ENSURE(cb != NULL && out != NULL, VEIL_E_USAGE, "BHTTP stream needs callbacks and out");
	s = calloc(1, sizeof *s);
	ENSURE(s != NULL, VEIL_E_NOMEM, "out of memory for a BHTTP stream");
	s->cb = *cb;
	s->state = ST_FRAMING;
	*out = s;
	return VEIL_OK;
}

/* Wipes the buffered field line (it may be part of a user's answer). */
static void drop_line(veil_bhttp_stream *s)
{
	if (s->buf != NULL)
		veil_wipe(s->buf, s->have);
	s->have = 0;
}

void veil_bhttp_stream_free(veil_bhttp_stream *s)
{
	if (s == NULL)
		return;
	veil_free_secret(s->buf, s->cap);
	bhttp_fields_clear(&s->header);
	veil_wipe(s, sizeof *s);
	free(s);
}

/* Makes room for need bytes of field line; need is within two field caps,
 * checked by the callers. The old buffer is wiped, not just reallocated. */
static veil_err reserve(veil_bhttp_stream *s, size_t need)
{
	uint8_t *grown;

	if (need <= s->cap)
		return VEIL_OK;
	grown = malloc(need);
	ENSURE(grown != NULL, VEIL_E_NOMEM, "out of memory for a %zu-byte BHTTP field line", need);
	if (s->have > 0)
		memcpy(grown, s->buf, s->have);
	veil_free_secret(s->buf, s->cap);
	s->buf = grown;
	s->cap = need;
	return VEIL_OK;
}

/* Gathers one varint across feeds; *done once it is whole, in *v. */
static veil_err take_varint(veil_bhttp_stream *s, const uint8_t **p, size_t *n, bool *done,
			    uint64_t *v)
{
	size_t take;
	veil_reader r;

	*done = false;
	if (s->vhave == 0) {
		/* RFC 9000 section 16: the top two bits give the length. */
		s->vneed = (size_t)1 << (**p >> 6);
		s->vat = s->offset;
	}
	take = s->vneed - s->vhave;
	if (take > *n)
		take = *n;
	memcpy(s->vbuf + s->vhave, *p, take);
	s->vhave += take;
	*p += take;
	*n -= take;
	s->offset += take;
	if (s->vhave < s->vneed)
		return VEIL_OK;
	veil_reader_init(&r, s->vbuf, s->vhave);
	TRY(veil_reader_varint(&r, v));
	s->vhave = 0;
	*done = true;
	return VEIL_OK;
}

static void start_section(veil_bhttp_stream *s, enum stream_section section)
{
	s->section = section;
	s->st = (bhttp_section_state){.what = section_names[section],
				      .trailer = section == SEC_TRAILER};
	s->state = ST_NAME_LEN;
}

/* A zero name length: the section is over (section 3.2). */
static veil_err end_section(veil_bhttp_stream *s)
{
	veil_err err = VEIL_OK;

	switch (s->section) {
	case SEC_INFORMATIONAL:
		/* Skipped: the caller only wants the final response. */
		s->state = ST_STATUS;
		return VEIL_OK;
	case SEC_HEADER:
		if (s->cb.on_head != NULL)
			err = s->cb.on_head(s->cb.user, s->status, &s->header);
		bhttp_fields_clear(&s->header);
		s->state = ST_CHUNK_LEN;
		return err;
	case SEC_TRAILER:
		s->state = ST_PADDING;
		return VEIL_OK;
	}
	return veil_fail(VEIL_E_USAGE, "BHTTP stream in an unknown section");
}

/* A whole field line is in buf: check it, keep it if it is a header. */
static veil_err end_field_line(veil_bhttp_stream *s)
{
	const uint8_t *name = s->buf, *value = s->buf + s->name_len;
	veil_err err;

	err = bhttp_check_field(&s->st, name, s->name_len, value, s->value_len, VEIL_E_MALFORMED);
	if (err == VEIL_OK && s->section == SEC_HEADER)
		err = bhttp_fields_push(&s->header, name, s->name_len, value, s->value_len);
	drop_line(s);
	s->state = ST_NAME_LEN;
	return err;
}

static veil_err on_status(veil_bhttp_stream *s, uint64_t status)
{
	if (bhttp_status_final(status)) {
		s->status = (uint16_t)status;
		start_section(s, SEC_HEADER);
		return VEIL_OK;
	}
	ENSURE(bhttp_status_informational(status), VEIL_E_MALFORMED,
	       "BHTTP status code %" PRIu64 " at offset %zu is neither informational "
	       "(100..199) nor final (200..599) (RFC 9292 section 3.5)",
	       status, s->vat);
	ENSURE(s->informational < VEIL_BHTTP_INFORMATIONAL_MAX, VEIL_E_LIMIT,
	       "BHTTP response has more than VEIL_BHTTP_INFORMATIONAL_MAX (%d) informational "
	       "responses",
	       VEIL_BHTTP_INFORMATIONAL_MAX);
	s->informational++;
	start_section(s, SEC_INFORMATIONAL);
	return VEIL_OK;
}

static veil_err on_name_len(veil_bhttp_stream *s, uint64_t len)
{
	if (len == 0)
		return end_section(s);
	/* The same order as the one-shot decoder: the count, then the size,
	 * both before any byte of the field is looked for. */
	ENSURE(s->st.index < VEIL_BHTTP_FIELDS_MAX, VEIL_E_LIMIT,
	       "BHTTP %s has more than VEIL_BHTTP_FIELDS_MAX (%d) fields", s->st.what,
	       VEIL_BHTTP_FIELDS_MAX);
	ENSURE(len <= VEIL_BHTTP_FIELD_MAX, VEIL_E_LIMIT,
	       "BHTTP %s: field %zu name is %" PRIu64 " bytes, more than VEIL_BHTTP_FIELD_MAX (%d)",
	       s->st.what, s->st.index, len, VEIL_BHTTP_FIELD_MAX);
	TRY(reserve(s, (size_t)len));
	s->name_len = (size_t)len;
	s->state = ST_NAME;
	return VEIL_OK;
}

static veil_err on_value_len(veil_bhttp_stream *s, uint64_t len)
{
	ENSURE(len <= VEIL_BHTTP_FIELD_MAX, VEIL_E_LIMIT,
	       "BHTTP %s: field %zu value at offset %zu is %" PRIu64
	       " bytes, more than VEIL_BHTTP_FIELD_MAX (%d)",
	       s->st.what, s->st.index, s->vat, len, VEIL_BHTTP_FIELD_MAX);
	TRY(reserve(s, s->name_len + (size_t)len));
	s->value_len = (size_t)len;
	if (len == 0)
		return end_field_line(s);
	s->state = ST_VALUE;
	return VEIL_OK;
}

static veil_err on_chunk_len(veil_bhttp_stream *s, uint64_t len)
{
	if (len == 0) {
		/* The content terminator; the trailer section follows. */
		start_section(s, SEC_TRAILER);
		return VEIL_OK;
	}
	ENSURE(len <= (uint64_t)(VEIL_BHTTP_CONTENT_MAX - s->content), VEIL_E_LIMIT,
	       "BHTTP content chunk at offset %zu of %" PRIu64
	       " bytes takes the content past VEIL_BHTTP_CONTENT_MAX (%d)",
	       s->vat, len, VEIL_BHTTP_CONTENT_MAX);
	s->content += (size_t)len;
	s->chunk_left = len;
	s->state = ST_CHUNK;
	return VEIL_OK;
}

static veil_err on_varint(veil_bhttp_stream *s, uint64_t v)
{
	switch (s->state) {
	case ST_FRAMING:
		/* Section 3.3; this reader is for responses in the
		 * indeterminate form only, what a chunked OHTTP response
		 * carries. */
		ENSURE(v == VEIL_BHTTP_INDETERMINATE_RESPONSE, VEIL_E_MALFORMED,
		       "BHTTP framing indicator %" PRIu64 " where a streamed response needs 3 "
		       "(indeterminate-length response, RFC 9292 section 3.3)",
		       v);
		s->state = ST_STATUS;
		return VEIL_OK;
	case ST_STATUS:
		return on_status(s, v);
	case ST_NAME_LEN:
		return on_name_len(s, v);
	case ST_VALUE_LEN:
		return on_value_len(s, v);
	case ST_CHUNK_LEN:
		return on_chunk_len(s, v);
	default:
		return veil_fail(VEIL_E_USAGE, "BHTTP stream read a varint in state %d", s->state);
	}
}

/* Copies what is there of the name or value being gathered. */
static veil_err take_bytes(veil_bhttp_stream *s, const uint8_t **p, size_t *n)
{
	size_t want = s->state == ST_NAME ? s->name_len : s->name_len + s->value_len;
	size_t take = want - s->have;

	if (take > *n)
		take = *n;
	memcpy(s->buf + s->have, *p, take);
	s->have += take;
	*p += take;
	*n -= take;
	s->offset += take;
	if (s->have < want)
		return VEIL_OK;
	if (s->state == ST_NAME) {
		s->state = ST_VALUE_LEN;
		return VEIL_OK;
	}
	return end_field_line(s);
}

/* Hands on what is there of the current chunk, unbuffered. */
static veil_err pass_content(veil_bhttp_stream *s, const uint8_t **p, size_t *n)
{
	size_t take = *n;
	const uint8_t *at = *p;

	if ((uint64_t)take > s->chunk_left)
		take = (size_t)s->chunk_left;
	*p += take;
	*n -= take;
	s->offset += take;
	s->chunk_left -= take;
	if (s->chunk_left == 0)
		s->state = ST_CHUNK_LEN;
	if (s->cb.on_content != NULL)
		return s->cb.on_content(s->cb.user, at, take);
	return VEIL_OK;
}

/* Section 3.8: only zero bytes may follow the trailer section. */
static veil_err check_padding(veil_bhttp_stream *s, const uint8_t **p, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		ENSURE((*p)[i] == 0, VEIL_E_MALFORMED,
		       "BHTTP padding byte at offset %zu is 0x%02x; padding must be zero "
		       "(RFC 9292 section 3.8)",
		       s->offset + i, (*p)[i]);
	s->offset += *n;
	*p += *n;
	*n = 0;
	return VEIL_OK;
}

static veil_err feed(veil_bhttp_stream *s, const uint8_t *p, size_t n)
{
	uint64_t v;
	bool done;

	while (n > 0) {
		switch (s->state) {
		case ST_NAME:
		case ST_VALUE:
			TRY(take_bytes(s, &p, &n));
			break;
		case ST_CHUNK:
			TRY(pass_content(s, &p, &n));
			break;
		case ST_PADDING:
			TRY(check_padding(s, &p, &n));
			break;
		default:
			TRY(take_varint(s, &p, &n, &done, &v));
			if (done)
				TRY(on_varint(s, v));
			break;
		}
	}
	return VEIL_OK;
}

/* A failed stream stays failed: what follows a refused byte means nothing. */
static veil_err fail(veil_bhttp_stream *s, veil_err err)
{
	s->failed = err;
	drop_line(s);
	bhttp_fields_clear(&s->header);
	return err;
}

veil_err veil_bhttp_stream_feed(veil_bhttp_stream *s, const uint8_t *p, size_t n)
{
	veil_err err;

	ENSURE(s != NULL && (p != NULL || n == 0), VEIL_E_USAGE,
	       "BHTTP stream feed needs a stream and bytes");
	ENSURE(s->failed == VEIL_OK, s->failed, "BHTTP stream failed earlier (%s)",
	       veil_err_str(s->failed));
	err = feed(s, p, n);
	if (err != VEIL_OK)
		return fail(s, err);
	return VEIL_OK;
}

veil_err veil_bhttp_stream_finish(veil_bhttp_stream *s)
{
	ENSURE(s != NULL, VEIL_E_USAGE, "BHTTP stream finish needs a stream");
	ENSURE(s->failed == VEIL_OK, s->failed, "BHTTP stream failed earlier (%s)",
	       veil_err_str(s->failed));
	if (s->state == ST_PADDING)
		return VEIL_OK;
	/* Section 3.8: the trailer section may be missing altogether, so an
	 * end right after the content terminator is complete. */
	if (s->state == ST_NAME_LEN && s->section == SEC_TRAILER && s->st.index == 0 &&
	    s->vhave == 0)
		return VEIL_OK;
	if (s->state == ST_FRAMING && s->vhave == 0)
		return veil_fail(VEIL_E_TRUNCATED, "BHTTP stream ended before any byte");
	if (s->state == ST_STATUS || s->state == ST_FRAMING)
		return veil_fail(VEIL_E_TRUNCATED,
				 "BHTTP stream ended at offset %zu before the final status",
				 s->offset);
	if (s->state == ST_CHUNK_LEN || s->state == ST_CHUNK)
		return veil_fail(VEIL_E_TRUNCATED,
				 "BHTTP stream ended at offset %zu inside the content, before its "
				 "terminator",
				 s->offset);
	return veil_fail(VEIL_E_TRUNCATED, "BHTTP stream ended at offset %zu inside the %s",
			 s->offset, s->st.what);
}

/*
 * fuzz_bhttp.c - libFuzzer target for the Binary HTTP decoder and encoder
 * (RFC 9292), the plaintext parser behind every Oblivious HTTP request.
 *
 * Beyond "no crash": a failed decode leaves the message all zero; whatever
 * decodes must encode in both forms (the encoder accepts everything the
 * decoder does), decode back to an equal message in the form it was
 * written, and the known-length encoding is a fixed point (encoding the
 * re-decoded message gives the same bytes). Any mismatch aborts. Seeds:
 * fuzz_bhttp.seeds.
 */
#include <stdlib.h>
#include <string.h>

#include "veil/bhttp.h"
#include "veil/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool fields_eq(const veil_bhttp_fields *a, const veil_bhttp_fields *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (!bytes_eq(a->items[i].name, a->items[i].name_len, b->items[i].name,
			      b->items[i].name_len) ||
		    a->items[i].name[a->items[i].name_len] != '\0' ||
		    !bytes_eq(a->items[i].value, a->items[i].value_len, b->items[i].value,
			      b->items[i].value_len))
			return false;
	return true;
}

static bool str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Equal in meaning: the form and the padding are not compared. */
static bool msg_eq(const veil_bhttp_msg *a, const veil_bhttp_msg *b)
{
	if (a->request != b->request)
		return false;
	if (a->request) {
		if (!str_eq(a->method, b->method) || !str_eq(a->scheme, b->scheme) ||
		    !str_eq(a->authority, b->authority) || !str_eq(a->path, b->path))
			return false;
	} else {
		if (a->status != b->status || a->informational_count != b->informational_count)
			return false;
		for (size_t i = 0; i < a->informational_count; i++)
			if (a->informational[i].status != b->informational[i].status ||
			    !fields_eq(&a->informational[i].fields, &b->informational[i].fields))
				return false;
	}
	return fields_eq(&a->header, &b->header) &&
	       bytes_eq(a->content, a->content_len, b->content, b->content_len) &&
	       fields_eq(&a->trailer, &b->trailer);
}

static bool all_zero(const veil_bhttp_msg *m)
{
	const uint8_t *p = (const uint8_t *)m;

	for (size_t i = 0; i < sizeof *m; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Encodes m in one form into w (cleared first); aborts if it cannot. */
static void encode_as(const veil_bhttp_msg *m, bool indeterminate, veil_writer *w)
{
	veil_bhttp_msg form = *m;

	form.indeterminate = indeterminate;
	veil_writer_clear(w);
	veil_writer_init(w, 2 * (size_t)VEIL_OHTTP_MESSAGE_MAX);
	if (veil_bhttp_encode(&form, w) != VEIL_OK)
		abort(); /* decoded, so it must encode */
}

/* Decodes what w holds and checks it against m; returns the new message. */
static void decode_back(const veil_bhttp_msg *m, const veil_writer *w, bool indeterminate,
			veil_bhttp_msg *back)
{
	if (veil_bhttp_decode(w->data, w->len, back) != VEIL_OK)
		abort(); /* encoded, so it must decode */
	if (!msg_eq(m, back) || back->indeterminate != indeterminate || back->padding != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_bhttp_msg m, back, again;
	veil_writer w1 = {0}, w2 = {0};

	if (veil_bhttp_decode(data, size, &m) != VEIL_OK) {
		if (!all_zero(&m))
			abort(); /* nothing half-built */
		return 0;
	}
	if (m.padding > size)
		abort();

	encode_as(&m, true, &w1);
	decode_back(&m, &w1, true, &back);
	veil_bhttp_msg_clear(&back);

	encode_as(&m, false, &w1);
	decode_back(&m, &w1, false, &back);
	encode_as(&back, false, &w2);
	if (!bytes_eq(w1.data, w1.len, w2.data, w2.len))
		abort(); /* the known-length form is canonical */
	decode_back(&back, &w2, false, &again);

	veil_bhttp_msg_clear(&again);
	veil_bhttp_msg_clear(&back);
	veil_bhttp_msg_clear(&m);
	veil_writer_clear(&w1);
	veil_writer_clear(&w2);
	return 0;
}

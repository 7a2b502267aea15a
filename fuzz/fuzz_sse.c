/*
 * fuzz_sse.c - the event-stream reader (src/client/sse.c, docs/client.md
 * "Event streams").
 *
 * The bytes of a stream come decrypted from a worker, but cut into pieces
 * by OHTTP chunks and network reads nobody controls. The first input byte
 * picks where to cut the rest; the property, beyond "no crash", is that
 * the cut changes nothing: the same events, the same first error, the
 * same digest, [DONE] flag and receipt as when the stream is fed whole,
 * and as when it is fed one byte at a time; and a failure is final.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "veil/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct outcome {
	veil_err err;
	bool done;
	uint8_t sha[32];
	uint8_t receipt_sha[32]; /* of the receipt, or zero when none */
	bool receipt;
	size_t events;
	EVP_MD_CTX *seen; /* the events' data, each ended by its length */
	uint8_t seen_sha[32];
} outcome;

static bool on_event(void *user, const char *data, size_t len)
{
	outcome *o = user;

	if (data[len] != '\0')
		abort(); /* NUL-terminated for the caller */
	if (EVP_DigestUpdate(o->seen, data, len) != 1 ||
	    EVP_DigestUpdate(o->seen, &len, sizeof len) != 1)
		abort();
	o->events++;
	return true;
}

/* Feeds data in pieces of `step` bytes (0: whole), after a first piece of
 * `first` bytes. */
static void run(const uint8_t *data, size_t size, size_t first, size_t step, outcome *o)
{
	veil_sse *s = NULL;
	const char *r = NULL;
	size_t at = 0;

	memset(o, 0, sizeof *o);
	o->seen = EVP_MD_CTX_new();
	if (o->seen == NULL || EVP_DigestInit_ex(o->seen, EVP_sha256(), NULL) != 1 ||
	    veil_sse_new(&s) != VEIL_OK)
		abort();
	if (first > 0)
		o->err = veil_sse_feed(s, data, first, on_event, o), at = first;
	while (o->err == VEIL_OK && at < size) {
		size_t n = step == 0 || size - at < step ? size - at : step;
		o->err = veil_sse_feed(s, data + at, n, on_event, o);
		at += n;
	}
	if (o->err == VEIL_OK) {
		o->err = veil_sse_finish(s, &o->done, o->sha, &r);
	} else if (veil_sse_finish(s, &o->done, o->sha, &r) != o->err || o->done || r != NULL) {
		abort(); /* a failure is final, and says nothing of [DONE] or a receipt */
	}
	if (r != NULL) {
		o->receipt = true;
		if (EVP_Digest(r, strlen(r), o->receipt_sha, NULL, EVP_sha256(), NULL) != 1)
			abort();
	}
	if (EVP_DigestFinal_ex(o->seen, o->seen_sha, NULL) != 1)
		abort();
	EVP_MD_CTX_free(o->seen);
	o->seen = NULL;
	veil_sse_free(s);
}

static bool same(const outcome *a, const outcome *b)
{
	return a->err == b->err && a->done == b->done && memcmp(a->sha, b->sha, 32) == 0 &&
	       a->receipt == b->receipt && memcmp(a->receipt_sha, b->receipt_sha, 32) == 0 &&
	       a->events == b->events && memcmp(a->seen_sha, b->seen_sha, 32) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	outcome whole, cut;
	size_t first;

	if (size < 1)
		return 0;
	first = data[0] % size; /* within the rest */
	data++, size--;
	run(data, size, 0, 0, &whole);
	run(data, size, first, 0, &cut);
	if (!same(&whole, &cut))
		abort();
	if (size <= 4096) {
		run(data, size, 0, 1, &cut);
		if (!same(&whole, &cut))
			abort();
	}
	return 0;
}

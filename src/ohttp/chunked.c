/*
 * chunked.c - chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp-08):
 * requests and responses sealed chunk by chunk, so that a worker can stream
 * tokens to the user while the gateway relays them unread.
 *
 * Each chunk is length-prefixed with a QUIC varint; the final chunk has the
 * prefix 0, runs to the end of the stream and is sealed with the AAD
 * "final". Order is protected by the nonce (HPKE's sequence number for
 * requests, a counter XORed into the response nonce for responses), and the
 * "final" AAD means a stream cut short, or a non-final chunk passed off as
 * the last, does not authenticate.
 *
 * Opening is incremental: bytes are fed as the transport delivers them, in
 * pieces of any size; complete chunks are opened straight from the caller's
 * buffer when they lie whole in it, and only a partial chunk is copied into
 * the exchange's pending buffer until the rest arrives.
 */
#include <stdlib.h>
#include <string.h>

#include "hpke/hpke_internal.h"
#include "ohttp_internal.h"
#include "veil/bhttp.h"
#include "veil/secret.h"

static const uint8_t final_aad[] = {'f', 'i', 'n', 'a', 'l'};

/* Every failure is final (ohttp.h): the keys of both directions are
 * dropped, so nothing is sealed or opened with this exchange again. */
static veil_err fail_exchange(veil_ohttp_exchange *x, veil_err err)
{
	x->phase = VEIL_OHTTP_FAILED;
	if (x->pending != NULL)
		veil_wipe(x->pending, x->pending_len);
	x->pending_len = 0;
	veil_hpke_ctx_clear(&x->hpke);
	veil_aead_clear(&x->res_aead);
	x->res_ready = false;
	return err;
}

veil_err ohttp_chunked_request_begin_with(veil_ohttp_exchange *x, const veil_ohttp_client *c,
					  const veil_x25519_key *eph, veil_writer *out)
{
	TRY(ohttp_client_setup(x, c, OHTTP_LABEL_CHUNKED_REQUEST, eph, out));
	x->chunked = true;
	return VEIL_OK;
}

veil_err veil_ohttp_chunked_request_begin(veil_ohttp_exchange *x, const veil_ohttp_client *c,
					  veil_writer *out)
{
	return ohttp_chunked_request_begin_with(x, c, NULL, out);
}

veil_err veil_ohttp_chunked_request_open(veil_ohttp_exchange *x, const veil_ohttp_server *s)
{
	veil_ohttp_exchange_clear(x);
	x->client = false;
	x->chunked = true;
	x->server = s;
	x->phase = VEIL_OHTTP_HEADER;
	return VEIL_OK;
}

veil_err ohttp_chunked_response_begin_with(veil_ohttp_exchange *x, const uint8_t *nonce,
					   veil_writer *out)
{
	uint8_t fresh[VEIL_OHTTP_NONCE_MAX];
	size_t nonce_len = ohttp_response_nonce_len(x->suite.aead);

	/* The response may start before the request has ended (the draft
	 * allows interleaving), but not before its header was read. */
	ENSURE(!x->client && x->chunked && x->hpke.suite.kem != 0 && !x->res_ready &&
		   x->phase != VEIL_OHTTP_FAILED,
	       VEIL_E_USAGE,
	       "chunked OHTTP: a response needs an opened chunked request that has not failed");
	if (nonce == NULL) {
		TRY(ohttp_random_nonce(fresh, nonce_len));
		nonce = fresh;
	}
	TRY(ohttp_response_keys(x, OHTTP_LABEL_CHUNKED_RESPONSE, nonce, nonce_len));
	x->sealing_final_sent = false;
	return veil_writer_put(out, nonce, nonce_len);
}

veil_err veil_ohttp_chunked_response_begin(veil_ohttp_exchange *x, veil_writer *out)
{
	return ohttp_chunked_response_begin_with(x, NULL, out);
}

veil_err veil_ohttp_chunked_response_open(veil_ohttp_exchange *x)
{
	/* Once per request: a response that failed or was read whole is not
	 * opened again (every failure is final, ohttp.h). Sealing the request
	 * leaves the phase idle. */
	ENSURE(x->client && x->chunked && x->hpke.suite.kem != 0 && x->phase == VEIL_OHTTP_IDLE,
	       VEIL_E_USAGE,
	       "chunked OHTTP: a response needs a chunked request made by this client, and is "
	       "opened once");
	x->phase = VEIL_OHTTP_HEADER;
	x->pending_len = 0;
	return VEIL_OK;
}

veil_err veil_ohttp_chunk_seal(veil_ohttp_exchange *x, const uint8_t *pt, size_t pt_len, bool final,
			       veil_writer *out)
{
	const uint8_t *aad = final ? final_aad : NULL;
	size_t aad_len = final ? sizeof final_aad : 0, ct_len, prefix;
	uint8_t *space, len_bytes[8];
	veil_err err;

	ENSURE(x->chunked && x->phase != VEIL_OHTTP_FAILED &&
		   (x->client ? x->hpke.sender : x->res_ready),
	       VEIL_E_USAGE, "chunked OHTTP: this side has no stream to seal (or it failed)");
	ENSURE(!x->sealing_final_sent, VEIL_E_USAGE,
	       "chunked OHTTP: nothing may follow the final chunk");
	/* Draft section 6: a non-final chunk must not be empty. */
	ENSURE(final || pt_len > 0, VEIL_E_USAGE, "chunked OHTTP: a non-final chunk is empty");
	ENSURE(pt_len <= VEIL_OHTTP_CHUNK_MAX - VEIL_AEAD_TAG_LEN, VEIL_E_LIMIT,
	       "chunked OHTTP: a chunk of %zu bytes is over the %d-byte limit", pt_len,
	       VEIL_OHTTP_CHUNK_MAX - VEIL_AEAD_TAG_LEN);
	ct_len = pt_len + VEIL_AEAD_TAG_LEN;
	/* The length goes in front; the final chunk's is 0 and it runs to the
	 * end of the stream (draft section 4 and 5). */
	prefix = veil_varint_encode(final ? 0 : ct_len, len_bytes);
	TRY(veil_writer_reserve(out, prefix + ct_len, &space));
	memcpy(space, len_bytes, prefix);
	if (x->client) {
		err = veil_hpke_seal(&x->hpke, aad, aad_len, pt, pt_len, space + prefix);
	} else {
		uint8_t nonce[VEIL_AEAD_NONCE_LEN];
		/* Draft section 6.2: fewer than 256^Nn chunks; a 64-bit counter
		 * stops well before. */
		ENSURE(x->res_counter != UINT64_MAX, VEIL_E_LIMIT,
		       "chunked OHTTP: the response has used every chunk counter");
		hpke_counter_nonce(x->res_nonce, x->res_counter, nonce);
		err = veil_aead_seal(&x->res_aead, nonce, aad, aad_len, pt, pt_len, space + prefix);
		if (err == VEIL_OK)
			x->res_counter++;
	}
	TRY(err);
	veil_writer_commit(out, prefix + ct_len);
	x->sealing_final_sent = final;
	return VEIL_OK;
}

/* Opens one sealed chunk of the stream this side receives and appends its
 * plaintext to pt. */
static veil_err chunk_open(veil_ohttp_exchange *x, const uint8_t *ct, size_t ct_len, bool final,
			   veil_writer *pt)
{
	const uint8_t *aad = final ? final_aad : NULL;
	size_t aad_len = final ? sizeof final_aad : 0;
	uint8_t *space;
	veil_err err;

	ENSURE(ct_len >= VEIL_AEAD_TAG_LEN, VEIL_E_VERIFY,
	       "chunked OHTTP: a chunk of %zu bytes is shorter than its tag", ct_len);
	/* Draft section 6: an empty non-final chunk counts as a decryption
	 * error. */
	ENSURE(final || ct_len > VEIL_AEAD_TAG_LEN, VEIL_E_VERIFY,
	       "chunked OHTTP: a non-final chunk carries no data");
	TRY(veil_writer_reserve(pt, ct_len - VEIL_AEAD_TAG_LEN, &space));
	if (!x->client) {
		err = veil_hpke_open(&x->hpke, aad, aad_len, ct, ct_len, space);
	} else {
		uint8_t nonce[VEIL_AEAD_NONCE_LEN];
		ENSURE(x->res_counter != UINT64_MAX, VEIL_E_LIMIT,
		       "chunked OHTTP: the response has used every chunk counter");
		hpke_counter_nonce(x->res_nonce, x->res_counter, nonce);
		err = veil_aead_open(&x->res_aead, nonce, aad, aad_len, ct, ct_len, space);
		if (err == VEIL_OK)
			x->res_counter++;
	}
	if (err == VEIL_E_VERIFY)
		return veil_fail(VEIL_E_VERIFY,
				 "chunked OHTTP: %s chunk does not authenticate (altered, "
				 "reordered, or %s)",
				 final ? "the final" : "a",
				 final ? "the stream was cut short" : "from another stream");
	TRY(err);
	veil_writer_commit(pt, ct_len - VEIL_AEAD_TAG_LEN);
	return VEIL_OK;
}

/* Appends n bytes to the pending buffer, which never holds more than one
 * chunk and its prefix; the final chunk has no prefix, so its cap is the
 * chunk's own. */
static veil_err pending_add(veil_ohttp_exchange *x, const uint8_t *p, size_t n)
{
	size_t want = x->pending_len + n;
	size_t cap_here =
	    x->phase == VEIL_OHTTP_FINAL ? VEIL_OHTTP_CHUNK_MAX : VEIL_OHTTP_CHUNK_MAX + 8;

	ENSURE(want <= cap_here, VEIL_E_LIMIT, "chunked OHTTP: a chunk is over the %d-byte limit",
	       VEIL_OHTTP_CHUNK_MAX);
	if (want > x->pending_cap) {
		size_t cap = x->pending_cap ? x->pending_cap : 256;
		uint8_t *np;
		while (cap < want)
			cap *= 2;
		if (cap > VEIL_OHTTP_CHUNK_MAX + 8)
			cap = VEIL_OHTTP_CHUNK_MAX + 8;
		np = malloc(cap);
		ENSURE(np != NULL, VEIL_E_NOMEM, "chunked OHTTP: out of memory");
		if (x->pending_len > 0)
			memcpy(np, x->pending, x->pending_len);
		veil_free_secret(x->pending, x->pending_cap);
		x->pending = np;
		x->pending_cap = cap;
	}
	if (n > 0)
		memcpy(x->pending + x->pending_len, p, n);
	x->pending_len = want;
	return VEIL_OK;
}

/* The header (server: hdr || enc) or nonce (client) that opens a stream. */
static veil_err stream_start(veil_ohttp_exchange *x, const uint8_t *start)
{
	if (x->client)
		return ohttp_response_keys(x, OHTTP_LABEL_CHUNKED_RESPONSE, start,
					   ohttp_response_nonce_len(x->suite.aead));
	TRY(ohttp_server_setup(x, x->server, OHTTP_LABEL_CHUNKED_REQUEST, start));
	x->server = NULL;
	return VEIL_OK;
}

/* Decodes a chunk length prefix at p (n bytes available). *vlen is 0 when
 * the prefix is not complete yet. */
static veil_err chunk_prefix(const uint8_t *p, size_t n, size_t *vlen, uint64_t *len)
{
	veil_reader r;

	*vlen = 0;
	if (n == 0 || n < ((size_t)1 << (p[0] >> 6)))
		return VEIL_OK;
	*vlen = (size_t)1 << (p[0] >> 6);
	veil_reader_init(&r, p, *vlen);
	TRY(veil_reader_varint(&r, len));
	ENSURE(*len <= VEIL_OHTTP_CHUNK_MAX, VEIL_E_LIMIT,
	       "chunked OHTTP: a chunk of %llu bytes is over the %d-byte limit",
	       (unsigned long long)*len, VEIL_OHTTP_CHUNK_MAX);
	return VEIL_OK;
}

static veil_err feed(veil_ohttp_exchange *x, const uint8_t *p, size_t n, veil_writer *pt)
{
	while (n > 0) {
		if (x->phase == VEIL_OHTTP_HEADER) {
			size_t need = x->client ? ohttp_response_nonce_len(x->suite.aead)
						: VEIL_OHTTP_REQ_PREFIX;
			size_t take = need - x->pending_len < n ? need - x->pending_len : n;
			TRY(pending_add(x, p, take));
			p += take, n -= take;
			if (x->pending_len < need)
				return VEIL_OK;
			TRY(stream_start(x, x->pending));
			x->pending_len = 0;
			x->phase = VEIL_OHTTP_CHUNKS;
		} else if (x->phase == VEIL_OHTTP_CHUNKS) {
			size_t vlen;
			uint64_t len;
			if (x->pending_len == 0) {
				/* Fast path: the chunk lies whole in the caller's buffer. */
				TRY(chunk_prefix(p, n, &vlen, &len));
				if (vlen != 0 && len == 0) {
					p += vlen, n -= vlen;
					x->phase = VEIL_OHTTP_FINAL;
					continue;
				}
				if (vlen != 0 && n - vlen >= len) {
					TRY(chunk_open(x, p + vlen, (size_t)len, false, pt));
					p += vlen + len, n -= vlen + len;
					continue;
				}
				TRY(pending_add(x, p, n));
				return VEIL_OK;
			}
			/* Slow path: complete the prefix, then the chunk. */
			{
				size_t need = (size_t)1 << (x->pending[0] >> 6), take;
				if (x->pending_len < need) {
					take =
					    need - x->pending_len < n ? need - x->pending_len : n;
					TRY(pending_add(x, p, take));
					p += take, n -= take;
					if (x->pending_len < need)
						return VEIL_OK;
				}
				TRY(chunk_prefix(x->pending, x->pending_len, &vlen, &len));
				if (len == 0) {
					x->pending_len = 0;
					x->phase = VEIL_OHTTP_FINAL;
					continue;
				}
				need = vlen + (size_t)len;
				take = need - x->pending_len < n ? need - x->pending_len : n;
				TRY(pending_add(x, p, take));
				p += take, n -= take;
				if (x->pending_len < need)
					return VEIL_OK;
				TRY(chunk_open(x, x->pending + vlen, (size_t)len, false, pt));
				x->pending_len = 0;
			}
		} else if (x->phase == VEIL_OHTTP_FINAL) {
			/* The final chunk runs to the end of the stream. */
			TRY(pending_add(x, p, n));
			return VEIL_OK;
		} else {
			return veil_fail(VEIL_E_USAGE, "chunked OHTTP: no stream is being opened");
		}
	}
	return VEIL_OK;
}

veil_err veil_ohttp_chunked_feed(veil_ohttp_exchange *x, const uint8_t *p, size_t n,
				 veil_writer *pt)
{
	veil_err err;

	ENSURE(x->chunked && x->phase >= VEIL_OHTTP_HEADER && x->phase <= VEIL_OHTTP_FINAL,
	       VEIL_E_USAGE, "chunked OHTTP: no stream is being opened");
	err = feed(x, p, n, pt);
	return err == VEIL_OK ? VEIL_OK : fail_exchange(x, err);
}

veil_err veil_ohttp_chunked_finish(veil_ohttp_exchange *x, veil_writer *pt)
{
	veil_err err;

	ENSURE(x->chunked && x->phase >= VEIL_OHTTP_HEADER && x->phase <= VEIL_OHTTP_FINAL,
	       VEIL_E_USAGE, "chunked OHTTP: no stream is being opened");
	if (x->phase != VEIL_OHTTP_FINAL)
		return fail_exchange(x, veil_fail(VEIL_E_TRUNCATED,
						  "chunked OHTTP: the stream ended without its "
						  "final chunk (truncated)"));
	err = chunk_open(x, x->pending, x->pending_len, true, pt);
	if (err != VEIL_OK)
		return fail_exchange(x, err);
	veil_wipe(x->pending, x->pending_len);
	x->pending_len = 0;
	x->phase = VEIL_OHTTP_DONE;
	return VEIL_OK;
}

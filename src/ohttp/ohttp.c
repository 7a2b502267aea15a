/*
 * ohttp.c - Oblivious HTTP request and response encapsulation (RFC 9458
 * section 4), whole messages: message/ohttp-req and message/ohttp-res.
 *
 * The request is sealed with an HPKE base-mode context whose info binds the
 * media type label and the header (key id and suite); the response is
 * sealed with a key and nonce derived from a secret exported from that same
 * context and a fresh response nonce, so only the client that made the
 * request can open it.
 */
#include <openssl/rand.h>
#include <string.h>

#include "hpke/hpke_internal.h"
#include "ohttp_internal.h"
#include "veil/secret.h"

void ohttp_header_encode(uint8_t key_id, veil_hpke_suite s, uint8_t hdr[VEIL_OHTTP_HEADER_LEN])
{
	hdr[0] = key_id;
	hdr[1] = (uint8_t)(s.kem >> 8), hdr[2] = (uint8_t)s.kem;
	hdr[3] = (uint8_t)(s.kdf >> 8), hdr[4] = (uint8_t)s.kdf;
	hdr[5] = (uint8_t)(s.aead >> 8), hdr[6] = (uint8_t)s.aead;
}

void ohttp_header_decode(const uint8_t hdr[VEIL_OHTTP_HEADER_LEN], uint8_t *key_id,
			 veil_hpke_suite *s)
{
	*key_id = hdr[0];
	s->kem = (uint16_t)(hdr[1] << 8 | hdr[2]);
	s->kdf = (uint16_t)(hdr[3] << 8 | hdr[4]);
	s->aead = (uint16_t)(hdr[5] << 8 | hdr[6]);
}

size_t ohttp_response_nonce_len(uint16_t aead)
{
	size_t nk = veil_aead_key_len(aead);
	return nk > VEIL_AEAD_NONCE_LEN ? nk : VEIL_AEAD_NONCE_LEN;
}

veil_err veil_ohttp_client_init(veil_ohttp_client *c, const veil_ohttp_keyconfig *config)
{
	static const uint16_t preference[] = {VEIL_AEAD_AES_256_GCM, VEIL_AEAD_CHACHA20_POLY1305,
					      VEIL_AEAD_AES_128_GCM};

	memset(c, 0, sizeof *c);
	ENSURE(config->kem == VEIL_HPKE_KEM_X25519_SHA256, VEIL_E_UNSUPPORTED,
	       "key configuration %u uses KEM 0x%04x; only X25519 (0x0020) is supported",
	       config->key_id, config->kem);
	for (size_t p = 0; p < sizeof preference / sizeof *preference; p++)
		for (size_t i = 0; i < config->suite_count; i++)
			if (config->suites[i].kdf == VEIL_HPKE_KDF_HKDF_SHA256 &&
			    config->suites[i].aead == preference[p]) {
				c->config = *config;
				c->suite = config->suites[i];
				return VEIL_OK;
			}
	return veil_fail(VEIL_E_UNSUPPORTED,
			 "key configuration %u offers no suite Veil supports (HKDF-SHA256 with "
			 "AES-256-GCM, ChaCha20-Poly1305 or AES-128-GCM)",
			 config->key_id);
}

veil_err ohttp_random_nonce(uint8_t *nonce, size_t n)
{
	ENSURE(n <= VEIL_OHTTP_NONCE_MAX && RAND_bytes(nonce, (int)n) == 1, VEIL_E_CRYPTO,
	       "no randomness for an OHTTP response nonce");
	return VEIL_OK;
}

void veil_ohttp_exchange_clear(veil_ohttp_exchange *x)
{
	veil_hpke_ctx_clear(&x->hpke);
	veil_aead_clear(&x->res_aead);
	veil_free_secret(x->pending, x->pending_cap);
	veil_wipe(x, sizeof *x);
}

void veil_ohttp_exchange_move(veil_ohttp_exchange *dst, veil_ohttp_exchange *src)
{
	/* The cipher contexts are pointers: the bytes move, and src is wiped
	 * without freeing what dst now owns. */
	veil_ohttp_exchange_clear(dst);
	memcpy(dst, src, sizeof *dst);
	veil_wipe(src, sizeof *src);
}

#define INFO_MAX (sizeof OHTTP_LABEL_CHUNKED_REQUEST + VEIL_OHTTP_HEADER_LEN)

/* info = label || 0x00 || hdr (RFC 9458 section 4.3). */
static void request_info(const char *label, const uint8_t hdr[VEIL_OHTTP_HEADER_LEN],
			 uint8_t info[INFO_MAX], size_t *info_len)
{
	size_t n = strlen(label);

	/* The chunked request label is the longest of the labels. */
	_Static_assert(sizeof OHTTP_LABEL_CHUNKED_REQUEST >= sizeof OHTTP_LABEL_REQUEST,
		       "INFO_MAX must fit every label");
	memcpy(info, label, n);
	info[n] = 0;
	memcpy(info + n + 1, hdr, VEIL_OHTTP_HEADER_LEN);
	*info_len = n + 1 + VEIL_OHTTP_HEADER_LEN;
}

/* The client half of section 4.3: sets up the sender context and writes
 * hdr || enc. */
veil_err ohttp_client_setup(veil_ohttp_exchange *x, const veil_ohttp_client *c, const char *label,
			    const veil_x25519_key *eph, veil_writer *out)
{
	uint8_t hdr[VEIL_OHTTP_HEADER_LEN], info[INFO_MAX];
	veil_hpke_params p = {0};

	veil_ohttp_exchange_clear(x);
	ENSURE(c->config.kem == VEIL_HPKE_KEM_X25519_SHA256, VEIL_E_USAGE,
	       "OHTTP client is not initialised");
	x->client = true;
	x->key_id = c->config.key_id;
	x->suite = (veil_hpke_suite){c->config.kem, c->suite.kdf, c->suite.aead};
	ohttp_header_encode(x->key_id, x->suite, hdr);
	p.mode = VEIL_HPKE_MODE_BASE;
	p.suite = x->suite;
	request_info(label, hdr, info, &p.info_len);
	p.info = info;
	TRY(hpke_setup_sender_with(&x->hpke, &p, c->config.pub, eph, x->enc));
	TRY(veil_writer_put(out, hdr, sizeof hdr));
	return veil_writer_put(out, x->enc, sizeof x->enc);
}

/* The server half: reads hdr || enc from prefix, finds the key and sets up
 * the receiver context. The exchange has been cleared by the caller. */
veil_err ohttp_server_setup(veil_ohttp_exchange *x, const veil_ohttp_server *s, const char *label,
			    const uint8_t prefix[VEIL_OHTTP_REQ_PREFIX])
{
	uint8_t info[INFO_MAX];
	const veil_x25519_key *key;
	veil_hpke_params p = {0};

	x->client = false;
	ohttp_header_decode(prefix, &x->key_id, &x->suite);
	TRY(ohttp_server_lookup(s, x->key_id, x->suite, &key));
	memcpy(x->enc, prefix + VEIL_OHTTP_HEADER_LEN, sizeof x->enc);
	p.mode = VEIL_HPKE_MODE_BASE;
	p.suite = x->suite;
	request_info(label, prefix, info, &p.info_len);
	p.info = info;
	return veil_hpke_setup_receiver(&x->hpke, &p, key, x->enc, sizeof x->enc);
}

/* Marks the exchange failed and drops its keys: nothing more is sealed or
 * opened with it. */
static veil_err exchange_fail(veil_ohttp_exchange *x, veil_err err)
{
	veil_hpke_ctx_clear(&x->hpke);
	veil_aead_clear(&x->res_aead);
	x->res_ready = false;
	x->phase = VEIL_OHTTP_FAILED;
	return err;
}

veil_err ohttp_request_encap_with(veil_ohttp_exchange *x, const veil_ohttp_client *c,
				  const uint8_t *bhttp, size_t bhttp_len,
				  const veil_x25519_key *eph, veil_writer *out)
{
	uint8_t *ct;
	veil_err err;

	ENSURE(bhttp_len <= VEIL_OHTTP_MESSAGE_MAX, VEIL_E_LIMIT,
	       "OHTTP request of %zu bytes is over the %d-byte limit", bhttp_len,
	       VEIL_OHTTP_MESSAGE_MAX);
	TRY(ohttp_client_setup(x, c, OHTTP_LABEL_REQUEST, eph, out));
	/* Section 4.3: ct = sctxt.Seal("", request). */
	err = veil_writer_reserve(out, bhttp_len + VEIL_AEAD_TAG_LEN, &ct);
	if (err == VEIL_OK)
		err = veil_hpke_seal(&x->hpke, NULL, 0, bhttp, bhttp_len, ct);
	if (err != VEIL_OK)
		return exchange_fail(x, err);
	veil_writer_commit(out, bhttp_len + VEIL_AEAD_TAG_LEN);
	return VEIL_OK;
}

veil_err veil_ohttp_request_encap(veil_ohttp_exchange *x, const veil_ohttp_client *c,
				  const uint8_t *bhttp, size_t bhttp_len, veil_writer *out)
{
	return ohttp_request_encap_with(x, c, bhttp, bhttp_len, NULL, out);
}

veil_err veil_ohttp_request_decap(veil_ohttp_exchange *x, const veil_ohttp_server *s,
				  const uint8_t *req, size_t req_len, veil_writer *pt)
{
	size_t ct_len;
	uint8_t *out;
	veil_err err;

	veil_ohttp_exchange_clear(x);
	ENSURE(req_len >= VEIL_OHTTP_REQ_PREFIX + VEIL_AEAD_TAG_LEN, VEIL_E_TRUNCATED,
	       "OHTTP request of %zu bytes is shorter than its header, key and tag (%d bytes)",
	       req_len, VEIL_OHTTP_REQ_PREFIX + VEIL_AEAD_TAG_LEN);
	ENSURE(req_len <= VEIL_OHTTP_MESSAGE_MAX + VEIL_OHTTP_REQ_PREFIX + VEIL_AEAD_TAG_LEN,
	       VEIL_E_LIMIT, "OHTTP request of %zu bytes is over the %d-byte limit", req_len,
	       VEIL_OHTTP_MESSAGE_MAX);
	ct_len = req_len - VEIL_OHTTP_REQ_PREFIX;
	/* Section 4.3: an unknown key id, a suite the key does not take, or a
	 * request that does not decrypt all leave the exchange failed, so no
	 * response can be sealed for it. */
	err = ohttp_server_setup(x, s, OHTTP_LABEL_REQUEST, req);
	if (err == VEIL_OK)
		err = veil_writer_reserve(pt, ct_len - VEIL_AEAD_TAG_LEN, &out);
	if (err == VEIL_OK)
		err = veil_hpke_open(&x->hpke, NULL, 0, req + VEIL_OHTTP_REQ_PREFIX, ct_len, out);
	if (err != VEIL_OK)
		return exchange_fail(x, err);
	veil_writer_commit(pt, ct_len - VEIL_AEAD_TAG_LEN);
	return VEIL_OK;
}

veil_err ohttp_response_keys(veil_ohttp_exchange *x, const char *label, const uint8_t *nonce,
			     size_t nonce_len)
{
	/* Section 4.4: secret = context.Export(label, max(Nn, Nk));
	 * salt = enc || response_nonce; prk = Extract(salt, secret);
	 * aead_key = Expand(prk, "key", Nk); aead_nonce = Expand(prk, "nonce", Nn). */
	uint8_t secret[VEIL_OHTTP_NONCE_MAX], salt[VEIL_X25519_LEN + VEIL_OHTTP_NONCE_MAX],
	    prk[VEIL_HKDF_SHA256_LEN], key[VEIL_AEAD_KEY_MAX];
	size_t nk = veil_aead_key_len(x->suite.aead);
	veil_err err;

	ENSURE(nk != 0, VEIL_E_USAGE, "OHTTP: AEAD 0x%04x cannot carry a response", x->suite.aead);
	ENSURE(nonce_len == ohttp_response_nonce_len(x->suite.aead), VEIL_E_USAGE,
	       "OHTTP response nonce has %zu bytes; %s needs %zu", nonce_len,
	       veil_aead_name(x->suite.aead), ohttp_response_nonce_len(x->suite.aead));
	memcpy(salt, x->enc, VEIL_X25519_LEN);
	memcpy(salt + VEIL_X25519_LEN, nonce, nonce_len);
	CHECK(veil_hpke_export(&x->hpke, (const uint8_t *)label, strlen(label), secret, nonce_len));
	CHECK(veil_hkdf_sha256_extract(salt, VEIL_X25519_LEN + nonce_len, secret, nonce_len, prk));
	CHECK(veil_hkdf_sha256_expand(prk, sizeof prk, (const uint8_t *)"key", 3, key, nk));
	CHECK(veil_hkdf_sha256_expand(prk, sizeof prk, (const uint8_t *)"nonce", 5, x->res_nonce,
				      sizeof x->res_nonce));
	veil_aead_clear(&x->res_aead);
	CHECK(veil_aead_init(&x->res_aead, x->suite.aead, key, nk));
	x->res_counter = 0;
	x->res_ready = true;
out:
	veil_wipe(secret, sizeof secret);
	veil_wipe(prk, sizeof prk);
	veil_wipe(key, sizeof key);
	return err;
}

/* A whole-message exchange is over once its response is sealed or opened:
 * the request context's keys are dropped at once rather than at clear. */
static void exchange_done(veil_ohttp_exchange *x)
{
	veil_hpke_ctx_clear(&x->hpke);
	veil_aead_clear(&x->res_aead);
	x->res_ready = false;
	x->phase = VEIL_OHTTP_DONE;
}

veil_err ohttp_response_encap_with(veil_ohttp_exchange *x, const uint8_t *bhttp, size_t bhttp_len,
				   const uint8_t *nonce, veil_writer *out)
{
	uint8_t fresh[VEIL_OHTTP_NONCE_MAX], *ct;
	size_t nonce_len = ohttp_response_nonce_len(x->suite.aead);
	veil_err err;

	/* Only for a request this server opened: the phase is IDLE after a
	 * successful decapsulation, FAILED after any error, DONE once
	 * answered. */
	ENSURE(!x->client && !x->chunked && x->phase == VEIL_OHTTP_IDLE && x->hpke.suite.kem != 0 &&
		   !x->hpke.sender,
	       VEIL_E_USAGE,
	       "OHTTP: a response needs a request this server decapsulated, and only one");
	ENSURE(bhttp_len <= VEIL_OHTTP_MESSAGE_MAX, VEIL_E_LIMIT,
	       "OHTTP response of %zu bytes is over the %d-byte limit", bhttp_len,
	       VEIL_OHTTP_MESSAGE_MAX);
	if (nonce == NULL) {
		TRY(ohttp_random_nonce(fresh, nonce_len));
		nonce = fresh;
	}
	err = ohttp_response_keys(x, OHTTP_LABEL_RESPONSE, nonce, nonce_len);
	if (err == VEIL_OK)
		err = veil_writer_put(out, nonce, nonce_len);
	/* Section 4.4: ct = Seal(aead_key, aead_nonce, "", response). */
	if (err == VEIL_OK)
		err = veil_writer_reserve(out, bhttp_len + VEIL_AEAD_TAG_LEN, &ct);
	if (err == VEIL_OK)
		err = veil_aead_seal(&x->res_aead, x->res_nonce, NULL, 0, bhttp, bhttp_len, ct);
	if (err != VEIL_OK)
		return exchange_fail(x, err);
	veil_writer_commit(out, bhttp_len + VEIL_AEAD_TAG_LEN);
	exchange_done(x);
	return VEIL_OK;
}

veil_err veil_ohttp_response_encap(veil_ohttp_exchange *x, const uint8_t *bhttp, size_t bhttp_len,
				   veil_writer *out)
{
	return ohttp_response_encap_with(x, bhttp, bhttp_len, NULL, out);
}

veil_err veil_ohttp_response_decap(veil_ohttp_exchange *x, const uint8_t *res, size_t res_len,
				   veil_writer *pt)
{
	size_t nonce_len = ohttp_response_nonce_len(x->suite.aead), ct_len;
	uint8_t *out;
	veil_err err;

	ENSURE(x->client && !x->chunked && x->phase == VEIL_OHTTP_IDLE && x->hpke.sender,
	       VEIL_E_USAGE,
	       "OHTTP: a response needs a request encapsulated by this client, and only one");
	if (res_len < nonce_len + VEIL_AEAD_TAG_LEN)
		return exchange_fail(x, veil_fail(VEIL_E_TRUNCATED,
						  "OHTTP response of %zu bytes is shorter than "
						  "its nonce and tag (%zu bytes)",
						  res_len, nonce_len + VEIL_AEAD_TAG_LEN));
	ct_len = res_len - nonce_len;
	err = ohttp_response_keys(x, OHTTP_LABEL_RESPONSE, res, nonce_len);
	if (err == VEIL_OK)
		err = veil_writer_reserve(pt, ct_len - VEIL_AEAD_TAG_LEN, &out);
	if (err == VEIL_OK)
		err = veil_aead_open(&x->res_aead, x->res_nonce, NULL, 0, res + nonce_len, ct_len,
				     out);
	if (err != VEIL_OK)
		return exchange_fail(x, err);
	veil_writer_commit(pt, ct_len - VEIL_AEAD_TAG_LEN);
	exchange_done(x);
	return VEIL_OK;
}

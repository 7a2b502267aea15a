/*
 * ohttp_internal.h - what the OHTTP files share: the server's key table and
 * the RFC 9458 labels.
 */
#ifndef VEIL_OHTTP_INTERNAL_H
#define VEIL_OHTTP_INTERNAL_H

#include "veil/ohttp.h"

/* RFC 9458 section 4.3 and 4.4, and the chunked draft's section 6. */
#define OHTTP_LABEL_REQUEST          "message/bhttp request"
#define OHTTP_LABEL_RESPONSE         "message/bhttp response"
#define OHTTP_LABEL_CHUNKED_REQUEST  "message/bhttp chunked request"
#define OHTTP_LABEL_CHUNKED_RESPONSE "message/bhttp chunked response"

typedef struct ohttp_server_key {
	bool used;
	uint8_t key_id;
	veil_x25519_key key;
	size_t suite_count;
	veil_ohttp_sym suites[VEIL_OHTTP_SUITES_MAX];
} ohttp_server_key;

struct veil_ohttp_server {
	ohttp_server_key keys[VEIL_OHTTP_KEYS_MAX];
};

/* The key for key_id that accepts suite s. VEIL_E_NOT_FOUND or
 * VEIL_E_UNSUPPORTED with a detail saying which. */
VEIL_MUST_CHECK veil_err ohttp_server_lookup(const veil_ohttp_server *s, uint8_t key_id,
					     veil_hpke_suite suite, const veil_x25519_key **key);

/* The request header: key id and the three algorithm ids (section 4.1). */
void ohttp_header_encode(uint8_t key_id, veil_hpke_suite s, uint8_t hdr[VEIL_OHTTP_HEADER_LEN]);
void ohttp_header_decode(const uint8_t hdr[VEIL_OHTTP_HEADER_LEN], uint8_t *key_id,
			 veil_hpke_suite *s);

/* Section 4.3, the client half: sets up the sender context with the given
 * label and appends hdr || enc to out. */
VEIL_MUST_CHECK veil_err ohttp_client_setup(veil_ohttp_exchange *x, const veil_ohttp_client *c,
					    const char *label, const veil_x25519_key *eph,
					    veil_writer *out);
/* The server half: reads hdr || enc, finds the key, sets up the receiver. */
VEIL_MUST_CHECK veil_err ohttp_server_setup(veil_ohttp_exchange *x, const veil_ohttp_server *s,
					    const char *label,
					    const uint8_t prefix[VEIL_OHTTP_REQ_PREFIX]);

/* The public calls with a caller-chosen ephemeral key or response nonce,
 * for the RFC 9458 vectors and deterministic fuzzing only: reusing either
 * reuses an AEAD key and nonce. NULL: fresh. */
VEIL_MUST_CHECK veil_err ohttp_request_encap_with(veil_ohttp_exchange *x,
						  const veil_ohttp_client *c, const uint8_t *bhttp,
						  size_t bhttp_len, const veil_x25519_key *eph,
						  veil_writer *out);
VEIL_MUST_CHECK veil_err ohttp_response_encap_with(veil_ohttp_exchange *x, const uint8_t *bhttp,
						   size_t bhttp_len, const uint8_t *nonce,
						   veil_writer *out);
VEIL_MUST_CHECK veil_err ohttp_chunked_request_begin_with(veil_ohttp_exchange *x,
							  const veil_ohttp_client *c,
							  const veil_x25519_key *eph,
							  veil_writer *out);
VEIL_MUST_CHECK veil_err ohttp_chunked_response_begin_with(veil_ohttp_exchange *x,
							   const uint8_t *nonce, veil_writer *out);

/* Fills n bytes with randomness for a response nonce. */
VEIL_MUST_CHECK veil_err ohttp_random_nonce(uint8_t *nonce, size_t n);
/* max(Nn, Nk): the response nonce length. */
size_t ohttp_response_nonce_len(uint16_t aead);

/* Derives the response AEAD key and nonce from the request's context
 * (section 4.4), with the label of the whole or the chunked form. */
VEIL_MUST_CHECK veil_err ohttp_response_keys(veil_ohttp_exchange *x, const char *label,
					     const uint8_t *nonce, size_t nonce_len);

#endif

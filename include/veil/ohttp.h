/*
 * ohttp.h - Oblivious HTTP (RFC 9458) and chunked Oblivious HTTP
 * (draft-ietf-ohai-chunked-ohttp-08): the end-to-end encryption between a
 * user and the worker inside the TEE, which the gateway relays but cannot
 * read.
 *
 * The pieces the worker, the client and the proxy share:
 *   - key configurations (section 3), one or many in an application/ohttp-keys
 *     body;
 *   - veil_ohttp_server: the worker's private keys, several key ids at once
 *     so that keys can be rotated while old configurations are still in use;
 *   - veil_ohttp_client: one verified key configuration (the one bound into
 *     the worker's attestation) and the suite chosen from it;
 *   - veil_ohttp_exchange: one request and its response, on either side,
 *     whole (message/ohttp-req, message/ohttp-res) or in chunks
 *     (message/ohttp-chunked-req, message/ohttp-chunked-res).
 *
 * Chunked messages are opened incrementally: feed the bytes as they arrive
 * (in pieces of any size), get plaintext out as each chunk completes, and
 * call finish at the end of the stream. A stream that ends without its final
 * chunk (AAD "final") is VEIL_E_TRUNCATED; a reordered, altered or spliced
 * chunk is VEIL_E_VERIFY. Every failure is final for the exchange, sealing
 * included. A message is complete only when finish succeeds (draft section
 * 7.1): plaintext handed out before that is authentic so far, but a
 * consumer must not act on the message as a whole until then.
 */
#ifndef VEIL_OHTTP_H
#define VEIL_OHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"
#include "veil/error.h"
#include "veil/hpke.h"
#include "veil/limits.h"

#define VEIL_OHTTP_KEYS_TYPE        "application/ohttp-keys"
#define VEIL_OHTTP_REQ_TYPE         "message/ohttp-req"
#define VEIL_OHTTP_RES_TYPE         "message/ohttp-res"
#define VEIL_OHTTP_CHUNKED_REQ_TYPE "message/ohttp-chunked-req"
#define VEIL_OHTTP_CHUNKED_RES_TYPE "message/ohttp-chunked-res"

/* RFC 9458 section 4.1: key id, KEM, KDF and AEAD ids, then enc. */
#define VEIL_OHTTP_HEADER_LEN 7
#define VEIL_OHTTP_REQ_PREFIX (VEIL_OHTTP_HEADER_LEN + VEIL_X25519_LEN)
#define VEIL_OHTTP_NONCE_MAX  32 /* max(Nn, Nk) over the supported AEADs */

typedef struct veil_ohttp_sym {
	uint16_t kdf;
	uint16_t aead;
} veil_ohttp_sym;

typedef struct veil_ohttp_keyconfig {
	uint8_t key_id;
	uint16_t kem;
	uint8_t pub[VEIL_X25519_LEN];
	size_t suite_count;
	veil_ohttp_sym suites[VEIL_OHTTP_SUITES_MAX];
} veil_ohttp_keyconfig;

/* One key configuration, exactly (RFC 9458 section 3.1). VEIL_E_UNSUPPORTED
 * for a KEM other than X25519; suites Veil does not implement are kept, so
 * the configuration re-encodes as it came. */
VEIL_MUST_CHECK veil_err veil_ohttp_keyconfig_parse(const uint8_t *p, size_t n,
						    veil_ohttp_keyconfig *out);
VEIL_MUST_CHECK veil_err veil_ohttp_keyconfig_encode(const veil_ohttp_keyconfig *c, veil_writer *w);
/* An application/ohttp-keys body (section 3.2): each configuration with a
 * 2-byte length. Configurations with another KEM are skipped; any encoding
 * error rejects the whole body, as section 3.2 requires. Fills at most max
 * entries; VEIL_E_UNSUPPORTED when no configuration is usable. */
VEIL_MUST_CHECK veil_err veil_ohttp_keys_parse(const uint8_t *p, size_t n,
					       veil_ohttp_keyconfig *out, size_t max,
					       size_t *count);
VEIL_MUST_CHECK veil_err veil_ohttp_keys_encode(const veil_ohttp_keyconfig *c, size_t count,
						veil_writer *w);

/* The server side: private keys by key id. Lookups do not modify the server,
 * so several threads may decapsulate at once; adding and removing keys needs
 * the caller's lock. */
typedef struct veil_ohttp_server veil_ohttp_server;

VEIL_MUST_CHECK veil_err veil_ohttp_server_new(veil_ohttp_server **out);
void veil_ohttp_server_free(veil_ohttp_server *s);
/* Takes over *key (left zeroed). suites: what this key accepts, supported
 * ones only. VEIL_E_USAGE if key_id is taken; VEIL_E_LIMIT when full. */
VEIL_MUST_CHECK veil_err veil_ohttp_server_add_key(veil_ohttp_server *s, uint8_t key_id,
						   veil_x25519_key *key,
						   const veil_ohttp_sym *suites,
						   size_t suite_count);
/* A fresh key for key_id, accepting AES-256-GCM and ChaCha20-Poly1305 with
 * HKDF-SHA256 (DESIGN.md section 5). */
VEIL_MUST_CHECK veil_err veil_ohttp_server_generate_key(veil_ohttp_server *s, uint8_t key_id);
VEIL_MUST_CHECK veil_err veil_ohttp_server_remove_key(veil_ohttp_server *s, uint8_t key_id);
VEIL_MUST_CHECK veil_err veil_ohttp_server_config(const veil_ohttp_server *s, uint8_t key_id,
						  veil_ohttp_keyconfig *out);
/* Every key's configuration as an application/ohttp-keys body. */
VEIL_MUST_CHECK veil_err veil_ohttp_server_keys(const veil_ohttp_server *s, veil_writer *w);

/* The client side: a key configuration the caller has verified (it came
 * bound into attestation evidence), and the suite picked from it:
 * AES-256-GCM first, then ChaCha20-Poly1305, then AES-128-GCM. */
typedef struct veil_ohttp_client {
	veil_ohttp_keyconfig config;
	veil_ohttp_sym suite;
} veil_ohttp_client;

/* VEIL_E_UNSUPPORTED when the configuration offers no suite Veil speaks. */
VEIL_MUST_CHECK veil_err veil_ohttp_client_init(veil_ohttp_client *c,
						const veil_ohttp_keyconfig *config);

typedef enum veil_ohttp_phase {
	VEIL_OHTTP_IDLE = 0,
	VEIL_OHTTP_HEADER, /* opening: waiting for the header or nonce */
	VEIL_OHTTP_CHUNKS, /* opening: chunks, not yet the final one */
	VEIL_OHTTP_FINAL,  /* opening: inside the final chunk; sealing: open */
	VEIL_OHTTP_DONE,
	VEIL_OHTTP_FAILED,
} veil_ohttp_phase;

/* One request and its response. Start from a zeroed struct (= {0}); the call
 * that starts an exchange (request encap or decap, chunked begin or open)
 * clears whatever an earlier exchange left in it, and
 * veil_ohttp_exchange_clear() frees and wipes it at the end. It holds cipher
 * contexts: never copy one. After an error, the bytes appended to `out` or
 * `pt` are not a message: discard them. */
typedef struct veil_ohttp_exchange {
	bool client;
	bool chunked;
	uint8_t key_id;
	veil_hpke_suite suite;
	uint8_t enc[VEIL_X25519_LEN];
	veil_hpke_ctx hpke;              /* the request's context: client seals, server opens */
	const veil_ohttp_server *server; /* borrowed: a server opening a chunked request */
	/* The response's AEAD key and nonce (RFC 9458 section 4.4). */
	veil_aead res_aead;
	uint8_t res_nonce[VEIL_AEAD_NONCE_LEN];
	uint64_t res_counter;
	bool res_ready;
	/* The stream being sealed or opened, for chunked messages. */
	veil_ohttp_phase phase;
	uint8_t *pending; /* opening: bytes of an incomplete chunk */
	size_t pending_len;
	size_t pending_cap;
	bool sealing_final_sent;
} veil_ohttp_exchange;

void veil_ohttp_exchange_clear(veil_ohttp_exchange *x);
/* Hands an exchange over (a server that decapsulated a request on one
 * thread and answers it from another): dst, cleared first, gets what src
 * held, and src is left zeroed, so the contexts are freed exactly once. */
void veil_ohttp_exchange_move(veil_ohttp_exchange *dst, veil_ohttp_exchange *src);

/* --- Whole messages (message/ohttp-req, message/ohttp-res) --- */

/* Client: encapsulates a BHTTP request with a fresh ephemeral key; appends
 * the encapsulated request to out. */
VEIL_MUST_CHECK veil_err veil_ohttp_request_encap(veil_ohttp_exchange *x,
						  const veil_ohttp_client *c, const uint8_t *bhttp,
						  size_t bhttp_len, veil_writer *out);
/* Server: opens an encapsulated request; appends the BHTTP request to pt.
 * VEIL_E_NOT_FOUND for an unknown key id, VEIL_E_UNSUPPORTED for a suite the
 * key does not accept, VEIL_E_VERIFY when it does not decrypt. */
VEIL_MUST_CHECK veil_err veil_ohttp_request_decap(veil_ohttp_exchange *x,
						  const veil_ohttp_server *s, const uint8_t *req,
						  size_t req_len, veil_writer *pt);
/* Server: encapsulates the BHTTP response to a request it decapsulated
 * successfully, with a fresh random response nonce. */
VEIL_MUST_CHECK veil_err veil_ohttp_response_encap(veil_ohttp_exchange *x, const uint8_t *bhttp,
						   size_t bhttp_len, veil_writer *out);
/* Client: opens the encapsulated response; appends the BHTTP response. */
VEIL_MUST_CHECK veil_err veil_ohttp_response_decap(veil_ohttp_exchange *x, const uint8_t *res,
						   size_t res_len, veil_writer *pt);

/* --- Chunked messages (message/ohttp-chunked-req, -res) --- */

/* Client: starts a chunked request; appends the request header to out. */
VEIL_MUST_CHECK veil_err veil_ohttp_chunked_request_begin(veil_ohttp_exchange *x,
							  const veil_ohttp_client *c,
							  veil_writer *out);
/* Server: prepares to open a chunked request with s's keys (borrowed until
 * the header has been read). */
VEIL_MUST_CHECK veil_err veil_ohttp_chunked_request_open(veil_ohttp_exchange *x,
							 const veil_ohttp_server *s);
/* Server: starts the chunked response to an opened request; appends a
 * fresh response nonce to out. */
VEIL_MUST_CHECK veil_err veil_ohttp_chunked_response_begin(veil_ohttp_exchange *x,
							   veil_writer *out);
/* Client: prepares to open the chunked response to its request. */
VEIL_MUST_CHECK veil_err veil_ohttp_chunked_response_open(veil_ohttp_exchange *x);

/* Seals one chunk of the stream this side is sending (the request on the
 * client, the response on the server) and appends it, length-prefixed, to
 * out. A non-final chunk must not be empty; nothing may follow the final one. */
VEIL_MUST_CHECK veil_err veil_ohttp_chunk_seal(veil_ohttp_exchange *x, const uint8_t *pt,
					       size_t pt_len, bool final, veil_writer *out);
/* Feeds received bytes of the stream this side is opening; appends the
 * plaintext of every chunk they complete to pt. */
VEIL_MUST_CHECK veil_err veil_ohttp_chunked_feed(veil_ohttp_exchange *x, const uint8_t *p, size_t n,
						 veil_writer *pt);
/* The stream ended: opens the final chunk. VEIL_E_TRUNCATED if there was
 * none. */
VEIL_MUST_CHECK veil_err veil_ohttp_chunked_finish(veil_ohttp_exchange *x, veil_writer *pt);

#endif

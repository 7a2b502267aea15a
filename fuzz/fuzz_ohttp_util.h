/*
 * fuzz_ohttp_util.h - what the OHTTP fuzz targets share (header-only,
 * static): one server key and one client ephemeral key derived from
 * constant input, a fixed response nonce, and a bounded reader over the
 * fuzzer's bytes.
 *
 * Fixed keys keep every run deterministic, so an input that crashes once
 * crashes again, and let the seeds in fuzz/seeds/ hold requests
 * encapsulated to this server and responses to this client's request,
 * which decrypt: the fuzzer then mutates from inside the AEAD as well as
 * from outside it.
 */
#ifndef VEIL_FUZZ_OHTTP_UTIL_H
#define VEIL_FUZZ_OHTTP_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "hpke/hpke_internal.h"
#include "ohttp/ohttp_internal.h"
#include "veil/ohttp.h"

#define FUZZ_KEY_ID 1 /* odd, so an encapsulated request starts with an odd byte */

static const uint16_t fuzz_aeads[] = {VEIL_AEAD_AES_128_GCM, VEIL_AEAD_AES_256_GCM,
				      VEIL_AEAD_CHACHA20_POLY1305};

/* The request every response is to, in the targets that open responses. */
static const uint8_t fuzz_request[] = {0x00, 0x03, 'G', 'E', 'T',  0x05, 'h',
				       't',  't',  'p', 's', 0x00, 0x01, '/'};

typedef struct fuzz_ohttp {
	veil_ohttp_server *server;
	veil_ohttp_keyconfig config;
	veil_x25519_key eph;
	uint8_t nonce[VEIL_OHTTP_NONCE_MAX]; /* the first byte odd, as for requests */
} fuzz_ohttp;

/* The shared keys, made on first use; any failure here is a bug. */
static inline const fuzz_ohttp *fuzz_ohttp_get(void)
{
	static const veil_ohttp_sym all[] = {{1, 1}, {1, 2}, {1, 3}};
	static fuzz_ohttp f;
	static int ready;
	uint8_t ikm[32];
	veil_x25519_key key;

	if (ready)
		return &f;
	for (size_t i = 0; i < sizeof ikm; i++)
		ikm[i] = (uint8_t)(0x5a ^ i);
	if (veil_x25519_key_derive(&key, ikm, sizeof ikm) != VEIL_OK ||
	    veil_ohttp_server_new(&f.server) != VEIL_OK ||
	    veil_ohttp_server_add_key(f.server, FUZZ_KEY_ID, &key, all, 3) != VEIL_OK ||
	    veil_ohttp_server_config(f.server, FUZZ_KEY_ID, &f.config) != VEIL_OK)
		abort();
	for (size_t i = 0; i < sizeof ikm; i++)
		ikm[i] = (uint8_t)(0xc3 ^ (i * 5));
	if (veil_x25519_key_derive(&f.eph, ikm, sizeof ikm) != VEIL_OK)
		abort();
	for (size_t i = 0; i < sizeof f.nonce; i++)
		f.nonce[i] = (uint8_t)(0x11 + 2 * i);
	ready = 1;
	return &f;
}

/* A client of the shared server using aead. */
static inline void fuzz_client(const fuzz_ohttp *f, uint16_t aead, veil_ohttp_client *c)
{
	if (veil_ohttp_client_init(c, &f->config) != VEIL_OK)
		abort();
	c->suite.aead = aead;
}

/* Reads the fuzzer's own parameters; past the end, everything reads 0. */
static inline uint8_t take_u8(veil_reader *r)
{
	uint8_t v = 0;
	if (veil_reader_u8(r, &v) != VEIL_OK)
		return 0;
	return v;
}

static inline uint16_t take_u16(veil_reader *r)
{
	uint16_t v = 0;
	if (veil_reader_u16be(r, &v) != VEIL_OK)
		return 0;
	return v;
}

static inline const uint8_t *rest_of(const veil_reader *r, size_t *n)
{
	*n = veil_reader_left(r);
	return r->data + r->pos;
}

static inline int same_bytes(const veil_writer *w, const uint8_t *p, size_t n)
{
	return w->len == n && (n == 0 || memcmp(w->data, p, n) == 0);
}

#endif

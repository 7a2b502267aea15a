/*
 * codec.h - hex, base64 (RFC 4648 section 4) and base64url (section 5).
 *
 * Decoders are strict: they reject characters outside the alphabet, bad
 * padding and non-zero trailing bits, so each encoding of a value is unique.
 * Output buffers are caller-allocated; the *_len functions say how big.
 */
#ifndef VEIL_CODEC_H
#define VEIL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

/* The value of one hex digit (either case), or -1. */
int veil_hex_digit(int c);
/* Writes 2*n lower-case hex digits and a NUL: out must hold 2*n+1 bytes. */
void veil_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2*cap_or_len digits. *out_len gets the decoded length.
 * Accepts upper and lower case; rejects odd length and non-hex. */
VEIL_MUST_CHECK veil_err veil_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t cap,
					 size_t *out_len);

/* Padded base64 (RFC 4648 section 4). out holds veil_base64_encoded_len(n)+1. */
size_t veil_base64_encoded_len(size_t n);
void veil_base64_encode(const uint8_t *in, size_t n, char *out);
VEIL_MUST_CHECK veil_err veil_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap,
					    size_t *out_len);

/* Unpadded base64url (RFC 4648 section 5, as JOSE uses it). */
size_t veil_base64url_encoded_len(size_t n);
void veil_base64url_encode(const uint8_t *in, size_t n, char *out);
VEIL_MUST_CHECK veil_err veil_base64url_decode(const char *in, size_t in_len, uint8_t *out,
					       size_t cap, size_t *out_len);

/* Upper bound on the decoded size of in_len base64 / base64url characters. */
size_t veil_base64_decoded_max(size_t in_len);

#endif

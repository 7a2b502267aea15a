/*
 * receipt.h - signed receipts: what veil-worker attaches to every response
 * so that a user can later prove which attested worker, running which
 * model, answered which request (DESIGN.md sections 4 and 5).
 *
 * A receipt is a compact JWS (RFC 7515 section 7.1), ES256 only, by the
 * worker's receipt key, whose public half the worker's evidence binds in
 * its runtime data. The client verifies it with that key, taken from the
 * evidence it verified, never from the receipt. Format: docs/receipt.md.
 *
 *   header   {"alg":"ES256","typ":"veil-receipt+jws","kid":"<RFC 7638 thumbprint>"}
 *   payload  {"ver":1,"worker":S,"id":S,"model":S,"iat":N,
 *             "evidence_sha256":HEX,"model_sha256":HEX,"request_sha256":HEX,
 *             "response_sha256":HEX,
 *             "usage":{"prompt_tokens":N,"completion_tokens":N,"total_tokens":N},
 *             "stream":B,"ohttp":B}
 *
 * Verification is strict: the header has exactly those three members, the
 * payload exactly the members above with their types (the version governs
 * the shape), HEX is 64 lower-case hex digits, N an integer in
 * 0..VEIL_RECEIPT_INT_MAX (iat at least 1), total_tokens the sum, and S at
 * most VEIL_RECEIPT_TEXT_MAX bytes of UTF-8 without control characters.
 * The whole receipt is capped by VEIL_RECEIPT_MAX_BYTES (limits.h).
 */
#ifndef VEIL_RECEIPT_H
#define VEIL_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/jose.h"

#define VEIL_RECEIPT_VERSION 1
/* RFC 7515 section 4.1.9 and RFC 8725 section 3.11: an explicit type, so
 * a receipt cannot be taken for another kind of JWS by the same key. */
#define VEIL_RECEIPT_TYP      "veil-receipt+jws"
#define VEIL_RECEIPT_TEXT_MAX 128 /* bytes of worker, id, model strings */
/* RFC 7493 section 2.2 (I-JSON): integers exactly representable in a
 * double, so every JSON library reads the counts the same way. */
#define VEIL_RECEIPT_INT_MAX ((INT64_C(1) << 53) - 1)

typedef struct veil_receipt {
	char worker[VEIL_RECEIPT_TEXT_MAX +
		    1];                     /* the worker's id (as attested in its runtime data) */
	char id[VEIL_RECEIPT_TEXT_MAX + 1]; /* the response's id, e.g. "chatcmpl-..." */
	char model[VEIL_RECEIPT_TEXT_MAX + 1]; /* the model name the response carries */
	/* SHA-256 of the worker's evidence bundle bytes (the latest, as served
	 * at /v1/attestation) */
	uint8_t evidence[32];
	uint8_t model_digest[32]; /* SHA-256 of the model plaintext (the sealed header's digest) */
	/* SHA-256 of the request body as the worker received it (the inner
	 * request body for OHTTP) */
	uint8_t request[32];
	/* SHA-256 of the response body; for streams, of the concatenated
	 * generated text */
	uint8_t response[32];
	uint64_t prompt_tokens, completion_tokens;
	int64_t created; /* Unix seconds */
	bool stream;
	bool ohttp; /* the exchange was end-to-end encrypted */
} veil_receipt;

/*
 * Signs r with key (an EC P-256 private veil_jwk): a compact JWS with
 * protected header {"alg":"ES256","typ":VEIL_RECEIPT_TYP,"kid":<RFC 7638
 * thumbprint of the key, base64url>} and the payload above. *out is a new
 * NUL-terminated string the caller frees. VEIL_E_USAGE when r holds what a
 * verifier would refuse (a string without its NUL, over the cap, not UTF-8
 * or with a control character; created < 1; counts or their sum above
 * VEIL_RECEIPT_INT_MAX) or the key is not a P-256 private key.
 */
VEIL_MUST_CHECK veil_err veil_receipt_sign(const veil_jwk *key, const veil_receipt *r, char **out);
/*
 * Verifies a receipt with the worker's public receipt key (taken from its
 * verified evidence): the signature, alg ES256 only, typ, kid equal to the
 * key's thumbprint, and a payload of exactly the documented shape. Fills
 * *out on success and zeroes it on failure. VEIL_E_VERIFY for a bad
 * signature, another algorithm or the wrong key; VEIL_E_MALFORMED for a
 * bad shape; VEIL_E_UNSUPPORTED only for a "ver" other than 1 (under a good
 * signature); VEIL_E_LIMIT above VEIL_RECEIPT_MAX_BYTES.
 */
VEIL_MUST_CHECK veil_err veil_receipt_verify(const veil_jwk *key, const char *jws, size_t len,
					     veil_receipt *out);

/* What the checker knows; NULL members are not checked. */
typedef struct veil_receipt_expect {
	const char *worker;
	const uint8_t *evidence, *model_digest, *request, *response; /* 32 bytes each */
} veil_receipt_expect;
/*
 * Compares a verified receipt with what the checker knows: every non-NULL
 * pointer in want must match. VEIL_E_MISMATCH naming the first field that
 * differs, in the order worker, evidence, model, request, response.
 */
VEIL_MUST_CHECK veil_err veil_receipt_check(const veil_receipt *r, const veil_receipt_expect *want);

#endif

/*
 * test_receipt_util.h - helpers shared by the receipt tests (header-only,
 * static inline).
 *
 * One P-256 receipt key per test binary (made on first use), a sample
 * receipt whose every field differs from every other, and a writer of
 * the payload text that follows docs/receipt.md on its own, with
 * snprintf, so the signer is compared with the document rather than with
 * itself. rc_signed() signs any header and payload text with the receipt
 * key through the raw signature step, to reach the checks that come after
 * the signature with shapes veil_receipt_sign never writes.
 */
#ifndef VEIL_TEST_RECEIPT_UTIL_H
#define VEIL_TEST_RECEIPT_UTIL_H

#include <inttypes.h>

#include "test_jose_util.h"
#include "veil/receipt.h"

#define RC_NOW     1790000000 /* 2026-09-21 */
#define RC_INT_MAX "9007199254740991"

static veil_jwk *rc_key_pair, *rc_key_public;

/* The receipt key pair; its public half as a separate key. */
static inline veil_jwk *rc_key(void)
{
	if (rc_key_pair == NULL) {
		rc_key_pair = gen(VEIL_JWK_EC_P256);
		rc_key_public = pub_of(rc_key_pair);
	}
	return rc_key_pair;
}

static inline veil_jwk *rc_pub(void)
{
	rc_key();
	return rc_key_public;
}

static inline void rc_keys_free(void)
{
	veil_jwk_free(rc_key_pair);
	veil_jwk_free(rc_key_public);
	rc_key_pair = rc_key_public = NULL;
}

static inline veil_receipt rc_sample(void)
{
	veil_receipt r;

	memset(&r, 0, sizeof r);
	snprintf(r.worker, sizeof r.worker, "%s", "worker-7f3a");
	snprintf(r.id, sizeof r.id, "%s", "chatcmpl-9c2e41d0");
	snprintf(r.model, sizeof r.model, "%s", "llama-3.1-8b-instruct");
	for (int i = 0; i < 32; i++) {
		r.evidence[i] = (uint8_t)i;
		r.model_digest[i] = (uint8_t)(0xa0 + i);
		r.request[i] = (uint8_t)(0x37 * i + 1);
		r.response[i] = (uint8_t)(0xff - i);
	}
	r.prompt_tokens = 17;
	r.completion_tokens = 42;
	r.created = RC_NOW;
	r.stream = true;
	r.ohttp = false;
	return r;
}

static inline void rc_hex(const uint8_t *d, char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

/* docs/receipt.md's payload for r, whose strings need no JSON escapes. */
static inline void rc_payload_text(const veil_receipt *r, char *buf, size_t cap)
{
	char ev[65], md[65], rq[65], rs[65];

	rc_hex(r->evidence, ev);
	rc_hex(r->model_digest, md);
	rc_hex(r->request, rq);
	rc_hex(r->response, rs);
	snprintf(buf, cap,
		 "{\"ver\":1,\"worker\":\"%s\",\"id\":\"%s\",\"model\":\"%s\",\"iat\":%" PRId64
		 ",\"evidence_sha256\":\"%s\",\"model_sha256\":\"%s\",\"request_sha256\":\"%s\","
		 "\"response_sha256\":\"%s\",\"usage\":{\"prompt_tokens\":%" PRIu64
		 ",\"completion_tokens\":%" PRIu64 ",\"total_tokens\":%" PRIu64
		 "},\"stream\":%s,\"ohttp\":%s}",
		 r->worker, r->id, r->model, r->created, ev, md, rq, rs, r->prompt_tokens,
		 r->completion_tokens, r->prompt_tokens + r->completion_tokens,
		 r->stream ? "true" : "false", r->ohttp ? "true" : "false");
}

/* The header veil_receipt_sign writes for key k. */
static inline void rc_header_text(const veil_jwk *k, char *buf, size_t cap)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1];

	if (veil_jwk_thumbprint_b64(k, kid) != VEIL_OK)
		setup_fail("thumbprint");
	snprintf(buf, cap, "{\"alg\":\"ES256\",\"typ\":\"%s\",\"kid\":\"%s\"}", VEIL_RECEIPT_TYP,
		 kid);
}

/* A compact JWS of header and payload text signed ES256 by the receipt
 * key (caller frees). */
static inline char *rc_signed(const char *header, const char *payload)
{
	return sign_raw(rc_key(), VEIL_JWS_ES256, header, payload);
}

/* Signs payload text under the right header and verifies it. */
static inline veil_err rc_verify_payload(const char *payload, veil_receipt *out)
{
	char header[256];
	char *jws;
	veil_err err;

	rc_header_text(rc_key(), header, sizeof header);
	jws = rc_signed(header, payload);
	err = veil_receipt_verify(rc_pub(), jws, strlen(jws), out);
	free(jws);
	return err;
}

/* The same for a JSON value (taken over: decref'd here). */
static inline veil_err rc_verify_json(json_t *payload)
{
	veil_receipt r;
	char *text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
	veil_err err;

	if (text == NULL)
		setup_fail("json_dumps");
	err = rc_verify_payload(text, &r);
	free(text);
	json_decref(payload);
	return err;
}

/* The sample's payload as a JSON object (caller json_decrefs). */
static inline json_t *rc_sample_json(void)
{
	veil_receipt r = rc_sample();
	char text[1024];
	json_t *v = NULL;

	rc_payload_text(&r, text, sizeof text);
	if (veil_json_parse((const uint8_t *)text, strlen(text), &v) != VEIL_OK)
		setup_fail("sample payload");
	return v;
}

#endif

/*
 * receipt.c - signing, verifying and checking receipts (receipt.h,
 * docs/receipt.md).
 *
 * veil-worker signs one receipt per response; `veil chat`, `veil proxy`
 * and `veil audit` verify them with this same code, so the two ends cannot
 * drift apart. The JWS itself is src/jose's; this file fixes the profile:
 * ES256 only (RFC 7518 section 3.4), an explicit "typ" (RFC 8725 section
 * 3.11), a "kid" that must be the verifying key's RFC 7638 thumbprint, and
 * a payload whose every member is required, typed and bounded. A receipt
 * is a claim a user may show a third party, so anything that two readers
 * could read two ways (extra members, duplicate members, upper-case hex,
 * integers beyond 2^53, a total that is not the sum) is refused rather
 * than interpreted.
 *
 * Error details never quote the request or response digests: they are
 * digests of a user's prompt and answer, which a short prompt does not
 * hide from a guesser.
 */
#include "veil/receipt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "veil/codec.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define DIGEST_LEN 32
#define DIGEST_HEX (2 * DIGEST_LEN)

static const char *const payload_members[] = {
    "ver",
    "worker",
    "id",
    "model",
    "iat",
    "evidence_sha256",
    "model_sha256",
    "request_sha256",
    "response_sha256",
    "usage",
    "stream",
    "ohttp",
    NULL,
};
static const char *const usage_members[] = {"prompt_tokens", "completion_tokens", "total_tokens",
					    NULL};
static const veil_jws_profile receipt_profile = {"receipt", VEIL_RECEIPT_TYP,
						 VEIL_RECEIPT_MAX_BYTES};

/*
 * Whether s[0..n) is well-formed UTF-8 (RFC 3629 section 4: no overlong
 * forms, no surrogates, nothing above U+10FFFF) without control characters:
 * C0, DEL and C1 (U+0080..U+009F). A receipt's strings end up on a user's
 * terminal and in audit reports, where a control character could forge or
 * hide text.
 */
static bool text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], need, cp, min;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += need + 1;
	}
	return true;
}

/* A string field of r for signing: NUL-terminated inside its array, within
 * the cap, and text a verifier accepts. */
static veil_err field_text(const char *name, const char *s, size_t *len)
{
	*len = strnlen(s, VEIL_RECEIPT_TEXT_MAX + 1);
	ENSURE(*len <= VEIL_RECEIPT_TEXT_MAX, VEIL_E_USAGE,
	       "receipt %s is not NUL-terminated within %d bytes", name, VEIL_RECEIPT_TEXT_MAX);
	ENSURE(text_ok(s, *len), VEIL_E_USAGE,
	       "receipt %s is not UTF-8 text without control characters", name);
	return VEIL_OK;
}

/* The payload as compact JSON, members in the documented order (jansson
 * keeps insertion order). */
static veil_err payload_text(const veil_receipt *r, char **out, size_t *out_len)
{
	char ev[DIGEST_HEX + 1], md[DIGEST_HEX + 1], rq[DIGEST_HEX + 1], rs[DIGEST_HEX + 1];
	size_t wl, il, ml;
	json_t *p;

	TRY(field_text("worker", r->worker, &wl));
	TRY(field_text("id", r->id, &il));
	TRY(field_text("model", r->model, &ml));
	ENSURE(r->created >= 1 && r->created <= VEIL_RECEIPT_INT_MAX, VEIL_E_USAGE,
	       "receipt creation time %" PRId64 " is not a positive Unix time", r->created);
	ENSURE(r->prompt_tokens <= (uint64_t)VEIL_RECEIPT_INT_MAX &&
		   r->completion_tokens <= (uint64_t)VEIL_RECEIPT_INT_MAX - r->prompt_tokens,
	       VEIL_E_USAGE, "receipt token counts %" PRIu64 " + %" PRIu64 " are above 2^53 - 1",
	       r->prompt_tokens, r->completion_tokens);
	veil_hex_encode(r->evidence, DIGEST_LEN, ev);
	veil_hex_encode(r->model_digest, DIGEST_LEN, md);
	veil_hex_encode(r->request, DIGEST_LEN, rq);
	veil_hex_encode(r->response, DIGEST_LEN, rs);
	p = json_pack("{s:I, s:s%, s:s%, s:s%, s:I, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I}, s:b, "
		      "s:b}",
		      "ver", (json_int_t)VEIL_RECEIPT_VERSION, "worker", r->worker, wl, "id", r->id,
		      il, "model", r->model, ml, "iat", (json_int_t)r->created, "evidence_sha256",
		      ev, "model_sha256", md, "request_sha256", rq, "response_sha256", rs, "usage",
		      "prompt_tokens", (json_int_t)r->prompt_tokens, "completion_tokens",
		      (json_int_t)r->completion_tokens, "total_tokens",
		      (json_int_t)(r->prompt_tokens + r->completion_tokens), "stream",
		      (int)r->stream, "ohttp", (int)r->ohttp);
	ENSURE(p != NULL, VEIL_E_NOMEM, "receipt payload");
	*out = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	ENSURE(*out != NULL, VEIL_E_NOMEM, "receipt payload");
	*out_len = strlen(*out);
	return VEIL_OK;
}

veil_err veil_receipt_sign(const veil_jwk *key, const veil_receipt *r, char **out)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1], *payload = NULL, *tok = NULL;
	size_t payload_len = 0, tok_len = 0;
	json_t *header = NULL;
	veil_err err;

	ENSURE(out != NULL && r != NULL, VEIL_E_USAGE, "veil_receipt_sign: NULL argument");
	*out = NULL;
	TRY(veil_jws_profile_key(&receipt_profile, key, true));
	TRY(veil_jwk_thumbprint_b64(key, kid));
	TRY(payload_text(r, &payload, &payload_len));
	/* veil_jws_sign writes "alg" first, then these in this order. */
	header = json_pack("{s:s, s:s}", "typ", VEIL_RECEIPT_TYP, "kid", kid);
	CHECK_THAT(header != NULL, VEIL_E_NOMEM, "receipt header");
	CHECK(veil_jws_sign(key, header, (const uint8_t *)payload, payload_len, &tok, &tok_len));
	/* Cannot happen with the caps above; a receipt no verifier takes
	 * must not be sent. */
	CHECK_THAT(tok_len <= VEIL_RECEIPT_MAX_BYTES, VEIL_E_LIMIT,
		   "receipt of %zu bytes is over the %d-byte limit", tok_len,
		   VEIL_RECEIPT_MAX_BYTES);
	*out = tok;
	tok = NULL;
out:
	free(tok);
	free(payload);
	json_decref(header);
	return err;
}

static veil_err get_text(const json_t *p, const char *key, char *out)
{
	const json_t *v = json_object_get(p, key);
	size_t n;

	ENSURE(v != NULL, VEIL_E_MALFORMED, "receipt has no \"%s\"", key);
	ENSURE(json_is_string(v), VEIL_E_MALFORMED, "receipt \"%s\" is not a string", key);
	n = json_string_length(v);
	ENSURE(n <= VEIL_RECEIPT_TEXT_MAX, VEIL_E_MALFORMED, "receipt \"%s\" is %zu bytes, over %d",
	       key, n, VEIL_RECEIPT_TEXT_MAX);
	/* jansson refuses \u0000 (no JSON_ALLOW_NUL) and bad UTF-8 already. */
	ENSURE(text_ok(json_string_value(v), n), VEIL_E_MALFORMED,
	       "receipt \"%s\" has a control character", key);
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	return VEIL_OK;
}

/* Exactly 64 lower-case hex digits: one spelling per digest, so two
 * receipts over one digest carry the same text. */
static veil_err get_digest(const json_t *p, const char *key, uint8_t out[DIGEST_LEN])
{
	const json_t *v = json_object_get(p, key);
	const char *s;
	size_t n;

	ENSURE(v != NULL, VEIL_E_MALFORMED, "receipt has no \"%s\"", key);
	ENSURE(json_is_string(v), VEIL_E_MALFORMED, "receipt \"%s\" is not a string", key);
	s = json_string_value(v);
	ENSURE(json_string_length(v) == DIGEST_HEX, VEIL_E_MALFORMED,
	       "receipt \"%s\" has %zu characters, not %d hex digits", key, json_string_length(v),
	       DIGEST_HEX);
	for (size_t i = 0; i < DIGEST_HEX; i++)
		ENSURE((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'),
		       VEIL_E_MALFORMED, "receipt \"%s\" has a character other than 0-9a-f at %zu",
		       key, i);
	return veil_hex_decode(s, DIGEST_HEX, out, DIGEST_LEN, &n);
}

static veil_err get_count(const json_t *obj, const char *key, int64_t min, int64_t *out)
{
	const json_t *v = json_object_get(obj, key);

	ENSURE(v != NULL, VEIL_E_MALFORMED, "receipt has no \"%s\"", key);
	/* veil_json_parse makes an integer of every number without fraction
	 * or exponent; 1.0 or 1e3 stays a real and is refused. */
	ENSURE(json_is_integer(v), VEIL_E_MALFORMED, "receipt \"%s\" is not an integer", key);
	ENSURE(json_integer_value(v) >= min && json_integer_value(v) <= VEIL_RECEIPT_INT_MAX,
	       VEIL_E_MALFORMED, "receipt \"%s\" is %" PRId64 ", outside %" PRId64 "..2^53-1", key,
	       (int64_t)json_integer_value(v), min);
	*out = (int64_t)json_integer_value(v);
	return VEIL_OK;
}

static veil_err get_bool(const json_t *p, const char *key, bool *out)
{
	const json_t *v = json_object_get(p, key);

	ENSURE(v != NULL, VEIL_E_MALFORMED, "receipt has no \"%s\"", key);
	ENSURE(json_is_boolean(v), VEIL_E_MALFORMED, "receipt \"%s\" is not true or false", key);
	*out = json_is_true(v);
	return VEIL_OK;
}

/* The payload of a verified receipt into r. The version comes first: it
 * decides which shape the rest must have. */
static veil_err payload_read(const json_t *p, veil_receipt *r)
{
	const json_t *ver = json_object_get(p, "ver"), *usage;
	int64_t prompt, completion, total;

	ENSURE(json_is_object(p), VEIL_E_MALFORMED, "receipt payload is not a JSON object");
	ENSURE(ver != NULL, VEIL_E_MALFORMED, "receipt has no \"ver\"");
	ENSURE(json_is_integer(ver), VEIL_E_MALFORMED, "receipt \"ver\" is not an integer");
	ENSURE(json_integer_value(ver) == VEIL_RECEIPT_VERSION, VEIL_E_UNSUPPORTED,
	       "receipt version %" PRId64 "; this build reads version %d",
	       (int64_t)json_integer_value(ver), VEIL_RECEIPT_VERSION);
	TRY(veil_json_only_members(p, "the receipt", payload_members));
	TRY(get_text(p, "worker", r->worker));
	TRY(get_text(p, "id", r->id));
	TRY(get_text(p, "model", r->model));
	TRY(get_count(p, "iat", 1, &r->created));
	TRY(get_digest(p, "evidence_sha256", r->evidence));
	TRY(get_digest(p, "model_sha256", r->model_digest));
	TRY(get_digest(p, "request_sha256", r->request));
	TRY(get_digest(p, "response_sha256", r->response));
	usage = json_object_get(p, "usage");
	ENSURE(usage != NULL, VEIL_E_MALFORMED, "receipt has no \"usage\"");
	ENSURE(json_is_object(usage), VEIL_E_MALFORMED, "receipt \"usage\" is not an object");
	TRY(veil_json_only_members(usage, "the receipt's usage", usage_members));
	TRY(get_count(usage, "prompt_tokens", 0, &prompt));
	TRY(get_count(usage, "completion_tokens", 0, &completion));
	TRY(get_count(usage, "total_tokens", 0, &total));
	/* Both are below 2^53, so the sum cannot overflow. */
	ENSURE(total == prompt + completion, VEIL_E_MALFORMED,
	       "receipt total_tokens %" PRId64 " is not prompt %" PRId64 " + completion %" PRId64,
	       total, prompt, completion);
	r->prompt_tokens = (uint64_t)prompt;
	r->completion_tokens = (uint64_t)completion;
	TRY(get_bool(p, "stream", &r->stream));
	TRY(get_bool(p, "ohttp", &r->ohttp));
	return VEIL_OK;
}

veil_err veil_receipt_verify(const veil_jwk *key, const char *jws, size_t len, veil_receipt *out)
{
	json_t *payload = NULL;
	veil_receipt r;
	veil_err err;

	ENSURE(out != NULL, VEIL_E_USAGE, "veil_receipt_verify: NULL output");
	memset(out, 0, sizeof *out);
	memset(&r, 0, sizeof r);
	CHECK(veil_jws_profile_verify(&receipt_profile, key, jws, len, &payload));
	CHECK(payload_read(payload, &r));
	*out = r;
out:
	json_decref(payload);
	return err;
}

/* The first 8 hex digits of a digest, enough to tell two apart in a
 * message. */
static void digest_prefix(const uint8_t *d, char out[9])
{
	veil_hex_encode(d, 4, out);
}

veil_err veil_receipt_check(const veil_receipt *r, const veil_receipt_expect *want)
{
	char a[9], b[9];

	ENSURE(r != NULL && want != NULL, VEIL_E_USAGE, "veil_receipt_check: NULL argument");
	ENSURE(want->worker == NULL || strcmp(r->worker, want->worker) == 0, VEIL_E_MISMATCH,
	       "receipt is from worker \"%.128s\", not \"%.128s\"", r->worker, want->worker);
	if (want->evidence != NULL && !veil_ct_equal(r->evidence, want->evidence, DIGEST_LEN)) {
		digest_prefix(r->evidence, a);
		digest_prefix(want->evidence, b);
		return veil_fail(VEIL_E_MISMATCH,
				 "receipt evidence_sha256 %s... is not the evidence checked "
				 "(%s...); fetch and verify the worker's current evidence",
				 a, b);
	}
	if (want->model_digest != NULL &&
	    !veil_ct_equal(r->model_digest, want->model_digest, DIGEST_LEN)) {
		digest_prefix(r->model_digest, a);
		digest_prefix(want->model_digest, b);
		return veil_fail(VEIL_E_MISMATCH,
				 "receipt model_sha256 %s... is not the expected model (%s...)", a,
				 b);
	}
	/* No digits for these two: they are digests of the user's text. */
	ENSURE(want->request == NULL || veil_ct_equal(r->request, want->request, DIGEST_LEN),
	       VEIL_E_MISMATCH, "receipt request_sha256 is not the digest of the request sent");
	ENSURE(want->response == NULL || veil_ct_equal(r->response, want->response, DIGEST_LEN),
	       VEIL_E_MISMATCH,
	       "receipt response_sha256 is not the digest of the response received");
	return VEIL_OK;
}

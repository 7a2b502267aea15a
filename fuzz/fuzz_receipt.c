/*
 * fuzz_receipt.c - receipt verification (src/receipt/receipt.c) against a
 * fixed P-256 receipt key (fuzz_jose_util.h).
 *
 * A client verifies receipts that arrive in a response header or the last
 * chunk of a stream, through a gateway it does not trust: the size cap,
 * the three-part split, the header rules and, under a good signature, the
 * payload's shape all see hostile bytes. The seeds in
 * fuzz/seeds/fuzz_receipt/ are receipts signed by this key and bare
 * payloads; an input that starts with '{' is also signed on the spot, so
 * the payload checks see the fuzzer's own shapes, not only the few that
 * carry a good signature.
 *
 * Beyond "no crash", the properties: a failure leaves the output zeroed;
 * an accepted receipt is one the JWS layer accepts as ES256 too; it
 * matches itself under veil_receipt_check; and signing what was read
 * gives a receipt that verifies to the same fields (nothing accepted is
 * outside what the signer can write).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_jose_util.h"
#include "veil/receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static veil_jwk *p256;

static bool all_zero(const veil_receipt *r)
{
	static const veil_receipt zero;

	return memcmp(r, &zero, sizeof zero) == 0;
}

/* Field by field: struct assignment need not copy padding. */
static bool same(const veil_receipt *a, const veil_receipt *b)
{
	return strcmp(a->worker, b->worker) == 0 && strcmp(a->id, b->id) == 0 &&
	       strcmp(a->model, b->model) == 0 && memcmp(a->evidence, b->evidence, 32) == 0 &&
	       memcmp(a->model_digest, b->model_digest, 32) == 0 &&
	       memcmp(a->request, b->request, 32) == 0 &&
	       memcmp(a->response, b->response, 32) == 0 && a->prompt_tokens == b->prompt_tokens &&
	       a->completion_tokens == b->completion_tokens && a->created == b->created &&
	       a->stream == b->stream && a->ohttp == b->ohttp;
}

/* The properties above, for one receipt. */
static void one_receipt(const char *tok, size_t size)
{
	veil_receipt r, again;
	veil_receipt_expect self;
	veil_jws jws;
	char *resigned = NULL;

	if (veil_receipt_verify(p256, tok, size, &r) != VEIL_OK) {
		if (!all_zero(&r))
			abort();
		return;
	}
	if (veil_jws_verify(tok, size, p256, VEIL_JWS_ES256, &jws) != VEIL_OK)
		abort();
	veil_jws_clear(&jws);
	self = (veil_receipt_expect){.worker = r.worker,
				     .evidence = r.evidence,
				     .model_digest = r.model_digest,
				     .request = r.request,
				     .response = r.response};
	if (veil_receipt_check(&r, &self) != VEIL_OK)
		abort();
	if (veil_receipt_sign(p256, &r, &resigned) != VEIL_OK ||
	    veil_receipt_verify(p256, resigned, strlen(resigned), &again) != VEIL_OK ||
	    !same(&r, &again))
		abort();
	free(resigned);
}

/*
 * An input that starts with '{' is also taken as a payload and signed
 * under the right header: without the key, mutations of a signed receipt
 * stop at the signature, and this is how the fuzzer reaches the payload
 * checks with shapes of its own.
 */
static void signed_payload(const uint8_t *data, size_t size)
{
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1], *tok = NULL;
	size_t tok_len = 0;
	json_t *h;

	if (veil_jwk_thumbprint_b64(p256, kid) != VEIL_OK)
		abort();
	h = json_pack("{s:s, s:s}", "typ", VEIL_RECEIPT_TYP, "kid", kid);
	if (h == NULL)
		abort();
	if (veil_jws_sign(p256, h, data, size, &tok, &tok_len) == VEIL_OK)
		one_receipt(tok, tok_len);
	free(tok);
	json_decref(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_key(fuzz_p256_jwk, &p256);
	one_receipt((const char *)data, size);
	if (size > 0 && data[0] == '{')
		signed_payload(data, size);
	veil_err_clear();
	return 0;
}

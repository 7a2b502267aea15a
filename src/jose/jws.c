/*
 * jws.c - compact JWS (RFC 7515 section 7.1): BASE64URL(header) "."
 * BASE64URL(payload) "." BASE64URL(signature), signed over the ASCII of
 * the first two parts.
 *
 * Verification follows RFC 8725 (JWT Best Current Practices) section 3.1:
 * the algorithm comes from the caller's allow-list and must fit the
 * caller's key; the header only names which one of those was used. So "alg"
 * "none" (RFC 7518 section 3.6), the HMAC family (whose "key" an attacker
 * could take to be a public key), and every "crit" extension are refused,
 * and header members like "jwk", "x5c" or "jku" never choose the key.
 */
#include <stdlib.h>
#include <string.h>

#include "jose/jose_internal.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* Splits a compact JWS into its three parts; any other number is refused
 * (five parts is a compact JWE). */
static veil_err jws_split(const char *jws, size_t len, const char *part[3], size_t part_len[3])
{
	size_t start = 0, n = 0;

	ENSURE(len <= VEIL_JWS_MAX_BYTES, VEIL_E_LIMIT,
	       "JWS of %zu bytes is over the %d-byte limit", len, VEIL_JWS_MAX_BYTES);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && jws[i] != '.')
			continue;
		ENSURE(n < 3, VEIL_E_MALFORMED, "JWS has more than three parts");
		part[n] = jws + start;
		part_len[n++] = i - start;
		start = i + 1;
	}
	ENSURE(n == 3, VEIL_E_MALFORMED, "JWS has %zu parts, not three", n);
	return VEIL_OK;
}

static veil_err header_decode(const char *b64, size_t len, json_t **out)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	veil_err err;

	TRY(jose_b64_decode("JWS header", b64, len, VEIL_JOSE_HEADER_MAX, &buf, &n));
	err = jose_json_object(buf, n, VEIL_JOSE_HEADER_MAX, "JWS header", out);
	free(buf);
	return err;
}

/* The checks on a protected header that do not depend on the key. */
static veil_err header_alg(const json_t *h, unsigned allowed, unsigned *alg)
{
	const char *name;

	TRY(jose_opt_string(h, "JWS header", "alg", &name));
	ENSURE(name != NULL, VEIL_E_MALFORMED, "JWS header without \"alg\"");
	/* RFC 8725 section 3.2: an unsecured JWS is never accepted. */
	ENSURE(strcmp(name, "none") != 0, VEIL_E_UNSUPPORTED,
	       "JWS \"alg\":\"none\" (unsigned) is refused");
	*alg = jose_sig_alg_by_name(name);
	ENSURE(*alg != 0, VEIL_E_UNSUPPORTED,
	       "JWS \"alg\":\"%.32s\" is not supported (ES256, ES384, ES512, EdDSA)", name);
	ENSURE((*alg & allowed) != 0, VEIL_E_UNSUPPORTED, "JWS \"alg\":\"%s\" is not allowed here",
	       name);
	/* RFC 7515 section 4.1.11: extensions in "crit" must be understood,
	 * and this code understands none. */
	ENSURE(json_object_get(h, "crit") == NULL, VEIL_E_UNSUPPORTED,
	       "JWS header has \"crit\"; no extension is supported");
	/* RFC 7797 section 3: "b64" changes what is signed. */
	ENSURE(json_object_get(h, "b64") == NULL, VEIL_E_UNSUPPORTED,
	       "JWS header has \"b64\" (RFC 7797), which is not supported");
	/* RFC 7516 section 9: an "enc" member makes it a JWE header. */
	ENSURE(json_object_get(h, "enc") == NULL, VEIL_E_MALFORMED,
	       "JWS header has \"enc\": a JWE header");
	return VEIL_OK;
}

veil_err veil_jws_peek_header(const char *jws, size_t len, json_t **header)
{
	const char *part[3];
	size_t part_len[3];

	TRY(jws_split(jws, len, part, part_len));
	return header_decode(part[0], part_len[0], header);
}

veil_err veil_jws_verify(const char *jws, size_t len, const veil_jwk *key, unsigned allowed,
			 veil_jws *out)
{
	const char *part[3];
	size_t part_len[3], sig_len = 0;
	json_t *h = NULL;
	uint8_t *sig = NULL;
	unsigned alg = 0;
	veil_err err;

	memset(out, 0, sizeof *out);
	TRY(jws_split(jws, len, part, part_len));
	TRY(header_decode(part[0], part_len[0], &h));
	CHECK(header_alg(h, allowed, &alg));
	CHECK(jose_b64_decode("JWS signature", part[2], part_len[2], JOSE_SIG_MAX, &sig, &sig_len));
	/* RFC 7515 section 5.2 step 8: the signing input is the ASCII of the
	 * encoded header, a period and the encoded payload, as received. */
	CHECK(jose_sig_verify(key, alg, (const uint8_t *)jws, part_len[0] + 1 + part_len[1], sig,
			      sig_len));
	CHECK(jose_b64_decode("JWS payload", part[1], part_len[1], VEIL_JWS_MAX_BYTES,
			      &out->payload, &out->payload_len));
	out->header = h;
	out->alg = alg;
	h = NULL;
out:
	free(sig);
	json_decref(h);
	return err;
}

void veil_jws_clear(veil_jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	veil_free_secret(jws->payload, jws->payload_len + 1);
	memset(jws, 0, sizeof *jws);
}

/* The protected header as compact JSON: "alg" first, then "typ" when
 * typ is not NULL and `header` has none, then the caller's members. */
static veil_err header_text(const char *alg, const char *typ, const json_t *header, char **out,
			    size_t *out_len)
{
	json_t *h = json_object();
	const char *key;
	json_t *v;
	veil_err err = VEIL_OK;

	ENSURE(h != NULL, VEIL_E_NOMEM, "JWS header");
	if (json_object_set_new(h, "alg", json_string(alg)) != 0)
		err = veil_fail(VEIL_E_NOMEM, "JWS header");
	if (err == VEIL_OK && header != NULL && !json_is_object(header))
		err = veil_fail(VEIL_E_USAGE, "JWS header: not a JSON object");
	if (err == VEIL_OK && typ != NULL && json_object_get(header, "typ") == NULL &&
	    json_object_set_new(h, "typ", json_string(typ)) != 0)
		err = veil_fail(VEIL_E_NOMEM, "JWS header");
	if (err == VEIL_OK && header != NULL) {
		/* jansson keeps members in insertion order (since 2.8). */
		json_object_foreach((json_t *)header, key, v)
		{
			if (strcmp(key, "alg") == 0 || strcmp(key, "crit") == 0 ||
			    strcmp(key, "b64") == 0) {
				err = veil_fail(VEIL_E_USAGE,
						"JWS header: \"%s\" is set by veil_jws_sign or "
						"not supported",
						key);
				break;
			}
			if (json_object_set(h, key, v) != 0) {
				err = veil_fail(VEIL_E_NOMEM, "JWS header");
				break;
			}
		}
	}
	if (err == VEIL_OK) {
		*out = json_dumps(h, JSON_COMPACT);
		if (*out == NULL)
			err = veil_fail(VEIL_E_MALFORMED, "JWS header does not serialise");
		else
			*out_len = strlen(*out);
	}
	json_decref(h);
	return err;
}

veil_err jose_jws_sign_typ(const veil_jwk *key, const json_t *header, const char *typ,
			   const uint8_t *payload, size_t payload_len, char **out, size_t *out_len)
{
	unsigned alg = veil_jws_alg_for_key(key);
	char *htext = NULL;
	size_t hlen = 0, sig_len = 0;
	uint8_t sig[JOSE_SIG_MAX], *buf;
	veil_writer w;
	veil_err err;

	ENSURE(alg != 0, VEIL_E_UNSUPPORTED,
	       "%s keys do not sign JWS here (ES256, ES384, "
	       "ES512, EdDSA)",
	       veil_jwk_type_name(key->type));
	ENSURE(key->priv, VEIL_E_USAGE, "signing needs a private key");
	TRY(header_text(veil_jws_alg_name(alg), typ, header, &htext, &hlen));
	veil_writer_init(&w, VEIL_JWS_MAX_BYTES);
	err = jose_b64_put(&w, (const uint8_t *)htext, hlen);
	if (err == VEIL_OK)
		err = veil_writer_putc(&w, '.');
	if (err == VEIL_OK)
		err = jose_b64_put(&w, payload, payload_len);
	/* RFC 7515 section 5.1 step 5: sign the ASCII written so far. */
	if (err == VEIL_OK)
		err = jose_sig_sign(key, alg, w.data, w.len, sig, &sig_len);
	if (err == VEIL_OK)
		err = veil_writer_putc(&w, '.');
	if (err == VEIL_OK)
		err = jose_b64_put(&w, sig, sig_len);
	if (err == VEIL_OK)
		err = veil_writer_take(&w, &buf, out_len);
	if (err == VEIL_OK)
		*out = (char *)buf;
	veil_writer_clear(&w);
	free(htext);
	return err;
}

veil_err veil_jws_sign(const veil_jwk *key, const json_t *header, const uint8_t *payload,
		       size_t payload_len, char **out, size_t *out_len)
{
	return jose_jws_sign_typ(key, header, NULL, payload, payload_len, out, out_len);
}

/*
 * auth.c - POST /kbs/v0/auth: the Request and Challenge of the KBS
 * protocol's RCAR handshake (docs/kbs-protocol.md section 1).
 *
 * The client names the protocol version and its TEE; the broker answers
 * with 32 fresh random bytes as the nonce (standard base64, as Trustee
 * sends it) and a new session, named by the kbs-session-id cookie, that
 * remembers the nonce and the TEE until it expires. Nothing the client sends
 * here is trusted later: the TEE type only selects the verifier, and the
 * evidence must still verify as that type.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/timeutil.h"

static const char *const auth_members[] = {"version", "tee", "extra-params", NULL};

/* The TEE names Veil verifies, as kbs-types spells them, plus Veil's own
 * simulated one. Anything else is refused at once rather than at attest. */
static bool tee_known(const char *tee)
{
	static const char *const known[] = {"snp", "tdx", "sample", "sim", NULL};
	for (size_t i = 0; known[i] != NULL; i++)
		if (strcmp(tee, known[i]) == 0)
			return true;
	return false;
}

/* RFC 6265 section 4.1.1: an HTTP-date for Expires. */
static void http_date(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

veil_err kbs_auth_request_parse(const uint8_t *body, size_t len, char tee_out[32])
{
	json_t *req = NULL;
	const char *version, *tee;
	veil_err err;

	tee_out[0] = '\0';
	CHECK(veil_json_parse(body, len, &req));
	CHECK(veil_json_only_members(req, "the auth request", auth_members));
	CHECK(veil_json_get_string(req, "version", &version));
	CHECK(veil_json_get_string(req, "tee", &tee));
	CHECK_THAT(json_object_get(req, "extra-params") != NULL, VEIL_E_MALFORMED,
		   "the auth request has no \"extra-params\"");
	/* Trustee requires exactly 0.4.0 (semver "=0.4.0"). */
	CHECK_THAT(strcmp(version, KBS_PROTOCOL_VERSION) == 0, VEIL_E_UNSUPPORTED,
		   "KBS Client Protocol Version Mismatch: expect =%s while the request is %.32s",
		   KBS_PROTOCOL_VERSION, version);
	CHECK_THAT(tee_known(tee) && strlen(tee) < 32, VEIL_E_UNSUPPORTED,
		   "TEE \"%.32s\" is not supported", tee);
	snprintf(tee_out, 32, "%s", tee);
out:
	json_decref(req);
	return err;
}

void kbs_handle_auth(veil_http_request *r, void *user)
{
	veil_kbs *k = user;
	size_t len;
	const uint8_t *body = veil_http_body(r, &len);
	veil_store_session sess = {0};
	uint8_t id_bytes[16];
	char nonce_b64[45], cookie[160], expires[40];
	veil_err err;

	err = kbs_auth_request_parse(body, len, sess.tee);
	if (err != VEIL_OK) {
		kbs_reply_error(r, 400, "AttestationError", "RCAR handshake Auth failed: %s",
				veil_err_detail());
		return;
	}
	if (RAND_bytes(id_bytes, sizeof id_bytes) != 1 ||
	    RAND_bytes(sess.nonce, sizeof sess.nonce) != 1) {
		kbs_reply_error(r, 500, "AttestationError", "no randomness");
		return;
	}
	/* A UUIDv4-sized id in simple form (32 hex digits), as Trustee's. */
	veil_hex_encode(id_bytes, sizeof id_bytes, sess.id);
	sess.expires = kbs_now(k) + k->config.session_lifetime_s;
	err = veil_store_session_create(k->config.store, &sess);
	if (err != VEIL_OK) {
		kbs_reply_error(r, 500, "AttestationError", "cannot keep the session: %s",
				veil_err_detail());
		return;
	}
	veil_base64_encode(sess.nonce, sizeof sess.nonce, nonce_b64);
	http_date(sess.expires, expires);
	/* Trustee sets only Expires; over TLS the cookie is also kept from
	 * scripts and from plain HTTP (RFC 6265 sections 4.1.2.5 and 4.1.2.6). */
	snprintf(cookie, sizeof cookie, "%s=%s; Expires=%s%s", KBS_COOKIE, sess.id, expires,
		 veil_http_request_tls(r) ? "; HttpOnly; Secure" : "");
	if (veil_http_add_header(r, "Set-Cookie", cookie) != VEIL_OK) {
		kbs_reply_error(r, 500, "AttestationError", "cannot set the session cookie");
		return;
	}
	atomic_fetch_add(&k->metrics.auth, 1);
	veil_http_reply_json(r, 200,
			     json_pack("{s:s, s:s}", "nonce", nonce_b64, "extra-params", ""));
}

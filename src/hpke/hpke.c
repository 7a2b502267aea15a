/*
 * hpke.c - HPKE (RFC 9180): DHKEM(X25519, HKDF-SHA256) encapsulation, the
 * key schedule for all four modes, and the encryption context.
 *
 * The KEM and key schedule follow sections 4.1, 5.1 and 7.1 step by step;
 * each intermediate secret lives on the stack and is wiped before return,
 * and a context keeps only what it needs afterwards: the AEAD key (inside
 * its veil_aead), the base nonce, the sequence number and the exporter
 * secret.
 */
#include <string.h>

#include "hpke_internal.h"
#include "veil/hpke.h"
#include "veil/secret.h"

#define HPKE_VERSION_LABEL "HPKE-v1"
#define HPKE_SUITE_ID_LEN  10 /* "HPKE" || kem || kdf || aead */
#define PSK_MIN_LEN        32 /* RFC 9180 section 5.1.2: 32 bytes of entropy */

veil_err hpke_labeled_extract(const uint8_t *suite_id, size_t suite_id_len, const uint8_t *salt,
			      size_t salt_len, const char *label, const uint8_t *ikm,
			      size_t ikm_len, uint8_t prk[32])
{
	/* labeled_ikm = concat("HPKE-v1", suite_id, label, ikm) */
	const uint8_t *m[4] = {(const uint8_t *)HPKE_VERSION_LABEL, suite_id,
			       (const uint8_t *)label, ikm};
	const size_t ml[4] = {sizeof HPKE_VERSION_LABEL - 1, suite_id_len, strlen(label), ikm_len};
	return veil_hmac_sha256v(salt, salt_len, m, ml, 4, prk);
}

veil_err hpke_labeled_expand(const uint8_t prk[32], const uint8_t *suite_id, size_t suite_id_len,
			     const char *label, const uint8_t *const *info, const size_t *info_len,
			     size_t info_count, uint8_t *out, size_t out_len)
{
	/* labeled_info = concat(I2OSP(L, 2), "HPKE-v1", suite_id, label, info) */
	const uint8_t *m[8];
	size_t ml[8], n = 0;
	uint8_t l2[2] = {(uint8_t)(out_len >> 8), (uint8_t)out_len};

	ENSURE(out_len <= 0xffff, VEIL_E_USAGE, "HPKE: %zu bytes asked of LabeledExpand", out_len);
	ENSURE(info_count <= 4, VEIL_E_USAGE, "HPKE: LabeledExpand info in too many pieces");
	m[n] = l2, ml[n++] = sizeof l2;
	m[n] = (const uint8_t *)HPKE_VERSION_LABEL, ml[n++] = sizeof HPKE_VERSION_LABEL - 1;
	m[n] = suite_id, ml[n++] = suite_id_len;
	m[n] = (const uint8_t *)label, ml[n++] = strlen(label);
	for (size_t i = 0; i < info_count; i++)
		m[n] = info[i], ml[n++] = info_len[i];
	return veil_hkdf_sha256_expandv(prk, 32, m, ml, n, out, out_len);
}

veil_err veil_hpke_suite_check(veil_hpke_suite s)
{
	ENSURE(s.kem == VEIL_HPKE_KEM_X25519_SHA256, VEIL_E_UNSUPPORTED,
	       "HPKE KEM 0x%04x is not supported (only DHKEM(X25519, HKDF-SHA256), 0x0020)", s.kem);
	ENSURE(s.kdf == VEIL_HPKE_KDF_HKDF_SHA256, VEIL_E_UNSUPPORTED,
	       "HPKE KDF 0x%04x is not supported (only HKDF-SHA256, 0x0001)", s.kdf);
	ENSURE(s.aead == VEIL_AEAD_EXPORT_ONLY || veil_aead_key_len(s.aead) != 0,
	       VEIL_E_UNSUPPORTED,
	       "HPKE AEAD 0x%04x is not supported (AES-128-GCM, AES-256-GCM, "
	       "ChaCha20-Poly1305 or export-only)",
	       s.aead);
	return VEIL_OK;
}

static void hpke_suite_id(veil_hpke_suite s, uint8_t id[HPKE_SUITE_ID_LEN])
{
	id[0] = 'H', id[1] = 'P', id[2] = 'K', id[3] = 'E';
	id[4] = (uint8_t)(s.kem >> 8), id[5] = (uint8_t)s.kem;
	id[6] = (uint8_t)(s.kdf >> 8), id[7] = (uint8_t)s.kdf;
	id[8] = (uint8_t)(s.aead >> 8), id[9] = (uint8_t)s.aead;
}

static bool mode_has_psk(veil_hpke_mode m)
{
	return m == VEIL_HPKE_MODE_PSK || m == VEIL_HPKE_MODE_AUTH_PSK;
}

static bool mode_has_auth(veil_hpke_mode m)
{
	return m == VEIL_HPKE_MODE_AUTH || m == VEIL_HPKE_MODE_AUTH_PSK;
}

/* Section 5.1 VerifyPSKInputs, and the sender key the auth modes need. */
static veil_err params_check(const veil_hpke_params *p, bool sender)
{
	bool got_psk = p->psk_len > 0, got_psk_id = p->psk_id_len > 0;

	TRY(veil_hpke_suite_check(p->suite));
	ENSURE(p->mode <= VEIL_HPKE_MODE_AUTH_PSK, VEIL_E_UNSUPPORTED, "HPKE mode %d is unknown",
	       (int)p->mode);
	ENSURE(got_psk == got_psk_id, VEIL_E_USAGE,
	       "HPKE: a PSK and a PSK id go together; one was given without the other");
	ENSURE(got_psk == mode_has_psk(p->mode), VEIL_E_USAGE,
	       got_psk ? "HPKE: a PSK was given for a mode without one"
		       : "HPKE: the PSK mode needs a PSK and a PSK id");
	ENSURE(!got_psk || p->psk_len >= PSK_MIN_LEN, VEIL_E_USAGE,
	       "HPKE: the PSK has %zu bytes; at least %d are required", p->psk_len, PSK_MIN_LEN);
	if (mode_has_auth(p->mode)) {
		ENSURE(sender ? p->sender_key != NULL && p->sender_key->pkey != NULL
			      : p->sender_pub != NULL,
		       VEIL_E_USAGE, "HPKE: the auth mode needs the sender's key");
	} else {
		ENSURE(p->sender_key == NULL && p->sender_pub == NULL, VEIL_E_USAGE,
		       "HPKE: a sender key was given for a mode without authentication");
	}
	return VEIL_OK;
}

/* Section 4.1 ExtractAndExpand(dh, kem_context). */
static veil_err kem_shared_secret(const uint8_t *dh, size_t dh_len, const uint8_t *const *kem_ctx,
				  const size_t *kem_ctx_len, size_t kem_ctx_count,
				  uint8_t shared[VEIL_HPKE_SECRET_LEN])
{
	uint8_t eae_prk[32];
	veil_err err;

	err = hpke_labeled_extract(hpke_kem_suite_id, sizeof hpke_kem_suite_id, NULL, 0, "eae_prk",
				   dh, dh_len, eae_prk);
	if (err == VEIL_OK)
		err = hpke_labeled_expand(eae_prk, hpke_kem_suite_id, sizeof hpke_kem_suite_id,
					  "shared_secret", kem_ctx, kem_ctx_len, kem_ctx_count,
					  shared, VEIL_HPKE_SECRET_LEN);
	veil_wipe(eae_prk, sizeof eae_prk);
	return err;
}

/* Section 5.1 KeySchedule. */
static veil_err key_schedule(veil_hpke_ctx *ctx, const veil_hpke_params *p,
			     const uint8_t shared[VEIL_HPKE_SECRET_LEN])
{
	uint8_t suite_id[HPKE_SUITE_ID_LEN], ksc[1 + 2 * 32], secret[32], key[VEIL_AEAD_KEY_MAX];
	const uint8_t *info[1] = {ksc};
	const size_t info_len[1] = {sizeof ksc};
	size_t nk = veil_aead_key_len(p->suite.aead);
	veil_err err;

	hpke_suite_id(p->suite, suite_id);
	/* key_schedule_context = mode || psk_id_hash || info_hash */
	ksc[0] = (uint8_t)p->mode;
	CHECK(hpke_labeled_extract(suite_id, sizeof suite_id, NULL, 0, "psk_id_hash", p->psk_id,
				   p->psk_id_len, ksc + 1));
	CHECK(hpke_labeled_extract(suite_id, sizeof suite_id, NULL, 0, "info_hash", p->info,
				   p->info_len, ksc + 33));
	CHECK(hpke_labeled_extract(suite_id, sizeof suite_id, shared, VEIL_HPKE_SECRET_LEN,
				   "secret", p->psk, p->psk_len, secret));
	/* An export-only suite has no key or nonce (section 5.3). */
	if (nk != 0) {
		CHECK(hpke_labeled_expand(secret, suite_id, sizeof suite_id, "key", info, info_len,
					  1, key, nk));
		CHECK(hpke_labeled_expand(secret, suite_id, sizeof suite_id, "base_nonce", info,
					  info_len, 1, ctx->base_nonce, sizeof ctx->base_nonce));
		CHECK(veil_aead_init(&ctx->aead, p->suite.aead, key, nk));
	}
	CHECK(hpke_labeled_expand(secret, suite_id, sizeof suite_id, "exp", info, info_len, 1,
				  ctx->exporter_secret, sizeof ctx->exporter_secret));
	ctx->suite = p->suite;
	ctx->seq = 0;
out:
	veil_wipe(secret, sizeof secret);
	veil_wipe(key, sizeof key);
	veil_wipe(ksc, sizeof ksc);
	return err;
}

veil_err hpke_setup_sender_with(veil_hpke_ctx *ctx, const veil_hpke_params *p,
				const uint8_t pk_r[VEIL_X25519_LEN], const veil_x25519_key *eph,
				uint8_t enc[VEIL_X25519_LEN])
{
	veil_x25519_key fresh = {0};
	const veil_x25519_key *e = eph;
	uint8_t dh[2 * VEIL_X25519_LEN], shared[VEIL_HPKE_SECRET_LEN];
	size_t dh_len = VEIL_X25519_LEN;
	veil_err err;

	memset(ctx, 0, sizeof *ctx);
	TRY(params_check(p, true));
	if (e == NULL) {
		TRY(veil_x25519_key_generate(&fresh));
		e = &fresh;
	}
	/* Section 4.1 Encap / AuthEncap: dh = DH(skE, pkR) [|| DH(skS, pkR)];
	 * kem_context = enc || pkRm [|| pkSm]. */
	CHECK(veil_x25519(e, pk_r, dh));
	if (mode_has_auth(p->mode)) {
		CHECK(veil_x25519(p->sender_key, pk_r, dh + VEIL_X25519_LEN));
		dh_len += VEIL_X25519_LEN;
	}
	{
		const uint8_t *kc[3] = {e->pub, pk_r,
					mode_has_auth(p->mode) ? p->sender_key->pub : NULL};
		const size_t kcl[3] = {VEIL_X25519_LEN, VEIL_X25519_LEN, VEIL_X25519_LEN};
		CHECK(
		    kem_shared_secret(dh, dh_len, kc, kcl, mode_has_auth(p->mode) ? 3 : 2, shared));
	}
	CHECK(key_schedule(ctx, p, shared));
	memcpy(enc, e->pub, VEIL_X25519_LEN);
	ctx->sender = true;
out:
	veil_x25519_key_clear(&fresh);
	veil_wipe(dh, sizeof dh);
	veil_wipe(shared, sizeof shared);
	if (err != VEIL_OK)
		veil_hpke_ctx_clear(ctx);
	return err;
}

veil_err veil_hpke_setup_sender(veil_hpke_ctx *ctx, const veil_hpke_params *p,
				const uint8_t pk_r[VEIL_X25519_LEN], uint8_t enc[VEIL_X25519_LEN])
{
	return hpke_setup_sender_with(ctx, p, pk_r, NULL, enc);
}

veil_err veil_hpke_setup_receiver(veil_hpke_ctx *ctx, const veil_hpke_params *p,
				  const veil_x25519_key *sk_r, const uint8_t *enc, size_t enc_len)
{
	uint8_t dh[2 * VEIL_X25519_LEN], shared[VEIL_HPKE_SECRET_LEN];
	size_t dh_len = VEIL_X25519_LEN;
	veil_err err;

	memset(ctx, 0, sizeof *ctx);
	TRY(params_check(p, false));
	ENSURE(enc_len == VEIL_X25519_LEN, VEIL_E_MALFORMED,
	       "HPKE: the encapsulated key has %zu bytes; X25519 uses %d", enc_len,
	       VEIL_X25519_LEN);
	/* Section 4.1 Decap / AuthDecap: dh = DH(skR, pkE) [|| DH(skR, pkS)]. */
	CHECK(veil_x25519(sk_r, enc, dh));
	if (mode_has_auth(p->mode)) {
		CHECK(veil_x25519(sk_r, p->sender_pub, dh + VEIL_X25519_LEN));
		dh_len += VEIL_X25519_LEN;
	}
	{
		const uint8_t *kc[3] = {enc, sk_r->pub, p->sender_pub};
		const size_t kcl[3] = {VEIL_X25519_LEN, VEIL_X25519_LEN, VEIL_X25519_LEN};
		CHECK(
		    kem_shared_secret(dh, dh_len, kc, kcl, mode_has_auth(p->mode) ? 3 : 2, shared));
	}
	CHECK(key_schedule(ctx, p, shared));
	ctx->sender = false;
out:
	veil_wipe(dh, sizeof dh);
	veil_wipe(shared, sizeof shared);
	if (err != VEIL_OK)
		veil_hpke_ctx_clear(ctx);
	return err;
}

void veil_hpke_ctx_clear(veil_hpke_ctx *ctx)
{
	veil_aead_clear(&ctx->aead);
	veil_wipe(ctx, sizeof *ctx);
}

/* Section 5.2 ComputeNonce: base_nonce XOR I2OSP(seq, Nn). */
void hpke_counter_nonce(const uint8_t base[VEIL_AEAD_NONCE_LEN], uint64_t counter,
			uint8_t nonce[VEIL_AEAD_NONCE_LEN])
{
	memcpy(nonce, base, VEIL_AEAD_NONCE_LEN);
	for (int i = 0; i < 8; i++)
		nonce[VEIL_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(counter >> (8 * i));
}

static veil_err context_ready(const veil_hpke_ctx *ctx, bool sealing)
{
	ENSURE(ctx->suite.kem != 0, VEIL_E_USAGE, "HPKE context is not set up");
	ENSURE(ctx->suite.aead != VEIL_AEAD_EXPORT_ONLY, VEIL_E_USAGE,
	       "HPKE: an export-only context cannot seal or open");
	ENSURE(ctx->sender == sealing, VEIL_E_USAGE,
	       sealing ? "HPKE: a receiver's context cannot seal"
		       : "HPKE: a sender's context cannot open");
	/* Section 5.2 IncrementSeq: the sequence number must not wrap. With a
	 * 12-byte nonce the bound is 2^96 - 1; a 64-bit counter stops first. */
	ENSURE(ctx->seq != UINT64_MAX, VEIL_E_LIMIT,
	       "HPKE: the message limit of this context "
	       "is reached");
	return VEIL_OK;
}

veil_err veil_hpke_seal(veil_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
			size_t pt_len, uint8_t *ct)
{
	uint8_t nonce[VEIL_AEAD_NONCE_LEN];

	TRY(context_ready(ctx, true));
	hpke_counter_nonce(ctx->base_nonce, ctx->seq, nonce);
	TRY(veil_aead_seal(&ctx->aead, nonce, aad, aad_len, pt, pt_len, ct));
	ctx->seq++;
	return VEIL_OK;
}

veil_err veil_hpke_open(veil_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
			size_t ct_len, uint8_t *pt)
{
	uint8_t nonce[VEIL_AEAD_NONCE_LEN];

	TRY(context_ready(ctx, false));
	hpke_counter_nonce(ctx->base_nonce, ctx->seq, nonce);
	/* On failure the sequence number stays (section 5.2 ContextR.Open). */
	TRY(veil_aead_open(&ctx->aead, nonce, aad, aad_len, ct, ct_len, pt));
	ctx->seq++;
	return VEIL_OK;
}

veil_err veil_hpke_export(const veil_hpke_ctx *ctx, const uint8_t *exporter_ctx,
			  size_t exporter_ctx_len, uint8_t *out, size_t out_len)
{
	uint8_t suite_id[HPKE_SUITE_ID_LEN];
	const uint8_t *info[1] = {exporter_ctx};
	const size_t info_len[1] = {exporter_ctx_len};

	ENSURE(ctx->suite.kem != 0, VEIL_E_USAGE, "HPKE context is not set up");
	/* Section 5.3: Export(exporter_context, L), L at most 255 * Nh. */
	ENSURE(out_len <= 255 * VEIL_HPKE_SECRET_LEN, VEIL_E_USAGE,
	       "HPKE: %zu bytes asked of Export; at most %d", out_len, 255 * VEIL_HPKE_SECRET_LEN);
	hpke_suite_id(ctx->suite, suite_id);
	return hpke_labeled_expand(ctx->exporter_secret, suite_id, sizeof suite_id, "sec", info,
				   info_len, 1, out, out_len);
}

veil_err veil_hpke_seal_once(const veil_hpke_params *p, const uint8_t pk_r[VEIL_X25519_LEN],
			     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
			     uint8_t enc[VEIL_X25519_LEN], uint8_t *ct)
{
	veil_hpke_ctx ctx;
	veil_err err;

	TRY(veil_hpke_setup_sender(&ctx, p, pk_r, enc));
	err = veil_hpke_seal(&ctx, aad, aad_len, pt, pt_len, ct);
	veil_hpke_ctx_clear(&ctx);
	return err;
}

veil_err veil_hpke_open_once(const veil_hpke_params *p, const veil_x25519_key *sk_r,
			     const uint8_t *enc, size_t enc_len, const uint8_t *aad, size_t aad_len,
			     const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	veil_hpke_ctx ctx;
	veil_err err;

	TRY(veil_hpke_setup_receiver(&ctx, p, sk_r, enc, enc_len));
	err = veil_hpke_open(&ctx, aad, aad_len, ct, ct_len, pt);
	veil_hpke_ctx_clear(&ctx);
	return err;
}

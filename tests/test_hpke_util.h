/*
 * test_hpke_util.h - helpers shared by the HPKE tests (header-only, static).
 *
 * Loads the RFC 9180 vectors for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256
 * from the test data, decodes one vector into fixed buffers, derives its keys
 * and sets up both contexts exactly as the file says, comparing every
 * intermediate value on the way, so a failure names the vector and the field
 * (with the bytes got and wanted) rather than only a line number.
 */
#ifndef VEIL_TEST_HPKE_UTIL_H
#define VEIL_TEST_HPKE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hpke/hpke_internal.h"
#include "veil/codec.h"
#include "veil/hpke.h"
#include "veil/json.h"
#include "veil/secret.h"

#define VECTORS_FILE "hpke/rfc9180/test-vectors-x25519-sha256.json"
#define FIELD_MAX    96
#define MSG_MAX      256
#define SHOW_MAX     6 /* failures printed per vector before going quiet */

typedef struct field {
	uint8_t b[FIELD_MAX];
	size_t len;
} field;

/* One vector, decoded. The auth-mode fields (ikmS, skSm, pkSm) and the PSK
 * fields are present only in the modes that use them. */
typedef struct hpke_vector {
	int64_t mode;
	veil_hpke_suite suite;
	field info, ikm_e, ikm_r, ikm_s, sk_e, sk_r, sk_s, pk_e, pk_r, pk_s;
	field psk, psk_id, enc, key, base_nonce, exporter_secret;
	json_t *encryptions; /* borrowed from the parsed file */
	json_t *exports;
} hpke_vector;

static json_t *vectors; /* the parsed file, loaded by hpke_load_vectors() */
static char label[96];  /* which vector a failure is about */
static int shown;       /* mismatches printed for the current vector */

static inline bool is_auth(int64_t mode)
{
	return mode == VEIL_HPKE_MODE_AUTH || mode == VEIL_HPKE_MODE_AUTH_PSK;
}

static inline bool is_psk(int64_t mode)
{
	return mode == VEIL_HPKE_MODE_PSK || mode == VEIL_HPKE_MODE_AUTH_PSK;
}

/* Records a failure about the current vector, printing it only for the
 * first SHOW_MAX, so a broken key schedule does not print 257 of them. */
static inline void vector_fail(const char *file, int line, const char *what, const char *detail)
{
	if (shown++ >= SHOW_MAX) {
		harness_failures_in_test++;
		return;
	}
	fprintf(stderr, "  %s: %s\n%s", label, what, detail);
	harness_fail(file, line, what);
}

/* A call that must succeed, reported the same way. */
static inline void vector_ok(const char *file, int line, const char *what, veil_err err)
{
	char detail[300];

	if (err == VEIL_OK)
		return;
	snprintf(detail, sizeof detail, "    failed: %s (%s)\n", veil_err_str(err),
		 veil_err_detail());
	vector_fail(file, line, what, detail);
}
#define VECTOR_OK(what, expr) vector_ok(__FILE__, __LINE__, what, (expr))

/* got must equal want; both are printed in hex when not. */
static inline void expect_bytes(const char *file, int line, const char *what, const uint8_t *got,
				size_t got_len, const uint8_t *want, size_t want_len)
{
	char g[2 * 64 + 1], w[2 * 64 + 1], detail[2 * sizeof g + 64];

	if (got_len == want_len && memcmp(got, want, want_len) == 0)
		return;
	veil_hex_encode(got, got_len < 64 ? got_len : 64, g);
	veil_hex_encode(want, want_len < 64 ? want_len : 64, w);
	snprintf(detail, sizeof detail, "    got  %s (%zu bytes)\n    want %s (%zu bytes)\n", g,
		 got_len, w, want_len);
	vector_fail(file, line, what, detail);
}
#define EXPECT_BYTES(what, got, got_len, want, want_len)                                           \
	expect_bytes(__FILE__, __LINE__, what, got, got_len, want, want_len)

/* Member `key` of o, hex-decoded into f; false (with a message) if absent. */
static inline bool get_field(const json_t *o, const char *key, field *f)
{
	const char *s = NULL;
	uint8_t *b;

	if (veil_json_get_string(o, key, &s) != VEIL_OK) {
		fprintf(stderr, "  test data: %s\n", veil_err_detail());
		return false;
	}
	b = td_hex(s, &f->len);
	if (f->len > sizeof f->b) {
		fprintf(stderr, "  test data: %s longer than %d bytes\n", key, FIELD_MAX);
		free(b);
		return false;
	}
	memcpy(f->b, b, f->len);
	free(b);
	return true;
}

static inline bool load_vector(const json_t *o, hpke_vector *v)
{
	int64_t kem, kdf, aead;
	bool ok;

	memset(v, 0, sizeof *v);
	if (veil_json_get_int(o, "mode", 0, 3, &v->mode) != VEIL_OK ||
	    veil_json_get_int(o, "kem_id", 0, 0xFFFF, &kem) != VEIL_OK ||
	    veil_json_get_int(o, "kdf_id", 0, 0xFFFF, &kdf) != VEIL_OK ||
	    veil_json_get_int(o, "aead_id", 0, 0xFFFF, &aead) != VEIL_OK ||
	    veil_json_get_array(o, "encryptions", &v->encryptions) != VEIL_OK ||
	    veil_json_get_array(o, "exports", &v->exports) != VEIL_OK) {
		fprintf(stderr, "  test data: %s\n", veil_err_detail());
		return false;
	}
	v->suite = (veil_hpke_suite){(uint16_t)kem, (uint16_t)kdf, (uint16_t)aead};
	ok = get_field(o, "info", &v->info) && get_field(o, "ikmE", &v->ikm_e) &&
	     get_field(o, "ikmR", &v->ikm_r) && get_field(o, "skEm", &v->sk_e) &&
	     get_field(o, "skRm", &v->sk_r) && get_field(o, "pkEm", &v->pk_e) &&
	     get_field(o, "pkRm", &v->pk_r) && get_field(o, "enc", &v->enc) &&
	     get_field(o, "key", &v->key) && get_field(o, "base_nonce", &v->base_nonce) &&
	     get_field(o, "exporter_secret", &v->exporter_secret);
	if (ok && is_auth(v->mode))
		ok = get_field(o, "ikmS", &v->ikm_s) && get_field(o, "skSm", &v->sk_s) &&
		     get_field(o, "pkSm", &v->pk_s);
	if (ok && is_psk(v->mode))
		ok = get_field(o, "psk", &v->psk) && get_field(o, "psk_id", &v->psk_id);
	/* The file's own consistency: the key fields are Npk long, and the
	 * fields of other modes are absent, so a mode mix-up shows here. */
	return ok && v->pk_r.len == VEIL_X25519_LEN && v->enc.len == VEIL_X25519_LEN &&
	       (json_object_get(o, "pkSm") != NULL) == is_auth(v->mode) &&
	       (json_object_get(o, "psk") != NULL) == is_psk(v->mode);
}

/* The first vector with this mode and AEAD. */
static inline bool find_vector(int64_t mode, uint16_t aead, hpke_vector *v)
{
	for (size_t i = 0; i < json_array_size(vectors); i++) {
		if (load_vector(json_array_get(vectors, i), v) && v->mode == mode &&
		    v->suite.aead == aead)
			return true;
	}
	fprintf(stderr, "  no vector for mode %d aead 0x%04x\n", (int)mode, aead);
	return false;
}

/* The parameters of v for one side; s is the sender's key (auth modes). */
static inline veil_hpke_params params_of(const hpke_vector *v, bool sender,
					 const veil_x25519_key *s)
{
	veil_hpke_params p = {
	    .mode = (veil_hpke_mode)v->mode,
	    .suite = v->suite,
	    .info = v->info.b,
	    .info_len = v->info.len,
	};
	if (is_psk(v->mode)) {
		p.psk = v->psk.b;
		p.psk_len = v->psk.len;
		p.psk_id = v->psk_id.b;
		p.psk_id_len = v->psk_id.len;
	}
	if (is_auth(v->mode)) {
		if (sender)
			p.sender_key = s;
		else
			p.sender_pub = v->pk_s.b;
	}
	return p;
}

/* DeriveKeyPair (RFC 9180 section 7.1.3) from ikm must give sk and pk. */
static inline bool derive_and_check(const field *ikm, const field *sk, const field *pk,
				    veil_x25519_key *k, const char *which)
{
	uint8_t got[VEIL_X25519_LEN];
	char what[48];

	if (veil_x25519_key_derive(k, ikm->b, ikm->len) != VEIL_OK ||
	    veil_x25519_key_private(k, got) != VEIL_OK) {
		fprintf(stderr, "  %s: deriving %s: %s\n", label, which, veil_err_detail());
		harness_fail(__FILE__, __LINE__, which);
		return false;
	}
	snprintf(what, sizeof what, "private key %s", which);
	EXPECT_BYTES(what, got, sizeof got, sk->b, sk->len);
	snprintf(what, sizeof what, "public key %s", which);
	EXPECT_BYTES(what, k->pub, sizeof k->pub, pk->b, pk->len);
	veil_wipe(got, sizeof got);
	return true;
}

/* Both contexts of v: sctx with the vector's ephemeral key, rctx from enc. */
static inline bool setup_pair(const hpke_vector *v, veil_x25519_key *e, veil_x25519_key *r,
			      veil_x25519_key *s, veil_hpke_ctx *sctx, veil_hpke_ctx *rctx)
{
	veil_hpke_params ps, pr;
	uint8_t enc[VEIL_X25519_LEN];

	if (!derive_and_check(&v->ikm_e, &v->sk_e, &v->pk_e, e, "skEm/pkEm") ||
	    !derive_and_check(&v->ikm_r, &v->sk_r, &v->pk_r, r, "skRm/pkRm") ||
	    (is_auth(v->mode) && !derive_and_check(&v->ikm_s, &v->sk_s, &v->pk_s, s, "skSm/pkSm")))
		return false;
	ps = params_of(v, true, s);
	pr = params_of(v, false, NULL);
	if (hpke_setup_sender_with(sctx, &ps, v->pk_r.b, e, enc) != VEIL_OK) {
		fprintf(stderr, "  %s: setup_sender: %s\n", label, veil_err_detail());
		return false;
	}
	EXPECT_BYTES("enc", enc, sizeof enc, v->enc.b, v->enc.len);
	/* The context struct is public; comparing the key schedule's outputs
	 * says which step broke when an encryption differs. */
	EXPECT_BYTES("exporter_secret", sctx->exporter_secret, sizeof sctx->exporter_secret,
		     v->exporter_secret.b, v->exporter_secret.len);
	if (v->suite.aead != VEIL_AEAD_EXPORT_ONLY) {
		EXPECT_BYTES("key", sctx->aead.key, sctx->aead.key_len, v->key.b, v->key.len);
		EXPECT_BYTES("base_nonce", sctx->base_nonce, sizeof sctx->base_nonce,
			     v->base_nonce.b, v->base_nonce.len);
	}
	if (veil_hpke_setup_receiver(rctx, &pr, r, v->enc.b, v->enc.len) != VEIL_OK) {
		fprintf(stderr, "  %s: setup_receiver: %s\n", label, veil_err_detail());
		return false;
	}
	return true;
}

/* One vector set up on both sides, with its first two encryptions at hand. */
typedef struct fixture {
	hpke_vector v;
	veil_x25519_key e, r, s;
	veil_hpke_ctx sctx, rctx;
	field aad0, pt0, ct0, aad1, pt1, ct1;
} fixture;

static inline bool fixture_open(fixture *f, int64_t mode, uint16_t aead)
{
	const json_t *e0, *e1;

	memset(f, 0, sizeof *f);
	if (!find_vector(mode, aead, &f->v))
		return false;
	snprintf(label, sizeof label, "mode %d, aead 0x%04x", (int)mode, aead);
	shown = 0;
	if (!setup_pair(&f->v, &f->e, &f->r, &f->s, &f->sctx, &f->rctx))
		return false;
	if (aead == VEIL_AEAD_EXPORT_ONLY)
		return true;
	e0 = json_array_get(f->v.encryptions, 0);
	e1 = json_array_get(f->v.encryptions, 1);
	return e0 != NULL && e1 != NULL && get_field(e0, "aad", &f->aad0) &&
	       get_field(e0, "pt", &f->pt0) && get_field(e0, "ct", &f->ct0) &&
	       get_field(e1, "aad", &f->aad1) && get_field(e1, "pt", &f->pt1) &&
	       get_field(e1, "ct", &f->ct1);
}

static inline void fixture_close(fixture *f)
{
	veil_hpke_ctx_clear(&f->sctx);
	veil_hpke_ctx_clear(&f->rctx);
	veil_x25519_key_clear(&f->e);
	veil_x25519_key_clear(&f->r);
	veil_x25519_key_clear(&f->s);
}

/* Opens ct0 of f on a receiver set up with p (and sk_r); the result. */
static inline veil_err open_first_with(fixture *f, const veil_hpke_params *p,
				       const veil_x25519_key *sk_r, const uint8_t *enc)
{
	veil_hpke_ctx ctx = {0};
	uint8_t pt[MSG_MAX];
	veil_err err = veil_hpke_setup_receiver(&ctx, p, sk_r, enc, VEIL_X25519_LEN);

	if (err == VEIL_OK)
		err = veil_hpke_open(&ctx, f->aad0.b, f->aad0.len, f->ct0.b, f->ct0.len, pt);
	veil_hpke_ctx_clear(&ctx);
	return err;
}

/* Parses the vector file into `vectors`, or exits: without it no test here
 * means anything. */
static inline void hpke_load_vectors(void)
{
	size_t len;
	uint8_t *buf = td_read(VECTORS_FILE, &len);

	if (veil_json_parse(buf, len, &vectors) != VEIL_OK) {
		fprintf(stderr, "%s: %s\n", VECTORS_FILE, veil_err_detail());
		exit(2);
	}
	free(buf);
}

#endif

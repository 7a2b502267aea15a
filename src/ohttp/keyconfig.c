/*
 * keyconfig.c - OHTTP key configurations (RFC 9458 section 3): the public
 * half of a worker's OHTTP key, which a client checks against the worker's
 * attestation before it encrypts anything to it.
 *
 * One configuration parses exactly; an application/ohttp-keys body is a list
 * of them, each with a 2-byte length, and any encoding error anywhere
 * rejects the whole body (section 3.2: recovering part of a bad list would
 * let a server sort clients by how they recover).
 */
#include <string.h>

#include "veil/limits.h"
#include "veil/ohttp.h"

static veil_err config_read(veil_reader *r, veil_ohttp_keyconfig *c)
{
	uint16_t sym_len;
	veil_reader sym;

	memset(c, 0, sizeof *c);
	TRY(veil_reader_u8(r, &c->key_id));
	TRY(veil_reader_u16be(r, &c->kem));
	/* Npk depends on the KEM, so nothing after it can be read for a KEM
	 * Veil does not implement. */
	ENSURE(c->kem == VEIL_HPKE_KEM_X25519_SHA256, VEIL_E_UNSUPPORTED,
	       "key configuration %u uses KEM 0x%04x; only DHKEM(X25519, HKDF-SHA256) (0x0020) "
	       "is supported",
	       c->key_id, c->kem);
	TRY(veil_reader_copy(r, c->pub, sizeof c->pub));
	TRY(veil_reader_u16be(r, &sym_len));
	/* HPKE Symmetric Algorithms Length (16) = 4..65532, four bytes each. */
	ENSURE(sym_len >= 4 && sym_len % 4 == 0, VEIL_E_MALFORMED,
	       "key configuration %u: symmetric algorithms length %u is not a non-zero multiple "
	       "of 4",
	       c->key_id, sym_len);
	ENSURE(sym_len / 4 <= VEIL_OHTTP_SUITES_MAX, VEIL_E_LIMIT,
	       "key configuration %u lists %u suites; at most %d are read", c->key_id, sym_len / 4,
	       VEIL_OHTTP_SUITES_MAX);
	TRY(veil_reader_sub(r, sym_len, &sym));
	while (veil_reader_left(&sym) > 0) {
		veil_ohttp_sym *s = &c->suites[c->suite_count++];
		TRY(veil_reader_u16be(&sym, &s->kdf));
		TRY(veil_reader_u16be(&sym, &s->aead));
	}
	return VEIL_OK;
}

veil_err veil_ohttp_keyconfig_parse(const uint8_t *p, size_t n, veil_ohttp_keyconfig *out)
{
	veil_reader r;
	veil_err err;

	veil_reader_init(&r, p, n);
	err = config_read(&r, out);
	if (err == VEIL_OK)
		err = veil_reader_end(&r);
	if (err != VEIL_OK) {
		memset(out, 0, sizeof *out);
		return veil_fail_context(err, "OHTTP key configuration");
	}
	return VEIL_OK;
}

veil_err veil_ohttp_keyconfig_encode(const veil_ohttp_keyconfig *c, veil_writer *w)
{
	ENSURE(c->kem == VEIL_HPKE_KEM_X25519_SHA256, VEIL_E_USAGE,
	       "key configuration %u: KEM 0x%04x cannot be encoded", c->key_id, c->kem);
	ENSURE(c->suite_count >= 1 && c->suite_count <= VEIL_OHTTP_SUITES_MAX, VEIL_E_USAGE,
	       "key configuration %u has %zu suites; 1 to %d are allowed", c->key_id,
	       c->suite_count, VEIL_OHTTP_SUITES_MAX);
	TRY(veil_writer_u8(w, c->key_id));
	TRY(veil_writer_u16be(w, c->kem));
	TRY(veil_writer_put(w, c->pub, sizeof c->pub));
	TRY(veil_writer_u16be(w, (uint16_t)(4 * c->suite_count)));
	for (size_t i = 0; i < c->suite_count; i++) {
		TRY(veil_writer_u16be(w, c->suites[i].kdf));
		TRY(veil_writer_u16be(w, c->suites[i].aead));
	}
	return veil_writer_status(w);
}

static bool config_usable(const veil_ohttp_keyconfig *c)
{
	for (size_t i = 0; i < c->suite_count; i++) {
		veil_hpke_suite s = {c->kem, c->suites[i].kdf, c->suites[i].aead};
		/* OHTTP needs a response key: export-only is of no use. */
		if (s.aead != VEIL_AEAD_EXPORT_ONLY && veil_hpke_suite_check(s) == VEIL_OK)
			return true;
	}
	return false;
}

veil_err veil_ohttp_keys_parse(const uint8_t *p, size_t n, veil_ohttp_keyconfig *out, size_t max,
			       size_t *count)
{
	veil_reader r;
	size_t seen = 0;
	veil_err err = VEIL_OK;

	*count = 0;
	veil_reader_init(&r, p, n);
	ENSURE(n > 0, VEIL_E_MALFORMED, "application/ohttp-keys body is empty");
	while (veil_reader_left(&r) > 0) {
		uint16_t len;
		veil_reader one;
		veil_ohttp_keyconfig c;
		uint16_t kem = 0;

		CHECK(veil_reader_u16be(&r, &len));
		CHECK(veil_reader_sub(&r, len, &one));
		CHECK_THAT(++seen <= VEIL_OHTTP_CONFIGS_MAX, VEIL_E_LIMIT,
			   "application/ohttp-keys holds more than %d configurations",
			   VEIL_OHTTP_CONFIGS_MAX);
		/* Peek at the KEM: another KEM's configuration is skipped whole
		 * (its length is known from the prefix), not an error. */
		if (len >= 3) {
			veil_reader peek = one;
			uint8_t key_id;
			CHECK(veil_reader_u8(&peek, &key_id));
			CHECK(veil_reader_u16be(&peek, &kem));
			if (kem != VEIL_HPKE_KEM_X25519_SHA256)
				continue;
		}
		CHECK(config_read(&one, &c));
		CHECK(veil_reader_end(&one));
		if (!config_usable(&c) || *count >= max)
			continue;
		out[(*count)++] = c;
	}
	CHECK_THAT(*count > 0, VEIL_E_UNSUPPORTED,
		   "none of the %zu key configurations uses a suite Veil supports (X25519, "
		   "HKDF-SHA256 and an AEAD)",
		   seen);
out:
	if (err != VEIL_OK) {
		memset(out, 0, max * sizeof *out);
		*count = 0;
		return veil_fail_context(err, "application/ohttp-keys");
	}
	return VEIL_OK;
}

veil_err veil_ohttp_keys_encode(const veil_ohttp_keyconfig *c, size_t count, veil_writer *w)
{
	for (size_t i = 0; i < count; i++) {
		veil_writer one;
		veil_err err;
		veil_writer_init(&one, 2 + 32 + 4 * VEIL_OHTTP_SUITES_MAX + 16);
		err = veil_ohttp_keyconfig_encode(&c[i], &one);
		if (err == VEIL_OK)
			err = veil_writer_u16be(w, (uint16_t)one.len);
		if (err == VEIL_OK)
			err = veil_writer_put(w, one.data, one.len);
		veil_writer_clear(&one);
		TRY(err);
	}
	return veil_writer_status(w);
}

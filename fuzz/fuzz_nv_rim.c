/*
 * fuzz_nv_rim.c - libFuzzer target for NVIDIA RIM parsing and verification.
 *
 * Each input is handed to rim_parse as an XML document; when it parses, the
 * result's invariants are checked (at least one measurement, at most the
 * cap, indices strictly increasing and in range, alternatives in 1..8,
 * NUL-terminated printable strings, 1..VEIL_CERT_BUNDLE_MAX certificates)
 * and it goes through rim_verify with the pinned CoRIM root at 2025-03-01,
 * so xmlsec's C14N, transforms and signature code run on hostile documents
 * too. Mutated genuine RIMs almost never keep a valid signature; beyond "no
 * crash", the verdict must agree with the recorded checks. Seeds:
 * fuzz_nv_rim.seeds.
 */
#include <string.h>

#include "evidence/nvidia/rim.h"
#include "veil/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_AT 1740787200 /* 2025-03-01T00:00:00Z */

static void check_text(const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap);
	if (end == NULL)
		__builtin_trap();
	for (const char *p = s; p < end; p++)
		if (*p < 0x20 || *p > 0x7e)
			__builtin_trap();
}

static void check_invariants(const rim *r)
{
	if (r->count == 0 || r->count > RIM_MAX_MEASUREMENTS || r->doc == NULL)
		__builtin_trap();
	for (size_t i = 0; i < r->count; i++) {
		const rim_measurement *m = &r->m[i];
		if (m->index > RIM_MAX_INDEX || (i > 0 && m->index <= r->m[i - 1].index))
			__builtin_trap();
		if (m->alternatives < 1 || m->alternatives > RIM_MAX_ALTERNATIVES)
			__builtin_trap();
	}
	check_text(r->product, sizeof r->product);
	check_text(r->version, sizeof r->version);
	check_text(r->tag_id, sizeof r->tag_id);
	if (r->certs == NULL || sk_X509_num(r->certs) < 1 ||
	    sk_X509_num(r->certs) > VEIL_CERT_BUNDLE_MAX || r->signer != NULL)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static X509 *root;
	veil_checks checks;
	rim *r = NULL;

	if (root == NULL && rim_root(&root) != VEIL_OK)
		__builtin_trap();
	if (rim_parse(data, size, &r) != VEIL_OK) {
		if (r != NULL)
			__builtin_trap(); /* no output on failure */
		return 0;
	}
	check_invariants(r);
	veil_checks_init(&checks);
	veil_err err = rim_verify(r, root, FUZZ_AT, "rim.signature", "rim.chain", &checks);
	if (checks.count != 2 || (err == VEIL_OK) != veil_checks_passed(&checks) ||
	    (err == VEIL_OK) != (rim_signer(r) != NULL))
		__builtin_trap();
	rim_free(r);
	return 0;
}

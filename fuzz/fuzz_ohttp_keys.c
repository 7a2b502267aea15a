/*
 * fuzz_ohttp_keys.c - OHTTP key configurations (RFC 9458 section 3): one
 * configuration, and an application/ohttp-keys list of them.
 *
 * A key configuration is what a client trusts to encrypt to a worker, so
 * beyond "no crash": one configuration that parses re-encodes to exactly
 * the bytes it came from and parses back to the same values; a list that
 * parses re-encodes to a list that parses to the same configurations
 * (unusable ones were dropped the first time, so only values are compared);
 * how many entries the caller has room for changes nothing but how many it
 * gets; a failed parse leaves nothing behind.
 */
#include <stdlib.h>
#include <string.h>

#include "veil/ohttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int config_equal(const veil_ohttp_keyconfig *a, const veil_ohttp_keyconfig *b)
{
	if (a->key_id != b->key_id || a->kem != b->kem ||
	    memcmp(a->pub, b->pub, sizeof a->pub) != 0 || a->suite_count != b->suite_count)
		return 0;
	for (size_t i = 0; i < a->suite_count; i++)
		if (a->suites[i].kdf != b->suites[i].kdf || a->suites[i].aead != b->suites[i].aead)
			return 0;
	return 1;
}

static void one_config(const uint8_t *data, size_t size)
{
	veil_ohttp_keyconfig c, again;
	veil_writer w;

	if (veil_ohttp_keyconfig_parse(data, size, &c) != VEIL_OK) {
		if (c.suite_count != 0 || c.key_id != 0)
			abort(); /* a failed parse leaves nothing behind */
		return;
	}
	if (c.kem != VEIL_HPKE_KEM_X25519_SHA256 || c.suite_count < 1 ||
	    c.suite_count > VEIL_OHTTP_SUITES_MAX)
		abort();
	veil_writer_init(&w, 4096);
	if (veil_ohttp_keyconfig_encode(&c, &w) != VEIL_OK || w.len != size ||
	    memcmp(w.data, data, size) != 0)
		abort();
	if (veil_ohttp_keyconfig_parse(w.data, w.len, &again) != VEIL_OK ||
	    !config_equal(&c, &again))
		abort();
	veil_writer_clear(&w);
}

static void config_list(const uint8_t *data, size_t size)
{
	veil_ohttp_keyconfig list[VEIL_OHTTP_CONFIGS_MAX], again[VEIL_OHTTP_CONFIGS_MAX], first;
	size_t count, count2, count1;
	veil_err err, err1;
	veil_writer w;

	err = veil_ohttp_keys_parse(data, size, list, VEIL_OHTTP_CONFIGS_MAX, &count);
	/* Room for one changes only how many come back. */
	err1 = veil_ohttp_keys_parse(data, size, &first, 1, &count1);
	if (err != err1)
		abort();
	if (err != VEIL_OK) {
		if (count != 0 || count1 != 0)
			abort();
		return;
	}
	if (count < 1 || count > VEIL_OHTTP_CONFIGS_MAX || count1 != 1 ||
	    !config_equal(&first, &list[0]))
		abort();
	veil_writer_init(&w, 1 << 16);
	if (veil_ohttp_keys_encode(list, count, &w) != VEIL_OK)
		abort();
	if (veil_ohttp_keys_parse(w.data, w.len, again, VEIL_OHTTP_CONFIGS_MAX, &count2) !=
		VEIL_OK ||
	    count2 != count)
		abort();
	for (size_t i = 0; i < count; i++) {
		veil_ohttp_client c;
		if (!config_equal(&list[i], &again[i]))
			abort();
		/* Every configuration returned is one a client can use. */
		if (veil_ohttp_client_init(&c, &list[i]) != VEIL_OK)
			abort();
	}
	veil_writer_clear(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_config(data, size);
	config_list(data, size);
	return 0;
}

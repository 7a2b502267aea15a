/*
 * fuzz_snp_certtable.c - libFuzzer target for the SNP certificate table
 * parser (src/attester/snp_certtable.c).
 *
 * Each input is parsed twice: as a table itself, and wrapped as the
 * certificates of a table built here (split in up to three pieces under the
 * VCEK, ASK and ARK GUIDs, the way a host lays one out), because no file in
 * the shared test data is a certificate table: the seeds are the real AMD
 * certificates (fuzz_snp_certtable.seeds), so the wrapped parse reaches the
 * accepting paths while the raw parse mutates headers. Whatever parses must
 * describe certificates inside the buffer, after the entries, without
 * overlap, and the wrapped table must give its pieces back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil/attester.h"
#include "veil/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_certs(const uint8_t *buf, size_t len, const veil_snp_cert *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i].len == 0 || c[i].der < buf + 24 * (n + 1) ||
		    c[i].der + c[i].len > buf + len)
			__builtin_trap();
		for (size_t j = 0; j < i; j++)
			if (c[i].der < c[j].der + c[j].len && c[j].der < c[i].der + c[i].len)
				__builtin_trap();
	}
}

static void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void wrapped(const uint8_t *data, size_t size)
{
	static const uint8_t guids[3][16] = {
	    {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8,
	     0xac, 0xcd},
	    {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27,
	     0xc7, 0x82},
	    {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c,
	     0xd0, 0xae},
	};
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t pieces = size >= 3 ? 3 : size, count = 0, at = 0, off = 24 * (pieces + 1);
	uint8_t *t;

	if (pieces == 0 || size > VEIL_SNP_CERTS_MAX)
		return;
	t = calloc(1, off + size);
	if (t == NULL)
		return;
	for (size_t i = 0; i < pieces; i++) {
		size_t len = i + 1 < pieces ? size / pieces : size - at;
		memcpy(t + 24 * i, guids[i], 16);
		put_u32le(t + 24 * i + 16, (uint32_t)(off + at));
		put_u32le(t + 24 * i + 20, (uint32_t)len);
		at += len;
	}
	memcpy(t + off, data, size);
	if (veil_snp_certtable_parse(t, off + size, c, VEIL_SNP_CERTTABLE_MAX, &count) != VEIL_OK ||
	    count != pieces)
		__builtin_trap();
	at = 0;
	for (size_t i = 0; i < count; i++) {
		if (memcmp(c[i].der, data + at, c[i].len) != 0)
			__builtin_trap();
		at += c[i].len;
	}
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_snp_cert c[VEIL_SNP_CERTTABLE_MAX];
	size_t count = 0;

	if (veil_snp_certtable_parse(data, size, c, VEIL_SNP_CERTTABLE_MAX, &count) == VEIL_OK)
		check_certs(data, size, c, count);
	wrapped(data, size);
	return 0;
}

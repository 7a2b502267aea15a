/*
 * fuzz_nv_report.c - libFuzzer target for the NVIDIA GPU report parser
 * (SPDM 1.1 GET_MEASUREMENTS transcript, nv_spdm.c and nv_opaque.c).
 *
 * Runs detection and the parser on every input; on success, checks that
 * the parse is self-consistent (everything it borrows lies inside its copy
 * of the input, the signed part, signature and padding add up, a parsed
 * report is also detected), looks up every opaque field's name and every
 * block index, and frees. Any inconsistency traps.
 *
 * The shared test data holds the real reports only as hex text (the
 * *_report.hex files under testdata/nvidia, which fuzz_nv_report.seeds
 * lists), so an input made only of hex digits and whitespace is also
 * decoded and parsed: the seeds work as scripts/fuzz-smoke.sh copies them,
 * and a corpus of decoded binary reports works too.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/nvidia/nv_report.h"
#include "veil/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const nv_report *r, const uint8_t *p, size_t n, size_t end)
{
	return p >= r->raw && n <= end && (size_t)(p - r->raw) <= end - n;
}

static void check_report(const uint8_t *data, size_t size)
{
	nv_report *r = NULL;
	bool detected = nv_report_detect(data, size);

	if (nv_report_parse(data, size, &r) != VEIL_OK) {
		if (r != NULL)
			__builtin_trap();
		return;
	}
	if (!detected || r->len != size || memcmp(r->raw, data, size) != 0)
		__builtin_trap();
	if (r->signed_len + NV_SIG_LEN + r->trailing != size || r->trailing > NV_TRAILING_MAX ||
	    r->sig != r->raw + r->signed_len)
		__builtin_trap();
	if (!inside(r, r->nonce, NV_NONCE_LEN, r->signed_len) ||
	    !inside(r, r->rsp_nonce, NV_NONCE_LEN, r->signed_len))
		__builtin_trap();
	if (r->block_count == 0 || r->block_count > NV_BLOCKS_MAX ||
	    r->opaque_count > NV_OPAQUE_MAX)
		__builtin_trap();
	for (size_t i = 0; i < r->block_count; i++) {
		const nv_block *b = &r->block[i];
		if (!inside(r, b->value, b->size, r->signed_len) || b->index == 0 ||
		    b->index == 0xFF || (i > 0 && b->index <= r->block[i - 1].index))
			__builtin_trap();
	}
	for (unsigned index = 0; index <= 0xFF; index++) {
		const nv_block *b = nv_report_block(r, index);
		if (b != NULL && b->index != index)
			__builtin_trap();
	}
	for (size_t i = 0; i < r->opaque_count; i++) {
		const nv_opaque_field *f = &r->opaque[i];
		const char *name = nv_opaque_name(f->type);
		if (name != NULL && name[0] == '\0')
			__builtin_trap();
		if (!inside(r, f->value, f->len, r->signed_len) ||
		    nv_report_opaque(r, f->type) != f)
			__builtin_trap();
	}
	if (memchr(r->driver_version, 0, sizeof r->driver_version) == NULL ||
	    memchr(r->vbios_version, 0, sizeof r->vbios_version) == NULL ||
	    memchr(r->chip_info, 0, sizeof r->chip_info) == NULL)
		__builtin_trap();
	if (r->fwid != NULL && !inside(r, r->fwid, NV_DIGEST_LEN, r->signed_len))
		__builtin_trap();
	nv_report_free(r);
}

static int hex_digit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes data when it is only hex digits and whitespace (an even number of
 * digits); returns NULL otherwise. */
static uint8_t *hex_input(const uint8_t *data, size_t size, size_t *out_len)
{
	uint8_t *out;
	size_t digits = 0;
	int hi = -1;

	for (size_t i = 0; i < size; i++) {
		if (hex_digit(data[i]) >= 0)
			digits++;
		else if (data[i] != ' ' && data[i] != '\n' && data[i] != '\r' && data[i] != '\t')
			return NULL;
	}
	if (digits == 0 || digits % 2 != 0 || digits / 2 > VEIL_EVIDENCE_MAX_BYTES)
		return NULL;
	out = malloc(digits / 2);
	if (out == NULL)
		return NULL;
	*out_len = 0;
	for (size_t i = 0; i < size; i++) {
		int v = hex_digit(data[i]);
		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[(*out_len)++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	uint8_t *decoded;

	check_report(data, size);
	decoded = hex_input(data, size, &n);
	if (decoded != NULL) {
		check_report(decoded, n);
		free(decoded);
	}
	return 0;
}

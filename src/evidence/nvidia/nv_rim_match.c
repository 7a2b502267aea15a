/*
 * nv_rim_match.c - comparing a report's measurements with a RIM's golden values.
 *
 * The rules are NVIDIA's (nvtrust local verifier, "measurement comparison"):
 * RIM index k is SPDM measurement block k + 1; only entries marked active
 * count; an entry may list several alternative values and any one matching
 * is a match; index 35 is not compared when the NVDEC0 status opaque field is
 * 0x55 (NVDEC0 disabled, so its measurement is not taken). A RIM entry for
 * which the report has no block of the right size is a mismatch, never a
 * skip.
 */
#include <stdio.h>
#include <string.h>

#include "evidence/nvidia/nv_verify.h"
#include "veil/secret.h"

#define NV_NVDEC0_RIM_INDEX 35

static void note_mismatch(nv_rim_match *out, uint32_t index)
{
	size_t used = strlen(out->mismatches);

	if (out->first_mismatch < 0)
		out->first_mismatch = (int)index;
	if (used + 16 < sizeof out->mismatches)
		snprintf(out->mismatches + used, sizeof out->mismatches - used, "%s%u",
			 used > 0 ? ", " : "", index);
}

/* The outcome for one RIM entry: NV_INDEX_MATCH, _MISMATCH or _SKIPPED. */
static int entry_outcome(const rim_measurement *m, const nv_report *r)
{
	const nv_block *b;

	if (m->index == NV_NVDEC0_RIM_INDEX && r->nvdec0_status == NV_STATUS_DISABLED)
		return NV_INDEX_SKIPPED;
	b = m->index < 254 ? nv_report_block(r, m->index + 1) : NULL;
	if (b == NULL || b->size != RIM_DIGEST_LEN)
		return NV_INDEX_MISMATCH;
	for (size_t a = 0; a < m->alternatives; a++)
		if (veil_ct_equal(b->value, m->value[a], RIM_DIGEST_LEN))
			return NV_INDEX_MATCH;
	return NV_INDEX_MISMATCH;
}

void nv_rim_compare(const rim *rm, const nv_report *r, nv_rim_match *out)
{
	memset(out, 0, sizeof *out);
	out->first_mismatch = -1;
	for (size_t i = 0; i < rm->count; i++) {
		if (!rm->m[i].active)
			continue;
		switch (entry_outcome(&rm->m[i], r)) {
		case NV_INDEX_SKIPPED:
			out->skipped++;
			break;
		case NV_INDEX_MATCH:
			out->active++;
			break;
		default:
			out->active++;
			out->mismatched++;
			note_mismatch(out, rm->m[i].index);
		}
	}
}

void nv_rim_mark(const rim *rm, const nv_report *r, uint8_t status[256])
{
	for (size_t i = 0; i < rm->count; i++)
		if (rm->m[i].active && rm->m[i].index < 254)
			status[rm->m[i].index + 1] = (uint8_t)entry_outcome(&rm->m[i], r);
}

void nv_chip_name(const nv_report *r, X509 *leaf, char *out, size_t cap)
{
	char cn[128];
	size_t n = 0;

	if (r->chip_info[0] != '\0') {
		snprintf(out, cap, "%s", r->chip_info);
		return;
	}
	veil_cert_cn(leaf, cn, sizeof cn);
	while (cn[n] != '\0' && cn[n] != ' ')
		n++;
	cn[n] = '\0';
	snprintf(out, cap, "%s", cn);
}

/*
 * snp_certtable.c - parses the SEV-SNP certificate table the host attaches
 * to an extended report.
 *
 * GHCB specification (AMD 56421) 2.03 section 4.1.8.1, SNP extended guest
 * request: the host answers MSG_REPORT_REQ with a report from the firmware
 * and, in the guest's certificate pages, a table of entries
 * {GUID[16], offset u32 LE, length u32 LE} ended by an all-zero entry, the
 * certificates following it; offsets count from the start of the table.
 * Linux passes the table through unchanged as the SNP_GET_EXT_REPORT
 * certificate buffer (zero-padded to whole pages) and as configfs-tsm's
 * auxblob (cut at the end of the last certificate, sev_report_new()).
 *
 * The GUIDs are stored in the byte order of their text form (the order
 * uuid_parse() produces): AMD's sev-guest tool parses them with libuuid,
 * go-sev-guest with pborman/uuid.Parse, virtee/sev with Uuid::parse_str and
 * as_bytes(), whose test vector stores ARK as c0 b4 06 a4 a8 03 49 52 ...,
 * not the mixed-endian Microsoft GUID layout.
 *
 * The table comes from the untrusted host, so the parse is strict: a
 * missing terminator, a truncated entry, a duplicate GUID, an empty
 * certificate, one that starts inside the table, runs past the end or
 * overlaps another are refused, and bytes that no entry covers must be zero
 * (the padding of the certificate pages); anything else there is trailing
 * data we refuse to carry. Pure: no I/O, certificates are borrowed.
 */
#include <string.h>

#include "attester/attester_internal.h"
#include "veil/bytes.h"
#include "veil/limits.h"

#define ENTRY_LEN 24 /* GUID 16 + offset 4 + length 4 */

static const struct {
	uint8_t guid[16];
	const char *kind;
} known_guids[] = {
    /* VCEK 63da758d-e664-4564-adc5-f4b93be8accd */
    {{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
      0xcd},
     "vcek"},
    /* VLEK a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
    {{0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8,
      0xa1},
     "vlek"},
    /* ASK 4ab7b379-bbac-4fe4-a02f-05aef327c782 (also carries the ASVK of a
     * VLEK host: go-sev-guest abi.AskGUID) */
    {{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
      0x82},
     "ask"},
    /* ARK c0b406a4-a803-4952-9743-3fb6014cd0ae */
    {{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
      0xae},
     "ark"},
    /* CRL 92f81bc3-5811-4d3d-97ff-d19f88dc67ea (virtee/sev CertType::CRL) */
    {{0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67,
      0xea},
     "crl"},
};

typedef struct cert_entry {
	uint8_t guid[16];
	uint32_t offset;
	uint32_t length;
} cert_entry;

static const char *guid_kind(const uint8_t guid[16])
{
	for (size_t i = 0; i < sizeof known_guids / sizeof known_guids[0]; i++)
		if (memcmp(guid, known_guids[i].guid, 16) == 0)
			return known_guids[i].kind;
	return "unknown";
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Reads entries up to and including the all-zero terminator. */
static veil_err read_entries(veil_reader *r, cert_entry *e, size_t max, size_t *count)
{
	size_t n = 0;

	for (;;) {
		cert_entry cur;
		size_t at = veil_reader_offset(r);
		if (veil_reader_left(r) < ENTRY_LEN)
			return veil_fail(
			    VEIL_E_TRUNCATED,
			    "SNP certificate table: entry %zu at offset %zu is cut short "
			    "(%zu bytes left); the table has no all-zero terminator entry",
			    n, at, veil_reader_left(r));
		TRY(veil_reader_copy(r, cur.guid, 16));
		TRY(veil_reader_u32le(r, &cur.offset));
		TRY(veil_reader_u32le(r, &cur.length));
		if (all_zero(cur.guid, 16)) {
			/* GHCB: the table ends with an entry of all zeros; a
			 * null GUID that still points somewhere is not one. */
			ENSURE(cur.offset == 0 && cur.length == 0, VEIL_E_MALFORMED,
			       "SNP certificate table: entry %zu has a null GUID but offset %u "
			       "and length %u; the terminator must be all zero",
			       n, cur.offset, cur.length);
			*count = n;
			return VEIL_OK;
		}
		ENSURE(n < max && n < VEIL_SNP_CERTTABLE_MAX, VEIL_E_LIMIT,
		       "SNP certificate table: more than %zu entries", n);
		for (size_t i = 0; i < n; i++)
			ENSURE(memcmp(e[i].guid, cur.guid, 16) != 0, VEIL_E_MALFORMED,
			       "SNP certificate table: entries %zu and %zu have the same GUID (%s)",
			       i, n, guid_kind(cur.guid));
		e[n++] = cur;
	}
}

/* Orders entry indices by offset (n is at most VEIL_SNP_CERTTABLE_MAX). */
static void sort_by_offset(const cert_entry *e, size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && e[idx[j]].offset < e[idx[j - 1]].offset; j--) {
			size_t t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
}

/* Every certificate lies after the table and inside the buffer, none
 * overlaps another, and every byte between or after them is zero. */
static veil_err check_layout(const uint8_t *buf, size_t len, size_t table_end, const cert_entry *e,
			     size_t n)
{
	size_t idx[VEIL_SNP_CERTTABLE_MAX];
	size_t pos = table_end;

	for (size_t i = 0; i < n; i++) {
		ENSURE(e[i].length > 0, VEIL_E_MALFORMED,
		       "SNP certificate table: entry %zu (%s) has length 0", i,
		       guid_kind(e[i].guid));
		ENSURE(e[i].offset >= table_end, VEIL_E_MALFORMED,
		       "SNP certificate table: entry %zu (%s) starts at %u, inside the %zu-byte "
		       "table itself",
		       i, guid_kind(e[i].guid), e[i].offset, table_end);
		ENSURE((uint64_t)e[i].offset + e[i].length <= len, VEIL_E_MALFORMED,
		       "SNP certificate table: entry %zu (%s) covers bytes %u..%llu, past the end "
		       "of the %zu-byte buffer",
		       i, guid_kind(e[i].guid), e[i].offset,
		       (unsigned long long)e[i].offset + e[i].length, len);
	}
	sort_by_offset(e, idx, n);
	for (size_t k = 0; k < n; k++) {
		const cert_entry *c = &e[idx[k]];
		ENSURE(c->offset >= pos, VEIL_E_MALFORMED,
		       "SNP certificate table: entry %zu (%s) at %u overlaps the certificate "
		       "before it, which ends at %zu",
		       idx[k], guid_kind(c->guid), c->offset, pos);
		ENSURE(all_zero(buf + pos, c->offset - pos), VEIL_E_MALFORMED,
		       "SNP certificate table: bytes %zu..%u belong to no certificate and are "
		       "not zero",
		       pos, c->offset);
		pos = (size_t)c->offset + c->length;
	}
	ENSURE(all_zero(buf + pos, len - pos), VEIL_E_TRAILING,
	       "SNP certificate table: %zu bytes after the last certificate (from offset %zu) "
	       "are not zero padding",
	       len - pos, pos);
	return VEIL_OK;
}

veil_err veil_snp_certtable_parse(const uint8_t *buf, size_t len, veil_snp_cert *out, size_t max,
				  size_t *count)
{
	cert_entry e[VEIL_SNP_CERTTABLE_MAX];
	veil_reader r;
	size_t n = 0;

	ENSURE(count != NULL && (buf != NULL || len == 0) && (out != NULL || max == 0),
	       VEIL_E_USAGE, "veil_snp_certtable_parse: bad arguments");
	*count = 0;
	if (len == 0)
		return VEIL_OK; /* no table at all: the host attached nothing */
	veil_reader_init(&r, buf, len);
	TRY(read_entries(&r, e, max, &n));
	TRY(check_layout(buf, len, veil_reader_offset(&r), e, n));
	for (size_t i = 0; i < n; i++) {
		out[i].kind = guid_kind(e[i].guid);
		out[i].der = buf + e[i].offset;
		out[i].len = e[i].length;
	}
	*count = n;
	return VEIL_OK;
}

size_t attest_certtable_used(const uint8_t *buf, const veil_snp_cert *certs, size_t count)
{
	size_t end = 0;

	for (size_t i = 0; i < count; i++) {
		size_t e = (size_t)(certs[i].der - buf) + certs[i].len;
		if (e > end)
			end = e;
	}
	return end;
}

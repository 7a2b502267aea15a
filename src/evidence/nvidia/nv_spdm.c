/*
 * nv_spdm.c - parsing the SPDM GET_MEASUREMENTS transcript an NVIDIA GPU signs.
 *
 * Layout (DSP0274 1.1.0 sections 10.11.1 and 10.11.2), all integers
 * little-endian:
 *   request:  SPDMVersion, RequestResponseCode 0xE0, Param1 (bit 0: signature
 *             requested), Param2 (0xFF: all measurements), Nonce[32], SlotIDParam
 *   response: SPDMVersion, 0x60, Param1, Param2, NumberOfBlocks,
 *             MeasurementRecordLength (3 bytes), MeasurementRecord, Nonce[32],
 *             OpaqueLength (2 bytes), OpaqueData, Signature
 * A measurement block is Index, MeasurementSpecification, MeasurementSize (2
 * bytes) and, for the DMTF specification, DMTFSpecMeasurementValueType,
 * DMTFSpecMeasurementValueSize (2 bytes) and the value (section 10.11.1.1).
 *
 * The response carries no total length, so the end of the signed part is
 * where the opaque data ends and the 96-byte P-384 signature begins. Real
 * captures from CoCo guests sometimes hand the report over with zero padding
 * behind it (one such capture is in the test corpus); zero bytes there are
 * accepted up to NV_TRAILING_MAX, counted in ->trailing and never signed,
 * hashed or interpreted. Any non-zero byte after the signature is an error:
 * it would be data the signature does not cover.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence/nvidia/nv_verify.h"
#include "veil/bytes.h"
#include "veil/limits.h"

#define SPDM_VERSION_11          0x11
#define SPDM_GET_MEASUREMENTS    0xE0
#define SPDM_MEASUREMENTS        0x60
#define SPDM_REQ_SIGNATURE       0x01 /* Param1 bit 0 */
#define SPDM_ALL_MEASUREMENTS    0xFF /* Param2 */
#define SPDM_MEAS_SPEC_DMTF      0x01
#define SPDM_OPAQUE_MAX          1024 /* DSP0274 1.1.0: OpaqueLength <= 1024 */
#define SPDM_RESPONSE_HEADER_LEN 8

bool nv_report_detect(const uint8_t *buf, size_t len)
{
	return len > NV_REQUEST_LEN + SPDM_RESPONSE_HEADER_LEN && buf[0] == SPDM_VERSION_11 &&
	       buf[1] == SPDM_GET_MEASUREMENTS && buf[NV_REQUEST_LEN] == SPDM_VERSION_11 &&
	       buf[NV_REQUEST_LEN + 1] == SPDM_MEASUREMENTS;
}

const nv_block *nv_report_block(const nv_report *r, unsigned index)
{
	for (size_t i = 0; i < r->block_count; i++)
		if (r->block[i].index == index)
			return &r->block[i];
	return NULL;
}

const nv_opaque_field *nv_report_opaque(const nv_report *r, uint16_t type)
{
	for (size_t i = 0; i < r->opaque_count; i++)
		if (r->opaque[i].type == type)
			return &r->opaque[i];
	return NULL;
}

static veil_err parse_request(nv_report *r, veil_reader *rd)
{
	uint8_t version, code;

	TRY(veil_reader_u8(rd, &version));
	TRY(veil_reader_u8(rd, &code));
	ENSURE(version == SPDM_VERSION_11, VEIL_E_UNSUPPORTED,
	       "SPDM request version 0x%02x; NVIDIA GPU reports use SPDM 1.1 (0x11)", version);
	ENSURE(code == SPDM_GET_MEASUREMENTS, VEIL_E_MALFORMED,
	       "request code 0x%02x is not GET_MEASUREMENTS (0xe0)", code);
	TRY(veil_reader_u8(rd, &r->req_param1));
	TRY(veil_reader_u8(rd, &r->req_param2));
	ENSURE(r->req_param1 & SPDM_REQ_SIGNATURE, VEIL_E_MALFORMED,
	       "GET_MEASUREMENTS did not request a signature (Param1 0x%02x)", r->req_param1);
	ENSURE(r->req_param2 == SPDM_ALL_MEASUREMENTS, VEIL_E_UNSUPPORTED,
	       "GET_MEASUREMENTS asked for measurement 0x%02x, not all (0xff)", r->req_param2);
	TRY(veil_reader_borrow(rd, NV_NONCE_LEN, &r->nonce));
	TRY(veil_reader_u8(rd, &r->req_slot));
	ENSURE(r->req_slot < 8, VEIL_E_MALFORMED, "SlotIDParam %u out of range", r->req_slot);
	return VEIL_OK;
}

static veil_err parse_block(nv_report *r, veil_reader *rec)
{
	nv_block *b = &r->block[r->block_count];
	uint16_t meas_size, value_size;
	veil_reader m;

	ENSURE(r->block_count < NV_BLOCKS_MAX, VEIL_E_LIMIT, "more than %d measurement blocks",
	       NV_BLOCKS_MAX);
	TRY(veil_reader_u8(rec, &b->index));
	TRY(veil_reader_u8(rec, &b->spec));
	TRY(veil_reader_u16le(rec, &meas_size));
	/* Index 0 and 0xFF are request selectors, never block indices. */
	ENSURE(b->index != 0 && b->index != 0xFF, VEIL_E_MALFORMED,
	       "measurement block index %u is reserved", b->index);
	ENSURE(r->block_count == 0 || b->index > r->block[r->block_count - 1].index,
	       VEIL_E_MALFORMED, "measurement block %u out of order or repeated", b->index);
	ENSURE(b->spec == SPDM_MEAS_SPEC_DMTF, VEIL_E_UNSUPPORTED,
	       "measurement block %u uses specification 0x%02x, not DMTF", b->index, b->spec);
	TRY(veil_reader_sub(rec, meas_size, &m));
	TRY(veil_reader_u8(&m, &b->type));
	TRY(veil_reader_u16le(&m, &value_size));
	b->size = value_size;
	TRY(veil_reader_borrow(&m, value_size, &b->value));
	if (veil_reader_end(&m) != VEIL_OK)
		return veil_fail(
		    VEIL_E_MALFORMED,
		    "measurement block %u: MeasurementSize %u does not match its value "
		    "size %u",
		    b->index, meas_size, value_size);
	r->block_count++;
	return VEIL_OK;
}

static veil_err parse_opaque(nv_report *r, veil_reader *op)
{
	while (veil_reader_left(op) > 0) {
		nv_opaque_field *f = &r->opaque[r->opaque_count];

		ENSURE(r->opaque_count < NV_OPAQUE_MAX, VEIL_E_LIMIT,
		       "more than %d opaque data fields", NV_OPAQUE_MAX);
		TRY(veil_reader_u16le(op, &f->type));
		TRY(veil_reader_u16le(op, &f->len));
		TRY(veil_reader_borrow(op, f->len, &f->value));
		ENSURE(nv_report_opaque(r, f->type) == NULL, VEIL_E_MALFORMED,
		       "opaque data field %u appears twice", f->type);
		r->opaque_count++;
	}
	return VEIL_OK;
}

static veil_err parse_response(nv_report *r, veil_reader *rd)
{
	uint8_t version, code, blocks, len_b[3];
	uint16_t opaque_len;
	veil_reader rec, op;

	TRY(veil_reader_u8(rd, &version));
	TRY(veil_reader_u8(rd, &code));
	ENSURE(version == SPDM_VERSION_11, VEIL_E_MALFORMED,
	       "SPDM response version 0x%02x differs from the request's 0x11", version);
	ENSURE(code == SPDM_MEASUREMENTS, VEIL_E_MALFORMED,
	       "response code 0x%02x is not MEASUREMENTS (0x60)", code);
	TRY(veil_reader_u8(rd, &r->rsp_param1));
	TRY(veil_reader_u8(rd, &r->rsp_param2));
	TRY(veil_reader_u8(rd, &blocks));
	TRY(veil_reader_copy(rd, len_b, sizeof len_b));
	size_t record_len = (size_t)len_b[0] | (size_t)len_b[1] << 8 | (size_t)len_b[2] << 16;
	TRY(veil_reader_sub(rd, record_len, &rec));
	while (veil_reader_left(&rec) > 0)
		TRY(parse_block(r, &rec));
	ENSURE(r->block_count == blocks, VEIL_E_MALFORMED,
	       "NumberOfBlocks says %u, the measurement record holds %zu", blocks, r->block_count);
	ENSURE(blocks > 0, VEIL_E_MALFORMED, "the report has no measurement blocks");

	TRY(veil_reader_borrow(rd, NV_NONCE_LEN, &r->rsp_nonce));
	TRY(veil_reader_u16le(rd, &opaque_len));
	ENSURE(opaque_len <= SPDM_OPAQUE_MAX, VEIL_E_MALFORMED,
	       "OpaqueLength %u exceeds the SPDM maximum of %d", opaque_len, SPDM_OPAQUE_MAX);
	TRY(veil_reader_sub(rd, opaque_len, &op));
	TRY(parse_opaque(r, &op));

	r->signed_len = veil_reader_offset(rd);
	TRY(veil_reader_borrow(rd, NV_SIG_LEN, &r->sig));
	r->trailing = veil_reader_left(rd);
	ENSURE(r->trailing <= NV_TRAILING_MAX, VEIL_E_TRAILING,
	       "%zu bytes after the signature; at most %d zero bytes of padding are accepted",
	       r->trailing, NV_TRAILING_MAX);
	ENSURE(veil_reader_zeros(rd, r->trailing) == VEIL_OK, VEIL_E_TRAILING,
	       "non-zero bytes after the signature: data the signature does not cover");
	return VEIL_OK;
}

veil_err nv_report_parse(const uint8_t *buf, size_t len, nv_report **out)
{
	nv_report *r = NULL;
	veil_reader rd;
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE(len <= VEIL_EVIDENCE_MAX_BYTES, VEIL_E_LIMIT,
	       "GPU report of %zu bytes exceeds the %d-byte limit", len, VEIL_EVIDENCE_MAX_BYTES);
	r = calloc(1, sizeof *r);
	CHECK_THAT(r != NULL, VEIL_E_NOMEM, "out of memory");
	r->raw = malloc(len > 0 ? len : 1);
	CHECK_THAT(r->raw != NULL, VEIL_E_NOMEM, "out of memory");
	if (len > 0)
		memcpy(r->raw, buf, len);
	r->len = len;
	r->found = calloc(1, sizeof *r->found);
	CHECK_THAT(r->found != NULL, VEIL_E_NOMEM, "out of memory");

	veil_reader_init(&rd, r->raw, len);
	err = parse_request(r, &rd);
	if (err == VEIL_OK)
		err = parse_response(r, &rd);
	if (err == VEIL_OK)
		err = nv_opaque_decode(r);
	if (err != VEIL_OK) {
		err = veil_fail_context(err, "NVIDIA GPU report, offset %zu",
					veil_reader_offset(&rd));
		goto out;
	}
	*out = r;
	r = NULL;
out:
	nv_report_free(r);
	return err;
}

void nv_report_free(nv_report *r)
{
	if (r == NULL)
		return;
	free(r->raw);
	free(r->found);
	free(r);
}

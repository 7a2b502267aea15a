/*
 * tdx_quote.c - parses Intel TDX quotes, versions 4 and 5.
 *
 * A quote arrives from a guest we do not trust yet, so every field goes
 * through the bounded reader, every length-prefixed part becomes a
 * sub-reader that must be consumed exactly, and nothing is interpreted
 * before verification except to find the signed regions. The parser is pure:
 * it copies what it needs and never touches the clock, files or the network.
 *
 * Section references are to "Intel TDX DCAP Quote Generation Library and
 * Quote Verification Library", appendix A "Quote Format" (v4: tables A.3 to
 * A.8; v5: table A.2, "Quote Body Descriptor").
 *
 * Trailing bytes: real quotes are often handed over inside a larger buffer
 * (the GCE COS quote is padded to 8000 bytes; Azure's and trustee's carry 70
 * zero bytes; go-tdx-guest appends a text line). The quote's own lengths say
 * where it ends, so bytes after the signature data are tolerated, counted in
 * ->trailing, and never copied, hashed or covered by any check.
 */
#include "evidence/tdx/tdx_quote.h"

#include <stdlib.h>
#include <string.h>

#include "veil/bytes.h"
#include "veil/limits.h"

/* Names the part that failed in the error detail; OK passes through. */
static veil_err in_part(veil_err err, const char *part)
{
	return err == VEIL_OK ? err : veil_fail_context(err, "%s", part);
}

/* Appendix A.3, table "Quote Header": 48 bytes. */
static veil_err quote_header_read(veil_reader *r, tdx_quote *q)
{
	TRY(veil_reader_u16le(r, &q->version));
	ENSURE(q->version == TDX_QUOTE_V4 || q->version == TDX_QUOTE_V5, VEIL_E_UNSUPPORTED,
	       "TDX quote header: version %u at offset 0 is not supported (only 4 and 5 are)",
	       q->version);
	TRY(veil_reader_u16le(r, &q->att_key_type));
	ENSURE(q->att_key_type == TDX_ATT_KEY_ECDSA_P256, VEIL_E_UNSUPPORTED,
	       "TDX quote header: attestation key type %u at offset 2 is not supported (only 2, "
	       "ECDSA-256-with-P-256)",
	       q->att_key_type);
	TRY(veil_reader_u32le(r, &q->tee_type));
	ENSURE(q->tee_type == TDX_TEE_TYPE_TDX, VEIL_E_UNSUPPORTED,
	       "TDX quote header: TEE type 0x%08x at offset 4 is not TDX (0x00000081); an SGX "
	       "quote is not a TDX quote",
	       q->tee_type);
	/* Bytes 8..11 are reserved (formerly QE SVN and PCE SVN); signed, kept. */
	TRY(veil_reader_copy(r, q->header_reserved, sizeof q->header_reserved));
	TRY(veil_reader_copy(r, q->qe_vendor_id, sizeof q->qe_vendor_id));
	TRY(veil_reader_copy(r, q->user_data, sizeof q->user_data));
	return VEIL_OK;
}

/* Appendix A.3.2, table "TD Quote Body" (TDX 1.0, 584 bytes), and A.3.3 for
 * TDX 1.5 (648 bytes: TEE_TCB_SVN2 and MRSERVICETD appended). */
static veil_err td_body_read(veil_reader *r, bool tdx15, tdx_td_body *b)
{
	TRY(veil_reader_copy(r, b->tee_tcb_svn, sizeof b->tee_tcb_svn));
	TRY(veil_reader_copy(r, b->mr_seam, sizeof b->mr_seam));
	TRY(veil_reader_copy(r, b->mr_signer_seam, sizeof b->mr_signer_seam));
	TRY(veil_reader_u64le(r, &b->seam_attributes));
	TRY(veil_reader_u64le(r, &b->td_attributes));
	TRY(veil_reader_u64le(r, &b->xfam));
	TRY(veil_reader_copy(r, b->mr_td, sizeof b->mr_td));
	TRY(veil_reader_copy(r, b->mr_config_id, sizeof b->mr_config_id));
	TRY(veil_reader_copy(r, b->mr_owner, sizeof b->mr_owner));
	TRY(veil_reader_copy(r, b->mr_owner_config, sizeof b->mr_owner_config));
	for (size_t i = 0; i < 4; i++)
		TRY(veil_reader_copy(r, b->rtmr[i], sizeof b->rtmr[i]));
	TRY(veil_reader_copy(r, b->report_data, sizeof b->report_data));
	b->tdx15 = tdx15;
	if (tdx15) {
		TRY(veil_reader_copy(r, b->tee_tcb_svn2, sizeof b->tee_tcb_svn2));
		TRY(veil_reader_copy(r, b->mr_service_td, sizeof b->mr_service_td));
	}
	return veil_reader_end(r);
}

/* v5 (appendix A.2): u16 body type, u32 body size, then the body. */
static veil_err quote_body_read(veil_reader *r, tdx_quote *q)
{
	veil_reader body;

	if (q->version == TDX_QUOTE_V4) {
		q->body_type = TDX_BODY_TYPE_TDX10;
		q->body_size = TDX_BODY_TDX10_LEN;
	} else {
		TRY(veil_reader_u16le(r, &q->body_type));
		TRY(veil_reader_u32le(r, &q->body_size));
		ENSURE(q->body_type == TDX_BODY_TYPE_TDX10 || q->body_type == TDX_BODY_TYPE_TDX15,
		       VEIL_E_UNSUPPORTED,
		       "TDX quote v5: body type %u at offset 48 is not a TD report (2: TDX 1.0, "
		       "3: TDX 1.5); SGX enclave bodies are not TDX evidence",
		       q->body_type);
		size_t want =
		    q->body_type == TDX_BODY_TYPE_TDX15 ? TDX_BODY_TDX15_LEN : TDX_BODY_TDX10_LEN;
		ENSURE(q->body_size == want, VEIL_E_MALFORMED,
		       "TDX quote v5: body size %u at offset 50 does not match body type %u "
		       "(%zu bytes)",
		       q->body_size, q->body_type, want);
	}
	TRY(veil_reader_sub(r, q->body_size, &body));
	TRY(in_part(td_body_read(&body, q->body_type == TDX_BODY_TYPE_TDX15, &q->body),
		    "TD report body"));
	return VEIL_OK;
}

/* SGX REPORT_BODY (SGX SDM vol. 3D, table 38-21), 384 bytes; reserved fields
 * are skipped without a zero check (they are signed by the PCK key anyway). */
static veil_err qe_report_read(veil_reader *r, tdx_qe_report *qe)
{
	TRY(veil_reader_copy(r, qe->cpusvn, sizeof qe->cpusvn));
	TRY(veil_reader_u32le(r, &qe->miscselect));
	TRY(veil_reader_skip(r, 28));
	TRY(veil_reader_copy(r, qe->attributes, sizeof qe->attributes));
	TRY(veil_reader_copy(r, qe->mr_enclave, sizeof qe->mr_enclave));
	TRY(veil_reader_skip(r, 32));
	TRY(veil_reader_copy(r, qe->mr_signer, sizeof qe->mr_signer));
	TRY(veil_reader_skip(r, 96));
	TRY(veil_reader_u16le(r, &qe->isvprodid));
	TRY(veil_reader_u16le(r, &qe->isvsvn));
	TRY(veil_reader_skip(r, 60));
	TRY(veil_reader_copy(r, qe->report_data, sizeof qe->report_data));
	return veil_reader_end(r);
}

/* Appendix A.4, "QE Report Certification Data" (certification data type 6):
 * QE report, its signature, QE auth data, then nested certification data
 * which must be type 5, the PCK certificate chain (appendix A.5). */
static veil_err qe_cert_data_read(veil_reader *r, tdx_quote *q)
{
	veil_reader report, auth, pck;
	uint16_t auth_len, type;
	uint32_t size;

	q->qe_report_off = veil_reader_offset(r);
	TRY(veil_reader_sub(r, TDX_QE_REPORT_LEN, &report));
	TRY(in_part(qe_report_read(&report, &q->qe), "QE report"));
	TRY(veil_reader_copy(r, q->qe_report_sig, sizeof q->qe_report_sig));

	TRY(veil_reader_u16le(r, &auth_len));
	q->qe_auth_off = veil_reader_offset(r);
	q->qe_auth_len = auth_len;
	TRY(veil_reader_sub(r, auth_len, &auth));

	TRY(veil_reader_u16le(r, &type));
	ENSURE(type == TDX_CERT_PCK_CHAIN, VEIL_E_UNSUPPORTED,
	       "TDX quote: certification data type %u inside the QE report certification data "
	       "at offset %zu is not 5 (PCK certificate chain); other types need the PCK "
	       "certificate from elsewhere, which Veil does not support",
	       type, veil_reader_offset(r) - 2);
	TRY(veil_reader_u32le(r, &size));
	ENSURE(size > 0, VEIL_E_MALFORMED,
	       "TDX quote: the PCK certificate chain (certification data type 5) at offset %zu "
	       "is empty",
	       veil_reader_offset(r));
	q->pck_off = veil_reader_offset(r);
	q->pck_len = size;
	TRY(veil_reader_sub(r, size, &pck));
	return veil_reader_end(r);
}

/* Appendix A.4, "ECDSA 256-bit Quote Signature Data Structure". */
static veil_err sig_data_read(veil_reader *r, tdx_quote *q)
{
	veil_reader cert;
	uint16_t type;
	uint32_t size;

	TRY(veil_reader_copy(r, q->signature, sizeof q->signature));
	TRY(veil_reader_copy(r, q->attest_key, sizeof q->attest_key));
	TRY(veil_reader_u16le(r, &type));
	ENSURE(type == TDX_CERT_QE_REPORT, VEIL_E_UNSUPPORTED,
	       "TDX quote: certification data type %u at offset %zu is not 6 (QE report "
	       "certification data), the only type TDX quotes use",
	       type, veil_reader_offset(r) - 2);
	TRY(veil_reader_u32le(r, &size));
	TRY(veil_reader_sub(r, size, &cert));
	TRY(qe_cert_data_read(&cert, q));
	return veil_reader_end(r);
}

static veil_err quote_read(veil_reader *r, tdx_quote *q)
{
	veil_reader sig;
	uint32_t sig_len;

	TRY(quote_header_read(r, q));
	TRY(quote_body_read(r, q));
	q->signed_len = veil_reader_offset(r);
	TRY(veil_reader_u32le(r, &sig_len));
	ENSURE(sig_len <= veil_reader_left(r), VEIL_E_TRUNCATED,
	       "TDX quote: signature data length %u at offset %zu runs past the end of the "
	       "quote (%zu bytes left); the quote is truncated",
	       sig_len, veil_reader_offset(r) - 4, veil_reader_left(r));
	TRY(veil_reader_sub(r, sig_len, &sig));
	TRY(in_part(sig_data_read(&sig, q), "signature data"));
	return VEIL_OK;
}

veil_err tdx_quote_parse(const uint8_t *buf, size_t len, tdx_quote **out)
{
	veil_reader r;
	tdx_quote *q;
	veil_err err;

	*out = NULL;
	ENSURE(buf != NULL || len == 0, VEIL_E_USAGE, "tdx_quote_parse: NULL buffer");
	ENSURE(len <= VEIL_EVIDENCE_MAX_BYTES, VEIL_E_LIMIT,
	       "TDX quote of %zu bytes is above the %d-byte cap on evidence", len,
	       VEIL_EVIDENCE_MAX_BYTES);
	q = calloc(1, sizeof *q);
	ENSURE(q != NULL, VEIL_E_NOMEM, "out of memory for a TDX quote");
	veil_reader_init(&r, buf, len);
	CHECK(quote_read(&r, q));
	q->raw_len = veil_reader_offset(&r);
	q->trailing = veil_reader_left(&r);
	q->raw = malloc(q->raw_len);
	q->found = calloc(1, sizeof *q->found);
	CHECK_THAT(q->raw != NULL && q->found != NULL, VEIL_E_NOMEM,
		   "out of memory for a TDX quote");
	memcpy(q->raw, buf, q->raw_len);
	*out = q;
	return VEIL_OK;
out:
	tdx_quote_free(q);
	return err;
}

void tdx_quote_free(tdx_quote *q)
{
	if (q == NULL)
		return;
	free(q->raw);
	free(q->found);
	free(q);
}

bool tdx_quote_detect(const uint8_t *buf, size_t len)
{
	veil_reader r;
	uint16_t version, key_type;
	uint32_t tee_type;

	veil_reader_init(&r, buf, len);
	if (len < TDX_QUOTE_HEADER_LEN || veil_reader_u16le(&r, &version) != VEIL_OK ||
	    veil_reader_u16le(&r, &key_type) != VEIL_OK ||
	    veil_reader_u32le(&r, &tee_type) != VEIL_OK)
		return false;
	return (version == TDX_QUOTE_V4 || version == TDX_QUOTE_V5) &&
	       key_type == TDX_ATT_KEY_ECDSA_P256 && tee_type == TDX_TEE_TYPE_TDX;
}

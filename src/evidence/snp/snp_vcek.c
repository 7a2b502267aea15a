/*
 * snp_vcek.c - reads the VCEK/VLEK extensions and picks the right
 * certificate out of the collateral.
 *
 * A report names neither its signing certificate nor a file: the VCEK is
 * derived from the chip's secret and the TCB it runs (so there is one per
 * chip and TCB), the VLEK is provisioned to a cloud provider per TCB. AMD's
 * KDS puts what the key stands for into certificate extensions under
 * 1.3.6.1.4.1.3704.1 (AMD "Versioned Chip Endorsement Key (VCEK) Certificate
 * and KDS Interface Specification", Table 8): structVersion .1, productName
 * .2, blSPL .3.1, teeSPL .3.2, snpSPL .3.3, spl_4-7 .3.4-.3.7, ucodeSPL .3.8,
 * fmcSPL .3.9 (Turin), hwID .4, cspID .5 (VLEK). Veil reads them with the
 * bounded DER reader and matches certificates to the report by content:
 * hwID == CHIP_ID and SPLs == REPORTED_TCB. File names play no part.
 */
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "evidence/snp/snp_report.h"
#include "veil/codec.h"
#include "veil/der.h"
#include "veil/x509.h"

#define AMD_OID "1.3.6.1.4.1.3704.1."

/* An SPL extension: a DER INTEGER 0..255 filling the extension value. */
static veil_err ext_spl(X509 *cert, const char *oid, const char *name, bool *has, uint8_t *out)
{
	const uint8_t *v;
	size_t n;
	veil_reader r;
	uint64_t x;
	veil_err err = veil_cert_ext(cert, oid, &v, &n);

	*has = false;
	if (err == VEIL_E_NOT_FOUND)
		return VEIL_OK;
	TRY(err);
	veil_reader_init(&r, v, n);
	err = veil_der_read_uint(&r, VEIL_DER_INTEGER, &x);
	if (err == VEIL_OK)
		err = veil_reader_end(&r);
	if (err != VEIL_OK)
		return veil_fail_context(err, "VEK extension %s (%s)", name, oid);
	ENSURE(x <= 255, VEIL_E_MALFORMED, "VEK extension %s (%s) is %llu; an SPL is 0-255", name,
	       oid, (unsigned long long)x);
	*out = (uint8_t)x;
	*has = true;
	return VEIL_OK;
}

/* productName (.2): an IA5String such as "Milan-B0"; UTF8String and
 * PrintableString are accepted too. */
static veil_err ext_product_name(X509 *cert, char *out, size_t cap)
{
	const uint8_t *v;
	size_t n;
	veil_reader r, s;
	uint8_t tag;
	veil_err err = veil_cert_ext(cert, AMD_OID "2", &v, &n);

	out[0] = '\0';
	if (err == VEIL_E_NOT_FOUND)
		return VEIL_OK;
	TRY(err);
	veil_reader_init(&r, v, n);
	TRY(veil_der_read_any(&r, &tag, &s));
	TRY(veil_reader_end(&r));
	ENSURE(tag == VEIL_DER_IA5STRING || tag == VEIL_DER_UTF8STRING ||
		   tag == VEIL_DER_PRINTABLESTRING,
	       VEIL_E_MALFORMED, "VEK extension productName has DER tag 0x%02x, not a string", tag);
	n = veil_reader_left(&s);
	ENSURE(n < cap, VEIL_E_MALFORMED, "VEK extension productName is %zu bytes long", n);
	for (size_t i = 0; i < n; i++) {
		uint8_t c;
		TRY(veil_reader_u8(&s, &c));
		ENSURE(c >= 0x20 && c < 0x7f, VEIL_E_MALFORMED,
		       "VEK extension productName has a non-printable byte 0x%02x", c);
		out[i] = (char)c;
	}
	out[n] = '\0';
	return VEIL_OK;
}

/* hwID (.4): 64 raw bytes (Milan, Genoa), 8 raw bytes (Turin), or the same
 * wrapped in a DER OCTET STRING (newer KDS encodings, trustee's
 * test-vcek-invalid-new.der). Raw forms are told apart by their length: a
 * wrapped value is 2 bytes longer. */
static veil_err ext_hwid(X509 *cert, uint8_t out[64], size_t *out_len)
{
	const uint8_t *v;
	size_t n;
	veil_reader r, s;
	veil_err err = veil_cert_ext(cert, AMD_OID "4", &v, &n);

	*out_len = 0;
	if (err == VEIL_E_NOT_FOUND)
		return VEIL_OK;
	TRY(err);
	if (n != 8 && n != 64) {
		veil_reader_init(&r, v, n);
		err = veil_der_read(&r, VEIL_DER_OCTET_STRING, &s);
		if (err == VEIL_OK)
			err = veil_reader_end(&r);
		if (err != VEIL_OK)
			return veil_fail_context(err, "VEK extension hwID (%zu bytes)", n);
		n = veil_reader_left(&s);
		TRY(veil_reader_borrow(&s, n, &v));
	}
	ENSURE(n == 8 || n == 64, VEIL_E_MALFORMED,
	       "VEK extension hwID is %zu bytes; expected 64 (Milan, Genoa) or 8 (Turin)", n);
	memcpy(out, v, n);
	*out_len = n;
	return VEIL_OK;
}

veil_err snp_vek_ext_parse(X509 *cert, struct snp_vek_ext *out)
{
	char cn[64];
	bool has_sv;
	uint8_t sv;

	memset(out, 0, sizeof *out);
	veil_cert_cn(cert, cn, sizeof cn);
	if (strcmp(cn, "SEV-VLEK") == 0)
		out->is_vlek = true;
	else if (strcmp(cn, "SEV-VCEK") != 0)
		return veil_fail(VEIL_E_NOT_FOUND, "certificate \"%s\" is not a VCEK or VLEK", cn);
	TRY(ext_spl(cert, AMD_OID "1", "structVersion", &has_sv, &sv));
	out->struct_version = has_sv ? sv : 0;
	TRY(ext_product_name(cert, out->product_name, sizeof out->product_name));
	TRY(ext_spl(cert, AMD_OID "3.1", "blSPL", &out->has_bl, &out->bl));
	TRY(ext_spl(cert, AMD_OID "3.2", "teeSPL", &out->has_tee, &out->tee));
	TRY(ext_spl(cert, AMD_OID "3.3", "snpSPL", &out->has_snp, &out->snp));
	TRY(ext_spl(cert, AMD_OID "3.8", "ucodeSPL", &out->has_ucode, &out->ucode));
	TRY(ext_spl(cert, AMD_OID "3.9", "fmcSPL", &out->has_fmc, &out->fmc));
	TRY(ext_hwid(cert, out->hwid, &out->hwid_len));
	/* A VLEK is not tied to a chip; a VCEK always is. */
	ENSURE(out->is_vlek ? out->hwid_len == 0 : out->hwid_len != 0, VEIL_E_MALFORMED,
	       "%s certificate %s a hwID extension (1.3.6.1.4.1.3704.1.4)", cn,
	       out->is_vlek ? "has" : "lacks");
	return VEIL_OK;
}

void snp_tcb_text(const struct snp_tcb *tcb, char *buf, size_t cap)
{
	if (tcb->has_fmc)
		snprintf(buf, cap, "fmc %u bl %u tee %u snp %u ucode %u", tcb->fmc, tcb->bootloader,
			 tcb->tee, tcb->snp, tcb->microcode);
	else
		snprintf(buf, cap, "bl %u tee %u snp %u ucode %u", tcb->bootloader, tcb->tee,
			 tcb->snp, tcb->microcode);
}

static void ext_tcb_text(const struct snp_vek_ext *e, char *buf, size_t cap)
{
	if (e->has_fmc)
		snprintf(buf, cap, "fmc %u bl %u tee %u snp %u ucode %u", e->fmc, e->bl, e->tee,
			 e->snp, e->ucode);
	else
		snprintf(buf, cap, "bl %u tee %u snp %u ucode %u", e->bl, e->tee, e->snp, e->ucode);
}

/* AMD KDS: a VCEK is requested for blSPL, teeSPL, snpSPL, ucodeSPL (and
 * fmcSPL on Turin) and carries exactly those; they must equal the report's
 * REPORTED_TCB, the TCB the firmware derived the signing key from. */
veil_err snp_vek_tcb_match(const struct snp_vek_ext *ext, const struct snp_tcb *tcb)
{
	char want[64], got[64];

	ENSURE(ext->has_bl && ext->has_tee && ext->has_snp && ext->has_ucode, VEIL_E_MALFORMED,
	       "VEK lacks an SPL extension (blSPL, teeSPL, snpSPL and ucodeSPL are required)");
	ENSURE(ext->has_fmc == tcb->has_fmc, VEIL_E_MISMATCH,
	       "VEK %s fmcSPL but the report's TCB layout %s an FMC field (Turin has one)",
	       ext->has_fmc ? "has" : "lacks", tcb->has_fmc ? "has" : "has no");
	if (ext->bl == tcb->bootloader && ext->tee == tcb->tee && ext->snp == tcb->snp &&
	    ext->ucode == tcb->microcode && (!tcb->has_fmc || ext->fmc == tcb->fmc))
		return VEIL_OK;
	ext_tcb_text(ext, got, sizeof got);
	snp_tcb_text(tcb, want, sizeof want);
	return veil_fail(VEIL_E_MISMATCH,
			 "VEK TCB (%s) differs from REPORTED_TCB at offset 0x180 (%s); put the "
			 "VEK for the reported TCB in the collateral",
			 got, want);
}

/* hwID must equal CHIP_ID (offset 0x1A0): all 64 bytes, or on Turin the first
 * 8 bytes with the rest of CHIP_ID zero. */
veil_err snp_vek_chip_match(const struct snp_vek_ext *ext, const uint8_t chip_id[64])
{
	static const uint8_t zeros[56];

	if (ext->hwid_len == 64 && memcmp(ext->hwid, chip_id, 64) == 0)
		return VEIL_OK;
	if (ext->hwid_len == 8 && memcmp(ext->hwid, chip_id, 8) == 0 &&
	    memcmp(chip_id + 8, zeros, sizeof zeros) == 0)
		return VEIL_OK;
	return veil_fail(VEIL_E_MISMATCH,
			 "VEK hwID (%zu bytes) differs from CHIP_ID at offset 0x1A0; this VCEK "
			 "belongs to another chip",
			 ext->hwid_len);
}

static bool is_candidate(const struct snp_report *r, const struct snp_vek_ext *e)
{
	if (r->signing_key == SNP_SIGNER_VLEK)
		return e->is_vlek;
	if (e->is_vlek)
		return false;
	/* ABI: with MASK_CHIP_KEY set CHIP_ID reads as zero; the signature then
	 * has to tell which VCEK is the right one. */
	if (r->mask_chip_key)
		return true;
	return snp_vek_chip_match(e, r->chip_id) == VEIL_OK;
}

static void candidate_add(struct snp_vek_list *list, X509 *cert, const struct snp_vek_ext *e,
			  bool tcb_ok, const char *origin)
{
	struct snp_vek *slot;

	/* The same certificate may come twice (a bundle and a single file). */
	for (size_t i = 0; i < list->count; i++)
		if (X509_cmp(list->item[i].cert, cert) == 0)
			return;
	if (list->count == SNP_VEK_CANDIDATES_MAX)
		return;
	if (X509_up_ref(cert) != 1)
		return;
	/* Keep those whose TCB matches in front, in collateral order. */
	size_t at = list->count;
	if (tcb_ok)
		while (at > 0 && !list->item[at - 1].tcb_matches)
			at--;
	memmove(&list->item[at + 1], &list->item[at], (list->count - at) * sizeof list->item[0]);
	slot = &list->item[at];
	slot->cert = cert;
	slot->ext = *e;
	slot->tcb_matches = tcb_ok;
	slot->origin = origin;
	list->count++;
}

static void scan_blob(const struct snp_report *r, const veil_blob *b, enum snp_product layout,
		      struct snp_vek_list *out)
{
	STACK_OF(X509) *certs = NULL;
	struct snp_vek_ext e;
	struct snp_tcb tcb;

	/* Collateral holds other things too (CRLs, TDX JSON): skip what is not
	 * a certificate. */
	if (veil_certs_parse(b->data, b->len, &certs) != VEIL_OK)
		return;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		enum snp_product p = layout;
		if (snp_vek_ext_parse(c, &e) != VEIL_OK || !is_candidate(r, &e))
			continue;
		if (p == SNP_PRODUCT_UNKNOWN)
			p = snp_product_from_name(e.product_name);
		snp_tcb_decode(r->reported_tcb, p, &tcb);
		candidate_add(out, c, &e, snp_vek_tcb_match(&e, &tcb) == VEIL_OK, b->origin);
	}
	sk_X509_pop_free(certs, X509_free);
}

veil_err snp_vek_find(const struct snp_report *r, const veil_collateral *coll,
		      enum snp_product layout, struct snp_vek_list *out)
{
	struct snp_tcb tcb;
	char tcb_text[64], chip[2 * 8 + 1];
	bool vlek = r->signing_key == SNP_SIGNER_VLEK;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; coll != NULL && i < coll->count; i++)
		scan_blob(r, &coll->blob[i], layout, out);
	veil_err_clear();
	if (out->count > 0)
		return VEIL_OK;
	snp_tcb_decode(r->reported_tcb, layout, &tcb);
	snp_tcb_text(&tcb, tcb_text, sizeof tcb_text);
	if (vlek)
		return veil_fail(VEIL_E_NOT_FOUND,
				 "VLEK not found for TCB %s; put the cloud provider's VLEK "
				 "certificate in the collateral directory (see docs/collateral.md)",
				 tcb_text);
	veil_hex_encode(r->chip_id, 8, chip);
	return veil_fail(VEIL_E_NOT_FOUND,
			 "VCEK not found for chip %s... TCB %s; put it in the collateral directory "
			 "(see docs/collateral.md; AMD KDS serves it at /vcek/v1/<product>/<chip "
			 "id>)",
			 chip, tcb_text);
}

void snp_vek_list_clear(struct snp_vek_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		X509_free(list->item[i].cert);
	memset(list, 0, sizeof *list);
}

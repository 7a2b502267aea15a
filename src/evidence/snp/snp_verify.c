/*
 * snp_verify.c - decides whether an SEV-SNP report is genuine.
 *
 * The report is signed (ECDSA P-384, SHA-384) by a Versioned Chip
 * Endorsement Key (VCEK: one per chip and TCB) or a Versioned Loaded
 * Endorsement Key (VLEK: one per cloud provider and TCB). Its certificate
 * chains VCEK -> ASK -> ARK or VLEK -> ASVK -> ARK, RSASSA-PSS SHA-384, to the
 * built-in ARK of one product (snp_roots.c). The checks, each recorded so a
 * user sees every reason a report was refused:
 *
 *   report.parse      the report parsed (version, layout)
 *   hcl.runtime_data  Azure HCL only: REPORT_DATA = H(runtime JSON) || zeros
 *   vek.found         a VCEK/VLEK for this chip and TCB is in the collateral
 *   product           VEK productName, CPUID (v3+) and the expected product agree
 *   vek.chain         the VEK chains to that product's ARK at ctx->at
 *   vek.tcb           the VEK's SPL extensions equal REPORTED_TCB
 *   vek.chip_id       VCEK hwID equals CHIP_ID; VLEK reports have CHIP_ID zero
 *   report.signature  the signature over [0x000, 0x2A0) verifies with the VEK
 *
 * With a cache (the verifier's SNP slot, snp_cache.c), a VEK chosen and
 * chain-verified once is reused: the warm path is the report signature, one
 * window compare and a few memcmps.
 */
#include <stdio.h>
#include <string.h>

#include "evidence/snp/snp_report.h"
#include "veil/check.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/evidence.h"
#include "veil/timeutil.h"
#include "veil/x509.h"

veil_err snp_chain_verify_with(X509 *vek, X509 *intermediate, X509 *root, STACK_OF(X509_CRL) * crls,
			       int64_t at)
{
	STACK_OF(X509) *st = sk_X509_new_null();
	veil_err err;

	if (st == NULL || sk_X509_push(st, intermediate) <= 0) {
		sk_X509_free(st);
		return veil_fail(VEIL_E_NOMEM, "SNP chain: out of memory");
	}
	err = veil_chain_verify(vek, st, root, crls, false, at);
	sk_X509_free(st);
	return err;
}

/*
 * The CRLs among the collateral that can apply to this chain: issued (by
 * name) by the product's ARK, which lists revoked ASKs and ASVKs, or by the
 * ASK / ASVK, which lists revoked VEKs (AMD KDS /vcek/v1/<product>/crl).
 * veil_chain_verify checks each one's signature by that issuer and that it
 * is current. A blob in PEM CRL form that does not parse is an error: a
 * supplied CRL is never skipped.
 */
static veil_err amd_crls(const veil_collateral *c, X509 *intermediate, X509 *ark,
			 STACK_OF(X509_CRL) * *out)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	static const char pem_crl[] = "-----BEGIN X509 CRL-----";

	ENSURE(crls != NULL, VEIL_E_NOMEM, "out of memory for CRLs");
	for (size_t i = 0; c != NULL && i < c->count; i++) {
		const veil_blob *b = &c->blob[i];
		X509_CRL *crl = NULL;
		bool pem = memmem(b->data, b->len, pem_crl, sizeof pem_crl - 1) != NULL;
		veil_err err = veil_crl_parse(b->data, b->len, &crl);
		if (err != VEIL_OK) {
			if (pem) {
				sk_X509_CRL_pop_free(crls, X509_CRL_free);
				return veil_fail_context(err, "CRL %s", b->origin);
			}
			veil_err_clear(); /* a certificate or other file, not a CRL */
			continue;
		}
		X509_NAME *issuer = X509_CRL_get_issuer(crl);
		if ((X509_NAME_cmp(issuer, X509_get_subject_name(ark)) == 0 ||
		     X509_NAME_cmp(issuer, X509_get_subject_name(intermediate)) == 0) &&
		    sk_X509_CRL_push(crls, crl) > 0)
			continue;
		X509_CRL_free(crl);
	}
	*out = crls;
	return VEIL_OK;
}

veil_err snp_chain_verify(X509 *vek, bool is_vlek, enum snp_product product,
			  const veil_collateral *c, int64_t at, size_t *crls_applied)
{
	STACK_OF(X509_CRL) *crls = NULL;
	X509 *ark, *ask, *asvk;
	veil_err err;

	TRY(snp_roots_get(product, &ark, &ask, &asvk));
	TRY(amd_crls(c, is_vlek ? asvk : ask, ark, &crls));
	err = snp_chain_verify_with(vek, is_vlek ? asvk : ask, ark, crls, at);
	if (crls_applied != NULL)
		*crls_applied = (size_t)sk_X509_CRL_num(crls);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s -> %s -> ARK-%s", is_vlek ? "VLEK" : "VCEK",
					 is_vlek ? "ASVK" : "ASK", snp_product_name(product));
	return VEIL_OK;
}

/* The intersection of the validity windows of VEK, ASK/ASVK and ARK, and of
 * the AMD CRLs applied to them (current while thisUpdate <= at < nextUpdate),
 * so a cached chain is reused only while a cold check would say the same. */
static veil_err chain_window(X509 *vek, bool is_vlek, enum snp_product product,
			     const veil_collateral *coll, int64_t *nb, int64_t *na)
{
	STACK_OF(X509_CRL) *crls = NULL;
	X509 *ark, *ask, *asvk, *c[3];
	int64_t b, a;
	veil_err err = VEIL_OK;

	TRY(snp_roots_get(product, &ark, &ask, &asvk));
	c[0] = vek;
	c[1] = is_vlek ? asvk : ask;
	c[2] = ark;
	*nb = INT64_MIN;
	*na = INT64_MAX;
	for (int i = 0; i < 3; i++) {
		TRY(veil_cert_validity(c[i], &b, &a));
		*nb = b > *nb ? b : *nb;
		*na = a < *na ? a : *na;
	}
	TRY(amd_crls(coll, c[1], ark, &crls));
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		CHECK(veil_crl_validity(sk_X509_CRL_value(crls, i), &b, &a));
		*nb = b > *nb ? b : *nb;
		*na = a < *na ? a : *na;
	}
out:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return err;
}

veil_err snp_report_signature_verify(const struct snp_report *r, EVP_PKEY *pub)
{
	veil_err err;

	ENSURE(EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC && EVP_PKEY_get_bits(pub) == 384,
	       VEIL_E_VERIFY, "SNP report: the VEK's key is not ECDSA P-384");
	/* SEV-SNP ABI, ATTESTATION_REPORT: SIGNATURE (0x2A0) covers bytes
	 * 0x000-0x29F; R and S are 72-byte little-endian integers. */
	err = veil_ecdsa_verify_le(pub, EVP_sha384(), r->signed_bytes, SNP_SIGNED_SIZE, r->sig_r,
				   r->sig_s, SNP_SIG_COMPONENT);
	if (err == VEIL_E_VERIFY || err == VEIL_E_MALFORMED)
		return veil_fail(VEIL_E_VERIFY,
				 "SNP report: the ECDSA P-384 signature at 0x2A0 over [0x000, "
				 "0x2A0) does not verify with the VEK; the report was altered or "
				 "was signed by another key");
	return err;
}

/* Which product this report is from: the expected product when the caller
 * named one, else the VEK's productName, else CPUID; every source that says
 * something must agree. *out is the product to chain to (UNKNOWN if none). */
static bool product_decide(const struct snp_report *r, const struct snp_vek_ext *ext,
			   const char *want, enum snp_product *out, char *msg, size_t cap)
{
	enum snp_product vek = snp_product_from_name(ext->product_name);
	enum snp_product asked = snp_product_from_name(want);
	enum snp_product cpu = r->has_cpuid ? r->cpuid_product : SNP_PRODUCT_UNKNOWN;

	*out = asked != SNP_PRODUCT_UNKNOWN ? asked : vek != SNP_PRODUCT_UNKNOWN ? vek : cpu;
	if (want != NULL && asked == SNP_PRODUCT_UNKNOWN) {
		snprintf(msg, cap, "expected product \"%s\" is not Milan, Genoa or Turin", want);
		return false;
	}
	if (ext->product_name[0] != '\0' && vek == SNP_PRODUCT_UNKNOWN) {
		snprintf(msg, cap, "VEK productName \"%s\" is not Milan, Genoa or Turin",
			 ext->product_name);
		return false;
	}
	if (r->has_cpuid && cpu == SNP_PRODUCT_UNKNOWN) {
		snprintf(msg, cap,
			 "CPUID_FAM_ID 0x%02x CPUID_MOD_ID 0x%02x (offset 0x188) is not a known "
			 "SEV-SNP product",
			 r->cpuid_fam, r->cpuid_mod);
		return false;
	}
	if (*out == SNP_PRODUCT_UNKNOWN) {
		snprintf(msg, cap,
			 "cannot tell the product: the VEK has no productName and the version "
			 "%u report no CPUID; name the expected product",
			 r->version);
		return false;
	}
	if (vek != SNP_PRODUCT_UNKNOWN && vek != *out) {
		snprintf(msg, cap, "VEK productName \"%s\" but expected %s", ext->product_name,
			 snp_product_name(*out));
		return false;
	}
	if (cpu != SNP_PRODUCT_UNKNOWN && cpu != *out) {
		snprintf(msg, cap,
			 "report CPUID 0x%02x/0x%02x (offset 0x188) is %s but expected %s",
			 r->cpuid_fam, r->cpuid_mod, snp_product_name(cpu), snp_product_name(*out));
		return false;
	}
	snprintf(msg, cap, "%s (VEK \"%s\"%s)", snp_product_name(*out), ext->product_name,
		 r->has_cpuid ? ", CPUID agrees" : "");
	return true;
}

/* What the warm or the cold path found. */
struct snp_found {
	EVP_PKEY *pkey; /* owned reference */
	struct snp_vek_ext ext;
	enum snp_product product;
};

static bool add(bool *all, veil_checks *checks, const char *name, bool ok, const char *detail)
{
	veil_checks_add(checks, name, ok, "%s", detail);
	*all = *all && ok;
	return ok;
}

static bool add_err(bool *all, veil_checks *checks, const char *name, veil_err err,
		    const char *ok_detail)
{
	veil_checks_add_err(checks, name, err, ok_detail);
	*all = *all && err == VEIL_OK;
	return err == VEIL_OK;
}

static void cache_key(const struct snp_report *r, const veil_verify_ctx *ctx,
		      struct snp_cache_key *k)
{
	memset(k, 0, sizeof *k);
	k->collateral_id = ctx->collateral != NULL ? ctx->collateral->id : 0;
	k->signer = r->signing_key;
	memcpy(k->chip_id, r->chip_id, sizeof k->chip_id);
	k->reported_tcb = r->reported_tcb;
	k->layout = snp_report_layout_product(r, SNP_PRODUCT_UNKNOWN);
}

/* Warm path: a VEK verified earlier for the same collateral, chip and TCB,
 * when the product decision still leads to the chain it verified through. */
static bool found_cached(const struct snp_report *r, const veil_verify_ctx *ctx, void **cache,
			 struct snp_found *f, bool *all, veil_checks *checks)
{
	const struct snp_cache_entry *e;
	struct snp_cache_key k;
	char msg[200], nb[21], na[21], at[21], fp[17];
	enum snp_product p;
	bool ok;

	if (cache == NULL || ctx->collateral == NULL)
		return false;
	cache_key(r, ctx, &k);
	e = snp_cache_lookup(*cache, &k);
	if (e == NULL)
		return false;
	ok = product_decide(r, &e->ext, ctx->product, &p, msg, sizeof msg);
	if (p != e->product)
		return false;
	if (EVP_PKEY_up_ref(e->pkey) != 1)
		return false;
	f->pkey = e->pkey;
	f->ext = e->ext;
	f->product = p;
	veil_hex_encode(e->vek_sha256, 8, fp);
	add(all, checks, "vek.found", true,
	    e->ext.is_vlek ? "VLEK (verified earlier, cached)" : "VCEK (verified earlier, cached)");
	add(all, checks, "product", ok, msg);
	veil_time_format(e->not_before, nb);
	veil_time_format(e->not_after, na);
	veil_time_format(ctx->at, at);
	/* notAfter is exclusive, as in OpenSSL's own check (X509_cmp_time). */
	if (ctx->at >= e->not_before && ctx->at < e->not_after) {
		snprintf(msg, sizeof msg, "verified earlier (VEK sha256 %s...), valid %s to %s", fp,
			 nb, na);
		add(all, checks, "vek.chain", true, msg);
	} else {
		snprintf(msg, sizeof msg,
			 "%s: the VEK chain is valid from %s to %s, not at %s; verify at a time "
			 "inside the window or get a current VEK",
			 veil_err_str(VEIL_E_EXPIRED), nb, na, at);
		add(all, checks, "vek.chain", false, msg);
	}
	return true;
}

/* Cold path: pick the VEK out of the collateral, decide the product, verify
 * the chain, and remember the result when everything held. */
static bool found_in_collateral(const struct snp_report *r, const veil_verify_ctx *ctx,
				void **cache, struct snp_found *f, bool *all, veil_checks *checks)
{
	struct snp_vek_list list;
	struct snp_vek *v = NULL;
	enum snp_product p;
	char msg[200], detail[240];
	bool product_ok = false, chain_ok = false;
	int64_t nb, na;
	veil_err err;

	err = snp_vek_find(r, ctx->collateral, snp_report_layout_product(r, SNP_PRODUCT_UNKNOWN),
			   &list);
	if (err != VEIL_OK) {
		add_err(all, checks, "vek.found", err, "");
		return false;
	}
	/* The first candidate whose chain verifies wins, and when the report
	 * does not name its chip (CHIP_ID masked, or VLEK-signed: several VLEKs
	 * can share a TCB) only one whose key verifies the report; otherwise
	 * the best match, so the checks below say what is wrong with it. */
	for (size_t i = 0; i < list.count && v == NULL; i++) {
		struct snp_vek *c = &list.item[i];
		EVP_PKEY *pk;
		product_decide(r, &c->ext, ctx->product, &p, msg, sizeof msg);
		if (p == SNP_PRODUCT_UNKNOWN ||
		    snp_chain_verify(c->cert, c->ext.is_vlek, p, ctx->collateral, ctx->at, NULL) !=
			VEIL_OK)
			continue;
		if (r->mask_chip_key || c->ext.is_vlek) {
			pk = X509_get_pubkey(c->cert);
			err = pk != NULL ? snp_report_signature_verify(r, pk) : VEIL_E_CRYPTO;
			EVP_PKEY_free(pk);
			if (err != VEIL_OK)
				continue;
		}
		v = c;
	}
	if (v == NULL)
		v = &list.item[0];
	veil_err_clear();
	snprintf(detail, sizeof detail, "%s from %s", v->ext.is_vlek ? "VLEK" : "VCEK", v->origin);
	add(all, checks, "vek.found", true, detail);
	product_ok = product_decide(r, &v->ext, ctx->product, &p, msg, sizeof msg);
	add(all, checks, "product", product_ok, msg);
	if (p != SNP_PRODUCT_UNKNOWN) {
		size_t ncrl = 0;
		err = snp_chain_verify(v->cert, v->ext.is_vlek, p, ctx->collateral, ctx->at, &ncrl);
		snprintf(detail, sizeof detail, "%s -> %s -> ARK-%s; %s",
			 v->ext.is_vlek ? "VLEK" : "VCEK", v->ext.is_vlek ? "ASVK" : "ASK",
			 snp_product_name(p),
			 ncrl > 0 ? "AMD CRLs applied"
				  : "revocation unchecked (no AMD CRL supplied)");
		chain_ok = add_err(all, checks, "vek.chain", err, detail);
	} else {
		add(all, checks, "vek.chain", false, "no product, so no AMD root to chain to");
	}
	f->pkey = X509_get_pubkey(v->cert);
	f->ext = v->ext;
	f->product = p;
	/* Cached only when the key identifies the VEK: a chip-named VCEK, or the
	 * only VLEK candidate in this collateral. */
	if (chain_ok && product_ok && cache != NULL && ctx->collateral != NULL &&
	    !r->mask_chip_key && (!v->ext.is_vlek || list.count == 1) && f->pkey != NULL &&
	    chain_window(v->cert, v->ext.is_vlek, p, ctx->collateral, &nb, &na) == VEIL_OK) {
		struct snp_cache_key k;
		cache_key(r, ctx, &k);
		/* A cache that cannot grow only costs speed. */
		if (snp_cache_insert(cache, &k, v->cert, &v->ext, p, nb, na) != VEIL_OK)
			veil_err_clear();
	}
	snp_vek_list_clear(&list);
	if (f->pkey == NULL)
		add(all, checks, "report.signature", false, "the VEK's public key does not decode");
	return f->pkey != NULL;
}

static void verify_hcl(const struct snp_evidence *ev, bool *all, veil_checks *checks)
{
	static const uint8_t zeros[64];
	uint8_t d[64];
	size_t n = 0;
	veil_err err = VEIL_E_UNSUPPORTED;

	/* Azure vTPM: REPORT_DATA (offset 0x50 of the report) carries the hash
	 * (hash_type) of the runtime-data JSON, zero-padded to 64 bytes. */
	if (ev->hcl_hash_type == 1) {
		err = veil_sha256(ev->hcl_runtime, ev->hcl_runtime_len, d);
		n = 32;
	} else if (ev->hcl_hash_type == 2) {
		err = veil_sha384(ev->hcl_runtime, ev->hcl_runtime_len, d);
		n = 48;
	} else if (ev->hcl_hash_type == 3) {
		err = veil_sha512(ev->hcl_runtime, ev->hcl_runtime_len, d);
		n = 64;
	}
	if (err != VEIL_OK) {
		add_err(all, checks, "hcl.runtime_data", err, "");
		return;
	}
	add(all, checks, "hcl.runtime_data",
	    memcmp(d, ev->report.report_data, n) == 0 &&
		memcmp(ev->report.report_data + n, zeros, 64 - n) == 0,
	    memcmp(d, ev->report.report_data, n) == 0
		? "REPORT_DATA = hash(runtime JSON) || zeros"
		: "REPORT_DATA (offset 0x50) is not the hash of the HCL runtime JSON; the "
		  "runtime data was altered");
}

static void verify_vek_binding(const struct snp_report *r, const struct snp_found *f, bool *all,
			       veil_checks *checks)
{
	static const uint8_t zeros[64];
	struct snp_tcb tcb;
	char text[64], detail[100];

	snp_tcb_decode(r->reported_tcb, snp_report_layout_product(r, f->product), &tcb);
	snp_tcb_text(&tcb, text, sizeof text);
	snprintf(detail, sizeof detail, "REPORTED_TCB %s", text);
	add_err(all, checks, "vek.tcb", snp_vek_tcb_match(&f->ext, &tcb), detail);
	if (f->ext.is_vlek)
		add(all, checks, "vek.chip_id", memcmp(r->chip_id, zeros, 64) == 0,
		    memcmp(r->chip_id, zeros, 64) == 0
			? "VLEK report, CHIP_ID zero"
			: "VLEK-signed report has a non-zero CHIP_ID (offset 0x1A0)");
	else if (r->mask_chip_key)
		add(all, checks, "vek.chip_id", true,
		    "MASK_CHIP_KEY set: CHIP_ID hidden; the VCEK is identified by the signature");
	else
		add_err(all, checks, "vek.chip_id", snp_vek_chip_match(&f->ext, r->chip_id),
			"hwID = CHIP_ID");
}

veil_err snp_verify(const void *evp, const struct veil_verify_ctx *ctx, void **cache,
		    struct veil_checks *checks)
{
	const struct snp_evidence *ev = evp;
	const struct snp_report *r;
	struct snp_found f;
	char detail[80];
	bool all = true;

	ENSURE(ev != NULL && ctx != NULL && checks != NULL, VEIL_E_USAGE,
	       "SNP verify: missing argument");
	r = &ev->report;
	memset(&f, 0, sizeof f);
	snprintf(detail, sizeof detail, "version %u%s", r->version,
		 ev->is_hcl ? ", in an Azure vTPM HCL report" : "");
	add(&all, checks, "report.parse", true, detail);
	if (ev->is_hcl)
		verify_hcl(ev, &all, checks);
	if (r->signing_key == SNP_SIGNER_NONE) {
		add(&all, checks, "report.signature", false,
		    "SIGNING_KEY (offset 0x048) is 7: the firmware did not sign this report");
		return VEIL_E_VERIFY;
	}
	if (!found_cached(r, ctx, cache, &f, &all, checks) &&
	    !found_in_collateral(r, ctx, cache, &f, &all, checks))
		return VEIL_E_VERIFY;
	ev->learned->product = f.product;
	verify_vek_binding(r, &f, &all, checks);
	add_err(&all, checks, "report.signature", snp_report_signature_verify(r, f.pkey),
		"ECDSA P-384/SHA-384 over [0x000, 0x2A0)");
	EVP_PKEY_free(f.pkey);
	return all ? VEIL_OK : VEIL_E_VERIFY;
}

/*
 * nv_verify.c - verifying an NVIDIA GPU attestation report.
 *
 * The steps, each recorded as a check so a user sees every reason:
 *   gpu.chain            the certificate chain (from the collateral) verifies
 *                        to the pinned NVIDIA Device Identity CA at `at`;
 *   report.signature     the leaf's P-384 key signed the SPDM transcript;
 *   gpu.fwid             the leaf's DICE FWID equals the report's FWID field
 *                        (when the report carries one: older firmware does not);
 *   driver_rim.*         the driver RIM named by the report's driver version and
 *   vbios_rim.*          the VBIOS RIM named by its VBIOS version are found,
 *                        signed by NVIDIA (XML-DSig, chain to the pinned CoRIM
 *                        root at `at`), and every active golden measurement
 *                        matches the report;
 *   rims.no_conflict     no measurement index is claimed by both RIMs;
 *   *.revocation         OCSP status of the GPU and RIM chains, under the
 *                        caller's revocation policy (unknown fails by default).
 * The nonce is compared by the caller (veil_evidence_verify, "report_data").
 *
 * RIMs are found by what they say, not by file name: product (the chip) and
 * colloquialVersion. When several genuine RIMs exist for one version (NVIDIA
 * re-issues RIMs), the report matches if any of them matches all its
 * measurements, and the claims name the one used.
 */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evidence/nvidia/nv_verify.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/secret.h"

typedef struct nv_run {
	const nv_report *r;
	const veil_verify_ctx *ctx;
	nv_cache *cache;
	veil_checks *checks;
	nv_result *res;
	nv_chain *chain;        /* the chain used, or NULL */
	bool signature_checked; /* pick_chain verified the signature with it */
} nv_run;

static bool outcome_current(const nv_outcome *o, int64_t at)
{
	return o->known && at >= o->lo && at < o->hi;
}

/* The window in which every certificate (and the root) is valid. */
static void certs_window(STACK_OF(X509) * certs, X509 *root, int64_t *lo, int64_t *hi)
{
	int64_t nb, na;

	*lo = INT64_MIN;
	*hi = INT64_MAX;
	for (int i = 0; i <= sk_X509_num(certs); i++) {
		X509 *x = i < sk_X509_num(certs) ? sk_X509_value(certs, i) : root;
		if (veil_cert_validity(x, &nb, &na) != VEIL_OK) {
			*lo = *hi = 0; /* never reused */
			return;
		}
		if (nb > *lo)
			*lo = nb;
		if (na < *hi)
			*hi = na;
	}
}

static void outcome_set(nv_outcome *o, bool ok, const char *detail, int64_t at,
			STACK_OF(X509) * certs, X509 *root)
{
	o->known = true;
	o->ok = ok;
	snprintf(o->detail, sizeof o->detail, "%s", detail);
	if (ok)
		certs_window(certs, root, &o->lo, &o->hi);
	else {
		/* Failures are not remembered beyond this instant. */
		o->lo = at;
		o->hi = at + 1;
	}
}

static bool leaf_signed_report(X509 *leaf, const nv_report *r)
{
	EVP_PKEY *pub = X509_get0_pubkey(leaf);
	bool ok;

	if (pub == NULL || EVP_PKEY_get_bits(pub) != 384)
		return false;
	ok = veil_ecdsa_verify_be(pub, EVP_sha384(), r->raw, r->signed_len, r->sig,
				  r->sig + NV_SIG_LEN / 2, NV_SIG_LEN / 2) == VEIL_OK;
	veil_err_clear();
	return ok;
}

static bool chain_fwid_is(const nv_chain *ch, const uint8_t *fwid)
{
	return fwid == NULL || (ch->has_fwid && veil_ct_equal(ch->fwid, fwid, NV_DIGEST_LEN));
}

/* The chain for this report. The FWID names the firmware, not the device
 * (every GPU of a box running the same firmware shares it), so it only
 * narrows the candidates; among several, the one whose leaf key verifies
 * the signature is the report's. A single candidate is used as it is, so
 * a bad signature is reported as such. */
static nv_chain *pick_chain(nv_run *run)
{
	nv_cache *c = run->cache;
	nv_chain *only = NULL;
	size_t candidates = 0;
	const uint8_t *fwid = run->r->fwid;

	for (size_t i = 0; i < c->chain_count; i++)
		if (chain_fwid_is(&c->chain[i], fwid)) {
			candidates++;
			only = &c->chain[i];
		}
	if (candidates == 0) {
		fwid = NULL; /* a chain with another FWID: let the FWID check say so */
		candidates = c->chain_count;
		only = c->chain_count > 0 ? &c->chain[c->chain_count - 1] : NULL;
	}
	if (candidates <= 1)
		return only;
	for (size_t i = 0; i < c->chain_count; i++)
		if (chain_fwid_is(&c->chain[i], fwid) &&
		    leaf_signed_report(sk_X509_value(c->chain[i].certs, 0), run->r)) {
			run->signature_checked = true;
			return &c->chain[i];
		}
	return NULL;
}

static void step_chain(nv_run *run)
{
	X509 *root = nv_device_root();
	nv_chain *ch;
	char cn[128];

	if (root == NULL) {
		veil_checks_add(run->checks, "gpu.chain", false,
				"the built-in NVIDIA Device Identity CA is corrupt");
		return;
	}
	ch = pick_chain(run);
	if (ch == NULL) {
		veil_checks_add(run->checks, "gpu.chain", false,
				run->cache->chain_count == 0
				    ? "no GPU certificate chain among the collateral; pass the "
				      "attestationCertChain NVML returns with --certs"
				    : "none of the %zu GPU certificate chains among the collateral "
				      "belongs to this report (FWID and signature key differ)",
				run->cache->chain_count);
		return;
	}
	run->chain = ch;
	if (!outcome_current(&ch->verified, run->ctx->at)) {
		STACK_OF(X509) *mids = sk_X509_dup(ch->certs);
		veil_err err = mids != NULL ? VEIL_OK : VEIL_E_NOMEM;
		X509 *leaf = sk_X509_value(ch->certs, 0);
		char detail[VEIL_CHECK_DETAIL_MAX];

		if (err == VEIL_OK) {
			(void)sk_X509_shift(mids);
			err = veil_chain_verify(leaf, mids, root, NULL, false, run->ctx->at);
		}
		sk_X509_free(mids);
		if (err == VEIL_OK)
			snprintf(detail, sizeof detail,
				 "\"%s\" chains to the pinned NVIDIA Device Identity CA (%s)",
				 veil_cert_cn(leaf, cn, sizeof cn), ch->origin);
		else
			snprintf(detail, sizeof detail, "%s (%s)", veil_err_detail(), ch->origin);
		outcome_set(&ch->verified, err == VEIL_OK, detail, run->ctx->at, ch->certs, root);
		veil_err_clear();
	}
	run->res->chain_ok =
	    veil_checks_add(run->checks, "gpu.chain", ch->verified.ok, "%s", ch->verified.detail);
}

static void step_signature(nv_run *run)
{
	X509 *leaf;
	EVP_PKEY *pub;
	veil_err err;

	if (run->chain == NULL) {
		veil_checks_add(run->checks, "report.signature", false,
				"not checked: no certificate chain for this report");
		return;
	}
	leaf = sk_X509_value(run->chain->certs, 0);
	pub = X509_get0_pubkey(leaf);
	if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC ||
	    EVP_PKEY_get_bits(pub) != 384) {
		veil_checks_add(run->checks, "report.signature", false,
				"the leaf certificate's key is not ECDSA P-384");
		return;
	}
	err = run->signature_checked
		  ? VEIL_OK
		  : veil_ecdsa_verify_be(pub, EVP_sha384(), run->r->raw, run->r->signed_len,
					 run->r->sig, run->r->sig + NV_SIG_LEN / 2, NV_SIG_LEN / 2);
	run->res->signature_ok =
	    veil_checks_add_err(run->checks, "report.signature", err,
				"ECDSA P-384/SHA-384 by the leaf key over the SPDM transcript") ==
	    VEIL_OK;
	veil_err_clear();
}

static void step_fwid(nv_run *run)
{
	const nv_chain *ch = run->chain;

	if (ch == NULL) {
		veil_checks_add(run->checks, "gpu.fwid", false,
				"not checked: no certificate chain for this report");
		return;
	}
	if (!ch->has_fwid) {
		veil_checks_add(run->checks, "gpu.fwid", false,
				"the leaf certificate has no FWID extension (2.23.133.5.4.1 or "
				"2.23.133.5.4.1.1): is the FMC leaf missing from the chain?");
		return;
	}
	if (run->r->fwid == NULL) {
		run->res->fwid_ok = veil_checks_add(
		    run->checks, "gpu.fwid", true,
		    "the report carries no FWID field (older firmware): nothing to compare");
		return;
	}
	run->res->fwid_compared = true;
	run->res->fwid_ok = veil_checks_add(
	    run->checks, "gpu.fwid", veil_ct_equal(ch->fwid, run->r->fwid, NV_DIGEST_LEN), "%s",
	    veil_ct_equal(ch->fwid, run->r->fwid, NV_DIGEST_LEN)
		? "the leaf certificate's FWID equals the report's"
		: "the leaf certificate's FWID differs from the report's FWID field");
}

static void rim_outcome(nv_run *run, nv_rim_entry *e)
{
	veil_checks scratch;
	X509 *root = NULL;

	if (outcome_current(&e->verified, run->ctx->at))
		return;
	veil_checks_init(&scratch);
	if (rim_root(&root) != VEIL_OK) {
		outcome_set(&e->verified, false, "the built-in CoRIM root is corrupt", run->ctx->at,
			    NULL, NULL);
		e->verified.ok2 = false;
		snprintf(e->verified.detail2, sizeof e->verified.detail2, "%s", e->verified.detail);
		veil_err_clear();
		return;
	}
	/* The outcome is in the checks; the return value repeats it. */
	if (rim_verify(e->rim, root, run->ctx->at, "signature", "chain", &scratch) != VEIL_OK)
		veil_err_clear();
	const veil_check *sig = veil_checks_find(&scratch, "signature");
	const veil_check *chain = veil_checks_find(&scratch, "chain");
	bool sig_ok = sig != NULL && sig->ok, chain_ok = chain != NULL && chain->ok;
	outcome_set(&e->verified, sig_ok && chain_ok, sig != NULL ? sig->detail : "not checked",
		    run->ctx->at, e->rim->certs, root);
	e->verified.ok = sig_ok;
	e->verified.ok2 = chain_ok;
	snprintf(e->verified.detail2, sizeof e->verified.detail2, "%s",
		 chain != NULL ? chain->detail : "not checked");
}

typedef struct rim_kind {
	const char *label; /* "driver", "VBIOS" */
	const char *found, *signature, *chain, *measurements;
} rim_kind;

static const rim_kind driver_kind = {"driver", "driver_rim", "driver_rim.signature",
				     "driver_rim.chain", "driver_rim.measurements"};
static const rim_kind vbios_kind = {"VBIOS", "vbios_rim", "vbios_rim.signature", "vbios_rim.chain",
				    "vbios_rim.measurements"};

/* Finds, verifies and compares the RIM of one kind; returns the entry used. */
static nv_rim_entry *step_rim(nv_run *run, const rim_kind *k, const char *chip, const char *version,
			      nv_rim_match *match, bool *found)
{
	nv_rim_entry *best = NULL;
	nv_rim_match best_m = {0}, m;
	size_t candidates = 0;
	int best_rank = -1;

	*found = false;
	if (version[0] == '\0') {
		veil_checks_add(run->checks, k->found, false,
				"the report has no %s version field to name its RIM", k->label);
		return NULL;
	}
	for (size_t i = 0; i < run->cache->rim_count; i++) {
		nv_rim_entry *e = &run->cache->rim[i];
		int rank;

		if (strcasecmp(e->rim->product, chip) != 0 ||
		    strcasecmp(e->rim->version, version) != 0)
			continue;
		candidates++;
		rim_outcome(run, e);
		nv_rim_compare(e->rim, run->r, &m);
		/* Prefer genuine over not, then matching over not: the checks
		 * then name the real reason for a refusal. */
		rank = (e->verified.ok && e->verified.ok2 ? 2 : 0) + (m.mismatched == 0 ? 1 : 0);
		if (rank > best_rank) {
			best_rank = rank;
			best = e;
			best_m = m;
		}
	}
	if (best == NULL) {
		veil_checks_add(run->checks, k->found, false,
				"no %s RIM for %s %s among the collateral; put it in the --rims "
				"directory",
				k->label, chip, version);
		return NULL;
	}
	*found = true;
	*match = best_m;
	veil_checks_add(run->checks, k->found, true, "%s RIM %s %s from %s (%zu candidate%s)",
			k->label, chip, version, best->origin, candidates,
			candidates == 1 ? "" : "s");
	veil_checks_add(run->checks, k->signature, best->verified.ok, "%s", best->verified.detail);
	veil_checks_add(run->checks, k->chain, best->verified.ok2, "%s", best->verified.detail2);
	if (best_m.active == 0)
		veil_checks_add(run->checks, k->measurements, false,
				"the %s RIM lists no active measurement", k->label);
	else if (best_m.mismatched == 0)
		veil_checks_add(run->checks, k->measurements, true,
				"all %zu active measurements match%s", best_m.active,
				best_m.skipped ? " (index 35 skipped: NVDEC0 disabled)" : "");
	else
		veil_checks_add(run->checks, k->measurements, false,
				"%zu of %zu active measurements differ from the %s RIM, at RIM "
				"index %s",
				best_m.mismatched, best_m.active, k->label, best_m.mismatches);
	return best;
}

static void step_conflict(nv_run *run, const rim *a, const rim *b)
{
	for (size_t i = 0; i < a->count; i++) {
		if (!a->m[i].active)
			continue;
		for (size_t j = 0; j < b->count; j++)
			if (b->m[j].active && b->m[j].index == a->m[i].index) {
				veil_checks_add(run->checks, "rims.no_conflict", false,
						"measurement index %u is active in both the driver "
						"and the VBIOS RIM",
						a->m[i].index);
				return;
			}
	}
	veil_checks_add(run->checks, "rims.no_conflict", true,
			"the driver and VBIOS RIMs cover disjoint measurement indices");
}

static void step_rims(nv_run *run, nv_rim_entry **drv, nv_rim_entry **vb)
{
	nv_result *res = run->res;
	X509 *leaf = run->chain != NULL ? sk_X509_value(run->chain->certs, 0) : NULL;

	if (leaf == NULL && run->r->chip_info[0] == '\0') {
		veil_checks_add(run->checks, "driver_rim", false,
				"not checked: the chip is unknown without a certificate chain");
		return;
	}
	nv_chip_name(run->r, leaf, res->chip, sizeof res->chip);
	*drv = step_rim(run, &driver_kind, res->chip, run->r->driver_version, &res->driver_match,
			&res->driver_rim_found);
	*vb = step_rim(run, &vbios_kind, res->chip, run->r->vbios_version, &res->vbios_match,
		       &res->vbios_rim_found);
	if (*drv != NULL)
		nv_rim_mark((*drv)->rim, run->r, res->index_status);
	if (*vb != NULL)
		nv_rim_mark((*vb)->rim, run->r, res->index_status);
	if (*drv != NULL)
		snprintf(res->driver_rim, sizeof res->driver_rim, "%s", (*drv)->origin);
	if (*vb != NULL)
		snprintf(res->vbios_rim, sizeof res->vbios_rim, "%s", (*vb)->origin);
	if (*drv != NULL && *vb != NULL)
		step_conflict(run, (*drv)->rim, (*vb)->rim);
	res->measurements_ok = *drv != NULL && *vb != NULL && (*drv)->verified.ok &&
			       (*drv)->verified.ok2 && (*vb)->verified.ok && (*vb)->verified.ok2 &&
			       res->driver_match.active > 0 && res->driver_match.mismatched == 0 &&
			       res->vbios_match.active > 0 && res->vbios_match.mismatched == 0;
}

/* Whether issuer's key signed x (names and key ids alone could be copied
 * by a look-alike certificate placed in the bundle). */
static bool issued_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *key = X509_get0_pubkey(issuer);
	bool ok =
	    X509_check_issued(issuer, x) == X509_V_OK && key != NULL && X509_verify(x, key) == 1;

	ERR_clear_error();
	return ok;
}

/* The issuer of x among certs, or root: the certificate whose key signed it. */
static X509 *find_issuer(X509 *x, STACK_OF(X509) * certs, X509 *root)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (c != x && issued_by(x, c))
			return c;
	}
	return issued_by(x, root) ? root : NULL;
}

/* OCSP status of every certificate from `from` up to (not including) the
 * root: revoked if any is revoked, good if all are good, else unknown. */
static veil_err chain_ocsp(nv_run *run, X509 *from, STACK_OF(X509) * certs, X509 *root,
			   veil_ocsp_status *status, char *detail, size_t cap)
{
	X509 *x = from;
	char cn[128];

	*status = VEIL_OCSP_GOOD;
	detail[0] = '\0';
	for (int depth = 0; x != NULL && X509_cmp(x, root) != 0; depth++) {
		X509 *issuer = find_issuer(x, certs, root);
		veil_ocsp_result res;

		ENSURE(depth < VEIL_CERT_CHAIN_MAX_DEPTH && issuer != NULL, VEIL_E_VERIFY,
		       "no issuer for \"%s\" to ask about its status",
		       veil_cert_cn(x, cn, sizeof cn));
		if (!run->cache->has_ocsp) {
			res.status = VEIL_OCSP_UNKNOWN;
		} else {
			TRY(veil_ocsp_check(x, issuer, run->ctx->collateral, run->ctx->at, &res));
		}
		if (res.status == VEIL_OCSP_REVOKED) {
			*status = VEIL_OCSP_REVOKED;
			snprintf(detail, cap, "\"%s\" is revoked (OCSP, reason %d)",
				 veil_cert_cn(x, cn, sizeof cn), res.reason);
			return VEIL_OK;
		}
		if (res.status == VEIL_OCSP_UNKNOWN && *status == VEIL_OCSP_GOOD) {
			*status = VEIL_OCSP_UNKNOWN;
			snprintf(detail, cap, "no OCSP response for \"%s\" among the collateral",
				 veil_cert_cn(x, cn, sizeof cn));
		}
		x = issuer;
	}
	if (*status == VEIL_OCSP_GOOD)
		snprintf(detail, cap, "OCSP says good for every certificate below the root");
	return VEIL_OK;
}

static void record_revocation(nv_run *run, const char *name, X509 *from, STACK_OF(X509) * certs,
			      X509 *root, veil_ocsp_status *out)
{
	char detail[VEIL_CHECK_DETAIL_MAX];
	veil_err err = chain_ocsp(run, from, certs, root, out, detail, sizeof detail);

	if (err != VEIL_OK) {
		*out = VEIL_OCSP_UNKNOWN;
		veil_checks_add_err(run->checks, name, err, "");
		veil_err_clear();
		return;
	}
	if (*out == VEIL_OCSP_UNKNOWN) {
		bool allowed = run->ctx->revocation == VEIL_REVOCATION_ALLOW_UNKNOWN;
		veil_checks_add(run->checks, name, allowed, "unknown: %s; %s", detail,
				allowed
				    ? "accepted because the revocation policy allows unknown "
				      "status"
				    : "supply OCSP responses in the collateral, or accept unknown "
				      "status (--allow-unknown-revocation)");
		return;
	}
	veil_checks_add(run->checks, name, *out == VEIL_OCSP_GOOD, "%s", detail);
}

static void step_revocation(nv_run *run, nv_rim_entry *drv, nv_rim_entry *vb)
{
	X509 *rroot = NULL;

	run->res->ocsp_checked = true;
	run->res->allow_unknown_revocation = run->ctx->revocation == VEIL_REVOCATION_ALLOW_UNKNOWN;
	if (run->chain != NULL && run->res->chain_ok)
		record_revocation(run, "gpu.revocation", sk_X509_value(run->chain->certs, 0),
				  run->chain->certs, nv_device_root(), &run->res->gpu_ocsp);
	if (rim_root(&rroot) != VEIL_OK) {
		veil_err_clear();
		return; /* the RIM checks already failed */
	}
	if (drv != NULL && drv->verified.ok && drv->verified.ok2 && rim_signer(drv->rim) != NULL)
		record_revocation(run, "driver_rim.revocation", rim_signer(drv->rim),
				  drv->rim->certs, rroot, &run->res->driver_rim_ocsp);
	if (vb != NULL && vb->verified.ok && vb->verified.ok2 && rim_signer(vb->rim) != NULL)
		record_revocation(run, "vbios_rim.revocation", rim_signer(vb->rim), vb->rim->certs,
				  rroot, &run->res->vbios_rim_ocsp);
}

static void fill_identity(nv_run *run)
{
	nv_result *res = run->res;
	char cn[128];

	if (run->chain == NULL)
		return;
	X509 *leaf = sk_X509_value(run->chain->certs, 0);
	/* NVIDIA's EAT claims: ueid is the leaf serial number in decimal,
	 * hwmodel the common name of the device (BROM) certificate. */
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
	char *dec = bn != NULL ? BN_bn2dec(bn) : NULL;
	if (dec != NULL && strlen(dec) < sizeof res->ueid)
		snprintf(res->ueid, sizeof res->ueid, "%s", dec);
	OPENSSL_free(dec);
	BN_free(bn);
	/* The device certificate is the one whose key signed the leaf, not
	 * whatever sits second in the file. */
	X509 *device =
	    run->res->chain_ok ? find_issuer(leaf, run->chain->certs, nv_device_root()) : NULL;
	if (device != NULL)
		snprintf(res->hwmodel, sizeof res->hwmodel, "%s",
			 veil_cert_cn(device, cn, sizeof cn));
}

veil_err nv_report_verify(const nv_report *r, const veil_verify_ctx *ctx, void **cache,
			  veil_checks *checks)
{
	nv_cache *own = NULL, *c;
	nv_rim_entry *drv = NULL, *vb = NULL;
	nv_run run = {.r = r, .ctx = ctx, .checks = checks, .res = r->found};
	veil_err err = VEIL_OK;

	memset(r->found, 0, sizeof *r->found);
	r->found->at = ctx->at;
	veil_checks_add(checks, "parse", true,
			"SPDM 1.1 GET_MEASUREMENTS transcript, %zu measurement blocks, %zu opaque "
			"fields, driver %s, VBIOS %s; %zu trailing zero bytes",
			r->block_count, r->opaque_count,
			r->driver_version[0] ? r->driver_version : "(none)",
			r->vbios_version[0] ? r->vbios_version : "(none)", r->trailing);
	if (cache != NULL) {
		if (*cache == NULL) {
			*cache = calloc(1, sizeof(nv_cache));
			CHECK_THAT(*cache != NULL, VEIL_E_NOMEM, "out of memory");
		}
		c = *cache;
	} else {
		own = calloc(1, sizeof *own);
		CHECK_THAT(own != NULL, VEIL_E_NOMEM, "out of memory");
		c = own;
	}
	err = nv_cache_sync(c, ctx->collateral);
	if (err != VEIL_OK) {
		veil_checks_add_err(checks, "collateral", err, "");
		goto out;
	}
	run.cache = c;

	step_chain(&run);
	step_signature(&run);
	step_fwid(&run);
	fill_identity(&run);
	step_rims(&run, &drv, &vb);
	step_revocation(&run, drv, vb);

	err = veil_checks_passed(checks) ? VEIL_OK : VEIL_E_VERIFY;
	if (err != VEIL_OK) {
		const veil_check *bad = veil_checks_first_failure(checks);
		err = veil_fail(VEIL_E_VERIFY, "GPU report: check %s failed: %s",
				bad != NULL ? bad->name : "(list overflow)",
				bad != NULL ? bad->detail : "");
	}
out:
	nv_cache_free(own);
	return err;
}

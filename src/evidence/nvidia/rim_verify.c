/*
 * rim_verify.c - the XML signature and the signing chain of an NVIDIA RIM.
 *
 * A RIM carries one enveloped XML-DSig signature (W3C xmldsig-core1) over
 * the whole document: SignedInfo with C14N 1.1, ecdsa-sha384 (RFC 4051
 * section 2.3.6) and one Reference with URI="" and the enveloped-signature
 * and C14N transforms. XML signatures are where parsers and verifiers
 * disagree about what was signed (signature wrapping, ID confusion,
 * transforms that drop content), so the checks here are narrower than the
 * standard:
 *
 *  - rim_parse already made sure the document has no DTD and exactly one
 *    ds:Signature, a child of the root: the element the measurements are
 *    read from is the element the enveloped signature covers.
 *  - Before xmlsec runs, the Signature must have this exact shape:
 *    SignedInfo, SignatureValue, KeyInfo and nothing else (no Object, so no
 *    Manifest); one Reference whose URI attribute is present and empty (the
 *    whole document, XML-DSig 4.4.3.2); the enveloped-signature transform
 *    then at most one C14N; SHA-384 digest; ecdsa-sha384 signature.
 *  - xmlsec is then held to the same lists (enabled transforms, enabled
 *    URI types = empty only, manifests ignored) and given the key to use
 *    (signKey, from the leaf certificate); no keys manager, so it never
 *    picks a key from KeyInfo or trusts an X509 store of its own.
 *  - After it says "succeeded", the references it processed are checked
 *    again: exactly one, URI "", digest matched, no manifest references.
 *
 * The certificates in KeyInfo are only candidates: the signer is an
 * end-entity certificate (not self-signed, issuer of no other KeyInfo
 * certificate) whose key verifies the signature, and it must chain to the
 * caller's root at the caller's time through veil_chain_verify.
 */
#include <libxml/tree.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "evidence/nvidia/rim.h"
#include "evidence/nvidia/rim_xml.h"
#include "veil/limits.h"
#include "veil/x509.h"

/* Algorithm identifiers accepted in SignedInfo and the Reference. */
static const char *const c14n_algs[] = {
    "http://www.w3.org/2006/12/xml-c14n11", /* C14N 1.1, what NVIDIA uses */
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315", /* C14N 1.0 */
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2001/10/xml-exc-c14n#", /* exclusive C14N */
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
};
static const char *const enveloped_alg[] = {
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature", /* XML-DSig 6.6.4 */
};
/* RFC 4051 sections 2.1.3 and 2.3.6; only what NVIDIA signs with. */
static const char *const signature_algs[] = {
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
};
static const char *const digest_algs[] = {
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static pthread_once_t xmlsec_once = PTHREAD_ONCE_INIT;
static bool xmlsec_ready;

/* xmlsec's one error channel (a process-wide callback): into the captured
 * message of the calling thread, never to stderr. */
static void xmlsec_error(const char *file, int line, const char *func, const char *object,
			 const char *subject, int reason, const char *msg)
{
	(void)file;
	(void)line;
	(void)subject;
	rim_xml_note_error("xmlsec %s: %s (reason %d)",
			   object != NULL ? object : (func != NULL ? func : "?"),
			   msg != NULL ? msg : "error", reason);
}

static void xmlsec_init_once(void)
{
	rim_xml_init();
	xmlSecErrorsSetCallback(xmlsec_error);
	if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1)
		return;
	if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
		return;
	xmlSecErrorsSetCallback(xmlsec_error);
	xmlsec_ready = true;
}

static const xmlNode *element_at(const xmlNode *n)
{
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static const xmlNode *element_after(const xmlNode *n)
{
	return element_at(n->next);
}

/* The Algorithm attribute of n must be one of `allowed`. */
static veil_err algorithm_check(const xmlNode *n, const char *const *allowed, size_t count)
{
	xmlChar *alg = xmlGetNoNsProp(n, (const xmlChar *)"Algorithm");
	char shown[100];

	for (size_t i = 0; alg != NULL && i < count; i++) {
		if (strcmp((const char *)alg, allowed[i]) == 0) {
			xmlFree(alg);
			return VEIL_OK;
		}
	}
	snprintf(shown, sizeof shown, "%s", alg != NULL ? (const char *)alg : "(none)");
	xmlFree(alg);
	return veil_fail(VEIL_E_UNSUPPORTED, "%s Algorithm \"%s\" is not allowed",
			 (const char *)n->name, shown);
}

/* XML-DSig 4.4.3: one Reference, URI="" (the whole document without
 * comments); transforms exactly enveloped-signature then at most one C14N
 * (in this order the node set goes straight to C14N; another order would
 * make xmlsec re-parse serialised octets); SHA-384. */
static veil_err reference_shape(const xmlNode *ref)
{
	const xmlAttr *uri = xmlHasNsProp(ref, (const xmlChar *)"URI", NULL);
	xmlChar *value = uri != NULL ? xmlNodeListGetString(ref->doc, uri->children, 1) : NULL;
	bool empty = uri != NULL && (value == NULL || value[0] == '\0');
	const xmlNode *c;

	xmlFree(value);
	ENSURE(empty, VEIL_E_UNSUPPORTED,
	       "Reference URI must be present and \"\" (the whole document); a Reference to "
	       "an ID or another document is refused");
	c = element_at(ref->children);
	ENSURE(rim_xml_is(c, "Transforms", RIM_NS_DSIG), VEIL_E_UNSUPPORTED,
	       "Reference has no Transforms; want enveloped-signature (and C14N)");
	const xmlNode *t = element_at(c->children);
	ENSURE(rim_xml_is(t, "Transform", RIM_NS_DSIG), VEIL_E_MALFORMED,
	       "Transforms has no Transform");
	if (algorithm_check(t, enveloped_alg, COUNT(enveloped_alg)) != VEIL_OK)
		return veil_fail_context(VEIL_E_UNSUPPORTED,
					 "first Transform must be enveloped-signature");
	t = element_after(t);
	if (t != NULL) {
		ENSURE(rim_xml_is(t, "Transform", RIM_NS_DSIG), VEIL_E_MALFORMED,
		       "Transforms holds <%s>", (const char *)t->name);
		TRY(algorithm_check(t, c14n_algs, COUNT(c14n_algs)));
		ENSURE(element_after(t) == NULL, VEIL_E_UNSUPPORTED,
		       "Transforms has more than enveloped-signature and one C14N");
	}
	c = element_after(c);
	ENSURE(rim_xml_is(c, "DigestMethod", RIM_NS_DSIG), VEIL_E_MALFORMED,
	       "Reference has no DigestMethod");
	TRY(algorithm_check(c, digest_algs, COUNT(digest_algs)));
	c = element_after(c);
	ENSURE(rim_xml_is(c, "DigestValue", RIM_NS_DSIG), VEIL_E_MALFORMED,
	       "Reference has no DigestValue");
	ENSURE(element_after(c) == NULL, VEIL_E_MALFORMED, "Reference has extra elements");
	return VEIL_OK;
}

/* XML-DSig 4.1 and 4.4, narrowed: SignedInfo (C14N, ecdsa-sha384, exactly
 * one Reference), SignatureValue, KeyInfo, and nothing else. */
static veil_err signature_shape(const xmlNode *sig)
{
	const xmlNode *c = element_at(sig->children), *si;

	ENSURE(rim_xml_is(c, "SignedInfo", RIM_NS_DSIG), VEIL_E_MALFORMED,
	       "Signature does not start with SignedInfo");
	si = c;
	c = element_after(c);
	ENSURE(rim_xml_is(c, "SignatureValue", RIM_NS_DSIG), VEIL_E_MALFORMED,
	       "Signature has no SignatureValue after SignedInfo");
	c = element_after(c);
	if (rim_xml_is(c, "KeyInfo", RIM_NS_DSIG))
		c = element_after(c);
	ENSURE(c == NULL, VEIL_E_UNSUPPORTED,
	       "Signature holds <%s> after KeyInfo; no Object or Manifest is allowed",
	       (const char *)c->name);

	c = element_at(si->children);
	ENSURE(rim_xml_is(c, "CanonicalizationMethod", RIM_NS_DSIG), VEIL_E_MALFORMED,
	       "SignedInfo has no CanonicalizationMethod");
	TRY(algorithm_check(c, c14n_algs, COUNT(c14n_algs)));
	c = element_after(c);
	ENSURE(rim_xml_is(c, "SignatureMethod", RIM_NS_DSIG), VEIL_E_MALFORMED,
	       "SignedInfo has no SignatureMethod");
	TRY(algorithm_check(c, signature_algs, COUNT(signature_algs)));
	c = element_after(c);
	ENSURE(rim_xml_is(c, "Reference", RIM_NS_DSIG), VEIL_E_MALFORMED,
	       "SignedInfo has no Reference");
	ENSURE(element_after(c) == NULL, VEIL_E_UNSUPPORTED,
	       "SignedInfo has more than one Reference (or extra elements); want exactly one");
	return reference_shape(c);
}

/* Holds xmlsec to the same algorithms as signature_shape. */
static veil_err xmlsec_restrict(xmlSecDSigCtxPtr ctx)
{
	const xmlSecTransformId c14n[] = {
	    xmlSecTransformInclC14N11Id, xmlSecTransformInclC14N11WithCommentsId,
	    xmlSecTransformInclC14NId,   xmlSecTransformInclC14NWithCommentsId,
	    xmlSecTransformExclC14NId,   xmlSecTransformExclC14NWithCommentsId,
	};
	int rc = 0;

	for (size_t i = 0; i < COUNT(c14n); i++) {
		rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, c14n[i]);
		rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, c14n[i]);
	}
	rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha384Id);
	rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId);
	rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id);
	ENSURE(rc == 0, VEIL_E_CRYPTO, "xmlsec: cannot restrict the transforms: %s",
	       rim_xml_first_error());
	ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
	ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
	return VEIL_OK;
}

/* Verifies the Signature with the public key of cert, and only that key. */
static veil_err dsig_verify_with(xmlNode *sig, X509 *cert)
{
	EVP_PKEY *pkey = X509_get_pubkey(cert);
	xmlSecKeyDataPtr data = NULL;
	xmlSecKeyPtr key = NULL;
	xmlSecDSigCtxPtr ctx = NULL;
	xmlSecDSigReferenceCtxPtr ref;
	veil_err err = VEIL_OK;
	char cn[128];

	veil_cert_cn(cert, cn, sizeof cn);
	CHECK_THAT(pkey != NULL, VEIL_E_CRYPTO, "certificate \"%s\" has no usable public key", cn);
	data = xmlSecOpenSSLEvpKeyAdopt(pkey);
	CHECK_THAT(data != NULL, VEIL_E_UNSUPPORTED, "xmlsec cannot use the key of \"%s\": %s", cn,
		   rim_xml_first_error());
	pkey = NULL; /* owned by data */
	key = xmlSecKeyCreate();
	CHECK_THAT(key != NULL && xmlSecKeySetValue(key, data) == 0, VEIL_E_NOMEM,
		   "xmlsec: cannot make a key");
	data = NULL; /* owned by key */
	ctx = xmlSecDSigCtxCreate(NULL);
	CHECK_THAT(ctx != NULL, VEIL_E_NOMEM, "xmlsec: cannot make a signature context");
	ctx->signKey = key; /* owned by ctx */
	key = NULL;
	CHECK(xmlsec_restrict(ctx));
	CHECK_THAT(xmlSecDSigCtxVerify(ctx, sig) == 0, VEIL_E_VERIFY,
		   "xmlsec could not process the Signature: %s", rim_xml_first_error());

	/* What xmlsec actually digested: one Reference, the whole document. */
	CHECK_THAT(xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1 &&
		       xmlSecPtrListGetSize(&ctx->manifestReferences) == 0,
		   VEIL_E_VERIFY, "xmlsec processed other than exactly one Reference");
	ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
	CHECK_THAT(ref != NULL && ref->uri != NULL && ref->uri[0] == '\0', VEIL_E_VERIFY,
		   "xmlsec processed a Reference other than URI=\"\"");
	CHECK_THAT(ref->status == xmlSecDSigStatusSucceeded, VEIL_E_VERIFY,
		   "Reference DigestValue does not match the SHA-384 of the canonical document: "
		   "the signed content was changed");
	CHECK_THAT(ctx->status == xmlSecDSigStatusSucceeded, VEIL_E_VERIFY,
		   "SignatureValue does not verify with the key of \"%s\"", cn);
	CHECK_THAT(ctx->signMethod != NULL && ctx->signMethod->id == xmlSecTransformEcdsaSha384Id,
		   VEIL_E_VERIFY, "xmlsec used a signature method other than ecdsa-sha384");
out:
	if (ctx != NULL)
		xmlSecDSigCtxDestroy(ctx); /* and the key */
	if (key != NULL)
		xmlSecKeyDestroy(key);
	if (data != NULL)
		xmlSecKeyDataDestroy(data);
	EVP_PKEY_free(pkey);
	return err;
}

/* An end-entity candidate: not self-signed, issuer of no other KeyInfo
 * certificate. */
static bool signer_candidate(STACK_OF(X509) * certs, int i)
{
	X509 *c = sk_X509_value(certs, i);

	if (X509_check_issued(c, c) == X509_V_OK)
		return false;
	for (int j = 0; j < sk_X509_num(certs); j++)
		if (j != i && X509_check_issued(c, sk_X509_value(certs, j)) == X509_V_OK)
			return false;
	return true;
}

/* The signature check. *signer: the certificate whose key verified it;
 * *sole: the only candidate, if there is exactly one (for the chain check
 * when the signature fails). Both borrowed from r->certs. */
static veil_err signature_check(rim *r, X509 **signer, X509 **sole)
{
	xmlNode *sig = rim_xml_signature(r->doc);
	char first[VEIL_ERR_DETAIL_MAX] = "";
	veil_err first_err = VEIL_OK;
	int candidates = 0;

	*signer = *sole = NULL;
	ENSURE(xmlsec_ready, VEIL_E_CRYPTO, "xmlsec (OpenSSL backend) failed to initialise");
	ENSURE(sig != NULL, VEIL_E_MALFORMED, "no ds:Signature child of the root element");
	for (int i = 0; i < sk_X509_num(r->certs); i++) {
		if (signer_candidate(r->certs, i)) {
			*sole = candidates == 0 ? sk_X509_value(r->certs, i) : NULL;
			candidates++;
		}
	}
	TRY(signature_shape(sig));
	ENSURE(candidates > 0, VEIL_E_NOT_FOUND,
	       "KeyInfo has no end-entity certificate (every one is self-signed or an issuer)");
	for (int i = 0; i < sk_X509_num(r->certs); i++) {
		if (!signer_candidate(r->certs, i))
			continue;
		veil_err err = dsig_verify_with(sig, sk_X509_value(r->certs, i));
		if (err == VEIL_OK) {
			*signer = sk_X509_value(r->certs, i);
			return VEIL_OK;
		}
		if (first_err == VEIL_OK) {
			first_err = err;
			snprintf(first, sizeof first, "%s", veil_err_detail());
		}
	}
	return veil_fail(first_err, "%s", first);
}

static veil_err chain_check(rim *r, X509 *leaf, X509 *root, int64_t at)
{
	STACK_OF(X509) *others = sk_X509_new_null();
	veil_err err = VEIL_OK;

	ENSURE(others != NULL, VEIL_E_NOMEM, "out of memory");
	for (int i = 0; i < sk_X509_num(r->certs); i++) {
		X509 *c = sk_X509_value(r->certs, i);
		CHECK_THAT(c == leaf || sk_X509_push(others, c) > 0, VEIL_E_NOMEM, "out of memory");
	}
	CHECK(veil_chain_verify(leaf, others, root, NULL, false, at));
out:
	sk_X509_free(others);
	return err;
}

veil_err rim_verify(rim *r, X509 *root, int64_t at, const char *sig_check,
		    const char *chain_check_name, veil_checks *checks)
{
	char sig_detail[VEIL_ERR_DETAIL_MAX] = "", ok[VEIL_CHECK_DETAIL_MAX], cn[128], root_cn[128];
	X509 *signer = NULL, *sole = NULL, *leaf;
	rim_xml_quiet quiet;
	veil_err sig_err, chain_err;

	ENSURE(r != NULL && r->doc != NULL && r->certs != NULL && root != NULL &&
		   sig_check != NULL && chain_check_name != NULL && checks != NULL,
	       VEIL_E_USAGE, "rim_verify: missing argument");
	X509_free(r->signer);
	r->signer = NULL;
	pthread_once(&xmlsec_once, xmlsec_init_once);

	rim_xml_quiet_begin(&quiet);
	sig_err = signature_check(r, &signer, &sole);
	rim_xml_quiet_end(&quiet);
	if (sig_err != VEIL_OK) {
		veil_fail_context(sig_err, "RIM signature");
		snprintf(sig_detail, sizeof sig_detail, "%s", veil_err_detail());
	}
	snprintf(ok, sizeof ok, "XML-DSig ecdsa-sha384 over the whole document, key of \"%s\"",
		 signer != NULL ? veil_cert_cn(signer, cn, sizeof cn) : "?");
	veil_checks_add_err(checks, sig_check, sig_err, ok);

	leaf = signer != NULL ? signer : sole;
	if (leaf == NULL)
		chain_err = veil_fail(VEIL_E_NOT_FOUND,
				      "RIM signing chain: no signing certificate to check (the "
				      "signature did not verify and KeyInfo has no single "
				      "end-entity certificate)");
	else if ((chain_err = chain_check(r, leaf, root, at)) != VEIL_OK)
		veil_fail_context(chain_err, "RIM signing chain");
	snprintf(ok, sizeof ok, "\"%s\" chains to \"%s\" at the verification time",
		 leaf != NULL ? veil_cert_cn(leaf, cn, sizeof cn) : "?",
		 veil_cert_cn(root, root_cn, sizeof root_cn));
	veil_checks_add_err(checks, chain_check_name, chain_err, ok);

	if (sig_err != VEIL_OK)
		return veil_fail(sig_err, "%s", sig_detail);
	if (chain_err != VEIL_OK)
		return chain_err;
	X509_up_ref(signer);
	r->signer = signer;
	return VEIL_OK;
}

X509 *rim_signer(const rim *r)
{
	return r != NULL ? r->signer : NULL;
}

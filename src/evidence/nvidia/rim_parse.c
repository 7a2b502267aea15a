/*
 * rim_parse.c - reading an NVIDIA RIM (SWID tag) into struct rim.
 *
 * The RIM is hostile input until rim_verify has checked its signature, so the
 * parse is defensive first: a size cap before libxml2 sees a byte; no network
 * (XML_PARSE_NONET), no DTD loading and no entity substitution (neither
 * XML_PARSE_DTDLOAD nor XML_PARSE_NOENT), and a document type declaration is
 * refused outright: the SAX hook for <!DOCTYPE stops the parser before any
 * entity declaration is read, so no billion-laughs or external-entity trick
 * reaches the tree. Blank text nodes are kept (no XML_PARSE_NOBLANKS): they
 * are part of what C14N signs.
 *
 * Then the shape NVIDIA's RIMs have (nvtrust verifier rim/__init__.py, TCG
 * RIM IM 1.01 section 5): root SoftwareIdentity in the ISO/IEC 19770-2:2015
 * namespace with a tagId; exactly one Meta child with product and
 * colloquialVersion; exactly one Payload child whose Resource children of
 * type "Measurement" each carry index, active, alternatives and HashN
 * attributes in the xmlenc#sha384 namespace; exactly one ds:Signature in the
 * whole document, a child of the root, whose KeyInfo carries the signing
 * chain. Every value read is checked exactly (decimal without sign or
 * leading zeros, "True"/"False", 96 hex digits) and every count is capped.
 */
#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/xmlversion.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/nvidia/rim.h"
#include "evidence/nvidia/rim_xml.h"
#include "veil/codec.h"
#include "veil/limits.h"
#include "veil/x509.h"

/* libxml2 2.12 made the structured handler take a const error. */
#if LIBXML_VERSION >= 21200
#define RIM_XML_ERROR_CONST const
#else
#define RIM_XML_ERROR_CONST
#endif

#define RIM_MAX_CERT_TEXT (16 * 1024) /* base64 of one KeyInfo certificate */

/* TRY, naming where the failure happened in the detail. */
#define TRY_AT(expr, ...)                                                                          \
	do {                                                                                       \
		veil_err try_at_err_ = (expr);                                                     \
		if (try_at_err_ != VEIL_OK)                                                        \
			return veil_fail_context(try_at_err_, __VA_ARGS__);                        \
	} while (0)

static pthread_once_t rim_xml_once = PTHREAD_ONCE_INIT;
static _Thread_local char rim_xml_error[200];

static void rim_xml_init_once(void)
{
	xmlInitParser();
}

void rim_xml_init(void)
{
	pthread_once(&rim_xml_once, rim_xml_init_once);
}

void rim_xml_note_error(const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (rim_xml_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(rim_xml_error, sizeof rim_xml_error, fmt, ap);
	va_end(ap);
	n = strlen(rim_xml_error);
	while (n > 0 && (rim_xml_error[n - 1] == '\n' || rim_xml_error[n - 1] == ' '))
		rim_xml_error[--n] = '\0';
	veil_text_sanitize(rim_xml_error);
}

const char *rim_xml_first_error(void)
{
	return rim_xml_error;
}

static void rim_xml_structured_error(void *ctx, RIM_XML_ERROR_CONST xmlError *e)
{
	(void)ctx;
	if (e != NULL && e->message != NULL)
		rim_xml_note_error("line %d: %s", e->line, e->message);
}

/* libxml2's printf-style channel, used by a few old code paths: dropped,
 * since the structured handler above sees every error worth naming. */
static void VEIL_PRINTF(2, 3) rim_xml_generic_error(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

void rim_xml_quiet_begin(rim_xml_quiet *saved)
{
	saved->structured = xmlStructuredError;
	saved->structured_ctx = xmlStructuredErrorContext;
	saved->generic = xmlGenericError;
	saved->generic_ctx = xmlGenericErrorContext;
	rim_xml_error[0] = '\0';
	xmlSetStructuredErrorFunc(NULL, rim_xml_structured_error);
	xmlSetGenericErrorFunc(NULL, rim_xml_generic_error);
}

void rim_xml_quiet_end(const rim_xml_quiet *saved)
{
	xmlSetStructuredErrorFunc(saved->structured_ctx, saved->structured);
	xmlSetGenericErrorFunc(saved->generic_ctx, saved->generic);
}

bool rim_xml_is(const xmlNode *n, const char *name, const char *ns)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	       strcmp((const char *)n->name, name) == 0 &&
	       strcmp((const char *)n->ns->href, ns) == 0;
}

xmlNode *rim_xml_signature(xmlDoc *doc)
{
	xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;

	for (xmlNode *c = root != NULL ? root->children : NULL; c != NULL; c = c->next)
		if (rim_xml_is(c, "Signature", RIM_NS_DSIG))
			return c;
	return NULL;
}

/* SAX hooks: a DTD or an entity declaration stops the parse at once. */
static void rim_refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
			   const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	(void)name;
	(void)external_id;
	(void)system_id;
	*(bool *)ctxt->_private = true;
	xmlStopParser(ctxt);
}

static void rim_refuse_entity(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
			      const xmlChar *system_id, xmlChar *content)
{
	rim_refuse_dtd(ctx, name, public_id, system_id);
	(void)type;
	(void)content;
}

/* Copies the value of attribute a into buf (NUL-terminated); fails when it
 * does not fit or is not printable ASCII. `what` names it for messages. */
static veil_err attr_text(const xmlAttr *a, char *buf, size_t cap, const char *what)
{
	xmlChar *v = xmlNodeListGetString(a->doc, a->children, 1);
	const char *s = v != NULL ? (const char *)v : "";
	size_t n = strlen(s);
	veil_err err = VEIL_OK;

	CHECK_THAT(n < cap, VEIL_E_LIMIT, "%s has %zu characters, at most %zu allowed", what, n,
		   cap - 1);
	for (size_t i = 0; i < n; i++)
		CHECK_THAT(s[i] >= 0x20 && s[i] <= 0x7e, VEIL_E_MALFORMED,
			   "%s has a non-printable or non-ASCII character at %zu", what, i);
	memcpy(buf, s, n + 1);
out:
	xmlFree(v);
	return err;
}

/* Like attr_text for the attribute `name` in no namespace; required. */
static veil_err attr_get(const xmlNode *n, const char *name, char *buf, size_t cap,
			 const char *what)
{
	const xmlAttr *a = xmlHasNsProp(n, (const xmlChar *)name, NULL);

	ENSURE(a != NULL && a->type == XML_ATTRIBUTE_NODE, VEIL_E_MALFORMED, "%s is missing", what);
	return attr_text(a, buf, cap, what);
}

/* A decimal without sign, spaces or leading zeros, at most max. */
static veil_err decimal_parse(const char *s, uint32_t max, uint32_t *out, const char *what)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	ENSURE(n > 0 && n <= 9, VEIL_E_MALFORMED, "%s \"%s\" is not a decimal number", what, s);
	ENSURE(n == 1 || s[0] != '0', VEIL_E_MALFORMED, "%s \"%s\" has a leading zero", what, s);
	for (size_t i = 0; i < n; i++) {
		ENSURE(s[i] >= '0' && s[i] <= '9', VEIL_E_MALFORMED,
		       "%s \"%s\" is not a decimal number", what, s);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	ENSURE(v <= max, VEIL_E_MALFORMED, "%s %s is above %u", what, s, max);
	*out = (uint32_t)v;
	return VEIL_OK;
}

/* Reads the HashN attributes (xmlenc#sha384 namespace) of one Resource:
 * exactly Hash0..Hash{alternatives-1}, each 96 hex digits. */
static veil_err resource_hashes(const xmlNode *n, rim_measurement *m, const char *where)
{
	char text[128], what[96];
	unsigned seen = 0;
	uint32_t k;
	size_t len;

	for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
		const char *name = (const char *)a->name;
		bool in_ns = a->ns != NULL && a->ns->href != NULL &&
			     strcmp((const char *)a->ns->href, RIM_NS_SHA384) == 0;
		if (strncmp(name, "Hash", 4) != 0) {
			ENSURE(!in_ns, VEIL_E_MALFORMED,
			       "%s: unknown attribute %.32s in the sha384 namespace", where, name);
			continue;
		}
		ENSURE(in_ns, VEIL_E_MALFORMED,
		       "%s: attribute %.32s is not in the namespace " RIM_NS_SHA384, where, name);
		snprintf(what, sizeof what, "%s: attribute %.32s", where, name);
		TRY(decimal_parse(name + 4, RIM_MAX_ALTERNATIVES - 1u, &k, what));
		ENSURE(k < m->alternatives, VEIL_E_MALFORMED, "%s: %s but alternatives is %u",
		       where, name, m->alternatives);
		snprintf(what, sizeof what, "%s: Hash%u", where, k);
		ENSURE(!(seen & (1u << k)), VEIL_E_MALFORMED, "%s appears twice", what);
		TRY(attr_text(a, text, sizeof text, what));
		ENSURE(strlen(text) == 2 * RIM_DIGEST_LEN, VEIL_E_MALFORMED,
		       "%s has %zu characters, want %d hex digits (SHA-384)", what, strlen(text),
		       2 * RIM_DIGEST_LEN);
		TRY_AT(veil_hex_decode(text, strlen(text), m->value[k], RIM_DIGEST_LEN, &len), "%s",
		       what);
		seen |= 1u << k;
	}
	for (k = 0; k < m->alternatives; k++)
		ENSURE(seen & (1u << k), VEIL_E_MALFORMED,
		       "%s: alternatives is %u but Hash%u (sha384 namespace) is missing", where,
		       m->alternatives, k);
	return VEIL_OK;
}

/* One Resource of type Measurement (TCG RIM IM; nvtrust's RIM reader). */
static veil_err resource_parse(const xmlNode *n, size_t ordinal, rim_measurement *m)
{
	char where[48], text[16];
	uint32_t v;

	snprintf(where, sizeof where, "Measurement Resource #%zu", ordinal);
	TRY_AT(attr_get(n, "index", text, sizeof text, "index"), "%s", where);
	TRY_AT(decimal_parse(text, RIM_MAX_INDEX, &m->index, "index"), "%s", where);
	snprintf(where, sizeof where, "Measurement index %u", m->index);

	TRY_AT(attr_get(n, "active", text, sizeof text, "active"), "%s", where);
	ENSURE(strcmp(text, "True") == 0 || strcmp(text, "False") == 0, VEIL_E_MALFORMED,
	       "%s: active is \"%s\", want \"True\" or \"False\"", where, text);
	m->active = strcmp(text, "True") == 0;

	TRY_AT(attr_get(n, "alternatives", text, sizeof text, "alternatives"), "%s", where);
	TRY_AT(decimal_parse(text, RIM_MAX_ALTERNATIVES, &v, "alternatives"), "%s", where);
	ENSURE(v >= 1, VEIL_E_MALFORMED, "%s: alternatives is 0, want 1..%d", where,
	       RIM_MAX_ALTERNATIVES);
	m->alternatives = (uint8_t)v;

	/* size, when given, is the digest length in bytes. */
	if (xmlHasNsProp(n, (const xmlChar *)"size", NULL) != NULL) {
		TRY_AT(attr_get(n, "size", text, sizeof text, "size"), "%s", where);
		ENSURE(strcmp(text, "48") == 0, VEIL_E_MALFORMED,
		       "%s: size is \"%s\", want \"48\" (SHA-384)", where, text);
	}
	return resource_hashes(n, m, where);
}

static int measurement_cmp(const void *a, const void *b)
{
	uint32_t x = ((const rim_measurement *)a)->index, y = ((const rim_measurement *)b)->index;
	return (x > y) - (x < y);
}

static veil_err payload_parse(const xmlNode *payload, rim *r)
{
	size_t ordinal = 0;
	char type[32];

	for (const xmlNode *c = payload->children; c != NULL; c = c->next) {
		if (!rim_xml_is(c, "Resource", RIM_NS_SWID))
			continue;
		ordinal++;
		TRY(attr_get(c, "type", type, sizeof type, "Resource type"));
		if (strcmp(type, "Measurement") != 0)
			continue;
		ENSURE(r->count < RIM_MAX_MEASUREMENTS, VEIL_E_LIMIT,
		       "more than %d Measurement Resources", RIM_MAX_MEASUREMENTS);
		TRY(resource_parse(c, ordinal, &r->m[r->count]));
		r->count++;
	}
	ENSURE(r->count > 0, VEIL_E_MALFORMED, "Payload has no Resource of type Measurement");
	qsort(r->m, r->count, sizeof r->m[0], measurement_cmp);
	for (size_t i = 1; i < r->count; i++)
		ENSURE(r->m[i].index != r->m[i - 1].index, VEIL_E_MALFORMED,
		       "Measurement index %u appears twice", r->m[i].index);
	return VEIL_OK;
}

/* The one child of parent named `name` in namespace ns. */
static veil_err only_child(const xmlNode *parent, const char *name, const char *ns,
			   const xmlNode **out)
{
	*out = NULL;
	for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (!rim_xml_is(c, name, ns))
			continue;
		ENSURE(*out == NULL, VEIL_E_MALFORMED, "more than one %s element in %s", name,
		       (const char *)parent->name);
		*out = c;
	}
	ENSURE(*out != NULL, VEIL_E_MALFORMED, "no %s element in %s", name,
	       (const char *)parent->name);
	return VEIL_OK;
}

static veil_err identity_parse(const xmlNode *root, rim *r)
{
	const xmlNode *meta;

	TRY(attr_get(root, "tagId", r->tag_id, sizeof r->tag_id, "SoftwareIdentity tagId"));
	ENSURE(r->tag_id[0] != '\0', VEIL_E_MALFORMED, "SoftwareIdentity tagId is empty");
	TRY(only_child(root, "Meta", RIM_NS_SWID, &meta));
	TRY(attr_get(meta, "product", r->product, sizeof r->product, "Meta product"));
	TRY(attr_get(meta, "colloquialVersion", r->version, sizeof r->version,
		     "Meta colloquialVersion"));
	ENSURE(r->product[0] != '\0' && r->version[0] != '\0', VEIL_E_MALFORMED,
	       "Meta product or colloquialVersion is empty");
	return VEIL_OK;
}

/* One X509Certificate element: base64 (whitespace allowed) of one DER
 * certificate (XML-DSig core 4.5.4). */
static veil_err keyinfo_cert(const xmlNode *n, STACK_OF(X509) * certs)
{
	xmlChar *text = NULL;
	char *b64 = NULL;
	uint8_t *der = NULL;
	size_t len = 0, der_len;
	X509 *cert = NULL;
	veil_err err = VEIL_OK;

	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		CHECK_THAT(c->type == XML_TEXT_NODE, VEIL_E_MALFORMED,
			   "X509Certificate holds something other than text");
	text = xmlNodeGetContent(n);
	CHECK_THAT(text != NULL, VEIL_E_MALFORMED, "X509Certificate is empty");
	size_t n_text = strlen((const char *)text);
	CHECK_THAT(n_text <= RIM_MAX_CERT_TEXT, VEIL_E_LIMIT,
		   "X509Certificate has %zu characters, at most %d allowed", n_text,
		   RIM_MAX_CERT_TEXT);
	b64 = malloc(n_text + 1);
	der = malloc(veil_base64_decoded_max(n_text) + 1);
	CHECK_THAT(b64 != NULL && der != NULL, VEIL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n_text; i++) {
		char ch = (char)text[i];
		if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
			b64[len++] = ch;
	}
	CHECK(veil_base64_decode(b64, len, der, veil_base64_decoded_max(n_text) + 1, &der_len));
	CHECK(veil_cert_parse_der(der, der_len, &cert));
	CHECK_THAT(sk_X509_push(certs, cert) > 0, VEIL_E_NOMEM, "out of memory");
	cert = NULL;
out:
	X509_free(cert);
	free(der);
	free(b64);
	xmlFree(text);
	return err;
}

static veil_err keyinfo_parse(const xmlNode *sig, rim *r)
{
	const xmlNode *keyinfo;

	TRY(only_child(sig, "KeyInfo", RIM_NS_DSIG, &keyinfo));
	r->certs = sk_X509_new_null();
	ENSURE(r->certs != NULL, VEIL_E_NOMEM, "out of memory");
	for (const xmlNode *d = keyinfo->children; d != NULL; d = d->next) {
		if (!rim_xml_is(d, "X509Data", RIM_NS_DSIG))
			continue;
		for (const xmlNode *c = d->children; c != NULL; c = c->next) {
			if (!rim_xml_is(c, "X509Certificate", RIM_NS_DSIG))
				continue;
			ENSURE(sk_X509_num(r->certs) < VEIL_CERT_BUNDLE_MAX, VEIL_E_LIMIT,
			       "KeyInfo has more than %d certificates", VEIL_CERT_BUNDLE_MAX);
			TRY_AT(keyinfo_cert(c, r->certs), "KeyInfo certificate #%d",
			       sk_X509_num(r->certs) + 1);
		}
	}
	ENSURE(sk_X509_num(r->certs) > 0, VEIL_E_MALFORMED,
	       "Signature KeyInfo has no X509Certificate (the signing chain)");
	return VEIL_OK;
}

/* Walks every node once: no entity, DTD or XInclude nodes may be left in
 * the tree, and there must be exactly one ds:Signature, a root child. */
static veil_err tree_check(xmlNode *root)
{
	size_t signatures = 0;
	xmlNode *n = root;

	while (n != NULL) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		default:
			return veil_fail(VEIL_E_MALFORMED,
					 "document holds a node of type %d (entity, DTD or "
					 "XInclude), which a RIM must not",
					 (int)n->type);
		}
		if (rim_xml_is(n, "Signature", RIM_NS_DSIG)) {
			ENSURE(n->parent == root, VEIL_E_MALFORMED,
			       "ds:Signature is not a child of the root element (signature "
			       "wrapping?)");
			signatures++;
		}
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			continue;
		}
		while (n != root && n->next == NULL)
			n = n->parent;
		n = n == root ? NULL : n->next;
	}
	ENSURE(signatures == 1, VEIL_E_MALFORMED, "document has %zu ds:Signature elements, want 1",
	       signatures);
	return VEIL_OK;
}

static veil_err document_parse(const uint8_t *buf, size_t len, xmlDoc **out)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	bool saw_dtd = false;
	xmlDoc *doc;

	*out = NULL;
	ENSURE(ctxt != NULL, VEIL_E_NOMEM, "out of memory");
	ctxt->_private = &saw_dtd;
	ctxt->sax->internalSubset = rim_refuse_dtd;
	ctxt->sax->entityDecl = rim_refuse_entity;
	/* No XML_PARSE_NOENT, XML_PARSE_DTDLOAD, XML_PARSE_HUGE or
	 * XML_PARSE_XINCLUDE; errors go to the quiet handlers only. */
	doc = xmlCtxtReadMemory(ctxt, (const char *)buf, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	/* Namespace errors (an attribute bound twice through two prefixes,
	 * an undeclared prefix) do not stop libxml2; they stop us. */
	bool well_formed = ctxt->wellFormed != 0 && ctxt->nsWellFormed != 0;
	xmlFreeParserCtxt(ctxt);
	if (saw_dtd || (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))) {
		xmlFreeDoc(doc);
		return veil_fail(VEIL_E_MALFORMED,
				 "document has a DTD (<!DOCTYPE>) or entity declaration, which a "
				 "RIM must not have");
	}
	if (doc == NULL || !well_formed) {
		xmlFreeDoc(doc);
		return veil_fail(VEIL_E_MALFORMED, "not well-formed XML: %s",
				 rim_xml_first_error()[0] != '\0' ? rim_xml_first_error()
								  : "parser failed");
	}
	*out = doc;
	return VEIL_OK;
}

veil_err rim_parse(const uint8_t *buf, size_t len, rim **out)
{
	rim_xml_quiet quiet;
	xmlDoc *doc = NULL;
	xmlNode *root;
	rim *r = NULL;
	veil_err err = VEIL_OK;

	ENSURE(out != NULL && (buf != NULL || len == 0), VEIL_E_USAGE, "rim_parse: no input");
	*out = NULL;
	ENSURE(len > 0, VEIL_E_TRUNCATED, "RIM: empty document");
	ENSURE(len <= RIM_MAX_BYTES, VEIL_E_LIMIT, "RIM: %zu bytes, more than the %d allowed", len,
	       RIM_MAX_BYTES);
	rim_xml_init();
	rim_xml_quiet_begin(&quiet);
	CHECK(document_parse(buf, len, &doc));
	root = xmlDocGetRootElement(doc);
	CHECK_THAT(rim_xml_is(root, "SoftwareIdentity", RIM_NS_SWID), VEIL_E_UNSUPPORTED,
		   "root element is not SoftwareIdentity in the namespace " RIM_NS_SWID);
	CHECK(tree_check(root));
	r = calloc(1, sizeof *r);
	CHECK_THAT(r != NULL, VEIL_E_NOMEM, "out of memory");
	r->doc = doc;
	doc = NULL;
	CHECK(identity_parse(root, r));
	const xmlNode *payload;
	CHECK(only_child(root, "Payload", RIM_NS_SWID, &payload));
	CHECK(payload_parse(payload, r));
	CHECK(keyinfo_parse(rim_xml_signature(r->doc), r));
	*out = r;
	r = NULL;
out:
	if (err != VEIL_OK)
		veil_fail_context(err, "RIM");
	rim_free(r);
	xmlFreeDoc(doc);
	rim_xml_quiet_end(&quiet);
	return err;
}

void rim_free(rim *r)
{
	if (r == NULL)
		return;
	xmlFreeDoc(r->doc);
	sk_X509_pop_free(r->certs, X509_free);
	X509_free(r->signer);
	free(r);
}

/*
 * rim_xml.h - libxml2 plumbing shared by rim_parse.c and rim_verify.c.
 *
 * Private to the RIM code. libxml2 reports errors through per-thread global
 * handlers that print to stderr by default; a library must neither print nor
 * lose the reason a hostile document was refused. rim_xml_quiet_begin/end
 * swap in handlers (for this thread only, restoring the caller's after) that
 * keep the first message, which the RIM code then puts into the veil error
 * detail. xmlsec's own error callback (rim_verify.c) feeds the same slot.
 */
#ifndef VEIL_NVIDIA_RIM_XML_H
#define VEIL_NVIDIA_RIM_XML_H

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <stdbool.h>

#include "veil/error.h"

/* ISO/IEC 19770-2:2015 SWID tag namespace (the RIM root and its children). */
#define RIM_NS_SWID "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
/* TCG RIM IM: HashN attributes live in the namespace of the hash algorithm
 * URI, here SHA-384 as named by XML Encryption (xmlenc#sha384). */
#define RIM_NS_SHA384 "http://www.w3.org/2001/04/xmlenc#sha384"
/* XML-DSig core (W3C xmldsig-core1). */
#define RIM_NS_DSIG "http://www.w3.org/2000/09/xmldsig#"

/* libxml2's one-time global initialisation, done once (pthread_once). */
void rim_xml_init(void);

/* The error handlers of this thread while a RIM is parsed or verified. */
typedef struct rim_xml_quiet {
	xmlStructuredErrorFunc structured;
	void *structured_ctx;
	xmlGenericErrorFunc generic;
	void *generic_ctx;
} rim_xml_quiet;

/* Clears the captured message and installs the capturing handlers. */
void rim_xml_quiet_begin(rim_xml_quiet *saved);
/* Restores the handlers saved by rim_xml_quiet_begin. */
void rim_xml_quiet_end(const rim_xml_quiet *saved);
/* Keeps msg as this thread's captured message unless one is already kept. */
void rim_xml_note_error(const char *fmt, ...) VEIL_PRINTF(1, 2);
/* The captured message, or "" (valid until the next quiet_begin). */
const char *rim_xml_first_error(void);

/* True when n is an element with this local name in namespace ns. */
bool rim_xml_is(const xmlNode *n, const char *name, const char *ns);
/* The root's one ds:Signature child (rim_parse guarantees it exists and is
 * the only ds:Signature in the document), or NULL. */
xmlNode *rim_xml_signature(xmlDoc *doc);

#endif

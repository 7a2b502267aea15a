/*
 * der.h - a minimal bounded DER reader (ITU-T X.690) over veil_reader.
 *
 * Only what Veil needs to read extension values inside certificates whose
 * outer structure OpenSSL already decoded: definite lengths, single-byte
 * tags, INTEGER, OCTET STRING, string types, OID, SEQUENCE. Lengths must be
 * minimal (DER), and every element becomes a sub-reader.
 */
#ifndef VEIL_DER_H
#define VEIL_DER_H

#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"

#define VEIL_DER_INTEGER         0x02
#define VEIL_DER_OCTET_STRING    0x04
#define VEIL_DER_OID             0x06
#define VEIL_DER_ENUMERATED      0x0a
#define VEIL_DER_UTF8STRING      0x0c
#define VEIL_DER_PRINTABLESTRING 0x13
#define VEIL_DER_IA5STRING       0x16
#define VEIL_DER_SEQUENCE        0x30

/* Reads one element with tag `tag`; *content covers its contents. */
VEIL_MUST_CHECK veil_err veil_der_read(veil_reader *r, uint8_t tag, veil_reader *content);
/* Reads any element; *tag gets its tag. */
VEIL_MUST_CHECK veil_err veil_der_read_any(veil_reader *r, uint8_t *tag, veil_reader *content);
/* Reads a non-negative INTEGER (or ENUMERATED when tag says so) that fits in
 * 64 bits. */
VEIL_MUST_CHECK veil_err veil_der_read_uint(veil_reader *r, uint8_t tag, uint64_t *out);
/* Writes the dotted form of an OID's contents into buf. */
VEIL_MUST_CHECK veil_err veil_der_oid_text(const veil_reader *oid, char *buf, size_t cap);

#endif

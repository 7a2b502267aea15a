/*
 * collateral.h - the files a verifier may need besides the evidence itself.
 *
 * Certificates (VCEK, VLEK, ASK, ARK, PCK chains), CRLs, Intel TCB Info and
 * QE Identity documents are collected as raw blobs from files named on the
 * command line or from a collateral directory (docs/collateral.md). Veil
 * matches them to the evidence by content, not by file name: a format module
 * looks through the blobs for what it needs (the VCEK whose hwID and TCB match
 * the report, the TCB Info whose FMSPC matches the quote). File names only
 * appear in messages.
 */
#ifndef VEIL_COLLATERAL_H
#define VEIL_COLLATERAL_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/limits.h"

typedef struct veil_blob {
	uint8_t *data;
	size_t len;
	char *origin; /* file path or label, for messages */
} veil_blob;

typedef struct veil_collateral {
	veil_blob blob[VEIL_COLLATERAL_MAX_FILES];
	size_t count;
	/* Process-unique, renewed on every change: caches built from this
	 * collateral key on it, so they never outlive a change. */
	uint64_t id;
} veil_collateral;

void veil_collateral_init(veil_collateral *c);
/* Copies the bytes. */
VEIL_MUST_CHECK veil_err veil_collateral_add(veil_collateral *c, const uint8_t *p, size_t n,
					     const char *origin);
VEIL_MUST_CHECK veil_err veil_collateral_add_file(veil_collateral *c, const char *path);
/* Adds every file below dir whose name does not start with '.', in sorted
 * order so results do not depend on directory order. Folders nested deeper
 * than VEIL_COLLATERAL_MAX_DEPTH, and entries that are not regular files or
 * folders, are errors: a collateral directory is never read in part. */
VEIL_MUST_CHECK veil_err veil_collateral_add_dir(veil_collateral *c, const char *dir);
void veil_collateral_clear(veil_collateral *c);

/* Reads a whole file of at most max bytes. */
VEIL_MUST_CHECK veil_err veil_file_read(const char *path, size_t max, uint8_t **out, size_t *len);

#endif

/*
 * check.h - the record of what a verification looked at.
 *
 * A verifier does not stop at the first failed check when it can go on
 * safely: it records each check it made (name, pass/fail, detail), so that a
 * user sees every reason their evidence was refused. The verdict is
 * veil_checks_passed(): at least one check, none failed, nothing dropped.
 * That rule is the fail-closed default: a verifier that recorded nothing, or
 * more than the list can hold, has not shown that anything is genuine.
 */
#ifndef VEIL_CHECK_H
#define VEIL_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "veil/error.h"
#include "veil/limits.h"

typedef struct veil_check {
	const char *name; /* static, dotted: "report.signature", "pck.chain" */
	bool ok;
	char detail[VEIL_CHECK_DETAIL_MAX];
} veil_check;

typedef struct veil_checks {
	veil_check item[VEIL_CHECKS_MAX];
	size_t count;
	bool overflow;
} veil_checks;

void veil_checks_init(veil_checks *c);
/* Records a check and returns ok, so callers can branch on it. */
bool veil_checks_add(veil_checks *c, const char *name, bool ok, const char *fmt, ...)
    VEIL_PRINTF(4, 5);
/* Records the outcome of a libveil call: ok when err is VEIL_OK, with the
 * current error detail otherwise. Returns err. */
veil_err veil_checks_add_err(veil_checks *c, const char *name, veil_err err, const char *ok_detail);
bool veil_checks_passed(const veil_checks *c);
/* The first failed check, or NULL. */
const veil_check *veil_checks_first_failure(const veil_checks *c);
/* The check with this name, or NULL. */
const veil_check *veil_checks_find(const veil_checks *c, const char *name);

#endif

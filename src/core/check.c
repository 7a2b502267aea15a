/*
 * check.c - recording verification checks (see check.h for the rules).
 */
#include "veil/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void veil_checks_init(veil_checks *c)
{
	memset(c, 0, sizeof *c);
}

static veil_check *checks_slot(veil_checks *c)
{
	if (c->count >= VEIL_CHECKS_MAX) {
		/* Dropping a check would hide a failure: mark the list so the
		 * verdict can never be "passed". */
		c->overflow = true;
		return NULL;
	}
	return &c->item[c->count++];
}

bool veil_checks_add(veil_checks *c, const char *name, bool ok, const char *fmt, ...)
{
	veil_check *k = checks_slot(c);
	va_list ap;

	if (k == NULL)
		return ok;
	k->name = name;
	k->ok = ok;
	va_start(ap, fmt);
	vsnprintf(k->detail, sizeof k->detail, fmt, ap);
	va_end(ap);
	veil_text_sanitize(k->detail);
	return ok;
}

veil_err veil_checks_add_err(veil_checks *c, const char *name, veil_err err, const char *ok_detail)
{
	if (err == VEIL_OK)
		veil_checks_add(c, name, true, "%s", ok_detail);
	else
		veil_checks_add(c, name, false, "%s: %s", veil_err_str(err), veil_err_detail());
	return err;
}

bool veil_checks_passed(const veil_checks *c)
{
	if (c->count == 0 || c->overflow)
		return false;
	for (size_t i = 0; i < c->count; i++)
		if (!c->item[i].ok)
			return false;
	return true;
}

const veil_check *veil_checks_first_failure(const veil_checks *c)
{
	for (size_t i = 0; i < c->count; i++)
		if (!c->item[i].ok)
			return &c->item[i];
	return NULL;
}

const veil_check *veil_checks_find(const veil_checks *c, const char *name)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->item[i].name, name) == 0)
			return &c->item[i];
	return NULL;
}

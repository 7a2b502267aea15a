/*
 * error.c - names of error codes and the thread-local failure detail.
 */
#include "veil/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "veil/limits.h"

static _Thread_local char err_detail[VEIL_ERR_DETAIL_MAX];

static const char *const err_names[VEIL_E_COUNT_] = {
    [VEIL_OK] = "ok",
    [VEIL_E_TRUNCATED] = "input truncated",
    [VEIL_E_TRAILING] = "unexpected trailing bytes",
    [VEIL_E_MALFORMED] = "malformed input",
    [VEIL_E_UNSUPPORTED] = "unsupported format or version",
    [VEIL_E_LIMIT] = "size or count limit exceeded",
    [VEIL_E_NOMEM] = "out of memory",
    [VEIL_E_IO] = "input/output error",
    [VEIL_E_USAGE] = "invalid argument",
    [VEIL_E_CRYPTO] = "cryptographic library error",
    [VEIL_E_NOT_FOUND] = "not found",
    [VEIL_E_VERIFY] = "verification failed",
    [VEIL_E_EXPIRED] = "outside validity period",
    [VEIL_E_REVOKED] = "revoked",
    [VEIL_E_MISMATCH] = "values do not match",
};

void veil_text_sanitize(char *s)
{
	/* Messages quote attacker-chosen text (certificate names, file names,
	 * JSON strings); a newline or an escape sequence in one could forge a
	 * line of output such as "verdict: GENUINE". Control bytes become '?'. */
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

const char *veil_err_str(veil_err err)
{
	if ((unsigned)err >= VEIL_E_COUNT_)
		return "unknown error";
	return err_names[err];
}

veil_err veil_fail(veil_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_detail, sizeof err_detail, fmt, ap);
	va_end(ap);
	veil_text_sanitize(err_detail);
	return err;
}

veil_err veil_fail_context(veil_err err, const char *fmt, ...)
{
	char prefix[VEIL_ERR_DETAIL_MAX];
	char old[VEIL_ERR_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err_detail, sizeof old);
	/* Truncation is acceptable here: the start of a message says most. */
	if (snprintf(err_detail, sizeof err_detail, "%s: %s", prefix,
		     old[0] == '\0' ? veil_err_str(err) : old) < 0)
		err_detail[0] = '\0';
	veil_text_sanitize(err_detail);
	return err;
}

const char *veil_err_detail(void)
{
	return err_detail;
}

void veil_err_clear(void)
{
	err_detail[0] = '\0';
}

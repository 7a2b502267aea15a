/*
 * timeutil.h - RFC 3339 timestamps as Unix seconds (UTC).
 *
 * Verification always happens at an explicit time passed as int64 seconds;
 * these convert to and from the text forms users type and Intel serves.
 */
#ifndef VEIL_TIMEUTIL_H
#define VEIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

/* Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" and "YYYY-MM-DD"
 * (midnight UTC). Fractions are truncated. */
VEIL_MUST_CHECK veil_err veil_time_parse(const char *s, int64_t *out);
/* Writes "YYYY-MM-DDTHH:MM:SSZ"; out holds at least 21 bytes. */
void veil_time_format(int64_t t, char out[21]);
int64_t veil_time_now(void);

#endif

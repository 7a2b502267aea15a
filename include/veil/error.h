/*
 * error.h - the one error convention of libveil.
 *
 * Every fallible function returns a veil_err and is marked VEIL_MUST_CHECK.
 * VEIL_OK is zero; everything else is a failure with a short static message
 * (veil_err_str). The detail of the most recent failure on this thread
 * (which field, which offset, which certificate) is kept in a thread-local
 * buffer set by veil_fail() and read by veil_err_detail(), the way s2n keeps
 * its debug string: callers stay simple and messages stay specific.
 *
 * TRY/ENSURE keep the happy path reading straight down; CHECK/CHECK_THAT are
 * the same for functions with a single "out:" exit that frees and wipes.
 */
#ifndef VEIL_ERROR_H
#define VEIL_ERROR_H

#include <stdbool.h>

#define VEIL_MUST_CHECK   __attribute__((warn_unused_result))
#define VEIL_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef enum veil_err {
	VEIL_OK = 0,
	VEIL_E_TRUNCATED,   /* input ended before a field */
	VEIL_E_TRAILING,    /* bytes left after the last field */
	VEIL_E_MALFORMED,   /* a field has a value the format forbids */
	VEIL_E_UNSUPPORTED, /* well-formed, but a version or kind we do not handle */
	VEIL_E_LIMIT,       /* a count or size above the caps in limits.h */
	VEIL_E_NOMEM,
	VEIL_E_IO,
	VEIL_E_USAGE,     /* the caller passed something invalid */
	VEIL_E_CRYPTO,    /* the crypto library failed (not a bad signature) */
	VEIL_E_NOT_FOUND, /* a needed certificate, collateral or key is missing */
	VEIL_E_VERIFY,    /* evidence or collateral is not genuine */
	VEIL_E_EXPIRED,   /* outside a validity window at the given time */
	VEIL_E_REVOKED,
	VEIL_E_MISMATCH, /* two values that must agree do not */
	VEIL_E_COUNT_
} veil_err;

/* A short, static, human-readable name for err. Never NULL. */
const char *veil_err_str(veil_err err);

/* Records a detail message for err on this thread and returns err. */
veil_err veil_fail(veil_err err, const char *fmt, ...) VEIL_PRINTF(2, 3);

/* Prefixes the current detail with context ("CHIP_ID: ..."); returns err. */
veil_err veil_fail_context(veil_err err, const char *fmt, ...) VEIL_PRINTF(2, 3);

/* The detail of the last failure on this thread, or "" if none. */
const char *veil_err_detail(void);

/* Replaces control characters in s (NUL-terminated) with '?', in place.
 * Every message that may quote untrusted text passes through it. */
void veil_text_sanitize(char *s);

/* Clears the detail (at the start of a top-level operation). */
void veil_err_clear(void);

#define TRY(expr)                                                                                  \
	do {                                                                                       \
		veil_err try_err_ = (expr);                                                        \
		if (try_err_ != VEIL_OK)                                                           \
			return try_err_;                                                           \
	} while (0)

#define ENSURE(cond, err, ...)                                                                     \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return veil_fail((err), __VA_ARGS__);                                      \
	} while (0)

/* For functions with a local `veil_err err` and an `out:` label. */
#define CHECK(expr)                                                                                \
	do {                                                                                       \
		err = (expr);                                                                      \
		if (err != VEIL_OK)                                                                \
			goto out;                                                                  \
	} while (0)

#define CHECK_THAT(cond, e, ...)                                                                   \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			err = veil_fail((e), __VA_ARGS__);                                         \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

#endif

/*
 * harness.h - the small test framework every tests/test_*.c uses.
 *
 * A test file defines functions with TEST(name) and lists them in main with
 * RUN(name). EXPECT records a failure and carries on; REQUIRE stops the
 * current test. Each binary ends by printing "<file>: N passed, N failed",
 * and exits non-zero on any failure. Test data is read from
 * $VEIL_TESTDATA (default ../shared/testdata) with td_read().
 */
#ifndef VEIL_TEST_HARNESS_H
#define VEIL_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int harness_failures_in_test;

#define TEST(name) static void name(void)
#define RUN(name)  harness_run(#name, name)

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			harness_fail(__FILE__, __LINE__, #cond);                                   \
	} while (0)
#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			harness_fail(__FILE__, __LINE__, #cond);                                   \
			return;                                                                    \
		}                                                                                  \
	} while (0)
/* Expects a veil_err value; prints the error detail when it differs. */
#define EXPECT_ERR(expr, want)                                                                     \
	harness_expect_err(__FILE__, __LINE__, #expr, (int)(expr), (int)(want))
#define EXPECT_OK(expr) EXPECT_ERR(expr, 0)

void harness_fail(const char *file, int line, const char *what);
void harness_expect_err(const char *file, int line, const char *what, int got, int want);
void harness_run(const char *name, void (*fn)(void));
/* Prints the summary line; returns the process exit code. */
int harness_finish(const char *suite);

/* Path of a test data file (static buffer, valid until the next call). */
const char *td_path(const char *rel);
/* Reads a test data file into a new buffer (caller frees); aborts the
 * test binary with a clear message if the file is missing. */
uint8_t *td_read(const char *rel, size_t *len);
/* Parses an RFC 3339 time or aborts. */
int64_t td_time(const char *rfc3339);
/* Decodes hex or aborts; returns a new buffer. */
uint8_t *td_hex(const char *hex, size_t *len);

#endif

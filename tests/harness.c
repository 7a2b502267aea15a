/*
 * harness.c - implementation of the test framework in harness.h.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/error.h"
#include "veil/limits.h"
#include "veil/timeutil.h"

int harness_failures_in_test;
static int passed, failed;

void harness_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what);
	harness_failures_in_test++;
}

void harness_expect_err(const char *file, int line, const char *what, int got, int want)
{
	if (got == want)
		return;
	fprintf(stderr, "  FAIL %s:%d: %s\n    got %s (%s), want %s\n", file, line, what,
		veil_err_str((veil_err)got), veil_err_detail(), veil_err_str((veil_err)want));
	harness_failures_in_test++;
}

void harness_run(const char *name, void (*fn)(void))
{
	harness_failures_in_test = 0;
	veil_err_clear();
	fn();
	if (harness_failures_in_test == 0) {
		passed++;
	} else {
		failed++;
		fprintf(stderr, "FAILED %s\n", name);
	}
}

int harness_finish(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	return failed == 0 ? 0 : 1;
}

const char *td_path(const char *rel)
{
	static char path[4096];
	const char *root = getenv("VEIL_TESTDATA");
	if (root == NULL || root[0] == '\0')
		root = "../shared/testdata";
	int n = snprintf(path, sizeof path, "%s/%s", root, rel);
	if (n < 0 || (size_t)n >= sizeof path) {
		fprintf(stderr, "test data path too long: %s\n", rel);
		exit(2);
	}
	return path;
}

uint8_t *td_read(const char *rel, size_t *len)
{
	uint8_t *buf = NULL;
	const char *path = td_path(rel);
	if (veil_file_read(path, VEIL_COLLATERAL_FILE_MAX_BYTES * 2, &buf, len) != VEIL_OK) {
		fprintf(
		    stderr,
		    "cannot read test data %s: %s\n(set VEIL_TESTDATA to the testdata folder)\n",
		    path, veil_err_detail());
		exit(2);
	}
	return buf;
}

int64_t td_time(const char *rfc3339)
{
	int64_t t = 0;
	if (veil_time_parse(rfc3339, &t) != VEIL_OK) {
		fprintf(stderr, "bad time in test: %s\n", rfc3339);
		exit(2);
	}
	return t;
}

uint8_t *td_hex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *out = malloc(n / 2 + 1);
	if (out == NULL || veil_hex_decode(hex, n, out, n / 2 + 1, len) != VEIL_OK) {
		fprintf(stderr, "bad hex in test: %.40s\n", hex);
		exit(2);
	}
	return out;
}

/*
 * hostcheck.c - `veil host-check`'s report: running the checks, adding one,
 * the verdict, and reading the host's files through a root
 * (docs/host-check.md).
 *
 * The operator runs the check on a host nobody else vouches for, before a
 * confidential worker VM is deployed there; the report is what they, or
 * the party deploying the workload, decide on. So it says only what it
 * saw: every check is pass, fail or n/a with the file it read and the
 * value found, a file that cannot be read fails its check (fail closed),
 * and a check that does not concern this host is n/a, never a pass. The
 * host passes when no required check failed and at least one SEV-SNP or
 * TDX check passed: a host whose TEE checks are all n/a has shown nothing.
 *
 * Text that goes into a report (evidence quotes file contents: a CPU
 * model name, a kernel command line) is made valid UTF-8 without control
 * characters here, once, so a report always serializes and a terminal
 * printing it cannot be driven by escape sequences in a sysfs file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostcheck/hostcheck_internal.h"
#include "veil/limits.h"
#include "veil/timeutil.h"

#define HC_PATH_MAX   4096
#define HC_ROOT_MAX   1024
#define HC_DRIVER_MAX 31
#define HC_INT_MAX    9007199254740991LL /* I-JSON: 2^53 - 1 */

const char *veil_hc_status_name(veil_hc_status s)
{
	switch (s) {
	case VEIL_HC_PASS:
		return "pass";
	case VEIL_HC_FAIL:
		return "fail";
	case VEIL_HC_NA:
		return "n/a";
	}
	return "?";
}

const char *hc_sysfs(const veil_hc_options *o)
{
	return o->roots.sysfs != NULL ? o->roots.sysfs : HC_SYSFS_DEFAULT;
}

const char *hc_procfs(const veil_hc_options *o)
{
	return o->roots.procfs != NULL ? o->roots.procfs : HC_PROCFS_DEFAULT;
}

const char *hc_dev(const veil_hc_options *o)
{
	return o->roots.dev != NULL ? o->roots.dev : HC_DEV_DEFAULT;
}

/* ---- Text ---- */

/* The length of the UTF-8 sequence at s (n bytes left) and its code
 * point, or 0 when it is not valid UTF-8 (RFC 3629 section 4: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t v, min;
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* C0 controls, DEL and the C1 controls (a terminal may take U+009B as
 * CSI). */
static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

void hc_text_copy(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)(src != NULL ? src : "");
	size_t n = strlen((const char *)s), i = 0, o = 0;

	if (cap == 0)
		return;
	while (i < n) {
		uint32_t cp = 0;
		size_t l = utf8_seq(s + i, n - i, &cp);

		if (l == 0 || is_control(cp)) {
			if (o + 1 >= cap)
				break;
			dst[o++] = '?';
			i += l != 0 ? l : 1;
			continue;
		}
		if (o + l >= cap)
			break;
		memcpy(dst + o, s + i, l);
		o += l;
		i += l;
	}
	dst[o] = '\0';
}

bool hc_text_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t l = utf8_seq(u + i, n - i, &cp);

		if (l == 0 || is_control(cp))
			return false;
		i += l;
	}
	return true;
}

bool hc_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= VEIL_HC_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* ---- Checks and the verdict ---- */

veil_err veil_hc_add(veil_hc_report *r, const char *id, const char *title, bool required,
		     veil_hc_status status, const char *evidence, const char *remedy)
{
	veil_hc_check *c;

	ENSURE(r != NULL && id != NULL && title != NULL, VEIL_E_USAGE,
	       "veil_hc_add: NULL argument");
	ENSURE(hc_id_ok(id), VEIL_E_USAGE,
	       "check id \"%.64s\" is not 1 to %d of [A-Za-z0-9._-] starting with a letter or "
	       "digit",
	       id, VEIL_HC_ID_MAX - 1);
	ENSURE(title[0] != '\0', VEIL_E_USAGE, "check %s has no title", id);
	ENSURE(status == VEIL_HC_PASS || status == VEIL_HC_FAIL || status == VEIL_HC_NA,
	       VEIL_E_USAGE, "check %s: status %d is not pass, fail or n/a", id, (int)status);
	ENSURE(r->count <= VEIL_HC_CHECKS_MAX, VEIL_E_USAGE, "report count %zu is corrupt",
	       r->count);
	for (size_t i = 0; i < r->count; i++)
		ENSURE(strcmp(r->checks[i].id, id) != 0, VEIL_E_USAGE, "check %s added twice", id);
	ENSURE(r->count < VEIL_HC_CHECKS_MAX, VEIL_E_LIMIT,
	       "check %s: a report holds at most %d checks", id, VEIL_HC_CHECKS_MAX);
	c = &r->checks[r->count];
	memset(c, 0, sizeof *c);
	memcpy(c->id, id, strlen(id) + 1);
	hc_text_copy(c->title, sizeof c->title, title);
	c->required = required;
	c->status = status;
	hc_text_copy(c->evidence, sizeof c->evidence, evidence);
	/* A remedy is advice for a failure; on anything else it would read
	 * as one. */
	if (status == VEIL_HC_FAIL)
		hc_text_copy(c->remedy, sizeof c->remedy, remedy);
	r->count++;
	return VEIL_OK;
}

bool hc_verdict(const veil_hc_report *r)
{
	bool tee_passed = false;

	if (r->count > VEIL_HC_CHECKS_MAX)
		return false;
	for (size_t i = 0; i < r->count; i++) {
		const veil_hc_check *c = &r->checks[i];

		if (c->required && c->status == VEIL_HC_FAIL)
			return false;
		if (c->status == VEIL_HC_PASS &&
		    (strncmp(c->id, "snp.", 4) == 0 || strncmp(c->id, "tdx.", 4) == 0))
			tee_passed = true;
	}
	return tee_passed;
}

/* ---- Files ---- */

veil_err hc_path(char *buf, size_t cap, const char *root, const char *rel)
{
	int n = snprintf(buf, cap, "%s/%s", root, rel);

	ENSURE(n > 0 && (size_t)n < cap, VEIL_E_LIMIT, "path under %.64s is too long", root);
	return VEIL_OK;
}

static void errno_why(int e, char why[HC_WHY_MAX])
{
	if (e == ENOENT || e == ENOTDIR)
		snprintf(why, HC_WHY_MAX, "not found");
	else if (e == EACCES || e == EPERM)
		snprintf(why, HC_WHY_MAX, "permission denied (run as root)");
	else
		snprintf(why, HC_WHY_MAX, "unreadable (%s)", strerror(e));
}

veil_err hc_read(const char *root, const char *rel, size_t max, bool prefix_ok, char **out,
		 size_t *len, char why[HC_WHY_MAX])
{
	char path[HC_PATH_MAX];
	char *buf = NULL;
	size_t got = 0;
	veil_err err = VEIL_OK;
	int fd;

	*out = NULL;
	*len = 0;
	why[0] = '\0';
	if (hc_path(path, sizeof path, root, rel) != VEIL_OK) {
		snprintf(why, HC_WHY_MAX, "path too long");
		return VEIL_E_LIMIT;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		errno_why(e, why);
		return veil_fail(e == ENOENT || e == ENOTDIR ? VEIL_E_NOT_FOUND : VEIL_E_IO,
				 "%s: %s", rel, why);
	}
	/* sysfs and procfs report sizes stat() cannot be trusted with: read
	 * to end of file, one byte past the cap so that "more" shows. */
	buf = malloc(max + 2);
	CHECK_THAT(buf != NULL, VEIL_E_NOMEM, "out of memory reading %s", rel);
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errno_why(errno, why);
			CHECK_THAT(false, VEIL_E_IO, "%s: %s", rel, why);
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			if (prefix_ok) {
				got = max;
				break;
			}
			snprintf(why, HC_WHY_MAX, "larger than %zu bytes", max);
			CHECK_THAT(false, VEIL_E_LIMIT, "%s: %s", rel, why);
		}
	}
	if (memchr(buf, '\0', got) != NULL) {
		snprintf(why, HC_WHY_MAX, "holds a NUL byte");
		CHECK_THAT(false, VEIL_E_MALFORMED, "%s: %s", rel, why);
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

void hc_trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 &&
	       (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* ---- Running ---- */

static veil_err root_ok(const char *what, const char *root)
{
	ENSURE(root == NULL || (root[0] != '\0' && strlen(root) < HC_ROOT_MAX), VEIL_E_USAGE,
	       "the %s root must be a non-empty path shorter than %d bytes", what, HC_ROOT_MAX);
	return VEIL_OK;
}

/* A driver version as NVIDIA writes them ("570.124.06"): digits in up to
 * four dot-separated parts. */
static bool driver_ok(const char *v)
{
	size_t n = strlen(v), parts = 1, digits = 0;

	if (n == 0 || n > HC_DRIVER_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9') {
			digits++;
			continue;
		}
		if (v[i] != '.' || digits == 0 || ++parts > 4)
			return false;
		digits = 0;
	}
	return digits > 0;
}

static veil_err options_check(const veil_hc_options *o)
{
	TRY(root_ok("sysfs", o->roots.sysfs));
	TRY(root_ok("procfs", o->roots.procfs));
	TRY(root_ok("dev", o->roots.dev));
	ENSURE(o->roots.nvml_lib == NULL || o->roots.nvml_lib[0] != '\0', VEIL_E_USAGE,
	       "the NVML library path is empty");
	ENSURE(o->tee == VEIL_HC_TEE_AUTO || o->tee == VEIL_HC_TEE_SNP || o->tee == VEIL_HC_TEE_TDX,
	       VEIL_E_USAGE, "TEE %d is not auto, snp or tdx", (int)o->tee);
	ENSURE(o->min_gpus <= VEIL_HC_MIN_GPUS_MAX, VEIL_E_USAGE,
	       "%u GPUs required: at most %d can be", o->min_gpus, VEIL_HC_MIN_GPUS_MAX);
	ENSURE(o->min_driver == NULL || driver_ok(o->min_driver), VEIL_E_USAGE,
	       "minimum driver \"%.40s\" is not a version like 570.00 or 570.124.06",
	       o->min_driver);
	ENSURE(o->now >= 0 && o->now <= HC_INT_MAX, VEIL_E_USAGE,
	       "report time %lld is not in 0..2^53-1", (long long)o->now);
	return VEIL_OK;
}

/* A one-line procfs file into a report field; empty when unreadable (the
 * checks that need it say why). */
static void read_field(const char *root, const char *rel, char *dst, size_t cap)
{
	char why[HC_WHY_MAX], *buf = NULL;
	size_t len = 0;

	dst[0] = '\0';
	if (hc_read(root, rel, VEIL_HC_FILE_MAX, false, &buf, &len, why) != VEIL_OK)
		return;
	hc_trim(buf);
	hc_text_copy(dst, cap, buf);
	free(buf);
}

veil_err veil_hostcheck_run(const veil_hc_options *o, veil_hc_report *r)
{
	ENSURE(o != NULL && r != NULL, VEIL_E_USAGE, "veil_hostcheck_run: NULL argument");
	TRY(options_check(o));
	memset(r, 0, sizeof *r);
	r->time = o->now != 0 ? o->now : veil_time_now();
	read_field(hc_procfs(o), "sys/kernel/hostname", r->host, sizeof r->host);
	read_field(hc_procfs(o), "sys/kernel/osrelease", r->kernel, sizeof r->kernel);
	hc_identify(o, r);
	TRY(veil_hostcheck_cpu(o, r));
	TRY(veil_hostcheck_gpu(o, r));
	r->pass = hc_verdict(r);
	return VEIL_OK;
}

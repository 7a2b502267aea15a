/*
 * tsm.c - the configfs-tsm back end: SNP reports and TDX quotes through the
 * kernel's common report interface (Linux 6.7+).
 *
 * Documentation/ABI/testing/configfs-tsm and drivers/virt/coco/guest/
 * report.c: mkdir an entry under /sys/kernel/config/tsm/report; "provider"
 * names the format of what comes out ("sev_guest": the SEV-SNP ABI 1.55
 * Table 22 report; "tdx_guest": a DCAP quote made by the host's QGS); write
 * the 64-byte REPORT_DATA to "inblob"; read "outblob" (the kernel makes the
 * report then); for SNP read "auxblob", the host's certificate table (GHCB
 * 2.03 section 4.1.8.1), when there is one; rmdir the entry.
 *
 * "generation" counts the writes to the entry. Ours is a fresh entry with a
 * random name, so after our writes it must equal their number; anything
 * else means another process wrote to it between our inblob and outblob,
 * and the report may carry their data, so we fail and say so. (We check
 * REPORT_DATA in the report as well.)
 *
 * A guest running above VMPL 0 (under an SVSM) may only ask for reports at
 * its own level or higher: when "privlevel_floor" says more than 0 we write
 * that level to "privlevel" first (it counts as a write).
 *
 * The entry is removed on every path out, through sys->tsm_rmdir; a failure
 * to remove it is an error, since it leaves a kernel object behind.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "attester/attester_internal.h"
#include "veil/limits.h"

#define TSM_DEFAULT_ROOT "/sys/kernel/config/tsm/report"

typedef struct tsm_entry {
	const veil_attest_env *env;
	char dir[PATH_MAX];
	char path[PATH_MAX]; /* scratch: dir/attribute */
} tsm_entry;

static veil_err attr_path(tsm_entry *t, const char *attr)
{
	int n = snprintf(t->path, sizeof t->path, "%s/%s", t->dir, attr);
	ENSURE(n > 0 && (size_t)n < sizeof t->path, VEIL_E_USAGE, "configfs-tsm path too long");
	return VEIL_OK;
}

/* Reads a one-line text attribute, without its newline. */
static veil_err read_text(tsm_entry *t, const char *attr, char *out, size_t size)
{
	uint8_t *buf;
	size_t len;

	TRY(attr_path(t, attr));
	TRY(attest_read_file(t->env, t->path, VEIL_ATTEST_ATTR_MAX, &buf, &len));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\0'))
		len--;
	bool ok = len < size && memchr(buf, 0, len) == NULL;
	if (ok) {
		memcpy(out, buf, len);
		out[len] = 0;
	}
	free(buf);
	ENSURE(ok, VEIL_E_MALFORMED, "%s is not a line of text", t->path);
	return VEIL_OK;
}

/* A decimal attribute ("generation", "privlevel_floor"). */
static veil_err read_number(tsm_entry *t, const char *attr, unsigned long *out)
{
	char text[VEIL_ATTEST_ATTR_MAX + 1];
	unsigned long v = 0;

	TRY(read_text(t, attr, text, sizeof text));
	ENSURE(text[0] != 0, VEIL_E_MALFORMED, "%s is empty", t->path);
	for (const char *c = text; *c != 0; c++) {
		ENSURE(*c >= '0' && *c <= '9' && v <= (ULONG_MAX - 9) / 10, VEIL_E_MALFORMED,
		       "%s holds '%s', not a number", t->path, text);
		v = v * 10 + (unsigned long)(*c - '0');
	}
	*out = v;
	return VEIL_OK;
}

static veil_err make_entry(tsm_entry *t, const char *root)
{
	static unsigned long counter;
	uint8_t rnd[8];
	char reason[160];
	struct stat st;

	if (stat(root, &st) != 0) {
		int e = errno;
		return veil_fail(attest_errno_code(e), "%s: %s", root,
				 attest_errno_reason(e,
						     "kernel older than 6.7, configfs not "
						     "mounted, or no TSM provider loaded",
						     reason, sizeof reason));
	}
	ENSURE(S_ISDIR(st.st_mode), VEIL_E_IO, "%s is not a directory", root);
	/* A name nobody else will pick: a shared entry is exactly the
	 * concurrent-writer problem "generation" exists to detect. */
	ENSURE(RAND_bytes(rnd, sizeof rnd) == 1, VEIL_E_CRYPTO,
	       "no randomness for a configfs-tsm entry name");
	int n = snprintf(t->dir, sizeof t->dir, "%s/veil-%ld-%lu-%02x%02x%02x%02x%02x%02x%02x%02x",
			 root, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED),
			 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	ENSURE(n > 0 && (size_t)n < sizeof t->dir, VEIL_E_USAGE, "configfs-tsm root path too long");
	if (attest_sys_tsm_mkdir(t->env, t->dir) != 0) {
		int e = errno;
		/* report.c tsm_report_make_item(): ENXIO when no provider
		 * (sev-guest or tdx-guest driver) is registered. */
		return veil_fail(attest_errno_code(e), "cannot create %s: %s", t->dir,
				 attest_errno_reason(e,
						     "no TSM provider: the sev-guest or "
						     "tdx-guest driver is not loaded",
						     reason, sizeof reason));
	}
	return VEIL_OK;
}

static veil_err read_provider(tsm_entry *t, attest_tee want, attest_tee *tee)
{
	char provider[VEIL_ATTEST_ATTR_MAX + 1];

	TRY(read_text(t, "provider", provider, sizeof provider));
	if (strcmp(provider, "sev_guest") == 0)
		*tee = ATTEST_TEE_SNP;
	else if (strcmp(provider, "tdx_guest") == 0)
		*tee = ATTEST_TEE_TDX;
	else
		return veil_fail(VEIL_E_UNSUPPORTED,
				 "provider '%s' makes reports Veil does not attest with (it knows "
				 "sev_guest and tdx_guest)",
				 provider);
	ENSURE(want == ATTEST_TEE_AUTO || want == *tee, VEIL_E_MISMATCH,
	       "%s evidence was asked for, but this machine's provider is %s",
	       want == ATTEST_TEE_SNP ? "snp" : "tdx", provider);
	return VEIL_OK;
}

/* Writes privlevel when the guest runs above VMPL 0; counts the write. */
static veil_err set_privlevel(tsm_entry *t, unsigned long *writes)
{
	unsigned long floor = 0;
	char text[32];

	TRY(attr_path(t, "privlevel_floor"));
	if (access(t->path, F_OK) != 0)
		return VEIL_OK; /* the provider has no privilege levels (TDX) */
	TRY(read_number(t, "privlevel_floor", &floor));
	if (floor == 0)
		return VEIL_OK;
	/* TSM_REPORT_PRIVLEVEL_MAX is 3 (the SNP VMPLs). */
	ENSURE(floor <= 3, VEIL_E_MALFORMED, "%s is %lu; privilege levels go up to 3", t->path,
	       floor);
	int n = snprintf(text, sizeof text, "%lu\n", floor);
	TRY(attr_path(t, "privlevel"));
	TRY(attest_write_file(t->env, t->path, text, (size_t)n));
	(*writes)++;
	return VEIL_OK;
}

/* The SNP certificate table, if the host supplied one; checked, kept raw. */
static veil_err read_auxblob(tsm_entry *t, uint8_t **certs, size_t *certs_len)
{
	veil_snp_cert parsed[VEIL_SNP_CERTTABLE_MAX];
	size_t count;

	TRY(attr_path(t, "auxblob"));
	veil_err err = attest_read_file(t->env, t->path, VEIL_ATTEST_BLOB_MAX, certs, certs_len);
	if (err == VEIL_E_NOT_FOUND)
		return VEIL_OK; /* older kernels, or a provider without one */
	TRY(err);
	if (*certs_len == 0) {
		free(*certs);
		*certs = NULL;
		return VEIL_OK;
	}
	err = veil_snp_certtable_parse(*certs, *certs_len, parsed, VEIL_SNP_CERTTABLE_MAX, &count);
	if (err != VEIL_OK) {
		free(*certs);
		*certs = NULL;
		*certs_len = 0;
		return veil_fail_context(err, "the host's certificate table in %s", t->path);
	}
	return VEIL_OK;
}

static veil_err tsm_generate(tsm_entry *t, attest_tee want, const uint8_t rd[64],
			     veil_cpu_evidence *out)
{
	attest_tee tee = ATTEST_TEE_AUTO;
	unsigned long writes = 0, generation = 0;

	TRY(read_provider(t, want, &tee));
	TRY(set_privlevel(t, &writes));
	TRY(attr_path(t, "inblob"));
	TRY(attest_write_file(t->env, t->path, rd, 64));
	writes++;
	TRY(attr_path(t, "outblob"));
	veil_err err =
	    attest_read_file(t->env, t->path, VEIL_ATTEST_BLOB_MAX, &out->report, &out->report_len);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s",
					 tee == ATTEST_TEE_TDX
					     ? "no TDX quote (the host's Quote Generation Service "
					       "must be reachable)"
					     : "no SNP report");
	ENSURE(out->report_len > 0, VEIL_E_IO, "%s is empty", t->path);
	if (tee == ATTEST_TEE_SNP)
		TRY(read_auxblob(t, &out->certs, &out->certs_len));
	TRY(read_number(t, "generation", &generation));
	ENSURE(generation == writes, VEIL_E_MISMATCH,
	       "%s is %lu after our %lu write(s): another process wrote to this entry while "
	       "the report was made, so it may not carry our REPORT_DATA",
	       t->path, generation, writes);
	TRY(attest_check_binding(tee == ATTEST_TEE_TDX ? "tdx" : "snp", out->report,
				 out->report_len, rd, 64));
	attest_evidence_label(out, tee, attest_tsm_backend.name);
	return VEIL_OK;
}

static veil_err tsm_get(const veil_attest_env *env, attest_tee want, const uint8_t rd[64],
			veil_cpu_evidence *out)
{
	tsm_entry *t = calloc(1, sizeof *t);
	veil_err err;

	ENSURE(t != NULL, VEIL_E_NOMEM, "out of memory");
	t->env = env;
	err = make_entry(t, env->tsm_root != NULL ? env->tsm_root : TSM_DEFAULT_ROOT);
	if (err != VEIL_OK) {
		free(t);
		return err;
	}
	err = tsm_generate(t, want, rd, out);
	if (attest_sys_tsm_rmdir(env, t->dir) != 0) {
		int e = errno;
		if (err == VEIL_OK)
			err = veil_fail(VEIL_E_IO, "cannot remove %s: %s", t->dir, strerror(e));
	}
	free(t);
	return err;
}

const attest_backend attest_tsm_backend = {
    .name = "configfs-tsm",
    .snp = true,
    .tdx = true,
    .get = tsm_get,
};

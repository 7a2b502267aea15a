/*
 * test_attester_tsm.c - the configfs-tsm back end and the "auto" selection.
 *
 * A plain directory stands in for /sys/kernel/config/tsm/report. What a
 * plain directory cannot do, configfs does in mkdir and rmdir (a report item
 * appears with its attribute files; rmdir removes it while it holds them),
 * so the test's tsm_mkdir fills the entry with provider, generation,
 * outblob, auxblob and privlevel_floor as the test set them, and its
 * tsm_rmdir records what was written to inblob and privlevel before
 * emptying it. outblob holds real evidence from the shared test data
 * (go-sev-guest's Milan report, go-tdx-guest's v5 quote) and auxblob a
 * certificate table of real Milan certificates. Every case checks that the
 * entry was removed.
 */
#include <errno.h>
#include <stdio.h>

#include "test_attester_util.h"
#include "veil/limits.h"

typedef struct tsm_fixture {
	char root[256];
	const char *provider;   /* file content, NULL: no file */
	const char *generation; /* NULL: no file */
	const char *floor;      /* privlevel_floor, NULL: no file */
	const uint8_t *outblob; /* NULL: no file */
	size_t outblob_len;
	const uint8_t *auxblob; /* NULL: no file */
	size_t auxblob_len;
	int mkdir_errno, rmdir_errno;
	/* what happened */
	int mkdirs, rmdirs;
	char made[512], removed[512];
	uint8_t inblob[128];
	size_t inblob_len;
	char privlevel[16];
} tsm_fixture;

static void put(const char *dir, const char *name, const void *p, size_t n)
{
	if (p != NULL)
		att_write(dir, name, p, n);
}

static int fake_mkdir(void *user, const char *path)
{
	tsm_fixture *f = user;

	f->mkdirs++;
	snprintf(f->made, sizeof f->made, "%s", path);
	if (f->mkdir_errno != 0) {
		errno = f->mkdir_errno;
		return -1;
	}
	if (mkdir(path, 0700) != 0)
		return -1;
	put(path, "provider", f->provider, f->provider ? strlen(f->provider) : 0);
	put(path, "generation", f->generation, f->generation ? strlen(f->generation) : 0);
	put(path, "privlevel_floor", f->floor, f->floor ? strlen(f->floor) : 0);
	put(path, "outblob", f->outblob, f->outblob_len);
	put(path, "auxblob", f->auxblob, f->auxblob_len);
	att_write(path, "inblob", "", 0); /* write-only attributes exist, empty */
	if (f->floor != NULL)
		att_write(path, "privlevel", "", 0);
	return 0;
}

static void slurp(const char *dir, const char *name, void *out, size_t size, size_t *len)
{
	char path[1024];
	*len = 0;
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return;
	FILE *fp = fopen(path, "rb");
	*len = 0;
	if (fp != NULL) {
		*len = fread(out, 1, size, fp);
		fclose(fp);
	}
}

static int fake_rmdir(void *user, const char *path)
{
	tsm_fixture *f = user;
	size_t n;

	f->rmdirs++;
	snprintf(f->removed, sizeof f->removed, "%s", path);
	if (f->rmdir_errno != 0) {
		errno = f->rmdir_errno;
		return -1;
	}
	slurp(path, "inblob", f->inblob, sizeof f->inblob, &f->inblob_len);
	slurp(path, "privlevel", f->privlevel, sizeof f->privlevel - 1, &n);
	f->privlevel[n] = 0;
	att_rmtree(path);
	return 0;
}

static tsm_fixture fx;
static veil_attest_sys fx_sys;
static veil_attest_env fx_env;
static uint8_t *snp_report, *tdx_quote, *table;
static size_t snp_report_len, tdx_quote_len, table_len;
static uint8_t snp_rd[64], tdx_rd[64];

/* A fresh root holding an SNP machine's entry, with devices that do not
 * exist (so "auto" stops at configfs-tsm or explains). */
static void setup_snp(void)
{
	memset(&fx, 0, sizeof fx);
	att_tmpdir(fx.root, sizeof fx.root);
	fx.provider = "sev_guest\n";
	fx.generation = "1\n";
	fx.outblob = snp_report;
	fx.outblob_len = snp_report_len;
	fx.auxblob = table;
	fx.auxblob_len = table_len;
	fx_sys = (veil_attest_sys){.tsm_mkdir = fake_mkdir, .tsm_rmdir = fake_rmdir, .user = &fx};
	fx_env = (veil_attest_env){.tsm_root = fx.root,
				   .sev_guest_dev = "/nonexistent/sev-guest",
				   .tdx_guest_dev = "/nonexistent/tdx_guest",
				   .sys = &fx_sys};
}

static void setup_tdx(void)
{
	setup_snp();
	fx.provider = "tdx_guest\n";
	fx.outblob = tdx_quote;
	fx.outblob_len = tdx_quote_len;
	fx.auxblob = NULL;
}

/* The entry was made once, removed once, the same one, and nothing is left. */
static void expect_removed(void)
{
	EXPECT(fx.mkdirs == 1);
	EXPECT(fx.rmdirs == 1);
	EXPECT(strcmp(fx.made, fx.removed) == 0);
	EXPECT(strncmp(fx.made, fx.root, strlen(fx.root)) == 0);
	EXPECT(att_dir_entries(fx.root) == 0);
	att_rmtree(fx.root);
}

static veil_err attest(const char *backend, const char *tee, const uint8_t rd[64],
		       veil_cpu_evidence *ev)
{
	return veil_attest_cpu(&fx_env, backend, tee, rd, ev);
}

TEST(snp_report_with_certificates)
{
	veil_cpu_evidence ev;

	setup_snp();
	EXPECT_OK(attest("configfs-tsm", "snp", snp_rd, &ev));
	EXPECT(strcmp(ev.tee, "snp") == 0);
	EXPECT(strcmp(ev.backend, "configfs-tsm") == 0);
	EXPECT(ev.report_len == snp_report_len &&
	       memcmp(ev.report, snp_report, snp_report_len) == 0);
	EXPECT(ev.certs_len == table_len && memcmp(ev.certs, table, table_len) == 0);
	/* The kernel got exactly our REPORT_DATA; nothing else was written. */
	EXPECT(fx.inblob_len == 64 && memcmp(fx.inblob, snp_rd, 64) == 0);
	EXPECT(fx.privlevel[0] == 0);
	veil_cpu_evidence_clear(&ev);
	EXPECT(ev.report == NULL && ev.certs == NULL);
	expect_removed();
}

TEST(snp_without_auxblob)
{
	veil_cpu_evidence ev;

	setup_snp();
	fx.auxblob = NULL;
	EXPECT_OK(attest("auto", "auto", snp_rd, &ev));
	EXPECT(ev.certs == NULL && ev.certs_len == 0);
	veil_cpu_evidence_clear(&ev);
	expect_removed();
	setup_snp();
	fx.auxblob_len = 0; /* present but empty: no certificates */
	EXPECT_OK(attest("auto", "snp", snp_rd, &ev));
	EXPECT(ev.certs == NULL);
	veil_cpu_evidence_clear(&ev);
	expect_removed();
}

TEST(tdx_quote_through_configfs)
{
	veil_cpu_evidence ev;

	setup_tdx();
	EXPECT_OK(attest("auto", "auto", tdx_rd, &ev));
	EXPECT(strcmp(ev.tee, "tdx") == 0 && strcmp(ev.backend, "configfs-tsm") == 0);
	EXPECT(ev.report_len == tdx_quote_len && memcmp(ev.report, tdx_quote, tdx_quote_len) == 0);
	EXPECT(ev.certs == NULL);
	EXPECT(fx.inblob_len == 64 && memcmp(fx.inblob, tdx_rd, 64) == 0);
	veil_cpu_evidence_clear(&ev);
	expect_removed();
}

/* Under an SVSM the guest asks at its own VMPL: privlevel is written and
 * counted in generation. */
TEST(privlevel_floor)
{
	veil_cpu_evidence ev;

	setup_snp();
	fx.floor = "2\n";
	fx.generation = "2\n";
	EXPECT_OK(attest("configfs-tsm", "snp", snp_rd, &ev));
	EXPECT(strcmp(fx.privlevel, "2\n") == 0);
	veil_cpu_evidence_clear(&ev);
	expect_removed();
	setup_snp();
	fx.floor = "0\n";
	EXPECT_OK(attest("configfs-tsm", "snp", snp_rd, &ev));
	EXPECT(fx.privlevel[0] == 0); /* VMPL 0: nothing to write */
	veil_cpu_evidence_clear(&ev);
	expect_removed();
	setup_snp();
	fx.floor = "7\n";
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_MALFORMED);
	expect_removed();
}

TEST(generation_mismatch)
{
	veil_cpu_evidence ev;
	static const char *const bad[] = {"2\n", "0\n", "12345678901234567890123\n", "x\n", ""};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setup_snp();
		fx.generation = bad[i];
		veil_err err = attest("configfs-tsm", "snp", snp_rd, &ev);
		EXPECT(err == VEIL_E_MISMATCH || err == VEIL_E_MALFORMED);
		EXPECT(ev.report == NULL && ev.certs == NULL);
		expect_removed();
	}
	setup_snp();
	fx.generation = "2\n";
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "another process wrote") != NULL);
	expect_removed();
}

TEST(missing_root)
{
	veil_cpu_evidence ev;

	setup_snp();
	att_rmtree(fx.root);
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "configfs-tsm: ") == veil_err_detail());
	EXPECT(strstr(veil_err_detail(), "not found (kernel older than 6.7") != NULL);
	EXPECT(fx.mkdirs == 0 && fx.rmdirs == 0);
}

TEST(missing_entry_files)
{
	veil_cpu_evidence ev;

	setup_snp();
	fx.outblob = NULL;
	EXPECT(attest("configfs-tsm", "snp", snp_rd, &ev) != VEIL_OK);
	EXPECT(strstr(veil_err_detail(), "outblob") != NULL);
	expect_removed();
	setup_snp();
	fx.provider = NULL;
	EXPECT(attest("configfs-tsm", "snp", snp_rd, &ev) != VEIL_OK);
	EXPECT(strstr(veil_err_detail(), "provider") != NULL);
	expect_removed();
	setup_snp();
	fx.generation = NULL;
	EXPECT(attest("configfs-tsm", "snp", snp_rd, &ev) != VEIL_OK);
	EXPECT(strstr(veil_err_detail(), "generation") != NULL);
	expect_removed();
	setup_snp();
	fx.outblob_len = 0;
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_IO);
	expect_removed();
}

TEST(unknown_provider)
{
	veil_cpu_evidence ev;

	setup_snp();
	fx.provider = "arm_cca_guest\n";
	EXPECT_ERR(attest("configfs-tsm", "auto", snp_rd, &ev), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(), "arm_cca_guest") != NULL);
	expect_removed();
	setup_snp();
	fx.provider = "sev_guest\nx\033[2J";
	EXPECT(attest("configfs-tsm", "auto", snp_rd, &ev) != VEIL_OK);
	EXPECT(strchr(veil_err_detail(), '\033') == NULL); /* quoted text is sanitised */
	expect_removed();
}

TEST(tee_mismatch)
{
	veil_cpu_evidence ev;

	setup_tdx();
	EXPECT_ERR(attest("configfs-tsm", "snp", tdx_rd, &ev), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "snp evidence was asked for") != NULL);
	EXPECT(fx.inblob_len == 0); /* refused before asking for a report */
	expect_removed();
	setup_snp();
	EXPECT_ERR(attest("configfs-tsm", "tdx", snp_rd, &ev), VEIL_E_MISMATCH);
	expect_removed();
}

TEST(outblob_too_large)
{
	veil_cpu_evidence ev;
	uint8_t *big = calloc(1, VEIL_ATTEST_BLOB_MAX + 1);

	setup_snp();
	fx.outblob = big;
	fx.outblob_len = VEIL_ATTEST_BLOB_MAX + 1;
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_LIMIT);
	expect_removed();
	setup_snp();
	fx.auxblob = big;
	fx.auxblob_len = VEIL_ATTEST_BLOB_MAX + 1;
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_LIMIT);
	expect_removed();
	free(big);
}

/* The report does not carry the REPORT_DATA we wrote: another request's. */
TEST(report_data_not_ours)
{
	veil_cpu_evidence ev;
	uint8_t rd[64];

	memcpy(rd, snp_rd, 64);
	rd[63] ^= 1;
	setup_snp();
	EXPECT_ERR(attest("configfs-tsm", "snp", rd, &ev), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "does not carry the REPORT_DATA") != NULL);
	expect_removed();
	setup_snp();
	fx.outblob_len = snp_report_len - 1; /* and one that does not parse */
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_MALFORMED);
	expect_removed();
}

TEST(malformed_auxblob)
{
	veil_cpu_evidence ev;
	uint8_t *t = malloc(table_len);

	memcpy(t, table, table_len);
	t[16 + 24] = 0x01; /* ASK offset now inside the table */
	t[17 + 24] = 0x00;
	setup_snp();
	fx.auxblob = t;
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "certificate table") != NULL);
	EXPECT(ev.certs == NULL);
	expect_removed();
	free(t);
}

TEST(mkdir_and_rmdir_failures)
{
	veil_cpu_evidence ev;

	setup_snp();
	fx.mkdir_errno = EACCES;
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "permission denied") != NULL);
	EXPECT(fx.rmdirs == 0);
	att_rmtree(fx.root);
	setup_snp();
	fx.mkdir_errno = ENXIO;
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "no TSM provider") != NULL);
	att_rmtree(fx.root);
	/* A report we cannot clean up after is an error, not a success. */
	setup_snp();
	fx.rmdir_errno = EBUSY;
	EXPECT_ERR(attest("configfs-tsm", "snp", snp_rd, &ev), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "cannot remove") != NULL);
	EXPECT(ev.report == NULL);
	EXPECT(fx.rmdirs == 1);
	att_rmtree(fx.root);
}

/* Each entry gets a name of its own. */
TEST(entry_names_are_unique)
{
	veil_cpu_evidence ev;
	char first[512];

	setup_snp();
	EXPECT_OK(attest("configfs-tsm", "snp", snp_rd, &ev));
	veil_cpu_evidence_clear(&ev);
	snprintf(first, sizeof first, "%s", fx.made);
	fx.mkdirs = fx.rmdirs = 0;
	EXPECT_OK(attest("configfs-tsm", "snp", snp_rd, &ev));
	veil_cpu_evidence_clear(&ev);
	EXPECT(strcmp(first, fx.made) != 0);
	expect_removed();
}

/* Nothing present: every back end is named, in order, with its reason. */
TEST(auto_names_every_back_end)
{
	veil_cpu_evidence ev;

	setup_snp();
	att_rmtree(fx.root);
	EXPECT_ERR(attest("auto", "auto", snp_rd, &ev), VEIL_E_NOT_FOUND);
	const char *d = veil_err_detail();
	const char *a = strstr(d, "configfs-tsm: ");
	const char *b = strstr(d, "sev-guest: /nonexistent/sev-guest: not found (not an SEV-SNP");
	const char *c = strstr(d, "tdx-guest: /nonexistent/tdx_guest: not found (not a TDX");
	EXPECT(a != NULL && b != NULL && c != NULL && a < b && b < c);
	/* Asked for SNP, the TDX device is not tried. */
	EXPECT_ERR(attest("auto", "snp", snp_rd, &ev), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "tdx-guest") == NULL);
	EXPECT_ERR(attest("auto", "tdx", snp_rd, &ev), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "sev-guest") == NULL);
}

/* A real failure outranks "not here" in the code returned. */
TEST(auto_returns_the_real_failure)
{
	veil_cpu_evidence ev;

	setup_snp();
	fx.generation = "5\n";
	EXPECT_ERR(attest("auto", "auto", snp_rd, &ev), VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "no attester back end worked: configfs-tsm: ") != NULL);
	expect_removed();
}

TEST(usage_errors)
{
	veil_cpu_evidence ev;

	setup_snp();
	EXPECT_ERR(attest("sim", "auto", snp_rd, &ev), VEIL_E_USAGE);
	EXPECT_ERR(attest("configfs-tsm", "sgx", snp_rd, &ev), VEIL_E_USAGE);
	EXPECT_ERR(attest("sev-guest", "tdx", snp_rd, &ev), VEIL_E_USAGE);
	EXPECT_ERR(attest("tdx-guest", "snp", snp_rd, &ev), VEIL_E_USAGE);
	EXPECT_ERR(veil_attest_cpu(&fx_env, NULL, "auto", snp_rd, &ev), VEIL_E_USAGE);
	EXPECT_ERR(veil_attest_cpu(&fx_env, "auto", "auto", NULL, &ev), VEIL_E_USAGE);
	EXPECT_ERR(veil_attest_cpu(&fx_env, "auto", "auto", snp_rd, NULL), VEIL_E_USAGE);
	EXPECT(fx.mkdirs == 0);
	att_rmtree(fx.root);
	veil_cpu_evidence_clear(NULL);
}

int main(void)
{
	att_certs c;

	snp_report = td_read(ATT_SNP_REPORT, &snp_report_len);
	tdx_quote = td_read(ATT_TDX_QUOTE, &tdx_quote_len);
	att_report_data("snp", snp_report, snp_report_len, snp_rd);
	att_report_data("tdx", tdx_quote, tdx_quote_len, tdx_rd);
	att_certs_load(&c);
	table = att_milan_table(&c, 0, &table_len);
	att_certs_free(&c);

	RUN(snp_report_with_certificates);
	RUN(snp_without_auxblob);
	RUN(tdx_quote_through_configfs);
	RUN(privlevel_floor);
	RUN(generation_mismatch);
	RUN(missing_root);
	RUN(missing_entry_files);
	RUN(unknown_provider);
	RUN(tee_mismatch);
	RUN(outblob_too_large);
	RUN(report_data_not_ours);
	RUN(malformed_auxblob);
	RUN(mkdir_and_rmdir_failures);
	RUN(entry_names_are_unique);
	RUN(auto_names_every_back_end);
	RUN(auto_returns_the_real_failure);
	RUN(usage_errors);
	free(snp_report);
	free(tdx_quote);
	free(table);
	return harness_finish("test_attester_tsm");
}

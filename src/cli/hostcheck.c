/*
 * hostcheck.c - `veil host-check`: is this host fit to run a confidential
 * worker VM, and a signed report that says so (docs/host-check.md).
 *
 *   veil host-check [--tee snp|tdx|auto] [--sysfs DIR] [--procfs DIR]
 *                   [--dev DIR] [--nvml-lib PATH] [--min-gpus N]
 *                   [--min-driver VER] [--gpu-cc-by-attestation] [--json]
 *                   [--sign KEYFILE] [--out FILE]
 *   veil host-check --verify-report FILE --pubkey FILE [--json]
 *                   [--max-age SECONDS]
 *
 * The first form runs every check (include/veil/hostcheck.h) and prints a
 * table: status, check, what it looked at, and under a failure what to do;
 * --json prints the report instead, --sign the report as a compact JWS
 * signed with the EC P-256 private JWK in KEYFILE (the party deploying the
 * workload verifies it with the public half), and --out writes that
 * document to FILE (whole, through a temporary file) and shows the table.
 * The second form verifies such a report under the given public key and
 * prints it; it passes only if the signature verifies, the report's own
 * verdict is pass, and (with --max-age) the report is recent.
 *
 * Exit codes (docs/cli.md): 0 every required check passed (the report
 * verified and says pass, and is recent enough); 1 the host fails, or the
 * report does not verify, says fail or is too old; 2 usage, or a key or
 * file that cannot be read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "veil/hostcheck.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "veil/timeutil.h"

#define HC_MAX_AGE_MAX (10LL * 366 * 86400) /* ten years: beyond that is a typo */
#define HC_WRAP        100
#define HC_INDENT      24

typedef struct hc_args {
	veil_hc_options o;
	const char *sign, *out, *verify, *pubkey;
	int64_t max_age; /* -1: not given */
	bool json, check_only_given;
} hc_args;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: veil host-check [--tee snp|tdx|auto] [--sysfs DIR] [--procfs DIR]\n"
		"                       [--dev DIR] [--nvml-lib PATH] [--min-gpus N]\n"
		"                       [--min-driver VER] [--gpu-cc-by-attestation] [--json]\n"
		"                       [--sign KEYFILE] [--out FILE]\n"
		"       veil host-check --verify-report FILE --pubkey FILE [--json]\n"
		"                       [--max-age SECONDS]\n"
		"\n"
		"Checks that this host can run a confidential worker VM: the CPU's TEE\n"
		"(SEV-SNP or TDX) switched on in the BIOS, the firmware and KVM, an IOMMU,\n"
		"the kernel, and the NVIDIA GPUs (confidential-computing mode, driver,\n"
		"vfio). Each check prints what it read and, when it fails, what to do.\n"
		"  --tee T            the TEE to check for (default auto: SEV-SNP on AMD,\n"
		"                     TDX on Intel)\n"
		"  --sysfs, --procfs, --dev DIR   read the host there (default /sys, /proc,\n"
		"                     /dev)\n"
		"  --nvml-lib PATH    the NVML library (default libnvidia-ml.so.1)\n"
		"  --min-gpus N       GPUs in CC mode required (default 0: GPU checks do not\n"
		"                     fail the host)\n"
		"  --min-driver VER   minimum NVIDIA driver (default 570.00, R570)\n"
		"  --gpu-cc-by-attestation   GPUs on vfio-pci are invisible to the host's\n"
		"                     NVML: leave their CC mode, DEVTOOLS and VBIOS to the\n"
		"                     VM's GPU attestation instead of failing them\n"
		"  --json             print the report as JSON\n"
		"  --sign KEYFILE     sign the report (ES256, compact JWS) with the EC P-256\n"
		"                     private JWK in KEYFILE and print that\n"
		"  --out FILE         write the report (JSON, JWS or table) to FILE and show\n"
		"                     the table\n"
		"  --verify-report FILE --pubkey FILE   verify a signed report under the\n"
		"                     public JWK and print it; --max-age S: no older than S\n"
		"                     seconds\n"
		"Exit: 0 every required check passed (for --verify-report: verified, pass,\n"
		"recent), 1 the host fails or the report is refused, 2 usage or input.\n");
}

/* A decimal count in [0, max]. */
static bool parse_count(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (s[0] == '\0')
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

static int parse(int argc, char **argv, hc_args *a)
{
	enum {
		O_TEE = 1,
		O_SYSFS,
		O_PROCFS,
		O_DEV,
		O_NVML,
		O_MIN_GPUS,
		O_MIN_DRIVER,
		O_BY_ATTESTATION,
		O_JSON,
		O_SIGN,
		O_OUT,
		O_VERIFY,
		O_PUBKEY,
		O_MAX_AGE
	};
	static const struct option longs[] = {
	    {"tee", required_argument, NULL, O_TEE},
	    {"sysfs", required_argument, NULL, O_SYSFS},
	    {"procfs", required_argument, NULL, O_PROCFS},
	    {"dev", required_argument, NULL, O_DEV},
	    {"nvml-lib", required_argument, NULL, O_NVML},
	    {"min-gpus", required_argument, NULL, O_MIN_GPUS},
	    {"min-driver", required_argument, NULL, O_MIN_DRIVER},
	    {"gpu-cc-by-attestation", no_argument, NULL, O_BY_ATTESTATION},
	    {"json", no_argument, NULL, O_JSON},
	    {"sign", required_argument, NULL, O_SIGN},
	    {"out", required_argument, NULL, O_OUT},
	    {"verify-report", required_argument, NULL, O_VERIFY},
	    {"pubkey", required_argument, NULL, O_PUBKEY},
	    {"max-age", required_argument, NULL, O_MAX_AGE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int ch;
	int64_t n;

	a->max_age = -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case O_TEE:
			if (strcmp(optarg, "snp") == 0)
				a->o.tee = VEIL_HC_TEE_SNP;
			else if (strcmp(optarg, "tdx") == 0)
				a->o.tee = VEIL_HC_TEE_TDX;
			else if (strcmp(optarg, "auto") == 0)
				a->o.tee = VEIL_HC_TEE_AUTO;
			else {
				fprintf(stderr, "veil host-check: --tee is snp, tdx or auto\n");
				return CLI_EXIT_USAGE;
			}
			a->check_only_given = true;
			break;
		case O_SYSFS:
			a->o.roots.sysfs = optarg;
			a->check_only_given = true;
			break;
		case O_PROCFS:
			a->o.roots.procfs = optarg;
			a->check_only_given = true;
			break;
		case O_DEV:
			a->o.roots.dev = optarg;
			a->check_only_given = true;
			break;
		case O_NVML:
			a->o.roots.nvml_lib = optarg;
			a->check_only_given = true;
			break;
		case O_MIN_GPUS:
			if (!parse_count(optarg, VEIL_HC_MIN_GPUS_MAX, &n)) {
				fprintf(stderr, "veil host-check: --min-gpus is a number 0..%d\n",
					VEIL_HC_MIN_GPUS_MAX);
				return CLI_EXIT_USAGE;
			}
			a->o.min_gpus = (unsigned)n;
			a->check_only_given = true;
			break;
		case O_MIN_DRIVER:
			a->o.min_driver = optarg;
			a->check_only_given = true;
			break;
		case O_BY_ATTESTATION:
			a->o.gpu_cc_by_attestation = true;
			a->check_only_given = true;
			break;
		case O_JSON:
			a->json = true;
			break;
		case O_SIGN:
			a->sign = optarg;
			a->check_only_given = true;
			break;
		case O_OUT:
			a->out = optarg;
			a->check_only_given = true;
			break;
		case O_VERIFY:
			a->verify = optarg;
			break;
		case O_PUBKEY:
			a->pubkey = optarg;
			break;
		case O_MAX_AGE:
			if (!parse_count(optarg, HC_MAX_AGE_MAX, &a->max_age)) {
				fprintf(stderr,
					"veil host-check: --max-age is a number of seconds\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "veil host-check: unexpected argument '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (a->verify != NULL && (a->pubkey == NULL || a->check_only_given)) {
		fprintf(stderr, "veil host-check: --verify-report needs --pubkey, and takes only "
				"--json and --max-age besides\n");
		return CLI_EXIT_USAGE;
	}
	if (a->verify == NULL && (a->pubkey != NULL || a->max_age >= 0)) {
		fprintf(stderr,
			"veil host-check: --pubkey and --max-age go with --verify-report\n");
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* ---- The table ---- */

/* text from column HC_INDENT, words wrapped at HC_WRAP columns. */
static void wrapped(FILE *f, const char *prefix, const char *text)
{
	size_t col = HC_INDENT + strlen(prefix);

	fprintf(f, "%*s%s", HC_INDENT, "", prefix);
	for (const char *p = text; *p != '\0';) {
		size_t w = strcspn(p, " ");

		if (col > HC_INDENT + strlen(prefix) && col + 1 + w > HC_WRAP) {
			fprintf(f, "\n%*s", (int)(HC_INDENT + strlen(prefix)), "");
			col = HC_INDENT + strlen(prefix);
		} else if (col > HC_INDENT + strlen(prefix)) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)w, p);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void table(FILE *f, const veil_hc_report *r)
{
	char when[21];
	size_t failed = 0;

	veil_time_format(r->time, when);
	fprintf(f, "host %s, Linux %s, %s\nTEE checked for: %s; at %s\n\n",
		r->host[0] != '\0' ? r->host : "(unknown)",
		r->kernel[0] != '\0' ? r->kernel : "(unknown)",
		r->cpu[0] != '\0' ? r->cpu : "(unknown CPU)",
		strcmp(r->tee, "snp") == 0   ? "SEV-SNP"
		: strcmp(r->tee, "tdx") == 0 ? "TDX"
					     : "none",
		when);
	fprintf(f, "%-7s %-15s %s\n", "STATUS", "CHECK", "WHAT");
	for (size_t i = 0; i < r->count; i++) {
		const veil_hc_check *c = &r->checks[i];
		const char *st = c->status == VEIL_HC_PASS ? "pass"
				 : c->status == VEIL_HC_NA ? "n/a"
				 : c->required             ? "FAIL"
							   : "fail";

		fprintf(f, "%-7s %-15s %s%s\n", st, c->id, c->title,
			c->status == VEIL_HC_FAIL && !c->required ? " (not required)" : "");
		if (c->evidence[0] != '\0')
			wrapped(f, "", c->evidence);
		if (c->status == VEIL_HC_FAIL && c->remedy[0] != '\0')
			wrapped(f, "fix: ", c->remedy);
		if (c->status == VEIL_HC_FAIL && c->required)
			failed++;
	}
	fputc('\n', f);
	if (r->pass) {
		fprintf(f, "verdict: PASS (every required check passed)\n");
		return;
	}
	fprintf(f, "verdict: FAIL (");
	if (failed == 0)
		fprintf(f, "no SEV-SNP or TDX check passed");
	for (size_t i = 0, k = 0; i < r->count; i++)
		if (r->checks[i].status == VEIL_HC_FAIL && r->checks[i].required)
			fprintf(f, "%s%s", k++ == 0 ? "failed: " : ", ", r->checks[i].id);
	fprintf(f, ")\n");
}

/* The document of the report: the table, its JSON (members in the
 * documented order) or a JWS, as a new NUL-terminated string. */
static veil_err render_table(const veil_hc_report *r, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);

	ENSURE(f != NULL, VEIL_E_NOMEM, "out of memory");
	table(f, r);
	ENSURE(fclose(f) == 0, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

static veil_err render_json(const veil_hc_report *r, char **out, size_t *len)
{
	json_t *j = NULL;
	char *s;

	TRY(veil_hostcheck_json(r, &j));
	s = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	ENSURE(s != NULL, VEIL_E_NOMEM, "out of memory");
	*len = strlen(s);
	*out = realloc(s, *len + 2);
	if (*out == NULL) {
		free(s);
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	(*out)[(*len)++] = '\n';
	(*out)[*len] = '\0';
	return VEIL_OK;
}

static veil_err load_private(const char *path, veil_jwk **key)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	veil_err err;

	TRY(cli_read_file(path, &buf, &len));
	err = veil_jwk_parse_private_bytes(buf, len, key);
	veil_free_secret(buf, len);
	return err;
}

/* A public JWK, or a key pair whose public half is used. */
static veil_err load_public(const char *path, veil_jwk **key)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	veil_err err;

	TRY(cli_read_file(path, &buf, &len));
	err = veil_jwk_parse_public_bytes(buf, len, key);
	if (err != VEIL_OK) {
		char why[VEIL_ERR_DETAIL_MAX];

		/* The message to show is the public parser's. */
		snprintf(why, sizeof why, "%s", veil_err_detail());
		err = veil_jwk_parse_private_bytes(buf, len, key) == VEIL_OK
			  ? VEIL_OK
			  : veil_fail(err, "%s", why);
	}
	veil_free_secret(buf, len);
	return err;
}

static int check_host(const hc_args *a)
{
	veil_hc_report *r = calloc(1, sizeof *r);
	veil_jwk *key = NULL;
	char *doc = NULL, *tab = NULL;
	size_t len = 0, tab_len = 0;
	int rc = CLI_EXIT_USAGE;
	veil_err err;

	if (r == NULL) {
		fprintf(stderr, "veil host-check: out of memory\n");
		return CLI_EXIT_USAGE;
	}
	if (a->sign != NULL && load_private(a->sign, &key) != VEIL_OK) {
		fprintf(stderr, "veil host-check: --sign %s: %s\n", a->sign, veil_err_detail());
		goto out;
	}
	if (veil_hostcheck_run(&a->o, r) != VEIL_OK) {
		fprintf(stderr, "veil host-check: %s\n", veil_err_detail());
		goto out;
	}
	if (a->sign != NULL) {
		err = veil_hostcheck_sign(key, r, &doc);
		if (err == VEIL_OK) {
			char *grown;

			len = strlen(doc);
			grown = realloc(doc, len + 2);
			if (grown != NULL) {
				doc = grown;
				doc[len++] = '\n';
				doc[len] = '\0';
			} else {
				err = veil_fail(VEIL_E_NOMEM, "out of memory");
			}
		}
	} else if (a->json) {
		err = render_json(r, &doc, &len);
	} else {
		err = render_table(r, &doc, &len);
	}
	if (err != VEIL_OK) {
		fprintf(stderr, "veil host-check: %s%s\n", a->sign != NULL ? "--sign: " : "",
			veil_err_detail());
		goto out;
	}
	if (a->out != NULL) {
		if (cli_write_file(a->out, doc, len) != VEIL_OK) {
			fprintf(stderr, "veil host-check: --out %s: %s\n", a->out,
				veil_err_detail());
			goto out;
		}
		if (render_table(r, &tab, &tab_len) != VEIL_OK) {
			fprintf(stderr, "veil host-check: %s\n", veil_err_detail());
			goto out;
		}
		fwrite(tab, 1, tab_len, stdout);
		printf("report written to %s\n", a->out);
	} else {
		fwrite(doc, 1, len, stdout);
	}
	rc = r->pass ? CLI_EXIT_OK : CLI_EXIT_FAILED;
out:
	free(doc);
	free(tab);
	veil_jwk_free(key);
	free(r);
	return rc;
}

static int verify_report(const hc_args *a)
{
	veil_hc_report *r = calloc(1, sizeof *r);
	char kid[VEIL_JWK_THUMBPRINT_B64_LEN + 1], *doc = NULL;
	veil_jwk *key = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, doc_len = 0;
	int64_t now = veil_time_now();
	int rc = CLI_EXIT_USAGE;
	bool fresh = true;

	if (r == NULL) {
		fprintf(stderr, "veil host-check: out of memory\n");
		return CLI_EXIT_USAGE;
	}
	if (load_public(a->pubkey, &key) != VEIL_OK ||
	    veil_jwk_thumbprint_b64(key, kid) != VEIL_OK) {
		fprintf(stderr, "veil host-check: --pubkey %s: %s\n", a->pubkey, veil_err_detail());
		goto out;
	}
	if (cli_read_file(a->verify, &buf, &len) != VEIL_OK) {
		fprintf(stderr, "veil host-check: --verify-report %s: %s\n", a->verify,
			veil_err_detail());
		goto out;
	}
	/* The JWS as written by --sign --out, with its line break. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	if (veil_hostcheck_verify(key, (const char *)buf, len, r) != VEIL_OK) {
		fprintf(stderr, "veil host-check: %s: not verified under key %s: %s\n", a->verify,
			kid, veil_err_detail());
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	if (a->json ? render_json(r, &doc, &doc_len) != VEIL_OK
		    : render_table(r, &doc, &doc_len) != VEIL_OK) {
		fprintf(stderr, "veil host-check: %s\n", veil_err_detail());
		goto out;
	}
	if (!a->json)
		printf("signed report %s: signature verified (ES256, key %s)\n", a->verify, kid);
	fwrite(doc, 1, doc_len, stdout);
	if (r->time > now + VEIL_HC_CLOCK_SKEW_S) {
		fprintf(stderr, "veil host-check: the report's time is %lld s in the future\n",
			(long long)(r->time - now));
		fresh = false;
	} else if (a->max_age >= 0 && now - r->time > a->max_age) {
		fprintf(stderr, "veil host-check: the report is %lld s old, over --max-age %lld\n",
			(long long)(now - r->time), (long long)a->max_age);
		fresh = false;
	}
	if (!r->pass)
		fprintf(stderr, "veil host-check: the report's verdict is fail\n");
	rc = r->pass && fresh ? CLI_EXIT_OK : CLI_EXIT_FAILED;
out:
	free(doc);
	free(buf);
	veil_jwk_free(key);
	free(r);
	return rc;
}

int cmd_host_check(int argc, char **argv)
{
	hc_args a;
	int rc;

	memset(&a, 0, sizeof a);
	rc = parse(argc, argv, &a);
	if (rc != CLI_EXIT_OK)
		return rc < 0 ? CLI_EXIT_OK : rc;
	veil_err_clear();
	return a.verify != NULL ? verify_report(&a) : check_host(&a);
}

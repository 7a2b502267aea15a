/*
 * launch.c - `veil launch`: the worker's confidential VM started with
 * QEMU, only on a host that passes the gate (docs/launch.md).
 *
 * The spec is read (exit 2 on any error, naming the member), the QEMU
 * argv is built, and the gate is run: the spec's files, then a fresh host
 * check or a signed report, then the GPUs' vfio binding. Every check is
 * printed with its evidence and, on failure, what to do, followed by what
 * this command cannot check on this host. On a pass the argv is exec'd
 * (execvp: no shell, no system()); on a failure nothing is started.
 * --dry-run prints the same checks and the command and starts nothing.
 *
 * Exit codes: 0 launched (QEMU's own status from then on, since exec
 * replaces this process) or, with --dry-run, the host passes; 1 the gate
 * refuses (with --dry-run: would refuse), or QEMU could not be exec'd;
 * 2 usage, or a spec, report or key that cannot be read or parsed, or
 * (without --dry-run) a file of the spec that is missing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cli/cli.h"
#include "veil/collateral.h"
#include "veil/launch.h"
#include "veil/limits.h"
#include "veil/secret.h"

typedef struct launch_opts {
	const char *spec, *report, *pubkey, *qemu;
	int64_t max_age;
	bool dry_run, json, cc_by_attestation;
	veil_hc_roots roots;
} launch_opts;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: veil launch --spec FILE [--dry-run] [--json]\n"
		"                   [--report FILE --pubkey FILE [--max-age SECONDS]]\n"
		"                   [--sysfs DIR] [--procfs DIR] [--dev DIR] [--nvml-lib PATH]\n"
		"                   [--gpu-cc-by-attestation] [--qemu PATH]\n"
		"\n"
		"Starts the worker's confidential VM (SEV-SNP or TDX, GPUs passed through with\n"
		"vfio-pci) with QEMU, as the launch spec says, only when the host passes: a\n"
		"fresh host check, or the signed report given with --report (verified under\n"
		"--pubkey, at most --max-age seconds old, default 3600), and every GPU bound\n"
		"to vfio-pci. QEMU is exec'd directly, never through a shell.\n"
		"  --dry-run        print the checks and the command; start nothing\n"
		"  --json           the checks and the command as one JSON object\n"
		"  --qemu PATH      the QEMU program (overrides the spec's \"qemu\")\n"
		"  --gpu-cc-by-attestation\n"
		"                   GPUs on vfio-pci are invisible to the host's NVML: accept\n"
		"                   their CC mode left to the VM's GPU attestation (as\n"
		"                   veil host-check --gpu-cc-by-attestation)\n"
		"  --sysfs, --procfs, --dev, --nvml-lib\n"
		"                   read the host from these roots (default /sys, /proc, /dev,\n"
		"                   libnvidia-ml.so.1)\n"
		"Exit: 0 launched (or, with --dry-run, would launch), 1 refused (or would\n"
		"refuse), 2 usage or unreadable input.\n");
}

static int parse(int argc, char **argv, launch_opts *o)
{
	static const struct option longs[] = {
	    {"spec", required_argument, NULL, 's'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"report", required_argument, NULL, 'r'},
	    {"pubkey", required_argument, NULL, 'k'},
	    {"max-age", required_argument, NULL, 'a'},
	    {"sysfs", required_argument, NULL, 'S'},
	    {"procfs", required_argument, NULL, 'P'},
	    {"dev", required_argument, NULL, 'D'},
	    {"nvml-lib", required_argument, NULL, 'N'},
	    {"gpu-cc-by-attestation", no_argument, NULL, 'G'},
	    {"qemu", required_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *max_age = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->spec = optarg;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'r':
			o->report = optarg;
			break;
		case 'k':
			o->pubkey = optarg;
			break;
		case 'a':
			max_age = optarg;
			break;
		case 'S':
			o->roots.sysfs = optarg;
			break;
		case 'P':
			o->roots.procfs = optarg;
			break;
		case 'D':
			o->roots.dev = optarg;
			break;
		case 'N':
			o->roots.nvml_lib = optarg;
			break;
		case 'q':
			o->qemu = optarg;
			break;
		case 'G':
			o->cc_by_attestation = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || o->spec == NULL) {
		fprintf(stderr, "veil launch: --spec is required (and nothing else on the line)\n");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if ((o->report == NULL) != (o->pubkey == NULL)) {
		fprintf(stderr, "veil launch: --report and --pubkey go together\n");
		return CLI_EXIT_USAGE;
	}
	if (max_age != NULL && o->report == NULL) {
		fprintf(stderr, "veil launch: --max-age is for a signed --report\n");
		return CLI_EXIT_USAGE;
	}
	o->max_age = VEIL_LAUNCH_MAX_AGE_DEFAULT;
	if (max_age != NULL) {
		char *end;
		long long v = strtoll(max_age, &end, 10); /* checked: whole string, range */
		if (end == max_age || *end != '\0' || v < 1 || v > VEIL_LAUNCH_MAX_AGE_MAX) {
			fprintf(stderr, "veil launch: --max-age is 1..%d seconds\n",
				VEIL_LAUNCH_MAX_AGE_MAX);
			return CLI_EXIT_USAGE;
		}
		o->max_age = v;
	}
	return CLI_EXIT_OK;
}

/* The spec, with relative paths joined to its folder. */
static int read_spec(const char *path, veil_launch_spec *s)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char *dir;
	const char *slash = strrchr(path, '/');
	veil_err err;

	if (veil_file_read(path, VEIL_LAUNCH_SPEC_MAX, &buf, &len) != VEIL_OK) {
		fprintf(stderr, "veil launch: --spec %s: %s\n", path, veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		free(buf);
		fprintf(stderr, "veil launch: out of memory\n");
		return CLI_EXIT_USAGE;
	}
	err = veil_launch_spec_parse(buf, len, dir, s);
	free(buf);
	free(dir);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil launch: %s: %s\n", path, veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* A public key as a JWK or as PEM (SubjectPublicKeyInfo); a key pair's
 * JWK gives its public half, as for veil host-check --verify-report. */
static veil_err read_pubkey(const char *path, veil_jwk **out)
{
	uint8_t *buf = NULL;
	size_t len = 0, i = 0;
	EVP_PKEY *pkey;
	BIO *bio;
	veil_err err;

	TRY(veil_file_read(path, VEIL_JWK_MAX_BYTES, &buf, &len));
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i < len && buf[i] == '{') {
		err = veil_jwk_parse_public_bytes(buf, len, out);
		if (err != VEIL_OK && veil_jwk_parse_private_bytes(buf, len, out) == VEIL_OK)
			err = VEIL_OK;
		veil_free_secret(buf, len);
		return err;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	veil_free_secret(buf, len);
	ENSURE(pkey != NULL, VEIL_E_MALFORMED,
	       "neither a public JWK nor a PEM public key (-----BEGIN PUBLIC KEY-----)");
	err = veil_jwk_from_pkey(pkey, out);
	EVP_PKEY_free(pkey);
	return err;
}

/* The report file as written by `veil host-check --sign`: one compact
 * JWS, surrounding white space ignored. */
static veil_err read_report(const char *path, char **jws, size_t *len)
{
	uint8_t *buf = NULL;
	size_t n = 0, start = 0;

	TRY(veil_file_read(path, VEIL_LAUNCH_REPORT_MAX, &buf, &n));
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	while (start < n && (buf[start] == ' ' || buf[start] == '\n'))
		start++;
	/* A NUL inside would end the copy below short of len. */
	if (memchr(buf + start, '\0', n - start) != NULL) {
		free(buf);
		return veil_fail(VEIL_E_MALFORMED, "holds a NUL byte: not a compact JWS");
	}
	*jws = strndup((const char *)buf + start, n - start);
	free(buf);
	ENSURE(*jws != NULL, VEIL_E_NOMEM, "out of memory");
	*len = n - start;
	return VEIL_OK;
}

/* What `veil launch` does not check on this host, said plainly
 * (docs/launch.md "What is not checked"). */
static size_t not_checked(const launch_opts *o, const veil_launch_spec *s, const char *out[10])
{
	size_t n = 0;
	static char qgs[VEIL_LAUNCH_PATH_MAX + 96];

	if (s->tee == VEIL_HC_TEE_SNP) {
		out[n++] = "the QEMU version and build: SEV-SNP needs QEMU 9.1 or later with KVM "
			   "and SEV support";
		out[n++] = "that the firmware is an SEV-SNP OVMF whose hash table takes "
			   "kernel-hashes (OvmfPkg/AmdSev build)";
		out[n++] = "that cbitpos and reduced-phys-bits match this CPU (CPUID 0x8000001F)";
	} else {
		out[n++] = "the QEMU version and build: TDX needs QEMU 10.1 or later with KVM "
			   "and TDX support";
		out[n++] = "that the firmware is a TDVF (OVMF built for TDX)";
		if (s->tdx.qgs == VEIL_LAUNCH_QGS_VSOCK)
			snprintf(qgs, sizeof qgs,
				 "that a quote generation service listens at vsock:%" PRIu32
				 ":%" PRIu32,
				 s->tdx.qgs_cid, s->tdx.qgs_port);
		else if (s->tdx.qgs == VEIL_LAUNCH_QGS_UNIX)
			snprintf(qgs, sizeof qgs,
				 "that a quote generation service listens at unix:%s",
				 s->tdx.qgs_path);
		else
			snprintf(qgs, sizeof qgs,
				 "nothing: \"quote_generation\" is none, so the TD cannot get "
				 "quotes and the worker cannot attest");
		out[n++] = qgs;
	}
	if (s->ngpus > 0) {
		if (o->cc_by_attestation)
			out[n++] =
			    "the GPUs' model, CC mode, DEVTOOLS mode and VBIOS: left to the "
			    "VM's GPU attestation (--gpu-cc-by-attestation); the key broker's "
			    "and the gateway's policies must require CC mode";
		out[n++] = "that QEMU can pass GPUs to a guest_memfd guest (upstream: 10.1 or "
			   "later)";
		out[n++] = "that no other device in a GPU's IOMMU group is bound to another driver";
	}
	out[n++] = "the launch measurement: the relying party's attestation policy decides it";
	return n;
}

static void print_check(const veil_hc_check *c)
{
	const char *status = c->status == VEIL_HC_PASS ? "pass"
			     : c->status == VEIL_HC_NA ? "n/a"
			     : c->required             ? "FAIL"
						       : "warn";
	printf("  %-4s  %-32s %s\n", status, c->id, c->evidence);
	if (c->status == VEIL_HC_FAIL && c->remedy[0] != '\0')
		printf("        %-32s remedy: %s\n", "", c->remedy);
}

static void print_text(const launch_opts *o, const veil_launch_spec *s, const veil_launch_gate *g,
		       const char *command, bool pass)
{
	const char *nc[10];
	size_t nnc = not_checked(o, s, nc), failed = 0;

	printf("veil launch: %s (%s)%s\n", s->name, veil_launch_tee_name(s->tee),
	       o->dry_run ? ", dry run" : "");
	if (g->host != NULL) {
		printf("\nhost %s (%s), %s:\n", g->host->host, g->host->tee,
		       g->from_signed ? "signed report" : "checked now");
		for (size_t i = 0; i < g->host->count && i < VEIL_HC_CHECKS_MAX; i++)
			print_check(&g->host->checks[i]);
	}
	printf("\nlaunch checks:\n");
	for (size_t i = 0; i < g->count; i++) {
		print_check(&g->checks[i]);
		failed += g->checks[i].required && g->checks[i].status == VEIL_HC_FAIL;
	}
	if (g->overflow)
		printf("  FAIL  %-32s more checks than could be kept\n", "launch.checks");
	printf("\nnot checked here:\n");
	for (size_t i = 0; i < nnc; i++)
		printf("  - %s\n", nc[i]);
	printf("\ncommand:\n%s\n\n", command);
	if (pass)
		printf("verdict: %s\n", o->dry_run ? "would launch" : "launching");
	else
		printf("verdict: %s: %zu launch checks failed\n",
		       o->dry_run ? "would refuse" : "refused", failed);
}

static json_t *check_json(const veil_hc_check *c)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "id", c->id, "title", c->title, "status",
			 veil_hc_status_name(c->status), "required", c->required, "evidence",
			 c->evidence, "remedy", c->remedy);
}

static int print_json(const launch_opts *o, const veil_launch_spec *s, const veil_launch_gate *g,
		      const veil_launch_argv *a, const char *line, bool pass)
{
	json_t *doc, *argv = json_array(), *checks = json_array(), *nc = json_array(), *host;
	const char *ncs[10];
	size_t nnc = not_checked(o, s, ncs);

	for (size_t i = 0; i < a->n; i++)
		json_array_append_new(argv, json_string(a->v[i]));
	for (size_t i = 0; i < g->count; i++)
		json_array_append_new(checks, check_json(&g->checks[i]));
	for (size_t i = 0; i < nnc; i++)
		json_array_append_new(nc, json_string(ncs[i]));
	host = json_null();
	if (g->host != NULL && veil_hostcheck_json(g->host, &host) != VEIL_OK) {
		fprintf(stderr, "veil launch: the host report: %s\n", veil_err_detail());
		host = json_null();
	}
	doc = json_pack("{s:s, s:s, s:b, s:s, s:o, s:s, s:o, s:b, s:o, s:o}", "name", s->name,
			"tee", veil_launch_tee_name(s->tee), "dry_run", o->dry_run, "verdict",
			pass ? "launch" : "refuse", "argv", argv, "command", line, "host", host,
			"host_from_signed_report", g->from_signed, "checks", checks, "not_checked",
			nc);
	if (doc == NULL) {
		fprintf(stderr, "veil launch: out of memory\n");
		return CLI_EXIT_USAGE;
	}
	cli_print_json(doc);
	json_decref(doc);
	return CLI_EXIT_OK;
}

/* Runs the gate; CLI_EXIT_OK with *pass set, or an exit code. */
static int run_gate(const launch_opts *o, const veil_launch_spec *s, veil_launch_gate *g,
		    bool *pass)
{
	veil_launch_gate_options go = {
	    .roots = o->roots,
	    .max_age = o->max_age,
	    .gpu_cc_by_attestation = o->cc_by_attestation,
	};
	veil_jwk *pub = NULL;
	char *jws = NULL;
	int rc = CLI_EXIT_OK;

	veil_launch_check_files(s, o->qemu, g);
	if (!o->dry_run && !veil_launch_gate_pass(g)) {
		for (size_t i = 0; i < g->count; i++)
			if (g->checks[i].status == VEIL_HC_FAIL)
				fprintf(stderr, "veil launch: %s: %s\n", g->checks[i].id,
					g->checks[i].evidence);
		return CLI_EXIT_USAGE;
	}
	if (o->report != NULL) {
		if (read_pubkey(o->pubkey, &pub) != VEIL_OK) {
			fprintf(stderr, "veil launch: --pubkey %s: %s\n", o->pubkey,
				veil_err_detail());
			return CLI_EXIT_USAGE;
		}
		if (read_report(o->report, &jws, &go.report_len) != VEIL_OK) {
			fprintf(stderr, "veil launch: --report %s: %s\n", o->report,
				veil_err_detail());
			veil_jwk_free(pub);
			return CLI_EXIT_USAGE;
		}
		go.report = jws;
		go.pubkey = pub;
	}
	if (veil_launch_gate_run(s, &go, g) != VEIL_OK) {
		fprintf(stderr, "veil launch: the gate could not run: %s\n", veil_err_detail());
		rc = CLI_EXIT_USAGE;
	}
	*pass = rc == CLI_EXIT_OK && veil_launch_gate_pass(g);
	free(jws);
	veil_jwk_free(pub);
	return rc;
}

int cmd_launch(int argc, char **argv)
{
	launch_opts o = {0};
	veil_launch_spec spec;
	veil_launch_argv a = {0};
	veil_launch_gate *g = NULL;
	char *line = NULL, *shown = NULL;
	bool pass = false;
	int rc;

	veil_err_clear();
	rc = parse(argc, argv, &o);
	if (rc != CLI_EXIT_OK)
		return rc < 0 ? CLI_EXIT_OK : rc;
	rc = read_spec(o.spec, &spec);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = CLI_EXIT_USAGE;
	/* Zeroed: the exit path clears the gate even when it never ran. */
	g = calloc(1, sizeof *g);
	if (g == NULL || veil_launch_argv_build(&spec, o.qemu, &a) != VEIL_OK ||
	    veil_launch_argv_quote(&a, false, &line) != VEIL_OK ||
	    veil_launch_argv_quote(&a, true, &shown) != VEIL_OK) {
		fprintf(stderr, "veil launch: the command line: %s\n", veil_err_detail());
		goto out;
	}
	veil_launch_gate_init(g);
	rc = run_gate(&o, &spec, g, &pass);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (o.json)
		rc = print_json(&o, &spec, g, &a, line, pass);
	else
		print_text(&o, &spec, g, shown, pass);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (!pass) {
		if (!o.dry_run)
			fprintf(stderr,
				"veil launch: refusing to launch %s: the gate failed (see "
				"the FAIL lines)\n",
				spec.name);
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	if (o.dry_run) {
		rc = CLI_EXIT_OK;
		goto out;
	}
	/* The gate passed: QEMU replaces this process. */
	fflush(stdout);
	fflush(stderr);
	execvp(a.v[0], a.v);
	fprintf(stderr, "veil launch: cannot run %s: %s\n", a.v[0], strerror(errno));
	rc = CLI_EXIT_FAILED;
out:
	if (g != NULL)
		veil_launch_gate_clear(g);
	free(g);
	free(line);
	free(shown);
	veil_launch_argv_free(&a);
	veil_launch_spec_clear(&spec);
	return rc;
}

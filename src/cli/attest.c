/*
 * attest.c - `veil attest`: produce evidence on the machine it runs on.
 *
 *   veil attest [--tee auto|snp|tdx|sim] [--backend NAME] [--sim DIR]
 *               [--workload FILE]... [--report-data HEX | --runtime-data FILE]
 *               [--gpu] [--out FILE]
 *
 * With --report-data the output is the CPU report alone (raw bytes). With
 * --runtime-data it is an evidence bundle (docs/evidence-bundle.md): the
 * runtime data object, its SHA-384 in REPORT_DATA, and with --gpu every
 * GPU's report for the device nonce derived from it, carried inside the
 * runtime data as "additional-evidence" so the CPU report covers them.
 *
 * The evidence itself is made by the guest library (include/veil/guest.h,
 * docs/guest.md), which veil-worker uses too. `auto` picks among the
 * hardware back ends only (include/veil/attester.h); the simulated TEE is
 * used only when asked for with --tee sim, never as a fallback. Output goes to --out through a temporary file renamed into
 * place, so a failed run leaves no partial evidence behind.
 *
 * Exit 0 on success, 1 when no back end could produce evidence (each one
 * tried is named with the reason), 2 on usage errors or bad input.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "veil/attester.h"
#include "veil/codec.h"
#include "veil/guest.h"
#include "veil/json.h"
#include "veil/limits.h"

typedef struct attest_args {
	const char *tee, *backend, *sim_dir, *rd_hex, *runtime_path, *out_path;
	const char *workload[VEIL_SIM_WORKLOAD_FILES_MAX];
	size_t nworkload;
	bool gpu;
	veil_attest_env env;
} attest_args;

static void attest_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: veil attest [options] (--report-data HEX | --runtime-data FILE)\n"
	    "\n"
	    "Produces attestation evidence on this machine: an SEV-SNP report or TDX quote\n"
	    "(or a sim report), and with --gpu the NVIDIA GPU reports, bound together.\n"
	    "\n"
	    "options:\n"
	    "  --tee auto|snp|tdx|sim  which TEE (default auto: hardware only, never sim)\n"
	    "  --backend NAME         auto, configfs-tsm, sev-guest or tdx-guest (default auto)\n"
	    "  --sim DIR              the sim platform (default: $VEIL_SIM_DIR)\n"
	    "  --workload FILE        sim: a file measured into the launch measurement;\n"
	    "                         repeat for binary then configuration (default: the\n"
	    "                         running veil binary)\n"
	    "  --report-data HEX      REPORT_DATA (up to 64 bytes, zero-padded); prints the\n"
	    "                         CPU report alone, as raw bytes\n"
	    "  --runtime-data FILE    a JSON object (e.g. {\"nonce\": ..., \"tee-pubkey\": ...})\n"
	    "                         whose SHA-384(JCS) becomes REPORT_DATA; prints a bundle\n"
	    "  --gpu                  also attest every GPU (needs --runtime-data with nonce\n"
	    "                         and tee-pubkey, from which the GPU nonce is derived)\n"
	    "  --out FILE             write there instead of standard output\n"
	    "  --tsm-root DIR, --sev-guest DEV, --tdx-guest DEV, --nvml LIB\n"
	    "                         other device paths (unusual systems and tests)\n"
	    "\n"
	    "exit status: 0 evidence written, 1 no back end could attest, 2 usage error\n");
}

static int parse_args(int argc, char **argv, attest_args *a)
{
	enum {
		O_TEE = 256,
		O_BACKEND,
		O_SIM,
		O_WORK,
		O_RD,
		O_RT,
		O_GPU,
		O_OUT,
		O_TSM,
		O_SEV,
		O_TDX,
		O_NVML
	};
	static const struct option opts[] = {
	    {"tee", required_argument, NULL, O_TEE},
	    {"backend", required_argument, NULL, O_BACKEND},
	    {"sim", required_argument, NULL, O_SIM},
	    {"workload", required_argument, NULL, O_WORK},
	    {"report-data", required_argument, NULL, O_RD},
	    {"runtime-data", required_argument, NULL, O_RT},
	    {"gpu", no_argument, NULL, O_GPU},
	    {"out", required_argument, NULL, O_OUT},
	    {"tsm-root", required_argument, NULL, O_TSM},
	    {"sev-guest", required_argument, NULL, O_SEV},
	    {"tdx-guest", required_argument, NULL, O_TDX},
	    {"nvml", required_argument, NULL, O_NVML},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	a->tee = "auto";
	a->backend = "auto";
	a->sim_dir = getenv("VEIL_SIM_DIR");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_TEE:
			a->tee = optarg;
			break;
		case O_BACKEND:
			a->backend = optarg;
			break;
		case O_SIM:
			a->sim_dir = optarg;
			break;
		case O_RD:
			a->rd_hex = optarg;
			break;
		case O_RT:
			a->runtime_path = optarg;
			break;
		case O_GPU:
			a->gpu = true;
			break;
		case O_OUT:
			a->out_path = optarg;
			break;
		case O_TSM:
			a->env.tsm_root = optarg;
			break;
		case O_SEV:
			a->env.sev_guest_dev = optarg;
			break;
		case O_TDX:
			a->env.tdx_guest_dev = optarg;
			break;
		case O_NVML:
			a->env.nvml_library = optarg;
			break;
		case O_WORK:
			if (a->nworkload == VEIL_SIM_WORKLOAD_FILES_MAX) {
				fprintf(stderr, "veil attest: at most %d --workload files\n",
					VEIL_SIM_WORKLOAD_FILES_MAX);
				return CLI_EXIT_USAGE;
			}
			a->workload[a->nworkload++] = optarg;
			break;
		case 'h':
			attest_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "veil attest: unknown or incomplete option '%s'\n\n",
				argv[optind - 1]);
			attest_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "veil attest: unexpected argument '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if ((a->rd_hex == NULL) == (a->runtime_path == NULL)) {
		fprintf(stderr, "veil attest: give exactly one of --report-data and --runtime-data "
				"(evidence without a challenge proves nothing about freshness)\n");
		return CLI_EXIT_USAGE;
	}
	if (a->gpu && a->runtime_path == NULL) {
		fprintf(stderr,
			"veil attest: --gpu needs --runtime-data: the GPU nonce and the CPU "
			"report are bound through it\n");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(a->tee, "auto") != 0 && strcmp(a->tee, "snp") != 0 &&
	    strcmp(a->tee, "tdx") != 0 && strcmp(a->tee, "sim") != 0) {
		fprintf(stderr, "veil attest: --tee must be auto, snp, tdx or sim\n");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(a->tee, "sim") == 0 && (a->sim_dir == NULL || a->sim_dir[0] == '\0')) {
		fprintf(stderr, "veil attest: --tee sim needs --sim DIR or VEIL_SIM_DIR (make one "
				"with `veil sim init DIR`)\n");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(a->tee, "sim") == 0 &&
	    (strcmp(a->backend, "auto") != 0 || a->env.tsm_root != NULL ||
	     a->env.sev_guest_dev != NULL || a->env.tdx_guest_dev != NULL ||
	     a->env.nvml_library != NULL)) {
		fprintf(stderr, "veil attest: --backend and the device paths are for hardware; "
				"--tee sim uses none of them\n");
		return CLI_EXIT_USAGE;
	}
	if (a->nworkload > 0 && strcmp(a->tee, "sim") != 0) {
		fprintf(stderr, "veil attest: --workload applies to --tee sim only (hardware "
				"measures the launch itself)\n");
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/* Writes the output: to --out through a temporary file and rename, or to
 * standard output (never binary to a terminal). */
static veil_err write_output(const char *path, const uint8_t *p, size_t n, bool binary)
{
	if (path == NULL) {
		ENSURE(!binary || !isatty(STDOUT_FILENO), VEIL_E_USAGE,
		       "refusing to write a binary report to a terminal; use --out FILE or a pipe");
		ENSURE(fwrite(p, 1, n, stdout) == n && fflush(stdout) == 0, VEIL_E_IO,
		       "cannot write to standard output: %s", strerror(errno));
		return VEIL_OK;
	}
	return cli_write_file(path, p, n);
}

static veil_err read_runtime_data(const char *path, json_t **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	veil_err err;

	TRY(cli_read_file(path, &buf, &len));
	err = veil_json_parse(buf, len, out);
	free(buf);
	if (err != VEIL_OK)
		return veil_fail_context(err, "--runtime-data %s", path);
	/* An "additional-evidence" string is the KBS protocol's form (the
	 * caller already serialised the device evidence and binds the string
	 * as it is); an array is what veil attest --gpu writes itself. */
	if (!json_is_object(*out) ||
	    (json_object_get(*out, "additional-evidence") != NULL &&
	     !json_is_string(json_object_get(*out, "additional-evidence")))) {
		json_decref(*out);
		*out = NULL;
		return veil_fail(VEIL_E_MALFORMED,
				 "--runtime-data %s must be a JSON object whose "
				 "\"additional-evidence\", if any, is a string (veil attest --gpu "
				 "adds the GPU evidence itself)",
				 path);
	}
	return VEIL_OK;
}

static int attest_fail(veil_err err, const char *what)
{
	fprintf(stderr, "veil attest: %s%s\n", what, veil_err_detail());
	return err == VEIL_E_USAGE || err == VEIL_E_MALFORMED ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
}

/* The guest (include/veil/guest.h) these options describe. */
static veil_err guest_open(const attest_args *a, veil_guest **g)
{
	bool sim = strcmp(a->tee, "sim") == 0;
	veil_guest_config c = {
	    .tee = a->tee,
	    .backend = a->backend,
	    .sim_dir = sim ? a->sim_dir : NULL,
	    .workload = a->workload,
	    .n_workload = a->nworkload,
	    .gpus = !a->gpu ? "none"
		    : sim   ? "sim"
			    : "nvml",
	    .env = &a->env,
	};

	return veil_guest_open(&c, g);
}

int cmd_attest(int argc, char **argv)
{
	attest_args a = {0};
	veil_guest *g = NULL;
	json_t *rt = NULL;
	veil_cpu_evidence ev = {0};
	uint8_t rd[64] = {0}, *out = NULL;
	size_t n = 0, out_len = 0;
	veil_err err;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	if ((err = guest_open(&a, &g)) != VEIL_OK) {
		rc = attest_fail(err, "");
		goto out;
	}
	if (a.rd_hex != NULL &&
	    (a.rd_hex[0] == '\0' ||
	     veil_hex_decode(a.rd_hex, strlen(a.rd_hex), rd, sizeof rd, &n) != VEIL_OK)) {
		fprintf(stderr, "veil attest: --report-data must be 1..64 bytes of hex\n");
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (a.runtime_path != NULL) {
		if (read_runtime_data(a.runtime_path, &rt) != VEIL_OK) {
			rc = attest_fail(VEIL_E_USAGE, "");
			goto out;
		}
		/* GPU reports for the device nonce, the runtime data with
		 * them, and the CPU report over it all (guest.h). */
		err = veil_guest_bundle(g, rt, &out, &out_len);
		if (err == VEIL_OK)
			err = write_output(a.out_path, out, out_len, false);
	} else {
		err = veil_guest_report(g, rd, &ev);
		if (err == VEIL_OK && ev.certs != NULL)
			fprintf(stderr, "veil attest: note: the platform's certificate table is "
					"not written with a bare report; use --runtime-data for a "
					"bundle\n");
		if (err == VEIL_OK)
			err = write_output(a.out_path, ev.report, ev.report_len, true);
	}
	rc = err == VEIL_OK ? CLI_EXIT_OK : attest_fail(err, "");
out:
	free(out);
	veil_cpu_evidence_clear(&ev);
	json_decref(rt);
	veil_guest_free(g);
	return rc;
}

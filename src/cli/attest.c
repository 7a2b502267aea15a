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
 * `auto` picks among the hardware back ends only (include/veil/attester.h);
 * the simulated TEE is used only when asked for with --tee sim, never as a
 * fallback. Output goes to --out through a temporary file renamed into
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
#include "veil/bundle.h"
#include "veil/codec.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/sim.h"
#include "veil/timeutil.h"

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

/* Base64 of bytes as a new JSON string. */
static json_t *b64_string(const uint8_t *p, size_t n)
{
	char *s = malloc(veil_base64_encoded_len(n) + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	veil_base64_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

static veil_err add_device(json_t *list, const char *type, const uint8_t *report, size_t len,
			   const char *chain, bool cc_on, const char *env, bool devtools,
			   bool ready)
{
	json_t *dev = json_pack("{s:s, s:o, s:o, s:{s:s, s:s, s:b, s:b}}", "type", type, "evidence",
				b64_string(report, len), "certificate",
				b64_string((const uint8_t *)chain, strlen(chain)), "state",
				"cc_mode", cc_on ? "on" : "off", "cc_environment", env, "devtools",
				devtools, "ready", ready);

	ENSURE(dev != NULL && json_array_append_new(list, dev) == 0, VEIL_E_NOMEM, "out of memory");
	return VEIL_OK;
}

static veil_err sim_gpus(const veil_sim *s, const uint8_t nonce[32], json_t *list)
{
	for (unsigned i = 0; i < veil_sim_gpu_count(s); i++) {
		uint8_t *report = NULL;
		size_t len = 0;
		char *chain = NULL;
		veil_sim_gpu_state st;
		veil_err err = veil_sim_gpu_attest(s, i, nonce, &report, &len, &chain, &st);
		if (err == VEIL_OK)
			err = add_device(list, "sim-gpu", report, len, chain, st.cc_on, "sim",
					 st.devtools, st.ready);
		free(report);
		free(chain);
		TRY(err);
	}
	ENSURE(veil_sim_gpu_count(s) > 0, VEIL_E_NOT_FOUND,
	       "sim: the platform has no GPUs (veil sim init --gpus N)");
	return VEIL_OK;
}

static veil_err hardware_gpus(const veil_attest_env *env, const uint8_t nonce[32], json_t *list)
{
	veil_gpu_evidence *gpus = NULL;
	size_t n = 0;
	veil_err err = veil_attest_gpus(env, nonce, &gpus, &n);

	for (size_t i = 0; err == VEIL_OK && i < n; i++)
		err = add_device(list, "nvidia", gpus[i].report, gpus[i].report_len,
				 gpus[i].cert_chain_pem, gpus[i].cc_on, gpus[i].cc_environment,
				 gpus[i].devtools, gpus[i].ready);
	veil_gpu_evidence_free(gpus, n);
	return err;
}

/* Writes the output: to --out through a temporary file and rename, or to
 * standard output (never binary to a terminal). */
static veil_err write_output(const char *path, const uint8_t *p, size_t n, bool binary)
{
	char tmp[4096];
	FILE *f;
	int fd;

	if (path == NULL) {
		ENSURE(!binary || !isatty(STDOUT_FILENO), VEIL_E_USAGE,
		       "refusing to write a binary report to a terminal; use --out FILE or a pipe");
		ENSURE(fwrite(p, 1, n, stdout) == n && fflush(stdout) == 0, VEIL_E_IO,
		       "cannot write to standard output: %s", strerror(errno));
		return VEIL_OK;
	}
	ENSURE((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) < sizeof tmp, VEIL_E_USAGE,
	       "--out path too long");
	fd = mkstemp(tmp);
	ENSURE(fd >= 0, VEIL_E_IO, "cannot create a file beside %s: %s", path, strerror(errno));
	f = fdopen(fd, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fflush(f) != 0 || fsync(fd) != 0) {
		int e = errno;
		if (f != NULL)
			fclose(f);
		else
			close(fd);
		unlink(tmp);
		return veil_fail(VEIL_E_IO, "cannot write %s: %s", path, strerror(e));
	}
	fclose(f);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return veil_fail(VEIL_E_IO, "cannot move the evidence to %s: %s", path,
				 strerror(e));
	}
	return VEIL_OK;
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

/* The CPU report, from the sim platform or a hardware back end. */
static veil_err cpu_evidence(const attest_args *a, const veil_sim *s, const uint8_t rd[64],
			     veil_cpu_evidence *ev)
{
	uint8_t m[48];
	const char *self[] = {"/proc/self/exe"};

	if (s == NULL)
		return veil_attest_cpu(&a->env, a->backend, a->tee, rd, ev);
	TRY(veil_sim_measure(a->nworkload > 0 ? a->workload : self,
			     a->nworkload > 0 ? a->nworkload : 1, m));
	snprintf(ev->tee, sizeof ev->tee, "sim");
	snprintf(ev->backend, sizeof ev->backend, "sim");
	return veil_sim_attest(s, m, rd, veil_time_now(), &ev->report, &ev->report_len);
}

/* The bundle: CPU report, runtime data, and the SNP certificates the
 * platform handed over (VCEK or VLEK, ASK, ARK) as collateral. */
static veil_err bundle_json(const veil_cpu_evidence *ev, json_t *rt, uint8_t **out, size_t *len)
{
	json_t *doc = NULL, *coll = json_array();
	veil_snp_cert certs[VEIL_SNP_CERTTABLE_MAX];
	size_t n = 0;
	veil_err err = VEIL_OK;
	char *text = NULL;

	ENSURE(coll != NULL, VEIL_E_NOMEM, "out of memory");
	if (ev->certs != NULL)
		CHECK(veil_snp_certtable_parse(ev->certs, ev->certs_len, certs,
					       VEIL_SNP_CERTTABLE_MAX, &n));
	for (size_t i = 0; i < n; i++)
		CHECK_THAT(json_array_append_new(coll, b64_string(certs[i].der, certs[i].len)) == 0,
			   VEIL_E_NOMEM, "out of memory");
	doc = json_pack("{s:i, s:s, s:o, s:O, s:O}", "version", 1, "tee", ev->tee,
			"primary_evidence", b64_string(ev->report, ev->report_len), "runtime_data",
			rt, "collateral", coll);
	CHECK_THAT(doc != NULL, VEIL_E_NOMEM, "out of memory");
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	CHECK_THAT(text != NULL, VEIL_E_NOMEM, "out of memory");
	*len = strlen(text) + 1;
	text[*len - 1] = '\n';
	*out = (uint8_t *)text;
out:
	json_decref(coll);
	json_decref(doc);
	return err;
}

static int attest_fail(veil_err err, const char *what)
{
	fprintf(stderr, "veil attest: %s%s\n", what, veil_err_detail());
	return err == VEIL_E_USAGE || err == VEIL_E_MALFORMED ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
}

int cmd_attest(int argc, char **argv)
{
	attest_args a = {0};
	veil_sim *s = NULL;
	json_t *rt = NULL, *devices = NULL;
	veil_cpu_evidence ev = {0};
	uint8_t rd[64] = {0}, nonce[32], *out = NULL;
	size_t n = 0, out_len = 0;
	veil_err err;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	if (strcmp(a.tee, "sim") == 0 && (err = veil_sim_open(a.sim_dir, &s)) != VEIL_OK) {
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
		if ((err = read_runtime_data(a.runtime_path, &rt)) != VEIL_OK) {
			rc = attest_fail(VEIL_E_USAGE, "");
			goto out;
		}
		if (a.gpu) {
			if (json_object_get(rt, "additional-evidence") != NULL) {
				rc = attest_fail(veil_fail(VEIL_E_USAGE,
							   "--gpu with runtime data that already "
							   "carries \"additional-evidence\""),
						 "");
				goto out;
			}
			devices = json_array();
			err = devices == NULL ? veil_fail(VEIL_E_NOMEM, "out of memory")
					      : veil_device_nonce(rt, nonce);
			if (err != VEIL_OK) {
				rc = attest_fail(VEIL_E_USAGE, "--runtime-data: ");
				goto out;
			}
			err = s != NULL ? sim_gpus(s, nonce, devices)
					: hardware_gpus(&a.env, nonce, devices);
			if (err != VEIL_OK) {
				rc = attest_fail(err, "GPU: ");
				goto out;
			}
			if (json_object_set(rt, "additional-evidence", devices) != 0) {
				rc = attest_fail(VEIL_E_NOMEM, "");
				goto out;
			}
		}
		if ((err = veil_runtime_data_digest(rt, rd)) != VEIL_OK) {
			rc = attest_fail(VEIL_E_USAGE, "--runtime-data: ");
			goto out;
		}
	}
	if ((err = cpu_evidence(&a, s, rd, &ev)) != VEIL_OK) {
		rc = attest_fail(err, "");
		goto out;
	}
	if (rt != NULL)
		err = bundle_json(&ev, rt, &out, &out_len);
	else if (ev.certs != NULL)
		fprintf(stderr, "veil attest: note: the platform's certificate table is not "
				"written with a bare report; use --runtime-data for a bundle\n");
	if (err == VEIL_OK)
		err = rt != NULL ? write_output(a.out_path, out, out_len, false)
				 : write_output(a.out_path, ev.report, ev.report_len, true);
	rc = err == VEIL_OK ? CLI_EXIT_OK : attest_fail(err, "");
out:
	free(out);
	veil_cpu_evidence_clear(&ev);
	json_decref(devices);
	json_decref(rt);
	veil_sim_free(s);
	return rc;
}

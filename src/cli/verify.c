/*
 * verify.c - `veil verify`: is this SEV-SNP report or TDX quote genuine, and
 * what does it say?
 *
 *   veil verify [--tee snp|tdx|auto] [--certs FILE]... [--collateral DIR]
 *               [--at RFC3339] [--report-data HEX] [--product NAME]
 *               [--encoding auto|raw|hex|base64] [--json] EVIDENCE
 *
 * Exit 0: genuine (and REPORT_DATA equals --report-data when given).
 * Exit 1: not genuine, or it could not be shown genuine; every failed check
 *         is printed.
 * Exit 2: usage error, unreadable or malformed input, naming the field or
 *         offset.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/evidence.h"
#include "veil/timeutil.h"

#define REPORT_DATA_LEN 64

typedef struct verify_args {
	const char *tee;
	const char *at_text;
	const char *report_data_hex;
	const char *product;
	const char *evidence_path;
	cli_encoding encoding;
	bool json;
	/* --certs and --collateral in the order given; loaded after parsing so
	 * their errors are reported like any other input error. */
	struct {
		const char *path;
		bool is_dir;
	} source[VEIL_COLLATERAL_MAX_FILES];
	size_t nsource;
	veil_collateral collateral;
} verify_args;

static void verify_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: veil verify [options] EVIDENCE\n"
	    "\n"
	    "Checks that an AMD SEV-SNP attestation report or an Intel TDX quote is genuine\n"
	    "(signatures, certificate chains to the pinned AMD / Intel roots, collateral) and\n"
	    "prints its claims. EVIDENCE is a file (or - for standard input) holding the\n"
	    "report or quote as raw bytes, hex or base64.\n"
	    "\n"
	    "options:\n"
	    "  --tee snp|tdx|auto     evidence format (default: auto, detected from the bytes)\n"
	    "  --certs FILE           a certificate, chain, CRL or TCB Info / QE Identity file;\n"
	    "                         repeat as needed (SNP: the VCEK or VLEK)\n"
	    "  --collateral DIR       a directory of such files (docs/collateral.md)\n"
	    "  --at TIME              verify at this RFC 3339 time (default: now)\n"
	    "  --report-data HEX      also require REPORT_DATA to equal HEX (up to 64 bytes,\n"
	    "                         zero-padded on the right to 64)\n"
	    "  --product NAME         SNP: require this product (Milan, Genoa, Turin)\n"
	    "  --encoding ENC         auto, raw, hex or base64 (default: auto)\n"
	    "  --json                 print one JSON object instead of text\n"
	    "\n"
	    "exit status: 0 genuine, 1 not genuine, 2 usage or malformed input\n");
}

/* Prints one error and returns exit code 2, as text or as a JSON object. */
static int verify_input_error(const verify_args *a, const char *tee, const char *msg)
{
	if (a->json) {
		json_t *o = json_pack("{s:s?, s:b, s:s}", "tee", tee, "verified", 0, "error", msg);
		if (o != NULL) {
			char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
			if (s != NULL)
				printf("%s\n", s);
			free(s);
			json_decref(o);
		}
	}
	fprintf(stderr, "veil verify: %s\n", msg);
	return CLI_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, verify_args *a)
{
	enum { OPT_TEE = 256, OPT_CERTS, OPT_COLL, OPT_AT, OPT_RD, OPT_PRODUCT, OPT_ENC, OPT_JSON };
	static const struct option opts[] = {
	    {"tee", required_argument, NULL, OPT_TEE},
	    {"certs", required_argument, NULL, OPT_CERTS},
	    {"collateral", required_argument, NULL, OPT_COLL},
	    {"at", required_argument, NULL, OPT_AT},
	    {"report-data", required_argument, NULL, OPT_RD},
	    {"product", required_argument, NULL, OPT_PRODUCT},
	    {"encoding", required_argument, NULL, OPT_ENC},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	a->tee = "auto";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TEE:
			a->tee = optarg;
			break;
		case OPT_AT:
			a->at_text = optarg;
			break;
		case OPT_RD:
			a->report_data_hex = optarg;
			break;
		case OPT_PRODUCT:
			a->product = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_CERTS:
		case OPT_COLL:
			if (a->nsource == VEIL_COLLATERAL_MAX_FILES) {
				fprintf(stderr,
					"veil verify: more than %d --certs / --collateral\n",
					VEIL_COLLATERAL_MAX_FILES);
				return CLI_EXIT_USAGE;
			}
			a->source[a->nsource].path = optarg;
			a->source[a->nsource].is_dir = c == OPT_COLL;
			a->nsource++;
			break;
		case OPT_ENC:
			if (strcmp(optarg, "auto") == 0)
				a->encoding = CLI_ENC_AUTO;
			else if (strcmp(optarg, "raw") == 0)
				a->encoding = CLI_ENC_RAW;
			else if (strcmp(optarg, "hex") == 0)
				a->encoding = CLI_ENC_HEX;
			else if (strcmp(optarg, "base64") == 0)
				a->encoding = CLI_ENC_BASE64;
			else {
				fprintf(
				    stderr,
				    "veil verify: --encoding must be auto, raw, hex or base64\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			verify_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "veil verify: unknown or incomplete option '%s'\n\n",
				argv[optind - 1]);
			verify_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "veil verify: expected exactly one EVIDENCE file\n\n");
		verify_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	a->evidence_path = argv[optind];
	return -1; /* continue */
}

static void print_text(const char *tee, bool verified, const veil_checks *checks,
		       const json_t *claims, int64_t at)
{
	char when[21];
	veil_time_format(at, when);
	printf("evidence: %s\nverified at: %s\nverdict: %s\n\nchecks:\n", tee, when,
	       verified ? "GENUINE" : "NOT GENUINE");
	for (size_t i = 0; i < checks->count; i++)
		printf("  %-4s %-24s %s\n", checks->item[i].ok ? "ok" : "FAIL",
		       checks->item[i].name, checks->item[i].detail);
	if (checks->overflow)
		printf("  FAIL (more checks than can be listed)\n");
	if (claims == NULL || json_object_size(claims) == 0)
		return;
	printf("\nclaims:\n");
	/* Sorted, so output is stable for scripts and diffs. */
	size_t n = json_object_size(claims), i = 0;
	const char **keys = malloc(n * sizeof *keys);
	const char *key;
	json_t *v;
	if (keys == NULL)
		return;
	json_object_foreach((json_t *)claims, key, v) keys[i++] = key;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
			const char *t = keys[b];
			keys[b] = keys[b - 1];
			keys[b - 1] = t;
		}
	for (i = 0; i < n; i++) {
		v = json_object_get(claims, keys[i]);
		char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("  %-24s %s\n", keys[i], s != NULL ? s : json_string_value(v));
		free(s);
	}
	free(keys);
}

static int print_json(const char *tee, bool verified, const veil_checks *checks, json_t *claims,
		      int64_t at, const char *error)
{
	json_t *o = json_object(), *list = json_array();
	char when[21];
	int rc = CLI_EXIT_OK;

	veil_time_format(at, when);
	if (o == NULL || list == NULL)
		goto fail;
	for (size_t i = 0; i < checks->count; i++) {
		json_t *c = json_pack("{s:s, s:b, s:s}", "name", checks->item[i].name, "ok",
				      checks->item[i].ok, "detail", checks->item[i].detail);
		if (c == NULL || json_array_append_new(list, c) != 0)
			goto fail;
	}
	if (json_object_set_new(o, "tee", json_string(tee)) != 0 ||
	    json_object_set_new(o, "verified", json_boolean(verified)) != 0 ||
	    json_object_set_new(o, "at", json_string(when)) != 0 ||
	    json_object_set(o, "checks", list) != 0 ||
	    json_object_set(o, "claims", claims != NULL ? claims : json_object()) != 0)
		goto fail;
	if (error != NULL && json_object_set_new(o, "error", json_string(error)) != 0)
		goto fail;
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s == NULL)
		goto fail;
	printf("%s\n", s);
	free(s);
	goto out;
fail:
	fprintf(stderr, "veil verify: out of memory writing JSON\n");
	rc = CLI_EXIT_USAGE;
out:
	json_decref(list);
	json_decref(o);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	verify_args a = {0};
	const veil_evidence_format *fmt = NULL;
	uint8_t *evidence = NULL;
	size_t evidence_len = 0;
	uint8_t rd[REPORT_DATA_LEN] = {0};
	bool have_rd = false;
	cli_encoding used;
	veil_checks checks;
	json_t *claims = NULL;
	void *ev = NULL;
	char msg[VEIL_ERR_DETAIL_MAX + 64];
	int rc;

	veil_collateral_init(&a.collateral);
	veil_checks_init(&checks);
	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		goto out;

	veil_verify_ctx ctx = {
	    .at = veil_time_now(), .collateral = &a.collateral, .product = a.product};
	if (a.at_text != NULL && veil_time_parse(a.at_text, &ctx.at) != VEIL_OK) {
		snprintf(msg, sizeof msg, "--at: %s", veil_err_detail());
		rc = verify_input_error(&a, NULL, msg);
		goto out;
	}
	for (size_t i = 0; i < a.nsource; i++) {
		veil_err e = a.source[i].is_dir
				 ? veil_collateral_add_dir(&a.collateral, a.source[i].path)
				 : veil_collateral_add_file(&a.collateral, a.source[i].path);
		if (e != VEIL_OK) {
			snprintf(msg, sizeof msg, "%s: %s",
				 a.source[i].is_dir ? "--collateral" : "--certs",
				 veil_err_detail());
			rc = verify_input_error(&a, NULL, msg);
			goto out;
		}
	}
	if (a.report_data_hex != NULL) {
		size_t n;
		/* An empty value would silently mean "all zeros": a script whose
		 * nonce variable is empty must fail, not check for no nonce. */
		if (a.report_data_hex[0] == '\0') {
			rc = verify_input_error(&a, NULL,
						"--report-data is empty; give the "
						"expected value in hex");
			goto out;
		}
		if (veil_hex_decode(a.report_data_hex, strlen(a.report_data_hex), rd, sizeof rd,
				    &n) != VEIL_OK) {
			snprintf(msg, sizeof msg, "--report-data: %s", veil_err_detail());
			rc = verify_input_error(&a, NULL, msg);
			goto out;
		}
		have_rd = true; /* shorter values stay zero-padded */
	}
	if (cli_read_evidence(a.evidence_path, a.encoding, &evidence, &evidence_len, &used) !=
	    VEIL_OK) {
		rc = verify_input_error(&a, NULL, veil_err_detail());
		goto out;
	}
	if (strcmp(a.tee, "auto") == 0) {
		fmt = veil_evidence_detect(evidence, evidence_len);
		if (fmt == NULL) {
			snprintf(
			    msg, sizeof msg,
			    "%s (%zu bytes, read as %s) is neither an SEV-SNP report nor a TDX "
			    "quote that Veil recognises; pass --tee snp or --tee tdx to see why",
			    a.evidence_path, evidence_len, cli_encoding_name(used));
			rc = verify_input_error(&a, NULL, msg);
			goto out;
		}
	} else if ((fmt = veil_evidence_format_find(a.tee)) == NULL) {
		snprintf(msg, sizeof msg, "--tee must be snp, tdx or auto, not '%s'", a.tee);
		rc = verify_input_error(&a, NULL, msg);
		goto out;
	}

	veil_err_clear();
	veil_err err = veil_evidence_verify(fmt, evidence, evidence_len, &ctx, have_rd ? rd : NULL,
					    sizeof rd, &checks, &ev);
	if (ev == NULL) {
		/* Parsing failed: malformed input, exit 2 with the field named. */
		snprintf(msg, sizeof msg, "%s is not a valid %s: %s", a.evidence_path, fmt->name,
			 veil_err_detail());
		rc = verify_input_error(&a, fmt->name, msg);
		goto out;
	}
	claims = json_object();
	if (claims == NULL || fmt->claims(ev, claims) != VEIL_OK) {
		snprintf(msg, sizeof msg, "cannot list claims: %s", veil_err_detail());
		rc = verify_input_error(&a, fmt->name, msg);
		goto out;
	}
	bool verified = err == VEIL_OK && veil_checks_passed(&checks);
	rc = CLI_EXIT_OK;
	if (a.json)
		rc = print_json(fmt->name, verified, &checks, claims, ctx.at, NULL);
	else
		print_text(fmt->name, verified, &checks, claims, ctx.at);
	if (rc == CLI_EXIT_OK && !verified) {
		const veil_check *bad = veil_checks_first_failure(&checks);
		fprintf(stderr, "veil verify: NOT GENUINE: %s: %s\n", bad ? bad->name : "checks",
			bad ? bad->detail : veil_err_detail());
		rc = CLI_EXIT_FAILED;
	}
out:
	if (ev != NULL)
		fmt->free(ev);
	json_decref(claims);
	free(evidence);
	veil_collateral_clear(&a.collateral);
	return rc;
}

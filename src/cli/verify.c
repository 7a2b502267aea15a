/*
 * verify.c - `veil verify`: is this SEV-SNP report, TDX quote, NVIDIA GPU
 * report or evidence bundle genuine, and what does it say?
 *
 *   veil verify [--tee snp|tdx|nvidia|auto] [--certs FILE]... [--collateral DIR]
 *               [--rims DIR] [--at RFC3339] [--report-data HEX] [--nonce HEX]
 *               [--product NAME] [--allow-unknown-revocation]
 *               [--encoding auto|raw|hex|base64|json] [--json] EVIDENCE
 *
 * EVIDENCE in JSON is an evidence bundle (an object: CPU report plus GPU
 * reports, docs/evidence-bundle.md) or a list of GPU reports as NVIDIA's
 * SDK writes them (an array); both print one result with a submodule per
 * part.
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
#include "veil/bundle.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/evidence.h"
#include "veil/timeutil.h"

typedef struct verify_args {
	const char *tee;
	const char *at_text;
	const char *report_data_hex;
	const char *nonce_hex;
	const char *product;
	bool allow_unknown_revocation;
	const char *evidence_path;
	cli_encoding encoding;
	bool json;
	/* --certs and --collateral in the order given; loaded after parsing so
	 * their errors are reported like any other input error. */
	struct {
		const char *path;
		const char *option;
		bool is_dir;
	} source[VEIL_COLLATERAL_MAX_FILES];
	size_t nsource;
	const char *sim_root[VEIL_COLLATERAL_MAX_FILES];
	size_t nsim_root;
	veil_collateral collateral;
	veil_collateral trusted; /* --sim-root files, and --certs files for --tee sim* */
} verify_args;

static void verify_usage(FILE *out)
{
	fprintf(out,
		"usage: veil verify [options] EVIDENCE\n"
		"\n"
		"Checks that an AMD SEV-SNP attestation report, an Intel TDX quote or an NVIDIA\n"
		"GPU attestation report is genuine (signatures, certificate chains to the pinned\n"
		"AMD / Intel / NVIDIA roots, collateral, RIMs) and prints its claims. EVIDENCE is\n"
		"a file (or - for standard input) holding the report as raw bytes, hex or base64,\n"
		"or a JSON evidence bundle (CPU + GPU) or list of GPU reports.\n"
		"\n"
		"options:\n"
		"  --tee FORMAT           snp, tdx, nvidia, sim, sim-gpu or auto (default: auto,\n"
		"                         from the bytes; sim-gpu is never guessed)\n"
		"  --certs FILE           a certificate, chain, CRL, OCSP response or TCB Info /\n"
		"                         QE Identity file; repeat as needed (SNP: the VCEK or\n"
		"                         VLEK; NVIDIA: the GPU certificate chain; with --tee\n"
		"                         sim or sim-gpu, self-signed certificates given here\n"
		"                         are the sim roots trusted)\n"
		"  --sim-root FILE        trust this sim root (e.g. DIR/root.pem from veil sim\n"
		"                         init) for any input, bundles included; repeatable\n"
		"  --collateral DIR       a directory of such files (docs/collateral.md)\n"
		"  --rims DIR             NVIDIA: a directory of driver and VBIOS RIMs\n"
		"  --at TIME              verify at this RFC 3339 time (default: now)\n"
		"  --report-data HEX      also require REPORT_DATA to equal HEX (up to 64 bytes,\n"
		"                         zero-padded on the right to 64)\n"
		"  --nonce HEX            NVIDIA: also require the report's nonce to equal HEX\n"
		"                         (32 bytes)\n"
		"  --allow-unknown-revocation  NVIDIA: accept certificates whose OCSP status is\n"
		"                         unknown (no response at hand); the claims say so\n"
		"  --product NAME         SNP: require this product (Milan, Genoa, Turin)\n"
		"  --encoding ENC         auto, raw, hex, base64 or json (default: auto)\n"
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
	enum {
		OPT_TEE = 256,
		OPT_CERTS,
		OPT_COLL,
		OPT_RIMS,
		OPT_AT,
		OPT_RD,
		OPT_NONCE,
		OPT_REVOCATION,
		OPT_PRODUCT,
		OPT_ENC,
		OPT_JSON,
		OPT_SIM_ROOT
	};
	static const struct option opts[] = {
	    {"tee", required_argument, NULL, OPT_TEE},
	    {"certs", required_argument, NULL, OPT_CERTS},
	    {"collateral", required_argument, NULL, OPT_COLL},
	    {"rims", required_argument, NULL, OPT_RIMS},
	    {"nonce", required_argument, NULL, OPT_NONCE},
	    {"allow-unknown-revocation", no_argument, NULL, OPT_REVOCATION},
	    {"at", required_argument, NULL, OPT_AT},
	    {"report-data", required_argument, NULL, OPT_RD},
	    {"product", required_argument, NULL, OPT_PRODUCT},
	    {"encoding", required_argument, NULL, OPT_ENC},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"sim-root", required_argument, NULL, OPT_SIM_ROOT},
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
		case OPT_NONCE:
			a->nonce_hex = optarg;
			break;
		case OPT_REVOCATION:
			a->allow_unknown_revocation = true;
			break;
		case OPT_PRODUCT:
			a->product = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_SIM_ROOT:
			if (a->nsim_root == VEIL_COLLATERAL_MAX_FILES) {
				fprintf(stderr, "veil verify: too many --sim-root\n");
				return CLI_EXIT_USAGE;
			}
			a->sim_root[a->nsim_root++] = optarg;
			break;
		case OPT_CERTS:
		case OPT_COLL:
		case OPT_RIMS:
			if (a->nsource == VEIL_COLLATERAL_MAX_FILES) {
				fprintf(
				    stderr,
				    "veil verify: more than %d --certs / --collateral / --rims\n",
				    VEIL_COLLATERAL_MAX_FILES);
				return CLI_EXIT_USAGE;
			}
			a->source[a->nsource].path = optarg;
			a->source[a->nsource].is_dir = c != OPT_CERTS;
			a->source[a->nsource].option = c == OPT_CERTS  ? "--certs"
						       : c == OPT_COLL ? "--collateral"
								       : "--rims";
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
			else if (strcmp(optarg, "json") == 0)
				a->encoding = CLI_ENC_JSON;
			else {
				fprintf(stderr, "veil verify: --encoding must be auto, raw, hex, "
						"base64 or json\n");
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

/* Prints a claims object with sorted keys, so output is stable for scripts
 * and diffs. */
static void print_claims(const json_t *claims, const char *indent)
{
	size_t n = json_object_size(claims), i = 0;
	const char **keys;
	const char *key;
	json_t *v;

	if (n == 0)
		return;
	keys = malloc(n * sizeof *keys);
	if (keys == NULL)
		return;
	printf("\n%sclaims:\n", indent);
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
		printf("%s  %-24s %s\n", indent, keys[i], s != NULL ? s : json_string_value(v));
		free(s);
	}
	free(keys);
}

/* Whether the result or any part of it comes from the simulated TEE. */
static bool result_insecure(const json_t *res)
{
	json_t *sub;
	const char *name;

	if (json_is_true(json_object_get(json_object_get(res, "claims"), "insecure")))
		return true;
	json_object_foreach(json_object_get(res, "submods"), name,
			    sub) if (result_insecure(sub)) return true;
	return false;
}

/* Prints a result object (veil_result_json) as text, submodules indented. */
static void print_text(const json_t *res, const char *title, const char *indent)
{
	json_t *checks = json_object_get(res, "checks"), *c, *subs, *sub;
	const char *name;
	size_t i;

	if (title != NULL)
		printf("\n%s[%s]\n", indent, title);
	printf("%sevidence: %s\n%sverified at: %s\n%sverdict: %s\n\n%schecks:\n", indent,
	       json_string_value(json_object_get(res, "tee")), indent,
	       json_string_value(json_object_get(res, "at")), indent,
	       !json_is_true(json_object_get(res, "verified")) ? "NOT GENUINE"
	       : result_insecure(res) ? "GENUINE, BUT SIMULATED: INSECURE (development only)"
				      : "GENUINE",
	       indent);
	json_array_foreach(checks, i, c)
	{
		printf("%s  %-4s %-24s %s\n", indent,
		       json_is_true(json_object_get(c, "ok")) ? "ok" : "FAIL",
		       json_string_value(json_object_get(c, "name")),
		       json_string_value(json_object_get(c, "detail")));
	}
	print_claims(json_object_get(res, "claims"), indent);
	subs = json_object_get(res, "submods");
	json_object_foreach(subs, name, sub) print_text(sub, name, "    ");
}

/* The first failed check, depth first, as "name: detail" for stderr. */
static bool first_failure(const json_t *res, const char *prefix, char *out, size_t cap)
{
	json_t *checks = json_object_get(res, "checks"), *c, *subs, *sub;
	const char *name;
	size_t i;

	json_array_foreach(checks, i, c)
	{
		if (json_is_true(json_object_get(c, "ok")))
			continue;
		snprintf(out, cap, "%s%s: %s", prefix,
			 json_string_value(json_object_get(c, "name")),
			 json_string_value(json_object_get(c, "detail")));
		return true;
	}
	subs = json_object_get(res, "submods");
	json_object_foreach(subs, name, sub)
	{
		char p[64];
		snprintf(p, sizeof p, "%s: ", name);
		if (first_failure(sub, p, out, cap))
			return true;
	}
	return false;
}

/* Prints the result; returns the exit code. */
static int print_result(const verify_args *a, const json_t *res)
{
	bool verified = json_is_true(json_object_get(res, "verified"));
	char why[VEIL_CHECK_DETAIL_MAX + 96];

	if (a->json) {
		char *s = json_dumps(res, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (s == NULL) {
			fprintf(stderr, "veil verify: out of memory writing JSON\n");
			return CLI_EXIT_USAGE;
		}
		printf("%s\n", s);
		free(s);
	} else {
		print_text(res, NULL, "");
	}
	if (verified)
		return CLI_EXIT_OK;
	if (!first_failure(res, "", why, sizeof why))
		snprintf(why, sizeof why, "checks: no check passed");
	fprintf(stderr, "veil verify: NOT GENUINE: %s\n", why);
	return CLI_EXIT_FAILED;
}

/*
 * The sim roots trusted for this run. Only files the user named as roots:
 * every --sim-root, and the --certs files when --tee names a sim format. A
 * self-signed certificate among other collateral (--collateral, or --certs
 * for a bundle, where the host may have supplied the files) never counts.
 */
static veil_err load_sim_roots(verify_args *a, uint8_t (**roots)[32], size_t *count, char *msg,
			       size_t cap)
{
	bool sim_tee = strcmp(a->tee, "sim") == 0 || strcmp(a->tee, "sim-gpu") == 0;

	for (size_t i = 0; i < a->nsim_root; i++) {
		uint8_t(*found)[32] = NULL;
		size_t n = 0;
		veil_collateral one;

		/* Read once; kept only if it holds a root. */
		veil_collateral_init(&one);
		veil_err err = veil_collateral_add_file(&one, a->sim_root[i]);
		if (err == VEIL_OK)
			err = cli_sim_roots_from(&one, &found, &n);
		free(found);
		if (err == VEIL_OK && n == 0)
			err = veil_fail(VEIL_E_MALFORMED, "%s holds no self-signed certificate",
					a->sim_root[i]);
		if (err == VEIL_OK)
			err = veil_collateral_add(&a->trusted, one.blob[0].data, one.blob[0].len,
						  a->sim_root[i]);
		veil_collateral_clear(&one);
		if (err != VEIL_OK) {
			snprintf(msg, cap, "--sim-root: %s", veil_err_detail());
			return err;
		}
	}
	for (size_t i = 0; sim_tee && i < a->nsource; i++) {
		if (a->source[i].is_dir)
			continue;
		veil_err err = veil_collateral_add_file(&a->trusted, a->source[i].path);
		if (err != VEIL_OK) {
			snprintf(msg, cap, "--certs: %s", veil_err_detail());
			return err;
		}
	}
	if (cli_sim_roots_from(&a->trusted, roots, count) != VEIL_OK) {
		snprintf(msg, cap, "%s", veil_err_detail());
		return VEIL_E_NOMEM;
	}
	return VEIL_OK;
}

int cmd_verify(int argc, char **argv)
{
	verify_args a = {0};
	cli_evidence_opts o = {0};
	uint8_t rd[CLI_REPORT_DATA_LEN] = {0}, nonce[CLI_NONCE_LEN];
	uint8_t(*roots)[32] = NULL;
	json_t *res = NULL;
	const char *tee = NULL;
	char msg[VEIL_ERR_DETAIL_MAX + 128];
	int rc;

	veil_collateral_init(&a.collateral);
	veil_collateral_init(&a.trusted);
	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		goto out;

	veil_verify_ctx ctx = {.at = veil_time_now(),
			       .collateral = &a.collateral,
			       .product = a.product,
			       .revocation = a.allow_unknown_revocation
						 ? VEIL_REVOCATION_ALLOW_UNKNOWN
						 : VEIL_REVOCATION_REQUIRE};
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
			snprintf(msg, sizeof msg, "%s: %s", a.source[i].option, veil_err_detail());
			rc = verify_input_error(&a, NULL, msg);
			goto out;
		}
	}
	if (load_sim_roots(&a, &roots, &ctx.sim_root_count, msg, sizeof msg) != VEIL_OK) {
		rc = verify_input_error(&a, NULL, msg);
		goto out;
	}
	ctx.sim_roots = (const uint8_t(*)[32])roots;
	o.path = a.evidence_path;
	o.encoding = a.encoding;
	o.tee = a.tee;
	if (cli_expected_values(a.report_data_hex, a.nonce_hex, rd, nonce, &o, msg, sizeof msg) !=
	    VEIL_OK) {
		rc = verify_input_error(&a, NULL, msg);
		goto out;
	}
	if (cli_evidence_result(&o, &ctx, &res, &tee, msg, sizeof msg) != VEIL_OK) {
		rc = verify_input_error(&a, tee, msg);
		goto out;
	}
	rc = print_result(&a, res);
out:
	free(roots);
	json_decref(res);
	veil_collateral_clear(&a.collateral);
	veil_collateral_clear(&a.trusted);
	return rc;
}

/*
 * appraise.c - `veil appraise`: is this evidence acceptable under a policy?
 *
 *   veil appraise [--policy FILE] [--reference-values FILE]... [--certs FILE]...
 *                 [--collateral DIR] [--rims DIR] [--at TIME] [--report-data HEX |
 *                 --nonce HEX] [--tee FORMAT] [--encoding ENC] EVIDENCE
 *
 * Verifies EVIDENCE as `veil verify` does, then appraises the result
 * (include/veil/appraisal.h, docs/appraisal.md) and prints the EAR as JSON.
 * Trust comes from the policy alone: the sim roots it names are the only
 * ones trusted here (a self-signed certificate among --certs is just
 * collateral), and its GPU revocation setting decides how verification
 * treats unknown OCSP status. Without --policy the default policy applies,
 * which accepts nothing.
 *
 * Exit 0 when the overall status is affirming, 1 otherwise, 2 on bad input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "veil/appraisal.h"
#include "veil/timeutil.h"

#define APPRAISE_REFVALS_MAX 16

typedef struct appraise_args {
	const char *policy_path, *at_text, *rd_hex, *nonce_hex;
	const char *refvals[APPRAISE_REFVALS_MAX];
	size_t nrefvals;
	struct {
		const char *path;
		bool is_dir;
	} source[VEIL_COLLATERAL_MAX_FILES];
	size_t nsource;
	cli_evidence_opts evidence;
} appraise_args;

static void appraise_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: veil appraise [options] EVIDENCE\n"
	    "\n"
	    "Verifies EVIDENCE (as veil verify does) and appraises it against a policy,\n"
	    "printing an EAR result (AR4SI trust vector and status per submodule) as JSON.\n"
	    "\n"
	    "options:\n"
	    "  --policy FILE            the appraisal policy (docs/appraisal.md); without it\n"
	    "                           the default policy accepts nothing\n"
	    "  --reference-values FILE  reference values the policy refers to; repeatable\n"
	    "  --certs FILE, --collateral DIR, --rims DIR\n"
	    "                           collateral, as for veil verify (sim roots are trusted\n"
	    "                           only when the policy names them)\n"
	    "  --at TIME                verify and appraise at this RFC 3339 time (default now)\n"
	    "  --report-data HEX        require this REPORT_DATA\n"
	    "  --nonce HEX              require this GPU nonce (GPU reports and lists)\n"
	    "  --tee FORMAT             snp, tdx, nvidia, sim, sim-gpu or auto (default)\n"
	    "  --encoding ENC           auto, raw, hex, base64 or json (default auto)\n"
	    "\n"
	    "exit status: 0 affirming, 1 not affirming, 2 usage error or bad input\n");
}

static int parse_args(int argc, char **argv, appraise_args *a)
{
	enum { O_POLICY = 256, O_RV, O_CERTS, O_COLL, O_RIMS, O_AT, O_RD, O_NONCE, O_TEE, O_ENC };
	static const struct option opts[] = {
	    {"policy", required_argument, NULL, O_POLICY},
	    {"reference-values", required_argument, NULL, O_RV},
	    {"certs", required_argument, NULL, O_CERTS},
	    {"collateral", required_argument, NULL, O_COLL},
	    {"rims", required_argument, NULL, O_RIMS},
	    {"at", required_argument, NULL, O_AT},
	    {"report-data", required_argument, NULL, O_RD},
	    {"nonce", required_argument, NULL, O_NONCE},
	    {"tee", required_argument, NULL, O_TEE},
	    {"encoding", required_argument, NULL, O_ENC},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const encodings[] = {"auto", "raw", "hex", "base64", "json"};
	int c;

	a->evidence.tee = "auto";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_POLICY:
			a->policy_path = optarg;
			break;
		case O_AT:
			a->at_text = optarg;
			break;
		case O_RD:
			a->rd_hex = optarg;
			break;
		case O_NONCE:
			a->nonce_hex = optarg;
			break;
		case O_TEE:
			a->evidence.tee = optarg;
			break;
		case O_RV:
			if (a->nrefvals == APPRAISE_REFVALS_MAX) {
				fprintf(stderr, "veil appraise: at most %d --reference-values\n",
					APPRAISE_REFVALS_MAX);
				return CLI_EXIT_USAGE;
			}
			a->refvals[a->nrefvals++] = optarg;
			break;
		case O_CERTS:
		case O_COLL:
		case O_RIMS:
			if (a->nsource == VEIL_COLLATERAL_MAX_FILES) {
				fprintf(stderr, "veil appraise: too many collateral options\n");
				return CLI_EXIT_USAGE;
			}
			a->source[a->nsource].path = optarg;
			a->source[a->nsource++].is_dir = c != O_CERTS;
			break;
		case O_ENC: {
			size_t i = 0;
			while (i < 5 && strcmp(optarg, encodings[i]) != 0)
				i++;
			if (i == 5) {
				fprintf(stderr, "veil appraise: --encoding must be auto, raw, hex, "
						"base64 or json\n");
				return CLI_EXIT_USAGE;
			}
			a->evidence.encoding = (cli_encoding)i;
			break;
		}
		case 'h':
			appraise_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "veil appraise: unknown or incomplete option '%s'\n\n",
				argv[optind - 1]);
			appraise_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "veil appraise: expected exactly one EVIDENCE file\n\n");
		appraise_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	a->evidence.path = argv[optind];
	return -1;
}

static veil_err load_policy(const appraise_args *a, veil_policy **p, veil_refvals **rv)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	veil_err err;

	if (a->policy_path == NULL)
		TRY(veil_policy_default(p));
	else {
		TRY(cli_read_file(a->policy_path, &buf, &len));
		err = veil_policy_parse(buf, len, a->policy_path, p);
		free(buf);
		TRY(err);
	}
	TRY(veil_refvals_new(rv));
	for (size_t i = 0; i < a->nrefvals; i++) {
		TRY(cli_read_file(a->refvals[i], &buf, &len));
		err = veil_refvals_load(*rv, buf, len, a->refvals[i]);
		free(buf);
		TRY(err);
	}
	return VEIL_OK;
}

static int input_error(const char *msg)
{
	fprintf(stderr, "veil appraise: %s\n", msg);
	return CLI_EXIT_USAGE;
}

int cmd_appraise(int argc, char **argv)
{
	appraise_args a = {0};
	veil_policy *policy = NULL;
	veil_refvals *rv = NULL;
	veil_collateral coll;
	json_t *res = NULL, *ear = NULL;
	uint8_t rd[CLI_REPORT_DATA_LEN], nonce[CLI_NONCE_LEN];
	const char *tee, *status;
	char msg[VEIL_ERR_DETAIL_MAX + 128];
	int rc;

	veil_collateral_init(&coll);
	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		goto out;
	veil_verify_ctx ctx = {.at = veil_time_now(), .collateral = &coll};
	if (a.at_text != NULL && veil_time_parse(a.at_text, &ctx.at) != VEIL_OK) {
		snprintf(msg, sizeof msg, "--at: %s", veil_err_detail());
		rc = input_error(msg);
		goto out;
	}
	if (load_policy(&a, &policy, &rv) != VEIL_OK) {
		rc = input_error(veil_err_detail());
		goto out;
	}
	for (size_t i = 0; i < a.nsource; i++)
		if ((a.source[i].is_dir
			 ? veil_collateral_add_dir(&coll, a.source[i].path)
			 : veil_collateral_add_file(&coll, a.source[i].path)) != VEIL_OK) {
			rc = input_error(veil_err_detail());
			goto out;
		}
	ctx.sim_root_count = veil_policy_sim_roots(policy, &ctx.sim_roots);
	ctx.revocation = veil_policy_verify_revocation(policy);
	if (cli_expected_values(a.rd_hex, a.nonce_hex, rd, nonce, &a.evidence, msg, sizeof msg) !=
		VEIL_OK ||
	    cli_evidence_result(&a.evidence, &ctx, &res, &tee, msg, sizeof msg) != VEIL_OK) {
		rc = input_error(msg);
		goto out;
	}
	if (veil_appraise(policy, rv, res, ctx.at, &ear) != VEIL_OK) {
		rc = input_error(veil_err_detail());
		goto out;
	}
	cli_print_json(ear);
	status = veil_ear_status(ear);
	rc = strcmp(status, "affirming") == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
	if (rc != CLI_EXIT_OK)
		fprintf(stderr, "veil appraise: %s under policy \"%s\"\n", status,
			veil_policy_id(policy));
out:
	json_decref(ear);
	json_decref(res);
	veil_policy_free(policy);
	veil_refvals_free(rv);
	veil_collateral_clear(&coll);
	return rc;
}

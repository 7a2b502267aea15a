/*
 * evidence.c - from an EVIDENCE argument to a verification result, shared by
 * `veil verify` (which prints the result) and `veil appraise` (which judges
 * it against a policy).
 *
 * EVIDENCE is a report (raw, hex or base64) of one format, a JSON evidence
 * bundle (object) or a JSON list of GPU reports as NVIDIA's SDK writes them
 * (array). The expected REPORT_DATA or nonce, when given, is never dropped
 * silently: where it does not apply, that is an input error.
 */
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "veil/bundle.h"
#include "veil/codec.h"
#include "veil/limits.h"
#include "veil/x509.h"

veil_err cli_expected_values(const char *rd_hex, const char *nonce_hex, uint8_t rd[64],
			     uint8_t nonce[32], cli_evidence_opts *o, char *msg, size_t cap)
{
	size_t n = 0;

	memset(rd, 0, CLI_REPORT_DATA_LEN);
	if (rd_hex != NULL && nonce_hex != NULL) {
		snprintf(msg, cap, "--report-data and --nonce are alternatives; give one");
		return VEIL_E_USAGE;
	}
	if (rd_hex != NULL) {
		/* An empty value would silently mean "all zeros": a script whose
		 * nonce variable is empty must fail, not check for no nonce. */
		if (rd_hex[0] == '\0') {
			snprintf(msg, cap,
				 "--report-data is empty; give the expected value in hex");
			return VEIL_E_USAGE;
		}
		if (veil_hex_decode(rd_hex, strlen(rd_hex), rd, CLI_REPORT_DATA_LEN, &n) !=
		    VEIL_OK) {
			snprintf(msg, cap, "--report-data: %s", veil_err_detail());
			return VEIL_E_USAGE;
		}
		o->rd = rd; /* shorter values stay zero-padded */
	}
	if (nonce_hex != NULL) {
		if (veil_hex_decode(nonce_hex, strlen(nonce_hex), nonce, CLI_NONCE_LEN, &n) !=
			VEIL_OK ||
		    n != CLI_NONCE_LEN) {
			snprintf(msg, cap, "--nonce must be 32 bytes in hex (64 hex digits)");
			return VEIL_E_USAGE;
		}
		o->nonce = nonce;
	}
	return VEIL_OK;
}

/* Whether JSON evidence is a list (its first non-blank byte is '['). */
static bool json_input_is_list(const uint8_t *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
		i++;
	return i < len && buf[i] == '[';
}

static veil_err json_result(const cli_evidence_opts *o, const veil_verify_ctx *ctx,
			    const uint8_t *buf, size_t len, json_t **res, const char **tee,
			    char *msg, size_t cap)
{
	bool is_list = json_input_is_list(buf, len);
	veil_err err;

	*tee = is_list ? "nvidia" : "bundle";
	if (strcmp(o->tee, "auto") != 0 && strcmp(o->tee, "nvidia") != 0) {
		snprintf(msg, cap,
			 "%s is JSON (an evidence bundle or GPU evidence list); --tee %s does not "
			 "apply",
			 o->path, o->tee);
		return VEIL_E_USAGE;
	}
	/* A bundle binds its parts to its runtime_data (compare that with your
	 * challenge), and a GPU list has nonces, not REPORT_DATA. */
	if (o->rd != NULL || (o->nonce != NULL && !is_list)) {
		snprintf(msg, cap, "%s",
			 o->rd != NULL
			     ? "--report-data does not apply to JSON evidence; use --nonce for a "
			       "GPU list"
			     : "--nonce does not apply to an evidence bundle: its GPU nonces are "
			       "bound to runtime_data, which the result's claims show");
		return VEIL_E_USAGE;
	}
	veil_err_clear();
	err = is_list ? veil_gpu_list_verify(buf, len, ctx, o->nonce, res)
		      : veil_bundle_verify(buf, len, ctx, res);
	if (err != VEIL_OK)
		snprintf(msg, cap, "%s is not a valid %s: %s", o->path,
			 is_list ? "GPU evidence list" : "evidence bundle", veil_err_detail());
	return err;
}

static veil_err format_result(const cli_evidence_opts *o, const veil_evidence_format *fmt,
			      const veil_verify_ctx *ctx, const uint8_t *buf, size_t len,
			      json_t **res, char *msg, size_t cap)
{
	veil_checks *checks = malloc(sizeof *checks);
	json_t *claims = json_object();
	void *ev = NULL;
	veil_err err = VEIL_OK;

	if (checks == NULL || claims == NULL) {
		snprintf(msg, cap, "out of memory");
		err = VEIL_E_NOMEM;
		goto out;
	}
	veil_checks_init(checks);
	if ((o->rd != NULL && fmt->device) || (o->nonce != NULL && !fmt->device)) {
		snprintf(msg, cap, "%s does not apply to %s evidence; give its %s",
			 o->rd != NULL ? "--report-data" : "--nonce", fmt->name,
			 fmt->device ? "nonce with --nonce" : "REPORT_DATA with --report-data");
		err = VEIL_E_USAGE;
		goto out;
	}
	veil_err_clear();
	veil_err verr =
	    veil_evidence_verify(fmt, buf, len, ctx, fmt->device ? o->nonce : o->rd,
				 fmt->device ? CLI_NONCE_LEN : CLI_REPORT_DATA_LEN, checks, &ev);
	if (ev == NULL) {
		/* Parsing failed: malformed input, with the field named. */
		snprintf(msg, cap, "%s is not a valid %s: %s", o->path, fmt->name,
			 veil_err_detail());
		err = verr != VEIL_OK ? verr : VEIL_E_MALFORMED;
		goto out;
	}
	if (fmt->claims(ev, claims) != VEIL_OK) {
		snprintf(msg, cap, "cannot list claims: %s", veil_err_detail());
		err = VEIL_E_NOMEM;
		goto out;
	}
	*res = veil_result_json(fmt->name, verr == VEIL_OK && veil_checks_passed(checks), checks,
				claims, ctx->at);
	if (*res == NULL) {
		snprintf(msg, cap, "out of memory");
		err = VEIL_E_NOMEM;
	}
out:
	if (ev != NULL)
		fmt->free(ev);
	json_decref(claims);
	free(checks);
	return err;
}

veil_err cli_evidence_result(const cli_evidence_opts *o, const veil_verify_ctx *ctx, json_t **res,
			     const char **tee, char *msg, size_t cap)
{
	const veil_evidence_format *fmt;
	uint8_t *buf = NULL;
	size_t len = 0;
	cli_encoding used;
	veil_err err;

	*res = NULL;
	*tee = NULL;
	if (cli_read_evidence(o->path, o->encoding, &buf, &len, &used) != VEIL_OK) {
		snprintf(msg, cap, "%s", veil_err_detail());
		return VEIL_E_IO;
	}
	if (used == CLI_ENC_JSON) {
		err = json_result(o, ctx, buf, len, res, tee, msg, cap);
		free(buf);
		return err;
	}
	if (strcmp(o->tee, "auto") == 0) {
		fmt = veil_evidence_detect(buf, len);
		if (fmt == NULL)
			snprintf(msg, cap,
				 "%s (%zu bytes, read as %s) is not an SEV-SNP report, TDX quote, "
				 "NVIDIA GPU report or sim report that Veil recognises; pass --tee "
				 "snp, tdx, nvidia, sim or sim-gpu to see why",
				 o->path, len, cli_encoding_name(used));
	} else if ((fmt = veil_evidence_format_find(o->tee)) == NULL) {
		snprintf(msg, cap, "--tee must be snp, tdx, nvidia, sim, sim-gpu or auto, not '%s'",
			 o->tee);
	}
	if (fmt == NULL) {
		free(buf);
		return VEIL_E_USAGE;
	}
	*tee = fmt->name;
	err = format_result(o, fmt, ctx, buf, len, res, msg, cap);
	free(buf);
	return err;
}

/* Self-signed: issuer equals subject and the certificate's own key verifies
 * it. */
static bool self_signed(X509 *cert)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);

	return X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0 &&
	       key != NULL && X509_verify(cert, key) == 1;
}

veil_err cli_sim_roots_from(const veil_collateral *c, uint8_t (**roots)[32], size_t *count)
{
	size_t n = 0;

	*count = 0;
	*roots = calloc(VEIL_COLLATERAL_MAX_FILES, sizeof **roots);
	ENSURE(*roots != NULL, VEIL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < c->count; i++) {
		STACK_OF(X509) *certs = NULL;

		/* Not every collateral file is a certificate (CRLs, TCB Info, RIMs). */
		if (veil_certs_parse(c->blob[i].data, c->blob[i].len, &certs) != VEIL_OK) {
			veil_err_clear();
			continue;
		}
		for (int k = 0; k < sk_X509_num(certs) && n < VEIL_COLLATERAL_MAX_FILES; k++)
			if (self_signed(sk_X509_value(certs, k)) &&
			    veil_cert_sha256(sk_X509_value(certs, k), (*roots)[n]) == VEIL_OK)
				n++;
		sk_X509_pop_free(certs, X509_free);
	}
	*count = n;
	return VEIL_OK;
}

veil_err cli_read_file(const char *path, uint8_t **out, size_t *len)
{
	return veil_file_read(path, VEIL_JSON_MAX_BYTES, out, len);
}

void cli_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s != NULL)
		printf("%s\n", s);
	else
		fprintf(stderr, "veil: out of memory writing JSON\n");
	free(s);
}

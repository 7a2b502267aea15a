/*
 * cli.h - shared pieces of the veil command-line tool.
 *
 * Exit codes are the same for every command (docs/cli.md):
 *   0  success (for verify: the evidence is genuine)
 *   1  a check failed (for verify: not genuine, or could not be shown genuine)
 *   2  usage error, unreadable or malformed input
 */
#ifndef VEIL_CLI_H
#define VEIL_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "veil/collateral.h"
#include "veil/error.h"
#include "veil/evidence.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILED = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} cli_command;

int cmd_verify(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_appraise(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_kbs(int argc, char **argv);
/* veil kbs fetch (argv[1] is "fetch"). */
int cmd_kbs_fetch(int argc, char **argv);
/* What `veil kbs put-resource` does, for other commands (veil seal): stores
 * value at path through the admin API of the broker at url, signing the
 * call with the private admin key in the file admin_key (ca: the broker's
 * CA, or NULL). Prints the outcome; returns a CLI_EXIT_* code. */
int cli_kbs_put_resource(const char *url, const char *admin_key, const char *ca, const char *path,
			 const uint8_t *value, size_t len);
int cmd_seal(int argc, char **argv);
int cmd_unseal(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* veil gateway key create|list|revoke, veil gateway usage (gateway.c). */
int cmd_gateway(int argc, char **argv);
/* The user's side (docs/client.md): chat.c, proxy.c, verify_receipt.c, audit.c. */
int cmd_chat(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_verify_receipt(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* The operator's side (docs/host-check.md, docs/launch.md). */
int cmd_host_check(int argc, char **argv);
int cmd_launch(int argc, char **argv);

/* How evidence bytes were written in the file. */
typedef enum cli_encoding {
	CLI_ENC_AUTO,
	CLI_ENC_RAW,
	CLI_ENC_HEX,
	CLI_ENC_BASE64,
	CLI_ENC_JSON, /* a bundle or evidence list, passed through as text */
} cli_encoding;

/* Reads evidence from path ("-" for standard input), decoding hex or base64
 * when enc says so or, for CLI_ENC_AUTO, when the whole file is in that
 * alphabet. *used gets the encoding applied. Caller frees *out. */
VEIL_MUST_CHECK veil_err cli_read_evidence(const char *path, cli_encoding enc, uint8_t **out,
					   size_t *len, cli_encoding *used);
const char *cli_encoding_name(cli_encoding enc);

#define CLI_REPORT_DATA_LEN 64
#define CLI_NONCE_LEN       32

/* EVIDENCE as `veil verify` and `veil appraise` take it. */
typedef struct cli_evidence_opts {
	const char *path;
	cli_encoding encoding;
	const char *tee;      /* a format name or "auto" */
	const uint8_t *rd;    /* expected REPORT_DATA (64 bytes) or NULL */
	const uint8_t *nonce; /* expected GPU nonce (32 bytes) or NULL */
} cli_evidence_opts;

/* Decodes --report-data / --nonce (either may be NULL) into rd / nonce and
 * points o at what was given. On error msg says what is wrong. */
VEIL_MUST_CHECK veil_err cli_expected_values(const char *rd_hex, const char *nonce_hex,
					     uint8_t rd[CLI_REPORT_DATA_LEN],
					     uint8_t nonce[CLI_NONCE_LEN], cli_evidence_opts *o,
					     char *msg, size_t cap);
/* Reads, parses and verifies EVIDENCE (a report, a bundle or a GPU list) into
 * a result object (verdict inside). An error means the input could not be
 * read or parsed: msg says why, *tee names the format when known. */
VEIL_MUST_CHECK veil_err cli_evidence_result(const cli_evidence_opts *o, const veil_verify_ctx *ctx,
					     json_t **res, const char **tee, char *msg, size_t cap);
/* SHA-256 fingerprints of every self-signed certificate in the collateral
 * (new array, caller frees). */
VEIL_MUST_CHECK veil_err cli_sim_roots_from(const veil_collateral *c, uint8_t (**roots)[32],
					    size_t *count);
/* Reads a whole small file given on the command line. */
VEIL_MUST_CHECK veil_err cli_read_file(const char *path, uint8_t **out, size_t *len);
/* Writes a whole file through a temporary file beside it, fsync and rename,
 * so that path holds either its old content or all of the new. */
VEIL_MUST_CHECK veil_err cli_write_file(const char *path, const void *p, size_t n);
/* Prints a JSON value (sorted keys, indented) to stdout. */
void cli_print_json(const json_t *v);

#endif

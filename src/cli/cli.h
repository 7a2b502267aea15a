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

#include "veil/error.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILED = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} cli_command;

int cmd_verify(int argc, char **argv);

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

#endif

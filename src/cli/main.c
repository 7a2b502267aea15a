/*
 * main.c - the veil command: dispatches to one subcommand per file.
 *
 * One file (or a few) per command.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "veil/json.h"

static const cli_command commands[] = {
    {"verify", "check that TEE or GPU evidence is genuine and show its claims", cmd_verify},
    {"attest", "produce evidence on this machine (SEV-SNP, TDX, GPUs, or sim)", cmd_attest},
    {"appraise", "judge evidence against an appraisal policy; print an EAR result", cmd_appraise},
    {"sim", "create and measure a simulated TEE platform (development only)", cmd_sim},
    {"kbs", "administer a veil-kbs key broker: keys, resources, policies", cmd_kbs},
    {"seal", "encrypt a model file so that only a holder of its key can open it", cmd_seal},
    {"unseal", "check a sealed model with its key (--verify-only)", cmd_unseal},
    {"run", "generate text from a GGUF or sealed model with the built-in engine", cmd_run},
    {"gateway", "manage veil-gateway's API keys and read their usage", cmd_gateway},
    {"chat", "chat with an attested worker, end to end encrypted, receipts verified", cmd_chat},
    {"proxy", "a local OpenAI endpoint that verifies workers and encrypts end to end", cmd_proxy},
    {"verify-receipt", "check a response's receipt against the worker's evidence",
     cmd_verify_receipt},
    {"audit", "check a gateway's transparency log and the evidence it holds", cmd_audit},
    {"host-check", "check that this host can run a confidential worker VM; a signed report",
     cmd_host_check},
    {"launch", "start the worker's confidential VM with QEMU, only on a host that passes",
     cmd_launch},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: veil <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'veil <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	/* chat and proxy hold prompts and answers in jansson's memory. */
	veil_json_wipe_on_free();
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "veil: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}

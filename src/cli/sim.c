/*
 * sim.c - `veil sim`: manage a simulated TEE platform (include/veil/sim.h).
 *
 *   veil sim init [--gpus N] DIR    create a platform (keys, certificates,
 *                                   platform.json); prints the root's
 *                                   SHA-256 fingerprint, which a policy
 *                                   names to trust it
 *   veil sim measure FILE...        print the sim launch measurement of a
 *                                   workload (its binary and configuration)
 *
 * Exit 0 on success, 2 on bad usage or when the platform cannot be written.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "veil/codec.h"
#include "veil/sim.h"
#include "veil/timeutil.h"

static void sim_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: veil sim init [--gpus N] DIR\n"
	    "       veil sim measure FILE...\n"
	    "\n"
	    "A simulated TEE for development and CI: evidence signed by a local platform\n"
	    "key, trusted only where a policy names the platform's root, and always marked\n"
	    "insecure.\n"
	    "\n"
	    "  init DIR        create a platform in DIR (which must not exist or be empty):\n"
	    "                  root.pem (give it to `veil verify --sim-root`), root.sha256 (put\n"
	    "                  it in a policy's sim roots), keys (mode 0600) and\n"
	    "                  platform.json (TCB, debug flag, GPU state: edit to simulate)\n"
	    "  --gpus N        simulated GPUs, 0..%d (default 1)\n"
	    "  measure FILE..  the launch measurement `veil attest --tee sim --workload`\n"
	    "                  reports for these files (SHA-384, see docs/evidence-sim.md)\n"
	    "\n"
	    "exit status: 0 success, 2 usage error or failure to write\n",
	    VEIL_SIM_GPUS_MAX);
}

static int sim_init(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"gpus", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned gpus = 1;
	veil_sim *s = NULL;
	uint8_t fp[32];
	char hex[65];
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end = NULL;
		unsigned long v;
		switch (c) {
		case 'g':
			v = strtoul(optarg, &end, 10); /* checked: end and range below */
			if (end == optarg || *end != '\0' || v > VEIL_SIM_GPUS_MAX) {
				fprintf(stderr, "veil sim init: --gpus must be 0..%d\n",
					VEIL_SIM_GPUS_MAX);
				return CLI_EXIT_USAGE;
			}
			gpus = (unsigned)v;
			break;
		case 'h':
			sim_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "veil sim init: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "veil sim init: expected exactly one DIR\n");
		return CLI_EXIT_USAGE;
	}
	if (veil_sim_init(argv[optind], gpus, veil_time_now()) != VEIL_OK ||
	    veil_sim_open(argv[optind], &s) != VEIL_OK) {
		fprintf(stderr, "veil sim init: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	veil_sim_root_sha256(s, fp);
	veil_sim_free(s);
	veil_hex_encode(fp, sizeof fp, hex);
	printf("sim platform created in %s with %u GPU%s (INSECURE: for development only)\n"
	       "root sha256: %s\n"
	       "verify with: veil verify --sim-root %s/root.pem EVIDENCE\n",
	       argv[optind], gpus, gpus == 1 ? "" : "s", hex, argv[optind]);
	return CLI_EXIT_OK;
}

static int sim_measure(int argc, char **argv)
{
	uint8_t m[48];
	char hex[97];

	if (argc < 2) {
		fprintf(stderr, "veil sim measure: expected at least one FILE\n");
		return CLI_EXIT_USAGE;
	}
	if (veil_sim_measure((const char *const *)argv + 1, (size_t)argc - 1, m) != VEIL_OK) {
		fprintf(stderr, "veil sim measure: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	veil_hex_encode(m, sizeof m, hex);
	printf("%s\n", hex);
	return CLI_EXIT_OK;
}

int cmd_sim(int argc, char **argv)
{
	if (argc < 2) {
		sim_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		sim_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "init") == 0)
		return sim_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "measure") == 0)
		return sim_measure(argc - 1, argv + 1);
	fprintf(stderr, "veil sim: unknown subcommand '%s'\n\n", argv[1]);
	sim_usage(stderr);
	return CLI_EXIT_USAGE;
}

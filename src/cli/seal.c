/*
 * seal.c - `veil seal` and `veil unseal` (docs/sealed-model.md).
 *
 *   veil seal --in MODEL --out SEALED --key-out FILE [--resource PATH]
 *   veil seal --in MODEL --out SEALED --kbs URL --admin-key KEY --resource PATH
 *             [--ca FILE]
 *       options: --chunk-size BYTES (a power of two, 4096..16777216;
 *                default 1048576), --force (replace an existing SEALED)
 *   veil unseal --verify-only SEALED --key-file FILE [--threads N]
 *   veil unseal --info SEALED
 *
 * `seal` makes a fresh random key, seals MODEL, and keeps the key either
 * in a new 0600 file or in veil-kbs at PATH through the admin API (what
 * `veil kbs put-resource` does). The key is stored before SEALED appears,
 * and SEALED appears only complete: if storing the key fails, no sealed
 * file is left behind, and the other way round.
 *
 * `unseal --verify-only` opens the file as a worker would (every tag and
 * the digest) and keeps nothing; `--info` prints the header without a key,
 * unauthenticated, to see which key a file needs. There is deliberately
 * no way to write the plaintext back to disk: the operator who sealed a
 * model has the original, and a worker never needs one (see the docs).
 *
 * Exit status: 0 success; 1 the file fails verification or the broker
 * refused the key; 2 usage, unreadable input or a malformed file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "veil/codec.h"
#include "veil/seal.h"
#include "veil/secret.h"

static void seal_usage(FILE *f)
{
	fprintf(f,
		"usage: veil seal --in MODEL --out SEALED --key-out FILE [--resource PATH]\n"
		"       veil seal --in MODEL --out SEALED --kbs URL --admin-key KEY --resource "
		"PATH [--ca FILE]\n"
		"\n"
		"Encrypts MODEL with a fresh random key (AES-256-GCM, docs/sealed-model.md).\n"
		"The key goes to a new file of mode 0600 (--key-out), or to veil-kbs as the\n"
		"resource PATH (<repository>/<type>/<tag>) through its admin API.\n"
		"\n"
		"  --resource PATH     the KBS path of the key, recorded in the header\n"
		"  --chunk-size BYTES  a power of two, %d..%d (default %d)\n"
		"  --force             replace SEALED if it exists\n"
		"  --ca FILE           the broker's CA certificate, for https\n"
		"\n"
		"exit status: 0 sealed, 1 the broker refused the key, 2 usage or I/O error\n",
		1 << VEIL_SEAL_CHUNK_LOG2_MIN, 1 << VEIL_SEAL_CHUNK_LOG2_MAX,
		1 << VEIL_SEAL_CHUNK_LOG2_DEFAULT);
}

static void unseal_usage(FILE *f)
{
	fprintf(f, "usage: veil unseal --verify-only SEALED --key-file FILE [--threads N]\n"
		   "       veil unseal --info SEALED\n"
		   "\n"
		   "--verify-only decrypts SEALED in memory, checks every chunk and the model\n"
		   "digest, and prints the header as JSON; no plaintext is kept or written.\n"
		   "--info prints the header without a key (not authenticated).\n"
		   "\n"
		   "exit status: 0 verified, 1 verification failed, 2 usage or unreadable file\n");
}

/* What the before_publish hook needs: where the key goes. */
typedef struct seal_cli {
	const char *key_out, *kbs, *admin_key, *ca, *resource;
	const uint8_t *key;
	veil_seal_progress *progress;
	bool key_written;
	int kbs_rc;
} seal_cli;

static veil_err store_key(void *user)
{
	seal_cli *c = user;

	veil_seal_progress_done(c->progress);
	if (c->key_out != NULL) {
		TRY(veil_seal_key_write(c->key_out, c->key));
		c->key_written = true;
		return VEIL_OK;
	}
	c->kbs_rc = cli_kbs_put_resource(c->kbs, c->admin_key, c->ca, c->resource, c->key,
					 VEIL_SEAL_KEY_LEN);
	ENSURE(c->kbs_rc == CLI_EXIT_OK, VEIL_E_VERIFY,
	       "the key was not stored in the broker, so nothing was sealed");
	c->key_written = true;
	return VEIL_OK;
}

static bool parse_chunk_size(const char *s, unsigned *log2)
{
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10); /* checked: end and range below */

	if (end == s || *end != '\0')
		return false;
	for (unsigned l = VEIL_SEAL_CHUNK_LOG2_MIN; l <= VEIL_SEAL_CHUNK_LOG2_MAX; l++)
		if (v == 1ULL << l) {
			*log2 = l;
			return true;
		}
	return false;
}

int cmd_seal(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"in", required_argument, NULL, 'i'},
	    {"out", required_argument, NULL, 'o'},
	    {"key-out", required_argument, NULL, 'k'},
	    {"kbs", required_argument, NULL, 'u'},
	    {"admin-key", required_argument, NULL, 'a'},
	    {"ca", required_argument, NULL, 'c'},
	    {"resource", required_argument, NULL, 'r'},
	    {"chunk-size", required_argument, NULL, 's'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *in = NULL, *out = NULL;
	uint8_t key[VEIL_SEAL_KEY_LEN];
	seal_cli c = {0};
	veil_seal_params params = {0};
	veil_seal_progress progress;
	veil_seal_info info;
	char digest[2 * VEIL_SEAL_DIGEST_LEN + 1];
	veil_err err;
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'k':
			c.key_out = optarg;
			break;
		case 'u':
			c.kbs = optarg;
			break;
		case 'a':
			c.admin_key = optarg;
			break;
		case 'c':
			c.ca = optarg;
			break;
		case 'r':
			c.resource = optarg;
			break;
		case 'f':
			params.replace = true;
			break;
		case 's':
			if (!parse_chunk_size(optarg, &params.chunk_log2)) {
				fprintf(stderr,
					"veil seal: --chunk-size must be a power of two, %d..%d\n",
					1 << VEIL_SEAL_CHUNK_LOG2_MIN,
					1 << VEIL_SEAL_CHUNK_LOG2_MAX);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			seal_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "veil seal: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (in == NULL || out == NULL || optind != argc || (c.key_out == NULL) == (c.kbs == NULL)) {
		fprintf(stderr, "veil seal: give --in, --out and one of --key-out or --kbs\n");
		seal_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (c.kbs != NULL && (c.admin_key == NULL || c.resource == NULL)) {
		fprintf(stderr, "veil seal: --kbs needs --admin-key and --resource\n");
		return CLI_EXIT_USAGE;
	}
	/* Refuse now rather than after sealing a large model. */
	if (c.key_out != NULL && access(c.key_out, F_OK) == 0) {
		fprintf(stderr, "veil seal: %s exists; a key file is never replaced\n", c.key_out);
		return CLI_EXIT_USAGE;
	}
	if (c.admin_key != NULL && access(c.admin_key, R_OK) != 0) {
		fprintf(stderr, "veil seal: --admin-key %s: %s\n", c.admin_key, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if (veil_seal_keygen(key) != VEIL_OK) {
		fprintf(stderr, "veil seal: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	veil_seal_progress_init(&progress, STDERR_FILENO, "sealing");
	c.key = key;
	c.progress = &progress;
	params.resource = c.resource;
	params.before_publish = store_key;
	params.publish_user = &c;
	err = veil_seal_file(in, out, key, &params, veil_seal_progress_print, &progress, &info);
	veil_seal_progress_done(&progress);
	veil_wipe(key, sizeof key);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil seal: %s\n", veil_err_detail());
		/* The key was kept but the file could not be published (the
		 * rename failed): drop the key file we made; a key already in
		 * the broker is reported. */
		if (c.key_written && c.key_out != NULL)
			(void)unlink(c.key_out);
		else if (c.key_written)
			fprintf(stderr,
				"veil seal: the key is stored in the broker as %s, but %s was not "
				"created; remove it with veil kbs delete-resource\n",
				c.resource, out);
		/* The broker's refusal (1) or an unusable admin key (2) as
		 * `veil kbs put-resource` reports them; else a local failure. */
		return c.kbs_rc != CLI_EXIT_OK ? c.kbs_rc : CLI_EXIT_USAGE;
	}
	veil_hex_encode(info.digest, sizeof info.digest, digest);
	printf("sealed %s: %llu bytes in %llu chunks of %u bytes\n", out,
	       (unsigned long long)info.plaintext_len, (unsigned long long)info.chunk_count,
	       info.chunk_size);
	printf("model digest sha256:%s\n", digest);
	if (c.key_out != NULL)
		printf("key in %s (mode 0600); keep it secret\n", c.key_out);
	else
		printf("key stored in %s as %s\n", c.kbs, c.resource);
	return CLI_EXIT_OK;
}

/* The header as JSON. */
static json_t *info_json(const veil_seal_info *info, bool verified)
{
	char digest[7 + 2 * VEIL_SEAL_DIGEST_LEN + 1] = "sha256:";

	veil_hex_encode(info->digest, sizeof info->digest, digest + 7);
	return json_pack("{s:b, s:i, s:s, s:I, s:I, s:I, s:s, s:s?}", "verified", verified,
			 "version", (int)info->version, "cipher", "AES-256-GCM", "chunk_size",
			 (json_int_t)info->chunk_size, "chunks", (json_int_t)info->chunk_count,
			 "plaintext_length", (json_int_t)info->plaintext_len, "digest", digest,
			 "resource", info->resource[0] != '\0' ? info->resource : NULL);
}

static int unseal_result(veil_err err)
{
	switch (err) {
	case VEIL_E_VERIFY:
	case VEIL_E_MISMATCH:
	case VEIL_E_TRUNCATED:
	case VEIL_E_TRAILING:
		return CLI_EXIT_FAILED;
	default:
		return CLI_EXIT_USAGE;
	}
}

int cmd_unseal(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"verify-only", no_argument, NULL, 'v'},    {"info", no_argument, NULL, 'n'},
	    {"key-file", required_argument, NULL, 'k'}, {"threads", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	const char *key_file = NULL, *path;
	bool verify = false, info_only = false;
	unsigned threads = 0;
	uint8_t key[VEIL_SEAL_KEY_LEN];
	veil_sealed_model m;
	veil_seal_progress progress;
	json_t *j;
	veil_err err;
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end = NULL;
		unsigned long v;
		switch (opt) {
		case 'v':
			verify = true;
			break;
		case 'n':
			info_only = true;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 't':
			v = strtoul(optarg, &end, 10); /* checked: end and range below */
			if (end == optarg || *end != '\0' || v > VEIL_SEAL_THREADS_MAX) {
				fprintf(stderr,
					"veil unseal: --threads must be 0..%d (0: one per CPU)\n",
					VEIL_SEAL_THREADS_MAX);
				return CLI_EXIT_USAGE;
			}
			threads = (unsigned)v;
			break;
		case 'h':
			unseal_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "veil unseal: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || verify == info_only || (verify && key_file == NULL)) {
		if (!verify && !info_only)
			fprintf(stderr, "veil unseal: only --verify-only and --info exist: the "
					"plaintext of a sealed model is never written to disk\n");
		unseal_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	path = argv[optind];
	if (info_only) {
		err = veil_seal_peek(path, &m.info);
		if (err != VEIL_OK) {
			fprintf(stderr, "veil unseal: %s: %s\n", path, veil_err_detail());
			return CLI_EXIT_USAGE;
		}
		j = info_json(&m.info, false);
		cli_print_json(j);
		json_decref(j);
		return CLI_EXIT_OK;
	}
	if (veil_seal_key_read(key_file, key) != VEIL_OK) {
		fprintf(stderr, "veil unseal: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	veil_seal_progress_init(&progress, STDERR_FILENO, "verifying");
	err = veil_seal_open(path, key, threads, VEIL_SEAL_VERIFY_ONLY, veil_seal_progress_print,
			     &progress, &m);
	veil_seal_progress_done(&progress);
	veil_wipe(key, sizeof key);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil unseal: %s\n", veil_err_detail());
		return unseal_result(err);
	}
	j = info_json(&m.info, true);
	cli_print_json(j);
	json_decref(j);
	veil_sealed_model_clear(&m);
	return CLI_EXIT_OK;
}

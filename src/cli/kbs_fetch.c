/*
 * kbs_fetch.c - veil kbs fetch: the guest's side of the KBS protocol, what
 * a worker does at boot to get its model key, as a command.
 *
 *   veil kbs fetch --url URL --sim DIR [--workload FILE]... [--init-data FILE]
 *                  [--tee sim|auto|snp|tdx] [--gpus none|sim|nvml|auto]
 *                  [--retry-ms N] [--ca FILE] [--out FILE] PATH
 *
 * The protocol is the guest library's (include/veil/guest.h, docs/guest.md):
 * a fresh P-256 key held only in memory, /kbs/v0/auth, evidence bound to
 * the nonce and the key ({"additional-evidence", "nonce", "tee-pubkey"} as
 * CoCo's guest binds it, with the GPUs' reports in the additional evidence
 * when --gpus names any), /kbs/v0/attest, the resource, the JWE decrypted.
 * The resource goes to --out (created 0600) or standard output. Exit 0 on
 * success, 1 when the broker refuses or cannot be reached (the reason is
 * printed), 2 for usage or an --init-data file that cannot be read.
 *
 * With --init-data (an initdata TOML, docs/kbs.md "Init-data") it plays
 * both the host and the guest: the sim report's HOST_DATA is the digest
 * of the file by the algorithm the file names, fitted to 32 bytes (what a
 * host launching the guest with that init-data sets), instead of
 * platform.json's host_data, and the attest request carries
 * {"format": "toml", "body": <the file's text>}.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "veil/collateral.h"
#include "veil/guest.h"
#include "veil/kbs.h"
#include "veil/limits.h"
#include "veil/secret.h"

/* The longest --retry-ms: an hour, far beyond any start-up. */
#define FETCH_RETRY_MS_MAX 3600000L

typedef struct fetch_args {
	const char *url, *sim, *ca, *out, *path, *init_data, *tee, *gpus;
	const char *workloads[VEIL_SIM_WORKLOAD_FILES_MAX];
	size_t nworkloads;
	long retry_ms;
	char *init_text; /* --init-data's text, NUL-terminated */
} fetch_args;

/* --init-data: read, and refused here (exit 2, naming the file) when it is
 * not a document the broker could take; the guest checks it again. */
static veil_err init_data_read(const char *path, char **text)
{
	uint8_t *buf = NULL, digest[64];
	size_t len = 0, digest_len = 0;
	veil_err err;

	*text = NULL;
	CHECK(veil_file_read(path, VEIL_KBS_INITDATA_MAX_BYTES, &buf, &len));
	CHECK_THAT(memchr(buf, 0, len) == NULL, VEIL_E_MALFORMED, "it holds a NUL byte");
	CHECK(veil_kbs_initdata_digest((const char *)buf, len, digest, &digest_len));
	*text = malloc(len + 1);
	CHECK_THAT(*text != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(*text, buf, len);
	(*text)[len] = '\0';
out:
	if (err != VEIL_OK)
		err = veil_fail_context(err, "--init-data %s", path);
	free(buf);
	return err;
}

static bool write_out(const char *path, const uint8_t *p, size_t n)
{
	int fd = path == NULL ? STDOUT_FILENO
			      : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok = fd >= 0;

	while (ok && n > 0) {
		ssize_t w = write(fd, p, n);
		ok = w > 0;
		if (ok)
			p += w, n -= (size_t)w;
	}
	if (path != NULL && fd >= 0)
		ok = close(fd) == 0 && ok;
	return ok;
}

static void on_retry(void *user, unsigned attempt, long wait_ms, const char *why)
{
	(void)user;
	fprintf(stderr, "veil kbs fetch: try %u failed: %s; trying again in %ld ms\n", attempt, why,
		wait_ms);
}

static bool retry_ms_parse(const char *s, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10); /* checked: errno, end and range below */
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > FETCH_RETRY_MS_MAX)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, fetch_args *a)
{
	a->tee = "sim";
	a->gpus = "none";
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--url") == 0 && v != NULL)
			a->url = v, i++;
		else if (strcmp(argv[i], "--sim") == 0 && v != NULL)
			a->sim = v, i++;
		else if (strcmp(argv[i], "--ca") == 0 && v != NULL)
			a->ca = v, i++;
		else if (strcmp(argv[i], "--out") == 0 && v != NULL)
			a->out = v, i++;
		else if (strcmp(argv[i], "--tee") == 0 && v != NULL)
			a->tee = v, i++;
		else if (strcmp(argv[i], "--gpus") == 0 && v != NULL)
			a->gpus = v, i++;
		else if (strcmp(argv[i], "--retry-ms") == 0 && v != NULL &&
			 retry_ms_parse(v, &a->retry_ms))
			i++;
		else if (strcmp(argv[i], "--init-data") == 0 && v != NULL && a->init_data == NULL)
			a->init_data = v, i++;
		else if (strcmp(argv[i], "--workload") == 0 && v != NULL &&
			 a->nworkloads < VEIL_SIM_WORKLOAD_FILES_MAX)
			a->workloads[a->nworkloads++] = v, i++;
		else if (argv[i][0] != '-' && a->path == NULL)
			a->path = argv[i];
		else {
			fprintf(stderr, "veil kbs fetch: unexpected argument %s\n", argv[i]);
			return CLI_EXIT_USAGE;
		}
	}
	if (a->url == NULL || a->path == NULL || (strcmp(a->tee, "sim") == 0 && a->sim == NULL)) {
		fprintf(stderr, "usage: veil kbs fetch --url URL --sim DIR [--workload FILE]... "
				"[--init-data FILE] [--tee sim|auto|snp|tdx] "
				"[--gpus none|sim|nvml|auto] [--retry-ms N] [--ca FILE] "
				"[--out FILE] PATH\n");
		return CLI_EXIT_USAGE;
	}
	return -1;
}

int cmd_kbs_fetch(int argc, char **argv)
{
	fetch_args a = {0};
	veil_guest *g = NULL;
	uint8_t *value = NULL;
	size_t len = 0;
	veil_err err;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	/* Unreadable init-data is bad input (exit 2), found before any
	 * exchange with the broker. */
	if (a.init_data != NULL && init_data_read(a.init_data, &a.init_text) != VEIL_OK) {
		fprintf(stderr, "veil kbs fetch: %s\n", veil_err_detail());
		return CLI_EXIT_USAGE;
	}
	veil_guest_config c = {
	    .tee = a.tee,
	    .sim_dir = a.sim,
	    .workload = a.workloads,
	    .n_workload = a.nworkloads,
	    .gpus = a.gpus,
	    .init_data = a.init_text,
	};
	veil_kbs_fetch_params p = {
	    .url = a.url,
	    .resource = a.path,
	    .ca_file = a.ca,
	    .deadline_ms = a.retry_ms,
	    .on_retry = on_retry,
	};
	/* A configuration the guest refuses is a usage error; after that,
	 * only a resource path or URL it cannot use is (anything malformed
	 * now came from the broker). */
	err = veil_guest_open(&c, &g);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil kbs fetch: %s\n", veil_err_detail());
		rc = err == VEIL_E_USAGE || err == VEIL_E_MALFORMED || err == VEIL_E_LIMIT
			 ? CLI_EXIT_USAGE
			 : CLI_EXIT_FAILED;
		goto out;
	}
	err = veil_guest_kbs_fetch(g, &p, &value, &len);
	if (err != VEIL_OK) {
		fprintf(stderr, "veil kbs fetch: %s\n", veil_err_detail());
		rc = err == VEIL_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
		goto out;
	}
	rc = write_out(a.out, value, len) ? CLI_EXIT_OK : CLI_EXIT_FAILED;
	if (rc != CLI_EXIT_OK)
		fprintf(stderr, "veil kbs fetch: cannot write %s\n",
			a.out != NULL ? a.out : "stdout");
out:
	veil_free_secret(value, len);
	veil_guest_free(g);
	free(a.init_text);
	return rc;
}

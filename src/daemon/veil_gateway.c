/*
 * veil_gateway.c - the veil-gateway daemon: reads its configuration from
 * flags, opens the transparency log and the accounts, and serves the
 * gateway (include/veil/gateway.h, docs/gateway.md) until SIGINT or
 * SIGTERM.
 *
 * Usage:
 *   veil-gateway --log FILE --sth-key FILE [--create-sth-key] --policy FILE
 *                [--reference-values FILE]... [--collateral DIR]
 *                [--accounts FILE] [--plain-worker URL]...
 *                [--reattest S] [--health S] [--upstream-timeout S] [--join-ttl S]
 *                [--listen ADDR] [--port N] [--port-file FILE] [--threads N]
 *                [--tls-cert FILE --tls-key FILE]
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage or configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "veil/collateral.h"
#include "veil/gateway.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define REFVALS_FILES_MAX 16
#define PLAIN_WORKERS_MAX 64
#define POLICY_FILE_MAX   (1 << 20)
#define KEY_FILE_MAX      8192

typedef struct gateway_options {
	const char *log, *sth_key, *policy, *collateral, *accounts, *listen, *port_file;
	const char *tls_cert, *tls_key;
	const char *refvals[REFVALS_FILES_MAX];
	size_t refvals_count;
	const char *plain[PLAIN_WORKERS_MAX];
	size_t plain_count;
	bool create_sth_key;
	long port, threads, reattest, health, upstream, join_ttl;
} gateway_options;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: veil-gateway --log FILE --sth-key FILE [--create-sth-key] --policy FILE\n"
		"                    [--reference-values FILE]... [--collateral DIR]\n"
		"                    [--accounts FILE] [--plain-worker URL]...\n"
		"                    [--reattest S] [--health S] [--upstream-timeout S]\n"
		"                    [--join-ttl S] [--listen ADDR] [--port N] [--port-file FILE]\n"
		"                    [--threads N] [--tls-cert FILE --tls-key FILE]\n");
}

static int options_parse(int argc, char **argv, gateway_options *o)
{
	const daemon_num_opt nums[] = {
	    {"--port", 0, 65535, &o->port},
	    {"--threads", 0, 64, &o->threads},
	    {"--reattest", 1, 86400, &o->reattest},
	    {"--health", 1, 3600, &o->health},
	    {"--upstream-timeout", 1, 3600, &o->upstream},
	    {"--join-ttl", 1, 600, &o->join_ttl},
	};

	o->listen = "127.0.0.1";
	o->port = 8088;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--create-sth-key") == 0) {
			o->create_sth_key = true;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "veil-gateway: %s needs a value (or is unknown)\n", a);
			return 2;
		}
		switch (
		    daemon_num_option("veil-gateway", nums, sizeof nums / sizeof nums[0], a, v)) {
		case -1:
			return 2;
		case 1:
			i++;
			continue;
		}
		if (strcmp(a, "--log") == 0)
			o->log = v;
		else if (strcmp(a, "--sth-key") == 0)
			o->sth_key = v;
		else if (strcmp(a, "--policy") == 0)
			o->policy = v;
		else if (strcmp(a, "--collateral") == 0)
			o->collateral = v;
		else if (strcmp(a, "--accounts") == 0)
			o->accounts = v;
		else if (strcmp(a, "--listen") == 0)
			o->listen = v;
		else if (strcmp(a, "--port-file") == 0)
			o->port_file = v;
		else if (strcmp(a, "--tls-cert") == 0)
			o->tls_cert = v;
		else if (strcmp(a, "--tls-key") == 0)
			o->tls_key = v;
		else if (strcmp(a, "--reference-values") == 0) {
			if (o->refvals_count == REFVALS_FILES_MAX) {
				fprintf(stderr,
					"veil-gateway: at most %d --reference-values files\n",
					REFVALS_FILES_MAX);
				return 2;
			}
			o->refvals[o->refvals_count++] = v;
		} else if (strcmp(a, "--plain-worker") == 0) {
			if (o->plain_count == PLAIN_WORKERS_MAX) {
				fprintf(stderr, "veil-gateway: at most %d --plain-worker URLs\n",
					PLAIN_WORKERS_MAX);
				return 2;
			}
			o->plain[o->plain_count++] = v;
		} else {
			fprintf(stderr, "veil-gateway: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (o->log == NULL || o->sth_key == NULL || o->policy == NULL) {
		fprintf(stderr, "veil-gateway: --log, --sth-key and --policy are required\n");
		usage(stderr);
		return 2;
	}
	if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
		fprintf(stderr, "veil-gateway: --tls-cert and --tls-key go together\n");
		return 2;
	}
	return 0;
}

/* The tree-head key: read, or with --create-sth-key made when the file is
 * missing (written 0600, exclusively, so an existing key is never
 * replaced). */
static veil_err sth_key_load(const char *path, bool create, veil_jwk **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	veil_err err;

	if (create && access(path, F_OK) != 0 && errno == ENOENT) {
		veil_jwk *k;
		char *text;
		size_t n;
		int fd;
		TRY(veil_jwk_generate(VEIL_JWK_EC_P256, 0, &k));
		err = veil_jwk_export_private(k, &text, &n);
		veil_jwk_free(k);
		TRY(err);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		err = fd >= 0 && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0
			  ? VEIL_OK
			  : veil_fail(VEIL_E_IO, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		veil_free_secret(text, n);
		TRY(err);
		fprintf(stderr, "veil-gateway: made a new tree-head key in %s\n", path);
	}
	err = veil_file_read(path, KEY_FILE_MAX, &buf, &len);
	if (err != VEIL_OK)
		return err;
	err = veil_jwk_parse_private_bytes(buf, len, out);
	veil_free_secret(buf, len);
	if (err != VEIL_OK)
		return veil_fail_context(err, "--sth-key %s", path);
	return VEIL_OK;
}

static int fail(const char *what)
{
	fprintf(stderr, "veil-gateway: %s: %s\n", what, veil_err_detail());
	return 2;
}

int main(int argc, char **argv)
{
	gateway_options o;
	veil_http_server *server = NULL;
	veil_gateway *g = NULL;
	veil_jwk *sth_key = NULL;
	veil_policy *policy = NULL;
	veil_refvals *rv = NULL;
	veil_collateral collateral;
	uint8_t *buf = NULL;
	size_t len = 0;
	daemon_signals sig;
	int rc;

	memset(&o, 0, sizeof o);
	veil_collateral_init(&collateral);
	rc = options_parse(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (sth_key_load(o.sth_key, o.create_sth_key, &sth_key) != VEIL_OK) {
		rc = fail("tree-head key");
		goto out;
	}
	if (veil_file_read(o.policy, POLICY_FILE_MAX, &buf, &len) != VEIL_OK ||
	    veil_policy_parse(buf, len, o.policy, &policy) != VEIL_OK) {
		rc = fail("--policy");
		goto out;
	}
	free(buf);
	buf = NULL;
	if (veil_refvals_new(&rv) != VEIL_OK) {
		rc = fail("reference values");
		goto out;
	}
	for (size_t i = 0; i < o.refvals_count; i++) {
		if (veil_file_read(o.refvals[i], POLICY_FILE_MAX, &buf, &len) != VEIL_OK ||
		    veil_refvals_load(rv, buf, len, o.refvals[i]) != VEIL_OK) {
			rc = fail("--reference-values");
			goto out;
		}
		free(buf);
		buf = NULL;
	}
	if (o.collateral != NULL && veil_collateral_add_dir(&collateral, o.collateral) != VEIL_OK) {
		rc = fail("--collateral");
		goto out;
	}
	daemon_signals_block(&sig, "veil-gateway");
	veil_http_config hc = {.address = o.listen,
			       .port = (uint16_t)o.port,
			       .threads = (unsigned)o.threads,
			       .max_body_bytes = VEIL_GW_BODY_MAX,
			       .tls_cert = o.tls_cert,
			       .tls_key = o.tls_key};
	if (veil_http_server_new(&hc, &server) != VEIL_OK) {
		rc = fail("HTTP server");
		goto out;
	}
	veil_gateway_config gc = {.log_path = o.log,
				  .sth_key = sth_key,
				  .policy = policy,
				  .refvals = rv,
				  .collateral = o.collateral != NULL ? &collateral : NULL,
				  .accounts_path = o.accounts,
				  .plain_workers = o.plain,
				  .plain_worker_count = o.plain_count,
				  .reattest_s = (unsigned)o.reattest,
				  .health_s = (unsigned)o.health,
				  .upstream_s = (unsigned)o.upstream,
				  .join_ttl_s = (unsigned)o.join_ttl};
	if (veil_gateway_new(&gc, &g) != VEIL_OK) {
		rc = fail("gateway");
		goto out;
	}
	if (veil_gateway_mount(g, server) != VEIL_OK) {
		rc = fail("routes");
		goto out;
	}
	fprintf(stderr, "veil-gateway: listening on %s port %u (%s)\n", o.listen,
		veil_http_server_port(server), veil_http_server_tls(server) ? "TLS" : "plain HTTP");
	if (o.port_file != NULL &&
	    !daemon_write_port_file("veil-gateway", o.port_file, veil_http_server_port(server))) {
		rc = 1;
		goto out;
	}
	if (!daemon_signals_start(&sig, server, NULL, NULL)) {
		rc = 1;
		goto out;
	}
	rc = veil_http_server_run(server) == VEIL_OK ? 0 : 1;
	daemon_signals_join(&sig, rc != 0);
out:
	veil_gateway_stop(g);
	veil_http_server_free(server);
	veil_gateway_free(g);
	veil_collateral_clear(&collateral);
	veil_refvals_free(rv);
	veil_policy_free(policy);
	veil_jwk_free(sth_key);
	free(buf);
	return rc;
}

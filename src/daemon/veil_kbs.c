/*
 * veil_kbs.c - the veil-kbs daemon: reads its configuration from flags,
 * opens the store, and serves the KBS protocol (docs/kbs.md) until SIGINT
 * or SIGTERM.
 *
 * Signals are blocked in every thread and taken by this one with
 * sigtimedwait, which also wakes it once a minute to collect expired
 * sessions, so no work ever runs in a signal handler.
 *
 * Usage:
 *   veil-kbs --db FILE --master-key FILE [--create-master-key]
 *            [--listen ADDR] [--port N] [--port-file FILE] [--threads N]
 *            [--policy FILE] [--reference-values FILE]... [--resource-policy FILE]
 *            [--tls-cert FILE --tls-key FILE] [--token-lifetime S]
 *            [--session-lifetime S] [--admin-key FILE | --insecure-admin]
 *            [--collateral DIR] [--token-key FILE [--token-cert FILE]]
 *   veil-kbs put-resource --db FILE --master-key FILE PATH FILE
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage or configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "veil/collateral.h"
#include "veil/jose.h"
#include "veil/kbs.h"
#include "veil/secret.h"

#define REFVALS_FILES_MAX 16

typedef struct kbs_options {
	const char *db, *master_key, *listen, *port_file, *policy, *resource_policy;
	const char *tls_cert, *tls_key, *admin_key, *collateral, *token_key, *token_cert;
	const char *refvals[REFVALS_FILES_MAX];
	size_t refvals_count;
	bool create_master_key, insecure_admin;
	long port, threads, token_lifetime, session_lifetime;
} kbs_options;

static void usage(FILE *out)
{
	fprintf(out, "usage: veil-kbs --db FILE --master-key FILE [--create-master-key]\n"
		     "                [--listen ADDR] [--port N] [--port-file FILE] [--threads N]\n"
		     "                [--policy FILE] [--reference-values FILE]...\n"
		     "                [--resource-policy FILE] [--tls-cert FILE --tls-key FILE]\n"
		     "                [--token-lifetime SECONDS] [--session-lifetime SECONDS]\n"
		     "                [--admin-key FILE | --insecure-admin] [--collateral DIR]\n"
		     "                [--token-key FILE [--token-cert FILE]]\n"
		     "       veil-kbs put-resource --db FILE --master-key FILE PATH FILE\n");
}

static int options_parse(int argc, char **argv, kbs_options *o)
{
	o->listen = "127.0.0.1";
	o->port = 8080;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--create-master-key") == 0) {
			o->create_master_key = true;
			takes = false;
		} else if (strcmp(a, "--insecure-admin") == 0) {
			o->insecure_admin = true;
			takes = false;
		} else if (v == NULL) {
			fprintf(stderr, "veil-kbs: %s needs a value (or is unknown)\n", a);
			return 2;
		} else if (strcmp(a, "--db") == 0) {
			o->db = v;
		} else if (strcmp(a, "--master-key") == 0) {
			o->master_key = v;
		} else if (strcmp(a, "--listen") == 0) {
			o->listen = v;
		} else if (strcmp(a, "--port-file") == 0) {
			o->port_file = v;
		} else if (strcmp(a, "--policy") == 0) {
			o->policy = v;
		} else if (strcmp(a, "--resource-policy") == 0) {
			o->resource_policy = v;
		} else if (strcmp(a, "--tls-cert") == 0) {
			o->tls_cert = v;
		} else if (strcmp(a, "--tls-key") == 0) {
			o->tls_key = v;
		} else if (strcmp(a, "--admin-key") == 0) {
			o->admin_key = v;
		} else if (strcmp(a, "--collateral") == 0) {
			o->collateral = v;
		} else if (strcmp(a, "--token-key") == 0) {
			o->token_key = v;
		} else if (strcmp(a, "--token-cert") == 0) {
			o->token_cert = v;
		} else if (strcmp(a, "--reference-values") == 0) {
			if (o->refvals_count == REFVALS_FILES_MAX) {
				fprintf(stderr, "veil-kbs: at most %d --reference-values files\n",
					REFVALS_FILES_MAX);
				return 2;
			}
			o->refvals[o->refvals_count++] = v;
		} else if (strcmp(a, "--port") == 0) {
			if (!daemon_number(v, 0, 65535, &o->port))
				goto bad_number;
		} else if (strcmp(a, "--threads") == 0) {
			if (!daemon_number(v, 0, 64, &o->threads))
				goto bad_number;
		} else if (strcmp(a, "--token-lifetime") == 0) {
			if (!daemon_number(v, 1, 86400, &o->token_lifetime))
				goto bad_number;
		} else if (strcmp(a, "--session-lifetime") == 0) {
			if (!daemon_number(v, 1, 86400, &o->session_lifetime))
				goto bad_number;
		} else {
			fprintf(stderr, "veil-kbs: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
		if (takes)
			i++;
		continue;
	bad_number:
		fprintf(stderr, "veil-kbs: %s: \"%s\" is not a number in range\n", a, v);
		return 2;
	}
	/* Without authentication the admin API is for one's own machine only. */
	if (o->insecure_admin && strcmp(o->listen, "127.0.0.1") != 0 &&
	    strcmp(o->listen, "::1") != 0) {
		fprintf(stderr, "veil-kbs: --insecure-admin is allowed only on a loopback address "
				"(--listen 127.0.0.1 or ::1)\n");
		return 2;
	}
	if (o->admin_key != NULL && o->insecure_admin) {
		fprintf(stderr, "veil-kbs: --admin-key and --insecure-admin exclude each other\n");
		return 2;
	}
	if (o->token_cert != NULL && o->token_key == NULL) {
		fprintf(stderr,
			"veil-kbs: --token-cert needs --token-key (the certificate's key)\n");
		return 2;
	}
	if (o->db == NULL || o->master_key == NULL) {
		fprintf(stderr, "veil-kbs: --db and --master-key are required\n");
		usage(stderr);
		return 2;
	}
	return 0;
}

static int fail(const char *what)
{
	fprintf(stderr, "veil-kbs: %s: %s\n", what, veil_err_detail());
	return 2;
}

static veil_err store_open(const char *db, const char *key_path, bool create, veil_store **out)
{
	uint8_t key[VEIL_STORE_MASTER_KEY_LEN];
	veil_err err;

	if (create && access(key_path, F_OK) != 0)
		TRY(veil_store_master_key_create(key_path));
	TRY(veil_store_master_key_load(key_path, key));
	err = veil_store_open_sqlite(db, key, out);
	veil_wipe(key, sizeof key);
	return err;
}

/* veil-kbs put-resource: writes one resource straight into the store (the
 * admin API is the way for a running broker). */
static int put_resource(int argc, char **argv)
{
	const char *db = NULL, *key = NULL, *path = NULL, *file = NULL;
	veil_store *store = NULL;
	uint8_t *value = NULL;
	size_t len = 0;
	veil_err err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--master-key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (path == NULL)
			path = argv[i];
		else if (file == NULL)
			file = argv[i];
		else
			path = NULL, i = argc;
	}
	if (db == NULL || key == NULL || path == NULL || file == NULL) {
		usage(stderr);
		return 2;
	}
	err = veil_file_read(file, VEIL_STORE_VALUE_MAX, &value, &len);
	if (err == VEIL_OK)
		err = store_open(db, key, false, &store);
	if (err == VEIL_OK)
		err = veil_store_resource_put(store, path, value, len);
	veil_free_secret(value, len);
	veil_store_close(store);
	if (err != VEIL_OK)
		return fail("put-resource");
	fprintf(stderr, "veil-kbs: stored %s (%zu bytes)\n", path, len);
	return 0;
}

static veil_err file_load(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	veil_err err = veil_file_read(path, max, buf, len);
	return err == VEIL_OK ? VEIL_OK : veil_fail_context(err, "%s", path);
}

typedef struct signal_waiter {
	veil_http_server *server;
	veil_store *store;
	sigset_t set;
} signal_waiter;

static void *signal_thread(void *arg)
{
	signal_waiter *w = arg;
	struct timespec minute = {60, 0};

	for (;;) {
		int sig = sigtimedwait(&w->set, NULL, &minute);
		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "veil-kbs: signal %d, stopping\n", sig);
			veil_http_server_stop(w->server);
			return NULL;
		}
		if (sig < 0 && errno == EAGAIN) {
			size_t removed = 0;
			if (veil_store_session_collect(w->store, (int64_t)time(NULL), &removed) !=
			    VEIL_OK)
				fprintf(stderr, "veil-kbs: session collection: %s\n",
					veil_err_detail());
		}
	}
}

/* A file read whole, for the documents handed to the broker. */
typedef struct loaded_file {
	uint8_t *buf;
	size_t len;
} loaded_file;

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash != NULL ? slash + 1 : path;
}

int main(int argc, char **argv)
{
	kbs_options o = {0};
	veil_store *store = NULL;
	loaded_file policy = {0}, rp = {0}, rv[REFVALS_FILES_MAX] = {{0}};
	loaded_file token_key = {0}, token_cert = {0};
	veil_kbs_doc rv_docs[REFVALS_FILES_MAX];
	veil_jwk *admin = NULL;
	veil_collateral collateral;
	veil_http_server *server = NULL;
	veil_kbs *kbs = NULL;
	signal_waiter waiter;
	pthread_t sig_thread;
	int rc;

	if (argc > 1 && strcmp(argv[1], "put-resource") == 0)
		return put_resource(argc - 1, argv + 1);
	veil_collateral_init(&collateral);
	rc = options_parse(argc, argv, &o);
	if (rc != 0)
		return rc;
	rc = 2;
	if (store_open(o.db, o.master_key, o.create_master_key, &store) != VEIL_OK) {
		rc = fail("store");
		goto out;
	}
	if (o.policy != NULL &&
	    file_load(o.policy, VEIL_STORE_DOC_MAX, &policy.buf, &policy.len) != VEIL_OK) {
		rc = fail("appraisal policy");
		goto out;
	}
	for (size_t i = 0; i < o.refvals_count; i++) {
		if (file_load(o.refvals[i], VEIL_STORE_DOC_MAX, &rv[i].buf, &rv[i].len) !=
		    VEIL_OK) {
			rc = fail("reference values");
			goto out;
		}
		rv_docs[i] = (veil_kbs_doc){base_name(o.refvals[i]), rv[i].buf, rv[i].len};
	}
	if (o.resource_policy != NULL &&
	    file_load(o.resource_policy, VEIL_STORE_DOC_MAX, &rp.buf, &rp.len) != VEIL_OK) {
		rc = fail("resource policy");
		goto out;
	}
	if (o.admin_key != NULL) {
		loaded_file key = {0};
		veil_err err = file_load(o.admin_key, VEIL_JWK_MAX_BYTES, &key.buf, &key.len);
		if (err == VEIL_OK)
			err = veil_jwk_parse_public_bytes(key.buf, key.len, &admin);
		free(key.buf);
		if (err != VEIL_OK) {
			rc = fail("--admin-key (a public JWK, Ed25519 or EC P-256)");
			goto out;
		}
	}
	if ((o.token_key != NULL && file_load(o.token_key, VEIL_JWK_MAX_BYTES, &token_key.buf,
					      &token_key.len) != VEIL_OK) ||
	    (o.token_cert != NULL && file_load(o.token_cert, VEIL_COLLATERAL_FILE_MAX_BYTES,
					       &token_cert.buf, &token_cert.len) != VEIL_OK)) {
		rc = fail("token signer");
		goto out;
	}
	if (o.collateral != NULL && veil_collateral_add_dir(&collateral, o.collateral) != VEIL_OK) {
		rc = fail("--collateral");
		goto out;
	}
	if (o.insecure_admin)
		fprintf(stderr, "veil-kbs: WARNING: --insecure-admin: the admin API accepts every "
				"caller. Development only.\n");
	{
		veil_kbs_config kc = {.store = store,
				      .policy = policy.buf,
				      .policy_len = policy.len,
				      .refvals = rv_docs,
				      .refvals_count = o.refvals_count,
				      .resource_policy = rp.buf,
				      .resource_policy_len = rp.len,
				      .admin_key = admin,
				      .collateral = &collateral,
				      .insecure_admin = o.insecure_admin,
				      .token_key = token_key.buf,
				      .token_key_len = token_key.len,
				      .token_chain = token_cert.buf,
				      .token_chain_len = token_cert.len,
				      .token_lifetime_s = o.token_lifetime,
				      .session_lifetime_s = o.session_lifetime};
		veil_http_config hc = {.address = o.listen,
				       .port = (uint16_t)o.port,
				       .threads = (unsigned)o.threads,
				       .tls_cert = o.tls_cert,
				       .tls_key = o.tls_key};
		if (veil_kbs_new(&kc, &kbs) != VEIL_OK) {
			rc = fail("key broker");
			goto out;
		}
		/* Block the signals before any thread starts, so all inherit it. */
		sigemptyset(&waiter.set);
		sigaddset(&waiter.set, SIGINT);
		sigaddset(&waiter.set, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &waiter.set, NULL);
		signal(SIGPIPE, SIG_IGN);
		if (veil_http_server_new(&hc, &server) != VEIL_OK ||
		    veil_kbs_mount(kbs, server) != VEIL_OK) {
			rc = fail("HTTP server");
			goto out;
		}
	}
	fprintf(stderr, "veil-kbs: listening on %s port %u (%s)%s\n", o.listen,
		veil_http_server_port(server), veil_http_server_tls(server) ? "TLS" : "plain HTTP",
		admin == NULL && !o.insecure_admin ? "; admin API disabled (no --admin-key)" : "");
	if (o.port_file != NULL &&
	    !daemon_write_port_file("veil-kbs", o.port_file, veil_http_server_port(server)))
		goto out;
	waiter.server = server;
	waiter.store = store;
	if (pthread_create(&sig_thread, NULL, signal_thread, &waiter) != 0) {
		fprintf(stderr, "veil-kbs: cannot start the signal thread\n");
		goto out;
	}
	rc = veil_http_server_run(server) == VEIL_OK ? 0 : 1;
	pthread_join(sig_thread, NULL);
out:
	veil_http_server_free(server);
	veil_kbs_free(kbs);
	veil_jwk_free(admin);
	veil_collateral_clear(&collateral);
	veil_store_close(store);
	free(policy.buf);
	free(rp.buf);
	veil_free_secret(token_key.buf, token_key.len);
	free(token_cert.buf);
	for (size_t i = 0; i < REFVALS_FILES_MAX; i++)
		free(rv[i].buf);
	return rc;
}

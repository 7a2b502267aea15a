/*
 * veil_worker.c - the veil-worker daemon: reads its configuration from
 * flags, starts the worker (include/veil/worker.h: keys, platform check,
 * model key from veil-kbs, sealed model, evidence) and serves the API
 * until SIGINT or SIGTERM (docs/worker.md).
 *
 * Usage:
 *   veil-worker --model SEALED (--kbs URL [--kbs-resource PATH] [--kbs-ca FILE]
 *               | --key-file FILE)
 *               (--tee sim --sim DIR [--workload FILE]... | --tee auto|snp|tdx [--backend B])
 *               [--gpus none|sim|nvml|auto] [--init-data FILE] [--id ID] [--model-name NAME]
 *               [--upstream URL] [--parallel N] [--threads N] [--queue N] [--ctx N]
 *               [--max-tokens N] [--prompt-max N] [--timeout S] [--attest-rate N] [--pad]
 *               [--ohttp-key-id N]
 *               [--listen ADDR] [--port N] [--port-file FILE] [--http-threads N]
 *               [--tls-cert FILE --tls-key FILE] [--kbs-deadline-ms N]
 *               [--gateway URL --advertise URL [--gateway-ca FILE]] [--bench-reply]
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage or a start-up
 * step refused (the message names it).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/daemon.h"
#include "veil/collateral.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"
#include "veil/worker.h"

#define WORKLOADS_MAX 16

typedef struct worker_options {
	veil_worker_config wc;
	const char *listen, *port_file, *tls_cert, *tls_key, *init_data_path;
	const char *workloads[WORKLOADS_MAX];
	long port, http_threads;
} worker_options;

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: veil-worker --model SEALED (--kbs URL [--kbs-resource PATH] [--kbs-ca FILE]\n"
	    "                   | --key-file FILE)\n"
	    "                   (--tee sim --sim DIR [--workload FILE]... | --tee auto|snp|tdx\n"
	    "                   [--backend auto|configfs-tsm|sev-guest|tdx-guest])\n"
	    "                   [--gpus none|sim|nvml|auto] [--init-data FILE] [--id ID]\n"
	    "                   [--model-name NAME] [--upstream URL|unix:/PATH]\n"
	    "                   [--parallel N] [--threads N] [--queue N] [--ctx N]\n"
	    "                   [--max-tokens N] [--prompt-max N] [--timeout S]\n"
	    "                   [--attest-rate N] [--pad] [--ohttp-key-id N]\n"
	    "                   [--listen ADDR] [--port N]\n"
	    "                   [--port-file FILE] [--http-threads N]\n"
	    "                   [--tls-cert FILE --tls-key FILE] [--kbs-deadline-ms N]\n"
	    "                   [--gateway URL --advertise URL [--gateway-ca FILE]]\n"
	    "                   [--bench-reply]\n"
	    "--bench-reply answers every completion \"ok\" without the model, to measure a\n"
	    "gateway's overhead; never use it in production (docs/worker.md).\n");
}

static int options_parse(int argc, char **argv, worker_options *o)
{
	veil_worker_config *c = &o->wc;
	long slots = 0, threads = 0, queue = 0, ctx = 0, max_tokens = 0, prompt_max = 0;
	long timeout = 0, rate = 0, deadline = 0, key_id = 0;
	const daemon_num_opt nums[] = {
	    {"--port", 0, 65535, &o->port},
	    {"--http-threads", 0, 64, &o->http_threads},
	    {"--parallel", 1, 64, &slots},
	    {"--threads", 1, 256, &threads},
	    {"--queue", 1, 4096, &queue},
	    {"--ctx", 16, 1 << 20, &ctx},
	    {"--max-tokens", 1, 1 << 20, &max_tokens},
	    {"--prompt-max", 1, 1 << 20, &prompt_max},
	    {"--timeout", 1, 86400, &timeout},
	    {"--attest-rate", 1, 10000, &rate},
	    {"--kbs-deadline-ms", 1, 3600 * 1000, &deadline},
	    {"--ohttp-key-id", 1, 255, &key_id},
	};
	size_t nw = 0;

	o->listen = "127.0.0.1";
	o->port = 8090;
	c->guest.gpus = "none";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--pad") == 0) {
			c->pad_stream = true;
			continue;
		}
		if (strcmp(a, "--bench-reply") == 0) {
			c->bench_reply = true;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "veil-worker: %s needs a value (or is unknown)\n", a);
			return 2;
		}
		switch (
		    daemon_num_option("veil-worker", nums, sizeof nums / sizeof nums[0], a, v)) {
		case -1:
			return 2;
		case 1:
			i++;
			continue;
		}
		if (strcmp(a, "--model") == 0)
			c->model_path = v;
		else if (strcmp(a, "--model-name") == 0)
			c->model_name = v;
		else if (strcmp(a, "--kbs") == 0)
			c->kbs_url = v;
		else if (strcmp(a, "--kbs-resource") == 0)
			c->kbs_resource = v;
		else if (strcmp(a, "--kbs-ca") == 0)
			c->kbs_ca = v;
		else if (strcmp(a, "--key-file") == 0)
			c->key_file = v;
		else if (strcmp(a, "--tee") == 0)
			c->guest.tee = v;
		else if (strcmp(a, "--sim") == 0)
			c->guest.sim_dir = v;
		else if (strcmp(a, "--backend") == 0)
			c->guest.backend = v;
		else if (strcmp(a, "--gpus") == 0)
			c->guest.gpus = v;
		else if (strcmp(a, "--init-data") == 0)
			o->init_data_path = v;
		else if (strcmp(a, "--id") == 0)
			c->worker_id = v;
		else if (strcmp(a, "--upstream") == 0)
			c->upstream = v;
		else if (strcmp(a, "--listen") == 0)
			o->listen = v;
		else if (strcmp(a, "--port-file") == 0)
			o->port_file = v;
		else if (strcmp(a, "--tls-cert") == 0)
			o->tls_cert = v;
		else if (strcmp(a, "--tls-key") == 0)
			o->tls_key = v;
		else if (strcmp(a, "--gateway") == 0)
			c->gateway_url = v;
		else if (strcmp(a, "--advertise") == 0)
			c->advertise_url = v;
		else if (strcmp(a, "--gateway-ca") == 0)
			c->gateway_ca = v;
		else if (strcmp(a, "--workload") == 0) {
			if (nw == WORKLOADS_MAX) {
				fprintf(stderr, "veil-worker: at most %d --workload files\n",
					WORKLOADS_MAX);
				return 2;
			}
			o->workloads[nw++] = v;
		} else {
			fprintf(stderr, "veil-worker: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
		i++;
	}
	c->guest.workload = nw > 0 ? o->workloads : NULL;
	c->guest.n_workload = nw;
	c->slots = (unsigned)slots;
	c->threads = (unsigned)threads;
	c->queue_max = (size_t)queue;
	c->n_ctx = (size_t)ctx;
	c->max_tokens_cap = (size_t)max_tokens;
	c->prompt_max = (size_t)prompt_max;
	c->request_timeout_s = (unsigned)timeout;
	c->attest_per_s = (unsigned)rate;
	c->kbs_deadline_ms = deadline;
	c->ohttp_key_id = (unsigned)key_id;
	if (c->model_path == NULL || c->guest.tee == NULL) {
		fprintf(stderr, "veil-worker: --model and --tee are required\n");
		usage(stderr);
		return 2;
	}
	if ((c->kbs_url == NULL) == (c->key_file == NULL)) {
		fprintf(stderr, "veil-worker: give exactly one of --kbs URL (the model key from "
				"the broker) and --key-file FILE (sim only)\n");
		return 2;
	}
	if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
		fprintf(stderr, "veil-worker: --tls-cert and --tls-key go together\n");
		return 2;
	}
	return 0;
}

/* The gateway hears of a stop first, while this worker still answers the
 * requests it may have routed here just before (docs/worker.md "Joining a
 * gateway"). */
static void leave_gateway(void *worker)
{
	veil_worker_leave(worker);
}

int main(int argc, char **argv)
{
	worker_options o;
	veil_http_server *server = NULL;
	veil_worker *w = NULL;
	uint8_t *init_data = NULL;
	size_t init_len = 0;
	daemon_signals sig;
	int rc;

	memset(&o, 0, sizeof o);
	veil_json_wipe_on_free();
	rc = options_parse(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (o.init_data_path != NULL) {
		if (veil_file_read(o.init_data_path, VEIL_KBS_INITDATA_MAX_BYTES, &init_data,
				   &init_len) != VEIL_OK) {
			fprintf(stderr, "veil-worker: --init-data %s: %s\n", o.init_data_path,
				veil_err_detail());
			return 2;
		}
		o.wc.guest.init_data = (const char *)init_data;
	}
	/* Block the signals before any thread starts, so all inherit it. */
	daemon_signals_block(&sig, "veil-worker");
	veil_http_config hc = {.address = o.listen,
			       .port = (uint16_t)o.port,
			       .threads = (unsigned)o.http_threads,
			       /* A chunked OHTTP request frames its body in
				* chunks of at least 17 more bytes each: room
				* for a full body in 64-byte chunks. */
			       .max_body_bytes = VEIL_WORKER_BODY_MAX * 2 + 4096,
			       .tls_cert = o.tls_cert,
			       .tls_key = o.tls_key};
	/* Bind first: a port that is taken fails before the broker hands
	 * over a key. */
	if (veil_http_server_new(&hc, &server) != VEIL_OK) {
		fprintf(stderr, "veil-worker: HTTP server: %s\n", veil_err_detail());
		rc = 2;
		goto out;
	}
	if (veil_worker_new(&o.wc, &w) != VEIL_OK) {
		fprintf(stderr, "veil-worker: %s\n", veil_err_detail());
		rc = 2;
		goto out;
	}
	if (veil_worker_mount(w, server) != VEIL_OK) {
		fprintf(stderr, "veil-worker: routes: %s\n", veil_err_detail());
		rc = 1;
		goto out;
	}
	fprintf(stderr, "veil-worker: %s listening on %s port %u (%s)\n", veil_worker_id(w),
		o.listen, veil_http_server_port(server),
		veil_http_server_tls(server) ? "TLS" : "plain HTTP");
	if (o.port_file != NULL &&
	    !daemon_write_port_file("veil-worker", o.port_file, veil_http_server_port(server))) {
		rc = 1;
		goto out;
	}
	/* The listening socket is bound since veil_http_server_new: the
	 * gateway's checks of this worker wait in its backlog until the run
	 * below serves them. */
	if (veil_worker_join(w) != VEIL_OK) {
		fprintf(stderr, "veil-worker: gateway: %s\n", veil_err_detail());
		rc = 1;
		goto out;
	}
	if (!daemon_signals_start(&sig, server, leave_gateway, w)) {
		rc = 1;
		goto out;
	}
	rc = veil_http_server_run(server) == VEIL_OK ? 0 : 1;
	daemon_signals_join(&sig, rc != 0);
out:
	veil_worker_stop(w);
	veil_http_server_free(server);
	veil_worker_free(w);
	free(init_data);
	return rc;
}

/*
 * proxy.c - veil proxy: a local OpenAI-compatible endpoint that any OpenAI
 * client points its base URL at (http://127.0.0.1:PORT/v1), and behind
 * which every request goes end to end encrypted to a worker whose evidence
 * the user's own policy accepted (docs/proxy.md).
 *
 *   veil proxy --gateway URL --policy FILE [--listen ADDR:PORT] [--port-file FILE]
 *              [--api-key KEY] [--ca FILE] [--logged] [--threads N]
 *
 * This file is the front: options, the start-up (the policy, the client
 * core of include/veil/client.h, a first contact with the gateway, the
 * listening socket), the handlers, which only read what they must (the
 * model) and hand the request to the pool of forwarding threads, and a
 * clean stop on SIGINT or SIGTERM (the daemons' signal thread,
 * src/daemon/daemon.h). What happens to a request is in proxy_forward.c.
 *
 * Exit codes (docs/cli.md): 0 stopped by a signal; 1 the server failed
 * while running; 2 usage, a policy that does not load, an address that
 * cannot be bound; 3 the gateway cannot be reached at start-up.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/proxy.h"
#include "daemon/daemon.h"
#include "veil/collateral.h"
#include "veil/json.h"
#include "veil/limits.h"
#include "veil/secret.h"

#define PROXY_EXIT_UNAVAILABLE 3
#define PROXY_LOOP_THREADS     2
#define PROXY_STOP_GRACE_MS    5000

typedef struct proxy_args {
	const char *gateway, *policy, *port_file, *api_key, *ca;
	char address[64];
	long port, threads;
	bool logged;
} proxy_args;

static void usage(FILE *f)
{
	fprintf(f, "usage: veil proxy --gateway URL --policy FILE [--listen ADDR:PORT]\n"
		   "                  [--port-file FILE] [--api-key KEY] [--ca FILE] [--logged]\n"
		   "                  [--threads N]\n"
		   "Serves an OpenAI-compatible API on ADDR:PORT (default 127.0.0.1:8080; port 0\n"
		   "picks one): every request goes end to end encrypted to a worker whose\n"
		   "evidence FILE accepts, and every answer's receipt is verified. See\n"
		   "docs/proxy.md.\n");
}

double proxy_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ADDR:PORT, with an IPv6 address in brackets ([::1]:8080). The address
 * must be numeric (the HTTP server binds it as given). */
static bool listen_parse(const char *s, char *addr, size_t cap, long *port)
{
	const char *colon = strrchr(s, ':'), *a = s;
	size_t n;
	unsigned char buf[16];

	if (colon == NULL || !daemon_number(colon + 1, 0, 65535, port))
		return false;
	n = (size_t)(colon - s);
	if (s[0] == '[') {
		if (n < 2 || s[n - 1] != ']')
			return false;
		a = s + 1;
		n -= 2;
	}
	if (n == 0 || n >= cap)
		return false;
	memcpy(addr, a, n);
	addr[n] = '\0';
	return inet_pton(AF_INET, addr, buf) == 1 ||
	       (s[0] == '[' && inet_pton(AF_INET6, addr, buf) == 1);
}

static bool is_loopback(const char *addr)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, addr, b) == 1)
		return b[0] == 127;
	return inet_pton(AF_INET6, addr, b) == 1 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)b);
}

static int args_parse(int argc, char **argv, proxy_args *o)
{
	memset(o, 0, sizeof *o);
	snprintf(o->address, sizeof o->address, "127.0.0.1");
	o->port = 8080;
	o->threads = 8;
	o->api_key = getenv("VEIL_API_KEY");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return -1;
		}
		if (strcmp(a, "--logged") == 0) {
			o->logged = true;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "veil proxy: %s needs a value (or is unknown)\n", a);
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
		i++;
		if (strcmp(a, "--gateway") == 0)
			o->gateway = v;
		else if (strcmp(a, "--policy") == 0)
			o->policy = v;
		else if (strcmp(a, "--port-file") == 0)
			o->port_file = v;
		else if (strcmp(a, "--api-key") == 0)
			o->api_key = v;
		else if (strcmp(a, "--ca") == 0)
			o->ca = v;
		else if (strcmp(a, "--listen") == 0) {
			if (!listen_parse(v, o->address, sizeof o->address, &o->port)) {
				fprintf(stderr,
					"veil proxy: --listen \"%s\" is not a numeric ADDR:PORT "
					"(127.0.0.1:8080, [::1]:8080)\n",
					v);
				return CLI_EXIT_USAGE;
			}
		} else if (strcmp(a, "--threads") == 0) {
			if (!daemon_number(v, 1, VEIL_PROXY_THREADS_MAX, &o->threads)) {
				fprintf(stderr,
					"veil proxy: --threads \"%s\" is not a number in 1..%d\n",
					v, VEIL_PROXY_THREADS_MAX);
				return CLI_EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "veil proxy: unknown option %s\n", a);
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (o->gateway == NULL || o->policy == NULL) {
		fprintf(stderr, "veil proxy: --gateway and --policy are required\n");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (o->api_key != NULL && o->api_key[0] == '\0')
		o->api_key = NULL;
	return 0;
}

/* The policy, and the names of the models it allows (the members of
 * "models"), which /v1/models lists: the client core checks a name only
 * together with a digest. Both from the same bytes. */
static veil_err policy_read(const char *path, veil_client_policy **pol, proxy *p)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	json_t *doc = NULL, *models;
	const char *name;
	json_t *v;
	veil_err err;

	*pol = NULL;
	CHECK(veil_file_read(path, VEIL_CLIENT_POLICY_MAX_BYTES, &buf, &len));
	CHECK(veil_client_policy_parse(buf, len, path, pol));
	CHECK(veil_json_parse_max(buf, len, VEIL_CLIENT_POLICY_MAX_BYTES, &doc));
	models = json_object_get(doc, "models");
	CHECK_THAT(json_is_object(models) && json_object_size(models) <= VEIL_CLIENT_MODELS_MAX,
		   VEIL_E_MALFORMED, "%s: \"models\" is not an object of at most %d models", path,
		   VEIL_CLIENT_MODELS_MAX);
	p->models = calloc(json_object_size(models) + 1, sizeof *p->models);
	CHECK_THAT(p->models != NULL, VEIL_E_NOMEM, "out of memory");
	json_object_foreach(models, name, v)
	{
		p->models[p->model_count] = strdup(name);
		CHECK_THAT(p->models[p->model_count] != NULL, VEIL_E_NOMEM, "out of memory");
		p->model_count++;
	}
	err = VEIL_OK;
out:
	json_decref(doc);
	free(buf);
	if (err != VEIL_OK) {
		veil_client_policy_free(*pol);
		*pol = NULL;
	}
	return err;
}

static void models_free(proxy *p)
{
	for (size_t i = 0; i < p->model_count; i++)
		free(p->models[i]);
	free(p->models);
	p->models = NULL;
	p->model_count = 0;
}

/* ---- handlers (on the loop threads: nothing here may wait) ---- */

static void reply_error(veil_http_request *r, int status, const char *type, const char *code,
			const char *param, const char *msg)
{
	char *text = proxy_error_text(type, code, param, "%s", msg);

	proxy_log(veil_http_method(r), veil_http_path(r), NULL, NULL, status,
		  code != NULL ? code : type, NULL, proxy_clock());
	if (text == NULL) {
		veil_http_reply(r, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	veil_http_reply(r, status, "application/json", text, strlen(text));
	free(text);
}

/* Queues j with its request taken over; answers 503 when the pool is
 * full. Takes j. */
static void hand_over(proxy *p, veil_http_request *r, proxy_job *j)
{
	j->d = veil_http_defer(r);
	if (j->d == NULL) {
		proxy_job_free(j);
		veil_http_reply(r, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	if (!proxy_pool_submit(p, j)) {
		if (veil_http_deferred_add_header(j->d, "Retry-After", "1") != VEIL_OK)
			veil_err_clear();
		proxy_deferred_error(j->d, 503, "proxy_busy", "queue_full",
				     "the proxy has %zu requests waiting already; retry later",
				     p->queue_max);
		proxy_log(veil_http_method(r), veil_http_path(r), j->model, NULL, 503, "queue full",
			  NULL, j->t0);
		j->d = NULL;
		proxy_job_free(j);
	}
}

/* The model of a completion request, which picks the worker; the rest of
 * the body is the worker's to check, and goes to it byte for byte (its
 * receipt names exactly these bytes). */
static void completion(veil_http_request *r, proxy *p, const char *path)
{
	size_t len;
	const uint8_t *body = veil_http_body(r, &len);
	json_t *doc = NULL, *model;
	proxy_job *j;

	if (veil_json_parse_max(body, len, VEIL_PROXY_BODY_MAX, &doc) != VEIL_OK ||
	    !json_is_object(doc)) {
		veil_err_clear();
		json_decref(doc);
		reply_error(r, 400, "invalid_request_error", NULL, NULL,
			    "the body is not a JSON object (strict JSON: no duplicate keys)");
		return;
	}
	model = json_object_get(doc, "model");
	if (!json_is_string(model) || json_string_length(model) == 0 ||
	    json_string_length(model) > VEIL_CLIENT_MODEL_MAX) {
		char msg[96];
		snprintf(msg, sizeof msg,
			 "'model' must be a string of 1 to %d bytes naming the model",
			 VEIL_CLIENT_MODEL_MAX);
		reply_error(r, 400, "invalid_request_error",
			    model == NULL            ? "missing_required_parameter"
			    : !json_is_string(model) ? "invalid_type"
						     : "invalid_value",
			    "model", msg);
		json_decref(doc);
		return;
	}
	j = calloc(1, sizeof *j);
	if (j == NULL || (len > 0 && (j->body = malloc(len)) == NULL)) {
		free(j);
		json_decref(doc);
		veil_http_reply(r, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	j->kind = PROXY_JOB_COMPLETION;
	j->path = path;
	j->t0 = proxy_clock();
	snprintf(j->model, sizeof j->model, "%s", json_string_value(model));
	if (len > 0)
		memcpy(j->body, body, len);
	j->body_len = len;
	json_decref(doc);
	hand_over(p, r, j);
}

static void h_chat(veil_http_request *r, void *user)
{
	completion(r, user, "/v1/chat/completions");
}

static void h_completions(veil_http_request *r, void *user)
{
	completion(r, user, "/v1/completions");
}

/* /v1/models asks the gateway: a blocking call, so it goes to the pool. */
static void h_models(veil_http_request *r, void *user)
{
	proxy_job *j = calloc(1, sizeof *j);

	if (j == NULL) {
		veil_http_reply(r, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	j->kind = PROXY_JOB_MODELS;
	j->path = "/v1/models";
	j->t0 = proxy_clock();
	hand_over(user, r, j);
}

static void h_health(veil_http_request *r, void *user)
{
	(void)user;
	veil_http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* ---- start and stop ---- */

/* Serves until a signal; *drained says whether every forwarding thread
 * ended (else the client must be left alone). */
static int serve(const proxy_args *o, proxy *p, daemon_signals *sig, bool *drained)
{
	veil_http_server *server = NULL;
	veil_http_config hc = {.address = o->address,
			       .port = (uint16_t)o->port,
			       .threads = PROXY_LOOP_THREADS,
			       .max_body_bytes = VEIL_PROXY_BODY_MAX};
	int rc;

	if (veil_http_server_new(&hc, &server) != VEIL_OK ||
	    veil_http_route(server, "POST", "/v1/chat/completions", h_chat, p) != VEIL_OK ||
	    veil_http_route(server, "POST", "/v1/completions", h_completions, p) != VEIL_OK ||
	    veil_http_route(server, "GET", "/v1/models", h_models, p) != VEIL_OK ||
	    veil_http_route(server, "GET", "/healthz", h_health, p) != VEIL_OK) {
		fprintf(stderr, "veil proxy: cannot listen on %s port %ld: %s\n", o->address,
			o->port, veil_err_detail());
		veil_http_server_free(server);
		return CLI_EXIT_USAGE;
	}
	if (!is_loopback(o->address))
		fprintf(stderr,
			"veil proxy: warning: %s is not a loopback address; whoever reaches it "
			"uses the gateway with your API key\n",
			o->address);
	if (!proxy_pool_start(p, (unsigned)o->threads, VEIL_PROXY_QUEUE_MAX)) {
		veil_http_server_free(server);
		return CLI_EXIT_FAILED;
	}
	fprintf(stderr, "veil proxy: listening on http://%s%s%s:%u/v1 for %s (%ld threads%s)\n",
		strchr(o->address, ':') != NULL ? "[" : "", o->address,
		strchr(o->address, ':') != NULL ? "]" : "", veil_http_server_port(server),
		o->gateway, o->threads, o->logged ? ", logged evidence" : "");
	if (o->port_file != NULL &&
	    !daemon_write_port_file("veil proxy", o->port_file, veil_http_server_port(server))) {
		rc = CLI_EXIT_FAILED;
		veil_http_server_stop(server);
	} else if (!daemon_signals_start(sig, server, NULL, NULL)) {
		rc = CLI_EXIT_FAILED;
		veil_http_server_stop(server);
	} else {
		rc = veil_http_server_run(server) == VEIL_OK ? CLI_EXIT_OK : CLI_EXIT_FAILED;
		daemon_signals_join(sig, rc != CLI_EXIT_OK);
	}
	/* The loops have stopped. Freeing the server closes the connections,
	 * so the exchanges still streaming see their client gone at the next
	 * event and stop; then the pool is given a moment to drain. */
	veil_http_server_free(server);
	*drained = proxy_pool_stop(p, PROXY_STOP_GRACE_MS);
	if (!*drained)
		fprintf(stderr, "veil proxy: requests still in flight after %d ms; leaving them\n",
			PROXY_STOP_GRACE_MS);
	return rc;
}

int cmd_proxy(int argc, char **argv)
{
	proxy_args o;
	proxy p;
	veil_client_policy *pol = NULL;
	veil_client_config cc;
	daemon_signals sig;
	veil_writer probe;
	long status = 0;
	bool drained = true;
	int rc;

	rc = args_parse(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	memset(&p, 0, sizeof p);
	/* Before any thread starts, so that all of them inherit the mask and
	 * only the signal thread takes SIGINT and SIGTERM. */
	daemon_signals_block(&sig, "veil proxy");
	if (policy_read(o.policy, &pol, &p) != VEIL_OK) {
		fprintf(stderr, "veil proxy: --policy: %s\n", veil_err_detail());
		models_free(&p);
		return CLI_EXIT_USAGE;
	}
	cc = (veil_client_config){.gateway = o.gateway,
				  .policy = pol,
				  .api_key = o.api_key,
				  .ca_file = o.ca,
				  .logged = o.logged};
	if (veil_client_new(&cc, &p.client) != VEIL_OK) {
		fprintf(stderr, "veil proxy: %s\n", veil_err_detail());
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	/* A gateway that cannot be reached now is a mistake in the command
	 * line far more often than a passing outage: say so at once. */
	veil_writer_init(&probe, VEIL_PROXY_MODELS_MAX);
	if (veil_client_get(p.client, "/healthz", &status, &probe) != VEIL_OK) {
		fprintf(stderr, "veil proxy: the gateway %s cannot be reached: %s\n", o.gateway,
			veil_err_detail());
		veil_writer_clear(&probe);
		rc = PROXY_EXIT_UNAVAILABLE;
		goto out;
	}
	veil_writer_clear(&probe);
	rc = serve(&o, &p, &sig, &drained);
	if (!drained)
		return rc; /* threads are inside client calls: the exit frees all */
out:
	veil_client_free(p.client);
	veil_client_policy_free(pol);
	models_free(&p);
	return rc;
}

/*
 * bench_worker.c - veil-worker's streamed chat completions in plain mode
 * and through chunked Oblivious HTTP, on the same model and prompts, at 1,
 * 4 and 16 concurrent streams (docs/performance.md, "Worker").
 *
 * The worker runs in this process as veil-worker runs it (veil_worker_new
 * on the simulated TEE with the model's key from a file, then
 * veil_worker_mount on a veil_http_server with two threads), so the
 * benchmark needs no other binary and serves the same code over real
 * loopback sockets. The model is the GGUF file given (tests/models/
 * gen_gguf.py makes one), sealed here under a fresh key.
 *
 * Each stream is a client thread that makes its requests first (a client
 * encrypts on its own machine, so that cost is in neither mode's figures)
 * and, once every stream is ready, sends them one after the other, each
 * on a new connection: POST /v1/chat/completions with
 * {"stream": true, "temperature": 0, "max_tokens": N} and one of four
 * prompts, as JSON (plain) or as a chunked OHTTP request to the worker's
 * attested key (message/ohttp-chunked-req), whose response chunks are
 * opened as they arrive. Time to first token is from sending the request
 * to the first event with text, read (plain) or decrypted (OHTTP); tokens
 * per second is the completion tokens of every request (from the usage
 * chunk) over the round's wall time. The worker's CPU per token is the
 * process's CPU time over the round less the client threads' own, per
 * completion token: when the cores are saturated it bounds the tokens per
 * second, and it varies much less than wall time on a shared machine. Greedy sampling makes both modes
 * generate the same tokens, so they do the same engine work; plain and
 * OHTTP rounds alternate and each figure keeps its best of the rounds.
 *
 * Usage: bench_worker MODEL.gguf [rounds [requests-per-stream [max-tokens]]]
 *        (default 3, 4, 32)
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "veil/bhttp.h"
#include "veil/http_client.h"
#include "veil/ohttp.h"
#include "veil/seal.h"
#include "veil/secret.h"
#include "veil/sim.h"
#include "veil/worker.h"

#define STREAMS_MAX 16

static const char *const prompts[] = {
    "Tell me a story about a lighthouse keeper.",
    "What is the capital of France, and why?",
    "Write a haiku about confidential computing.",
    "List three uses of a paperclip.",
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct bench {
	char url[128];
	veil_ohttp_keyconfig config;
	bool ohttp;
	unsigned requests;
	unsigned max_tokens;
} bench;

/* One streamed request, as a client sees it. */
typedef struct stream_req {
	const bench *b;
	double t0, ttft;
	veil_writer text;      /* the response's plaintext (SSE) */
	veil_ohttp_exchange x; /* OHTTP: the exchange */
	bool failed;
} stream_req;

static void first_token(stream_req *s)
{
	/* The first event with text ("content":"<something>"); the role chunk
	 * before it carries an empty string. */
	static const char pat[] = "\"delta\":{\"content\":\"";
	const uint8_t *p;

	if (s->ttft > 0)
		return;
	p = memmem(s->text.data, s->text.len, pat, sizeof pat - 1);
	if (p != NULL && p + sizeof pat - 1 < s->text.data + s->text.len &&
	    p[sizeof pat - 1] != '"')
		s->ttft = now() - s->t0;
}

static bool on_data(void *user, long status, const uint8_t *p, size_t n)
{
	stream_req *s = user;

	if (status != 200)
		return false;
	if (s->b->ohttp) {
		if (veil_ohttp_chunked_feed(&s->x, p, n, &s->text) != VEIL_OK)
			return false;
	} else if (veil_writer_put(&s->text, p, n) != VEIL_OK) {
		return false;
	}
	first_token(s);
	return true;
}

/* The request body (JSON), or its chunked OHTTP encapsulation. */
static veil_err request_body(stream_req *s, const char *prompt, veil_writer *out)
{
	char json[512];
	int n = snprintf(json, sizeof json,
			 "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],\"stream\":true,"
			 "\"stream_options\":{\"include_usage\":true},\"temperature\":0,"
			 "\"max_tokens\":%u}",
			 prompt, s->b->max_tokens);
	veil_bhttp_msg m = {0};
	veil_writer bhttp;
	veil_ohttp_client c;
	veil_err err;

	ENSURE(n > 0 && (size_t)n < sizeof json, VEIL_E_LIMIT, "prompt too long");
	if (!s->b->ohttp)
		return veil_writer_put(out, json, (size_t)n);
	veil_writer_init(&bhttp, 1 << 16);
	err = veil_bhttp_request_init(&m, "POST", "https", "worker", "/v1/chat/completions");
	if (err == VEIL_OK)
		err = veil_bhttp_fields_add(&m.header, "content-type",
					    (const uint8_t *)"application/json", 16);
	if (err == VEIL_OK)
		err = veil_bhttp_set_content(&m, (const uint8_t *)json, (size_t)n);
	if (err == VEIL_OK)
		err = veil_bhttp_encode(&m, &bhttp);
	if (err == VEIL_OK)
		err = veil_ohttp_client_init(&c, &s->b->config);
	if (err == VEIL_OK)
		err = veil_ohttp_chunked_request_begin(&s->x, &c, out);
	if (err == VEIL_OK)
		err = veil_ohttp_chunk_seal(&s->x, bhttp.data, bhttp.len, true, out);
	if (err == VEIL_OK)
		err = veil_ohttp_chunked_response_open(&s->x);
	veil_bhttp_msg_clear(&m);
	veil_writer_clear(&bhttp);
	return err;
}

static double cpu_seconds_of(int who);

typedef struct stream_result {
	double cpu; /* the client thread's own CPU seconds */
	double ttft_sum;
	unsigned ttft_count;
	unsigned long tokens;
	unsigned failures;
} stream_result;

static unsigned long usage_tokens(const veil_writer *t)
{
	const char *key = "\"completion_tokens\":";
	const uint8_t *p = memmem(t->data, t->len, key, strlen(key));
	unsigned long v = 0;

	if (p == NULL)
		return 0;
	for (p += strlen(key); p < t->data + t->len && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	return v;
}

typedef struct client_arg {
	const bench *b;
	unsigned index;
	pthread_barrier_t *start;
	stream_result r;
} client_arg;

static void *client_main(void *arg)
{
	client_arg *a = arg;
	const bench *b = a->b;
	stream_req *reqs = calloc(b->requests, sizeof *reqs);
	veil_writer *bodies = calloc(b->requests, sizeof *bodies);
	char url[160];
	const char *headers[] = {b->ohttp ? "Content-Type: message/ohttp-chunked-req"
					  : "Content-Type: application/json",
				 NULL};

	if (reqs == NULL || bodies == NULL) {
		fprintf(stderr, "bench_worker: out of memory\n");
		exit(1);
	}
	snprintf(url, sizeof url, "%s/v1/chat/completions", b->url);
	/* Every request is made (and, for OHTTP, encapsulated) before the
	 * round starts: a client does that on its own machine, so its cost
	 * belongs to neither mode's figures. */
	for (unsigned i = 0; i < b->requests; i++) {
		reqs[i].b = b;
		veil_writer_init(&reqs[i].text, 1 << 20);
		veil_writer_init(&bodies[i], 1 << 16);
		if (request_body(&reqs[i], prompts[(a->index + i) % 4], &bodies[i]) != VEIL_OK) {
			fprintf(stderr, "bench_worker: request: %s\n", veil_err_detail());
			exit(1);
		}
	}
	pthread_barrier_wait(a->start);
	a->r.cpu = -cpu_seconds_of(RUSAGE_THREAD);
	for (unsigned i = 0; i < b->requests; i++) {
		stream_req *s = &reqs[i];
		veil_http_client_response resp;
		veil_http_client_request req = {.method = "POST",
						.url = url,
						.headers = headers,
						.body = bodies[i].data,
						.body_len = bodies[i].len,
						.timeout_ms = 120000,
						.on_data = on_data,
						.on_data_user = s};
		s->t0 = now();
		if (veil_http_client_fetch(&req, &resp) != VEIL_OK || resp.status != 200 ||
		    (b->ohttp && veil_ohttp_chunked_finish(&s->x, &s->text) != VEIL_OK) ||
		    memmem(s->text.data, s->text.len, "data: [DONE]", 12) == NULL) {
			a->r.failures++;
		} else {
			a->r.tokens += usage_tokens(&s->text);
			if (s->ttft > 0) {
				a->r.ttft_sum += s->ttft;
				a->r.ttft_count++;
			}
		}
		veil_http_client_response_clear(&resp);
		veil_ohttp_exchange_clear(&s->x);
		veil_writer_clear(&bodies[i]);
		veil_writer_clear(&s->text);
	}
	a->r.cpu += cpu_seconds_of(RUSAGE_THREAD);
	free(reqs);
	free(bodies);
	return NULL;
}

typedef struct round_result {
	double tokens_per_s, ttft_ms;
	double cpu_us_per_token; /* the worker's: the process less the client threads */
	unsigned failures;
} round_result;

static double cpu_seconds_of(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static round_result run_round(bench *b, unsigned streams, bool ohttp)
{
	client_arg args[STREAMS_MAX];
	pthread_t t[STREAMS_MAX];
	round_result rr = {0};
	unsigned long tokens = 0;
	double ttft = 0, t0, cpu0, clients_cpu = 0;
	unsigned count = 0;

	pthread_barrier_t start;

	b->ohttp = ohttp;
	memset(args, 0, sizeof args);
	pthread_barrier_init(&start, NULL, streams + 1);
	for (unsigned i = 0; i < streams; i++) {
		args[i].b = b;
		args[i].index = i;
		args[i].start = &start;
		if (pthread_create(&t[i], NULL, client_main, &args[i]) != 0) {
			fprintf(stderr, "bench_worker: cannot start a client thread\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&start);
	t0 = now();
	cpu0 = cpu_seconds_of(RUSAGE_SELF);
	for (unsigned i = 0; i < streams; i++) {
		pthread_join(t[i], NULL);
		tokens += args[i].r.tokens;
		ttft += args[i].r.ttft_sum;
		count += args[i].r.ttft_count;
		rr.failures += args[i].r.failures;
		clients_cpu += args[i].r.cpu;
	}
	rr.tokens_per_s = (double)tokens / (now() - t0);
	cpu0 = cpu_seconds_of(RUSAGE_SELF) - cpu0 - clients_cpu;
	rr.cpu_us_per_token = tokens > 0 ? cpu0 / (double)tokens * 1e6 : 0;
	pthread_barrier_destroy(&start);
	rr.ttft_ms = count > 0 ? ttft / count * 1000 : 0;
	return rr;
}

typedef struct server_arg {
	veil_http_server *s;
} server_arg;

static void *server_main(void *arg)
{
	server_arg *a = arg;

	if (veil_http_server_run(a->s) != VEIL_OK)
		fprintf(stderr, "bench_worker: server: %s\n", veil_err_detail());
	return NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void quiet_log(void *user, const char *line)
{
	(void)user;
	(void)line;
}

static long arg_num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10); /* checked: end and range below */

	if (end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "bench_worker: %s must be %ld..%ld\n", what, min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/veil-bench-worker-XXXXXX", sealed[256], key_path[256], sim[256];
	uint8_t key[VEIL_SEAL_KEY_LEN];
	const unsigned levels[] = {1, 4, 16};
	round_result best[3][2];
	unsigned rounds = 3;
	veil_http_server *server = NULL;
	veil_worker *w = NULL;
	bench b = {.requests = 4, .max_tokens = 32};
	server_arg sa;
	pthread_t st;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_worker MODEL.gguf [rounds [requests-per-stream "
				"[max-tokens]]]\n");
		return 2;
	}
	if (argc > 2)
		rounds = (unsigned)arg_num(argv[2], 1, 20, "rounds");
	if (argc > 3)
		b.requests = (unsigned)arg_num(argv[3], 1, 100, "requests-per-stream");
	if (argc > 4)
		b.max_tokens = (unsigned)arg_num(argv[4], 1, 512, "max-tokens");
	if (mkdtemp(dir) == NULL) {
		perror("bench_worker: mkdtemp");
		return 1;
	}
	snprintf(sealed, sizeof sealed, "%s/model.sealed", dir);
	snprintf(key_path, sizeof key_path, "%s/model.key", dir);
	snprintf(sim, sizeof sim, "%s/sim", dir);
	f = fopen(key_path, "wb");
	if (veil_seal_keygen(key) != VEIL_OK || f == NULL ||
	    fwrite(key, 1, sizeof key, f) != sizeof key || fclose(f) != 0 ||
	    veil_seal_file(argv[1], sealed, key, NULL, NULL, NULL, NULL) != VEIL_OK ||
	    veil_sim_init(sim, 0, (int64_t)time(NULL)) != VEIL_OK) {
		fprintf(stderr, "bench_worker: set-up: %s\n", veil_err_detail());
		return 1;
	}
	veil_wipe(key, sizeof key);
	veil_worker_config wc = {.model_path = sealed,
				 .key_file = key_path,
				 .guest = {.tee = "sim", .sim_dir = sim, .gpus = "none"},
				 .slots = STREAMS_MAX,
				 .threads = 1,
				 .queue_max = 64,
				 .log = quiet_log};
	veil_http_config hc = {.port = 0, .threads = 2};
	if (veil_http_server_new(&hc, &server) != VEIL_OK || veil_worker_new(&wc, &w) != VEIL_OK ||
	    veil_worker_mount(w, server) != VEIL_OK) {
		fprintf(stderr, "bench_worker: worker: %s\n", veil_err_detail());
		return 1;
	}
	snprintf(b.url, sizeof b.url, "http://127.0.0.1:%u", veil_http_server_port(server));
	sa.s = server;
	if (pthread_create(&st, NULL, server_main, &sa) != 0)
		return 1;
	{
		/* The client takes the key configuration from the worker. */
		char url[160];
		veil_http_client_response resp;
		size_t n = 0;
		snprintf(url, sizeof url, "%s/.well-known/ohttp-keys", b.url);
		veil_http_client_request req = {.url = url};
		if (veil_http_client_fetch(&req, &resp) != VEIL_OK || resp.status != 200 ||
		    veil_ohttp_keys_parse(resp.body.data, resp.body.len, &b.config, 1, &n) !=
			VEIL_OK) {
			fprintf(stderr, "bench_worker: OHTTP keys: %s\n", veil_err_detail());
			return 1;
		}
		veil_http_client_response_clear(&resp);
	}
	memset(best, 0, sizeof best);
	for (unsigned r = 0; r < rounds; r++)
		for (unsigned l = 0; l < 3; l++)
			for (unsigned m = 0; m < 2; m++) {
				/* Alternate which mode goes first, so neither always
				 * runs on a warmer machine. */
				bool ohttp = (m + r) % 2 == 1;
				round_result rr = run_round(&b, levels[l], ohttp);
				round_result *bb = &best[l][ohttp];
				if (rr.failures > 0) {
					fprintf(stderr, "bench_worker: %u requests failed\n",
						rr.failures);
					return 1;
				}
				if (rr.tokens_per_s > bb->tokens_per_s)
					bb->tokens_per_s = rr.tokens_per_s;
				if (bb->ttft_ms == 0 || rr.ttft_ms < bb->ttft_ms)
					bb->ttft_ms = rr.ttft_ms;
				if (bb->cpu_us_per_token == 0 ||
				    rr.cpu_us_per_token < bb->cpu_us_per_token)
					bb->cpu_us_per_token = rr.cpu_us_per_token;
			}
	printf("worker: %s, %u-token greedy streams, %u requests per stream, best of %u rounds\n\n",
	       argv[1], b.max_tokens, b.requests, rounds);
	printf(
	    "| streams | plain tokens/s | OHTTP tokens/s | OHTTP / plain | plain TTFT ms | OHTTP "
	    "TTFT ms | OHTTP - plain ms |\n");
	printf(
	    "|---------|----------------|----------------|---------------|---------------|-------"
	    "--------|------------------|\n");
	for (unsigned l = 0; l < 3; l++)
		printf("| %7u | %14.1f | %14.1f | %13.3f | %13.2f | %13.2f | %16.2f |\n", levels[l],
		       best[l][0].tokens_per_s, best[l][1].tokens_per_s,
		       best[l][1].tokens_per_s / best[l][0].tokens_per_s, best[l][0].ttft_ms,
		       best[l][1].ttft_ms, best[l][1].ttft_ms - best[l][0].ttft_ms);
	printf("\nworker CPU per token (the process less the client threads):\n\n");
	printf("| streams | plain CPU us/token | OHTTP CPU us/token | plain / OHTTP |\n");
	printf("|---------|--------------------|--------------------|---------------|\n");
	for (unsigned l = 0; l < 3; l++)
		printf("| %7u | %18.1f | %18.1f | %13.3f |\n", levels[l],
		       best[l][0].cpu_us_per_token, best[l][1].cpu_us_per_token,
		       best[l][0].cpu_us_per_token / best[l][1].cpu_us_per_token);
	printf("\ntargets: OHTTP >= 0.98 of plain tokens/s; OHTTP TTFT at most 1 ms more\n");
	veil_http_server_stop(server);
	pthread_join(st, NULL);
	veil_worker_stop(w);
	veil_http_server_free(server);
	veil_worker_free(w);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

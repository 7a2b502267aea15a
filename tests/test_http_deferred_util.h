/*
 * test_http_deferred_util.h - what the deferred reply tests share
 * (header-only, static): a gate (a counter threads wait on), producer
 * threads that handlers start and that record what they saw in globals
 * (the harness is not thread-safe), the handlers every deferred test
 * server has, and small client helpers on top of test_http_util.h.
 */
#ifndef VEIL_TEST_HTTP_DEFERRED_UTIL_H
#define VEIL_TEST_HTTP_DEFERRED_UTIL_H

#include "test_http_util.h"

/* ---- a gate: a counter producers and the test thread wait on ---- */

typedef struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int value;
} gate;

#define GATE_INIT                                                                                  \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0                             \
	}

static inline void gate_add(gate *g, int n)
{
	pthread_mutex_lock(&g->mu);
	g->value += n;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static inline void gate_reset(gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->value = 0;
	pthread_mutex_unlock(&g->mu);
}

/* Waits until the gate reaches want; false after timeout_s. */
static inline bool gate_wait(gate *g, int want, double timeout_s)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)timeout_s;
	until.tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g->mu);
	while (g->value < want && pthread_cond_timedwait(&g->cv, &g->mu, &until) == 0)
		;
	ok = g->value >= want;
	pthread_mutex_unlock(&g->mu);
	return ok;
}

/* ---- producers ---- */

/* Problems seen off the test thread; each one is printed where seen. */
static atomic_int producer_errors;
static atomic_int producers_running;

#define PRODUCER_CHECK(cond)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  producer: %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			atomic_fetch_add(&producer_errors, 1);                                     \
		}                                                                                  \
	} while (0)

typedef struct job job;
typedef void (*produce_fn)(job *j);
struct job {
	veil_http_deferred *d;
	produce_fn fn;
	char path[128]; /* copied by the handler: the request is not ours later */
	uint8_t *body;
	size_t len;
};

static inline void *job_main(void *arg)
{
	job *j = arg;

	j->fn(j);
	free(j->body);
	free(j);
	atomic_fetch_sub(&producers_running, 1);
	return NULL;
}

/* Waits for every producer thread to finish (they are detached). */
static inline bool producers_wait(double timeout_s)
{
	double end = now_s() + timeout_s;

	while (atomic_load(&producers_running) > 0 && now_s() < end)
		usleep(2000);
	return atomic_load(&producers_running) == 0;
}

/* The number after prefix in path, up to the next '/' (at most 6 digits);
 * -1 when there is none. */
static inline long path_number(const char *path, const char *prefix)
{
	size_t n = strlen(prefix), digits = 0;
	long v = 0;

	if (strncmp(path, prefix, n) != 0)
		return -1;
	for (path += n; *path >= '0' && *path <= '9' && digits < 6; path++, digits++)
		v = v * 10 + (*path - '0');
	return digits > 0 && (*path == '\0' || *path == '/') ? v : -1;
}

static inline void sleep_ms(long ms)
{
	if (ms > 0)
		usleep((useconds_t)ms * 1000);
}

/* Loop threads that ran a /later handler, to see both loops at work. */
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t seen_threads[8];
static size_t seen_count;

static inline void note_thread(void)
{
	pthread_t self = pthread_self();
	size_t i;

	pthread_mutex_lock(&seen_mu);
	for (i = 0; i < seen_count && !pthread_equal(seen_threads[i], self); i++)
		;
	if (i == seen_count && seen_count < sizeof seen_threads / sizeof seen_threads[0])
		seen_threads[seen_count++] = self;
	pthread_mutex_unlock(&seen_mu);
}

/* Defers r to a new thread running fn, with a copy of the path (and of
 * the body when asked). */
static inline void defer_to(veil_http_request *r, produce_fn fn, bool copy_body)
{
	job *j = calloc(1, sizeof *j);
	pthread_t t;

	atomic_fetch_add(&handler_calls, 1);
	if (j == NULL) {
		veil_http_reply(r, 500, "text/plain", "no memory\n", 10);
		return;
	}
	j->fn = fn;
	snprintf(j->path, sizeof j->path, "%s", veil_http_path(r));
	if (copy_body) {
		size_t len;
		const uint8_t *b = veil_http_body(r, &len);
		j->body = malloc(len + 1);
		if (j->body != NULL) {
			memcpy(j->body, b, len);
			j->len = len;
		}
	}
	j->d = veil_http_defer(r);
	if (j->d == NULL || (copy_body && j->body == NULL)) {
		PRODUCER_CHECK(!"defer failed");
		if (j->d != NULL)
			veil_http_deferred_reply(j->d, 500, "text/plain", "no memory\n", 10);
		else
			veil_http_reply(r, 500, "text/plain", "no memory\n", 10);
		free(j->body);
		free(j);
		return;
	}
	atomic_fetch_add(&producers_running, 1);
	if (pthread_create(&t, NULL, job_main, j) != 0) {
		atomic_fetch_sub(&producers_running, 1);
		veil_http_deferred_reply(j->d, 500, "text/plain", "no thread\n", 10);
		free(j->body);
		free(j);
		return;
	}
	pthread_detach(t);
}

/* GET /later/<ms>[/...]: after ms, a whole reply whose body is the path,
 * with a header added by the producer (and one by the handler). */
static inline void p_later(job *j)
{
	sleep_ms(path_number(j->path, "/later/"));
	PRODUCER_CHECK(veil_http_deferred_add_header(j->d, "X-Deferred", "yes") == VEIL_OK);
	veil_http_deferred_reply(j->d, 200, "text/plain", j->path, strlen(j->path));
}

static inline void h_later(veil_http_request *r, void *user)
{
	(void)user;
	note_thread();
	if (veil_http_add_header(r, "X-Handler", "before-defer") != VEIL_OK)
		atomic_fetch_add(&producer_errors, 1);
	defer_to(r, p_later, false);
}

/* POST /later-echo: the body back, from another thread. */
static inline void p_echo(job *j)
{
	char n[32];

	snprintf(n, sizeof n, "%zu", j->len);
	PRODUCER_CHECK(veil_http_deferred_add_header(j->d, "X-Echo-Length", n) == VEIL_OK);
	veil_http_deferred_reply(j->d, 200, "application/octet-stream", j->body, j->len);
}

static inline void h_echo_later(veil_http_request *r, void *user)
{
	(void)user;
	defer_to(r, p_echo, true);
}

/* GET or HEAD /stream/<n>: n pieces "p0," "p1," ... at once, after an
 * empty write (skipped). */
static inline void p_stream(job *j)
{
	long n = path_number(j->path, "/stream/");
	char piece[16];

	PRODUCER_CHECK(veil_http_deferred_add_header(j->d, "X-Stream", "yes") == VEIL_OK);
	veil_http_deferred_begin(j->d, 200, "text/plain");
	PRODUCER_CHECK(veil_http_deferred_write(j->d, "", 0));
	for (long i = 0; i < n; i++) {
		int w = snprintf(piece, sizeof piece, "p%ld,", i);
		PRODUCER_CHECK(veil_http_deferred_write(j->d, piece, (size_t)w));
	}
	veil_http_deferred_end(j->d);
}

static inline void h_deferred_stream(veil_http_request *r, void *user)
{
	(void)user;
	defer_to(r, p_stream, false);
}

/* The routes of every deferred test server: /later, /later-echo, /stream
 * (GET and HEAD), and an immediate /exact. */
static inline bool deferred_common_routes(veil_http_server *s)
{
	return veil_http_route(s, "GET", "/later/*", h_later, NULL) == VEIL_OK &&
	       veil_http_route(s, "HEAD", "/later/*", h_later, NULL) == VEIL_OK &&
	       veil_http_route(s, "POST", "/later-echo", h_echo_later, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/stream/*", h_deferred_stream, NULL) == VEIL_OK &&
	       veil_http_route(s, "HEAD", "/stream/*", h_deferred_stream, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/exact", h_name, "exact") == VEIL_OK;
}

/* As ts_start, with the routes given. */
static inline bool start_with(test_server *t, const veil_http_config *c,
			      bool (*routes)(veil_http_server *))
{
	veil_http_config cfg = *c;

	memset(t, 0, sizeof *t);
	if (cfg.threads == 0)
		cfg.threads = 2;
	if (veil_http_server_new(&cfg, &t->s) != VEIL_OK) {
		fprintf(stderr, "  server: %s\n", veil_err_detail());
		return false;
	}
	if (!routes(t->s) || pthread_create(&t->thread, NULL, ts_thread, t) != 0) {
		veil_http_server_free(t->s);
		t->s = NULL;
		return false;
	}
	t->running = true;
	t->port = veil_http_server_port(t->s);
	snprintf(t->url, sizeof t->url, "%s://127.0.0.1:%u",
		 veil_http_server_tls(t->s) ? "https" : "http", t->port);
	return true;
}

static inline long get_on(CURL *h, const test_server *t, const char *path, http_result *res)
{
	char url[256];

	snprintf(url, sizeof url, "%s%s", t->url, path);
	res->rc = http_do(h, "GET", url, NULL, NULL, 0, res);
	http_info(h, res);
	return res->rc == CURLE_OK ? res->status : 0;
}

/* Reads from fd until needle is in buf or timeout_s passes. */
static inline bool raw_read_until(int fd, char *buf, size_t cap, size_t *len, const char *needle,
				  double timeout_s)
{
	double end = now_s() + timeout_s;

	while (strstr(buf, needle) == NULL && *len + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double left = end - now_s();
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return false;
		ssize_t n = recv(fd, buf + *len, cap - 1 - *len, 0);
		if (n <= 0)
			return strstr(buf, needle) != NULL;
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	return strstr(buf, needle) != NULL;
}

#endif

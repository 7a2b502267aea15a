/*
 * bench_http.c - is Veil's HTTP layer (src/http on libevent's evhttp) a
 * bottleneck? Requests per second over keep-alive connections on loopback,
 * next to the cheapest server that could answer the same client loop,
 * measured in the same run:
 *   - baseline: a raw-socket server with the same threads, one epoll loop
 *     and one SO_REUSEPORT socket each (the shape of the HTTP server), that
 *     reads up to the blank line ending a request and writes back a fixed
 *     response of the same size as the HTTP server's, parsing nothing;
 *   - veil_http_server answering GET /ping with veil_http_reply (a text
 *     body), and GET /json with veil_http_reply_json (a small object);
 * each with 1 and with 4 client connections, every connection driven by
 * its own thread (send one request, read the whole response, repeat) on
 * raw sockets, so the client costs the same for every server.
 * The ratio is the HTTP server's rate over the baseline's with the same
 * connections; baseline and HTTP server alternate round by round and each
 * keeps its best, so a burst of load on the machine hits both.
 *
 * Usage: bench_http [seconds-per-measurement]   (default 0.5)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "veil/http.h"

#define ROUNDS         5
#define SERVER_THREADS 2
#define CLIENTS_MAX    4
#define CONN_FDS_MAX   1024

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, errno != 0 ? strerror(errno) : veil_err_detail());
	exit(1);
}

/* ---- the baseline: read to the blank line, write fixed bytes ---- */

/* Sized like evhttp's answer to /ping (status line, Date, Content-Type,
 * Cache-Control, Content-Length, body), so both move the same bytes. */
static const char canned[] = "HTTP/1.1 200 OK\r\n"
			     "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
			     "Content-Type: text/plain\r\n"
			     "Cache-Control: no-store\r\n"
			     "Content-Length: 4\r\n"
			     "\r\n"
			     "pong";

typedef struct raw_loop {
	int listen_fd;
	int epoll_fd;
	pthread_t thread;
	atomic_bool *stop;
	/* Per connection: the last bytes of a read that did not end a
	 * request, so a blank line split across reads is still seen. */
	char tail[CONN_FDS_MAX][3];
	unsigned char tail_len[CONN_FDS_MAX];
} raw_loop;

typedef struct raw_server {
	raw_loop loops[SERVER_THREADS];
	atomic_bool stop;
	uint16_t port;
} raw_server;

static int listen_on(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(*port)};
	socklen_t len = sizeof sin;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		die("baseline listen");
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Reads what the connection has and answers each request it completes.
 * Returns false when the connection is done. */
static bool raw_serve(raw_loop *l, int fd)
{
	char buf[4096 + 3];
	size_t kept = l->tail_len[fd], len, left;
	const char *p = buf, *q;
	ssize_t n;
	int answers = 0;

	memcpy(buf, l->tail[fd], kept);
	n = recv(fd, buf + kept, sizeof buf - kept, 0);
	if (n <= 0)
		return n < 0 && errno == EAGAIN;
	len = kept + (size_t)n;
	while ((q = memmem(p, (size_t)(buf + len - p), "\r\n\r\n", 4)) != NULL) {
		answers++;
		p = q + 4;
	}
	left = (size_t)(buf + len - p);
	kept = left < 3 ? left : 3;
	memcpy(l->tail[fd], buf + len - kept, kept);
	l->tail_len[fd] = (unsigned char)kept;
	for (int i = 0; i < answers; i++)
		if (send(fd, canned, sizeof canned - 1, MSG_NOSIGNAL) !=
		    (ssize_t)(sizeof canned - 1))
			return false;
	return true;
}

static void *raw_main(void *arg)
{
	raw_loop *l = arg;
	struct epoll_event ev[64];

	while (!atomic_load(l->stop)) {
		int n = epoll_wait(l->epoll_fd, ev, 64, 50);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (fd == l->listen_fd) {
				int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				struct epoll_event add = {.events = EPOLLIN, .data.fd = c};
				if (c >= 0 && c < CONN_FDS_MAX &&
				    epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, c, &add) == 0) {
					l->tail_len[c] = 0;
					continue;
				}
				if (c >= 0)
					close(c);
			} else if (!raw_serve(l, fd)) {
				close(fd);
			}
		}
	}
	return NULL;
}

static void raw_start(raw_server *s)
{
	memset(s, 0, sizeof *s);
	for (int i = 0; i < SERVER_THREADS; i++) {
		raw_loop *l = &s->loops[i];
		struct epoll_event add = {.events = EPOLLIN};
		l->stop = &s->stop;
		l->listen_fd = listen_on(&s->port);
		l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		add.data.fd = l->listen_fd;
		if (l->epoll_fd < 0 ||
		    epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->listen_fd, &add) != 0 ||
		    pthread_create(&l->thread, NULL, raw_main, l) != 0)
			die("baseline start");
	}
}

static void raw_stop(raw_server *s)
{
	atomic_store(&s->stop, true);
	for (int i = 0; i < SERVER_THREADS; i++) {
		raw_loop *l = &s->loops[i];
		pthread_join(l->thread, NULL);
		close(l->epoll_fd);
		close(l->listen_fd);
	}
}

/* ---- the HTTP server ---- */

static void h_ping(veil_http_request *r, void *user)
{
	(void)user;
	veil_http_reply(r, 200, "text/plain", "pong", 4);
}

static void h_json(veil_http_request *r, void *user)
{
	(void)user;
	veil_http_reply_json(r, 200, json_pack("{s:b, s:i}", "ok", 1, "n", 42));
}

typedef struct http_bench_server {
	veil_http_server *s;
	pthread_t thread;
} http_bench_server;

static void *http_main(void *arg)
{
	http_bench_server *h = arg;
	if (veil_http_server_run(h->s) != VEIL_OK)
		die("HTTP server run");
	return NULL;
}

static void http_start(http_bench_server *h)
{
	veil_http_config c = {.threads = SERVER_THREADS};

	if (veil_http_server_new(&c, &h->s) != VEIL_OK ||
	    veil_http_route(h->s, "GET", "/ping", h_ping, NULL) != VEIL_OK ||
	    veil_http_route(h->s, "GET", "/json", h_json, NULL) != VEIL_OK ||
	    pthread_create(&h->thread, NULL, http_main, h) != 0)
		die("HTTP server start");
}

static void http_stop(http_bench_server *h)
{
	veil_http_server_stop(h->s);
	pthread_join(h->thread, NULL);
	veil_http_server_free(h->s);
}

/* ---- the client: one keep-alive connection per thread ---- */

typedef struct client {
	uint16_t port;
	const char *request;
	atomic_bool *stop;
	atomic_long done; /* complete responses */
	pthread_t thread;
} client;

/* The length of the response in buf[0..len) if it is complete, else 0:
 * headers up to the blank line, then Content-Length bytes. */
static size_t response_length(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *line = buf;
	size_t head, body = 0;

	if (end == NULL)
		return 0;
	head = (size_t)(end - buf) + 4;
	while (line < end) {
		const char *next = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			body = strtoul(line + 15, NULL, 10); /* bounded: only compared */
		line = next + 2;
	}
	return len - head >= body ? head + body : 0;
}

static void *client_main(void *arg)
{
	client *c = arg;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(c->port)};
	size_t req_len = strlen(c->request);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[4096];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		die("client connect");
	while (!atomic_load(c->stop)) {
		size_t len = 0;
		if (send(fd, c->request, req_len, MSG_NOSIGNAL) != (ssize_t)req_len)
			die("client send");
		for (;;) {
			ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
			if (n <= 0)
				die("client recv");
			len += (size_t)n;
			if (response_length(buf, len) != 0)
				break;
			if (len == sizeof buf)
				die("client: response too long");
		}
		atomic_fetch_add(&c->done, 1);
	}
	close(fd);
	return NULL;
}

/* Runs `clients` connections against port for `seconds` after a short
 * warm-up; returns responses per second over all of them. */
static double run_clients(uint16_t port, const char *request, int clients, double seconds)
{
	client c[CLIENTS_MAX];
	atomic_bool stop = false;
	long before = 0, after = 0;
	double start, elapsed;

	for (int i = 0; i < clients; i++) {
		c[i] = (client){.port = port, .request = request, .stop = &stop};
		atomic_init(&c[i].done, 0);
		if (pthread_create(&c[i].thread, NULL, client_main, &c[i]) != 0)
			die("client thread");
	}
	usleep(100 * 1000);
	for (int i = 0; i < clients; i++)
		before += atomic_load(&c[i].done);
	start = now_seconds();
	usleep((useconds_t)(seconds * 1e6));
	for (int i = 0; i < clients; i++)
		after += atomic_load(&c[i].done);
	elapsed = now_seconds() - start;
	atomic_store(&stop, true);
	for (int i = 0; i < clients; i++)
		pthread_join(c[i].thread, NULL);
	return (double)(after - before) / elapsed;
}

static void row(const char *what, int clients, double rate, double base)
{
	char label[80];

	snprintf(label, sizeof label, "%s, %d conn%s", what, clients, clients > 1 ? "s" : "");
	/* us each: the round trip one connection sees. */
	printf("| %-46s | %12.0f | %10.1f | %7.3f |\n", label, rate, 1e6 * clients / rate,
	       rate / base);
}

int main(int argc, char **argv)
{
	static const char ping[] = "GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n";
	static const char json[] = "GET /json HTTP/1.1\r\nHost: bench\r\n\r\n";
	static const int conns[] = {1, CLIENTS_MAX};
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 0.5;
	raw_server raw;
	http_bench_server http;

	if (!(seconds > 0 && seconds < 60)) {
		fprintf(stderr, "usage: bench_http [seconds-per-measurement]\n");
		return 2;
	}
	raw_start(&raw);
	http_start(&http);
	printf("Veil HTTP benchmark: %d server threads, loopback, keep-alive, best of %d rounds "
	       "of %.2f s each\n\n",
	       SERVER_THREADS, ROUNDS, seconds);
	printf("| %-46s | %12s | %10s | %7s |\n", "operation", "per second", "us each", "ratio");
	printf("|%.48s|%.14s|%.12s|%.9s|\n", "------------------------------------------------",
	       "--------------", "------------", "---------");
	for (size_t k = 0; k < sizeof conns / sizeof conns[0]; k++) {
		double base = 0, p = 0, j = 0;
		int n = conns[k];
		for (int round = 0; round < ROUNDS; round++) {
			double b = run_clients(raw.port, ping, n, seconds);
			double hp = run_clients(veil_http_server_port(http.s), ping, n, seconds);
			double hj = run_clients(veil_http_server_port(http.s), json, n, seconds);
			base = b > base ? b : base;
			p = hp > p ? hp : p;
			j = hj > j ? hj : j;
		}
		row("raw socket, fixed reply (baseline)", n, base, base);
		row("veil_http GET, text reply", n, p, base);
		row("veil_http GET, JSON reply", n, j, base);
	}
	http_stop(&http);
	raw_stop(&raw);
	return 0;
}

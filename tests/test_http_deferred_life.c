/*
 * test_http_deferred_life.c - deferred replies (src/http/deferred.c) when
 * things go away or take long: a client that disconnects mid-stream or
 * while a whole reply is prepared (gone() turns true, write() false), a
 * client that stops reading (the queue cap), answers slower than the idle
 * timeout, TLS (with a stream ended in the very loop iteration its last
 * piece was written out, which libevent's OpenSSL bufferevent gets
 * wrong), and a server stopped and freed while producers still hold
 * handles (run under ASan). Basic behaviour is in test_http_deferred.c.
 */
#include "test_http_deferred_util.h"

static test_server srv;

/* GET /slow/<n>: n pieces, 400 ms apart. */
static void p_slow(job *j)
{
	long n = path_number(j->path, "/slow/");

	veil_http_deferred_begin(j->d, 200, "text/plain");
	for (long i = 0; i < n; i++) {
		sleep_ms(400);
		PRODUCER_CHECK(veil_http_deferred_write(j->d, "s", 1));
	}
	veil_http_deferred_end(j->d);
}

static void h_slow(veil_http_request *r, void *user)
{
	(void)user;
	defer_to(r, p_slow, false);
}

/* GET /endless: a piece every 5 ms until a write fails (20 s at most);
 * records when gone() and a failed write were first seen. */
static struct {
	_Atomic double gone_at, false_at;
	atomic_int writes;
	gate done;
} endless = {.done = GATE_INIT};

static void p_endless(job *j)
{
	double end = now_s() + 20;

	veil_http_deferred_begin(j->d, 200, "text/plain");
	while (now_s() < end) {
		if (veil_http_deferred_gone(j->d) && atomic_load(&endless.gone_at) == 0)
			atomic_store(&endless.gone_at, now_s());
		if (!veil_http_deferred_write(j->d, "0123456789abcdef", 16)) {
			atomic_store(&endless.false_at, now_s());
			break;
		}
		atomic_fetch_add(&endless.writes, 1);
		sleep_ms(5);
	}
	if (atomic_load(&endless.gone_at) == 0 && veil_http_deferred_gone(j->d))
		atomic_store(&endless.gone_at, now_s());
	veil_http_deferred_end(j->d);
	gate_add(&endless.done, 1);
}

static void h_endless(veil_http_request *r, void *user)
{
	(void)user;
	defer_to(r, p_endless, false);
}

/* POST /wait-gone: writes nothing and polls gone() for up to 5 s, then
 * replies anyway (which must be harmless). */
static atomic_int wait_gone_result;
static gate wait_gone_done = GATE_INIT;

static void p_wait_gone(job *j)
{
	double end = now_s() + 5;

	while (!veil_http_deferred_gone(j->d) && now_s() < end)
		sleep_ms(5);
	atomic_store(&wait_gone_result, veil_http_deferred_gone(j->d) ? 1 : -1);
	PRODUCER_CHECK(veil_http_deferred_add_header(j->d, "X-Late", "1") == VEIL_OK);
	veil_http_deferred_reply(j->d, 200, "text/plain", "too late\n", 9);
	gate_add(&wait_gone_done, 1);
}

static void h_wait_gone(veil_http_request *r, void *user)
{
	(void)user;
	defer_to(r, p_wait_gone, true);
}

/* GET /flood: 64 KiB pieces (256 MiB at most) for a client that does not
 * read, with a pause after each so that the loop keeps the queue empty:
 * what piles up is in the connection's output buffer, which the cap must
 * count too. */
static struct {
	atomic_size_t total;
	atomic_int refused, gone_after;
	gate done;
} flood = {.done = GATE_INIT};

static void p_flood(job *j)
{
	static uint8_t block[64 * 1024];
	size_t total = 0;

	memset(block, 'f', sizeof block);
	veil_http_deferred_begin(j->d, 200, "application/octet-stream");
	while (total < 256u * 1024 * 1024) {
		if (!veil_http_deferred_write(j->d, block, sizeof block)) {
			atomic_store(&flood.refused, 1);
			break;
		}
		total += sizeof block;
		usleep(200);
	}
	atomic_store(&flood.total, total);
	atomic_store(&flood.gone_after, veil_http_deferred_gone(j->d) ? 1 : 0);
	PRODUCER_CHECK(!veil_http_deferred_write(j->d, "x", 1)); /* stays refused */
	veil_http_deferred_end(j->d);
	gate_add(&flood.done, 1);
}

static void h_flood(veil_http_request *r, void *user)
{
	(void)user;
	defer_to(r, p_flood, false);
}

static bool life_routes(veil_http_server *s)
{
	return deferred_common_routes(s) &&
	       veil_http_route(s, "GET", "/slow/*", h_slow, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/endless", h_endless, NULL) == VEIL_OK &&
	       veil_http_route(s, "POST", "/wait-gone", h_wait_gone, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/flood", h_flood, NULL) == VEIL_OK;
}

TEST(client_gone_mid_stream_stops_the_producer)
{
	char buf[4096] = "";
	size_t len = 0;
	double closed_at;
	http_result res = {0};
	int fd;

	gate_reset(&endless.done);
	atomic_store(&endless.gone_at, 0);
	atomic_store(&endless.false_at, 0);
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /endless HTTP/1.1\r\nHost: t\r\n\r\n"));
	EXPECT(raw_read_until(fd, buf, sizeof buf, &len, "0123456789abcdef", 5.0));
	closed_at = now_s();
	close(fd);
	REQUIRE(gate_wait(&endless.done, 1, 10.0));
	/* gone() turned true and write() false soon after the close (the
	 * connection reads while deferred, so the end of file is seen
	 * without waiting for a write to fail). */
	EXPECT(atomic_load(&endless.false_at) > 0);
	EXPECT(atomic_load(&endless.false_at) - closed_at < 2.0);
	EXPECT(atomic_load(&endless.gone_at) > 0 &&
	       atomic_load(&endless.gone_at) <= atomic_load(&endless.false_at));
	EXPECT(producers_wait(5.0));
	/* The server goes on serving. */
	EXPECT(http_once("GET", srv.url, NULL, NULL, 0, &res) == CURLE_OK);
	EXPECT(res.status == 404);
	result_clear(&res);
}

TEST(client_gone_while_a_whole_reply_is_prepared)
{
	const char req[] = "POST /wait-gone HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
	int fd;

	/* A request with a body: evhttp stops reading after the body, so
	 * without the deferred connection reading again, the close would
	 * go unnoticed until the reply. */
	gate_reset(&wait_gone_done);
	atomic_store(&wait_gone_result, 0);
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, req));
	usleep(100 * 1000); /* the handler has deferred */
	close(fd);
	EXPECT(gate_wait(&wait_gone_done, 1, 10.0));
	EXPECT(atomic_load(&wait_gone_result) == 1);
	EXPECT(producers_wait(5.0));
}

TEST(queue_cap_stops_a_client_that_does_not_read)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(srv.port)};
	int small = 4096, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	http_result res = {0};
	size_t total;

	REQUIRE(fd >= 0);
	/* Before connect, so the window offered is small from the start. */
	EXPECT(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0);
	gate_reset(&flood.done);
	atomic_store(&flood.refused, 0);
	EXPECT(raw_send(fd, "GET /flood HTTP/1.1\r\nHost: t\r\n\r\n"));
	/* Well inside the 10 s write timeout: the cap, not the timeout,
	 * stops it. */
	EXPECT(gate_wait(&flood.done, 1, 8.0));
	total = atomic_load(&flood.total);
	EXPECT(atomic_load(&flood.refused) == 1);
	EXPECT(atomic_load(&flood.gone_after) == 1);
	/* Taken: the cap plus what the kernel buffers hold, far from the
	 * 256 MiB the producer would have written. */
	EXPECT(total >= VEIL_HTTP_DEFERRED_QUEUE_MAX / 2);
	EXPECT(total <= VEIL_HTTP_DEFERRED_QUEUE_MAX + 32u * 1024 * 1024);
	close(fd);
	EXPECT(producers_wait(5.0));
	EXPECT(http_once("GET", srv.url, NULL, NULL, 0, &res) == CURLE_OK && res.status == 404);
	result_clear(&res);
}

static bool timeout_routes(veil_http_server *s)
{
	return veil_http_route(s, "GET", "/later/*", h_later, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/slow/*", h_slow, NULL) == VEIL_OK;
}

TEST(slow_answers_outlive_the_idle_timeout)
{
	veil_http_config c = {.timeout_seconds = 1};
	test_server t;
	CURL *h = curl_easy_init();
	http_result res = {0};
	char buf[2048];
	bool closed;
	double t0;
	int fd;

	REQUIRE(h != NULL);
	REQUIRE(start_with(&t, &c, timeout_routes));
	/* A GET leaves evhttp reading with its idle timeout running: a
	 * deferred answer slower than the timeout must still arrive. */
	EXPECT(get_on(h, &t, "/later/1500", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "/later/1500") == 0);
	/* A stream of 2.4 s with a piece every 400 ms. */
	EXPECT(get_on(h, &t, "/slow/6", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "ssssss") == 0);
	curl_easy_cleanup(h);

	/* After the reply the idle timeout is back: a keep-alive connection
	 * that then sits idle is dropped after about a second. */
	fd = raw_connect(t.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /later/0 HTTP/1.1\r\nHost: t\r\n\r\n"));
	t0 = now_s();
	raw_read(fd, buf, sizeof buf, 4.0, &closed);
	close(fd);
	EXPECT(strstr(buf, "\r\n\r\n/later/0") != NULL);
	EXPECT(closed && now_s() - t0 < 3.5);
	EXPECT(producers_wait(5.0));
	EXPECT(ts_stop(&t));
	result_clear(&res);
}

TEST(deferred_over_tls)
{
	veil_http_config c = {0};
	tls_files files;
	test_server t;
	CURL *h = curl_easy_init();
	http_result res = {0};
	char url[256];
	const char *paths[] = {"/later/30", "/stream/4"};
	const char *want[] = {"/later/30", "p0,p1,p2,p3,"};

	REQUIRE(h != NULL);
	REQUIRE(tls_files_make(&files));
	c.tls_cert = files.cert;
	c.tls_key = files.key;
	REQUIRE(start_with(&t, &c, deferred_common_routes));
	for (size_t i = 0; i < 2; i++) {
		result_clear(&res);
		curl_easy_reset(h);
		snprintf(url, sizeof url, "%s%s", t.url, paths[i]);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
		curl_easy_setopt(h, CURLOPT_CAINFO, files.cert);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &res);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, res.error);
		res.rc = curl_easy_perform(h);
		http_info(h, &res);
		if (res.rc != CURLE_OK)
			fprintf(stderr, "  %s: %s\n", paths[i], res.error);
		EXPECT(res.rc == CURLE_OK);
		EXPECT(res.status == 200 && res.body != NULL &&
		       strcmp((char *)res.body, want[i]) == 0);
		EXPECT(i == 0 || res.connects == 0);
	}
	curl_easy_cleanup(h);
	EXPECT(producers_wait(5.0));
	/* libevent's OpenSSL bufferevent holds a reference for its deferred
	 * write callback; a server freed before the loop ran it leaks the
	 * connection (seen with immediate replies too). Let it run. */
	usleep(50 * 1000);
	EXPECT(ts_stop(&t));
	tls_files_remove(&files);
	result_clear(&res);
}

/* GET /held/<i>: deferred, and the handle parked in held[i] for the test
 * thread to use as the producer. */
static veil_http_deferred *held[3];
static gate held_count = GATE_INIT;

static void h_held(veil_http_request *r, void *user)
{
	long i = path_number(veil_http_path(r), "/held/");

	(void)user;
	if (i < 0 || i >= 3 || held[i] != NULL || (held[i] = veil_http_defer(r)) == NULL) {
		veil_http_reply(r, 500, "text/plain", "cannot hold\n", 12);
		return;
	}
	gate_add(&held_count, 1);
}

static bool held_routes(veil_http_server *s)
{
	return veil_http_route(s, "GET", "/held/*", h_held, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/endless", h_endless, NULL) == VEIL_OK;
}

TEST(producers_outlive_the_server)
{
	veil_http_config c = {0};
	test_server t;
	char buf[2048] = "", path[64];
	size_t len = 0;
	int fds[3] = {-1, -1, -1};
	bool closed;

	memset(held, 0, sizeof held);
	gate_reset(&held_count);
	REQUIRE(start_with(&t, &c, held_routes));
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "GET /held/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
		fds[i] = raw_connect(t.port);
		EXPECT(fds[i] >= 0 && raw_send(fds[i], path));
	}
	REQUIRE(gate_wait(&held_count, 3, 5.0));

	/* held[1] is mid-stream when the server goes. */
	veil_http_deferred_begin(held[1], 200, "text/plain");
	EXPECT(veil_http_deferred_write(held[1], "before-stop", 11));
	EXPECT(raw_read_until(fds[1], buf, sizeof buf, &len, "before-stop", 5.0));
	EXPECT(!veil_http_deferred_gone(held[1]));

	/* Stopped: the loops no longer run. held[2] replies now; nothing
	 * drains it, and free must release it. */
	veil_http_server_stop(t.s);
	pthread_join(t.thread, NULL);
	t.running = false;
	veil_http_deferred_reply(held[2], 200, "text/plain", "never sent", 10);
	EXPECT(veil_http_deferred_write(held[1], "queued", 6)); /* not gone yet */
	veil_http_server_free(t.s);
	t.s = NULL;

	/* Freed: every handle reports gone, calls are no-ops, and the last
	 * call frees each (ASan checks both). */
	EXPECT(veil_http_deferred_gone(held[0]));
	EXPECT_OK(veil_http_deferred_add_header(held[0], "X-After-Free", "1"));
	veil_http_deferred_reply(held[0], 200, "text/plain", "too late", 8);
	EXPECT(veil_http_deferred_gone(held[1]));
	EXPECT(!veil_http_deferred_write(held[1], "after-free", 10));
	veil_http_deferred_end(held[1]);
	for (int i = 0; i < 3; i++) {
		if (fds[i] < 0)
			continue;
		raw_read(fds[i], buf, sizeof buf, 2.0, &closed);
		EXPECT(closed);
		EXPECT(strstr(buf, "too late") == NULL && strstr(buf, "never sent") == NULL);
		close(fds[i]);
	}
}

TEST(server_freed_under_a_running_producer)
{
	veil_http_config c = {0};
	test_server t;
	char buf[2048] = "";
	size_t len = 0;
	int fd;

	gate_reset(&endless.done);
	atomic_store(&endless.false_at, 0);
	REQUIRE(start_with(&t, &c, held_routes));
	fd = raw_connect(t.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /endless HTTP/1.1\r\nHost: t\r\n\r\n"));
	EXPECT(raw_read_until(fd, buf, sizeof buf, &len, "0123456789abcdef", 5.0));
	/* The producer keeps writing from its thread while the server is
	 * stopped and freed; once freed its writes fail and it ends. */
	EXPECT(ts_stop(&t));
	EXPECT(gate_wait(&endless.done, 1, 5.0));
	EXPECT(atomic_load(&endless.false_at) > 0);
	EXPECT(producers_wait(5.0));
	close(fd);
}

/* ---- one loop, three TLS connections: a stream ended in the same loop
 * iteration in which its last piece was written out ---- */

static veil_http_deferred *race_stream;
static gate race_held = GATE_INIT, race_sleeping = GATE_INIT;

/* GET /race/stream: deferred, begun, parked for the other handlers. */
static void h_race_stream(veil_http_request *r, void *user)
{
	(void)user;
	race_stream = veil_http_defer(r);
	if (race_stream == NULL) {
		veil_http_reply(r, 500, "text/plain", "no memory\n", 10);
		return;
	}
	veil_http_deferred_begin(race_stream, 200, "text/plain");
	gate_add(&race_held, 1);
}

/* GET /race/write: writes the stream's piece, then holds the loop while
 * the test sends /race/end on another connection. */
static void h_race_write(veil_http_request *r, void *user)
{
	(void)user;
	PRODUCER_CHECK(veil_http_deferred_write(race_stream, "piece", 5));
	gate_add(&race_sleeping, 1);
	usleep(200 * 1000);
	veil_http_reply(r, 200, "text/plain", "written", 7);
}

/* GET /race/end: ends the stream from the loop thread. */
static void h_race_end(veil_http_request *r, void *user)
{
	(void)user;
	veil_http_deferred_end(race_stream);
	veil_http_reply(r, 200, "text/plain", "ended", 5);
}

static bool race_routes(veil_http_server *s)
{
	return veil_http_route(s, "GET", "/race/stream", h_race_stream, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/race/write", h_race_write, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/race/end", h_race_end, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/exact", h_name, "exact") == VEIL_OK;
}

typedef struct tls_get {
	pthread_t thread;
	CURL *h;
	const char *ca;
	char url[256];
	http_result res;
} tls_get;

static void *tls_get_main(void *arg)
{
	tls_get *g = arg;

	result_clear(&g->res);
	curl_easy_reset(g->h);
	curl_easy_setopt(g->h, CURLOPT_URL, g->url);
	curl_easy_setopt(g->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(g->h, CURLOPT_TIMEOUT_MS, 4000L);
	curl_easy_setopt(g->h, CURLOPT_CAINFO, g->ca);
	curl_easy_setopt(g->h, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(g->h, CURLOPT_WRITEDATA, &g->res);
	curl_easy_setopt(g->h, CURLOPT_ERRORBUFFER, g->res.error);
	g->res.rc = curl_easy_perform(g->h);
	http_info(g->h, &g->res);
	return NULL;
}

static bool tls_get_start(tls_get *g, const test_server *t, const char *path)
{
	snprintf(g->url, sizeof g->url, "%s%s", t->url, path);
	return pthread_create(&g->thread, NULL, tls_get_main, g) == 0;
}

/*
 * libevent's OpenSSL bufferevent reports "output drained" one loop
 * iteration late. Here, in one iteration of the only loop, the stream's
 * piece is written out and then the stream is ended: /race/write wrote
 * the piece and holds the loop while /race/end arrives on a connection
 * already open, so the next iteration finds the piece's socket writable
 * and /race/end readable together. Unguarded, the late "drained" finished
 * the request with the last-chunk unsent and the stream never ended.
 */
TEST(tls_stream_ended_as_its_last_piece_leaves)
{
	veil_http_config c = {.threads = 1};
	tls_files files;
	test_server t;
	tls_get a = {0}, w = {0}, e = {0};

	REQUIRE(tls_files_make(&files));
	c.tls_cert = files.cert;
	c.tls_key = files.key;
	gate_reset(&race_held);
	gate_reset(&race_sleeping);
	REQUIRE(start_with(&t, &c, race_routes));
	a.ca = w.ca = e.ca = files.cert;
	a.h = curl_easy_init();
	w.h = curl_easy_init();
	e.h = curl_easy_init();
	REQUIRE(a.h != NULL && w.h != NULL && e.h != NULL);
	/* The /race/end connection is open (handshake done) beforehand. */
	REQUIRE(tls_get_start(&e, &t, "/exact"));
	pthread_join(e.thread, NULL);
	EXPECT(e.res.status == 200);

	REQUIRE(tls_get_start(&a, &t, "/race/stream"));
	EXPECT(gate_wait(&race_held, 1, 5.0));
	REQUIRE(tls_get_start(&w, &t, "/race/write"));
	EXPECT(gate_wait(&race_sleeping, 1, 5.0));
	usleep(20 * 1000);
	REQUIRE(tls_get_start(&e, &t, "/race/end"));
	pthread_join(w.thread, NULL);
	pthread_join(e.thread, NULL);
	pthread_join(a.thread, NULL);
	if (a.res.rc != CURLE_OK)
		fprintf(stderr, "  /race/stream: %s\n", a.res.error);
	EXPECT(a.res.rc == CURLE_OK && a.res.status == 200);
	EXPECT(a.res.body != NULL && strcmp((char *)a.res.body, "piece") == 0);
	EXPECT(w.res.status == 200 && e.res.status == 200 && e.res.connects == 0);
	curl_easy_cleanup(a.h);
	curl_easy_cleanup(w.h);
	curl_easy_cleanup(e.h);
	result_clear(&a.res);
	result_clear(&w.res);
	result_clear(&e.res);
	usleep(50 * 1000); /* as in deferred_over_tls */
	EXPECT(ts_stop(&t));
	tls_files_remove(&files);
}

int main(void)
{
	veil_http_config c = {0};
	int errors;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !start_with(&srv, &c, life_routes)) {
		fprintf(stderr, "test_http_deferred_life: cannot start: %s\n", veil_err_detail());
		return 1;
	}
	RUN(client_gone_mid_stream_stops_the_producer);
	RUN(client_gone_while_a_whole_reply_is_prepared);
	RUN(queue_cap_stops_a_client_that_does_not_read);
	RUN(slow_answers_outlive_the_idle_timeout);
	RUN(deferred_over_tls);
	RUN(tls_stream_ended_as_its_last_piece_leaves);
	RUN(producers_outlive_the_server);
	RUN(server_freed_under_a_running_producer);
	if (!producers_wait(10.0) || !ts_stop(&srv))
		fprintf(stderr, "test_http_deferred_life: producers or the server did not end\n");
	errors = atomic_load(&producer_errors);
	if (errors != 0)
		fprintf(stderr, "test_http_deferred_life: %d problems seen off the test thread\n",
			errors);
	curl_global_cleanup();
	return harness_finish("test_http_deferred_life") != 0 || errors != 0;
}

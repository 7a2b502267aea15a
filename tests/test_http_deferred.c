/*
 * test_http_deferred.c - deferred replies (src/http/deferred.c): handlers
 * that hand the request to another thread, which answers later, whole or
 * streamed, the way the worker's engine threads do. Here: what arrives
 * (whole replies, pieces that leave while the producer still works,
 * headers, Cache-Control), what careless producers and handlers get,
 * many requests at once across two loops, keep-alive and pipelining,
 * HTTP/1.0 and HEAD. What happens when clients or the server go away, and
 * TLS, is in test_http_deferred_life.c.
 *
 * Clients are libcurl and raw sockets: a raw socket shows the chunks on
 * the wire and sends pipelined requests.
 */
#include "test_http_deferred_util.h"

static test_server srv;

/* GET /pieces: piece-1, then piece-2 only once the client said it has
 * piece 1; pieces_waited says whether it did within 5 seconds. */
static gate first_seen = GATE_INIT;
static atomic_int pieces_waited;

static void p_pieces(job *j)
{
	veil_http_deferred_begin(j->d, 200, "text/event-stream");
	PRODUCER_CHECK(veil_http_deferred_write(j->d, "piece-1", 7));
	atomic_store(&pieces_waited, gate_wait(&first_seen, 1, 5.0) ? 1 : -1);
	PRODUCER_CHECK(veil_http_deferred_write(j->d, "piece-2", 7));
	veil_http_deferred_end(j->d);
}

static void h_pieces(veil_http_request *r, void *user)
{
	(void)user;
	defer_to(r, p_pieces, false);
}

/* GET /misuse/<kind>: what a careless producer or handler may do. */
static void p_end_without_begin(job *j)
{
	PRODUCER_CHECK(!veil_http_deferred_write(j->d, "x", 1)); /* not begun */
	veil_http_deferred_end(j->d);                            /* no reply: 500 */
}

static void p_reply_after_begin(job *j)
{
	veil_http_deferred_begin(j->d, 200, "text/plain");
	veil_http_deferred_begin(j->d, 500, "text/html"); /* ignored */
	PRODUCER_CHECK(veil_http_deferred_write(j->d, "a", 1));
	/* A reply on an open stream ends it; its body is dropped. */
	veil_http_deferred_reply(j->d, 201, "text/plain", "ignored", 7);
}

static void p_headers(job *j)
{
	static const char *const bad[][2] = {{"", "v"},
					     {"Bad Name", "v"},
					     {"X-Colon:", "v"},
					     {"X(paren)", "v"},
					     {"X-\x01", "v"},
					     {"X-Ok", "a\r\nInjected: 1"},
					     {"X-Ok", "line\nbreak"},
					     {"X-Ok", "bell\a"},
					     {"X-Ok", "del\x7f"}};
	veil_http_deferred *d = j->d;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		PRODUCER_CHECK(veil_http_deferred_add_header(d, bad[i][0], bad[i][1]) ==
			       VEIL_E_USAGE);
	PRODUCER_CHECK(veil_http_deferred_add_header(d, "X-Tab", "a\tb c~\x80") == VEIL_OK);
	/* The producer's Cache-Control replaces the default no-store. */
	PRODUCER_CHECK(veil_http_deferred_add_header(d, "Cache-Control", "private") == VEIL_OK);
	veil_http_deferred_begin(d, 200, "text/plain");
	PRODUCER_CHECK(veil_http_deferred_add_header(d, "X-After", "1") == VEIL_E_USAGE);
	PRODUCER_CHECK(veil_http_deferred_write(d, "ok", 2));
	veil_http_deferred_end(d);
}

static atomic_int too_big_gone;

static void p_too_big(job *j)
{
	size_t n = VEIL_HTTP_DEFERRED_QUEUE_MAX + 1;
	uint8_t *big = calloc(1, n);

	veil_http_deferred_begin(j->d, 200, "text/plain");
	PRODUCER_CHECK(veil_http_deferred_write(j->d, "head", 4));
	PRODUCER_CHECK(big != NULL && !veil_http_deferred_write(j->d, big, n));
	atomic_store(&too_big_gone, veil_http_deferred_gone(j->d) ? 1 : -1);
	PRODUCER_CHECK(!veil_http_deferred_write(j->d, "tail", 4));
	free(big);
	veil_http_deferred_end(j->d);
}

static void p_right(job *j)
{
	veil_http_deferred_reply(j->d, 200, "text/plain", "right", 5);
}

static void h_misuse(veil_http_request *r, void *user)
{
	const char *kind = veil_http_path(r) + strlen("/misuse/");
	veil_http_deferred *d;

	(void)user;
	if (strcmp(kind, "end-without-begin") == 0) {
		defer_to(r, p_end_without_begin, false);
	} else if (strcmp(kind, "reply-after-begin") == 0) {
		defer_to(r, p_reply_after_begin, false);
	} else if (strcmp(kind, "headers") == 0) {
		defer_to(r, p_headers, false);
	} else if (strcmp(kind, "too-big") == 0) {
		defer_to(r, p_too_big, false);
	} else if (strcmp(kind, "twice") == 0) {
		/* After defer the request is the handle's: a second defer,
		 * an immediate reply or header are refused or ignored. */
		defer_to(r, p_right, false);
		PRODUCER_CHECK(veil_http_defer(r) == NULL);
		PRODUCER_CHECK(veil_http_add_header(r, "X-Wrong", "1") == VEIL_E_USAGE);
		veil_http_reply(r, 202, "text/plain", "wrong", 5);
		veil_http_stream_begin(r, 203, "text/plain");
	} else if (strcmp(kind, "inline") == 0) {
		/* Deferred and answered at once on the loop thread. */
		d = veil_http_defer(r);
		if (d == NULL) {
			veil_http_reply(r, 500, "text/plain", "no memory\n", 10);
			return;
		}
		veil_http_deferred_reply(d, 200, "text/plain", "inline", 6);
	} else {
		veil_http_reply(r, 404, "text/plain", "no such misuse\n", 15);
	}
}

static bool basic_routes(veil_http_server *s)
{
	return deferred_common_routes(s) &&
	       veil_http_route(s, "GET", "/pieces", h_pieces, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/misuse/*", h_misuse, NULL) == VEIL_OK &&
	       veil_http_route(s, "HEAD", "/exact", h_name, "exact") == VEIL_OK &&
	       veil_http_route(s, "GET", "/immediate-stream", h_stream, NULL) == VEIL_OK;
}

TEST(whole_reply_from_another_thread)
{
	CURL *h = curl_easy_init();
	http_result res = {0};
	double t0 = now_s();
	uint8_t body[3000];
	char url[256];

	REQUIRE(h != NULL);
	EXPECT(get_on(h, &srv, "/later/200", &res) == 200);
	/* The loop did not wait for the producer to reply. */
	EXPECT(now_s() - t0 >= 0.19);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "/later/200") == 0);
	EXPECT(result_header(&res, "X-Deferred") != NULL &&
	       strcmp(result_header(&res, "X-Deferred"), "yes") == 0);
	EXPECT(result_header(&res, "X-Handler") != NULL &&
	       strcmp(result_header(&res, "X-Handler"), "before-defer") == 0);
	EXPECT(strcmp(result_header(&res, "Cache-Control"), "no-store") == 0);
	EXPECT(strcmp(result_header(&res, "Content-Type"), "text/plain") == 0);
	EXPECT(strcmp(result_header(&res, "Content-Length"), "10") == 0);

	/* A POST body, copied by the handler, comes back byte for byte. */
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)(i * 13);
	snprintf(url, sizeof url, "%s/later-echo", srv.url);
	EXPECT(http_do(h, "POST", url, NULL, body, sizeof body, &res) == CURLE_OK);
	http_info(h, &res);
	EXPECT(res.status == 200 && res.len == sizeof body && memcmp(res.body, body, res.len) == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Length"), "3000") == 0);
	curl_easy_cleanup(h);
	result_clear(&res);
}

TEST(stream_pieces_leave_while_the_producer_works)
{
	char buf[4096] = "";
	size_t len = 0;
	bool closed;
	int fd;

	gate_reset(&first_seen);
	atomic_store(&pieces_waited, 0);
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /pieces HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
	/* Piece 1 arrives as its own chunk while the producer is still
	 * waiting for us, before it writes piece 2. */
	EXPECT(raw_read_until(fd, buf, sizeof buf, &len, "7\r\npiece-1\r\n", 5.0));
	EXPECT(strstr(buf, "piece-2") == NULL);
	EXPECT(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
	EXPECT(strcasestr(buf, "Transfer-Encoding: chunked\r\n") != NULL);
	EXPECT(strcasestr(buf, "Content-Type: text/event-stream\r\n") != NULL);
	EXPECT(strcasestr(buf, "Cache-Control: no-store\r\n") != NULL);
	gate_add(&first_seen, 1);
	len += raw_read(fd, buf + len, sizeof buf - len, 5.0, &closed);
	close(fd);
	EXPECT(closed);
	EXPECT(strstr(buf, "\r\n\r\n7\r\npiece-1\r\n7\r\npiece-2\r\n0\r\n\r\n") != NULL);
	EXPECT(producers_wait(5.0));
	EXPECT(atomic_load(&pieces_waited) == 1);
}

TEST(headers_from_the_producer)
{
	CURL *h = curl_easy_init();
	http_result res = {0};
	int errors = atomic_load(&producer_errors);

	REQUIRE(h != NULL);
	EXPECT(get_on(h, &srv, "/misuse/headers", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "ok") == 0);
	EXPECT(result_header(&res, "X-Tab") != NULL &&
	       strcmp(result_header(&res, "X-Tab"), "a\tb c~\x80") == 0);
	EXPECT(strcmp(result_header(&res, "Cache-Control"), "private") == 0);
	EXPECT(result_header(&res, "X-After") == NULL);
	EXPECT(result_header(&res, "Injected") == NULL);

	EXPECT(get_on(h, &srv, "/stream/3", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "p0,p1,p2,") == 0);
	EXPECT(strcmp(result_header(&res, "X-Stream"), "yes") == 0);
	EXPECT(strcmp(result_header(&res, "Cache-Control"), "no-store") == 0);
	EXPECT(producers_wait(5.0));
	EXPECT(atomic_load(&producer_errors) == errors);
	curl_easy_cleanup(h);
	result_clear(&res);
}

TEST(producer_and_handler_misuse)
{
	CURL *h = curl_easy_init();
	http_result res = {0};
	int errors = atomic_load(&producer_errors);

	REQUIRE(h != NULL);
	/* Ended without a reply: a 500, as dispatch sends for a handler. */
	EXPECT(get_on(h, &srv, "/misuse/end-without-begin", &res) == 500);
	/* A reply on an open stream ends it. */
	EXPECT(get_on(h, &srv, "/misuse/reply-after-begin", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "a") == 0);
	/* The handler's own reply after defer is ignored. */
	EXPECT(get_on(h, &srv, "/misuse/twice", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "right") == 0);
	EXPECT(result_header(&res, "X-Wrong") == NULL);
	/* Deferred and answered on the loop thread, before returning. */
	EXPECT(get_on(h, &srv, "/misuse/inline", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "inline") == 0);
	/* The connection survived all of it. */
	EXPECT(get_on(h, &srv, "/exact", &res) == 200 && res.connects == 0);

	/* One write over the cap: refused, the handle gone, the connection
	 * closed: the client sees nothing or a body without its last-chunk
	 * (depending on how far the loop had got), never a complete reply. */
	atomic_store(&too_big_gone, 0);
	EXPECT(get_on(h, &srv, "/misuse/too-big", &res) == 0);
	EXPECT(res.rc == CURLE_PARTIAL_FILE || res.rc == CURLE_RECV_ERROR ||
	       res.rc == CURLE_GOT_NOTHING);
	EXPECT(producers_wait(5.0));
	EXPECT(atomic_load(&too_big_gone) == 1);
	EXPECT(atomic_load(&producer_errors) == errors);
	EXPECT(get_on(h, &srv, "/exact", &res) == 200);
	curl_easy_cleanup(h);
	result_clear(&res);
}

typedef struct concurrent_call {
	pthread_t thread;
	int index;
	long status;
	bool body_ok;
} concurrent_call;

static void *concurrent_main(void *arg)
{
	concurrent_call *c = arg;
	http_result res = {0};
	char url[256], path[64];

	snprintf(path, sizeof path, "/later/%d/%d", (c->index * 7) % 50, c->index);
	snprintf(url, sizeof url, "%s%s", srv.url, path);
	http_once("GET", url, NULL, NULL, 0, &res);
	c->status = res.status;
	c->body_ok = res.body != NULL && strcmp((char *)res.body, path) == 0;
	result_clear(&res);
	return NULL;
}

TEST(many_concurrent_deferred_requests_across_loops)
{
	concurrent_call calls[32];
	size_t started = 0, ok = 0, loops;

	pthread_mutex_lock(&seen_mu);
	seen_count = 0;
	pthread_mutex_unlock(&seen_mu);
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		calls[i] = (concurrent_call){.index = (int)i};
		if (pthread_create(&calls[i].thread, NULL, concurrent_main, &calls[i]) != 0)
			break;
		started++;
	}
	EXPECT(started == sizeof calls / sizeof calls[0]);
	for (size_t i = 0; i < started; i++) {
		pthread_join(calls[i].thread, NULL);
		if (calls[i].status == 200 && calls[i].body_ok)
			ok++;
		else
			fprintf(stderr, "  request %zu: status %ld, body %s\n", i, calls[i].status,
				calls[i].body_ok ? "ok" : "wrong");
	}
	EXPECT(ok == started);
	pthread_mutex_lock(&seen_mu);
	loops = seen_count;
	pthread_mutex_unlock(&seen_mu);
	/* 32 connections over two SO_REUSEPORT sockets: both loops served
	 * (all on one would happen once in 2^31 runs). */
	EXPECT(loops == 2);
	EXPECT(producers_wait(5.0));
}

TEST(keep_alive_and_pipelining)
{
	CURL *h = curl_easy_init();
	http_result res = {0};
	char buf[4096] = "", url[256];
	const char *first, *second;
	long port;
	bool closed;
	int fd;

	/* Deferred requests one after the other on one connection. */
	REQUIRE(h != NULL);
	EXPECT(get_on(h, &srv, "/later/20", &res) == 200);
	port = res.local_port;
	EXPECT(get_on(h, &srv, "/later/0", &res) == 200);
	EXPECT(res.connects == 0 && res.local_port == port);
	EXPECT(get_on(h, &srv, "/stream/2", &res) == 200);
	EXPECT(res.connects == 0 && res.body != NULL && strcmp((char *)res.body, "p0,p1,") == 0);
	snprintf(url, sizeof url, "%s/later-echo", srv.url);
	EXPECT(http_do(h, "POST", url, NULL, "again", 5, &res) == CURLE_OK);
	http_info(h, &res);
	EXPECT(res.status == 200 && res.connects == 0 && res.len == 5);
	curl_easy_cleanup(h);

	/* Pipelined: the next requests arrive while the first is deferred;
	 * they wait in the input buffer (evhttp's reader, which would end
	 * the process on bytes arriving in its "writing" state, must not
	 * see them then) and are answered after the first, in order. */
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /later/200/a HTTP/1.1\r\nHost: t\r\n\r\n"));
	usleep(50 * 1000);
	EXPECT(raw_send(fd, "POST /later-echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nb-b"
			    "GET /later/0/c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
	raw_read(fd, buf, sizeof buf, 5.0, &closed);
	close(fd);
	EXPECT(closed);
	first = strstr(buf, "/later/200/a");
	second = strstr(buf, "b-b");
	EXPECT(first != NULL && second != NULL && first < second);
	EXPECT(second != NULL && strstr(second, "/later/0/c") != NULL);
	EXPECT(producers_wait(5.0));
	result_clear(&res);
}

TEST(http10_and_head)
{
	CURL *h = curl_easy_init();
	http_result res = {0};
	char buf[4096], url[256];
	bool closed;
	int fd;

	/* HTTP/1.0: no chunked coding; the body ends with the connection. */
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /stream/3 HTTP/1.0\r\n\r\n"));
	raw_read(fd, buf, sizeof buf, 5.0, &closed);
	close(fd);
	EXPECT(closed);
	EXPECT(strncmp(buf, "HTTP/1.0 200 ", 13) == 0);
	EXPECT(strcasestr(buf, "Transfer-Encoding") == NULL);
	EXPECT(strstr(buf, "\r\n\r\np0,p1,p2,") != NULL &&
	       strcmp(strstr(buf, "\r\n\r\n"), "\r\n\r\np0,p1,p2,") == 0);

	/* HTTP/1.0 asking for keep-alive: a streamed body still ends with
	 * the connection, deferred or immediate (evhttp alone announces
	 * Content-Length: 0, sends the body, and keeps the connection). */
	for (int i = 0; i < 2; i++) {
		const char *req[] = {
		    "GET /stream/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		    "GET /immediate-stream HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"};
		const char *want[] = {"\r\n\r\np0,p1,p2,", "\r\n\r\none,two,three"};
		fd = raw_connect(srv.port);
		REQUIRE(fd >= 0);
		EXPECT(raw_send(fd, req[i]));
		raw_read(fd, buf, sizeof buf, 5.0, &closed);
		close(fd);
		EXPECT(closed && strncmp(buf, "HTTP/1.0 200 ", 13) == 0);
		EXPECT(strcasestr(buf, "Content-Length") == NULL);
		EXPECT(strcasestr(buf, "keep-alive") == NULL);
		EXPECT(strstr(buf, "\r\n\r\n") != NULL &&
		       strcmp(strstr(buf, "\r\n\r\n"), want[i]) == 0);
	}

	/* An HTTP/1.0 whole reply. */
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /later/0 HTTP/1.0\r\n\r\n"));
	raw_read(fd, buf, sizeof buf, 5.0, &closed);
	close(fd);
	EXPECT(closed && strncmp(buf, "HTTP/1.0 200 ", 13) == 0);
	EXPECT(strstr(buf, "\r\n\r\n/later/0") != NULL);

	/* HEAD, whole replies, deferred and immediate: the headers and the
	 * length a GET would get (RFC 9110 sections 9.3.2 and 8.6), no
	 * body, so that the next response on the connection is read from
	 * its start. */
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "HEAD /later/0 HTTP/1.1\r\nHost: t\r\n\r\n"
			    "HEAD /exact HTTP/1.1\r\nHost: t\r\n\r\n"
			    "GET /exact HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
	raw_read(fd, buf, sizeof buf, 5.0, &closed);
	close(fd);
	EXPECT(closed && strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
	EXPECT(strstr(buf, "Content-Length: 8\r\n") != NULL);
	EXPECT(strstr(buf, "X-Deferred: yes\r\n") != NULL);
	EXPECT(strstr(buf, "\r\n\r\nHTTP/1.1 200 ") != NULL);
	EXPECT(strstr(buf, "/later/0") == NULL);
	/* The immediate HEAD, then the GET: one body in all, at the end. */
	EXPECT(strstr(buf, "exact") == strrchr(buf, '\n') + 1);
	EXPECT(strcmp(strrchr(buf, '\n') + 1, "exact") == 0);

	/* HEAD: headers only, for a stream as for the immediate one. */
	REQUIRE(h != NULL);
	snprintf(url, sizeof url, "%s/stream/3", srv.url);
	EXPECT(http_do(h, "HEAD", url, NULL, NULL, 0, &res) == CURLE_OK);
	http_info(h, &res);
	EXPECT(res.status == 200 && res.len == 0);
	EXPECT(strcmp(result_header(&res, "X-Stream"), "yes") == 0);
	/* The connection is still in step afterwards. */
	EXPECT(get_on(h, &srv, "/later/0", &res) == 200 && res.connects == 0);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "/later/0") == 0);
	curl_easy_cleanup(h);
	EXPECT(producers_wait(5.0));
	result_clear(&res);
}

int main(void)
{
	veil_http_config c = {0};
	int errors;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !start_with(&srv, &c, basic_routes)) {
		fprintf(stderr, "test_http_deferred: cannot start: %s\n", veil_err_detail());
		return 1;
	}
	RUN(whole_reply_from_another_thread);
	RUN(stream_pieces_leave_while_the_producer_works);
	RUN(headers_from_the_producer);
	RUN(producer_and_handler_misuse);
	RUN(many_concurrent_deferred_requests_across_loops);
	RUN(keep_alive_and_pipelining);
	RUN(http10_and_head);
	if (!producers_wait(10.0) || !ts_stop(&srv))
		fprintf(stderr, "test_http_deferred: producers or the server did not end\n");
	errors = atomic_load(&producer_errors);
	if (errors != 0)
		fprintf(stderr, "test_http_deferred: %d problems seen off the test thread\n",
			errors);
	curl_global_cleanup();
	return harness_finish("test_http_deferred") != 0 || errors != 0;
}

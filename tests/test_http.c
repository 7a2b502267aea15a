/*
 * test_http.c - the HTTP server (src/http) driven over loopback by libcurl,
 * the client Veil's own tools use: routing (exact, prefix, longest match,
 * 404, 405 with Allow), what a handler sees (method, path, headers, a
 * binary body, cookies), what it sends (compact JSON, Cache-Control, a
 * streamed reply in chunked coding), keep-alive, the rules dispatch
 * enforces on handlers that misbehave, and the server's life cycle (stop
 * before run, port selection and SO_REUSEPORT).
 *
 * Limits, slow clients, framing and descriptor exhaustion are in
 * test_http_limits.c; TLS in test_http_tls.c.
 */
#include "test_http_util.h"

static test_server srv;
static CURL *curl;

static void url_of(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s%s", srv.url, path);
}

/* GET path on the shared handle; returns the status (0 on failure). */
static long get(const char *path, http_result *res)
{
	char url[256];

	url_of(url, sizeof url, path);
	res->rc = http_do(curl, "GET", url, NULL, NULL, 0, res);
	http_info(curl, res);
	return res->rc == CURLE_OK ? res->status : 0;
}

TEST(routes_exact_prefix_and_longest_match)
{
	static const char *const cases[][2] = {
	    {"/exact", "exact"},
	    {"/pre/", "prefix-short"},
	    {"/pre/a/b", "prefix-short"},
	    {"/pre/long/", "prefix-long"},
	    {"/pre/long/x/y", "prefix-long"},
	    {"/pre/long/exact", "exact-long"},       /* exact beats the shorter prefix */
	    {"/pre/long/exactly", "prefix-long"},    /* an exact route is not a prefix */
	    {"/exact?x=1&y=%20", "exact"},           /* the query is not part of the path */
	    {"/pre/long/exact#frag", "exact-long"}}; /* curl drops the fragment */
	http_result res = {0};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		EXPECT(get(cases[i][0], &res) == 200);
		if (res.body == NULL || strcmp((char *)res.body, cases[i][1]) != 0) {
			fprintf(stderr, "  %s: got \"%s\", want \"%s\"\n", cases[i][0],
				res.body != NULL ? (char *)res.body : "(none)", cases[i][1]);
			EXPECT(false);
		}
	}
	result_clear(&res);
}

TEST(unknown_path_404_other_method_405)
{
	http_result res = {0};
	char url[256];
	int calls = atomic_load(&handler_calls);

	EXPECT(get("/nothing", &res) == 404);
	EXPECT(get("/exac", &res) == 404); /* a prefix of an exact route */
	EXPECT(get("/exact/", &res) == 404);
	EXPECT(get("/pre", &res) == 404); /* the prefix route ends in a slash */
	EXPECT(get("/echo", &res) == 405);
	/* RFC 9110 section 15.5.6: Allow lists what the resource supports. */
	EXPECT(result_header(&res, "Allow") != NULL &&
	       strcmp(result_header(&res, "Allow"), "POST, PUT") == 0);

	url_of(url, sizeof url, "/exact");
	EXPECT(http_do(curl, "POST", url, NULL, "x", 1, &res) == CURLE_OK);
	http_info(curl, &res);
	EXPECT(res.status == 405);
	EXPECT(result_header(&res, "Allow") != NULL &&
	       strcmp(result_header(&res, "Allow"), "GET, DELETE") == 0);
	EXPECT(http_do(curl, "DELETE", url, NULL, NULL, 0, &res) == CURLE_OK);
	http_info(curl, &res);
	EXPECT(res.status == 200 && strcmp((char *)res.body, "exact-delete") == 0);
	/* evhttp refuses methods outside the allowed set itself. */
	EXPECT(http_do(curl, "PATCH", url, NULL, "x", 1, &res) == CURLE_OK);
	http_info(curl, &res);
	EXPECT(res.status == 405 || res.status == 501);
	EXPECT(atomic_load(&handler_calls) == calls + 1); /* only the DELETE */
	result_clear(&res);
}

TEST(headers_and_binary_body_reach_the_handler)
{
	uint8_t body[70000];
	struct curl_slist *h = NULL;
	http_result res = {0};
	char url[256];

	/* Every byte value, NULs included, across several reads. */
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)(i * 7 + (i >> 8));
	body[0] = body[100] = body[sizeof body - 1] = 0;
	h = curl_slist_append(h, "X-Test: Value with  spaces; and=signs");
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	url_of(url, sizeof url, "/echo");
	EXPECT(http_do(curl, "POST", url, h, body, sizeof body, &res) == CURLE_OK);
	http_info(curl, &res);
	EXPECT(res.status == 200);
	EXPECT(res.len == sizeof body && memcmp(res.body, body, sizeof body) == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Test"), "Value with  spaces; and=signs") == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Method"), "POST") == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Path"), "/echo") == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Length"), "70000") == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Peer"), "127.0.0.1") == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-TLS"), "0") == 0);
	EXPECT(strcmp(result_header(&res, "Content-Type"), "application/octet-stream") == 0);

	/* An empty body, and PUT. */
	EXPECT(http_do(curl, "PUT", url, NULL, "", 0, &res) == CURLE_OK);
	http_info(curl, &res);
	EXPECT(res.status == 200 && res.len == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Method"), "PUT") == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Length"), "0") == 0);
	EXPECT(strcmp(result_header(&res, "X-Echo-Test"), "(none)") == 0);
	curl_slist_free_all(h);
	result_clear(&res);
}

static void cookie_case(const char *cookie, const char *want)
{
	struct curl_slist *h = NULL;
	http_result res = {0};
	char url[256], line[512];

	snprintf(line, sizeof line, "Cookie: %s", cookie);
	h = curl_slist_append(h, line);
	url_of(url, sizeof url, "/cookies");
	EXPECT(http_do(curl, "GET", url, h, NULL, 0, &res) == CURLE_OK);
	if (res.body == NULL || strcmp((char *)res.body, want) != 0) {
		fprintf(stderr, "  Cookie: %s\n    got  %s\n    want %s\n", cookie,
			res.body != NULL ? (char *)res.body : "(none)", want);
		EXPECT(false);
	}
	curl_slist_free_all(h);
	result_clear(&res);
}

TEST(cookies)
{
	/* The handler asks for sid, s, sid2, long, empty, x with an 8-byte
	 * buffer (7 characters and the NUL). */
	cookie_case("sid=abc", "sid=abc;s=-;sid2=-;long=-;empty=-;x=-;");
	cookie_case("sid2=two; sid=one; s=three", "sid=one;s=three;sid2=two;long=-;empty=-;x=-;");
	/* "s" is a prefix of "sid" and "sid" of "sid2": names match whole. */
	cookie_case("sid2=2;sid=1", "sid=1;s=-;sid2=2;long=-;empty=-;x=-;");
	cookie_case("ss=1; si=2", "sid=-;s=-;sid2=-;long=-;empty=-;x=-;");
	/* Extra spaces and empty pairs are skipped. */
	cookie_case("  ;; sid=abc ;x=1234567", "sid=abc ;s=-;sid2=-;long=-;empty=-;x=1234567;");
	/* Seven characters fit, eight do not. */
	cookie_case("long=12345678; x=y", "sid=-;s=-;sid2=-;long=-;empty=-;x=y;");
	cookie_case("long=1234567", "sid=-;s=-;sid2=-;long=1234567;empty=-;x=-;");
	cookie_case("empty=; sid", "sid=-;s=-;sid2=-;long=-;empty=;x=-;");
	/* A value is not a name: "x" inside a value does not count. */
	cookie_case("sid=x=1", "sid=x=1;s=-;sid2=-;long=-;empty=-;x=-;");
	/* No Cookie header at all. */
	cookie_case("", "sid=-;s=-;sid2=-;long=-;empty=-;x=-;");
}

TEST(keep_alive_reuses_one_connection)
{
	CURL *h = curl_easy_init();
	http_result res = {0};
	char url[256];
	long first_port = 0;

	REQUIRE(h != NULL);
	url_of(url, sizeof url, "/exact");
	for (int i = 0; i < 5; i++) {
		EXPECT(http_do(h, i % 2 == 0 ? "GET" : "POST", url, NULL,
			       i % 2 == 0 ? NULL : "body", 4, &res) == CURLE_OK);
		http_info(h, &res);
		EXPECT(res.status == (i % 2 == 0 ? 200 : 405));
		/* Only the first call opens a connection; the rest, a 405
		 * among them, reuse it from the same local port. */
		EXPECT(res.connects == (i == 0 ? 1 : 0));
		if (i == 0)
			first_port = res.local_port;
		EXPECT(res.local_port == first_port);
	}
	/* The connection also survives a POST body that was read in full. */
	url_of(url, sizeof url, "/echo");
	EXPECT(http_do(h, "POST", url, NULL, "abc", 3, &res) == CURLE_OK);
	http_info(h, &res);
	EXPECT(res.status == 200 && res.connects == 0 && res.local_port == first_port);
	curl_easy_cleanup(h);
	result_clear(&res);
}

TEST(streamed_reply_is_chunked_and_in_order)
{
	http_result res = {0};
	char buf[2048];
	bool closed;
	int fd;

	EXPECT(get("/stream", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "one,two,three") == 0);
	EXPECT(result_header(&res, "Transfer-Encoding") != NULL &&
	       strcasecmp(result_header(&res, "Transfer-Encoding"), "chunked") == 0);
	EXPECT(result_header(&res, "Content-Length") == NULL);
	EXPECT(strcmp(result_header(&res, "Cache-Control"), "no-store") == 0);

	/* On the wire: one chunk per write, in order, then the last-chunk
	 * (RFC 9112 section 7.1). */
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
	raw_read(fd, buf, sizeof buf, 5.0, &closed);
	close(fd);
	EXPECT(closed);
	EXPECT(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
	EXPECT(strstr(buf, "\r\n\r\n4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n") != NULL);
	result_clear(&res);
}

TEST(reply_json_is_compact_with_content_type)
{
	http_result res = {0};

	EXPECT(get("/json", &res) == 201);
	EXPECT(res.body != NULL &&
	       strcmp((char *)res.body, "{\"a\":1,\"b\":[true,null],\"c\":\"x y\"}") == 0);
	EXPECT(strcmp(result_header(&res, "Content-Type"), "application/json") == 0);
	EXPECT(strcmp(result_header(&res, "Cache-Control"), "no-store") == 0);
	EXPECT(strcmp(result_header(&res, "Content-Length"), "33") == 0);
	result_clear(&res);
}

TEST(cache_control_no_store_everywhere)
{
	static const char *const paths[] = {"/exact", "/pre/x", "/nothing", "/echo", "/cookies"};
	http_result res = {0};

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		EXPECT(get(paths[i], &res) != 0);
		EXPECT(result_header(&res, "Cache-Control") != NULL &&
		       strcmp(result_header(&res, "Cache-Control"), "no-store") == 0);
	}
	result_clear(&res);
}

TEST(handlers_that_break_the_rules)
{
	http_result res = {0};

	/* No reply: dispatch answers 500 instead of leaving the client
	 * waiting; the connection stays usable. */
	EXPECT(get("/no-reply", &res) == 500);
	EXPECT(get("/exact", &res) == 200 && res.connects == 0);
	/* Two replies: the first counts, the second and a late header are
	 * refused. */
	EXPECT(get("/twice", &res) == 202);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "first") == 0);
	EXPECT(result_header(&res, "X-Late") == NULL);
	/* A stream left open is ended when the handler returns. */
	EXPECT(get("/open-stream", &res) == 200);
	EXPECT(res.body != NULL && strcmp((char *)res.body, "partial") == 0);
	EXPECT(get("/exact", &res) == 200 && res.connects == 0);
	result_clear(&res);
}

TEST(head_gets_headers_only)
{
	http_result res = {0};
	char url[256];

	/* HEAD is its own method: a GET route does not answer it. */
	url_of(url, sizeof url, "/exact");
	EXPECT(http_do(curl, "HEAD", url, NULL, NULL, 0, &res) == CURLE_OK);
	http_info(curl, &res);
	EXPECT(res.status == 405 && res.len == 0);
	result_clear(&res);
}

static void *run_thread(void *arg)
{
	veil_http_server *s = arg;
	veil_err err = veil_http_server_run(s);
	return err == VEIL_OK ? s : NULL;
}

TEST(stop_before_run_is_not_lost)
{
	veil_http_config c = {.threads = 3};
	veil_http_server *s = NULL;
	struct timespec deadline;
	pthread_t t;
	void *ret = NULL;

	/* The stop comes first; run must still return (event_base_loop
	 * clears a pending loopbreak when it starts). */
	REQUIRE(veil_http_server_new(&c, &s) == VEIL_OK);
	veil_http_server_stop(s);
	REQUIRE(pthread_create(&t, NULL, run_thread, s) == 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	if (pthread_timedjoin_np(t, &ret, &deadline) != 0) {
		EXPECT(!"run did not return after an early stop");
		veil_http_server_stop(s);
		pthread_join(t, &ret);
	}
	EXPECT(ret == s);
	veil_http_server_free(s);

	/* And a stop racing with the start, many times over. */
	for (int i = 0; i < 50; i++) {
		REQUIRE(veil_http_server_new(&c, &s) == VEIL_OK);
		REQUIRE(pthread_create(&t, NULL, run_thread, s) == 0);
		veil_http_server_stop(s);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 5;
		if (pthread_timedjoin_np(t, &ret, &deadline) != 0) {
			EXPECT(!"run did not return after a racing stop");
			veil_http_server_stop(s);
			pthread_join(t, &ret);
		}
		veil_http_server_free(s);
	}
}

TEST(ports_distinct_with_zero_shared_with_reuseport)
{
	veil_http_config c = {.threads = 2};
	veil_http_server *s[8] = {0}, *again = NULL;
	size_t n = sizeof s / sizeof s[0];

	/* Port 0: every server gets a port no other socket holds, even
	 * though all of them set SO_REUSEPORT. */
	for (size_t i = 0; i < n; i++) {
		REQUIRE(veil_http_server_new(&c, &s[i]) == VEIL_OK);
		EXPECT(veil_http_server_port(s[i]) != 0);
		for (size_t j = 0; j < i; j++)
			EXPECT(veil_http_server_port(s[i]) != veil_http_server_port(s[j]));
	}
	/* A fixed port already held by a server of this process: the bind
	 * succeeds (SO_REUSEPORT) and the two would share connections; the
	 * documented reason to give each daemon its own port. */
	c.port = veil_http_server_port(s[0]);
	EXPECT(veil_http_server_new(&c, &again) == VEIL_OK);
	EXPECT(again != NULL && veil_http_server_port(again) == c.port);
	veil_http_server_free(again);
	for (size_t i = 0; i < n; i++)
		veil_http_server_free(s[i]);
}

TEST(config_and_route_errors)
{
	veil_http_config c = {.tls_cert = "cert.pem"};
	veil_http_server *s = NULL;

	EXPECT_ERR(veil_http_server_new(&c, &s), VEIL_E_USAGE); /* a cert without a key */
	EXPECT(s == NULL);
	c = (veil_http_config){.address = "localhost"};
	EXPECT_ERR(veil_http_server_new(&c, &s), VEIL_E_USAGE); /* not numeric */
	c = (veil_http_config){.address = "192.0.2.1"};
	EXPECT_ERR(veil_http_server_new(&c, &s), VEIL_E_IO); /* not ours */
	c = (veil_http_config){.address = "::1", .threads = 1};
	if (veil_http_server_new(&c, &s) == VEIL_OK) { /* IPv6 loopback, if the host has it */
		EXPECT(veil_http_server_port(s) != 0 && !veil_http_server_tls(s));
		EXPECT_ERR(veil_http_route(s, "GET", "", h_no_reply, NULL), VEIL_E_USAGE);
		EXPECT_ERR(veil_http_route(s, "GET", "relative", h_no_reply, NULL), VEIL_E_USAGE);
		EXPECT_ERR(veil_http_route(s, "", "/x", h_no_reply, NULL), VEIL_E_USAGE);
		for (int i = 0; i < VEIL_HTTP_ROUTES_MAX; i++)
			EXPECT_OK(veil_http_route(s, "GET", "/r", h_no_reply, NULL));
		EXPECT_ERR(veil_http_route(s, "GET", "/r", h_no_reply, NULL), VEIL_E_LIMIT);
		veil_http_server_free(s);
	}
}

/* Last: stop() ends run() with connections open (the shared curl handle's,
 * an idle one and one halfway through a request); ASan builds check that
 * freeing the server then leaks nothing. */
TEST(server_stops_and_frees)
{
	int idle = raw_connect(srv.port), partial = raw_connect(srv.port);
	http_result res = {0};

	EXPECT(get("/exact", &res) == 200);
	EXPECT(idle >= 0 && partial >= 0 && raw_send(partial, "POST /echo HTTP/1.1\r\n"));
	usleep(50 * 1000); /* let the loops accept both */
	EXPECT(ts_stop(&srv));
	if (idle >= 0)
		close(idle);
	if (partial >= 0)
		close(partial);
	curl_easy_cleanup(curl);
	curl = NULL;
	result_clear(&res);
}

int main(void)
{
	veil_http_config c = {0};

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (curl = curl_easy_init()) == NULL || !ts_start(&srv, &c)) {
		fprintf(stderr, "test_http: cannot start: %s\n", veil_err_detail());
		return 1;
	}
	RUN(routes_exact_prefix_and_longest_match);
	RUN(unknown_path_404_other_method_405);
	RUN(headers_and_binary_body_reach_the_handler);
	RUN(cookies);
	RUN(keep_alive_reuses_one_connection);
	RUN(streamed_reply_is_chunked_and_in_order);
	RUN(reply_json_is_compact_with_content_type);
	RUN(cache_control_no_store_everywhere);
	RUN(handlers_that_break_the_rules);
	RUN(head_gets_headers_only);
	RUN(stop_before_run_is_not_lost);
	RUN(ports_distinct_with_zero_shared_with_reuseport);
	RUN(config_and_route_errors);
	RUN(server_stops_and_frees);
	curl_global_cleanup();
	return harness_finish("test_http");
}

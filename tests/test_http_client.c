/*
 * test_http_client.c - the libcurl wrapper (src/http/client.c) against
 * Veil's own server on loopback, plain and TLS: methods, request headers
 * and a binary body out, status, the asked-for response headers and the
 * body back; the body cap (declared and streamed), header value cap,
 * deadlines, refused connections, certificate and host name verification
 * (right CA, wrong CA, system store, missing CA file, wrong address),
 * redirects (refused by default, followed when allowed, loops capped, no
 * https-to-http), arguments refused before anything is sent, and many
 * calls from several threads at once.
 */
#include "test_http_util.h"
#include "veil/http_client.h"

static test_server plain, tls;
static tls_files files;

static veil_err fetch(const char *base, const char *path, veil_http_client_request *req,
		      veil_http_client_response *resp)
{
	char url[512];

	snprintf(url, sizeof url, "%s%s", base, path);
	req->url = url;
	return veil_http_client_fetch(req, resp);
}

static bool body_is(const veil_http_client_response *resp, const char *s)
{
	return resp->body.len == strlen(s) && memcmp(resp->body.data, s, resp->body.len) == 0;
}

TEST(get_returns_status_headers_and_body)
{
	static const char *const want[] = {"content-type", "Cache-Control", "X-Missing", NULL};
	veil_http_client_request req = {.want_headers = want};
	veil_http_client_response resp;

	EXPECT_OK(fetch(plain.url, "/exact", &req, &resp));
	EXPECT(resp.status == 200 && body_is(&resp, "exact"));
	EXPECT(resp.headers[0] != NULL && strcmp(resp.headers[0], "text/plain") == 0);
	EXPECT(resp.headers[1] != NULL && strcmp(resp.headers[1], "no-store") == 0);
	EXPECT(resp.headers[2] == NULL);
	veil_http_client_response_clear(&resp);
	/* Any status is an answer: the caller decides what 404 or 500 mean. */
	EXPECT_OK(fetch(plain.url, "/nothing", &req, &resp));
	EXPECT(resp.status == 404);
	veil_http_client_response_clear(&resp);
	EXPECT_OK(fetch(plain.url, "/no-reply", &req, &resp));
	EXPECT(resp.status == 500);
	veil_http_client_response_clear(&resp);
}

TEST(methods_headers_and_a_binary_body)
{
	static const char *const out[] = {"X-Test: from the client",
					  "Content-Type: application/octet-stream", NULL};
	static const char *const want[] = {"X-Echo-Test", "X-Echo-Method", "X-Echo-Length",
					   "Content-Type", NULL};
	static uint8_t body[70000];
	veil_http_client_request req = {
	    .headers = out, .want_headers = want, .body = body, .body_len = sizeof body};
	veil_http_client_response resp;

	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)(i * 13);
	/* No method and a body: POST. */
	EXPECT_OK(fetch(plain.url, "/echo", &req, &resp));
	EXPECT(resp.status == 200 && resp.body.len == sizeof body &&
	       memcmp(resp.body.data, body, sizeof body) == 0);
	EXPECT(strcmp(resp.headers[0], "from the client") == 0);
	EXPECT(strcmp(resp.headers[1], "POST") == 0);
	EXPECT(strcmp(resp.headers[2], "70000") == 0);
	EXPECT(strcmp(resp.headers[3], "application/octet-stream") == 0);
	veil_http_client_response_clear(&resp);
	/* PUT with an empty body. */
	req.method = "PUT";
	req.body = NULL;
	req.body_len = 0;
	EXPECT_OK(fetch(plain.url, "/echo", &req, &resp));
	EXPECT(resp.status == 200 && resp.body.len == 0);
	EXPECT(strcmp(resp.headers[1], "PUT") == 0 && strcmp(resp.headers[2], "0") == 0);
	veil_http_client_response_clear(&resp);
	req.method = "DELETE";
	EXPECT_OK(fetch(plain.url, "/exact", &req, &resp));
	EXPECT(resp.status == 200 && body_is(&resp, "exact-delete"));
	veil_http_client_response_clear(&resp);
	req.method = "HEAD";
	EXPECT_OK(fetch(plain.url, "/exact", &req, &resp));
	EXPECT(resp.status == 405 && resp.body.len == 0);
	veil_http_client_response_clear(&resp);
}

TEST(body_cap_declared_and_streamed)
{
	static uint8_t body[5000];
	veil_http_client_request req = {.max_body = 4096};
	veil_http_client_response resp;

	/* 64 KiB streamed without a Content-Length: stopped by the writer. */
	EXPECT_ERR(fetch(plain.url, "/big", &req, &resp), VEIL_E_LIMIT);
	EXPECT(strstr(veil_err_detail(), "larger than the limit of 4096") != NULL);
	EXPECT(resp.status == 200 && resp.body.len <= 4096);
	veil_http_client_response_clear(&resp);
	req.max_body = 65536; /* exactly enough */
	EXPECT_OK(fetch(plain.url, "/big", &req, &resp));
	EXPECT(resp.body.len == 65536 && resp.body.data[65535] == 'b');
	veil_http_client_response_clear(&resp);
	/* 5000 bytes with a Content-Length: refused from the header. */
	memset(body, 'x', sizeof body);
	req.max_body = 4096;
	req.body = body;
	req.body_len = sizeof body;
	EXPECT_ERR(fetch(plain.url, "/echo", &req, &resp), VEIL_E_LIMIT);
	EXPECT(resp.body.len == 0);
	veil_http_client_response_clear(&resp);
	req.body_len = 4096;
	EXPECT_OK(fetch(plain.url, "/echo", &req, &resp));
	EXPECT(resp.body.len == 4096);
	veil_http_client_response_clear(&resp);
}

typedef struct sink_state {
	size_t calls, bytes, stop_after;
	long status;
	bool all_b;
} sink_state;

static bool sink(void *user, long status, const uint8_t *p, size_t n)
{
	sink_state *st = user;

	st->calls++;
	st->status = status;
	for (size_t i = 0; i < n; i++)
		st->all_b &= p[i] == 'b';
	st->bytes += n;
	return st->stop_after == 0 || st->calls < st->stop_after;
}

TEST(body_handed_over_in_pieces)
{
	sink_state st = {.all_b = true};
	veil_http_client_request req = {.on_data = sink, .on_data_user = &st};
	veil_http_client_response resp;

	/* 64 KiB streamed: every byte reaches the callback, none the body. */
	EXPECT_OK(fetch(plain.url, "/big", &req, &resp));
	EXPECT(resp.status == 200 && st.status == 200 && resp.body.len == 0);
	EXPECT(st.bytes == 65536 && st.all_b && st.calls >= 1);
	veil_http_client_response_clear(&resp);
	/* The cap counts what was handed over. */
	st = (sink_state){.all_b = true};
	req.max_body = 4096;
	EXPECT_ERR(fetch(plain.url, "/big", &req, &resp), VEIL_E_LIMIT);
	EXPECT(st.bytes <= 4096);
	veil_http_client_response_clear(&resp);
	/* The callback stops the exchange. */
	st = (sink_state){.all_b = true, .stop_after = 1};
	req.max_body = 0;
	EXPECT_ERR(fetch(plain.url, "/big", &req, &resp), VEIL_E_IO);
	EXPECT(st.calls == 1 && strstr(veil_err_detail(), "was stopped") != NULL);
	veil_http_client_response_clear(&resp);
	/* A Unix socket that does not exist: cannot connect, whatever the URL. */
	req = (veil_http_client_request){.unix_socket = "/nonexistent/veil-test.sock"};
	EXPECT_ERR(fetch(plain.url, "/exact", &req, &resp), VEIL_E_IO);
	veil_http_client_response_clear(&resp);
}

TEST(header_value_cap)
{
	static const char *const want[] = {"x-long", NULL};
	veil_http_client_request req = {0};
	veil_http_client_response resp;

	/* Not asked for: not kept, not a problem. */
	EXPECT_OK(fetch(plain.url, "/long-header", &req, &resp));
	EXPECT(resp.status == 200 && body_is(&resp, "long"));
	veil_http_client_response_clear(&resp);
	req.want_headers = want;
	EXPECT_ERR(fetch(plain.url, "/long-header", &req, &resp), VEIL_E_LIMIT);
	EXPECT(strstr(veil_err_detail(), "x-long") != NULL);
	EXPECT(resp.headers[0] == NULL);
	veil_http_client_response_clear(&resp);
}

TEST(deadline_and_refused_connection)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sin;
	veil_http_client_request req = {.timeout_ms = 300};
	veil_http_client_response resp;
	char url[64];
	double start;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A socket that listens and never answers: the kernel completes the
	 * handshake, the request goes out, and nothing comes back. */
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
		listen(fd, 4) == 0 && getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%u", ntohs(sin.sin_port));
	start = now_s();
	EXPECT_ERR(fetch(url, "/", &req, &resp), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "timed out") != NULL);
	EXPECT(now_s() - start < 2.0);
	EXPECT(resp.status == 0);
	veil_http_client_response_clear(&resp);
	/* The same port, closed: refused at once. */
	close(fd);
	EXPECT_ERR(fetch(url, "/", &req, &resp), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "cannot connect") != NULL);
	veil_http_client_response_clear(&resp);
}

TEST(tls_verification_is_always_on)
{
	veil_http_client_request req = {.ca_file = files.cert};
	veil_http_client_response resp;
	char url[64];

	EXPECT_OK(fetch(tls.url, "/exact", &req, &resp));
	EXPECT(resp.status == 200 && body_is(&resp, "exact"));
	veil_http_client_response_clear(&resp);
	/* The name in the certificate: DNS:localhost is in it. */
	snprintf(url, sizeof url, "https://localhost:%u", tls.port);
	EXPECT_OK(fetch(url, "/exact", &req, &resp));
	veil_http_client_response_clear(&resp);
	/* The system store, and another CA: the certificate does not verify. */
	req.ca_file = NULL;
	EXPECT_ERR(fetch(tls.url, "/exact", &req, &resp), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "system store") != NULL);
	veil_http_client_response_clear(&resp);
	req.ca_file = files.other_cert;
	EXPECT_ERR(fetch(tls.url, "/exact", &req, &resp), VEIL_E_VERIFY);
	veil_http_client_response_clear(&resp);
	req.ca_file = "/nonexistent/ca.pem";
	EXPECT_ERR(fetch(tls.url, "/exact", &req, &resp), VEIL_E_NOT_FOUND);
	EXPECT(strstr(veil_err_detail(), "/nonexistent/ca.pem") != NULL);
	veil_http_client_response_clear(&resp);
	/* TLS to the plain server: the handshake fails. */
	req.ca_file = files.cert;
	snprintf(url, sizeof url, "https://127.0.0.1:%u", plain.port);
	EXPECT_ERR(fetch(url, "/exact", &req, &resp), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "TLS") != NULL);
	veil_http_client_response_clear(&resp);
}

TEST(tls_host_name_is_checked)
{
	veil_http_config c = {.address = "127.0.0.2", .threads = 1};
	veil_http_client_request req = {.ca_file = files.cert};
	veil_http_client_response resp;
	test_server other;

	/* The certificate names 127.0.0.1 and localhost, not 127.0.0.2. */
	c.tls_cert = files.cert;
	c.tls_key = files.key;
	if (!ts_start(&other, &c))
		return; /* no 127.0.0.2 on this host */
	snprintf(other.url, sizeof other.url, "https://127.0.0.2:%u", other.port);
	EXPECT_ERR(fetch(other.url, "/exact", &req, &resp), VEIL_E_VERIFY);
	veil_http_client_response_clear(&resp);
	EXPECT(ts_stop(&other));
}

TEST(redirects)
{
	static const char *const want[] = {"Location", NULL};
	veil_http_client_request req = {.want_headers = want, .ca_file = files.cert};
	veil_http_client_response resp;

	/* Refused by default, naming where it pointed. */
	EXPECT_ERR(fetch(plain.url, "/redirect", &req, &resp), VEIL_E_UNSUPPORTED);
	EXPECT(resp.status == 302 && strcmp(resp.headers[0], "/exact") == 0);
	EXPECT(strstr(veil_err_detail(), "/exact") != NULL);
	veil_http_client_response_clear(&resp);
	/* Followed when allowed: the final response's fields only. */
	req.max_redirects = 1;
	EXPECT_OK(fetch(plain.url, "/redirect", &req, &resp));
	EXPECT(resp.status == 200 && body_is(&resp, "exact") && resp.headers[0] == NULL);
	veil_http_client_response_clear(&resp);
	/* A loop stops at the cap. */
	req.max_redirects = 3;
	EXPECT_ERR(fetch(plain.url, "/loop", &req, &resp), VEIL_E_LIMIT);
	veil_http_client_response_clear(&resp);
	/* From https to http: refused even when redirects are allowed;
	 * https to https is fine. */
	snprintf(redirect_target, sizeof redirect_target, "%s/exact", plain.url);
	EXPECT_ERR(fetch(tls.url, "/to", &req, &resp), VEIL_E_UNSUPPORTED);
	EXPECT(strstr(veil_err_detail(), "only https") != NULL);
	EXPECT(resp.status == 302 && !body_is(&resp, "exact"));
	veil_http_client_response_clear(&resp);
	snprintf(redirect_target, sizeof redirect_target, "%s/pre/x", tls.url);
	EXPECT_OK(fetch(tls.url, "/to", &req, &resp));
	EXPECT(resp.status == 200 && body_is(&resp, "prefix-short"));
	veil_http_client_response_clear(&resp);
}

TEST(arguments_refused_before_sending)
{
	static const char *const crlf[] = {"X-A: 1\r\nX-Injected: 2", NULL};
	static const char *const no_colon[] = {"X-A 1", NULL};
	static const char *const too_many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
	veil_http_client_request req = {0};
	veil_http_client_response resp;
	int calls = atomic_load(&handler_calls);

	EXPECT_ERR(veil_http_client_fetch(&req, &resp), VEIL_E_USAGE); /* no URL */
	veil_http_client_response_clear(&resp);
	EXPECT_ERR(fetch("ftp://127.0.0.1", "/x", &req, &resp), VEIL_E_USAGE);
	veil_http_client_response_clear(&resp);
	EXPECT_ERR(fetch("file://", "/etc/hostname", &req, &resp), VEIL_E_USAGE);
	veil_http_client_response_clear(&resp);
	EXPECT_ERR(fetch("http://", "", &req, &resp), VEIL_E_USAGE);
	veil_http_client_response_clear(&resp);
	req.headers = crlf;
	EXPECT_ERR(fetch(plain.url, "/exact", &req, &resp), VEIL_E_USAGE);
	veil_http_client_response_clear(&resp);
	req.headers = no_colon;
	EXPECT_ERR(fetch(plain.url, "/exact", &req, &resp), VEIL_E_USAGE);
	veil_http_client_response_clear(&resp);
	req.headers = NULL;
	req.want_headers = too_many;
	EXPECT_ERR(fetch(plain.url, "/exact", &req, &resp), VEIL_E_USAGE);
	veil_http_client_response_clear(&resp);
	EXPECT(atomic_load(&handler_calls) == calls);
}

static void *fetch_many(void *arg)
{
	const char *base = arg;
	veil_http_client_request req = {.ca_file = files.cert};
	veil_http_client_response resp;
	intptr_t bad = 0;

	for (int i = 0; i < 20; i++) {
		if (fetch(base, "/exact", &req, &resp) != VEIL_OK || resp.status != 200 ||
		    !body_is(&resp, "exact"))
			bad++;
		veil_http_client_response_clear(&resp);
	}
	return (void *)bad;
}

TEST(many_threads_at_once)
{
	pthread_t t[6];
	void *bad;

	for (int i = 0; i < 6; i++)
		REQUIRE(pthread_create(&t[i], NULL, fetch_many, i % 2 ? plain.url : tls.url) == 0);
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], &bad);
		EXPECT(bad == NULL);
	}
}

TEST(servers_stop_and_free)
{
	EXPECT(ts_stop(&plain));
	EXPECT(ts_stop(&tls));
}

int main(void)
{
	veil_http_config c = {0};

	if (!tls_files_make(&files) || !ts_start(&plain, &c)) {
		fprintf(stderr, "test_http_client: cannot start: %s\n", veil_err_detail());
		return 1;
	}
	c.tls_cert = files.cert;
	c.tls_key = files.key;
	if (!ts_start(&tls, &c)) {
		fprintf(stderr, "test_http_client: cannot start TLS: %s\n", veil_err_detail());
		return 1;
	}
	RUN(get_returns_status_headers_and_body);
	RUN(methods_headers_and_a_binary_body);
	RUN(body_cap_declared_and_streamed);
	RUN(body_handed_over_in_pieces);
	RUN(header_value_cap);
	RUN(deadline_and_refused_connection);
	RUN(tls_verification_is_always_on);
	RUN(tls_host_name_is_checked);
	RUN(redirects);
	RUN(arguments_refused_before_sending);
	RUN(many_threads_at_once);
	RUN(servers_stop_and_free);
	tls_files_remove(&files);
	return harness_finish("test_http_client");
}

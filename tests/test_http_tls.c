/*
 * test_http_tls.c - the HTTP server over TLS (OpenSSL bufferevents), with a
 * self-signed P-256 certificate made for the run: libcurl, trusting that
 * certificate and nothing else, talks TLS 1.2 or 1.3 to it (both tried),
 * reuses the connection, and carries a binary body; it refuses the server
 * under another CA or under the system store, and cannot get below TLS
 * 1.2. Plain HTTP to the TLS port and TLS to a plain port fail without a
 * handler running, a client that never starts its handshake is dropped at
 * the idle timeout, and a certificate that does not match its key is
 * refused at startup.
 */
#include <openssl/ssl.h>

#include "test_http_util.h"

static tls_files files;
static test_server srv;

typedef struct tls_call {
	CURL *h;
	int version; /* SSL_version() seen during the transfer */
	http_result res;
} tls_call;

static size_t tls_body(char *p, size_t size, size_t n, void *arg)
{
	tls_call *t = arg;
	struct curl_tlssessioninfo *info = NULL;

	/* CURLINFO_TLS_SSL_PTR is valid while the transfer runs. */
	if (curl_easy_getinfo(t->h, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info != NULL &&
	    info->backend == CURLSSLBACKEND_OPENSSL && info->internals != NULL)
		t->version = SSL_version(info->internals);
	return collect_body(p, size, n, &t->res);
}

/* GET path (POST when body is set) on t->h over TLS, trusting ca (NULL: curl's default store),
 * with TLS versions [min, max] (curl's CURL_SSLVERSION_* values). */
static CURLcode tls_do(tls_call *t, const char *path, const char *ca, long min, long max,
		       const void *body, size_t len)
{
	char url[128];

	snprintf(url, sizeof url, "%s%s", srv.url, path);
	result_clear(&t->res);
	t->version = 0;
	curl_easy_reset(t->h);
	curl_easy_setopt(t->h, CURLOPT_URL, url);
	curl_easy_setopt(t->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, tls_body);
	curl_easy_setopt(t->h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->h, CURLOPT_HEADERFUNCTION, collect_head);
	curl_easy_setopt(t->h, CURLOPT_HEADERDATA, &t->res);
	curl_easy_setopt(t->h, CURLOPT_ERRORBUFFER, t->res.error);
	curl_easy_setopt(t->h, CURLOPT_SSLVERSION, min | max);
	if (ca != NULL)
		curl_easy_setopt(t->h, CURLOPT_CAINFO, ca);
	if (body != NULL) {
		curl_easy_setopt(t->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(t->h, CURLOPT_POSTFIELDS, body);
	}
	t->res.rc = curl_easy_perform(t->h);
	http_info(t->h, &t->res);
	return t->res.rc;
}

TEST(curl_talks_tls_with_the_right_ca)
{
	tls_call t = {.h = curl_easy_init()};
	uint8_t body[5000];

	REQUIRE(t.h != NULL);
	/* Default versions: TLS 1.3 (both ends offer it). */
	EXPECT(tls_do(&t, "/exact", files.cert, CURL_SSLVERSION_DEFAULT, 0, NULL, 0) == CURLE_OK);
	EXPECT(t.res.status == 200 && strcmp((char *)t.res.body, "exact") == 0);
	EXPECT(t.version >= TLS1_2_VERSION);
	EXPECT(t.res.connects == 1);
	EXPECT(strcmp(result_header(&t.res, "Cache-Control"), "no-store") == 0);
	/* Keep-alive works through TLS too. */
	EXPECT(tls_do(&t, "/pre/x", files.cert, CURL_SSLVERSION_DEFAULT, 0, NULL, 0) == CURLE_OK);
	EXPECT(t.res.status == 200 && t.res.connects == 0);
	/* A binary body through the TLS record layer, on a new handshake
	 * pinned to TLS 1.2. */
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)(i ^ (i >> 8));
	curl_easy_cleanup(t.h);
	t.h = curl_easy_init();
	REQUIRE(t.h != NULL);
	EXPECT(tls_do(&t, "/echo", files.cert, CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_2,
		      body, sizeof body) == CURLE_OK);
	EXPECT(t.res.status == 200 && t.res.len == sizeof body &&
	       memcmp(t.res.body, body, sizeof body) == 0);
	EXPECT(t.version == TLS1_2_VERSION);
	EXPECT(strcmp(result_header(&t.res, "X-Echo-TLS"), "1") == 0);
	curl_easy_cleanup(t.h);
	result_clear(&t.res);
}

TEST(curl_refuses_the_wrong_ca_and_old_versions)
{
	tls_call t = {.h = curl_easy_init()};
	int calls = atomic_load(&handler_calls);
	CURLcode rc;

	REQUIRE(t.h != NULL);
	/* Another self-signed certificate as the trust anchor. */
	EXPECT(tls_do(&t, "/exact", files.other_cert, CURL_SSLVERSION_DEFAULT, 0, NULL, 0) ==
	       CURLE_PEER_FAILED_VERIFICATION);
	/* The system store does not know a self-signed test certificate. */
	EXPECT(tls_do(&t, "/exact", NULL, CURL_SSLVERSION_DEFAULT, 0, NULL, 0) ==
	       CURLE_PEER_FAILED_VERIFICATION);
	/* At most TLS 1.1: the server's floor is 1.2. */
	rc = tls_do(&t, "/exact", files.cert, CURL_SSLVERSION_TLSv1, CURL_SSLVERSION_MAX_TLSv1_1,
		    NULL, 0);
	EXPECT(rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CIPHER);
	EXPECT(atomic_load(&handler_calls) == calls);
	curl_easy_cleanup(t.h);
	result_clear(&t.res);
}

TEST(plain_http_to_the_tls_port_fails)
{
	http_result res = {0};
	char url[128], buf[256];
	int calls = atomic_load(&handler_calls), fd;
	bool closed;

	snprintf(url, sizeof url, "http://127.0.0.1:%u/exact", srv.port);
	EXPECT(http_once("GET", url, NULL, NULL, 0, &res) != CURLE_OK);
	EXPECT(res.status == 0);
	/* On the wire: no HTTP answer, only the end of the connection
	 * (perhaps after a TLS alert record, content type 21). */
	fd = raw_connect(srv.port);
	REQUIRE(fd >= 0);
	EXPECT(raw_send(fd, "GET /exact HTTP/1.1\r\nHost: t\r\n\r\n"));
	raw_read(fd, buf, sizeof buf, 5.0, &closed);
	close(fd);
	EXPECT(closed);
	EXPECT(strncmp(buf, "HTTP/", 5) != 0);
	EXPECT(buf[0] == '\0' || buf[0] == 21);
	EXPECT(atomic_load(&handler_calls) == calls);
	result_clear(&res);
}

TEST(tls_to_a_plain_port_fails)
{
	veil_http_config c = {.threads = 1};
	test_server plain;
	tls_call t = {.h = curl_easy_init()};
	char url[128];

	REQUIRE(t.h != NULL);
	REQUIRE(ts_start(&plain, &c));
	snprintf(url, sizeof url, "https://127.0.0.1:%u/exact", plain.port);
	curl_easy_setopt(t.h, CURLOPT_URL, url);
	curl_easy_setopt(t.h, CURLOPT_CAINFO, files.cert);
	curl_easy_setopt(t.h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(t.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t.h, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(t.h, CURLOPT_WRITEDATA, &t.res);
	EXPECT(curl_easy_perform(t.h) == CURLE_SSL_CONNECT_ERROR);
	curl_easy_cleanup(t.h);
	result_clear(&t.res);
	EXPECT(ts_stop(&plain));
}

TEST(stalled_handshake_is_dropped)
{
	char buf[64];
	double start = now_s(), took;
	bool closed;
	int fd = raw_connect(srv.port);

	/* Connected, no ClientHello: the idle timeout covers the handshake. */
	REQUIRE(fd >= 0);
	raw_read(fd, buf, sizeof buf, 5.0, &closed);
	took = now_s() - start;
	close(fd);
	EXPECT(closed && took > 0.8 && took < 3.0);
}

TEST(tls_configuration_errors)
{
	veil_http_config c = {.threads = 1, .tls_cert = files.cert, .tls_key = "/nonexistent/key"};
	veil_http_server *s = NULL;
	char other_key[128];

	EXPECT_ERR(veil_http_server_new(&c, &s), VEIL_E_IO);
	EXPECT(s == NULL && strstr(veil_err_detail(), "/nonexistent/key") != NULL);
	/* A certificate with another certificate's key. */
	snprintf(other_key, sizeof other_key, "%s/other-key.pem", files.dir);
	c.tls_key = other_key;
	EXPECT_ERR(veil_http_server_new(&c, &s), VEIL_E_IO);
	/* A key file as the certificate. */
	c.tls_cert = files.key;
	c.tls_key = files.key;
	EXPECT_ERR(veil_http_server_new(&c, &s), VEIL_E_IO);
	c.tls_cert = files.other_cert;
	c.tls_key = other_key;
	EXPECT_OK(veil_http_server_new(&c, &s));
	EXPECT(s != NULL && veil_http_server_tls(s));
	veil_http_server_free(s);
}

/* Last: stop with a TLS connection open and one mid-handshake; ASan
 * builds check that the SSL objects go with their connections. */
TEST(server_stops_and_frees)
{
	tls_call t = {.h = curl_easy_init()};
	int half = raw_connect(srv.port);

	REQUIRE(t.h != NULL);
	EXPECT(tls_do(&t, "/exact", files.cert, CURL_SSLVERSION_DEFAULT, 0, NULL, 0) == CURLE_OK);
	EXPECT(half >= 0 && raw_send(half, "\x16\x03\x01")); /* the start of a record */
	usleep(50 * 1000);
	EXPECT(ts_stop(&srv));
	curl_easy_cleanup(t.h);
	if (half >= 0)
		close(half);
	result_clear(&t.res);
}

int main(void)
{
	veil_http_config c = {.timeout_seconds = 1};

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !tls_files_make(&files)) {
		fprintf(stderr, "test_http_tls: cannot make a certificate\n");
		return 1;
	}
	c.tls_cert = files.cert;
	c.tls_key = files.key;
	if (!ts_start(&srv, &c)) {
		fprintf(stderr, "test_http_tls: cannot start: %s\n", veil_err_detail());
		tls_files_remove(&files);
		return 1;
	}
	RUN(curl_talks_tls_with_the_right_ca);
	RUN(curl_refuses_the_wrong_ca_and_old_versions);
	RUN(plain_http_to_the_tls_port_fails);
	RUN(tls_to_a_plain_port_fails);
	RUN(stalled_handshake_is_dropped);
	RUN(tls_configuration_errors);
	RUN(server_stops_and_frees);
	tls_files_remove(&files);
	curl_global_cleanup();
	return harness_finish("test_http_tls");
}

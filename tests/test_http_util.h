/*
 * test_http_util.h - what the HTTP tests share (header-only, static): a
 * veil_http_server running on loopback in a background thread with a set
 * of test routes, a libcurl driver that keeps the status, the raw response
 * headers and the body, raw sockets for what a well-behaved client will
 * not do (half a request, a stalled handshake), and a self-signed P-256
 * certificate made with OpenSSL in a temporary directory for the TLS tests.
 *
 * The routes count how often a handler ran, so a test can show that a
 * request refused by a limit never reached one.
 */
#ifndef VEIL_TEST_HTTP_UTIL_H
#define VEIL_TEST_HTTP_UTIL_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "veil/http.h"
#include "veil/limits.h"

/* ---- the server ---- */

static atomic_int handler_calls; /* every test handler adds one */

typedef struct test_server {
	veil_http_server *s;
	pthread_t thread;
	bool running;
	veil_err run_err;
	uint16_t port;
	char url[64]; /* "http://127.0.0.1:<port>" or https */
} test_server;

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* POST /echo: the body back as it came, and the request's X-Test header,
 * method, path, length, peer and whether it came over TLS in response
 * headers. */
static inline void h_echo(veil_http_request *r, void *user)
{
	size_t len;
	const uint8_t *body = veil_http_body(r, &len);
	const char *x = veil_http_header(r, "x-test"); /* names are case-insensitive */
	char n[32];

	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	snprintf(n, sizeof n, "%zu", len);
	if (veil_http_add_header(r, "X-Echo-Test", x != NULL ? x : "(none)") != VEIL_OK ||
	    veil_http_add_header(r, "X-Echo-Method", veil_http_method(r)) != VEIL_OK ||
	    veil_http_add_header(r, "X-Echo-Path", veil_http_path(r)) != VEIL_OK ||
	    veil_http_add_header(r, "X-Echo-Length", n) != VEIL_OK ||
	    veil_http_add_header(r, "X-Echo-Peer", veil_http_peer(r)) != VEIL_OK ||
	    veil_http_add_header(r, "X-Echo-TLS", veil_http_request_tls(r) ? "1" : "0") !=
		VEIL_OK) {
		veil_http_reply(r, 500, "text/plain", "header\n", 7);
		return;
	}
	veil_http_reply(r, 200, "application/octet-stream", body, len);
}

/* A handler that answers with its own name, to tell routes apart. */
static inline void h_name(veil_http_request *r, void *user)
{
	const char *name = user;

	atomic_fetch_add(&handler_calls, 1);
	veil_http_reply(r, 200, "text/plain", name, strlen(name));
}

/* GET /cookies: "name=value;" for each of a fixed list of names, "name=-;"
 * when veil_http_cookie says absent (or too long for its 8-byte buffer). */
static inline void h_cookies(veil_http_request *r, void *user)
{
	static const char *const names[] = {"sid", "s", "sid2", "long", "empty", "x"};
	char out[256], buf[8];
	size_t used = 0;

	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		bool found = veil_http_cookie(r, names[i], buf, sizeof buf);
		int w =
		    snprintf(out + used, sizeof out - used, "%s=%s;", names[i], found ? buf : "-");
		if (w > 0 && (size_t)w < sizeof out - used)
			used += (size_t)w;
	}
	veil_http_reply(r, 200, "text/plain", out, used);
}

static inline void h_stream(veil_http_request *r, void *user)
{
	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	veil_http_stream_begin(r, 200, "text/plain");
	veil_http_stream_write(r, "one,", 4);
	veil_http_stream_write(r, "", 0); /* skipped: it would end the body */
	veil_http_stream_write(r, "two,", 4);
	veil_http_stream_write(r, "three", 5);
	veil_http_stream_end(r);
}

static inline void h_json(veil_http_request *r, void *user)
{
	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	veil_http_reply_json(r, 201, json_pack("{s:i, s:[b,n], s:s}", "a", 1, "b", 1, "c", "x y"));
}

/* Handlers that break the rules: no reply, two replies, a stream left
 * open, a header after the reply. */
static inline void h_no_reply(veil_http_request *r, void *user)
{
	(void)r;
	(void)user;
	atomic_fetch_add(&handler_calls, 1);
}

static inline void h_twice(veil_http_request *r, void *user)
{
	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	veil_http_reply(r, 202, "text/plain", "first", 5);
	veil_http_reply(r, 200, "text/plain", "second", 6);
	if (veil_http_add_header(r, "X-Late", "1") == VEIL_OK)
		veil_http_stream_write(r, "late", 4); /* must not get here */
}

static inline void h_open_stream(veil_http_request *r, void *user)
{
	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	veil_http_stream_begin(r, 200, "text/plain");
	veil_http_stream_write(r, "partial", 7);
}

/* A 302 to the Location in user (a string; "/to" uses redirect_target,
 * which a test sets). */
static char redirect_target[128];

static inline void h_redirect(veil_http_request *r, void *user)
{
	atomic_fetch_add(&handler_calls, 1);
	if (veil_http_add_header(r, "Location", user) != VEIL_OK)
		return;
	veil_http_reply(r, 302, "text/plain", "moved\n", 6);
}

/* A response header of 5000 bytes. */
static inline void h_long_header(veil_http_request *r, void *user)
{
	static char value[5001];

	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	memset(value, 'v', sizeof value - 1);
	if (veil_http_add_header(r, "X-Long", value) != VEIL_OK)
		return;
	veil_http_reply(r, 200, "text/plain", "long", 4);
}

/* GET /big: 64 KiB of 'b' without a Content-Length (streamed), so a
 * client cannot refuse it up front from the length. */
static inline void h_big_stream(veil_http_request *r, void *user)
{
	static char block[4096];

	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	memset(block, 'b', sizeof block);
	veil_http_stream_begin(r, 200, "application/octet-stream");
	for (int i = 0; i < 16; i++)
		veil_http_stream_write(r, block, sizeof block);
	veil_http_stream_end(r);
}

static inline bool test_routes(veil_http_server *s)
{
	return veil_http_route(s, "POST", "/echo", h_echo, NULL) == VEIL_OK &&
	       veil_http_route(s, "PUT", "/echo", h_echo, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/exact", h_name, "exact") == VEIL_OK &&
	       veil_http_route(s, "DELETE", "/exact", h_name, "exact-delete") == VEIL_OK &&
	       veil_http_route(s, "GET", "/pre/*", h_name, "prefix-short") == VEIL_OK &&
	       veil_http_route(s, "GET", "/pre/long/*", h_name, "prefix-long") == VEIL_OK &&
	       veil_http_route(s, "GET", "/pre/long/exact", h_name, "exact-long") == VEIL_OK &&
	       veil_http_route(s, "GET", "/cookies", h_cookies, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/stream", h_stream, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/json", h_json, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/no-reply", h_no_reply, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/twice", h_twice, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/open-stream", h_open_stream, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/redirect", h_redirect, "/exact") == VEIL_OK &&
	       veil_http_route(s, "GET", "/loop", h_redirect, "/loop") == VEIL_OK &&
	       veil_http_route(s, "GET", "/to", h_redirect, redirect_target) == VEIL_OK &&
	       veil_http_route(s, "GET", "/long-header", h_long_header, NULL) == VEIL_OK &&
	       veil_http_route(s, "GET", "/big", h_big_stream, NULL) == VEIL_OK;
}

static inline void *ts_thread(void *arg)
{
	test_server *t = arg;
	t->run_err = veil_http_server_run(t->s);
	return NULL;
}

/* Creates a server with c (127.0.0.1, port 0, two threads unless c says
 * otherwise), adds the test routes and runs it in a background thread. */
static inline bool ts_start(test_server *t, const veil_http_config *c)
{
	veil_http_config cfg = *c;

	memset(t, 0, sizeof *t);
	if (cfg.threads == 0)
		cfg.threads = 2;
	if (veil_http_server_new(&cfg, &t->s) != VEIL_OK) {
		fprintf(stderr, "  server: %s\n", veil_err_detail());
		return false;
	}
	if (!test_routes(t->s) || pthread_create(&t->thread, NULL, ts_thread, t) != 0) {
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

/* Stops the server, waits for run() to return, frees it; false if run
 * failed. */
static inline bool ts_stop(test_server *t)
{
	if (t->s == NULL)
		return false;
	veil_http_server_stop(t->s);
	if (t->running)
		pthread_join(t->thread, NULL);
	veil_http_server_free(t->s);
	t->s = NULL;
	return t->run_err == VEIL_OK;
}

/* ---- libcurl ---- */

typedef struct http_result {
	CURLcode rc;
	long status;
	long connects; /* CURLINFO_NUM_CONNECTS: new connections this call */
	long local_port;
	uint8_t *body; /* malloc'd; NUL after len */
	size_t len;
	char head[8192]; /* raw header lines of the final response */
	size_t head_len;
	char error[CURL_ERROR_SIZE];
} http_result;

static inline size_t collect_body(char *p, size_t size, size_t n, void *arg)
{
	http_result *res = arg;
	uint8_t *grown = realloc(res->body, res->len + n + 1);

	(void)size; /* always 1 */
	if (grown == NULL)
		return 0;
	res->body = grown;
	memcpy(res->body + res->len, p, n);
	res->len += n;
	res->body[res->len] = '\0';
	return n;
}

static inline size_t collect_head(char *p, size_t size, size_t n, void *arg)
{
	http_result *res = arg;

	(void)size;
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
		res->head_len = 0; /* a new response (after a 100 Continue) */
	if (n < sizeof res->head - res->head_len) {
		memcpy(res->head + res->head_len, p, n);
		res->head_len += n;
		res->head[res->head_len] = '\0';
	}
	return n;
}

static inline void result_clear(http_result *res)
{
	free(res->body);
	memset(res, 0, sizeof *res);
}

/* The value of response header `name` (first one) into a static buffer,
 * or NULL. */
static inline const char *result_header(const http_result *res, const char *name)
{
	static char value[1024];
	size_t n = strlen(name);
	const char *line = res->head;

	while (line != NULL && *line != '\0') {
		const char *end = strstr(line, "\r\n");
		if (end == NULL)
			break;
		if ((size_t)(end - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			snprintf(value, sizeof value, "%.*s", (int)(end - v), v);
			return value;
		}
		line = end + 2;
	}
	return NULL;
}

/* One request on handle h (kept, so its connection can be reused). body
 * NULL: no body. extra: more request options, may be NULL. */
static inline CURLcode http_do(CURL *h, const char *method, const char *url,
			       struct curl_slist *headers, const void *body, size_t len,
			       http_result *res)
{
	result_clear(res);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_head);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, res);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, res->error);
	if (headers != NULL)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	return curl_easy_perform(h);
}

static inline void http_info(CURL *h, http_result *res)
{
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &res->connects);
	curl_easy_getinfo(h, CURLINFO_LOCAL_PORT, &res->local_port);
}

/* A one-off request on a fresh handle; fills res (status 0 on failure),
 * which must start zeroed and is cleared first. */
static inline CURLcode http_once(const char *method, const char *url, struct curl_slist *headers,
				 const void *body, size_t len, http_result *res)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		return CURLE_FAILED_INIT;
	res->rc = http_do(h, method, url, headers, body, len, res);
	http_info(h, res);
	curl_easy_cleanup(h);
	return res->rc;
}

/* ---- raw sockets ---- */

static inline int raw_connect(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline bool raw_send(int fd, const char *s)
{
	size_t n = strlen(s);
	return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Reads until the peer closes, cap bytes are in, or timeout_s passes;
 * returns the bytes read (NUL-terminated in buf) and sets *closed when the
 * peer closed (EOF or reset). */
static inline size_t raw_read(int fd, char *buf, size_t cap, double timeout_s, bool *closed)
{
	double end = now_s() + timeout_s;
	size_t len = 0;

	*closed = false;
	while (len + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double left = end - now_s();
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0) {
			*closed = n == 0 || errno == ECONNRESET;
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* ---- a self-signed TLS certificate ---- */

typedef struct tls_files {
	char dir[64];
	char cert[96], key[96];
	char other_cert[96]; /* another self-signed certificate: a wrong CA */
} tls_files;

static inline bool write_cert(const char *cert_path, const char *key_path)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX ctx;
	const char *const ext[][2] = {{"basicConstraints", "critical,CA:TRUE"},
				      {"subjectKeyIdentifier", "hash"},
				      {"subjectAltName", "IP:127.0.0.1,DNS:localhost"}};
	FILE *f = NULL;
	bool ok = false;

	if (pk == NULL || x == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(now_s() * 1000) & 0x7fffffff) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || X509_set_pubkey(x, pk) != 1)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)"veil test server", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto out;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, ext[i][0], ext[i][1]);
		bool added = e != NULL && X509_add_ext(x, e, -1) == 1;
		X509_EXTENSION_free(e);
		if (!added)
			goto out;
	}
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	f = fopen(cert_path, "w");
	if (f == NULL || PEM_write_X509(f, x) != 1 || fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = fopen(key_path, "w");
	if (f == NULL || fchmod(fileno(f), 0600) != 0 ||
	    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	ok = true;
out:
	if (f != NULL && fclose(f) != 0)
		ok = false;
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok;
}

static inline bool tls_files_make(tls_files *t)
{
	char other_key[96];

	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/veil-http-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return false;
	snprintf(t->cert, sizeof t->cert, "%s/cert.pem", t->dir);
	snprintf(t->key, sizeof t->key, "%s/key.pem", t->dir);
	snprintf(t->other_cert, sizeof t->other_cert, "%s/other.pem", t->dir);
	snprintf(other_key, sizeof other_key, "%s/other-key.pem", t->dir);
	return write_cert(t->cert, t->key) && write_cert(t->other_cert, other_key);
}

static inline void tls_files_remove(tls_files *t)
{
	char other_key[96];

	snprintf(other_key, sizeof other_key, "%s/other-key.pem", t->dir);
	unlink(t->cert);
	unlink(t->key);
	unlink(t->other_cert);
	unlink(other_key);
	rmdir(t->dir);
}

#endif

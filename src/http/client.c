/*
 * client.c - one HTTP exchange on libcurl for Veil's CLIs and daemons (see
 * http_client.h and docs/http.md).
 *
 * Each call takes a fresh easy handle, sets the options every caller needs
 * and none may drop (verification on, http/https only, redirects refused,
 * deadlines, body cap), runs the transfer, and turns libcurl's result
 * into a veil_err whose detail says which step failed. The response body
 * goes into a capped veil_writer; response header lines pass through the
 * bounded reader and only the values the caller asked for are kept.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veil/bytes.h"
#include "veil/http_client.h"
#include "veil/limits.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init(void)
{
	/* Once per process and never undone: libcurl's global state (and
	 * OpenSSL's under it) lives as long as the program. */
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct fetch_state {
	const veil_http_client_request *req;
	veil_http_client_response *resp;
	size_t want_count;
	char location[256];  /* of the last response, for a refused redirect */
	veil_err header_err; /* a header callback failure, reported after */
	veil_err body_err;   /* the writer's failure (over the cap) */
	CURL *h;
	size_t streamed; /* bytes handed to on_data */
	bool stopped;    /* on_data asked to stop */
} fetch_state;

static void headers_reset(fetch_state *st)
{
	for (size_t i = 0; i < VEIL_HTTP_CLIENT_HEADERS_MAX; i++) {
		free(st->resp->headers[i]);
		st->resp->headers[i] = NULL;
	}
	st->location[0] = '\0';
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 9112 section 5: field-line = field-name ":" OWS field-value OWS.
 * Keeps the value if the name is one the caller asked for. */
static veil_err header_line(fetch_state *st, const uint8_t *line, size_t len)
{
	veil_reader r;
	const uint8_t *name, *value, *colon = memchr(line, ':', len);
	size_t name_len, value_len;

	/* A status line starts a new response (an interim 100, or the next
	 * hop of a redirect): only the final response's fields count. */
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		headers_reset(st);
		return VEIL_OK;
	}
	if (colon == NULL)
		return VEIL_OK; /* the blank line that ends the section */
	veil_reader_init(&r, line, len);
	name_len = (size_t)(colon - line);
	TRY(veil_reader_borrow(&r, name_len, &name));
	TRY(veil_reader_skip(&r, 1));
	value_len = veil_reader_left(&r);
	TRY(veil_reader_borrow(&r, value_len, &value));
	while (value_len > 0 && is_space(value[0])) {
		value++;
		value_len--;
	}
	while (value_len > 0 && is_space(value[value_len - 1]))
		value_len--;
	if (name_len == 8 && strncasecmp((const char *)name, "Location", 8) == 0) {
		/* Only for the message of a refused redirect: cut and made
		 * printable. */
		snprintf(st->location, sizeof st->location, "%.*s", (int)value_len, value);
		veil_text_sanitize(st->location);
	}
	for (size_t i = 0; i < st->want_count; i++) {
		const char *want = st->req->want_headers[i];
		char *copy;
		if (strlen(want) != name_len ||
		    strncasecmp(want, (const char *)name, name_len) != 0 ||
		    st->resp->headers[i] != NULL)
			continue;
		ENSURE(value_len <= VEIL_HTTP_CLIENT_HEADER_VALUE_MAX, VEIL_E_LIMIT,
		       "HTTP: response header %s is %zu bytes, over the limit of %d", want,
		       value_len, VEIL_HTTP_CLIENT_HEADER_VALUE_MAX);
		ENSURE(memchr(value, '\0', value_len) == NULL, VEIL_E_MALFORMED,
		       "HTTP: response header %s has a NUL byte in its value", want);
		copy = malloc(value_len + 1);
		ENSURE(copy != NULL, VEIL_E_NOMEM, "HTTP: out of memory");
		memcpy(copy, value, value_len);
		copy[value_len] = '\0';
		st->resp->headers[i] = copy;
	}
	return VEIL_OK;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	fetch_state *st = arg;

	(void)size; /* always 1 (CURLOPT_HEADERFUNCTION) */
	if (st->header_err == VEIL_OK)
		st->header_err = header_line(st, (const uint8_t *)p, n);
	return st->header_err == VEIL_OK ? n : 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	fetch_state *st = arg;

	(void)size; /* always 1 (CURLOPT_WRITEFUNCTION) */
	if (st->req->on_data != NULL) {
		size_t max = st->req->max_body > 0 ? st->req->max_body : VEIL_HTTP_BODY_MAX;
		long status = 0;

		if (n > max - st->streamed) {
			st->body_err = VEIL_E_LIMIT;
			return 0;
		}
		st->streamed += n;
		curl_easy_getinfo(st->h, CURLINFO_RESPONSE_CODE, &status);
		if (!st->req->on_data(st->req->on_data_user, status, (const uint8_t *)p, n)) {
			st->stopped = true;
			return 0;
		}
		return n;
	}
	st->body_err = veil_writer_put(&st->resp->body, p, n);
	return st->body_err == VEIL_OK ? n : 0;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	fetch_state *st = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (!st->req->abort(st->req->abort_user))
		return 0;
	st->stopped = true;
	return 1;
}

/* The request header list: the caller's lines, checked so that none can
 * smuggle a line break, plus "Expect:" (no 100-continue round trip for
 * the small bodies Veil sends) and, for a body without a Content-Type,
 * "Content-Type:" so curl does not claim a form. */
static veil_err header_list(const veil_http_client_request *req, struct curl_slist **out)
{
	struct curl_slist *list = NULL, *more;
	bool has_type = false;

	*out = NULL;
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		const char *h = req->headers[i];
		const char *colon = strchr(h, ':');
		if (strpbrk(h, "\r\n") != NULL || colon == NULL || colon == h) {
			curl_slist_free_all(list);
			return veil_fail(VEIL_E_USAGE,
					 "HTTP: request header line %zu is not \"Name: value\" on "
					 "one line",
					 i);
		}
		has_type |= colon - h == 12 && strncasecmp(h, "Content-Type", 12) == 0;
		more = curl_slist_append(list, h);
		if (more == NULL)
			goto nomem;
		list = more;
	}
	more = curl_slist_append(list, "Expect:");
	if (more == NULL)
		goto nomem;
	list = more;
	if (req->body != NULL && !has_type) {
		more = curl_slist_append(list, "Content-Type:");
		if (more == NULL)
			goto nomem;
		list = more;
	}
	*out = list;
	return VEIL_OK;
nomem:
	curl_slist_free_all(list);
	return veil_fail(VEIL_E_NOMEM, "HTTP: out of memory");
}

static bool is_https(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0;
}

static veil_err set_options(CURL *h, const veil_http_client_request *req, fetch_state *st,
			    struct curl_slist *headers, char *errbuf)
{
	const char *method = req->method != NULL ? req->method : req->body != NULL ? "POST" : "GET";
	bool body = req->body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : VEIL_HTTP_CLIENT_TIMEOUT_MS;
	long connect = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
						   : VEIL_HTTP_CLIENT_CONNECT_TIMEOUT_MS;
	size_t max_body = req->max_body > 0 ? req->max_body : VEIL_HTTP_BODY_MAX;
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(h, opt, val);                                        \
	} while (0)
	SET(CURLOPT_URL, req->url);
	if (req->unix_socket != NULL)
		SET(CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
	if (req->no_proxy)
		SET(CURLOPT_NOPROXY, "*");
	if (req->abort != NULL) {
		SET(CURLOPT_NOPROGRESS, 0L);
		SET(CURLOPT_XFERINFOFUNCTION, on_progress);
		SET(CURLOPT_XFERINFODATA, st);
	}
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for timeouts: threads */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (req->ca_file != NULL)
		SET(CURLOPT_CAINFO, req->ca_file);
	SET(CURLOPT_TIMEOUT_MS, timeout);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
	SET(CURLOPT_USERAGENT, "veil");
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, st);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, st);
	if (req->max_redirects > 0) {
		SET(CURLOPT_FOLLOWLOCATION, 1L);
		SET(CURLOPT_MAXREDIRS, (long)req->max_redirects);
		/* Never from https down to http. */
		SET(CURLOPT_REDIR_PROTOCOLS_STR, is_https(req->url) ? "https" : "http,https");
	}
	if (body) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->body_len : 0));
		SET(CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
	}
	if (strcmp(method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		SET(CURLOPT_CUSTOMREQUEST, method);
#undef SET
	ENSURE(rc == CURLE_OK, VEIL_E_USAGE, "HTTP: libcurl refused an option: %s",
	       curl_easy_strerror(rc));
	return VEIL_OK;
}

/* Says which step failed, in words a user can act on. */
static veil_err transfer_error(CURLcode rc, const char *errbuf, const fetch_state *st)
{
	const veil_http_client_request *req = st->req;
	const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
	size_t max_body = req->max_body > 0 ? req->max_body : VEIL_HTTP_BODY_MAX;

	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return veil_fail(VEIL_E_USAGE, "HTTP: %s is not an http:// or https:// URL (%s)",
				 req->url, why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return veil_fail(VEIL_E_IO, "HTTP: cannot resolve the host of %s: %s", req->url,
				 why);
	case CURLE_COULDNT_CONNECT:
		return veil_fail(VEIL_E_IO, "HTTP: cannot connect to %s: %s", req->url, why);
	case CURLE_OPERATION_TIMEDOUT:
		return veil_fail(VEIL_E_IO, "HTTP: %s timed out: %s", req->url, why);
	case CURLE_PEER_FAILED_VERIFICATION:
		return veil_fail(
		    VEIL_E_VERIFY, "TLS: the certificate of %s does not verify against %s: %s",
		    req->url, req->ca_file != NULL ? req->ca_file : "the system store", why);
	case CURLE_SSL_CACERT_BADFILE:
		return veil_fail(VEIL_E_NOT_FOUND, "TLS: cannot load the CA file %s: %s",
				 req->ca_file != NULL ? req->ca_file : "(system store)", why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CERTPROBLEM:
		return veil_fail(VEIL_E_IO, "TLS: handshake with %s failed: %s", req->url, why);
	case CURLE_FILESIZE_EXCEEDED:
		return veil_fail(VEIL_E_LIMIT,
				 "HTTP: the response from %s is larger than the limit of %zu "
				 "bytes",
				 req->url, max_body);
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_WRITE_ERROR:
		if (st->stopped)
			return veil_fail(VEIL_E_IO, "HTTP: the exchange with %s was stopped",
					 req->url);
		if (st->body_err == VEIL_E_LIMIT)
			return veil_fail(VEIL_E_LIMIT,
					 "HTTP: the response from %s is larger than the limit of "
					 "%zu bytes",
					 req->url, max_body);
		return st->body_err != VEIL_OK ? st->body_err : veil_fail(VEIL_E_IO, "%s", why);
	case CURLE_TOO_MANY_REDIRECTS:
		return veil_fail(VEIL_E_LIMIT, "HTTP: %s redirected more than %u times", req->url,
				 req->max_redirects);
	case CURLE_OUT_OF_MEMORY:
		return veil_fail(VEIL_E_NOMEM, "HTTP: out of memory");
	default:
		return veil_fail(VEIL_E_IO, "HTTP: the exchange with %s failed: %s", req->url, why);
	}
}

veil_err veil_http_client_fetch(const veil_http_client_request *req,
				veil_http_client_response *resp)
{
	fetch_state st = {.req = req, .resp = resp};
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	veil_err err = VEIL_OK;
	CURL *h = NULL;
	CURLcode rc;

	memset(resp, 0, sizeof *resp);
	veil_writer_init(&resp->body, req->max_body > 0 ? req->max_body : VEIL_HTTP_BODY_MAX);
	ENSURE(req->url != NULL, VEIL_E_USAGE, "HTTP: no URL");
	while (req->want_headers != NULL && req->want_headers[st.want_count] != NULL)
		st.want_count++;
	ENSURE(st.want_count <= VEIL_HTTP_CLIENT_HEADERS_MAX, VEIL_E_USAGE,
	       "HTTP: %zu response headers asked for, at most %d", st.want_count,
	       VEIL_HTTP_CLIENT_HEADERS_MAX);
	pthread_once(&curl_once, curl_init);
	ENSURE(curl_init_result == CURLE_OK, VEIL_E_IO, "HTTP: libcurl cannot start: %s",
	       curl_easy_strerror(curl_init_result));
	TRY(header_list(req, &headers));
	h = curl_easy_init();
	CHECK_THAT(h != NULL, VEIL_E_NOMEM, "HTTP: libcurl cannot make a handle");
	st.h = h;
	CHECK(set_options(h, req, &st, headers, errbuf));
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (st.header_err != VEIL_OK) {
		err = st.header_err; /* its own detail is already set */
		goto out;
	}
	if (rc == CURLE_UNSUPPORTED_PROTOCOL && resp->status >= 300 && resp->status <= 399) {
		/* An allowed redirect to a scheme that is not: https to http,
		 * or anything but http and https. */
		err = veil_fail(VEIL_E_UNSUPPORTED,
				"HTTP: %s redirected to %s; only %s may follow it", req->url,
				st.location, is_https(req->url) ? "https" : "http or https");
		goto out;
	}
	if (rc != CURLE_OK) {
		err = transfer_error(rc, errbuf, &st);
		goto out;
	}
	/* RFC 9110 section 15.4: a 3xx with a Location is a redirect. */
	CHECK_THAT(req->max_redirects > 0 || resp->status < 300 || resp->status > 399 ||
		       st.location[0] == '\0',
		   VEIL_E_UNSUPPORTED,
		   "HTTP: %s answered %ld, a redirect to %s; redirects are not followed unless "
		   "allowed",
		   req->url, resp->status, st.location);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	return err;
}

void veil_http_client_response_clear(veil_http_client_response *resp)
{
	for (size_t i = 0; i < VEIL_HTTP_CLIENT_HEADERS_MAX; i++)
		free(resp->headers[i]);
	veil_writer_clear(&resp->body);
	memset(resp, 0, sizeof *resp);
}

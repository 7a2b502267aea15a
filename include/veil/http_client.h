/*
 * http_client.h - one HTTP request from a Veil CLI or daemon, on libcurl
 * (docs/http.md says why): a key broker client fetching a resource, a
 * worker posting its evidence, the CLI asking a gateway for its keys.
 *
 * One call is one exchange on a new connection: method, URL, headers and
 * body in; status, the response headers asked for, and the body (in a
 * capped veil_writer) out. What is fixed, because every caller needs it
 * and none should forget it:
 *   - TLS certificates and host names are always verified, against the
 *     system store or a given CA file, TLS 1.2 or later;
 *   - http:// and https:// only, also for redirects;
 *   - redirects are refused unless asked for (a 3xx is an error that
 *     names the Location), and never lead from https to http;
 *   - a deadline for the whole exchange and another for connecting;
 *   - a cap on the body, checked against Content-Length before reading
 *     and against the bytes while reading.
 * Any status the server sends (404, 500) is a successful exchange: the
 * call returns VEIL_OK and the caller looks at status. Errors say what
 * failed: the URL, connecting, the TLS handshake or certificate, the
 * deadline, or a cap.
 *
 * Thread-safe: calls share nothing but libcurl's global state, set up once.
 */
#ifndef VEIL_HTTP_CLIENT_H
#define VEIL_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/bytes.h"
#include "veil/error.h"
#include "veil/limits.h"

typedef struct veil_http_client_request {
	const char *method;         /* NULL: GET, or POST when body is set */
	const char *url;            /* http:// or https:// */
	const char *const *headers; /* "Name: value" lines, NULL-ended; may be NULL */
	const void *body;           /* request content (copied by nobody); may be NULL */
	size_t body_len;
	const char *const *want_headers; /* response header names to keep, NULL-ended, at
					     most VEIL_HTTP_CLIENT_HEADERS_MAX; may be NULL */
	const char *ca_file;             /* PEM trust anchors; NULL: the system store */
	long timeout_ms;                 /* whole exchange; 0: VEIL_HTTP_CLIENT_TIMEOUT_MS */
	long connect_timeout_ms;         /* 0: VEIL_HTTP_CLIENT_CONNECT_TIMEOUT_MS */
	size_t max_body;                 /* response body cap; 0: VEIL_HTTP_BODY_MAX */
	unsigned max_redirects;          /* 0: a redirect is an error */
	/* Streaming (a worker passing an upstream engine's stream on): when
	 * set, the body is handed over in pieces as they arrive instead of
	 * being gathered (resp->body stays empty; max_body still caps the
	 * total), with the final status. Returning false stops the exchange,
	 * which then fails with VEIL_E_IO. */
	bool (*on_data)(void *user, long status, const uint8_t *p, size_t n);
	void *on_data_user;
	/* Connect to this Unix socket instead of the URL's host (whose name
	 * still goes in the Host header); NULL: TCP. */
	const char *unix_socket;
	/* Never go through a proxy, whatever http_proxy and the like say
	 * (a worker talking to an engine in its own TEE). */
	bool no_proxy;
	/* Polled about every second and whenever data moves: returning true
	 * stops the exchange (VEIL_E_IO), e.g. when the daemon is stopping or
	 * the client that waits for the answer has gone. */
	bool (*abort)(void *user);
	void *abort_user;
} veil_http_client_request;

typedef struct veil_http_client_response {
	long status; /* the final status; 0 if none arrived */
	/* headers[i]: the value of want_headers[i] in the final response
	 * (the first field of that name), NUL-terminated, or NULL. */
	char *headers[VEIL_HTTP_CLIENT_HEADERS_MAX];
	veil_writer body; /* the content as received (no decoding) */
} veil_http_client_response;

/* Performs req. resp is initialised first, whatever the outcome, so
 * veil_http_client_response_clear is always safe; on failure, status and
 * headers are those seen before it (a refused redirect keeps its 3xx).
 * Fails with VEIL_E_USAGE for a bad URL, scheme or header line,
 * VEIL_E_IO for connecting, the deadline or the exchange breaking off,
 * VEIL_E_VERIFY for a certificate that does not verify, VEIL_E_NOT_FOUND
 * for a CA file that cannot be read, VEIL_E_LIMIT for a body, header value
 * or redirect chain over its cap, and VEIL_E_UNSUPPORTED for a redirect
 * that was not allowed. */
VEIL_MUST_CHECK veil_err veil_http_client_fetch(const veil_http_client_request *req,
						veil_http_client_response *resp);
/* Wipes and frees the body and header values. */
void veil_http_client_response_clear(veil_http_client_response *resp);

#endif

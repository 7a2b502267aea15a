/*
 * http.h - the HTTP/1.1 server every Veil daemon uses (veil-kbs now; the
 * worker and gateway later), on libevent's evhttp, with TLS through OpenSSL
 * (docs/http.md says why this stack).
 *
 * One event loop per thread, each with its own listening socket on the same
 * port (SO_REUSEPORT lets the kernel spread connections), so a handler may
 * block briefly (a SQLite write, a signature) without stalling other
 * threads. Handlers run on the loop's thread and must answer every request
 * exactly once: veil_http_reply*(), a stream begun with
 * veil_http_stream_begin() and ended with veil_http_stream_end(), or a
 * deferred reply (veil_http_defer) that another thread finishes later.
 *
 * Limits are part of the configuration: header bytes (over them evhttp
 * answers 400 and closes), body bytes (a larger body is answered 413 before
 * any handler sees it), and an idle timeout per connection that drops slow
 * or stalled clients. The timeout is reset by every byte that arrives, so
 * it is no deadline for a whole request; docs/http.md lists this and the
 * other limitations (no cap on open connections: run behind a proxy or
 * bound the descriptors).
 *
 * The request handle lives for one handler call. A reply made with it,
 * streamed or whole, must be finished before the handler returns: a
 * handler that returns without replying gets a 500 sent for it, an open
 * stream is ended for it, and using the handle afterwards is a use after
 * free. A handler that cannot answer at once (inference that runs for
 * seconds on another thread) takes the request over with veil_http_defer
 * and answers through the deferred handle, from any thread, later.
 *
 * The port: every loop's socket sets SO_REUSEPORT, so a second server of
 * the same user on the same port does not fail to bind; it silently shares
 * the connections. Give each daemon its own port; port 0 always picks one
 * that no socket holds.
 */
#ifndef VEIL_HTTP_H
#define VEIL_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

typedef struct veil_http_config {
	const char *address;     /* numeric IPv4 or IPv6 address; NULL: 127.0.0.1 */
	uint16_t port;           /* 0: an ephemeral port (see veil_http_server_port) */
	unsigned threads;        /* 0: one per CPU */
	size_t max_header_bytes; /* 0: VEIL_HTTP_HEADER_MAX */
	size_t max_body_bytes;   /* 0: VEIL_HTTP_BODY_MAX */
	int timeout_seconds;     /* idle read/write timeout; 0: VEIL_HTTP_TIMEOUT_S */
	const char *tls_cert;    /* PEM certificate chain; NULL: plain HTTP */
	const char *tls_key;     /* PEM private key, with tls_cert */
} veil_http_config;

typedef struct veil_http_server veil_http_server;
typedef struct veil_http_request veil_http_request;
typedef void (*veil_http_handler)(veil_http_request *r, void *user);

/* Binds the listening sockets (so the port is known and taken before
 * anything else starts); serves nothing until veil_http_server_run. */
VEIL_MUST_CHECK veil_err veil_http_server_new(const veil_http_config *c, veil_http_server **out);
/* Routes method + path to h. A path ending in '*' matches every path with
 * that prefix; otherwise the match is exact. The longest match wins; a path
 * that matches no route is 404, a known path with another method 405. Must
 * be called before run. */
VEIL_MUST_CHECK veil_err veil_http_route(veil_http_server *s, const char *method, const char *path,
					 veil_http_handler h, void *user);
uint16_t veil_http_server_port(const veil_http_server *s);
bool veil_http_server_tls(const veil_http_server *s);
/* Serves until veil_http_server_stop; returns after every thread ended.
 * SIGPIPE is blocked on the loop threads (a peer that hangs up makes a
 * write fail, not the process end). Requests in progress when the stop
 * arrives are dropped with their connections at veil_http_server_free. */
VEIL_MUST_CHECK veil_err veil_http_server_run(veil_http_server *s);
/* Asks every loop to stop; safe from any thread, before run as well as
 * during it (a stop before run makes run return at once), not from a
 * signal handler: daemons wait for signals with sigwait on a thread of
 * their own. Not concurrently with veil_http_server_free. */
void veil_http_server_stop(veil_http_server *s);
/* Closes the sockets and every open connection; after run returned.
 * Deferred handles that producers still hold are let go of: from then on
 * they report gone and their calls do nothing, and the producer's last call
 * (reply or end) frees them. A daemon stops its producers first; freeing
 * with producers still running is safe, not graceful. */
void veil_http_server_free(veil_http_server *s);

/* The request: everything borrowed, valid during the handler call only. */
const char *veil_http_method(const veil_http_request *r);
/* The path of the request target, without the query, not percent-decoded. */
const char *veil_http_path(const veil_http_request *r);
/* The query of the request target (after '?', not percent-decoded), or
 * NULL when there is none. */
const char *veil_http_query(const veil_http_request *r);
/* A request header's value (first of that name, case-insensitive) or NULL. */
const char *veil_http_header(const veil_http_request *r, const char *name);
/* The value of cookie `name` from the Cookie header, copied into buf
 * (NUL-terminated); false when absent or longer than buf. */
bool veil_http_cookie(const veil_http_request *r, const char *name, char *buf, size_t buflen);
/* The whole request body (contiguous; may be empty). */
const uint8_t *veil_http_body(veil_http_request *r, size_t *len);
/* The peer's address as text, for logs. */
const char *veil_http_peer(const veil_http_request *r);
/* Whether the request came over TLS (for cookie attributes). */
bool veil_http_request_tls(const veil_http_request *r);

/* The response: exactly one reply (later ones are ignored), with
 * Cache-Control: no-store unless the handler set another. Headers are
 * added before the reply (after it, VEIL_E_USAGE). */
VEIL_MUST_CHECK veil_err veil_http_add_header(veil_http_request *r, const char *name,
					      const char *value);
void veil_http_reply(veil_http_request *r, int status, const char *content_type, const void *body,
		     size_t len);
/* Replies with compact JSON (application/json); takes the reference. */
void veil_http_reply_json(veil_http_request *r, int status, json_t *body);
/* A streamed reply (chunked transfer coding): begin, write pieces as they
 * are ready (each is queued as one chunk at once; empty writes are
 * skipped), end, all within the handler call. The bytes leave when the
 * handler returns to the loop, so such a stream only frames the reply (no
 * Content-Length needed up front); pieces that should leave while they are
 * made go through a deferred reply (below). */
void veil_http_stream_begin(veil_http_request *r, int status, const char *content_type);
void veil_http_stream_write(veil_http_request *r, const void *p, size_t n);
void veil_http_stream_end(veil_http_request *r);

/* Deferred replies (docs/http.md "Deferred replies"). A handler that cannot
 * answer at once takes the request over with veil_http_defer: the handle it
 * gets may be used from any thread, after the handler has returned, until
 * the reply ends. Everything the later work needs from the request (body,
 * headers) must be copied in the handler: the handle gives access to the
 * response only. */
typedef struct veil_http_deferred veil_http_deferred;
/* Called in a handler that has not replied yet. NULL when out of memory
 * (the handler then replies as usual). */
veil_http_deferred *veil_http_defer(veil_http_request *r);
/* Before a reply or stream begins; VEIL_E_USAGE after, or for a bad name/value. */
VEIL_MUST_CHECK veil_err veil_http_deferred_add_header(veil_http_deferred *d, const char *name,
						       const char *value);
/* A whole reply; ends d (the handle must not be used afterwards). */
void veil_http_deferred_reply(veil_http_deferred *d, int status, const char *content_type,
			      const void *body, size_t len);
/* A streamed reply: begin once, write pieces (each sent as soon as the loop
 * gets to it, as one chunk), end (which ends d). write returns false once
 * the client has gone away or the reply failed: the producer should stop
 * working and call end. Pieces waiting to be sent are capped at
 * VEIL_HTTP_DEFERRED_QUEUE_MAX bytes: a write over the cap fails (returns
 * false) and the connection is closed, so a client that stops reading cannot
 * make the server hold unbounded memory. */
void veil_http_deferred_begin(veil_http_deferred *d, int status, const char *content_type);
bool veil_http_deferred_write(veil_http_deferred *d, const void *p, size_t n);
void veil_http_deferred_end(veil_http_deferred *d);
/* Whether the client has gone away (the connection closed); a producer
 * polls this to stop generating for nobody. */
bool veil_http_deferred_gone(const veil_http_deferred *d);

#endif

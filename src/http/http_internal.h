/*
 * http_internal.h - what server.c (sockets, loops, routing), request.c
 * (the handler's view of one request and its reply) and deferred.c
 * (replies finished later, from other threads) share.
 *
 * The request handle a handler sees lives on the stack of the dispatch
 * function, for the duration of one handler call; `state` lets dispatch
 * notice a handler that returned without replying (or that replied twice)
 * and fix it up, so that no connection is left waiting forever, and tells
 * it to keep its hands off a request the handler deferred.
 */
#ifndef VEIL_HTTP_INTERNAL_H
#define VEIL_HTTP_INTERNAL_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>

#include "veil/http.h"
#include "veil/limits.h"

typedef struct http_route {
	char method[16];
	char path[128];
	bool prefix;
	veil_http_handler handler;
	void *user;
} http_route;

typedef struct http_loop {
	veil_http_server *server;
	struct event_base *base;
	struct evhttp *http;
	struct event *stop_event; /* activated by veil_http_server_stop */
	int fd;
	pthread_t thread;
	bool started;
	/* Deferred requests of this loop whose reply evhttp does not have yet;
	 * touched only on the loop's thread, and at free after it ended. */
	veil_http_deferred *deferred;
} http_loop;

struct veil_http_server {
	veil_http_config config;
	uint16_t port;
	SSL_CTX *tls;
	http_route routes[VEIL_HTTP_ROUTES_MAX];
	size_t route_count;
	unsigned loop_count;
	http_loop *loops;
};

typedef enum http_reply_state {
	HTTP_REPLY_NONE,      /* nothing sent yet */
	HTTP_REPLY_STREAMING, /* veil_http_stream_begin called, not ended */
	HTTP_REPLY_DONE,      /* a full reply or the end of a stream went out */
	HTTP_REPLY_DEFERRED,  /* veil_http_defer took the request over */
} http_reply_state;

struct veil_http_request {
	struct evhttp_request *req;
	veil_http_server *server;
	http_loop *loop;
	const char *path;
	char peer[64];
	http_reply_state state;
	struct evbuffer *chunk; /* reused by every stream write */
};

/* Called by dispatch after the handler returned: replies 500 if it sent
 * nothing, ends a stream it left open, and frees what the request held. */
void http_request_finish(veil_http_request *r);
/* Content-Type (when not NULL) and Cache-Control: no-store unless set:
 * the headers every reply carries, immediate or deferred. */
void http_set_common_headers(struct evhttp_request *req, const char *content_type);
/* The body of a whole reply (for HEAD only its Content-Length); false when
 * it cannot be held, and the reply should become a 500. */
bool http_set_body(struct evhttp_request *req, const void *body, size_t len);
/* evhttp_send_reply_start, with the framing of HTTP/1.0 clients fixed
 * (request.c says how). */
void http_stream_start(struct evhttp_request *req, int status);
/* The event loop the request arrived on: a handler that answers from the
 * same loop later (the gateway passing a worker's answer on) makes its own
 * outgoing connections on it. */
struct event_base *http_request_base(const veil_http_request *r);
/* At server free, before evhttp_free: lets go of every deferred request of
 * the loop (their producers see them gone from then on). */
void http_deferred_release_all(http_loop *loop);

#endif

/*
 * http_internal.h - what server.c (sockets, loops, routing) and request.c
 * (the handler's view of one request and its reply) share.
 *
 * The request handle a handler sees lives on the stack of the dispatch
 * function, for the duration of one handler call; `state` lets dispatch
 * notice a handler that returned without replying (or that replied twice)
 * and fix it up, so that no connection is left waiting forever.
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
} http_reply_state;

struct veil_http_request {
	struct evhttp_request *req;
	veil_http_server *server;
	const char *path;
	char peer[64];
	http_reply_state state;
	struct evbuffer *chunk; /* reused by every stream write */
};

/* Called by dispatch after the handler returned: replies 500 if it sent
 * nothing, ends a stream it left open, and frees what the request held. */
void http_request_finish(veil_http_request *r);

#endif

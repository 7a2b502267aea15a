/*
 * deferred_internal.h - the deferred reply handle that deferred.c (the
 * loop's side: evhttp calls, connection life) and deferred_producer.c (the
 * producer's calls, from any thread) share; see deferred.c for how the two
 * meet.
 */
#ifndef VEIL_HTTP_DEFERRED_INTERNAL_H
#define VEIL_HTTP_DEFERRED_INTERNAL_H

#include <stdint.h>

#include "http/http_internal.h"

/* What a producer queued: a header (name, NUL, value, NUL) before the
 * reply starts, or a piece of a streamed body after. */
typedef struct http_piece {
	struct http_piece *next;
	bool header;
	size_t len;
	uint8_t data[];
} http_piece;

/* A reply that cannot be made as asked: what the producer did decides
 * how it fails, not how far the loop had got. */
typedef enum deferred_failure {
	FAIL_NONE,
	FAIL_500,   /* no reply could be made (out of memory, ended without one) */
	FAIL_CLOSE, /* a streamed write was refused: the reply is cut */
} deferred_failure;

typedef enum deferred_final {
	FINAL_NONE,
	FINAL_REPLY, /* a whole reply: status, content_type, body */
	FINAL_END,   /* the end of a stream */
} deferred_final;

struct veil_http_deferred {
	pthread_mutex_t mu;
	/* Under mu, shared by the producer and the loop. */
	unsigned refs;
	http_piece *head, **tail;
	size_t queued;             /* body bytes in the queue */
	size_t unsent;             /* in the connection's output, as last seen */
	http_reply_state producer; /* what the producer did: NONE, STREAMING, DONE */
	bool begin;                /* a stream start waits for the loop */
	deferred_final final;      /* a reply or an end waits for the loop */
	int status;
	char *content_type; /* of the begin or the reply; NULL: the default */
	uint8_t *body;
	size_t body_len;
	deferred_failure failed;
	bool gone;          /* the loop let go: connection closed, reply failed, server freed */
	bool woken;         /* wake is active and drain has not run yet */
	struct event *wake; /* NULL once the loop let go */

	/* The loop's side: only on the loop's thread (or at server free,
	 * after the loop ended). */
	http_loop *loop; /* NULL once the loop let go */
	veil_http_deferred *prev, *next;
	struct evhttp_request *req; /* NULL once evhttp has it back */
	struct evhttp_connection *conn;
	struct evbuffer *chunk;
	bool started;  /* the stream began (on the wire unless bodiless) */
	bool bodiless; /* HEAD, 1xx, 204, 304: everything waits for the end */
	int stream_status;
};

/* Wipes and frees a queued piece. */
void http_piece_free(http_piece *p);
/* Drops a reference; the last one frees the handle. */
void http_deferred_release(veil_http_deferred *d);
/* Under mu: has the loop run drain() soon. One activation covers every
 * operation queued before drain takes the queue. */
void http_deferred_wake(veil_http_deferred *d);

#endif

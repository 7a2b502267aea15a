/*
 * forward.h - passing one request to a worker and its answer back to the
 * client (forward.c), on the HTTP loop the request arrived on.
 */
#ifndef VEIL_GATEWAY_FORWARD_H
#define VEIL_GATEWAY_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gateway_internal.h"

typedef struct gw_forward_result {
	int status;   /* the worker's status; 0 when none arrived */
	bool failed;  /* the exchange with the worker broke (connect, reset, timeout) */
	bool started; /* the answer had begun to reach the client when it broke */
	bool stream;  /* passed through as a stream */
	bool usage;   /* token counts were read from the answer */
	uint64_t prompt_tokens, completion_tokens;
	bool receipt_ok; /* a receipt verified under the worker's attested key and
			    names this exchange; the counts are the receipt's */
	double seconds;  /* to the start of the answer */
} gw_forward_result;

typedef void (*gw_forward_done)(void *user, gw_worker *w, const gw_forward_result *res);

typedef struct gw_forward_req {
	gw_worker *worker; /* from gw_registry_pick*: forward ends it (gw_registry_done) */
	const char *method;
	const char *target;       /* path and query */
	const char *content_type; /* may be NULL */
	const char *accept;       /* may be NULL */
	const uint8_t *body;      /* copied */
	size_t body_len;
	bool meter; /* read usage and the receipt from the answer */
	gw_forward_done done;
	void *user;
} gw_forward_req;

/* Takes r over and answers it from the worker's answer; calls f->done
 * once, on this loop, when the exchange ended (also when it could not
 * start: then r has been answered with an error). */
void gw_forward(veil_gateway *g, veil_http_request *r, const gw_forward_req *f);

#endif

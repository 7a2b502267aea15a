/*
 * query.c - the query of a request's target (RFC 3986 section 3.4), for
 * the few routes that take parameters there (the worker's
 * /v1/attestation?nonce=).
 */
#include "http/http_internal.h"

const char *veil_http_query(const veil_http_request *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);

	return uri != NULL ? evhttp_uri_get_query(uri) : NULL;
}

/*
 * log_api.h - the transparency log's HTTP API on veil-gateway
 * (docs/gateway-log-api.md):
 *
 *   GET /v1/log/sth                                  the signed tree head
 *   GET /v1/log/entries?start=A&end=B                entries A..B (inclusive)
 *   GET /v1/log/proof/inclusion?index=I&tree_size=N  an inclusion proof
 *   GET /v1/log/proof/consistency?first=M&second=N   a consistency proof
 *
 * The routes hold one piece of state, the signed tree head of the current
 * size, made at most once a second whatever the number of readers; it lives
 * in a gw_log_api that the caller frees after the server.
 */
#ifndef VEIL_GATEWAY_LOG_API_H
#define VEIL_GATEWAY_LOG_API_H

#include "veil/error.h"
#include "veil/http.h"
#include "veil/jose.h"
#include "veil/tlog.h"

typedef struct gw_log_api gw_log_api;

/* Routes the four GETs above on s (before veil_http_server_run). log and
 * sth_key (an EC P-256 private key) are borrowed and must outlive the
 * server; *out holds the routes' state and is freed with gw_log_api_free
 * once the server is freed (never while it may still run a handler). */
VEIL_MUST_CHECK veil_err gw_log_api_mount(veil_http_server *s, veil_tlog *log,
					  const veil_jwk *sth_key, gw_log_api **out);
/* NULL is fine. */
void gw_log_api_free(gw_log_api *a);

#endif

/*
 * client_internal.h - what the files of the client core share
 * (include/veil/client.h): the client's configuration and its cache of
 * verified workers.
 */
#ifndef VEIL_CLIENT_INTERNAL_H
#define VEIL_CLIENT_INTERNAL_H

#include <pthread.h>

#include "veil/client.h"
#include "veil/http_client.h"

#define CLIENT_CACHE_MAX  64
#define CLIENT_TIMEOUT_MS 120000
#define CLIENT_URL_MAX    512

/* A cached verified worker, shared by the exchanges that use it. */
typedef struct client_entry {
	veil_client_worker w;
	unsigned refs; /* under the client's lock */
	bool forgotten;
} client_entry;

struct veil_client {
	veil_client_config cfg;
	char gateway[CLIENT_URL_MAX]; /* without a trailing slash */
	char auth[600];               /* "Authorization: Bearer ..." or empty */
	pthread_mutex_t mu;           /* the cache */
	pthread_mutex_t verify_mu;    /* one verification round at a time */
	client_entry *cache[CLIENT_CACHE_MAX];
	size_t cache_count;
	size_t next; /* rotation among cached workers */
};

/* A GET or POST on the gateway with the client's settings (deadline, CA,
 * API key). path begins with '/'; extra: more header lines, NULL-ended, or
 * NULL. want: response headers to keep, or NULL. */
VEIL_MUST_CHECK veil_err client_fetch(veil_client *c, const char *method, const char *path,
				      const char *const *extra, const void *body, size_t len,
				      const char *const *want, size_t max_body,
				      veil_http_client_response *resp);
/* The same, the body handed to on_data as it arrives (a streamed answer)
 * instead of gathered in resp. */
VEIL_MUST_CHECK veil_err client_fetch_stream(veil_client *c, const char *method, const char *path,
					     const char *const *extra, const void *body, size_t len,
					     size_t max_body,
					     bool (*on_data)(void *user, long status,
							     const uint8_t *p, size_t n),
					     void *user, veil_http_client_response *resp);

#endif

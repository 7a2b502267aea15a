/*
 * daemon.h - what the daemons' main files (veil_kbs.c, veil_worker.c)
 * share: reading a numeric option, and the port file a test or a service
 * manager reads to learn the port a daemon bound (--port 0 picks one).
 */
#ifndef VEIL_DAEMON_H
#define VEIL_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "veil/http.h"

/* A whole decimal number in min..max, nothing before or after it. */
bool daemon_number(const char *s, long min, long max, long *out);

/* A numeric option of a table: name, range, where it goes. */
typedef struct daemon_num_opt {
	const char *name;
	long min, max;
	long *dst;
} daemon_num_opt;

/* If option a is one of the n in opts, parses its value v into it: 1
 * when it was one and v is good, 0 when a is none of them, -1 for a bad
 * value (said on standard error, prefixed with prog). */
int daemon_num_option(const char *prog, const daemon_num_opt *opts, size_t n, const char *a,
		      const char *v);

/* Stopping on SIGINT or SIGTERM without a signal handler: the signals are
 * blocked in every thread and taken by one thread with sigwait, which
 * calls before_stop (may be NULL; e.g. a worker leaving its gateway) and
 * stops the server. */
typedef struct daemon_signals {
	const char *prog;
	veil_http_server *server;
	void (*before_stop)(void *user);
	void *user;
	sigset_t set;
	pthread_t thread;
	bool started;
} daemon_signals;

/* Blocks SIGINT and SIGTERM in the calling thread (before any other thread
 * starts, so that all inherit it) and ignores SIGPIPE. */
void daemon_signals_block(daemon_signals *s, const char *prog);
/* Starts the thread that waits for them; false (said) when it cannot. */
bool daemon_signals_start(daemon_signals *s, veil_http_server *server,
			  void (*before_stop)(void *user), void *user);
/* After the server's run returned: wakes the thread if no signal came (the
 * run failed) and joins it. */
void daemon_signals_join(daemon_signals *s, bool run_failed);

/* Writes "PORT\n" to path through a temporary file and a rename, so a
 * reader never sees it half-written; on failure prints why, prefixed with
 * prog, and returns false. */
bool daemon_write_port_file(const char *prog, const char *path, unsigned port);

#endif

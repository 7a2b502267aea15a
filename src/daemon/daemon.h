/*
 * daemon.h - what the daemons' main files (veil_kbs.c, veil_worker.c)
 * share: reading a numeric option, and the port file a test or a service
 * manager reads to learn the port a daemon bound (--port 0 picks one).
 */
#ifndef VEIL_DAEMON_H
#define VEIL_DAEMON_H

#include <stdbool.h>

/* A whole decimal number in min..max, nothing before or after it. */
bool daemon_number(const char *s, long min, long max, long *out);

/* Writes "PORT\n" to path through a temporary file and a rename, so a
 * reader never sees it half-written; on failure prints why, prefixed with
 * prog, and returns false. */
bool daemon_write_port_file(const char *prog, const char *path, unsigned port);

#endif

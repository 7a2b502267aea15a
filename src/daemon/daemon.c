/*
 * daemon.c - helpers of the daemons' main files (daemon.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

bool daemon_number(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10); /* checked: errno, end and range below */
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool daemon_write_port_file(const char *prog, const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
		fprintf(stderr, "%s: --port-file path too long\n", prog);
		return false;
	}
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
		return false;
	}
	return true;
}

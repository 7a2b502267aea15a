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

int daemon_num_option(const char *prog, const daemon_num_opt *opts, size_t n, const char *a,
		      const char *v)
{
	for (size_t k = 0; k < n; k++) {
		if (strcmp(a, opts[k].name) != 0)
			continue;
		if (!daemon_number(v, opts[k].min, opts[k].max, opts[k].dst)) {
			fprintf(stderr, "%s: %s: \"%s\" is not a number in %ld..%ld\n", prog, a, v,
				opts[k].min, opts[k].max);
			return -1;
		}
		return 1;
	}
	return 0;
}

void daemon_signals_block(daemon_signals *s, const char *prog)
{
	memset(s, 0, sizeof *s);
	s->prog = prog;
	sigemptyset(&s->set);
	sigaddset(&s->set, SIGINT);
	sigaddset(&s->set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &s->set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void *signal_thread(void *arg)
{
	daemon_signals *s = arg;
	int sig = 0;

	while (sigwait(&s->set, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
		;
	fprintf(stderr, "%s: signal %d, stopping\n", s->prog, sig);
	if (s->before_stop != NULL)
		s->before_stop(s->user);
	veil_http_server_stop(s->server);
	return NULL;
}

bool daemon_signals_start(daemon_signals *s, veil_http_server *server,
			  void (*before_stop)(void *user), void *user)
{
	s->server = server;
	s->before_stop = before_stop;
	s->user = user;
	if (pthread_create(&s->thread, NULL, signal_thread, s) != 0) {
		fprintf(stderr, "%s: cannot start the signal thread\n", s->prog);
		return false;
	}
	s->started = true;
	return true;
}

void daemon_signals_join(daemon_signals *s, bool run_failed)
{
	if (!s->started)
		return;
	if (run_failed) /* the thread still waits: wake it */
		pthread_kill(s->thread, SIGTERM);
	pthread_join(s->thread, NULL);
	s->started = false;
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

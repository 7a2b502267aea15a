/*
 * progress.c - progress of a long seal or open, for a person watching.
 *
 * Sealing or opening a model of tens of gigabytes takes a while; on a
 * terminal one line shows bytes done, the rate and the time left, redrawn
 * in place at most four times a second. Anywhere else (a log file, a pipe,
 * a service's journal) it prints nothing at all: progress lines are noise
 * in logs, and the command's own result line says what happened.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "veil/seal.h"

#define PROGRESS_INTERVAL_S 0.25

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "512 B", "3.4 MiB", "7.0 GiB". */
static void human_bytes(double n, char *buf, size_t cap)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;

	while (n >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		n /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%.0f %s", n, units[u]);
	else
		snprintf(buf, cap, "%.1f %s", n, units[u]);
}

void veil_seal_progress_init(veil_seal_progress *p, int fd, const char *label)
{
	memset(p, 0, sizeof *p);
	p->fd = fd;
	p->tty = isatty(fd) == 1;
	p->label = label;
	p->start = now_s();
}

void veil_seal_progress_print(uint64_t done, uint64_t total, void *user)
{
	veil_seal_progress *p = user;
	char line[256], d[32], t[32], r[32], left[32] = "";
	double now, elapsed, rate;
	int n;

	if (p == NULL || !p->tty)
		return;
	now = now_s();
	if (done < total && now - p->last < PROGRESS_INTERVAL_S)
		return;
	p->last = now;
	elapsed = now - p->start;
	rate = elapsed > 0 ? (double)done / elapsed : 0;
	human_bytes((double)done, d, sizeof d);
	human_bytes((double)total, t, sizeof t);
	human_bytes(rate, r, sizeof r);
	if (done < total && rate > 0)
		snprintf(left, sizeof left, ", %.0f s left", (double)(total - done) / rate);
	/* \r and "erase to end of line" redraw the same line in place. */
	n = snprintf(line, sizeof line, "\r%s: %s of %s (%.0f%%), %s/s%s\033[K",
		     p->label != NULL ? p->label : "progress", d, t,
		     total > 0 ? 100.0 * (double)done / (double)total : 100.0, r, left);
	if (n > 0 && write(p->fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) > 0)
		p->drawn = true;
}

void veil_seal_progress_done(veil_seal_progress *p)
{
	if (p != NULL && p->drawn) {
		if (write(p->fd, "\n", 1) != 1)
			return;
		p->drawn = false;
	}
}

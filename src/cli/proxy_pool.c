/*
 * proxy_pool.c - the forwarding threads of `veil proxy` (docs/proxy.md
 * "Threads"), and the OpenAI error objects its answers carry.
 *
 * The client core's calls block: a pick may fetch and verify evidence, an
 * exchange waits for the worker's tokens for as long as it generates. They
 * cannot run on the HTTP server's loops, which must never wait, so the
 * handlers queue each request and a fixed number of threads (--threads)
 * answer them. The queue is bounded (VEIL_PROXY_QUEUE_MAX): past it a
 * request is refused at once with 503 rather than held without limit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/proxy.h"
#include "veil/secret.h"

void proxy_job_free(proxy_job *j)
{
	if (j == NULL)
		return;
	/* The body holds the prompt. */
	veil_free_secret(j->body, j->body_len);
	free(j);
}

static void *pool_thread(void *arg)
{
	proxy *p = arg;
	proxy_job *j;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->work, &p->mu);
		j = p->head;
		if (j != NULL) {
			p->head = j->next;
			if (p->head == NULL)
				p->tail = NULL;
			p->queued--;
		}
		pthread_mutex_unlock(&p->mu);
		if (j == NULL)
			break; /* stopping, and nothing left */
		veil_err_clear();
		proxy_forward(p, j);
		proxy_job_free(j);
	}
	pthread_mutex_lock(&p->mu);
	p->alive--;
	pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

bool proxy_pool_start(proxy *p, unsigned n, size_t queue_max)
{
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return false;
	if (pthread_cond_init(&p->work, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		return false;
	}
	if (pthread_cond_init(&p->idle, NULL) != 0) {
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		return false;
	}
	p->queue_max = queue_max;
	p->tids = calloc(n, sizeof *p->tids);
	if (p->tids == NULL) {
		fprintf(stderr, "veil proxy: out of memory\n");
		pthread_cond_destroy(&p->idle);
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		return false;
	}
	p->threads = n;
	for (unsigned i = 0; i < n; i++) {
		pthread_mutex_lock(&p->mu);
		p->alive++;
		pthread_mutex_unlock(&p->mu);
		if (pthread_create(&p->tids[i], NULL, pool_thread, p) != 0) {
			pthread_mutex_lock(&p->mu);
			p->alive--;
			pthread_mutex_unlock(&p->mu);
			break;
		}
		p->started++;
	}
	if (p->started < n) {
		fprintf(stderr, "veil proxy: cannot start %u forwarding threads (%u started)\n", n,
			p->started);
		/* The threads that did start end at once: nothing is queued. */
		(void)proxy_pool_stop(p, 1000);
		return false;
	}
	return true;
}

bool proxy_pool_submit(proxy *p, proxy_job *j)
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	ok = !p->stopping && p->queued < p->queue_max;
	if (ok) {
		j->next = NULL;
		if (p->tail != NULL)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->mu);
	return ok;
}

bool proxy_pool_stop(proxy *p, long grace_ms)
{
	proxy_job *left, *next;
	struct timespec deadline;
	bool drained;

	if (p->tids == NULL)
		return true;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	left = p->head;
	p->head = p->tail = NULL;
	p->queued = 0;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (; left != NULL; left = next) {
		next = left->next;
		proxy_deferred_error(left->d, 503, "proxy_stopping", "stopping",
				     "the proxy is stopping; the request was not sent");
		left->d = NULL;
		proxy_job_free(left);
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += grace_ms / 1000;
	deadline.tv_nsec += (grace_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	while (p->alive > 0) {
		if (pthread_cond_timedwait(&p->idle, &p->mu, &deadline) == ETIMEDOUT)
			break;
	}
	drained = p->alive == 0;
	pthread_mutex_unlock(&p->mu);
	if (!drained)
		return false;
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->tids[i], NULL);
	free(p->tids);
	p->tids = NULL;
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	return true;
}

/* ---- OpenAI error objects ---- */

static char *error_vtext(const char *type, const char *code, const char *param, const char *fmt,
			 va_list ap) VEIL_PRINTF(4, 0);

static char *error_vtext(const char *type, const char *code, const char *param, const char *fmt,
			 va_list ap)
{
	char msg[400];
	json_t *j;
	char *text;

	vsnprintf(msg, sizeof msg, fmt, ap);
	/* Printable ASCII only: a detail may quote untrusted bytes, and a
	 * character cut by the cap would make jansson refuse the string. */
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	j = json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", msg, "type", type, "code",
		      code, "param", param);
	if (j == NULL)
		return NULL;
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

char *proxy_error_text(const char *type, const char *code, const char *param, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = error_vtext(type, code, param, fmt, ap);
	va_end(ap);
	return text;
}

void proxy_deferred_error(veil_http_deferred *d, int status, const char *type, const char *code,
			  const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = error_vtext(type, code, NULL, fmt, ap);
	va_end(ap);
	if (text == NULL) {
		veil_http_deferred_reply(d, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	veil_http_deferred_reply(d, status, "application/json", text, strlen(text));
	free(text);
}

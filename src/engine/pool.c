/*
 * pool.c - the engine's thread pool (pool.h says why it spins).
 *
 * A job is cut into a few chunks per thread, which the threads claim one
 * at a time; so when the machine is oversubscribed and a worker is not
 * running, the others (the caller at least) take its chunks instead of
 * waiting for it, and a job is never slower than on one thread by more
 * than one chunk. Which thread computes a chunk changes nothing in the
 * result: each item's arithmetic is the same wherever it runs.
 *
 * The claim word holds the job's generation, its chunk count and the next
 * chunk: a thread claims with a compare-and-swap that fails if the job has
 * moved on, and reads the job's fields only after a successful claim. The
 * caller writes a job only once every chunk of the previous one is done,
 * so claimed chunks always see their own job's fields.
 *
 * A worker that found nothing to do for a while sleeps: it counts itself
 * in `sleepers` under the mutex and waits while `gen` is unchanged. The
 * caller bumps `gen` first and then looks at `sleepers` (both sequentially
 * consistent), so either the worker sees the new generation before it
 * waits or the caller sees the sleeper and broadcasts under the mutex,
 * which it can only take once the worker is inside pthread_cond_wait: no
 * wake-up is lost.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pool.h"

/* About a millisecond of spinning before a worker sleeps: longer than the
 * gap between two jobs of a forward pass, far shorter than a human pause. */
#define POOL_SPIN_WORKER 20000
/* Spinning threads yield the CPU every this many spins (about 7 us): the
 * caller waiting for stragglers, and the workers waiting for the next job.
 * When other processes leave the pool fewer cores than threads, a worker
 * may share its core with the caller, and one that spins through its time
 * slice holds up the very thread that has the work. On the 2-core
 * development machine with one core taken by another job, this took
 * stories110M Q8_0 on two threads from 120-140 to 190-320 tokens/s; a
 * yield with nothing else to run costs about 0.1 us. */
#define POOL_SPIN_YIELD 256
/* Chunks per thread: enough to even out an absent thread, few enough that
 * claiming costs nothing next to a chunk. */
#define POOL_CHUNKS_PER_THREAD 4
#define POOL_CHUNKS_MAX        0xFFFF

typedef struct pool_worker {
	struct eng_pool *pool;
	unsigned id;
} pool_worker;

/* Each word that one thread writes while another reads it sits on a
 * cache line of its own: the workers spin on gen, every claim and every
 * finished chunk writes claim and done, and when these shared a line, each
 * of those writes first had to take the line back from the spinning
 * readers. A forward pass runs some sixty jobs per token. */
#define POOL_LINE 64

struct eng_pool {
	unsigned threads;
	pthread_t *tids;
	pool_worker *workers;
	unsigned started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_uint sleepers;
	atomic_bool stop;
	/* The current job; written only while no chunk of a job is claimed
	 * and unfinished. */
	_Alignas(POOL_LINE) eng_pool_fn fn;
	void *arg;
	size_t n, chunk;
	_Alignas(POOL_LINE) atomic_uint gen;
	/* gen << 32 | chunks << 16 | next chunk */
	_Alignas(POOL_LINE) _Atomic uint64_t claim;
	_Alignas(POOL_LINE) atomic_uint done; /* chunks finished of the current job */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Claims and runs chunks of job `gen` until none is left. */
static void work(struct eng_pool *p, unsigned gen, unsigned id)
{
	for (;;) {
		uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);
		size_t idx = c & 0xFFFF, chunks = (c >> 16) & 0xFFFF, begin, end;

		if ((unsigned)(c >> 32) != gen || idx >= chunks)
			return;
		if (!atomic_compare_exchange_weak_explicit(
			&p->claim, &c, c + 1, memory_order_acq_rel, memory_order_relaxed))
			continue;
		begin = idx * p->chunk;
		end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
		if (begin < end)
			p->fn(p->arg, begin, end, id);
		atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
	}
}

static void *worker_main(void *arg)
{
	pool_worker *w = arg;
	struct eng_pool *p = w->pool;
	unsigned seen = 0;

	for (;;) {
		unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);

		for (unsigned spins = 1; g == seen && spins <= POOL_SPIN_WORKER; spins++) {
			cpu_relax();
			if (spins % POOL_SPIN_YIELD == 0)
				sched_yield();
			g = atomic_load_explicit(&p->gen, memory_order_acquire);
		}
		if (g == seen) {
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->sleepers, 1);
			while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
				pthread_cond_wait(&p->cv, &p->mu);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->stop))
			return NULL;
		seen = g;
		work(p, g, w->id);
	}
}

veil_err eng_pool_new(unsigned threads, eng_pool **out)
{
	struct eng_pool *p;

	*out = NULL;
	ENSURE(threads >= 1, VEIL_E_USAGE, "thread pool: at least one thread is needed");
	/* Aligned, so that the lines above are lines. */
	p = aligned_alloc(POOL_LINE, sizeof *p);
	ENSURE(p != NULL, VEIL_E_NOMEM, "thread pool: out of memory");
	memset(p, 0, sizeof *p);
	p->threads = threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (threads > 1) {
		p->tids = calloc(threads - 1, sizeof *p->tids);
		p->workers = calloc(threads - 1, sizeof *p->workers);
		if (p->tids == NULL || p->workers == NULL) {
			eng_pool_free(p);
			return veil_fail(VEIL_E_NOMEM, "thread pool: out of memory");
		}
	}
	for (unsigned i = 0; i + 1 < threads; i++) {
		p->workers[i].pool = p;
		p->workers[i].id = i + 1;
		if (pthread_create(&p->tids[i], NULL, worker_main, &p->workers[i]) != 0) {
			eng_pool_free(p);
			return veil_fail(VEIL_E_NOMEM, "thread pool: cannot start thread %u of %u",
					 i + 2, threads);
		}
		p->started++;
	}
	*out = p;
	return VEIL_OK;
}

void eng_pool_free(eng_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stop, true);
	atomic_fetch_add(&p->gen, 1);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->tids[i], NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->tids);
	free(p->workers);
	free(p);
}

unsigned eng_pool_threads(const eng_pool *p)
{
	return p->threads;
}

void eng_pool_run(eng_pool *p, eng_pool_fn fn, void *arg, size_t n)
{
	size_t chunks;
	unsigned g;

	if (n == 0)
		return;
	if (p->threads == 1 || n == 1) {
		fn(arg, 0, n, 0);
		return;
	}
	chunks = (size_t)p->threads * POOL_CHUNKS_PER_THREAD;
	if (chunks > n)
		chunks = n;
	if (chunks > POOL_CHUNKS_MAX)
		chunks = POOL_CHUNKS_MAX;
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	p->chunk = (n + chunks - 1) / chunks;
	chunks = (n + p->chunk - 1) / p->chunk;
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	g = atomic_load_explicit(&p->gen, memory_order_relaxed) + 1;
	atomic_store_explicit(&p->claim, (uint64_t)g << 32 | (uint64_t)chunks << 16,
			      memory_order_release);
	atomic_store(&p->gen, g);
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	work(p, g, 0);
	for (unsigned spins = 1; atomic_load_explicit(&p->done, memory_order_acquire) != chunks;
	     spins++) {
		cpu_relax();
		if (spins % POOL_SPIN_YIELD == 0)
			sched_yield();
	}
}

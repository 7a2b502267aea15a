/*
 * pool.h - the engine's small thread pool: a fixed set of pthreads that
 * split one range of work (the rows of a matrix-vector product, the heads
 * of attention) and return when all of it is done.
 *
 * A forward pass hands the pool sixty or so small jobs per token, each
 * a fraction of a millisecond, so waking a thread through the kernel for
 * every job would cost as much as the job. Workers therefore spin for a
 * short while on a generation counter after each job (yielding the CPU
 * now and then, in case the thread with the work shares their core) and
 * sleep on a condition variable only when no job comes; the calling
 * thread does the first share of every job itself.
 */
#ifndef VEIL_ENGINE_POOL_H
#define VEIL_ENGINE_POOL_H

#include <stddef.h>

#include "veil/error.h"

typedef struct eng_pool eng_pool;

/* Runs on one thread for items [begin, end); worker is 0..threads-1 (the
 * caller is 0), for per-thread scratch. */
typedef void (*eng_pool_fn)(void *arg, size_t begin, size_t end, unsigned worker);

/* A pool of `threads` threads in all, the caller included (1: no extra
 * thread, jobs run inline). */
VEIL_MUST_CHECK veil_err eng_pool_new(unsigned threads, eng_pool **out);
void eng_pool_free(eng_pool *p);
unsigned eng_pool_threads(const eng_pool *p);

/* Splits [0, n) into contiguous ranges, one per thread (fewer when n is
 * small), runs fn on each and returns when all have finished. Not
 * reentrant: one job at a time per pool. */
void eng_pool_run(eng_pool *p, eng_pool_fn fn, void *arg, size_t n);

#endif

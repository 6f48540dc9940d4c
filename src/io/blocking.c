/* SPDX-License-Identifier: MIT */
/* blocking.c: the blocking-work pool. A job is a function, its argument and where its result
 * goes; a FIFO ring of `cap` jobs under one mutex (this is the path for work that blocks, so a
 * lock costs nothing that matters); a thread is started when a job arrives and none is idle, up
 * to the pool's maximum. A finished job's result is an ax_blocking_done message sent from the
 * pool thread like a send from any thread outside the runtime; a receiver that stopped or is
 * full turns it into a dead letter, as a timer's message would. */
#include "io/blocking.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "actor/deliver.h"
#include "mem/fault.h"

enum { DEFAULT_THREADS = 4, MAX_THREADS = 64, DEFAULT_QUEUE = 1024, MAX_QUEUE = 1 << 20 };

struct blocking_job {
    ax_blocking_fn fn;
    void *arg;
    ax_ref to;
    uint32_t type;
    blocking_done_fn done; /* the runtime's own job: called instead of sending a message */
};

struct blocking_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;               /* a job was queued, or the pool stops */
    struct blocking_job *q;            /* ring of `size` jobs: head is the oldest, len queued */
    unsigned size, cap, head, len;     /* the ring doubles as needed, up to cap */
    unsigned max_threads, started, idle;
    bool stop;
    pthread_t tids[MAX_THREADS];
    bool joined[MAX_THREADS];
    ax_runtime *rt;
};

/* The pool this thread belongs to, if it is a pool thread. */
static _Thread_local struct blocking_pool *tls_pool;

bool blocking_on_pool_thread(const ax_runtime *rt) {
    return tls_pool != NULL && tls_pool == rt->blocking;
}

static void deliver(ax_runtime *rt, const struct blocking_job *j, int64_t result) {
    struct sched_thread *thr = sched_outside_enter(&rt->sched);
    struct msg *m = thr ? msg_new(thr, sizeof(ax_blocking_done)) : NULL;
    if (!m) {
        /* No thread record or no memory: the result cannot be sent. It is still a dead letter,
         * counted, so that nothing is lost without a trace. */
        atomic_fetch_add_explicit(&rt->dead_letters, 1, memory_order_relaxed);
    } else {
        ax_blocking_done d = {result, j->arg};
        memcpy(m->pub.data, &d, sizeof d);
        m->pub.sender = AX_REF_NONE;
        m->pub.type = j->type;
        m->pub.size = sizeof d;
        actor_deliver_or_deadletter(rt, thr, j->to, m);
    }
    if (thr) sched_outside_leave(thr);
}

static void *pool_main(void *arg) {
    struct blocking_pool *p = arg;
    tls_pool = p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->len == 0 && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        if (p->stop) break;
        struct blocking_job j = p->q[p->head];
        p->head = (p->head + 1) % p->size;
        p->len--;
        pthread_mutex_unlock(&p->lock);
        int64_t result = j.fn(j.arg);
        if (j.done) j.done(p->rt, j.arg, result);
        else deliver(p->rt, &j, result);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Lock held, ring full: doubles it (up to cap), oldest job first. */
static bool grow(struct blocking_pool *p) {
    unsigned size = p->size * 2 < p->cap ? p->size * 2 : p->cap;
    struct blocking_job *q = mem_calloc(size, sizeof *q);
    if (!q) return false;
    for (unsigned i = 0; i < p->len; i++) q[i] = p->q[(p->head + i) % p->size];
    free(p->q);
    p->q = q;
    p->size = size;
    p->head = 0;
    return true;
}

int blocking_create(ax_runtime *rt, int threads, int queue) {
    struct blocking_pool *p = mem_calloc(1, sizeof *p);
    if (!p) return AX_ENOMEM;
    p->max_threads = threads <= 0 ? DEFAULT_THREADS : threads > MAX_THREADS ? MAX_THREADS
                                                                            : (unsigned)threads;
    p->cap = queue <= 0 ? DEFAULT_QUEUE : queue > MAX_QUEUE ? MAX_QUEUE : (unsigned)queue;
    p->size = p->cap < 16 ? p->cap : 16;
    p->q = mem_calloc(p->size, sizeof *p->q);
    if (!p->q) {
        free(p);
        return AX_ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    p->rt = rt;
    rt->blocking = p;
    return 0;
}

/* Queues job j (shared by ax_run_blocking and the runtime's own jobs). */
static int submit(ax_runtime *rt, struct blocking_job j) {
    struct blocking_pool *p = rt->blocking;
    if (!sched_worker_self(&rt->sched) &&
        atomic_load_explicit(&rt->phase, memory_order_acquire) != RT_RUNNING)
        return AX_ESHUTDOWN; /* as sends: outside threads stop at shutdown, handlers later */
    pthread_mutex_lock(&p->lock);
    int rc = 0;
    if (p->stop) rc = AX_ESHUTDOWN;
    else if (p->len == p->cap) rc = AX_EFULL;
    else if (p->len == p->size && !grow(p)) rc = AX_ENOMEM;
    /* More jobs waiting (this one too) than idle threads: start one. A thread signalled but not
     * yet awake still counts as idle, so counting queued jobs keeps a burst from queueing
     * behind one thread. */
    else if (p->len + 1 > p->idle && p->started < p->max_threads) {
        if (pthread_create(&p->tids[p->started], NULL, pool_main, p) == 0) p->started++;
        else if (p->started == 0) rc = AX_ENOMEM; /* no thread will ever come for the job */
    }
    if (rc == 0) {
        p->q[(p->head + p->len) % p->size] = j;
        p->len++;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int ax_run_blocking(ax_runtime *rt, ax_ref to, uint32_t type, ax_blocking_fn fn, void *arg) {
    if (!rt || !fn || type >= AX_MSG_RESERVED) return AX_EINVAL;
    return submit(rt, (struct blocking_job){fn, arg, to, type, NULL});
}

int blocking_run_internal(ax_runtime *rt, ax_blocking_fn fn, blocking_done_fn done, void *arg) {
    return submit(rt, (struct blocking_job){fn, arg, AX_REF_NONE, 0, done});
}

int blocking_stop(ax_runtime *rt, int64_t deadline_ns) {
    struct blocking_pool *p = rt->blocking;
    if (!p) return 0;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    p->len = 0; /* not started: dropped */
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    /* `started` no longer changes: threads are only started while the pool runs. Only the
     * thread that stops the runtime joins (never a pool thread: AX_ECONTEXT before this). */
    for (unsigned i = 0; i < p->started; i++) {
        if (p->joined[i]) continue;
        if (deadline_ns == INT64_MAX) {
            pthread_join(p->tids[i], NULL);
        } else {
            int64_t left = deadline_ns - core_now_ns();
            struct timespec at;
            clock_gettime(CLOCK_REALTIME, &at); /* pthread_timedjoin_np takes wall time */
            int64_t ns = (int64_t)at.tv_nsec + (left > 0 ? left : 0);
            at.tv_sec += (time_t)(ns / 1000000000);
            at.tv_nsec = (long)(ns % 1000000000);
            if (pthread_timedjoin_np(p->tids[i], NULL, &at) != 0) return AX_ETIMEDOUT;
        }
        p->joined[i] = true;
    }
    return 0;
}

void blocking_destroy(ax_runtime *rt) {
    struct blocking_pool *p = rt->blocking;
    if (!p) return;
    blocking_stop(rt, INT64_MAX);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    free(p->q);
    free(p);
    rt->blocking = NULL;
}

uint64_t blocking_queued(ax_runtime *rt) {
    struct blocking_pool *p = rt->blocking;
    if (!p) return 0;
    pthread_mutex_lock(&p->lock);
    uint64_t n = p->len;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* SPDX-License-Identifier: MIT */
/* heartbeat.c: the heartbeat of heartbeat scheduling (Acar, Charguéraud, Guatto, Rainey,
 * Sieczkowski, PLDI 2018): while a fork-join root runs, one thread sets every worker's beat flag
 * each interval; a join that sees its flag promotes one frame. Idle, the thread sleeps. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "core/platform.h"
#include "mem/fault.h"
#include "par/par.h"
#include "sched/sched.h"

/* How long the thread goes on beating after the last root ended before it sleeps: roots that
 * follow each other closely then cost no wake-up each. */
#define LINGER_NS 10000000

static void *heart_main(void *arg) {
    struct par *p = arg;
    struct sched *s = &p->rt->sched;
    int64_t idle_since = 0;
    struct timespec ts = {0, p->interval_ns};
    while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
        if (atomic_load_explicit(&p->roots, memory_order_seq_cst) == 0) {
            int64_t now = core_now_ns();
            if (!idle_since) idle_since = now;
            if (now - idle_since >= LINGER_NS) {
                /* seq_cst: pairs with par_root_enter, which raises roots then reads asleep:
                 * either it sees us asleep and wakes us, or we see its root here. */
                atomic_store_explicit(&p->asleep, 1, memory_order_seq_cst);
                if (atomic_load_explicit(&p->roots, memory_order_seq_cst) == 0 &&
                    !atomic_load_explicit(&p->stop, memory_order_acquire))
                    core_futex_wait(&p->asleep, 1, -1);
                atomic_store_explicit(&p->asleep, 0, memory_order_relaxed);
                idle_since = 0;
                continue;
            }
        } else {
            idle_since = 0;
        }
        nanosleep(&ts, NULL);
        for (int i = 0; i < s->nworkers; i++)
            __atomic_store_n(&s->workers[i].join.beat, 1, __ATOMIC_RELAXED); /* see join.c */
    }
    return NULL;
}

int par_create(ax_runtime *rt) {
    struct par *p = mem_calloc(1, sizeof *p);
    if (!p) return AX_ENOMEM;
    p->rt = rt;
    p->interval_ns = 100000;
    p->always = getenv("AX_TEST_HEARTBEAT_ALWAYS") != NULL;
    rt->par = p;
    for (int i = 0; i < rt->sched.nworkers; i++) join_state_init(&rt->sched.workers[i].join);
    return 0;
}

void par_destroy(ax_runtime *rt) {
    struct par *p = rt->par;
    if (!p) return;
    if (atomic_load(&p->started) == 1) {
        atomic_store_explicit(&p->stop, 1, memory_order_seq_cst);
        atomic_store_explicit(&p->asleep, 0, memory_order_seq_cst);
        core_futex_wake(&p->asleep, 1);
        pthread_join(p->tid, NULL);
    }
    free(p);
    rt->par = NULL;
}

void par_root_enter(struct par *p) {
    atomic_fetch_add_explicit(&p->roots, 1, memory_order_seq_cst);
    int started = atomic_load_explicit(&p->started, memory_order_acquire);
    if (ax_unlikely(started == 0)) {
        int zero = 0;
        if (atomic_compare_exchange_strong(&p->started, &zero, 1) &&
            pthread_create(&p->tid, NULL, heart_main, p) != 0)
            atomic_store(&p->started, -1); /* no heartbeat: joins run where they are */
        return;
    }
    /* seq_cst: pairs with the sleeper's store of asleep then load of roots. */
    if (atomic_load_explicit(&p->asleep, memory_order_seq_cst)) {
        atomic_store_explicit(&p->asleep, 0, memory_order_relaxed);
        core_futex_wake(&p->asleep, 1);
    }
}

void par_root_leave(struct par *p) {
    atomic_fetch_sub_explicit(&p->roots, 1, memory_order_release);
}

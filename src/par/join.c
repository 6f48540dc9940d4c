/* SPDX-License-Identifier: MIT */
/* join.c: fork-join by heartbeat scheduling (Acar et al., PLDI 2018): a join records its second
 * branch in a frame on the worker's own stack, with no atomic and no deque push; when the
 * worker's heartbeat flag is up, the oldest unpromoted frame becomes a stealable task. */
#include <stddef.h>

#include "core/platform.h"
#include "par/par.h"
#include "sched/sched.h"

/* A join's second branch. Lives in ax_join's stack frame, which returns only once the branch
 * ran here or its thief said it is done. The worker's frames form a stack (join_top, below);
 * promoted frames are always its bottom part, so the oldest unpromoted one is found by walking
 * down from the top at a heartbeat, and a join keeps no other bookkeeping. */
struct par_frame {
    struct sched_task task;  /* pushed to the worker's join deque when promoted */
    ax_par_fn fn;
    void *arg;
    struct par_frame *below;
    bool promoted;
    int result;              /* the thief's, once done */
    _Atomic uint32_t done;
};

static struct par_frame *frame_of(struct sched_task *t) {
    return (struct par_frame *)(void *)((char *)t - offsetof(struct par_frame, task));
}

/* A thief runs a promoted frame. Its last access is done: after it the frame may be gone. */
static void frame_run(struct sched_task *t, struct sched_thread *self) {
    (void)self; /* never discarded: its owner waits for it, so the workers cannot stop first */
    struct par_frame *f = frame_of(t);
    f->result = f->fn(f->arg);
    /* release: the owner's acquire load in wait_stolen sees result. */
    atomic_store_explicit(&f->done, 1, memory_order_release);
}

/* The heartbeat came: the oldest unpromoted frame becomes a task others may steal. (In the
 * test mode that promotes at every join the flag stays up.) */
static void promote(struct sched_worker *w, const struct par *p) {
    if (!p->always) atomic_store_explicit(&w->beat, 0, memory_order_relaxed);
    struct par_frame *f = NULL;
    for (struct par_frame *g = w->join_top; g && !g->promoted; g = g->below) f = g;
    if (!f) return;
    f->task.run = frame_run;
    atomic_init(&f->done, 0);
    if (deque_push_owner(&w->jq, &f->task) != 0) return; /* no memory: it stays local */
    f->promoted = true;
    sched_notify(w->thr.s);
}

/* The frame was stolen: help with other fork-join work (never an actor's messages, so a
 * handler that joins is never re-entered) until its thief is done. */
static void wait_stolen(struct sched_worker *w, struct par_frame *f) {
    unsigned idle = 0;
    /* acquire: pairs with the release store in frame_run. */
    while (!atomic_load_explicit(&f->done, memory_order_acquire)) {
        struct sched_task *t = sched_steal_join(w);
        if (t) {
            t->run(t, &w->thr);
            idle = 0;
        } else if (++idle < 1024) {
            core_cpu_relax();
        } else {
            sched_yield(); /* the thief may share our core with others */
        }
    }
}

/* A join with no frame below it starts a root: the heartbeat runs while it does. */
static int join_root(struct sched_worker *w, ax_par_fn a, void *arg_a, ax_par_fn b, void *arg_b) {
    struct par *p = rt_of_sched(w->thr.s)->par;
    par_root_enter(p);
    /* A beat that came while this worker had no root is stale: a root's first promotion waits
     * for a heartbeat of its own (a short root is never split). */
    atomic_store_explicit(&w->beat, p->always, memory_order_relaxed);
    int rc = ax_join(a, arg_a, b, arg_b); /* now with a frame below: not a root again */
    par_root_leave(p);
    return rc;
}

int ax_join(ax_par_fn a, void *arg_a, ax_par_fn b, void *arg_b) {
    if (ax_unlikely(!a || !b)) return AX_EINVAL;
    struct sched_worker *w = sched_tls_worker;
    if (ax_unlikely(!w)) return AX_ECONTEXT;
    struct par_frame *below = w->join_top;
    if (ax_unlikely(!below && !w->join_root)) {
        w->join_root = true;
        int rc = join_root(w, a, arg_a, b, arg_b);
        w->join_root = false;
        return rc;
    }
    /* The fast path: no atomic read-modify-write, no allocation, no deque. Fields a thief
     * needs (task, done) are set by promote only. */
    struct par_frame f;
    f.fn = b;
    f.arg = arg_b;
    f.below = below;
    f.promoted = false;
    w->join_top = &f;
    if (ax_unlikely(atomic_load_explicit(&w->beat, memory_order_relaxed)))
        promote(w, rt_of_sched(w->thr.s)->par);
    int ra = a(arg_a);
    w->join_top = below; /* f is the top again: every join a made has returned */
    int rb;
    if (ax_likely(!f.promoted)) {
        rb = b(arg_b);
    } else if (deque_pop_owner(&w->jq) == &f.task) {
        rb = b(arg_b); /* promoted, not stolen: ours again (frames and the deque pop alike) */
    } else {
        wait_stolen(w, &f); /* stolen, and every older promoted frame with it */
        rb = f.result;
    }
    return ra ? ra : rb;
}

/* ---- roots from outside threads ---------------------------------------------------------- */

struct root {
    struct sched_task task;
    ax_runtime *rt;
    ax_par_fn fn;
    void *arg;
    int result;
    _Atomic uint32_t state; /* ROOT_RUNNING, ROOT_DONE, or ROOT_SLEEPING (its caller waits) */
};

enum { ROOT_RUNNING, ROOT_DONE, ROOT_SLEEPING };

static void root_run(struct sched_task *t, struct sched_thread *self) {
    struct root *r = (struct root *)(void *)((char *)t - offsetof(struct root, task));
    if (self) {
        par_root_enter(r->rt->par);
        r->result = r->fn(r->arg);
        par_root_leave(r->rt->par);
    } else {
        r->result = AX_ESHUTDOWN; /* discarded by a runtime being destroyed */
    }
    /* acq_rel: releases result to the caller's acquire load. After this exchange the caller may
     * return and r be gone: only its address is used below (a futex wake of a word nobody
     * waits on any more is harmless). */
    if (atomic_exchange_explicit(&r->state, ROOT_DONE, memory_order_acq_rel) == ROOT_SLEEPING)
        core_futex_wake(&r->state, 1);
}

int ax_par_run(ax_runtime *rt, ax_par_fn fn, void *arg) {
    if (!rt || !fn) return AX_EINVAL;
    if (sched_tls_worker) return AX_ECONTEXT; /* a worker must not block: call fn, or ax_join */
    if (atomic_load_explicit(&rt->phase, memory_order_acquire) != RT_RUNNING) return AX_ESHUTDOWN;
    struct root r = {.task.run = root_run, .rt = rt, .fn = fn, .arg = arg};
    sched_inject(&rt->sched, &r.task);
    /* A short root ends sooner than a futex round trip: spin as long as an idle worker would,
     * then sleep (ROOT_SLEEPING tells root_run to wake us). */
    int64_t until = core_now_ns() + rt->sched.cfg.spin_ns;
    for (unsigned i = 0; atomic_load_explicit(&r.state, memory_order_acquire) == ROOT_RUNNING; i++) {
        if ((i & 63) == 63 && core_now_ns() >= until) {
            uint32_t running = ROOT_RUNNING;
            if (atomic_compare_exchange_strong_explicit(&r.state, &running, ROOT_SLEEPING,
                                                        memory_order_acquire,
                                                        memory_order_acquire))
                while (atomic_load_explicit(&r.state, memory_order_acquire) == ROOT_SLEEPING)
                    core_futex_wait(&r.state, ROOT_SLEEPING, -1);
            break;
        }
        core_cpu_relax();
    }
    return r.result;
}

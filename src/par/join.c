/* SPDX-License-Identifier: MIT */
/* join.c: fork-join by heartbeat scheduling (Acar et al., PLDI 2018): a join records its second
 * branch in a frame on the worker's own stack, with no atomic and no deque push; when the
 * worker's heartbeat flag is up, the oldest unpromoted frame becomes a stealable task. */
#include <stddef.h>
#include <string.h>

#include "core/platform.h"
#include "par/par.h"
#include "sched/sched.h"

/* A join's second branch lives in its frame (axon.h: ax_join_frame_), in ax_join's stack frame,
 * which returns only once the branch ran here or its thief said it is done. The worker's frames
 * form a stack (join.top, below) on a base frame that counts as promoted. Promoted frames are
 * always its bottom part, so the oldest unpromoted one is the newest promoted one's above, found
 * at a heartbeat in one step at any depth. A promoted frame's runtime_ words hold what a thief
 * needs: */
struct promoted {
    struct sched_task task; /* pushed to the worker's join deque */
    int result;             /* the thief's, once done */
    _Atomic uint32_t done;
};
_Static_assert(sizeof(struct promoted) <= sizeof(((ax_join_frame_ *)0)->runtime_),
               "ax_join_frame_.runtime_ holds a promoted frame's state");

/* The heartbeat flag is a plain word in the public ax_join_state_ (the inline fast path reads
 * it): the heartbeat thread, promote and the loops access it with relaxed __atomic builtins. It
 * is up whenever no root runs (top is the base), so the fast path's one test sends a root's
 * first join here. */
void join_state_init(ax_join_state_ *js) {
    memset(js, 0, sizeof *js);
    js->top = js->promoted = &js->base;
    js->base.promoted = 1;
    js->beat = 1;
}

static struct promoted *promoted_of(ax_join_frame_ *f) {
    return (struct promoted *)(void *)f->runtime_;
}

static ax_join_frame_ *frame_of(struct sched_task *t) {
    return (ax_join_frame_ *)(void *)((char *)t - offsetof(ax_join_frame_, runtime_));
}

/* A thief runs a promoted frame. Its last access is done: after it the frame may be gone. */
static void frame_run(struct sched_task *t, struct sched_thread *self) {
    (void)self; /* never discarded: its owner waits for it, so the workers cannot stop first */
    ax_join_frame_ *f = frame_of(t);
    struct promoted *p = promoted_of(f);
    p->result = f->fn(f->arg);
    /* release: the owner's acquire load in wait_stolen sees result. */
    atomic_store_explicit(&p->done, 1, memory_order_release);
}

/* The heartbeat came: the oldest unpromoted frame becomes a task others may steal. (In the
 * test mode that promotes at every join the flag stays up.) */
static void promote(struct sched_worker *w, const struct par *p) {
    ax_join_state_ *js = &w->join;
    if (!p->always) __atomic_store_n(&js->beat, 0, __ATOMIC_RELAXED);
    if (js->promoted == js->top) return; /* every frame is promoted */
    ax_join_frame_ *f = js->promoted->above;
    struct promoted *pr = promoted_of(f);
    pr->task.run = frame_run;
    atomic_init(&pr->done, 0);
    if (deque_push_owner(&w->jq, &pr->task) != 0) return; /* no memory: it stays local */
    f->promoted = 1;
    js->promoted = f;
    sched_notify(w->thr.s);
}

/* The frame was stolen: help with other fork-join work (never an actor's messages, so a
 * handler that joins is never re-entered) until its thief is done. */
static void wait_stolen(struct sched_worker *w, struct promoted *p) {
    unsigned idle = 0;
    /* acquire: pairs with the release store in frame_run. */
    while (!atomic_load_explicit(&p->done, memory_order_acquire)) {
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

/* A join with its frame on the worker's stack: promotes the oldest frame if the flag is up. */
static int join_framed(struct sched_worker *w, ax_par_fn a, void *arg_a, ax_par_fn b,
                       void *arg_b) {
    ax_join_frame_ f, *below = w->join.top;
    ax_join_push_(&w->join, &f, below, b, arg_b);
    if (__atomic_load_n(&w->join.beat, __ATOMIC_RELAXED))
        promote(w, rt_of_sched(w->thr.s)->par);
    int ra = a(arg_a);
    return ax_join_finish_(&w->join, &f, below, ra, b, arg_b);
}

/* A join on an empty frame stack starts a root: the heartbeat runs while it does. */
static int join_root(struct sched_worker *w, ax_par_fn a, void *arg_a, ax_par_fn b, void *arg_b) {
    struct par *p = rt_of_sched(w->thr.s)->par;
    par_root_enter(p);
    /* A beat that came while this worker had no root is stale: a root's first promotion waits
     * for a heartbeat of its own (a short root is never split). */
    __atomic_store_n(&w->join.beat, p->always, __ATOMIC_RELAXED);
    int rc = join_framed(w, a, arg_a, b, arg_b);
    __atomic_store_n(&w->join.beat, 1, __ATOMIC_RELAXED); /* no frame: the next join is a root */
    par_root_leave(p);
    return rc;
}

/* ax_join's out-of-line part (axon.h has its fast path): misuse, a root's first join, and a join
 * that finds its heartbeat flag up. */
int ax_join_slow_(ax_par_fn a, void *arg_a, ax_par_fn b, void *arg_b) {
    if (ax_unlikely(!a || !b)) return AX_EINVAL;
    struct sched_worker *w = sched_tls_worker;
    if (ax_unlikely(!w)) return AX_ECONTEXT;
    if (w->join.top == &w->join.base) return join_root(w, a, arg_a, b, arg_b);
    return join_framed(w, a, arg_a, b, arg_b);
}

/* A promoted frame's join, after a returned: b runs here unless a thief took it. f is the
 * newest promoted frame (every frame above it is gone), so the one below it is now. */
int ax_join_promoted_(ax_join_frame_ *f, int result_a) {
    struct sched_worker *w = sched_tls_worker;
    w->join.promoted = f->below;
    int rb;
    if (deque_pop_owner(&w->jq) == &promoted_of(f)->task) {
        rb = f->fn(f->arg); /* promoted, not stolen: ours again (frames and the deque pop alike) */
    } else {
        wait_stolen(w, promoted_of(f)); /* stolen, and every older promoted frame with it */
        rb = promoted_of(f)->result;
    }
    return result_a ? result_a : rb;
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

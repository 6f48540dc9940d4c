/* SPDX-License-Identifier: MIT */
/* loop.c: parallel_for and parallel_reduce over an index range, split by the heartbeat: the
 * range runs in growing chunks on its worker, and when the worker's beat flag is up the rest is
 * halved with a join, whose second half others may steal. The user gives no grain size. */
#include <string.h>

#include "par/par.h"
#include "sched/sched.h"

#define CHUNK_MAX 4096 /* iterations between two looks at the heartbeat, at most */

/* A loop refuses to start (AX_ENOMEM) with less stack than this left on its worker: nested
 * loops end in an error code, not in a fault, and the body has room to run. */
#define STACK_RESERVE (128u << 10)

/* On a worker with room for a loop: 0, AX_ECONTEXT or AX_ENOMEM. */
static int loop_can_start(void) {
    struct sched_worker *w = sched_tls_worker;
    if (!w) return AX_ECONTEXT;
    return sched_stack_left(w) < STACK_RESERVE ? AX_ENOMEM : 0;
}

static bool beat_up(void) {
    return __atomic_load_n(&ax_join_state_tls_->beat, __ATOMIC_RELAXED) != 0; /* see join.c */
}

struct range {
    int64_t lo, hi;
    ax_par_range_fn body;
    void *arg;
};

static int for_range(void *p);

/* Runs [lo, hi) in chunks of 1, 2, 4 ... CHUNK_MAX; at a heartbeat splits what is left. */
static int run_range(struct range *r) {
    int64_t chunk = 1;
    while (r->lo < r->hi) {
        if (r->hi - r->lo >= 2 && beat_up()) {
            int64_t mid = r->lo + (r->hi - r->lo) / 2;
            struct range left = {r->lo, mid, r->body, r->arg}, right = {mid, r->hi, r->body, r->arg};
            return ax_join(for_range, &left, for_range, &right);
        }
        int64_t n = r->hi - r->lo < chunk ? r->hi - r->lo : chunk;
        int rc = r->body(r->lo, r->lo + n, r->arg);
        if (rc) return rc;
        r->lo += n;
        if (chunk < CHUNK_MAX) chunk *= 2;
    }
    return 0;
}

static int for_range(void *p) { return run_range(p); }

static int nothing(void *p) {
    (void)p;
    return 0;
}

int ax_parallel_for(int64_t lo, int64_t hi, ax_par_range_fn body, void *arg) {
    if (!body || lo > hi) return AX_EINVAL;
    int rc = loop_can_start();
    if (rc) return rc;
    struct range r = {lo, hi, body, arg};
    /* Inside a join, so that a loop called straight from a handler is a root: the heartbeat
     * runs while it does. */
    return ax_join(for_range, &r, nothing, NULL);
}

/* ---- reduce -------------------------------------------------------------------------------- */

struct fold {
    int64_t lo, hi;
    const ax_reduce *r;
    void *acc; /* acc_size bytes */
};

static int fold_range(void *p);

static int run_fold(struct fold *f) {
    const ax_reduce *r = f->r;
    int64_t chunk = 1;
    while (f->lo < f->hi) {
        if (f->hi - f->lo >= 2 && beat_up()) {
            int64_t mid = f->lo + (f->hi - f->lo) / 2;
            _Alignas(16) unsigned char other[AX_REDUCE_ACC_MAX];
            r->init(other, r->arg);
            struct fold left = {f->lo, mid, r, f->acc}, right = {mid, f->hi, r, other};
            int rc = ax_join(fold_range, &left, fold_range, &right);
            if (rc == 0) r->combine(f->acc, other, r->arg);
            return rc;
        }
        int64_t n = f->hi - f->lo < chunk ? f->hi - f->lo : chunk;
        int rc = r->body(f->lo, f->lo + n, f->acc, r->arg);
        if (rc) return rc;
        f->lo += n;
        if (chunk < CHUNK_MAX) chunk *= 2;
    }
    return 0;
}

static int fold_range(void *p) { return run_fold(p); }

int ax_parallel_reduce(int64_t lo, int64_t hi, const ax_reduce *r, void *acc) {
    if (!r || !acc || !r->init || !r->body || !r->combine || lo > hi || r->acc_size == 0 ||
        r->acc_size > AX_REDUCE_ACC_MAX)
        return AX_EINVAL;
    int rc = loop_can_start();
    if (rc) return rc;
    r->init(acc, r->arg);
    struct fold f = {lo, hi, r, acc};
    return ax_join(fold_range, &f, nothing, NULL);
}

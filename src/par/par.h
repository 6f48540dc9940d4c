/* SPDX-License-Identifier: MIT */
/* par.h: the fork-join layer's per-runtime part: the heartbeat thread that sets every worker's
 * beat flag while some fork-join root runs, and the count of running roots it watches. */
#ifndef AX_PAR_PAR_H
#define AX_PAR_PAR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actor/runtime.h"

struct par {
    ax_runtime *rt;
    int64_t interval_ns;          /* between heartbeats (100 us) */
    bool always;                  /* tests: every join promotes (AX_TEST_HEARTBEAT_ALWAYS) */
    _Atomic int started;          /* 0 no thread yet, 1 starting or running, -1 could not start */
    pthread_t tid;
    AX_ALIGNED_LINE _Atomic uint32_t roots; /* roots running on the workers */
    _Atomic uint32_t asleep;      /* the thread waits on roots (a futex) */
    _Atomic int stop;
};

/* Runtime creation and destruction (the workers stopped: no root runs). */
int par_create(ax_runtime *rt);
void par_destroy(ax_runtime *rt);
/* A worker's join state before it starts: no frame but the base, its beat up (join.c). */
void join_state_init(ax_join_state_ *js);

/* A root starts or ends on a worker (a top-level join, a root of ax_par_run): the heartbeat
 * runs while any does. The first start launches the thread. */
void par_root_enter(struct par *p);
void par_root_leave(struct par *p);

#endif

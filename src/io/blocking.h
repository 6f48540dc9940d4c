/* SPDX-License-Identifier: MIT */
/* blocking.h: the runtime's blocking-work pool (ax_run_blocking): a few threads started on
 * demand, a bounded queue, results delivered as messages. Workers never block on it. */
#ifndef AX_IO_BLOCKING_H
#define AX_IO_BLOCKING_H

#include <stdbool.h>
#include <stdint.h>

#include "actor/runtime.h"

/* At runtime creation: the pool's shape (threads and queue slots, defaults when 0); no thread
 * starts until the first job. Errors: AX_ENOMEM. */
int blocking_create(ax_runtime *rt, int threads, int queue);
/* Shutdown, once every actor has stopped: jobs not started are dropped; running ones finish
 * (their results become dead letters) and the threads are joined by deadline_ns (monotonic;
 * INT64_MAX: no limit). Returns 0, or AX_ETIMEDOUT with a job still running (call again). */
int blocking_stop(ax_runtime *rt, int64_t deadline_ns);
/* True on a thread of rt's blocking pool (where shutting rt down would join itself). */
bool blocking_on_pool_thread(const ax_runtime *rt);
void blocking_destroy(ax_runtime *rt);
/* The runtime's own jobs (a connect's name resolution): fn(arg) runs on a pool thread, then
 * done(rt, arg, result) on the same thread instead of a message. A job dropped at shutdown runs
 * neither. Any thread. Errors: as ax_run_blocking's, AX_EINVAL aside. */
typedef void (*blocking_done_fn)(ax_runtime *rt, void *arg, int64_t result);
int blocking_run_internal(ax_runtime *rt, ax_blocking_fn fn, blocking_done_fn done, void *arg);
/* Jobs queued and not started. Any thread. */
uint64_t blocking_queued(ax_runtime *rt);

#endif

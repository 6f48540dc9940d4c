/* SPDX-License-Identifier: MIT */
/* timer.h: timer records, the runtime's side of ax_send_after/ax_send_interval and of ask
 * timeouts: 64-byte records in a slots table (handles stay checkable forever), armed on the
 * scheduler's timing wheels and fired there. */
#ifndef AX_TIME_TIMER_H
#define AX_TIME_TIMER_H

#include "actor/actor.h"

enum { TIMER_SEND = 0, TIMER_ASK = 1 };

/* Creates the record table and hooks timer firing into the scheduler. */
int timer_init(ax_runtime *rt);
void timer_destroy(ax_runtime *rt);

/* Arms an ask timeout: after delay_ms the asker gets a timeout notice for corr (unless the
 * timer is cancelled first). Returns the handle, or 0 when out of memory. */
ax_timer timer_arm_ask(ax_runtime *rt, struct sched_thread *thr, ax_ref asker, uint32_t corr,
                       int64_t delay_ms);
/* ax_send_after / ax_send_interval (period_ms > 0) without the check on reserved types, for
 * the runtime's own messages. */
int timer_send_later(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                     int64_t delay_ms, int64_t period_ms, ax_timer *out);
/* Cancels; 0 or AX_ENOENT (see ax_timer_cancel). */
int timer_cancel(ax_runtime *rt, ax_timer t);

#endif

/* SPDX-License-Identifier: MIT */
/* timer.h: timer records, the runtime's side of ax_send_after/ax_send_interval and of ask
 * timeouts: 64-byte records in a slots table (handles stay checkable forever), armed on the
 * scheduler's timing wheels and fired there. */
#ifndef AX_TIME_TIMER_H
#define AX_TIME_TIMER_H

#include "actor/runtime.h"

enum { TIMER_SEND = 0, TIMER_ASK = 1 };

/* Creates the record table and installs the hooks: timer firing in the scheduler, ask timeouts
 * in the runtime. */
int timer_init(ax_runtime *rt);
void timer_destroy(ax_runtime *rt);

/* ax_send_after / ax_send_interval (period_ms > 0) without the check on reserved types, for
 * the runtime's own messages. */
int timer_send_later(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                     int64_t delay_ms, int64_t period_ms, ax_timer *out);

#endif

/* SPDX-License-Identifier: MIT */
/* ask.h: ask bookkeeping (ask.c) as the actor run loop, dead letters and the runtime use it.
 * Not installed. */
#ifndef AX_ACTOR_ASK_H
#define AX_ACTOR_ASK_H

#include "actor/actor.h"

/* A reply or timeout notice m: runs its continuation (see ask.c). */
int ask_dispatch(ax_ctx *ctx, struct msg *m, bool *handled);
void ask_discard_all(ax_runtime *rt, struct sched_thread *thr, struct actor *a);
/* The sink hands a copy of reply m to its waiting thread (or notes m as a dead letter). */
void ask_wait_deliver(ax_ctx *ctx, struct msg *m);
/* A request from ax_ask_wait became a dead letter (its target stopped with it queued, or a full
 * mailbox dead-lettered it): its waiting thread returns AX_ENOACTOR or AX_EFULL now. Other
 * messages are ignored. */
void ask_wait_refused(ax_runtime *rt, const struct msg *m, int reason);
/* Creates the waiter list and spawns the sink (at runtime creation). */
int ask_waiters_create(ax_runtime *rt);
void ask_waiters_destroy(ax_runtime *rt);
/* Shutdown: every thread blocked in ax_ask_wait returns AX_ESHUTDOWN now. */
void ask_waiters_cancel_all(ax_runtime *rt);

/* ax_ask_wait without the check on reserved types (for the runtime's own requests). */
int ask_wait_any(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                 int64_t timeout_ms, ax_msg **reply);

#endif

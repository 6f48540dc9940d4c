/* SPDX-License-Identifier: MIT */
/* signals.h: links, exits and monitors (signals.c) as the actor run loop uses them. Not installed. */
#ifndef AX_ACTOR_SIGNALS_H
#define AX_ACTOR_SIGNALS_H

#include "actor/actor.h"

/* Runs the actor's pending signals (consumer only); returns non-zero if a trapped exit's
 * receive failed. May set the actor's stop request (an exit signal it does not trap). */
int signals_process(ax_ctx *ctx, struct actor *a);
/* The actor stops with reason: tell links and watchers, answer queued signals. */
void signals_on_stop(ax_runtime *rt, struct sched_thread *thr, struct actor *a, int reason);
/* After the grace period (thr may be NULL at destroy): answer and free late signals. */
void signals_drain(ax_runtime *rt, struct sched_thread *thr, struct actor *a);
/* A DOWN notice reached its watcher: true if the monitor was still held (it is dropped now). */
bool signals_take_monitor(ax_ctx *ctx, const struct msg *m);

#endif

/* SPDX-License-Identifier: MIT */
/* signals.h: links, exits and monitors (signals.c) as the actor run loop uses them. Not installed. */
#ifndef AX_ACTOR_SIGNALS_H
#define AX_ACTOR_SIGNALS_H

#include "actor/actor.h"

/* The kinds travel between nodes as they are (axon_transport.h). */
enum sig_kind {
    SIG_LINK = AX_WIRE_LINK,
    SIG_UNLINK = AX_WIRE_UNLINK,
    SIG_EXIT = AX_WIRE_EXIT,
    SIG_MONITOR = AX_WIRE_MONITOR,
    SIG_DEMONITOR = AX_WIRE_DEMONITOR
};

/* Sends a signal (enum sig_kind) to `to`, here or, through the transport, on another node.
 * AX_ENOACTOR if it is not alive (or its node is not up); AX_ENOMEM. Never blocks. */
int signal_send(ax_runtime *rt, struct sched_thread *thr, ax_ref to, uint32_t kind, ax_ref from,
                uint64_t id, int reason);
/* Sends watcher the DOWN of its monitor id on target (here or on another node). AX_ENOACTOR if
 * the watcher is not alive; AX_ENOMEM. */
int signal_send_down(ax_runtime *rt, struct sched_thread *thr, ax_ref watcher, ax_ref target,
                     uint64_t id, int reason);
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

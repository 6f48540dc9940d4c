/* SPDX-License-Identifier: MIT */
/* deadletter.c: where undeliverable accepted messages go: counted per thread, and, if the
 * program set a dead-letter actor, forwarded to it as an AX_MSG_DEAD_LETTER notice. Notices
 * are runtime messages: not counted as sent or processed, never refused for capacity. */
#include <string.h>

#include "actor/ask.h"
#include "actor/deliver.h"

void deadletter_note(ax_runtime *rt, struct sched_thread *thr, ax_ref target,
                     const struct msg *m, int reason) {
    if (thr) stats_add(&thr->stats, STAT_DEAD_LETTERS, 1);
    else atomic_fetch_add_explicit(&rt->dead_letters, 1, memory_order_relaxed); /* destroy */
    ask_wait_refused(rt, m, reason);
    ax_ref dl = atomic_load_explicit(&rt->dead_letter_actor, memory_order_acquire);
    /* No notice about a notice, and none to a receiver that is itself the sink. */
    if (thr && !ax_ref_is_none(dl) && !ax_ref_eq(dl, target) && m->pub.type != AX_MSG_DEAD_LETTER) {
        struct msg *n = msg_new(thr, sizeof(ax_dead_letter) + m->pub.size);
        if (n) {
            ax_dead_letter d = {target, m->pub.sender, m->pub.type, m->pub.size, reason, 0};
            memcpy(n->pub.data, &d, sizeof d);
            memcpy(n->pub.data + sizeof d, m->pub.data, m->pub.size);
            n->pub.sender = AX_REF_NONE;
            n->pub.type = AX_MSG_DEAD_LETTER;
            n->pub.size = (uint32_t)(sizeof d + m->pub.size);
            n->flags = MSG_NOTICE;
            if (actor_deliver(rt, thr, dl, n, true) != 0) msg_release(rt, thr, n);
        }
    }
}

void deadletter_post(ax_runtime *rt, struct sched_thread *thr, ax_ref target, struct msg *m,
                     int reason) {
    deadletter_note(rt, thr, target, m, reason);
    msg_release(rt, thr, m);
}

int ax_set_dead_letter_actor(ax_runtime *rt, ax_ref ref) {
    if (!rt) return AX_EINVAL;
    if (!ax_ref_is_none(ref)) {
        bool outside;
        struct sched_thread *thr = rt_enter(rt, &outside);
        if (!thr) return AX_ENOMEM;
        bool alive = actor_lookup(rt, ref) != NULL;
        rt_leave(thr, outside);
        if (!alive) return AX_ENOACTOR;
    }
    /* release: pairs with the acquire load in deadletter_note. */
    atomic_store_explicit(&rt->dead_letter_actor, ref, memory_order_release);
    return 0;
}

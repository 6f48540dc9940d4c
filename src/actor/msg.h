/* SPDX-License-Identifier: MIT */
/* msg.h: a message as the runtime holds it (a 16-byte header before the public ax_msg) and its
 * allocation from the calling thread's pool. Not installed. */
#ifndef AX_ACTOR_MSG_H
#define AX_ACTOR_MSG_H

#include <stddef.h>

#include "axon.h"
#include "core/mpsc.h"
#include "sched/sched.h"

enum msg_flags {
    MSG_REPLY = 1,       /* answers an ax_ask: corr names the pending ask */
    MSG_SYS_TIMEOUT = 4, /* an ask's deadline passed: corr names it */
    MSG_SYS = MSG_SYS_TIMEOUT,
    MSG_NOTICE = 8,      /* a runtime notice (dead letter, DOWN): to receive, counted in no stat */
    MSG_DOWN = 16        /* with MSG_NOTICE: an AX_MSG_DOWN, dropped if its monitor is gone */
};

#define MSG_OWNER_MALLOC 0xFFFFu /* not from a pool: free() it */

/* The runtime's view of a message: a 16-byte header, then the public ax_msg (sender, type,
 * size), then the payload at byte 32, so 32 bytes of payload fit one cache line. */
struct msg {
    struct mpsc_node node; /* mailbox link; also the free-list link in the pool */
    uint32_t corr;         /* ask correlation id, 0 if none */
    uint16_t owner;        /* thread record whose pool holds it, or MSG_OWNER_MALLOC */
    uint8_t cls;           /* pool class */
    uint8_t flags;
    ax_msg pub;
};

_Static_assert(offsetof(struct msg, pub) == 16, "message header is 16 bytes");
_Static_assert(offsetof(struct msg, pub.data) == 32, "payload starts at byte 32");

static inline struct msg *msg_of(const ax_msg *m) {
    return (struct msg *)((char *)m - offsetof(struct msg, pub));
}

/* Allocates a message able to carry size payload bytes (size <= AX_MSG_MAX + 64), from thr's
 * pool (thr may be NULL: malloc). */
struct msg *msg_new_slow(struct sched_thread *thr, size_t size);
static inline struct msg *msg_new(struct sched_thread *thr, size_t size) {
    unsigned cls = pool_class_of(sizeof(struct msg) + size);
    if (ax_unlikely(!thr || cls == POOL_CLASS_LARGE)) return msg_new_slow(thr, size);
    struct msg *m = pool_alloc(&thr->pool, cls);
    if (ax_unlikely(!m)) return NULL;
    m->owner = thr->id;
    m->cls = (uint8_t)cls;
    m->corr = 0;
    m->flags = 0;
    return m;
}

/* Gives m back to the pool it came from (any thread; thr may be NULL). */
void msg_release_slow(ax_runtime *rt, struct sched_thread *thr, struct msg *m);
static inline void msg_release(ax_runtime *rt, struct sched_thread *thr, struct msg *m) {
    if (ax_likely(thr && m->owner == thr->id)) pool_free_local(&thr->pool, m->cls, m);
    else msg_release_slow(rt, thr, m);
}

#endif

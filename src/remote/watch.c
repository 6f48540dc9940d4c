/* SPDX-License-Identifier: MIT */
/* watch.c: the links and monitors between actors here and actors on one peer, remembered so
 * that when the peer goes down each gets what it would have got had the far actor stopped:
 * an exit, or a DOWN, with AX_REASON_NODEDOWN (Erlang's noconnection). A list per peer: set-up
 * and tear-down are not hot, and a node going down walks it once. */
#include <stdlib.h>

#include "remote/remote.h"

struct watch {
    struct watch *next;
    ax_ref local, remote; /* LINK: the two ends; MONITOR: the watcher here, the target there */
    uint64_t id;          /* MONITOR: the watcher's monitor id */
    int kind;             /* enum watch_kind */
};

static struct watch **find(struct peer *p, int kind, ax_ref local, ax_ref remote, uint64_t id) {
    struct watch **w = &p->watches;
    while (*w && !((*w)->kind == kind && ax_ref_eq((*w)->local, local) &&
                   ax_ref_eq((*w)->remote, remote) && (*w)->id == id))
        w = &(*w)->next;
    return w;
}

void watch_add(struct peer *p, int kind, ax_ref local, ax_ref remote, uint64_t id) {
    pthread_mutex_lock(&p->watch_lock);
    if (!*find(p, kind, local, remote, id)) {
        struct watch *w = malloc(sizeof *w);
        if (w) { /* out of memory: this one will not fire on a node down */
            *w = (struct watch){p->watches, local, remote, id, kind};
            p->watches = w;
        }
    }
    pthread_mutex_unlock(&p->watch_lock);
}

void watch_remove(struct peer *p, int kind, ax_ref local, ax_ref remote, uint64_t id) {
    pthread_mutex_lock(&p->watch_lock);
    struct watch **w = find(p, kind, local, remote, id);
    struct watch *gone = *w;
    if (gone) *w = gone->next;
    pthread_mutex_unlock(&p->watch_lock);
    free(gone);
}

void watch_fire_all(ax_remote *r, struct peer *p) {
    pthread_mutex_lock(&p->watch_lock);
    struct watch *all = p->watches;
    p->watches = NULL;
    pthread_mutex_unlock(&p->watch_lock);
    while (all) {
        struct watch *w = all;
        all = w->next;
        int kind = w->kind == WATCH_LINK ? AX_WIRE_EXIT : AX_WIRE_DOWN;
        ax_transport_signal(r->rt, kind, w->local, w->remote, w->id, AX_REASON_NODEDOWN);
        free(w);
    }
}

void watch_free(struct peer *p) {
    for (struct watch *w = p->watches, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    p->watches = NULL;
}

/* SPDX-License-Identifier: MIT */
/* epoch.c: the slow parts of epoch-based reclamation: publishing records, advancing the global
 * epoch, and collecting limbo lists.
 *
 * Scheme (Fraser's EBR, with workers in QSBR style): an object unlinked while the global epoch
 * was E may still be referenced by a thread that was online in E-1 or E; once every online
 * thread has been seen at E+1 the global epoch can pass E+1, and no thread can still hold a
 * reference obtained before the unlink. So an object retired at E is freed when global >= E+2. */
#include "mem/epoch.h"

void epoch_domain_init(struct epoch_domain *d) {
    atomic_store_explicit(&d->global, 1, memory_order_relaxed);
    for (int i = 0; i < EPOCH_MAX_RECORDS; i++)
        atomic_store_explicit(&d->records[i], NULL, memory_order_relaxed);
    atomic_store_explicit(&d->nrecords, 0, memory_order_relaxed);
}

bool epoch_register(struct epoch_domain *d, struct epoch_record *r) {
    int n = atomic_load_explicit(&d->nrecords, memory_order_relaxed);
    if (n >= EPOCH_MAX_RECORDS) return false;
    atomic_store_explicit(&r->local, 0, memory_order_relaxed);
    atomic_store_explicit(&d->records[n], r, memory_order_relaxed);
    /* release: pairs with the acquire load of nrecords in epoch_try_advance. */
    atomic_store_explicit(&d->nrecords, n + 1, memory_order_release);
    return true;
}

uint64_t epoch_try_advance(struct epoch_domain *d) {
    uint64_t g = atomic_load_explicit(&d->global, memory_order_seq_cst);
    int n = atomic_load_explicit(&d->nrecords, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        struct epoch_record *r = atomic_load_explicit(&d->records[i], memory_order_relaxed);
        /* seq_cst: pairs with the seq_cst store in epoch_enter (and acquire-orders us after
         * the release stores of epoch_quiescent and epoch_leave). */
        uint64_t l = atomic_load_explicit(&r->local, memory_order_seq_cst);
        if (l != 0 && l != g) return g;
    }
    /* seq_cst: the new epoch is ordered after the scan. A loser of this race saw g + 1 set. */
    atomic_compare_exchange_strong_explicit(&d->global, &g, g + 1, memory_order_seq_cst,
                                            memory_order_seq_cst);
    return atomic_load_explicit(&d->global, memory_order_acquire);
}

void epoch_retire(struct epoch_domain *d, struct epoch_limbo *l, struct epoch_node *n) {
    n->epoch = atomic_load_explicit(&d->global, memory_order_seq_cst);
    n->next = NULL;
    if (l->tail) l->tail->next = n;
    else l->head = n;
    l->tail = n;
    l->count++;
}

struct epoch_node *epoch_collect(struct epoch_domain *d, struct epoch_limbo *l) {
    if (!l->head) return NULL;
    uint64_t g = atomic_load_explicit(&d->global, memory_order_acquire);
    if (l->head->epoch + 2 > g) g = epoch_try_advance(d);
    struct epoch_node *first = l->head, *last = NULL, *n = l->head;
    while (n && n->epoch + 2 <= g) {
        last = n;
        n = n->next;
        l->count--;
    }
    if (!last) return NULL;
    l->head = n;
    if (!n) l->tail = NULL;
    last->next = NULL;
    return first;
}

struct epoch_node *epoch_take_all(struct epoch_limbo *l) {
    struct epoch_node *all = l->head;
    l->head = l->tail = NULL;
    l->count = 0;
    return all;
}

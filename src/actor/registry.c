/* SPDX-License-Identifier: MIT */
/* registry.c: names for actors (Erlang's register/whereis). A mutex-protected hash table with
 * a second index by ref, so that a stopping actor releases its name in O(1). Not a hot path:
 * programs look a name up once and keep the ref. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "actor/deliver.h"
#include "actor/registry.h"
#include "mem/fault.h"

struct reg_entry {
    struct reg_entry *next_by_name, *next_by_ref;
    ax_ref ref;
    uint64_t hash;
    char name[AX_NAME_MAX + 1];
};

struct registry {
    pthread_mutex_t lock;
    struct reg_entry **by_name, **by_ref;
    size_t buckets, count; /* buckets: a power of two */
};

static uint64_t hash_name(const char *s) { /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static uint64_t hash_ref(ax_ref ref) {
    uint64_t r = ref.id;
    r ^= r >> 33;
    r *= 0xff51afd7ed558ccdull;
    return r ^ (r >> 33);
}

int registry_create(struct registry **out) {
    struct registry *r = mem_calloc(1, sizeof *r);
    if (!r) return AX_ENOMEM;
    r->buckets = 64;
    r->by_name = mem_calloc(r->buckets, sizeof *r->by_name);
    r->by_ref = mem_calloc(r->buckets, sizeof *r->by_ref);
    if (!r->by_name || !r->by_ref) {
        free(r->by_name);
        free(r->by_ref);
        free(r);
        return AX_ENOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

void registry_destroy(struct registry *r) {
    if (!r) return;
    for (size_t i = 0; i < r->buckets; i++) {
        struct reg_entry *e = r->by_name[i];
        while (e) {
            struct reg_entry *next = e->next_by_name;
            free(e);
            e = next;
        }
    }
    free(r->by_name);
    free(r->by_ref);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void grow(struct registry *r) {
    size_t n = r->buckets * 2;
    struct reg_entry **bn = mem_calloc(n, sizeof *bn), **br = mem_calloc(n, sizeof *br);
    if (!bn || !br) { /* stay at the current size: only slower */
        free(bn);
        free(br);
        return;
    }
    for (size_t i = 0; i < r->buckets; i++) {
        for (struct reg_entry *e = r->by_name[i], *next; e; e = next) {
            next = e->next_by_name;
            e->next_by_name = bn[e->hash & (n - 1)];
            bn[e->hash & (n - 1)] = e;
            e->next_by_ref = br[hash_ref(e->ref) & (n - 1)];
            br[hash_ref(e->ref) & (n - 1)] = e;
        }
    }
    free(r->by_name);
    free(r->by_ref);
    r->by_name = bn;
    r->by_ref = br;
    r->buckets = n;
}

static struct reg_entry **find_name(struct registry *r, const char *name, uint64_t h) {
    struct reg_entry **p = &r->by_name[h & (r->buckets - 1)];
    while (*p && ((*p)->hash != h || strcmp((*p)->name, name) != 0)) p = &(*p)->next_by_name;
    return p;
}

static struct reg_entry **find_ref(struct registry *r, ax_ref ref) {
    struct reg_entry **p = &r->by_ref[hash_ref(ref) & (r->buckets - 1)];
    while (*p && !ax_ref_eq((*p)->ref, ref)) p = &(*p)->next_by_ref;
    return p;
}

/* Unlinks e from both indexes and frees it. Lock held. */
static void remove_entry(struct registry *r, struct reg_entry *e) {
    struct reg_entry **pn = find_name(r, e->name, e->hash), **pr = find_ref(r, e->ref);
    *pn = e->next_by_name;
    *pr = e->next_by_ref;
    r->count--;
    free(e);
}

static int check_name(const char *name) {
    if (!name) return AX_EINVAL;
    size_t len = strnlen(name, AX_NAME_MAX + 1);
    return (len == 0 || len > AX_NAME_MAX) ? AX_ENAMETOOLONG : 0;
}

/* 0 if ref is alive, else AX_ENOACTOR (or AX_ENOMEM: no thread record to look with). */
static int check_alive(ax_runtime *rt, ax_ref ref) {
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    bool yes = actor_lookup(rt, ref) != NULL;
    rt_leave(thr, outside);
    return yes ? 0 : AX_ENOACTOR;
}

int ax_register(ax_runtime *rt, const char *name, ax_ref ref) {
    if (!rt) return AX_EINVAL;
    int rc = check_name(name);
    if (rc) return rc;
    struct registry *r = rt->registry;
    uint64_t h = hash_name(name);
    pthread_mutex_lock(&r->lock);
    rc = check_alive(rt, ref);
    if (rc == 0 && (*find_name(r, name, h) || *find_ref(r, ref))) rc = AX_EEXIST;
    if (rc == 0) {
        struct reg_entry *e = mem_calloc(1, sizeof *e);
        if (!e) {
            rc = AX_ENOMEM;
        } else {
            if (r->count >= r->buckets) grow(r);
            e->ref = ref;
            e->hash = h;
            strcpy(e->name, name);
            struct reg_entry **pn = &r->by_name[h & (r->buckets - 1)];
            struct reg_entry **pr = &r->by_ref[hash_ref(ref) & (r->buckets - 1)];
            e->next_by_name = *pn;
            *pn = e;
            e->next_by_ref = *pr;
            *pr = e;
            r->count++;
        }
    }
    pthread_mutex_unlock(&r->lock);
    if (rc == 0) {
        /* Dekker pair with actor_stop: it clears the ref (seq_cst) then reads named; we set
         * named (seq_cst) then look again. One of us sees the other, so no name outlives its
         * actor. The actor memory is safe to touch: we are inside rt_enter. */
        bool outside;
        struct sched_thread *thr = rt_enter(rt, &outside);
        struct actor *a = thr ? actor_lookup(rt, ref) : NULL;
        if (a) atomic_store_explicit(&a->named, 1, memory_order_seq_cst);
        bool still = a && actor_lookup(rt, ref) != NULL;
        if (thr) rt_leave(thr, outside);
        if (!still) {
            registry_release_ref(rt, ref);
            rc = AX_ENOACTOR;
        }
    }
    return rc;
}

int ax_whereis(ax_runtime *rt, const char *name, ax_ref *out) {
    if (!rt || !out) return AX_EINVAL;
    int rc = check_name(name);
    if (rc) return rc;
    struct registry *r = rt->registry;
    pthread_mutex_lock(&r->lock);
    struct reg_entry *e = *find_name(r, name, hash_name(name));
    if (e) *out = e->ref;
    pthread_mutex_unlock(&r->lock);
    return e ? 0 : AX_ENOENT;
}

int ax_unregister(ax_runtime *rt, const char *name) {
    if (!rt) return AX_EINVAL;
    int rc = check_name(name);
    if (rc) return rc;
    struct registry *r = rt->registry;
    pthread_mutex_lock(&r->lock);
    struct reg_entry *e = *find_name(r, name, hash_name(name));
    if (e) remove_entry(r, e);
    pthread_mutex_unlock(&r->lock);
    return e ? 0 : AX_ENOENT;
}

void registry_release_ref(ax_runtime *rt, ax_ref ref) {
    struct registry *r = rt->registry;
    pthread_mutex_lock(&r->lock);
    struct reg_entry *e = *find_ref(r, ref);
    if (e) remove_entry(r, e);
    pthread_mutex_unlock(&r->lock);
}

bool registry_name_of(ax_runtime *rt, ax_ref ref, char out[AX_NAME_MAX + 1]) {
    struct registry *r = rt->registry;
    pthread_mutex_lock(&r->lock);
    struct reg_entry *e = *find_ref(r, ref);
    if (e) memcpy(out, e->name, sizeof e->name);
    pthread_mutex_unlock(&r->lock);
    return e != NULL;
}

/* SPDX-License-Identifier: MIT */
/* outside.c: threads outside the runtime (main, foreign threads) that send or spawn. Each gets
 * a thread record (a message pool, stats, an epoch record) on first use, cached in TLS, and
 * gives it back when the thread exits or the cache evicts it, so that neither thread churn nor
 * one thread using many runtimes exhausts the table. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mem/fault.h"
#include "sched/sched.h"

/* Schedulers alive in this process, so that a thread-exit destructor never touches a record of
 * a destroyed runtime. Only thread exit, cache misses and runtime create/destroy take
 * this lock. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct live { struct sched *s; uint64_t uid; struct live *next; } *live_list;

enum { TLS_SLOTS = 4 };
struct tls_entry {
    struct sched *s;
    uint64_t uid;
    struct sched_thread *t;
};
struct tls_cache {
    struct tls_entry e[TLS_SLOTS];
};
static _Thread_local struct tls_cache tls_cache;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static bool sched_alive_locked(struct sched *s, uint64_t uid) {
    for (struct live *l = live_list; l; l = l->next)
        if (l->s == s && l->uid == uid) return true;
    return false;
}

/* Gives record t back to its runtime, for another thread to claim. */
static void give_back(struct sched_thread *t) {
    /* release: our use of the record happens before the next claimer's (its acquire CAS). */
    atomic_store_explicit(&t->claimed, 0, memory_order_release);
}

/* Thread exit: release this thread's records in runtimes that still exist. */
static void on_thread_exit(void *arg) {
    struct tls_cache *c = arg;
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < TLS_SLOTS; i++) {
        if (c->e[i].t && sched_alive_locked(c->e[i].s, c->e[i].uid)) give_back(c->e[i].t);
        c->e[i].t = NULL;
    }
    pthread_mutex_unlock(&live_lock);
}

static void make_exit_key(void) { pthread_key_create(&exit_key, on_thread_exit); }

static struct sched_thread *claim_record(struct sched *s) {
    int n = atomic_load_explicit(&s->nthreads, memory_order_acquire);
    for (int i = s->nworkers; i < n; i++) {
        struct sched_thread *t = atomic_load_explicit(&s->threads[i], memory_order_acquire);
        int zero = 0;
        /* acquire: pairs with the release in give_back (the previous owner is done). */
        if (atomic_load_explicit(&t->claimed, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&t->claimed, &zero, 1, memory_order_acquire,
                                                    memory_order_relaxed))
            return t;
    }
    pthread_mutex_lock(&s->register_lock);
    struct sched_thread *t = mem_aligned_alloc(AX_CACHE_LINE, sizeof *t);
    if (t) {
        memset(t, 0, sizeof *t);
        pool_init(&t->pool);
        t->s = s;
        atomic_store_explicit(&t->claimed, 1, memory_order_relaxed);
        if (sched_register_thread(s, t) != 0) {
            free(t);
            t = NULL;
        }
    }
    pthread_mutex_unlock(&s->register_lock);
    return t;
}

/* Makes room in the cache: forgets entries of runtimes destroyed meanwhile, then returns a
 * free slot, or gives back the record of the least recently used entry that is not inside a
 * call (so a thread cycling through more runtimes than it has slots never runs the tables
 * out). -1 if every entry is inside a call (runtimes nested through init hooks). */
static int make_room(struct tls_cache *c) {
    int victim = -1;
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < TLS_SLOTS; i++)
        if (c->e[i].t && !sched_alive_locked(c->e[i].s, c->e[i].uid)) c->e[i].t = NULL;
    for (int i = TLS_SLOTS - 1; i >= 0 && victim < 0; i--)
        if (!c->e[i].t) victim = i;
    for (int i = TLS_SLOTS - 1; i >= 0 && victim < 0; i--) {
        if (c->e[i].t->nest == 0) { /* alive (checked above): its record is not freed */
            give_back(c->e[i].t);
            c->e[i].t = NULL;
            victim = i;
        }
    }
    pthread_mutex_unlock(&live_lock);
    return victim;
}

/* Finds or claims this thread's record for s and moves it to cache slot 0 (the fast path). */
static struct sched_thread *lookup_slow(struct sched *s) {
    struct tls_cache *c = &tls_cache;
    for (int i = 0; i < TLS_SLOTS; i++) {
        if (c->e[i].t && c->e[i].s == s && c->e[i].uid == s->uid) {
            struct tls_entry hit = c->e[i];
            c->e[i] = c->e[0];
            c->e[0] = hit;
            return hit.t;
        }
    }
    struct sched_thread *t = claim_record(s);
    if (!t) return NULL;
    pthread_once(&exit_key_once, make_exit_key);
    pthread_setspecific(exit_key, c);
    int slot = make_room(c);
    if (slot < 0) {
        t->release_on_leave = true;
        return t;
    }
    c->e[slot] = c->e[0];
    c->e[0] = (struct tls_entry){s, s->uid, t};
    return t;
}

struct sched_thread *sched_outside_enter(struct sched *s) {
    struct tls_entry *e = &tls_cache.e[0];
    struct sched_thread *t = (e->s == s && e->uid == s->uid && e->t) ? e->t : lookup_slow(s);
    if (!t) return NULL;
    if (t->nest++ == 0) epoch_enter(&s->epoch, &t->epoch);
    return t;
}

void sched_outside_leave(struct sched_thread *t) {
    if (--t->nest != 0) return;
    epoch_leave(&t->epoch);
    if (ax_unlikely(t->release_on_leave)) {
        t->release_on_leave = false;
        give_back(t);
    }
}

void sched_outside_publish(struct sched *s) {
    struct live *l = mem_malloc(sizeof *l);
    pthread_mutex_lock(&live_lock);
    if (l) {
        l->s = s;
        l->uid = s->uid;
        l->next = live_list;
        live_list = l;
    }
    pthread_mutex_unlock(&live_lock);
}

void sched_outside_forget(struct sched *s) {
    pthread_mutex_lock(&live_lock);
    for (struct live **p = &live_list; *p; p = &(*p)->next) {
        if ((*p)->s == s && (*p)->uid == s->uid) {
            struct live *dead = *p;
            *p = dead->next;
            free(dead);
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
    /* The calling thread's cache must not keep pointing at records about to be freed. */
    for (int i = 0; i < TLS_SLOTS; i++)
        if (tls_cache.e[i].s == s) tls_cache.e[i].t = NULL;
}

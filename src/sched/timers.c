/* timers.c: deadline tasks (ask timeouts for now): one binary min-heap per runtime under a
 * mutex, with the earliest deadline mirrored in an atomic so that workers check it for free.
 * The timing wheel of a later issue replaces this; the interface stays. */
#include <errno.h>
#include <stdlib.h>

#include "sched/sched.h"

void sched_timers_init(struct sched *s) {
    atomic_store_explicit(&s->timer_next, INT64_MAX, memory_order_relaxed);
    pthread_mutex_init(&s->timer_lock, NULL);
}

static void heap_swap(struct sched_timer **h, size_t a, size_t b) {
    struct sched_timer *x = h[a];
    h[a] = h[b];
    h[b] = x;
}

static struct sched_timer *heap_pop(struct sched *s) {
    struct sched_timer **h = s->timers, *top = h[0];
    h[0] = h[--s->ntimers];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->ntimers && h[l]->deadline_ns < h[m]->deadline_ns) m = l;
        if (r < s->ntimers && h[r]->deadline_ns < h[m]->deadline_ns) m = r;
        if (m == i) break;
        heap_swap(h, i, m);
        i = m;
    }
    return top;
}

static void publish_next(struct sched *s) {
    /* release: pairs with the acquire load in sched_timers_next. */
    atomic_store_explicit(&s->timer_next, s->ntimers ? s->timers[0]->deadline_ns : INT64_MAX,
                          memory_order_release);
}

int sched_timer_add(struct sched *s, struct sched_timer *timer) {
    pthread_mutex_lock(&s->timer_lock);
    if (s->ntimers == s->timers_cap) {
        size_t cap = s->timers_cap ? s->timers_cap * 2 : 64;
        struct sched_timer **h = realloc(s->timers, cap * sizeof *h);
        if (!h) {
            pthread_mutex_unlock(&s->timer_lock);
            return -ENOMEM;
        }
        s->timers = h;
        s->timers_cap = cap;
    }
    size_t i = s->ntimers++;
    s->timers[i] = timer;
    while (i > 0 && s->timers[(i - 1) / 2]->deadline_ns > s->timers[i]->deadline_ns) {
        heap_swap(s->timers, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    bool earliest = (i == 0);
    publish_next(s);
    pthread_mutex_unlock(&s->timer_lock);
    /* A parked worker sleeps until the old earliest deadline: wake one to re-arm. */
    if (earliest) sched_notify(s);
    return 0;
}

void sched_timers_run_due(struct sched *s, struct sched_thread *self) {
    for (;;) {
        int64_t now = core_now_ns();
        if (sched_timers_next(s) > now) return;
        struct sched_timer *t = NULL;
        pthread_mutex_lock(&s->timer_lock);
        if (s->ntimers > 0 && s->timers[0]->deadline_ns <= now) t = heap_pop(s);
        publish_next(s);
        pthread_mutex_unlock(&s->timer_lock);
        if (!t) return;
        t->task.run(&t->task, self);
    }
}

void sched_timers_destroy(struct sched *s) {
    while (s->ntimers > 0) {
        struct sched_timer *t = heap_pop(s);
        t->task.run(&t->task, NULL);
    }
    free(s->timers);
    s->timers = NULL;
    pthread_mutex_destroy(&s->timer_lock);
}

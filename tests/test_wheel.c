/* SPDX-License-Identifier: MIT */
/* test_wheel.c: unit tests of the timing wheel (src/time/wheel.c) on simulated ticks: a
 * randomized comparison with a reference model (a heap sorted by deadline, then insertion order),
 * a million timers, idle gaps, interval re-arming and the edges. No timing assertions. */
#include "sched/wheel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runner.h"

#define CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static uint64_t add_sat(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ------------------------------------------------------------------------------------------ */
/* The model-based randomized test.                                                             */

struct rec {
    struct wheel_entry e;
    uint64_t seq;   /* global insertion order */
    int armed;      /* inserted and not yet fired */
};

/* The reference model: entries with deadline > now in a binary min-heap on (deadline, seq);
 * overdue entries (deadline <= now when inserted) in a FIFO that the next advance call fires
 * first, in insertion order. now follows the rule of wheel.h: inside fn it is the tick being
 * expired (the call's starting tick for overdue entries). */
struct model {
    struct wheel w;
    struct rec *recs;
    size_t nrecs;
    struct rec **heap;
    size_t nheap;
    struct rec **pending, **current; /* overdue for the next call / being fired in this call */
    size_t npending, ncurrent, current_pos;
    size_t *free_ids;                /* recs not armed */
    size_t nfree;
    uint64_t now, target, seq;
    size_t armed;
    size_t calls_fired;              /* fn calls in the current advance */
    int reinsert;                    /* fn may insert */
    uint64_t rng;
    uint64_t recent[8];              /* deadlines to repeat, for equal-deadline FIFO */
    uint64_t fired_total, overdue_total, far_total, reinserts;
};

static int rec_before(const struct rec *a, const struct rec *b) {
    if (a->e.deadline != b->e.deadline) return a->e.deadline < b->e.deadline;
    return a->seq < b->seq;
}

static void heap_push(struct model *m, struct rec *r) {
    size_t i = m->nheap++;
    m->heap[i] = r;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!rec_before(m->heap[i], m->heap[p])) break;
        struct rec *t = m->heap[i];
        m->heap[i] = m->heap[p];
        m->heap[p] = t;
        i = p;
    }
}

static struct rec *heap_pop(struct model *m) {
    struct rec *top = m->heap[0];
    m->heap[0] = m->heap[--m->nheap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->nheap && rec_before(m->heap[l], m->heap[s])) s = l;
        if (r < m->nheap && rec_before(m->heap[r], m->heap[s])) s = r;
        if (s == i) break;
        struct rec *t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
    return top;
}

/* A deadline relative to the model's now that exercises every level and the edges. */
static uint64_t random_deadline(struct model *m) {
    uint64_t n = m->now, x = check_rand(&m->rng);
    uint64_t r = check_rand(&m->rng);
    uint64_t d;
    switch (x % 20) {
    case 0: d = 0; break;
    case 1: d = n; break;
    case 2: d = n - (n ? r % (n < 5000 ? n : 5000) : 0); break;           /* overdue */
    case 3:
    case 4: d = add_sat(n, 1 + r % 64); break;                              /* level 0/1 */
    case 5:
    case 6:
    case 7:
    case 8: {                                                               /* any level */
        unsigned level = (unsigned)(x >> 8) % WHEEL_LEVELS;
        d = add_sat(n, 1 + r % (UINT64_C(1) << (6 * level + 6)));
        break;
    }
    case 9: d = add_sat(n, (UINT64_C(1) << 36) + r % (UINT64_C(1) << 40)); break; /* beyond */
    case 10: {                                                              /* block edges */
        unsigned bits = 6 * (1 + (unsigned)(x >> 8) % 7);                   /* 6..42 */
        uint64_t edge = n >> bits;
        d = edge == (UINT64_MAX >> bits) ? UINT64_MAX : (edge + 1) << bits;
        d -= (x >> 16) % 3 == 0 && d > n + 1 ? 1 : 0;
        break;
    }
    case 11: d = (x >> 8) % 50 == 0 ? UINT64_MAX : add_sat(n, 1 + r % 3000); break;
    case 12:
    case 13:
    case 14:
    case 15: d = m->recent[r % 8]; break;                                   /* repeats */
    default: d = add_sat(n, 1 + r % 1000); break;
    }
    if (x % 7 == 0) m->recent[(x >> 24) % 8] = d;
    return d;
}

static void model_insert(struct model *m, struct rec *r, uint64_t deadline) {
    CHECK(!r->armed);
    r->e.deadline = deadline;
    r->seq = ++m->seq;
    r->armed = 1;
    m->armed++;
    if (deadline <= m->now) {
        m->pending[m->npending++] = r;
        m->overdue_total++;
    } else {
        heap_push(m, r);
        if ((deadline ^ m->now) >> 36) m->far_total++;
    }
    wheel_insert(&m->w, &r->e);
    CHECK_EQ(wheel_count(&m->w), m->armed);
}

static void insert_fresh(struct model *m) {
    if (m->nfree == 0) return;
    size_t k = (size_t)(check_rand(&m->rng) % m->nfree);
    size_t id = m->free_ids[k];
    m->free_ids[k] = m->free_ids[--m->nfree];
    model_insert(m, &m->recs[id], random_deadline(m));
}

static void model_fn(struct wheel_entry *e, void *arg) {
    struct model *m = arg;
    struct rec *r = CONTAINER(e, struct rec, e);
    struct rec *want;
    if (m->current_pos < m->ncurrent) {
        want = m->current[m->current_pos++];          /* overdue: at the call's start tick */
    } else {
        CHECK(m->nheap > 0);
        CHECK(m->heap[0]->e.deadline <= m->target);  /* never early */
        want = heap_pop(m);
        m->now = want->e.deadline;
    }
    CHECK(r == want);                                 /* order: deadline, then FIFO */
    CHECK(r->armed);                                  /* exactly once */
    CHECK_EQ(wheel_now(&m->w), m->now);               /* fires at exactly its tick */
    r->armed = 0;
    m->armed--;
    CHECK_EQ(wheel_count(&m->w), m->armed);
    m->calls_fired++;
    m->fired_total++;

    uint64_t x = check_rand(&m->rng);
    if (m->reinsert && x % 10 < 3) {
        m->reinserts++;
        model_insert(m, r, random_deadline(m));       /* re-arm the entry being fired */
    } else {
        m->free_ids[m->nfree++] = (size_t)(r - m->recs);
    }
    if (m->reinsert && (x >> 8) % 10 == 0) insert_fresh(m);
}

/* (2): never later than the true minimum; exact for an overdue minimum or one in level 0. */
static void check_next_deadline(struct model *m) {
    uint64_t nd = wheel_next_deadline(&m->w);
    uint64_t min_pending = UINT64_MAX;
    for (size_t i = 0; i < m->npending; i++)
        if (m->pending[i]->e.deadline < min_pending) min_pending = m->pending[i]->e.deadline;
    if (m->npending) {
        CHECK_EQ(nd, min_pending);
        return;
    }
    if (m->nheap == 0) {
        CHECK_EQ(nd, UINT64_MAX);
        return;
    }
    uint64_t min = m->heap[0]->e.deadline;
    CHECK(nd <= min);
    CHECK(nd > m->now);                               /* advancing to it makes progress */
    if ((min ^ m->now) < WHEEL_SLOTS) CHECK_EQ(nd, min);
}

static void model_advance(struct model *m, uint64_t target) {
    struct rec **t = m->current;
    m->current = m->pending;
    m->ncurrent = m->npending;
    m->current_pos = 0;
    m->pending = t;
    m->npending = 0;
    m->target = target;
    m->calls_fired = 0;
    size_t n = wheel_advance(&m->w, target, model_fn, m);
    CHECK_EQ(n, m->calls_fired);
    CHECK_EQ(m->current_pos, m->ncurrent);            /* every overdue entry fired */
    if (target > m->now) m->now = target;
    CHECK_EQ(wheel_now(&m->w), m->now);
    CHECK(m->nheap == 0 || m->heap[0]->e.deadline > m->now); /* never late */
    CHECK_EQ(wheel_count(&m->w), m->armed);
}

static uint64_t random_target(struct model *m) {
    uint64_t n = m->now, x = check_rand(&m->rng), r = check_rand(&m->rng);
    switch (x % 20) {
    case 0: return n - (n ? r % 3 : 0);                 /* no move: fires overdue only */
    case 1:
    case 2: {                                           /* exactly the advertised tick */
        uint64_t nd = wheel_next_deadline(&m->w);
        return nd == UINT64_MAX ? add_sat(n, 1) : nd;
    }
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8: return add_sat(n, r % 8);
    case 9:
    case 10:
    case 11:
    case 12: return add_sat(n, r % 200);
    case 13:
    case 14:
    case 15: return add_sat(n, r % 100000);
    case 16:
    case 17: return add_sat(n, r % (UINT64_C(1) << 30));
    case 18: return add_sat(n, r % (UINT64_C(1) << 38));
    default: return add_sat(n, r % (UINT64_C(1) << 42));
    }
}

static void model_run(uint64_t start, uint64_t seed, size_t spread_min) {
    struct model *m = calloc(1, sizeof *m);
    CHECK(m != NULL);
    m->nrecs = 6000;
    m->recs = calloc(m->nrecs, sizeof *m->recs);
    m->heap = calloc(m->nrecs, sizeof *m->heap);
    m->pending = calloc(m->nrecs, sizeof *m->pending);
    m->current = calloc(m->nrecs, sizeof *m->current);
    m->free_ids = calloc(m->nrecs, sizeof *m->free_ids);
    CHECK(m->recs && m->heap && m->pending && m->current && m->free_ids);
    for (size_t i = 0; i < m->nrecs; i++) m->free_ids[m->nfree++] = m->nrecs - 1 - i;
    m->rng = seed;
    m->now = start;
    m->reinsert = 1;
    for (int i = 0; i < 8; i++) m->recent[i] = add_sat(start, (uint64_t)i * 4099);
    wheel_init(&m->w, start);
    if (spread_min) m->w.spread_min = spread_min;
    check_next_deadline(m);

    for (int i = 0; i < 3000; i++) insert_fresh(m);
    check_next_deadline(m);
    for (int round = 0; round < 4000; round++) {
        int k = (int)(check_rand(&m->rng) % 6);
        for (int i = 0; i < k; i++) insert_fresh(m);
        check_next_deadline(m);
        model_advance(m, random_target(m));
        check_next_deadline(m);
    }
    /* Drain: no more inserts; overdue entries fire first, then everything else. */
    m->reinsert = 0;
    model_advance(m, UINT64_MAX);
    model_advance(m, UINT64_MAX);
    CHECK_EQ(m->armed, 0);
    CHECK_EQ(wheel_count(&m->w), 0);
    CHECK_EQ(wheel_next_deadline(&m->w), UINT64_MAX);
    for (size_t i = 0; i < m->nrecs; i++) CHECK(!m->recs[i].armed);
    printf("test_wheel: model start=%" PRIu64 " seed=%" PRIu64 ": fired %" PRIu64
           " (overdue %" PRIu64 ", beyond range %" PRIu64 ", re-armed in fn %" PRIu64
           ", moved down early %" PRIu64 ")\n",
           start, seed, m->fired_total, m->overdue_total, m->far_total, m->reinserts,
           m->w.spread_moves);
    CHECK(m->fired_total > 10000);
    CHECK(m->w.spread_moves > 1000); /* the spreading was exercised */
    CHECK(m->overdue_total > 100 && m->far_total > 100 && m->reinserts > 1000);
    free(m->recs);
    free(m->heap);
    free(m->pending);
    free(m->current);
    free(m->free_ids);
    free(m);
}

/* ------------------------------------------------------------------------------------------ */
/* (3) A million timers.                                                                         */

struct million {
    struct wheel *w;
    struct wheel_entry *base;
    uint64_t last_deadline;
    size_t last_index;
    size_t fired;
};

static void million_fn(struct wheel_entry *e, void *arg) {
    struct million *mm = arg;
    size_t idx = (size_t)(e - mm->base);
    CHECK(e->deadline <= wheel_now(mm->w));
    CHECK(e->deadline == 0 || e->deadline == wheel_now(mm->w));
    /* All inserted at once in index order: (deadline, index) strictly increases. */
    CHECK(e->deadline > mm->last_deadline ||
          (e->deadline == mm->last_deadline && (mm->fired == 0 || idx > mm->last_index)));
    mm->last_deadline = e->deadline;
    mm->last_index = idx;
    mm->fired++;
}

static void test_million(void) {
    enum { N = 1000000 };
    struct wheel *w = malloc(sizeof *w);
    struct wheel_entry *es = malloc(N * sizeof *es);
    CHECK(w && es);
    uint64_t rng = 0x9e3779b97f4a7c15ULL, max = 0;
    wheel_init(w, 0);
    for (size_t i = 0; i < N; i++) {
        uint64_t r = check_rand(&rng);
        es[i].deadline = r % 100 == 0 ? (UINT64_C(1) << 36) + r % 100000 : r % (UINT64_C(1) << 22);
        if (es[i].deadline > max) max = es[i].deadline;
        wheel_insert(w, &es[i]);
    }
    CHECK_EQ(wheel_count(w), N);
    struct million mm = {w, es, 0, 0, 0};
    uint64_t t = 0;
    size_t total = 0;
    while (t < max) {
        uint64_t r = check_rand(&rng);
        t = add_sat(t, 1 + (t < (UINT64_C(1) << 22) ? r % 5000 : r % (UINT64_C(1) << 32)));
        total += wheel_advance(w, t, million_fn, &mm);
        CHECK_EQ(wheel_count(w), N - total);
    }
    CHECK_EQ(total, N);
    CHECK_EQ(mm.fired, N);
    CHECK_EQ(wheel_count(w), 0);
    CHECK_EQ(wheel_next_deadline(w), UINT64_MAX);
    free(es);
    free(w);
}

/* ------------------------------------------------------------------------------------------ */
/* (4) Idle gaps cost O(levels), and (5) interval re-arming.                                     */

struct record {
    struct wheel *w;
    uint64_t ticks[64];
    struct wheel_entry *entries[64];
    size_t n;
};

static void record_fn(struct wheel_entry *e, void *arg) {
    struct record *rc = arg;
    CHECK(rc->n < 64);
    rc->entries[rc->n] = e;
    rc->ticks[rc->n++] = wheel_now(rc->w);
}

/* One timer gap ticks ahead, reached in a few big jumps: fires at exactly its tick and the
 * advance handles at most one slot per level (plus the far list) in total. */
static void check_gap(uint64_t start, uint64_t gap, unsigned jumps) {
    struct wheel w;
    struct wheel_entry e = {NULL, start + gap};
    struct record rc = {.w = &w};
    wheel_init(&w, start);
    wheel_insert(&w, &e);
    for (unsigned j = 1; j < jumps; j++) {
        uint64_t t = start + gap / jumps * j;
        CHECK_EQ(wheel_advance(&w, t, record_fn, &rc), 0);
        CHECK(wheel_next_deadline(&w) <= e.deadline);
    }
    CHECK_EQ(wheel_advance(&w, e.deadline - 1, record_fn, &rc), 0);
    CHECK_EQ(wheel_next_deadline(&w), e.deadline);    /* by now it is in level 0 */
    CHECK_EQ(wheel_advance(&w, e.deadline, record_fn, &rc), 1);
    CHECK_EQ(rc.n, 1);
    CHECK_EQ(rc.ticks[0], e.deadline);
    CHECK(w.slots_visited <= WHEEL_LEVELS + 1);
    CHECK_EQ(wheel_count(&w), 0);
    /* And an empty wheel skips days without visiting anything. */
    uint64_t visited = w.slots_visited;
    CHECK_EQ(wheel_advance(&w, e.deadline + gap, record_fn, &rc), 0);
    CHECK_EQ(w.slots_visited, visited);
}

static void test_idle_gaps(void) {
    check_gap(1000, 10000, 3);                        /* 10 s at 1 ms */
    check_gap(1000, 3ull * 86400 * 1000, 4);          /* 3 days */
    check_gap(123456789, 3ull * 86400 * 1000, 1);
    check_gap(5, (UINT64_C(1) << 36) + 12345, 5);     /* beyond the wheel's range */
    check_gap((UINT64_C(1) << 36) - 1, 1, 1);         /* across the top boundary */
    check_gap((UINT64_C(1) << 40) - 3, (UINT64_C(1) << 37) + 3, 7);
}

struct interval {
    struct wheel *w;
    struct wheel_entry e;
    uint64_t next_expected;
    size_t fired;
};

static void interval_fn(struct wheel_entry *e, void *arg) {
    struct interval *iv = arg;
    CHECK(e == &iv->e);
    CHECK_EQ(e->deadline, iv->next_expected);
    CHECK_EQ(wheel_now(iv->w), iv->next_expected);
    iv->fired++;
    iv->next_expected += 7;
    e->deadline += 7;
    wheel_insert(iv->w, e);
}

static void test_interval(void) {
    struct wheel w;
    struct interval iv = {.w = &w};
    uint64_t start = 62, first = start + 3;
    wheel_init(&w, start);
    iv.e.deadline = first;
    iv.next_expected = first;
    wheel_insert(&w, &iv.e);
    static const uint64_t steps[] = {1, 1, 1, 2, 5, 6, 7, 8, 13, 64, 100, 4096, 1, 300000, 7,
                                     262144, 3, 20000000};
    uint64_t t = start;
    size_t total = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        t += steps[i];
        size_t want = t >= first ? (size_t)((t - first) / 7 + 1) : 0;
        total += wheel_advance(&w, t, interval_fn, &iv);
        CHECK_EQ(iv.fired, want);
        CHECK_EQ(total, want);
        CHECK_EQ(wheel_count(&w), 1);
        uint64_t nd = wheel_next_deadline(&w);
        CHECK(nd <= iv.next_expected && nd > t);
        if ((iv.next_expected ^ t) < WHEEL_SLOTS) CHECK_EQ(nd, iv.next_expected);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Edges: overdue inserts, FIFO across a cascade, the end of the tick range.                     */

static void rearm_past_fn(struct wheel_entry *e, void *arg) {
    struct record *rc = arg;
    record_fn(e, arg);
    e->deadline = 0;
    wheel_insert(rc->w, e);                           /* always overdue: must not livelock */
}

static void test_edges(void) {
    struct wheel w;
    struct record rc = {.w = &w};
    struct wheel_entry a, b, c, d;

    /* Overdue entries fire on the next call, even one that does not move, in insertion order. */
    wheel_init(&w, 100);
    CHECK_EQ(wheel_next_deadline(&w), UINT64_MAX);
    a.deadline = 50;
    b.deadline = 20;
    c.deadline = 100;
    d.deadline = 101;
    wheel_insert(&w, &a);
    wheel_insert(&w, &b);
    wheel_insert(&w, &c);
    wheel_insert(&w, &d);
    CHECK_EQ(wheel_next_deadline(&w), 20);
    CHECK_EQ(wheel_advance(&w, 100, record_fn, &rc), 3);
    CHECK(rc.entries[0] == &a && rc.entries[1] == &b && rc.entries[2] == &c);
    CHECK_EQ(wheel_now(&w), 100);
    CHECK_EQ(wheel_next_deadline(&w), 101);
    CHECK_EQ(wheel_advance(&w, 101, record_fn, &rc), 1);
    CHECK(rc.entries[3] == &d && rc.ticks[3] == 101);

    /* An fn that always re-arms in the past fires once per call. */
    rc.n = 0;
    wheel_init(&w, 7);
    a.deadline = 3;
    wheel_insert(&w, &a);
    for (int i = 0; i < 5; i++) CHECK_EQ(wheel_advance(&w, 1000, rearm_past_fn, &rc), 1);
    CHECK_EQ(wheel_count(&w), 1);

    /* FIFO among equal deadlines when one was placed on level 2 and the other after cascades. */
    rc.n = 0;
    wheel_init(&w, 0);
    a.deadline = 5000;
    b.deadline = 5000;
    c.deadline = 4096;
    d.deadline = 5000;
    wheel_insert(&w, &a);                             /* level 2 */
    CHECK_EQ(wheel_next_deadline(&w), 4096);          /* the slot start, before 5000 */
    CHECK_EQ(wheel_advance(&w, 4095, record_fn, &rc), 0);
    wheel_insert(&w, &c);                             /* level 2 still: 4095 ^ 4096 */
    CHECK_EQ(wheel_advance(&w, 4096, record_fn, &rc), 1); /* cascades a, fires c */
    wheel_insert(&w, &b);                             /* same list as a now, after it */
    CHECK_EQ(wheel_advance(&w, 4995, record_fn, &rc), 0);
    wheel_insert(&w, &d);
    CHECK_EQ(wheel_next_deadline(&w), 5000);
    CHECK_EQ(wheel_advance(&w, 6000, record_fn, &rc), 3);
    CHECK(rc.entries[0] == &c && rc.entries[1] == &a && rc.entries[2] == &b && rc.entries[3] == &d);
    CHECK(rc.ticks[0] == 4096 && rc.ticks[1] == 5000 && rc.ticks[3] == 5000);

    /* The end of the range: UINT64_MAX is a valid deadline, and after it everything is overdue. */
    rc.n = 0;
    wheel_init(&w, UINT64_MAX - 10);
    a.deadline = UINT64_MAX;
    b.deadline = UINT64_MAX - 1;
    wheel_insert(&w, &a);
    wheel_insert(&w, &b);
    CHECK_EQ(wheel_advance(&w, UINT64_MAX, record_fn, &rc), 2);
    CHECK(rc.entries[0] == &b && rc.entries[1] == &a && rc.ticks[1] == UINT64_MAX);
    c.deadline = UINT64_MAX;
    wheel_insert(&w, &c);
    CHECK_EQ(wheel_next_deadline(&w), UINT64_MAX);    /* overdue, and still not lost */
    CHECK_EQ(wheel_count(&w), 1);
    CHECK_EQ(wheel_advance(&w, UINT64_MAX, record_fn, &rc), 1);
    CHECK(rc.entries[2] == &c);
    CHECK_EQ(wheel_count(&w), 0);
}

/* (6) Spreading: a block's entries move down a share per tick before it starts, so that no
 * advance touches them all at once, and they still fire exactly at their ticks, in order. */
struct spread_check {
    struct wheel *w;
    struct wheel_entry *base;
    size_t fired, last_index;
    uint64_t last_deadline;
};

static void spread_fn(struct wheel_entry *e, void *arg) {
    struct spread_check *sc = arg;
    size_t idx = (size_t)(e - sc->base);
    CHECK_EQ(e->deadline, wheel_now(sc->w));
    CHECK(e->deadline > sc->last_deadline ||
          (e->deadline == sc->last_deadline && (sc->fired == 0 || idx > sc->last_index)));
    sc->last_deadline = e->deadline;
    sc->last_index = idx;
    sc->fired++;
}

/* n entries due in [first, first + span), inserted at tick 0, advanced one tick at a time (as a
 * busy owner does); the most entries one advance moved down must stay under max_share. */
static void spread_case(uint64_t first, uint64_t span, size_t n, size_t max_share) {
    struct wheel *w = malloc(sizeof *w);
    struct wheel_entry *es = malloc(n * sizeof *es);
    CHECK(w && es);
    struct spread_check sc = {.w = w, .base = es};
    uint64_t rng = 42;
    wheel_init(w, 0);
    for (size_t i = 0; i < n; i++) {
        es[i].deadline = first + check_rand(&rng) % span;
        wheel_insert(w, &es[i]);
    }
    size_t most = 0;
    for (uint64_t t = 1; t < first + span; t++) {
        uint64_t before = w->spread_moves;
        wheel_advance(w, t, spread_fn, &sc);
        if (w->spread_moves - before > most) most = w->spread_moves - before;
        CHECK(wheel_next_work(w) > t);
        CHECK(wheel_next_work(w) <= wheel_next_deadline(w));
    }
    printf("test_wheel: %zu entries due in [%" PRIu64 ", %" PRIu64 "): %" PRIu64
           " moved down early, at most %zu in one advance\n",
           n, first, first + span, w->spread_moves, most);
    CHECK_EQ(sc.fired, n);
    CHECK_EQ(wheel_count(w), 0);
    CHECK(w->spread_moves >= n); /* every entry moved down before its block, none in a burst */
    CHECK(most <= max_share);
    free(es);
    free(w);
}

static void test_spread(void) {
    /* Inserted before their block's pending time (an empty pending list is skipped at insert):
     * level 1 -> 0 during the 64 ticks before; level 2 -> 1 -> 0 during the 4,096 before. */
    spread_case(128, 64, 64000, 64000 / 32);
    spread_case(8192, 4096, 200000, 200000 / 32);
}

/* The wheel entry is two words (an intrusive list link and the deadline). */
static void test_entry_size(void) { CHECK_EQ(sizeof(struct wheel_entry), 16); }

/* The model from four starting ticks: 0, just below the top of the wheel's range, an arbitrary
 * one, and near the end of the tick range. */
static void test_model_from_zero(void) { model_run(0, 1, 0); }
static void test_model_below_range_top(void) { model_run((UINT64_C(1) << 36) - 500, 2, 0); }
static void test_model_arbitrary_start(void) { model_run(0x0123456789abcdefULL, 3, 0); }
static void test_model_near_tick_end(void) { model_run(UINT64_MAX - (UINT64_C(1) << 44), 4, 0); }
/* The same with entries moved down one per advance: pending lists are then part-moved while the
 * model inserts (some in fn) and advances, which is where equal deadlines could lose order. */
static void test_model_spread_one(void) {
    model_run(0, 5, 1);
    model_run(0x0123456789abcdefULL, 6, 1);
    model_run(UINT64_MAX - (UINT64_C(1) << 44), 7, 1);
}

TEST_MAIN(TEST_CASE(test_entry_size), TEST_CASE(test_edges), TEST_CASE(test_interval),
          TEST_CASE(test_idle_gaps), TEST_CASE(test_model_from_zero),
          TEST_CASE(test_model_below_range_top), TEST_CASE(test_model_arbitrary_start),
          TEST_CASE(test_model_near_tick_end), TEST_CASE(test_million),
          TEST_CASE(test_spread), TEST_CASE(test_model_spread_one))

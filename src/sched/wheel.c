/* SPDX-License-Identifier: MIT */
/* wheel.c: the hierarchical timing wheel of wheel.h: O(1) insert, expiry by cascading slots
 * down the levels, and bitmap skips so that idle time costs nothing per tick.
 *
 * Sources: G. Varghese and T. Lauck, "Hashed and Hierarchical Timing Wheels" (SOSP 1987), scheme
 * 7; the Linux kernel's timer wheel (kernel/time/timer.c) and Tokio's timer wheel (64 slots per
 * level, level chosen from the bits in which deadline and the current tick differ, occupancy
 * bitmaps to find the next slot). Written from those descriptions, not copied.
 *
 * Layout. Level L slot s holds deadlines whose digit L (bits 6L..6L+5) is s. An entry is placed
 * by the highest bit in which its deadline d and the current tick `now` differ: level
 * L = that bit / 6. Deadlines outside now's 2^36-tick block go to the `far` list; deadlines
 * <= now go to the `due` list. Why it is correct, from one invariant:
 *
 *   (I) every entry in slots[L][s] has d > now, agrees with now on every digit above L, and has
 *       digit L equal to s, greater than now's digit L; every entry in `far` has d outside
 *       now's 2^36 block, i.e. d > the end of that block.
 *
 * Event ticks. The tick at which slot s of level L must be handled is
 * at(L, s) = now with digits <= L cleared and digit L set to s; for level 0 that is exactly d.
 * By (I), every level-L event tick lies in a later 2^(6L) block than now but inside now's
 * 2^(6L+6) block, and every level-(L+1) event tick lies in a later 2^(6L+6) block: so all
 * level-L event ticks precede all level-(L+1) ones, and the next event is the lowest set bit of
 * the lowest non-empty level (then `far`, whose event is the block start of its minimum). The
 * earliest deadline is therefore in that slot, which gives wheel_next_deadline.
 *
 * Advance. Repeatedly take the next event tick b; if b > now_tick stop. Else set now = b, which
 * keeps (I) for every other slot (b shares the higher digits with the old now). Level 0: the
 * slot holds exactly the entries with d == b; fire them. Level L > 0 (or far): detach the slot,
 * fire entries with d == b and re-place the rest relative to the new now; they agree with it on
 * digit L too, so they land on lower levels, exactly (no rounding, so never early). Finally set
 * now = now_tick: between now and the next event tick no entry changes level or slot, so (I)
 * holds. Each step handles one non-empty slot and moves each entry it keeps strictly down, so
 * an advance costs O(levels) plus O(levels) per entry over its life (plus one pass through
 * `far` per 2^36 ticks for deadlines beyond the range).
 *
 * Order. Levels only decrease as now grows (once d and now agree on a digit they keep
 * agreeing), so all entries with the same deadline sit in the same list, in insertion order:
 * a cascade moves a list in order into lists that cannot already hold that deadline. To keep
 * this while fn inserts, a cascade re-places the whole slot before calling fn for the entries
 * due at b. Events come in tick order and each fires only its own tick, so deadlines are
 * nondecreasing; an fn-inserted deadline > now is placed under (I) and fires at its tick. */
#include "sched/wheel.h"

#define WHEEL_FAR_BITS (WHEEL_LEVELS * WHEEL_SLOT_BITS)
#define WHEEL_FAR_LEVEL WHEEL_LEVELS /* pseudo-level for the far list */

typedef void (*wheel_fn)(struct wheel_entry *e, void *arg);

static void list_clear(struct wheel_list *l) {
    l->head = NULL;
    l->tail = NULL;
}

static void list_append(struct wheel_list *l, struct wheel_entry *e) {
    e->next = NULL;
    if (l->head)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
}

void wheel_init(struct wheel *w, uint64_t now_tick) {
    w->now = now_tick;
    w->count = 0;
    for (unsigned l = 0; l < WHEEL_LEVELS; l++) {
        w->occupied[l] = 0;
        for (unsigned s = 0; s < WHEEL_SLOTS; s++) list_clear(&w->slots[l][s]);
    }
    list_clear(&w->far);
    w->far_min = UINT64_MAX;
    list_clear(&w->due);
    w->due_min = UINT64_MAX;
    w->slots_visited = 0;
}

/* Places e (e->deadline > w->now) by the invariant (I) of the file comment. */
static void place(struct wheel *w, struct wheel_entry *e) {
    uint64_t d = e->deadline;
    unsigned level = (63u - (unsigned)__builtin_clzll(d ^ w->now)) / WHEEL_SLOT_BITS;
    if (level >= WHEEL_LEVELS) {
        list_append(&w->far, e);
        if (d < w->far_min) w->far_min = d;
        return;
    }
    unsigned slot = (unsigned)(d >> (level * WHEEL_SLOT_BITS)) & (WHEEL_SLOTS - 1);
    list_append(&w->slots[level][slot], e);
    w->occupied[level] |= UINT64_C(1) << slot;
}

void wheel_insert(struct wheel *w, struct wheel_entry *e) {
    w->count++;
    if (e->deadline <= w->now) {
        list_append(&w->due, e);
        if (e->deadline < w->due_min) w->due_min = e->deadline;
        return;
    }
    place(w, e);
}

/* The lowest non-empty level, WHEEL_FAR_LEVEL for the far list, -1 if both are empty. */
static int lowest_level(const struct wheel *w) {
    for (int l = 0; l < WHEEL_LEVELS; l++)
        if (w->occupied[l]) return l;
    return w->far.head ? WHEEL_FAR_LEVEL : -1;
}

/* The tick at which the lowest occupied slot of level must be handled (level non-empty). */
static uint64_t event_tick(const struct wheel *w, int level) {
    if (level == WHEEL_FAR_LEVEL) return w->far_min >> WHEEL_FAR_BITS << WHEEL_FAR_BITS;
    unsigned shift = (unsigned)level * WHEEL_SLOT_BITS;
    uint64_t slot = (uint64_t)__builtin_ctzll(w->occupied[level]);
    return (w->now >> (shift + WHEEL_SLOT_BITS) << (shift + WHEEL_SLOT_BITS)) | (slot << shift);
}

/* Passes a detached chain to fn in order. The link is read before fn, which may re-insert e. */
static size_t fire_chain(struct wheel *w, struct wheel_entry *e, wheel_fn fn, void *arg) {
    size_t n = 0;
    while (e) {
        struct wheel_entry *next = e->next;
        w->count--;
        n++;
        fn(e, arg);
        e = next;
    }
    return n;
}

/* Re-places a detached chain relative to w->now and then fires the entries due now. Placing
 * everything before any fn runs keeps same-deadline entries in insertion order. */
static size_t cascade(struct wheel *w, struct wheel_entry *e, wheel_fn fn, void *arg) {
    struct wheel_list due;
    list_clear(&due);
    while (e) {
        struct wheel_entry *next = e->next;
        if (e->deadline <= w->now)
            list_append(&due, e);
        else
            place(w, e);
        e = next;
    }
    return fire_chain(w, due.head, fn, arg);
}

/* Handles the next event of level at tick w->now. */
static size_t run_event(struct wheel *w, int level, wheel_fn fn, void *arg) {
    struct wheel_entry *chain;
    w->slots_visited++;
    if (level == WHEEL_FAR_LEVEL) {
        chain = w->far.head;
        list_clear(&w->far);
        w->far_min = UINT64_MAX;
        return cascade(w, chain, fn, arg);
    }
    unsigned shift = (unsigned)level * WHEEL_SLOT_BITS;
    unsigned slot = (unsigned)(w->now >> shift) & (WHEEL_SLOTS - 1);
    chain = w->slots[level][slot].head;
    list_clear(&w->slots[level][slot]);
    w->occupied[level] &= ~(UINT64_C(1) << slot);
    /* Level 0 holds only d == now (I), and fn cannot insert into this slot (it needs d > now). */
    return level == 0 ? fire_chain(w, chain, fn, arg) : cascade(w, chain, fn, arg);
}

size_t wheel_advance(struct wheel *w, uint64_t now_tick, wheel_fn fn, void *arg) {
    size_t fired = 0;
    if (w->due.head) {
        /* Detached first: overdue entries fn inserts now wait for the next call. */
        struct wheel_entry *chain = w->due.head;
        list_clear(&w->due);
        w->due_min = UINT64_MAX;
        w->slots_visited++;
        fired += fire_chain(w, chain, fn, arg);
    }
    while (w->now < now_tick) {
        int level = lowest_level(w);
        if (level < 0) break;
        uint64_t at = event_tick(w, level);
        if (at > now_tick) break;
        w->now = at;
        fired += run_event(w, level, fn, arg);
    }
    if (w->now < now_tick) w->now = now_tick;
    return fired;
}

uint64_t wheel_next_deadline(const struct wheel *w) {
    if (w->due.head) return w->due_min;
    int level = lowest_level(w);
    if (level < 0) return UINT64_MAX;
    /* With only far entries the minimum is known exactly; otherwise the slot start bounds it. */
    if (level == WHEEL_FAR_LEVEL) return w->far_min;
    return event_tick(w, level);
}

size_t wheel_count(const struct wheel *w) {
    return w->count;
}

uint64_t wheel_now(const struct wheel *w) {
    return w->now;
}

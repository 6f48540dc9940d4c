/* SPDX-License-Identifier: MIT */
/* wheel.c: the hierarchical timing wheel of wheel.h: O(1) insert, expiry by moving entries down
 * the levels, spread over the ticks before they are due, and bitmap skips so that idle time costs
 * nothing per tick.
 *
 * Sources: G. Varghese and T. Lauck, "Hashed and Hierarchical Timing Wheels" (SOSP 1987), scheme
 * 7; the Linux kernel's timer wheel (kernel/time/timer.c) and Tokio's timer wheel (64 slots per
 * level, level chosen from the bits in which deadline and the current tick differ, occupancy
 * bitmaps to find the next slot). Written from those descriptions, not copied. The spreading of
 * cascades over time is ours.
 *
 * Digits and blocks. Digit L of a tick is its bits 6L..6L+5; a level-L slot is 2^(6L) ticks
 * wide, and level L's 64 slots span one "L-block" of 2^(6L+6) ticks. An entry's natural level is
 * the highest digit in which its deadline d and the current tick `now` differ; it sits in the
 * slot of that level given by its digit there. Deadlines outside now's 2^36-tick block go to the
 * `far` list; deadlines <= now to the `due` list.
 *
 * Why spread. Without more, a level-L slot is cascaded (its entries re-placed one level down)
 * when now reaches its start: one step touches every entry of the slot, each a cache miss on a
 * cold timer record. With a million timers due within a second, a level-1 slot holds 16,000 of
 * them and a level-2 slot can hold half a million: the step stalls the worker for 2 to 50 ms,
 * and every timer due meanwhile is that late (axon-bench timers, issue 10). So levels 0-4 have a
 * second half, `next`, for the L-block after now's, and the slot that will become it, the level's
 * "pending" list (level L+1's slot for digit+1, or, when now's digit L+1 is 63, level L+1's next
 * half's slot 0), is moved into it entry by entry during the L-block before, a share per advance
 * sized to finish in time. When now enters the next L-block the halves swap: no entry is touched.
 *
 *   (I) cur[L][s] holds entries with d > now whose natural level is L and digit L is s;
 *       next[L][s] holds entries in the L-block after now's with digit L equal to s, moved down
 *       early; every entry in `far` has d beyond now's 2^36 block.
 *   (O) Equal deadlines keep insertion order: an entry goes to the list its path ends in, and
 *       a path's lists drain into the next one down in FIFO order (pending list -> next half), so
 *       an insert may skip a pending list only while it is empty (place() walks down then).
 *
 * Events. In tick order: a level-0 slot (its tick is exact); a higher slot's start, where what
 * the spreading left there is re-placed (a cascade, as in scheme 7: after an idle gap, or a
 * burst of inserts near the end of their block); the start of an L-block whose next half holds
 * entries, where the halves swap; the `far` list's block. Between events no entry changes its
 * list, so advancing skips to the next event in O(levels). */
#include "sched/wheel.h"

#include <stdbool.h>

#define WHEEL_FAR_BITS (WHEEL_LEVELS * WHEEL_SLOT_BITS)
#define SPREAD_LEVELS (WHEEL_LEVELS - 1) /* levels with a next half: 0..4 */

typedef void (*wheel_fn)(struct wheel_entry *e, void *arg);

/* Where an entry sits: a level, a half (0 or 1, as stored; see w->cur) and a slot. */
struct pos {
    unsigned level, half, slot;
};

static unsigned digit(uint64_t t, unsigned level) {
    return (unsigned)(t >> (level * WHEEL_SLOT_BITS)) & (WHEEL_SLOTS - 1);
}

/* The first tick of the L-block after t's, or UINT64_MAX if t is in the last one. */
static uint64_t next_block_start(uint64_t t, unsigned level) {
    unsigned shift = (level + 1) * WHEEL_SLOT_BITS;
    uint64_t block = t >> shift;
    if (block + 1 > (UINT64_MAX >> shift)) return UINT64_MAX;
    return (block + 1) << shift;
}

static void list_clear(struct wheel_list *l) {
    l->head = NULL;
    l->tail = NULL;
    l->count = 0;
}

static struct wheel_list *list_at(struct wheel *w, struct pos p) {
    return &w->lists[p.level][p.half][p.slot];
}

static void list_append(struct wheel_list *l, struct wheel_entry *e) {
    e->next = NULL;
    if (l->head)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->count++;
}

static void put(struct wheel *w, struct pos p, struct wheel_entry *e) {
    list_append(list_at(w, p), e);
    w->occupied[p.level][p.half] |= UINT64_C(1) << p.slot;
}

/* Detaches and returns the chain of list p (which becomes empty). */
static struct wheel_entry *take_all(struct wheel *w, struct pos p) {
    struct wheel_list *l = list_at(w, p);
    struct wheel_entry *chain = l->head;
    list_clear(l);
    w->occupied[p.level][p.half] &= ~(UINT64_C(1) << p.slot);
    return chain;
}

static struct wheel_entry *pop_head(struct wheel *w, struct pos p) {
    struct wheel_list *l = list_at(w, p);
    struct wheel_entry *e = l->head;
    l->head = e->next;
    if (--l->count == 0) {
        l->tail = NULL;
        w->occupied[p.level][p.half] &= ~(UINT64_C(1) << p.slot);
    }
    return e;
}

/* Level L's pending list: the slot whose entries fill L's next half. False if there is none
 * (level 4 at the end of a 2^36 block: those entries are in `far`; or the last L-block). */
static bool pending_of(const struct wheel *w, unsigned level, struct pos *p) {
    unsigned above = level + 1, d = digit(w->now, above);
    if (next_block_start(w->now, level) == UINT64_MAX) return false;
    if (d < WHEEL_SLOTS - 1) {
        *p = (struct pos){above, w->cur[above], d + 1};
        return true;
    }
    if (above >= SPREAD_LEVELS) return false;
    *p = (struct pos){above, w->cur[above] ^ 1u, 0};
    return true;
}

static bool same_pos(struct pos a, struct pos b) {
    return a.level == b.level && a.half == b.half && a.slot == b.slot;
}

/* From list p on an entry's path (d in it), down while p is an empty pending list: (O). */
static struct pos walk_down(const struct wheel *w, struct pos p, uint64_t d) {
    while (p.level > 0) {
        struct pos pend;
        if (!pending_of(w, p.level - 1, &pend) || !same_pos(pend, p) ||
            w->lists[p.level][p.half][p.slot].head)
            break;
        p = (struct pos){p.level - 1, w->cur[p.level - 1] ^ 1u, digit(d, p.level - 1)};
    }
    return p;
}

/* Places e (now < d, d within now's 2^36 block) by (I) and (O). */
static void place(struct wheel *w, struct wheel_entry *e) {
    uint64_t d = e->deadline;
    unsigned level = (63u - (unsigned)__builtin_clzll(d ^ w->now)) / WHEEL_SLOT_BITS;
    put(w, walk_down(w, (struct pos){level, w->cur[level], digit(d, level)}, d), e);
}

static void place_or_far(struct wheel *w, struct wheel_entry *e) {
    if ((e->deadline ^ w->now) >> WHEEL_FAR_BITS) {
        list_append(&w->far, e);
        if (e->deadline < w->far_min) w->far_min = e->deadline;
        return;
    }
    place(w, e);
}

void wheel_init(struct wheel *w, uint64_t now_tick) {
    w->now = now_tick;
    w->count = 0;
    for (unsigned l = 0; l < WHEEL_LEVELS; l++) {
        w->cur[l] = 0;
        for (unsigned h = 0; h < 2; h++) {
            w->occupied[l][h] = 0;
            for (unsigned s = 0; s < WHEEL_SLOTS; s++) list_clear(&w->lists[l][h][s]);
        }
    }
    list_clear(&w->far);
    w->far_min = UINT64_MAX;
    list_clear(&w->due);
    w->due_min = UINT64_MAX;
    w->slots_visited = 0;
    w->spread_moves = 0;
    w->spread_min = WHEEL_SPREAD_MIN;
}

void wheel_insert(struct wheel *w, struct wheel_entry *e) {
    w->count++;
    if (e->deadline <= w->now) {
        list_append(&w->due, e);
        if (e->deadline < w->due_min) w->due_min = e->deadline;
        return;
    }
    place_or_far(w, e);
}

/* ---- spreading ---------------------------------------------------------------------------- */

/* The tick by which level L's pending list must be empty: the next L-block's start for level 0;
 * one level-L slot earlier above, when level L-1 starts on that block's first slot. */
static uint64_t spread_deadline(const struct wheel *w, unsigned level) {
    uint64_t start = next_block_start(w->now, level);
    return level == 0 ? start : start - (UINT64_C(1) << (level * WHEEL_SLOT_BITS));
}

/* Moves n entries (all if n is 0) from level L's pending list into its next half. */
static void move_down(struct wheel *w, unsigned level, struct pos from, size_t n) {
    struct wheel_list *l = list_at(w, from);
    if (n == 0 || n > l->count) n = l->count;
    w->spread_moves += n;
    while (n-- > 0) {
        struct wheel_entry *e = pop_head(w, from);
        uint64_t d = e->deadline;
        put(w, walk_down(w, (struct pos){level, w->cur[level] ^ 1u, digit(d, level)}, d), e);
    }
}

/* Each level's share of its pending list for this advance, top level first (what it moves down
 * may land in the next level's pending list). */
static void spread(struct wheel *w) {
    for (unsigned level = SPREAD_LEVELS; level-- > 0;) {
        struct pos p;
        if (!pending_of(w, level, &p)) continue;
        size_t count = list_at(w, p)->count;
        if (count == 0) continue;
        uint64_t by = spread_deadline(w, level);
        uint64_t left = by > w->now ? by - w->now : 0;
        size_t share = left ? (size_t)((count + left - 1) / left) : count;
        if (share < w->spread_min) share = w->spread_min;
        move_down(w, level, p, share);
    }
}

static bool spread_pending(const struct wheel *w) {
    for (unsigned level = 0; level < SPREAD_LEVELS; level++) {
        struct pos p;
        if (pending_of(w, level, &p) && w->lists[p.level][p.half][p.slot].head) return true;
    }
    return false;
}

/* ---- events ------------------------------------------------------------------------------- */

/* The next event tick after now, in *at; false if there is none (see the file comment). */
static bool next_event(const struct wheel *w, uint64_t *at_out) {
    uint64_t best = UINT64_MAX;
    bool any = false;
    for (unsigned level = 0; level < WHEEL_LEVELS; level++) {
        uint64_t occ = w->occupied[level][w->cur[level]];
        if (occ) {
            unsigned shift = level * WHEEL_SLOT_BITS;
            uint64_t slot = (uint64_t)__builtin_ctzll(occ);
            uint64_t at = (w->now >> (shift + WHEEL_SLOT_BITS) << (shift + WHEEL_SLOT_BITS)) |
                          (slot << shift);
            if (at < best) best = at;
            any = true;
        }
        if (level < SPREAD_LEVELS && w->occupied[level][w->cur[level] ^ 1u]) {
            uint64_t at = next_block_start(w->now, level);
            if (level == 0) at |= (uint64_t)__builtin_ctzll(w->occupied[0][w->cur[0] ^ 1u]);
            if (at < best) best = at;
            any = true;
        }
    }
    if (w->far.head) {
        uint64_t at = w->far_min >> WHEEL_FAR_BITS << WHEEL_FAR_BITS;
        if (at < best) best = at;
        any = true;
    }
    *at_out = best;
    return any;
}

/* Moves now to the event tick b (> now): at every L-block boundary crossed, what level L's
 * pending list still holds goes down first, then the halves swap. */
static void cross_to(struct wheel *w, uint64_t b) {
    unsigned crossed[SPREAD_LEVELS], n = 0;
    for (unsigned level = SPREAD_LEVELS; level-- > 0;) {
        unsigned shift = (level + 1) * WHEEL_SLOT_BITS;
        if ((b >> shift) == (w->now >> shift)) continue;
        struct pos p;
        if (pending_of(w, level, &p)) move_down(w, level, p, 0);
        crossed[n++] = level;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned level = crossed[i], shift = (level + 1) * WHEEL_SLOT_BITS;
        /* The current half is empty (its entries were events before b). Into the next L-block,
         * the next half becomes current; further (an idle gap), the next half is empty too. */
        if ((b >> shift) == (w->now >> shift) + 1) w->cur[level] ^= 1u;
    }
    w->now = b;
}

/* Passes a detached chain to fn in order. The link is read before fn, which may re-insert e. */
static size_t fire_chain(struct wheel *w, struct wheel_entry *e, wheel_fn fn, void *arg) {
    size_t n = 0;
    while (e) {
        struct wheel_entry *next = e->next;
        /* The next entry's line loads while fn runs: a chain of cold timer records otherwise
         * costs one full memory latency per entry. */
        if (next) __builtin_prefetch(next, 1);
        w->count--;
        n++;
        fn(e, arg);
        e = next;
    }
    return n;
}

/* Re-places a detached chain relative to now, appending the entries due now to *due. */
static void cascade(struct wheel *w, struct wheel_entry *e, struct wheel_list *due) {
    while (e) {
        struct wheel_entry *next = e->next;
        if (e->deadline <= w->now)
            list_append(due, e);
        else
            place_or_far(w, e);
        e = next;
    }
}

/* Handles tick now: the level-0 slot, then, lowest level first (later inserts sit higher, (O)),
 * what is left in the slots starting here and, at its block, the far list. */
static size_t run_tick(struct wheel *w, wheel_fn fn, void *arg) {
    struct wheel_list due;
    list_clear(&due);
    struct wheel_entry *now_chain = take_all(w, (struct pos){0, w->cur[0], digit(w->now, 0)});
    for (unsigned level = 1; level < WHEEL_LEVELS; level++) {
        if (w->now & ((UINT64_C(1) << (level * WHEEL_SLOT_BITS)) - 1)) break; /* mid-slot */
        struct pos p = {level, w->cur[level], digit(w->now, level)};
        if (!list_at(w, p)->head) continue;
        w->slots_visited++;
        cascade(w, take_all(w, p), &due);
    }
    if (w->far.head && (w->now & ((UINT64_C(1) << WHEEL_FAR_BITS) - 1)) == 0 &&
        (w->far_min >> WHEEL_FAR_BITS) == (w->now >> WHEEL_FAR_BITS)) {
        struct wheel_entry *chain = w->far.head;
        list_clear(&w->far);
        w->far_min = UINT64_MAX;
        w->slots_visited++;
        cascade(w, chain, &due);
    }
    if (now_chain) w->slots_visited++;
    /* Placing everything before any fn runs keeps equal deadlines in insertion order. */
    return fire_chain(w, now_chain, fn, arg) + fire_chain(w, due.head, fn, arg);
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
    for (;;) {
        spread(w);
        uint64_t b;
        if (!next_event(w, &b) || b > now_tick) break;
        cross_to(w, b);
        fired += run_tick(w, fn, arg);
    }
    /* No event up to now_tick: every list a boundary on the way would swap or drain is empty. */
    if (w->now < now_tick) cross_to(w, now_tick);
    spread(w);
    return fired;
}

uint64_t wheel_next_deadline(const struct wheel *w) {
    if (w->due.head) return w->due_min;
    uint64_t at;
    return next_event(w, &at) ? at : UINT64_MAX;
}

uint64_t wheel_next_work(const struct wheel *w) {
    uint64_t next = wheel_next_deadline(w);
    if (next > w->now + 1 && spread_pending(w)) return w->now + 1;
    return next;
}

size_t wheel_count(const struct wheel *w) {
    return w->count;
}

uint64_t wheel_now(const struct wheel *w) {
    return w->now;
}

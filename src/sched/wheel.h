/* SPDX-License-Identifier: MIT */
/* wheel.h: a hierarchical timing wheel (6 levels of 64 slots) with intrusive entries, one per
 * worker thread, so that millions of timers cost O(1) each to insert and to expire without
 * allocating, and moving them down the levels is spread over time instead of done in bursts.
 * Owner-only: no atomics inside, the caller serializes every call. */
#ifndef AX_SCHED_WHEEL_H
#define AX_SCHED_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#define WHEEL_LEVELS 6         /* 6 levels x 64 slots of 1 tick: 2^36 ticks (199 days at 0.25 ms) */
#define WHEEL_SLOT_BITS 6
#define WHEEL_SLOTS (1u << WHEEL_SLOT_BITS)

/* Embedded in the caller's timer record. The caller allocates and frees the record; from
 * wheel_insert until the wheel passes the entry to fn, the wheel owns `next` and the caller must
 * neither free the record nor change `deadline`. */
struct wheel_entry {
    struct wheel_entry *next;  /* intrusive link, owned by the wheel while inserted */
    uint64_t deadline;         /* absolute tick; set by the caller before wheel_insert */
};
_Static_assert(sizeof(struct wheel_entry) == 16, "wheel_entry must stay 16 bytes");

/* A FIFO of entries; empty when head is NULL (tail is then stale). */
struct wheel_list {
    struct wheel_entry *head;
    struct wheel_entry *tail;
    size_t count;
};

/* Owner-only state; about 19 KiB, embed it in the worker. Levels 0-4 have two halves of 64
 * slots: the current block's and the next block's, into which the entries of the next block
 * move a share per advance before it starts (wheel.c). */
struct wheel {
    uint64_t now;                       /* every entry with deadline <= now has expired or is in due */
    size_t count;                       /* inserted and not yet passed to fn */
    unsigned char cur[WHEEL_LEVELS];    /* the half of each level that is the current block's */
    uint64_t occupied[WHEEL_LEVELS][2]; /* bit s: lists[L][half][s] is non-empty */
    struct wheel_list lists[WHEEL_LEVELS][2][WHEEL_SLOTS];
    struct wheel_list far;              /* deadlines outside now's 2^36-tick block (beyond range) */
    uint64_t far_min;                   /* smallest deadline in far (UINT64_MAX if empty) */
    struct wheel_list due;              /* inserted with deadline <= now: fire on the next advance */
    uint64_t due_min;                   /* smallest deadline in due (UINT64_MAX if empty) */
    uint64_t slots_visited;             /* statistic: slots (and far/due lists) advance processed */
    uint64_t spread_moves;              /* statistic: entries moved down before their block */
    size_t spread_min;                  /* entries moved down per advance at least (or all) */
};

/* Spreading moves at least this many entries per advance (or all there are), so that a pending
 * list of a few entries moves at once instead of waking a parked worker tick after tick. Tests
 * set spread_min to 1 after wheel_init to move entries one at a time. */
#define WHEEL_SPREAD_MIN 64u

/* Initializes an empty wheel positioned at now_tick. Does not allocate; there is no destroy. */
void wheel_init(struct wheel *w, uint64_t now_tick);

/* Inserts e (e->deadline already set). A deadline <= the wheel's current tick expires on the
 * next wheel_advance (never lost, never dropped), whatever its now_tick; such an overdue entry
 * counts as due at the tick current when it was inserted, so overdue entries fire in insertion
 * order, not sorted by their (past) deadlines. Deadlines beyond the wheel's range (another
 * 2^36-tick block than the current tick) wait in an overflow list and cascade down when the
 * wheel reaches their block (never early). O(1). May be called from fn. */
void wheel_insert(struct wheel *w, struct wheel_entry *e);

/* Fires the overdue entries (see wheel_insert), then moves the wheel to now_tick (no move if
 * now_tick <= current tick) and calls fn(e, arg) for every entry whose deadline <= now_tick, in
 * nondecreasing deadline order, FIFO among equal deadlines (insertion order). An entry is
 * passed to fn exactly once, while the current tick (wheel_now) equals its deadline (overdue
 * entries: the tick current when this call started); never early. From the call to fn on, the
 * caller owns e again. fn may call wheel_insert on this wheel (re-arm e, insert others): a
 * deadline > the current tick fires in this same call if it is <= now_tick; a deadline <= the
 * current tick fires on the next call (so a callback that always re-arms in the past cannot
 * livelock). fn must not call wheel_advance. Returns the number of entries passed to fn.
 * Skips empty stretches using the occupancy bitmaps: each loop step handles one non-empty slot,
 * so an idle gap of any length costs O(levels). */
size_t wheel_advance(struct wheel *w, uint64_t now_tick,
                     void (*fn)(struct wheel_entry *e, void *arg), void *arg);

/* The earliest tick at which some entry may be due, UINT64_MAX if the wheel is empty. Never
 * later than the true earliest deadline (a thread may sleep until it); exact when that entry is
 * in level 0 (within the current 64-tick block) or overdue. It may be earlier (the start of a
 * higher-level slot or block whose entries must move down), in which case an advance to it
 * expires nothing or only moves entries. Called from fn, it does not see the entries still to
 * fire in that step. O(levels). */
uint64_t wheel_next_deadline(const struct wheel *w);

/* The tick by which the owner should advance the wheel next: wheel_next_deadline, or the next
 * tick while entries of a coming block still have to move down (spread over the ticks before it,
 * so that no single advance moves a whole block's entries). O(levels). */
uint64_t wheel_next_work(const struct wheel *w);

/* Entries inserted and not yet passed to fn. */
size_t wheel_count(const struct wheel *w);

/* The current tick: the last now_tick advanced to, or inside fn the tick being expired. */
uint64_t wheel_now(const struct wheel *w);

#endif

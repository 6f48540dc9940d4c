/* SPDX-License-Identifier: MIT */
/* deque.h: the Chase-Lev work-stealing deque of one worker: the owner pushes and pops at the
 * bottom (LIFO), thieves steal at the top (FIFO). Growable; items are non-NULL pointers. */
#ifndef AX_SCHED_DEQUE_H
#define AX_SCHED_DEQUE_H

#include "core/platform.h"

struct deque_ring; /* the circular array; old rings are kept until deque_destroy */

struct deque {
    AX_ALIGNED_LINE _Atomic int64_t top;      /* thieves CAS it */
    AX_ALIGNED_LINE _Atomic int64_t bottom;   /* owner writes it */
    _Atomic(struct deque_ring *) ring;        /* owner replaces it when growing */
    struct deque_ring *retired;               /* owner only: outgrown rings, freed at destroy */
};

/* Initializes with room for 2^log_capacity items before the first growth. Returns 0 or
 * -ENOMEM. Not thread-safe. */
int deque_init(struct deque *d, unsigned log_capacity);
/* Frees all rings. No other thread may touch d. */
void deque_destroy(struct deque *d);

/* Owner thread only. Grows when full; returns 0, or -ENOMEM (item not pushed). */
int deque_push_owner(struct deque *d, void *item);
/* Owner thread only. The newest item, or NULL if empty. */
void *deque_pop_owner(struct deque *d);
/* Any thread, concurrently with the owner and other thieves. The oldest item, or NULL if
 * empty or if a race was lost (the caller may retry). Never blocks. */
void *deque_steal(struct deque *d);
/* Any thread. A snapshot of bottom - top, clamped to >= 0; exact only when quiet. */
int64_t deque_size(struct deque *d);

#endif

/* SPDX-License-Identifier: MIT */
/* owners.h: records chained by owner ref in an intrusive hash (separate chaining, doubled past two
 * records a bucket), so that an owner's stop finds what it had; the sockets' and files' tables. */
#ifndef AX_IO_OWNERS_H
#define AX_IO_OWNERS_H

#include <stdbool.h>
#include <stddef.h>

#include "actor/runtime.h"

struct actor;

/* Embedded in each record. */
struct io_owned {
    struct io_owned *next, *prev;
};

/* The owner of the record that embeds n, as the record holds it (under the caller's lock, where
 * the owner changes only). */
typedef ax_ref io_owner_fn(const struct io_owned *n);

/* Every field, and every call below, is under the caller's lock: the index has none of its own. */
struct io_owner_index {
    struct io_owned **buckets;
    size_t nbuckets, count;
    io_owner_fn *owner_of;
};

/* The record of type `type` that embeds n as its member `field`. */
#define IO_OWNED_RECORD(n, type, field) ((type *)(void *)((char *)(n) - offsetof(type, field)))

/* 0, or AX_ENOMEM. Destroy frees the buckets only (after a failed init too); the records are the
 * caller's. */
int io_owners_init(struct io_owner_index *ix, io_owner_fn *owner_of);
void io_owners_destroy(struct io_owner_index *ix);
/* Chains n by its owner and counts it. Out of memory to grow, the chains only get longer. */
void io_owners_add(struct io_owner_index *ix, struct io_owned *n);
/* Unchains n (before its owner changes: it is found by that owner). */
void io_owners_remove(struct io_owner_index *ix, struct io_owned *n);
/* The records of owner, one by one: the first, then the next after n; NULL past the last. */
struct io_owned *io_owners_first(const struct io_owner_index *ix, ax_ref owner);
struct io_owned *io_owners_next(const struct io_owner_index *ix, const struct io_owned *n,
                                ax_ref owner);

/* Marks actor a as owning such records, so that its stop releases them (the io_owner byte;
 * called under the caller's lock). False if a has stopped or is stopping: its release already
 * ran or is waiting for that lock, and would not see a record added now. */
bool io_owners_mark(struct actor *a);

#endif

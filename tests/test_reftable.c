/* SPDX-License-Identifier: MIT */
/* test_reftable.c: unit and stress tests of the actor ref table (src/actor/reftable.c): refs are
 * never 0 and never reissued (generations, retirement at wrap-around), lookups of any 64-bit
 * value are safe and miss unless the ref is live, growth across chunks, and 4 allocating threads. */
#include "actor/reftable.h"

#include <pthread.h>
#include <string.h>

#include "check.h"
#include "runner.h"
#include "sched/sched.h"

#if defined(AX_TSAN)
#define THREAD_OPS 50000
#define RANDOM_GETS 100000
#elif defined(__SANITIZE_ADDRESS__)
#define THREAD_OPS 50000
#define RANDOM_GETS 300000
#else
#define THREAD_OPS 100000
#define RANDOM_GETS 1000000
#endif
#define N_THREADS 4
#define LIVE_MAX 128 /* live refs per thread in the concurrent test */
#define RESET_EVERY 512 /* ops between thread-record resets (fresh batches, racing growth) */

/* An actor stand-in: like struct actor, it knows its own ref, which callers of reftable_get
 * compare with the ref they looked up. */
struct obj {
    _Atomic uint64_t ref;
    int id;
};

/* The caller side of the contract: the object only if it is the one ref names. */
static struct obj *resolve(struct reftable *t, uint64_t ref) {
    struct obj *o = reftable_get(t, ref);
    return o && atomic_load(&o->ref) == ref ? o : NULL;
}

static void test_basic(void) {
    enum { N = 300 };
    struct reftable t;
    CHECK_OK(reftable_init(&t, 0, 1));
    struct slot_cache thr;
    memset(&thr, 0, sizeof thr);
    static struct obj objs[N];
    uint64_t refs[N];

    /* Fresh refs: never 0, distinct indexes (never 0), generation 1, not resolvable yet. */
    for (int i = 0; i < N; i++) {
        refs[i] = reftable_alloc(&t, &thr);
        CHECK(refs[i] != 0);
        CHECK(ref_index(refs[i]) != 0);
        CHECK_EQ(ref_gen(refs[i]), 1);
        CHECK_EQ(reftable_gen(&t, refs[i]), ref_gen(refs[i]));
        for (int j = 0; j < i; j++) CHECK(ref_index(refs[j]) != ref_index(refs[i]));
        CHECK(reftable_get(&t, refs[i]) == NULL);
    }
    uint32_t hwm = atomic_load(&t.slots.hwm);
    for (int i = 0; i < N; i++) CHECK(ref_index(refs[i]) < hwm);

    /* Publish / get. */
    for (int i = 0; i < N; i++) {
        objs[i].id = i;
        atomic_store(&objs[i].ref, refs[i]);
        reftable_publish(&t, refs[i], &objs[i]);
    }
    for (int i = 0; i < N; i++) {
        CHECK(reftable_get(&t, refs[i]) == &objs[i]);
        CHECK(resolve(&t, refs[i]) == &objs[i]);
    }

    /* Values that were never valid refs. */
    CHECK(reftable_get(&t, 0) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 1, 0)) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 0xFFFFFFFFu, 0)) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 1, hwm)) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 1, hwm + 1)) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 1, SLOTS_CHUNK * 3 + 5)) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 1, SLOTS_MAX - 1)) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 1, SLOTS_MAX)) == NULL);
    CHECK(reftable_get(&t, UINT64_MAX) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 0, 0xFFFFFFFFu)) == NULL);
    /* Right index, wrong generation: the slot's object may come back, but its ref differs. */
    for (int i = 0; i < N; i++) {
        uint32_t idx = ref_index(refs[i]);
        uint32_t gens[] = {0, 2, 3, 0x80000000u, 0xFFFFFFFFu};
        for (size_t g = 0; g < sizeof gens / sizeof gens[0]; g++) {
            uint64_t bad = ref_make(0, gens[g], idx);
            struct obj *o = reftable_get(&t, bad);
            CHECK(o == NULL || atomic_load(&o->ref) != bad);
            CHECK(resolve(&t, bad) == NULL);
        }
    }
    /* Random values: wholly random, and random generations on in-range indexes. */
    uint64_t rng = 0xDEADBEEFCAFEF00DULL;
    for (long k = 0; k < RANDOM_GETS; k++) {
        uint64_t v = check_rand(&rng);
        if (k & 1) v = ref_make(0, (uint32_t)(v >> 32), (uint32_t)(v % (hwm + 8)));
        bool live = false;
        for (int i = 0; i < N && !live; i++) live = refs[i] == v;
        if (live) continue;
        struct obj *o = reftable_get(&t, v);
        if (o) CHECK(o >= objs && o < objs + N); /* only published objects come back */
        CHECK(o == NULL || atomic_load(&o->ref) != v);
    }

    /* Clear: the ref stops resolving; other refs are untouched. */
    reftable_clear(&t, refs[0]);
    CHECK(reftable_get(&t, refs[0]) == NULL);
    CHECK(reftable_get(&t, refs[1]) == &objs[1]);

    /* Free bumps the generation; when the slot is reused, the old ref resolves to nothing
     * or to the new object, whose ref differs. */
    uint64_t old = refs[0];
    reftable_free(&t, &thr, old);
    CHECK_EQ(reftable_gen(&t, old), ref_gen(old) + 1);
    CHECK(reftable_get(&t, old) == NULL);
    uint64_t reused = 0;
    for (int k = 0; k < 2 * SLOTS_BATCH + 1 && !reused; k++) {
        uint64_t r = reftable_alloc(&t, &thr);
        CHECK(r != 0);
        if (ref_index(r) == ref_index(old)) reused = r;
    }
    CHECK(reused != 0); /* the freed slot is on this thread's free list */
    CHECK(reused != old);
    CHECK_EQ(ref_gen(reused), ref_gen(old) + 1);
    static struct obj fresh;
    atomic_store(&fresh.ref, reused);
    reftable_publish(&t, reused, &fresh);
    CHECK(reftable_get(&t, reused) == &fresh);
    struct obj *o = reftable_get(&t, old);
    CHECK(o == NULL || atomic_load(&o->ref) != old);
    CHECK(resolve(&t, old) == NULL);
    CHECK(resolve(&t, reused) == &fresh);
    reftable_destroy(&t);
}

static void test_generation_wrap(void) {
    struct reftable t;
    CHECK_OK(reftable_init(&t, 0, 1));
    struct slot_cache thr;
    memset(&thr, 0, sizeof thr);

    /* Take a slot, free it, and age its generation to the last one while it is free. */
    uint64_t r0 = reftable_alloc(&t, &thr);
    CHECK(r0 != 0);
    uint32_t idx = ref_index(r0);
    reftable_free(&t, &thr, r0);
    reftable_set_gen(&t, r0, REF_GEN_MAX);
    CHECK_EQ(reftable_gen(&t, r0), REF_GEN_MAX);

    uint64_t last = 0;
    for (int k = 0; k < 2 * SLOTS_BATCH + 1 && !last; k++) {
        uint64_t r = reftable_alloc(&t, &thr);
        CHECK(r != 0);
        if (ref_index(r) == idx) last = r;
    }
    CHECK(last != 0);
    CHECK_EQ(ref_gen(last), REF_GEN_MAX);
    static struct obj o;
    atomic_store(&o.ref, last);
    reftable_publish(&t, last, &o);
    CHECK(resolve(&t, last) == &o);
    reftable_clear(&t, last);
    CHECK(reftable_get(&t, last) == NULL);
    reftable_free(&t, &thr, last); /* the generations are spent: the slot is retired */
    CHECK_EQ(reftable_gen(&t, last), 0);
    CHECK(reftable_get(&t, ref_make(0, 0, idx)) == NULL);
    CHECK(reftable_get(&t, last) == NULL);

    /* The retired index never comes back, and no ref ever has generation 0: allocate well
     * past several batches, freeing and reallocating as we go. */
    enum { N = 3 * SLOTS_CHUNK };
    uint64_t *held = calloc(N, sizeof *held);
    CHECK(held != NULL);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            held[i] = reftable_alloc(&t, &thr);
            CHECK(held[i] != 0);
            CHECK(ref_index(held[i]) != idx);
            CHECK(ref_gen(held[i]) != 0);
        }
        for (int i = 0; i < N; i++) reftable_free(&t, &thr, held[i]);
    }
    free(held);
    reftable_destroy(&t);
}

static void test_growth(void) {
    enum { N = 2 * SLOTS_CHUNK + 3 * SLOTS_BATCH + 7 };
    struct reftable t;
    CHECK_OK(reftable_init(&t, 0, 1));
    struct slot_cache thr;
    memset(&thr, 0, sizeof thr);
    struct obj *objs = calloc(N, sizeof *objs);
    CHECK(objs != NULL);
    for (int i = 0; i < N; i++) {
        uint64_t r = reftable_alloc(&t, &thr);
        CHECK(r != 0);
        atomic_store(&objs[i].ref, r);
        objs[i].id = i;
        reftable_publish(&t, r, &objs[i]);
    }
    uint32_t hwm = atomic_load(&t.slots.hwm);
    CHECK(hwm > 2 * SLOTS_CHUNK); /* the table grew into a third chunk */
    unsigned char *seen = calloc(hwm, 1);
    CHECK(seen != NULL);
    for (int i = 0; i < N; i++) {
        uint64_t r = atomic_load(&objs[i].ref);
        CHECK(ref_index(r) < hwm);
        CHECK_EQ(seen[ref_index(r)], 0); /* all distinct */
        seen[ref_index(r)] = 1;
        CHECK(resolve(&t, r) == &objs[i]);
    }
    free(seen);
    free(objs);
    reftable_destroy(&t);
}

/* ---- 4 threads, each with its own thread record ---- */

#define OWNERS_MAX (1u << 20)
static struct reftable shared;
static _Atomic int owner_of[OWNERS_MAX]; /* slot index -> thread id + 1 while live */
static struct obj thread_objs[N_THREADS][LIVE_MAX];
static _Atomic long batches_taken;

static bool is_test_obj(const struct obj *o) {
    const struct obj *lo = &thread_objs[0][0], *hi = &thread_objs[N_THREADS - 1][LIVE_MAX];
    return o >= lo && o < hi && ((uintptr_t)o - (uintptr_t)lo) % sizeof *o == 0;
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    struct slot_cache thr;
    memset(&thr, 0, sizeof thr);
    struct obj *objs = thread_objs[id];
    int live[LIVE_MAX], nlive = 0, spare[LIVE_MAX], nspare = LIVE_MAX; /* obj indexes */
    for (int i = 0; i < LIVE_MAX; i++) spare[i] = i;
    uint64_t rng = 0x1234567ULL * (uint64_t)(id + 1);
    long allocs = 0, batches = 0;

    for (long op = 0; op < THREAD_OPS; op++) {
        uint64_t r = check_rand(&rng);
        /* Now and then start over with a fresh record (its free slots are abandoned), so
         * that the threads keep taking new batches and growing the table concurrently. */
        if (op % RESET_EVERY == RESET_EVERY - 1) memset(&thr, 0, sizeof thr);
        int kind = (int)(r % 8);
        if ((kind < 3 && nspare > 0) || nlive == 0) {
            /* alloc + publish */
            if (thr.count == 0) batches++; /* this alloc takes a fresh batch */
            uint64_t ref = reftable_alloc(&shared, &thr);
            CHECK(ref != 0);
            uint32_t idx = ref_index(ref);
            CHECK(idx < OWNERS_MAX);
            int none = 0;
            if (!atomic_compare_exchange_strong(&owner_of[idx], &none, id + 1))
                fprintf(stderr, "thread %d got index %u, live in thread %d\n", id, idx, none - 1);
            CHECK(none == 0);
            CHECK(reftable_get(&shared, ref) == NULL); /* fresh or cleared before its free */
            struct obj *o = &objs[spare[--nspare]];
            atomic_store(&o->ref, ref);
            reftable_publish(&shared, ref, o);
            live[nlive++] = (int)(o - objs);
            allocs++;
        } else if (kind < 5) {
            /* clear + free */
            int k = (int)((r >> 8) % (uint64_t)nlive);
            struct obj *o = &objs[live[k]];
            uint64_t ref = atomic_load(&o->ref);
            CHECK(resolve(&shared, ref) == o);
            reftable_clear(&shared, ref);
            CHECK(reftable_get(&shared, ref) == NULL);
            CHECK_EQ(atomic_exchange(&owner_of[ref_index(ref)], 0), id + 1);
            reftable_free(&shared, &thr, ref);
            CHECK_EQ(reftable_gen(&shared, ref), ref_gen(ref) + 1);
            CHECK(reftable_get(&shared, ref) == NULL);
            spare[nspare++] = live[k];
            live[k] = live[--nlive];
        } else {
            /* get: every own live ref resolves to its object; any other index is harmless */
            int k = (int)((r >> 8) % (uint64_t)nlive);
            struct obj *o = &objs[live[k]];
            uint64_t ref = atomic_load(&o->ref);
            CHECK(reftable_get(&shared, ref) == o);
            uint32_t hwm = atomic_load(&shared.slots.hwm);
            uint64_t any = ref_make(0, (uint32_t)(r >> 40) % 4, (uint32_t)((r >> 16) % (hwm + 4)));
            struct obj *x = reftable_get(&shared, any);
            CHECK(x == NULL || is_test_obj(x));
        }
    }
    /* Everything still live resolves; then give it back. */
    for (int k = 0; k < nlive; k++) {
        struct obj *o = &objs[live[k]];
        uint64_t ref = atomic_load(&o->ref);
        CHECK(resolve(&shared, ref) == o);
        reftable_clear(&shared, ref);
        CHECK_EQ(atomic_exchange(&owner_of[ref_index(ref)], 0), id + 1);
        reftable_free(&shared, &thr, ref);
    }
    CHECK(allocs > 0);
    atomic_fetch_add(&batches_taken, batches);
    return NULL;
}

static void test_threads(void) {
    CHECK_OK(reftable_init(&shared, 0, 1));
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < N_THREADS; i++) CHECK(pthread_join(th[i], NULL) == 0);
    for (uint32_t i = 0; i < OWNERS_MAX; i++) CHECK_EQ(atomic_load(&owner_of[i]), 0);
    /* Only whole batches move the high-water mark, and only when a thread's cache was empty
     * (some of those refills come from the shared spill list instead). */
    uint32_t hwm = atomic_load(&shared.slots.hwm);
    CHECK((hwm - 1) % SLOTS_BATCH == 0);
    CHECK(hwm <= 1 + SLOTS_BATCH * (uint64_t)atomic_load(&batches_taken));
    CHECK(hwm > 2 * SLOTS_CHUNK); /* the threads grew the table across chunks */
    printf("test_reftable: %d threads x %d ops: %ld batches, high-water mark %u\n", N_THREADS,
           THREAD_OPS, atomic_load(&batches_taken), hwm);
    reftable_destroy(&shared);
}

/* A full table refuses allocation without moving its high-water mark, so lookups stay inside
 * the chunk array and the mark cannot wrap around to reissue slot 1. (White-box: the mark is
 * set to the value of a full table instead of allocating 2^28 slots.) */
static void test_full_table(void) {
    struct reftable t;
    CHECK_EQ(reftable_init(&t, 0, 1), 0);
    struct slot_cache a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    uint64_t live = reftable_alloc(&t, &a);
    static int obj;
    reftable_publish(&t, live, &obj);
    const uint32_t full = SLOTS_MAX - SLOTS_BATCH + 1;
    atomic_store(&t.slots.hwm, full);
    for (int i = 0; i < 1000; i++) CHECK_EQ(reftable_alloc(&t, &b), 0);
    CHECK_EQ(atomic_load(&t.slots.hwm), full);
    CHECK(reftable_get(&t, ref_make(0, 1, SLOTS_MAX)) == NULL);
    CHECK(reftable_get(&t, ref_make(0, 1, 0xFFFFFFFFu)) == NULL);
    CHECK(reftable_get(&t, live) == &obj);
    reftable_destroy(&t);
}

/* Slots freed on one thread (a worker) and needed on another (main) meet in the shared spill
 * list, so a producer/freer pair does not grow the table round after round. */
static void test_spill(void) {
    struct reftable t;
    CHECK_EQ(reftable_init(&t, 0, 1), 0);
    struct slot_cache producer = {0, 0}, freer = {0, 0};
    enum { ROUND = 10000, ROUNDS = 20 };
    static uint64_t refs[ROUND];
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < ROUND; i++) CHECK((refs[i] = reftable_alloc(&t, &producer)) != 0);
        for (int i = 0; i < ROUND; i++) reftable_free(&t, &freer, refs[i]);
    }
    uint32_t hwm = atomic_load(&t.slots.hwm);
    CHECK(hwm < 3 * ROUND); /* without spilling it would be ROUNDS * ROUND */
    reftable_destroy(&t);
}

/* A node's table writes its number into every ref; a ref naming another node never resolves
 * to this node's actor in its slot (the caller's compare of the whole ref misses), and the node
 * field never spills into the generation or the slot. */
static void test_node_field(void) {
    struct reftable t;
    CHECK_OK(reftable_init(&t, AX_NODE_MAX, 1));
    struct slot_cache thr;
    memset(&thr, 0, sizeof thr);
    static struct obj o;
    uint64_t r = reftable_alloc(&t, &thr);
    CHECK(r != 0);
    CHECK_EQ(ref_node(r), AX_NODE_MAX);
    CHECK_EQ(ref_gen(r), 1);
    CHECK_EQ(ax_ref_node((ax_ref){r}), AX_NODE_MAX);
    atomic_store(&o.ref, r);
    reftable_publish(&t, r, &o);
    CHECK(resolve(&t, r) == &o);
    for (uint32_t node = 0; node < AX_NODE_MAX; node += 1 + node * 3) {
        uint64_t other = ref_make(node, ref_gen(r), ref_index(r));
        CHECK_EQ(ref_index(other), ref_index(r));
        CHECK_EQ(ref_gen(other), ref_gen(r));
        CHECK(resolve(&t, other) == NULL);
    }
    /* Out-of-range fields are cut to their widths. */
    CHECK_EQ(ref_make(AX_NODE_MAX + 1, 0, 0), 0);
    CHECK_EQ(ref_gen(ref_make(0, REF_GEN_MAX + 1, 7)), 0);
    reftable_clear(&t, r);
    reftable_free(&t, &thr, r);
    uint64_t again = 0;
    for (int k = 0; k < 2 * SLOTS_BATCH + 1 && !again; k++) {
        uint64_t n = reftable_alloc(&t, &thr);
        CHECK_EQ(ref_node(n), AX_NODE_MAX);
        if (ref_index(n) == ref_index(r)) again = n;
    }
    CHECK_EQ(ref_gen(again), 2);
    reftable_destroy(&t);
    /* A first generation other than 1, and out-of-range ones taken as 1. */
    CHECK_OK(reftable_init(&t, 7, 12345));
    memset(&thr, 0, sizeof thr);
    CHECK_EQ(ref_gen(reftable_alloc(&t, &thr)), 12345);
    reftable_destroy(&t);
    CHECK_OK(reftable_init(&t, 7, REF_GEN_MAX));
    memset(&thr, 0, sizeof thr);
    CHECK_EQ(ref_gen(reftable_alloc(&t, &thr)), 1);
    reftable_destroy(&t);
}

TEST_MAIN(TEST_CASE(test_basic), TEST_CASE(test_node_field), TEST_CASE(test_spill), TEST_CASE(test_full_table),
          TEST_CASE(test_generation_wrap), TEST_CASE(test_growth), TEST_CASE(test_threads))

/* SPDX-License-Identifier: MIT */
/* test_epoch.c: unit and stress tests of epoch-based reclamation (src/mem/epoch.c): a retired
 * object comes back only two epochs later and in retire order, an online record holds the
 * epoch back, and readers racing a writer that swaps and frees objects never see a freed one. */
#include "mem/epoch.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "check.h"
#include "runner.h"

#if defined(AX_TSAN)
#define SWAPS 60000
#elif defined(__SANITIZE_ADDRESS__)
#define SWAPS 60000
#else
#define SWAPS 200000
#endif
#define N_READERS 3
#define HOLD_CHECKS 8 /* checks of one object per read */
#define LIMBO_MAX 16 /* the writer waits for reclamation beyond this */

#define MAGIC_LIVE 0x4C49564547424A31ULL
#define MAGIC_DEAD 0xDEADDEADDEADDEADULL

static uint64_t global_of(struct epoch_domain *d) { return atomic_load(&d->global); }

/* Checks that list holds exactly want[0..n) in this order. */
static void check_list(struct epoch_node *list, struct epoch_node **want, int n) {
    int i = 0;
    for (struct epoch_node *x = list; x; x = x->next, i++) {
        CHECK(i < n);
        CHECK(x == want[i]);
    }
    CHECK_EQ(i, n);
}

static void test_single_thread(void) {
    static struct epoch_domain d;
    epoch_domain_init(&d);
    CHECK_EQ(global_of(&d), 1);
    struct epoch_record r;
    CHECK(epoch_register(&d, &r));
    CHECK_EQ(atomic_load(&r.local), 0);
    struct epoch_limbo l = {0};
    struct epoch_node n[6];
    memset(n, 0, sizeof n);

    /* Nothing retired: collect returns nothing and leaves the epoch alone. */
    CHECK(epoch_collect(&d, &l) == NULL);
    CHECK_EQ(global_of(&d), 1);

    /* Retired at 1: not back at 1 nor at 2, back at 3. Each collect advances at most once. */
    epoch_retire(&d, &l, &n[0]);
    epoch_retire(&d, &l, &n[1]);
    CHECK_EQ(n[0].epoch, 1);
    CHECK_EQ(l.count, 2);
    CHECK(epoch_collect(&d, &l) == NULL);
    CHECK_EQ(global_of(&d), 2);
    epoch_retire(&d, &l, &n[2]); /* retired at 2 */
    CHECK_EQ(n[2].epoch, 2);
    CHECK_EQ(l.count, 3);
    struct epoch_node *got = epoch_collect(&d, &l);
    CHECK_EQ(global_of(&d), 3);
    struct epoch_node *want01[] = {&n[0], &n[1]};
    check_list(got, want01, 2); /* retire order; n[2] is too young */
    CHECK_EQ(l.count, 1);
    got = epoch_collect(&d, &l);
    CHECK_EQ(global_of(&d), 4);
    struct epoch_node *want2[] = {&n[2]};
    check_list(got, want2, 1);
    CHECK_EQ(l.count, 0);
    CHECK(l.head == NULL && l.tail == NULL);

    /* The limbo list keeps working after it emptied; take_all returns everything in order. */
    for (int i = 3; i < 6; i++) epoch_retire(&d, &l, &n[i]);
    CHECK_EQ(l.count, 3);
    struct epoch_node *want345[] = {&n[3], &n[4], &n[5]};
    check_list(epoch_take_all(&l), want345, 3);
    CHECK_EQ(l.count, 0);
    CHECK(epoch_collect(&d, &l) == NULL);

    /* Our own record online at the current epoch does not hold the epoch back... */
    uint64_t g = global_of(&d);
    epoch_enter(&d, &r);
    CHECK_EQ(atomic_load(&r.local), g);
    CHECK_EQ(epoch_try_advance(&d), g + 1);
    /* ...but once the epoch moved on without it, it does, until it reports in. */
    CHECK_EQ(epoch_try_advance(&d), g + 1);
    epoch_quiescent(&d, &r);
    CHECK_EQ(atomic_load(&r.local), g + 1);
    CHECK_EQ(epoch_try_advance(&d), g + 2);
    epoch_leave(&r);
    CHECK_EQ(atomic_load(&r.local), 0);
    CHECK_EQ(epoch_try_advance(&d), g + 3);
    CHECK_EQ(epoch_try_advance(&d), g + 4);
}

static void test_blocking_record(void) {
    static struct epoch_domain d;
    epoch_domain_init(&d);
    struct epoch_record reader, writer, idle;
    CHECK(epoch_register(&d, &idle)); /* offline all along: never blocks */
    CHECK(epoch_register(&d, &reader));
    CHECK(epoch_register(&d, &writer));
    struct epoch_limbo l = {0};
    struct epoch_node n[2];
    memset(n, 0, sizeof n);

    epoch_enter(&d, &reader); /* online at 1 */
    CHECK_EQ(epoch_try_advance(&d), 2); /* everyone online has seen 1 */
    epoch_retire(&d, &l, &n[0]);        /* retired at 2 */
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(epoch_try_advance(&d), 2); /* the reader is still at 1 */
        CHECK(epoch_collect(&d, &l) == NULL);
    }
    /* The writer being online at the current epoch changes nothing. */
    epoch_enter(&d, &writer);
    CHECK_EQ(atomic_load(&writer.local), 2);
    CHECK_EQ(epoch_try_advance(&d), 2);

    /* The reader reports a quiescent point: the epoch moves once, then waits for it again. */
    epoch_quiescent(&d, &reader);
    CHECK_EQ(atomic_load(&reader.local), 2);
    CHECK_EQ(epoch_try_advance(&d), 3);
    CHECK_EQ(epoch_try_advance(&d), 3); /* both records are at 2 now */
    CHECK(epoch_collect(&d, &l) == NULL);
    epoch_quiescent(&d, &writer);
    CHECK_EQ(epoch_try_advance(&d), 3); /* the reader still is at 2 */

    /* The reader leaves: with the writer at 3, the epoch reaches 4 and n[0] comes back. */
    epoch_leave(&reader);
    struct epoch_node *got = epoch_collect(&d, &l);
    CHECK_EQ(global_of(&d), 4);
    CHECK(got == &n[0] && got->next == NULL);
    epoch_leave(&writer);

    /* A record that enters late takes the current epoch and does not hold anything back. */
    epoch_enter(&d, &reader);
    CHECK_EQ(atomic_load(&reader.local), 4);
    CHECK_EQ(epoch_try_advance(&d), 5);
    epoch_retire(&d, &l, &n[1]); /* retired at 5 */
    CHECK(epoch_collect(&d, &l) == NULL); /* the reader is at 4 */
    CHECK_EQ(global_of(&d), 5);
    epoch_leave(&reader);
    CHECK(epoch_collect(&d, &l) == NULL); /* advanced to 6 */
    CHECK_EQ(global_of(&d), 6);
    got = epoch_collect(&d, &l);
    CHECK_EQ(global_of(&d), 7);
    CHECK(got == &n[1]);

    /* Registration is bounded. */
    static struct epoch_domain full;
    static struct epoch_record recs[EPOCH_MAX_RECORDS + 1];
    epoch_domain_init(&full);
    for (int i = 0; i < EPOCH_MAX_RECORDS; i++) CHECK(epoch_register(&full, &recs[i]));
    CHECK(!epoch_register(&full, &recs[EPOCH_MAX_RECORDS]));
    CHECK_EQ(atomic_load(&full.nrecords), EPOCH_MAX_RECORDS);
    CHECK_EQ(epoch_try_advance(&full), 2);
}

/* ---- readers against a writer that swaps, retires and frees ---- */

struct shared_obj {
    struct epoch_node en; /* first: a node pointer is the object pointer */
    uint64_t magic;       /* plain, not atomic: TSan reports any read racing the poisoning */
    uint64_t serial;
    uint64_t check;       /* ~serial */
};

static struct epoch_domain dom;
static struct epoch_record reader_rec[N_READERS];
static _Atomic(struct shared_obj *) current;
static _Atomic int stop_readers;
static _Atomic long reads_total, freed_total;
static _Atomic int readers_done;

static struct shared_obj *obj_new(uint64_t serial) {
    struct shared_obj *o = malloc(sizeof *o);
    CHECK(o != NULL);
    o->magic = MAGIC_LIVE;
    o->serial = serial;
    o->check = ~serial;
    return o;
}

static void obj_kill(struct shared_obj *o) {
    o->magic = MAGIC_DEAD;
    o->serial = 0;
    o->check = 0;
    free(o);
}

/* Loads the current object and checks it several times while holding it (a longer window for
 * a premature free to show). Volatile: each check really reads the memory. */
static void read_one(int id, uint64_t *last_serial) {
    struct shared_obj *o = atomic_load(&current);
    for (int k = 0; k < HOLD_CHECKS; k++) {
        uint64_t magic = *(volatile uint64_t *)&o->magic;
        uint64_t serial = *(volatile uint64_t *)&o->serial;
        uint64_t check = *(volatile uint64_t *)&o->check;
        if (magic != MAGIC_LIVE || check != ~serial)
            fprintf(stderr, "reader %d: object %p: magic %llx serial %llu check %llx\n", id,
                    (void *)o, (unsigned long long)magic, (unsigned long long)serial,
                    (unsigned long long)check);
        CHECK_EQ(magic, MAGIC_LIVE);
        CHECK_EQ(check, ~serial);
        CHECK(serial >= *last_serial); /* the writer only moves forward */
        *last_serial = serial;
        core_cpu_relax();
    }
}

static void *reader(void *arg) {
    int id = (int)(intptr_t)arg;
    struct epoch_record *r = &reader_rec[id];
    uint64_t last = 0;
    long reads = 0;
    /* Reader 0 is a worker (online, quiescent between "tasks"); the others enter and leave. */
    if (id == 0) epoch_enter(&dom, r);
    while (!atomic_load_explicit(&stop_readers, memory_order_relaxed)) {
        if (id != 0) epoch_enter(&dom, r);
        for (int k = 0; k < 2; k++) read_one(id, &last);
        reads += 2;
        if (id == 0) epoch_quiescent(&dom, r);
        else epoch_leave(r);
        if ((reads & 255) == 0) sched_yield(); /* 2-CPU machines: let the writer run */
    }
    if (id == 0) epoch_leave(r);
    atomic_fetch_add(&reads_total, reads);
    atomic_fetch_add(&readers_done, 1);
    return NULL;
}

static long reclaim(struct epoch_node *list) {
    long k = 0;
    while (list) {
        struct epoch_node *next = list->next;
        obj_kill((struct shared_obj *)list);
        list = next;
        k++;
    }
    return k;
}

static void *writer(void *arg) {
    (void)arg;
    struct epoch_limbo limbo = {0};
    long retired = 0, freed = 0;
    for (uint64_t s = 1; s <= SWAPS; s++) {
        struct shared_obj *old = atomic_exchange(&current, obj_new(s));
        epoch_retire(&dom, &limbo, &old->en);
        retired++;
        freed += reclaim(epoch_collect(&dom, &limbo));
        CHECK_EQ((uint64_t)(retired - freed), limbo.count);
        /* Back-pressure: with few CPUs a preempted online reader holds the epoch, and the
         * writer would race through every swap in one epoch. Let the readers run so that
         * the epoch advances often while they read. */
        int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
        while (limbo.count > LIMBO_MAX) {
            CHECK(check_now_ms() < deadline);
            sched_yield();
            freed += reclaim(epoch_collect(&dom, &limbo));
        }
    }
    /* Reclamation made progress while the readers ran (they go offline all the time). */
    CHECK(freed > 0);
    atomic_store(&freed_total, freed);
    /* Stop the readers; once they are gone nothing can reference a retired object. */
    atomic_store(&stop_readers, 1);
    WAIT_ATOMIC(readers_done, N_READERS);
    long rest = reclaim(epoch_take_all(&limbo));
    CHECK_EQ(rest, retired - freed);
    return (void *)(intptr_t)rest;
}

static void test_readers_writer(void) {
    epoch_domain_init(&dom);
    for (int i = 0; i < N_READERS; i++) CHECK(epoch_register(&dom, &reader_rec[i]));
    atomic_store(&current, obj_new(0));
    pthread_t rd[N_READERS], wr;
    for (int i = 0; i < N_READERS; i++)
        CHECK(pthread_create(&rd[i], NULL, reader, (void *)(intptr_t)i) == 0);
    CHECK(pthread_create(&wr, NULL, writer, NULL) == 0);
    void *left;
    CHECK(pthread_join(wr, &left) == 0);
    for (int i = 0; i < N_READERS; i++) CHECK(pthread_join(rd[i], NULL) == 0);
    for (int i = 0; i < N_READERS; i++) CHECK_EQ(atomic_load(&reader_rec[i].local), 0);
    CHECK_EQ(atomic_load(&freed_total) + (long)(intptr_t)left, SWAPS);
    CHECK(atomic_load(&reads_total) > 0);
    printf("test_epoch: %d swaps, %ld reads, %ld freed while readers ran, epoch %llu\n", SWAPS,
           atomic_load(&reads_total), atomic_load(&freed_total),
           (unsigned long long)atomic_load(&dom.global));
    free(atomic_load(&current));
}

TEST_MAIN(TEST_CASE(test_single_thread), TEST_CASE(test_blocking_record),
          TEST_CASE(test_readers_writer))

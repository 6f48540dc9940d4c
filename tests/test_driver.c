/* SPDX-License-Identifier: MIT */
/* test_driver.c: the worker's driver seam (src/sched/driver.h) with a fake event source in place
 * of the futex park, as an I/O poller will sit: an event that arrives while the worker sleeps in
 * it wakes the worker and becomes a task; sends from outside unpark it; the wheel's deadline
 * reaches its park; every event is counted. */
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "runner.h"
#include "sched/sched.h"

/* A fake poller: `ready` events wait to be polled; park sleeps on `kick` (a futex word that an
 * event or an unpark sets), like an eventfd in a ring. */
struct fake {
    struct sched_driver base;
    _Atomic uint32_t kick;
    atomic_int ready;        /* events not yet polled */
    atomic_int parks, unparks, polls_made;
    _Atomic int64_t last_deadline; /* the last park with a deadline */
    struct sched *s;
};

static struct fake g_fake;
static atomic_int g_ran;
static struct sched_task g_event_task;

static void count_run(struct sched_task *t, struct sched_thread *self) {
    (void)t;
    if (self) atomic_fetch_add(&g_ran, 1);
}

static bool fake_poll(struct sched_driver *d, struct sched_thread *self, bool idle) {
    struct fake *f = (struct fake *)d;
    (void)idle;
    if (atomic_load(&f->ready) == 0) return false;
    atomic_fetch_sub(&f->ready, 1);
    atomic_fetch_add(&f->polls_made, 1);
    sched_wake_local(self, &g_event_task); /* a completion becomes a runnable task */
    return true;
}

static int64_t fake_pending(struct sched_driver *d) {
    return atomic_load(&((struct fake *)d)->ready) ? 0 : INT64_MAX;
}

static void fake_park(struct sched_driver *d, int64_t deadline_ns) {
    struct fake *f = (struct fake *)d;
    atomic_fetch_add(&f->parks, 1);
    if (deadline_ns != INT64_MAX) atomic_store(&f->last_deadline, deadline_ns);
    int64_t timeout = -1;
    if (deadline_ns != INT64_MAX) {
        timeout = deadline_ns - core_now_ns();
        if (timeout <= 0) return;
    }
    if (atomic_exchange(&f->kick, 0) == 0) core_futex_wait(&f->kick, 0, timeout);
    atomic_store(&f->kick, 0);
}

static void fake_kick(struct fake *f) {
    atomic_store(&f->kick, 1);
    core_futex_wake(&f->kick, 1);
}

static void fake_unpark(struct sched_driver *d) {
    atomic_fetch_add(&((struct fake *)d)->unparks, 1);
    fake_kick((struct fake *)d);
}

static const struct sched_driver_ops fake_ops = {
    .poll = fake_poll, .pending = fake_pending, .park = fake_park, .unpark = fake_unpark};

static atomic_int g_fired;
static void fire_count(struct sched *s, struct wheel_entry *e, struct sched_thread *self) {
    (void)s, (void)e;
    if (self) atomic_fetch_add(&g_fired, 1);
}
static void reclaim_none(struct sched *s, struct epoch_node *n, struct sched_thread *self) {
    (void)s, (void)n, (void)self;
}

/* One worker that parks at once, sleeping in the fake driver. */
static struct sched *start(void) {
    static struct sched s;
    struct sched_config cfg = {.workers = 1, .batch = 64, .lifo_cap = 32, .spin_ns = 0};
    CHECK_OK(sched_init(&s, &cfg));
    s.timer_fire = fire_count;
    s.reclaim = reclaim_none;
    memset(&g_fake, 0, sizeof g_fake);
    g_fake.base.ops = &fake_ops;
    g_fake.s = &s;
    sched_set_driver(&s, 0, &g_fake.base);
    g_event_task.run = count_run;
    CHECK_OK(sched_start(&s));
    return &s;
}

static void stop(struct sched *s) {
    sched_stop(s);
    sched_destroy(s);
}

static void wait_parked(struct sched *s) {
    WAIT_UNTIL(atomic_load(&s->parked) == 1 && atomic_load(&g_fake.kick) == 0 &&
               atomic_load(&g_fake.parks) > 0);
}

/* An event while the worker sleeps in the driver: the worker wakes by itself (nobody notified
 * it), polls, and runs the task the event made, every time. */
static void event_wakes_parked_worker(void) {
    struct sched *s = start();
    enum { EVENTS = 300 };
    for (int i = 0; i < EVENTS; i++) {
        wait_parked(s);
        atomic_fetch_add(&g_fake.ready, 1);
        fake_kick(&g_fake);
        WAIT_ATOMIC(g_ran, i + 1);
    }
    CHECK_EQ(atomic_load(&g_fake.polls_made), EVENTS);
    CHECK_EQ(atomic_load(&g_fake.ready), 0);
    CHECK(atomic_load(&g_fake.parks) >= EVENTS);
    CHECK_EQ(atomic_load(&g_fake.unparks), 0); /* the events alone woke it */
    stop(s);
}

/* Work from outside: sched_notify claims the parked worker and unparks its driver stack, which
 * reaches the fake through the wheel. */
static void inject_unparks_driver(void) {
    struct sched *s = start();
    enum { TASKS = 300 };
    static struct sched_task tasks[TASKS];
    for (int i = 0; i < TASKS; i++) {
        wait_parked(s);
        tasks[i].run = count_run;
        sched_inject(s, &tasks[i]);
        WAIT_ATOMIC(g_ran, i + 1);
    }
    CHECK(atomic_load(&g_fake.unparks) >= TASKS);
    CHECK_EQ(atomic_load(&g_fake.polls_made), 0);
    stop(s);
}

/* A timer armed while the worker sleeps: the armer wakes it, it parks again with the timer's
 * deadline passed down to the inner driver, and the timer fires (never early). */
static void wheel_deadline_reaches_inner_park(void) {
    struct sched *s = start();
    wait_parked(s);
    static struct wheel_entry e;
    int64_t armed_at = core_now_ns();
    e.deadline = sched_tick_after_ms(s, 30);
    sched_timer_arm(s, NULL, &e);
    WAIT_ATOMIC(g_fired, 1);
    CHECK(core_now_ns() - armed_at >= 30 * 1000000ll);
    /* The worker slept in the fake until the wheel's deadline (the tick at or after 30 ms). */
    int64_t d = atomic_load(&g_fake.last_deadline);
    CHECK(d >= armed_at + 30 * 1000000ll);
    CHECK(d < armed_at + 30 * 1000000ll + 1000000000ll);
    stop(s);
}

TEST_MAIN(TEST_CASE(event_wakes_parked_worker), TEST_CASE(inject_unparks_driver),
          TEST_CASE(wheel_deadline_reaches_inner_park))

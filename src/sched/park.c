/* SPDX-License-Identifier: MIT */
/* park.c: the driver that only sleeps: a futex wait on the worker's sleep word, woken by a
 * futex wake once a notifier has claimed the worker (its word 1 -> 0, worker.c). */
#include "core/platform.h"
#include "sched/driver.h"

static bool park_poll(struct sched_driver *d, struct sched_thread *self, bool idle) {
    (void)d, (void)self, (void)idle;
    return false;
}

static int64_t park_pending(struct sched_driver *d) {
    (void)d;
    return INT64_MAX;
}

static void park_sleep(struct sched_driver *d, int64_t deadline_ns) {
    struct sched_park_driver *p = (struct sched_park_driver *)d;
    int64_t timeout = -1;
    if (deadline_ns != INT64_MAX) {
        timeout = deadline_ns - core_now_ns();
        if (timeout <= 0) return;
    }
    /* Returns at once if the word is no longer 1: a wake between the caller's check and this
     * wait is not lost. */
    core_futex_wait(p->sleep, 1, timeout);
}

static void park_unpark(struct sched_driver *d) {
    core_futex_wake(((struct sched_park_driver *)d)->sleep, 1);
}

static const struct sched_driver_ops park_ops = {
    .poll = park_poll, .pending = park_pending, .park = park_sleep, .unpark = park_unpark};

void sched_park_driver_init(struct sched_park_driver *p, _Atomic uint32_t *sleep_word) {
    p->base.ops = &park_ops;
    p->sleep = sleep_word;
}

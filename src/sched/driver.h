/* SPDX-License-Identifier: MIT */
/* driver.h: a worker's event sources behind one interface: poll what is ready without blocking,
 * say when the worker must wake, sleep until then, and be woken from another thread. */
#ifndef AX_SCHED_DRIVER_H
#define AX_SCHED_DRIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct sched_thread;
struct sched_driver;

/* Drivers stack: the timing wheel (timer_driver.h) wraps the driver that sleeps, which is the
 * futex park below unless an I/O poller takes its place (then the worker sleeps in the poller,
 * and a message, a timer and a completion wake it alike). The worker loop (worker.c) calls only
 * these four; the wake protocol around them is the worker's (see worker.c). */
struct sched_driver_ops {
    /* The owning worker, never blocking: makes what is ready runnable (fires due timers, reaps
     * completions). `idle`: the worker has nothing else to run and may take over overdue
     * events of busy workers. Returns true if it made a task runnable. */
    bool (*poll)(struct sched_driver *d, struct sched_thread *self, bool idle);
    /* The owning worker, parking (after its Dekker fence, see worker.c): when it must wake
     * for this driver, in monotonic ns; a time already past if an event is ready now, INT64_MAX
     * if none is expected. */
    int64_t (*pending)(struct sched_driver *d);
    /* The owning worker: sleeps until deadline_ns (INT64_MAX: no limit), an unpark, or an event
     * of its own, whichever is first; may return early (the caller looks again). */
    void (*park)(struct sched_driver *d, int64_t deadline_ns);
    /* Any thread, after claiming the parked worker: makes its park (or its next one) return. */
    void (*unpark)(struct sched_driver *d);
};

struct sched_driver {
    const struct sched_driver_ops *ops;
};

/* The driver that only sleeps: a futex on the worker's sleep word (1 parked, 0 woken). */
struct sched_park_driver {
    struct sched_driver base;
    _Atomic uint32_t *sleep;
};

void sched_park_driver_init(struct sched_park_driver *p, _Atomic uint32_t *sleep_word);

#endif

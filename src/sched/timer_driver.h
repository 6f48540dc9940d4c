/* SPDX-License-Identifier: MIT */
/* timer_driver.h: the timing wheel as a worker's first driver: ticks since the scheduler
 * started, arming from any thread, and firing due entries through the scheduler's hook. */
#ifndef AX_SCHED_TIMER_DRIVER_H
#define AX_SCHED_TIMER_DRIVER_H

#include "core/platform.h"
#include "sched/driver.h"
#include "sched/wheel.h"

struct sched;
struct sched_thread;

/* Ticks of SCHED_TICK_NS since the scheduler started. A quarter of a millisecond: a timer
 * fires at most one tick after its deadline (plus wake-up), and the wheel's 2^36 ticks still
 * cover half a year before its overflow list takes over. */
#define SCHED_TICK_NS 250000
/* Ticks in a millisecond. */
#define SCHED_TICKS_PER_MS (1000000 / SCHED_TICK_NS)

/* One per worker: its wheel, and the driver it sleeps in. Arming pushes onto the arming stack
 * (any thread, lock-free); the owner moves the stack into the wheel in batches and fires, and an
 * idle worker does both for a busy one: so the wheel has a spinlock, which arming never takes,
 * and publishes its earliest deadline for parking workers to read. */
struct sched_timer_driver {
    struct sched_driver base;
    struct sched_driver *inner; /* sleeps for it: the futex park, or an I/O poller */
    struct sched *s;
    unsigned far_skips; /* the owner: looks to skip while the next deadline is far (run_due) */
    struct wheel wheel;                /* under lock */
    AX_ALIGNED_LINE _Atomic int lock;  /* the owner, and idle workers helping a busy one */
    _Atomic uint64_t next;             /* the wheel's earliest deadline (tick) */
    /* Entries armed and not yet in the wheel: a Treiber stack through wheel_entry.next. */
    AX_ALIGNED_LINE _Atomic(struct wheel_entry *) arming;
};

void sched_timer_driver_init(struct sched_timer_driver *t, struct sched *s,
                             struct sched_driver *inner);
uint64_t sched_tick_now(const struct sched *s);
/* The first tick at or after now + delay_ms: a timer armed for it is never early. */
uint64_t sched_tick_after_ms(const struct sched *s, int64_t delay_ms);
/* Any thread (self NULL: no record): e (deadline set) fires through s->timer_fire on some
 * worker at its tick. Takes no lock: one CAS, and a wake-up check when it finds the chosen
 * wheel's arming stack empty. */
void sched_timer_arm(struct sched *s, struct sched_thread *self, struct wheel_entry *e);
/* At destroy, workers stopped: passes every entry still armed to s->timer_fire with self NULL. */
void sched_timers_destroy(struct sched *s);
/* Deterministic mode, the owner with nothing runnable: takes what was armed, moves virtual time
 * to the wheel's next work and fires what is due then; false if the wheel is empty. */
bool sched_timers_advance_virtual(struct sched_timer_driver *t, struct sched_thread *self);

#endif

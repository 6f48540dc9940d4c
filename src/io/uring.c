/* SPDX-License-Identifier: MIT */
/* uring.c: the io_uring poller. One ring per worker, created disabled and enabled by its worker
 * on first use, so that the kernel may treat it as single-issuer. A read of an eventfd is always
 * in flight: unpark writes the eventfd, and its completion ends a wait in the ring. Completions
 * are reaped from the shared ring in user space; the kernel is entered only to submit, to run
 * deferred completion work it has flagged, or to sleep.
 *
 * Sources: liburing's man pages (io_uring_setup(2), io_uring_enter(2), io_uring_enable_rings,
 * io_uring_submit_and_wait_timeout) and the kernel's io_uring documentation. */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "axon.h"
#include "core/duration.h"
#include "core/platform.h"
#include "io/poller.h"
#include "mem/fault.h"

/* The only request so far: the eventfd read that unpark completes. */
#define WAKE_TAG 1u

struct uring_poller {
    struct io_poller base;
    struct io_uring ring;
    int wake_fd;
    int enabled;        /* the worker enabled the ring (it became its submitter) */
    int broken;         /* the kernel refused to enable or enter it: sleep in poll(2) instead */
    uint64_t wake_buf;  /* the eventfd's counter lands here */
};

static struct uring_poller *of(struct sched_driver *d) { return (struct uring_poller *)d; }

static void arm_wake(struct uring_poller *u) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) { /* the queue is full of submissions: make room, then it fits */
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
        if (!sqe) return;
    }
    io_uring_prep_read(sqe, u->wake_fd, &u->wake_buf, sizeof u->wake_buf, 0);
    io_uring_sqe_set_data64(sqe, WAKE_TAG);
}

/* The worker's first call: it becomes the ring's submitter, and the wake read goes in. Through
 * the system call: Debian 12's liburing.so (2.3) declares io_uring_enable_rings but does not
 * export it. */
static void enable(struct uring_poller *u) {
    u->enabled = 1;
#ifdef AX_FAULT_INJECTION
    if (getenv("AX_TEST_URING_BROKEN")) { /* tests: a kernel that refuses the ring later */
        u->broken = 1;
        return;
    }
#endif
    if (syscall(__NR_io_uring_register, u->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) {
        u->broken = 1;
        return;
    }
    arm_wake(u);
    io_uring_submit(&u->ring);
}

/* A ring the kernel refuses at run time: the worker still sleeps, on the eventfd alone, and
 * for 50 ms at most, because a wake read still in flight in the ring may take a token that
 * poll(2) then never sees. */
enum { BROKEN_NAP_MS = 50 };
static void park_broken(struct uring_poller *u, int64_t deadline_ns) {
    int ms = BROKEN_NAP_MS;
    if (deadline_ns != INT64_MAX) {
        int64_t left = deadline_ns - core_now_ns();
        if (left <= 0) return;
        int up = core_ns_to_ms_up(left);
        if (up < ms) ms = up;
    }
    struct pollfd pfd = {.fd = u->wake_fd, .events = POLLIN};
    if (poll(&pfd, 1, ms) > 0) {
        eventfd_t v;
        eventfd_read(u->wake_fd, &v); /* readable: does not block */
        u->base.wakes++;
    }
}

/* Submits what is queued, and lets the kernel post completions it deferred to us. */
static void flush(struct uring_poller *u) {
    if (io_uring_sq_ready(&u->ring) ||
        (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_TASKRUN))
        io_uring_submit(&u->ring);
}

static bool uring_poll(struct sched_driver *d, struct sched_thread *self, bool idle) {
    struct uring_poller *u = of(d);
    (void)self, (void)idle;
    if (ax_unlikely(!u->enabled)) enable(u);
    if (ax_unlikely(u->broken)) return false;
    flush(u);
    unsigned head, seen = 0;
    struct io_uring_cqe *cqe;
    bool rearm = false;
    io_uring_for_each_cqe(&u->ring, head, cqe) {
        seen++;
        if (cqe->user_data == WAKE_TAG) {
            u->base.wakes++;
            rearm = true;
            if (cqe->res < 0) u->broken = 1; /* the read fails: it would fail again at once */
        }
    }
    if (seen) io_uring_cq_advance(&u->ring, seen);
    if (rearm && !u->broken) arm_wake(u);
    return false; /* no request makes tasks runnable yet */
}

static int64_t uring_pending(struct sched_driver *d) {
    struct uring_poller *u = of(d);
    return u->enabled && !u->broken && io_uring_cq_ready(&u->ring) ? 0 : INT64_MAX;
}

static void uring_park(struct sched_driver *d, int64_t deadline_ns) {
    struct uring_poller *u = of(d);
    if (ax_unlikely(!u->enabled)) enable(u);
    if (ax_unlikely(u->broken)) {
        park_broken(u, deadline_ns);
        return;
    }
    struct io_uring_cqe *cqe;
    int rc;
    if (deadline_ns == INT64_MAX) {
        rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, NULL, NULL);
    } else {
        int64_t left = deadline_ns - core_now_ns();
        if (left <= 0) return;
        struct __kernel_timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
        rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    }
    /* A refusal (seccomp, a resource limit) rather than a timeout or a signal: waiting in the
     * ring would return at once forever, so sleep on the eventfd from now on. */
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) u->broken = 1;
}

static void uring_unpark(struct sched_driver *d) {
    /* A token left unread wakes the next wait at once: a wake is never lost, at worst early. */
    eventfd_write(of(d)->wake_fd, 1);
}

static const struct sched_driver_ops uring_ops = {
    .poll = uring_poll, .pending = uring_pending, .park = uring_park, .unpark = uring_unpark};

/* Flags a worker's ring would like, in the order they are given up when the kernel refuses. */
static const unsigned WANTED[] = {
    IORING_SETUP_R_DISABLED | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
        IORING_SETUP_TASKRUN_FLAG,
    IORING_SETUP_R_DISABLED | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    IORING_SETUP_R_DISABLED,
};

enum { RING_ENTRIES = 256 };

/* Whether this process may enable a ring and wait in it: io_uring_setup alone succeeding
 * proves neither (a seccomp filter may refuse io_uring_register or io_uring_enter). */
static int probe(void) {
    struct io_uring r;
    int rc = io_uring_queue_init(2, &r, IORING_SETUP_R_DISABLED);
    if (rc) return rc;
    if (syscall(__NR_io_uring_register, r.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) {
        rc = -errno;
    } else {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r);
        io_uring_prep_nop(sqe);
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {0, 1000000};
        rc = io_uring_submit_and_wait_timeout(&r, &cqe, 1, &ts, NULL);
        rc = rc < 0 && rc != -ETIME ? rc : 0;
    }
    io_uring_queue_exit(&r);
    return rc;
}

struct io_poller *io_uring_poller_create(int *err) {
#ifdef AX_FAULT_INJECTION
    if (getenv("AX_IO_URING_FAIL")) { /* tests: behave as a kernel that refuses io_uring */
        *err = -EPERM;
        return NULL;
    }
#endif
    static _Atomic int probed = 1; /* 1: not yet; 0 or -errno: the answer */
    int p = atomic_load(&probed);
    if (p == 1) atomic_store(&probed, p = probe());
    if (p) {
        *err = p;
        return NULL;
    }
    struct uring_poller *u = mem_calloc(1, sizeof *u);
    if (!u) {
        *err = -ENOMEM;
        return NULL;
    }
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof WANTED / sizeof WANTED[0]; i++) {
        rc = io_uring_queue_init(RING_ENTRIES, &u->ring, WANTED[i]);
        if (rc == 0 || (rc != -EINVAL)) break; /* EINVAL: an unknown flag; others are final */
    }
    if (rc == 0 && !(u->ring.features & IORING_FEAT_EXT_ARG)) { /* waits need a timeout */
        io_uring_queue_exit(&u->ring);
        rc = -ENOSYS;
    }
    if (rc != 0) {
        free(u);
        *err = rc;
        return NULL;
    }
    /* Blocking: a ring read of a non-blocking eventfd may complete at once with -EAGAIN on some
     * kernels instead of waiting for a write. */
    u->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (u->wake_fd < 0) {
        *err = -errno;
        io_uring_queue_exit(&u->ring);
        free(u);
        return NULL;
    }
    u->base.base.ops = &uring_ops;
    u->base.kind = AX_IO_URING;
    return &u->base;
}

void io_uring_poller_destroy(struct io_poller *p) {
    struct uring_poller *u = (struct uring_poller *)p;
    io_uring_queue_exit(&u->ring);
    close(u->wake_fd);
    free(u);
}

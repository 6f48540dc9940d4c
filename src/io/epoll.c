/* SPDX-License-Identifier: MIT */
/* epoll.c: the epoll poller, the fallback when io_uring is missing or refused. One epoll
 * instance per worker with an eventfd in it: unpark writes the eventfd, which ends an
 * epoll_pwait2 (nanosecond timeout; kernels before 5.11, or a seccomp filter that refuses it,
 * get epoll_wait with the timeout rounded up to a millisecond). A poll costs a system call, so
 * it is made only while descriptors other than the eventfd are registered; readiness found
 * while parked is kept for the next poll. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "axon.h"
#include "core/duration.h"
#include "core/platform.h"
#include "io/poller.h"
#include "mem/fault.h"

enum { MAX_EVENTS = 64 };
#define WAKE_TAG 1u

struct epoll_poller {
    struct io_poller base;
    int epfd, wake_fd;
    unsigned registered;                 /* descriptors besides the eventfd */
    bool no_pwait2;                      /* epoll_pwait2 refused: epoll_wait in ms */
    int nready;                          /* events[0..nready) found by a park, not yet handled */
    struct epoll_event events[MAX_EVENTS];
};

static struct epoll_poller *of(struct sched_driver *d) { return (struct epoll_poller *)d; }

/* Keeps the events that are not the eventfd (draining it); returns how many. */
static int keep(struct epoll_poller *p, int n) {
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (p->events[i].data.u64 == WAKE_TAG) {
            eventfd_t v;
            eventfd_read(p->wake_fd, &v);
            p->base.wakes++;
            continue;
        }
        p->events[kept++] = p->events[i];
    }
    return kept;
}

static bool epoll_poll(struct sched_driver *d, struct sched_thread *self, bool idle) {
    struct epoll_poller *p = of(d);
    (void)self, (void)idle;
    if (p->nready == 0 && p->registered == 0) return false; /* nothing to ask the kernel */
    if (p->nready == 0) p->nready = keep(p, epoll_wait(p->epfd, p->events, MAX_EVENTS, 0));
    p->nready = 0; /* no descriptor makes tasks runnable yet */
    return false;
}

static int64_t epoll_pending(struct sched_driver *d) {
    return of(d)->nready > 0 ? 0 : INT64_MAX;
}

/* epoll_pwait2 through the system call (glibc has it from 2.35 only); -1 with errno. */
static int pwait2(struct epoll_poller *p, const struct timespec *ts) {
#ifdef SYS_epoll_pwait2
    return (int)syscall(SYS_epoll_pwait2, p->epfd, p->events, MAX_EVENTS, ts, NULL, 0);
#else
    (void)p, (void)ts;
    errno = ENOSYS;
    return -1;
#endif
}

static void epoll_park(struct sched_driver *d, int64_t deadline_ns) {
    struct epoll_poller *p = of(d);
    int64_t left = -1;
    if (deadline_ns != INT64_MAX) {
        left = deadline_ns - core_now_ns();
        if (left <= 0) return;
    }
    int n = -1;
    if (!p->no_pwait2) {
        struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
        n = pwait2(p, left < 0 ? NULL : &ts);
        if (n < 0 && (errno == ENOSYS || errno == EPERM)) p->no_pwait2 = true;
    }
    if (p->no_pwait2) {
        n = epoll_wait(p->epfd, p->events, MAX_EVENTS, left < 0 ? -1 : core_ns_to_ms_up(left));
    }
    p->nready = n > 0 ? keep(p, n) : 0;
}

static void epoll_unpark(struct sched_driver *d) { eventfd_write(of(d)->wake_fd, 1); }

static const struct sched_driver_ops epoll_ops = {
    .poll = epoll_poll, .pending = epoll_pending, .park = epoll_park, .unpark = epoll_unpark};

struct io_poller *io_epoll_poller_create(int *err) {
    struct epoll_poller *p = mem_calloc(1, sizeof *p);
    if (!p) {
        *err = -ENOMEM;
        return NULL;
    }
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
    if (p->epfd < 0 || p->wake_fd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wake_fd, &ev) != 0) {
        *err = -errno;
        if (p->epfd >= 0) close(p->epfd);
        if (p->wake_fd >= 0) close(p->wake_fd);
        free(p);
        return NULL;
    }
    p->base.base.ops = &epoll_ops;
    p->base.kind = AX_IO_EPOLL;
#ifdef AX_FAULT_INJECTION
    if (getenv("AX_TEST_NO_PWAIT2")) p->no_pwait2 = true; /* tests: an older kernel */
#endif
    return &p->base;
}

void io_epoll_poller_destroy(struct io_poller *base) {
    struct epoll_poller *p = (struct epoll_poller *)base;
    close(p->epfd);
    close(p->wake_fd);
    free(p);
}

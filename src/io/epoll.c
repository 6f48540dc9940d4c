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
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "axon.h"
#include "core/duration.h"
#include "core/platform.h"
#include "core/probes.h"
#include "io/poller.h"
#include "mem/fault.h"
#include "stats/stats.h"

enum { MAX_EVENTS = 64, SCRATCH = 16384 };
#define WAKE_TAG 1u

struct epoll_poller {
    struct io_poller base;
    int epfd, wake_fd;
    unsigned registered;                 /* descriptors besides the eventfd */
    bool no_pwait2;                      /* epoll_pwait2 refused: epoll_wait in ms */
    int nready;                          /* events[0..nready) found by a park, not yet handled */
    struct epoll_event events[MAX_EVENTS];
    unsigned char scratch[SCRATCH];      /* recv(2) lands here, then goes out as a message */
    int nmore;                           /* sockets left readable at the round limit */
    struct io_sock *more[MAX_EVENTS];
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


/* ---- sockets: edge-triggered readiness, then the plain system calls --------------------- */

static void watch(struct epoll_poller *p, struct io_sock *s) {
    if (s->registered) return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, s->fd, &ev) == 0) {
        s->registered = true;
        p->registered++;
    }
}

static void accept_ready(struct epoll_poller *p, struct io_sock *s) {
    while (s->accepting && !s->accept_paused && !s->closing) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            sock_accepted(&p->base, s, fd);
            continue;
        }
        if (errno == EAGAIN || errno == EINTR) return;
        sock_accept_failed(&p->base, s, -errno);
        if (errno != ECONNABORTED && errno != EPROTO) return;
    }
}

/* Reads until the socket is empty, a bounded number of rounds per readiness so one busy peer
 * cannot hold the worker (edge-triggered: the rest is read at the next poll, via `more`). */
static void read_ready(struct epoll_poller *p, struct io_sock *s) {
    int limit = p->nmore < MAX_EVENTS ? 16 : INT32_MAX; /* no room to remember: read all */
    if (s->kind == KIND_DGRAM) {
        if (sock_read_datagrams(&p->base, s, limit)) p->more[p->nmore++] = s;
        return;
    }
    for (int rounds = 0; rounds < limit; rounds++) {
        if (!s->reading || s->closing) return;
        ssize_t n = recv(s->fd, p->scratch, sizeof p->scratch, 0);
        if (n > 0) {
            sock_data(&p->base, s, p->scratch, (size_t)n);
            continue;
        }
        if (n == 0) sock_eof(&p->base, s);
        else if (errno != EAGAIN && errno != EINTR) sock_failed(&p->base, s, -errno);
        return;
    }
    p->more[p->nmore++] = s; /* not drained: the next poll reads on without a new edge */
}

static void epoll_sock_read(struct io_poller *base, struct io_sock *s) {
    struct epoll_poller *p = (struct epoll_poller *)base;
    if (s->closing || s->failed || s->connecting) return;
    watch(p, s);
    /* Edge-triggered: what arrived before we watched gives no edge, so look now. */
    if (s->kind == KIND_LISTENER) accept_ready(p, s);
    else read_ready(p, s);
}

static void epoll_sock_write(struct io_poller *base, struct io_sock *s) {
    struct epoll_poller *p = (struct epoll_poller *)base;
    while (s->whead && !s->failed) {
        struct iovec iov[SOCK_IOV_MAX];
        struct msghdr mh;
        sock_gather_msg(s, &mh, iov); /* a datagram: with its destination */
        ssize_t k = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k >= 0) {
            sock_wrote(base, s, (size_t)k);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            watch(p, s);
            s->writing = true; /* until EPOLLOUT */
            return;
        }
        sock_failed(base, s, -errno);
    }
    sock_write_next(base, s);
}

static void epoll_sock_connect(struct io_poller *base, struct io_sock *s) {
    struct epoll_poller *p = (struct epoll_poller *)base;
    if (connect(s->fd, (struct sockaddr *)&s->addr, s->addrlen) == 0) {
        s->connecting = false;
        sock_connected(base, s, 0);
        return;
    }
    if (errno != EINPROGRESS) {
        s->connecting = false;
        sock_connected(base, s, -errno);
        return;
    }
    watch(p, s);
}

static void epoll_sock_cancel(struct io_poller *base, struct io_sock *s) {
    struct epoll_poller *p = (struct epoll_poller *)base;
    if (s->registered) {
        epoll_ctl(p->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        s->registered = false;
        p->registered--;
    }
    for (int i = 0; i < p->nready; i++) /* events found by a park, not yet handled */
        if (p->events[i].data.ptr == s) p->events[i].data.ptr = NULL;
    for (int i = 0; i < p->nmore; i++)
        if (p->more[i] == s) p->more[i] = NULL;
}

static const struct io_sock_ops epoll_sock_ops = {.read = epoll_sock_read,
                                                  .write = epoll_sock_write,
                                                  .connect = epoll_sock_connect,
                                                  .cancel = epoll_sock_cancel};

/* The socket's pending error (SO_ERROR, which clears it), negated; 0 if none. */
static int pending_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return -err;
}

static void handle(struct epoll_poller *p, struct io_sock *s, uint32_t ev) {
    int err;
    if (s->cancelled) return;
    if (s->kind == KIND_LISTENER) {
        accept_ready(p, s);
        return;
    }
    if (s->connecting && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        err = pending_error(s->fd);
        s->connecting = false;
        sock_connected(&p->base, s, err);
        if (err || s->cancelled) return;
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (s->reading) read_ready(p, s);
        else if ((ev & EPOLLERR) && !s->failed && (err = pending_error(s->fd)) != 0)
            sock_failed(&p->base, s, err);
    }
    if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && s->writing) {
        s->writing = false;
        epoll_sock_write(&p->base, s);
    }
}

/* Sockets whose reading stopped at the round limit read on (each may add itself again). */
static void read_more(struct epoll_poller *p) {
    struct io_sock *now[MAX_EVENTS];
    int n = p->nmore;
    memcpy(now, p->more, sizeof now[0] * (size_t)n);
    p->nmore = 0;
    for (int i = 0; i < n; i++) {
        if (now[i] && !now[i]->cancelled) read_ready(p, now[i]);
    }
}

static bool epoll_poll(struct sched_driver *d, struct sched_thread *self, bool idle) {
    struct epoll_poller *p = of(d);
    (void)idle;
    bool any = io_home_serve(&p->base, self);
    if (p->nmore) read_more(p);
    if (p->nready == 0 && p->registered > 0)
        p->nready = keep(p, epoll_wait(p->epfd, p->events, MAX_EVENTS, 0));
    int n = p->nready;
    /* Handled in place: a socket closed meanwhile has its entry cleared (epoll_sock_cancel). */
    for (int i = 0; i < p->nready; i++) {
        struct io_sock *s = p->events[i].data.ptr;
        AX_PROBE2(io_completion, (uintptr_t)s, p->events[i].events);
        if (s) handle(p, s, p->events[i].events);
    }
    p->nready = 0;
    if (n) stats_add(&self->stats, STAT_IO_COMPLETIONS, (uint64_t)n);
    io_home_sweep(&p->base);
    return any || n > 0;
}

static int64_t epoll_pending(struct sched_driver *d) {
    return of(d)->nready > 0 || of(d)->nmore > 0 ? 0 : io_home_pending(&of(d)->base);
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
    p->base.sock_ops = &epoll_sock_ops;
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

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
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "axon.h"
#include "core/duration.h"
#include "core/platform.h"
#include "core/probes.h"
#include "io/file.h"
#include "io/poller.h"
#include "mem/fault.h"
#include "stats/stats.h"

/* A request's user_data: a socket record's address with the operation in its low three bits
 * (records are 8-byte aligned), or WAKE_TAG alone for the eventfd read that unpark completes. */
enum { WAKE_TAG = 1, TAG_ACCEPT = 2, TAG_RECV = 3, TAG_SEND = 4, TAG_CONNECT = 5,
       TAG_CANCEL = 6, TAG_POLL = 7, TAG_MASK = 7 };
/* A file request's user_data (file.c): its record's address alone, tag 0, which no socket
 * operation uses. */
enum { TAG_FILE = 0 };

/* Receive buffers, provided to the kernel as a ring (one group per worker): a receive takes one
 * only when data arrives, so an idle connection holds none. */
enum { BUF_GROUP = 1, BUF_COUNT = 128, BUF_SIZE = 8192, SCRATCH = 16384 };

struct uring_poller {
    struct io_poller base;
    struct io_uring ring;
    int wake_fd;
    int enabled;        /* the worker enabled the ring (it became its submitter) */
    int broken;         /* the kernel refused to enable or enter it: sleep in poll(2) instead */
    uint64_t wake_buf;  /* the eventfd's counter lands here */
    /* Features, detected at enable and given up one by one when the kernel refuses them. */
    bool no_bufring;          /* no provided-buffer ring: poll for input, then recv(2) */
    bool no_multishot_recv;   /* one receive at a time from the buffer ring */
    bool no_multishot_accept; /* one accept at a time */
    struct io_uring_buf_ring *br;
    unsigned char *bufs;      /* BUF_COUNT buffers of BUF_SIZE */
    unsigned char scratch[SCRATCH]; /* recv(2) target without the buffer ring */
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

/* On the worker, once the ring is enabled (registration is the submitter's): the buffer ring. */
static void setup_buffers(struct uring_poller *u) {
#ifdef AX_FAULT_INJECTION
    if (getenv("AX_TEST_URING_NO_BUFRING")) u->no_bufring = true; /* tests: an older kernel */
    if (getenv("AX_TEST_URING_NO_MULTISHOT")) u->no_multishot_recv = u->no_multishot_accept = true;
#endif
    if (u->no_bufring) return;
    size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
    u->br = aligned_alloc(4096, (ring_bytes + 4095) & ~(size_t)4095);
    u->bufs = mem_calloc(BUF_COUNT, BUF_SIZE);
    struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)u->br, .ring_entries = BUF_COUNT,
                                   .bgid = BUF_GROUP};
    if (!u->br || !u->bufs || io_uring_register_buf_ring(&u->ring, &reg, 0) != 0) {
        free(u->br);
        free(u->bufs);
        u->br = NULL;
        u->bufs = NULL;
        u->no_bufring = true;
        return;
    }
    io_uring_buf_ring_init(u->br);
    for (unsigned i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(BUF_COUNT), (int)i);
    io_uring_buf_ring_advance(u->br, BUF_COUNT);
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
    setup_buffers(u);
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
static void flush(struct uring_poller *u, struct stats_counters *st) {
    if (io_uring_sq_ready(&u->ring) ||
        (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_TASKRUN)) {
        int n = io_uring_submit(&u->ring);
        stats_add(st, STAT_IO_ENTERS, 1);
        if (n > 0) stats_add(st, STAT_IO_SUBMITTED, (uint64_t)n);
    }
}


/* A submission slot; a full queue is submitted first to make room. NULL only if the kernel
 * takes none (then the operation is reported failed by the caller). */
static struct io_uring_sqe *sqe_get(struct uring_poller *u) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

static void set_op(struct io_uring_sqe *sqe, struct io_sock *s, unsigned tag) {
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)s | tag);
}

static void arm_accept(struct uring_poller *u, struct io_sock *s) {
    if (s->armed_accept) return;
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe) return;
    if (u->no_multishot_accept)
        io_uring_prep_accept(sqe, s->fd, NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_multishot_accept(sqe, s->fd, NULL, NULL, SOCK_CLOEXEC);
    set_op(sqe, s, TAG_ACCEPT);
    s->armed_accept = true;
    s->inflight++;
}

/* Datagram sockets always poll, then recvmsg(2): a datagram needs a buffer as large as the largest
 * one (the home's), which the 8 KiB provided buffers are not. */
static bool polls(const struct uring_poller *u, const struct io_sock *s) {
    return u->no_bufring || s->kind == KIND_DGRAM;
}

static void arm_recv(struct uring_poller *u, struct io_sock *s) {
    if (s->armed_read) return;
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe) return;
    if (polls(u, s)) {
        io_uring_prep_poll_add(sqe, s->fd, POLLIN | POLLRDHUP);
        set_op(sqe, s, TAG_POLL);
    } else {
        if (u->no_multishot_recv) io_uring_prep_recv(sqe, s->fd, NULL, 0, 0);
        else io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BUF_GROUP;
        set_op(sqe, s, TAG_RECV);
    }
    s->armed_read = true;
    s->inflight++;
}

/* Cancels the receive or accept in flight (pausing): it completes with -ECANCELED. */
static void disarm(struct uring_poller *u, struct io_sock *s, unsigned tag) {
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe) return;
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)s | tag, 0);
    io_uring_sqe_set_data64(sqe, TAG_CANCEL);
}

static void uring_sock_read(struct io_poller *p, struct io_sock *s) {
    struct uring_poller *u = (struct uring_poller *)p;
    if (s->closing || s->failed) return;
    if (s->kind == KIND_LISTENER && !s->accepting && s->armed_accept) disarm(u, s, TAG_ACCEPT);
    if (s->kind != KIND_LISTENER && !s->reading && s->armed_read)
        disarm(u, s, polls(u, s) ? TAG_POLL : TAG_RECV);
    if (s->kind == KIND_LISTENER) {
        if (s->accepting && !s->accept_paused) arm_accept(u, s);
    } else if (s->reading && !s->connecting) {
        arm_recv(u, s);
    }
}

static void uring_sock_write(struct io_poller *p, struct io_sock *s) {
    struct uring_poller *u = (struct uring_poller *)p;
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe) {
        sock_failed(p, s, AX_ENOMEM);
        return;
    }
    sock_gather_msg(s, &s->mh, s->iov); /* a datagram: with its destination */
    io_uring_prep_sendmsg(sqe, s->fd, &s->mh, MSG_NOSIGNAL);
    set_op(sqe, s, TAG_SEND);
    s->writing = true;
    s->inflight++;
}

static void uring_sock_connect(struct io_poller *p, struct io_sock *s) {
    struct uring_poller *u = (struct uring_poller *)p;
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe) {
        s->connecting = false;
        sock_connected(p, s, AX_ENOMEM);
        return;
    }
    io_uring_prep_connect(sqe, s->fd, (struct sockaddr *)&s->addr, s->addrlen);
    set_op(sqe, s, TAG_CONNECT);
    s->inflight++;
}

static void uring_sock_cancel(struct io_poller *p, struct io_sock *s) {
    struct uring_poller *u = (struct uring_poller *)p;
    if (!s->inflight) return;
    struct io_uring_sqe *sqe = sqe_get(u);
    if (sqe) {
        io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, TAG_CANCEL);
    }
    /* And for kernels without cancel by descriptor: a shut socket ends its operations. */
    shutdown(s->fd, SHUT_RDWR);
}

static const struct io_sock_ops uring_sock_ops = {.read = uring_sock_read,
                                                  .write = uring_sock_write,
                                                  .connect = uring_sock_connect,
                                                  .cancel = uring_sock_cancel};

bool io_uring_file_submit(struct io_poller *p, struct file_req *r) {
    struct uring_poller *u = (struct uring_poller *)p;
    if (ax_unlikely(!u->enabled)) enable(u); /* a handler ran before the worker's first poll */
    if (u->broken) return false;
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe) return false;
    switch (r->op) {
    case FOP_OPEN:
        io_uring_prep_openat(sqe, AT_FDCWD, r->path, r->flags, (mode_t)r->mode);
        break;
    case FOP_READ:
        io_uring_prep_read(sqe, r->fd, r->buf, r->len, (__u64)r->offset);
        break;
    case FOP_WRITE:
        io_uring_prep_write(sqe, r->fd, r->buf, r->len, (__u64)r->offset);
        break;
    case FOP_SYNC:
        io_uring_prep_fsync(sqe, r->fd, 0);
        break;
    default:
        io_uring_prep_close(sqe, r->fd);
        break;
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)r | TAG_FILE);
    return true;
}

static void recycle(struct uring_poller *u, unsigned bid) {
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

/* Input is ready (the poll fallback): read it with recv(2) until the socket is empty. */
static void read_ready(struct uring_poller *u, struct io_sock *s) {
    struct io_poller *p = &u->base;
    if (s->kind == KIND_DGRAM) { /* the poll is armed again after: level-triggered, so what is
                                    left past 16 completes it at once */
        sock_read_datagrams(p, s, 16);
        return;
    }
    for (int rounds = 0; rounds < 16 && s->reading; rounds++) {
        ssize_t n = recv(s->fd, u->scratch, sizeof u->scratch, MSG_DONTWAIT);
        if (n > 0) {
            sock_data(p, s, u->scratch, (size_t)n);
            continue;
        }
        if (n == 0) sock_eof(p, s);
        else if (errno != EAGAIN && errno != EINTR) sock_failed(p, s, -errno);
        return;
    }
}

static void complete_recv(struct uring_poller *u, struct io_sock *s, int res, unsigned flags) {
    struct io_poller *p = &u->base;
    bool more = flags & IORING_CQE_F_MORE;
    if (!more) {
        s->armed_read = false;
        s->inflight--;
    }
    if (flags & IORING_CQE_F_BUFFER) {
        unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
        if (res > 0 && !s->cancelled) sock_data(p, s, u->bufs + (size_t)bid * BUF_SIZE, (size_t)res);
        recycle(u, bid);
    }
    if (s->cancelled) return;
    if (res == 0) sock_eof(p, s);
    else if (res == -EINVAL && !u->no_multishot_recv) u->no_multishot_recv = true;
    else if (res < 0 && res != -ENOBUFS && res != -ECANCELED && res != -EINTR) sock_failed(p, s, res);
    if (!s->armed_read && s->reading) arm_recv(u, s); /* ENOBUFS: buffers were recycled above */
}

static void complete(struct uring_poller *u, struct io_uring_cqe *cqe) {
    struct io_poller *p = &u->base;
    unsigned tag = (unsigned)(cqe->user_data & TAG_MASK);
    struct io_sock *s = (struct io_sock *)(uintptr_t)(cqe->user_data & ~(uint64_t)TAG_MASK);
    int res = cqe->res;
    switch (tag) {
    case TAG_ACCEPT:
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
            s->armed_accept = false;
            s->inflight--;
        }
        if (res >= 0) {
            if (s->cancelled) close(res);
            else sock_accepted(p, s, res);
        } else if (res == -EINVAL && !u->no_multishot_accept && !s->cancelled) {
            u->no_multishot_accept = true; /* an older kernel: one accept at a time */
        } else if (res != -ECANCELED) {
            sock_accept_failed(p, s, res);
        }
        uring_sock_read(p, s);
        break;
    case TAG_RECV:
        complete_recv(u, s, res, cqe->flags);
        break;
    case TAG_POLL:
        s->armed_read = false;
        s->inflight--;
        if (s->cancelled) break;
        if (res < 0 && res != -ECANCELED) sock_failed(p, s, res);
        else if (res > 0) read_ready(u, s);
        uring_sock_read(p, s);
        break;
    case TAG_SEND:
        s->writing = false;
        s->inflight--;
        if (res < 0) sock_failed(p, s, res);
        else sock_wrote(p, s, (size_t)res);
        if (!s->cancelled) sock_write_next(p, s);
        break;
    case TAG_CONNECT:
        s->inflight--;
        if (!s->connecting) break; /* timed out before, or closing */
        s->connecting = false;
        sock_connected(p, s, res);
        break;
    case TAG_FILE:
        file_complete(p, (struct file_req *)(uintptr_t)cqe->user_data, res);
        break;
    default: /* TAG_CANCEL */
        break;
    }
}

static bool uring_poll(struct sched_driver *d, struct sched_thread *self, bool idle) {
    struct uring_poller *u = of(d);
    (void)self, (void)idle;
    if (ax_unlikely(!u->enabled)) enable(u);
    if (ax_unlikely(u->broken)) return false;
    bool any = io_home_serve(&u->base, self);
    /* The one system call of this turn, if anything is to submit or the kernel has completion
     * work for us: first, so that the completions it posts are reaped below, now. */
    flush(u, &self->stats);
    unsigned head, seen = 0;
    struct io_uring_cqe *cqe;
    bool rearm = false;
    io_uring_for_each_cqe(&u->ring, head, cqe) {
        seen++;
        if (cqe->user_data == WAKE_TAG) {
            u->base.wakes++;
            rearm = true;
            if (cqe->res < 0) u->broken = 1; /* the read fails: it would fail again at once */
        } else {
            AX_PROBE2(io_completion, cqe->user_data, cqe->res);
            complete(u, cqe);
        }
    }
    if (seen) {
        io_uring_cq_advance(&u->ring, seen);
        stats_add(&self->stats, STAT_IO_COMPLETIONS, seen);
    }
    if (rearm && !u->broken) arm_wake(u);
    io_home_sweep(&u->base); /* what the completions queued is submitted next turn, or by park */
    return any || seen > (rearm ? 1u : 0u);
}

static int64_t uring_pending(struct sched_driver *d) {
    struct uring_poller *u = of(d);
    if (u->enabled && !u->broken && io_uring_cq_ready(&u->ring)) return 0;
    return io_home_pending(&u->base);
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
    u->base.sock_ops = &uring_sock_ops;
    return &u->base;
}

void io_uring_poller_destroy(struct io_poller *p) {
    struct uring_poller *u = (struct uring_poller *)p;
    io_uring_queue_exit(&u->ring);
    close(u->wake_fd);
    free(u->br);
    free(u->bufs);
    free(u);
}

/* SPDX-License-Identifier: MIT */
/* socket.c: sockets owned by actors, and TCP listen and connect. A socket lives on one worker's
 * poller (its home); its owner raises requests (read, write, shut, close) in an atomic word and
 * queues the socket on the home once per batch of requests, as a mailbox schedules its actor;
 * the home serves them between tasks, inline when the owner runs on the home itself, and turns
 * completions into messages. Writes (stream bytes or datagrams) are pooled messages in a
 * per-socket MPSC queue, bounded by watermarks. Elsewhere: host names (resolve.c), UDP
 * (dgram.c), Unix domain (unix.c), address text (addr.c). */
#include "io/socket_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor/actor.h"
#include "actor/deliver.h"
#include "core/duration.h"
#include "core/platform.h"
#include "core/zero.h"
#include "io/io.h"
#include "mem/fault.h"
#include "mem/slots.h"

enum {
    DEFAULT_HIGH = 256 * 1024,
    DEFAULT_LOW = 64 * 1024,
    BACKOFF_FIRST_MS = 10,
    BACKOFF_MAX_MS = 1000,
};

/* The runtime's sockets: the record table, and every live socket in a hash chained by owner,
 * so that an owner's stop finds its sockets. One mutex: taken to open, close and hand over,
 * never to send or receive. */
struct io_sockets {
    struct slots table;
    pthread_mutex_t lock;
    struct slot_cache cache;      /* under lock */
    struct io_owner_index owners; /* under lock: every live socket, by owner */
    _Atomic unsigned next_home;   /* round robin for sockets made off a worker, and accepted */
};

static struct io_sockets *socks_of(ax_runtime *rt) { return rt->io->sockets; }
static struct io_poller *home_of(ax_runtime *rt, const struct io_sock *s) {
    return rt->io->pollers[s->home];
}

/* The owner of a socket in the table's owners (called under the table's lock). */
static ax_ref owner_of(const struct io_owned *n) {
    /* relaxed: under the table's lock, which every store of owner (sock_new, handover) holds. */
    return atomic_load_explicit(&IO_OWNED_RECORD(n, const struct io_sock, owned)->owner,
                                memory_order_relaxed);
}

/* Marks the actor behind ref as owning sockets (under lock). False if it has stopped (or is
 * stopping: its release already ran or is waiting for the lock). */
static bool mark_owner(ax_runtime *rt, ax_ref ref) {
    struct actor *a = actor_lookup(rt, ref);
    return a && io_owners_mark(a);
}

/* ---- records --------------------------------------------------------------------------- */

int sock_new(ax_runtime *rt, int fd, int kind, int family, int home, ax_ref owner,
             struct io_sock *listener, struct io_sock **out) {
    struct io_sockets *t = socks_of(rt);
    pthread_mutex_lock(&t->lock);
    int rc = 0;
    uint32_t index = 0;
    if (listener && listener->max_conns && listener->conns >= listener->max_conns) rc = AX_EFULL;
    else if (!mark_owner(rt, owner)) rc = AX_ENOACTOR;
    else if (!(index = slots_alloc(&t->table, &t->cache))) rc = AX_ENOMEM;
    if (rc) {
        pthread_mutex_unlock(&t->lock);
        return rc;
    }
    struct io_sock *s = slots_at(&t->table, index);
    uint32_t gen = s->gen + 1 ? s->gen + 1 : 1; /* never 0, so no handle is 0 */
    memset(s, 0, sizeof *s);
    s->index = index;
    s->gen = gen;
    s->kind = (uint8_t)kind;
    s->family = (uint8_t)family;
    s->home = (uint16_t)home;
    s->fd = fd;
    s->high = DEFAULT_HIGH;
    s->low = DEFAULT_LOW;
    mpsc_init(&s->wq);
    atomic_store(&s->owner, owner);
    if (listener) {
        s->listener = atomic_load_explicit(&listener->id, memory_order_relaxed);
        listener->conns++;
    }
    io_owners_add(&t->owners, &s->owned);
    /* release: a handle read by another thread finds the record complete. */
    atomic_store_explicit(&s->id, (uint64_t)gen << 32 | index, memory_order_release);
    pthread_mutex_unlock(&t->lock);
    *out = s;
    return 0;
}

static void wbuf_free(ax_runtime *rt, struct sched_thread *thr, struct io_wbuf *w) {
    if (w->payload) msg_release(rt, thr, w->payload);
    msg_release(rt, thr, w->self);
}

/* Home: takes the owner's new writes into the ordered list. */
static void take_writes(struct io_sock *s) {
    struct mpsc_node *n;
    while ((n = mpsc_pop(&s->wq))) {
        struct io_wbuf *w = (struct io_wbuf *)n;
        w->next = NULL;
        if (!s->whead) s->whead = w;
        else s->wtail->next = w;
        s->wtail = w;
    }
}

/* Home: frees every queued write (taken or not yet taken). */
static void drop_writes(struct io_poller *p, struct io_sock *s) {
    ax_runtime *rt = p->home.rt;
    struct sched_thread *thr = p->home.thr;
    take_writes(s);
    for (struct io_wbuf *w = s->whead, *next; w; w = next) {
        next = w->next;
        wbuf_free(rt, thr, w);
    }
    s->whead = s->wtail = NULL;
    s->woff = 0;
}

/* Home: puts s on the list of deadlines its poll serves (once: a second call moves nothing). */
static void timed_add(struct io_poller *p, struct io_sock *s, int64_t deadline) {
    s->deadline = deadline;
    if (s->timed_on) return;
    s->timed_on = true;
    s->timed_next = p->home.timed;
    p->home.timed = s;
}

/* Home: takes s off that list (before its record is freed and perhaps reused). */
static void timed_remove(struct io_poller *p, struct io_sock *s) {
    if (!s->timed_on) return;
    for (struct io_sock **link = &p->home.timed; *link; link = &(*link)->timed_next) {
        if (*link == s) {
            *link = s->timed_next;
            break;
        }
    }
    s->timed_on = false;
}

/* What a record holds besides its writes: the descriptor, a resolution, a socket file. */
static void release_resources(ax_runtime *rt, struct sched_thread *thr, struct io_sock *s) {
    sock_unlink_own(s);
    if (s->fd >= 0) close(s->fd);
    if (s->res) msg_release(rt, thr, s->res->self);
    s->res = NULL;
}

/* Home: frees s (closed by its owner, nothing in flight); its handle goes stale. */
static void sock_release(struct io_poller *p, struct io_sock *s) {
    timed_remove(p, s);
    drop_writes(p, s);
    release_resources(p->home.rt, p->home.thr, s);
    stats_add(&p->home.thr->stats, STAT_IO_CLOSED, 1);
    struct io_sockets *t = socks_of(p->home.rt);
    pthread_mutex_lock(&t->lock);
    struct io_sock *ls = s->listener ? slots_at(&t->table, (uint32_t)s->listener) : NULL;
    if (ls && atomic_load_explicit(&ls->id, memory_order_relaxed) == s->listener) ls->conns--;
    atomic_store_explicit(&s->id, 0, memory_order_relaxed);
    slots_free(&t->table, &t->cache, s->index);
    pthread_mutex_unlock(&t->lock);
}

/* ---- home: messages to the owner -------------------------------------------------------- */

/* An owner that stopped makes the message a dead letter (its stop closes the socket). */
void sock_notify(struct io_poller *p, struct io_sock *s, uint32_t type, ax_socket sock,
                 ax_socket conn, int error, const void *data, size_t n) {
    ax_runtime *rt = p->home.rt;
    struct sched_thread *thr = p->home.thr;
    struct msg *m = msg_new(thr, sizeof(ax_sock_msg) + n);
    if (!m) {
        atomic_fetch_add_explicit(&rt->dead_letters, 1, memory_order_relaxed);
        return;
    }
    ax_sock_msg *e = (ax_sock_msg *)m->pub.data;
    e->sock = sock;
    e->conn = conn;
    e->error = error;
    e->size = (uint32_t)n;
    if (n) memcpy(e->data, data, n);
    m->pub.sender = AX_REF_NONE;
    m->pub.type = type;
    m->pub.size = (uint32_t)(sizeof(ax_sock_msg) + n);
    actor_notify_or_deadletter(rt, thr, atomic_load_explicit(&s->owner, memory_order_acquire), m);
}

void sock_data(struct io_poller *p, struct io_sock *s, const void *buf, size_t n) {
    stats_add(&p->home.thr->stats, STAT_IO_BYTES_IN, n);
    if (s->closing) return;
    sock_notify(p, s, AX_MSG_SOCK_DATA, sock_handle(s), AX_SOCKET_NONE, 0, buf, n);
    /* A socket whose writes back up receives no more until they drain (sock_wrote): what an
     * echo or a proxy must do, done where it costs no round trip through the owner. */
    if (s->reading && atomic_load_explicit(&s->queued, memory_order_relaxed) >= s->high) {
        s->throttled = true;
        s->reading = false;
        p->sock_ops->read(p, s);
    }
}

void sock_eof(struct io_poller *p, struct io_sock *s) {
    s->reading = false;
    if (s->eof || s->closing) return;
    s->eof = true;
    sock_notify(p, s, AX_MSG_SOCK_EOF, sock_handle(s), AX_SOCKET_NONE, 0, NULL, 0);
}

/* Home: takes the first queued datagram off the queue; its length. */
static size_t pop_datagram(struct io_poller *p, struct io_sock *s) {
    struct io_wbuf *w = s->whead;
    if (!w) return 0;
    size_t len = w->len;
    s->whead = w->next;
    if (!s->whead) s->wtail = NULL;
    wbuf_free(p->home.rt, p->home.thr, w);
    return len;
}

static void drained(struct io_poller *p, struct io_sock *s, size_t n);

void sock_failed(struct io_poller *p, struct io_sock *s, int err) {
    if (s->kind == KIND_DGRAM) { /* one datagram (or one receive) failed; the socket goes on */
        if (!s->writing && s->whead) drained(p, s, pop_datagram(p, s));
        if (!s->closing)
            sock_notify(p, s, AX_MSG_SOCK_ERROR, sock_handle(s), AX_SOCKET_NONE, err, NULL, 0);
        return;
    }
    s->reading = false;
    if (s->failed) return;
    s->failed = true;
    atomic_store_explicit(&s->error, err, memory_order_relaxed);
    drop_writes(p, s);
    atomic_store_explicit(&s->queued, 0, memory_order_relaxed);
    if (!s->closing)
        sock_notify(p, s, AX_MSG_SOCK_ERROR, sock_handle(s), AX_SOCKET_NONE, err, NULL, 0);
}

/* Descriptors for epoll are non-blocking (readiness, then the call); for io_uring blocking, so
 * that the kernel waits inside the request instead of failing it with -EAGAIN. */
int sock_flags(const ax_runtime *rt) {
    return SOCK_CLOEXEC | (rt->io->kind == AX_IO_EPOLL ? SOCK_NONBLOCK : 0);
}

void sock_connected(struct io_poller *p, struct io_sock *s, int err) {
    /* A host name's next address, unless the deadline ended it all. */
    if (err && err != AX_ETIMEDOUT && s->res && !s->closing && sock_connect_next(p, s, &err))
        return;
    timed_remove(p, s); /* no timeout left to serve */
    if (s->closing) return;
    if (err) {
        s->failed = true;
        atomic_store_explicit(&s->error, err, memory_order_relaxed);
    }
    sock_notify(p, s, AX_MSG_SOCK_CONNECTED, sock_handle(s), AX_SOCKET_NONE, err, NULL, 0);
    if (err) return;
    if (s->reading) p->sock_ops->read(p, s);
    sock_write_next(p, s); /* what was sent before the connect finished (serve held it) */
}

void sock_wrote(struct io_poller *p, struct io_sock *s, size_t n) {
    ax_runtime *rt = p->home.rt;
    stats_add(&p->home.thr->stats, STAT_IO_BYTES_OUT, n);
    if (s->kind == KIND_DGRAM) { /* a datagram goes whole (an empty one too) */
        drained(p, s, pop_datagram(p, s));
        return;
    }
    size_t left = n;
    while (left && s->whead) {
        struct io_wbuf *w = s->whead;
        size_t rest = w->len - s->woff;
        if (left < rest) {
            s->woff += (uint32_t)left;
            break;
        }
        left -= rest;
        s->woff = 0;
        s->whead = w->next;
        if (!s->whead) s->wtail = NULL;
        wbuf_free(rt, p->home.thr, w);
    }
    drained(p, s, n);
}

/* Home: the queue lost n bytes (written, or a datagram dropped): a throttled socket receives
 * again, and an owner that was refused or warned is told once the queue is at low. */
static void drained(struct io_poller *p, struct io_sock *s, size_t n) {
    /* seq_cst: pairs with the owner's store of want_writable then load of queued (Dekker). */
    uint64_t q = atomic_fetch_sub_explicit(&s->queued, n, memory_order_seq_cst) - n;
    if (s->throttled && q <= s->low) {
        s->throttled = false;
        s->reading = atomic_load_explicit(&s->read_wanted, memory_order_relaxed) && !s->eof &&
                     !s->failed && !s->closing;
        if (s->reading) p->sock_ops->read(p, s);
    }
    if (q <= s->low && atomic_load_explicit(&s->want_writable, memory_order_seq_cst) &&
        atomic_exchange_explicit(&s->want_writable, 0, memory_order_seq_cst) && !s->closing)
        sock_notify(p, s, AX_MSG_SOCK_WRITABLE, sock_handle(s), AX_SOCKET_NONE, 0, NULL, 0);
}

/* A queued datagram's destination, stored after its record. */
static const struct sockaddr *wbuf_to(const struct io_wbuf *w) {
    return (const struct sockaddr *)(const void *)(w + 1);
}

void sock_gather_msg(const struct io_sock *s, struct msghdr *mh, struct iovec *iov) {
    memset(mh, 0, sizeof *mh);
    mh->msg_iov = iov;
    if (s->kind != KIND_DGRAM) {
        mh->msg_iovlen = (size_t)sock_gather(s, iov);
        return;
    }
    const struct io_wbuf *w = s->whead;
    iov[0].iov_base = (void *)w->data;
    iov[0].iov_len = w->len;
    mh->msg_iovlen = 1;
    mh->msg_name = (void *)wbuf_to(w);
    mh->msg_namelen = w->tolen;
}

int sock_gather(const struct io_sock *s, struct iovec *iov) {
    int n = 0;
    uint32_t off = s->woff;
    for (struct io_wbuf *w = s->whead; w && n < SOCK_IOV_MAX; w = w->next, off = 0) {
        iov[n].iov_base = (void *)(w->data + off);
        iov[n].iov_len = w->len - off;
        n++;
    }
    return n;
}

/* Home: the queue is written (or dropped): cancel what is in flight, free s once it is done. */
static void begin_close(struct io_poller *p, struct io_sock *s) {
    if (s->cancelled) return;
    s->cancelled = true;
    if (s->fd >= 0) p->sock_ops->cancel(p, s); /* none while a host name resolves */
    s->close_next = p->home.closing;
    p->home.closing = s;
}

void sock_write_next(struct io_poller *p, struct io_sock *s) {
    if (s->writing) return;
    if (s->failed) drop_writes(p, s);
    else take_writes(s);
    if (s->whead && !s->failed) {
        p->sock_ops->write(p, s);
        return;
    }
    if (s->closing) {
        begin_close(p, s);
        return;
    }
    if (s->shut_wr && !s->shut_wr_sent && !s->failed) {
        s->shut_wr_sent = true;
        shutdown(s->fd, SHUT_WR);
    }
}

/* ---- home: accepting ------------------------------------------------------------------- */

static int pick_home(ax_runtime *rt) {
    return (int)(atomic_fetch_add_explicit(&socks_of(rt)->next_home, 1, memory_order_relaxed) %
                 (unsigned)rt->io->n);
}


void sock_accepted(struct io_poller *p, struct io_sock *ls, int fd) {
    ax_runtime *rt = p->home.rt;
    stats_add(&p->home.thr->stats, STAT_IO_ACCEPTS, 1);
    ls->backoff_ms = 0;
    if (ls->closing) {
        close(fd);
        return;
    }
    int one = 1;
    if (ls->family != AF_UNIX) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct io_sock *c;
    ax_ref owner = atomic_load(&ls->owner);
    if (sock_new(rt, fd, KIND_STREAM, ls->family, pick_home(rt), owner, ls, &c) != 0) {
        /* Over the listener's limit, or out of memory: the peer sees the connection close. */
        close(fd);
        stats_add(&p->home.thr->stats, STAT_IO_REFUSED, 1);
        return;
    }
    stats_add(&p->home.thr->stats, STAT_IO_OPENED, 1);
    sock_notify(p, ls, AX_MSG_SOCK_ACCEPTED, sock_handle(ls), sock_handle(c), 0, NULL, 0);
}

void sock_accept_failed(struct io_poller *p, struct io_sock *ls, int err) {
    if (err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM) {
        /* Out of descriptors: accepting again at once would fail again at once. */
        stats_add(&p->home.thr->stats, STAT_IO_ACCEPT_PAUSES, 1);
        int ms = ls->backoff_ms ? ls->backoff_ms * 2 : BACKOFF_FIRST_MS;
        ls->backoff_ms = ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
        ls->accept_paused = true;
        timed_add(p, ls, core_now_ns() + (int64_t)ls->backoff_ms * 1000000);
    }
    /* Others (a connection reset before it was accepted) concern one peer: go on. */
}

/* ---- home: serving requests ------------------------------------------------------------ */

static void serve(struct io_poller *p, struct io_sock *s, uint32_t req) {
    if (req & REQ_RESOLVED) sock_resolved(p, s); /* also for a closing record: it waits */
    if (s->closing) return; /* a close is final; it is being carried out */
    if (req & REQ_CONNECT) {
        if (s->connect_deadline != INT64_MAX) timed_add(p, s, s->connect_deadline);
        if (!s->res) p->sock_ops->connect(p, s); /* by name: once resolved */
    }
    if (req & (REQ_READ | REQ_PAUSE)) {
        /* A pause and a resume raised together end as the owner's last call said. */
        bool on = !(req & REQ_PAUSE) ||
                  ((req & REQ_READ) && atomic_load_explicit(&s->read_wanted, memory_order_relaxed));
        if (s->kind == KIND_LISTENER) s->accepting = on;
        else s->reading = on && !s->eof && !s->failed && !s->throttled;
        if (!s->accept_paused) p->sock_ops->read(p, s);
    }
    if (req & REQ_SHUT_WR) s->shut_wr = true;
    if (req & REQ_CLOSE) {
        s->closing = true;
        s->reading = s->accepting = false;
    }
    if (!s->connecting) sock_write_next(p, s);
    else if (s->closing) begin_close(p, s);
}

/* Home: serves the deadlines that are due: connect timeouts and accept backoffs. */
static void serve_timed(struct io_poller *p) {
    int64_t now = core_now_ns();
    struct io_sock **link = &p->home.timed;
    while (*link) {
        struct io_sock *s = *link;
        if (s->deadline > now && !s->closing) {
            link = &s->timed_next;
            continue;
        }
        *link = s->timed_next;
        s->timed_on = false;
        if (s->closing) continue; /* nothing is served for it any more */
        if (s->kind == KIND_LISTENER) {
            s->accept_paused = false;
            if (s->accepting) p->sock_ops->read(p, s);
        } else if (s->connecting) {
            /* The connect stays in the kernel until the owner closes the socket; its late
             * completion finds connecting false and is ignored. */
            s->connecting = false;
            sock_connected(p, s, AX_ETIMEDOUT);
        }
    }
}

bool io_home_serve(struct io_poller *p, struct sched_thread *self) {
    struct io_home *h = &p->home;
    h->thr = self;
    bool any = false;
    struct mpsc_node *n;
    while ((n = mpsc_pop(&h->ready))) {
        struct io_sock *s = (struct io_sock *)n;
        /* acquire: pairs with the release in raise_req: the owner's writes are visible. */
        uint32_t req = atomic_exchange_explicit(&s->req, 0, memory_order_acquire);
        serve(p, s, req);
        any = true;
    }
    if (h->timed) serve_timed(p);
    return any;
}

void io_home_sweep(struct io_poller *p) {
    struct io_sock **link = &p->home.closing;
    while (*link) {
        struct io_sock *s = *link;
        if (s->inflight) {
            link = &s->close_next;
            continue;
        }
        *link = s->close_next;
        sock_release(p, s);
    }
}

int64_t io_home_pending(struct io_poller *p) {
    if (!mpsc_looks_empty(&p->home.ready)) return 0;
    for (struct io_sock *s = p->home.closing; s; s = s->close_next)
        if (!s->inflight) return 0;
    int64_t d = INT64_MAX;
    for (struct io_sock *s = p->home.timed; s; s = s->timed_next)
        if (s->deadline < d) d = s->deadline; /* every record on the list has one */
    return d;
}

void io_home_init(struct io_home *h, ax_runtime *rt) {
    mpsc_init(&h->ready);
    h->rt = rt;
}

/* ---- the owner's side ------------------------------------------------------------------- */

/* Queues s on its home if it had no request pending and wakes the home; when the caller is the
 * home itself, serves at once. */
void sock_raise(ax_runtime *rt, struct sched_thread *thr, struct io_sock *s, uint32_t req) {
    /* release: the home's exchange (acquire) sees what we wrote before raising. */
    if (atomic_fetch_or_explicit(&s->req, req, memory_order_acq_rel) == 0) {
        struct io_poller *p = home_of(rt, s);
        mpsc_push(&p->home.ready, &s->node);
        if (thr && thr->worker && thr->worker->index == s->home) {
            io_home_serve(p, thr);
            io_home_sweep(p);
            return;
        }
        sched_kick(&rt->sched, s->home);
    }
}

int sock_owned(ax_ctx *ctx, ax_socket h, struct io_sock **out) {
    if (!ctx || !ctx->self || !ctx->rt->io) return AX_EINVAL;
    struct io_sock *s = slots_at(&socks_of(ctx->rt)->table, (uint32_t)h.id);
    /* acquire: pairs with the release store of id in sock_new. */
    if (!s || atomic_load_explicit(&s->id, memory_order_acquire) != h.id || h.id == 0 ||
        atomic_load_explicit(&s->closed, memory_order_relaxed))
        return AX_ENOSOCK;
    if (!ax_ref_eq(atomic_load_explicit(&s->owner, memory_order_relaxed), ctx->self->ref))
        return AX_ECONTEXT;
    *out = s;
    return 0;
}

int sock_home_for(ax_ctx *ctx) {
    struct sched_thread *thr = ctx->thr;
    return thr && thr->worker ? (int)thr->worker->index : pick_home(ctx->rt);
}

int sock_open_error(void) { return errno == EMFILE || errno == ENFILE ? AX_ENOMEM : -errno; }

/* A TCP socket for addr, parsed into *sa: the descriptor, or an error code. */
static int open_tcp(ax_ctx *ctx, const char *addr, struct sockaddr_storage *sa, socklen_t *len) {
    int rc = sock_parse_addr(addr, true, sa, len);
    if (rc) return rc;
    int fd = socket(sa->ss_family, SOCK_STREAM | sock_flags(ctx->rt), 0);
    return fd >= 0 ? fd : sock_open_error();
}

int sock_listen_opts(const ax_listen_opts *opts, ax_listen_opts *o) {
    *o = (ax_listen_opts){0};
    if (opts) *o = *opts;
    if (o->backlog < 0 || o->max_conns < 0 || !core_all_zero(o->reserved, sizeof o->reserved))
        return AX_EINVAL;
    return 0;
}

int sock_bound_port(int fd) {
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) != 0) return 0;
    return ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                             : ((struct sockaddr_in *)&bound)->sin_port);
}

int sock_new_listener(ax_ctx *ctx, int fd, int family, const ax_listen_opts *o,
                      struct io_sock **out) {
    struct io_sock *s;
    int rc = sock_new(ctx->rt, fd, KIND_LISTENER, family, sock_home_for(ctx), ctx->self->ref, NULL,
                      &s);
    if (rc) {
        close(fd);
        return rc;
    }
    s->max_conns = o->max_conns;
    stats_add(&ctx->thr->stats, STAT_IO_OPENED, 1);
    *out = s;
    return 0;
}

int ax_tcp_listen(ax_ctx *ctx, const char *addr, const ax_listen_opts *opts, ax_socket *out) {
    if (!ctx || !ctx->self || !out || !ctx->rt->io) return AX_EINVAL;
    ax_listen_opts o;
    if (sock_listen_opts(opts, &o)) return AX_EINVAL;
    struct sockaddr_storage sa;
    socklen_t len;
    int rc, fd = open_tcp(ctx, addr, &sa, &len);
    if (fd < 0) return fd;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (o.reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if (sa.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&sa, len) != 0 ||
        listen(fd, o.backlog ? o.backlog : SOCK_BACKLOG) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    int port = sock_bound_port(fd);
    struct io_sock *s;
    if ((rc = sock_new_listener(ctx, fd, sa.ss_family, &o, &s)) != 0) return rc;
    s->port = port;
    *out = sock_handle(s);
    sock_raise(ctx->rt, ctx->thr, s, REQ_READ);
    return 0;
}

static void close_sock(ax_runtime *rt, struct sched_thread *thr, struct io_sock *s);

int sock_start_connect(ax_ctx *ctx, int fd, int family, const struct sockaddr_storage *sa,
                       socklen_t len, int64_t timeout_ms, struct io_resolve *res, ax_socket *out) {
    struct io_sock *s;
    int rc = sock_new(ctx->rt, fd, KIND_STREAM, family, sock_home_for(ctx), ctx->self->ref, NULL,
                      &s);
    if (rc) {
        if (fd >= 0) close(fd);
        if (res) msg_release(ctx->rt, ctx->thr, res->self);
        return rc;
    }
    if (sa) {
        s->addr = *sa;
        s->addrlen = len;
    }
    s->connecting = true;
    s->reading = true; /* from the connect on: its owner is the one who asked */
    atomic_store_explicit(&s->read_wanted, true, memory_order_relaxed);
    s->connect_deadline = timeout_ms > 0 ? core_deadline_ms(core_now_ns(), timeout_ms) : INT64_MAX;
    stats_add(&ctx->thr->stats, STAT_IO_OPENED, 1);
    if (res && (rc = sock_resolve_start(ctx->rt, s, res)) != 0) {
        close_sock(ctx->rt, ctx->thr, s);
        return rc;
    }
    *out = sock_handle(s);
    sock_raise(ctx->rt, ctx->thr, s, REQ_CONNECT);
    return 0;
}

int ax_tcp_connect(ax_ctx *ctx, const char *addr, int64_t timeout_ms, ax_socket *out) {
    if (!ctx || !ctx->self || !out || !ctx->rt->io || timeout_ms < 0) return AX_EINVAL;
    struct sockaddr_storage sa;
    socklen_t len;
    if (sock_parse_addr(addr, false, &sa, &len) == 0) {
        int fd = socket(sa.ss_family, SOCK_STREAM | sock_flags(ctx->rt), 0);
        if (fd < 0) return sock_open_error();
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return sock_start_connect(ctx, fd, sa.ss_family, &sa, len, timeout_ms, NULL, out);
    }
    /* A host name: resolved on the blocking pool, into a pooled request. */
    struct io_resolve *r;
    int rc = sock_resolve_new(ctx, addr, &r);
    if (rc) return rc;
    return sock_start_connect(ctx, -1, AF_UNSPEC, NULL, 0, timeout_ms, r, out);
}

/* Where sends are refused: past the high watermark they are still taken (returning 1), because
 * an owner that pauses receiving still gets what its home received before it saw the pause
 * (bounded by the kernel's receive buffer: tcp_rmem's maximum is 6 MiB by default). */
enum { HARD_SLACK = 8 << 20 };
static uint64_t hard_limit(const struct io_sock *s) { return 2 * s->high + HARD_SLACK; }

/* A datagram's destination is copied after the record, then its bytes. */
int sock_enqueue(ax_ctx *ctx, struct io_sock *s, const void *data, size_t len, struct msg *payload,
                 const struct sockaddr *to, socklen_t tolen) {
    int err = atomic_load_explicit(&s->error, memory_order_relaxed);
    if (err) return err;
    if (s->kind != (to ? KIND_DGRAM : KIND_STREAM)) return AX_EINVAL;
    if (atomic_load_explicit(&s->shut_requested, memory_order_relaxed)) return AX_EPIPE;
    uint64_t q = atomic_load_explicit(&s->queued, memory_order_relaxed);
    if (q >= hard_limit(s)) {
        /* seq_cst: pairs with the home's decrement then load in sock_wrote (Dekker): either it
         * sees the flag, or we see the queue it drained. */
        atomic_store_explicit(&s->want_writable, 1, memory_order_seq_cst);
        q = atomic_load_explicit(&s->queued, memory_order_seq_cst);
        if (q >= hard_limit(s)) return AX_EFULL;
    }
    size_t room = (tolen + 15u) & ~(size_t)15; /* the destination, the data 16-byte aligned */
    struct msg *m = msg_new(ctx->thr, sizeof(struct io_wbuf) + room + (payload ? 0 : len));
    if (!m) return AX_ENOMEM;
    struct io_wbuf *w = (struct io_wbuf *)(void *)m->pub.data;
    w->self = m;
    w->payload = payload;
    w->len = (uint32_t)len;
    w->tolen = tolen;
    if (to) memcpy(w + 1, to, tolen);
    if (payload) {
        w->data = payload->pub.data;
    } else {
        w->data = (const unsigned char *)(w + 1) + room;
        if (len) memcpy((unsigned char *)(w + 1) + room, data, len);
    }
    /* seq_cst: as above, for the store of want_writable that follows. */
    q = atomic_fetch_add_explicit(&s->queued, len, memory_order_seq_cst) + len;
    mpsc_push(&s->wq, &w->node);
    if (q < s->high) return 0;
    /* seq_cst: the Dekker pair with sock_wrote, as above. If the home drained the queue before
     * it could see the flag, take the flag back, unless it took it first (WRITABLE is sent). */
    atomic_store_explicit(&s->want_writable, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->queued, memory_order_seq_cst) > s->low) return 1;
    return atomic_exchange_explicit(&s->want_writable, 0, memory_order_seq_cst) ? 0 : 1;
}

int ax_socket_send(ax_ctx *ctx, ax_socket h, const void *data, size_t size) {
    struct io_sock *s;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    if (!data && size) return AX_EINVAL;
    if (size == 0) return 0;
    if (size > s->high) return AX_EMSGSIZE;
    /* Larger than a message: queued in pieces, all of them (the hard limit is checked once) or,
     * out of memory, a prefix. */
    int full = 0;
    for (size_t off = 0; off < size;) {
        size_t piece = size - off > AX_MSG_MAX ? AX_MSG_MAX : size - off;
        rc = sock_enqueue(ctx, s, (const char *)data + off, piece, NULL, NULL, 0);
        if (rc < 0 && off == 0) return rc;
        if (rc < 0) break;
        full |= rc;
        off += piece;
    }
    sock_raise(ctx->rt, ctx->thr, s, REQ_WRITE);
    return rc < 0 ? rc : full;
}

int ax_socket_send_msg(ax_ctx *ctx, ax_socket h, ax_msg *msg) {
    struct io_sock *s;
    if (!msg) return AX_EINVAL;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    if (msg->size > AX_MSG_MAX) return AX_EMSGSIZE;
    if (msg->size > s->high) return AX_EMSGSIZE;
    if ((rc = sock_enqueue(ctx, s, NULL, msg->size, msg_of(msg), NULL, 0)) < 0) return rc;
    sock_raise(ctx->rt, ctx->thr, s, REQ_WRITE);
    return rc;
}

int ax_socket_shutdown(ax_ctx *ctx, ax_socket h) {
    struct io_sock *s;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    if (s->kind != KIND_STREAM) return AX_EINVAL;
    atomic_store_explicit(&s->shut_requested, 1, memory_order_relaxed);
    sock_raise(ctx->rt, ctx->thr, s, REQ_SHUT_WR);
    return 0;
}

/* Marks s closed for its owner and asks its home to close it. */
static void close_sock(ax_runtime *rt, struct sched_thread *thr, struct io_sock *s) {
    struct io_sockets *t = socks_of(rt);
    pthread_mutex_lock(&t->lock);
    io_owners_remove(&t->owners, &s->owned);
    pthread_mutex_unlock(&t->lock);
    atomic_store_explicit(&s->closed, 1, memory_order_relaxed);
    sock_raise(rt, thr, s, REQ_CLOSE);
}

int ax_socket_close(ax_ctx *ctx, ax_socket h) {
    struct io_sock *s;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    close_sock(ctx->rt, ctx->thr, s);
    return 0;
}

int ax_socket_handover(ax_ctx *ctx, ax_socket h, ax_ref to) {
    struct io_sock *s;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    ax_runtime *rt = ctx->rt;
    struct io_sockets *t = socks_of(rt);
    pthread_mutex_lock(&t->lock);
    if (!mark_owner(rt, to)) {
        pthread_mutex_unlock(&t->lock);
        return AX_ENOACTOR;
    }
    io_owners_remove(&t->owners, &s->owned);
    /* release: the home's acquire load of owner, in notify, sees the new owner's ref; messages
     * it sent before go to the old one. */
    atomic_store_explicit(&s->owner, to, memory_order_release);
    io_owners_add(&t->owners, &s->owned);
    pthread_mutex_unlock(&t->lock);
    atomic_store_explicit(&s->read_wanted, true, memory_order_relaxed);
    sock_raise(rt, ctx->thr, s, REQ_READ);
    return 0;
}

int ax_socket_read(ax_ctx *ctx, ax_socket h, int on) {
    struct io_sock *s;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    atomic_store_explicit(&s->read_wanted, on != 0, memory_order_relaxed);
    sock_raise(ctx->rt, ctx->thr, s, on ? REQ_READ : REQ_PAUSE);
    return 0;
}

int ax_socket_set_watermarks(ax_ctx *ctx, ax_socket h, size_t low, size_t high) {
    struct io_sock *s;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    if (low > high || high == 0 || high > (size_t)1 << 40) return AX_EINVAL;
    s->low = low;
    s->high = high;
    return 0;
}

int ax_socket_port(ax_ctx *ctx, ax_socket h, int *port) {
    struct io_sock *s;
    if (!port) return AX_EINVAL;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    if ((s->kind != KIND_LISTENER && s->kind != KIND_DGRAM) || s->family == AF_UNIX)
        return AX_EINVAL;
    *port = s->port;
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

void io_sockets_release_owner(ax_runtime *rt, struct sched_thread *thr, ax_ref ref) {
    struct io_sockets *t = socks_of(rt);
    for (;;) {
        pthread_mutex_lock(&t->lock);
        struct io_owned *n = io_owners_first(&t->owners, ref);
        pthread_mutex_unlock(&t->lock);
        if (!n) return;
        close_sock(rt, thr, IO_OWNED_RECORD(n, struct io_sock, owned));
    }
}

int io_sockets_create(ax_runtime *rt) {
    struct io_sockets *t = mem_calloc(1, sizeof *t);
    if (!t) return AX_ENOMEM;
    if (io_owners_init(&t->owners, owner_of) != 0 ||
        slots_init(&t->table, sizeof(struct io_sock), offsetof(struct io_sock, index)) != 0) {
        io_owners_destroy(&t->owners);
        free(t);
        return AX_ENOMEM;
    }
    pthread_mutex_init(&t->lock, NULL);
    rt->io->sockets = t;
    return 0;
}

void io_sockets_destroy(ax_runtime *rt) {
    struct io_sockets *t = rt->io ? rt->io->sockets : NULL;
    if (!t) return;
    /* The workers have stopped: close what is left, with each home's pool as the owner. */
    uint32_t hwm = atomic_load(&t->table.hwm);
    for (uint32_t i = 1; i < hwm; i++) {
        struct io_sock *s = slots_at(&t->table, i);
        if (!s || atomic_load(&s->id) == 0) continue;
        struct io_poller *p = home_of(rt, s);
        p->home.thr = &rt->sched.workers[s->home].thr;
        drop_writes(p, s);
        release_resources(rt, p->home.thr, s);
        atomic_store(&s->id, 0);
    }
    for (int i = 0; i < rt->io->n; i++) {
        free(atomic_load(&rt->io->pollers[i]->home.dgram));
        atomic_store(&rt->io->pollers[i]->home.dgram, NULL);
    }
    slots_destroy(&t->table);
    pthread_mutex_destroy(&t->lock);
    io_owners_destroy(&t->owners);
    free(t);
    rt->io->sockets = NULL;
}

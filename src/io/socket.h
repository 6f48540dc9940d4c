/* SPDX-License-Identifier: MIT */
/* socket.h: sockets as the I/O layer keeps them: records behind ax_socket handles, each bound to
 * one worker's poller (its home), which alone touches the descriptor; owners ask through flags. */
#ifndef AX_IO_SOCKET_H
#define AX_IO_SOCKET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "actor/runtime.h"
#include "core/mpsc.h"
#include "io/owners.h"

struct io_poller;

enum sock_kind { KIND_LISTENER = 1, KIND_STREAM = 2, KIND_DGRAM = 3 };

/* Queued writes one send gathers at most. */
enum { SOCK_IOV_MAX = 8 };

/* Requests an owner raises in sock->req; its home takes them all at once (sock_service). */
enum sock_req {
    REQ_READ = 1u << 0,    /* start delivering received data (or accepting, for a listener) */
    REQ_WRITE = 1u << 1,   /* the owner queued writes */
    REQ_SHUT_WR = 1u << 2, /* shut the write side once the queue is written */
    REQ_CLOSE = 1u << 3,   /* close: stop reading, write what is queued, then close the fd */
    REQ_CONNECT = 1u << 4, /* start the connect prepared in the record */
    REQ_PAUSE = 1u << 5,   /* stop delivering received data (or accepting) for now */
    REQ_RESOLVED = 1u << 6, /* raised by the blocking pool: a host name's resolution ended */
};

/* A connect by host name: the request the blocking pool resolves, then the addresses the home
 * tries in order. A pooled message (the owner's), freed with its socket. */
enum { RESOLVE_MAX = 8, RESOLVE_HOST_MAX = 253 };
struct io_resolve {
    struct io_sock *sock;
    char host[RESOLVE_HOST_MAX + 1];
    char port[8];
    int error;                  /* 0, or why the name did not resolve */
    int count, next;            /* addresses found; the next one to try (home) */
    socklen_t lens[RESOLVE_MAX];
    struct sockaddr_storage addrs[RESOLVE_MAX];
    struct msg *self;           /* the pooled message this lives in */
};

/* One queued write: the owner's copy, or a message whose ownership the owner gave. */
struct io_wbuf {
    struct mpsc_node node; /* first: in the owner-to-home queue */
    struct io_wbuf *next;  /* the home's list */
    const unsigned char *data;
    uint32_t len;
    socklen_t tolen;       /* a datagram's destination: to[0..tolen), after the record */
    struct msg *self;      /* the pooled message this record lives in */
    struct msg *payload;   /* the message data points into, or NULL (data follows the record) */
};

/* A socket. `home` alone reads and writes the fields under "home only"; the owner, any worker
 * that runs it, writes through the atomics. A record is freed (and its handle goes stale) only
 * after its owner closed it and no kernel operation on it is in flight. */
struct io_sock {
    struct mpsc_node node;    /* first: queued on the home poller while req is not zero */
    _Atomic uint64_t id;      /* the handle: generation << 32 | index; 0 while free */
    uint32_t index;
    uint32_t gen;
    uint8_t kind;
    uint8_t family;           /* AF_INET, AF_INET6 or AF_UNIX */
    uint16_t home;            /* the worker whose poller owns fd */
    int fd;                   /* -1 while a host name is resolved */
    int port;                 /* a listener's or a UDP socket's bound port */
    _Atomic ax_ref owner;
    _Atomic uint32_t req;     /* enum sock_req, raised by the owner, taken by the home */
    _Atomic int closed;       /* the owner closed it: further calls get AX_ENOSOCK */
    _Atomic uint64_t queued;  /* bytes the owner queued and the home has not written */
    _Atomic int want_writable; /* a send was refused: tell the owner once below low */
    _Atomic int error;        /* the error that ended the socket (sends return it), or 0 */
    _Atomic int shut_requested; /* the owner shut the write side: sends return AX_EPIPE */
    _Atomic bool read_wanted; /* the owner's last word on receiving, so that a pause and a
                                 resume raised together end as the later said */
    uint64_t high, low;       /* write-queue watermarks */
    struct mpsc wq;           /* owner -> home: queued writes */
    uint64_t listener;        /* a connection's listener's handle (it counts its connections) */
    int conns;                /* a listener's live connections (under the table's lock) */
    int max_conns;            /* a listener's limit, 0: none */
    struct io_owned owned;    /* in the table's owners (socket.c, under its lock) */
    /* ---- home only ---- */
    struct io_wbuf *whead, *wtail; /* taken from wq, in order */
    uint32_t woff;                 /* bytes of whead already written */
    uint32_t inflight;             /* kernel operations not yet completed (io_uring) */
    bool reading, accepting, writing, connecting, registered, eof, failed;
    bool shut_wr, shut_wr_sent;    /* shut the write side once the queue is written; done */
    bool closing, cancelled;       /* closing: write what is queued; then cancelled, until no
                                      operation is in flight */
    bool accept_paused;            /* after EMFILE: until the backoff deadline */
    bool throttled;                /* not receiving while the write queue is above high */
    bool armed_read, armed_accept; /* backends: the operation is in the kernel */
    int64_t deadline;              /* on the timed list: connect timeout or accept backoff */
    bool timed_on;                 /* on the home's timed list */
    int backoff_ms;                /* the current accept backoff */
    struct io_sock *timed_next;    /* the home's list of records with a deadline */
    struct io_sock *close_next;    /* the home's list of records being closed */
    struct iovec iov[SOCK_IOV_MAX]; /* io_uring: the send in flight */
    struct msghdr mh;
    struct sockaddr_storage addr;  /* a connect's destination; a Unix listener's own path */
    socklen_t addrlen;
    int64_t connect_deadline;      /* when a connect gives up, INT64_MAX: never */
    struct io_resolve *res;        /* a connect by host name, until the socket is freed */
    uint64_t unix_dev, unix_ino;   /* a Unix listener's socket file, removed at close if still it */
};

/* What a backend does for the socket layer, always on the home worker. */
struct io_sock_ops {
    /* Arm accepting (listener) or receiving (stream) as s->accepting / s->reading say. */
    void (*read)(struct io_poller *p, struct io_sock *s);
    /* Write s->whead.. (woff into the first) and report with sock_wrote. */
    void (*write)(struct io_poller *p, struct io_sock *s);
    /* Start connecting to s->addr; report with sock_connected. */
    void (*connect)(struct io_poller *p, struct io_sock *s);
    /* Stop every operation on s (the socket layer frees it once s->inflight is 0). */
    void (*cancel)(struct io_poller *p, struct io_sock *s);
};

/* The socket layer's per-poller part, embedded in struct io_poller. */
struct io_home {
    struct mpsc ready;          /* sockets with requests */
    /* The receive buffer of its datagram sockets (AX_DATAGRAM_MAX bytes), installed by the
     * first ax_udp_bind homed here (so that a bind, not a receive, meets a lack of memory). */
    unsigned char *_Atomic dgram;
    struct io_sock *timed;      /* records with a deadline */
    struct io_sock *closing;    /* records cancelled, waiting for their operations */
    ax_runtime *rt;
    struct sched_thread *thr;   /* the worker's record, while it polls */
};

void io_home_init(struct io_home *h, ax_runtime *rt);
/* Home worker, from its poller's poll: serves requests and due deadlines (true if there were
 * any), and after the backend reaped its completions, frees what closed (sweep). */
bool io_home_serve(struct io_poller *p, struct sched_thread *self);
void io_home_sweep(struct io_poller *p);
/* Home worker: the earliest deadline (0 when requests wait), INT64_MAX if none. */
int64_t io_home_pending(struct io_poller *p);

/* Backends report to the socket layer (home worker, inside io_home_poll or the backend's poll). */
void sock_accepted(struct io_poller *p, struct io_sock *ls, int fd);
void sock_accept_failed(struct io_poller *p, struct io_sock *ls, int err);
void sock_data(struct io_poller *p, struct io_sock *s, const void *buf, size_t n);
void sock_eof(struct io_poller *p, struct io_sock *s);
void sock_failed(struct io_poller *p, struct io_sock *s, int err);
void sock_wrote(struct io_poller *p, struct io_sock *s, size_t n);
void sock_connected(struct io_poller *p, struct io_sock *s, int err);
/* A datagram socket is readable: receives with recvmsg(2) into the home's buffer, each datagram
 * a message, for at most `rounds` datagrams; true if it stopped at that limit (more may wait). */
bool sock_read_datagrams(struct io_poller *p, struct io_sock *s, int rounds);
/* On a datagram socket (KIND_DGRAM), sock_wrote(n) means its first queued datagram was sent, and
 * sock_failed(err) with no send in flight and one queued means the kernel refused that one:
 * dropped and reported, the socket goes on; any other sock_failed is reported only. */
/* The queued bytes from the first unwritten one, as at most SOCK_IOV_MAX iovecs; their count. */
int sock_gather(const struct io_sock *s, struct iovec *iov);
/* The next send as a msghdr over iov (SOCK_IOV_MAX entries): those bytes, or for a datagram
 * socket its first queued datagram with its destination. */
void sock_gather_msg(const struct io_sock *s, struct msghdr *mh, struct iovec *iov);
/* After a write completed or failed, with none in flight: the next one, or the shutdown or
 * close that waited for the queue to drain. */
void sock_write_next(struct io_poller *p, struct io_sock *s);

/* Runtime creation and destruction (workers stopped at destroy: every socket left is closed). */
int io_sockets_create(ax_runtime *rt);
void io_sockets_destroy(ax_runtime *rt);
/* The actor layer's hook: actor `ref` stopped; closes what it owned. */
void io_sockets_release_owner(ax_runtime *rt, struct sched_thread *thr, ax_ref ref);

#endif

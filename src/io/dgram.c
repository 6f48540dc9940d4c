/* SPDX-License-Identifier: MIT */
/* dgram.c: UDP sockets: records of kind KIND_DGRAM in the socket table, with the stream's
 * requests and write queue (a queued buffer is one datagram, its destination before its bytes);
 * received with recvmsg(2) into the home's buffer once readable, each datagram a message. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor/actor.h"
#include "actor/deliver.h"
#include "io/io.h"
#include "io/socket_int.h"
#include "mem/fault.h"

enum {
    UDP4_MAX = 65507, /* 65535 less the IPv4 and UDP headers */
    UDP6_MAX = 65527, /* 65535 less the UDP header (IPv6's payload length excludes its own) */
};

_Static_assert(sizeof(ax_addr) == 136 && sizeof(ax_datagram) == 152, "the datagram ABI");

int ax_udp_bind(ax_ctx *ctx, const char *addr, ax_socket *out) {
    if (!ctx || !ctx->self || !out || !ctx->rt->io) return AX_EINVAL;
    struct sockaddr_storage sa;
    socklen_t len;
    int rc = sock_parse_addr(addr, true, &sa, &len);
    if (rc) return rc;
    int home = sock_home_for(ctx);
    struct io_home *h = &ctx->rt->io->pollers[home]->home;
    if (!atomic_load_explicit(&h->dgram, memory_order_acquire)) {
        unsigned char *buf = mem_calloc(1, AX_DATAGRAM_MAX), *none = NULL;
        if (!buf) return AX_ENOMEM;
        /* acq_rel: pairs with the home's acquire load in sock_read_datagrams; the loser frees. */
        if (!atomic_compare_exchange_strong_explicit(&h->dgram, &none, buf, memory_order_acq_rel,
                                                     memory_order_acquire))
            free(buf);
    }
    int fd = socket(sa.ss_family, SOCK_DGRAM | sock_flags(ctx->rt), 0);
    if (fd < 0) return sock_open_error();
    int zero = 0;
    if (sa.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    int port = sock_bound_port(fd);
    struct io_sock *s;
    if ((rc = sock_new(ctx->rt, fd, KIND_DGRAM, sa.ss_family, home, ctx->self->ref, NULL, &s))) {
        close(fd);
        return rc;
    }
    s->port = port;
    stats_add(&ctx->thr->stats, STAT_IO_OPENED, 1);
    atomic_store_explicit(&s->read_wanted, true, memory_order_relaxed);
    *out = sock_handle(s);
    sock_raise(ctx->rt, ctx->thr, s, REQ_READ); /* its owner is the one who bound it */
    return 0;
}

int ax_udp_send_to(ax_ctx *ctx, ax_socket h, const ax_addr *to, const void *data, size_t size) {
    struct io_sock *s;
    int rc = sock_owned(ctx, h, &s);
    if (rc) return rc;
    if (!to || to->reserved || (!data && size) || s->kind != KIND_DGRAM) return AX_EINVAL;
    const struct sockaddr *sa = (const struct sockaddr *)(const void *)to->storage;
    socklen_t tolen;
    size_t max;
    if (sa->sa_family == AF_INET && to->len >= sizeof(struct sockaddr_in) &&
        to->len <= sizeof to->storage) {
        tolen = sizeof(struct sockaddr_in);
        max = UDP4_MAX;
    } else if (sa->sa_family == AF_INET6 && s->family == AF_INET6 &&
               to->len >= sizeof(struct sockaddr_in6) && to->len <= sizeof to->storage) {
        tolen = sizeof(struct sockaddr_in6);
        max = UDP6_MAX;
    } else {
        return AX_EINVAL; /* an IPv4 socket sends to IPv4 only */
    }
    if (size > max || size > s->high) return AX_EMSGSIZE;
    if ((rc = sock_enqueue(ctx, s, data, size, NULL, sa, tolen)) < 0) return rc;
    sock_raise(ctx->rt, ctx->thr, s, REQ_WRITE);
    return rc;
}

/* Home: sends the owner a received datagram (n of its length bytes kept) and its sender. */
static void deliver_datagram(struct io_poller *p, struct io_sock *s, const unsigned char *buf,
                             size_t n, size_t length, const struct sockaddr_storage *from,
                             socklen_t fromlen) {
    ax_runtime *rt = p->home.rt;
    struct sched_thread *thr = p->home.thr;
    stats_add(&thr->stats, STAT_IO_BYTES_IN, n);
    struct msg *m = msg_new(thr, sizeof(ax_datagram) + n);
    if (!m) {
        atomic_fetch_add_explicit(&rt->dead_letters, 1, memory_order_relaxed);
        return;
    }
    ax_datagram *d = (ax_datagram *)(void *)m->pub.data;
    memset(d, 0, sizeof *d);
    d->sock = sock_handle(s);
    d->size = (uint32_t)n;
    d->length = (uint32_t)length;
    if (fromlen > sizeof d->from.storage) fromlen = sizeof d->from.storage;
    memcpy(d->from.storage, from, fromlen);
    d->from.len = fromlen;
    if (n) memcpy(d->data, buf, n);
    m->pub.sender = AX_REF_NONE;
    m->pub.type = AX_MSG_SOCK_DATAGRAM;
    m->pub.size = (uint32_t)(sizeof(ax_datagram) + n);
    actor_notify_or_deadletter(rt, thr, atomic_load_explicit(&s->owner, memory_order_acquire), m);
}

bool sock_read_datagrams(struct io_poller *p, struct io_sock *s, int rounds) {
    /* acquire: pairs with the CAS in ax_udp_bind that installed it. */
    unsigned char *buf = atomic_load_explicit(&p->home.dgram, memory_order_acquire);
    for (int i = 0; i < rounds; i++) {
        if (!s->reading || s->closing) return false;
        struct sockaddr_storage from;
        struct iovec iov = {buf, AX_DATAGRAM_MAX};
        struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                            .msg_iovlen = 1};
        /* MSG_TRUNC: the datagram's real length, also when it did not fit. */
        ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
        if (n >= 0) {
            size_t kept = (size_t)n < AX_DATAGRAM_MAX ? (size_t)n : AX_DATAGRAM_MAX;
            deliver_datagram(p, s, buf, kept, (size_t)n, &from, mh.msg_namelen);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            sock_notify(p, s, AX_MSG_SOCK_ERROR, sock_handle(s), AX_SOCKET_NONE, -errno, NULL, 0);
        return false;
    }
    return true;
}

/* SPDX-License-Identifier: MIT */
/* resolve.c: connects by host name. getaddrinfo runs on the blocking pool as an internal job
 * (it cannot be cancelled: a close or a timeout only stops waiting); its end is raised on the
 * socket like an owner's request, and the home tries the addresses in order, each on a fresh
 * descriptor. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actor/actor.h"
#include "io/blocking.h"
#include "io/poller.h"
#include "io/socket_int.h"

/* A host name as getaddrinfo takes it: letters, digits, '-', '_' and '.', 1..253 bytes. */
static bool host_name_ok(const char *host) {
    size_t n = strlen(host);
    if (n == 0 || n > RESOLVE_HOST_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* getaddrinfo's failure as an error code (docs: ax_tcp_connect). */
static int resolve_error(int rc) {
    switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return AX_ENOENT;
    case EAI_MEMORY:
        return AX_ENOMEM;
    case EAI_SYSTEM:
        return errno ? -errno : -EHOSTUNREACH;
    default: /* EAI_AGAIN, EAI_FAIL: the resolver failed or did not answer */
        return -EHOSTUNREACH;
    }
}

/* The pool's job for a connect by name: getaddrinfo, its IPv4 and IPv6 addresses kept in order. */
static int64_t resolve_job(void *arg) {
    struct io_resolve *r = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list;
    int rc = getaddrinfo(r->host, r->port, &hints, &list);
    if (rc) {
        r->error = resolve_error(rc);
        return 0;
    }
    for (struct addrinfo *ai = list; ai && r->count < RESOLVE_MAX; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof r->addrs[0])
            continue;
        memcpy(&r->addrs[r->count], ai->ai_addr, ai->ai_addrlen);
        r->lens[r->count++] = ai->ai_addrlen;
    }
    freeaddrinfo(list);
    if (!r->count) r->error = AX_ENOENT;
    return 0;
}

/* On the pool thread, after resolve_job: the record cannot have been freed (the resolution
 * counts as in flight), and what the job wrote is published by the raise (release). */
static void resolve_done(ax_runtime *rt, void *arg, int64_t result) {
    (void)result;
    sock_raise(rt, NULL, ((struct io_resolve *)arg)->sock, REQ_RESOLVED);
}

int sock_resolve_new(ax_ctx *ctx, const char *addr, struct io_resolve **out) {
    char host[RESOLVE_HOST_MAX + 2];
    int port;
    if (sock_split_addr(addr, host, sizeof host, &port) != 0 || !host_name_ok(host))
        return AX_EINVAL;
    struct msg *m = msg_new(ctx->thr, sizeof(struct io_resolve));
    if (!m) return AX_ENOMEM;
    struct io_resolve *r = (struct io_resolve *)(void *)m->pub.data;
    memset(r, 0, offsetof(struct io_resolve, lens));
    r->self = m;
    strcpy(r->host, host);
    snprintf(r->port, sizeof r->port, "%d", port);
    *out = r;
    return 0;
}

int sock_resolve_start(ax_runtime *rt, struct io_sock *s, struct io_resolve *res) {
    /* Home-only fields, written before the home first sees the record (the pool's raise or the
     * owner's publishes them). */
    res->sock = s;
    s->res = res;
    s->inflight = 1; /* the resolution: the record outlives a close until it ends */
    int rc = blocking_run_internal(rt, resolve_job, resolve_done, res);
    if (rc) s->inflight = 0;
    return rc;
}

bool sock_connect_next(struct io_poller *p, struct io_sock *s, int *err) {
    struct io_resolve *r = s->res;
    while (r && r->next < r->count) {
        int i = r->next++;
        int fd = socket(r->addrs[i].ss_family, SOCK_STREAM | sock_flags(p->home.rt), 0);
        if (fd < 0) {
            *err = sock_open_error();
            continue;
        }
        if (s->fd >= 0) { /* its connect failed: nothing is in flight on it */
            p->sock_ops->cancel(p, s);
            close(s->fd);
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s->fd = fd;
        s->family = (uint8_t)r->addrs[i].ss_family;
        memcpy(&s->addr, &r->addrs[i], r->lens[i]);
        s->addrlen = r->lens[i];
        s->connecting = true;
        p->sock_ops->connect(p, s);
        return true;
    }
    return false;
}

void sock_resolved(struct io_poller *p, struct io_sock *s) {
    /* The job no longer touches s->res; what it wrote came with req (resolve_done's release,
     * io_home_serve's acquire). */
    s->inflight--;
    if (s->closing || !s->connecting) return;
    int err = s->res->error ? s->res->error : AX_ENOENT;
    if (!s->res->error && sock_connect_next(p, s, &err)) return;
    s->connecting = false;
    sock_connected(p, s, err);
}

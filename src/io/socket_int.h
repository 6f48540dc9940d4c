/* SPDX-License-Identifier: MIT */
/* socket_int.h: what the socket layer's own files share (socket.c, addr.c, resolve.c, dgram.c,
 * unix.c) and the backends do not see: opening records, the owner's requests, addresses. */
#ifndef AX_IO_SOCKET_INT_H
#define AX_IO_SOCKET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "io/socket.h"

enum { SOCK_BACKLOG = 511 }; /* listen(2)'s backlog when the options give none */

static inline ax_socket sock_handle(const struct io_sock *s) {
    return (ax_socket){atomic_load_explicit(&s->id, memory_order_relaxed)};
}

/* ---- socket.c --------------------------------------------------------------------------- */

/* A fresh record for fd owned by owner on worker home, in the owner's chain, counted in its
 * listener's connections if any. Errors: AX_EFULL (the listener's max_conns), AX_ENOACTOR (owner
 * stopped), AX_ENOMEM. */
int sock_new(ax_runtime *rt, int fd, int kind, int family, int home, ax_ref owner,
             struct io_sock *listener, struct io_sock **out);
/* socket(2)'s type flags for this runtime's backend. */
int sock_flags(const ax_runtime *rt);
/* socket(2) failed: out of descriptors is AX_ENOMEM; other failures pass through. */
int sock_open_error(void);
/* The home of a socket the caller makes: its own worker, or round robin from outside. */
int sock_home_for(ax_ctx *ctx);
/* The caller's socket behind h: it must be a handler's context of the owner. */
int sock_owned(ax_ctx *ctx, ax_socket h, struct io_sock **out);
/* Raises req on s for its home (thr NULL: off the runtime's threads). */
void sock_raise(ax_runtime *rt, struct sched_thread *thr, struct io_sock *s, uint32_t req);
/* Home: sends the owner a socket message (a dead letter if the owner stopped). */
void sock_notify(struct io_poller *p, struct io_sock *s, uint32_t type, ax_socket sock,
                 ax_socket conn, int error, const void *data, size_t n);
/* The listen options as the listen calls check them: 0 or AX_EINVAL. */
int sock_listen_opts(const ax_listen_opts *opts, ax_listen_opts *o);
/* The bound port of an IP socket (0 if getsockname fails). */
int sock_bound_port(int fd);
/* A listening descriptor becomes a listener record of the caller's (fd closed on failure). */
int sock_new_listener(ax_ctx *ctx, int fd, int family, const ax_listen_opts *o,
                      struct io_sock **out);
/* The owner's half of a connect: a record for fd (or, with res, for a name still to resolve)
 * that connects to sa once its home serves it. */
int sock_start_connect(ax_ctx *ctx, int fd, int family, const struct sockaddr_storage *sa,
                       socklen_t len, int64_t timeout_ms, struct io_resolve *res, ax_socket *out);
/* Queues len bytes (data copied, or payload owned) on s: 0, 1 past the high watermark, or an
 * error. A datagram (to not NULL: its destination, tolen bytes) is copied after the record. */
int sock_enqueue(ax_ctx *ctx, struct io_sock *s, const void *data, size_t len, struct msg *payload,
                 const struct sockaddr *to, socklen_t tolen);

/* ---- addr.c: "host:port" text ----------------------------------------------------------- */

/* Splits "host:port" at its last colon: the host (brackets kept) into host[0..cap), the port
 * (0..65535, decimal). 0 or AX_EINVAL. */
int sock_split_addr(const char *addr, char *host, size_t cap, int *port);
/* Parses "IPv4:port", "[v6]:port", ":port" or "*:port" (every address, IPv6 and IPv4) into sa;
 * "localhost" as 127.0.0.1 if `localhost`. Numeric hosts only. */
int sock_parse_addr(const char *addr, bool localhost, struct sockaddr_storage *sa, socklen_t *len);

/* ---- resolve.c: host names on the blocking pool ----------------------------------------- */

/* Owner: the request that resolves the host of "host:port" (a pooled message of the caller's).
 * Errors: AX_EINVAL (not a host name), AX_ENOMEM. */
int sock_resolve_new(ax_ctx *ctx, const char *addr, struct io_resolve **out);
/* Owner, before the home first sees s: gives res to s and the blocking pool; 0, or the pool's
 * error (then s holds res, freed with s, and nothing is in flight). */
int sock_resolve_start(ax_runtime *rt, struct io_sock *s, struct io_resolve *res);
/* Home: connects s to the next address its resolution found (each on a fresh descriptor, the
 * last one's closed); false when none is left, *err then the last failure to open one, if any. */
bool sock_connect_next(struct io_poller *p, struct io_sock *s, int *err);
/* Home, serving REQ_RESOLVED: the resolution ended; the connect begins unless s was closed or
 * its deadline passed meanwhile. */
void sock_resolved(struct io_poller *p, struct io_sock *s);

/* ---- unix.c ------------------------------------------------------------------------------ */

/* A Unix listener's socket file, if it is still the one it bound (not replaced since): removed.
 * Nothing for other records. */
void sock_unlink_own(const struct io_sock *s);

#endif

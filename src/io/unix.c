/* SPDX-License-Identifier: MIT */
/* unix.c: Unix domain stream sockets: listener and stream records of family AF_UNIX, served as
 * TCP's are. A path or "@name" (the abstract namespace); a listener replaces a stale socket file
 * and at close removes its own, if it is still the one it bound (device and inode). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "actor/actor.h"
#include "io/socket_int.h"

/* A Unix socket address: a filesystem path, or "@name" in the abstract namespace. */
static int unix_addr(const char *path, struct sockaddr_storage *sa, socklen_t *len) {
    if (!path || !path[0] || (path[0] == '@' && !path[1])) return AX_EINVAL;
    struct sockaddr_un *un = (struct sockaddr_un *)sa;
    memset(sa, 0, sizeof *sa);
    un->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (path[0] == '@') { /* sun_path[0] stays 0; the name is the bytes after it, no NUL */
        if (n > sizeof un->sun_path) return AX_ENAMETOOLONG;
        memcpy(un->sun_path + 1, path + 1, n - 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        if (n >= sizeof un->sun_path) return AX_ENAMETOOLONG;
        memcpy(un->sun_path, path, n);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

/* A Unix stream socket for path, parsed into *sa: the descriptor, or an error code. */
static int open_unix(ax_ctx *ctx, const char *path, struct sockaddr_storage *sa, socklen_t *len) {
    int rc = unix_addr(path, sa, len);
    if (rc) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | sock_flags(ctx->rt), 0);
    return fd >= 0 ? fd : sock_open_error();
}

/* bind(2) on a Unix path; a socket file nobody listens on (a connect is refused) is removed and
 * the bind tried once more. */
static int bind_unix(int fd, const struct sockaddr_storage *sa, socklen_t len) {
    if (bind(fd, (const struct sockaddr *)sa, len) == 0) return 0;
    int err = -errno;
    const char *path = ((const struct sockaddr_un *)sa)->sun_path;
    if (err != -EADDRINUSE || path[0] == 0) return err; /* the abstract namespace has no file */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) return err;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) return err;
    bool stale = connect(probe, (const struct sockaddr *)sa, len) != 0 && errno == ECONNREFUSED;
    close(probe);
    if (!stale || unlink(path) != 0) return err;
    return bind(fd, (const struct sockaddr *)sa, len) == 0 ? 0 : -errno;
}

int ax_unix_listen(ax_ctx *ctx, const char *path, const ax_listen_opts *opts, ax_socket *out) {
    if (!ctx || !ctx->self || !out || !ctx->rt->io) return AX_EINVAL;
    ax_listen_opts o;
    if (sock_listen_opts(opts, &o) || o.reuseport) return AX_EINVAL;
    struct sockaddr_storage sa;
    socklen_t len;
    int rc, fd = open_unix(ctx, path, &sa, &len);
    if (fd < 0) return fd;
    if ((rc = bind_unix(fd, &sa, len)) != 0 ||
        (listen(fd, o.backlog ? o.backlog : SOCK_BACKLOG) != 0 && (rc = -errno) != 0)) {
        close(fd);
        return rc;
    }
    struct stat st = {0};
    const char *file = ((struct sockaddr_un *)&sa)->sun_path;
    bool named = file[0] != 0 && stat(file, &st) == 0;
    struct io_sock *s;
    if ((rc = sock_new_listener(ctx, fd, AF_UNIX, &o, &s)) != 0) {
        if (named) unlink(file);
        return rc;
    }
    s->addr = sa; /* its path, for the unlink at close */
    s->addrlen = len;
    if (named) {
        s->unix_dev = (uint64_t)st.st_dev;
        s->unix_ino = (uint64_t)st.st_ino;
    }
    *out = sock_handle(s);
    sock_raise(ctx->rt, ctx->thr, s, REQ_READ);
    return 0;
}

int ax_unix_connect(ax_ctx *ctx, const char *path, int64_t timeout_ms, ax_socket *out) {
    if (!ctx || !ctx->self || !out || !ctx->rt->io || timeout_ms < 0) return AX_EINVAL;
    struct sockaddr_storage sa;
    socklen_t len;
    int fd = open_unix(ctx, path, &sa, &len);
    if (fd < 0) return fd;
    return sock_start_connect(ctx, fd, AF_UNIX, &sa, len, timeout_ms, NULL, out);
}

void sock_unlink_own(const struct io_sock *s) {
    if (s->kind != KIND_LISTENER || s->family != AF_UNIX || !s->unix_ino) return;
    const char *path = ((const struct sockaddr_un *)&s->addr)->sun_path;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (uint64_t)st.st_dev == s->unix_dev &&
        (uint64_t)st.st_ino == s->unix_ino)
        unlink(path);
}

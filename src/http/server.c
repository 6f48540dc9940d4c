/* SPDX-License-Identifier: MIT */
/* server.c: the HTTP/1.1 server on the public socket API: a listener actor hands each connection
 * to an actor of its own, which parses requests as bytes arrive (parser.c), calls the handler,
 * writes the responses in order, and keeps its header and idle timeouts with one timer. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "axon.h"
#include "core/duration.h"
#include "http/parser.h"
#include "mem/fault.h"

enum {
    TICK = 0x48545450u,    /* a connection's timer message ("HTTP") */
    OUT_CAP = 16384,       /* responses gathered before one send */
    PIECE = 64 * 1024,     /* a larger body goes to the socket in pieces of this size */
    LINGER_MS = 2000,      /* after a refusal: read and drop until the peer closes, this long */
    HEAD_ROOM = 512        /* a head (without its Content-Type) fits in this */
};

#define DEFAULT_HEADER_MS 10000
#define DEFAULT_IDLE_MS 60000
#define DEFAULT_MAX_HEAD ((size_t)16 << 10)
#define DEFAULT_MAX_BODY ((size_t)1 << 20)
#define SLACK ((size_t)64 << 10) /* a request's buffer beyond head and body limits: the chunked
                                    coding's own bytes */

/* What the listener and its connections share; freed by the last of them. */
struct server_conf {
    _Atomic int refs;
    ax_http_handler handler;
    void *arg;
    int64_t header_ns, idle_ns;
    size_t max_head, max_body;
    ax_listen_opts listen;
};

static void conf_get(struct server_conf *c) {
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}
static void conf_put(struct server_conf *c) {
    /* acq_rel: the last holder's free sees every other holder's last use */
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) free(c);
}

/* Where a connection is between requests; each phase has its own deadline. */
enum phase {
    P_IDLE,   /* kept alive, no byte of the next request yet: idle timeout */
    P_HEAD,   /* a head is arriving (or a new connection sent nothing): header timeout */
    P_BODY,   /* a body is arriving: idle timeout from the last read */
    P_LINGER  /* refused or done: the write side is shut, input is dropped until EOF */
};

struct conn {
    struct server_conf *conf;
    ax_socket sock;
    char *buf;            /* bytes of a request not yet whole; NULL while there are none */
    size_t len, cap;
    struct http_chunked chunk; /* a chunked body, decoded in place in buf */
    size_t chunk_raw;     /* offset of its undecoded input from the request's start; 0: none */
    size_t chunk_body;    /* end of its decoded bytes */
    bool continued;       /* "100 Continue" sent for the request in progress */
    int phase;
    int64_t deadline;     /* of the phase, CLOCK_MONOTONIC_COARSE ns */
    int64_t timer_at;     /* when the armed timer fires */
    ax_timer timer;
    uint64_t timer_seq;   /* the armed timer's; ticks of cancelled timers carry older ones */
};

struct ax_http_response {
    ax_ctx *ctx;
    struct conn *c;
    char *out;            /* responses gathered for one send */
    size_t len;
    const char *date;
    bool keep_alive;      /* this request's connection stays open */
    bool head_only;       /* a HEAD request: no body */
    bool responded;
    int err;              /* a send failed: the connection closes */
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The Date header's text, formatted once a second per thread. */
static const char *date_now(void) {
    static _Thread_local int64_t sec = -1;
    static _Thread_local char text[30];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != sec) {
        sec = ts.tv_sec;
        http_date(sec, text);
    }
    return text;
}

/* ---- timeouts ----------------------------------------------------------------------------- */

static void arm(ax_ctx *ctx, struct conn *c, int64_t at, int64_t now) {
    ax_runtime *rt = ax_ctx_runtime(ctx);
    if (!ax_timer_is_none(c->timer)) ax_timer_cancel(rt, c->timer); /* its tick, if sent, is stale */
    c->timer = AX_TIMER_NONE;
    uint64_t seq = ++c->timer_seq;
    int64_t ms = at > now ? core_ns_to_ms_up(at - now) : 0; /* capped: a later deadline re-arms */
    if (ax_send_after(rt, ax_self(ctx), TICK, &seq, sizeof seq, ms, &c->timer) == 0)
        c->timer_at = at;
    else
        c->timer_at = INT64_MAX; /* no timer: out of memory; the next phase change tries again */
}

/* Sets the phase's deadline; the timer moves only when the deadline comes before it (a later
 * deadline is found when the timer fires, and the timer armed again). */
static void set_deadline(ax_ctx *ctx, struct conn *c, int phase, int64_t at, int64_t now) {
    c->phase = phase;
    c->deadline = at;
    if (at < c->timer_at) arm(ctx, c, at, now);
}

/* ---- responses ---------------------------------------------------------------------------- */

static void flush(ax_http_response *res) {
    if (res->len == 0 || res->err) return;
    int rc = ax_socket_send(res->ctx, res->c->sock, res->out, res->len);
    if (rc < 0) res->err = rc;
    res->len = 0;
}

static void send_direct(ax_http_response *res, const char *p, size_t n) {
    for (size_t off = 0; off < n && !res->err; off += PIECE) {
        int rc = ax_socket_send(res->ctx, res->c->sock, p + off, n - off < PIECE ? n - off : PIECE);
        if (rc < 0) res->err = rc;
    }
}

static bool has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

int ax_http_respond(ax_http_response *res, int status, const char *content_type, const void *body,
                    size_t body_len) {
    if (!res || status < 100 || status > 999 || (!body && body_len > 0) || res->responded ||
        (content_type && has_crlf(content_type)))
        return AX_EINVAL;
    if (body_len > AX_HTTP_BODY_MAX) return AX_EMSGSIZE;
    size_t type_len = content_type ? strlen(content_type) : 0;
    if (type_len > OUT_CAP - HEAD_ROOM) return AX_EINVAL;
    res->responded = true;
    if (OUT_CAP - res->len < HEAD_ROOM + type_len) flush(res);
    size_t n = http_write_head(res->out + res->len, OUT_CAP - res->len, status, content_type,
                               body_len, res->keep_alive, res->date);
    res->len += n;
    if (!res->head_only && body_len > 0) {
        if (body_len <= OUT_CAP - res->len) {
            memcpy(res->out + res->len, body, body_len);
            res->len += body_len;
        } else {
            flush(res);
            send_direct(res, body, body_len);
        }
    }
    return res->err;
}

const char *ax_http_header_get(const ax_http_request *req, const char *name, size_t *len) {
    if (!req || !name) return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        const ax_http_header *h = &req->headers[i];
        if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
            if (len) *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

/* ---- a connection ------------------------------------------------------------------------- */

static void drop_buffer(struct conn *c) {
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    c->chunk_raw = 0;
}

/* Ends the conversation: the write side shuts once the queued responses are written, and what
 * the peer still sends is dropped until it closes (closing with unread input would reset the
 * connection and could destroy the last response in flight). */
static void linger(ax_ctx *ctx, struct conn *c, int64_t now) {
    if (c->phase == P_LINGER) return;
    drop_buffer(c);
    if (ax_socket_shutdown(ctx, c->sock) != 0) {
        ax_stop(ax_ctx_runtime(ctx), ax_self(ctx));
        c->phase = P_LINGER;
        return;
    }
    set_deadline(ctx, c, P_LINGER, now + core_ms_to_ns(LINGER_MS), now);
}

/* Refuses the request in progress with status (a parser's or a timeout's) and closes. */
static void refuse(ax_ctx *ctx, struct conn *c, ax_http_response *res, int status, int64_t now) {
    res->responded = false;
    res->keep_alive = false;
    res->head_only = false;
    const char *reason = http_reason(status);
    ax_http_respond(res, status, "text/plain", reason, strlen(reason));
    flush(res);
    linger(ctx, c, now);
}

static void handle(ax_ctx *ctx, struct conn *c, ax_http_response *res,
                   const struct http_request *req, const char *body, size_t body_len) {
    ax_http_header hs[HTTP_MAX_HEADERS];
    for (size_t i = 0; i < req->nheaders; i++)
        hs[i] = (ax_http_header){req->headers[i].name.p, req->headers[i].name.n,
                                 req->headers[i].value.p, req->headers[i].value.n};
    ax_http_request r = {req->method.p, req->method.n, req->target.p, req->target.n, req->minor,
                         req->keep_alive, hs, req->nheaders, body_len ? body : NULL, body_len};
    res->responded = false;
    res->keep_alive = req->keep_alive;
    res->head_only = req->method.n == 4 && memcmp(req->method.p, "HEAD", 4) == 0;
    int rc = c->conf->handler(ctx, &r, res, c->conf->arg);
    if (!res->responded) {
        res->keep_alive = false;
        ax_http_respond(res, 500, "text/plain", "Internal Server Error", 21);
        rc = -1;
    }
    if (rc != 0 || !req->keep_alive || res->err) res->keep_alive = false;
}

/* A request with "Expect: 100-continue" whose body has not come: the client waits for this. */
static void maybe_continue(struct conn *c, ax_http_response *res, const struct http_request *req) {
    if (c->continued) return;
    const struct http_header *h = http_header_find(req, "expect");
    if (!h || h->value.n != 12 || strncasecmp(h->value.p, "100-continue", 12) != 0) return;
    c->continued = true;
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (OUT_CAP - res->len < sizeof cont) flush(res);
    memcpy(res->out + res->len, cont, sizeof cont - 1);
    res->len += sizeof cont - 1;
}

/* Serves the whole requests at p[0..n). Returns the bytes used; the rest is the start of a
 * request not yet whole. A chunked body is decoded in place, so only in the connection's own
 * buffer (mutable): elsewhere *need_copy is set and the request is left for the caller to copy. */
static size_t serve(ax_ctx *ctx, struct conn *c, ax_http_response *res, char *p, size_t n,
                    bool mutable, bool *need_copy, int64_t now) {
    const struct server_conf *conf = c->conf;
    size_t used = 0;
    while (used < n && c->phase != P_LINGER) {
        struct http_request req;
        char *base = p + used;
        size_t avail = n - used;
        int h = http_parse_head(base, avail, conf->max_head, &req);
        if (h == HTTP_INCOMPLETE) {
            if (c->phase == P_IDLE) set_deadline(ctx, c, P_HEAD, now + conf->header_ns, now);
            break;
        }
        if (h < 0) {
            refuse(ctx, c, res, -h, now);
            break;
        }
        const char *body = NULL;
        size_t body_len = 0, total = (size_t)h;
        if (req.chunked) {
            if (!mutable) {
                *need_copy = true;
                break;
            }
            if (c->chunk_raw == 0) {
                memset(&c->chunk, 0, sizeof c->chunk);
                c->chunk_raw = c->chunk_body = (size_t)h;
            }
            size_t data = 0;
            bool done = false;
            long r = http_chunked_decode(&c->chunk, base + c->chunk_raw, avail - c->chunk_raw,
                                         conf->max_body, &data, &done);
            if (r < 0) {
                refuse(ctx, c, res, (int)-r, now);
                break;
            }
            memmove(base + c->chunk_body, base + c->chunk_raw, data);
            c->chunk_body += data;
            c->chunk_raw += (size_t)r;
            if (!done) { /* the decoded bytes stay; the undecoded rest waits at chunk_raw */
                maybe_continue(c, res, &req);
                set_deadline(ctx, c, P_BODY, now + conf->idle_ns, now);
                break;
            }
            body = base + h;
            body_len = c->chunk_body - (size_t)h;
            total = c->chunk_raw;
            c->chunk_raw = 0;
        } else if (req.has_length) {
            if (req.content_length > conf->max_body) {
                refuse(ctx, c, res, 413, now);
                break;
            }
            if (avail - (size_t)h < req.content_length) {
                maybe_continue(c, res, &req);
                set_deadline(ctx, c, P_BODY, now + conf->idle_ns, now);
                break;
            }
            body = base + h;
            body_len = (size_t)req.content_length;
            total += body_len;
        }
        handle(ctx, c, res, &req, body, body_len);
        used += total;
        c->continued = false;
        if (!res->keep_alive) {
            flush(res);
            linger(ctx, c, now);
        } else {
            set_deadline(ctx, c, P_IDLE, now + conf->idle_ns, now);
        }
    }
    return used;
}

/* Appends data to the connection's buffer; false if the request outgrows every limit. */
static bool append(struct conn *c, const unsigned char *data, size_t n) {
    size_t limit = c->conf->max_head + c->conf->max_body + SLACK;
    if (n > limit - c->len) return false;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n) cap *= 2;
        char *b = mem_realloc(c->buf, cap);
        if (!b) return false;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    return true;
}

/* Drops the first `used` bytes of the buffer; frees it once empty, so that an idle connection
 * holds none. */
static void consume(struct conn *c, size_t used) {
    if (used >= c->len) {
        drop_buffer(c);
        return;
    }
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
}

static void on_data(ax_ctx *ctx, struct conn *c, const unsigned char *data, size_t n) {
    if (c->phase == P_LINGER) return;
    char out[OUT_CAP];
    ax_http_response res = {.ctx = ctx, .c = c, .out = out, .date = date_now()};
    int64_t now = now_ns();
    bool need_copy = true; /* serve from the buffer once data is in it */
    if (c->len == 0) { /* most requests arrive whole: served from the message, no copy */
        need_copy = false;
        size_t used = serve(ctx, c, &res, (char *)data, n, false, &need_copy, now);
        data += used;
        n -= used;
    }
    if (n > 0 && c->phase != P_LINGER) {
        if (!append(c, data, n))
            refuse(ctx, c, &res, 413, now);
        else if (need_copy)
            consume(c, serve(ctx, c, &res, c->buf, c->len, true, &need_copy, now));
    }
    flush(&res);
    if (res.err && c->phase != P_LINGER) ax_stop(ax_ctx_runtime(ctx), ax_self(ctx));
}

static void on_tick(ax_ctx *ctx, struct conn *c, const ax_msg *msg) {
    uint64_t seq;
    if (msg->size != sizeof seq) return;
    memcpy(&seq, msg->data, sizeof seq);
    if (seq != c->timer_seq) return; /* a cancelled timer's */
    c->timer = AX_TIMER_NONE;
    c->timer_at = INT64_MAX;
    int64_t now = now_ns();
    if (now < c->deadline) { /* the deadline moved on since the timer was armed */
        arm(ctx, c, c->deadline, now);
        return;
    }
    if (c->phase == P_HEAD && c->len > 0) { /* a head that did not come in time */
        char out[OUT_CAP];
        ax_http_response res = {.ctx = ctx, .c = c, .out = out, .date = date_now()};
        refuse(ctx, c, &res, 408, now);
        return;
    }
    ax_stop(ax_ctx_runtime(ctx), ax_self(ctx)); /* its socket closes with it */
}

static int conn_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct conn *c = state;
    const ax_sock_msg *e = (const ax_sock_msg *)msg->data;
    switch (msg->type) {
    case AX_MSG_SOCK_DATA:
        on_data(ctx, c, e->data, e->size);
        break;
    case TICK:
        on_tick(ctx, c, msg);
        break;
    case AX_MSG_SOCK_EOF:   /* answers already queued are written before the close */
    case AX_MSG_SOCK_ERROR:
        ax_stop(ax_ctx_runtime(ctx), ax_self(ctx));
        break;
    default:
        break;
    }
    return 0;
}

struct conn_start {
    struct server_conf *conf;
    ax_socket sock;
};

static int conn_init(ax_ctx *ctx, void *state, const void *arg) {
    const struct conn_start *start = arg;
    struct conn *c = state;
    c->conf = start->conf;
    c->sock = start->sock;
    c->timer_at = INT64_MAX;
    int64_t now = now_ns();
    set_deadline(ctx, c, P_HEAD, now + c->conf->header_ns, now); /* the first request's head */
    if (ax_timer_is_none(c->timer)) return AX_ENOMEM;
    conf_get(c->conf);
    return 0;
}

static void conn_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)reason;
    struct conn *c = state;
    free(c->buf);
    conf_put(c->conf);
}

static const ax_behavior conn_behavior = {"http_conn", sizeof(struct conn), conn_init,
                                          conn_receive, conn_stopped};

/* ---- the listener ------------------------------------------------------------------------- */

struct listener {
    struct server_conf *conf;
    ax_socket sock;
};

struct listen_start {
    struct server_conf *conf;
    const char *addr;
    int err;  /* ax_tcp_listen's */
    int port;
};

static int listener_init(ax_ctx *ctx, void *state, const void *arg) {
    struct listen_start *start = (struct listen_start *)arg;
    struct listener *l = state;
    start->err = ax_tcp_listen(ctx, start->addr, &start->conf->listen, &l->sock);
    if (start->err != 0) return start->err;
    ax_socket_port(ctx, l->sock, &start->port);
    l->conf = start->conf;
    return 0;
}

static int listener_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct listener *l = state;
    if (msg->type != AX_MSG_SOCK_ACCEPTED) return 0;
    ax_socket sock = ((const ax_sock_msg *)msg->data)->conn;
    struct conn_start start = {l->conf, sock};
    ax_ref conn;
    if (ax_spawn(ax_ctx_runtime(ctx), &conn_behavior, &start, NULL, &conn) != 0 ||
        ax_socket_handover(ctx, sock, conn) != 0)
        ax_socket_close(ctx, sock); /* no memory for it: the client sees the close */
    return 0;
}

static void listener_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)reason;
    struct listener *l = state;
    if (l->conf) conf_put(l->conf);
}

static const ax_behavior listener_behavior = {"http_listener", sizeof(struct listener),
                                              listener_init, listener_receive, listener_stopped};

static bool zeroed(const int64_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

int ax_http_listen(ax_runtime *rt, const char *addr, const ax_http_opts *opts,
                   ax_http_handler handler, void *arg, ax_ref *server, int *port) {
    if (!rt || !addr || !handler || !server) return AX_EINVAL;
    ax_http_opts o = opts ? *opts : (ax_http_opts){0};
    if (o.header_timeout_ms < 0 || o.idle_timeout_ms < 0 ||
        o.header_timeout_ms > AX_TIMER_MAX_MS || o.idle_timeout_ms > AX_TIMER_MAX_MS ||
        o.max_head > HTTP_MAX_HEAD || o.max_body > ((size_t)1 << 40) ||
        !zeroed(o.reserved, sizeof o.reserved / sizeof o.reserved[0]))
        return AX_EINVAL;
    struct server_conf *conf = mem_calloc(1, sizeof *conf);
    if (!conf) return AX_ENOMEM;
    atomic_init(&conf->refs, 1);
    conf->handler = handler;
    conf->arg = arg;
    conf->header_ns = core_ms_to_ns(o.header_timeout_ms ? o.header_timeout_ms : DEFAULT_HEADER_MS);
    conf->idle_ns = core_ms_to_ns(o.idle_timeout_ms ? o.idle_timeout_ms : DEFAULT_IDLE_MS);
    conf->max_head = o.max_head ? o.max_head : DEFAULT_MAX_HEAD;
    conf->max_body = o.max_body ? o.max_body : DEFAULT_MAX_BODY;
    conf->listen = o.listen;
    struct listen_start start = {conf, addr, 0, 0};
    int rc = ax_spawn(rt, &listener_behavior, &start, NULL, server);
    if (rc != 0) {
        free(conf);
        return rc == AX_EINIT && start.err != 0 ? start.err : rc;
    }
    if (port) *port = start.port;
    return 0;
}

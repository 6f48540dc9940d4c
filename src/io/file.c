/* SPDX-License-Identifier: MIT */
/* file.c: files owned by actors, every call asynchronous and answered by a message: open, read
 * and write at offsets, fsync, close. On io_uring a request goes into the ring of the worker that
 * runs the caller (that worker is the ring's one submitter) and its completion comes back through
 * that ring; on epoll, a refused ring, or a caller off the workers, the system call runs on the
 * blocking pool. A request and its answer are pooled messages; a read lands in its answer. */
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor/actor.h"
#include "actor/deliver.h"
#include "core/platform.h"
#include "io/blocking.h"
#include "io/io.h"
#include "io/owners.h"
#include "mem/fault.h"
#include "mem/slots.h"

_Static_assert(sizeof(ax_file_msg) == 32, "AX_FILE_IO_MAX counts a 32-byte ax_file_msg");
_Static_assert(_Alignof(struct file_req) >= 8, "io_uring keeps tags in a request's low bits");
_Static_assert(sizeof(struct file_req) + AX_FILE_IO_MAX <= AX_MSG_MAX + 64,
               "a write's record and copy fit one message (msg_new's limit)");

/* A file's state word: its generation (the handle's upper half), the operations in flight, and
 * two flags. The owner counts an operation in before issuing it, with a CAS that fails once a
 * flag is set or the record was reused (the generation differs); each completion counts one out.
 * Whoever takes the count to zero with a flag set closes the descriptor and frees the record:
 * exactly one party, since nothing is counted in once a flag is set. */
enum {
    ST_CLOSING = 1, /* the owner closed the file, or stopped */
    ST_DEAD = 2,    /* its open failed */
    ST_FLAGS = 3,
    ST_ONE = 4,     /* one operation in flight */
};
#define ST_COUNT_MASK 0xFFFFFFFCull
#define ST_GEN(s) ((uint32_t)((s) >> 32))

struct io_file {
    _Atomic uint64_t id;       /* the handle: generation << 32 | index; 0 while free */
    uint32_t index;            /* while free: the slot table's free-list link */
    uint32_t gen;
    _Atomic uint64_t state;    /* see above */
    _Atomic int fd;            /* -1 until the open completes */
    _Atomic ax_ref owner;
    ax_runtime *rt;
    /* Written by the owner while it holds an operation counted in, read by whoever frees. */
    struct msg *close_reply;   /* AX_MSG_FILE_CLOSED, set aside by the open */
    uint64_t close_tag;
    bool close_asked;          /* the owner closed it (not its stop, not a failed open) */
    struct file_req close_req; /* the final close, when it goes to a ring or the pool */
    struct io_owned owned;     /* in the table's owners (under the table's lock) */
    struct io_file *release_next; /* io_files_release_owner's list */
};

/* Operations in one worker's ring: written by that worker only (it submits and reaps them). */
struct file_ring {
    AX_ALIGNED_LINE _Atomic uint64_t inflight;
};

/* The runtime's files: the record table and every live file in a hash chained by owner, so
 * that an owner's stop finds its files. One mutex: taken to open and to free, never to read or
 * write. */
struct io_files {
    struct slots table;
    pthread_mutex_t lock;
    struct slot_cache cache;   /* under lock */
    struct io_owner_index owners; /* under lock: every live file, by owner */
    bool force_pool;           /* tests: the pool path on io_uring too */
    _Atomic uint64_t pooled;   /* operations on the blocking pool */
    struct file_ring *rings;   /* one per worker */
};

static struct io_files *files_of(ax_runtime *rt) { return rt->io->files; }

static ax_file handle_of(const struct io_file *f) {
    return (ax_file){atomic_load_explicit(&f->id, memory_order_relaxed)};
}

/* The owner of a file in the table's owners (called under the table's lock). */
static ax_ref owner_of(const struct io_owned *n) {
    /* relaxed: under the table's lock, which file_new's store of owner holds too. */
    return atomic_load_explicit(&IO_OWNED_RECORD(n, const struct io_file, owned)->owner,
                                memory_order_relaxed);
}

/* ---- completions --------------------------------------------------------------------------- */

/* Sends the owner the answer m (an ax_file_msg, then size bytes already in place). An owner
 * that stopped makes it a dead letter; a pool thread without a thread record counts it as one. */
static void answer(ax_runtime *rt, struct sched_thread *thr, struct io_file *f, struct msg *m,
                   uint32_t type, uint64_t tag, int64_t result, uint32_t size) {
    ax_file_msg *e = (ax_file_msg *)(void *)m->pub.data;
    e->file = handle_of(f);
    e->tag = tag;
    e->result = result;
    e->size = size;
    e->reserved = 0;
    m->pub.sender = AX_REF_NONE;
    m->pub.type = type;
    m->pub.size = (uint32_t)sizeof *e + size;
    if (!thr) {
        atomic_fetch_add_explicit(&rt->dead_letters, 1, memory_order_relaxed);
        msg_release(rt, NULL, m);
        return;
    }
    actor_notify_or_deadletter(rt, thr, atomic_load_explicit(&f->owner, memory_order_relaxed), m);
}

/* The record goes back to the table; its handle is stale for good (reuse moves the generation
 * on, and the state word keeps a flag until then). */
static void file_free(ax_runtime *rt, struct io_file *f) {
    struct io_files *t = files_of(rt);
    pthread_mutex_lock(&t->lock);
    io_owners_remove(&t->owners, &f->owned);
    atomic_store_explicit(&f->id, 0, memory_order_relaxed);
    slots_free(&t->table, &t->cache, f->index);
    pthread_mutex_unlock(&t->lock);
}

/* The descriptor is closed (res: what close said), or there was none: AX_MSG_FILE_CLOSED if the
 * owner asked for the close, then the record goes. */
static void file_closed(ax_runtime *rt, struct sched_thread *thr, struct io_file *f,
                        int64_t res) {
    struct msg *m = f->close_reply;
    f->close_reply = NULL;
    if (f->close_asked) answer(rt, thr, f, m, AX_MSG_FILE_CLOSED, f->close_tag, res, 0);
    else msg_release(rt, thr, m);
    file_free(rt, f);
}

static int64_t close_fd(int fd) { return close(fd) == 0 ? 0 : -errno; } /* closed even on EINTR */

/* The system call of r, on a pool thread: its result, or -errno. */
static int64_t file_syscall(void *arg) {
    struct file_req *r = arg;
    ssize_t n;
    switch (r->op) {
    case FOP_OPEN:
        n = openat(AT_FDCWD, r->path, r->flags, (mode_t)r->mode);
        break;
    case FOP_READ:
        do n = pread(r->fd, r->buf, r->len, r->offset);
        while (n < 0 && errno == EINTR);
        break;
    case FOP_WRITE:
        do n = pwrite(r->fd, r->buf, r->len, r->offset);
        while (n < 0 && errno == EINTR);
        break;
    case FOP_SYNC:
        n = fsync(r->fd);
        break;
    default:
        return close_fd(r->fd);
    }
    return n < 0 ? -errno : (int64_t)n;
}

static void file_done(ax_runtime *rt, struct sched_thread *thr, struct file_req *r, int64_t res,
                      bool on_pool);

/* A pool thread: r's system call returned res. */
static void pool_done(ax_runtime *rt, void *arg, int64_t res) {
    struct io_files *t = files_of(rt);
    struct sched_thread *thr = sched_outside_enter(&rt->sched);
    file_done(rt, thr, arg, res, true);
    if (thr) sched_outside_leave(thr);
    /* seq_cst: io_files_quiesce reads this after the rings' counts; nothing this job did is
     * still to come once it reads zero. */
    atomic_fetch_sub_explicit(&t->pooled, 1, memory_order_seq_cst);
}

/* Counts an operation in or out of worker w's ring (w's thread only). */
static void ring_count(struct io_files *t, unsigned w, int64_t d) {
    _Atomic uint64_t *c = &t->rings[w].inflight;
    /* release: pairs with the acquire load in io_files_quiesce: a count seen falling comes with
     * what this worker did before (a close it handed to the pool is counted there already). */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + (uint64_t)d,
                          memory_order_release);
}

/* Sends r to the kernel: into the ring of the calling worker on io_uring, else to the blocking
 * pool. Errors (the pool's): AX_EFULL, AX_ESHUTDOWN, AX_ENOMEM. */
static int submit(ax_runtime *rt, struct sched_thread *thr, struct file_req *r) {
    struct io_files *t = files_of(rt);
#ifdef AX_HAVE_URING
    if (rt->io->kind == AX_IO_URING && !t->force_pool && thr && thr->worker) {
        unsigned w = thr->worker->index;
        if (io_uring_file_submit(rt->io->pollers[w], r)) {
            ring_count(t, w, 1);
            return 0;
        }
    }
#endif
    atomic_fetch_add_explicit(&t->pooled, 1, memory_order_seq_cst);
    int rc = blocking_run_internal(rt, file_syscall, pool_done, r);
    if (rc) atomic_fetch_sub_explicit(&t->pooled, 1, memory_order_seq_cst);
    return rc;
}

/* The last operation of a closing or failed file was counted out: its descriptor is closed
 * where the caller is (a pool thread: here; a worker: through its ring, or the pool, or here if
 * neither takes it), then file_closed. */
static void file_last(ax_runtime *rt, struct sched_thread *thr, struct io_file *f, bool on_pool) {
    int fd = atomic_load_explicit(&f->fd, memory_order_relaxed);
    if (fd < 0) {
        file_closed(rt, thr, f, 0);
        return;
    }
    if (!on_pool) {
        struct file_req *r = &f->close_req;
        memset(r, 0, sizeof *r);
        r->file = f;
        r->op = FOP_CLOSE;
        r->fd = fd;
        if (submit(rt, thr, r) == 0) return;
    }
    file_closed(rt, thr, f, close_fd(fd));
}

/* Counts one operation of f out; the last of a closing or failed file closes it. */
static void op_end(ax_runtime *rt, struct sched_thread *thr, struct io_file *f, bool on_pool) {
    /* acq_rel: the release orders this operation's work before the close; the acquire of the
     * party that reaches zero sees every other operation's (the counts form a release
     * sequence), and the owner's close_asked and close_tag. */
    uint64_t old = atomic_fetch_sub_explicit(&f->state, ST_ONE, memory_order_acq_rel);
    if ((old & ST_COUNT_MASK) == ST_ONE && (old & ST_FLAGS)) file_last(rt, thr, f, on_pool);
}

/* r completed with res, on its ring's worker or a pool thread (on_pool): the owner's answer,
 * then the operation is counted out. */
static void file_done(ax_runtime *rt, struct sched_thread *thr, struct file_req *r, int64_t res,
                      bool on_pool) {
    struct io_file *f = r->file;
    if (r->op == FOP_CLOSE) {
        file_closed(rt, thr, f, res);
        return;
    }
    uint32_t type = AX_MSG_FILE_SYNCED, size = 0;
    switch (r->op) {
    case FOP_OPEN:
        type = AX_MSG_FILE_OPENED;
        if (res >= 0) {
            /* release: pairs with the owner's acquire load in begin(): the descriptor. */
            atomic_store_explicit(&f->fd, (int)res, memory_order_release);
            res = 0;
        } else {
            /* Before the answer, so that the owner that has it finds the handle stale. */
            atomic_fetch_or_explicit(&f->state, ST_DEAD, memory_order_relaxed);
        }
        break;
    case FOP_READ:
        type = AX_MSG_FILE_READ;
        size = res > 0 ? (uint32_t)res : 0;
        break;
    case FOP_WRITE:
        type = AX_MSG_FILE_WRITTEN;
        break;
    default:
        break;
    }
    answer(rt, thr, f, r->reply, type, r->tag, res, size);
    msg_release(rt, thr, r->self);
    op_end(rt, thr, f, on_pool);
}

void file_complete(struct io_poller *p, struct file_req *r, int res) {
    struct sched_thread *thr = p->home.thr;
    ax_runtime *rt = p->home.rt;
    file_done(rt, thr, r, res, false);
    ring_count(files_of(rt), thr->worker->index, -1); /* last: after what it handed on */
}

/* ---- the owner's side ----------------------------------------------------------------------- */

/* Owner: counts an operation in (with `flags`: ST_CLOSING for the close), unless f is closing,
 * failed or no longer the record of generation gen. */
static int hold(struct io_file *f, uint32_t gen, uint64_t flags) {
    uint64_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
    do {
        if (ST_GEN(s) != gen || (s & ST_FLAGS)) return AX_ENOSOCK;
    } while (!atomic_compare_exchange_weak_explicit(&f->state, &s, (s | flags) + ST_ONE,
                                                    memory_order_acquire, memory_order_relaxed));
    return 0;
}

/* The caller's file behind h: it must be a handler's (or init's) context of the owner. */
static int owned(ax_ctx *ctx, ax_file h, struct io_file **out) {
    if (!ctx || !ctx->self || !ctx->rt->io) return AX_EINVAL;
    struct io_file *f = slots_at(&files_of(ctx->rt)->table, (uint32_t)h.id);
    /* acquire: pairs with the release store of id in file_new. */
    if (!f || h.id == 0 || atomic_load_explicit(&f->id, memory_order_acquire) != h.id)
        return AX_ENOSOCK;
    uint64_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
    if (ST_GEN(s) != (uint32_t)(h.id >> 32) || (s & ST_FLAGS)) return AX_ENOSOCK;
    if (!ax_ref_eq(atomic_load_explicit(&f->owner, memory_order_relaxed), ctx->self->ref))
        return AX_ECONTEXT;
    *out = f;
    return 0;
}

/* A request record in a pooled message of the caller, with extra bytes after it. */
static struct file_req *req_new(struct sched_thread *thr, size_t extra) {
    struct msg *m = msg_new(thr, sizeof(struct file_req) + extra);
    if (!m) return NULL;
    struct file_req *r = (struct file_req *)(void *)m->pub.data;
    memset(r, 0, sizeof *r);
    r->self = m;
    return r;
}

/* Owner: an operation on its file h, counted in, with its request (extra bytes after it) and
 * its answer (reply_bytes of data) allocated. Errors: AX_EINVAL (the open not yet completed),
 * AX_ENOSOCK, AX_ECONTEXT, AX_ENOMEM. */
static int begin(ax_ctx *ctx, ax_file h, uint8_t op, size_t extra, size_t reply_bytes,
                 uint64_t tag, struct file_req **out) {
    struct io_file *f;
    int rc = owned(ctx, h, &f);
    if (rc) return rc;
    /* acquire: pairs with the release store in file_done: the open completed. */
    int fd = atomic_load_explicit(&f->fd, memory_order_acquire);
    if (fd < 0) return AX_EINVAL;
    struct file_req *r = req_new(ctx->thr, extra);
    struct msg *reply = r ? msg_new(ctx->thr, sizeof(ax_file_msg) + reply_bytes) : NULL;
    if (!reply) {
        if (r) msg_release(ctx->rt, ctx->thr, r->self);
        return AX_ENOMEM;
    }
    if ((rc = hold(f, (uint32_t)(h.id >> 32), 0)) != 0) { /* its open failed meanwhile */
        msg_release(ctx->rt, ctx->thr, reply);
        msg_release(ctx->rt, ctx->thr, r->self);
        return rc;
    }
    r->file = f;
    r->reply = reply;
    r->tag = tag;
    r->fd = fd;
    r->op = op;
    *out = r;
    return 0;
}

/* Owner: sends r (from begin) on its way; if nothing takes it, undoes begin. */
static int issue(ax_ctx *ctx, struct file_req *r) {
    int rc = submit(ctx->rt, ctx->thr, r);
    if (rc) {
        struct io_file *f = r->file;
        msg_release(ctx->rt, ctx->thr, r->reply);
        msg_release(ctx->rt, ctx->thr, r->self);
        op_end(ctx->rt, ctx->thr, f, false);
    }
    return rc;
}

/* A fresh record owned by the caller, its open counted in. Errors: AX_EINVAL (the caller is
 * stopping: its release already ran), AX_ENOMEM. */
static int file_new(ax_ctx *ctx, struct msg *close_reply, struct io_file **out) {
    struct io_files *t = files_of(ctx->rt);
    pthread_mutex_lock(&t->lock);
    uint32_t index = 0;
    int rc = 0;
    if (!io_owners_mark(ctx->self)) /* its release has looked already, or is waiting */
        rc = AX_EINVAL;
    else if (!(index = slots_alloc(&t->table, &t->cache)))
        rc = AX_ENOMEM;
    if (rc) {
        pthread_mutex_unlock(&t->lock);
        return rc;
    }
    struct io_file *f = slots_at(&t->table, index);
    uint32_t gen = f->gen + 1 ? f->gen + 1 : 1; /* never 0, so no handle is 0 */
    f->index = index;
    f->gen = gen;
    /* The atomics are stored, not cleared with memset: a stale handle's owner may be reading
     * them (its CAS then fails on the generation). */
    atomic_store_explicit(&f->state, (uint64_t)gen << 32 | ST_ONE, memory_order_relaxed);
    atomic_store_explicit(&f->fd, -1, memory_order_relaxed);
    atomic_store_explicit(&f->owner, ctx->self->ref, memory_order_relaxed);
    f->rt = ctx->rt;
    f->close_reply = close_reply;
    f->close_tag = 0;
    f->close_asked = false;
    f->release_next = NULL;
    io_owners_add(&t->owners, &f->owned);
    /* release: a handle read by another thread finds the record complete. */
    atomic_store_explicit(&f->id, (uint64_t)gen << 32 | index, memory_order_release);
    pthread_mutex_unlock(&t->lock);
    *out = f;
    return 0;
}

int ax_file_open(ax_ctx *ctx, const char *path, int flags, unsigned mode, uint64_t tag,
                 ax_file *out) {
    if (!ctx || !ctx->self || !path || !out || !ctx->rt->io || mode > 07777 ||
        (flags & O_DIRECT))
        return AX_EINVAL;
    size_t n = strnlen(path, PATH_MAX);
    if (n == PATH_MAX) return AX_ENAMETOOLONG;
    ax_runtime *rt = ctx->rt;
    struct sched_thread *thr = ctx->thr;
    struct file_req *r = req_new(thr, n + 1);
    struct msg *opened = r ? msg_new(thr, sizeof(ax_file_msg)) : NULL;
    struct msg *closed = opened ? msg_new(thr, sizeof(ax_file_msg)) : NULL;
    struct io_file *f = NULL;
    int rc = closed ? file_new(ctx, closed, &f) : AX_ENOMEM;
    if (rc) {
        if (closed) msg_release(rt, thr, closed);
        if (opened) msg_release(rt, thr, opened);
        if (r) msg_release(rt, thr, r->self);
        return rc;
    }
    char *copy = (char *)(r + 1);
    memcpy(copy, path, n + 1);
    r->file = f;
    r->reply = opened;
    r->tag = tag;
    r->path = copy;
    r->fd = -1;
    r->flags = flags | O_CLOEXEC;
    r->mode = mode;
    r->op = FOP_OPEN;
    ax_file h = handle_of(f); /* before the open may complete, and fail, on another thread */
    if ((rc = submit(rt, thr, r)) != 0) { /* nobody has seen the handle: undo at once */
        msg_release(rt, thr, opened);
        msg_release(rt, thr, r->self);
        msg_release(rt, thr, closed);
        file_free(rt, f);
        return rc;
    }
    *out = h;
    return 0;
}

/* The checks read and write share: AX_EMSGSIZE, AX_EINVAL, or 0. */
static int check_range(int64_t offset, size_t size) {
    if (size > AX_FILE_IO_MAX) return AX_EMSGSIZE;
    if (offset < 0 || (int64_t)size > INT64_MAX - offset) return AX_EINVAL;
    return 0;
}

int ax_file_read(ax_ctx *ctx, ax_file file, int64_t offset, size_t size, uint64_t tag) {
    if (!ctx) return AX_EINVAL;
    int rc = check_range(offset, size);
    struct file_req *r;
    if (rc || (rc = begin(ctx, file, FOP_READ, 0, size, tag, &r)) != 0) return rc;
    r->offset = offset;
    r->len = (uint32_t)size;
    r->buf = ((ax_file_msg *)(void *)r->reply->pub.data)->data; /* the data lands in the answer */
    return issue(ctx, r);
}

int ax_file_write(ax_ctx *ctx, ax_file file, int64_t offset, const void *data, size_t size,
                  uint64_t tag) {
    if (!ctx || (!data && size)) return AX_EINVAL;
    int rc = check_range(offset, size);
    struct file_req *r;
    if (rc || (rc = begin(ctx, file, FOP_WRITE, size, 0, tag, &r)) != 0) return rc;
    r->offset = offset;
    r->len = (uint32_t)size;
    r->buf = r + 1;
    if (size) memcpy(r->buf, data, size);
    return issue(ctx, r);
}

int ax_file_sync(ax_ctx *ctx, ax_file file, uint64_t tag) {
    struct file_req *r;
    int rc = begin(ctx, file, FOP_SYNC, 0, 0, tag, &r);
    return rc ? rc : issue(ctx, r);
}

int ax_file_close(ax_ctx *ctx, ax_file file, uint64_t tag) {
    struct io_file *f;
    int rc = owned(ctx, file, &f);
    if (rc || (rc = hold(f, (uint32_t)(file.id >> 32), ST_CLOSING)) != 0) return rc;
    f->close_asked = true;
    f->close_tag = tag;
    op_end(ctx->rt, ctx->thr, f, false);
    return 0;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

void io_files_release_owner(ax_runtime *rt, struct sched_thread *thr, ax_ref ref) {
    struct io_files *t = files_of(rt);
    struct io_file *list = NULL;
    /* Marked closing under the lock (a record on a chain is not freed meanwhile: freeing takes
     * the lock), counted out after it (the last count out frees, which takes it). */
    pthread_mutex_lock(&t->lock);
    for (struct io_owned *n = io_owners_first(&t->owners, ref); n;
         n = io_owners_next(&t->owners, n, ref)) {
        struct io_file *f = IO_OWNED_RECORD(n, struct io_file, owned);
        uint64_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
        if (hold(f, ST_GEN(s), ST_CLOSING) != 0) continue; /* closed or failed already */
        f->release_next = list;
        list = f;
    }
    pthread_mutex_unlock(&t->lock);
    while (list) {
        struct io_file *f = list;
        list = f->release_next;
        op_end(rt, thr, f, false);
    }
}

int io_files_quiesce(ax_runtime *rt, int64_t deadline_ns) {
    struct io_files *t = rt->io ? files_of(rt) : NULL;
    if (!t) return 0;
    for (;;) {
        bool busy = false;
        /* acquire: pairs with ring_count's release store (a count seen at zero comes with the
         * pool's count of a close handed on before it). */
        for (int i = 0; i < rt->io->n && !busy; i++)
            busy = atomic_load_explicit(&t->rings[i].inflight, memory_order_acquire) != 0;
        if (!busy && atomic_load_explicit(&t->pooled, memory_order_seq_cst) == 0) return 0;
        if (core_now_ns() >= deadline_ns) return AX_ETIMEDOUT;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

int io_files_create(ax_runtime *rt) {
    struct io_files *t = mem_calloc(1, sizeof *t);
    if (!t) return AX_ENOMEM;
    int owners = io_owners_init(&t->owners, owner_of);
    size_t rings = sizeof *t->rings * (size_t)rt->io->n;
    t->rings = mem_aligned_alloc(AX_CACHE_LINE, rings);
    if (owners || !t->rings ||
        slots_init(&t->table, sizeof(struct io_file), offsetof(struct io_file, index)) != 0) {
        io_owners_destroy(&t->owners);
        free(t->rings);
        free(t);
        return AX_ENOMEM;
    }
    memset(t->rings, 0, rings);
    pthread_mutex_init(&t->lock, NULL);
#ifdef AX_FAULT_INJECTION
    if (getenv("AX_TEST_FILE_POOL")) t->force_pool = true; /* tests: the pool path on io_uring */
#endif
    rt->io->files = t;
    return 0;
}

void io_files_destroy(ax_runtime *rt) {
    struct io_files *t = rt->io ? files_of(rt) : NULL;
    if (!t) return;
    /* The workers and the pool have stopped, and shutdown waited for every operation, so a
     * record left is one whose shutdown gave up waiting: close what is open. */
    uint32_t hwm = atomic_load(&t->table.hwm);
    for (uint32_t i = 1; i < hwm; i++) {
        struct io_file *f = slots_at(&t->table, i);
        if (!f || atomic_load(&f->id) == 0) continue;
        int fd = atomic_load(&f->fd);
        if (fd >= 0) close(fd);
        if (f->close_reply) msg_release(rt, NULL, f->close_reply);
        atomic_store(&f->id, 0);
    }
    slots_destroy(&t->table);
    pthread_mutex_destroy(&t->lock);
    io_owners_destroy(&t->owners);
    free(t->rings);
    free(t);
    rt->io->files = NULL;
}

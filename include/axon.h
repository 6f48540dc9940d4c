/* SPDX-License-Identifier: MIT */
/* axon.h: the whole public API of axon, a C11 runtime of actors on a work-stealing scheduler.
 * This header is the reference: the comment on each declaration is its contract (ownership,
 * thread rules, error codes). docs/api.md indexes it; docs/guide.md teaches it with examples.
 * Terms: a handler is code a worker runs (receive, an ask continuation, stopped); init runs on
 * the thread that calls ax_spawn; a thread outside the runtime is any thread but its workers. */
#ifndef AXON_H
#define AXON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AX_VERSION_MAJOR 0
#define AX_VERSION_MINOR 1
#define AX_VERSION_PATCH 0

/* Marks the public API: the library is built with hidden visibility, so only what carries this
 * is exported from the shared library (versioned AXON_0.1) or global in the static one. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define AX_API __attribute__((visibility("default")))
#else
#define AX_API
#endif

/* ------------------------------------------------------------------------------------------
 * Errors. Every function returns 0 on success or one of these negative codes. Where an errno
 * fits, the code is that errno negated, so I/O results pass through unchanged. On error, output
 * parameters are not written unless the function's comment says otherwise. A thread outside
 * the runtime takes a thread record at its first call (1024 per runtime, workers included;
 * records of exited threads are reused): when none is free, its calls fail with AX_ENOMEM.
 * ---------------------------------------------------------------------------------------- */
#define AX_ERROR_LIST(X)                                                                      \
    X(AX_EINVAL, -EINVAL, "invalid argument (a NULL pointer, a bad size, type or option)")    \
    X(AX_ENOACTOR, -ESRCH, "no such actor (the ref was never valid or the actor stopped)")    \
    X(AX_ESHUTDOWN, -ESHUTDOWN, "the runtime is shutting down or has shut down")              \
    X(AX_EMSGSIZE, -EMSGSIZE, "payload larger than AX_MSG_MAX")                               \
    X(AX_EFULL, -EAGAIN, "full, try again (a bounded mailbox, a queue, a channel; or an empty channel)") \
    X(AX_EEXIST, -EEXIST, "the name is taken, or the actor already has a name")              \
    X(AX_ENOENT, -ENOENT, "no such name, monitor or timer (or it already fired)")              \
    X(AX_ENAMETOOLONG, -ENAMETOOLONG, "a name longer than AX_NAME_MAX or empty, or a path too long")   \
    X(AX_ETIMEDOUT, -ETIMEDOUT, "the deadline passed")                                         \
    X(AX_ENOMEM, -ENOMEM, "out of memory")                                                    \
    X(AX_ECONTEXT, -EPERM, "not allowed here (a blocking call in a handler, a socket call by an actor that does not own it)") \
    X(AX_EINIT, -ECANCELED, "the behavior's init hook failed; nothing was spawned")           \
    X(AX_EBUSY, -EBUSY, "the runtime is still running (shutdown did not complete)")        \
    X(AX_ENOTSUP, -EOPNOTSUPP, "not supported here (e.g. io_uring asked for and refused)")    \
    X(AX_ENOSOCK, -EBADF, "no such socket or file (closed, or never valid)")                 \
    X(AX_EPIPE, -EPIPE, "closed for writing (a socket's write side shut down, a channel closed)")

enum ax_error {
    AX_OK = 0,
#define AX_ERROR_ENUM_(name, value, text) name = value,
    AX_ERROR_LIST(AX_ERROR_ENUM_)
#undef AX_ERROR_ENUM_
};

/* A static string naming the code ("AX_ENOACTOR: no such actor ..."), "AX_OK: success" for 0,
 * the C library's description for another negated errno that calls pass on from the kernel
 * (-EADDRINUSE: "Address already in use"), "unknown axon error code" for any other value;
 * never NULL, never to be freed. Any thread. */
AX_API const char *ax_strerror(int code);

/* ------------------------------------------------------------------------------------------
 * Types.
 * ---------------------------------------------------------------------------------------- */

/* A runtime: a pool of worker threads and every actor living on it. Opaque. */
typedef struct ax_runtime ax_runtime;

/* A handler's context: who is running, which message is being handled. Opaque; valid only
 * during the hook it was passed to and only on that thread. */
typedef struct ax_ctx ax_ctx;

/* Handles: 8-byte values of three distinct types, so that passing a timer where an actor
 * is expected does not compile: single-member structs, passed and returned in one register
 * like the integer inside. Compare them with the _eq functions (`==` does not compile); `id` is
 * for printing, hashing and storing; a handle with id 0 is never valid. A handle means
 * something only to the runtime that issued it: runtimes issue the same values. */
#ifdef __cplusplus
#define AX_HANDLE_NONE_(type) (type{0})
#else
#define AX_HANDLE_NONE_(type) ((type){0})
#endif

/* An actor ref: the node that issued it (ax_config.node), a slot and the slot's generation.
 * Copy it, store it, send it inside messages, to this runtime or (axon_remote.h) to another
 * node. A ref whose actor stopped stays invalid forever: it is never reissued to another actor.
 * Calls given a ref that is not alive return AX_ENOACTOR, unless their comment says otherwise
 * (ax_link, ax_monitor, ax_unlink, the timers). */
typedef struct ax_ref {
    uint64_t id;
} ax_ref;
#define AX_REF_NONE AX_HANDLE_NONE_(ax_ref)
/* True when a and b name the same actor. */
static inline int ax_ref_eq(ax_ref a, ax_ref b) { return a.id == b.id; }
/* True for AX_REF_NONE. */
static inline int ax_ref_is_none(ax_ref r) { return r.id == 0; }
/* The largest node number (ax_config.node); nodes are 0 (a runtime in no cluster) to this. */
#define AX_NODE_MAX 4095u
/* The node that issued r: its top 12 bits. */
static inline uint32_t ax_ref_node(ax_ref r) { return (uint32_t)(r.id >> 52); }

/* Largest payload of one message, in bytes. */
#define AX_MSG_MAX 65536u

/* Message types at or above this value are reserved for the runtime; sends refuse them. */
#define AX_MSG_RESERVED 0xFF000000u
/* The type of the notice a dead-letter actor receives (payload: ax_dead_letter + bytes). */
#define AX_MSG_DEAD_LETTER 0xFF000001u
/* An exit signal delivered as a message to an actor that traps exits (payload: ax_exit). */
#define AX_MSG_EXIT 0xFF000002u
/* A monitored actor stopped (payload: ax_down). */
#define AX_MSG_DOWN 0xFF000003u

/* A message as a handler sees it. Read-only in handlers; the runtime owns it and reuses it
 * after the handler returns, so copy what must outlive the call. data is 16-byte aligned. */
typedef struct ax_msg {
    ax_ref sender;         /* the sending actor; AX_REF_NONE from outside the runtime and for
                              dead-letter notices; the runtime's internal reply sink for
                              requests from ax_ask_wait */
    uint32_t type;         /* chosen by the sender, below AX_MSG_RESERVED */
    uint32_t size;         /* bytes in data */
    unsigned char data[];  /* the payload */
} ax_msg;

/* Why an actor stopped; passed to its stopped hook, carried by exit signals and DOWN notices.
 * Programs choose their own failure reasons at or above AX_REASON_USER (see ax_fail). Every
 * reason except AX_REASON_NORMAL is abnormal: it propagates over links (see ax_link). */
enum ax_reason {
    AX_REASON_NORMAL = 0,   /* ax_stop on it, or it stopped itself */
    AX_REASON_SHUTDOWN = 1, /* the runtime shut down */
    AX_REASON_FAILED = 2,   /* its receive hook (or an ask continuation) returned non-zero */
    AX_REASON_NOPROC = 3,   /* the actor linked or monitored was not alive ("no such actor") */
    AX_REASON_ESCALATED = 4, /* a supervisor exceeded its restart intensity (OTP: shutdown) */
    AX_REASON_NODEDOWN = 5, /* the actor's node went down or became unreachable (axon_remote.h;
                               Erlang: noconnection); the actor itself may still be running */
    AX_REASON_USER = 16     /* first reason free for programs */
};

/* What an actor is. Static storage is the usual home: the runtime keeps the pointer for the
 * actor's whole life, so the behavior must outlive every actor spawned from it. */
typedef struct ax_behavior {
    const char *name;  /* for people reading the code and, later, diagnostics; may be NULL */
    size_t state_size; /* bytes of state allocated with the actor, zeroed, 16-byte aligned;
                          may be 0 */
    /* Optional. Runs once, inside ax_spawn, on the spawning thread; messages sent to the actor
     * meanwhile wait until it returns. arg is ax_spawn's arg, valid only during this call.
     * Non-zero fails the spawn with AX_EINIT (stopped is then not called). */
    int (*init)(ax_ctx *ctx, void *state, const void *arg);
    /* Required. Handles one message, runtime notices (AX_MSG_EXIT, AX_MSG_DOWN,
     * AX_MSG_DEAD_LETTER) included. Returning non-zero fails the actor: it stops with
     * AX_REASON_FAILED (or the reason of a stop requested earlier, which wins). Must not block
     * (it holds a worker thread). */
    int (*receive)(ax_ctx *ctx, void *state, const ax_msg *msg);
    /* Optional. Runs exactly once when the actor stops, on a worker, with the reason. Sends
     * are allowed; the actor's own ref is already invalid; timers armed here never fire. */
    void (*stopped)(ax_ctx *ctx, void *state, int reason);
} ax_behavior;

/* ------------------------------------------------------------------------------------------
 * Runtime lifecycle.
 * ---------------------------------------------------------------------------------------- */

/* How the option and result structs grow without breaking programs built against an older
 * axon: each ends in reserved space that a later version turns into fields, so the struct's
 * size never changes within a major version. Reserved fields of a struct passed in must be
 * zero (so `= {0}` and designated initializers stay right): a non-zero one is refused with
 * AX_EINVAL, so a program that sets a field this version does not know fails clearly. The
 * runtime writes zeros into the reserved fields of a struct it fills. */

/* Configuration. Zero in any field means its default, so `ax_config c = {0};` is valid. */
typedef struct ax_config {
    int workers;    /* worker threads; default: the online CPUs (at most 256) */
    int pin;        /* non-zero: pin worker i to CPU i (mod CPUs); a failed pin is ignored */
    int batch;      /* messages an actor handles per turn before yielding (replies and runtime
                       messages count); default 64 */
    int lifo_cap;   /* consecutive runs from the LIFO slot before the slot is bypassed
                       (so a ping-pong pair cannot starve others); default 32 */
    int spin_us;    /* the most an idle worker searches before parking (less after searches
                       that found nothing: docs/design.md, "The spin adapts"; while searching
                       it yields its core to other runnable threads every few microseconds);
                       default 50; negative: park at once; at most 1,000,000 (larger means that) */
    int io;         /* the I/O backend: AX_IO_AUTO (0), AX_IO_URING or AX_IO_EPOLL; see below */
    int blocking_threads; /* most threads of the blocking-work pool (ax_run_blocking), started
                             as jobs arrive; default 4, at most 64 (larger means that) */
    int blocking_queue;   /* jobs it queues before ax_run_blocking refuses (AX_EFULL);
                             default 1024, at most 2^20 (larger means that) */
    int stack_kb;     /* each worker thread's stack, in KiB (address space: pages are used as
                         touched); nested fork-join lives there; default 65536 (64 MiB);
                         at least 1024 and at most 4194304 (4 GiB): beyond, the bound */
    int metrics;      /* non-zero: every actor is metered (see ax_spawn_opts.metrics) */
    int trace_events; /* the flight recorder: events each worker keeps (rounded up to a power of
                         two, at most 2^24; 48 bytes each); 0: off (see ax_trace_dump) */
    int deterministic; /* non-zero: deterministic mode, from `seed` (see below) */
    uint64_t seed;
    int node;         /* this runtime's node number, 0 to AX_NODE_MAX, written into every ref it
                         issues; unique in a cluster (axon_remote.h); 0: in no cluster */
    int reserved[1];  /* zero (see above): 64 bytes in all */
} ax_config;

/* Deterministic mode, for tests: one worker; which runnable actor runs next, how many messages it
 * handles in its turn, and the order of timers due together are drawn from a generator seeded
 * with `seed`; timers run on virtual time, which stands still while anything is runnable and
 * jumps to the next deadline when nothing is (a 10-second timeout passes at once). A program
 * whose work starts from one message (or spawn) from outside and then comes from its own actors
 * and timers makes the same handler calls in the same order under the same seed. Outside the
 * guarantee: calls from outside threads while actors run (they arrive when the thread gets to
 * them), I/O, the blocking pool, and fork-join's heartbeat (which only moves work between
 * workers, and there is one). The environment variable AX_SEED=<n> (decimal or 0x hex) makes
 * every runtime the process creates deterministic with seed n, whatever its configuration says
 * (its workers become 1): a failure's seed replays it in the same program. */

/* I/O backends. AX_IO_AUTO takes the environment variable AX_IO ("uring" or "epoll") if set,
 * else io_uring where the kernel has it and allows it (not refused by seccomp or
 * kernel.io_uring_disabled, new enough to wait with a timeout), else epoll. Under valgrind,
 * which cannot run a thread asleep in io_uring beside the one that would wake it, AUTO is
 * epoll. */
#define AX_IO_AUTO 0
#define AX_IO_URING 1
#define AX_IO_EPOLL 2

/* Creates a runtime and starts its workers. cfg may be NULL (defaults); it is copied. Any
 * thread. Errors: AX_EINVAL (out NULL, negative workers/batch/lifo_cap/blocking_threads/
 * blocking_queue/stack_kb/node, workers > 256, node > AX_NODE_MAX, a reserved field not zero,
 * an unknown io value, or AX_IO set to another word than "uring", "io_uring", "epoll" or
 * "auto", deterministic with workers > 1, AX_SEED set to something other than a number), AX_ENOTSUP
 * (AX_IO_URING asked for, by cfg->io or AX_IO, where io_uring is unavailable), AX_ENOMEM (also
 * when a worker thread cannot be started, as with a stack_kb the system cannot map). */
AX_API int ax_runtime_create(const ax_config *cfg, ax_runtime **out);

/* The runtime's node number (ax_config.node); 0 for NULL. Any thread. */
AX_API uint32_t ax_runtime_node(const ax_runtime *rt);

/* Shuts the runtime down, from a thread outside it (not a handler, not a job of its blocking
 * pool: AX_ECONTEXT); it blocks.
 * 1. Sends, spawns, ax_msg_alloc, timer arming and the blocking calls from outside the runtime
 *    fail with AX_ESHUTDOWN from now on; outside threads already inside such a call are waited for.
 * 2. Work runs until the runtime is idle (nothing runnable: pending timers, ask timeouts and
 *    backoff restarts are not work) or half the deadline passed.
 * 3. Threads waiting in ax_ask_wait or ax_supervisor_start_child are released (AX_ESHUTDOWN).
 *    Every actor is stopped (stopped hooks run, reason AX_REASON_SHUTDOWN); messages still
 *    queued go to dead letters; spawns from handlers now fail with AX_ESHUTDOWN. For the
 *    first half of the time left, supervised children are left to their supervisors (trees
 *    stop top-down); then every actor still alive is asked directly.
 * 4. Blocking jobs not yet started are dropped; running ones are waited for. The workers
 *    are joined.
 * timeout_ms bounds the whole call (<= 0 means 10 s; up to INT64_MAX, which never expires). A
 * handler of another runtime is not detected: calling this there blocks that handler's worker.
 * Errors: AX_EINVAL (rt NULL), AX_ECONTEXT (from a handler or a blocking job of this
 * runtime), AX_ESHUTDOWN (shutdown was already called), AX_ETIMEDOUT (an actor would not stop
 * in time, a handler that does not return, or a blocking job did not return in time; the
 * runtime stays in its stop phase and ax_runtime_destroy waits for it once more). */
AX_API int ax_runtime_shutdown(ax_runtime *rt, int64_t timeout_ms);

/* Frees the runtime and everything in it. If it was not shut down, shuts it down first with
 * the default deadline (10 s): destroying a live runtime is allowed and stops every actor. If
 * an earlier shutdown timed out, waits up to 10 s more for its actors to stop. Threads still
 * inside ax_ask_wait on rt are released (AX_ESHUTDOWN) and waited for; no other call on rt may
 * be running or start meanwhile. After 0, rt is gone, and so is every message from it the
 * caller still owned (unsent ax_msg_alloc messages, ax_ask_wait replies): free those first.
 * Errors: AX_EINVAL (rt NULL), AX_ECONTEXT (called from a handler or a blocking job of rt),
 * AX_EBUSY (actors would not stop, or a blocking job would not return; nothing was freed, call
 * again later). */
AX_API int ax_runtime_destroy(ax_runtime *rt);

/* The I/O backend the runtime runs on: AX_IO_URING or AX_IO_EPOLL; 0 if rt is NULL. Any
 * thread. */
AX_API int ax_runtime_io(const ax_runtime *rt);

/* The number of worker threads; 0 if rt is NULL. Any thread. */
AX_API int ax_runtime_workers(const ax_runtime *rt);

/* ------------------------------------------------------------------------------------------
 * Actors. All of these may be called from any thread: handlers and threads outside.
 * ---------------------------------------------------------------------------------------- */

/* What a sender meets when a bounded mailbox is full. */
typedef enum ax_overflow {
    AX_OVERFLOW_REFUSE = 0,     /* the send fails with AX_EFULL; the caller keeps the message */
    AX_OVERFLOW_DEAD_LETTER = 1 /* the send succeeds; the message goes to dead letters */
} ax_overflow;

/* A bounded mailbox counts the user messages queued (replies and timer messages included), not
 * the one being handled; runtime messages (exit signals, DOWN and dead-letter notices, ask
 * timeouts) are never counted or refused. */
typedef struct ax_spawn_opts {
    uint32_t mailbox_capacity; /* 0: unbounded (the default) */
    ax_overflow overflow;      /* used only when mailbox_capacity > 0 */
    uint32_t metrics;          /* non-zero: meter this actor (ax_actor_metrics); about 1.2 KiB
                                  more memory, two clock reads per message handled */
    uint32_t reserved[5];      /* zero (see ax_config): 32 bytes in all */
} ax_spawn_opts;

/* Spawns an actor: allocates it with b->state_size bytes of zeroed state, runs b->init (if
 * any) with arg, and stores the new ref in *out. opts may be NULL (unbounded mailbox) and is
 * copied; arg may be NULL. Any thread; from a handler, init runs inside that handler. The
 * actor exists while init runs (as an Erlang process does): init may send, link, monitor,
 * register, arm timers and ask; messages sent to it meanwhile wait until init returned. If
 * init fails, they become dead letters, links/monitors made by init fire (reason
 * AX_REASON_FAILED), its name is released and its timers never fire; it counts neither as
 * spawned nor as stopped. Errors: AX_EINVAL (rt, b, b->receive or out NULL, an unknown
 * opts->overflow even with no capacity, a reserved field not zero), AX_ESHUTDOWN (from
 * outside once shutdown began; from any thread in its stop phase), AX_EINIT (init returned
 * non-zero), AX_ENOMEM (also for a
 * state_size too large to allocate, and when the ref table (2^28 slots) or the thread-record
 * table (1024 threads at once) is full). */
AX_API int ax_spawn(ax_runtime *rt, const ax_behavior *b, const void *arg,
                    const ax_spawn_opts *opts, ax_ref *out);

/* Sends a copy of size bytes at data (data may be NULL when size is 0). Messages from one
 * sender to one receiver arrive in send order (a thread outside counts as one sender). Never
 * blocks. 0 means accepted, not handled: under AX_OVERFLOW_DEAD_LETTER, or when the receiver
 * is already stopping, the message becomes a dead letter.
 * Errors: AX_EINVAL (rt NULL, data NULL with size > 0, type >= AX_MSG_RESERVED),
 * AX_EMSGSIZE, AX_ENOACTOR, AX_EFULL, AX_ESHUTDOWN (from outside after shutdown began),
 * AX_ENOMEM. On error nothing was sent. */
AX_API int ax_send(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size);

/* Zero-copy sending: ax_msg_alloc returns a message with size writable bytes at (*out)->data
 * (uninitialized, 16-byte aligned); fill it and pass it to ax_msg_send, which takes ownership
 * on success (0). On any error the caller still owns it: retry, or give it back with
 * ax_msg_free, before ax_runtime_destroy. Any thread; alloc, send and free may be on different
 * threads.
 * Errors: AX_EINVAL (rt or out NULL), AX_EMSGSIZE, AX_ESHUTDOWN (outside, after shutdown
 * began), AX_ENOMEM. */
AX_API int ax_msg_alloc(ax_runtime *rt, size_t size, ax_msg **out);
/* Sends a message from ax_msg_alloc on this runtime (never one received in a handler): sets its
 * sender and type and sends msg->size bytes; msg->size may be lowered, never raised above the
 * allocated size. Order as ax_send.
 * Errors: AX_EINVAL (rt or msg NULL, type >= AX_MSG_RESERVED), AX_EMSGSIZE (msg->size changed
 * to more than AX_MSG_MAX), AX_ENOACTOR, AX_EFULL, AX_ESHUTDOWN (outside, after shutdown
 * began), AX_ENOMEM (no thread record for the calling thread). */
AX_API int ax_msg_send(ax_runtime *rt, ax_ref to, uint32_t type, ax_msg *msg);
/* Gives back a message the caller owns (unsent, or an ax_ask_wait reply), never one received in
 * a handler. Any thread, also after shutdown (not after destroy). Errors: AX_EINVAL (rt or msg
 * NULL). */
AX_API int ax_msg_free(ax_runtime *rt, ax_msg *msg);

/* Asks an actor to stop, with AX_REASON_NORMAL. Asynchronous: the actor finishes the message it
 * is handling, then stops before any further user message; its stopped hook runs once; messages
 * left in its mailbox go to dead letters. Stopping oneself: ax_stop(rt, ax_self(ctx)). Only the
 * first stop request counts. It is not an exit signal: trapping exits does not intercept it
 * (a supervisor stops its children first). Any thread, also during shutdown.
 * Errors: AX_EINVAL (rt NULL), AX_ENOACTOR (not alive, or already stopping), AX_ENOMEM
 * (no thread record for the calling thread). */
AX_API int ax_stop(ax_runtime *rt, ax_ref ref);

/* ------------------------------------------------------------------------------------------
 * Inside a handler.
 * ---------------------------------------------------------------------------------------- */

AX_API ax_ref ax_self(const ax_ctx *ctx);               /* AX_REF_NONE if ctx is NULL */
/* The restart hook of supervised children: inside init, how many times the supervisor has
 * restarted this child (as ax_supervisor_child_restarts counts; 0 at its first start, when not
 * started by a supervisor, or outside init) and, if prev_reason is not NULL, the reason the
 * previous incarnation stopped with (0 when the count is 0). 0 if ctx is NULL. */
AX_API uint64_t ax_restarts(const ax_ctx *ctx, int *prev_reason);
AX_API ax_runtime *ax_ctx_runtime(const ax_ctx *ctx);   /* NULL if ctx is NULL */

/* Sends a copy of the payload to the sender of the message being handled, answering it if it was
 * an ask; the reply's sender is the replying actor. An ask can be answered only while its request
 * is being handled; a second reply to it is a dead letter (AX_DEAD_LATE_REPLY). In a continuation
 * that got a reply, the message being handled is that reply. Errors: AX_EINVAL (ctx NULL or not
 * handling a message, data NULL with size > 0, type >= AX_MSG_RESERVED), AX_EMSGSIZE, AX_ENOACTOR
 * (no sender: it came from outside without ax_ask_wait, or the sender stopped), AX_EFULL,
 * AX_ENOMEM. */
AX_API int ax_reply(ax_ctx *ctx, uint32_t type, const void *data, size_t size);

/* The continuation of an ax_ask. It runs on the asking actor, as one of its messages, exactly
 * once: status 0 with the reply, or AX_ETIMEDOUT with reply NULL. reply is valid during the
 * call only. Returning non-zero fails the actor, as receive does. */
typedef int (*ax_ask_fn)(ax_ctx *ctx, void *state, int status, const ax_msg *reply, void *user);

/* Where an ax_ask's answer goes and how long it may take. */
typedef struct ax_ask_opts {
    int64_t timeout_ms;   /* > 0, up to INT64_MAX (waits beyond AX_TIMER_MAX_MS wait that) */
    ax_ask_fn cont;       /* required: runs once, with the reply or AX_ETIMEDOUT */
    void *user;           /* passed to cont */
    uint64_t reserved[5]; /* zero (see ax_config): 64 bytes in all */
} ax_ask_opts;

/* From a handler or init: sends a request (as ax_send does) and returns at once; opts->cont runs
 * later on this actor. opts is read during the call only. A reply arriving after the timeout goes
 * to dead letters. If the receiver stops with the request queued, or a full mailbox dead-letters
 * it, cont still waits for the timeout. If the asking actor stops first (an ask made in stopped
 * included), the continuation never runs. Errors (then cont never runs; AX_ENOMEM may come after
 * the request was sent, whose reply is then a dead letter): AX_EINVAL (ctx, opts or opts->cont
 * NULL, opts->timeout_ms <= 0, a reserved field not zero, data NULL with size > 0, type >=
 * AX_MSG_RESERVED), AX_EMSGSIZE, AX_ENOACTOR, AX_EFULL, AX_ENOMEM. */
AX_API int ax_ask(ax_ctx *ctx, ax_ref to, uint32_t type, const void *data, size_t size,
                  const ax_ask_opts *opts);

/* From a thread outside the runtime (main, a foreign thread): sends a request and blocks until
 * the reply or the timeout (up to INT64_MAX: no deadline). *reply is set to NULL unless the
 * arguments are rejected (AX_EINVAL, AX_EMSGSIZE, AX_ECONTEXT). On 0, *reply is the reply; the
 * caller owns it and gives it back with ax_msg_free. Errors: AX_EINVAL (NULL rt/reply,
 * timeout_ms <= 0, data NULL with size > 0, type >= AX_MSG_RESERVED), AX_EMSGSIZE,
 * AX_ECONTEXT (called from a handler: it would block a worker), AX_ENOACTOR (the target is not
 * alive, or stopped with the request queued), AX_EFULL (its bounded mailbox refused the
 * request, or dead-lettered it under AX_OVERFLOW_DEAD_LETTER), AX_ETIMEDOUT (the reply, if it
 * comes later, goes to dead letters), AX_ESHUTDOWN (after shutdown began, also when it reaches
 * its stop phase while the caller waits), AX_ENOMEM. */
AX_API int ax_ask_wait(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                       int64_t timeout_ms, ax_msg **reply);

/* Fails the calling actor: it stops with reason (AX_REASON_USER to INT_MAX, or
 * AX_REASON_FAILED) once the current hook returns, whatever it returns; the message being
 * handled counts as failed. A stop requested earlier keeps its reason (the call still returns
 * 0). In init it does not fail the spawn (return non-zero for that): the actor stops right
 * after init. In stopped it changes nothing.
 * Errors: AX_EINVAL (ctx NULL, reason AX_REASON_NORMAL or below AX_REASON_USER other than
 * FAILED). */
AX_API int ax_fail(ax_ctx *ctx, int reason);

/* ------------------------------------------------------------------------------------------
 * Links and monitors (Erlang semantics). Called from handlers; the notices are messages.
 * ---------------------------------------------------------------------------------------- */

/* The payload of AX_MSG_EXIT: the linked actor `from` (also msg->sender) stopped with `reason`.
 * It is handled before the messages already queued: exit signals overtake them. */
typedef struct ax_exit {
    ax_ref from;
    int32_t reason;
    uint32_t reserved;
} ax_exit;

/* A monitor, as ax_monitor gives it and AX_MSG_DOWN names it (see "Handles" above): unique
 * among one actor's monitors; different actors' monitors may have equal ids. */
typedef struct ax_monitor_id {
    uint64_t id;
} ax_monitor_id;
/* True when a and b are the same monitor. */
static inline int ax_monitor_eq(ax_monitor_id a, ax_monitor_id b) { return a.id == b.id; }

/* The payload of AX_MSG_DOWN: the actor `ref` (also msg->sender), monitored under `monitor`,
 * stopped. It is queued like a message from `ref`, after what `ref` sent before it stopped. */
typedef struct ax_down {
    ax_ref ref;
    ax_monitor_id monitor;
    int32_t reason;
    uint32_t reserved;
} ax_down;

/* Links the calling actor and `other`, both ways. When either stops with an abnormal reason, the
 * other stops with the same reason, unless it traps exits: then it receives an AX_MSG_EXIT message
 * instead. A normal stop reaches only actors that trap exits. Linking twice is one link. The call
 * returns before `other` has recorded its side. If `other` is not alive, the caller gets the exit
 * signal at once with AX_REASON_NOPROC (so, not trapping, it stops); a link made in stopped is
 * answered at once with the stop reason. Errors: AX_EINVAL (ctx NULL, other == self), AX_ENOMEM. */
AX_API int ax_link(ax_ctx *ctx, ax_ref other);
/* Removes the link, if any (both ways; 0 also when there was none). An exit signal that the
 * peer sent before the unlink reached it is ignored on arrival (the caller no longer holds the
 * link); only the AX_REASON_NOPROC answer to a link to an actor that was not alive still
 * arrives. Errors: AX_EINVAL (ctx NULL). */
AX_API int ax_unlink(ax_ctx *ctx, ax_ref other);
/* on non-zero: exit signals from linked actors arrive as AX_MSG_EXIT messages instead of
 * stopping the caller; off for a new actor. ax_stop and shutdown are not exit signals: trapping
 * does not intercept them. Errors: AX_EINVAL (ctx NULL). */
AX_API int ax_trap_exits(ax_ctx *ctx, int on);

/* Monitors `target`: when it stops, the caller receives one AX_MSG_DOWN message with the
 * reason (AX_REASON_NOPROC at once if it is not alive). One direction; monitoring twice gives
 * two monitors. *monitor identifies it for ax_demonitor; the monitor is gone once its DOWN is
 * handled. Monitoring oneself is accepted and never delivers. Errors: AX_EINVAL (NULL ctx or
 * monitor), AX_ENOMEM. */
AX_API int ax_monitor(ax_ctx *ctx, ax_ref target, ax_monitor_id *monitor);
/* Cancels a monitor: no AX_MSG_DOWN for it is delivered afterwards, not even one already in
 * flight. Errors: AX_EINVAL (ctx NULL), AX_ENOENT (no such monitor of this actor: never made,
 * already cancelled, or its DOWN already handled). */
AX_API int ax_demonitor(ax_ctx *ctx, ax_monitor_id monitor);

/* ------------------------------------------------------------------------------------------
 * Supervisors (Erlang/OTP supervisor semantics; differences in docs/guide.md). A supervisor is
 * an actor that starts children, links to them, traps their exits and restarts them.
 * ---------------------------------------------------------------------------------------- */

typedef enum ax_strategy {
    AX_ONE_FOR_ONE = 0,       /* restart the child that stopped */
    AX_ONE_FOR_ALL = 1,       /* stop the others (reverse start order), restart all in order */
    AX_REST_FOR_ONE = 2,      /* stop those started after it (reverse), restart it and them */
    AX_SIMPLE_ONE_FOR_ONE = 3 /* dynamic children from one template, started at run time */
} ax_strategy;

/* A child that is not restarted is removed: nothing starts it again, not a group restart
 * either. */
typedef enum ax_restart {
    AX_PERMANENT = 0, /* always restarted */
    AX_TRANSIENT = 1, /* restarted only after an abnormal stop (not NORMAL, not SHUTDOWN) */
    AX_TEMPORARY = 2  /* never restarted */
} ax_restart;

typedef enum ax_child_kind { AX_CHILD_WORKER = 0, AX_CHILD_SUPERVISOR = 1 } ax_child_kind;

/* How a supervisor stops a child: always a stop request (reason AX_REASON_SHUTDOWN), which takes
 * effect when the child's current handler returns (running C code is never interrupted). A
 * positive shutdown_ms waits up to that long (at most AX_TIMER_MAX_MS); any negative value
 * waits as AX_SHUTDOWN_INFINITY. There is no default by kind: a zeroed field is KILL. */
#define AX_SHUTDOWN_KILL 0        /* do not wait for it to finish stopping */
#define AX_SHUTDOWN_INFINITY (-1) /* wait for its exit as long as it takes */

typedef struct ax_child_spec {
    const char *id;              /* 1 to AX_NAME_MAX bytes, unique among the supervisor's
                                    children; copied */
    const ax_behavior *behavior; /* must outlive the supervisor; for a nested supervisor:
                                    &ax_supervisor_behavior with arg an ax_sup_spec */
    const void *arg;             /* passed to init at every start: copied if arg_size > 0
                                    (then not NULL), else the pointer itself is passed (it
                                    must outlive the supervisor) */
    size_t arg_size;
    ax_restart restart;
    int64_t shutdown_ms;         /* AX_SHUTDOWN_KILL, a wait in ms (then go on without it), or
                                    AX_SHUTDOWN_INFINITY; nested supervisors usually want INFINITY */
    ax_child_kind kind;          /* informational (OTP's worker | supervisor) */
    const char *name;            /* optional (NULL, or 1 to AX_NAME_MAX bytes): registered
                                    for each incarnation right after its init; if it is
                                    taken, that start fails */
} ax_child_spec;

typedef struct ax_sup_spec {
    ax_strategy strategy;
    int intensity;               /* restarts allowed per period (one per restart decision);
                                    one more escalates: the children are stopped, then the
                                    supervisor stops with AX_REASON_ESCALATED; 0 means the
                                    default, 1 */
    int64_t period_ms;           /* 0 means the default, 5000 */
    int64_t backoff_min_ms;      /* 0: restart at once (OTP); else one_for_one and simple
                                    restarts (not group restarts) wait a random delay in
                                    [b/2, b], b doubling from */
    int64_t backoff_max_ms;      /*    min up to max, */
    int64_t backoff_reset_ms;    /*    and back to min after this long without a restart
                                       (0: never) */
    const ax_child_spec *children; /* started in order; for AX_SIMPLE_ONE_FOR_ONE exactly one:
                                      the template (its id and name are ignored) */
    size_t nchildren;
} ax_sup_spec;

/* The supervisor behavior, for nested supervisors in child specs (arg: an ax_sup_spec that,
 * with its children, must outlive the parent, as behaviors do). */
AX_API extern const ax_behavior ax_supervisor_behavior;

/* Starts a supervisor and, in order, its children (any thread, as ax_spawn: the children's init
 * run on the calling thread). spec and its children are read during the call only (ids and
 * names are copied). The whole spec is checked first, before anything starts: a known strategy;
 * intensity, period_ms and the backoff fields not negative, backoff_max_ms >= backoff_min_ms;
 * children not NULL if nchildren > 0, and exactly one for AX_SIMPLE_ONE_FOR_ONE; every child
 * (the template too) with a behavior that has a receive, a known restart type, and arg not
 * NULL if arg_size > 0; every static child with a valid, unique id and a valid name. If a
 * child then cannot start (its init fails, its name is taken, memory runs out), the call fails
 * with AX_EINIT and the children already started get the supervisor's exit (AX_REASON_FAILED)
 * over their links. Durations and intensity take any value up to INT64_MAX / INT_MAX
 * (arithmetic saturates; timer waits are capped at AX_TIMER_MAX_MS). Errors: AX_EINVAL (rt,
 * spec or out NULL, or a spec that fails the check), AX_EINIT, AX_ESHUTDOWN, AX_ENOMEM. */
AX_API int ax_supervisor_start(ax_runtime *rt, const ax_sup_spec *spec, ax_ref *out);
/* AX_SIMPLE_ONE_FOR_ONE: starts a child from the template with this arg (copied; arg_size 0:
 * the template's arg). From a thread outside the runtime: it waits for the supervisor's answer,
 * with no deadline (as OTP's start_child). Dynamic children have no id and no name; a restarted
 * one gets a new ref that no call returns. Errors: AX_EINVAL (NULL rt/out, arg NULL with
 * arg_size > 0, or not a simple_one_for_one supervisor), AX_EMSGSIZE (arg_size > AX_MSG_MAX),
 * AX_ECONTEXT (from a handler), AX_ENOACTOR (not a live supervisor, or it stopped before
 * answering), AX_EINIT, AX_ESHUTDOWN (it is stopping, or the runtime is), AX_ENOMEM. */
AX_API int ax_supervisor_start_child(ax_runtime *rt, ax_ref sup, const void *arg, size_t arg_size,
                                     ax_ref *out);
/* The current ref of the static child with this id, as its supervisor knows it (any thread;
 * call it once ax_supervisor_start has returned). A restarted child has a new ref. A child
 * that has just stopped keeps its last ref here until the supervisor handles its exit (as in
 * OTP's which_children). Errors: AX_EINVAL (NULL rt, id or out), AX_ENOACTOR (sup is not a
 * live supervisor, or the supervisor has handled the child's exit and not started it again),
 * AX_ENOENT (no such id; always for AX_SIMPLE_ONE_FOR_ONE), AX_ENOMEM (no thread record for
 * the calling thread). */
AX_API int ax_supervisor_child(ax_runtime *rt, ax_ref sup, const char *id, ax_ref *out);
/* How many times the static child with this id was restarted, as a sibling in group restarts
 * too, delayed and failed restarts included (any thread). Errors: AX_EINVAL (NULL rt, id or
 * out), AX_ENOACTOR (sup is not a live supervisor), AX_ENOENT (no such id; always for
 * AX_SIMPLE_ONE_FOR_ONE), AX_ENOMEM (no thread record for the calling thread). */
AX_API int ax_supervisor_child_restarts(ax_runtime *rt, ax_ref sup, const char *id, uint64_t *out);

/* ------------------------------------------------------------------------------------------
 * Timers: a message sent later, once or at an interval. Any thread. Timers live on the workers'
 * timing wheels (0.25 ms ticks); a timer never fires before its deadline. A timer armed inside a
 * handler is owned by that actor: when the owner stops, its timers fire no more. A timer armed
 * from outside has no owner.
 * ---------------------------------------------------------------------------------------- */

/* A timer handle (see "Handles" above), never reissued: a handle that fired, was cancelled or
 * never existed is refused by ax_timer_cancel, whatever its bits. */
typedef struct ax_timer {
    uint64_t id;
} ax_timer;
#define AX_TIMER_NONE AX_HANDLE_NONE_(ax_timer)
/* True when a and b are the same timer. */
static inline int ax_timer_eq(ax_timer a, ax_timer b) { return a.id == b.id; }
/* True for AX_TIMER_NONE. */
static inline int ax_timer_is_none(ax_timer t) { return t.id == 0; }
/* Longest delay or period, in milliseconds (about a year). */
#define AX_TIMER_MAX_MS (1LL << 35)

/* Sends a copy of the payload to `to` after delay_ms (0: at the next tick). The message's sender
 * is the arming actor (AX_REF_NONE from outside). `to` is not checked now: if it is not alive when
 * the timer fires, the message is a dead letter (AX_DEAD_STOPPED), and if its bounded mailbox is
 * full, one too (AX_DEAD_FULL, under either policy). out may be NULL. Errors: AX_EINVAL (rt NULL,
 * delay_ms < 0 or > AX_TIMER_MAX_MS, bad type/data), AX_EMSGSIZE, AX_ESHUTDOWN (outside, after
 * shutdown began), AX_ENOMEM. */
AX_API int ax_send_after(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                         int64_t delay_ms, ax_timer *out);
/* As ax_send_after, again every period_ms (1 to 2^32 - 1) until cancelled or its owner stops.
 * Fixed rate: each deadline is period_ms after the previous one; a timer that fell a whole period
 * behind fires at the next tick instead, without catch-up bursts. Errors: AX_EINVAL (rt NULL,
 * period_ms < 1 or > 2^32 - 1, bad type/data), AX_EMSGSIZE, AX_ESHUTDOWN (outside, after shutdown
 * began), AX_ENOMEM. */
AX_API int ax_send_interval(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                            int64_t period_ms, ax_timer *out);
/* Cancels a timer: on 0 it will not fire (again). Exactly one of "fired" and "cancelled"
 * happens to a one-shot timer. If it is firing right then, the call waits for that delivery, so
 * after 0 an interval sends nothing more; a message already sent stays queued. O(1): the
 * record is marked; its wheel drops it at the deadline.
 * Errors: AX_EINVAL (rt NULL), AX_ENOENT (it already fired (one-shot), was cancelled, or never
 * existed). */
AX_API int ax_timer_cancel(ax_runtime *rt, ax_timer timer);

/* ------------------------------------------------------------------------------------------
 * Blocking work: a call that would block a worker (a file operation, getaddrinfo, a library
 * that sleeps) runs on the runtime's blocking pool instead, and its result comes back as a
 * message. The pool's size and queue are set in ax_config.
 * ---------------------------------------------------------------------------------------- */

/* A job: runs on a pool thread, never on a worker; returns its result. */
typedef int64_t (*ax_blocking_fn)(void *arg);

/* The payload of the message that carries a job's result (sender AX_REF_NONE). */
typedef struct ax_blocking_done {
    int64_t result; /* what fn returned */
    void *arg;      /* the job's argument, to tell jobs apart and free what it holds */
} ax_blocking_done;

/* Queues fn(arg) on the blocking pool; when it returns, `to` receives a message of `type` whose
 * payload is an ax_blocking_done. Jobs start in the order queued, as many at once as the pool
 * has threads. If `to` has stopped or its bounded mailbox is full by then, the result is a dead
 * letter (fn's side effects stand), counted as one also when the result could not be sent at
 * all (no memory). Any thread. At shutdown, once every actor has stopped, jobs not yet started
 * are dropped (fn never runs) and running ones are waited for within the shutdown's deadline.
 * A job may call the runtime like any thread outside it, but not ax_runtime_shutdown or
 * ax_runtime_destroy (AX_ECONTEXT). Errors: AX_EINVAL (rt or fn NULL, type >= AX_MSG_RESERVED), AX_EFULL (the queue
 * holds ax_config.blocking_queue jobs), AX_ESHUTDOWN (from outside after shutdown began, or
 * from a handler once the pool stopped), AX_ENOMEM (no pool thread could be started, or the
 * queue could not grow). */
AX_API int ax_run_blocking(ax_runtime *rt, ax_ref to, uint32_t type, ax_blocking_fn fn,
                           void *arg);

/* ------------------------------------------------------------------------------------------
 * Sockets: TCP, Unix domain stream and UDP sockets as messages. A socket is owned by one actor;
 * only its handlers call the functions below with it (others get AX_ECONTEXT). What happens on
 * it arrives as messages of the AX_MSG_SOCK_ types, each carrying an ax_sock_msg (a datagram: an
 * ax_datagram), sent by the runtime (sender
 * AX_REF_NONE), in order per socket, never refused for a bounded mailbox's capacity. A closed
 * socket's handle is stale: calls with it return AX_ENOSOCK. When its owner stops, every socket
 * it owns is closed. Errors from the kernel arrive as the negated errno (e.g. -ECONNRESET).
 * ---------------------------------------------------------------------------------------- */

/* A socket handle (see "Handles" above). */
typedef struct ax_socket {
    uint64_t id;
} ax_socket;
#define AX_SOCKET_NONE AX_HANDLE_NONE_(ax_socket)
/* True when a and b name the same socket. */
static inline int ax_socket_eq(ax_socket a, ax_socket b) { return a.id == b.id; }
/* True for AX_SOCKET_NONE. */
static inline int ax_socket_is_none(ax_socket s) { return s.id == 0; }

/* A listener accepted `conn`, owned by the listener's owner, not yet reading: hand it over
 * (ax_socket_handover, to itself too) to start receiving. */
#define AX_MSG_SOCK_ACCEPTED 0xFF000010u
/* A connect finished: error 0, or why it failed (AX_ETIMEDOUT: its timeout passed). */
#define AX_MSG_SOCK_CONNECTED 0xFF000011u
/* Bytes received: data[0..size). */
#define AX_MSG_SOCK_DATA 0xFF000012u
/* The peer shut its write side (it may still read: the socket can still send). */
#define AX_MSG_SOCK_EOF 0xFF000013u
/* The socket failed (error: e.g. -ECONNRESET); queued writes were dropped; close it. On a UDP
 * socket it concerns one datagram only (e.g. -ENETUNREACH: the kernel refused to send it, and
 * it was dropped) and the socket goes on. */
#define AX_MSG_SOCK_ERROR 0xFF000014u
/* A send refused with AX_EFULL can be retried: the write queue fell to its low watermark. */
#define AX_MSG_SOCK_WRITABLE 0xFF000015u
/* A UDP socket received a datagram: the payload is an ax_datagram, not an ax_sock_msg. */
#define AX_MSG_SOCK_DATAGRAM 0xFF000016u

/* The payload of every AX_MSG_SOCK_ message. */
typedef struct ax_sock_msg {
    ax_socket sock;        /* the socket it concerns (for ACCEPTED, the listener) */
    ax_socket conn;        /* ACCEPTED: the new connection; otherwise AX_SOCKET_NONE */
    int32_t error;         /* CONNECTED and ERROR: 0 or an error code */
    uint32_t size;         /* DATA: bytes in data */
    unsigned char data[];
} ax_sock_msg;

/* A socket address, IPv4 or IPv6: the bytes of a struct sockaddr_storage (<sys/socket.h>: cast
 * `storage` to struct sockaddr_in or sockaddr_in6 to read it) and how many of them are in use.
 * ax_addr_parse fills one; a datagram carries its sender's, to answer with ax_udp_send_to. */
typedef struct ax_addr {
    union {
        unsigned char storage[128]; /* a struct sockaddr_storage */
        uint64_t align_;            /* (its alignment) */
    };
    uint32_t len;      /* bytes of storage in use (a socklen_t) */
    uint32_t reserved; /* zero */
} ax_addr;

/* The payload of AX_MSG_SOCK_DATAGRAM. */
typedef struct ax_datagram {
    ax_socket sock;    /* the UDP socket */
    uint32_t size;     /* bytes in data */
    uint32_t length;   /* the datagram's length: above size when it was longer than
                          AX_DATAGRAM_MAX and was truncated to it */
    ax_addr from;      /* the sender */
    unsigned char data[];
} ax_datagram;

/* The most bytes of a datagram a message carries (65384): the rest of a longer one is cut off
 * (ax_datagram.length tells). */
#define AX_DATAGRAM_MAX (AX_MSG_MAX - sizeof(ax_datagram))
/* Bytes ax_addr_format needs at most, the NUL included ("[IPv6]:port"). */
#define AX_ADDR_STRLEN 64

/* Options of ax_tcp_listen; zero means the default. */
typedef struct ax_listen_opts {
    int backlog;     /* the kernel's queue of unaccepted connections; default 511 */
    int reuseport;   /* non-zero: SO_REUSEPORT (several listeners on one port) */
    int max_conns;   /* connections open at once from this listener; 0: no limit; over it, a
                        new connection is closed at once and counted in ax_stats.refused */
    int reserved[5]; /* zero */
} ax_listen_opts;

/* Listens on addr: "IPv4:port", "[IPv6]:port", "localhost:port", or ":port" / "*:port" (every
 * address, IPv6 and IPv4); port 0 picks a free one (ax_socket_port tells it). Accepted
 * connections arrive as AX_MSG_SOCK_ACCEPTED. When descriptors run out (EMFILE, ENFILE),
 * accepting pauses 10 ms, doubling up to 1 s, and each pause is counted in
 * ax_stats.accept_pauses. A handler or init only. Errors: AX_EINVAL (NULL ctx or out, not in a
 * handler, a malformed address, negative options, a reserved field not zero), AX_ENOMEM (also
 * out of descriptors), or the kernel's (-EADDRINUSE, -EACCES...). */
AX_API int ax_tcp_listen(ax_ctx *ctx, const char *addr, const ax_listen_opts *opts,
                         ax_socket *out);

/* Connects to addr: numeric, as ax_tcp_listen's, or "host:port" with a host name (at most 253
 * bytes; "localhost" too), resolved with getaddrinfo on the blocking pool, never on a worker;
 * the handle is returned at once. The result arrives as AX_MSG_SOCK_CONNECTED, after which the
 * socket receives. A resolved name's addresses are tried in order until one connects (the
 * message carries the last one's error). A name that does not resolve ends with AX_ENOENT in
 * that message (EAI_NONAME, EAI_NODATA), or -EHOSTUNREACH (the resolver failed or gave no
 * answer: EAI_AGAIN, EAI_FAIL). timeout_ms > 0 bounds the whole wait, resolution included
 * (AX_ETIMEDOUT), 0 leaves it to the kernel and the resolver. Sends made before the connect
 * finishes wait for it. Closing the socket meanwhile is allowed (the resolution's result is
 * dropped). Errors: AX_EINVAL (NULL, a malformed address, negative timeout), AX_EFULL (a host
 * name, and the blocking pool's queue is full), AX_ENOMEM. */
AX_API int ax_tcp_connect(ax_ctx *ctx, const char *addr, int64_t timeout_ms, ax_socket *out);

/* Queues a copy of data[0..size) for writing. Returns 0 when queued; 1 when queued and the
 * write queue has reached its high watermark (default 256 KiB): stop sending (and pause
 * receiving with ax_socket_read, if what is received is what is sent) until the owner gets
 * AX_MSG_SOCK_WRITABLE, sent once the queue falls to the low watermark (default 64 KiB). A
 * queue at twice the high watermark plus 8 MiB (what a socket may still receive after a pause)
 * refuses sends with AX_EFULL (and WRITABLE follows too), so a peer that reads slowly holds at
 * most that much memory. Errors: AX_EINVAL (data NULL with
 * size > 0, a listener), AX_EMSGSIZE (size above the high watermark), AX_EFULL, AX_EPIPE (after
 * ax_socket_shutdown), AX_ENOSOCK, AX_ECONTEXT, AX_ENOMEM, or the error that ended the
 * socket. A UDP socket sends with ax_udp_send_to (here: AX_EINVAL). */
AX_API int ax_socket_send(ax_ctx *ctx, ax_socket sock, const void *data, size_t size);
/* The same without a copy (0 or 1 as above): takes msg (from ax_msg_alloc; its size bytes are
 * written) on success; on error the caller keeps it. Errors: as ax_socket_send; AX_EINVAL also
 * for msg NULL. */
AX_API int ax_socket_send_msg(ax_ctx *ctx, ax_socket sock, ax_msg *msg);
/* Shuts the write side once the queued bytes are written (the peer reads end of stream);
 * receiving goes on. Errors: AX_EINVAL (a listener), AX_ENOSOCK, AX_ECONTEXT. */
AX_API int ax_socket_shutdown(ax_ctx *ctx, ax_socket sock);
/* Closes the socket: no more messages for it are sent; bytes already queued are still written
 * (until the peer fails), then the descriptor is closed. The handle is stale at once. Errors:
 * AX_EINVAL, AX_ENOSOCK, AX_ECONTEXT. */
AX_API int ax_socket_close(ax_ctx *ctx, ax_socket sock);
/* Makes `to` the owner, and starts receiving (accepting, for a listener) if it had not: what
 * arrives from now on goes to `to`; messages already sent stay with the old owner. `to` may be
 * the caller (an acceptor that serves a connection itself). Errors: AX_ENOACTOR (to not alive:
 * the caller keeps the socket), AX_EINVAL, AX_ENOSOCK, AX_ECONTEXT. */
AX_API int ax_socket_handover(ax_ctx *ctx, ax_socket sock, ax_ref to);
/* on = 0 pauses receiving (accepting, for a listener): the kernel's buffer fills and TCP slows
 * the peer; messages already sent still arrive. on != 0 resumes. The runtime also pauses a
 * socket on its own while its write queue is above the high watermark, until it falls to the
 * low one, so an echo or a proxy is held back by the peer that reads slowly. Errors: AX_EINVAL, AX_ENOSOCK,
 * AX_ECONTEXT. */
AX_API int ax_socket_read(ax_ctx *ctx, ax_socket sock, int on);
/* Sets the write queue's watermarks (low <= high, 0 < high <= 2^40). Errors: AX_EINVAL,
 * AX_ENOSOCK, AX_ECONTEXT. */
AX_API int ax_socket_set_watermarks(ax_ctx *ctx, ax_socket sock, size_t low, size_t high);
/* A TCP listener's or a UDP socket's bound port. Errors: AX_EINVAL (NULL, a connection or a
 * Unix socket), AX_ENOSOCK, AX_ECONTEXT. */
AX_API int ax_socket_port(ax_ctx *ctx, ax_socket sock, int *port);

/* Unix domain stream sockets: once made, they are sockets like TCP ones (accept, handover, send,
 * shutdown, close, the same messages). path is a filesystem path, or "@name" for Linux's
 * abstract namespace (no file); at most 107 bytes (108 with the "@"), not empty. */

/* Listens on the Unix socket path. A socket file left there by a listener that is gone (a
 * connect to it is refused) is removed first; one that is listened on fails with -EADDRINUSE.
 * Closing the listener removes its socket file (if it is still the one it made). opts as
 * ax_tcp_listen's (reuseport is refused: AX_EINVAL). A handler or init only. Errors: AX_EINVAL
 * (NULL ctx, path or out, not in a handler, an empty path, negative options, reuseport, a
 * reserved field not zero), AX_ENAMETOOLONG (path too long), AX_ENOMEM (also out of
 * descriptors), or the kernel's (-EADDRINUSE, -EACCES, -ENOENT for a missing directory...). */
AX_API int ax_unix_listen(ax_ctx *ctx, const char *path, const ax_listen_opts *opts,
                          ax_socket *out);

/* Connects to the Unix socket path; the result arrives as AX_MSG_SOCK_CONNECTED (-ENOENT: no
 * such file; -ECONNREFUSED: nobody listens; on epoll, -EAGAIN: the listener's backlog is full),
 * as for ax_tcp_connect, whose timeout_ms it takes. Errors: AX_EINVAL (NULL, an empty path,
 * negative timeout), AX_ENAMETOOLONG (path too long), AX_ENOMEM. */
AX_API int ax_unix_connect(ax_ctx *ctx, const char *path, int64_t timeout_ms, ax_socket *out);

/* UDP. */

/* Binds a UDP socket to addr (the forms of ax_tcp_listen's; port 0 picks a free one, which
 * ax_socket_port tells) and starts receiving at once: each datagram arrives as
 * AX_MSG_SOCK_DATAGRAM with its sender's address. ax_socket_read, ax_socket_handover,
 * ax_socket_set_watermarks and ax_socket_close apply. A handler or init only. Errors:
 * AX_EINVAL (NULL, not in a handler, a malformed address), AX_ENOMEM (also out of
 * descriptors), or the kernel's (-EADDRINUSE, -EADDRNOTAVAIL...). */
AX_API int ax_udp_bind(ax_ctx *ctx, const char *addr, ax_socket *out);

/* Queues a copy of data[0..size) as one datagram to `to` (size 0: an empty datagram) on the
 * socket's write queue, with its watermarks (0, or 1 at the high one, as ax_socket_send). A
 * datagram the kernel refuses when it is sent is dropped and reported as AX_MSG_SOCK_ERROR; the
 * socket goes on. Errors: AX_EINVAL (to NULL, an address of another family than the socket's
 * (an IPv6 socket bound to every address also sends to IPv4), a bad to->len, to->reserved not
 * zero, data NULL with size > 0, not a UDP socket), AX_EMSGSIZE (size above 65507 to IPv4,
 * 65527 to IPv6, or above the high watermark), AX_EFULL, AX_ENOSOCK, AX_ECONTEXT,
 * AX_ENOMEM. */
AX_API int ax_udp_send_to(ax_ctx *ctx, ax_socket sock, const ax_addr *to, const void *data,
                          size_t size);

/* Parses a numeric address in the forms of ax_tcp_listen's ("IPv4:port", "[IPv6]:port",
 * "localhost:port" as 127.0.0.1, ":port" as IPv6's every address) into *out. Any thread.
 * Errors: AX_EINVAL (NULL, malformed; host names are not resolved here). */
AX_API int ax_addr_parse(const char *text, ax_addr *out);

/* Writes addr as "IPv4:port" or "[IPv6]:port", NUL-terminated, into buf[0..cap) (AX_ADDR_STRLEN
 * is always enough). Any thread. Errors: AX_EINVAL (NULL, not an IPv4 or IPv6 address, or
 * cap too small). */
AX_API int ax_addr_format(const ax_addr *addr, char *buf, size_t cap);

/* ------------------------------------------------------------------------------------------
 * Files: open, read and write at offsets, fsync and close, each call asynchronous. A file is
 * owned by the actor that opened it; only its handlers (and init) call the functions below
 * with it (others get AX_ECONTEXT). Each call takes a tag of the caller's choosing and returns
 * at once; its completion arrives as a message of an AX_MSG_FILE_ type carrying an ax_file_msg
 * with that tag, sent by the runtime (sender AX_REF_NONE), never refused for a bounded
 * mailbox's capacity (a stopped owner's become dead letters). Operations in flight at once run
 * concurrently, in no set order: issue an operation that depends on another after that one's
 * completion. On io_uring a call goes into the ring of the worker that runs the caller; on
 * epoll, or where io_uring is refused, the system call runs on the blocking pool and counts
 * against its queue (ax_config.blocking_queue). A closed file's handle is stale: calls with it
 * return AX_ENOSOCK. When its owner stops, every file it owns is closed once the operations in
 * flight on it have completed; runtime shutdown waits for them. Kernel errors arrive in
 * result as the negated errno (e.g. -ENOENT).
 * ---------------------------------------------------------------------------------------- */

/* A file handle (see "Handles" above). */
typedef struct ax_file {
    uint64_t id;
} ax_file;
#define AX_FILE_NONE AX_HANDLE_NONE_(ax_file)
/* True when a and b name the same file. */
static inline int ax_file_eq(ax_file a, ax_file b) { return a.id == b.id; }
/* True for AX_FILE_NONE. */
static inline int ax_file_is_none(ax_file f) { return f.id == 0; }

/* An open finished: result 0, or why it failed (the handle is then stale already). */
#define AX_MSG_FILE_OPENED 0xFF000020u
/* A read finished: result is the bytes read, in data[0..size) (0 at or past the end of the
 * file), or the error. */
#define AX_MSG_FILE_READ 0xFF000021u
/* A write finished: result is the bytes written (fewer than asked only when the disk is full
 * or a limit is met, as for pwrite(2)), or the error. */
#define AX_MSG_FILE_WRITTEN 0xFF000022u
/* An fsync finished: result 0 or the error (e.g. -EIO: data may be lost). */
#define AX_MSG_FILE_SYNCED 0xFF000023u
/* A close finished: result 0 or the error. The file's last message: every completion of an
 * operation issued before the close arrived before it. */
#define AX_MSG_FILE_CLOSED 0xFF000024u

/* The payload of every AX_MSG_FILE_ message. */
typedef struct ax_file_msg {
    ax_file file;       /* the file it concerns */
    uint64_t tag;       /* the tag its call was given */
    int64_t result;     /* READ, WRITTEN: bytes, or a negated errno; the others: 0 or one */
    uint32_t size;      /* READ: bytes in data (result when it is positive, else 0) */
    uint32_t reserved;  /* zero */
    unsigned char data[];
} ax_file_msg;

/* The most bytes one read or one write moves: what a message holds after its ax_file_msg. */
#define AX_FILE_IO_MAX (AX_MSG_MAX - 32u)

/* Opens path (a relative one from the working directory, as openat(AT_FDCWD) does) with the
 * open(2) flags (O_RDONLY, O_WRONLY or O_RDWR, with O_CREAT, O_TRUNC, O_APPEND...; O_CLOEXEC
 * is always added) and, for a file created, mode. *out is the file at once, owned by the
 * caller; AX_MSG_FILE_OPENED follows. Until it arrives, only ax_file_close takes the handle.
 * A handler or init only. Errors: AX_EINVAL (ctx, path or out NULL, not in a handler, mode
 * above 07777, O_DIRECT: buffers are not block-aligned), AX_ENAMETOOLONG (path of PATH_MAX
 * bytes or more), AX_EFULL (the blocking pool's queue is full, where it carries the call),
 * AX_ENOMEM. */
AX_API int ax_file_open(ax_ctx *ctx, const char *path, int flags, unsigned mode, uint64_t tag,
                        ax_file *out);

/* Reads up to size bytes at offset; AX_MSG_FILE_READ carries them. Errors: AX_EINVAL (ctx
 * NULL, offset negative, offset + size above INT64_MAX, the open not yet completed),
 * AX_EMSGSIZE (size above AX_FILE_IO_MAX), AX_ENOSOCK, AX_ECONTEXT, AX_EFULL (the blocking
 * pool's queue), AX_ENOMEM. */
AX_API int ax_file_read(ax_ctx *ctx, ax_file file, int64_t offset, size_t size, uint64_t tag);

/* Writes a copy of data[0..size) at offset (a file opened with O_APPEND writes at its end,
 * whatever the offset); AX_MSG_FILE_WRITTEN tells how many bytes were written. Errors:
 * AX_EINVAL (ctx NULL, data NULL with size > 0, offset negative, offset + size above
 * INT64_MAX, the open not yet completed), AX_EMSGSIZE (size above AX_FILE_IO_MAX), AX_ENOSOCK,
 * AX_ECONTEXT, AX_EFULL (the blocking pool's queue), AX_ENOMEM. */
AX_API int ax_file_write(ax_ctx *ctx, ax_file file, int64_t offset, const void *data,
                         size_t size, uint64_t tag);

/* Flushes the file's data and metadata to its device (fsync(2)), what completed writes wrote
 * included; AX_MSG_FILE_SYNCED follows. Errors: AX_EINVAL (ctx NULL, the open not yet
 * completed), AX_ENOSOCK, AX_ECONTEXT, AX_EFULL (the blocking pool's queue), AX_ENOMEM. */
AX_API int ax_file_sync(ax_ctx *ctx, ax_file file, uint64_t tag);

/* Closes the file: the handle is stale at once; the operations in flight complete (their
 * messages arrive), then the descriptor is closed and AX_MSG_FILE_CLOSED follows, last. Never
 * fails for want of memory (its message was set aside by the open). Errors: AX_EINVAL (ctx
 * NULL), AX_ENOSOCK, AX_ECONTEXT. */
AX_API int ax_file_close(ax_ctx *ctx, ax_file file, uint64_t tag);

/* ------------------------------------------------------------------------------------------
 * HTTP/1.1 server: a listener actor and one actor per connection, on the sockets above.
 * Keep-alive, pipelining (responses in request order), Content-Length and chunked request
 * bodies, Date and Server headers. Malformed requests get 400, an oversized head 431, an
 * oversized body 413, a coding other than chunked 501, a version other than 1.x 505, each
 * followed by a close; a connection whose request head has not arrived within the header
 * timeout gets 408 and is closed, and so is one idle longer than the idle timeout. Each
 * request is answered by a handler function, called in the connection's actor.
 * ---------------------------------------------------------------------------------------- */

/* One header field of a request; name and value point into the request's bytes. */
typedef struct ax_http_header {
    const char *name;
    size_t name_len;
    const char *value; /* without surrounding blanks */
    size_t value_len;
} ax_http_header;

/* A request as the handler sees it: every pointer is valid during the handler call only. */
typedef struct ax_http_request {
    const char *method;
    size_t method_len;
    const char *target; /* as sent: "/path?query" */
    size_t target_len;
    int minor_version;  /* HTTP/1.<minor_version>: 0 or 1 */
    int keep_alive;     /* the connection stays open after the response */
    const ax_http_header *headers;
    size_t nheaders;
    const void *body;   /* the decoded body (chunked coding removed); NULL when body_len is 0 */
    size_t body_len;
} ax_http_request;

/* The response being built for one request (opaque; valid during the handler call). */
typedef struct ax_http_response ax_http_response;

/* The largest response body ax_http_respond takes (8 MiB). */
#define AX_HTTP_BODY_MAX ((size_t)8 << 20)

/* Answers one request: its ax_http_respond call makes the response. ctx is the connection
 * actor's (it may send, ask, arm timers). A handler that returns non-zero, or returns without
 * responding, gets 500 sent for it and the connection closed. Must not block. */
typedef int (*ax_http_handler)(ax_ctx *ctx, const ax_http_request *req, ax_http_response *res,
                               void *arg);

/* Options of ax_http_listen; zero means the default. */
typedef struct ax_http_opts {
    int64_t header_timeout_ms; /* from a connection's start, or a request's first byte, until
                                  its head is whole (408 after); default 10,000 */
    int64_t idle_timeout_ms;   /* a kept-alive connection with no request; and between the
                                  reads of a body; default 60,000 */
    size_t max_head;           /* request line and header fields, bytes; default 16 KiB
                                  (431 beyond) */
    size_t max_body;           /* a request body, bytes; default 1 MiB (413 beyond) */
    ax_listen_opts listen;     /* the listener's options (backlog, reuseport, max_conns) */
    int64_t reserved[4];       /* zero */
} ax_http_opts;

/* Finds the request's header field `name` (case-insensitive): its value and length, or NULL
 * when there is none (or req or name is NULL). len may be NULL. */
AX_API const char *ax_http_header_get(const ax_http_request *req, const char *name, size_t *len);

/* Responds with status (100..999), a Content-Type (NULL: none) and body[0..body_len); the
 * response also carries Server, Date, Content-Length, and "Connection: close" when the
 * connection is closing. Once per request. Errors: AX_EINVAL (res NULL, status out of range,
 * body NULL with body_len > 0, a content type with CR or LF, a second response to the same
 * request), AX_EMSGSIZE (body_len above AX_HTTP_BODY_MAX), or the socket's error (the
 * connection then closes). */
AX_API int ax_http_respond(ax_http_response *res, int status, const char *content_type,
                           const void *body, size_t body_len);

/* Starts an HTTP server on addr (as ax_tcp_listen's): spawns the listener actor, whose ref is
 * stored in *server, and its bound port in *port (port may be NULL). Each accepted connection
 * gets an actor of its own that calls handler(ctx, request, response, arg) for every request.
 * ax_stop(server) closes the listener; connections already open are served until they close
 * or time out. Any thread, or a handler. Errors: AX_EINVAL (rt, addr, handler or server NULL,
 * a negative timeout, a reserved field not zero, bad listen options, a malformed address),
 * AX_ESHUTDOWN, AX_ENOMEM, or the kernel's (-EADDRINUSE...). */
AX_API int ax_http_listen(ax_runtime *rt, const char *addr, const ax_http_opts *opts,
                          ax_http_handler handler, void *arg, ax_ref *server, int *port);

/* ------------------------------------------------------------------------------------------
 * Parallel work: fork-join on the workers that run actors, scheduled by heartbeat. A join
 * records its second branch on the worker's own stack (no atomic, no allocation); every 100 us
 * a worker's heartbeat lets its next join make the oldest such branch stealable, so a join
 * costs almost nothing when no worker is idle and spreads when one is. Call it from a handler
 * (the worker helps only with fork-join work while it waits: a handler is never re-entered),
 * from a branch, or through ax_par_run from a thread outside the runtime. While a handler
 * joins, its actor is busy, as in any long handler; other actors run on the other workers.
 * ---------------------------------------------------------------------------------------- */

/* A branch of a join, or a root: returns 0 or an error of the caller's choosing (a non-zero
 * result is the join's result, and a handler may return it to fail). */
typedef int (*ax_par_fn)(void *arg);

/* Not part of the API (names that end in an underscore may change in any release): what the
 * inline fast path of ax_join needs. A join's frame, on its caller's stack; a worker's frame
 * stack, on a base frame that counts as promoted, and its heartbeat flag; the calling thread's
 * state (off a worker, one whose flag is always up); the out-of-line join, taken when the flag
 * is up (a heartbeat, no root yet, not a worker, misuse); and the end of a promoted frame's
 * join. */
typedef struct ax_join_frame_ {
    ax_par_fn fn;
    void *arg;
    struct ax_join_frame_ *below;
    struct ax_join_frame_ *above; /* the frame pushed on this one last */
    int promoted;
    void *runtime_[4]; /* the runtime's, once promoted: the frame's task, the thief's result */
} ax_join_frame_;

typedef struct ax_join_state_ {
    ax_join_frame_ *top; /* the newest frame; &base when no root runs */
    unsigned beat;       /* raised by the heartbeat thread, and whenever no root runs */
    ax_join_frame_ *promoted; /* the newest promoted frame: the ones below are promoted too */
    ax_join_frame_ base;
} ax_join_state_;

AX_API extern __thread ax_join_state_ *ax_join_state_tls_; /* see ax_join_frame_ */
AX_API int ax_join_slow_(ax_par_fn a, void *arg_a, ax_par_fn b, void *arg_b); /* see above */
AX_API int ax_join_promoted_(ax_join_frame_ *f, int result_a); /* see ax_join_frame_ */

/* Pushes frame f for branch b on the worker's frame stack, on below (see ax_join_frame_). */
static inline void ax_join_push_(ax_join_state_ *js, ax_join_frame_ *f, ax_join_frame_ *below,
                                 ax_par_fn b, void *arg) {
    f->fn = b;
    f->arg = arg;
    f->below = below;
    f->promoted = 0;
    below->above = f; /* a heartbeat finds the oldest unpromoted frame as promoted->above */
    js->top = f;
}

/* Pops f (below is its f->below, passed in a register: reloading it from f would put a store-
 * to-load forwarding on every join's critical path) once its first branch returned result_a,
 * and runs b unless f was promoted (see ax_join_frame_). */
static inline int ax_join_finish_(ax_join_state_ *js, ax_join_frame_ *f, ax_join_frame_ *below,
                                  int result_a, ax_par_fn b, void *arg) {
    js->top = below; /* every join the first branch made has returned: f is the top again */
    if (__builtin_expect(f->promoted, 0)) return ax_join_promoted_(f, result_a);
    int rb = b(arg);
    return result_a ? result_a : rb;
}

/* Runs a(arg_a) and b(arg_b), perhaps in parallel: the caller runs a, then b unless another
 * worker took b, in which case it waits for b while helping with other fork-join work. Returns
 * a's result if non-zero, else b's (both always run). On a worker only: in a handler, a
 * branch, or a root of ax_par_run. Errors: AX_EINVAL (a or b NULL), AX_ECONTEXT (not on a
 * worker: an outside thread uses ax_par_run). Inline: with no heartbeat due, a join is a frame
 * pushed and popped on the caller's stack, and a compiler that sees a and b calls them
 * directly. */
static inline int ax_join(ax_par_fn a, void *arg_a, ax_par_fn b, void *arg_b) {
    ax_join_state_ *js = ax_join_state_tls_; /* never NULL: off a worker, its beat is up */
    if (__builtin_expect(!a || !b || __atomic_load_n(&js->beat, __ATOMIC_RELAXED), 0))
        return ax_join_slow_(a, arg_a, b, arg_b);
    ax_join_frame_ *below = js->top;
    ax_join_frame_ f;
    ax_join_push_(js, &f, below, b, arg_b);
    int ra = a(arg_a);
    return ax_join_finish_(js, &f, below, ra, b, arg_b);
}

/* From a thread outside the runtime: runs fn(arg) on a worker as a fork-join root and waits for
 * it; returns fn's result. Errors: AX_EINVAL (rt or fn NULL), AX_ECONTEXT (on a worker, which
 * must not block: call fn there), AX_ESHUTDOWN (shutdown began, or the runtime was destroyed
 * before the root ran). */
AX_API int ax_par_run(ax_runtime *rt, ax_par_fn fn, void *arg);

/* A loop body: handles the indices [lo, hi); 0 or an error that ends the loop. */
typedef int (*ax_par_range_fn)(int64_t lo, int64_t hi, void *arg);

/* Runs body over [lo, hi) in sub-ranges, split in halves at heartbeats (no grain size to
 * choose); returns 0 or the first error a body returned (sub-ranges not yet started then do not
 * run). Where ax_join may be called. Errors: AX_EINVAL (body NULL, lo > hi), AX_ECONTEXT,
 * AX_ENOMEM (less than 128 KiB of the worker's stack left: loops nested too deep for
 * ax_config.stack_kb; a loop takes about 400 bytes). */
AX_API int ax_parallel_for(int64_t lo, int64_t hi, ax_par_range_fn body, void *arg);

/* The largest accumulator of ax_parallel_reduce, in bytes. */
#define AX_REDUCE_ACC_MAX 256

/* A reduction: accumulators of acc_size bytes (16-byte aligned), an identity, a fold of a
 * sub-range into an accumulator, and combine(acc, other), where other covers the indices right
 * after acc's (so an order-sensitive combine stays right). */
typedef struct ax_reduce {
    size_t acc_size;
    void (*init)(void *acc, void *arg);
    int (*body)(int64_t lo, int64_t hi, void *acc, void *arg);
    void (*combine)(void *acc, const void *other, void *arg);
    void *arg;
} ax_reduce;

/* Sets *acc to init's identity, then folds [lo, hi) into it, split at heartbeats like
 * ax_parallel_for. Returns 0 or the first error a body returned (acc is then partial). Errors:
 * AX_EINVAL (r, acc or a hook NULL, acc_size 0 or above AX_REDUCE_ACC_MAX, lo > hi),
 * AX_ECONTEXT, AX_ENOMEM (as ax_parallel_for). */
AX_API int ax_parallel_reduce(int64_t lo, int64_t hi, const ax_reduce *r, void *acc);

/* ------------------------------------------------------------------------------------------
 * Channels: a bounded multi-producer multi-consumer queue of fixed-size items, the bridge
 * between actors and code that is not written as actors. Any thread sends and receives; each
 * item is a byte copy of item_size bytes (chosen at creation), taken by exactly one receiver, in
 * the order the sends claimed their places. The non-blocking calls (and the blocking ones with
 * timeout_ms 0) take no lock and allocate nothing; the blocking ones sleep on a futex. A handler
 * may use the non-blocking calls only (timeout_ms 0): a wait would block its worker. AX_EFULL
 * (-EAGAIN) means "not now": no room to send, or nothing to receive. AX_EPIPE means closed: a
 * send after ax_chan_close, or a receive once the channel is closed and empty. A channel belongs
 * to a runtime (subscriptions deliver through it); shutdown does not close channels (outside
 * threads may go on passing items through them); destroy them before ax_runtime_destroy.
 * ---------------------------------------------------------------------------------------- */

/* A channel. Opaque. */
typedef struct ax_chan ax_chan;

/* Creates a channel of capacity items of item_size bytes each (1 to AX_MSG_MAX), on rt, and
 * stores it in *out. Its memory (capacity x item_size, rounded up to 8, plus 8 per slot) is
 * allocated here, once. Any thread. Errors: AX_EINVAL (rt or out NULL, item_size or capacity 0),
 * AX_EMSGSIZE (item_size above AX_MSG_MAX), AX_ENOMEM (also when the ring's size overflows). */
AX_API int ax_chan_create(ax_runtime *rt, size_t item_size, size_t capacity, ax_chan **out);

/* Closes the channel (see ax_chan_close), then frees it. Only once no other thread uses it or
 * can still call it (wake the waiters with ax_chan_close and let them return first); items left
 * in it are dropped. Any thread. Errors: AX_EINVAL (chan NULL). */
AX_API int ax_chan_destroy(ax_chan *chan);

/* Closes the channel: every later send fails with AX_EPIPE; receivers take the items still
 * queued (every send that returned 0 before the close is received), then get AX_EPIPE. Every
 * thread waiting in ax_chan_send or ax_chan_recv wakes: senders with AX_EPIPE, receivers with an
 * item or AX_EPIPE. A subscription keeps forwarding what is left. Closing twice is allowed. Any
 * thread. Errors: AX_EINVAL (chan NULL). */
AX_API int ax_chan_close(ax_chan *chan);

/* Sends a copy of item[0..size); size must be the channel's item_size. Never blocks; lock-free
 * and without allocation (unless the channel has a subscriber: see ax_chan_subscribe). Any
 * thread, handlers included. Errors: AX_EINVAL (chan or item NULL, size not the item size),
 * AX_EFULL (no room now), AX_EPIPE (closed). */
AX_API int ax_chan_try_send(ax_chan *chan, const void *item, size_t size);

/* Takes the oldest item into out[0..size); size must be the item size. Never blocks. Any thread,
 * handlers included. Errors: AX_EINVAL (chan or out NULL, size not the item size), AX_EFULL
 * (nothing to take now), AX_EPIPE (closed and empty). */
AX_API int ax_chan_try_recv(ax_chan *chan, void *out, size_t size);

/* As ax_chan_try_send, waiting up to timeout_ms for room: 0 does not wait (as try_send), a
 * negative value or INT64_MAX waits without a deadline. A thread outside the runtime (a job of
 * the blocking pool too); from a handler only with timeout_ms 0. Errors: AX_EINVAL (as
 * try_send), AX_ECONTEXT (a handler with timeout_ms not 0), AX_EFULL (timeout_ms 0 and no room),
 * AX_ETIMEDOUT (no room before the deadline), AX_EPIPE (closed, also while waiting). */
AX_API int ax_chan_send(ax_chan *chan, const void *item, size_t size, int64_t timeout_ms);

/* As ax_chan_try_recv, waiting up to timeout_ms (as ax_chan_send's) for an item. Errors:
 * AX_EINVAL (as try_recv), AX_ECONTEXT (a handler with timeout_ms not 0), AX_EFULL (timeout_ms
 * 0 and nothing to take), AX_ETIMEDOUT (nothing came before the deadline), AX_EPIPE (closed and
 * empty, also while waiting). */
AX_API int ax_chan_recv(ax_chan *chan, void *out, size_t size, int64_t timeout_ms);

/* Makes the live actor ref the channel's subscriber: the items queued now and every later one
 * are delivered to it as messages of `type` (sender AX_REF_NONE, payload the item), in channel
 * order, by the thread whose send published them (or by this call, for those queued already);
 * such a send takes the channel's subscription lock and allocates the message. At most one
 * subscriber. Direct receivers still compete: each item goes to one of them or to the
 * subscriber. When the subscriber has stopped, the subscription ends at the next item (items
 * stay queued for receivers); an item for a subscriber that is stopping, or whose bounded
 * mailbox is full, is a dead letter. If memory runs out, items stay queued until the next send.
 * Any thread. Errors: AX_EINVAL (chan NULL, type >= AX_MSG_RESERVED), AX_ENOACTOR (ref not
 * alive), AX_EEXIST (the channel has a subscriber already), AX_ENOMEM (no thread record). */
AX_API int ax_chan_subscribe(ax_chan *chan, ax_ref ref, uint32_t type);

/* Ends the subscription: no item is forwarded after the call returns (one being forwarded
 * during it arrives); items stay queued for receivers. Any thread. Errors: AX_EINVAL (chan
 * NULL), AX_ENOENT (no subscriber: none was set, or it stopped and the subscription ended). */
AX_API int ax_chan_unsubscribe(ax_chan *chan);

/* The number of items queued (sends claimed, receives not yet claimed): a hint while threads
 * use the channel, exact when they are quiet. 0 if chan is NULL. Any thread. */
AX_API size_t ax_chan_len(const ax_chan *chan);

/* ------------------------------------------------------------------------------------------
 * Registry: names for actors. One name per actor; a name is released when its actor stops.
 * Any thread (a short mutex). Names are copied NUL-terminated byte strings, compared
 * case-sensitively; at most AX_NAME_MAX bytes, not empty.
 * ---------------------------------------------------------------------------------------- */
#define AX_NAME_MAX 63

/* Registers name for the live actor ref. A stopping actor's name is released after its
 * stopped hook returns. Errors: AX_EINVAL (NULL), AX_ENAMETOOLONG, AX_ENOACTOR (ref not alive,
 * or it stopped during the call), AX_EEXIST (name taken, or the actor already has a name),
 * AX_ENOMEM. */
AX_API int ax_register(ax_runtime *rt, const char *name, ax_ref ref);
/* Stores the ref registered under name in *out (its actor may stop at any time after).
 * Errors: AX_EINVAL, AX_ENAMETOOLONG, AX_ENOENT. */
AX_API int ax_whereis(ax_runtime *rt, const char *name, ax_ref *out);
/* Removes name, whoever registered it; its actor keeps running.
 * Errors: AX_EINVAL, AX_ENAMETOOLONG, AX_ENOENT. */
AX_API int ax_unregister(ax_runtime *rt, const char *name);

/* ------------------------------------------------------------------------------------------
 * Dead letters: messages that were accepted but could not be handled (the receiver stopped
 * with them queued, a full mailbox with the dead-letter policy, a reply after its ask timed
 * out, shutdown). Each is counted; if a dead-letter actor is set, it also receives a message
 * of type AX_MSG_DEAD_LETTER whose data is an ax_dead_letter followed by the original payload
 * (16-byte aligned). Notices are not counted as sent or processed, no mailbox capacity applies
 * to them, and none is made about a notice or about a message to the dead-letter actor itself.
 * ---------------------------------------------------------------------------------------- */
enum ax_dead_reason {
    AX_DEAD_STOPPED = 1,  /* the receiver stopped (or was stopping) with the message queued */
    AX_DEAD_FULL = 2,     /* the receiver's bounded mailbox was full */
    AX_DEAD_LATE_REPLY = 3, /* a reply whose ask had already timed out */
    AX_DEAD_LOST = 4      /* sent to another node and lost on the way (a NATS server or the node
                             went down with it; axon_remote.h), or not known to have arrived */
};

typedef struct ax_dead_letter {
    ax_ref target;  /* the intended receiver */
    ax_ref sender;  /* the original sender */
    uint32_t type;  /* the original type */
    uint32_t size;  /* bytes of original payload that follow this struct */
    int32_t reason; /* an ax_dead_reason */
    uint32_t reserved;
} ax_dead_letter;

/* Sets (or with AX_REF_NONE clears) the dead-letter actor; it is not cleared when that actor
 * stops. Notices to it that fail are counted only. A notice carries the whole original payload,
 * so it may be up to AX_MSG_MAX + sizeof(ax_dead_letter) bytes. Any thread. Errors: AX_EINVAL
 * (rt NULL), AX_ENOACTOR (ref neither AX_REF_NONE nor alive), AX_ENOMEM. */
AX_API int ax_set_dead_letter_actor(ax_runtime *rt, ax_ref ref);

/* ------------------------------------------------------------------------------------------
 * Statistics: counters kept per worker without atomics on the hot path; a read is a sum of
 * relaxed loads, exact once the runtime is quiet. Threads outside the runtime count as an
 * extra "outside" entry in the total.
 * ---------------------------------------------------------------------------------------- */
typedef struct ax_stats {
    uint64_t sent;         /* user messages accepted by a send */
    uint64_t processed;    /* user messages handled (receive or ask continuation) */
    uint64_t failed;       /* user messages whose handler failed (not counted as processed) */
    uint64_t dead_letters; /* messages that became dead letters */
    uint64_t spawned;      /* actors spawned */
    uint64_t stopped;      /* actors stopped */
    uint64_t restarts;     /* children restarted by supervisors */
    uint64_t escalations;  /* supervisors that gave up (restart intensity exceeded) */
    uint64_t steals;       /* tasks taken from another worker's deque */
    uint64_t parks;        /* times a worker went to sleep */
    uint64_t sockets;      /* sockets open now (opened minus closed; per worker: may be < 0
                              as a uint64, a socket closes on another worker than it opened) */
    uint64_t accepts;      /* connections accepted */
    uint64_t refused;      /* accepted connections closed at once (max_conns, no memory) */
    uint64_t accept_pauses; /* times accepting paused for want of descriptors */
    uint64_t bytes_in;     /* bytes received on sockets */
    uint64_t bytes_out;    /* bytes written to sockets */
    uint64_t io_enters;    /* io_uring_enter calls that submitted (io_uring) */
    uint64_t io_submitted; /* requests submitted by them (io_submitted / io_enters: the batch) */
    uint64_t io_completions; /* completions (io_uring) or readiness events (epoll) handled */
    uint64_t blocking_queued; /* jobs waiting in the blocking pool now (ax_stats_get only) */
    uint64_t reserved[4];  /* written as zero (see ax_config): 192 bytes in all */
} ax_stats;

/* The totals, outside threads (exited ones too) included. Any thread, also after shutdown, until
 * ax_runtime_destroy. Errors: AX_EINVAL (NULL). */
AX_API int ax_stats_get(ax_runtime *rt, ax_stats *out);
/* One worker's counters (worker in [0, ax_runtime_workers)). Any thread. Errors: AX_EINVAL
 * (NULL, or worker out of range). */
AX_API int ax_stats_worker(ax_runtime *rt, int worker, ax_stats *out);

/* ------------------------------------------------------------------------------------------
 * Metrics: a snapshot of what the runtime does, per worker and per metered actor, with handler
 * times as log-linear histograms (each power of two split in four buckets: a quantile is within
 * 12.5 % of the true value, min and max are exact). Workers record without atomics; a snapshot
 * merges their histograms. An actor is metered when spawned with ax_spawn_opts.metrics or in
 * a runtime created with ax_config.metrics; unmetered actors cost nothing. docs/guide.md,
 * "Observing a running system", shows the formats.
 * ---------------------------------------------------------------------------------------- */
typedef struct ax_latency {
    uint64_t count;  /* values recorded */
    uint64_t sum_ns; /* their sum: sum_ns / count is the mean */
    uint64_t min_ns, p50_ns, p90_ns, p99_ns, p999_ns, max_ns; /* all 0 when count is 0 */
} ax_latency;

typedef struct ax_worker_metrics {
    uint64_t tasks;        /* tasks run: actors' turns, stolen join frames, results */
    uint64_t steals;       /* steals that took work */
    uint64_t steal_tries;  /* victims tried that looked non-empty */
    uint64_t parks;        /* times it went to sleep */
    uint64_t wakeups;      /* times it woke from a sleep */
    uint64_t timers_fired; /* timer entries it fired (its own wheel's, or a busy worker's) */
    uint64_t io_submitted; /* I/O requests it submitted (io_uring) */
    uint64_t io_completions; /* completions or readiness events it handled */
    uint64_t busy_ns;      /* time since the runtime started, minus idle_ns */
    uint64_t idle_ns;      /* time spent searching for work or asleep */
    ax_latency handler;    /* handler runs of metered actors on this worker */
} ax_worker_metrics;

typedef struct ax_actor_metrics {
    ax_ref ref;
    char name[AX_NAME_MAX + 1]; /* its registered name, or "" */
    char behavior[32];          /* ax_behavior.name (cut to 31 bytes), or "" */
    uint64_t processed;         /* user messages and ask continuations handled */
    uint64_t restarts;          /* how often its supervisor restarted this child before */
    uint64_t failures;          /* of its predecessors, how many stopped abnormally on their own
                                   (a failed handler stops its actor: these are its failures;
                                   a group restart restarts siblings that did not fail) */
    uint64_t mailbox_depth;     /* user messages queued now */
    uint64_t mailbox_peak;      /* the most user messages queued at once */
    ax_latency handler;         /* time per message handled (every kind), in ns */
} ax_actor_metrics;

typedef struct ax_metrics {
    int64_t taken_ns;         /* CLOCK_MONOTONIC when the snapshot was taken */
    int64_t uptime_ns;        /* since the runtime was created */
    ax_stats total;           /* as ax_stats_get */
    uint64_t actors_alive;    /* actors spawned and not yet stopped */
    uint64_t mailbox_full;    /* user messages refused or dead-lettered by a full mailbox */
    ax_latency handler;       /* the workers' histograms merged */
    int nworkers;
    ax_worker_metrics *workers; /* [nworkers] */
    size_t nactors;
    ax_actor_metrics *actors;   /* [nactors]: the metered actors alive, in ref table order */
} ax_metrics;

/* Takes a snapshot; *out is freed with ax_metrics_free. Any thread (a handler too), until
 * ax_runtime_destroy; counters are exact once the runtime is quiet. The cost grows with the
 * ref table (every slot is looked at once), not with the traffic. Errors: AX_EINVAL (NULL),
 * AX_ENOMEM. */
AX_API int ax_metrics_snapshot(ax_runtime *rt, ax_metrics **out);
/* Frees a snapshot; NULL is allowed. */
AX_API void ax_metrics_free(ax_metrics *m);

#define AX_METRICS_PROMETHEUS 0 /* Prometheus text exposition format 0.0.4 */
#define AX_METRICS_JSON 1       /* one JSON object, one line */

/* Writes m as text into buf[0..size), NUL-terminated when size > 0, as snprintf does: *len
 * (may be NULL) gets the length of the whole text, so a result >= size means it was cut, and
 * size = 0 (buf may be NULL then) asks for the length only. Errors: AX_EINVAL (m NULL, buf NULL
 * with size > 0, an unknown format). */
AX_API int ax_metrics_format(const ax_metrics *m, int format, char *buf, size_t size,
                             size_t *len);

/* Serves a read-only view of the runtime over HTTP, from the runtime's own HTTP server (its
 * listener actor's ref in *server, the bound port in *port, which may be NULL): GET /metrics
 * (Prometheus text), /metrics.json (AX_METRICS_JSON), /workers, /actors (metered actors, the
 * top N by ?by=depth (default), time (handler time in all) or messages; ?top=N, default 20),
 * /tree (every supervisor with its static children, their refs, names and restart counts,
 * nested); other methods get 405. addr as ax_tcp_listen's; NULL means "127.0.0.1:9464" (loopback:
 * choose another address only on a trusted network). ax_stop(*server) ends it. Any thread, or a
 * handler. Errors: AX_EINVAL (rt or server NULL, a malformed address), AX_ESHUTDOWN, AX_ENOMEM,
 * or the kernel's (-EADDRINUSE...). */
AX_API int ax_introspect_listen(ax_runtime *rt, const char *addr, ax_ref *server, int *port);

/* The flight recorder (ax_config.trace_events > 0): each worker keeps its most recent events in
 * a ring: handler runs (behavior, actor, message type, start, duration), sends made in handlers,
 * stops, sleeps. Writes them to path as Chrome trace JSON (Perfetto, chrome://tracing): a track
 * per worker, a slice per handler run, an arrow from each send to the run that handled it.
 * Names are read from the behaviors (ax_behavior.name), which must still be valid. Any thread,
 * a handler too (it writes the file there), until ax_runtime_destroy. Errors: AX_EINVAL (NULL),
 * AX_ENOTSUP (the recorder is off), AX_ENOMEM, or the C library's -errno (fopen, fclose). */
AX_API int ax_trace_dump(ax_runtime *rt, const char *path);
/* Sets the file that a supervisor's escalation (it gave up: AX_REASON_ESCALATED) dumps the
 * recorder to, on the worker of the supervisor, before its children stop; NULL clears it. The
 * escalation shows in the trace as an instant. path is copied. Any thread. Errors: AX_EINVAL
 * (rt NULL), AX_ENOTSUP (the recorder is off), AX_ENOMEM. */
AX_API int ax_trace_on_escalation(ax_runtime *rt, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* AXON_H */

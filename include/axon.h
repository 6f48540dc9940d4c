/* SPDX-License-Identifier: MIT */
/* axon.h: the whole public API of axon, a C11 runtime of actors on a work-stealing scheduler.
 * Every function documents its contract, ownership, thread rules and error codes; see docs/guide.md. */
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
 * fits, the code is that errno negated, so I/O results pass through unchanged.
 * ---------------------------------------------------------------------------------------- */
#define AX_ERROR_LIST(X)                                                                      \
    X(AX_EINVAL, -EINVAL, "invalid argument (a NULL pointer, a bad size, type or option)")    \
    X(AX_ENOACTOR, -ESRCH, "no such actor (the ref was never valid or the actor stopped)")    \
    X(AX_ESHUTDOWN, -ESHUTDOWN, "the runtime is shutting down or has shut down")              \
    X(AX_EMSGSIZE, -EMSGSIZE, "payload larger than AX_MSG_MAX")                               \
    X(AX_EFULL, -EAGAIN, "the receiver's bounded mailbox is full")                           \
    X(AX_EEXIST, -EEXIST, "the name is taken, or the actor already has a name")              \
    X(AX_ENOENT, -ENOENT, "no such name, monitor or timer (or it already fired)")              \
    X(AX_ENAMETOOLONG, -ENAMETOOLONG, "name longer than AX_NAME_MAX or empty")                \
    X(AX_ETIMEDOUT, -ETIMEDOUT, "the deadline passed")                                         \
    X(AX_ENOMEM, -ENOMEM, "out of memory")                                                    \
    X(AX_ECONTEXT, -EPERM, "not allowed from this thread (e.g. a blocking call in a handler)") \
    X(AX_EINIT, -ECANCELED, "the behavior's init hook failed; nothing was spawned")           \
    X(AX_EBUSY, -EBUSY, "the runtime is still running (shutdown did not complete)")

enum ax_error {
    AX_OK = 0,
#define AX_ERROR_ENUM_(name, value, text) name = value,
    AX_ERROR_LIST(AX_ERROR_ENUM_)
#undef AX_ERROR_ENUM_
};

/* A static string naming the code ("AX_ENOACTOR: no such actor ..."); never NULL. */
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
 * like the integer inside. Compare them with the _eq functions; `id` is for printing, hashing
 * and storing; a handle with id 0 is never valid. */
#ifdef __cplusplus
#define AX_HANDLE_NONE_(type) (type{0})
#else
#define AX_HANDLE_NONE_(type) ((type){0})
#endif

/* An actor ref (slot index and generation). Copy it, store it, send it inside messages. A ref
 * whose actor stopped stays invalid forever: it is never reissued to another actor. */
typedef struct ax_ref {
    uint64_t id;
} ax_ref;
#define AX_REF_NONE AX_HANDLE_NONE_(ax_ref)
static inline int ax_ref_eq(ax_ref a, ax_ref b) { return a.id == b.id; }
/* True for AX_REF_NONE. */
static inline int ax_ref_is_none(ax_ref r) { return r.id == 0; }

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
    ax_ref sender;         /* the sending actor; AX_REF_NONE from outside the runtime, and the
                              runtime's internal reply sink for requests from ax_ask_wait */
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
    AX_REASON_USER = 16     /* first reason free for programs */
};

/* What an actor is. Static storage is the usual home: the runtime keeps the pointer for the
 * actor's whole life, so the behavior must outlive every actor spawned from it. */
typedef struct ax_behavior {
    const char *name;  /* for people reading the code and, later, diagnostics; may be NULL */
    size_t state_size; /* bytes of state allocated with the actor, zeroed; may be 0 */
    /* Optional. Runs once, inside ax_spawn, on the spawning thread; messages sent to the actor
     * meanwhile wait until it returns. arg is ax_spawn's arg, valid only during this call.
     * Non-zero fails the spawn with AX_EINIT (stopped is then not called). */
    int (*init)(ax_ctx *ctx, void *state, const void *arg);
    /* Required. Handles one message. Returning non-zero fails the actor: it stops with
     * AX_REASON_FAILED. Must not block (it holds a worker thread). */
    int (*receive)(ax_ctx *ctx, void *state, const ax_msg *msg);
    /* Optional. Runs exactly once when the actor stops, on a worker, with the reason. Sends
     * are allowed; the actor's own ref is already invalid. */
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
    int workers;    /* worker threads; default: the online CPUs */
    int pin;        /* non-zero: pin worker i to CPU i (mod CPUs) */
    int batch;      /* messages an actor handles per turn before yielding; default 64 */
    int lifo_cap;   /* consecutive runs from the LIFO slot before the slot is bypassed
                       (so a ping-pong pair cannot starve others); default 32 */
    int spin_us;    /* how long an idle worker searches before parking; default 50;
                       negative: park at once; at most 1,000,000 (larger means that) */
    int reserved[11]; /* zero (see above): 64 bytes in all */
} ax_config;

/* Creates a runtime and starts its workers. cfg may be NULL (defaults); it is copied.
 * Errors: AX_EINVAL (out NULL, negative workers/batch/lifo_cap, workers > 256, a reserved
 * field not zero), AX_ENOMEM. */
AX_API int ax_runtime_create(const ax_config *cfg, ax_runtime **out);

/* Shuts the runtime down, from a thread outside it (not a handler: AX_ECONTEXT).
 * 1. Sends and spawns from outside the runtime fail with AX_ESHUTDOWN from now on.
 * 2. Work runs until the runtime is idle (every mailbox empty) or half the deadline passed.
 * 3. Every actor is stopped (stopped hooks run, reason AX_REASON_SHUTDOWN); messages still
 *    queued go to dead letters; spawns from handlers now fail with AX_ESHUTDOWN.
 * 4. The workers are joined.
 * timeout_ms bounds the whole call (<= 0 means 10 s; up to INT64_MAX, which never expires). A
 * handler of another runtime is not detected: calling this there blocks that handler's worker.
 * Errors: AX_EINVAL (rt NULL), AX_ECONTEXT (from a handler of this runtime), AX_ESHUTDOWN
 * (shutdown was already called), AX_ETIMEDOUT (an actor would not stop in time: a handler
 * that does not return; the runtime stays in its stop phase and ax_runtime_destroy waits for
 * it once more). */
AX_API int ax_runtime_shutdown(ax_runtime *rt, int64_t timeout_ms);

/* Frees the runtime and everything in it. If it was not shut down, shuts it down first with
 * the default deadline (10 s): destroying a live runtime is allowed and stops every actor. If
 * an earlier shutdown timed out, waits up to 10 s more for its actors to stop. Threads still
 * inside ax_ask_wait on rt are released (AX_ESHUTDOWN) and waited for. After 0, rt is gone.
 * Errors: AX_EINVAL (rt NULL), AX_ECONTEXT (called from a handler of rt), AX_EBUSY (actors
 * would not stop; nothing was freed, call again later). */
AX_API int ax_runtime_destroy(ax_runtime *rt);

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

typedef struct ax_spawn_opts {
    uint32_t mailbox_capacity; /* 0: unbounded (the default) */
    ax_overflow overflow;      /* used only when mailbox_capacity > 0 */
    uint32_t reserved[6];      /* zero (see ax_config): 32 bytes in all */
} ax_spawn_opts;

/* Spawns an actor: allocates it with b->state_size bytes of zeroed state, runs b->init (if
 * any) with arg, and stores the new ref in *out. opts may be NULL (unbounded mailbox); arg
 * may be NULL. The actor exists while init runs (as an Erlang process does): init may send,
 * link, monitor, register; messages sent to it meanwhile wait until init returned. If init
 * fails, they become dead letters and links/monitors made by init fire (reason
 * AX_REASON_FAILED). Errors: AX_EINVAL (rt, b, b->receive or out NULL, an unknown
 * opts->overflow, a reserved field not zero), AX_ESHUTDOWN, AX_EINIT (init returned
 * non-zero), AX_ENOMEM (also for a
 * state_size too large to allocate, and when the ref table (2^28 slots) or the thread-record
 * table (1024 threads at once) is full). */
AX_API int ax_spawn(ax_runtime *rt, const ax_behavior *b, const void *arg,
                    const ax_spawn_opts *opts, ax_ref *out);

/* Sends a copy of size bytes at data (data may be NULL when size is 0). Messages from one
 * sender to one receiver arrive in send order. Never blocks.
 * Errors: AX_EINVAL (rt NULL, data NULL with size > 0, type >= AX_MSG_RESERVED),
 * AX_EMSGSIZE, AX_ENOACTOR, AX_EFULL, AX_ESHUTDOWN (from outside after shutdown began),
 * AX_ENOMEM. On error nothing was sent. */
AX_API int ax_send(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size);

/* Zero-copy sending: ax_msg_alloc returns a message with size writable bytes at (*out)->data;
 * fill it and pass it to ax_msg_send, which takes ownership on success (0). On any error the
 * caller still owns it: retry, or give it back with ax_msg_free. Any thread.
 * Errors: AX_EINVAL (rt or out NULL), AX_EMSGSIZE, AX_ESHUTDOWN (outside, after shutdown
 * began), AX_ENOMEM. */
AX_API int ax_msg_alloc(ax_runtime *rt, size_t size, ax_msg **out);
/* Errors: AX_EINVAL (rt or msg NULL, type >= AX_MSG_RESERVED), AX_EMSGSIZE (msg->size changed
 * to more than AX_MSG_MAX), AX_ENOACTOR, AX_EFULL, AX_ESHUTDOWN (outside, after shutdown
 * began), AX_ENOMEM (no thread record for the calling thread). */
AX_API int ax_msg_send(ax_runtime *rt, ax_ref to, uint32_t type, ax_msg *msg);
/* Gives back a message the caller owns (unsent, or an ax_ask_wait reply). Errors: AX_EINVAL
 * (rt or msg NULL). */
AX_API int ax_msg_free(ax_runtime *rt, ax_msg *msg);

/* Asks an actor to stop. Asynchronous: the actor finishes the message it is handling, then
 * stops before any further user message; its stopped hook runs once; messages left in its
 * mailbox go to dead letters. Stopping oneself: ax_stop(rt, ax_self(ctx)).
 * Errors: AX_EINVAL (rt NULL), AX_ENOACTOR (not alive, or already stopping), AX_ENOMEM
 * (no thread record for the calling thread). */
AX_API int ax_stop(ax_runtime *rt, ax_ref ref);

/* ------------------------------------------------------------------------------------------
 * Inside a handler.
 * ---------------------------------------------------------------------------------------- */

AX_API ax_ref ax_self(const ax_ctx *ctx);               /* AX_REF_NONE if ctx is NULL */
/* The restart hook of supervised children: inside init, how many times the supervisor has
 * restarted this child (0 at its first start, or when not started by a supervisor) and, if
 * prev_reason is not NULL, the reason the previous incarnation stopped with. */
AX_API uint64_t ax_restarts(const ax_ctx *ctx, int *prev_reason);
AX_API ax_runtime *ax_ctx_runtime(const ax_ctx *ctx);   /* NULL if ctx is NULL */

/* Sends a copy of the payload to the sender of the message being handled, answering it if it
 * was an ask. Errors: AX_EINVAL (ctx NULL or not handling a message, data NULL with size > 0,
 * type >= AX_MSG_RESERVED), AX_EMSGSIZE, AX_ENOACTOR (no sender: it came from outside without
 * ax_ask_wait, or the sender stopped), AX_EFULL, AX_ENOMEM. */
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

/* From a handler: sends a request (as ax_send does) and returns at once; opts->cont runs later
 * on this actor. opts is read during the call only. A reply arriving after the timeout goes to
 * dead letters. If the asking actor stops first, the continuation never runs. Errors (then
 * cont never runs): AX_EINVAL (ctx, opts or opts->cont NULL, opts->timeout_ms <= 0, a reserved
 * field not zero, data NULL with size > 0, type >= AX_MSG_RESERVED), AX_EMSGSIZE, AX_ENOACTOR,
 * AX_EFULL, AX_ENOMEM. */
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
 * AX_REASON_FAILED) once the current hook returns; the message being handled counts as failed.
 * Errors: AX_EINVAL (ctx NULL, reason AX_REASON_NORMAL or below AX_REASON_USER other than
 * FAILED). */
AX_API int ax_fail(ax_ctx *ctx, int reason);

/* ------------------------------------------------------------------------------------------
 * Links and monitors (Erlang semantics). Called from handlers; the notices are messages.
 * ---------------------------------------------------------------------------------------- */

/* The payload of AX_MSG_EXIT: the linked actor `from` stopped with `reason`. */
typedef struct ax_exit {
    ax_ref from;
    int32_t reason;
    uint32_t reserved;
} ax_exit;

/* A monitor, as ax_monitor gives it and AX_MSG_DOWN names it (see "Handles" above). */
typedef struct ax_monitor_id {
    uint64_t id;
} ax_monitor_id;
static inline int ax_monitor_eq(ax_monitor_id a, ax_monitor_id b) { return a.id == b.id; }

/* The payload of AX_MSG_DOWN: the actor `ref`, monitored under `monitor`, stopped. */
typedef struct ax_down {
    ax_ref ref;
    ax_monitor_id monitor;
    int32_t reason;
    uint32_t reserved;
} ax_down;

/* Links the calling actor and `other`, both ways. When either stops with an abnormal reason,
 * the other stops with the same reason, unless it traps exits: then it receives an AX_MSG_EXIT
 * message instead. A normal stop reaches only actors that trap exits. Linking twice is one
 * link. If `other` is not alive, the caller gets the exit signal at once with
 * AX_REASON_NOPROC (so, not trapping, it stops). Errors: AX_EINVAL (ctx NULL, other == self),
 * AX_ENOMEM. */
AX_API int ax_link(ax_ctx *ctx, ax_ref other);
/* Removes the link, if any (both ways). An exit signal that the peer sent before the unlink
 * reached it is ignored on arrival (the caller no longer holds the link). Errors: AX_EINVAL. */
AX_API int ax_unlink(ax_ctx *ctx, ax_ref other);
/* on non-zero: exit signals from linked actors arrive as AX_MSG_EXIT messages instead of
 * stopping the caller. Errors: AX_EINVAL. */
AX_API int ax_trap_exits(ax_ctx *ctx, int on);

/* Monitors `target`: when it stops, the caller receives one AX_MSG_DOWN message with the
 * reason (AX_REASON_NOPROC at once if it is not alive). One direction; monitoring twice gives
 * two monitors. *monitor identifies it for ax_demonitor. Errors: AX_EINVAL (NULL ctx or
 * monitor), AX_ENOMEM. */
AX_API int ax_monitor(ax_ctx *ctx, ax_ref target, ax_monitor_id *monitor);
/* Cancels a monitor: no AX_MSG_DOWN for it is delivered afterwards, not even one already in
 * flight. Errors: AX_EINVAL (ctx NULL), AX_ENOENT (no such monitor of this actor). */
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

typedef enum ax_restart {
    AX_PERMANENT = 0, /* always restarted */
    AX_TRANSIENT = 1, /* restarted only after an abnormal stop (not NORMAL, not SHUTDOWN) */
    AX_TEMPORARY = 2  /* never restarted */
} ax_restart;

typedef enum ax_child_kind { AX_CHILD_WORKER = 0, AX_CHILD_SUPERVISOR = 1 } ax_child_kind;

/* How a supervisor stops a child: always a stop request (reason AX_REASON_SHUTDOWN), which takes
 * effect when the child's current handler returns (running C code is never interrupted). */
#define AX_SHUTDOWN_KILL 0        /* do not wait for it to finish stopping */
#define AX_SHUTDOWN_INFINITY (-1) /* wait for its exit as long as it takes */

typedef struct ax_child_spec {
    const char *id;              /* unique among the supervisor's children; copied */
    const ax_behavior *behavior; /* must outlive the supervisor; for a nested supervisor:
                                    &ax_supervisor_behavior with arg an ax_sup_spec */
    const void *arg;             /* passed to init at every start: copied if arg_size > 0,
                                    else the pointer itself is passed (it must outlive) */
    size_t arg_size;
    ax_restart restart;
    int64_t shutdown_ms;         /* AX_SHUTDOWN_KILL, a wait in ms (then go on without it), or
                                    AX_SHUTDOWN_INFINITY; nested supervisors usually want INFINITY */
    ax_child_kind kind;          /* informational (OTP's worker | supervisor) */
    const char *name;            /* optional: registered name, moved to each incarnation */
} ax_child_spec;

typedef struct ax_sup_spec {
    ax_strategy strategy;
    int intensity;               /* restarts allowed per period; 0 means the default, 1 */
    int64_t period_ms;           /* 0 means the default, 5000 */
    int64_t backoff_min_ms;      /* 0: restart at once (OTP); else one_for_one and simple
                                    restarts wait a random delay in [b/2, b], b doubling from */
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

/* Starts a supervisor and, in order, its children (any thread). The whole spec is checked first;
 * if a child then cannot start, the call fails with AX_EINIT and the children already started
 * get the supervisor's exit (AX_REASON_FAILED) over their links. Durations and intensity take
 * any value up to INT64_MAX / INT_MAX (arithmetic saturates; timer waits are capped at
 * AX_TIMER_MAX_MS). Errors: AX_EINVAL (NULL, bad spec: see docs/api.md), AX_EINIT,
 * AX_ESHUTDOWN, AX_ENOMEM. */
AX_API int ax_supervisor_start(ax_runtime *rt, const ax_sup_spec *spec, ax_ref *out);
/* AX_SIMPLE_ONE_FOR_ONE: starts a child from the template with this arg (copied; arg_size 0:
 * the template's arg). From a thread outside the runtime: it waits for the supervisor's answer,
 * with no deadline (as OTP's start_child). Errors: AX_EINVAL (NULL rt/out, arg NULL with
 * arg_size > 0, or not a simple_one_for_one supervisor), AX_EMSGSIZE (arg_size > AX_MSG_MAX),
 * AX_ECONTEXT (from a handler), AX_ENOACTOR (not a live supervisor, or it stopped before
 * answering), AX_EINIT, AX_ESHUTDOWN (it is stopping, or the runtime is), AX_ENOMEM. */
AX_API int ax_supervisor_start_child(ax_runtime *rt, ax_ref sup, const void *arg, size_t arg_size,
                                     ax_ref *out);
/* The current ref of the child with this id (any thread). Errors: AX_EINVAL (NULL rt, id or
 * out), AX_ENOACTOR (sup is not a live supervisor, or the child is not running right now),
 * AX_ENOENT (no such id), AX_ENOMEM (no thread record for the calling thread). */
AX_API int ax_supervisor_child(ax_runtime *rt, ax_ref sup, const char *id, ax_ref *out);
/* How many times the child with this id was restarted (any thread). Errors: AX_EINVAL (NULL rt,
 * id or out), AX_ENOACTOR (sup is not a live supervisor), AX_ENOENT (no such id), AX_ENOMEM
 * (no thread record for the calling thread). */
AX_API int ax_supervisor_child_restarts(ax_runtime *rt, ax_ref sup, const char *id, uint64_t *out);

/* ------------------------------------------------------------------------------------------
 * Timers: a message sent later, once or at an interval. Any thread. Timers live on the workers'
 * timing wheels (0.25 ms ticks); a timer never fires before its deadline. A timer armed inside a
 * handler is owned by that actor: when the owner stops, its timers fire no more.
 * ---------------------------------------------------------------------------------------- */

/* A timer handle (see "Handles" above): a handle that fired, was cancelled or never existed
 * is refused by ax_timer_cancel, whatever its bits. */
typedef struct ax_timer {
    uint64_t id;
} ax_timer;
#define AX_TIMER_NONE AX_HANDLE_NONE_(ax_timer)
static inline int ax_timer_eq(ax_timer a, ax_timer b) { return a.id == b.id; }
/* True for AX_TIMER_NONE. */
static inline int ax_timer_is_none(ax_timer t) { return t.id == 0; }
/* Longest delay or period, in milliseconds (about a year). */
#define AX_TIMER_MAX_MS (1LL << 35)

/* Sends a copy of the payload to `to` after delay_ms (0: at the next tick). The message's
 * sender is the arming actor (AX_REF_NONE from outside). If `to` has stopped by then, the
 * message is a dead letter. out may be NULL. Errors: AX_EINVAL (rt NULL, delay_ms < 0 or >
 * AX_TIMER_MAX_MS, bad type/data), AX_EMSGSIZE, AX_ESHUTDOWN (outside, after shutdown began),
 * AX_ENOMEM. */
AX_API int ax_send_after(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                         int64_t delay_ms, ax_timer *out);
/* As ax_send_after, again every period_ms (1 to 2^32 - 1) until cancelled or its owner stops.
 * Errors: AX_EINVAL (rt NULL, period_ms < 1 or > 2^32 - 1, bad type/data), AX_EMSGSIZE,
 * AX_ESHUTDOWN (outside, after shutdown began), AX_ENOMEM. */
AX_API int ax_send_interval(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                            int64_t period_ms, ax_timer *out);
/* Cancels a timer: on 0 it will not fire (again). Exactly one of "fired" and "cancelled"
 * happens to a one-shot timer. O(1): the record is marked; its wheel drops it at the deadline.
 * Errors: AX_EINVAL (rt NULL), AX_ENOENT (it already fired (one-shot), was cancelled, or never
 * existed). */
AX_API int ax_timer_cancel(ax_runtime *rt, ax_timer timer);

/* ------------------------------------------------------------------------------------------
 * Registry: names for actors. One name per actor; a name is released when its actor stops.
 * Any thread. Names are copied; at most AX_NAME_MAX bytes, not empty.
 * ---------------------------------------------------------------------------------------- */
#define AX_NAME_MAX 63

/* Errors: AX_EINVAL (NULL), AX_ENAMETOOLONG, AX_ENOACTOR (ref not alive), AX_EEXIST (name
 * taken, or the actor already has a name), AX_ENOMEM. A stopping actor's name is released
 * after its stopped hook returns. */
AX_API int ax_register(ax_runtime *rt, const char *name, ax_ref ref);
/* Errors: AX_EINVAL, AX_ENAMETOOLONG, AX_ENOENT. */
AX_API int ax_whereis(ax_runtime *rt, const char *name, ax_ref *out);
/* Errors: AX_EINVAL, AX_ENAMETOOLONG, AX_ENOENT. */
AX_API int ax_unregister(ax_runtime *rt, const char *name);

/* ------------------------------------------------------------------------------------------
 * Dead letters: messages that were accepted but could not be handled (the receiver stopped
 * with them queued, a full mailbox with the dead-letter policy, a reply after its ask timed
 * out, shutdown). Each is counted; if a dead-letter actor is set, it also receives a message
 * of type AX_MSG_DEAD_LETTER whose data is an ax_dead_letter followed by the original payload.
 * ---------------------------------------------------------------------------------------- */
enum ax_dead_reason {
    AX_DEAD_STOPPED = 1,  /* the receiver stopped (or was stopping) with the message queued */
    AX_DEAD_FULL = 2,     /* the receiver's bounded mailbox was full */
    AX_DEAD_LATE_REPLY = 3 /* a reply whose ask had already timed out */
};

typedef struct ax_dead_letter {
    ax_ref target;  /* the intended receiver */
    ax_ref sender;  /* the original sender */
    uint32_t type;  /* the original type */
    uint32_t size;  /* bytes of original payload that follow this struct */
    int32_t reason; /* an ax_dead_reason */
    uint32_t reserved;
} ax_dead_letter;

/* Sets (or with AX_REF_NONE clears) the dead-letter actor. Notices to it that fail are counted
 * only. A notice carries the whole original payload, so it may be up to AX_MSG_MAX +
 * sizeof(ax_dead_letter) bytes. Errors: AX_EINVAL (rt NULL), AX_ENOACTOR, AX_ENOMEM. */
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
    uint64_t reserved[6];  /* written as zero (see ax_config): 128 bytes in all */
} ax_stats;

/* The totals. Errors: AX_EINVAL (NULL). Any thread. */
AX_API int ax_stats_get(ax_runtime *rt, ax_stats *out);
/* One worker's counters (worker in [0, ax_runtime_workers)). Errors: AX_EINVAL. */
AX_API int ax_stats_worker(ax_runtime *rt, int worker, ax_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* AXON_H */

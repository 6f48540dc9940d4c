/* SPDX-License-Identifier: MIT */
/* remote.h: the axon_remote library's insides: a node's view of its peers, the frames it sends
 * and retains until acknowledged, and the links and monitors that cross to each peer. */
#ifndef AX_REMOTE_REMOTE_H
#define AX_REMOTE_REMOTE_H

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "axon.h"
#include "axon_remote.h"
#include "axon_transport.h"

/* ---- the wire (wire.c): all integers little-endian as the hosts' own (checked by the magic) */

#define WIRE_FRAME_MAGIC 0x31465841u /* "AXF1" */
#define WIRE_HB_MAGIC 0x31485841u    /* "AXH1" */
#define WIRE_NAME_MAGIC 0x314e5841u  /* "AXN1" */

enum frame_kind { FRAME_DATA = 1, FRAME_ACK = 2 };
enum entry_what { ENTRY_MSG = 1, ENTRY_SIGNAL = 2, ENTRY_BOUNCE = 3 };

/* A frame: this header, then entries (DATA) or lost ranges (ACK). */
struct wire_head {
    uint32_t magic;
    uint16_t src;         /* the sending node */
    uint16_t kind;        /* enum frame_kind */
    uint64_t incarnation; /* the sending node's, chosen at join */
    uint64_t seq;         /* DATA: this frame's number in the stream src -> dst (from 1);
                             ACK: every frame up to here arrived or is listed lost */
    uint64_t aux;         /* DATA: the sender resolved every frame up to here (lost ranges at
                             or below it may be forgotten); ACK: how many ranges follow */
};

/* An entry: this header, then `size` payload bytes, padded to 8. A signal's payload is a
 * struct wire_signal; a bounce carries the message that could not be delivered. */
struct wire_entry {
    uint64_t to, from;
    uint32_t type;   /* MSG, BOUNCE: the message's type; SIGNAL: enum ax_wire_signal */
    uint32_t size;
    uint32_t corr;
    uint8_t flags;
    uint8_t what;    /* enum entry_what */
    uint16_t reason; /* BOUNCE: an ax_dead_reason */
};

struct wire_signal {
    uint64_t id;
    int32_t reason;
    uint32_t pad;
};

struct wire_range {
    uint64_t lo, hi;
};

struct wire_hb {
    uint32_t magic;
    uint16_t node;
    uint16_t bye; /* the node is leaving */
    uint64_t incarnation;
};

struct wire_name {
    uint32_t magic;
    uint16_t node;
    uint16_t found;
    uint64_t incarnation;
    uint64_t ref;
};

static inline size_t wire_pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* ---- frames ---------------------------------------------------------------------------- */

/* A frame being filled, or published and kept until its receiver acknowledges it. */
struct frame {
    struct frame *next;
    uint64_t seq;
    int64_t sent_ns;
    size_t len; /* bytes used, header included */
    unsigned char data[];
};

#define LOST_RANGES_MAX 64

/* A node as this one sees it. Created at first contact, kept until release. */
struct peer {
    uint32_t node;
    char subject[96]; /* where its frames go */
    /* Liveness: up once heard, down when silent for down_after (or it said bye). */
    _Atomic int up;
    _Atomic int64_t last_heard_ns;
    _Atomic uint64_t incarnation; /* the one last heard; 0 before */
    /* The stream to it (out_lock): the last seq published, what is resolved, the frames
     * published and not yet resolved (oldest first), buffers to reuse. */
    pthread_mutex_t out_lock;
    uint64_t next_seq, resolved;
    struct frame *kept_head, *kept_tail;
    struct frame *spare;
    int64_t sync_ns; /* when the last empty frame was sent to expose a lost tail */
    _Atomic size_t unacked_bytes;
    /* The stream from it (in_lock: its frames' thread, the ticker): the seq expected next,
     * the ranges found lost and not yet forgotten, frames since the last acknowledgement. */
    pthread_mutex_t in_lock;
    uint64_t expect;
    uint64_t in_incarnation;
    struct wire_range lost[LOST_RANGES_MAX];
    int nlost;
    uint64_t unacked_frames, unacked_in_bytes;
    int ack_repeats; /* acknowledgements sent since the last frame came (lost ranges repeat) */
    /* Links and monitors between actors here and actors there (watch_lock). */
    pthread_mutex_t watch_lock;
    struct watch *watches;
};

struct ax_remote {
    ax_runtime *rt;
    uint32_t node;
    uint64_t incarnation;
    char cluster[40];
    int64_t heartbeat_ns, down_after_ns;
    size_t window, frame_max;
    natsConnection *conn;
    natsSubscription *frames_sub, *hb_sub;
    _Atomic(struct peer *) peers[AX_NODE_MAX + 1];
    /* Callbacks from NATS's threads in progress: leave waits for them. */
    _Atomic int inflight;
    _Atomic bool closing;
    _Atomic bool left;
    pthread_rwlock_t api_lock; /* read: a program's call using conn (names.c); write: leave */
    pthread_t ticker;
    bool ticker_started;
    pthread_mutex_t tick_lock;
    pthread_cond_t tick_cond;
    /* Global names registered here (names.c), under names_lock. */
    pthread_mutex_t names_lock;
    struct name_entry *names, *names_retired;
    /* Thread-local outboxes made for this node's workers, freed at release. */
    pthread_mutex_t outbox_lock;
    struct outbox *outboxes;
    struct {
        _Atomic uint64_t msgs_out, msgs_in, frames_out, frames_in, lost, bounced, refused_in,
            nodes_down, reconnects, malformed;
    } stats;
};

/* remote.c */
struct peer *remote_peer(ax_remote *r, uint32_t node); /* made if new; NULL: out of memory */
/* The peer heard from (a frame, a heartbeat, a name's answer) with that incarnation: up, and a
 * new incarnation means the old one went down. */
void remote_heard(ax_remote *r, struct peer *p, uint64_t incarnation);
/* The peer is down: what was in flight to it is lost, its links and monitors fire. */
void remote_node_down(ax_remote *r, struct peer *p);
/* Brackets a NATS callback: false when the node is closing (then do nothing). */
bool remote_cb_enter(ax_remote *r);
void remote_cb_leave(ax_remote *r);
int64_t remote_now_ns(void);

/* wire.c: the transport's hooks, and the frames' receiving side. */
int wire_send(void *ctx, const ax_wire_msg *m, int in_turn);
int wire_signal(void *ctx, int kind, ax_ref to, ax_ref from, uint64_t id, int reason, int in_turn);
void wire_flush(void *ctx);
void wire_on_frame(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure);
/* The ticker's share: acknowledge what came, expose lost tails. */
void wire_tick(ax_remote *r, struct peer *p, int64_t now);
/* Every frame kept for p is lost (p went down): report them. */
void wire_fail_kept(ax_remote *r, struct peer *p);
void wire_free(ax_remote *r);

/* watch.c: the links and monitors that cross to a peer, fired when it goes down. */
enum watch_kind { WATCH_LINK = 1, WATCH_MONITOR = 2 };
void watch_add(struct peer *p, int kind, ax_ref local, ax_ref remote, uint64_t id);
void watch_remove(struct peer *p, int kind, ax_ref local, ax_ref remote, uint64_t id);
/* The peer went down: every link gets an exit and every monitor a DOWN (AX_REASON_NODEDOWN). */
void watch_fire_all(ax_remote *r, struct peer *p);
void watch_free(struct peer *p);

/* names.c */
bool remote_name_char(char c); /* a letter, digit, '-' or '_': safe in a NATS subject token */
void names_tick(ax_remote *r); /* unsubscribes names whose actors stopped */
void names_unsubscribe_all(ax_remote *r);
void names_free(ax_remote *r);

#endif

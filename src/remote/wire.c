/* SPDX-License-Identifier: MIT */
/* wire.c: frames between nodes. A worker's sends during a turn fill one frame per destination in
 * a thread-local outbox, published when the turn ends (one NATS publish per frame, not per
 * message); other threads publish at once. Frames are numbered per (sender, receiver) stream;
 * the receiver acknowledges what arrived and lists the gaps as lost, and the sender keeps each
 * frame until then, so every message sent is either delivered or reported lost (a dead letter).
 * NATS keeps one connection's publishes to one subject in order, so a gap is a loss, never a
 * frame still on its way. */
#include <stdlib.h>
#include <string.h>

#include "remote/remote.h"

#define OUTBOX_SLOTS 8
#define ACK_EVERY_FRAMES 32
#define ACK_EVERY_BYTES (1u << 20)
#define ACK_REPEATS 20 /* ticks a list of lost ranges is re-sent without news from the sender */
#define DELIVER_BATCH 64

/* A worker's frames in the making, one per destination it sent to during the turn. */
struct outbox {
    struct outbox *next; /* in the node's list, for release */
    ax_remote *owner;
    int n;
    struct {
        struct peer *p;
        struct frame *f;
    } slot[OUTBOX_SLOTS];
};

static _Thread_local struct outbox *tls_outbox;

static size_t entry_bytes(size_t payload) { return sizeof(struct wire_entry) + wire_pad8(payload); }

/* ---- frames ------------------------------------------------------------------------------ */

static struct frame *frame_get(ax_remote *r, struct peer *p) {
    pthread_mutex_lock(&p->out_lock);
    struct frame *f = p->spare;
    if (f) p->spare = f->next;
    pthread_mutex_unlock(&p->out_lock);
    if (!f && !(f = malloc(sizeof *f + r->frame_max))) return NULL;
    f->next = NULL;
    f->len = sizeof(struct wire_head);
    return f;
}

/* Gives a list of frames back to p's spares. */
static void frames_put(struct peer *p, struct frame *list) {
    if (!list) return;
    struct frame *last = list;
    while (last->next) last = last->next;
    pthread_mutex_lock(&p->out_lock);
    last->next = p->spare;
    p->spare = list;
    pthread_mutex_unlock(&p->out_lock);
}

static void encode(ax_remote *r, struct frame *f, const struct wire_entry *e, const void *data) {
    unsigned char *at = f->data + f->len;
    memcpy(at, e, sizeof *e);
    if (e->size) memcpy(at + sizeof *e, data, e->size);
    size_t padded = wire_pad8(e->size);
    if (padded > e->size) memset(at + sizeof *e + e->size, 0, padded - e->size);
    f->len += sizeof *e + padded;
    if (e->what == ENTRY_MSG)
        atomic_fetch_add_explicit(&r->stats.msgs_out, 1, memory_order_relaxed);
}

/* Walks a frame's entries; false at the first malformed one. */
typedef void (*entry_fn)(ax_remote *r, struct peer *p, const struct wire_entry *e,
                         const unsigned char *payload, void *arg);
static bool for_each_entry(ax_remote *r, struct peer *p, const unsigned char *d, size_t len,
                           entry_fn fn, void *arg) {
    size_t at = 0;
    while (at < len) {
        struct wire_entry e;
        if (len - at < sizeof e) return false;
        memcpy(&e, d + at, sizeof e);
        if (e.size > AX_MSG_MAX || len - at - sizeof e < wire_pad8(e.size)) return false;
        if (e.what == ENTRY_SIGNAL && e.size != sizeof(struct wire_signal)) return false;
        if (e.what < ENTRY_MSG || e.what > ENTRY_BOUNCE) return false;
        fn(r, p, &e, d + at + sizeof e, arg);
        at += sizeof e + wire_pad8(e.size);
    }
    return true;
}

static ax_wire_msg wire_msg_of(const struct wire_entry *e, const unsigned char *payload) {
    return (ax_wire_msg){{e->to}, {e->from}, e->type, e->size, e->corr, e->flags, payload};
}

/* One entry of a frame that will not arrive: the message becomes a dead letter here, and a
 * link or monitor being set up is answered as by a node that went down. */
static void report_lost_entry(ax_remote *r, struct peer *p, const struct wire_entry *e,
                              const unsigned char *payload, void *arg) {
    (void)arg;
    if (e->what == ENTRY_MSG || e->what == ENTRY_BOUNCE) {
        ax_wire_msg w = wire_msg_of(e, payload);
        ax_transport_dead_letter(r->rt, &w, e->what == ENTRY_MSG ? AX_DEAD_LOST : e->reason);
        atomic_fetch_add_explicit(&r->stats.lost, 1, memory_order_relaxed);
        return;
    }
    struct wire_signal sg;
    memcpy(&sg, payload, sizeof sg);
    if (e->type == AX_WIRE_LINK) {
        watch_remove(p, WATCH_LINK, (ax_ref){e->from}, (ax_ref){e->to}, 0);
        ax_transport_signal(r->rt, AX_WIRE_EXIT, (ax_ref){e->from}, (ax_ref){e->to}, 0,
                            AX_REASON_NODEDOWN);
    } else if (e->type == AX_WIRE_MONITOR) {
        watch_remove(p, WATCH_MONITOR, (ax_ref){e->from}, (ax_ref){e->to}, sg.id);
        ax_transport_signal(r->rt, AX_WIRE_DOWN, (ax_ref){e->from}, (ax_ref){e->to}, sg.id,
                            AX_REASON_NODEDOWN);
    }
}

static void report_lost(ax_remote *r, struct peer *p, const struct frame *f) {
    for_each_entry(r, p, f->data + sizeof(struct wire_head), f->len - sizeof(struct wire_head),
                   report_lost_entry, NULL);
}

/* Numbers f in p's stream and publishes it, keeping it until it is acknowledged; a frame that
 * cannot go (p is down, the client refused it) is reported lost at once and recycled. */
static void publish(ax_remote *r, struct peer *p, struct frame *f) {
    bool sent = false;
    pthread_mutex_lock(&p->out_lock);
    if (atomic_load_explicit(&p->up, memory_order_acquire) &&
        !atomic_load_explicit(&r->left, memory_order_acquire)) {
        struct wire_head h = {WIRE_FRAME_MAGIC, (uint16_t)r->node, FRAME_DATA, r->incarnation,
                              ++p->next_seq, p->resolved};
        memcpy(f->data, &h, sizeof h);
        if (natsConnection_Publish(r->conn, p->subject, f->data, (int)f->len) == NATS_OK) {
            f->seq = h.seq;
            f->sent_ns = remote_now_ns();
            f->next = NULL;
            if (p->kept_tail) p->kept_tail->next = f;
            else p->kept_head = f;
            p->kept_tail = f;
            atomic_fetch_add_explicit(&p->unacked_bytes, f->len, memory_order_relaxed);
            sent = true;
        } else {
            p->next_seq--; /* nothing went out under that number */
        }
    }
    pthread_mutex_unlock(&p->out_lock);
    if (sent) {
        atomic_fetch_add_explicit(&r->stats.frames_out, 1, memory_order_relaxed);
        return;
    }
    report_lost(r, p, f);
    f->next = NULL;
    frames_put(p, f);
}

/* ---- sending ----------------------------------------------------------------------------- */

static struct outbox *outbox_get(ax_remote *r) {
    struct outbox *o = tls_outbox;
    if (o) return o->owner == r ? o : NULL;
    if (!(o = calloc(1, sizeof *o))) return NULL;
    o->owner = r;
    pthread_mutex_lock(&r->outbox_lock);
    o->next = r->outboxes;
    r->outboxes = o;
    pthread_mutex_unlock(&r->outbox_lock);
    tls_outbox = o;
    return o;
}

static void outbox_flush(ax_remote *r, struct outbox *o) {
    for (int i = 0; i < o->n; i++) {
        if (o->slot[i].f) publish(r, o->slot[i].p, o->slot[i].f);
        o->slot[i].f = NULL;
    }
    o->n = 0;
}

/* The peer that `to` lives on if a message of `payload` bytes may go there now. */
static int destination(ax_remote *r, ax_ref to, size_t payload, struct peer **out) {
    uint32_t node = ax_ref_node(to);
    struct peer *p = node ? atomic_load_explicit(&r->peers[node], memory_order_acquire) : NULL;
    if (!p || !atomic_load_explicit(&p->up, memory_order_acquire) ||
        atomic_load_explicit(&r->left, memory_order_acquire))
        return AX_ENOACTOR;
    if (sizeof(struct wire_head) + entry_bytes(payload) > r->frame_max) return AX_EMSGSIZE;
    if (atomic_load_explicit(&p->unacked_bytes, memory_order_relaxed) > r->window) return AX_EFULL;
    *out = p;
    return 0;
}

/* Puts an entry for p in the calling worker's outbox (1: flush at the turn's end), or in a
 * frame of its own published now (0). */
static int put_entry(ax_remote *r, struct peer *p, int in_turn, const struct wire_entry *e,
                     const void *data) {
    size_t need = entry_bytes(e->size);
    struct outbox *o = in_turn ? outbox_get(r) : NULL;
    if (!o) {
        struct frame *f = frame_get(r, p);
        if (!f) return AX_ENOMEM;
        encode(r, f, e, data);
        publish(r, p, f);
        return 0;
    }
    int i = 0;
    while (i < o->n && o->slot[i].p != p) i++;
    if (i == OUTBOX_SLOTS) { /* a turn that wrote to many nodes: send what it has so far */
        outbox_flush(r, o);
        i = 0;
    }
    if (i == o->n) {
        o->slot[i].p = p;
        o->slot[i].f = NULL;
        o->n++;
    }
    struct frame *f = o->slot[i].f;
    if (f && f->len + need > r->frame_max) {
        publish(r, p, f);
        f = NULL;
    }
    if (!f && !(f = frame_get(r, p))) {
        o->slot[i].f = NULL;
        return AX_ENOMEM;
    }
    o->slot[i].f = f;
    encode(r, f, e, data);
    return 1;
}

int wire_send(void *ctx, const ax_wire_msg *m, int in_turn) {
    ax_remote *r = ctx;
    struct peer *p;
    int rc = destination(r, m->to, m->size, &p);
    if (rc) return rc;
    struct wire_entry e = {m->to.id, m->from.id, m->type, m->size, m->corr, (uint8_t)m->flags,
                           ENTRY_MSG, 0};
    return put_entry(r, p, in_turn, &e, m->data);
}

int wire_signal(void *ctx, int kind, ax_ref to, ax_ref from, uint64_t id, int reason,
                int in_turn) {
    ax_remote *r = ctx;
    struct peer *p;
    int rc = destination(r, to, sizeof(struct wire_signal), &p);
    if (rc) return rc;
    /* Links and monitors that cross are remembered for the day p goes down. */
    if (kind == AX_WIRE_LINK) watch_add(p, WATCH_LINK, from, to, 0);
    if (kind == AX_WIRE_UNLINK || kind == AX_WIRE_EXIT) watch_remove(p, WATCH_LINK, from, to, 0);
    if (kind == AX_WIRE_MONITOR) watch_add(p, WATCH_MONITOR, from, to, id);
    if (kind == AX_WIRE_DEMONITOR) watch_remove(p, WATCH_MONITOR, from, to, id);
    struct wire_signal sg = {id, reason, 0};
    struct wire_entry e = {to.id, from.id, (uint32_t)kind, sizeof sg, 0, 0, ENTRY_SIGNAL, 0};
    return put_entry(r, p, in_turn, &e, &sg);
}

void wire_flush(void *ctx) {
    ax_remote *r = ctx;
    struct outbox *o = tls_outbox;
    if (o && o->owner == r) outbox_flush(r, o);
}

/* ---- receiving --------------------------------------------------------------------------- */

/* What one inbound frame leads to: messages gathered for one delivery call, and a frame of
 * answers (bounces, NOPROC replies) back to the sender. */
struct inbound {
    ax_wire_msg batch[DELIVER_BATCH];
    int n;
    struct frame *answers;
};

static void answer(ax_remote *r, struct peer *p, struct inbound *in, const struct wire_entry *e,
                   const void *data) {
    if (in->answers && in->answers->len + entry_bytes(e->size) > r->frame_max) {
        publish(r, p, in->answers);
        in->answers = NULL;
    }
    if (!in->answers && !(in->answers = frame_get(r, p))) return; /* out of memory: not answered */
    encode(r, in->answers, e, data);
}

static int bounce_reason(int rc) { return rc == AX_EFULL ? AX_DEAD_FULL : AX_DEAD_STOPPED; }

static void deliver_batch(ax_remote *r, struct peer *p, struct inbound *in) {
    if (!in->n) return;
    int results[DELIVER_BATCH];
    int rc = ax_transport_deliver(r->rt, in->batch, (size_t)in->n, results);
    for (int i = 0; i < in->n; i++) {
        int why = rc < 0 ? rc : results[i];
        if (why == 0) continue;
        const ax_wire_msg *m = &in->batch[i];
        struct wire_entry e = {m->to.id, m->from.id, m->type, m->size, m->corr, (uint8_t)m->flags,
                               ENTRY_BOUNCE, (uint16_t)bounce_reason(why)};
        answer(r, p, in, &e, m->data);
        atomic_fetch_add_explicit(&r->stats.refused_in, 1, memory_order_relaxed);
    }
    if (rc > 0) atomic_fetch_add_explicit(&r->stats.msgs_in, (uint64_t)rc, memory_order_relaxed);
    in->n = 0;
}

static void answer_signal(ax_remote *r, struct peer *p, struct inbound *in, int kind, uint64_t to,
                          uint64_t from, uint64_t id, int reason) {
    struct wire_signal sg = {id, reason, 0};
    struct wire_entry e = {to, from, (uint32_t)kind, sizeof sg, 0, 0, ENTRY_SIGNAL, 0};
    answer(r, p, in, &e, &sg);
}

static void take_signal(ax_remote *r, struct peer *p, struct inbound *in,
                        const struct wire_entry *e, const struct wire_signal *sg) {
    ax_ref to = {e->to}, from = {e->from};
    int kind = (int)e->type, rc;
    switch (kind) {
    case AX_WIRE_LINK:
        watch_add(p, WATCH_LINK, to, from, 0);
        if (ax_transport_signal(r->rt, kind, to, from, 0, 0) != 0) {
            watch_remove(p, WATCH_LINK, to, from, 0);
            answer_signal(r, p, in, AX_WIRE_EXIT, e->from, e->to, 0, AX_REASON_NOPROC);
        }
        break;
    case AX_WIRE_UNLINK:
    case AX_WIRE_EXIT:
        watch_remove(p, WATCH_LINK, to, from, 0);
        ax_transport_signal(r->rt, kind, to, from, 0, sg->reason);
        break;
    case AX_WIRE_MONITOR:
        rc = ax_transport_signal(r->rt, kind, to, from, sg->id, 0);
        if (rc != 0)
            answer_signal(r, p, in, AX_WIRE_DOWN, e->from, e->to, sg->id, AX_REASON_NOPROC);
        break;
    case AX_WIRE_DOWN:
        watch_remove(p, WATCH_MONITOR, to, from, sg->id);
        ax_transport_signal(r->rt, kind, to, from, sg->id, sg->reason);
        break;
    case AX_WIRE_DEMONITOR:
        ax_transport_signal(r->rt, kind, to, from, sg->id, 0);
        break;
    default:
        atomic_fetch_add_explicit(&r->stats.malformed, 1, memory_order_relaxed);
    }
}

/* One entry of an inbound frame, in order: messages gather into a batch; a signal first
 * delivers the batch before it (it must not overtake them); a bounce is a dead letter here. */
static void take_entry(ax_remote *r, struct peer *p, const struct wire_entry *e,
                       const unsigned char *payload, void *arg) {
    struct inbound *in = arg;
    if (e->what == ENTRY_MSG) {
        in->batch[in->n++] = wire_msg_of(e, payload);
        if (in->n == DELIVER_BATCH) deliver_batch(r, p, in);
        return;
    }
    deliver_batch(r, p, in);
    if (e->what == ENTRY_BOUNCE) {
        ax_wire_msg w = wire_msg_of(e, payload);
        ax_transport_dead_letter(r->rt, &w, e->reason);
        atomic_fetch_add_explicit(&r->stats.bounced, 1, memory_order_relaxed);
        return;
    }
    struct wire_signal sg;
    memcpy(&sg, payload, sizeof sg);
    take_signal(r, p, in, e, &sg);
}

/* Sends p an acknowledgement of its stream: everything up to the last seq seen, with the
 * ranges found lost. */
static void send_ack(ax_remote *r, struct peer *p) {
    unsigned char buf[sizeof(struct wire_head) + LOST_RANGES_MAX * sizeof(struct wire_range)];
    pthread_mutex_lock(&p->in_lock);
    struct wire_head h = {WIRE_FRAME_MAGIC, (uint16_t)r->node, FRAME_ACK, r->incarnation,
                          p->expect - 1, (uint64_t)p->nlost};
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, p->lost, (size_t)p->nlost * sizeof(struct wire_range));
    size_t len = sizeof h + (size_t)p->nlost * sizeof(struct wire_range);
    p->unacked_frames = 0;
    p->unacked_in_bytes = 0;
    pthread_mutex_unlock(&p->in_lock);
    natsConnection_Publish(r->conn, p->subject, buf, (int)len);
}

static void on_data(ax_remote *r, struct peer *p, const struct wire_head *h,
                    const unsigned char *d, size_t len) {
    pthread_mutex_lock(&p->in_lock);
    if (p->in_incarnation != h->incarnation) { /* a new incarnation numbers from 1 */
        p->in_incarnation = h->incarnation;
        p->expect = 1;
        p->nlost = 0;
    }
    bool take = h->seq >= p->expect, gap = h->seq > p->expect;
    if (gap) {
        if (p->nlost < LOST_RANGES_MAX) {
            p->lost[p->nlost++] = (struct wire_range){p->expect, h->seq - 1};
        } else { /* no room to list another range: this frame is lost with the last one */
            p->lost[p->nlost - 1].hi = h->seq;
            take = false;
        }
    }
    if (h->seq >= p->expect) p->expect = h->seq + 1;
    int keep = 0; /* ranges the sender has resolved are forgotten */
    for (int i = 0; i < p->nlost; i++)
        if (p->lost[i].hi > h->aux) p->lost[keep++] = p->lost[i];
    p->nlost = keep;
    p->unacked_frames++;
    p->unacked_in_bytes += len;
    p->ack_repeats = 0;
    bool ack_now = gap || p->unacked_frames >= ACK_EVERY_FRAMES ||
                   p->unacked_in_bytes >= ACK_EVERY_BYTES;
    pthread_mutex_unlock(&p->in_lock);
    if (take) {
        atomic_fetch_add_explicit(&r->stats.frames_in, 1, memory_order_relaxed);
        /* Frames come one at a time on the subscription's thread: its own batch, no malloc. */
        static _Thread_local struct inbound in;
        in.n = 0;
        in.answers = NULL;
        if (!for_each_entry(r, p, d, len, take_entry, &in))
            atomic_fetch_add_explicit(&r->stats.malformed, 1, memory_order_relaxed);
        deliver_batch(r, p, &in);
        if (in.answers) publish(r, p, in.answers);
    }
    if (ack_now) send_ack(r, p);
}

static bool in_ranges(uint64_t seq, const struct wire_range *ranges, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (seq >= ranges[i].lo && seq <= ranges[i].hi) return true;
    return false;
}

static void on_ack(ax_remote *r, struct peer *p, const struct wire_head *h,
                   const unsigned char *d, size_t len) {
    if (h->aux > LOST_RANGES_MAX || len != h->aux * sizeof(struct wire_range)) {
        atomic_fetch_add_explicit(&r->stats.malformed, 1, memory_order_relaxed);
        return;
    }
    struct wire_range ranges[LOST_RANGES_MAX];
    memcpy(ranges, d, len);
    struct frame *done = NULL, **tail = &done;
    size_t bytes = 0;
    pthread_mutex_lock(&p->out_lock);
    while (p->kept_head && p->kept_head->seq <= h->seq) {
        struct frame *f = p->kept_head;
        p->kept_head = f->next;
        bytes += f->len;
        f->next = NULL;
        *tail = f;
        tail = &f->next;
    }
    if (!p->kept_head) p->kept_tail = NULL;
    if (h->seq > p->resolved && h->seq <= p->next_seq) p->resolved = h->seq;
    pthread_mutex_unlock(&p->out_lock);
    atomic_fetch_sub_explicit(&p->unacked_bytes, bytes, memory_order_relaxed);
    for (struct frame *f = done; f; f = f->next)
        if (in_ranges(f->seq, ranges, h->aux)) report_lost(r, p, f);
    frames_put(p, done);
}

void wire_on_frame(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc, (void)sub;
    ax_remote *r = closure;
    if (!remote_cb_enter(r)) {
        natsMsg_Destroy(msg);
        return;
    }
    const unsigned char *d = (const unsigned char *)natsMsg_GetData(msg);
    size_t len = (size_t)natsMsg_GetDataLength(msg);
    struct wire_head h;
    struct peer *p = NULL;
    if (len >= sizeof h) {
        memcpy(&h, d, sizeof h);
        if (h.magic == WIRE_FRAME_MAGIC && h.src != 0 && h.src <= AX_NODE_MAX &&
            h.src != r->node && h.incarnation != 0 && (h.kind == FRAME_DATA || h.kind == FRAME_ACK))
            p = remote_peer(r, h.src);
    }
    if (!p) {
        atomic_fetch_add_explicit(&r->stats.malformed, 1, memory_order_relaxed);
    } else {
        remote_heard(r, p, h.incarnation);
        if (h.kind == FRAME_DATA) on_data(r, p, &h, d + sizeof h, len - sizeof h);
        else on_ack(r, p, &h, d + sizeof h, len - sizeof h);
    }
    natsMsg_Destroy(msg);
    remote_cb_leave(r);
}

/* ---- the ticker, failures, release ------------------------------------------------------- */

void wire_tick(ax_remote *r, struct peer *p, int64_t now) {
    /* As receiver: acknowledge frames not yet acknowledged; repeat the lost ranges a while,
     * until a frame from the sender says it has resolved them. */
    pthread_mutex_lock(&p->in_lock);
    bool ack = p->unacked_frames > 0 || (p->nlost > 0 && p->ack_repeats < ACK_REPEATS);
    if (ack) p->ack_repeats++;
    pthread_mutex_unlock(&p->in_lock);
    if (ack) send_ack(r, p);
    /* As sender: a frame unacknowledged for two heartbeats may be a lost tail, which no later
     * frame would expose: an empty frame does. */
    pthread_mutex_lock(&p->out_lock);
    bool sync = p->kept_head && now - p->kept_head->sent_ns > 2 * r->heartbeat_ns &&
                now - p->sync_ns > r->heartbeat_ns;
    if (sync) p->sync_ns = now;
    pthread_mutex_unlock(&p->out_lock);
    if (sync) {
        struct frame *f = frame_get(r, p);
        if (f) publish(r, p, f);
    }
}

void wire_fail_kept(ax_remote *r, struct peer *p) {
    pthread_mutex_lock(&p->out_lock);
    struct frame *kept = p->kept_head;
    p->kept_head = p->kept_tail = NULL;
    p->resolved = p->next_seq;
    atomic_store_explicit(&p->unacked_bytes, 0, memory_order_relaxed);
    pthread_mutex_unlock(&p->out_lock);
    for (struct frame *f = kept; f; f = f->next) report_lost(r, p, f);
    frames_put(p, kept);
}

static void free_list(struct frame *f) {
    while (f) {
        struct frame *next = f->next;
        free(f);
        f = next;
    }
}

void wire_free(ax_remote *r) {
    for (struct outbox *o = r->outboxes, *next; o; o = next) {
        next = o->next;
        for (int i = 0; i < o->n; i++) free(o->slot[i].f);
        free(o);
    }
    r->outboxes = NULL;
    for (uint32_t n = 0; n <= AX_NODE_MAX; n++) {
        struct peer *p = atomic_load_explicit(&r->peers[n], memory_order_acquire);
        if (!p) continue;
        free_list(p->kept_head);
        free_list(p->spare);
    }
}

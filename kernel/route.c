/* Matching and delivery (route.h). Client deliveries are framed straight
 * into the subscriber's outbound buffer when it lives on the publishing
 * worker, and into this worker's batch for the subscriber's worker
 * otherwise (worker.h); the owner applies a batch in order. */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "imports.h"
#include "link.h"
#include "log.h"
#include "modconn.h"
#include "perms.h"
#include "server.h"
#include "worker.h"
#include "xalloc.h"

/* Internal subscriptions may publish from their callbacks (service
 * imports, responses); bound the nesting against loops. */
#define ROUTE_MAX_DEPTH 8

static _Thread_local int route_depth;

/* Link subscriptions a publish matched, per nesting depth: collected
 * while routing, handed to the links once at the end (link.h), so a
 * link gets one message however many of its subscriptions matched.
 * Empty between publishes. */
#define LINK_HITS_INLINE 32
typedef struct link_hits {
    tern_sub **v;
    size_t     n, cap;
    tern_sub  *small[LINK_HITS_INLINE];
} link_hits;

static _Thread_local link_hits t_hits[ROUTE_MAX_DEPTH + 1];

static size_t link_hit(tern_sub *sub)
{
    link_hits *h = &t_hits[route_depth];
    if (!h->v) {
        h->v = h->small;
        h->cap = LINK_HITS_INLINE;
    }
    if (h->n == h->cap) {
        tern_sub **v = tern_xmalloc(2 * h->cap * sizeof *v);
        memcpy(v, h->v, h->n * sizeof *v);
        if (h->v != h->small)
            free(h->v);
        h->v = v;
        h->cap *= 2;
    }
    h->v[h->n++] = sub;
    return 1;
}

static void link_hits_flush(tern_worker *w, tern_account *acc, const tern_pub_args *m)
{
    link_hits *h = &t_hits[route_depth];
    tern_link_deliver(w, acc, m, h->v, h->n);
    h->n = 0;
    if (h->v != h->small) {
        free(h->v);
        h->v = h->small;
        h->cap = LINK_HITS_INLINE;
    }
}

/* Whether a link may get a message from origin o (NULL: a local one). */
static bool link_eligible(const tern_sub *sub, const tern_route_origin *o)
{
    tern_mconn *c = sub->owner;
    if (atomic_load_explicit(&c->closing, memory_order_relaxed))
        return false;
    if (!o)
        return true;
    if ((const void *)c == o->link)
        return false;
    if (atomic_load_explicit(&c->proto->not_from, memory_order_relaxed) & (1ull << (o->proto - 1)))
        return false;
    /* link_group: the links of one remote cluster (a leaf hub's spokes)
     * never pass a message to each other; every member of the group has
     * its own way to whatever the origin link's side holds */
    uint64_t g = atomic_load_explicit(&((const tern_mconn *)o->link)->group, memory_order_relaxed);
    if (g && atomic_load_explicit(&c->group, memory_order_relaxed) == g)
        return false;
    return !((o->flags & TERN_LINK_PUB_NO_SAME_PROTO) && c->proto->id == o->proto);
}

static inline void stat_add(_Atomic uint64_t *v, uint64_t n)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void append_num(tern_buf *b, size_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(b->data + b->len, tmp + i, sizeof tmp - i);
    b->len += sizeof tmp - i;
}

/* Append one MSG/HMSG frame for subscription s to b. A message with
 * headers goes out as HMSG to clients that negotiated headers and as MSG
 * without the header block to the others. Sizes go out as the publisher
 * wrote them, as nats-server does. Returns the payload bytes framed. */
static size_t frame_msg(tern_buf *b, const tern_csub *s, const tern_pub_args *m, bool headers)
{
    bool hmsg = m->hdr_len > 0 && headers;
    const char *data = m->data;
    size_t size = m->size;
    if (m->hdr_len > 0 && !hmsg) {
        data += m->hdr_len;
        size -= m->hdr_len;
    }
    tern_buf_reserve(b, 5 + m->subject_len + 1 + s->sid_len + 1 + m->reply_len + 1 +
                            m->hdr_text_len + m->size_text_len + 24 + size + 2);
    char *o = b->data + b->len;
    if (hmsg) {
        memcpy(o, "HMSG ", 5);
        o += 5;
    } else {
        memcpy(o, "MSG ", 4);
        o += 4;
    }
    memcpy(o, m->subject, m->subject_len);
    o += m->subject_len;
    *o++ = ' ';
    memcpy(o, s->sid, s->sid_len);
    o += s->sid_len;
    *o++ = ' ';
    if (m->reply) {
        memcpy(o, m->reply, m->reply_len);
        o += m->reply_len;
        *o++ = ' ';
    }
    if (hmsg) {
        memcpy(o, m->hdr_text, m->hdr_text_len);
        o += m->hdr_text_len;
        *o++ = ' ';
    }
    b->len = (size_t)(o - b->data);
    if (m->hdr_len > 0 && !hmsg) {
        append_num(b, size);
        o = b->data + b->len;
    } else {
        memcpy(o, m->size_text, m->size_text_len);
        o += m->size_text_len;
    }
    memcpy(o, "\r\n", 2);
    o += 2;
    memcpy(o, data, size);
    o += size;
    memcpy(o, "\r\n", 2);
    o += 2;
    b->len = (size_t)(o - b->data);
    return size;
}

/* A record in a cross-worker batch: the frame follows it. */
typedef struct remote_rec {
    tern_client *c;
    tern_csub   *s;
    uint32_t     len;        /* frame bytes */
    uint32_t     slow;       /* 1: close c as a slow consumer (no frame) */
    uint32_t     size;       /* payload bytes (the statistics count these) */
} remote_rec;

/* The reply subject of a framed MSG/HMSG (the token before the size
 * fields when there is one more token than without a reply). */
static bool frame_reply(const char *frame, size_t len, const char **reply, size_t *reply_len)
{
    const char *end = memchr(frame, '\r', len);
    if (!end)
        return false;
    const char *tok[6];
    size_t tl[6], n = 0;
    for (const char *p = frame; p < end && n < 6;) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *e = sp ? sp : end;
        tok[n] = p;
        tl[n++] = (size_t)(e - p);
        p = e + 1;
    }
    size_t with_reply = frame[0] == 'H' ? 6 : 5;
    if (n != with_reply)
        return false;
    *reply = tok[3];
    *reply_len = tl[3];
    return true;
}

/* Frame for a connection on another worker: into this worker's batch for
 * it. The owner applies it (counts, auto-unsubscribe) when it drains the
 * batch; the producer only enforces max_pending, through the atomic
 * counters, by asking the owner to close the connection. */
static bool deliver_remote(tern_worker *w, tern_csub *s, tern_client *c, const tern_pub_args *m)
{
    if (atomic_load_explicit(&c->slow_posted, memory_order_relaxed))
        return false;
    tern_buf *q = &w->outq[c->w->id];
    size_t at = q->len;
    tern_buf_reserve(q, sizeof(remote_rec));
    q->len += sizeof(remote_rec);
    size_t size = frame_msg(q, s, m, tern_client_has(c, TERN_CF_HEADERS));
    remote_rec r = {c, s, (uint32_t)(q->len - at - sizeof r), 0, (uint32_t)size};
    memcpy(q->data + at, &r, sizeof r);
    size_t pending = atomic_fetch_add_explicit(&c->remote_pending, r.len, memory_order_relaxed) +
                     r.len + atomic_load_explicit(&c->local_pending, memory_order_relaxed);
    if ((int64_t)pending > c->max_pending &&
        !atomic_exchange_explicit(&c->slow_posted, true, memory_order_relaxed)) {
        remote_rec close = {c, NULL, 0, 1, 0};
        tern_buf_append(q, &close, sizeof close);
    }
    return true;
}

static bool deliver_client(tern_worker *w, tern_client *pub, tern_csub *s, const tern_pub_args *m)
{
    tern_client *c = s->s.owner;
    if (c == pub && !tern_client_has(c, TERN_CF_ECHO))
        return false;
    if (s->deny_filter &&
        tern_perms_delivery_denied(tern_client_perms_of(c->perms), m->subject, m->subject_len))
        return false;
    if (c->w != w)
        return deliver_remote(w, s, c, m);
    if (s->removed || tern_client_has(c, TERN_CF_CLOSING))
        return false;
    if (s->max && s->delivered >= s->max)
        return false;
    size_t size = frame_msg(&c->out, s, m, tern_client_has(c, TERN_CF_HEADERS));
    if (m->reply && tern_client_perms_wants_replies(c->perms))
        tern_client_perms_note_reply(c->perms, m->reply, m->reply_len, w->now_ms);
    tern_client_delivered(c, s, size);
    return true;
}

void tern_client_deliver_batch(tern_worker *w, const char *data, size_t len)
{
    size_t off = 0;
    while (off + sizeof(remote_rec) <= len) {
        remote_rec r;
        memcpy(&r, data + off, sizeof r);
        off += sizeof r;
        const char *frame = data + off;
        off += r.len;
        tern_client *c = r.c;
        if (r.slow) {
            if (!tern_client_has(c, TERN_CF_CLOSING)) {
                stat_add(&w->stats.slow_consumers, 1);
                tern_noticef("%s:%d - cid:%llu - Slow Consumer Detected: MaxPending of %lld Exceeded",
                             c->ip, c->port, (unsigned long long)c->cid, (long long)c->max_pending);
                tern_client_close(c, TERN_CLOSE_SLOW_PENDING);
            }
            continue;
        }
        atomic_fetch_sub_explicit(&c->remote_pending, r.len, memory_order_relaxed);
        tern_csub *s = r.s;
        if (tern_client_has(c, TERN_CF_CLOSING) || s->removed || (s->max && s->delivered >= s->max))
            continue;
        tern_buf_append(&c->out, frame, r.len);
        const char *reply;
        size_t reply_len;
        if (tern_client_perms_wants_replies(c->perms) &&   /* allow_responses (rare) */
            frame_reply(frame, r.len, &reply, &reply_len))
            tern_client_perms_note_reply(c->perms, reply, reply_len, uv_now(&w->loop));
        tern_client_delivered(c, s, r.size);
    }
}

static size_t deliver_sub(tern_worker *w, tern_client *pub, tern_sub *sub, const tern_pub_args *m,
                          unsigned flags, const tern_route_origin *o)
{
    switch (sub->kind) {
    case TERN_SUB_CLIENT:
        return deliver_client(w, pub, (tern_csub *)sub, m);
    case TERN_SUB_INTERNAL: {
        tern_isub *is = (tern_isub *)sub;
        if (atomic_load_explicit(&is->removed, memory_order_acquire))
            return 0;
        return is->cb(w, is, pub, m);
    }
    case TERN_SUB_SHADOW: {
        if (flags & TERN_ROUTE_NO_SHADOWS)
            return 0;
        tern_shadow *sh = (tern_shadow *)sub;
        char buf[512];
        tern_pub_args t = *m;
        size_t n = 0;
        char *subj = tern_shadow_subject(sh, m->subject, m->subject_len, buf, sizeof buf, &n);
        if (!subj)
            return 0;
        t.subject = subj;
        t.subject_len = n;
        size_t d = 0;
        if (!sh->filter || tern_perm_match(sh->csub->s.subject, subj, n))
            d = deliver_client(w, pub, sh->csub, &t);
        if (subj != buf)
            free(subj);
        return d;
    }
    case TERN_SUB_LINK:
        return link_eligible(sub, o) ? link_hit(sub) : 0;
    }
    return 0;
}

static bool queue_listed(const tern_route_origin *o, const tern_sub *member)
{
    for (size_t i = 0; i < o->nqueues; i++)
        if (strlen(o->queues[i]) == member->queue_len &&
            !memcmp(o->queues[i], member->queue, member->queue_len))
            return true;
    return false;
}

static inline uint32_t queue_rank(const tern_sub *sub)
{
    return ((const tern_mconn *)sub->owner)->proto->p.queue_rank;
}

/* No local member took it: one link member of the lowest queue rank
 * present, chosen by the weights the links announced. */
static size_t link_queue_pick(const tern_sublist_qgroup *g, const tern_route_origin *o)
{
    uint64_t total = 0;
    uint32_t rank = UINT32_MAX;
    for (size_t k = 0; k < g->n; k++) {
        tern_sub *sub = g->subs[k];
        if (sub->kind != TERN_SUB_LINK || !link_eligible(sub, o))
            continue;
        uint64_t wgt = (uint64_t)(sub->weight > 0 ? sub->weight : 1);
        uint32_t rk = queue_rank(sub);
        if (rk < rank) {
            rank = rk;
            total = 0;
        }
        if (rk == rank)
            total += wgt;
    }
    if (!total)
        return 0;
    uint64_t r = total > UINT32_MAX ? tern_sublist_rand(UINT32_MAX) : tern_sublist_rand((uint32_t)total);
    for (size_t k = 0; k < g->n; k++) {
        tern_sub *sub = g->subs[k];
        if (sub->kind != TERN_SUB_LINK || queue_rank(sub) != rank || !link_eligible(sub, o))
            continue;
        uint64_t wgt = (uint64_t)(sub->weight > 0 ? sub->weight : 1);
        if (r < wgt)
            return link_hit(sub);
        r -= wgt;
    }
    return 0;
}

/* One member per queue group: a random start, then the first local
 * member that takes the message (a closed or echo-suppressed member is
 * skipped); links' members only when no local one did. A message of a
 * link for listed groups may go on to another protocol's member (a leaf
 * node's queue message to a routed member, as nats-server); the same
 * protocol is excluded by TERN_LINK_PUB_NO_SAME_PROTO. */
static size_t deliver_queue(tern_worker *w, tern_client *pub, const tern_sublist_qgroup *g,
                            const tern_pub_args *m, unsigned flags, const tern_route_origin *o)
{
    if (g->n == 0)
        return 0;
    bool listed_only = o && (o->flags & TERN_LINK_PUB_QUEUES_LISTED);
    if (listed_only && !queue_listed(o, g->subs[0]))
        return 0;
    size_t start = g->n > 1 ? tern_sublist_rand((uint32_t)g->n) : 0;
    bool links = false;
    for (size_t k = 0; k < g->n; k++) {
        tern_sub *sub = g->subs[(start + k) % g->n];
        if (sub->kind == TERN_SUB_LINK) {
            links = true;
            continue;
        }
        if (deliver_sub(w, pub, sub, m, flags, o))
            return 1;
    }
    return links ? link_queue_pick(g, o) : 0;
}

/* No responders (client-protocol.md §9): a request delivered to nobody
 * gets a 503 status on the requester's own subscription to the reply. */
static void send_no_responders(tern_worker *w, tern_client *c, const tern_pub_args *m)
{
    const tern_sublist_result *r =
        tern_sublist_match(c->acc->sl, tern_account_cache(c->acc, w->id), m->reply, m->reply_len);
    for (size_t i = 0; i < r->npsubs; i++) {
        if (r->psubs[i]->kind != TERN_SUB_CLIENT)
            continue;
        tern_csub *s = (tern_csub *)r->psubs[i];
        if (s->s.owner != c || s->removed)
            continue;
        tern_buf *b = &c->out;
        tern_buf_append(b, "HMSG ", 5);
        tern_buf_append(b, m->reply, m->reply_len);
        tern_buf_append(b, " ", 1);
        tern_buf_append(b, s->sid, s->sid_len);
        tern_buf_append_str(b, " 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
        tern_worker_mark_flush(w, c);
        return;
    }
}

static size_t route_publish(tern_worker *w, tern_account *acc, tern_client *from,
                            const tern_pub_args *m, unsigned flags, const tern_route_origin *o)
{
    if (route_depth >= ROUTE_MAX_DEPTH)
        return 0;
    route_depth++;
    const tern_sublist_result *r =
        tern_sublist_match(acc->sl, tern_account_cache(acc, w->id), m->subject, m->subject_len);
    size_t n = 0;
    for (size_t i = 0; i < r->npsubs; i++)
        n += deliver_sub(w, from, r->psubs[i], m, flags, o);
    for (size_t i = 0; i < r->nqgroups; i++)
        n += deliver_queue(w, from, &r->qgroups[i], m, flags, o);
    if (t_hits[route_depth].n)
        link_hits_flush(w, acc, m);
    if (!n && m->reply && from && from->acc == acc &&
        tern_client_has(from, TERN_CF_NO_RESPONDERS))
        send_no_responders(w, from, m);
    route_depth--;
    return n;
}

size_t tern_route_publish_ex(tern_worker *w, tern_account *acc, tern_client *from,
                             const tern_pub_args *m, unsigned flags)
{
    return route_publish(w, acc, from, m, flags, NULL);
}

size_t tern_route_publish_link(tern_worker *w, tern_account *acc, const tern_route_origin *o,
                               const tern_pub_args *m)
{
    return route_publish(w, acc, NULL, m, 0, o);
}

size_t tern_route_publish(tern_worker *w, tern_account *acc, tern_client *from,
                          const tern_pub_args *m)
{
    return tern_route_publish_ex(w, acc, from, m, 0);
}

char *tern_route_cstrs(const tern_pub_args *m, char *small, size_t n, const char **reply)
{
    size_t need = m->subject_len + m->reply_len + 2;
    char *buf = need <= n ? small : tern_xmalloc(need);
    memcpy(buf, m->subject, m->subject_len);
    buf[m->subject_len] = 0;
    *reply = NULL;
    if (m->reply) {
        char *r = buf + m->subject_len + 1;
        memcpy(r, m->reply, m->reply_len);
        r[m->reply_len] = 0;
        *reply = r;
    }
    return buf;
}

void tern_route_args(tern_pub_args *m, char txt[48], const char *subject, const char *reply,
                     const char *data, size_t hdr_len, size_t size)
{
    memset(m, 0, sizeof *m);
    m->subject = subject;
    m->subject_len = strlen(subject);
    m->reply = reply && *reply ? reply : NULL;
    m->reply_len = m->reply ? strlen(reply) : 0;
    m->data = data;
    m->size = size;
    m->hdr_len = hdr_len;
    m->hpub = hdr_len > 0;
    int a = snprintf(txt, 24, "%zu", size);
    m->size_text = txt;
    m->size_text_len = (size_t)a;
    if (hdr_len) {
        int b = snprintf(txt + 24, 24, "%zu", hdr_len);
        m->hdr_text = txt + 24;
        m->hdr_text_len = (size_t)b;
    }
}

/* ---- internal subscriptions --------------------------------------------- */

tern_isub *tern_isub_add(tern_account *acc, const char *subject, const char *queue,
                         tern_isub_fn cb, void *arg)
{
    size_t sl = strlen(subject), ql = queue ? strlen(queue) : 0;
    tern_isub *is = tern_xcalloc(1, sizeof *is + sl + 1 + ql + 1);
    memcpy(is->mem, subject, sl);
    is->s.subject = is->mem;
    is->s.subject_len = (uint32_t)sl;
    if (queue) {
        memcpy(is->mem + sl + 1, queue, ql);
        is->s.queue = is->mem + sl + 1;
        is->s.queue_len = (uint32_t)ql;
    }
    is->s.weight = 1;
    is->s.owner = is;
    is->s.kind = TERN_SUB_INTERNAL;
    is->acc = acc;
    is->cb = cb;
    is->arg = arg;
    if (tern_sublist_insert(acc->sl, &is->s) != 0) {
        free(is);
        return NULL;
    }
    return is;
}

static void isub_free_retired(tern_retired *r)
{
    free((char *)r - offsetof(tern_isub, retired));
}

static void isub_retire_task(tern_worker *w, void *arg)
{
    tern_isub *is = arg;
    is->retired.free_fn = isub_free_retired;
    tern_worker_retire(w, &is->retired);
}

void tern_isub_remove(tern_server *srv, tern_isub *sub)
{
    if (!sub || atomic_exchange_explicit(&sub->removed, true, memory_order_acq_rel))
        return;
    tern_sublist_remove(sub->acc->sl, &sub->s);
    tern_worker *w = tern_worker_current();
    if (w)
        isub_retire_task(w, sub);
    else
        tern_worker_post(&srv->workers[0], isub_retire_task, sub);
}

void tern_isub_free(tern_isub *sub)
{
    free(sub);
}

/* Link subscriptions, delivery to links and injection from them (link.h). */
#include "link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interest.h"
#include "module_int.h"
#include "modconn.h"
#include "route.h"
#include "server.h"
#include "worker.h"
#include "xalloc.h"

/* ---- interest ------------------------------------------------------------ */

static tern_account *account_of(const char *name)
{
    if (!name || !*name)
        return tern_mod_srv->gacc;
    return tern_accounts_find(&tern_mod_srv->accounts, name);
}

/* The per-link key: the account, the subject and the queue. */
static size_t lsub_key(char *out, size_t cap, const tern_account *acc, const char *subject,
                       size_t sl, const char *queue, size_t ql)
{
    size_t need = sizeof acc + sl + 1 + ql;
    if (need > cap)
        return need;
    memcpy(out, &acc, sizeof acc);
    memcpy(out + sizeof acc, subject, sl);
    out[sizeof acc + sl] = 0;
    if (ql)
        memcpy(out + sizeof acc + sl + 1, queue, ql);
    return need;
}

static void lsub_free_retired(tern_retired *r)
{
    free((char *)r - offsetof(tern_lsub, retired));
}

/* Out of the sublist; freed once every worker passed a quiescent point
 * (match results elsewhere may still hold it). */
static void lsub_drop(tern_mconn *c, tern_lsub *ls)
{
    tern_sublist_remove(ls->acc->sl, &ls->s);
    ls->retired.free_fn = lsub_free_retired;
    tern_worker_retire(c->w, &ls->retired);
}

static int32_t contribution(const tern_lsub *ls)
{
    return ls ? (ls->s.queue ? ls->s.weight : 1) : 0;
}

tern_rc tern_link_interest(tern_module *m, uint64_t conn, const char *account,
                           const char *subject, const char *queue, uint32_t weight)
{
    tern_mconn *c = tern_modconn_owned(conn);
    if (!c || atomic_load_explicit(&c->closing, memory_order_relaxed))
        return TERN_ESTALE;
    if (!(c->proto->p.flags & TERN_PROTO_LINK)) {
        tern_mod_set_error(m, "link_interest: not a LINK connection");
        return TERN_EINVAL;
    }
    tern_account *acc = account_of(account);
    if (!acc)
        return TERN_ENOENT;
    size_t sl = subject ? strlen(subject) : 0, ql = queue ? strlen(queue) : 0;
    if (!sl || !tern_subject_valid(subject, sl, true) || (queue && !ql) ||
        weight > INT32_MAX) {
        tern_mod_set_error(m, "link_interest: invalid subject '%s'", subject ? subject : "");
        return TERN_EINVAL;
    }
    if (!queue && weight > 1)
        weight = 1;                      /* a plain subscription has weight 1 */
    char small[256];
    size_t klen = lsub_key(small, sizeof small, acc, subject, sl, queue, ql);
    char *key = klen <= sizeof small ? small : tern_xmalloc(klen);
    if (key != small)
        lsub_key(key, klen, acc, subject, sl, queue, ql);
    tern_lsub *old = tern_keymap_get(&c->lsubs, key, klen);
    tern_rc rc = TERN_OK;
    if (weight == 0 || (old && old->s.weight == (int32_t)weight)) {
        if (weight == 0 && old) {
            tern_keymap_take(&c->lsubs, key, klen);
            lsub_drop(c, old);
            tern_interest_delta(acc, subject, sl, queue, ql, c->proto->id, -contribution(old));
        }
        goto out;
    }
    tern_lsub *ls = tern_xcalloc(1, sizeof *ls + sl + 1 + ql + 1);
    memcpy(ls->mem, subject, sl);
    ls->s.subject = ls->mem;
    ls->s.subject_len = (uint32_t)sl;
    if (queue) {
        memcpy(ls->mem + sl + 1, queue, ql);
        ls->s.queue = ls->mem + sl + 1;
        ls->s.queue_len = (uint32_t)ql;
    }
    ls->s.weight = (int32_t)weight;
    ls->s.owner = c;
    ls->s.kind = TERN_SUB_LINK;
    ls->acc = acc;
    /* A new weight is a new entry (readers never see a weight change
     * under them): the new one goes in before the old one leaves. */
    if (tern_sublist_insert(acc->sl, &ls->s) != 0) {
        free(ls);
        tern_mod_set_error(m, "link_interest: invalid subject '%s'", subject);
        rc = TERN_EINVAL;
        goto out;
    }
    tern_keymap_put(&c->lsubs, key, klen, ls);
    if (old)
        lsub_drop(c, old);
    tern_interest_delta(acc, subject, sl, queue, ql, c->proto->id,
                        contribution(ls) - contribution(old));
out:
    if (key != small)
        free(key);
    return rc;
}

void tern_link_conn_closed(tern_mconn *c)
{
    for (size_t i = 0; i < c->lsubs.cap; i++) {
        tern_lsub *ls = c->lsubs.slots[i].key ? c->lsubs.slots[i].value : NULL;
        if (!ls)
            continue;
        lsub_drop(c, ls);
        tern_interest_delta(ls->acc, ls->s.subject, ls->s.subject_len, ls->s.queue,
                            ls->s.queue_len, c->proto->id, -contribution(ls));
    }
    tern_keymap_free(&c->lsubs);
}

/* ---- delivery -------------------------------------------------------------- */

/* Per (source worker, target worker): link messages framed during the
 * source's iteration. Allocated when the first LINK protocol registers. */
static tern_buf *_Atomic g_outq;
static int g_nworkers;

/* A framed link message: this header, then subject\0, reply\0, the
 * queue names (each \0-terminated) and the data. */
typedef struct link_rec {
    tern_mconn   *c;
    tern_account *acc;
    uint64_t      len, hdr_len;
    uint32_t      subject_len, reply_len, nqueues, qbytes;
    bool          plain, has_reply;
} link_rec;

void tern_link_init(tern_server *s)
{
    if (atomic_load_explicit(&g_outq, memory_order_acquire))
        return;
    g_nworkers = s->nworkers;
    tern_buf *q = tern_xcalloc((size_t)s->nworkers * (size_t)s->nworkers, sizeof *q);
    atomic_store_explicit(&g_outq, q, memory_order_release);
}

static void call_msg(tern_mconn *c, tern_link_msg *lm)
{
    tern_mconn *prev = tern_modconn_enter(c);
    c->proto->p.msg(c->proto->m, c->id, c->ud, lm);
    tern_modconn_leave(prev);
}

static void frame(tern_buf *q, tern_mconn *c, tern_account *acc, const tern_pub_args *m,
                  bool plain, const char *const *queues, size_t nq)
{
    link_rec r = { c, acc, m->size, m->hdr_len, (uint32_t)m->subject_len,
                   (uint32_t)m->reply_len, (uint32_t)nq, 0, plain, m->reply != NULL };
    for (size_t i = 0; i < nq; i++)
        r.qbytes += (uint32_t)strlen(queues[i]) + 1;
    tern_buf_reserve(q, sizeof r + r.subject_len + r.reply_len + 2 + r.qbytes + m->size);
    tern_buf_append(q, &r, sizeof r);
    tern_buf_append(q, m->subject, m->subject_len);
    tern_buf_append(q, "", 1);
    tern_buf_append(q, m->reply ? m->reply : "", m->reply_len);
    tern_buf_append(q, "", 1);
    for (size_t i = 0; i < nq; i++)
        tern_buf_append(q, queues[i], strlen(queues[i]) + 1);
    tern_buf_append(q, m->data, m->size);
}

static void inline_msg(tern_mconn *c, tern_account *acc, const tern_pub_args *m, bool plain,
                       const char *const *queues, size_t nq)
{
    char small[512];
    const char *reply;
    char *buf = tern_route_cstrs(m, small, sizeof small, &reply);
    tern_link_msg lm = { sizeof lm, acc->name, buf, reply, m->data, m->hdr_len, m->size,
                         queues, nq, plain };
    call_msg(c, &lm);
    if (buf != small)
        free(buf);
}

void tern_link_deliver(tern_worker *w, tern_account *acc, const tern_pub_args *m,
                       tern_sub *const *hits, size_t n)
{
    bool done_small[32];
    bool *done = n <= 32 ? done_small : tern_xcalloc(n, sizeof *done);
    memset(done, 0, n * sizeof *done);
    const char *q_small[32];
    const char **queues = n <= 32 ? q_small : tern_xcalloc(n, sizeof *queues);
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        tern_mconn *c = hits[i]->owner;
        bool plain = false;
        size_t nq = 0;
        for (size_t j = i; j < n; j++) {
            if (done[j] || hits[j]->owner != c)
                continue;
            done[j] = true;
            if (hits[j]->queue) {
                bool dup = false;   /* one group name once */
                for (size_t k = 0; k < nq && !dup; k++)
                    dup = !strcmp(queues[k], hits[j]->queue);
                if (!dup)
                    queues[nq++] = hits[j]->queue;
            } else {
                plain = true;
            }
        }
        if (atomic_load_explicit(&c->closing, memory_order_relaxed))
            continue;
        if (c->w == w) {
            inline_msg(c, acc, m, plain, queues, nq);
        } else {
            tern_buf *outq = atomic_load_explicit(&g_outq, memory_order_acquire);
            frame(&outq[(size_t)w->id * (size_t)g_nworkers + (size_t)c->w->id], c, acc, m, plain,
                  queues, nq);
        }
    }
    if (done != done_small)
        free(done);
    if (queues != q_small)
        free(queues);
}

static void batch_task(tern_worker *w, void *arg)
{
    (void)w;
    tern_buf *b = arg;
    const char *qnames_small[16];
    for (size_t off = 0; off + sizeof(link_rec) <= b->len;) {
        link_rec r;
        memcpy(&r, b->data + off, sizeof r);
        const char *p = b->data + off + sizeof r;
        off += sizeof r + r.subject_len + r.reply_len + 2 + r.qbytes + r.len;
        if (atomic_load_explicit(&r.c->closing, memory_order_relaxed))
            continue;
        const char *subject = p;
        const char *reply = p + r.subject_len + 1;
        const char *qp = reply + r.reply_len + 1;
        const char **qn = r.nqueues <= 16 ? qnames_small : tern_xcalloc(r.nqueues, sizeof *qn);
        for (uint32_t i = 0; i < r.nqueues; i++) {
            qn[i] = qp;
            qp += strlen(qp) + 1;
        }
        tern_link_msg lm = { sizeof lm, r.acc->name, subject, r.has_reply ? reply : NULL, qp,
                             r.hdr_len, r.len, qn, r.nqueues, r.plain };
        call_msg(r.c, &lm);
        if (qn != qnames_small)
            free(qn);
    }
    tern_buf_free(b);
    free(b);
}

void tern_link_worker_check(tern_worker *w)
{
    tern_buf *outq = atomic_load_explicit(&g_outq, memory_order_acquire);
    if (!outq)
        return;
    /* Posted before this worker's quiescent point: the link connections
     * the records name outlive the tasks (worker.c, epoch.h). */
    for (int i = 0; i < g_nworkers; i++) {
        tern_buf *q = &outq[(size_t)w->id * (size_t)g_nworkers + (size_t)i];
        if (!q->len)
            continue;
        tern_buf *b = tern_xmalloc(sizeof *b);
        *b = *q;
        *q = (tern_buf){0};
        tern_worker_post(&w->srv->workers[i], batch_task, b);
    }
}

void tern_link_stop(void)
{
    tern_buf *outq = atomic_exchange_explicit(&g_outq, NULL, memory_order_acq_rel);
    if (!outq)
        return;
    for (int i = 0; i < g_nworkers * g_nworkers; i++)
        tern_buf_free(&outq[i]);
    free(outq);
}

/* ---- injection ------------------------------------------------------------- */

tern_rc tern_link_publish(tern_module *m, uint64_t conn, const char *account,
                          const char *subject, const char *reply, const void *data,
                          size_t hdr_len, size_t len, const char *const *queues, size_t nqueues,
                          uint32_t flags)
{
    tern_mconn *c = tern_modconn_owned(conn);
    if (!c || atomic_load_explicit(&c->closing, memory_order_relaxed))
        return TERN_ESTALE;
    if (!(c->proto->p.flags & TERN_PROTO_LINK) || !c->w) {
        tern_mod_set_error(m, "link_publish: not a LINK connection");
        return TERN_EINVAL;
    }
    tern_account *acc = account_of(account);
    if (!acc)
        return TERN_ENOENT;
    if (!subject || !*subject || (len && !data) || hdr_len > len || (nqueues && !queues)) {
        tern_mod_set_error(m, "link_publish: invalid arguments");
        return TERN_EINVAL;
    }
    tern_pub_args a;
    char txt[48];
    tern_route_args(&a, txt, subject, reply, data, hdr_len, len);
    tern_route_origin o = { c, c->proto->id, flags, queues, nqueues };
    tern_route_publish_link(c->w, acc, &o, &a);
    return TERN_OK;
}

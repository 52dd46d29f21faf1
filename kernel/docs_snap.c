/* Per-connection data for the documents, copied by each worker from its
 * own connections. The caller posts one task per worker and waits on a
 * countdown (bounded); nothing takes a lock over the connections, and the
 * message path only sees one extra task in its inbox.
 *
 * A worker that misses the deadline still runs its task later: the job
 * is reference counted, so the late copy lands in memory nobody reads
 * any more and the last reference frees it. */
#include "docs_int.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "client.h"
#include "server.h"
#include "tls.h"
#include "worker.h"
#include "xalloc.h"

/* ---- one connection ----------------------------------------------------- */

static char *dup_nonempty(const char *s)
{
    return s && *s ? tern_xstrdup(s) : NULL;
}

void tern_docs_conn_fill(tern_docs_conn *out, const tern_client *c, int64_t now_ns,
                         uint64_t now_ms, bool subs)
{
    memset(out, 0, sizeof *out);
    out->cid = c->cid;
    memcpy(out->ip, c->ip, sizeof out->ip);
    out->port = c->port;
    out->start_ns = c->start_ns;
    /* Activity is kept in loop time: place it on the wall clock. */
    uint64_t idle_ms = now_ms > c->last_activity_ms ? now_ms - c->last_activity_ms : 0;
    out->last_ns = now_ns - (int64_t)idle_ms * 1000000;
    if (out->last_ns < out->start_ns)
        out->last_ns = out->start_ns;
    out->rtt_ns = c->rtt_ns;
    out->pending = (int64_t)(c->out.len + (c->writing ? c->wbuf.len - c->woff : 0) +
                             atomic_load_explicit(&((tern_client *)c)->remote_pending,
                                                  memory_order_relaxed));
    out->in_msgs = c->in_msgs;
    out->in_bytes = c->in_bytes;
    out->out_msgs = c->out_msgs;
    out->out_bytes = c->out_bytes;
    out->nsubs = (uint32_t)c->subs.n;
    out->name = dup_nonempty(c->name);
    out->lang = dup_nonempty(c->lang);
    out->version = dup_nonempty(c->version);
    if (c->tls && tern_tls_conn_established(c->tls)) {
        out->tls_version = dup_nonempty(tern_tls_conn_version(c->tls));
        out->tls_cipher = dup_nonempty(tern_tls_conn_cipher(c->tls));
    }
    out->auth_user = dup_nonempty(tern_client_auth_user(c));
    out->username = dup_nonempty(tern_client_connect_user(c));
    out->account = dup_nonempty(c->acc ? c->acc->name : NULL);
    if (!subs || c->subs.n == 0)
        return;
    out->subs = tern_xcalloc(c->subs.n, sizeof *out->subs);
    for (size_t i = 0; i < c->subs.cap && out->nsubs_copied < c->subs.n; i++) {
        const tern_csub *s = c->subs.slots[i].value;
        if (!s)
            continue;
        tern_docs_sub *d = &out->subs[out->nsubs_copied++];
        d->subject = tern_xstrndup(s->s.subject, s->s.subject_len);
        d->queue = s->s.queue ? tern_xstrndup(s->s.queue, s->s.queue_len) : NULL;
        d->sid = tern_xstrndup(s->sid, s->sid_len);
        d->msgs = s->delivered;
        d->max = s->max;
    }
}

void tern_docs_conn_clear(tern_docs_conn *c)
{
    free(c->name);
    free(c->lang);
    free(c->version);
    free(c->tls_version);
    free(c->tls_cipher);
    free(c->auth_user);
    free(c->username);
    free(c->account);
    for (size_t i = 0; i < c->nsubs_copied; i++) {
        free(c->subs[i].subject);
        free(c->subs[i].queue);
        free(c->subs[i].sid);
    }
    free(c->subs);
    memset(c, 0, sizeof *c);
}

void tern_docs_conn_copy(tern_docs_conn *dst, const tern_docs_conn *src)
{
    *dst = *src;
    dst->name = tern_xstrdup(src->name);
    dst->lang = tern_xstrdup(src->lang);
    dst->version = tern_xstrdup(src->version);
    dst->tls_version = tern_xstrdup(src->tls_version);
    dst->tls_cipher = tern_xstrdup(src->tls_cipher);
    dst->auth_user = tern_xstrdup(src->auth_user);
    dst->username = tern_xstrdup(src->username);
    dst->account = tern_xstrdup(src->account);
    dst->subs = NULL;
    if (src->nsubs_copied) {
        dst->subs = tern_xcalloc(src->nsubs_copied, sizeof *dst->subs);
        for (size_t i = 0; i < src->nsubs_copied; i++) {
            dst->subs[i] = src->subs[i];
            dst->subs[i].subject = tern_xstrdup(src->subs[i].subject);
            dst->subs[i].queue = tern_xstrdup(src->subs[i].queue);
            dst->subs[i].sid = tern_xstrdup(src->subs[i].sid);
        }
    }
}

/* ---- accounts ------------------------------------------------------------ */

size_t tern_docs_accounts(tern_server *s, tern_account *const **out)
{
    if (s->accounts.n == 0) { /* no registry: just "$G" */
        *out = &s->gacc;
        return s->gacc ? 1 : 0;
    }
    *out = s->accounts.accs;
    return s->accounts.n;
}

const char *tern_docs_system_account(tern_server *s)
{
    return s->accounts.system ? s->accounts.system->name : NULL;
}

/* ---- the snapshot job ----------------------------------------------------- */

typedef struct worker_part {
    tern_docs_conn *conns;
    size_t          n;
    tern_sublist_cstats *caches; /* per account */
    bool            done;
} worker_part;

typedef struct snap_job {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             refs;        /* the caller + one per posted task */
    int             remaining;
    unsigned        flags;
    tern_account *const *accs;
    size_t          naccs;
    worker_part    *parts;
    int             nparts;
} snap_job;

static void part_free(worker_part *p)
{
    for (size_t i = 0; i < p->n; i++)
        tern_docs_conn_clear(&p->conns[i]);
    free(p->conns);
    free(p->caches);
    memset(p, 0, sizeof *p);
}

static void job_unref(snap_job *j)
{
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left > 0)
        return;
    for (int i = 0; i < j->nparts; i++)
        part_free(&j->parts[i]);
    free(j->parts);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

/* On w's thread: copy its connections into its part. */
static void copy_worker(tern_worker *w, snap_job *j, worker_part *p)
{
    p->caches = tern_xcalloc(j->naccs ? j->naccs : 1, sizeof *p->caches);
    for (size_t a = 0; a < j->naccs; a++)
        tern_sublist_cache_stats(tern_account_cache(j->accs[a], w->id), &p->caches[a]);
    if (!(j->flags & TERN_DOCS_SNAP_CONNS))
        return;
    size_t cap = 0;
    for (tern_client *c = w->clients; c; c = c->next)
        cap++;
    p->conns = tern_xcalloc(cap ? cap : 1, sizeof *p->conns);
    int64_t now_ns = tern_docs_now_ns();
    uint64_t now_ms = uv_now(&w->loop);
    for (tern_client *c = w->clients; c; c = c->next) {
        /* A closing connection is already in the closed ring. */
        if (atomic_load_explicit(&c->flags, memory_order_relaxed) & TERN_CF_CLOSING)
            continue;
        tern_docs_conn_fill(&p->conns[p->n++], c, now_ns, now_ms,
                            (j->flags & TERN_DOCS_SNAP_SUBS) != 0);
    }
}

typedef struct snap_task_arg {
    snap_job *job;
    int       index;
} snap_task_arg;

static void snap_task(tern_worker *w, void *arg)
{
    snap_task_arg *a = arg;
    snap_job *j = a->job;
    worker_part *p = &j->parts[a->index];
    free(a);
    copy_worker(w, j, p);
    pthread_mutex_lock(&j->mu);
    p->done = true;
    j->remaining--;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    job_unref(j);
}

void tern_docs_snapshot_take(tern_server *s, unsigned flags, int wait_ms,
                             tern_docs_snapshot *out)
{
    memset(out, 0, sizeof *out);
    snap_job *j = tern_xcalloc(1, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->flags = flags;
    j->naccs = tern_docs_accounts(s, &j->accs);
    j->nparts = s->nworkers;
    j->parts = tern_xcalloc((size_t)s->nworkers, sizeof *j->parts);
    j->refs = 1;
    j->remaining = s->nworkers;

    tern_worker *self = tern_worker_current();
    for (int i = 0; i < s->nworkers; i++) {
        tern_worker *w = &s->workers[i];
        if (w == self) { /* waiting on our own task would never end */
            copy_worker(w, j, &j->parts[i]);
            j->parts[i].done = true;
            j->remaining--;
            continue;
        }
        snap_task_arg *a = tern_xmalloc(sizeof *a);
        a->job = j;
        a->index = i;
        pthread_mutex_lock(&j->mu);
        j->refs++;
        pthread_mutex_unlock(&j->mu);
        tern_worker_post(w, snap_task, a);
    }

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->mu);
    while (j->remaining > 0)
        if (pthread_cond_timedwait(&j->cv, &j->mu, &deadline) == ETIMEDOUT)
            break;
    /* Take the parts that are done; a late worker writes only its own. */
    out->complete = j->remaining == 0;
    size_t total = 0;
    for (int i = 0; i < j->nparts; i++)
        if (j->parts[i].done)
            total += j->parts[i].n;
    out->conns = tern_xcalloc(total ? total : 1, sizeof *out->conns);
    out->naccounts = j->naccs;
    out->caches = tern_xcalloc(j->naccs ? j->naccs : 1, sizeof *out->caches);
    for (int i = 0; i < j->nparts; i++) {
        worker_part *p = &j->parts[i];
        if (!p->done)
            continue;
        if (p->n)
            memcpy(out->conns + out->n, p->conns, p->n * sizeof *p->conns);
        out->n += p->n;
        p->n = 0; /* moved */
        for (size_t a = 0; p->caches && a < j->naccs; a++) {
            tern_sublist_cstats *to = &out->caches[a], *from = &p->caches[a];
            to->matches += from->matches;
            to->hits += from->hits;
            to->entries += from->entries;
            to->fanout_total += from->fanout_total;
            if (from->fanout_max > to->fanout_max)
                to->fanout_max = from->fanout_max;
        }
    }
    pthread_mutex_unlock(&j->mu);
    job_unref(j);
}

void tern_docs_snapshot_free(tern_docs_snapshot *snap)
{
    for (size_t i = 0; i < snap->n; i++)
        tern_docs_conn_clear(&snap->conns[i]);
    free(snap->conns);
    free(snap->caches);
    memset(snap, 0, sizeof *snap);
}

/* ---- sublist statistics --------------------------------------------------- */

void tern_docs_slstats_add(tern_docs_slstats *st, tern_account *a, const tern_docs_snapshot *snap,
                           size_t i)
{
    uint64_t inserts, removes;
    tern_sublist_stats(a->sl, &inserts, &removes);
    st->num_subs += tern_sublist_count(a->sl);
    st->num_inserts += inserts;
    st->num_removes += removes;
    if (!snap || i >= snap->naccounts)
        return;
    const tern_sublist_cstats *c = &snap->caches[i];
    st->num_cache += c->entries;
    st->num_matches += c->matches;
    st->cache_hits += c->hits;
    st->tot_fanout += c->fanout_total;
    st->cache_cnt += c->entries;
    if (c->fanout_max > st->max_fanout)
        st->max_fanout = c->fanout_max;
}

void tern_docs_slstats_put(json_t *o, const tern_docs_slstats *st)
{
    json_object_set_new(o, "num_subscriptions", json_integer((json_int_t)st->num_subs));
    json_object_set_new(o, "num_cache", json_integer((json_int_t)st->num_cache));
    json_object_set_new(o, "num_inserts", json_integer((json_int_t)st->num_inserts));
    json_object_set_new(o, "num_removes", json_integer((json_int_t)st->num_removes));
    json_object_set_new(o, "num_matches", json_integer((json_int_t)st->num_matches));
    double rate = st->num_matches ? (double)st->cache_hits / (double)st->num_matches : 0;
    json_object_set_new(o, "cache_hit_rate", tern_docs_number(rate));
    json_object_set_new(o, "max_fanout", json_integer((json_int_t)st->max_fanout));
    double avg = st->cache_cnt ? (double)st->tot_fanout / (double)st->cache_cnt : 0;
    json_object_set_new(o, "avg_fanout", tern_docs_number(avg));
}

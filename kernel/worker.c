#include "worker.h"

#include <poll.h>
#include <stdlib.h>

#include "account.h"
#include "client.h"
#include "modconn.h"
#include "server.h"
#include "xalloc.h"

#define WORKER_RBUF_SIZE   (64 * 1024)
#define RECLAIM_NUDGE_MS   20

static _Thread_local tern_worker *current_worker;

tern_worker *tern_worker_current(void)
{
    return current_worker;
}

/* ---- inbox -------------------------------------------------------------- */

void tern_worker_post(tern_worker *w, void (*fn)(tern_worker *, void *), void *arg)
{
    tern_task *t = tern_xmalloc(sizeof *t);
    t->next = NULL;
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_lock(&w->inbox_mu);
    if (w->tasks_tail)
        w->tasks_tail->next = t;
    else
        w->tasks = t;
    w->tasks_tail = t;
    pthread_mutex_unlock(&w->inbox_mu);
    uv_async_send(&w->wake);
}

static void push_batch(tern_worker *to, tern_batch *b)
{
    pthread_mutex_lock(&to->inbox_mu);
    if (to->batches_tail)
        to->batches_tail->next = b;
    else
        to->batches = b;
    to->batches_tail = b;
    pthread_mutex_unlock(&to->inbox_mu);
    uv_async_send(&to->wake);
}

static void apply_batches(tern_worker *w, tern_batch *batches)
{
    while (batches) {
        tern_batch *b = batches;
        batches = b->next;
        tern_client_deliver_batch(w, b->buf.data, b->buf.len);
        tern_buf_free(&b->buf);
        free(b);
    }
}

void tern_worker_apply_batches(tern_worker *w)
{
    pthread_mutex_lock(&w->inbox_mu);
    tern_batch *batches = w->batches;
    w->batches = w->batches_tail = NULL;
    pthread_mutex_unlock(&w->inbox_mu);
    apply_batches(w, batches);
}

static void drain_inbox(tern_worker *w)
{
    pthread_mutex_lock(&w->inbox_mu);
    tern_task *tasks = w->tasks;
    tern_batch *batches = w->batches;
    w->tasks = w->tasks_tail = NULL;
    w->batches = w->batches_tail = NULL;
    pthread_mutex_unlock(&w->inbox_mu);

    apply_batches(w, batches);
    while (tasks) {
        tern_task *t = tasks;
        tasks = t->next;
        t->fn(w, t->arg);
        free(t);
    }
}

static void flush_marked(tern_worker *w)
{
    while (w->flush_head) {
        tern_client *c = w->flush_head;
        w->flush_head = c->flush_next;
        c->flush_next = NULL;
        c->in_flush = false;
        tern_client_flush(c);
    }
}

/* With `to` idle and its run lock held: apply what is queued for it
 * (earlier batches first, so every producer's order holds), then this
 * batch, and write the touched connections out. */
static void apply_directly(tern_worker *to, tern_buf *q)
{
    pthread_mutex_lock(&to->inbox_mu);
    tern_batch *batches = to->batches;
    to->batches = to->batches_tail = NULL;
    pthread_mutex_unlock(&to->inbox_mu);
    while (batches) {
        tern_batch *b = batches;
        batches = b->next;
        tern_client_deliver_batch(to, b->buf.data, b->buf.len);
        tern_buf_free(&b->buf);
        free(b);
    }
    tern_client_deliver_batch(to, q->data, q->len);
    q->len = 0;
    flush_marked(to);
}

/* Hand this iteration's framed deliveries to their workers. */
static void hand_over(tern_worker *w)
{
    tern_server *s = w->srv;
    for (int i = 0; i < s->nworkers; i++) {
        tern_buf *q = &w->outq[i];
        if (q->len == 0)
            continue;
        tern_worker *to = &s->workers[i];
        if (pthread_mutex_trylock(&to->run_mu) == 0) {
            if (to->stopping) { /* its loop is ending: leave it to free */
                pthread_mutex_unlock(&to->run_mu);
                goto queue;
            }
            apply_directly(to, q);
            bool wake = to->needs_wake;
            to->needs_wake = false;
            pthread_mutex_unlock(&to->run_mu);
            if (wake) /* closes were started: its loop must run them */
                uv_async_send(&to->wake);
            tern_buf_reset(q, 1 << 20);
            continue;
        }
    queue:;
        tern_batch *b = tern_xmalloc(sizeof *b);
        b->next = NULL;
        b->buf = *q;
        *q = (tern_buf){0};
        push_batch(to, b);
    }
}

/* ---- reclamation -------------------------------------------------------- */

static void on_reclaim_timer(uv_timer_t *t);

void tern_worker_retire(tern_worker *w, tern_retired *r)
{
    r->next = NULL;
    r->epoch = tern_epoch_advance(&w->srv->epoch);
    if (w->retired_tail)
        w->retired_tail->next = r;
    else
        w->retired = r;
    w->retired_tail = r;
}

static void reclaim(tern_worker *w, uint64_t safe)
{
    while (w->retired && w->retired->epoch <= safe) {
        tern_retired *r = w->retired;
        w->retired = r->next;
        if (!w->retired)
            w->retired_tail = NULL;
        r->free_fn(r);
    }
    if (w->retired && !w->stopping) {
        if (!uv_is_active((uv_handle_t *)&w->reclaim_timer))
            uv_timer_start(&w->reclaim_timer, on_reclaim_timer, RECLAIM_NUDGE_MS,
                           RECLAIM_NUDGE_MS);
    } else if (uv_is_active((uv_handle_t *)&w->reclaim_timer)) {
        uv_timer_stop(&w->reclaim_timer);
    }
}

/* Workers blocked in poll pass no quiescent point: wake the ones that
 * hold back the oldest retired object. The check phase after this timer
 * reclaims what became safe. */
static void on_reclaim_timer(uv_timer_t *t)
{
    tern_worker *w = t->data;
    if (!w->retired)
        return;
    tern_server *s = w->srv;
    uint64_t need = w->retired->epoch;
    for (int i = 0; i < s->nworkers; i++)
        if (i != w->id && atomic_load_explicit(&s->epoch.seen[i], memory_order_acquire) < need)
            uv_async_send(&s->workers[i].wake);
}

/* ---- the loop ------------------------------------------------------------ */

static void on_wake(uv_async_t *h)
{
    drain_inbox(h->data);
}

static void on_check(uv_check_t *h)
{
    tern_worker *w = h->data;
    tern_server *s = w->srv;
    /* Read what the others have seen before draining: anything they
     * handed over before their quiescent point is in the inbox by then. */
    uint64_t safe = tern_epoch_safe(&s->epoch, w->id);
    drain_inbox(w);
    hand_over(w);
    tern_modconn_worker_check(w); /* modules' connections and link batches */
    flush_marked(w); /* one write per marked connection per batch */
    tern_accounts_quiesce(&s->accounts, w->id);
    tern_epoch_quiesce(&s->epoch, w->id);
    reclaim(w, safe);
}

/* Writes that stay blocked past write_deadline: the peer does not read,
 * so it is a slow consumer (nats-server closes it likewise). */
static void on_deadline_timer(uv_timer_t *t)
{
    tern_worker *w = t->data;
    uint64_t now = uv_now(&w->loop);
    uint64_t deadline = (uint64_t)w->srv->opts.write_deadline_ms;
    tern_client *c = w->blocked;
    while (c) {
        tern_client *next = c->bnext;
        if (now - c->write_start_ms >= deadline) {
            atomic_fetch_add_explicit(&w->stats.slow_consumers, 1, memory_order_relaxed);
            tern_client_close(c, TERN_CLOSE_SLOW_DEADLINE);
        }
        c = next;
    }
}

/* The loop, run one iteration at a time under run_mu, waiting for events
 * outside it (libuv's embedding interface: the backend fd and timeout). */
static void thread_main(void *arg)
{
    tern_worker *w = arg;
    current_worker = w;
    int epfd = uv_backend_fd(&w->loop);
    for (;;) {
        pthread_mutex_lock(&w->run_mu);
        uv_run(&w->loop, UV_RUN_NOWAIT);
        bool alive = uv_loop_alive(&w->loop);
        int timeout = uv_backend_timeout(&w->loop);
        pthread_mutex_unlock(&w->run_mu);
        if (!alive)
            break;
        struct pollfd pfd = {.fd = epfd, .events = POLLIN};
        poll(&pfd, 1, timeout);
    }
    current_worker = NULL;
}

int tern_worker_init(tern_worker *w, tern_server *srv, int id)
{
    w->srv = srv;
    w->id = id;
    if (uv_loop_init(&w->loop) != 0)
        return -1;
    pthread_mutex_init(&w->inbox_mu, NULL);
    pthread_mutex_init(&w->run_mu, NULL);
    w->rbuf_size = WORKER_RBUF_SIZE;
    w->rbuf = tern_xmalloc(w->rbuf_size);
    w->outq = tern_xcalloc((size_t)srv->nworkers, sizeof *w->outq);
    atomic_init(&w->nclients, 0);

    uv_check_init(&w->loop, &w->check);
    w->check.data = w;
    uv_check_start(&w->check, on_check);
    uv_unref((uv_handle_t *)&w->check);
    /* The wake handle keeps the loop alive until tern_worker_stop. */
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    uv_timer_init(&w->loop, &w->deadline_timer);
    w->deadline_timer.data = w;
    uint64_t tick = (uint64_t)srv->opts.write_deadline_ms / 4;
    if (tick < 50)
        tick = 50;
    if (tick > 1000)
        tick = 1000;
    uv_timer_start(&w->deadline_timer, on_deadline_timer, tick, tick);
    uv_unref((uv_handle_t *)&w->deadline_timer);
    uv_timer_init(&w->loop, &w->reclaim_timer);
    w->reclaim_timer.data = w;
    uv_unref((uv_handle_t *)&w->reclaim_timer);
    return 0;
}

int tern_worker_start(tern_worker *w)
{
    return uv_thread_create(&w->thread, thread_main, w);
}

static void stop_task(tern_worker *w, void *arg)
{
    (void)arg;
    w->stopping = true;
    tern_client *c = w->clients;
    while (c) {
        tern_client *next = c->next;
        tern_client_close(c, TERN_CLOSE_SERVER_SHUTDOWN);
        c = next;
    }
    uv_timer_stop(&w->deadline_timer);
    uv_timer_stop(&w->reclaim_timer);
    /* The loop ends once the connections' handles are closed. */
    uv_unref((uv_handle_t *)&w->wake);
}

void tern_worker_stop(tern_worker *w)
{
    tern_worker_post(w, stop_task, NULL);
}

static void close_cb_noop(uv_handle_t *h)
{
    (void)h;
}

void tern_worker_free(tern_worker *w)
{
    /* The thread is gone: finish on this thread what is left. */
    w->stopping = true;
    drain_inbox(w);
    uv_close((uv_handle_t *)&w->check, close_cb_noop);
    uv_close((uv_handle_t *)&w->wake, close_cb_noop);
    uv_close((uv_handle_t *)&w->deadline_timer, close_cb_noop);
    uv_close((uv_handle_t *)&w->reclaim_timer, close_cb_noop);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    while (w->retired) {
        tern_retired *r = w->retired;
        w->retired = r->next;
        r->free_fn(r);
    }
    w->retired_tail = NULL;
    for (int i = 0; i < w->srv->nworkers; i++)
        tern_buf_free(&w->outq[i]);
    free(w->outq);
    free(w->rbuf);
    pthread_mutex_destroy(&w->inbox_mu);
    pthread_mutex_destroy(&w->run_mu);
}

void tern_worker_mark_flush(tern_worker *w, tern_client *c)
{
    if (c->in_flush)
        return;
    c->in_flush = true;
    c->flush_next = w->flush_head;
    w->flush_head = c;
}

#include "worker.h"

#include <stdlib.h>

#include "account.h"
#include "client.h"
#include "server.h"
#include "xalloc.h"

#define WORKER_RBUF_SIZE (64 * 1024)

static void on_check(uv_check_t *h)
{
    tern_worker *w = h->data;
    /* One write per marked connection per batch. */
    while (w->flush_head) {
        tern_client *c = w->flush_head;
        w->flush_head = c->flush_next;
        c->flush_next = NULL;
        c->flags &= ~TERN_CF_IN_FLUSH;
        if (!(c->flags & TERN_CF_CLOSING))
            tern_client_flush(c);
    }
    /* Quiescent point: nothing from this iteration is referenced now. */
    tern_sublist_cache_quiesce(tern_account_cache(w->srv->gacc, w->id));
    while (w->retired) {
        tern_csub *s = w->retired;
        w->retired = s->retire_next;
        tern_csub_free(s);
    }
}

/* Writes that stay blocked past write_deadline: the peer does not read,
 * so it is a slow consumer (nats-server closes it likewise). */
static void on_deadline_timer(uv_timer_t *t)
{
    tern_worker *w = t->data;
    uint64_t now = uv_now(w->loop);
    uint64_t deadline = (uint64_t)w->srv->opts.write_deadline_ms;
    tern_client *c = w->blocked;
    while (c) {
        tern_client *next = c->bnext;
        if (now - c->write_start_ms >= deadline) {
            w->stats.slow_consumers++;
            tern_client_close(c, TERN_CLOSE_SLOW_DEADLINE);
        }
        c = next;
    }
}

int tern_worker_init(tern_worker *w, tern_server *srv, uv_loop_t *loop, int id)
{
    w->srv = srv;
    w->loop = loop;
    w->id = id;
    w->rbuf_size = WORKER_RBUF_SIZE;
    w->rbuf = tern_xmalloc(w->rbuf_size);
    uv_check_init(loop, &w->check);
    w->check.data = w;
    uv_check_start(&w->check, on_check);
    uv_timer_init(loop, &w->deadline_timer);
    w->deadline_timer.data = w;
    uint64_t tick = (uint64_t)srv->opts.write_deadline_ms / 4;
    if (tick < 50)
        tick = 50;
    if (tick > 1000)
        tick = 1000;
    uv_timer_start(&w->deadline_timer, on_deadline_timer, tick, tick);
    uv_unref((uv_handle_t *)&w->deadline_timer);
    return 0;
}

void tern_worker_close(tern_worker *w)
{
    uv_check_stop(&w->check);
    uv_close((uv_handle_t *)&w->check, NULL);
    uv_timer_stop(&w->deadline_timer);
    uv_close((uv_handle_t *)&w->deadline_timer, NULL);
}

void tern_worker_free(tern_worker *w)
{
    while (w->retired) {
        tern_csub *s = w->retired;
        w->retired = s->retire_next;
        tern_csub_free(s);
    }
    free(w->rbuf);
    w->rbuf = NULL;
}

void tern_worker_mark_flush(tern_worker *w, tern_client *c)
{
    if (c->flags & TERN_CF_IN_FLUSH)
        return;
    c->flags |= TERN_CF_IN_FLUSH;
    c->flush_next = w->flush_head;
    w->flush_head = c;
}

void tern_worker_retire_sub(tern_worker *w, tern_csub *s)
{
    s->retire_next = w->retired;
    w->retired = s;
}

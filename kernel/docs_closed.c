/* The ring of recently closed connections behind connz?state=closed:
 * nats-server keeps the last max_closed_clients (10,000) with their
 * subscriptions, counters, stop time and reason. One per process, like
 * the server; closes are rare next to messages, so a mutex is enough. */
#include "docs_int.h"

#include <pthread.h>
#include <uv.h>

#include "client.h"
#include "worker.h"
#include "xalloc.h"

static pthread_mutex_t ring_mu = PTHREAD_MUTEX_INITIALIZER;
static tern_docs_conn *ring;      /* cap slots */
static size_t ring_cap;
static size_t ring_max = TERN_DOCS_MAX_CLOSED;
static size_t ring_head;          /* oldest */
static size_t ring_len;

/* Resize to max slots, keeping the newest entries (lock held). */
static void ring_resize(size_t max)
{
    tern_docs_conn *next = max ? tern_xcalloc(max, sizeof *next) : NULL;
    size_t keep = ring_len < max ? ring_len : max;
    size_t drop = ring_len - keep;
    for (size_t i = 0; i < ring_len; i++) {
        tern_docs_conn *c = &ring[(ring_head + i) % ring_cap];
        if (i < drop)
            tern_docs_conn_clear(c);
        else
            next[i - drop] = *c;
    }
    free(ring);
    ring = next;
    ring_cap = max;
    ring_head = 0;
    ring_len = keep;
}

void tern_docs_closed_configure(size_t max)
{
    pthread_mutex_lock(&ring_mu);
    ring_max = max;
    if (ring || max == 0)
        ring_resize(max);
    pthread_mutex_unlock(&ring_mu);
}

void tern_docs_closed_add(const tern_client *c)
{
    tern_docs_conn rec;
    int64_t now = tern_docs_now_ns();
    tern_docs_conn_fill(&rec, c, now, uv_now(&c->w->loop), true);
    rec.stop_ns = now;
    rec.reason = tern_close_reason_str(c->close_reason);
    pthread_mutex_lock(&ring_mu);
    if (ring_max == 0) {
        pthread_mutex_unlock(&ring_mu);
        tern_docs_conn_clear(&rec);
        return;
    }
    if (!ring)
        ring_resize(ring_max);
    tern_docs_conn old = {0};
    if (ring_len == ring_cap) { /* full: the oldest goes */
        old = ring[ring_head];
        ring[ring_head] = rec;
        ring_head = (ring_head + 1) % ring_cap;
    } else {
        ring[(ring_head + ring_len) % ring_cap] = rec;
        ring_len++;
    }
    pthread_mutex_unlock(&ring_mu);
    tern_docs_conn_clear(&old);
}

size_t tern_docs_closed_copy(tern_docs_conn **out)
{
    pthread_mutex_lock(&ring_mu);
    size_t n = ring_len;
    *out = tern_xcalloc(n ? n : 1, sizeof **out);
    for (size_t i = 0; i < n; i++)
        tern_docs_conn_copy(&(*out)[i], &ring[(ring_head + i) % ring_cap]);
    pthread_mutex_unlock(&ring_mu);
    return n;
}

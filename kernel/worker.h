/* A worker: one thread with one libuv loop that owns a set of
 * connections. Everything a connection does — parsing, delivery into its
 * outbound buffer, flushing, timers, closing — happens on its worker.
 *
 * Per loop iteration: reads and timers run; deliveries to this worker's
 * connections are appended directly, deliveries to another worker's
 * connections are framed into a batch for that worker. Then the check
 * phase drains the inbox (other workers' batches and control tasks),
 * hands this iteration's batches over, flushes every marked connection
 * once and passes the worker's quiescent point, where retired
 * subscriptions and connections whose grace period is over are freed
 * (epoch.h).
 *
 * Hand-over is one lock per target worker and batch, never per message:
 * when the target is idle (its run lock is free) the batch is applied to
 * its connections and written out right away by the producing thread —
 * as nats-server's readLoop flushes other clients' sockets itself — and
 * otherwise queued in the target's inbox with a wake-up. */
#ifndef TERN_WORKER_H
#define TERN_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "epoch.h"

typedef struct tern_server tern_server;
typedef struct tern_client tern_client;
typedef struct tern_csub tern_csub;
typedef struct tern_worker tern_worker;

typedef struct tern_worker_stats {
    _Atomic uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
    _Atomic uint64_t slow_consumers;
} tern_worker_stats;

/* A control task run on the worker's thread. */
typedef struct tern_task {
    struct tern_task *next;
    void            (*fn)(tern_worker *w, void *arg);
    void             *arg;
} tern_task;

/* Deliveries framed by one worker for another's connections. */
typedef struct tern_batch {
    struct tern_batch *next;
    tern_buf           buf;
} tern_batch;

struct tern_worker {
    tern_server *srv;
    uv_loop_t    loop;
    uv_thread_t  thread;
    int          id;
    uv_check_t   check;          /* end of iteration: drain, hand over,
                                    flush, quiesce */
    uv_async_t   wake;           /* inbox has work / reclaim nudge */
    uv_timer_t   deadline_timer; /* write deadlines of blocked writers */
    uv_timer_t   reclaim_timer;  /* retired objects still waiting */
    tern_client *flush_head;     /* connections with output to write */
    tern_client *clients;        /* every connection on this worker */
    tern_client *blocked;        /* connections with a write in flight */
    _Atomic size_t nclients;
    tern_retired *retired;       /* oldest first */
    tern_retired *retired_tail;
    tern_buf    *outq;           /* per target worker: framed deliveries */
    char        *rbuf;           /* shared read buffer: the parser copies
                                    whatever it must keep across reads */
    size_t       rbuf_size;
    uint64_t     now_ms;         /* loop time at the start of the batch */
    bool         stopping;
    tern_worker_stats stats;

    /* Held by the worker's thread while it runs its loop (not while it
     * waits for events). Another worker that takes it with trylock may
     * apply its batch to this worker's connections directly and write
     * them out: no wake-up hop when this worker is idle. */
    pthread_mutex_t run_mu;
    bool         needs_wake;     /* set under run_mu by a visitor */

    pthread_mutex_t inbox_mu;    /* guards the two lists below */
    tern_task   *tasks, *tasks_tail;
    tern_batch  *batches, *batches_tail;
};

/* Create the loop and handles (on the caller's thread), then start. */
int  tern_worker_init(tern_worker *w, tern_server *srv, int id);
int  tern_worker_start(tern_worker *w);
/* After the thread has ended. */
void tern_worker_free(tern_worker *w);

/* Deliver the batches other workers have handed to w so far (w's thread).
 * A client's PING calls it before its PONG: messages published before the
 * PING was sent (another connection's PONG proved them routed) must reach
 * the client before the PONG, as nats-server's synchronous delivery does. */
void tern_worker_apply_batches(tern_worker *w);

/* Run fn(w, arg) on w's thread (any thread may call). */
void tern_worker_post(tern_worker *w, void (*fn)(tern_worker *, void *), void *arg);
/* Ask the worker to close its connections and end its loop. */
void tern_worker_stop(tern_worker *w);

void tern_worker_mark_flush(tern_worker *w, tern_client *c);
/* Retire an object unlinked by this worker: freed after a grace period. */
void tern_worker_retire(tern_worker *w, tern_retired *r);

/* The worker running on this thread, or NULL (main thread). */
tern_worker *tern_worker_current(void);

#endif

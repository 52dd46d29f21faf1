/* A worker: one libuv loop that owns a set of connections. Everything a
 * connection does — parsing, delivery into local outbound buffers,
 * flushing, timers, closing — happens on its worker's thread.
 *
 * Per loop iteration: reads and timers run, deliveries mark connections
 * for flush, then the check phase flushes every marked connection once
 * (one write each) and passes the worker's quiescent point, where retired
 * subscriptions and sublist results are freed. */
#ifndef TERN_WORKER_H
#define TERN_WORKER_H

#include <stdint.h>
#include <uv.h>

typedef struct tern_server tern_server;
typedef struct tern_client tern_client;
typedef struct tern_csub tern_csub;

typedef struct tern_worker_stats {
    uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
    uint64_t slow_consumers;
} tern_worker_stats;

typedef struct tern_worker {
    tern_server *srv;
    uv_loop_t   *loop;
    int          id;
    uv_check_t   check;          /* end of iteration: flush + quiesce */
    uv_timer_t   deadline_timer; /* write deadlines of blocked writers */
    tern_client *flush_head;     /* connections with output to write */
    tern_client *clients;        /* every connection on this worker */
    tern_client *blocked;        /* connections with a write in flight */
    size_t       nclients;
    tern_csub   *retired;        /* removed subscriptions, freed at quiesce */
    char        *rbuf;           /* shared read buffer: the parser copies
                                    whatever it must keep across reads */
    size_t       rbuf_size;
    uint64_t     now_ms;         /* loop time at the start of the batch */
    tern_worker_stats stats;
} tern_worker;

int  tern_worker_init(tern_worker *w, tern_server *srv, uv_loop_t *loop, int id);
/* Close the worker's handles (connections must be gone). */
void tern_worker_close(tern_worker *w);
/* Free what remains after the loop has run the close callbacks. */
void tern_worker_free(tern_worker *w);

void tern_worker_mark_flush(tern_worker *w, tern_client *c);
void tern_worker_retire_sub(tern_worker *w, tern_csub *s);

#endif

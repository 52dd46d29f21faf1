/* Epoch-based reclamation across worker threads.
 *
 * Workers share pointers to each other's subscriptions and connections
 * (through sublist results and cross-worker delivery batches) without
 * locks. An object that is unlinked is retired with the next global
 * epoch; it is freed once every worker has passed a quiescent point (the
 * end of a loop iteration) after that, i.e. once every worker's `seen`
 * epoch has reached it. Idle workers are nudged so that reclamation never
 * waits on a worker blocked in poll. */
#ifndef TERN_EPOCH_H
#define TERN_EPOCH_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct tern_retired {
    struct tern_retired *next;
    uint64_t             epoch;
    void               (*free_fn)(struct tern_retired *r);
} tern_retired;

typedef struct tern_epoch {
    _Atomic uint64_t  global;
    _Atomic uint64_t *seen;     /* per worker: the global epoch at its last
                                   quiescent point */
    int               nworkers;
} tern_epoch;

void tern_epoch_init(tern_epoch *e, int nworkers);
void tern_epoch_free(tern_epoch *e);

/* A new epoch for an object retired now. */
static inline uint64_t tern_epoch_advance(tern_epoch *e)
{
    return atomic_fetch_add_explicit(&e->global, 1, memory_order_acq_rel) + 1;
}

/* Worker `id` passes a quiescent point. */
static inline void tern_epoch_quiesce(tern_epoch *e, int id)
{
    atomic_store_explicit(&e->seen[id],
                          atomic_load_explicit(&e->global, memory_order_acquire),
                          memory_order_release);
}

/* The oldest epoch every worker other than `self` has seen; objects
 * retired at or before it are unreachable for them. */
uint64_t tern_epoch_safe(tern_epoch *e, int self);

#endif

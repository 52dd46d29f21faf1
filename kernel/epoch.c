#include "epoch.h"

#include <stdlib.h>

#include "xalloc.h"

void tern_epoch_init(tern_epoch *e, int nworkers)
{
    atomic_init(&e->global, 1);
    e->nworkers = nworkers;
    e->seen = tern_xcalloc((size_t)nworkers, sizeof *e->seen);
    for (int i = 0; i < nworkers; i++)
        atomic_init(&e->seen[i], 1);
}

void tern_epoch_free(tern_epoch *e)
{
    free((void *)e->seen);
    e->seen = NULL;
}

uint64_t tern_epoch_safe(tern_epoch *e, int self)
{
    uint64_t min = UINT64_MAX;
    for (int i = 0; i < e->nworkers; i++) {
        if (i == self)
            continue;
        uint64_t s = atomic_load_explicit(&e->seen[i], memory_order_acquire);
        if (s < min)
            min = s;
    }
    return min;
}

/* An account: an isolated subject space with its own sublist. Without
 * configured accounts every client is in the global account "$G". */
#ifndef TERN_ACCOUNT_H
#define TERN_ACCOUNT_H

#include "sublist.h"

#define TERN_GLOBAL_ACCOUNT "$G"

typedef struct tern_account {
    char               *name;
    tern_sublist       *sl;
    tern_sublist_cache **caches;  /* one per worker: matching never shares
                                     state between workers */
    int                 nworkers;
} tern_account;

tern_account *tern_account_new(const char *name, int nworkers);
void tern_account_free(tern_account *a);

static inline tern_sublist_cache *tern_account_cache(tern_account *a, int worker)
{
    return a->caches[worker];
}

#endif

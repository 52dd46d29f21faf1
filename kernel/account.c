#include "account.h"

#include "xalloc.h"

#define ACCOUNT_CACHE_ENTRIES 4096

tern_account *tern_account_new(const char *name, int nworkers)
{
    tern_account *a = tern_xcalloc(1, sizeof *a);
    a->name = tern_xstrdup(name);
    a->sl = tern_sublist_new();
    a->nworkers = nworkers;
    a->caches = tern_xcalloc((size_t)nworkers, sizeof *a->caches);
    for (int i = 0; i < nworkers; i++)
        a->caches[i] = tern_sublist_cache_new(ACCOUNT_CACHE_ENTRIES);
    return a;
}

void tern_account_free(tern_account *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nworkers; i++)
        tern_sublist_cache_free(a->caches[i]);
    free(a->caches);
    tern_sublist_free(a->sl);
    free(a->name);
    free(a);
}

#include "account.h"

#include <string.h>

#include "imports.h"
#include "xalloc.h"

#define ACCOUNT_CACHE_ENTRIES 4096

/* ---- configuration ------------------------------------------------------ */

tern_accounts_conf *tern_accounts_conf_new(void)
{
    tern_accounts_conf *c = tern_xcalloc(1, sizeof *c);
    c->refs = 1;
    c->system = -1;
    tern_accounts_conf_add(c, TERN_GLOBAL_ACCOUNT);
    return c;
}

tern_accounts_conf *tern_accounts_conf_ref(tern_accounts_conf *c)
{
    if (c)
        __atomic_fetch_add(&c->refs, 1, __ATOMIC_RELAXED);
    return c;
}

void tern_accounts_conf_unref(tern_accounts_conf *c)
{
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (size_t i = 0; i < c->n; i++) {
        tern_account_conf *a = &c->accs[i];
        for (size_t k = 0; k < a->nexports; k++) {
            free(a->exports[k].subject);
            for (size_t j = 0; j < a->exports[k].naccounts; j++)
                free(a->exports[k].accounts[j]);
            free(a->exports[k].accounts);
        }
        free(a->exports);
        for (size_t k = 0; k < a->nimports; k++) {
            free(a->imports[k].subject);
            free(a->imports[k].local);
        }
        free(a->imports);
        free(a->name);
    }
    free(c->accs);
    free(c);
}

int tern_accounts_conf_find(const tern_accounts_conf *c, const char *name)
{
    for (size_t i = 0; c && i < c->n; i++)
        if (!strcmp(c->accs[i].name, name))
            return (int)i;
    return -1;
}

int tern_accounts_conf_add(tern_accounts_conf *c, const char *name)
{
    c->accs = tern_xrealloc(c->accs, (c->n + 1) * sizeof *c->accs);
    tern_account_conf *a = &c->accs[c->n];
    memset(a, 0, sizeof *a);
    a->name = tern_xstrdup(name);
    a->max_connections = a->max_subscriptions = a->max_payload = -1;
    return (int)c->n++;
}

/* ---- runtime ------------------------------------------------------------ */

tern_account *tern_account_new(const char *name, int nworkers)
{
    tern_account *a = tern_xcalloc(1, sizeof *a);
    a->name = tern_xstrdup(name);
    a->sl = tern_sublist_new();
    a->nworkers = nworkers;
    a->caches = tern_xcalloc((size_t)nworkers, sizeof *a->caches);
    for (int i = 0; i < nworkers; i++)
        a->caches[i] = tern_sublist_cache_new(ACCOUNT_CACHE_ENTRIES);
    a->max_connections = a->max_subscriptions = a->max_payload = -1;
    return a;
}

void tern_account_free(tern_account *a)
{
    if (!a)
        return;
    tern_imports_account_free(a);
    for (int i = 0; i < a->nworkers; i++)
        tern_sublist_cache_free(a->caches[i]);
    free(a->caches);
    tern_sublist_free(a->sl);
    free(a->name);
    free(a);
}

void tern_accounts_build(tern_accounts *r, tern_accounts_conf *conf, int nworkers)
{
    memset(r, 0, sizeof *r);
    if (conf) {
        r->conf = tern_accounts_conf_ref(conf);
    } else {
        r->conf = tern_accounts_conf_new();
        r->conf->system = tern_accounts_conf_add(r->conf, TERN_SYSTEM_ACCOUNT);
    }
    conf = r->conf;
    r->n = conf->n;
    r->accs = tern_xcalloc(r->n, sizeof *r->accs);
    for (size_t i = 0; i < r->n; i++) {
        const tern_account_conf *ac = &conf->accs[i];
        tern_account *a = tern_account_new(ac->name, nworkers);
        a->index = (int)i;
        a->conf = ac;
        a->reg = r;
        a->max_connections = ac->max_connections;
        a->max_subscriptions = ac->max_subscriptions;
        a->max_payload = ac->max_payload;
        r->accs[i] = a;
    }
    r->global = r->accs[0];
    r->system = conf->system >= 0 ? r->accs[conf->system] : NULL;
    tern_imports_build(r);
}

void tern_accounts_free(tern_accounts *r)
{
    for (size_t i = 0; i < r->n; i++)
        tern_account_free(r->accs[i]);
    free(r->accs);
    tern_accounts_conf_unref(r->conf);
    memset(r, 0, sizeof *r);
}

void tern_accounts_quiesce(tern_accounts *r, int worker)
{
    for (size_t i = 0; i < r->n; i++)
        tern_sublist_cache_quiesce(r->accs[i]->caches[worker]);
}

tern_account *tern_accounts_find(const tern_accounts *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->accs[i]->name, name))
            return r->accs[i];
    return NULL;
}

#include "account.h"

#include <stdlib.h>
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

void tern_account_conf_clear(tern_account_conf *a)
{
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
    for (size_t k = 0; k < a->nmappings; k++) {
        free(a->mappings[k].src);
        for (size_t j = 0; j < a->mappings[k].ndests; j++)
            free(a->mappings[k].dests[j].subject);
        free(a->mappings[k].dests);
    }
    free(a->mappings);
    free(a->name);
    memset(a, 0, sizeof *a);
}

void tern_accounts_conf_unref(tern_accounts_conf *c)
{
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (size_t i = 0; i < c->n; i++)
        tern_account_conf_clear(&c->accs[i]);
    free(c->accs);
    free(c);
}

static void clone_account(tern_account_conf *d, const tern_account_conf *a)
{
    *d = *a;
    d->name = tern_xstrdup(a->name);
    d->exports = a->nexports ? tern_xcalloc(a->nexports, sizeof *d->exports) : NULL;
    for (size_t k = 0; k < a->nexports; k++) {
        const tern_export_conf *x = &a->exports[k];
        d->exports[k] = *x;
        d->exports[k].subject = tern_xstrdup(x->subject);
        d->exports[k].accounts = x->naccounts ? tern_xcalloc(x->naccounts, sizeof(char *)) : NULL;
        for (size_t j = 0; j < x->naccounts; j++)
            d->exports[k].accounts[j] = tern_xstrdup(x->accounts[j]);
    }
    d->imports = a->nimports ? tern_xcalloc(a->nimports, sizeof *d->imports) : NULL;
    for (size_t k = 0; k < a->nimports; k++) {
        d->imports[k] = a->imports[k];
        d->imports[k].subject = tern_xstrdup(a->imports[k].subject);
        d->imports[k].local = tern_xstrdup(a->imports[k].local);
    }
    d->mappings = a->nmappings ? tern_xcalloc(a->nmappings, sizeof *d->mappings) : NULL;
    for (size_t k = 0; k < a->nmappings; k++) {
        const tern_mapping *m = &a->mappings[k];
        d->mappings[k] = *m;
        d->mappings[k].src = tern_xstrdup(m->src);
        d->mappings[k].dests = tern_xcalloc(m->ndests, sizeof *m->dests);
        for (size_t j = 0; j < m->ndests; j++) {
            d->mappings[k].dests[j] = m->dests[j];
            d->mappings[k].dests[j].subject = tern_xstrdup(m->dests[j].subject);
        }
    }
}

tern_accounts_conf *tern_accounts_conf_clone(const tern_accounts_conf *c)
{
    tern_accounts_conf *d = tern_xcalloc(1, sizeof *d);
    d->refs = 1;
    d->n = c->n;
    d->system = c->system;
    d->accs = tern_xcalloc(c->n, sizeof *d->accs);
    for (size_t i = 0; i < c->n; i++)
        clone_account(&d->accs[i], &c->accs[i]);
    /* An import's export: the same position in the copy's exporter. */
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < d->accs[i].nimports; k++) {
            tern_import_conf *imp = &d->accs[i].imports[k];
            const tern_export_conf *x = c->accs[i].imports[k].export;
            imp->export = NULL;
            if (x && imp->exporter >= 0)
                imp->export = &d->accs[imp->exporter].exports[x - c->accs[imp->exporter].exports];
        }
    }
    return d;
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
    a->stats = aligned_alloc(_Alignof(tern_account_stats),
                             (size_t)nworkers * sizeof *a->stats);
    if (!a->stats)
        abort();
    memset(a->stats, 0, (size_t)nworkers * sizeof *a->stats);
    return a;
}

void tern_account_stats_sum(const tern_account *a, uint64_t *in_msgs, uint64_t *in_bytes,
                            uint64_t *out_msgs, uint64_t *out_bytes)
{
    uint64_t t[4] = {0};
    for (int i = 0; i < a->nworkers; i++) {
        const tern_account_stats *x = &a->stats[i];
        t[0] += atomic_load_explicit(&x->in_msgs, memory_order_relaxed);
        t[1] += atomic_load_explicit(&x->in_bytes, memory_order_relaxed);
        t[2] += atomic_load_explicit(&x->out_msgs, memory_order_relaxed);
        t[3] += atomic_load_explicit(&x->out_bytes, memory_order_relaxed);
    }
    *in_msgs = t[0];
    *in_bytes = t[1];
    *out_msgs = t[2];
    *out_bytes = t[3];
}

void tern_account_free(tern_account *a)
{
    if (!a)
        return;
    tern_imports_account_free(a);
    for (int i = 0; i < a->nworkers; i++)
        tern_sublist_cache_free(a->caches[i]);
    free(a->caches);
    free(a->stats);
    tern_sublist_free(a->sl);
    free(a->name);
    free(a);
}

void tern_accounts_build(tern_accounts *r, tern_accounts_conf *conf, int nworkers)
{
    memset(r, 0, sizeof *r);
    r->nworkers = nworkers;
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
    for (size_t i = 0; i < r->ndead; i++)
        tern_account_free(r->dead[i]);
    free(r->dead);
    free(r->accs);
    for (size_t i = 0; i < r->nold; i++)
        free(r->old[i]);
    free(r->old);
    for (size_t i = 0; i < r->nold_confs; i++)
        tern_accounts_conf_unref(r->old_confs[i]);
    free(r->old_confs);
    tern_acc_specs_free(r);
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

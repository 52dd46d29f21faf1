/* A running server takes a new set of accounts (account.h,
 * tern_accounts_reload): on SIGHUP and for a module's account_apply.
 *
 * Accounts are matched by name, and the object of an account that stays
 * is kept: its sublist (so its clients keep their subscriptions), its
 * counters and its response map (so replies in flight still find their
 * requester). Everything derived from the configuration is rebuilt:
 * limits, service import subscriptions, the shadow subscriptions of
 * stream imports (for every client: an exporter's exports may have
 * changed even when the importer did not) — all while the workers are
 * paused, so no message sees half of it. Removed accounts leave the
 * registry but stay allocated until shutdown. */
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "client.h"
#include "imports.h"
#include "log.h"
#include "server.h"
#include "sysacc.h"
#include "xalloc.h"

static void keep(void ***arr, size_t *n, void *p)
{
    *arr = tern_xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = p;
}

static tern_account *take_dead(tern_accounts *r, const char *name)
{
    for (size_t i = 0; i < r->ndead; i++) {
        if (strcmp(r->dead[i]->name, name) != 0)
            continue;
        tern_account *a = r->dead[i];
        r->dead[i] = r->dead[--r->ndead];
        return a;
    }
    return NULL;
}

typedef struct close_job {
    uint64_t cid;
} close_job;

/* On the client's worker: the connection is looked up by cid, so a
 * client gone in the meantime is simply not found. */
static void close_task(tern_worker *w, void *arg)
{
    close_job *j = arg;
    for (tern_client *c = w->clients; c; c = c->next) {
        if (c->cid != j->cid)
            continue;
        if (!tern_client_has(c, TERN_CF_CLOSING)) {
            tern_client_send_err(c, "Authorization Violation");
            tern_client_close(c, TERN_CLOSE_AUTH_VIOLATION);
        }
        break;
    }
    free(j);
}

static void rebuild_shadows(tern_client *c)
{
    tern_sidmap *m = &c->subs;
    for (size_t i = 0; i < m->cap; i++) {
        tern_csub *s = m->slots[i].value;
        if (!s || s->removed)
            continue;
        tern_imports_sub_removed(c, s);
        tern_imports_sub_added(c, s);
    }
}

void tern_accounts_switch(tern_server *s, tern_accounts_conf *conf)
{
    tern_accounts *r = &s->accounts;
    tern_account **accs = tern_xcalloc(conf->n, sizeof *accs);
    bool *kept = tern_xcalloc(r->n, sizeof *kept);
    for (size_t i = 0; i < conf->n; i++) {
        const tern_account_conf *ac = &conf->accs[i];
        tern_account *a = NULL;
        for (size_t k = 0; k < r->n && !a; k++) {
            if (!kept[k] && !strcmp(r->accs[k]->name, ac->name)) {
                a = r->accs[k];
                kept[k] = true;
            }
        }
        if (!a && (a = take_dead(r, ac->name)))
            a->removed = false;
        if (!a) {
            a = tern_account_new(ac->name, r->nworkers);
            a->reg = r;
            tern_noticef("Reload: account \"%s\" added", ac->name);
        }
        a->index = (int)i;
        a->conf = ac;
        a->max_connections = ac->max_connections;
        a->max_subscriptions = ac->max_subscriptions;
        a->max_payload = ac->max_payload;
        accs[i] = a;
    }
    /* The system account is the one the events run in: it changes at the
     * next start, and stays served until then. */
    tern_account *sys = conf->system >= 0 ? accs[conf->system] : NULL;
    if (r->system && sys != r->system) {
        tern_noticef("Reload: system_account \"%s\" takes effect at the next start",
                     sys ? sys->name : "");
        sys = r->system;
    }
    for (size_t k = 0; k < r->n; k++) {
        tern_account *a = r->accs[k];
        tern_imports_account_teardown(s, a, !kept[k] && a != sys);
        if (kept[k])
            continue;
        /* Gone from the configuration; kept until shutdown. The system
         * account stays served (see above). */
        if (a != sys) {
            tern_noticef("Reload: account \"%s\" removed", a->name);
            a->removed = true;
        }
        keep((void ***)&r->dead, &r->ndead, a);
    }
    free(kept);
    keep(&r->old, &r->nold, r->accs);
    r->accs = accs;
    r->n = conf->n;
    r->global = accs[0];
    r->system = sys;
    if (r->conf)
        keep((void ***)&r->old_confs, &r->nold_confs, r->conf);
    r->conf = conf;          /* the caller's reference */
    s->gacc = r->global;
    for (size_t i = 0; i < r->n; i++)
        tern_imports_account_setup(r->accs[i]);

    for (int i = 0; i < s->nworkers; i++) {
        for (tern_client *c = s->workers[i].clients; c; c = c->next) {
            if (tern_client_has(c, TERN_CF_CLOSING))
                continue;
            if (c->acc->removed) {
                close_job *j = tern_xmalloc(sizeof *j);
                j->cid = c->cid;
                tern_worker_post(c->w, close_task, j);
                continue;
            }
            rebuild_shadows(c);
        }
    }
    tern_sysacc_accounts_changed(s);
}

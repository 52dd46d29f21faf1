/* Interest aggregation and its events (interest.h). */
#include "interest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "imports.h"
#include "keymap.h"
#include "modconn.h"
#include "module.h"
#include "module_int.h"
#include "route.h"
#include "server.h"
#include "xalloc.h"

typedef struct entry {
    tern_account *acc;
    uint32_t      source;
    uint32_t      count;
    char         *subject;
    char         *queue;       /* NULL: plain */
} entry;

static pthread_mutex_t g_mu;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static tern_keymap g_table;
static _Atomic bool g_enabled;

static void init_lock(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    /* A hook may change interest from inside its event. */
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&g_mu, &a);
    pthread_mutexattr_destroy(&a);
}

bool tern_interest_enabled(void)
{
    return atomic_load_explicit(&g_enabled, memory_order_acquire);
}

static size_t make_key(char *out, size_t cap, const tern_account *acc, uint32_t source,
                       const char *subject, size_t sl, const char *queue, size_t ql)
{
    size_t need = sizeof acc + sizeof source + sl + 1 + ql;
    if (need > cap)
        return need;
    memcpy(out, &acc, sizeof acc);
    memcpy(out + sizeof acc, &source, sizeof source);
    memcpy(out + sizeof acc + sizeof source, subject, sl);
    out[sizeof acc + sizeof source + sl] = 0;
    if (ql)
        memcpy(out + sizeof acc + sizeof source + sl + 1, queue, ql);
    return need;
}

static void entry_free(entry *e)
{
    free(e->subject);
    free(e->queue);
    free(e);
}

/* Apply delta to a key and tell the hooks; g_mu held. events: false
 * while counting what existed before the counts were kept. */
static void apply(tern_account *acc, uint32_t source, const char *subject, size_t sl,
                  const char *queue, size_t ql, int64_t delta, bool events)
{
    if (!delta)
        return;
    char small[256];
    size_t klen = make_key(small, sizeof small, acc, source, subject, sl, queue, ql);
    char *key = klen <= sizeof small ? small : tern_xmalloc(klen);
    if (key != small)
        make_key(key, klen, acc, source, subject, sl, queue, ql);
    entry *e = tern_keymap_get(&g_table, key, klen);
    if (!e) {
        if (delta < 0)
            goto out;     /* never counted (cannot happen once enabled) */
        e = tern_xcalloc(1, sizeof *e);
        e->acc = acc;
        e->source = source;
        e->subject = tern_xstrndup(subject, sl);
        e->queue = queue ? tern_xstrndup(queue, ql) : NULL;
        tern_keymap_put(&g_table, key, klen, e);
    }
    uint32_t before = e->count;
    int64_t now = (int64_t)before + delta;
    e->count = now > 0 ? (uint32_t)now : 0;
    if (events && tern_module_interest_hooked()) {
        if (e->count == 0)
            tern_module_interest_event(TERN_EVT_INTEREST_REMOVED, acc->name, e->subject,
                                       e->queue, 0, source);
        else if (before == 0 || e->queue)
            tern_module_interest_event(TERN_EVT_INTEREST_ADDED, acc->name, e->subject, e->queue,
                                       e->count, source);
    }
    if (e->count == 0)
        entry_free(tern_keymap_take(&g_table, key, klen));
out:
    if (key != small)
        free(key);
}

/* The account a local subscription belongs to. */
static tern_account *account_of_sub(const tern_sub *sub)
{
    switch (sub->kind) {
    case TERN_SUB_CLIENT:
        return ((tern_client *)sub->owner)->acc;
    case TERN_SUB_INTERNAL:
        return ((const tern_isub *)sub)->acc;
    case TERN_SUB_SHADOW:
        return ((const tern_shadow *)sub)->exporter;
    default:
        return NULL;   /* links report their own (weights) */
    }
}

static void local_change(const tern_sub *sub, int64_t delta, bool events)
{
    tern_account *acc = account_of_sub(sub);
    if (!acc)
        return;
    bool q = sub->queue && sub->queue_len;
    apply(acc, 0, sub->subject, sub->subject_len, q ? sub->queue : NULL, q ? sub->queue_len : 0,
          q ? delta * (sub->weight > 0 ? sub->weight : 1) : delta, events);
}

/* The sublist's observer: after every insert and remove, any thread. */
static void observe(const tern_sub *sub, bool added)
{
    pthread_mutex_lock(&g_mu);
    if (atomic_load_explicit(&g_enabled, memory_order_relaxed))
        local_change(sub, added ? 1 : -1, true);
    pthread_mutex_unlock(&g_mu);
}

static void count_existing(tern_sub *sub, void *arg)
{
    (void)arg;
    local_change(sub, 1, false);
}

void tern_interest_enable(void)
{
    pthread_once(&g_once, init_lock);
    if (tern_interest_enabled())
        return;
    tern_server *s = tern_mod_srv;
    bool pause = s && s->workers_started;
    /* Nothing may subscribe between the observer going in and the count
     * of what exists: the workers wait meanwhile (the main thread is
     * here). */
    if (pause)
        tern_server_pause_workers(s);
    pthread_mutex_lock(&g_mu);
    atomic_store_explicit(&g_enabled, true, memory_order_release);
    tern_sublist_set_observer(observe);
    for (size_t i = 0; s && i < s->accounts.n; i++)
        tern_sublist_walk(s->accounts.accs[i]->sl, count_existing, NULL);
    pthread_mutex_unlock(&g_mu);
    if (pause)
        tern_server_resume_workers(s);
}

void tern_interest_delta(tern_account *acc, const char *subject, size_t sl, const char *queue,
                         size_t ql, uint32_t source, int32_t delta)
{
    pthread_mutex_lock(&g_mu);
    if (atomic_load_explicit(&g_enabled, memory_order_relaxed))
        apply(acc, source, subject, sl, queue, ql, delta, true);
    pthread_mutex_unlock(&g_mu);
}

/* Whether entry e is from the wanted source: local (name NULL) or a
 * protocol of that name (any generation of its module). */
static bool source_is(const entry *e, const char *name)
{
    if (!name)
        return e->source == 0;
    const char *have = e->source ? tern_modconn_proto_name(e->source) : NULL;
    return have && !strcmp(have, name);
}

/* Orders snapshot entries by (account, subject, queue). */
static int key_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->acc != y->acc)
        return (uintptr_t)x->acc < (uintptr_t)y->acc ? -1 : 1;
    int c = strcmp(x->subject, y->subject);
    if (c || (!x->queue && !y->queue))
        return c;
    if (!x->queue || !y->queue)
        return x->queue ? 1 : -1;
    return strcmp(x->queue, y->queue);
}

static tern_rc walk(tern_module *m, const char *what, const char *account,
                    const char *source_name, tern_interest_fn fn, void *ud)
{
    if (!fn)
        return TERN_EINVAL;
    if (!tern_interest_enabled()) {
        tern_mod_set_error(m, "%s: interest is counted once a LINK protocol or an "
                              "interest hook is registered", what);
        return TERN_ENOTSUP;
    }
    if (source_name && !tern_modconn_proto_known(source_name)) {
        tern_mod_set_error(m, "%s: no protocol \"%s\" is registered", what, source_name);
        return TERN_ENOENT;
    }
    tern_account *only = NULL;
    if (account && *account) {
        only = tern_mod_srv ? tern_accounts_find(&tern_mod_srv->accounts, account) : NULL;
        if (!only)
            return TERN_ENOENT;
    }
    /* Under the lock, so that no event of a walked key overtakes the
     * walk; from a copy, so that fn may change interest meanwhile. Two
     * generations of a protocol count apart: sum them per key. */
    pthread_mutex_lock(&g_mu);
    size_t n = 0;
    entry *snap = tern_xcalloc(g_table.n + 1, sizeof *snap);
    for (size_t i = 0; i < g_table.cap; i++) {
        entry *e = g_table.slots[i].key ? g_table.slots[i].value : NULL;
        if (!e || !source_is(e, source_name) || (only && e->acc != only))
            continue;
        snap[n] = *e;
        snap[n].subject = tern_xstrdup(e->subject);
        snap[n].queue = e->queue ? tern_xstrdup(e->queue) : NULL;
        n++;
    }
    if (source_name && n > 1)
        qsort(snap, n, sizeof *snap, key_cmp);
    for (size_t i = 0; i < n; i++) {
        uint64_t sum = snap[i].count;
        while (i + 1 < n && key_cmp(&snap[i], &snap[i + 1]) == 0) {
            sum += snap[i + 1].count;
            free(snap[i].subject);
            free(snap[i].queue);
            i++;
        }
        fn(snap[i].acc->name, snap[i].subject, snap[i].queue,
           sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum, ud);
        free(snap[i].subject);
        free(snap[i].queue);
    }
    free(snap);
    pthread_mutex_unlock(&g_mu);
    return TERN_OK;
}

tern_rc tern_interest_walk(tern_module *m, const char *account, tern_interest_fn fn, void *ud)
{
    return walk(m, "interest_walk", account, NULL, fn, ud);
}

tern_rc tern_interest_walk_source(tern_module *m, const char *account, const char *source_name,
                                  tern_interest_fn fn, void *ud)
{
    return walk(m, "interest_walk_source", account, source_name, fn, ud);
}

void tern_interest_free(void)
{
    pthread_once(&g_once, init_lock);
    tern_sublist_set_observer(NULL);
    pthread_mutex_lock(&g_mu);
    atomic_store_explicit(&g_enabled, false, memory_order_release);
    for (size_t i = 0; i < g_table.cap; i++)
        if (g_table.slots[i].key)
            entry_free(g_table.slots[i].value);
    tern_keymap_free(&g_table);
    pthread_mutex_unlock(&g_mu);
}

/* ---- accounts ----------------------------------------------------------- */

tern_rc tern_account_walk(tern_module *m, tern_account_fn fn, void *ud)
{
    (void)m;
    if (!fn || !tern_mod_srv)
        return TERN_EINVAL;
    /* A reload replaces the array but keeps the old one until shutdown
     * (account.h): a walk racing it sees one of the two. */
    tern_accounts *r = &tern_mod_srv->accounts;
    tern_account **accs = r->accs;
    size_t n = r->n;
    for (size_t i = 0; i < n; i++)
        if (!accs[i]->removed)
            fn(accs[i]->name, ud);
    return TERN_OK;
}

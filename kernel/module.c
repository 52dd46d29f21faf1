/* Modules: finding and opening .so files, the registry of generations,
 * the hook table, reload and asynchronous authentication (module.h). */
#include "module.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cidmap.h"
#include "client.h"
#include "client_info.h"
#include "conf_accounts.h"
#include "interest.h"
#include "log.h"
#include "modconn.h"
#include "module_int.h"
#include "perms.h"
#include "server.h"
#include "xalloc.h"

#ifndef TERN_MODULES_INSTALL_DIR
#define TERN_MODULES_INSTALL_DIR "/usr/local/lib/tern/modules"
#endif

tern_server *tern_mod_srv;

/* ---- ABI ----------------------------------------------------------------- */

bool tern_module_abi_ok(unsigned mmaj, unsigned mmin, unsigned hmaj, unsigned hmin,
                        const char *what, char *err, size_t errlen)
{
    if (mmaj != hmaj) {
        snprintf(err, errlen,
                 "%s was built for module ABI %u.%u, this ternd provides ABI %u.%u: %s", what,
                 mmaj, mmin, hmaj, hmin,
                 mmaj > hmaj ? "upgrade ternd or use an older module"
                             : "rebuild the module against this ternd's SDK");
        return false;
    }
    if (mmin > hmin) {
        snprintf(err, errlen, "%s needs module ABI %u.%u, this ternd provides ABI %u.%u: "
                 "upgrade ternd", what, mmaj, mmin, hmaj, hmin);
        return false;
    }
    return true;
}

/* ---- configuration ----------------------------------------------------- */

static bool loader_key(const char *k)
{
    return !strcmp(k, "enabled") || !strcmp(k, "path") || !strcmp(k, "priority");
}

bool tern_mod_is_loader_key(const char *k)
{
    return loader_key(k);
}

int tern_modules_conf_check(const tern_conf_node *mods, char *err, size_t errlen)
{
    if (!mods || mods->type == TERN_CONF_NULL)
        return 0;
    if (mods->type != TERN_CONF_MAP)
        return tern_conf_error(mods, err, errlen, "modules must be a mapping of module names");
    for (size_t i = 0; i < mods->n; i++) {
        const tern_conf_node *k = mods->pairs[i].key, *v = mods->pairs[i].value;
        if (!*k->value || strchr(k->value, '/'))
            return tern_conf_error(k, err, errlen, "invalid module name '%s'", k->value);
        if (v->type == TERN_CONF_NULL)
            continue;
        if (v->type != TERN_CONF_MAP)
            return tern_conf_error(v, err, errlen, "module %s: expected a mapping of options",
                                   k->value);
        bool b;
        int64_t n;
        char *s = NULL;
        const tern_conf_node *e;
        if ((e = tern_conf_get(v, "enabled")) && tern_conf_bool(e, &b, err, errlen) < 0)
            return -1;
        if ((e = tern_conf_get(v, "priority"))) {
            if (tern_conf_int(e, &n, err, errlen) < 0)
                return -1;
            if (n < INT32_MIN || n > INT32_MAX)
                return tern_conf_error(e, err, errlen, "priority out of range");
        }
        if ((e = tern_conf_get(v, "path"))) {
            if (tern_conf_path(e, &s, err, errlen) < 0)
                return -1;
            free(s);
        }
    }
    return 0;
}

/* Structural equality, positions ignored: "did the configuration change". */
static bool conf_equal(const tern_conf_node *a, const tern_conf_node *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type || a->n != b->n)
        return false;
    switch (a->type) {
    case TERN_CONF_NULL:
        return true;
    case TERN_CONF_SCALAR:
        return a->quoted == b->quoted && !strcmp(a->value, b->value);
    case TERN_CONF_MAP:
        for (size_t i = 0; i < a->n; i++)
            if (strcmp(a->pairs[i].key->value, b->pairs[i].key->value) ||
                !conf_equal(a->pairs[i].value, b->pairs[i].value))
                return false;
        return true;
    case TERN_CONF_LIST:
        for (size_t i = 0; i < a->n; i++)
            if (!conf_equal(a->items[i], b->items[i]))
                return false;
        return true;
    }
    return false;
}

/* The module's own keys only: what decides "configuration changed". */
static bool module_conf_equal(const tern_conf_node *a, const tern_conf_node *b)
{
    size_t ia = 0, ib = 0;
    for (;;) {
        while (ia < a->n && loader_key(a->pairs[ia].key->value))
            ia++;
        while (ib < b->n && loader_key(b->pairs[ib].key->value))
            ib++;
        if (ia == a->n || ib == b->n)
            return ia == a->n && ib == b->n;
        if (strcmp(a->pairs[ia].key->value, b->pairs[ib].key->value) ||
            !conf_equal(a->pairs[ia].value, b->pairs[ib].value))
            return false;
        ia++, ib++;
    }
}

/* One entry of modules: as the loader reads it. */
typedef struct entry {
    const char           *name;
    const tern_conf_node *node;    /* the value (map or null) */
    bool                  enabled;
    char                 *path;    /* explicit path: (resolved), or NULL */
    int32_t               priority;
    bool                  has_priority;
    bool                  no_validate;   /* checked only (nats_map) */
} entry;

static void entry_read(const tern_conf_node *k, const tern_conf_node *v, entry *e)
{
    memset(e, 0, sizeof *e);
    e->name = k->value;
    e->node = v;
    e->enabled = true;
    char err[TERN_CONF_ERR_MAX];
    const tern_conf_node *n;
    int64_t p;
    /* Already checked by tern_modules_conf_check. */
    if ((n = tern_conf_get(v, "enabled")))
        (void)tern_conf_bool(n, &e->enabled, err, sizeof err);
    if ((n = tern_conf_get(v, "path")))
        (void)tern_conf_path(n, &e->path, err, sizeof err);
    if ((n = tern_conf_get(v, "priority")) && tern_conf_int(n, &p, err, sizeof err) == 0) {
        e->priority = (int32_t)p;
        e->has_priority = true;
    }
}

/* ---- finding and opening ----------------------------------------------- */

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* server.modules_dir, modules/ next to the ternd binary, the install dir. */
static char *find_module(const char *name, const char *modules_dir, char *err, size_t errlen)
{
    char dirs[3][PATH_MAX];
    int nd = 0;
    if (modules_dir)
        snprintf(dirs[nd++], PATH_MAX, "%s", modules_dir);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(dirs[nd++], PATH_MAX, "%.*s/modules", PATH_MAX - 16, exe);
        }
    }
    snprintf(dirs[nd++], PATH_MAX, "%s", TERN_MODULES_INSTALL_DIR);
    for (int i = 0; i < nd; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s.so", dirs[i], name) < 0)
            tern_oom();
        if (file_exists(path))
            return path;
        free(path);
    }
    size_t off = 0;
    for (int i = -1; i < nd && off < errlen; i++) {
        int w = i < 0 ? snprintf(err, errlen, "module %s: %s.so not found in", name, name)
                      : snprintf(err + off, errlen - off, "%s %s", i ? "," : "", dirs[i]);
        off = w < 0 ? errlen : off + (size_t)w;
    }
    return NULL;
}

/* dlopen deduplicates by path and inode and a mapped file must not be
 * overwritten: every generation maps its own copy (unlinked once open). */
static void *open_private_copy(const char *name, const char *path, struct stat *st, char *err,
                               size_t errlen)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0 || fstat(in, st) != 0) {
        snprintf(err, errlen, "module %s: cannot open %s: %s", name, path, strerror(errno));
        if (in >= 0)
            close(in);
        return NULL;
    }
    char magic[4] = {0};
    if (pread(in, magic, 4, 0) != 4 || memcmp(magic, "\x7f" "ELF", 4) != 0) {
        snprintf(err, errlen, "module %s: %s is not a shared object (no ELF header)", name, path);
        close(in);
        return NULL;
    }
    const char *tmp = getenv("TMPDIR");
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s/ternmod-%.64s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    int out = mkostemp(copy, O_CLOEXEC);
    if (out < 0) {
        snprintf(err, errlen, "module %s: cannot create a private copy in %s: %s", name,
                 tmp && *tmp ? tmp : "/tmp", strerror(errno));
        close(in);
        return NULL;
    }
    char buf[65536];
    ssize_t r;
    bool ok = true;
    while ((r = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w <= 0) {
                ok = false;
                break;
            }
            off += w;
        }
        if (!ok)
            break;
    }
    ok = ok && r == 0;
    close(in);
    if (close(out) != 0)
        ok = false;
    if (!ok) {
        snprintf(err, errlen, "module %s: cannot copy %s: %s", name, path, strerror(errno));
        unlink(copy);
        return NULL;
    }
    void *dl = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    unlink(copy);
    if (!dl)
        snprintf(err, errlen, "module %s: cannot load %s: %s", name, path, dlerror());
    return dl;
}

static tern_module *gen_new(const char *name)
{
    tern_module *m = tern_xcalloc(1, sizeof *m);
    m->name = tern_xstrdup(name);
    pthread_mutex_init(&m->err_mu, NULL);
    return m;
}

static void gen_free(tern_module *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->path);
    free(m->hooks);
    tern_conf_free(m->conf);
    pthread_mutex_destroy(&m->err_mu);
    free(m);
}

static uint64_t load_seq;

/* Open, check and validate one module (no init). On failure err says
 * which file and why. */
static tern_module *gen_open(const entry *e, const char *modules_dir, char *err, size_t errlen)
{
    char *path = e->path ? tern_xstrdup(e->path) : find_module(e->name, modules_dir, err, errlen);
    if (!path)
        return NULL;
    struct stat st;
    void *dl = open_private_copy(e->name, path, &st, err, errlen);
    if (!dl) {
        free(path);
        return NULL;
    }
    tern_module *m = gen_new(e->name);
    m->path = path;
    m->dl = dl;
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->fsize = st.st_size;
    m->mtime = st.st_mtim;
    m->seq = ++load_seq;
    m->priority = e->priority;
    m->has_priority = e->has_priority;
    m->conf = e->node && e->node->type == TERN_CONF_MAP
                  ? tern_conf_copy(e->node)
                  : tern_conf_new(TERN_CONF_MAP, e->node ? e->node->file : "<modules>",
                                  e->node ? e->node->line : 0, e->node ? e->node->col : 0);
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "module %s (%s)", e->name, path);
    tern_module_entry_fn entry_fn;
    *(void **)&entry_fn = dlsym(dl, TERN_MODULE_ENTRY_SYMBOL);
    const tern_module_desc *d = entry_fn ? entry_fn() : NULL;
    if (!entry_fn) {
        snprintf(err, errlen, "%s: no %s symbol: not a Tern module", what,
                 TERN_MODULE_ENTRY_SYMBOL);
    } else if (!d || d->magic != TERN_MODULE_MAGIC) {
        snprintf(err, errlen, "%s: %s returned no valid descriptor", what,
                 TERN_MODULE_ENTRY_SYMBOL);
    } else if (!tern_module_abi_ok(d->abi_major, d->abi_minor, TERN_ABI_MAJOR, TERN_ABI_MINOR,
                                   what, err, errlen)) {
        /* err filled */
    } else if (d->size < offsetof(tern_module_desc, reserved) || !d->name || !d->init ||
               !d->fini) {
        snprintf(err, errlen, "%s: incomplete descriptor (name, init and fini are required)",
                 what);
    } else if (!e->path && strcmp(d->name, e->name) != 0) {
        snprintf(err, errlen, "%s: the module calls itself '%s' (set path: to load it as %s)",
                 what, d->name, e->name);
    } else {
        m->desc = d;
        if (e->no_validate || !d->validate ||
            d->validate(m, tern_module_host_api(), (tern_config *)m->conf) == 0)
            return m;
        char ebuf[sizeof ((tern_module *)0)->err];
        snprintf(err, errlen, "%s: invalid configuration: %s", what,
                 tern_mod_error_text(m, ebuf, sizeof ebuf));
    }
    /* Nothing of it ran but the entry point and validate: safe to unmap. */
    dlclose(dl);
    gen_free(m);
    return NULL;
}

tern_module *tern_mod_open_only(const char *name, const char *modules_dir, char *err,
                                size_t errlen)
{
    entry e = { .name = name, .enabled = true, .no_validate = true };
    return gen_open(&e, modules_dir, err, errlen);
}

void tern_mod_close_only(tern_module *m)
{
    if (!m)
        return;
    dlclose(m->dl);   /* only its entry point and pure calls ran */
    gen_free(m);
}

/* Run init; on failure nothing of the generation stays registered. */
static int gen_init(tern_module *m, char *err, size_t errlen)
{
    m->registering = true;
    tern_mod_clear_error(m);
    tern_rc rc = m->desc->init(m, tern_module_host_api(), (tern_config *)m->conf, &m->self);
    m->registering = false;
    if (rc == 0) {
        m->live = true;
        return 0;
    }
    char ebuf[sizeof ((tern_module *)0)->err];
    snprintf(err, errlen, "module %s (%s): init failed (%d): %s", m->name, m->path, (int)rc,
             tern_mod_error_text(m, ebuf, sizeof ebuf));
    tern_modconn_module_gone(m);
    tern_mod_release_resources(m);
    m->nhooks = 0;
    return -1;
}

/* fini and forget. Code stays mapped: a module thread that outlived fini,
 * or an atexit handler of a library it pulled in, must not jump into a
 * hole. Its connections close first: every `closed` callback has
 * returned before fini starts (modconn.h). */
static void gen_retire(tern_module *m)
{
    tern_modconn_module_gone(m);
    tern_mod_release_resources(m);
    if (m->live) {
        m->desc->fini(m->self);
        m->live = false;
    }
    gen_free(m);
}

/* ---- the registry and the hook table ------------------------------------ */

typedef struct hook_ref {
    tern_hook_fn fn;
    void        *ud;
    tern_module *m;
    int32_t      prio;
    uint64_t     seq;
    size_t       idx;
} hook_ref;

typedef struct hook_table {
    hook_ref *ev[TERN_EVT_MAX_];
    size_t    n[TERN_EVT_MAX_];
} hook_table;

static _Atomic(hook_table *) g_table;
static tern_module **g_active;     /* main thread: load order */
static size_t g_nactive;
static uv_timer_t g_tick;
static bool g_tick_init;

static int hook_cmp(const void *a, const void *b)
{
    const hook_ref *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static hook_table *table_build(tern_module **mods, size_t n)
{
    hook_table *t = tern_xcalloc(1, sizeof *t);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < mods[i]->nhooks; j++)
            t->n[mods[i]->hooks[j].evt]++;
    for (int e = 0; e < TERN_EVT_MAX_; e++)
        if (t->n[e])
            t->ev[e] = tern_xcalloc(t->n[e], sizeof *t->ev[e]);
    size_t fill[TERN_EVT_MAX_] = {0};
    for (size_t i = 0; i < n; i++) {
        tern_module *m = mods[i];
        for (size_t j = 0; j < m->nhooks; j++) {
            const tern_mod_hook *h = &m->hooks[j];
            hook_ref *r = &t->ev[h->evt][fill[h->evt]++];
            *r = (hook_ref){ h->fn, h->ud, m, m->has_priority ? m->priority : h->prio, m->seq, j };
        }
    }
    for (int e = 0; e < TERN_EVT_MAX_; e++)
        if (t->n[e] > 1)
            qsort(t->ev[e], t->n[e], sizeof *t->ev[e], hook_cmp);
    return t;
}

/* Documents may be asked for from any thread, not only workers: those
 * readers hold this, and a table is freed only after taking it. */
static pthread_rwlock_t g_info_lock = PTHREAD_RWLOCK_INITIALIZER;

static void table_free(hook_table *t)
{
    if (!t)
        return;
    pthread_rwlock_wrlock(&g_info_lock);
    pthread_rwlock_unlock(&g_info_lock);
    for (int e = 0; e < TERN_EVT_MAX_; e++)
        free(t->ev[e]);
    free(t);
}

static void on_tick(uv_timer_t *h)
{
    (void)h;
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    tern_evt_tick ev = { { TERN_EVT_TICK, sizeof ev }, uv_now(&tern_mod_srv->loop) };
    for (size_t i = 0; t && i < t->n[TERN_EVT_TICK]; i++)
        t->ev[TERN_EVT_TICK][i].fn(t->ev[TERN_EVT_TICK][i].m, &ev.hdr, t->ev[TERN_EVT_TICK][i].ud);
}

/* Install a new table: only while no worker runs (paused, or before any
 * connection exists). Returns the old one, to free after the barrier. */
static hook_table *table_install(void)
{
    hook_table *t = table_build(g_active, g_nactive);
    hook_table *old = atomic_exchange_explicit(&g_table, t, memory_order_acq_rel);
    if (!g_tick_init) {
        uv_timer_init(&tern_mod_srv->loop, &g_tick);
        uv_unref((uv_handle_t *)&g_tick);
        g_tick_init = true;
    }
    if (t->n[TERN_EVT_TICK])
        uv_timer_start(&g_tick, on_tick, 1000, 1000);
    else
        uv_timer_stop(&g_tick);
    return old;
}

static void notify_main(uint32_t evt)
{
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    tern_evt_tick ev = { { evt, sizeof ev }, uv_now(&tern_mod_srv->loop) };
    for (size_t i = 0; t && i < t->n[evt]; i++)
        t->ev[evt][i].fn(t->ev[evt][i].m, &ev.hdr, t->ev[evt][i].ud);
}

void tern_modules_lame_duck(void)
{
    if (tern_mod_srv)
        notify_main(TERN_EVT_LAME_DUCK);
}

/* ---- start, stop, validate ---------------------------------------------- */

static const tern_conf_node *modules_of(const tern_opts *o)
{
    return o->modules;
}

void tern_modules_start(tern_server *s)
{
    tern_mod_srv = s;
    const tern_conf_node *mods = modules_of(&s->opts);
    for (size_t i = 0; mods && mods->type == TERN_CONF_MAP && i < mods->n; i++) {
        entry e;
        entry_read(mods->pairs[i].key, mods->pairs[i].value, &e);
        char err[1024];
        tern_module *m = e.enabled ? gen_open(&e, s->opts.modules_dir, err, sizeof err) : NULL;
        free(e.path);
        if (!e.enabled)
            continue;
        if (!m || gen_init(m, err, sizeof err) != 0) {
            tern_errorf("%s; continuing without it", err);
            gen_free(m);   /* stays mapped: init ran and may have left something */
            continue;
        }
        g_active = tern_xrealloc(g_active, (g_nactive + 1) * sizeof *g_active);
        g_active[g_nactive++] = m;
        tern_noticef("Module %s %s loaded from %s", m->name,
                     m->desc->version ? m->desc->version : "", m->path);
    }
    table_free(table_install());
}

void tern_modules_stop(tern_server *s)
{
    (void)s;
    if (!tern_mod_srv)
        return;
    hook_table *old = atomic_exchange_explicit(&g_table, NULL, memory_order_acq_rel);
    /* Workers still run: a hook they are calling ends before the table
     * they read goes (pause as a barrier). */
    tern_server_pause_workers(tern_mod_srv);
    tern_server_resume_workers(tern_mod_srv);
    table_free(old);
    for (size_t i = g_nactive; i-- > 0;)
        tern_mod_unsubscribe_all(g_active[i]);
    tern_server_pause_workers(tern_mod_srv);
    tern_server_resume_workers(tern_mod_srv);
    tern_mod_free_dead_subs();
    for (size_t i = g_nactive; i-- > 0;)
        gen_retire(g_active[i]);
    free(g_active);
    g_active = NULL;
    g_nactive = 0;
    tern_modconn_stop();
    tern_interest_free();
    tern_client_info_free();
    if (g_tick_init) {
        uv_close((uv_handle_t *)&g_tick, NULL);
        g_tick_init = false;
    }
    tern_mod_srv = NULL;
}

int tern_modules_validate(const tern_conf_node *mods, const char *modules_dir, char *err,
                          size_t errlen)
{
    if (tern_modules_conf_check(mods, err, errlen) < 0)
        return -1;
    for (size_t i = 0; mods && mods->type == TERN_CONF_MAP && i < mods->n; i++) {
        entry e;
        entry_read(mods->pairs[i].key, mods->pairs[i].value, &e);
        tern_module *m = e.enabled ? gen_open(&e, modules_dir, err, errlen) : NULL;
        free(e.path);
        if (e.enabled && !m)
            return -1;
        if (m) {
            dlclose(m->dl);
            gen_free(m);
        }
    }
    return 0;
}

/* ---- reload ------------------------------------------------------------- */

typedef enum change { KEEP, RECONF, SWAP, ADD } change;

typedef struct plan_item {
    change       what;
    tern_module *cur;         /* the running generation (KEEP/RECONF/SWAP) */
    tern_module *next;        /* the new one (SWAP/ADD) */
    tern_conf_node *conf;     /* RECONF: the new subtree (owned until commit) */
    int32_t      priority;
    bool         has_priority;
} plan_item;

struct tern_modules_plan {
    plan_item    *items;      /* in the new configuration's order */
    size_t        n;
    tern_module **removed;
    size_t        nremoved;
    tern_module **retired;    /* after commit: to finalise */
    size_t        nretired;
    hook_table   *old_table;
};

static tern_module *active_find(const char *name)
{
    for (size_t i = 0; i < g_nactive; i++)
        if (!strcmp(g_active[i]->name, name))
            return g_active[i];
    return NULL;
}

static bool file_changed(const tern_module *m, const char *path)
{
    struct stat st;
    if (strcmp(m->path, path) != 0 || stat(path, &st) != 0)
        return true;
    return st.st_dev != m->dev || st.st_ino != m->ino || st.st_size != m->fsize ||
           st.st_mtim.tv_sec != m->mtime.tv_sec || st.st_mtim.tv_nsec != m->mtime.tv_nsec;
}

/* The state hand-off: bytes from the old generation into the new one. */
static void hand_off(tern_module *from, tern_module *to)
{
    if (!from->desc->export_state || !to->desc->import_state)
        return;
    tern_blob b = {0};
    if (from->desc->export_state(from->self, &b) != 0) {
        char ebuf[sizeof ((tern_module *)0)->err];
        tern_warnf("Module %s: state export failed: %s; the new version starts cold", from->name,
                   tern_mod_error_text(from, ebuf, sizeof ebuf));
        return;
    }
    tern_mod_clear_error(to);
    char ebuf[sizeof ((tern_module *)0)->err];
    if (to->desc->import_state(to->self, &b) != 0)
        tern_warnf("Module %s: state import failed: %s; the new version starts cold", to->name,
                   tern_mod_error_text(to, ebuf, sizeof ebuf));
    free(b.data);
}

void tern_modules_abort(tern_modules_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        if (p->items[i].next)
            gen_retire(p->items[i].next);
        tern_conf_free(p->items[i].conf);
    }
    free(p->items);
    free(p->removed);
    free(p);
}

tern_modules_plan *tern_modules_prepare(tern_server *s, const tern_opts *next, char *err,
                                        size_t errlen)
{
    (void)s;   /* the server tern_modules_start recorded (workers read it) */
    tern_modules_plan *p = tern_xcalloc(1, sizeof *p);
    const tern_conf_node *mods = modules_of(next);
    size_t cap = mods && mods->type == TERN_CONF_MAP ? mods->n : 0;
    p->items = tern_xcalloc(cap ? cap : 1, sizeof *p->items);
    for (size_t i = 0; i < cap; i++) {
        entry e;
        entry_read(mods->pairs[i].key, mods->pairs[i].value, &e);
        if (!e.enabled) {
            free(e.path);
            continue;
        }
        tern_module *cur = active_find(e.name);
        plan_item *it = &p->items[p->n];
        it->cur = cur;
        it->priority = e.priority;
        it->has_priority = e.has_priority;
        char *path = e.path ? tern_xstrdup(e.path)
                            : find_module(e.name, next->modules_dir, err, errlen);
        if (!path) {
            free(e.path);
            tern_modules_abort(p);
            return NULL;
        }
        const tern_conf_node *nconf = e.node && e.node->type == TERN_CONF_MAP ? e.node : NULL;
        tern_conf_node empty = { .type = TERN_CONF_MAP };
        bool same_conf = cur && module_conf_equal(cur->conf, nconf ? nconf : &empty);
        if (!cur)
            it->what = ADD;
        else if (file_changed(cur, path) || (!same_conf && !cur->desc->reload))
            it->what = SWAP;
        else
            it->what = same_conf ? KEEP : RECONF;
        free(path);
        if (it->what == RECONF) {
            /* Pure check now; the module applies it in commit. */
            it->conf = nconf ? tern_conf_copy(nconf) : tern_conf_new(TERN_CONF_MAP, "", 0, 0);
            tern_mod_clear_error(cur);
            if (cur->desc->validate &&
                cur->desc->validate(cur, tern_module_host_api(), (tern_config *)it->conf) != 0) {
                char ebuf[sizeof ((tern_module *)0)->err];
                snprintf(err, errlen, "module %s (%s): invalid configuration: %s", cur->name,
                         cur->path, tern_mod_error_text(cur, ebuf, sizeof ebuf));
                free(e.path);
                p->n++;
                tern_modules_abort(p);
                return NULL;
            }
        } else if (it->what == SWAP || it->what == ADD) {
            it->next = gen_open(&e, next->modules_dir, err, errlen);
            if (it->next)
                it->next->staged = true;
            if (!it->next || gen_init(it->next, err, errlen) != 0) {
                gen_free(it->next);   /* stays mapped, as after any init */
                it->next = NULL;
                free(e.path);
                tern_modules_abort(p);
                return NULL;
            }
        }
        free(e.path);
        p->n++;
    }
    for (size_t i = 0; i < g_nactive; i++) {
        bool kept = false;
        for (size_t j = 0; j < p->n && !kept; j++)
            kept = p->items[j].cur == g_active[i];
        if (!kept) {
            p->removed = tern_xrealloc(p->removed, (p->nremoved + 1) * sizeof *p->removed);
            p->removed[p->nremoved++] = g_active[i];
        }
    }
    return p;
}

void tern_modules_commit(tern_modules_plan *p)
{
    tern_module **act = tern_xcalloc(p->n ? p->n : 1, sizeof *act);
    p->retired = tern_xcalloc(p->n + p->nremoved + 1, sizeof *p->retired);
    for (size_t i = 0; i < p->nremoved; i++)
        p->retired[p->nretired++] = p->removed[i];
    for (size_t i = 0; i < p->n; i++) {
        plan_item *it = &p->items[i];
        switch (it->what) {
        case KEEP:
        case RECONF:
            act[i] = it->cur;
            break;
        case SWAP:
            /* Workers are paused: the old generation's state is still. */
            hand_off(it->cur, it->next);
            p->retired[p->nretired++] = it->cur;
            /* fallthrough */
        case ADD:
            act[i] = it->next;
            it->next = NULL;
            act[i]->staged = false;
            tern_mod_activate_subs(act[i]);
            break;
        }
        act[i]->priority = it->priority;
        act[i]->has_priority = it->has_priority;
        if (it->what == RECONF) {
            tern_module *m = act[i];
            tern_mod_clear_error(m);
            if (m->desc->reload(m->self, (tern_config *)it->conf) == 0) {
                tern_conf_free(m->conf);
                m->conf = it->conf;
                it->conf = NULL;
                tern_noticef("Module %s reconfigured", m->name);
            } else {
                char ebuf[sizeof ((tern_module *)0)->err];
                tern_errorf("Module %s: reload failed: %s; its previous configuration stays",
                            m->name, tern_mod_error_text(m, ebuf, sizeof ebuf));
            }
        } else if (it->what == SWAP) {
            tern_noticef("Module %s swapped to %s from %s", act[i]->name,
                         act[i]->desc->version ? act[i]->desc->version : "", act[i]->path);
        } else if (it->what == ADD) {
            tern_noticef("Module %s %s loaded from %s", act[i]->name,
                         act[i]->desc->version ? act[i]->desc->version : "", act[i]->path);
        }
    }
    for (size_t i = 0; i < p->nretired; i++) {
        /* No callback of theirs starts once unsubscribed; the barrier the
         * workers are in ends the ones running. */
        tern_mod_unsubscribe_all(p->retired[i]);
    }
    free(g_active);
    g_active = act;
    g_nactive = p->n;
    p->old_table = table_install();
}

void tern_modules_finish(tern_modules_plan *p)
{
    /* Every worker passed the pause since the table changed: nothing of
     * the retired generations runs on a worker any more. */
    table_free(p->old_table);
    tern_mod_free_dead_subs();
    for (size_t i = 0; i < p->nretired; i++) {
        tern_noticef("Module %s (%s) unloaded", p->retired[i]->name, p->retired[i]->path);
        gen_retire(p->retired[i]);
    }
    free(p->retired);
    p->retired = NULL;
    p->nretired = 0;
    notify_main(TERN_EVT_RELOADED);
    tern_modules_abort(p);
}

/* ---- hook registration (from the API) ------------------------------------ */

tern_rc tern_mod_hook_add(tern_module *m, uint32_t evt, int32_t prio, tern_hook_fn fn, void *ud)
{
    if (!m || !fn || evt == 0 || evt >= TERN_EVT_MAX_)
        return TERN_EINVAL;
    if (!m->registering) {
        tern_mod_set_error(m, "hooks can only be registered from init");
        return TERN_EINVAL;
    }
    if (evt == TERN_EVT_ACCOUNT_RESOLVE || evt == TERN_EVT_LINK_OPEN ||
        evt == TERN_EVT_LINK_CLOSED)
        return TERN_ENOTSUP;   /* ids reserved; not dispatched yet */
    for (size_t i = 0; i < m->nhooks; i++)
        if (m->hooks[i].evt == evt && m->hooks[i].fn == fn && m->hooks[i].ud == ud)
            return TERN_EEXIST;
    m->hooks = tern_xrealloc(m->hooks, (m->nhooks + 1) * sizeof *m->hooks);
    m->hooks[m->nhooks++] = (tern_mod_hook){ evt, prio, fn, ud };
    if (evt == TERN_EVT_INTEREST_ADDED || evt == TERN_EVT_INTEREST_REMOVED)
        tern_interest_enable();   /* counted from now on (interest.h) */
    return TERN_OK;
}

/* ---- asynchronous authentication --------------------------------------- */

typedef struct pending {
    uint64_t                 op;
    tern_worker             *w;
    void                    *owner;
    tern_module_auth_done_fn done;
    char                    *module;   /* the module that answered PENDING */
} pending;

static void pending_free(pending *p)
{
    if (p)
        free(p->module);
    free(p);
}

/* Decisions in flight by cid. Completions and departures of a connection
 * both run on its worker, so the owner cannot go between the take and
 * the call; the lock guards the map, which every thread shares. */
static pthread_mutex_t pend_mu = PTHREAD_MUTEX_INITIALIZER;
static tern_cidmap g_pending;
static _Atomic uint64_t g_next_op;

bool tern_module_auth_active(void)
{
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    return t && t->n[TERN_EVT_AUTH] > 0;
}

bool tern_module_authenticates(const char *name)
{
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    for (size_t i = 0; t && i < t->n[TERN_EVT_AUTH]; i++)
        if (!strcmp(t->ev[TERN_EVT_AUTH][i].m->name, name))
            return true;
    return false;
}

static pending *pending_take(uint64_t cid, uint64_t op)
{
    pthread_mutex_lock(&pend_mu);
    pending *p = tern_cidmap_get(&g_pending, cid);
    if (p && p->op == op)
        tern_cidmap_take(&g_pending, cid);
    else
        p = NULL;
    if (g_pending.n == 0)
        tern_cidmap_free(&g_pending);
    pthread_mutex_unlock(&pend_mu);
    return p;
}

void tern_module_auth_forget(uint64_t cid)
{
    pthread_mutex_lock(&pend_mu);
    pending *p = tern_cidmap_take(&g_pending, cid);
    if (g_pending.n == 0)
        tern_cidmap_free(&g_pending);
    pthread_mutex_unlock(&pend_mu);
    pending_free(p);
}

/* The account a decision names: NULL name is the global account. */
static bool resolve_account(tern_server *s, const char *name, tern_account **acc)
{
    *acc = NULL;
    if (!name || !*name)
        return true;
    *acc = tern_accounts_find(&s->accounts, name);
    if (!*acc)
        tern_errorf("Module authentication named account %s, which does not exist", name);
    return *acc != NULL;
}

/* The grant's optional "limits": {"subs": N, "payload": N} (N >= 0),
 * taken out of the map so the rest reads as conf.d permissions. */
static int perms_limits(tern_conf_node *n, int64_t *subs, int64_t *payload, char *err,
                        size_t errlen)
{
    *subs = *payload = -1;
    for (size_t i = 0; n->type == TERN_CONF_MAP && i < n->n; i++) {
        if (strcmp(n->pairs[i].key->value, "limits") != 0)
            continue;
        tern_conf_node *l = n->pairs[i].value;
        if (l->type != TERN_CONF_MAP)
            return tern_conf_error(l, err, errlen, "limits must be a mapping");
        for (size_t j = 0; j < l->n; j++) {
            const char *k = l->pairs[j].key->value;
            int64_t *slot = !strcmp(k, "subs") ? subs : !strcmp(k, "payload") ? payload : NULL;
            if (!slot)
                return tern_conf_error(l->pairs[j].key, err, errlen, "unknown key '%s' in limits", k);
            if (tern_conf_int(l->pairs[j].value, slot, err, errlen) < 0 || *slot < 0)
                return tern_conf_error(l->pairs[j].value, err, errlen,
                                       "limits.%s must be an integer >= 0", k);
        }
        tern_conf_free(n->pairs[i].key);
        tern_conf_free(l);
        memmove(&n->pairs[i], &n->pairs[i + 1], (n->n - i - 1) * sizeof *n->pairs);
        n->n--;
        break;
    }
    return 0;
}

int tern_module_perms_parse(const char *json, tern_perms **out, char *err, size_t errlen)
{
    /* JSON is YAML: the conf.d reader builds them, so both agree. */
    *out = NULL;
    tern_conf_node *n = tern_conf_parse_yaml(json, strlen(json), "permissions", err, errlen);
    if (!n)
        return -1;
    int64_t subs, payload;
    int rc = perms_limits(n, &subs, &payload, err, errlen);
    if (rc == 0)
        rc = tern_conf_permissions(n, out, err, errlen);
    if (rc == 0 && (subs >= 0 || payload >= 0)) {
        if (!*out)
            *out = tern_perms_new();
        (*out)->max_subs = subs;
        (*out)->max_payload = payload;
    }
    tern_conf_free(n);
    return rc;
}

/* The grant of an ALLOW: false (and a log line) for bad permissions,
 * which deny the client rather than let it in without them. */
static bool grant_make(const char *perms, const char *user_name, tern_module_grant *g)
{
    *g = (tern_module_grant){0};
    char err[256];
    if (perms && tern_module_perms_parse(perms, &g->perms, err, sizeof err) < 0) {
        tern_errorf("Module authentication: invalid permissions: %s", err);
        return false;
    }
    g->user_name = user_name && *user_name ? tern_xstrdup(user_name) : NULL;
    return true;
}

int tern_module_auth_start(tern_client *c, const tern_auth_creds *cr, const char *nonce,
                           tern_account **acc, const char **module, tern_module_grant *grant,
                           tern_module_auth_done_fn done)
{
    *acc = NULL;
    *module = NULL;
    *grant = (tern_module_grant){0};
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    if (!t || !t->n[TERN_EVT_AUTH])
        return TERN_MODAUTH_NONE;
    uint64_t op = atomic_fetch_add_explicit(&g_next_op, 1, memory_order_relaxed) + 1;
    pending *p = tern_xcalloc(1, sizeof *p);
    *p = (pending){ op, c->w, c, done, NULL };
    /* Registered before the hooks run: a completion may race the return. */
    pthread_mutex_lock(&pend_mu);
    pending_free(tern_cidmap_take(&g_pending, c->cid));   /* an earlier CONNECT's */
    tern_cidmap_put(&g_pending, c->cid, p);
    pthread_mutex_unlock(&pend_mu);
    tern_evt_auth ev = {
        .hdr = { TERN_EVT_AUTH, sizeof ev },
        .token = { c->cid, op },
        .user = cr->user, .pass = cr->pass, .auth_token = cr->token,
        .nkey = cr->nkey, .sig = cr->sig,
        .nonce = nonce && *nonce ? nonce : NULL,
        .client_name = c->name, .ip = c->ip, .port = c->port,
        .jwt = cr->jwt,
    };
    for (size_t i = 0; i < t->n[TERN_EVT_AUTH]; i++) {
        const hook_ref *h = &t->ev[TERN_EVT_AUTH][i];
        ev.account = NULL;
        ev.permissions = ev.user_name = NULL;
        tern_verdict v = h->fn(h->m, &ev.hdr, h->ud);
        if (v == TERN_VERDICT_IGNORE)
            continue;
        if (v == TERN_VERDICT_PENDING) {
            /* The completion may already have taken it: set under the lock. */
            pthread_mutex_lock(&pend_mu);
            pending *pp = tern_cidmap_get(&g_pending, c->cid);
            if (pp && pp->op == op)
                pp->module = tern_xstrdup(h->m->name);
            pthread_mutex_unlock(&pend_mu);
            return TERN_MODAUTH_PENDING;
        }
        pending_free(pending_take(c->cid, op));
        *module = h->m->name;
        if (v == TERN_VERDICT_ALLOW && resolve_account(c->w->srv, ev.account, acc) &&
            grant_make(ev.permissions, ev.user_name, grant))
            return TERN_MODAUTH_ALLOW;
        *acc = NULL;
        return TERN_MODAUTH_DENY;
    }
    pending_free(pending_take(c->cid, op));
    return TERN_MODAUTH_NONE;
}

typedef struct completion {
    uint64_t     cid, op;
    tern_verdict v;
    char        *account;
    char        *perms, *user_name;
} completion;

static void complete_task(tern_worker *w, void *arg)
{
    completion *cp = arg;
    pending *p = pending_take(cp->cid, cp->op);
    if (p) {   /* still there: the client has not left */
        tern_account *acc = NULL;
        tern_module_grant g = {0};
        bool ok = cp->v == TERN_VERDICT_ALLOW && resolve_account(w->srv, cp->account, &acc) &&
                  grant_make(cp->perms, cp->user_name, &g);
        p->done(p->owner, ok, ok ? acc : NULL, p->module, &g);
        tern_perms_free(g.perms);   /* NULL unless done left them */
        free(g.user_name);
        pending_free(p);
    }
    free(cp->account);
    free(cp->perms);
    free(cp->user_name);
    free(cp);
}

tern_rc tern_mod_auth_complete(tern_async tok, tern_verdict v, const char *account)
{
    return tern_mod_auth_complete_ex(tok, v, account, NULL, NULL);
}

tern_rc tern_mod_auth_complete_ex(tern_async tok, tern_verdict v, const char *account,
                                  const char *permissions, const char *user_name)
{
    if (v != TERN_VERDICT_ALLOW && v != TERN_VERDICT_DENY)
        return TERN_EINVAL;
    pthread_mutex_lock(&pend_mu);
    pending *p = tern_cidmap_get(&g_pending, tok.cid);
    tern_worker *w = p && p->op == tok.op ? p->w : NULL;
    pthread_mutex_unlock(&pend_mu);
    if (!w)
        return TERN_ESTALE;
    completion *cp = tern_xcalloc(1, sizeof *cp);
    *cp = (completion){ tok.cid, tok.op, v, account ? tern_xstrdup(account) : NULL,
                        permissions ? tern_xstrdup(permissions) : NULL,
                        user_name ? tern_xstrdup(user_name) : NULL };
    tern_worker_post(w, complete_task, cp);
    return TERN_OK;
}

/* ---- connection events and documents ----------------------------------- */

bool tern_module_interest_hooked(void)
{
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    return t && (t->n[TERN_EVT_INTEREST_ADDED] || t->n[TERN_EVT_INTEREST_REMOVED]);
}

void tern_module_interest_event(uint32_t evt, const char *account, const char *subject,
                                const char *queue, uint32_t count, uint32_t source)
{
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    if (!t || !t->n[evt])
        return;
    tern_evt_interest ev = { { evt, sizeof ev }, account, subject, queue, count, source,
                             source ? tern_modconn_proto_name(source) : NULL };
    for (size_t i = 0; i < t->n[evt]; i++)
        t->ev[evt][i].fn(t->ev[evt][i].m, &ev.hdr, t->ev[evt][i].ud);
}

void tern_module_client_event(tern_client *c, uint32_t evt, const char *reason)
{
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    if (!t || !t->n[evt])
        return;
    tern_evt_client ev = { { evt, sizeof ev }, c->cid, c->acc ? c->acc->name : NULL, c->ip,
                           c->port, reason, tern_client_auth_user(c) };
    for (size_t i = 0; i < t->n[evt]; i++)
        t->ev[evt][i].fn(t->ev[evt][i].m, &ev.hdr, t->ev[evt][i].ud);
}

json_t *tern_module_info(const char *name)
{
    return tern_module_info_query(name, NULL);
}

json_t *tern_module_info_merged(const char *name)
{
    json_t *all = NULL;
    pthread_rwlock_rdlock(&g_info_lock);
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    for (size_t i = 0; t && i < t->n[TERN_EVT_INFO]; i++) {
        const hook_ref *h = &t->ev[TERN_EVT_INFO][i];
        tern_evt_info ev = { { TERN_EVT_INFO, sizeof ev }, name, NULL, NULL };
        tern_verdict v = h->fn(h->m, &ev.hdr, h->ud);
        if (v != TERN_VERDICT_ALLOW || !ev.json) {
            free(ev.json);
            continue;
        }
        json_error_t jerr;
        json_t *doc = json_loads(ev.json, 0, &jerr);
        free(ev.json);
        if (!json_is_object(doc)) {
            tern_errorf("Module %s: %s for %s", h->m->name,
                        doc ? "not a JSON object" : jerr.text, name);
            json_decref(doc);
            continue;
        }
        if (!all)
            all = json_object();
        json_object_update(all, doc);
        json_decref(doc);
    }
    pthread_rwlock_unlock(&g_info_lock);
    return all;
}

json_t *tern_module_info_query(const char *name, const char *query)
{
    json_t *doc = NULL;
    pthread_rwlock_rdlock(&g_info_lock);
    hook_table *t = atomic_load_explicit(&g_table, memory_order_acquire);
    for (size_t i = 0; t && !doc && i < t->n[TERN_EVT_INFO]; i++) {
        const hook_ref *h = &t->ev[TERN_EVT_INFO][i];
        tern_evt_info ev = { { TERN_EVT_INFO, sizeof ev }, name, NULL, query };
        tern_verdict v = h->fn(h->m, &ev.hdr, h->ud);
        if (v != TERN_VERDICT_ALLOW || !ev.json) {
            free(ev.json);
            continue;
        }
        json_error_t jerr;
        doc = json_loads(ev.json, 0, &jerr);
        if (!doc)
            tern_errorf("Module %s: invalid JSON for %s: %s", h->m->name, name, jerr.text);
        free(ev.json);
    }
    pthread_rwlock_unlock(&g_info_lock);
    return doc;
}

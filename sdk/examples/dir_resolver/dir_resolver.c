/* dir_resolver: a Tern module that authenticates clients against a
 * directory of JSON files, one per user, and binds each to its account.
 *
 *   users/alice.json
 *   {"user": "alice", "password": "$2b$11$...", "account": "A",
 *    "permissions": {"publish": {"deny": ["admin.>"]}}}
 *
 * Threads (see the SDK's README):
 *  - The TERN_EVT_AUTH hook runs on the server's workers, concurrently,
 *    and must not block: it only looks the name up in the current user
 *    table (a read lock held for a binary search) and queues the check.
 *  - The module's own thread does everything slow: reading the directory
 *    and comparing passwords (bcrypt takes milliseconds on purpose). It
 *    completes each decision with api->auth_complete(_ex), which may be
 *    called from any thread.
 *  - init, reload, fini, the timer and the RELOADED hook run on the
 *    server's main thread.
 *
 * The directory is read at init, then again after every reload of the
 * server (SIGHUP), when the module's configuration changes, and every
 * `refresh` if set. A file that cannot be used is skipped with a warning
 * naming it: one bad file does not lock everybody out. */
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <tern/module.h>

/* ---- the user table ------------------------------------------------------ */

typedef struct user {
    char *name;
    char *password;               /* plain text or a bcrypt hash */
    char *account;                /* NULL: the global account */
    char *permissions;            /* compact JSON text, NULL: none */
} user;

/* An immutable snapshot, sorted by name; replaced whole by each scan. */
typedef struct table {
    user  *users;
    size_t n;
} table;

static void table_free(table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->users[i].name);
        free(t->users[i].password);
        free(t->users[i].account);
        free(t->users[i].permissions);
    }
    free(t->users);
    free(t);
}

static int user_cmp(const void *a, const void *b)
{
    return strcmp(((const user *)a)->name, ((const user *)b)->name);
}

static const user *table_find(const table *t, const char *name)
{
    user key = { .name = (char *)name };
    return t && t->n ? bsearch(&key, t->users, t->n, sizeof *t->users, user_cmp) : NULL;
}

/* ---- the module's state -------------------------------------------------- */

enum unknown_policy { UNKNOWN_DENY, UNKNOWN_IGNORE };

/* The module's configuration (modules.<name> in conf.d). */
typedef struct settings {
    char   *dir;                  /* api->free */
    int64_t refresh_ms;           /* 0: only on reload */
    int     unknown;              /* enum unknown_policy */
} settings;

typedef struct job {
    struct job *next;
    enum { JOB_AUTH, JOB_SCAN } kind;
    tern_async  token;            /* AUTH */
    char       *user, *pass;      /* AUTH */
    char       *dir;              /* SCAN: a new directory, NULL: the same */
    bool        quiet;            /* SCAN: periodic, log at debug level */
} job;

typedef struct resolver {
    const tern_host_api *api;
    tern_module         *m;
    bool                 has_ex;      /* the server has auth_complete_ex */
    _Atomic int          unknown;     /* read by hooks on workers */
    int64_t              refresh_ms;  /* main thread */
    uint64_t             timer;       /* main thread; 0: none */

    /* The table: written by the module's thread (and init), read by
     * hooks. The lock is only held to look a name up or swap a pointer. */
    pthread_rwlock_t     table_lock;
    table               *users;

    /* The job queue, served by the module's thread. */
    pthread_mutex_t      mu;
    pthread_cond_t       cv;
    job                 *head, *tail;
    bool                 stop;
    pthread_t            thread;
    char                *dir;             /* the thread's (after init) */
    struct crypt_data   *crypt;           /* the thread's: large, reused */
} resolver;

static const char *const keys[] = { "dir", "refresh", "unknown", NULL };

/* ---- configuration --------------------------------------------------------- */

/* Shared by validate, init and reload: every error says file:line:column. */
static tern_rc settings_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                             settings *s)
{
    memset(s, 0, sizeof *s);
    if (api->conf_check_keys(m, conf, keys) != TERN_OK)
        return TERN_EINVAL;
    const tern_config *n = api->conf_get(conf, "dir");
    if (!n)
        return api->conf_error(m, conf, "missing key 'dir' (the folder of user files)");
    if (api->conf_path(m, n, &s->dir) != TERN_OK)   /* relative to the conf file */
        return TERN_EINVAL;
    struct stat st;
    if (stat(s->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tern_rc rc = api->conf_error(m, n, "%s is not a readable directory", s->dir);
        api->free(s->dir);
        s->dir = NULL;
        return rc;
    }
    n = api->conf_get(conf, "refresh");
    tern_rc rc = api->conf_duration_ms(m, n, &s->refresh_ms);
    if (rc == TERN_OK && s->refresh_ms < 0)
        rc = api->conf_error(m, n, "refresh must not be negative");
    if (rc == TERN_ENOENT)
        rc = TERN_OK;
    const char *u = "deny";
    n = api->conf_get(conf, "unknown");
    if (rc == TERN_OK && api->conf_str(m, n, &u) == TERN_EINVAL)
        rc = TERN_EINVAL;
    if (rc == TERN_OK) {
        if (!strcmp(u, "deny"))
            s->unknown = UNKNOWN_DENY;
        else if (!strcmp(u, "ignore"))
            s->unknown = UNKNOWN_IGNORE;
        else
            rc = api->conf_error(m, n, "unknown must be deny or ignore");
    }
    if (rc != TERN_OK) {
        api->free(s->dir);
        s->dir = NULL;
    }
    return rc;
}

/* ---- reading the directory ------------------------------------------------- */

static char *opt_string(json_t *obj, const char *key, bool *bad)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || !*json_string_value(v)) {
        *bad = true;
        return NULL;
    }
    return strdup(json_string_value(v));
}

/* One user file into u; false (with a warning naming the file) when it
 * cannot be used. */
static bool read_user(resolver *r, const char *path, user *u)
{
    memset(u, 0, sizeof *u);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        r->api->log(r->m, TERN_LOG_LEVEL_WARN, "%s:%d:%d: %s (file skipped)", path, jerr.line,
                    jerr.column, jerr.text);
        return false;
    }
    const char *why = NULL;
    bool bad = false;
    json_t *perms = json_object_get(doc, "permissions");
    if (!json_is_object(doc))
        why = "expected a JSON object";
    else if (!(u->name = opt_string(doc, "user", &bad)) || bad)
        why = "\"user\" must be a non-empty string";
    else if (!(u->password = opt_string(doc, "password", &bad)) || bad)
        why = "\"password\" must be a non-empty string";
    else if ((u->account = opt_string(doc, "account", &bad)), bad)
        why = "\"account\" must be a non-empty string when present";
    else if (perms && !json_is_null(perms) && !json_is_object(perms))
        why = "\"permissions\" must be an object when present";
    else if (perms && json_is_object(perms) && !(u->permissions = json_dumps(perms, JSON_COMPACT)))
        why = "out of memory";   /* never let the user in without its permissions */
    json_decref(doc);
    if (why) {
        r->api->log(r->m, TERN_LOG_LEVEL_WARN, "%s: %s (file skipped)", path, why);
        free(u->name), free(u->password), free(u->account), free(u->permissions);
        return false;
    }
    return true;
}

static int json_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

/* Build a new table from dir, in file name order; NULL when the
 * directory cannot be read (why says so; the old table stays). */
static table *scan(resolver *r, const char *dir, char *why, size_t whylen)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, json_file, alphasort);
    if (n < 0) {
        snprintf(why, whylen, "cannot read %s: %s", dir, strerror(errno));
        return NULL;
    }
    table *t = calloc(1, sizeof *t);
    if (t && !(t->users = calloc((size_t)n + 1, sizeof *t->users)))
        t = (free(t), NULL);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        free(names[i]);
        struct stat st;
        if (t && stat(path, &st) == 0 && S_ISREG(st.st_mode) && read_user(r, path, &t->users[t->n]))
            t->n++;
    }
    free(names);
    if (!t) {
        snprintf(why, whylen, "out of memory reading %s", dir);
        return NULL;
    }
    qsort(t->users, t->n, sizeof *t->users, user_cmp);
    /* A name in two files is ambiguous: refuse it rather than guess. */
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        bool dup = (i > 0 && !strcmp(t->users[i].name, t->users[i - 1].name)) ||
                   (i + 1 < t->n && !strcmp(t->users[i].name, t->users[i + 1].name));
        if (dup) {
            if (i == 0 || strcmp(t->users[i].name, t->users[i - 1].name))
                r->api->log(r->m, TERN_LOG_LEVEL_WARN,
                            "user %s is defined in more than one file of %s: refused",
                            t->users[i].name, dir);
            free(t->users[i].name), free(t->users[i].password);
            free(t->users[i].account), free(t->users[i].permissions);
            continue;
        }
        t->users[w++] = t->users[i];
    }
    t->n = w;
    return t;
}

/* Replace the table (the module's thread, or init before it starts). */
static void install_table(resolver *r, table *t, const char *dir, int level)
{
    pthread_rwlock_wrlock(&r->table_lock);
    table *old = r->users;
    r->users = t;
    pthread_rwlock_unlock(&r->table_lock);
    table_free(old);   /* no reader holds it: readers use it only under the lock */
    r->api->log(r->m, level, "%zu users from %s", t->n, dir);
}

/* ---- deciding, on the module's thread ------------------------------------ */

static bool is_bcrypt(const char *s)
{
    return s[0] == '$' && s[1] == '2' && (s[2] == 'a' || s[2] == 'b' || s[2] == 'y') &&
           s[3] == '$';
}

/* Compare without an early exit, so timing does not tell how much matched. */
static bool same_text(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static bool password_ok(resolver *r, const user *u, const char *pass)
{
    if (!is_bcrypt(u->password))
        return same_text(u->password, pass);
    const char *h = crypt_r(pass, u->password, r->crypt);
    return h && h[0] != '*' && same_text(h, u->password);
}

static void decide(resolver *r, const job *j)
{
    const tern_host_api *api = r->api;
    /* The table can only change on this thread: no lock needed to read. */
    const user *u = table_find(r->users, j->user);
    bool ok = u && password_ok(r, u, j->pass);
    if (ok && u->account && !api->account_exists(r->m, u->account)) {
        api->log(r->m, TERN_LOG_LEVEL_WARN, "user %s: account %s does not exist: refused",
                 u->name, u->account);
        ok = false;
    }
    if (ok && u->permissions && !r->has_ex) {
        /* Letting the user in without its limits would widen its rights. */
        api->log(r->m, TERN_LOG_LEVEL_WARN,
                 "user %s has permissions, which this ternd cannot apply "
                 "(no auth_complete_ex): refused", u->name);
        ok = false;
    }
    tern_verdict v = ok ? TERN_VERDICT_ALLOW : TERN_VERDICT_DENY;
    const char *account = ok ? u->account : NULL;
    /* TERN_ESTALE (the client left or timed out meanwhile) needs nothing. */
    if (r->has_ex)
        api->auth_complete_ex(j->token, v, account, ok ? u->permissions : NULL,
                              ok ? u->name : NULL);
    else
        api->auth_complete(j->token, v, account);
}

static void job_free(job *j)
{
    if (j->pass)
        memset(j->pass, 0, strlen(j->pass));   /* do not leave passwords in the heap */
    free(j->user), free(j->pass), free(j->dir);
    free(j);
}

static void *run(void *arg)
{
    resolver *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (!r->head && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        job *j = r->head;
        if (j && !(r->head = j->next))
            r->tail = NULL;
        bool stopping = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (!j)
            return NULL;   /* stopping, and every queued job is done */
        if (j->kind == JOB_AUTH) {
            decide(r, j);
        } else if (!stopping) {
            if (j->dir) {
                free(r->dir);
                r->dir = j->dir;
                j->dir = NULL;
            }
            char why[512];
            table *t = scan(r, r->dir, why, sizeof why);
            if (t)
                install_table(r, t, r->dir, j->quiet ? TERN_LOG_LEVEL_DEBUG : TERN_LOG_LEVEL_INFO);
            else
                r->api->log(r->m, TERN_LOG_LEVEL_ERROR, "%s (users unchanged)", why);
        }
        job_free(j);
    }
}

static void push(resolver *r, job *j)
{
    pthread_mutex_lock(&r->mu);
    if (r->tail)
        r->tail->next = j;
    else
        r->head = j;
    r->tail = j;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void request_scan(resolver *r, const char *dir, bool quiet)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->kind = JOB_SCAN;
    j->quiet = quiet;
    j->dir = dir ? strdup(dir) : NULL;
    push(r, j);
}

/* ---- hooks and timers ------------------------------------------------------ */

/* A worker thread, concurrently with other workers: never block. */
static tern_verdict on_auth(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    resolver *r = ud;
    const tern_evt_auth *ev = (const tern_evt_auth *)hdr;
    bool known = false;
    if (ev->user && *ev->user) {
        pthread_rwlock_rdlock(&r->table_lock);
        known = table_find(r->users, ev->user) != NULL;
        pthread_rwlock_unlock(&r->table_lock);
    }
    if (!known)   /* not ours: deny, or let the next hook / conf.d decide */
        return atomic_load(&r->unknown) == UNKNOWN_IGNORE ? TERN_VERDICT_IGNORE
                                                          : TERN_VERDICT_DENY;
    /* The event's strings are borrowed until we return: copy them, and
     * the token (plain numbers), for the module's thread. */
    job *j = calloc(1, sizeof *j);
    if (j) {
        j->kind = JOB_AUTH;
        j->token = ev->token;
        j->user = strdup(ev->user);
        j->pass = strdup(ev->pass ? ev->pass : "");
    }
    if (!j || !j->user || !j->pass) {
        if (j)
            job_free(j);
        return TERN_VERDICT_DENY;
    }
    push(r, j);
    return TERN_VERDICT_PENDING;
}

/* Main thread, after every reload of the server (SIGHUP), whether or not
 * this module's configuration changed: the files may have. */
static tern_verdict on_reloaded(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m, (void)hdr;
    request_scan(ud, NULL, false);
    return TERN_VERDICT_IGNORE;
}

static void on_timer(tern_module *m, uint64_t id, void *ud)
{
    (void)m, (void)id;
    request_scan(ud, NULL, true);
}

static tern_rc timer_set(resolver *r, int64_t refresh_ms)
{
    if (r->timer)
        r->api->timer_stop(r->m, r->timer);
    r->timer = 0;
    r->refresh_ms = refresh_ms;
    if (refresh_ms <= 0)
        return TERN_OK;
    return r->api->timer_start(r->m, (uint64_t)refresh_ms, (uint64_t)refresh_ms, on_timer, r,
                               &r->timer);
}

/* ---- lifecycle ---------------------------------------------------------------- */

static tern_rc dr_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    settings s;
    tern_rc rc = settings_read(m, api, conf, &s);
    api->free(s.dir);
    return rc;
}

static void resolver_free(resolver *r)
{
    table_free(r->users);
    pthread_rwlock_destroy(&r->table_lock);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->dir);
    free(r->crypt);
    free(r);
}

static tern_rc dr_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                       void **self)
{
    settings s;
    if (settings_read(m, api, conf, &s) != TERN_OK)
        return TERN_EINVAL;   /* api->error(m) already says where and why */
    resolver *r = calloc(1, sizeof *r);
    struct crypt_data *cd = calloc(1, sizeof *cd);   /* ~32 KiB: not on a stack */
    char *dir = strdup(s.dir);
    api->free(s.dir);
    if (!r || !cd || !dir) {
        free(r), free(cd), free(dir);
        return TERN_ENOMEM;
    }
    r->api = api;
    r->m = m;
    r->crypt = cd;
    r->dir = dir;
    atomic_init(&r->unknown, s.unknown);
    /* A 1.1 slot: present on servers that can apply per-user permissions. */
    r->has_ex = TERN_API_HAS(api, auth_complete_ex);
    pthread_rwlock_init(&r->table_lock, NULL);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);

    /* The first read happens here, before any client can ask: a server
     * that just started knows its users. */
    char why[512];
    table *t = scan(r, r->dir, why, sizeof why);
    if (!t) {
        api->set_error(m, "%s", why);
        resolver_free(r);
        return TERN_EINVAL;
    }
    install_table(r, t, r->dir, TERN_LOG_LEVEL_INFO);

    tern_rc rc = api->hook_register(m, TERN_EVT_AUTH, TERN_PRIO_DEFAULT, on_auth, r);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_RELOADED, TERN_PRIO_DEFAULT, on_reloaded, r);
    if (rc == TERN_OK)
        rc = timer_set(r, s.refresh_ms);
    if (rc == TERN_OK && pthread_create(&r->thread, NULL, run, r) != 0) {
        api->set_error(m, "cannot start the resolver thread");
        rc = TERN_ENOMEM;
    }
    if (rc != TERN_OK) {   /* the server removes the hooks and the timer */
        resolver_free(r);
        return rc;
    }
    if (!r->has_ex)
        api->log(m, TERN_LOG_LEVEL_WARN, "this ternd has no auth_complete_ex: users with "
                 "permissions are refused");
    *self = r;
    return TERN_OK;
}

/* The module's configuration changed (main thread, workers paused). */
static tern_rc dr_reload(void *self, const tern_config *conf)
{
    resolver *r = self;
    settings s;
    if (settings_read(r->m, r->api, conf, &s) != TERN_OK)
        return TERN_EINVAL;   /* the old configuration stays */
    tern_rc rc = s.refresh_ms != r->refresh_ms ? timer_set(r, s.refresh_ms) : TERN_OK;
    if (rc == TERN_OK) {
        atomic_store(&r->unknown, s.unknown);
        request_scan(r, s.dir, false);
    }
    r->api->free(s.dir);
    return rc;
}

/* Main thread; the hooks and the timer are already gone. The thread
 * answers what is still queued before it stops: no client waits for a
 * decision that will never come. */
static void dr_fini(void *self)
{
    resolver *r = self;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    resolver_free(r);
}

TERN_MODULE_DEFINE(.name = "dir_resolver", .version = "1.0",
                   .description = "users and accounts from a directory of JSON files",
                   .init = dr_init, .reload = dr_reload, .fini = dr_fini,
                   .validate = dr_validate)

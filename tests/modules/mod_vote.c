/* Test module "vote": an authentication hook with a fixed verdict, for
 * hook ordering and asynchronous completion. Loaded under several
 * instance names with path:.
 *
 * Configuration:
 *   verdict: allow | deny | ignore | async | hold   (default allow)
 *     async: PENDING, then ALLOW from the module's own thread right away
 *     hold:  PENDING; the token is kept until a request on
 *            "vote.<tag>.release", which completes every kept token from
 *            the module's thread and answers "ok=<n> stale=<n>"
 *   prio: the hook's priority (default 0)
 *   user: decide only for this user name (others: ignore)
 *   account: the account an ALLOW binds to
 *   tag: names the subjects (default "vote")
 * "vote.<tag>.stats" answers "connected=<n> closed=<n> held=<n>". */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/module.h>

enum mode { ALLOW, DENY, IGNORE, ASYNC, HOLD };

typedef struct job {
    struct job *next;
    tern_async  token;
    bool        release;          /* a release request, not a token */
    char        reply[128];
} job;

typedef struct vote {
    const tern_host_api *api;
    tern_module         *m;
    enum mode            mode;
    char                 user[64], account[64], tag[32];
    _Atomic uint64_t     connected, closed;
    pthread_t            thread;
    pthread_mutex_t      mu;
    pthread_cond_t       cv;
    job                 *queue, *queue_tail;
    tern_async           held[64];
    size_t               nheld;       /* the thread's */
    _Atomic size_t       nheld_seen;
    bool                 stop;
} vote;

static const char *const keys[] = { "verdict", "prio", "user", "account", "tag", NULL };

static tern_rc read_str(vote *v, const tern_config *conf, const char *key, char *out, size_t n)
{
    const char *s = NULL;
    tern_rc rc = v->api->conf_str(v->m, v->api->conf_get(conf, key), &s);
    if (rc == TERN_OK)
        snprintf(out, n, "%s", s);
    return rc == TERN_ENOENT ? TERN_OK : rc;
}

static void push(vote *v, job *j)
{
    pthread_mutex_lock(&v->mu);
    if (v->queue_tail)
        v->queue_tail->next = j;
    else
        v->queue = j;
    v->queue_tail = j;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
}

/* The module's own thread: completions happen here, off every loop. */
static void *run(void *arg)
{
    vote *v = arg;
    for (;;) {
        pthread_mutex_lock(&v->mu);
        while (!v->queue && !v->stop)
            pthread_cond_wait(&v->cv, &v->mu);
        job *j = v->queue;
        if (j) {
            v->queue = j->next;
            if (!v->queue)
                v->queue_tail = NULL;
        }
        bool stop = v->stop && !j;
        pthread_mutex_unlock(&v->mu);
        if (stop)
            return NULL;
        const char *acc = v->account[0] ? v->account : NULL;
        if (j->release) {
            int ok = 0, stale = 0;
            for (size_t i = 0; i < v->nheld; i++) {
                if (v->api->auth_complete(v->held[i], TERN_VERDICT_ALLOW, acc) == TERN_OK)
                    ok++;
                else
                    stale++;
            }
            v->nheld = 0;
            atomic_store(&v->nheld_seen, 0);
            char text[64];
            int n = snprintf(text, sizeof text, "ok=%d stale=%d", ok, stale);
            v->api->publish(v->m, NULL, j->reply, NULL, text, (size_t)n);
        } else if (v->mode == HOLD) {
            if (v->nheld < 64)
                v->held[v->nheld++] = j->token;
            atomic_store(&v->nheld_seen, v->nheld);
        } else {
            v->api->auth_complete(j->token, TERN_VERDICT_ALLOW, acc);
        }
        free(j);
    }
}

static tern_verdict on_auth(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    vote *v = ud;
    const tern_evt_auth *ev = (const tern_evt_auth *)hdr;
    if (v->user[0] && (!ev->user || strcmp(ev->user, v->user) != 0))
        return TERN_VERDICT_IGNORE;
    switch (v->mode) {
    case ALLOW:
        ((tern_evt_auth *)ev)->account = v->account[0] ? v->account : NULL;
        return TERN_VERDICT_ALLOW;
    case DENY:
        return TERN_VERDICT_DENY;
    case IGNORE:
        return TERN_VERDICT_IGNORE;
    case ASYNC:
    case HOLD:
        break;
    }
    job *j = calloc(1, sizeof *j);
    if (!j)
        return TERN_VERDICT_DENY;
    j->token = ev->token;
    push(v, j);
    return TERN_VERDICT_PENDING;
}

static tern_verdict on_client(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    vote *v = ud;
    atomic_fetch_add(hdr->evt == TERN_EVT_CLIENT_CONNECTED ? &v->connected : &v->closed, 1);
    return TERN_VERDICT_IGNORE;
}

static void on_msg(tern_module *m, const char *subject, const char *reply, const void *data,
                   size_t len, void *ud)
{
    (void)data, (void)len;
    vote *v = ud;
    if (!reply)
        return;
    if (strstr(subject, ".release")) {
        job *j = calloc(1, sizeof *j);
        if (!j)
            return;
        j->release = true;
        snprintf(j->reply, sizeof j->reply, "%s", reply);
        push(v, j);
        return;
    }
    char text[96];
    int n = snprintf(text, sizeof text, "connected=%llu closed=%llu held=%zu",
                     (unsigned long long)atomic_load(&v->connected),
                     (unsigned long long)atomic_load(&v->closed), atomic_load(&v->nheld_seen));
    v->api->publish(m, NULL, reply, NULL, text, (size_t)n);
}

static tern_rc vote_read(vote *v, const tern_config *conf, int64_t *prio)
{
    const tern_host_api *api = v->api;
    if (api->conf_check_keys(v->m, conf, keys) != TERN_OK)
        return TERN_EINVAL;
    char verdict[16] = "allow";
    tern_rc rc = read_str(v, conf, "verdict", verdict, sizeof verdict);
    if (rc == TERN_OK) {
        static const char *const names[] = { "allow", "deny", "ignore", "async", "hold" };
        size_t i = 0;
        while (i < 5 && strcmp(names[i], verdict) != 0)
            i++;
        if (i == 5)
            return api->conf_error(v->m, api->conf_get(conf, "verdict"),
                                   "verdict must be allow, deny, ignore, async or hold");
        v->mode = (enum mode)i;
    }
    snprintf(v->tag, sizeof v->tag, "vote");
    if (rc == TERN_OK)
        rc = read_str(v, conf, "user", v->user, sizeof v->user);
    if (rc == TERN_OK)
        rc = read_str(v, conf, "account", v->account, sizeof v->account);
    if (rc == TERN_OK)
        rc = read_str(v, conf, "tag", v->tag, sizeof v->tag);
    *prio = 0;
    if (rc == TERN_OK && api->conf_int(v->m, api->conf_get(conf, "prio"), prio) == TERN_EINVAL)
        rc = TERN_EINVAL;
    return rc;
}

static tern_rc vote_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    vote v = { .api = api, .m = m };
    int64_t prio;
    return vote_read(&v, conf, &prio);
}

static tern_rc vote_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                         void **self)
{
    vote *v = calloc(1, sizeof *v);
    if (!v)
        return TERN_ENOMEM;
    v->api = api;
    v->m = m;
    int64_t prio = 0;
    tern_rc rc = vote_read(v, conf, &prio);
    char subj[64];
    if (rc == TERN_OK) {
        snprintf(subj, sizeof subj, "vote.%s.*", v->tag);
        rc = api->sub_add(m, NULL, subj, NULL, on_msg, v, NULL);
    }
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_AUTH, (int32_t)prio, on_auth, v);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_CLIENT_CONNECTED, 0, on_client, v);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_CLIENT_CLOSED, 0, on_client, v);
    if (rc != TERN_OK) {
        free(v);
        return rc;
    }
    pthread_mutex_init(&v->mu, NULL);
    pthread_cond_init(&v->cv, NULL);
    if (pthread_create(&v->thread, NULL, run, v) != 0) {
        api->set_error(m, "cannot start a thread");
        free(v);
        return TERN_ENOMEM;
    }
    *self = v;
    return TERN_OK;
}

static void vote_fini(void *self)
{
    vote *v = self;
    pthread_mutex_lock(&v->mu);
    v->stop = true;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
    pthread_join(v->thread, NULL);
    while (v->queue) {
        job *j = v->queue;
        v->queue = j->next;
        free(j);
    }
    pthread_mutex_destroy(&v->mu);
    pthread_cond_destroy(&v->cv);
    free(v);
}

TERN_MODULE_DEFINE(.name = "vote", .version = "1.0",
                   .description = "test module: authentication verdicts", .init = vote_init,
                   .fini = vote_fini, .validate = vote_validate)

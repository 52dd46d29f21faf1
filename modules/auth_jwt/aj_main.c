/* auth_jwt: the module's life cycle, its hooks and the main queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "aj.h"

#define AJ_PUMP_MS 5           /* how often the main thread looks at its queue */

/* The out fields of a synchronous ALLOW are copied by the server before
 * the hook returns: per-thread buffers suffice. */
static __thread char t_perms[16384], t_name[AJ_KEY], t_acc[AJ_KEY];

void aj_mq_push(aj *a, aj_mq *q)
{
    pthread_mutex_lock(&a->mu);
    if (a->mq_tail)
        a->mq_tail->next = q;
    else
        a->mq = q;
    a->mq_tail = q;
    pthread_mutex_unlock(&a->mu);
}

void aj_respond(aj *a, const char *reply, const char *acc, const char *message,
                const char *error)
{
    if (!reply)
        return;
    json_t *r = json_object(), *srv = json_object(), *d = json_object();
    json_object_set_new(srv, "id", json_string(a->server_id));
    json_object_set_new(r, "server", srv);
    if (acc)
        json_object_set_new(d, "account", json_string(acc));
    if (!error) {
        json_object_set_new(d, "code", json_integer(200));
        json_object_set_new(d, "message", json_string(message));
        json_object_set_new(r, "data", d);
    } else {
        char text[600];
        snprintf(text, sizeof text, "%s - %s", message, error);
        json_object_set_new(d, "code", json_integer(500));
        json_object_set_new(d, "description", json_string(text));
        json_object_set_new(r, "error", d);
    }
    char *s = json_dumps(r, JSON_COMPACT);
    a->api->publish(a->m, a->sys_bind, reply, NULL, s, strlen(s));
    free(s);
    json_decref(r);
}

void aj_lookup_request(aj *a, const char *pub)
{
    char subject[128], reply[200];
    snprintf(subject, sizeof subject, "$SYS.REQ.ACCOUNT.%s.CLAIMS.LOOKUP", pub);
    snprintf(reply, sizeof reply, "%s.%s", a->inbox, pub);
    a->api->publish(a->m, a->sys_bind, subject, reply, "", 0);
}

static const char *bind_name(aj *a, const char *pub)
{
    return a->conf.system_account && !strcmp(pub, a->conf.system_account) ? a->sys_bind : pub;
}

/* until: the end of the user's time window (0: none), an expiry too. */
static void track(aj *a, uint64_t cid, json_t *user, const char *acc, int64_t until)
{
    aj_cli *c = calloc(1, sizeof *c);
    c->cid = cid;
    snprintf(c->user, sizeof c->user, "%s", json_string_value(json_object_get(user, "sub")));
    snprintf(c->account, sizeof c->account, "%s", acc);
    c->iat = json_integer_value(json_object_get(user, "iat"));
    c->exp = json_integer_value(json_object_get(user, "exp"));
    if (until > 0 && (c->exp <= 0 || until < c->exp))
        c->exp = until;
    pthread_mutex_lock(&a->mu);
    c->next = a->clis;
    a->clis = c;
    pthread_mutex_unlock(&a->mu);
}

static const char *user_account(json_t *user)
{
    const char *ia = json_string_value(json_object_get(json_object_get(user, "nats"),
                                                       "issuer_account"));
    return ia && *ia ? ia : json_string_value(json_object_get(user, "iss"));
}

/* Decide a user against its (applied) account: *perms on ALLOW. */
static bool decide(aj *a, json_t *user, const char *acc, const char *ip, bool sig_ok,
                   char **perms, int64_t *until, char *why, size_t wl)
{
    pthread_mutex_lock(&a->mu);
    aj_acc *x = aj_find(a, acc);
    /* a private copy: workers decide concurrently, and a shared object's
     * last release on another thread looks like a race to the sanitizer
     * (jansson's atomic reference counts are invisible to it) */
    json_t *cl = x && x->applied ? json_deep_copy(x->claims) : NULL;
    bool deleted = x && x->deleted;
    pthread_mutex_unlock(&a->mu);
    if (!cl) {
        *perms = NULL;
        snprintf(why, wl, "account %s not found", acc);
        return false;
    }
    bool ok = aj_user_finish(a, user, cl, deleted, ip, sig_ok, perms, until, why, wl);
    json_decref(cl);
    return ok;
}

static void deny_log(aj *a, json_t *user, const char *why)
{
    const char *sub = json_string_value(json_object_get(user, "sub"));
    a->api->log(a->m, TERN_LOG_LEVEL_INFO, "user %s refused: %s", sub ? sub : "?", why);
}

/* Finish a pending authentication (main thread). */
static void complete(aj *a, aj_pend *p, bool fail)
{
    char why[256] = "account could not be resolved", *perms = NULL;
    int64_t until = 0;
    bool ok = !fail &&
              decide(a, p->user, p->account, p->ip, p->sig_ok, &perms, &until, why, sizeof why);
    if (ok) {
        const char *name = json_string_value(json_object_get(p->user, "sub"));
        if (a->api->auth_complete_ex(p->token, TERN_VERDICT_ALLOW, bind_name(a, p->account),
                                     perms, name) == TERN_OK)
            track(a, p->token.cid, p->user, p->account, until);
    } else {
        deny_log(a, p->user, why);
        a->api->auth_complete_ex(p->token, TERN_VERDICT_DENY, NULL, NULL, NULL);
    }
    free(perms);
    json_decref(p->user);
    free(p);
}

static tern_verdict on_auth(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    aj *a = ud;
    const tern_evt_auth *ev = (const tern_evt_auth *)hdr;
    if (hdr->size < offsetof(tern_evt_auth, user_name) + sizeof ev->user_name)
        return TERN_VERDICT_IGNORE;
    if (!ev->jwt) {
        a->api->log(m, TERN_LOG_LEVEL_INFO, "client without a user JWT refused (operator mode)");
        return TERN_VERDICT_DENY;
    }
    char *text = NULL;
    if (a->api->jwt_decode(m, ev->jwt, &text) != TERN_OK) {
        a->api->log(m, TERN_LOG_LEVEL_INFO, "user JWT refused: %s", a->api->error(m));
        return TERN_VERDICT_DENY;
    }
    json_t *user = json_loads(text, 0, NULL);
    a->api->free(text);
    char why[256];
    bool sig_ok = false;
    if (!user || !aj_user_precheck(a, user, ev, &sig_ok, why, sizeof why)) {
        deny_log(a, user, user ? why : "claims are not JSON");
        json_decref(user);
        return TERN_VERDICT_DENY;
    }
    char acc[AJ_KEY];
    const char *ua = user_account(user);
    snprintf(acc, sizeof acc, "%s", ua ? ua : "");
    pthread_mutex_lock(&a->mu);
    aj_acc *x = aj_find(a, acc);
    bool ready = x && x->applied;
    int rtype = a->conf.rtype;
    if (!ready && (x || rtype != AJ_RES_MEMORY)) {
        aj_pend *p = calloc(1, sizeof *p);
        p->token = ev->token;
        snprintf(p->account, sizeof p->account, "%s", acc);
        snprintf(p->ip, sizeof p->ip, "%s", ev->ip ? ev->ip : "");
        p->sig_ok = sig_ok;
        p->user = user;
        p->deadline_ms = aj_now_ms() + a->conf.timeout_ms;
        p->next = a->pend;
        a->pend = p;
        pthread_mutex_unlock(&a->mu);
        if (x) {                       /* known, not applied yet: the main thread applies */
            aj_mq *q = calloc(1, sizeof *q);
            q->kind = AJ_MQ_APPLY;
            snprintf(q->pub, sizeof q->pub, "%s", acc);
            aj_mq_push(a, q);
        } else if (rtype == AJ_RES_URL) {  /* fetched from the main loop */
            aj_mq *q = calloc(1, sizeof *q);
            q->kind = AJ_MQ_FETCH;
            snprintf(q->pub, sizeof q->pub, "%s", acc);
            aj_mq_push(a, q);
        } else {
            aj_lookup_request(a, acc);
        }
        return TERN_VERDICT_PENDING;
    }
    pthread_mutex_unlock(&a->mu);
    char *perms = NULL;
    int64_t until = 0;
    if (!decide(a, user, acc, ev->ip, sig_ok, &perms, &until, why, sizeof why)) {
        deny_log(a, user, why);
        json_decref(user);
        return TERN_VERDICT_DENY;
    }
    tern_evt_auth *out = (tern_evt_auth *)hdr;
    if (perms && strlen(perms) >= sizeof t_perms) {
        /* too long for the per-thread buffer: completed from the main queue */
        aj_pend *p = calloc(1, sizeof *p);
        p->token = ev->token;
        snprintf(p->account, sizeof p->account, "%s", acc);
        snprintf(p->ip, sizeof p->ip, "%s", ev->ip ? ev->ip : "");
        p->sig_ok = sig_ok;
        p->user = user;
        aj_mq *q = calloc(1, sizeof *q);
        q->kind = AJ_MQ_COMPLETE;
        q->pend = p;
        aj_mq_push(a, q);
        free(perms);
        return TERN_VERDICT_PENDING;
    }
    snprintf(t_perms, sizeof t_perms, "%s", perms ? perms : "");
    snprintf(t_name, sizeof t_name, "%s", json_string_value(json_object_get(user, "sub")));
    snprintf(t_acc, sizeof t_acc, "%s", bind_name(a, acc));
    out->permissions = perms ? t_perms : NULL;
    out->user_name = t_name;
    out->account = t_acc;
    free(perms);
    track(a, ev->token.cid, user, acc, until);
    json_decref(user);
    return TERN_VERDICT_ALLOW;
}

static tern_verdict on_closed(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    aj *a = ud;
    const tern_evt_client *ev = (const tern_evt_client *)hdr;
    pthread_mutex_lock(&a->mu);
    for (aj_cli **p = &a->clis; *p; p = &(*p)->next)
        if ((*p)->cid == ev->cid) {
            aj_cli *c = *p;
            *p = c->next;
            free(c);
            break;
        }
    pthread_mutex_unlock(&a->mu);
    return TERN_VERDICT_IGNORE;
}

/* Once a second: users and accounts whose JWT expired are closed. */
static tern_verdict on_tick(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)hdr;
    aj *a = ud;
    int64_t now = aj_now_s();
    typedef struct victim { uint64_t cid; const char *why; } victim;
    victim *v = NULL;
    size_t n = 0;
    pthread_mutex_lock(&a->mu);
    for (aj_cli *c = a->clis; c; c = c->next) {
        aj_acc *x = aj_find(a, c->account);
        int64_t aexp = x ? json_integer_value(json_object_get(x->claims, "exp")) : 0;
        const char *why = c->exp > 0 && c->exp <= now   ? "User Authentication Expired"
                          : aexp > 0 && aexp <= now     ? "Account Authentication Expired"
                                                        : NULL;
        if (why) {
            v = realloc(v, (n + 1) * sizeof *v);
            v[n++] = (victim){ c->cid, why };
        }
    }
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n; i++)
        a->api->client_close(m, v[i].cid, v[i].why);
    free(v);
    return TERN_VERDICT_IGNORE;
}

/* Pendings for account pub (or past their deadline when pub is NULL),
 * unlinked. Under mu. */
static aj_pend *take_pend(aj *a, const char *pub, int64_t now)
{
    aj_pend *out = NULL;
    for (aj_pend **p = &a->pend; *p;) {
        aj_pend *x = *p;
        if (pub ? !strcmp(x->account, pub) : x->deadline_ms <= now) {
            *p = x->next;
            x->next = out;
            out = x;
        } else {
            p = &x->next;
        }
    }
    return out;
}

void aj_mq_drain(aj *a)
{
    pthread_mutex_lock(&a->mu);
    aj_mq *q = a->mq;
    a->mq = a->mq_tail = NULL;
    aj_pend *late = a->pend ? take_pend(a, NULL, aj_now_ms()) : NULL;
    pthread_mutex_unlock(&a->mu);
    while (q) {
        aj_mq *next = q->next;
        if (q->kind == AJ_MQ_COMPLETE) {
            complete(a, q->pend, false);
        } else if (q->kind == AJ_MQ_FETCH) {
            aj_url_fetch(a, q->pub);
        } else {
            if (q->kind == AJ_MQ_APPLY) {
                aj_apply(a, q->pub);
                aj_sweep(a, q->pub);
            }
            pthread_mutex_lock(&a->mu);
            aj_pend *p = take_pend(a, q->pub, 0);
            pthread_mutex_unlock(&a->mu);
            while (p) {
                aj_pend *pn = p->next;
                complete(a, p, q->kind == AJ_MQ_FAIL);
                p = pn;
            }
            if (q->reply)
                aj_respond(a, q->reply, q->pub, q->message ? q->message : "jwt updated", NULL);
        }
        free(q->reply);
        free(q->message);
        free(q);
        q = next;
    }
    while (late) {
        aj_pend *pn = late->next;
        complete(a, late, true);
        late = pn;
    }
}

static void pump(tern_module *m, uint64_t id, void *ud)
{
    (void)m, (void)id;
    aj_mq_drain(ud);
}

/* The preloaded JWTs into the store: TERN_EINVAL for one that does not
 * verify (as nats-server refuses to start). Under mu or before threads. */
static tern_rc load_preload(aj *a, const aj_conf *c, bool store)
{
    const char *pub;
    json_t *v;
    json_object_foreach(c->preload, pub, v) {
        char why[256];
        json_t *cl = aj_account_decode(a, c, json_string_value(v), pub, why, sizeof why);
        if (!cl) {
            a->api->set_error(a->m, "resolver preload %s: %s", pub, why);
            return TERN_EINVAL;
        }
        aj_acc *x = aj_find(a, pub);
        if (store && (!x || strcmp(x->jwt, json_string_value(v)) != 0))
            aj_store(a, pub, json_string_value(v), cl);
        json_decref(cl);
    }
    return TERN_OK;
}

static tern_rc aj_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    aj tmp = { .api = api, .m = m };
    tern_rc rc = aj_conf_read(m, api, conf, &tmp.conf);
    if (rc == TERN_OK)
        rc = load_preload(&tmp, &tmp.conf, false);
    aj_conf_free(&tmp.conf);
    return rc;
}

static void aj_free(aj *a)
{
    aj_resolver_stop(a);
    while (a->accs) {
        aj_acc *x = a->accs;
        a->accs = x->next;
        free(x->jwt);
        json_decref(x->claims);
        free(x);
    }
    while (a->pend) {
        aj_pend *p = a->pend;
        a->pend = p->next;
        json_decref(p->user);
        free(p);
    }
    while (a->clis) {
        aj_cli *c = a->clis;
        a->clis = c->next;
        free(c);
    }
    while (a->mq) {
        aj_mq *q = a->mq;
        a->mq = q->next;
        if (q->pend) {
            json_decref(q->pend->user);
            free(q->pend);
        }
        free(q->reply);
        free(q->message);
        free(q);
    }
    aj_conf_free(&a->conf);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static void apply_all(aj *a)
{
    size_t n = 0;
    pthread_mutex_lock(&a->mu);
    for (aj_acc *x = a->accs; x; x = x->next)
        n++;
    char (*pubs)[AJ_KEY] = calloc(n + 1, sizeof *pubs);
    n = 0;
    for (aj_acc *x = a->accs; x; x = x->next)
        if (!x->applied)
            snprintf(pubs[n++], AJ_KEY, "%s", x->pub);
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n; i++) {
        aj_apply(a, pubs[i]);
        aj_sweep(a, pubs[i]);
    }
    free(pubs);
}

static tern_rc aj_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                       void **self)
{
    aj *a = calloc(1, sizeof *a);
    a->api = api;
    a->m = m;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cond, NULL);
    tern_rc rc = aj_conf_read(m, api, conf, &a->conf);
    if (rc != TERN_OK) {
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return rc;
    }
    snprintf(a->server_id, sizeof a->server_id, "%s", api->server_id(m));
    const char *sys = a->conf.system_account;
    /* The system account is the kernel's: named by its public key when
     * conf.d's system_account says so, else the kernel's $SYS. */
    snprintf(a->sys_bind, sizeof a->sys_bind, "%s",
             sys && api->account_exists(m, sys) ? sys : "$SYS");
    unsigned char rnd[6];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        memset(rnd, 7, sizeof rnd);
    snprintf(a->inbox, sizeof a->inbox, "$SYS._INBOX.ajwt%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5]);
    if ((rc = load_preload(a, &a->conf, true)) != TERN_OK ||
        ((a->conf.rtype == AJ_RES_FULL || a->conf.rtype == AJ_RES_CACHE) && aj_dir_load(a) != 0)) {
        aj_free(a);
        return rc != TERN_OK ? rc : TERN_EINVAL;
    }
    if (aj_resolver_start(a) != 0) {
        api->set_error(m, "cannot start the resolver thread or libcurl");
        aj_free(a);
        return TERN_ENOMEM;
    }
    apply_all(a);
    if ((rc = api->hook_register(m, TERN_EVT_AUTH, TERN_PRIO_DEFAULT, on_auth, a)) != TERN_OK ||
        (rc = api->hook_register(m, TERN_EVT_CLIENT_CLOSED, TERN_PRIO_DEFAULT, on_closed, a)) !=
            TERN_OK ||
        (rc = api->hook_register(m, TERN_EVT_TICK, TERN_PRIO_DEFAULT, on_tick, a)) != TERN_OK ||
        (rc = aj_claims_subscribe(a)) != TERN_OK ||
        (rc = aj_pack_configure(a)) != TERN_OK ||
        (rc = api->timer_start(m, AJ_PUMP_MS, AJ_PUMP_MS, pump, a, NULL)) != TERN_OK) {
        api->set_error(m, "auth_jwt: cannot register its hooks, subscriptions or timer (%d)",
                       (int)rc);
        aj_free(a);
        return rc;
    }
    api->log(m, TERN_LOG_LEVEL_INFO, "operator mode: %zu trusted keys, %s resolver, system "
             "account %s", a->conf.ntrusted,
             (const char *[]){ "memory", "url", "full", "cache" }[a->conf.rtype],
             sys ? sys : "(none)");
    *self = a;
    return TERN_OK;
}

/* Workers are paused: the configuration is swapped; changed preloaded
 * accounts apply at once (revoked users are closed). */
static tern_rc aj_reload(void *self, const tern_config *conf)
{
    aj *a = self;
    aj_conf next;
    tern_rc rc = aj_conf_read(a->m, a->api, conf, &next);
    if (rc != TERN_OK)
        return rc;
    pthread_mutex_lock(&a->mu);
    rc = load_preload(a, &next, false);
    if (rc == TERN_OK) {
        aj_conf old = a->conf;
        a->conf = next;
        /* accounts preloaded before and not any more are gone */
        const char *pub;
        json_t *v;
        json_object_foreach(old.preload, pub, v) {
            aj_acc *x = aj_find(a, pub);
            if (x && !json_object_get(next.preload, pub) && a->conf.rtype == AJ_RES_MEMORY) {
                x->deleted = true;
                x->applied = false;
            }
        }
        load_preload(a, &a->conf, true);
        aj_conf_free(&old);
    } else {
        aj_conf_free(&next);
    }
    pthread_mutex_unlock(&a->mu);
    if (rc != TERN_OK)
        return rc;
    apply_all(a);
    if ((rc = aj_pack_configure(a)) != TERN_OK)
        return rc;
    pthread_mutex_lock(&a->mu);
    size_t n = 0;
    for (aj_acc *x = a->accs; x; x = x->next)
        n++;
    char (*pubs)[AJ_KEY] = calloc(n + 1, sizeof *pubs);
    n = 0;
    for (aj_acc *x = a->accs; x; x = x->next)
        if (x->deleted)
            snprintf(pubs[n++], AJ_KEY, "%s", x->pub);
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n; i++)
        aj_sweep(a, pubs[i]);
    free(pubs);
    return TERN_OK;
}

static void aj_fini(void *self)
{
    aj *a = self;
    /* Authentications still waiting are refused (the hooks are gone). */
    while (a->pend) {
        aj_pend *p = a->pend;
        a->pend = p->next;
        a->api->auth_complete_ex(p->token, TERN_VERDICT_DENY, NULL, NULL, NULL);
        json_decref(p->user);
        free(p);
    }
    aj_free(a);
}

TERN_MODULE_DEFINE(.name = "auth_jwt", .version = "1.0",
                   .description = "NATS operator mode: operator, account and user JWTs, resolvers",
                   .init = aj_init, .reload = aj_reload, .fini = aj_fini,
                   .validate = aj_validate, .nats_keys = aj_nats_keys, .nats_map = aj_nats_map)

/* modules/leafnode: leaf node links wire-compatible with nats-server
 * 2.9 — the hub side (listen, authorize, bind to an account), the spoke
 * side (remotes with credentials and reconnect), pings, reload. The
 * protocol is in ln_conn.c, interest in ln_interest.c. */
#include "ln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <sodium.h>

#define LN_VERSION "1.0.0"

void ln_random_text(char *out, size_t n)
{
    static const char cs[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[64];
    if (n > sizeof rnd)
        n = sizeof rnd;
    if (getrandom(rnd, n, 0) != (ssize_t)n)
        memset(rnd, 7, n);
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = cs[rnd[i] % (sizeof cs - 1)];
    out[n - 1] = '\0';
}

/* ---- server facts --------------------------------------------------------- */

static void read_server_facts(ln *l)
{
    const tern_host_api *api = l->api;
    snprintf(l->server_id, sizeof l->server_id, "%s", api->server_id(l->m));
    l->max_payload = 1048576;
    char *doc = NULL;
    int status = 0;
    if (!TERN_API_HAS(api, document) || api->document(l->m, "varz", NULL, &status, &doc) ||
        status != 200 || !doc) {
        if (doc)
            api->free(doc);
        return;
    }
    json_t *v = json_loads(doc, 0, NULL);
    api->free(doc);
    const char *name = json_string_value(json_object_get(v, "server_name"));
    if (name && *name && !l->server_name)
        l->server_name = strdup(name);
    json_int_t mp = json_integer_value(json_object_get(v, "max_payload"));
    if (mp > 0)
        l->max_payload = mp;
    pthread_mutex_lock(&l->mu);
    l->client_auth = json_is_true(json_object_get(v, "auth_required"));
    pthread_mutex_unlock(&l->mu);
    json_decref(v);
}

/* The cluster this server is in (the cluster module answers /varz's
 * "cluster" section): a spoke names it in its CONNECT, as nats-server,
 * so that the hub keeps what one server of the cluster sends up from
 * the others, which have it over their routes. Main thread, without mu
 * (varz asks every info provider, this module's too). A failed read
 * keeps the name known. */
static void read_cluster_name(ln *l)
{
    const tern_host_api *api = l->api;
    char *doc = NULL;
    int status = 0;
    if (!TERN_API_HAS(api, document) || api->document(l->m, "varz", NULL, &status, &doc) ||
        status != 200 || !doc) {
        if (doc)
            api->free(doc);
        return;
    }
    json_t *v = json_loads(doc, 0, NULL);
    api->free(doc);
    if (!v)
        return;
    const char *n = json_string_value(json_object_get(json_object_get(v, "cluster"), "name"));
    char *name = n && *n ? strdup(n) : NULL;
    json_decref(v);
    pthread_mutex_lock(&l->mu);
    free(l->cluster_name);
    l->cluster_name = name;
    pthread_mutex_unlock(&l->mu);
}

/* ---- remotes ----------------------------------------------------------------- */

static char **strv_copy(char *const *v, size_t n)
{
    char **d = calloc(n + 1, sizeof *d);
    for (size_t i = 0; d && i < n; i++)
        d[i] = strdup(v[i]);
    return d;
}

static char *sdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void remote_copy(ln_remote *d, const ln_remote *s)
{
    memset(d, 0, sizeof *d);
    d->urls = calloc(s->nurls ? s->nurls : 1, sizeof *d->urls);
    for (size_t i = 0; d->urls && i < s->nurls; i++) {
        d->urls[i].text = sdup(s->urls[i].text);
        d->urls[i].host = sdup(s->urls[i].host);
        d->urls[i].port = s->urls[i].port;
        d->urls[i].user = sdup(s->urls[i].user);
        d->urls[i].pass = sdup(s->urls[i].pass);
        d->urls[i].tls = s->urls[i].tls;
        d->nurls++;
    }
    d->account = sdup(s->account);
    d->creds = sdup(s->creds);
    d->no_randomize = s->no_randomize;
    d->deny_imports = strv_copy(s->deny_imports, s->ndeny_imports);
    d->ndeny_imports = s->ndeny_imports;
    d->deny_exports = strv_copy(s->deny_exports, s->ndeny_exports);
    d->ndeny_exports = s->ndeny_exports;
    d->tls = s->tls;
    d->tls.cert = sdup(s->tls.cert);
    d->tls.key = sdup(s->tls.key);
    d->tls.ca = sdup(s->tls.ca);
}

static void dial_free(ln_dial *d)
{
    ln_remote_free(&d->conf);
    free(d->jwt);
    sodium_memzero(d->seed, sizeof d->seed);
    free(d);
}

/* A remote as a dial; credentials are read now, so a bad file fails the
 * (re)load rather than each connect. */
static ln_dial *dial_new(ln *l, const ln_remote *r, char *err, size_t errlen)
{
    ln_dial *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    remote_copy(&d->conf, r);
    if (r->creds) {
        if (ln_creds_read(r->creds, &d->jwt, d->seed, err, errlen) < 0) {
            dial_free(d);
            return NULL;
        }
        d->has_seed = true;
    }
    if (!r->no_randomize && r->nurls > 1)
        d->next_url = (size_t)rand_r(&l->seed) % r->nurls;
    d->due_ms = 1;
    return d;
}

void ln_dial_closed_locked(ln *l, ln_dial *d, bool loop)
{
    d->conn = 0;
    d->opened = false;
    if (d->removed)
        return;
    d->due_ms = ln_now_ms() + (uint64_t)(loop ? LN_LOOP_DELAY_MS : l->conf.reconnect_ms);
}

static tern_tls_spec tls_spec(const ln_tls_conf *t, bool dial, const char *host)
{
    tern_tls_spec s = {
        .size = sizeof s,
        .cert = t->cert,
        .key = t->key,
        .ca = t->ca,
        .verify = t->verify || (dial && !t->insecure),
        .first = false,            /* INFO goes in plain, then TLS */
        .timeout_ms = t->timeout_ms,
        .server_name = dial ? host : NULL,
        .insecure = dial && t->insecure,
    };
    return s;
}

static bool dial_is_due(const ln_dial *d, uint64_t now)
{
    return d->due_ms && d->due_ms <= now && !d->conn && !d->removed && d->conf.nurls;
}

static bool any_dial_due_locked(ln *l, uint64_t now)
{
    for (ln_dial *d = l->dials; d; d = d->next)
        if (dial_is_due(d, now))
            return true;
    return false;
}

static void dial_due_locked(ln *l, uint64_t now)
{
    for (ln_dial *d = l->dials; d; d = d->next) {
        if (!dial_is_due(d, now))
            continue;
        d->due_ms = 0;
        /* accounts are applied after modules on a reload: checked here */
        if (d->conf.account && !l->api->account_exists(l->m, d->conf.account)) {
            l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode remote %s: no local account \"%s\"",
                        d->conf.urls[0].text, d->conf.account);
            d->due_ms = now + LN_LOOP_DELAY_MS;
            continue;
        }
        const ln_url *u = &d->conf.urls[d->next_url % d->conf.nurls];
        d->next_url++;
        tern_tls_spec t = tls_spec(&d->conf.tls, true, u->host);
        uint64_t id = 0;
        tern_rc rc = l->api->dial(l->m, l->proto_spoke, u->host, u->port, d->conf.tls.on ? &t : NULL, &id);
        if (rc != TERN_OK) {
            l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode remote %s: %s", u->text,
                        l->api->error(l->m));
            d->due_ms = now + (uint64_t)l->conf.reconnect_ms;
            continue;
        }
        d->conn = id;
        d->opened = false;
    }
    for (ln_dial **p = &l->dials; *p;) {
        ln_dial *d = *p;
        if (d->removed && !d->conn) {
            *p = d->next;
            dial_free(d);
        } else {
            p = &d->next;
        }
    }
}

/* ---- timers ----------------------------------------------------------------- */

static void close_conn_locked(ln *l, ln_conn *c, const char *err, const char *reason)
{
    if (err)
        l->api->conn_write(l->m, c->id, err, strlen(err));
    l->api->conn_close(l->m, c->id, reason);
    c->closing = true;
}

static void conns_tick_locked(ln *l, uint64_t now)
{
    for (ln_conn *c = l->conns; c; c = c->next) {
        if (c->closing)
            continue;
        uint64_t age = now - c->created_ms;
        if (c->state != LN_S_REGISTERED) {
            if (!c->outbound && age >= (uint64_t)l->conf.auth_timeout_ms)
                close_conn_locked(l, c, "-ERR 'Authentication Timeout'\r\n", "Authentication Timeout");
            else if (c->outbound && c->state == LN_S_WAIT_INFO && age >= LN_INFO_WAIT_MS)
                close_conn_locked(l, c, "-ERR 'Stale Leaf Node Connection - Closing'\r\n",
                                  "Stale Connection");
            else if (c->outbound && c->state == LN_S_NEW && age >= LN_INFO_WAIT_MS)
                close_conn_locked(l, c, NULL, "No INFO from the hub");
            continue;
        }
        if (now - c->last_ping_ms < LN_PING_INTERVAL_MS)
            continue;
        c->last_ping_ms = now;
        if (c->pings_out + 1 > LN_PING_MAX) {
            close_conn_locked(l, c, "-ERR 'Stale Connection'\r\n", "Stale Connection");
            continue;
        }
        c->pings_out++;
        c->ping_sent_us = ln_now_us();
        l->api->conn_write(l->m, c->id, "PING\r\n", 6);
    }
}

/* Client authorization may have changed with the reload. */
static tern_verdict on_reloaded(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m, (void)hdr;
    read_server_facts(ud);
    return TERN_VERDICT_IGNORE;
}

static void on_tick(tern_module *m, uint64_t id, void *ud)
{
    (void)m, (void)id;
    ln *l = ud;
    uint64_t now = ln_now_ms();
    pthread_mutex_lock(&l->mu);
    bool due = any_dial_due_locked(l, now);
    pthread_mutex_unlock(&l->mu);
    if (due)
        read_cluster_name(l);   /* the CONNECT of this dial names it */
    pthread_mutex_lock(&l->mu);
    dial_due_locked(l, now);
    conns_tick_locked(l, now);
    pthread_mutex_unlock(&l->mu);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static tern_rc listen_on(ln *l, const ln_conf *cf, uint64_t *id, int *bound)
{
    *id = 0;
    *bound = 0;
    if (cf->port < 0)
        return TERN_OK;
    tern_tls_spec t = tls_spec(&cf->tls, false, NULL);
    tern_rc rc = l->api->listen(l->m, l->proto, cf->host, cf->port, cf->tls.on ? &t : NULL, id, bound);
    if (rc == TERN_OK)
        l->api->log(l->m, TERN_LOG_LEVEL_INFO, "Listening for leafnode connections on %s:%d",
                    cf->host, *bound);
    return rc;
}

static void ln_free(ln *l)
{
    while (l->dials) {
        ln_dial *d = l->dials;
        l->dials = d->next;
        dial_free(d);
    }
    ln_conf_free(&l->conf);
    free(l->server_name);
    free(l->cluster_name);
    json_decref(l->interest);
    json_decref(l->lds);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* Credentials files are checked here too, so `ternd -t` reports them. */
static tern_rc check_creds(tern_module *m, const tern_host_api *api, const ln_conf *cf)
{
    for (size_t i = 0; i < cf->nremotes; i++) {
        if (!cf->remotes[i].creds)
            continue;
        char *jwt = NULL, err[512];
        unsigned char sk[64];
        if (ln_creds_read(cf->remotes[i].creds, &jwt, sk, err, sizeof err) < 0) {
            api->set_error(m, "leafnode remote %zu: %s", i + 1, err);
            return TERN_EINVAL;
        }
        sodium_memzero(sk, sizeof sk);
        free(jwt);
    }
    return TERN_OK;
}

static tern_rc ln_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    ln_conf cf;
    tern_rc rc = ln_conf_read(m, api, conf, &cf);
    if (rc == TERN_OK) {
        rc = check_creds(m, api, &cf);
        ln_conf_free(&cf);
    }
    return rc;
}

static tern_rc add_dials(ln *l, const ln_conf *cf, const ln_remote *only)
{
    for (size_t i = 0; i < cf->nremotes; i++) {
        if (only && only != &cf->remotes[i])
            continue;
        char err[512] = "";
        ln_dial *d = dial_new(l, &cf->remotes[i], err, sizeof err);
        if (!d) {
            l->api->set_error(l->m, "leafnode remote %zu: %s", i + 1, *err ? err : "out of memory");
            return TERN_EINVAL;
        }
        d->next = l->dials;
        l->dials = d;
    }
    return TERN_OK;
}

static tern_rc ln_init(tern_module *m, const tern_host_api *api, const tern_config *conf, void **self)
{
    if (!TERN_API_HAS(api, interest_walk)) {
        api->set_error(m, "the leafnode module needs module ABI 1.1 (link protocols)");
        return TERN_ENOTSUP;
    }
    ln *l = calloc(1, sizeof *l);
    if (!l)
        return TERN_ENOMEM;
    l->m = m;
    l->api = api;
    pthread_mutex_init(&l->mu, NULL);
    unsigned s = 0;
    if (getrandom(&s, sizeof s, 0) != sizeof s)
        s = (unsigned)ln_now_ms();
    l->seed = s;
    l->interest = json_object();
    l->lds = json_object();
    tern_rc rc = l->interest && l->lds ? ln_conf_read(m, api, conf, &l->conf) : TERN_ENOMEM;
    if (rc != TERN_OK) {
        ln_free(l);
        return rc;
    }
    read_server_facts(l);
    rc = api->proto_register(m, &ln_leaf_proto, l, &l->proto);
    if (rc == TERN_OK)
        rc = api->proto_register(m, &ln_spoke_proto, l, &l->proto_spoke);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INTEREST_ADDED, TERN_PRIO_DEFAULT, ln_on_interest, l);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INTEREST_REMOVED, TERN_PRIO_DEFAULT, ln_on_interest, l);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INFO, TERN_PRIO_DEFAULT, ln_on_info_doc, l);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_RELOADED, TERN_PRIO_DEFAULT, on_reloaded, l);
    if (rc == TERN_OK)
        ln_interest_seed(l);
    if (rc == TERN_OK)
        rc = add_dials(l, &l->conf, NULL);
    if (rc == TERN_OK)
        rc = listen_on(l, &l->conf, &l->listener, &l->bound_port);
    if (rc == TERN_OK)
        rc = api->timer_start(m, LN_TICK_MS, LN_TICK_MS, on_tick, l, &l->timer);
    if (rc != TERN_OK) {
        if (l->listener)
            api->unlisten(m, l->listener);
        ln_free(l);
        return rc;
    }
    tern_wire_instance_set(m, l);
    *self = l;
    return TERN_OK;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool tls_eq(const ln_tls_conf *a, const ln_tls_conf *b)
{
    return a->on == b->on && str_eq(a->cert, b->cert) && str_eq(a->key, b->key) &&
           str_eq(a->ca, b->ca) && a->verify == b->verify && a->timeout_ms == b->timeout_ms;
}

/* Whether an accepted leaf still passes the new authorization and is
 * bound to the same account. */
static bool still_authorized(const ln_conf *cf, const ln_conn *c)
{
    const char *acc = cf->account ? cf->account : LN_GLOBAL;
    const char *pass = c->pass ? c->pass : "";
    if (cf->user) {
        if (!c->user || strcmp(c->user, cf->user) || strcmp(pass, cf->pass ? cf->pass : ""))
            return false;
    } else if (cf->nusers) {
        bool found = false;
        for (size_t i = 0; i < cf->nusers && !found; i++)
            if (c->user && !strcmp(c->user, cf->users[i].user) &&
                !strcmp(pass, cf->users[i].pass ? cf->users[i].pass : "")) {
                found = true;
                acc = cf->users[i].account ? cf->users[i].account : LN_GLOBAL;
            }
        if (!found)
            return false;
    }
    return !strcmp(acc, c->account);
}

static bool auth_eq(const ln_conf *a, const ln_conf *b)
{
    if (!str_eq(a->user, b->user) || !str_eq(a->pass, b->pass) || !str_eq(a->account, b->account) ||
        a->nusers != b->nusers)
        return false;
    for (size_t i = 0; i < a->nusers; i++)
        if (!str_eq(a->users[i].user, b->users[i].user) || !str_eq(a->users[i].pass, b->users[i].pass) ||
            !str_eq(a->users[i].account, b->users[i].account))
            return false;
    return true;
}

/* Workers are paused: no leaf callback runs meanwhile. */
static tern_rc ln_reload(void *self, const tern_config *conf)
{
    ln *l = self;
    ln_conf nc;
    tern_rc rc = ln_conf_read(l->m, l->api, conf, &nc);
    if (rc == TERN_OK)
        rc = check_creds(l->m, l->api, &nc);
    if (rc != TERN_OK) {
        ln_conf_free(&nc);
        return rc;
    }
    pthread_mutex_lock(&l->mu);
    bool relisten = str_eq(nc.host, l->conf.host) == false || nc.port != l->conf.port ||
                    !tls_eq(&nc.tls, &l->conf.tls);
    if (relisten && nc.port == 0 && l->conf.port == 0 && str_eq(nc.host, l->conf.host) &&
        tls_eq(&nc.tls, &l->conf.tls))
        relisten = false;
    if (relisten) {
        bool same_port = nc.port > 0 && nc.port == l->conf.port;
        if (same_port && l->listener) {
            l->api->unlisten(l->m, l->listener);
            l->listener = 0;
        }
        uint64_t id = 0;
        int bound = 0;
        rc = listen_on(l, &nc, &id, &bound);
        if (rc != TERN_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", l->api->error(l->m));
            if (same_port && listen_on(l, &l->conf, &l->listener, &l->bound_port) != TERN_OK)
                l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode listener lost: %s", l->api->error(l->m));
            pthread_mutex_unlock(&l->mu);
            ln_conf_free(&nc);
            l->api->set_error(l->m, "%s (nothing of the reload applied)", why);
            return rc;
        }
        if (l->listener)
            l->api->unlisten(l->m, l->listener);
        l->listener = id;
        l->bound_port = bound;
    }
    /* remotes: unchanged ones keep their link; others are redialed */
    for (ln_dial *d = l->dials; d; d = d->next) {
        bool keep = false;
        for (size_t i = 0; i < nc.nremotes && !keep; i++)
            keep = ln_remote_equal(&d->conf, &nc.remotes[i]);
        if (!keep && !d->removed) {
            d->removed = true;
            if (d->conn)
                l->api->conn_close(l->m, d->conn, "Leafnode Remote Removed");
        }
    }
    /* kept remotes: their credentials file may have new content */
    for (ln_dial *d = l->dials; d; d = d->next) {
        if (d->removed || !d->conf.creds)
            continue;
        char *jwt = NULL, err[512];
        unsigned char sk[64];
        if (ln_creds_read(d->conf.creds, &jwt, sk, err, sizeof err) == 0) {
            free(d->jwt);
            d->jwt = jwt;
            memcpy(d->seed, sk, sizeof sk);
            sodium_memzero(sk, sizeof sk);
        }
    }
    for (size_t i = 0; i < nc.nremotes && rc == TERN_OK; i++) {
        bool have = false;
        for (ln_dial *d = l->dials; d && !have; d = d->next)
            have = !d->removed && ln_remote_equal(&d->conf, &nc.remotes[i]);
        if (!have)
            rc = add_dials(l, &nc, &nc.remotes[i]);
    }
    if (rc != TERN_OK)
        l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "%s", l->api->error(l->m));
    /* accepted leafs that no longer authorize (or bind elsewhere) go */
    if (!auth_eq(&nc, &l->conf))
        for (ln_conn *c = l->conns; c; c = c->next)
            if (!c->outbound && c->state == LN_S_REGISTERED && !still_authorized(&nc, c)) {
                l->api->conn_write(l->m, c->id, "-ERR 'Authorization Violation'\r\n", 32);
                l->api->conn_close(l->m, c->id, "Authentication Failure");
            }
    /* a removed remote's connection still points at its dial: keep the
     * dial until that connection closed (dial_due_locked frees it) */
    ln_conf old = l->conf;
    l->conf = nc;
    if (!relisten)
        l->conf.port = old.port;
    pthread_mutex_unlock(&l->mu);
    ln_conf_free(&old);
    return TERN_OK;
}

static void ln_fini(void *self)
{
    ln *l = self;
    tern_wire_instance_set(l->m, NULL);
    ln_free(l);
}

static const char *const nats_keys[] = { "leafnodes", "leaf", NULL };

TERN_MODULE_DEFINE(.name = "leafnode", .version = LN_VERSION,
                   .description = "leaf node links wire-compatible with nats-server 2.9",
                   .init = ln_init, .reload = ln_reload, .fini = ln_fini, .validate = ln_validate,
                   .nats_keys = nats_keys, .nats_map = ln_nats_map)

/* modules/gateway: superclusters wire-compatible with nats-server 2.9
 * gateways — the listener, one outbound connection per remote gateway
 * (configured, or learned from inbound connections and gossip) with
 * reconnect, pings, reload. The protocol itself is in gconn.c. */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <sodium.h>

#define GW_VERSION "1.0.0"

void gw_hash(const char *name, char out[GW_HASH_LEN + 1])
{
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)name, strlen(name));
    for (int i = 0; i < GW_HASH_LEN; i++)
        out[i] = digits[h[i] % 62];
    out[GW_HASH_LEN] = '\0';
}

/* ---- remote gateways ---------------------------------------------------- */

gw_remote *gw_remote_find_locked(gw *g, const char *name)
{
    for (gw_remote *r = g->remotes; r; r = r->next)
        if (!r->removed && !strcmp(r->name, name))
            return r;
    return NULL;
}

static void remote_free(gw_remote *r)
{
    for (size_t i = 0; i < r->nurls; i++)
        gw_url_free(&r->urls[i]);
    free(r->urls);
    free(r->name);
    free(r);
}

static bool remote_has_url(const gw_remote *r, const char *host, int port)
{
    for (size_t i = 0; i < r->nurls; i++)
        if (r->urls[i].port == port && !strcasecmp(r->urls[i].host, host))
            return true;
    return false;
}

static void remote_add_url(gw_remote *r, const gw_url *u)
{
    if (remote_has_url(r, u->host, u->port))
        return;
    gw_url *v = realloc(r->urls, (r->nurls + 1) * sizeof *v);
    if (!v)
        return;
    r->urls = v;
    gw_url *d = &v[r->nurls];
    d->host = strdup(u->host);
    d->port = u->port;
    d->user = u->user ? strdup(u->user) : NULL;
    d->pass = u->pass ? strdup(u->pass) : NULL;
    if (d->host)
        r->nurls++;
}

static gw_remote *remote_add_locked(gw *g, const char *name, bool explicit_)
{
    gw_remote *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        return NULL;
    }
    r->explicit_ = explicit_;
    r->due_ms = explicit_ ? g->started_ms + GW_FIRST_DIAL_MS : gw_now_ms();
    r->next = g->remotes;
    g->remotes = r;
    return r;
}

void gw_remote_learn_locked(gw *g, const char *name, json_t *urls)
{
    if (!name || !*name || !strcmp(name, g->conf.name))
        return;                      /* ourselves: nats-server ignores it too */
    gw_remote *r = gw_remote_find_locked(g, name);
    if (!r) {
        r = remote_add_locked(g, name, false);
        if (!r)
            return;
        g->api->log(g->m, TERN_LOG_LEVEL_INFO, "implicit gateway \"%s\" learned", name);
    }
    size_t i;
    json_t *v;
    json_array_foreach(urls, i, v) {
        const char *s = json_string_value(v);
        gw_url u;
        char err[300];
        if (s && gw_url_parse(s, &u, err, sizeof err) == 0) {
            remote_add_url(r, &u);
            gw_url_free(&u);
        }
    }
}

void gw_remote_conn_closed_locked(gw *g, uint64_t conn, const char *reason)
{
    uint64_t now = gw_now_ms();
    for (gw_remote **p = &g->remotes; *p;) {
        gw_remote *r = *p;
        if (r->conn != conn) {
            p = &r->next;
            continue;
        }
        bool opened = r->opened, registered = r->registered;
        r->conn = 0;
        r->opened = r->registered = false;
        bool drop = r->removed;
        if (!drop && !registered) {
            r->attempts++;
            g->api->log(g->m, r->attempts == 1 ? TERN_LOG_LEVEL_ERROR : TERN_LOG_LEVEL_DEBUG,
                        "Error connecting to %s gateway \"%s\" (attempt %d): %s",
                        r->explicit_ ? "explicit" : "implicit", r->name, r->attempts,
                        reason ? reason : "failed");
            /* implicit gateways get connect_retries more rounds over their URLs */
            if (!r->explicit_ && r->attempts > (int64_t)(r->nurls ? r->nurls : 1) *
                                                   (g->conf.connect_retries + 1))
                drop = true;
            else
                r->due_ms = now + (opened ? GW_RECONNECT_MS : GW_RECONNECT_MS / 2) +
                            (uint64_t)rand_r(&g->seed) % GW_JITTER_MS;
        } else if (!drop) {
            r->attempts = 0;
            r->due_ms = now + (r->explicit_ ? GW_RECONNECT_MS : 0) +
                        (uint64_t)rand_r(&g->seed) % GW_JITTER_MS;
        }
        if (drop) {
            *p = r->next;
            remote_free(r);
            continue;
        }
        p = &r->next;
    }
}

/* ---- the main-thread tick ------------------------------------------------ */

static void dial_due_locked(gw *g, uint64_t now)
{
    for (gw_remote *r = g->remotes; r; r = r->next) {
        if (!r->due_ms || r->due_ms > now || r->conn || r->removed || !r->nurls)
            continue;
        r->due_ms = 0;
        /* nats-server shuffles the URLs on every attempt; a rotation is
         * enough to try each in turn */
        const gw_url *u = &r->urls[r->next_url++ % r->nurls];
        uint64_t id = 0;
        if (g->api->dial(g->m, g->proto, u->host, u->port, NULL, &id) != TERN_OK) {
            g->api->log(g->m, TERN_LOG_LEVEL_ERROR, "gateway \"%s\": %s", r->name,
                        g->api->error(g->m));
            r->attempts++;
            r->due_ms = now + GW_RECONNECT_MS;
            continue;
        }
        r->conn = id;
        r->opened = false;
    }
}

static void ping_conns_locked(gw *g, uint64_t now)
{
    for (gw_conn *c = g->conns; c; c = c->next) {
        if (!c->outbound && !c->got_connect && !c->timed_out &&
            now - c->created_ms >= (uint64_t)g->conf.auth_timeout_ms) {
            g->api->conn_write(g->m, c->id, "-ERR 'Authentication Timeout'\r\n", 31);
            g->api->conn_close(g->m, c->id, "Authentication Timeout");
            c->timed_out = true;
            continue;
        }
        if (c->state != GW_C_REGISTERED)
            continue;
        uint64_t every = c->pinged ? GW_PING_MAX_MS : GW_FIRST_PING_MS;
        if (now - c->last_ping_ms < every)
            continue;
        c->last_ping_ms = now;
        c->pinged = true;
        if (c->pings_out + 1 > GW_PING_MAX) {
            g->api->conn_write(g->m, c->id, "-ERR 'Stale Connection'\r\n", 25);
            g->api->conn_close(g->m, c->id, "Stale Connection");
            continue;
        }
        c->pings_out++;
        if (!c->ping_sent_us)
            c->ping_sent_us = gw_now_us();
        g->api->conn_write(g->m, c->id, "PING\r\n", 6);
    }
}

static void on_tick(tern_module *m, uint64_t id, void *ud)
{
    (void)m, (void)id;
    gw *g = ud;
    uint64_t now = gw_now_ms();
    pthread_mutex_lock(&g->mu);
    dial_due_locked(g, now);
    ping_conns_locked(g, now);
    /* mapped-reply candidates expire */
    const char *acc;
    json_t *subs;
    void *it;
    json_object_foreach_safe(g->recent, it, acc, subs) {
        const char *s;
        json_t *t;
        void *it2;
        json_object_foreach_safe(subs, it2, s, t) {
            if (now - (uint64_t)json_integer_value(t) > GW_RECENT_SUB_MS)
                json_object_del(subs, s);
        }
        if (!json_object_size(subs))
            json_object_del(g->recent, acc);
    }
    pthread_mutex_unlock(&g->mu);
}

/* ---- lifecycle ------------------------------------------------------------- */

/* Server facts from the varz document (main thread). */
static void read_server_facts(gw *g)
{
    const tern_host_api *api = g->api;
    snprintf(g->server_id, sizeof g->server_id, "%s", api->server_id(g->m));
    g->server_name = strdup("");
    g->max_payload = 1048576;
    g->headers = true;
    char *doc = NULL;
    int status = 0;
    if (!TERN_API_HAS(api, document) || api->document(g->m, "varz", NULL, &status, &doc) ||
        status != 200 || !doc) {
        if (doc)
            api->free(doc);
        return;
    }
    json_t *v = json_loads(doc, 0, NULL);
    api->free(doc);
    if (!v)
        return;
    /* the gateway INFO carries the configured name only (nats-server);
     * a name equal to the id is the defaulted one */
    const char *name = json_string_value(json_object_get(v, "server_name"));
    if (name && *name && strcmp(name, g->server_id)) {
        free(g->server_name);
        g->server_name = strdup(name);
    }
    json_int_t mp = json_integer_value(json_object_get(v, "max_payload"));
    if (mp > 0)
        g->max_payload = mp;
    json_t *h = json_object_get(v, "headers");
    if (json_is_boolean(h))
        g->headers = json_is_true(h);
    json_decref(v);
}

static void set_advertise(gw *g)
{
    free(g->adv_host);
    g->adv_host = NULL;
    g->adv_port = g->conf.port;
    if (g->conf.advertise &&
        gw_split_hostport(g->conf.advertise, strlen(g->conf.advertise), &g->adv_host, &g->adv_port) == 0) {
        /* parsed */
    } else {
        g->adv_host = strdup(g->conf.host);
    }
    gw_hostport(g->self_url, sizeof g->self_url, g->adv_host ? g->adv_host : "", g->adv_port);
}

static void remotes_from_conf_locked(gw *g, const gw_conf *cf)
{
    for (size_t i = 0; i < cf->nremotes; i++) {
        const gw_remote_conf *rc = &cf->remotes[i];
        if (!strcmp(rc->name, cf->name))
            continue;                /* our own cluster's entry: nats-server skips it */
        gw_remote *r = gw_remote_find_locked(g, rc->name);
        if (!r)
            r = remote_add_locked(g, rc->name, true);
        if (!r)
            continue;
        r->explicit_ = true;
        /* configured URLs (with their credentials) come first */
        for (size_t k = 0; k < rc->nurls; k++) {
            for (size_t j = 0; j < r->nurls; j++)
                if (r->urls[j].port == rc->urls[k].port && !strcasecmp(r->urls[j].host, rc->urls[k].host)) {
                    free(r->urls[j].user);
                    free(r->urls[j].pass);
                    r->urls[j].user = rc->urls[k].user ? strdup(rc->urls[k].user) : NULL;
                    r->urls[j].pass = rc->urls[k].pass ? strdup(rc->urls[k].pass) : NULL;
                }
            remote_add_url(r, &rc->urls[k]);
        }
    }
}

static void gw_free(gw *g)
{
    for (gw_conn *c = g->conns; c;) {
        gw_conn *n = c->next;
        free(c);
        c = n;
    }
    for (gw_remote *r = g->remotes; r;) {
        gw_remote *n = r->next;
        remote_free(r);
        r = n;
    }
    gw_conf_free(&g->conf);
    free(g->server_name);
    free(g->adv_host);
    json_decref(g->tally);
    json_decref(g->srcs);
    json_decref(g->recent);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static tern_rc gw_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    gw_conf cf;
    tern_rc rc = gw_conf_read(m, api, conf, &cf);
    if (rc == TERN_OK)
        gw_conf_free(&cf);
    return rc;
}

/* The local interest that existed before the hook counted (source 0). */
static void seed_one(const char *account, const char *subject, const char *queue, uint32_t count,
                     void *ud)
{
    (void)count;
    gw *g = ud;
    char key[1024], skey[1100];
    snprintf(key, sizeof key, "%s %s%s%s", account, subject, queue ? " " : "", queue ? queue : "");
    snprintf(skey, sizeof skey, "0 %s", key);
    if (json_object_get(g->srcs, skey))
        return;
    json_object_set_new(g->srcs, skey, json_true());
    json_int_t n = json_integer_value(json_object_get(g->tally, key));
    json_object_set_new(g->tally, key, json_integer(n + 1));
}

static tern_rc gw_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                       void **self)
{
    if (!TERN_API_HAS(api, client_info_set)) {
        api->set_error(m, "the gateway module needs module ABI 1.1 (link protocols)");
        return TERN_ENOTSUP;
    }
    if (sodium_init() < 0) {
        api->set_error(m, "libsodium failed to initialize");
        return TERN_EINVAL;
    }
    gw *g = calloc(1, sizeof *g);
    if (!g)
        return TERN_ENOMEM;
    g->m = m;
    g->api = api;
    pthread_mutex_init(&g->mu, NULL);
    g->tally = json_object();
    g->srcs = json_object();
    g->recent = json_object();
    unsigned s = 0;
    if (getrandom(&s, sizeof s, 0) != sizeof s)
        s = (unsigned)gw_now_ms();
    g->seed = s;
    g->started_ms = gw_now_ms();
    tern_rc rc = gw_conf_read(m, api, conf, &g->conf);
    if (rc != TERN_OK || !g->tally || !g->srcs || !g->recent) {
        gw_free(g);
        return rc ? rc : TERN_ENOMEM;
    }
    read_server_facts(g);
    gw_hash(g->conf.name, g->hash);
    gw_hash(g->server_id, g->shash);
    snprintf(g->reply_pfx, sizeof g->reply_pfx, "_GR_.%s.%s.", g->hash, g->shash);
    {
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)g->conf.name, strlen(g->conf.name));
        snprintf(g->old_pfx, sizeof g->old_pfx, "$GR.%02x%02x.", h[0], h[1]);
    }
    rc = api->proto_register(m, &gw_proto, g, &g->proto);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INTEREST_ADDED, TERN_PRIO_DEFAULT, gw_on_interest, g);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INTEREST_REMOVED, TERN_PRIO_DEFAULT, gw_on_interest, g);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INFO, TERN_PRIO_DEFAULT, gw_on_info_doc, g);
    if (rc == TERN_OK)
        api->interest_walk(m, NULL, seed_one, g);
    int bound = 0;
    if (rc == TERN_OK) {
        rc = api->listen(m, g->proto, g->conf.host, g->conf.port, NULL, &g->listener, &bound);
        if (rc != TERN_OK)
            api->set_error(m, "gateway listen %s:%d: %s", g->conf.host, g->conf.port, api->error(m));
        else
            g->conf.port = bound;
    }
    if (rc == TERN_OK)
        rc = api->timer_start(m, GW_TICK_MS, GW_TICK_MS, on_tick, g, &g->timer);
    if (rc != TERN_OK) {
        if (g->listener)
            api->unlisten(m, g->listener);
        gw_free(g);
        return rc;
    }
    set_advertise(g);
    remotes_from_conf_locked(g, &g->conf);
    api->log(m, TERN_LOG_LEVEL_INFO, "Gateway name is %s", g->conf.name);
    api->log(m, TERN_LOG_LEVEL_INFO, "Listening for gateways connections on %s:%d", g->conf.host,
             g->conf.port);
    tern_wire_instance_set(m, g);
    *self = g;
    return TERN_OK;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Workers are paused: no connection callback runs meanwhile. The gateway
 * list and the authorization reload; the name, listen and advertise
 * addresses do not (the module keeps the old ones and says so). */
static tern_rc gw_reload(void *self, const tern_config *conf)
{
    gw *g = self;
    gw_conf nc;
    tern_rc rc = gw_conf_read(g->m, g->api, conf, &nc);
    if (rc != TERN_OK)
        return rc;
    pthread_mutex_lock(&g->mu);
    char lhp[320], ohp[320];
    gw_hostport(lhp, sizeof lhp, nc.host, nc.port);
    gw_hostport(ohp, sizeof ohp, g->conf.host, g->conf.port);
    if (strcmp(nc.name, g->conf.name) || (nc.port != 0 && strcmp(lhp, ohp)) ||
        strcmp(nc.host, g->conf.host) || !str_eq(nc.advertise, g->conf.advertise))
        g->api->log(g->m, TERN_LOG_LEVEL_WARN,
                    "gateway name, listen and advertise cannot be reloaded: restart to apply them "
                    "(keeping %s on %s)", g->conf.name, ohp);
    bool auth_changed = !str_eq(nc.user, g->conf.user) || !str_eq(nc.pass, g->conf.pass);
    /* remotes dropped from the list: their outbound connections close */
    for (gw_remote *r = g->remotes; r; r = r->next) {
        if (!r->explicit_)
            continue;
        bool keep = false;
        for (size_t i = 0; i < nc.nremotes && !keep; i++)
            keep = !strcmp(nc.remotes[i].name, r->name) && strcmp(nc.remotes[i].name, g->conf.name);
        if (!keep) {
            r->removed = true;
            if (r->conn)
                g->api->conn_close(g->m, r->conn, "Gateway Removed");
        }
    }
    for (gw_remote **p = &g->remotes; *p;) {
        if ((*p)->removed && !(*p)->conn) {
            gw_remote *r = *p;
            *p = r->next;
            remote_free(r);
        } else {
            p = &(*p)->next;
        }
    }
    if (auth_changed && nc.user) {
        for (gw_conn *c = g->conns; c; c = c->next)
            if (!c->outbound && (!c->user || strcmp(c->user, nc.user) ||
                                 strcmp(c->pass ? c->pass : "", nc.pass ? nc.pass : ""))) {
                g->api->conn_write(g->m, c->id, "-ERR 'Authorization Violation'\r\n", 32);
                g->api->conn_close(g->m, c->id, "Authentication Failure");
            }
    }
    /* keep what cannot change */
    free(nc.name);
    nc.name = strdup(g->conf.name);
    free(nc.host);
    nc.host = strdup(g->conf.host);
    nc.port = g->conf.port;
    free(nc.advertise);
    nc.advertise = g->conf.advertise ? strdup(g->conf.advertise) : NULL;
    gw_conf old = g->conf;
    g->conf = nc;
    remotes_from_conf_locked(g, &g->conf);
    pthread_mutex_unlock(&g->mu);
    gw_conf_free(&old);
    return TERN_OK;
}

static void gw_fini(void *self)
{
    gw *g = self;
    tern_wire_instance_set(g->m, NULL);
    gw_free(g);
}

static const char *const nats_keys[] = { "gateway", NULL };

TERN_MODULE_DEFINE(.name = "gateway", .version = GW_VERSION,
                   .description = "gateways: superclusters wire-compatible with nats-server 2.9",
                   .init = gw_init, .reload = gw_reload, .fini = gw_fini, .validate = gw_validate,
                   .nats_keys = nats_keys, .nats_map = gw_conf_nats_map)

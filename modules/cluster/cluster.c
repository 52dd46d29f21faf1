/* modules/cluster: routes wire-compatible with nats-server 2.9 — listen
 * for routes, solicit seed routes with reconnect, gossip (implicit
 * routes), the client connect_urls, pings, reload. The route protocol
 * itself is in rconn.c. */
#include "cluster.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#define CL_VERSION "1.0.0"

uint64_t cl_jitter(cl *c)
{
    return (uint64_t)rand_r(&c->seed) % CL_JITTER_MS;
}

void cl_random_text(char *out, size_t n)
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

/* ---- what this server says about itself ---------------------------------- */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void push_url(cl *c, const char *host, int port)
{
    char hp[300];
    if (strchr(host, ':'))
        snprintf(hp, sizeof hp, "[%s]:%d", host, port);
    else
        snprintf(hp, sizeof hp, "%s:%d", host, port);
    char **v = realloc(c->own_urls, (c->n_own + 1) * sizeof *v);
    if (!v)
        return;
    c->own_urls = v;
    v[c->n_own] = strdup(hp);
    if (v[c->n_own])
        c->n_own++;
}

/* The client URLs as nats-server's getConnectURLs: the listen host, or
 * every global unicast address when it listens on all of them. */
static void own_urls(cl *c, const char *host, int port)
{
    free_strv(c->own_urls, c->n_own);
    c->own_urls = NULL;
    c->n_own = 0;
    const char *adv = c->conf.client_advertise;
    if (adv && *adv) {
        /* host[:port], the port defaulting to the client port */
        const char *colon = strrchr(adv, ':');
        bool v6 = adv[0] == '[';
        if (colon && (!v6 || colon > strchr(adv, ']'))) {
            char *h = strndup(adv + v6, (size_t)(colon - adv) - (v6 ? 2 : 0));
            if (h)
                push_url(c, h, atoi(colon + 1));
            free(h);
        } else {
            push_url(c, adv, port);
        }
        return;
    }
    if (!host || port <= 0)
        return;
    if (strcmp(host, "0.0.0.0") && strcmp(host, "::") && strcmp(host, "")) {
        push_url(c, host, port);
        return;
    }
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        char ip[INET6_ADDRSTRLEN];
        if (i->ifa_addr->sa_family == AF_INET) {
            const struct in_addr *a = &((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
            uint32_t h = ntohl(a->s_addr);
            if ((h >> 24) == 127 || (h >> 16) == 0xa9fe || h == 0)
                continue;
            inet_ntop(AF_INET, a, ip, sizeof ip);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const struct in6_addr *a = &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
                IN6_IS_ADDR_MULTICAST(a))
                continue;
            inet_ntop(AF_INET6, a, ip, sizeof ip);
        } else {
            continue;
        }
        push_url(c, ip, port);
    }
    freeifaddrs(ifs);
}

/* Server facts from the varz document (main thread). */
static void read_server_facts(cl *c)
{
    const tern_host_api *api = c->api;
    snprintf(c->server_id, sizeof c->server_id, "%s", api->server_id(c->m));
    free(c->server_name);
    c->server_name = strdup(c->server_id);
    c->max_payload = 1048576;
    char *doc = NULL;
    int status = 0;
    if (!TERN_API_HAS(api, document) || api->document(c->m, "varz", NULL, &status, &doc) ||
        status != 200 || !doc) {
        if (doc)
            api->free(doc);
        return;
    }
    json_t *v = json_loads(doc, 0, NULL);
    api->free(doc);
    if (!v)
        return;
    const char *name = json_string_value(json_object_get(v, "server_name"));
    if (name && *name) {
        free(c->server_name);
        c->server_name = strdup(name);
    }
    json_int_t mp = json_integer_value(json_object_get(v, "max_payload"));
    if (mp > 0)
        c->max_payload = mp;
    own_urls(c, json_string_value(json_object_get(v, "host")),
             (int)json_integer_value(json_object_get(v, "port")));
    json_decref(v);
}

/* INFO host/port/ip: the listen address, or cluster.advertise. */
static void set_advertise(cl *c)
{
    free(c->adv_host);
    free(c->adv_ip);
    c->adv_ip = NULL;
    c->adv_port = c->conf.port;
    c->adv_host = strdup(c->conf.host);
    if (c->conf.advertise) {
        const char *a = c->conf.advertise;
        const char *colon = strrchr(a, ':');
        bool v6 = a[0] == '[';
        free(c->adv_host);
        if (colon && (!v6 || colon > strchr(a, ']'))) {
            c->adv_host = strndup(a + v6, (size_t)(colon - a) - (v6 ? 2 : 0));
            c->adv_port = atoi(colon + 1);
        } else {
            c->adv_host = strdup(a);
        }
        char hp[300], url[340];
        cl_hostport(hp, sizeof hp, c->adv_host, c->adv_port);
        snprintf(url, sizeof url, "nats-route://%s/", hp);
        c->adv_ip = strdup(url);
    }
}

static char *self_info_locked(cl *c, const char *nonce, bool ldm)
{
    cl_self s = {
        .server_id = c->server_id,
        .server_name = c->server_name,
        .version = c->version,
        .host = c->adv_host,
        .port = c->adv_port < 0 ? 0 : c->adv_port,
        .ip = c->adv_ip,
        .auth_required = c->conf.user != NULL,
        .tls_required = c->conf.tls,
        .max_payload = c->max_payload,
        .cluster = c->cluster_name,
        .dynamic = c->dynamic,
        .connect_urls = c->conf.no_advertise ? NULL : (const char *const *)c->own_urls,
        .n_connect_urls = c->conf.no_advertise ? 0 : c->n_own,
        .import_ = cl_perm_json(&c->conf.import_),
        .export_ = cl_perm_json(&c->conf.export_),
    };
    s.ldm = ldm;
    char *line = cl_info_line(&s, nonce);
    json_decref(s.import_);
    json_decref(s.export_);
    return line;
}

char *cl_self_info_locked(cl *c, const char *nonce)
{
    return self_info_locked(c, nonce, false);
}

/* ---- solicited routes ------------------------------------------------------ */

static cl_route *registered_locked(cl *c, const char *id)
{
    for (cl_route *r = c->routes; r; r = r->next)
        if (r->state == CL_R_REGISTERED && r->remote_id && !strcmp(r->remote_id, id))
            return r;
    return NULL;
}

static void dial_free(cl_dial *d)
{
    cl_url_free(&d->url);
    free(d->remote_id);
    free(d);
}

static cl_dial *dial_add_locked(cl *c, const cl_url *u, bool explicit_)
{
    cl_dial *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->url.text = strdup(u->text);
    d->url.host = strdup(u->host);
    d->url.port = u->port;
    d->url.user = u->user ? strdup(u->user) : NULL;
    d->url.pass = u->pass ? strdup(u->pass) : NULL;
    d->explicit_ = explicit_;
    d->due_ms = cl_now_ms();
    cl_dial **p = &c->dials;
    while (*p)
        p = &(*p)->next;
    *p = d;
    return d;
}

void cl_dial_implicit_locked(cl *c, const cl_info *info)
{
    if (!strcmp(info->server_id, c->server_id) || registered_locked(c, info->server_id))
        return;
    char hp[300];
    cl_hostport(hp, sizeof hp, info->host, info->port);
    for (size_t i = 0; i < c->conf.nroutes; i++) {
        char chp[300];
        cl_hostport(chp, sizeof chp, c->conf.routes[i].host, c->conf.routes[i].port);
        if (!strcmp(chp, hp))
            return;                  /* a configured route reaches it */
    }
    cl_url u;
    char err[200], text[340];
    if (info->ip && *info->ip)
        snprintf(text, sizeof text, "%s", info->ip);
    else
        snprintf(text, sizeof text, "nats-route://%s/", hp);
    if (cl_url_parse(text, &u, err, sizeof err) < 0) {
        c->api->log(c->m, TERN_LOG_LEVEL_ERROR, "gossiped route: %s", err);
        return;
    }
    for (cl_dial *d = c->dials; d; d = d->next)
        if ((d->remote_id && !strcmp(d->remote_id, info->server_id)) || cl_url_same(&d->url, &u)) {
            cl_url_free(&u);
            return;                  /* already on it */
        }
    if (info->auth_required && c->conf.user) {
        u.user = strdup(c->conf.user);
        u.pass = c->conf.pass ? strdup(c->conf.pass) : NULL;
    }
    cl_dial *d = dial_add_locked(c, &u, false);
    if (d)
        d->remote_id = strdup(info->server_id);
    c->api->log(c->m, TERN_LOG_LEVEL_DEBUG, "gossip: connecting to %s (%s)", u.text, info->server_id);
    cl_url_free(&u);
}

void cl_dials_route_up_locked(cl *c, uint64_t conn, const char *remote_id)
{
    for (cl_dial *d = c->dials; d; d = d->next) {
        if (d->conn == conn) {
            free(d->remote_id);
            d->remote_id = strdup(remote_id);
            d->attempts = 0;
        } else if (d->conn == 0 && d->remote_id && !strcmp(d->remote_id, remote_id)) {
            /* waiting to redial a server that came to us: wait on its route */
            d->conn = conn;
            d->due_ms = 0;
        }
    }
}

/* nats-server's shouldReportConnectErr: the first failure, then every
 * Nth (N: connect_error_reports before the first connection,
 * reconnect_error_reports after). */
static void report_dial_error(cl *c, const cl_dial *d, const char *reason)
{
    int64_t every = d->ever_opened ? c->conf.reconnect_error_reports : c->conf.connect_error_reports;
    bool loud = d->attempts == 1 || (every > 0 && d->attempts % every == 0);
    c->api->log(c->m, loud ? TERN_LOG_LEVEL_ERROR : TERN_LOG_LEVEL_DEBUG,
                "Error trying to connect to route %s (attempt %d): %s", d->url.text, d->attempts,
                reason ? reason : "failed");
}

void cl_dials_conn_closed_locked(cl *c, uint64_t conn, const char *remote_id, const char *reason)
{
    uint64_t now = cl_now_ms();
    for (cl_dial **p = &c->dials; *p;) {
        cl_dial *d = *p;
        if (d->conn != conn) {
            p = &d->next;
            continue;
        }
        bool opened = d->opened;
        d->conn = 0;
        d->opened = false;
        if (remote_id && (!d->remote_id || strcmp(d->remote_id, remote_id))) {
            free(d->remote_id);
            d->remote_id = strdup(remote_id);
        }
        cl_route *other = d->remote_id ? registered_locked(c, d->remote_id) : NULL;
        bool drop = d->removed;
        if (!drop && d->self) {
            p = &d->next;
            continue;
        }
        if (!drop && other && other->id != conn) {
            d->conn = other->id;         /* still connected through another route */
        } else if (!drop && !opened) {
            d->attempts++;
            report_dial_error(c, d, reason);
            if (!d->explicit_ && d->attempts > c->conf.connect_retries)
                drop = true;             /* gossiped routes are not retried forever */
            else
                d->due_ms = now + CL_DIAL_DELAY_MS;
        } else if (!drop) {
            d->attempts = 0;
            d->due_ms = now + cl_jitter(c) + (d->explicit_ ? CL_DIAL_DELAY_MS : 0);
        }
        if (drop) {
            *p = d->next;
            dial_free(d);
            continue;
        }
        p = &d->next;
    }
}

void cl_adopt_name_locked(cl *c, const char *name, const cl_route *keep)
{
    c->api->log(c->m, TERN_LOG_LEVEL_INFO, "cluster name is now %s (was %s)", name, c->cluster_name);
    char *n = strdup(name);
    if (!n)
        return;
    free(c->cluster_name);
    c->cluster_name = n;
    c->info_dirty = true;
    for (cl_route *r = c->routes; r; r = r->next)
        if (r != keep)
            c->api->conn_close(c->m, r->id, "Cluster Name Conflict");
}

/* ---- the main-thread tick ------------------------------------------------ */

static tern_tls_spec tls_spec(const cl_conf *cf, bool dial, const char *host)
{
    tern_tls_spec t = {
        .size = sizeof t,
        .cert = cf->tls_cert,
        .key = cf->tls_key,
        .ca = cf->tls_ca,
        .verify = cf->tls_verify || dial,
        .first = true,             /* routes do TLS before the first INFO */
        .timeout_ms = cf->tls_timeout_ms,
        .server_name = dial ? host : NULL,
        .insecure = false,
    };
    return t;
}

static void dial_due_locked(cl *c, uint64_t now)
{
    for (cl_dial *d = c->dials; d; d = d->next) {
        if (!d->due_ms || d->due_ms > now || d->conn || d->self || d->removed)
            continue;
        d->due_ms = 0;
        tern_tls_spec t = tls_spec(&c->conf, true, d->url.host);
        uint64_t id = 0;
        tern_rc rc = c->api->dial(c->m, c->proto, d->url.host, d->url.port,
                                  c->conf.tls ? &t : NULL, &id);
        if (rc != TERN_OK) {
            c->api->log(c->m, TERN_LOG_LEVEL_ERROR, "route %s: %s", d->url.text, c->api->error(c->m));
            d->attempts++;
            d->due_ms = now + CL_DIAL_DELAY_MS;
            continue;
        }
        d->conn = id;
        d->opened = false;
    }
}

static void ping_routes_locked(cl *c, uint64_t now)
{
    for (cl_route *r = c->routes; r; r = r->next) {
        if (r->state == CL_R_NEW && !r->outbound && c->conf.user && !r->got_connect &&
            now - r->created_ms >= (uint64_t)c->conf.auth_timeout_ms) {
            c->api->conn_write(c->m, r->id, "-ERR 'Authentication Timeout'\r\n", 31);
            c->api->conn_close(c->m, r->id, "Authentication Timeout");
            r->state = CL_R_CLOSING;
            continue;
        }
        if (r->state != CL_R_REGISTERED)
            continue;
        uint64_t every = r->pinged ? CL_PING_INTERVAL_MS : CL_FIRST_PING_MS;
        if (now - r->last_ping_ms < every)
            continue;
        r->last_ping_ms = now;
        r->pinged = true;
        if (r->pings_out + 1 > CL_PING_MAX) {
            c->api->conn_write(c->m, r->id, "-ERR 'Stale Connection'\r\n", 25);
            c->api->conn_close(c->m, r->id, "Stale Connection");
            r->state = CL_R_CLOSING;
            continue;
        }
        r->pings_out++;
        if (!r->ping_sent_us)
            r->ping_sent_us = cl_now_us();
        c->api->conn_write(c->m, r->id, "PING\r\n", 6);
    }
}

/* Under mu: the connect_urls JSON when it changed (malloc'd), else NULL. */
static char *urls_update_locked(cl *c)
{
    if (!c->urls_dirty || c->conf.no_advertise)
        return NULL;
    c->urls_dirty = false;
    size_t n = 0;
    for (cl_route *r = c->routes; r; r = r->next)
        n += r->urls_counted;
    if (n == 0 && !c->urls_sent)
        return NULL;                 /* nats-server: no list until a peer has one */
    const char *const **lists = calloc(n + 1, sizeof *lists);
    size_t *lens = calloc(n + 1, sizeof *lens);
    char *js = NULL;
    if (lists && lens) {
        /* oldest registered first: routes are kept newest first */
        size_t k = n;
        for (cl_route *r = c->routes; r; r = r->next)
            if (r->urls_counted) {
                k--;
                lists[k] = (const char *const *)r->info.connect_urls;
                lens[k] = r->info.n_connect_urls;
            }
        js = cl_urls_json(c->own_urls, c->n_own, lists, lens, n);
    }
    free(lists);
    free(lens);
    if (js && c->urls_sent && !strcmp(js, c->urls_sent)) {
        free(js);
        return NULL;
    }
    if (js) {
        free(c->urls_sent);
        c->urls_sent = strdup(js);
    }
    return js;
}

static char *name_json(const char *name)
{
    json_t *s = json_string(name);
    char *js = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    return js;
}

static void on_tick(tern_module *m, uint64_t id, void *ud)
{
    (void)m, (void)id;
    cl *c = ud;
    uint64_t now = cl_now_ms();
    pthread_mutex_lock(&c->mu);
    dial_due_locked(c, now);
    ping_routes_locked(c, now);
    char *urls = urls_update_locked(c);
    char *name = c->info_dirty ? name_json(c->cluster_name) : NULL;
    c->info_dirty = false;
    pthread_mutex_unlock(&c->mu);
    if (name)
        c->api->client_info_set(c->m, "cluster", name, false);
    if (urls)
        c->api->client_info_set(c->m, "connect_urls", urls, true);
    free(name);
    free(urls);
}

/* This server enters lame duck mode: as nats-server, every route gets
 * its INFO once with ldm set, so peers stop giving its client URLs to
 * their clients (the kernel moves this server's own clients). */
static tern_verdict on_lame_duck(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m, (void)hdr;
    cl *c = ud;
    pthread_mutex_lock(&c->mu);
    if (!c->ldm) {
        c->ldm = true;
        char *info = self_info_locked(c, NULL, true);
        if (info)
            cl_broadcast_locked(c, info, strlen(info), NULL);
        free(info);
    }
    pthread_mutex_unlock(&c->mu);
    return TERN_VERDICT_IGNORE;
}

/* ---- lifecycle ------------------------------------------------------------- */

/* Open the route listener cf asks for (none when its port is -1):
 * *id the listener, *bound the port. */
static tern_rc listen_on(cl *c, const cl_conf *cf, uint64_t *id, int *bound)
{
    *id = 0;
    *bound = cf->port;
    if (cf->port < 0)
        return TERN_OK;
    tern_tls_spec t = tls_spec(cf, false, NULL);
    tern_rc rc = c->api->listen(c->m, c->proto, cf->host, cf->port, cf->tls ? &t : NULL, id, bound);
    if (rc != TERN_OK) {
        c->api->set_error(c->m, "cluster listen %s:%d: %s", cf->host, cf->port, c->api->error(c->m));
        *id = 0;
        return rc;
    }
    c->api->log(c->m, TERN_LOG_LEVEL_INFO, "Listening for route connections on %s:%d", cf->host,
                *bound);
    return TERN_OK;
}

static tern_rc do_listen(cl *c)
{
    int bound = 0;
    tern_rc rc = listen_on(c, &c->conf, &c->listener, &bound);
    if (rc == TERN_OK)
        c->conf.port = bound;
    return rc;
}

static void cl_free(cl *c)
{
    for (cl_route *r = c->routes; r;) {
        cl_route *n = r->next;
        /* closed callbacks already ran on module unload; what is left here
         * was never handed to the kernel */
        free(r);
        r = n;
    }
    for (cl_dial *d = c->dials; d;) {
        cl_dial *n = d->next;
        dial_free(d);
        d = n;
    }
    cl_conf_free(&c->conf);
    free_strv(c->own_urls, c->n_own);
    free(c->server_name);
    free(c->version);
    free(c->cluster_name);
    free(c->adv_host);
    free(c->adv_ip);
    free(c->urls_sent);
    json_decref(c->agg);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static tern_rc cl_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    cl_conf cf;
    tern_rc rc = cl_conf_read(m, api, conf, &cf);
    if (rc == TERN_OK)
        cl_conf_free(&cf);
    return rc;
}

static tern_rc cl_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                       void **self)
{
    if (!TERN_API_HAS(api, client_info_set)) {
        api->set_error(m, "the cluster module needs module ABI 1.1 (link protocols)");
        return TERN_ENOTSUP;
    }
    cl *c = calloc(1, sizeof *c);
    if (!c)
        return TERN_ENOMEM;
    c->m = m;
    c->api = api;
    pthread_mutex_init(&c->mu, NULL);
    unsigned s = 0;
    if (getrandom(&s, sizeof s, 0) != sizeof s)
        s = (unsigned)cl_now_ms();
    c->seed = s;
    c->agg = json_object();
    tern_rc rc = c->agg ? cl_conf_read(m, api, conf, &c->conf) : TERN_ENOMEM;
    if (rc != TERN_OK) {
        cl_free(c);
        return rc;
    }
    read_server_facts(c);
    c->version = strdup("2.9.10");
    if (c->conf.name) {
        c->cluster_name = strdup(c->conf.name);
    } else {
        char n[23];
        cl_random_text(n, sizeof n);
        c->cluster_name = strdup(n);
        c->dynamic = true;
    }
    rc = api->proto_register(m, &cl_route_proto, c, &c->proto);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INTEREST_ADDED, TERN_PRIO_DEFAULT, cl_on_interest, c);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INTEREST_REMOVED, TERN_PRIO_DEFAULT, cl_on_interest, c);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INFO, TERN_PRIO_DEFAULT, cl_on_info_doc, c);
    /* TERN_EVT_LAME_DUCK is newer than 1.1's first servers: without it
     * peers only learn of lame duck mode when the routes close */
    if (rc == TERN_OK &&
        api->hook_register(m, TERN_EVT_LAME_DUCK, TERN_PRIO_DEFAULT, on_lame_duck, c) != TERN_OK)
        api->log(m, TERN_LOG_LEVEL_DEBUG, "no lame duck event: peers are not told");
    if (rc == TERN_OK)
        cl_interest_refresh(c);
    if (rc == TERN_OK)
        rc = do_listen(c);
    set_advertise(c);
    if (rc == TERN_OK)
        rc = api->timer_start(m, CL_TICK_MS, CL_TICK_MS, on_tick, c, &c->timer);
    if (rc != TERN_OK) {
        if (c->listener)
            api->unlisten(m, c->listener);
        cl_free(c);
        return rc;
    }
    for (size_t i = 0; i < c->conf.nroutes; i++)
        dial_add_locked(c, &c->conf.routes[i], true);
    char *name = name_json(c->cluster_name);
    if (name)
        api->client_info_set(m, "cluster", name, false);
    free(name);
    api->log(m, TERN_LOG_LEVEL_INFO, "Cluster name is %s%s", c->cluster_name,
             c->dynamic ? " (generated: consider setting one)" : "");
    tern_wire_instance_set(m, c);
    *self = c;
    return TERN_OK;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Workers are paused: no route callback runs meanwhile. */
static tern_rc cl_reload(void *self, const tern_config *conf)
{
    cl *c = self;
    cl_conf nc;
    tern_rc rc = cl_conf_read(c->m, c->api, conf, &nc);
    if (rc != TERN_OK)
        return rc;
    pthread_mutex_lock(&c->mu);
    bool relisten = strcmp(nc.host, c->conf.host) || (nc.port != c->conf.port && nc.port != 0) ||
                    nc.tls != c->conf.tls || !str_eq(nc.tls_cert, c->conf.tls_cert) ||
                    !str_eq(nc.tls_key, c->conf.tls_key) || !str_eq(nc.tls_ca, c->conf.tls_ca) ||
                    nc.tls_verify != c->conf.tls_verify || (nc.port < 0) != (c->conf.port < 0);
    if (!relisten && nc.port == 0)
        nc.port = c->conf.port;      /* keep the port picked for "any" */
    /* the listener first: when the new address cannot be bound, nothing
     * of this reload applies */
    if (relisten) {
        /* the same port must be released before it is bound again */
        bool same_port = nc.port > 0 && nc.port == c->conf.port;
        if (same_port && c->listener) {
            c->api->unlisten(c->m, c->listener);
            c->listener = 0;
        }
        uint64_t nl = 0;
        int bound = 0;
        rc = listen_on(c, &nc, &nl, &bound);
        if (rc != TERN_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", c->api->error(c->m));
            if (same_port && do_listen(c) != TERN_OK)
                c->api->log(c->m, TERN_LOG_LEVEL_ERROR, "route listener %s:%d lost: %s",
                            c->conf.host, c->conf.port, c->api->error(c->m));
            pthread_mutex_unlock(&c->mu);
            c->api->set_error(c->m, "%s (nothing of the reload applied)", why);
            cl_conf_free(&nc);
            return rc;
        }
        if (c->listener)
            c->api->unlisten(c->m, c->listener);
        c->listener = nl;
        nc.port = bound;
    }
    bool auth_changed = !str_eq(nc.user, c->conf.user) || !str_eq(nc.pass, c->conf.pass);
    bool perms_changed = !cl_perm_equal(&nc.import_, &c->conf.import_) ||
                         !cl_perm_equal(&nc.export_, &c->conf.export_);
    bool name_changed = !str_eq(nc.name, c->conf.name);

    /* seed routes: drop removed ones, add new ones */
    for (cl_dial *d = c->dials; d; d = d->next) {
        if (!d->explicit_)
            continue;
        bool keep = false;
        for (size_t i = 0; i < nc.nroutes && !keep; i++)
            keep = !strcmp(nc.routes[i].text, d->url.text);
        if (!keep) {
            d->removed = true;
            if (d->conn) {
                for (cl_route *r = c->routes; r; r = r->next)
                    if (r->id == d->conn && r->outbound)
                        c->api->conn_close(c->m, r->id, "Route Removed");
            }
        }
    }
    for (cl_dial **p = &c->dials; *p;) {
        if ((*p)->removed && !(*p)->conn) {
            cl_dial *d = *p;
            *p = d->next;
            dial_free(d);
        } else {
            p = &(*p)->next;
        }
    }
    for (size_t i = 0; i < nc.nroutes; i++) {
        bool have = false;
        for (cl_dial *d = c->dials; d && !have; d = d->next)
            have = d->explicit_ && !d->removed && !strcmp(d->url.text, nc.routes[i].text);
        if (!have)
            dial_add_locked(c, &nc.routes[i], true);
        else
            for (cl_dial *d = c->dials; d; d = d->next)
                if (d->explicit_ && !strcmp(d->url.text, nc.routes[i].text)) {
                    /* credentials in the URL may have changed */
                    free(d->url.user);
                    free(d->url.pass);
                    d->url.user = nc.routes[i].user ? strdup(nc.routes[i].user) : NULL;
                    d->url.pass = nc.routes[i].pass ? strdup(nc.routes[i].pass) : NULL;
                    d->self = false;
                }
    }

    /* accepted routes that no longer authenticate are closed */
    if (auth_changed && nc.user) {
        for (cl_route *r = c->routes; r; r = r->next)
            if (!r->outbound && (!r->user || strcmp(r->user, nc.user) ||
                                 strcmp(r->pass ? r->pass : "", nc.pass ? nc.pass : ""))) {
                c->api->conn_write(c->m, r->id, "-ERR 'Authorization Violation'\r\n", 32);
                c->api->conn_close(c->m, r->id, "Authentication Failure");
            }
    }
    bool adv_changed = nc.no_advertise != c->conf.no_advertise || !str_eq(nc.advertise, c->conf.advertise);
    cl_conf old = c->conf;
    c->conf = nc;
    if (name_changed) {
        if (nc.name) {
            free(c->cluster_name);
            c->cluster_name = strdup(nc.name);
            c->dynamic = false;
        }
        c->info_dirty = true;
        /* the mesh re-forms under the new name */
        for (cl_route *r = c->routes; r; r = r->next)
            c->api->conn_close(c->m, r->id, "Cluster Name Changed");
    } else if (perms_changed) {
        /* interest crossed under the old filters: the routes re-form and
         * exchange it again under the new ones */
        for (cl_route *r = c->routes; r; r = r->next)
            c->api->conn_close(c->m, r->id, "Route Permissions Changed");
    }
    set_advertise(c);
    if (adv_changed) {
        c->urls_dirty = true;
        if (c->conf.no_advertise && c->urls_sent) {
            free(c->urls_sent);
            c->urls_sent = NULL;
        }
        /* peers learn the new INFO (connect_urls, advertise) */
        char *info = cl_self_info_locked(c, NULL);
        if (info)
            cl_broadcast_locked(c, info, strlen(info), NULL);
        free(info);
    }
    pthread_mutex_unlock(&c->mu);
    cl_conf_free(&old);
    if (adv_changed && c->conf.no_advertise)
        c->api->client_info_set(c->m, "connect_urls", NULL, true);
    return rc;
}

static void cl_fini(void *self)
{
    cl *c = self;
    tern_wire_instance_set(c->m, NULL);
    c->api->client_info_set(c->m, "connect_urls", NULL, false);
    c->api->client_info_set(c->m, "cluster", NULL, false);
    cl_free(c);
}

static const char *const nats_keys[] = { "cluster", "client_advertise", "connect_error_reports",
                                         "reconnect_error_reports", NULL };

TERN_MODULE_DEFINE(.name = "cluster", .version = CL_VERSION,
                   .description = "routes: full mesh clusters wire-compatible with nats-server 2.9",
                   .init = cl_init, .reload = cl_reload, .fini = cl_fini, .validate = cl_validate,
                   .nats_keys = nats_keys, .nats_map = cl_conf_nats_map)

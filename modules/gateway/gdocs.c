/* "gatewayz" for the monitor module (TERN_EVT_INFO), with nats-server
 * 2.9's keys and spellings (without the per-account details of accs=1),
 * and /varz's "gateway" section. */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* RFC 3339 in UTC with Go's RFC3339Nano trimming of the fraction. */
static json_t *time_json(int64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char b[64], f[16] = "", out[96];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        snprintf(f, sizeof f, ".%09ld", frac);
        for (size_t n = strlen(f); n > 1 && f[n - 1] == '0'; n--)
            f[n - 1] = '\0';
    }
    snprintf(out, sizeof out, "%s%sZ", b, f);
    return json_string(out);
}

/* nats-server's myUptime: [Nd][Nh][Nm]Ns. */
static json_t *uptime_json(int64_t ns)
{
    long long s = ns / 1000000000, m = s / 60, h = m / 60, d = h / 24;
    char b[80];
    if (d)
        snprintf(b, sizeof b, "%lldd%lldh%lldm%llds", d, h % 24, m % 60, s % 60);
    else if (h)
        snprintf(b, sizeof b, "%lldh%lldm%llds", h, m % 60, s % 60);
    else if (m)
        snprintf(b, sizeof b, "%lldm%llds", m, s % 60);
    else
        snprintf(b, sizeof b, "%llds", s);
    return json_string(b);
}

/* Go's Duration.String() for a round trip in µs (0: "0s"). */
static json_t *rtt_json(int64_t us)
{
    char b[64];
    if (us <= 0)
        snprintf(b, sizeof b, "0s");
    else if (us < 1000)
        snprintf(b, sizeof b, "%lld\xc2\xb5s", (long long)us);
    else if (us < 1000000) {
        snprintf(b, sizeof b, "%lld.%03lld", (long long)us / 1000, (long long)us % 1000);
        size_t n = strlen(b);
        while (b[n - 1] == '0')
            b[--n] = '\0';
        if (b[n - 1] == '.')
            b[--n] = '\0';
        snprintf(b + n, sizeof b - n, "ms");
    } else {
        snprintf(b, sizeof b, "%lld.%06llds", (long long)us / 1000000, (long long)us % 1000000);
    }
    return json_string(b);
}

static json_t *conn_json(const gw_conn *c, int64_t now)
{
    json_t *o = json_object();
    int64_t last = atomic_load(&c->last_ns);
    json_object_set_new(o, "cid", json_integer((json_int_t)c->id));
    json_object_set_new(o, "kind", json_string("Gateway"));
    json_object_set_new(o, "ip", json_string(c->ip));
    json_object_set_new(o, "port", json_integer(c->port));
    json_object_set_new(o, "start", time_json(c->start_ns));
    json_object_set_new(o, "last_activity", time_json(last));
    json_object_set_new(o, "rtt", rtt_json(c->rtt_us));
    json_object_set_new(o, "uptime", uptime_json(now - c->start_ns));
    json_object_set_new(o, "idle", uptime_json(now - last));
    json_object_set_new(o, "pending_bytes", json_integer(0));
    json_object_set_new(o, "in_msgs", json_integer((json_int_t)atomic_load(&c->in_msgs)));
    json_object_set_new(o, "out_msgs", json_integer((json_int_t)atomic_load(&c->out_msgs)));
    json_object_set_new(o, "in_bytes", json_integer((json_int_t)atomic_load(&c->in_bytes)));
    json_object_set_new(o, "out_bytes", json_integer((json_int_t)atomic_load(&c->out_bytes)));
    json_object_set_new(o, "subscriptions", json_integer((json_int_t)json_object_size(c->rsubs)));
    json_object_set_new(o, "name", json_string(c->remote_id ? c->remote_id : ""));
    return o;
}

/* nats-server's query option gw_name=<name>: only that remote gateway. */
static bool name_filter(const char *query, char *out, size_t n)
{
    if (!query)
        return false;
    const char *p = strstr(query, "gw_name=");
    if (!p || (p != query && p[-1] != '&'))
        return false;
    p += 8;
    size_t l = strcspn(p, "&");
    if (!l || l >= n)
        return false;
    memcpy(out, p, l);
    out[l] = '\0';
    return true;
}

/* Seconds as Go marshals a float64: whole ones without a fraction. */
static json_t *secs_json(int64_t ms)
{
    return ms % 1000 ? json_real((double)ms / 1000.0) : json_integer((json_int_t)(ms / 1000));
}

/* Append host:port to urls unless it is there (nats-server keeps a
 * remote's URLs in a map keyed so). */
static void add_url(json_t *urls, const gw_url *u)
{
    char hp[320];
    gw_hostport(hp, sizeof hp, u->host, u->port);
    size_t i;
    json_t *v;
    json_array_foreach(urls, i, v) {
        if (!strcmp(json_string_value(v), hp))
            return;
    }
    json_array_append_new(urls, json_string(hp));
}

/* /varz's "gateway" section, nats-server's GatewayOptsVarz (omitempty
 * throughout): the configured remote gateways with the URLs known for
 * each now (configured and gossiped; for this cluster's own name, the
 * configured ones). No TLS (refused at configuration): tls_timeout is
 * nats-server's default; no reject_unknown_cluster either. Under mu. */
static json_t *varz_json_locked(gw *g)
{
    const gw_conf *cf = &g->conf;
    json_t *s = json_object();
    if (cf->name && *cf->name)
        json_object_set_new(s, "name", json_string(cf->name));
    if (cf->host && *cf->host)
        json_object_set_new(s, "host", json_string(cf->host));
    if (cf->port > 0)
        json_object_set_new(s, "port", json_integer(cf->port));
    if (cf->auth_timeout_ms > 0)
        json_object_set_new(s, "auth_timeout", secs_json(cf->auth_timeout_ms));
    json_object_set_new(s, "tls_timeout", json_integer(2));
    if (cf->advertise && *cf->advertise)
        json_object_set_new(s, "advertise", json_string(cf->advertise));
    if (cf->connect_retries > 0)
        json_object_set_new(s, "connect_retries", json_integer((json_int_t)cf->connect_retries));
    if (cf->nremotes) {
        json_t *list = json_array();
        for (size_t i = 0; i < cf->nremotes; i++) {
            const gw_remote_conf *rc = &cf->remotes[i];
            json_t *e = json_object(), *urls = json_array();
            json_object_set_new(e, "name", json_string(rc->name));
            const gw_remote *r = strcmp(rc->name, cf->name) ? gw_remote_find_locked(g, rc->name) : NULL;
            for (size_t k = 0; r && k < r->nurls; k++)
                add_url(urls, &r->urls[k]);
            for (size_t k = 0; !strcmp(rc->name, cf->name) && k < rc->nurls; k++)
                add_url(urls, &rc->urls[k]);
            if (json_array_size(urls))
                json_object_set_new(e, "urls", urls);
            else
                json_decref(urls);
            json_array_append_new(list, e);
        }
        json_object_set_new(s, "gateways", list);
    }
    json_t *o = json_object();
    json_object_set_new(o, "gateway", s);
    return o;
}

static tern_verdict answer(gw *g, tern_evt_info *ev, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return TERN_VERDICT_IGNORE;
    ev->json = g->api->strdup(s);
    free(s);
    return ev->json ? TERN_VERDICT_ALLOW : TERN_VERDICT_IGNORE;
}

tern_verdict gw_on_info_doc(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    gw *g = ud;
    tern_evt_info *ev = (tern_evt_info *)hdr;
    if (ev->name && !strcmp(ev->name, "varz")) {
        pthread_mutex_lock(&g->mu);
        json_t *o = varz_json_locked(g);
        pthread_mutex_unlock(&g->mu);
        return answer(g, ev, o);
    }
    if (!ev->name || strcmp(ev->name, "gatewayz"))
        return TERN_VERDICT_IGNORE;
    const char *query = hdr->size >= offsetof(tern_evt_info, query) + sizeof ev->query ? ev->query : NULL;
    char only[256];
    bool filter = name_filter(query, only, sizeof only);
    int64_t now = gw_wall_ns();
    json_t *o = json_object();
    json_t *out = json_object(), *in = json_object();
    pthread_mutex_lock(&g->mu);
    json_object_set_new(o, "server_id", json_string(g->server_id));
    json_object_set_new(o, "now", time_json(now));
    json_object_set_new(o, "name", json_string(g->conf.name));
    json_object_set_new(o, "host", json_string(g->adv_host ? g->adv_host : ""));
    json_object_set_new(o, "port", json_integer(g->adv_port));
    for (gw_conn *c = g->conns; c; c = c->next) {
        if (c->state != GW_C_REGISTERED || !c->rname || (filter && strcmp(c->rname, only)))
            continue;
        gw_remote *r = gw_remote_find_locked(g, c->rname);
        json_t *e = json_object();
        json_object_set_new(e, "configured", json_boolean(r && r->explicit_));
        json_object_set_new(e, "connection", conn_json(c, now));
        if (c->outbound) {
            json_object_set_new(out, c->rname, e);
        } else {
            json_t *list = json_object_get(in, c->rname);
            if (!list) {
                list = json_array();
                json_object_set_new(in, c->rname, list);
            }
            json_array_append_new(list, e);
        }
    }
    pthread_mutex_unlock(&g->mu);
    json_object_set_new(o, "outbound_gateways", out);
    json_object_set_new(o, "inbound_gateways", in);
    return answer(g, ev, o);
}

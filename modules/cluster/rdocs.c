/* "routez" for the monitor module (TERN_EVT_INFO), with nats-server
 * 2.9's keys: the same objects, the same omissions (Go's omitempty), the
 * same duration and time spellings; and /varz's "cluster" section with
 * the "routes" and "remotes" counts. */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* nats-server's myUptime: whole seconds as [Ny][Nd][Nh][Nm]Ns. */
static json_t *uptime_json(int64_t ns)
{
    long long s = ns / 1000000000, m = s / 60, h = m / 60, d = h / 24, y = d / 365;
    char b[80];
    if (y)
        snprintf(b, sizeof b, "%lldy%lldd%lldh%lldm%llds", y, d % 365, h % 24, m % 60, s % 60);
    else if (d)
        snprintf(b, sizeof b, "%lldd%lldh%lldm%llds", d, h % 24, m % 60, s % 60);
    else if (h)
        snprintf(b, sizeof b, "%lldh%lldm%llds", h, m % 60, s % 60);
    else if (m)
        snprintf(b, sizeof b, "%lldm%llds", m, s % 60);
    else
        snprintf(b, sizeof b, "%llds", s);
    return json_string(b);
}

/* v/unit with the fraction's trailing zeros trimmed, then the unit name. */
static void frac_text(char *out, size_t n, long long v, long long unit, int digits, const char *name)
{
    char f[24] = "";
    if (v % unit) {
        snprintf(f, sizeof f, ".%0*lld", digits, v % unit);
        for (size_t k = strlen(f); f[k - 1] == '0'; k--)
            f[k - 1] = '\0';
    }
    snprintf(out, n, "%lld%s%s", v / unit, f, name);
}

/* Go's time.Duration.String() of a round trip. */
static json_t *rtt_json(int64_t us)
{
    long long ns = (long long)us * 1000;
    char b[64];
    if (ns < 1000000)
        frac_text(b, sizeof b, ns, 1000, 3, "\xc2\xb5s");
    else if (ns < 1000000000)
        frac_text(b, sizeof b, ns, 1000000, 6, "ms");
    else {
        long long s = ns / 1000000000, h = s / 3600, m = (s / 60) % 60;
        char sec[40];
        frac_text(sec, sizeof sec, ns % 60000000000LL, 1000000000, 9, "s");
        if (h)
            snprintf(b, sizeof b, "%lldh%lldm%s", h, m, sec);
        else if (m)
            snprintf(b, sizeof b, "%lldm%s", m, sec);
        else
            snprintf(b, sizeof b, "%s", sec);
    }
    return json_string(b);
}

/* subs=1/true: subject list; subs=detail: objects (the kernel already
 * refused other values). */
static int subs_mode(const char *query)
{
    const char *v = NULL;
    for (const char *p = query; p && *p;) {
        if (!strncasecmp(p, "subs=", 5)) {
            v = p + 5;
            break;
        }
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    if (!v)
        return 0;
    size_t n = strcspn(v, "&");
    if (n == 6 && !strncasecmp(v, "detail", 6))
        return 2;
    return (n == 1 && (*v == '1' || *v == 't' || *v == 'T')) || (n == 4 && !strncasecmp(v, "true", 4));
}

/* The subscriptions_list_detail entry of a remote interest key
 * "account subject [queue]". */
static json_t *sub_detail(const char *key, uint64_t rid)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", key);
    char *save = NULL;
    const char *acc = strtok_r(buf, " ", &save);
    const char *subj = strtok_r(NULL, " ", &save);
    const char *q = strtok_r(NULL, " ", &save);
    json_t *d = json_object();
    json_object_set_new(d, "account", json_string(acc ? acc : ""));
    json_object_set_new(d, "subject", json_string(subj ? subj : ""));
    if (q)
        json_object_set_new(d, "qgroup", json_string(q));
    json_object_set_new(d, "sid", json_string(key));
    json_object_set_new(d, "msgs", json_integer(0));
    json_object_set_new(d, "cid", json_integer((json_int_t)rid));
    return d;
}

static void set_perm(json_t *o, const char *key, json_t *perm)
{
    if (json_is_object(perm))
        json_object_set(o, key, perm);
}

static json_t *route_json(cl *c, const cl_route *r, int64_t now, int subs)
{
    bool configured = false;
    for (cl_dial *d = c->dials; d; d = d->next)
        configured = configured || (d->conn == r->id && d->explicit_);
    int64_t last = atomic_load(&r->last_ns);
    json_t *x = json_object();
    json_object_set_new(x, "rid", json_integer((json_int_t)r->id));
    json_object_set_new(x, "remote_id", json_string(r->remote_id));
    json_object_set_new(x, "did_solicit", json_boolean(r->outbound));
    json_object_set_new(x, "is_configured", json_boolean(configured));
    json_object_set_new(x, "ip", json_string(r->ip));
    json_object_set_new(x, "port", json_integer(r->port));
    json_object_set_new(x, "start", time_json(r->start_ns));
    json_object_set_new(x, "last_activity", time_json(last));
    if (r->rtt_us >= 0)
        json_object_set_new(x, "rtt", rtt_json(r->rtt_us));
    json_object_set_new(x, "uptime", uptime_json(now - r->start_ns));
    json_object_set_new(x, "idle", uptime_json(now - last));
    /* the peer's own cluster.permissions, from its INFO */
    set_perm(x, "import", json_object_get(r->info.json, "import"));
    set_perm(x, "export", json_object_get(r->info.json, "export"));
    /* the kernel owns the write buffers: nothing is pending here */
    json_object_set_new(x, "pending_size", json_integer(0));
    json_object_set_new(x, "in_msgs", json_integer((json_int_t)atomic_load(&r->in_msgs)));
    json_object_set_new(x, "out_msgs", json_integer((json_int_t)atomic_load(&r->out_msgs)));
    json_object_set_new(x, "in_bytes", json_integer((json_int_t)atomic_load(&r->in_bytes)));
    json_object_set_new(x, "out_bytes", json_integer((json_int_t)atomic_load(&r->out_bytes)));
    json_object_set_new(x, "subscriptions", json_integer((json_int_t)json_object_size(r->rsubs)));
    if (subs && json_object_size(r->rsubs)) {
        json_t *list = json_array();
        const char *key;
        json_t *v;
        json_object_foreach(r->rsubs, key, v) {
            if (subs == 2)
                json_array_append_new(list, sub_detail(key, r->id));
            else   /* a copy: the document outlives mu, rsubs changes on the route's thread */
                json_array_append_new(list, json_string(json_string_value(v)));
        }
        json_object_set_new(x, subs == 2 ? "subscriptions_list_detail" : "subscriptions_list", list);
    }
    return x;
}

/* host:port as Go's url.URL.Host: IPv6 in brackets, the case kept. */
static json_t *hostport_json(const char *host, int port)
{
    char b[320];
    if (strchr(host, ':'))
        snprintf(b, sizeof b, "[%s]:%d", host, port);
    else
        snprintf(b, sizeof b, "%s:%d", host, port);
    return json_string(b);
}

/* Seconds as Go marshals a float64: whole ones without a fraction. */
static json_t *secs_json(int64_t ms)
{
    return ms % 1000 ? json_real((double)ms / 1000.0) : json_integer((json_int_t)(ms / 1000));
}

/* /varz's "cluster" section (nats-server's ClusterOptsVarz: omitempty
 * throughout) and its "routes" (registered route connections) and
 * "remotes" (distinct servers they lead to) counts. Under mu. */
static json_t *varz_json_locked(const cl *c)
{
    const cl_conf *cf = &c->conf;
    json_t *s = json_object();
    if (c->cluster_name && *c->cluster_name)
        json_object_set_new(s, "name", json_string(c->cluster_name));
    if (cf->host && *cf->host)
        json_object_set_new(s, "addr", json_string(cf->host));
    if (cf->port > 0)
        json_object_set_new(s, "cluster_port", json_integer(cf->port));
    if (cf->auth_timeout_ms > 0)
        json_object_set_new(s, "auth_timeout", secs_json(cf->auth_timeout_ms));
    if (cf->nroutes) {
        /* the configured routes as host:port, without credentials */
        json_t *urls = json_array();
        for (size_t i = 0; i < cf->nroutes; i++)
            json_array_append_new(urls, hostport_json(cf->routes[i].host, cf->routes[i].port));
        json_object_set_new(s, "urls", urls);
    }
    if (cf->tls_timeout_ms > 0)
        json_object_set_new(s, "tls_timeout", secs_json(cf->tls_timeout_ms));
    if (cf->tls) {
        /* nats-server sets both from the presence of cluster TLS */
        json_object_set_new(s, "tls_required", json_true());
        json_object_set_new(s, "tls_verify", json_true());
    }
    size_t routes = 0, remotes = 0;
    for (const cl_route *r = c->routes; r; r = r->next) {
        if (r->state != CL_R_REGISTERED)
            continue;
        routes++;
        bool seen = false;
        for (const cl_route *q = c->routes; q != r && !seen; q = q->next)
            seen = q->state == CL_R_REGISTERED && q->remote_id && r->remote_id &&
                   !strcmp(q->remote_id, r->remote_id);
        remotes += !seen;
    }
    json_t *o = json_object();
    json_object_set_new(o, "cluster", s);
    json_object_set_new(o, "routes", json_integer((json_int_t)routes));
    json_object_set_new(o, "remotes", json_integer((json_int_t)remotes));
    return o;
}

static tern_verdict answer(cl *c, tern_evt_info *ev, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return TERN_VERDICT_IGNORE;
    ev->json = c->api->strdup(s);
    free(s);
    return ev->json ? TERN_VERDICT_ALLOW : TERN_VERDICT_IGNORE;
}

tern_verdict cl_on_info_doc(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    cl *c = ud;
    tern_evt_info *ev = (tern_evt_info *)hdr;
    if (ev->name && !strcmp(ev->name, "varz")) {
        pthread_mutex_lock(&c->mu);
        json_t *o = varz_json_locked(c);
        pthread_mutex_unlock(&c->mu);
        return answer(c, ev, o);
    }
    if (!ev->name || strcmp(ev->name, "routez"))
        return TERN_VERDICT_IGNORE;
    /* the query is a 1.1 field: read it only when the server sent it */
    const char *query = hdr->size >= offsetof(tern_evt_info, query) + sizeof ev->query ? ev->query
                                                                                       : NULL;
    int subs = subs_mode(query);
    int64_t now = cl_wall_ns();
    json_t *o = json_object();
    json_t *routes = json_array();
    pthread_mutex_lock(&c->mu);
    json_object_set_new(o, "server_id", json_string(c->server_id));
    json_object_set_new(o, "now", time_json(now));
    json_t *imp = cl_perm_json(&c->conf.import_), *exp = cl_perm_json(&c->conf.export_);
    if (imp)
        json_object_set_new(o, "import", imp);
    if (exp)
        json_object_set_new(o, "export", exp);
    size_t n = 0;
    for (cl_route *r = c->routes; r; r = r->next) {
        if (r->state != CL_R_REGISTERED)
            continue;
        json_array_append_new(routes, route_json(c, r, now, subs));
        n++;
    }
    pthread_mutex_unlock(&c->mu);
    json_object_set_new(o, "num_routes", json_integer((json_int_t)n));
    json_object_set_new(o, "routes", routes);
    return answer(c, ev, o);
}
